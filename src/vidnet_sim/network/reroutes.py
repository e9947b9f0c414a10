"""Reroutes (rule 13): the layouts trees switch to while failures are on, and back.

At each route change of :class:`~vidnet_sim.network.failures.Failures`, every tree is routed
again over the links that work (blocked protection links become usable while any link has
failed); a tree whose routes differ gets a new layout (or one laid out before for the same
failed links), and a :class:`RouteSwitch` moves it there. Traffic a failure leaves without a
path keeps its old route (and is lost at the failed link); the scenario's ``on_unreachable``
says whether that is an error or a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.failures import Failures, RouteChange
from vidnet_sim.network.flows import Flows
from vidnet_sim.network.layouts import Layouts, Positions
from vidnet_sim.network.routing import RouteFn, Router
from vidnet_sim.scenario.groups import GroupInfo
from vidnet_sim.traffic.sources import SourceTable

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RouteSwitch:
    """At ``t_ps``, trees ``trees`` take the layouts starting at positions ``pos0``."""

    t_ps: int
    trees: I64
    pos0: I64
    label: str


@dataclass(frozen=True)
class Reroutes:
    """Every layout (the first ones, then the reroutes'), the switches between them, and the
    warnings about traffic left without a path."""

    layouts: Layouts
    route_switches: list[RouteSwitch]
    warnings: list[str]


@dataclass(frozen=True)
class RerouteContext:
    """What rerouting reads: the scenario's events and names, its flows and routing."""

    scenario: Scenario
    groups: GroupInfo
    sources: SourceTable
    node_names: tuple[str, ...]
    flows: Flows
    router: Router
    normal: RouteFn  # routing without failure (its forwarding trees already computed)


def reroute(ctx: RerouteContext, layouts: Layouts, failures: Failures) -> Reroutes:
    """The layouts and switches of every route change of ``failures``, after ``layouts``.

    Raises :class:`ScenarioError` when a failure whose ``on_unreachable`` is ``"error"``
    leaves traffic without a path.
    """
    if not failures.changes:
        return Reroutes(layouts, [], [])
    state = _State(ctx, failures, Positions(layouts), list(layouts.tree_pos0.tolist()))
    switches = [sw for ch in failures.changes if (sw := state.apply(ch)) is not None]
    if state.problems:
        raise ScenarioError(state.problems)
    return Reroutes(state.positions.freeze(layouts.tree_pos0.tolist()), switches, state.warnings)


class _State:
    """The rerouting in progress: failures on, each tree's current layout, layouts made."""

    def __init__(
        self, ctx: RerouteContext, failures: Failures, positions: Positions, current: list[int]
    ) -> None:
        self.ctx = ctx
        self.failures = failures
        self.positions = positions
        self.current = current
        self.layouts: dict[tuple[int, frozenset[int]], int] = {
            (t, frozenset()): p for t, p in enumerate(current)
        }
        self.node_index = {n: i for i, n in enumerate(ctx.node_names)}
        self.failed_now: set[int] = set()
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def apply(self, change: RouteChange) -> RouteSwitch | None:
        """Take ``change`` into account; the switch of the trees it moves, if any."""
        if change.down:
            self.failed_now.add(change.failure)
        else:
            self.failed_now.discard(change.failure)
        failed = frozenset(li for k in self.failed_now for li in self.failures.links[k])
        route = self.ctx.router.routes(failed) if failed else self.ctx.normal
        moved_trees: list[int] = []
        moved_pos: list[int] = []
        for t in range(len(self.ctx.flows.tree_flows)):
            key = (t, failed)
            if key not in self.layouts:
                self.layouts[key] = self._layout(t, route, change)
            if self.layouts[key] != self.current[t]:
                self.current[t] = self.layouts[key]
                moved_trees.append(t)
                moved_pos.append(self.layouts[key])
        if not moved_trees:
            return None
        trees, pos0 = np.array(moved_trees, np.int64), np.array(moved_pos, np.int64)
        return RouteSwitch(change.t_ps, trees, pos0, change.label)

    def _layout(self, t: int, route: RouteFn, change: RouteChange) -> int:
        """Tree ``t``'s layout under ``route``: its current one if the paths are the same."""
        flows, sources = self.ctx.flows, self.ctx.sources
        paths: list[tuple[int, list[int]]] = []
        for f in flows.tree_flows[t]:
            s = flows.flow_source[f]
            origin = self.node_index[sources.origin_nodes[s]]
            path = route(origin, flows.flow_dest[f])
            if path is None:
                self._unreachable(f, change)
                path = flows.route(f)  # keeps the old path: lost at the failed link
            paths.append((f, path))
        if self.positions.paths(self.current[t]) == dict(paths):
            return self.current[t]
        return self.positions.add_tree(paths)

    def _unreachable(self, flow: int, change: RouteChange) -> None:
        """Report ``flow`` left without a path by the failures on at ``change``."""
        i = self.failures.event_index[change.failure]
        ev = self.ctx.scenario.events[i]
        s = self.ctx.flows.flow_source[flow]
        group = self.ctx.groups.names[int(self.ctx.sources.group[s])]
        dest = self.ctx.node_names[self.ctx.flows.flow_dest[flow]]
        msg = (
            f"during the failure of {ev.link!r}, traffic of {group!r} to {dest!r} has no path "
            "(no protection link); it is counted lost until the repair"
        )
        if ev.on_unreachable == "error":
            self.problems.append(Problem(f"events[{i}]", msg))
        elif msg not in self.warnings:
            self.warnings.append(msg)


__all__ = ["RerouteContext", "Reroutes", "RouteSwitch", "reroute"]
