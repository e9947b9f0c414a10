"""The check that every ``[sla.<class>]`` names a traffic class the scenario uses.

It runs on the raw data, over every year of a growth plan (a class may come in a later year),
and prunes the SLA classes a year does not use yet.
"""

from __future__ import annotations

from typing import Any

from vidnet_sim.errors import Problem
from vidnet_sim.scenario.raw import did_you_mean, raw_items
from vidnet_sim.scenario.services import DEFAULT_CLASS

__all__ = ["sla_class_problems"]


def sla_class_problems(data: dict[str, Any]) -> list[Problem]:
    """Every ``[sla.<class>]`` names a class some camera group, source or service uses."""
    sla = data.get("sla")
    if not isinstance(sla, dict):
        return []
    used: dict[str, None] = {}
    for section, default in (("cameras", "video"), ("sources", "data")):
        for _, item in raw_items(data, section):
            value = item.get("class", default)
            if isinstance(value, str):
                used[value] = None
            for _, stream in raw_items(item, "streams") if section == "cameras" else ():
                value = stream.get("class", value)
                if isinstance(value, str):
                    used[value] = None
    for _, item in raw_items(data, "services"):
        kind = item.get("kind")
        value = item.get("class", DEFAULT_CLASS.get(kind) if isinstance(kind, str) else None)
        if isinstance(value, str):
            used[value] = None
    classes = list(used)
    problems = []
    for name in sla:
        if name not in used:
            listed = ", ".join(classes) if classes else "none"
            hint = did_you_mean(name, classes, False).removeprefix("; ")
            problems.append(
                Problem(
                    f"sla.{name}",
                    f"class {name!r} is used by no camera group or source; classes in use: "
                    f"{listed}" + (f" ({hint})" if hint else ""),
                )
            )
    return problems
