"""What a report shows, as plain data: the interface between analyses and the HTML report.

An analysis (``size``, ``capacity``, ``curve``) fills a :class:`ReportData`; the renderer
(:mod:`vidnet_sim.analysis.html`) draws it without knowing where it came from, and it is
stored as ``report.json`` beside ``report.html`` so that ``vidnet-sim report DIR`` draws the
report again without simulating. Every part is optional except the first page
(recommendation, risk, what would change the answer); a new kind of content (cost
categories, failure cases, explanations) is a new field or a new entry in a list here, and a
``report.json`` written before it still loads (missing fields take their defaults).
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from vidnet_sim.analysis.vary import AnalysisInputError
from vidnet_sim.results import ResultsNotFoundError
from vidnet_sim.results.files import write_file

__all__ = [
    "REPORT_JSON",
    "REPORT_VERSION",
    "CostChart",
    "NetLink",
    "NetNode",
    "NetworkView",
    "Panel",
    "PanelGrid",
    "ReportData",
    "Series",
    "TableView",
    "Target",
    "Variant",
    "VerticalMark",
    "load_report_data",
    "report_from_dict",
    "with_variants",
]

#: File name of the stored report data in a results folder.
REPORT_JSON = "report.json"
#: Format version of ``report.json``.
REPORT_VERSION = 1


@dataclass
class Series:
    """One line of a panel: ``mean`` at each ``x`` and, when known, its confidence interval
    (``low``/``high``, same length; NaN where unknown). ``style``: ``"simulated"`` (markers,
    error bars) or ``"bound"`` (a dashed worst-case line)."""

    label: str
    x: list[float]
    mean: list[float]
    low: list[float] | None = None
    high: list[float] | None = None
    style: str = "simulated"


@dataclass
class Target:
    """A horizontal SLA target line."""

    label: str
    value: float


@dataclass
class VerticalMark:
    """A vertical line at ``x`` (e.g. the last value a fast estimate accepts)."""

    label: str
    x: float


@dataclass
class Panel:
    """One panel: one traffic class and one quantity (``"latency_ms"`` or ``"loss"``), its
    series, targets, vertical marks and notes (e.g. why an estimate is absent)."""

    title: str
    quantity: str
    series: list[Series] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    marks: list[VerticalMark] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class PanelGrid:
    """Panels in a landscape grid of ``columns`` columns, sharing the x axis label."""

    title: str
    x_label: str
    panels: list[Panel]
    columns: int = 2
    integer_x: bool = False
    caption: str = ""


@dataclass
class CostChart:
    """Cost per period (``labels``, e.g. years), stacked by category (name → one value per
    period)."""

    title: str
    labels: list[str]
    categories: dict[str, list[float]]
    currency: str
    caption: str = ""


@dataclass
class NetNode:
    """A node of the drawing: ``layer`` for the layered layout (0: the centre), optional
    ``x``/``y`` (metres, or lon/lat in degrees), and the cameras attached to it."""

    id: str
    kind: str
    layer: int
    x: float | None = None
    y: float | None = None
    cameras: int = 0
    groups: list[str] = field(default_factory=list)
    district: bool = False  # camera switches under one node, gathered into one by the drawing


@dataclass
class NetLink:
    """A link of the drawing: rate tier, length, mean load and utilisation (busier direction;
    None when unknown), and whether it is the binding link (the busiest: drawn in red,
    labelled BUSIEST) or was upgraded."""

    id: str
    a: str
    b: str
    rate_bps: float
    length_m: float = 0.0
    load_bps: float | None = None
    utilisation: float | None = None
    binding: bool = False
    changed: str = ""
    count: int = 1  # parallel links drawn as one (a district's uplinks): the busiest's figures


@dataclass
class NetworkView:
    """The network to draw; ``coordinates``: ``"xy"``, ``"latlon"`` or ``""`` (layered)."""

    title: str
    nodes: list[NetNode]
    links: list[NetLink]
    coordinates: str = ""
    caption: str = ""


@dataclass
class Variant:
    """A what-if beside the base case: its cost and SLA verdict (``ok`` None: not judged)."""

    name: str
    cost: float
    ok: bool | None
    verdict: str = ""
    note: str = ""

    @property
    def verdict_text(self) -> str:
        """``verdict``, or plain words for ``ok``."""
        if self.verdict:
            return self.verdict
        return {True: "meets every SLA", False: "misses an SLA", None: "not judged"}[self.ok]


@dataclass
class TableView:
    """A table of text cells (``**bold**`` and ```code``` marks allowed)."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class ReportData:
    """Everything a report shows. ``kind``: ``"size"``, ``"capacity"`` or ``"curve"``; the
    first page is ``headline``, ``recommendation``, ``risk`` and ``changes`` (lists of
    sentences, ``**bold**`` allowed). ``total_cost``, ``currency`` and ``meets_sla`` let
    sizing reports be set side by side as what-ifs (:func:`with_variants`)."""

    kind: str
    title: str
    headline: str
    recommendation: list[str]
    risk: list[str]
    changes: list[str]
    partial: str = ""  # why the result is partial ("" when complete)
    description: str = ""
    total_cost: float | None = None  # what the recommendation costs (sizing), in currency
    currency: str = ""
    meets_sla: bool | None = None  # does the recommended design meet every SLA?
    network: NetworkView | None = None
    costs: CostChart | None = None
    plots: PanelGrid | None = None
    variants: list[Variant] = field(default_factory=list)
    variants_currency: str = ""
    tables: list[TableView] = field(default_factory=list)
    method: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    version: int = REPORT_VERSION

    def to_json(self) -> str:
        """The report data as JSON (NaN and infinities written as ``null``)."""
        return json.dumps(_finite(asdict(self)), indent=1, ensure_ascii=False)

    def save(self, out_dir: str | Path) -> Path:
        """Write ``report.json`` into ``out_dir`` (in one step:
        :func:`~vidnet_sim.results.files.write_file`); returns its path."""
        return write_file(Path(out_dir) / REPORT_JSON, self.to_json())


