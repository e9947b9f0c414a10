"""Tree layouts: the positions a packet of each tree visits, laid out depth first (rule 12).

A tree's *layout* is the trie of its flows' routes under a virtual root (link -1): position
``p`` is one link of the tree, its children are the links the packet is copied to next, and
``pos_deliver[p]`` is the flow delivered at the link's far end. A reroute adds layouts (see
:mod:`vidnet_sim.network.reroutes`); every layout of a plan lives in one set of arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vidnet_sim.network.flows import Flows
from vidnet_sim.network.routing import unique_pairs

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Layouts:
    """Every layout of a plan, and the root position of each tree's first layout."""

    tree_pos0: I64
    pos_link: I64  # -1 at roots
    pos_first_child: I64
    pos_sibling: I64
    pos_deliver: I64  # delivery flow at the link's far end, or -1
    pos_end: I64  # positions p .. pos_end[p]-1: p's subtree

    def edge_array(self) -> I64:
        """The link-dependency edges ("a feeds b") of every layout, each once, as rows
        ``(a, b)`` of an ``(E, 2)`` array in increasing order."""
        parent = parent_positions(self.pos_first_child, self.pos_sibling)
        child = np.flatnonzero(parent >= 0)
        a = self.pos_link[parent[child]]
        keep = a >= 0  # the root is no link
        return unique_pairs(a[keep], self.pos_link[child[keep]])


def parent_positions(first_child: npt.NDArray[np.integer], sibling: npt.NDArray[np.integer]) -> I64:
    """The parent position of each position of layouts whose first children and next
    siblings are ``first_child`` and ``sibling`` (-1: none); -1 at roots."""
    first_child = np.asarray(first_child, np.int64)
    sibling = np.asarray(sibling, np.int64)
    parent = np.full(len(first_child), -1, np.int64)
    has = np.flatnonzero(first_child >= 0)
    children = first_child[has]
    parent[children] = has
    while children.size:  # each child's next sibling shares its parent
        siblings = sibling[children]
        children, siblings = children[siblings >= 0], siblings[siblings >= 0]
        parent[siblings] = parent[children]
        children = siblings
    return parent


class Positions:
    """A growing set of layouts, laid out depth first; :meth:`freeze` gives :class:`Layouts`."""

    def __init__(self, start: Layouts | None = None) -> None:
        """Start empty, or after the positions of ``start``."""
        self.link: list[int] = [] if start is None else start.pos_link.tolist()
        self.first_child: list[int] = [] if start is None else start.pos_first_child.tolist()
        self.sibling: list[int] = [] if start is None else start.pos_sibling.tolist()
        self.deliver: list[int] = [] if start is None else start.pos_deliver.tolist()
        self.end: list[int] = [] if start is None else start.pos_end.tolist()

    def _new(self, link: int) -> int:
        """A new position on ``link``, without children, delivery or subtree yet."""
        self.link.append(link)
        self.first_child.append(-1)
        self.sibling.append(-1)
        self.deliver.append(-1)
        self.end.append(-1)
        return len(self.link) - 1

    def add_tree(self, paths: Iterable[tuple[int, Sequence[int]]]) -> int:
        """Lay out the trie of ``(flow, links)`` paths under a virtual root; return the root."""
        trie: dict[int, Any] = {}
        for flow, links in paths:
            node = trie
            for i, link in enumerate(links):
                node = node.setdefault(link, {"__kids__": {}, "__flows__": []})
                if i == len(links) - 1:
                    node["__flows__"].append(flow)
                node = node["__kids__"]

        # depth first, without recursion (a path may cross any number of hops): each stack
        # entry is a position, its remaining children and the last child laid
        root = self._new(-1)
        stack: list[tuple[int, Iterator[tuple[int, Any]], int]] = [(root, iter(trie.items()), -1)]
        while stack:
            p, kids, prev = stack[-1]
            step = next(kids, None)
            if step is None:
                self.end[p] = len(self.link)
                stack.pop()
                continue
            child_link, child = step
            c = self._new(child_link)
            if child["__flows__"]:
                self.deliver[c] = child["__flows__"][0]
            if prev < 0:
                self.first_child[p] = c
            else:
                self.sibling[prev] = c
            stack[-1] = (p, kids, c)
            stack.append((c, iter(child["__kids__"].items()), -1))
        return root

    def paths(self, root: int) -> dict[int, list[int]]:
        """``{flow: links}`` of the layout at ``root``."""
        out: dict[int, list[int]] = {}

        def walk(p: int, path: list[int]) -> None:
            here = [*path, self.link[p]] if self.link[p] >= 0 else path
            if self.deliver[p] >= 0:
                out[self.deliver[p]] = here
            c = self.first_child[p]
            while c >= 0:
                walk(c, here)
                c = self.sibling[c]

        walk(root, [])
        return out

    def freeze(self, tree_pos0: Sequence[int]) -> Layouts:
        """The layouts laid out so far, with ``tree_pos0`` as each tree's first layout."""
        return Layouts(
            tree_pos0=np.array(tree_pos0, np.int64),
            pos_link=np.array(self.link, np.int64),
            pos_first_child=np.array(self.first_child, np.int64),
            pos_sibling=np.array(self.sibling, np.int64),
            pos_deliver=np.array(self.deliver, np.int64),
            pos_end=np.array(self.end, np.int64),
        )


