"""One entry of a scenario's growth plan (``[[growth]]``): its year and what it adds."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, model_validator

from vidnet_sim.scenario.bounds import MAX_GROWTH_SCALE, MAX_GROWTH_YEARS
from vidnet_sim.scenario.fields import Model, raise_rules

__all__ = ["GROWTH_SECTIONS", "GrowthYear"]

#: The scenario sections a growth entry may add items to, in the order they are applied.
GROWTH_SECTIONS = ("nodes", "links", "cameras", "sources", "services")

_Table = dict[str, Any]


def _check_scale(value: object) -> object:
    """One clear error for a ``scale_cameras`` that is neither a positive number nor a table
    of them (instead of one per member of the union)."""

    def bad(x: object) -> bool:
        return (
            isinstance(x, bool) or not isinstance(x, int | float) or not 0 < x <= MAX_GROWTH_SCALE
        )

    if value is None:
        return value
    if isinstance(value, dict):
        for name, factor in value.items():
            if bad(factor):
                raise ValueError(
                    f"{name} = {factor!r}: a factor must be a positive number, "
                    f"at most {MAX_GROWTH_SCALE:g}"
                )
        return {k: float(v) for k, v in value.items()}
    if bad(value):
        raise ValueError(
            f"expected a positive number up to {MAX_GROWTH_SCALE:g} (every "
            "group) or a table of group name = such a number"
        )
    return float(value)  # type: ignore[arg-type]


_Scale = Annotated[float | dict[str, float] | None, BeforeValidator(_check_scale)]


class GrowthYear(Model):
    """One entry of the growth plan: the year and what it adds (raw tables, see
    :mod:`vidnet_sim.scenario.growth`)."""

    year: Annotated[int, Field(ge=1, le=MAX_GROWTH_YEARS)]
    description: str = ""
    scale_cameras: _Scale = None
    nodes: list[_Table] = Field(default_factory=list)
    links: list[_Table] = Field(default_factory=list)
    cameras: list[_Table] = Field(default_factory=list)
    sources: list[_Table] = Field(default_factory=list)
    services: list[_Table] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.scale_cameras is None and not any(getattr(self, s) for s in GROWTH_SECTIONS):
            raise_rules(
                [
                    (
                        "",
                        "a growth entry adds nothing: give scale_cameras or items of "
                        + ", ".join(GROWTH_SECTIONS),
                    )
                ]
            )
        return self

    def items(self, section: str) -> list[_Table]:
        """The raw items this entry adds to ``section``."""
        return list(getattr(self, section))
