"""Running a sweep's points: the point function and the driver.

:func:`compute_point` is a pure function of (scenario, parameters, seed): it returns the
Parquet bytes of the point's tables, or its error. The executors of
:mod:`vidnet_sim.execute` run it (in this process, on local processes, on Dask) and yield
the outcomes as they complete; :func:`run_sweep` skips the points whose files exist, writes
each outcome atomically as it arrives (:class:`~vidnet_sim.sweep.store.SweepStore`), and
records failures per point. ``SerialExecutor`` and ``ProcessExecutor`` here take a
``point_fn`` replacing :func:`compute_point` (an importable module-level function).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidnet_sim import execute, runner
from vidnet_sim.errors import EXIT_OK, EXIT_PARTIAL, Problem
from vidnet_sim.execute import (
    DaskExecutor,
    Executor,
    TaskOutcome,
    available_cpus,
    error_record,
    pin_numba_threads,
)
from vidnet_sim.sweep.compiled import folder as compiled_folder
from vidnet_sim.sweep.compiled import kept_bytes, remove_folder
from vidnet_sim.sweep.compiled import take as take_compiled
from vidnet_sim.sweep.plan import Point, Sweep, SweepBase, design_problems
from vidnet_sim.sweep.store import SweepStore, point_files

__all__ = [
    "DaskExecutor",
    "Executor",
    "PointOutcome",
    "ProcessExecutor",
    "SerialExecutor",
    "SweepReport",
    "available_cpus",
    "check_designs",
    "compute_point",
    "pin_numba_threads",
    "run_sweep",
]


@dataclass
class PointOutcome:
    """What running one point gave: its files' bytes, or its error."""

    point: Point
    files: dict[str, bytes] | None = None
    error: dict[str, Any] | None = None
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.files is not None


def compute_point(base: SweepBase, point: Point) -> PointOutcome:
    """Simulate one point (the network the sweep's check compiled for it, when it left it
    in ``base.compiled_dir``); return its tables as Parquet bytes (or the error it
    raised)."""
    t0 = time.perf_counter()
    try:
        # the network the sweep's check compiled for this point, if it left it
        compiled = take_compiled(base.compiled_dir, point.point_id) if base.compiled_dir else None
        scenario = compiled.scenario if compiled is not None else base.scenario(point)
        result = runner.run(scenario, write=False, compiled=compiled)  # looked up here: patchable
        files = point_files(point, result.tables, result.manifest)
    except Exception as exc:
        return PointOutcome(point, error=error_record(exc), wall_seconds=time.perf_counter() - t0)
    return PointOutcome(point, files=files, wall_seconds=time.perf_counter() - t0)


PointFn = Callable[[SweepBase, Point], PointOutcome]


class SerialExecutor(execute.SerialExecutor):
    """Run the points one after the other in this process (``point_fn``: see the module)."""

    def __init__(self, point_fn: PointFn | None = None) -> None:
        self.point_fn = point_fn or compute_point


class ProcessExecutor(execute.ProcessExecutor):
    """:class:`vidnet_sim.execute.ProcessExecutor` with a ``point_fn`` (see the module)."""

    def __init__(self, workers: int | None = None, *, point_fn: PointFn | None = None) -> None:
        super().__init__(workers)
        self.point_fn = point_fn or compute_point


def _point_outcome(outcome: TaskOutcome) -> PointOutcome:
    if isinstance(outcome.value, PointOutcome):
        return outcome.value
    return PointOutcome(outcome.item, error=outcome.error or {"error": "unknown"})


def run_points(executor: Executor, base: SweepBase, points: Sequence[Point]) -> Any:
    """Run ``points`` on ``executor``; yield their :class:`PointOutcome` as they complete."""
    point_fn = getattr(executor, "point_fn", compute_point)
    for outcome in executor.run_tasks(point_fn, base, {p.point_id: p for p in points}):
        yield _point_outcome(outcome)


#: How long the designs of a sweep are checked in this process before the rest are handed
#: to the executor's workers (a sweep of a few small designs starts no worker to be refused).
IN_PROCESS_CHECK_SECONDS = 1.0
#: The most bytes of compiled networks the check leaves for the points (a mid-size city's
#: takes 0.9 MB, the large city's 10 MB): the points of the designs checked beyond it
#: compile their own.
KEEP_COMPILED_BYTES = 1 << 30