def lay_out_trees(flows: Flows) -> Layouts:
    """One layout per tree, from its flows' initial routes, in tree order: what
    :meth:`Positions.add_tree` lays out for each tree in turn.

    The layout of a tree of one flow (each unicast tree) is a chain: its root, then a
    position on each link of the route, the flow delivered at the last; those are laid out
    over arrays, every tree at once. A tree of several flows is laid out on its own by
    :meth:`Positions.add_tree` and moved to its place."""
    route_start = np.array(flows.flow_route_start, np.int64)
    route_links = np.array(flows.route_links, np.int64)
    n_trees = len(flows.tree_flows)
    single = np.array([len(fl) == 1 for fl in flows.tree_flows], np.bool_)
    flow = np.array([fl[0] for fl in flows.tree_flows], np.int64)
    size = np.where(single, 1 + route_start[flow + 1] - route_start[flow], 0)
    others: dict[int, Layouts] = {}
    for t in np.flatnonzero(~single).tolist():
        alone = Positions()
        alone.add_tree([(f, flows.route(f)) for f in flows.tree_flows[t]])
        others[t] = alone.freeze([0])
        size[t] = len(others[t].pos_link)
    end = np.cumsum(size)
    root = end - size
    tree = np.repeat(np.arange(n_trees), size)
    pos = np.arange(len(tree))
    hop = pos - root[tree]  # 0 at the root, i at the i-th link of a chain
    chain = single[tree]
    last = chain & (pos == end[tree] - 1)
    on_link = chain & (hop > 0)
    link = np.full(len(tree), -1, np.int64)
    link[on_link] = route_links[route_start[flow[tree[on_link]]] + hop[on_link] - 1]
    first_child = np.where(chain & ~last, pos + 1, -1)
    sibling = np.full(len(tree), -1, np.int64)
    deliver = np.where(last, flow[tree], -1)
    subtree_end = end[tree]
    for t, lay in others.items():
        at = slice(int(root[t]), int(end[t]))
        link[at] = lay.pos_link
        first_child[at] = np.where(lay.pos_first_child >= 0, lay.pos_first_child + root[t], -1)
        sibling[at] = np.where(lay.pos_sibling >= 0, lay.pos_sibling + root[t], -1)
        deliver[at] = lay.pos_deliver
        subtree_end[at] = lay.pos_end + root[t]
    return Layouts(root, link, first_child, sibling, deliver, subtree_end)


__all__ = ["Layouts", "Positions", "lay_out_trees", "parent_positions"]
