"""Costed sizing over a growth plan: the cheapest rate tier per link meeting every SLA.

For each year of the scenario's growth plan (:mod:`vidnet_sim.scenario.growth`; just year 1
without one), :func:`size_network` chooses a rate tier for every scenario link so that every
SLA target holds in simulation, at the least cost **for that year**, given that a link never
goes down a tier: the links of year *y* start from their tiers of year *y − 1*. A link is
paid for when it is built (optics and ports at both ends, and the fibre when
``CostModel.new_fibre``) and again whenever it moves up a tier (new optics and ports).
With the whole bill (``bill``), the cost of a year's design is instead the net present cost
of the plan so far with it (:func:`plan_cost`: fibre, optics, switches, recording, running
costs), which can fall with a faster tier. That cost is a sum of parts each minimised alone
(:class:`~vidnet_sim.analysis.bill.YearPricer`: optics per link, switches and their draw per
node, the rest fixed), which gives the search a lower bound over the designs at or above any
design without enumerating them (:mod:`~vidnet_sim.analysis.search`): the answer stays the
cheapest feasible design, however many links the year has. The search covers every tier
the model prices, a tier whose optics cost as much as a faster tier's included: the verdicts
are not monotone (a slower link smooths the bursts it passes on), and with the whole bill
its switch ports or their draw may cost less.

The search of one year (:mod:`vidnet_sim.analysis.search`; simulation decides, only sound
bounds prune):

1. **floor**: each link at least at its tier of the year before and at or above its mean
   offered load with headers (sum of means: no slower tier can carry it in steady state); a link
   whose mean load exceeds the fastest tier, or a latency target below a class's
   propagation delay, makes the SLA unreachable at once (exit 3);
2. **best first in cost order** from the floor design (one link one tier up at a time, a
   seen-set), ordered by where failing classes were dropped or waited longest in the
   designs judged so far, equal costs by what the later years would cost at their floors
   (:func:`_later_cost`), then the most capacity; the fastest design is judged second, as
   an incumbent. The
   first feasible design in cost order is reported **optimal** (for the simulated
   verdicts). Links that no class with an SLA crosses move like any other (their tier
   shifts when and in what bursts their traffic reaches a queue it shares with an SLA
   class); groups of links given with ``one_tier`` move together;
3. after ``max_designs`` verdicts, the cheapest feasible design found is improved locally
   (every single-link downgrade, largest saving first, kept when every SLA still holds,
   then moves of two links at once: capacity moved from one to another)
   and reported **best found, not proven optimal** with the gap to the lower bound;
4. when no design is feasible, sizing stops (exit 3) naming the year, the class, the
   metric and the link on the class's path where it fails (and, when the tiers bought
   before left designs out, that a plan over the years may still exist).

Year by year is not the cheapest plan over the years: a faster tier bought earlier can cost
less than an upgrade later, and the verdicts not being monotone, a year's cheapest design can
leave a later year nothing feasible. With ``over_the_years`` (when the years have at most
:data:`MAX_PLANS` plans), the plan of least cost over all the years is found first
(:mod:`~vidnet_sim.analysis.horizon`) and the years are sized with its designs.
:attr:`SizingResult.claim` says which the answer is.

The culprit of a failing design is read from the failing class's own path: the sized link
where its packets were dropped, else where they waited longest
(:mod:`vidnet_sim.analysis.explain`); designs are judged by :mod:`vidnet_sim.analysis.verdict`.

Each design is judged like a capacity value (:func:`~vidnet_sim.analysis.capacity._judge`):
replications until every target's confidence interval is clear of it (or
``max_replications``); every design of a year uses the same seeds (common random numbers);
runs are stored and reused (:class:`~vidnet_sim.analysis.runs.RunCache`). Beside it, the
design the 60 % rule would buy (the slowest useful tier with the sum of means ≤ 60 % of
its rate, also monotone over the years) is costed and simulated, and the Gaussian
equivalent capacity and network-calculus bound are computed for the chosen design.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vidnet_sim.analysis import search as year_search
from vidnet_sim.analysis.bill import (
    Bill,
    BillModel,
    YearDesign,
    YearPricer,
    check_growth_plan,
    day_storage,
    plan_npc,
    price_plan,
)
from vidnet_sim.analysis.capacity import Verdict, show_value, sla_columns
from vidnet_sim.analysis.cost import CostModel, link_lengths, scenario_links
from vidnet_sim.analysis.estimates import estimate
from vidnet_sim.analysis.explain import (
    _binding_hop,
    _case_table,
    _cause_text,
    _judgement,
    _reasons,
    _show_rate,
    binding_warnings,
)
from vidnet_sim.analysis.horizon import count_plans, previous_levels, search_plan, year_designs
from vidnet_sim.analysis.runs import RunRecord, duration_warnings
from vidnet_sim.analysis.search import (
    QUEUED,
    VERDICTS,
    Judgement,
    YearOutcome,
    YearSpace,
    floor_design,
    search_year,
    tie,
)
from vidnet_sim.analysis.search import Trial as SearchTrial
from vidnet_sim.analysis.vary import AnalysisInputError, load_raw
from vidnet_sim.analysis.verdict import (
    _INTERVALS,
    _class_paths,
    _Context,
    _evaluate,
    _failure_cases,
    _measured_sources,
    _per_link,
    _rates,
    _RunsFailedError,
    _Year,
)
from vidnet_sim.errors import ScenarioError
from vidnet_sim.execute import Executor, ProgressFn, ProgressTracker
from vidnet_sim.network.plan import build_plan
from vidnet_sim.results.metric_words import metric_words
from vidnet_sim.results.storage import mean_storage
from vidnet_sim.runner import sla_targets
from vidnet_sim.scenario import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.bounds import MAX_DURATION_PS, MIN_REPORT_INTERVAL_PS
from vidnet_sim.scenario.growth import plan_years, remap_problem, year_data
from vidnet_sim.scenario.model import Scenario, Sizing
from vidnet_sim.scenario.units import format_time, parse_time

__all__ = [
    "MAX_PLANS",
    "VENDOR_CEILING",
    "SizingResult",
    "SizingStoppedError",
    "Trial",
    "YearSizing",
    "size_network",
]

#: A year's pricing with the whole bill (:func:`plan_cost`): a design's cost, its lower
#: bound at or above it, whether two links (positions) share a part of it, and the cost
#: and bound of a design with some links moved, priced from it.
_Pricing = tuple[
    Callable[[tuple[int, ...]], float],
    Callable[[tuple[int, ...]], float],
    Callable[[int, int], bool],
    Callable[[tuple[int, ...], Mapping[int, int]], float],
    Callable[[tuple[int, ...], Mapping[int, int]], float],
]

#: The vendor-tool rule: the sum of the mean rates on a link at most this share of its rate.
VENDOR_CEILING = 0.6


@dataclass
class Trial:
    """One design of one year: its rates, its CAPEX that year and its verdict (``ok`` is
    ``None`` for a design skipped without simulating)."""

    year: int
    rates: dict[str, int]
    capex: float
    ok: bool | None
    binding: dict[str, Any] = field(default_factory=dict)
    uncertain: bool = False
    replications: int = 0
    note: str = ""
    cause: str = ""  # the worst failure: class, metric, value > target, on which link
    # the runs of the case its verdict is read from (``case``) were extended to this many
    # times the duration (steady state)
    duration_factor: int = 1
    case: str = "normal"  # the case its verdict is read from: normal, or the failing one


@dataclass
class YearSizing:
    """The design chosen for one year and what it was judged on."""

    year: int
    rates: dict[str, int]  # scenario link id -> rate (bit/s), in file order
    previous: dict[str, int | None]  # rate the year before (None: built this year)
    lengths_m: dict[str, float]
    link_capex: dict[str, float]  # what each link costs this year (0: unchanged)
    verdict: Verdict
    records: list[RunRecord]
    trials: list[Trial]
    optimal: bool  # proven the cheapest feasible design (for the simulated verdicts)
    load_bps: dict[str, float]  # sum of means, the busier direction
    gaussian_bps: dict[str, float]  # Gaussian equivalent capacity, the busier direction
    utilisation: dict[str, float]  # simulated, the busier direction
    nc_bound_ps: dict[str, float]  # per class, network-calculus bound of the chosen design
    vendor_rates: dict[str, int]
    vendor_capex: float
    vendor_verdict: Verdict | None
    vendor_over: list[str]  # links over 60 % of the rule's fastest tier (the rule has none)
    counts: dict[str, int]  # cameras, camera groups, sources, services, links
    lower_bound: float = math.nan  # no feasible design of the year costs less (nan: unknown)
    cost: float = math.nan  # what the search minimised: the year's CAPEX, or the plan's NPC
    floor_rates: dict[str, int] = field(default_factory=dict)  # tiers the search starts from
    reasons: dict[str, dict[str, Any]] = field(default_factory=dict)  # link built / upgraded
    binding_hop: dict[str, Any] = field(default_factory=dict)  # binding SLA and its hop
    cases: list[dict[str, Any]] = field(default_factory=list)  # normal + failure cases (N-1)
    transient: list[str] = field(default_factory=list)  # metrics still growing at the limit
    extended: dict[str, int] = field(default_factory=dict)  # case -> duration factor (> 1)
    scenario: Scenario | None = None  # the year's scenario (for the whole bill)
    nc_notes: list[str] = field(default_factory=list)  # what the nc bound assumes (VBR caps)
    # the search's budgets that ran out, in that order ("queued": MAX_QUEUED designs,
    # "verdicts": --max-designs; empty: it ended on its own), its expansions and queue
    budgets: tuple[str, ...] = ()
    expansions: int = 0
    queued: int = 0

    @property
    def vendor_note(self) -> str:
        """The links whose mean load is over 60 % even at the fastest tier (the 60 % rule has
        no tier for them: its design has them at the fastest), as a sentence; ``""`` when
        none is."""
        if not self.vendor_over:
            return ""
        return f"over {VENDOR_CEILING * 100:g} % even at the fastest tier: " + ", ".join(
            self.vendor_over
        )

    @property
    def status(self) -> str:
        """``optimal`` or ``best found, not proven optimal``."""
        return "optimal" if self.optimal else "best found, not proven optimal"

    @property
    def gap(self) -> float:
        """What the search minimised (the year's CAPEX, or the plan's net present cost with
        the whole bill) above the best lower bound: 0 when optimal, nan when unknown."""
        return 0.0 if self.optimal else max(self.cost - self.lower_bound, 0.0)

    @property
    def capex(self) -> float:
        """The year's CAPEX: links built or upgraded."""
        return float(sum(self.link_capex.values()))

    @property
    def upgrades(self) -> list[str]:
        """Links built or moved up a tier this year."""
        return [lid for lid, c in self.link_capex.items() if c > 0]

    @property
    def simulated(self) -> int:
        """How many designs were simulated for this year."""
        return sum(t.ok is not None for t in self.trials)

    def binding(self) -> dict[str, Any]:
        """The target closest to its limit in the chosen design (class, metric, mean,
        target, margin ``1 − mean / target``), among the classes present this year."""
        c = self.verdict.checks
        c = c[c["class"].isin(self.classes)]
        if not len(c):
            return {}
        row = c.sort_values("ratio", ascending=False).iloc[0]
        return {
            "class": str(row["class"]),
            "metric": str(row["metric"]),
            "mean": float(row["mean"]),
            "target": float(row["target"]),
            "margin": 1.0 - float(row["mean"]) / float(row["target"]),
        }

    @property
    def classes(self) -> set[str]:
        """Traffic classes present this year (the SLA of a class not yet there is moot)."""
        out: set[str] = set()
        for r in self.records:
            if r.summary is not None:
                out |= set(r.summary.loc[r.summary["level"] == "class", "name"].astype(str))
        return out


