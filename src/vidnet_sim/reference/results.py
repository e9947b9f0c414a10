"""The reference engine's statistics: rules 7-9, 12 and 14 of ``docs/model.md``, computed
after the run from every packet's outcome per delivery flow and the links' counters."""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vidnet_sim.core.histogram import N_BUCKETS, histogram_of
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import SCHED_FIFO, NetworkPlan
from vidnet_sim.reference.link import QUEUE_STATS, Link
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
    n_groups = len(plan.group_names)
    flow_group = [int(plan.sources.group[int(s)]) for s in plan.flow_source]
    pk = _PacketTally(n_groups, len(epochs), plan.n_flows)
    for p in packets:
        pk.add(p, flow_group, warmup_ps=W, end_ps=T, drain=drain, epochs=epochs)
    fr = _frame_tally(pk.frames, pk.frame_info, flow_group, n_groups, W)
    jitter_sum, jitter_count = _jitter(pk.by_flow, flow_group, n_groups, W)
    lat_min, lat_max = _extremes(pk.latencies)
    f_lat_min, f_lat_max = _extremes(fr.latencies)
    return RunStats(
        group_names=list(plan.group_names),
        group_classes=list(plan.group_classes),
        group_kinds=list(plan.group_kinds),
        packets_sent=_arr(pk.sent),
        packets_delivered=_arr(pk.delivered),
        packets_dropped=_arr(pk.dropped),
        packets_in_flight=_arr(pk.in_flight),
        bytes_delivered=_arr(pk.bytes_delivered),
        payload_bytes_delivered=_arr(pk.payload_delivered),
        frames_sent=_arr(fr.sent),
        frames_delivered=_arr(fr.delivered),
        frames_lost=_arr(fr.lost),
        frames_in_flight=_arr(fr.in_flight),
        jitter_sum_ps=_arr(jitter_sum),
        jitter_count=_arr(jitter_count),
        latency_min_ps=lat_min,
        latency_max_ps=lat_max,
        frame_latency_min_ps=f_lat_min,
        frame_latency_max_ps=f_lat_max,
        packet_hist=_hist(pk.latencies),
        frame_hist=_hist(fr.latencies),
        link_names=list(plan.link_names),
        link_src=[plan.node_names[int(i)] for i in plan.link_src],
        link_dst=[plan.node_names[int(i)] for i in plan.link_dst],
        link_rate_bps=np.asarray(plan.link_rate_bps, np.int64).copy(),
        link_packets=_link_col(links, "packets"),
        link_bytes=_link_col(links, "bytes"),
        link_drops=_link_col(links, "drops"),
        link_drop_bytes=_link_col(links, "drop_bytes"),
        link_busy_ps=_link_col(links, "busy_ps"),
        link_peak_queue_bytes=_link_col(links, "peak_bytes"),
        link_peak_queue_packets=_link_col(links, "peak_packets"),
        link_peak_wait_ps=_link_col(links, "peak_wait"),
        measured_ps=T - W,
        packet_hops=packet_hops,
        class_names=list(plan.class_names),
        group_class=np.asarray(plan.group_class, np.int64).copy(),
        packets_failed=_arr(pk.failed),
        link_fail_drops=_link_col(links, "fail_drops"),
        epoch_starts_ps=np.array(epochs, np.int64),
        epoch_sent=_arr(pk.e_sent),
        epoch_delivered=_arr(pk.e_delivered),
        epoch_dropped=_arr(pk.e_dropped),
        epoch_failed=_arr(pk.e_failed),
        epoch_packet_hist=np.stack([_hist(v) for v in pk.e_latencies]),
        epoch_link_bytes=_link_epochs(links, "e_bytes", len(epochs)),
        epoch_link_busy_ps=_link_epochs(links, "e_busy_ps", len(epochs)),
        epoch_link_drops=_link_epochs(links, "e_drops", len(epochs)),
        epoch_link_fail_drops=_link_epochs(links, "e_fail_drops", len(epochs)),
        latency_sum_ps=_sums(pk.latencies),
        frame_latency_sum_ps=_sums(fr.latencies),
        link_wait_sum_ps=_link_col(links, "wait_sum"),
        link_started=_link_col(links, "started"),
        **_queue_stats(plan, links),
    )


