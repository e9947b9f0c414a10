"""What a window of ``τ`` holds of one camera's frames: exact moments for the Gaussian
estimate (``analysis/estimates.py``).

Three pieces, each exact for the generator's model (``traffic/generate.py``):

- :func:`wire_frame`: a frame's wire bytes (lognormal payload, one header per packet);
- :func:`window_frames`: how many frames and I-frames a window holds over its phase in
  the GOP (cameras' phases and GOP offsets independent and uniform);
- :func:`chain_window_variance`: the variance of a window's mean frame sizes for a camera
  with motion, from the Markov chain of (motion state, place in the GOP) read at frames.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from vidnet_sim.traffic.packets import MOST_PACKETS, frame_packet_moments

__all__ = [
    "MOST_CHAIN_STEPS",
    "MOST_PACKETS",
    "RestartingStream",
    "chain_window_variance",
    "motion_shared_covariance",
    "motion_shared_variance",
    "window_frames",
    "wire_frame",
]


@functools.lru_cache(maxsize=4096)
def wire_frame(mean: float, sigma: float, mp: int, hb: int) -> tuple[float, float]:
    """Mean and variance of a frame's wire bytes ``W = X + hb ⌈X/mp⌉``: ``X`` the
    generator's size ``max(1, round(Y))``, ``Y = mean · exp(σZ − σ²/2)`` lognormal, cut into
    ``⌈X/mp⌉`` packets of one header each (``traffic/generate.py``).

    ``σ = 0``: exact. Otherwise from the packet count's moments ``E N``, ``E N²`` and
    ``E[XN]`` (:func:`~vidnet_sim.traffic.packets.frame_packet_moments`, exact) and ``X``'s
    own, ``E X = mean``, ``E X² = mean² e^(σ²)``. Beyond :data:`MOST_PACKETS` terms:
    ``E N ≈ E X/mp + ½``."""
    if sigma <= 0:
        x = max(1, math.floor(mean + 0.5))
        return float(x + hb * -(-x // mp)), 0.0
    ex, ex2 = mean, mean * mean * math.exp(sigma * sigma)
    moments = frame_packet_moments(mean, sigma, mp)
    if moments is None:
        en = ex / mp + 0.5
        return ex + hb * en, (1.0 + hb / mp) ** 2 * (ex2 - ex * ex)
    en, en2, exn = moments
    ew = ex + hb * en
    return ew, max(ex2 + 2.0 * hb * exn + hb * hb * en2 - ew * ew, 0.0)


@functools.lru_cache(maxsize=1024)
def window_frames(frames: float, gop: int) -> tuple[float, float, float, float, float]:
    """How many frames ``N`` and I-frames ``N_I`` a window of ``frames`` frame periods
    holds, over a uniform phase of the window in the GOP's cycle (random phase and GOP
    offset): ``(E N, E N_I, Var N, Var N_I, Cov(N, N_I))``.

    In frame periods, frame ``j`` is at ``j`` and an I-frame when ``j ≡ 0 (mod gop)``; a
    window ``[x, x + frames)`` holds ``⌈x + frames⌉ − ⌈x⌉`` frames and ``⌈(x + frames)/g⌉
    − ⌈x/g⌉`` I-frames, both constant between the breakpoints ``j`` and ``j − frames``
    over ``x ∈ [0, g)``: exact, ``O(g)``. The I-frames of a window are then ``⌊n/g⌋`` or
    one more, not a binomial count (a window of a whole GOP holds exactly one)."""
    g = max(int(gop), 1)
    w = round(float(frames), 9)
    j = np.arange(g + 1, dtype=np.float64)
    cuts = np.unique(np.concatenate([j, np.mod(j - w, g)]))
    cuts = cuts[(cuts >= 0) & (cuts <= g)]
    width = np.diff(cuts) / g
    x = (cuts[:-1] + cuts[1:]) / 2
    n = np.ceil(x + w) - np.ceil(x)
    ni = np.ceil((x + w) / g) - np.ceil(x / g)
    en, ei = float(width @ n), float(width @ ni)
    vn = float(width @ (n - en) ** 2)
    vi = float(width @ (ni - ei) ** 2)
    cov = float(width @ ((n - en) * (ni - ei)))
    return en, ei, vn, vi, cov


#: Largest ``states × frames`` :func:`chain_window_variance` computes (a fraction of a
#: second); beyond it the caller falls back to one state at a time.
MOST_CHAIN_STEPS = 20_000_000


@functools.lru_cache(maxsize=1024)
def chain_window_variance(
    frames: float,
    gops: tuple[int, int],
    restart: bool,
    leave: tuple[float, float],
    sizes: tuple[tuple[float, float], tuple[float, float]],
    i_positions: int = 1,
) -> float | None:
    """Variance of the summed mean frame sizes of a window of ``frames`` frame periods of a
    camera with motion (the frames' own spread about their means excluded).

    The frames read the motion state: a Markov chain leaving state ``i`` at a frame with
    probability ``leave[i]`` (exponential sojourns). With the place in the GOP it makes a
    chain on ``(state i, position j)``, ``j < gops[i]``: the next frame moves to ``j + 1``
    (mod the GOP) in the same state, or on a change of state to position 0 when
    ``restart`` (a motion ``gop`` restarts the GOP with an I-frame) and to ``j + 1``
    otherwise (one GOP for both states). A frame's mean size is ``sizes[i][0]`` at position
    0 (an I-frame) and ``sizes[i][1]`` elsewhere. In its stationary law (the state's share
    of time; the position uniform, or geometric from the last change with ``restart``) the
    sum of ``n`` consecutive frames has variance ``n γ₀ + 2 Σ_{d<n} (n − d) γ_d``, ``γ_d``
    the autocovariance at lag ``d`` (``P^d`` applied ``d`` times). The window holds
    ``⌊frames⌋`` or ``⌈frames⌉`` frames (its phase, independent of the chain): the two are
    mixed. ``None`` when ``states × frames`` exceeds :data:`MOST_CHAIN_STEPS`.

    ``i_positions``: the first ``i_positions`` places of a GOP hold ``sizes[i][0]`` (1: the
    I-frame). :func:`motion_shared_variance` reads a frame as that many steps.
    """
    g = [max(int(x), 1) for x in gops]
    if not restart:
        g = [max(g), max(g)]
    w = round(float(frames), 9)
    if (g[0] + g[1]) * max(math.ceil(w), 1) > MOST_CHAIN_STEPS:
        return None
    f = [np.where(np.arange(g[i]) < i_positions, sizes[i][0], sizes[i][1]) for i in (0, 1)]
    return max(_chain_window_covariance(w, restart, leave, f, f), 0.0)


def _chain_window_covariance(
    w: float,
    restart: bool,
    leave: tuple[float, float],
    f_a: list[np.ndarray],
    f_b: list[np.ndarray],
) -> float:
    """``Cov(Σ f_a, Σ f_b)`` over a window of ``w`` steps (mixed over ``⌊w⌋`` and ``⌈w⌉``)
    of the chain of :func:`chain_window_variance` on ``(state i, position j)``, ``j <
    len(f_a[i])``, in its stationary law: ``n γ_ab(0) + Σ_{d<n} (n − d) (γ_ab(d) +
    γ_ba(d))``, ``γ_ab(d) = Cov(f_a(X_0), f_b(X_d))``. ``f_b is f_a``: the variance."""
    g = [len(f_a[0]), len(f_a[1])]
    lo = math.floor(w)
    hi = lo + (1 if w > lo else 0)
    q = [min(max(float(x), 0.0), 1.0) for x in leave]
    p1 = q[0] / (q[0] + q[1]) if q[0] + q[1] > 0 else 0.0
    share = (1.0 - p1, p1)
    pi = []
    for i in (0, 1):
        j = np.arange(g[i], dtype=np.float64)
        if restart and q[i] > 0:  # the frames since the last change: geometric
            law = q[i] * (1.0 - q[i]) ** j / -math.expm1(g[i] * math.log1p(-q[i]))
        else:
            law = np.full(g[i], 1.0 / g[i])
        pi.append(share[i] * law)
    mu_a = float(pi[0] @ f_a[0] + pi[1] @ f_a[1])
    mu_b = float(pi[0] @ f_b[0] + pi[1] @ f_b[1])
    u_a = [f_a[0] - mu_a, f_a[1] - mu_a]
    u_b = [f_b[0] - mu_b, f_b[1] - mu_b]
    weighted_a = [pi[0] * u_a[0], pi[1] * u_a[1]]
    weighted_b = [pi[0] * u_b[0], pi[1] * u_b[1]]
    symmetric = f_b is f_a

    def step(u: list[np.ndarray]) -> list[np.ndarray]:
        """``E[u(X_{d+1}) | X_d]``: one step of the chain applied to ``u``."""
        nxt = [np.roll(u[0], -1), np.roll(u[1], -1)]  # the same state, one place on
        # a change of state: to the other's first place (restart) or its next one
        reset = [np.full(g[0], u[1][0]), np.full(g[1], u[0][0])]
        other = reset if restart else [nxt[1], nxt[0]]
        return [(1.0 - q[i]) * nxt[i] + q[i] * other[i] for i in (0, 1)]

    gamma_ab = [float(weighted_a[0] @ u_b[0] + weighted_a[1] @ u_b[1])]
    gamma_ba = gamma_ab
    if not symmetric:
        gamma_ba = list(gamma_ab)
    for _ in range(1, hi):
        u_b = step(u_b)
        gamma_ab.append(float(weighted_a[0] @ u_b[0] + weighted_a[1] @ u_b[1]))
        if not symmetric:
            u_a = step(u_a)
            gamma_ba.append(float(weighted_b[0] @ u_a[0] + weighted_b[1] @ u_a[1]))
    both = np.asarray(gamma_ab) + np.asarray(gamma_ba)

    def cov_sum(n: int) -> float:
        d = np.arange(1, n, dtype=np.float64)
        return n * gamma_ab[0] + float(np.dot(n - d, both[1:n])) if n > 0 else 0.0

    frac = w - lo
    mixed = [(1.0 - frac, lo), (frac, hi)] if hi > lo else [(1.0, lo)]
    second = sum(pw * (cov_sum(n) + (n * mu_a) * (n * mu_b)) for pw, n in mixed)
    return second - (w * mu_a) * (w * mu_b)


#: Steps a frame period is cut into for :func:`motion_shared_variance` (fewer when the chain
#: would exceed :data:`MOST_CHAIN_STEPS`).
SHARED_STEPS = 8


def motion_shared_variance(
    frames: float,
    gops: tuple[int, int],
    means_ps: tuple[float, float],
    frame_ps: float,
    sizes: tuple[tuple[float, float], tuple[float, float]],
) -> float | None:
    """``Var E[S | M]``: the variance of a window's bytes ``S`` (``frames`` frame periods of
    ``frame_ps``) given only the camera's motion path ``M``, for a stream whose motion
    ``gop`` restarts its GOP at each change (``gops``: each state's GOP in frames,
    ``means_ps``: the idle and motion sojourns' means, ``sizes``: each state's mean I- and
    P-frame on the wire). What the streams of one camera share is a function of ``M``: their
    phases, GOP offsets and frame sizes are their own, so ``Cov(S_a, S_b) = Cov(E[S_a | M],
    E[S_b | M]) ≤ sd E[S_a | M] · sd E[S_b | M]`` (Cauchy–Schwarz; equality when the two are
    proportional, as with sojourns long against the window).

    Over a uniform phase, ``E[S | M]`` is ``1/T ∫_W f(t) dt``, ``f(t)`` the mean size of a
    frame at ``t``: an I-frame's when the time since the last change is within the first
    frame period of a GOP (``age mod g T < T``), a P-frame's otherwise. That is the chain of
    :func:`chain_window_variance` on steps of ``T/k`` (``k`` = :data:`SHARED_STEPS`), a
    frame's first ``k`` places its I-frame, each step ``1/k`` of a frame, the state left
    with the probability of exponential sojourns over a step. Every change counts as seen
    (sojourns shorter than a frame period are seen less by the frames). ``None`` when even
    one step a frame exceeds :data:`MOST_CHAIN_STEPS`."""
    k = SHARED_STEPS
    while k > 1 and (gops[0] + gops[1]) * k * (math.ceil(frames * k) + 1) > MOST_CHAIN_STEPS:
        k //= 2
    rate = 1.0 / means_ps[0] + 1.0 / means_ps[1]
    away = -math.expm1(-rate * frame_ps / k)  # P(the state is redrawn within a step)
    p1 = means_ps[1] / (means_ps[0] + means_ps[1])
    leave = (p1 * away, (1.0 - p1) * away)
    per_step = ((sizes[0][0] / k, sizes[0][1] / k), (sizes[1][0] / k, sizes[1][1] / k))
    return chain_window_variance(frames * k, (gops[0] * k, gops[1] * k), True, leave, per_step, k)


@dataclass(frozen=True)
class RestartingStream:
    """A stream whose motion ``gop`` restarts its GOP at each change of the camera's motion:
    its frame period ``fps_den / fps_num`` s, each state's GOP in frames and mean I- and
    P-frame on the wire (idle, in motion)."""

    fps_num: int
    fps_den: int
    gops: tuple[int, int]
    sizes: tuple[tuple[float, float], tuple[float, float]]

    def period_ps(self) -> Fraction:
        """The frame period in picoseconds, exactly."""
        return Fraction(self.fps_den * 10**12, self.fps_num)


@functools.lru_cache(maxsize=1024)
def motion_shared_covariance(
    tau_ps: float, means_ps: tuple[float, float], a: RestartingStream, b: RestartingStream
) -> float | None:
    """``Cov(E[S_a | M], E[S_b | M])``: what two streams of one camera share of a window of
    ``tau_ps``, both restarting their GOPs at each change of the motion path ``M``
    (``means_ps``: the idle and motion sojourns' means) — the covariance of their windows'
    bytes, their phases, GOP offsets and frame sizes being their own.

    :func:`motion_shared_variance` for two streams at once: ``E[S_x | M] = 1/T_x ∫_W
    f_x(t) dt``, ``f_x`` an I-frame's mean while ``age mod g_x T_x < T_x`` (``age`` the time
    since the last change), a P-frame's otherwise, both read from one chain of (state,
    age) on steps of ``h``, the frame periods' greatest common divisor cut in
    :data:`SHARED_STEPS` (fewer when too many), the age taken modulo the least common
    multiple of the two GOPs' lengths in steps (each state's). The cross-covariances of
    the chain at every lag make it exact where :func:`motion_shared_variance` of each and
    Cauchy–Schwarz bound it. ``None`` when the chain exceeds :data:`MOST_CHAIN_STEPS` even at
    one step a common divisor (frame periods or GOPs of no small common multiple)."""
    ta, tb = a.period_ps(), b.period_ps()
    base = Fraction(
        math.gcd(ta.numerator * tb.denominator, tb.numerator * ta.denominator),
        ta.denominator * tb.denominator,
    )
    k = SHARED_STEPS
    while k >= 1:
        h = base / k
        ka, kb = int(ta / h), int(tb / h)
        lengths = [
            math.lcm(a.gops[i] * ka, b.gops[i] * kb) for i in (0, 1)
        ]  # positions of each state
        steps = float(tau_ps) / float(h)
        if sum(lengths) * (math.ceil(steps) + 1) <= MOST_CHAIN_STEPS:
            break
        k //= 2
    else:
        return None
    rate = 1.0 / means_ps[0] + 1.0 / means_ps[1]
    away = -math.expm1(-rate * float(h))  # P(the state is redrawn within a step)
    p1 = means_ps[1] / (means_ps[0] + means_ps[1])
    leave = (p1 * away, (1.0 - p1) * away)

    def per_step(s: RestartingStream, steps_a_frame: int) -> list[np.ndarray]:
        """The stream's mean bytes in each step, by state and age (mod the state's length)."""
        out = []
        for i in (0, 1):
            place = np.arange(lengths[i]) % (s.gops[i] * steps_a_frame)
            frame = np.where(place < steps_a_frame, s.sizes[i][0], s.sizes[i][1])
            out.append(frame / steps_a_frame)
        return out

    w = round(steps, 9)
    return _chain_window_covariance(w, True, leave, per_step(a, ka), per_step(b, kb))
