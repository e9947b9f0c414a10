"""Batch clusters: the resources of a batch job and a dask-jobqueue SLURM/PBS cluster.

dask-jobqueue is optional (``pip install 'vidnet-sim[cluster]'``) and imported only here,
when a cluster is asked for. Sweeps, curves, capacity searches and sizings all run on it
(:class:`~vidnet_sim.execute.pool.DaskExecutor`).
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidnet_sim.errors import VidnetError

__all__ = ["JOBQUEUE_CLASSES", "JobOptions", "import_jobqueue", "jobqueue_cluster"]

#: dask-jobqueue cluster class of each ``--cluster`` choice.
JOBQUEUE_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}


@dataclass
class JobOptions:
    """Resources of each batch job (a dask-jobqueue job, or one job-array task)."""

    walltime: str | None = None  # "01:00:00"
    queue: str | None = None  # SLURM partition / PBS queue
    account: str | None = None
    memory: str | None = None  # per job: "4GB"
    cores: int = 1  # per job: one worker process (one point at a time) per core
    directives: list[str] = field(default_factory=list)  # extra "#SBATCH" / "#PBS" lines


def import_jobqueue() -> Any:
    """The ``dask_jobqueue`` module, imported with this process's Ctrl-C handler kept.

    Importing it runs ``signal.signal(SIGINT, lambda *_: sys.exit())`` (its ``runner``
    module, imported by its SLURM cluster): a Ctrl-C would then end the command with a bare
    ``SystemExit`` instead of stopping the sweep cleanly, resumable, with its documented exit
    code. The handler in place before the import is put back. Raises :class:`VidnetError`
    when dask-jobqueue is not installed."""
    previous = signal.getsignal(signal.SIGINT)
    try:
        import dask_jobqueue
    except ImportError:
        raise VidnetError(
            "--cluster needs dask-jobqueue: pip install 'vidnet-sim[cluster]' "
            "(or pip install dask-jobqueue)"
        ) from None
    finally:
        if previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
    return dask_jobqueue


def jobqueue_cluster(
    kind: str, jobs: int, options: JobOptions, log_directory: str | Path | None = None
) -> Any:
    """Start a dask-jobqueue cluster of ``jobs`` batch jobs (``kind``: slurm or pbs).

    Each job runs ``options.cores`` single-threaded worker processes with
    ``NUMBA_NUM_THREADS=1`` and this Python interpreter. Raises :class:`VidnetError` when
    dask-jobqueue is not installed.
    """
    dask_jobqueue = import_jobqueue()
    if kind not in JOBQUEUE_CLASSES:
        raise VidnetError(
            f"unknown cluster kind {kind!r}: expected one of {', '.join(JOBQUEUE_CLASSES)}"
        )
    cls = getattr(dask_jobqueue, JOBQUEUE_CLASSES[kind])
    if log_directory is not None:
        Path(log_directory).mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {
        "cores": options.cores,
        "processes": options.cores,
        "memory": options.memory or f"{2 * options.cores}GB",
        "walltime": options.walltime,
        "queue": options.queue,
        "account": options.account,
        "job_extra_directives": list(options.directives),
        "job_script_prologue": ["export NUMBA_NUM_THREADS=1"],
        "python": sys.executable,
        "log_directory": str(log_directory) if log_directory is not None else None,
    }
    cluster = cls(**{k: v for k, v in kwargs.items() if v is not None})
    cluster.scale(jobs=jobs)
    return cluster
