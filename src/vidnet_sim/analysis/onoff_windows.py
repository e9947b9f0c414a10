"""What a window of ``τ`` holds of an ``onoff`` source: exact moments for the Gaussian
estimate (``analysis/estimates.py``).

The generator (``traffic/generate.py``, ``traffic/modulation.py``) alternates Pareto on and
off periods (shape ``a > 1``, mean ``μ``: ``P(L > x) = (x_m / x)^a`` above ``x_m = μ (a −
1)/a``, 1 below) and sends a packet at the start of each on period and every ``interval``
after it while the period lasts. Two pieces:

- :func:`packets_per_on_period`: ``E⌈L/interval⌉``, the packets an on period sends, so
  that the source's mean rate is ``wire × E⌈L/iv⌉ / (μ_on + μ_off)`` (renewal reward;
  ``L/iv`` alone misses up to one packet a period);
- :func:`on_time_variance`: the variance of the time on in a window of ``τ`` of the
  stationary alternating renewal process, ``2 ∫₀^τ (τ − u) C(u) du`` with ``C`` the
  autocovariance of the on indicator, from the renewal equations of the two states
  (:func:`_autocovariance`). The former estimate, ``τ² p (1 − p)`` (periods much longer
  than ``τ``), is its upper bound (Cauchy–Schwarz) and its limit for ``τ → 0``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

__all__ = ["on_time_variance", "packets_per_on_period", "sojourn_survival"]

F64 = npt.NDArray[np.float64]

#: Grid points over ``[0, τ]`` for the renewal equations (their error is of the order of one
#: step against the shortest period's scale ``x_m``; see :func:`on_time_variance`).
GRID_POINTS = 2000


def sojourn_survival(x: F64, mean: float, shape: float) -> F64:
    """``P(L > x)`` of the generator's sojourn of mean ``mean``: Pareto of shape ``shape``,
    exponential for shape 0 (``traffic/modulation.py``)."""
    if shape <= 0:
        return np.asarray(np.exp(-np.asarray(x, np.float64) / mean), np.float64)
    xm = mean * (shape - 1.0) / shape
    tail = (xm / np.maximum(x, xm)) ** shape
    return np.asarray(np.where(x < xm, 1.0, tail), np.float64)


def _integrated_tail(u: F64, mean: float, shape: float) -> F64:
    """``∫_u^∞ P(L > x) dx`` (``mean`` at ``u = 0``) of :func:`sojourn_survival`'s law."""
    if shape <= 0:
        return np.asarray(mean * np.exp(-u / mean), np.float64)
    a = shape
    xm = mean * (a - 1.0) / a
    above = xm**a * np.maximum(u, xm) ** (1.0 - a) / (a - 1.0)
    return np.asarray(np.where(u < xm, (xm - u) + xm / (a - 1.0), above), np.float64)


def packets_per_on_period(mean: float, shape: float, interval: float) -> float:
    """``E⌈L / interval⌉ = Σ_{k≥0} P(L > k interval)`` for a Pareto on period ``L``: one
    packet for each ``k`` below ``x_m / interval`` and the tail ``(x_m/iv)^a ζ(a, k₀)``
    (Hurwitz zeta, ``k₀ = ⌈x_m/iv⌉``) above; shape 0: exponential."""
    from scipy.special import zeta

    if mean <= 0:
        return 0.0
    if shape <= 0:  # exponential: a geometric count, 1 / (1 − e^(−iv/μ))
        return float(-1.0 / math.expm1(-interval / mean))
    a = shape
    xm = mean * (a - 1.0) / a
    k0 = max(math.ceil(xm / interval), 1)
    # k = 0 .. k0 - 1 have k iv < x_m (P = 1); from k0 on P(L > k iv) = (x_m / (k iv))^a
    return float(k0 + (xm / interval) ** a * zeta(a, k0))


