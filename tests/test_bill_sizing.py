"""`size` with the whole bill: the search's order, the bill of the sized design, the report,
`size.json` and the cost model's errors through the command line."""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drawn_costs import drawn_costs
from test_sizing_search import designs, fake_verdict, floors, synthetic
from vidnet_sim.analysis.bill import (
    BillModel,
    YearDesign,
    YearPricer,
    load_bill_model,
    nominal_storage,
    plan_npc,
    price_plan,
)
from vidnet_sim.analysis.capacity import Verdict
from vidnet_sim.analysis.search import YearSpace
from vidnet_sim.analysis.sizing import SizingStoppedError, YearSizing, size_network
from vidnet_sim.cli.analysis import size as size_cmd
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_OK
from vidnet_sim.results.storage import mean_storage
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.growth import year_data

M10, M100, G1 = 10**7, 10**8, 10**9

GROW = """
name = "grow"
[simulation]
duration = "1s"  # whole GOPs: the recorded volume is the mean bitrate's
[[nodes]]
id = "agg"
[[nodes]]
id = "core"
[[nodes]]
id = "nvr"
kind = "recorder"
[[links]]
a = "agg"
b = "core"
rate = "10Mbps"
length = "2km"
fibre = "trench"
[[links]]
id = "uplink"
a = "core"
b = "nvr"
rate = "10Mbps"
length = "15km"
fibre = "leased"
[[cameras]]
name = "north"
count = 2
attach = "agg"
bitrate = "4Mbps"
phase = "aligned"
rate_control = "cbr"
destinations = ["nvr"]
retention_days = 14
[sla.video]
packet_latency_max = "30ms"

[[growth]]
year = 2
[[growth.cameras]]
name = "south"
count = 4
attach = "core"
bitrate = "4Mbps"
phase = "aligned"
rate_control = "cbr"
kind = "ptz"
destinations = ["nvr"]
"""

