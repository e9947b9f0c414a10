"""Building blocks of the scenario models: exact quantities, the base model, rule errors.

Shared by :mod:`vidnet_sim.scenario.model` and the section modules (QoS, services, growth).
Public names have no underscore; the underscored aliases are kept for the model modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from vidnet_sim.errors import UnitError
from vidnet_sim.scenario.bounds import MAX_BITRATE_SCALE, MAX_GOP, MAX_PACKET_RATE, MIN_PACKET_RATE
from vidnet_sim.scenario.units import (
    format_rate,
    format_size,
    format_time,
    parse_length,
    parse_rate,
    parse_size,
    parse_time,
)

#: Validation-context key: when true, quantities must be strings with a unit (scenario files).
UNITS_REQUIRED = "units_required"

#: Buffer of a link that gives neither ``buffer`` nor ``buffer_packets``: 1 MiB.
DEFAULT_LINK_BUFFER_BYTES = 2**20

_INT64_MAX = 2**63 - 1


def _quantity(parser: Callable[[object], int], fmt: Callable[[int], str]) -> BeforeValidator:
    """Return a validator turning a quantity string (or, from Python, a base-unit int) to int."""

    def validate(value: object, info: ValidationInfo) -> object:
        units_required = bool(info.context and info.context.get(UNITS_REQUIRED))
        if isinstance(value, int) and not isinstance(value, bool) and not units_required:
            if value < 0:
                raise PydanticCustomError(
                    "unit", "{message}", {"message": f"got {value!r}: must not be negative"}
                )
            result = value
        else:
            try:
                result = parser(value)
            except UnitError as exc:
                detail = getattr(exc, "detail", str(exc))
                raise PydanticCustomError(
                    "unit", "{message}", {"message": f"got {value!r}: {detail}"}
                ) from None
        if result > _INT64_MAX:
            raise PydanticCustomError(
                "unit",
                "{message}",
                {"message": f"got {value!r}: too large (at most {fmt(_INT64_MAX)})"},
            )
        return result

    return BeforeValidator(validate)


#: A bit rate: ``'10Gbps'`` in a file, ``int`` bit/s after validation.
Rate = Annotated[int, _quantity(parse_rate, format_rate)]
#: A size: ``'1500B'``, ``'64KiB'`` in a file, ``int`` bytes after validation.
Size = Annotated[int, _quantity(parse_size, format_size)]
#: A time or duration: ``'40ms'``, ``'4.9us'`` in a file, ``int`` picoseconds after validation.
Time = Annotated[int, _quantity(parse_time, format_time)]
#: A length: ``'3km'`` in a file, ``int`` metres after validation.
Length = Annotated[int, _quantity(parse_length, str)]

#: A GOP length in frames.
Gop = Annotated[int, Field(ge=1, le=MAX_GOP)]
#: A bitrate multiplier (alarm, motion, night).
BitrateScale = Annotated[float, Field(gt=0, le=MAX_BITRATE_SCALE)]
#: A number of packets (or requests) per second.
PerSecond = Annotated[float, Field(ge=MIN_PACKET_RATE, le=MAX_PACKET_RATE)]

_PositiveRate = Annotated[Rate, Field(gt=0)]
_PositiveSize = Annotated[Size, Field(gt=0)]
_PositiveTime = Annotated[Time, Field(gt=0)]
_Name = Annotated[str, Field(min_length=1)]


def _stop_after_start(start: int, stop: int | None) -> list[tuple[str, str]]:
    """The rule that a group's ``stop`` comes after its ``start``, as a problem list."""
    if stop is not None and stop <= start:
        return [
            ("stop", f"must be later than start ({format_time(start)}), got {format_time(stop)}")
        ]
    return []


def _raise_rules(problems: list[tuple[str, str]]) -> None:
    """Raise one error carrying every ``(field, message)`` rule violation of a model.

    The loader reads ``ctx["problems"]`` to report each at its own path.
    """
    if problems:
        message = "; ".join(f"{field}: {text}" if field else text for field, text in problems)
        raise PydanticCustomError(
            "rules", "{message}", {"message": message, "problems": tuple(problems)}
        )


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, populate_by_name=True, allow_inf_nan=False
    )


PositiveRate = _PositiveRate
PositiveSize = _PositiveSize
PositiveTime = _PositiveTime
Name = _Name
Model = _Model
raise_rules = _raise_rules
stop_after_start = _stop_after_start

__all__ = [
    "DEFAULT_LINK_BUFFER_BYTES",
    "UNITS_REQUIRED",
    "BitrateScale",
    "Gop",
    "Length",
    "Model",
    "Name",
    "PerSecond",
    "PositiveRate",
    "PositiveSize",
    "PositiveTime",
    "Rate",
    "Size",
    "Time",
    "parse_length",
    "parse_rate",
    "parse_size",
    "parse_time",
    "raise_rules",
    "stop_after_start",
]
