"""A per-packet SimPy model of the network: the oracle the exact core must equal packet for packet.

Every generated packet and every copy of it on a link is an object; every link is a
transmitter driven by SimPy events. The model is the one written down in ``docs/model.md``
(open-loop sources, trees of positions, one non-preemptive transmitter per directed link in
front of one FIFO queue or of several queues under a strict-priority or DRR scheduler,
drop-tail byte- or packet-counted buffers, link failures, a fixed order of events at equal
times). Nothing here shares code with the Numba core except packet generation,
``service_time_ps`` and the histogram buckets, so a mistake in one engine shows up as a
difference between the two.

Events at one instant ``t`` are processed in three phases, by SimPy priority:

1. ``DEPART`` (SimPy's ``NORMAL``): every transmission that ends at ``t`` completes; the
   link's scheduler chooses its next packet among those already waiting and starts it at
   ``t``; the finished packet reaches the links of its child positions, or is delivered,
   ``P`` later (possibly at ``t`` itself when ``P == 0``).
2. ``FAIL`` (one larger): a link failing at ``t`` loses every packet on it (rule 13).
3. ``ADMIT`` (one larger still): the *admission batch* of ``t``: every packet arriving at any
   link at ``t`` is admitted or dropped, one by one in increasing ``(tree, seq)`` order. An
   admitted packet that finds its link idle starts transmitting at once; its transmission
   ends at ``t + S > t``, so phase 1 of ``t`` never needs to run again.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import simpy
from simpy.events import NORMAL, EventPriority

from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import SCHED_FIFO, NetworkPlan, service_time_ps
from vidnet_sim.reference.link import Link
from vidnet_sim.reference.packets import DELIVERED, DROPPED, FAILED, Copy, Packet
from vidnet_sim.reference.results import run_stats
from vidnet_sim.traffic.generate import G_WIRE, generate
from vidnet_sim.traffic.sources import SourceState

I64 = npt.NDArray[np.int64]

DEPART = NORMAL  # transmissions ending at t complete first ...
FAIL = EventPriority(NORMAL + 1)  # ... then links failing at t lose what they hold ...
ADMIT = EventPriority(NORMAL + 2)  # ... then the arrivals at t are admitted

#: Columns of :attr:`ReferenceEngine.packet_log`.
LOG_FLOW, LOG_SEQ, LOG_LINK, LOG_ARRIVAL, LOG_DEPARTURE, LOG_START = range(6)


class _At(simpy.Event):
    """An event that fires at ``t`` with ``priority``, carrying ``value``."""

    def __init__(self, env: simpy.Environment, t: int, priority: EventPriority, value: Any) -> None:
        super().__init__(env)
        self._ok = True
        self._value = value
        env.schedule(self, priority, t - env.now)


def _key(c: Copy) -> tuple[int, int]:
    return c.key


class ReferenceEngine:
    """Per-packet SimPy simulation of ``plan`` over ``[0, end_ps)``.

    The caller (a timeline driver) alternates changes of ``state`` (``active``, ``scale``,
    ``tree_pos0``) with :meth:`advance`; :meth:`finish` runs the rest and returns the
    :class:`RunStats`, with per-epoch counters for the epochs starting at ``epochs`` (sorted,
    strictly increasing, the first 0; default one epoch). With ``log=True``
    :attr:`packet_log` holds, after :meth:`finish`, one int64 row per arrival of a packet
    copy at a link: ``(tree, seq, link, t_arrival, t_departure, t_start)`` with
    ``t_departure = t_start = -1`` when the packet is lost at that link (dropped, or lost to a
    failure; ``t_start`` is when its transmission began), sorted by
    ``(tree, seq, t_arrival, link)``: by packet, then along its tree; a ``log_sink`` is
    then given it whole, as the last chunk: ``log_sink(packet_log, True)`` (as a
    :class:`~vidnet_sim.core.engine.CoreEngine` gives its log window by window).
    """

    def __init__(
        self,
        plan: NetworkPlan,
        state: SourceState,
        *,
        warmup_ps: int,
        end_ps: int,
        drain: bool,
        log: bool = False,
        epochs: I64 | Sequence[int] | None = None,
        log_sink: Callable[[I64, bool], None] | None = None,
    ) -> None:
        if not 0 <= warmup_ps <= end_ps:
            raise ValueError(f"need 0 <= warmup_ps <= end_ps, got {warmup_ps}, {end_ps}")
        self.plan = plan
        self.state = state
        if len(state.tree_pos0) == 0:
            state.tree_pos0 = np.asarray(plan.tree_pos0, np.int64).copy()
        if len(state.tree_pos0) != plan.n_trees:
            raise ValueError(
                f"state.tree_pos0 has {len(state.tree_pos0)} entries for {plan.n_trees} trees"
            )
        self.warmup_ps = int(warmup_ps)
        self.end_ps = int(end_ps)
        self.drain = drain
        self._epochs = [0] if epochs is None else [int(x) for x in epochs]
        if self._epochs[:1] != [0] or any(
            b <= a for a, b in zip(self._epochs, self._epochs[1:], strict=False)
        ):
            raise ValueError(f"epochs must start at 0 and increase strictly, got {self._epochs}")
        self.packet_log: I64 | None = None
        self._log_rows: list[list[int]] | None = [] if log else None
        self._log_sink = log_sink if log else None
        self._count_in_service = bool(plan.count_in_service)
        self._links = [self._make_link(i) for i in range(plan.n_links)]
        # the tree layouts: per position its link, child positions, delivery flow, and the
        # delivery flows of its subtree (rule 12)
        self._pos_link = [int(x) for x in plan.pos_link]
        self._pos_children = [plan.children(p) for p in range(len(plan.pos_link))]
        self._pos_deliver = [int(x) for x in plan.pos_deliver]
        self._pos_flows = [
            tuple(int(f) for f in plan.pos_deliver[p : int(plan.pos_end[p])] if f >= 0)
            for p in range(len(plan.pos_link))
        ]
        group_queue = [int(plan.class_queue[int(c)]) for c in plan.group_class]
        if any(not 0 <= q < plan.n_queues for q in group_queue):
            raise ValueError(
                f"class_queue {plan.class_queue.tolist()} names a queue outside "
                f"0..{plan.n_queues - 1}"
            )
        self._source_queue = [group_queue[int(g)] for g in plan.sources.group]
        self.env = simpy.Environment()
        for link in self._links:
            for down in link.down:
                _At(self.env, down, FAIL, link).callbacks.append(self._fail)
        self._batches: dict[int, list[Copy]] = {}  # arrivals waiting for their batch
        self._packets: list[Packet] = []
        self._hops = 0
        self._t_gen = 0  # generation covers [0, _t_gen)
        self._t_sim = 0  # every event before _t_sim is processed
        self._finished = False
        self._wall = 0.0

    def _make_link(self, i: int) -> Link:
        plan = self.plan
        sched = int(plan.link_sched[i])
        if sched == SCHED_FIFO:  # one queue: the link's own buffer (rules 3-6)
            bb, bp = [int(plan.link_buffer_bytes[i])], [int(plan.link_buffer_packets[i])]
            quantum = [1]
        else:
            bb = [int(x) for x in plan.link_queue_buffer_bytes[i]]
            bp = [int(x) for x in plan.link_queue_buffer_packets[i]]
            quantum = [int(x) for x in plan.queue_quantum]
            if min(quantum) <= 0:
                raise ValueError(f"DRR quanta must be > 0, got {quantum}")
        a, b = int(plan.fail_start[i]), int(plan.fail_start[i + 1])
        return Link(
            plan.link_names[i],
            int(plan.link_rate_bps[i]),
            int(plan.link_prop_ps[i]),
            sched,
            bb,
            bp,
            quantum,
            [int(x) for x in plan.fail_down[a:b]],
            [int(x) for x in plan.fail_up[a:b]],
            len(self._epochs),
        )

    # ----------------------------------------------------------------------------- driving
    def prepare(self) -> None:
        """Nothing to prepare: the reference engine is plain Python."""

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

    @property
    def packets(self) -> Sequence[Packet]:
        """Every generated packet, with its emission time and, once :meth:`finish` ran, its
        outcome for each of its delivery flows (``Packet.outcome``): the per-packet records
        the statistics are computed from."""
        return self._packets

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
            log = np.array(self._log_rows, dtype=np.int64).reshape(-1, LOG_START + 1)
            order = np.lexsort(
                (log[:, LOG_LINK], log[:, LOG_ARRIVAL], log[:, LOG_SEQ], log[:, LOG_FLOW])
            )
            self.packet_log = log[order]
            if self._log_sink is not None:
                self._log_sink(self.packet_log, True)
        stats = run_stats(
            self.plan,
            self._packets,
            self._links,
            warmup_ps=self.warmup_ps,
            end_ps=self.end_ps,
            drain=self.drain,
            epochs=self._epochs,
            packet_hops=self._hops,
        )
        stats.wall_seconds = self._wall + time.perf_counter() - wall
        return stats

    # ----------------------------------------------------------------------------- packets
    def _emit(self, t0: int, t1: int) -> None:
        """Create the packets of ``[t0, t1)`` on each source's trees in force (``state``)
        and schedule their first arrivals."""
        plan = self.plan
        starts = plan.source_tree_start
        for s, rows in enumerate(generate(plan.sources, self.state, t0, t1)):
            if len(rows) and int(rows[:, G_WIRE].min()) <= 0:
                # S >= 1 ps is what lets all departures of an instant precede its admissions
                raise ValueError(
                    f"source {plan.sources.names[s]!r} emitted a packet of 0 wire bytes"
                )
            packet_rows: list[list[int]] = rows.tolist()  # (G_T, G_SEQ, ...) as Python ints
            for tree in range(int(starts[s]), int(starts[s + 1])):
                root = int(self.state.tree_pos0[tree])
                flows = self._pos_flows[root]
                for row in packet_rows:
                    p = Packet(tree, self._source_queue[s], flows, row)
                    self._packets.append(p)
                    self._reach(p, root, p.emit)

    def _reach(self, p: Packet, pos: int, t: int) -> None:
        """``p`` is done with position ``pos`` (or emitted, at a root) at ``t``: it is
        delivered if ``pos`` delivers and arrives at the link of each child position."""
        f = self._pos_deliver[pos]
        if f >= 0:
            p.outcome[f] = (t, DELIVERED)
        for child in self._pos_children[pos]:
            self._arrive(Copy(p, child, self._pos_link[child], t))

    def _lose(self, c: Copy, t: int, how: int) -> None:
        """The copy ``c`` is lost at ``t`` (``DROPPED`` or ``FAILED``): for every delivery
        flow below its position."""
        outcome = c.packet.outcome
        for f in self._pos_flows[c.pos]:
            outcome[f] = (t, how)

    def _arrive(self, c: Copy) -> None:
        """``c`` reaches its link at ``c.t_arrival``: join the admission batch of that time."""
        t = c.t_arrival
        batch = self._batches.get(t)
        if batch is None:
            batch = self._batches[t] = []
            _At(self.env, t, ADMIT, t).callbacks.append(self._admit_batch)
        batch.append(c)

    def _admit_batch(self, event: simpy.Event) -> None:
        t = int(self.env.now)
        batch = self._batches.pop(t)
        batch.sort(key=_key)  # (tree, seq): one packet reaches a link once
        for c in batch:
            self._admit(c, t)

    # ----------------------------------------------------------------------------- links
    def _epoch(self, t: int) -> int:
        return bisect_right(self._epochs, t) - 1

    def _admit(self, c: Copy, t: int) -> None:
        """Rule 5 (per queue, rule 11) for the arrival of ``c`` at its link at ``t``."""
        link = self._links[c.link]
        wire = c.packet.wire
        self._hops += 1
        if self._log_rows is not None:
            c.log_row = len(self._log_rows)
            self._log_rows.append([c.packet.tree, c.packet.seq, c.link, t, -1, -1])
        counted = self.warmup_ps <= t < self.end_ps
        e = self._epoch(t) if counted else -1
        if link.is_down(t):  # rule 13: lost to the failure at its arrival
            if counted:
                link.fail_drops += 1
                link.e_fail_drops[e] += 1
            self._lose(c, t, FAILED)
            return
        q = link.queue_of(c)
        occ_bytes, occ_packets = link.occupancy(q, self._count_in_service)
        if not link.fits(q, wire, occ_bytes, occ_packets):
            if counted:
                link.drops += 1
                link.drop_bytes += wire
                link.e_drops[e] += 1
                link.count_dropped(q, wire)
            self._lose(c, t, DROPPED)
            return
        c.service = service_time_ps(wire, link.rate)
        if counted:
            link.packets += 1
            link.bytes += wire
            link.busy_ps += c.service
            link.peak_bytes = max(link.peak_bytes, occ_bytes + wire)
            link.peak_packets = max(link.peak_packets, occ_packets + 1)
            link.e_bytes[e] += wire
            link.e_busy_ps[e] += c.service
            link.count_admitted(q, wire, occ_bytes, occ_packets)
        link.enqueue(c, q)
        if link.current is None:  # idle, so every queue was empty: it starts at once
            self._start_next(link)

    def _start_next(self, link: Link) -> None:
        """The transmitter is free now: the scheduler chooses the next packet, if any."""
        t = int(self.env.now)
        if link.is_down(t):  # failing at t: the FAIL event of t takes the waiting packets
            return
        c = link.choose()
        if c is None:
            return
        link.current = c
        if self.warmup_ps <= c.t_arrival < self.end_ps:
            link.count_start(c, t - c.t_arrival)
        self.env.timeout(c.service, c).callbacks.append(self._end_transmission)

    def _end_transmission(self, event: simpy.Event) -> None:
        c = cast(Copy, event.value)
        link = self._links[c.link]
        if link.current is not c:  # the link failed during this transmission
            return
        t = int(self.env.now)
        link.current = None
        t_next = t + link.prop
        down = link.next_down(t)
        if down < t_next:  # still on the fibre when the link fails: lost then (rule 13)
            self._count_failure(link, c, down)
            self._lose(c, down, FAILED)
        else:
            if self._log_rows is not None:
                self._log_rows[c.log_row][LOG_DEPARTURE] = t
                self._log_rows[c.log_row][LOG_START] = t - c.service
            self._reach(c.packet, c.pos, t_next)
        self._start_next(link)

    def _fail(self, event: simpy.Event) -> None:
        """A failure of ``link`` begins now: everything it holds is lost (rule 13)."""
        link = cast(Link, event.value)
        t = int(self.env.now)
        for c in link.flush():
            self._count_failure(link, c, t)
            self._lose(c, t, FAILED)

    def _count_failure(self, link: Link, c: Copy, t_lost: int) -> None:
        """Count an admitted packet lost to a failure at ``t_lost``: in the link's totals
        when it arrived within the measured run, in the epoch of its loss."""
        if self.warmup_ps <= c.t_arrival < self.end_ps:
            link.fail_drops += 1
            link.e_fail_drops[self._epoch(t_lost)] += 1


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
