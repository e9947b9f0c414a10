"""Report data (:mod:`vidnet_sim.analysis.report_data`) for a curve and a capacity search,
and the network drawing's data of a scenario.

The first page says, in plain words, what the analysis found (the recommendation), how close
the binding target is and whether a single fibre cut is survived (the risk), and what would
change the answer. The sizing's report data is built in :mod:`vidnet_sim.analysis.report`.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidnet_sim.analysis.capacity import CapacityResult, show_value
from vidnet_sim.analysis.cost import link_lengths, scenario_links
from vidnet_sim.analysis.curve import CurveResult, curve_grid, x_axis_label
from vidnet_sim.analysis.drawing import network_view
from vidnet_sim.analysis.estimates import method_meaning, method_words
from vidnet_sim.analysis.fibre_cut import fibre_cut_text
from vidnet_sim.analysis.report_data import NetworkView, PanelGrid, ReportData, TableView
from vidnet_sim.analysis.vary import AnalysisInputError, Vary, load_raw
from vidnet_sim.errors import ScenarioError
from vidnet_sim.results.metric_words import glossary_rows, metric_words
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.units import percent_words

__all__ = [
    "capacity_report",
    "curve_report",
    "glossary_table",
    "scenario_link_of",
    "scenario_view",
    "warning_lines",
]


def scenario_link_of(data: dict[str, Any]) -> dict[str, str]:
    """Directed link name (as in results) → scenario link id."""
    return {d: lid for lid, dirs in scenario_links(data) for d in dirs}


def scenario_view(
    data: dict[str, Any],
    base_dir: Path,
    title: str,
    *,
    rates: dict[str, float] | None = None,
    loads_bps: dict[str, float] | None = None,
    utilisation: dict[str, float] | None = None,
    binding: str | None = None,
    changed: dict[str, str] | None = None,
    caption: str = "",
) -> tuple[NetworkView, str]:
    """The drawing's data of raw scenario ``data`` and the single-fibre-cut sentence.

    Per scenario link: ``rates`` (default the scenario's), mean ``loads_bps`` and
    ``utilisation`` (busier direction; a load without ``loads_bps`` is the utilisation times
    the rate; a link with neither is drawn with its tier and length only). Nothing is
    simulated or estimated. Raises :class:`~vidnet_sim.errors.ScenarioError` for an invalid
    scenario."""
    sc = parse_scenario_dict(copy.deepcopy(data), base_dir=base_dir)
    if loads_bps is None and utilisation is not None:
        rate_of = {str(link.id): float(link.rate) for link in sc.links}
        rate_of.update(rates or {})
        loads_bps = {k: u * rate_of[k] for k, u in utilisation.items() if k in rate_of}
    view = network_view(
        sc,
        title,
        rates=rates,
        lengths_m=link_lengths(sc),
        loads_bps=loads_bps,
        utilisation=utilisation,
        binding=binding,
        changed=changed,
        caption=caption,
    )
    return view, fibre_cut_text(sc)


def _passes(
    t: pd.DataFrame, targets: dict[str, dict[str, float]], x: float
) -> list[dict[str, Any]]:
    """The targets judged at ``x``: class, metric, mean, high (the upper end of its 95 %
    interval, or the mean with one replication), target, ok (high at most the target)."""
    out = []
    at = t[t["x"] == x]
    for cls, cols in targets.items():
        for metric, target in cols.items():
            row = at[(at["class"] == cls) & (at["metric"] == metric)]
            if not len(row):
                continue
            mean, high = float(row["mean"].iloc[0]), float(row["ci_high"].iloc[0])
            judged = mean if math.isnan(high) else high
            out.append(
                {
                    "class": cls,
                    "metric": metric,
                    "mean": mean,
                    "high": judged,
                    "target": target,
                    "ok": judged <= target,
                    "margin": 1 - mean / target if target > 0 else math.nan,
                }
            )
    return out


def _run_length(text: str) -> str:
    """A method's sentence on how long each run simulates (empty when unknown)."""
    return f" {text[0].upper()}{text[1:]}." if text else ""


def glossary_table(metrics: list[str]) -> TableView:
    """The report's glossary: each metric it names in words (``metrics``, each once), with
    its column in the Parquet tables and key in the JSON documents, its unit and what it
    measures."""
    return TableView(
        "Glossary",
        ["in this report", "column (Parquet, JSON)", "unit", "what it measures"],
        glossary_rows(metrics),
        note="The Parquet tables and the JSON documents keep the column names, in their stored "
        "units (times in picoseconds, rates in bit/s, losses as fractions).",
    )


def warning_lines(warnings: list[str]) -> list[str]:
    """The risk box's lines for a job's warnings (``Warning: ...``, one sentence each): what
    its runs leave out of the scenario, or what may change its verdict."""
    return [f"Warning: {w}" + ("" if w.endswith(".") else ".") for w in warnings]


def _shortfall(c: dict[str, Any]) -> str:
    """A target not shown to hold (a check of :func:`_passes`): its mean, and when the mean
    meets the target, how far the 95 % interval reaches (too few replications to tell)."""
    text = f"{c['class']} {metric_words(c['metric'])} {show_value(c['metric'], c['mean'])}"
    if c["mean"] <= c["target"]:
        text += f" (its interval reaches {show_value(c['metric'], c['high'])}: uncertain)"
    return text


def _not_held(vary: Vary, x: float, checks: list[dict[str, Any]]) -> str:
    """Why every SLA is not shown to hold at ``x``, a value below one where it holds."""
    bad = [c for c in checks if not c["ok"]]
    missed = [c for c in bad if c["mean"] > c["target"]]
    if missed:
        c = missed[0]
        return (
            f"At {vary.at(vary.label(x))} a target is missed: {_shortfall(c)} against "
            f"{show_value(c['metric'], c['target'])}."
        )
    c = bad[0]
    return (
        f"At {vary.at(vary.label(x))} every mean meets its target but not every 95 % "
        f"interval: {_shortfall(c)} against {show_value(c['metric'], c['target'])}; more "
        "replications (--replications) would tell."
    )


def curve_report(
    result: CurveResult, file: str | Path, targets: dict[str, dict[str, float]]
) -> ReportData:
    """The report data of a curve: which values tried meet every SLA, the closest target,
    the fast estimates' limits, the network drawn at the scenario's own value."""
    vary = result.vary
    values = sorted(set(result.table["x"])) if len(result.table) else []
    judged = {x: _passes(result.table, targets, x) for x in values}
    ok_values = [x for x in values if judged[x] and all(c["ok"] for c in judged[x])]
    rec: list[str] = []
    risk: list[str] = []
    changes: list[str] = []
    if not targets:
        headline = f"{len(values)} values of {vary.what} simulated (the scenario sets no SLA)"
        rec.append("The scenario has no SLA targets ([sla.<class>]): nothing is judged.")
    elif not ok_values:
        headline = f"No value of {vary.what} tried meets every SLA"
        rec.append(
            f"Every value tried ({', '.join(vary.label(x) for x in values)}) misses a target."
        )
    else:
        best = ok_values[-1]
        below = [x for x in values if x < best and x not in ok_values]
        headline = (
            f"Every SLA holds up to {vary.at(vary.label(best))} (of the values tried)"
            if not below
            else f"Every SLA holds at {vary.at(vary.label(best))}, not at every value "
            "tried below it"
        )
        rec.append(
            f"Of {len(values)} values of {vary.what} from {vary.at(vary.label(values[0]))} "
            f"to {vary.at(vary.label(values[-1]))}, every SLA target holds at "
            + vary.at(", ".join(vary.label(x) for x in ok_values))
            + "."
        )
        rec += [_not_held(vary, x, judged[x]) for x in below]
        close = min(judged[best], key=lambda c: c["margin"])
        risk.append(
            f"Binding target at {vary.at(vary.label(best))}: class **{close['class']}** "
            f"{metric_words(close['metric'])} {show_value(close['metric'], close['mean'])} against "
            f"{show_value(close['metric'], close['target'])} "
            f"(margin {percent_words(close['margin'])})."
        )
        later = [x for x in values if x > best]
        if later:
            bad = sorted(
                (c for c in judged[later[0]] if not c["ok"]), key=lambda c: c["mean"] <= c["target"]
            )  # a target missed before one only uncertain
            fail = bad[0] if bad else None
            if fail is not None:
                reach = (
                    f"reaches {show_value(fail['metric'], fail['mean'])}"
                    if fail["mean"] > fail["target"]
                    else f"is {show_value(fail['metric'], fail['mean'])} but its 95 % interval "
                    f"reaches {show_value(fail['metric'], fail['high'])}"
                )
                changes.append(
                    f"At {vary.at(vary.label(later[0]))}, class {fail['class']} "
                    f"{metric_words(fail['metric'])} {reach} "
                    f"(target {show_value(fail['metric'], fail['target'])}): the answer lies "
                    f"between {vary.label(best)} and {vary.at(vary.label(later[0]))}; "
                    "`vidnet-sim capacity` finds it."
                )
    est = result.estimates
    for method in sorted(set(est["method"])) if len(est) else []:
        if method.startswith("network"):
            continue
        ok = est[(est["method"] == method) & est["ok"].astype(bool)]
        changes.append(
            f"The {method_words(method)} estimate ({method_meaning(method)}) accepts "
            + (
                f"up to {vary.at(vary.label(float(ok['x'].max())))}."
                if len(ok)
                else "none of the values."
            )
        )
    data, base_dir = load_raw(file)
    network = None
    try:
        network, cut = scenario_view(
            data,
            base_dir,
            f"The network as in {Path(file).name}",
            caption="Cameras gathered per switch; links coloured by rate tier and labelled "
            "with tier and length (a capacity search or a sizing also gives their loads).",
        )
        risk.append(cut)
    except ScenarioError:
        risk.append("Single fibre cut: not analysed (the scenario could not be read again).")
    risk += warning_lines(result.warnings)
    rows = [
        [
            vary.label(x),
            "yes" if judged[x] and all(c["ok"] for c in judged[x]) else "**no**",
            "; ".join(
                f"{_shortfall(c)} against {show_value(c['metric'], c['target'])}"
                for c in judged[x]
                if not c["ok"]
            )
            or "—",
        ]
        for x in values
    ]
    return ReportData(
        kind="curve",
        title=f"Latency and loss against {vary.what}: {Path(file).stem}",
        headline=headline,
        recommendation=rec,
        risk=risk,
        changes=changes or ["—"],
        partial=(
            f"{len(result.failures)} run(s) failed; the curve misses them" if result.partial else ""
        ),
        network=network,
        plots=curve_grid(result, targets=targets, title=f"{Path(file).stem}: {vary.what}"),
        tables=[
            TableView(
                "SLA verdict per value", [x_axis_label(vary), "every SLA holds", "misses"], rows
            ),
            glossary_table([m for cols in targets.values() for m in cols]),
        ]
        if targets
        else [],
        method=[
            f"{int(result.table['n'].max()) if len(result.table) else 0} replications per value "
            f"at most; a target holds when the upper end of its {percent_words(result.confidence)} "
            "confidence interval (the mean with a single replication) is at most the target."
            + _run_length(result.run_length)
        ],
        files=[
            "report.json",
            "curve.parquet",
            "estimates.parquet",
            "runs.parquet",
            "manifest.json",
            "curve.png",
            "runs/",
        ],
    )


def _capacity_grid(result: CapacityResult, confidence: float) -> PanelGrid | None:
    """The judged values as curve panels: each target's mean and interval against the
    variable, the targets, and the value each fast estimate accepts."""
    rows = [
        {**c, "x": v.x, "n": v.replications}
        for v in result.verdicts
        for c in v.checks[["class", "metric", "mean", "ci_low", "ci_high"]].to_dict("records")
    ]
    if not rows:
        return None
    targets: dict[str, dict[str, float]] = {}
    for v in result.verdicts:
        for c in v.checks.to_dict("records"):
            targets.setdefault(str(c["class"]), {})[str(c["metric"])] = float(c["target"])
    table = pd.DataFrame(rows)
    table = table[np.isfinite(table["mean"].to_numpy(np.float64))]  # nothing delivered: inf
    est = pd.DataFrame(
        [
            {
                "x": x if x is not None else math.nan,
                "method": m,
                "class": "",
                "value": math.nan,
                "ok": x is not None,
                "link": "",
            }
            for m, x in result.estimates.items()
        ],
        columns=["x", "method", "class", "value", "ok", "link"],
    )
    xs = sorted({v.x for v in result.verdicts})
    curve = CurveResult(result.vary, xs, table, est, pd.DataFrame(), result.failures, confidence)
    return curve_grid(curve, targets=targets, title=f"every value judged ({result.vary.what})")


def capacity_report(
    result: CapacityResult, file: str | Path, confidence: float = 0.95
) -> ReportData:
    """The report data of a capacity search: the capacity, the binding target and link, the
    network drawn at the capacity, every judged value's targets (``confidence``: of their
    intervals)."""
    vary = result.vary
    b = result.binding
    data, base_dir = load_raw(file)
    link_of = scenario_link_of(data)
    rec: list[str] = []
    risk: list[str] = []
    changes: list[str] = []
    if result.capacity is None:
        headline = f"No value of {vary.what} meets every SLA"
    elif result.first_fail is None:
        largest = "tried" if result.limit is None else "the scenario accepts"
        headline = (
            f"Every SLA holds up to {vary.at(vary.label(result.capacity))} (the largest {largest})"
        )
    else:
        headline = f"Capacity: {vary.at(vary.label(result.capacity))}"
    if result.capacity is not None:
        rec.append(
            f"The network as designed meets every SLA target up to "
            f"**{vary.at(vary.label(result.capacity))}**"
            + (" (decided by the mean: uncertain)" if result.uncertain else "")
            + (
                f"; it fails at {vary.at(vary.label(result.first_fail))}."
                if result.first_fail is not None
                else "; no value tried failed (raise --max to find the limit)."
                if result.limit is None
                else f"; no value tried failed, up to the largest the scenario accepts (above "
                f"it: {result.limit})."
            )
        )
    if b:
        metric = str(b.get("metric"))
        risk.append(
            ("Binding target" if result.first_fail is not None else "Closest target")
            + f": class **{b.get('class')}** {metric_words(metric)} — "
            f"{show_value(metric, float(b['mean']))} against "
            f"{show_value(metric, float(b['target']))}"
            + (
                f" at {vary.at(vary.label(result.first_fail))}."
                if result.first_fail is not None
                else f" at {vary.at(vary.label(result.capacity or 0))}."
            )
        )
        if "link" in b:
            where = "first failing value" if result.first_fail is not None else "largest value"
            changes.append(
                f"The busiest link at the {where} is {link_of.get(str(b['link']), b['link'])} "
                f"({percent_words(float(b.get('link_utilisation', math.nan)))} utilised)"
                + (
                    f"; packets are dropped on {link_of.get(d, d)}"
                    if (d := str(b.get("dropping_link", "")))
                    else ""
                )
                + ": a faster tier there is the first upgrade to try."
            )
    if result.first_fail is not None:
        changes.append(f"The SLA fails from {vary.at(vary.label(result.first_fail))} on.")
    for method, x in result.estimates.items():
        changes.append(
            f"The {method_words(method)} estimate "
            f"({method_meaning(method, result.estimate_notes)}) says "
            + ("no value passes." if x is None else f"{vary.at(vary.label(x))}.")
        )
    network = None
    binding = link_of.get(str(b["link"])) if b.get("link") else None
    util: dict[str, float] = {}
    at_cap = [v for v in result.verdicts if v.x == result.capacity]
    if at_cap and len(at_cap[0].links):
        for d, u in zip(at_cap[0].links["link"], at_cap[0].links["utilisation"], strict=True):
            lid = link_of.get(str(d))
            if lid is not None and math.isfinite(float(u)):
                util[lid] = max(util.get(lid, 0.0), float(u))
    try:
        at = vary.apply(data, result.capacity) if result.capacity is not None else data
        network, cut = scenario_view(
            at,
            base_dir,
            "The network at "
            + (
                vary.at(vary.label(result.capacity))
                if result.capacity is not None
                else "its own value"
            ),
            utilisation=util or None,
            binding=binding,
            caption="Cameras gathered per switch; links coloured by rate tier and labelled "
            "with tier, length, load and headroom (1 − utilisation, simulated at the "
            "capacity, busier direction); the busiest link (red) is the most utilised at the first "
            "failing value (or at the largest value judged).",
        )
        risk.append(cut)
    except (ScenarioError, AnalysisInputError):
        risk.append("Single fibre cut: not analysed (the scenario could not be read again).")
    risk += warning_lines(result.warnings)
    t = result.table() if result.verdicts else pd.DataFrame()
    rows = [
        [
            vary.label(float(r["x"])),
            "yes" if r["ok"] else "**no**",
            str(int(r["replications"])),
            f"{r['class']} {metric_words(str(r['metric']))} "
            f"{show_value(str(r['metric']), float(r['mean']))}"
            f" / {show_value(str(r['metric']), float(r['target']))}",
            str(r["link"]),
        ]
        for r in t.to_dict("records")
    ]
    # every metric the report shows: each target's (the panels), the binding ones (the table)
    shown = [str(m) for v in result.verdicts for m in v.checks["metric"]]
    return ReportData(
        kind="capacity",
        title=f"Capacity: {Path(file).stem}",
        headline=headline,
        recommendation=rec or ["—"],
        risk=risk,
        changes=changes or ["—"],
        partial=(
            f"{len(result.failures)} run(s) failed; values were judged on the others"
            if result.partial
            else ""
        ),
        network=network,
        plots=_capacity_grid(result, confidence),
        tables=[
            TableView(
                "Every value judged",
                [
                    x_axis_label(vary),
                    "every SLA holds",
                    "replications",
                    "closest target (mean / target)",
                    "busiest link",
                ],
                rows,
            ),
            *([glossary_table(shown)] if shown else []),
        ],
        method=[
            "The largest value for which every SLA target holds, by bracketing and bisection; "
            "the verdict is assumed monotone in the variable (docs/analysis.md)."
            + _run_length(result.run_length)
        ],
        files=["report.json", "capacity.json", "capacity.parquet", "runs/"],
    )
