"""Link failures (rule 13): when each directed link is down, and when routes change.

A scenario failure event takes every directed link of its scenario link down over
``[at, end)``. Routes move around it ``convergence`` after it starts and, with ``revert``,
move back ``convergence`` after the repair; :mod:`vidnet_sim.network.reroutes` computes the
layouts those route changes lead to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from vidnet_sim.network.links import LinkTable

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RouteChange:
    """At ``t_ps``, failure ``failure`` starts (``down``) or ends its effect on the routes."""

    t_ps: int
    failure: int  # index into :attr:`Failures.event_index` / :attr:`Failures.links`
    down: bool
    label: str


@dataclass(frozen=True)
class Failures:
    """The down intervals of every directed link, and the route changes failures cause."""

    fail_start: I64  # link l's intervals: [start[l], start[l+1])
    fail_down: I64
    fail_up: I64
    failure_events: list[tuple[int, int, str]]  # (down, up, label), one per failure
    event_index: tuple[int, ...]  # each failure's index in the scenario's events
    links: tuple[tuple[int, ...], ...]  # each failure's directed links
    changes: tuple[RouteChange, ...]  # in time order (ties: in the order of the events)

    @staticmethod
    def none(n_links: int) -> Failures:
        """No failure on any of ``n_links`` links."""
        empty = np.zeros(0, np.int64)
        return Failures(np.zeros(n_links + 1, np.int64), empty, empty.copy(), [], (), (), ())


def plan_failures(scenario: Scenario, links: LinkTable) -> Failures:
    """The failures of ``scenario``'s events over ``links``."""
    failing = any(ev.kind == "failure" for ev in scenario.events)
    links_of = links.by_owner() if failing else {}
    intervals: dict[int, list[tuple[int, int]]] = {}  # the down intervals of failing links
    events: list[tuple[int, int, str]] = []
    event_index: list[int] = []
    failed_links: list[tuple[int, ...]] = []
    changes: list[tuple[int, int, RouteChange]] = []  # (time, order, change)
    for i, ev in enumerate(scenario.events):
        if ev.kind != "failure":
            continue
        assert ev.link is not None and ev.end is not None
        k = len(failed_links)
        failed_links.append(tuple(links_of[ev.link]))
        for li in links_of[ev.link]:
            intervals.setdefault(li, []).append((ev.at, ev.end))
        event_index.append(i)
        events.append((ev.at, ev.end, f"failure of {ev.link}"))
        t = ev.at + ev.convergence
        changes.append((t, len(changes), RouteChange(t, k, True, f"reroute around {ev.link}")))
        if ev.revert:
            t = ev.end + ev.convergence
            label = f"{ev.link} restored: routes revert"
            changes.append((t, len(changes), RouteChange(t, k, False, label)))
    changes.sort(key=lambda c: (c[0], c[1]))
    count = np.zeros(links.n_links + 1, np.int64)  # count[l + 1]: intervals of link l
    fail_down: list[int] = []
    fail_up: list[int] = []
    for li in sorted(intervals):
        for a, b in sorted(intervals[li]):
            fail_down.append(a)
            fail_up.append(b)
        count[li + 1] = len(intervals[li])
    return Failures(
        fail_start=np.cumsum(count),
        fail_down=np.array(fail_down, np.int64),
        fail_up=np.array(fail_up, np.int64),
        failure_events=events,
        event_index=tuple(event_index),
        links=tuple(failed_links),
        changes=tuple(c for _, _, c in changes),
    )


__all__ = ["Failures", "RouteChange", "plan_failures"]
