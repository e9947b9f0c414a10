"""The SimPy reference engine on hand-computed cases (exact integers), plus invariants.

Times in the comments are in µs; 1000-byte packets take 8 µs at 1 Gbit/s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from planning import (
    GBPS,
    MS,
    US,
    active_state,
    camera,
    cbr,
    line_plan,
    poisson,
    random_tree_plan,
    trace,
    tree_plan,
)
from vidnet_sim.core.histogram import bucket_index
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.reference import ReferenceEngine, stats_differences

NO_DEP = -1


def run(
    plan: NetworkPlan,
    end_ps: int,
    *,
    warmup_ps: int = 0,
    drain: bool = True,
    pieces: Sequence[int] = (),
) -> tuple[RunStats, np.ndarray]:
    """Run the reference engine, advancing through ``pieces`` first; (stats, packet log)."""
    engine = ReferenceEngine(
        plan, active_state(plan), warmup_ps=warmup_ps, end_ps=end_ps, drain=drain, log=True
    )
    for t in pieces:
        engine.advance(t)
    stats = engine.finish()
    assert engine.packet_log is not None
    return stats, engine.packet_log


def rows(log: np.ndarray) -> list[tuple[int, ...]]:
    """The log's rows without their transmission start: (tree, seq, link, arrival, departure)."""
    return [tuple(int(x) for x in r) for r in log[:, :5]]


def assert_conserved(st: RunStats) -> None:
    np.testing.assert_array_equal(
        st.packets_sent, st.packets_delivered + st.packets_dropped + st.packets_in_flight
    )
    np.testing.assert_array_equal(
        st.frames_sent, st.frames_delivered + st.frames_lost + st.frames_in_flight
    )


# --------------------------------------------------------------------------- single link
def test_dd1_every_packet_waits_zero() -> None:
    # 960 B payload + 40 B header = 1000 B: S = 8 µs < 10 µs interval; P = 1 ns
    plan = line_plan([GBPS], 1000, sources=[cbr(10 * US, 960, header=40)])
    st, log = run(plan, 100 * US)
    assert rows(log) == [(0, k, 0, k * 10 * US, k * 10 * US + 8 * US) for k in range(10)]
    assert st.group_names == ["cbr0"] and st.group_kinds == ["cbr"]
    assert st.group_classes == ["default"]
    assert st.link_names == ["n0->n1"] and st.link_src == ["n0"] and st.link_dst == ["n1"]
    assert st.link_rate_bps.tolist() == [GBPS]
    assert st.packets_sent.tolist() == [10]
    assert st.packets_delivered.tolist() == [10]
    assert st.packets_dropped.tolist() == [0] and st.packets_in_flight.tolist() == [0]
    assert st.bytes_delivered.tolist() == [10_000]
    assert st.payload_bytes_delivered.tolist() == [9_600]
    assert st.latency_min_ps.tolist() == [8_001_000]
    assert st.latency_max_ps.tolist() == [8_001_000]
    assert st.packet_hist[0, bucket_index(8_001_000)] == 10 and st.packet_hist.sum() == 10
    assert st.jitter_sum_ps.tolist() == [0] and st.jitter_count.tolist() == [9]
    assert st.frames_sent.tolist() == [0] and st.frame_hist.sum() == 0
    assert st.frame_latency_min_ps.tolist() == [-1] and st.frame_latency_max_ps.tolist() == [-1]
    assert st.link_packets.tolist() == [10] and st.link_bytes.tolist() == [10_000]
    assert st.link_drops.tolist() == [0] and st.link_drop_bytes.tolist() == [0]
    assert st.link_busy_ps.tolist() == [80 * US]
    assert st.link_peak_queue_bytes.tolist() == [1000]
    assert st.link_peak_queue_packets.tolist() == [1]
    assert st.link_peak_wait_ps.tolist() == [0]
    assert st.measured_ps == 100 * US and st.packet_hops == 10


