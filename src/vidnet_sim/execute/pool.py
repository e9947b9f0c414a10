"""Executors: run independent tasks somewhere and yield their outcomes as they complete.

A task is ``fn(shared, item)``: ``fn`` an importable module-level function, ``shared`` the
same for every task of a call (a sweep's base scenario, an analysis's settings), ``item``
the task's own input. Each task has a key (unique within a call). Outcomes carry the value
``fn`` returned, or the error it raised, so one failing task never stops the others.

- :class:`SerialExecutor`: in this process, one after the other;
- :class:`ProcessExecutor`: a pool of ``spawn``-ed local processes, started (and warmed: the
  package imported, the compiled core loaded) by :meth:`~Executor.start` once the job's inputs
  are validated, or on first use, and kept between calls;
- :class:`DaskExecutor`: Dask distributed, on an existing scheduler, a ``Client`` you pass,
  or a dask-jobqueue SLURM/PBS cluster it starts (:mod:`vidnet_sim.execute.cluster`) by
  :meth:`~Executor.start` or on first use.

Workers run with ``NUMBA_NUM_THREADS=1``: one task per CPU. What a task computes depends
only on its inputs, never on where or in which order it runs. ``shares_files`` says whether
the tasks see this process's files at the same paths (so that a task may store what it
computed itself, in parallel, rather than send it back to be written here).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from vidnet_sim.errors import VidnetError
from vidnet_sim.execute.warm import warm_up
from vidnet_sim.runner import available_cpus

__all__ = [
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "TaskFn",
    "TaskOutcome",
    "available_cpus",
    "error_record",
    "failure_words",
    "pin_numba_threads",
]

#: ``fn(shared, item) -> value``: an importable module-level function.
TaskFn = Callable[[Any, Any], Any]


def pin_numba_threads() -> None:
    """One Numba thread in this process (a worker runs one task at a time)."""
    os.environ["NUMBA_NUM_THREADS"] = "1"


def error_record(exc: BaseException, attempt: str = "") -> dict[str, Any]:
    """What is kept of a task's error: its type, message, traceback and where it ran, and
    whether vidnet-sim raised it on purpose (``expected``: an invalid scenario, not a bug;
    :func:`failure_words`)."""
    return {
        "error": type(exc).__name__,
        "message": str(exc) + (f" ({attempt})" if attempt else ""),
        "expected": isinstance(exc, VidnetError),
        "traceback": "".join(traceback.format_exception(exc)),
        "worker_host": socket.gethostname(),
        "worker_pid": os.getpid(),
    }


def failure_words(record: Mapping[str, Any]) -> str:
    """What an :func:`error_record` says to a person: the message alone for an error
    vidnet-sim raises on purpose (``invalid scenario: 1 problem ...``, a worker that died),
    else ``<type>: <message>`` as a command says an unexpected error (a bug, a resource
    problem). The type stays in the record's ``error`` for programs."""
    kind = str(record.get("error") or "unknown error")
    message = str(record.get("message") or "")
    if record.get("expected") and message:
        return message
    return f"{kind}: {message}" if message else kind


@dataclass
class TaskOutcome:
    """What running one task gave: ``value``, or ``error`` (an :func:`error_record`)."""

    key: str
    item: Any
    value: Any = None
    error: dict[str, Any] | None = None
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _call(fn: TaskFn, shared: Any, key: str, item: Any) -> TaskOutcome:
    t0 = time.perf_counter()
    try:
        value = fn(shared, item)
    except Exception as exc:
        return TaskOutcome(
            key, item, error=error_record(exc), wall_seconds=time.perf_counter() - t0
        )
    return TaskOutcome(key, item, value=value, wall_seconds=time.perf_counter() - t0)


