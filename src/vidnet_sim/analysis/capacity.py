"""Capacity: the largest camera count (or load scale, or field value) meeting every SLA.

The search assumes the SLA verdict is monotone in the variable (more load never helps):

1. **bracket**: from the start value, double while every SLA holds (halve while one fails)
   until a passing and a failing value enclose the threshold;
2. **bisection** between them until they are within a relative tolerance (``rel_tol``) of
   the failing value; for whole variables (counts, quantities) also when they are one apart,
   whichever comes first: about 1 % of 32 000 cameras is 320, not one. The answer is the
   largest passing value judged, so it errs low by at most the tolerance.

Each value is judged from independent replications: for each class and each target, the
Student-t confidence interval of the metric's mean must lie entirely below the target
(pass) or entirely above it (fail). While an interval straddles a target, replications are
added up to ``max_replications``; a value still undecided then is judged by its mean and
marked ``uncertain``. Replications whose values are all equal (a deterministic scenario)
decide at once. The binding class is the one whose target is exceeded the most (largest
value / target) at the first failing value; the binding link is that run's most utilised
link (and the one dropping the most packets, if any drops).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidnet_sim.analysis.estimates import (
    METHOD_GAUSSIAN,
    METHOD_NC,
    METHOD_SUM_OF_MEANS,
    Estimates,
    estimate,
)
from vidnet_sim.analysis.runs import RunCache, RunRecord, mean_ci, run_all
from vidnet_sim.analysis.steady import relaxation_ps
from vidnet_sim.analysis.vary import (
    MAX_REPLICATIONS,
    AnalysisInputError,
    Vary,
    check_value,
    load_raw,
    make_vary,
    problems_at,
)
from vidnet_sim.errors import ScenarioError, VidnetError
from vidnet_sim.execute import Executor, ProgressFn
from vidnet_sim.network.plan import build_plan
from vidnet_sim.results.metric_words import metric_words
from vidnet_sim.results.sla import SlaTargets
from vidnet_sim.runner import sla_targets
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.units import duration_words, percent_words

__all__ = [
    "CapacityResult",
    "CapacityRunsFailedError",
    "Verdict",
    "find_capacity",
    "judge_many",
    "sla_columns",
]


def sla_columns(targets: SlaTargets) -> dict[str, float]:
    """Summary column → target of every target set (``latency_p99_ps``: 5e10, ...)."""
    out: dict[str, float] = {}
    for f in fields(targets):
        v = getattr(targets, f.name)
        if v is None:
            continue
        out[f.name] = float(v)
    return out


@dataclass
class Verdict:
    """The judgement of one value: ``ok`` and its checks (class, metric, mean, CI, target)."""

    x: float
    ok: bool
    uncertain: bool
    replications: int
    checks: pd.DataFrame
    links: pd.DataFrame

    def binding(self) -> dict[str, Any]:
        """The most violated target (or the closest to its target when all pass)."""
        c = self.checks.sort_values("ratio", ascending=False)
        row = c.iloc[0]
        out = {
            "class": str(row["class"]),
            "metric": str(row["metric"]),
            "mean": float(row["mean"]),
            "target": float(row["target"]),
            "ratio": float(row["ratio"]),
        }
        if len(self.links):
            top = self.links.sort_values("utilisation", ascending=False).iloc[0]
            out["link"] = str(top["link"])
            out["link_utilisation"] = float(top["utilisation"])
            drops = self.links.sort_values("drops", ascending=False).iloc[0]
            if drops["drops"] > 0:
                out["dropping_link"] = str(drops["link"])
                out["link_drops"] = float(drops["drops"])
        return out


@dataclass
class CapacityResult:
    """The outcome of :func:`find_capacity`."""

    vary: Vary
    capacity: float | None  # the largest passing value found; None: none passes
    first_fail: float | None  # the smallest failing value found; None: none fails up to max
    verdicts: list[Verdict] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    binding: dict[str, Any] = field(default_factory=dict)
    estimates: dict[str, float | None] = field(default_factory=dict)
    #: what the network-calculus estimate assumes (e.g. VBR frame sizes capped at a
    #: quantile), at the value it accepted (:attr:`Estimates.notes`)
    estimate_notes: list[str] = field(default_factory=list)
    #: what every run leaves out of the scenario (``--duration``: an alarm after its end)
    warnings: list[str] = field(default_factory=list)
    #: how long each run simulates, for the report's method (:meth:`RunCache.run_length`)
    run_length: str = ""
    #: why the search stopped below 1024 × start when no ``maximum`` was given: the first
    #: problem of the scenario just above (None: the default maximum was searched)
    limit: str | None = None

    @property
    def partial(self) -> bool:
        """Did runs fail, so that some values were judged on fewer replications?"""
        return bool(self.failures)

    @property
    def uncertain(self) -> bool:
        """Was the boundary decided by a mean whose interval still straddled a target?"""
        return any(v.uncertain for v in self.verdicts if v.x in (self.capacity, self.first_fail))

    def table(self) -> pd.DataFrame:
        """Every judged value: x, ok, uncertain, replications, binding class and metric."""
        rows = []
        for v in self.verdicts:
            b = v.binding()
            rows.append(
                {
                    "x": v.x,
                    "ok": v.ok,
                    "uncertain": v.uncertain,
                    "replications": v.replications,
                    "class": b["class"],
                    "metric": b["metric"],
                    "mean": b["mean"],
                    "target": b["target"],
                    "link": b.get("link", ""),
                    "link_utilisation": b.get("link_utilisation", math.nan),
                }
            )
        return pd.DataFrame(rows).sort_values("x", ignore_index=True)


def _judge(
    x: float, records: list[RunRecord], targets: dict[str, dict[str, float]], confidence: float
) -> tuple[Verdict, bool]:
    """The verdict from the runs so far, and whether it is decided. A value none of whose
    runs finished is decided on them (its verdict judges no run: ``replications`` 0); a
    failure that repeats in every replication is the scenario's, not chance's."""
    good = [r for r in records if r.summary is not None]
    rows = []
    decided = True
    any_fail = False
    for cls, cols in targets.items():
        for col, target in cols.items():
            vals = []
            for r in good:
                assert r.summary is not None
                s = r.summary[(r.summary["level"] == "class") & (r.summary["name"] == cls)]
                v = float(s[col].iloc[0]) if len(s) else math.nan
                sent = (
                    float(s["frames_sent" if col.startswith("frame") else "packets_sent"].iloc[0])
                    if len(s)
                    else 0.0
                )
                if math.isnan(v):  # nothing delivered: a violation when something was sent
                    v = math.inf if sent > 0 else 0.0
                vals.append(v)
            arr = np.array(vals, np.float64)
            if len(arr) and np.isinf(arr).any():
                mean, lo, hi = math.inf, math.inf, math.inf
            else:
                mean, lo, hi = mean_ci(arr, confidence)
            if math.isnan(mean):
                state = "unknown"
            elif not math.isnan(lo) and hi <= target:
                state = "pass"
            elif not math.isnan(lo) and lo > target:
                state = "fail"
            else:
                state = "open"
            if state in ("open", "unknown"):
                decided = False
            if state == "fail" or (state == "open" and mean > target):
                any_fail = True
            ratio = mean / target if target > 0 else (math.inf if mean > 0 else 0.0)
            rows.append(
                {
                    "class": cls,
                    "metric": col,
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "target": target,
                    "state": state,
                    "ratio": ratio,
                }
            )
    # a decided failure of one target decides the value, whatever the others
    checks = pd.DataFrame(rows)
    if (checks["state"] == "fail").any():
        decided = True
    if records and not good:  # every run failed: more would fail alike (the callers stop)
        decided = True
    links = (
        pd.concat([r.links for r in good if r.links is not None], ignore_index=True)
        if good
        else pd.DataFrame(columns=["link", "utilisation", "drops"])
    )
    if len(links):
        links = links.groupby("link", as_index=False)[["utilisation", "drops"]].mean()
    return Verdict(x, not any_fail, not decided, len(good), checks, links), decided


def unmeasured_classes(
    records: Sequence[RunRecord], targets: dict[str, dict[str, float]]
) -> list[str]:
    """The classes with targets that are in the runs' summaries but sent no packet in the
    measured time of any of ``records`` (a class absent from the summaries is not here)."""
    out = []
    for cls in targets:
        rows = [
            r.summary[(r.summary["level"] == "class") & (r.summary["name"] == cls)]
            for r in records
            if r.summary is not None
        ]
        rows = [s for s in rows if len(s)]
        if rows and all(float(s["packets_sent"].iloc[0]) == 0 for s in rows):
            out.append(cls)
    return out


def unsettled_links(records: Sequence[RunRecord]) -> list[tuple[str, float, float, float]]:
    """The links whose queue needs longer to settle than the runs of ``records`` measured:
    ``(link, relaxation time, utilisation, measured)`` (ps), the M/M/1 relaxation time
    :func:`~vidnet_sim.analysis.steady.relaxation_ps` of each link at its utilisation and
    mean packet transmission time (a floor: bursty traffic settles more slowly still); the
    longest of each link over the runs, slowest first."""
    slow: dict[str, tuple[float, float, float]] = {}
    for name, relax, u, measured in unsettled_rows(records):
        if relax >= slow.get(name, (0.0,))[0]:
            slow[name] = (relax, u, measured)
    return sorted(((n, *v) for n, v in slow.items()), key=lambda x: -x[1])


def unsettled_rows(
    records: Sequence[RunRecord], links: Collection[str] | None = None
) -> Iterator[tuple[str, float, float, float]]:
    """Each run's link rows (of ``links`` only, when given) measured for less than their
    queue's M/M/1 relaxation time (:func:`~vidnet_sim.analysis.steady.relaxation_ps` at the
    link's utilisation and mean packet transmission time): ``(link, relaxation time,
    utilisation, measured)`` (ps), run by run."""
    for r in records:
        if r.links is None:
            continue
        rows = r.links if links is None else r.links[r.links["link"].astype(str).isin(links)]
        for row in rows.to_dict("records"):
            if row["packets"] <= 0 or row["measured_ps"] <= 0:
                continue
            service = 8e12 * row["bytes"] / row["packets"] / row["rate_bps"]
            relax = relaxation_ps(float(row["utilisation"]), service)
            if relax > row["measured_ps"]:
                yield str(row["link"]), relax, float(row["utilisation"]), float(row["measured_ps"])


def judge_many(
    candidates: Sequence[tuple[RunCache, float]],
    targets: dict[str, dict[str, float]],
    confidence: float,
    replications: int,
    max_replications: int,
    *,
    ahead: Sequence[tuple[RunCache, float]] = (),
    read: Callable[[RunRecord], RunRecord] | None = None,
) -> list[tuple[Verdict, list[RunRecord]]]:
    """Judge several values (or designs) at once: each from ``replications`` runs, adding one
    at a time while undecided, up to ``max_replications``; the verdicts and the runs they
    used are exactly those of judging each alone, one run after the other.

    The runs go to the caches' executor together: the first replications of every candidate,
    then further replications of the undecided ones (a few ahead, so that every worker is
    busy; the ones a decision does not need are kept, not used). ``ahead`` are candidates
    judged next if the caller's search goes that way: their first runs fill workers that would
    otherwise be idle (speculation), and are stored for later. ``read``: what the verdict
    reads of each run (default: the run itself); the runs returned are the runs themselves.
    """
    if not candidates:
        return []
    slots = max(1, _slots(candidates[0][0]))
    wanted = [(c, x, k) for c, x in candidates for k in range(replications)]
    recs: list[list[RunRecord]] = [[] for _ in candidates]
    verdicts: list[tuple[Verdict, bool] | None] = [None] * len(candidates)
    next_k = [0] * len(candidates)
    first = True
    while wanted:
        extra: list[tuple[RunCache, float, int]] = []
        if first:
            spare = -len(wanted) % slots
            for k in range(replications):
                for c, x in ahead:
                    if len(extra) < spare:
                        extra.append((c, x, k))
            first = False
        got = run_all([*wanted, *extra])
        by_run = {(id(c), x, k): r for (c, x, k), r in zip(wanted, got, strict=False)}
        wanted = []
        open_ = []
        for i, (c, x) in enumerate(candidates):
            while (id(c), x, next_k[i]) in by_run:
                recs[i].append(by_run[id(c), x, next_k[i]])
                next_k[i] += 1
                if next_k[i] < replications:
                    continue
                seen = recs[i] if read is None else [read(r) for r in recs[i]]
                verdicts[i] = _judge(x, seen, targets, confidence)
                if verdicts[i][1] or next_k[i] >= max_replications:  # type: ignore[index]
                    break
            else:
                v = verdicts[i]
                if v is not None and not v[1] and next_k[i] < max_replications:
                    open_.append(i)
        for i in open_:
            c, x = candidates[i]
            n = max(1, slots // len(open_))
            last = min(next_k[i] + n, max_replications)
            wanted += [(c, x, k) for k in range(next_k[i], last)]
    out = []
    for v, r in zip(verdicts, recs, strict=True):
        assert v is not None
        out.append((v[0], r))
    return out


def _slots(cache: RunCache) -> int:
    return cache.executor.slots if cache.executor is not None else 1


#: The most values one capacity search judges: a range that may need more (doublings from
#: the start to the maximum, or halvings to the floor, then the bisection of the bracket they
#: leave) is refused before anything runs. At the default tolerance (1 %), the default range
#: (1024 × the start) of a count needs at most 18 values, a rate from 1 bit/s to 1 Gbit/s 38,
#: a delay from 1 ps to 40 ms 42; that rate bisected to 1 bit/s (a tolerance of 10⁻¹²) 60.
MAX_VALUES = 64


def find_capacity(
    file: str | Path,
    what: str = "cameras",
    *,
    start: str | float | None = None,
    maximum: str | float | None = None,
    replications: int = 3,
    max_replications: int = 10,
    confidence: float = 0.95,
    rel_tol: float = 0.01,
    cache_dir: str | Path | None = None,
    duration_ps: int | None = None,
    max_values: int = MAX_VALUES,
    estimates: bool = True,
    on_run: Callable[[RunRecord], None] | None = None,
    executor: Executor | None = None,
    on_progress: ProgressFn | None = None,
) -> CapacityResult:
    """Search the largest value of ``what`` for which every SLA of the scenario holds.

    ``start`` defaults to the scenario's current value; ``maximum`` bounds the bracketing
    (default 1024 × start). With ``estimates``, also the capacity each fast estimate
    predicts (:func:`estimated_capacities`). The runs go to ``executor`` (default: in this
    process): the replications of each value at once, and the first runs of the values that
    may come in the next steps (both branches, as many steps as idle workers can fill); the
    answer is the same whatever the executor.
    ``on_progress`` follows the simulations (:class:`~vidnet_sim.execute.JobProgress`).
    Raises :class:`AnalysisInputError` when the
    scenario has no SLA,
    the options are inconsistent, the range may need more than ``max_values`` values (the
    message counts its doublings, halvings and bisection steps), or the SLA fails even at
    the smallest value (no load level meets it: the message names the class and target).
    """

    _check_options(replications, max_replications, rel_tol, confidence)
    targets = _capacity_targets(file)
    data, base_dir = load_raw(file)
    vary = make_vary(data, what)
    x0, xmax = _search_range(vary, start, maximum)
    check_value(vary, data, base_dir, x0, "--start")
    limit = None
    if maximum is not None:
        check_value(vary, data, base_dir, xmax, "--max")
        _check_max(vary, data, base_dir, x0, xmax, duration_ps)
    else:  # the default, 1024 × start, no further than the scenario goes
        xmax, limit = largest_accepted(vary, data, base_dir, x0, xmax, duration_ps)
    bracket = _Bracket(vary, x0, xmax, rel_tol)
    most = bracket.most_values()
    if most > max_values:  # refused before anything is simulated
        raise AnalysisInputError(
            f"the search range is too wide: {bracket.range_words(most)}, more than the "
            f"{max_values} one search judges; narrow it (a --start nearer the answer, a "
            "smaller --max) or give a larger --tolerance"
        )
    cache = RunCache.for_job(
        data, base_dir, vary, cache_dir, duration_ps, on_run, executor, on_progress
    )
    judge = _Judge(cache, targets, confidence, replications, max_replications, max_values)
    # the values that may come next, as many levels as could fill the workers
    depth = max(1, math.ceil(math.log2(max(2, _slots(cache)) / replications + 1)))
    lo, hi = bracket.search(lambda x, ahead: judge(x, ahead).ok, depth)
    if lo is None:
        assert hi is not None
        raise _no_load_meets(vary, hi, judge.judged[hi])
    failures = [
        {"x": r.x, "replication": r.replication, "seed": r.seed, "error": r.error}
        for r in judge.used
        if r.error is not None
    ]
    verdicts = sorted(judge.judged.values(), key=lambda v: v.x)
    result = CapacityResult(vary, lo, hi, verdicts, failures, limit=limit)
    result.warnings, result.run_length = cache.warnings(), cache.run_length()
    result.warnings += [
        f"at the capacity ({vary.at(vary.label(lo))}), {name} at {percent_words(u, 1)} "
        "utilisation needs "
        + ("forever" if math.isinf(t) else f"about {duration_words(t)}")
        + f" to settle, longer than the {duration_words(m)} each run measured: its queue was "
        "still filling, and longer runs (--duration) may change the verdict"
        for name, t, u, m in unsettled_links([r for r in judge.used if r.x == lo])
    ]
    result.binding = judge.judged[hi if hi is not None else lo].binding()
    if estimates:
        result.estimates, result.estimate_notes = estimated_capacities(
            cache, targets, x0, xmax, rel_tol
        )
    return result


def largest_accepted(
    vary: Vary,
    data: dict[str, Any],
    base_dir: Path | None,
    x0: float,
    xmax: float,
    duration_ps: int | None = None,
) -> tuple[float, str | None]:
    """The largest value up to ``xmax`` at which the scenario is valid and within every
    limit of the engine (a run there would not be refused), and the first problem at the
    value above it (``None`` when it is ``xmax``). Valid values are taken to be those below
    a bound: bisection from ``x0``, first on the fields (quick), then on the compiled
    network (whole values: to one; others: to a millionth). Raises
    :class:`AnalysisInputError` when even ``x0`` is refused."""

    limit = None
    top = xmax
    if found := problems_at(vary, data, base_dir, top):
        top, limit = _bisect(vary, data, base_dir, x0, top, found[0], duration_ps, whole=False)
    if found := problems_at(vary, data, base_dir, top, whole=True, duration_ps=duration_ps):
        top, limit = _largest_compiled(vary, data, base_dir, x0, top, found[0], duration_ps)
    return top, limit


def _largest_compiled(
    vary: Vary,
    data: dict[str, Any],
    base_dir: Path | None,
    x0: float,
    top: float,
    why: str,
    duration_ps: int | None,
) -> tuple[float, str]:
    """:func:`largest_accepted` on the compiled network, below ``top`` (valid in its fields,
    its compiled network refused for ``why``). Raises :class:`AnalysisInputError` when even
    ``x0``'s is refused."""
    check_value(vary, data, base_dir, x0, "--start", whole=True, duration_ps=duration_ps)
    return _bisect(vary, data, base_dir, x0, top, why, duration_ps, whole=True)