def _queue_stats(plan: NetworkPlan, links: Sequence[Link]) -> dict[str, Any]:
    """``RunStats.queue_*``: (links x queues), zero on FIFO links."""
    out = np.zeros((len(QUEUE_STATS), len(links), plan.n_queues), np.int64)
    for i, link in enumerate(links):
        if link.sched != SCHED_FIFO:
            out[:, i, :] = np.array(link.q_stats, np.int64).T
    return {name: out[k] for k, name in enumerate(QUEUE_STATS)}


class _PacketTally:
    """Per-group packet counters of the measured packets (Python lists: fast to increment),
    and what the frame and jitter statistics need of every packet."""

    def __init__(self, n_groups: int, n_epochs: int, n_flows: int) -> None:
        def zeros() -> list[int]:
            return [0] * n_groups

        def epoch_zeros() -> list[list[int]]:
            return [zeros() for _ in range(n_epochs)]

        self.sent, self.delivered, self.dropped = zeros(), zeros(), zeros()
        self.failed, self.in_flight = zeros(), zeros()
        self.bytes_delivered, self.payload_delivered = zeros(), zeros()
        self.e_sent, self.e_delivered, self.e_dropped, self.e_failed = (
            epoch_zeros() for _ in range(4)
        )
        self.latencies: list[list[int]] = [[] for _ in range(n_groups)]
        self.e_latencies: list[list[list[int]]] = [
            [[] for _ in range(n_groups)] for _ in range(n_epochs)
        ]
        #: (flow, frame) -> [(end time, outcome)] of its packets, and the frame's capture
        #: and size
        self.frames: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self.frame_info: dict[tuple[int, int], tuple[int, int]] = {}
        #: per delivery flow, its delivered (not in flight) packets:
        #: (delivery, seq, latency, emit)
        self.by_flow: list[list[tuple[int, int, int, int]]] = [[] for _ in range(n_flows)]

    def add(
        self,
        p: Packet,
        flow_group: list[int],
        *,
        warmup_ps: int,
        end_ps: int,
        drain: bool,
        epochs: Sequence[int],
    ) -> None:
        """Count every delivery flow's copy of packet ``p``."""
        assert len(p.outcome) == len(p.flows), "a packet copy never ended"
        e = bisect_right(epochs, p.emit) - 1  # the epoch of its emission
        for f, (t_end, how) in p.outcome.items():
            e_end = bisect_right(epochs, t_end) - 1  # of its delivery or drop
            settled = drain or t_end <= end_ps  # delivered or dropped by the end of the run
            if p.frame >= 0:
                self.frames.setdefault((f, p.frame), []).append((t_end, how if settled else 0))
                self.frame_info[(f, p.frame)] = (p.emit, p.npk)
            if how == DELIVERED and settled:
                self.by_flow[f].append((t_end, p.seq, t_end - p.emit, p.emit))
            if p.emit >= warmup_ps:
                self._count(p, flow_group[f], e, e_end, t_end, how if settled else None)

    def _count(self, p: Packet, g: int, e: int, e_end: int, t_end: int, how: int | None) -> None:
        """Count one measured copy of ``p`` in group ``g``: sent in epoch ``e`` (of its
        emission), delivered or dropped in epoch ``e_end`` (of its delivery or drop, at
        ``t_end``); ``how`` is its outcome, None while in flight at the end of the run."""
        self.sent[g] += 1
        self.e_sent[e][g] += 1
        if how is None:
            self.in_flight[g] += 1
        elif how == DELIVERED:
            self.delivered[g] += 1
            self.e_delivered[e_end][g] += 1
            self.bytes_delivered[g] += p.wire
            self.payload_delivered[g] += p.payload
            self.latencies[g].append(t_end - p.emit)
            self.e_latencies[e_end][g].append(t_end - p.emit)
        else:
            self.dropped[g] += 1
            self.e_dropped[e_end][g] += 1
            if how == FAILED:
                self.failed[g] += 1
                self.e_failed[e_end][g] += 1


