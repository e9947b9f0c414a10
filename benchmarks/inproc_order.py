"""One and two threads alternating in one long-lived process, after some other work.

``python benchmarks/inproc_order.py [--pre none|reference|blas|tests] [--pairs N]
[--epochs both|none|two|compare] [--duration 10s] [--scenario PATH]`` loads the kernels (a
short run on one and on two threads), does the ``--pre`` work, then runs the scenario
``--pairs`` times on one thread and on two, alternating, and prints each run's wall (the
engine's ``wall_seconds``) with the process's state: its threads (``/proc/self/task``),
resident and huge-page memory (``/proc/self/smaps_rollup``) and the collector's counts.
``--epochs``: whether the engines count the scenario's epochs apart (``epoch_bounds``, as
``vidnet-sim run``) or as one (as ``part_times.py``); ``compare`` runs both on each thread
count.

``--pre``: ``reference``, the SimPy reference engine on 0.3 s of the scenario (as
``test_engine_speed.py`` runs it); ``blas``, NumPy/SciPy linear algebra (OpenBLAS's
threads); ``tests``, ``test_engine_speed.py``'s order before its two-thread runs (three
one-thread runs, the reference's, a short core run).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from pathlib import Path

from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import make_engine, with_overrides
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.units import parse_time
from vidnet_sim.timeline.driver import drive, epoch_bounds, scenario_actions

ROOT = Path(__file__).resolve().parent.parent
S = 10**12


def _run(
    path: Path, duration_ps: int, engine: str = "core", threads: int = 1, with_epochs: bool = True
) -> float:
    scenario = with_overrides(load_scenario(path), duration_ps=duration_ps)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    epochs = epoch_bounds(actions, duration_ps)[0] if with_epochs else None
    eng = make_engine(plan, scenario, engine, epochs=epochs, threads=threads)  # type: ignore[arg-type]
    return drive(eng, actions, duration_ps).wall_seconds


def _tasks() -> str:
    names = []
    for tid in sorted(os.listdir("/proc/self/task"), key=int):
        try:
            comm = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
        except OSError:
            continue
        names.append(comm)
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return ", ".join(f"{n}×{c}" for n, c in counts.items())


def _memory() -> str:
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        fields[key] = int(value.split()[0])
    return f"RSS {fields['Rss'] / 1024:.0f} MiB, AnonHuge {fields['AnonHugePages'] / 1024:.0f} MiB"


def _pre_blas() -> None:
    import numpy as np
    import scipy.linalg

    rng = np.random.default_rng(1)
    a = rng.random((600, 600))
    for _ in range(5):
        a = a @ a.T / 600.0
    scipy.linalg.lu_factor(a + np.eye(600))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pre", default="none", choices=("none", "reference", "blas", "tests"))
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--duration", default="10s")
    ap.add_argument(
        "--epochs",
        default="both",
        choices=("both", "none", "two", "compare"),
        help="the runs' epochs: on every run, on none (one epoch), on the two-thread runs "
        "only (as test_engine_speed.py did before ccc0e53); compare: each thread count "
        "with and without",
    )
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "mid-city.toml"))
    args = ap.parse_args()
    path = Path(args.scenario)
    duration = parse_time(args.duration)

    _run(path, S // 10)  # the kernels loaded
    _run(path, S // 10, threads=2)
    t0 = time.perf_counter()
    if args.pre == "reference":
        _run(path, S // 100, "reference")
        _run(path, 3 * S // 10, "reference")
    elif args.pre == "blas":
        _pre_blas()
    elif args.pre == "tests":
        for _ in range(3):
            _run(path, duration)
        _run(path, S // 100, "reference")
        _run(path, 3 * S // 10, "reference")
        _run(path, 3 * S // 10)
    print(f"pre {args.pre}: {time.perf_counter() - t0:.1f} s; {_memory()}; gc {gc.get_count()}")
    print(f"  tasks: {_tasks()}; affinity {sorted(os.sched_getaffinity(0))}")
    if args.epochs == "compare":
        configs = [(1, True), (1, False), (2, True), (2, False)]
    else:
        configs = [(t, args.epochs == "both" or (args.epochs == "two" and t == 2)) for t in (1, 2)]
    walls: dict[tuple[int, bool], list[float]] = {c: [] for c in configs}
    for _ in range(args.pairs):
        for threads, with_epochs in configs:
            walls[threads, with_epochs].append(
                _run(path, duration, threads=threads, with_epochs=with_epochs)
            )
    for (threads, with_epochs), ws in walls.items():
        print(
            f"  {threads} thread(s), {'epochs' if with_epochs else 'one epoch'}: "
            + " ".join(f"{w:.3f}" for w in ws)
            + f"; median {statistics.median(ws):.3f}, best {min(ws):.3f}"
        )
    print(f"  after: {_memory()}; tasks: {_tasks()}; gc {gc.get_count()} {gc.get_stats()[2]}")


if __name__ == "__main__":
    main()