@dataclass
class SizingResult:
    """Every year sized (``years``), and why the sizing stopped early, if it did."""

    file: str
    name: str
    description: str
    horizon: int
    targets: dict[str, dict[str, float]]
    model: CostModel
    settings: dict[str, Any]
    years: list[YearSizing] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None  # the message when a year could not be sized
    stopped_year: int | None = None
    bill: Bill | None = None  # the whole bill of the sized design (with a BillModel)
    vendor_bill: Bill | None = None  # the whole bill of the 60 % rule's design
    vendor_error: str | None = None  # why the 60 % rule's design has no bill
    # the plans of the years compared (plans: how many, None: too many; over_the_years:
    # the plan is the cheapest over all the years; judged: designs judged for it; changed:
    # the years whose design differs from the one chosen year by year)
    plan_search: dict[str, Any] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        """The cost model's currency."""
        return self.model.currency

    @property
    def partial(self) -> bool:
        """Did sizing stop before the horizon, or did runs fail?"""
        return self.stopped is not None or bool(self.failures)

    @property
    def total_capex(self) -> float:
        """CAPEX over the years sized."""
        return float(sum(y.capex for y in self.years))

    @property
    def total_cost(self) -> float:
        """Alias of :attr:`total_capex`."""
        return self.total_capex

    @property
    def claim(self) -> str:
        """What the plan is, exactly (what a council may be told): the design of least
        cost (one year), the plan of least cost over all the years (``over_the_years``,
        when every plan was compared), else each year's design the cheapest feasible one
        given the designs of the years before, and why."""
        one_year = len(self.settings.get("years", [])) == 1
        keep = (
            "keep every link at or above "
            + ("" if one_year else "its tier of the year before and ")
            + "the mean load it is offered, and meet every SLA in simulation"
            + (
                " (and with any one protected link failed)"
                if self.settings.get("survive") == "single-link"
                else ""
            )
        )
        what = self.settings.get("objective", "CAPEX of the year")
        best = [y.year for y in self.years if not y.optimal]
        unproven = f" (best found, not proven optimal, in {_years(best)})" if best else ""
        search = self.plan_search
        n = search.get("plans")
        if one_year:
            return f"The design is the one of least {what} among the designs that {keep}{unproven}."
        total = "net present cost" if self.bill is not None else "CAPEX over the years"
        if search.get("over_the_years"):
            return (
                f"The plan has the least {total} among the plans that, every year, {keep}: "
                f"all {n} plans of the years were compared (every cheaper one is infeasible "
                "in some year)."
            )
        lower, cost = search.get("lower_bound", math.nan), self.plan_cost
        stopped = _plans_stopped(search)
        if search.get("wanted") and not search.get("complete") and cost <= lower + tie(lower):
            return (
                f"The plan has the least {total} among the plans that, every year, {keep}: "
                f"{stopped}, when every plan costing less than {self._money(lower)} was ruled "
                f"out (infeasible in some year); this plan, chosen year by year, costs "
                f"{self._money(cost)}."
            )
        if search.get("wanted") and search.get("complete"):
            why = " (no plan of the years meets every SLA every year)"
        elif search.get("wanted") and n is not None:
            why = (
                f" ({stopped}: it proved only that no plan meeting every SLA every year costs "
                f"less than {self._money(lower)} in {total}"
                + (f"; this plan costs {self._money(cost)}" if math.isfinite(cost) else "")
                + "; raise --max-designs to compare them all)"
            )
        elif search.get("wanted"):
            why = f" (more than {search.get('max_plans')} plans: too many to compare)"
        elif n is not None:
            why = f" (size --over-the-years compares the {n} plans of the years)"
        else:
            why = ""
        return (
            f"Each year's design is the one of least {what} among the designs that "
            f"{keep}{unproven}. The plan is chosen year by year, not over all years at "
            f"once{why}: a faster tier bought earlier can cost less over the years than a "
            "later upgrade, so a plan cheaper over all the years may exist."
        )

    @property
    def plan_cost(self) -> float:
        """What the plan costs as its search counted it: the whole bill's net present cost
        of the years sized (every year's recording from what its cameras record, as the
        search priced it), else their CAPEX; nan when sizing stopped before the last year."""
        if self.stopped is not None or not self.years:
            return math.nan
        return self.years[-1].cost if self.bill is not None else self.total_capex

    def _money(self, value: float) -> str:
        return f"{value:,.2f} {self.currency}"

    def cost_bounds(self) -> dict[str, Any]:
        """What the search proved about cost, per year and for the plan (``size.json``
        ``cost_bounds``): each entry's ``cost`` (the cheapest found), ``lower_bound`` (no
        design, or plan, meeting every SLA costs less: proven; ``None`` when nothing is),
        ``gap`` (``cost − lower_bound``), ``optimal`` (the gap closed) and
        ``statement`` (all of it in words: what is proven and what is not), in
        ``currency``; each year's ``budgets``: which of its search's budgets ran out, in
        that order (``queued``: its limit of designs queued, ``verdicts``: --max-designs;
        empty: the search ended on its own) and its ``work``: designs ``judged``,
        ``expanded`` (their children queued) and ``queued``; a year's cost is what its
        search minimised (``year_cost``), the plan's is ``plan_cost``."""
        whole = self.bill is not None
        out: dict[str, Any] = {
            "currency": self.currency,
            "year_cost": "net present cost of the plan so far (that year's design included)"
            if whole
            else "CAPEX of the year",
            "plan_cost": "net present cost of the plan" if whole else "CAPEX over the years",
            "years": [],
        }
        planned = bool(self.plan_search.get("over_the_years"))
        for y in self.years:
            if planned:  # the plan's bound, not the year's: the year alone may cost less
                entry = _bound_entry(y.cost, math.nan, False)
                entry["statement"] = (
                    f"year {y.year}: {self._money(y.cost)}, the year of the plan of least "
                    "cost over all the years (the plan's bound is proven, below; a design "
                    "of this year alone may cost less, for more later)"
                )
            else:
                entry = _bound_entry(y.cost, y.lower_bound, y.optimal)
                entry["statement"] = self._bound_words(
                    f"year {y.year}",
                    "design",
                    entry,
                    self._year_unproven(y),
                    "" if y is self.years[0] else " given the years before",
                )
            entry["budgets"] = list(y.budgets)
            entry["work"] = {"judged": y.simulated, "expanded": y.expansions, "queued": y.queued}
            out["years"].append({"year": y.year, **entry})
        out["plan"] = self._plan_bound()
        return out

    def unproven_why(self) -> str:
        """Why the years not proven optimal are not, and what may help: which budget of
        their searches ran out (a sentence of the report's risks, after the years)."""
        queued = [y.year for y in self.years if not y.optimal and QUEUED in y.budgets]
        if not queued:
            return (
                "the search budget ran out (the design was improved link by link); a cheaper "
                "design may exist (raise --max-designs)."
            )
        other = [y.year for y in self.years if not y.optimal and QUEUED not in y.budgets]
        return (
            f"the search's limit of {year_search.MAX_QUEUED:,} designs queued ran out in "
            f"{_years(queued)}"
            + (f", its budget in {_years(other)} (raise --max-designs)" if other else "")
            + " (the design was improved link by link); a cheaper design may exist."
        )

    def _year_unproven(self, y: YearSizing) -> str:
        """Why year ``y``'s gap is open: which of its search's budgets ran out."""
        return (
            f"{budget_words(y.budgets, self.settings.get('max_designs'))} ran out before "
            "they were all judged"
        )

    def _plan_bound(self) -> dict[str, Any]:
        """The plan's entry of :meth:`cost_bounds`."""
        cost = self.plan_cost
        if not math.isfinite(cost):
            entry = _bound_entry(math.nan, math.nan, False)
            entry["statement"] = "plan: none (sizing stopped before the last year)"
            return entry
        if len(self.settings.get("years", [])) == 1:
            y = self.years[-1]
            entry = _bound_entry(cost, y.lower_bound, y.optimal)
            entry["statement"] = self._bound_words("plan", "design", entry, self._year_unproven(y))
            return entry
        search = self.plan_search
        if search.get("over_the_years"):
            entry = _bound_entry(cost, cost, True)
        elif "lower_bound" in search:
            lower = float(search["lower_bound"])
            entry = _bound_entry(cost, lower, cost <= lower + tie(lower))
        else:
            entry = _bound_entry(cost, math.nan, False)
            n = search.get("plans")
            entry["statement"] = (
                f"plan: cheapest found {self._money(cost)}, chosen year by year; no bound "
                "over all the plans of the years is proven ("
                + (
                    f"size --over-the-years compares the {n} plans"
                    if n is not None
                    else f"more than {search.get('max_plans')} plans: too many to compare"
                )
                + ")"
            )
            return entry
        entry["statement"] = self._bound_words("plan", "plan", entry, _plans_stopped(search))
        return entry

    def _bound_words(
        self, what: str, kind: str, entry: dict[str, Any], why: str, given: str = ""
    ) -> str:
        """``entry`` of :meth:`cost_bounds` in words: the cheapest found, what is proven
        (the lower bound) and what is not (the gap, and ``why`` it is open); ``given``:
        what the designs compared are given (the years before)."""
        cost, lower = entry["cost"], entry["lower_bound"]
        meets = "meets every SLA" + (" every year" if kind == "plan" else "") + given
        text = f"{what}: cheapest found {self._money(cost)}; "
        if lower is None:
            return text + (
                f"no lower bound is proven (the search's order rested on none): a cheaper "
                f"{kind} may exist"
            )
        if entry["optimal"]:
            return text + (f"no {kind} that {meets} costs less (proven): optimal, gap 0")
        return text + (
            f"no {kind} below {self._money(lower)} {meets} (proven); gap "
            f"{self._money(entry['gap'])}: not proven whether a {kind} from "
            f"{self._money(lower)} to {self._money(cost)} {meets}, as {why}"
        )

    def bound_lines(self) -> list[str]:
        """:meth:`cost_bounds` as sentences: a heading, each year's and the plan's."""
        b = self.cost_bounds()
        if not b["years"]:
            return []
        head = (
            f"Cost bounds ({b['currency']}; a year: {b['year_cost']}; the plan: {b['plan_cost']}):"
        )
        years = [e["statement"] for e in b["years"]]
        plan = [] if len(years) == 1 else [b["plan"]["statement"]]
        return [head, *years, *plan]

    @property
    def uncertain(self) -> bool:
        """Was a chosen design decided by a mean whose interval straddled a target?"""
        return any(y.verdict.uncertain for y in self.years)

    @property
    def links(self) -> pd.DataFrame:
        """The last year's design: link, rate_bps, length_m, cost (all years' CAPEX)."""
        if not self.years:
            return pd.DataFrame(columns=["link", "rate_bps", "length_m", "cost"])
        last = self.years[-1]
        paid: dict[str, float] = {}
        for y in self.years:
            for lid, c in y.link_capex.items():
                paid[lid] = paid.get(lid, 0.0) + c
        return pd.DataFrame(
            [
                {
                    "link": lid,
                    "rate_bps": r,
                    "length_m": last.lengths_m[lid],
                    "cost": paid.get(lid, 0.0),
                }
                for lid, r in last.rates.items()
            ]
        )

    def schedule(self) -> pd.DataFrame:
        """One row per year and link: its rate, the rate before, whether it was built or
        upgraded that year, the CAPEX, the loads and the 60 %-rule rate."""
        rows = []
        for y in self.years:
            for lid, rate in y.rates.items():
                prev = y.previous[lid]
                rows.append(
                    {
                        "year": y.year,
                        "link": lid,
                        "rate_bps": rate,
                        "previous_rate_bps": prev if prev is not None else 0,
                        "built": prev is None,
                        "upgraded": prev is not None and rate > prev,
                        "capex": y.link_capex[lid],
                        "length_m": y.lengths_m[lid],
                        "mean_load_bps": y.load_bps.get(lid, 0.0),
                        "gaussian_bps": y.gaussian_bps.get(lid, 0.0),
                        "utilisation": y.utilisation.get(lid, math.nan),
                        "vendor_rate_bps": y.vendor_rates[lid],
                        "partial": self.partial,
                    }
                )
        return pd.DataFrame(rows)

    def year_table(self) -> pd.DataFrame:
        """One row per year: counts, CAPEX and cumulative CAPEX, the 60 % rule's, the binding
        SLA and its margin, how the design was found."""
        rows = []
        total = vendor_total = 0.0
        for y in self.years:
            total += y.capex
            vendor_total += y.vendor_capex
            b = y.binding()
            rows.append(
                {
                    "year": y.year,
                    **y.counts,
                    "upgrades": len(y.upgrades),
                    "capex": y.capex,
                    "cumulative_capex": total,
                    "vendor_capex": y.vendor_capex,
                    "vendor_cumulative_capex": vendor_total,
                    "vendor_ok": None if y.vendor_verdict is None else y.vendor_verdict.ok,
                    "vendor_note": y.vendor_note,
                    "binding_class": b.get("class", ""),
                    "binding_metric": b.get("metric", ""),
                    "binding_margin": b.get("margin", math.nan),
                    "uncertain": y.verdict.uncertain,
                    "optimal": y.optimal,
                    "status": y.status,
                    "transient": ", ".join(y.transient),
                    "duration_factor": max(y.extended.values(), default=1),
                    # the binding SLA and margin are the normal case's: its runs' factor
                    "binding_duration_factor": y.extended.get("normal", 1),
                    "lower_bound": y.lower_bound,
                    "gap": y.gap,
                    "designs_simulated": y.simulated,
                    "partial": self.partial,
                }
            )
        return pd.DataFrame(rows)

    def margins(self) -> pd.DataFrame:
        """Per year, class and target: the simulated mean, its interval, the target, the
        margin ``1 − mean / target`` and the network-calculus bound (latency targets), all
        of the normal case (the failure cases are in :meth:`cases`), and how many times the
        scenario's duration its runs lasted (``duration_factor``: the steady-state check)."""
        frames = []
        for y in self.years:
            c = y.verdict.checks.copy()
            c = c[c["class"].isin(y.classes)]
            c.insert(0, "year", y.year)
            c["margin"] = 1.0 - c["mean"] / c["target"]
            c["nc_bound_ps"] = [
                y.nc_bound_ps.get(str(k), math.nan) if str(m).endswith("_ps") else math.nan
                for k, m in zip(c["class"], c["metric"], strict=True)
            ]
            c["duration_factor"] = int(y.extended.get("normal", 1))
            frames.append(c)
        cols = [
            "year",
            "class",
            "metric",
            "mean",
            "ci_low",
            "ci_high",
            "target",
            "state",
            "ratio",
            "margin",
            "nc_bound_ps",
            "duration_factor",
        ]
        return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)

    def reasons(self) -> pd.DataFrame:
        """Per year, every link built or upgraded and what forced it: ``reason`` (``mean
        load`` or ``sla``), and for an SLA: the class, metric, measured ``mean`` against
        ``target``, the failure ``case`` (N-1), the ``epoch`` and the ``hop`` where the
        design one tier lower failed,
        whether the class ``crosses`` the link, and the sentence (``text``)."""
        cols = [
            "year",
            "link",
            "previous_rate_bps",
            "rate_bps",
            "reason",
            "class",
            "metric",
            "mean",
            "target",
            "case",
            "epoch",
            "hop",
            "crosses",
            "text",
        ]
        rows = [{c: r.get(c) for c in cols} for y in self.years for r in y.reasons.values()]
        return pd.DataFrame(rows, columns=cols)

    @property
    def warnings(self) -> list[str]:
        """What a ``duration_ps`` override leaves out of every run (an alarm after its end),
        binding SLAs limited on links the plan does not size, and upgrades forced by a
        class that does not cross the link (the verdict is not monotone)."""
        out = list(self.settings.get("duration_warnings", []))
        out += binding_warnings([(y.year, y.binding_hop) for y in self.years])
        if self.vendor_error:
            out.append(self.vendor_error)
        for y in self.years:
            for r in y.reasons.values():
                if r.get("reason") == "sla" and not r.get("crosses", True):
                    out.append(
                        f"year {y.year}: {r['link']} is upgraded for class {r['class']!r}, "
                        "which does not cross it (a faster link elsewhere changes its queues)"
                    )
        return out

    def cases(self) -> pd.DataFrame:
        """Per year, every case the chosen design was judged in (``normal`` and, under N-1,
        each ``failure of <link>``) with its binding SLA and margin, and the factor its runs
        were extended by (``duration_factor``, the steady-state check)."""
        cols = ["year", "case", "ok", "uncertain", "class", "metric", "mean", "target", "margin"]
        cols.append("duration_factor")
        out = pd.DataFrame([c for y in self.years for c in y.cases], columns=cols)
        out["duration_factor"] = out["duration_factor"].fillna(1).astype("int64")
        return out

    def trials(self) -> pd.DataFrame:
        """Every design considered: year, rates, CAPEX, verdict (None: skipped)."""
        rows = []
        for y in self.years:
            for t in y.trials:
                rows.append(
                    {
                        "year": t.year,
                        "rates": ",".join(f"{k}={v}" for k, v in t.rates.items()),
                        "capex": t.capex,
                        "ok": t.ok,
                        "class": t.binding.get("class", ""),
                        "metric": t.binding.get("metric", ""),
                        "mean": t.binding.get("mean", math.nan),
                        "target": t.binding.get("target", math.nan),
                        "uncertain": t.uncertain,
                        "replications": t.replications,
                        "note": t.note,
                        "cause": t.cause,
                        "case": t.case,
                        "duration_factor": t.duration_factor,
                    }
                )
        return pd.DataFrame(rows)