class Executor(Protocol):
    """Runs tasks somewhere; yields their outcomes as they complete."""

    def run_tasks(self, fn: TaskFn, shared: Any, items: Mapping[str, Any]) -> Iterator[TaskOutcome]:
        """Run ``fn(shared, item)`` for each ``key → item``; yield outcomes as they complete."""
        ...

    def __enter__(self) -> Executor: ...

    def start(self) -> None:
        """The job's inputs are valid: get ready to run its tasks (no wait). A job calls it
        once it has validated what it can, never before: a refusal then starts nothing."""
        ...

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def close(self) -> None: ...

    @property
    def description(self) -> str: ...

    @property
    def slots(self) -> int:
        """How many tasks it runs at once (what speculative work may fill)."""
        ...

    @property
    def shares_files(self) -> bool:
        """Do the tasks see this process's files at the same paths?"""
        ...


class _Base:
    def __enter__(self) -> Any:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Nothing to get ready."""

    def close(self) -> None:
        """Release the executor's resources."""


class SerialExecutor(_Base):
    """Run the tasks one after the other in this process."""

    description = "serial, in this process"
    slots = 1
    shares_files = True

    def run_tasks(self, fn: TaskFn, shared: Any, items: Mapping[str, Any]) -> Iterator[TaskOutcome]:
        for key, item in items.items():
            yield _call(fn, shared, key, item)


# -- local process pool
_started: Any = None


def _init_worker(started: Any, warm: bool) -> None:
    global _started
    # Ctrl-C in a terminal signals its whole foreground process group, the workers too: the
    # job's process owns it (and ends the workers), a worker ignores it. It was blocked from
    # the worker's start (:func:`_spawning`): one that came meanwhile is dropped here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    pin_numba_threads()
    _started = started
    if warm:  # best effort: a task that fails here fails again, and is reported, as a task
        with contextlib.suppress(Exception):
            warm_up()


def _ping() -> int:
    return os.getpid()


def _pool_task(fn: TaskFn, shared: Any, key: str, item: Any) -> TaskOutcome:
    if _started is not None:
        _started.put(key)
    return _call(fn, shared, key, item)


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


@contextlib.contextmanager
def _spawning() -> Iterator[None]:
    """Meanwhile, the worker processes a pool starts (it starts them as tasks are submitted)
    get ``NUMBA_NUM_THREADS=1`` and start with SIGINT blocked, as multiprocessing's resource
    tracker does, until :func:`_init_worker` ignores it: a Ctrl-C while a worker imports the
    package is neither raised nor printed there. (This process still gets it: the signal
    waits, or another thread takes it, until the mask is restored.)"""
    with _env("NUMBA_NUM_THREADS", "1"):  # Numba reads it when first imported
        if not hasattr(signal, "pthread_sigmask"):
            yield
            return
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


_WORKER_DIED = {
    "error": "WorkerDied",
    "message": "the worker process died while running this task, twice (a crash, or out of memory)",
    "expected": True,
}


