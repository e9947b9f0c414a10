"""Running a sweep's points: the point function, the executors and the driver.

:func:`compute_point` is a pure function of (scenario, parameters, seed): it returns the
Parquet bytes of the point's tables, or its error. Executors run it somewhere and yield the
outcomes as they complete:

- :class:`SerialExecutor`: in this process;
- :class:`ProcessExecutor`: a local pool of ``spawn``-ed processes (the default);
- :class:`DaskExecutor`: Dask distributed, on an existing scheduler, a ``Client`` you pass,
  or a dask-jobqueue SLURM/PBS cluster it starts (:mod:`vidnet_sim.sweep.cluster`).

:func:`run_sweep` skips the points whose files exist, writes each outcome atomically as it
arrives (:class:`~vidnet_sim.sweep.store.SweepStore`), and records failures per point.
Workers run with ``NUMBA_NUM_THREADS=1``.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import socket
import time
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from vidnet_sim import runner
from vidnet_sim.errors import EXIT_OK, EXIT_PARTIAL
from vidnet_sim.sweep.plan import Point, Sweep, SweepBase
from vidnet_sim.sweep.store import SweepStore, point_files

__all__ = [
    "DaskExecutor",
    "Executor",
    "PointOutcome",
    "ProcessExecutor",
    "SerialExecutor",
    "SweepReport",
    "available_cpus",
    "compute_point",
    "pin_numba_threads",
    "run_sweep",
]


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def pin_numba_threads() -> None:
    """One Numba thread in this process (the sweep runs one point per process)."""
    os.environ["NUMBA_NUM_THREADS"] = "1"


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


def _error_record(exc: BaseException, attempt: str = "") -> dict[str, Any]:
    return {
        "error": type(exc).__name__,
        "message": str(exc) + (f" ({attempt})" if attempt else ""),
        "traceback": "".join(traceback.format_exception(exc)),
        "worker_host": socket.gethostname(),
        "worker_pid": os.getpid(),
    }


def compute_point(base: SweepBase, point: Point) -> PointOutcome:
    """Simulate one point; return its tables as Parquet bytes (or the error it raised)."""
    t0 = time.perf_counter()
    try:
        result = runner.run(base.scenario(point), write=False)  # looked up here: patchable
        files = point_files(point, result.tables, result.manifest)
    except Exception as exc:
        return PointOutcome(point, error=_error_record(exc), wall_seconds=time.perf_counter() - t0)
    return PointOutcome(point, files=files, wall_seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------- executors
class Executor(Protocol):
    """Runs points somewhere; yields their outcomes as they complete."""

    def run(self, base: SweepBase, points: Sequence[Point]) -> Iterator[PointOutcome]: ...

    def __enter__(self) -> Executor: ...

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def close(self) -> None: ...

    @property
    def description(self) -> str: ...


class _Base:
    def __enter__(self) -> Any:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the executor's resources."""


class SerialExecutor(_Base):
    """Run the points one after the other in this process."""

    description = "serial, in this process"

    def __init__(self, point_fn: Callable[[SweepBase, Point], PointOutcome] | None = None) -> None:
        self.point_fn = point_fn or compute_point

    def run(self, base: SweepBase, points: Sequence[Point]) -> Iterator[PointOutcome]:
        for point in points:
            yield self.point_fn(base, point)


# -- local process pool
_started: Any = None


def _init_worker(started: Any) -> None:
    global _started
    pin_numba_threads()
    _started = started


def _pool_task(
    point_fn: Callable[[SweepBase, Point], PointOutcome], base: SweepBase, point: Point
) -> PointOutcome:
    if _started is not None:
        _started.put(point.point_id)
    return point_fn(base, point)


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


