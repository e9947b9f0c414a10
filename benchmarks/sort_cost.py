"""A link's pass over many short inbox runs: the tree of losers against the sort, per item.

    python benchmarks/sort_cost.py [--repeat N] [R:ITEMS ...]

Builds camera-like inboxes of ``R`` runs of about ``ITEMS`` items each (default: case e's
uplinks, 50 runs of 28, and its core link, 20 runs of 1 400, and a few between): each run a
camera's frames at 25 fps from a random phase, 8 packets a frame (one frame in 25 an I-frame
of 80), the packets of a frame 112 us apart (1 400 B at 100 Mbit/s), ending past the
window's end ``t1``. Times, in a loop over the same inbox (in the cache, as a link's inbox
written just before its pass is), the merge alone (``_merge_start`` and every
``_merge_pop``) and the sort with the pops of its one run (``_open_pass`` with the sort
forced, ``_merge_pop``), and prints the nanoseconds per item of each: the price of the
sort against the tree, with nothing else of the link's loop around them.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from vidnet_sim.core import kernel as K  # noqa: N812

I64 = np.int64
US = 1_000_000  # ps


def inbox(R: int, items: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, int, int]:
    """A box (the inbox at row 0, free rows above it), its runs' starts, its items, ``t1``."""
    rng = np.random.default_rng(seed)
    window = 100_000 * US * max(items, 1) // 28  # 28 items a camera in 100 ms
    t1 = window
    rows: list[tuple[int, int, int, int]] = []
    starts = []
    for r in range(R):
        starts.append(len(rows))
        t = int(rng.integers(0, 40_000 * US))
        seq = 0
        while t < t1:
            n = 80 if rng.random() < 1 / 25 else 8
            for j in range(n):
                rows.append((t + 112 * US * (j + 1) + 5 * US, (r << 40) | seq, t, 1400))
                seq += 1
            t += 40_000 * US
    n_items = len(rows)
    box = np.zeros((3 * n_items + 64, K.N_COLS), I64)
    box[:n_items] = np.array(rows, I64)
    return box, np.array(starts, I64).reshape(-1, 1), n_items, t1


@numba.njit(cache=False)
def _tree(box, runs, R, n_items, t1, scratch, reps):
    s = 0
    for _ in range(reps):
        pos = scratch[K.SC_POS]
        stop = scratch[K.SC_STOP]
        ht = scratch[K.SC_HT]
        hk = scratch[K.SC_HK]
        hr = scratch[K.SC_HR]
        hn, T, _ = K._merge_start(
            box, runs, 0, 0, R, n_items, t1, pos, stop, ht, hk, hr, scratch[K.SC_WIN]
        )
        while hn > 0:
            e, hn = K._merge_pop(box, t1, pos, stop, ht, hk, hr, hn, T, R)
            s += K._at(box, e + 3)
    return s


@numba.njit(cache=False)
def _sorted(box, runs, R, n_items, t1, scratch, reps, top):
    s = 0
    for _ in range(reps):
        pos = scratch[K.SC_POS]
        stop = scratch[K.SC_STOP]
        ht = scratch[K.SC_HT]
        hk = scratch[K.SC_HK]
        hr = scratch[K.SC_HR]
        S = K._sort_runs(
            box, runs, 0, 0, R, n_items, t1, pos, stop, scratch[K.SC_WIN], top, 1 << 40
        )
        ht[0] = K._at(box, pos[R] * K.N_COLS) if S > 0 else K.INF
        hk[0] = K._at(box, pos[R] * K.N_COLS + 1) if S > 0 else K.INF
        hr[0] = K._head(pos, R)
        hn = min(S, 1)
        while hn > 0:
            e, hn = K._merge_pop(box, t1, pos, stop, ht, hk, hr, hn, 0, 0)
            s += K._at(box, e + 3)
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=["50:28", "50:5", "16:28", "20:64", "20:1400"])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    for case in args.cases:
        R, items = (int(x) for x in case.split(":"))
        box, runs, n_items, t1 = inbox(R, items)
        n = int(sum(1 for t in box[:n_items, 0] if t < t1))
        scratch = np.zeros((K.N_SCRATCH, max(R + 1, K.DEFER_CAP)), I64)
        reps = max(1, 2_000_000 // max(n, 1))
        top = n_items
        ts, tt = [], []
        for _ in range(args.repeat):
            c0 = time.perf_counter()
            a = _tree(box, runs, R, n_items, t1, scratch, reps)
            c1 = time.perf_counter()
            b = _sorted(box, runs, R, n_items, t1, scratch, reps, top)
            c2 = time.perf_counter()
            assert a == b
            tt.append((c1 - c0) / reps / n * 1e9)
            ts.append((c2 - c1) / reps / n * 1e9)
        sorted_ = R >= K.SORT_MIN_RUNS and n <= K.SORT_MAX_PER_RUN * R  # (in the link loop)
        print(
            f"{R} runs of {n / R:.0f} items before t1 ({n} items): tree "
            f"{min(tt):.2f} ns an item (median {np.median(tt):.2f}), "
            f"sorted {min(ts):.2f} "
            f"(median {np.median(ts):.2f}); the link loop {'sorts' if sorted_ else 'merges'}",
            flush=True,
        )


if __name__ == "__main__":
    main()
