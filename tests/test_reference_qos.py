"""The SimPy reference engine on rules 11-14 of docs/model.md: schedulers, multicast trees,
link failures and epochs, against queueing theory, exact scheduler algebra and hand
computations.

Times in the comments are in µs; 1000-byte packets take 8 µs at 1 Gbit/s.

Sources: Cobham's non-preemptive priority formula and Kleinrock's conservation law
(Kleinrock, *Queueing Systems* vol. 2, §3.6; Gross et al., *Fundamentals of Queueing Theory*,
§3.4.1); deficit round robin: Shreedhar & Varghese, SIGCOMM 1995.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from planning import (
    GBPS,
    MS,
    US,
    LinkSpec,
    active_state,
    build_plan,
    camera,
    cbr,
    line_plan,
    poisson,
    random_tree_plan,
    trace,
    with_chain_layout,
    with_failures,
    with_queues,
)
from vidnet_sim.core.stats import RunStats
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.reference import ReferenceEngine, stats_differences
from vidnet_sim.timeline.driver import Action, drive
from vidnet_sim.traffic.sources import SourceState

NO_DEP = -1
FLOW, SEQ, LINK, ARR, DEP = range(5)


def service_ps(wire_bytes: int, rate_bps: int) -> int:
    """model.md §3: S = ceil(s * 8 * 10^12 / R) ps (written out here, not imported)."""
    return -(-wire_bytes * 8 * 10**12 // rate_bps)


def assert_invariants(st: RunStats) -> None:
    """Conservation per group (rule 8) and the epoch arrays summing to the totals (rule 14)."""
    np.testing.assert_array_equal(
        st.packets_sent, st.packets_delivered + st.packets_dropped + st.packets_in_flight
    )
    np.testing.assert_array_equal(
        st.frames_sent, st.frames_delivered + st.frames_lost + st.frames_in_flight
    )
    assert np.all(st.packets_failed <= st.packets_dropped)
    n_epochs, n_groups, n_links = len(st.epoch_starts_ps), len(st.group_names), len(st.link_names)
    assert st.epoch_sent.shape == (n_epochs, n_groups)
    assert st.epoch_link_bytes.shape == (n_epochs, n_links)
    for per_epoch, total in [
        (st.epoch_sent, st.packets_sent),
        (st.epoch_delivered, st.packets_delivered),
        (st.epoch_dropped, st.packets_dropped),
        (st.epoch_failed, st.packets_failed),
        (st.epoch_packet_hist, st.packet_hist),
        (st.epoch_link_bytes, st.link_bytes),
        (st.epoch_link_busy_ps, st.link_busy_ps),
        (st.epoch_link_drops, st.link_drops),
        (st.epoch_link_fail_drops, st.link_fail_drops),
    ]:
        np.testing.assert_array_equal(per_epoch.sum(axis=0), total)
    # per epoch, every packet emitted so far is delivered, dropped or still in the network
    settled = (st.epoch_delivered + st.epoch_dropped).cumsum(axis=0)
    assert np.all(settled <= st.epoch_sent.cumsum(axis=0))


def run(
    plan: NetworkPlan,
    end_ps: int,
    *,
    warmup_ps: int = 0,
    drain: bool = True,
    epochs: Sequence[int] | None = None,
    state: SourceState | None = None,
    pieces: Sequence[tuple[int, int, bool]] = (),
) -> tuple[RunStats, np.ndarray]:
    """Run the reference engine (epochs default: thirds of the run) and check the invariants;
    ``pieces`` are ``(t, source, active)`` switches applied after advancing to ``t``."""
    if epochs is None:
        epochs = [0, end_ps // 3, 2 * end_ps // 3]
    state = state if state is not None else active_state(plan)
    engine = ReferenceEngine(
        plan, state, warmup_ps=warmup_ps, end_ps=end_ps, drain=drain, log=True, epochs=epochs
    )
    for t, source, active in pieces:
        engine.advance(t)
        state.active[source] = active
    st = engine.finish()
    assert_invariants(st)
    assert engine.packet_log is not None
    return st, engine.packet_log


def rows(log: np.ndarray) -> list[tuple[int, ...]]:
    """The log's rows without their transmission start: (tree, seq, link, arrival, departure)."""
    return [tuple(int(x) for x in r) for r in log[:, :5]]