class ProcessExecutor(_Base):
    """A pool of ``workers`` local processes (``spawn``), one Numba thread each.

    The pool is started by :meth:`start` (which a job calls once its inputs are validated;
    else on first use; entering the executor as a context manager starts nothing) and kept
    until :meth:`close` (a search calls it many times). Each worker, as it starts, imports the
    package and loads the compiled core (:func:`~vidnet_sim.execute.warm.warm_up`;
    ``warm=False``: not), while this process goes on with its own set-up. :meth:`close` waits
    for workers that are idle; workers still warming up or running a task (the job is being
    abandoned: an error, Ctrl-C) are terminated instead, and reaped. A worker process that
    dies (a crash, the OOM killer, a ``kill``) breaks the pool.
    The tasks that were running then run again one at a time, in a pool of their own: one
    that kills its worker there too gives a ``WorkerDied`` error; the other unfinished tasks
    run again as usual, in a new pool.
    """

    shares_files = True

    def __init__(self, workers: int | None = None, *, warm: bool = True) -> None:
        self.workers = max(1, workers or available_cpus())
        self.warm = warm
        self._pool: ProcessPoolExecutor | None = None
        self._started: Any = None
        self._pings: list[Future[int]] = []

    def __enter__(self) -> ProcessExecutor:
        return self

    def start(self) -> None:
        """Start every worker now (they warm up in the background); no wait."""
        if self._pool is None:
            self._pool, self._started = self._new_pool(self.workers)
            # a spawned pool starts a process per task submitted while none is idle
            with _spawning():
                self._pings = [self._pool.submit(_ping) for _ in range(self.workers)]

    @property
    def slots(self) -> int:
        return self.workers

    @property
    def description(self) -> str:
        return f"{self.workers} local worker process{'es' if self.workers != 1 else ''}"

    def run_tasks(self, fn: TaskFn, shared: Any, items: Mapping[str, Any]) -> Iterator[TaskOutcome]:
        queue = dict(items)
        while queue:
            suspects, queue = yield from self._round(fn, shared, queue, alone=False)
            while suspects:  # alone, a crash names its task
                crashed, suspects = yield from self._round(fn, shared, suspects, alone=True)
                for key, item in crashed.items():
                    yield TaskOutcome(key, item, error=dict(_WORKER_DIED))

    def _new_pool(self, workers: int) -> tuple[ProcessPoolExecutor, Any]:
        ctx = mp.get_context("spawn")
        started = ctx.SimpleQueue()
        # spawned workers inherit the environment: Numba reads it when first imported
        with _env("NUMBA_NUM_THREADS", "1"):
            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(started, self.warm),
            )
        return pool, started

    @staticmethod
    def _submit(
        pool: ProcessPoolExecutor, fn: TaskFn, shared: Any, items: dict[str, Any]
    ) -> dict[Future[TaskOutcome], str]:
        with _spawning():  # workers are started on demand
            return {pool.submit(_pool_task, fn, shared, k, v): k for k, v in items.items()}

    def _round(
        self, fn: TaskFn, shared: Any, items: dict[str, Any], *, alone: bool
    ) -> Generator[TaskOutcome, None, tuple[dict[str, Any], dict[str, Any]]]:
        """Run ``items``; yield outcomes; return the tasks a broken pool left:
        ``(running when it broke, not started)``."""
        if alone:
            pool, started = self._new_pool(1)
        else:
            self.start()
            assert self._pool is not None
            pool, started = self._pool, self._started
        finished: set[str] = set()
        left: dict[str, Any] = {}
        broken = alone
        try:
            try:
                pending = self._submit(pool, fn, shared, items)
            except BrokenProcessPool:  # a worker died while the pool was idle
                pool.shutdown(wait=True, cancel_futures=True)
                started.close()
                pool, started = self._new_pool(1 if alone else self.workers)
                if not alone:
                    self._pool, self._started = pool, started
                pending = self._submit(pool, fn, shared, items)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    key = pending.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        left[key] = items[key]
                        broken = True
                        continue
                    finished.add(key)
                    yield outcome
        except BaseException:  # abandoned (an error here or in the caller, Ctrl-C): no wait
            _terminate(pool)
            if not alone:
                self._pool = None
            started.close()
            raise
        if broken:
            pool.shutdown(wait=True, cancel_futures=True)
            if not alone:
                self._pool = None
        running: set[str] = set()
        while not started.empty():
            running.add(started.get())
        if broken:
            started.close()
        running -= finished
        if left and not running and not finished:
            raise BrokenProcessPool(
                "the worker processes die before running any task (is the program that "
                "starts them missing an 'if __name__ == \"__main__\":' guard?)"
            )
        return (
            {k: v for k, v in left.items() if k in running},
            {k: v for k, v in left.items() if k not in running},
        )

    def close(self) -> None:
        """Stop the pool: idle workers end as usual; workers still warming up (a job refused
        or ended before it used them) are terminated, not waited for."""
        if self._pool is not None:
            if all(f.done() for f in self._pings):
                self._pool.shutdown(wait=True, cancel_futures=True)
            else:
                _terminate(self._pool)
            self._started.close()
            self._pool = None
            self._pings = []


