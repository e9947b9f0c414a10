"""Costed sizing over a growth plan (vidnet_sim.analysis.sizing) and its report."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from vidnet_sim.analysis.cost import CostModel, load_cost_model
from vidnet_sim.analysis.explain import years_label
from vidnet_sim.analysis.sizing import SizingResult, SizingStoppedError, size_network
from vidnet_sim.analysis.vary import AnalysisInputError
from vidnet_sim.analysis.verdict import _Context, _failure_cases
from vidnet_sim.cli.analysis import size as size_cmd
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_OK
from vidnet_sim.network.links import DEFAULT_BUFFER_BYTES
from vidnet_sim.network.plan import service_time_ps
from vidnet_sim.reference import stats_differences
from vidnet_sim.runner import run
from vidnet_sim.scenario import Scenario, parse_scenario_dict
from vidnet_sim.scenario.growth import year_data

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
latency_max = "1.05ms"
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
    # with the search cut short after the floor and the fastest design, the local
    # improvement from the fastest design still finds it, and no design left unjudged is
    # cheaper (the lower bound is its cost): proven optimal, not the busiest-link upgrade
    short = size_network(f, model, replications=2, max_designs=2)
    assert short.years[0].rates == {"a-b": M10, "b-c": G1}
    assert short.years[0].optimal and short.years[0].lower_bound == 26.0
    notes = [t.note for t in short.years[0].trials]
    assert notes[:2] == ["lower bound", "fastest tiers"] and "local improvement" in notes


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
latency_max = "0.5ms"
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
    assert "class 'data' largest packet latency has a target of 0.5 ms" in msg
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


# The far source z crosses far-b (200 km: 0.98 ms of propagation) but starts after the
# 100 ms run has ended: no packet of it is measured, so the 0.5 ms target of class data
# bounds only x's packets (10 us of propagation on long-haul).
LATE = """name = "late"
[simulation]
duration = "100ms"
[[nodes]]
id = "a"
[[nodes]]
id = "b"
[[nodes]]
id = "far"
[[links]]
id = "long-haul"
a = "a"
b = "b"
rate = "10Mbps"
delay = "10us"
[[links]]
id = "far-b"
a = "far"
b = "b"
rate = "10Mbps"
length = "200km"
[[sources]]
name = "x"
kind = "cbr"
at = "a"
destinations = ["b"]
size = "500B"
interval = "1ms"
[[sources]]
name = "z"
kind = "cbr"
at = "far"
destinations = ["b"]
size = "500B"
interval = "1ms"
start = "1s"
[sla.data]
latency_max = "0.5ms"
"""


def _z_sent(raw: dict[str, Any]) -> int:
    """Packets source z sent in a run of ``raw`` after the warm-up."""
    s = run(parse_scenario_dict(copy.deepcopy(raw)), write=False).tables.summary
    return int(s.loc[(s["level"] == "group") & (s["name"] == "z"), "packets_sent"].sum())


def _late(start: str = "1s", *events: tuple[str, str], more: str = "") -> str:
    """LATE with z starting at ``start`` (and ``more`` of its keys), ``events`` (kind, at)
    on z."""
    text = LATE.replace('start = "1s"', f'start = "{start}"\n{more}')
    for kind, at in events:
        text += f'[[events]]\nkind = "{kind}"\ntargets = ["z"]\nat = "{at}"\n'
    return text


def test_the_propagation_bound_counts_only_flows_that_send_measured_packets(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    one_tier = CostModel(optics={G1: 10.0})
    # z sends nothing measured: it starts after the run's end (a start event before its own
    # start does not start it early), a stop event at its start switches it off (the
    # timeline's order at a tie), or it sends only during the warm-up. Sized, and the
    # design meets the target in simulation (old code: stopped on far-b's propagation).
    silent = [
        _late(),
        _late("1s", ("start", "20ms")),
        _late("0ms", ("stop", "0ms")),
        _late("0ms", more='stop = "20ms"').replace(
            'duration = "100ms"', 'duration = "100ms"\nwarmup = "30ms"'
        ),
    ]
    for k, text in enumerate(silent):
        f = write_text(tmp_path / f"s{k}.toml", text)
        (year,) = size_network(f, one_tier, replications=2).years
        raw = tomllib.loads(text)
        assert year.verdict.ok and _z_sent(raw) == 0, text
        assert max_latency_ps(raw, year.rates, "data") <= 0.5 * MS
    # z sends measured packets: its path bounds the class, and the simulated maximum is
    # indeed above the target even at 100 Gbit/s
    for k, text in enumerate([_late("20ms"), _late("0ms", ("stop", "0ms"), ("start", "50ms"))]):
        raw = tomllib.loads(text)
        assert max_latency_ps(raw, {"long-haul": 10**11, "far-b": 10**11}, "data") > 0.98 * MS
        with pytest.raises(SizingStoppedError, match=r"longest path \(link far-b\) is 0.98 ms"):
            size_network(write_text(tmp_path / f"m{k}.toml", text), one_tier)


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
latency_max = "30ms"

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
    for year, link in ((2, "core-cc"), (3, "agg-core")):
        down = {**rates[year], link: M100}
        assert max_latency_ps(year_data(raw, year), down, "video") > 30 * MS
        assert max_latency_ps(year_data(raw, year), rates[year], "video") <= 30 * MS
    # the 60 % rule never sees a reason for 1 Gbit/s here: it misses the SLA in years 2, 3
    assert [y.vendor_verdict.ok for y in res.years if y.vendor_verdict] == [True, False, False]
    assert res.year_table()["vendor_capex"].tolist() == [1220.0, 0.0, 0.0]


@pytest.mark.long
def test_size_cli_writes_the_report_and_reuses_runs(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "grow.toml", GROW)
    c = write_text(tmp_path / "c.toml", COSTS)
    out = tmp_path / "size"
    args = [str(f), "--costs", str(c), "--replications", "2", "--out", str(out), "--workers", "1"]
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
    # the per-year amounts are the links' (the whole bill's CAPEX adds switches, recording)
    assert "| year | cameras | links built / upgraded | links CAPEX | links, cumulative |" in report
    years = pd.read_parquet(out / "size_years.parquet")
    assert years["cumulative_capex"].tolist() == [1220.0, 1260.0, 1300.0]
    margins = pd.read_parquet(out / "size_margins.parquet")
    assert (margins["margin"] >= 0).all() and set(margins["year"]) == {1, 2, 3}
    r2 = CliRunner().invoke(size_cmd, [*args, "--json"])
    assert r2.exit_code == EXIT_OK
    doc = json.loads(r2.stdout)  # (its warnings on stderr)
    assert doc["total_capex"] == 1300.0 and not doc["partial"]
    r3 = CliRunner().invoke(size_cmd, args)
    n_runs = len(list((out / "runs").glob("*.summary.parquet")))
    assert f"{n_runs} runs reused" in r3.output


def test_the_60_rule_without_a_tier_is_shown_where_its_figures_are(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    # b-c carries 25 Mbit/s: over 60 % of the fastest tier, 40 Mbit/s (24 Mbit/s), so the
    # rule has no tier for it and takes 40 Mbit/s; a-b (5 Mbit/s) fits 10 Mbit/s
    f = write_text(tmp_path / "two.toml", TWO.replace('latency_max = "1.05ms"', "loss = 0.01"))
    c = write_text(tmp_path / "c.toml", 'port = 0.0\n[optics]\n"10Mbps" = 1.0\n"40Mbps" = 2.0\n')
    out = tmp_path / "size"
    r = CliRunner().invoke(
        size_cmd, [str(f), "--costs", str(c), "--replications", "2", "--out", str(out)]
    )
    assert r.exit_code == EXIT_OK, r.output
    note = "over 60 % even at the fastest tier: b-c"
    assert note in r.output  # the console's table of the years
    report = (out / "report.md").read_text()
    assert f"| yes; {note} |" in report  # the 60 % rule's column of the years table
    assert "| b-c | 25.0 Mbit/s |" in report and "| 40M (over 60 %) |" in report
    assert "The rule has no tier for b-c (year 1)" in report
    assert note in (out / "report.html").read_text()
    assert pd.read_parquet(out / "size_years.parquet")["vendor_note"].tolist() == [note]
    (year,) = json.loads((out / "size.json").read_text())["years"]
    assert year["vendor_note"] == note


@pytest.mark.slow
def test_the_example_growth_scenario_sizes(tmp_path: Path) -> None:
    f = Path(__file__).parent.parent / "scenarios" / "small-town-growth.toml"
    res = size_network(f, replications=2, duration_ps=2 * 10**12, cache_dir=tmp_path)
    assert [y.year for y in res.years] == [1, 2, 3, 4] and not res.partial
    for y0, y1 in zip(res.years, res.years[1:], strict=False):
        assert all(y1.rates[k] >= v for k, v in y0.rates.items())
    assert res.years[-1].verdict.ok


def _bound_on(year: int, link: str, *, access: bool = True, cls: str = "video") -> Any:
    hop = {"class": cls, "metric": "latency_p99_ps", "link": link, "access": access}
    return SimpleNamespace(year=year, reasons={}, binding_hop={**hop, "warning": "..."})


def test_a_binding_sla_on_unsized_links_is_one_warning_naming_its_years() -> None:
    """The small town's plan is bound by the cameras' access links every year: the report's
    risk box said so four times, once per year; now once, with the years and links."""
    years = [
        _bound_on(1, "north[12]->agg-north"),
        _bound_on(2, "east[12]->agg-east"),
        _bound_on(3, "north[12]->agg-north"),
        _bound_on(4, "east[89]->agg-east"),
        SimpleNamespace(year=5, reasons={}, binding_hop={}),  # bound on a sized link
    ]
    res = SizingResult("f", "n", "", 5, {}, CostModel(), {}, years=years)
    assert res.warnings == [
        "years 1–4: the binding SLA (video 99th percentile packet latency) is limited on "
        "camera access links this plan does not size (north[12]->agg-north in year 1, "
        "east[12]->agg-east in year 2, north[12]->agg-north in year 3, east[89]->agg-east in "
        "year 4); faster sized links cannot help it"
    ]
    years = [_bound_on(1, "a->b"), _bound_on(3, "a->b"), _bound_on(4, "c->d", access=False)]
    res = SizingResult("f", "n", "", 4, {}, CostModel(), {}, years=years)
    assert res.warnings == [
        "years 1 and 3: the binding SLA (video 99th percentile packet latency) is limited on "
        "a->b, a camera access link this plan does not size; faster sized links cannot help it",
        "year 4: the binding SLA (video 99th percentile packet latency) is limited on c->d, a "
        "link this plan does not size; faster sized links cannot help it",
    ]
    assert [years_label(y) for y in ([], [2], [1, 2, 3], [3, 1, 4])] == [
        "no year",
        "year 2",
        "years 1–3",
        "years 1, 3 and 4",
    ]


# --------------------------------------------------------------------------- why upgrades
# TWO, plus a class with a loose SLA on its own link b-d (never failing) and bulk traffic
# without SLA on c-e: only b-c, crossed by the failing class data, is upgraded, and the
# report says why.
WIDE = (
    TWO.replace("[sla.data]", '[sla.voice]\nlatency_max = "50ms"\n[sla.data]')
    + """
