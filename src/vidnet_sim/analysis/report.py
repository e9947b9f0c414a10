"""The sizing report: tables, a plot and a Markdown document for a council.

:func:`write_sizing` writes, into one folder, what :func:`~vidnet_sim.analysis.sizing.
size_network` found: ``report.md`` (scenario summary, investment per year, upgrade schedule
per link, SLA margins, the 60 % rule beside the simulation, the latency plot, method and
assumptions), ``size.png`` (latency per class over the years, with the targets and the
network-calculus bound), ``size.parquet`` (year × link), ``size_years.parquet``,
``size_margins.parquet``, ``size_trials.parquet`` (every design considered) and ``size.json``.
A result that stopped early is labelled PARTIAL everywhere.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pandas as pd

from vidnet_sim.analysis.bill.price import CATEGORIES, Bill
from vidnet_sim.analysis.bill.tables import bill_table, recorders_table, switches_table
from vidnet_sim.analysis.capacity import show_value
from vidnet_sim.analysis.curve import CurveResult, aggregate, curve_grid
from vidnet_sim.analysis.drawing import show_rate
from vidnet_sim.analysis.estimates import METHOD_NC
from vidnet_sim.analysis.explain import years_label
from vidnet_sim.analysis.fibre_cut import NOT_SURVIVED
from vidnet_sim.analysis.html import write_report
from vidnet_sim.analysis.plots import draw_panels
from vidnet_sim.analysis.report_data import CostChart, PanelGrid, ReportData, TableView
from vidnet_sim.analysis.report_pages import glossary_table, scenario_view, warning_lines
from vidnet_sim.analysis.sizing import VENDOR_CEILING, SizingResult, YearSizing
from vidnet_sim.analysis.vary import AnalysisInputError, Vary, load_raw
from vidnet_sim.errors import ScenarioError
from vidnet_sim.results.files import parquet_bytes, write_file
from vidnet_sim.results.metric_words import interval_words, metric_words
from vidnet_sim.results.store import json_text
from vidnet_sim.scenario.growth import year_data
from vidnet_sim.scenario.units import percent_words

__all__ = [
    "bill_section",
    "markdown_table",
    "render_report",
    "show_tier",
    "sizing_report",
    "sizing_tables",
    "write_sizing",
    "years_label",
]


def show_tier(bps: float) -> str:
    """A rate tier as a council reads it: ``10G``, ``100M``."""
    return show_rate(bps)


def _plan_years(result: SizingResult) -> str:
    """The years of the growth plan: ``years 1–4``, or ``year 1`` (it read "years 1–1")."""
    return years_label(list(range(1, result.horizon + 1)))


def _money(x: float, currency: str) -> str:
    return f"{x:,.0f} {currency}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (numbers right-aligned by the caller's text)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def sizing_tables(result: SizingResult) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The report's tables as (header, rows) of text: ``years`` (investment per year),
    ``schedule`` (tier per link and year), ``margins`` (SLA margins) and ``estimates``
    (the last year's design beside the 60 % rule and the Gaussian estimate)."""
    cur = result.currency
    out: dict[str, tuple[list[str], list[list[str]]]] = {}
    rows = []
    total = vendor_total = 0.0
    for y in result.years:
        total += y.capex
        vendor_total += y.vendor_capex
        b = _binding_text(y)
        vok = (
            "—"
            if y.vendor_verdict is None
            else "yes"
            if y.vendor_verdict.ok
            else f"**no** ({_fail_text(y.vendor_verdict)})"
        ) + (f"; {y.vendor_note}" if y.vendor_note else "")
        rows.append(
            [
                str(y.year),
                f"{y.counts['cameras']:,}",
                _changes(y),
                _money(y.capex, cur),
                _money(total, cur),
                b,
                _money(vendor_total, cur),
                vok,
                (
                    "optimal"
                    if y.optimal
                    else "best found (no lower bound)"
                    if math.isnan(y.gap)
                    else f"best found (gap ≤ {_money(y.gap, cur)})"
                )
                + (f"; **rests on a transient** ({'; '.join(y.transient)})" if y.transient else ""),
            ]
        )
    out["years"] = (
        [
            "year",
            "cameras",
            "links built / upgraded",
            "links CAPEX",
            "links, cumulative",
            "binding SLA (margin)",
            "60 % rule: links, cumulative",
            "60 % rule meets SLA",
            "design",
        ],
        rows,
    )
    years = [y.year for y in result.years]
    links: list[str] = []
    for y in result.years:
        links += [lid for lid in y.rates if lid not in links]
    rows = []
    for lid in links:
        cells = []
        paid = 0.0
        length = 0.0
        for y in result.years:
            if lid not in y.rates:
                cells.append("—")
                continue
            length = y.lengths_m[lid]
            paid += y.link_capex[lid]
            prev, rate = y.previous[lid], y.rates[lid]
            if prev is None:
                cells.append(f"**{show_tier(rate)}** (built)")
            elif rate > prev:
                cells.append(f"**→ {show_tier(rate)}**")
            else:
                cells.append(show_tier(rate))
        rows.append([lid, f"{length / 1000:.3g} km", *cells, _money(paid, cur)])
    out["schedule"] = (["link", "length", *[f"year {y}" for y in years], "CAPEX"], rows)
    rows = []
    m = result.margins()
    runs = {y.year: y.verdict.replications for y in result.years}
    for r in m.to_dict("records"):
        metric = str(r["metric"])
        lo = max(float(r["ci_low"]), 0.0)  # every metric is ≥ 0; the t-interval may not be
        rests = interval_words(float(r["ci_low"]), float(r["ci_high"]), runs.get(r["year"]), metric)
        ci = (
            f" ({rests})"
            if rests
            else f" [{show_value(metric, lo)} – {show_value(metric, r['ci_high'])}]"
        )
        nc = r["nc_bound_ps"]
        rows.append(
            [
                str(r["year"]),
                str(r["class"]),
                metric_words(metric),
                show_value(metric, r["target"]),
                show_value(metric, r["mean"]) + ci + _runs_as_long(r["duration_factor"]),
                f"{percent_words(r['margin'])}",
                "—" if math.isnan(nc) else "∞" if math.isinf(nc) else show_value(metric, nc),
            ]
        )
    out["margins"] = (
        [
            "year",
            "class",
            "metric",
            "target",
            "simulated (mean [CI])",
            "margin",
            "network-calculus bound",
        ],
        rows,
    )
    rows = []
    if result.years:
        last = result.years[-1]
        tiers = result.settings["tiers_bps"]
        for lid, rate in last.rates.items():
            g = last.gaussian_bps.get(lid, 0.0)
            gt = next((t for t in tiers if t >= g), None)
            rows.append(
                [
                    lid,
                    f"{last.load_bps.get(lid, 0.0) / 1e6:,.1f} Mbit/s",
                    f"{percent_words(last.utilisation.get(lid, math.nan), 1)}",
                    show_tier(rate),
                    show_tier(last.vendor_rates[lid])
                    + (f" (over {VENDOR_CEILING * 100:g} %)" if lid in last.vendor_over else ""),
                    show_tier(gt) if gt is not None else "over the fastest tier",
                ]
            )
    out["reasons"] = (
        ["year", "link", "change", "forced by"],
        [
            [
                str(r["year"]),
                str(r["link"]),
                (
                    f"{show_tier(r['previous_rate_bps'])} → {show_tier(r['rate_bps'])}"
                    if r["previous_rate_bps"] is not None and not pd.isna(r["previous_rate_bps"])
                    else f"built at {show_tier(r['rate_bps'])}"
                ),
                str(r["text"]),
            ]
            for r in result.reasons().to_dict("records")
        ],
    )
    out["estimates"] = (
        [
            "link",
            "mean load (sum of means)",
            "simulated utilisation",
            "simulation",
            "60 % rule",
            "Gaussian equivalent capacity",
        ],
        rows,
    )
    return out


