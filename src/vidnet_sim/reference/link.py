"""One directed link of the reference engine: its queues, scheduler, failures and counters.

A FIFO link is one queue; a ``priority`` or ``drr`` link has one queue per queue of the plan,
each with its own drop-tail buffer (``docs/model.md`` rules 5 and 11). One non-preemptive
transmitter serves them; :meth:`Link.choose` is the scheduler's choice of the next packet.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque

from vidnet_sim.network.plan import SCHED_DRR, SCHED_FIFO, SCHED_PRIORITY
from vidnet_sim.reference.packets import Copy

NEVER = 1 << 62
#: The per-queue statistics of :attr:`Link.q_stats`, as ``RunStats`` names them.
QUEUE_STATS = (
    "queue_packets",
    "queue_bytes",
    "queue_drops",
    "queue_drop_bytes",
    "queue_peak_bytes",
    "queue_peak_packets",
    "queue_wait_sum_ps",
    "queue_started",
    "queue_peak_wait_ps",
)
QP, QB, QD, QDB, QPB, QPP, QW, QS, QPW = range(len(QUEUE_STATS))


class Link:
    """A directed link: queues in front of a single non-preemptive transmitter."""

    __slots__ = (
        "active",
        "buffer_bytes",
        "buffer_packets",
        "busy_ps",
        "bytes",
        "current",
        "deficit",
        "down",
        "drop_bytes",
        "drops",
        "e_busy_ps",
        "e_bytes",
        "e_drops",
        "e_fail_drops",
        "fail_drops",
        "name",
        "packets",
        "peak_bytes",
        "peak_packets",
        "peak_wait",
        "prop",
        "q_stats",
        "quantum",
        "queued_bytes",
        "queues",
        "rate",
        "sched",
        "started",
        "turn_begun",
        "up",
        "wait_sum",
    )

    def __init__(
        self,
        name: str,
        rate: int,
        prop: int,
        sched: int,
        buffer_bytes: list[int],
        buffer_packets: list[int],
        quantum: list[int],
        down: list[int],
        up: list[int],
        n_epochs: int,
    ) -> None:
        if rate <= 0 or prop < 0:
            raise ValueError(f"link {name!r}: need rate > 0 and delay >= 0, got {rate}, {prop}")
        if sched not in (SCHED_FIFO, SCHED_PRIORITY, SCHED_DRR):
            raise ValueError(f"link {name!r}: unknown scheduler code {sched}")
        for q, (bb, bp) in enumerate(zip(buffer_bytes, buffer_packets, strict=True)):
            if (bb >= 0) == (bp >= 0):
                raise ValueError(
                    f"link {name!r}, queue {q}: exactly one of buffer bytes ({bb}) "
                    f"and buffer packets ({bp}) must be >= 0"
                )
        for i, (a, b) in enumerate(zip(down, up, strict=True)):
            if not a < b or (i > 0 and a < up[i - 1]):
                raise ValueError(
                    f"link {name!r}: failure intervals must be sorted, "
                    f"non-overlapping and non-empty, got [{a}, {b})"
                )
        self.name = name
        self.rate = rate
        self.prop = prop
        self.sched = sched
        n = len(buffer_bytes)
        self.buffer_bytes = buffer_bytes  # per queue; >= 0: the buffer counts bytes
        self.buffer_packets = buffer_packets  # per queue; >= 0: the buffer counts packets
        self.quantum = quantum  # per queue, DRR
        self.down = down  # failure intervals [down[i], up[i]) (rule 13)
        self.up = up
        self.queues: list[deque[Copy]] = [deque() for _ in range(n)]  # admitted, waiting
        self.queued_bytes = [0] * n
        self.current: Copy | None = None  # being transmitted
        # DRR: the round-robin list of active queues, their deficits, the head's turn
        self.active: deque[int] = deque()
        self.deficit = [0] * n
        self.turn_begun = False
        # counters over arrivals with warm-up <= t < end; e_*: the same per epoch
        self.packets = 0
        self.bytes = 0
        self.drops = 0
        self.drop_bytes = 0
        self.fail_drops = 0
        self.busy_ps = 0
        self.peak_bytes = 0
        self.peak_packets = 0
        self.peak_wait = 0
        self.wait_sum = 0  # over the measured arrivals whose transmission began
        self.started = 0
        #: per queue: packets, bytes, drops, drop bytes, peak bytes, peak packets, wait sum,
        #: started, peak wait (the order of ``RunStats.queue_*``)
        self.q_stats = [[0] * len(QUEUE_STATS) for _ in range(n)]
        self.e_bytes = [0] * n_epochs
        self.e_busy_ps = [0] * n_epochs
        self.e_drops = [0] * n_epochs
        self.e_fail_drops = [0] * n_epochs

    # ----------------------------------------------------------------------------- failures
    def is_down(self, t: int) -> bool:
        """Whether ``t`` falls in one of the link's failure intervals ``[down, up)``."""
        if not self.down:
            return False
        i = bisect_right(self.down, t) - 1
        return i >= 0 and t < self.up[i]

    def next_down(self, t: int) -> int:
        """The first failure start at or after ``t`` (``NEVER`` if none)."""
        if not self.down:
            return NEVER
        i = bisect_left(self.down, t)
        return self.down[i] if i < len(self.down) else NEVER

    def flush(self) -> list[Copy]:
        """The link fails: every packet on it (in transmission, then the waiting ones, queue
        by queue) is taken off; the link is left empty and idle."""
        lost = [] if self.current is None else [self.current]
        self.current = None
        for q, queue in enumerate(self.queues):
            lost.extend(queue)
            queue.clear()
            self.queued_bytes[q] = 0
            self.deficit[q] = 0
        self.active.clear()
        self.turn_begun = False
        return lost

    # ----------------------------------------------------------------------------- queues
    def queue_of(self, copy: Copy) -> int:
        """The queue ``copy`` joins: its class's queue, or the only queue of a FIFO link."""
        return 0 if len(self.queues) == 1 else copy.packet.queue

    def occupancy(self, q: int, count_in_service: bool) -> tuple[int, int]:
        """Bytes and packets an arrival to queue ``q`` is tested against (rules 5 and 11):
        the queue's waiting packets, plus the one in transmission when it belongs to ``q``
        and ``count_in_service``."""
        occ_bytes, occ_packets = self.queued_bytes[q], len(self.queues[q])
        cur = self.current
        if cur is not None and count_in_service and self.queue_of(cur) == q:
            occ_bytes += cur.packet.wire
            occ_packets += 1
        return occ_bytes, occ_packets

    def fits(self, q: int, wire: int, occ_bytes: int, occ_packets: int) -> bool:
        """Drop-tail admission test of queue ``q``."""
        if self.buffer_bytes[q] >= 0:
            return occ_bytes + wire <= self.buffer_bytes[q]
        return occ_packets + 1 <= self.buffer_packets[q]

    def enqueue(self, copy: Copy, q: int) -> None:
        """Put an admitted packet at the tail of queue ``q``; a DRR queue that becomes
        non-empty joins the tail of the round-robin list with deficit 0."""
        if self.sched == SCHED_DRR and not self.queues[q]:
            self.active.append(q)
            self.deficit[q] = 0
        self.queues[q].append(copy)
        self.queued_bytes[q] += copy.packet.wire

    def choose(self) -> Copy | None:
        """Take the next packet to transmit off its queue (rule 11), or None if all are empty.

        FIFO and priority: the head of the lowest-numbered non-empty queue. DRR: the head
        queue of the round-robin list gets its quantum when its turn begins and sends while
        its head packet fits its deficit; an emptied queue leaves the list with deficit 0, a
        queue whose head does not fit goes to the tail.
        """
        if self.sched != SCHED_DRR:
            for q, queue in enumerate(self.queues):
                if queue:
                    return self._pop(q)
            return None
        while self.active:
            q = self.active[0]
            if not self.turn_begun:
                self.deficit[q] += self.quantum[q]
                self.turn_begun = True
            wire = self.queues[q][0].packet.wire
            if wire <= self.deficit[q]:
                self.deficit[q] -= wire
                copy = self._pop(q)
                if not self.queues[q]:  # turn over: the queue leaves the round
                    self.deficit[q] = 0
                    self.active.popleft()
                    self.turn_begun = False
                return copy
            self.active.rotate(-1)  # the head does not fit: to the tail, turn not begun
            self.turn_begun = False
        return None

    def count_admitted(self, q: int, wire: int, occ_bytes: int, occ_packets: int) -> None:
        """A measured arrival admitted to queue ``q`` (finding ``occ_*`` before it)."""
        st = self.q_stats[q]
        st[QP] += 1
        st[QB] += wire
        st[QPB] = max(st[QPB], occ_bytes + wire)
        st[QPP] = max(st[QPP], occ_packets + 1)

    def count_dropped(self, q: int, wire: int) -> None:
        """A measured arrival dropped by queue ``q``'s full buffer."""
        self.q_stats[q][QD] += 1
        self.q_stats[q][QDB] += wire

    def count_start(self, copy: Copy, wait: int) -> None:
        """A measured arrival's transmission begins after ``wait`` in its queue."""
        self.peak_wait = max(self.peak_wait, wait)
        self.wait_sum += wait
        self.started += 1
        st = self.q_stats[self.queue_of(copy)]
        st[QW] += wait
        st[QS] += 1
        st[QPW] = max(st[QPW], wait)

    def _pop(self, q: int) -> Copy:
        copy = self.queues[q].popleft()
        self.queued_bytes[q] -= copy.packet.wire
        return copy
