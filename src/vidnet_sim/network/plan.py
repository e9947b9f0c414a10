"""Compile a validated scenario into a :class:`NetworkPlan`: plain arrays for the engines.

Every scenario link becomes one directed link per direction; every camera gets a node of its
own and an access link to its attach node. A *flow* is one source's stream to one destination,
routed over directed links (explicit routes first, then fewest hops over links that are not
``blocked``). The exact core computes links one at a time in a topological order of the graph
"link a feeds link b", so that graph must be acyclic: a cycle is a scenario error.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.routing import CycleError, next_hops_to, topological_order
from vidnet_sim.traffic.sources import KIND_NAMES, SourceTable, build_sources, camera_name

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

I64 = npt.NDArray[np.int64]
DEFAULT_BUFFER_BYTES = 1 << 20


@dataclass
class NetworkPlan:
    """The compiled network: nodes, directed links, flows and their routes, groups."""

    node_names: list[str]
    link_names: list[str]
    link_src: I64  # node index
    link_dst: I64
    link_rate_bps: I64
    link_prop_ps: I64
    link_buffer_bytes: I64  # -1 when the buffer counts packets
    link_buffer_packets: I64  # -1 when the buffer counts bytes
    link_order: I64  # topological order of the link-dependency graph
    count_in_service: bool
    flow_source: I64  # source index of each flow
    flow_dest: I64  # destination node
    flow_route_start: I64  # flow f uses route_links[flow_route_start[f]:flow_route_start[f+1]]
    route_links: I64
    group_names: list[str]
    group_classes: list[str]
    group_kinds: list[str]
    sources: SourceTable
    source_flow_start: I64  # source s owns flows source_flow_start[s]:source_flow_start[s+1]

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return len(self.link_names)

    @property
    def n_flows(self) -> int:
        """Number of flows (source x destination)."""
        return len(self.flow_source)

    def route(self, flow: int) -> I64:
        """Directed link indices of one flow's route."""
        return self.route_links[self.flow_route_start[flow] : self.flow_route_start[flow + 1]]