COSTS = """
currency = "EUR"
discount_rate = 0.05
horizon_years = 3
[optics]
"10Mbps" = 1.0
"100Mbps" = { short = 5.0, long = 15.0 }
"1Gbps" = { short = 20.0, long = 60.0 }
[fibre]
trench_per_km = 1000.0
[fibre.rent]
uplink = 500.0
[[switches]]
name = "small"
ports = { "100Mbps" = 8, "1Gbps" = 2 }
poe_budget_w = 130.0
poe_port_w = 30.0
price = 300.0
power_w = 10.0
[recording]
disk_tb = 1.0
price_per_tb = 30.0
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_size_prices_the_whole_bill(tmp_path: Path) -> None:
    f = write(tmp_path / "grow.toml", GROW)
    model = load_bill_model(write(tmp_path / "c.toml", COSTS))
    res = size_network(f, bill=model, replications=2)
    assert res.bill is not None and res.vendor_bill is not None
    # the bill is price_plan of the chosen design with the storage its runs measured
    designs = []
    for y in res.years:
        assert y.scenario is not None
        summaries = [r.summary for r in y.records if r.summary is not None]
        storage = mean_storage(y.scenario, summaries)
        designs.append(YearDesign(y.year, y.scenario, y.rates, storage))
    again = price_plan(designs, model)
    assert res.bill.npc == pytest.approx(again.npc, rel=1e-12)
    years = res.bill.years
    assert list(years["year"]) == [1, 2, 3]  # horizon_years: year 3 runs on
    # year 1: trench 2 km; the leased uplink costs its rent every year
    assert years["fibre"].tolist() == pytest.approx([2000.0, 0.0, 0.0])
    assert years["rent"].tolist() == pytest.approx([500.0, 500.0, 500.0])
    # 2 CBR cameras at 4 Mbit/s kept 14 days: 0.6048 TB in year 1
    rec = res.bill.recorders.set_index("year")
    assert rec.at[1, "tb_retention"] == pytest.approx(2 * 4e6 / 8 * 86_400 * 14 / 1e12, rel=0.005)
    # year 2: four PTZ cameras (30 W each) join at core
    sw = res.bill.switches.set_index(["year", "node"])
    assert sw.at[(2, "core"), "poe_w"] == pytest.approx(120.0)
    assert res.bill.npc == pytest.approx(
        sum(t / 1.05**i for i, t in enumerate(years["total"])), rel=1e-12
    )


def test_the_bill_prices_a_whole_days_recording_not_the_runs_time_of_day(
    tmp_path: Path,
) -> None:
    """The cameras record twice their bitrate by night (19 h to 7 h) and the runs start at
    midnight: the runs record the night's rate. The bill prices a whole day, half of it by
    night: 1.5 times the bitrate, where it once priced the runs' rate all day long (2
    times); the nominal storage the search prices says the same."""
    text = GROW[: GROW.index("[[growth]]")].replace(
        "retention_days = 14",
        "retention_days = 14\nday_night = { night_scale = 2.0 }",
    )
    f = write(tmp_path / "night.toml", text)
    model = load_bill_model(write(tmp_path / "c.toml", COSTS))
    res = size_network(f, bill=model, replications=2, max_extend=1, vendor_check=False)
    assert res.bill is not None
    day = 2 * 4e6 / 8 * 86_400 / 1e12  # TB a day at the bitrate
    year = res.years[0]
    assert year.scenario is not None
    summaries = [r.summary for r in year.records if r.summary is not None]
    measured = mean_storage(year.scenario, summaries)
    assert measured is not None
    assert measured["tb_per_day"].sum() == pytest.approx(2.0 * day, rel=0.005)
    (rec,) = res.bill.recorders.to_dict("records")
    assert rec["tb_per_day"] == pytest.approx(1.5 * day, rel=0.005)
    assert rec["tb_retention"] == pytest.approx(1.5 * day * 14, rel=0.005)
    sc = parse_scenario_dict(tomllib.loads(text))
    assert nominal_storage(sc)["tb_per_day"].sum() == pytest.approx(1.5 * day, rel=1e-12)


def test_size_cli_prints_and_reports_the_bill(tmp_path: Path) -> None:
    f = write(tmp_path / "grow.toml", GROW)
    c = write(tmp_path / "c.toml", COSTS)
    out = tmp_path / "size"
    args = [str(f), "--costs", str(c), "--replications", "2", "--out", str(out), "--no-plot"]
    args += ["--workers", "1"]
    r = CliRunner().invoke(size_cmd, args)
    assert r.exit_code == EXIT_OK, r.output
    assert "whole bill per year (EUR)" in r.output and "net present cost" in r.output
    assert "TB/day" in r.output and "PoE" in r.output
    report = (out / "report.md").read_text()
    for heading in ("## The whole bill", "### Recording storage", "### Switches and PoE"):
        assert heading in report
    # strict JSON (``jq`` and other strict parsers refuse NaN and Infinity): unknown is null
    text = (out / "size.json").read_text()
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"size.json holds {c}"))
    assert doc["net_present_cost"] == pytest.approx(doc["bill"]["net_present_cost"])
    categories = {"fibre", "optics", "switches", "recording", "energy", "maintenance", "rent"}
    assert categories <= set(doc["bill"]["years"][0])
    assert doc["vendor_bill"]["years"]


def test_size_cli_refuses_a_bad_cost_model_before_running(tmp_path: Path) -> None:
    f = write(tmp_path / "grow.toml", GROW)
    out = tmp_path / "size"
    c = write(tmp_path / "c.toml", "[fibre]\ntrench_per_km = -1\nkerb = 2\n")
    r = CliRunner().invoke(size_cmd, [str(f), "--costs", str(c), "--out", str(out)])
    assert r.exit_code == EXIT_INVALID_SCENARIO
    assert "fibre.trench_per_km: got -1" in r.output and "fibre.kerb: unknown key" in r.output
    assert not out.exists()
    # the uplink is leased and this model has no rent: one error, before any run
    c = write(tmp_path / "c.toml", COSTS.replace("[fibre.rent]\nuplink = 500.0\n", ""))
    r = CliRunner().invoke(size_cmd, [str(f), "--costs", str(c), "--out", str(out)])
    assert r.exit_code == EXIT_INVALID_SCENARIO
    assert 'links[1] (id="uplink").fibre: the link is leased' in r.output
    assert not out.exists()


# --------------------------------------------------------------------------- exact search
def random_town(rng: random.Random) -> tuple[str, str, list[str]]:
    """A chain of 2-4 switches ending at a recorder, cameras at random switches (fixed or
    PTZ), more cameras in year 2; a cost model whose switch catalogue makes a node's switch
    depend on its links' rates (a model without fast ports, one without PoE) and whose net
    present cost can fall with a faster tier (long-reach optics in no order; the cheapest
    switch to buy may draw the most, and faster links then force a frugal one), and whose
    short-reach optics of one tier cost as much as the next tier's, or more, half the time
    (a tier the link-only model never buys, which the whole bill may still find cheapest).
    The links before the first switch with cameras carry no video (half the time a data
    source without SLA targets crosses them): no class with an SLA crosses them."""
    k = rng.randint(2, 4)
    nodes = "".join(f'[[nodes]]\nid = "s{i}"\n' for i in range(k))
    nodes += '[[nodes]]\nid = "nvr"\nkind = "recorder"\n'
    ends = [f"s{i}" for i in range(k)] + ["nvr"]
    links = "".join(
        f'[[links]]\na = "{ends[i]}"\nb = "{ends[i + 1]}"\nrate = "100Mbps"\n'
        f'length = "{rng.choice([1, 4, 15])}km"\nfibre = "{rng.choice(["trench", "existing"])}"\n'
        for i in range(k)
    )

    def cameras(table: str, n: int) -> str:
        out = ""
        for j in range(n):
            out += (
                f'[[{table}]]\nname = "{table.replace(".", "-")}{j}"\n'
                f"count = {rng.randint(1, 4)}\n"
                f'attach = "s{rng.randrange(k)}"\nbitrate = "{rng.choice([4, 8, 16])}Mbps"\n'
                f'kind = "{rng.choice(["fixed", "ptz"])}"\ndestinations = ["nvr"]\n'
            )
        return out

    video = cameras("cameras", rng.randint(1, 3))
    data = ""
    if rng.random() < 0.5:  # the links before the first switch with cameras carry data alone
        data = (
            '[[sources]]\nname = "meters"\nkind = "poisson"\nat = "s0"\n'
            f'destinations = ["nvr"]\nrate = "{rng.choice([2, 20])}Mbps"\nsize = "500B"\n'
        )
    scenario = f"""
