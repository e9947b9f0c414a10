"""The ``vidnet-sim sweep`` and ``vidnet-sim compare`` commands.

Results and ``--json`` go to stdout; errors, logs and the
progress bar to stderr. Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 invalid
scenario or sweep spec (also a design whose network ``run`` would refuse: before any point
runs), 4 some points failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from vidnet_sim.cli.executors import ExecutorOptions, executor_options
from vidnet_sim.cli.output import (
    IntRange,
    fail,
    interrupted,
    note,
    progress_console,
    reported_errors,
    stdout_console,
    stop,
    writable,
)
from vidnet_sim.cli.run import confidence_option, time_option
from vidnet_sim.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, VidnetError
from vidnet_sim.execute import failure_words
from vidnet_sim.results import SCHEMAS, read_results
from vidnet_sim.results.metric_words import interval_words, metric_words
from vidnet_sim.scenario.units import format_time
from vidnet_sim.sweep import (
    Executor,
    PointOutcome,
    SerialExecutor,
    SweepReport,
    SweepStore,
    compare_results,
    load_sweep,
    run_sweep,
)
from vidnet_sim.sweep.cluster import sbatch_script
from vidnet_sim.sweep.compare import (
    STAT_COLUMNS,
    check_table_target,
    format_value,
    write_table,
)
from vidnet_sim.sweep.plan import params_text, value_text

__all__ = ["compare", "sweep"]


class _Eta(ProgressColumn):
    """Remaining time from the mean rate so far (robust for slow, parallel points)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed
        if not task.completed or elapsed is None or task.total is None:
            return Text("ETA –:––", style="progress.remaining")
        left = max(0.0, (task.total - task.completed) * elapsed / task.completed)
        h, rem = divmod(int(left + 0.5), 3600)
        m, s = divmod(rem, 60)
        return Text(
            f"ETA {h}:{m:02d}:{s:02d}" if h else f"ETA {m}:{s:02d}", style="progress.remaining"
        )


# --------------------------------------------------------------------------- sweep
@click.command("sweep", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Sweep folder (default: results/sweeps/<FILE stem>/).",
)
@executor_options
@click.option(
    "--index",
    type=IntRange(min=0),
    help="Run only job-array task INDEX's points (no other dependency).",
)
@click.option(
    "--chunk",
    type=IntRange(min=1),
    default=1,
    show_default=True,
    help="Points per --index task (and per --print-sbatch array task).",
)
@click.option(
    "--print-sbatch",
    is_flag=True,
    help="Validate, prepare the folder and print a SLURM job-array script.",
)
@click.option(
    "--max-parallel",
    type=IntRange(min=1),
    help="--print-sbatch: at most this many array tasks at once.",
)
@click.option(
    "--duration",
    help="Override simulation.duration of every point, e.g. '10s' (default folder "
    "results/sweeps/<FILE stem>-<duration>/).",
)
@click.option("--status", is_flag=True, help="List done, failed and missing points.")
@click.option("--list", "list_points", is_flag=True, help="List the points of the sweep.")
@click.option("--skip-failed", is_flag=True, help="Do not retry points that failed before.")
@click.option("--json", "as_json", is_flag=True, help="Print the report or status as JSON.")
def sweep(
    file: Path,
    out_dir: Path | None,
    executor_opts: ExecutorOptions,
    index: int | None,
    chunk: int,
    print_sbatch: bool,
    max_parallel: int | None,
    duration: str | None,
    status: bool,
    list_points: bool,
    skip_failed: bool,
    as_json: bool,
) -> None:
    """Run the parameter sweep of FILE, one Parquet file per point; resume where it stopped.

    FILE is a scenario with a [sweep] section, or a sweep file with [sweep] and
    scenario = "<scenario file>". Points whose files exist are skipped; a design that run
    would refuse refuses the sweep before any point runs (exit code 3); a point that fails
    running is recorded with its error and the sweep goes on (exit code 4).
    """
    workers, scheduler, cluster = (
        executor_opts.workers,
        executor_opts.scheduler,
        executor_opts.cluster,
    )
    modes = [
        name
        for name, on in (
            ("--status", status),
            ("--list", list_points),
            ("--print-sbatch", print_sbatch),
            ("--index", index is not None),
            ("--scheduler", scheduler is not None),
            ("--cluster", cluster is not None),
        )
        if on
    ]
    if len(modes) > 1:
        raise click.UsageError(f"{' and '.join(modes)} cannot be used together")
    if workers is not None and modes and modes[0] != "--status":
        raise click.UsageError(f"--workers cannot be used with {modes[0]}")
    duration_ps = time_option(duration, "--duration")
    with reported_errors():
        sw = load_sweep(file, duration_ps=duration_ps)
    if duration_ps is not None and "simulation.duration" in sw.parameters:
        raise click.BadParameter(
            "simulation.duration is swept: its values are the points'", param_hint="--duration"
        )
    name = sw.name if duration_ps is None else f"{sw.name}-{format_time(duration_ps)}"
    out = out_dir if out_dir is not None else Path("results") / "sweeps" / name
    store = SweepStore(out)
    options = executor_opts.job_options()
    with reported_errors():
        store.check(sw)
        if status:
            _print_status(sw, store, as_json)
            return
        if list_points:
            _print_points(sw, store, as_json)
            return
        if print_sbatch:
            writable(out)
            _print_sbatch(sw, file, out, chunk, max_parallel, options)
            return
        _run(
            sw,
            writable(out),
            executor_opts=executor_opts,
            index=index,
            chunk=chunk,
            skip_failed=skip_failed,
            as_json=as_json,
        )


