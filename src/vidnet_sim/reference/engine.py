"""A per-packet SimPy model of the network: the oracle the exact core must equal packet for packet.

Every packet copy is an object; every link is a FIFO transmitter driven by SimPy events. The
model is the one written down in ``docs/model.md`` (open-loop sources, one non-preemptive FIFO
transmitter per directed link, drop-tail byte- or packet-counted buffers, a fixed order of
events at equal times). Nothing here shares code with the Numba core except packet generation,
``service_time_ps`` and the histogram buckets, so a mistake in one engine shows up as a
difference between the two.

Events at one instant ``t`` are processed in two phases, by SimPy priority:

1. ``DEPART`` (SimPy's ``NORMAL``): every transmission that ends at ``t`` completes; the link
   starts its next waiting packet at ``t``; the finished packet is handed to its next link, or
   delivered, ``P`` later (possibly at ``t`` itself when ``P == 0``).
2. ``ADMIT`` (one larger): the *admission batch* of ``t``: every packet arriving at any link
   at ``t`` is admitted or dropped, one by one in increasing ``(flow, seq)`` order. An admitted
   packet that finds its link idle starts transmitting at once; its transmission ends at
   ``t + S > t``, so phase 1 of ``t`` never needs to run again.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import simpy
from simpy.events import NORMAL, EventPriority

from vidnet_sim.core.histogram import N_BUCKETS, histogram_of
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import NetworkPlan, service_time_ps
from vidnet_sim.traffic.generate import G_FRAME, G_NPK, G_PAYLOAD, G_SEQ, G_T, G_WIRE, generate
from vidnet_sim.traffic.sources import SourceState

I64 = npt.NDArray[np.int64]

DEPART = NORMAL  # transmissions ending at t complete first ...
ADMIT = EventPriority(NORMAL + 1)  # ... then the arrivals at t are admitted

#: Columns of :attr:`ReferenceEngine.packet_log`.
LOG_FLOW, LOG_SEQ, LOG_LINK, LOG_ARRIVAL, LOG_DEPARTURE = range(5)


class _Packet:
    """One copy of a generated packet, travelling along its flow's route."""

    __slots__ = ("dropped", "emit", "flow", "frame", "hop", "log_row", "npk", "payload", "route",
                 "seq", "service", "t_arrival", "t_end", "wire")

    def __init__(self, flow: int, route: tuple[int, ...], row: list[int]) -> None:
        self.flow = flow
        self.route = route
        self.seq = row[G_SEQ]
        self.emit = row[G_T]
        self.wire = row[G_WIRE]
        self.payload = row[G_PAYLOAD]
        self.frame = row[G_FRAME]
        self.npk = row[G_NPK]
        self.hop = 0  # index into route of the link the packet is at
        self.t_arrival = self.emit  # arrival time at the current link
        self.service = 0  # transmission time at the current link
        self.t_end = -1  # delivery time, or drop time when dropped
        self.dropped = False
        self.log_row = -1


class _Link:
    """One directed link: a FIFO queue in front of a single non-preemptive transmitter."""

    __slots__ = ("buffer_bytes", "buffer_packets", "busy_ps", "bytes", "current", "drop_bytes",
                 "drops", "occ_bytes", "occ_packets", "packets", "peak_bytes", "peak_packets",
                 "peak_wait", "prop", "rate", "waiting")

    def __init__(self, rate: int, prop: int, buffer_bytes: int, buffer_packets: int) -> None:
        self.rate = rate
        self.prop = prop
        self.buffer_bytes = buffer_bytes  # >= 0: the buffer counts bytes
        self.buffer_packets = buffer_packets  # >= 0: the buffer counts packets
        self.waiting: deque[_Packet] = deque()  # admitted, not yet transmitting
        self.current: _Packet | None = None  # being transmitted
        self.occ_bytes = 0  # admitted and not yet departed, the one in transmission included
        self.occ_packets = 0
        # counters over arrivals with warm-up <= t < end
        self.packets = 0
        self.bytes = 0
        self.drops = 0
        self.drop_bytes = 0
        self.busy_ps = 0
        self.peak_bytes = 0
        self.peak_packets = 0
        self.peak_wait = 0


class _AdmissionBatch(simpy.Event):
    """Fires at ``t`` after every ``DEPART`` event of ``t``: the arrivals of ``t`` are admitted."""

    def __init__(self, env: simpy.Environment, t: int) -> None:
        super().__init__(env)
        self._ok = True
        self._value = t
        env.schedule(self, ADMIT, t - env.now)


