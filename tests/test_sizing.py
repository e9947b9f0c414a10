"""Costed sizing over a growth plan (vidnet_sim.analysis.sizing) and its report."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from vidnet_sim.analysis.cost import CostModel, load_cost_model
from vidnet_sim.analysis.sizing import SizingStoppedError, size_network
from vidnet_sim.analysis.vary import AnalysisInputError
from vidnet_sim.cli.analysis import size as size_cmd
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_OK
from vidnet_sim.network.plan import service_time_ps
from vidnet_sim.runner import run
from vidnet_sim.scenario import parse_scenario_dict

MS = 10**9
M10, M100, G1 = 10**7, 10**8, 10**9


def max_latency_ps(raw: dict, rates: dict[str, int], cls: str) -> float:
    """The simulated maximum packet latency of ``cls`` with the links at ``rates``."""
    d = copy.deepcopy(raw)
    for link in d["links"]:
        link["rate"] = f"{rates[link.get('id') or link['a'] + '-' + link['b']]}bps"
    s = run(parse_scenario_dict(d), write=False).tables.summary
    return float(s[(s["level"] == "class") & (s["name"] == cls)]["latency_max_ps"].iloc[0])


# --------------------------------------------------------------------------- two designs
# Packets of x (class data) cross a-b then b-c; y adds 20 Mbit/s on b-c only. Every packet
# is 1172 B + 78 B of headers = 1250 B = 10 000 bits on the wire: 1 ms at 10 Mbit/s, 0.1 ms
# at 100 Mbit/s, 0.01 ms at 1 Gbit/s. x sends one packet per 2 ms (never queues behind
# itself), so its latency is the two transmission times plus at most one y packet ahead of
# it at b-c. Against the 1.05 ms target:
#   (10M, 100M):  1 + 0.1 (+ a y packet)   = 1.1 ms or more    fails  cost 2×1 + 2×10 = 22
#   (10M, 1G):    1 + 0.01 (+ ≤ 0.01)      ≤ 1.02 ms           meets  cost 2×1 + 2×12 = 26
#   (100M, 100M): 0.1 + 0.1 (+ ≤ 0.1)      ≤ 0.3 ms            meets  cost 2×10 + 2×10 = 40
# b-c cannot be 10M (y alone is 20 Mbit/s). The cheaper feasible design is (10M, 1G); the
# busiest link is a-b (50 % against 20 %), so upgrading the busiest link first, as a greedy
# search does, ends at (100M, 100M) instead.
TWO = """
name = "two"
[simulation]
duration = "200ms"
[[nodes]]
id = "a"
[[nodes]]
id = "b"
[[nodes]]
id = "c"
[[links]]
a = "a"
b = "b"
rate = "10Mbps"
[[links]]
a = "b"
b = "c"
rate = "10Mbps"
[[sources]]
name = "x"
kind = "cbr"
at = "a"
destinations = ["c"]
size = "1172B"
interval = "2ms"
[[sources]]
name = "y"
kind = "cbr"
at = "b"
destinations = ["c"]
size = "1172B"
rate = "20Mbps"
class = "bulk"
[sla.data]
packet_latency_max = "1.05ms"
"""

TWO_COSTS = """
port = 0.0
[optics]
"10Mbps" = 1.0
"100Mbps" = 10.0
"1Gbps" = 12.0
"""


def test_sizing_picks_the_cheaper_of_two_feasible_designs(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "two.toml", TWO)
    model = load_cost_model(write_text(tmp_path / "c.toml", TWO_COSTS))
    res = size_network(f, model, replications=2)
    (year,) = res.years
    assert year.rates == {"a-b": M10, "b-c": G1}
    assert res.total_capex == 26.0 and year.optimal and not res.partial
    # the oracle: both designs meet the SLA in simulation, their costs are as by hand, and
    # the design below them fails
    raw = tomllib.loads(TWO)
    s = service_time_ps(1250, M10)
    assert s == 1 * MS
    assert max_latency_ps(raw, {"a-b": M10, "b-c": G1}, "data") <= 1.05 * MS
    assert max_latency_ps(raw, {"a-b": M100, "b-c": M100}, "data") <= 1.05 * MS
    assert max_latency_ps(raw, {"a-b": M10, "b-c": M100}, "data") > 1.05 * MS
    assert 2 * (model.optics[M10] + model.optics[G1]) == 26.0
    assert 2 * (model.optics[M100] + model.optics[M100]) == 40.0
    # the 60 % rule buys (10M, 100M) — b-c carries 25 Mbit/s — which misses the SLA
    assert year.vendor_rates == {"a-b": M10, "b-c": M100}
    assert year.vendor_verdict is not None and not year.vendor_verdict.ok
    # with the search cut short, the greedy fallback upgrades the busiest link: dearer
    greedy = size_network(f, model, replications=2, max_designs=2)
    assert greedy.years[0].rates == {"a-b": M100, "b-c": M100}
    assert greedy.total_capex == 40.0 and not greedy.years[0].optimal


# --------------------------------------------------------------------------- infeasible
PROP = """
name = "prop"
[simulation]
duration = "100ms"
[[nodes]]
id = "a"
[[nodes]]
id = "b"
[[links]]
id = "long-haul"
a = "a"
b = "b"
rate = "10Mbps"
delay = "1ms"
[[sources]]
name = "x"
kind = "cbr"
at = "a"
destinations = ["b"]
size = "500B"
interval = "1ms"
[sla.data]
packet_latency_max = "0.5ms"
"""


def test_an_sla_below_the_propagation_delay_is_rejected(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "prop.toml", PROP)
    with pytest.raises(SizingStoppedError) as info:
        size_network(f, CostModel(), replications=2)
    exc = info.value
    assert exc.kind == "infeasible" and exc.result.years == [] and exc.result.partial
    msg = str(exc)
    assert "cannot be met at any tier in year 1" in msg
    assert "class 'data' latency_max_ps" in msg
    assert "propagation delay of its longest path (link long-haul) is 1 ms" in msg
    out = tmp_path / "o"
    r = CliRunner().invoke(size_cmd, [str(f), "--replications", "2", "--out", str(out)])
    assert r.exit_code == EXIT_INVALID_SCENARIO and "Traceback" not in r.output
    assert "PARTIAL" in r.output and "long-haul" in r.output
    assert "**PARTIAL** — sized: no year" in (out / "report.md").read_text()


def test_a_year_that_cannot_be_met_keeps_the_years_before_as_partial(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    far = (
        PROP.replace('delay = "1ms"', 'delay = "10us"')
        + """
