"""One scenario at several windows, alternating in one process: which window runs fastest.

    python benchmarks/window_sweep.py CASE WINDOW[,WINDOW...] [--duration D] [--rounds N]
                                      [--threads 1|2]

``CASE`` is a scenario file or a case of ``benchmarks/peers`` (``e``, ``b``, ...); the
first ``WINDOW`` is the base the others' ratios are taken to. Each round runs every window
once (fresh engines, kernels loaded first), in a rotated order; the rates are packet-hops per
second of wall time and (one thread) of the thread's CPU time; each window's ratio to the
base is the median (and range) of the rounds' ratios. The results do not depend on the
window (the packet-hops of every run are checked equal). The peak resident memory of each
run is read with the process's high-water mark reset before it (``/proc/self/clear_refs``;
memory another window's run left mapped can count too: confirm in fresh processes, with
``run_case.py`` on a copy of the scenario file).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from part_times import case_scenario  # noqa: E402
from peak_memory import peak_rss_mib  # noqa: E402
from vidnet_sim.network.plan import build_plan  # noqa: E402
from vidnet_sim.runner import make_engine, with_overrides  # noqa: E402
from vidnet_sim.scenario.units import format_time, parse_time  # noqa: E402
from vidnet_sim.timeline.driver import drive, scenario_actions  # noqa: E402


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # (no /proc: the peak is the process's)
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("windows", help="comma-separated, e.g. 20ms,40ms (the first is the base)")
    ap.add_argument("--duration")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    base = case_scenario(args.case, args.duration)
    windows = [parse_time(w) for w in args.windows.split(",")]
    scenarios = [with_overrides(base, window_ps=w) for w in windows]
    plan = build_plan(base)
    actions = scenario_actions(base, plan)
    end = base.simulation.duration
    warm = with_overrides(base, duration_ps=min(end, 10**11))
    drive(make_engine(plan, warm, threads=args.threads), actions, warm.simulation.duration)

    wall: list[list[float]] = [[] for _ in windows]
    cpu: list[list[float]] = [[] for _ in windows]
    peak: list[list[float]] = [[] for _ in windows]
    hops_seen: set[int] = set()
    for r in range(args.rounds):
        order = [(r + i) % len(windows) for i in range(len(windows))]
        for i in order:
            eng = make_engine(plan, scenarios[i], threads=args.threads)
            _reset_peak()
            t0, c0 = time.perf_counter(), time.thread_time()
            stats = drive(eng, actions, end)
            wall[i].append(time.perf_counter() - t0)
            cpu[i].append(time.thread_time() - c0)
            peak[i].append(peak_rss_mib())
            hops_seen.add(int(stats.packet_hops))
            del eng
    assert len(hops_seen) == 1, f"packet-hops differ between windows: {hops_seen}"
    hops = hops_seen.pop()
    print(
        f"{args.case} {format_time(end)}, {args.threads} thread(s), {hops:,} packet-hops, "
        f"{args.rounds} rounds; load average {os.getloadavg()[0]:.2f}"
    )
    kinds = [("wall", wall)] + ([("cpu", cpu)] if args.threads == 1 else [])
    for i, w in enumerate(windows):
        parts = [f"{format_time(w):>6}"]
        for name, t in kinds:
            rates = [hops / s / 1e6 for s in t[i]]
            ratios = sorted(t[0][k] / t[i][k] for k in range(args.rounds))
            parts.append(
                f"{name}: best {max(rates):5.1f} M/s median {statistics.median(rates):5.1f}"
                f" ratio {statistics.median(ratios):.3f} ({ratios[0]:.3f}-{ratios[-1]:.3f})"
            )
        parts.append(f"peak {max(peak[i]):.0f} MiB")
        print("  ".join(parts))


if __name__ == "__main__":
    main()
