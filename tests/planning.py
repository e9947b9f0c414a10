"""Small network plans built by hand for the engines' tests (no scenario file, no loader).

Describe sources with :func:`cbr`, :func:`poisson`, :func:`trace` and :func:`camera`, then
build a plan with :func:`line_plan` (``n0 -> n1 -> ... -> nH``), :func:`tree_plan` (every node
sends to its parent) or :func:`build_plan` (any links). Each source is its own group unless
sources share a ``group`` name; a source's flows follow its ``to`` list in order (default: the
plan's sink), routed over fewest hops; a ``multicast`` source sends one copy along the tree of
its routes (``docs/model.md`` rule 12). :func:`active_state` switches every source on.
:func:`with_queues` gives a plan's links schedulers and queues (rule 11), :func:`with_failures`
failure intervals (rule 13), :func:`with_chain_layout` another layout for a unicast tree (a
reroute, applied through ``SourceState.tree_pos0``).

    plan = line_plan([10**9, 10**9], props=[1000, 0], buffers=[10_000, 3_000],
                     sources=[cbr(interval_ps=10**7, size=1000)])
    engine = ReferenceEngine(plan, active_state(plan), warmup_ps=0, end_ps=10**8, drain=True)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.network.failures import Failures
from vidnet_sim.network.layouts import Positions
from vidnet_sim.network.plan import NetworkPlan, plan_fields
from vidnet_sim.network.qos import SCHED_CODES, fifo_qos
from vidnet_sim.network.routing import shortest_path, topological_order
from vidnet_sim.runner import compile_scenario, make_engine
from vidnet_sim.scenario.model import Simulation
from vidnet_sim.timeline.driver import drive, epoch_bounds
from vidnet_sim.traffic.rng import source_key
from vidnet_sim.traffic.rows import (
    KIND_CAMERA,
    KIND_CBR,
    KIND_NAMES,
    KIND_POISSON,
    KIND_TRACE,
    SIZE_FIXED,
    SIZE_UNIFORM,
)
from vidnet_sim.traffic.sources import SourceState, SourceTable, frame_time_ps

US = 10**6  # picoseconds per microsecond
MS = 10**9
GBPS = 10**9
DEFAULT_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True)
class SourceSpec:
    """One source row of a hand-built :class:`SourceTable` (use the helpers below)."""

    kind: int
    at: str | None = None  # origin node; None: the plan's default origin
    to: tuple[str, ...] = ()  # destinations; empty: the plan's sink
    name: str | None = None  # default "<kind><index>"
    group: str | None = None  # default: the source's name (a group of its own)
    cls: str = "default"
    multicast: bool = False  # one copy along the tree of its routes (rule 12)
    header: int = 0
    anchor_ps: int = 0
    start_ps: int = 0
    stop_ps: int = -1
    seed: int = 1
    # cbr / poisson
    interval_ps: int = 0
    mean_gap_ps: float = 0.0
    size: int = 0
    size_max: int | None = None  # uniform sizes in [size, size_max]
    # trace
    times: tuple[int, ...] = ()
    sizes: tuple[int, ...] = ()
    period_ps: int = 0
    # camera
    fps_num: int = 1
    fps_den: int = 1
    gop: int = 1
    gop_offset: int = 0
    p_bytes: float = 0.0
    ip_ratio: float = 1.0
    p_sigma: float = 0.0
    i_sigma: float = 0.0
    max_payload: int = 1


def cbr(interval_ps: int, size: int, *, anchor_ps: int = 0, **kw: Any) -> SourceSpec:
    """Constant bit rate: ``size``-byte payloads at ``anchor + n * interval``."""
    return SourceSpec(KIND_CBR, interval_ps=interval_ps, size=size, anchor_ps=anchor_ps, **kw)


def poisson(mean_gap_ps: float, size: int, *, size_max: int | None = None, **kw: Any) -> SourceSpec:
    """Poisson arrivals with mean gap ``mean_gap_ps``; fixed size, or uniform up to
    ``size_max``. The draws depend on ``seed`` and ``name``."""
    return SourceSpec(KIND_POISSON, mean_gap_ps=mean_gap_ps, size=size, size_max=size_max, **kw)


def trace(
    times: Sequence[int], sizes: Sequence[int], *, period_ps: int = 0, **kw: Any
) -> SourceSpec:
    """A packet trace: payload ``sizes[i]`` at ``anchor + times[i]`` (times non-decreasing);
    ``period_ps > 0`` replays it in a loop."""
    assert len(times) == len(sizes) > 0
    return SourceSpec(KIND_TRACE, times=tuple(times), sizes=tuple(sizes), period_ps=period_ps, **kw)


def camera(
    fps_num: int,
    p_bytes: float,
    *,
    fps_den: int = 1,
    gop: int = 1,
    ip_ratio: float = 1.0,
    max_payload: int = 1400,
    **kw: Any,
) -> SourceSpec:
    """A GOP camera: frame ``k`` at ``anchor + k * fps_den / fps_num`` s, I-frames of
    ``ip_ratio * p_bytes`` when ``(k + gop_offset) % gop == 0``, P-frames of ``p_bytes``
    (exact sizes unless ``p_sigma`` / ``i_sigma`` are set), cut into ``max_payload`` packets."""
    return SourceSpec(
        KIND_CAMERA,
        fps_num=fps_num,
        fps_den=fps_den,
        p_bytes=p_bytes,
        gop=gop,
        ip_ratio=ip_ratio,
        max_payload=max_payload,
        **kw,
    )


@dataclass(frozen=True)
class LinkSpec:
    """One directed link ``src -> dst``; exactly one of the buffers applies."""

    src: str
    dst: str
    rate_bps: int
    prop_ps: int = 0
    buffer_bytes: int | None = DEFAULT_BUFFER_BYTES
    buffer_packets: int | None = None
    name: str | None = None


def source_table(specs: Sequence[SourceSpec], group_names: Sequence[str]) -> SourceTable:
    """The :class:`SourceTable` of fully specified sources (``at``, ``to``, ``name``, ``group``
    set), with ``group`` indices into ``group_names``."""
    trace_t: list[int] = []
    trace_size: list[int] = []
    starts: list[int] = []
    for s in specs:
        starts.append(len(trace_t))
        trace_t.extend(s.times)
        trace_size.extend(s.sizes)

    def col(values: Sequence[Any], dtype: type) -> npt.NDArray[Any]:
        return np.array(values, dtype=dtype)

    i64, f64 = np.int64, np.float64
    periods = [frame_time_ps(0, 1, s.fps_num, s.fps_den) for s in specs if s.kind == KIND_CAMERA]
    return SourceTable(
        names=[str(s.name) for s in specs],
        origin_nodes=[str(s.at) for s in specs],
        destinations=[list(s.to) for s in specs],
        group=col([list(group_names).index(str(s.group)) for s in specs], i64),
        kind=col([s.kind for s in specs], i64),
        key=np.array([source_key(s.seed, str(s.name)) for s in specs], dtype=np.uint64),
        header_bytes=col([s.header for s in specs], i64),
        anchor_ps=col([s.anchor_ps for s in specs], i64),
        fps_num=col([s.fps_num for s in specs], i64),
        fps_den=col([s.fps_den for s in specs], i64),
        gop=col([s.gop for s in specs], i64),
        gop_offset=col([s.gop_offset for s in specs], i64),
        p_mean_bytes=col([s.p_bytes for s in specs], f64),
        ip_ratio=col([s.ip_ratio for s in specs], f64),
        p_sigma=col([s.p_sigma for s in specs], f64),
        i_sigma=col([s.i_sigma for s in specs], f64),
        max_payload=col([s.max_payload for s in specs], i64),
        interval_ps=col([s.interval_ps for s in specs], i64),
        mean_gap_ps=col([s.mean_gap_ps for s in specs], f64),
        size_kind=col([SIZE_FIXED if s.size_max is None else SIZE_UNIFORM for s in specs], i64),
        size_a=col([s.size for s in specs], i64),
        size_b=col([0 if s.size_max is None else s.size_max for s in specs], i64),
        choice_values=np.zeros(0, np.int64),
        choice_cum=np.zeros(0, np.float64),
        trace_start=col(starts, i64),
        trace_end=col([a + len(s.times) for a, s in zip(starts, specs, strict=True)], i64),
        trace_period_ps=col([s.period_ps for s in specs], i64),
        trace_t=col(trace_t, i64),
        trace_size=col(trace_size, i64),
        start_ps=col([s.start_ps for s in specs], i64),
        stop_ps=col([s.stop_ps for s in specs], i64),
        frame_period_max_ps=max(periods, default=0),
        multicast=np.array([s.multicast for s in specs], dtype=np.bool_),
    )


def build_plan(
    nodes: Sequence[str],
    links: Sequence[LinkSpec],
    sources: Sequence[SourceSpec],
    *,
    origin: str,
    sink: str,
    count_in_service: bool = True,
    routes: Mapping[tuple[str, str], Sequence[int]] | None = None,
) -> NetworkPlan:
    """A :class:`NetworkPlan` over ``links``; sources without ``at`` / ``to`` start at
    ``origin`` / go to ``sink``. Flows are routed over fewest hops unless ``routes`` gives the
    link indices for an ``(origin, destination)`` pair."""
    node_index = {n: i for i, n in enumerate(nodes)}
    specs: list[SourceSpec] = []
    for i, s in enumerate(sources):
        name = s.name if s.name is not None else f"{KIND_NAMES[s.kind]}{i}"
        specs.append(
            replace(
                s,
                name=name,
                group=s.group if s.group is not None else name,
                at=s.at if s.at is not None else origin,
                to=s.to or (sink,),
            )
        )
    group_names: list[str] = []
    group_classes: list[str] = []
    group_kinds: list[str] = []
    for s in specs:
        if s.group not in group_names:
            group_names.append(str(s.group))
            group_classes.append(s.cls)
            group_kinds.append(KIND_NAMES[s.kind])

    out_links: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for i, ln in enumerate(links):
        out_links[node_index[ln.src]].append((i, node_index[ln.dst]))
    flow_source: list[int] = []
    flow_dest: list[int] = []
    route_start = [0]
    route_links: list[int] = []
    source_flow_start = [0]
    for si, s in enumerate(specs):
        for dest in s.to:
            key = (str(s.at), dest)
            if routes is not None and key in routes:
                path: list[int] | None = list(routes[key])
            else:
                path = shortest_path(len(nodes), out_links, node_index[str(s.at)], node_index[dest])
            if not path:
                raise ValueError(f"no route from {s.at} to {dest}")
            flow_source.append(si)
            flow_dest.append(node_index[dest])
            route_links.extend(path)
            route_start.append(len(route_links))
        source_flow_start.append(len(flow_source))
    edges: set[tuple[int, int]] = set()
    for f in range(len(flow_source)):
        r = route_links[route_start[f] : route_start[f + 1]]
        edges.update(itertools.pairwise(r))

    def arr(values: Sequence[int]) -> npt.NDArray[np.int64]:
        return np.array(values, dtype=np.int64)

    positions = Positions()  # one tree per flow, or per source for a multicast source
    tree_source: list[int] = []
    roots: list[int] = []
    for si, s in enumerate(specs):
        flows = range(source_flow_start[si], source_flow_start[si + 1])
        groups = [list(flows)] if s.multicast else [[f] for f in flows]
        for fl in groups:
            tree_source.append(si)
            roots.append(
                positions.add_tree(
                    [(f, route_links[route_start[f] : route_start[f + 1]]) for f in fl]
                )
            )
    layouts = positions.freeze(roots)
    buffer_bytes = [-1 if ln.buffer_bytes is None else ln.buffer_bytes for ln in links]
    buffer_packets = [-1 if ln.buffer_packets is None else ln.buffer_packets for ln in links]
    qos = fifo_qos(group_classes, buffer_bytes, buffer_packets)

    return NetworkPlan(
        node_names=list(nodes),
        link_names=[ln.name or f"{ln.src}->{ln.dst}" for ln in links],
        link_src=arr([node_index[ln.src] for ln in links]),
        link_dst=arr([node_index[ln.dst] for ln in links]),
        link_rate_bps=arr([ln.rate_bps for ln in links]),
        link_prop_ps=arr([ln.prop_ps for ln in links]),
        link_buffer_bytes=arr(buffer_bytes),
        link_buffer_packets=arr(buffer_packets),
        link_order=arr(topological_order(len(links), edges)),
        count_in_service=count_in_service,
        flow_source=arr(flow_source),
        flow_dest=arr(flow_dest),
        flow_route_start=arr(route_start),
        route_links=arr(route_links),
        group_names=group_names,
        group_classes=group_classes,
        group_kinds=group_kinds,
        sources=source_table(specs, group_names),
        source_flow_start=arr(source_flow_start),
        tree_source=arr(tree_source),
        source_tree_start=np.searchsorted(tree_source, range(len(specs) + 1)).astype(np.int64),
        **plan_fields(layouts, qos, Failures.none(len(links))),
    )


def with_queues(
    plan: NetworkPlan,
    scheduler: str | Sequence[str],
    *,
    class_queue: Mapping[str, int] | None = None,
    quantum: Sequence[int] | None = None,
    buffers: Sequence[int | None] | None = None,
    buffer_packets: Sequence[int | None] | None = None,
) -> NetworkPlan:
    """A copy of ``plan`` whose links have ``scheduler`` (``fifo``, ``priority`` or ``drr``;
    one for all links or one per link) and one queue per queue index of ``class_queue``
    (class name -> queue, 0 served first; default: every class in queue 0).

    ``quantum`` gives each queue's DRR quantum in bytes (default 1538). Queue ``k``'s buffer
    is ``buffers[k]`` bytes, or ``buffer_packets[k]`` packets, or (``None`` or not given) the
    link's own buffer, on every link.
    """
    cq = dict(class_queue or {})
    missing = [c for c in plan.class_names if c not in cq]
    if class_queue is not None and missing:
        raise ValueError(f"class_queue misses classes {missing}")
    n_queues = max([*cq.values(), len(quantum or ()) - 1, 0]) + 1
    n = plan.n_links
    scheds = _per_link(scheduler, n, "scheduler")
    qb = np.repeat(plan.link_buffer_bytes.reshape(n, 1), n_queues, axis=1)
    qp = np.repeat(plan.link_buffer_packets.reshape(n, 1), n_queues, axis=1)
    for k in range(n_queues):
        b = buffers[k] if buffers is not None and k < len(buffers) else None
        if b is not None:
            qb[:, k], qp[:, k] = b, -1
        p = buffer_packets[k] if buffer_packets is not None and k < len(buffer_packets) else None
        if p is not None:
            qb[:, k], qp[:, k] = -1, p
    return replace(
        plan,
        queue_names=[f"q{k}" for k in range(n_queues)],
        class_queue=np.array([cq.get(c, 0) for c in plan.class_names], np.int64),
        queue_quantum=np.array(quantum if quantum is not None else [1538] * n_queues, np.int64),
        link_sched=np.array([SCHED_CODES[x] for x in scheds], np.int64),
        link_queue_buffer_bytes=qb,
        link_queue_buffer_packets=qp,
    )


def with_failures(
    plan: NetworkPlan, failures: Mapping[int, Sequence[tuple[int, int]]]
) -> NetworkPlan:
    """A copy of ``plan`` whose link ``l`` is down over each ``[down, up)`` of
    ``failures[l]`` (the intervals sorted and disjoint); routes are unchanged."""
    start = [0]
    down: list[int] = []
    up: list[int] = []
    for link in range(plan.n_links):
        for a, b in failures.get(link, ()):
            down.append(a)
            up.append(b)
        start.append(len(down))
    return replace(
        plan,
        fail_start=np.array(start, np.int64),
        fail_down=np.array(down, np.int64),
        fail_up=np.array(up, np.int64),
    )


def with_chain_layout(
    plan: NetworkPlan, flow: int, links: Sequence[int]
) -> tuple[NetworkPlan, int]:
    """A copy of ``plan`` with one more layout: a chain over ``links`` delivering ``flow``;
    returns it and the layout's root position (to put in ``SourceState.tree_pos0``).
    ``link_order`` is recomputed over every layout."""
    r = len(plan.pos_link)
    n = len(links)
    pos_link = [-1, *links]
    first_child = [r + i + 1 for i in range(n)] + [-1]
    deliver = [-1] * n + [flow]
    new = replace(
        plan,
        pos_link=np.concatenate([plan.pos_link, np.array(pos_link, np.int64)]),
        pos_first_child=np.concatenate([plan.pos_first_child, np.array(first_child, np.int64)]),
        pos_sibling=np.concatenate([plan.pos_sibling, np.full(n + 1, -1, np.int64)]),
        pos_deliver=np.concatenate([plan.pos_deliver, np.array(deliver, np.int64)]),
        pos_end=np.concatenate([plan.pos_end, np.full(n + 1, r + n + 1, np.int64)]),
    )
    edges = {
        (int(new.pos_link[p]), int(new.pos_link[c]))
        for p in range(len(new.pos_link))
        if new.pos_link[p] >= 0
        for c in new.children(p)
    }
    order = np.array(topological_order(new.n_links, edges), np.int64)
    return replace(new, link_order=order), r


def _per_link(value: Any, n: int, what: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{what}: expected {n} values, got {len(value)}")
        return list(value)
    return [value] * n


def _buffers(buffers: Any, buffer_packets: Any, n: int) -> list[tuple[Any, Any]]:
    """Per-link (bytes, packets): ``buffer_packets`` given means packet-counted buffers."""
    if buffer_packets is not None:
        return [(None, p) for p in _per_link(buffer_packets, n, "buffer_packets")]
    b = _per_link(DEFAULT_BUFFER_BYTES if buffers is None else buffers, n, "buffers")
    return [(x, None) for x in b]


def line_plan(
    rates: Sequence[int],
    props: Sequence[int] | int = 0,
    buffers: Sequence[int] | int | None = None,
    *,
    sources: Sequence[SourceSpec],
    buffer_packets: Sequence[int] | int | None = None,
    count_in_service: bool = True,
) -> NetworkPlan:
    """A line ``n0 -> n1 -> ... -> nH`` with link ``i`` from ``n{i}`` to ``n{i+1}``.

    ``props``, ``buffers`` (bytes) and ``buffer_packets`` are one value per link or one for
    all; ``buffer_packets`` makes every buffer packet-counted. Sources default to ``n0 -> nH``.
    """
    n = len(rates)
    nodes = [f"n{i}" for i in range(n + 1)]
    prop = _per_link(props, n, "props")
    buf = _buffers(buffers, buffer_packets, n)
    links = [
        LinkSpec(nodes[i], nodes[i + 1], int(rates[i]), int(prop[i]), buf[i][0], buf[i][1])
        for i in range(n)
    ]
    return build_plan(
        nodes, links, sources, origin=nodes[0], sink=nodes[-1], count_in_service=count_in_service
    )


def tree_plan(
    parents: Mapping[str, str],
    rates: Mapping[str, int] | int,
    props: Mapping[str, int] | int = 0,
    buffers: Mapping[str, int] | int | None = None,
    *,
    sources: Sequence[SourceSpec],
    buffer_packets: Mapping[str, int] | int | None = None,
    count_in_service: bool = True,
) -> NetworkPlan:
    """A tree whose every node ``c`` in ``parents`` has one uplink ``c -> parents[c]``
    (links in the order of ``parents``; nodes in order of first mention).

    Link parameters are one value for all uplinks or a mapping from the child node; a child
    missing from a mapping gets the default (no delay; a byte buffer of
    ``DEFAULT_BUFFER_BYTES`` unless ``buffer_packets`` names it). Sources default to the
    first child and to the root (the one node without a parent).
    """
    nodes: list[str] = []
    for c, p in parents.items():
        for x in (c, p):
            if x not in nodes:
                nodes.append(x)
    roots = [x for x in nodes if x not in parents]
    if len(roots) != 1:
        raise ValueError(f"a tree needs exactly one root, got {roots}")

    def pick(value: Any, child: str, default: Any = None) -> Any:
        if isinstance(value, Mapping):
            return value.get(child, default)
        return default if value is None else value

    links = []
    for c, p in parents.items():
        bp = pick(buffer_packets, c)
        bb = None if bp is not None else pick(buffers, c, DEFAULT_BUFFER_BYTES)
        links.append(LinkSpec(c, p, int(pick(rates, c)), int(pick(props, c, 0)), bb, bp))
    return build_plan(
        nodes,
        links,
        sources,
        origin=next(iter(parents)),
        sink=roots[0],
        count_in_service=count_in_service,
    )


def random_tree_plan(seed: int, *, multicast: bool = False) -> NetworkPlan:
    """A two-level tree overloaded at one trunk, with every kind of source (a VBR camera at
    10 000 fps with two destinations, a looping trace with two), byte and packet buffers,
    zero and non-zero delays; ``seed`` draws the loads, delays, buffers and
    ``count_in_service``. Seeds 1-3 drop packets and lose frames within 2 ms. With
    ``multicast`` the camera and the trace send one copy along their trees (rule 12)."""
    rng = np.random.default_rng(seed)
    parents = {"a": "m1", "b": "m1", "c": "m2", "m1": "r", "m2": "r"}
    rates = {"a": GBPS, "b": GBPS, "c": GBPS, "m1": GBPS // 2, "m2": GBPS}
    props = {k: int(rng.integers(0, 3)) * 1000 for k in parents}
    sources = [
        poisson(float(rng.integers(5, 15)) * US, 200, size_max=1400, at="a", seed=seed),
        poisson(float(rng.integers(5, 15)) * US, 1000, at="b", seed=seed),
        cbr(
            int(rng.integers(3, 9)) * US,
            int(rng.integers(200, 1400)),
            at="c",
            anchor_ps=int(rng.integers(0, 5)) * US,
        ),
        camera(
            10_000,
            float(rng.integers(2000, 6000)),
            gop=5,
            ip_ratio=3.0,
            max_payload=1200,
            p_sigma=0.3,
            i_sigma=0.2,
            at="b",
            to=("m1", "r"),
            header=40,
            seed=seed,
            multicast=multicast,
        ),
        trace(
            [0, 0, 3 * US, 7 * US],
            [1400, 1400, 64, 900],
            period_ps=10 * US,
            at="c",
            to=("m2", "r"),
            multicast=multicast,
        ),
    ]
    return tree_plan(
        parents,
        rates,
        props,
        {"m1": int(rng.integers(3, 12)) * 1000, "a": 4000},
        sources=sources,
        buffer_packets={"m2": int(rng.integers(2, 6))},
        count_in_service=bool(rng.integers(0, 2)),
    )


def active_state(plan: NetworkPlan) -> SourceState:
    """The initial generator state with every source switched on."""
    state = SourceState.initial(plan.sources)
    state.active[:] = True
    return state


__all__ = [
    "GBPS",
    "KIND_CAMERA",
    "KIND_CBR",
    "KIND_POISSON",
    "KIND_TRACE",
    "MS",
    "US",
    "LinkSpec",
    "SourceSpec",
    "active_state",
    "build_plan",
    "camera",
    "cbr",
    "line_plan",
    "poisson",
    "random_tree_plan",
    "source_table",
    "trace",
    "tree_plan",
    "with_chain_layout",
    "with_failures",
    "with_queues",
]


def whole_log(path: str | Path) -> tuple[NetworkPlan, npt.NDArray[np.int64], Simulation, Any]:
    """A scenario file's plan, whole packet log (in one piece, by the driver and engine
    ``run`` uses), simulation settings and scenario."""
    compiled = compile_scenario(path)
    sc, plan = compiled.scenario, compiled.plan
    sim = sc.simulation
    starts, _ = epoch_bounds(compiled.actions, sim.duration, sim.report_interval)
    engine = make_engine(plan, sc, log=True, epochs=starts)
    drive(engine, compiled.actions, sim.duration, tick_ps=max(1, sim.duration // 100))
    assert isinstance(engine, CoreEngine) and engine.packet_log is not None
    return plan, engine.packet_log, sim, sc
