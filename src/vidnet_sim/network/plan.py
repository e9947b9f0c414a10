"""Compile a validated scenario into a :class:`NetworkPlan`: plain arrays for the engines.

Every scenario link becomes one directed link per direction; every camera gets a node of its
own and an access link to its attach node. A *flow* is one source's stream to one destination,
routed over directed links (explicit routes first, then fewest hops over links that are not
``blocked``). The exact core computes links one at a time in a topological order of the graph
"link a feeds link b", so that graph must be acyclic: a cycle is a scenario error.

:func:`build_plan` is a pipeline of steps, each a module of its own returning a frozen result:
links (:mod:`~vidnet_sim.network.links`), flows and trees (:mod:`~vidnet_sim.network.flows`),
their layouts (:mod:`~vidnet_sim.network.layouts`), failures and the reroutes they cause
(:mod:`~vidnet_sim.network.failures`, :mod:`~vidnet_sim.network.reroutes`), the link order
(:mod:`~vidnet_sim.network.order`) and QoS (:mod:`~vidnet_sim.network.qos`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from vidnet_sim.network.failures import Failures, plan_failures
from vidnet_sim.network.flows import Flows, route_flows
from vidnet_sim.network.layouts import Layouts, lay_out_trees
from vidnet_sim.network.links import DEFAULT_BUFFER_BYTES, LinkTable, build_links
from vidnet_sim.network.order import link_order
from vidnet_sim.network.qos import (
    SCHED_CODES,
    SCHED_DRR,
    SCHED_FIFO,
    SCHED_PRIORITY,
    QosPlan,
    compile_qos,
)
from vidnet_sim.network.reroutes import RerouteContext, Reroutes, RouteSwitch, reroute
from vidnet_sim.network.routing import scenario_router
from vidnet_sim.scenario.groups import GroupInfo, scenario_groups
from vidnet_sim.traffic.rows import KIND_NAMES
from vidnet_sim.traffic.sources import SourceTable, build_sources

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
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
    # trees and positions (rule 12), see network/layouts.py
    tree_source: I64
    source_tree_start: I64  # s owns trees [start[s], start[s+1])
    tree_pos0: I64  # root position of each tree's first layout
    pos_link: I64  # -1 at roots
    pos_first_child: I64
    pos_sibling: I64
    pos_deliver: I64  # delivery flow at the link's far end, or -1
    pos_end: I64  # positions p .. pos_end[p]-1: p's subtree
    # classes and queues (rule 11), see network/qos.py
    class_names: list[str]
    group_class: I64  # index into class_names
    queue_names: list[str]
    class_queue: I64  # class -> queue (0 = first served)
    queue_quantum: I64  # DRR quantum in bytes
    link_sched: I64  # SCHED_FIFO / _PRIORITY / _DRR
    link_queue_buffer_bytes: I64  # (L, Q); -1: in packets
    link_queue_buffer_packets: I64  # (L, Q); -1: in bytes
    # failures (rule 13), see network/failures.py and network/reroutes.py
    fail_start: I64  # l's intervals: [start[l], start[l+1])
    fail_down: I64
    fail_up: I64
    route_switches: list[RouteSwitch] = field(default_factory=list)
    failure_events: list[tuple[int, int, str]] = field(default_factory=list)  # (down, up, label)
    warnings: list[str] = field(default_factory=list)

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


def build_plan(scenario: Scenario, base_dir: Path | None = None) -> NetworkPlan:
    """Compile ``scenario`` (already validated by the loader) into a :class:`NetworkPlan`.

    Raises :class:`ScenarioError` for what only the compiled network reveals: a destination
    that cannot be reached, a cyclic link-dependency graph, or (when asked) traffic a failure
    leaves without a path.
    """
    groups = scenario_groups(scenario)
    sources = build_sources(scenario, groups.names, base_dir)
    links = build_links(scenario)
    router = scenario_router(scenario, links)
    normal = router.routes()
    flows = route_flows(sources, groups, links, normal)
    failures = plan_failures(scenario, links)
    context = RerouteContext(scenario, groups, sources, links.node_names, flows, router, normal)
    rerouted = reroute(context, lay_out_trees(flows), failures)
    order = link_order(links.names, rerouted.layouts, "routes" if scenario.routes else "links")
    qos = compile_qos(
        scenario, groups.classes, links.scheduler, links.buffer_bytes, links.buffer_packets
    )
    return _assemble(
        links, order, scenario.conventions.count_in_service, groups, sources, flows, rerouted,
        failures, qos,
    )  # fmt: skip


def _assemble(
    links: LinkTable,
    order: I64,
    count_in_service: bool,
    groups: GroupInfo,
    sources: SourceTable,
    flows: Flows,
    rerouted: Reroutes,
    failures: Failures,
    qos: QosPlan,
) -> NetworkPlan:
    """The plan made of the steps' results."""

    def arr(values: tuple[int, ...]) -> I64:
        return np.array(values, np.int64)

    return NetworkPlan(
        node_names=list(links.node_names),
        link_names=list(links.names),
        link_src=arr(links.src),
        link_dst=arr(links.dst),
        link_rate_bps=arr(links.rate_bps),
        link_prop_ps=arr(links.prop_ps),
        link_buffer_bytes=arr(links.buffer_bytes),
        link_buffer_packets=arr(links.buffer_packets),
        link_order=order,
        count_in_service=count_in_service,
        flow_source=arr(flows.flow_source),
        flow_dest=arr(flows.flow_dest),
        flow_route_start=arr(flows.flow_route_start),
        route_links=arr(flows.route_links),
        group_names=groups.names,
        group_classes=groups.classes,
        group_kinds=groups.kinds,
        sources=sources,
        source_flow_start=arr(flows.source_flow_start),
        tree_source=arr(flows.tree_source),
        source_tree_start=arr(flows.source_tree_start),
        **plan_fields(rerouted.layouts, qos, failures),
        route_switches=rerouted.route_switches,
        failure_events=failures.failure_events,
        warnings=rerouted.warnings,
    )


def plan_fields(layouts: Layouts, qos: QosPlan, failures: Failures) -> dict[str, Any]:
    """The :class:`NetworkPlan` fields of the layouts, QoS and failure steps' results, as
    keyword arguments (the plan holds them under the same names)."""
    out = {f.name: getattr(part, f.name) for part in (layouts, qos) for f in fields(part)}
    fail = {"fail_start": failures.fail_start, "fail_down": failures.fail_down}
    return {**out, **fail, "fail_up": failures.fail_up}


__all__ = [
    "DEFAULT_BUFFER_BYTES",
    "KIND_NAMES",
    "SCHED_CODES",
    "SCHED_DRR",
    "SCHED_FIFO",
    "SCHED_PRIORITY",
    "NetworkPlan",
    "RouteSwitch",
    "build_plan",
    "plan_fields",
    "service_time_ps",
]
