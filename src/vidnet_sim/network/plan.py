"""Compile a validated scenario into a :class:`NetworkPlan`: plain arrays for the engines.

Every scenario link becomes one directed link per direction; every camera gets a node of its
own and an access link to its attach node. A *flow* is one source's stream to one destination,
routed over directed links (explicit routes first, then fewest hops over links that are not
``blocked``). The exact core computes links one at a time in a topological order of the graph
"link a feeds link b", so that graph must be acyclic: a cycle is a scenario error.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.routing import CycleError, next_hops_to, topological_order
from vidnet_sim.traffic.sources import (
    KIND_NAMES,
    SourceTable,
    build_sources,
    camera_name,
    scenario_groups,
)

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

I64 = npt.NDArray[np.int64]
DEFAULT_BUFFER_BYTES = 1 << 20


SCHED_FIFO, SCHED_PRIORITY, SCHED_DRR = 0, 1, 2
SCHED_CODES = {"fifo": SCHED_FIFO, "priority": SCHED_PRIORITY, "drr": SCHED_DRR}


@dataclass(frozen=True)
class RouteSwitch:
    """At ``t_ps``, trees ``trees`` take the layouts starting at positions ``pos0``."""

    t_ps: int
    trees: I64
    pos0: I64
    label: str


@dataclass
class NetworkPlan:
    """The compiled network: nodes, directed links, flows, their trees of positions, groups,
    classes and queues, failures (see ``docs/model.md``, rules 11-13).

    A *flow* is a delivery flow (one source to one destination); a *tree* is what a packet
    follows from its source (one per destination for unicast, one per source for multicast).
    """

    node_names: list[str]
    link_names: list[str]
    link_src: I64  # node index
    link_dst: I64
    link_rate_bps: I64
    link_prop_ps: I64
    link_buffer_bytes: I64  # -1 when the buffer counts packets
    link_buffer_packets: I64  # -1 when the buffer counts bytes
    link_order: I64  # topological order of the link-dependency graph (all layouts)
    count_in_service: bool
    flow_source: I64  # source index of each flow
    flow_dest: I64  # destination node
    flow_route_start: I64  # flow f's initial route: route_links[start[f]:start[f+1]]
    route_links: I64
    group_names: list[str]
    group_classes: list[str]
    group_kinds: list[str]
    sources: SourceTable
    source_flow_start: I64  # source s owns flows source_flow_start[s]:source_flow_start[s+1]
    # trees and positions (rule 12); None: one chain per flow (unicast), see __post_init__
    tree_source: I64 = None  # type: ignore[assignment]
    source_tree_start: I64 = None  # type: ignore[assignment]  # s owns trees [start[s], start[s+1])
    tree_pos0: I64 = None  # type: ignore[assignment]  # root position of each tree's first layout
    pos_link: I64 = None  # type: ignore[assignment]  # -1 at roots
    pos_first_child: I64 = None  # type: ignore[assignment]
    pos_sibling: I64 = None  # type: ignore[assignment]
    pos_deliver: I64 = None  # type: ignore[assignment]  # delivery flow at the link's far end, or -1
    pos_end: I64 = None  # type: ignore[assignment]  # positions p .. pos_end[p]-1: p's subtree
    # classes and queues (rule 11); None: one FIFO queue per link
    class_names: list[str] = None  # type: ignore[assignment]
    group_class: I64 = None  # type: ignore[assignment]  # index into class_names
    queue_names: list[str] = None  # type: ignore[assignment]
    class_queue: I64 = None  # type: ignore[assignment]  # class -> queue (0 = first served)
    queue_quantum: I64 = None  # type: ignore[assignment]  # DRR quantum in bytes
    link_sched: I64 = None  # type: ignore[assignment]  # SCHED_FIFO / _PRIORITY / _DRR
    link_queue_buffer_bytes: I64 = None  # type: ignore[assignment]  # (L, Q); -1: in packets
    link_queue_buffer_packets: I64 = None  # type: ignore[assignment]  # (L, Q); -1: in bytes
    # failures (rule 13); None: none
    fail_start: I64 = None  # type: ignore[assignment]  # l's intervals: [start[l], start[l+1])
    fail_down: I64 = None  # type: ignore[assignment]
    fail_up: I64 = None  # type: ignore[assignment]
    route_switches: list[RouteSwitch] = field(default_factory=list)
    failure_events: list[tuple[int, int, str]] = field(default_factory=list)  # (down, up, label)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.tree_source is None:
            pos = _Positions()
            roots = [
                pos.add_tree([(f, [int(x) for x in self.route(f)])]) for f in range(self.n_flows)
            ]
            self.tree_source = self.flow_source.copy()
            self.source_tree_start = self.source_flow_start.copy()
            self.tree_pos0 = np.array(roots, np.int64)
            for name, values in pos.arrays().items():
                setattr(self, name, values)
        if self.class_names is None:
            self.class_names = list(dict.fromkeys(self.group_classes))
            self.group_class = np.array(
                [self.class_names.index(c) for c in self.group_classes], np.int64
            )
        if self.queue_names is None:
            n = self.n_links
            self.queue_names = ["default"]
            self.class_queue = np.zeros(len(self.class_names), np.int64)
            self.queue_quantum = np.array([1538], np.int64)
            self.link_sched = np.zeros(n, np.int64)
            self.link_queue_buffer_bytes = self.link_buffer_bytes.reshape(n, 1).copy()
            self.link_queue_buffer_packets = self.link_buffer_packets.reshape(n, 1).copy()
        if self.fail_start is None:
            self.fail_start = np.zeros(self.n_links + 1, np.int64)
            self.fail_down = np.zeros(0, np.int64)
            self.fail_up = np.zeros(0, np.int64)

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return len(self.link_names)

    @property
    def n_flows(self) -> int:
        """Number of delivery flows (source x destination)."""
        return len(self.flow_source)

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self.tree_source)

    @property
    def n_queues(self) -> int:
        """Number of queues of a scheduled link."""
        return len(self.queue_names)

    def route(self, flow: int) -> I64:
        """Directed link indices of one flow's initial route."""
        return self.route_links[self.flow_route_start[flow] : self.flow_route_start[flow + 1]]

    def children(self, pos: int) -> list[int]:
        """The child positions of ``pos``, in order."""
        out = []
        c = int(self.pos_first_child[pos])
        while c >= 0:
            out.append(c)
            c = int(self.pos_sibling[c])
        return out


