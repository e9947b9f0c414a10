"""The ``packet_hops`` table (``results/packet_hops.py``) and the choice of groups of the
per-packet tables: the hops are the reference engine's log rows, read row by row in Python;
a delivered packet's hops add up to its latency; no copy vanishes; streamed window by
window they are the whole log's; only the chosen groups' packets are listed, and the others'
rows are dropped before anything else is done with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from planning import (
    MS,
    US,
    active_state,
    random_tree_plan,
    whole_log,
    with_failures,
    with_queues,
)
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.reference import ReferenceEngine
from vidnet_sim.results import ResultsNotFoundError, read_results
from vidnet_sim.results.latency_parts import LatencyPartsSums
from vidnet_sim.results.packet_hops import PACKET_HOPS_SCHEMA, packet_hops_table
from vidnet_sim.results.packet_stream import PacketLogStream
from vidnet_sim.results.packets import (
    PacketsWriter,
    UnknownGroupError,
    group_trees,
    packets_table,
    sampled,
)
from vidnet_sim.runner import run

DATA = Path(__file__).parent / "data" / "cli"
WARMUP, END = 300 * US, 3 * MS

PLANS = {
    "multicast drain": (lambda: random_tree_plan(3, multicast=True), True),
    "multicast no drain": (lambda: random_tree_plan(2, multicast=True), False),
    "priority queues": (
        lambda: with_queues(random_tree_plan(1, multicast=True), "priority"),
        False,
    ),
    "failure": (lambda: with_failures(random_tree_plan(4), {3: [(MS, 2 * MS)]}), True),
}


# --- oracles: the log read row by row, each packet's layout walked in Python ---------------
def layout_root(plan: NetworkPlan, tree: int, emit: int) -> int:
    """The root position of the layout of ``tree`` in force at ``emit``."""
    root = int(plan.tree_pos0[tree])
    for sw in sorted(plan.route_switches, key=lambda s: s.t_ps):
        if sw.t_ps <= emit:
            for t, r in zip(sw.trees, sw.pos0, strict=True):
                if int(t) == tree:
                    root = int(r)
    return root


def layout(plan: NetworkPlan, root: int) -> dict[int, tuple[int, int, int]]:
    """Each link of the layout rooted at ``root``: ``(position, parent link or -1, depth)``."""
    out: dict[int, tuple[int, int, int]] = {}
    stack = [(c, -1, 1) for c in plan.children(root)]
    while stack:
        p, parent, depth = stack.pop()
        link = int(plan.pos_link[p])
        out[link] = (p, parent, depth)
        stack.extend((c, link, depth + 1) for c in plan.children(p))
    return out


def hops_from_log(
    plan: NetworkPlan,
    log: np.ndarray,
    *,
    drain: bool,
    groups: set[str] | None = None,
    sample: float | None = None,
) -> list[tuple[Any, ...]]:
    """The rows ``packet_hops`` should have, computed from the log row by row."""
    emit: dict[tuple[int, int], int] = {}
    for tree, seq, _, t_arr, _, _ in log.tolist():
        emit[tree, seq] = min(emit.get((tree, seq), t_arr), t_arr)
    source_group = list(plan.sources.group)
    out = []
    for tree, seq, link, t_arr, t_dep, t_start in sorted(log.tolist(), key=lambda r: r[:2]):
        group = plan.group_names[int(source_group[int(plan.tree_source[tree])])]
        if emit[tree, seq] < WARMUP or (groups is not None and group not in groups):
            continue
        if sample is not None and not sampled(np.array([tree]), np.array([seq]), sample)[0]:
            continue
        if not drain and t_arr > END:
            continue
        pos, _, depth = layout(plan, layout_root(plan, tree, emit[tree, seq]))[link]
        outcome, end = ("departed", t_dep) if t_dep >= 0 else ("lost", t_arr)
        if not drain and end > END:
            outcome, end = "in_flight", -1
        start = t_start if drain or t_start <= END else -1
        wait = float(start - t_arr) if start >= 0 else np.nan
        sent = float(end - start) if outcome == "departed" else np.nan
        flow = int(plan.pos_deliver[pos])
        prop = int(plan.link_prop_ps[link])
        name = plan.link_names[link]
        out.append(
            (tree, seq, group, flow, depth, name, t_arr, start, end, outcome, wait, sent, prop)
        )
    return out


def rows(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    return list(df.itertuples(index=False, name=None))


def same_rows(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> bool:
    """Equal, NaN equal to NaN."""
    fix = [tuple("nan" if isinstance(x, float) and np.isnan(x) else x for x in r) for r in got]
    fixw = [tuple("nan" if isinstance(x, float) and np.isnan(x) else x for x in r) for r in want]
    return fix == fixw


def reference_log(plan: NetworkPlan, drain: bool) -> np.ndarray:
    ref = ReferenceEngine(
        plan, active_state(plan), warmup_ps=WARMUP, end_ps=END, drain=drain, log=True
    )
    ref.finish()
    assert ref.packet_log is not None
    return ref.packet_log


def core_streamed(
    plan: NetworkPlan, drain: bool, *, explain: bool = False, **chosen: Any
) -> tuple[pd.DataFrame, pd.DataFrame, PacketLogStream]:
    """The ``packets`` and ``packet_hops`` tables of a core run streamed in 37 us windows."""
    stream = PacketLogStream(
        plan,
        warmup_ps=WARMUP,
        end_ps=END,
        drain=drain,
        packets=PacketsWriter(),
        hops=PacketsWriter(schema=PACKET_HOPS_SCHEMA),
        **chosen,
    )
    if explain:
        stream.parts = LatencyPartsSums(plan)
    CoreEngine(
        plan,
        active_state(plan),
        warmup_ps=WARMUP,
        end_ps=END,
        drain=drain,
        log=True,
        log_sink=stream,
        window_ps=37 * US,
    ).finish()
    assert stream.packets is not None and stream.hops is not None
    return stream.packets.frame(), stream.hops.frame(), stream


# --- the table against the reference engine's log -----------------------------------------
@pytest.mark.parametrize("case", PLANS)
def test_hops_are_the_reference_logs_rows(case: str) -> None:
    """Streamed window by window from the core, the per-hop table is, row for row and
    column for column, the reference engine's log read in Python, and the whole core log's;
    the runs drop packets (buffers, the failure) and multicast copies go on past a flow."""
    make, drain = PLANS[case]
    plan = make()
    _, hops, _ = core_streamed(plan, drain)
    log = reference_log(plan, drain)
    assert same_rows(rows(hops), hops_from_log(plan, log, drain=drain))
    whole = packet_hops_table(plan, log, warmup_ps=WARMUP, end_ps=END, drain=drain)
    pd.testing.assert_frame_equal(hops, whole)
    assert {"departed", "lost"} <= set(hops["outcome"])
    assert (hops["flow"] < 0).any() and (hops["flow"] >= 0).any()
    if not drain:
        assert (hops["outcome"] == "in_flight").any()


@pytest.mark.parametrize("case", PLANS)
def test_hops_add_up_to_the_latency_and_no_copy_vanishes(case: str) -> None:
    """Along each delivered packet's path (walked up from its flow's position), waits,
    transmissions and propagations add up to its latency in ``packets``. Every copy that
    left a link reaches each link below it (unless after the end of a run without drain)
    at its departure plus the propagation, and every flow's outcome is that of the copy
    reaching it: delivered at its last hop's departure plus propagation, lost where a hop
    of its path lost it, else in flight."""
    make, drain = PLANS[case]
    plan = make()
    packets, hops, _ = core_streamed(plan, drain)
    by_packet: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for row in hops.to_dict("records"):
        by_packet.setdefault((int(row["tree"]), int(row["seq"])), {})[str(row["link"])] = {
            str(k): v for k, v in row.items()
        }
    names = list(plan.link_names)
    layouts: dict[int, dict[int, tuple[int, int, int]]] = {}
    checked = {"delivered": 0, "lost": 0, "in_flight": 0}
    for r in packets.to_dict("records"):
        at = by_packet.get((int(r["tree"]), int(r["seq"])), {})
        root = layout_root(plan, int(r["tree"]), int(r["emission_ps"]))
        links = layouts.setdefault(root, layout(plan, root))
        flow = int(r["flow"])
        q = next(p for p in range(root, int(plan.pos_end[root])) if plan.pos_deliver[p] == flow)
        path = []
        link = int(plan.pos_link[q])
        while link >= 0:
            path.append(names[link])
            link = links[link][1]
        path.reverse()
        on = [at[x] for x in path if x in at]
        outcome = str(r["outcome"])
        checked[outcome] += 1
        if outcome == "delivered":
            assert len(on) == len(path) and all(h["outcome"] == "departed" for h in on)
            parts = ("wait_ps", "transmission_ps", "propagation_ps")
            assert sum(h[k] for h in on for k in parts) == r["latency_ps"]
            assert on[-1]["end_ps"] + on[-1]["propagation_ps"] == r["end_ps"]
            assert on[-1]["flow"] == flow
        elif outcome == "lost":
            assert on[-1]["outcome"] == "lost" and on[-1]["link"] == r["lost_at"]
            assert on[-1]["arrival_ps"] == r["end_ps"]
            assert all(h["outcome"] == "departed" for h in on[:-1])
        else:  # not lost on its path: not there yet, or leaving or delivered after the end
            assert drain is False and all(h["outcome"] != "lost" for h in on)
            complete = len(on) == len(path) and all(h["outcome"] == "departed" for h in on)
            assert not complete or on[-1]["end_ps"] + on[-1]["propagation_ps"] > END
    assert checked["delivered"] and checked["lost"] and (drain or checked["in_flight"])
    for (tree, _seq), at in by_packet.items():  # every departed copy reaches each link below
        emit = min(h["arrival_ps"] for h in at.values())
        root = layout_root(plan, tree, emit)
        links = layouts.setdefault(root, layout(plan, root))
        for name, h in at.items():
            link = names.index(name)
            parent = links[link][1]
            if parent >= 0:
                up = at[names[parent]]
                assert up["outcome"] == "departed"
                assert h["arrival_ps"] == up["end_ps"] + up["propagation_ps"]
            arrives = h["end_ps"] + h["propagation_ps"]
            if h["outcome"] == "departed" and (drain or arrives <= END):
                below = [names[c] for c, (_, p_link, _) in links.items() if p_link == link]
                assert all(c in at for c in below)


# --- choosing groups ------------------------------------------------------------------------
def in_sample(df: pd.DataFrame, sample: float) -> np.ndarray:
    return sampled(df["tree"].to_numpy(np.int64), df["seq"].to_numpy(np.int64), sample)


def test_chosen_groups_are_the_whole_tables_rows_of_those_groups() -> None:
    """With groups (and a sample), the streamed tables are the rows of those groups (and
    sample) of the whole tables, with or without latency parts; without latency parts the
    other groups' rows are dropped as they come, so the stream holds fewer rows."""
    plan = random_tree_plan(3, multicast=True)
    chosen = [plan.group_names[0], plan.group_names[3]]
    all_packets, all_hops, all_stream = core_streamed(plan, True)
    for sample in (None, 0.5):
        for explain in (False, True):
            trees = group_trees(plan, chosen)
            packets, hops, stream = core_streamed(
                plan, True, explain=explain, trees=trees, sample=sample
            )
            want_p = all_packets[all_packets["group"].isin(chosen)]
            want_h = all_hops[all_hops["group"].isin(chosen)]
            if sample is not None:
                want_p = want_p[in_sample(want_p, sample)]
                want_h = want_h[in_sample(want_h, sample)]
            pd.testing.assert_frame_equal(packets, want_p.reset_index(drop=True))
            pd.testing.assert_frame_equal(hops, want_h.reset_index(drop=True))
            assert set(packets["group"]) == set(chosen) == set(hops["group"])
            if not explain:
                assert stream.peak_pending_rows < all_stream.peak_pending_rows
    log = reference_log(plan, True)
    assert same_rows(
        rows(packet_hops_table(plan, log, warmup_ps=WARMUP, end_ps=END, drain=True, groups=chosen)),
        hops_from_log(plan, log, drain=True, groups=set(chosen)),
    )
    got = packets_table(plan, log, warmup_ps=WARMUP, end_ps=END, drain=True, groups=chosen)
    pd.testing.assert_frame_equal(
        got, all_packets[all_packets["group"].isin(chosen)].reset_index(drop=True)
    )


