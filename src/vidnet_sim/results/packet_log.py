"""Where each row of an engine's packet log belongs: its packet, its tree layout, its position.

An engine run with ``log=True`` records every arrival of a packet copy at a link as a row
``(tree, seq, link, t_arrival, t_departure, t_start)`` (``t_departure = -1``: lost there;
``t_start``: when its transmission began, -1 if never), see
:class:`~vidnet_sim.core.engine.CoreEngine`. A packet ``(tree, seq)`` follows the layout of
its tree in force at its emission (``docs/model.md`` rule 12): from the layout's root
position, a copy crossing position ``p``'s link reaches ``p``'s delivery flow (if any) and
``p``'s children. This module holds what the per-packet table
(:mod:`~vidnet_sim.results.packets`), the latency parts
(:mod:`~vidnet_sim.results.latency_parts`) and the streaming of the log
(:mod:`~vidnet_sim.results.packet_stream`) share: the plan's trees as arrays
(:class:`TreeIndex`) and a log's rows grouped by packet with their positions
(:class:`LogPackets`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vidnet_sim.network.layouts import parent_positions
from vidnet_sim.network.plan import NetworkPlan

__all__ = ["LOG_COLUMNS", "LogPackets", "TreeIndex", "log_packets", "sort_order"]

I64 = npt.NDArray[np.int64]

#: The columns of a packet log row.
LOG_COLUMNS: tuple[str, ...] = ("tree", "seq", "link", "t_arrival", "t_departure", "t_start")
_TREE, _SEQ, _LINK, _ARR = range(4)


class TreeIndex:
    """A plan's tree layouts as arrays, per position: ``link`` (-1 at a root), ``deliver``
    (its delivery flow, -1 if none), ``depth`` (roots 0), ``n_deliver`` (the delivering
    positions of its subtree, itself included) and, as CSR lists (``dq_start``, ``dq``), those
    positions in increasing order, ``deliver_before`` (the delivering positions numbered
    before it, :meth:`rank`); the layouts in force from each time (``layout_starts``,
    ``layout_roots[k, tree]``); ``prop`` per link; the statistics group of each tree
    (``group_of_tree``) and delivery flow (``group_of_flow``); the names of the groups
    (``group_names``) and of the links (``link_names``, with a trailing ``""`` for "no link")
    as Arrow strings, built once for the per-packet tables' chunks to take by index."""

    def __init__(self, plan: NetworkPlan) -> None:
        self.link: I64 = np.asarray(plan.pos_link, np.int64)
        self.deliver: I64 = np.asarray(plan.pos_deliver, np.int64)
        self.prop: I64 = np.asarray(plan.link_prop_ps, np.int64)
        self.n_links = int(plan.n_links)
        self.depth, root_of = _depths(plan)
        end = np.asarray(plan.pos_end, np.int64)
        n = len(end)
        # the delivering positions before each position (and after the last)
        self.deliver_before: I64 = np.zeros(n + 1, np.int64)
        self.deliver_before[1:] = np.cumsum(self.deliver >= 0)
        # a subtree's positions are numbered together: its delivering positions are a run
        # of all of them, in increasing order
        first = self.deliver_before[:n]
        self.n_deliver: I64 = self.deliver_before[end] - first
        self.dq_start: I64 = np.zeros(n + 1, np.int64)
        self.dq_start[1:] = np.cumsum(self.n_deliver)
        run = np.repeat(first - self.dq_start[:n], self.n_deliver)
        self.dq: I64 = np.flatnonzero(self.deliver >= 0)[run + np.arange(len(run))]
        # (layout root, link) -> position, for every non-root position
        nonroot = np.flatnonzero(self.link >= 0)
        keys = root_of[nonroot] * self.n_links + self.link[nonroot]
        order = np.argsort(keys, kind="stable")
        self._pos_keys, self._pos_sorted = keys[order], nonroot[order]
        roots = np.asarray(plan.tree_pos0, np.int64).copy()
        starts, table = [0], [roots.copy()]
        for sw in sorted(plan.route_switches, key=lambda s: s.t_ps):
            roots[np.asarray(sw.trees, np.int64)] = np.asarray(sw.pos0, np.int64)
            starts.append(int(sw.t_ps))
            table.append(roots.copy())
        self.layout_starts: I64 = np.asarray(starts, np.int64)
        self.layout_roots: I64 = np.asarray(table, np.int64).reshape(len(starts), -1)
        source_group = np.asarray(plan.sources.group, np.int64)
        self.group_of_tree: I64 = source_group[np.asarray(plan.tree_source, np.int64)]
        self.group_of_flow: I64 = source_group[np.asarray(plan.flow_source, np.int64)]
        self.group_names: pa.Array = pa.array(list(plan.group_names), pa.string())
        self.link_names: pa.Array = pa.array([*plan.link_names, ""], pa.string())

    def roots(self, tree: I64, emit_ps: I64) -> I64:
        """The root position of each packet's layout: its tree's, in force at its emission
        (a packet emitted at a route switch's time takes the new layout)."""
        k = np.searchsorted(self.layout_starts, emit_ps, side="right") - 1
        return np.asarray(self.layout_roots[k, tree], np.int64)

    def positions(self, root: I64, link: I64) -> I64:
        """The position of ``link`` in the layout rooted at ``root`` (elementwise)."""
        key = root * self.n_links + link
        i = np.minimum(np.searchsorted(self._pos_keys, key), max(len(self._pos_keys) - 1, 0))
        if len(key) and not np.array_equal(self._pos_keys[i], key):
            raise ValueError("a packet log row names a link its tree's layout does not use")
        return np.asarray(self._pos_sorted[i], np.int64)

    def rank(self, root: I64, q: I64) -> I64:
        """The rank of each delivering position ``q`` among those of its layout, rooted at
        ``root`` (elementwise): its place in ``below(root)``'s list (a subtree's positions
        are numbered together, depth first)."""
        return np.asarray(self.deliver_before[q] - self.deliver_before[root], np.int64)

    def below(self, pos: I64) -> tuple[I64, I64]:
        """Every ``(i, q)``: ``q`` a delivering position of the subtree of ``pos[i]``, the
        ``q`` of each ``i`` in increasing order."""
        counts = self.n_deliver[pos]
        i = np.repeat(np.arange(len(pos)), counts)
        offs = np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts)
        return i, self.dq[self.dq_start[pos][i] + offs]


