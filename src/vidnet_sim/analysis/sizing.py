"""Costed sizing over a growth plan: the cheapest rate tier per link meeting every SLA.

For each year of the scenario's growth plan (:mod:`vidnet_sim.scenario.growth`; just year 1
without one), :func:`size_network` chooses a rate tier for every scenario link so that every
SLA target holds in simulation, at the least CAPEX **for that year**, given that a link never
goes down a tier: the links of year *y* start from their tiers of year *y − 1*. A link is
paid for when it is built (optics and ports at both ends, and the fibre when
``CostModel.new_fibre``) and again whenever it moves up a tier (new optics and ports).

The search of one year (simulation decides, estimates prune):

1. **lower bound**: each link at least at its tier of the year before and above its mean load
   (sum of means: no slower tier can carry it); a link whose mean load exceeds the fastest
   tier of the cost table makes the SLA unreachable at once;
2. the lower-bound design is simulated; if it meets every SLA, it is the answer;
3. the **top** design (every link at the fastest tier) is simulated: if even it fails, the
   SLA cannot be met at any tier (the message names the class, the link and the year);
4. **best first**: designs above the lower bound are visited in increasing order of the
   year's CAPEX; a design is skipped without simulating when a design already failed for a
   class and this one is no faster on any link that class crosses — or, when only its loss
   targets failed, on any link that dropped packets (:func:`_culprits`). The verdict is
   assumed monotone: a faster link never hurts the traffic crossing it, links a class does
   not cross do not help it, and upgrading links other than the one dropping packets only
   makes the traffic reaching it burstier. The first design meeting every SLA is the
   cheapest under these assumptions.
   After ``max_designs`` simulated designs the search falls back to upgrading, one tier at a
   time, the busiest link crossed by a failing class (marked ``optimal = False``).

Each design is judged like a capacity value (:func:`~vidnet_sim.analysis.capacity._judge`):
replications until every target's confidence interval is clear of it (or
``max_replications``); every design of a year uses the same seeds (common random numbers);
runs are stored and reused (:class:`~vidnet_sim.analysis.runs.RunCache`). Beside it, the
design the 60 % rule would buy (sum of means ≤ 60 % of the rate, also monotone over the
years) is costed and simulated, and the Gaussian equivalent capacity and network-calculus
bound are computed for the chosen design.
"""

from __future__ import annotations

import copy
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidnet_sim.analysis.bill import (
    Bill,
    BillModel,
    YearDesign,
    check_growth_plan,
    plan_npc,
    price_plan,
)
from vidnet_sim.analysis.capacity import Verdict, judge_many, show_value, sla_columns
from vidnet_sim.analysis.cost import CostModel, link_lengths, scenario_links
from vidnet_sim.analysis.estimates import estimate
from vidnet_sim.analysis.runs import RunCache, RunRecord
from vidnet_sim.analysis.vary import AnalysisInputError, Vary, load_raw
from vidnet_sim.errors import ScenarioError
from vidnet_sim.execute import Executor, ProgressFn, ProgressTracker
from vidnet_sim.network.plan import build_plan
from vidnet_sim.results.storage import mean_storage
from vidnet_sim.runner import sla_targets
from vidnet_sim.scenario import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.growth import plan_years, remap_problem, year_data
from vidnet_sim.scenario.model import Scenario

__all__ = [
    "VENDOR_CEILING",
    "SizingResult",
    "SizingStoppedError",
    "Trial",
    "YearSizing",
    "size_network",
]

#: The vendor-tool rule: the sum of the mean rates on a link at most this share of its rate.
VENDOR_CEILING = 0.6
#: Designs the best-first search may visit (simulated or skipped) before it falls back.
_MAX_VISITS = 100_000
#: Designs next in cost order whose first runs may fill idle workers (speculation).
_AHEAD = 4


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
    optimal: bool
    load_bps: dict[str, float]  # sum of means, the busier direction
    gaussian_bps: dict[str, float]  # Gaussian equivalent capacity, the busier direction
    utilisation: dict[str, float]  # simulated, the busier direction
    nc_bound_ps: dict[str, float]  # per class, network-calculus bound of the chosen design
    vendor_rates: dict[str, int]
    vendor_capex: float
    vendor_verdict: Verdict | None
    vendor_note: str
    counts: dict[str, int]  # cameras, camera groups, sources, services, links
    scenario: Scenario | None = None  # the year's scenario (for the whole bill)

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
                    "binding_class": b.get("class", ""),
                    "binding_metric": b.get("metric", ""),
                    "binding_margin": b.get("margin", math.nan),
                    "uncertain": y.verdict.uncertain,
                    "optimal": y.optimal,
                    "designs_simulated": y.simulated,
                    "partial": self.partial,
                }
            )
        return pd.DataFrame(rows)

    def margins(self) -> pd.DataFrame:
        """Per year, class and target: the simulated mean, its interval, the target, the
        margin ``1 − mean / target`` and the network-calculus bound (latency targets)."""
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
        ]
        return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)

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
                    }
                )
        return pd.DataFrame(rows)


