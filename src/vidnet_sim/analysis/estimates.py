"""Fast estimates beside the simulation: what sizing tools compute without simulating.

Three estimates, each labelled by the method it uses (``docs/analysis.md``):

``sum-of-means-60%``
    The vendor-tool method: add the mean wire rates of the flows crossing each directed link
    and require utilisation ≤ 60 % (Genetec's ceiling, docs/domain.md §3). Ignores bursts and
    I-frame alignment. Camera behaviour counts: motion by its mean multiplier, day/night at
    the highest level the run reaches (:func:`source_rate_moments`).
``gaussian-equivalent-capacity``
    Statistical multiplexing (Guérin et al. 1991): a link needs ``C = m + α′σ`` with ``m``
    the summed mean rates, ``σ²`` the summed variances of the sources' rates over a time
    scale ``τ`` (one frame period by default; a window of several frames holds a
    deterministic pattern of I-frames, counted exactly over its phase) and
    ``α′ = √(−2 ln ε − ln 2π)``; motion adds
    the variance of a two-state rate, and what moves together on a link (copies of one
    source, the streams of one camera) adds as one (:func:`_link_moments`). Otherwise
    assumes independent sources (random GOP phases); aligned cameras break it.
``network-calculus-bound``
    A worst-case delay bound per flow (Cruz; Le Boudec & Thiran): a token bucket ``(b, r)``
    per source, each link a FIFO rate-latency server; the bound is the smaller of the
    hop-by-hop total-flow analysis and the pay-bursts-only-once bound with FIFO residual
    service curves. It is a true upper bound of the packet model of ``docs/model.md`` for
    the arrival curves used (see :func:`arrival_curves`: a camera's at its peak multiplier of
    alarms, motion and night): store-and-forward packets,
    transmission times rounded up to a whole picosecond, propagation, FIFO with ties.

Everything here needs only the compiled :class:`~vidnet_sim.network.plan.NetworkPlan`
(milliseconds, even for a city), except the ``"trace"`` arrival curves, which generate the
run's packets (no network simulation).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from vidnet_sim.analysis.frame_windows import (
    RestartingStream,
    chain_window_variance,
    motion_shared_covariance,
    motion_shared_variance,
    window_frames,
    wire_frame,
)
from vidnet_sim.analysis.onoff_windows import (
    burst_count_variance,
    onoff_count_variance,
    packets_per_on_period,
)
from vidnet_sim.analysis.trace_windows import loop_window_variance
from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario.trace import trace_period_ps
from vidnet_sim.timeline.driver import scenario_actions
from vidnet_sim.traffic.behaviour import MotionFrames, motion_frames, motion_share, night_levels
from vidnet_sim.traffic.generate import DAY_PS, G_T, G_WIRE, generate
from vidnet_sim.traffic.rows import (
    BEH_MOTION,
    KIND_BURST,
    KIND_CAMERA,
    KIND_CBR,
    KIND_ONOFF,
    KIND_POISSON,
    KIND_TRACE,
    PS_PER_S,
    SIZE_CHOICE,
    SIZE_EXPONENTIAL,
    SIZE_FIXED,
    SIZE_UNIFORM,
)
from vidnet_sim.traffic.sources import SourceState, SourceTable

if TYPE_CHECKING:
    from vidnet_sim.network.plan import NetworkPlan
    from vidnet_sim.scenario.model import Scenario

__all__ = [
    "METHOD_GAUSSIAN",
    "METHOD_MEANING",
    "METHOD_NC",
    "METHOD_SUM_OF_MEANS",
    "ArrivalCurves",
    "Estimates",
    "arrival_curves",
    "estimate",
    "gaussian_alpha",
    "method_meaning",
    "method_words",
    "nc_delay_bounds",
    "source_rate_moments",
]

METHOD_SUM_OF_MEANS = "sum-of-means-60%"
METHOD_GAUSSIAN = "gaussian-equivalent-capacity"
METHOD_NC = "network-calculus-bound"
#: What each estimate assumes, in a few words for a reader of its answer.
METHOD_MEANING = {
    METHOD_SUM_OF_MEANS: "vendor calculators' rule: mean load at most 60 % of every link",
    METHOD_GAUSSIAN: "statistical multiplexing of independent sources",
    METHOD_NC: "a worst case: every source's largest burst at once",
}


#: Each estimate's name for people (its machine name stays in ``estimates.parquet``).
METHOD_WORDS = {
    METHOD_SUM_OF_MEANS: "60 % rule",
    METHOD_GAUSSIAN: "Gaussian equivalent capacity",
    METHOD_NC: "network-calculus bound",
}


def method_words(method: str) -> str:
    """An estimate's name in a report: ``60 % rule`` for ``sum-of-means-60%`` (a name not
    known reads as it is)."""
    return METHOD_WORDS.get(method, method)


def method_meaning(method: str, notes: Sequence[str] = ()) -> str:
    """What an estimate stands for, in a few words (:data:`METHOD_MEANING`); for the
    network-calculus bound followed by what its arrival curves assume (``notes``,
    :attr:`Estimates.notes`: e.g. VBR frame sizes capped at a quantile, so that not every
    frame is bounded), as ``curve`` shows under its latency panels."""
    text = METHOD_MEANING.get(method, "a fast estimate")
    if method == METHOD_NC and notes:
        text += "; " + "; ".join(notes)
    return text


ArrivalMode = Literal["model", "trace"]


def gaussian_alpha(eps: float) -> float:
    """``α′ = √(−2 ln ε − ln 2π)`` (Guérin et al., IEEE JSAC 1991)."""
    if not 0.0 < eps < 1.0 / math.sqrt(2 * math.pi):
        raise ValueError(f"eps must be in (0, 0.399), got {eps!r}")
    return math.sqrt(-2.0 * math.log(eps) - math.log(2.0 * math.pi))


# --------------------------------------------------------------------------- rates
def _payload_law(t: SourceTable, s: int) -> tuple[np.ndarray, np.ndarray]:
    """A generic source's payload sizes (bytes) and their probabilities, as the generator
    draws them (``traffic/generate.py``): fixed, uniform on ``[a, b]``, a choice, or
    ``ceil(X)`` of an exponential ``X`` of mean ``a`` capped at ``b`` (at least 1 byte:
    geometric, ``P(size ≥ k) = q^(k−1)``, ``q = exp(−1/a)``)."""
    k = int(t.size_kind[s])
    a, b = int(t.size_a[s]), int(t.size_b[s])
    if k == SIZE_FIXED:
        return np.array([float(a)]), np.array([1.0])
    if k == SIZE_UNIFORM:
        vals = np.arange(a, b + 1, dtype=np.float64)
        return vals, np.full(len(vals), 1.0 / len(vals))
    if k == SIZE_EXPONENTIAL:
        vals = np.arange(1, b + 1, dtype=np.float64)
        at_least = np.exp(-(vals - 1.0) / a)  # P(size ≥ k)
        return vals, at_least - np.append(at_least[1:], 0.0)
    assert k == SIZE_CHOICE
    cum = t.choice_cum[a:b]
    return t.choice_values[a:b].astype(np.float64), np.diff(np.concatenate([[0.0], cum]))


def _payload_moments(t: SourceTable, s: int) -> tuple[float, float]:
    """Mean and second moment of a generic source's payload size (bytes)."""
    vals, w = _payload_law(t, s)
    return float(np.dot(w, vals)), float(np.dot(w, vals * vals))


