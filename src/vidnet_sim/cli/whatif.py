"""``vidnet-sim whatif``: named variants of a scenario sized and priced side by side."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click
from rich.table import Table

from vidnet_sim.analysis.vary import MAX_REPLICATIONS
from vidnet_sim.analysis.whatif import load_variants, run_whatifs
from vidnet_sim.cli.analysis import (
    _Bar,
    _cost_models,
    _duration,
    max_replications_option,
    out_folder,
)
from vidnet_sim.cli.executors import ExecutorOptions, executor_options
from vidnet_sim.cli.output import IntRange, note, reported_errors, stdout_console
from vidnet_sim.cli.run import confidence_option
from vidnet_sim.errors import EXIT_PARTIAL
from vidnet_sim.results.files import parquet_bytes, write_file
from vidnet_sim.results.store import json_text

__all__ = ["whatif"]


def _money(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:,.0f}"


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("variants_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--costs",
    "costs_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cost model TOML (the whole bill, see docs/analysis.md); default: the documented "
    "defaults.",
)
@click.option("--replications", type=IntRange(1, MAX_REPLICATIONS), default=3, show_default=True)
@max_replications_option
@confidence_option
@click.option("--duration", help="Override simulation.duration of every run.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default results/whatif/<scenario>/); one sub-folder per variant.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@executor_options
def whatif(
    file: Path,
    variants_file: Path,
    costs_file: Path | None,
    replications: int,
    max_replications: int,
    confidence: float,
    duration: str | None,
    out_dir: Path | None,
    as_json: bool,
    executor_opts: ExecutorOptions,
) -> None:
    """Size and price scenario FILE as it is and under each variant of VARIANTS_FILE
    (retention, codec, a span's fibre, ...): net present cost and SLA verdict side by side."""
    duration_ps = _duration(duration)
    out = out_folder(out_dir or Path("results") / "whatif" / file.stem, "whatif")
    executor = executor_opts.executor(out / "_logs")
    with reported_errors(), executor:
        _, bill = _cost_models(costs_file)
        if bill is None:
            raise click.UsageError("whatif needs the whole cost model, not a link-only table")
        variants = load_variants(variants_file)
        with _Bar("whatif") as bar:
            res = run_whatifs(
                file,
                variants,
                bill,
                out,
                on_progress=bar,
                replications=replications,
                max_replications=max_replications,
                confidence=confidence,
                duration_ps=duration_ps,
                executor=executor,
            )
    table = res.table()
    doc = {
        "currency": res.currency,
        "variants": table.to_dict("records"),
        "warnings": res.warnings + res.sizing_warnings(),
    }
    with reported_errors():
        write_file(out / "whatif.parquet", parquet_bytes(table))
        write_file(out / "whatif.json", json_text(doc))
    if as_json:
        click.echo(json_text(doc))
    else:
        t = Table(title=f"what-ifs ({res.currency}; net present cost over the plan)")
        for h in (
            "variant",
            "net present cost",
            "CAPEX",
            "running costs",
            "TB/day",
            "TB kept",
            "SLA",
            "60 % rule",
        ):
            t.add_column(h, justify="left" if h in ("variant", "SLA") else "right")
        for r in table.to_dict("records"):
            t.add_row(
                r["variant"],
                _money(r["net_present_cost"]),
                _money(r["capex"]),
                _money(r["opex"]),
                "—" if not math.isfinite(r["tb_per_day"]) else f"{r['tb_per_day']:,.2f}",
                "—" if not math.isfinite(r["tb_kept"]) else f"{r['tb_kept']:,.1f}",
                r["sla"],
                _money(r["vendor_net_present_cost"])
                + ("" if r["vendor_meets_sla"] in (None, True) else " (misses SLA)"),
            )
        console = stdout_console()
        console.print(t)
        if res.report is not None:
            console.print(f"side by side: {res.report}", markup=False)
        console.print(
            "each variant's sizing report: "
            + ", ".join(str(folder / "report.html") for folder in res.folders.values()),
            markup=False,
        )
        for w in doc["warnings"]:
            note(f"warning: {w}")
    if any(str(r["sla"]).startswith("partial") for r in table.to_dict("records")):
        sys.exit(EXIT_PARTIAL)  # runs failed; a variant whose SLA no tier meets is an answer