[[nodes]]
id = "d"
[[nodes]]
id = "e"
[[links]]
a = "b"
b = "d"
rate = "10Mbps"
[[links]]
a = "c"
b = "e"
rate = "10Mbps"
[[sources]]
name = "v"
kind = "cbr"
at = "b"
destinations = ["d"]
size = "1172B"
rate = "8Mbps"
class = "voice"
[[sources]]
name = "u"
kind = "cbr"
at = "c"
destinations = ["e"]
size = "1172B"
rate = "8Mbps"
class = "bulk"
"""
)


def test_every_upgrade_is_explained_and_none_is_off_the_failing_path(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "wide.toml", WIDE)
    model = load_cost_model(write_text(tmp_path / "c.toml", TWO_COSTS))
    res = size_network(f, model, replications=2)
    (year,) = res.years
    assert year.rates == {"a-b": M10, "b-c": G1, "b-d": M10, "c-e": M10}
    reasons = res.reasons().set_index("link")
    assert set(reasons.index) == {"a-b", "b-c", "b-d", "c-e"}  # all built in year 1
    assert (reasons.drop(index="b-c")["reason"] == "mean load").all()
    why = reasons.loc["b-c"]
    assert why["reason"] == "sla" and why["class"] == "data" and bool(why["crosses"])
    assert why["metric"] == "latency_max_ps" and why["hop"] == "b-c"
    assert why["mean"] > why["target"] == 1.05 * MS  # (10M, 100M) fails as by hand
    assert "at 100 Mbit/s: data largest packet latency" in why["text"]
    # the class crossing no link above its floor is never the reason of an upgrade, and
    # c-e (no class with an SLA crosses it) stays at its floor, the cheapest feasible
    for row in reasons.to_dict("records"):
        if row["reason"] == "sla":
            assert row["class"] != "voice"
    out = tmp_path / "o"
    r = CliRunner().invoke(
        size_cmd,
        [
            str(f),
            "--costs",
            str(tmp_path / "c.toml"),
            "--replications",
            "2",
            "--out",
            str(out),
            "--json",
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == EXIT_OK, r.output
    doc = json.loads(r.stdout)
    (up,) = [u for u in doc["upgrades"] if u["reason"] == "sla"]
    assert (up["link"], up["class"], up["metric"]) == ("b-c", "data", "latency_max_ps")
    assert doc["binding"]["1"]["class"] in {"data", "voice"}
    report = (out / "report.md").read_text()
    assert "## Why each upgrade" in report and "| 1 | b-c | built at 1G |" in report


# --------------------------------------------------------------------------- N-1
# A ring r0-r1-r2-r3 with the span r3-r0 blocked (protection). 30 Mbit/s from r1 and from r2
# to r0: normally r0-r1 carries 60 and r1-r2 30 Mbit/s (100M each), r2-r3 and r3-r0
# nothing (10M). A cut of r0-r1 sends everything round r1-r2-r3-r0 (60 Mbit/s on r2-r3 and
# r3-r0), a cut of r1-r2 sends r2's 30 Mbit/s over r2-r3-r0: surviving any single cut
# needs every span at 100M. The failure of r2-r3 or r3-r0 moves no traffic: not a case.
RING = """
name = "ring"
[simulation]
duration = "300ms"
[[nodes]]
id = "r0"
[[nodes]]
id = "r1"
[[nodes]]
id = "r2"
[[nodes]]
id = "r3"
[[links]]
a = "r0"
b = "r1"
rate = "10Mbps"
[[links]]
a = "r1"
b = "r2"
rate = "10Mbps"
[[links]]
a = "r2"
b = "r3"
rate = "10Mbps"
[[links]]
a = "r3"
b = "r0"
rate = "10Mbps"
blocked = true
[[sources]]
name = "x"
kind = "cbr"
at = "r1"
destinations = ["r0"]
size = "1172B"
rate = "30Mbps"
class = "video"
[[sources]]
name = "y"
kind = "cbr"
at = "r2"
destinations = ["r0"]
size = "1172B"
rate = "30Mbps"
class = "video"
[sla.video]
latency_max = "5ms"
loss = 0.001
"""
SPANS = ["r0-r1", "r1-r2", "r2-r3", "r3-r0"]


def ring_cut_at_10m(duration: str) -> Scenario:
    """RING's year 1 with r2-r3 at 10 Mbit/s (the other spans at 100M) and r1-r2 cut for the
    whole run: r2's 30 Mbit/s of video rerouted over r2-r3 and the blocked r3-r0."""
    raw = year_data(tomllib.loads(RING), 1)
    raw["simulation"]["duration"] = duration
    raw["events"] = [{"kind": "failure", "link": "r1-r2", "at": "0ms", "duration": duration}]
    for link in raw["links"]:
        link["rate"] = "10Mbps" if link["a"] == "r2" else "100Mbps"
    return parse_scenario_dict(raw)


