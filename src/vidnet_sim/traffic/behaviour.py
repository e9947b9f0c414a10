"""Camera behaviour's bitrate multipliers, from the source table alone (no generation).

The generator (``traffic/generate.py``) multiplies a camera's mean frame sizes by
``motion_scale`` while its two-state process (``traffic/modulation.py``) is in motion and by
``night_scale`` while the time of day of the frame's capture, ``(tod0 + t) mod 24 h``, is in
``[night_start, day_start)``. What the run's volume count (``core/volume.py``) and the fast
estimates (``analysis/estimates.py``) need of that:

- motion: the long-run share of time in motion ``p = mean_1 / (mean_0 + mean_1)`` (the
  process starts in its stationary law, so ``p`` holds from its origin), the share of
  I-frames among the frames of each state (a motion ``gop`` restarts the GOP, with an
  I-frame, at every change of state the frames see), hence the mean multiplier;
- day/night: a deterministic level by time of day; over a span of simulation time its mean
  (the night's share of the span) and the levels the span reaches (day, night or both).

Sources without the behaviour get 1. The same multipliers for a camera group, from its
scenario fields alone (:func:`stream_mean_scale`), give the volume its cameras record (the
recording storage the whole bill prices, ``analysis/bill``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vidnet_sim.scenario.behaviour import Motion
from vidnet_sim.scenario.groups import StreamParams
from vidnet_sim.scenario.model import CameraGroup
from vidnet_sim.traffic.generate import DAY_PS
from vidnet_sim.traffic.rows import BEH_DAY_NIGHT, BEH_MOTION
from vidnet_sim.traffic.sources import SourceTable, p_mean_bytes

__all__ = [
    "MotionColumns",
    "MotionFrames",
    "NightLevels",
    "group_night_mean",
    "motion_frames",
    "motion_mean_scales",
    "motion_share",
    "night_levels",
    "night_time_ps",
    "stream_mean_scale",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class MotionColumns(Protocol):
    """The columns motion's multipliers read: a :class:`SourceTable`'s, or one camera
    stream's from its scenario fields (:func:`stream_mean_scale`)."""

    @property
    def gop(self) -> I64: ...
    @property
    def ip_ratio(self) -> F64: ...
    @property
    def p_mean_bytes(self) -> F64: ...
    @property
    def beh_flags(self) -> I64: ...
    @property
    def motion_gop(self) -> I64: ...
    @property
    def fps_num(self) -> I64: ...
    @property
    def fps_den(self) -> I64: ...
    @property
    def mod_mean0_ps(self) -> F64: ...
    @property
    def mod_mean1_ps(self) -> F64: ...
    @property
    def motion_scale(self) -> F64: ...


def motion_share(t: MotionColumns) -> F64:
    """Each source's long-run share of time in motion, ``mean_1 / (mean_0 + mean_1)`` (0 for
    a source without motion)."""
    has = (np.asarray(t.beh_flags) & BEH_MOTION) != 0
    return _motion_share(has, t.mod_mean0_ps, t.mod_mean1_ps)