class SizingStoppedError(AnalysisInputError):
    """A year could not be sized: ``kind`` ``"infeasible"`` (an SLA no tier meets; exit 3)
    or ``"runs-failed"`` (every run of a design failed; exit 4). ``result`` holds the years
    sized before it (partial)."""

    def __init__(self, message: str, result: SizingResult, kind: str) -> None:
        super().__init__(message)
        self.result = result
        self.kind = kind


# --------------------------------------------------------------------------- one year
@dataclass
class _Context:
    model: CostModel
    tiers: list[int]
    targets: dict[str, dict[str, float]]
    base_dir: Path
    folder: Path | None
    duration_ps: int | None
    replications: int
    max_replications: int
    confidence: float
    max_designs: int
    on_run: Callable[[RunRecord], None] | None
    failures: list[dict[str, Any]] = field(default_factory=list)
    bill: BillModel | None = None  # set: designs are ordered by the plan's net present cost
    designs: list[YearDesign] = field(default_factory=list)  # the years chosen so far
    executor: Executor | None = None
    progress: ProgressTracker | None = None
    caches: dict[tuple[int, tuple[int, ...]], RunCache] = field(default_factory=dict)


@dataclass
class _Year:
    """What the search of one year knows: its raw data, links, loads, and the class paths."""

    year: int
    data: dict[str, Any]
    ids: list[str]
    dirs: list[list[str]]
    lengths: list[float]
    prev: list[int | None]  # tier index the year before
    load: list[float]
    gaussian: list[float]
    class_links: dict[str, set[int]]  # class -> positions of the links its flows cross
    class_path: dict[str, tuple[float, list[str]]]  # class -> (longest propagation, links)
    memo: dict[tuple[int, ...], tuple[Verdict, list[RunRecord]]] = field(default_factory=dict)
    scenario: Scenario | None = None


def _rates(ctx: _Context, yr: _Year, levels: tuple[int, ...]) -> dict[str, int]:
    return {lid: ctx.tiers[i] for lid, i in zip(yr.ids, levels, strict=True)}


def _capex(ctx: _Context, yr: _Year, levels: tuple[int, ...]) -> list[float]:
    """What each link costs this year in design ``levels``."""
    out = []
    for i, lv in enumerate(levels):
        if yr.prev[i] is None:
            out.append(ctx.model.upgrade_cost(ctx.tiers[lv]) + ctx.model.fibre_cost(yr.lengths[i]))
        elif lv != yr.prev[i]:
            out.append(ctx.model.upgrade_cost(ctx.tiers[lv]))
        else:
            out.append(0.0)
    return out


def plan_cost(ctx: _Context, yr: _Year, levels: tuple[int, ...]) -> float:
    """The net present cost of the plan so far with design ``levels`` for this year
    (:func:`~vidnet_sim.analysis.bill.plan_npc`; storage from the cameras' mean bitrates,
    the same for every design of the year)."""
    assert ctx.bill is not None and yr.scenario is not None
    design = YearDesign(yr.year, yr.scenario, _rates(ctx, yr, levels))
    return plan_npc([*ctx.designs, design], ctx.bill)


