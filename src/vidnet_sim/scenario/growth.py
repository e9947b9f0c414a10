"""The ``[[growth]]`` section: what each year of a growth plan adds to the network.

A scenario describes the network as it is built in **year 1**. Each ``[[growth]]`` entry
names a ``year`` (1, 2, ...; strictly increasing from entry to entry) and what that year adds:

``scale_cameras``
    Multiply the ``count`` of camera groups that exist before this entry: a number scales
    every group (but those replaying recorded traces, whose count is the number of cameras
    in their trace), a table (``{ "north-streets" = 1.5 }``) the groups it names. The new count is
    ``max(1, floor(count × factor + ½))`` (half up), applied year after year to the count of
    the time. Applied before the entry's own additions.
``nodes``, ``links``, ``cameras``, ``sources``, ``services``
    Items appended to the scenario's sections of the same name, written exactly as there
    (``[[growth.cameras]]``, ...). A new district brings its switch (``nodes``), its uplink
    (``links``) and its cameras.

**The scenario of year N** (:func:`scenario_for_year`, ``vidnet-sim run FILE --year N``) is the
base scenario plus every entry with ``year ≤ N``, applied in order. The plan's horizon is the
last entry's year (:func:`plan_years`: ``1 … horizon``; a scenario without growth has the one
year 1). A year without an entry is the same as the year before.

The items are kept as raw tables here: they are validated by building each year's scenario
when the file is loaded, with the loader's full checks (units, references, unique names), and
a problem is reported at its place in the growth plan, e.g.
``growth[2].cameras[0] (name="east").attach: got 'agg-est': no node has this id``.
"""

from __future__ import annotations

import copy
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.scenario.bounds import MAX_CAMERAS, MAX_GROWTH_SCALE
from vidnet_sim.scenario.fields import UNITS_REQUIRED
from vidnet_sim.scenario.growth_year import GROWTH_SECTIONS, GrowthYear
from vidnet_sim.scenario.model import CameraGroup, Link, Node, Scenario, Service, Source
from vidnet_sim.scenario.sla_classes import sla_class_problems
from vidnet_sim.scenario.trace import resolve_trace_paths

__all__ = [
    "GROWTH_SECTIONS",
    "GrowthYear",
    "plan_data",
    "plan_years",
    "remap_problem",
    "resolve_growth_files",
    "scaled_count",
    "scenario_for_year",
    "year_data",
]


def scaled_count(count: int, factor: float) -> int:
    """A camera group's count after ``scale_cameras``: ``max(1, floor(count × f + ½))``."""
    return max(1, math.floor(count * factor + 0.5))


def plan_years(scenario: Scenario) -> list[int]:
    """The years of the growth plan, ``[1, …, last entry's year]`` (``[1]`` without one)."""
    last = max((g.year for g in scenario.growth), default=1)
    return list(range(1, last + 1))


# --------------------------------------------------------------------------- merging
_T = TypeVar("_T")


def _grow(
    sections: dict[str, list[_T]],
    entries: Sequence[tuple[Any, dict[str, list[_T]]]],
    name_of: Callable[[_T], object],
    count_of: Callable[[_T], object],
    with_count: Callable[[_T, int], _T],
    replays_trace: Callable[[_T], bool],
) -> dict[str, list[_T]]:
    """Apply growth entries ``(scale_cameras, items by section)`` in order to ``sections``.

    One implementation for raw tables (:func:`year_data`) and for models
    (:func:`scenario_for_year`); values of the wrong type are left for validation to report.
    A number scales every group but those replaying recorded traces (their count is the
    number of cameras in the trace).
    """
    out = {s: list(sections.get(s, [])) for s in GROWTH_SECTIONS}
    for scale, items in entries:
        if scale is not None:
            cams = out["cameras"]
            for i, cam in enumerate(cams):
                count = count_of(cam)
                if isinstance(scale, dict):
                    factor = scale.get(name_of(cam)) if isinstance(name_of(cam), str) else None
                else:
                    factor = None if replays_trace(cam) else scale
                if (  # (values out of bounds are left for validation to report)
                    isinstance(count, int)
                    and not isinstance(count, bool)
                    and 0 < count <= MAX_CAMERAS
                    and isinstance(factor, int | float)
                    and not isinstance(factor, bool)
                    and 0 < factor <= MAX_GROWTH_SCALE
                ):
                    cams[i] = with_count(cam, scaled_count(count, float(factor)))
        for s in GROWTH_SECTIONS:
            out[s].extend(items.get(s, []))
    return out


def _raw_entries(data: dict[str, Any], year: int) -> list[tuple[int, dict[str, Any]]]:
    """``(index, entry)`` of the raw growth entries applying by ``year`` (malformed skipped)."""
    growth = data.get("growth")
    if not isinstance(growth, list):
        return []
    out = []
    for g, entry in enumerate(growth):
        y = entry.get("year") if isinstance(entry, dict) else None
        if isinstance(y, int) and not isinstance(y, bool) and y <= year:
            out.append((g, entry))
    return out


