"""The ``[sweep]`` section: its pydantic model and readable errors.

.. code-block:: toml

    [sweep]
    replications = 3                 # independent runs of every design point (default 1)
    seed = 7                         # root seed (default: simulation.seed)
    common_random_numbers = false    # true: replication r uses the same seed at every point

    [sweep.grid]                     # every combination (a Cartesian product)
    "cameras[0].count" = [10, 20, 40]
    "links.core-uplink.rate" = ["1Gbps", "10Gbps"]

    [sweep.zip]                      # lists of equal length, taken together
    "cameras[0].codec" = ["h264", "h265"]
    "cameras[0].bitrate" = ["4Mbps", "2Mbps"]

    [sweep.random]                   # sampled points, crossed with the grid and zips
    method = "lhs"                   # Latin hypercube, or "uniform"
    samples = 8
    [sweep.random.params]
    "events[0].bitrate_scale" = { low = 1.0, high = 4.0 }
    "links[0].buffer" = { low = "64KiB", high = "4MiB", log = true, step = "1KiB" }
    "cameras[1].codec" = { choices = ["h264", "h265"] }

A separate sweep file holds only a ``[sweep]`` section and names its scenario with
``scenario = "path/to/scenario.toml"`` (relative to the sweep file). Several zip groups are
written as an array of tables, ``[[sweep.zip]]``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vidnet_sim.errors import Problem
from vidnet_sim.variation.quantities import QUANTITY_KINDS, quantity_kind

__all__ = [
    "MAX_SWEEP_POINTS",
    "RandomBlock",
    "RandomParam",
    "SweepSpec",
    "check_value",
    "parse_spec",
    "point_count",
    "spec_path",
]

Scalar = str | int | float | bool

#: Most runs of one sweep (points x replications): each is a run folder, and the whole
#: list is expanded in memory before the first runs.
MAX_SWEEP_POINTS = 100_000


def check_value(value: object) -> str | None:
    """Why ``value`` cannot be a swept value (not JSON-like, NaN, a date), or ``None``."""
    if isinstance(value, bool | str | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"got {value!r}: must be a finite number"
    if isinstance(value, list):
        return next((why for v in value if (why := check_value(v))), None)
    if isinstance(value, dict):
        return next((why for v in value.values() if (why := check_value(v))), None)
    return f"got {value!r}: expected a string, number, boolean, array or table"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RandomParam(_Model):
    """One sampled parameter: a range (numbers or quantities) or a list of choices."""

    low: Scalar | None = None
    high: Scalar | None = None
    log: bool = False
    step: int | float | str | None = None
    integer: bool | None = None
    choices: Annotated[list[Any], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[str] = []
        if self.choices is not None:
            extra = [k for k in ("low", "high", "step", "integer") if getattr(self, k) is not None]
            if extra or self.log:
                problems.append(
                    "give either choices or low/high, not both"
                    f" (also set: {', '.join(extra + (['log'] if self.log else []))})"
                )
            for v in self.choices:
                if why := check_value(v):
                    problems.append(f"choices: {why}")
        elif self.low is None or self.high is None:
            problems.append("give low and high (a range), or choices")
        else:
            problems += self._range_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _range_problems(self) -> list[str]:
        low, high = self.low, self.high
        if isinstance(low, bool) or isinstance(high, bool):
            return ["low and high must be numbers or quantities like '1Gbps'"]
        if isinstance(low, str) or isinstance(high, str):
            if not (isinstance(low, str) and isinstance(high, str)):
                return ["low and high must both be quantities (like '1Gbps') or both numbers"]
            kinds = (quantity_kind(low), quantity_kind(high))
            if None in kinds or kinds[0] != kinds[1]:
                return [
                    f"low {low!r} and high {high!r} must be quantities of the same kind "
                    "(a rate, size, time or length with its unit)"
                ]
            if self.integer is False:
                return ["a quantity range samples whole base units; drop integer = false"]
            parse = QUANTITY_KINDS[str(kinds[0])][0]
            lo, hi = parse(low), parse(high)
            if self.step is not None and (
                not isinstance(self.step, str) or quantity_kind(self.step) != kinds[0]
            ):
                return [f"step must be a {kinds[0]} like low and high, got {self.step!r}"]
        else:
            lo, hi = low, high  # type: ignore[assignment]
            if not (math.isfinite(lo) and math.isfinite(hi)):  # (nan, inf: no range to sample)
                return [f"low and high must be finite numbers, got low={low!r}, high={high!r}"]
            if self.step is not None and (
                isinstance(self.step, str | bool) or not 0 < self.step < math.inf  # (nan too)
            ):
                return [f"step must be a positive number, got {self.step!r}"]
        if not lo < hi:
            return [f"low must be less than high, got low={low!r}, high={high!r}"]
        if self.log and lo <= 0:
            return ["a log range needs low > 0"]
        if (
            isinstance(self.step, str)
            and QUANTITY_KINDS[str(quantity_kind(self.step))][0](self.step) <= 0
        ):
            return ["step must be positive"]
        return []


class RandomBlock(_Model):
    """Sampled points: Latin hypercube (``lhs``) or independent uniform draws."""

    method: Literal["lhs", "uniform"] = "lhs"
    samples: Annotated[int, Field(ge=1)]
    seed: Annotated[int, Field(ge=0)] | None = None
    params: Annotated[dict[str, RandomParam], Field(min_length=1)]


class SweepSpec(_Model):
    """The ``[sweep]`` section of a scenario file, or of a separate sweep file."""

    scenario: Annotated[str, Field(min_length=1)] | None = None
    replications: Annotated[int, Field(ge=1)] = 1
    seed: Annotated[int, Field(ge=0)] | None = None
    common_random_numbers: bool = False
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    zip: (
        dict[str, Annotated[list[Any], Field(min_length=1)]]
        | list[dict[str, Annotated[list[Any], Field(min_length=1)]]]
    ) = Field(default_factory=dict)
    random: RandomBlock | None = None

    def zip_groups(self) -> list[tuple[tuple[str | int, ...], dict[str, list[Any]]]]:
        """Each zip group with its location in the section (``("zip",)`` or ``("zip", k)``)."""
        if isinstance(self.zip, dict):
            return [(("zip",), self.zip)] if self.zip else []
        return [(("zip", k), group) for k, group in enumerate(self.zip)]


# --------------------------------------------------------------------------- errors
def spec_path(loc: tuple[str | int, ...]) -> str:
    """``("grid", "cameras[0].count", 2)`` → ``'sweep.grid["cameras[0].count"][2]'``."""
    out = "sweep"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f'["{part}"]'
    return out


_MESSAGES = {
    "greater_than_equal": "must be at least {ge}",
    "int_type": "expected a whole number",
    "bool_type": "expected true or false",
    "string_type": "expected a string (in quotes)",
    "list_type": "expected an array [...]",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "too_short": "needs at least {min_length} item(s)",
    "string_too_short": "must not be empty",
}


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union-branch labels (``'list[...]'``, ``'str'``) from a location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            ("[" in part and part.split("[")[0] in ("list", "dict", "tuple"))
            or part in ("str", "int", "float", "bool", "none", "function-after[_rules()]")
            or part.startswith(("function-", "constrained-"))
        ):
            continue
        out.append(part)
    return tuple(out)


def _problems(exc: ValidationError, data: dict[str, Any]) -> list[Problem]:
    seen: dict[tuple[str, str], None] = {}
    zip_is_list = isinstance(data.get("zip"), list)
    for error in exc.errors():
        loc = _clean_loc(tuple(error["loc"]))
        # keep only the errors of the union branch the data actually took
        if len(loc) > 1 and loc[0] == "zip" and zip_is_list != isinstance(loc[1], int):
            continue
        kind = error["type"]
        ctx = error.get("ctx") or {}
        if kind == "extra_forbidden":
            text = f"unknown key {loc[-1]!r}"
        elif kind == "missing":
            text = f"required key {loc[-1]!r} is missing"
        elif kind == "literal_error":
            text = f"got {error.get('input')!r}: expected {ctx.get('expected')}"
        elif kind == "union_tag_invalid" or kind.startswith("union"):
            text = "expected a table or an array of tables"
        elif kind in _MESSAGES:
            text = _MESSAGES[kind].format(**ctx)
            value = error.get("input")
            if not isinstance(value, dict | list):
                text = f"got {value!r}: {text}"
        else:
            text = str(error["msg"]).removeprefix("Value error, ")
        seen.setdefault((spec_path(loc), text), None)
    return [Problem(path, text) for path, text in seen]


def parse_spec(data: object) -> tuple[SweepSpec | None, list[Problem]]:
    """Validate a raw ``[sweep]`` table: the spec, or ``None`` and every problem found."""
    if not isinstance(data, dict):
        return None, [Problem("sweep", "expected a table: [sweep]")]
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        return None, _problems(exc, data)
    problems: list[Problem] = []
    for loc, table in (
        (("grid",), spec.grid),
        *spec.zip_groups(),
    ):
        for key, values in table.items():
            for i, v in enumerate(values):
                if why := check_value(v):
                    problems.append(Problem(spec_path((*loc, key, i)), why))
    for loc, group in spec.zip_groups():
        if not group:
            problems.append(Problem(spec_path(loc), "an empty zip group: give its arrays"))
        lengths = {key: len(values) for key, values in group.items()}
        if len(set(lengths.values())) > 1:
            listed = ", ".join(f"{k!r}: {n}" for k, n in lengths.items())
            problems.append(
                Problem(spec_path(loc), f"the arrays of a zip must have one length, got {listed}")
            )
    if not problems:
        problems += _size_problems(spec)
    return (None if problems else spec), problems


def point_count(spec: SweepSpec) -> tuple[int, str]:
    """How many runs ``spec`` makes (before duplicate points are dropped), and how: the
    factors, e.g. ``'grid 3 x 2 x zip 4 x 3 replications'``."""
    factors = [
        (f"grid {len(v)}" if i == 0 else str(len(v))) for i, v in enumerate(spec.grid.values())
    ]
    zips = [max(map(len, g.values()), default=0) for _, g in spec.zip_groups()]
    factors += [f"zip {n}" for n in zips]
    if spec.random is not None:
        factors.append(f"{spec.random.samples} samples")
    factors.append(f"{spec.replications} replication{'s' if spec.replications != 1 else ''}")
    n = math.prod(len(v) for v in spec.grid.values()) * math.prod(zips)
    n *= spec.random.samples if spec.random is not None else 1
    return n * spec.replications, " x ".join(factors)


def _size_problems(spec: SweepSpec) -> list[Problem]:
    """A sweep of more than :data:`MAX_SWEEP_POINTS` runs, refused before it is expanded."""
    n, how = point_count(spec)
    if n <= MAX_SWEEP_POINTS:
        return []
    return [
        Problem(
            "sweep",
            f"{n} runs ({how}); expected at most {MAX_SWEEP_POINTS} runs in one sweep: "
            "split it, or sample it with [sweep.random]",
        )
    ]
