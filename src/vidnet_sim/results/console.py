"""Human-readable (rich) and ``--json`` views of a run's tables.

Both accept :class:`~vidnet_sim.results.tables.Tables` or
:class:`~vidnet_sim.results.store.Results` (a sweep's ``run`` column is shown too).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vidnet_sim.results.sla import format_significant
from vidnet_sim.results.store import to_jsonable

#: Links shown in full up to this many; beyond, the most utilised ones.
MAX_LINKS = 30


class TablesLike(Protocol):
    """Anything with ``summary`` and ``links`` DataFrames (``Tables``, ``Results``)."""

    summary: pd.DataFrame
    links: pd.DataFrame


def _missing(x: object) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _ms(ps: object) -> str:
    return "-" if _missing(ps) else format_significant(float(ps) / 1e9)  # type: ignore[arg-type]


def _sci(x: object) -> str:
    if _missing(x):
        return "-"
    v = float(x)  # type: ignore[arg-type]
    return "0" if v == 0 else f"{v:.1e}"


def _mbps(bps: object) -> str:
    return "-" if _missing(bps) else format_significant(float(bps) / 1e6)  # type: ignore[arg-type]


def _sla_cell(ok: object) -> Text:
    if _missing(ok):
        return Text("-", style="dim")
    return Text("ok", style="green") if bool(ok) else Text("FAIL", style="bold red")


def _violations(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(who, violation) of every row, e.g. ``("group cams-north", "loss 1.2e-03 > 1.0e-04")``."""
    out: list[tuple[str, str]] = []
    for row in summary.to_dict("records"):
        text = row.get("sla_violations")
        if _missing(text) or not text:
            continue
        who = f"{row['level']} {row['name']}"
        if "run" in row:
            who = f"{row['run']}: {who}"
        out += [(who, v) for v in str(text).split("; ")]
    return out


def _table(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
    )


def _name_column(table: Table, header: str, values: pd.Series) -> None:
    """A text column as wide as its longest value, or at least 12 characters if squeezed."""
    longest = max([len(header), *(len(str(v)) for v in values)])
    table.add_column(header, no_wrap=True, min_width=min(longest, 12))


def _summary_table(title: str, rows: pd.DataFrame, groups: bool) -> Table:
    table = _table(title)
    has_run = "run" in rows.columns
    if has_run:
        _name_column(table, "run", rows["run"])
    _name_column(table, "group" if groups else "class", rows["name"])
    if groups:
        _name_column(table, "class", rows["class"])
    table.add_column("SLA", no_wrap=True)
    numbers = ("sent", "loss", "p50", "p99", "p99.9", "max", "frame\np99", "frame\nloss")
    for header in (*numbers, "jitter", "Mbit/s"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows.to_dict("records"):
        failed = not _missing(row["sla_ok"]) and not bool(row["sla_ok"])
        cells: list[str | Text] = [Text(str(row["run"]))] if has_run else []
        cells.append(Text(str(row["name"])))
        if groups:
            cells.append(Text(str(row["class"])))
        cells += [
            _sla_cell(row["sla_ok"]),
            str(row["packets_sent"]),
            _sci(row["loss"]),
            _ms(row["latency_p50_ps"]),
            _ms(row["latency_p99_ps"]),
            _ms(row["latency_p999_ps"]),
            _ms(row["latency_max_ps"]),
            _ms(row["frame_latency_p99_ps"]),
            _sci(row["frame_loss"]),
            _ms(row["jitter_ps"]),
            _mbps(row["throughput_bps"]),
        ]
        table.add_row(*cells, style="red" if failed else None)
    return table


def _links_table(links: pd.DataFrame) -> Table:
    n = len(links)
    shown = links.sort_values("utilisation", ascending=False, na_position="last", kind="stable")
    title = "Links by utilisation (utilisation in %, throughput in Mbit/s, wait in ms)"
    if n > MAX_LINKS:
        shown = shown.head(MAX_LINKS)
        title = f"Links: the {MAX_LINKS} most utilised of {n} (utilisation in %, Mbit/s, ms)"
    table = _table(title)
    has_run = "run" in links.columns
    if has_run:
        _name_column(table, "run", shown["run"])
    _name_column(table, "link", shown["link"])
    _name_column(table, "from → to", shown["src"] + " → " + shown["dst"])
    for header in ("rate", "util", "Mbit/s", "drops", "loss", "peak KiB", "peak pkts", "wait"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in shown.to_dict("records"):
        util = row["utilisation"]
        util_text = Text("-" if _missing(util) else f"{100 * float(util):.1f}")
        if not _missing(util) and float(util) >= 0.9:
            util_text.stylize("bold yellow")
        drops = Text(str(row["drops"]), style="red" if row["drops"] > 0 else "")
        cells: list[str | Text] = [Text(str(row["run"]))] if has_run else []
        cells += [
            Text(str(row["link"])),
            Text(f"{row['src']} → {row['dst']}"),
            _mbps(row["rate_bps"]),
            util_text,
            _mbps(row["throughput_bps"]),
            drops,
            _sci(row["loss"]),
            format_significant(float(row["peak_queue_bytes"]) / 1024),
            str(row["peak_queue_packets"]),
            _ms(row["peak_wait_ps"]),
        ]
        table.add_row(*cells)
    return table


def render_summary(tables: TablesLike, console: Console) -> None:
    """Print the class, group and link tables, the SLA violations and an SLA verdict.

    Latencies in ms (3 significant digits; p50, p99, p99.9, max: p95 is in the data),
    losses in scientific notation, throughput (wire) in Mbit/s; rows failing their SLA in
    red and every violation listed. The last line is ``SLA: all targets met``,
    ``SLA: N violation(s)`` or, when no class has targets, ``SLA: no targets set``.
    """
    s = tables.summary
    console.print(
        _summary_table("Traffic classes (latency in ms)", s[s["level"] == "class"], False)
    )
    console.print(_summary_table("Flow groups (latency in ms)", s[s["level"] == "group"], True))
    console.print(_links_table(tables.links))
    violations = _violations(s)
    for who, what in violations:
        line = Text("SLA FAIL ", style="bold red")
        line.append(f"{who}: {what}", style="red")
        console.print(line)
    if violations:
        console.print(Text(f"SLA: {len(violations)} violation(s)", style="bold red"))
    elif s["sla_ok"].notna().any():
        console.print(Text("SLA: all targets met", style="bold green"))
    else:
        console.print("SLA: no targets set")


def summary_json(tables: TablesLike) -> dict[str, Any]:
    """The summary and links as JSON-ready records (NaN and NA become ``null``).

    ``{"summary": [...], "links": [...], "sla": {"checked": bool, "violations": int,
    "ok": bool | None}}``; ``ok`` is ``None`` when no class has targets.
    """
    s = tables.summary
    n = len(_violations(s))
    checked = bool(s["sla_ok"].notna().any())
    return {
        "summary": to_jsonable(s.to_dict("records")),
        "links": to_jsonable(tables.links.to_dict("records")),
        "sla": {"checked": checked, "violations": n, "ok": (n == 0) if checked else None},
    }
