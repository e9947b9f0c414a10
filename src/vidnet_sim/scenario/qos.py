"""The ``[qos]`` section: traffic classes with DSCP marks, queues, and link schedulers.

A scenario without ``[qos]`` has one FIFO queue per link. With it, every group's ``class``
must be a known class (declared here, or one of :data:`DEFAULT_CLASS_DSCP`), each class's
DSCP must be taken by exactly one queue, and links use ``qos.scheduler`` unless they set
their own ``scheduler``. See ``docs/model.md`` (rules 11) and ``docs/scenario.md``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from vidnet_sim.scenario.bounds import MAX_WEIGHT
from vidnet_sim.scenario.fields import (
    Model,
    Name,
    PositiveSize,
    parse_size,
    raise_rules,
)

Scheduler = Literal["fifo", "priority", "drr"]

#: DSCP code points by name (RFC 2474, 2597, 3246, 5865).
DSCP_NAMES: dict[str, int] = {
    "BE": 0,
    "DF": 0,
    "CS0": 0,
    "CS1": 8,
    "CS2": 16,
    "CS3": 24,
    "CS4": 32,
    "CS5": 40,
    "CS6": 48,
    "CS7": 56,
    "EF": 46,
    "VA": 44,
    **{f"AF{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)},
}

#: Marks of the classes a scenario may use without declaring them (RFC 4594, docs/domain.md §3:
#: surveillance video as Broadcast Video CS3, voice EF, signalling CS5, interactive video
#: AF41, IoT and network control CS2, bulk CS1, the rest best effort).
DEFAULT_CLASS_DSCP: dict[str, int] = {
    "video": DSCP_NAMES["CS3"],
    "live": DSCP_NAMES["AF41"],
    "voice": DSCP_NAMES["EF"],
    "signals": DSCP_NAMES["CS5"],
    "control": DSCP_NAMES["CS5"],
    "iot": DSCP_NAMES["CS2"],
    "web": DSCP_NAMES["AF21"],
    "data": 0,
    "wifi": 0,
    "best_effort": 0,
    "bulk": DSCP_NAMES["CS1"],
}


def parse_dscp(value: object) -> int:
    """A DSCP as an int 0–63 from a name (``"EF"``, ``"AF41"``, ``"CS3"``) or a number."""
    if isinstance(value, bool):
        raise ValueError(f"got {value!r}: expected a DSCP name (EF, AF41, CS3, ...) or 0-63")
    if isinstance(value, int):
        if 0 <= value <= 63:
            return value
        raise ValueError(f"got {value}: a DSCP is 0-63")
    if isinstance(value, str):
        key = value.strip().upper()
        if key in DSCP_NAMES:
            return DSCP_NAMES[key]
        if key.isdigit() and 0 <= int(key) <= 63:
            return int(key)
    names = ", ".join(sorted(DSCP_NAMES))
    raise ValueError(f"got {value!r}: expected a DSCP name ({names}) or a number 0-63")


class QosClass(Model):
    """A traffic class: the name groups refer to by ``class``, and its DSCP mark."""

    name: Name
    dscp: int

    @field_validator("dscp", mode="before")
    @classmethod
    def _dscp(cls, v: object) -> int:
        return parse_dscp(v)


class QosQueue(Model):
    """A queue on every scheduled link, taking the packets of the DSCP marks it lists."""

    name: Name
    dscp: Annotated[list[int], Field(min_length=1)]
    priority: Annotated[int, Field(ge=0)] = 0
    weight: Annotated[float, Field(gt=0, le=MAX_WEIGHT)] = 1.0
    buffer: PositiveSize | None = None
    buffer_packets: Annotated[int, Field(gt=0)] | None = None

    @field_validator("dscp", mode="before")
    @classmethod
    def _dscps(cls, v: object) -> list[int]:
        items = v if isinstance(v, list) else [v]
        return [parse_dscp(x) for x in items]

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.buffer is not None and self.buffer_packets is not None:
            raise_rules(
                [("buffer_packets", "give either buffer (bytes) or buffer_packets, not both")]
            )
        return self


class Qos(Model):
    """Classes, queues and the default scheduler of the links."""

    scheduler: Scheduler = "priority"
    quantum: PositiveSize = parse_size("1538B")
    classes: list[QosClass] = Field(default_factory=list)
    queues: Annotated[list[QosQueue], Field(min_length=1)]

    def class_dscp(self) -> dict[str, int]:
        """Every known class and its DSCP: the defaults, overridden by ``classes``."""
        out = dict(DEFAULT_CLASS_DSCP)
        out.update({c.name: c.dscp for c in self.classes})
        return out

    def problems(self, used_classes: dict[str, str]) -> list[tuple[str, str]]:
        """Problems of the section given ``{class: path of a group using it}``."""
        probs: list[tuple[str, str]] = []
        seen: dict[int, str] = {}
        for i, q in enumerate(self.queues):
            for j, d in enumerate(q.dscp):
                if d in seen and seen[d] != q.name:
                    probs.append(
                        (
                            f"qos.queues[{i}].dscp[{j}]",
                            f"DSCP {d} is already taken by queue {seen[d]!r}",
                        )
                    )
                seen.setdefault(d, q.name)
        names = [q.name for q in self.queues]
        for i, q in enumerate(self.queues):
            if names.count(q.name) > 1 and names.index(q.name) != i:
                probs.append((f"qos.queues[{i}].name", f"duplicate queue name {q.name!r}"))
        known = self.class_dscp()
        for cls, where in used_classes.items():
            if cls not in known:
                probs.append(
                    (
                        f"{where}.class",
                        f"unknown class {cls!r}: declare it in qos.classes with a dscp, or "
                        f"use one of: {', '.join(sorted(known))}",
                    )
                )
            elif known[cls] not in seen:
                probs.append(
                    (
                        f"{where}.class",
                        f"class {cls!r} is marked DSCP {known[cls]}, which no queue in "
                        "qos.queues takes; add it to a queue's dscp list",
                    )
                )
        return probs

    def queue_order(self) -> list[int]:
        """Queue indices by precedence: ``priority`` ascending, then declaration order."""
        return sorted(range(len(self.queues)), key=lambda i: (self.queues[i].priority, i))


__all__ = [
    "DEFAULT_CLASS_DSCP",
    "DSCP_NAMES",
    "Qos",
    "QosClass",
    "QosQueue",
    "Scheduler",
    "parse_dscp",
]