def judged_differently(base: ReportData, others: dict[str, ReportData]) -> list[str]:
    """A line per what-if whose designs were judged otherwise than ``base``'s (its method's
    first line: runs, their length, the confidence): costs and verdicts from 2 s runs set
    beside ones from 6 s runs compare the simulations, not the designs."""

    def how(data: ReportData) -> str:
        return (data.method or [""])[0].split(";")[0].rstrip(".")

    return [
        f"{name} was judged otherwise than the base ({how(data)!r}, against {how(base)!r}): "
        "set side by side, their costs and verdicts may differ for that alone"
        for name, data in others.items()
        if how(data) != how(base)
    ]


def with_variants(base: ReportData, others: dict[str, ReportData], base_name: str) -> ReportData:
    """``base`` with the what-ifs table and chart: itself (``base_name``) and each of
    ``others`` (name → its report data) side by side, by total cost and SLA verdict.

    Raises :class:`~vidnet_sim.analysis.vary.AnalysisInputError` naming a report that has
    no total cost (only sizing reports have one), or when the currencies differ."""
    for name, data in {base_name: base, **others}.items():
        if data.total_cost is None:
            raise AnalysisInputError(
                f"{name}: a {data.kind} report has no total cost to compare; what-ifs compare "
                "sizing reports (`vidnet-sim size`)"
                if data.kind != "size"
                else f"{name}: its report data has no total cost (written by an older "
                "vidnet-sim): run `vidnet-sim size` again, its runs are reused"
            )
    variants = [
        Variant(
            name,
            float(data.total_cost or 0.0),
            data.meets_sla,
            note=data.headline + (f" — PARTIAL: {data.partial}" if data.partial else ""),
        )
        for name, data in {base_name: base, **others}.items()
    ]
    currencies: dict[str, list[str]] = {}
    for name, d in {base_name: base, **others}.items():
        currencies.setdefault(d.currency or "none", []).append(name)
    if len(currencies) > 1:
        raise AnalysisInputError(
            "the reports are costed in different currencies: "
            + "; ".join(f"{c} ({', '.join(names)})" for c, names in currencies.items())
        )
    return replace(base, variants=variants, variants_currency=base.currency)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


#: The dataclass of each nested field (and of each list element).
_NESTED: dict[tuple[type, str], type] = {
    (ReportData, "network"): NetworkView,
    (ReportData, "costs"): CostChart,
    (ReportData, "plots"): PanelGrid,
    (ReportData, "variants"): Variant,
    (ReportData, "tables"): TableView,
    (NetworkView, "nodes"): NetNode,
    (NetworkView, "links"): NetLink,
    (PanelGrid, "panels"): Panel,
    (Panel, "series"): Series,
    (Panel, "targets"): Target,
    (Panel, "marks"): VerticalMark,
}


#: Numeric fields whose ``null`` (a NaN or an infinity when written) reads back as NaN (and
#: so does a ``NaN`` or ``Infinity`` in a file not written by vidnet-sim).
_NUMBERS = {(Series, "x"), (Series, "mean"), (Series, "low"), (Series, "high"), (Target, "value")}


def _nan(v: Any) -> Any:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):  # ("Infinity" read)
        return math.nan
    if isinstance(v, list):
        return [_nan(x) for x in v]
    return v