def _terminate(pool: ProcessPoolExecutor, grace_seconds: float = 5.0) -> None:
    """Stop ``pool`` without waiting for its workers' work: cancel the queued tasks, terminate
    (SIGTERM; SIGKILL after ``grace_seconds``) the processes and reap them, so that none is
    left behind. (``ProcessPoolExecutor.terminate_workers`` of Python 3.14, for 3.11+.)"""
    # private, read before shutdown() drops them: the pool's processes by pid, its manager
    # thread and its result queue
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    results = getattr(pool, "_result_queue", None)  # its pipe's write end, below
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(ValueError, ProcessLookupError):  # ended meanwhile
            proc.terminate()
    for proc in processes:
        with contextlib.suppress(ValueError):
            proc.join(grace_seconds)
            if proc.is_alive():
                proc.kill()
                proc.join()
    if manager is not None:  # it sees the workers gone, fails their futures and ends
        # ... unless a worker was ended while writing a result: the manager then waits for
        # the rest of it for ever (and so does this interpreter's exit, which joins it).
        # Every worker is gone: closing this end of the result pipe turns that read into
        # an end of file, which the manager takes for a broken pool.
        writer = getattr(results, "_writer", None)
        if writer is not None and manager.is_alive():
            with contextlib.suppress(OSError):
                writer.close()
        manager.join(grace_seconds)


# -- Dask
def _dask_task(item: Any, key: str, fn: TaskFn, shared: Any) -> TaskOutcome:
    pin_numba_threads()
    return _call(fn, shared, key, item)


_PIN_CODE = "import os\nos.environ['NUMBA_NUM_THREADS'] = '1'\n"


class DaskExecutor(_Base):
    """Run the tasks on Dask distributed.

    Give a ``client`` (e.g. on a ``distributed.LocalCluster``; left open), a scheduler
    ``address`` (``tcp://host:8786``) or ``scheduler_file``, or a ``cluster`` object or a
    ``cluster_factory`` making one when the job starts the executor (:meth:`start`, once
    its inputs are validated: a refused job starts no cluster) or on first use (e.g. a
    dask-jobqueue ``SLURMCluster``; closed with the executor). The workers must see the
    scenario's trace files at the same paths; results travel back to this process, which
    writes them. A worker that dies mid-task is replaced by Dask, which runs its tasks again
    elsewhere.
    """

    shares_files = False  # the workers may be other machines

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
        self._calls = 0

    def start(self) -> None:
        """Connect now, starting the cluster of a ``cluster_factory`` (its batch jobs queue
        while the job prepares its first tasks); no wait for workers."""
        self.client  # noqa: B018 - connects

    @property
    def client(self) -> Any:
        """The Dask client (connecting, or starting the cluster, on :meth:`start` or first
        use)."""
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
    def slots(self) -> int:
        """The workers' threads now (at least 1: workers may join later)."""
        if self._client is None:
            return 1
        try:
            threads: dict[str, int] = self._client.nthreads()
            return max(1, sum(threads.values()))
        except Exception:  # pragma: no cover - a scheduler gone away
            return 1

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

    def run_tasks(self, fn: TaskFn, shared: Any, items: Mapping[str, Any]) -> Iterator[TaskOutcome]:
        import distributed

        as_completed: Any = distributed.as_completed
        client = self.client
        with contextlib.suppress(Exception):  # best effort: workers may come later
            client.run(exec, _PIN_CODE)
        self._calls += 1
        [shared_future] = client.scatter([shared], broadcast=True, hash=False)
        prefix = f"vidnet-task-{os.getpid()}-{id(self)}-{self._calls}-"
        by_key = {prefix + k: k for k in items}
        futures = client.map(
            _dask_task,
            list(items.values()),
            list(items),
            key=list(by_key),
            fn=fn,
            shared=shared_future,
            pure=False,
        )
        try:
            for fut in as_completed(futures):
                key = by_key[fut.key]
                try:
                    outcome = fut.result()
                except Exception as exc:  # KilledWorker, lost data, ...
                    outcome = TaskOutcome(key, items[key], error=error_record(exc))
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
