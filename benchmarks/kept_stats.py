"""Runs timed as ``peers/compare.py`` times them: blocks of fresh engines in a row, each
run's statistics kept to the block's end (compare.py keeps every run's) or dropped at once.

``python benchmarks/kept_stats.py CASE [DURATION] [--threads 1|2|auto] [--blocks N]
[--runs 7]`` (``CASE``: a scenario file or a case of ``benchmarks/peers``, as in
``part_times.py``) loads the kernels, then alternates a block with the statistics kept and
one with them dropped, ``--blocks`` times each, and prints each block's median wall of
``drive`` (compare.py's figure), its best, and the median and best over all blocks.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from part_times import case_scenario
from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import Threads, make_engine
from vidnet_sim.timeline.driver import drive, scenario_actions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case")
    ap.add_argument("duration", nargs="?")
    ap.add_argument("--threads", default="auto")
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    threads: Threads = "auto" if args.threads == "auto" else int(args.threads)
    scenario = case_scenario(args.case, args.duration)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    end = scenario.simulation.duration
    drive(make_engine(plan, scenario, threads=threads), actions, end)  # (kernels loaded)

    def block(keep: bool) -> list[float]:
        kept: list[Any] = []
        walls = []
        for _ in range(args.runs):
            eng = make_engine(plan, scenario, threads=threads)
            t0 = time.perf_counter()
            stats = drive(eng, actions, end)
            walls.append(time.perf_counter() - t0)
            if keep:
                kept.append(stats)
            del eng, stats
        return walls

    medians: dict[bool, list[float]] = {True: [], False: []}
    every: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.blocks):
        for keep in (True, False):
            walls = block(keep)
            medians[keep].append(statistics.median(walls))
            every[keep] += walls
    for keep in (True, False):
        name = "statistics kept" if keep else "statistics dropped"
        print(
            f"{name}: block medians "
            + " ".join(f"{m:.4f}" for m in medians[keep])
            + f"; median of all {statistics.median(every[keep]):.4f} s, "
            f"best {min(every[keep]):.4f} s, first runs of blocks "
            + " ".join(f"{every[keep][i * args.runs]:.4f}" for i in range(args.blocks))
        )


if __name__ == "__main__":
    main()
