"""Latency and loss against load: replicated runs, confidence intervals, estimates, a plot.

:func:`run_curve` varies one thing (:mod:`vidnet_sim.analysis.vary`) over a range, runs
independent replications of every value (reusing stored runs), and returns per class and
metric the mean and its Student-t confidence interval, beside the fast estimates
(:mod:`vidnet_sim.analysis.estimates`) at the same values. :func:`write_curve` stores
``curve.parquet``, ``estimates.parquet``, ``manifest.json`` and ``curve.png``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidnet_sim.analysis.estimates import METHOD_GAUSSIAN, METHOD_NC, METHOD_SUM_OF_MEANS, estimate
from vidnet_sim.analysis.runs import RunCache, RunRecord, mean_ci
from vidnet_sim.analysis.vary import AnalysisInputError, Vary, load_raw, make_vary, vary_values
from vidnet_sim.errors import ScenarioError
from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario import parse_scenario_dict

__all__ = [
    "CURVE_METRICS",
    "CurveResult",
    "curve_estimates",
    "plot_curve",
    "run_curve",
    "write_curve",
]

#: Summary columns a curve reports (per traffic class).
CURVE_METRICS = (
    "latency_p50_ps",
    "latency_p95_ps",
    "latency_p99_ps",
    "latency_p999_ps",
    "latency_max_ps",
    "frame_latency_p50_ps",
    "frame_latency_p99_ps",
    "frame_latency_max_ps",
    "loss",
    "frame_loss",
    "throughput_bps",
)


@dataclass
class CurveResult:
    """A curve: ``table`` (x, class, metric, mean, ci_low, ci_high, n) and ``estimates``
    (x, method, class, value, ok); ``partial`` when some runs failed (``failures``)."""

    vary: Vary
    values: list[float]
    table: pd.DataFrame
    estimates: pd.DataFrame
    runs: pd.DataFrame
    failures: list[dict[str, Any]] = field(default_factory=list)
    confidence: float = 0.95

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
            sc = parse_scenario_dict(cache.scenario_data(x, 0), base_dir=cache.base_dir)
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
                }
            )
    return pd.DataFrame(rows, columns=["x", "method", "class", "value", "ok", "link"])


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
) -> CurveResult:
    """Simulate ``replications`` runs at each of ``steps`` values of ``what``.

    Raises :class:`~vidnet_sim.errors.ScenarioError` for an invalid scenario and
    :class:`~vidnet_sim.analysis.vary.AnalysisInputError` for a bad variable or range,
    before anything runs. Runs that fail are listed in ``failures`` (a partial curve).
    """
    if replications < 1:
        raise AnalysisInputError(f"--replications: must be at least 1, got {replications}")
    if not 0 < confidence < 1:
        raise AnalysisInputError(f"--confidence: must be in (0, 1), got {confidence}")
    data, base_dir = load_raw(file)
    vary = make_vary(data, what)
    values = vary_values(vary, vary.parse(start), vary.parse(stop), steps)
    cache = RunCache(
        data, base_dir, vary, Path(cache_dir) if cache_dir else None, duration_ps, on_run
    )
    for x in values:
        for k in range(replications):
            cache.run(x, k)
    table, runs = aggregate(cache.records, confidence)
    failures = [
        {"x": r.x, "replication": r.replication, "seed": r.seed, "error": r.error}
        for r in cache.records
        if r.error is not None
    ]
    return CurveResult(
        vary, values, table, curve_estimates(cache, values), runs, failures, confidence
    )


def write_curve(result: CurveResult, out_dir: str | Path, *, plot: bool = True) -> list[Path]:
    """Write the curve's Parquet tables, manifest and (``plot``) PNG; returns the files."""
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
    table.to_parquet(files[0], index=False)
    est.to_parquet(files[1], index=False)
    result.runs.to_parquet(files[2], index=False)
    manifest = {
        "vary": result.vary.what,
        "values": result.values,
        "confidence": result.confidence,
        "partial": result.partial,
        "failures": result.failures,
        "runs": result.n_runs,
        "reused_runs": result.n_reused,
    }
    files[3].write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    if plot and len(result.table):
        files.append(plot_curve(result, out / "curve.png"))
    return files


