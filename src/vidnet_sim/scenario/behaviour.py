"""Camera behaviour over time: motion (idle/motion Markov process) and day/night profiles.

Both are tables of a camera group (``motion = {...}``, ``day_night = {...}``) and apply to
every stream of every camera of the group. The generator (``traffic/generate.py``) applies
them frame by frame; ``docs/scenario.md`` documents the keys and ``docs/model.md`` nothing
new (they only change frame sizes and I-frame positions, which are source behaviour).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from vidnet_sim.scenario.bounds import MIN_MOTION_MEAN_PS
from vidnet_sim.scenario.fields import (
    BitrateScale,
    Gop,
    Model,
    Time,
    parse_time,
    raise_rules,
)
from vidnet_sim.scenario.units import format_time

#: One day, ps.
DAY_PS = 86_400 * 10**12


class Motion(Model):
    """A per-camera two-state idle/motion Markov process with exponential sojourns.

    While in motion, the camera's mean bitrate is multiplied by ``bitrate_scale`` and, when
    ``gop`` is given, its GOP is shortened to ``gop`` frames (a stream whose GOP is already
    shorter keeps it). A GOP change starts a new GOP with an I-frame at the first frame of the
    new state. The long-run fraction of time in motion is
    ``motion_mean / (idle_mean + motion_mean)``.

    The defaults are assumptions, not published figures: the sources of docs/domain.md §2
    only say that motion and scene complexity raise the bitrate (I/P ratio 1.3 in high
    motion against 5.6–44 for static scenes, "+300 %" for a complex outdoor scene) and that
    dynamic GOP schemes lengthen the GOP when the scene is idle. Set them for the site being
    modelled.
    """

    idle_mean: Annotated[Time, Field(ge=MIN_MOTION_MEAN_PS)] = parse_time("10min")
    motion_mean: Annotated[Time, Field(ge=MIN_MOTION_MEAN_PS)] = parse_time("30s")
    bitrate_scale: BitrateScale = 2.5
    gop: Gop | None = None


class DayNight(Model):
    """A bitrate multiplier by time of day: ``night_scale`` from ``night_start`` to
    ``day_start`` (across midnight), 1 during the day.

    Low light raises a VBR camera's bitrate through sensor noise (docs/domain.md §2, Videotec and
    Vivotek manuals [A]); the magnitude is not known, so ``night_scale`` (default 1.4) is an
    assumption to set per camera model. ``time_of_day_at_start`` is the time of day at the
    simulation's time 0 (default midnight).
    """

    day_start: Time = parse_time("7h")
    night_start: Time = parse_time("19h")
    night_scale: BitrateScale = 1.4
    time_of_day_at_start: Time = 0

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[tuple[str, str]] = []
        for name in ("day_start", "night_start", "time_of_day_at_start"):
            value = getattr(self, name)
            if value >= DAY_PS:
                problems.append(
                    (name, f"must be a time of day below 24h, got {format_time(value)}")
                )
        if self.day_start == self.night_start:
            problems.append(
                ("night_start", f"must differ from day_start (both {format_time(self.day_start)})")
            )
        raise_rules(problems)
        return self

    def is_night(self, t_ps: int) -> bool:
        """Whether simulation time ``t_ps`` falls in the night (the generator's rule)."""
        tod = (self.time_of_day_at_start + t_ps) % DAY_PS
        return is_night(tod, self.day_start, self.night_start)


def is_night(tod_ps: int, day_start_ps: int, night_start_ps: int) -> bool:
    """Night is ``[night_start, day_start)`` on the 24 h clock, across midnight if needed."""
    if day_start_ps < night_start_ps:
        return tod_ps < day_start_ps or tod_ps >= night_start_ps
    return night_start_ps <= tod_ps < day_start_ps


__all__ = ["DAY_PS", "DayNight", "Motion", "is_night"]
