"""Time a run on one and two threads, and each part of the two-thread pipeline alone.

    python benchmarks/part_times.py CASE [DURATION] [--repeat N] [--parts | --parts-only]
                                     [--depth D]

``CASE`` is a scenario file or a case of ``benchmarks/peers`` (``e``, ``b``, ...);
``DURATION`` overrides the scenario's (e.g. ``10s``). The runs alternate one thread, two
threads and ``auto`` (``--repeat`` times, kernels loaded first) and print each one's best
and range of wall seconds, with the load average. ``--parts`` also runs the two parts one
after the other (``part_order = "up-first"``) with each engine step timed apart: U's
windows, D's windows (with the settling of U's drops) and the hand-off, against the
split's estimates (``Split``): how the cut's cost model is calibrated (an engine whose
upstream thread settles the downstream part's logs, ``_settle``, has that timed apart
too: commit 3c52410). ``--depth`` forces the cut (U: the eligible links up to that
depth, ``split_links(..., depth)``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "peers"))

import cases  # noqa: E402

from vidnet_sim.core import engine as E  # noqa: E402, N812
from vidnet_sim.core.engine import CoreEngine  # noqa: E402
from vidnet_sim.core.split import Split, split_links  # noqa: E402
from vidnet_sim.network.plan import NetworkPlan, build_plan  # noqa: E402
from vidnet_sim.runner import make_engine, with_overrides  # noqa: E402
from vidnet_sim.scenario import Scenario, load_scenario, parse_scenario_dict  # noqa: E402
from vidnet_sim.scenario.units import parse_time  # noqa: E402
from vidnet_sim.timeline.driver import drive, scenario_actions  # noqa: E402


def case_scenario(case: str, duration: str | None) -> Scenario:
    """A scenario file or a case of ``benchmarks/peers`` (``e``, ``b``, ...), with its
    duration overridden when ``duration`` is given."""
    if Path(case).exists():
        scenario = load_scenario(case)
    else:
        c = getattr(cases, f"case_{case}")()
        scenario = parse_scenario_dict(c.scenario, source=c.key, base_dir=HERE)
    if duration is not None:
        scenario = with_overrides(scenario, duration_ps=parse_time(duration))
    return scenario


def _core(engine: Any) -> CoreEngine:
    assert isinstance(engine, CoreEngine)
    return engine


def _timed(times: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            times[name] += time.perf_counter() - t0

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("duration", nargs="?")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parts", action="store_true")
    ap.add_argument("--parts-only", action="store_true", help="the parts alone, no walls")
    ap.add_argument("--depth", type=int)
    args = ap.parse_args()
    if args.depth is not None:
        depth = args.depth

        def cut(plan: NetworkPlan, window_ps: int, *, duration_ps: int) -> Split | None:
            return split_links(plan, window_ps, depth, duration_ps=duration_ps)

        setattr(E, "split_links", cut)  # noqa: B010 (the engine's, for this process)
    scenario = case_scenario(args.case, args.duration)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    end = scenario.simulation.duration

    def once(threads: Any) -> tuple[float, int, CoreEngine]:
        eng = _core(make_engine(plan, scenario, threads=threads))
        t0 = time.perf_counter()
        stats = drive(eng, actions, end)
        return time.perf_counter() - t0, int(stats.packet_hops), eng

    if args.parts_only:
        once(2)  # (kernels loaded)
        print(f"{args.case}:")
        _parts(plan, scenario, args.repeat)
        return
    once(2)  # (kernels loaded)
    walls: dict[str, list[float]] = defaultdict(list)
    hops = 0
    chosen = ""
    for _ in range(args.repeat):
        for threads in (1, 2, "auto"):
            wall, hops, eng = once(threads)
            walls[str(threads)].append(wall)
            if threads == "auto":
                chosen = f"{1 if eng.split is None else 2} threads, {eng.step_windows} a step"
    print(f"{args.case}: {hops:,} packet-hops; load average {os.getloadavg()[0]:.2f}")
    for k, v in walls.items():
        print(
            f"  threads {k:>4}: best {min(v):.4f} s ({hops / min(v) / 1e6:.1f} M/s), "
            f"median {statistics.median(v):.4f}, range {min(v):.4f}-{max(v):.4f}"
            + (f" ({chosen})" if k == "auto" else "")
        )
    if args.parts:
        _parts(plan, scenario, args.repeat)


def _parts(plan: Any, scenario: Scenario, repeat: int) -> None:
    """The parts one after the other, each engine step timed apart, best of ``repeat``."""
    actions = scenario_actions(scenario, plan)
    end = scenario.simulation.duration
    best: dict[str, float] = {}
    for _ in range(repeat):
        eng = _core(make_engine(plan, scenario, threads=2))
        if eng.split is None:
            return
        times: dict[str, float] = defaultdict(float)
        eng.part_order = "up-first"
        for name in ("_up", "_down", "_hand_off", "_settle"):
            if hasattr(eng, name):  # (_settle: only in an engine that has it)
                setattr(eng, name, _timed(times, name, getattr(eng, name)))
        drive(eng, actions, end)
        if "_settle" in times:
            times["_up"] -= times["_settle"]
        for k, v in times.items():
            best[k] = min(best.get(k, v), v)
    sp = eng.split
    assert sp is not None
    est = {
        "U": sp._seconds(sp.cost_upstream, end),
        "D": sp._seconds(sp.cost_downstream, end),
        "hand-off": sp._seconds(sp.cost_hand_off, end),
    }
    print(f"  split: {sp.describe()}; {eng.step_windows} windows a step")
    settling = f" + settling {best['_settle']:.4f} s" if "_settle" in best else ""
    print(
        f"  parts alone (best of {repeat}): U {best['_up']:.4f} s{settling} "
        f"(estimate {est['U']:.4f}), D {best['_down']:.4f} s "
        f"(estimate {est['D']:.4f}), hand-off {best['_hand_off']:.4f} s "
        f"(estimate {est['hand-off']:.4f}); load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
