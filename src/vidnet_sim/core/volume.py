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

__all__ = [
    "ScaleChange",
    "burst_packets",
    "check_volume",
    "feeder_runs",
    "mean_scales",
    "packet_rates",
    "packets_per_source",
    "position_parents",
    "position_rates",
]

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


def _on_seconds(plan: NetworkPlan, duration_ps: int) -> npt.NDArray[np.float64]:
    """How long each source is on in ``[0, duration_ps)``, in seconds."""
    s = plan.sources
    start = np.minimum(np.asarray(s.start_ps, np.float64), duration_ps)
    stop = np.asarray(s.stop_ps, np.float64)
    stop = np.where(stop < 0, duration_ps, np.minimum(stop, duration_ps))
    return np.asarray(np.maximum(stop - start, 0.0) / PS_PER_S, np.float64)


def packets_per_source(plan: NetworkPlan, duration_ps: int) -> npt.NDArray[np.float64]:
    """The mean number of packets each source sends in a run of ``duration_ps`` (every
    destination's copy counted, a multicast tree once; bitrate scale 1)."""
    s = plan.sources
    n = len(s)
    if n == 0:
        return np.zeros(0)
    kind = np.asarray(s.kind)
    on_s = _on_seconds(plan, duration_ps)
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
    return np.nan_to_num(packets * _copies(plan), nan=np.inf, posinf=np.inf)


def _copies(plan: NetworkPlan) -> npt.NDArray[np.float64]:
    """The copies of each packet a source sends: one per destination, a multicast tree's
    once."""
    s = plan.sources
    n = len(s)
    multicast = s.multicast if len(s.multicast) == n else np.zeros(n, np.bool_)
    return np.array(
        [1 if bool(multicast[i]) else max(1, len(s.destinations[i])) for i in range(n)],
        np.float64,
    )


def packet_rates(plan: NetworkPlan, duration_ps: int) -> npt.NDArray[np.float64]:
    """Each source's mean packets per second while it is on in a run of ``duration_ps``
    (:func:`packets_per_source` over its time on; 0 for a source never on, every copy
    counted)."""
    on_s = _on_seconds(plan, duration_ps)
    per_source = packets_per_source(plan, duration_ps)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(on_s > 0, per_source / on_s, 0.0)
    return np.asarray(np.nan_to_num(rates, nan=0.0, posinf=0.0), np.float64)


def burst_packets(plan: NetworkPlan) -> npt.NDArray[np.float64]:
    """The packets of each source's largest burst on average, all released at once or
    back to back: a camera's I-frame (``ip_ratio`` mean P-frames cut into ``max_payload``
    packets), a burst source's ``burst_packets``, one packet for the others."""
    s = plan.sources
    kind = np.asarray(s.kind)
    i_frame = np.asarray(s.p_mean_bytes, np.float64) * np.asarray(s.ip_ratio, np.float64)
    per_i = i_frame / np.maximum(np.asarray(s.max_payload, np.float64), 1.0) + 1.0
    burst = np.where(kind == KIND_BURST, np.asarray(s.burst_packets, np.float64), 1.0)
    return np.asarray(np.where(kind == KIND_CAMERA, per_i, np.maximum(burst, 1.0)), np.float64)


def position_rates(
    plan: NetworkPlan, per_source: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every position below a root in the trees' first layouts, the tree it belongs to, and
    each tree's packets per second, for sources sending ``per_source`` packets per second
    (every copy counted: spread evenly over each source's trees)."""
    n_trees = np.diff(plan.source_tree_start).astype(np.float64)
    tree_rate = per_source[plan.tree_source] / np.maximum(n_trees[plan.tree_source], 1.0)
    tree_rate = np.nan_to_num(tree_rate, posinf=0.0)
    roots = plan.tree_pos0.astype(np.int64)
    sizes = plan.pos_end[roots].astype(np.int64) - roots - 1  # positions below each root
    tree = np.repeat(np.arange(len(roots)), sizes)
    starts = np.cumsum(sizes) - sizes
    pos = roots[tree] + 1 + np.arange(int(sizes.sum())) - starts[tree]
    return pos, tree, np.asarray(tree_rate, np.float64)


def position_parents(plan: NetworkPlan) -> npt.NDArray[np.int64]:
    """Each position's parent position in its tree (-1 for a root)."""
    n = len(plan.pos_link)
    parent = np.full(n, -1, np.int64)
    first = plan.pos_first_child.astype(np.int64)
    has = np.flatnonzero(first >= 0)
    parent[first[has]] = has
    sib = plan.pos_sibling.astype(np.int64)
    with_sib = np.flatnonzero(sib >= 0)
    while True:  # a sibling's parent is its elder sibling's (chains as long as a fan-out)
        todo = with_sib[(parent[with_sib] >= 0) & (parent[sib[with_sib]] < 0)]
        if len(todo) == 0:
            break
        parent[sib[todo]] = parent[todo]
    return parent


def feeder_runs(plan: NetworkPlan) -> npt.NDArray[np.float64]:
    """Per link, the runs a window opens in its inbox in the trees' first layouts: one per
    link feeding it and one per tree injected at it (the inputs its merge interleaves)."""
    n = plan.n_links
    pos, tree, _ = position_rates(plan, np.zeros(len(plan.sources)))
    at = plan.pos_link[pos].astype(np.int64)
    feeder = plan.pos_link[position_parents(plan)[pos]].astype(np.int64)
    owner = np.where(feeder >= 0, feeder, n + tree)  # a link, or a tree injected here
    span = n + len(plan.tree_pos0)
    pairs = np.unique(at * span + owner)
    return np.asarray(np.bincount(pairs // span, minlength=n), np.float64)


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