def test_a_failure_case_keeps_its_link_failed_to_the_end_of_a_longer_run(
    tmp_path: Path,
) -> None:
    """The steady-state check may judge a failure case on runs up to max_extend times as
    long: the link stays failed to their end (it was repaired at the scenario's duration,
    and the second half of a run twice as long measured the ring whole again)."""
    raw = year_data(tomllib.loads(RING), 1)
    targets = {"video": {"loss": 0.001}}
    ctx = _Context(CostModel(), [M100], targets, tmp_path, None, None, 2, 2, 0.95, 40, None)
    ctx.max_extend = 4
    sc = parse_scenario_dict(copy.deepcopy(raw))
    cases, _ = _failure_cases(ctx, 1, sc, raw, tmp_path, SPANS, set(SPANS))
    (case,) = [c for c in cases if c.link == "r0-r1"]
    longest = copy.deepcopy(case.data)
    longest["simulation"]["duration"] = "1200ms"  # 4 × 300 ms
    for link in longest["links"]:
        link["rate"] = "100Mbps"
    links = run(parse_scenario_dict(longest), write=False).tables.links
    on = links[links["link"].astype(str).isin(["r0->r1", "r1->r0"])]
    assert len(on) == 2 and (on["packets"] == 0).all()  # nothing crossed it, to the end
    around = links[links["link"].astype(str) == "r3->r0"]
    assert int(around["packets"].iloc[0]) > 0