@functools.lru_cache(maxsize=256)
def on_time_variance(
    mean_off: float, mean_on: float, shape_off: float, shape_on: float, tau: float
) -> float:
    """Variance of the time on in a window of ``tau`` (same unit as the means) of the
    stationary alternating renewal process with Pareto periods (shape 0 for both:
    exponential, the closed form ``2 p (1 − p) (τ/λ − (1 − e^(−λτ))/λ²)``, ``λ = 1/μ_off +
    1/μ_on``): ``2 ∫₀^τ (τ − u) C(u) du``
    (:func:`_autocovariance` on :data:`GRID_POINTS` steps, trapezoids). At most ``τ² p (1 −
    p)``, ``p = μ_on / (μ_on + μ_off)``, to which it tends for ``τ`` short against the
    periods; about ``2 τ ∫ C`` (less than linear in ``τ`` for shapes below 2: long-range
    dependence) for ``τ`` long against them."""
    p = mean_on / (mean_on + mean_off)
    if tau <= 0 or p <= 0 or p >= 1:
        return 0.0
    if shape_off <= 0 and shape_on <= 0:  # exponential: C(u) = p (1 − p) e^(−λu)
        lam = 1.0 / mean_off + 1.0 / mean_on
        return 2.0 * p * (1.0 - p) * (tau / lam + math.expm1(-lam * tau) / (lam * lam))
    coarse, fine = (
        _on_time_variance(p, mean_off, mean_on, shape_off, shape_on, tau, n)
        for n in (GRID_POINTS // 2, GRID_POINTS)
    )
    return min(max(2.0 * fine - coarse, 0.0), tau * tau * p * (1.0 - p))


def _on_time_variance(
    p: float, mean_off: float, mean_on: float, shape_off: float, shape_on: float, tau: float, n: int
) -> float:
    u = np.linspace(0.0, tau, n + 1)
    c = _autocovariance(u, mean_off, mean_on, shape_off, shape_on)
    f = (tau - u) * c
    return 2.0 * float(np.sum((f[1:] + f[:-1]) * 0.5 * np.diff(u)))


def _autocovariance(
    u: F64, mean_off: float, mean_on: float, shape_off: float, shape_on: float
) -> F64:
    """``C(u) = P(on at 0, on at u) − p²`` of the stationary process on the grid ``u`` (equal
    steps from 0).

    On at 0, the on period's residual ``R`` has the density ``P(L_on > r)/μ_on``; at ``u``
    the source is on if ``R > u``, or if ``R = s ≤ u`` and the off period starting at ``s``
    leads to on at ``u``: ``P(on at u) = S_R(u) + ∫ f_R(s) A(u − s) ds``, with ``A(t)`` (on
    at ``t`` after an off period starts) and ``B(t)`` (after an on period starts) solving
    ``A = f_off * B``, ``B = S_on + f_on * A``. Discretised with each period's law in the
    grid's steps (a change counted at the end of its step)."""
    n = len(u)
    p = mean_on / (mean_on + mean_off)
    s_on = sojourn_survival(u, mean_on, shape_on)
    q_on = np.concatenate([[0.0], -np.diff(s_on)])  # P(L_on in step j), j ≥ 1
    q_off = np.concatenate([[0.0], -np.diff(sojourn_survival(u, mean_off, shape_off))])
    s_res = _integrated_tail(u, mean_on, shape_on) / mean_on  # P(R > u)
    q_res = np.concatenate([[0.0], -np.diff(s_res)])
    a = np.zeros(n)
    b = np.zeros(n)
    b[0] = 1.0
    for k in range(1, n):
        a[k] = float(np.dot(q_off[1 : k + 1], b[k - 1 :: -1]))
        b[k] = s_on[k] + float(np.dot(q_on[1 : k + 1], a[k - 1 :: -1]))
    on = s_res.copy()
    for k in range(1, n):
        on[k] += float(np.dot(q_res[1 : k + 1], a[k - 1 :: -1]))
    return np.asarray(p * on - p * p, np.float64)