def _bisect(
    vary: Vary,
    data: dict[str, Any],
    base_dir: Path | None,
    lo: float,
    hi: float,
    why: str,
    duration_ps: int | None,
    *,
    whole: bool,
) -> tuple[float, str]:
    """The largest value from ``lo`` (accepted) below ``hi`` (refused for ``why``) at which
    the scenario is accepted (with ``whole``, its compiled network too: :func:`problems_at`)
    and the first problem above it, by bisection (whole values: to one; others: to a
    millionth)."""
    for _ in range(200):
        if hi - lo <= (1.0 if vary.integer else 1e-6 * hi):
            break
        mid = float(math.floor((lo + hi) / 2)) if vary.integer else (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        found = problems_at(vary, data, base_dir, mid, whole=whole, duration_ps=duration_ps)
        if found:
            hi, why = mid, found[0]
        else:
            lo = mid
    return lo, why


def _check_max(
    vary: Vary,
    data: dict[str, Any],
    base_dir: Path | None,
    x0: float,
    xmax: float,
    duration_ps: int | None,
) -> None:
    """Raise :class:`AnalysisInputError` when a run at ``--max`` would be refused by the
    engine's limits (its compiled network: packets per run or window, the core's fields),
    naming the limit and the largest value the scenario accepts; before anything runs.
    ``xmax`` is valid in its fields (``check_value``)."""
    found = problems_at(vary, data, base_dir, xmax, whole=True, duration_ps=duration_ps)
    if not found:
        return
    top, _ = _largest_compiled(vary, data, base_dir, x0, xmax, found[0], duration_ps)
    raise AnalysisInputError(
        f"--max {vary.label(xmax)}: a run at {vary.what} = {vary.label(xmax)} would be "
        f"refused: {found[0]}; the largest value the scenario accepts is {vary.label(top)} "
        "(or leave out --max: the search then ends there)"
    )


def _check_options(
    replications: int, max_replications: int, rel_tol: float, confidence: float
) -> None:
    """Raise :class:`AnalysisInputError` for inconsistent search options."""
    if replications < 2 and max_replications < 2:
        raise AnalysisInputError("--replications: need at least 2 for a confidence interval")
    if max_replications < replications:
        raise AnalysisInputError("--max-replications must be ≥ --replications")
    if max_replications > MAX_REPLICATIONS:
        raise AnalysisInputError(
            f"--max-replications: expected at most {MAX_REPLICATIONS}, got {max_replications}"
        )
    if not 0 < rel_tol < 1:
        raise AnalysisInputError(f"--tolerance: expected a number in (0, 1), got {rel_tol}")
    if not 0 < confidence < 1:
        raise AnalysisInputError(f"--confidence: must be in (0, 1), got {confidence}")


def _capacity_targets(file: str | Path) -> dict[str, dict[str, float]]:
    """The scenario's SLA targets by class (classes with at least one target); raises
    :class:`AnalysisInputError` when there are none."""
    scenario = load_scenario(file)
    targets = {cls: sla_columns(t) for cls, t in sla_targets(scenario).items()}
    targets = {c: t for c, t in targets.items() if t}
    if not targets:
        raise AnalysisInputError(
            f"{file}: the scenario has no SLA targets ([sla.<class>]): capacity means the "
            "largest load meeting every target, so at least one is needed"
        )
    return targets


def _search_range(
    vary: Vary, start: str | float | None, maximum: str | float | None
) -> tuple[float, float]:
    """The start value (default: the scenario's current one) and the maximum (default 1024 ×
    start) of the search."""
    x0 = vary.parse(start, "--start") if start is not None else vary.current
    if not math.isfinite(x0):
        raise AnalysisInputError(f"--start {start}: must be a finite number")
    if x0 < vary.minimum or (x0 <= 0):
        raise AnalysisInputError(f"--start {vary.label(x0)}: must be positive")
    xmax = vary.parse(maximum, "--max") if maximum is not None else x0 * 1024
    if not math.isfinite(xmax):
        raise AnalysisInputError(f"--max {maximum}: must be a finite number")
    for option, given, x in (("--start", start, x0), ("--max", maximum, xmax)):
        if vary.integer and not x.is_integer():
            raise AnalysisInputError(
                f"{option} {given}: expected a whole number (--vary {vary.what} counts whole units)"
            )
    if xmax < x0:
        raise AnalysisInputError(
            f"the search range is reversed: --max {vary.label(xmax)} is below the start "
            f"{vary.label(x0)}"
        )
    return x0, xmax


@dataclass
class _Judge:
    """Judges each value once, from its replications (:func:`judge_many`), keeping the
    verdicts and the runs used; judging more than ``max_values`` values raises."""

    cache: RunCache
    targets: dict[str, dict[str, float]]
    confidence: float
    replications: int
    max_replications: int
    max_values: int
    judged: dict[float, Verdict] = field(default_factory=dict)
    used: list[RunRecord] = field(default_factory=list)

    def __call__(self, x: float, ahead: list[float | None]) -> Verdict:
        """Judge ``x``; the first runs of ``ahead`` (the values judged next, whichever way
        ``x`` goes) fill idle workers."""
        if x in self.judged:
            return self.judged[x]
        spec = [
            (self.cache, a) for a in dict.fromkeys(ahead) if a is not None and a not in self.judged
        ]
        [(verdict, recs)] = judge_many(
            [(self.cache, x)],
            self.targets,
            self.confidence,
            self.replications,
            self.max_replications,
            ahead=spec,
        )
        self.judged[x] = verdict
        self.used.extend(recs)
        if verdict.replications == 0:  # nothing to judge it on: not a pass
            raise CapacityRunsFailedError(self.cache.vary, x, recs)
        silent = unmeasured_classes(recs, self.targets)
        if silent:  # its targets would pass on no packet at all
            vary = self.cache.vary
            raise AnalysisInputError(
                f"at {vary.what} = {vary.label(x)}, class {silent[0]!r} sent no packet in the "
                f"measured time of any run ({self.cache.run_length()}): its SLA cannot be "
                "judged on nothing; run longer, or shorten the warm-up"
            )
        if len(self.judged) > self.max_values:  # (the range's estimate fell short)
            raise AnalysisInputError(
                f"the search judged more than {self.max_values} values of "
                f"{self.cache.vary.what} before its bracket closed: the range it searches (from "
                "--start up to --max, or down to a millionth of the start) is too wide for "
                "its tolerance; narrow it (a --start nearer the answer, a smaller --max) or "
                "give a larger --tolerance"
            )
        return verdict


class CapacityRunsFailedError(VidnetError):
    """Every run of a value failed: the search cannot judge it, so it stops (a runtime
    failure, exit code 1); the runs that finished stay in the run store."""

    def __init__(self, vary: Vary, x: float, recs: Sequence[RunRecord]) -> None:
        error = " ".join(line.strip() for line in str(recs[0].error).splitlines())
        super().__init__(
            f"every run at {vary.what} = {vary.label(x)} failed ({len(recs)} of {len(recs)}), "
            f"so the search cannot judge it: {error}; the runs that finished are stored and "
            "reused when the search is run again"
        )


@dataclass
class _Bracket:
    """The values the capacity search judges, from ``x0`` up to ``xmax``: bracketing
    doubles from a passing start or halves from a failing one; then bisection until the
    values are within ``rel_tol`` of the failing one, or one apart (whole variables), whichever
    is wider."""

    vary: Vary
    x0: float
    xmax: float
    rel_tol: float

    def norm(self, x: float) -> float:
        return float(round(x)) if self.vary.integer else float(x)

    def close(self, lo: float, hi: float) -> bool:
        """Does the bisection stop with ``lo`` passing and ``hi`` failing: within ``rel_tol``
        of ``hi``, or (whole variables) one apart?"""
        width = self.rel_tol * max(abs(hi), 1e-300)
        if self.vary.integer:
            width = max(width, 1.0)
        return hi - lo <= width

    def next_value(self, lo: float | None, hi: float | None) -> float | None:
        """The value to judge next, knowing the largest passing (``lo``) and smallest failing
        (``hi``) values so far; ``None`` when the search ends."""
        integer = self.vary.integer
        if lo is None and hi is None:
            return self.norm(self.x0)
        if hi is None:  # every value passed so far: double, up to the maximum
            assert lo is not None
            if lo >= self.xmax:
                return None
            return self.norm(min(max(2 * lo, lo + 1) if integer else 2 * lo, self.xmax))
        if lo is None:  # every value failed so far: halve
            nxt = self.norm(hi / 2)
            if integer:
                nxt = max(nxt, self.vary.minimum)
            if nxt >= hi or (not integer and nxt < self.x0 * 1e-6):
                return None
            return nxt
        if self.close(lo, hi):
            return None
        mid = self.norm((lo + hi) / 2)
        return None if mid in (lo, hi) else mid

    def _walk(self, lo: float | None, hi: float | None, passes: bool) -> list[float]:
        """The values judged from ``lo``/``hi`` on when every one passes (or fails)."""
        out = []
        while (x := self.next_value(lo, hi)) is not None:
            out.append(x)
            lo, hi = (x, hi) if passes else (lo, x)
        return out

    def _bisections(self, lo: float, hi: float) -> int:
        """The most values bisection judges between ``lo`` (passed) and ``hi`` (failed)."""
        return max(len(self._walk(lo, hi, True)), len(self._walk(lo, hi, False)))

    def range_words(self, most: int) -> str:
        """Why the search may judge up to ``most`` values (:meth:`most_values`): its range
        in doublings, halvings and bisection steps."""
        up, down = self._walk(None, None, True), self._walk(None, None, False)
        v = self.vary
        within = f"within {100 * self.rel_tol:g} %"
        to = f"{v.label(1)} apart or {within}" if v.integer else within
        halves = (
            f" (or, when the start fails, halves {len(down) - 1} times down to "
            f"{v.label(down[-1])}, its floor)"
            if len(down) > 1
            else ""
        )
        return (
            f"from --start {v.label(self.x0)} it doubles {len(up) - 1} times to reach --max "
            f"{v.label(self.xmax)}{halves}, then bisects to {to}: up to {most} values"
        )

    def most_values(self) -> int:
        """The most values the search may judge: every value passing up to the maximum
        but the last, or every value failing down to the floor but the last, then the
        bisection of the bracket they leave (the widest); before anything is simulated."""
        most = 0
        for passes in (True, False):
            path = self._walk(None, None, passes)
            if len(path) >= 2:  # the last value goes the other way: bisect from there
                lo, hi = (path[-2], path[-1]) if passes else (path[-1], path[-2])
                most = max(most, len(path) + self._bisections(lo, hi))
            most = max(most, len(path))
        return most

    def search(
        self, ok: Callable[[float, list[float | None]], bool], depth: int = 1
    ) -> tuple[float | None, float | None]:
        """The largest passing and the smallest failing value found, judging each value
        ``x`` by ``ok(x, ahead)`` (monotone) in turn; ``ahead``: the values the search may
        judge in the next ``depth`` steps (:meth:`ahead`)."""
        lo: float | None = None
        hi: float | None = None
        while (x := self.next_value(lo, hi)) is not None:
            if ok(x, self.ahead(x, lo, hi, depth)):
                lo = x
            else:
                hi = x
        return lo, hi

    def ahead(self, x: float, lo: float | None, hi: float | None, depth: int) -> list[float | None]:
        """The values judged in the ``depth`` steps after ``x`` (judged knowing ``lo`` and
        ``hi``), level by level, each step's value if ``x`` passes before the one if it fails
        (``None``: the search would end there)."""
        out: list[float | None] = []
        level = [(x, lo, hi)]
        for _ in range(depth):
            below = []
            for v, lo_v, hi_v in level:
                for after in ((v, hi_v), (lo_v, v)):  # v passes, v fails
                    nxt = self.next_value(*after)
                    out.append(nxt)
                    if nxt is not None:
                        below.append((nxt, *after))
            level = below
        return out


def _no_load_meets(vary: Vary, hi: float, verdict: Verdict) -> AnalysisInputError:
    """The error when even the smallest value judged, ``hi`` (judged ``verdict``), fails the
    SLA."""
    b = verdict.binding()
    return AnalysisInputError(
        f"no {vary.what} value meets the SLA: even at {vary.what} = "
        f"{vary.label(hi)}, class {b['class']!r} {metric_words(b['metric'])} is "
        f"{show_value(b['metric'], b['mean'])} against a target of "
        f"{show_value(b['metric'], b['target'])}; the target cannot be met at any load "
        "(relax it, or change the network)"
    )


def estimated_capacities(
    cache: RunCache,
    targets: dict[str, dict[str, float]],
    x0: float,
    xmax: float,
    rel_tol: float = 0.01,
) -> tuple[dict[str, float | None], list[str]]:
    """The capacity each fast estimate predicts (no simulation), by the same search
    (:class:`_Bracket`) as the simulated one:
    ``sum-of-means-60%`` and ``gaussian-equivalent-capacity`` (every link accepted), and
    ``network-calculus-bound`` (every class's worst-case bound within each of its latency
    targets: a guaranteed, conservative capacity for the arrival curves it assumes; loss
    targets are not covered by it); then what those arrival curves assume (the estimates'
    notes at the value the bound accepted, else at ``x0``)."""

    memo: dict[float, Estimates | None] = {}

    def est(x: float) -> Estimates | None:
        if x not in memo:
            try:
                sc = cache.estimate_scenario(x)
                memo[x] = estimate(sc, build_plan(sc, cache.base_dir))
            except ScenarioError:
                memo[x] = None
        return memo[x]

    def nc_ok(x: float) -> bool:
        e = est(x)
        if e is None:
            return False
        for cls, cols in targets.items():
            lat = [t for c, t in cols.items() if c.endswith("_ps")]
            if lat and not e.group_bound_ps(cls) <= min(lat):
                return False
        return True

    bracket = _Bracket(cache.vary, x0, xmax, rel_tol)
    out: dict[str, float | None] = {}
    for method in (METHOD_SUM_OF_MEANS, METHOD_GAUSSIAN):

        def accepted(x: float, _: object, method: str = method) -> bool:
            e = est(x)
            return e is not None and e.ok(method)

        out[method] = bracket.search(accepted)[0]
    out[METHOD_NC] = bracket.search(lambda x, _: nc_ok(x))[0]
    nc = out[METHOD_NC]
    at = est(nc if nc is not None else x0)
    return out, list(at.notes) if at is not None else []


def show_value(metric: str, value: float) -> str:
    """A metric's value as text: latencies in ms, losses as fractions."""
    if metric.endswith("_ps"):
        return f"{value / 1e9:.4g} ms"
    return f"{value:.3g}"