def check_designs(
    base: SweepBase, designs: Sequence[Point], executor: Executor
) -> dict[str, list[Problem]]:
    """The problems of each design of ``designs`` (one point of each; by design id) that
    ``run`` would refuse it for (:func:`~vidnet_sim.sweep.plan.design_problems`): compiled
    in this process for :data:`IN_PROCESS_CHECK_SECONDS`, the rest on ``executor``'s
    workers at once (started here), unless it runs in this process anyway. With
    ``base.compiled_dir``, the networks compiled are left there for their points, up to
    :data:`KEEP_COMPILED_BYTES` (judged from those compiled here). A design whose check
    failed on a worker for another reason (a worker that died, an unexpected error) is left
    out: its points fail alike when they run, and are recorded."""
    found: dict[str, list[Problem]] = {}
    t0 = time.perf_counter()
    in_process = isinstance(executor, execute.SerialExecutor)
    keeping = base
    kept = n = 0
    while n < len(designs) and (in_process or time.perf_counter() - t0 < IN_PROCESS_CHECK_SECONDS):
        point = designs[n]
        found[point.design_id] = design_problems(keeping, point)
        n += 1
        if keeping.compiled_dir is not None:
            kept += kept_bytes(keeping.compiled_dir, point.point_id)
            if kept >= KEEP_COMPILED_BYTES:
                keeping = dataclasses.replace(base, compiled_dir=None)
    rest = designs[n:]
    if not rest:
        return found
    executor.start()
    room = len(rest)
    if keeping.compiled_dir is None:
        room = 0
    elif kept:
        room = min(room, (KEEP_COMPILED_BYTES - kept) // -(-kept // n))
    for part, shared in (
        (rest[:room], keeping),
        (rest[room:], dataclasses.replace(base, compiled_dir=None)),
    ):
        tasks = {p.design_id: p for p in part}
        for outcome in executor.run_tasks(design_problems, shared, tasks) if tasks else ():
            if outcome.error is None:
                found[outcome.key] = list(outcome.value)
    return found


def _checked(
    sweep: Sweep, root: Path, todo: list[Point], done: set[str], executor: Executor, own: bool
) -> SweepBase:
    """Check the points ``todo`` (their scenarios, then the networks of their designs that
    have no point ``done`` yet, which ran: :func:`check_designs`) before they run; return
    the base to run them with: handed the check's compiled networks
    (:mod:`vidnet_sim.sweep.compiled`) when the executor's workers see this process's
    files. A refusal leaves nothing in the sweep folder ``root`` (and closes the executor,
    when ``own``)."""
    base = sweep.base
    existed = root.exists()
    if todo and executor.shares_files:
        base = dataclasses.replace(base, compiled_dir=str(compiled_folder(root)))
    try:
        sweep.check(todo)
        ran = {p.design_id for p in sweep.points if p.point_id in done}
        designs = [p for p in sweep.designs(todo) if p.design_id not in ran]
        sweep.check_networks(designs, found=check_designs(base, designs, executor))
    except BaseException:
        if base.compiled_dir is not None:
            remove_folder(Path(base.compiled_dir))
        if not existed:  # (the first design kept made it)
            with contextlib.suppress(OSError):
                root.rmdir()
        if own:  # (its workers may have checked designs)
            executor.close()
        raise
    return base


# --------------------------------------------------------------------------- the driver
@dataclass
class SweepReport:
    """What :func:`run_sweep` did."""

    out_dir: Path
    total: int
    skipped: int
    computed: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    executor: str = ""
    wall_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when every point ran, 4 when some failed."""
        return EXIT_PARTIAL if self.failed else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "total": self.total,
            "skipped": self.skipped,
            "computed": len(self.computed),
            "failed": len(self.failed),
            "failed_points": {
                k: {"error": v.get("error"), "message": v.get("message")}
                for k, v in self.failed.items()
            },
            "executor": self.executor,
            "wall_seconds": self.wall_seconds,
        }


#: ``on_progress(outcome, n_ok, n_failed, n_to_run)`` after each point.
ProgressFn = Callable[[PointOutcome, int, int, int], None]


def run_sweep(
    sweep: Sweep,
    out_dir: str | os.PathLike[str],
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    points: Sequence[Point] | None = None,
    skip_failed: bool = False,
    check: bool = True,
    on_start: Callable[[int, int, str], None] | None = None,
    on_progress: ProgressFn | None = None,
    update_meta: bool = True,
) -> SweepReport:
    """Run the points of ``sweep`` (or just ``points``) that ``out_dir`` lacks.

    Points whose run folder has its manifest and is intact are skipped; with
    ``skip_failed`` so are points with a failure record. Unless ``check`` is false, the
    scenarios of the points to run are validated and their networks compiled first, as
    ``run`` does (:meth:`~vidnet_sim.sweep.plan.Sweep.check_networks`: routes, the packet
    volume, what the core holds; the designs on the executor's workers at once after a
    second of them here, :func:`check_designs`; not those of which a point is done): a
    :class:`~vidnet_sim.errors.ScenarioError` naming the sweep value at fault before
    anything is written or run. ``executor``
    defaults to a :class:`ProcessExecutor` of ``workers`` processes (all CPUs), or
    :class:`SerialExecutor` for one worker or one point.
    ``on_start(n_to_run, n_skipped, executor description)`` is called once before
    running. With ``update_meta`` false, ``_sweep.json`` is only written when missing
    (job-array tasks).
    Raises :class:`~vidnet_sim.sweep.store.SweepFolderError` when ``out_dir`` holds another
    sweep.
    """
    t0 = time.perf_counter()
    store = SweepStore(out_dir)
    store.check(sweep)
    selected = list(sweep.points if points is None else points)
    done = store.intact_done_ids()  # a point damaged since it was written runs again
    skip = done | store.failed_ids() if skip_failed else done
    todo = [p for p in selected if p.point_id not in skip]
    own = executor is None
    if executor is None:
        n = workers if workers is not None else available_cpus()
        executor = SerialExecutor() if n <= 1 or len(todo) <= 1 else ProcessExecutor(n)
    base = _checked(sweep, store.root, todo, done, executor, own) if check else sweep.base
    try:
        store.write_meta(sweep, only_if_missing=not update_meta)
        if update_meta:
            store.clean_temp()
        report = SweepReport(
            store.root, len(selected), len(selected) - len(todo), executor=executor.description
        )
        if on_start is not None:
            on_start(len(todo), report.skipped, report.executor)
        if todo:
            with executor:
                for outcome in run_points(executor, base, todo):
                    pid = outcome.point.point_id
                    if outcome.files is not None:
                        store.write_point(pid, outcome.files)
                        report.computed.append(pid)
                    else:
                        error = outcome.error or {"error": "unknown"}
                        store.write_failure(outcome.point, error)
                        report.failed[pid] = error
                    if on_progress is not None:
                        on_progress(outcome, len(report.computed), len(report.failed), len(todo))
    finally:
        if base.compiled_dir is not None:
            remove_folder(Path(base.compiled_dir))
    report.wall_seconds = time.perf_counter() - t0
    return report