def _identity(p: _Packet) -> tuple[int, int]:
    return (p.flow, p.seq)


class ReferenceEngine:
    """Per-packet SimPy simulation of ``plan`` over ``[0, end_ps)``.

    The caller (a timeline driver) alternates changes of ``state`` (``active``, ``scale``) with
    :meth:`advance`; :meth:`finish` runs the rest and returns the :class:`RunStats`. With
    ``log=True`` :attr:`packet_log` holds, after :meth:`finish`, one int64 row per packet
    arrival at a link: ``(flow, seq, link, t_arrival, t_departure)`` with ``t_departure = -1``
    for a drop, sorted by ``(flow, seq, t_arrival)`` (that is: by packet, then along its route).
    """

    def __init__(self, plan: NetworkPlan, state: SourceState, *, warmup_ps: int, end_ps: int,
                 drain: bool, log: bool = False) -> None:
        if not 0 <= warmup_ps <= end_ps:
            raise ValueError(f"need 0 <= warmup_ps <= end_ps, got {warmup_ps}, {end_ps}")
        self.plan = plan
        self.state = state
        self.warmup_ps = int(warmup_ps)
        self.end_ps = int(end_ps)
        self.drain = drain
        self.packet_log: I64 | None = None
        self._log_rows: list[list[int]] | None = [] if log else None
        self._count_in_service = bool(plan.count_in_service)
        self._links: list[_Link] = []
        for i in range(plan.n_links):
            bb, bp = int(plan.link_buffer_bytes[i]), int(plan.link_buffer_packets[i])
            if (bb >= 0) == (bp >= 0):
                raise ValueError(f"link {plan.link_names[i]!r}: exactly one of buffer bytes "
                                 f"({bb}) and buffer packets ({bp}) must be >= 0")
            if int(plan.link_rate_bps[i]) <= 0 or int(plan.link_prop_ps[i]) < 0:
                raise ValueError(f"link {plan.link_names[i]!r}: need rate > 0 and delay >= 0")
            self._links.append(_Link(int(plan.link_rate_bps[i]), int(plan.link_prop_ps[i]),
                                     bb, bp))
        self._routes = [tuple(int(x) for x in plan.route(f)) for f in range(plan.n_flows)]
        for f, r in enumerate(self._routes):
            if not r:
                raise ValueError(f"flow {f} has an empty route")
        self.env = simpy.Environment()
        self._batches: dict[int, list[_Packet]] = {}  # arrivals waiting for their batch
        self._packets: list[_Packet] = []
        self._hops = 0
        self._t_gen = 0  # generation covers [0, _t_gen)
        self._t_sim = 0  # every event before _t_sim is processed
        self._finished = False
        self._wall = 0.0

    # ----------------------------------------------------------------------------- driving
    def advance(self, t_to: int) -> None:
        """Simulate every event before ``t_to`` (exclusive) under the current ``state``.

        Generates the packets emitted in the newly covered part of ``[0, end_ps)`` first, so
        that a packet emitted at ``t_to`` is generated by the *next* call, under the state in
        force then, and still joins the arrivals of ``t_to`` before they are admitted.
        """
        if self._finished:
            raise RuntimeError("advance() after finish()")
        t_to = int(t_to)
        if t_to < self._t_sim:
            raise ValueError(f"advance({t_to}) goes back in time (already at {self._t_sim})")
        wall = time.perf_counter()
        t1 = min(t_to, self.end_ps)
        if t1 > self._t_gen:
            self._emit(self._t_gen, t1)
            self._t_gen = t1
        env = self.env
        while env.peek() < t_to:
            env.step()
        self._t_sim = t_to
        self._wall += time.perf_counter() - wall

    def finish(self) -> RunStats:
        """Generate up to ``end_ps``, simulate until every packet is delivered or dropped, and
        return the statistics (``drain`` only decides how packets still moving at ``end_ps``
        are counted)."""
        self.advance(max(self.end_ps, self._t_sim))
        wall = time.perf_counter()
        self.env.run()
        assert not self._batches
        self._finished = True
        if self._log_rows is not None:
            log = np.array(self._log_rows, dtype=np.int64).reshape(-1, 5)
            order = np.lexsort((log[:, LOG_ARRIVAL], log[:, LOG_SEQ], log[:, LOG_FLOW]))
            self.packet_log = log[order]
        stats = self._stats()
        stats.wall_seconds = self._wall + time.perf_counter() - wall
        return stats

    # ----------------------------------------------------------------------------- packets
    def _emit(self, t0: int, t1: int) -> None:
        """Create the packet copies of ``[t0, t1)`` and schedule their first arrivals."""
        starts = self.plan.source_flow_start
        for s, rows in enumerate(generate(self.plan.sources, self.state, t0, t1)):
            if len(rows) and int(rows[:, G_WIRE].min()) <= 0:
                # S >= 1 ps is what lets all departures of an instant precede its admissions
                raise ValueError(f"source {self.plan.sources.names[s]!r} emitted a packet of "
                                 "0 wire bytes")
            packet_rows: list[list[int]] = rows.tolist()  # (G_T, G_SEQ, ...) as Python ints
            for f in range(int(starts[s]), int(starts[s + 1])):
                route = self._routes[f]
                for row in packet_rows:
                    p = _Packet(f, route, row)
                    self._packets.append(p)
                    self._arrive(p, p.emit)

    def _arrive(self, p: _Packet, t: int) -> None:
        """Packet ``p`` reaches link ``p.route[p.hop]`` at ``t``: join the batch of ``t``."""
        p.t_arrival = t
        batch = self._batches.get(t)
        if batch is None:
            batch = self._batches[t] = []
            _AdmissionBatch(self.env, t).callbacks.append(self._admit_batch)
        batch.append(p)

    def _admit_batch(self, event: simpy.Event) -> None:
        t = int(self.env.now)
        batch = self._batches.pop(t)
        batch.sort(key=_identity)  # (flow, seq) is unique at one instant
        for p in batch:
            self._admit(p, t)

    def _admit(self, p: _Packet, t: int) -> None:
        li = p.route[p.hop]
        link = self._links[li]
        self._hops += 1
        if self._log_rows is not None:
            p.log_row = len(self._log_rows)
            self._log_rows.append([p.flow, p.seq, li, t, -1])
        occ_bytes, occ_packets = link.occ_bytes, link.occ_packets
        if link.current is not None and not self._count_in_service:
            occ_bytes -= link.current.wire
            occ_packets -= 1
        if link.buffer_bytes >= 0:
            admitted = occ_bytes + p.wire <= link.buffer_bytes
        else:
            admitted = occ_packets + 1 <= link.buffer_packets
        counted = self.warmup_ps <= t < self.end_ps
        if not admitted:
            p.dropped = True
            p.t_end = t
            if counted:
                link.drops += 1
                link.drop_bytes += p.wire
            return
        p.service = service_time_ps(p.wire, link.rate)
        link.occ_bytes += p.wire
        link.occ_packets += 1
        if counted:
            link.packets += 1
            link.bytes += p.wire
            link.busy_ps += p.service
            link.peak_bytes = max(link.peak_bytes, occ_bytes + p.wire)
            link.peak_packets = max(link.peak_packets, occ_packets + 1)
        if link.current is None:
            self._start(link, p)
        else:
            link.waiting.append(p)

    def _start(self, link: _Link, p: _Packet) -> None:
        """``link`` starts transmitting ``p`` now; the transmission ends ``p.service`` later."""
        link.current = p
        if self.warmup_ps <= p.t_arrival < self.end_ps:
            link.peak_wait = max(link.peak_wait, int(self.env.now) - p.t_arrival)
        self.env.timeout(p.service, link).callbacks.append(self._end_transmission)

    def _end_transmission(self, event: simpy.Event) -> None:
        link = cast(_Link, event.value)
        t = int(self.env.now)
        p = link.current
        assert p is not None
        link.current = None
        link.occ_bytes -= p.wire
        link.occ_packets -= 1
        if self._log_rows is not None:
            self._log_rows[p.log_row][LOG_DEPARTURE] = t
        p.hop += 1
        if p.hop < len(p.route):
            self._arrive(p, t + link.prop)
        else:
            p.t_end = t + link.prop  # delivered
        if link.waiting:
            self._start(link, link.waiting.popleft())

    # ----------------------------------------------------------------------------- results
    def _stats(self) -> RunStats:
        plan, W, T, drain = self.plan, self.warmup_ps, self.end_ps, self.drain
        n_groups = len(plan.group_names)
        flow_group = [int(plan.sources.group[int(s)]) for s in plan.flow_source]

        def zeros() -> I64:
            return np.zeros(n_groups, np.int64)

        sent, delivered, dropped, in_flight = zeros(), zeros(), zeros(), zeros()
        bytes_delivered, payload_delivered = zeros(), zeros()
        f_sent, f_delivered, f_lost, f_in_flight = zeros(), zeros(), zeros(), zeros()
        jitter_sum, jitter_count = zeros(), zeros()
        latencies: list[list[int]] = [[] for _ in range(n_groups)]
        frame_latencies: list[list[int]] = [[] for _ in range(n_groups)]
        frames: dict[tuple[int, int], list[_Packet]] = {}
        by_flow: list[list[_Packet]] = [[] for _ in range(plan.n_flows)]

        def settled(p: _Packet) -> bool:  # delivered or dropped by the end of the run
            return drain or p.t_end <= T

        for p in self._packets:
            if p.frame >= 0:
                frames.setdefault((p.flow, p.frame), []).append(p)
            if not p.dropped and settled(p):
                by_flow[p.flow].append(p)
            if p.emit < W:
                continue
            g = flow_group[p.flow]
            sent[g] += 1
            if not settled(p):
                in_flight[g] += 1
            elif p.dropped:
                dropped[g] += 1
            else:
                delivered[g] += 1
                bytes_delivered[g] += p.wire
                payload_delivered[g] += p.payload
                latencies[g].append(p.t_end - p.emit)

        for (flow, _k), pkts in frames.items():
            capture = pkts[0].emit
            if capture < W:
                continue
            assert len(pkts) == pkts[0].npk
            g = flow_group[flow]
            f_sent[g] += 1
            if any(p.dropped and settled(p) for p in pkts):
                f_lost[g] += 1
            elif not all(settled(p) for p in pkts):
                f_in_flight[g] += 1
            else:
                f_delivered[g] += 1
                frame_latencies[g].append(max(p.t_end for p in pkts) - capture)

        for flow, pkts in enumerate(by_flow):
            pkts.sort(key=lambda p: (p.t_end, p.seq))
            g = flow_group[flow]
            for prev, p in itertools.pairwise(pkts):
                if p.emit >= W:
                    jitter_sum[g] += abs((p.t_end - p.emit) - (prev.t_end - prev.emit))
                    jitter_count[g] += 1

        def extremes(values: list[list[int]]) -> tuple[I64, I64]:
            lo = np.array([min(v, default=-1) for v in values], np.int64)
            hi = np.array([max(v, default=-1) for v in values], np.int64)
            return lo, hi

        def hist(values: list[list[int]]) -> I64:
            out = np.zeros((n_groups, N_BUCKETS), np.int64)
            for g, v in enumerate(values):
                if v:
                    out[g] = histogram_of(v)
            return out

        lat_min, lat_max = extremes(latencies)
        f_lat_min, f_lat_max = extremes(frame_latencies)
        links = self._links

        def link_col(name: str) -> I64:
            return np.array([getattr(link, name) for link in links], np.int64)

        return RunStats(
            group_names=list(plan.group_names),
            group_classes=list(plan.group_classes),
            group_kinds=list(plan.group_kinds),
            packets_sent=sent,
            packets_delivered=delivered,
            packets_dropped=dropped,
            packets_in_flight=in_flight,
            bytes_delivered=bytes_delivered,
            payload_bytes_delivered=payload_delivered,
            frames_sent=f_sent,
            frames_delivered=f_delivered,
            frames_lost=f_lost,
            frames_in_flight=f_in_flight,
            jitter_sum_ps=jitter_sum,
            jitter_count=jitter_count,
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
            packet_hops=self._hops,
        )


def stats_differences(a: RunStats, b: RunStats) -> list[str]:
    """Names of the :class:`RunStats` fields where ``a`` and ``b`` differ (``wall_seconds``
    and ``extra`` are ignored): the comparison the core's tests make against this engine."""
    diff: list[str] = []
    for name in RunStats.__dataclass_fields__:
        if name in ("wall_seconds", "extra"):
            continue
        x: Any = getattr(a, name)
        y: Any = getattr(b, name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if np.shape(x) != np.shape(y) or not np.array_equal(x, y):
                diff.append(name)
        elif x != y:
            diff.append(name)
    return diff