@pytest.mark.long
def test_n_minus_1_survives_every_single_cut(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "ring.toml", RING)
    model = load_cost_model(write_text(tmp_path / "c.toml", TWO_COSTS))
    plain = size_network(f, model, replications=2, vendor_check=False)
    assert plain.years[0].rates == {"r0-r1": M100, "r1-r2": M100, "r2-r3": M10, "r3-r0": M10}
    assert plain.cases()["case"].tolist() == ["normal"]
    # one tier for the ring's spans: the busiest span's floor for all
    ring = size_network(f, model, replications=2, vendor_check=False, one_tier=[SPANS])
    assert set(ring.years[0].rates.values()) == {M100} and ring.total_capex == 80.0
    # N-1: the plain design loses the rerouted traffic; the whole ring at 100M survives
    # (its runs stored where the command line below stores its own: it reuses them, and
    # finds the same cases only if it asks for the same runs)
    out = tmp_path / "o"
    n1 = size_network(
        f, model, replications=2, vendor_check=False, survive="single-link", cache_dir=out
    )
    (year,) = n1.years
    assert year.rates == dict.fromkeys(SPANS, M100) and year.optimal
    cases = n1.cases()
    assert cases["case"].tolist() == ["normal", "failure of r0-r1", "failure of r1-r2"]
    assert cases["ok"].all() and (cases["margin"] > 0).all()
    assert cases["duration_factor"].tolist() == [
        max(1, n1.years[0].extended.get(c, 1)) for c in cases["case"]
    ]
    # the convergence losses (50 ms of r1's traffic at the cut) are not buffer losses
    why = n1.reasons().set_index("link")
    for span in ("r2-r3", "r3-r0"):
        assert why.loc[span, "reason"] == "sla"
        assert str(why.loc[span, "case"]).startswith("failure")
        assert "during the failure of" in str(why.loc[span, "text"])
    # the oracle: with r2-r3 at 10M, the cut of r1-r2 queues r2's traffic there (the
    # default 1 MiB buffer holds 0.84 s at 10 Mbit/s, more than this 300 ms run queues:
    # latency grows, nothing but the convergence is lost; see the test below)
    s = run(ring_cut_at_10m("300ms"), write=False).tables
    row = s.summary[(s.summary["level"] == "class") & (s.summary["name"] == "video")].iloc[0]
    assert row["latency_max_ps"] > 5 * MS and row["loss"] == row["failure_loss"] > 0.01
    # the CLI and the report
    args = [
        str(f),
        "--costs",
        str(tmp_path / "c.toml"),
        "--replications",
        "2",
        "--workers",
        "1",
        "--out",
    ]
    r = CliRunner().invoke(size_cmd, [*args, str(out), "--survive", "single-link", "--json"])
    assert r.exit_code == EXIT_OK, r.output
    doc = json.loads(r.stdout)
    assert [c["case"] for c in doc["cases"]] == cases["case"].tolist()
    report = (out / "report.md").read_text()
    assert "## Failure cases (N-1)" in report and "| 1 | failure of r1-r2 | yes |" in report
    # report.json (report.html's data): the first page's fibre-cut risk from the N-1 runs,
    # the failure cases and every upgrade explained
    page = json.loads((out / "report.json").read_text())
    (cut,) = [x for x in page["risk"] if x.startswith("Single fibre cut")]
    tightest = min((c for c in doc["cases"] if c["case"] != "normal"), key=lambda c: c["margin"])
    assert cut.startswith(
        "Single fibre cut: **survived** — the failure of each of the 2 protected link(s), with "
        "its reroute, was simulated in every year and meets every SLA (tightest: "
        f"{tightest['case']} in year 1, class {tightest['class']} "
    ), cut
    titles = {t["title"]: t for t in page["tables"]}
    rows = titles["Failure cases (N-1)"]["rows"]
    assert [r[1] for r in rows] == cases["case"].tolist()
    why_rows = titles["Why each link was built or upgraded"]["rows"]
    assert {r[1] for r in why_rows} == set(SPANS)
    # a budget for the convergence losses that no tier meets: exit 3 naming the year, the
    # failure case, the class, the metric and the link (the same runs, judged by the budget:
    # those stored above are reused)
    r = CliRunner().invoke(
        size_cmd, [*args, str(out), "--survive", "single-link", "--failure-loss", "0.01"]
    )
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    msg = " ".join(r.output.split())
    assert "year 1" in msg and "during the failure of r0-r1" in msg
    assert "video packet loss to link failures" in msg and " on " in msg
    assert "raise failure_loss" in msg  # the setting to change, by its name

    # a protected link must be a link of the scenario
    with pytest.raises(AnalysisInputError, match=r"sizing\.protected: got 'nope'"):
        size_network(f, model, survive="single-link", protected=["nope"])


