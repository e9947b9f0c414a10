"""The ``vidnet-sim curve``, ``capacity`` and ``size`` commands.

Exit codes (as the rest of ``vidnet-sim``): 0 ok, 1 runtime failure, 2 usage error,
3 invalid input (scenario, variable, range, an SLA no load or tier meets — ``size`` then
writes the years it sized, labelled partial), 4 partial results (some runs failed: what was
computed is written and labelled partial).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vidnet_sim.analysis.bill import BillModel, CostModelError, load_bill_model
from vidnet_sim.analysis.bill.tables import bill_table
from vidnet_sim.analysis.capacity import find_capacity, show_value
from vidnet_sim.analysis.cost import LEGACY_KEYS, CostModel, load_cost_model
from vidnet_sim.analysis.curve import console_lines, run_curve, write_curve
from vidnet_sim.analysis.estimates import method_meaning, method_words
from vidnet_sim.analysis.html import REPORT_HTML, rerender, write_report
from vidnet_sim.analysis.out_folder import check_out_folder
from vidnet_sim.analysis.report import sizing_tables, write_sizing, years_label
from vidnet_sim.analysis.report_data import judged_differently, load_report_data, with_variants
from vidnet_sim.analysis.report_pages import capacity_report, curve_report
from vidnet_sim.analysis.sizing import MAX_PLANS, SizingStoppedError, size_network
from vidnet_sim.analysis.vary import MAX_REPLICATIONS, MAX_STEPS
from vidnet_sim.cli.executors import ExecutorOptions, executor_options
from vidnet_sim.cli.output import (
    FloatRange,
    IntRange,
    note,
    progress_console,
    reported_errors,
    stdout_console,
    writable,
)
from vidnet_sim.cli.run import confidence_option, time_option
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_PARTIAL, Problem, ScenarioError
from vidnet_sim.execute import JobProgress
from vidnet_sim.results.files import parquet_bytes, write_file
from vidnet_sim.results.metric_words import metric_words
from vidnet_sim.results.store import json_text
from vidnet_sim.scenario.toml_file import read_toml
from vidnet_sim.scenario.units import percent_words

__all__ = ["capacity", "curve", "report", "size"]

#: ``--max-replications`` of the searches that add runs while an interval straddles a
#: target (capacity, size, whatif).
max_replications_option = click.option(
    "--max-replications",
    type=IntRange(1, MAX_REPLICATIONS),
    default=10,
    show_default=True,
    help="Replications added while a confidence interval straddles a target.",
)


def out_folder(folder: Path, kind: str) -> Path:
    """``folder``, once the analysis ``kind`` may write into it (:func:`writable`,
    :func:`check_out_folder`); else the command ends with one line, exit code 2, before
    anything runs."""
    writable(folder)
    with reported_errors():
        check_out_folder(folder, kind)
    return folder


def _duration(value: str | None) -> int | None:
    return time_option(value, "--duration")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "vary"


class _Bar:
    """One rich progress bar for the whole job on stderr (when it is a terminal): done of
    total simulations (the total grows as a search goes), how many run now, how many were
    reused from the store."""

    def __init__(self, label: str) -> None:
        self.progress: Any = None
        self.task: Any = None
        self.state = JobProgress()
        if sys.stderr.isatty():
            self.progress = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("simulations, {task.fields[running]} running, "),
                TextColumn("{task.fields[reused]} reused"),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=progress_console(),
                transient=True,
            )
            self.task = self.progress.add_task("", total=None, running=0, reused=0)

    @property
    def reused(self) -> int:
        return self.state.reused

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, state: JobProgress) -> None:
        self.state = state
        if self.progress is not None:
            self.progress.update(
                self.task,
                completed=state.done,
                total=state.total or None,
                running=state.running,
                reused=state.reused,
                description=state.detail,
            )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--vary",
    "what",
    required=True,
    help="'cameras' (total count), 'bitrate' (a scale) or a dotted field path, "
    "e.g. 'links[\"agg1-core\"].rate'.",
)
@click.option("--from", "start", required=True, help="First value (quantities with a unit).")
@click.option("--to", "stop", required=True, help="Last value.")
@click.option(
    "--steps",
    type=IntRange(1, MAX_STEPS),
    default=5,
    show_default=True,
    help="Number of values.",
)
@click.option(
    "--replications",
    type=IntRange(1, MAX_REPLICATIONS),
    default=3,
    show_default=True,
    help="Independent runs per value (confidence intervals need ≥ 2).",
)
@confidence_option
@click.option("--duration", help="Override simulation.duration of every run, e.g. '10s'.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default results/curves/<scenario>-<vary>/); runs stored there are reused.",
)
@click.option("--no-plot", is_flag=True, help="Do not draw curve.png.")
@click.option("--json", "as_json", is_flag=True, help="Print the curve table as JSON.")
@executor_options
def curve(
    file: Path,
    what: str,
    start: str,
    stop: str,
    steps: int,
    replications: int,
    confidence: float,
    duration: str | None,
    out_dir: Path | None,
    no_plot: bool,
    as_json: bool,
    executor_opts: ExecutorOptions,
) -> None:
    """Latency percentiles and loss per class against a varied load, with confidence
    intervals and the fast estimates (60 % rule, Gaussian, network calculus)."""
    duration_ps = _duration(duration)
    out = out_folder(out_dir or Path("results") / "curves" / f"{file.stem}-{_slug(what)}", "curve")
    executor = executor_opts.executor(out / "_logs")
    with reported_errors(), executor, _Bar("curve") as bar:
        res = run_curve(
            file,
            what,
            start,
            stop,
            steps,
            replications=replications,
            confidence=confidence,
            cache_dir=out,
            duration_ps=duration_ps,
            executor=executor,
            on_progress=bar,
        )
    for w in res.warnings:  # what every run left out (an alarm after --duration)
        note(f"warning: {w}")
    with reported_errors():
        page = curve_report(res, file, res.targets)
        title = page.plots.title if page.plots is not None else ""
        files = write_curve(res, out, plot=not no_plot, title=title)
        files += write_report(page, out)
    if as_json:
        click.echo(res.table.to_json(orient="records"))
    else:
        click.echo(
            f"{page.headline}; per class, the mean ± the half-width of its "
            f"{100 * res.confidence:g} % interval:"
        )
        for line in console_lines(res):
            click.echo(line)
        click.echo(
            f"{res.n_runs} runs ({res.n_reused} reused); files: " + ", ".join(str(f) for f in files)
        )
    if res.partial:
        click.echo(
            f"PARTIAL: {len(res.failures)} run(s) failed; the curve misses them "
            f"(see {out / 'manifest.json'}):",
            err=True,
        )
        for f in res.failures[:5]:
            click.echo(f"  x={f['x']:g} replication {f['replication']}: {f['error']}", err=True)
        sys.exit(EXIT_PARTIAL)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--vary",
    "what",
    default="cameras",
    show_default=True,
    help="'cameras', 'bitrate' or a dotted field path.",
)
@click.option("--start", help="First value tried (default: the scenario's).")
@click.option("--max", "maximum", help="Largest value tried (default 1024 × start).")
@click.option("--replications", type=IntRange(1, MAX_REPLICATIONS), default=3, show_default=True)
@max_replications_option
@confidence_option
@click.option(
    "--tolerance",
    type=FloatRange(0, 1, min_open=True, max_open=True),
    default=0.01,
    show_default=True,
    help="Relative precision: the search stops when the last passing value is within it of "
    "the first failing one (whole numbers, such as a camera count: or one apart).",
)
@click.option("--duration", help="Override simulation.duration of every run.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default results/capacity/<scenario>-<vary>/).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@executor_options
def capacity(
    file: Path,
    what: str,
    start: str | None,
    maximum: str | None,
    replications: int,
    max_replications: int,
    confidence: float,
    tolerance: float,
    duration: str | None,
    out_dir: Path | None,
    as_json: bool,
    executor_opts: ExecutorOptions,
) -> None:
    """The largest camera count (or load) for which every SLA holds; reports the binding
    class and link."""
    duration_ps = _duration(duration)
    out = out_folder(
        out_dir or Path("results") / "capacity" / f"{file.stem}-{_slug(what)}", "capacity"
    )
    executor = executor_opts.executor(out / "_logs")
    with reported_errors(), executor, _Bar("capacity") as bar:
        res = find_capacity(
            file,
            what,
            start=start,
            maximum=maximum,
            replications=replications,
            max_replications=max_replications,
            confidence=confidence,
            rel_tol=tolerance,
            cache_dir=out,
            duration_ps=duration_ps,
            executor=executor,
            on_progress=bar,
        )
    table = res.table().assign(partial=res.partial)
    for w in res.warnings:  # what every run left out (an alarm after --duration)
        note(f"warning: {w}")
    doc = {
        "vary": res.vary.what,
        "capacity": res.capacity,
        "capacity_label": res.vary.label(res.capacity) if res.capacity is not None else None,
        "first_failing": res.first_fail,
        "reached_max_without_failing": res.first_fail is None,
        "limit": res.limit,
        "binding": res.binding,
        "estimates": res.estimates,
        "estimate_notes": res.estimate_notes,
        "warnings": res.warnings,
        "uncertain": res.uncertain,
        "partial": res.partial,
        "failures": res.failures,
    }
    with reported_errors():
        write_file(out / "capacity.parquet", parquet_bytes(table))
        write_file(out / "capacity.json", json_text(doc))
        write_report(capacity_report(res, file, confidence), out)
    if as_json:
        click.echo(json_text(doc))
    else:
        v = res.vary
        if res.first_fail is None:
            click.echo(
                f"capacity: {v.at(v.label(res.capacity or 0), at_least=True)} (every SLA still "
                + (
                    "holds at the largest value tried; raise --max)"
                    if res.limit is None
                    else f"holds at the largest value the scenario accepts; above it: {res.limit})"
                )
            )
        else:
            b = res.binding
            click.echo(
                f"capacity: {v.at(v.label(res.capacity or 0))} "
                f"(fails at {v.at(v.label(res.first_fail))})"
                + (" [uncertain: decided by the mean]" if res.uncertain else "")
            )
            metric = str(b.get("metric"))
            click.echo(
                f"binding: class {b.get('class')!r} {metric_words(metric)} "
                f"(mean {show_value(metric, float(b['mean']))} vs target "
                f"{show_value(metric, float(b['target']))}); "
                f"link {b.get('link')} at utilisation "
                f"{percent_words(b.get('link_utilisation', math.nan), 1)}"
                + (f"; drops on {b['dropping_link']}" if "dropping_link" in b else "")
            )
        for method, x in res.estimates.items():
            click.echo(
                f"estimate, {method_words(method)}: "
                + ("no value passes" if x is None else v.at(v.label(x)))
                + f" ({method_meaning(method, res.estimate_notes)})"
            )
        click.echo(
            f"{len(res.verdicts)} values judged, {bar.reused} runs reused; results in {out} "
            f"(report: {out / 'report.html'})"
        )
    if res.partial:
        click.echo(
            f"PARTIAL: {len(res.failures)} run(s) failed; values were judged on the others",
            err=True,
        )
        sys.exit(EXIT_PARTIAL)


def _cost_models(path: Path | None) -> tuple[CostModel | None, BillModel | None]:
    """The cost model of ``size --costs``: the whole bill, or a link-only cost table in the
    earlier format (``fibre_per_km``, ``port``, ``new_fibre``: links priced alone, no bill)."""
    if path is None:
        return None, BillModel()
    try:
        keys = set(read_toml(path))
    except ScenarioError:
        keys = {""}  # load_bill_model reports it
    if not keys:  # a file given is meant: not the defaults in silence
        raise CostModelError(
            [
                Problem(
                    "",
                    "the file holds no key and no table (it is empty, or only comments); "
                    "write the prices that differ from the defaults (docs/analysis.md, the "
                    "whole bill), or leave out --costs for the documented defaults",
                )
            ],
            str(path),
        )
    if keys & LEGACY_KEYS:
        return load_cost_model(path), None
    return None, load_bill_model(path)


def _last_year(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a bill table's last year (none when the plan had nothing of its kind)."""
    if not len(table):
        return table
    last: pd.DataFrame = table[table["year"] == table["year"].max()]
    return last


