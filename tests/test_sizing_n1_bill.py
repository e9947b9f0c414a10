"""N-1 sizing priced with the whole bill, against brute force.

A ring of switches (one span ERPS-blocked) with cameras recorded at the ring's head, a second
year adding cameras; every span that carries traffic is a failure case. The cost is the whole
bill's net present cost (fibre trenched or existing, short- and long-reach optics in no order,
a switch catalogue whose stack at a node depends on its links' rates, recording, energy,
maintenance); the verdicts are drawn per (year, case, design), in no order. ``size`` must
return, year by year, the least net present cost over every tier vector whose normal case and
every failure case are feasible (brute force, priced by ``plan_npc`` itself), and with
``over_the_years`` the least over every plan of the two years.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drawn_costs import drawn_costs
from test_sizing_search import fake_verdict, floors
from vidnet_sim.analysis.bill import BillModel, YearDesign, load_bill_model, plan_npc
from vidnet_sim.analysis.capacity import Verdict
from vidnet_sim.analysis.sizing import SizingResult, SizingStoppedError, size_network
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.growth import year_data

Levels = tuple[int, ...]
SPANS = ["r0-r1", "r1-r2", "r2-r3", "r3-r0"]
CASES = ["r0-r1", "r1-r2", "r2-r3"]  # r3-r0 is blocked: its failure moves no traffic
SPARE = ["r2-r3", "r3-r0"]


def ring_town(rng: random.Random) -> tuple[str, str]:
    """The ring (r0 the recorder, r1-r3 switches; r3-r0 blocked: r3's cameras reach r0 over
    r2 and r1), span lengths drawn (long-reach optics beyond 10 km), and a cost model drawn:
    optics in no order (a slower tier as dear as the next, or dearer, half the time), two
    to three switch models whose ports, PoE and draw make a node's stack depend on its
    links' rates."""
    spans = ""
    for a, b in zip(["r0", "r1", "r2", "r3"], ["r1", "r2", "r3", "r0"], strict=True):
        spans += (
            f'[[links]]\na = "{a}"\nb = "{b}"\nrate = "100Mbps"\n'
            f'length = "{rng.choice([1, 4, 15])}km"\n'
            f'fibre = "{rng.choice(["trench", "existing"])}"\n'
        )
    spans = spans.replace(
        'b = "r0"\nrate = "100Mbps"\n', 'b = "r0"\nrate = "100Mbps"\nblocked = true\n'
    )
    scenario = f"""
name = "ring-town"
[simulation]
duration = "1s"
[[nodes]]
id = "r0"
kind = "recorder"
[[nodes]]
id = "r1"
[[nodes]]
id = "r2"
[[nodes]]
id = "r3"
{spans}
[[cameras]]
name = "north"
count = {rng.randint(1, 3)}
attach = "r1"
bitrate = "{rng.choice([4, 8])}Mbps"
destinations = ["r0"]
retention_days = 7
[[cameras]]
name = "east"
count = {rng.randint(1, 3)}
attach = "r3"
bitrate = "{rng.choice([4, 8])}Mbps"
kind = "{rng.choice(["fixed", "ptz"])}"
destinations = ["r0"]
retention_days = 7
[sla.video]
packet_latency_max = "30ms"
[sizing]
survive = "single-link"
convergence = "50ms"

[[growth]]
year = 2
[[growth.cameras]]
name = "south"
count = {rng.randint(1, 4)}
attach = "{rng.choice(["r2", "r3"])}"
bitrate = "{rng.choice([4, 16])}Mbps"
destinations = ["r0"]
"""

    costs = drawn_costs(rng, small_fast_ports=2, optional_uplinks=True)
    return scenario, costs


CaseVerdicts = Callable[[int, Levels, str | None], bool]


def case_verdicts(rng: random.Random) -> CaseVerdicts:
    """Verdicts per (year index, tier vector, case): half the time a tier each span needs
    per case (monotone), else a random set of tier vectors per case, in no order."""
    cases: list[str | None] = [None, *CASES]
    if rng.random() < 0.5:
        need = {(k, c): [rng.choice([0, 0, 1, 2]) for _ in SPANS] for k in (0, 1) for c in cases}

        def ok(k: int, levels: Levels, case: str | None) -> bool:
            return all(lv >= t for lv, t in zip(levels, need[(k, case)], strict=True))

        return ok
    salt, share = rng.random(), rng.choice([1, 2, 3])

    def ok_set(k: int, levels: Levels, case: str | None) -> bool:
        h = hashlib.sha256(repr((salt, k, case, levels)).encode()).digest()[0]
        return h % share == 0 or (case is None and h % 7 == 0)

    return ok_set


