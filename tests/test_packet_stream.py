"""The packet log streamed window by window (``results/packet_stream.py``): the ``packets``
table and the latency parts equal those of the whole run's log, a brute-force walk of each
packet's tree, and the reference engine's; what the stream holds is bounded by the packets
in flight; the run folder is still replaced whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from planning import (
    GBPS,
    MS,
    US,
    active_state,
    line_plan,
    poisson,
    random_tree_plan,
    whole_log,
    with_failures,
    with_queues,
)
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.reference import ReferenceEngine, stats_differences
from vidnet_sim.results import read_results
from vidnet_sim.results.latency_parts import LatencyPartsSums, latency_parts
from vidnet_sim.results.packet_stream import PacketLogStream
from vidnet_sim.results.packets import PacketsWriter, packets_table, sampled
from vidnet_sim.runner import access_links, run

DATA = Path(__file__).parent / "data" / "cli"
WARMUP, END = 300 * US, 3 * MS


# --- a brute-force oracle: each packet's tree walked in Python ----------------------------
def _sampled_one(tree: int, seq: int, sample: float) -> bool:
    h = (tree * 0x9E3779B97F4A7C15 + seq * 0xC2B2AE3D27D4EB4F + 0x165667B19E3779F9) % 2**64
    h ^= h >> 31
    h = (h * 0xBF58476D1CE4E5B9) % 2**64
    h ^= h >> 29
    return h / 2**64 < sample


def _walk(
    plan: NetworkPlan, root: int, emit: int, at: dict[int, tuple[int, int]]
) -> dict[int, tuple[str, int, int]]:
    """Each reached delivery flow's ``(outcome, end, lost link)``, walking the layout rooted
    at ``root`` along a packet's rows ``at`` (link -> (arrival, departure))."""
    deliver, pos_end = list(plan.pos_deliver), list(plan.pos_end)
    ended: dict[int, tuple[str, int, int]] = {}
    if deliver[root] >= 0:
        ended[int(deliver[root])] = ("delivered", emit, -1)
    stack = plan.children(root)
    while stack:
        p = stack.pop()
        link = int(plan.pos_link[p])
        if link not in at:
            continue
        t_arr, t_dep = at[link]
        if t_dep < 0:
            for f in deliver[p : pos_end[p]]:
                if f >= 0:
                    ended[int(f)] = ("lost", t_arr, link)
            continue
        if deliver[p] >= 0:
            ended[int(deliver[p])] = ("delivered", t_dep + int(plan.link_prop_ps[link]), -1)
        stack.extend(plan.children(p))
    return ended


def walked_rows(
    plan: NetworkPlan, log: np.ndarray, *, warmup: int, end: int, drain: bool, sample: Any
) -> Iterator[tuple[int, int, int, int, str, int, int]]:
    """``(tree, seq, flow, emission, outcome, end, lost link)`` per packet and flow, by
    walking each packet's layout from its root along its log rows."""
    layouts = [(0, list(plan.tree_pos0))]
    for sw in sorted(plan.route_switches, key=lambda s: s.t_ps):
        roots = list(layouts[-1][1])
        for t, r in zip(sw.trees, sw.pos0, strict=True):
            roots[int(t)] = int(r)
        layouts.append((int(sw.t_ps), roots))
    by_packet: dict[tuple[int, int], dict[int, tuple[int, int]]] = {}
    for tree, seq, link, t_arr, t_dep, _ in log.tolist():
        by_packet.setdefault((tree, seq), {})[link] = (t_arr, t_dep)
    for (tree, seq), at in sorted(by_packet.items()):
        emit = min(a for a, _ in at.values())
        if emit < warmup or (sample is not None and not _sampled_one(tree, seq, sample)):
            continue
        root = int([r for t0, r in layouts if t0 <= emit][-1][tree])
        ended = _walk(plan, root, emit, at)
        for f in plan.pos_deliver[root : plan.pos_end[root]]:
            if f < 0:
                continue
            how, t, link = ended.get(int(f), ("in_flight", -1, -1))
            if how != "in_flight" and not drain and t > end:
                how, t, link = "in_flight", -1, -1
            yield tree, seq, int(f), emit, how, t, link