def _plans_stopped(search: dict[str, Any]) -> str:
    """How the comparison of the plans of the years (:attr:`SizingResult.plan_search`)
    stopped when its budget ran out: the words of the claim and of the plan's cost bound."""
    return (
        f"the comparison of the {search.get('plans')} plans of the years stopped after "
        f"{search.get('judged')} designs judged, its budget of --max-designs × years"
    )


def budget_words(budgets: tuple[str, ...] | list[str], max_designs: Any) -> str:
    """Which of a year's search budgets ran out (:attr:`YearSizing.budgets`), in words, the
    subject of "ran out": its limit of designs queued (:data:`~vidnet_sim.analysis.search.
    MAX_QUEUED`), then its verdicts (``--max-designs``); the verdicts when none is named."""
    verdicts = f"(--max-designs {max_designs})"
    if QUEUED not in budgets:
        return f"the search budget {verdicts}"
    queued = f"the search's limit of {year_search.MAX_QUEUED:,} designs queued (priced and held)"
    return queued if VERDICTS not in budgets else f"{queued}, then its budget {verdicts},"


def _bound_entry(cost: float, lower: float, optimal: bool) -> dict[str, Any]:
    """One entry of :meth:`SizingResult.cost_bounds` (no statement yet): ``None`` for an
    unknown value; an optimal entry's bound is its cost."""
    if optimal:
        lower = cost
    known = math.isfinite(lower) and math.isfinite(cost)
    return {
        "cost": cost if math.isfinite(cost) else None,
        "lower_bound": lower if math.isfinite(lower) else None,
        "gap": max(cost - lower, 0.0) if known else None,
        "optimal": optimal,
    }


