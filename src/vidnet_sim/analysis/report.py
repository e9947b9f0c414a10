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
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from vidnet_sim.analysis.bill.tables import bill_table, recorders_table, switches_table
from vidnet_sim.analysis.capacity import show_value
from vidnet_sim.analysis.curve import CurveResult, aggregate, plot_curve
from vidnet_sim.analysis.estimates import METHOD_NC
from vidnet_sim.analysis.sizing import VENDOR_CEILING, SizingResult, YearSizing
from vidnet_sim.analysis.vary import Vary

__all__ = [
    "bill_section",
    "markdown_table",
    "render_report",
    "show_tier",
    "sizing_tables",
    "write_sizing",
    "years_label",
]


def show_tier(bps: float) -> str:
    """A rate tier as a council reads it: ``10G``, ``100M``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if bps >= scale:
            return f"{bps / scale:g}{unit}"
    return f"{bps:g}"


def _money(x: float, currency: str) -> str:
    return f"{x:,.0f} {currency}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (numbers right-aligned by the caller's text)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def years_label(years: list[int]) -> str:
    """``year 1`` or ``years 1–3``."""
    if not years:
        return "no year"
    return f"year {years[0]}" if len(years) == 1 else f"years {years[0]}–{years[-1]}"


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
        )
        rows.append(
            [
                str(y.year),
                f"{y.counts['cameras']:,}",
                ", ".join(_change(y, lid) for lid in y.upgrades) or "—",
                _money(y.capex, cur),
                _money(total, cur),
                b,
                _money(vendor_total, cur),
                vok,
            ]
        )
    out["years"] = (
        [
            "year",
            "cameras",
            "links built / upgraded",
            "CAPEX",
            "cumulative",
            "binding SLA (margin)",
            "60 % rule: cumulative",
            "60 % rule meets SLA",
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
    for r in m.to_dict("records"):
        metric = str(r["metric"])
        lo = max(float(r["ci_low"]), 0.0)  # every metric is ≥ 0; the t-interval may not be
        ci = (
            ""
            if math.isnan(r["ci_low"]) or r["ci_low"] == r["ci_high"]
            else f" [{show_value(metric, lo)} – {show_value(metric, r['ci_high'])}]"
        )
        nc = r["nc_bound_ps"]
        rows.append(
            [
                str(r["year"]),
                str(r["class"]),
                metric.removesuffix("_ps"),
                show_value(metric, r["target"]),
                show_value(metric, r["mean"]) + ci,
                f"{r['margin']:.0%}",
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
                    f"{last.utilisation.get(lid, math.nan):.1%}",
                    show_tier(rate),
                    show_tier(last.vendor_rates[lid]),
                    show_tier(gt) if gt is not None else "over the fastest tier",
                ]
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


def _change(y: YearSizing, lid: str) -> str:
    prev = y.previous[lid]
    return (
        f"{lid} {show_tier(y.rates[lid])} (new)"
        if prev is None
        else f"{lid} {show_tier(prev)}→{show_tier(y.rates[lid])}"
    )


def _binding_text(y: YearSizing) -> str:
    b = y.binding()
    if not b:
        return "—"
    return f"{b['class']} {b['metric'].removesuffix('_ps')} ({b['margin']:.0%})"


def _fail_text(v: Any) -> str:
    b = v.binding()
    return (
        f"{b['class']} {b['metric'].removesuffix('_ps')} "
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
        + f" ({_money(first.capex, cur)})."
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
            parts.append(f"Year {y.year}: {' and '.join(what)} ({_money(y.capex, cur)}).")
    if not any(_raised(a.rates, b.rates) for a, b in itertools.pairwise(result.years)):
        parts.append("No link needs a faster tier later.")
    vtotal = sum(y.vendor_capex for y in result.years)
    text = (
        f"The 60 % rule of vendor calculators would spend {_money(vtotal, cur)} over the "
        f"same years, against {_money(result.total_capex, cur)}"
    )
    vup = [
        (b.year, _raised(a.vendor_rates, b.vendor_rates))
        for a, b in itertools.pairwise(result.years)
    ]
    vup = [(yr, up) for yr, up in vup if up]
    if vup:
        text += ", upgrading " + "; ".join(f"{', '.join(up)} in year {yr}" for yr, up in vup)
    text += "."
    vfail = [
        y.year for y in result.years if y.vendor_verdict is not None and not y.vendor_verdict.ok
    ]
    if vfail:
        text += (
            " Its design misses the SLA in simulation in "
            + ", ".join(f"year {y}" for y in vfail)
            + "."
        )
    return " ".join(parts) + "\n\n" + text


def _targets_text(result: SizingResult) -> str:
    parts = []
    for cls, cols in result.targets.items():
        parts.append(
            f"`{cls}`: "
            + ", ".join(f"{c.removesuffix('_ps')} ≤ {show_value(c, v)}" for c, v in cols.items())
        )
    return "; ".join(parts)


def render_report(result: SizingResult, plot: str | None = "size.png") -> str:
    """The Markdown report (``plot``: the latency plot's file name, or None)."""
    cur = result.currency
    sized = [y.year for y in result.years]
    st = result.settings
    md: list[str] = [f"# Network sizing: {result.name}", ""]
    if result.partial:
        why = []
        if result.stopped is not None:
            why.append(f"sizing stopped: {result.stopped}")
        if result.failures:
            why.append(f"{len(result.failures)} run(s) failed and were left out (see size.json)")
        md += [
            f"> **PARTIAL** — sized: {years_label(sized)} of the plan's "
            f"1–{result.horizon}. " + "; ".join(why),
            "",
        ]
    first, last = (result.years[0], result.years[-1]) if result.years else (None, None)
    md += ["## Scenario", ""]
    if result.description:
        md += [result.description, ""]
    md += [f"- scenario file: `{result.file}`; growth plan: years 1–{result.horizon}"]
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
        f"({st['warmup_ps'] / 1e12:g} s warm-up), {st['confidence']:.0%} confidence",
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
            "CAPEX is what the year's new and upgraded links cost; the binding SLA is the "
            "target closest to its limit in that year's design, with its margin "
            "(1 − simulated / target). The 60 % rule columns are the design a vendor "
            "calculator would buy (sum of mean rates ≤ 60 % of each link's rate), costed the "
            "same way and simulated.",
            "",
            "## Upgrade schedule per link",
            "",
            markdown_table(*tables["schedule"]),
            "",
            "**Bold**: the year a link is built or must be upgraded, before that year's "
            "growth goes live.",
            "",
            "## SLA margins achieved",
            "",
            markdown_table(*tables["margins"]),
            "",
            "Margin: how far below its target the simulated value stays (100 %: nothing "
            "lost). The network-calculus bound is a worst case for the same design; ∞ "
            "means it gives none (a Poisson source, or the token-bucket rates — for VBR "
            "cameras at their 99.9 % frame size — exceed a link's rate).",
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
                "Each year with the design chosen for it: simulated packet latency "
                "percentiles with their confidence intervals, the SLA targets (dash-dot) "
                "and the network-calculus bound (dashed); loss on the right.",
                "",
            ]
    md += [
        "## Method and assumptions",
        "",
        "Every year of the growth plan is simulated packet by packet (exact FIFO links "
        "with finite buffers, store-and-forward, propagation), and a design meets the SLA "
        "when the confidence interval of every target's simulated value lies below it "
        "(or, when replications run out, its mean does). For each year, the design with the "
        "least CAPEX that year is chosen among those that keep every link at least at its "
        "tier of the year before (links are upgraded just in time, never downgraded): "
        "designs are tried in increasing cost, starting from the least each link needs to "
        "carry its mean load, skipping designs no faster on the links a failing class "
        "crosses than a design that already failed for it. This assumes the verdict is "
        "monotone (a faster link never hurts the traffic crossing it) and that links a "
        "class does not cross do not help it. A link costs two transceivers and two switch "
        "ports when it is built or upgraded (nothing is resold), plus its fibre if new "
        "fibre is laid; camera access links are not costed. Costs are undiscounted "
        "orders of magnitude (docs/domain.md §7) unless a cost table was given. The simulated "
        f"duration is short: rare events (long alarms, failures) weigh only as much as the "
        f"scenario's timeline contains them. The 60 % rule (≤ {VENDOR_CEILING:.0%} "
        "utilisation) is shown for comparison only.",
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
    md += [
        "## Files",
        "",
        "`size.parquet` (year × link), `size_years.parquet`, `size_margins.parquet`, "
        "`size_trials.parquet` (every design tried), `size.json`, "
        + ("`size.png`, " if plot else "")
        + "`runs/` (stored runs, reused).",
        "",
    ]
    return "\n".join(md)


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
        f"**Net present cost, years {years[0]}–{years[-1]}: {_money(bill.npc, cur)}** "
        f"(discount rate {bill.discount_rate:.1%}; undiscounted {_money(bill.total, cur)})"
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
        "From the bytes the simulation delivered to each recorder, scaled to a day, for "
        "each camera group's retention period; raw TB after the usable-capacity factor.",
        "",
        "### Switches and PoE",
        "",
        markdown_table(*switches_table(bill)),
        "",
    ]
    return md


