"""The core's stores sized before a run (:mod:`vidnet_sim.core.stores`): the estimated sizes
give the results of the smallest ones (which the kernel grows as it goes), leave a steady
run's stores where they started, and stay within their memory cap."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import numpy.typing as npt
import pytest

from planning import GBPS, MS, active_state, camera, poisson, tree_plan
from vidnet_sim.core import kernel as K  # noqa: N812
from vidnet_sim.core import stores
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.reference import stats_differences
from vidnet_sim.runner import make_engine, with_overrides
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.units import parse_time
from vidnet_sim.timeline.driver import drive, scenario_actions

SCENARIOS = Path(__file__).parent.parent / "scenarios"
#: Each part's store tops (``K.TOP_*``) of items, runs and rings.
TOPS = [K.TOP_ITEMS, K.TOP_RUNS, K.TOP_RING]


def _run(
    name: str, duration: str, threads: int, estimate: bool
) -> tuple[RunStats, list[bool], list[bool]]:
    """A fresh engine's run of the example ``name``: its statistics, whether each part's
    stores moved a segment, and whether they replaced an array (a store full to its top)."""
    scenario = with_overrides(
        load_scenario(SCENARIOS / f"{name}.toml"), duration_ps=parse_time(duration)
    )
    plan = build_plan(scenario)
    with mock.patch.object(CoreEngine, "estimate_stores", estimate):
        engine = make_engine(plan, scenario, threads=threads)
    assert isinstance(engine, CoreEngine)
    tops = [part.counters[TOPS].copy() for part in engine._parts]
    rows = [_rows(part) for part in engine._parts]
    stats = drive(engine, scenario_actions(scenario, plan), scenario.simulation.duration)
    moved = [bool((p.counters[TOPS] > t).any()) for p, t in zip(engine._parts, tops, strict=True)]
    replaced = [_rows(p) != r for p, r in zip(engine._parts, rows, strict=True)]
    return stats, moved, replaced


def _rows(part: Any) -> tuple[int, int, int]:
    return len(part.items), len(part.runs), len(part.ring)


def _sizes(
    plan: NetworkPlan, fused: npt.NDArray[np.bool_], buffer_packets: int, **kw: Any
) -> stores.StoreSizes:
    """``store_sizes`` for windows of 100 ms over 1 s, every buffer ``buffer_packets``
    packets (none counted in bytes)."""
    n = plan.n_links
    return stores.store_sizes(
        plan,
        100 * MS,
        10**12,
        fused=fused,
        buffer_bytes=np.full(n, -1, np.int64),
        buffer_packets=np.full(n, buffer_packets, np.int64),
        **kw,
    )


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("name", "duration"), [("small-town", "2s"), ("mid-city-services", "700ms")]
)
def test_estimated_stores_give_the_results_of_the_smallest(
    name: str, duration: str, threads: int
) -> None:
    """The same statistics with every segment starting at its smallest size, which the
    kernel grows (many times: checked) as it goes."""
    small, small_moved, small_replaced = _run(name, duration, threads, estimate=False)
    sized, _, _ = _run(name, duration, threads, estimate=True)
    assert stats_differences(sized, small) == []
    assert all(small_moved) and all(small_replaced)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_steady_city_keeps_its_first_stores(threads: int) -> None:
    """The mid-size city's first 3 s (no alarm, failure or growth yet): the few segments
    that outgrow their estimates (a camera's ring that holds more than an I-frame) move to
    the spare rows at the top of their store; no store is replaced by a larger array."""
    _, _, replaced = _run("mid-city", "3s", threads, estimate=True)
    assert not any(replaced)
    _, small_moved, small_replaced = _run("mid-city", "3s", threads, estimate=False)
    assert all(small_moved) and all(small_replaced)


@pytest.mark.parametrize("threads", [1, 2])
def test_stores_the_kernel_doubles_move_onto_huge_pages(threads: int) -> None:
    """A store the kernel doubles (allocated by Numba, on ordinary pages) is moved onto huge
    pages before the run goes on (``K.MOVED_STORE``): with every segment starting at its
    smallest size, the mid-size city with services replaces its stores many times; each one
    of ``HUGE_TABLE_BYTES`` or more ends at a huge page's start, and the results are those
    of the estimated stores (above)."""
    if stores._MADV_HUGEPAGE is None:
        pytest.skip("no transparent huge pages on this system")
    scenario = with_overrides(
        load_scenario(SCENARIOS / "mid-city-services.toml"), duration_ps=parse_time("700ms")
    )
    plan = build_plan(scenario)
    with mock.patch.object(CoreEngine, "estimate_stores", False):
        engine = make_engine(plan, scenario, threads=threads)
    assert isinstance(engine, CoreEngine)
    first = [_rows(part) for part in engine._parts]
    drive(engine, scenario_actions(scenario, plan), scenario.simulation.duration)
    large = [
        store
        for part, rows in zip(engine._parts, first, strict=True)
        for store, n in zip((part.items, part.runs, part.ring), rows, strict=True)
        if len(store) > n and store.nbytes >= stores.HUGE_TABLE_BYTES
    ]
    assert large  # (doubled past the size of a huge table: the case this test is about)
    assert all(store.ctypes.data % stores.HUGE_PAGE_BYTES == 0 for store in large)


def _camera_tree(n: int, **buffers: Any) -> NetworkPlan:
    """``n`` cameras (25 fps, GOP 25, I-frames of 10 P-frames of 15 000 B), each on its own
    access link to ``m``, and the link ``m -> r``."""
    parents = {f"a{i}": "m" for i in range(n)} | {"m": "r"}
    return tree_plan(
        parents,
        GBPS,
        sources=[camera(25, 15_000, gop=25, ip_ratio=10, at=f"a{i}") for i in range(n)],
        **buffers,
    )


def test_sizes_follow_rates_bursts_and_feeders() -> None:
    """Per link: two windows of mean arrivals plus the largest burst (a camera's I-frame), a
    step's windows for the links a part hands over, two runs per feeder and window; the
    rings hold an I-frame; fused links have no inbox of their own."""
    plan = _camera_tree(4, buffer_packets=10_000)
    n = plan.n_links
    fused = np.zeros(n, np.bool_)
    size = _sizes(plan, fused, 10_000)
    traffic = stores._link_traffic(plan, 100 * MS, 10**12)
    per_window, burst, owners = traffic
    i_frame = -(-15_000 * 10 // 1400)  # (packets of the I-frame: exact sizes, 108)
    assert burst.max() == pytest.approx(i_frame)
    np.testing.assert_array_equal(size.inbox[:n], np.maximum(np.ceil(2 * per_window + burst), 16))
    np.testing.assert_array_equal(size.runs[:n], np.maximum(2 * owners, 4))
    assert owners.max() == 4  # (the shared link: fed by the four access links)
    assert (size.ring >= burst + 2).all() and (size.ring < 2 * (burst + 2)).all()
    assert (size.ring & (size.ring - 1) == 0).all()  # (powers of two)
    stepped = _sizes(
        plan, np.ones(n, np.bool_), 10_000, step_links=np.ones(n, np.bool_), step_windows=5
    )
    assert (stepped.inbox[:n] == 0).all() and (stepped.runs[:n] == 0).all()
    assert stepped.inbox[n] == np.ceil(10 * per_window + burst).max()  # (the staging inbox)


def test_estimates_far_above_need_are_capped() -> None:
    """Sources sending ten million packets per second each: the estimated inboxes together
    stay within ``MAX_STORE_BYTES`` (the kernel grows what proves too small); a ring holds
    no more than its link's buffer (rounded up to a power of two)."""
    parents = {f"a{i}": "m" for i in range(50)} | {"m": "r"}
    sources = [poisson(100_000, 1000, at=f"a{i}") for i in range(50)]
    plan = tree_plan(parents, 100 * GBPS, sources=sources)
    n = plan.n_links
    size = _sizes(plan, np.zeros(n, np.bool_), 10**9)
    assert size.inbox.sum() * 32 <= stores.MAX_STORE_BYTES
    assert size.inbox.min() >= stores.MIN_INBOX
    wanted = stores.INBOX_MARGIN * stores._link_traffic(plan, 100 * MS, 10**12)[0]
    assert wanted.sum() * 32 > 10 * stores.MAX_STORE_BYTES  # (the estimate, far above)
    cameras = _camera_tree(50)
    n = cameras.n_links
    size = _sizes(cameras, np.zeros(n, np.bool_), 40)
    assert (size.ring == 64).all()  # (I-frames of 108 packets; 40 waiting + 2: 64)


def test_large_tables_start_on_a_huge_page_and_small_ones_on_a_cache_line() -> None:
    """``stores.table``: zeros, writable, C-contiguous; from ``HUGE_TABLE_BYTES`` on, at a huge
    page's start (the system is asked for transparent huge pages there), below it on a
    64-byte cache line."""
    rows = stores.HUGE_TABLE_BYTES // 32
    big = stores.table(rows, 4)
    small = stores.table(rows // 2 - 1, 4)
    for t in (big, small):
        assert t.flags.c_contiguous and t.flags.writeable and not t.any()
        t[-1, -1] = 7  # (its last row is its own)
        assert t[-1, -1] == 7
    assert small.ctypes.data % 64 == 0
    if stores._MADV_HUGEPAGE is not None:
        assert big.ctypes.data % stores.HUGE_PAGE_BYTES == 0


def test_a_ring_that_empties_starts_again_at_its_first_row() -> None:
    """A link's ring of the packets in its buffer starts again at its segment's first row
    whenever it empties, so that a camera's links, idle between frames, write the same few
    rows frame after frame instead of a head that moves through the whole segment (the
    results are the reference's: test_core, test_work_order). Both kinds of loop: the
    access link reads where its packets were generated, the trunk its inbox."""
    cams = [  # (their frames 20 ms apart: the trunk empties between them too)
        camera(25, 6000.0, gop=5, ip_ratio=3.0, max_payload=1400, at=c, anchor_ps=k * 20 * MS)
        for k, c in enumerate("ab")
    ]
    plan = tree_plan({"a": "m", "b": "m", "m": "r"}, GBPS, 2000, sources=cams)
    core = CoreEngine(
        plan,
        active_state(plan),
        warmup_ps=0,
        end_ps=400 * MS,
        drain=True,
        window_ps=10 * MS,
    )
    L = core._parts[0].L
    fused = np.flatnonzero(L[: plan.n_links, K.L_FUSED])
    assert len(fused) == 2 and plan.n_links == 3
    served = np.zeros(plan.n_links, np.int64)
    for t in range(10, 400, 10):
        core.advance(t * MS)
        assert L[: plan.n_links, K.L_RING_HEAD].tolist() == [0, 0, 0], t
        served = np.maximum(served, L[: plan.n_links, K.L_RING_N])
    assert (served > 0).all() and (served[fused] > 2).all()  # (the access links: a frame)
    assert core.finish().packets_delivered.sum() > 0


def _huge_only(monkeypatch: pytest.MonkeyPatch, smallest: int) -> None:
    """Every table of ``smallest`` bytes or more on huge pages (so through the pool)."""
    if stores._MADV_HUGEPAGE is None:
        pytest.skip("no transparent huge pages on this system")
    monkeypatch.setattr(stores, "HUGE_TABLE_BYTES", smallest)


def _mappings(engine: CoreEngine, stats: RunStats | None = None) -> set[int]:
    """Where the huge tables of ``engine`` (and of its statistics) start."""
    tables = [engine._flow, engine._slots, engine._L, engine._pos, engine._phist, engine._fhist]
    for part in engine._parts:
        tables += [part.L, part.items, part.runs, part.ring, part.qdata]
    if stats is not None:
        tables += [stats.packet_hist, stats.frame_hist]
    return {
        t.ctypes.data
        for t in tables
        if t.nbytes >= stores.HUGE_TABLE_BYTES and t.ctypes.data % stores.HUGE_PAGE_BYTES == 0
    }


def _count_fresh_mappings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The lengths of the fresh mappings the pool's tables are given from now on (a list the
    caller reads: empty while every table comes from the pool)."""
    fresh: list[int] = []
    real = stores._Mapping

    def counted(n: int) -> stores._Mapping:
        fresh.append(n)
        return real(n)

    monkeypatch.setattr(stores, "_Mapping", counted)
    return fresh


@pytest.mark.parametrize("threads", [1, 2])
def test_a_dropped_engines_tables_serve_the_next_and_engines_alive_share_none(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The huge tables of an engine and of its statistics, once both are dropped, go to the
    pool, and the next engine of the same plan takes every one it needs (no fresh mapping)
    and gives the same statistics; an engine alive meanwhile has tables of its own. Once an
    engine's tables are taken, the pool is empty (the peak memory of a process is its
    largest engine's); it never keeps more than ``POOL_MAX_BYTES``."""
    _huge_only(monkeypatch, 64 << 10)
    scenario = with_overrides(
        load_scenario(SCENARIOS / "mid-city-services.toml"), duration_ps=parse_time("300ms")
    )
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)

    def engine() -> CoreEngine:
        made = make_engine(plan, scenario, threads=threads)
        assert isinstance(made, CoreEngine)
        assert stores.pooled_bytes() == 0
        return made

    stores.empty_pool()
    first = engine()
    used = _mappings(first)
    assert len(used) >= 6
    beside = engine()  # (alive with the first: tables of its own)
    assert not used & _mappings(beside)
    stats = drive(first, actions, scenario.simulation.duration)  # (its items move: doubled)
    del first, stats
    assert stores.pooled_bytes() >= len(used) * 2 * stores.HUGE_PAGE_BYTES
    fresh = _count_fresh_mappings(monkeypatch)
    again = engine()
    assert fresh == [] and _mappings(again) == used
    expected = drive(beside, actions, scenario.simulation.duration)
    got = drive(again, actions, scenario.simulation.duration)
    assert stats_differences(got, expected) == []
    assert not _mappings(again, got) & _mappings(beside, expected)
    monkeypatch.setattr(stores, "POOL_MAX_BYTES", 3 * stores.HUGE_PAGE_BYTES)
    stores.empty_pool()  # (the stores the runs moved, kept)
    del again, got, beside, expected
    assert 0 < stores.pooled_bytes() <= stores.POOL_MAX_BYTES
    stores.empty_pool()
    assert stores.pooled_bytes() == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_statistics_kept_keep_no_table_of_their_engine(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller that keeps each run's statistics (a benchmark's seven runs, a sweep's) kept
    the engine's histograms, huge tables handed over as they were: every next engine took
    fresh huge pages for them, which the system zeroes, and compacts memory for, at their
    first touch (peers case e: 0.062 s a run against 0.049 with the statistics dropped).
    The statistics hold copies: once the engine is dropped, every one of its huge tables is
    in the pool, and the next engine takes them all, while the statistics kept are equal
    to the engine's tables, to the next run's, and to themselves taken mid-run and again."""
    _huge_only(monkeypatch, 64 << 10)
    scenario = with_overrides(
        load_scenario(SCENARIOS / "mid-city-services.toml"), duration_ps=parse_time("300ms")
    )
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    stores.empty_pool()
    first = make_engine(plan, scenario, threads=threads)
    assert isinstance(first, CoreEngine)
    used = _mappings(first)
    kept = drive(first, actions, scenario.simulation.duration)
    assert (kept.packet_hist == first._phist).all() and kept.packet_hist.sum() > 0
    assert (kept.frame_hist == first._fhist).all() and kept.frame_hist.sum() > 0
    assert (kept.epoch_packet_hist[0] == first._phist).all()
    assert (first.stats().packet_hist == kept.packet_hist).all()
    assert not _mappings(first, kept) - _mappings(first)  # (no huge table of their own)
    tables = _mappings(first)
    del first
    assert stores.pooled_bytes() >= len(tables) * 2 * stores.HUGE_PAGE_BYTES
    fresh = _count_fresh_mappings(monkeypatch)
    again = make_engine(plan, scenario, threads=threads)
    assert isinstance(again, CoreEngine)
    assert fresh == [] and _mappings(again) == used
    assert stats_differences(drive(again, actions, scenario.simulation.duration), kept) == []
    del again
    stores.empty_pool()


def _garbage(fill: str) -> Any:
    """A stand-in for the pool's ``_take``: a fresh mapping whose pages hold ``fill`` (every
    byte 0xff, so every int64 -1, or random bytes), as if the last engine had left it so."""
    rng = np.random.default_rng(7)

    def take(length: int) -> stores._Mapping:
        mapping = stores._Mapping(length)
        raw = np.frombuffer(mapping.mem, np.uint8)
        used = raw[mapping.start - raw.ctypes.data :][: length - stores.HUGE_PAGE_BYTES]
        used[:] = 0xFF if fill == "ones" else rng.integers(0, 256, len(used), np.uint8)
        del raw, used
        return mapping

    return take


@pytest.mark.parametrize(
    ("name", "duration", "threads", "estimate", "fill"),
    [
        ("small-town", "2s", 1, True, "random"),
        ("small-town", "2s", 2, True, "ones"),
        ("small-town-growth", "1s", 2, True, "random"),
        ("mid-city-services", "700ms", 1, True, "ones"),
        ("mid-city-services", "700ms", 2, True, "random"),
        ("mid-city-services", "700ms", 2, False, "random"),
        ("mid-city", "1s", 2, True, "ones"),
    ],
)
def test_tables_reused_as_the_last_engine_left_them_give_the_same_results(
    name: str,
    duration: str,
    threads: int,
    estimate: bool,
    fill: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every table taken from the pool full of garbage, as if left so by an engine before:
    the stores the kernel only reads where it wrote (``table(..., zeroed=False)``: inbox
    items, run lists, rings, queue rings, stores moved onto huge pages) keep it, the others
    are zeroed, and the statistics are those of fresh zeroed tables, bit for bit (with
    every segment at its smallest size too: the kernel grows and moves them)."""
    expected, _, _ = _run(name, duration, threads, estimate)
    _huge_only(monkeypatch, 1)
    monkeypatch.setattr(stores, "_take", _garbage(fill))
    got, _, _ = _run(name, duration, threads, estimate)
    assert stats_differences(got, expected) == []


def test_engines_built_and_dropped_on_several_threads_at_once_stay_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four threads each run engines one after another (as a sweep's threads do), taking
    tables from the pool and giving them back at once: no table serves two engines alive
    together (their statistics would mix), so every run gives the one-engine statistics."""
    _huge_only(monkeypatch, 64 << 10)
    scenario = with_overrides(
        load_scenario(SCENARIOS / "small-town.toml"), duration_ps=parse_time("1s")
    )
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)

    def one(threads: int) -> RunStats:
        return drive(make_engine(plan, scenario, threads=threads), actions, parse_time("1s"))

    expected = one(1)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(one, [1, 2] * 8))
    assert all(stats_differences(got, expected) == [] for got in runs)
    assert stores.pooled_bytes() <= stores.POOL_MAX_BYTES


def test_a_shorter_table_in_a_longer_mapping_hands_its_pages_past_the_table_back() -> None:
    """A table takes a free mapping of up to twice its length: it keeps what the last table
    left in its own pages (``zeroed=False``), and the mapping's pages past it go back to the
    system (they read as zeros), so that they are not kept resident for nothing."""
    if stores._MADV_HUGEPAGE is None:
        pytest.skip("no transparent huge pages on this system")
    page = stores.HUGE_PAGE_BYTES
    stores.empty_pool()
    first = stores.table(3 * page // 8, 1)
    first[:] = 7
    start = first.ctypes.data
    del first
    (mapping,) = stores._pool
    second = stores.table(2 * page // 8, 1, zeroed=False)
    assert second.ctypes.data == start and (second == 7).all()
    raw = np.frombuffer(mapping.mem, np.int64)
    past = raw[(mapping.skip + 2 * page) // 8 :][: page // 8]
    assert not past.any()
    del raw, past, second
    stores.empty_pool()
