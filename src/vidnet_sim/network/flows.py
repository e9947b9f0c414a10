"""Delivery flows and the trees they form, in the normal state (no failure).

A *flow* is one source's stream to one destination, routed over directed links; a *tree* is
what a packet follows from its source: one per flow for a unicast source, one per source
holding all its flows for a multicast source (``docs/model.md`` rule 12).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.links import LinkTable
from vidnet_sim.network.routing import RouteFn
from vidnet_sim.scenario.bounds import MAX_ROUTE_HOPS
from vidnet_sim.scenario.groups import GroupInfo
from vidnet_sim.traffic.sources import SourceTable


@dataclass(frozen=True)
class Flows:
    """Flows with their initial routes, and the trees they are grouped into."""

    flow_source: tuple[int, ...]  # source index of each flow
    flow_dest: tuple[int, ...]  # destination node
    flow_route_start: tuple[int, ...]  # flow f's route: route_links[start[f]:start[f+1]]
    route_links: tuple[int, ...]
    source_flow_start: tuple[int, ...]  # source s owns flows [start[s], start[s+1])
    tree_source: tuple[int, ...]
    source_tree_start: tuple[int, ...]  # source s owns trees [start[s], start[s+1])
    tree_flows: tuple[tuple[int, ...], ...]  # the flows each tree delivers

    @property
    def n_flows(self) -> int:
        """Number of delivery flows."""
        return len(self.flow_source)

    def route(self, flow: int) -> list[int]:
        """Directed link indices of ``flow``'s initial route."""
        return list(self.route_links[self.flow_route_start[flow] : self.flow_route_start[flow + 1]])


def route_flows(sources: SourceTable, groups: GroupInfo, links: LinkTable, route: RouteFn) -> Flows:
    """Route every source to each of its destinations with ``route`` (the normal state).

    Raises :class:`ScenarioError` naming each group's destination that cannot be reached (or
    that is the node the group starts from), once per group and destination.
    """
    node_index = links.node_index()
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    flow_source: list[int] = []
    flow_dest: list[int] = []
    route_start = [0]
    route_links: list[int] = []
    source_flow_start = [0]
    tree_source: list[int] = []
    tree_flows: list[tuple[int, ...]] = []
    source_tree_start = [0]
    multicast = sources.multicast.tolist()
    for s, (origin, dests) in enumerate(
        zip(sources.origin_nodes, sources.destinations, strict=True)
    ):
        o = node_index[origin]
        first = len(flow_source)
        for d_name in dests:
            d = node_index[d_name]
            path = route(o, d)
            if not path:
                g = int(sources.group[s])
                if (groups.names[g], d_name) not in reported:
                    reported.add((groups.names[g], d_name))
                    problems.append(_unreachable(groups.paths[g], origin, d_name, path))
                continue
            flow_source.append(s)
            flow_dest.append(d)
            route_links += path
            route_start.append(len(route_links))
        if len(route_links) > MAX_ROUTE_HOPS:
            raise ScenarioError([_too_many_hops(groups.paths[int(sources.group[s])])])
        end = len(flow_source)
        source_flow_start.append(end)
        if multicast[s] and end > first:  # one tree of all the source's flows
            tree_source.append(s)
            tree_flows.append(tuple(range(first, end)))
        else:  # a tree per flow
            tree_source += [s] * (end - first)
            tree_flows += [(f,) for f in range(first, end)]
        source_tree_start.append(len(tree_source))
    if problems:
        raise ScenarioError(problems)
    return Flows(
        flow_source=tuple(flow_source),
        flow_dest=tuple(flow_dest),
        flow_route_start=tuple(route_start),
        route_links=tuple(route_links),
        source_flow_start=tuple(source_flow_start),
        tree_source=tuple(tree_source),
        source_tree_start=tuple(source_tree_start),
        tree_flows=tuple(tree_flows),
    )


def _unreachable(group_path: str, origin: str, dest: str, path: list[int] | None) -> Problem:
    """The problem of a destination a group cannot send to (``path``: None or empty)."""
    why = (
        "is the node it starts from"
        if path is not None
        else f"cannot be reached from '{origin}' over links that are not "
        "blocked; add a link or an explicit route"
    )
    return Problem(f"{group_path}.destinations", f"destination '{dest}' {why}")


def _too_many_hops(group_path: str) -> Problem:
    """The problem of routes too long together to hold (found while routing ``group_path``)."""
    return Problem(
        group_path,
        f"with this group the delivery routes cross more than {MAX_ROUTE_HOPS:,} links in all; "
        "expected at most that: fewer hops between cameras and recorders (a city network "
        "crosses a handful) or fewer groups",
    )


__all__ = ["Flows", "route_flows"]