def _run(
    sw: Any,
    out: Path,
    *,
    executor_opts: ExecutorOptions,
    index: int | None,
    chunk: int,
    skip_failed: bool,
    as_json: bool,
) -> None:
    points = None
    executor: Executor | None
    if index is not None:
        points = _task_points(sw, index, chunk)
        if points is None:
            return
        executor = SerialExecutor()
    else:
        executor = executor_opts.remote(out / "_logs")
    bar = _SweepProgress(sw, out)
    try:
        report = run_sweep(
            sw,
            out,
            executor=executor,
            workers=executor_opts.workers,
            points=points,
            skip_failed=skip_failed,
            on_start=bar.on_start,
            on_progress=bar.on_progress,
            update_meta=index is None,
        )
    except (KeyboardInterrupt, Exception) as exc:
        if not interrupted(exc):
            raise
        bar.stop()
        stop(EXIT_INTERRUPTED, "sweep: interrupted; finished points are kept, run again to resume")
    finally:
        bar.stop()
        if executor is not None:
            executor.close()
    _print_report(sw, out, report, as_json)
    sys.exit(report.exit_code)


def _task_points(sw: Any, index: int, chunk: int) -> Any:
    """The points of array task ``index`` (``chunk`` points per task), or None (after a
    note) when the task has none."""
    points = sw.points[index * chunk : (index + 1) * chunk]
    if not points:
        n_tasks = -(-len(sw.points) // chunk)
        note(
            f"sweep: task {index} has no points (the sweep has {len(sw.points)} "
            f"points: {n_tasks} task(s) of {chunk})"
        )
        return None
    return points


class _SweepProgress:
    """The sweep's start note, failed-point lines and progress bar (on a terminal)."""

    def __init__(self, sw: Any, out: Path) -> None:
        self.sw, self.out = sw, out
        self.progress: Any = None
        self.task: Any = None

    def on_start(self, n_todo: int, n_skipped: int, where: str) -> None:
        note(
            f"sweep {self.sw.name}: {n_todo} point(s) to run, {n_skipped} already done; "
            f"{where}; results in {self.out}"
        )
        if n_todo and sys.stderr.isatty():
            self.progress = Progress(
                TextColumn("points"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[red]{task.fields[failed]} failed"),
                TimeElapsedColumn(),
                _Eta(),
                console=progress_console(),
                transient=True,
            )
            self.task = self.progress.add_task("sweep", total=n_todo, failed=0)
            self.progress.start()

    def on_progress(self, outcome: PointOutcome, n_ok: int, n_failed: int, n_todo: int) -> None:
        if outcome.error is not None:
            line = (
                f"point #{outcome.point.index} {outcome.point.point_id} failed: "
                f"{failure_words(outcome.error)}"
            )
            if self.progress is None:
                note(line)
            else:
                self.progress.console.print(line, markup=False)
        if self.progress is not None:
            self.progress.update(self.task, completed=n_ok + n_failed, failed=n_failed)

    def stop(self) -> None:
        _stop(self.progress)


def _print_report(sw: Any, out: Path, report: SweepReport, as_json: bool) -> None:
    """The sweep's report on stdout: JSON, or one summary line (and where to find the
    failed points)."""
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, allow_nan=False))
        return
    n_ok, n_failed = len(report.computed), len(report.failed)
    click.echo(
        f"{report.total} point(s): {n_ok} computed, {report.skipped} already done, "
        f"{n_failed} failed ({report.wall_seconds:.1f} s, {report.executor}) — "
        f"results in {out}"
    )
    if n_failed:
        click.echo(f"failed points are listed by: vidnet-sim sweep {sw.file} --out {out} --status")