def _price_sizing(result: SizingResult, bill: BillModel) -> None:
    """The whole bill of the sized design and of the 60 % rule's (both with the storage the
    sized design's runs measured); the link tables then show each link's fibre and optics."""
    designs, vendor = [], []
    for y in result.years:
        assert y.scenario is not None
        summaries = [r.summary for r in y.records if r.summary is not None]
        storage = mean_storage(y.scenario, summaries)
        designs.append(YearDesign(y.year, y.scenario, y.rates, storage))
        vendor.append(YearDesign(y.year, y.scenario, y.vendor_rates, storage))
    if designs:
        result.bill = price_plan(designs, bill)
        result.vendor_bill = price_plan(vendor, bill)
        paid, vpaid = result.bill.link_capex(), result.vendor_bill.link_capex()
        for y in result.years:
            y.link_capex = {lid: paid.get((y.year, lid), 0.0) for lid in y.rates}
            y.vendor_capex = float(sum(vpaid.get((y.year, lid), 0.0) for lid in y.rates))


def _design_cache(ctx: _Context, yr: _Year, levels: tuple[int, ...]) -> RunCache:
    """The runs of design ``levels`` in year ``yr`` (kept: runs made ahead are reused)."""
    if (yr.year, levels) not in ctx.caches:
        trial = copy.deepcopy(yr.data)
        for link, lv in zip(trial["links"], levels, strict=True):
            link["rate"] = f"{ctx.tiers[lv]}bps"
        ctx.caches[yr.year, levels] = RunCache(
            trial,
            ctx.base_dir,
            Vary("size", "fixed", None, 0.0),
            ctx.folder,
            ctx.duration_ps,
            ctx.on_run,
            executor=ctx.executor,
            progress=ctx.progress,
        )
    return ctx.caches[yr.year, levels]


def _evaluate(
    ctx: _Context, yr: _Year, levels: tuple[int, ...], ahead: list[tuple[int, ...]] | None = None
) -> tuple[Verdict, list[RunRecord]]:
    """Simulate design ``levels`` (replications until decided, at once on the executor);
    memoised per year. The first runs of the designs ``ahead`` (those judged next) fill
    idle workers (:func:`~vidnet_sim.analysis.capacity.judge_many`)."""
    if levels in yr.memo:
        return yr.memo[levels]
    x = float(yr.year)
    spec = [(_design_cache(ctx, yr, a), x) for a in ahead or () if a not in yr.memo]
    [(verdict, recs)] = judge_many(
        [(_design_cache(ctx, yr, levels), x)],
        ctx.targets,
        ctx.confidence,
        ctx.replications,
        ctx.max_replications,
        ahead=spec,
    )
    for r in recs:
        if r.error is not None:
            ctx.failures.append(
                {
                    "year": yr.year,
                    "rates": _rates(ctx, yr, levels),
                    "replication": r.replication,
                    "seed": r.seed,
                    "error": r.error,
                }
            )
    if not any(r.summary is not None for r in recs):
        raise _RunsFailedError(f"year {yr.year}: every run of a design failed: {recs[0].error}")
    yr.memo[levels] = (verdict, recs)
    return verdict, recs


class _RunsFailedError(Exception):
    """Every run of a design failed."""


class _InfeasibleError(Exception):
    """No tier meets an SLA (the message says which and why)."""


def _failing(verdict: Verdict) -> list[str]:
    """Classes with a target judged violated (decided, or by the mean)."""
    c = verdict.checks
    bad = (c["state"] == "fail") | ((c["state"] == "open") & (c["mean"] > c["target"]))
    return sorted(set(c.loc[bad, "class"].astype(str)))


def _culprits(yr: _Year, verdict: Verdict) -> set[int]:
    """The links a design that failed must upgrade (at least one of them) to do better: per
    failing class, the links it crosses; when only its loss targets fail and some of those
    links drop packets, just the dropping ones (upgrading a link elsewhere only makes the
    traffic reaching them burstier). Every link when no class crosses any."""
    c = verdict.checks
    bad = (c["state"] == "fail") | ((c["state"] == "open") & (c["mean"] > c["target"]))
    drops = (
        dict(zip(verdict.links["link"].astype(str), verdict.links["drops"], strict=True))
        if len(verdict.links)
        else {}
    )
    dropping = {i for i, ds in enumerate(yr.dirs) if any(drops.get(d, 0) > 0 for d in ds)}
    out: set[int] = set()
    for cls in sorted(set(c.loc[bad, "class"].astype(str))):
        path = yr.class_links.get(cls, set())
        metrics = set(c.loc[bad & (c["class"] == cls), "metric"].astype(str))
        only_loss = metrics <= {"loss", "frame_loss"}
        out |= (path & dropping) if only_loss and path & dropping else path
    return out or set(range(len(yr.ids)))


