"""Time ``build_plan``: the compiled network of a scenario, built at every run's start.

    python benchmarks/plan_time.py [SCENARIO ...] [--calls N]

Loads each scenario (by default the large city, the mid-size city and the small town), builds
its plan once (the first call in a process also loads code: scipy, Numba's cached kernels),
then ``N`` more times (5 by default), and prints the median wall and CPU time of those calls
and the garbage collector's passes during them (a full pass over a loaded scenario's objects
takes tens of milliseconds on its own).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario import load_scenario

REPO = Path(__file__).resolve().parent.parent
DEFAULT = ("large-city", "mid-city", "small-town")


def plan_times(path: Path, calls: int) -> tuple[float, float, int, int]:
    """Median wall and CPU seconds of ``calls`` builds after a first one, the collector's
    passes during them, and the full passes among them."""
    scenario = load_scenario(path)
    build_plan(scenario, path.parent)
    passes: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    wall, cpu = [], []
    gc.callbacks.append(count)
    try:
        for _ in range(calls):
            t0, c0 = time.perf_counter(), time.process_time()
            build_plan(scenario, path.parent)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    finally:
        gc.callbacks.remove(count)
    return statistics.median(wall), statistics.median(cpu), len(passes), passes.count(2)


def main() -> None:
    args = sys.argv[1:]
    calls = 5
    if "--calls" in args:
        i = args.index("--calls")
        calls = int(args[i + 1])
        del args[i : i + 2]
    paths = [Path(a) for a in args] or [REPO / "scenarios" / f"{n}.toml" for n in DEFAULT]
    print(f"{'scenario':<24} {'wall s':>8} {'cpu s':>8} {'gc passes':>10} {'full':>5}")
    for path in paths:
        wall, cpu, passes, full = plan_times(path, calls)
        print(f"{path.stem:<24} {wall:8.4f} {cpu:8.4f} {passes:10d} {full:5d}", flush=True)


if __name__ == "__main__":
    main()