def n1_judge(
    ok: CaseVerdicts, tiers: list[int], asked: list[tuple[int, str | None]]
) -> Callable[..., Verdict]:
    """``size_network(judge=...)``: (year, rates) for the normal case, (year, rates, failed
    link) for each failure case."""

    def judge(year: int, rates: dict[str, int], failed: str | None = None) -> Verdict:
        asked.append((year, failed))
        return fake_verdict(ok(year - 1, tuple(tiers.index(rates[x]) for x in SPANS), failed))

    return judge


def sized(text: str, model: BillModel, judge: Callable[..., Verdict], **kw: Any) -> SizingResult:
    """``size_network`` with the whole bill (or the result it stopped with)."""
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "ring.toml"
        f.write_text(text, encoding="utf-8")
        try:
            return size_network(f, bill=model, judge=judge, vendor_check=False, **kw)
        except SizingStoppedError as exc:
            return exc.result


def year_vectors(low: list[int], prev: Levels | None, n_tiers: int, grouped: bool) -> list[Levels]:
    """Every tier vector of a year: each span at or above its floor and its tier of the year
    before (``grouped``: the spare spans r2-r3 and r3-r0 at one tier)."""
    base = [max(f, p) for f, p in zip(low, prev or (0,) * len(low), strict=True)]
    out = []
    for d in itertools.product(*(range(b, n_tiers) for b in base)):
        if grouped and d[2] != d[3]:
            continue
        out.append(d)
    return out


def brute_force(
    text: str, model: BillModel, ok: CaseVerdicts, grouped: bool, follow: list[Levels]
) -> tuple[list[float], float]:
    """Year by year, the least net present cost of the plan so far over every tier vector
    feasible in every case, given the design ``follow`` (the search's own) chose the year
    before (ties may be broken otherwise); and the least net present cost over every plan of
    the two years (inf: none is feasible)."""
    tiers = model.link_model().tiers
    raw = tomllib.loads(text)
    scs = {k: parse_scenario_dict(year_data(raw, k + 1)) for k in (0, 1)}
    low = {k: floors(raw, k + 1, tiers) for k in (0, 1)}

    def feasible(k: int, d: Levels) -> bool:
        return all(ok(k, d, c) for c in [None, *CASES])

    def design(k: int, d: Levels) -> YearDesign:
        return YearDesign(k + 1, scs[k], {x: tiers[lv] for x, lv in zip(SPANS, d, strict=True)})

    by_year: list[float] = []
    before: list[YearDesign] = []
    prev: Levels | None = None
    for k in (0, 1):
        costs = [
            plan_npc([*before, design(k, d)], model)
            for d in year_vectors(low[k], prev, len(tiers), grouped)
            if feasible(k, d)
        ]
        by_year.append(min(costs, default=math.inf))
        if k >= len(follow):
            break
        before.append(design(k, follow[k]))
        prev = follow[k]
    best = math.inf
    for d1 in year_vectors(low[0], None, len(tiers), grouped):
        if not feasible(0, d1):
            continue
        for d2 in year_vectors(low[1], d1, len(tiers), grouped):
            if feasible(1, d2):
                best = min(best, plan_npc([design(0, d1), design(1, d2)], model))
    return by_year, best


def drawn_ring(seed: int, tmp_path: Path) -> tuple[str, BillModel, list[int], CaseVerdicts, bool]:
    """One drawn ring town: its scenario text, its cost model (written to ``tmp_path``),
    the links' tiers, the verdicts per case and whether the spare spans move as one."""
    rng = random.Random(seed)
    text, costs = ring_town(rng)
    (tmp_path / "c.toml").write_text(costs, encoding="utf-8")
    model = load_bill_model(tmp_path / "c.toml")
    ok = case_verdicts(rng)
    return text, model, model.link_model().tiers, ok, rng.random() < 0.5


