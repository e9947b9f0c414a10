"""How much a camera group records over a span of simulation time, relative to its bitrate.

A camera's frames are its stream's mean size times a multiplier (``traffic/generate.py``):
motion's (a stationary process: the same mean over any span), the day/night level at the
frame's time of day, and the bitrate scale of an ``alarm`` event in force at the frame's
time (``scale`` of the timeline's actions, applied in time order and scenario order at a
tie; an alarm's ``gop`` keeps the stream's mean bitrate). :func:`recorded_level` is the
mean of the last two over a span: the recording of a span is the bitrate times motion's
mean times it. An alarm counts as the scenario's timeline has it, once, at its time: a
whole day records its extra bytes once (a recording that rises for part of every day is
what ``motion`` models).
"""

from __future__ import annotations

from vidnet_sim.scenario.groups import event_groups
from vidnet_sim.scenario.model import CameraGroup, Scenario
from vidnet_sim.traffic.behaviour import group_night_mean

__all__ = ["alarm_changes", "recorded_level"]


def alarm_changes(scenario: Scenario, group: str) -> list[tuple[int, float]]:
    """The bitrate scale the scenario's alarms set on camera group ``group``: ``(time,
    scale)`` changes in the order the run applies them (an alarm sets its scale at ``at``
    and 1 at its end; by time, scenario order at a tie)."""
    changes: list[tuple[int, float]] = []
    for ev in scenario.events:
        if ev.kind != "alarm" or ev.duration is None:
            continue
        if group in event_groups(scenario, ev):
            changes += [(int(ev.at), float(ev.bitrate_scale)), (int(ev.at + ev.duration), 1.0)]
    return sorted(changes, key=lambda c: c[0])  # stable: scenario order at a tie


def recorded_level(scenario: Scenario, cam: CameraGroup, start_ps: int, stop_ps: int) -> float:
    """The mean over ``[start_ps, stop_ps)`` of simulation time of the day/night level times
    the alarms' bitrate scale of the cameras of ``cam`` (1 for a group replaying traces:
    their frames are the traces'); the day/night mean alone for an empty span."""
    if cam.replays_trace or stop_ps <= start_ps:
        return group_night_mean(cam, start_ps, stop_ps)
    scale, t, total = 1.0, start_ps, 0.0
    for at, s in alarm_changes(scenario, cam.name):
        if at >= stop_ps:
            break
        if at > t:  # the stretch [t, at) at the scale in force
            total += scale * (at - t) * group_night_mean(cam, t, at)
            t = at
        scale = s
    total += scale * (stop_ps - t) * group_night_mean(cam, t, stop_ps)
    return total / (stop_ps - start_ps)