@dataclass
class _RateParts:
    """Each source's mean wire rate (bit/s) and the variance of its rate over ``τ``, split
    into the part independent of every other source (``var``: frame sizes, Poisson
    arrivals, ...) and the part it shares with the sources of the same modulating process
    (``shared_sd``, a standard deviation: the streams of one camera see the same motion).
    Two sources of one process share ``shared_sd[a] shared_sd[b]`` (a bound, exact when
    their shared parts are proportional) unless ``shared_cov`` holds their covariance
    (sources ``a < b``; streams restarting their GOPs with the motion, at a given ``τ``)."""

    mean: np.ndarray
    var: np.ndarray
    shared_sd: np.ndarray
    shared_cov: dict[tuple[int, int], float] = field(default_factory=dict)


def _motion_correlation(n_frames: float, fps: float, mean0_ps: float, mean1_ps: float) -> float:
    """``Var(mean of M over n frames) / Var(M)`` for the two-state Markov multiplier ``M``
    sampled at ``n`` frames ``1/fps`` apart: its autocorrelation at lag ``d`` frames is
    ``ρ^d``, ``ρ = exp(−(1/mean_0 + 1/mean_1)/fps)`` (exponential sojourns), so the ratio is
    ``(n + 2 Σ_{d<n} (n − d) ρ^d) / n²`` (``n`` rounded to a whole number of frames, at
    least 1): 1 for sojourns much longer than ``τ``, ``≈ 1/n`` for much shorter ones."""
    decay = (1.0 / mean0_ps + 1.0 / mean1_ps) * PS_PER_S / fps
    return _correlation_sum(max(1, round(n_frames)), decay)


@functools.lru_cache(maxsize=256)
def _correlation_sum(n: int, decay: float) -> float:
    """``(n + 2 Σ_{d<n} (n − d) e^(−decay d)) / n²`` (once per camera model: a group's
    cameras share it)."""
    d = np.arange(1, n, dtype=np.float64)
    return float((n + 2.0 * np.sum((n - d) * np.exp(-decay * d))) / (n * n))


@dataclass(frozen=True)
class _State:
    """A motion state's frames: mean wire bytes (I, P) and their own variances, the
    share of I-frames, and the window's variance were the state to hold throughout."""

    i: float
    p: float
    i_var: float
    p_var: float
    h: float
    window_var: float

    @property
    def mean(self) -> float:
        return self.h * self.i + (1.0 - self.h) * self.p

    @property
    def noise(self) -> float:  # the frames' own variance, per frame
        return self.h * self.i_var + (1.0 - self.h) * self.p_var


def _camera_moments(
    t: SourceTable,
    s: int,
    sc: float,
    level: float,
    p_motion: float,
    timescale_ps: int | None,
    frames: MotionFrames,
) -> tuple[float, float, float, RestartingStream | None]:
    """A camera's ``(mean, independent variance, shared standard deviation)`` of its rate
    over ``τ`` (see :func:`source_rate_moments`), its frame sizes times ``sc`` (alarms) and
    ``level`` (day/night), in motion a share ``p_motion`` of the time; ``frames``: each
    state's GOP, P-frame mean and share of I-frames (:func:`motion_frames`); and, for a
    stream restarting its GOP with the motion, what its covariance with another stream of
    the camera needs (:func:`~vidnet_sim.analysis.frame_windows.motion_shared_covariance`)."""
    fps = float(t.fps_num[s]) / float(t.fps_den[s])
    r = float(t.ip_ratio[s])
    tau = (timescale_ps / PS_PER_S) if timescale_ps else 1.0 / fps
    m_frames = max(tau * fps, 1e-12)
    si, sp = float(t.i_sigma[s]), float(t.p_sigma[s])
    mp, hb = int(t.max_payload[s]), int(t.header_bytes[s])

    def state(k: int, mult: float) -> _State:
        """State ``k``'s frames at the multiplier ``mult``; the window's variance in it: the
        frames' own spread plus that of how many frames and I-frames the window holds
        (:func:`~vidnet_sim.analysis.frame_windows.window_frames`)."""
        gop = int(frames.gop[s, k])
        h = float(frames.i_share[s, k])
        p = float(frames.p_mean[s, k]) * sc * level * mult
        wi, vi_frame = wire_frame(p * r, si, mp, hb)
        wp, vp_frame = wire_frame(p, sp, mp, hb)
        en, _, vn, vi, cov = window_frames(m_frames, gop)
        # restarted GOPs (a motion gop): more I-frames, as independent ones
        ei_h = en * h
        vi += max(en * (h * (1.0 - h) - (1.0 - 1.0 / gop) / gop), 0.0)
        d = wi - wp
        var = ei_h * vi_frame + (en - ei_h) * vp_frame
        var += d * d * vi + wp * wp * vn + 2.0 * d * wp * cov
        return _State(wi, wp, vi_frame, vp_frame, h, var)

    if p_motion <= 0:
        one = state(0, 1.0)
        return 8.0 * one.mean * fps, 64.0 * one.window_var / (tau * tau), 0.0, None
    states = (state(0, 1.0), state(1, float(t.motion_scale[s])))
    w = (1.0 - p_motion, p_motion)
    ew = w[0] * states[0].mean + w[1] * states[1].mean
    spread = sum(wk * (st.mean - ew) ** 2 for wk, st in zip(w, states, strict=True))
    rho = _motion_correlation(m_frames, fps, float(t.mod_mean0_ps[s]), float(t.mod_mean1_ps[s]))
    shared = m_frames * m_frames * spread * rho  # the motion term, as if sojourns were long
    gops = (int(frames.gop[s, 0]), int(frames.gop[s, 1]))
    exact = chain_window_variance(
        m_frames,
        gops,
        gops[0] != gops[1],
        (float(frames.leave[s, 0]), float(frames.leave[s, 1])),
        ((states[0].i, states[0].p), (states[1].i, states[1].p)),
    )
    if exact is None:  # a chain too long: each state's window, the motion term apart
        total = w[0] * states[0].window_var + w[1] * states[1].window_var + shared
    else:
        total = exact + m_frames * (w[0] * states[0].noise + w[1] * states[1].noise)
    if gops[0] != gops[1]:  # restarted GOPs: their I-frames follow the motion path too
        given_path = motion_shared_variance(
            m_frames,
            gops,
            (float(t.mod_mean0_ps[s]), float(t.mod_mean1_ps[s])),
            PS_PER_S / fps,
            ((states[0].i, states[0].p), (states[1].i, states[1].p)),
        )
        shared = shared if given_path is None else given_path
    shared = min(shared, total)
    scale = 64.0 / (tau * tau)
    stream = None
    if gops[0] != gops[1]:
        sizes = ((states[0].i, states[0].p), (states[1].i, states[1].p))
        stream = RestartingStream(int(t.fps_num[s]), int(t.fps_den[s]), gops, sizes)
    return 8.0 * ew * fps, scale * (total - shared), math.sqrt(scale * shared), stream


