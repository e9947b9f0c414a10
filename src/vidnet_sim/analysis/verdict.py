"""Judging one design of one year: its cases, its runs, and when a verdict may be trusted.

What the sizing (:mod:`vidnet_sim.analysis.sizing`) knows while it searches a year
(:class:`_Context`: the settings; :class:`_Year`: the year's data, links, loads, the paths
of every class, its failure cases and every verdict so far), and how a design is judged
(:func:`_evaluate`): the normal case, then, when it passes, each failure case (N-1, built by
:func:`_failure_cases`), each one simulated with replications until decided
(:func:`_evaluate_case`, loss targets counting buffer losses only; as many cases at once as
the workers can start, :func:`_first_rounds`) and accepted only on
stationary runs (:func:`_steady_case`, :mod:`vidnet_sim.analysis.steady`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vidnet_sim.analysis.capacity import Verdict, judge_many, unsettled_rows
from vidnet_sim.analysis.cost import CostModel
from vidnet_sim.analysis.runs import RunCache, RunRecord
from vidnet_sim.analysis.steady import trend
from vidnet_sim.analysis.vary import AnalysisInputError, Vary
from vidnet_sim.execute import Executor, ProgressTracker, SerialExecutor
from vidnet_sim.network.plan import build_plan
from vidnet_sim.results.metric_words import metric_words
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.scenario.units import duration_words, percent_words
from vidnet_sim.timeline.driver import scenario_actions

#: Equal report intervals per run, for the stationarity check (10 MSER-5 batches).
_INTERVALS = 50


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
    # judges designs instead of simulating them: (year, rates) for the normal case and,
    # under N-1, (year, rates, failed link) for each failure case
    verdict: Callable[..., Verdict] | None = None
    groups: list[list[str]] = field(default_factory=list)
    failure_loss: float | None = None  # budget of each class for losses to a failure
    survive: str = "none"  # "single-link": every protected link's failure is a case
    protected: list[str] | None = None  # None: every link with a protection path
    convergence_ps: int = 50 * 10**9
    max_extend: int = 16  # longest run for a stationary verdict, × the duration (1: no check)
    executor: Executor | None = None  # where the runs go (None: in this process)
    progress: ProgressTracker | None = None
    ahead: list[tuple[int, ...]] = field(default_factory=list)  # designs judged next
    caches: dict[tuple[int, int, int, tuple[int, ...]], RunCache] = field(default_factory=dict)

    @property
    def case_targets(self) -> dict[str, dict[str, float]]:
        """The targets each case is judged on: the SLA, and ``failure_loss`` when given."""
        if self.failure_loss is None:
            return self.targets
        return {c: {**t, "failure_loss": self.failure_loss} for c, t in self.targets.items()}

    failures: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Case:
    """One failure case of a year: the failed link and the year's data with its failure."""

    link: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return f"failure of {self.link}"


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
    class_min_prop: dict[str, float] = field(default_factory=dict)  # shortest propagation
    class_dirs: dict[str, set[str]] = field(default_factory=dict)  # every directed link crossed
    cases: list[_Case] = field(default_factory=list)  # failure cases (N-1)
    duration_ps: int = 0  # the scenario's simulated duration
    transient: dict[tuple[int, ...], list[str]] = field(default_factory=dict)
    extended: dict[tuple[int, ...], dict[str, int]] = field(default_factory=dict)
    failed_case: dict[tuple[int, ...], str] = field(default_factory=dict)
    case_verdicts: dict[tuple[int, ...], list[tuple[str, Verdict]]] = field(default_factory=dict)
    scenario: Scenario | None = None  # the year's scenario (the whole bill prices it)


def _rates(ctx: _Context, yr: _Year, levels: tuple[int, ...]) -> dict[str, int]:
    return {lid: ctx.tiers[i] for lid, i in zip(yr.ids, levels, strict=True)}