def test_service_time_is_rounded_up_to_a_whole_ps() -> None:
    # 1 byte at 3 Gbit/s: 8e12 / 3e9 = 2666.67 ps, rounded up to 2667
    plan = line_plan([3 * GBPS], sources=[trace([0], [1])])
    _, log = run(plan, 1 * US)
    assert rows(log) == [(0, 0, 0, 0, 2667)]


@pytest.mark.parametrize("swap", [False, True])
def test_same_instant_arrivals_are_admitted_in_flow_seq_order(swap: bool) -> None:
    a = trace([0, 0], [500, 250], name="a")  # 4 µs, then 2 µs
    b = trace([0], [1000], name="b")  # 8 µs
    plan = line_plan([GBPS], sources=[b, a] if swap else [a, b])
    _, log = run(plan, 1 * US)
    fa, fb = (1, 0) if swap else (0, 1)
    if not swap:  # a0 (0..4), a1 (4..6), b0 (6..14)
        expect = [(fa, 0, 0, 0, 4 * US), (fa, 1, 0, 0, 6 * US), (fb, 0, 0, 0, 14 * US)]
    else:  # b0 (0..8), a0 (8..12), a1 (12..14)
        expect = [(fb, 0, 0, 0, 8 * US), (fa, 0, 0, 0, 12 * US), (fa, 1, 0, 0, 14 * US)]
    assert sorted(rows(log)) == sorted(expect)


def test_burst_into_a_small_byte_buffer() -> None:
    # buffer 2500 B, occupancy counts the packet in transmission
    sizes = [1000, 1000, 1000, 400, 600, 1000]
    plan = line_plan([GBPS], 0, 2500, sources=[trace([0, 0, 0, 0, 0, 8 * US], sizes)])
    st, log = run(plan, 10 * US)
    assert rows(log) == [
        (0, 0, 0, 0, 8 * US),  # occ 0
        (0, 1, 0, 0, 16 * US),  # occ 1000 + 1000 <= 2500
        (0, 2, 0, 0, NO_DEP),  # 2000 + 1000 > 2500
        (0, 3, 0, 0, 19_200_000),  # 2000 + 400 <= 2500
        (0, 4, 0, 0, NO_DEP),  # 2400 + 600 > 2500
        # at 8 µs seq 0 leaves first (1400 B left), then 1400 + 1000 <= 2500
        (0, 5, 0, 8 * US, 27_200_000),
    ]
    assert st.packets_sent.tolist() == [6]
    assert st.packets_delivered.tolist() == [4] and st.packets_dropped.tolist() == [2]
    assert st.link_packets.tolist() == [4] and st.link_bytes.tolist() == [3400]
    assert st.link_drops.tolist() == [2] and st.link_drop_bytes.tolist() == [1600]
    assert st.link_busy_ps.tolist() == [27_200_000]
    assert st.link_peak_queue_bytes.tolist() == [2400]
    assert st.link_peak_queue_packets.tolist() == [3]
    assert st.link_peak_wait_ps.tolist() == [16 * US]  # seq 3: 0 -> 16
    assert st.latency_min_ps.tolist() == [8 * US]
    assert st.latency_max_ps.tolist() == [19_200_000]
    # latencies 8, 16, 19.2, 19.2
    assert st.jitter_sum_ps.tolist() == [11_200_000] and st.jitter_count.tolist() == [3]