def _link_util(yr: _Year, verdict: Verdict) -> list[float]:
    util = (
        dict(zip(verdict.links["link"].astype(str), verdict.links["utilisation"], strict=True))
        if len(verdict.links)
        else {}
    )
    return [max((float(util[d]) for d in dirs if d in util), default=0.0) for dirs in yr.dirs]


def _unreachable(ctx: _Context, yr: _Year, verdict: Verdict) -> str:
    """Why no tier meets the SLA: the class, its target, and the link or path at fault."""
    cls = _failing(verdict)
    c = verdict.checks[verdict.checks["class"].isin(cls)].sort_values("ratio", ascending=False)
    row = c.iloc[0]
    name, metric = str(row["class"]), str(row["metric"])
    mean, target = float(row["mean"]), float(row["target"])
    head = (
        f"the SLA cannot be met at any tier in year {yr.year}: class {name!r} {metric} is "
        f"{show_value(metric, mean)} against a target of {show_value(metric, target)} "
        f"even with every link at the fastest tier ({_show_rate(ctx.tiers[-1])})"
    )
    prop, path = yr.class_path.get(name, (0.0, []))
    if metric.endswith("_ps") and prop >= target:
        return (
            f"{head}: the propagation delay of its longest path (link"
            f"{'s' if len(path) != 1 else ''} {', '.join(path)}) is "
            f"{show_value(metric, prop)} alone; relax the target or shorten the path"
        )
    on_path = sorted(yr.class_links.get(name, set()))
    if not on_path:
        return f"{head}: it crosses none of the links sized here (only access links)"
    util = _link_util(yr, verdict)
    busiest = max(on_path, key=lambda i: util[i])
    return (
        f"{head}; the busiest link on its path is {yr.ids[busiest]} (utilisation "
        f"{util[busiest]:.1%} at {_show_rate(ctx.tiers[-1])}); add a faster tier to the "
        "cost table, or change the network"
    )


def _show_rate(bps: float) -> str:
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:g} {unit}"
    return f"{bps:g} bit/s"


def _search(
    ctx: _Context, yr: _Year, lb: tuple[int, ...]
) -> tuple[tuple[int, ...], list[Trial], bool]:
    """The cheapest design ≥ ``lb`` meeting every SLA (see the module doc), the designs
    considered, and whether the search completed (``False``: greedy fallback)."""
    trials: list[Trial] = []
    top = tuple(len(ctx.tiers) - 1 for _ in lb)

    def cost(levels: tuple[int, ...]) -> float:
        if ctx.bill is not None:
            return plan_cost(ctx, yr, levels)
        return float(sum(_capex(ctx, yr, levels)))

    def judge(
        levels: tuple[int, ...], note: str = "", ahead: list[tuple[int, ...]] | None = None
    ) -> Verdict:
        v, _ = _evaluate(ctx, yr, levels, ahead)
        trials.append(
            Trial(
                yr.year,
                _rates(ctx, yr, levels),
                cost(levels),
                v.ok,
                v.binding(),
                v.uncertain,
                v.replications,
                note,
            )
        )
        return v

    v = judge(lb, "lower bound")
    if v.ok:
        return lb, trials, True
    failed: list[tuple[tuple[int, ...], set[int]]] = []

    def remember(levels: tuple[int, ...], verdict: Verdict) -> None:
        failed.append((levels, _culprits(yr, verdict)))

    remember(lb, v)
    if top != lb:
        vt = judge(top, "fastest tiers")
        if not vt.ok:
            raise _InfeasibleError(_unreachable(ctx, yr, vt))
    else:
        raise _InfeasibleError(_unreachable(ctx, yr, v))

    def dominated(levels: tuple[int, ...]) -> bool:
        return any(all(levels[i] <= f[i] for i in rel) for f, rel in failed)

    heap: list[tuple[float, tuple[int, ...]]] = []
    seen = {lb}

    def push_up(levels: tuple[int, ...]) -> None:
        for i in range(len(levels)):
            if levels[i] + 1 < len(ctx.tiers):
                nxt = (*levels[:i], levels[i] + 1, *levels[i + 1 :])
                if nxt not in seen:
                    seen.add(nxt)
                    heapq.heappush(heap, (cost(nxt), nxt))

    push_up(lb)
    pops = 0
    while heap:
        _, levels = heapq.heappop(heap)
        pops += 1
        if pops > _MAX_VISITS or (
            sum(t.ok is not None for t in trials) >= ctx.max_designs and levels not in yr.memo
        ):
            return _greedy(ctx, yr, lb, trials, judge), trials, False
        if dominated(levels):
            push_up(levels)
            continue
        ahead = [lv for _, lv in heapq.nsmallest(_AHEAD, heap) if not dominated(lv)]
        v = judge(levels, ahead=ahead)
        if v.ok:
            return levels, trials, True
        remember(levels, v)
        push_up(levels)
    return top, trials, True  # not reached: the top design passes