def _cases_section(result: SizingResult) -> list[str]:
    """``## Failure cases (N-1)``: every case of every year's design, with its binding SLA
    and margin (nothing without N-1)."""
    header, rows = _case_rows(result)
    if not rows:
        return []
    return [
        "## Failure cases (N-1)",
        "",
        markdown_table(header, rows),
        "",
        _cases_note(result),
        "",
    ]


def _case_rows(result: SizingResult) -> tuple[list[str], list[list[str]]]:
    """Every case of every year's design (N-1 only): its binding SLA and margin."""
    header = ["year", "case", "meets every SLA", "binding SLA", "margin"]
    cases = result.cases()
    if result.settings.get("survive") != "single-link" or not len(cases):
        return header, []
    return header, [
        [
            str(r["year"]),
            str(r["case"]) + _runs_as_long(r["duration_factor"]),
            "yes" if r["ok"] else "**no**",
            f"{r['class']} {metric_words(str(r['metric']))} "
            f"{show_value(str(r['metric']), r['mean'])} (target "
            f"{show_value(str(r['metric']), r['target'])})",
            f"{percent_words(r['margin'])}",
        ]
        for r in cases.to_dict("records")
    ]


def _runs_as_long(factor: int) -> str:
    """`` (runs k× as long)`` for a value read from runs extended k times (k > 1)."""
    return f" (runs {int(factor)}× as long)" if factor > 1 else ""


def _cases_note(result: SizingResult) -> str:
    budget = result.settings.get("failure_loss")
    return (
        "Each year's design is simulated with every protected link failed in turn (from the "
        "end of the warm-up to the end of the run, traffic rerouted after "
        f"{result.settings['convergence_ps'] / 1e9:g} ms of convergence). Loss targets count "
        "buffer losses; the packets lost while a failure converges are "
        + (
            f"held to their own budget ({percent_words(budget, 2)} per class)."
            if budget is not None
            else "not counted against them (no `failure_loss` budget given)."
        )
        + (
            " A case marked *runs k× as long* had an SLA metric still growing over runs of "
            "the scenario's duration, so it was judged on runs k times as long (the "
            "steady-state check): its latency percentiles then cover a longer time and can "
            "read lower than the other cases'."
            if len(cases := result.cases()) and (cases["duration_factor"] > 1).any()
            else ""
        )
    )


def _change(y: YearSizing, lid: str) -> str:
    prev = y.previous[lid]
    return (
        f"{lid} {show_tier(y.rates[lid])} (new)"
        if prev is None
        else f"{lid} {show_tier(prev)}→{show_tier(y.rates[lid])}"
    )


#: Above this many links built or upgraded in a year, the table gathers them by change.
_CHANGES_LISTED = 6