@pytest.mark.parametrize("count_in_service", [True, False])
def test_count_in_service_changes_a_drop(count_in_service: bool) -> None:
    plan = line_plan(
        [GBPS], 0, 2000, sources=[trace([0, 0, 0], [1000] * 3)], count_in_service=count_in_service
    )
    st, log = run(plan, 1 * US)
    if count_in_service:  # seq 2 sees 2000 B (seq 0 in transmission, seq 1 waiting)
        assert rows(log) == [(0, 0, 0, 0, 8 * US), (0, 1, 0, 0, 16 * US), (0, 2, 0, 0, NO_DEP)]
        assert log[:, 5].tolist() == [0, 8 * US, NO_DEP]  # transmission starts; none if lost
        assert st.link_drops.tolist() == [1]
    else:  # seq 2 sees only seq 1 (1000 B)
        assert rows(log) == [(0, 0, 0, 0, 8 * US), (0, 1, 0, 0, 16 * US), (0, 2, 0, 0, 24 * US)]
        assert st.link_drops.tolist() == [0]
    assert st.link_peak_queue_bytes.tolist() == [2000]
    assert st.link_peak_queue_packets.tolist() == [2]


@pytest.mark.parametrize(("count_in_service", "dropped"), [(True, [2, 3]), (False, [3])])
def test_packet_counted_buffer(count_in_service: bool, dropped: list[int]) -> None:
    plan = line_plan(
        [GBPS],
        sources=[trace([0] * 4, [1000, 10, 10, 10])],
        buffer_packets=2,
        count_in_service=count_in_service,
    )
    assert plan.link_buffer_bytes.tolist() == [-1]
    st, log = run(plan, 1 * US)
    assert [int(r[1]) for r in log if r[4] == NO_DEP] == dropped
    assert st.link_peak_queue_packets.tolist() == [2]
    assert st.link_drops.tolist() == [len(dropped)]
    assert st.packets_delivered.tolist() == [4 - len(dropped)]


