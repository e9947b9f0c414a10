"""Engine speed and memory: the mid-size and the large city on the Numba core, on one thread
and on two (the network cut in two parts, ``threads=2``), the SimPy reference on a reduced
case of the same city in the same run (their ratio is what matters: machines are noisy).
One thread's rates are given per second of wall time and per second of the main thread's
CPU time (which leaves out the time the run waited for a core on a busy machine).

Run: ``python -m pytest benchmarks -m benchmark --benchmark-enable -s``
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.runner import make_engine, with_overrides
from vidnet_sim.scenario import Scenario, load_scenario
from vidnet_sim.timeline.driver import Action, drive, epoch_bounds, scenario_actions

ROOT = Path(__file__).resolve().parent.parent
MID_CITY = ROOT / "scenarios" / "mid-city.toml"
MID_CITY_SERVICES = ROOT / "scenarios" / "mid-city-services.toml"
LARGE_CITY = ROOT / "scenarios" / "large-city.toml"
S = 10**12

pytestmark = pytest.mark.benchmark


def _run(
    duration_ps: int, engine: str = "core", path: Path = MID_CITY, threads: int = 1
) -> tuple[int, float]:
    scenario = with_overrides(load_scenario(path), duration_ps=duration_ps)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    epochs, _ = epoch_bounds(actions, duration_ps)
    engine_ = make_engine(plan, scenario, engine, epochs=epochs, threads=threads)  # type: ignore[arg-type]
    stats = drive(engine_, actions, duration_ps)
    return stats.packet_hops, stats.wall_seconds


def _two_threads(plan: NetworkPlan, scenario: Scenario, actions: list[Action]) -> float:
    """Packet-hops/s of wall time of one run on two threads, one epoch."""
    stats = drive(make_engine(plan, scenario, threads=2), actions, scenario.simulation.duration)
    return stats.packet_hops / stats.wall_seconds


def _case(
    duration: str, engine: str = "core", path: Path = MID_CITY, threads: int = 1
) -> dict[str, float]:
    script = str(ROOT / "benchmarks" / "run_case.py")
    out = subprocess.run(
        [sys.executable, script, str(path), duration, engine, str(threads)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_mid_city_core_vs_reference(benchmark: Any) -> None:
    """Packet-hops/s of the core on 10 s of the mid-size city (the timeline-driven run,
    scenario compilation excluded), on one thread then (best of 3 as well) on two; the
    reference on 0.3 s of the same city."""
    _run(S // 10)  # compile / load the cache
    scenario = with_overrides(load_scenario(MID_CITY), duration_ps=10 * S)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    hops: list[int] = []
    cpu_rates: list[float] = []

    def setup() -> tuple[tuple[object, ...], dict[str, object]]:
        return (make_engine(plan, scenario), actions, 10 * S), {}

    def simulate(engine: Any, acts: Any, end: int) -> None:
        c0 = time.thread_time()
        hops.append(drive(engine, acts, end).packet_hops)
        cpu_rates.append(hops[-1] / (time.thread_time() - c0))

    benchmark.pedantic(simulate, setup=setup, rounds=3, iterations=1)
    hops_core = hops[-1]
    core_rate = hops_core / benchmark.stats["min"]
    small = 3 * S // 10
    _run(S // 100, "reference")  # its kernels compiled (after a change) or loaded, untimed
    hops_ref, wall_ref = _run(small, "reference")
    hops_small, _wall_small = _run(small, "core")
    assert hops_small == hops_ref  # same packets simulated
    ref_rate = hops_ref / wall_ref
    benchmark.extra_info.update(
        core_hops_per_s=core_rate,
        reference_hops_per_s=ref_rate,
        ratio=core_rate / ref_rate,
        packet_hops=hops_core,
        core_hops_per_cpu_s=max(cpu_rates),
    )
    print(
        f"\ncore: {core_rate / 1e6:.1f} M packet-hops/s ({hops_core:,} hops, best of 3); "
        f"{max(cpu_rates) / 1e6:.1f} M/s of CPU time"
    )
    # the same engines as the one-thread runs' (one epoch): `_run` counts the scenario's
    # three epochs apart, which takes the general link loop, a third longer on one thread
    # and on two (docs/performance.md, "Two threads in the benchmark's process")
    two = max(_two_threads(plan, scenario, actions) for _ in range(3))
    benchmark.extra_info.update(core_two_threads_hops_per_s=two, two_threads_ratio=two / ref_rate)
    print(
        f"reference (0.3 s case): {ref_rate / 1e6:.3f} M packet-hops/s; "
        f"ratio core/reference = {core_rate / ref_rate:.0f}x"
    )
    print(
        f"core on two threads: {two / 1e6:.1f} M packet-hops/s (best of 3), "
        f"{two / core_rate:.2f}x one thread; ratio core/reference = {two / ref_rate:.0f}x"
    )


def test_large_city_core_vs_reference() -> None:
    """Packet-hops/s of the core on 5 s of the large city (10 000 cameras, 200 aggregation
    switches; scenario compilation excluded), best of 3, per second of wall and of CPU time
    on one thread, of wall time on two; the reference on 20 ms of the same city in the same
    run."""
    _run(S // 10, path=LARGE_CITY)  # compile / load the cache
    scenario = with_overrides(load_scenario(LARGE_CITY), duration_ps=5 * S)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    epochs, _ = epoch_bounds(actions, 5 * S)
    best_wall = best_cpu = best_two = 0.0
    for _ in range(3):
        engine = make_engine(plan, scenario, epochs=epochs)
        c0 = time.thread_time()
        stats = drive(engine, actions, 5 * S)
        cpu = time.thread_time() - c0
        best_wall = max(best_wall, stats.packet_hops / stats.wall_seconds)
        best_cpu = max(best_cpu, stats.packet_hops / cpu)
    for _ in range(3):
        two = drive(make_engine(plan, scenario, epochs=epochs, threads=2), actions, 5 * S)
        best_two = max(best_two, two.packet_hops / two.wall_seconds)
    small = S // 50
    _run(S // 1000, "reference", path=LARGE_CITY)  # its kernels ready, untimed
    hops_ref, wall_ref = _run(small, "reference", path=LARGE_CITY)
    hops_small, _wall_small = _run(small, "core", path=LARGE_CITY)
    assert hops_small == hops_ref  # same packets simulated
    ref_rate = hops_ref / wall_ref
    print(
        f"\nlarge city: {best_wall / 1e6:.1f} M packet-hops/s of wall time, "
        f"{best_cpu / 1e6:.1f} M/s of CPU time ({stats.packet_hops:,} hops, best of 3); "
        f"reference (20 ms): {ref_rate / 1e6:.3f} M/s; ratio core/reference = "
        f"{best_wall / ref_rate:.0f}x; on two threads {best_two / 1e6:.1f} M/s of wall time "
        f"({best_two / best_wall:.2f}x one thread, {best_two / ref_rate:.0f}x the reference)"
    )


def test_peak_memory_one_and_two_threads() -> None:
    """Peak resident memory and packet-hops/s of the mid-size city (10 s) and the large city
    (5 s) on one thread and on two, each in a fresh process."""
    _case("1s", threads=2)  # (the kernels in the cache)
    for path, duration in ((MID_CITY, "10s"), (LARGE_CITY, "5s")):
        one = _case(duration, path=path)
        two = _case(duration, path=path, threads=2)
        print(
            f"\n{path.stem} {duration}: one thread {one['peak_rss_mib']:.0f} MiB peak, "
            f"{one['hops_per_s'] / 1e6:.1f} M hops/s; two threads {two['peak_rss_mib']:.0f} "
            f"MiB peak, {two['hops_per_s'] / 1e6:.1f} M hops/s"
        )


def test_mid_city_memory_flat() -> None:
    """Peak memory of 600 s simulated stays within 20 % of 60 s (fresh processes)."""
    # a short case first, so that neither measured process compiles a kernel missing from
    # the cache (the compiler's memory would count in its peak: 670-750 MiB against 340)
    _case("6s")  # (past the alarm at 5 s: its epochs take the general loop)
    short = _case("60s")
    long = _case("600s")
    growth = long["peak_rss_mib"] / short["peak_rss_mib"]
    print(
        f"\n60 s: {short['peak_rss_mib']:.0f} MiB peak, "
        f"{short['hops_per_s'] / 1e6:.1f} M hops/s; "
        f"600 s: {long['peak_rss_mib']:.0f} MiB peak, {long['hops_per_s'] / 1e6:.1f} M hops/s; "
        f"ratio {growth:.3f}"
    )
    assert growth <= 1.2


def test_mid_city_with_services_and_classes() -> None:
    """The same city with services, three strict-priority queues, a ring failure with
    reroutes and epochs (scenarios/mid-city-services.toml) against the plain FIFO city, 10 s
    each, best of 3, in the same process: the ratio of their packet-hops/s."""
    _run(S // 10, path=MID_CITY_SERVICES)  # compile / load the cache
    rates = {}
    for name, path in (("fifo", MID_CITY), ("services", MID_CITY_SERVICES)):
        best = 0.0
        for _ in range(3):
            hops, wall = _run(10 * S, path=path)
            best = max(best, hops / wall)
        rates[name] = best
    ratio = rates["services"] / rates["fifo"]
    print(
        f"\nmid-city (FIFO): {rates['fifo'] / 1e6:.1f} M packet-hops/s; "
        f"mid-city-services (priority queues, services, failure): "
        f"{rates['services'] / 1e6:.1f} M packet-hops/s; ratio {ratio:.2f}"
    )