def streamed(
    plan: NetworkPlan, *, drain: bool, window: int, sample: Any = None, access: Any = ()
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, PacketLogStream]:
    """The packets table and latency parts of a core run streamed window by window, and the
    same run's whole log (a second run, without the sink, in one window: the log does not
    depend on the windows)."""
    stream = PacketLogStream(
        plan, warmup_ps=WARMUP, end_ps=END, drain=drain, sample=sample, packets=PacketsWriter()
    )
    stream.parts = LatencyPartsSums(plan, access_links=set(access))
    kw: dict[str, Any] = dict(warmup_ps=WARMUP, end_ps=END, drain=drain)
    CoreEngine(plan, active_state(plan), log=True, log_sink=stream, window_ps=window, **kw).finish()
    whole = CoreEngine(plan, active_state(plan), log=True, window_ps=END, **kw)
    whole.finish()
    assert whole.packet_log is not None and stream.packets is not None
    return stream.packets.frame(), stream.parts.table(), whole.packet_log, stream


PLANS = {
    "multicast drain": (lambda: random_tree_plan(3, multicast=True), True),
    "no drain": (lambda: random_tree_plan(2), False),
    "priority queues": (
        lambda: with_queues(random_tree_plan(1, multicast=True), "priority"),
        False,
    ),
    "failure": (lambda: with_failures(random_tree_plan(4), {3: [(MS, 2 * MS)]}), True),
}


@pytest.mark.parametrize("case", PLANS)
@pytest.mark.parametrize("sample", [None, 0.3])
def test_streamed_tables_are_the_whole_logs(case: str, sample: float | None) -> None:
    """Window by window (windows of 37 us: 80 of them), the ``packets`` table is the whole
    log's, row for row once in packet order, and the brute-force walk's; the latency parts
    are the whole log's, exactly."""
    make, drain = PLANS[case]
    plan = make()
    packets, parts, log, stream = streamed(
        plan, drain=drain, window=37 * US, sample=sample, access=plan.link_names[:2]
    )
    whole = packets_table(plan, log, warmup_ps=WARMUP, end_ps=END, drain=drain, sample=sample)
    pd.testing.assert_frame_equal(packets, whole)
    rows = list(walked_rows(plan, log, warmup=WARMUP, end=END, drain=drain, sample=sample))
    names = [*plan.link_names, ""]
    assert [
        (r.tree, r.seq, r.flow, r.emission_ps, r.outcome, r.end_ps, r.lost_at)
        for r in packets.itertuples()
    ] == [(*r[:6], names[r[6]]) for r in rows]
    assert {"delivered", "lost"} <= set(packets["outcome"])
    want = latency_parts(
        plan, log, warmup_ps=WARMUP, end_ps=END, drain=drain, access_links=set(plan.link_names[:2])
    )
    pd.testing.assert_frame_equal(parts, want)
    assert 0 < stream.peak_pending_rows < len(log) and stream.pending_rows == 0


def test_reference_log_gives_the_same_tables() -> None:
    """The reference engine's log, given whole to a stream, gives the core's streamed
    tables."""
    plan = random_tree_plan(3, multicast=True)
    packets, parts, _, _ = streamed(plan, drain=False, window=170 * US)
    stream = PacketLogStream(
        plan, warmup_ps=WARMUP, end_ps=END, drain=False, packets=PacketsWriter()
    )
    stream.parts = LatencyPartsSums(plan)
    ref = ReferenceEngine(
        plan,
        active_state(plan),
        warmup_ps=WARMUP,
        end_ps=END,
        drain=False,
        log=True,
        log_sink=stream,
    )
    ref.finish()
    assert stream.packets is not None
    pd.testing.assert_frame_equal(stream.packets.frame(), packets)
    pd.testing.assert_frame_equal(stream.parts.table(), parts)


def test_sample_hash_is_the_scalar_hash() -> None:
    rng = np.random.default_rng(5)
    tree = rng.integers(0, 2**20, 2000)
    seq = rng.integers(0, 2**40, 2000)
    for share in (0.01, 0.5, 0.999):
        want = [_sampled_one(int(t), int(s), share) for t, s in zip(tree, seq, strict=True)]
        assert sampled(tree, seq, share).tolist() == want