def _years(years: list[int]) -> str:
    """``no year``, ``year 2`` or ``years 1, 3``."""
    if not years:
        return "no year"
    return ("year " if len(years) == 1 else "years ") + ", ".join(map(str, years))


class SizingStoppedError(AnalysisInputError):
    """A year could not be sized: ``kind`` ``"infeasible"`` (an SLA no tier meets; exit 3)
    or ``"runs-failed"`` (every run of a design failed; exit 4). ``result`` holds the years
    sized before it (partial)."""

    def __init__(self, message: str, result: SizingResult, kind: str) -> None:
        super().__init__(message)
        self.result = result
        self.kind = kind


# --------------------------------------------------------------------------- one year


def _price(ctx: _Context, yr: _Year, i: int, level: int, prev: int | None) -> float:
    """What link ``i`` costs this year at tier ``level``: built (optics, ports and new
    fibre), upgraded (optics and ports) or kept (nothing)."""
    if prev is None:
        return ctx.model.upgrade_cost(ctx.tiers[level]) + ctx.model.fibre_cost(yr.lengths[i])
    return 0.0 if level == prev else ctx.model.upgrade_cost(ctx.tiers[level])


def _capex(ctx: _Context, yr: _Year, levels: tuple[int, ...]) -> list[float]:
    """What each link costs this year in design ``levels``."""
    return [_price(ctx, yr, i, lv, yr.prev[i]) for i, lv in enumerate(levels)]


def plan_cost(ctx: _Context, yr: _Year, bill: BillModel, designs: list[YearDesign]) -> _Pricing:
    """The net present cost of the plan so far (``designs``, the years chosen before) with a
    design of this year (its tier vector), a lower bound of it over the designs at or
    above a given one (:class:`~vidnet_sim.analysis.bill.YearPricer`: optics per link,
    switches per node, each minimised alone; storage from what the cameras record, the
    same for every design of the year), and which two links (positions) share a part of
    it (a node's switches). Every link may rise, those no class with an SLA crosses too
    (:func:`_space`)."""
    assert yr.scenario is not None
    pricer = YearPricer(designs, yr.year, yr.scenario, bill)
    n = len(ctx.tiers)

    def cost(levels: tuple[int, ...]) -> float:
        return pricer.npc(_rates(ctx, yr, levels))

    def choices(levels: tuple[int, ...]) -> dict[str, list[int]]:
        # the designs at or above ``levels``: every link may rise
        return {lid: ctx.tiers[lv:n] for lid, lv in zip(yr.ids, levels, strict=True)}

    def bound(levels: tuple[int, ...]) -> float:
        return pricer.npc_bound(choices(levels))

    def coupled(i: int, j: int) -> bool:
        return pricer.share_a_node(yr.ids[i], yr.ids[j])

    def moved(levels: tuple[int, ...], changes: Mapping[int, int]) -> float:
        return pricer.npc_moved(
            levels,
            lambda: _rates(ctx, yr, levels),
            {yr.ids[i]: ctx.tiers[lv] for i, lv in changes.items()},
        )

    def bound_moved(levels: tuple[int, ...], changes: Mapping[int, int]) -> float:
        return pricer.npc_bound_moved(
            levels,
            lambda: choices(levels),
            {yr.ids[i]: ctx.tiers[lv:n] for i, lv in changes.items()},
        )

    return cost, bound, coupled, moved, bound_moved


def _price_sizing(result: SizingResult, bill: BillModel) -> None:
    """The whole bill of the sized design and of the 60 % rule's (both with the storage the
    sized design's runs measured, at a whole day's rate: :func:`~vidnet_sim.analysis.bill.
    day_storage`; none for the rule's when the cost model cannot build
    it, said in ``vendor_error`` and the warnings); the link tables then show each link's fibre
    and optics."""
    designs, vendor = [], []
    for y in result.years:
        assert y.scenario is not None
        summaries = [r.summary for r in y.records if r.summary is not None]
        storage = mean_storage(y.scenario, summaries)
        if storage is not None:  # at a whole day's rate, not at the runs' time of day
            warmup = int(y.scenario.simulation.warmup)
            measured = int(summaries[0]["measured_ps"].max())
            storage = day_storage(y.scenario, storage, (warmup, warmup + measured))
        designs.append(YearDesign(y.year, y.scenario, y.rates, storage))
        vendor.append(YearDesign(y.year, y.scenario, y.vendor_rates, storage))
    if not designs:
        return
    result.bill = price_plan(designs, bill)
    paid = result.bill.link_capex()
    for y in result.years:
        y.link_capex = {lid: paid.get((y.year, lid), 0.0) for lid in y.rates}
    try:  # the rule's tiers may be ones the catalogue cannot build: then no bill for it
        result.vendor_bill = price_plan(vendor, bill)
    except AnalysisInputError as exc:
        result.vendor_error = f"the cost model cannot build the 60 % rule's design: {exc}"
        return
    vpaid = result.vendor_bill.link_capex()
    for y in result.years:
        y.vendor_capex = float(sum(vpaid.get((y.year, lid), 0.0) for lid in y.rates))


def _space(
    ctx: _Context,
    yr: _Year,
    floor: list[int],
    pricing: _Pricing | None,
) -> YearSpace:
    """The designs of one year: ring spans sized at one tier move together. ``pricing``:
    the cost of a whole design, its lower bound over the designs at or above it and which
    links share a part of it (the plan's net present cost with the whole bill,
    :func:`plan_cost`; default: the links' CAPEX this year). Links crossed by no class
    with an SLA are searched like any other link: their tier is not independent of the
    verdicts (the traffic they carry may share a queue with an SLA class further on, and a
    faster or slower link shifts when it arrives there and in what bursts), and with the
    whole bill a faster tier can make the plan cheaper (long-reach optics, a switch's
    ports)."""
    pos = {lid: i for i, lid in enumerate(yr.ids)}
    groups = [[pos[x] for x in g if x in pos] for g in ctx.groups]
    return YearSpace(
        yr.year,
        yr.ids,
        len(ctx.tiers),
        floor,
        lambda i, lv, p: _price(ctx, yr, i, lv, p),
        frozenset(),
        [g for g in groups if len(g) > 1],
        cost=pricing[0] if pricing else None,
        bound=pricing[1] if pricing else None,
        coupled=pricing[2] if pricing else None,
        moved=pricing[3] if pricing else None,
        bound_moved=pricing[4] if pricing else None,
    )