def _evaluate(ctx: _Context, yr: _Year, levels: tuple[int, ...]) -> tuple[Verdict, list[RunRecord]]:
    """Judge design ``levels``: the normal case, then (when it passes) every failure case in
    order, stopping at the first that fails; memoised per year. Returns the deciding case's
    verdict and runs (the normal case's when every case passes); the failing case's name is
    kept in ``yr.failed_case`` and every case judged in ``yr.case_verdicts``."""
    if levels in yr.memo:
        return yr.memo[levels]
    stub = ctx.verdict
    rates = _rates(ctx, yr, levels)
    none: list[RunRecord] = []  # a given verdict function simulates nothing
    if stub is not None:  # asked per failed link too, under N-1
        verdict, recs = stub(yr.year, rates), none
    else:
        verdict, recs = _steady_case(ctx, yr, levels, yr.data, "normal")
    judged = [("normal", verdict)]
    decided = (verdict, recs)
    if verdict.ok:
        batch = _case_batch(ctx)
        for i, case in enumerate(yr.cases):
            if stub is not None:
                v, r = stub(yr.year, rates, case.link), none
            else:
                if i % batch == 0:  # the next cases at once, their runs kept for below
                    ahead = yr.cases[i + batch : i + 2 * batch]
                    _first_rounds(ctx, yr, levels, yr.cases[i : i + batch], ahead)
                v, r = _steady_case(ctx, yr, levels, case.data, case.name)
            judged.append((case.name, v))
            if not v.ok:
                decided = (v, r)
                yr.failed_case[levels] = case.name
                break
    yr.case_verdicts[levels] = judged
    yr.memo[levels] = decided
    return decided


