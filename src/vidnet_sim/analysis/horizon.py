"""The cheapest plan over all the years, when the years' plans are few enough to compare.

A *plan* is one design per year (:class:`~vidnet_sim.analysis.search.YearSpace`, each with
its mean-load floors), no link ever down a tier from one year to the next. The search of
:mod:`~vidnet_sim.analysis.search` chooses year by year (the cheapest design of each year
given the years before); buying a faster tier earlier can cost less over the years than an
upgrade later. :func:`search_plan` finds the plan of least total cost among those whose
every design is feasible, cheaper than a given plan (``upper``, the year-by-year one):

- **Cost order over prefixes.** A prefix (the designs of the first years) is keyed by what
  its years cost (``prefix_cost``: never more than the cost of any plan that extends it,
  every cost being at least 0), a whole plan by its cost (``plan_cost``). Prefixes and
  plans are popped in increasing key: the first whole plan popped whose designs are all
  feasible is the cheapest such plan. A design is judged when the first prefix ending with
  it is popped (each (year, design) judged once); a prefix ending with an infeasible design
  is dropped with every plan that extends it (exact: that plan is infeasible).
- **Only what can beat ``upper``.** Nothing keyed at ``upper`` or more is judged: the answer
  is a plan strictly cheaper, or none (the year-by-year plan is then the cheapest plan).
- **Limits.** Tried only when the years have at most ``max_plans`` plans (:func:`count_plans`)
  and stopped after ``max_designs`` new verdicts: the outcome then has no plan (``complete``
  false) and proves one thing, its ``lower_bound``: the least key left in the queue, below
  which every plan was ruled out (infeasible in some year), so no feasible plan costs less.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from vidnet_sim.analysis.search import Judge, Levels, YearSpace

__all__ = ["PlanOutcome", "count_plans", "previous_levels", "search_plan", "year_designs"]

Plan = tuple[Levels, ...]


@dataclass
class PlanOutcome:
    """The plan found (``levels``: one design per year; ``None``: no feasible plan cheaper
    than ``upper``), its cost, whether every cheaper plan was ruled out (``complete``),
    how many new designs were judged and the prefix each was judged under (``judged_in``:
    what the design costs depends on the years before it); ``lower_bound``: no feasible
    plan costs less (the plan's cost when one is found; when the budget ran out, the least
    key left: every plan below it was ruled out)."""

    levels: Plan | None
    cost: float
    complete: bool
    judged: int
    #: (year index, design) -> the prefix (first years of a plan, ending with the design)
    #: under which the design was judged
    judged_in: dict[tuple[int, Levels], Plan] = field(default_factory=dict)
    lower_bound: float = 0.0


def previous_levels(spaces: Sequence[YearSpace], k: int, levels: Levels | None) -> list[int | None]:
    """Year ``k``'s links' levels the year before, year ``k − 1``'s design being ``levels``
    (``None``: a link built in year ``k``)."""
    if k == 0 or levels is None:
        return [None] * len(spaces[k].ids)
    before = dict(zip(spaces[k - 1].ids, levels, strict=True))
    return [before.get(x) for x in spaces[k].ids]


def year_designs(space: YearSpace, prev: Sequence[int | None]) -> list[Levels]:
    """Every design of ``space`` given the levels the year before: each unit from its
    floor (mean load, the year before) to the fastest tier, held units at their floor,
    groups at one tier; in increasing tier vector order."""
    return sorted(_designs(space, prev))


def _designs(space: YearSpace, prev: Sequence[int | None]) -> Iterator[Levels]:
    """The designs of :func:`year_designs`, one by one in no particular order."""
    units = space.units()
    base = [max(space.floor[i], prev[i] or 0) for i in range(len(space.ids))]
    ranges = []
    for u in units:
        lo = max(base[i] for i in u)
        held = all(i in space.held for i in u)
        ranges.append(range(lo, lo + 1) if held else range(lo, space.n_tiers))
    for combo in itertools.product(*ranges):
        lv = list(base)
        for u, x in zip(units, combo, strict=True):
            for i in u:
                lv[i] = x
        yield tuple(lv)


def count_plans(spaces: Sequence[YearSpace], limit: int) -> int:
    """How many plans the years have, counted up to ``limit + 1`` (more: ``limit + 1``),
    each year's designs generated one by one (every design of a year is the start of a
    plan: the years after it can be at their fastest tiers), so that no more than about
    ``limit`` plans are walked however many there are."""
    total = 0

    def walk(k: int, last: Levels | None) -> bool:
        nonlocal total
        if k == len(spaces):
            total += 1
            return total <= limit
        return all(walk(k + 1, d) for d in _designs(spaces[k], previous_levels(spaces, k, last)))

    walk(0, None)
    return min(total, limit + 1)


def search_plan(
    spaces: Sequence[YearSpace],
    judges: Sequence[Judge],
    prefix_cost: Callable[[Plan], float],
    plan_cost: Callable[[Plan], float],
    upper: float,
    max_designs: int,
) -> PlanOutcome:
    """The cheapest plan of ``spaces`` strictly below ``upper`` whose every design is
    feasible for its year's judge (see the module doc). ``judges[k]`` judges year ``k``'s
    designs (the caller may cache; a design is asked once here). Every cost must be at least
    0 (:class:`ValueError` otherwise): a prefix's cost is a bound of its plans' only then."""
    verdicts: dict[tuple[int, Levels], bool] = {}
    judged_in: dict[tuple[int, Levels], Plan] = {}
    judged = 0
    years = len(spaces)
    heap: list[tuple[float, Plan]] = []

    def push(prefix: Plan) -> None:
        key = plan_cost(prefix) if len(prefix) == years else prefix_cost(prefix)
        if key < 0:  # a prefix's cost would bound nothing: refused, not a wrong answer
            raise ValueError(f"a plan's cost must be at least 0, got {key} for {prefix}")
        if key < upper:
            heapq.heappush(heap, (key, prefix))

    for d in year_designs(spaces[0], previous_levels(spaces, 0, None)):
        push((d,))
    while heap:
        key, prefix = heapq.heappop(heap)
        k, last = len(prefix) - 1, prefix[-1]
        if (k, last) not in verdicts:
            if judged >= max_designs:  # every plan below ``key`` was ruled out
                return PlanOutcome(None, upper, False, judged, judged_in, key)
            verdicts[(k, last)] = judges[k](last).ok
            judged_in[(k, last)] = prefix
            judged += 1
        if not verdicts[(k, last)]:
            continue
        if len(prefix) == years:
            return PlanOutcome(prefix, key, True, judged, judged_in, key)
        for d in year_designs(spaces[k + 1], previous_levels(spaces, k + 1, last)):
            push((*prefix, d))
    return PlanOutcome(None, upper, True, judged, judged_in, upper)