# --------------------------------------------------------------------------- steady state
# Poisson packets at 98 % of a 10 Mbit/s link (9.2 Mbit/s of 1172-byte payloads, 9.8 Mbit/s
# on the wire): the queue relaxes in about 10 s, so in 200 ms runs its latency has not
# grown to its stationary level. The short runs meet a 12 ms p99; runs ten times longer
# do not. The sizing must not accept 10M on the short runs.
FLIP = """
name = "flip"
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
kind = "poisson"
at = "a"
destinations = ["b"]
size = "1172B"
rate = "9.2Mbps"
class = "data"
[sla.data]
latency_p99 = "12ms"
"""


def test_a_rerouted_overload_queues_until_the_buffer_fills_then_drops() -> None:
    """A 10 Mbit/s link offered 2.5 times its rate after a reroute: what the links table says.

    ``utilisation`` is the transmission time of the admitted packets over the measured time
    (docs/results.md), so above 1 for an overloaded link; drops begin only once the backlog
    reaches the default buffer of 1 MiB, 0.84 s of sending at 10 Mbit/s. Oracles: the SimPy
    reference engine, counter for counter; conservation (the busy time is the admitted
    packets' transmission times; a link busy from the reroute to the end with at most a
    buffer's backlog left); the buffer's fill time."""
    service = 10**9  # a 1172 B packet with 78 B of headers at 10 Mbit/s: 1 ms exactly
    buffer_ps = DEFAULT_BUFFER_BYTES * 8 * 10**12 // M10
    for duration, dropping in (("300ms", False), ("2s", True)):
        scenario = ring_cut_at_10m(duration)
        core, ref = run(scenario, write=False), run(scenario, write=False, engine="reference")
        assert stats_differences(core.stats, ref.stats) == []
        (row,) = core.tables.links[core.tables.links["link"] == "r2->r3"].to_dict("records")
        assert row["bytes"] == 1250 * row["packets"] and row["busy_ps"] == service * row["packets"]
        assert row["utilisation"] == row["busy_ps"] / row["measured_ps"] > 1
        assert row["utilisation"] <= (row["measured_ps"] + buffer_ps + service) / row["measured_ps"]
        assert row["peak_queue_bytes"] <= DEFAULT_BUFFER_BYTES
        if dropping:  # the buffer filled: its peak is within a packet of its size
            assert row["drops"] > 0 and row["peak_queue_bytes"] > DEFAULT_BUFFER_BYTES - 1250
        else:  # 250 % for 300 ms: a backlog of about 0.6 MiB, nothing dropped
            assert row["drops"] == 0 and row["utilisation"] == 2.5


