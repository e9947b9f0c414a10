"""Running many independent simulations: executors (this process, local processes, Dask,
a dask-jobqueue cluster) and job progress, shared by sweeps and analyses.

See ``docs/sweeps.md`` and ``docs/analysis.md``.
"""

from __future__ import annotations

from vidnet_sim.execute.cluster import JobOptions, jobqueue_cluster
from vidnet_sim.execute.pool import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    TaskFn,
    TaskOutcome,
    available_cpus,
    error_record,
    failure_words,
    pin_numba_threads,
)
from vidnet_sim.execute.progress import JobProgress, ProgressFn, ProgressTracker

__all__ = [
    "DaskExecutor",
    "Executor",
    "JobOptions",
    "JobProgress",
    "ProcessExecutor",
    "ProgressFn",
    "ProgressTracker",
    "SerialExecutor",
    "TaskFn",
    "TaskOutcome",
    "available_cpus",
    "error_record",
    "failure_words",
    "jobqueue_cluster",
    "pin_numba_threads",
]
