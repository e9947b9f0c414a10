"""Node coordinates: where nodes are, and the straight-line distance between two of them.

A scenario's nodes may carry ``x``/``y`` (metres from an origin) or ``lat``/``lon`` (degrees),
one system for the whole scenario (checked by the loader). Used to draw the network and to
give a link that states neither ``length`` nor ``delay`` its fibre length for costing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Node, Scenario

__all__ = ["EARTH_RADIUS_M", "coordinate_system", "distance_m", "node_points"]

#: Mean Earth radius (m) for great-circle distances between lat/lon points.
EARTH_RADIUS_M = 6_371_008.8


def coordinate_system(scenario: Scenario) -> str:
    """``"xy"``, ``"latlon"``, or ``""`` when no node has coordinates."""
    for n in scenario.nodes:
        if n.x is not None:
            return "xy"
        if n.lat is not None:
            return "latlon"
    return ""


def node_points(scenario: Scenario) -> dict[str, tuple[float, float]]:
    """Node id → its point: ``(x, y)`` in metres, or ``(lon, lat)`` in degrees."""
    out: dict[str, tuple[float, float]] = {}
    for n in scenario.nodes:
        if n.x is not None and n.y is not None:
            out[n.id] = (float(n.x), float(n.y))
        elif n.lat is not None and n.lon is not None:
            out[n.id] = (float(n.lon), float(n.lat))
    return out


def distance_m(a: Node, b: Node) -> float | None:
    """Straight-line distance (m) between two nodes: Euclidean for ``x``/``y``, great-circle
    (haversine) for ``lat``/``lon``; ``None`` unless both have coordinates in one system."""
    if a.x is not None and a.y is not None and b.x is not None and b.y is not None:
        return math.hypot(a.x - b.x, a.y - b.y)
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
