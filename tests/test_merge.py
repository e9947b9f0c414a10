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