def test_what_the_stream_holds_does_not_grow_with_the_run() -> None:
    """The rows held between windows are those of the packets in flight (queued, or on a
    50 us fibre between two links): about as many over a run 8x longer (Poisson packets on
    three links at 50 % load), however many rows the run writes."""
    plan = line_plan([GBPS] * 3, [1000, 50 * US, 0], sources=[poisson(16.0 * US, 1000, seed=3)])
    peaks, rows = [], []
    for end in (20 * MS, 160 * MS):
        stream = PacketLogStream(
            plan, warmup_ps=MS, end_ps=end, drain=True, packets=PacketsWriter()
        )
        engine = CoreEngine(
            plan,
            active_state(plan),
            warmup_ps=MS,
            end_ps=end,
            drain=True,
            window_ps=MS,
            log=True,
            log_sink=stream,
        )
        engine.finish()
        assert stream.packets is not None
        peaks.append(stream.peak_pending_rows)
        rows.append(stream.packets.rows)
    assert rows[1] > 7 * rows[0] > 7000
    assert 0 < peaks[1] < 2 * peaks[0] + 10, peaks


def whole_run(path: Path, **kw: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The packets table and latency parts of a scenario's run built from its whole log
    (the driver and engine the run uses, the log kept and read after the run)."""
    plan, log, sim, sc = whole_log(path)
    w, e, d = sim.warmup, sim.duration, sim.drain
    access = set(access_links(sc, plan))
    return (
        packets_table(plan, log, warmup_ps=w, end_ps=e, drain=d, **kw),
        latency_parts(plan, log, warmup_ps=w, end_ps=e, drain=d, access_links=access),
    )


def scenario_with(tmp_path: Path, name: str, simulation: str) -> Path:
    """A copy of a test scenario with lines added to its ``[simulation]`` table."""
    text = (DATA / name).read_text().replace("[simulation]\n", f"[simulation]\n{simulation}\n")
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("sample", [None, 0.25])
def test_run_streams_the_whole_runs_tables(tmp_path: Path, sample: float | None) -> None:
    """``run --packets --explain`` on a failure and its reroute (drops at the failed link and
    an overloaded one, epochs every 20 ms, a warm-up, 2 ms windows: 75 of them): the table
    read back, the one in memory and the latency parts are the whole log's."""
    path = scenario_with(
        tmp_path, "failure_reroute.toml", 'window = "2ms"\nreport_interval = "20ms"'
    )
    want_packets, want_parts = whole_run(path, sample=sample)
    out = tmp_path / "out"
    res = run(path, packets=True, explain=True, sample=sample, out_dir=out)
    got = read_results(out).packets
    assert got is not None and res.packets is not None
    pd.testing.assert_frame_equal(got, want_packets)
    pd.testing.assert_frame_equal(res.packets, want_packets)
    assert res.latency_parts is not None
    pd.testing.assert_frame_equal(res.latency_parts, want_parts)
    assert set(got["outcome"]) == {"delivered", "lost"} and (got["lost_at"] == "a->b").any()
    assert len(res.stats.epoch_starts_ps) > 5
    assert res.manifest["packets"] == {"rows": len(want_packets), "sample": sample, "groups": None}
    held = run(path, packets=True, sample=sample, write=False)
    assert held.packets is not None
    pd.testing.assert_frame_equal(held.packets, want_packets)
    # the statistics are those of a run without the log (window by window, the same windows)
    assert stats_differences(res.stats, run(path, write=False).stats) == []


def test_a_run_that_fails_leaves_the_previous_folder(tmp_path: Path) -> None:
    """The per-packet table streams into the staging folder: a run failing midway leaves
    the previous run's folder whole and no staging folder behind."""
    path = DATA / "failure_reroute.toml"
    out = tmp_path / "out"
    run(path, out_dir=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail(done: int, total: int) -> None:
        if done > total // 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        run(path, packets=True, out_dir=out, on_progress=fail)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(os.listdir(tmp_path)) == ["out"]
