"""Where the wall time of one run goes, step by step: building the engine, each kernel call
on each thread, the hand-off, the waiting, the statistics.

    python benchmarks/run_account.py CASE [DURATION] [--threads 1|2|auto] [--runs N]

``CASE`` is a scenario file or a case of ``benchmarks/peers`` (``e``, ``b``, ...), as in
``part_times.py``. The kernels are loaded first (a run of the same case); then ``--runs``
fresh engines are built and driven one after the other, as ``peers/compare.py`` times them
(``drive`` only; each run's statistics kept alive, as there). Every call of the kernels'
entry points (``advance``, ``settle_drops``, ``hand_off``, and ``up_steps`` and
``down_steps``, which run many steps in one call each) is timed with the thread it ran
on. A run on two threads is cut into its pipeline steps at the hand-offs: in each step U's
and D's calls run side by side, and the step lasts from the end of one hand-off to the
start of the next. Printed per run, in milliseconds: the engine's building (not in
``compare.py``'s time), the whole ``drive``, what it spent before the first kernel call,
U's and D's kernel time (D's with its drops settled), the steps side by side and what the
longer part of each step took, the start-up lag of each part within its steps (the thread
hand-over and the Python around the calls), the hand-offs, the first step (U alone), the
last (D alone) and the statistics after the last call; then the medians over the runs.
The timers cost about a microsecond a call.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from part_times import case_scenario
from vidnet_sim.core import kernel as K  # noqa: N812
from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import make_engine
from vidnet_sim.timeline.driver import drive, scenario_actions

#: Every timed call: (name, thread is the main one, start, end).
CALLS: list[tuple[str, bool, float, float]] = []


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    main = threading.main_thread()

    def wrapper(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            CALLS.append((name, threading.current_thread() is main, t0, time.perf_counter()))

    return wrapper


def _account(t_start: float, t_end: float) -> dict[str, float]:
    """The run's parts (seconds) from :data:`CALLS` between ``t_start`` and ``t_end``."""
    calls = sorted(CALLS, key=lambda c: c[2])
    out: dict[str, float] = {"drive": t_end - t_start}
    out["before first call"] = calls[0][2] - t_start
    out["after last call"] = t_end - max(c[3] for c in calls)
    up = [c for c in calls if c[0] in ("advance", "up_steps") and not c[1]]
    down = [c for c in calls if c[0] in ("advance", "settle_drops", "down_steps") and c[1]]
    hand = [c for c in calls if c[0] == "hand_off"]
    out["U kernel"] = sum(c[3] - c[2] for c in up)
    out["D kernel"] = sum(c[3] - c[2] for c in down)
    out["hand-off"] = sum(c[3] - c[2] for c in hand)
    out["calls"] = len(calls)
    if not hand:  # one thread
        return out
    # steps: from the end of a hand-off to the start of the next (the first from the start)
    edges = [t_start] + [c[3] for c in hand]
    ends = [c[2] for c in hand] + [t_end]
    side, longer, lag_u, lag_d = 0.0, 0.0, 0.0, 0.0
    first = last = 0.0
    for k, (a, b) in enumerate(zip(edges, ends, strict=True)):
        us = [c for c in up if a <= c[2] < b]
        ds = [c for c in down if a <= c[2] < b]
        tu = sum(c[3] - c[2] for c in us)
        td = sum(c[3] - c[2] for c in ds)
        if k == 0:
            first = b - a
            continue
        if not us:  # D alone: the last step (then the statistics)
            last += max(c[3] for c in ds) - a if ds else 0.0
            continue
        side += b - a
        longer += max(tu, td)
        lag_u += us[0][2] - a
        if ds:
            lag_d += ds[0][2] - a
    out.update(
        {
            "steps side by side": side,
            "their longer part": longer,
            "U lag": lag_u,
            "D lag": lag_d,
            "first step (U alone)": first,
            "last step (D alone)": last,
            "steps": len(hand),
        }
    )
    return out


def main() -> None:
    """Parse the options, load the kernels and account the runs."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case")
    ap.add_argument("duration", nargs="?")
    ap.add_argument("--threads", default="auto", choices=("1", "2", "auto"))
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    threads: Any = args.threads if args.threads == "auto" else int(args.threads)
    scenario = case_scenario(args.case, args.duration)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    end = scenario.simulation.duration
    drive(make_engine(plan, scenario, threads=threads), actions, end)  # (kernels loaded)
    for name in ("advance", "settle_drops", "hand_off", "up_steps", "down_steps"):
        if hasattr(K, name):  # (the step kernels: since they exist)
            setattr(K, name, _timed(name, getattr(K, name)))
    kept: list[Any] = []
    rows: list[dict[str, float]] = []
    for i in range(args.runs):
        CALLS.clear()
        b0 = time.perf_counter()
        engine = make_engine(plan, scenario, threads=threads)
        built = time.perf_counter() - b0
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        kept.append(drive(engine, actions, end))
        t1 = time.perf_counter()
        row = {"build": built, **_account(t0, t1)}
        row["faults"] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        rows.append(row)
        print(f"run {i}: " + _line(row), flush=True)
        del engine
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"median:  {_line(med)}; load average {os.getloadavg()[0]:.2f}")


def _line(row: dict[str, float]) -> str:
    counts = ("calls", "steps", "faults")
    return ", ".join(
        f"{k} {int(v)}" if k in counts else f"{k} {1e3 * v:.1f} ms" for k, v in row.items()
    )


if __name__ == "__main__":
    main()
