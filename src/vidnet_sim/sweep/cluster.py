"""SLURM job-array scripts for sweeps (a plain SLURM job array, no Dask).

Each array task runs ``vidnet-sim sweep FILE --out OUT --index $SLURM_ARRAY_TASK_ID
[--chunk K]``. Batch-job resources are :class:`~vidnet_sim.execute.cluster.JobOptions`
(re-exported here with :func:`~vidnet_sim.execute.cluster.jobqueue_cluster`).
"""

from __future__ import annotations

import math
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from vidnet_sim.execute.cluster import JobOptions, jobqueue_cluster

__all__ = ["JobOptions", "jobqueue_cluster", "sbatch_script"]


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
    ``max_parallel`` throttles the array (``%n``), to at most the number of tasks.
    Logs go to ``<out_dir>/_logs/``.
    """
    opts = options or JobOptions()
    out = Path(out_dir).resolve()
    tasks = max(1, math.ceil(n_points / chunk))
    # a throttle above the task count throttles nothing (and a huge one sbatch refuses)
    array = f"0-{tasks - 1}" + (f"%{min(max_parallel, tasks)}" if max_parallel else "")
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