def _one_tier(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, ...], ...]:
    """The link groups of ``--one-tier`` options, each a comma-separated list of link ids;
    a group that names no link (``--one-tier ","``) is a usage error."""
    groups = []
    for value in values:
        ids = tuple(x.strip() for x in value.split(",") if x.strip())
        if not ids:
            raise click.BadParameter(
                f"{value!r} names no link; expected comma-separated link ids, e.g. "
                "'ring-ab,ring-bc'"
            )
        groups.append(ids)
    return tuple(groups)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--costs",
    "costs_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cost model TOML (fibre, optics, switches, recording, running costs, discount "
    "rate; see docs/analysis.md); default: the documented defaults.",
)
@click.option(
    "--replications",
    type=IntRange(1, MAX_REPLICATIONS),
    default=3,
    show_default=True,
    help="Independent runs per design.",
)
@max_replications_option
@confidence_option
@click.option("--duration", help="Override simulation.duration of every run.")
@click.option(
    "--max-designs",
    type=IntRange(min=2),
    default=40,
    show_default=True,
    help="Designs judged per year in cost order; past it, the best design found is improved "
    "locally and reported as not proven optimal.",
)
@click.option(
    "--no-vendor-check",
    is_flag=True,
    help="Do not simulate the 60 %-rule design (it is still costed).",
)
@click.option(
    "--over-the-years",
    is_flag=True,
    help="The plan of least cost over all the years (every plan compared, when they are at "
    f"most {MAX_PLANS}) instead of the cheapest design of each year in turn.",
)
@click.option(
    "--survive",
    type=click.Choice(["none", "single-link"]),
    help="single-link: every design must meet the SLA with any one protected link failed "
    "(default: the scenario's [sizing] survive, else none).",
)
@click.option(
    "--protect",
    "protected",
    multiple=True,
    help="A link whose failure is a case under --survive single-link (repeat; default: every "
    "link with a protection path).",
)
@click.option(
    "--failure-loss",
    type=FloatRange(0, 1),
    help="Share of packets a class may lose to a failure's convergence (beside its loss "
    "target, which counts buffer losses).",
)
@click.option(
    "--max-extend",
    type=IntRange(min=1),
    default=16,
    show_default=True,
    help="A design is accepted only on stationary runs, extended up to this many times the "
    "duration (1: no stationarity check).",
)
@click.option(
    "--one-tier",
    multiple=True,
    callback=_one_tier,
    help="Comma-separated link ids held at one tier, e.g. the spans of a ring (repeat).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default results/size/<scenario>/); runs stored there are reused.",
)
@click.option("--no-plot", is_flag=True, help="Do not draw size.png.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@executor_options
def size(
    file: Path,
    costs_file: Path | None,
    replications: int,
    max_replications: int,
    confidence: float,
    duration: str | None,
    max_designs: int,
    no_vendor_check: bool,
    over_the_years: bool,
    survive: str | None,
    protected: tuple[str, ...],
    failure_loss: float | None,
    max_extend: int,
    one_tier: tuple[tuple[str, ...], ...],
    out_dir: Path | None,
    no_plot: bool,
    as_json: bool,
    executor_opts: ExecutorOptions,
) -> None:
    """The cheapest rate tier per link meeting every SLA, for each year of the growth plan:
    upgrade schedule, CAPEX per year and a report (report.md) for a council."""
    duration_ps = _duration(duration)
    out = out_folder(out_dir or Path("results") / "size" / file.stem, "size")
    stopped: SizingStoppedError | None = None
    executor = executor_opts.executor(out / "_logs")
    with reported_errors(), executor:
        model, bill = _cost_models(costs_file)
        with _Bar("size") as bar:
            try:
                res = size_network(
                    file,
                    model,
                    bill=bill,
                    replications=replications,
                    max_replications=max_replications,
                    confidence=confidence,
                    duration_ps=duration_ps,
                    cache_dir=out,
                    max_designs=max_designs,
                    vendor_check=not no_vendor_check,
                    over_the_years=over_the_years,
                    survive=survive,
                    protected=list(protected) or None,
                    failure_loss=failure_loss,
                    max_extend=max_extend,
                    one_tier=[list(g) for g in one_tier] or None,
                    executor=executor,
                    on_progress=bar,
                )
            except SizingStoppedError as exc:
                res, stopped = exc.result, exc
        write_sizing(res, out, plot=not no_plot)
    if as_json:
        click.echo((out / "size.json").read_text(encoding="utf-8"))
    elif res.years:
        console = stdout_console()
        tables = sizing_tables(res)
        for key, title in (
            ("years", "investment per year"),
            ("schedule", "tier per link and year (→: upgrade)"),
        ):
            header, rows = tables[key]
            t = Table(title=title + (" — PARTIAL" if res.partial else ""))
            for h in header:
                t.add_column(h)
            for r in rows:
                t.add_row(*(escape(c.replace("**", "")) for c in r))
            console.print(t)
        if res.bill is not None:
            header, rows = bill_table(res.bill, res.vendor_bill)
            t = Table(title=f"whole bill per year ({res.bill.currency})")
            for h in header:
                t.add_column(h, justify="right")
            for r in rows:
                t.add_row(*r)
            console.print(t)
            for rec in _last_year(res.bill.recorders).to_dict("records"):
                console.print(
                    f"recorder {rec['recorder']} (year {rec['year']}): "
                    f"{rec['tb_per_day']:,.2f} TB/day, {rec['tb_retention']:,.1f} TB kept, "
                    f"{rec['disks']} disks in {rec['servers']} server(s)",
                    markup=False,
                )
            sw = _last_year(res.bill.switches)
            if len(sw):
                console.print(
                    f"switches (year {int(sw['year'].max())}): {int(sw['count'].sum())} at "
                    f"{len(sw)} nodes, PoE {sw['poe_w'].sum():,.0f} W of "
                    f"{sw['poe_budget_w'].sum():,.0f} W budget",
                    markup=False,
                )
            console.print(
                f"net present cost: {res.bill.npc:,.0f} {res.bill.currency} "
                f"(60 % rule: {res.vendor_bill.npc:,.0f} {res.bill.currency})"
                if res.vendor_bill is not None
                else f"net present cost: {res.bill.npc:,.0f} {res.bill.currency}",
                markup=False,
            )
        capex = (
            float(res.bill.years["capex"][res.bill.years["year"] <= res.years[-1].year].sum())
            if res.bill is not None
            else res.total_capex
        )
        console.print(
            f"total CAPEX, {years_label([y.year for y in res.years])}: "
            f"{capex:,.0f} {res.currency}"
            + (" [uncertain]" if res.uncertain else "")
            + f"; {bar.reused} runs reused; report: {out / 'report.html'} "
            f"(and report.md)",
            markup=False,  # "[uncertain]" and the path are text, not rich markup
        )
        # what the plan is, and what is proven of its cost and what is not
        console.print("\n".join([res.claim, *res.bound_lines()]), markup=False)
    for w in res.warnings:  # what may change the verdict, as the report's risk box says
        note(f"warning: {w}")
    if stopped is not None:
        click.echo(
            f"PARTIAL: {stopped} (years sized: "
            f"{', '.join(str(y.year) for y in res.years) or 'none'}; written to "
            f"{out})",
            err=True,
        )
        sys.exit(EXIT_INVALID_SCENARIO if stopped.kind == "infeasible" else EXIT_PARTIAL)
    if res.partial:
        click.echo(
            f"PARTIAL: {len(res.failures)} run(s) failed; designs were judged on the "
            f"others (see {out / 'size.json'})",
            err=True,
        )
        sys.exit(EXIT_PARTIAL)


def _variant(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for v in values:
        name, sep, folder = v.partition("=")
        if not sep or not name or not folder:
            raise click.BadParameter(f"expected NAME=RESULTS_DIR, got {v!r}")
        if name in out:
            raise click.BadParameter(f"the name {name!r} is given twice")
        out[name] = Path(folder)
    return out


@click.command()
@click.argument("results_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--compare",
    "variants",
    multiple=True,
    callback=_variant,
    metavar="NAME=RESULTS_DIR",
    help="Set another sizing beside this one as a what-if (repeatable), e.g. "
    "'h265=results/size/town-h265'; stored in RESULTS_DIR/report.json.",
)
def report(results_dir: Path, variants: dict[str, Path]) -> None:
    """Draw report.html again from the report.json that size, capacity or curve stored in
    RESULTS_DIR (nothing is simulated); with --compare, add what-ifs side by side."""
    with reported_errors():
        if variants:
            base = load_report_data(results_dir)
            others = {name: load_report_data(folder) for name, folder in variants.items()}
            write_report(with_variants(base, others, results_dir.name), results_dir)
            for line in judged_differently(base, others):
                note(f"warning: {line}")
            path = results_dir / REPORT_HTML
        else:
            path = rerender(results_dir)
    click.echo(f"report: {path}")