def _design_fields(
    ctx: _Context,
    yr: _Year,
    levels: tuple[int, ...],
    floor: list[int],
    optimal: bool,
    base_dir: Path,
    planned: bool = False,
) -> dict[str, Any]:
    """The fields of a :class:`YearSizing` that follow from its design (``yr.prev`` set to
    the year before): rates, CAPEX, verdict and runs, utilisation, the network-calculus
    bound, why each link is at its tier, the cases and the binding hop. ``planned``: the
    design of the plan over the years (a link above what an SLA or its load needs this
    year is there for the plan's cost)."""
    verdict, records = _evaluate(ctx, yr, levels)
    reasons = _reasons(ctx, yr, levels, floor, optimal)
    for lid, r in reasons.items() if planned else ():
        if r["reason"] in ("cost", "not judged"):
            reasons[lid] = {
                **{c: r[c] for c in ("year", "link", "previous_rate_bps", "rate_bps")},
                "reason": "plan",
                "text": "the plan over all the years costs less with this tier now (a "
                "slower tier now costs more over the years, with the upgrade it needs later)",
            }
    # estimates of the design (the network-calculus bound depends on the rates)
    chosen = copy.deepcopy(yr.data)
    for link, lv in zip(chosen["links"], levels, strict=True):
        link["rate"] = f"{ctx.tiers[lv]}bps"
    csc = parse_scenario_dict(chosen, base_dir=base_dir)
    cest = estimate(csc, build_plan(csc, base_dir))
    return {
        "rates": _rates(ctx, yr, levels),
        "previous": {
            lid: (ctx.tiers[p] if p is not None else None)
            for lid, p in zip(yr.ids, yr.prev, strict=True)
        },
        "link_capex": dict(zip(yr.ids, _capex(ctx, yr, levels), strict=True)),
        "verdict": verdict,
        "records": records,
        "utilisation": dict(zip(yr.ids, _link_util(yr, verdict), strict=True)),
        "nc_bound_ps": {
            str(c): float(cest.group_bound_ps(str(c))) for c in set(cest.groups["class"])
        },
        "nc_notes": list(cest.notes),
        "reasons": reasons,
        "cases": _case_table(yr, levels),
        "transient": yr.transient.get(levels, []),
        "extended": yr.extended.get(levels, {}),
        "binding_hop": _binding_hop(yr, verdict, records),
    }


#: Plans of the years compared at most for the cheapest plan over all the years (beyond, the
#: plan stays the one chosen year by year).
MAX_PLANS = 1000


Plan = tuple[tuple[int, ...], ...]


def _plan_costs(
    ctx: _Context, prepared: list[_Year], spaces: list[YearSpace], bill: BillModel | None
) -> tuple[Callable[[Plan], float], Callable[[Plan], float]]:
    """The cost of the first years of a plan (no more than that of any plan that starts
    with them) and of a whole plan: the sum of its years' CAPEX, or with the whole bill the
    net present cost of its years alone and of the plan."""

    def capex(p: Plan) -> float:
        return sum(_year_cost(ctx, prepared, spaces, None, p[: k + 1]) for k in range(len(p)))

    if bill is None:
        return capex, capex
    return (
        lambda p: plan_npc(_plan_designs(ctx, prepared, p), bill, tail=False),
        lambda p: plan_npc(_plan_designs(ctx, prepared, p), bill),
    )


def _plan_designs(ctx: _Context, prepared: list[_Year], p: Plan) -> list[YearDesign]:
    """The first years of plan ``p`` as the bill prices them."""
    return [
        YearDesign(yr.year, yr.scenario, _rates(ctx, yr, d))  # type: ignore[arg-type]
        for yr, d in zip(prepared, p, strict=False)
    ]


def _plan_judges(
    ctx: _Context, prepared: list[_Year], extra: list[list[SearchTrial]]
) -> list[Callable[[tuple[int, ...]], Judgement]]:
    """Each year's verdicts for the plans' search (the year's memo), the designs judged
    anew added to ``extra`` (listed with the year's trials)."""

    def judge(k: int) -> Callable[[tuple[int, ...]], Judgement]:
        yr = prepared[k]

        def j(levels: tuple[int, ...]) -> Judgement:
            seen = levels in yr.memo
            out = _judgement(yr, levels, *_evaluate(ctx, yr, levels))
            if not seen:  # its cost set once its plan is known (_year_cost)
                extra[k].append(SearchTrial(levels, math.nan, out, "plan over the years"))
            return out

        return j

    return [judge(k) for k in range(len(prepared))]


def _plan_over_the_years(
    ctx: _Context,
    prepared: list[_Year],
    floors: list[list[int] | _InfeasibleError],
    bill: BillModel | None,
    wanted: bool,
) -> tuple[Plan | None, dict[str, Any], list[list[SearchTrial]]]:
    """When ``wanted``, the plan of least cost over all the years
    (:func:`~vidnet_sim.analysis.horizon.search_plan`: plans in cost order, judged until
    one is feasible every year) when the years have at most :data:`MAX_PLANS` plans: one
    design per year (``None``: none found, or not searched; the years are then sized in
    turn), what was compared (:attr:`SizingResult.plan_search`) and each year's designs
    judged. The cost of a plan is the sum of its years' CAPEX, or with the whole bill its
    net present cost."""
    done: dict[str, Any] = {
        "wanted": wanted,
        "plans": None,
        "max_plans": MAX_PLANS,
        "over_the_years": False,
        "judged": 0,
    }
    judged: list[list[SearchTrial]] = [[] for _ in prepared]
    spaces = []
    for yr, floor in zip(prepared, floors, strict=True):
        if isinstance(floor, _InfeasibleError):  # an SLA no tier meets: stopped in its year
            return None, done, judged
        spaces.append(_space(ctx, yr, floor, None))
    n = count_plans(spaces, MAX_PLANS)
    done["plans"] = n if n <= MAX_PLANS else None
    if len(prepared) == 1 or not wanted or n > MAX_PLANS:
        return None, done, judged
    prefix_cost, whole_cost = _plan_costs(ctx, prepared, spaces, bill)
    try:
        found = search_plan(
            spaces,
            _plan_judges(ctx, prepared, judged),
            prefix_cost,
            whole_cost,
            math.inf,
            ctx.max_designs * len(spaces),
        )
    except _RunsFailedError:  # the years are sized in turn (and stop on it there)
        return None, done, judged
    finally:
        ctx.ahead.clear()
        ctx.caches.clear()
    done["judged"], done["complete"] = found.judged, found.complete
    if math.isfinite(found.lower_bound):  # no feasible plan costs less
        done["lower_bound"] = found.lower_bound
    done["over_the_years"] = found.levels is not None
    for k, trials in enumerate(judged):  # each design's cost in the plan it was judged in
        for t in trials:
            t.cost = _year_cost(ctx, prepared, spaces, bill, found.judged_in[(k, t.levels)])
    return found.levels, done, judged


def _year_cost(
    ctx: _Context,
    prepared: list[_Year],
    spaces: list[YearSpace],
    bill: BillModel | None,
    prefix: Plan,
) -> float:
    """What the last design of ``prefix`` (the first years of a plan) costs as a year's
    search counts it: its year's CAPEX given the year before, or with the whole bill the
    net present cost of the plan so far with it (:func:`plan_cost`)."""
    k = len(prefix) - 1
    if bill is None:
        before = previous_levels(spaces, k, prefix[k - 1] if k else None)
        return float(sum(spaces[k].price(i, lv, before[i]) for i, lv in enumerate(prefix[k])))
    return plan_npc(_plan_designs(ctx, prepared, prefix), bill)


def _later_cost(
    ctx: _Context,
    prepared: list[_Year],
    floors: list[list[int] | _InfeasibleError],
    bill: BillModel | None,
    chosen: list[tuple[int, ...]],
) -> Callable[[tuple[int, ...]], float] | None:
    """How designs of equal cost in year ``len(chosen)`` are told apart (``YearSpace.
    prefer``): what the plan would cost (the years' CAPEX, or the whole bill's net present
    cost) with the years chosen before (``chosen``), this design, and every later year at
    its floor design (mean-load floors, the tiers bought before; no simulation): of two
    designs of equal cost, the one that leaves the later years less to buy. ``None`` in the
    last year (nothing after it to tell them apart)."""
    spaces: list[YearSpace] = []
    for yr, floor in zip(prepared, floors, strict=True):
        if isinstance(floor, _InfeasibleError):  # no design: the years after it count nothing
            break
        spaces.append(_space(ctx, yr, floor, None))
    k = len(chosen)
    if k + 1 >= len(spaces):
        return None
    whole = _plan_costs(ctx, prepared, spaces, bill)[1]

    def later(levels: tuple[int, ...]) -> float:
        plan = [*chosen, levels]
        for j in range(k + 1, len(spaces)):
            plan.append(floor_design(spaces[j], previous_levels(spaces, j, plan[-1])))
        return whole(tuple(plan))

    return later


def _given(
    space: YearSpace, prev: list[int | None], levels: tuple[int, ...], trials: list[SearchTrial]
) -> YearOutcome:
    """The outcome of a year whose design is given (by the plan over the years): its cost
    as the year's search would count it, the designs judged for it in ``trials``."""
    cost = (
        float(space.cost(levels))
        if space.cost is not None
        else float(sum(space.price(i, lv, prev[i]) for i, lv in enumerate(levels)))
    )
    floor = min(year_designs(space, prev))
    return YearOutcome(space.year, levels, cost, True, cost, False, floor, trials)


