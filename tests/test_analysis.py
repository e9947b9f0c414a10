"""Fast estimates, curves and the capacity search (vidnet_sim.analysis, docs/analysis.md)."""

from __future__ import annotations

import base64
import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidnet_sim.analysis import estimate, gaussian_alpha
from vidnet_sim.analysis import runs as runs_module
from vidnet_sim.analysis.capacity import find_capacity, unsettled_links
from vidnet_sim.analysis.curve import run_curve
from vidnet_sim.analysis.estimates import (
    _bucket_from_trace,
    _total_flow_analysis,
    arrival_curves,
    nc_delay_bounds,
)
from vidnet_sim.analysis.vary import AnalysisInputError, make_vary, vary_values
from vidnet_sim.cli.analysis import capacity as capacity_cmd
from vidnet_sim.cli.analysis import curve as curve_cmd
from vidnet_sim.errors import ScenarioError
from vidnet_sim.fingerprint import MODEL_PACKAGES, engine_fingerprint
from vidnet_sim.network.plan import build_plan, service_time_ps
from vidnet_sim.runner import run, with_overrides
from vidnet_sim.scenario import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.model import Scenario

MS = 10**9


# --------------------------------------------------------------------------- estimates
def test_gaussian_alpha_matches_the_formula() -> None:
    assert gaussian_alpha(1e-3) == pytest.approx(
        math.sqrt(-2 * math.log(1e-3) - math.log(2 * math.pi))
    )
    with pytest.raises(ValueError):
        gaussian_alpha(0.5)


def test_bucket_from_trace_is_the_smallest_token_bucket() -> None:
    # 3 packets of 100 B at t = 0, one at t = 10 ps, r = 8e12 bit/s = 1 B/ps
    times = np.array([0, 0, 0, 10])
    sizes = np.array([100, 100, 100, 100])
    assert _bucket_from_trace(times, sizes, 8e12) == pytest.approx(390.0)
    # brute force over every closed window
    b = max(
        sizes[(times >= s) & (times <= t)].sum() - (t - s) for s in times for t in times if t >= s
    )
    assert _bucket_from_trace(times, sizes, 8e12) == pytest.approx(b)


def test_sum_of_means_and_60_percent_rule_on_cbr_sources() -> None:
    sc = parse_scenario_dict(
        {
            "name": "cbr",
            "simulation": {"duration": "100ms"},
            "nodes": [{"id": "a"}, {"id": "b"}],
            "links": [{"a": "a", "b": "b", "rate": "100Mbps"}],
            "sources": [
                {
                    "name": "s",
                    "kind": "cbr",
                    "at": "a",
                    "destinations": ["b"],
                    "size": "922B",
                    "interval": "100us",
                }
            ],
        }
    )
    est = estimate(sc)
    row = est.links.set_index("link").loc["a->b"]
    assert row["mean_bps"] == pytest.approx(1000 * 8 / 100e-6)  # 80 Mbit/s
    assert row["utilisation"] == pytest.approx(0.8)
    assert not row["ok_60"]
    assert row["gaussian_bps"] == pytest.approx(row["mean_bps"])  # CBR: no variance
    assert row["ok_gaussian"]
    # one CBR source alone on a link: its packet never waits: S + 1 ps slack bound
    s = service_time_ps(1000, 10**8)
    bound = float(est.groups.set_index("name")["nc_bound_ps"].loc["s"])
    assert s <= bound <= s * 1.001 + 10


