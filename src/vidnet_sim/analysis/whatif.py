"""What-ifs: named variants of a scenario, each sized and priced, side by side.

A variants file (TOML) names each variant and the fields it changes, by their path in the
scenario file (:mod:`vidnet_sim.variation.paths`)::

    [[variants]]
    name = "two weeks of recordings"
    set = { "cameras[*].retention_days" = 14 }

    [[variants]]
    name = "H.265 everywhere"
    set = { "cameras[*].codec" = "h265" }

    [[variants]]
    name = "core uplink leased"
    set = { 'links["core-uplink"].fibre' = "leased" }

``[*]`` sets the field on every item of the array, the items the growth plan adds included
(a video-model key such as ``codec`` or ``bitrate`` leaves the camera groups that replay a
recorded trace as they are);
a path naming an item the growth plan adds (``links["agg-east-core"].fibre``) is set in the
growth entry that adds it. :func:`run_whatifs` sizes the scenario as it is (``baseline``)
and every variant with :func:`~vidnet_sim.analysis.sizing.size_network` and the same cost
model, each in a sub-folder of its own (``<out>/<variant>/``: the variant's scenario file,
its stored runs and its sizing report), and returns one row per variant: the net present
cost, CAPEX and running costs, the recording storage of the last year, and the SLA verdict.
The baseline's ``report.html`` sets every variant beside it (cost and SLA verdict), as
``vidnet-sim report <baseline> --compare NAME=<variant> ...`` would.
"""

from __future__ import annotations

import copy
import json
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from vidnet_sim.analysis.bill import BillModel, CostModelError, check_growth_plan
from vidnet_sim.analysis.html import write_report
from vidnet_sim.analysis.out_folder import check_out_folder
from vidnet_sim.analysis.report import write_sizing
from vidnet_sim.analysis.report_data import ReportData, load_report_data, with_variants
from vidnet_sim.analysis.runs import RunRecord
from vidnet_sim.analysis.sizing import SizingResult, SizingStoppedError, size_network
from vidnet_sim.analysis.vary import AnalysisInputError, load_raw, read_input_toml
from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.results.files import write_file
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.model import TRACE_EXCLUDED_KEYS
from vidnet_sim.scenario.toml_file import toml_value
from vidnet_sim.variation.paths import (
    PathError,
    format_loc,
    parse_path,
    resolve,
    set_value,
    strip_labels,
    within,
)

__all__ = [
    "BASELINE",
    "Variant",
    "WhatIfResult",
    "apply_variant",
    "load_variants",
    "run_whatifs",
    "toml_text",
]

#: The name of the scenario as it is, sized first.
BASELINE = "baseline"
_GROWTH_SECTIONS = ("nodes", "links", "cameras", "sources", "services")


@dataclass(frozen=True)
class Variant:
    """A named set of changes: field path → value."""

    name: str
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class WhatIfResult:
    """Every variant's row (:meth:`table`) and its sizing."""

    rows: list[dict[str, Any]]
    results: dict[str, SizingResult]
    currency: str
    #: Changes that do nothing on some camera groups (:func:`apply_variant`'s notes).
    warnings: list[str] = field(default_factory=list)
    #: The baseline's report.html, with every variant side by side (None: not written).
    report: Path | None = None
    #: Each variant's folder (its scenario, runs and sizing report), by name.
    folders: dict[str, Path] = field(default_factory=dict)

    def sizing_warnings(self) -> list[str]:
        """What the sizings warned of (an alarm a ``--duration`` leaves out, a binding SLA
        limited on links the plan does not size): a warning every sizing gave once, as it
        is; one only some gave, after the name of each variant that gave it."""
        said = {name: list(r.warnings) for name, r in self.results.items()}
        every = [w for w in dict.fromkeys(x for ws in said.values() for x in ws)]
        common = [w for w in every if all(w in ws for ws in said.values())]
        named = [
            f"variant {json.dumps(name, ensure_ascii=False)}: {w}"
            for name, ws in said.items()
            for w in ws
            if w not in common
        ]
        return common + named

    def table(self) -> pd.DataFrame:
        """One row per variant, the baseline first."""
        return pd.DataFrame(self.rows)


