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

:class:`YearPricer` gives the same net present cost as a function of the last year's rates,
in parts a search can minimise one by one (a sum over links and over nodes).

Years past the plan's last year up to the model's ``horizon_years`` keep the last design:
no purchases, the same running costs. Every year's total is discounted to year 1
(:mod:`~vidnet_sim.analysis.bill.npc`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from vidnet_sim.analysis.bill.model import BillModel, CostModelError
from vidnet_sim.analysis.bill.npc import discount_factor
from vidnet_sim.analysis.bill.recorded import recorded_level
from vidnet_sim.analysis.bill.switches import (
    PortNeed,
    SwitchChoice,
    choose_switches,
    purchase,
    stack_options,
)
from vidnet_sim.analysis.cost import link_lengths
from vidnet_sim.analysis.vary import AnalysisInputError
from vidnet_sim.errors import Problem
from vidnet_sim.results.storage import SECONDS_PER_DAY, recorder_totals, storage_from
from vidnet_sim.scenario.groups import camera_streams, stream_group_name
from vidnet_sim.scenario.growth import plan_years, remap_problem, scenario_for_year
from vidnet_sim.scenario.model import Link, Scenario
from vidnet_sim.traffic.behaviour import group_night_mean, stream_mean_scale
from vidnet_sim.traffic.generate import DAY_PS

__all__ = [
    "CAPEX",
    "CATEGORIES",
    "OPEX",
    "SWITCHED_KINDS",
    "Bill",
    "YearDesign",
    "YearPricer",
    "check_growth_plan",
    "check_plan",
    "day_storage",
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
    simulation measured (``None``: what the cameras record, :func:`nominal_storage`)."""

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


def nominal_storage(scenario: Scenario, span_ps: tuple[int, int] | None = None) -> pd.DataFrame:
    """The storage table of ``scenario`` from what its cameras record (no simulation): what
    :func:`price_plan` uses for a year given no measured storage. A stream records its mean
    bitrate times its camera group's behaviour, the mean multiplier of its motion
    (:func:`~vidnet_sim.traffic.behaviour.stream_mean_scale`), times the mean of its
    day/night level and its alarms' bitrate scale (:func:`~vidnet_sim.analysis.bill.
    recorded.recorded_level`: an alarm counts once, at its time), over a whole day, or at
    the rate of the span ``span_ps`` of simulation time (``(start, stop)``, ps: e.g. a
    run's measured time, to compare with what the run counted)."""
    span = span_ps or (0, DAY_PS)
    per_day = {
        stream_group_name(cam, st): cam.count
        * st.bitrate_bps
        / 8
        * SECONDS_PER_DAY
        # motion's mean (the same over any span) times day/night and alarms over the span
        * stream_mean_scale(cam, st)
        / group_night_mean(cam)
        * recorded_level(scenario, cam, *span)
        for cam in scenario.cameras
        for st in camera_streams(cam)
    }
    return storage_from(scenario, per_day)


def day_storage(
    scenario: Scenario, storage: pd.DataFrame, span_ps: tuple[int, int]
) -> pd.DataFrame:
    """``storage`` (a storage table measured by runs over ``span_ps`` of simulation time,
    each group's bytes at the span's rate scaled to a day) as a whole day records: each row
    times its camera group's recorded level over a day over the one over the span
    (:func:`~vidnet_sim.analysis.bill.recorded.recorded_level`: the day/night level times
    the alarms' scale; 1 without either; motion's multiplier is the same over any span). A
    run by night recorded the night's rate, at which a day is not recorded; a run with an
    alarm recorded it for a share of the run, not of a day (its extra bytes count once a
    day, whatever the run's length)."""
    groups = {cam.name: cam for cam in scenario.cameras}
    ratio = [
        recorded_level(scenario, groups[str(g)], 0, DAY_PS)
        / recorded_level(scenario, groups[str(g)], *span_ps)
        for g in storage["camera_group"]
    ]
    out = storage.copy()
    for col in ("bytes_per_day", "tb_per_day", "tb_retention"):
        out[col] = out[col] * ratio
    return out


def _camera_needs(sc: Scenario) -> dict[str, list[PortNeed]]:
    """Per switched node, the ports its cameras need (at their access rate, with PoE)."""
    kinds = {n.id: n.kind for n in sc.nodes}
    needs: dict[str, list[PortNeed]] = {n: [] for n, k in kinds.items() if k in SWITCHED_KINDS}
    for cam in sc.cameras:
        if cam.attach in needs:
            needs[cam.attach] += [PortNeed(cam.access_rate, cam.poe_watts)] * cam.count
    return needs


def _link_ends(sc: Scenario, nodes: Collection[str]) -> dict[str, list[str]]:
    """Per node of ``nodes``, the ids of the links that end there (one port each)."""
    ends: dict[str, list[str]] = {n: [] for n in nodes}
    for link in sc.links:
        for end in (link.a, link.b):
            if end in ends:
                ends[end].append(str(link.id))
    return ends


def _node_needs(sc: Scenario, rates: Mapping[str, int]) -> dict[str, list[PortNeed]]:
    cams = _camera_needs(sc)
    rate = _link_rates(sc, rates)
    ends = _link_ends(sc, cams)
    needs = {n: cams[n] + [PortNeed(rate[lid]) for lid in ends[n]] for n in cams}
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


def _optics_capex(model: BillModel, rate: int, prev: int | None, length_m: float) -> float:
    """Two transceivers when a link is built or changes rate, else nothing."""
    return 2 * model.optics_price(rate, length_m) if prev != rate else 0.0


def _link_rates(sc: Scenario, rates: Mapping[str, int]) -> dict[str, int]:
    return {str(lk.id): int(rates.get(str(lk.id), lk.rate)) for lk in sc.links}


def _energy(model: BillModel, watts: float) -> float:
    """A year of ``watts`` at the model's price per kWh."""
    return watts * _HOURS_PER_YEAR / 1000 * model.energy_per_kwh


class _Plan:
    """The state of a plan priced year by year: what is installed, and the rows so far."""

    def __init__(self, model: BillModel) -> None:
        self.model = model
        self.rows: list[dict[str, Any]] = []
        self.sw_rows: list[dict[str, Any]] = []
        self.rec_rows: list[dict[str, Any]] = []
        self.link_rows: list[dict[str, Any]] = []
        self.prev_rate: dict[str, int] = {}
        self.prev_sw: dict[str, SwitchChoice] = {}
        self.prev_disks: dict[str, int] = {}
        self.prev_servers: dict[str, int] = {}
        self.installed = 0.0  # optics, switches and recording bought so far
        self.opex_last: dict[str, float] = dict.fromkeys(OPEX, 0.0)

    def links(self, year: int, sc: Scenario, rates: dict[str, int], cost: dict[str, float]) -> None:
        """Fibre, optics and rent of the year's links (added to ``cost``)."""
        model, lengths = self.model, link_lengths(sc)
        for link in sc.links:
            lid, length = str(link.id), lengths[str(link.id)]
            status, fibre, rent = self.fixed(sc, link, length)
            optics = _optics_capex(model, rates[lid], self.prev_rate.get(lid), length)
            cost["fibre"] += fibre
            cost["optics"] += optics
            cost["rent"] += rent
            self.link_rows.append(
                {
                    "year": year,
                    "link": lid,
                    "rate_bps": rates[lid],
                    "length_m": length,
                    "fibre": status,
                    "fibre_capex": fibre,
                    "optics_capex": optics,
                    "rent": rent,
                }
            )

    def fixed(self, sc: Scenario, link: Link, length_m: float) -> tuple[str, float, float]:
        """A link's fibre status, fibre bought this year and yearly rent (whatever its rate)."""
        lid, status = str(link.id), sc.link_fibre(link)
        fibre = _fibre_capex(self.model, status, length_m) if lid not in self.prev_rate else 0.0
        rent = (_rent(self.model, lid, length_m) or 0.0) if status == "leased" else 0.0
        return status, fibre, rent

    def switches(
        self, year: int, sc: Scenario, rates: dict[str, int], cost: dict[str, float]
    ) -> float:
        """The switches of every node (their purchase added to ``cost``); their draw (W)."""
        watts = 0.0
        for node, needs in _node_needs(sc, rates).items():
            owned = self.prev_sw.get(node)
            choice = choose_switches(node, needs, self.model.switches, owned=owned)
            capex = purchase(owned, choice.model, choice.count)
            cost["switches"] += capex
            watts += choice.power_w
            self.prev_sw[node] = choice
            self.sw_rows.append(
                {
                    "year": year,
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
        return watts

    def recording(
        self, year: int, storage: pd.DataFrame, cost: dict[str, float], commit: bool = True
    ) -> float:
        """The recorders' disks and servers (their purchase added to ``cost``); their draw
        (W). ``commit=False``: priced without being installed."""
        rec = self.model.recording
        watts = 0.0
        for _, r in recorder_totals(storage).iterrows():
            name = str(r["recorder"])
            had_disks, had_servers = self.prev_disks.get(name, 0), self.prev_servers.get(name, 0)
            raw_tb = float(r["tb_retention"]) / rec.usable_fraction
            disks = max(math.ceil(raw_tb / rec.disk_tb - 1e-9), had_disks)
            servers = max(math.ceil(disks / rec.disks_per_server), had_servers)
            capex = (disks - had_disks) * rec.disk_tb * rec.price_per_tb + (
                servers - had_servers
            ) * rec.server_price
            cost["recording"] += capex
            watts += servers * rec.server_power_w + disks * rec.disk_power_w
            if not commit:
                continue
            self.prev_disks[name], self.prev_servers[name] = disks, servers
            self.rec_rows.append(
                {
                    "year": year,
                    "recorder": name,
                    "tb_per_day": float(r["tb_per_day"]),
                    "tb_retention": float(r["tb_retention"]),
                    "raw_tb": raw_tb,
                    "disks": disks,
                    "servers": servers,
                    "capex": capex,
                }
            )
        return watts

    def add_year(self, yd: YearDesign) -> None:
        """Price year ``yd`` and install what it buys."""
        model, sc = self.model, yd.scenario
        cost = dict.fromkeys(CATEGORIES, 0.0)
        rates = _link_rates(sc, yd.rates)
        self.links(yd.year, sc, rates, cost)
        watts = self.switches(yd.year, sc, rates, cost)
        storage = yd.storage if yd.storage is not None else nominal_storage(sc)
        watts += self.recording(yd.year, storage, cost)
        self.installed += cost["optics"] + cost["switches"] + cost["recording"]
        cost["energy"] = _energy(model, watts)
        cost["maintenance"] = model.maintenance_share * self.installed
        self.opex_last = {k: cost[k] for k in OPEX}
        self.rows.append(_year_row(yd.year, cost, model.discount_rate, power_w=watts))
        self.prev_rate = rates


def price_plan(years: Sequence[YearDesign], model: BillModel) -> Bill:
    """The whole bill of the plan ``years`` (in order) under ``model`` (see the module doc).

    Raises :class:`~vidnet_sim.analysis.bill.model.CostModelError` for a leased link without
    a rent, and :class:`~vidnet_sim.analysis.vary.AnalysisInputError` for a rate without an
    optics price or a node no catalogue switch can serve.
    """
    check_plan([yd.scenario for yd in years], model, partial=True)
    plan = _Plan(model)
    for yd in years:
        plan.add_year(yd)
    rows = plan.rows
    last = years[-1].year if years else 0
    for year in range(last + 1, _horizon(model, last) + 1):
        cost = {**dict.fromkeys(CAPEX, 0.0), **plan.opex_last}
        rows.append(_year_row(year, cost, model.discount_rate, power_w=rows[-1]["power_w"]))
    table = pd.DataFrame(rows)
    if len(table):
        table["cumulative"] = table["total"].cumsum()
        table["cumulative_discounted"] = table["discounted"].cumsum()
    return Bill(
        model.currency,
        model.discount_rate,
        table,
        pd.DataFrame(plan.sw_rows),
        pd.DataFrame(plan.rec_rows),
        pd.DataFrame(plan.link_rows),
    )


def _horizon(model: BillModel, last: int) -> int:
    """The plan's last priced year: its last year, or the model's ``horizon_years``."""
    return max(model.horizon_years or last, last)


class YearPricer:
    """The net present cost of a plan as a function of its last year's link rates, in parts
    that can each be minimised alone: what a search over that year's designs needs.

    ``before``: the plan's years so far; ``scenario``: the last year's (``year``), priced
    with what its cameras record (:func:`nominal_storage`), like :func:`plan_npc` of
    ``[*before, YearDesign(year, scenario, rates)]``. With the years before fixed, only the
    optics bought this year, the switches and their draw depend on the rates; everything
    else (the years before, fibre, rent, recording) is a constant ``K``. Bought in year *y*
    and kept to the plan's last priced year *H*, a purchase weighs ``d_y + m × S`` (its
    discount factor, and the maintenance share *m* of it every year from *y* to *H*:
    ``S = d_y + … + d_H``) and a watt drawn weighs ``S`` years of energy, so

        NPC(rates) = K + Σ_links w·optics(link, rate) + Σ_nodes (w·purchase + e·draw)(node)

    where a link's optics depend on its own rate only and a node's switches on the rates of
    the links that end there (:meth:`npc`; equal to :func:`plan_npc` up to rounding, a tested
    identity). :meth:`npc_bound` bounds from below the cost of every rate vector drawn from
    given sets: each link's optics at their least over its set, each node at the least
    purchase and the least draw among the smallest stacks of each catalogue model for its
    links' slowest rates, which no faster rates can undercut (a stack that fits also fits
    slower needs: :mod:`~vidnet_sim.analysis.bill.switches`).
    """

    def __init__(
        self, before: Sequence[YearDesign], year: int, scenario: Scenario, model: BillModel
    ) -> None:
        check_plan([*(yd.scenario for yd in before), scenario], model, partial=True)
        plan = _Plan(model)
        for yd in before:
            plan.add_year(yd)
        self.model, self.scenario, self.plan = model, scenario, plan
        r = model.discount_rate
        now = discount_factor(year, r)
        later = sum(discount_factor(t, r) for t in range(year, _horizon(model, year) + 1))
        self.capex_weight = now + model.maintenance_share * later
        self.watt_weight = _energy(model, 1.0) * later
        self.lengths = link_lengths(scenario)
        self.own_rate = {str(lk.id): int(lk.rate) for lk in scenario.links}
        cost = dict.fromkeys(CATEGORIES, 0.0)
        for link in scenario.links:
            _, fibre, rent = plan.fixed(scenario, link, self.lengths[str(link.id)])
            cost["fibre"] += fibre
            cost["rent"] += rent
        rec_watts = plan.recording(year, nominal_storage(scenario), cost, commit=False)
        self.constant = (
            sum(row["discounted"] for row in plan.rows)
            + now * (cost["fibre"] + cost["recording"])
            + later
            * (
                cost["rent"]
                + _energy(model, rec_watts)
                + model.maintenance_share * (plan.installed + cost["recording"])
            )
        )
        self.cameras = _camera_needs(scenario)
        self.ends = _link_ends(scenario, self.cameras)
        self.nodes = [n for n in self.cameras if self.cameras[n] or self.ends[n]]
        self.nodes_of: dict[str, set[str]] = {}  # link id -> the priced nodes it ends at
        for n in self.nodes:
            for lid in self.ends[n]:
                self.nodes_of.setdefault(lid, set()).add(n)
        self.link_memo: dict[tuple[str, int], float] = {}
        # nodes of the same cameras and the same switches in place cost the same at the same
        # rates (the node's name only labels its stack): one memo entry for them all
        self.shape: dict[str, tuple[int, tuple[int, int] | str | None]] = {}
        kinds: dict[tuple[PortNeed, ...], int] = {}
        for n in self.nodes:
            cams = kinds.setdefault(tuple(self.cameras[n]), len(kinds))
            self.shape[n] = (cams, self._owned_key(n))
        self.node_memo: dict[tuple[Any, tuple[int, ...]], float] = {}
        self.floor_memo: dict[tuple[Any, tuple[int, ...]], float] = {}
        self.link_ids = list(self.own_rate)
        at = {lid: k for k, lid in enumerate(self.link_ids)}
        self.end_at = [[at[lid] for lid in self.ends[n]] for n in self.nodes]
        # per link position, the positions in ``nodes`` of the priced nodes it ends at
        self.node_at: list[list[int]] = [[] for _ in self.link_ids]
        for j, ks in enumerate(self.end_at):
            for k in sorted(set(ks)):
                self.node_at[k].append(j)
        self.last_npc = _Terms()
        self.last_bound = _Terms()
        self.at = at  # link id -> its position in ``link_ids``
        # the terms of the designs moves were priced from lately (``npc_moved``), by key
        self.bases: dict[tuple[str, Hashable], _Terms] = {}

    def link_cost(self, lid: str, rate: int) -> float:
        """The weighted optics of link ``lid`` at ``rate`` (infinite: no optics price)."""
        key = (lid, rate)
        if key not in self.link_memo:
            try:
                optics = _optics_capex(
                    self.model, rate, self.plan.prev_rate.get(lid), self.lengths[lid]
                )
            except AnalysisInputError:
                optics = math.inf
            self.link_memo[key] = self.capex_weight * optics
        return self.link_memo[key]

    def _owned_key(self, node: str) -> tuple[int, int] | str | None:
        """What of ``node``'s switches in place its price depends on: their model (its
        place in the catalogue) and count; ``None``: none; the node itself when its model
        is not in the catalogue."""
        owned = self.plan.prev_sw.get(node)
        if owned is None:
            return None
        k = next((k for k, m in enumerate(self.model.switches) if m == owned.model), None)
        return node if k is None else (k, owned.count)

    def _needs(self, node: str, rates: tuple[int, ...]) -> list[PortNeed]:
        return self.cameras[node] + [PortNeed(r) for r in rates]

    def node_cost(self, node: str, rates: tuple[int, ...]) -> float:
        """The weighted purchase and draw of ``node``'s switches, its links (``ends``) at
        ``rates`` (infinite: no stack serves it). The stacks depend on the node's needs as
        a multiset (:func:`~vidnet_sim.analysis.bill.switches.stack_shares` deals them in a
        sorted order): one memo entry for every order of the same rates (a ring node's
        twenty uplinks at the same rates, whichever of them moved)."""
        rates = tuple(sorted(rates))
        key = (self.shape[node], rates)
        if key not in self.node_memo:
            owned = self.plan.prev_sw.get(node)
            try:
                c = choose_switches(
                    node, self._needs(node, rates), self.model.switches, owned=owned
                )
            except AnalysisInputError:
                self.node_memo[key] = math.inf
            else:
                self.node_memo[key] = (
                    self.capex_weight * purchase(owned, c.model, c.count)
                    + self.watt_weight * c.power_w
                )
        return self.node_memo[key]

    def node_floor(self, node: str, slowest: tuple[int, ...]) -> float:
        """No rates at least ``slowest`` give ``node`` a cost below this (see the class doc;
        one memo entry for every order of the same rates, as :meth:`node_cost`)."""
        slowest = tuple(sorted(slowest))
        key = (self.shape[node], slowest)
        if key not in self.floor_memo:
            owned = self.plan.prev_sw.get(node)
            options = stack_options(
                node, self._needs(node, slowest), self.model.switches, owned=owned
            )
            self.floor_memo[key] = (
                self.capex_weight * min(purchase(owned, o.model, o.count) for o in options)
                + self.watt_weight * min(o.power_w for o in options)
                if options
                else math.inf
            )
        return self.floor_memo[key]

    def share_a_node(self, a: str, b: str) -> bool:
        """Do links ``a`` and ``b`` end at a node whose switches :meth:`npc` prices? Only
        then does the cost of moving both differ from the sum of moving each alone (the
        other parts depend on one link each, or on none)."""
        return bool(self.nodes_of.get(a, set()) & self.nodes_of.get(b, set()))

    def npc(self, rates: Mapping[str, int]) -> float:
        """The plan's net present cost with the last year's links at ``rates`` (link id →
        bit/s; a link not given keeps the scenario's rate); infinite when the model cannot
        equip it."""
        return self._total(
            self.last_npc,
            self._values(rates, own_rate=True),
            self._link_npc,
            self._node_npc,
        )

    def npc_bound(self, choices: Mapping[str, Collection[int]]) -> float:
        """A lower bound of :meth:`npc` over every rate vector with each link's rate in
        ``choices`` (link id → possible rates; a link not given keeps the scenario's)."""
        return self._total(
            self.last_bound,
            self._values(choices, own_rate=False),
            self._link_bound,
            self._node_bound,
        )

    def npc_moved(
        self, base: Hashable, rates: Callable[[], Mapping[str, int]], changes: Mapping[str, int]
    ) -> float:
        """:meth:`npc` of the rates ``rates()`` with the links in ``changes`` at those rates,
        to the bit, priced from the terms of ``rates()`` (kept under the caller's key
        ``base`` for the last few bases): only the links moved and the nodes they end at
        are priced, and no map of every link is built (a search prices many moves of one
        design: a design's children, the local improvement's moves)."""
        return self._moved(
            ("npc", base),
            lambda: self._values(rates(), own_rate=True),
            {self.at[lid]: r for lid, r in changes.items()},
            self._link_npc,
            self._node_npc,
        )

    def npc_bound_moved(
        self,
        base: Hashable,
        choices: Callable[[], Mapping[str, Collection[int]]],
        changes: Mapping[str, Collection[int]],
    ) -> float:
        """:meth:`npc_bound` of ``choices()`` with the links in ``changes`` given those
        choices, to the bit, priced from the terms of ``choices()`` (as :meth:`npc_moved`)."""
        return self._moved(
            ("bound", base),
            lambda: self._values(choices(), own_rate=False),
            {self.at[lid]: c for lid, c in changes.items()},
            self._link_bound,
            self._node_bound,
        )

    def _link_npc(self, k: int, rate: int) -> float:
        return self.link_cost(self.link_ids[k], int(rate))

    def _node_npc(self, j: int, values: list[Any]) -> float:
        return self.node_cost(self.nodes[j], tuple(int(values[k]) for k in self.end_at[j]))

    def _link_bound(self, k: int, rates: Collection[int]) -> float:
        return min(self.link_cost(self.link_ids[k], r) for r in rates)

    def _node_bound(self, j: int, values: list[Any]) -> float:
        return self.node_floor(self.nodes[j], tuple(min(values[k]) for k in self.end_at[j]))

    def _values(self, given: Mapping[str, Any], own_rate: bool) -> list[Any]:
        """Each link's value in ``given`` (a rate, or the rates to choose from), in the
        order of ``link_ids``; a link not given at the scenario's rate."""
        own = self.own_rate
        if own_rate:
            return [given.get(lid, own[lid]) for lid in self.link_ids]
        return [given.get(lid) or (own[lid],) for lid in self.link_ids]

    def _moved(
        self,
        key: tuple[str, Hashable],
        base: Callable[[], list[Any]],
        changes: dict[int, Any],
        link_term: Callable[[int, Any], float],
        node_term: Callable[[int, list[Any]], float],
    ) -> float:
        """What :meth:`_total` gives for the vector ``base()`` with ``changes`` (position ->
        value), from the terms of ``base()`` kept under ``key``: the same terms summed in
        the same order (the same bits)."""
        terms = self.bases.get(key)
        if terms is None:
            terms = _Terms()
            self._total(terms, base(), link_term, node_term)
            if len(self.bases) >= _BASES:  # the oldest first
                del self.bases[next(iter(self.bases))]
            self.bases[key] = terms
        assert terms.values is not None
        values, links, nodes = list(terms.values), list(terms.links), list(terms.nodes)
        redo: set[int] = set()
        for k, x in changes.items():
            if x != values[k]:
                values[k] = x
                links[k] = link_term(k, x)
                redo.update(self.node_at[k])
        for j in redo:
            nodes[j] = node_term(j, values)
        return float(self.constant + sum(links) + sum(nodes))

    def _total(
        self,
        last: _Terms,
        values: list[Any],
        link_term: Callable[[int, Any], float],
        node_term: Callable[[int, list[Any]], float],
    ) -> float:
        """``constant`` + the links' terms + the nodes' terms, summed in that order (so the
        same floating-point sum whatever was asked before), each term computed anew only
        for the links whose value differs from the vector asked last (``last``) and the
        nodes they end at: a design of the search differs from the one costed before it in
        a few links, and summing the memoised terms of every link and node anew costs far
        more than the terms that changed."""
        if last.values is None or len(last.values) != len(values):
            links = [link_term(k, x) for k, x in enumerate(values)]
            nodes = [node_term(j, values) for j in range(len(self.nodes))]
        else:
            links, nodes = list(last.links), list(last.nodes)
            redo: set[int] = set()
            for k, (x, y) in enumerate(zip(values, last.values, strict=True)):
                if x != y:
                    links[k] = link_term(k, x)
                    redo.update(self.node_at[k])
            for j in redo:
                nodes[j] = node_term(j, values)
        last.values, last.links, last.nodes = values, links, nodes
        return float(self.constant + sum(links) + sum(nodes))


#: Designs whose terms :meth:`YearPricer.npc_moved` keeps to price moves from.
_BASES = 8


@dataclass
class _Terms:
    """The vector :meth:`YearPricer._total` priced last and its links' and nodes' terms."""

    values: list[Any] | None = None
    links: list[float] = field(default_factory=list)
    nodes: list[float] = field(default_factory=list)


def plan_npc(years: Sequence[YearDesign], model: BillModel, *, tail: bool = True) -> float:
    """The net present cost of the plan ``years`` (:func:`price_plan`), infinite for a plan
    the model cannot equip (a rate without optics, a node no catalogue switch serves): what a
    search over designs minimises. ``tail=False``: the discounted costs of the years given
    only, none after the last (no more than the net present cost of any plan that starts
    with them, every cost being at least 0)."""
    try:
        bill = price_plan(years, model)
    except AnalysisInputError:
        return math.inf
    if tail or not years:
        return bill.npc
    t = bill.years
    return float(t.loc[t["year"] <= years[-1].year, "discounted"].sum())


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