def check_ring(seed: int, tmp_path: Path, over_the_years: bool) -> None:
    """One drawn ring town, cost model and set of verdicts: year by year each year's design
    is feasible in every case and has the least net present cost given the year before;
    over the years (when its plans are compared) the plan has the least over every plan."""
    text, model, tiers, ok, grouped = drawn_ring(seed, tmp_path)
    asked: list[tuple[int, str | None]] = []
    res = sized(
        text,
        model,
        n1_judge(ok, tiers, asked),
        one_tier=[SPARE] if grouped else None,
        over_the_years=over_the_years,
        max_designs=400,
    )
    assert {c for _, c in asked} <= {None, *CASES}
    chosen = [tuple(tiers.index(y.rates[x]) for x in SPANS) for y in res.years]
    for k, (y, d) in enumerate(zip(res.years, chosen, strict=True)):
        assert [c["case"] for c in y.cases] == ["normal"] + [f"failure of {x}" for x in CASES]
        assert all(ok(k, d, c) for c in [None, *CASES]) and all(c["ok"] for c in y.cases)
        assert not grouped or d[2] == d[3]
    by_year, best = brute_force(text, model, ok, grouped, chosen)
    if over_the_years and res.plan_search.get("over_the_years"):
        assert res.stopped is None and res.bill is not None
        assert res.bill.npc == pytest.approx(best, rel=1e-9)
        assert res.years[-1].cost == pytest.approx(best, rel=1e-9)
        return
    if over_the_years and res.plan_search.get("complete") and res.plan_search["plans"]:
        assert math.isinf(best)  # every plan compared: none is feasible
    for k, want in enumerate(by_year):
        if math.isinf(want):
            assert res.stopped_year == k + 1 and len(res.years) == k
            return
        y = res.years[k]
        assert y.optimal and y.cost == pytest.approx(want, rel=1e-9)
    assert res.stopped is None and len(res.years) == 2
    # proven optimal every year: each year's bound is its cost
    assert all(e["lower_bound"] == e["cost"] for e in res.cost_bounds()["years"])
    assert res.bill is not None and res.bill.npc == pytest.approx(res.years[-1].cost, rel=1e-9)
    if math.isfinite(best):  # year by year is never cheaper than the best plan
        assert res.bill.npc >= best * (1 - 1e-9)


def check_ring_bounds(seed: int, tmp_path: Path, over_the_years: bool, budget: int) -> None:
    """One drawn ring town under a small budget: what size states it proved of the cost
    (``cost_bounds``) is never above the brute force: each year's lower bound at most the
    least net present cost of the year's feasible designs given the year before, the plan's
    at most the least over every plan; equal to the cost when proven optimal."""
    text, model, tiers, ok, grouped = drawn_ring(seed, tmp_path)
    res = sized(
        text,
        model,
        n1_judge(ok, tiers, []),
        one_tier=[SPARE] if grouped else None,
        over_the_years=over_the_years,
        max_designs=budget,
    )
    chosen = [tuple(tiers.index(y.rates[x]) for x in SPANS) for y in res.years]
    by_year, best = brute_force(text, model, ok, grouped, chosen)
    bounds = res.cost_bounds()
    assert bounds["currency"] == model.currency
    planned = res.plan_search.get("over_the_years")
    for k, (y, e) in enumerate(zip(res.years, bounds["years"], strict=True)):
        assert e["cost"] == y.cost
        if planned:
            assert e["lower_bound"] is None
            continue
        assert e["lower_bound"] <= by_year[k] * (1 + 1e-9)
        if e["optimal"]:
            assert e["lower_bound"] == e["cost"] == pytest.approx(by_year[k], rel=1e-9)
        else:
            assert e["gap"] == pytest.approx(e["cost"] - e["lower_bound"]) and e["gap"] > 0
    plan = bounds["plan"]
    if plan["lower_bound"] is not None:
        assert plan["lower_bound"] <= best * (1 + 1e-9)
    if plan["optimal"]:
        assert plan["lower_bound"] == plan["cost"] == pytest.approx(best, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("over_the_years", [False, True])
@pytest.mark.parametrize("budget", [2, 4])
def test_n_minus_1_cost_bounds_with_the_whole_bill_are_never_above_brute_force(
    seed: int, over_the_years: bool, budget: int, tmp_path: Path
) -> None:
    check_ring_bounds(31000 + seed, tmp_path, over_the_years, budget)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("over_the_years", [False, True])
def test_n_minus_1_with_the_whole_bill_equals_brute_force(
    seed: int, over_the_years: bool, tmp_path: Path
) -> None:
    check_ring(31000 + seed, tmp_path, over_the_years)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4, 120))
@pytest.mark.parametrize("over_the_years", [False, True])
def test_n_minus_1_with_the_whole_bill_equals_brute_force_wide(
    seed: int, over_the_years: bool, tmp_path: Path
) -> None:
    check_ring(31000 + seed, tmp_path, over_the_years)
