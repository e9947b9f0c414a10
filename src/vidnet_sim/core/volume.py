"""How much a run would simulate, judged before it starts.

Each source's packets are counted the way ``traffic/generate.py`` sends them: a camera's
frames (I- and P-frames apart) and a cbr source's packets whose times fall while it is on,
a frame's mean packets exact for its lognormal size, an ``onoff`` source's on periods (a
Pareto sojourn's mean cut at the run's length: with a shape near 1 most sojourns are far
shorter than the mean), a Poisson source's mean rate, a trace's rows. A run of more than
:data:`~vidnet_sim.scenario.bounds.MAX_PACKETS` is refused with the figure, the limit and the
groups sending the most, before any engine is built; so is a run whose busiest window would
hold more than :data:`~vidnet_sim.scenario.bounds.MAX_WINDOW_PACKETS` (a window's packets are
in memory together). ``tests/test_volume.py`` checks the counts against the generator's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.layouts import parent_positions
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.scenario.bounds import MAX_PACKETS, MAX_WINDOW_PACKETS, MIN_WINDOW_PS
from vidnet_sim.scenario.units import count_words, duration_words
from vidnet_sim.traffic.behaviour import motion_frames, motion_share, night_levels
from vidnet_sim.traffic.modulation import SOJOURN_CAP_PS
from vidnet_sim.traffic.packets import mean_frame_packets
from vidnet_sim.traffic.rows import (
    BEH_DAY_NIGHT,
    KIND_BURST,
    KIND_CAMERA,
    KIND_CBR,
    KIND_ONOFF,
    KIND_POISSON,
    KIND_TRACE,
    PS_PER_S,
)
from vidnet_sim.traffic.sources import SourceTable

__all__ = [
    "ScaleChange",
    "burst_packets",
    "check_volume",
    "feeder_runs",
    "mean_scales",
    "most_onoff_packets",
    "packet_rates",
    "packets_per_source",
    "peak_scales",
    "position_parents",
    "position_rates",
    "window_packets",
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
    start, stop = plan.sources.spans_ps(duration_ps)
    return np.asarray((stop - start) / PS_PER_S, np.float64)


def _ticks(
    anchor_ps: npt.NDArray[np.float64],
    period_ps: npt.NDArray[np.float64],
    t_ps: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """How many of the times ``anchor + floor(k x period)``, ``k = 0, 1, ...``, fall before
    ``t_ps`` (a camera's frames, a cbr source's packets): ``ceil((t - anchor) / period)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.ceil(np.maximum(t_ps - anchor_ps, 0.0) / period_ps), np.float64)


