"""What a curve or a capacity search varies, applied to a scenario's raw TOML data.

``cameras``
    The total camera count: every camera group's ``count`` scaled in proportion so that they
    sum to exactly ``N`` (:func:`apportion`: largest remainders, at least 1 each).
``bitrate``
    A bitrate scale: every camera group's ``bitrate`` (its default when not given), every
    ``cbr`` / ``poisson`` source's ``rate`` or ``packet_rate`` multiplied by it (a cbr
    ``interval`` divided). Trace sources are left alone.
any dotted path
    A scenario field (``links["agg1-core"].rate``, ``cameras[0].count``,
    ``sources[0].packet_rate``), written with :mod:`vidnet_sim.variation.paths`. A quantity
    field takes quantities with units (``--from 100Mbps``) and is interpolated in its base
    unit; an integer field is rounded.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidnet_sim.errors import Problem, ScenarioError, VidnetError
from vidnet_sim.runner import compile_scenario
from vidnet_sim.scenario import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.model import UNITS_REQUIRED, CameraGroup
from vidnet_sim.scenario.raw import did_you_mean
from vidnet_sim.scenario.toml_file import read_toml
from vidnet_sim.scenario.units import parse_rate, parse_time
from vidnet_sim.variation.paths import Loc, PathError, resolve, set_value
from vidnet_sim.variation.quantities import QUANTITY_KINDS, quantity_kind

__all__ = [
    "MAX_REPLICATIONS",
    "MAX_STEPS",
    "AnalysisInputError",
    "Vary",
    "check_value",
    "load_raw",
    "make_vary",
    "read_input_toml",
    "vary_values",
]

#: Most values of one curve (``--steps``): each is ``--replications`` runs.
MAX_STEPS = 1000
#: Most replications of one value of a curve or a capacity search.
MAX_REPLICATIONS = 1000

_BASE_UNIT = {"rate": "bps", "size": "B", "time": "ps", "length": "m"}
#: The variables ``--vary`` takes by name (any other is a field path).
VARIABLES = ("cameras", "bitrate")


class AnalysisInputError(VidnetError):
    """Bad input to a curve or capacity search (exit code 3): says which and why."""


def read_input_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The TOML document of an input file other than a scenario (``what``: ``cost model``,
    ``variants``), read within the scenario file's bounds
    (:func:`~vidnet_sim.scenario.toml_file.read_toml`: a missing file, a folder, a device or
    a FIFO, a huge or non-UTF-8 file are refused before they are read);
    :class:`AnalysisInputError` names the file and every problem."""
    try:
        return read_toml(path)
    except ScenarioError as exc:
        raise AnalysisInputError(
            f"{what} {path}: " + "; ".join(str(p) for p in exc.problems)
        ) from None


def load_raw(path: str | Path) -> tuple[dict[str, Any], Path]:
    """A scenario file's raw TOML data (validated once) and its folder."""
    file = Path(path)
    load_scenario(file)  # raises ScenarioError with every problem
    data = read_toml(file)
    data.setdefault("name", file.stem)
    return data, file.parent.resolve()


@dataclass
class Vary:
    """A variable of a scenario: how to read it as a number and how to set it."""

    what: str
    kind: str  # "cameras", "bitrate", "int", "float", "fixed" or a quantity kind ("rate"...)
    loc: Loc | None
    current: float

    @property
    def integer(self) -> bool:
        """Does the variable only take whole values?"""
        return self.kind in ("cameras", "int") or self.kind in QUANTITY_KINDS

    @property
    def minimum(self) -> float:
        """Smallest meaningful value."""
        return 1.0 if self.kind in ("cameras", "int") or self.kind in QUANTITY_KINDS else 0.0

    def parse(self, text: str | float, option: str = "value") -> float:
        """A command-line value (``'100Mbps'`` for a rate field) as a number; ``option``
        (``--from``...) names it in the error."""
        if isinstance(text, int | float):
            return float(text)
        if self.kind in QUANTITY_KINDS:
            parser = QUANTITY_KINDS[self.kind][0]
            try:
                return float(parser(text))
            except ValueError as exc:
                raise AnalysisInputError(f"{option} of --vary {self.what}: {exc}") from None
        try:
            return float(text)
        except ValueError:
            raise AnalysisInputError(
                f"{option} of --vary {self.what}: expected a number, got {text!r}"
            ) from None

    def label(self, x: float) -> str:
        """``x`` as the user would write it; beyond any 64-bit field, in a few digits
        (``1e+308``, not its 309 digits)."""
        if not abs(x) < 2**63:
            return f"{x:.6g}"
        if self.kind in QUANTITY_KINDS:
            return QUANTITY_KINDS[self.kind][1](int(x))
        return f"{int(x)}" if self.integer else f"{x:g}"

    def at(self, value: str, *, at_least: bool = False) -> str:
        """A value of the variable (a :meth:`label`, or a list of them) as a sentence reads
        it, with its unit: ``3 × the nominal bitrate``, ``18 cameras``, ``links["a"].rate =
        1Gbps`` (``bitrate = 3`` read as 3 bit/s); with ``at_least``, ``at least 18
        cameras``, ``links["a"].rate ≥ 1Gbps``."""
        if self.kind in ("bitrate", "cameras"):
            unit = "× the nominal bitrate" if self.kind == "bitrate" else "cameras"
            if self.kind == "cameras" and value == "1":
                unit = "camera"
            return f"{'at least ' if at_least else ''}{value} {unit}"
        return f"{self.what} {'≥' if at_least else '='} {value}"

    @staticmethod
    def _whole(x: float) -> str:
        """``x`` rounded, as the digits of a quantity; beyond any 64-bit field in a few
        digits (the field refuses it as too large, quoting it)."""
        return str(round(x)) if abs(x) < 2**63 else f"{x:.6g}"

    def apply(self, data: dict[str, Any], x: float) -> dict[str, Any]:
        """A copy of ``data`` with the variable set to ``x``."""
        out = copy.deepcopy(data)
        if self.kind == "fixed":  # nothing varies (sizing: the data is set by the caller)
            return out
        if self.kind == "cameras":
            cams = _modelled_cameras(out)
            counts = apportion([int(c["count"]) for c in cams], round(x))
            for c, n in zip(cams, counts, strict=True):
                c["count"] = n
        elif self.kind == "bitrate":
            _scale_bitrates(out, x)
        else:
            assert self.loc is not None
            if self.kind in QUANTITY_KINDS:
                value: Any = f"{self._whole(x)}{_BASE_UNIT[self.kind]}"
            elif self.kind == "int":
                value = round(x)
            else:
                value = float(x)
            set_value(out, self.loc, value)
        return out


