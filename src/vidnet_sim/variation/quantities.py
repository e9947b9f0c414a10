"""Quantity kinds a varied value may have (a rate, a size, a time, a length), each with its
parser and exact formatter from :mod:`vidnet_sim.scenario.units`."""

from __future__ import annotations

from vidnet_sim.scenario.units import (
    format_length,
    format_rate,
    format_size,
    format_time,
    parse_length,
    parse_rate,
    parse_size,
    parse_time,
)

__all__ = ["QUANTITY_KINDS", "quantity_kind"]

#: Quantity kinds a random parameter may sample: name → (parser, exact formatter).
QUANTITY_KINDS = {
    "rate": (parse_rate, format_rate),
    "size": (parse_size, format_size),
    "time": (parse_time, format_time),
    "length": (parse_length, format_length),
}


def quantity_kind(value: str) -> str | None:
    """The kind of a quantity string (``'10Gbps'`` → ``'rate'``), or ``None``."""
    for kind, (parser, _) in QUANTITY_KINDS.items():
        try:
            parser(value)
        except ValueError:
            continue
        return kind
    return None