def _changes(y: YearSizing) -> str:
    """The links built or upgraded in year ``y``, each named; more than
    :data:`_CHANGES_LISTED` of them gathered by change, the smaller groups named (the
    mid-size city's year 1 was a cell of 28 links, one line of 900 characters on a console):
    ``6 at 10G (new): ring-ab, …; 22 at 1G (new)``."""
    lids = y.upgrades
    if not lids:
        return "—"
    if len(lids) <= _CHANGES_LISTED:
        return ", ".join(_change(y, lid) for lid in lids)
    groups: dict[str, list[str]] = {}
    for lid in lids:
        prev, rate = y.previous[lid], y.rates[lid]
        what = (
            f"at {show_tier(rate)} (new)"
            if prev is None
            else f"{show_tier(prev)}→{show_tier(rate)}"
        )
        groups.setdefault(what, []).append(lid)
    return "; ".join(
        f"{len(ids)} {what}" + (f": {', '.join(ids)}" if len(ids) <= _CHANGES_LISTED else "")
        for what, ids in sorted(groups.items(), key=lambda g: len(g[1]))
    )


def _binding_text(y: YearSizing) -> str:
    b = y.binding()
    if not b:
        return "—"
    return f"{b['class']} {metric_words(b['metric'])} ({percent_words(b['margin'])})"