def test_a_verdict_that_flips_in_a_longer_run_is_never_accepted_on_the_short_run(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "flip.toml", FLIP)
    model = CostModel(port=0.0, optics={M10: 1.0, M100: 10.0})
    # the short runs alone (no stationarity check) accept 10M
    short = size_network(f, model, vendor_check=False, max_extend=1)
    assert short.years[0].rates == {"a-b": M10}
    # the oracle: in runs ten times longer, the same design misses the target
    raw = tomllib.loads(FLIP)
    p99 = []
    for seed in range(3):
        d = copy.deepcopy(raw)
        d["simulation"].update(duration="2s", seed=seed)
        s = run(parse_scenario_dict(d), write=False).tables.summary
        p99.append(float(s[s["level"] == "class"]["latency_p99_ps"].iloc[0]))
    assert sum(p99) / 3 > 12 * MS
    # with the check, 10M rests on a transient (98 % utilisation, measured 0.2 s): its runs
    # are extended until its verdict turns, and 100M is bought
    res = size_network(f, model, vendor_check=False)
    (year,) = res.years
    assert year.rates == {"a-b": M100} and not year.transient
    (t10,) = [t for t in year.trials if t.rates == {"a-b": M10}]
    assert t10.ok is False and t10.duration_factor > 1


def test_stationarity_rules() -> None:
    import numpy as np

    from vidnet_sim.analysis.steady import mser5, relaxation_ps, trend

    rng = np.random.default_rng(7)
    noise = rng.normal(10.0, 1.0, 50)
    assert not trend(noise).transient
    warm = noise.copy()
    warm[:10] -= np.linspace(8, 0, 10)  # a start-up transient, then stationary
    assert mser5(warm) >= 5 and not trend(warm).transient
    growing = noise + np.linspace(0, 6, 50)
    t = trend(growing)
    assert t.transient and t.slope > 0 and t.p_value < 0.05
    assert not trend(np.full(50, 3.0)).transient
    assert relaxation_ps(0.98, 1e9) == pytest.approx(9.9e12, rel=1e-2)
    assert relaxation_ps(0.5, 1.0) == pytest.approx(1 / (1 - 0.5**0.5) ** 2)
    assert relaxation_ps(1.0, 1.0) == float("inf") and relaxation_ps(0.0, 1.0) == 0.0


