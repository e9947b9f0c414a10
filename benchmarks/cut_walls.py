"""Two-thread walls of one run under two settings of the cut's cost model, alternating.

    python benchmarks/cut_walls.py CASE[:DURATION] [...] --new NAME=VALUE[,...]
                                   [--old NAME=VALUE[,...]] [--repeat N]

``benchmarks/paired.py`` compares two versions of the package; a cut's model is a set of
``core.split``'s constants (``MERGE_COST``, ``DELIVER_COST``, ``UNIT_SECONDS``, ...) in one
version, so this script sets them on the module, the old set (the module's own, or
``--old``) and the new one alternately, and runs each case on two threads (the engine calls
``split_links`` when it is built, which reads the constants then). Each case (a scenario
file or a case of ``benchmarks/peers``, as ``part_times.py``) prints each model's cut
(links in U, windows a step), the median and range of its walls, and the median of the
per-pair ratios old / new (above 1: the new model faster). Any cut gives the same results.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from part_times import case_scenario
from vidnet_sim.core import split as S  # noqa: N812
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import make_engine
from vidnet_sim.timeline.driver import drive, scenario_actions


def parse_model(text: str) -> dict[str, float]:
    """``NAME=VALUE,...`` into constants of ``core.split`` (each must exist there)."""
    out: dict[str, float] = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if not hasattr(S, name):
            raise SystemExit(f"core.split has no constant {name!r}")
        out[name] = float(value)
    return out


def run_once(plan: Any, scenario: Any, consts: dict[str, float]) -> tuple[float, str]:
    """One two-thread run under ``consts``: its wall seconds and its cut."""
    saved = {k: getattr(S, k) for k in consts}
    try:
        for k, v in consts.items():
            setattr(S, k, v)
        eng = make_engine(plan, scenario, threads=2)
    finally:
        for k, v in saved.items():
            setattr(S, k, v)
    assert isinstance(eng, CoreEngine) and eng.split is not None
    actions = scenario_actions(scenario, plan)
    t0 = time.perf_counter()
    drive(eng, actions, scenario.simulation.duration)
    wall = time.perf_counter() - t0
    return wall, f"{int(eng.split.upstream.sum())} links in U, {eng.step_windows} a step"


def main() -> None:
    """Alternate the two models on each case and print the walls."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--old", default="", help="constants of the old model (default: as is)")
    ap.add_argument("--new", required=True, help="constants of the new model")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    models = {"old": parse_model(args.old), "new": parse_model(args.new)}
    for spec in args.cases:
        case, _, duration = spec.partition(":")
        scenario = case_scenario(case, duration or None)
        plan = build_plan(scenario)
        run_once(plan, scenario, models["new"])  # (kernels loaded)
        walls: dict[str, list[float]] = {"old": [], "new": []}
        cuts: dict[str, str] = {}
        for i in range(args.repeat):
            order = ("old", "new") if i % 2 == 0 else ("new", "old")
            for name in order:
                wall, cuts[name] = run_once(plan, scenario, models[name])
                walls[name].append(wall)
        ratios = [o / n for o, n in zip(walls["old"], walls["new"], strict=True)]
        print(f"{spec}: load average {os.getloadavg()[0]:.2f}")
        for name in ("old", "new"):
            w = walls[name]
            print(
                f"  {name} ({cuts[name]}): median {statistics.median(w):.4f} s, "
                f"range {min(w):.4f}-{max(w):.4f}"
            )
        print(
            f"  old / new per pair: median {statistics.median(ratios):.3f}, "
            f"range {min(ratios):.3f}-{max(ratios):.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
