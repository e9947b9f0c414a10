"""A run's packet log consumed window by window, in memory bounded by the packets in flight.

The core engine hands its packet log over after each window
(``CoreEngine(log_sink=...)``, rows as in :mod:`~vidnet_sim.results.packet_log`). A packet
is *settled* once each delivery flow of its layout has its outcome in the log: a row at
the flow's position with a departure (delivered there), or a row losing the copy at a
position above it (lost for every flow below). Counting, per packet, the flows its rows
settle (a loss at position ``p`` settles every delivering position of ``p``'s subtree, a
departure at a delivering position settles that one) tells which packets are settled
without walking their trees. :class:`PacketLogStream` turns the settled packets' rows into
``packets`` and ``packet_hops`` rows (:class:`~vidnet_sim.results.packets.PacketsWriter`)
and adds them to the latency parts' sums
(:class:`~vidnet_sim.results.latency_parts.LatencyPartsSums`), and keeps only the rows of
packets still in the network for the next window; at the end of the run every packet left
is settled as it stands (in flight where the log says nothing more).

What it keeps thus grows with the packets in flight (bounded by the buffers and the window),
not with the run (without latency parts, the rows of the packets outside the groups and
sample chosen are dropped as they come, before anything else is done with them). The
outputs are those of the whole run's log: a packet's rows all go out together, so each
chunk of the ``packets`` and ``packet_hops`` tables holds whole packets (each table sorted
by ``(tree, seq)`` is the whole log's), and the latency parts' integer sums add up exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.results.latency_parts import LatencyParts, LatencyPartsSums
from vidnet_sim.results.packet_hops import packet_hops_chunk
from vidnet_sim.results.packet_log import LOG_COLUMNS, TreeIndex, log_packets
from vidnet_sim.results.packets import Mask, PacketsWriter, chosen, packets_chunk

__all__ = ["PacketLogStream"]

I64 = npt.NDArray[np.int64]


class PacketLogStream:
    r"""Consumes a packet log chunk by chunk (call it with each chunk's rows and whether it
    is the run's last), writing the settled packets to ``packets`` and their hops to
    ``hops`` (:class:`PacketsWriter`\ s of the ``packets`` and ``packet_hops`` tables: the
    packets emitted at or after ``warmup_ps``, of the trees ``trees``, a mask from
    :func:`~vidnet_sim.results.packets.group_trees`, and in the ``sample``) and adding them
    to ``parts`` (a :class:`LatencyPartsSums`), any of which may be ``None``.

    ``pending_rows`` is how many log rows it holds between chunks, ``peak_pending_rows``
    the most it held.
    """

    def __init__(
        self,
        plan: NetworkPlan,
        *,
        warmup_ps: int,
        end_ps: int,
        drain: bool,
        sample: float | None = None,
        trees: Mask | None = None,
        packets: PacketsWriter | None = None,
        hops: PacketsWriter | None = None,
        parts: LatencyPartsSums | None = None,
    ) -> None:
        self.plan = plan
        self.index = TreeIndex(plan)
        self.warmup_ps, self.end_ps, self.drain = int(warmup_ps), int(end_ps), bool(drain)
        self.sample, self.trees = sample, trees
        self.packets, self.hops = packets, hops
        self.parts = parts
        self._pending = np.zeros((0, len(LOG_COLUMNS)), np.int64)
        self.peak_pending_rows = 0

    @property
    def pending_rows(self) -> int:
        """Log rows of packets not settled yet."""
        return len(self._pending)

    def __call__(self, rows: I64, final: bool) -> None:
        """Take the log rows of the latest window(s) (copied: the engine reuses its buffer);
        with ``final``, the run is over and every packet is settled as it stands."""
        rows = np.asarray(rows, np.int64).reshape(-1, len(LOG_COLUMNS))
        chosen_only = self.sample is not None or self.trees is not None
        if self.parts is None and chosen_only:  # the others are not needed
            rows = rows[chosen(rows[:, 0], rows[:, 1], trees=self.trees, sample=self.sample)]
        if len(rows) == 0 and not (final and len(self._pending)):
            return
        lp = log_packets(self.index, np.concatenate([self._pending, rows]))
        ix = self.index
        if final:
            settled = np.ones(len(lp.emit), bool)
        else:
            dep = lp.log[:, 4]
            settles = np.where(dep < 0, ix.n_deliver[lp.pos], ix.deliver[lp.pos] >= 0)
            done = np.add.reduceat(settles, lp.first) if len(lp.first) else lp.first
            settled = done >= ix.n_deliver[lp.root] - (ix.deliver[lp.root] >= 0)
        # a packet emitted before the warm-up is kept until it settles, or its later rows
        # would look like a packet of their own
        self._pending = np.compress(~settled[lp.packet], lp.log, axis=0)
        self.peak_pending_rows = max(self.peak_pending_rows, len(self._pending))
        out = lp.select(settled & (lp.emit >= self.warmup_ps))
        w, e, d, sample, trees = self.warmup_ps, self.end_ps, self.drain, self.sample, self.trees
        for writer, make in ((self.packets, packets_chunk), (self.hops, packet_hops_chunk)):
            if writer is not None:
                chunk = make(ix, out, warmup_ps=w, end_ps=e, drain=d, sample=sample, trees=trees)
                writer.write(chunk)
        if self.parts is not None:
            self.parts.add(LatencyParts(self.plan, out, warmup_ps=w, end_ps=e, drain=d, index=ix))