def test_a_span_raised_with_its_ring_says_so(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "ring.toml", RING)
    model = load_cost_model(write_text(tmp_path / "c.toml", TWO_COSTS))
    res = size_network(f, model, replications=2, vendor_check=False, one_tier=[SPANS])
    why = res.reasons().set_index("link")["text"]
    assert why["r3-r0"] == (
        "held at one tier with r0-r1, whose mean offered load 60 Mbit/s needs 100 Mbit/s"
    )
    assert why["r0-r1"].startswith("built at the slowest tier above its mean load (60")


def test_a_year_of_many_links_is_one_short_cell() -> None:
    """The mid-size city's year 1 builds 28 links: the table's cell named every one (a line
    of 900 characters on a console); now gathered by change, the small groups named."""
    from vidnet_sim.analysis.report import _changes

    ring = ["ring-ab", "ring-bc", "ring-cd", "ring-da", "cc-uplink", "cc-nvr"]
    rest = [f"agg-{i}" for i in range(22)]
    rates = {**dict.fromkeys(ring, 10 * G1), **dict.fromkeys(rest, G1)}
    year1: Any = SimpleNamespace(upgrades=ring + rest, previous=dict.fromkeys(rates), rates=rates)
    assert _changes(year1) == (
        "6 at 10G (new): ring-ab, ring-bc, ring-cd, ring-da, cc-uplink, cc-nvr; 22 at 1G (new)"
    )
    year4: Any = SimpleNamespace(
        upgrades=["cc-dc"], previous={"cc-dc": G1}, rates={"cc-dc": 10 * G1}
    )
    assert _changes(year4) == "cc-dc 1G→10G"
    none: Any = SimpleNamespace(upgrades=[], previous={}, rates={})
    assert _changes(none) == "—"