def _stop(progress: Any) -> None:
    if progress is not None:
        progress.stop()


def _print_status(sw: Any, store: Any, as_json: bool) -> None:
    st = store.status(sw)
    sw.check([*st.missing, *(p for p, _ in st.failed)])  # what a run would refuse (exit 3)
    if as_json:
        click.echo(json.dumps(st.as_dict(), indent=2, allow_nan=False, default=str))
        return
    out = stdout_console()
    out.print(f"sweep {escape(sw.name)}: {st.total} point(s) in {escape(str(store.root))}")
    out.print(f"  done     {len(st.done)}")
    out.print(f"  failed   {len(st.failed)}")
    out.print(f"  missing  {len(st.missing)}")
    if st.extra:
        out.print(f"  other finished points in the folder (not in this sweep): {len(st.extra)}")
    if st.temp_files:
        out.print(f"  temporary files (killed or running writes): {st.temp_files}")
    if st.failed:
        out.print("failed:")
        for p, rec in st.failed:
            out.print(
                f"  #{p.index} {p.point_id} {escape(params_text(p.params))}: "
                f"{escape(failure_words(rec))}"
            )
    if st.missing:
        shown = st.missing[:20]
        out.print(
            "missing: "
            + ", ".join(f"#{p.index} {p.point_id}" for p in shown)
            + (f" … and {len(st.missing) - len(shown)} more" if len(st.missing) > 20 else "")
        )


def _print_points(sw: Any, store: Any, as_json: bool) -> None:
    done, failed = store.done_ids(), store.failed_ids()
    sw.check([p for p in sw.points if p.point_id not in done])  # what a run would refuse

    def state(pid: str) -> str:
        return "done" if pid in done else "failed" if pid in failed else "missing"

    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "index": p.index,
                        "point_id": p.point_id,
                        "replication": p.replication,
                        "seed": p.seed,
                        "params": p.params,
                        "status": state(p.point_id),
                    }
                    for p in sw.points
                ],
                indent=2,
            )
        )
        return
    table = Table(title=f"sweep {sw.name}: {len(sw.points)} point(s)")
    for col in ("#", "point_id", "rep", "seed", *sw.parameters, "status"):
        table.add_column(col, overflow="fold")
    for p in sw.points:
        table.add_row(
            str(p.index),
            p.point_id,
            str(p.replication),
            str(p.seed),
            *[value_text(p.params[k]) for k in sw.parameters],
            state(p.point_id),
        )
    stdout_console().print(table)


def _print_sbatch(
    sw: Any, file: Path, out: Path, chunk: int, max_parallel: int | None, options: Any
) -> None:
    sw.check()
    sw.check_networks()  # what each task's run would refuse (exit 3), before submitting
    store = SweepStore(out)
    store.write_meta(sw)
    (out / "_logs").mkdir(parents=True, exist_ok=True)
    click.echo(
        sbatch_script(
            file,
            out,
            len(sw.points),
            chunk=chunk,
            max_parallel=max_parallel,
            options=options,
            job_name=f"vidnet-{sw.name}",
            workdir=Path.cwd(),
        ),
        nl=False,
    )