def _rate_parts(
    plan: NetworkPlan,
    timescale_ps: int | None = None,
    scale: np.ndarray | None = None,
    duration_ps: int | None = None,
) -> _RateParts:
    """:func:`source_rate_moments` with the variance's independent and shared parts apart."""
    t = plan.sources
    n = len(t)
    sc = np.ones(n) if scale is None else np.asarray(scale, np.float64)
    level = _night_level(t, duration_ps)
    in_motion = motion_share(t)
    frames = motion_frames(t)
    mean = np.zeros(n)
    var = np.zeros(n)
    shared = np.zeros(n)
    restarting: dict[int, RestartingStream] = {}
    for s in range(n):
        hb = float(t.header_bytes[s])
        kind = int(t.kind[s])
        if kind == KIND_CAMERA:
            mean[s], var[s], shared[s], stream = _camera_moments(
                t, s, sc[s], level[s], float(in_motion[s]), timescale_ps, frames
            )
            if stream is not None:
                restarting[s] = stream
        elif kind == KIND_CBR:  # a window holds ⌊τ/iv⌋ or ⌈τ/iv⌉ packets, by its phase
            wire_bits = 8.0 * (float(t.size_a[s]) + hb)
            iv = float(t.interval_ps[s])
            tau_ps = timescale_ps or 40 * 10**9
            mean[s] = wire_bits * PS_PER_S / iv
            var[s] = window_frames(tau_ps / iv, 1)[2] * (wire_bits * PS_PER_S / tau_ps) ** 2
        elif kind == KIND_ONOFF:  # rows of one on/off process (a Wi-Fi user's) together
            mean[s], on_var = _onoff_moments(t, s, timescale_ps or 40 * 10**9)
            shared[s] = math.sqrt(on_var)
        elif kind == KIND_BURST:
            mean[s], var[s] = _burst_moments(t, s, sc[s], timescale_ps or 40 * 10**9)
        elif kind == KIND_POISSON:
            m1, m2 = _payload_moments(t, s)
            lam = PS_PER_S / float(t.mean_gap_ps[s]) * sc[s]
            tau = (timescale_ps or 40 * 10**9) / PS_PER_S
            mean[s] = 8.0 * lam * (m1 + hb)
            var[s] = 64.0 * lam * (m2 + 2 * m1 * hb + hb * hb) / tau
        else:
            mean[s], var[s] = _trace_moments(t, s, timescale_ps or 40 * 10**9, duration_ps)
    covs = _restarting_covariances(t, restarting, shared, timescale_ps) if timescale_ps else {}
    return _RateParts(mean, var, shared, covs)


def _restarting_covariances(
    t: SourceTable, streams: dict[int, RestartingStream], shared_sd: np.ndarray, tau_ps: int
) -> dict[tuple[int, int], float]:
    """The covariance of what each pair of streams of one camera restarting their GOPs with
    its motion share over ``τ`` (``(a, b)``, ``a < b``, in (bit/s)²), at most the product of
    their shared standard deviations (each shared part is at most the stream's variance);
    a pair whose chain is too long keeps that bound (no entry)."""
    by_camera: dict[int, list[int]] = {}
    for s in streams:
        by_camera.setdefault(int(t.mod_key[s]), []).append(s)
    scale = 64.0 * PS_PER_S**2 / float(tau_ps) ** 2
    out = {}
    for sources in by_camera.values():
        for k, a in enumerate(sources):
            for b in sources[k + 1 :]:
                means = (float(t.mod_mean0_ps[a]), float(t.mod_mean1_ps[a]))
                cov = motion_shared_covariance(float(tau_ps), means, streams[a], streams[b])
                if cov is not None:
                    out[(a, b)] = min(scale * cov, float(shared_sd[a] * shared_sd[b]))
    return out


