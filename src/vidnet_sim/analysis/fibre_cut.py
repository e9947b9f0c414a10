"""Which single fibre cut would cut cameras off: the topology's single points of failure.

A structural check, no simulation: for each link, remove it (both directions) and count
the cameras left without any path to one of their destinations. It says whether the network
*can* survive every single cut (the simulator reroutes around a failed link, ``docs/model.md``),
not whether the SLA still holds on the remaining links: that needs the failure simulated.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Link, Scenario

__all__ = ["NOT_SURVIVED", "CutExposure", "fibre_cut_text", "single_cut_exposure"]


#: How :func:`fibre_cut_text` begins when a cut isolates cameras.
NOT_SURVIVED = "Single fibre cut: **not survived** — "
#: Links named beside the worst cut in :func:`fibre_cut_text` (the rest are counted).
SHOWN_CUTS = 3


@dataclass(frozen=True)
class CutExposure:
    """A link whose cut leaves ``cameras`` cameras (of ``groups``) without a path."""

    link: str
    cameras: int
    groups: tuple[str, ...]


def _reaching(radj: dict[str, set[str]], goals: frozenset[str]) -> set[str]:
    """Every node with a path to one of ``goals`` (a search back from them)."""
    seen = set(goals)
    queue = deque(goals)
    while queue:
        v = queue.popleft()
        for u in radj[v] - seen:
            seen.add(u)
            queue.append(u)
    return seen


def single_cut_exposure(scenario: Scenario) -> list[CutExposure]:
    """Every link whose cut disconnects cameras from all their destinations, the worst first
    (a directed link counts one way). A blocked link (the spare link of a protected ring)
    carries nothing until a link fails, and then may: it counts after a cut, not before."""
    links = list(scenario.links)

    def reverse(cut: Link | None) -> dict[str, set[str]]:
        radj: dict[str, set[str]] = {n.id: set() for n in scenario.nodes}
        for link in links:
            if link is not cut and (cut is not None or not link.blocked):
                radj[link.b].add(link.a)
                if link.duplex:
                    radj[link.a].add(link.b)
        return radj

    def reachers(radj: dict[str, set[str]]) -> dict[frozenset[str], set[str]]:
        goals = {frozenset(c.destinations) for c in scenario.cameras}
        return {g: _reaching(radj, g) for g in goals}

    full = reachers(reverse(None))
    connected = [c for c in scenario.cameras if c.attach in full[frozenset(c.destinations)]]
    out = []
    for cut in links:
        ok = reachers(reverse(cut))
        lost = [c for c in connected if c.attach not in ok[frozenset(c.destinations)]]
        if lost and not cut.blocked:
            out.append(
                CutExposure(str(cut.id), sum(c.count for c in lost), tuple(c.name for c in lost))
            )
    return sorted(out, key=lambda e: (-e.cameras, e.link))


def fibre_cut_text(scenario: Scenario) -> str:
    """One sentence for a council: is every single fibre cut survived (a path remains)?"""
    exposed = single_cut_exposure(scenario)
    total = sum(c.count for c in scenario.cameras)
    if not exposed:
        return (
            "Single fibre cut: every camera keeps a path to its recorder after any one link "
            "is cut (connectivity only; the load after a cut was not simulated)."
        )
    worst, others = exposed[0], exposed[1:]
    more = ""
    if others:
        shown = [f"{e.link} ({e.cameras:,})" for e in others[:SHOWN_CUTS]]
        if len(others) > SHOWN_CUTS:
            shown.append(f"{len(others) - SHOWN_CUTS} other link(s)")
        listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
        more = f"; a cut of {listed} cuts cameras off too"
    return (
        f"{NOT_SURVIVED}a cut of {worst.link} cuts off "
        f"{worst.cameras:,} of {total:,} cameras ({', '.join(worst.groups[:3])}"
        f"{'…' if len(worst.groups) > 3 else ''}){more}: no other path around "
        + ("it." if len(exposed) == 1 else "them.")
    )