def load_variants(path: str | Path) -> list[Variant]:
    """The variants of a TOML file (see the module doc); every problem at once."""
    data = read_input_toml(path, "variants")
    problems: list[str] = []
    unknown = sorted(set(data) - {"variants"})
    if unknown:
        problems.append(f"unknown key(s) {unknown}; expected [[variants]]")
    items = data.get("variants", [])
    if not isinstance(items, list) or not items:
        problems.append("variants: expected at least one [[variants]] table")
        items = []
    out: list[Variant] = []
    seen = {BASELINE}
    folders = {_slug(BASELINE): BASELINE}
    for i, item in enumerate(items):
        where = f"variants[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a table")
            continue
        extra = sorted(set(item) - {"name", "set"})
        if extra:
            problems.append(f"{where}: unknown key(s) {extra}; expected name and set")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}.name: expected a non-empty string")
            continue
        if name in seen:
            problems.append(f'{where}.name: "{name}" is used twice (or is the baseline)')
        elif _slug(name) in folders:  # each variant has a folder of its own
            problems.append(
                f'{where}.name: "{name}" would share the folder "{_slug(name)}" with '
                f'"{folders[_slug(name)]}"; rename one of them'
            )
        seen.add(name)
        folders.setdefault(_slug(name), name)
        changes = item.get("set")
        if not isinstance(changes, dict) or not changes:
            problems.append(f"{where}.set: expected a table of field path = value")
            continue
        out.append(Variant(name, dict(changes)))
    if problems:
        raise AnalysisInputError(f"variants {path}:\n  - " + "\n  - ".join(problems))
    return out


def _growth_places(data: dict[str, Any], section: str) -> list[tuple[str, dict[str, Any]]]:
    """The items of ``section``, the ones the growth plan adds included, each with where it
    is (``'cameras[0]'``, ``'growth[1].cameras[0]'``)."""
    out = [(f"{section}[{i}]", x) for i, x in enumerate(_items(data, section))]
    for g, entry in enumerate(data.get("growth", [])):
        if isinstance(entry, dict):
            out += [
                (f"growth[{g}].{section}[{i}]", x) for i, x in enumerate(_items(entry, section))
            ]
    return out


def _items(data: dict[str, Any], section: str) -> list[Any]:
    items = data.get(section, [])
    return [x if isinstance(x, dict) else None for x in items] if isinstance(items, list) else []


def _growth_items(data: dict[str, Any], section: str) -> list[dict[str, Any]]:
    return [x for _, x in _growth_places(data, section) if x is not None]


def _replay_model_key(section: str, item: dict[str, Any], rest: str) -> bool:
    """Whether ``rest`` is a video-model key (codec, bitrate, ...) of a camera group that
    replays a recorded trace: ``cameras[*].<key>`` leaves such a group as it is."""
    if section != "cameras" or ("trace" not in item and "trace_dir" not in item):
        return False
    return re.split(r"[.\[]", rest, maxsplit=1)[0] in TRACE_EXCLUDED_KEYS


#: Camera keys that only select a group's default bitrate: a group whose ``bitrate`` is
#: written keeps it whatever they say (docs/scenario.md).
DEFAULT_BITRATE_KEYS = ("codec", "resolution")


def _written_bitrates(
    variant: Variant,
    path: str,
    touched: list[tuple[str, dict[str, Any]]],
    rated: list[dict[str, Any]],
) -> str | None:
    """A note when ``path`` set a key of :data:`DEFAULT_BITRATE_KEYS` on camera groups
    (``touched``: each group's key and item) that write their bitrate in the scenario (not
    among ``rated``, the groups whose bitrate the variant sets): for them the change does
    nothing, so the variant prices no saving."""
    kept = [
        str(item.get("name", "?"))
        for key, item in touched
        if key in DEFAULT_BITRATE_KEYS
        and "bitrate" in item
        and "streams" not in item
        and not any(item is r for r in rated)
    ]
    if not kept:
        return None
    return (
        f'variant "{variant.name}": {path} = {_toml_value(variant.changes[path])} selects '
        f"the default bitrate only; camera group(s) {', '.join(kept)} write their bitrate "
        "and keep it, so the change does nothing there (set their bitrate in the variant "
        f"too, e.g. 'cameras.{kept[0]}.bitrate', to price it)"
    )


