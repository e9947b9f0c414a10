"""The cost model of the whole network, as read from a TOML file (``size --costs FILE``).

Every figure is a user parameter; the defaults and their sources are listed in
``docs/analysis.md`` ("The whole bill"). A file is validated like a scenario: unknown keys,
wrong types and negative prices are all reported at once, each with its path
(:class:`CostModelError`, exit code 3), before anything runs or is written.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from vidnet_sim.analysis.cost import MAX_PRICE, CostModel, currency_name
from vidnet_sim.analysis.vary import AnalysisInputError
from vidnet_sim.errors import Problem, ScenarioError, UnitError
from vidnet_sim.scenario.raw import did_you_mean
from vidnet_sim.scenario.toml_file import read_toml
from vidnet_sim.scenario.units import format_rate, parse_rate

__all__ = [
    "BillModel",
    "CostModelError",
    "Fibre",
    "Optics",
    "Recording",
    "SwitchModel",
    "load_bill_model",
    "parse_bill_model",
]

_Price = Annotated[float, Field(ge=0, le=MAX_PRICE)]  # (finite: sums of prices stay finite)
_Share = Annotated[float, Field(ge=0, le=1)]


class CostModelError(AnalysisInputError):
    """A cost model that cannot be used: every problem, each with its path."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        head = f"cost model {source}" if source else "cost model"
        n = len(problems)
        lines = [f"{head}: {n} problem{'s' if n != 1 else ''}"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


class Optics(_Model):
    """One transceiver of a rate tier: ``short`` up to the model's ``short_reach_km``,
    ``long`` beyond."""

    short: _Price
    long: _Price


class Fibre(_Model):
    """What the fibre of a link costs, by its status (the link's ``fibre`` in the scenario)."""

    existing_per_link: _Price = 600.0
    duct_per_km: _Price = 9_000.0
    trench_per_km: _Price = 53_000.0
    leased_per_km_year: _Price | None = None
    leased_per_link_year: _Price | None = None
    rent: dict[str, _Price] = Field(default_factory=dict)  # link id -> rent per year


class SwitchModel(_Model):
    """A switch of the catalogue: ports by speed, PoE budget, price and power draw."""

    name: Annotated[str, Field(min_length=1)]
    ports: dict[str, Annotated[int, Field(ge=0)]]
    poe_budget_w: _Price = 0.0
    poe_port_w: _Price = 0.0  # the most one port supplies (0: no PoE)
    price: _Price
    power_w: _Price = 0.0  # its own draw, PoE not included

    @field_validator("ports")
    @classmethod
    def _rates(cls, ports: dict[str, int]) -> dict[str, int]:
        _rate_keys(ports, "port speed")
        if not any(ports.values()):
            raise ValueError("a switch needs at least one port")
        return ports

    @cached_property
    def port_counts(self) -> dict[int, int]:
        """Ports by speed (bit/s)."""
        out: dict[int, int] = {}
        for key, n in self.ports.items():
            out[parse_rate(key)] = out.get(parse_rate(key), 0) + n
        return out


def _default_switches() -> list[SwitchModel]:
    return [
        SwitchModel(
            name="access-8-poe",
            ports={"1Gbps": 8, "10Gbps": 2},
            poe_budget_w=130,
            poe_port_w=30,
            price=900,
            power_w=20,
        ),
        SwitchModel(
            name="access-24-poe",
            ports={"1Gbps": 24, "10Gbps": 4},
            poe_budget_w=400,
            poe_port_w=30,
            price=2_600,
            power_w=45,
        ),
        SwitchModel(
            name="access-48-poe",
            ports={"1Gbps": 48, "10Gbps": 4},
            poe_budget_w=740,
            poe_port_w=30,
            price=4_800,
            power_w=70,
        ),
        SwitchModel(
            name="access-24-poe-bt",
            ports={"1Gbps": 24, "10Gbps": 4},
            poe_budget_w=1_440,
            poe_port_w=90,
            price=4_200,
            power_w=60,
        ),
        SwitchModel(
            name="access-48-poe-bt-100g",
            ports={"1Gbps": 48, "25Gbps": 4, "100Gbps": 2},
            poe_budget_w=1_800,
            poe_port_w=90,
            price=9_500,
            power_w=120,
        ),
        SwitchModel(
            name="aggregation-24x10g",
            ports={"10Gbps": 24, "100Gbps": 2},
            price=6_500,
            power_w=150,
        ),
        SwitchModel(
            name="core-32x100g",
            ports={"100Gbps": 32},
            price=18_000,
            power_w=400,
        ),
    ]


class Recording(_Model):
    """Recorders: disks bought by the TB, servers holding ``disks_per_server`` disks each."""

    usable_fraction: Annotated[float, Field(gt=0, le=1)] = 0.7
    disk_tb: Annotated[float, Field(ge=0.01, le=10_000)] = 16.0  # 10 GB to 10 PB
    price_per_tb: _Price = 20.0
    disks_per_server: Annotated[int, Field(ge=1)] = 12
    server_price: _Price = 5_000.0
    server_power_w: _Price = 350.0
    disk_power_w: _Price = 8.0


def _optics_value(value: Any) -> Any:
    """A plain price is both reaches' price."""
    if isinstance(value, dict | Optics):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a price, or a table { short = ..., long = ... }")
    if value < 0:
        raise ValueError("must be at least 0")
    return {"short": value, "long": value}


_OpticsEntry = Annotated[Optics, BeforeValidator(_optics_value)]

_DEFAULT_OPTICS: dict[str, Optics] = {
    "1Gbps": Optics(short=10.0, long=40.0),
    "10Gbps": Optics(short=24.0, long=90.0),
    "25Gbps": Optics(short=40.0, long=160.0),
    "100Gbps": Optics(short=57.5, long=600.0),
}


class BillModel(_Model):
    """The whole cost model: fibre, optics, switches, recording and running costs."""

    currency: Annotated[str, AfterValidator(currency_name)] = "USD"
    discount_rate: Annotated[float, Field(ge=0, le=1)] = 0.04
    energy_per_kwh: _Price = 0.25
    maintenance_share: _Share = 0.05  # of the installed equipment, per year
    horizon_years: Annotated[int, Field(ge=1, le=100)] | None = None
    short_reach_km: Annotated[float, Field(gt=0, le=100_000)] = 10.0
    optics: dict[str, _OpticsEntry] = Field(default_factory=lambda: dict(_DEFAULT_OPTICS))
    fibre: Fibre = Field(default_factory=Fibre)
    switches: list[SwitchModel] = Field(default_factory=_default_switches)
    recording: Recording = Field(default_factory=Recording)

    @field_validator("optics")
    @classmethod
    def _tiers(cls, optics: dict[str, Any]) -> dict[str, Any]:
        if not optics:
            raise ValueError("needs at least one rate tier")
        _rate_keys(optics, "rate tier")
        return optics

    def optics_price(self, rate_bps: int, length_m: float) -> float:
        """One transceiver for a link of ``rate_bps`` and ``length_m``."""
        for key, value in self.optics.items():
            if parse_rate(key) == rate_bps:
                return value.short if length_m <= self.short_reach_km * 1000 else value.long
        raise AnalysisInputError(
            f"no optics price for a {format_rate(rate_bps)} link; tiers: " + ", ".join(self.optics)
        )

    def link_model(self) -> CostModel:
        """The link-only model of the tier search: short-reach optics per tier, no ports
        nor fibre (those are in the whole bill)."""
        optics = {parse_rate(k): v.short for k, v in self.optics.items()}
        return CostModel(port=0.0, optics=optics, new_fibre=False, currency=self.currency)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_SECTIONS: dict[str, type[BaseModel]] = {"fibre": Fibre, "recording": Recording}


def _keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys accepted at ``loc`` (for "did you mean" on an unknown key)."""
    model: type[BaseModel] = BillModel
    if loc and loc[0] in _SECTIONS:
        model = _SECTIONS[loc[0]]
    elif loc and loc[0] == "switches":
        model = SwitchModel
    elif loc and loc[0] == "optics":
        model = Optics
    return list(model.model_fields)


def _rate_keys(keys: Any, what: str) -> None:
    for key in keys:
        try:
            parse_rate(key)
        except UnitError as exc:
            raise ValueError(f"{what} {key!r}: {getattr(exc, 'detail', exc)}") from None


def _problems(error: ValidationError) -> list[Problem]:
    out: list[Problem] = []
    for e in error.errors():
        loc = tuple(e["loc"])
        kind = e["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            text = f"unknown key {key!r}{did_you_mean(key, _keys(loc[:-1]), True)}"
        elif kind == "missing":
            text = f"required key {str(loc[-1])!r} is missing"
        elif kind in ("greater_than_equal", "greater_than"):
            bound = (e.get("ctx") or {}).get("ge", (e.get("ctx") or {}).get("gt"))
            word = "at least" if kind == "greater_than_equal" else "greater than"
            text = f"got {e.get('input')!r}: must be {word} {bound:g}"
        elif kind == "finite_number":
            text = f"got {e.get('input')!r}: expected a finite number"
        elif kind == "less_than_equal":
            text = f"got {e.get('input')!r}: must be at most {(e.get('ctx') or {})['le']:g}"
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
            text = f"got {e.get('input')!r}: {msg}" if not isinstance(e.get("input"), dict) else msg
        out.append(Problem(_path(loc), text))
    return out


def parse_bill_model(data: dict[str, Any], source: str = "") -> BillModel:
    """A :class:`BillModel` from a TOML table; :class:`CostModelError` lists every problem."""
    try:
        return BillModel.model_validate(data)
    except ValidationError as exc:
        raise CostModelError(_problems(exc), source) from None


def load_bill_model(path: str | Path) -> BillModel:
    """The cost model in the TOML file ``path`` (see the module doc)."""
    try:
        data = read_toml(path)  # within the scenario file's bounds: never a device or FIFO
    except ScenarioError as exc:
        raise CostModelError(exc.problems, str(path)) from None
    return parse_bill_model(data, str(path))
