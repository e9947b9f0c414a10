"""Routes over the directed link graph, and the acyclicity check the exact engine relies on.

A flow follows its explicit route when the scenario gives one (for a camera: its access link,
then the explicit route from its attach node), else the fewest-hop path of its destination's
forwarding tree over the links that work.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from vidnet_sim.network.links import LinkTable
    from vidnet_sim.scenario.model import Scenario

#: ``route(origin, destination)``: directed link indices, or None when unreachable.
RouteFn = Callable[[int, int], "list[int] | None"]


I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LinkGraph:
    """Directed links as arrays by the node they lead to: the links into node ``v`` are
    ``in_link[in_start[v]:in_start[v + 1]]`` in increasing order, from the nodes
    ``in_from[...]`` beside them."""

    in_start: I64
    in_link: I64
    in_from: I64

    @staticmethod
    def of(n_nodes: int, link_ids: I64, src: I64, dst: I64) -> LinkGraph:
        """The graph of links ``link_ids`` (increasing) of the links ``src[i] -> dst[i]``."""
        by_head = link_ids[np.argsort(dst[link_ids], kind="stable")]
        in_start = np.searchsorted(dst[by_head], np.arange(n_nodes + 1))
        return LinkGraph(in_start, by_head, src[by_head])


@dataclass(frozen=True)
class Router:
    """Routing over a :class:`LinkTable` with the scenario's explicit routes."""

    links: LinkTable
    explicit: dict[tuple[int, int], list[int]]  # (origin node, destination node) -> links

    def routes(self, failed: frozenset[int] = frozenset()) -> RouteFn:
        """Routing over the links that work: without ``failed`` links, and with the blocked
        (protection) links usable while any link has failed."""
        links = self.links
        src = np.array(links.src, np.int64)
        dst = np.array(links.dst, np.int64)
        works = np.array(links.usable, np.bool_) | bool(failed)
        works[sorted(failed)] = False
        ids = np.flatnonzero(works)
        graph = LinkGraph.of(len(links.node_names), ids, src, dst)
        trees: dict[int, tuple[list[int], dict[int, list[int]]]] = {}
        explicit = {k: v for k, v in self.explicit.items() if not failed.intersection(v)}
        single_out: dict[int, int] = {}  # a node's only working link out (a camera's access)
        if explicit:
            count = np.bincount(src[ids], minlength=len(links.node_names))
            alone = count[src[ids]] == 1
            single_out = dict(zip(src[ids][alone].tolist(), ids[alone].tolist(), strict=True))

        def route(o: int, d: int) -> list[int] | None:
            return _route(o, d, explicit, trees, graph, single_out, links.dst)

        return route


def scenario_router(scenario: Scenario, links: LinkTable) -> Router:
    """The :class:`Router` of ``scenario``'s links and explicit routes."""
    node_index = links.node_index()
    link_by_pair: dict[tuple[int, int], int] = {}
    for i in range(links.n_links if scenario.routes else 0):
        link_by_pair.setdefault((links.src[i], links.dst[i]), i)
    explicit: dict[tuple[int, int], list[int]] = {}
    for r in scenario.routes:
        hops = [node_index[x] for x in r.path]
        explicit[(hops[0], hops[-1])] = [link_by_pair[(u, v)] for u, v in itertools.pairwise(hops)]
    return Router(links, explicit)


def _route(
    o: int,
    d: int,
    explicit: dict[tuple[int, int], list[int]],
    trees: dict[int, tuple[list[int], dict[int, list[int]]]],
    graph: LinkGraph,
    single_out: dict[int, int],
    dst: Sequence[int],
) -> list[int] | None:
    """Explicit route if given (for a camera: from its attach node), else the fewest-hop
    path of the destination's forwarding tree (``trees`` caches them, and the paths from
    the nodes a path has passed: the rest of the paths through them)."""
    if explicit:
        if (o, d) in explicit:
            return explicit[(o, d)]
        first = single_out.get(o)
        if first is not None and (dst[first], d) in explicit:  # a camera's access link
            return [first, *explicit[(dst[first], d)]]
    tree = trees.get(d)
    if tree is None:
        tree = trees[d] = (next_hops_to(graph, d), {d: []})
    nxt, rest = tree
    link = nxt[o]
    if link < 0:
        return None if o != d else []
    after = rest.get(dst[link])
    return [link, *(after if after is not None else _rest_of_path(dst[link], nxt, rest, dst))]


def _rest_of_path(
    node: int, nxt: list[int], rest: dict[int, list[int]], dst: Sequence[int]
) -> list[int]:
    """The path from ``node`` (reached by a path, so on the tree) along the forwarding
    tree ``nxt``; ``rest`` holds those known, and gets the new ones."""
    walked: list[int] = []
    while node not in rest:
        walked.append(node)
        node = dst[nxt[node]]
    path = rest[node]
    for v in reversed(walked):
        path = [nxt[v], *path]
        rest[v] = path
    return path


