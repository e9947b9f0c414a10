"""A run cut in two parts (``threads=2``, :mod:`vidnet_sim.core.split`): the upstream part one
window ahead of the downstream part gives the same statistics as one thread, field for field.

Each comparison runs the two parts three ways: on two threads, and one after the other with
the upstream part's window first or the downstream part's first (``CoreEngine.part_order``),
so that a step that reads what the other part has not written yet fails every time, not only
when the threads happen to race."""

from __future__ import annotations

import gc
import itertools
import json
import os
import signal
import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    trace,
    tree_plan,
    with_failures,
    with_queues,
)
from test_core import Change, drive
from test_core_qos import qos_plan
from vidnet_sim.cli import main
from vidnet_sim.core import engine as E  # noqa: N812
from vidnet_sim.core import kernel as K  # noqa: N812
from vidnet_sim.core import limits as limits_mod
from vidnet_sim.core import split as split_mod
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.core.limits import check_limits, frame_slots_needed
from vidnet_sim.core.split import Split, split_links
from vidnet_sim.core.stats import RunStats
from vidnet_sim.core.volume import position_parents
from vidnet_sim.errors import EXIT_OK, EXIT_USAGE
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.reference import stats_differences
from vidnet_sim.runner import auto_threads, compile_scenario, make_engine, progress_tick, run
from vidnet_sim.scenario.load import parse_scenario_dict
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.scenario.toml_file import read_toml
from vidnet_sim.scenario.units import parse_time

ORDERS = ("up-first", "down-first", "threads")
#: Windows per pipeline step the comparisons force (besides the chosen one): one, and
#: steps that end inside a run's pieces and across its changes.
STEPS = (1, 3, 8)
SCENARIOS = sorted(
    p
    for p in (Path(__file__).parent.parent / "scenarios").glob("*.toml")
    if not p.name.startswith("sweep-")
)


def _engine(plan: NetworkPlan, threads: int, **kw: Any) -> CoreEngine:
    epochs = kw.pop("epochs", None)
    return CoreEngine(
        plan,
        active_state(plan),
        threads=threads,
        epochs=None if epochs is None else np.array(epochs, np.int64),
        **kw,
    )


def compare(
    plan: NetworkPlan,
    *,
    depth: int | None = None,
    cuts: Sequence[int] = (),
    changes: Sequence[Change] = (),
    **kw: Any,
) -> tuple[RunStats, Split]:
    """Run ``plan`` on one thread, then cut in two (at ``depth``, or where the split puts
    it) in each order, with each number of windows per step (``STEPS`` and the chosen
    one); assert the statistics are equal. Returns them and the split."""
    one = _engine(plan, 1, **kw)
    expected = drive(one, one.state, cuts, changes)
    split: Split | None = None

    def cut(p: NetworkPlan, window_ps: int, *, duration_ps: int) -> Split | None:
        return split_links(p, window_ps, depth, duration_ps=duration_ps)

    with mock.patch.object(E, "split_links", cut):
        for order, step in itertools.product(ORDERS, (None, *STEPS)):
            with (
                mock.patch.object(CoreEngine, "part_order", order),
                mock.patch.object(CoreEngine, "force_step_windows", step),
            ):
                two = _engine(plan, 2, **kw)
                assert two.split is not None
                assert step is None or two.step_windows == step
                split = two.split
                got = drive(two, two.state, cuts, changes)
            assert stats_differences(got, expected) == [], (order, step)
            assert two._worker is None  # (given back by finish)
    assert split is not None
    return expected, split


# --------------------------------------------------------------------------- the split
def _check_split(plan: NetworkPlan, split: Split) -> None:
    """U is predecessor-closed and delivers nothing; ``cut`` is exactly D's links fed by U
    (a link of U or a source), over every layout."""
    up = split.upstream
    on_link = [p for p in range(len(plan.pos_link)) if plan.pos_link[p] >= 0]
    fed_by_u: set[int] = set()
    for p in range(len(plan.pos_link)):
        for c in plan.children(p):
            m, a = int(plan.pos_link[c]), int(plan.pos_link[p])
            if a >= 0 and up[m]:
                assert up[a], "a link of U fed by a link of D"
            if a < 0 or up[a]:
                fed_by_u.add(m)
    for p in on_link:
        if plan.pos_deliver[p] >= 0:
            assert not up[plan.pos_link[p]], "a link of U delivers"
    assert sorted(int(m) for m in split.cut) == sorted(m for m in fed_by_u if not up[m])
    assert not up.all()


@pytest.mark.parametrize("file", SCENARIOS, ids=lambda p: p.stem)
def test_the_split_of_each_example_is_a_valid_balanced_cut(file: Path) -> None:
    compiled = compile_scenario(file, duration_ps=parse_time("1s"))
    split = split_links(compiled.plan, compiled.scenario.simulation.window)
    assert split is not None
    _check_split(compiled.plan, split)
    share = split.cost_upstream / (split.cost_upstream + split.cost_downstream)
    if (~split.upstream).sum() == 1:  # (trace-cameras: U has every link but the delivering one)
        assert split.balance > 1.3 and 0.3 < share < 0.65, split.describe()
        return
    assert split.balance > 1.5, split.describe()  # both parts have about half the work
    assert 0.35 < share < 0.65