# --------------------------------------------------------------------------- 1. fifo = 1 queue
def line_mix(seed: int) -> NetworkPlan:
    """Three hops, a bottleneck in the middle, Poisson and CBR sources joining at each node."""
    sources = [
        poisson(3 * US, 200, size_max=1400, seed=seed, at="n0"),
        cbr(7 * US, 1000, anchor_ps=seed * US, at="n1", header=40),
        poisson(5 * US, 700, seed=seed, at="n0", to=("n2",)),
    ]
    return line_plan(
        [GBPS, GBPS // 2, GBPS],
        props=[0, 1000, 0],
        buffers=[20_000, 6_000, 20_000],
        sources=sources,
        count_in_service=seed % 2 == 0,
    )


@pytest.mark.parametrize("failure", [False, True])
@pytest.mark.parametrize("make", [random_tree_plan, line_mix], ids=["tree", "line"])
@pytest.mark.parametrize("seed", [1, 2])
def test_fifo_equals_priority_and_drr_with_one_queue(
    make: object, seed: int, failure: bool
) -> None:
    assert callable(make)
    plan: NetworkPlan = make(seed)
    if failure:  # the busiest link fails for a while (waiting packets and arrivals lost)
        plan = with_failures(plan, {3 if make is random_tree_plan else 1: [(600 * US, 900 * US)]})
    end = 2 * MS
    fifo = run(plan, end, warmup_ps=100 * US, drain=False)
    assert fifo[0].link_drops.sum() > 0  # the buffers matter
    assert (fifo[0].link_fail_drops.sum() > 0) == failure
    # a DRR quantum smaller than most packets: a head packet needs several rounds to go
    for other in (with_queues(plan, "priority"), with_queues(plan, "drr", quantum=[300])):
        st, log = run(other, end, warmup_ps=100 * US, drain=False)
        assert np.array_equal(log, fifo[1])
        # the same, but per queue: a FIFO link has no queue statistics, a scheduled link
        # with one queue has that queue's, which are the link's
        assert [d for d in stats_differences(st, fifo[0]) if not d.startswith("queue_")] == []
        for mine, link in (
            ("queue_packets", "link_packets"),
            ("queue_drops", "link_drops"),
            ("queue_peak_bytes", "link_peak_queue_bytes"),
            ("queue_wait_sum_ps", "link_wait_sum_ps"),
        ):
            np.testing.assert_array_equal(getattr(st, mine)[:, 0], getattr(st, link))
        assert not fifo[0].queue_packets.any()


# --------------------------------------------------------------------------- 2. Cobham
def engine_log(engine: str, plan: NetworkPlan, end_ps: int) -> np.ndarray:
    """The packet log of a drained run of ``engine`` ("reference" or "core")."""
    state = active_state(plan)
    if engine == "reference":
        ref = ReferenceEngine(plan, state, warmup_ps=0, end_ps=end_ps, drain=True, log=True)
        ref.finish()
        assert ref.packet_log is not None
        return ref.packet_log
    from vidnet_sim.core.engine import CoreEngine

    core = CoreEngine(
        plan, state, warmup_ps=0, end_ps=end_ps, drain=True, window_ps=5 * MS, log=True
    )
    core.finish()
    assert core.packet_log is not None
    return np.asarray(core.packet_log)


def fifo_waits(arrivals: np.ndarray, services: np.ndarray) -> np.ndarray:
    """Waits of a FIFO single server fed the same arrivals (sorted), by the Lindley
    recursion; the workload process, and so these, are the same for every work-conserving
    discipline, only who waits differs."""
    waits = np.empty(len(arrivals), np.int64)
    free = 0
    for i, (a, s) in enumerate(zip(arrivals.tolist(), services.tolist(), strict=True)):
        w = max(0, free - a)
        waits[i] = w
        free = a + w + s
    return waits


def check_cobham(engine: str, n_packets: int = 60_000, *, plain: bool = False) -> None:
    """Two Poisson classes of 1000 B packets (S = 8 µs) at rho 0.3 each share one 1 Gbit/s
    link under strict non-preemptive priority. Cobham: W_k = W0 / ((1 - s_{k-1})(1 - s_k)),
    W0 = sum_i lambda_i E[S_i^2] / 2 = 2.4 µs: W_hi = 3.43 µs, W_lo = 8.57 µs (FIFO would
    give both 6 µs, preemptive priority W_hi = 1.71 µs).

    Waits are exact per packet (departure - S - arrival). Relative standard errors of the
    means, measured over 16 seeds of this run (60 000 packets, a few seconds on the reference
    engine): high class 0.9 %, so 3 % is 3.3 SE. The low class's plain mean is noisier
    (1.9 %; checked within 10 %, 5 SE): it follows the total workload, whose sample mean is
    the FIFO wait of the same arrivals (Lindley), with expectation W0 / (1 - rho) exactly (P-K
    and PASTA). With that as a control variate, W_lo - (W_lo / W_FIFO) (mean FIFO wait -
    W_FIFO), its SE is 0.5 %: 3 % is 6 SE. The workload identity itself is checked exactly:
    sum of S_i W_i over all packets equals FIFO's (Kleinrock's conservation law on one sample
    path: a server that idled while a packet waited, or preempted, would break it). A fast
    engine can afford a larger ``n_packets`` (SE shrinks as 1 / sqrt(n)): with ``plain``
    both classes' plain means must be within 3 %.
    """
    size, rho_k = 1000, 0.3
    S = service_ps(size, GBPS)
    gap = S / rho_k
    end = int(n_packets * gap / 2)
    plan = line_plan(
        [GBPS], sources=[poisson(gap, size, cls="hi", seed=3), poisson(gap, size, cls="lo", seed=3)]
    )
    plan = with_queues(plan, "priority", class_queue={"hi": 0, "lo": 1})
    log = engine_log(engine, plan, end)
    assert np.all(log[:, DEP] != NO_DEP)  # no drops: the buffers are large
    log = log[np.lexsort((log[:, SEQ], log[:, FLOW], log[:, ARR]))]  # arrival order (rule 4)
    waits = log[:, DEP] - S - log[:, ARR]
    assert waits.min() == 0
    fifo = fifo_waits(log[:, ARR], np.full(len(log), S))
    assert int(waits.sum()) == int(fifo.sum())  # equal sizes: sum S_i W_i / S

    W0 = 2 * rho_k * S / 2
    w_fifo = W0 / (1 - 2 * rho_k)
    expected = {0: W0 / (1 - rho_k), 1: W0 / ((1 - rho_k) * (1 - 2 * rho_k))}
    measured = log[:, ARR] >= end // 20  # leave out the start from an empty link
    v = fifo[measured].mean()
    assert abs(v / w_fifo - 1) < 0.05  # the run's load is what it should be
    for cls, w_exp in expected.items():
        w = waits[measured & (log[:, FLOW] == cls)].mean()
        if cls == 0 or plain:
            assert abs(w / w_exp - 1) < 0.03, (cls, w, w_exp)
        else:
            assert abs(w / w_exp - 1) < 0.10, (cls, w, w_exp)
            w_cv = w - w_exp / w_fifo * (v - w_fifo)
            assert abs(w_cv / w_exp - 1) < 0.03, (cls, w_cv, w_exp)


@pytest.mark.parametrize("engine", ["reference"])
def test_cobham_priority_mean_waits(engine: str) -> None:
    check_cobham(engine)


# --------------------------------------------------------------------------- 3. DRR
def departures(log: np.ndarray) -> np.ndarray:
    """Admitted rows of a one-link run in transmission order."""
    ok = log[log[:, DEP] != NO_DEP]
    return ok[np.argsort(ok[:, DEP], kind="stable")]


def test_drr_shares_a_saturated_link_by_quantum() -> None:
    # class a: 700 B every 4 µs (1.4 Gbit/s), class b: 1100 B every 6 µs (1.47 Gbit/s), one
    # 1 Gbit/s link, quanta 4500 and 1500 B (weights 3:1, each >= the largest packet)
    sizes, quanta = (700, 1100), (4500, 1500)
    plan = line_plan(
        [GBPS], sources=[cbr(4 * US, sizes[0], cls="a"), cbr(6 * US, sizes[1], cls="b")]
    )
    plan = with_queues(plan, "drr", class_queue={"a": 0, "b": 1}, quantum=list(quanta))
    end = 3 * MS
    st, log = run(plan, end)
    assert st.packets_dropped.sum() == 0
    d = departures(log)
    service = np.array([service_ps(sizes[f], GBPS) for f in d[:, FLOW]])
    start = d[:, DEP] - service
    assert np.all(start[1:] == d[:-1, DEP])  # never idle while a packet waits
    # The choice at the end of transmission i takes packet i + 1 off its queue, which holds
    # its arrivals before that instant less its packets sent so far. A queue emptied by a
    # choice leaves the round (at 0 both do: a single packet each); find the last time it
    # happens before the end of emission.
    choices = d[:-1, DEP]
    chosen = d[1:, FLOW]
    arrivals = [np.sort(log[log[:, FLOW] == q, ARR]) for q in (0, 1)]
    waiting = np.zeros(len(choices), np.int64)
    for q in (0, 1):
        mine = chosen == q
        sent = np.cumsum(d[:, FLOW] == q)[:-1]
        waiting[mine] = np.searchsorted(arrivals[q], choices[mine], side="left") - sent[mine]
    emptied = np.flatnonzero((waiting < 2) & (choices < end))
    assert len(emptied) > 0 and emptied[-1] < 20  # only at the start
    # from then on every turn ends with a head that does not fit: turns are the runs of one
    # queue in the transmission order; take complete ones starting after the last emptying
    seq = d[: int(np.searchsorted(d[:, DEP], end)), FLOW]
    starts = np.flatnonzero(np.diff(seq)) + 1
    starts = starts[starts > emptied[-1] + 1]
    turns = np.split(seq[starts[0] : starts[-1]], starts[1:-1] - starts[0])
    assert len(turns) > 100
    assert [int(t[0]) for t in turns] == [(int(seq[starts[0]]) + k) % 2 for k in range(len(turns))]
    # each turn adds a quantum to the deficit and leaves less than a packet in it, so after
    # j turns queue q has sent j quanta within one packet; after each round the byte
    # shares are 3:1 within a packet of each
    served, n_turns = [0, 0], [0, 0]
    for k, t in enumerate(turns):
        q = int(t[0])
        served[q] += len(t) * sizes[q]
        n_turns[q] += 1
        assert abs(served[q] - n_turns[q] * quanta[q]) < sizes[q]
        if k % 2 == 1:
            assert abs(served[0] - 3 * served[1]) < sizes[0] + 3 * sizes[1]
    assert abs(served[0] / (served[0] + served[1]) - 0.75) < 0.005


def test_drr_gives_an_idle_class_share_to_the_other() -> None:
    # as above, but class b stops at 200 µs: once its queue is empty, a has the whole link
    sizes = (700, 1100)
    plan = line_plan(
        [GBPS], sources=[cbr(4 * US, sizes[0], cls="a"), cbr(6 * US, sizes[1], cls="b")]
    )
    plan = with_queues(plan, "drr", class_queue={"a": 0, "b": 1}, quantum=[4500, 1500])
    st, log = run(plan, 2 * MS, pieces=[(200 * US, 1, False)])
    d = departures(log)
    service = np.array([service_ps(sizes[f], GBPS) for f in d[:, FLOW]])
    assert np.all(d[1:, DEP] - service[1:] == d[:-1, DEP])  # busy from 0 to the last one
    last_b = int(np.flatnonzero(d[:, FLOW] == 1)[-1])
    after = d[last_b + 1 :]
    assert len(after) > 100 and np.all(after[:, FLOW] == 0)
    # a alone: 700 B back to back, 5.6 µs apart, the link's full rate
    assert np.all(np.diff(after[:, DEP]) == service_ps(sizes[0], GBPS))
    assert st.link_busy_ps[0] == int(d[-1, DEP])


# --------------------------------------------------------------------------- 4. priority
@pytest.mark.parametrize("sched", ["priority", "fifo"])
def test_priority_bounds_the_latency_of_a_critical_class(sched: str) -> None:
    # critical: 200 B every 37 µs; best effort: Poisson 1500 B, mean gap 10 µs (1.2 Gbit/s)
    # on a 1 Gbit/s link with P = 5 µs and 1 MB buffers
    prop = 5 * US
    plan = line_plan(
        [GBPS],
        props=prop,
        sources=[
            cbr(37 * US, 160, header=40, anchor_ps=3 * US, cls="critical"),
            poisson(10 * US, 1460, header=40, seed=4, cls="best-effort"),
        ],
    )
    plan = with_queues(plan, sched, class_queue={"critical": 0, "best-effort": 1})
    st, _ = run(plan, 3 * MS)
    crit = st.group_names.index("cbr0")
    # non-preemptive: a critical packet waits at most for one best-effort transmission
    bound = service_ps(1500, GBPS) + service_ps(200, GBPS) + prop
    assert st.packets_delivered[crit] == st.packets_sent[crit] > 70
    assert st.latency_min_ps[crit] == service_ps(200, GBPS) + prop
    if sched == "priority":
        assert service_ps(200, GBPS) + prop < st.latency_max_ps[crit] <= bound
    else:
        assert st.latency_max_ps[crit] > 10 * bound  # queued behind the best-effort backlog


# --------------------------------------------------------------------------- 5. multicast
def fork_plan(
    *,
    multicast: bool,
    buffers: tuple[int, int, int] = (10**6, 10**6, 10**6),
    packets_bd: int | None = None,
) -> NetworkPlan:
    """a -> b, then b -> c and b -> d; a camera at a sends to c and d (1000 fps, 3000 B
    frames: packets of 1400, 1400, 200 B)."""
    links = [
        LinkSpec("a", "b", GBPS, 1000, buffers[0]),
        LinkSpec("b", "c", GBPS, 2000, buffers[1]),
        LinkSpec("b", "d", GBPS // 2, 0, None if packets_bd else buffers[2], packets_bd),
    ]
    cam = camera(1000, 3000.0, max_payload=1400, to=("c", "d"), multicast=multicast)
    return build_plan(["a", "b", "c", "d"], links, [cam], origin="a", sink="c")


def test_multicast_carries_one_copy_per_link() -> None:
    end = 10 * MS
    st, log = run(fork_plan(multicast=True), end)
    n = 30  # 10 frames of 3 packets
    assert st.link_packets.tolist() == [n, n, n]
    assert st.packets_sent.tolist() == [2 * n] and st.packets_delivered.tolist() == [2 * n]
    assert st.frames_sent.tolist() == [20] and st.frames_delivered.tolist() == [20]
    assert set(log[:, FLOW].tolist()) == {0}  # one tree
    for seq in range(n):
        mine = log[log[:, SEQ] == seq]
        assert mine[:, LINK].tolist() == [0, 1, 2]
        # the copy is replicated at b: both branches see it at a -> b's departure + P
        assert mine[1, ARR] == mine[2, ARR] == mine[0, DEP] + 1000
    # a frame's first packet (1400 B) to c: two transmissions and 1 + 2 ns of propagation
    assert st.latency_min_ps.tolist() == [2 * service_ps(1400, GBPS) + 3000]

    st_u, log_u = run(fork_plan(multicast=False), end)
    assert st_u.link_packets.tolist() == [2 * n, n, n]  # unicast: two copies on a -> b
    assert st_u.packets_sent.tolist() == [2 * n] and st_u.frames_sent.tolist() == [20]
    assert set(log_u[:, FLOW].tolist()) == {0, 1}  # one tree per destination


def test_multicast_drop_counts_for_every_flow_below() -> None:
    # a -> b holds 2000 B: of each frame's 1400, 1400, 200 B the second is dropped (the first
    # is in transmission), for both delivery flows
    st, _ = run(fork_plan(multicast=True, buffers=(2000, 10**6, 10**6)), 10 * MS)
    assert st.link_drops.tolist() == [10, 0, 0]
    assert st.packets_dropped.tolist() == [20] and st.packets_delivered.tolist() == [40]
    assert st.frames_lost.tolist() == [20]
    # b -> d (0.5 Gbit/s) holds one packet: the 2nd and 3rd packets of a frame reach it while
    # the 1st is sent; only the flow to d loses them
    st, _ = run(fork_plan(multicast=True, packets_bd=1), 10 * MS)
    assert st.link_drops.tolist() == [0, 0, 20]
    assert st.packets_dropped.tolist() == [20] and st.packets_delivered.tolist() == [40]
    assert st.frames_lost.tolist() == [10] and st.frames_delivered.tolist() == [10]


# --------------------------------------------------------------------------- 6. failures
def failure_plan() -> NetworkPlan:
    """n0 -> n1 at 2 Gbit/s (4 µs per 1000 B, P = 1 µs), n1 -> n2 at 1 Gbit/s (8 µs, P = 2 µs)
    down over [50, 80) µs; 1000 B packets emitted at 20 (x5), 45, 60 (x2) and 75 µs."""
    times = [20 * US] * 5 + [45 * US, 60 * US, 60 * US, 75 * US]
    plan = line_plan([2 * GBPS, GBPS], props=[1 * US, 2 * US], sources=[trace(times, [1000] * 9)])
    return with_failures(plan, {1: [(50 * US, 80 * US)]})


EPOCHS = [0, 50 * US, 80 * US]


@pytest.mark.parametrize("sched", ["fifo", "priority", "drr"])
def test_failure_by_hand(sched: str) -> None:
    plan = failure_plan()
    if sched != "fifo":
        plan = with_queues(plan, sched)
    st, log = run(plan, 100 * US, epochs=EPOCHS)
    # n0 -> n1 sends the burst back to back: departures 24, 28, 32, 36, 40; n1 -> n2 gets it
    # 1 µs later and sends #0 25-33 and #1 33-41 (delivered at 35, 43); at 50 µs #2 (sent
    # 41-49) is on the fibre until 51, #3 is in transmission (49-57), #4 waits: all three
    # lost at 50. #5 arrives at 50, #6 and #7 at 65 and 69: lost on arrival. At 80 the link
    # is idle and empty: #8 (arriving at 80) goes at once.
    link1 = [(s, a, d) for _, s, link, a, d in rows(log) if link == 1]
    assert link1 == [
        (0, 25 * US, 33 * US),
        (1, 29 * US, 41 * US),
        (2, 33 * US, NO_DEP),
        (3, 37 * US, NO_DEP),
        (4, 41 * US, NO_DEP),
        (5, 50 * US, NO_DEP),
        (6, 65 * US, NO_DEP),
        (7, 69 * US, NO_DEP),
        (8, 80 * US, 88 * US),
    ]
    assert st.packets_sent.tolist() == [9] and st.packets_delivered.tolist() == [3]
    assert st.packets_dropped.tolist() == [6] and st.packets_failed.tolist() == [6]
    assert sorted([st.latency_min_ps[0], st.latency_max_ps[0]]) == [15 * US, 23 * US]
    assert st.link_fail_drops.tolist() == [0, 6] and st.link_drops.tolist() == [0, 0]
    assert st.link_packets.tolist() == [9, 6]  # admitted, 3 of them lost later
    # n1 -> n2: #3 waited 37-49; #4 (41, would start at 57) never started
    assert st.link_peak_wait_ps.tolist() == [16 * US, 12 * US]
    # epochs [0, 50), [50, 80), [80, ...): sent by emission (#0-#5, #6-#8), delivered at
    # delivery (#0 at 35, #1 at 43; #8 at 90), lost when lost: #2-#4 at the failure (50),
    # #5-#7 on arrival at 50, 65, 69, all six in the failure's epoch (the three queued at 50
    # were counted in the epoch before, when they were emitted); link bytes by arrival
    assert st.epoch_sent[:, 0].tolist() == [6, 3, 0]
    assert st.epoch_failed[:, 0].tolist() == [0, 6, 0] == st.epoch_dropped[:, 0].tolist()
    assert st.epoch_delivered[:, 0].tolist() == [2, 0, 1]
    assert st.epoch_link_fail_drops[:, 1].tolist() == [0, 6, 0]
    assert st.epoch_link_bytes[:, 1].tolist() == [5000, 0, 1000]


@pytest.mark.parametrize(
    ("end", "dropped", "in_flight"),
    [
        (50 * US, 4, 0),  # #2-#5 are lost at 50 µs: counted at a run's end of exactly 50
        (50 * US - 1, 0, 4),  # ... and after an end 1 ps earlier
        (66 * US, 5, 1),  # #6 lost on arrival at 65, #7 at 69
    ],
)
def test_failure_loss_times(end: int, dropped: int, in_flight: int) -> None:
    st, _ = run(failure_plan(), end, drain=False, epochs=EPOCHS)
    assert st.packets_dropped.tolist() == [dropped] == st.packets_failed.tolist()
    assert st.packets_in_flight.tolist() == [in_flight]
    assert st.packets_delivered.tolist() == [2]


@pytest.mark.parametrize(("prop", "delivered"), [(0, 1), (1, 0)])
@pytest.mark.parametrize("sched", ["fifo", "priority"])
def test_failure_at_the_end_of_a_transmission(prop: int, delivered: int, sched: str) -> None:
    # two 1000 B packets at 0 on one link that fails at 8 µs, when #0's transmission ends:
    # with P = 0 it has left (delivered at 8 µs), with P = 1 ps it is on the fibre (lost);
    # #1 would start at 8 µs: lost then, never started (no wait counted)
    plan = line_plan([GBPS], props=prop, sources=[trace([0, 0], [1000, 1000])])
    plan = with_failures(plan, {0: [(8 * US, 9 * US)]})
    if sched != "fifo":
        plan = with_queues(plan, sched)
    st, log = run(plan, 20 * US, epochs=[0])
    assert rows(log) == [(0, 0, 0, 0, 8 * US if delivered else NO_DEP), (0, 1, 0, 0, NO_DEP)]
    assert st.packets_delivered.tolist() == [delivered]
    assert st.packets_failed.tolist() == [2 - delivered]
    assert st.link_peak_wait_ps.tolist() == [0]


def test_failure_empties_every_queue_of_a_scheduler() -> None:
    # priority, 2 queues: a burst of 3 + 3 packets at 0, failure over [10, 20) µs: #0 of the
    # high class is in transmission (lost), everything waiting in both queues is lost; at 20
    # the link restarts empty and idle: a low-class packet arriving then starts at once
    plan = line_plan(
        [GBPS],
        sources=[
            trace([0, 0, 0], [1000] * 3, cls="hi"),
            trace([0, 0, 0, 20 * US], [1000] * 4, cls="lo"),
        ],
    )
    plan = with_queues(plan, "priority", class_queue={"hi": 0, "lo": 1})
    plan = with_failures(plan, {0: [(10 * US, 20 * US)]})
    st, log = run(plan, 40 * US, epochs=[0, 10 * US])
    assert rows(log) == [
        (0, 0, 0, 0, 8 * US),
        (0, 1, 0, 0, NO_DEP),
        (0, 2, 0, 0, NO_DEP),
        (1, 0, 0, 0, NO_DEP),
        (1, 1, 0, 0, NO_DEP),
        (1, 2, 0, 0, NO_DEP),
        (1, 3, 0, 20 * US, 28 * US),
    ]
    assert st.packets_failed.tolist() == [2, 3] and st.link_fail_drops.tolist() == [5]
    assert st.epoch_failed.tolist() == [[0, 0], [2, 3]]  # lost at 10 µs: the failure's epoch


# --------------------------------------------------------------------------- rerouting
def test_packets_follow_the_tree_in_force_at_their_emission() -> None:
    # s -> x -> t is the route; at 50 µs the timeline switches the tree to s -> y -> t
    links = [
        LinkSpec("s", "x", GBPS, 1000),
        LinkSpec("x", "t", GBPS, 1000),
        LinkSpec("s", "y", GBPS, 2000),
        LinkSpec("y", "t", GBPS, 2000),
    ]
    plan = build_plan(["s", "x", "y", "t"], links, [cbr(10 * US, 1000)], origin="s", sink="t")
    assert plan.route(0).tolist() == [0, 1]
    plan, alt = with_chain_layout(plan, 0, [2, 3])
    state = active_state(plan)
    engine = ReferenceEngine(plan, state, warmup_ps=0, end_ps=100 * US, drain=True, log=True)
    switch = Action(50 * US, np.zeros(0, np.int64), trees=np.array([0]), pos0=np.array([alt]))
    st = drive(engine, [switch], 100 * US)
    assert engine.packet_log is not None
    for seq, link, _arr, _dep in [r[1:] for r in rows(engine.packet_log)]:
        assert link in ((0, 1) if seq < 5 else (2, 3))
    assert st.link_packets.tolist() == [5, 5, 5, 5]
    assert sorted({int(x) for x in [st.latency_min_ps[0], st.latency_max_ps[0]]}) == [
        2 * 8 * US + 2000,
        2 * 8 * US + 4000,
    ]