def shortest_path(
    n_nodes: int,
    out_links: Sequence[Sequence[tuple[int, int]]],
    src: int,
    dst: int,
) -> list[int] | None:
    """Fewest-hop path from ``src`` to ``dst`` as a list of directed link indices, the one
    :func:`next_hops_to` forwards on; None when ``dst`` is unreachable.

    ``out_links[node]`` lists ``(link, next_node)`` pairs.
    """
    rows = sorted((link, u, v) for u, row in enumerate(out_links) for link, v in row)
    ids = np.array([link for link, _, _ in rows], np.int64).reshape(-1)
    span = int(ids.max()) + 1 if ids.size else 0
    tail = np.zeros(span, np.int64)
    head = np.zeros(span, np.int64)
    tail[ids] = [u for _, u, _ in rows]
    head[ids] = [v for _, _, v in rows]
    nxt = next_hops_to(LinkGraph.of(n_nodes, ids, tail, head), dst)
    path: list[int] = []
    node = src
    while node != dst:
        if nxt[node] < 0:
            return None
        path.append(nxt[node])
        node = int(head[nxt[node]])
    return path


def next_hops_to(graph: LinkGraph, dst: int) -> list[int]:
    """Destination-based forwarding: for every node, the link it uses towards ``dst``.

    A breadth-first search from ``dst`` over reversed links, level by level, over arrays:
    every node gets a fewest-hop path; among equal-length paths the first discovered wins
    (nodes of the level before in the order they were discovered, each one's links in
    increasing order), deterministically. All flows to one destination then follow one tree,
    as IP forwarding does. ``-1``: no path.
    """
    n_nodes = len(graph.in_start) - 1
    nxt = np.full(n_nodes, -1, np.int64)
    seen = np.zeros(n_nodes, np.bool_)
    seen[dst] = True
    frontier = np.array([dst], np.int64)
    while frontier.size:
        lo, hi = graph.in_start[frontier], graph.in_start[frontier + 1]
        count = hi - lo
        # every link into the frontier, node by node, each node's in link order
        at = np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))
        node, link = graph.in_from[at], graph.in_link[at]
        new = ~seen[node]
        node, link = node[new], link[new]
        _, first = np.unique(node, return_index=True)
        first.sort()  # the order of discovery
        frontier = node[first]
        nxt[frontier] = link[first]
        seen[frontier] = True
    return nxt.tolist()


def topological_order(
    n_links: int, edges: set[tuple[int, int]] | npt.NDArray[np.int64]
) -> list[int]:
    """Kahn's algorithm over the link-dependency graph ``edges`` ("a feeds b"): a set of
    pairs, or their rows ``(a, b)`` in an ``(E, 2)`` array.

    Returns an order of all ``n_links`` links (smallest index first among ready links), or,
    when the graph has a cycle, raises :class:`CycleError` carrying one cycle.
    """
    given = np.array(sorted(edges) if isinstance(edges, set) else edges, np.int64).reshape(-1, 2)
    pairs = unique_pairs(given[:, 0], given[:, 1])  # by a, then b; each edge once
    bounds = np.searchsorted(pairs[:, 0], np.arange(n_links + 1)).tolist()
    heads = pairs[:, 1].tolist()  # a's successors: heads[bounds[a]:bounds[a + 1]]
    indeg = np.bincount(pairs[:, 1], minlength=n_links).tolist()
    ready = [i for i in range(n_links) if indeg[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        a = heapq.heappop(ready)
        order.append(a)
        for b in heads[bounds[a] : bounds[a + 1]]:
            indeg[b] -= 1
            if indeg[b] == 0:
                heapq.heappush(ready, b)
    if len(order) < n_links:
        succ = [heads[lo:hi] for lo, hi in itertools.pairwise(bounds)]
        raise CycleError(_find_cycle(succ, [i for i in range(n_links) if indeg[i] > 0]))
    return order


def unique_pairs(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The distinct pairs ``(a[i], b[i])`` of non-negative integers, as the rows of an
    ``(E, 2)`` array in increasing order (by ``a``, then ``b``)."""
    code, span = pair_codes(a, b)
    code = np.unique(code)
    return np.stack([code // span, code % span], axis=1)


def pair_codes(
    a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], int]:
    """Each pair ``(a[i], b[i])`` of non-negative integers as one integer ``a * span + b``
    (``span``: the largest ``b`` plus one), so that the codes order as the pairs do (by
    ``a``, then ``b``): ``(codes, span)``; a code's pair is ``(code // span, code % span)``."""
    span = int(b.max()) + 1 if b.size else 1
    return a * span + b, span


class CycleError(Exception):
    """The link-dependency graph has a cycle; ``cycle`` lists its links in order."""

    def __init__(self, cycle: list[int]) -> None:
        self.cycle = cycle
        super().__init__(f"cycle through links {cycle}")


def _find_cycle(succ: list[list[int]], remaining: list[int]) -> list[int]:
    alive = set(remaining)
    pred: dict[int, list[int]] = {b: [] for b in alive}
    for a in alive:
        for b in succ[a]:
            if b in alive:
                pred[b].append(a)
    seen: dict[int, int] = {}
    path: list[int] = []
    node = remaining[0]
    while node not in seen:  # every link left over by Kahn has a left-over predecessor
        seen[node] = len(path)
        path.append(node)
        node = min(pred[node])
    cycle = path[seen[node] :]
    cycle.reverse()
    return cycle


__all__ = [
    "CycleError",
    "LinkGraph",
    "RouteFn",
    "Router",
    "next_hops_to",
    "pair_codes",
    "scenario_router",
    "shortest_path",
    "topological_order",
    "unique_pairs",
]