def _trace_moments(
    t: SourceTable, s: int, tau_ps: int, duration_ps: int | None
) -> tuple[float, float]:
    """A trace source's mean wire rate and the variance of its rate over ``τ``, over the
    time it plays: a looping trace over one loop period (``trace_period_ps``: its last time
    plus one mean gap, from the source's start), its variance exact over a phase of the
    window uniform in the loop
    (:func:`~vidnet_sim.analysis.trace_windows.loop_window_variance`: the run's windows
    meet the loop at spread phases, or, for a ``τ`` of few steps of the period, the run's
    variance averaged over the trace's start); one that does not loop over its one play,
    as long as that period, cut at the end of the source's time on in a run of
    ``duration_ps`` (the packets the run sends of it: a run shorter than the trace sends its
    beginning only), and no shorter than ``τ`` (a play within one window is one window's
    bytes). The silence after a play is not averaged in: like a source's stop, or the
    night's level, the estimate is of the time the trace sends. A play's variance is that
    of its whole windows of ``τ`` from its start (0 for fewer than two)."""
    hb = float(t.header_bytes[s])
    a, b = int(t.trace_start[s]), int(t.trace_end[s])
    times = t.trace_t[a:b]
    wire_bytes = t.trace_size[a:b].astype(np.float64) + hb
    period = int(t.trace_period_ps[s])
    if period:  # a loop: over the window's phase in it
        mean = 8.0 * float(wire_bytes.sum()) * PS_PER_S / period
        var = loop_window_variance(times, wire_bytes, period, tau_ps)
        return mean, var * (8.0 * PS_PER_S / tau_ps) ** 2
    span = trace_period_ps(times)  # one play, as long as a loop's period, within the run
    if duration_ps is not None:
        start, stop = t.spans_ps(duration_ps)
        span = min(span, int(stop[s]) - int(start[s]))
    played = times < span
    times, wire_bytes = times[played], wire_bytes[played]
    period = max(span, tau_ps)
    mean = 8.0 * float(wire_bytes.sum()) * PS_PER_S / period
    windows = period // tau_ps
    if windows < 2:
        return mean, 0.0
    inside = times < windows * tau_ps
    bins = np.bincount(times[inside] // tau_ps, weights=wire_bytes[inside], minlength=windows)
    return mean, float(np.var(bins * 8.0 * PS_PER_S / tau_ps))


def _onoff_moments(t: SourceTable, s: int, tau_ps: int) -> tuple[float, float]:
    """An ``onoff`` source's mean wire rate and the variance of its rate over ``τ``: a packet
    at the start of each on period and every ``interval`` while it lasts, so ``E⌈L/iv⌉``
    packets per on/off cycle (renewal reward); the variance that of the packets in a window
    of the stationary process (Pareto periods, exact on the packet grid:
    :func:`~vidnet_sim.analysis.onoff_windows.onoff_count_variance`)."""
    wire = float(t.size_a[s]) + float(t.header_bytes[s])
    iv = float(t.interval_ps[s])
    m0, m1 = float(t.mod_mean0_ps[s]), float(t.mod_mean1_ps[s])
    a0, a1 = float(t.mod_shape0[s]), float(t.mod_shape1[s])
    if m0 + m1 <= 0:
        return 0.0, 0.0
    per_period = packets_per_on_period(m1, a1, iv)
    mean = 8.0 * wire * per_period * PS_PER_S / (m0 + m1)
    tau = float(tau_ps)
    per_packet = 8.0 * wire * PS_PER_S / tau  # a packet more in the window: this rate more
    return mean, per_packet * per_packet * onoff_count_variance(m0, m1, a0, a1, iv, tau)


def _burst_moments(t: SourceTable, s: int, scale: float, tau_ps: int) -> tuple[float, float]:
    """A ``burst`` source's mean wire rate and the variance of its rate over ``τ`` (its
    request rate times ``scale``): ``n`` packets ``interval`` apart per Poisson request,
    each burst after the previous one, so the packets are those of an M/D/1 queue's busy
    periods (:func:`~vidnet_sim.analysis.onoff_windows.burst_count_variance`; the former
    compound Poisson ``λ n² w²/τ``, bursts as instants, is its limit for windows long
    against the busy periods, and up to 12× too high for windows of a few intervals). With
    ``ρ = λ n iv ≥ 1`` the queue never empties: a packet every interval, as ``cbr``."""
    wire = float(t.size_a[s]) + float(t.header_bytes[s])
    n = int(t.burst_packets[s])
    iv = float(t.interval_ps[s])
    gap = float(t.mean_gap_ps[s]) / scale
    tau = float(tau_ps)
    per_packet = 8.0 * wire * PS_PER_S / tau
    count = None if n * iv >= gap else burst_count_variance(gap, n, iv, tau)
    if count is None:  # saturated: back to back for ever
        return 8.0 * wire * PS_PER_S / iv, window_frames(tau / iv, 1)[2] * per_packet**2
    return 8.0 * wire * n * PS_PER_S / gap, per_packet * per_packet * count


def _night_level(t: SourceTable, duration_ps: int | None) -> np.ndarray:
    """Each source's day/night multiplier for the estimates: the highest level its time on
    in a run of ``duration_ps`` reaches (the whole day when ``None``)."""
    if duration_ps is None:
        return night_levels(t, np.zeros(len(t), np.int64), np.full(len(t), DAY_PS)).highest
    return night_levels(t, *t.spans_ps(duration_ps)).highest


def source_rate_moments(
    plan: NetworkPlan,
    timescale_ps: int | None = None,
    scale: np.ndarray | None = None,
    *,
    duration_ps: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean wire rate (bit/s) of each source and the variance of its rate over ``τ``.

    ``τ`` defaults to each camera's frame period (40 ms for generic sources). A camera's
    frame sizes are independent lognormal draws, but where its I-frames fall is not: a
    window of ``τ`` holds ``⌊n/g⌋`` or ``⌈n/g⌉`` of them (``n = τ fps`` frames, itself
    ``⌊n⌋`` or ``⌈n⌉``), their law taken exactly over the window's phase in the GOP
    (:func:`~vidnet_sim.analysis.frame_windows.window_frames`; cameras' phases and GOP
    offsets independent and uniform, as ``phase = "random"`` draws them). A frame's wire
    bytes are its payload plus a header for each of its ``⌈size / max_payload⌉`` packets,
    their mean and variance exact for the lognormal size
    (:func:`~vidnet_sim.analysis.frame_windows.wire_frame`). ``scale`` multiplies camera
    frame sizes and Poisson rates (alarms), default 1.

    Camera behaviour (``traffic/behaviour.py``):

    - *day/night* is a deterministic level by time of day, not a fluctuation that
      multiplexing smooths: frame sizes are multiplied by the highest level that the
      camera's time on in a run of ``duration_ps`` reaches (the run covers simulation time
      ``[0, duration)``, time of day ``time_of_day_at_start`` at 0), so that a run in the
      night is estimated at the night's level and one across dusk too (the busy level: a
      link sized for the day's mean would be overloaded all night). ``None``: the whole day.
    - *motion* multiplies the mean rate by ``1 + p (motion_scale − 1)``, ``p`` the share of
      time in motion, and more when a motion GOP restarts the GOP, with an I-frame, at every
      change of state the frames see (each state's share of I-frames is that of stays of
      geometric length, :func:`motion_frames`). The variance of the rate over ``τ`` is
      exact for the chain of (state, place in the GOP) the frames read
      (:func:`~vidnet_sim.analysis.frame_windows.chain_window_variance`) plus the frames'
      own spread. Its *shared* part, which the streams of one camera add as one, is the
      two-state rate's ``Var(E[rate | state])`` reduced by the correlation of the state
      over the ``τ fps`` frames in ``τ`` (:func:`_motion_correlation`: 1 for sojourns much
      longer than ``τ``, the usual case, ``≈ 1/(τ fps)`` for much shorter ones), at most
      the whole.

    The returned variance is each source's own; :func:`estimate` adds the motion part of the
    streams of one camera on a link as one (they share its motion).
    """
    parts = _rate_parts(plan, timescale_ps, scale, duration_ps)
    return parts.mean, parts.var + parts.shared_sd**2


def _link_moments(plan: NetworkPlan, parts: _RateParts) -> tuple[np.ndarray, ...]:
    """Each directed link's summed mean rate and rate variance, and whether a flow uses it.

    A unicast source's copies to several destinations that cross a link are the same bytes
    sent again: the mean counts each copy, the standard deviations of the copies add (they
    are perfectly correlated); a multicast source's tree carries one copy on each link
    whatever the destinations behind it. The shared parts (a camera's motion, the same for
    all its streams) add as standard deviations over the sources sharing them on the link
    (a Cauchy–Schwarz bound of their covariances), except the pairs whose covariance is
    known (:attr:`_RateParts.shared_cov`: streams restarting their GOPs with the motion, at a
    given ``τ``), which add it; the independent parts add as variances.
    """
    nl = plan.n_links
    t = plan.sources
    starts = np.asarray(plan.flow_route_start, np.int64)
    hops = np.diff(starts)
    flow = np.repeat(np.arange(plan.n_flows), hops)
    link = np.asarray(plan.route_links[starts[0] : starts[-1]], np.int64)
    src = np.asarray(plan.flow_source, np.int64)[flow]
    n = max(len(t), 1)
    pairs, copies = np.unique(link * n + src, return_counts=True)
    link, src = pairs // n, pairs % n
    multicast = t.multicast if len(t.multicast) == len(t) else np.zeros(len(t), np.bool_)
    copies = np.where(multicast[src], 1, copies).astype(np.float64)
    m = np.bincount(link, weights=copies * parts.mean[src], minlength=nl)
    v = np.bincount(link, weights=copies**2 * parts.var[src], minlength=nl)
    _, process = np.unique(np.asarray(t.mod_key, np.uint64), return_inverse=True)
    k = int(process.max()) + 1 if len(process) else 1
    together, at = np.unique(link * k + process[src], return_inverse=True)
    sd = np.bincount(at, weights=copies * parts.shared_sd[src])
    v += np.bincount(together // k, weights=sd**2, minlength=nl)
    _pair_corrections(v, link, src, copies, parts)
    used = np.bincount(link, minlength=nl) > 0
    return m, v, used


def _pair_corrections(
    v: np.ndarray, link: np.ndarray, src: np.ndarray, copies: np.ndarray, parts: _RateParts
) -> None:
    """Replace, in each link's variance ``v``, the bound ``sd_a sd_b`` of the pairs of
    sources whose covariance is known (:attr:`_RateParts.shared_cov`) by it, on the links
    both cross (``link``, ``src``, ``copies``: each source's copies on each link)."""
    if not parts.shared_cov:
        return
    wanted = np.unique(np.array(list(parts.shared_cov), np.int64))
    on: dict[int, dict[int, float]] = {}
    sel = np.isin(src, wanted)
    for ln, s, c in zip(link[sel].tolist(), src[sel].tolist(), copies[sel].tolist(), strict=True):
        on.setdefault(s, {})[ln] = c
    sd = parts.shared_sd
    for (a, b), cov in parts.shared_cov.items():
        la, lb = on.get(a, {}), on.get(b, {})
        for ln in la.keys() & lb.keys():
            v[ln] += 2.0 * la[ln] * lb[ln] * (cov - float(sd[a] * sd[b]))


# --------------------------------------------------------------------------- arrival curves
@dataclass
class ArrivalCurves:
    """Token bucket per source: at most ``burst_bytes + rate_bps/8 × τ`` wire bytes in any
    closed window of length ``τ`` (emission times), and the largest wire packet. ``inf``
    burst: no deterministic bound (Poisson sources in ``"model"`` mode)."""

    burst_bytes: np.ndarray
    rate_bps: np.ndarray
    max_packet_bytes: np.ndarray
    min_packet_bytes: np.ndarray
    mode: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _Alarms:
    """What the scenario's alarms do to each source over the run."""

    scale: np.ndarray  # the largest bitrate scale (at least 1)
    gops: dict[int, set[int]]  # a camera's alarm GOPs (cameras whose GOP an alarm sets)
    gop_changes: np.ndarray  # how many times an alarm sets or clears the source's GOP


def _alarms(scenario: Scenario, plan: NetworkPlan) -> _Alarms:
    """The alarms' changes that take effect during the run ``[0, duration)``: one at or
    after its end sends nothing (an alarm starting before the end and ending after it
    counts its start only)."""
    scale = np.ones(len(plan.sources))
    changes = np.zeros(len(plan.sources), np.int64)
    gops: dict[int, set[int]] = {}
    end = scenario.simulation.duration
    for act in scenario_actions(scenario, plan):
        if act.t_ps >= end:
            continue
        idx = np.asarray(act.sources, np.int64)
        if act.scale is not None:
            scale[idx] = np.maximum(scale[idx], act.scale)
        if act.gop is not None:
            changes[idx] += 1
            if act.gop > 0:
                for s in idx.tolist():
                    gops.setdefault(s, set()).add(int(act.gop))
    return _Alarms(scale, gops, changes)


def _bucket_from_trace(times: np.ndarray, sizes: np.ndarray, rate_bps: float) -> float:
    """Smallest ``b`` with ``A[s, t] ≤ b + r (t − s)`` over every closed window (bytes)."""
    if len(times) == 0:
        return 0.0
    ut, inv = np.unique(times, return_inverse=True)
    per_t = np.bincount(inv, weights=sizes.astype(np.float64))
    cum = np.cumsum(per_t)
    r = rate_bps / 8.0 / PS_PER_S  # bytes per ps
    before = np.concatenate([[0.0], cum[:-1]]) - r * ut.astype(np.float64)
    run_min = np.minimum.accumulate(before)
    after = cum - r * ut.astype(np.float64)
    return float(np.max(after - run_min))


def arrival_curves(
    plan: NetworkPlan, scenario: Scenario, mode: ArrivalMode = "model", *, quantile: float = 0.999
) -> ArrivalCurves:
    """Token-bucket arrival curves of every source.

    ``"model"``: from the parameters. A camera's burst ``b`` is its largest frame on the
    wire (I-frame payload + one header per packet) and ``r`` an upper bound of its mean wire
    rate, both at its *peak* multiplier: the largest alarm scale, times ``motion_scale``
    (with motion: the motion state lasts an exponential sojourn, so nothing smaller bounds
    every window), times the highest day/night level its time on in the run reaches (a
    night scale above 1 raises the peak). With ``rate_control = "cbr"`` (σ = 0) frame sizes
    are deterministic and the bucket is exact for a camera without behaviour, with VBR the
    frame size is capped at its ``quantile`` (the bound then holds for frames below that
    cap: be aware it is not a worst case). A change of GOP (motion's ``gop``, an alarm's)
    starts a new GOP with an I-frame: each alarm's start and end adds a frame to the burst;
    motion's may come at any frame, so such a camera's rate is that of an I-frame every
    frame (a note says so). CBR sources: one packet, rate from the interval. Trace sources:
    computed from the file. Poisson sources: no deterministic bound (``inf``).

    ``"trace"``: from the packets the run emits with this scenario's seed (generated, not
    simulated; every source treated as on from its start to the end, at its largest alarm
    scale — a superset of what the run emits, so the bound stays valid; motion and day/night
    are generated as in the run), with ``r`` the realised mean rate plus 0.1 %. No bound
    (``inf``, with a note) for a camera whose GOP an alarm changes or a Poisson source under
    an alarm: their trace at one setting is not a superset.
    """
    alarms = _alarms(scenario, plan)
    if mode == "trace":
        return _trace_curves(plan, scenario, alarms)
    return _model_curves(plan, alarms, quantile, mode, scenario.simulation.duration)


def _emitted_rows(t: SourceTable, scale: np.ndarray, scenario: Scenario) -> list[np.ndarray]:
    """Per source: ``(time, wire bytes)`` of every packet it emits over the run when on
    throughout at ``scale`` (generated window by window, as the run does)."""
    n = len(t)
    state = SourceState.initial(t)
    state.active[:] = True
    state.scale[:] = scale
    end = scenario.simulation.duration
    step = max(scenario.simulation.window, 1)
    chunks: list[list[np.ndarray]] = [[] for _ in range(n)]
    t0 = 0
    while t0 < end:
        t1 = min(end, t0 + step)
        for s, rows in enumerate(generate(t, state, t0, t1)):
            if len(rows):
                chunks[s].append(rows[:, [G_T, G_WIRE]])
        t0 = t1
    return [np.concatenate(c) if c else np.zeros((0, 2), np.int64) for c in chunks]


def _trace_curves(plan: NetworkPlan, scenario: Scenario, alarms: _Alarms) -> ArrivalCurves:
    """The ``"trace"`` mode of :func:`arrival_curves`."""
    t = plan.sources
    n = len(t)
    scale = alarms.scale
    burst = np.zeros(n)
    rate = np.zeros(n)
    pmax = np.zeros(n)
    pmin = np.zeros(n)
    notes = _Notes(plan)
    for s in range(n):
        if int(t.kind[s]) == KIND_POISSON and scale[s] != 1.0:
            notes.add(
                s,
                "Poisson sources",
                "Poisson arrivals under an alarm: the realised trace at scale 1 is not a "
                "superset, so no bound is given",
            )
            burst[s] = math.inf
        elif int(t.kind[s]) == KIND_CAMERA and alarms.gop_changes[s]:
            notes.add(
                s,
                "cameras",
                "an alarm changes the GOP, which the trace does not reproduce, so no bound "
                "is given",
            )
            burst[s] = math.inf
    end = scenario.simulation.duration
    for s, rows in enumerate(_emitted_rows(t, scale, scenario)):
        if len(rows) == 0:
            rate[s] = 0.0
            pmax[s] = pmin[s] = 1.0
            continue
        span = max(int(end - rows[0, 0]), 1)
        rate[s] = 8.0 * rows[:, 1].sum() * PS_PER_S / span * 1.001
        if not math.isinf(burst[s]):
            burst[s] = _bucket_from_trace(rows[:, 0], rows[:, 1], rate[s])
        pmax[s] = float(rows[:, 1].max())
        pmin[s] = float(rows[:, 1].min())
    return ArrivalCurves(burst, rate, pmax, pmin, "trace", notes.lines())


#: One source's model arrival curve: ``(burst, rate, largest packet, smallest packet)``.
_Curve = tuple[float, float, float, float]


def _model_curves(
    plan: NetworkPlan, alarms: _Alarms, quantile: float, mode: str, duration_ps: int
) -> ArrivalCurves:
    """The ``"model"`` mode of :func:`arrival_curves`."""
    from scipy.stats import norm

    t = plan.sources
    n = len(t)
    scale = alarms.scale
    night = _night_level(t, duration_ps)
    burst = np.zeros(n)
    rate = np.zeros(n)
    pmax = np.zeros(n)
    pmin = np.zeros(n)
    notes = _Notes(plan)
    poisson_mean: np.ndarray | None = None
    z = float(norm.ppf(quantile))
    for s in range(n):
        kind = int(t.kind[s])
        if kind == KIND_CAMERA:
            # the generator's multiplier, in its order: alarm scale, motion, night
            peak = float(scale[s])
            if int(t.beh_flags[s]) & BEH_MOTION and float(t.motion_scale[s]) > 1.0:
                peak *= float(t.motion_scale[s])
            if night[s] > 1.0:
                peak *= float(night[s])
            gops = _camera_gops(t, s, alarms.gops.get(s, set()))
            curve = _camera_curve(t, s, peak, z, gops, int(alarms.gop_changes[s]))
            if float(t.i_sigma[s]) > 0 or float(t.p_sigma[s]) > 0:
                notes.add(
                    s, "VBR cameras", f"VBR frame sizes capped at their {quantile:g} quantile"
                )
            if gops.any_frame:
                notes.add(
                    s,
                    "cameras",
                    "motion changes the GOP at any frame (a new GOP, an I-frame), so every "
                    "frame is bounded as an I-frame",
                )
        elif kind == KIND_CBR:
            w = float(t.size_a[s]) + float(t.header_bytes[s])
            curve = (w, 8.0 * w * PS_PER_S / float(t.interval_ps[s]), w, w)
        elif kind == KIND_ONOFF:
            curve = _onoff_curve(t, s)
            if math.isinf(curve[0]):
                notes.add(s, "sources", "on/off periods without a shortest one have no burst bound")
        elif kind == KIND_TRACE:
            curve = _trace_file_curve(t, s)
        else:
            if poisson_mean is None:  # (every source's, once)
                poisson_mean = _rate_parts(plan, scale=scale).mean
            curve = _poisson_curve(t, s, float(poisson_mean[s]))
            what = "Poisson bursts" if kind == KIND_BURST else "Poisson arrivals"
            notes.add(s, "sources", f"{what} have no deterministic burst bound")
        burst[s], rate[s], pmax[s], pmin[s] = curve
    return ArrivalCurves(burst, rate, pmax, pmin, mode, notes.lines())


class _Notes:
    """Notes about sources, one line per message however many sources it concerns: the
    source's name when one, else how many and of which groups (a city's thousand VBR
    cameras make one line, not a thousand)."""

    #: groups named in a note before "and N more"
    SHOWN = 3

    def __init__(self, plan: NetworkPlan) -> None:
        self._plan = plan
        self._sources: dict[tuple[str, str], list[int]] = {}

    def add(self, s: int, what: str, message: str) -> None:
        """Note ``message`` about source ``s``, one of the sources called ``what`` (plural,
        e.g. ``"VBR cameras"``)."""
        self._sources.setdefault((what, message), []).append(s)

    def lines(self) -> list[str]:
        """One line per message, in the order first noted."""
        t = self._plan.sources
        out = []
        for (what, message), sources in self._sources.items():
            if len(sources) == 1:
                out.append(f"{t.names[sources[0]]}: {message}")
                continue
            groups = list(dict.fromkeys(self._plan.group_names[int(t.group[s])] for s in sources))
            named = ", ".join(groups[: self.SHOWN])
            if len(groups) > self.SHOWN:
                named += f" and {len(groups) - self.SHOWN} more"
            of = "group" if len(groups) == 1 else f"{len(groups)} groups"
            out.append(f"{len(sources)} {what} ({of}: {named}): {message}")
        return out


@dataclass(frozen=True)
class _Gops:
    """The GOPs a camera's frames may follow, and whether it may change GOP at any frame."""

    sizes: frozenset[int]
    any_frame: bool


def _camera_gops(t: SourceTable, s: int, alarm_gops: set[int]) -> _Gops:
    """The generator's rule: the GOP in force is the smallest of the stream's, motion's (in
    motion) and an alarm's, where each is set."""
    g = int(t.gop[s])
    gm = int(t.motion_gop[s]) if int(t.beh_flags[s]) & BEH_MOTION else 0
    motion = [gm] if 0 < gm < g else []
    sizes = {g, *motion}
    for ov in alarm_gops:
        sizes |= {min(g, ov), *(min(m, ov) for m in motion)}
    return _Gops(frozenset(sizes), bool(motion))


def _camera_curve(
    t: SourceTable, s: int, scale: float, z: float, gops: _Gops, changes: int
) -> _Curve:
    """A camera's model curve at the multiplier ``scale``, frame sizes capped at the
    quantile ``z`` of the normal law, over every GOP in ``gops`` (``changes``: how many
    times an alarm sets or clears its GOP)."""
    hb = float(t.header_bytes[s])
    fps = float(t.fps_num[s]) / float(t.fps_den[s])
    g = int(t.gop[s])
    r = float(t.ip_ratio[s])
    mp = int(t.max_payload[s])
    si, sp = float(t.i_sigma[s]), float(t.p_sigma[s])

    def cap(mean: float, sig: float) -> int:
        # the generator: round(mean * exp(sig z - sig^2/2)), at least 1 byte
        return max(1, math.floor(mean * math.exp(sig * z - 0.5 * sig * sig) + 0.5))

    def wire(x: int) -> int:
        return x + int(hb) * (-(-x // mp))

    big = rate = largest = 0.0
    for gop in sorted(gops.sizes):
        # same float operations as the generator (traffic/generate.py)
        pm = float(t.p_mean_bytes[s])
        if gop != g:
            pm = pm * (gop * (g - 1 + r)) / (g * (gop - 1 + r))
        i_cap, p_cap = cap(pm * r * scale, si), cap(pm * scale, sp)
        # frames of any window: at most one I per gop frames; P ≤ mean frame; a bucket
        # of the largest frame refilled at an upper bound of the mean wire rate.
        big = max(big, wire(i_cap), wire(p_cap))
        mean_frame = (wire(i_cap) + (gop - 1) * wire(p_cap)) / gop
        rate = max(rate, 8.0 * max(mean_frame, wire(p_cap)) * fps)
        largest = max(largest, min(mp, max(i_cap, p_cap)) + hb)
    if gops.any_frame:  # a new GOP (an I-frame) may start at every frame
        rate = 8.0 * big * fps
    elif len(gops.sizes) > 1:  # each alarm change starts one GOP more: one frame each
        big *= changes + 1
    return big + 1.0, rate * (1 + 1e-9), largest, 1 + hb


def _onoff_curve(t: SourceTable, s: int) -> _Curve:
    """An ``onoff`` source's model curve. Each on period restarts the packet grid (a packet
    at its start, then one every ``iv``), so packets come closer than ``iv`` when an off
    period is shorter than ``iv``: its CBR peak alone is no bound. In a closed window of
    ``τ`` met by ``M`` on periods, the ``M − 1`` off periods inside it (each at least the
    shortest, ``x_off``) leave at most ``τ − (M − 1) x_off`` of time on, each period sends
    at most its time in the window over ``iv`` plus one, and ``M − 1 ≤ (τ + x_on)/(x_off +
    x_on)``: at most ``τ/iv + 1 + (1 − x_off/iv)⁺ (τ + x_on)/(x_off + x_on)`` packets (the
    CBR peak when ``x_off ≥ iv``). ``x``: the Pareto minimum ``μ (a − 1)/a`` less a
    picosecond (sojourns are rounded to whole picoseconds); periods of exponential law have
    no minimum and no bound (``inf``)."""
    w = float(t.size_a[s]) + float(t.header_bytes[s])
    iv = float(t.interval_ps[s])
    peak = 8.0 * w * PS_PER_S / iv
    shapes = (float(t.mod_shape0[s]), float(t.mod_shape1[s]))
    if min(shapes) <= 1.0:
        return math.inf, peak, w, w
    means = (float(t.mod_mean0_ps[s]), float(t.mod_mean1_ps[s]))
    x_off, x_on = (max(m * (a - 1.0) / a - 1.0, 0.0) for m, a in zip(means, shapes, strict=True))
    extra = max(1.0 - x_off / iv, 0.0)  # packets each further period may add
    if extra == 0.0:
        return w, peak, w, w
    if x_off + x_on <= 0.0:
        return math.inf, peak, w, w
    cycle = x_off + x_on
    burst = w * (1.0 + extra * x_on / cycle)
    return burst, (peak + 8.0 * w * extra * PS_PER_S / cycle) * (1 + 1e-9), w, w


def _trace_file_curve(t: SourceTable, s: int) -> _Curve:
    """A trace source's model curve, computed from its file (two plays when it loops, so
    that every window is seen)."""
    hb = float(t.header_bytes[s])
    a, b = int(t.trace_start[s]), int(t.trace_end[s])
    times = t.trace_t[a:b].copy()
    tw = t.trace_size[a:b].astype(np.float64) + hb
    period = int(t.trace_period_ps[s])
    if period:
        times = np.concatenate([times, times + period])  # two plays: every window
        tw = np.concatenate([tw, tw])
        rate = 8.0 * tw.sum() / 2 * PS_PER_S / period * 1.001
    else:
        span = max(int(times[-1] - times[0]), 1)
        rate = 8.0 * tw.sum() * PS_PER_S / span * 1.001
    return _bucket_from_trace(times, tw, rate), rate, float(tw.max()), float(tw.min())


def _poisson_curve(t: SourceTable, s: int, mean_bps: float) -> _Curve:
    """A Poisson (or Poisson-burst) source's curve: its mean rate, no burst bound."""
    hb = float(t.header_bytes[s])
    if int(t.kind[s]) == KIND_BURST:
        w = float(t.size_a[s]) + hb
        return math.inf, mean_bps, w, w
    values, _ = _payload_law(t, s)
    return math.inf, mean_bps, float(values.max()) + hb, float(values.min()) + hb


# --------------------------------------------------------------------------- network calculus
def nc_delay_bounds(plan: NetworkPlan, curves: ArrivalCurves) -> tuple[np.ndarray, np.ndarray]:
    """Worst-case end-to-end delay bound (ps, float; ``inf`` when none) of every flow, and
    the total-flow-analysis delay bound of every directed link (ps, queueing + transmission,
    without propagation).

    Each link is a FIFO server of rate ``R`` whose transmission times are rounded up to a
    whole picosecond; we use ``R_eff = 1 / (1/R + 1 ps / (8 s_min))`` (``s_min``: the
    smallest wire packet crossing it), which covers the rounding. Hop by hop (total flow
    analysis, links in topological order): the aggregate of the flows arriving at link
    ``l`` has burst ``B_l`` and rate ``ρ_l ≤ R_eff``, a packet leaves at most
    ``D_l = 8 B_l / R_eff`` after it arrived, and each flow's burst grows by ``r D_l``
    before the next hop. Pay bursts only once: at each hop the flow gets the FIFO residual
    service curve, rate-latency ``(R_eff − ρ_cross, (L_max + B_cross)/R_eff)`` (the link is
    a packetised server: ``L_max`` its largest packet); concatenated along the path it gives
    ``Σθ + 8 b / min(R_eff − ρ_cross)``. The flow's bound is the smaller of the two, plus
    the propagation delays.
    """
    fsrc = plan.flow_source
    fr = curves.rate_bps[fsrc].astype(np.float64)
    routes = [plan.route(f) for f in range(plan.n_flows)]
    hops = _total_flow_analysis(plan, curves, routes)
    burst_total, burst_unbounded = hops.burst_totals()
    fb = curves.burst_bytes[fsrc].astype(np.float64)
    bound = np.full(plan.n_flows, math.inf)
    for f, r in enumerate(routes):
        # The flow's cross traffic on a link is the link's total less its own share.
        theta = 0.0
        rmin = math.inf
        for j, link in enumerate(r):
            link = int(link)
            own = hops.burst_at[f][j]
            unbounded = burst_unbounded[link] - (0 if math.isfinite(own) else 1)
            b_cross = burst_total[link] - (own if math.isfinite(own) else 0.0)
            left = hops.reff[link] - (hops.rate_total[link] - fr[f]) / 8.0 / PS_PER_S
            if left <= 0 or unbounded or fr[f] / 8.0 / PS_PER_S > left:
                theta = math.inf
                break
            theta += (hops.lmax[link] + max(b_cross, 0.0)) / hops.reff[link]
            rmin = min(rmin, left)
        pboo = theta + fb[f] / rmin if math.isfinite(theta) else math.inf
        best = min(float(hops.dlink[r].sum()), pboo)
        if math.isfinite(best):
            prop = float(plan.link_prop_ps[r].sum())
            bound[f] = math.ceil(best * (1 + 1e-9)) + 1 + prop  # float rounding slack
    return bound, hops.dlink


@dataclass
class _Hops:
    """Total flow analysis of every link: what the per-flow bounds need."""

    on_link: list[list[tuple[int, int]]]  # (flow, hop) crossing each link
    burst_at: list[np.ndarray]  # each flow's burst (bytes) at each hop of its route
    reff: np.ndarray  # effective rate, bytes per ps
    rate_total: np.ndarray  # sum of the flows' rates, bits per second
    lmax: np.ndarray  # largest packet, bytes
    dlink: np.ndarray  # hop delay bound, ps

    def burst_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Each link's sum of finite arriving bursts and its count of unbounded ones: totals
        once per link, not a sum over the other users for every flow (quadratic on the
        shared links of a large city)."""
        total = np.zeros(len(self.on_link))
        unbounded = np.zeros(len(self.on_link), dtype=np.int64)
        for link, users in enumerate(self.on_link):
            for f, j in users:
                b = self.burst_at[f][j]
                if math.isfinite(b):
                    total[link] += b
                else:
                    unbounded[link] += 1
        return total, unbounded


def _total_flow_analysis(
    plan: NetworkPlan, curves: ArrivalCurves, routes: list[np.ndarray]
) -> _Hops:
    """Links in topological order: each link's aggregate burst and rate, its delay bound, and
    each flow's burst grown by ``r D_l`` before its next hop (see :func:`nc_delay_bounds`)."""
    nl = plan.n_links
    fsrc = plan.flow_source
    fr = curves.rate_bps[fsrc].astype(np.float64)
    fpmax = curves.max_packet_bytes[fsrc]
    fpmin = curves.min_packet_bytes[fsrc]
    on_link: list[list[tuple[int, int]]] = [[] for _ in range(nl)]
    for f, r in enumerate(routes):
        for j, link in enumerate(r):
            on_link[int(link)].append((f, j))
    burst_at = [np.full(len(r), np.nan) for r in routes]
    fb = curves.burst_bytes[fsrc].astype(np.float64)
    for f, r in enumerate(routes):
        if len(r):
            burst_at[f][0] = fb[f]
    hops = _Hops(on_link, burst_at, np.zeros(nl), np.zeros(nl), np.zeros(nl), np.zeros(nl))
    for link in plan.link_order:
        link = int(link)
        users = on_link[link]
        if not users:
            continue
        smin = min(float(fpmin[f]) for f, _ in users)
        rate = float(plan.link_rate_bps[link]) / 8.0 / PS_PER_S  # bytes per ps
        hops.reff[link] = 1.0 / (1.0 / rate + 1.0 / max(smin, 1.0))
        hops.rate_total[link] = sum(fr[f] for f, _ in users)
        hops.lmax[link] = max(float(fpmax[f]) for f, _ in users)
        total_b = sum(burst_at[f][j] for f, j in users)
        rho = hops.rate_total[link] / 8.0 / PS_PER_S
        d = (
            total_b / hops.reff[link]
            if rho <= hops.reff[link] and math.isfinite(total_b)
            else math.inf
        )
        hops.dlink[link] = d
        for f, j in users:
            if j + 1 < len(routes[f]):
                burst_at[f][j + 1] = burst_at[f][j] + fr[f] / 8.0 / PS_PER_S * d
    return hops


# --------------------------------------------------------------------------- all together
@dataclass
class Estimates:
    """The three estimates of one scenario: a per-link table and a per-group table."""

    links: pd.DataFrame
    groups: pd.DataFrame
    notes: list[str]

    def ok(self, method: str) -> bool:
        """Does the network pass under ``method`` (sum of means or Gaussian)?"""
        col = {METHOD_SUM_OF_MEANS: "ok_60", METHOD_GAUSSIAN: "ok_gaussian"}[method]
        return bool(self.links[col].all())

    def group_bound_ps(self, cls: str | None = None) -> float:
        """Largest network-calculus bound over the groups (of one class)."""
        g = self.groups if cls is None else self.groups[self.groups["class"] == cls]
        return float(g["nc_bound_ps"].max()) if len(g) else math.nan


def estimate(
    scenario: Scenario,
    plan: NetworkPlan | None = None,
    *,
    eps: float = 1e-3,
    utilisation_ceiling: float = 0.6,
    timescale_ps: int | None = None,
    arrivals: ArrivalMode = "model",
    quantile: float = 0.999,
) -> Estimates:
    """The fast estimates of ``scenario`` (``plan`` is built when not given).

    Camera behaviour is estimated over the run ``[0, scenario.simulation.duration)``
    (:func:`source_rate_moments`).

    ``links``: per directed link carrying traffic, ``mean_bps`` (sum of means),
    ``utilisation``, ``ok_60`` (≤ ``utilisation_ceiling``), ``gaussian_bps`` (``m + α′σ``),
    ``ok_gaussian`` (≤ rate), ``nc_delay_ps`` (hop bound). ``groups``: per camera group or
    source, ``nc_bound_ps`` (largest over its flows) and the method label.
    """
    if plan is None:
        plan = build_plan(scenario)
    parts = _rate_parts(plan, timescale_ps, duration_ps=scenario.simulation.duration)
    m, v, used = _link_moments(plan, parts)
    alpha = gaussian_alpha(eps)
    curves = arrival_curves(plan, scenario, arrivals, quantile=quantile)
    fb, dlink = nc_delay_bounds(plan, curves)
    rate = plan.link_rate_bps.astype(np.float64)
    idx = np.flatnonzero(used)
    links = pd.DataFrame(
        {
            "link": [plan.link_names[i] for i in idx],
            "rate_bps": plan.link_rate_bps[idx],
            "mean_bps": m[idx],
            "utilisation": m[idx] / rate[idx],
            "ok_60": m[idx] <= utilisation_ceiling * rate[idx],
            "gaussian_bps": m[idx] + alpha * np.sqrt(v[idx]),
            "ok_gaussian": m[idx] + alpha * np.sqrt(v[idx]) <= rate[idx],
            "nc_delay_ps": dlink[idx],
        }
    )
    rows = []
    for gi, name in enumerate(plan.group_names):
        flows = np.flatnonzero(plan.sources.group[plan.flow_source] == gi)
        rows.append(
            {
                "name": name,
                "class": plan.group_classes[gi],
                "kind": plan.group_kinds[gi],
                "nc_bound_ps": float(fb[flows].max()) if len(flows) else math.nan,
                "method": METHOD_NC,
                "arrivals": curves.mode,
            }
        )
    return Estimates(links, pd.DataFrame(rows), curves.notes)