def plot_curve(
    result: CurveResult,
    path: str | Path,
    *,
    targets: dict[str, dict[str, float]] | None = None,
    limits: bool = True,
    title: str | None = None,
) -> Path:
    """One row per traffic class: packet latency percentiles (with confidence intervals) and
    the network-calculus bound against the variable, the 60 % and Gaussian capacity limits
    as vertical lines (``limits``); loss on the right. ``targets`` (class → summary column →
    target, as :func:`~vidnet_sim.analysis.capacity.sla_columns`) draws the packet-latency
    and loss targets as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = result.table
    classes = sorted(set(t["class"]))
    fig, axes = plt.subplots(len(classes), 2, figsize=(12, 4 * len(classes)), squeeze=False)
    est = result.estimates
    lines: dict[str, tuple[float, str]] = {}
    for method, style in ((METHOD_SUM_OF_MEANS, "tab:orange"), (METHOD_GAUSSIAN, "tab:purple")):
        e = est[(est["method"] == method) & est["ok"]]
        if limits and len(e):
            lines[method] = (float(e["x"].max()), style)
    for row, cls in enumerate(classes):
        ax, ax_loss = axes[row]
        for metric, label in (
            ("latency_p50_ps", "p50"),
            ("latency_p99_ps", "p99"),
            ("latency_max_ps", "max"),
            ("frame_latency_p99_ps", "frame p99"),
        ):
            d = t[(t["class"] == cls) & (t["metric"] == metric)].sort_values("x")
            if d["mean"].notna().any():
                err = np.vstack([d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]]) / 1e9
                ax.errorbar(
                    d["x"],
                    d["mean"] / 1e9,
                    yerr=np.nan_to_num(err),
                    capsize=3,
                    marker="o",
                    label=f"simulated {label}",
                )
        nc = est[(est["method"] == METHOD_NC) & (est["class"] == cls)].sort_values("x")
        if np.isfinite(nc["value"]).any():  # no bound (inf): a gap in the line
            bound = nc["value"].where(np.isfinite(nc["value"])) / 1e9
            ax.plot(nc["x"], bound, "k--", marker=".", label="network-calculus bound")
        for method, (x, colour) in lines.items():
            ax.axvline(x, color=colour, linestyle=":", label=f"{method}: last OK")
            ax_loss.axvline(x, color=colour, linestyle=":")
        for metric, target in (targets or {}).get(cls, {}).items():
            if metric.startswith("latency_") or metric.startswith("frame_latency_"):
                ax.axhline(
                    target / 1e9,
                    color="tab:red",
                    linestyle="-.",
                    linewidth=1,
                    label=f"target {metric.removesuffix('_ps')}",
                )
            elif metric == "loss":
                ax_loss.axhline(
                    target, color="tab:red", linestyle="-.", linewidth=1, label="target loss"
                )
                ax_loss.legend(fontsize=7)
        ax.set_yscale("log")
        ax.set_xlabel(result.vary.what)
        ax.set_ylabel("packet latency (ms)")
        ax.set_title(f"class {cls}")
        ax.legend(fontsize=7)
        d = t[(t["class"] == cls) & (t["metric"] == "loss")].sort_values("x")
        # a loss is never negative: the interval is drawn from 0 at the lowest
        err = np.vstack([d["mean"] - d["ci_low"].clip(lower=0.0), d["ci_high"] - d["mean"]])
        ax_loss.errorbar(d["x"], d["mean"], yerr=np.nan_to_num(err), capsize=3, marker="o")
        ax_loss.set_xlabel(result.vary.what)
        if result.vary.integer:
            from matplotlib.ticker import MaxNLocator

            for a in (ax, ax_loss):
                a.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_loss.set_ylabel("packet loss")
        ax_loss.set_title(f"class {cls}: loss")
    if result.partial:
        fig.suptitle("PARTIAL: some runs failed (see manifest.json)", color="red")
    elif title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