def test_an_unknown_group_is_named_with_the_known_ones() -> None:
    plan = random_tree_plan(1)
    known = ", ".join(plan.group_names)
    with pytest.raises(UnknownGroupError) as err:
        group_trees(plan, [plan.group_names[0], "nope", plan.group_names[1] + "x"])
    msg = str(err.value)
    assert "'nope'" in msg and f"did you mean {plan.group_names[1]!r}" in msg
    assert msg.endswith(f"(the scenario's groups: {known})")
    assert group_trees(plan, None) is None
    one = group_trees(plan, plan.group_names[2])
    assert one is not None and one.tolist() == [s == 2 for s in plan.tree_source.tolist()]


def test_run_hops_on_a_failure_and_its_reroute(tmp_path: Path) -> None:
    """``run(hops=True)`` on a failure and its reroute (2 ms windows): the per-hop table read
    back (lazily) and the one in memory are the whole log's, and the reference engine's run
    gives the same rows; both layouts are used."""
    text = (DATA / "failure_reroute.toml").read_text()
    path = tmp_path / "f.toml"
    path.write_text(text.replace("[simulation]\n", '[simulation]\nwindow = "2ms"\n'))
    plan, log, sim, _ = whole_log(path)
    want = packet_hops_table(plan, log, warmup_ps=sim.warmup, end_ps=sim.duration, drain=sim.drain)
    out = tmp_path / "out"
    res = run(path, hops=True, out_dir=out)
    assert res.held_packet_hops is None  # not read until asked for
    got = read_results(out)
    assert got.packets is not None and got.packet_hops is not None
    pd.testing.assert_frame_equal(got.packet_hops, want)
    assert res.packet_hops is not None
    pd.testing.assert_frame_equal(res.packet_hops, want)
    assert res.manifest["hops"] == {"rows": len(want), "sample": None, "groups": None}
    assert got.manifest["packet_hops"] == res.stats.packet_hops  # the count simulated
    assert {"a->b", "a->c", "c->d", "b->d"} <= set(want["link"])
    assert (want["outcome"] == "lost").any()
    ref = run(path, hops=True, engine="reference", write=False)
    assert ref.packet_hops is not None
    pd.testing.assert_frame_equal(ref.packet_hops, want)
    # a run without the table reads as None
    plain = tmp_path / "plain"
    assert run(path, packets=True, out_dir=plain).packet_hops is None
    assert read_results(plain).packet_hops is None


@pytest.mark.parametrize(
    ("attr", "file"), [("packet_hops", "packet_hops.parquet"), ("packets", "packets.parquet")]
)
def test_a_replaced_per_packet_file_is_refused(tmp_path: Path, attr: str, file: str) -> None:
    """The per-packet and per-hop tables are read when asked for (reading the run's other
    tables does not read them), checked against the manifest's hash."""
    out = tmp_path / "out"
    run(DATA / "failure_reroute.toml", hops=True, sample=0.1, out_dir=out)
    res = read_results(out)
    (out / file).write_bytes(b"not it")
    assert len(res.summary) > 0
    with pytest.raises(ResultsNotFoundError, match=rf"{file.replace('.', '[.]')} is not the file"):
        getattr(res, attr)
