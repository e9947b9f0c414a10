"""A cost model of the network's links: rate tiers, optics, ports and fibre.

Every figure is a user parameter; the defaults are the orders of magnitude of docs/domain.md §7
(USD): underground fibre ≈ 53 k/km, a transceiver per link end by rate tier (1G 10, 10G 24,
25G 40, 100G 57.5), a switch port per link end ≈ 180. A link costs
``2 × (optics(rate) + port) + fibre_per_km × length_km × new_fibre`` when it is built, and
``2 × (optics(rate) + port)`` when it is upgraded to a faster tier (new transceivers and
ports at both ends; the fibre stays). Camera access links are the cameras' business and not
costed. A link's length is its ``length``, else its ``delay`` divided by
``conventions.propagation_per_km``, else the straight line between its nodes' coordinates,
else 0. The sizing that uses it is
:mod:`vidnet_sim.analysis.sizing`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vidnet_sim.analysis.vary import AnalysisInputError, read_input_toml
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.coordinates import distance_m
from vidnet_sim.scenario.units import parse_rate

#: The largest price (or power, in W) a cost model takes: a trillion, beyond any city's
#: bill; an infinite or astronomic one would make the costs it is summed into infinite.
MAX_PRICE = 1e12
#: The longest currency a cost model takes: a code (``USD``) or a symbol (``€``, ``kNOK``)
#: set after every amount of the tables and reports, not a sentence.
MAX_CURRENCY_CHARS = 12

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

__all__ = [
    "LEGACY_KEYS",
    "MAX_CURRENCY_CHARS",
    "CostModel",
    "currency_name",
    "link_costs",
    "link_lengths",
    "load_cost_model",
    "scenario_links",
]

#: Keys only this link-only cost table has (the whole bill,
#: :mod:`vidnet_sim.analysis.bill`, prices fibre by each link's status and ports by switch).
LEGACY_KEYS = frozenset({"fibre_per_km", "port", "new_fibre"})

_DEFAULT_OPTICS = {10**9: 10.0, 10 * 10**9: 24.0, 25 * 10**9: 40.0, 100 * 10**9: 57.5}


@dataclass(frozen=True)
class CostModel:
    """Unit costs; ``optics`` maps each rate tier (bit/s) to one transceiver's cost."""

    fibre_per_km: float = 53_000.0
    port: float = 180.0
    optics: dict[int, float] = field(default_factory=lambda: dict(_DEFAULT_OPTICS))
    new_fibre: bool = False  # True: fibre is laid too (greenfield); False: existing fibre
    currency: str = "USD"

    @property
    def tiers(self) -> list[int]:
        """The rate tiers, slowest first."""
        return sorted(self.optics)

    @property
    def useful_tiers(self) -> list[int]:
        """The tiers worth buying, slowest first: a tier whose optics cost as much as a
        faster tier's (or more) is never chosen, so the costs of these strictly increase."""
        out: list[int] = []
        for t in sorted(self.optics, reverse=True):
            if not out or self.optics[t] < self.optics[out[-1]]:
                out.append(t)
        return out[::-1]

    def upgrade_cost(self, rate_bps: int) -> float:
        """Equipping a link (built or upgraded) for ``rate_bps``: two transceivers, two ports."""
        if rate_bps not in self.optics:
            raise AnalysisInputError(
                f"no optics cost for a {rate_bps} bit/s link; tiers: {self.tiers}"
            )
        return 2 * (self.optics[rate_bps] + self.port)

    def fibre_cost(self, length_m: float) -> float:
        """The fibre of a new link (0 unless ``new_fibre``)."""
        return self.fibre_per_km * length_m / 1000 if self.new_fibre else 0.0

    def link_cost(self, rate_bps: int, length_m: float) -> float:
        """One (duplex) link: two transceivers, two ports, and the fibre when new."""
        return self.upgrade_cost(rate_bps) + self.fibre_cost(length_m)


