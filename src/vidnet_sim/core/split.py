"""Cutting a run's network in two parts, one window apart, for two cores.

Within a window the core computes sources and links in topological order, and a link's
arrivals of window *w* come only from its feeders' window *w* (and its own unread tails). So
the network can be cut in two: the *upstream* part U (every source and a predecessor-closed
set of links, none of which delivers a packet) and the *downstream* part D (every other
link). U can compute window *w* + 1 while D computes window *w*: after each window, what U's
links sent to D's (the inboxes of the *cut links*, D's links fed by U) is handed to D
(``kernel.hand_off``), and the drops U's links made are settled by D (``kernel.settle_drops``):
U never settles a packet itself, so a frame's outcome and a group's counters are written by
D alone.

Which links go to U is a question of speed only (any such cut gives the same results):
:func:`split_links` estimates each link's work from the sources' mean packet rates and the
trees' positions and picks the cut that balances the two parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from vidnet_sim.core.volume import (
    feeder_runs,
    packets_per_source,
    position_parents,
    position_rates,
)
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.network.routing import pair_codes
from vidnet_sim.scenario.units import percent_words

__all__ = ["Split", "split_links"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

#: Estimated costs, in units of one packet-hop through a FIFO link that merges nothing: of
#: generating a packet, injecting it into a tree, delivering it, copying one item from U's inbox to
#: D's, and of a link's pass in a window whatever its packets (its setup and cache misses). A hop
#: merged from ``k`` runs (``volume.feeder_runs``: the links feeding it and the trees injected
#: there) costs ``1 + MERGE_COST * log2(k)``: its tournament tree replays ``log2(k)`` matches per
#: item (fewer where one run leads, ``_matches``). All but HAND_OFF_COST and CROSS_COST, and
#: UNIT_SECONDS, are one non-negative least-squares fit to the parts' times alone at every cut
#: depth of peers cases e and b, the mid-size and the large city (``benchmarks/merge_fit.py``,
#: model "all", refitted after a frame's train through its fused access link went in one go,
#: 2026-12-07: relative error rms 0.13; docs/performance.md, "The cut's prices refitted after
#: the frame trains"): a delivery costs 1.3 plain hops, a 50-way merged hop 1.9, a link's pass
#: 20. The sources' packets are priced 0: every source of those networks sits on its own access
#: link, whose hops and passes the data cannot part from its generation, and the fit puts it
#: all there (the smallest error; with the sources at 0.6 the fit's error grows to 0.17).
#: HAND_OFF_COST keeps its seconds (about 1.9 ns an item) in the unit.
GEN_COST = 0.0
INJECT_COST = 0.0
DELIVER_COST = 1.33
MERGE_COST = 0.159
HAND_OFF_COST = 0.175
#: What D pays on two threads, beyond the fit above, for each item crossing the cut: D merges
#: items U's core wrote (read from the other core's cache, or copied from it in the hand-off),
#: which the parts timed one after the other on one thread (the fit) do not see. Not fitted
#: with the others: set from two-thread walls (docs/performance.md, "D's surcharge for the
#: items it reads from U's core"): case e of the peers ran fastest with 3 of its 20 uplinks
#: more in U than the fit's balance gave then. About 3.9 ns an item: its seconds kept at the
#: refit of 2026-12-07 (0.5 units of 7.8 ns then; 0.5 of the new unit gives case e one uplink
#: more in U, which ran slower on two threads).
CROSS_COST = 0.35
LINK_STEP_COST = 19.5
#: Wall seconds of one unit of estimated work (the same fit; 7.8 ns at the fit before, 7.4 ns
#: at the fit of 2026-12-05, 12.5 ns with the merge price alone fitted, 13.5 ns with a flat
#: merge price before it).
UNIT_SECONDS = 11.15e-9
#: The estimated work a pipeline step should hold: each step pays a fixed hand-over (two
#: thread wake-ups, two kernel calls, the hand-off and the drops' settling: about 100
#: microseconds measured), about 2 % of it.
STEP_SECONDS = 5e-3
#: At most this many windows per step, and at most this many items crossing the cut per
#: step: D's links take the arrivals of the step's later windows as tails, copied forward
#: at each window (``kernel._keep_tails``), which grows with the step (case b of the peers,
#: 1 460 items per window: best at 4 to 6 windows a step, 16 windows 10 % slower, 50 windows
#: 60 % slower; the small town, 2 190 items: best at 3 to 8, 16 windows 25 % slower).
MAX_STEP_WINDOWS = 64
MAX_STEP_ITEMS = 8000
#: Two threads pay (:meth:`Split.pays`) when the estimated speed-up is at least
#: :data:`MIN_BALANCE`, a step holds at least :data:`MIN_STEP_SECONDS` of estimated work
#: and the whole run at least :data:`MIN_RUN_SECONDS`. Steps of about 0.3 ms lost to one
#: thread or tied with it at 117a7fa (a step's hand-over is about 0.1 ms, and the items
#: crossing the cut arrive from the other core's cache): peers case a (0.24 ms a step by the
#: estimate then) 12 ms on one thread against 16-18 on two, case b (0.32 ms) 23 against 25,
#: the small town 35 against 33; case e (1.4 ms) 0.128 s against 0.087 (docs/performance.md).
#: By the prices refitted after the frame trains (2026-12-07) those steps are 0.29-0.31 ms
#: and case e's 1.15 ms.
MIN_BALANCE = 1.4
MIN_STEP_SECONDS = 5e-4
MIN_RUN_SECONDS = 0.01
#: The simulated time over which mean rates are taken (the estimate is a ratio: any length).
_ESTIMATE_PS = 10**12


@dataclass(frozen=True)
class Split:
    """A cut of a plan's links: ``upstream[l]`` is true for U's links; ``cut`` lists D's
    links fed by U (a link of U or a source); the estimated work of each part per
    simulated second (packet-hop units) and the items crossing the cut (per simulated
    second); ``cost_cross``: what D pays more on two threads for reading those items
    (:data:`CROSS_COST`), not part of its work on one."""

    upstream: npt.NDArray[np.bool_]
    cut: I64
    cost_upstream: float
    cost_downstream: float
    cost_hand_off: float
    crossing: float = 0.0
    cost_cross: float = 0.0

    @property
    def step(self) -> float:
        """The estimated work of a pipeline step: the larger part (D with what it pays
        for the items crossing the cut) plus the hand-off, which runs while neither part
        does."""
        return max(self.cost_upstream, self.cost_downstream + self.cost_cross) + self.cost_hand_off

    @property
    def balance(self) -> float:
        """The estimated speed-up over one core: all the work over the pipeline's step."""
        total = self.cost_upstream + self.cost_downstream
        return total / self.step if self.step > 0 else 1.0

    def _seconds(self, cost: float, span_ps: int) -> float:
        """Estimated wall seconds of ``cost`` (work per simulated second) over ``span_ps``."""
        return cost * span_ps / _ESTIMATE_PS * UNIT_SECONDS

    def windows_per_step(self, window_ps: int) -> int:
        """How many windows each part runs per pipeline step: enough for the step's
        estimated work to reach :data:`STEP_SECONDS`, at most :data:`MAX_STEP_WINDOWS` and
        :data:`MAX_STEP_ITEMS` items crossing the cut (the results do not depend on it)."""
        step_s = self._seconds(self.step, window_ps)
        want = int(np.ceil(STEP_SECONDS / step_s)) if step_s > 0 else MAX_STEP_WINDOWS
        items = self.crossing * window_ps / _ESTIMATE_PS
        room = int(MAX_STEP_ITEMS // items) if items > 0 else MAX_STEP_WINDOWS
        return max(1, min(want, MAX_STEP_WINDOWS, room))

    def pays(self, window_ps: int, run_ps: int) -> bool:
        """Whether two threads should beat one on a run of ``run_ps`` in windows of
        ``window_ps``, by the estimate: the speed-up (:attr:`balance`) at least
        :data:`MIN_BALANCE`, a step's work (:meth:`windows_per_step` windows) at least
        :data:`MIN_STEP_SECONDS` and the run's at least :data:`MIN_RUN_SECONDS`."""
        step_s = self._seconds(self.step, window_ps * self.windows_per_step(window_ps))
        run_s = self._seconds(self.cost_upstream + self.cost_downstream, run_ps)
        return (
            self.balance >= MIN_BALANCE and step_s >= MIN_STEP_SECONDS and run_s >= MIN_RUN_SECONDS
        )

    def describe(self) -> str:
        """One line: the links in each part, the cut and the estimated balance."""
        n_up = int(self.upstream.sum())
        total = self.cost_upstream + self.cost_downstream
        share = self.cost_upstream / total if total > 0 else 0.0
        return (
            f"U {n_up} links + sources ({percent_words(share)} of the work), "
            f"D {len(self.upstream) - n_up} links, {len(self.cut)} cut links; "
            f"estimated speed-up {self.balance:.2f}"
        )


def _feeds(plan: NetworkPlan, parent: I64) -> tuple[I64, I64]:
    """Every pair "link ``feeder`` feeds link ``link``" (``feeder`` -1: a source feeds it),
    over every layout of every tree, once each: ``(link, feeder)`` arrays."""
    on_link = np.flatnonzero((plan.pos_link >= 0) & (parent >= 0))
    link = plan.pos_link[on_link].astype(np.int64)
    feeder = plan.pos_link[parent[on_link]].astype(np.int64)  # (-1 below a root)
    pairs = np.unique(link * (plan.n_links + 1) + feeder + 1)
    return pairs // (plan.n_links + 1), pairs % (plan.n_links + 1) - 1


def _link_depths(plan: NetworkPlan, link: I64, feeder: I64) -> I64:
    """Each link's depth in the graph "link a feeds link b" (1 for a link fed by sources
    alone, 0 for a link no tree uses): the longest chain of links ending at it, relaxed
    until nothing changes (the graph is acyclic: at most as many rounds as that chain)."""
    depth = np.zeros(plan.n_links, np.int64)
    for _ in range(plan.n_links + 1):
        new = depth.copy()
        np.maximum.at(new, link, np.where(feeder >= 0, depth[np.maximum(feeder, 0)], 0) + 1)
        if np.array_equal(new, depth):
            break
        depth = new
    return depth


def _eligible(plan: NetworkPlan, link: I64, feeder: I64) -> npt.NDArray[np.bool_]:
    """Links that may be in U: none of their positions delivers, and so for every link
    feeding them (in any layout)."""
    ok = np.ones(plan.n_links, np.bool_)
    on_link = np.flatnonzero(plan.pos_link >= 0)
    ok[plan.pos_link[on_link[plan.pos_deliver[on_link] >= 0]]] = False
    fed = feeder >= 0
    while True:
        bad = fed & ~ok[np.maximum(feeder, 0)] & ok[link]
        if not bad.any():
            return ok
        ok[link[bad]] = False


class _Traffic(NamedTuple):
    """A run's estimated traffic per second (:func:`_traffic`)."""

    hops: F64  #: packets through each link (the trees' first layouts)
    deliveries: F64  #: packets delivered at each link
    matches: F64  #: per link, the matches of its merge an item replays (:func:`_matches`)
    generated: float  #: packets the sources generate
    injected: float  #: packets injected into trees (a packet once per tree)
    at: I64  #: by position: its link
    fed_by: I64  #: by position: the link feeding it (-1: a source)
    rate: F64  #: by position: its packets


def _traffic(plan: NetworkPlan, parent: I64, duration_ps: int) -> _Traffic:
    """Packets per second through each link and delivered at it (the trees' first
    layouts), the matches an item replays in each link's merge, the packets per second the
    sources generate and inject (a packet once per tree it is injected into), and the hops
    by position; each source's packets averaged over a run of ``duration_ps`` (a trace that
    does not loop sends its rows once, whatever the run's length). What
    :func:`split_links` prices and ``benchmarks/merge_fit.py`` fits the prices to."""
    duration_ps = max(int(duration_ps), 1)
    # (copies of unicast trees counted)
    per_source = packets_per_source(plan, duration_ps) * (_ESTIMATE_PS / duration_ps)
    n_trees = np.diff(plan.source_tree_start).astype(np.float64)
    pos, tree, tree_rate = position_rates(plan, per_source)
    rate = tree_rate[tree]
    at = plan.pos_link[pos].astype(np.int64)
    hops = np.bincount(at, weights=rate, minlength=plan.n_links).astype(np.float64)
    d = plan.pos_deliver[pos] >= 0
    deliveries = np.bincount(at[d], weights=rate[d], minlength=plan.n_links).astype(np.float64)
    fed_by = plan.pos_link[parent[pos]].astype(np.int64)
    matches = _matches(at, fed_by, rate, hops, np.maximum(feeder_runs(plan), 1.0))
    source_rate = per_source / np.maximum(n_trees, 1.0)
    generated = float(np.nan_to_num(source_rate, posinf=0.0).sum())
    return _Traffic(hops, deliveries, matches, generated, float(tree_rate.sum()), at, fed_by, rate)


def split_links(
    plan: NetworkPlan,
    window_ps: int,
    depth: int | None = None,
    *,
    upstream: npt.NDArray[np.bool_] | None = None,
    duration_ps: int = _ESTIMATE_PS,
) -> Split | None:
    """The cut that balances the two parts best, by the estimated work of each in windows
    of ``window_ps``: U takes every eligible link (``_eligible``) up to the depth that
    minimises the pipeline's step, or up to the depth above it, then from the cheapest as
    many eligible links one level deeper as balance the parts (``_fill``: case e of the
    peers takes 17 of its 20 aggregation uplinks from depth 1, its best full depth being 2),
    whichever gives the smallest step. With ``depth``, exactly the eligible links up
    to it (any cut gives the same results: tests try several); with ``upstream``, exactly
    those links in U (``ValueError`` unless they are a valid U: eligible, every link
    feeding one of them in U too, and not every link). ``duration_ps``: the run's length,
    over which the sources' packets are averaged (the work per simulated second of a trace
    that does not loop, or of sources on for part of the run, depends on it). ``None`` when
    no link could go to D (nothing to pipeline) or the plan has no source."""
    if plan.n_links == 0 or len(plan.source_tree_start) <= 1:
        return None
    parent = position_parents(plan)
    link, feeder = _feeds(plan, parent)
    depths = _link_depths(plan, link, feeder)
    eligible = _eligible(plan, link, feeder)
    traffic = _traffic(plan, parent, duration_ps)
    at, fed_by, rate = traffic.at, traffic.fed_by, traffic.rate
    sources = traffic.generated * GEN_COST + traffic.injected * INJECT_COST
    cost = traffic.hops * (1.0 + MERGE_COST * traffic.matches) + DELIVER_COST * traffic.deliveries
    cost += LINK_STEP_COST * _ESTIMATE_PS / window_ps

    def evaluate(upstream: BOOL) -> Split:
        from_u = (feeder < 0) | upstream[np.maximum(feeder, 0)]
        cut = np.unique(link[from_u & ~upstream[link]])
        crossing = ~upstream[at] & ((fed_by < 0) | upstream[np.maximum(fed_by, 0)])
        items = float(rate[crossing].sum())
        return Split(
            upstream=upstream,
            cut=cut,
            cost_upstream=sources + float(cost[upstream].sum()),
            cost_downstream=float(cost[~upstream].sum()),
            cost_hand_off=HAND_OFF_COST * items,
            crossing=items,
            cost_cross=CROSS_COST * items,
        )

    if upstream is not None:
        upstream = np.asarray(upstream, np.bool_)
        _check_upstream(plan, upstream, eligible, link, feeder)
        return evaluate(upstream)
    if depth is not None:
        full_u = eligible & (depths <= depth)
        return None if full_u.all() else evaluate(full_u)
    full: dict[int, Split] = {}
    for d in range(int(depths.max()) + 1):
        full_u = eligible & (depths <= d)
        if full_u.all():
            break
        full[d] = evaluate(full_u)
    if not full:
        return None
    best_depth = min(full, key=lambda d: full[d].step)
    best = full[best_depth]
    for d in (best_depth - 1, best_depth):  # (the best level, or part of it, and the next)
        if d in full:
            split = _fill(full[d], np.flatnonzero(eligible & (depths == d + 1)), cost, evaluate)
            if split.step < best.step:
                best = split
    return best


def _matches(at: I64, fed_by: I64, rate: F64, hops: F64, fan_in: F64) -> F64:
    """Per link, the matches of its merge an item replays on average: ``log2(k)`` for ``k``
    runs (``fan_in``), but where one run (a link feeding it, or a tree injected there)
    carries a share ``s`` above half of its packets (three runs or more), that run plays
    one match and the others ``log2(k - 1) + 1`` (``kernel._merge_start``'s lead): ``s +
    (1 - s) (log2(k - 1) + 1)``. ``at``, ``fed_by``, ``rate``: the hops by position
    (``_traffic``)."""
    n = len(hops)
    owner = np.where(fed_by >= 0, fed_by, n + np.arange(len(at)))  # (each tree its own run)
    codes, span = pair_codes(at, owner)
    pairs, inverse = np.unique(codes, return_inverse=True)
    by_run = np.bincount(inverse, weights=rate, minlength=len(pairs))
    largest = np.zeros(n)
    np.maximum.at(largest, pairs // span, by_run)
    share = np.divide(largest, hops, out=np.zeros(n), where=hops > 0)
    lead = (fan_in >= 3) & (share > 0.5)
    return np.where(
        lead,
        share + (1.0 - share) * (np.log2(np.maximum(fan_in - 1.0, 1.0)) + 1.0),
        np.log2(fan_in),
    )


def _check_upstream(
    plan: NetworkPlan, upstream: BOOL, eligible: BOOL, link: I64, feeder: I64
) -> None:
    """``ValueError`` naming a link unless ``upstream`` is a valid U (see :func:`split_links`)."""
    name = plan.link_names
    bad = np.flatnonzero(upstream & ~eligible)
    fed = np.flatnonzero((feeder >= 0) & upstream[link] & ~upstream[np.maximum(feeder, 0)])
    if len(bad):
        why = f"link {name[bad[0]]!r} delivers packets, or a link feeding it does"
    elif len(fed):
        why = f"link {name[link[fed[0]]]!r} is fed by {name[feeder[fed[0]]]!r}, not in U"
    elif upstream.all():
        why = "every link is in U, none left for D"
    else:
        return
    raise ValueError(
        f"not a valid upstream part: {why}; U must be links that deliver "
        "nothing, with every link feeding them, and not every link"
    )


def _fill(start: Split, deeper: I64, cost: F64, evaluate: Callable[[BOOL], Split]) -> Split:
    """``start`` with the links ``deeper`` (one level below its own, eligible) added to U
    from the cheapest, as many as balance the parts best: the count that minimises the
    larger part by the links' costs, then one fewer and one more evaluated in full (their
    hand-off too). Never every link: D keeps one at least."""
    order = deeper[np.argsort(cost[deeper], kind="stable")]
    moved = np.concatenate(([0.0], np.cumsum(cost[order])))
    larger = np.maximum(
        start.cost_upstream + moved, start.cost_downstream + start.cost_cross - moved
    )
    best = start
    at = int(np.argmin(larger))
    for n in range(max(at - 1, 1), min(at + 1, len(order)) + 1):
        upstream = start.upstream.copy()
        upstream[order[:n]] = True  # (their feeders, eligible and shallower, are all in U)
        if upstream.all():
            break
        split = evaluate(upstream)
        if split.step < best.step:
            best = split
    return best