[[growth]]
year = 2
[[growth.nodes]]
id = "far"
[[growth.links]]
a = "far"
b = "b"
rate = "10Mbps"
length = "200km"
[[growth.sources]]
name = "z"
kind = "cbr"
at = "far"
destinations = ["b"]
size = "500B"
interval = "1ms"
"""
    )
    f = write_text(tmp_path / "far.toml", far)
    out = tmp_path / "o"
    r = CliRunner().invoke(size_cmd, [str(f), "--replications", "2", "--out", str(out)])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    assert "cannot be met at any tier in year 2" in r.output
    assert "(link far-b) is 0.98 ms" in r.output  # 200 km at 4.9 us/km
    sched = pd.read_parquet(out / "size.parquet")
    assert set(sched["year"]) == {1} and sched["partial"].all()
    report = (out / "report.md").read_text()
    assert "**PARTIAL** — sized: year 1 of the plan's 1–2" in report
    assert json.loads((out / "size.json").read_text())["stopped_year"] == 2


def test_a_load_above_the_fastest_tier_names_the_link(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "two.toml", TWO)
    only_10m = write_text(tmp_path / "c.toml", 'port = 0.0\n[optics]\n"10Mbps" = 1.0\n')
    with pytest.raises(
        SizingStoppedError,
        match=r"link b-c carries 25 Mbit/s on average"
        r".*fastest tier of the cost table \(10 Mbit/s\); add a faster tier",
    ):
        size_network(f, load_cost_model(only_10m), replications=2)


def test_bad_options_and_cost_tables(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "two.toml", TWO)
    with pytest.raises(AnalysisInputError, match="--max-replications"):
        size_network(f, replications=3, max_replications=2)
    with pytest.raises(AnalysisInputError, match="no SLA targets"):
        size_network(write_text(tmp_path / "n.toml", TWO.split("[sla.data]")[0]))
    with pytest.raises(AnalysisInputError, match="unknown key"):
        load_cost_model(write_text(tmp_path / "c.toml", "optic = 1\n"))
    with pytest.raises(AnalysisInputError, match=r"optics\.10Gbps: got -1, expected a cost"):
        load_cost_model(write_text(tmp_path / "c.toml", '[optics]\n"10Gbps" = -1\n'))
    with pytest.raises(AnalysisInputError, match=r"optics\.10gbps: .*did you mean 'Gbps'"):
        load_cost_model(write_text(tmp_path / "c.toml", '[optics]\n"10gbps" = 1\n'))
    # a tier no cheaper than a faster one is never worth buying
    model = CostModel(optics={M10: 5.0, M100: 4.0, G1: 9.0})
    assert model.useful_tiers == [M100, G1]


# --------------------------------------------------------------------------- growth
# Aligned CBR cameras (deterministic): I-frames of every camera leave together, so the
# worst packet waits for the whole burst. At 4 Mbit/s, 25 fps, one I-frame a second ten
# times a P-frame, an I-frame is about 147 kB: a burst of n cameras takes n × 11.8 ms at
# 100 Mbit/s and n × 1.18 ms at 1 Gbit/s, against a 30 ms target.
#   year 1: 2 cameras at agg         agg-core 100M, core-cc 100M (2 × 11.8 = 23.5 ms)
#   year 2: + 4 at core              core-cc → 1G (6 × 11.8 = 71 ms at 100M)
#   year 3: every group × 2          agg-core → 1G (4 × 11.8 = 47 ms at 100M)
GROW = """
name = "grow"
[simulation]
duration = "300ms"
[[nodes]]
id = "agg"
[[nodes]]
id = "core"
[[nodes]]
id = "cc"
[[links]]
a = "agg"
b = "core"
rate = "10Mbps"
length = "2km"
[[links]]
a = "core"
b = "cc"
rate = "10Mbps"
delay = "49us"
[[cameras]]
name = "north"
count = 2
attach = "agg"
bitrate = "4Mbps"
phase = "aligned"
rate_control = "cbr"
destinations = ["cc"]
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
destinations = ["cc"]

