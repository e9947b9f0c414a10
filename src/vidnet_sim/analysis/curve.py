"""Latency and loss against load: replicated runs, confidence intervals, estimates, a plot.

:func:`run_curve` varies one thing (:mod:`vidnet_sim.analysis.vary`) over a range, runs
independent replications of every value (reusing stored runs), and returns per class and
metric the mean and its Student-t confidence interval, beside the fast estimates
(:mod:`vidnet_sim.analysis.estimates`) at the same values. :func:`write_curve` stores
``curve.parquet``, ``estimates.parquet``, ``manifest.json`` and ``curve.png``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidnet_sim.analysis.capacity import show_value, sla_columns, unmeasured_classes
from vidnet_sim.analysis.estimates import (
    METHOD_GAUSSIAN,
    METHOD_NC,
    METHOD_SUM_OF_MEANS,
    estimate,
    method_words,
)
from vidnet_sim.analysis.out_folder import check_out_folder
from vidnet_sim.analysis.plots import draw_panels
from vidnet_sim.analysis.report_data import Panel, PanelGrid, Series, Target, VerticalMark
from vidnet_sim.analysis.runs import RunCache, RunRecord, mean_ci
from vidnet_sim.analysis.vary import (
    MAX_REPLICATIONS,
    AnalysisInputError,
    Vary,
    check_value,
    load_raw,
    make_vary,
    vary_values,
)
from vidnet_sim.errors import ScenarioError
from vidnet_sim.execute import Executor, ProgressFn
from vidnet_sim.network.plan import build_plan
from vidnet_sim.results.files import parquet_bytes, write_file
from vidnet_sim.results.metric_words import interval_words, metric_label, metric_words
from vidnet_sim.results.sla import SlaTargets
from vidnet_sim.results.store import json_text
from vidnet_sim.runner import sla_targets
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.units import percent_words

__all__ = [
    "CURVE_METRICS",
    "NO_NC_BOUND",
    "CurveResult",
    "console_lines",
    "curve_estimates",
    "curve_grid",
    "plot_curve",
    "run_curve",
    "write_curve",
    "x_axis_label",
]

#: Summary columns a curve reports (per traffic class): every one an SLA target may bound
#: (:class:`~vidnet_sim.results.sla.SlaTargets`), and the throughput.
CURVE_METRICS = (*(f.name for f in fields(SlaTargets)), "throughput_bps")
#: What the console shows of a class without SLA targets.
_UNTARGETED = ("latency_p99_ps", "loss")


@dataclass
class CurveResult:
    """A curve: ``table`` (x, class, metric, mean, ci_low, ci_high, n) and ``estimates``
    (x, method, class, value, ok); ``partial`` when some runs failed (``failures``);
    ``targets``: the scenario's SLA targets (class → summary column → target)."""

    vary: Vary
    values: list[float]
    table: pd.DataFrame
    estimates: pd.DataFrame
    runs: pd.DataFrame
    failures: list[dict[str, Any]] = field(default_factory=list)
    confidence: float = 0.95
    targets: dict[str, dict[str, float]] = field(default_factory=dict)  # class -> column -> target
    #: what every run leaves out of the scenario (``--duration``: an alarm after its end)
    warnings: list[str] = field(default_factory=list)
    #: how long each run simulates, for the report's method (:meth:`RunCache.run_length`)
    run_length: str = ""

    @property
    def partial(self) -> bool:
        """Did some runs fail (the curve then misses them)?"""
        return bool(self.failures)

    @property
    def n_runs(self) -> int:
        """How many runs the curve is made of (``runs`` has a row per run and class)."""
        return int(self.runs["run_key"].nunique()) if len(self.runs) else 0

    @property
    def n_reused(self) -> int:
        """How many of them were read from the store instead of simulated."""
        if not len(self.runs):
            return 0
        return int(self.runs.loc[self.runs["reused"], "run_key"].nunique())


