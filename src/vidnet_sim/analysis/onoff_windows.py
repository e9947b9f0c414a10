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
  than ``τ``), is its upper bound (Cauchy–Schwarz) and its limit for ``τ → 0``; it is the
  *fluid* law, blind to the packet grid, and its grid of :data:`GRID_POINTS` steps over
  ``τ`` must be fine against the periods (it is far off for periods shorter than a step);
- :func:`onoff_count_variance` and :func:`burst_count_variance`: the variance of the
  *packets* in a window (:func:`_count_variance`, the Palm renewal equations of the packet
  grid, as power series on long grids: :func:`_after_off`), which the fluid law misses
  when a window or an on period holds few packets; the estimates use these, up to
  :data:`MOST_COUNT_INTERVALS` intervals a window on the grid and extrapolated beyond.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.fft import irfft, next_fast_len, rfft
from scipy.special import gammaln, zeta

__all__ = [
    "MOST_COUNT_INTERVALS",
    "burst_count_variance",
    "on_time_variance",
    "onoff_count_variance",
    "packets_per_on_period",
    "sojourn_survival",
]

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


# --------------------------------------------------------------------------- packet counts
#: Longest window, in packet intervals, whose packet count :func:`onoff_count_variance` and
#: :func:`burst_count_variance` compute on the grid (up to about a second: from
#: :data:`GRID_POINTS` intervals on, a step of an interval, solved as power series);
#: beyond it the variance is extrapolated (:func:`_beyond`).
MOST_COUNT_INTERVALS = 100_000


@dataclass(frozen=True)
class _Steps:
    """A period's law on a grid of step ``h``: ``q[j] = P(it ends in step j)``, ``j = 0 ..
    n`` (``q[0] = 0``; a period in ``((j − 1) h, j h]`` ends at ``j h``), its mean in steps
    ``E j`` (all of it, not only up to ``n``), and ``Σ_{m ≥ 0} q[r + m k]`` for ``r = 1 ..
    min(k, n)`` (the mass of each residue class of the grid's ``k`` steps per packet
    interval that a window of ``n`` steps meets)."""

    q: F64
    mean_steps: float
    residues: F64