def service_time_ps(size_bytes: int, rate_bps: int) -> int:
    """Transmission time of ``size_bytes`` at ``rate_bps``, rounded up to a whole ps."""
    return -((-size_bytes * 8 * 10**12) // rate_bps)


class _Positions:
    """Tree layouts as they are laid out depth first (rule 12)."""

    def __init__(self) -> None:
        self.link: list[int] = []
        self.first_child: list[int] = []
        self.sibling: list[int] = []
        self.deliver: list[int] = []
        self.end: list[int] = []

    def _new(self, link: int) -> int:
        self.link.append(link)
        self.first_child.append(-1)
        self.sibling.append(-1)
        self.deliver.append(-1)
        self.end.append(-1)
        return len(self.link) - 1

    def add_tree(self, paths: list[tuple[int, list[int]]]) -> int:
        """Lay out the trie of ``(flow, links)`` paths under a virtual root; return the root."""
        trie: dict[int, Any] = {}
        for flow, links in paths:
            node = trie
            for i, link in enumerate(links):
                node = node.setdefault(link, {"__kids__": {}, "__flows__": []})
                if i == len(links) - 1:
                    node["__flows__"].append(flow)
                node = node["__kids__"]

        def lay(link: int, entry: dict[str, Any] | None) -> int:
            p = self._new(link)
            if entry is not None:
                flows = entry["__flows__"]
                if flows:
                    self.deliver[p] = flows[0]
                kids = entry["__kids__"]
            else:
                kids = trie
            prev = -1
            for child_link, child in kids.items():
                c = lay(child_link, child)
                if prev < 0:
                    self.first_child[p] = c
                else:
                    self.sibling[prev] = c
                prev = c
            self.end[p] = len(self.link)
            return p

        return lay(-1, None)

    def arrays(self) -> dict[str, I64]:
        """The layouts as the plan's ``pos_*`` arrays."""
        return {
            "pos_link": np.array(self.link, np.int64),
            "pos_first_child": np.array(self.first_child, np.int64),
            "pos_sibling": np.array(self.sibling, np.int64),
            "pos_deliver": np.array(self.deliver, np.int64),
            "pos_end": np.array(self.end, np.int64),
        }

    def edges(self) -> set[tuple[int, int]]:
        """Link-dependency edges ("a feeds b") of every layout."""
        out: set[tuple[int, int]] = set()
        for p, link in enumerate(self.link):
            if link < 0:
                continue
            c = self.first_child[p]
            while c >= 0:
                out.add((link, self.link[c]))
                c = self.sibling[c]
        return out


def build_plan(scenario: Scenario, base_dir: Path | None = None) -> NetworkPlan:
    """Compile ``scenario`` (already validated by the loader) into a :class:`NetworkPlan`.

    Raises :class:`ScenarioError` for what only the compiled network reveals: a destination
    that cannot be reached, a cyclic link-dependency graph, or (when asked) traffic a failure
    leaves without a path.
    """
    conv = scenario.conventions
    info = scenario_groups(scenario)
    groups, classes, kinds = info.names, info.classes, info.kinds
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
    blocked: list[bool] = []
    link_owner: list[str] = []  # the scenario link id (or the camera access link)
    sched_name: list[str | None] = []

    def add_link(
        name: str,
        a: int,
        b: int,
        r: int,
        p: int,
        bb: int,
        bp: int,
        ok: bool,
        owner: str,
        sched: str | None,
    ) -> None:
        names.append(name)
        src.append(a)
        dst.append(b)
        rate.append(r)
        prop.append(p)
        buf_b.append(bb)
        buf_p.append(bp)
        usable.append(ok)
        blocked.append(not ok)
        link_owner.append(owner)
        sched_name.append(sched)

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
            add_link(name, u, v, link.rate, p, bb, bp, not link.blocked, lid, link.scheduler)

    # camera nodes and their access links (upstream only: cameras only send)
    for cam in scenario.cameras:
        p = delay_of(cam.access_delay, cam.access_length)
        for i in range(cam.count):
            cname = camera_name(cam, i)
            node_index[cname] = len(nodes)
            nodes.append(cname)
            add_link(
                f"{cname}->{cam.attach}",
                node_index[cname],
                node_index[cam.attach],
                cam.access_rate,
                p,
                cam.access_buffer,
                -1,
                True,
                f"{cname}->{cam.attach}",
                None,
            )

    link_by_pair: dict[tuple[int, int], int] = {}
    for i in range(len(names)):
        link_by_pair.setdefault((src[i], dst[i]), i)
    explicit: dict[tuple[int, int], list[int]] = {}
    for r in scenario.routes:
        hops = [node_index[x] for x in r.path]
        explicit[(hops[0], hops[-1])] = [link_by_pair[(u, v)] for u, v in itertools.pairwise(hops)]

    def router(failed: frozenset[int]) -> Callable[[int, int], list[int] | None]:
        """Routing over the links that work: without ``failed`` links, and with the blocked
        (protection) links usable while any link has failed."""
        out_links: list[list[tuple[int, int]]] = [[] for _ in nodes]
        in_links: list[list[tuple[int, int]]] = [[] for _ in nodes]
        for i in range(len(names)):
            if i in failed or not (usable[i] or failed):
                continue
            out_links[src[i]].append((i, dst[i]))
            in_links[dst[i]].append((i, src[i]))
        trees: dict[int, list[int]] = {}
        ok_explicit = {k: v for k, v in explicit.items() if not failed.intersection(v)}

        def route(o: int, d: int) -> list[int] | None:
            return _route(o, d, ok_explicit, trees, in_links, out_links, dst)

        return route

    # ---- flows and trees in the normal state
    problems: list[Problem] = []
    flow_source: list[int] = []
    flow_dest: list[int] = []
    route_start = [0]
    route_links: list[int] = []
    source_flow_start = [0]
    tree_source: list[int] = []
    tree_flows: list[list[int]] = []
    source_tree_start = [0]
    reported: set[tuple[str, str]] = set()
    normal = router(frozenset())
    for s, origin in enumerate(sources.origin_nodes):
        o = node_index[origin]
        src_flows: list[int] = []
        for d_name in sources.destinations[s]:
            d = node_index[d_name]
            path = normal(o, d)
            if path is None or not path:
                g = int(sources.group[s])
                key = (groups[g], d_name)
                if key not in reported:
                    reported.add(key)
                    why = (
                        "is the node it starts from"
                        if path is not None
                        else f"cannot be reached from '{origin}' over links that are not "
                        "blocked; add a link or an explicit route"
                    )
                    problems.append(
                        Problem(f"{info.paths[g]}.destinations", f"destination '{d_name}' {why}")
                    )
                continue
            src_flows.append(len(flow_source))
            flow_source.append(s)
            flow_dest.append(d)
            route_links.extend(path)
            route_start.append(len(route_links))
        source_flow_start.append(len(flow_source))
        if bool(sources.multicast[s]) and src_flows:
            tree_source.append(s)
            tree_flows.append(src_flows)
        else:
            for f in src_flows:
                tree_source.append(s)
                tree_flows.append([f])
        source_tree_start.append(len(tree_source))
    if problems:
        raise ScenarioError(problems)

    positions = _Positions()

    def flow_path(f: int) -> list[int]:
        return [int(x) for x in route_links[route_start[f] : route_start[f + 1]]]

    tree_pos0 = [positions.add_tree([(f, flow_path(f)) for f in fl]) for fl in tree_flows]

    # ---- failures: down intervals per link, and the reroutes they cause
    links_of: dict[str, list[int]] = {}
    for i, owner in enumerate(link_owner):
        links_of.setdefault(owner, []).append(i)
    intervals: list[list[tuple[int, int]]] = [[] for _ in names]
    failure_events: list[tuple[int, int, str]] = []
    changes: list[tuple[int, int, int, bool, str]] = []  # (time, order, event, down?, label)
    fail_links: list[list[int]] = []
    failure_problems: list[Problem] = []
    failure_index: list[int] = []
    for i, ev in enumerate(scenario.events):
        if ev.kind != "failure":
            continue
        assert ev.link is not None and ev.end is not None
        ls = links_of[ev.link]
        for li in ls:
            intervals[li].append((ev.at, ev.end))
        k = len(fail_links)
        fail_links.append(ls)
        failure_index.append(i)
        label = f"failure of {ev.link}"
        failure_events.append((ev.at, ev.end, label))
        changes.append((ev.at + ev.convergence, len(changes), k, True, f"reroute around {ev.link}"))
        if ev.revert:
            changes.append(
                (
                    ev.end + ev.convergence,
                    len(changes),
                    k,
                    False,
                    f"{ev.link} restored: routes revert",
                )
            )
    changes.sort()
    failed_now: set[int] = set()
    current = list(tree_pos0)
    layouts: dict[tuple[int, frozenset[int]], int] = {
        (t, frozenset()): p for t, p in enumerate(tree_pos0)
    }
    switches: list[RouteSwitch] = []
    warnings: list[str] = []
    for t_switch, _, k, down, label in changes:
        if down:
            failed_now.add(k)
        else:
            failed_now.discard(k)
        failed = frozenset(li for kk in failed_now for li in fail_links[kk])
        route = router(failed) if failed else normal
        moved_trees: list[int] = []
        moved_pos: list[int] = []
        for t, fl in enumerate(tree_flows):
            lkey = (t, failed)
            if lkey not in layouts:
                paths: list[tuple[int, list[int]]] = []
                for f in fl:
                    s = int(flow_source[f])
                    path = route(node_index[sources.origin_nodes[s]], int(flow_dest[f]))
                    if path is None:
                        ev = scenario.events[failure_index[k]]
                        where = f"events[{failure_index[k]}]"
                        msg = (
                            f"during the failure of {ev.link!r}, traffic of "
                            f"{groups[int(sources.group[s])]!r} to "
                            f"{nodes[int(flow_dest[f])]!r} has no path (no protection "
                            "link); it is counted lost until the repair"
                        )
                        if ev.on_unreachable == "error":
                            failure_problems.append(Problem(where, msg))
                        elif msg not in warnings:
                            warnings.append(msg)
                        path = flow_path(f)  # keeps the old path: lost at the failed link
                    paths.append((f, path))
                old = _tree_paths(positions, current[t])
                new_paths = {f: p for f, p in paths}
                layouts[lkey] = current[t] if old == new_paths else positions.add_tree(paths)
            if layouts[lkey] != current[t]:
                current[t] = layouts[lkey]
                moved_trees.append(t)
                moved_pos.append(layouts[lkey])
        if moved_trees:
            switches.append(
                RouteSwitch(
                    t_switch, np.array(moved_trees, np.int64), np.array(moved_pos, np.int64), label
                )
            )
    if failure_problems:
        raise ScenarioError(failure_problems)

    edges = positions.edges()
    try:
        order = topological_order(len(names), edges)
    except CycleError as exc:
        cyc = " -> ".join(names[i] for i in exc.cycle + exc.cycle[:1])
        raise ScenarioError(
            Problem(
                "routes" if scenario.routes else "links",
                f"the routes make the link-dependency graph cyclic ({cyc}); the exact engine "
                "needs loop-free forwarding (a tree, a ring with one blocked link, "
                "hub-and-spoke): mark a "
                "ring link `blocked = true` or give explicit routes that do not close a loop",
            )
        ) from None

    fail_start = [0]
    fail_down: list[int] = []
    fail_up: list[int] = []
    for iv in intervals:
        for a, b in sorted(iv):
            fail_down.append(a)
            fail_up.append(b)
        fail_start.append(len(fail_down))

    qos = _compile_qos(scenario, groups, classes, sched_name, buf_b, buf_p)
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
        tree_source=np.array(tree_source, np.int64),
        source_tree_start=np.array(source_tree_start, np.int64),
        tree_pos0=np.array(tree_pos0, np.int64),
        **cast("dict[str, Any]", positions.arrays()),
        fail_start=np.array(fail_start, np.int64),
        fail_down=np.array(fail_down, np.int64),
        fail_up=np.array(fail_up, np.int64),
        route_switches=switches,
        failure_events=failure_events,
        warnings=warnings,
        **qos,
    )


