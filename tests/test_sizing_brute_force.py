"""The sizing search against brute force on adversarial small cases.

Beside ``test_sizing_search`` (random spaces with prices rising with the tier and costs drawn
so that no two designs tie), the cases here are the ones a search tends to get wrong: prices
that tie and fall with a faster tier (optics dearer than a faster tier's), verdicts with no
order at all (feasible on an arbitrary set of tier vectors), held units and groups, budgets;
and through ``size_network`` (verdicts from a stub, or from real simulation): a link no
class with an SLA crosses that decides the verdict, a slower tier dearer than a faster one
that is the only feasible one, and a mean load exactly at a tier's rate.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_sizing import TWO, WIDE
from test_sizing_search import Levels, cost, designs, fake_verdict, floors
from vidnet_sim.analysis.capacity import Verdict
from vidnet_sim.analysis.cost import CostModel, scenario_links
from vidnet_sim.analysis.search import Judgement, YearSpace, search_year
from vidnet_sim.analysis.sizing import size_network
from vidnet_sim.scenario.growth import year_data

M10, M100, G1 = 10**7, 10**8, 10**9


# --------------------------------------------------------------------------- the search
@st.composite
def instances(draw: st.DrawFn) -> tuple[list[YearSpace], Callable[[int, Levels], bool], bool]:
    """1-3 years of 1-4 links and 1-4 tiers: small integer prices in no order (ties and a
    slower tier dearer than a faster one), random floors, held links and a group, a link
    added in a later year; verdicts feasible on a random set of tier vectors; and whether
    the cost is a whole-design function (a discount when two links share a tier) instead
    of the sum of prices."""
    n = draw(st.integers(1, 4))
    n_tiers = draw(st.integers(1, 4))
    n_years = draw(st.integers(1, 3))
    ids = [f"l{i}" for i in range(n)]
    late = {ids[-1]: draw(st.integers(1, n_years))} if n > 1 else {}
    upgrade = {
        x: draw(st.lists(st.integers(0, 5), min_size=n_tiers, max_size=n_tiers)) for x in ids
    }
    build = {x: draw(st.integers(0, 3)) for x in ids}
    whole = draw(st.booleans())
    spaces = []
    for year in range(1, n_years + 1):
        yids = [x for x in ids if late.get(x, 1) <= year]

        def price(i: int, lv: int, p: int | None, yids: list[str] = yids) -> float:
            if p is None:
                return float(upgrade[yids[i]][lv] + build[yids[i]])
            return 0.0 if lv == p else float(upgrade[yids[i]][lv])

        m = len(yids)
        floor = draw(st.lists(st.integers(0, n_tiers - 1), min_size=m, max_size=m))
        held = frozenset(draw(st.sets(st.integers(0, m - 1), max_size=1))) if m else frozenset()
        groups = [draw(st.permutations(range(m)))[:2]] if m >= 3 and draw(st.booleans()) else []
        space = YearSpace(year, yids, n_tiers, floor, price, held, groups)
        if whole and m >= 2:
            bonus = float(draw(st.integers(0, 4)))

            def whole_cost(levels: Levels, space: YearSpace = space, bonus: float = bonus) -> float:
                c = sum(space.price(i, lv, None) for i, lv in enumerate(levels))
                return c - bonus if levels[0] == levels[1] else c

            space = dataclasses.replace(space, cost=whole_cost)
        spaces.append(space)
    salt = draw(st.integers(0, 2**32))
    share = draw(st.sampled_from([2, 3, 5]))

    def ok(y: int, levels: Levels) -> bool:
        return hashlib.sha256(repr((salt, y, levels)).encode()).digest()[0] % share == 0

    return spaces, ok, whole


def judge_of(ok: Callable[[int, Levels], bool], y: int, log: list[Levels]) -> Callable:
    def judge(levels: Levels) -> Judgement:
        log.append(levels)
        # culprits in no relation to the verdict: hints must only order the search
        return Judgement(ok(y, levels), frozenset(i for i, x in enumerate(levels) if x % 2))

    return judge


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.one_of(st.none(), st.integers(1, 6)))
def test_search_year_equals_brute_force_with_ties_and_prices_in_no_order(
    case: tuple[list[YearSpace], Callable[[int, Levels], bool], bool], budget: int | None
) -> None:
    """Every year (from the search's own choice the year before): the design returned is
    feasible; called optimal, it costs the least over every feasible design; its lower
    bound never exceeds that least cost; exhausted only when nothing is feasible; every
    design judged once; the same answer again on a second run (ties broken the same way)."""
    spaces, ok, _ = case
    prev: dict[str, int] = {}
    for y, space in enumerate(spaces):
        p = [prev.get(x) for x in space.ids]
        log: list[Levels] = []
        res = search_year(space, p, judge_of(ok, y, log), budget or 10**6)
        assert len(set(log)) == len(log)
        again = search_year(space, p, judge_of(ok, y, []), budget or 10**6)
        assert (again.levels, again.cost, again.optimal) == (res.levels, res.cost, res.optimal)
        feas = [cost(space, p, d) for d in designs(space, p) if ok(y, d)]
        if res.levels is None:
            assert not res.optimal
            if budget is None or res.exhausted:
                assert not feas
            break
        assert ok(y, res.levels) and res.levels in designs(space, p)
        assert math.isclose(res.cost, cost(space, p, res.levels))
        best = min(feas)
        if res.proven:
            assert res.lower_bound <= best + 1e-9
        if budget is None:
            assert res.optimal
        if res.optimal:
            assert math.isclose(res.cost, best), (res.levels, res.cost, best)
        prev = dict(zip(space.ids, res.levels, strict=True))


# --------------------------------------------------------------------------- size_network
def stub(ids: list[str], ok: Callable[[int, dict[str, int]], bool]) -> Callable:
    """A verdict function for ``size_network(judge=...)`` from a predicate over the rates."""

    def judge(year: int, rates: dict[str, int]) -> Verdict:
        return fake_verdict(ok(year, {x: rates[x] for x in ids}))

    return judge


def brute_force(
    text: str, model: CostModel, ok: Callable[[int, dict[str, int]], bool], years: list[int]
) -> list[tuple[dict[str, int], float] | None]:
    """Year by year, the cheapest design (the links' CAPEX of the year) over every tier
    vector of every tier the cost table prices, each link at least at its tier of the year
    before and at its mean-load floor, feasible for ``ok``; None from the first year none
    is."""
    raw = tomllib.loads(text)
    tiers = model.tiers
    out: list[tuple[dict[str, int], float] | None] = []
    prev: dict[str, int] = {}
    for year in years:
        ids = [x for x, _ in scenario_links(year_data(raw, year))]
        p = [prev.get(x) for x in ids]

        def price(i: int, lv: int, q: int | None) -> float:
            return model.upgrade_cost(tiers[lv]) if q is None or lv != q else 0.0

        space = YearSpace(year, ids, len(tiers), floors(raw, year, tiers), price)
        feas = [
            (cost(space, p, d), d)
            for d in designs(space, p)
            if ok(year, {x: tiers[lv] for x, lv in zip(ids, d, strict=True)})
        ]
        if not feas:
            out.append(None)
            break
        c, d = min(feas)
        out.append(({x: tiers[lv] for x, lv in zip(ids, d, strict=True)}, c))
        prev = dict(zip(ids, d, strict=True))
    return out


WIDE_IDS = ["a-b", "b-c", "b-d", "c-e"]


def test_a_link_no_sla_class_crosses_is_searched_like_any_other(tmp_path: Path) -> None:
    """c-e carries bulk traffic only (no class with an SLA crosses it), yet its tier can
    decide a verdict: a faster or slower link shifts when its packets reach a queue they
    share with an SLA class further on. Verdicts feasible only with c-e at 100 Mbit/s: the
    cheapest design raises it; holding it at its floor (as the links' CAPEX search once
    did) found nothing and stopped the sizing."""
    f = tmp_path / "wide.toml"
    f.write_text(WIDE, encoding="utf-8")
    model = CostModel(port=0.0, optics={M10: 1.0, M100: 10.0, G1: 12.0})

    def ok(year: int, rates: dict[str, int]) -> bool:
        return rates["c-e"] == M100

    ((want, c),) = brute_force(WIDE, model, ok, [1])  # type: ignore[misc]
    res = size_network(f, model, judge=stub(WIDE_IDS, ok), vendor_check=False)
    (year,) = res.years
    assert year.rates == want == {"a-b": M10, "b-c": M100, "b-d": M10, "c-e": M100}
    assert year.capex == c and year.optimal


TWO_IDS = ["a-b", "b-c"]


def test_a_slower_tier_dearer_than_a_faster_one_is_searched(tmp_path: Path) -> None:
    """10 Mbit/s optics dearer than 100 Mbit/s ones: a slower link still smooths the bursts
    it passes on, so with verdicts feasible only with a-b at 10 Mbit/s the cheapest
    feasible design is that one (the links' CAPEX search once left such a tier out and
    found nothing)."""
    f = tmp_path / "two.toml"
    f.write_text(TWO, encoding="utf-8")
    model = CostModel(port=0.0, optics={M10: 5.0, M100: 4.0, G1: 9.0})

    def ok(year: int, rates: dict[str, int]) -> bool:
        return rates["a-b"] == M10 or rates["b-c"] == G1

    ((want, c),) = brute_force(TWO, model, ok, [1])  # type: ignore[misc]
    res = size_network(f, model, judge=stub(TWO_IDS, ok), vendor_check=False)
    (year,) = res.years
    assert year.rates == want == {"a-b": M10, "b-c": M100}
    assert year.capex == c == 2 * 5.0 + 2 * 4.0 and year.optimal


# one source sending 1250-byte packets (1172 B + 78 B of headers) every millisecond: exactly
# 10 Mbit/s, which a 10 Mbit/s link carries with no queue at all (each packet leaves as the
# next arrives): latency 1 ms, no loss
EXACT = """
name = "exact"
[simulation]
duration = "200ms"
[[nodes]]
id = "a"
[[nodes]]
id = "b"
[[links]]
a = "a"
b = "b"
rate = "10Mbps"
[[sources]]
name = "x"
kind = "cbr"
at = "a"
destinations = ["b"]
size = "1172B"
interval = "1ms"
[sla.data]
latency_max = "1.5ms"
loss = 0
"""


@pytest.mark.parametrize("optics", [{M10: 1.0}, {M10: 1.0, M100: 2.0}])
def test_a_tier_equal_to_the_mean_load_is_judged_not_skipped(
    optics: dict[int, float], tmp_path: Path
) -> None:
    """The mean load equals the 10 Mbit/s tier: no packet is lost and none waits in
    simulation, so that tier is the cheapest feasible one. The floor once required a tier
    strictly above the mean load: it bought 100 Mbit/s, or, with 10 Mbit/s the fastest
    tier, stopped claiming the SLA could not be met at any tier."""
    f = tmp_path / "exact.toml"
    f.write_text(EXACT, encoding="utf-8")
    res = size_network(
        f, CostModel(port=0.0, optics=optics), replications=2, max_extend=1, vendor_check=False
    )
    (year,) = res.years
    assert year.rates == {"a-b": M10} and year.optimal and year.verdict.ok
    row = year.verdict.checks.set_index("metric")
    assert row.at["loss", "mean"] == 0.0
    assert row.at["latency_max_ps", "mean"] == 10**9  # one transmission, no wait
