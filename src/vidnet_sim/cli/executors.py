"""The executor options shared by ``sweep``, ``curve``, ``capacity`` and ``size``.

``--workers N`` (local processes; default all CPUs), ``--scheduler ADDRESS|FILE`` (a running
Dask scheduler) or ``--cluster slurm|pbs`` (a dask-jobqueue cluster of ``--jobs`` batch jobs
with ``--cores``, ``--memory``, ``--walltime``, ``--queue``, ``--account``,
``--job-option``). :func:`executor_options` adds them to a command, which then receives one
:class:`ExecutorOptions` argument, ``executor_opts``.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click

from vidnet_sim.cli.output import (
    IntRange,
    stop,
)
from vidnet_sim.errors import EXIT_USAGE
from vidnet_sim.execute import (
    DaskExecutor,
    Executor,
    JobOptions,
    ProcessExecutor,
    SerialExecutor,
    available_cpus,
    jobqueue_cluster,
)

__all__ = ["ExecutorOptions", "executor_options"]


@dataclass
class ExecutorOptions:
    """What the executor options said."""

    workers: int | None
    scheduler: str | None
    cluster: str | None
    jobs: int
    cores: int
    memory: str | None
    walltime: str | None
    queue: str | None
    account: str | None
    directives: tuple[str, ...]

    def job_options(self) -> JobOptions:
        """The batch-job resources."""
        return JobOptions(
            walltime=self.walltime,
            queue=self.queue,
            account=self.account,
            memory=self.memory,
            cores=self.cores,
            directives=list(self.directives),
        )

    def check(self) -> None:
        """A usage error when more than one of --workers, --scheduler, --cluster is given."""
        given = [
            name
            for name, on in (
                ("--workers", self.workers is not None),
                ("--scheduler", self.scheduler is not None),
                ("--cluster", self.cluster is not None),
            )
            if on
        ]
        if len(given) > 1:
            raise click.UsageError(f"{' and '.join(given)} cannot be used together")

    def remote(self, log_dir: Path) -> DaskExecutor | None:
        """A Dask executor for --scheduler (connected now: an unreachable scheduler ends the
        command with exit 2) or --cluster (started when the command starts the executor, once
        its inputs are validated); ``None`` for local work."""
        if self.scheduler is not None:
            if importlib.util.find_spec("distributed") is None:
                stop(
                    EXIT_USAGE,
                    "error: --scheduler needs Dask distributed: pip install "
                    "'vidnet-sim[cluster]' (or pip install distributed)",
                )
            if Path(self.scheduler).is_file():
                executor = DaskExecutor(scheduler_file=self.scheduler)
            else:
                executor = DaskExecutor(address=self.scheduler)
            try:
                executor.client  # noqa: B018 - connect now, to fail early and clearly
            except Exception as exc:
                stop(
                    EXIT_USAGE,
                    f"error: --scheduler {self.scheduler}: cannot reach a Dask scheduler there "
                    f"({type(exc).__name__}: {exc}); expected tcp://host:port of a running "
                    "scheduler, or its scheduler JSON file",
                )
            return executor
        if self.cluster is not None:
            if importlib.util.find_spec("dask_jobqueue") is None:
                stop(
                    EXIT_USAGE,
                    "error: --cluster needs dask-jobqueue: pip install "
                    "'vidnet-sim[cluster]' (or pip install dask-jobqueue)",
                )
            kind, jobs, options = self.cluster, self.jobs, self.job_options()

            def start_cluster() -> Any:
                return jobqueue_cluster(kind, jobs, options, log_directory=log_dir)

            return DaskExecutor(cluster_factory=start_cluster)
        return None

    def executor(self, log_dir: Path) -> Executor:
        """The executor asked for: Dask, or ``--workers`` local processes (default: every
        CPU; one runs in this process)."""
        self.check()
        remote = self.remote(log_dir)
        if remote is not None:
            return remote
        n = self.workers if self.workers is not None else available_cpus()
        return SerialExecutor() if n <= 1 else ProcessExecutor(n)


#: Most local worker processes per CPU this process may use: each worker is a Python process
#: holding the packet core (a few hundred MB); far more would exhaust the memory, not
#: speed anything up.
WORKERS_PER_CPU = 4
#: Most batch jobs of a ``--cluster``: SLURM's default limit on the jobs it holds at once
#: (``MaxJobCount``); dask-jobqueue prepares every job asked for in this process (2^63 once
#: filled the memory before any job was submitted).
MAX_JOBS = 10_000
#: Most worker processes (CPUs) of one ``--cluster`` batch job: more than one node has.
MAX_CORES = 4_096


def _workers(_ctx: click.Context, _param: click.Parameter, value: int | None) -> int | None:
    """``--workers``, at most :data:`WORKERS_PER_CPU` per CPU this process may use."""
    cpus = available_cpus()
    if value is not None and value > WORKERS_PER_CPU * cpus:
        raise click.BadParameter(
            f"{value} is more than {WORKERS_PER_CPU} worker processes per CPU this process "
            f"may use ({cpus} CPU{'s' if cpus != 1 else ''}: at most "
            f"{WORKERS_PER_CPU * cpus}); for more, use --scheduler or --cluster"
        )
    return value


_OPTIONS: tuple[Callable[[Any], Any], ...] = (
    click.option(
        "--workers",
        "-j",
        type=IntRange(min=1),
        callback=_workers,
        help="Local worker processes (default: all CPUs; 1 runs in this process; at most "
        f"{WORKERS_PER_CPU} per CPU).",
    ),
    click.option(
        "--scheduler",
        metavar="ADDRESS|FILE",
        help="Run on a Dask scheduler: tcp://host:8786, or a scheduler JSON file.",
    ),
    click.option(
        "--cluster",
        type=click.Choice(["slurm", "pbs"]),
        help="Start a dask-jobqueue cluster of --jobs batch jobs (extra 'cluster').",
    ),
    click.option(
        "--jobs",
        type=IntRange(1, MAX_JOBS),
        default=1,
        show_default=True,
        help="Batch jobs of the --cluster.",
    ),
    click.option(
        "--cores",
        type=IntRange(1, MAX_CORES),
        default=1,
        show_default=True,
        help="Worker processes (CPUs) per --cluster batch job.",
    ),
    click.option("--memory", help="Memory per batch job or array task, e.g. '4GB'."),
    click.option(
        "--walltime", help="Wall-time limit per batch job or array task, e.g. '02:00:00'."
    ),
    click.option("--queue", help="SLURM partition / PBS queue."),
    click.option("--account", help="Account to charge."),
    click.option(
        "--job-option",
        "directives",
        multiple=True,
        metavar="DIRECTIVE",
        help="Extra batch directive, e.g. '--qos=short' (repeatable).",
    ),
)

_NAMES = tuple(f.name for f in fields(ExecutorOptions))


def executor_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the executor options to a click command; it receives ``executor_opts``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = ExecutorOptions(**{name: kwargs.pop(name) for name in _NAMES})
        return command(*args, executor_opts=opts, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
