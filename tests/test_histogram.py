"""The log-linear histogram's bucket index against its bucket edges (an independent formula)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vidnet_sim.core.histogram import N_BUCKETS, bucket_edges, bucket_index

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
