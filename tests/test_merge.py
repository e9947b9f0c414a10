"""The link loops' k-way merge of inbox runs (``kernel._merge_start`` / ``kernel._merge_pop``)
against a brute-force sort: every item before ``t1`` in (time, key) order, the head the loop
reads (``ht[0]``, ``hk[0]``, ``hr[0]``) equal to the item popped, and each run's unread tail
(its items at or after ``t1``) left where ``kernel._keep_tails`` finds it; with and without a
lead run (one holding most of the items, played at the top of the tree)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidnet_sim.core import kernel as K  # noqa: N812

I64 = np.int64


@numba.njit(cache=False)
def _merge(box, runs, base, R, n_items, t1, scratch):
    """Pop every head as the link loops do; returns the rows, the heads read before each pop
    (time, key, run), the runs' positions afterwards (the lead swapped back as
    ``_keep_tails`` does), the lead (-1: none) and whether the winner's slot held its run's
    head at every pop (the element of the run's cursor, whose item has the slot's time)."""
    pos = scratch[K.SC_POS]
    stop = scratch[K.SC_STOP]
    ht = scratch[K.SC_HT]
    hk = scratch[K.SC_HK]
    hr = scratch[K.SC_HR]
    hn, T, lead = K._merge_start(
        box, runs, base, 0, R, n_items, t1, pos, stop, ht, hk, hr, scratch[K.SC_WIN]
    )
    rows = np.empty(n_items, I64)
    heads = np.empty((n_items, 3), I64)
    n = 0
    slots_ok = True
    while hn > 0:
        e = hr[0] >> K.HEAD_SHIFT
        c = pos[hr[0] & K.RUN_MASK]
        slots_ok &= e == c * K.N_COLS and box[c, 0] == ht[0] and box[c, 1] == hk[0]
        heads[n, 0] = ht[0]
        heads[n, 1] = hk[0]
        r = hr[0] & K.RUN_MASK
        if lead >= 0 and r == T:  # the lead plays as run T = R - 1, that run in its place
            r = lead
        elif lead >= 0 and r == lead:
            r = R - 1
        heads[n, 2] = r
        i, hn = K._merge_pop(box, t1, pos, stop, ht, hk, hr, hn, T, R)
        rows[n] = i >> K.ITEM_SHIFT
        n += 1
    if lead >= 0:
        K._swap_runs(pos, stop, lead, R - 1)
    return rows[:n], heads[:n], pos[:R].copy(), lead, slots_ok


def _check(run_times: list[list[int]], t1: int, keys_from: Any, base: int = 3) -> None:
    """Merge the sorted runs ``run_times`` (times in ps; keys drawn by ``keys_from(n)`` and
    sorted within equal times of a run) placed at row ``base`` of a box, against a sort."""
    rows: list[tuple[int, int, int, int]] = []
    run_of: list[int] = []
    starts: list[int] = []
    for r, times in enumerate(run_times):
        starts.append(len(rows))
        keys = keys_from(len(times))
        for t, k in sorted(zip(sorted(times), keys, strict=True)):
            rows.append((t, k, r, 0))
            run_of.append(r)
    n_items = len(rows)
    box = np.full((base + n_items + 8, K.N_COLS), -7, I64)  # rows outside the inbox: junk
    if n_items:
        box[base : base + n_items] = np.array(rows, I64)
    R = len(run_times)
    runs = np.zeros((max(R, 1), 1), I64)
    runs[:R, 0] = starts
    scratch = np.full((K.N_SCRATCH, max(R, 1) + 1), -5, I64)
    got, heads, pos, lead, slots_ok = _merge(box, runs, base, R, n_items, t1, scratch)
    assert slots_ok
    most = max((len(times) for times in run_times), default=0)
    assert (lead >= 0) == (R >= 3 and 2 * most > n_items)

    order = sorted(
        (t, k, base + j) for j, (t, k, _, _) in enumerate(rows) if t < t1
    )  # keys are unique
    assert [row for _, _, row in order] == list(got)
    assert [(t, k) for t, k, _ in order] == [tuple(h) for h in heads[:, :2]]
    assert [run_of[row - base] for _, _, row in order] == list(heads[:, 2])
    for r, times in enumerate(run_times):  # each run read up to its first item at t1 or later
        before = sum(1 for t in times if t < t1)
        assert pos[r] == base + starts[r] + before


def _unique_keys(rng: np.random.Generator) -> Any:
    used: set[int] = set()

    def draw(n: int) -> list[int]:
        out: list[int] = []
        while len(out) < n:
            k = int(rng.integers(0, 1 << 50))
            if k not in used:
                used.add(k)
                out.append(k)
        return out

    return draw


@settings(max_examples=300, deadline=None)
@given(
    runs=st.lists(st.lists(st.integers(0, 40), max_size=12), max_size=40),
    t1=st.integers(0, 45),
    seed=st.integers(0, 2**32 - 1),
)
def test_merge_is_the_sort_of_random_runs(runs: list[list[int]], t1: int, seed: int) -> None:
    """Few distinct times (many equal: the key decides), empty runs, runs ending before, at
    and after ``t1``, from no run to 40."""
    _check(runs, t1, _unique_keys(np.random.default_rng(seed)))


@pytest.mark.parametrize("R", [1, 2, 3, 64, 65, 2048])
def test_merge_of_many_runs(R: int) -> None:
    """Up to 2 048 runs (a link's run table grows as its inbox does: one run per feeder per
    window, and the kept tails; the scratch grows with it), camera-like bursts: each run a
    few back-to-back packets per frame, frames of all runs overlapping, equal times across
    runs; some runs empty, some entirely at or after ``t1``."""
    rng = np.random.default_rng(R)
    t1 = 1_000_000
    run_times: list[list[int]] = []
    for r in range(R):
        if r % 17 == 5:
            run_times.append([])
            continue
        times: list[int] = []
        for _ in range(int(rng.integers(1, 4))):
            t = int(rng.integers(0, t1 + t1 // 8)) // 100 * 100
            times.extend(t + 100 * j for j in range(int(rng.integers(1, 12))))
        if r % 13 == 7:
            times = [t1 + t for t in times]
        run_times.append(times)
    _check(run_times, t1, _unique_keys(rng))


def test_equal_times_go_by_key() -> None:
    """At one instant the smaller key comes first, whichever run holds it."""
    runs = [[10, 10, 10], [10, 10], [10], [10, 10, 10, 10]]
    keys = iter([[9, 4, 1], [8, 3], [2], [7, 6, 5, 0]])
    _check(runs, 11, lambda n: next(keys))
    keys = iter([[9, 4, 1], [8, 3], [2], [7, 6, 5, 0]])
    _check(runs, 10, lambda n: next(keys))  # every item at t1: nothing merged


@pytest.mark.parametrize(("R", "share"), [(3, 0.55), (6, 0.6), (21, 0.7), (21, 0.95), (50, 0.5)])
def test_merge_with_a_lead_run(R: int, share: float) -> None:
    """A ring link's inbox: one run (its upstream neighbour, at a random place among the
    runs) holds ``share`` of the items, long stretches of it in a row, the others bursts;
    at 0.5 exactly no run leads."""
    rng = np.random.default_rng(R * 100 + int(share * 100))
    t1 = 1_000_000
    others = 40 * (R - 1)
    n_lead = round(others * share / (1 - share))
    run_times: list[list[int]] = []
    for _ in range(R - 1):
        t = int(rng.integers(0, t1))
        run_times.append([t + 50 * j for j in range(40)])
    lead_times = sorted(int(x) for x in rng.integers(0, t1 + t1 // 10, n_lead))
    run_times.insert(int(rng.integers(0, R)), lead_times)
    _check(run_times, t1, _unique_keys(rng))


@numba.njit(cache=False)
def _before_all(a):
    """``kernel._before`` of every pair of rows ``(t, k)`` of ``a``, row against row."""
    n = a.shape[0]
    out = np.empty((n, n), np.bool_)
    for i in range(n):
        for j in range(n):
            out[i, j] = K._before(a[i, 0], a[i, 1], a[j, 0], a[j, 1])
    return out


def test_the_merge_comparison_is_the_order_of_time_then_key() -> None:
    """``_before`` (one 128-bit comparison) against Python's order of ``(time, key)``
    pairs: equal pairs, equal times, keys and times at 0, at the 32- and 63-bit edges and
    ``INF`` (an empty run's head)."""
    edges = [0, 1, 2, (1 << 31) - 1, 1 << 32, (1 << 40) + 5, (1 << 62) + 1, K.INF - 1, K.INF]
    rng = np.random.default_rng(7)
    values = edges + [int(v) for v in rng.integers(0, 1 << 62, 6)]
    pairs = np.array([(t, k) for t in values for k in values], dtype=I64)
    got = _before_all(pairs)
    want = np.array([[(a, b) < (c, d) for c, d in pairs.tolist()] for a, b in pairs.tolist()])
    assert np.array_equal(got, want)


@numba.njit(cache=False)
def _pass(box, runs, base, R, n_items, t1, scratch, top, take):
    """A link loop's pass as ``kernel._fifo_link`` opens and closes it (``_open_pass``: many
    short runs sorted into one, else the tree), stopped after ``take`` pops (-1: all) as a
    full ring stops it: the items popped (their four columns), whether it sorted, and each
    run's cursor as ``_keep_tails`` then finds it."""
    pos = scratch[K.SC_POS]
    stop = scratch[K.SC_STOP]
    ht = scratch[K.SC_HT]
    hk = scratch[K.SC_HK]
    hr = scratch[K.SC_HR]
    hn, T, lead, Rm = K._open_pass(
        box, runs, base, 0, R, n_items, t1, pos, stop, ht, hk, hr, scratch[K.SC_WIN], top
    )
    out = np.empty((n_items, K.N_COLS), I64)
    n = 0
    while hn > 0 and n != take:
        t, k = ht[0], hk[0]
        e, hn = K._merge_pop(box, t1, pos, stop, ht, hk, hr, hn, T, Rm)
        i = e >> K.ITEM_SHIFT
        if box[i, 0] != t or box[i, 1] != k:  # (the head read before the pop is the item)
            out[n, 0] = -1
        else:
            for c in range(K.N_COLS):
                out[n, c] = box[i, c]
        n += 1
    K._close_pass(box, runs, base, 0, R, Rm, pos, stop)
    if lead >= 0:
        K._swap_runs(pos, stop, lead, R - 1)
    return out[:n], Rm != R, pos[:R].copy()


def _inbox(
    run_times: list[list[int]], keys_from: Any, base: int = 3, spare: int = 0
) -> tuple[Any, Any, int]:
    """Runs ``run_times`` (keys by ``keys_from``, sorted within a run's equal times) at row
    ``base`` of a box with ``spare`` rows of junk above the inbox; origin and meta tell each
    item apart. Returns the box, the runs' starts and the items."""
    rows: list[tuple[int, int, int, int]] = []
    starts: list[int] = []
    for r, times in enumerate(run_times):
        starts.append(len(rows))
        keys = keys_from(len(times))
        for j, (t, k) in enumerate(sorted(zip(sorted(times), keys, strict=True))):
            rows.append((t, k, 1000 * r + j, 7 + r))
    n = len(rows)
    box = np.full((base + n + spare, K.N_COLS), -7, I64)
    if n:
        box[base : base + n] = np.array(rows, I64)
    runs = np.zeros((max(len(run_times), 1), 1), I64)
    runs[: len(run_times), 0] = starts
    return box, runs, n


def _sorted_against_tree(
    run_times: list[list[int]], t1: int, keys_from: Any, take: int = -1, spare: int = -1
) -> bool:
    """One pass of ``_open_pass`` against the tree alone (``_merge_start``, on a copy of the
    same inbox): the same items in the same order, stopped after ``take``, and the same
    cursors left for ``_keep_tails``. Returns whether the pass sorted."""
    keys = keys_from(sum(len(t) for t in run_times))
    it = iter(keys)
    box, runs, n = _inbox(run_times, lambda m: [next(it) for _ in range(m)], spare=0)
    top = len(box)
    room = 3 * n + 64 if spare < 0 else spare
    box = np.vstack([box, np.full((room, K.N_COLS), -9, I64)])
    R = len(run_times)
    tree_box = box.copy()
    scratch = np.full((K.N_SCRATCH, max(R + 1, K.DEFER_CAP)), -5, I64)
    got, sorted_, pos = _pass(box, runs, 3, R, n, t1, scratch, top, take)
    assert (got[:, 0] >= 0).all()
    rows, _, tree_pos, _, _ = _merge(tree_box, runs, 3, R, n, t1, scratch.copy())
    want = tree_box[rows[: len(got)] if take >= 0 else rows]
    assert got.tolist() == want.tolist()
    assert np.array_equal(box[:top], tree_box[:top])  # the inbox itself untouched
    if take < 0:
        assert pos.tolist() == tree_pos.tolist()
    else:  # the tree stopped after `take` pops: each run past what it took
        taken = {(int(t), int(k)) for t, k in want[:, :2]}
        for r in range(R):
            i = 3 + int(runs[r, 0])
            end = 3 + (int(runs[r + 1, 0]) if r + 1 < R else n)
            while i < end and (int(box[i, 0]), int(box[i, 1])) in taken:
                i += 1
            assert pos[r] == i
    return sorted_


def _short_runs(R: int, per_run: int, t1: int, rng: np.random.Generator) -> list[list[int]]:
    """Camera-like short runs: bursts at random places, many equal times across runs, some
    runs empty, one item long, wholly at or after ``t1``, or running past it."""
    out: list[list[int]] = []
    for r in range(R):
        if r % 11 == 3:
            out.append([])
            continue
        if r % 11 == 5:
            out.append([int(rng.integers(0, t1 // 1000)) * 1000])
            continue
        times: list[int] = []
        while len(times) < per_run:
            t = int(rng.integers(0, t1 + t1 // 10)) // 1000 * 1000
            times.extend(t + 1000 * j for j in range(int(rng.integers(1, 9))))
        if r % 11 == 7:
            times = [t1 + t for t in times]
        out.append(times)
    return out


@pytest.mark.parametrize(("R", "per_run"), [(16, 1), (16, 28), (20, 64), (50, 28), (50, 5)])
def test_short_runs_sorted_as_the_tree_merges(R: int, per_run: int) -> None:
    """Many short runs are sorted (``kernel._sort_runs``) and read in the tree's order:
    equal times across runs, empty and one-item runs, runs past ``t1`` (their tails left
    where the tree leaves them), at every stop of the pass (a full ring) too."""
    rng = np.random.default_rng(R * 1000 + per_run)
    t1 = 10_000_000
    runs = _short_runs(R, per_run, t1, rng)
    assert _sorted_against_tree(runs, t1, _unique_keys(rng))
    n_before = sum(1 for times in runs for t in times if t < t1)
    for take in sorted({0, 1, 2, n_before // 3, n_before - 1, n_before}):
        assert _sorted_against_tree(runs, t1, _unique_keys(np.random.default_rng(take)), take)


def test_sorted_equal_times_go_by_key() -> None:
    """Every item at one of two instants: the keys alone order them, against the runs'
    order and their places (a sort by run, or by key the other way, fails)."""
    R = 20
    runs = [[50, 50, 90] for _ in range(R)]
    keys = iter(range(3 * R, 0, -1))  # later runs hold smaller keys
    assert _sorted_against_tree(runs, 100, lambda n: [next(keys) for _ in range(n)])
    rng = np.random.default_rng(5)
    for _ in range(5):
        assert _sorted_against_tree(runs, 100, _unique_keys(rng))
        assert _sorted_against_tree(runs, 90, _unique_keys(rng), take=R)


@settings(max_examples=200, deadline=None)
@given(
    runs=st.lists(st.lists(st.integers(0, 60), max_size=6), min_size=16, max_size=40),
    t1=st.integers(0, 64),
    take=st.integers(-1, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_sorted_pass_is_the_tree_of_random_runs(
    runs: list[list[int]], t1: int, take: int, seed: int
) -> None:
    """Few distinct times, runs of at most 6 items (always sorted), any stop."""
    assert _sorted_against_tree(runs, t1, _unique_keys(np.random.default_rng(seed)), take)


def test_long_runs_few_runs_and_no_room_keep_the_tree() -> None:
    """The tree stays for fewer than ``SORT_MIN_RUNS`` runs, for runs longer than
    ``SORT_MAX_PER_RUN`` items on average (a core link's 20 runs of 1 400) and when the
    store has no room above its top for the sorted run and its counts; and when the times
    crowd more than ``SORT_MAX_BUCKET`` items into one bucket (a stale tail far before the
    rest)."""
    rng = np.random.default_rng(3)
    t1 = 10_000_000
    few = _short_runs(K.SORT_MIN_RUNS - 1, 20, t1, rng)
    assert not _sorted_against_tree(few, t1, _unique_keys(rng))
    long = [sorted(int(t) for t in rng.integers(0, t1, 200)) for _ in range(20)]
    assert not _sorted_against_tree(long, t1, _unique_keys(rng))
    short = _short_runs(20, 10, t1, rng)
    n = sum(1 for times in short for t in times if t < t1)
    m = max(K.SORT_BUCKETS_MIN, 1 << (n - 1).bit_length())  # buckets: a power of two >= n
    need = n + (m + K.N_COLS) // K.N_COLS  # the sorted run, then m + 1 counts
    assert not _sorted_against_tree(short, t1, _unique_keys(rng), spare=need - 1)
    assert _sorted_against_tree(short, t1, _unique_keys(rng), spare=need)
    crowded = [[0]] + [[t1 - 100 * j - r for j in range(5)] for r in range(20)]
    assert not _sorted_against_tree(crowded, t1, _unique_keys(rng))
    assert _sorted_against_tree(crowded[1:], t1, _unique_keys(rng))  # (the same, no stale one)