def curve_estimates(cache: RunCache, values: list[float]) -> pd.DataFrame:
    """The fast estimates at each value (parameters only, no simulation)."""

    rows: list[dict[str, Any]] = []
    for x in values:
        try:
            sc = cache.estimate_scenario(x)
            plan = build_plan(sc, cache.base_dir)
            est = estimate(sc, plan)
        except ScenarioError:
            continue
        links = est.links
        busiest = int(links["utilisation"].to_numpy().argmax())
        rows.append(
            {
                "x": x,
                "method": METHOD_SUM_OF_MEANS,
                "class": "",
                "value": float(links["utilisation"].max()),
                "ok": est.ok(METHOD_SUM_OF_MEANS),
                "link": str(links["link"].iloc[busiest]),
            }
        )
        ratio = links["gaussian_bps"] / links["rate_bps"]
        rows.append(
            {
                "x": x,
                "method": METHOD_GAUSSIAN,
                "class": "",
                "value": float(ratio.max()),
                "ok": est.ok(METHOD_GAUSSIAN),
                "link": str(links["link"].iloc[int(ratio.to_numpy().argmax())]),
            }
        )
        for cls in sorted(set(est.groups["class"])):
            b = est.group_bound_ps(cls)
            rows.append(
                {
                    "x": x,
                    "method": METHOD_NC,
                    "class": cls,
                    "value": b,
                    "ok": bool(math.isfinite(b)),
                    "link": "",
                    "note": "; ".join(est.notes),
                }
            )
    columns = ["x", "method", "class", "value", "ok", "link", "note"]
    return pd.DataFrame(rows, columns=columns).fillna({"note": ""})