class ProcessExecutor(_Base):
    """A pool of ``workers`` local processes (``spawn``), one Numba thread each.

    A worker process that dies (a crash, the OOM killer) breaks the pool. The points that
    were running then run again one at a time, in a pool of their own: one that kills its
    worker there too is recorded as failed (``WorkerDied``); the other unfinished points
    run again as usual. ``point_fn`` (an importable module-level function) replaces
    :func:`compute_point`.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        point_fn: Callable[[SweepBase, Point], PointOutcome] | None = None,
    ) -> None:
        self.workers = max(1, workers or available_cpus())
        self.point_fn = point_fn or compute_point

    @property
    def description(self) -> str:
        return f"{self.workers} local worker process{'es' if self.workers != 1 else ''}"

    def run(self, base: SweepBase, points: Sequence[Point]) -> Iterator[PointOutcome]:
        # spawned workers inherit the environment: Numba reads it when first imported
        with _env("NUMBA_NUM_THREADS", "1"):
            queue = list(points)
            while queue:
                suspects, queue = yield from self._round(base, queue, self.workers)
                while suspects:  # alone, a crash names its point
                    crashed, suspects = yield from self._round(base, suspects, 1)
                    for point in crashed:
                        yield PointOutcome(
                            point,
                            error={
                                "error": "WorkerDied",
                                "message": "the worker process died while running this point, "
                                "twice (a crash, or out of memory)",
                            },
                        )

    def _round(
        self, base: SweepBase, points: list[Point], workers: int
    ) -> Generator[PointOutcome, None, tuple[list[Point], list[Point]]]:
        """Run ``points`` in a fresh pool; yield outcomes; return the points a broken pool
        left: ``(running when it broke, not started)``."""
        ctx = mp.get_context("spawn")
        started = ctx.SimpleQueue()
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(points)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(started,),
        )
        finished: set[str] = set()
        left: list[Point] = []
        try:
            pending: dict[Future[PointOutcome], Point] = {
                pool.submit(_pool_task, self.point_fn, base, p): p for p in points
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    point = pending.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        left.append(point)
                        continue
                    finished.add(point.point_id)
                    yield outcome
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        running: set[str] = set()
        while not started.empty():
            running.add(started.get())
        started.close()
        running -= finished
        if left and not running and not finished:
            raise BrokenProcessPool(
                "the worker processes die before running any point (is the program that "
                "starts the sweep missing an 'if __name__ == \"__main__\":' guard?)"
            )
        return (
            [p for p in left if p.point_id in running],
            [p for p in left if p.point_id not in running],
        )


# -- Dask
def _dask_task(point: Point, base: SweepBase) -> PointOutcome:
    pin_numba_threads()
    return compute_point(base, point)


_PIN_CODE = "import os\nos.environ['NUMBA_NUM_THREADS'] = '1'\n"


class DaskExecutor(_Base):
    """Run the points on Dask distributed.

    Give a ``client`` (e.g. on a ``distributed.LocalCluster``; left open), a scheduler
    ``address`` (``tcp://host:8786``) or ``scheduler_file``, or a ``cluster`` object or a
    ``cluster_factory`` making one on first use (e.g. a dask-jobqueue ``SLURMCluster``;
    closed with the executor). The workers must see the
    scenario's trace files at the same paths; results travel back to this process, which
    writes them.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        address: str | None = None,
        scheduler_file: str | None = None,
        cluster: Any = None,
        cluster_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._own_client = client is None
        self._cluster = cluster
        self._cluster_factory = cluster_factory
        self._client = client
        self._address = address
        self._scheduler_file = scheduler_file

    @property
    def client(self) -> Any:
        """The Dask client (connecting, or starting the cluster, on first use)."""
        if self._client is None:
            import distributed

            Client: Any = distributed.Client
            if self._cluster is None and self._cluster_factory is not None:
                self._cluster = self._cluster_factory()
            if self._cluster is not None:
                self._client = Client(self._cluster)
            elif self._scheduler_file is not None:
                self._client = Client(scheduler_file=self._scheduler_file)
            else:
                self._client = Client(self._address)
        return self._client

    @property
    def description(self) -> str:
        if self._cluster_factory is not None and self._cluster is None:
            return "a Dask batch cluster"
        if self._cluster is not None:
            return f"Dask cluster {type(self._cluster).__name__}"
        where = self._address or self._scheduler_file
        if where is None and self._client is not None:
            where = getattr(self._client.scheduler, "address", None)
        return f"Dask scheduler {where}"

    def run(self, base: SweepBase, points: Sequence[Point]) -> Iterator[PointOutcome]:
        import distributed

        as_completed: Any = distributed.as_completed
        client = self.client
        with contextlib.suppress(Exception):  # best effort: workers may come later
            client.run(exec, _PIN_CODE)
        [base_future] = client.scatter([base], broadcast=True, hash=False)
        by_key = {f"vidnet-point-{p.point_id}-{os.getpid()}-{id(self)}": p for p in points}
        futures = client.map(
            _dask_task, list(by_key.values()), key=list(by_key), base=base_future, pure=False
        )
        try:
            for fut in as_completed(futures):
                point = by_key[fut.key]
                try:
                    outcome = fut.result()
                except Exception as exc:  # KilledWorker, lost data, ...
                    outcome = PointOutcome(point, error=_error_record(exc))
                fut.release()
                yield outcome
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        if self._client is not None and self._own_client:
            self._client.close()
            self._client = None
        if self._cluster is not None and (self._own_client or self._cluster_factory):
            self._cluster.close()
            self._cluster = None


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

    Points whose run folder has its manifest are skipped; with ``skip_failed`` so are points with a
    failure record. Unless ``check`` is false, the scenarios of the points to run are
    validated first (a :class:`~vidnet_sim.errors.ScenarioError` before anything is
    written). ``executor`` defaults to a :class:`ProcessExecutor` of ``workers`` processes
    (all CPUs), or :class:`SerialExecutor` for one worker or one point.
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
    skip = store.done_ids()
    if skip_failed:
        skip |= store.failed_ids()
    todo = [p for p in selected if p.point_id not in skip]
    if check:
        sweep.check(todo)
    store.write_meta(sweep, only_if_missing=not update_meta)
    if update_meta:
        store.clean_temp()
    if executor is None:
        n = workers if workers is not None else available_cpus()
        executor = SerialExecutor() if n <= 1 or len(todo) <= 1 else ProcessExecutor(n)
    report = SweepReport(
        store.root, len(selected), len(selected) - len(todo), executor=executor.description
    )
    if on_start is not None:
        on_start(len(todo), report.skipped, report.executor)
    if todo:
        with executor:
            for outcome in executor.run(sweep.base, todo):
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
    report.wall_seconds = time.perf_counter() - t0
    return report