def _continuous_steps(mean: float, shape: float, h: float, n: int, k: int) -> _Steps:
    """:func:`sojourn_survival`'s law on the grid: ``E j = E⌈L/h⌉``
    (:func:`packets_per_on_period` at the interval ``h``); the residue classes summed over
    ``m₀`` intervals (``m₀`` at least 64) and the rest of the tail spread evenly over the
    ``k`` classes."""
    s = sojourn_survival(np.arange(n + 1, dtype=np.float64) * h, mean, shape)
    q = np.concatenate([[0.0], -np.diff(s)])
    r = np.arange(min(k, n), dtype=np.float64)  # r - 1
    m0 = max(64, 400_000 // len(r))
    start = (r[None, :] + k * np.arange(m0, dtype=np.float64)[:, None]) * h
    step = sojourn_survival(start, mean, shape) - sojourn_survival(start + h, mean, shape)
    tail = sojourn_survival((r + k * m0) * h, mean, shape) / k
    return _Steps(q, packets_per_on_period(mean, shape, h), step.sum(axis=0) + tail)


def _count_variance(window: float, k: int, on: _Steps, off: _Steps, per_on: float) -> float:
    """Variance of the packets in a window of ``window`` grid steps (of ``h = iv/k``) of
    the stationary alternating renewal process whose on periods send a packet at their
    start and every ``k`` steps while they last (``⌈j/k⌉`` for a period of ``j`` steps,
    ``per_on`` on average).

    Packets at the grid's times: ``Var N(T) = λT + 2λ Σ_{u=1}^{T−1} M(u) − (λT)²`` for a
    window of ``T`` steps, ``λ = per_on / (E j_on + E j_off)`` packets a step and ``M(u)``
    the mean count in ``(0, u]`` after a packet (its Palm law: the packet's period ends
    ``r`` steps after it with probability ``g(r) = Σ_{m ≥ 0} q_on[r + m k] / per_on``,
    after ``⌈r/k⌉ − 1`` more packets), ``M(u) = Σ_{c ≤ u/k} P(r > c k) + (g ∗ A)(u)``.
    ``A(t)`` (packets in ``(0, t]`` after an off period starts) and ``B(t)`` (after an on
    period starts, its first packet apart) solve ``A = q_off ∗ (1 + B)``, ``B(t) = Σ_{c ≤
    t/k} P(j_on > c k) + q_on ∗ A``. A window of a fractional ``T`` is interpolated
    between its neighbours."""
    lo = math.floor(window)
    n = lo + 2
    q_on, q_off = on.q[: n + 1], off.q[: n + 1]
    t = np.arange(n + 1)
    steps = np.arange(1, n // k + 2) * k  # the packet times c k, c ≥ 1
    inside = steps <= n

    def before(survival: F64) -> F64:
        """``Σ_{c=1}^{⌊t/k⌋} survival[c k]`` for every ``t``."""
        sums = np.cumsum(np.where(inside, survival[np.minimum(steps, n)], 0.0))
        return np.asarray(np.concatenate([[0.0], sums])[t // k], np.float64)

    a = _after_off(q_on, q_off, before(1.0 - np.cumsum(q_on)))
    g = _palm_rest(on.residues, q_on, k, n) / per_on
    palm = before(1.0 - np.cumsum(g)) + _convolve(g, a)[: n + 1]
    lam = per_on / (on.mean_steps + off.mean_steps)

    def var(steps_in: int) -> float:
        pairs = float(palm[1:steps_in].sum())
        return lam * steps_in + 2.0 * lam * pairs - (lam * steps_in) ** 2

    frac = window - lo
    return max((1.0 - frac) * var(lo) + frac * var(lo + 1), 0.0)


def _palm_rest(residues: F64, q: F64, k: int, n: int) -> F64:
    """``Σ_{m ≥ 0} q[r + m k]`` for ``r = 0 .. n`` (0 at ``r = 0``): ``residues`` for the
    first ``k``, then that of ``r − k`` less ``q[r − k]`` (a cumulative sum down each residue
    class of the grid's ``k`` steps)."""
    rows = -(-n // k)  # place r − 1 = i k + c of the grid at row i, column c
    first = np.zeros(k)
    first[: min(k, n)] = residues[: min(k, n)]
    drop = np.zeros(rows * k)
    drop[:n] = q[1 : n + 1]
    drop_table = drop.reshape(rows, k)
    table = first - (np.cumsum(drop_table, axis=0) - drop_table)
    return np.asarray(np.concatenate([[0.0], table.ravel()[:n]]), np.float64)


#: Grid steps from which :func:`_after_off` solves the renewal equations as power series
#: (``O(n log n)``) rather than step by step (``O(n²)``; the two agree to 10⁻¹² or so).
SERIES_STEPS = 4096


def _after_off(q_on: F64, q_off: F64, same: F64) -> F64:
    """``A(x)``, ``x = 0 .. n``: the packets in ``(0, x]`` steps after an off period starts,
    from ``A = q_off ∗ (1 + B)``, ``B = same + q_on ∗ A`` (:func:`_count_variance`; ``q[0]
    = 0``). Step by step for a short grid; beyond :data:`SERIES_STEPS` steps as generating
    functions, ``A(z) = Q_off(z) (1/(1 − z) + S(z)) / (1 − Q_off(z) Q_on(z))``, the
    reciprocal by Newton's iteration on FFT products (the renewal function's coefficients,
    all in ``[0, 1]``: no growth of the rounding)."""
    n = len(same) - 1
    if n < SERIES_STEPS:
        a = np.zeros(n + 1)
        b = np.zeros(n + 1)
        for x in range(1, n + 1):
            a[x] = float(np.dot(q_off[1 : x + 1], 1.0 + b[x - 1 :: -1]))
            b[x] = same[x] + float(np.dot(q_on[1 : x + 1], a[x - 1 :: -1]))
        return a
    cycle = -_convolve(q_off, q_on)[: n + 1]
    cycle[0] += 1.0
    return _convolve(_convolve(q_off, 1.0 + same)[: n + 1], _reciprocal(cycle))[: n + 1]


def _convolve(x: F64, y: F64) -> F64:
    """The full convolution of ``x`` and ``y``: direct for short ones, by FFT beyond."""
    if min(len(x), len(y)) < 64:
        return np.asarray(np.convolve(x, y), np.float64)
    n = len(x) + len(y) - 1  # scipy.signal.fftconvolve's own steps (its import costs a second)
    m = next_fast_len(n, True)
    return np.asarray(irfft(rfft(x, m) * rfft(y, m), m)[:n], np.float64)


def _reciprocal(f: F64) -> F64:
    """The power series ``1/f`` to as many terms as ``f`` (``f[0] ≠ 0``): Newton's
    iteration ``g ← g (2 − f g)``, doubling the terms right each time."""
    n = len(f)
    g = np.array([1.0 / f[0]])
    m = 1
    while m < n:
        m = min(2 * m, n)
        e = -_convolve(f[:m], g)[:m]
        e[0] += 2.0
        g = _convolve(g, e)[:m]
    return g


def _beyond(
    variance_at: Callable[[float], float], tau: float, longest: float, slope: float | None = None
) -> float:
    """The variance at a window ``tau`` longer than ``longest``, from the grid's at
    ``longest``. With ``slope`` (the asymptotic growth per unit of window, known in closed
    form): ``V(longest) + slope (τ − longest)``, the linear asymptote with the grid's
    constant term. Otherwise, from the grid's at ``longest / 2`` too, a power law
    ``V(longest) (τ/longest)^β``, ``β = log₂ V(longest) / V(longest/2)`` within ``[0, 2]``: the
    growth the count's variance has reached (1 for periods of finite variance short against
    the window, ``3 − a`` for Pareto periods of shape ``a < 2``, 2 for periods long against
    it, 0 for a count that no longer varies). For shapes above 2 the growth still falls
    towards 1 (a term in ``τ^(3 − a)``): the power law errs high, the line through the two
    points low."""
    top = variance_at(longest)
    if slope is not None:
        return top + slope * (tau - longest)
    half = variance_at(longest / 2)
    if top <= 0.0 or half <= 0.0:
        return max(top, 0.0)
    beta = min(max(math.log2(top / half), 0.0), 2.0)
    return float(top * (tau / longest) ** beta)


def _extrapolated(variance_at: Callable[[int], float], tau: float, interval: float) -> float:
    """``2 V(2k) − V(k)`` of the grid's variance ``V`` at ``k`` and ``2k`` steps a packet
    interval, ``k`` for about :data:`GRID_POINTS` ``/ 2`` steps in ``τ`` (the grid's error
    is of the order of a step)."""
    k = max(1, round(GRID_POINTS / 2 * interval / tau))
    return max(2.0 * variance_at(2 * k) - variance_at(k), 0.0)


@functools.lru_cache(maxsize=256)
def onoff_count_variance(
    mean_off: float,
    mean_on: float,
    shape_off: float,
    shape_on: float,
    interval: float,
    tau: float,
) -> float:
    """Variance of the packets an ``onoff`` source sends in a window of ``tau`` (same unit
    as the means and ``interval``) of its stationary process: a packet at the start of
    each on period and every ``interval`` while it lasts (:func:`_count_variance`, on a grid
    of ``interval/k`` steps, extrapolated). Beyond :data:`MOST_COUNT_INTERVALS` intervals
    a power law from the last two it computes (:func:`_beyond`)."""
    if tau <= 0 or mean_on <= 0 or mean_off <= 0 or interval <= 0:
        return 0.0
    longest = MOST_COUNT_INTERVALS * interval
    if tau > longest:
        return _beyond(
            lambda t: onoff_count_variance(mean_off, mean_on, shape_off, shape_on, interval, t),
            tau,
            longest,
        )
    per_on = packets_per_on_period(mean_on, shape_on, interval)

    def at(k: int) -> float:
        h = interval / k
        n = math.floor(tau / h) + 2
        on = _continuous_steps(mean_on, shape_on, h, n, k)
        off = _continuous_steps(mean_off, shape_off, h, n, k)
        return _count_variance(tau / h, k, on, off, per_on)

    return _extrapolated(at, tau, interval)


@functools.lru_cache(maxsize=256)
def burst_count_variance(
    mean_gap: float, packets: int, interval: float, tau: float
) -> float | None:
    """Variance of the packets a ``burst`` source sends in a window of ``tau`` (same unit as
    ``mean_gap`` and ``interval``): Poisson requests of mean gap ``mean_gap``, each answered
    by ``packets`` packets ``interval`` apart, after the previous burst (``traffic/
    generate.py``). Its packets are the grid of the busy periods of an M/D/1 queue of service
    ``packets × interval``: an idle period is exponential (mean ``mean_gap``), a busy period
    serves ``K`` bursts, Borel of ``ρ = packets × interval / mean_gap`` (``P(K = j) =
    e^(−ρj) (ρj)^(j−1) / j!``), sending ``K × packets`` packets over exactly as many
    intervals (:func:`_count_variance`). Beyond :data:`MOST_COUNT_INTERVALS` intervals the
    variance at that many plus the compound Poisson slope ``λ n²`` per unit of window (every
    burst's packets leave, the queue's delay is bounded in law: the difference tends to a
    constant; :func:`_beyond`). ``None`` when ``ρ ≥ 1``
    (the queue never empties)."""
    rho = packets * interval / mean_gap
    if tau <= 0 or packets <= 0 or rho <= 0:
        return 0.0
    if rho >= 1.0:
        return None
    longest = MOST_COUNT_INTERVALS * interval
    if tau > longest:
        # the bursts' packets all leave: Var N(τ) − λ n² τ tends to a constant
        return _beyond(
            lambda t: burst_count_variance(mean_gap, packets, interval, t) or 0.0,
            tau,
            longest,
            packets * packets / mean_gap,
        )
    per_on = packets / (1.0 - rho)

    def at(k: int) -> float:
        h = interval / k
        n = math.floor(tau / h) + 2
        busy = np.arange(1, n // (packets * k) + 2, dtype=np.float64)  # bursts served
        law = np.exp(-rho * busy + (busy - 1.0) * np.log(rho * busy) - gammaln(busy + 1.0))
        q = np.zeros(n + 1)
        ends = busy.astype(np.int64) * packets * k
        q[ends[ends <= n]] = law[ends <= n]
        residues = np.zeros(min(k, n))
        if k <= n:
            residues[k - 1] = 1.0  # every busy period ends on a packet time
        on = _Steps(q, packets * k / (1.0 - rho), residues)
        off = _continuous_steps(mean_gap, 0.0, h, n, k)
        return _count_variance(tau / h, k, on, off, per_on)

    return _extrapolated(at, tau, interval)