@dataclass
class _FrameTally:
    """Per-group frame counters and the delivered frames' latencies."""

    sent: list[int]
    delivered: list[int]
    lost: list[int]
    in_flight: list[int]
    latencies: list[list[int]]


def _frame_tally(
    frames: dict[tuple[int, int], list[tuple[int, int]]],
    frame_info: dict[tuple[int, int], tuple[int, int]],
    flow_group: list[int],
    n_groups: int,
    warmup_ps: int,
) -> _FrameTally:
    """Frames captured after the warm-up: lost when a packet was dropped by the end of the
    run, in flight when one was still travelling, else delivered (latency: its last
    packet's delivery)."""
    out = _FrameTally(
        [0] * n_groups,
        [0] * n_groups,
        [0] * n_groups,
        [0] * n_groups,
        [[] for _ in range(n_groups)],
    )
    for (f, k), ends in frames.items():
        capture, npk = frame_info[(f, k)]
        if capture < warmup_ps:
            continue
        assert len(ends) == npk
        g = flow_group[f]
        out.sent[g] += 1
        if any(how not in (0, DELIVERED) for _, how in ends):  # a packet dropped by T
            out.lost[g] += 1
        elif any(how == 0 for _, how in ends):
            out.in_flight[g] += 1
        else:
            out.delivered[g] += 1
            out.latencies[g].append(max(t for t, _ in ends) - capture)
    return out


def _jitter(
    by_flow: list[list[tuple[int, int, int, int]]],
    flow_group: list[int],
    n_groups: int,
    warmup_ps: int,
) -> tuple[list[int], list[int]]:
    """Per group: the sum of latency differences between consecutive delivered packets of
    a delivery flow (delivery order, ties by seq; the later packet emitted after the
    warm-up) and their number. Sorts ``by_flow`` in place."""
    jitter_sum, jitter_count = [0] * n_groups, [0] * n_groups
    for f, pkts in enumerate(by_flow):
        pkts.sort()
        g = flow_group[f]
        for prev, cur in itertools.pairwise(pkts):
            if cur[3] >= warmup_ps:
                jitter_sum[g] += abs(cur[2] - prev[2])
                jitter_count[g] += 1
    return jitter_sum, jitter_count


def _sums(values: list[list[int]]) -> npt.NDArray[np.object_]:
    """Exact per-group sums (Python integers: they never overflow)."""
    out = np.empty(len(values), dtype=object)
    out[:] = [sum(v) for v in values]
    return out


def _arr(values: list[int] | list[list[int]]) -> I64:
    return np.array(values, np.int64)


def _extremes(values: list[list[int]]) -> tuple[I64, I64]:
    lo = np.array([min(v, default=-1) for v in values], np.int64)
    hi = np.array([max(v, default=-1) for v in values], np.int64)
    return lo, hi


def _hist(values: list[list[int]]) -> I64:
    out = np.zeros((len(values), N_BUCKETS), np.int64)
    for g, v in enumerate(values):
        if v:
            out[g] = histogram_of(v)
    return out


def _link_col(links: Sequence[Link], name: str) -> I64:
    return np.array([getattr(link, name) for link in links], np.int64)


def _link_epochs(links: Sequence[Link], name: str, n_epochs: int) -> I64:
    return (
        np.array([getattr(link, name) for link in links], np.int64)
        .reshape(len(links), n_epochs)
        .T.copy()
    )
