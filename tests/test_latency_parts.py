"""Where latency comes from (``results/latency_parts.py``) against the reference engine, the
run's own exact sums and queueing theory."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from planning import GBPS, MS, US, active_state, cbr, line_plan, poisson, random_tree_plan
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.core.histogram import bucket_edges
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import NetworkPlan, service_time_ps
from vidnet_sim.reference import ReferenceEngine
from vidnet_sim.reference.packets import DELIVERED
from vidnet_sim.results import read_results
from vidnet_sim.results.latency_parts import (
    ACCESS_LINK,
    PARTS,
    LatencyParts,
    explain_lines,
    latency_parts,
    tail_bucket_mask,
)
from vidnet_sim.runner import run

WARMUP, END = 300 * US, 3 * MS


def core_log(
    plan: NetworkPlan, *, warmup: int, end: int, drain: bool, window: int
) -> tuple[RunStats, np.ndarray]:
    engine = CoreEngine(
        plan,
        active_state(plan),
        warmup_ps=warmup,
        end_ps=end,
        drain=drain,
        window_ps=window,
        log=True,
    )
    stats = engine.finish()
    assert engine.packet_log is not None
    return stats, engine.packet_log


def per_pair(parts: LatencyParts, values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(parts.latency_ps), np.int64)
    np.add.at(out, parts.pair, values)
    return out


@pytest.mark.parametrize(
    ("seed", "drain", "multicast"), [(1, True, False), (2, False, False), (3, True, True)]
)
def test_parts_add_up_to_every_reference_packets_latency(
    seed: int, drain: bool, multicast: bool
) -> None:
    """Each delivered packet's queueing, transmission and propagation on its links add up to
    its latency exactly; the packets and latencies are the reference engine's own (per
    delivery flow), the sums the core's exact ``latency_sum_ps``; every transmission part is
    the packet's service time, computed by the reference from its size."""
    plan = random_tree_plan(seed, multicast=multicast)
    stats, log = core_log(plan, warmup=WARMUP, end=END, drain=drain, window=170 * US)
    ref = ReferenceEngine(
        plan, active_state(plan), warmup_ps=WARMUP, end_ps=END, drain=drain, log=True
    )
    ref.finish()
    assert ref.packet_log is not None
    np.testing.assert_array_equal(log, ref.packet_log)  # the start column included
    # the reference's start times: each transmission lasts its packet's service time
    wire = {(p.tree, p.seq): p.wire for p in ref.packets}
    sent = ref.packet_log[ref.packet_log[:, 4] >= 0]
    assert len(sent) > 100
    for tree, seq, link, t, dep, start in sent.tolist():
        assert t <= start < dep
        assert dep - start == service_time_ps(wire[(tree, seq)], int(plan.link_rate_bps[link]))
    parts = LatencyParts(plan, log, warmup_ps=WARMUP, end_ps=END, drain=drain)
    total = sum(per_pair(parts, parts.part(p)) for p in PARTS)
    np.testing.assert_array_equal(total, parts.latency_ps)
    assert np.all(parts.queueing_ps >= 0) and np.all(parts.transmission_ps > 0)
    flow_group = [int(plan.sources.group[int(s)]) for s in plan.flow_source]
    want: dict[int, list[int]] = {}
    for p in ref.packets:
        for f, (t_end, how) in p.outcome.items():
            if p.emit >= WARMUP and how == DELIVERED and (drain or t_end <= END):
                want.setdefault(flow_group[f], []).append(t_end - p.emit)
    for g in range(len(plan.group_names)):
        got = parts.latency_ps[parts.group == g]
        assert sorted(got.tolist()) == sorted(want.get(g, []))
        assert int(got.sum()) == int(stats.latency_sum_ps[g])
        assert len(got) == stats.packets_delivered[g]


def test_tandem_without_queueing_is_transmission_and_propagation_exactly() -> None:
    rates = [10 * GBPS, GBPS, 7 * 10**8 + 1]
    props = [0, 1000, 25 * US]
    wire = 1250
    services = [service_time_ps(wire, r) for r in rates]
    plan = line_plan(rates, props, [wire] * 3, sources=[cbr(max(services), wire)])
    _, log = core_log(plan, warmup=0, end=300 * max(services), drain=True, window=MS)
    table = latency_parts(plan, log, warmup_ps=0, end_ps=300 * max(services), drain=True)
    group = table[table["level"] == "group"].sort_values("hop")
    assert group["queueing_ps"].tolist() == [0.0] * 3
    assert group["transmission_ps"].tolist() == [float(s) for s in services]
    assert group["propagation_ps"].tolist() == [float(p) for p in props]
    assert group["hop"].tolist() == [1, 2, 3]
    assert group["packets"].tolist() == [300] * 3