def _trial(ctx: _Context, yr: _Year, t: SearchTrial) -> Trial:
    verdict, causes = t.judgement.detail
    return Trial(
        yr.year,
        _rates(ctx, yr, t.levels),
        t.cost,
        verdict.ok,
        verdict.binding(),
        verdict.uncertain,
        verdict.replications,
        t.note,
        _cause_text(causes[0]) if causes else "",
        # the runs the verdict shown rests on: the failing case's, else the normal case's
        yr.extended.get(t.levels, {}).get(yr.failed_case.get(t.levels, "normal"), 1),
        yr.failed_case.get(t.levels, "normal"),
    )


def _check_propagation(ctx: _Context, yr: _Year) -> None:
    """A latency target below the propagation delay of the class's paths cannot be met at
    any tier (a sound bound: every packet of a flow takes at least its path's propagation;
    the maximum at least the longest path's, any percentile at least the shortest's). Only
    the flows that may send packets the runs measure count (``yr.class_path``: a flow that
    starts after the run's end, or is off over the whole measured time, bounds nothing that
    is measured)."""
    for cls, cols in ctx.targets.items():
        if cls not in yr.class_path:
            continue
        longest, path = yr.class_path[cls]
        shortest = yr.class_min_prop.get(cls, 0.0)
        for metric, target in cols.items():
            if not metric.endswith("_ps"):
                continue
            prop = longest if metric.endswith("max_ps") else shortest
            if prop >= target:
                which = "longest" if metric.endswith("max_ps") else "shortest"
                raise _InfeasibleError(
                    f"the SLA cannot be met at any tier in year {yr.year}: class {cls!r} "
                    f"{metric_words(metric)} has a target of {show_value(metric, target)}, but the "
                    f"propagation delay of its {which} path"
                    + (
                        f" (link{'s' if len(path) != 1 else ''} {', '.join(path)})"
                        if which == "longest"
                        else ""
                    )
                    + f" is {show_value(metric, prop)} alone; relax the target or shorten "
                    "the path"
                )


def _unbuilt_why(
    ctx: _Context, yr: _Year, bill: BillModel | None, designs: list[YearDesign]
) -> Callable[[tuple[int, ...]], str]:
    """Why the cost model cannot build a design of year ``yr`` (its pricing error), the
    years before being ``designs``."""

    def why(levels: tuple[int, ...]) -> str:
        if bill is None or yr.scenario is None:
            return "the cost model has no price for it"
        try:
            price_plan([*designs, YearDesign(yr.year, yr.scenario, _rates(ctx, yr, levels))], bill)
        except AnalysisInputError as exc:
            return str(exc)
        return "the cost model has no price for it"

    return why


def _no_design(
    ctx: _Context,
    yr: _Year,
    outcome: YearOutcome,
    floor: list[int],
    unbuilt_why: Callable[[tuple[int, ...]], str] | None = None,
    plans: str = "size --over-the-years compares every plan of the years",
) -> str:
    """Why no design was found: the fastest design's worst failure (class, metric, value,
    target, the link on its path), whether every design was judged and whether the tiers
    bought before (above the mean-load ``floor``) left out designs (the verdicts are not
    monotone: a slower link can meet an SLA the faster one misses: ``plans`` says how to
    compare the plans of the years). When the designs the
    cost model can build all fail and others it cannot build (``outcome.unbuildable``),
    says so: the fastest design judged, the largest tier tried on each link held below
    the fastest tier, and why the faster ones cannot be built (``unbuilt_why``)."""
    fastest_judged = any(t.note == "fastest tiers" for t in outcome.trials)
    if outcome.unbuildable and outcome.exhausted and not fastest_judged:
        return _no_buildable_design(ctx, yr, outcome, unbuilt_why)
    fastest = [t for t in outcome.trials if t.note == "fastest tiers"] or outcome.trials[-1:]
    n = len(outcome.trials)
    _, causes = fastest[0].judgement.detail
    cause = _cause_text(causes[0]) if causes else "a target is missed"
    rate = _show_rate(ctx.tiers[-1])
    fix = "add a faster tier to the cost table, or change the network"
    if causes and causes[0]["metric"] == "failure_loss":
        fix = (
            "the packets lost while a failure converges do not depend on the tiers: raise "
            "failure_loss, or shorten the protection's convergence"
        )
    held = [
        lid for lid, p, f in zip(yr.ids, yr.prev, floor, strict=True) if p is not None and p > f
    ]
    if outcome.exhausted and held:
        return (
            f"the SLA cannot be met in year {yr.year} with the tiers bought before: {cause}, "
            f"even with every link at the fastest tier ({rate}); every one of the {n} "
            "designs at or above the mean-load bounds and the tiers of the year before was "
            f"judged, but a slower {', '.join(held)} (bought faster before: links never go "
            f"down a tier) may meet it: {plans}; or {fix}"
        )
    if outcome.exhausted:
        return (
            f"the SLA cannot be met at any tier in year {yr.year}: {cause}, even with every "
            f"link at the fastest tier ({rate}); every one of the {n} designs above the "
            f"mean-load bounds was judged; {fix}"
        )
    if QUEUED in outcome.budgets:  # then the cheapest designs queued were judged
        return (
            f"no design found in year {yr.year} within the search budget: {cause}, even "
            f"with every link at the fastest tier ({rate}); none of the {n} designs judged "
            f"meets every SLA: {budget_words(outcome.budgets, ctx.max_designs)} ran out "
            "(once no more designs could be queued, "
            + (
                "the cheapest queued were judged"
                if VERDICTS in outcome.budgets
                else "every design queued was judged"
            )
            + "); raise --max-designs, add a faster tier to the cost table, or change the "
            "network"
        )
    return (
        f"no design found in year {yr.year} within the search budget: {cause}, even with "
        f"every link at the fastest tier ({rate}); none of the {n} designs judged "
        f"(--max-designs {ctx.max_designs}) meets every SLA; raise --max-designs, add a "
        "faster tier to the cost table, or change the network"
    )


def _compare_plans(search: dict[str, Any]) -> str:
    """How to compare every plan of the years, after the plans' search ``search``
    (:attr:`SizingResult.plan_search`): --over-the-years, or, when it ran out of its budget,
    a larger --max-designs."""
    if search.get("wanted") and search.get("complete") is False:
        return (
            f"size --over-the-years compared the plans of the years until its budget ran out "
            f"({search.get('judged')} designs judged): a larger --max-designs compares them all"
        )
    return "size --over-the-years compares every plan of the years"


def _no_buildable_design(
    ctx: _Context,
    yr: _Year,
    outcome: YearOutcome,
    unbuilt_why: Callable[[tuple[int, ...]], str] | None,
) -> str:
    """Every design the cost model can build was judged infeasible; the others cannot be
    built (see :func:`_no_design`)."""
    top = len(ctx.tiers) - 1
    n = len(outcome.trials)
    if not outcome.trials:  # not even the floor design can be built
        floor = outcome.floor
        why = unbuilt_why(floor) if unbuilt_why else "the cost model has no price for it"
        return (
            f"the SLA cannot be met in year {yr.year} with what the cost model can build: "
            f"no design at or above the mean-load bounds can be built ({why}); add to the "
            "cost model's catalogue, or change the network"
        )
    fastest = max(outcome.trials, key=lambda t: (sum(t.levels), t.levels))
    _, causes = fastest.judgement.detail
    cause = _cause_text(causes[0]) if causes else "a target is missed"
    held = [
        f"{lid} at {_show_rate(ctx.tiers[lv])}"
        for lid, lv in zip(yr.ids, fastest.levels, strict=True)
        if lv < top
    ]
    tried = f" ({', '.join(held)}: the largest tiers tried)" if held else ""
    faster = tuple(top for _ in fastest.levels)
    why = unbuilt_why(faster) if unbuilt_why else "the cost model has no price for it"
    before = " and the tiers of the year before" if any(p is not None for p in yr.prev) else ""
    return (
        f"the SLA cannot be met in year {yr.year} with what the cost model can build: "
        f"{cause} in the fastest design it can build{tried}; every one of the {n} designs "
        f"it can build at or above the mean-load bounds{before} was judged, and the faster "
        f"ones cannot be built: {why}"
    )


class _InfeasibleError(Exception):
    """No tier meets an SLA (the message says which and why)."""


def _link_util(yr: _Year, verdict: Verdict) -> list[float]:
    util = (
        dict(zip(verdict.links["link"].astype(str), verdict.links["utilisation"], strict=True))
        if len(verdict.links)
        else {}
    )
    return [max((float(util[d]) for d in dirs if d in util), default=0.0) for dirs in yr.dirs]


def _check_sizing_links(ctx: _Context, data: dict[str, Any], years: list[int]) -> None:
    """Every link named in ``protected`` and ``one_tier`` is a link of the plan's last
    year (links are only ever added)."""
    known = [lid for lid, _ in scenario_links(year_data(data, years[-1]))]
    named = [("sizing.protected", x) for x in ctx.protected or []] + [
        (f"sizing.one_tier[{k}]", x) for k, g in enumerate(ctx.groups) for x in g
    ]
    for where, lid in named:
        if lid not in known:
            raise AnalysisInputError(
                f"{where}: got {lid!r}: no link has this id; expected one of {known}"
            )