def service_time_ps(size_bytes: int, rate_bps: int) -> int:
    """Transmission time of ``size_bytes`` at ``rate_bps``, rounded up to a whole ps."""
    return -((-size_bytes * 8 * 10**12) // rate_bps)


def build_plan(scenario: Scenario, base_dir: Path | None = None) -> NetworkPlan:
    """Compile ``scenario`` (already validated by the loader) into a :class:`NetworkPlan`.

    Raises :class:`ScenarioError` for what only the compiled network reveals: a destination
    that cannot be reached, or a cyclic link-dependency graph.
    """
    conv = scenario.conventions
    groups = [c.name for c in scenario.cameras] + [s.name for s in scenario.sources]
    classes = [c.class_ for c in scenario.cameras] + [s.class_ for s in scenario.sources]
    kinds = ["camera"] * len(scenario.cameras) + [s.kind for s in scenario.sources]
    sources = build_sources(scenario, groups, base_dir)

    nodes = [n.id for n in scenario.nodes]
    node_index = {n: i for i, n in enumerate(nodes)}
    names: list[str] = []
    src: list[int] = []
    dst: list[int] = []
    rate: list[int] = []
    prop: list[int] = []
    buf_b: list[int] = []
    buf_p: list[int] = []
    usable: list[bool] = []

    def add_link(name: str, a: int, b: int, r: int, p: int, bb: int, bp: int, ok: bool) -> None:
        names.append(name)
        src.append(a)
        dst.append(b)
        rate.append(r)
        prop.append(p)
        buf_b.append(bb)
        buf_p.append(bp)
        usable.append(ok)

    def delay_of(delay: int | None, length: int | None) -> int:
        if delay is not None:
            return delay
        if length is not None:
            return (length * conv.propagation_per_km) // 1000
        return 0

    for link in scenario.links:
        lid = link.id or f"{link.a}-{link.b}"
        a, b = node_index[link.a], node_index[link.b]
        p = delay_of(link.delay, link.length)
        if link.buffer_packets is not None:
            bb, bp = -1, link.buffer_packets
        else:
            bb, bp = (link.buffer if link.buffer is not None else DEFAULT_BUFFER_BYTES), -1
        plain = lid == f"{link.a}-{link.b}"
        directions = [(a, b, link.a, link.b)]
        if link.duplex:
            directions.append((b, a, link.b, link.a))
        for u, v, un, vn in directions:
            name = f"{un}->{vn}" if plain else f"{lid}:{un}->{vn}"
            add_link(name, u, v, link.rate, p, bb, bp, not link.blocked)

    # camera nodes and their access links (upstream only: cameras only send)
    for cam in scenario.cameras:
        p = delay_of(cam.access_delay, cam.access_length)
        for i in range(cam.count):
            cname = camera_name(cam, i)
            node_index[cname] = len(nodes)
            nodes.append(cname)
            add_link(f"{cname}->{cam.attach}", node_index[cname], node_index[cam.attach],
                     cam.access_rate, p, cam.access_buffer, -1, True)

    out_links: list[list[tuple[int, int]]] = [[] for _ in nodes]
    in_links: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for i in range(len(names)):
        if usable[i]:
            out_links[src[i]].append((i, dst[i]))
            in_links[dst[i]].append((i, src[i]))
    link_by_pair: dict[tuple[int, int], int] = {}
    for i in range(len(names)):
        link_by_pair.setdefault((src[i], dst[i]), i)

    explicit: dict[tuple[int, int], list[int]] = {}
    for r in scenario.routes:
        hops = [node_index[x] for x in r.path]
        explicit[(hops[0], hops[-1])] = [link_by_pair[(u, v)] for u, v in itertools.pairwise(hops)]

    problems: list[Problem] = []
    flow_source: list[int] = []
    flow_dest: list[int] = []
    route_start = [0]
    route_links: list[int] = []
    source_flow_start = [0]
    trees: dict[int, list[int]] = {}
    reported: set[tuple[str, str]] = set()
    for s, origin in enumerate(sources.origin_nodes):
        o = node_index[origin]
        for d_name in sources.destinations[s]:
            d = node_index[d_name]
            path = _route(o, d, explicit, trees, in_links, out_links, dst)
            if path is None or not path:
                g = int(sources.group[s])
                key = (groups[g], d_name)
                if key not in reported:
                    reported.add(key)
                    where = _group_path(scenario, groups[g])
                    why = ("is the node it starts from" if path is not None
                           else f"cannot be reached from '{origin}' over links that are not "
                                "blocked; add a link or an explicit route")
                    problems.append(Problem(f"{where}.destinations",
                                            f"destination '{d_name}' {why}"))
                continue
            flow_source.append(s)
            flow_dest.append(d)
            route_links.extend(path)
            route_start.append(len(route_links))
        source_flow_start.append(len(flow_source))
    if problems:
        raise ScenarioError(problems)

    edges: set[tuple[int, int]] = set()
    for f in range(len(flow_source)):
        flow_links = route_links[route_start[f] : route_start[f + 1]]
        edges.update(itertools.pairwise(flow_links))
    try:
        order = topological_order(len(names), edges)
    except CycleError as exc:
        cyc = " -> ".join(names[i] for i in exc.cycle + exc.cycle[:1])
        raise ScenarioError(Problem(
            "routes" if scenario.routes else "links",
            f"the routes make the link-dependency graph cyclic ({cyc}); the exact engine needs "
            "loop-free forwarding (a tree, a ring with one blocked link, hub-and-spoke): mark a "
            "ring link `blocked = true` or give explicit routes that do not close a loop",
        )) from None

    return NetworkPlan(
        node_names=nodes,
        link_names=names,
        link_src=np.array(src, np.int64),
        link_dst=np.array(dst, np.int64),
        link_rate_bps=np.array(rate, np.int64),
        link_prop_ps=np.array(prop, np.int64),
        link_buffer_bytes=np.array(buf_b, np.int64),
        link_buffer_packets=np.array(buf_p, np.int64),
        link_order=np.array(order, np.int64),
        count_in_service=conv.count_in_service,
        flow_source=np.array(flow_source, np.int64),
        flow_dest=np.array(flow_dest, np.int64),
        flow_route_start=np.array(route_start, np.int64),
        route_links=np.array(route_links, np.int64),
        group_names=groups,
        group_classes=classes,
        group_kinds=kinds,
        sources=sources,
        source_flow_start=np.array(source_flow_start, np.int64),
    )


def _route(o: int, d: int, explicit: dict[tuple[int, int], list[int]],
           trees: dict[int, list[int]], in_links: list[list[tuple[int, int]]],
           out_links: list[list[tuple[int, int]]], dst: list[int]) -> list[int] | None:
    """Explicit route if given (for a camera: from its attach node), else the fewest-hop
    path of the destination's forwarding tree."""
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


def _group_path(scenario: Scenario, name: str) -> str:
    for i, c in enumerate(scenario.cameras):
        if c.name == name:
            return f'cameras[{i}] (name="{name}")'
    for i, s in enumerate(scenario.sources):
        if s.name == name:
            return f'sources[{i}] (name="{name}")'
    return name


__all__ = ["KIND_NAMES", "NetworkPlan", "build_plan", "service_time_ps"]
