"""Wall time of fresh engines one after the other in one process: the first run and the next.

    python benchmarks/first_run.py CASE [DURATION] [--threads 1|2|auto] [--runs N]
                                   [--small-pages]

``CASE`` is a scenario file or a case of ``benchmarks/peers`` (``e``, ``b``, ...), as in
``part_times.py``. The kernels are loaded first by a short run of another case (peers case
b, 1 s), so that run 0 pays what a user's run pays once the kernels are compiled (a CLI
run, or ``peers/compare.py``'s one engine per case): a fresh engine's stores filled for the
first time, their pages faulted in. Each run prints its wall seconds and the process's CPU
seconds (all threads: they leave out the time spent waiting for a core on a busy machine),
packet-hops per second, the minor page faults it took and the process's peak resident
memory so far; then the first run's times and the best, median and range of the others,
with the load average. ``--small-pages``
allocates the core's tables on ordinary pages only (``core.stores.table``), to measure what
huge pages bring.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

from part_times import case_scenario
from peak_memory import peak_rss_mib
from vidnet_sim.core import stores
from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import make_engine
from vidnet_sim.timeline.driver import drive, scenario_actions


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main() -> None:
    """Parse the options, warm the kernels and time the runs."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case")
    ap.add_argument("duration", nargs="?")
    ap.add_argument("--threads", default="auto", choices=("1", "2", "auto"))
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--small-pages", action="store_true")
    args = ap.parse_args()
    if args.small_pages:
        stores.HUGE_TABLE_BYTES = 1 << 62
    threads = args.threads if args.threads == "auto" else int(args.threads)
    warm = case_scenario("b", "1s")
    warm_plan = build_plan(warm)
    drive(
        make_engine(warm_plan, warm, threads=threads),
        scenario_actions(warm, warm_plan),
        warm.simulation.duration,
    )
    scenario = case_scenario(args.case, args.duration)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    walls: list[float] = []
    cpus: list[float] = []
    for i in range(args.runs):
        engine = make_engine(plan, scenario, threads=threads)
        f0 = _faults()
        c0 = time.process_time()
        t0 = time.perf_counter()
        stats = drive(engine, actions, scenario.simulation.duration)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        walls.append(wall)
        cpus.append(cpu)
        print(
            f"run {i}: {wall:.4f} s ({cpu:.4f} s of CPU), "
            f"{stats.packet_hops / wall / 1e6:.1f} M packet-hops/s, "
            f"{_faults() - f0} minor faults, peak {peak_rss_mib():.0f} MiB",
            flush=True,
        )
    later = walls[1:]
    if later:
        print(
            f"first {walls[0]:.4f} s ({cpus[0]:.4f} s CPU); later runs best {min(later):.4f} s, "
            f"median {statistics.median(later):.4f} s, range {min(later):.4f}-{max(later):.4f} s "
            f"(CPU median {statistics.median(cpus[1:]):.4f} s); "
            f"load average {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