def _inputs_checked(ctx: _Context, data: dict[str, Any], years: list[int]) -> None:
    """The last checks of the inputs (every year's scenario is validated before); then the
    executor is started (a local pool's workers warm up while the failure cases are
    prepared): a refusal starts no worker."""
    _check_sizing_links(ctx, data, years)
    if ctx.executor is not None:
        ctx.executor.start()


def _check_run_length(ctx: _Context, prepared: list[_Year]) -> None:
    """With the stationarity check (``max_extend`` > 1) every run is cut into
    ``_INTERVALS`` equal report intervals, each at least the least a scenario accepts: a
    shorter run is refused before any simulation (it failed every run, year by year), and so
    is a ``max_extend`` that would extend runs past the longest a run may last."""
    if ctx.max_extend <= 1:
        return
    least = _INTERVALS * MIN_REPORT_INTERVAL_PS
    for yr in prepared:
        run_ps = ctx.duration_ps or yr.duration_ps
        if run_ps * ctx.max_extend > MAX_DURATION_PS:  # refused by the run that far extended
            raise AnalysisInputError(
                f"--max-extend: got {ctx.max_extend}; runs of {format_time(run_ps)} extended "
                f"that far would last longer than a run can ({format_time(MAX_DURATION_PS)}): "
                f"expected at most {MAX_DURATION_PS // run_ps}"
            )
        if run_ps < least:
            given = "--duration" if ctx.duration_ps else f"year {yr.year}'s simulation.duration"
            raise AnalysisInputError(
                f"{given}: got {format_time(run_ps)}; the stationarity check cuts every run "
                f"into {_INTERVALS} report intervals of at least "
                f"{format_time(MIN_REPORT_INTERVAL_PS)}, so runs must last at least "
                f"{format_time(least)} (or give --max-extend 1: no check)"
            )


def _prepare_year(
    file: str | Path, data: dict[str, Any], base_dir: Path, year: int, duration_ps: int | None
) -> _Year:
    """What the search of ``year`` starts from (its scenario, plan estimates and class
    paths; ``prev`` still unset), with no simulation; ``duration_ps`` the runs' duration
    (``None``: the scenario's). Raises :class:`ScenarioError` for a
    year whose scenario is invalid (its problems named where the file has them) and
    :class:`AnalysisInputError` for a year without links."""
    ydata = year_data(data, year)
    try:
        sc = parse_scenario_dict(copy.deepcopy(ydata), source=f"{file}", base_dir=base_dir)
        plan = build_plan(sc, base_dir)
    except ScenarioError as exc:
        raise ScenarioError(
            [remap_problem(p, data, year) for p in exc.problems], str(file)
        ) from None
    if not sc.links:
        raise AnalysisInputError(f"{file}: the scenario has no links to size")
    names = scenario_links(ydata)
    ids = [lid for lid, _ in names]
    dirs = [d for _, d in names]
    lengths = link_lengths(sc)
    est = estimate(sc, plan).links
    load = _per_link(dirs, dict(zip(est["link"].astype(str), est["mean_bps"], strict=True)))
    gauss = _per_link(dirs, dict(zip(est["link"].astype(str), est["gaussian_bps"], strict=True)))
    # the propagation bound counts the flows that may send packets a run measures
    # (_check_propagation): the first run's end (longer runs only measure more)
    try:
        measured = _measured_sources(sc, plan, duration_ps or int(sc.simulation.duration))
    except ScenarioError as exc:
        raise ScenarioError(
            [remap_problem(p, data, year) for p in exc.problems], str(file)
        ) from None
    class_links, class_path, class_min_prop, class_dirs = _class_paths(plan, ids, dirs, measured)
    return _Year(
        year,
        ydata,
        ids,
        dirs,
        [lengths[i] for i in ids],
        [None] * len(ids),
        load,
        gauss,
        class_links,
        class_path,
        class_min_prop=class_min_prop,
        class_dirs=class_dirs,
        duration_ps=int(sc.simulation.duration),
        scenario=sc,
    )


def _counts(sc: Any) -> dict[str, int]:
    return {
        "cameras": int(sum(c.count for c in sc.cameras)),
        "camera_groups": len(sc.cameras),
        "sources": len(sc.sources),
        "services": len(sc.services),
        "links": len(sc.links),
    }


# --------------------------------------------------------------------------- entry point
def _floor(tiers: list[int], ids: list[str], load: list[float], year: int) -> list[int]:
    """Each link's slowest tier at or above its mean offered load (a sound floor: a slower
    one loses packets in steady state; a tier equal to the load may carry it, e.g. packets
    sent at exactly its rate, so the simulation judges it); :class:`_InfeasibleError` when
    none is."""
    floor: list[int] = []
    for i, lid in enumerate(ids):
        fit = [k for k, t in enumerate(tiers) if t >= load[i]]
        if not fit:
            raise _InfeasibleError(
                f"the SLA cannot be met at any tier in year {year}: link {lid} "
                f"carries {_show_rate(load[i])} on average (sum of mean rates), more "
                f"than the fastest tier of the cost table ({_show_rate(tiers[-1])}); "
                "add a faster tier to [optics]"
            )
        floor.append(fit[0])
    return floor


def _year_floor(ctx: _Context, yr: _Year) -> list[int] | _InfeasibleError:
    """The year's mean-load floor (:func:`_floor`), or why no tier meets its SLA: a mean
    load above the fastest tier, or a latency target below a class's propagation delay
    (:func:`_check_propagation`); computed once per year, raised in its year."""
    try:
        floor = _floor(ctx.tiers, yr.ids, yr.load, yr.year)
        _check_propagation(ctx, yr)
    except _InfeasibleError as exc:
        return exc
    return floor


def _add_failure_cases(ctx: _Context, yr: _Year, base_dir: Path) -> None:
    """N-1: the year's failure cases (one per protected link), and the classes' paths
    widened with their reroutes (culprits, links held)."""
    ids, dirs, sc = yr.ids, yr.dirs, yr.scenario
    assert sc is not None
    carried = {ids[i] for links in yr.class_links.values() for i in links}
    yr.cases, layouts = _failure_cases(ctx, yr.year, sc, yr.data, base_dir, ids, carried)
    pos = {d: i for i, ds in enumerate(dirs) for d in ds}
    for layout in layouts:
        for cls, crossed in layout.items():
            yr.class_dirs.setdefault(cls, set()).update(crossed)
            yr.class_links.setdefault(cls, set()).update(pos[x] for x in crossed if x in pos)


def _check_size_options(
    replications: int,
    max_replications: int,
    confidence: float,
    survive: str | None,
    max_extend: int,
    failure_loss: float | None,
) -> None:
    """Raise :class:`AnalysisInputError` for an option of :func:`size_network` out of range."""
    if replications < 1 or max_replications < replications:
        raise AnalysisInputError(
            "--replications must be ≥ 1 and --max-replications ≥ --replications"
        )
    if not 0 < confidence < 1:
        raise AnalysisInputError(f"--confidence: must be in (0, 1), got {confidence}")
    if survive not in (None, "none", "single-link"):
        raise AnalysisInputError(f"--survive: got {survive!r}, expected 'none' or 'single-link'")
    if max_extend < 1:
        raise AnalysisInputError(f"--max-extend: got {max_extend}, expected an integer ≥ 1")
    if failure_loss is not None and not 0 <= failure_loss <= 1:
        raise AnalysisInputError(f"--failure-loss: got {failure_loss}, expected a share in [0, 1]")


def _sizing_setup(
    setup: Sizing | None,
    one_tier: list[list[str]] | None,
    failure_loss: float | None,
    survive: str | None,
    protected: list[str] | None,
) -> tuple[list[list[str]], float | None, str, list[str] | None, int]:
    """The scenario's ``[sizing]`` with the options given to :func:`size_network` over it:
    the one-tier groups (both), the failure-loss budget, what to survive, the protected
    links and the convergence time."""
    groups = [list(g) for g in (setup.one_tier if setup else [])] + [
        list(g) for g in one_tier or []
    ]
    if setup is None:
        return groups, failure_loss, survive or "none", protected, parse_time("50ms")
    return (
        groups,
        failure_loss if failure_loss is not None else setup.failure_loss,
        survive or setup.survive,
        protected if protected is not None else setup.protected,
        setup.convergence,
    )