def _plot(result: SizingResult, path: Path) -> Path | None:

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
            }
            for y in result.years
            for c, b in y.nc_bound_ps.items()
        ],
        columns=["x", "method", "class", "value", "ok", "link"],
    )
    curve = CurveResult(
        Vary("year", "int", None, 1.0),
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
        else f"{result.name}: sized design, years 1–{result.horizon}"
    )
    return plot_curve(curve, path, targets=result.targets, limits=False, title=title)


def write_sizing(result: SizingResult, out_dir: str | Path, *, plot: bool = True) -> list[Path]:
    """Write the sizing's tables, ``size.json``, ``size.png`` (``plot``) and ``report.md``
    to ``out_dir``; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [
        out / "size.parquet",
        out / "size_years.parquet",
        out / "size_margins.parquet",
        out / "size_trials.parquet",
        out / "size.json",
    ]
    result.schedule().to_parquet(files[0], index=False)
    result.year_table().to_parquet(files[1], index=False)
    m = result.margins()
    m["partial"] = result.partial
    m.to_parquet(files[2], index=False)
    result.trials().to_parquet(files[3], index=False)
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
        "settings": result.settings,
        "years": result.year_table().to_dict("records"),
        "links": result.schedule().to_dict("records"),
        "failures": result.failures,
    }
    if result.bill is not None:
        doc["bill"] = result.bill.to_json()
        doc["net_present_cost"] = result.bill.npc
    if result.vendor_bill is not None:
        doc["vendor_bill"] = result.vendor_bill.to_json()
    files[4].write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    png = _plot(result, out / "size.png") if plot and result.years else None
    if png is not None:
        files.append(png)
    report = out / "report.md"
    report.write_text(
        render_report(result, png.name if png is not None else None), encoding="utf-8"
    )
    files.append(report)
    return files