def apportion(counts: list[int], total: int) -> list[int]:
    """``counts`` scaled to sum to ``total`` exactly, in proportion (largest remainders:
    each gets the whole part of its share, the largest fractions one more; ties to the
    first), at least 1 each: ``[20, 20, 16, 4]`` to 136 is ``[46, 45, 36, 9]`` (rounding each
    share gave 135). With fewer than one camera per group, each group keeps one."""
    total = max(total, len(counts))
    whole = sum(counts)
    shares = [c * total / whole for c in counts]
    out = [max(1, math.floor(q)) for q in shares]
    by_fraction = sorted(range(len(counts)), key=lambda i: (-(shares[i] - out[i]), i))
    for i in by_fraction[: max(0, total - sum(out))]:
        out[i] += 1
    for _ in range(sum(out) - total):  # groups raised to 1 are paid for by the most over
        i = max((j for j in range(len(out)) if out[j] > 1), key=lambda j: out[j] - shares[j])
        out[i] -= 1
    return out


def _modelled_cameras(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The raw camera groups of the video model: a group replaying recorded traces keeps its
    count (the cameras in its trace) and its packets."""
    return [c for c in data.get("cameras", []) if "trace" not in c and "trace_dir" not in c]


def _scale_bitrates(data: dict[str, Any], x: float) -> None:
    for raw in _modelled_cameras(data):
        cam = CameraGroup.model_validate(raw, context={UNITS_REQUIRED: True})
        raw["bitrate"] = f"{_whole(cam.bitrate_bps * x, data, 'cameras', raw, 'bitrate')}bps"
    for raw in data.get("sources", []):
        if raw.get("kind") == "trace":
            continue
        if "rate" in raw:
            rate = parse_rate(raw["rate"]) * x
            raw["rate"] = f"{_whole(rate, data, 'sources', raw, 'rate')}bps"
        elif "packet_rate" in raw:
            raw["packet_rate"] = float(raw["packet_rate"]) * x
        elif "interval" in raw:
            raw["interval"] = (
                f"{_whole(parse_time(raw['interval']) / x, data, 'sources', raw, 'interval')}ps"
            )


def _whole(value: float, data: dict[str, Any], section: str, item: dict[str, Any], key: str) -> int:
    """A scaled quantity ``value`` as a whole number, at least 1; a
    :class:`~vidnet_sim.errors.ScenarioError` naming ``key`` of ``item`` (of ``section`` of
    ``data``) when the scale made it infinite or larger than any field holds (2⁶³ − 1: its
    hundreds of digits were written whole into the field's message)."""
    if not math.isfinite(value) or value > _LARGEST_WHOLE:
        i = next((i for i, x in enumerate(data.get(section, [])) if x is item), "?")
        where = f"{section}[{i}] (name={json.dumps(str(item.get('name', '?')))}).{key}"
        why = (
            "scaled to an infinite value"
            if not math.isfinite(value)
            else f"scaled to {value:.3g}, larger than any value it takes (at most 2^63 - 1)"
        )
        raise ScenarioError(Problem(where, why))
    return max(1, round(value))


_LARGEST_WHOLE = 2**63 - 1  # the int64 fields' largest value


def make_vary(data: dict[str, Any], what: str) -> Vary:
    """The variable ``what`` (``cameras``, ``bitrate`` or a dotted path) of raw ``data``."""
    if what == "cameras":
        cams = _modelled_cameras(data)
        if not cams:
            why = (
                " (groups replaying recorded traces keep their count)"
                if data.get("cameras")
                else ""
            )
            raise AnalysisInputError(
                f"--vary cameras: the scenario has no camera group to scale{why}"
            )
        return Vary(what, "cameras", None, float(sum(int(c["count"]) for c in cams)))
    if what == "bitrate":
        return Vary(what, "bitrate", None, 1.0)
    if not any(c in what for c in ".[]"):  # no top-level key holds a number
        raise AnalysisInputError(
            f"--vary {what}: expected 'cameras', 'bitrate' or the path of a scenario field "
            "such as 'cameras[0].count' or 'links[\"core-uplink\"].rate'"
            + did_you_mean(what, list(VARIABLES), list_all=False)
        )
    try:
        loc = resolve(data, what)
    except PathError as exc:
        raise AnalysisInputError(f"--vary {what}: {exc}") from None
    node: Any = data
    try:
        for part in loc:
            node = node[part]
    except (KeyError, IndexError, TypeError):
        node = None
    if isinstance(node, bool):
        raise AnalysisInputError(f"--vary {what}: a boolean field cannot be varied")
    if isinstance(node, int):
        return Vary(what, "int", loc, float(node))
    if isinstance(node, float):
        return Vary(what, "float", loc, node)
    if isinstance(node, str):
        kind = quantity_kind(node)
        if kind is None:
            raise AnalysisInputError(
                f"--vary {what}: the field holds {node!r}, not a number or a quantity"
            )
        return Vary(what, kind, loc, float(QUANTITY_KINDS[kind][0](node)))
    raise AnalysisInputError(
        f"--vary {what}: the field is not set in the scenario; set it in the file first "
        "(its type decides how values are written)"
    )


def vary_values(vary: Vary, start: float, stop: float, steps: int) -> list[float]:
    """``steps`` values from ``start`` to ``stop`` (whole values for integer variables).

    Raises :class:`AnalysisInputError` for a reversed or empty range.
    """
    if not 1 <= steps <= MAX_STEPS:
        raise AnalysisInputError(f"--steps: expected 1 to {MAX_STEPS}, got {steps}")
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise AnalysisInputError(
            f"--from/--to: must be finite numbers, got --from {start!r} and --to {stop!r}"
        )
    if stop < start:
        raise AnalysisInputError(
            f"the vary range is reversed: --from {vary.label(start)} is above --to "
            f"{vary.label(stop)}; swap them"
        )
    if stop == start and steps > 1:
        raise AnalysisInputError(
            f"the vary range is empty: --from and --to are both {vary.label(start)} but "
            f"--steps is {steps}; widen the range or use --steps 1"
        )
    if vary.kind == "bitrate" and start <= 0:
        raise AnalysisInputError(f"--from {start:g}: a bitrate scale must be positive")
    if start < vary.minimum:
        raise AnalysisInputError(
            f"--from {vary.label(start)}: {vary.what} must be at least {vary.label(vary.minimum)}"
        )
    values = np.linspace(start, stop, steps)
    if vary.integer:
        out = sorted({round(float(v)) for v in values})  # distinct whole values only
        return [float(v) for v in out]
    return [float(v) for v in values]


def problems_at(
    vary: Vary,
    data: dict[str, Any],
    base_dir: Path | None,
    x: float,
    *,
    whole: bool = False,
    duration_ps: int | None = None,
) -> list[str]:
    """The problems of the scenario ``data`` with the variable at ``x`` (empty: accepted):
    of its fields, and with ``whole``, of its compiled network too (the core's limits, the
    packets of a run or a window, with ``duration_ps``)."""
    try:
        sc = parse_scenario_dict(vary.apply(data, x), base_dir=base_dir)
        if whole:
            compile_scenario(sc, duration_ps=duration_ps)
    except ScenarioError as exc:
        return [str(p) for p in exc.problems] or [str(exc)]
    return []


def check_value(
    vary: Vary,
    data: dict[str, Any],
    base_dir: Path | None,
    x: float,
    option: str,
    *,
    whole: bool = False,
    duration_ps: int | None = None,
) -> None:
    """Raise :class:`AnalysisInputError` when the scenario ``data`` is invalid with the
    variable at ``x`` (given by ``option``, e.g. ``--to``; with ``whole``, its compiled
    network too: :func:`problems_at`): its first problems, before anything runs (else
    every run at ``x`` would fail)."""
    problems = problems_at(vary, data, base_dir, x, whole=whole, duration_ps=duration_ps)
    if problems:
        shown = "; ".join(problems[:3])
        more = len(problems) - 3
        raise AnalysisInputError(
            f"{option} {vary.label(x)}: the scenario is invalid with --vary {vary.what} at "
            f"{vary.label(x)}: {shown}" + (f" (and {more} more problems)" if more > 0 else "")
        )