def _conforms(value: Any, hint: Any) -> bool:
    """Whether the JSON value ``value`` (nested report data already built) has the type
    ``hint`` (a field's annotation: basic types, ``list``, ``dict``, unions, dataclasses);
    a whole number passes for a float."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if hint is type(None) or hint is None:
        return value is None
    if origin in (types.UnionType, typing.Union):
        return any(_conforms(value, h) for h in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_conforms(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(hint)
        return isinstance(value, dict) and all(
            _conforms(k, key) and _conforms(v, item) for k, v in value.items()
        )
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _build(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """The dataclass ``cls`` from its JSON form ``data``; ``ValueError`` naming the key
    (``where``: the path to ``data``) whose value is not of its field's type."""
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'the document'}: expected an object")
    hints = typing.get_type_hints(cls)
    missing = [
        f.name
        for f in fields(cls)
        if f.name not in data and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise ValueError(
            f"{where or 'the document'}: missing key(s): {', '.join(missing)} (a damaged "
            "file, or one of an older vidnet-sim: run the command that wrote it again)"
        )
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue  # written before the field existed: its default
        v = data[f.name]
        at = f"{where}.{f.name}" if where else f.name
        sub = _NESTED.get((cls, f.name))
        if sub is not None and v is not None:
            if isinstance(v, list):
                v = [_build(sub, x, f"{at}[{i}]") for i, x in enumerate(v)]
            else:
                v = _build(sub, v, at)
        hint = hints[f.name]
        if (cls, f.name) in _NUMBERS and not (v is None and _conforms(None, hint)):
            v = _nan(v)  # (an optional list left out, ``null``, stays None: not known)
        if not (_conforms(v, hint) or (data[f.name] is None and _conforms(None, hint))):
            shown = json.dumps(data[f.name], default=str)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ValueError(f"{at}: got {shown}, expected {_type_name(hint)}")
        kwargs[f.name] = v
    if cls is Series:
        lengths = {len(v) for k, v in kwargs.items() if k in ("x", "mean", "low", "high")
                   and isinstance(v, list)}  # fmt: skip
        if len(lengths) > 1:
            raise ValueError(f"{where}: x, mean, low and high are not of one length")
    out = cls(**kwargs)
    assert is_dataclass(out)
    return out


def _type_name(hint: Any) -> str:
    """An annotation as a reader of the JSON would name it."""
    return (
        str(hint)
        .replace("typing.", "")
        .replace("vidnet_sim.analysis.report_data.", "")
        .replace("<class '", "")
        .replace("'>", "")
        .replace("str", "text")
        .replace("NoneType", "null")
    )


def report_from_dict(data: dict[str, Any]) -> ReportData:
    """A :class:`ReportData` from its JSON form (``null`` numbers in series become NaN).
    Raises ``ValueError`` for a document that is not report data of a known version."""
    if not isinstance(data, dict) or "kind" not in data or "title" not in data:
        raise ValueError("not report data: expected an object with 'kind' and 'title'")
    version = data.get("version", REPORT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        shown = json.dumps(version, default=str)[:60]
        raise ValueError(f"version: got {shown}, expected a whole number of 1 or more")
    if version > REPORT_VERSION:
        raise ValueError(
            f"report data version {version!r} is newer than this vidnet-sim reads "
            f"({REPORT_VERSION}); upgrade vidnet-sim"
        )
    try:
        out = _build(ReportData, data)
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"malformed report data: {exc}") from None
    assert isinstance(out, ReportData)
    cost = out.total_cost
    if cost is not None and not 0 <= cost < math.inf:  # (NaN too: "nan USD" in a table)
        raise ValueError(f"total_cost: got {cost!r}, expected a cost (a finite number ≥ 0) or null")
    return out


def load_report_data(results_dir: str | Path) -> ReportData:
    """The stored report data of a results folder (``<dir>/report.json``).

    Raises :class:`~vidnet_sim.results.ResultsNotFoundError` when the folder has none or it
    is not valid report data (the message says which)."""
    path = Path(results_dir) / REPORT_JSON
    if Path(results_dir).is_file():
        raise ResultsNotFoundError(
            f"{results_dir}: a file, not a folder; name the folder holding {REPORT_JSON} "
            + (
                f"({Path(results_dir).parent})"
                if Path(results_dir).name == REPORT_JSON
                else "(the --out folder of `vidnet-sim size`, `capacity` or `curve`)"
            )
        )
    if not Path(results_dir).is_dir():
        raise ResultsNotFoundError(
            f"{results_dir}: no such folder; name the --out folder of `vidnet-sim size`, "
            "`capacity` or `curve`"
        )
    if not path.is_file():
        inside = sorted(p.parent.name for p in Path(results_dir).glob(f"*/{REPORT_JSON}"))
        raise ResultsNotFoundError(
            f"{path}: no report data; "
            + (
                f"its folders {', '.join(inside)} have one (as a whatif folder's variants): "
                "name one of them"
                if inside
                else "`vidnet-sim size`, `capacity` and `curve` write it into their --out folder"
            )
        )
    try:  # (an editor's byte-order mark is not a damage)
        return report_from_dict(json.loads(path.read_text(encoding="utf-8-sig")))
    except (ValueError, OSError) as exc:  # JSONDecodeError is a ValueError
        raise ResultsNotFoundError(f"{path}: not usable report data: {exc}") from None
    except RecursionError:
        raise ResultsNotFoundError(
            f"{path}: not usable report data: nested too deeply to be report data"
        ) from None