def _tree_paths(positions: _Positions, root: int) -> dict[int, list[int]]:
    """``{flow: links}`` of the layout at ``root``."""
    out: dict[int, list[int]] = {}

    def walk(p: int, path: list[int]) -> None:
        here = [*path, positions.link[p]] if positions.link[p] >= 0 else path
        if positions.deliver[p] >= 0:
            out[positions.deliver[p]] = here
        c = positions.first_child[p]
        while c >= 0:
            walk(c, here)
            c = positions.sibling[c]

    walk(root, [])
    return out


def _compile_qos(
    scenario: Scenario,
    groups: list[str],
    classes: list[str],
    sched_name: list[str | None],
    buf_b: list[int],
    buf_p: list[int],
) -> dict[str, Any]:
    """Classes, queues, per-link schedulers and per-queue buffers (rule 11)."""
    class_names = list(dict.fromkeys(classes))
    group_class = np.array([class_names.index(c) for c in classes], np.int64)
    n_links = len(buf_b)
    qos = scenario.qos
    if qos is None:
        return dict(
            class_names=class_names,
            group_class=group_class,
            queue_names=["default"],
            class_queue=np.zeros(len(class_names), np.int64),
            queue_quantum=np.array([1538], np.int64),
            link_sched=np.zeros(n_links, np.int64),
            link_queue_buffer_bytes=np.array(buf_b, np.int64).reshape(n_links, 1),
            link_queue_buffer_packets=np.array(buf_p, np.int64).reshape(n_links, 1),
        )
    order = qos.queue_order()
    queues = [qos.queues[i] for i in order]
    marks = qos.class_dscp()
    class_queue = np.array(
        [next(k for k, q in enumerate(queues) if marks[c] in q.dscp) for c in class_names], np.int64
    )
    qb = np.zeros((n_links, len(queues)), np.int64)
    qp = np.zeros((n_links, len(queues)), np.int64)
    for k, q in enumerate(queues):
        if q.buffer is not None:
            qb[:, k], qp[:, k] = q.buffer, -1
        elif q.buffer_packets is not None:
            qb[:, k], qp[:, k] = -1, q.buffer_packets
        else:
            qb[:, k], qp[:, k] = buf_b, buf_p
    sched = np.array(
        [SCHED_CODES[s if s is not None else qos.scheduler] for s in sched_name], np.int64
    )
    return dict(
        class_names=class_names,
        group_class=group_class,
        queue_names=[q.name for q in queues],
        class_queue=class_queue,
        queue_quantum=np.array([max(1, round(q.weight * qos.quantum)) for q in queues], np.int64),
        link_sched=sched,
        link_queue_buffer_bytes=qb,
        link_queue_buffer_packets=qp,
    )


def _route(
    o: int,
    d: int,
    explicit: dict[tuple[int, int], list[int]],
    trees: dict[int, list[int]],
    in_links: list[list[tuple[int, int]]],
    out_links: list[list[tuple[int, int]]],
    dst: list[int],
) -> list[int] | None:
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


__all__ = [
    "KIND_NAMES",
    "SCHED_DRR",
    "SCHED_FIFO",
    "SCHED_PRIORITY",
    "NetworkPlan",
    "RouteSwitch",
    "build_plan",
    "service_time_ps",
]
