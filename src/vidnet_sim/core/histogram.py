"""Log-linear (HDR-style) histograms of non-negative int64 values.

A value ``v`` below 256 has its own bucket. Above, each octave ``[2^k, 2^(k+1))`` is split
into 128 equal sub-buckets, so a bucket's width is at most 1/128 of its lower edge and its
midpoint is within 0.4 % of any value in it. Counts are int64 arrays of ``N_BUCKETS``; they
merge exactly by addition (windows, replications, sweep points). Never average percentiles.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt
from numba.cpython.unsafe.numbers import leading_zeros

from vidnet_sim._compile_cache import end_compile_cache, use_compile_cache

use_compile_cache()

SUB_BITS = 7
SUB_COUNT = 1 << SUB_BITS  # 128 sub-buckets per octave
LINEAR_LIMIT = 2 * SUB_COUNT  # values below 256 have one bucket each
N_BUCKETS = LINEAR_LIMIT + (63 - (SUB_BITS + 1)) * SUB_COUNT  # 7296: covers all int64 >= 0


@nb.njit(cache=True, error_model="numpy", inline="always")
def bucket_index(v: int) -> int:
    """Index of the bucket holding ``v`` (``v >= 0``)."""
    if v < LINEAR_LIMIT:
        return v
    # e = bit_length(v >> 8) = bit_length(v) - 8: one count of leading zeros (a binary
    # search took six branches, which a spread of latencies mispredicts)
    e = 64 - leading_zeros(nb.int64(v)) - (SUB_BITS + 1)  # type: ignore[call-arg]
    m = v >> e  # in [128, 256)
    return LINEAR_LIMIT + (e - 1) * SUB_COUNT + (m - SUB_COUNT)


def bucket_edges(n: int = N_BUCKETS) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Lower (inclusive) and upper (exclusive) edges of buckets ``0 .. n-1``."""
    idx = np.arange(n, dtype=np.int64)
    lo = idx.copy()
    hi = idx + 1
    big = idx >= LINEAR_LIMIT
    j = idx[big] - LINEAR_LIMIT
    e = j // SUB_COUNT + 1
    m = SUB_COUNT + j % SUB_COUNT
    lo[big] = m << e
    hi[big] = (m + 1) << e
    hi[hi < lo] = np.iinfo(np.int64).max  # the last bucket's edge, 2**63, does not fit
    return lo, hi


def quantile(
    counts: npt.NDArray[np.int64], q: float, vmin: int | None = None, vmax: int | None = None
) -> float:
    """The ``q``-quantile (0..1) of the values counted in ``counts``; NaN if empty.

    Returns the midpoint of the bucket holding the ``ceil(q * n)``-th smallest value,
    clamped to the exact ``[vmin, vmax]`` when those are known.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        return float("nan")
    rank = max(1, int(np.ceil(q * n)))
    cum = np.cumsum(counts)
    i = int(np.searchsorted(cum, rank, side="left"))
    lo, hi = bucket_edges(i + 1)
    value = float(lo[i]) if hi[i] - lo[i] == 1 else (float(lo[i]) + float(hi[i] - 1)) / 2.0
    if vmin is not None:
        value = max(value, float(vmin))
    if vmax is not None:
        value = min(value, float(vmax))
    return value


def histogram_of(values: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Bucket counts of an array of non-negative integers (for tests and re-aggregation)."""
    v = np.asarray(values, dtype=np.int64)
    out = np.zeros(N_BUCKETS, dtype=np.int64)
    _add_all(out, v)
    return out


@nb.njit(cache=True, error_model="numpy")
def _add_all(out: npt.NDArray[np.int64], v: npt.NDArray[np.int64]) -> None:
    for x in v:
        out[bucket_index(x)] += 1


end_compile_cache()  # (after the last njit decorator)