name = "town"
[simulation]
duration = "1s"
{nodes}{links}{video}{data}
[sla.video]
packet_latency_max = "30ms"

[[growth]]
year = 2
{cameras("growth.cameras", rng.randint(1, 2))}
"""

    costs = drawn_costs(rng, small_fast_ports=1, optional_uplinks=False)
    return scenario, costs, [f"{ends[i]}-{ends[i + 1]}" for i in range(k)]


def assert_size_is_exhaustive(
    f: Path,
    text: str,
    model: BillModel,
    ids: list[str],
    ok_levels: Callable[[int, tuple[int, ...]], bool],
) -> list[YearSizing]:
    """``size_network`` with the whole bill and the verdicts ``ok_levels`` (year index, tier
    vector over every tier the bill prices) finds, year by year, the least plan_npc over
    every feasible design: every tier vector above the floors, every link free to move
    (a link no class with an SLA crosses too: its tier changes the bill), priced by
    price_plan itself. Returns the years sized."""
    tiers = model.link_model().tiers  # every tier, dominated optics included

    def judge(year: int, rates: dict[str, int]) -> Verdict:
        return fake_verdict(ok_levels(year - 1, tuple(tiers.index(rates[k]) for k in ids)))

    try:
        years = size_network(f, bill=model, judge=judge, vendor_check=False).years
        stopped = None
    except SizingStoppedError as exc:
        years, stopped = exc.result.years, str(exc)
    raw = tomllib.loads(text)
    before: list[YearDesign] = []
    prev: list[int | None] = [None] * len(ids)
    for k, year in enumerate((1, 2)):
        sc = parse_scenario_dict(year_data(raw, year))
        space = YearSpace(year, ids, len(tiers), floors(raw, year, tiers), lambda *_: 0.0)

        def npc(levels: tuple[int, ...], sc: Any = sc, year: int = year) -> float:
            rates = {x: tiers[lv] for x, lv in zip(ids, levels, strict=True)}
            return plan_npc([*before, YearDesign(year, sc, rates)], model)

        feas = [(npc(d), d) for d in designs(space, prev) if ok_levels(k, d)]
        if not feas or math.isinf(min(feas)[0]):
            assert len(years) == k and stopped is not None
            break
        y = years[k]
        chosen = tuple(tiers.index(y.rates[x]) for x in ids)
        assert ok_levels(k, chosen) and y.optimal
        assert y.cost == pytest.approx(min(feas)[0], rel=1e-9)
        assert npc(chosen) == pytest.approx(y.cost, rel=1e-9)
        # follow the search's own choice (equal-cost designs may differ)
        before.append(YearDesign(year, sc, y.rates))
        prev = list(chosen)
    else:
        assert stopped is None and len(years) == 2
    return years


DOMINATED = """
currency = "EUR"
discount_rate = 0.05
horizon_years = 3
[optics]
"100Mbps" = 5.0
"1Gbps" = 90.0  # as dear as 10 Gbit/s: never worth its optics alone
"10Gbps" = 90.0
[fibre]
trench_per_km = 1000.0
[fibre.rent]
uplink = 500.0
[[switches]]
name = "gigabit"
ports = { "1Gbps" = 12 }
poe_budget_w = 200.0
poe_port_w = 30.0
price = 300.0
power_w = 10.0
[[switches]]
name = "ten-gigabit"
ports = { "1Gbps" = 12, "10Gbps" = 4 }
poe_budget_w = 200.0
poe_port_w = 30.0
price = 3000.0
power_w = 60.0
[recording]
disk_tb = 1.0
price_per_tb = 30.0
"""


def test_size_with_the_whole_bill_buys_a_tier_with_dominated_optics(tmp_path: Path) -> None:
    """1 Gbit/s optics cost as much as 10 Gbit/s ones, but 1 Gbit/s switch ports are far
    cheaper: when the SLA needs 1 Gbit/s, every link at 1 Gbit/s is the cheapest plan, and
    the search over every tier the bill prices finds it (the link-only model's useful tiers
    would skip 1 Gbit/s and buy 10 Gbit/s). In year 2 the uplink carries 168 Mbit/s on
    average: the 60 % rule, which buys no tier with dominated optics, takes 10 Gbit/s."""
    text = GROW.replace('attach = "core"\nbitrate = "4Mbps"', 'attach = "core"\nbitrate = "40Mbps"')
    assert text != GROW
    f = write(tmp_path / "grow.toml", text)
    model = load_bill_model(write(tmp_path / "c.toml", DOMINATED))
    tiers = model.link_model().tiers
    assert tiers == [M100, G1, 10 * G1] and G1 not in model.link_model().useful_tiers
    ids = ["agg-core", "uplink"]

    def ok_levels(k: int, levels: tuple[int, ...]) -> bool:
        return all(tiers[lv] >= G1 for lv in levels)

    years = assert_size_is_exhaustive(f, text, model, ids, ok_levels)
    assert [y.rates for y in years] == [dict.fromkeys(ids, G1)] * 2
    assert [y.vendor_rates for y in years] == [
        dict.fromkeys(ids, M100),
        {"agg-core": M100, "uplink": 10 * G1},
    ]


SPUR = """
[[nodes]]
id = "depot"
[[links]]
id = "spur"
a = "core"
b = "depot"
rate = "10Mbps"
length = "15km"
fibre = "trench"
[[sources]]
name = "meters"
kind = "cbr"
at = "depot"
destinations = ["nvr"]
class = "data"
rate = "2Mbps"
size = "500B"
"""

LONG_REACH = """
currency = "EUR"
discount_rate = 0.05
horizon_years = 3
[optics]
"100Mbps" = { short = 5.0, long = 500.0 }  # long reach dearer than the next tier's
"1Gbps" = { short = 20.0, long = 60.0 }
[fibre]
trench_per_km = 1000.0
[fibre.rent]
uplink = 500.0
[[switches]]
name = "any"
ports = { "1Gbps" = 16 }
poe_budget_w = 400.0
poe_port_w = 30.0
price = 300.0
power_w = 10.0
[recording]
disk_tb = 1.0
price_per_tb = 30.0
"""


@pytest.mark.parametrize(
    ("uplink_km", "uplink", "why"),
    [
        # the uplink rises too: the design one tier lower on the spur costs more unjudged
        (15, G1, "costs at least as much (not judged)"),
        # the uplink stays: that design is the floor, judged first, feasible but dearer
        (2, M100, "meets every SLA but costs more"),
    ],
)
def test_size_with_the_whole_bill_moves_a_link_no_sla_class_crosses(
    uplink_km: int, uplink: int, why: str, tmp_path: Path
) -> None:
    """The spur carries only meter data (class ``data``, no SLA): its mean load needs
    100 Mbit/s, but 15 km needs long-reach optics, dearer at 100 Mbit/s than at 1 Gbit/s.
    With the whole bill the spur is not held at its floor: the cheapest plan buys it at
    1 Gbit/s, as exhaustive enumeration over every link and tier finds; the report says the
    slower tier costs more (no SLA forced it)."""
    text = GROW.replace("[sla.video]", SPUR + "[sla.video]")
    text = text.replace(
        'length = "15km"\nfibre = "leased"', f'length = "{uplink_km}km"\nfibre = "leased"'
    )
    assert 'id = "uplink"' in text and f'"{uplink_km}km"\nfibre = "leased"' in text
    f = write(tmp_path / "grow.toml", text)
    model = load_bill_model(write(tmp_path / "c.toml", LONG_REACH))
    tiers = model.link_model().tiers
    assert tiers == [M100, G1]
    ids = ["agg-core", "uplink", "spur"]

    years = assert_size_is_exhaustive(f, text, model, ids, lambda k, levels: True)
    assert [y.rates["spur"] for y in years] == [G1, G1]
    assert [y.rates["uplink"] for y in years] == [uplink, uplink]
    assert years[0].floor_rates["spur"] == M100
    reason = years[0].reasons["spur"]
    assert reason["reason"] == "cost" and why in reason["text"]


def test_a_design_the_catalogue_cannot_build_is_never_judged_nor_returned(
    tmp_path: Path,
) -> None:
    """The catalogue's only switch has 100 Mbit/s ports: no node can end a 1 Gbit/s link.
    Verdicts feasible only with agg-core at 1 Gbit/s: no design the cost model can build
    meets the SLA. The sizing stops in year 1 saying so (the class, the largest tier tried
    on each link, why faster cannot be built) and judges no design it cannot build; it once
    returned the 1 Gbit/s design, which the bill then refused with a pricing error."""
    f = write(tmp_path / "grow.toml", GROW)
    costs = COSTS.replace('ports = { "100Mbps" = 8, "1Gbps" = 2 }', 'ports = { "100Mbps" = 10 }')
    model = load_bill_model(write(tmp_path / "c.toml", costs))
    judged: list[dict[str, int]] = []

    def judge(year: int, rates: dict[str, int]) -> Verdict:
        judged.append(dict(rates))
        return fake_verdict(rates["agg-core"] == G1)

    with pytest.raises(SizingStoppedError) as err:
        size_network(f, bill=model, judge=judge, vendor_check=False)
    assert err.value.kind == "infeasible" and err.value.result.years == []
    msg = str(err.value)
    assert msg.startswith("the SLA cannot be met in year 1 with what the cost model can build")
    assert "data largest packet latency" in msg  # the stub's class and metric
    assert "agg-core at 100 Mbit/s, uplink at 100 Mbit/s: the largest tiers tried" in msg
    assert "node 'agg': no stack of up to 16" in msg
    assert judged and all(G1 not in r.values() for r in judged)
    # a feasible design it can build is found as before
    res = size_network(
        f, bill=model, judge=lambda y, r: fake_verdict(r["agg-core"] == M100), vendor_check=False
    )
    assert [y.rates["agg-core"] for y in res.years] == [M100, M100] and res.bill is not None
    assert res.vendor_bill is not None and res.vendor_error is None
    # 100 Mbit/s optics dearer than 1 Gbit/s ones: the 60 % rule buys 1 Gbit/s, which the
    # catalogue cannot build: the sizing still ends, the rule's bill missing and said so
    # (the rule's bill once stopped it with the pricing error after every run)
    dear = costs.replace("short = 5.0, long = 15.0", "short = 25.0, long = 75.0")
    model = load_bill_model(write(tmp_path / "c.toml", dear))
    res = size_network(
        f, bill=model, judge=lambda y, r: fake_verdict(r["agg-core"] == M100), vendor_check=False
    )
    assert res.years[0].vendor_rates["agg-core"] == G1
    assert res.bill is not None and res.vendor_bill is None
    assert [w for w in res.warnings if "60 % rule" in w] == [
        "the cost model cannot build the 60 % rule's design: node 'agg': no stack of up to 16 "
        "identical switches of the cost model's catalogue gives its 3 ports (30.8 W of PoE); "
        "add a larger switch to [[switches]]"
    ]


@pytest.mark.parametrize("seed", range(25))
def test_size_with_the_whole_bill_equals_exhaustive_enumeration(seed: int, tmp_path: Path) -> None:
    """The search ordered by the whole bill's net present cost (its per-link and per-node
    bound, no enumeration) finds, year by year, the least plan_npc over every feasible
    design over every tier (optics of a slower tier may cost as much as a faster one's)."""
    rng = random.Random(5000 + seed)
    text, costs, ids = random_town(rng)
    f = write(tmp_path / "town.toml", text)
    model = load_bill_model(write(tmp_path / "c.toml", costs))
    assert_size_is_exhaustive(f, text, model, ids, synthetic(rng))


@pytest.mark.parametrize("seed", range(10))
def test_size_with_a_catalogue_short_of_fast_ports_equals_exhaustive_enumeration(
    seed: int, tmp_path: Path
) -> None:
    """The random towns with a catalogue whose switches have no 10 Gbit/s port, while the
    optics price 10 Gbit/s: a design with a 10 Gbit/s link ending at a switch cannot be
    built (infinite net present cost). The search finds the least plan_npc over the
    designs that can be built and are feasible, or stops when none is (it once returned a
    design that cannot be built when nothing cheaper was feasible)."""
    rng = random.Random(9000 + seed)
    text, costs, ids = random_town(rng)
    costs = re.sub(r', "10Gbps" = \d+', "", costs)
    costs = costs.replace('ports = { "10Gbps" = 8 }', 'ports = { "1Gbps" = 8 }')
    assert '"10Gbps" = {' in costs and 'ports = { "10Gbps"' not in costs
    f = write(tmp_path / "town.toml", text)
    model = load_bill_model(write(tmp_path / "c.toml", costs))
    assert_size_is_exhaustive(f, text, model, ids, synthetic(rng))


@pytest.mark.kernel_free
@pytest.mark.parametrize("seed", range(25))
def test_the_year_pricer_is_plan_npc_and_its_bound_is_sound(seed: int, tmp_path: Path) -> None:
    """YearPricer.npc equals plan_npc on random designs, and npc_bound of a design's
    up-set is at most the least plan_npc over the up-set (brute force)."""
    rng = random.Random(7000 + seed)
    text, costs, ids = random_town(rng)
    model = load_bill_model(write(tmp_path / "c.toml", costs))
    tiers = model.link_model().tiers
    raw = tomllib.loads(text)
    before: list[YearDesign] = []
    for year in (1, 2):
        sc = parse_scenario_dict(year_data(raw, year))
        pricer = YearPricer(before, year, sc, model)
        every = list(itertools.product(range(len(tiers)), repeat=len(ids)))
        npc = {}
        for d in every:
            rates = {x: tiers[lv] for x, lv in zip(ids, d, strict=True)}
            npc[d] = plan_npc([*before, YearDesign(year, sc, rates)], model)
            assert pricer.npc(rates) == pytest.approx(npc[d], rel=1e-12)
        for d in rng.sample(every, min(len(every), 12)):
            up = [e for e in every if all(a >= b for a, b in zip(e, d, strict=True))]
            lower = pricer.npc_bound({x: tiers[lv:] for x, lv in zip(ids, d, strict=True)})
            assert lower <= min(npc[e] for e in up) * (1 + 1e-12)
        before.append(YearDesign(year, sc, {x: tiers[rng.randrange(len(tiers))] for x in ids}))


@pytest.mark.kernel_free
@pytest.mark.parametrize("seed", range(10))
def test_the_year_pricer_gives_the_same_bits_whatever_it_priced_before(
    seed: int, tmp_path: Path
) -> None:
    """YearPricer reprices only the links that differ from the design it priced last (and
    their nodes): over a random walk of designs (one link moved, several, links left out
    of the map, a design asked twice), npc and npc_bound equal, bit for bit, those of a
    pricer that priced nothing before (the search breaks ties between equal costs); so do
    npc_moved and npc_bound_moved, the design priced from another one (random, kept or
    not among the pricer's bases)."""
    rng = random.Random(8000 + seed)
    text, costs, ids = random_town(rng)
    model = load_bill_model(write(tmp_path / "c.toml", costs))
    tiers = model.link_model().tiers
    sc = parse_scenario_dict(year_data(tomllib.loads(text), 1))
    pricer = YearPricer([], 1, sc, model)
    d = [rng.randrange(len(tiers)) for _ in ids]
    base = tuple(d)
    for _ in range(40):
        for _ in range(rng.choice([0, 1, 1, 2, len(ids)])):
            d[rng.randrange(len(ids))] = rng.randrange(len(tiers))
        given = [k for k in range(len(ids)) if rng.random() < 0.9]
        rates = {ids[k]: tiers[d[k]] for k in given}
        choices = {ids[k]: tiers[d[k] :] for k in given}
        fresh = YearPricer([], 1, sc, model)
        assert pricer.npc(rates) == fresh.npc(rates)
        assert pricer.npc_bound(choices) == fresh.npc_bound(choices)
        # priced from another design (a base kept, or not): the same bits again
        if rng.random() < 0.5:
            base = tuple(rng.randrange(len(tiers)) for _ in ids)
        moved = [k for k in range(len(ids)) if d[k] != base[k] or rng.random() < 0.2]
        at, up = base_maps(ids, tiers, base)
        assert pricer.npc_moved(base, at, {ids[k]: tiers[d[k]] for k in moved}) == fresh.npc(
            {x: tiers[d[k]] for k, x in enumerate(ids)}
        )
        assert pricer.npc_bound_moved(
            base, up, {ids[k]: tiers[d[k] :] for k in moved}
        ) == fresh.npc_bound({x: tiers[d[k] :] for k, x in enumerate(ids)})


def base_maps(
    ids: list[str], tiers: list[int], base: tuple[int, ...]
) -> tuple[Callable[[], dict[str, int]], Callable[[], dict[str, list[int]]]]:
    """The rates of design ``base`` and the rates at or above them, as the pricer's moves
    ask for them."""
    return (
        lambda: {x: tiers[lv] for x, lv in zip(ids, base, strict=True)},
        lambda: {x: tiers[lv:] for x, lv in zip(ids, base, strict=True)},
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_size_over_the_years_with_random_bills_is_the_least_npc_of_every_plan(
    seed: int, tmp_path: Path
) -> None:
    """The random towns and cost models, over the two years: ``size --over-the-years``
    finds the least plan_npc over every plan (every tier vector of each year above its
    floors and the year before, feasible every year; brute force), or stops when no plan
    is feasible; year by year (more plans than it compares), each year's design is the
    least plan_npc given the year before. The bill it reports has the net present cost the
    search minimised (the last year's cost): what the council is told is what was
    optimised."""
    rng = random.Random(11000 + seed)
    text, costs, ids = random_town(rng)
    f = write(tmp_path / "town.toml", text)
    model = load_bill_model(write(tmp_path / "c.toml", costs))
    tiers = model.link_model().tiers
    ok_levels = synthetic(rng)
    raw = tomllib.loads(text)
    scs = {y: parse_scenario_dict(year_data(raw, y)) for y in (1, 2)}
    low = {y: floors(raw, y, tiers) for y in (1, 2)}

    def rates(levels: tuple[int, ...]) -> dict[str, int]:
        return {x: tiers[lv] for x, lv in zip(ids, levels, strict=True)}

    def judge(year: int, r: dict[str, int]) -> Verdict:
        return fake_verdict(ok_levels(year - 1, tuple(tiers.index(r[k]) for k in ids)))

    try:
        res = size_network(  # a budget for every design of both years (at most 2 × 81)
            f, bill=model, judge=judge, vendor_check=False, over_the_years=True, max_designs=200
        )
    except SizingStoppedError as exc:
        res = exc.result
    search = res.plan_search
    if search["plans"] is None:  # more plans than size compares: sized year by year
        assert len(ids) > 2 and not search["over_the_years"]
        assert_size_is_exhaustive(f, text, model, ids, ok_levels)
        return
    every = list(itertools.product(range(len(tiers)), repeat=len(ids)))
    firsts = [d for d in every if min(a - b for a, b in zip(d, low[1], strict=True)) >= 0]
    best, plans = math.inf, 0
    for d1 in firsts:
        for d2 in every:
            if any(b < max(a, fl) for a, b, fl in zip(d1, d2, low[2], strict=True)):
                continue
            plans += 1
            if ok_levels(0, d1) and ok_levels(1, d2):
                years = [YearDesign(1, scs[1], rates(d1)), YearDesign(2, scs[2], rates(d2))]
                best = min(best, plan_npc(years, model))
    assert search["plans"] == plans
    if math.isinf(best):
        assert res.stopped is not None and len(res.years) < 2
        return
    assert search["over_the_years"] and res.stopped is None and res.bill is not None
    assert res.bill.npc == pytest.approx(best, rel=1e-9)
    assert res.years[-1].cost == pytest.approx(res.bill.npc, rel=1e-9)
    chosen = [tuple(tiers.index(y.rates[x]) for x in ids) for y in res.years]
    assert all(ok_levels(k, d) for k, d in enumerate(chosen))
