"""Per-queue statistics of scheduled links (``RunStats.queue_*``, the ``queues`` table) and
the links' mean wait, against the packet log, the reference engine and Cobham's formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planning import GBPS, MS, US, active_state, line_plan, poisson, with_queues
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import NetworkPlan, service_time_ps
from vidnet_sim.reference import ReferenceEngine, stats_differences
from vidnet_sim.results import build_tables, read_results
from vidnet_sim.results.tables import queues_table
from vidnet_sim.runner import run


def run_both(plan: NetworkPlan, end: int, warmup: int) -> tuple[RunStats, np.ndarray]:
    """The core's stats and log, after checking the reference engine's are the same."""
    core = CoreEngine(
        plan, active_state(plan), warmup_ps=warmup, end_ps=end, drain=True, window_ps=MS, log=True
    )
    st = core.finish()
    ref = ReferenceEngine(plan, active_state(plan), warmup_ps=warmup, end_ps=end, drain=True)
    assert stats_differences(st, ref.finish()) == []
    assert core.packet_log is not None
    return st, core.packet_log


def priority_line(buffers: list[int | None], rho: float = 0.3) -> NetworkPlan:
    """Two Poisson classes of 1000 B (S = 8 µs) at ``rho`` each on one 1 Gbit/s link,
    strict priority: ``hi`` in queue 0, ``lo`` in queue 1, each with ``buffers[q]`` bytes."""
    gap = service_time_ps(1000, GBPS) / rho
    plan = line_plan(
        [GBPS], sources=[poisson(gap, 1000, cls="hi", seed=3), poisson(gap, 1000, cls="lo", seed=4)]
    )
    return with_queues(plan, "priority", class_queue={"hi": 0, "lo": 1}, buffers=buffers)


def test_queue_counters_are_the_logs_and_the_references() -> None:
    """An overloaded priority link (rho 0.55 per class) with a small low-priority buffer:
    the low queue drops, the high one does not; each queue's counters add up to the link's
    and are the packet log's own (waits = transmission start - arrival), and the reference
    engine counts the same."""
    plan = priority_line([None, 6000], rho=0.55)
    warmup, end = 200 * US, 8 * MS
    st, log = run_both(plan, end, warmup)
    assert st.queue_drops[0].tolist() == [0, st.link_drops[0]] and st.link_drops[0] > 0
    for mine, link in (
        ("queue_packets", "link_packets"),
        ("queue_bytes", "link_bytes"),
        ("queue_drop_bytes", "link_drop_bytes"),
        ("queue_wait_sum_ps", "link_wait_sum_ps"),
        ("queue_started", "link_started"),
    ):
        assert getattr(st, mine)[0].sum() == getattr(st, link)[0], mine
    assert st.queue_peak_wait_ps[0].max() == st.link_peak_wait_ps[0]
    assert st.queue_peak_bytes[0, 1] <= 6000
    measured = log[(log[:, 3] >= warmup) & (log[:, 3] < end) & (log[:, 5] >= 0)]
    for q in (0, 1):  # tree q is class q's source (one tree each)
        rows = measured[measured[:, 0] == q]
        assert st.queue_started[0, q] == len(rows)
        assert st.queue_wait_sum_ps[0, q] == int((rows[:, 5] - rows[:, 3]).sum())
        assert st.queue_peak_wait_ps[0, q] == int((rows[:, 5] - rows[:, 3]).max())
    table = queues_table(st, plan)
    assert (
        table["queue_index"].tolist() == [0, 1] and table["scheduler"].tolist() == ["priority"] * 2
    )
    assert table["classes"].tolist() == ["hi", "lo"]
    lo = table.iloc[1]
    assert lo["loss"] == st.queue_drops[0, 1] / (st.queue_packets[0, 1] + st.queue_drops[0, 1])
    assert lo["mean_wait_ps"] == st.queue_wait_sum_ps[0, 1] / st.queue_started[0, 1]
    links = build_tables(st).links
    assert links["mean_wait_ps"][0] == st.link_wait_sum_ps[0] / st.link_started[0]


# Cobham (non-preemptive priority, M/G/1): W_k = W0 / ((1 - s_{k-1})(1 - s_k)) with
# W0 = sum_i lambda_i E[S_i^2] / 2; here (rho 0.3 per class, S = 8 µs) W0 = 2.4 µs,
# W_hi = 3.43 µs, W_lo = 8.57 µs (FIFO: 6 µs for both). Relative SE of the means measured in
# test_reference_qos.check_cobham: 0.9 % (high) and 1.9 % (low) at 60 000 packets, so at
# 600 000 about 0.3 % and 0.6 %: 3 % is at least 5 SE, and FIFO's 6 µs is 40 % off either.
def test_priority_queues_mean_waits_are_cobhams() -> None:
    rho, S = 0.3, service_time_ps(1000, GBPS)
    n = 600_000
    end = int(n * S / rho / 2)
    plan = priority_line([None, None])
    core = CoreEngine(
        plan, active_state(plan), warmup_ps=end // 20, end_ps=end, drain=True, window_ps=5 * MS
    )
    st = core.finish()
    w0 = 2 * rho * S / 2
    expected = [w0 / (1 - rho), w0 / ((1 - rho) * (1 - 2 * rho))]
    table = queues_table(st, plan)
    for q, want in enumerate(expected):
        got = table["mean_wait_ps"][q]
        assert abs(got / want - 1) < 0.03, (q, got, want)
    assert st.queue_drops.sum() == 0


SCENARIO = """
name = "queues"
[simulation]
duration = "400ms"
warmup = "50ms"
[[nodes]]
id = "agg"
[[nodes]]
id = "nvr"
kind = "recorder"
[[links]]
a = "agg"
b = "nvr"
rate = "20Mbps"
buffer = "64KiB"
[[cameras]]
name = "cams"
count = 4
attach = "agg"
resolution = "720p"
bitrate = "2Mbps"
destinations = ["nvr"]
[[sources]]
name = "bulk"
kind = "poisson"
class = "bulk"
at = "agg"
destinations = ["nvr"]
rate = "14Mbps"
size = "1400B"
[qos]
scheduler = "priority"
[[qos.queues]]
name = "video"
dscp = ["CS3"]
[[qos.queues]]
name = "rest"
dscp = ["CS1", "BE"]
priority = 1
"""


def test_run_writes_the_queues_table(tmp_path: Path) -> None:
    path = tmp_path / "q.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    res = run(path, out_dir=tmp_path / "out")
    queues = read_results(tmp_path / "out").queues
    assert queues.equals(res.tables.queues)
    agg = queues[queues["link"] == "agg->nvr"].set_index("queue")
    assert agg["classes"].to_dict() == {"video": "video", "rest": "bulk"}
    wait = agg["mean_wait_ps"].to_dict()
    assert wait["rest"] > wait["video"]  # best effort waits behind video
    links = res.tables.links.set_index("link")
    assert agg["packets"].sum() == links.loc["agg->nvr", "packets"]
    assert agg["drops"].sum() == links.loc["agg->nvr", "drops"]
    ref = run(path, engine="reference", write=False)
    assert ref.tables.queues.equals(res.tables.queues)


@pytest.mark.parametrize("scheduler", ["fifo"])
def test_fifo_links_have_no_queue_rows(scheduler: str) -> None:
    plan = with_queues(priority_line([None, None]), scheduler)
    st, _ = run_both(plan, 2 * MS, 0)
    assert queues_table(st, plan).empty and not st.queue_packets.any()
