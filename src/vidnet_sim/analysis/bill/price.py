"""The whole bill of a plan: what a design costs year by year, and its net present cost.

:func:`price_plan` is the one function that prices a plan: for each year, that year's
scenario (its nodes, links and cameras) and a rate per link (bit/s), and optionally the
recording volume the simulation measured (:func:`~vidnet_sim.results.storage.storage_table`).
It returns a :class:`Bill`, every year broken down by category:

- **fibre** (CAPEX, when a link first appears): ``existing`` splicing and termination per
  link; ``duct`` per km; ``trench`` per km; ``leased`` nothing (its rent is a running cost);
- **optics** (CAPEX): two transceivers, short or long reach by the link's length, when a link
  is built and whenever its rate changes;
- **switches** (CAPEX): the cheapest catalogue stack per node
  (:mod:`~vidnet_sim.analysis.bill.switches`), chosen again every year; a node that keeps its
  model and needs more of them buys the extra ones, a node that changes model buys its new
  stack whole (the old one is not resold);
- **recording** (CAPEX): per recorder, the TB kept for the retention period divided by the
  usable-capacity factor, in whole disks, in whole servers; disks and servers bought stay,
  a later year buys what is missing;
- **energy** (OPEX): switches' own draw, the PoE they supply (each camera at its class's
  full power: an upper bound), recorder servers and disks, all year round, at the price per
  kWh; **maintenance** (OPEX): a share of the equipment installed so far (optics, switches,
  recording; not fibre); **rent** (OPEX): leased fibre.

Years past the plan's last year up to the model's ``horizon_years`` keep the last design:
no purchases, the same running costs. Every year's total is discounted to year 1
(:mod:`~vidnet_sim.analysis.bill.npc`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from vidnet_sim.analysis.bill.model import BillModel, CostModelError
from vidnet_sim.analysis.bill.npc import discount_factor
from vidnet_sim.analysis.bill.switches import (
    PortNeed,
    SwitchChoice,
    choose_switches,
    purchase,
)
from vidnet_sim.analysis.cost import link_lengths
from vidnet_sim.analysis.vary import AnalysisInputError
from vidnet_sim.errors import Problem
from vidnet_sim.results.storage import SECONDS_PER_DAY, recorder_totals, storage_from
from vidnet_sim.scenario.groups import camera_streams, stream_group_name
from vidnet_sim.scenario.growth import plan_years, remap_problem, scenario_for_year
from vidnet_sim.scenario.model import Scenario

__all__ = [
    "CAPEX",
    "CATEGORIES",
    "OPEX",
    "SWITCHED_KINDS",
    "Bill",
    "YearDesign",
    "check_growth_plan",
    "check_plan",
    "nominal_storage",
    "plan_npc",
    "price_plan",
]

CAPEX = ("fibre", "optics", "switches", "recording")
OPEX = ("energy", "maintenance", "rent")
CATEGORIES = CAPEX + OPEX
#: Node kinds given switches from the catalogue (recorders are servers, gateways and data
#: centres are not the city's).
SWITCHED_KINDS = frozenset({"switch", "router", "site", "control_centre"})
_HOURS_PER_YEAR = 8_760


@dataclass(frozen=True)
class YearDesign:
    """One year of a plan: the year's scenario, the rate of every link (scenario link id →
    bit/s; links not given keep the scenario's rate) and, optionally, the storage the
    simulation measured (``None``: from the cameras' mean bitrates)."""

    year: int
    scenario: Scenario
    rates: Mapping[str, int] = field(default_factory=dict)
    storage: pd.DataFrame | None = None


@dataclass
class Bill:
    """The priced plan: ``years`` (one row per year and category column), the switches and
    recorders chosen each year, and the net present cost."""

    currency: str
    discount_rate: float
    years: pd.DataFrame
    switches: pd.DataFrame
    recorders: pd.DataFrame
    links: pd.DataFrame

    @property
    def npc(self) -> float:
        """Net present cost: the discounted totals of every year."""
        return float(self.years["discounted"].sum()) if len(self.years) else 0.0

    @property
    def total(self) -> float:
        """Undiscounted total of every year."""
        return float(self.years["total"].sum()) if len(self.years) else 0.0

    def link_capex(self) -> dict[tuple[int, str], float]:
        """(year, link) → the fibre and optics bought for the link that year."""
        t = self.links
        return {
            (int(y), str(lid)): float(f) + float(o)
            for y, lid, f, o in zip(
                t["year"], t["link"], t["fibre_capex"], t["optics_capex"], strict=True
            )
        }

    def to_json(self) -> dict[str, Any]:
        """The bill as plain JSON values."""
        return {
            "currency": self.currency,
            "discount_rate": self.discount_rate,
            "net_present_cost": self.npc,
            "total": self.total,
            "years": self.years.to_dict(orient="records"),
            "switches": self.switches.to_dict(orient="records"),
            "recorders": self.recorders.to_dict(orient="records"),
        }


def nominal_storage(scenario: Scenario) -> pd.DataFrame:
    """The storage table of ``scenario`` from its cameras' mean bitrates (no simulation,
    no alarms): what :func:`price_plan` uses for a year given no measured storage."""
    per_day = {
        stream_group_name(cam, st): cam.count * st.bitrate_bps / 8 * SECONDS_PER_DAY
        for cam in scenario.cameras
        for st in camera_streams(cam)
    }
    return storage_from(scenario, per_day)


def _node_needs(sc: Scenario, rates: Mapping[str, int]) -> dict[str, list[PortNeed]]:
    kinds = {n.id: n.kind for n in sc.nodes}
    needs: dict[str, list[PortNeed]] = {n: [] for n, k in kinds.items() if k in SWITCHED_KINDS}
    for cam in sc.cameras:
        if cam.attach in needs:
            needs[cam.attach] += [PortNeed(cam.access_rate, cam.poe_watts)] * cam.count
    for link in sc.links:
        rate = rates.get(str(link.id), link.rate)
        for end in (link.a, link.b):
            if end in needs:
                needs[end].append(PortNeed(rate))
    return {n: v for n, v in needs.items() if v}


def _rent(model: BillModel, lid: str, length_m: float) -> float | None:
    f = model.fibre
    if lid in f.rent:
        return f.rent[lid]
    if f.leased_per_link_year is None and f.leased_per_km_year is None:
        return None
    return (f.leased_per_link_year or 0.0) + (f.leased_per_km_year or 0.0) * length_m / 1000


def _missing_rents(sc: Scenario, model: BillModel) -> list[Problem]:
    return [
        Problem(
            f'links[{i}] (id="{link.id}").fibre',
            "the link is leased but the cost model gives no rent: set "
            f'fibre.rent."{link.id}", fibre.leased_per_link_year or fibre.leased_per_km_year',
        )
        for i, link in enumerate(sc.links)
        if sc.link_fibre(link) == "leased" and _rent(model, str(link.id), 0.0) is None
    ]


def _unknown_rents(scenarios: Sequence[Scenario], model: BillModel) -> list[Problem]:
    ids = {str(lk.id) for sc in scenarios for lk in sc.links}
    return [
        Problem(f'fibre.rent."{lid}"', "no link of the scenario has this id")
        for lid in sorted(set(model.fibre.rent) - ids)
    ]


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def check_plan(scenarios: Sequence[Scenario], model: BillModel, *, partial: bool = False) -> None:
    """Raise :class:`~vidnet_sim.analysis.bill.model.CostModelError` with every leased link
    of ``scenarios`` (the plan's years) the model gives no rent for, and (unless
    ``partial``: the first years only) every rent for a link no year has."""
    problems = _unique([p for sc in scenarios for p in _missing_rents(sc, model)])
    if not partial:
        problems += _unknown_rents(scenarios, model)
    if problems:
        raise CostModelError(problems)


def check_growth_plan(scenario: Scenario, data: dict[str, Any], model: BillModel) -> None:
    """:func:`check_plan` over every year of ``scenario``'s growth plan (``data``: its raw
    tables), the links a growth entry adds named by their place in it
    (``growth[0].links[0]``)."""
    years = [scenario_for_year(scenario, y) for y in plan_years(scenario)]
    problems = _unique(
        [
            remap_problem(p, data, year, note_year=False)
            for year, sc in zip(plan_years(scenario), years, strict=True)
            for p in _missing_rents(sc, model)
        ]
    )
    problems += _unknown_rents(years, model)
    if problems:
        raise CostModelError(problems)


def _fibre_capex(model: BillModel, status: str, length_m: float) -> float:
    f = model.fibre
    km = length_m / 1000
    return {
        "existing": f.existing_per_link,
        "duct": f.duct_per_km * km,
        "trench": f.trench_per_km * km,
        "leased": 0.0,
    }[status]


def price_plan(years: Sequence[YearDesign], model: BillModel) -> Bill:
    """The whole bill of the plan ``years`` (in order) under ``model`` (see the module doc).

    Raises :class:`~vidnet_sim.analysis.bill.model.CostModelError` for a leased link without
    a rent, and :class:`~vidnet_sim.analysis.vary.AnalysisInputError` for a rate without an
    optics price or a node no catalogue switch can serve.
    """
    check_plan([yd.scenario for yd in years], model, partial=True)
    rec = model.recording
    rows: list[dict[str, Any]] = []
    sw_rows: list[dict[str, Any]] = []
    rec_rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    prev_rate: dict[str, int] = {}
    prev_sw: dict[str, SwitchChoice] = {}
    prev_disks: dict[str, int] = {}
    prev_servers: dict[str, int] = {}
    installed = 0.0
    opex_last: dict[str, float] = dict.fromkeys(OPEX, 0.0)
    for yd in years:
        sc = yd.scenario
        lengths = link_lengths(sc)
        cost = dict.fromkeys(CATEGORIES, 0.0)
        rates = {str(lk.id): int(yd.rates.get(str(lk.id), lk.rate)) for lk in sc.links}
        for link in sc.links:
            lid, length = str(link.id), lengths[str(link.id)]
            status = sc.link_fibre(link)
            fibre = _fibre_capex(model, status, length) if lid not in prev_rate else 0.0
            optics = (
                2 * model.optics_price(rates[lid], length)
                if prev_rate.get(lid) != rates[lid]
                else 0.0
            )
            rent = (_rent(model, lid, length) or 0.0) if status == "leased" else 0.0
            cost["fibre"] += fibre
            cost["optics"] += optics
            cost["rent"] += rent
            link_rows.append(
                {
                    "year": yd.year,
                    "link": lid,
                    "rate_bps": rates[lid],
                    "length_m": length,
                    "fibre": status,
                    "fibre_capex": fibre,
                    "optics_capex": optics,
                    "rent": rent,
                }
            )
        watts = 0.0
        for node, needs in _node_needs(sc, rates).items():
            owned = prev_sw.get(node)
            choice = choose_switches(node, needs, model.switches, owned=owned)
            capex = purchase(owned, choice.model, choice.count)
            cost["switches"] += capex
            watts += choice.power_w
            prev_sw[node] = choice
            sw_rows.append(
                {
                    "year": yd.year,
                    "node": node,
                    "model": choice.model.name,
                    "count": choice.count,
                    "ports_used": choice.ports_used,
                    "poe_w": sum(choice.poe_w),
                    "poe_budget_w": choice.model.poe_budget_w * choice.count,
                    "power_w": choice.power_w,
                    "capex": capex,
                }
            )
        storage = yd.storage if yd.storage is not None else nominal_storage(sc)
        for _, r in recorder_totals(storage).iterrows():
            name = str(r["recorder"])
            raw_tb = float(r["tb_retention"]) / rec.usable_fraction
            disks = max(math.ceil(raw_tb / rec.disk_tb - 1e-9), prev_disks.get(name, 0))
            servers = max(math.ceil(disks / rec.disks_per_server), prev_servers.get(name, 0))
            capex = (disks - prev_disks.get(name, 0)) * rec.disk_tb * rec.price_per_tb + (
                servers - prev_servers.get(name, 0)
            ) * rec.server_price
            cost["recording"] += capex
            watts += servers * rec.server_power_w + disks * rec.disk_power_w
            prev_disks[name], prev_servers[name] = disks, servers
            rec_rows.append(
                {
                    "year": yd.year,
                    "recorder": name,
                    "tb_per_day": float(r["tb_per_day"]),
                    "tb_retention": float(r["tb_retention"]),
                    "raw_tb": raw_tb,
                    "disks": disks,
                    "servers": servers,
                    "capex": capex,
                }
            )
        installed += cost["optics"] + cost["switches"] + cost["recording"]
        cost["energy"] = watts * _HOURS_PER_YEAR / 1000 * model.energy_per_kwh
        cost["maintenance"] = model.maintenance_share * installed
        opex_last = {k: cost[k] for k in OPEX}
        rows.append(_year_row(yd.year, cost, model.discount_rate, power_w=watts))
        prev_rate = rates
    last = years[-1].year if years else 0
    horizon = max(model.horizon_years or last, last)
    for year in range(last + 1, horizon + 1):
        cost = {**dict.fromkeys(CAPEX, 0.0), **opex_last}
        rows.append(_year_row(year, cost, model.discount_rate, power_w=rows[-1]["power_w"]))
    table = pd.DataFrame(rows)
    if len(table):
        table["cumulative"] = table["total"].cumsum()
        table["cumulative_discounted"] = table["discounted"].cumsum()
    return Bill(
        model.currency,
        model.discount_rate,
        table,
        pd.DataFrame(sw_rows),
        pd.DataFrame(rec_rows),
        pd.DataFrame(link_rows),
    )


def plan_npc(years: Sequence[YearDesign], model: BillModel) -> float:
    """The net present cost of the plan ``years`` (:func:`price_plan`), infinite for a plan
    the model cannot equip (a rate without optics, a node no catalogue switch serves): what a
    search over designs minimises."""
    try:
        return price_plan(years, model).npc
    except AnalysisInputError:
        return math.inf


def _year_row(year: int, cost: dict[str, float], rate: float, power_w: float) -> dict[str, Any]:
    capex = sum(cost[k] for k in CAPEX)
    opex = sum(cost[k] for k in OPEX)
    factor = discount_factor(year, rate)
    return {
        "year": year,
        **cost,
        "capex": capex,
        "opex": opex,
        "total": capex + opex,
        "power_w": power_w,
        "discount_factor": factor,
        "discounted": (capex + opex) * factor,
    }