def test_what_d_pays_for_the_crossing_items_moves_the_cut_towards_u(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """D's surcharge for the items it reads from U's core (``CROSS_COST``) counts in the
    pipeline's step, not in either part's work on one thread: the larger it is, the more
    links the cut gives U, and the cut stays valid."""
    compiled = compile_scenario(
        Path(__file__).parent.parent / "scenarios" / "mid-city.toml", duration_ps=parse_time("1s")
    )
    window = compiled.scenario.simulation.window
    counts = []
    for cross in (0.0, 2.0, 8.0):
        monkeypatch.setattr(split_mod, "CROSS_COST", cross)
        split = split_links(compiled.plan, window)
        assert split is not None
        _check_split(compiled.plan, split)
        assert split.cost_cross == pytest.approx(cross * split.crossing)
        larger = max(split.cost_upstream, split.cost_downstream + split.cost_cross)
        assert split.step == pytest.approx(larger + split.cost_hand_off)
        counts.append(int(split.upstream.sum()))
    assert counts[0] < counts[1] < counts[2], counts


def test_every_depth_gives_a_valid_cut() -> None:
    plan = _deep_plan(multicast=True)
    for depth in range(5):
        split = split_links(plan, 50 * US, depth)
        assert split is not None
        _check_split(plan, split)
        assert int(split.upstream.sum()) == [0, 3, 5, 6, 6][depth]
    for window in (US, MS, 100 * MS):  # the balanced cut, a level and part of the next
        best = split_links(plan, window)
        assert best is not None
        _check_split(plan, best)


@pytest.mark.parametrize("multicast", [False, True])
def test_the_chosen_cut_is_within_5_percent_of_the_best_of_every_cut(multicast: bool) -> None:
    """Brute force: every set of links that may be U (2^6 sets of the six eligible links,
    the valid ones evaluated, the others refused), at windows where the best cut is a
    whole level and where it is part of one; the search (whole levels, then part of the
    next from the level above or the best) finds a step within 5 % of the smallest."""
    plan = _deep_plan(multicast=multicast)
    whole = split_links(plan, MS, 5)
    assert whole is not None
    eligible = [m for m in range(plan.n_links) if whole.upstream[m]]
    for window in (US, 10 * US, MS, 100 * MS):
        chosen = split_links(plan, window)
        assert chosen is not None
        steps, refused = [], 0
        for r in range(len(eligible) + 1):
            for links in itertools.combinations(eligible, r):
                upstream = np.zeros(plan.n_links, np.bool_)
                upstream[list(links)] = True
                try:
                    split = split_links(plan, window, upstream=upstream)
                except ValueError:
                    refused += 1
                    continue
                assert split is not None
                _check_split(plan, split)
                steps.append(split.step)
        assert len(steps) + refused == 2 ** len(eligible) and refused > 0
        assert chosen.step <= 1.05 * min(steps), (window, chosen.describe())


def test_a_given_upstream_part_must_be_valid() -> None:
    """U given: a link fed by a link of D, a link that delivers, every link: refused."""
    plan = _deep_plan(multicast=False)
    m = {name: i for i, name in enumerate(plan.link_names)}
    for links, why in (
        (["m1->x"], "'m1->x' is fed by 'a->m1', not in U"),
        (["a->m1", "b->m1", "c->m2", "m2->x", "r->y1"], "'r->y1' delivers packets"),
        (list(m), "'r->y1' delivers packets"),
    ):
        upstream = np.zeros(plan.n_links, np.bool_)
        upstream[[m[name] for name in links]] = True
        with pytest.raises(ValueError, match=f"not a valid upstream part: link {why}"):
            split_links(plan, MS, upstream=upstream)
    upstream = np.zeros(plan.n_links, np.bool_)
    upstream[[m["a->m1"], m["b->m1"], m["m1->x"]]] = True
    split = split_links(plan, MS, upstream=upstream)
    assert split is not None and np.array_equal(split.upstream, upstream)
    _check_split(plan, split)


def test_nothing_to_cut() -> None:
    """A plan whose every link could be upstream has no downstream part: one thread."""
    plan = line_plan([GBPS], props=0, buffers=10_000, sources=[cbr(5 * US, 100)])
    assert split_links(plan, MS) is not None  # the link delivers: it is D, the source U
    engine = _engine(plan, 2, warmup_ps=0, end_ps=MS, drain=True, window_ps=100 * US, log=True)
    assert engine.split is None  # a packet log runs on one thread


# --------------------------------------------------------------------------- hostile plans
def _deep_plan(*, multicast: bool) -> NetworkPlan:
    """Three access links (a, b, c) into two aggregation links (m1, m2), a trunk x and two
    links out of the root r to y1 and y2, where every packet is delivered: U may take up to
    the six links before r. Tiny buffers drop at the access link a and at
    m1; a camera and a trace send to both y1 and y2 (multicast: replicated in D)."""
    links = [
        LinkSpec("a", "m1", GBPS // 4, 1000, 3000),
        LinkSpec("b", "m1", GBPS, 0, 20_000),
        LinkSpec("c", "m2", GBPS, 2000),
        LinkSpec("m1", "x", GBPS // 3, 1000, 5000),
        LinkSpec("m2", "x", GBPS, 0),
        LinkSpec("x", "r", GBPS // 2, 500, 12_000),
        LinkSpec("r", "y1", GBPS, 0),
        LinkSpec("r", "y2", GBPS // 2, 700, 9000),
    ]
    sources = [
        poisson(6 * US, 300, size_max=1400, at="a", to=("y1",), seed=7),
        camera(
            10_000,
            1500.0,
            gop=5,
            ip_ratio=3.0,
            max_payload=1200,
            p_sigma=0.3,
            i_sigma=0.2,
            at="b",
            to=("y1", "y2"),
            header=40,
            seed=2,
            multicast=multicast,
        ),
        cbr(5 * US, 900, at="c", to=("y2",), anchor_ps=2 * US),
        trace(
            [0, 0, 3 * US, 7 * US],
            [1400, 1400, 64, 900],
            period_ps=10 * US,
            at="c",
            to=("y1", "y2"),
            multicast=multicast,
        ),
        poisson(60 * US, 1000, at="b", to=("y2",), seed=8),
    ]
    return build_plan(
        ["a", "b", "c", "m1", "m2", "x", "r", "y1", "y2"], links, sources, origin="a", sink="r"
    )


@pytest.mark.parametrize("multicast", [False, True])
@pytest.mark.parametrize("depth", [0, 1, 2, 3])
@pytest.mark.parametrize("window", [7 * US, 50 * US, 333 * US])
def test_deep_plan_cut_anywhere_equals_one_thread(multicast: bool, depth: int, window: int) -> None:
    """Drops at an access link and at a link of U feeding D, a multicast tree replicated in
    D, several epochs, a warm-up, windows that do not divide the run."""
    plan = _deep_plan(multicast=multicast)
    kw: dict[str, Any] = dict(warmup_ps=150 * US, end_ps=2 * MS, drain=False, window_ps=window)
    stats, split = compare(plan, depth=depth, epochs=[0, 700 * US, 1300 * US], **kw)
    names = [plan.link_names[m] for m in np.flatnonzero(split.upstream)]
    drops = dict(zip(plan.link_names, stats.link_drops, strict=True))
    assert drops["a->m1"] > 0 and drops["m1->x"] > 0  # drops in U (at depths 1 and 2)
    assert len(names) == [0, 3, 5, 6][depth]
    assert stats.frames_lost.sum() > 0 and stats.frames_delivered.sum() > 0


@pytest.mark.parametrize("depth", [1, 2])
def test_failures_and_schedulers_on_both_sides(depth: int) -> None:
    """Strict priority at m1 (U) and DRR at r->y2 (D); the access link a and the trunk x fail
    and are repaired mid-run (losses at arrival, in the buffer and on the fibre, the flush)."""
    plan = _deep_plan(multicast=True)
    group_class = np.array([g % 2 for g in range(len(plan.group_names))], np.int64)
    plan = replace(plan, class_names=["c0", "c1"], group_class=group_class)
    scheds = ["fifo"] * plan.n_links
    scheds[plan.link_names.index("m1->x")] = "priority"
    scheds[plan.link_names.index("r->y2")] = "drr"
    plan = with_queues(plan, scheds, class_queue={"c0": 0, "c1": 1}, quantum=[700, 1500])
    a, x = plan.link_names.index("a->m1"), plan.link_names.index("x->r")
    plan = with_failures(plan, {a: [(300 * US, 520 * US)], x: [(900 * US, 1100 * US)]})
    kw: dict[str, Any] = dict(warmup_ps=0, end_ps=2 * MS, drain=True, window_ps=40 * US)
    stats, _ = compare(plan, depth=depth, epochs=[0, MS], **kw)
    assert stats.link_fail_drops[a] > 0 and stats.link_fail_drops[x] > 0
    assert stats.packets_failed.sum() > 0


def test_advances_in_pieces_with_state_changes() -> None:
    """The timeline's calls end with both parts caught up: sources switched off and on and
    rescaled between calls that do not fall on window edges."""
    plan = _deep_plan(multicast=False)
    changes: list[Change] = [(410 * US, 1, False, 1.0), (900 * US, 1, True, 2.0)]
    changes += [(900 * US, 0, False, 1.0), (1333 * US, 0, True, 1.0)]
    kw: dict[str, Any] = dict(warmup_ps=100 * US, end_ps=2 * MS, drain=False, window_ps=90 * US)
    compare(plan, depth=2, cuts=[410 * US, 900 * US, 1333 * US, 1400 * US], changes=changes, **kw)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.long
@given(seed=st.integers(1, 6), window_us=st.sampled_from([7, 50, 333, 2000]), data=st.data())
def test_random_plans_with_schedulers_multicast_failures(
    seed: int, window_us: int, data: st.DataObject
) -> None:
    """The core's random property plans (every kind of source, schedulers, queue buffers,
    multicast, a failure), cut at a random depth."""
    plan = qos_plan(seed, data)
    epochs = sorted({0, *data.draw(st.lists(st.integers(1, 1999), max_size=3), label="epochs")})
    compare(
        plan,
        depth=data.draw(st.integers(0, 2), label="depth"),
        warmup_ps=data.draw(st.integers(0, 300), label="warmup") * US,
        end_ps=2 * MS,
        drain=data.draw(st.booleans(), label="drain"),
        window_ps=window_us * US,
        epochs=[e * US for e in epochs],
    )


def _starved_camera_plan() -> NetworkPlan:
    """A camera (flow 1) in the low strict-priority queue of two links behind a stream of
    1.5 Gbit/s (source 0) on 1 Gbit/s: starved while the stream runs."""
    sources = [
        poisson(8 * US, 1500, cls="bulk", seed=3),
        camera(25, 20_000.0, gop=5, ip_ratio=3.0, max_payload=1400, cls="video"),
    ]
    plan = line_plan([GBPS, GBPS], props=5000, buffers=400_000, sources=sources)
    return with_queues(plan, "priority", class_queue={"bulk": 0, "video": 1})


def test_a_starved_camera_grows_its_frame_slots_in_the_upstream_part() -> None:
    """Frame slots are opened by U and freed by D: a camera starved in a low strict-priority
    queue outgrows its ring, which grows while neither part runs; the counts are the same."""
    plan = _starved_camera_plan()
    end, window = 400 * MS, 10 * MS
    initial = frame_slots_needed(plan, window, end)[1]
    changes: list[Change] = [(200 * MS, 0, False, 1.0)]
    kw: dict[str, Any] = dict(warmup_ps=0, end_ps=end, drain=True, window_ps=window)
    stats, split = compare(plan, depth=1, cuts=[200 * MS], changes=changes, **kw)
    assert split.upstream.tolist() == [True, False]  # the first link is U's
    video = plan.group_classes.index("video")
    assert stats.frames_delivered[video] == stats.frames_sent[video] > 0
    for step in (1, 3):  # (rings sized for one window: with steps of three windows, D
        # catches up with U inside a step before a ring grows)
        with (
            mock.patch.object(CoreEngine, "force_step_windows", step),
            mock.patch.object(CoreEngine, "_frames_in_pipeline", lambda self, n: n.checked),
        ):
            two = _engine(plan, 2, **kw)
        assert two._flow[1, K.F_SLOT_MASK] + 1 == 1 << (initial - 1).bit_length()
        downs: list[tuple[int, bool]] = []
        with mock.patch.object(CoreEngine, "_down", _spy(CoreEngine._down, downs)):
            got = drive(two, two.state, [200 * MS], changes)
        assert stats_differences(got, stats) == []
        assert two._flow[1, K.F_SLOT_MASK] + 1 > 1 << (initial - 1).bit_length()  # grew
        assert step == 1 or any(t1 % (step * window) for t1, _ in downs)  # caught up inside


@pytest.mark.parametrize("share", [True, False])
def test_the_steps_run_in_one_kernel_call_per_thread_and_stop_where_either_part_must_grow(
    share: bool,
) -> None:
    """On two threads each part runs a call's steps in one kernel call (``K.up_steps``
    beside ``K.down_steps``; each step's hand-off copied by both threads, or by D's alone).
    With every store at its smallest size both parts stop many times (a store to grow, a
    hand-off that needs room): U grows its own stores on its own thread, beside D, and goes
    on in the kernel; where that moved what D reads, or D must grow, the step is completed
    as one step at a time would. The statistics equal one thread's."""
    plan = _deep_plan(multicast=True)
    kw: dict[str, Any] = dict(warmup_ps=0, end_ps=2 * MS, drain=True, window_ps=20 * US)
    expected = _engine(plan, 1, **kw).finish()
    ups: list[tuple[int, int, int, int]] = []
    downs: list[tuple[int, int, int]] = []
    grown_on: list[str] = []
    real_up, real_down = CoreEngine._up_call, CoreEngine._down_steps
    real_up_windows = CoreEngine._up

    def up_call(self: CoreEngine, sync: Any, ends: Any, j0: int, filling: int) -> tuple[int, int]:
        j, code = real_up(self, sync, ends, j0, filling)
        ups.append((len(ends), j0, j, code))
        return j, code

    def down_steps(self: CoreEngine, *args: Any) -> tuple[int, int, bool]:
        j, code, up_stopped = real_down(self, *args)
        downs.append((len(args[1]), j, code))
        return j, code, up_stopped

    def up_windows(self: CoreEngine, t1: int, final: bool, **kw: Any) -> int:
        if kw.get("buffer") is not None:  # (U resumed after growing a store of its own)
            grown_on.append(threading.current_thread().name)
        return real_up_windows(self, t1, final, **kw)

    with (
        mock.patch.object(E, "split_links", lambda p, w, *, duration_ps: split_links(p, w, 2)),
        mock.patch.object(CoreEngine, "estimate_stores", False),
        mock.patch.object(CoreEngine, "force_step_windows", 1),
        mock.patch.object(CoreEngine, "share_hand_off", share),
        mock.patch.object(CoreEngine, "_up_call", up_call),
        mock.patch.object(CoreEngine, "_down_steps", down_steps),
        mock.patch.object(CoreEngine, "_up", up_windows),
    ):
        two = _engine(plan, 2, **kw)
        got = two.finish()
    assert stats_differences(got, expected) == []
    assert ups and downs
    assert ups[-1][2] == ups[-1][0]  # (the last call ran all its steps)
    assert max(j - j0 for n, j0, j, _ in ups if j == n) > 10  # (many steps in one call)
    assert any(code not in (K.GROW_NONE, K.PARTNER_STOPPED) for *_, code in ups)  # U stopped
    assert grown_on and set(grown_on) == {E.WORKER_NAME}  # ... grew on its own thread
    assert any(j0 > 0 for _, j0, _, _ in ups)  # ... and went on in the kernel
    assert any(code == K.PARTNER_STOPPED for *_, code in ups)  # D stopped
    assert any(code != K.GROW_NONE for _, _, code in downs)


def _spy(method: Any, calls: list[tuple[int, bool]]) -> Any:
    """``method`` recording its ``(t1, final)`` arguments in ``calls``."""

    def spy(self: CoreEngine, t1: int, final: bool) -> None:
        calls.append((t1, final))
        method(self, t1, final)

    return spy


def test_the_pipeline_sizes_its_rings_from_the_delays_computed_once() -> None:
    """The rings of a pipeline whose steps hold three windows are those of windows three
    times as long, from the routes' worst-case delays that the engine's check of the limits
    computed (once: about 70 ms on the large city)."""
    plan = _starved_camera_plan()
    end, window = 400 * MS, 10 * MS
    needs = check_limits(plan, window, end)
    one, three = needs.checked, needs.for_window(3 * window)
    assert one == frame_slots_needed(plan, window, end)
    assert three == frame_slots_needed(plan, 3 * window, end)
    assert three[1] > one[1]  # (longer windows, more frames)
    calls = []

    def counted(*args: Any) -> Any:
        calls.append(1)
        return worst_paths(*args)

    worst_paths = limits_mod._worst_paths
    kw: dict[str, Any] = dict(warmup_ps=0, end_ps=end, drain=True, window_ps=window)
    with (
        mock.patch.object(CoreEngine, "force_step_windows", 3),
        mock.patch.object(limits_mod, "_worst_paths", counted),
    ):
        seen: list[list[int]] = []
        real = CoreEngine._frames_in_pipeline

        def kept(self: CoreEngine, n: Any) -> list[int]:
            seen.append(real(self, n))
            return seen[-1]

        with mock.patch.object(CoreEngine, "_frames_in_pipeline", kept):
            _engine(plan, 2, **kw)
    assert len(calls) == 1
    assert seen == [[max(a, b) for a, b in zip(one, three, strict=True)]]


def test_a_full_frame_slot_ring_overflows_as_on_one_thread() -> None:
    """A ring that cannot grow any more (its limit lowered to 8 slots): U, one window ahead,
    still sees the frames D frees in the window before, so it waits for D before it lets a
    frame overflow. Starved for 310 ms, the camera's frames fill its 8 slots to the last:
    one thread fits (and so must two: before, U's stale view made a frame overwrite a slot D
    was still using); with 4 slots every way reports the overflow."""
    plan = _starved_camera_plan()
    stop = 310 * MS
    changes: list[Change] = [(stop, 0, False, 1.0)]
    kw: dict[str, Any] = dict(warmup_ps=0, end_ps=stop + 200 * MS, drain=True, window_ps=10 * MS)
    assert frame_slots_needed(plan, 10 * MS, stop + 200 * MS)[1] == 4  # a ring of 4 at first
    with mock.patch.object(CoreEngine, "max_frame_slots", 8):
        stats, _ = compare(plan, depth=1, cuts=[stop], changes=changes, **kw)
    video = plan.group_classes.index("video")
    assert stats.frames_delivered[video] == stats.frames_sent[video] > 0
    ways = [(1, "threads", None), *((2, o, m) for o in ORDERS for m in (None, *STEPS))]
    for threads, order, step in ways:
        with (
            mock.patch.object(CoreEngine, "max_frame_slots", 4),
            mock.patch.object(CoreEngine, "part_order", order),
            mock.patch.object(CoreEngine, "force_step_windows", step),
        ):
            engine = _engine(plan, threads, **kw)
            with pytest.raises(RuntimeError, match="more than 4 frames in flight"):
                drive(engine, engine.state, [stop], changes)
            engine.close()


# --------------------------------------------------------------------------- examples
DURATIONS = {"large-city": "300ms"}


def _equals_one_thread(scenario: Path | Scenario, duration_ps: int | None = None) -> RunStats:
    """Run ``scenario`` on one thread and on two in each part order (and with steps of
    the chosen length and of 3 windows); assert the statistics are equal and return them."""
    one = run(scenario, write=False, duration_ps=duration_ps).stats
    for order, step in itertools.product(ORDERS, (None, 3)):
        with (
            mock.patch.object(CoreEngine, "part_order", order),
            mock.patch.object(CoreEngine, "force_step_windows", step),
        ):
            two = run(scenario, write=False, duration_ps=duration_ps, threads=2).stats
        assert stats_differences(two, one) == [], (order, step)
    assert one.packet_hops > 0
    return one


@pytest.mark.long
@pytest.mark.parametrize("file", SCENARIOS, ids=lambda p: p.stem)
def test_every_example_scenario_equals_one_thread(file: Path) -> None:
    """The first 1.5 s of each example (300 ms of the large city): its services, trace
    cameras, growth epochs and warm-up. Its failures, reroutes and alarms come later (from
    2 s on): the two tests below move them into a short run."""
    _equals_one_thread(file, parse_time(DURATIONS.get(file.stem, "1500ms")))


def _example(name: str, simulation: dict[str, str], events: list[dict[str, Any]]) -> Scenario:
    """The example scenario ``name`` with the ``simulation`` settings and each event's fields
    (in the file's order) replaced."""
    file = SCENARIOS[0].parent / f"{name}.toml"
    data = read_toml(file)
    data["simulation"].update(simulation)
    assert len(data["events"]) == len(events)
    for event, changed in zip(data["events"], events, strict=True):
        event.update(changed)
    return parse_scenario_dict(data, source=str(file), base_dir=file.parent)


def test_a_ring_failure_reroute_and_alarm_equal_one_thread() -> None:
    """mid-city-services in 650 ms: ring-ab fails at 300 ms (losses on the failed link),
    ERPS reroutes over the protection link ring-da 20 ms later and back 20 ms after the
    repair at 530 ms; the harbour cameras triple their bitrate from 333 to 633 ms; a window
    of 37 ms, so that no event falls on a window edge."""
    scenario = _example(
        "mid-city-services",
        {"duration": "650ms", "warmup": "90ms", "window": "37ms"},
        [
            {"at": "300ms", "duration": "230ms", "convergence": "20ms"},
            {"at": "333ms", "duration": "300ms"},
        ],
    )
    stats = _equals_one_thread(scenario)
    assert stats.packets_failed.sum() > 0
    ms = [int(t) // MS for t in stats.epoch_starts_ps]
    assert ms == [0, 300, 320, 333, 530, 550, 633], ms
    protection = [i for i, n in enumerate(stats.link_names) if n.startswith("ring-da:")]
    assert stats.link_bytes[protection].sum() > 0  # carried traffic only once rerouted
    harbour = [stats.group_names.index(g) for g in ("harbour-a", "harbour-b")]
    rate = stats.epoch_sent[:, harbour].sum(axis=1) / np.diff([90, *ms[1:], 650])
    assert rate[3] > 2.5 * rate[0] and rate[6] < 1.5 * rate[0]  # (the alarm: 3 x the bitrate)


def test_an_alarm_that_shortens_the_gop_equals_one_thread() -> None:
    """small-town in 600 ms: the centre-square cameras triple their bitrate with a GOP of 3
    from 210 to 380 ms, with a window of 23 ms."""
    scenario = _example(
        "small-town",
        {"duration": "600ms", "warmup": "50ms", "window": "23ms"},
        [{"at": "210ms", "duration": "170ms", "gop": 3}],
    )
    stats = _equals_one_thread(scenario)
    assert [int(t) // MS for t in stats.epoch_starts_ps] == [0, 210, 380]
    rate = stats.epoch_sent[:, stats.group_names.index("centre-square")] / [160, 170, 220]
    assert rate[1] > 2.5 * rate[0] and rate[2] < 0.6 * rate[1]


def test_tree_plan_two_levels_equals_one_thread() -> None:
    """The core tests' two-level tree: every source injected at a cut link (a source's
    access link that delivers is D's)."""
    plan = tree_plan(
        {"a": "m", "b": "m", "m": "r"},
        {"a": GBPS // 4, "b": GBPS, "m": GBPS // 2},
        {"a": 2000, "m": 1000},
        {"m": 6000, "a": 3000},
        sources=[
            poisson(7 * US, 600, size_max=1400, at="a", seed=4),
            cbr(4 * US, 1200, at="b", to=("m", "r")),
        ],
    )
    compare(plan, warmup_ps=0, end_ps=MS, drain=True, window_ps=30 * US)


# --------------------------------------------------------------------------- command line
def test_run_threads_option(tmp_path: Path) -> None:
    """``vidnet-sim run --threads 1``, ``--threads 2`` and ``--threads auto`` print the same
    summary; a third thread is a usage error naming the option."""
    file = Path(__file__).parent.parent / "scenarios" / "small-town.toml"
    docs = []
    for n in ("1", "2", "auto"):
        args = ["run", str(file), "--duration", "500ms", "--out", str(tmp_path / n), "--json"]
        res = CliRunner().invoke(main, [*args, "--threads", n])
        assert res.exit_code == EXIT_OK, res.output
        doc = json.loads(res.stdout)
        del doc["wall_seconds"], doc["results"]
        docs.append(doc)
    assert docs[0] == docs[1] == docs[2]
    bad = CliRunner().invoke(main, ["run", str(file), "--threads", "3"])
    assert bad.exit_code == EXIT_USAGE and "'--threads'" in bad.output


@pytest.mark.parametrize(
    ("cpus", "duration", "threads"),
    [({0}, "10s", 1), ({0, 1}, "10s", 2), ({0, 1, 2, 3}, "10s", 2), ({0, 1}, "100ms", 1)],
)
def test_auto_threads_follow_the_cpus_and_the_estimate(
    cpus: set[int], duration: str, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads for 10 s of the mid-city when the process may use two CPUs; one for a
    run too short to pay the threads' hand-over (100 ms: one window)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus, raising=False)
    file = Path(__file__).parent.parent / "scenarios" / "mid-city.toml"
    compiled = compile_scenario(file, duration_ps=parse_time(duration))
    assert auto_threads(compiled.plan, compiled.scenario.simulation) == threads
    engine = make_engine(compiled.plan, compiled.scenario, threads="auto")
    assert isinstance(engine, CoreEngine)
    assert (engine.split is not None) == (threads == 2)


@pytest.fixture
def one_window_steps() -> Iterator[None]:
    """Steps of one window (the chosen length would run this tiny plan in one step, with
    no second thread)."""
    with mock.patch.object(CoreEngine, "force_step_windows", 1):
        yield


def _workers() -> list[threading.Thread]:
    """The threads of two-thread engines: running an engine's upstream part, or idle."""
    return [t for t in threading.enumerate() if t.name in (E.WORKER_NAME, E.IDLE_NAME)]


def _running_a_part() -> bool:
    """Whether a thread runs a two-thread engine's upstream part (not idle)."""
    return any(t.name == E.WORKER_NAME for t in threading.enumerate())


@pytest.mark.usefixtures("one_window_steps")
def test_an_engine_dropped_unfinished_gives_its_thread_back() -> None:
    """The finalizer of an engine dropped unfinished gives its thread back: idle, kept for
    the next engine (no thread is left running an engine's part), which takes it."""
    plan = _deep_plan(multicast=False)
    engine = _engine(plan, 2, warmup_ps=0, end_ps=2 * MS, drain=True, window_ps=50 * US)
    engine.advance(MS)
    assert _running_a_part()
    assert engine._worker is not None
    thread = engine._worker._thread
    del engine
    gc.collect()
    assert not _running_a_part()
    assert thread.name == E.IDLE_NAME and thread in _workers()
    again = _engine(plan, 2, warmup_ps=0, end_ps=2 * MS, drain=True, window_ps=50 * US)
    again.advance(MS)
    assert again._worker is not None and again._worker._thread is thread
    assert thread.name == E.WORKER_NAME
    again.finish()


@pytest.mark.usefixtures("one_window_steps")
@pytest.mark.parametrize("finished", [True, False])
def test_engines_one_after_another_or_at_once_leave_at_most_the_idle_threads(
    finished: bool,
) -> None:
    """Two-thread engines run one after the other (finished or dropped unfinished) reuse
    one thread; eight alive at once each have their own, and once they are gone at most
    ``MAX_IDLE_WORKERS`` threads stay, idle: no thread per engine left behind."""
    plan = _deep_plan(multicast=False)
    kw: dict[str, Any] = dict(warmup_ps=0, end_ps=2 * MS, drain=True, window_ps=50 * US)
    expected = _engine(plan, 1, **kw).finish()
    E.end_idle_threads()
    threads = set()
    for _ in range(6):
        engine = _engine(plan, 2, **kw)
        engine.advance(MS)
        assert engine._worker is not None
        threads.add(engine._worker._thread)
        if finished:
            assert stats_differences(engine.finish(), expected) == []
        del engine
        gc.collect()
        assert len(_workers()) == 1
    assert len(threads) == 1  # (the same thread each time)
    engines = [_engine(plan, 2, **kw) for _ in range(8)]
    for engine in engines:
        engine.advance(MS)
    running = {e._worker._thread for e in engines if e._worker is not None}
    assert len(running) == 8
    for engine in engines[::2]:
        assert stats_differences(engine.finish(), expected) == []
    del engines, engine
    gc.collect()
    assert len(_workers()) == E.MAX_IDLE_WORKERS
    assert all(t.name == E.IDLE_NAME for t in _workers())
    E.end_idle_threads()
    assert _workers() == []


def test_a_worker_whose_function_was_not_joined_is_not_kept() -> None:
    """A worker given back while its function may still run (a wait for it interrupted by
    Ctrl-C) is ended, not kept idle: the next engine's join would see that function's end
    as its own."""
    E.end_idle_threads()
    worker = E._Worker.take()
    release = threading.Event()
    worker.submit(release.wait)
    worker.give_back()  # (not joined: it ends once its function returns)
    assert E._Worker.idle == []
    release.set()
    worker._thread.join(10)
    assert not worker._thread.is_alive()


@pytest.mark.usefixtures("one_window_steps")
def test_an_engine_whose_upstream_part_raised_is_collected_and_its_thread_ends() -> None:
    """An error in U's step on the second thread reaches the caller; the worker keeps neither
    it nor its traceback (whose frames hold the engine), so the engine dropped after the
    error is collected and its finalizer gives the thread back (idle, or ended when the
    process keeps enough idle ones)."""
    plan = _deep_plan(multicast=False)
    engine = _engine(plan, 2, warmup_ps=0, end_ps=2 * MS, drain=True, window_ps=50 * US)
    calls = []

    def failing(self: CoreEngine, *args: Any) -> Any:
        calls.append(threading.current_thread().name)
        raise ValueError("U failed")

    with mock.patch.object(CoreEngine, "_up_steps", failing):
        try:
            engine.advance(MS)
        except ValueError as e:
            assert str(e) == "U failed"
        else:
            raise AssertionError("U's error was lost")
    assert calls == [E.WORKER_NAME]  # (raised on the second thread)
    assert engine._worker is not None
    thread = engine._worker._thread
    ref = weakref.ref(engine)
    del engine
    gc.collect()
    assert ref() is None
    assert thread.name == E.IDLE_NAME and thread in _workers()  # (no engine's any more)
    E.end_idle_threads()
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.usefixtures("one_window_steps")
@pytest.mark.parametrize(
    ("side", "nth"), [("_up", 1), ("_down", 1), ("_up_steps", 1), ("_down_steps", 1)]
)
def test_after_a_memory_error_in_either_part_the_next_engine_is_exact(side: str, nth: int) -> None:
    """A ``MemoryError`` in U's step (on the second thread) or in D's (on this one) reaches
    the caller, leaves no thread behind, and the next two-thread engine in the process gives
    the one-thread statistics: nothing shared (the worker, the frame-slot table) is left
    broken. (A real one, from the kernel's allocation under an address-space limit, behaved
    the same on either side; the hang once seen after a memory outcome of the hostile fuzz
    was its reference engine given 2.5e7 packets: docs/performance.md.)"""
    plan = _deep_plan(multicast=False)
    kw: dict[str, Any] = dict(warmup_ps=0, end_ps=2 * MS, drain=True, window_ps=50 * US)
    expected = _engine(plan, 1, **kw).finish()
    real = getattr(CoreEngine, side)
    calls = []

    def failing(self: CoreEngine, *args: Any, **more: Any) -> Any:
        calls.append(threading.current_thread().name)
        if len(calls) == nth:
            raise MemoryError("Allocation failed (probably too large).")
        return real(self, *args, **more)

    engine = _engine(plan, 2, **kw)
    with mock.patch.object(CoreEngine, side, failing), pytest.raises(MemoryError):
        engine.finish()
    assert calls[nth - 1] == (E.WORKER_NAME if side == "_up_steps" else "MainThread")
    del engine
    gc.collect()
    assert not _running_a_part()
    assert len(_workers()) <= E.MAX_IDLE_WORKERS
    again = _engine(plan, 2, **kw)
    assert stats_differences(again.finish(), expected) == []
    assert again._worker is None


def test_the_worker_stopped_from_its_own_thread_ends() -> None:
    """The engine's finalizer runs where its last reference goes, possibly on the worker's
    own thread: giving the worker back from there ends the thread (without joining itself;
    it is not kept idle: its loop has yet to signal the function's end)."""
    worker = E._Worker()

    def stop_here() -> int:
        worker.give_back()
        return 7

    worker.submit(stop_here)
    assert worker.join() == 7
    worker._thread.join(10)
    assert not worker._thread.is_alive()
    assert worker not in E._Worker.idle


@pytest.mark.parametrize("threads", [1, 2])
def test_ctrl_c_in_the_core_raises_keyboard_interrupt(threads: int) -> None:
    """SIGINT arriving while a kernel runs (one call simulating 20 s of the deep plan) comes
    out of the engine as ``KeyboardInterrupt``, not as the chain of ``SystemError`` Numba
    makes of it (``engine._interrupts``)."""
    plan = _deep_plan(multicast=False)
    end = 20_000 * MS
    engine = _engine(plan, threads, warmup_ps=0, end_ps=end, drain=True, window_ps=10 * MS)
    engine.prepare()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            engine.advance(end)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, handler)
        engine.close()


def test_progress_ticks_fall_on_window_edges() -> None:
    """A run reports its progress about every hundredth of its duration, in whole windows:
    the core's windows are not cut short at each report."""
    sim = compile_scenario(SCENARIOS[0], duration_ps=parse_time("5s")).scenario.simulation
    second = 1000 * MS
    for duration, window, tick in [
        (5 * second, 20 * MS, 40 * MS),  # 50 ms, rounded down to two windows
        (10 * second, 100 * MS, 100 * MS),
        (second, 100 * MS, 100 * MS),  # at least one window
    ]:
        changed = sim.model_copy(update={"duration": duration, "window": window})
        assert progress_tick(changed) == tick
    # with a pipeline step of 3 windows of 100 ms, whole steps: 900 ms of 100 s, 300 ms of 2 s
    changed = sim.model_copy(update={"duration": 100 * second, "window": 100 * MS})
    assert progress_tick(changed, 3) == 900 * MS
    changed = sim.model_copy(update={"duration": 2 * second, "window": 100 * MS})
    assert progress_tick(changed, 3) == 300 * MS


def test_the_cut_averages_a_trace_over_the_run(tmp_path: Path) -> None:
    """A trace that does not loop sends its rows once, whatever the run's length: its
    packets per simulated second, and so the parts' estimated work, fall as the run grows
    (averaged over 1 s they were ten times too many for a 10 s run, and two threads were
    chosen for a run of 8 ms on one thread); a Poisson source's do not."""
    times = np.arange(1000) * 1e-3  # 1 000 packets in the first second
    (tmp_path / "t.csv").write_text(
        "time,size\n" + "".join(f"{t:.6f},1000\n" for t in times), encoding="utf-8"
    )
    links = "".join(
        f'[[links]]\na = "n{i}"\nb = "n{i + 1}"\nrate = "1Gbps"\nduplex = false\n' for i in range(3)
    )
    text = (
        '[simulation]\nduration = "10s"\nwindow = "100ms"\n'
        + "".join(f'[[nodes]]\nid = "n{i}"\n' for i in range(4))
        + links
        + '[[sources]]\nname = "replay"\nkind = "trace"\nat = "n0"\ndestinations = ["n3"]\n'
        'file = "t.csv"\n'
        '[[sources]]\nname = "poisson"\nkind = "poisson"\nat = "n0"\ndestinations = ["n3"]\n'
        'size = "1000B"\nrate = "8Mbps"\n'
    )
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    compiled = compile_scenario(tmp_path / "s.toml")
    plan = compiled.plan
    parent = position_parents(plan)
    per_s = {d: split_mod._traffic(plan, parent, d * 10**12).generated for d in (1, 10)}
    poisson = 8e6 / ((1000 + 78) * 8)  # (packets per second, 78 B of headers on the wire)
    assert per_s[1] == pytest.approx(1000 + poisson)
    assert per_s[10] == pytest.approx(1000 / 10 + poisson)


def test_the_cut_prices_a_lead_run_as_the_kernel_merges_it() -> None:
    """A link fed by three runs, one carrying 80 % of its packets, replays 0.8 * 1 + 0.2 *
    (log2(2) + 1) = 1.2 matches an item (the kernel's lead plays one match), not log2(3);
    a link whose largest run carries half its packets, or fed by two runs, log2(k)."""
    # positions: link 0 fed by links 5, 6, 7 (rates 8, 1, 1); link 1 fed by 5, 6, 7 (2, 1,
    # 1: half); link 2 by links 5, 6 (9, 1); link 3 by two trees injected there (rates 3, 1)
    at = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3])
    fed_by = np.array([5, 6, 7, 5, 6, 7, 5, 6, -1, -1])
    rate = np.array([8.0, 1, 1, 2, 1, 1, 9, 1, 3, 1])
    hops = np.bincount(at, weights=rate, minlength=8).astype(np.float64)
    fan_in = np.array([3.0, 3, 2, 2, 1, 1, 1, 1])
    got = split_mod._matches(at, fed_by, rate, hops, fan_in)
    assert got[0] == pytest.approx(1.2)
    assert got[1] == pytest.approx(np.log2(3))
    assert got[2] == pytest.approx(1.0)
    assert got[3] == pytest.approx(1.0)
    assert got[4:].tolist() == [0.0] * 4