def _depths(plan: NetworkPlan) -> tuple[I64, I64]:
    """Per position: its depth (roots 0) and its layout's root position (every position
    climbs to its root together, a level at a time)."""
    parent = parent_positions(plan.pos_first_child, plan.pos_sibling)
    depth = np.zeros(len(parent), np.int64)
    root_of = np.arange(len(parent), dtype=np.int64)
    up = np.flatnonzero(parent >= 0)
    while up.size:
        depth[up] += 1
        root_of[up] = parent[root_of[up]]
        up = up[parent[root_of[up]] >= 0]
    return depth, root_of


@dataclass(frozen=True)
class LogPackets:
    """A packet log's rows (``log``, by packet: the rows of one packet together, in no
    particular order, packets in ``(tree, seq)`` order) grouped by packet: per row its
    ``packet`` (index) and ``pos`` (position in its layout); per packet its ``first`` row,
    ``tree``, ``seq``, ``emit`` (emission: its earliest arrival, at a first link) and
    layout ``root``."""

    log: I64
    packet: I64
    pos: I64
    first: I64
    tree: I64
    seq: I64
    emit: I64
    root: I64

    def select(self, keep: npt.NDArray[np.bool_]) -> LogPackets:
        """The packets ``keep`` (a mask over the packets) with their rows."""
        rows = keep[self.packet]
        packet = (np.cumsum(keep) - 1)[self.packet[rows]]
        first = np.flatnonzero(np.r_[True, packet[1:] != packet[:-1]]) if len(packet) else packet
        return LogPackets(
            np.compress(rows, self.log, axis=0),
            packet,
            self.pos[rows],
            first,
            self.tree[keep],
            self.seq[keep],
            self.emit[keep],
            self.root[keep],
        )


def sort_order(key: I64) -> I64:
    """The indices that sort ``key`` (integers), equal keys in their order (a stable sort):
    each key and its index packed in one int64 and those sorted as values when they fit
    (NumPy sorts values several times faster than it sorts indices: 0.07 against 0.34 µs a
    key for a million), else by ``np.argsort``."""
    n = len(key)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    lo, hi = int(key.min()), int(key.max())
    bits = (n - 1).bit_length()
    if (hi - lo).bit_length() + bits > 63:
        return np.asarray(np.argsort(key, kind="stable"), np.int64)
    packed = (np.asarray(key, np.int64) - lo) << bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    packed &= (1 << bits) - 1
    return packed


def log_packets(index: TreeIndex, log: I64) -> LogPackets:
    """``log``'s rows grouped by packet (sorted by ``(tree, seq)`` alone: what is computed
    from a packet's rows does not depend on their order)."""
    log = np.asarray(log, np.int64).reshape(-1, len(LOG_COLUMNS))
    key = (log[:, _TREE] << 40) | log[:, _SEQ]
    if len(key) > 1 and np.any(key[1:] < key[:-1]):
        # sorted by (tree, seq) numbered from the least of each: fewer bits to sort
        tree, seq = log[:, _TREE], log[:, _SEQ]
        t0, s0 = int(tree.min()), int(seq.min())
        span = int(seq.max()) - s0 + 1
        if (int(tree.max()) - t0 + 1).bit_length() + span.bit_length() <= 62:
            order = sort_order((tree - t0) * span + (seq - s0))
        else:
            order = sort_order(key)
        log, key = np.take(log, order, axis=0), key[order]  # (rows: 6 times faster than log[order])
    new = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, bool)
    first = np.flatnonzero(new)
    packet = np.cumsum(new) - 1
    emit = np.minimum.reduceat(log[:, _ARR], first) if len(first) else np.zeros(0, np.int64)
    tree = log[first, _TREE]
    root = index.roots(tree, emit)
    pos = index.positions(root[packet], log[:, _LINK])
    return LogPackets(log, packet, pos, first, tree, log[first, _SEQ], emit, root)
