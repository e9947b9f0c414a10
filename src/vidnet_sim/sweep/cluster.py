"""Batch clusters: a dask-jobqueue SLURM/PBS cluster, or a plain SLURM job-array script.

dask-jobqueue is optional (``pip install 'vidnet-sim[cluster]'``) and imported only here,
when a cluster is asked for. The job-array script needs nothing but SLURM: each array task
runs ``vidnet-sim sweep FILE --out OUT --index $SLURM_ARRAY_TASK_ID [--chunk K]``.
"""

from __future__ import annotations

import math
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidnet_sim.errors import VidnetError

__all__ = ["JOBQUEUE_CLASSES", "JobOptions", "jobqueue_cluster", "sbatch_script"]

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


def jobqueue_cluster(
    kind: str, jobs: int, options: JobOptions, log_directory: str | Path | None = None
) -> Any:
    """Start a dask-jobqueue cluster of ``jobs`` batch jobs (``kind``: slurm or pbs).

    Each job runs ``options.cores`` single-threaded worker processes with
    ``NUMBA_NUM_THREADS=1`` and this Python interpreter. Raises :class:`VidnetError` when
    dask-jobqueue is not installed.
    """
    try:
        import dask_jobqueue
    except ImportError:
        raise VidnetError(
            "--cluster needs dask-jobqueue: pip install 'vidnet-sim[cluster]' "
            "(or pip install dask-jobqueue)"
        ) from None
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


def _command() -> list[str]:
    exe = shutil.which("vidnet-sim")
    if exe is not None:
        return [str(Path(exe).resolve())]
    return [sys.executable, "-m", "vidnet_sim.cli"]


def sbatch_script(
    file: str | Path,
    out_dir: str | Path,
    n_points: int,
    *,
    chunk: int = 1,
    max_parallel: int | None = None,
    options: JobOptions | None = None,
    job_name: str = "vidnet-sweep",
    command: Sequence[str] | None = None,
    workdir: str | Path | None = None,
) -> str:
    """A SLURM job-array script running a sweep, ``chunk`` points per array task.

    Task ``i`` runs points ``i*chunk`` to ``i*chunk + chunk - 1`` (``--index i --chunk
    chunk``); finished points are skipped, so the array can be resubmitted as it is.
    Logs go to ``<out_dir>/_logs/``.
    """
    opts = options or JobOptions()
    out = Path(out_dir).resolve()
    tasks = max(1, math.ceil(n_points / chunk))
    array = f"0-{tasks - 1}" + (f"%{max_parallel}" if max_parallel else "")
    lines = [
        "#!/bin/bash",
        f"# vidnet-sim sweep: {n_points} points in {tasks} array task(s) of {chunk} "
        "point(s); submit with: sbatch <this file>",
        f"#SBATCH --job-name={job_name}",
        f"#SBATCH --array={array}",
        "#SBATCH --ntasks=1",
        "#SBATCH --cpus-per-task=1",
        f"#SBATCH --output={out / '_logs' / '%A_%a.out'}",
    ]
    if workdir is not None:
        lines.append(f"#SBATCH --chdir={Path(workdir).resolve()}")
    if opts.walltime:
        lines.append(f"#SBATCH --time={opts.walltime}")
    if opts.memory:
        lines.append(f"#SBATCH --mem={opts.memory}")
    if opts.queue:
        lines.append(f"#SBATCH --partition={opts.queue}")
    if opts.account:
        lines.append(f"#SBATCH --account={opts.account}")
    lines += [f"#SBATCH {d}" for d in opts.directives]
    cmd = [
        *(command or _command()),
        "sweep",
        str(Path(file).resolve()),
        "--out",
        str(out),
        "--index",
        "$SLURM_ARRAY_TASK_ID",
    ]
    if chunk != 1:
        cmd += ["--chunk", str(chunk)]
    rendered = " ".join(
        part if part == "$SLURM_ARRAY_TASK_ID" else shlex.quote(part) for part in cmd
    )
    lines += [
        "",
        "set -euo pipefail",
        "export NUMBA_NUM_THREADS=1",
        "# exit code 4: a point failed (recorded in _failed/); see vidnet-sim sweep --status",
        rendered,
        "",
    ]
    return "\n".join(lines)