def _greedy(
    ctx: _Context,
    yr: _Year,
    lb: tuple[int, ...],
    trials: list[Trial],
    judge: Callable[[tuple[int, ...], str], Verdict],
) -> tuple[int, ...]:
    """Fallback: from ``lb``, upgrade the busiest link a failing class crosses, one tier at a
    time, until every SLA holds."""
    levels = lb
    while True:
        v, _ = _evaluate(ctx, yr, levels)
        if v.ok:
            return levels
        util = _link_util(yr, v)
        up = [i for i in _culprits(yr, v) if levels[i] + 1 < len(ctx.tiers)] or [
            i for i in range(len(levels)) if levels[i] + 1 < len(ctx.tiers)
        ]
        if not up:
            raise _InfeasibleError(_unreachable(ctx, yr, v))
        i = max(up, key=lambda j: (util[j], -j))
        levels = (*levels[:i], levels[i] + 1, *levels[i + 1 :])
        judge(levels, "greedy (search limit reached)")


def _class_paths(
    plan: Any, ids: list[str], dirs: list[list[str]]
) -> tuple[dict[str, set[int]], dict[str, tuple[float, list[str]]]]:
    """Per class: the positions of the scenario links its flows cross, and its longest
    propagation delay (ps) with that path's links."""
    pos = {d: i for i, ds in enumerate(dirs) for d in ds}
    links: dict[str, set[int]] = {}
    longest: dict[str, tuple[float, list[str]]] = {}
    group = plan.sources.group[plan.flow_source]
    for f in range(plan.n_flows):
        cls = str(plan.group_classes[int(group[f])])
        route = [int(x) for x in plan.route(f)]
        crossed = [pos[plan.link_names[x]] for x in route if plan.link_names[x] in pos]
        links.setdefault(cls, set()).update(crossed)
        prop = float(np.sum(plan.link_prop_ps[route])) if route else 0.0
        if prop > longest.get(cls, (-1.0, []))[0]:
            longest[cls] = (prop, [ids[i] for i in crossed])
    return links, longest


def _per_link(dirs: list[list[str]], values: dict[str, float]) -> list[float]:
    return [max((float(values[d]) for d in ds if d in values), default=0.0) for ds in dirs]


def _counts(sc: Any) -> dict[str, int]:
    return {
        "cameras": int(sum(c.count for c in sc.cameras)),
        "camera_groups": len(sc.cameras),
        "sources": len(sc.sources),
        "services": len(sc.services),
        "links": len(sc.links),
    }