def _fail_text(v: Any) -> str:
    b = v.binding()
    return (
        f"{b['class']} {metric_words(b['metric'])} "
        f"{show_value(b['metric'], b['mean'])} > {show_value(b['metric'], b['target'])}"
    )


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _raised(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Links that exist in both years and moved up a tier: their new rate."""
    return {k: v for k, v in after.items() if k in before and v > before[k]}


def _summary(result: SizingResult) -> str:
    """A few sentences: what to build or upgrade in which year, and what the 60 % rule would
    have bought instead."""
    *years, vendor = _summary_parts(result)
    return " ".join(years) + "\n\n" + vendor


def _summary_parts(result: SizingResult) -> list[str]:
    """The summary's sentences: one per year with work to do, then the 60 % rule's."""
    cur = result.currency
    first = result.years[0]
    by_rate: dict[int, list[str]] = {}
    for lid, r in first.rates.items():
        by_rate.setdefault(r, []).append(lid)
    parts = [
        f"Year {first.year}: build "
        + ", ".join(
            f"{_count(len(ls), 'link')} at {show_tier(r)}" for r, ls in sorted(by_rate.items())
        )
        + f" (links: {_money(first.capex, cur)})."
    ]
    for y0, y in itertools.pairwise(result.years):
        built = [k for k in y.rates if k not in y0.rates]
        raised = _raised(y0.rates, y.rates)
        what = []
        if built:
            what.append("build " + ", ".join(f"{k} ({show_tier(y.rates[k])})" for k in built))
        if raised:
            what.append("upgrade " + ", ".join(f"{k} to {show_tier(r)}" for k, r in raised.items()))
        if what:
            parts.append(f"Year {y.year}: {' and '.join(what)} (links: {_money(y.capex, cur)}).")
    if not any(_raised(a.rates, b.rates) for a, b in itertools.pairwise(result.years)):
        parts.append("No link needs a faster tier later.")
    vtotal = sum(y.vendor_capex for y in result.years)
    text = (
        f"The 60 % rule of vendor calculators would spend {_money(vtotal, cur)} on links over "
        + (
            "the same years, as much as this plan"
            if round(vtotal) == round(result.total_capex)
            else f"the same years, against {_money(result.total_capex, cur)}"
        )
    )
    vup = [
        (b.year, _raised(a.vendor_rates, b.vendor_rates))
        for a, b in itertools.pairwise(result.years)
    ]
    vup = [(yr, up) for yr, up in vup if up]
    if vup:
        text += ", upgrading " + "; ".join(f"{', '.join(up)} in year {yr}" for yr, up in vup)
    text += "."
    if result.bill is not None and result.vendor_bill is not None:
        text += (
            f" With the whole bill (switches, recording, running costs), net present cost "
            f"{_money(result.vendor_bill.npc, result.bill.currency)} for the 60 % rule's "
            f"design against {_money(result.bill.npc, result.bill.currency)}."
        )
    over: dict[str, list[int]] = {}
    for y in result.years:
        for lid in y.vendor_over:
            over.setdefault(lid, []).append(y.year)
    if over:
        text += (
            " The rule has no tier for "
            + "; ".join(f"{lid} ({years_label(ys)})" for lid, ys in over.items())
            + f": its mean load is over {VENDOR_CEILING * 100:g} % of even the fastest "
            "tier, and the rule's design takes the fastest tier there."
        )
    vfail = [
        y.year for y in result.years if y.vendor_verdict is not None and not y.vendor_verdict.ok
    ]
    if vfail:
        text += f" Its design misses the SLA in simulation in {years_label(vfail)}."
    return [*parts, text]


def _targets_text(result: SizingResult) -> str:
    parts = []
    for cls, cols in result.targets.items():
        parts.append(
            f"`{cls}`: "
            + ", ".join(f"{metric_words(c)} ≤ {show_value(c, v)}" for c, v in cols.items())
        )
    return "; ".join(parts)


def _partial_why(result: SizingResult) -> str:
    """Why a sizing is partial: where it stopped, and how many runs failed."""
    why = []
    if result.stopped is not None:
        why.append(f"sizing stopped: {result.stopped}")
    if result.failures:
        why.append(f"{len(result.failures)} run(s) failed and were left out (see size.json)")
    return "; ".join(why)


def render_report(result: SizingResult, plot: str | None = "size.png") -> str:
    """The Markdown report (``plot``: the latency plot's file name, or None)."""
    cur = result.currency
    sized = [y.year for y in result.years]
    st = result.settings
    md: list[str] = [f"# Network sizing: {result.name}", ""]
    if result.partial:
        md += [
            f"> **PARTIAL** — sized: {years_label(sized)} of the plan's "
            f"1–{result.horizon}. " + _partial_why(result),
            "",
        ]
    first, last = (result.years[0], result.years[-1]) if result.years else (None, None)
    md += ["## Scenario", ""]
    if result.description:
        md += [result.description, ""]
    md += [f"- scenario file: `{result.file}`; growth plan: {_plan_years(result)}"]
    for y in ([first] if first is last else [first, last]) if first and last else []:
        n = y.counts
        md += [
            f"- year {y.year}: {n['cameras']:,} cameras in {_count(n['camera_groups'], 'group')}"
            + "".join(
                f", {_count(n[k], what)}"
                for k, what in (("sources", "other source"), ("services", "service"))
                if n[k]
            )
            + f", {_count(n['links'], 'link')}"
        ]
    tiers_line = (
        f"- rate tiers: {', '.join(show_tier(t) for t in st['tiers_bps'])}; priced with the "
        "whole bill (below: fibre by each link's status, optics by reach, switches, "
        f"recording, running costs; {cur})"
    )
    md += [
        f"- SLA targets: {_targets_text(result)}",
        tiers_line
        if result.bill is not None
        else f"- rate tiers: {', '.join(show_tier(t) for t in st['tiers_bps'])}; per link end "
        + "optics "
        + ", ".join(f"{show_tier(t)} {result.model.optics[t]:g}" for t in st["tiers_bps"])
        + f", port {result.model.port:g}"
        + (
            f", new fibre {result.model.fibre_per_km:,.0f}/km"
            if result.model.new_fibre
            else " (existing fibre)"
        )
        + f" ({cur})",
        f"- each design judged on {st['replications']}–{st['max_replications']} "
        f"independent runs of {st['duration_ps'] / 1e12:g} s simulated "
        f"({st['warmup_ps'] / 1e12:g} s warm-up), {percent_words(st['confidence'])} confidence",
        "",
    ]
    if result.years:
        md += ["## In short", "", _summary(result), ""]
        md += bill_section(result)
        md += [
            "## Investment per year",
            "",
            (
                f"**Links (fibre and optics), {years_label(sized)}: "
                f"{_money(result.total_capex, cur)}** (the whole bill is above)"
                if result.bill is not None
                else f"**Total CAPEX, {years_label(sized)}: {_money(result.total_capex, cur)}**"
            )
            + (" (PARTIAL)" if result.partial else ""),
            "",
        ]
        tables = sizing_tables(result)
        md += [
            markdown_table(*tables["years"]),
            "",
            "Links CAPEX is what the year's new and upgraded links cost (fibre and optics); "
            "the binding SLA is the "
            "target closest to its limit in that year's design, with its margin "
            "(1 − simulated / target). The 60 % rule columns are the design a vendor "
            "calculator would buy (sum of mean rates ≤ 60 % of each link's rate), costed the "
            "same way and simulated. A design is accepted only on stationary runs: when an "
            "SLA metric still grows over the run (MSER-5 warm-up, then a batch-means "
            "trend), the runs are doubled in length, up to "
            f"{st.get('max_extend', 1)}× the duration; a design still growing then is marked "
            "as resting on a transient.",
            "",
            "## Upgrade schedule per link",
            "",
            markdown_table(*tables["schedule"]),
            "",
            "**Bold**: the year a link is built or must be upgraded, before that year's "
            "growth goes live.",
            "",
            "## Why each upgrade",
            "",
            markdown_table(*tables["reasons"]),
            "",
            "For each link built or upgraded: its mean offered load, or the SLA the same "
            "design misses with that link one tier slower (class, metric, simulated value "
            "against its target, the epoch where the class did worst, and the hop of its "
            "path where its packets were dropped or waited longest).",
            "",
            "Binding SLA of each year's design, and the hop that dominates it: "
            + "; ".join(
                f"year {y.year}: {y.binding_hop['text']}" for y in result.years if y.binding_hop
            )
            + ".",
            "",
            *[line for w in result.warnings for line in (f"> **Warning**: {w}", "")],
            *_cases_section(result),
            "## SLA margins achieved",
            "",
            markdown_table(*tables["margins"]),
            "",
            "Margin: how far below its target the simulated value stays (100 %: nothing "
            "lost). The network-calculus bound is a worst case for the same design; ∞ "
            "means it gives none (a Poisson source, or the token-bucket rates — for VBR "
            "cameras at their 99.9 % frame size — exceed a link's rate)." + _nc_assumes(result),
            "",
            f"## Simulation beside the estimates (year {sized[-1]})",
            "",
            markdown_table(*tables["estimates"]),
            "",
            "The 60 % rule and the Gaussian equivalent capacity (ε = 10⁻³) look only at "
            "mean rates and variances (the smallest tier each accepts is shown); the "
            "simulation sees the I-frame bursts, the alarms and the queues.",
            "",
        ]
        if plot:
            md += [
                "## Latency over the years",
                "",
                f"![latency per class and year, sized design]({plot})",
                "",
                "Each year with the design chosen for it, one class per panel: simulated "
                "packet latency percentiles with their confidence intervals (clipped at 0), "
                "the SLA targets (red dash-dot) and the network-calculus bound (dashed, or a "
                "note saying why there is none); loss on a log axis in the row below. "
                "`report.html` has the same with the network drawn and the cost per year.",
                "",
            ]
    md += [
        "## Method and assumptions",
        "",
        "Every year of the growth plan is simulated packet by packet (exact FIFO links "
        "with finite buffers, store-and-forward, propagation), and a design meets the SLA "
        "when the confidence interval of every target's simulated value lies below it "
        "(or, when replications run out, its mean does). For each year, the design of "
        "least cost (the links' CAPEX that year, or with the whole bill the plan's net present "
        "cost, below) is chosen among those that keep every link at least at its "
        "tier of the year before (links are upgraded just in time, never downgraded): "
        "designs are judged in increasing cost, starting from the least each link needs to "
        "carry its mean load with headers (the only designs skipped unjudged: a slower link "
        "loses packets in steady state). The first design that meets every SLA is the "
        "cheapest for the simulated verdicts (*optimal*). Nothing is assumed monotone: a "
        "faster link upstream can make a queue downstream worse, so no design is skipped for "
        "being no faster than one that failed. When the search budget runs out, the "
        "cheapest design found is improved link by link (every single downgrade that still "
        "meets the SLA is kept) and reported as *best found, not proven optimal*, with the "
        "gap to the lower bound (the cost of the cheapest design not judged). Links that no "
        "class with an SLA crosses are searched like any other link, and so is every tier "
        "of the cost table. "
        "A link costs two transceivers and two switch "
        "ports when it is built or upgraded (nothing is resold), plus its fibre if new "
        "fibre is laid; camera access links are not costed. Costs are undiscounted "
        "orders of magnitude (docs/domain.md §7) unless a cost table was given. The simulated "
        f"duration is short: rare events (long alarms, failures) weigh only as much as the "
        f"scenario's timeline contains them. The 60 % rule (≤ {percent_words(VENDOR_CEILING)} "
        "utilisation) is shown for comparison only.",
        "",
        result.claim,
        "",
        *(f"- {line}" if k else line for k, line in enumerate(result.bound_lines())),
        "",
    ]
    if result.bill is not None:
        md += [
            "With the whole bill, the designs of a year are tried in increasing net present "
            "cost of the plan so far (that year's design included, its running costs carried "
            "to the model's horizon), and the link tables count each link's fibre (by its "
            "status) and optics (by reach) instead of the link-only costs above. The recording "
            "storage scales the bytes the runs delivered to a day: a run that over-represents "
            "alarms over-states it. Every figure of the cost model is a parameter "
            "(`--costs`).",
            "",
        ]
    if result.years:
        glossary = _glossary(result)
        md += ["## Glossary", "", markdown_table(glossary.header, glossary.rows), ""]
        md += [glossary.note, ""]
    md += [
        "## Files",
        "",
        "`size.parquet` (year × link), `size_years.parquet`, `size_margins.parquet`, "
        f"`size_trials.parquet` (every design tried; {TRIALS_UNITS}), `size.json`, "
        + ("`size.png`, " if plot else "")
        + "`runs/` (stored runs, reused).",
        "",
    ]
    return "\n".join(md)


#: The units of ``size_trials.parquet``'s and ``size_margins.parquet``'s values.
TRIALS_UNITS = (
    "`mean` and `target` in picoseconds for a latency metric, whose name ends in `_ps`, and "
    "as a fraction for a loss; `capex` in the report's currency"
)


def _glossary(result: SizingResult) -> TableView:
    """The glossary of the SLA metrics a sizing report names (every target's, and the
    failure-loss budget's), with the units of the size tables' values."""
    metrics = [m for cols in result.targets.values() for m in cols]
    glossary = glossary_table(metrics + list(map(str, result.margins()["metric"])))
    glossary.note += f" In `size_trials.parquet` and `size_margins.parquet`: {TRIALS_UNITS}."
    return glossary


def bill_section(result: SizingResult) -> list[str]:
    """The report's "whole bill" section (empty without a bill)."""
    bill = result.bill
    if bill is None:
        return []
    cur = bill.currency
    years = [int(y) for y in bill.years["year"]]
    md = [
        "## The whole bill",
        "",
        f"**Net present cost, {years_label(years)}: {_money(bill.npc, cur)}** "
        f"(discount rate {percent_words(bill.discount_rate, 1)}; "
        f"undiscounted {_money(bill.total, cur)})"
        + (
            f"; the 60 % rule's design: {_money(result.vendor_bill.npc, cur)}"
            if result.vendor_bill is not None
            else ""
        )
        + ".",
        "",
        markdown_table(*bill_table(bill, result.vendor_bill)),
        "",
        f"All amounts in {cur}. Purchases: fibre (by each link's status), optics (two "
        "transceivers per link, by reach), switches (the cheapest catalogue stack per node "
        "for its cameras' ports and PoE and its links), recording (disks and servers for the "
        "retention period). Running costs: energy (switches, PoE, recorders), maintenance (a "
        "share of the equipment installed), leased fibre rent. Each year is discounted to "
        "year 1.",
        "",
        "### Recording storage",
        "",
        markdown_table(*recorders_table(bill)),
        "",
        "From the bytes the simulation delivered to each recorder, scaled to a whole day "
        "(its night and the alarms of the timeline as a day has them, an alarm once), for "
        "each camera group's retention period; raw TB after the usable-capacity factor.",
        "",
        "### Switches and PoE",
        "",
        markdown_table(*switches_table(bill)),
        "",
    ]
    return md


def _nc_assumes(result: SizingResult) -> str:
    """What the network-calculus bounds assume, as a sentence after the margins table's
    caption (the last year's sources, the most): e.g. VBR frame sizes capped at a quantile,
    so that a larger frame is not bounded. Empty when there is nothing to say."""
    notes = result.years[-1].nc_notes if result.years else []
    if not notes:
        return ""
    return f" The bound assumes (year {result.years[-1].year}): " + "; ".join(notes) + "."


def _grid(result: SizingResult) -> PanelGrid | None:
    """The latency and loss panels over the years, each year with its chosen design."""
    records = [r for y in result.years for r in y.records]
    table, runs = aggregate(records, float(result.settings["confidence"]))
    table = table[table["class"].isin(list(result.targets))]  # the classes with an SLA
    if not len(table):
        return None
    est = pd.DataFrame(
        [
            {
                "x": float(y.year),
                "method": METHOD_NC,
                "class": c,
                "value": b,
                "ok": bool(math.isfinite(b)),
                "link": "",
                "note": "; ".join(y.nc_notes),
            }
            for y in result.years
            for c, b in y.nc_bound_ps.items()
        ],
        columns=["x", "method", "class", "value", "ok", "link", "note"],
    )
    curve = CurveResult(
        Vary("year", "fixed", None, 1.0),
        [float(y.year) for y in result.years],
        table,
        est,
        runs,
        [],
        float(result.settings["confidence"]),
    )
    title = (
        f"PARTIAL: {years_label([y.year for y in result.years])} of 1–{result.horizon}"
        if result.partial
        else f"{result.name}: sized design, {_plan_years(result)}"
    )
    return curve_grid(curve, targets=result.targets, limits=False, title=title, x_label="year")


def _bill_chart(result: SizingResult, bill: Bill) -> CostChart:
    """Cost per year stacked by the whole bill's categories (purchases and running costs)."""
    years = bill.years
    cats = {c: [float(v) for v in years[c]] for c in CATEGORIES if c in years}
    cats = {k: v for k, v in cats.items() if any(v)} or {"total": [0.0 for _ in result.years]}
    return CostChart(
        "Cost per year",
        [f"year {int(y)}" for y in years["year"]],
        cats,
        bill.currency,
        f"Purchases and running costs each year, undiscounted; net present cost "
        f"{_money(bill.npc, bill.currency)} at a {percent_words(bill.discount_rate, 1)} "
        "discount rate.",
    )


def _cost_chart(result: SizingResult) -> CostChart:
    """Cost per year by category: the whole bill's categories when the sizing was priced
    with it; otherwise link CAPEX by optics, ports and fibre from the link cost model, one
    category when the years' link costs are not the model's sum (a cost model this
    breakdown does not know)."""
    if result.bill is not None and len(result.bill.years):
        return _bill_chart(result, result.bill)
    model = result.model
    cats: dict[str, list[float]] = {"optics": [], "switch ports": [], "new fibre": []}
    for y in result.years:
        optics = ports = fibre = 0.0
        for lid, c in y.link_capex.items():
            if c <= 0:
                continue
            optics += 2 * model.optics.get(y.rates[lid], math.nan)
            ports += 2 * model.port
            if y.previous[lid] is None:
                fibre += model.fibre_cost(y.lengths_m[lid])
        cats["optics"].append(optics)
        cats["switch ports"].append(ports)
        cats["new fibre"].append(fibre)
    split = [sum(v) for v in zip(*cats.values(), strict=True)]
    if not all(
        math.isclose(a, y.capex, rel_tol=1e-9, abs_tol=1e-6)
        for a, y in zip(split, result.years, strict=True)
    ):
        cats = {"CAPEX": [y.capex for y in result.years]}
    cats = {k: v for k, v in cats.items() if any(v)} or {"CAPEX": [0.0 for _ in result.years]}
    vendor = sum(y.vendor_capex for y in result.years)
    return CostChart(
        "CAPEX per year",
        [f"year {y.year}" for y in result.years],
        cats,
        result.currency,
        f"Links built or upgraded each year; total {_money(result.total_capex, result.currency)}"
        f" (the 60 % rule: {_money(vendor, result.currency)}). Undiscounted; camera access "
        "links not costed.",
    )


def _history(result: SizingResult, lid: str) -> str:
    """What happened to a link over the years: ``new in year 2``, ``1G→10G in year 3``."""
    out = []
    for k, y in enumerate(result.years):
        if lid not in y.rates:
            continue
        prev = y.previous[lid]
        if prev is None and k > 0:
            out.append(f"new in year {y.year}")
        elif prev is not None and y.rates[lid] > prev:
            out.append(f"{show_tier(prev)}→{show_tier(y.rates[lid])} in year {y.year}")
    return ", ".join(out)


def _cut_risk(result: SizingResult, cut: str) -> str:
    """Whether a single fibre cut is survived: the N-1 cases simulated when the sizing ran
    them (every protected link's failure, every year), beside the connectivity check when it
    finds a link whose cut leaves cameras without a path."""
    cases = result.cases()
    if result.settings.get("survive") != "single-link" or not len(cases):
        return cut
    failed = [r for r in cases.to_dict("records") if r["case"] != "normal"]
    if not failed:
        return cut
    worst = min(failed, key=lambda r: float(r["margin"]))
    n = len({r["case"] for r in failed})
    exposed = cut.startswith(NOT_SURVIVED)  # links whose cut leaves cameras without a path
    lead = "Single fibre cut of a protected link" if exposed else "Single fibre cut"
    sim = (
        f"{lead}: **survived** — the failure of each of the {n} protected link(s), "
        f"with its reroute, was simulated in every year and meets every SLA (tightest: "
        f"{worst['case']} in year {int(worst['year'])}, class {worst['class']} "
        f"{metric_words(str(worst['metric']))} margin {percent_words(float(worst['margin']))}"
        f"{_runs_as_long(worst.get('duration_factor', 1))})."
        if all(r["ok"] for r in failed)
        else f"{lead}: **not survived** in simulation — "
        + ", ".join(f"{r['case']} (year {r['year']})" for r in failed if not r["ok"])
        + "."
    )
    if exposed:
        return (
            f"{sim} But a cut of a link without a protection path is **not survived**: "
            f"{cut.removeprefix(NOT_SURVIVED)}"
        )
    return sim


def _first_page(result: SizingResult, cut: str) -> tuple[str, list[str], list[str], list[str]]:
    cur = result.currency
    last = result.years[-1]
    cost = (
        f"a net present cost of {_money(result.bill.npc, result.bill.currency)} "
        "(purchases and running costs)"
        if result.bill is not None
        else _money(result.total_capex, cur)
    )
    headline = f"Build for {cost} over {years_label([y.year for y in result.years])}" + (
        " (PARTIAL)" if result.partial else ""
    )
    rec = _summary_parts(result)
    risk = []
    tight = [(y, y.binding()) for y in result.years]
    tight = [(y, b) for y, b in tight if b]
    if tight:
        y, b = min(tight, key=lambda yb: yb[1]["margin"])
        risk.append(
            f"Binding target: class **{b['class']}** {metric_words(b['metric'])} "
            f"in year {y.year}: {show_value(b['metric'], b['mean'])} against "
            f"{show_value(b['metric'], b['target'])} — margin **{percent_words(b['margin'])}**"
            + (" (decided by the mean: uncertain)." if y.verdict.uncertain else ".")
        )
    risk.append(_cut_risk(result, cut))
    if any(not y.optimal for y in result.years):
        risk.append(
            "Best found, not proven optimal in "
            + ", ".join(f"year {y.year}" for y in result.years if not y.optimal)
            + f": {result.unproven_why()}"
        )
    transient = [f"year {y.year}: {t}" for y in result.years for t in y.transient]
    if transient:
        risk.append(
            "Verdict **rests on a transient** (still changing in the longest run): "
            + "; ".join(transient)
            + "."
        )
    risk += warning_lines(result.warnings)
    changes = []
    util = {k: v for k, v in last.utilisation.items() if math.isfinite(v)}
    if util:
        lid = max(util, key=lambda k: util[k])
        rate = last.rates[lid]
        load = last.load_bps.get(lid, 0.0)
        tiers = [t for t in result.settings["tiers_bps"] if t > rate]
        growth = rate / load if load > 0 else math.inf
        changes.append(
            f"The busiest link in year {last.year} is **{lid}** at {show_tier(rate)}: "
            f"{percent_words(util[lid])} utilised in simulation, {load / 1e6:,.0f} Mbit/s of "
            "mean load. "
            + (
                f"Its next upgrade ({show_tier(tiers[0])}) is due before its load grows "
                f"×{growth:.2g} (the rate itself), sooner if the SLA binds first."
                if tiers
                else "It is already at the fastest tier of the cost table."
            )
        )
    later = [
        (y.year, lid) for y in result.years[1:] for lid in y.upgrades if y.previous[lid] is not None
    ]
    if later:
        yr, lid = later[0]
        changes.append(
            f"The first upgrade of a built link falls in year {yr} ({lid}): growth faster than "
            "planned brings it forward."
        )
    if tight:
        changes.append(
            "A tighter target for the binding class, more cameras or higher bitrates than "
            "the growth plan would change the tiers; `vidnet-sim capacity` finds the load "
            "at which the last year's design stops meeting the SLA."
        )
    return headline, rec, risk, changes


def sizing_report(result: SizingResult, plot: bool = True) -> ReportData:
    """The report data of a sizing: first page, the last year's network drawn, CAPEX per
    year by category, the latency/loss panels over the years and the report's tables."""
    cut = "Single fibre cut: not analysed."
    network = None
    if result.years:
        last = result.years[-1]
        util = {k: v for k, v in last.utilisation.items() if math.isfinite(v)}
        busiest = max(util, key=lambda k: util[k]) if util else None
        try:
            raw, base_dir = load_raw(result.file)
            network, cut = scenario_view(
                year_data(raw, last.year),
                base_dir,
                f"Year {last.year}: the sized network",
                rates={k: float(v) for k, v in last.rates.items()},
                loads_bps=last.load_bps,
                utilisation=util,
                binding=busiest,
                changed={lid: _history(result, lid) for lid in last.rates},
                caption=(
                    "Cameras gathered per switch; links coloured by rate tier and labelled "
                    "with tier, what changed over the years, mean load (sum of means, busier "
                    "direction) and headroom (1 − simulated utilisation); the busiest link "
                    "(red) is the most utilised one."
                ),
            )
        except (OSError, ScenarioError, AnalysisInputError) as exc:
            cut = f"Single fibre cut: not analysed ({exc})."
    if result.years:
        headline, rec, risk, changes = _first_page(result, cut)
    else:
        headline, rec, risk, changes = (
            "No year could be sized",
            [result.stopped or ""],
            [cut],
            ["—"],
        )
    partial = ""
    if result.partial:
        partial = (
            f"sized {years_label([y.year for y in result.years])} of 1–{result.horizon}; "
            + _partial_why(result)
        )
    tables = []
    if result.years:
        t = sizing_tables(result)
        tables = [
            TableView("Investment per year", *t["years"]),
            TableView(
                "Upgrade schedule per link",
                *t["schedule"],
                note="**Bold**: built or upgraded that year.",
            ),
            TableView(
                "SLA margins achieved",
                *t["margins"],
                note="margin: 1 − simulated mean / target. Network-calculus bound: the worst "
                "case, every source's largest burst at once; ∞: none is finite (a Poisson "
                "source, or VBR cameras' token-bucket rates above a link's rate); —: a loss "
                "has none." + _nc_assumes(result),
            ),
            TableView(
                "Why each link was built or upgraded",
                *t["reasons"],
                note="What forced each change: the mean load, or the SLA the design one tier "
                "slower missed (class, metric, value against target, epoch or failure case, and "
                "the hop where the class was dropped or waited longest).",
            ),
            TableView(
                f"Simulation beside the estimates (year {result.years[-1].year})", *t["estimates"]
            ),
            _glossary(result),
        ]
        header, cases = _case_rows(result)
        if cases:
            tables.insert(3, TableView("Failure cases (N-1)", header, cases, _cases_note(result)))
        hops = [
            [str(y), str(b.get("text", "")), "yes" if "warning" in b else "no"]
            for y, b in ((y.year, y.binding_hop) for y in result.years)
            if b
        ]
        if hops:
            tables.insert(
                3,
                TableView(
                    "Binding SLA and the hop that dominates it",
                    ["year", "binding SLA", "on links the plan does not size"],
                    hops,
                ),
            )
    return ReportData(
        kind="size",
        title=f"Network sizing: {result.name}",
        description=result.description,
        total_cost=result.bill.npc if result.bill is not None else result.total_capex,
        currency=result.currency,
        meets_sla=bool(result.years)
        and result.stopped is None
        and all(y.verdict.ok for y in result.years),
        headline=headline,
        recommendation=rec,
        risk=risk,
        changes=changes,
        partial=partial,
        network=network,
        costs=_cost_chart(result) if result.years else None,
        plots=_grid(result) if plot and result.years else None,
        tables=tables,
        method=[
            f"Each design judged on {result.settings['replications']}–"
            f"{result.settings['max_replications']} independent runs of "
            f"{result.settings['duration_ps'] / 1e12:g} s simulated, "
            f"{percent_words(result.settings['confidence'])} confidence; the cheapest design "
            "each year "
            "that meets every SLA, links never downgraded (report.md has the full method).",
            result.claim,
            *result.bound_lines(),
        ],
        files=[
            "report.md",
            "report.json",
            "size.json",
            "size.parquet",
            "size_years.parquet",
            "size_margins.parquet",
            "size_trials.parquet",
            *(["size.png"] if plot else []),
            "runs/",
        ],
    )


def write_sizing(result: SizingResult, out_dir: str | Path, *, plot: bool = True) -> list[Path]:
    """Write the sizing's tables, ``size.json``, ``size.png`` (``plot``), ``report.md``,
    ``report.json`` and ``report.html`` to ``out_dir``; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [
        out / "size.parquet",
        out / "size_years.parquet",
        out / "size_margins.parquet",
        out / "size_trials.parquet",
        out / "size.json",
    ]
    write_file(files[0], parquet_bytes(result.schedule()))
    write_file(files[1], parquet_bytes(result.year_table()))
    m = result.margins()
    m["partial"] = result.partial
    write_file(files[2], parquet_bytes(m))
    write_file(files[3], parquet_bytes(result.trials()))
    doc = {
        "scenario": result.name,
        "file": result.file,
        "horizon": result.horizon,
        "years_sized": [y.year for y in result.years],
        "partial": result.partial,
        "stopped": result.stopped,
        "stopped_year": result.stopped_year,
        "total_capex": result.total_capex,
        "currency": result.currency,
        "uncertain": result.uncertain,
        "claim": result.claim,
        "cost_bounds": result.cost_bounds(),
        "settings": result.settings,
        "years": result.year_table().to_dict("records"),
        "links": result.schedule().to_dict("records"),
        "failures": result.failures,
        "upgrades": result.reasons().to_dict("records"),
        "binding": {str(y.year): y.binding_hop for y in result.years},
        "warnings": result.warnings,
        "cases": result.cases().to_dict("records"),
    }
    if result.bill is not None:
        doc["bill"] = result.bill.to_json()
        doc["net_present_cost"] = result.bill.npc
    if result.vendor_bill is not None:
        doc["vendor_bill"] = result.vendor_bill.to_json()
    write_file(files[4], json_text(doc))
    data = sizing_report(result, plot)
    png = None
    if data.plots is not None:
        png = out / "size.png"
        write_file(png, draw_panels(data.plots))
        files.append(png)
    report = out / "report.md"
    write_file(report, render_report(result, png.name if png is not None else None))
    files.append(report)
    files += write_report(data, out)
    return files