# --------------------------------------------------------------------------- compare
@click.command("compare", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("b", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the full table here (.parquet or .csv; default "
    "results/compare/<A>-vs-<B>.parquet).",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="A column of the summary or links table to compare (repeatable).",
)
@confidence_option
@click.option("--groups", is_flag=True, help="Compare flow groups too, not only classes.")
@click.option(
    "--access-links", is_flag=True, help="Compare the cameras' access links too (left out)."
)
@click.option(
    "--limit",
    type=IntRange(min=1),
    default=60,
    show_default=True,
    help="Print at most this many rows (the significant ones first).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON records.")
def compare(
    a: Path,
    b: Path,
    out_file: Path | None,
    metrics: tuple[str, ...],
    confidence: float,
    groups: bool,
    access_links: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Compare results B against A (run or sweep folders), per class and per link.

    Replications of one design give a mean and a confidence interval. A difference is
    significant by Welch's t-test with the Benjamini–Hochberg correction across all rows
    (false discovery rate at most 1 - confidence); significant rows are printed first.
    Shared sweep parameters are matched; parameters with one value are not printed.
    """
    known = set(SCHEMAS["summary"].names) | set(SCHEMAS["links"].names)
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise click.BadParameter(f"unknown column(s) {', '.join(unknown)}", param_hint="--metric")
    target = out_file or Path("results") / "compare" / f"{a.name}-vs-{b.name}.parquet"
    with reported_errors():  # a place that cannot take it: one line, exit 2, before reading
        check_table_target(target)
    with reported_errors():  # anything unforeseen in a damaged folder: one line too
        try:
            ra, rb = read_results(a), read_results(b)
        except VidnetError as exc:  # a folder named on the command line that cannot be read
            fail(exc, EXIT_USAGE)
    for folder, res in ((a, ra), (b, rb)):
        if res.summary is None or not len(res.summary):  # (a sweep none of whose points ran)
            stop(
                EXIT_USAGE,
                f"error: {folder}: no finished run to compare (a sweep none of whose points is "
                "done: `vidnet-sim sweep FILE --status` lists them)",
            )
    with reported_errors():
        df = compare_results(
            ra,
            rb,
            confidence=confidence,
            metrics=metrics or None,
            groups=groups,
            access_links=access_links,
        )
        written = write_table(df, target, checked=True)
    if as_json:
        click.echo(df.to_json(orient="records", indent=2))
        return
    _render_comparison(df, a, b, confidence, limit, written)
    sys.exit(EXIT_OK)


def _render_comparison(
    df: Any, a: Path, b: Path, confidence: float, limit: int, written: Path
) -> None:
    out = stdout_console()
    params = [c for c in df.columns if c not in ("table", "level", "name", *STAT_COLUMNS)]
    constant = [p for p in params if df[p].nunique(dropna=False) <= 1]
    params = [p for p in params if p not in constant]
    # significant rows first (smallest q-value first), then the others in table order
    order = df.assign(_q=df["q_value"].where(df["significant"])).sort_values(
        ["significant", "_q"], ascending=[False, True], kind="stable", na_position="last"
    )
    shown = order.head(limit)
    pct = f"{100 * confidence:g} %"
    fdr = f"{100 * (1 - confidence):g} %"
    table = Table(
        title=f"{escape(str(b))} − {escape(str(a))} (mean ± {pct} CI; ≠: significant, false "
        f"discovery rate ≤ {fdr})",
        title_justify="left",
    )
    for col in ("", "level", "name", *params, "metric", "A", "B", "B − A", "rel", "q"):
        table.add_column(escape(col), overflow="fold")
    for rec in shown.to_dict("records"):
        m = str(rec["metric"])

        def side(s: str, rec: dict[str, Any] = rec, m: str = m) -> str:
            mean, ci = float(rec[f"mean_{s}"]), float(rec[f"ci_{s}"])
            text = format_value(m, mean)
            if mean != mean:
                return text
            rests = interval_words(mean - ci, mean + ci, int(rec[f"n_{s}"]), m)
            return text + (f" ({rests})" if rests else f" ± {format_value(m, ci)}")

        rel, q = rec["rel_diff"], rec["q_value"]
        table.add_row(
            "≠" if rec["significant"] else "",
            str(rec["level"]),
            escape(str(rec["name"])),
            *[escape(str(rec[p])) for p in params],
            metric_words(m),
            side("a"),
            side("b"),
            format_value(m, rec["diff"]),
            f"{100 * rel:+.1f} %" if rel == rel else "–",
            f"{q:.2g}" if q == q else "–",
            style="bold" if rec["significant"] else None,
        )
    out.print(table)
    n_sig = int(df["significant"].sum()) if len(df) else 0
    if constant:
        same = ", ".join(f"{p}={df[p].iloc[0]}" for p in constant)
        out.print(f"the same in every row (not shown): {escape(same)}")
    if len(shown) < len(df):
        out.print(f"{len(df) - len(shown)} more row(s) not shown (--limit)")
    tested = int(df["p_value"].notna().sum()) if len(df) else 0
    single = [
        f"{side} ({path})" for side, path, n in (("A", a, "n_a"), ("B", b, "n_b"))
        if len(df) and int(df[n].max()) < 2
    ]  # fmt: skip
    if tested == 0 and single:
        out.print(
            f"no row was tested: {' and '.join(single)} "
            f"{'has' if len(single) == 1 else 'have'} one run per design, and a test (and a "
            "confidence interval) needs two or more on each side; run "
            f"{'it' if len(single) == 1 else 'them'} as a sweep with replications = 3 or "
            "more (a sweep file naming the scenario, as scenarios/sweep-small-town-as-built"
            ".toml does) and compare the sweep's folder",
            markup=False,
        )
    else:
        out.print(
            f"significance: Welch's t-test per row, Benjamini–Hochberg correction across the "
            f"{tested} tested row(s) (false discovery rate ≤ {fdr}); rows without two "
            "replications on each side are not tested"
        )
    out.print(
        f"{len(df)} difference(s), {n_sig} significant — table written to {written}",
        markup=False,
    )