def apply_variant(
    data: dict[str, Any],
    variant: Variant,
    notes: list[str] | None = None,
    places: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A copy of raw scenario ``data`` with ``variant``'s changes (see the module doc).

    ``notes``, if given, gets one line per change that does nothing on some camera groups:
    a ``codec`` or ``resolution`` set on groups that write their ``bitrate``. ``places``,
    if given, gets each change's path and the fields it set (``'cameras[0].fps'``, ...)."""
    out = copy.deepcopy(data)
    touched: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path, value in variant.changes.items():
        where = f'variant "{variant.name}": {path}'
        touched[path] = hit = []
        set_at: list[str] = [] if places is None else places.setdefault(path, [])
        m = re.fullmatch(r"(\w+)\[\*\]\.(.+)", path)
        if m:
            section, rest = m.groups()
            found = [(at, x) for at, x in _growth_places(out, section) if x is not None]
            if not found:
                raise AnalysisInputError(f"{where}: the scenario has no {section}")
            found = [(at, x) for at, x in found if not _replay_model_key(section, x, rest)]
            if not found:
                raise AnalysisInputError(
                    f"{where}: every camera group replays a recorded trace, which has no "
                    f"{rest} to change"
                )
            for at, item in found:
                try:
                    loc = resolve(item, rest)
                    set_value(item, loc, copy.deepcopy(value))
                except PathError as exc:
                    raise AnalysisInputError(f"{where}: {exc}") from None
                set_at.append(_joined(at, format_loc(loc)))
                if section == "cameras":
                    hit.append((rest, item))
            continue
        try:
            set_at.append(_set_in(out, path, value, hit))
        except PathError as exc:
            set_at.append(_set_in_growth(out, path, value, hit, f"{where}: {exc}"))
    if notes is not None:
        rated = [item for hit in touched.values() for key, item in hit if key == "bitrate"]
        for path, hit in touched.items():
            note = _written_bitrates(variant, path, hit, rated)
            if note is not None:
                notes.append(note)
    return out


def _set_in(
    data: dict[str, Any], path: str, value: Any, touched: list[tuple[str, dict[str, Any]]]
) -> str:
    """Set ``path`` in ``data``; a key of a camera group (``cameras[i].key``) is added to
    ``touched`` with its group. Returns the field set (``'links[2].fibre'``)."""
    loc = resolve(data, path)
    set_value(data, loc, copy.deepcopy(value))
    if len(loc) == 3 and loc[0] == "cameras" and isinstance(loc[1], int):
        touched.append((str(loc[2]), data["cameras"][loc[1]]))
    return format_loc(loc)


def _set_in_growth(
    data: dict[str, Any],
    path: str,
    value: Any,
    touched: list[tuple[str, dict[str, Any]]],
    why: str,
) -> str:
    """Set ``path`` in the first entry of ``data``'s growth plan that adds the item it names
    (:func:`_set_in`); else raise :class:`AnalysisInputError` saying ``why`` (why it is not
    in the scenario itself)."""
    try:
        section = parse_path(path)[0]
    except PathError:  # not a path at all
        raise AnalysisInputError(why) from None
    for g, entry in enumerate(data.get("growth", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get(section), list):
            continue
        try:
            return _joined(f"growth[{g}]", _set_in(entry, path, value, touched))
        except PathError:
            continue
    raise AnalysisInputError(why)


def _joined(prefix: str, field: str) -> str:
    """The field ``field`` (``format_loc``'s form) of the item at ``prefix``."""
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"


def _variant_problems(
    index: int, variant: Variant, places: dict[str, list[str]], problems: list[Problem]
) -> list[Problem]:
    """``problems`` of the scenario under ``variant`` (the ``index``-th of its file), each
    in a field the variant set named by the variant's change (``variants[0] (name="x")
    .set["cameras[*].fps"]``) instead of every field it set: a bad value or key set on
    every camera group is one problem of the variants file, said once."""
    out = []
    for problem in problems:
        where = strip_labels(problem.path)
        for path, fields in places.items():
            if where and any(within(where, f) or within(f, where) for f in fields):
                name = json.dumps(variant.name, ensure_ascii=False)
                at = f"variants[{index}] (name={name}).set[{json.dumps(path)}]"
                out.append(Problem(at, problem.message))
                break
        else:
            out.append(problem)
    return out


def _toml_value(v: Any) -> str:
    try:
        return toml_value(v)
    except TypeError as exc:
        raise AnalysisInputError(str(exc)) from None


def toml_text(data: dict[str, Any]) -> str:
    """Raw scenario ``data`` as a TOML document (one top-level key per line, inline tables)."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in data.items())


def _absolute_files(data: dict[str, Any], base_dir: Path) -> None:
    """Make the trace files' paths absolute, so that the variant's file reads the same."""
    for item in _growth_items(data, "sources"):
        f = item.get("file")
        if isinstance(f, str) and not Path(f).is_absolute():
            item["file"] = str((base_dir / f).resolve())


#: The longest folder name of a variant (file systems take 255 bytes: a variant named with
#: 300 letters failed the whatif after its baseline was sized).
MAX_FOLDER_CHARS = 80


def _slug(name: str) -> str:
    """The folder name of a variant: its name's letters, digits, ``._-``, never ``.`` or
    ``..`` (a variant named ".." had its sizing written into the parent of ``--out``), at
    most :data:`MAX_FOLDER_CHARS` long."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:MAX_FOLDER_CHARS]
    return slug.strip("-.") or "variant"


def _row(
    name: str, changes: dict[str, Any], res: SizingResult, error: str | None
) -> dict[str, Any]:
    bill, vendor = res.bill, res.vendor_bill
    years = bill.years if bill is not None else pd.DataFrame()
    rec = bill.recorders if bill is not None else pd.DataFrame()
    last = rec[rec["year"] == rec["year"].max()] if len(rec) else rec
    if error is not None:
        verdict = f"not met: {error}"
    elif res.failures:
        verdict = f"partial: {len(res.failures)} run(s) failed"
    else:
        verdict = "met (uncertain)" if res.uncertain else "met"
    vendor_ok = [y.vendor_verdict.ok for y in res.years if y.vendor_verdict is not None]
    return {
        "variant": name,
        "changes": "; ".join(f"{k} = {v!r}" for k, v in changes.items()),
        "years_sized": len(res.years),
        "net_present_cost": bill.npc if bill is not None else math.nan,
        "capex": float(years["capex"].sum()) if len(years) else math.nan,
        "opex": float(years["opex"].sum()) if len(years) else math.nan,
        "tb_per_day": float(last["tb_per_day"].sum()) if len(last) else math.nan,
        "tb_kept": float(last["tb_retention"].sum()) if len(last) else math.nan,
        "sla": verdict,
        "vendor_net_present_cost": vendor.npc if vendor is not None else math.nan,
        "vendor_meets_sla": all(vendor_ok) if vendor_ok else None,
    }


def run_whatifs(
    file: str | Path,
    variants: list[Variant],
    bill: BillModel,
    out_dir: str | Path,
    *,
    plot: bool = False,
    on_run: Callable[[RunRecord], None] | None = None,
    **size_options: Any,
) -> WhatIfResult:
    """Size and price the scenario ``file`` as it is and under every variant (see the module
    doc); ``size_options`` go to :func:`~vidnet_sim.analysis.sizing.size_network`."""
    data, base_dir = load_raw(file)
    _absolute_files(data, base_dir)
    texts = {BASELINE: toml_text(data)}
    changes: dict[str, dict[str, Any]] = {BASELINE: {}}
    notes: list[str] = []
    places: dict[str, dict[str, list[str]]] = {BASELINE: {}}
    for v in variants:
        places[v.name] = {}
        texts[v.name] = toml_text(apply_variant(data, v, notes, places[v.name]))
        changes[v.name] = v.changes
    index = {v.name: (i, v) for i, v in enumerate(variants)}
    problems: dict[str, list[Problem]] = {}
    for name, text in texts.items():  # every variant checked before anything runs
        vdata = tomllib.loads(text)
        try:
            sc = parse_scenario_dict(copy.deepcopy(vdata), base_dir=base_dir)
            check_growth_plan(sc, vdata, bill)
        except (ScenarioError, CostModelError) as exc:
            if isinstance(exc, CostModelError):
                raise CostModelError(exc.problems, f'for {file} (variant "{name}")') from None
            if name not in index:  # the scenario as it is: its own problems, at once
                raise exc.with_source(f'{file} (variant "{name}")') from None
            problems[name] = _variant_problems(*index[name], places[name], exc.problems)
    if problems:  # every variant's, each said once
        names = ", ".join(json.dumps(n, ensure_ascii=False) for n in problems)
        label = f"variant{'s' if len(problems) > 1 else ''} {names}"
        raise ScenarioError([p for ps in problems.values() for p in ps], f"{file} ({label})")
    out = Path(out_dir)
    rows, results = [], {}
    folders = {name: out / _slug(name) for name in texts}
    for folder in folders.values():  # every variant's place, before anything runs
        check_out_folder(folder, "variant")
    for name, text in texts.items():
        folder = folders[name]
        path = write_file(folder / "scenario.toml", text)
        error = None
        try:
            res = size_network(path, bill=bill, cache_dir=folder, on_run=on_run, **size_options)
        except SizingStoppedError as exc:
            res, error = exc.result, str(exc)
        write_sizing(res, folder, plot=plot)
        results[name] = res
        rows.append(_row(name, changes[name], res, error))
    base = folders[BASELINE]
    others = {name: load_report_data(f) for name, f in folders.items() if name != BASELINE}
    page = _noted(with_variants(load_report_data(base), others, BASELINE), notes)
    report = write_report(page, base)[-1]
    return WhatIfResult(rows, results, bill.currency, notes, report, folders)


def _noted(page: ReportData, notes: list[str]) -> ReportData:
    """``page`` with each variant's warnings (``notes``: 'variant "NAME": ...') in its row
    of the what-ifs table: a codec change that does nothing on some groups was said on the
    console only, while the report set its cost beside the others as if it had been priced."""
    variants = []
    for v in page.variants:
        own = [n for n in notes if n.startswith(f'variant "{v.name}": ')]
        variants.append(replace(v, note=" ".join([v.note, *(f"Warning: {n}." for n in own)])))
    return replace(page, variants=variants)