def _line_scenario(draw: Any) -> dict[str, Any]:
    """A random tree: a line of nodes to a sink, cameras and cbr sources on them."""
    n = draw(st.integers(2, 4))
    nodes = [{"id": f"n{i}"} for i in range(n)]
    links = []
    for i in range(n - 1):
        links.append(
            {
                "a": f"n{i}",
                "b": f"n{i + 1}",
                "rate": f"{draw(st.sampled_from([20, 50, 100, 1000]))}Mbps",
                "delay": f"{draw(st.integers(0, 50))}us",
            }
        )
    cams = []
    for g in range(draw(st.integers(1, 3))):
        cams.append(
            {
                "name": f"c{g}",
                "count": draw(st.integers(1, 4)),
                "attach": f"n{draw(st.integers(0, n - 2))}",
                "destinations": [f"n{n - 1}"],
                "bitrate": f"{draw(st.sampled_from([1, 2, 4]))}Mbps",
                "fps": draw(st.sampled_from([10, 25])),
                "rate_control": draw(st.sampled_from(["cbr", "vbr"])),
                "phase": draw(st.sampled_from(["aligned", "random"])),
                "access_rate": f"{draw(st.sampled_from([50, 100]))}Mbps",
            }
        )
    sources = []
    if draw(st.booleans()):
        sources.append(
            {
                "name": "cbr",
                "kind": "cbr",
                "at": "n0",
                "destinations": [f"n{n - 1}"],
                "size": f"{draw(st.integers(100, 1400))}B",
                "rate": f"{draw(st.integers(1, 5))}Mbps",
            }
        )
    if draw(st.booleans()):
        sources.append(
            {
                "name": "poi",
                "kind": "poisson",
                "at": "n0",
                "destinations": [f"n{n - 1}"],
                "size": "500B",
                "rate": f"{draw(st.integers(1, 3))}Mbps",
                "class": "data",
            }
        )
    return {
        "name": "nc",
        "simulation": {"duration": "400ms", "seed": draw(st.integers(0, 99))},
        "nodes": nodes,
        "links": links,
        "cameras": cams,
        "sources": sources,
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_network_calculus_bound_is_above_every_simulated_maximum(data: Any) -> None:
    """For arrival curves that truly bound the traffic: the realised trace ("trace" mode,
    any source), and the parameter model for deterministic sources (CBR rate control, cbr):
    the bound is ≥ the exact simulated maximum packet and frame latency of every group."""
    raw = _line_scenario(data.draw)
    sc = parse_scenario_dict(copy.deepcopy(raw))
    res = run(sc, write=False)
    summ = res.tables.summary.set_index(["level", "name"])
    trace = estimate(sc, res.plan, arrivals="trace").groups.set_index("name")
    model = estimate(sc, res.plan, arrivals="model").groups.set_index("name")
    deterministic = {c["name"] for c in raw["cameras"] if c["rate_control"] == "cbr"} | {"cbr"}
    assert res.plan is not None
    for name in res.plan.group_names:
        row = summ.xs(("group", name))
        worst = np.nanmax([row["latency_max_ps"], row["frame_latency_max_ps"], 0.0])
        assert trace.loc[name, "nc_bound_ps"] >= worst, name
        if name in deterministic:
            assert model.loc[name, "nc_bound_ps"] >= worst, name


def _pboo_by_definition(plan: Any, curves: Any) -> np.ndarray:
    """Pay-bursts-only-once bound of each flow with its cross traffic summed over the other
    users of each link, as the definition reads (quadratic: the oracle of the fast form)."""
    hops = _total_flow_analysis(plan, curves, [plan.route(f) for f in range(plan.n_flows)])
    fr = curves.rate_bps[plan.flow_source].astype(np.float64) / 8.0 / 1e12
    fb = curves.burst_bytes[plan.flow_source].astype(np.float64)
    out = np.full(plan.n_flows, math.inf)
    for f in range(plan.n_flows):
        r = plan.route(f)
        theta, rmin = 0.0, math.inf
        for link in map(int, r):
            others = [(g, k) for g, k in hops.on_link[link] if g != f]
            b_cross = sum(hops.burst_at[g][k] for g, k in others)
            left = hops.reff[link] - sum(fr[g] for g, _ in others)
            if left <= 0 or not math.isfinite(b_cross) or fr[f] > left:
                theta = math.inf
                break
            theta += (hops.lmax[link] + b_cross) / hops.reff[link]
            rmin = min(rmin, left)
        pboo = theta + fb[f] / rmin if math.isfinite(theta) else math.inf
        best = min(float(hops.dlink[r].sum()), pboo)
        if math.isfinite(best):
            out[f] = math.ceil(best * (1 + 1e-9)) + 1 + float(plan.link_prop_ps[r].sum())
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_network_calculus_cross_traffic_from_link_totals_is_the_definition(data: Any) -> None:
    """The per-flow bound takes each link's cross traffic as the link's total less the flow's
    own share (linear in the flows); it equals the sum over the other flows (quadratic),
    unbounded bursts (Poisson sources) included, to within a picosecond of rounding."""
    sc = parse_scenario_dict(_line_scenario(data.draw))
    plan = build_plan(sc)
    for mode in ("model", "trace"):
        curves = arrival_curves(plan, sc, mode)
        fast, _ = nc_delay_bounds(plan, curves)
        oracle = _pboo_by_definition(plan, curves)
        assert np.array_equal(np.isfinite(fast), np.isfinite(oracle))
        finite = np.isfinite(oracle)
        assert np.all(np.abs(fast[finite] - oracle[finite]) <= 1.0)


# --------------------------------------------------------------------------- vary
def test_vary_range_errors_say_which_and_why() -> None:
    data = {
        "cameras": [{"name": "a", "count": 4}],
        "links": [{"a": "x", "b": "y", "rate": "1Gbps"}],
    }
    v = make_vary(data, "cameras")
    with pytest.raises(AnalysisInputError, match="reversed"):
        vary_values(v, 10, 2, 3)
    with pytest.raises(AnalysisInputError, match="empty"):
        vary_values(v, 5, 5, 3)
    assert vary_values(v, 5, 5, 1) == [5.0]
    assert vary_values(v, 1, 3, 5) == [1.0, 2.0, 3.0]  # whole values, no duplicates
    r = make_vary(data, 'links["x-y"].rate')
    assert r.kind == "rate" and r.parse("100Mbps") == 1e8
    assert r.apply(data, 2e8)["links"][0]["rate"] == "200000000bps"
    with pytest.raises(AnalysisInputError, match="no item named"):
        make_vary(data, 'links["nope"].rate')


def test_a_count_of_one_camera_reads_in_the_singular() -> None:
    v = make_vary({"cameras": [{"name": "a", "count": 4}]}, "cameras")
    assert v.at(v.label(1.0)) == "1 camera"
    assert v.at(v.label(2.0)) == "2 cameras"
    assert v.at(v.label(1.0), at_least=True) == "at least 1 camera"


# --------------------------------------------------------------------------- capacity
DD1 = """
name = "dd1"
[simulation]
duration = "100ms"
[conventions]
header_bytes = "78B"
[[nodes]]
id = "a"
[[nodes]]
id = "b"
[[links]]
a = "a"
b = "b"
rate = "1Gbps"
delay = "5us"
[[sources]]
name = "s"
kind = "cbr"
at = "a"
destinations = ["b"]
size = "922B"
packet_rate = 50000.0
[sla.data]
latency_max = "13us"
"""


def test_capacity_finds_the_dd1_threshold(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    # D/D/1: packets of 1000 B on the wire at 1 Gbit/s (S = 8 us) never wait while the
    # interval round(1e12 / rate) >= S; then latency = S + 5 us = 13 us = the target.
    # Above, the queue grows and the max latency exceeds it. Threshold: 1e12 / (S - 0.5).
    f = write_text(tmp_path / "dd1.toml", DD1)
    res = find_capacity(f, "sources[0].packet_rate", replications=2, rel_tol=0.001)
    threshold = 1e12 / (8 * 10**6 - 0.5)
    assert res.capacity is not None and res.first_fail is not None
    assert res.capacity <= threshold < res.first_fail
    assert res.first_fail - res.capacity <= 0.001 * res.first_fail
    assert res.binding["class"] == "data"
    assert res.binding["link"] == "a->b"


def test_a_capacity_at_a_saturated_link_warns_its_runs_were_too_short(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    """The D/D/1 threshold puts a->b at 100 % utilisation: a queue there settles in no
    finite time (M/M/1 relaxation S / (1 - sqrt(rho))^2), far beyond the 100 ms measured.
    The answer said nothing of it (the large city's 2 s runs: "32177 cameras" with its
    100 Gbit/s uplink at 100 %)."""
    f = write_text(tmp_path / "dd1.toml", DD1)
    res = find_capacity(f, "sources[0].packet_rate", replications=2, rel_tol=0.001)
    [warning] = res.warnings
    assert warning.startswith(
        "at the capacity (sources[0].packet_rate = 125000), a->b at 100.0 % utilisation needs "
        "forever to settle, longer than the 100 ms each run measured"
    ), warning
    assert unsettled_links([]) == []
    # two cameras' aligned CBR frames on 100 Mbit/s (14 to 28 % utilised): settled
    assert find_capacity(write_text(tmp_path / "c.toml", CAMS), "cameras").warnings == []


CAMS = """
name = "cams"
[simulation]
duration = "300ms"
[[nodes]]
id = "agg"
[[nodes]]
id = "cc"
[[links]]
a = "agg"
b = "cc"
rate = "100Mbps"
[[cameras]]
name = "north"
count = 2
attach = "agg"
bitrate = "4Mbps"
rate_control = "cbr"
phase = "aligned"
destinations = ["cc"]
[sla.video]
latency_max = "40ms"
"""


def test_capacity_camera_count_matches_brute_force(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "cams.toml", CAMS)
    res = find_capacity(f, "cameras", replications=2)
    from vidnet_sim.analysis.vary import load_raw

    data, _ = load_raw(f)
    ok = []
    for n in range(1, int(res.first_fail or 0) + 2):
        d = copy.deepcopy(data)
        d["cameras"][0]["count"] = n
        s = run(parse_scenario_dict(d), write=False).tables.summary
        ok.append(float(s.query("level == 'class'")["latency_max_ps"].iloc[0]) <= 40 * MS)
    # aligned CBR cameras: deterministic and monotone; the search finds the last passing n
    expected = max(n for n, good in enumerate(ok, start=1) if good)
    assert res.capacity == expected
    assert res.first_fail == expected + 1
    assert res.binding["metric"] == "latency_max_ps"


def test_capacity_sla_that_no_load_meets_is_invalid_input(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(
        tmp_path / "cams.toml",
        CAMS.replace('latency_max = "40ms"', 'latency_max = "1us"'),
    )
    with pytest.raises(AnalysisInputError, match="no cameras value meets the SLA"):
        find_capacity(f, "cameras", replications=2)
    r = CliRunner().invoke(capacity_cmd, [str(f), "--out", str(tmp_path / "o"), "--workers", "1"])
    assert r.exit_code == 3
    assert "cannot be met at any load" in r.output


def test_capacity_cli_writes_json(tmp_path: Path, write_text: Callable[[Path, str], Path]) -> None:
    f = write_text(tmp_path / "cams.toml", CAMS)
    out = tmp_path / "cap"
    r = CliRunner().invoke(
        capacity_cmd, [str(f), "--out", str(out), "--replications", "2", "--json", "--workers", "1"]
    )
    assert r.exit_code == 0, r.output
    text = (out / "capacity.json").read_text()  # strict JSON: no NaN or Infinity
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"capacity.json holds {c}"))
    assert doc["capacity"] >= 1 and doc["binding"]["class"] == "video"
    assert not doc["partial"]


# --------------------------------------------------------------------------- curve
def test_curve_cli_writes_tables_plot_and_reuses_runs(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "cams.toml", CAMS.replace('rate_control = "cbr"', ""))
    out = tmp_path / "curve"
    args = [
        str(f),
        "--vary",
        "cameras",
        "--from",
        "2",
        "--to",
        "10",
        "--steps",
        "3",
        "--replications",
        "2",
        "--out",
        str(out),
        "--workers",
        "1",
    ]
    r = CliRunner().invoke(curve_cmd, args)
    assert r.exit_code == 0, r.output
    t = pd.read_parquet(out / "curve.parquet")
    assert set(t["x"]) == {2.0, 6.0, 10.0}
    p99 = t[(t["class"] == "video") & (t["metric"] == "latency_p99_ps")]
    assert (p99["n"] == 2).all() and (p99["ci_low"] <= p99["mean"]).all()
    est = pd.read_parquet(out / "estimates.parquet")
    assert {"sum-of-means-60%", "gaussian-equivalent-capacity", "network-calculus-bound"} <= set(
        est["method"]
    )
    # VBR cameras: the bound is of frames capped at a quantile, and says so
    nc = est[est["method"] == "network-calculus-bound"]
    assert nc["note"].str.contains("VBR frame sizes capped at their").all()
    assert (out / "curve.png").stat().st_size > 1000
    # the figure is drawn once: the report embeds curve.png's own bytes
    png = base64.b64encode((out / "curve.png").read_bytes()).decode("ascii")
    assert f"data:image/png;base64,{png}" in (out / "report.html").read_text()
    # the metric the class's target is on (its largest latency, not the packet p99), in
    # words with its unit, beside the target; no column name
    assert "video largest packet latency, ms (target 40 ms): 2: " in r.output
    assert "latency_" not in r.output and "_ps" not in r.output

    r2 = CliRunner().invoke(curve_cmd, args)
    assert r2.exit_code == 0
    assert "6 runs (6 reused)" in r2.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["reused_runs"] == 6 and not manifest["partial"]


def test_curve_and_capacity_warn_of_an_alarm_their_duration_leaves_out(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    """A --duration shorter than the scenario's timeline drops its alarm from every run, as
    `run` warns: curve and capacity warn of it too (console, manifest / capacity.json and
    the report's risk), not a verdict silently judged without the alarm."""
    alarm = '[[events]]\nkind = "alarm"\ntargets = ["north"]\nat = "250ms"\nduration = "20ms"\n'
    f = write_text(tmp_path / "cams.toml", CAMS + alarm)
    said = (
        "events[0] (alarm on north at 250ms) is at or after the end of the run (200ms): it "
        "does not happen in this run"
    )
    common = ["--replications", "2", "--duration", "200ms", "--workers", "1"]
    vary = ["--vary", "cameras", "--from", "2", "--to", "4", "--steps", "2"]
    r = CliRunner().invoke(curve_cmd, [str(f), *vary, *common, "--out", str(tmp_path / "curve")])
    assert r.exit_code == 0, r.output
    assert f"warning: {said}" in r.stderr
    assert json.loads((tmp_path / "curve" / "manifest.json").read_text())["warnings"] == [said]
    risk = json.loads((tmp_path / "curve" / "report.json").read_text())["risk"]
    assert f"Warning: {said}." in risk
    r = CliRunner().invoke(
        capacity_cmd, [str(f), "--max", "4", *common, "--out", str(tmp_path / "cap")]
    )
    assert r.exit_code == 0, r.output
    assert f"warning: {said}" in r.stderr
    assert json.loads((tmp_path / "cap" / "capacity.json").read_text())["warnings"] == [said]
    risk = json.loads((tmp_path / "cap" / "report.json").read_text())["risk"]
    assert f"Warning: {said}." in risk
    # the method says how long each run simulated, and that --duration shortened it
    method = json.loads((tmp_path / "cap" / "report.json").read_text())["method"]
    assert method[0].endswith(
        " Each run simulates 200 ms (the scenario's 300 ms shortened by --duration), with no "
        "warm-up."
    ), method
    method = json.loads((tmp_path / "curve" / "report.json").read_text())["method"]
    assert "Each run simulates 200 ms (the scenario's 300 ms shortened by --duration)" in method[0]
    # without the override, or with one that keeps the alarm, nothing to warn of
    whole = run_curve(f, "cameras", 2, 2, 1, replications=1)
    assert whole.warnings == [] and whole.run_length.startswith("each run simulates 300 ms, ")
    res = run_curve(f, "cameras", 2, 2, 1, replications=1, duration_ps=300 * MS)
    assert res.warnings == []


def test_estimates_read_the_scenario_the_shortened_runs_simulate(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    """With a --duration that ends the runs before the scenario's alarm, the curve's and the
    capacity search's fast estimates still counted the alarm (its bitrate tripled in the
    network-calculus bound) while no run saw it. They now estimate what the runs simulate:
    the oracle is estimate() of the scenario shortened as the runs are."""
    alarm = '[[events]]\nkind = "alarm"\ntargets = ["north"]\nat = "250ms"\nduration = "20ms"\n'
    f = write_text(tmp_path / "cams.toml", CAMS + alarm)
    sc = load_scenario(f)
    short = with_overrides(sc, duration_ps=200 * MS)

    def bound(s: Scenario) -> float:
        return estimate(s, build_plan(s, tmp_path)).group_bound_ps("video")

    assert bound(short) < bound(sc)  # the alarm is in the whole scenario's bound only
    res = run_curve(f, "cameras", 2, 2, 1, replications=1, duration_ps=200 * MS)
    nc = res.estimates[res.estimates["method"] == "network-calculus-bound"]
    assert float(nc["value"].iloc[0]) == bound(short)
    whole = run_curve(f, "cameras", 2, 2, 1, replications=1)
    nc = whole.estimates[whole.estimates["method"] == "network-calculus-bound"]
    assert float(nc["value"].iloc[0]) == bound(sc)


def test_runs_stored_by_another_engine_are_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_text: Callable[[Path, str], Path]
) -> None:
    """The run store's key holds the engine's fingerprint: after a change of the model's
    code (here a pretended one) every run is simulated again."""
    f = write_text(tmp_path / "cams.toml", CAMS)
    out = tmp_path / "curve"
    args = [
        str(f),
        "--vary",
        "cameras",
        "--from",
        "2",
        "--to",
        "4",
        "--steps",
        "2",
        "--out",
        str(out),
        "--workers",
        "1",
    ]
    assert CliRunner().invoke(curve_cmd, args).exit_code == 0
    assert "6 runs (6 reused)" in CliRunner().invoke(curve_cmd, args).output
    monkeypatch.setattr(runs_module, "engine_fingerprint", lambda: "another-build")
    r = CliRunner().invoke(curve_cmd, args)
    assert r.exit_code == 0 and "6 runs (0 reused)" in r.output, r.output


def test_engine_fingerprint_follows_the_model_sources() -> None:
    fp = engine_fingerprint()
    assert len(fp) == 16 and fp == engine_fingerprint()
    assert set(MODEL_PACKAGES) >= {"core", "traffic", "network", "scenario"}


def test_curve_bad_ranges_exit_3(tmp_path: Path, write_text: Callable[[Path, str], Path]) -> None:
    f = write_text(tmp_path / "cams.toml", CAMS)
    base = [str(f), "--vary", "cameras", "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(curve_cmd, [*base, "--from", "10", "--to", "2"])
    assert r.exit_code == 3 and "reversed" in r.output
    r = CliRunner().invoke(curve_cmd, [*base, "--from", "4", "--to", "4", "--steps", "3"])
    assert r.exit_code == 3 and "empty" in r.output


def test_curve_of_a_scenario_without_traffic_exits_3(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    """Nothing sends: a curve has nothing to show, and says so (it crashed on the empty
    links of its estimates, exit 1)."""
    f = write_text(tmp_path / "quiet.toml", CAMS.split("[[cameras]]")[0])
    args = [str(f), "--vary", "bitrate", "--from", "1", "--to", "2", "--steps", "2"]
    r = CliRunner().invoke(curve_cmd, [*args, "--workers", "1", "--out", str(tmp_path / "o")])
    assert r.exit_code == 3, r.output
    assert "the scenario has no traffic" in r.output and "Error" not in r.output
    assert not (tmp_path / "o").exists()


def test_capacity_of_a_class_measured_on_nothing_exits_3(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    """The cameras stop inside the warm-up: no run measures a packet, so every target
    passed on nothing and the search doubled to 1024 × the start ("at least 2048
    cameras"). It now stops at the first value, naming the class and the run's length."""
    text = CAMS.replace('duration = "300ms"', 'duration = "300ms"\nwarmup = "100ms"')
    text = text.replace('destinations = ["cc"]', 'destinations = ["cc"]\nstop = "50ms"')
    f = write_text(tmp_path / "stopped.toml", text)
    args = [str(f), "--workers", "1", "--replications", "2", "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(capacity_cmd, args)
    assert r.exit_code == 3, r.output
    assert "at cameras = 2, class 'video' sent no packet in the measured time of any run" in (
        r.output
    )
    assert "first 100 ms of warm-up not measured" in r.output


def test_a_curve_says_which_values_measured_nothing(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    """The cameras stop inside the warm-up: the curve's cells said "nan" with no word of
    why; now "no value", and a warning naming the class, the values and the runs' length."""
    text = CAMS.replace('duration = "300ms"', 'duration = "300ms"\nwarmup = "100ms"')
    text = text.replace('destinations = ["cc"]', 'destinations = ["cc"]\nstop = "50ms"')
    f = write_text(tmp_path / "stopped.toml", text)
    args = [str(f), "--vary", "bitrate", "--from", "1", "--to", "2", "--steps", "2"]
    r = CliRunner().invoke(curve_cmd, [*args, "--workers", "1", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "nan" not in r.output
    assert "1: no value, 2: no value" in r.output
    warning = (
        "class 'video' sent no packet in the measured time of any run at 1, 2 × the nominal "
        "bitrate (each run simulates 300 ms, the first 100 ms of warm-up not measured)"
    )
    assert f"warning: {warning}" in r.output
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert any(w.startswith(warning) for w in manifest["warnings"])


def test_curve_with_failing_runs_is_partial_exit_4(
    tmp_path: Path, write_text: Callable[[Path, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs that fail (here those with an I/P ratio of 1, made to fail: a value the scenario
    refuses is refused before anything runs) leave a partial curve of the others."""

    def failing(sc: Any, **kwargs: Any) -> Any:
        if sc.cameras[0].ip_ratio == 1.0:
            raise ScenarioError("made to fail")
        return run(sc, **kwargs)  # what runs.run_scenario is

    monkeypatch.setattr("vidnet_sim.analysis.runs.run_scenario", failing)
    f = write_text(
        tmp_path / "cams.toml",
        CAMS.replace('phase = "aligned"', 'phase = "aligned"\nip_ratio = 5.0'),
    )
    out = tmp_path / "p"
    r = CliRunner().invoke(
        curve_cmd,
        [
            str(f),
            "--vary",
            "cameras[0].ip_ratio",
            "--from",
            "1",
            "--to",
            "10",
            "--steps",
            "3",
            "--replications",
            "1",
            "--out",
            str(out),
            "--no-plot",
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == 4, r.output
    assert "PARTIAL" in r.output
    t = pd.read_parquet(out / "curve.parquet")
    assert t["partial"].all() and set(t["x"]) == {5.5, 10.0}
    assert json.loads((out / "manifest.json").read_text())["failures"][0]["x"] == 1.0


def test_run_curve_library_api(tmp_path: Path, write_text: Callable[[Path, str], Path]) -> None:
    f = write_text(tmp_path / "cams.toml", CAMS)
    res = run_curve(f, "bitrate", 0.5, 1.0, 2, replications=2)
    assert res.values == [0.5, 1.0] and not res.partial
    lat = res.table[(res.table["metric"] == "latency_max_ps")].set_index("x")["mean"]
    assert lat.loc[0.5] < lat.loc[1.0]  # aligned CBR cameras: bursts grow with bitrate


def test_capacity_reports_the_estimates_beside_the_simulation(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "cams.toml", CAMS)
    res = find_capacity(f, "cameras", replications=2)
    est = res.estimates
    assert res.capacity is not None
    # aligned CBR cameras (I-frames line up): the network-calculus bound is tight, so its
    # guaranteed capacity is the simulated one or just below; the averaging rules, blind to
    # the bursts, overestimate it (docs/domain.md §2)
    assert est["network-calculus-bound"] is not None
    assert est["sum-of-means-60%"] is not None
    assert est["gaussian-equivalent-capacity"] is not None
    assert est["network-calculus-bound"] <= res.capacity
    assert est["network-calculus-bound"] >= res.capacity - 1
    assert est["sum-of-means-60%"] > res.capacity
    assert est["gaussian-equivalent-capacity"] > res.capacity
    # 4 Mbit/s cameras (+ headers) on 100 Mbit/s at 60 %: 14 cameras
    assert est["sum-of-means-60%"] == 14


def _record(x: float, rep: int, p99_ms: float) -> Any:
    from vidnet_sim.analysis.runs import RunRecord

    summary = pd.DataFrame(
        [
            {
                "level": "class",
                "name": "video",
                "latency_p99_ps": p99_ms * MS,
                "packets_sent": 10,
                "frames_sent": 1,
            }
        ]
    )
    links = pd.DataFrame([{"link": "a->b", "utilisation": 0.5, "drops": 0}])
    return RunRecord(x, rep, rep, f"k{rep}", summary, links, reused=False)


def test_a_value_is_decided_only_when_the_interval_clears_the_target() -> None:
    from vidnet_sim.analysis.capacity import _judge

    targets = {"video": {"latency_p99_ps": 50.0 * MS}}
    # straddling: mean 49 ms, wide interval -> undecided, provisionally OK
    v, decided = _judge(1, [_record(1, 0, 40), _record(1, 1, 58)], targets, 0.95)
    assert not decided and v.ok and v.uncertain
    # tight below / above the target -> decided
    v, decided = _judge(
        1, [_record(1, 0, 40), _record(1, 1, 41), _record(1, 2, 40.5)], targets, 0.95
    )
    assert decided and v.ok
    v, decided = _judge(1, [_record(1, 0, 60), _record(1, 1, 61)], targets, 0.95)
    assert decided and not v.ok
    # deterministic replications decide at once, even at the target (not above it)
    v, decided = _judge(1, [_record(1, 0, 50), _record(1, 1, 50)], targets, 0.95)
    assert decided and v.ok


def test_public_names() -> None:
    import vidnet_sim.analysis as analysis

    assert sorted(analysis.__all__) == sorted(
        n
        for n in dir(analysis)
        if not n.startswith("_")
        and n.isidentifier()
        and n not in {"annotations", "estimates", "capacity", "cost", "curve", "runs", "vary"}
        and not isinstance(getattr(analysis, n), type(analysis))
    )


def test_estimated_mean_rates_of_service_sources_match_their_traffic() -> None:
    """The estimates' mean wire rate of on/off (Wi-Fi) and burst (web responses) sources
    against the bytes the generator actually emits over a long run (within 5 %: 200 users'
    Pareto on/off periods average out), and the on/off source's token bucket (its CBR peak)
    is never exceeded."""
    from vidnet_sim.analysis.estimates import arrival_curves, source_rate_moments
    from vidnet_sim.network.plan import build_plan
    from vidnet_sim.traffic.generate import G_T, G_WIRE, generate
    from vidnet_sim.traffic.rows import KIND_BURST, KIND_ONOFF
    from vidnet_sim.traffic.sources import SourceState

    sc = parse_scenario_dict(
        {
            "simulation": {"duration": "200s"},
            "nodes": [{"id": "ap"}, {"id": "gw"}],
            "links": [{"a": "ap", "b": "gw", "rate": "10Gbps"}],
            "services": [
                {"name": "wifi", "kind": "wifi", "at": "ap", "destinations": ["gw"], "users": 200},
                {"name": "web", "kind": "web", "at": "ap", "destinations": ["gw"], "users": 100},
            ],
        }
    )
    plan = build_plan(sc)
    t = plan.sources
    kinds = set(t.kind.tolist())
    assert {KIND_ONOFF, KIND_BURST} <= kinds
    mean, _ = source_rate_moments(plan)
    curves = arrival_curves(plan, sc)
    state = SourceState.initial(t)
    state.active[:] = True
    end = sc.simulation.duration
    sent = np.zeros(len(t))
    for s, rows in enumerate(generate(t, state, 0, end)):
        sent[s] = 8.0 * rows[:, G_WIRE].sum() * 1e12 / end
        if t.kind[s] == KIND_ONOFF and len(rows) > 1:  # token bucket (b, r) holds
            times, wire = rows[:, G_T], rows[:, G_WIRE].astype(float)
            cum = np.cumsum(wire)
            elapsed = (times - times[0]) / 1e12
            assert np.all(cum <= curves.burst_bytes[s] + curves.rate_bps[s] / 8 * elapsed + 1e-6)
    for kind in (KIND_ONOFF, KIND_BURST):
        mask = t.kind == kind
        est, real = mean[mask].sum(), sent[mask].sum()
        assert abs(est / real - 1) < 0.05, (kind, est, real)


def test_estimates_of_a_poisson_source_with_exponential_sizes() -> None:
    """A Poisson source whose sizes are exponential (``ceil(X)``, capped): the estimate no
    longer stops on an assertion; its mean rate and rate variance over 40 ms against 100 s
    of the generated packets (within 2 % and 10 %), its packet sizes 1 byte to the cap."""
    from vidnet_sim.analysis.estimates import source_rate_moments
    from vidnet_sim.traffic.generate import G_T, G_WIRE, generate
    from vidnet_sim.traffic.sources import SourceState

    sc = parse_scenario_dict(
        {
            "simulation": {"duration": "100s"},
            "nodes": [{"id": "a"}, {"id": "b"}],
            "links": [{"a": "a", "b": "b", "rate": "1Gbps"}],
            "sources": [
                {
                    "name": "p",
                    "kind": "poisson",
                    "at": "a",
                    "destinations": ["b"],
                    "rate": "20Mbps",
                    "size_dist": {"kind": "exponential", "mean": "600B", "max": "1500B"},
                }
            ],
        }
    )
    plan = build_plan(sc)
    est = estimate(sc, plan)
    mean, var = source_rate_moments(plan)
    assert est.links["mean_bps"].iloc[0] == pytest.approx(mean[0])
    state = SourceState.initial(plan.sources)
    state.active[:] = True
    end = sc.simulation.duration
    rows = generate(plan.sources, state, 0, end)[0]
    tau = 40 * MS
    bins = np.bincount(rows[:, G_T] // tau, weights=rows[:, G_WIRE].astype(float))
    rates = bins[: end // tau] * 8 * 1e12 / tau
    assert mean[0] == pytest.approx(rates.mean(), rel=0.02)
    assert var[0] == pytest.approx(rates.var(), rel=0.1)
    curves = arrival_curves(plan, sc)
    header = int(plan.sources.header_bytes[0])
    assert curves.min_packet_bytes[0] == 1 + header
    assert curves.max_packet_bytes[0] == 1500 + header


def test_a_curve_counts_runs_not_class_rows() -> None:
    from vidnet_sim.analysis.curve import CURVE_METRICS, CurveResult, aggregate
    from vidnet_sim.analysis.vary import Vary

    records = [_record(x, rep, 10.0) for x in (1.0, 2.0) for rep in range(3)]
    for i, r in enumerate(records):
        one = r.summary.assign(**{m: 1.0 for m in CURVE_METRICS})
        two = one.assign(name="data")  # a second class: two rows per run
        r.summary = pd.concat([one, two], ignore_index=True)
        r.key = f"k{i}"
        r.reused = i < 2
    table, runs = aggregate(records)
    assert len(runs) == 12
    vary = Vary("cameras.north.count", "cameras", None, 1.0)
    res = CurveResult(vary, [1.0, 2.0], table, pd.DataFrame(), runs)
    assert (res.n_runs, res.n_reused) == (6, 2)