def _case_batch(ctx: _Context) -> int:
    """How many failure cases are judged at once: as many as the workers can start together
    (the runs of a case after the first failing one are simulated for nothing)."""
    slots = ctx.executor.slots if ctx.executor is not None else 1
    return max(1, slots // ctx.replications)


def _first_rounds(
    ctx: _Context, yr: _Year, levels: tuple[int, ...], cases: list[_Case], ahead: list[_Case]
) -> None:
    """Judge ``cases`` of design ``levels`` at once at the scenario's duration (their runs
    kept in their caches: :func:`_steady_case` then judges each, in order, from the same
    runs); the first runs of the cases ``ahead`` fill idle workers. The verdicts are those of
    judging each case alone (:func:`~vidnet_sim.analysis.capacity.judge_many`)."""
    x = float(yr.year)
    run_ps = ctx.duration_ps or yr.duration_ps

    def cache(case: _Case) -> RunCache:
        return _case_cache(ctx, yr, levels, case.data, ctx.duration_ps, run_ps)

    judge_many(
        [(cache(c), x) for c in cases],
        ctx.case_targets,
        ctx.confidence,
        ctx.replications,
        ctx.max_replications,
        ahead=[(cache(c), x) for c in ahead],
        read=_buffer_loss,
    )


def _steady_case(
    ctx: _Context, yr: _Year, levels: tuple[int, ...], data: dict[str, Any], case: str
) -> tuple[Verdict, list[RunRecord]]:
    """Judge one case, accepting a feasible verdict only when every SLA metric is
    stationary over the run (:mod:`vidnet_sim.analysis.steady`): otherwise the duration is
    doubled, up to ``ctx.max_extend`` times the scenario's, and the case judged again. A
    feasible verdict still resting on a transient at the limit is kept and recorded in
    ``yr.transient``; the factor each case was decided at in ``yr.extended``."""
    base = ctx.duration_ps or yr.duration_ps
    factor = 1
    while True:
        verdict, recs = _evaluate_case(
            ctx,
            yr,
            levels,
            data,
            base * factor if factor > 1 else ctx.duration_ps,
            base * factor,
            # the first runs of the designs judged next fill idle workers (normal case)
            ahead=ctx.ahead if case == "normal" and factor == 1 else (),
        )
        growing = _growing(ctx, yr, recs) if verdict.ok and ctx.max_extend > 1 else []
        if not growing:
            break
        if factor * 2 > ctx.max_extend:
            yr.transient.setdefault(levels, []).extend(f"{case}: {g}" for g in growing)
            break
        factor *= 2
    if factor > 1:
        yr.extended.setdefault(levels, {})[case] = factor
    return verdict, recs


def _growing(ctx: _Context, yr: _Year, records: list[RunRecord]) -> list[str]:
    """What a feasible verdict rests on that is not stationary: the SLA metrics (``class
    metric``) whose per-interval values, averaged over the replications, show a positive
    batch-means trend after the MSER-5 warm-up, and the links crossed by a class with an
    SLA measured for less than their queue's relaxation time."""
    crossed = {d for cls in ctx.targets for d in yr.class_dirs.get(cls, set())}
    slow: dict[str, tuple[float, float]] = {}
    for name, relax, u, _ in unsettled_rows(records, crossed):
        slow[name] = max(slow.get(name, (0.0, 0.0)), (relax, u))
    out = [
        f"{name} at {percent_words(u, 1)} utilisation settles in "
        + ("never" if math.isinf(t) else duration_words(t))
        + f", longer than the {duration_words(records[0].links['measured_ps'].iloc[0])} measured"
        if records and records[0].links is not None and len(records[0].links)
        else ""
        for name, (t, u) in sorted(slow.items())
    ]
    frames = [r.epochs for r in records if r.epochs is not None and len(r.epochs)]
    if not frames:
        return out
    ep = pd.concat(frames, ignore_index=True)
    ep = ep[ep["level"] == "class"]
    for cls, cols in ctx.targets.items():
        e = ep[ep["name"] == cls]
        if not len(e):
            continue
        for metric in cols:
            col = metric.removeprefix("packet_")
            if col == "loss":
                values = (e["loss"] - e["failure_loss"]).clip(lower=0.0)
            elif col in e.columns:
                values = e[col]
            else:
                continue  # frame metrics: no per-interval column
            series = values.groupby(e["epoch"]).mean().sort_index().to_numpy(np.float64)
            if trend(series).transient:
                out.append(f"{cls} {metric_words(metric)} still growing at the end")
    return out


def _evaluate_case(
    ctx: _Context,
    yr: _Year,
    levels: tuple[int, ...],
    data: dict[str, Any],
    duration_ps: int | None,
    run_ps: int,
    ahead: Sequence[tuple[int, ...]] = (),
) -> tuple[Verdict, list[RunRecord]]:
    """Simulate one case of design ``levels`` (replications until decided, those of one
    round at once on ``ctx.executor``: :func:`~vidnet_sim.analysis.capacity.judge_many`).
    Loss targets count buffer losses only (``loss − failure_loss``): the packets lost while a
    failure converges are a property of the protection scheme, judged against
    ``failure_loss``. The first runs of the designs ``ahead`` (judged next) may fill idle
    workers; they are kept for when those designs are judged."""
    x = float(yr.year)
    [(verdict, recs)] = judge_many(  # the replications at once on the executor
        [(_case_cache(ctx, yr, levels, data, duration_ps, run_ps), x)],
        ctx.case_targets,
        ctx.confidence,
        ctx.replications,
        ctx.max_replications,
        ahead=[
            (_case_cache(ctx, yr, lv, data, duration_ps, run_ps), x)
            for lv in ahead
            if lv not in yr.memo and lv != levels
        ],
        read=_buffer_loss,
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
    return verdict, recs


def _case_cache(
    ctx: _Context,
    yr: _Year,
    levels: tuple[int, ...],
    data: dict[str, Any],
    duration_ps: int | None,
    run_ps: int,
) -> RunCache:
    """The runs of one case of design ``levels`` (kept while the year is searched, so that
    runs made ahead are not made again)."""
    key = (yr.year, id(data), run_ps, levels)
    if key not in ctx.caches:
        trial = copy.deepcopy(data)
        trial.pop("sizing", None)  # not read by a run: runs are stored by what they simulate
        for link, lv in zip(trial["links"], levels, strict=True):
            link["rate"] = f"{ctx.tiers[lv]}bps"
        if ctx.max_extend > 1:  # equal intervals for the stationarity check
            trial.setdefault("simulation", {})["report_interval"] = f"{run_ps // _INTERVALS}ps"
        ctx.caches[key] = RunCache(
            trial,
            ctx.base_dir,
            Vary("size", "fixed", None, 0.0),
            ctx.folder,
            duration_ps,
            ctx.on_run,
            executor=ctx.executor,
            progress=ctx.progress,
        )
    return ctx.caches[key]


def _buffer_loss(rec: RunRecord) -> RunRecord:
    """``rec`` with ``loss`` counting buffer losses only (the failure losses taken out)."""
    if rec.summary is None or not (rec.summary["failure_loss"] > 0).any():
        return rec
    s = rec.summary.copy()
    s["loss"] = (s["loss"] - s["failure_loss"]).clip(lower=0.0)
    return dataclasses.replace(rec, summary=s)


class _RunsFailedError(Exception):
    """Every run of a design failed."""


def _measured_sources(scenario: Scenario, plan: Any, end_ps: int) -> npt.NDArray[np.bool_]:
    """Per source row of ``plan``: may it send a packet that a run ending at ``end_ps``
    measures (one sent in ``[warmup, end)``)? A source sends nothing before its own
    ``start`` and only while it is on; the timeline switches it on and off (its start and
    stop, ``start`` and ``stop`` events) as the run does (:func:`~vidnet_sim.timeline.
    driver.drive`: in time order, scenario order at ties, packets at an action's time under
    the state after it). ``True`` when it is on over some stretch of ``[max(start,
    warmup), end)`` (it may still send nothing there: a sound superset)."""
    first = np.maximum(np.asarray(plan.sources.start_ps, np.int64), int(scenario.simulation.warmup))
    on = np.zeros(len(plan.sources), np.bool_)
    out = np.zeros(len(plan.sources), np.bool_)
    acts = sorted(
        (a for a in scenario_actions(scenario, plan) if a.active is not None and a.t_ps < end_ps),
        key=lambda a: a.t_ps,
    )
    for k, act in enumerate(acts):
        on[np.asarray(act.sources, np.int64)] = act.active
        if k + 1 < len(acts) and acts[k + 1].t_ps == act.t_ps:
            continue  # the state at this time is the one after its last action
        until = acts[k + 1].t_ps if k + 1 < len(acts) else end_ps
        out |= on & (first < until)  # on over [t, until), which meets [first, end)
    return out


def _class_paths(
    plan: Any,
    ids: list[str],
    dirs: list[list[str]],
    measured: npt.NDArray[np.bool_] | None = None,
) -> tuple[
    dict[str, set[int]], dict[str, tuple[float, list[str]]], dict[str, float], dict[str, set[str]]
]:
    """Per class: the positions of the scenario links its flows cross, its longest
    propagation delay (ps) with that path's links, its shortest, and the names of every
    directed link it crosses (access links too). The propagation delays count only the
    flows whose source may send measured packets (``measured``, per source row:
    :func:`_measured_sources`; default every flow): a flow that sends nothing in the
    measured time bounds no measured latency (a class none of whose flows does has no
    propagation delay)."""
    pos = {d: i for i, ds in enumerate(dirs) for d in ds}
    links: dict[str, set[int]] = {}
    longest: dict[str, tuple[float, list[str]]] = {}
    shortest: dict[str, float] = {}
    names: dict[str, set[str]] = {}
    group = plan.sources.group[plan.flow_source]
    for f in range(plan.n_flows):
        cls = str(plan.group_classes[int(group[f])])
        route = [int(x) for x in plan.route(f)]
        crossed = [pos[plan.link_names[x]] for x in route if plan.link_names[x] in pos]
        links.setdefault(cls, set()).update(crossed)
        names.setdefault(cls, set()).update(str(plan.link_names[x]) for x in route)
        if measured is not None and not measured[int(plan.flow_source[f])]:
            continue
        prop = float(np.sum(plan.link_prop_ps[route])) if route else 0.0
        if prop > longest.get(cls, (-1.0, []))[0]:
            longest[cls] = (prop, [ids[i] for i in crossed])
        shortest[cls] = min(shortest.get(cls, prop), prop)
    return links, longest, shortest, names


def _layout_class_dirs(plan: Any) -> dict[str, set[str]]:
    """Per class: the names of the directed links its trees cross in every layout of the
    plan (the normal routes and every reroute around a failure)."""
    roots: list[list[int]] = [[int(p)] for p in plan.tree_pos0]
    for sw in plan.route_switches:
        for t, p in zip(sw.trees, sw.pos0, strict=True):
            roots[int(t)].append(int(p))
    out: dict[str, set[str]] = {}
    for t, rs in enumerate(roots):
        cls = str(plan.group_classes[int(plan.sources.group[int(plan.tree_source[t])])])
        for r in rs:
            links = plan.pos_link[r : int(plan.pos_end[r])]
            out.setdefault(cls, set()).update(str(plan.link_names[x]) for x in links if x >= 0)
    return out


def _failure_cases(
    ctx: _Context,
    year: int,
    sc: Any,
    ydata: dict[str, Any],
    base_dir: Path,
    ids: list[str],
    carried: set[str],
) -> tuple[list[_Case], list[dict[str, set[str]]]]:
    """The failure cases of a year under ``survive = "single-link"``: one per protected link
    (``ctx.protected``, else every link carrying traffic whose failure leaves all of it a
    path), failed from the end of the warm-up to the end of the run, the longest run
    included (``ctx.max_extend`` times the duration: a case judged on longer runs is still
    the failure to their end, not the link repaired halfway); and, per case, the directed
    links each class crosses (:func:`_layout_class_dirs`). The cases' plans are built at
    once on ``ctx.executor``."""
    total = (ctx.duration_ps or sc.simulation.duration) * max(ctx.max_extend, 1)
    at = sc.simulation.warmup
    explicit = ctx.protected is not None
    candidates: dict[str, dict[str, Any]] = {}
    for lid in ctx.protected if ctx.protected is not None else ids:
        if lid not in ids or (not explicit and lid not in carried):
            continue
        data = copy.deepcopy(ydata)
        data.setdefault("events", []).append(
            {
                "kind": "failure",
                "link": lid,
                "at": f"{at}ps",
                "duration": f"{total - at}ps",
                "convergence": f"{ctx.convergence_ps}ps",
            }
        )
        candidates[lid] = data
    executor = ctx.executor or SerialExecutor()
    planned = {o.key: o for o in executor.run_tasks(_case_plan, base_dir, candidates)}
    cases: list[_Case] = []
    layouts: list[dict[str, set[str]]] = []
    for lid, data in candidates.items():
        outcome = planned[lid]
        # a plan that failed elsewhere fails here again, with its own error
        lost, layout = outcome.value if outcome.ok else _case_plan(base_dir, data)
        if lost:
            if explicit:
                raise AnalysisInputError(
                    f"sizing.protected: link {lid!r} has no protection path in year {year}: "
                    f"{lost[0]}; expected links whose failure leaves all traffic a path"
                )
            continue
        cases.append(_Case(lid, data))
        layouts.append(layout)
    return cases, layouts


def _case_plan(base_dir: Path, data: dict[str, Any]) -> tuple[list[str], dict[str, set[str]]]:
    """What the sizing reads of a failure case's plan: the warnings of traffic left without a
    path, and the directed links each class crosses. An executor task."""
    plan = build_plan(parse_scenario_dict(copy.deepcopy(data), base_dir=base_dir), base_dir)
    return [w for w in plan.warnings if "has no path" in w], _layout_class_dirs(plan)


def _per_link(dirs: list[list[str]], values: dict[str, float]) -> list[float]:
    return [max((float(values[d]) for d in ds if d in values), default=0.0) for ds in dirs]
