"""Run one scenario in a fresh process and print its figures as JSON (used by the benchmarks).

``python benchmarks/run_case.py SCENARIO DURATION [core|reference] [THREADS]`` prints
packet-hops, wall seconds of the simulation itself, and the process's peak resident memory
(``THREADS``: the core's, 1 or 2; default 1).
"""

from __future__ import annotations

import json
import sys
import time

from peak_memory import peak_rss_mib
from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import make_engine, with_overrides
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.units import parse_time
from vidnet_sim.timeline.driver import drive, scenario_actions


def main() -> None:
    path, duration = sys.argv[1], parse_time(sys.argv[2])
    engine = sys.argv[3] if len(sys.argv) > 3 else "core"
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    scenario = with_overrides(load_scenario(path), duration_ps=duration)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    if engine == "core":  # compile or load the Numba cache outside the timing
        warm = with_overrides(scenario, duration_ps=min(duration, 10**11))
        drive(make_engine(plan, warm, threads=threads), actions, warm.simulation.duration)
    rss_before = peak_rss_mib()
    t0 = time.perf_counter()
    eng = make_engine(plan, scenario, engine, threads=threads)  # type: ignore[arg-type]
    stats = drive(eng, actions, duration)
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "scenario": path,
                "duration_s": duration / 1e12,
                "engine": engine,
                "threads": threads,
                "packet_hops": stats.packet_hops,
                "wall_s": wall,
                "hops_per_s": stats.packet_hops / wall,
                "peak_rss_mib": peak_rss_mib(),
                "rss_before_run_mib": rss_before,
            }
        )
    )


if __name__ == "__main__":
    main()
