"""How much a run would simulate, judged before it starts.

Each source's mean packet rate (frames and their packets for a camera, the mean interval of
the others, the rows of a trace) times the time it is on gives the packets of a run; a run
of more than :data:`~vidnet_sim.scenario.bounds.MAX_PACKETS` is refused with the figure, the
limit and the groups sending the most, before any engine is built.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.scenario.bounds import MAX_PACKETS
from vidnet_sim.scenario.units import format_time
from vidnet_sim.traffic.rows import KIND_BURST, KIND_CAMERA, KIND_TRACE, PS_PER_S

__all__ = ["ScaleChange", "check_volume", "mean_scales", "packets_per_source"]

#: ``(time ps, sources, bitrate scale from then on)``: an alarm's start (scale > 1) or end (1).
ScaleChange = tuple[int, npt.NDArray[np.int64], float]


def mean_scales(
    n: int, duration_ps: int, changes: Iterable[ScaleChange]
) -> npt.NDArray[np.float64]:
    """Each of ``n`` sources' bitrate scale averaged over ``[0, duration_ps)`` (1 without
    alarms), the changes applied in time order (a later change wins, as on the timeline)."""
    area = np.zeros(n)
    current = np.ones(n)
    since = np.zeros(n)
    for t, sources, scale in sorted(changes, key=lambda c: c[0]):
        t = min(max(int(t), 0), duration_ps)
        area[sources] += (t - since[sources]) * current[sources]
        since[sources] = t
        current[sources] = scale
    area += (duration_ps - since) * current
    return area / duration_ps if duration_ps > 0 else np.ones(n)


def packets_per_source(plan: NetworkPlan, duration_ps: int) -> npt.NDArray[np.float64]:
    """The mean number of packets each source sends in a run of ``duration_ps`` (every
    destination's copy counted, a multicast tree once; bitrate scale 1)."""
    s = plan.sources
    n = len(s)
    if n == 0:
        return np.zeros(0)
    kind = np.asarray(s.kind)
    start = np.minimum(np.asarray(s.start_ps, np.float64), duration_ps)
    stop = np.asarray(s.stop_ps, np.float64)
    stop = np.where(stop < 0, duration_ps, np.minimum(stop, duration_ps))
    on_s = np.maximum(stop - start, 0.0) / PS_PER_S
    rate = np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        # cameras: frames per second x (mean frame / payload + 1) packets
        fps = np.asarray(s.fps_num, np.float64) / np.asarray(s.fps_den, np.float64)
        gop = np.maximum(np.asarray(s.gop, np.float64), 1.0)
        frame = np.asarray(s.p_mean_bytes) * (gop - 1 + np.asarray(s.ip_ratio)) / gop
        per_frame = frame / np.maximum(np.asarray(s.max_payload, np.float64), 1.0) + 1.0
        rate = np.where(kind == KIND_CAMERA, fps * per_frame, rate)
        # constant intervals (cbr, onoff while on) and mean gaps (poisson, bursts)
        interval = np.asarray(s.interval_ps, np.float64)
        gap = np.asarray(s.mean_gap_ps, np.float64)
        per_gap = np.where(kind == KIND_BURST, np.asarray(s.burst_packets, np.float64), 1.0)
        others = (kind != KIND_CAMERA) & (kind != KIND_TRACE)
        rate = np.where(others & (gap > 0), per_gap * PS_PER_S / gap, rate)
        rate = np.where(others & (gap <= 0) & (interval > 0), PS_PER_S / interval, rate)
    packets = rate * on_s
    # traces: their rows, once or once per period
    rows = np.asarray(s.trace_end, np.float64) - np.asarray(s.trace_start, np.float64)
    period = np.asarray(s.trace_period_ps, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        loops = np.where(period > 0, np.ceil(on_s * PS_PER_S / period), 1.0)
    packets = np.where(kind == KIND_TRACE, rows * loops, packets)
    multicast = s.multicast if len(s.multicast) == n else np.zeros(n, np.bool_)
    copies = np.array(
        [1 if bool(multicast[i]) else max(1, len(s.destinations[i])) for i in range(n)],
        np.float64,
    )
    return np.nan_to_num(packets * copies, nan=np.inf, posinf=np.inf)


def check_volume(
    plan: NetworkPlan, duration_ps: int, scale_changes: Iterable[ScaleChange] = ()
) -> float:
    """The packets a run of ``duration_ps`` would send (:func:`packets_per_source`, each
    source's count times its mean bitrate scale under the alarms ``scale_changes``, which
    counts a camera's per-frame packet as scaled too: a little high), summed; a
    :class:`ScenarioError` when they exceed :data:`MAX_PACKETS`."""
    per_source = packets_per_source(plan, duration_ps)
    per_source = per_source * mean_scales(len(per_source), duration_ps, scale_changes)
    total = float(per_source.sum())
    if total <= MAX_PACKETS:
        return total
    by_group: dict[str, float] = {}
    for i, packets in enumerate(per_source):
        name = plan.group_names[int(plan.sources.group[i])]
        by_group[name] = by_group.get(name, 0.0) + float(packets)
    top = sorted(by_group.items(), key=lambda kv: -kv[1])[:3]
    most = ", ".join(f"{name!r} {packets:.3g}" for name, packets in top)
    raise ScenarioError(
        Problem(
            "simulation.duration",
            f"about {total:.3g} packets would be simulated in {format_time(duration_ps)} "
            f"(most from {most}); expected at most {MAX_PACKETS:.0e} packets in a run: "
            "a shorter duration, fewer sources or lower rates",
        )
    )