def currency_name(value: object) -> str:
    """``value`` as a cost model's currency: a string of 1 to :data:`MAX_CURRENCY_CHARS`
    printable characters, not only spaces; else a :class:`ValueError` saying what was
    expected (the caller names the value)."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_CURRENCY_CHARS
        or not value.isprintable()
    ):
        raise ValueError(
            f"expected a currency's code or symbol (e.g. 'USD' or '€'): 1 to "
            f"{MAX_CURRENCY_CHARS} printable characters"
        )
    return value


def load_cost_model(path: str | Path) -> CostModel:
    """A :class:`CostModel` from TOML: ``fibre_per_km``, ``port``, ``new_fibre``,
    ``currency`` and an ``[optics]`` table of rate (with unit) → cost."""
    raw = read_input_toml(path, "cost model")
    known = {"fibre_per_km", "port", "optics", "new_fibre", "currency"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise AnalysisInputError(
            f"cost model {path}: unknown key(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(known))}"
        )

    def cost(key: str, value: object) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 <= value <= MAX_PRICE  # (nan too)
        ):
            raise AnalysisInputError(
                f"cost model {path}: {key}: got {value!r}, expected a cost (a number from 0 "
                f"to {MAX_PRICE:.0e})"
            )
        return float(value)

    kwargs: dict[str, Any] = {k: cost(k, raw[k]) for k in ("fibre_per_km", "port") if k in raw}
    if "new_fibre" in raw:
        if not isinstance(raw["new_fibre"], bool):
            raise AnalysisInputError(
                f"cost model {path}: new_fibre: got {raw['new_fibre']!r}, expected true or false"
            )
        kwargs["new_fibre"] = raw["new_fibre"]
    if "currency" in raw:
        try:
            kwargs["currency"] = currency_name(raw["currency"])
        except ValueError as exc:
            shown = repr(raw["currency"])
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise AnalysisInputError(f"cost model {path}: currency: got {shown}, {exc}") from None
    if "optics" in raw:
        if not isinstance(raw["optics"], dict) or not raw["optics"]:
            raise AnalysisInputError(
                f"cost model {path}: optics: expected a table of rate "
                "tier = cost, with at least one tier"
            )
        optics: dict[int, float] = {}
        for k, v in raw["optics"].items():
            try:
                rate = parse_rate(k)
            except ValueError as exc:
                raise AnalysisInputError(f"cost model {path}: optics.{k}: {exc}") from None
            optics[rate] = cost(f"optics.{k}", v)
        kwargs["optics"] = optics
    return CostModel(**kwargs)


def scenario_links(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(scenario link id, its directed link names as in results) of every scenario link of
    raw scenario ``data``, in file order."""
    out = []
    for link in data.get("links", []):
        lid = link.get("id") or f"{link['a']}-{link['b']}"
        plain = lid == f"{link['a']}-{link['b']}"
        dirs = [(link["a"], link["b"])]
        if link.get("duplex", True):
            dirs.append((link["b"], link["a"]))
        out.append((lid, [f"{u}->{v}" if plain else f"{lid}:{u}->{v}" for u, v in dirs]))
    return out


def link_lengths(scenario: Scenario) -> dict[str, float]:
    """Length (m) of every scenario link: its ``length``, else ``delay`` at the scenario's
    ``propagation_per_km``, else the straight line between its nodes' coordinates
    (:mod:`vidnet_sim.scenario.coordinates`), else 0."""
    per_km = scenario.conventions.propagation_per_km
    nodes = {n.id: n for n in scenario.nodes}
    out: dict[str, float] = {}
    for link in scenario.links:
        if link.length is not None:
            length = float(link.length)
        elif link.delay is not None and per_km > 0:
            length = link.delay / per_km * 1000
        else:
            d = distance_m(nodes[link.a], nodes[link.b])
            length = 0.0 if d is None else d
        out[str(link.id)] = length
    return out


def link_costs(data: dict[str, Any], model: CostModel) -> pd.DataFrame:
    """Per scenario link: id, rate, length and cost under ``model`` (raw scenario data)."""
    sc = parse_scenario_dict(copy.deepcopy(data))
    lengths = link_lengths(sc)
    rows = [
        {
            "link": str(link.id),
            "rate_bps": link.rate,
            "length_m": lengths[str(link.id)],
            "cost": model.link_cost(link.rate, lengths[str(link.id)]),
        }
        for link in sc.links
    ]
    return pd.DataFrame(rows, columns=["link", "rate_bps", "length_m", "cost"])
