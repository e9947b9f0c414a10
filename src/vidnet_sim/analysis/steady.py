"""Is a measurement stationary? MSER-5 truncation and a batch-means trend test.

Near saturation a short run has not filled its queues: loss and latency grow with the
simulated duration until the queues are stationary, and a verdict read from such a run
depends on how long one simulated. The sizing (:mod:`vidnet_sim.analysis.sizing`) cuts each
run into equal report intervals (the ``epochs`` table) and, for a design it would accept,
checks every SLA metric's series over those intervals:

1. **MSER-5** (White 1997): the series is grouped into batches of 5 consecutive intervals;
   the truncation ``d`` (in batches, at most half of them) minimising the marginal standard
   error ``var(batches[d:]) / (k − d)²`` is the warm-up the data asks for;
2. **trend**: over the batch means left, the least-squares slope against time and its
   one-sided t-test; a slope significantly above 0 (``p < alpha``) means the metric is still
   growing at the end of the run: a **transient**.

3. **relaxation time**: a trend test cannot see the slow growth of a queue near saturation
   in a short run (its noise is larger than the growth), so a link crossed by a class with
   an SLA must also have been measured for at least its queue's relaxation time,
   ``S / (1 − √ρ)²`` for mean service time ``S`` at utilisation ``ρ`` (the M/M/1 value,
   Cohen 1982; bursty traffic relaxes more slowly still, so this is a floor): 11.7 service
   times at 50 %, 9.9 s for 1 250-byte packets (1 ms each) on a 10 Mbit/s link at 98 %.

A verdict resting on a transient is not accepted: the runs are extended (the duration
doubled, up to a limit) and judged again; one still resting on a transient at the limit is
reported as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BATCH", "Trend", "mser5", "relaxation_ps", "trend"]

#: Intervals per MSER batch.
BATCH = 5


def mser5(series: npt.ArrayLike) -> int:
    """The MSER-5 truncation point, in intervals (a multiple of 5): the warm-up that
    minimises the marginal standard error of the mean of the batches kept (never more than
    half of them). NaN values (intervals in the warm-up) are dropped first."""
    x = np.asarray(series, np.float64)
    x = x[~np.isnan(x)]
    k = len(x) // BATCH
    if k < 2:
        return 0
    means = x[: k * BATCH].reshape(k, BATCH).mean(axis=1)
    best, best_d = math.inf, 0
    for d in range(k // 2 + 1):
        rest = means[d:]
        if len(rest) < 2:
            break
        se = float(rest.var()) / len(rest) ** 2
        if se < best - 1e-300:
            best, best_d = se, d
    return best_d * BATCH


@dataclass(frozen=True)
class Trend:
    """The batch-means trend of one series: the warm-up dropped (intervals), the batches
    kept, their slope per batch, its one-sided p-value, and ``transient`` (still growing)."""

    warmup: int
    batches: int
    slope: float
    p_value: float
    transient: bool


def trend(series: npt.ArrayLike, alpha: float = 0.05) -> Trend:
    """MSER-5 truncation, then the least-squares slope of the batch means left and its
    one-sided t-test (``transient`` when the slope is positive at level ``alpha``). Fewer
    than 4 batches, or a constant series, show no trend."""
    x = np.asarray(series, np.float64)
    x = x[~np.isnan(x)]
    d = mser5(x)
    rest = x[d:]
    k = len(rest) // BATCH
    if k < 4:
        return Trend(d, k, 0.0, 1.0, False)
    means = rest[: k * BATCH].reshape(k, BATCH).mean(axis=1)
    t = np.arange(k, dtype=np.float64)
    tc = t - t.mean()
    sxx = float(tc @ tc)
    slope = float(tc @ (means - means.mean())) / sxx
    resid = means - means.mean() - slope * tc
    s2 = float(resid @ resid) / (k - 2)
    if s2 <= 0.0:  # on a line: growing when the slope is more than rounding
        p = 0.0 if slope > 1e-12 * float(np.abs(means).max()) else 1.0
    else:
        from scipy import stats as st  # lazily: scipy.stats costs a second of start-up

        tstat = slope / math.sqrt(s2 / sxx)
        p = float(st.t.sf(tstat, k - 2))
    return Trend(d, k, slope, p, slope > 0 and p < alpha)


def relaxation_ps(utilisation: float, service_ps: float) -> float:
    """The M/M/1 relaxation time ``S / (1 − √ρ)²`` of a queue at utilisation ``ρ`` with
    mean service time ``S`` (ps): how long it takes to approach its stationary regime
    (infinite at ``ρ ≥ 1``, 0 with nothing to serve)."""
    if service_ps <= 0 or utilisation <= 0:
        return 0.0
    if utilisation >= 1:
        return math.inf
    return service_ps / (1.0 - math.sqrt(utilisation)) ** 2
