"""The cheapest feasible tier vector of one year, by best-first search in cost order.

The verdicts are given (:data:`Judge`: simulation in :mod:`vidnet_sim.analysis.sizing`, any
function in the tests); this module only decides which designs to judge and what may be
said of the answer.

- **Space.** A design gives every sizable link a tier index. Links move in *units* (a link
  alone, or a group held at one tier, such as the spans of a ring). A unit never goes below
  its *floor*: the tier of the year before (tiers never go down) and the slowest tier at or
  above the link's mean offered load (a slower link loses packets in steady state whatever
  the rest of the design: the only sound pruning). A *held* unit stays at its floor.
- **Cost order.** The cost of a design is computed for each design: by default the sum of
  what each link costs this year (:attr:`YearSpace.price`: nothing for a link kept at its
  tier, the new tier's price otherwise), or any function of the whole design
  (:attr:`YearSpace.cost`, e.g. the net present cost of the whole bill, which need not rise
  with a tier: a switch with faster ports can draw less power). The priority queue holds
  two kinds of entries: a design *to judge*, keyed by its cost, and a design *to expand*
  (push its children: one unit one tier up), keyed by :attr:`YearSpace.bound`, a lower
  bound of the cost of every design at or above it. Every design not yet in the queue lies
  above a queued design to expand, so it costs at least the queue's smallest key: the
  designs are judged in increasing cost. Without a bound, ``price`` gives one: the sum
  over links of each link's least price over the tiers still open to it (the design's own
  cost when no faster tier costs less; a slower tier may cost more, e.g. optics priced
  above a faster tier's); a ``cost`` without a bound gets the exact one,
  the least cost of the designs at or above (computed over the year's designs when there
  are at most :data:`MAX_ENUMERATED`); beyond that, the design's own cost is used as its
  key, which proves nothing: the answer is then improved locally and never called
  optimal (``YearOutcome.proven`` is false, the lower bound unknown).
  Hints from the simulations (designs faster on more of the links where failing classes
  were dropped or waited longest first) order the queue; they only *order*: nothing is
  skipped for being "no faster on the failing link", since a faster upstream link can make
  a downstream queue worse (the verdict is not monotone).
- **Ties.** Designs of equal cost (within :data:`TIE` relative) are judged in the order of
  :attr:`YearSpace.prefer` (the caller's key: e.g. what the years after would cost with
  each design), then the most capacity first (the largest sum of tier indices), then the
  hints: the first feasible one is chosen, so the design returned is the most preferred
  feasible design of least cost. A year's design is what the next years start from: of
  two designs of equal cost, one may leave a link the next year needs, the other an
  upgrade to buy. Every design of a cost is in the queue before the first of them is
  judged, up to :data:`MAX_TIED` entries of one cost (a plateau of links whose faster
  tiers cost nothing more holds ``tiers ** links`` designs: beyond the cap, the designs of
  that cost not yet queued are judged after those queued, so the order holds within each
  batch only: the design returned is still of least cost, not always the most preferred
  of that cost).
- **Optimal.** The first feasible design popped is the cheapest feasible design: every
  cheaper one was judged infeasible. The fastest design is judged early (after the floor
  design fails) as an incumbent: the search stops as soon as nothing cheaper is left.
- **Designs that cannot be built.** A design of infinite cost (with the whole bill, one the
  cost model's catalogue cannot equip: no switch stack serves a node at its links' rates)
  is never judged nor returned: it is counted in ``YearOutcome.unbuildable``, and when no
  design that can be built is feasible the outcome has no design (a caller says why, up
  front, rather than returning a design its pricing refuses).
- **Budget.** After ``max_designs`` new verdicts, the cheapest feasible design judged so
  far is improved locally (every single-unit downgrade, largest saving first, kept when
  feasible; when none is, every cheaper move of two units at once, one up and one down or
  both down, with at most ``max_designs`` more new verdicts; until no move is kept: the
  downgrades alone stop where capacity moved from one link to another costs less; a move
  of two units is costed only when it may come next: :meth:`_YearSearch.two_unit_moves`) and
  reported as *best found* with the gap to the lower bound
  (the cost of the cheapest design not judged); it is *optimal* only when that gap is not
  positive. Nothing is ever reported optimal otherwise, and nothing is upgraded blindly.
- **The search's own work.** Verdicts are not all it spends: each design queued is costed,
  bounded and held. When the bound is loose (the whole bill's on a large network: 212
  links, about 160 children an expansion, none of them judged for thousands of
  expansions), the queue would grow without end. After :data:`MAX_QUEUED` designs queued,
  no design is expanded: with a feasible design judged (the floor or the fastest), the
  year ends as when the verdicts run out (that design improved locally, the least key left
  as the lower bound); with none, the designs queued are judged, cheapest first, within
  ``max_designs`` verdicts, and the first feasible one is improved locally. The lower
  bound is the least key of the queue and of the designs left unexpanded: every design not
  judged lies at or above one of them. :attr:`YearOutcome.budgets` names the budgets that
  ran out, in that order.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Judge",
    "Judgement",
    "Trial",
    "YearOutcome",
    "YearSpace",
    "floor_design",
    "search_year",
    "tie",
]

Levels = tuple[int, ...]
#: Designs of a year over which the exact bound of a whole-design cost is computed.
MAX_ENUMERATED = 4096
#: Costs within this share of each other are equal (a tie, ordered by ``YearSpace.prefer``).
TIE = 1e-12
#: Queue entries taken at one cost before its designs are judged: a plateau of equal costs
#: (links whose faster tiers cost nothing more) holds up to ``tiers ** links`` designs.
MAX_TIED = 4096
#: Designs a year's search prices and queues at most (its own work and memory: each is
#: costed, bounded and held until judged or the year ends). Past it, no design is expanded:
#: the year ends as when ``max_designs`` verdicts are spent (see the module doc).
MAX_QUEUED = 100_000
#: The budgets that can end a year's search before it proves its answer, as
#: :attr:`YearOutcome.budgets` names them: verdicts (``max_designs``), designs queued
#: (:data:`MAX_QUEUED`).
VERDICTS, QUEUED = "verdicts", "queued"
# queue entries: a design to judge, a design whose children to push (at equal keys the
# designs to judge come first; :meth:`_YearSearch.tied` then queues the rest of that cost)
_JUDGE, _EXPAND = 0, 1
#: Relative slack of the bound on a move of two units' saving (rounding of the sums).
_SLACK = 1e-9
_AHEAD = 8  # queue entries looked at for the designs judged next (``upcoming``)


@dataclass(frozen=True)
class Judgement:
    """The verdict on one design: ``ok``, the positions of the links where a failing class
    was dropped or waited longest (``culprits``: hints for the search order) and anything
    the caller wants back (``detail``)."""

    ok: bool
    culprits: frozenset[int] = frozenset()
    detail: Any = None


#: A verdict function: tier vector -> :class:`Judgement`.
Judge = Callable[[Levels], Judgement]


@dataclass
class YearSpace:
    """The designs of one year: ``n_tiers`` tiers, one entry per sizable link (``ids``),
    its mean-load ``floor`` (tier index), ``price(position, level, previous level or
    None)`` its cost this year, ``held`` positions kept at their floor, and ``groups`` of
    positions held at one tier (each position in at most one group). ``cost``: the cost of
    a whole design (default: the sum of ``price``); ``bound``: a lower bound of the cost of
    every design at or above the given one, unit by unit (default: from ``price``, each
    link at its least price over the tiers still open to it; see the module doc);
    ``prefer``: among designs of equal cost, a key (least first) that orders their
    verdicts, before the most capacity (default: none, the most capacity first);
    ``coupled(i, j)``: may links ``i`` and ``j`` share a part of ``cost`` (with the whole
    bill, a node's switches: both end there)? A ``cost`` with it promises that moving two
    links no two of which are coupled changes the cost by the sum of moving each alone
    (the local improvement's moves of two units are then costed only when they may come
    next); without it, every two links may be coupled (every move is costed).
    ``moved(levels, changes)`` and ``bound_moved(levels, changes)``: ``cost`` and ``bound``
    of ``levels`` with the positions in ``changes`` at those tiers, to the bit, priced from
    ``levels`` (a search prices many designs one or two units away from one design; default:
    ``cost`` and ``bound`` of the moved design)."""

    year: int
    ids: list[str]
    n_tiers: int
    floor: list[int]
    price: Callable[[int, int, int | None], float]
    held: frozenset[int] = frozenset()
    groups: list[list[int]] = field(default_factory=list)
    cost: Callable[[Levels], float] | None = None
    bound: Callable[[Levels], float] | None = None
    prefer: Callable[[Levels], float] | None = None
    coupled: Callable[[int, int], bool] | None = None
    moved: Callable[[Levels, Mapping[int, int]], float] | None = None
    bound_moved: Callable[[Levels, Mapping[int, int]], float] | None = None

    def units(self) -> list[list[int]]:
        """The positions that move together: each group, then every other link alone."""
        grouped = {i for g in self.groups for i in g}
        return [sorted(g) for g in self.groups if g] + [
            [i] for i in range(len(self.ids)) if i not in grouped
        ]


@dataclass
class Trial:
    """One judged design: its levels, cost, verdict and why it was judged."""

    levels: Levels
    cost: float
    judgement: Judgement
    note: str = ""


@dataclass
class YearOutcome:
    """The search of one year: the chosen design (``None``: none found), its cost, whether
    it is proven optimal, the lower bound (cheapest design not judged infeasible; equal to
    ``cost`` when optimal), whether every design was judged infeasible (``exhausted``) and
    every design judged, in order."""

    year: int
    levels: Levels | None
    cost: float
    optimal: bool
    lower_bound: float
    exhausted: bool
    floor: Levels
    trials: list[Trial]
    budget_spent: bool = False
    proven: bool = True  # False: the cost order rested on no bound (never optimal then)
    unbuildable: int = 0  # designs of infinite cost met and left unjudged (0: none met)
    #: the budgets that ran out, in that order (:data:`QUEUED`, :data:`VERDICTS`; empty:
    #: the search ended on its own)
    budgets: tuple[str, ...] = ()
    expansions: int = 0  # designs whose children were queued
    queued: int = 0  # designs priced and queued (the floor included)

    @property
    def gap(self) -> float:
        """Cost above the best lower bound (0 when optimal)."""
        return max(self.cost - self.lower_bound, 0.0) if self.levels is not None else 0.0


def _start(space: YearSpace, prev: Sequence[int | None]) -> tuple[list[list[int]], Levels]:
    units = space.units()
    lv = [max(space.floor[i], prev[i] or 0) for i in range(len(space.ids))]
    for u in units:
        top = max(lv[i] for i in u)
        for i in u:
            lv[i] = top
    return units, tuple(lv)


def tie(cost: float) -> float:
    """Costs within this of ``cost`` are equal (:data:`TIE` relative)."""
    return TIE * max(1.0, abs(cost))


def floor_design(space: YearSpace, prev: Sequence[int | None]) -> Levels:
    """The design a year's search starts from: every link at its floor and at least at its
    tier the year before (``prev``; ``None``: built this year), each group at its highest."""
    return _start(space, prev)[1]


class _Row(dict[int, float]):
    """Link ``i``'s :attr:`YearSpace.price` this year by tier, each asked of ``price``
    once, when first needed (it depends on the link, the tier and the tier before only)."""

    def __init__(self, space: YearSpace, prev: Sequence[int | None], i: int) -> None:
        super().__init__()
        self.space, self.prev, self.i = space, prev, i

    def __missing__(self, level: int) -> float:
        value = self[level] = self.space.price(self.i, level, self.prev[self.i])
        return value


def _n_designs(space: YearSpace, units: list[list[int]], movable: list[int], floor: Levels) -> int:
    n = 1
    for k in movable:
        n *= space.n_tiers - floor[units[k][0]]
    return n


def _movable(space: YearSpace, units: list[list[int]]) -> list[int]:
    return [k for k, u in enumerate(units) if not all(i in space.held for i in u)]


def _set(levels: Levels, unit: list[int], level: int) -> Levels:
    lv = list(levels)
    for i in unit:
        lv[i] = level
    return tuple(lv)


def search_year(
    space: YearSpace,
    prev: Sequence[int | None],
    judge: Judge,
    max_designs: int,
    upcoming: Callable[[list[Levels]], None] | None = None,
) -> YearOutcome:
    """The cheapest feasible design of ``space`` given the previous year's levels ``prev``
    (``None``: link built this year), judging at most ``max_designs`` new designs before the
    local-improvement pass (see the module doc). ``upcoming`` is told, before each design
    of the queue is judged, the next few designs the queue would judge after it (so that
    their runs may start early; a hint only, the search does not depend on it)."""
    return _YearSearch(space, prev, judge, upcoming).run(max_designs)


class _YearSearch:
    """The state of one year's search: costs, bounds, verdicts and hints so far."""

    def __init__(
        self,
        space: YearSpace,
        prev: Sequence[int | None],
        judge: Judge,
        upcoming: Callable[[list[Levels]], None] | None = None,
    ) -> None:
        self.space, self.prev, self.judge, self.upcoming = space, prev, judge, upcoming
        self.units, self.floor = _start(space, prev)
        self.movable = _movable(space, self.units)
        moving = set(self.movable)
        self.fixed = {i for k, u in enumerate(self.units) if k not in moving for i in u}
        self.trials: list[Trial] = []
        self.verdicts: dict[Levels, Judgement] = {}
        self.hints: set[int] = set()
        self.costs: dict[Levels, float] = {}
        self.least: dict[Levels, float] = {}  # the least cost at or above a design
        self.prices = [_Row(space, prev, i) for i in range(len(space.ids))]  # [link][tier]
        # is the queue's key of a design to expand a true bound?
        self.proven = (
            space.cost is None
            or space.bound is not None
            or _n_designs(space, self.units, self.movable, self.floor) <= MAX_ENUMERATED
        )
        # (key, kind, -hint, levels): _JUDGE keyed by the cost, _EXPAND by the bound
        self.heap: list[tuple[float, int, int, Levels]] = []
        self.seen = {self.floor}
        self.unbuilt: set[Levels] = set()  # designs of infinite cost, never judged
        self.budget = 0  # new verdicts the local improvement's moves of two units may make
        self.expansions = 0
        # keys of the designs to expand left unexpanded once :data:`MAX_QUEUED` designs
        # are queued: every design above them is yet to be judged
        self.frozen: list[float] = []
        self.budgets: list[str] = []  # the budgets that ran out, in that order

    def cost(self, levels: Levels) -> float:
        if levels not in self.costs:
            if self.space.cost is not None:
                self.costs[levels] = float(self.space.cost(levels))
            else:  # the sum of ``price``, each link's price at each tier asked once
                prices = self.prices
                self.costs[levels] = float(sum(prices[i][lv] for i, lv in enumerate(levels)))
        return self.costs[levels]

    def moved(self, levels: Levels, units: Sequence[tuple[list[int], int]]) -> Levels:
        """``levels`` with each unit of ``units`` at its tier: (positions, tier)."""
        for unit, level in units:
            levels = _set(levels, unit, level)
        return levels

    def cost_moved(self, levels: Levels, units: Sequence[tuple[list[int], int]]) -> float:
        """:meth:`cost` of ``levels`` with ``units`` moved (:meth:`moved`), priced from
        ``levels`` when the space can (:attr:`YearSpace.moved`: the same bits)."""
        d = self.moved(levels, units)
        if d not in self.costs and self.space.moved is not None:
            self.costs[d] = float(
                self.space.moved(levels, {i: lv for unit, lv in units for i in unit})
            )
        return self.cost(d)

    def bound_moved(self, levels: Levels, units: Sequence[tuple[list[int], int]]) -> float:
        """:meth:`bound` of ``levels`` with ``units`` moved, priced from ``levels`` when the
        space can (:attr:`YearSpace.bound_moved`: the same bits)."""
        if self.space.bound_moved is not None:
            changes = {i: lv for unit, lv in units for i in unit}
            return float(self.space.bound_moved(levels, changes))
        return self.bound(self.moved(levels, units))

    def children(self, levels: Levels) -> list[Levels]:
        out = []
        for k in self.movable:
            unit = self.units[k]
            if levels[unit[0]] + 1 < self.space.n_tiers:
                out.append(_set(levels, unit, levels[unit[0]] + 1))
        return out

    def at_or_above(self, levels: Levels) -> float:
        """The least cost of the designs at or above ``levels`` (the exact bound)."""
        if levels not in self.least:
            self.least[levels] = min(
                [self.cost(levels), *(self.at_or_above(c) for c in self.children(levels))]
            )
        return self.least[levels]

    def bound(self, levels: Levels) -> float:
        if self.space.bound is not None:
            return float(self.space.bound(levels))
        if self.space.cost is None:
            return self.price_bound(levels)
        if self.proven:
            return self.at_or_above(levels)
        return self.cost(levels)

    def price_bound(self, levels: Levels) -> float:
        """The sum over links of the least ``price`` over the tiers still open to each (its
        own tier when held): at most the cost of any design at or above ``levels``, and
        equal to the design's own cost when no faster tier costs less."""
        space = self.space
        return float(
            sum(
                min(
                    self.prices[i][t]
                    for t in ([lv] if i in self.fixed else range(lv, space.n_tiers))
                )
                for i, lv in enumerate(levels)
            )
        )

    def buildable(self, levels: Levels) -> bool:
        """Can the cost model build ``levels`` (a finite cost)?"""
        return math.isfinite(self.cost(levels))

    def verdict(self, levels: Levels, note: str = "") -> Judgement:
        if levels not in self.verdicts:
            j = self.judge(levels)
            self.verdicts[levels] = j
            self.trials.append(Trial(levels, self.cost(levels), j, note))
            if not j.ok:
                self.hints.update(j.culprits)
        return self.verdicts[levels]

    def hint(self, levels: Levels) -> int:
        return sum(levels[i] - self.floor[i] for i in self.hints)

    def full(self) -> bool:
        """Has the search queued :data:`MAX_QUEUED` designs (no more expansions)?"""
        return len(self.seen) >= MAX_QUEUED

    def ran_out(self, budget: str) -> None:
        """Note that ``budget`` (:data:`QUEUED`, :data:`VERDICTS`) ran out."""
        if budget not in self.budgets:
            self.budgets.append(budget)

    def expand(self, key: float, levels: Levels) -> None:
        """Queue the children of ``levels`` (popped with ``key``), or, once the search is
        :meth:`full`, keep ``key`` among the bounds of what is left unexpanded."""
        if self.full():
            self.ran_out(QUEUED)
            self.frozen.append(key)
        else:
            self.push_children(levels)

    def least_left(self) -> float:
        """The least key of what is left: the queue's and the designs left unexpanded (no
        design not judged yet costs less; infinite when nothing is left)."""
        return min(self.heap[0][0] if self.heap else math.inf, min(self.frozen, default=math.inf))

    def push_children(self, levels: Levels) -> None:
        self.expansions += 1
        for k in self.movable:
            unit = self.units[k]
            if levels[unit[0]] + 1 >= self.space.n_tiers:
                continue
            up = [(unit, levels[unit[0]] + 1)]
            nxt = self.moved(levels, up)
            if nxt in self.seen:
                continue
            self.seen.add(nxt)
            if nxt not in self.verdicts:
                c = self.cost_moved(levels, up)
                heapq.heappush(self.heap, (c, _JUDGE, -self.hint(nxt), nxt))
            b = self.bound_moved(levels, up)
            heapq.heappush(self.heap, (b, _EXPAND, -self.hint(nxt), nxt))

    def improve(self, levels: Levels) -> Levels:
        """Local improvement: try every single-unit downgrade, largest saving first, keep
        the first feasible one; when none is, every move of two units at once (one up and
        one down: capacity moved from one link to another; or both down), largest saving
        first, at most :attr:`budget` of them not judged before; repeat until no move is
        feasible."""
        budget = self.budget
        while True:
            here = self.cost(levels)
            cands = []
            for k in self.movable:
                u = self.units[k]
                for lv in range(self.floor[u[0]], levels[u[0]]):
                    d = _set(levels, u, lv)
                    cands.append((here - self.cost_moved(levels, [(u, lv)]), k, lv, d))
            cands = [c for c in cands if c[0] >= 0]  # a downgrade never costs more
            cands.sort(key=lambda t: (-t[0], t[1], t[2]))
            found = next(
                (d for _, _, _, d in cands if self.verdict(d, "local improvement").ok), None
            )
            if found is None:
                found, budget = self.move_two(levels, budget)
            if found is None:
                return levels
            levels = found

    def move_two(self, levels: Levels, budget: int) -> tuple[Levels | None, int]:
        """The first feasible design cheaper than ``levels`` that moves two units, largest
        saving first (``None``: none within ``budget`` new verdicts), and the budget left.

        The moves come in the order of sorting every one by (saving, design), but the
        cost of a move is computed only when it may come next (:meth:`two_unit_moves`)."""
        for d in self.two_unit_moves(levels):
            if d not in self.verdicts:
                if budget <= 0:
                    return None, budget
                budget -= 1
            if self.verdict(d, "local improvement").ok:
                return d, budget
        return None, budget

    def two_unit_moves(self, levels: Levels) -> Iterator[Levels]:
        """The designs that move two units of ``levels`` (each to another tier at or above
        its floor) and cost strictly less, by largest saving, then least tier vector:
        the order of sorting them all, with only the costs that may come next computed.

        A move of units ``a`` and ``b`` saves what moving each alone saves, when no link of
        ``a`` shares a part of the cost with one of ``b`` (:attr:`YearSpace.coupled`;
        never with the sum of ``price``): that sum (with :data:`_SLACK`) bounds its saving
        from above. The moves are taken in decreasing bound; a move's cost is computed
        when its bound reaches the largest saving computed so far, and a move is given
        once no move left can save as much (the moves of coupled units are all computed)."""
        units, floor, n_tiers = self.units, self.floor, self.space.n_tiers
        if len(self.movable) < 2:
            return
        here = self.cost(levels)
        slack = _SLACK * max(1.0, abs(here))
        both = self.coupled_units
        # every unit moved alone: its saving at each tier other than its own
        entries: list[tuple[int, int, float]] = []  # (unit, level, saving alone)
        for k in self.movable:
            u = units[k]
            for lv in range(floor[u[0]], n_tiers):
                if lv != levels[u[0]]:
                    entries.append((k, lv, here - self.cost_moved(levels, [(u, lv)])))
        unit = np.array([e[0] for e in entries], np.int64)
        alone = np.array([e[2] for e in entries], np.float64)
        rank = {k: r for r, k in enumerate(self.movable)}
        order_of = np.array([rank[k] for k in unit.tolist()], np.int64)
        with np.errstate(invalid="ignore"):  # inf − inf: a move no cheaper, dropped below
            bound = alone[:, None] + alone[None, :]
        pair = order_of[:, None] < order_of[None, :]  # units a before b, each pair once
        if both is not None:
            bound[pair & both[order_of[:, None], order_of[None, :]]] = math.inf
        elif self.space.cost is not None:  # any two units may share a part of the cost
            bound[:] = math.inf
        ia, ib = np.nonzero(pair & (bound + slack > 0))
        by = np.argsort(-bound[ia, ib], kind="stable")
        ia, ib, top = ia[by], ib[by], bound[ia, ib][by]
        ready: list[tuple[float, Levels]] = []  # (−saving, design) of the costs computed
        n = 0
        while True:
            while n < len(top) and (not ready or top[n] + slack >= -ready[0][0]):
                a, b = entries[int(ia[n])], entries[int(ib[n])]
                move = [(units[a[0]], a[1]), (units[b[0]], b[1])]
                d = self.moved(levels, move)
                saving = here - self.cost_moved(levels, move)
                if saving > 0:  # strictly cheaper: no cycle of equal costs
                    heapq.heappush(ready, (-saving, d))
                n += 1
            if not ready:
                return
            yield heapq.heappop(ready)[1]

    @functools.cached_property
    def coupled_units(self) -> npt.NDArray[np.bool_] | None:
        """Do the ``a``-th and ``b``-th units of :attr:`movable` share a part of the cost
        (:attr:`YearSpace.coupled` of any two of their links)? A matrix, built once a year
        (the large city's 212 links: 45 000 pairs). ``None``: never (the cost is the sum of
        ``price``) or unknown (a ``cost`` without ``coupled``)."""
        coupled, units = self.space.coupled, self.units
        if self.space.cost is None or coupled is None:
            return None
        return np.array(
            [
                [any(coupled(i, j) for i in units[a] for j in units[b]) for b in self.movable]
                for a in self.movable
            ],
            np.bool_,
        )

    def outcome(
        self,
        levels: Levels | None,
        optimal: bool,
        lower: float,
        exhausted: bool,
        improved: bool = False,
    ) -> YearOutcome:
        """The year's outcome with ``levels``; without a proven bound, ``levels`` improved
        locally unless it was already (``improved``: the improvement runs once a year)."""
        proven = self.proven
        if not proven:  # the queue's keys were no bounds: nothing is proven
            optimal, lower = False, math.nan
            if levels is not None and not improved:
                levels = self.improve(levels)
        c = self.cost(levels) if levels is not None else 0.0
        return YearOutcome(
            self.space.year,
            levels,
            c,
            optimal,
            c if optimal else lower,
            exhausted,
            self.floor,
            self.trials,
            budget_spent=not optimal and not exhausted,
            proven=proven,
            unbuildable=len(self.unbuilt),
            budgets=tuple(self.budgets),
            expansions=self.expansions,
            queued=len(self.seen),
        )

    def first(self, levels: Levels, note: str) -> bool:
        """Judge ``levels`` ahead of the queue (the floor, then the fastest design): is it
        feasible? A design that cannot be built is not judged (not feasible)."""
        if not self.buildable(levels):
            self.unbuilt.add(levels)
            return False
        return self.verdict(levels, note).ok

    def rank(self, levels: Levels) -> tuple[Any, ...]:
        """The order of designs of equal cost: ``prefer`` (least first), the most capacity,
        the hints, then the fastest tier vector."""
        prefer = self.space.prefer(levels) if self.space.prefer is not None else 0.0
        return (prefer, -sum(levels), -self.hint(levels), tuple(-x for x in levels))

    def tied(self, c: float) -> list[Levels]:
        """Pop the queue entries of key ``c`` (within :data:`TIE`), at most :data:`MAX_TIED`
        of them: the designs to expand pushing their children (of that cost too, when any),
        the designs to judge returned in the order of :meth:`rank`. (Beyond the cap, the
        designs of that cost left in the queue come after those returned.)"""
        heap, group = self.heap, []
        taken = 0
        while heap and heap[0][0] <= c + tie(c) and taken < MAX_TIED:
            taken += 1
            key, kind, _, levels = heapq.heappop(heap)
            if kind == _EXPAND:
                self.expand(key, levels)
            else:
                group.append(levels)
        return sorted(group, key=self.rank) if len(group) > 1 else group

    def judge_tied(self, group: list[Levels], max_designs: int) -> tuple[Levels | None, bool]:
        """Judge the designs of one cost in ``group``'s order (those judged before read from
        their verdicts): the first feasible one (``None``: none), and whether the budget of
        ``max_designs`` verdicts ran out first (the designs left go back in the queue)."""
        for k, levels in enumerate(group):
            if levels in self.verdicts:  # the floor or the fastest design, judged first
                if self.verdicts[levels].ok:
                    return levels, False
                continue
            if len(self.trials) >= max_designs:  # back in the queue: the lower bound
                for rest in group[k:]:
                    if rest not in self.verdicts:
                        heapq.heappush(self.heap, (self.cost(rest), _JUDGE, 0, rest))
                return None, True
            if self.upcoming is not None:
                nxt = [lv for lv in group[k + 1 :] if lv not in self.verdicts]
                nxt += [
                    lv
                    for key, kd, _, lv in heapq.nsmallest(_AHEAD, self.heap)
                    if kd == _JUDGE and math.isfinite(key)  # no runs for what cannot be built
                ]
                self.upcoming(nxt[:_AHEAD])
            if self.verdict(levels).ok:
                return levels, False
        return None, False

    def incumbent(self) -> Levels | None:
        """Judge the floor design, then (when it fails) the fastest design, ahead of the
        queue: the first feasible one (``None``: neither)."""
        floor, top = self.floor, self.floor
        for k in self.movable:
            top = _set(top, self.units[k], self.space.n_tiers - 1)
        if self.first(floor, "lower bound"):
            return floor  # the optimum unless a design above it costs less
        if top != floor and self.first(top, "fastest tiers"):
            return top
        return None

    def skip(self, c: float, kind: int, levels: Levels) -> None:
        """Pop the queue's head, a design to expand or one that cannot be built (``c``
        infinite): expand it (once :meth:`full`, its key kept), or count it unbuilt."""
        heapq.heappop(self.heap)
        if kind == _JUDGE:  # the cost model cannot build it: never judged
            self.unbuilt.add(levels)
        elif not (math.isinf(c) and self.proven):  # else all above cost inf
            self.expand(c, levels)  # once full: what is queued is judged, none expanded

    def run(self, max_designs: int) -> YearOutcome:
        self.budget = max_designs  # new verdicts of the moves of two units (local improvement)
        incumbent = self.incumbent()
        heap = self.heap
        heapq.heappush(heap, (self.bound(self.floor), _EXPAND, 0, self.floor))
        while heap:
            c, kind, _, levels = heap[0]
            if incumbent is not None:
                here = self.cost(incumbent)
                if min(c, min(self.frozen, default=math.inf)) > here + tie(here):
                    return self.outcome(incumbent, True, here, False)
                if self.full():  # no more expansions: the year ends with the incumbent
                    self.ran_out(QUEUED)
                    break
            if kind == _JUDGE and len(self.trials) >= max_designs and math.isfinite(c):
                self.ran_out(VERDICTS)
                break
            if kind == _EXPAND or math.isinf(c):
                self.skip(c, kind, levels)
                continue
            group = self.tied(c)  # every design of this cost, the preferred first
            if incumbent is not None and group and self.cost(incumbent) <= c + tie(c):
                group = sorted([*group, incumbent], key=self.rank)
            found, spent = self.judge_tied(group, max_designs)
            if found is not None:
                if not self.frozen:  # nothing left costs less
                    return self.outcome(found, True, self.cost(found), False)
                incumbent = found  # designs left unexpanded may cost less
                break
            if spent:
                self.ran_out(VERDICTS)
                break
        else:
            if self.frozen:  # the queue is empty, the designs above those left unexpanded
                pass  # not judged: as when a budget runs out
            elif incumbent is not None:
                return self.outcome(incumbent, True, self.cost(incumbent), False)
            else:
                return self.outcome(None, False, 0.0, True)
        lower = self.least_left()
        if incumbent is None:
            return self.outcome(None, False, lower, False)
        best = self.improve(incumbent)
        return self.outcome(best, self.cost(best) <= lower, lower, False, improved=True)
