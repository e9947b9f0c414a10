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

if TYPE_CHECKING:
    from vidnet_sim.network.links import LinkTable
    from vidnet_sim.scenario.model import Scenario

#: ``route(origin, destination)``: directed link indices, or None when unreachable.
RouteFn = Callable[[int, int], "list[int] | None"]


@dataclass(frozen=True)
class Router:
    """Routing over a :class:`LinkTable` with the scenario's explicit routes."""

    links: LinkTable
    explicit: dict[tuple[int, int], list[int]]  # (origin node, destination node) -> links

    def routes(self, failed: frozenset[int] = frozenset()) -> RouteFn:
        """Routing over the links that work: without ``failed`` links, and with the blocked
        (protection) links usable while any link has failed."""
        links = self.links
        out_links: list[list[tuple[int, int]]] = [[] for _ in links.node_names]
        in_links: list[list[tuple[int, int]]] = [[] for _ in links.node_names]
        for i in range(links.n_links):
            if i in failed or not (links.usable[i] or failed):
                continue
            out_links[links.src[i]].append((i, links.dst[i]))
            in_links[links.dst[i]].append((i, links.src[i]))
        trees: dict[int, list[int]] = {}
        explicit = {k: v for k, v in self.explicit.items() if not failed.intersection(v)}

        def route(o: int, d: int) -> list[int] | None:
            return _route(o, d, explicit, trees, in_links, out_links, links.dst)

        return route


def scenario_router(scenario: Scenario, links: LinkTable) -> Router:
    """The :class:`Router` of ``scenario``'s links and explicit routes."""
    node_index = links.node_index()
    link_by_pair: dict[tuple[int, int], int] = {}
    for i in range(links.n_links):
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
    trees: dict[int, list[int]],
    in_links: list[list[tuple[int, int]]],
    out_links: list[list[tuple[int, int]]],
    dst: Sequence[int],
) -> list[int] | None:
    """Explicit route if given (for a camera: from its attach node), else the fewest-hop
    path of the destination's forwarding tree (``trees`` caches them)."""
    if (o, d) in explicit:
        return explicit[(o, d)]
    first = out_links[o]
    if len(first) == 1 and (dst[first[0][0]], d) in explicit:  # a camera's access link
        return [first[0][0], *explicit[(dst[first[0][0]], d)]]
    if d not in trees:
        trees[d] = next_hops_to(len(in_links), in_links, d)
    nxt = trees[d]
    path: list[int] = []
    node = o
    while node != d:
        link = nxt[node]
        if link < 0:
            return None
        path.append(link)
        node = dst[link]
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
    in_links: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    to_node: dict[int, int] = {}
    for u, row in enumerate(out_links):
        for link, v in row:
            in_links[v].append((link, u))
            to_node[link] = v
    for row in in_links:
        row.sort()
    nxt = next_hops_to(n_nodes, in_links, dst)
    path: list[int] = []
    node = src
    while node != dst:
        if nxt[node] < 0:
            return None
        path.append(nxt[node])
        node = to_node[nxt[node]]
    return path


def next_hops_to(
    n_nodes: int,
    in_links: Sequence[Sequence[tuple[int, int]]],
    dst: int,
) -> list[int]:
    """Destination-based forwarding: for every node, the link it uses towards ``dst``.

    A breadth-first search from ``dst`` over reversed links (``in_links[node]`` lists
    ``(link, previous_node)`` pairs, in increasing link order) gives every node a fewest-hop
    path; among equal-length paths the first discovered wins, deterministically. All flows
    to one destination then follow one tree, as IP forwarding does. ``-1``: no path.
    """
    nxt = [-1] * n_nodes
    seen = [False] * n_nodes
    seen[dst] = True
    frontier = [dst]
    while frontier:
        following: list[int] = []
        for v in frontier:
            for link, u in in_links[v]:
                if not seen[u]:
                    seen[u] = True
                    nxt[u] = link
                    following.append(u)
        frontier = following
    return nxt


def topological_order(n_links: int, edges: set[tuple[int, int]]) -> list[int]:
    """Kahn's algorithm over the link-dependency graph ``edges`` ("a feeds b").

    Returns an order of all ``n_links`` links (smallest index first among ready links), or,
    when the graph has a cycle, raises :class:`CycleError` carrying one cycle.
    """
    succ: list[list[int]] = [[] for _ in range(n_links)]
    indeg = [0] * n_links
    for a, b in sorted(edges):
        succ[a].append(b)
        indeg[b] += 1
    ready = [i for i in range(n_links) if indeg[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        a = heapq.heappop(ready)
        order.append(a)
        for b in succ[a]:
            indeg[b] -= 1
            if indeg[b] == 0:
                heapq.heappush(ready, b)
    if len(order) < n_links:
        raise CycleError(_find_cycle(succ, [i for i in range(n_links) if indeg[i] > 0]))
    return order


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
    "RouteFn",
    "Router",
    "next_hops_to",
    "scenario_router",
    "shortest_path",
    "topological_order",
]