def size_network(
    file: str | Path,
    model: CostModel | None = None,
    *,
    replications: int = 3,
    max_replications: int = 10,
    confidence: float = 0.95,
    duration_ps: int | None = None,
    cache_dir: str | Path | None = None,
    max_designs: int = 40,
    vendor_check: bool = True,
    on_run: Callable[[RunRecord], None] | None = None,
    one_tier: list[list[str]] | None = None,
    judge: Callable[..., Verdict] | None = None,
    survive: str | None = None,
    protected: list[str] | None = None,
    failure_loss: float | None = None,
    max_extend: int = 16,
    bill: BillModel | None = None,
    over_the_years: bool = False,
    executor: Executor | None = None,
    on_progress: ProgressFn | None = None,
) -> SizingResult:
    """Size every year of the scenario's growth plan (see the module doc).

    With ``bill`` (the whole cost model), designs are ordered by the plan's net present cost
    (:func:`plan_cost`; the search stays exact for it, see :mod:`~vidnet_sim.analysis.
    search`), the link tiers are every optics tier of the bill (unless ``model`` is given:
    then every tier of ``model``), dearer optics than a faster tier's included, and
    the result carries the whole bill of the sized design and of the 60 % rule's
    (``result.bill``, ``result.vendor_bill``).

    The runs go to ``executor`` (default: in this process): the replications of a design
    at once; the answer is the same whatever the executor. ``on_progress`` follows the
    simulations.

    ``one_tier``: groups of link ids held at one tier (e.g. the spans of a ring), beside the
    scenario's ``[sizing] one_tier``. ``survive``, ``protected``, ``failure_loss``: override
    the scenario's ``[sizing]`` (``survive = "single-link"``: N-1, see the module doc).
    ``max_extend``: a feasible verdict is accepted only on stationary runs, extended up to
    this many times the duration (1: no stationarity check; :mod:`~vidnet_sim.analysis.
    steady`).
    ``judge``: judge designs with this function of (year, link id -> rate) instead of
    simulating them (for tests of the search; nothing is simulated then); under N-1 it is
    also called with a third argument, the failed link, once per failure case of a design
    whose normal case it found feasible (in the cases' order; the first infeasible one
    decides).
    ``over_the_years``: then, when the years have at most :data:`MAX_PLANS` plans, the
    plan of least cost over all the years (:func:`_plan_over_the_years`) instead of the
    cheapest design of each year in turn.

    Returns a :class:`SizingResult`. Raises :class:`~vidnet_sim.errors.ScenarioError` for an
    invalid scenario (any year), :class:`AnalysisInputError` for bad options or a scenario
    without SLA targets or links, and :class:`SizingStoppedError` (with the years sized so far in
    ``result``) when a year's SLA cannot be met at any tier or every run of a design fails.
    """
    _check_size_options(
        replications, max_replications, confidence, survive, max_extend, failure_loss
    )
    model = model or (bill.link_model() if bill is not None else CostModel())
    # every tier the model prices: one whose optics cost as much as a faster tier's is not
    # dominated (a slower link smooths the bursts it passes on, and can meet an SLA the
    # faster one misses; with the whole bill its switch ports or their draw may cost less)
    tiers = model.tiers
    if not tiers:
        raise AnalysisInputError("the cost model has no rate tier ([optics])")
    scenario = load_scenario(file)
    targets = {
        c: t for c, t in ((c, sla_columns(t)) for c, t in sla_targets(scenario).items()) if t
    }
    if not targets:
        raise AnalysisInputError(
            f"{file}: the scenario has no SLA targets ([sla.<class>]) to size the network for"
        )
    data, base_dir = load_raw(file)
    years = plan_years(scenario)
    if bill is not None:  # a leased link without a rent: before anything runs
        check_growth_plan(scenario, data, bill)
    setup = scenario.sizing
    ctx = _Context(
        model,
        tiers,
        targets,
        base_dir,
        Path(cache_dir) if cache_dir else None,
        duration_ps,
        replications,
        max_replications,
        confidence,
        max_designs,
        on_run,
        judge,
        *_sizing_setup(setup, one_tier, failure_loss, survive, protected),
        max_extend,
        executor=executor,
        progress=ProgressTracker(on_progress),
    )
    designs: list[YearDesign] = []  # the years chosen so far (the whole bill's plan)
    # every year validated and prepared before any worker starts: a refusal simulates nothing
    prepared = [_prepare_year(file, data, base_dir, year, duration_ps) for year in years]
    _check_run_length(ctx, prepared)
    _inputs_checked(ctx, data, years)
    if ctx.survive == "single-link":  # the failure cases' plans, built on the executor
        for yr in prepared:
            _add_failure_cases(ctx, yr, base_dir)
    result = SizingResult(
        str(file),
        str(scenario.name),
        scenario.description,
        years[-1],
        targets,
        model,
        {
            "replications": replications,
            "max_replications": max_replications,
            "confidence": confidence,
            "duration_ps": duration_ps or scenario.simulation.duration,
            "duration_warnings": duration_warnings(data, base_dir, duration_ps),
            "warmup_ps": scenario.simulation.warmup,
            "seed": scenario.simulation.seed,
            "max_designs": max_designs,
            "max_queued": year_search.MAX_QUEUED,
            "tiers_bps": tiers,
            "survive": ctx.survive,
            "protected": ctx.protected,
            "failure_loss": ctx.failure_loss,
            "convergence_ps": ctx.convergence_ps,
            "one_tier": ctx.groups,
            "max_extend": max_extend,
            "years": years,
            "over_the_years": over_the_years,
            "objective": "CAPEX of the year"
            if bill is None
            else "net present cost of the plan so far (that year's design included)",
        },
        failures=ctx.failures,
    )
    prev: dict[str, int] = {}  # link id -> tier index chosen the year before
    chosen: list[tuple[int, ...]] = []  # the designs of the years sized so far
    prev_vendor: dict[str, int] = {}
    floors = [_year_floor(ctx, yr) for yr in prepared]  # once: both searches start there
    forced, result.plan_search, judged = _plan_over_the_years(
        ctx, prepared, floors, bill, over_the_years
    )
    for k, yr in enumerate(prepared):
        year, ydata, ids, dirs, load, gauss = (
            yr.year,
            yr.data,
            yr.ids,
            yr.dirs,
            yr.load,
            yr.gaussian,
        )
        class_links, class_path, sc = yr.class_links, yr.class_path, yr.scenario
        assert sc is not None
        yr.prev = [prev.get(i) for i in ids]
        try:
            floor = floors[k]
            if isinstance(floor, _InfeasibleError):
                raise floor
            space = _space(
                ctx, yr, floor, None if bill is None else plan_cost(ctx, yr, bill, designs)
            )
            if forced is not None:  # the plan over the years
                outcome = _given(space, [prev.get(lid) for lid in ids], forced[k], judged[k])
            else:  # of designs of equal cost, the one that leaves the later years less to buy
                space.prefer = _later_cost(ctx, prepared, floors, bill, chosen)
                outcome = search_year(
                    space,
                    [prev.get(lid) for lid in ids],
                    lambda lv, yr=yr: _judgement(yr, lv, *_evaluate(ctx, yr, lv)),  # type: ignore[misc]
                    ctx.max_designs,
                    upcoming=lambda lvs: ctx.ahead.__setitem__(slice(None), lvs[:4]),
                )
            ctx.ahead.clear()
            ctx.caches.clear()
            if outcome.levels is None:
                raise _InfeasibleError(
                    _no_design(
                        ctx,
                        yr,
                        outcome,
                        floor,
                        _unbuilt_why(ctx, yr, bill, designs),
                        _compare_plans(result.plan_search),
                    )
                )
            levels = outcome.levels
            trials = [_trial(ctx, yr, t) for t in outcome.trials]
            optimal = outcome.optimal
            _evaluate(ctx, yr, levels)  # in the try: a design whose every run failed stops here
            # the 60 % rule, monotone over the years like the simulated design
            vlev, vnotes = [], []
            useful = set(model.useful_tiers)  # the rule buys no optics dominated by faster ones
            for i, lid in enumerate(ids):
                fit = [
                    k for k, t in enumerate(tiers) if t in useful and load[i] <= VENDOR_CEILING * t
                ]
                if not fit:
                    vnotes.append(lid)
                vlev.append(max(fit[0] if fit else len(tiers) - 1, prev_vendor.get(lid, 0)))
            vyr = _Year(
                year,
                ydata,
                ids,
                dirs,
                yr.lengths,
                [prev_vendor.get(i) for i in ids],
                load,
                gauss,
                class_links,
                class_path,
                yr.memo,
            )
            vendor_verdict = _evaluate(ctx, yr, tuple(vlev))[0] if vendor_check else None
        except _InfeasibleError as exc:
            result.stopped, result.stopped_year = str(exc), year
            raise SizingStoppedError(str(exc), result, "infeasible") from None
        except _RunsFailedError as exc:
            result.stopped, result.stopped_year = str(exc), year
            raise SizingStoppedError(str(exc), result, "runs-failed") from None
        result.years.append(
            YearSizing(
                year=year,
                **_design_fields(ctx, yr, levels, floor, optimal, base_dir, forced is not None),
                lengths_m=dict(zip(ids, yr.lengths, strict=True)),
                trials=trials,
                optimal=optimal,
                load_bps=dict(zip(ids, load, strict=True)),
                gaussian_bps=dict(zip(ids, gauss, strict=True)),
                vendor_rates=_rates(ctx, yr, tuple(vlev)),
                vendor_capex=float(sum(_capex(ctx, vyr, tuple(vlev)))),
                vendor_verdict=vendor_verdict,
                vendor_over=vnotes,
                counts=_counts(sc),
                lower_bound=outcome.lower_bound,
                cost=outcome.cost,
                budgets=outcome.budgets,
                expansions=outcome.expansions,
                queued=outcome.queued,
                floor_rates=_rates(ctx, yr, outcome.floor),
                scenario=sc,
            )
        )
        designs.append(YearDesign(year, sc, _rates(ctx, yr, levels)))
        prev = {lid: lv for lid, lv in zip(ids, levels, strict=True)}
        chosen.append(levels)
        prev_vendor = {lid: lv for lid, lv in zip(ids, vlev, strict=True)}
    if bill is not None:
        _price_sizing(result, bill)
    return result
