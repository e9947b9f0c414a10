"""Parameter sweeps: spec, points, executors (local, Dask, job arrays), resumable results.

>>> from vidnet_sim.sweep import load_sweep, run_sweep, read_sweep
>>> sw = load_sweep("scenarios/sweep-small-town.toml")  # doctest: +SKIP
>>> report = run_sweep(sw, "results/sweeps/small-town", workers=4)  # doctest: +SKIP
>>> res = read_sweep("results/sweeps/small-town")  # doctest: +SKIP
>>> res.summary.groupby("cameras[0].count")["latency_p99_ps"].mean()  # doctest: +SKIP

See ``docs/sweeps.md``.
"""

from __future__ import annotations

from vidnet_sim.sweep.compare import compare_results
from vidnet_sim.sweep.execute import (
    DaskExecutor,
    Executor,
    PointOutcome,
    ProcessExecutor,
    SerialExecutor,
    SweepReport,
    compute_point,
    run_sweep,
)
from vidnet_sim.sweep.plan import Point, Sweep, SweepBase, load_sweep, sweep_from_dict
from vidnet_sim.sweep.spec import SweepSpec
from vidnet_sim.sweep.store import (
    SweepFolderError,
    SweepStatus,
    SweepStore,
    is_sweep_dir,
    read_sweep,
)

__all__ = [
    "DaskExecutor",
    "Executor",
    "Point",
    "PointOutcome",
    "ProcessExecutor",
    "SerialExecutor",
    "Sweep",
    "SweepBase",
    "SweepFolderError",
    "SweepReport",
    "SweepSpec",
    "SweepStatus",
    "SweepStore",
    "compare_results",
    "compute_point",
    "is_sweep_dir",
    "load_sweep",
    "read_sweep",
    "run_sweep",
    "sweep_from_dict",
]
