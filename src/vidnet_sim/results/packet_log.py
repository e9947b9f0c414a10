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

from vidnet_sim.network.plan import NetworkPlan

__all__ = ["LOG_COLUMNS", "LogPackets", "TreeIndex", "log_packets"]

I64 = npt.NDArray[np.int64]

#: The columns of a packet log row.
LOG_COLUMNS: tuple[str, ...] = ("tree", "seq", "link", "t_arrival", "t_departure", "t_start")
_TREE, _SEQ, _LINK, _ARR = range(4)


class TreeIndex:
    """A plan's tree layouts as arrays, per position: ``link`` (-1 at a root), ``deliver``
    (its delivery flow, -1 if none), ``depth`` (roots 0), ``n_deliver`` (the delivering
    positions of its subtree, itself included) and, as CSR lists (``dq_start``, ``dq``), those
    positions in increasing order; the layouts in force from each time (``layout_starts``,
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
        lists = [np.flatnonzero(self.deliver[p : end[p]] >= 0) + p for p in range(len(end))]
        self.n_deliver: I64 = np.array([len(x) for x in lists], np.int64)
        self.dq_start: I64 = np.zeros(len(lists) + 1, np.int64)
        self.dq_start[1:] = np.cumsum(self.n_deliver)
        self.dq: I64 = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, np.int64)
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

    def below(self, pos: I64) -> tuple[I64, I64]:
        """Every ``(i, q)``: ``q`` a delivering position of the subtree of ``pos[i]``, the
        ``q`` of each ``i`` in increasing order."""
        counts = self.n_deliver[pos]
        i = np.repeat(np.arange(len(pos)), counts)
        offs = np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts)
        return i, self.dq[self.dq_start[pos][i] + offs]


def _depths(plan: NetworkPlan) -> tuple[I64, I64]:
    """Per position: its depth (roots 0) and its layout's root position."""
    n = len(plan.pos_link)
    depth = np.zeros(n, np.int64)
    root_of = np.zeros(n, np.int64)
    first = np.asarray(plan.pos_first_child, np.int64)
    sib = np.asarray(plan.pos_sibling, np.int64)
    link = np.asarray(plan.pos_link, np.int64)
    for p in range(n):  # depth first: a parent comes before its children
        if link[p] < 0:
            root_of[p] = p
        c = int(first[p])
        while c >= 0:
            depth[c] = depth[p] + 1
            root_of[c] = root_of[p]
            c = int(sib[c])
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
            self.log[rows],
            packet,
            self.pos[rows],
            first,
            self.tree[keep],
            self.seq[keep],
            self.emit[keep],
            self.root[keep],
        )


def log_packets(index: TreeIndex, log: I64) -> LogPackets:
    """``log``'s rows grouped by packet (sorted by ``(tree, seq)`` alone: what is computed
    from a packet's rows does not depend on their order)."""
    log = np.asarray(log, np.int64).reshape(-1, len(LOG_COLUMNS))
    key = (log[:, _TREE] << 40) | log[:, _SEQ]
    if len(key) > 1 and np.any(key[1:] < key[:-1]):
        order = np.argsort(key)
        log, key = log[order], key[order]
    new = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, bool)
    first = np.flatnonzero(new)
    packet = np.cumsum(new) - 1
    emit = np.minimum.reduceat(log[:, _ARR], first) if len(first) else np.zeros(0, np.int64)
    tree = log[first, _TREE]
    root = index.roots(tree, emit)
    pos = index.positions(root[packet], log[:, _LINK])
    return LogPackets(log, packet, pos, first, tree, log[first, _SEQ], emit, root)