def year_data(data: dict[str, Any], year: int, *, prune_sla: bool = True) -> dict[str, Any]:
    """The raw data (as parsed from TOML) of the scenario in ``year``: the base plus every
    growth entry with ``year ≤ year``, without the ``growth`` section. A deep copy.

    With ``prune_sla``, the ``[sla.<class>]`` of a class no group uses yet (it arrives in a
    later year) is left out, so that the year validates on its own.
    """
    out = copy.deepcopy({k: v for k, v in data.items() if k != "growth"})
    entries = []
    for _, entry in _raw_entries(data, year):
        items = {
            s: [copy.deepcopy(i) for i in entry.get(s, [])]
            for s in GROWTH_SECTIONS
            if isinstance(entry.get(s), list)
        }
        entries.append((entry.get("scale_cameras"), items))
    if entries:
        base = {s: out[s] for s in GROWTH_SECTIONS if isinstance(out.get(s), list)}
        grown = _grow(
            base,
            entries,
            lambda c: c.get("name") if isinstance(c, dict) else None,
            lambda c: c.get("count") if isinstance(c, dict) else None,
            lambda c, n: {**c, "count": n},
            lambda c: isinstance(c, dict) and ("trace" in c or "trace_dir" in c),
        )
        for s in GROWTH_SECTIONS:
            if grown[s] or s in out:
                out[s] = grown[s]
    if prune_sla and data.get("growth") and isinstance(out.get("sla"), dict):
        unused = {p.path.removeprefix("sla.") for p in sla_class_problems(out)}
        out["sla"] = {k: v for k, v in out["sla"].items() if k not in unused}
    return out


def plan_data(data: dict[str, Any]) -> dict[str, Any]:
    """The raw data with every growth entry applied (the plan's last year); ``data`` itself
    when there is no growth section."""
    return year_data(data, sys.maxsize, prune_sla=False) if data.get("growth") else data


def scenario_for_year(scenario: Scenario, year: int) -> Scenario:
    """The scenario in ``year`` of its growth plan: the base plus every entry with
    ``year ≤ year`` (scaled camera counts, added items), with an empty ``growth``.

    Year 1 is the base with the entries of year 1, if any. A scenario loaded from a file had
    every year checked by the loader; here the added items are validated as models (units
    required, as in a file). Raises :class:`~vidnet_sim.errors.ScenarioError` for a year
    outside the plan or an invalid item.
    """
    years = plan_years(scenario)
    if year not in years:
        raise ScenarioError(
            Problem(
                "growth",
                f"there is no year {year}: the growth plan covers years {years[0]}–{years[-1]}"
                if len(years) > 1
                else f"there is no year {year}: the scenario has no growth plan beyond year 1",
            )
        )
    models: dict[str, Any] = {
        "nodes": Node,
        "links": Link,
        "cameras": CameraGroup,
        "sources": Source,
        "services": Service,
    }
    problems: list[Problem] = []
    entries = []
    for g, entry in enumerate(scenario.growth):
        if entry.year > year:
            continue
        items: dict[str, list[Any]] = {}
        for s in GROWTH_SECTIONS:
            items[s] = []
            for k, raw in enumerate(entry.items(s)):
                try:
                    items[s].append(models[s].model_validate(raw, context={UNITS_REQUIRED: True}))
                except ValidationError as exc:
                    for err in exc.errors():
                        loc = "".join(
                            f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]
                        )
                        problems.append(Problem(f"growth[{g}].{s}[{k}]{loc}", err["msg"]))
        entries.append((entry.scale_cameras, items))
    if problems:
        raise ScenarioError(problems)
    base = {s: list(getattr(scenario, s)) for s in GROWTH_SECTIONS}
    grown = _grow(
        base,
        entries,
        lambda c: c.name,
        lambda c: c.count,
        lambda c, n: c.model_copy(update={"count": n}),
        lambda c: c.replays_trace,
    )
    return scenario.model_copy(update={**grown, "growth": []})


# --------------------------------------------------------------------------- loading
def resolve_growth_files(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """``data`` with the relative trace paths of each growth entry's sources and camera
    groups made absolute against ``base`` (as the loader does for the base scenario)."""
    growth = data.get("growth")
    if not isinstance(growth, list):
        return data
    entries = [resolve_trace_paths(e, base) if isinstance(e, dict) else e for e in growth]
    changed = any(a is not b for a, b in zip(entries, growth, strict=True))
    return {**data, "growth": entries} if changed else data


_ITEM = re.compile(r"(?<![\w.\]])(" + "|".join(GROWTH_SECTIONS) + r")\[(\d+)\]")


def _where_added(data: dict[str, Any], year: int) -> dict[tuple[str, int], str]:
    """Index of each item of ``year_data(data, year)`` added by growth → its growth path."""
    out: dict[tuple[str, int], str] = {}
    for s in GROWTH_SECTIONS:
        base = data.get(s)
        n = len(base) if isinstance(base, list) else 0
        for g, entry in _raw_entries(data, year):
            items = entry.get(s)
            for k in range(len(items) if isinstance(items, list) else 0):
                out[(s, n)] = f"growth[{g}].{s}[{k}]"
                n += 1
    return out


def remap_problem(
    problem: Problem, data: dict[str, Any], year: int, *, note_year: bool = True
) -> Problem:
    """A problem of ``year``'s scenario, with the items growth added named by their place in
    the growth plan (``cameras[7]`` → ``growth[2].cameras[0]``); a problem of a base item
    says which year it appears in (``note_year``)."""
    where = _where_added(data, year)

    def sub(text: str) -> str:
        return _ITEM.sub(lambda m: where.get((m.group(1), int(m.group(2))), m.group(0)), text)

    path, message = sub(problem.path), sub(problem.message)
    if note_year and not path.startswith("growth[") and path == problem.path:
        message += f" (in year {year} of the growth plan)"
    return Problem(path, message)
