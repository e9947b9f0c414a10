"""The ``vidnet-sim run`` and ``vidnet-sim validate`` commands.

Results (and ``--json``) go to stdout; errors, warnings and the progress bar to stderr.
Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 invalid scenario.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from vidnet_sim.cli.output import (
    FloatRange,
    IntRange,
    fail,
    note,
    progress_console,
    reported_errors,
    stderr_console,
    stdout_console,
)
from vidnet_sim.cli.summary import (
    render_explain,
    render_storage,
    render_summary,
    render_warnings,
)
from vidnet_sim.errors import ScenarioError, UnitError
from vidnet_sim.results import default_run_dir, summary_json
from vidnet_sim.results.latency_parts import explain_lines
from vidnet_sim.results.packets import UnknownGroupError
from vidnet_sim.runner import compile_scenario
from vidnet_sim.runner import run as run_scenario
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.bounds import MAX_DURATION_PS
from vidnet_sim.scenario.growth import plan_years, scenario_for_year
from vidnet_sim.scenario.toml_file import read_toml
from vidnet_sim.scenario.units import duration_words, parse_time
from vidnet_sim.sweep import load_sweep

__all__ = ["run", "time_option", "validate"]


#: ``--confidence``, the confidence level of the intervals: one definition for every command.
confidence_option = click.option(
    "--confidence",
    type=FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals.",
)


def time_option(value: str | None, name: str) -> int | None:
    """The picoseconds of a positive duration option (``None`` if not given); a bad value is
    a usage error naming option ``name``."""
    if value is None:
        return None
    try:
        t = parse_time(value)
    except UnitError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None
    if t <= 0:
        raise click.BadParameter(f"must be positive, got '{value}'", param_hint=name)
    if t > MAX_DURATION_PS:
        raise click.BadParameter(
            f"too large: '{value}'; simulated time is counted in int64 picoseconds, so a run "
            "can last at most 40 days",
            param_hint=name,
        )
    return t


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Check a scenario FILE (and its compiled network) or a sweep file, without running it."""
    if _is_sweep_file(file):
        with reported_errors():  # anything unforeseen: one line
            try:
                sw = load_sweep(file)
                sw.check()
                sw.check_networks()  # what `run` refuses at a point (exit 3), before running
            except ScenarioError as exc:
                fail(exc.with_source(str(file)))
        counts = {
            "point": len(sw.points),
            "design": len({p.design_id for p in sw.points}),
            "parameter": len(sw.parameters),
        }
        n = {k: f"{v} {k}{'' if v == 1 else 's'}" for k, v in counts.items()}
        click.echo(
            f"{file}: valid sweep — {n['point']} ({n['design']}, each compiled) over "
            f"{n['parameter']}"
        )
        return
    with reported_errors():  # its errors name the file
        compiled = compile_scenario(file, every_year=True)
    plan, years = compiled.plan, compiled.years
    render_warnings(compiled.scenario.notes, stderr_console(), limit=None, label="note")
    grows = f"; growth plan of {len(years)} years, each compiled" if len(years) > 1 else ""
    duration = duration_words(compiled.scenario.simulation.duration)
    click.echo(
        f"{file}: valid — {len(plan.node_names)} nodes, {plan.n_links} directed links, "
        f"{len(plan.sources)} sources, {plan.n_flows} flows, about "
        f"{compiled.packets:,.0f} packets in {duration}{grows}"
    )