def _motion_share(has: npt.ArrayLike, mean0_ps: npt.ArrayLike, mean1_ps: npt.ArrayLike) -> F64:
    """:func:`motion_share` from the columns: with motion, mean sojourns idle and in motion."""
    m0 = np.asarray(mean0_ps, np.float64)
    m1 = np.asarray(mean1_ps, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.nan_to_num(m1 / (m0 + m1))
    return np.asarray(np.where(has, p, 0.0), np.float64)


@dataclass(frozen=True)
class MotionFrames:
    """A camera's frames in each state of its motion process (index 0 idle, 1 in motion)."""

    gop: I64  #: ``(n, 2)``: the GOP in force (motion's ``gop`` when shorter)
    p_mean: F64  #: ``(n, 2)``: the generator's P-frame mean for that GOP (bytes, scale 1)
    i_share: F64  #: ``(n, 2)``: the long-run share of I-frames among the state's frames
    leave: F64  #: ``(n, 2)``: the probability that the next frame sees the other state


def motion_frames(t: MotionColumns) -> MotionFrames:
    """Each camera's GOP, P-frame mean and share of I-frames idle and in motion.

    Without a motion ``gop`` shorter than the stream's both states keep the stream's GOP
    (one I-frame every ``g`` frames: share ``1/g``). With one (``g' < g``) every change of
    state that the frames see starts a new GOP with an I-frame (``traffic/generate.py``).
    The state read at frames ``1/fps`` apart is a Markov chain (exponential sojourns):
    it leaves state ``i`` at a frame with probability ``q_i = p_j (1 − ρ)``, ``p_j`` the
    other state's share of time and ``ρ = exp(−(1/mean_0 + 1/mean_1)/fps)``, so a stay
    holds ``L ~ Geometric(q_i)`` frames and ``E⌈L/G⌉ = 1/(1 − (1 − q_i)^G)`` I-frames: the
    share ``q_i / (1 − (1 − q_i)^G)`` (``1/G`` for stays much longer than a GOP, 1 when
    the state changes at nearly every frame). Exact in the long run (the first stay starts
    at the camera's GOP offset instead)."""
    n = len(t.gop)
    g = np.maximum(np.asarray(t.gop, np.int64), 1)
    r = np.asarray(t.ip_ratio, np.float64)
    pm = np.asarray(t.p_mean_bytes, np.float64)
    has = (np.asarray(t.beh_flags) & BEH_MOTION) != 0
    gm = np.asarray(t.motion_gop, np.int64)
    changes = has & (gm > 0) & (gm < g)
    gop = np.stack([g, np.where(changes, gm, g)], axis=1)
    # the generator's P-frame mean over a GOP of g' frames (the stream's bitrate kept)
    gf = gop.astype(np.float64)
    p_mean = pm[:, None] * (gf * (g - 1 + r)[:, None]) / (g[:, None] * (gf - 1 + r[:, None]))
    share = 1.0 / gf
    fps = np.asarray(t.fps_num, np.float64) / np.maximum(np.asarray(t.fps_den), 1)
    m0 = np.asarray(t.mod_mean0_ps, np.float64)
    m1 = np.asarray(t.mod_mean1_ps, np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rho = np.exp(-(1.0 / m0 + 1.0 / m1) * 1e12 / fps)
        p1 = m1 / (m0 + m1)
        leave = np.stack([p1 * (1.0 - rho), (1.0 - p1) * (1.0 - rho)], axis=1)
        stays = leave / -np.expm1(gf * np.log1p(-leave))
    leave = np.where(has[:, None] & np.isfinite(leave), leave, 0.0)
    ok = changes[:, None] & (leave > 0) & np.isfinite(stays)
    share = np.where(ok, stays, share)
    return MotionFrames(
        gop.reshape(n, 2), p_mean.reshape(n, 2), share.reshape(n, 2), leave.reshape(n, 2)
    )


def motion_mean_scales(t: MotionColumns) -> F64:
    """Each source's mean bitrate multiplier from motion: ``Σ_i w_i s_i f_i / f``, ``w`` the
    share of time in each state (:func:`motion_share`), ``s`` its bitrate scale, ``f_i``
    the mean frame of its GOP, P-frame mean and I-frame share (:func:`motion_frames`) and
    ``f`` the stream's mean frame: ``1 + p (motion_scale − 1)`` unless a motion ``gop``
    restarts GOPs often enough to count; 1 without motion."""
    p = motion_share(t)
    frames = motion_frames(t)
    r = np.asarray(t.ip_ratio, np.float64)[:, None]
    mean_frame = frames.p_mean * (1.0 + frames.i_share * (r - 1.0))
    g = np.maximum(np.asarray(t.gop, np.float64), 1.0)
    base = np.asarray(t.p_mean_bytes, np.float64) * (g - 1.0 + r[:, 0]) / g
    scale = np.asarray(t.motion_scale, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(base[:, None] > 0, mean_frame / base[:, None], 1.0)
    mixed = (1.0 - p) * ratio[:, 0] + p * scale * ratio[:, 1]
    return np.asarray(np.where(p > 0, mixed, 1.0), np.float64)


def _night_before(clock_ps: I64, day_ps: I64, night_ps: I64) -> I64:
    """Night time on the 24 h clock in ``[0, clock_ps)`` (clock times from a midnight),
    night being ``[night_start, day_start)`` across midnight if needed (the generator's
    rule, ``scenario.behaviour.is_night``)."""
    days, tod = np.divmod(clock_ps, DAY_PS)
    across = day_ps < night_ps  # e.g. 19 h to 7 h: [0, day) and [night, 24 h)
    per_day = np.where(across, day_ps + DAY_PS - night_ps, day_ps - night_ps)
    partial = np.where(
        across,
        np.minimum(tod, day_ps) + np.maximum(tod - night_ps, 0),
        np.clip(tod - night_ps, 0, day_ps - night_ps),
    )
    return np.asarray(days * per_day + partial, np.int64)


def night_time_ps(t: SourceTable, start_ps: I64, stop_ps: I64) -> I64:
    """How much of each source's span ``[start_ps, stop_ps)`` of simulation time is night by
    its day/night profile (0 for a source without one, or an empty span)."""
    return _night_time(_day_night(t), start_ps, stop_ps)


@dataclass(frozen=True)
class _DayNight:
    """The day/night columns: whether a source has a profile, its time of day at 0, the
    times of day the day and the night start, and the night's multiplier."""

    has: npt.NDArray[np.bool_]
    tod0_ps: I64
    day_ps: I64
    night_ps: I64
    scale: F64


def _day_night(t: SourceTable) -> _DayNight:
    return _DayNight(
        (np.asarray(t.beh_flags) & BEH_DAY_NIGHT) != 0,
        np.asarray(t.dn_tod0_ps, np.int64),
        np.asarray(t.dn_day_ps, np.int64),
        np.asarray(t.dn_night_ps, np.int64),
        np.asarray(t.dn_night_scale, np.float64),
    )


def _night_time(dn: _DayNight, start_ps: I64, stop_ps: I64) -> I64:
    start = np.asarray(start_ps, np.int64)
    stop = np.maximum(np.asarray(stop_ps, np.int64), start)
    tod0, day, night = dn.tod0_ps, dn.day_ps, dn.night_ps
    spent = _night_before(tod0 + stop, day, night) - _night_before(tod0 + start, day, night)
    return np.asarray(np.where(dn.has, spent, 0), np.int64)


@dataclass(frozen=True)
class NightLevels:
    """The day/night multiplier of each source over a span of simulation time."""

    night_share: F64  #: the night's share of the span
    mean: F64  #: the mean multiplier over the span
    highest: F64  #: the largest level the span reaches


def night_levels(t: SourceTable, start_ps: I64, stop_ps: I64) -> NightLevels:
    """Each source's day/night multiplier over its span ``[start_ps, stop_ps)`` of
    simulation time: the night's share of the span, the mean multiplier over it and the
    largest level it reaches (``night_scale`` if any of it is night, 1 if any of it is
    day). Without a day/night profile, or for an empty span, the share is 0 and both
    multipliers are 1."""
    return _night_levels(_day_night(t), start_ps, stop_ps)


def _night_levels(dn: _DayNight, start_ps: I64, stop_ps: I64) -> NightLevels:
    start = np.asarray(start_ps, np.int64)
    span = np.maximum(np.asarray(stop_ps, np.int64) - start, 0)
    night = _night_time(dn, start, start + span)
    scale = np.where(dn.has, dn.scale, 1.0)
    share = np.asarray(night / np.maximum(span, 1), np.float64)
    some_day = night < span
    highest = np.maximum(np.where(night > 0, scale, 1.0), np.where(some_day, 1.0, scale))
    return NightLevels(
        night_share=share,
        mean=np.asarray(1.0 + share * (scale - 1.0), np.float64),
        highest=np.asarray(np.where(span > 0, highest, 1.0), np.float64),
    )


def stream_mean_scale(
    cam: CameraGroup, st: StreamParams, start_ps: int = 0, stop_ps: int = DAY_PS
) -> float:
    """The mean bitrate multiplier of stream ``st`` of every camera of ``cam`` over
    ``[start_ps, stop_ps)`` of simulation time (default: a whole day, whatever its time of
    day at 0): motion's mean multiplier (:func:`motion_mean_scales`, the I-frames a motion
    ``gop`` forces included) times the day/night level's mean over the span
    (:func:`group_night_mean`), from the group's and the stream's fields alone; 1 without
    motion or day/night and for a group replaying traces (their frames are the traces')."""
    motion = 1.0
    if cam.motion is not None and not cam.replays_trace:
        motion = float(motion_mean_scales(_StreamColumns.of(cam.motion, st))[0])
    return motion * group_night_mean(cam, start_ps, stop_ps)


def group_night_mean(cam: CameraGroup, start_ps: int = 0, stop_ps: int = DAY_PS) -> float:
    """The mean day/night level of the cameras of ``cam`` over ``[start_ps, stop_ps)`` of
    simulation time (:func:`night_levels` from the group's ``day_night`` alone; default a
    whole day): 1 without a profile and for a group replaying traces."""
    d = None if cam.replays_trace else cam.day_night
    dn = _DayNight(
        np.array([d is not None]),
        np.array([d.time_of_day_at_start if d else 0], np.int64),
        np.array([d.day_start if d else 0], np.int64),
        np.array([d.night_start if d else 0], np.int64),
        np.array([d.night_scale if d else 1.0], np.float64),
    )
    night = _night_levels(dn, np.array([start_ps], np.int64), np.array([stop_ps], np.int64))
    return float(night.mean[0])


@dataclass(frozen=True)
class _StreamColumns:
    """The source-table columns of motion's multipliers for one camera stream, from the
    scenario (what ``traffic/sources.py`` writes into a camera's row)."""

    gop: I64
    ip_ratio: F64
    p_mean_bytes: F64
    beh_flags: I64
    motion_gop: I64
    fps_num: I64
    fps_den: I64
    mod_mean0_ps: F64
    mod_mean1_ps: F64
    motion_scale: F64

    @classmethod
    def of(cls, m: Motion, st: StreamParams) -> _StreamColumns:
        def i64(v: int) -> I64:
            return np.array([v], np.int64)

        def f64(v: float) -> F64:
            return np.array([v], np.float64)

        return cls(
            gop=i64(st.gop),
            ip_ratio=f64(st.ip_ratio),
            p_mean_bytes=f64(p_mean_bytes(st.bitrate_bps, st.fps, st.gop, st.ip_ratio)),
            beh_flags=i64(BEH_MOTION),
            motion_gop=i64(m.gop or 0),
            fps_num=i64(st.fps.numerator),
            fps_den=i64(st.fps.denominator),
            mod_mean0_ps=f64(float(m.idle_mean)),
            mod_mean1_ps=f64(float(m.motion_mean)),
            motion_scale=f64(m.bitrate_scale),
        )
