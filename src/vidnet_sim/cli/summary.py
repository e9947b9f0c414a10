"""The human-readable (rich) view of a run's tables, and its warnings.

It accepts :class:`~vidnet_sim.results.tables.Tables` or
:class:`~vidnet_sim.results.store.Results` (a sweep's ``run`` column is shown too).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from vidnet_sim.results.metric_words import metric_words
from vidnet_sim.results.sla import format_significant
from vidnet_sim.results.summary import TablesLike, is_missing, sla_violations
from vidnet_sim.results.summary import records as rows_of
from vidnet_sim.scenario.units import exact_time_words

#: Links shown in full up to this many; beyond, the most utilised ones.
MAX_LINKS = 30
#: Epochs shown at most (every epoch is in the ``epochs`` table).
MAX_EPOCHS = 40
#: Warnings printed at most (every warning is in the manifest).
MAX_WARNINGS = 5
#: Narrowest a name column gets (ellipsis included) before a table is printed wider than
#: the console.
MIN_NAME_WIDTH = 8


def _ms(ps: object) -> str:
    """``ps`` in milliseconds, 3 significant digits; below a microsecond ``<0.001`` (the
    tables hold the exact value), not ``0.00000000196``."""
    if is_missing(ps):
        return "-"
    ms = float(ps) / 1e9  # type: ignore[arg-type]
    return "<0.001" if 0 < ms < 0.001 else format_significant(ms)


def _sci(x: object) -> str:
    if is_missing(x):
        return "-"
    v = float(x)  # type: ignore[arg-type]
    return "0" if v == 0 else f"{v:.1e}"


def _mbps(bps: object) -> str:
    return "-" if is_missing(bps) else format_significant(float(bps) / 1e6)  # type: ignore[arg-type]


def _sla_cell(ok: object) -> Text:
    if is_missing(ok):
        return Text("-", style="dim")
    return Text("ok", style="green") if bool(ok) else Text("FAIL", style="bold red")


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
    """A text column of names (ellipsised first when the table is too wide)."""
    del values  # sized by print_table from its cells
    table.add_column(header, no_wrap=True)


def _cell_width(cell: object) -> int:
    text = cell if isinstance(cell, Text) else Text(str(cell))
    return max((line.cell_len for line in text.split()), default=0)


def print_table(console: Console, table: Table, *, wide: bool = False) -> None:
    """Print ``table`` without ever cutting a number.

    Right-justified columns (numbers) keep their full width; when the table is wider than
    the console, the left-justified one-line columns (names) are ellipsised first, the
    longest first, down to :data:`MIN_NAME_WIDTH` characters. A table that still does not
    fit, or any table with ``wide``, is printed whole, wider than the console (a terminal
    then wraps its lines). To a pipe or a file, no cell is wrapped either (a long epoch label
    stays on its row's line, for ``grep``).
    """
    names = []
    for col in table.columns:
        if not console.is_terminal:
            col.max_width = None
        widest = max([_cell_width(col.header), *(_cell_width(c) for c in col._cells)])
        if col.justify == "right":
            col.min_width = widest
        elif col.no_wrap:
            col.overflow = "ellipsis"
            names.append((col, widest))

    def needed() -> int:
        return Measurement.get(console, console.options.update_width(10**6), table).maximum

    excess = needed() - console.width
    if excess > 0 and not wide and names:
        shown = {id(col): w for col, w in names}
        while excess > 0:
            col, _ = max(names, key=lambda cw: shown[id(cw[0])])
            if shown[id(col)] <= MIN_NAME_WIDTH:
                break
            shown[id(col)] -= 1
            excess -= 1
        for col, w in names:
            if shown[id(col)] < w:
                col.max_width = shown[id(col)]
    width = max(console.width, needed())
    if width > console.width:
        saved = console.width
        console.width = width
        try:
            console.print(table)
        finally:
            console.width = saved
    else:
        console.print(table)
    if table.caption:  # the table's blank bottom edge is above its caption: one below it too
        console.print()


def _summary_cells(row: dict[str, Any], failures: bool) -> list[str | Text]:
    cells: list[str | Text] = [
        _sla_cell(row["sla_ok"]),
        str(row["packets_sent"]),
        _sci(row["loss"]),
    ]
    if failures:
        cells.append(_sci(row["failure_loss"]))
    cells += [
        _ms(row["latency_mean_ps"]),
        _ms(row["latency_p50_ps"]),
        _ms(row["latency_p99_ps"]),
        _ms(row["latency_p999_ps"]),
        _ms(row["latency_max_ps"]),
        _ms(row["frame_latency_mean_ps"]),
        _ms(row["frame_latency_p99_ps"]),
        _sci(row["frame_loss"]),
        _ms(row["jitter_ps"]),
        _mbps(row["throughput_bps"]),
    ]
    return cells


def _class_blocks(summary: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """Each class row followed by its group rows (per run for a sweep), in table order;
    groups whose class has no row come last, on their own."""
    records = rows_of(summary)
    run = "run" in summary.columns

    def key(r: dict[str, Any]) -> tuple[object, ...]:
        return (r["run"], r["class"]) if run else (r["class"],)

    groups: dict[tuple[object, ...], list[dict[str, Any]]] = {}
    for r in records:
        if r["level"] == "group":
            groups.setdefault(key(r), []).append(r)
    blocks: list[list[dict[str, Any]]] = []
    for r in records:
        if r["level"] == "class":
            blocks.append([r, *groups.pop(key(r), [])])
    blocks += list(groups.values())
    return blocks


def _summary_table(summary: pd.DataFrame) -> Table:
    """Classes, each followed by its groups (indented); failure loss when any was lost."""
    table = _table("Traffic classes and their flow groups (latency in ms)")
    has_run = "run" in summary.columns
    failures = bool((summary["packets_failed"] > 0).any())
    if has_run:
        _name_column(table, "run", summary["run"])
    _name_column(table, "class / group", "  " + summary["name"].astype(str))
    table.add_column("kind", no_wrap=True)
    table.add_column("SLA", no_wrap=True)
    numbers = [
        "sent",
        "loss",
        *(["fail\nloss"] if failures else []),
        "mean",
        "p50",
        "p99",
        "p99.9",
        "max",
        "frame\nmean",
        "frame\np99",
        "frame\nloss",
        "jitter",
        "Mbit/s",
    ]
    for header in numbers:
        table.add_column(header, justify="right", no_wrap=True)
    for block in _class_blocks(summary):
        for i, row in enumerate(block):
            is_class = row["level"] == "class"
            failed = not is_missing(row["sla_ok"]) and not bool(row["sla_ok"])
            cells: list[str | Text] = [Text(str(row["run"]))] if has_run else []
            if is_class:
                cells += [Text(str(row["name"]), style="bold"), Text("class", style="bold")]
            else:
                cells += [Text(f"  {row['name']}"), Text(str(row["kind"]), style="dim")]
            cells += _summary_cells(row, failures)
            style = "red" if failed else ("bold" if is_class else None)
            table.add_row(*cells, style=style, end_section=i == len(block) - 1)
    return table


def _access_rows(access: pd.DataFrame, has_run: bool) -> list[dict[str, Any]]:
    """One row per run summing up the cameras' access links."""
    parts = [access] if not has_run else [g for _, g in access.groupby("run", sort=False)]
    rows = []
    for part in parts:
        if part.empty:
            continue
        rates = part["rate_bps"].unique()
        packets, drops = int(part["packets"].sum()), int(part["drops"].sum())
        rows.append(
            {
                "run": part["run"].iloc[0] if has_run else None,
                "link": f"access links ({len(part)})",
                "src_dst": "cameras → their switch",
                "rate_bps": rates[0] if len(rates) == 1 else math.nan,
                "utilisation": part["utilisation"].max(),
                "throughput_bps": part["throughput_bps"].sum(min_count=1),
                "drops": drops,
                "fail_drops": int(part["fail_drops"].sum()),
                "loss": drops / (packets + drops) if packets + drops > 0 else math.nan,
                "peak_queue_bytes": part["peak_queue_bytes"].max(),
                "peak_queue_packets": part["peak_queue_packets"].max(),
                "peak_wait_ps": part["peak_wait_ps"].max(),
            }
        )
    return rows


def _links_table(links: pd.DataFrame, all_links: bool = False) -> Table:
    """Links by utilisation; by default the cameras' access links as one row."""
    access = links["access"].fillna(False).astype(bool)
    listed = links if all_links else links[~access]
    n = len(listed)
    shown = listed.sort_values("utilisation", ascending=False, na_position="last", kind="stable")
    units = "utilisation in %, rate and throughput in Mbit/s, wait in ms"
    title = f"Links by utilisation ({units})"
    if n > MAX_LINKS and not all_links:
        shown = shown.head(MAX_LINKS)
        title = f"Links: the {MAX_LINKS} most utilised of {n} ({units})"
    has_run = "run" in links.columns
    rows = [{**r, "src_dst": f"{r['src']} → {r['dst']}"} for r in rows_of(shown)]
    summed = [] if all_links else _access_rows(links[access], has_run)
    table = _table(title)
    if summed:
        table.caption = (
            "access links: largest utilisation, peak queue and wait; summed "
            "throughput and drops (all links: --all-links)"
        )
        table.caption_justify = "left"
    failures = bool((links["fail_drops"] > 0).any())
    everything = pd.DataFrame(rows + summed, columns=["run", "link", "src_dst"])
    if has_run:
        _name_column(table, "run", everything["run"])
    _name_column(table, "link", everything["link"])
    _name_column(table, "from → to", everything["src_dst"])
    headers = [
        "rate",
        "util",
        "Mbit/s",
        "drops",
        *(["fail\ndrops"] if failures else []),
        "loss",
        "peak KiB",
        "peak pkts",
        "peak wait",  # the longest wait (peak_wait_ps), not the mean
    ]
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    for i, row in enumerate(rows + summed):
        util = row["utilisation"]
        util_text = Text("-" if is_missing(util) else f"{100 * float(util):.1f}")
        if not is_missing(util) and float(util) >= 0.9:
            util_text.stylize("bold yellow")
        drops = Text(str(row["drops"]), style="red" if row["drops"] > 0 else "")
        cells: list[str | Text] = [Text(str(row["run"]))] if has_run else []
        cells += [
            Text(str(row["link"])),
            Text(str(row["src_dst"])),
            _mbps(row["rate_bps"]),
            util_text,
            _mbps(row["throughput_bps"]),
            drops,
        ]
        if failures:
            fail = int(row["fail_drops"])
            cells.append(Text(str(fail), style="red" if fail > 0 else ""))
        cells += [
            _sci(row["loss"]),
            format_significant(float(row["peak_queue_bytes"]) / 1024),
            str(row["peak_queue_packets"]),
            _ms(row["peak_wait_ps"]),
        ]
        table.add_row(*cells, style="dim" if i >= len(rows) else None)
    return table


def _busiest_links(epoch_links: pd.DataFrame, keys: list[str]) -> dict[tuple[object, ...], Any]:
    """The most utilised link of each epoch (access links only when there is no other)."""
    if epoch_links.empty:
        return {}
    access = epoch_links["access"].fillna(False).astype(bool)
    pool = epoch_links[~access] if (~access).any() else epoch_links
    pool = pool[pool["utilisation"].notna()]
    if pool.empty:
        return {}
    best = pool.loc[pool.groupby(keys, sort=False)["utilisation"].idxmax()]
    return {tuple(r[k] for k in keys): r for r in rows_of(best)}


def _epochs_table(epochs: pd.DataFrame, epoch_links: pd.DataFrame) -> Table | None:
    """Per epoch and class: loss, p99 and max; the epoch's busiest link. ``None`` when the
    run has a single epoch (the summary says it all)."""
    has_run = "run" in epochs.columns
    keys = ["run", "epoch"] if has_run else ["epoch"]
    classes = epochs[epochs["level"] == "class"]
    spans = classes.drop_duplicates(keys)
    most = spans.groupby("run").size().max() if has_run else len(spans)
    if classes.empty or most <= 1:
        return None
    failures = bool((classes["packets_failed"] > 0).any())
    total = len(spans)
    title = "Epochs (latency in ms, utilisation in %)"
    if total > MAX_EPOCHS:
        spans = spans.head(MAX_EPOCHS)
        title = f"Epochs: the first {MAX_EPOCHS} of {total} (latency in ms, utilisation in %)"
    busiest = _busiest_links(epoch_links, keys)
    table = _table(title)
    if has_run:
        table.add_column("run", no_wrap=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("from", no_wrap=True)
    table.add_column("to", no_wrap=True)
    table.add_column("what", max_width=40)
    table.add_column("class", no_wrap=True)
    for header in ("sent", "loss", *(["fail\nloss"] if failures else []), "p99", "max"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("busiest link", no_wrap=True)
    table.add_column("util", justify="right", no_wrap=True)
    by_epoch = {k: g for k, g in classes.groupby(keys, sort=False)}
    for span in rows_of(spans):
        key = tuple(span[k] for k in keys)
        rows = rows_of(by_epoch[key])
        link = busiest.get(key)
        for i, row in enumerate(rows):
            first = i == 0
            cells: list[str | Text] = []
            if has_run:
                cells.append(str(row["run"]) if first else "")
            cells += [
                str(row["epoch"]) if first else "",
                exact_time_words(int(row["t_start_ps"])) if first else "",
                exact_time_words(int(row["t_end_ps"])) if first else "",
                Text(str(row["label"]), style="italic") if first else "",
                str(row["name"]),
                str(row["packets_sent"]),
                _sci(row["loss"]),
            ]
            if failures:
                cells.append(_sci(row["failure_loss"]))
            cells += [_ms(row["latency_p99_ps"]), _ms(row["latency_max_ps"])]
            if first and link is not None:
                util = float(link["utilisation"])
                cells += [
                    str(link["link"]),
                    Text(f"{100 * util:.1f}", style="bold yellow" if util >= 0.9 else ""),
                ]
            else:
                cells += ["", ""]
            table.add_row(*cells, end_section=i == len(rows) - 1)
    return table


def render_warnings(
    warnings: Sequence[str],
    console: Console,
    limit: int | None = MAX_WARNINGS,
    label: str = "warning",
) -> None:
    """Print the run's warnings (e.g. traffic unreachable during a failure) in yellow, one
    ``warning: ...`` (``label``) paragraph each; beyond ``limit`` (``None``: no limit), one
    line counting the others (every warning is in the run's manifest)."""
    shown = list(warnings) if limit is None else list(warnings)[:limit]
    for text in shown:
        console.print(Text(f"{label}: {text}", style="yellow"))
    if len(warnings) > len(shown):
        console.print(
            Text(
                f"warning: {len(warnings) - len(shown)} more warning(s), listed "
                'under "warnings" in manifest.json',
                style="yellow",
            )
        )


def render_summary(
    tables: TablesLike,
    console: Console,
    *,
    all_links: bool = False,
    sla_caveats: Sequence[str] = (),
    wide: bool = False,
) -> None:
    """Print the classes with their groups, the links, the epochs, the SLA violations and an
    SLA verdict.

    Each traffic class (bold) is followed by its flow groups (indented, with their kind).
    Latencies in ms (3 significant digits; the exact mean, p50, p99, p99.9, max: p95 is in
    the data; the frames' exact mean and p99; the mean jitter),
    losses in scientific notation (a ``fail loss`` column when packets were lost to link
    failures), throughput (wire) in Mbit/s; rows failing their SLA in red and every
    violation listed. The cameras' access links make one summary row unless ``all_links``.
    A run with several epochs gets an epochs table (per epoch and class: loss, p99, max;
    the busiest link). The last line is ``SLA: all targets met``, ``SLA: N violation(s)``
    or, when no class has targets, ``SLA: no targets set``.
    """
    s = tables.summary
    print_table(console, _summary_table(s), wide=wide)
    print_table(console, _links_table(tables.links, all_links), wide=wide)
    epochs = getattr(tables, "epochs", None)
    epoch_links = getattr(tables, "epoch_links", None)
    if epochs is not None and epoch_links is not None:
        table = _epochs_table(epochs, epoch_links)
        if table is not None:
            print_table(console, table, wide=wide)
    violations = sla_violations(s)
    failed = {
        f"{r['level']} {r['name']}": float(r["failure_loss"])
        for r in s.to_dict("records")
        if "failure_loss" in r and not is_missing(r["failure_loss"]) and r["failure_loss"] > 0
    }
    for who, what in violations:
        line = Text("SLA FAIL ", style="bold red")
        line.append(f"{who}: {what}", style="red")
        # (not a buffer a faster tier enlarges)
        if what.startswith(f"{metric_words('loss')} ") and who in failed:
            line.append(f" ({failed[who]:.1e} of it lost to link failures)", style="red")
        console.print(line)
    if violations:
        console.print(Text(f"SLA: {len(violations)} violation(s)", style="bold red"))
    elif s["sla_ok"].notna().any() and sla_caveats:
        console.print(
            Text(
                f"SLA: targets met, but {len(sla_caveats)} warning(s) may change that "
                "conclusion (see the warnings)",
                style="bold yellow",
            )
        )
    elif s["sla_ok"].notna().any():
        console.print(Text("SLA: all targets met", style="bold green"))
    else:
        console.print("SLA: no targets set")


#: The heading of ``run --explain``'s lines.
EXPLAIN_HEADING = "Where latency comes from (p99: the packets in its histogram bucket):"


def render_explain(lines: Sequence[str], console: Console) -> None:
    """Print ``run --explain``'s lines under their heading, after a blank line (the summary's
    last line, the SLA verdict, ran into the heading): a line per class, indented; on a
    terminal wrapped at its width under a deeper indent, to a pipe one line each (for
    ``grep``)."""
    console.print()
    console.print(EXPLAIN_HEADING, markup=False, highlight=False)
    for line in lines:
        text = f"  {line}"
        if console.is_terminal:
            text = textwrap.fill(
                text, width=console.width, subsequent_indent="    ", break_on_hyphens=False
            )
        console.print(text, markup=False, highlight=False, soft_wrap=True)


#: The title of the recording storage table.
STORAGE_TITLE = "Recording storage (payload delivered, scaled to a day)"


def render_storage(storage: pd.DataFrame | None, console: Console) -> None:
    """Print the recording storage per recorder (TB per day, TB for the retention period,
    the groups and their retention) after a blank line, nothing when no camera records to a
    recorder."""
    if storage is None or not len(storage):
        return
    console.print()  # (its title ran into the SLA verdict, or the last line of --explain)
    # the title above the table, not the table's own: wider than the table, it wrapped on
    # a terminal ("... scaled" / "to a day)")
    console.print(Text(STORAGE_TITLE, style="bold"), soft_wrap=True)
    table = _table("")
    for header in ("recorder", "groups", "retention", "TB/day", "TB kept"):
        table.add_column(header, justify="left" if header in ("recorder", "groups") else "right")
    for rec, rows in storage.groupby("recorder", sort=True):
        days = sorted({int(d) for d in rows["retention_days"]})
        table.add_row(
            str(rec),
            str(len(rows)),
            " / ".join(f"{d} d" for d in days),
            f"{rows['tb_per_day'].sum():,.3f}",
            f"{rows['tb_retention'].sum():,.2f}",
        )
    console.print(table)
