"""The exact core against the SimPy reference engine on rules 11-14 of docs/model.md
(schedulers, multicast trees, failures, epochs), and against queueing theory (Cobham) on a
run long enough for 3 % on both classes' plain mean waits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planning import (
    GBPS,
    MS,
    US,
    active_state,
    camera,
    cbr,
    line_plan,
    poisson,
    random_tree_plan,
    with_failures,
    with_queues,
)
from test_reference_qos import check_cobham
from vidnet_sim.core import kernel as K  # noqa: N812
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.core.limits import frame_slots_needed
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.reference import ReferenceEngine, stats_differences

SCHEDULERS = ("fifo", "priority", "drr")


def both(
    plan: NetworkPlan,
    end_ps: int,
    *,
    window_ps: int,
    epochs: list[int],
    warmup_ps: int = 100 * US,
    drain: bool = False,
) -> tuple[RunStats, np.ndarray, RunStats, np.ndarray]:
    """Run the core and the reference on ``plan``: stats and packet logs of each."""
    core = CoreEngine(
        plan,
        active_state(plan),
        warmup_ps=warmup_ps,
        end_ps=end_ps,
        drain=drain,
        window_ps=window_ps,
        log=True,
        epochs=np.array(epochs),
    )
    ref = ReferenceEngine(
        plan,
        active_state(plan),
        warmup_ps=warmup_ps,
        end_ps=end_ps,
        drain=drain,
        log=True,
        epochs=np.array(epochs),
    )
    sc, sr = core.finish(), ref.finish()
    assert core.packet_log is not None and ref.packet_log is not None
    return sc, core.packet_log, sr, ref.packet_log


def qos_plan(seed: int, data: st.DataObject) -> NetworkPlan:
    """A random tree (every kind of source, overloaded trunk) with random classes, queues,
    per-link schedulers, DRR quanta, queue buffers, multicast and a failure."""
    plan = random_tree_plan(seed, multicast=data.draw(st.booleans(), label="multicast"))
    n_groups = len(plan.group_names)
    n_classes = data.draw(st.integers(1, 3), label="classes")
    classes = [f"c{k}" for k in range(n_classes)]
    group_class = data.draw(
        st.lists(st.integers(0, n_classes - 1), min_size=n_groups, max_size=n_groups),
        label="group_class",
    )
    plan = replace(plan, class_names=classes, group_class=np.array(group_class, np.int64))
    n_queues = data.draw(st.integers(1, 3), label="queues")
    class_queue = {
        c: data.draw(st.integers(0, n_queues - 1), label=f"queue of {c}") for c in classes
    }
    scheds = data.draw(
        st.lists(st.sampled_from(SCHEDULERS), min_size=plan.n_links, max_size=plan.n_links),
        label="schedulers",
    )
    quantum = data.draw(
        st.lists(st.integers(200, 4000), min_size=n_queues, max_size=n_queues), label="quanta"
    )
    buffers = data.draw(
        st.lists(
            st.one_of(st.none(), st.integers(1500, 20_000)), min_size=n_queues, max_size=n_queues
        ),
        label="buffers",
    )
    plan = with_queues(plan, scheds, class_queue=class_queue, quantum=quantum, buffers=buffers)
    if data.draw(st.booleans(), label="failure"):
        link = data.draw(st.integers(0, plan.n_links - 1), label="failed link")
        down = data.draw(st.integers(200, 1500), label="down us") * US
        up = down + data.draw(st.integers(1, 400), label="repair us") * US
        plan = with_failures(plan, {link: [(down, up)]})
    return plan


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(seed=st.integers(1, 6), window_us=st.sampled_from([7, 50, 333, 2000]), data=st.data())
def test_core_equals_reference_with_schedulers_multicast_failures(
    seed: int, window_us: int, data: st.DataObject
) -> None:
    plan = qos_plan(seed, data)
    end = 2 * MS
    epochs = sorted({0, *data.draw(st.lists(st.integers(1, 1999), max_size=3), label="epochs")})
    epochs_ps = [e * US for e in epochs]
    drain = data.draw(st.booleans(), label="drain")
    sc, lc, sr, lr = both(plan, end, window_ps=window_us * US, epochs=epochs_ps, drain=drain)
    assert np.array_equal(lc, lr)
    assert stats_differences(sc, sr) == []
    np.testing.assert_array_equal(
        sc.packets_sent, sc.packets_delivered + sc.packets_dropped + sc.packets_in_flight
    )
    # one epoch and no log: FIFO links without a failure left run the plain loop
    # (``kernel._process_link_plain``), which must count exactly what the general loop counts
    runs = [
        CoreEngine(
            plan,
            active_state(plan),
            warmup_ps=100 * US,
            end_ps=end,
            drain=drain,
            window_ps=window_us * US,
            log=log,
            epochs=np.array([0]),
        ).finish()
        for log in (True, False)
    ]
    assert stats_differences(runs[1], runs[0]) == []


def test_the_property_exercises_what_it_should() -> None:
    """The random plans above do drop, schedule, fail and replicate (a property test over
    plans that never did would prove nothing)."""
    seen = {"drops": 0, "failed": 0, "sched": 0, "multicast": 0}
    for seed in range(1, 7):
        plan = random_tree_plan(seed, multicast=True)
        group_class = np.array([g % 2 for g in range(len(plan.group_names))], np.int64)
        plan = replace(plan, class_names=["c0", "c1"], group_class=group_class)
        plan = with_queues(plan, "priority", class_queue={"c0": 0, "c1": 1})
        plan = with_failures(plan, {3: [(600 * US, 900 * US)]})
        sc, _, sr, _ = both(plan, 2 * MS, window_ps=50 * US, epochs=[0, MS])
        assert stats_differences(sc, sr) == []
        seen["drops"] += int(sc.link_drops.sum() > 0)
        seen["failed"] += int(sc.packets_failed.sum() > 0)
        seen["sched"] += int((plan.link_sched > 0).sum() > 0)
        seen["multicast"] += int(plan.n_trees < plan.n_flows)
    assert min(seen.values()) >= 4, seen


def test_cobham_on_the_core_plain_means() -> None:
    """Strict priority on the core, 40x the reference test's packets: the shared check, and
    both classes' plain mean waits within 3 % of Cobham's formula (their standard errors are
    then about 0.15 % and 0.3 %)."""
    check_cobham("core", n_packets=2_400_000, plain=True)


@pytest.mark.parametrize("sched", ["priority", "fifo"])
def test_priority_protects_signals_from_saturating_wifi_on_the_core(sched: str) -> None:
    """A latency-critical 200 B poll every 20 µs shares a 1 Gbit/s link with best-effort
    Wi-Fi downloads at 1.5x the link rate (Poisson 1500 B packets): under strict priority the
    polls wait at most one Wi-Fi packet; under FIFO they queue behind the Wi-Fi backlog and
    some are dropped with it."""
    sources = [cbr(20 * US, 200, cls="signals"), poisson(8 * US, 1500, cls="wifi", seed=5)]
    plan = line_plan([GBPS], props=5000, buffers=200_000, sources=sources)
    plan = with_queues(plan, sched, class_queue={"signals": 0, "wifi": 1})
    core = CoreEngine(
        plan, active_state(plan), warmup_ps=0, end_ps=20 * MS, drain=True, window_ps=MS
    )
    st_ = core.finish()
    crit = plan.group_classes.index("signals")
    wifi = 1 - crit
    s200, s1500 = 200 * 8 * 1000, 1500 * 8 * 1000  # ps at 1 Gbit/s
    assert st_.link_drops.sum() > 0 and st_.packets_dropped[wifi] > 0  # saturated
    if sched == "priority":
        assert st_.packets_dropped[crit] == 0
        assert st_.latency_max_ps[crit] <= s1500 + s200 + 5000
    else:
        assert st_.latency_max_ps[crit] > 100 * (s1500 + s200)  # behind ~200 kB of Wi-Fi


def test_a_starved_camera_grows_its_frame_slots_and_equals_the_reference() -> None:
    """A camera in the low strict-priority queue behind a saturating high-priority stream is
    starved until the stream stops: its frames stay open far longer than the route's buffers
    bound, so the core grows the camera's ring of frame slots (it used to stop with an
    internal error); every count still equals the reference's, frames included."""
    sources = [
        poisson(8 * US, 1500, cls="bulk", seed=3),  # 1.5 Gbit/s on a 1 Gbit/s link
        camera(25, 20_000.0, gop=5, ip_ratio=3.0, max_payload=1400, cls="video"),
    ]
    plan = line_plan([GBPS], props=5000, buffers=400_000, sources=sources)
    plan = with_queues(plan, "priority", class_queue={"bulk": 0, "video": 1})
    end, window = 600 * MS, 10 * MS
    camera_flow = 1
    initial = frame_slots_needed(plan, window, end)[camera_flow]
    core = CoreEngine(
        plan, active_state(plan), warmup_ps=0, end_ps=end, drain=True, window_ps=window
    )
    ref = ReferenceEngine(plan, active_state(plan), warmup_ps=0, end_ps=end, drain=True)
    for eng in (core, ref):  # the high-priority stream (source 0) stops at 300 ms
        eng.advance(300 * MS)
        eng.state.active[0] = False
    sc, sr = core.finish(), ref.finish()
    assert stats_differences(sc, sr) == []
    video = plan.group_classes.index("video")
    assert sc.frames_delivered[video] == sc.frames_sent[video] > 0
    assert sc.latency_max_ps[video] > 250 * MS  # starved for most of 300 ms
    ring = 1 << (initial - 1).bit_length()  # the ring the route's buffers call for
    assert core._flow[camera_flow, K.F_SLOT_MASK] + 1 > ring  # grew while starved