[[growth]]
year = 3
scale_cameras = 2
"""

COSTS = """
fibre_per_km = 100.0
port = 0.0
new_fibre = true
[optics]
"10Mbps" = 1.0
"100Mbps" = 5.0
"1Gbps" = 20.0
"""


def test_upgrades_are_scheduled_monotone_and_costed_per_year(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "grow.toml", GROW)
    model = load_cost_model(write_text(tmp_path / "c.toml", COSTS))
    res = size_network(f, model, replications=2)
    rates = {y.year: y.rates for y in res.years}
    assert rates == {
        1: {"agg-core": M100, "core-cc": M100},
        2: {"agg-core": M100, "core-cc": G1},
        3: {"agg-core": G1, "core-cc": G1},
    }
    sched = res.schedule().set_index(["year", "link"])
    for link in ("agg-core", "core-cc"):  # never down a tier
        r = [rates[y][link] for y in (1, 2, 3)]
        assert r == sorted(r)
    # year 1 builds both links (optics at both ends and new fibre: 2 km and 49 us / 4.9
    # us/km = 10 km at 100 per km); later years pay the new optics of the upgraded link
    assert [y.capex for y in res.years] == [2 * 5 + 200 + 2 * 5 + 1000, 2 * 20, 2 * 20]
    assert res.total_capex == 1300.0
    assert (
        bool(sched.loc[(2, "core-cc"), "upgraded"]) and sched.loc[(2, "core-cc"), "capex"] == 40.0
    )
    assert not bool(sched.loc[(2, "agg-core"), "upgraded"])
    assert bool(sched.loc[(1, "agg-core"), "built"])
    # the oracle: one tier down on the link upgraded in each year breaks the SLA then
    raw = tomllib.loads(GROW)
    from vidnet_sim.scenario.growth import year_data

    for year, link in ((2, "core-cc"), (3, "agg-core")):
        down = {**rates[year], link: M100}
        assert max_latency_ps(year_data(raw, year), down, "video") > 30 * MS
        assert max_latency_ps(year_data(raw, year), rates[year], "video") <= 30 * MS
    # the 60 % rule never sees a reason for 1 Gbit/s here: it misses the SLA in years 2, 3
    assert [y.vendor_verdict.ok for y in res.years if y.vendor_verdict] == [True, False, False]
    assert res.year_table()["vendor_capex"].tolist() == [1220.0, 0.0, 0.0]


def test_size_cli_writes_the_report_and_reuses_runs(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "grow.toml", GROW)
    c = write_text(tmp_path / "c.toml", COSTS)
    out = tmp_path / "size"
    args = [str(f), "--costs", str(c), "--replications", "2", "--out", str(out)]
    r = CliRunner().invoke(size_cmd, args)
    assert r.exit_code == EXIT_OK, r.output
    assert "1,300 USD" in r.output and "→ 1G" in r.output
    for name in (
        "size.parquet",
        "size_years.parquet",
        "size_margins.parquet",
        "size_trials.parquet",
        "size.json",
        "size.png",
        "report.md",
    ):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text()
    assert "PARTIAL" not in report
    for heading in (
        "## Scenario",
        "## Investment per year",
        "## Upgrade schedule per link",
        "## SLA margins achieved",
        "## Simulation beside the estimates",
        "## Latency over the years",
        "## Method and assumptions",
    ):
        assert heading in report
    assert "| core-cc | 10 km | **100M** (built) | **→ 1G** | 1G | 1,050 USD |" in report
    assert "**Total CAPEX, years 1–3: 1,300 USD**" in report
    years = pd.read_parquet(out / "size_years.parquet")
    assert years["cumulative_capex"].tolist() == [1220.0, 1260.0, 1300.0]
    margins = pd.read_parquet(out / "size_margins.parquet")
    assert (margins["margin"] >= 0).all() and set(margins["year"]) == {1, 2, 3}
    r2 = CliRunner().invoke(size_cmd, [*args, "--json"])
    assert r2.exit_code == EXIT_OK
    doc = json.loads(r2.output)
    assert doc["total_capex"] == 1300.0 and not doc["partial"]
    r3 = CliRunner().invoke(size_cmd, args)
    n_runs = len(list((out / "runs").glob("*.summary.parquet")))
    assert f"{n_runs} runs reused" in r3.output


@pytest.mark.slow
def test_the_example_growth_scenario_sizes(tmp_path: Path) -> None:
    f = Path(__file__).parent.parent / "scenarios" / "small-town-growth.toml"
    res = size_network(f, replications=2, duration_ps=2 * 10**12, cache_dir=tmp_path)
    assert [y.year for y in res.years] == [1, 2, 3, 4] and not res.partial
    for y0, y1 in zip(res.years, res.years[1:], strict=False):
        assert all(y1.rates[k] >= v for k, v in y0.rates.items())
    assert res.years[-1].verdict.ok
