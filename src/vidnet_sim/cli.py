"""The ``vidnet-sim`` command: a thin layer over the library.

Results (and ``--json``) go to stdout; errors, logs and progress bars to stderr. Exit codes:
0 ok, 1 runtime failure, 2 usage error, 3 invalid scenario, 4 partial results (sweeps).
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from vidnet_sim import __version__
from vidnet_sim.errors import (
    EXIT_INVALID_SCENARIO,
    EXIT_RUNTIME,
    Problem,
    ScenarioError,
    UnitError,
)

_err = Console(stderr=True, highlight=False)
MAX_DURATION_PS = 40 * 86_400 * 10**12  # leaves room for draining within int64 ps


def _fail_scenario(exc: ScenarioError) -> None:
    click.echo(exc.render(), err=True)  # one line per problem, never re-wrapped
    sys.exit(EXIT_INVALID_SCENARIO)


def _time_option(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    from vidnet_sim.scenario.units import parse_time

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vidnet-sim")
def main() -> None:
    """Exact packet simulation for sizing city camera and service networks."""


def entry() -> None:
    """The ``vidnet-sim`` console script: :func:`main`, then the heap frozen before exit.

    Loading the Numba kernels leaves a large heap of compiler objects, which the
    interpreter's final garbage collection would walk (about 0.5 s with cached kernels,
    1.5 s after a compile) unless it is frozen first."""
    try:
        main()
    finally:
        gc.freeze()


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Check a scenario FILE (and its compiled network) or a sweep file, without running it."""
    from vidnet_sim.core.limits import check_limits
    from vidnet_sim.network.plan import NetworkPlan, build_plan
    from vidnet_sim.scenario import Scenario, load_scenario
    from vidnet_sim.timeline.driver import scenario_actions

    if _is_sweep_file(file):
        from vidnet_sim.sweep import load_sweep

        try:
            sw = load_sweep(file)
            sw.check()
        except ScenarioError as exc:
            _fail_scenario(exc.with_source(str(file)))
            return
        click.echo(
            f"{file}: valid sweep — {len(sw.points)} points over {len(sw.parameters)} parameters"
        )
        return
    from vidnet_sim.scenario.growth import plan_years, scenario_for_year

    def compile_year(sc: Scenario) -> NetworkPlan:
        """The year's network, its timeline and what the core can hold: all checked."""
        plan = build_plan(sc, file.parent)
        scenario_actions(sc, plan)
        check_limits(plan, sc.simulation.window, sc.simulation.duration)
        return plan

    try:
        scenario = load_scenario(file)
        plan = compile_year(scenario)
    except ScenarioError as exc:
        _fail_scenario(exc.with_source(str(file)))
        return
    years = plan_years(scenario)
    problems: list[Problem] = []
    for year in years[1:]:  # every later year's network compiles too (routes, failures)
        try:
            compile_year(scenario_for_year(scenario, year))
        except ScenarioError as exc:
            problems += [
                Problem(
                    f"growth (year {year}): {p.path}" if p.path else f"growth (year {year})",
                    p.message,
                )
                for p in exc.problems
            ]
    if problems:
        _fail_scenario(ScenarioError(problems, str(file)))
        return
    grows = f"; growth plan of {len(years)} years, each compiled" if len(years) > 1 else ""
    click.echo(
        f"{file}: valid — {len(plan.node_names)} nodes, {plan.n_links} directed links, "
        f"{len(plan.sources)} sources, {plan.n_flows} flows{grows}"
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Results folder (default: results/<scenario name>/).",
)
@click.option("--seed", type=click.IntRange(min=0), help="Override simulation.seed.")
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
    "--year",
    type=click.IntRange(min=1),
    help="Run year N of the scenario's growth plan (default results folder "
    "results/<scenario name>-yearN/).",
)
def run(
    file: Path,
    out_dir: Path | None,
    seed: int | None,
    duration: str | None,
    engine: str,
    as_json: bool,
    all_links: bool,
    year: int | None,
) -> None:
    """Simulate scenario FILE; print a summary and write Parquet results."""
    from vidnet_sim.results import render_summary, render_warnings, summary_json
    from vidnet_sim.runner import run as run_scenario

    duration_ps = _time_option(duration, "--duration")
    target, out_dir = _year_target(file, year, out_dir)
    progress, on_progress = _progress()
    try:
        if progress is not None:
            progress.start()
        result = run_scenario(
            target,
            seed=seed,
            duration_ps=duration_ps,
            engine=engine,  # type: ignore[arg-type]
            out_dir=out_dir,
            on_progress=on_progress,
        )
    except ScenarioError as exc:
        if progress is not None:
            progress.stop()
        _fail_scenario(exc)
        return
    except Exception as exc:  # a bug or a resource problem: one line, exit 1
        if progress is not None:
            progress.stop()
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_RUNTIME)
    if progress is not None:
        progress.stop()
    render_warnings(result.warnings, _err)
    if as_json:
        doc: dict[str, Any] = summary_json(result.tables)
        doc["warnings"] = result.warnings
        doc["results"] = str(result.out_dir)
        doc["packet_hops"] = result.stats.packet_hops
        doc["wall_seconds"] = result.stats.wall_seconds
        click.echo(json.dumps(doc, indent=2, allow_nan=False))
        return
    out = Console(highlight=False, width=max(120, Console().width))
    render_summary(result.tables, out, all_links=all_links)
    rate = result.stats.packet_hops / max(result.stats.wall_seconds, 1e-9)
    out.print(
        f"{result.stats.packet_hops:,} packet-hops in {result.stats.wall_seconds:.2f} s "
        f"({rate / 1e6:.1f} M/s) — results in {result.out_dir}"
    )


def _year_target(
    file: Path, year: int | None, out_dir: Path | None
) -> tuple[Path | Any, Path | None]:
    """What ``run --year`` simulates: the file itself, or the scenario of that year of its
    growth plan (a year outside the plan is a usage error) and its default results folder."""
    if year is None:
        return file, out_dir
    from vidnet_sim.scenario import load_scenario
    from vidnet_sim.scenario.growth import plan_years, scenario_for_year

    try:
        scenario = load_scenario(file)
    except ScenarioError as exc:
        _fail_scenario(exc)
        raise  # not reached: _fail_scenario exits
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
        out_dir or Path("results") / f"{scenario.name}-year{year}",
    )


def _is_sweep_file(file: Path) -> bool:
    """Whether ``file`` parses as TOML with a top-level ``[sweep]`` section."""
    import tomllib

    try:
        with open(file, "rb") as f:
            return "sweep" in tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return False  # the scenario loader reports it properly


def _progress() -> tuple[Any, Any]:
    """A rich progress bar on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=_err,
        transient=True,
    )
    task = progress.add_task("run", total=1.0)

    def on_progress(t_ps: int, end_ps: int) -> None:
        progress.update(task, completed=min(1.0, t_ps / max(end_ps, 1)))

    return progress, on_progress


def _register_sweeps() -> None:
    from vidnet_sim.sweep.commands import compare as compare_command
    from vidnet_sim.sweep.commands import sweep as sweep_command

    main.add_command(sweep_command)
    main.add_command(compare_command)


def _register_analysis() -> None:
    from vidnet_sim.analysis.commands import capacity, curve, size

    main.add_command(curve)
    main.add_command(capacity)
    main.add_command(size)


_register_sweeps()
_register_analysis()

if __name__ == "__main__":  # pragma: no cover
    entry()
