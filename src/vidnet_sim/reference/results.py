"""The reference engine's statistics: rules 7-9, 12 and 14 of ``docs/model.md``, computed
after the run from every packet's outcome per delivery flow and the links' counters."""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vidnet_sim.core.histogram import N_BUCKETS, histogram_of
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.reference.link import Link
from vidnet_sim.reference.packets import DELIVERED, FAILED, Packet

I64 = npt.NDArray[np.int64]


def run_stats(
    plan: NetworkPlan,
    packets: Sequence[Packet],
    links: Sequence[Link],
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    epochs: Sequence[int],
    packet_hops: int,
) -> RunStats:
    """The :class:`RunStats` of a finished run (every packet delivered or dropped for every
    delivery flow of its tree)."""
    W, T = warmup_ps, end_ps
    n_groups, n_epochs = len(plan.group_names), len(epochs)
    flow_group = [int(plan.sources.group[int(s)]) for s in plan.flow_source]

    def zeros() -> list[int]:
        return [0] * n_groups

    def epoch_zeros() -> list[list[int]]:
        return [zeros() for _ in range(n_epochs)]

    # counters as Python lists (fast to increment), arrays at the end
    sent, delivered, dropped, failed, in_flight = zeros(), zeros(), zeros(), zeros(), zeros()
    bytes_delivered, payload_delivered = zeros(), zeros()
    f_sent, f_delivered, f_lost, f_in_flight = zeros(), zeros(), zeros(), zeros()
    jitter_sum, jitter_count = zeros(), zeros()
    e_sent, e_delivered, e_dropped, e_failed = (epoch_zeros() for _ in range(4))
    latencies: list[list[int]] = [[] for _ in range(n_groups)]
    e_latencies: list[list[list[int]]] = [[[] for _ in range(n_groups)] for _ in range(n_epochs)]
    frame_latencies: list[list[int]] = [[] for _ in range(n_groups)]
    #: (flow, frame) -> [(end time, outcome)] of its packets, and the frame's capture and size
    frames: dict[tuple[int, int], list[tuple[int, int]]] = {}
    frame_info: dict[tuple[int, int], tuple[int, int]] = {}
    #: per delivery flow, its delivered (not in flight) packets: (delivery, seq, latency, emit)
    by_flow: list[list[tuple[int, int, int, int]]] = [[] for _ in range(plan.n_flows)]

    for p in packets:
        assert len(p.outcome) == len(p.flows), "a packet copy never ended"
        e = bisect_right(epochs, p.emit) - 1  # the epoch of its emission
        for f, (t_end, how) in p.outcome.items():
            settled = drain or t_end <= T  # delivered or dropped by the end of the run
            if p.frame >= 0:
                frames.setdefault((f, p.frame), []).append((t_end, how if settled else 0))
                frame_info[(f, p.frame)] = (p.emit, p.npk)
            if how == DELIVERED and settled:
                by_flow[f].append((t_end, p.seq, t_end - p.emit, p.emit))
            if p.emit < W:
                continue
            g = flow_group[f]
            sent[g] += 1
            e_sent[e][g] += 1
            if not settled:
                in_flight[g] += 1
            elif how == DELIVERED:
                delivered[g] += 1
                e_delivered[e][g] += 1
                bytes_delivered[g] += p.wire
                payload_delivered[g] += p.payload
                latencies[g].append(t_end - p.emit)
                e_latencies[e][g].append(t_end - p.emit)
            else:
                dropped[g] += 1
                e_dropped[e][g] += 1
                if how == FAILED:
                    failed[g] += 1
                    e_failed[e][g] += 1

    for (f, _k), ends in frames.items():
        capture, npk = frame_info[(f, _k)]
        if capture < W:
            continue
        assert len(ends) == npk
        g = flow_group[f]
        f_sent[g] += 1
        if any(how not in (0, DELIVERED) for _, how in ends):  # a packet dropped by T
            f_lost[g] += 1
        elif any(how == 0 for _, how in ends):
            f_in_flight[g] += 1
        else:
            f_delivered[g] += 1
            frame_latencies[g].append(max(t for t, _ in ends) - capture)

    for f, pkts in enumerate(by_flow):  # jitter: delivery order, ties by seq
        pkts.sort()
        g = flow_group[f]
        for prev, cur in itertools.pairwise(pkts):
            if cur[3] >= W:
                jitter_sum[g] += abs(cur[2] - prev[2])
                jitter_count[g] += 1

    def arr(values: list[int] | list[list[int]]) -> I64:
        return np.array(values, np.int64)

    def extremes(values: list[list[int]]) -> tuple[I64, I64]:
        lo = np.array([min(v, default=-1) for v in values], np.int64)
        hi = np.array([max(v, default=-1) for v in values], np.int64)
        return lo, hi

    def hist(values: list[list[int]]) -> I64:
        out = np.zeros((len(values), N_BUCKETS), np.int64)
        for g, v in enumerate(values):
            if v:
                out[g] = histogram_of(v)
        return out

    def sums(values: list[list[int]]) -> npt.NDArray[np.object_]:
        out = np.empty(len(values), dtype=object)
        out[:] = [sum(v) for v in values]
        return out

    def link_col(name: str) -> I64:
        return np.array([getattr(link, name) for link in links], np.int64)

    def link_epochs(name: str) -> I64:
        return (
            np.array([getattr(link, name) for link in links], np.int64)
            .reshape(len(links), n_epochs)
            .T.copy()
        )

    lat_min, lat_max = extremes(latencies)
    f_lat_min, f_lat_max = extremes(frame_latencies)
    return RunStats(
        group_names=list(plan.group_names),
        group_classes=list(plan.group_classes),
        group_kinds=list(plan.group_kinds),
        packets_sent=arr(sent),
        packets_delivered=arr(delivered),
        packets_dropped=arr(dropped),
        packets_in_flight=arr(in_flight),
        bytes_delivered=arr(bytes_delivered),
        payload_bytes_delivered=arr(payload_delivered),
        frames_sent=arr(f_sent),
        frames_delivered=arr(f_delivered),
        frames_lost=arr(f_lost),
        frames_in_flight=arr(f_in_flight),
        jitter_sum_ps=arr(jitter_sum),
        jitter_count=arr(jitter_count),
        latency_min_ps=lat_min,
        latency_max_ps=lat_max,
        frame_latency_min_ps=f_lat_min,
        frame_latency_max_ps=f_lat_max,
        packet_hist=hist(latencies),
        frame_hist=hist(frame_latencies),
        link_names=list(plan.link_names),
        link_src=[plan.node_names[int(i)] for i in plan.link_src],
        link_dst=[plan.node_names[int(i)] for i in plan.link_dst],
        link_rate_bps=np.asarray(plan.link_rate_bps, np.int64).copy(),
        link_packets=link_col("packets"),
        link_bytes=link_col("bytes"),
        link_drops=link_col("drops"),
        link_drop_bytes=link_col("drop_bytes"),
        link_busy_ps=link_col("busy_ps"),
        link_peak_queue_bytes=link_col("peak_bytes"),
        link_peak_queue_packets=link_col("peak_packets"),
        link_peak_wait_ps=link_col("peak_wait"),
        measured_ps=T - W,
        packet_hops=packet_hops,
        class_names=list(plan.class_names),
        group_class=np.asarray(plan.group_class, np.int64).copy(),
        packets_failed=arr(failed),
        link_fail_drops=link_col("fail_drops"),
        epoch_starts_ps=np.array(epochs, np.int64),
        epoch_sent=arr(e_sent),
        epoch_delivered=arr(e_delivered),
        epoch_dropped=arr(e_dropped),
        epoch_failed=arr(e_failed),
        epoch_packet_hist=np.stack([hist(v) for v in e_latencies]),
        epoch_link_bytes=link_epochs("e_bytes"),
        epoch_link_busy_ps=link_epochs("e_busy_ps"),
        epoch_link_drops=link_epochs("e_drops"),
        epoch_link_fail_drops=link_epochs("e_fail_drops"),
        latency_sum_ps=sums(latencies),
        frame_latency_sum_ps=sums(frame_latencies),
    )