# --------------------------------------------------------------------------- entry point
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
    bill: BillModel | None = None,
    executor: Executor | None = None,
    on_progress: ProgressFn | None = None,
) -> SizingResult:
    """Size every year of the scenario's growth plan (see the module doc).

    With ``bill`` (the whole cost model), designs are ordered by the plan's net present cost
    (:func:`plan_cost`), the link tiers are the bill's optics tiers (unless ``model`` is
    given), and the result carries the whole bill of the sized design and of the 60 % rule's
    (``result.bill``, ``result.vendor_bill``).

    The runs go to ``executor`` (default: in this process): the replications of a design at
    once, and the first runs of the next designs in cost order when workers would be idle;
    the answer is the same whatever the executor. ``on_progress`` follows the simulations.

    Returns a :class:`SizingResult`. Raises :class:`~vidnet_sim.errors.ScenarioError` for an
    invalid scenario (any year), :class:`AnalysisInputError` for bad options or a scenario
    without SLA targets or links, and :class:`SizingStoppedError` (with the years sized so far in
    ``result``) when a year's SLA cannot be met at any tier or every run of a design fails.
    """

    if replications < 1 or max_replications < replications:
        raise AnalysisInputError(
            "--replications must be ≥ 1 and --max-replications ≥ --replications"
        )
    if not 0 < confidence < 1:
        raise AnalysisInputError(f"--confidence: must be in (0, 1), got {confidence}")
    model = model or (bill.link_model() if bill is not None else CostModel())
    tiers = model.useful_tiers
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
        bill=bill,
        executor=executor,
        progress=ProgressTracker(on_progress),
    )
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
            "warmup_ps": scenario.simulation.warmup,
            "seed": scenario.simulation.seed,
            "max_designs": max_designs,
            "tiers_bps": tiers,
        },
        failures=ctx.failures,
    )
    prev: dict[str, int] = {}  # link id -> tier index chosen the year before
    prev_vendor: dict[str, int] = {}
    for year in years:
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
        gauss = _per_link(
            dirs, dict(zip(est["link"].astype(str), est["gaussian_bps"], strict=True))
        )
        class_links, class_path = _class_paths(plan, ids, dirs)
        yr = _Year(
            year,
            ydata,
            ids,
            dirs,
            [lengths[i] for i in ids],
            [prev.get(i) for i in ids],
            load,
            gauss,
            class_links,
            class_path,
            scenario=sc,
        )
        try:
            lb: list[int] = []
            for i, lid in enumerate(ids):
                fit = [k for k, t in enumerate(tiers) if t > load[i]]
                if not fit:
                    raise _InfeasibleError(
                        f"the SLA cannot be met at any tier in year {year}: link {lid} "
                        f"carries {_show_rate(load[i])} on average (sum of mean rates), more "
                        f"than the fastest tier of the cost table ({_show_rate(tiers[-1])}); "
                        "add a faster tier to [optics]"
                    )
                lb.append(max(fit[0], prev.get(lid, 0)))
            levels, trials, optimal = _search(ctx, yr, tuple(lb))
            verdict, records = _evaluate(ctx, yr, levels)
            # the 60 % rule, monotone over the years like the simulated design
            vlev, vnotes = [], []
            for i, lid in enumerate(ids):
                fit = [k for k, t in enumerate(tiers) if load[i] <= VENDOR_CEILING * t]
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
        # estimates of the chosen design (the network-calculus bound depends on the rates)
        chosen = copy.deepcopy(ydata)
        for link, lv in zip(chosen["links"], levels, strict=True):
            link["rate"] = f"{tiers[lv]}bps"
        csc = parse_scenario_dict(chosen, base_dir=base_dir)
        cest = estimate(csc, build_plan(csc, base_dir))
        nc = {str(c): float(cest.group_bound_ps(str(c))) for c in set(cest.groups["class"])}
        result.years.append(
            YearSizing(
                year=year,
                rates=_rates(ctx, yr, levels),
                previous={
                    lid: (tiers[p] if p is not None else None)
                    for lid, p in zip(ids, yr.prev, strict=True)
                },
                lengths_m=dict(zip(ids, yr.lengths, strict=True)),
                link_capex=dict(zip(ids, _capex(ctx, yr, levels), strict=True)),
                verdict=verdict,
                records=records,
                trials=trials,
                optimal=optimal,
                load_bps=dict(zip(ids, load, strict=True)),
                gaussian_bps=dict(zip(ids, gauss, strict=True)),
                utilisation=dict(zip(ids, _link_util(yr, verdict), strict=True)),
                nc_bound_ps=nc,
                vendor_rates=_rates(ctx, yr, tuple(vlev)),
                vendor_capex=float(sum(_capex(ctx, vyr, tuple(vlev)))),
                vendor_verdict=vendor_verdict,
                vendor_note=("over 60 % even at the fastest tier: " + ", ".join(vnotes))
                if vnotes
                else "",
                counts=_counts(sc),
                scenario=sc,
            )
        )
        ctx.designs.append(YearDesign(year, sc, _rates(ctx, yr, levels)))
        prev = {lid: lv for lid, lv in zip(ids, levels, strict=True)}
        prev_vendor = {lid: lv for lid, lv in zip(ids, vlev, strict=True)}
    if bill is not None:
        _price_sizing(result, bill)
    return result