def test_a_latency_target_is_put_down_to_the_longest_wait_not_to_a_few_drops() -> None:
    """The small town's year 3: video latency p99 was 'dominated by core-uplink (8 packets
    dropped per run)' while its packets waited up to 43 ms on a camera's access link. A
    latency target now names the hop where the class waited longest; a loss target still
    the one that dropped its packets."""
    import pandas as pd

    from vidnet_sim.analysis.explain import _hop

    links = pd.DataFrame(
        {
            "link": ["cam->agg", "agg->core"],
            "peak_wait_ps": [43e9, 0.1e9],
            "access": [True, False],
            "drops": [0, 8],
        }
    )
    record = SimpleNamespace(links=links, epoch_links=None)
    yr = SimpleNamespace(
        class_dirs={"video": {"cam->agg", "agg->core"}}, dirs=[["agg->core"]], ids=["uplink"]
    )
    hop = _hop(yr, "video", [record], None, "latency_p99_ps")  # type: ignore[arg-type, list-item]
    assert (hop["link"], hop["access"], hop["why"]) == ("cam->agg", True, "queue wait up to 43 ms")
    hop = _hop(yr, "video", [record], None, "loss")  # type: ignore[arg-type, list-item]
    assert (hop["link"], hop["sized"], hop["why"]) == ("uplink", True, "8 packets dropped per run")


def test_a_case_judged_on_longer_runs_is_marked_in_the_report() -> None:
    """The mid-size city's year-4 failure cases were judged on runs twice as long (a metric
    still grew over 4 s) and read a lower p99 than the normal case's, with nothing in the
    report's N-1 table saying why: such a case is marked, and the note says what it means."""
    from vidnet_sim.analysis.report import _case_rows, _cases_note

    rows = [
        {"year": 4, "case": c, "ok": True, "uncertain": False, "class": "video"}
        | {"metric": "latency_p99_ps", "mean": m, "target": 5e10, "margin": 1 - m / 5e10}
        | {"duration_factor": f}
        for c, m, f in (("normal", 2.85e10, 1), ("failure of ring-ab", 1.81e10, 2))
    ]
    settings = {"survive": "single-link", "failure_loss": 0.05, "convergence_ps": 5 * 10**10}
    result = SimpleNamespace(settings=settings, cases=lambda: pd.DataFrame(rows))
    _, table = _case_rows(result)  # type: ignore[arg-type]
    assert [r[1] for r in table] == ["normal", "failure of ring-ab (runs 2× as long)"]
    assert "runs k× as long" in _cases_note(result)  # type: ignore[arg-type]
    rows[1]["duration_factor"] = 1
    assert "as long" not in " ".join(r[1] for r in _case_rows(result)[1])  # type: ignore[arg-type]
    assert "as long" not in _cases_note(result)  # type: ignore[arg-type]
