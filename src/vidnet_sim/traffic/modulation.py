"""The two-state modulating process behind camera motion and on/off sources (Numba).

A source alternates between state 0 (a camera's *idle*, an on/off source's *off*) and
state 1 (*motion*, *on*). Sojourn ``c`` (``c = 1, 2, ...``) lasts a draw of the
counter-based RNG on ``(key, STREAM_MODULATION, c)``; the initial state is the draw on
counter 0, state 1 with probability ``mean_1 / (mean_0 + mean_1)`` (the long-run fraction of
time in state 1). Sojourns are

- exponential with the state's mean when its shape is 0 (a Markov process: camera motion);
  starting in the stationary distribution makes the process stationary from its origin;
- Pareto with shape ``a > 1`` and the state's mean otherwise: ``x_m u^(-1/a)`` with
  ``x_m = mean (a - 1) / a`` (heavy-tailed on/off periods, Willinger et al., IEEE/ACM ToN
  1997: with ``1 < a < 2`` an aggregate of such sources is asymptotically self-similar).

A sojourn is capped at :data:`SOJOURN_CAP_PS` (2^60 ps, about 13 days) so that times stay in
int64; with ``a >= 1.2`` the cap removes a negligible part of the mean for sojourns of
seconds. Because every draw is a pure function of the counter, the process is the same
however the run is cut into windows.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from vidnet_sim._compile_cache import end_compile_cache, use_compile_cache
from vidnet_sim.traffic.rng import STREAM_MODULATION, uniform

use_compile_cache()

#: Longest sojourn, ps (2^60 ps ≈ 13.3 days).
SOJOURN_CAP_PS = float(2**60)


@nb.njit(cache=True, error_model="numpy", inline="always")
def sojourn_ps(key: np.uint64, count: int, mean_ps: float, shape: float) -> int:
    """Length of sojourn ``count``: exponential (``shape == 0``) or Pareto, mean ``mean_ps``."""
    u = uniform(key, STREAM_MODULATION, count)
    if shape <= 0.0:
        x = -np.log(u) * mean_ps
    else:
        x = mean_ps * (shape - 1.0) / shape * np.exp(-np.log(u) / shape)
    x = min(x, SOJOURN_CAP_PS)
    return int(np.round(x))


@nb.njit(cache=True, error_model="numpy", inline="always")
def mod_start(
    key: np.uint64, t0: int, mean0: float, mean1: float, shape0: float, shape1: float
) -> tuple[int, int, int]:
    """The first sojourn from ``t0``: ``(state, end time, sojourn count = 1)``."""
    p1 = mean1 / (mean0 + mean1)
    state = 1 if uniform(key, STREAM_MODULATION, 0) < p1 else 0
    if state == 1:
        end = t0 + sojourn_ps(key, 1, mean1, shape1)
    else:
        end = t0 + sojourn_ps(key, 1, mean0, shape0)
    return state, end, 1


@nb.njit(cache=True, error_model="numpy", inline="always")
def mod_next(
    key: np.uint64,
    state: int,
    end: int,
    count: int,
    mean0: float,
    mean1: float,
    shape0: float,
    shape1: float,
) -> tuple[int, int, int]:
    """The sojourn after the one ending at ``end``: ``(state, end time, count)``."""
    count += 1
    if state == 0:
        return 1, end + sojourn_ps(key, count, mean1, shape1), count
    return 0, end + sojourn_ps(key, count, mean0, shape0), count


__all__ = ["SOJOURN_CAP_PS", "mod_next", "mod_start", "sojourn_ps"]


end_compile_cache()  # (after the last njit decorator)
