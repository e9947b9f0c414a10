"""Routes over the directed link graph, and the acyclicity check the exact engine relies on."""

from __future__ import annotations

import heapq
from collections.abc import Sequence


def shortest_path(
    n_nodes: int,
    out_links: Sequence[Sequence[tuple[int, int]]],
    src: int,
    dst: int,
) -> list[int] | None:
    """Fewest-hop path from ``src`` to ``dst`` as a list of directed link indices.

    ``out_links[node]`` lists ``(link, next_node)`` pairs. Ties are broken deterministically:
    among equal-length paths the one whose link indices compare smallest, hop by hop from
    the destination backwards, wins (Dijkstra with a ``(hops, node)`` heap and strict
    improvement only). Returns None when ``dst`` is unreachable.
    """
    if src == dst:
        return []
    dist = [-1] * n_nodes
    via = [-1] * n_nodes
    dist[src] = 0
    heap = [(0, src)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        if u == dst:
            break
        for link, v in out_links[u]:
            if dist[v] == -1 or d + 1 < dist[v]:
                dist[v] = d + 1
                via[v] = link
                heapq.heappush(heap, (d + 1, v))
    if dist[dst] == -1:
        return None
    return _walk_back(via, dst, src, out_links)


def _walk_back(
    via: list[int], dst: int, src: int, out_links: Sequence[Sequence[tuple[int, int]]]
) -> list[int]:
    link_to = {link: (u, v) for u, row in enumerate(out_links) for link, v in row}
    path: list[int] = []
    node = dst
    while node != src:
        link = via[node]
        path.append(link)
        node = link_to[link][0]
    path.reverse()
    return path


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