# M/D/1 at rho = 0.5: relative SE of the mean wait over n packets is 0.61 % at n = 3e5
# (test_theory.py); at n = 2e5 0.75 %, so 4 % is over 5 SE, and an M/M/1-like wait (twice
# as long) or a wait counted with the transmission (+S: +100 %) fails by far.
def test_md1_queueing_part_is_the_pollaczek_khinchine_wait() -> None:
    S = 8 * US
    rho = 0.5
    gap = S / rho
    n = 200_000
    warmup = int(2000 * gap)
    end = int(n * gap)
    plan = line_plan([GBPS], 777, sources=[poisson(gap, 1000, seed=3)])
    stats, log = core_log(plan, warmup=warmup, end=end, drain=True, window=5 * MS)
    table = latency_parts(plan, log, warmup_ps=warmup, end_ps=end, drain=True)
    row = table[table["level"] == "group"].iloc[0]
    expected = rho * S / (2 * (1 - rho))
    assert abs(row["queueing_ps"] / expected - 1) < 0.04, (row["queueing_ps"], expected)
    assert row["transmission_ps"] == S and row["propagation_ps"] == 777
    assert row["packets"] == stats.packets_delivered[0]
    # at the p99 the wait is far longer than on average, the transmission the same
    assert row["queueing_p99_ps"] > 5 * expected and row["transmission_p99_ps"] == S


def test_tail_is_the_bucket_of_the_quantile() -> None:
    lat = np.array([5, 7, 1000, 1001, 1003, 1030, 5000], np.int64)
    lo, hi = bucket_edges()
    # ceil(0.99 * 7) = 7th smallest: 5000, alone in its bucket
    assert tail_bucket_mask(lat).tolist() == [False] * 6 + [True]
    # the 4th smallest (q = 0.5): 1001, in the bucket [1000, 1004) with 1000 and 1003
    assert tail_bucket_mask(lat, 0.5).tolist() == [False, False, True, True, True, False, False]
    b = int(np.searchsorted(lo, 1001, side="right") - 1)
    assert (lo[b], hi[b]) == (1000, 1004)


SCENARIO = """
name = "explain"
[simulation]
duration = "300ms"
warmup = "50ms"
seed = 4
[[nodes]]
id = "agg"
[[nodes]]
id = "nvr"
kind = "recorder"
[[links]]
a = "agg"
b = "nvr"
rate = "100Mbps"
length = "2km"
[[cameras]]
name = "cams"
count = 6
attach = "agg"
resolution = "1080p"
bitrate = "8Mbps"
destinations = ["nvr"]
[[sources]]
name = "telemetry"
kind = "poisson"
at = "agg"
destinations = ["nvr"]
rate = "5Mbps"
size = "400B"
"""


def test_run_explain_table_is_the_reference_and_adds_up_to_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "explain.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    res = run(path, explain=True, out_dir=tmp_path / "out")
    parts = res.latency_parts
    assert parts is not None
    ref = run(path, explain=True, engine="reference", write=False)
    assert ref.latency_parts is not None and ref.latency_parts.equals(parts)
    back = read_results(tmp_path / "out").latency_parts
    assert back is not None and back.equals(parts)
    summary = {(r["level"], r["name"]): r for r in res.tables.summary.to_dict("records")}
    lo, hi = bucket_edges()
    for (level, name), rows in parts.groupby(["level", "name"]):
        s = summary[(level, name)]
        mean = sum(rows[f"{p}_ps"].sum() for p in PARTS)
        assert mean == pytest.approx(s["latency_mean_ps"], rel=1e-12)
        assert rows["packets"].max() == s["packets_delivered"]
        tail = sum(rows[f"{p}_p99_ps"].sum() for p in PARTS)
        b = int(np.searchsorted(lo, int(s["latency_p99_ps"]), side="right") - 1)
        assert lo[b] <= tail < hi[b]
    cams = parts[(parts["level"] == "group") & (parts["name"] == "cams")]
    assert cams["link"].tolist() == [ACCESS_LINK, "agg->nvr"]
    assert cams["access"].tolist() == [True, False]
    lines = explain_lines(parts, res.tables.links)
    assert len(lines) == 2 and lines[0].startswith("video p99 ")
    assert any("at camera access (100 Mbit/s" in line for line in lines)
    no = run(path, write=False)
    assert no.latency_parts is None and not math.isnan(no.tables.summary["latency_mean_ps"][0])


def test_parts_through_a_failure_and_its_reroute() -> None:
    """Packets emitted after the reroute take the protection path (its links get rows),
    those lost count nowhere; the parts still add up to the exact mean, and the table is the
    reference engine's."""
    path = Path(__file__).parent / "data" / "cli" / "failure_reroute.toml"
    res = run(path, explain=True, write=False)
    parts = res.latency_parts
    assert parts is not None
    assert res.plan is not None and res.plan.route_switches
    ref = run(path, explain=True, write=False, engine="reference")
    assert ref.latency_parts is not None and ref.latency_parts.equals(parts)
    cams = parts[(parts["level"] == "group") & (parts["name"] == "cams")]
    assert {"a->c", "c->d", "b->d"} <= set(cams["link"])
    s = res.tables.summary
    mean = float(s[(s["level"] == "group") & (s["name"] == "cams")]["latency_mean_ps"].iloc[0])
    assert sum(cams[f"{p}_ps"].sum() for p in PARTS) == pytest.approx(mean, rel=1e-12)