def _camera_packets(
    s: SourceTable, start_ps: npt.NDArray[np.int64], stop_ps: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """The mean packets each camera sends in ``[start, stop)``: frame ``k`` at
    ``anchor + k / fps`` (:func:`_ticks`), an I-frame when ``(k + gop_offset) % gop == 0``
    (counted exactly: a run shorter than a GOP may hold only an I-frame), each frame cut
    into ``⌈size / max_payload⌉`` packets, their mean exact for its lognormal size
    (:func:`~vidnet_sim.traffic.packets.mean_frame_packets`; ``size / max_payload + ½``
    averaged over a frame was up to 0.7 packets a frame high for frames of one packet).
    Behaviour (``traffic/behaviour.py``) mixes the frames' laws: idle and in motion (its
    share of time, its ``bitrate_scale``, and with a motion ``gop`` each state's GOP,
    P-frame mean and share of I-frames), by day and at night (the night's share of
    ``[start, stop)``, ``night_scale``), the I-frames at least those counted from the GOP
    offset (a run shorter than a stay). Where a GOP may change (motion, alarms) the count
    is at least that of I-frames once a GOP."""
    n = len(s)
    anchor = np.asarray(s.anchor_ps, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame_ps = np.asarray(s.fps_den, np.float64) * PS_PER_S / np.asarray(s.fps_num)
    first = _ticks(anchor, frame_ps, start_ps.astype(np.float64))
    end = np.maximum(_ticks(anchor, frame_ps, stop_ps.astype(np.float64)), first)
    frames = end - first
    gop = np.maximum(np.asarray(s.gop, np.float64), 1.0)
    offset = np.asarray(s.gop_offset, np.float64) - 1.0
    i_frames = np.floor((end + offset) / gop) - np.floor((first + offset) / gop)
    with np.errstate(divide="ignore", invalid="ignore"):
        counted = np.where(frames > 0, i_frames / frames, 0.0)  # the I-frames' share
    moving = motion_frames(s)
    in_motion = motion_share(s)
    state_scale = np.stack([np.ones(n), np.asarray(s.motion_scale, np.float64)], axis=1)
    night = night_levels(s, start_ps, stop_ps).night_share
    night_scale = np.where(
        (np.asarray(s.beh_flags) & BEH_DAY_NIGHT) != 0, np.asarray(s.dn_night_scale), 1.0
    )
    ratio = np.asarray(s.ip_ratio, np.float64)
    sigmas = (np.asarray(s.i_sigma, np.float64), np.asarray(s.p_sigma, np.float64))
    mp = np.maximum(np.asarray(s.max_payload, np.int64), 1)
    per_frame = np.zeros(n)  # by the I-frames counted
    per_gop = np.zeros(n)  # at one I-frame a GOP
    restarts = moving.gop[:, 1] != moving.gop[:, 0]  # a motion gop: GOPs restart at changes
    for k, w_state in ((0, 1.0 - in_motion), (1, in_motion)):
        # (a run shorter than a stay: at least the I-frames counted from the GOP offset)
        share = np.where(restarts, np.maximum(moving.i_share[:, k], counted), counted)
        for level, w_level in ((1.0, 1.0 - night), (night_scale, night)):
            p_mean = moving.p_mean[:, k] * state_scale[:, k] * level
            i_packets = _mean_packets(p_mean * ratio, sigmas[0], mp)
            p_packets = _mean_packets(p_mean, sigmas[1], mp)
            w = w_state * w_level
            per_frame += w * (share * i_packets + (1.0 - share) * p_packets)
            per_gop += w * (i_packets + (moving.gop[:, k] - 1.0) * p_packets) / moving.gop[:, k]
    return np.asarray(frames * np.maximum(per_frame, per_gop), np.float64)


def _mean_packets(
    mean: npt.NDArray[np.float64], sigma: npt.NDArray[np.float64], mp: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """:func:`~vidnet_sim.traffic.packets.mean_frame_packets` of each ``(mean, sigma,
    mp)``, once per distinct triple (a group's cameras share them)."""
    if len(mean) == 0:
        return np.zeros(0)
    order = np.lexsort((mp, sigma, mean))  # (np.unique by rows sorts 10x slower)
    m, sg, p = mean[order], sigma[order], mp[order]
    new = np.ones(len(order), np.bool_)
    new[1:] = (np.diff(m) != 0) | (np.diff(sg) != 0) | (np.diff(p) != 0)
    firsts = np.flatnonzero(new)
    values = [mean_frame_packets(float(m[i]), float(sg[i]), int(p[i])) for i in firsts]
    out = np.empty(len(order))
    out[order] = np.repeat(values, np.diff(np.append(firsts, len(order))))
    return out


def _sojourn_mean(
    mean_ps: npt.NDArray[np.float64], shape: npt.NDArray[np.float64], t_ps: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The mean of ``min(X, t)`` for a sojourn ``X`` of the modulating process
    (``traffic/modulation.py``): exponential of mean ``mean`` (shape 0) or Pareto of shape
    ``a`` and minimum ``x_m = mean (a - 1) / a``, ``x_m (1 + (1 - (x_m / t)^(a-1)) / (a - 1))``
    (``t`` when ``t <= x_m``). Cut at ``t`` because a renewal process counts its sojourns in
    a run of ``t`` by their length there: with a shape near 1 the plain mean (dominated by
    sojourns far longer than any run) would count several times too few."""
    t = np.minimum(t_ps, SOJOURN_CAP_PS)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = np.where(shape > 1.0, shape, 2.0)
        x_m = mean_ps * (a - 1.0) / a
        pareto = x_m * (1.0 + (1.0 - (x_m / t) ** (a - 1.0)) / (a - 1.0))
        pareto = np.where(t <= x_m, t, pareto)
        expo = mean_ps * -np.expm1(-t / mean_ps)
    return np.asarray(np.where(shape > 1.0, pareto, expo), np.float64)


def _onoff_packets(s: SourceTable, on_ps: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The packets an ``onoff`` source sends while on for ``on_ps``: one at the start of
    each on period and one per ``interval`` after it, ``ceil(on / interval)`` per on period
    (at most ``on / interval + 1``), over as many on/off cycles as fit (each sojourn's mean
    cut at ``on_ps``: :func:`_sojourn_mean`)."""
    on = _sojourn_mean(np.asarray(s.mod_mean1_ps, np.float64), np.asarray(s.mod_shape1), on_ps)
    off = _sojourn_mean(np.asarray(s.mod_mean0_ps, np.float64), np.asarray(s.mod_shape0), on_ps)
    interval = np.maximum(np.asarray(s.interval_ps, np.float64), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cycles = on_ps / (on + off)
    return np.asarray(np.where(on_ps > 0, cycles * (on / interval + 1.0), 0.0), np.float64)


def most_onoff_packets(plan: NetworkPlan, duration_ps: int) -> npt.NDArray[np.float64]:
    """An upper bound of the packets each ``onoff`` source sends in a run of
    ``duration_ps`` (0 for other sources), whatever its periods turn out to be: an on period
    of ``L`` sends ``⌈L/iv⌉ ≤ L/iv + 1`` packets, so at most ``time on / iv`` plus one per on
    period, and the on periods that begin in the time on are at most ``time on / (x_on +
    x_off) + 1`` (each on/off cycle lasts at least the two Pareto minimums ``x = μ (a −
    1)/a``). Exponential periods have no minimum; their count of cycles, a renewal count of
    finite variance, is taken at twice its mean plus 100 (it exceeds that with a vanishing
    probability). Unlike :func:`packets_per_source`, not a mean: a heavy-tailed on period
    (shapes near 1) may make one run send many times its mean count."""
    s = plan.sources
    kind = np.asarray(s.kind)
    start, stop = s.spans_ps(duration_ps)
    on = (stop - start).astype(np.float64)
    means = np.asarray(s.mod_mean0_ps, np.float64), np.asarray(s.mod_mean1_ps, np.float64)
    shapes = np.asarray(s.mod_shape0, np.float64), np.asarray(s.mod_shape1, np.float64)
    pareto = (shapes[0] > 1.0) & (shapes[1] > 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        least = sum(
            np.where(a > 1.0, m * (a - 1.0) / np.where(a > 1.0, a, 1.0), 0.0)
            for m, a in zip(means, shapes, strict=True)
        )
        cycles = np.where(
            pareto & (least > 0), on / least + 1.0, 2.0 * on / (means[0] + means[1]) + 100.0
        )
        packets = on / np.maximum(np.asarray(s.interval_ps, np.float64), 1.0) + cycles
    return np.asarray(np.where(kind == KIND_ONOFF, np.nan_to_num(packets, nan=np.inf), 0.0))


def packets_per_source(plan: NetworkPlan, duration_ps: int) -> npt.NDArray[np.float64]:
    """The mean number of packets each source sends in a run of ``duration_ps`` (every
    destination's copy counted, a multicast tree once; bitrate scale 1), counted the way
    ``traffic/generate.py`` sends them: a camera's frames and a cbr source's packets are the
    ones whose times fall in the source's time on (a run of 1 ps sends a camera's first frame
    whole), an ``onoff`` source's its on periods' (:func:`_onoff_packets`)."""
    s = plan.sources
    n = len(s)
    if n == 0:
        return np.zeros(0)
    kind = np.asarray(s.kind)
    on_s = _on_seconds(plan, duration_ps)
    start_ps, stop_ps = s.spans_ps(duration_ps)
    start, stop = start_ps.astype(np.float64), stop_ps.astype(np.float64)
    anchor = np.asarray(s.anchor_ps, np.float64)
    rate = np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        # mean gaps (poisson, bursts)
        gap = np.asarray(s.mean_gap_ps, np.float64)
        per_gap = np.where(kind == KIND_BURST, np.asarray(s.burst_packets, np.float64), 1.0)
        rate = np.where(
            (kind == KIND_POISSON) | (kind == KIND_BURST), per_gap * PS_PER_S / gap, rate
        )
    packets = np.nan_to_num(rate, posinf=0.0) * on_s
    # cameras: the I- and P-frames in their time on, each (mean size / payload + 1) packets
    packets = np.where(kind == KIND_CAMERA, _camera_packets(s, start_ps, stop_ps), packets)
    # cbr: the packets in its time on; onoff: its on periods'
    interval = np.maximum(np.asarray(s.interval_ps, np.float64), 1.0)
    cbr = _ticks(anchor, interval, stop) - _ticks(anchor, interval, start)
    packets = np.where(kind == KIND_CBR, cbr, packets)
    packets = np.where(kind == KIND_ONOFF, _onoff_packets(s, on_s * PS_PER_S), packets)
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
    back to back: a camera's I-frame (``ip_ratio`` mean P-frames, its mean packets exact:
    :func:`~vidnet_sim.traffic.packets.mean_frame_packets`), a burst source's
    ``burst_packets``, one packet for the others."""
    s = plan.sources
    kind = np.asarray(s.kind)
    i_frame = np.asarray(s.p_mean_bytes, np.float64) * np.asarray(s.ip_ratio, np.float64)
    mp = np.maximum(np.asarray(s.max_payload, np.int64), 1)
    camera = kind == KIND_CAMERA
    per_i = np.ones(len(s))
    per_i[camera] = _mean_packets(i_frame[camera], np.asarray(s.i_sigma)[camera], mp[camera])
    burst = np.where(kind == KIND_BURST, np.asarray(s.burst_packets, np.float64), 1.0)
    return np.asarray(np.where(camera, per_i, np.maximum(burst, 1.0)), np.float64)


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
    return parent_positions(plan.pos_first_child, plan.pos_sibling)


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


def peak_scales(
    n: int, changes: Iterable[ScaleChange], duration_ps: int | None = None
) -> npt.NDArray[np.float64]:
    """Each of ``n`` sources' largest bitrate scale under the alarms ``changes`` (at least 1)
    that take effect in a run of ``duration_ps`` (one at or after its end sends nothing;
    every change when ``None``)."""
    peak = np.ones(n)
    for t, sources, scale in changes:
        if duration_ps is None or t < duration_ps:
            peak[sources] = np.maximum(peak[sources], scale)
    return peak


def _most(plan: NetworkPlan, per_source: npt.NDArray[np.float64]) -> str:
    """The three groups sending the most of ``per_source``, with their figures."""
    by_group: dict[str, float] = {}
    for i, packets in enumerate(per_source):
        name = plan.group_names[int(plan.sources.group[i])]
        by_group[name] = by_group.get(name, 0.0) + float(packets)
    top = sorted(by_group.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{name!r} {count_words(packets)}" for name, packets in top)


def window_packets(
    plan: NetworkPlan, duration_ps: int, window_ps: int, scale_changes: Iterable[ScaleChange] = ()
) -> npt.NDArray[np.float64]:
    """Each source's packets in its busiest window of ``window_ps`` (at most the run): its
    packets of the run (:func:`packets_per_source`) in proportion to the window, plus its
    largest burst (:func:`burst_packets`: a camera's I-frame) whole, times its peak bitrate
    scale (:func:`peak_scales`), every copy counted."""
    per_source = packets_per_source(plan, duration_ps)
    return _in_window(plan, per_source, duration_ps, window_ps, list(scale_changes))


def _in_window(
    plan: NetworkPlan,
    per_source: npt.NDArray[np.float64],
    duration_ps: int,
    window_ps: int,
    changes: list[ScaleChange],
) -> npt.NDArray[np.float64]:
    """:func:`window_packets` from the run's ``per_source`` packets."""
    window = min(window_ps, duration_ps)
    share = window / duration_ps if duration_ps > 0 else 1.0
    burst = burst_packets(plan) * _copies(plan)
    peak = peak_scales(len(per_source), changes, duration_ps)
    return np.asarray((per_source * share + np.where(per_source > 0, burst, 0.0)) * peak)


def check_volume(
    plan: NetworkPlan,
    duration_ps: int,
    scale_changes: Iterable[ScaleChange] = (),
    window_ps: int | None = None,
) -> float:
    """The packets a run of ``duration_ps`` would send (:func:`packets_per_source`, each
    source's count times its mean bitrate scale under the alarms ``scale_changes``, which
    counts a camera's per-frame packet as scaled too: a little high), summed; a
    :class:`ScenarioError` when they exceed :data:`MAX_PACKETS`, or when, with
    ``window_ps``, the packets of one window (:func:`window_packets`) exceed
    :data:`MAX_WINDOW_PACKETS`."""
    changes = list(scale_changes)
    sent = packets_per_source(plan, duration_ps)
    per_source = sent * mean_scales(len(sent), duration_ps, changes)
    total = float(per_source.sum())
    if total > MAX_PACKETS:
        raise ScenarioError(
            Problem(
                "simulation.duration",
                f"about {count_words(total)} packets would be simulated in "
                f"{duration_words(duration_ps)} (most from {_most(plan, per_source)}); expected "
                f"at most {count_words(MAX_PACKETS)} packets in a run: a shorter duration, "
                "fewer sources or lower rates",
            )
        )
    if window_ps is None:
        return total
    in_window = _in_window(plan, sent, duration_ps, window_ps, changes)
    most = float(in_window.sum())
    if most > MAX_WINDOW_PACKETS:
        window = duration_words(min(window_ps, duration_ps))
        shortest = _in_window(plan, sent, duration_ps, MIN_WINDOW_PS, changes).sum()
        shorter = (
            f"a shorter window (at least {duration_words(MIN_WINDOW_PS)}), "
            if shortest <= MAX_WINDOW_PACKETS
            else ""
        )
        raise ScenarioError(
            Problem(
                "simulation.window",
                f"about {count_words(most)} packets would be held at once in a window of "
                f"{window} (most from {_most(plan, in_window)}); expected at most "
                f"{count_words(MAX_WINDOW_PACKETS)} packets in a window (they are all in memory "
                f"together): {shorter}fewer sources, lower rates or larger packets "
                "(max_payload)",
            )
        )
    return total
