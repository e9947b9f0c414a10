"""The log-linear histogram's bucket index against its bucket edges (an independent formula)."""

from __future__ import annotations

import numba as nb
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vidnet_sim.core.histogram import (
    COUNT_DTYPE,
    COUNT_UNIT,
    N_BUCKETS,
    bucket_edges,
    bucket_index,
    count_one,
    counts_of,
)

LO, HI = bucket_edges()
INT64_MAX = 2**63 - 1


def _holds(v: int) -> bool:
    b = bucket_index(v)
    return 0 <= b < N_BUCKETS and LO[b] <= v and (v < HI[b] or HI[b] == INT64_MAX)


def test_every_edge_and_its_neighbours() -> None:
    values = sorted(
        {x for k in range(64) for x in (2**k - 1, 2**k, 2**k + 1) if x <= INT64_MAX}
        | set(range(1024))
        | {int(x) for x in LO}
        | {int(x) - 1 for x in LO[1:]}
    )
    assert all(_holds(v) for v in values)
    idx = [bucket_index(v) for v in values]
    assert idx == sorted(idx)  # monotone in the value
    assert bucket_index(INT64_MAX) == N_BUCKETS - 1
    assert [bucket_index(int(x)) for x in LO] == list(range(N_BUCKETS))  # each edge its own


@given(st.integers(min_value=0, max_value=INT64_MAX))
def test_any_value_lands_in_its_bucket(v: int) -> None:
    assert _holds(v)


def test_width_is_at_most_1_128th_of_the_lower_edge() -> None:
    big = LO >= 256
    assert np.all((HI[big][:-1] - LO[big][:-1]) * 128 <= LO[big][:-1])


@nb.njit(cache=False)
def _count_many(table: np.ndarray, g: int, b: int, n: int) -> None:
    for _ in range(n):
        count_one(table, nb.uint64(g), nb.uint64(b))


def test_counts_carry_past_the_int32_counters() -> None:
    """A bucket counted past ``COUNT_UNIT`` (started just below it) reads out whole, its
    neighbours and the other histograms untouched; several carries add up."""
    table = np.zeros((2 * 3, 8), COUNT_DTYPE)
    table[1, 5] = COUNT_UNIT - 3
    _count_many(table, 1, 5, 10)
    _count_many(table, 2, 0, 4)
    expected = np.zeros((3, 8), np.int64)
    expected[1, 5] = COUNT_UNIT + 7
    expected[2, 0] = 4
    assert table[1, 5] == 7 and table[3 + 1, 5] == 1
    out = counts_of(table)
    assert out.dtype == np.int64 and (out == expected).all()
    table[3 + 1, 5] = 5  # (five carries)
    assert counts_of(table)[1, 5] == 5 * COUNT_UNIT + 7