def aggregate(
    records: list[RunRecord], confidence: float = 0.95
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per value, class and metric: mean and confidence interval over the replications;
    and the per-run class rows (``runs``)."""
    frames = []
    for r in records:
        if r.summary is None:
            continue
        df = r.summary[r.summary["level"] == "class"].copy()
        df.insert(0, "x", r.x)
        df.insert(1, "replication", r.replication)
        df.insert(2, "seed", r.seed)
        df.insert(3, "run_key", r.key)
        df.insert(4, "reused", r.reused)
        frames.append(df)
    runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    rows = []
    if len(runs):
        for (x, cls), g in runs.groupby(["x", "name"], sort=True):
            for m in CURVE_METRICS:
                vals = g[m].to_numpy(np.float64)
                mean, lo, hi = mean_ci(vals, confidence)
                rows.append(
                    {
                        "x": x,
                        "class": cls,
                        "metric": m,
                        "mean": mean,
                        "ci_low": lo,
                        "ci_high": hi,
                        "n": int((~np.isnan(vals)).sum()),
                    }
                )
    table = pd.DataFrame(rows, columns=["x", "class", "metric", "mean", "ci_low", "ci_high", "n"])
    return table, runs


def run_curve(
    file: str | Path,
    what: str,
    start: str | float,
    stop: str | float,
    steps: int,
    *,
    replications: int = 3,
    confidence: float = 0.95,
    cache_dir: str | Path | None = None,
    duration_ps: int | None = None,
    on_run: Callable[[RunRecord], None] | None = None,
    executor: Executor | None = None,
    on_progress: ProgressFn | None = None,
) -> CurveResult:
    """Simulate ``replications`` runs at each of ``steps`` values of ``what``.

    Every run goes to ``executor`` at once (default: one after the other in this process);
    the curve is the same whatever the executor. ``on_progress`` follows the simulations
    (:class:`~vidnet_sim.execute.JobProgress`).

    Raises :class:`~vidnet_sim.errors.ScenarioError` for an invalid scenario and
    :class:`~vidnet_sim.analysis.vary.AnalysisInputError` for a bad variable or range,
    before anything runs. Runs that fail are listed in ``failures`` (a partial curve).
    """
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise AnalysisInputError(
            f"--replications: expected 1 to {MAX_REPLICATIONS}, got {replications}"
        )
    if not 0 < confidence < 1:
        raise AnalysisInputError(f"--confidence: must be in (0, 1), got {confidence}")
    data, base_dir = load_raw(file)
    scenario = parse_scenario_dict(copy.deepcopy(data), base_dir=base_dir)
    if not scenario.has_traffic:
        raise AnalysisInputError(
            f"{file}: the scenario has no traffic (no [[cameras]], [[sources]] or "
            "[[services]]): a curve of its latency and loss has nothing to show"
        )
    targets = {
        c: cols
        for c, cols in ((c, sla_columns(t)) for c, t in sla_targets(scenario).items())
        if cols
    }
    vary = make_vary(data, what)
    if cache_dir is not None:
        check_out_folder(cache_dir, "curve")
    values = vary_values(vary, vary.parse(start, "--from"), vary.parse(stop, "--to"), steps)
    check_value(vary, data, base_dir, values[0], "--from")
    check_value(vary, data, base_dir, values[-1], "--to")
    cache = RunCache.for_job(
        data, base_dir, vary, cache_dir, duration_ps, on_run, executor, on_progress
    )
    cache.run_many([(x, k) for x in values for k in range(replications)])
    table, runs = aggregate(cache.records, confidence)
    failures = [
        {"x": r.x, "replication": r.replication, "seed": r.seed, "error": r.error}
        for r in cache.records
        if r.error is not None
    ]
    return CurveResult(
        vary,
        values,
        table,
        curve_estimates(cache, values),
        runs,
        failures,
        confidence,
        targets,
        cache.warnings() + _unmeasured_warnings(cache, values, targets),
        cache.run_length(),
    )


def _unmeasured_warnings(
    cache: RunCache, values: list[float], targets: dict[str, dict[str, float]]
) -> list[str]:
    """A warning per class with targets that sent no packet in the measured time of any
    run at some values (its figures there are empty, its targets judged on nothing)."""
    silent: dict[str, list[float]] = {}
    for x in values:
        for cls in unmeasured_classes([r for r in cache.records if r.x == x], targets):
            silent.setdefault(cls, []).append(x)
    return [
        f"class {cls!r} sent no packet in the measured time of any run at "
        f"{cache.vary.at(', '.join(cache.vary.label(x) for x in xs))} "
        f"({cache.run_length()}): its figures there are empty and its SLA is not judged; "
        "run longer, or shorten the warm-up"
        for cls, xs in silent.items()
    ]


def _cell(vary: Vary, x: float, mean: float, high: float, n: int, scale: float, metric: str) -> str:
    """One value of a console line: ``2: 12.3 ±0.41`` (the half-width of the interval), or
    what the value rests on when its interval has no width (``2: 0 (all 3 runs
    equal)``, :func:`~vidnet_sim.results.metric_words.interval_words`)."""
    rests = interval_words(mean, high, n, metric)
    spread = f" ({rests})" if rests else f" ±{(high - mean) / scale:.2g}"
    if math.isnan(mean):
        return f"{vary.label(x)}: no value"
    return f"{vary.label(x)}: {mean / scale:.4g}" + spread


def console_lines(result: CurveResult) -> list[str]:
    """The curve on the console, a line per class and metric: the metrics each class's SLA
    targets are on, each in words with its unit and beside its target (a video class's
    frame latency, not its packet p99); a class without targets shows its 99th percentile
    packet latency and its loss. Each value is the mean with the half-width of its
    interval."""
    t = result.table
    out = []
    for cls in sorted(set(t["class"])):
        targets = result.targets.get(cls, {})
        for metric in targets or _UNTARGETED:
            g = t[(t["class"] == cls) & (t["metric"] == metric)].sort_values("x")
            scale = 1e9 if metric.endswith("_ps") else 1.0
            target = (
                f"target {show_value(metric, targets[metric])}"
                if metric in targets
                else "no target"
            )
            cells = ", ".join(
                _cell(result.vary, x, m, h, int(n), scale, metric)
                for x, m, h, n in zip(g["x"], g["mean"], g["ci_high"], g["n"], strict=True)
            )
            out.append(f"{cls} {metric_label(metric)} ({target}): {cells or 'no value'}")
    return out


def write_curve(
    result: CurveResult, out_dir: str | Path, *, plot: bool = True, title: str = ""
) -> list[Path]:
    """Write the curve's Parquet tables, manifest and (``plot``) PNG, titled ``title``;
    returns the files. (``vidnet-sim curve`` gives it its report's title: the report then
    embeds the same figure, drawn once.)"""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = result.table.copy()
    table.insert(0, "vary", result.vary.what)
    table["partial"] = result.partial
    est = result.estimates.copy()
    est.insert(0, "vary", result.vary.what)
    files = [
        out / "curve.parquet",
        out / "estimates.parquet",
        out / "runs.parquet",
        out / "manifest.json",
    ]
    write_file(files[0], parquet_bytes(table))
    write_file(files[1], parquet_bytes(est))
    write_file(files[2], parquet_bytes(result.runs))
    manifest = {
        "vary": result.vary.what,
        "values": result.values,
        "confidence": result.confidence,
        "partial": result.partial,
        "failures": result.failures,
        "runs": result.n_runs,
        "reused_runs": result.n_reused,
        "warnings": result.warnings,
    }
    write_file(files[3], json_text(manifest))
    if plot and len(result.table):
        files.append(plot_curve(result, out / "curve.png", targets=result.targets, title=title))
    return files


#: Latency series drawn per class (summary columns), each labelled ``simulated`` and the
#: metric in words (:func:`_simulated`).
_LATENCY_SERIES = ("latency_p50_ps", "latency_p99_ps", "latency_max_ps", "frame_latency_p99_ps")
#: Loss series drawn per class.
_LOSS_SERIES = ("loss", "frame_loss")


def _simulated(metric: str) -> str:
    """A simulated series' label: ``simulated 99th percentile packet latency``."""
    return f"simulated {metric_words(metric)}"


#: Why a class has no finite network-calculus bound.
NO_NC_BOUND = (
    "no finite network-calculus bound: a Poisson source, or token-bucket rates (VBR "
    "cameras at their 99.9 % frame size) above a link's rate"
)


def x_axis_label(vary: Vary) -> str:
    """The x axis of a curve, with its unit: ``cameras``, ``× nominal bitrate``, ..."""
    if vary.kind == "cameras":
        return "cameras (total)"
    if vary.kind == "bitrate":
        return "× nominal bitrate"
    if vary.kind == "fixed":
        return "year" if vary.what == "year" else vary.what
    units = {"rate": "bit/s", "size": "bytes", "time": "ps", "length": "m"}
    unit = units.get(vary.kind)
    return f"{vary.what} ({unit})" if unit else vary.what


def _series(t: pd.DataFrame, cls: str, metric: str, label: str, scale: float) -> Series | None:
    d = t[(t["class"] == cls) & (t["metric"] == metric)].sort_values("x")
    if not d["mean"].notna().any():
        return None
    return Series(
        label,
        [float(v) for v in d["x"]],
        [float(v) / scale for v in d["mean"]],
        [float(v) / scale for v in d["ci_low"]],
        [float(v) / scale for v in d["ci_high"]],
    )


def _limit_marks(est: pd.DataFrame) -> tuple[list[VerticalMark], list[str]]:
    """The last value the 60 % rule, the Gaussian estimate and any other whole-network
    estimate (rows with ``class`` "") accept, as vertical marks, and a note for each that
    accepts none or was not computed."""
    marks: list[VerticalMark] = []
    notes: list[str] = []
    whole = sorted(set(est.loc[est["class"] == "", "method"]))
    limit_methods = [METHOD_SUM_OF_MEANS, METHOD_GAUSSIAN]
    limit_methods += [m for m in whole if m not in limit_methods]  # e.g. a capacity's
    for method in limit_methods:
        e = est[(est["method"] == method) & (est["class"] == "")]
        ok = e[e["ok"].astype(bool)]
        if len(ok):
            name = method_words(method)
            marks.append(VerticalMark(f"{name}: last value accepted", float(ok["x"].max())))
        elif len(e):
            notes.append(f"{method_words(method)}: accepts none of the values tried")
        else:
            notes.append(
                f"{method_words(method)}: not computed (the scenario could not be estimated)"
            )
    return marks, notes


def _add_nc_bound(panel: Panel, est: pd.DataFrame, cls: str, x_label: str) -> None:
    """Add the class's network-calculus bound to its latency panel as a dashed series (in
    ms), or a note why there is none (or where it is not finite)."""
    nc = est[(est["method"] == METHOD_NC) & (est["class"] == cls)].sort_values("x")
    finite = np.isfinite(nc["value"].to_numpy(np.float64))
    if finite.any():
        panel.series.append(
            Series(
                "network-calculus bound",
                [float(v) for v in nc["x"]],
                [
                    float(v) / 1e9 if f else math.nan
                    for v, f in zip(nc["value"], finite, strict=True)
                ],
                style="bound",
            )
        )
        if not finite.all():
            gaps = ", ".join(f"{x:g}" for x in nc["x"][~finite])
            panel.notes.append(f"no finite network-calculus bound at {x_label} = {gaps}")
        # what the bound assumes (e.g. VBR frames capped at a quantile: not a hard bound),
        # at the largest value (the same kinds of sources at each, in larger numbers)
        said = [str(n) for n in nc.get("note", ()) if isinstance(n, str) and n]
        if said:
            panel.notes.append(f"network-calculus bound: {said[-1]}")
    elif len(nc):
        panel.notes.append(NO_NC_BOUND)
    elif (est["class"] != "").any():
        panel.notes.append("network-calculus bound not computed for this class")


def _add_targets(latency: Panel, loss: Panel, targets: dict[str, float]) -> None:
    """Add a class's SLA targets: latency ones (``*_ps``, drawn in ms) to its latency panel,
    the others (loss, frame loss, …) to its loss panel. Each is named packet or frame, as
    the series are ("simulated packet loss", "simulated frame loss"): a frame loss drawn above a
    packet-loss target does not miss it."""
    for metric, target in targets.items():
        name = metric_words(metric)
        if metric.endswith("_ps"):
            latency.targets.append(Target(f"target {name} ({target / 1e9:g} ms)", target / 1e9))
        else:
            loss.targets.append(Target(f"target {name} ({target:g})", target))


def _class_panels(
    t: pd.DataFrame,
    est: pd.DataFrame,
    cls: str,
    marks: list[VerticalMark],
    notes: list[str],
    targets: dict[str, float],
    x_label: str,
) -> tuple[Panel, Panel]:
    """One class's latency panel (simulated percentiles, network-calculus bound, latency
    targets) and loss panel (simulated packet and frame loss, loss targets)."""
    panel = Panel(f"{cls}: latency", "latency_ms", marks=list(marks), notes=list(notes))
    targeted = [m for m in targets if m.endswith("_ps") and m not in _LATENCY_SERIES]
    for metric in [*_LATENCY_SERIES, *targeted]:
        s = _series(t, cls, metric, _simulated(metric), 1e9)
        if s is not None:
            panel.series.append(s)
    _add_nc_bound(panel, est, cls, x_label)
    lpanel = Panel(f"{cls}: loss", "loss", marks=list(marks))
    for metric in _LOSS_SERIES:
        s = _series(t, cls, metric, _simulated(metric), 1.0)
        if s is not None:
            lpanel.series.append(s)
    _add_targets(panel, lpanel, targets)
    return panel, lpanel


def _arrange(latency: list[Panel], loss: list[Panel]) -> tuple[list[Panel], int]:
    """The panels in grid order and the number of columns: one class side by side; more,
    up to four per row, a row of latencies then a row of their losses."""
    n = len(latency)
    if n == 1:
        return [latency[0], loss[0]], 2
    columns = min(n, 4)
    panels: list[Panel] = []
    for k in range(0, n, columns):  # a row of latencies, then their losses
        panels += latency[k : k + columns] + loss[k : k + columns]
    return panels, columns


def curve_grid(
    result: CurveResult,
    *,
    targets: dict[str, dict[str, float]] | None = None,
    limits: bool = True,
    title: str = "",
    x_label: str | None = None,
) -> PanelGrid:
    """The curve as report panels: per class one latency panel (simulated percentiles with
    their intervals, the network-calculus bound or a note why there is none, the latency
    targets) and one loss panel (loss target); with ``limits``, the last value the 60 % rule,
    the Gaussian estimate and any other whole-network estimate (rows with ``class`` "")
    accept as vertical lines (or a note when they accept none)."""
    t = result.table
    classes = sorted(set(t["class"]))
    est = result.estimates
    x_label = x_label or x_axis_label(result.vary)
    marks, notes = _limit_marks(est) if limits else ([], [])
    latency, loss = [], []
    for cls in classes:
        panel, lpanel = _class_panels(
            t, est, cls, marks, notes, (targets or {}).get(cls, {}), x_label
        )
        latency.append(panel)
        loss.append(lpanel)
    panels, columns = _arrange(latency, loss)
    return PanelGrid(
        ("PARTIAL: some runs failed (see manifest.json)" if result.partial else title),
        x_label,
        panels,
        columns,
        result.vary.integer or result.vary.kind == "fixed",
        "Simulated means with their "
        f"{percent_words(result.confidence)} confidence intervals (clipped to what is "
        "possible: latency "
        "≥ 0, loss in [0, 1]); SLA targets dash-dot red; worst-case bounds dashed.",
    )


def plot_curve(
    result: CurveResult,
    path: str | Path,
    *,
    targets: dict[str, dict[str, float]] | None = None,
    limits: bool = True,
    title: str | None = None,
    x_label: str | None = None,
) -> Path:
    """Draw :func:`curve_grid` into the PNG ``path``; returns it."""
    out = Path(path)
    grid = curve_grid(result, targets=targets, limits=limits, title=title or "", x_label=x_label)
    return write_file(out, draw_panels(grid))