# --------------------------------------------------------------------------- several links
def test_two_hop_line_departure_plus_propagation_feeds_the_next_link() -> None:
    # link 0: 1 Gbit/s, 1 ns; link 1: 500 Mbit/s (16 µs per packet), 2 ns
    plan = line_plan([GBPS, GBPS // 2], [1000, 2000], sources=[trace([0, 1 * US], [1000] * 2)])
    st, log = run(plan, 20 * US)  # both arrivals at link 1 before T are counted
    assert rows(log) == [
        (0, 0, 0, 0, 8 * US),
        (0, 0, 1, 8_001_000, 24_001_000),
        (0, 1, 0, 1 * US, 16 * US),
        (0, 1, 1, 16_001_000, 40_001_000),
    ]
    assert st.latency_min_ps.tolist() == [24_003_000]
    assert st.latency_max_ps.tolist() == [39_003_000]
    assert st.link_peak_wait_ps.tolist() == [7 * US, 8 * US]
    assert st.link_busy_ps.tolist() == [16 * US, 32 * US]
    assert st.packet_hops == 4


@pytest.mark.parametrize("swap", [False, True])
def test_zero_propagation_joins_the_arrivals_of_the_same_instant(swap: bool) -> None:
    # "far" leaves link 0 at 8 µs and reaches link 1 at 8 µs, when "near" is emitted there;
    # link 1 holds one packet: the lower flow index gets in, the other is dropped.
    far = trace([0], [1000], name="far")
    near = trace([8 * US], [1000], name="near", at="n1")
    plan = line_plan([GBPS, GBPS], 0, [10_000, 1000], sources=[near, far] if swap else [far, near])
    st, log = run(plan, 10 * US)
    name_of_flow = [plan.sources.names[int(s)] for s in plan.flow_source]
    at_link1 = {name_of_flow[int(r[0])]: (int(r[3]), int(r[4])) for r in log if r[2] == 1}
    flow0, flow1 = ("near", "far") if swap else ("far", "near")
    assert at_link1 == {flow0: (8 * US, 16 * US), flow1: (8 * US, NO_DEP)}
    assert st.link_drops.tolist() == [0, 1]


def tree(trunk_buffer: int) -> NetworkPlan:
    # a -> m and b -> m (1 ns), m -> r (0.5 ns), all 1 Gbit/s
    return tree_plan(
        {"a": "m", "b": "m", "m": "r"},
        GBPS,
        {"a": 1000, "b": 1000, "m": 500},
        {"m": trunk_buffer},
        sources=[trace([0, 0], [1000, 1000], at="a"), trace([0], [1000], at="b")],
    )


def test_tree_merge() -> None:
    plan = tree(2000)
    assert plan.link_names == ["a->m", "b->m", "m->r"]
    st, log = run(plan, 50 * US)
    assert rows(log) == [
        (0, 0, 0, 0, 8 * US),
        (0, 0, 2, 8_001_000, 16_001_000),  # ties with b's packet: flow 0 first
        (0, 1, 0, 0, 16 * US),
        (0, 1, 2, 16_001_000, 32_001_000),  # arrives as flow 0 seq 0 leaves: queued behind b
        (1, 0, 1, 0, 8 * US),
        (1, 0, 2, 8_001_000, 24_001_000),
    ]
    assert st.latency_min_ps.tolist() == [16_001_500, 24_001_500]
    assert st.latency_max_ps.tolist() == [32_001_500, 24_001_500]
    assert st.link_peak_queue_bytes.tolist() == [2000, 1000, 2000]
    assert st.link_peak_wait_ps.tolist() == [8 * US, 0, 8 * US]
    assert st.jitter_sum_ps.tolist() == [16 * US, 0]
    assert st.jitter_count.tolist() == [1, 0]


def test_tree_merge_drop_then_departure_frees_room() -> None:
    st, log = run(tree(1500), 50 * US)
    assert rows(log) == [
        (0, 0, 0, 0, 8 * US),
        (0, 0, 2, 8_001_000, 16_001_000),
        (0, 1, 0, 0, 16 * US),
        (0, 1, 2, 16_001_000, 24_001_000),  # flow 0 seq 0 left at the same instant
        (1, 0, 1, 0, 8 * US),
        (1, 0, 2, 8_001_000, NO_DEP),  # 1000 + 1000 > 1500
    ]
    assert st.packets_delivered.tolist() == [2, 0]
    assert st.packets_dropped.tolist() == [0, 1]
    assert st.link_drops.tolist() == [0, 0, 1]
    assert st.link_drop_bytes.tolist() == [0, 0, 1000]


def test_multi_destination_copies_queue_separately() -> None:
    plan = line_plan([GBPS, GBPS], sources=[trace([0], [1000], to=("n1", "n2"))])
    assert plan.route(0).tolist() == [0] and plan.route(1).tolist() == [0, 1]
    st, log = run(plan, 1 * US)
    assert rows(log) == [(0, 0, 0, 0, 8 * US), (1, 0, 0, 0, 16 * US), (1, 0, 1, 16 * US, 24 * US)]
    assert st.packets_sent.tolist() == [2]
    assert st.latency_min_ps.tolist() == [8 * US] and st.latency_max_ps.tolist() == [24 * US]


# --------------------------------------------------------------------------- run boundaries
def overloaded_line() -> NetworkPlan:
    # link 1 at 500 Mbit/s holds one packet: seq 0 reaches it at 8 (leaves 24), seq 1 at 16
    # (dropped), seq 2 at 24 (admitted after seq 0 leaves; leaves 40)
    return line_plan(
        [GBPS, GBPS // 2], 0, [1 << 20, 1000], sources=[trace([0, 1 * US, 2 * US], [1000] * 3)]
    )


def test_overloaded_line_drained() -> None:
    st, log = run(overloaded_line(), 12 * US)
    assert [tuple(int(x) for x in r[2:]) for r in log if r[2] == 1] == [
        (1, 8 * US, 24 * US, 8 * US),  # (link, arrival, departure, transmission start)
        (1, 16 * US, NO_DEP, NO_DEP),
        (1, 24 * US, 40 * US, 24 * US),
    ]
    assert st.packets_delivered.tolist() == [2] and st.packets_dropped.tolist() == [1]
    assert st.packets_in_flight.tolist() == [0]


@pytest.mark.parametrize(
    ("end", "delivered", "dropped", "in_flight", "link1_packets", "link1_drops"),
    [
        (24 * US, 1, 1, 1, 1, 1),  # delivery at exactly T counts; arrival at T is not counted
        (12 * US, 0, 0, 3, 1, 0),  # the drop at 16 > T is in flight
    ],
)
def test_no_drain_counts_in_flight(
    end: int, delivered: int, dropped: int, in_flight: int, link1_packets: int, link1_drops: int
) -> None:
    st, log = run(overloaded_line(), end, drain=False)
    assert len(log) == 6 and st.packet_hops == 6  # still simulated to completion
    assert st.packets_sent.tolist() == [3]
    assert st.packets_delivered.tolist() == [delivered]
    assert st.packets_dropped.tolist() == [dropped]
    assert st.packets_in_flight.tolist() == [in_flight]
    assert st.latency_max_ps.tolist() == [24 * US if delivered else -1]
    assert st.link_packets.tolist() == [3, link1_packets]
    assert st.link_drops.tolist() == [0, link1_drops]


def test_warmup_exclusion() -> None:
    plan = line_plan([GBPS], 1000, sources=[cbr(10 * US, 1000)])
    st, _ = run(plan, 100 * US, warmup_ps=30 * US)
    assert st.packets_sent.tolist() == [7] and st.packets_delivered.tolist() == [7]
    assert st.packet_hist.sum() == 7
    assert st.jitter_count.tolist() == [7]  # the packet at 30 pairs with the one at 20
    assert st.link_packets.tolist() == [7] and st.link_bytes.tolist() == [7000]
    assert st.link_busy_ps.tolist() == [56 * US]
    assert st.measured_ps == 70 * US and st.packet_hops == 10


def test_warmup_drops_are_not_counted() -> None:
    plan = line_plan([GBPS], 0, 1000, sources=[trace([0, 0, 0, 50 * US], [1000] * 4)])
    st, _ = run(plan, 100 * US, warmup_ps=10 * US)
    assert st.packets_sent.tolist() == [1] and st.packets_delivered.tolist() == [1]
    assert st.packets_dropped.tolist() == [0]
    assert st.link_drops.tolist() == [0] and st.link_packets.tolist() == [1]
    assert st.packet_hops == 4


# --------------------------------------------------------------------------- frames, jitter
def camera_line() -> NetworkPlan:
    # 1000 fps; gop 2: frames 0, 2 are I (3000 B: 3 packets), frame 1 is P (1500 B: 1000 + 500)
    cam = camera(1000, 1500.0, gop=2, ip_ratio=2.0, max_payload=1000, name="cams")
    return line_plan([GBPS], 1000, 1500, sources=[cam])


def test_frame_with_a_dropped_packet_is_lost() -> None:
    st, log = run(camera_line(), 3 * MS)
    assert [int(r[1]) for r in log if r[4] == NO_DEP] == [1, 2, 6, 7]
    assert st.group_kinds == ["camera"]
    assert st.packets_sent.tolist() == [8]
    assert st.packets_delivered.tolist() == [4] and st.packets_dropped.tolist() == [4]
    assert st.frames_sent.tolist() == [3]
    assert st.frames_delivered.tolist() == [1] and st.frames_lost.tolist() == [2]
    assert st.frames_in_flight.tolist() == [0]
    # frame 1: 1000 B leaves at 1 ms + 8 µs, 500 B at 1 ms + 12 µs; + 1 ns
    assert st.frame_latency_min_ps.tolist() == [12_001_000]
    assert st.frame_latency_max_ps.tolist() == [12_001_000]
    assert st.frame_hist[0, bucket_index(12_001_000)] == 1 and st.frame_hist.sum() == 1
    assert st.latency_min_ps.tolist() == [8_001_000]
    assert st.latency_max_ps.tolist() == [12_001_000]


def test_frames_after_warmup_and_in_flight() -> None:
    st, _ = run(camera_line(), 3 * MS, warmup_ps=1 * MS)
    assert st.frames_sent.tolist() == [2] and st.packets_sent.tolist() == [5]
    assert st.frames_delivered.tolist() == [1] and st.frames_lost.tolist() == [1]
    # T = 1 ms + 10 µs: frame 1's first packet is delivered (8.001 µs), its second not (12.001)
    st, _ = run(camera_line(), 1 * MS + 10 * US, drain=False)
    assert st.frames_sent.tolist() == [2]
    assert st.frames_lost.tolist() == [1] and st.frames_in_flight.tolist() == [1]
    assert st.frames_delivered.tolist() == [0] and st.frame_latency_max_ps.tolist() == [-1]
    assert st.packets_delivered.tolist() == [2] and st.packets_in_flight.tolist() == [1]


@pytest.mark.parametrize(
    ("warmup", "jitter_sum", "jitter_count"),
    [(0, 14 * US, 3), (20 * US, 14 * US, 3), (40 * US, 10 * US, 2)],
)
def test_jitter(warmup: int, jitter_sum: int, jitter_count: int) -> None:
    # latencies 8, 4, 8, 2 µs; the 1000 B packet at 60 µs is dropped (250 + 1000 > 1000)
    src = trace([0, 20 * US, 40 * US, 60 * US, 60 * US], [1000, 500, 1000, 250, 1000])
    plan = line_plan([GBPS], 0, 1000, sources=[src])
    st, _ = run(plan, 100 * US, warmup_ps=warmup)
    assert st.packets_dropped.tolist() == [1]
    assert st.jitter_sum_ps.tolist() == [jitter_sum]
    assert st.jitter_count.tolist() == [jitter_count]


def test_exact_latency_sums() -> None:
    # latencies 8, 4, 8, 2 µs, the fifth packet dropped: the sum counts delivered ones only
    src = trace([0, 20 * US, 40 * US, 60 * US, 60 * US], [1000, 500, 1000, 250, 1000])
    st, _ = run(line_plan([GBPS], 0, 1000, sources=[src]), 100 * US)
    assert st.latency_sum_ps.tolist() == [22 * US] and st.packets_delivered.tolist() == [4]
    assert st.frame_latency_sum_ps.tolist() == [0]
    st, _ = run(camera_line(), 3 * MS)  # one delivered frame (12.001 µs), four packets
    assert st.frame_latency_sum_ps.tolist() == [12_001_000]
    assert st.latency_sum_ps.tolist() == [2 * 8_001_000 + 8_001_000 + 12_001_000]


def test_jitter_is_per_flow_within_a_group() -> None:
    a = trace([0, 20 * US], [1000, 1000], name="a", group="g")  # 8, 8
    b = trace([10 * US, 30 * US], [500, 250], name="b", group="g")  # 4, 2
    plan = line_plan([GBPS], sources=[a, b])
    st, _ = run(plan, 100 * US)
    assert st.group_names == ["g"]
    assert st.jitter_sum_ps.tolist() == [2 * US] and st.jitter_count.tolist() == [2]


# --------------------------------------------------------------------------- driving
def test_state_changes_between_advances() -> None:
    plan = line_plan([GBPS], sources=[cbr(10 * US, 1000)])
    state = active_state(plan)
    engine = ReferenceEngine(plan, state, warmup_ps=0, end_ps=100 * US, drain=True, log=True)
    engine.advance(30 * US)
    state.active[0] = False
    engine.advance(60 * US)
    engine.advance(60 * US)  # the same instant twice: nothing happens
    state.active[0] = True
    st = engine.finish()
    assert engine.packet_log is not None
    assert engine.packet_log[:, 3].tolist() == [t * US for t in (0, 10, 20, 60, 70, 80, 90)]
    assert engine.packet_log[:, 1].tolist() == list(range(7))
    assert st.packets_sent.tolist() == [7]
    with pytest.raises(RuntimeError):
        engine.advance(200 * US)


def test_advance_cannot_go_back() -> None:
    plan = line_plan([GBPS], sources=[cbr(10 * US, 1000)])
    engine = ReferenceEngine(plan, active_state(plan), warmup_ps=0, end_ps=100 * US, drain=True)
    engine.advance(50 * US)
    with pytest.raises(ValueError, match="back in time"):
        engine.advance(40 * US)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_conservation_on_a_random_overloaded_tree(seed: int) -> None:
    plan = random_tree_plan(seed)
    end, warmup = 2 * MS, 200 * US
    drained, log = run(plan, end, warmup_ps=warmup)
    cut, log_cut = run(plan, end, warmup_ps=warmup, drain=False)
    for st in (drained, cut):
        assert_conserved(st)
    assert drained.packets_in_flight.sum() == 0 and drained.frames_in_flight.sum() == 0
    assert drained.packets_dropped.sum() > 0 and drained.frames_lost.sum() > 0
    assert cut.packets_in_flight.sum() > 0
    np.testing.assert_array_equal(drained.packets_sent, cut.packets_sent)
    np.testing.assert_array_equal(drained.frames_sent, cut.frames_sent)
    np.testing.assert_array_equal(log, log_cut)
    assert drained.packet_hops == len(log)
    # per link: FIFO (departures in arrival order), at least one transmission time apart
    for li in range(plan.n_links):
        sent = log[(log[:, 2] == li) & (log[:, 4] != NO_DEP)]
        order = np.lexsort((sent[:, 1], sent[:, 0], sent[:, 3]))
        deps = sent[order, 4]
        assert np.all(np.diff(deps) > 0)
        assert np.all(sent[:, 4] > sent[:, 3])
        counted = (log[:, 2] == li) & (log[:, 3] >= warmup) & (log[:, 3] < end)
        assert drained.link_packets[li] == np.sum(counted & (log[:, 4] != NO_DEP))
        assert drained.link_drops[li] == np.sum(counted & (log[:, 4] == NO_DEP))
    # a packet is dropped at most once, and then goes no further
    last: dict[tuple[int, int], int] = {}
    for f, s, _li, _t_arr, t_dep in rows(log):
        assert last.get((f, s), 0) != NO_DEP
        last[(f, s)] = t_dep


@pytest.mark.parametrize("seed", [1, 2])
def test_advancing_in_pieces_equals_one_advance(seed: int) -> None:
    plan = random_tree_plan(seed)
    end, warmup = 1 * MS, 100 * US
    whole, log = run(plan, end, warmup_ps=warmup)
    rng = np.random.default_rng(seed)
    pieces = sorted(
        [int(x) for x in rng.integers(0, end, 40)]  # anywhere
        + [k * 100 * US for k in range(0, 10, 3)]  # camera frame instants
        + [k * 10 * US for k in range(0, 100, 7)]  # trace loop instants
        + [300 * US] * 3  # the same instant several times
    )
    parts, log_parts = run(plan, end, warmup_ps=warmup, pieces=[*pieces, end + 5 * US])
    np.testing.assert_array_equal(log, log_parts)
    assert stats_differences(whole, parts) == []


@pytest.mark.slow
def test_md1_mean_wait() -> None:
    # Poisson arrivals, 1000 B packets (S = 8 µs), rho = 0.5: mean wait = rho S / (2 (1 - rho))
    plan = line_plan([GBPS], sources=[poisson(16.0 * US, 1000)])
    st, log = run(plan, 2000 * MS)
    waits = log[:, 4] - 8 * US - log[:, 3]
    assert st.packets_dropped.sum() == 0
    assert abs(waits.mean() / (4 * US) - 1.0) < 0.03


def test_zero_byte_packets_are_refused() -> None:
    plan = line_plan([GBPS], sources=[trace([0], [0])])
    engine = ReferenceEngine(plan, active_state(plan), warmup_ps=0, end_ps=1 * US, drain=True)
    with pytest.raises(ValueError, match="0 wire bytes"):
        engine.finish()
