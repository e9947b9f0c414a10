"""Camera behaviour's bitrate multipliers, from the source table alone (no generation).

The generator (``traffic/generate.py``) multiplies a camera's mean frame sizes by
``motion_scale`` while its two-state process (``traffic/modulation.py``) is in motion and by
``night_scale`` while the time of day of the frame's capture, ``(tod0 + t) mod 24 h``, is in
``[night_start, day_start)``. What the run's volume count (``core/volume.py``) and the fast
estimates (``analysis/estimates.py``) need of that:

- motion: the long-run share of time in motion ``p = mean_1 / (mean_0 + mean_1)`` (the
  process starts in its stationary law, so ``p`` holds from its origin), hence the mean
  multiplier ``1 + p (motion_scale − 1)``;
- day/night: a deterministic level by time of day; over a span of simulation time its mean
  (the night's share of the span) and the levels the span reaches (day, night or both).

Sources without the behaviour get 1. The same multipliers for a camera group, from its
scenario fields alone (:func:`group_mean_scale`), give the volume its cameras record (the
recording storage the whole bill prices, ``analysis/bill``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vidnet_sim.scenario.model import CameraGroup
from vidnet_sim.traffic.generate import DAY_PS
from vidnet_sim.traffic.rows import BEH_DAY_NIGHT, BEH_MOTION
from vidnet_sim.traffic.sources import SourceTable

__all__ = [
    "NightLevels",
    "group_mean_scale",
    "motion_mean_scales",
    "motion_share",
    "night_levels",
    "night_time_ps",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def motion_share(t: SourceTable) -> F64:
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


def motion_mean_scales(t: SourceTable) -> F64:
    """Each source's mean bitrate multiplier from motion: ``1 + p (motion_scale − 1)``,
    ``p`` its share of time in motion (:func:`motion_share`); 1 without motion."""
    return _motion_mean(motion_share(t), t.motion_scale)


def _motion_mean(share: F64, motion_scale: npt.ArrayLike) -> F64:
    """``1 + p (motion_scale − 1)`` for the share ``p`` of time in motion."""
    return np.asarray(1.0 + share * (np.asarray(motion_scale, np.float64) - 1.0), np.float64)


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


def group_mean_scale(cam: CameraGroup, start_ps: int = 0, stop_ps: int = DAY_PS) -> float:
    """The mean bitrate multiplier of every camera of ``cam`` over ``[start_ps, stop_ps)``
    of simulation time (default: a whole day, whatever its time of day at 0): motion's
    mean multiplier (:func:`motion_mean_scales`) times the day/night level's mean over the
    span (:func:`night_levels`), from the group's ``motion`` and ``day_night`` alone; 1
    without them and for a group replaying traces (their frames are the traces')."""
    m, d = cam.motion, cam.day_night
    if cam.replays_trace:
        m = d = None
    share = _motion_share([m is not None], [m.idle_mean if m else 0], [m.motion_mean if m else 0])
    motion = _motion_mean(share, [m.bitrate_scale if m else 1.0])
    dn = _DayNight(
        np.array([d is not None]),
        np.array([d.time_of_day_at_start if d else 0], np.int64),
        np.array([d.day_start if d else 0], np.int64),
        np.array([d.night_start if d else 0], np.int64),
        np.array([d.night_scale if d else 1.0], np.float64),
    )
    night = _night_levels(dn, np.array([start_ps], np.int64), np.array([stop_ps], np.int64))
    return float(motion[0] * night.mean[0])
