"""Scenario files: exact units, frozen pydantic models, and the loader that reports every problem.

>>> from vidnet_sim.scenario import load_scenario
>>> scenario = load_scenario("scenarios/city.toml")  # doctest: +SKIP
>>> scenario.links[0].rate  # int bit/s  # doctest: +SKIP
10000000000
"""

from __future__ import annotations

from vidnet_sim.scenario.load import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.model import (
    DEFAULT_LINK_BUFFER_BYTES,
    CameraGroup,
    Conventions,
    Event,
    Length,
    Link,
    Node,
    Rate,
    Route,
    Scenario,
    Simulation,
    Size,
    SizeDist,
    Sla,
    Source,
    Time,
    default_bitrate_bps,
)

__all__ = [
    "DEFAULT_LINK_BUFFER_BYTES",
    "CameraGroup",
    "Conventions",
    "Event",
    "Length",
    "Link",
    "Node",
    "Rate",
    "Route",
    "Scenario",
    "Simulation",
    "Size",
    "SizeDist",
    "Sla",
    "Source",
    "Time",
    "default_bitrate_bps",
    "load_scenario",
    "parse_scenario_dict",
]
