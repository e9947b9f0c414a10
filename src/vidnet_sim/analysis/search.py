"""The cheapest feasible tier vector of one year, by best-first search in cost order.

The verdicts are given (:data:`Judge`: simulation in :mod:`vidnet_sim.analysis.sizing`, any
function in the tests); this module only decides which designs to judge and what may be
said of the answer.

- **Space.** A design gives every sizable link a tier index. Links move in *units* (a link
  alone, or a group held at one tier, such as the spans of a ring). A unit never goes below
  its *floor*: the tier of the year before (tiers never go down) and the slowest tier above
  the link's mean offered load (a slower link loses packets in steady state whatever the
  rest of the design: the only sound pruning). A *held* unit stays at its floor.
- **Cost order.** The cost of a design is the sum of what each link costs this year
  (:attr:`YearSpace.price`): nothing for a link kept at its tier, more for every faster
  tier. A child (one unit one tier up) never costs less than its parent, so a priority
  queue seeded with the floor design and a seen-set visits every design in increasing
  cost. Equal costs are ordered by simulation hints (designs faster on more of the links
  where failing classes were dropped or waited longest first), then by the tier vector.
  Hints only *order*; nothing is skipped for being "no faster on the failing link", since
  a faster upstream link can make a downstream queue worse (the verdict is not monotone).
- **Optimal.** The first feasible design popped is the cheapest feasible design: every
  cheaper one was judged infeasible. The fastest design is judged early (after the floor
  design fails) as an incumbent: the search stops as soon as nothing cheaper is left.
- **Budget.** After ``max_designs`` new verdicts, the cheapest feasible design judged so
  far is improved locally (every single-unit downgrade, largest saving first, kept when
  feasible, until none is) and reported as *best found* with the gap to the lower bound
  (the cost of the cheapest design not judged); it is *optimal* only when that gap is not
  positive. Nothing is ever reported optimal otherwise, and nothing is upgraded blindly.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Judge",
    "Judgement",
    "Trial",
    "YearOutcome",
    "YearSpace",
    "search_year",
]

Levels = tuple[int, ...]


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
    None)`` its cost this year (never lower at a faster level: the cost order rests on
    it), ``held`` positions kept at their floor, and ``groups`` of positions held at one
    tier (each position in at most one group)."""

    year: int
    ids: list[str]
    n_tiers: int
    floor: list[int]
    price: Callable[[int, int, int | None], float]
    held: frozenset[int] = frozenset()
    groups: list[list[int]] = field(default_factory=list)

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


def _cost(space: YearSpace, prev: Sequence[int | None], levels: Levels) -> float:
    return float(sum(space.price(i, lv, prev[i]) for i, lv in enumerate(levels)))


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
) -> YearOutcome:
    """The cheapest feasible design of ``space`` given the previous year's levels ``prev``
    (``None``: link built this year), judging at most ``max_designs`` new designs before the
    local-improvement pass (see the module doc)."""
    units, floor = _start(space, prev)
    movable = _movable(space, units)
    trials: list[Trial] = []
    seen_verdicts: dict[Levels, Judgement] = {}
    hints: set[int] = set()

    def cost(levels: Levels) -> float:
        return _cost(space, prev, levels)

    def verdict(levels: Levels, note: str = "") -> Judgement:
        if levels not in seen_verdicts:
            j = judge(levels)
            seen_verdicts[levels] = j
            trials.append(Trial(levels, cost(levels), j, note))
            if not j.ok:
                hints.update(j.culprits)
        return seen_verdicts[levels]

    def hint(levels: Levels) -> int:
        return sum(levels[i] - floor[i] for i in hints)

    def outcome(levels: Levels | None, optimal: bool, lower: float, exhausted: bool) -> YearOutcome:
        c = cost(levels) if levels is not None else 0.0
        return YearOutcome(
            space.year,
            levels,
            c,
            optimal,
            c if optimal else lower,
            exhausted,
            floor,
            trials,
            budget_spent=not optimal and not exhausted,
        )

    if verdict(floor, "lower bound").ok:
        return outcome(floor, True, cost(floor), False)
    top = floor
    for k in movable:
        top = _set(top, units[k], space.n_tiers - 1)
    incumbent: Levels | None = None
    if top != floor and verdict(top, "fastest tiers").ok:
        incumbent = top
    heap: list[tuple[float, int, Levels]] = []
    seen = {floor}

    def push_children(levels: Levels) -> None:
        for k in movable:
            i = units[k][0]
            if levels[i] + 1 < space.n_tiers:
                nxt = _set(levels, units[k], levels[i] + 1)
                if nxt not in seen:
                    seen.add(nxt)
                    heapq.heappush(heap, (cost(nxt), -hint(nxt), nxt))

    push_children(floor)
    while heap:
        c, _, levels = heap[0]
        if incumbent is not None and c >= cost(incumbent):
            return outcome(incumbent, True, cost(incumbent), False)
        if levels not in seen_verdicts and len(trials) >= max_designs:
            break
        heapq.heappop(heap)
        if verdict(levels).ok:
            return outcome(levels, True, c, False)
        push_children(levels)
    else:
        if incumbent is not None:  # pragma: no cover - the loop returns first
            return outcome(incumbent, True, cost(incumbent), False)
        return outcome(None, False, 0.0, True)
    lower = heap[0][0]
    if incumbent is None:
        return outcome(None, False, lower, False)
    best = _improve(space, units, movable, floor, incumbent, cost, verdict)
    return outcome(best, cost(best) <= lower, lower, False)


def _improve(
    space: YearSpace,
    units: list[list[int]],
    movable: list[int],
    floor: Levels,
    levels: Levels,
    cost: Callable[[Levels], float],
    verdict: Callable[[Levels, str], Judgement],
) -> Levels:
    """Local improvement: try every single-unit downgrade, largest saving first, keep the
    first feasible one, repeat until no downgrade is feasible."""
    while True:
        here = cost(levels)
        cands = []
        for k in movable:
            u = units[k]
            for lv in range(floor[u[0]], levels[u[0]]):
                d = _set(levels, u, lv)
                cands.append((here - cost(d), k, lv, d))
        cands.sort(key=lambda t: (-t[0], t[1], t[2]))
        for _, _, _, d in cands:
            if verdict(d, "local improvement").ok:
                levels = d
                break
        else:
            return levels
