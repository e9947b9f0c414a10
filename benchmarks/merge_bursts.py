"""How often a link's merge takes its next packet from the run it took the last one from.

    python benchmarks/merge_bursts.py CASE [DURATION]

``CASE`` is a scenario file or a case of ``benchmarks/peers`` (``e``, ``b``, ...). Runs the
core with the packet log and, for the links grouped by their number of feeders (upstream
links, or the sources injected at the link), prints the share of arrivals, in the merge's
(time, key) order, that come from the same run as the arrival before them (a run: one
feeder's packets of one window). A merge whose next packet mostly comes from another run
gains nothing from stopping early when the popped run stays the smallest, and pays for a
branch whose outcome is as good as random (docs/performance.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from part_times import HERE, case_scenario
from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import make_engine
from vidnet_sim.timeline.driver import drive, scenario_actions


def main() -> None:
    case = sys.argv[1]
    scenario = case_scenario(case, sys.argv[2] if len(sys.argv) > 2 else None)
    base_dir = Path(case).parent if Path(case).exists() else HERE
    plan = build_plan(scenario, base_dir)
    engine = make_engine(plan, scenario, log=True)
    drive(engine, scenario_actions(scenario, plan), scenario.simulation.duration)
    log = getattr(engine, "packet_log")  # noqa: B009  (rows: flow, seq, link, t, ...)
    window = scenario.simulation.window
    log = log[np.lexsort((log[:, 3], log[:, 1], log[:, 0]))]  # each packet's hops in turn
    same = np.r_[False, (log[1:, 0] == log[:-1, 0]) & (log[1:, 1] == log[:-1, 1])]
    feeder = np.where(same, np.r_[-1, log[:-1, 2]], -1 - log[:, 0])  # a source: -1 - flow
    t_feeder = np.where(same, np.r_[0, log[:-1, 3]], log[:, 3])
    link, t = log[:, 2], log[:, 3]
    order = np.lexsort(((log[:, 0] << 40) | log[:, 1], t, link))  # the merge's order
    link, t, feeder, t_feeder = link[order], t[order], feeder[order], t_feeder[order]
    groups: dict[int, list[int]] = {}
    for m in np.unique(link):
        lo, hi = np.searchsorted(link, m), np.searchsorted(link, m, "right")
        f, tf, w = feeder[lo:hi], t_feeder[lo:hi] // window, t[lo:hi] // window
        stays = int(np.sum((f[1:] == f[:-1]) & (tf[1:] == tf[:-1]) & (w[1:] == w[:-1])))
        g = groups.setdefault(len(np.unique(f)), [0, 0, 0])
        g[0] += 1
        g[1] += hi - lo
        g[2] += stays
    for n_feeders, (n_links, hops, stays) in sorted(groups.items()):
        print(
            f"{n_feeders:5d} feeders: {n_links:6d} links, {hops:10d} packet-hops, "
            f"next from the same run {stays / max(hops, 1):.3f}"
        )


if __name__ == "__main__":
    main()