class RunCommand(click.Command):
    """The ``run`` command: a scenario FILE named just after ``--packets`` (which takes an
    optional value) is taken as a group name; when FILE is then missing, the error says so."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # the parser consumes the list
        try:
            return super().parse_args(ctx, args)
        except click.MissingParameter:
            taken = [b for a, b in itertools.pairwise(given) if a == "--packets"]
            files = [b for b in taken if Path(b).is_file()]
            if files:
                raise click.UsageError(
                    f"--packets took {files[0]!r} as a "
                    "group name and FILE is missing: name FILE first "
                    "(run FILE --packets [GROUP,...])",
                    ctx,
                ) from None
            raise


def packet_groups_option(values: tuple[str, ...]) -> list[str] | None:
    """The groups named by ``--packets`` options (each a comma-separated list, or empty:
    ``--packets`` alone), ``None`` for every group."""
    names = [g.strip() for v in values for g in v.split(",") if g.strip()]
    return list(dict.fromkeys(names)) or None


@click.command(cls=RunCommand)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Results folder (default: results/<scenario name>/).",
)
@click.option("--seed", type=IntRange(min=0), help="Override simulation.seed.")
@click.option("--duration", help="Override simulation.duration, e.g. '10s'.")
@click.option(
    "--engine",
    type=click.Choice(["core", "reference"]),
    default="core",
    show_default=True,
    help="The Numba core, or the SimPy reference (slow oracle).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option(
    "--all-links", is_flag=True, help="List every camera access link instead of one summary row."
)
@click.option(
    "--packets",
    "packets_of",
    multiple=True,
    is_flag=False,
    flag_value="",
    metavar="[GROUP,...]",
    help="Also write packets.parquet: one row per packet and destination (emission, "
    "delivery or loss, latency), of every group or of the groups named (comma-separated, "
    "or the option repeated).",
)
@click.option(
    "--sample",
    type=FloatRange(0, 1, min_open=True),
    help="With --packets (implied): keep this share of the packets, e.g. 0.01.",
)
@click.option(
    "--hops",
    is_flag=True,
    help="Also write packet_hops.parquet: one row per packet copy and link crossed "
    "(arrival, transmission start, departure or loss; queueing wait, transmission, "
    "propagation), of the packets --packets and --sample choose (implies --packets).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Also write latency_parts.parquet and say where each class's latency comes from: "
    "queueing, transmission and propagation on each link of its path (logs every packet: "
    "slower).",
)
@click.option(
    "--wide", is_flag=True, help="Never shorten names in the tables (lines may be wider)."
)
@click.option(
    "--year",
    type=IntRange(min=1),
    help="Run year N of the scenario's growth plan (default results folder "
    "results/<scenario name>-yearN/).",
)
@click.option(
    "--threads",
    type=click.Choice(["auto", "1", "2"]),
    default="auto",
    show_default=True,
    help="Threads of the packet core: 2 cuts the network in two parts run side by side, "
    "one step of windows apart (the same results); auto takes 2 when this process may use "
    "two CPUs and the cut's estimate says they pay (an estimated speed-up of 1.4 or more, "
    "at least 0.2 ms of work per step and 10 ms in the whole run), else 1. A packet log "
    "(--packets, --hops, --explain) runs on one.",
)
def run(
    file: Path,
    out_dir: Path | None,
    seed: int | None,
    duration: str | None,
    engine: str,
    as_json: bool,
    all_links: bool,
    packets_of: tuple[str, ...],
    sample: float | None,
    hops: bool,
    explain: bool,
    wide: bool,
    year: int | None,
    threads: str,
) -> None:
    """Simulate scenario FILE; print a summary and write Parquet results."""
    duration_ps = time_option(duration, "--duration")
    target, out_dir = _year_target(file, year, out_dir)
    progress, on_progress = _progress()
    on_phase = startup_notice(progress)
    with reported_errors():
        if progress is not None:
            progress.start()
        try:
            result = run_scenario(
                target,
                seed=seed,
                duration_ps=duration_ps,
                engine=engine,  # type: ignore[arg-type]
                out_dir=out_dir,
                on_progress=on_progress,
                on_phase=on_phase,
                packets=bool(packets_of),
                sample=sample,
                packet_groups=packet_groups_option(packets_of),
                hops=hops,
                explain=explain,
                threads="auto" if threads == "auto" else int(threads),
            )
        except UnknownGroupError as exc:
            raise click.BadParameter(str(exc), param_hint="'--packets'") from None
        finally:
            if progress is not None:
                progress.stop()
    render_warnings(result.warnings, stderr_console())
    if as_json:
        doc: dict[str, Any] = summary_json(result.tables)
        doc["warnings"] = result.warnings
        doc["storage"] = result.manifest.get("storage", {})
        doc["sla"]["caveats"] = result.sla_caveats
        doc["results"] = str(result.out_dir)
        doc["packet_hops"] = result.stats.packet_hops
        doc["wall_seconds"] = result.stats.wall_seconds
        if result.latency_parts is not None:
            doc["latency_parts"] = explain_lines(
                result.latency_parts, result.tables.links, summary=result.tables.summary
            )
        click.echo(json.dumps(doc, indent=2, allow_nan=False))
        return
    out = stdout_console()
    render_summary(
        result.tables, out, all_links=all_links, sla_caveats=result.sla_caveats, wide=wide
    )
    if result.latency_parts is not None:
        render_explain(
            explain_lines(result.latency_parts, result.tables.links, summary=result.tables.summary),
            out,
        )
    render_storage(result.storage, out)
    rate = result.stats.packet_hops / max(result.stats.wall_seconds, 1e-9)
    startup = float(result.manifest.get("startup_seconds") or 0.0)
    compiled = (
        f"; not counting {startup:.0f} s of start-up compiling the packet core, first run only"
        if startup >= STARTUP_NOTICE_SECONDS
        else ""
    )
    out.print(
        f"{result.stats.packet_hops:,} packet-hops in {result.stats.wall_seconds:.2f} s "
        f"({rate / 1e6:.1f} M/s{compiled}) — results in {result.out_dir}",
        markup=False,  # a path may hold brackets
    )


def _year_target(
    file: Path, year: int | None, out_dir: Path | None
) -> tuple[Path | Any, Path | None]:
    """What ``run --year`` simulates: the file itself, or the scenario of that year of its
    growth plan (a year outside the plan is a usage error) and its default results folder."""
    if year is None:
        return file, out_dir
    try:
        scenario = load_scenario(file)
    except ScenarioError as exc:
        fail(exc)
    years = plan_years(scenario)
    if year not in years:
        raise click.BadParameter(
            f"{year}: the growth plan of {file} covers years 1–{years[-1]}"
            if len(years) > 1
            else f"{year}: {file} has no growth plan beyond year 1",
            param_hint="--year",
        )
    return (
        scenario_for_year(scenario, year),
        out_dir or default_run_dir(scenario.name, f"-year{year}"),
    )


#: A start-up (loading the kernels) longer than this is the first run compiling them: say so.
STARTUP_NOTICE_SECONDS = 3.0
#: What the user is told meanwhile.
COMPILING = "compiling the packet core (first run only, one to three minutes)"


def startup_notice(progress: Any) -> Callable[[str], None]:
    """An ``on_phase`` for :func:`vidnet_sim.runner.run`: when the start-up lasts longer
    than :data:`STARTUP_NOTICE_SECONDS`, the progress bar (or, without one, a line on
    stderr) says that the packet core is being compiled, until the simulation starts."""
    timer: threading.Timer | None = None

    def tell() -> None:
        if progress is not None:
            progress.update(progress.task_ids[0], description=COMPILING)
        else:
            note(COMPILING)

    def on_phase(phase: str) -> None:
        nonlocal timer
        if phase == "start-up":
            timer = threading.Timer(STARTUP_NOTICE_SECONDS, tell)
            timer.daemon = True
            timer.start()
            return
        if timer is not None:
            timer.cancel()
            timer.join()
        if progress is not None:
            progress.update(progress.task_ids[0], description="simulating")

    return on_phase


def _is_sweep_file(file: Path) -> bool:
    """Whether ``file`` parses as TOML with a top-level ``[sweep]`` section."""
    try:
        return "sweep" in read_toml(file)
    except ScenarioError:
        return False  # the scenario loader reports it properly


def _progress() -> tuple[Any, Any]:
    """A rich progress bar on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        return None, None
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f} %"),
        TimeRemainingColumn(),
        console=progress_console(),
        transient=True,
    )
    task = progress.add_task("simulating", total=1.0)

    def on_progress(t_ps: int, end_ps: int) -> None:
        progress.update(task, completed=min(1.0, t_ps / max(end_ps, 1)))

    return progress, on_progress
