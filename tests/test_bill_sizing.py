"""`size` with the whole bill: the search's order, the bill of the sized design, the report,
`size.json` and the cost model's errors through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vidnet_sim.analysis.bill import YearDesign, load_bill_model, price_plan
from vidnet_sim.analysis.sizing import size_network
from vidnet_sim.cli.analysis import size as size_cmd
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_OK
from vidnet_sim.results.storage import mean_storage

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
    doc = json.loads((out / "size.json").read_text())
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
