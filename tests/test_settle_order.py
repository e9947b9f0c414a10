"""A link's deliveries settled in flow order: the link that delivers the packets of many
flows defers a window's deliveries and orders them by flow (a stable counting sort) before
it settles them (``kernel._settle_deferred``). Only each flow's own order can change a
result (its jitter, through the flow's last latency), so the statistics must be the SimPy
reference's, per-flow jitter included, on windows where many flows' deliveries interleave,
with drops, failures and epochs, and with deliveries past the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import numpy as np
import pytest

from planning import MS, US, active_state, camera, tree_plan, with_failures
from test_core import assert_conserved, assert_same, drive, run_core, run_ref
from vidnet_sim.core import kernel as K  # noqa: N812
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.reference import ReferenceEngine, stats_differences

MBPS = 10**6
N_CAMERAS = 96


@pytest.fixture(autouse=True)
def _sorted_from_64_flows() -> Iterator[None]:
    """The engine orders the deliveries of links delivering to 64 flows or more (the
    kernel's least), not only of those delivering to thousands."""
    with mock.patch.object(CoreEngine, "sort_min_flows", K.SORT_MIN_FLOWS):
        yield


def _city(*, trunk_buffer: int = 400_000) -> NetworkPlan:
    """96 cameras of their own group each (so that the groups' jitter is each flow's), on
    8 edge switches, one aggregation link ``a -> r`` delivering every packet: at 50 frames a
    second of 3 to 8 packets, a window of 20 ms holds some 400 deliveries of about 96 flows
    there, interleaved, their latencies varying with the queue."""
    parents = {f"c{i}": f"e{i % 8}" for i in range(N_CAMERAS)}
    parents |= {f"e{j}": "a" for j in range(8)} | {"a": "r"}
    rates = {c: 100 * MBPS for c in parents} | {"a": 240 * MBPS}
    props = {c: (i * 7919) % 7 * US for i, c in enumerate(parents)}
    sources = [
        camera(
            50,
            4_000.0,
            gop=10,
            ip_ratio=2.0,
            max_payload=1000,
            header=40,
            at=f"c{i}",
            anchor_ps=(i * 2_345 * US) % (20 * MS),
            gop_offset=i % 10,
            p_sigma=0.3,
            i_sigma=0.2,
            seed=i,
        )
        for i in range(N_CAMERAS)
    ]
    return tree_plan(parents, rates, props, {"a": trunk_buffer}, sources=sources)


def _delivering_link(plan: NetworkPlan) -> int:
    return plan.link_names.index("a->r")


def test_deliveries_of_many_flows_in_a_window_equal_reference() -> None:
    """The general loop (with the packet log) and the plain one (without) against the
    reference: every statistic, each camera's jitter included, and the log."""
    plan = _city()
    kw: dict[str, Any] = dict(warmup=20 * MS, end=400 * MS, drain=True)
    core = run_core(plan, window=20 * MS, **kw)
    assert_same(core, run_ref(plan, **kw))
    plain = run_core(plan, window=20 * MS, log=False, **kw)[0]
    assert stats_differences(plain, core[0]) == []
    st_ = core[0]
    assert len(st_.jitter_count) == N_CAMERAS and (st_.jitter_count > 0).all()
    assert st_.packets_dropped.sum() == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_deliveries_with_drops_failures_and_epochs_equal_reference(threads: int) -> None:
    """The same city with a small buffer at the delivering link (drops settled at once,
    between deferred deliveries of the same flows), a failure of an edge link, three
    epochs, cameras stopped and started again at twice their rate, and no drain (packets
    delivered after the end are in flight): the reference's statistics."""
    plan = _city(trunk_buffer=30_000)
    e3 = plan.link_names.index("e3->a")
    plan = with_failures(plan, {e3: [(150 * MS, 170 * MS)]})
    kw: dict[str, Any] = dict(
        warmup_ps=10 * MS,
        end_ps=300 * MS,
        drain=False,
        epochs=np.array([0, 110 * MS, 230 * MS], np.int64),
    )
    core = CoreEngine(plan, active_state(plan), window_ps=20 * MS, threads=threads, **kw)
    ref = ReferenceEngine(plan, active_state(plan), **kw)
    cuts = (90 * MS, 200 * MS)
    changes = [(90 * MS, s, False, 1.0) for s in range(0, N_CAMERAS, 5)]
    changes += [(200 * MS, s, True, 2.0) for s in range(0, N_CAMERAS, 5)]
    cs, rs = drive(core, core.state, cuts, changes), drive(ref, ref.state, cuts, changes)
    assert stats_differences(cs, rs) == []
    assert cs.link_drops[_delivering_link(plan)] > 0
    assert cs.packets_failed.sum() > 0 and cs.packets_in_flight.sum() > 0
    assert (cs.jitter_count > 0).all()
    assert_conserved(cs)


def test_the_scratch_holds_a_window_of_the_busiest_delivering_link() -> None:
    """The link loops' scratch is sized from the plan to a window's deliveries at the link
    that delivers the most (here some 400 a window at ``a -> r``), so that a link's pass
    settles them together; a plan's estimate, not a limit (a pass delivering more settles
    them in parts). Not for a link delivering to fewer than ``sort_min_flows`` flows."""
    plan = _city()
    engine = CoreEngine(
        plan, active_state(plan), warmup_ps=0, end_ps=100 * MS, drain=True, window_ps=20 * MS
    )
    width = engine._parts[0].scratch.shape[1]
    assert engine._parts[0].scratch.shape[0] == K.N_SCRATCH
    assert 300 < width < 2_000
    small = CoreEngine(
        plan, active_state(plan), warmup_ps=0, end_ps=100 * MS, drain=True, window_ps=1 * MS
    )
    assert small._parts[0].scratch.shape[1] == K.DEFER_CAP  # (some 20 a window)
    with mock.patch.object(CoreEngine, "sort_min_flows", N_CAMERAS + 1):
        few = CoreEngine(
            plan, active_state(plan), warmup_ps=0, end_ps=100 * MS, drain=True, window_ps=20 * MS
        )
    assert few._parts[0].scratch.shape[1] == K.DEFER_CAP  # (too few flows to order)
