"""Camera behaviour over time: several streams per camera, motion, day/night, alarm GOPs.

Oracles: the model's own definitions checked on the generated frames — the long-run fraction
of time in motion of a two-state Markov process (``motion_mean / (idle_mean +
motion_mean)``), the mean bitrate over a GOP (``bitrate_scale x bitrate``), I-frame spacing
(``gop`` frames, a new GOP at each change), the night multiplier on exactly the frames
captured at night; the plain GOP loop against the behaviour loop with neutral settings
(packet for packet); windowed against one-shot generation with state changes; the timeline's
alarm GOP through ``scenario_actions``; after an alarm's GOP, the rate over the first ``m``
frames of the restarted GOP (one I-frame, ``m - 1`` P-frames) and over whole GOPs (the
bitrate, within the lognormal sizes' sampling spread); the core against the SimPy reference
packet for packet through an alarm with a GOP.
"""

from __future__ import annotations

import copy
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from test_services import BASE, all_on, windowed
from vidnet_sim.errors import ScenarioError
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.reference import stats_differences
from vidnet_sim.runner import run
from vidnet_sim.scenario import default_bitrate_bps, parse_scenario_dict
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.timeline.driver import scenario_actions
from vidnet_sim.traffic.generate import G_FRAME, G_PAYLOAD, G_T, generate
from vidnet_sim.traffic.sources import SourceState, p_mean_bytes

S = 10**12
MS = 10**9
H = 3600 * S


def cameras(*groups: dict[str, Any], **top: Any) -> Scenario:
    data = copy.deepcopy(BASE)
    data["cameras"] = [
        {"name": "north", "count": 1, "attach": "site", "destinations": ["cc"], **g}
        for g in copy.deepcopy(groups)
    ]
    data.update(copy.deepcopy(top))
    return parse_scenario_dict(data)


def frames(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(frame index, capture time, payload bytes)`` of each frame of one source."""
    k, first = np.unique(rows[:, G_FRAME], return_index=True)
    size = np.bincount(np.searchsorted(k, rows[:, G_FRAME]), weights=rows[:, G_PAYLOAD])
    return k, rows[first, G_T], size.astype(np.int64)


def i_frames(size: np.ndarray, p_max: float) -> np.ndarray:
    """Indices of the frames bigger than any P-frame can be (exact sizes: cbr control)."""
    return np.flatnonzero(size > p_max)


CBR = {
    "rate_control": "cbr",
    "bitrate": "2Mbps",
    "fps": 10,
    "gop": 20,
    "ip_ratio": 8.0,
    "max_payload": "1400B",
}
#: one frame a second, every frame an I-frame of 250 000 B sent as one packet
ONE_FPS = {**CBR, "fps": 1, "gop": 1, "ip_ratio": 1.0, "max_payload": "1MB", "phase": "aligned"}


# --------------------------------------------------------------------------- streams
def test_streams_are_groups_sharing_the_camera_node() -> None:
    sc = cameras(
        {
            "count": 3,
            "streams": [
                {"name": "rec"},
                {
                    "name": "live",
                    "resolution": "VGA",
                    "fps": 7,
                    "class": "live",
                    "multicast": True,
                    "destinations": ["cc", "gw"],
                },
            ],
        },
        {"name": "south", "count": 2},
    )
    plan = build_plan(sc)
    assert plan.group_names == ["north/rec", "north/live", "south"]
    assert plan.group_classes == ["video", "live", "video"]
    src = plan.sources
    assert src.names[:4] == ["north[0]/rec", "north[0]/live", "north[1]/rec", "north[1]/live"]
    assert src.origin_nodes[:6] == [
        "north[0]",
        "north[0]",
        "north[1]",
        "north[1]",
        "north[2]",
        "north[2]",
    ]
    assert src.destinations[1] == ["cc", "gw"] and bool(src.multicast[1])
    assert src.destinations[0] == ["cc"] and not bool(src.multicast[0])
    # the live stream: 640x360-class VGA at 7 fps, its default bitrate and one I-frame per s
    assert (int(src.fps_num[1]), int(src.fps_den[1]), int(src.gop[1])) == (7, 1, 7)
    bitrate = default_bitrate_bps("h264", "VGA", 7)
    assert src.p_mean_bytes[1] == pytest.approx(p_mean_bytes(bitrate, Fraction(7), 7, 10.0))
    # one access link per camera, shared by its streams
    assert sum(1 for n in plan.link_names if n.startswith("north[")) == 3


def test_the_timeline_switches_and_scales_every_stream_of_a_group() -> None:
    sc = cameras(
        {"count": 2, "start": "1s", "streams": [{"name": "a"}, {"name": "b"}]},
        events=[
            {
                "kind": "alarm",
                "targets": ["north"],
                "at": "2s",
                "duration": "1s",
                "bitrate_scale": 2.0,
            }
        ],
    )
    plan = build_plan(sc)
    acts = {a.label: a for a in scenario_actions(sc, plan)}
    assert sorted(acts["north starts"].sources.tolist()) == [0, 1, 2, 3]
    assert sorted(acts["alarm on north"].sources.tolist()) == [0, 1, 2, 3]


# --------------------------------------------------------------------------- motion
def test_fraction_of_time_in_motion() -> None:
    idle, motion, scale = 10.0, 2.0, 3.0
    n_cams, seconds = 20, 4000
    sc = cameras(
        {
            **ONE_FPS,
            "count": n_cams,
            "motion": {
                "idle_mean": f"{idle:g}s",
                "motion_mean": f"{motion:g}s",
                "bitrate_scale": scale,
            },
        }
    )
    plan = build_plan(sc)
    out = generate(plan.sources, all_on(plan), 0, seconds * S)
    p = 2_000_000 / 8  # bytes per frame at 1 fps, every frame an I-frame
    sizes = np.concatenate([frames(o)[2] for o in out])
    assert set(np.unique(sizes).tolist()) == {round(p), round(p * scale)}
    fraction = float(np.mean(sizes == round(p * scale)))
    # two-state Markov process, rates a = 1/idle, b = 1/motion: time in motion b/(a+b) on
    # average, the time average over T having variance 2ab / (a+b)^3 / T
    a, b = 1 / idle, 1 / motion
    expected = a / (a + b)
    sd = math.sqrt(2 * a * b / (a + b) ** 3 / (n_cams * seconds))
    assert expected == pytest.approx(motion / (idle + motion))
    assert abs(fraction - expected) < 4 * sd


def motion_run(seconds: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sc = cameras(
        {
            **CBR,
            "motion": {"idle_mean": "20s", "motion_mean": "10s", "bitrate_scale": 2.5, "gop": 5},
        }
    )
    plan = build_plan(sc)
    (rows,) = generate(plan.sources, all_on(plan), 0, seconds * S)
    return frames(rows)


def test_motion_scales_the_bitrate_and_shortens_the_gop() -> None:
    k, _, size = motion_run()
    g, g2, r, fps, scale = 20, 5, 8.0, 10, 2.5
    p = p_mean_bytes(2_000_000, Fraction(fps), g, r)
    p2 = p * scale * g2 * (g - 1 + r) / (g * (g2 - 1 + r))  # same mean bitrate over g2 frames
    kinds = {
        round(p): "P idle",
        round(p * r): "I idle",
        round(p2): "P motion",
        round(p2 * r): "I motion",
    }
    assert set(np.unique(size).tolist()) == set(kinds)
    label = np.array([kinds[int(x)] for x in size])
    in_motion = np.char.endswith(label.astype(str), "motion")
    is_i = np.char.startswith(label.astype(str), "I")
    assert 0.2 < in_motion.mean() < 0.5
    # a GOP starts (I-frame) at the first frame of every state change ...
    change = np.flatnonzero(np.diff(in_motion.astype(int)) != 0) + 1
    assert len(change) > 20 and is_i[change].all()
    # ... and I-frames come every g frames when idle, every g2 in motion
    for a, b in zip(np.concatenate([[0], change]), np.concatenate([change, [len(k)]]), strict=True):
        gap = g2 if in_motion[a] else g
        where = np.flatnonzero(is_i[a:b])
        if a > 0 or in_motion[0]:  # a new GOP at the change; at 0 idle keeps its phase
            assert where[0] == 0
        assert where[0] < gap and set(np.diff(where).tolist()) <= {gap}
    # the bitrate over a whole motion GOP is bitrate_scale x bitrate (within rounding)
    starts = [
        i
        for i in np.flatnonzero(is_i & in_motion)
        if i + g2 <= len(k) and in_motion[i : i + g2].all() and not is_i[i + 1 : i + g2].any()
    ]
    assert starts
    for i in starts[:50]:
        bits = 8 * int(size[i : i + g2].sum())
        assert bits * fps / g2 == pytest.approx(scale * 2_000_000, abs=8 * g2 * fps)


def test_every_stream_of_a_camera_sees_the_same_motion() -> None:
    sc = cameras(
        {
            **CBR,
            "gop": 1,
            "ip_ratio": 1.0,
            "phase": "aligned",
            "count": 2,
            "streams": [{"name": "rec"}, {"name": "low", "fps": 5, "bitrate": "500kbps"}],
            "motion": {"idle_mean": "5s", "motion_mean": "5s", "bitrate_scale": 2.0},
        }
    )
    plan = build_plan(sc)
    out = generate(plan.sources, all_on(plan), 0, 120 * S)

    def motion(s: int) -> dict[int, bool]:
        """Capture time -> in motion (motion frames have twice the idle frame's bytes)."""
        _, t, size = frames(out[s])
        return {int(x): bool(y > 1.5 * size.min()) for x, y in zip(t, size, strict=True)}

    cam0, low0, cam1 = motion(0), motion(1), motion(2)
    assert set(low0) < set(cam0)  # aligned: the 5 fps frames are at 10 fps frame times
    assert all(cam0[t] == m for t, m in low0.items())
    assert 0.3 < np.mean(list(low0.values())) < 0.7
    assert any(cam1[t] != m for t, m in cam0.items())  # another camera, another process


# --------------------------------------------------------------------------- day / night
def test_night_multiplier_on_exactly_the_night_frames() -> None:
    sc = cameras(
        {
            **ONE_FPS,
            "day_night": {
                "day_start": "7h",
                "night_start": "19h",
                "night_scale": 1.5,
                "time_of_day_at_start": "6.99h",
            },
        }
    )
    plan = build_plan(sc)
    (rows,) = generate(plan.sources, all_on(plan), 0, 12 * H + 3600 * S // 50)
    _, t, size = frames(rows)
    tod = (int(6.99 * 3600) * S + t) % (24 * H)
    night = (tod < 7 * H) | (tod >= 19 * H)
    p = 2_000_000 / 8
    assert np.array_equal(size, np.where(night, round(p * 1.5), round(p)))
    assert night[0] and not night[36] and night[-1]  # 7h is day from 36 s, 19h is night
    assert tod[36] == 7 * H and tod[12 * 3600 + 36] == 19 * H


# --------------------------------------------------------------------------- alarm GOP
def test_alarm_gop_restarts_the_gop_and_restores_it() -> None:
    sc = cameras(
        {**CBR},
        events=[
            {
                "kind": "alarm",
                "targets": ["north"],
                "at": "10s",
                "duration": "5s",
                "bitrate_scale": 2.0,
                "gop": 4,
            }
        ],
    )
    plan = build_plan(sc)
    state = all_on(plan)
    changes: dict[int, Any] = {}
    for act in scenario_actions(sc, plan):
        if act.label.startswith("alarm"):
            changes[act.t_ps] = act.apply
    (rows,) = windowed(plan, state, [10 * S, 15 * S, 30 * S], changes)
    _, t, size = frames(rows)
    p = p_mean_bytes(2_000_000, Fraction(10), 20, 8.0)
    is_i = i_frames(size, 3 * p)  # P-frames: p, or 2 p x 4 x 27 / (20 x 11) in the alarm
    during = (t >= 10 * S) & (t < 15 * S)
    first_alarm, first_after = int(np.argmax(during)), int(np.argmax(t >= 15 * S))
    before = is_i[is_i < first_alarm]
    assert set(np.diff(before).tolist()) == {20}
    alarm = is_i[(is_i >= first_alarm) & (is_i < first_after)]
    assert alarm[0] == first_alarm and set(np.diff(alarm).tolist()) == {4}
    after = is_i[is_i >= first_after]
    assert after[0] == first_after and set(np.diff(after).tolist()) == {20}
    # the alarm's bitrate is bitrate_scale x the stream's, over its 4-frame GOPs
    bits = 8 * size[first_alarm : first_alarm + 48].sum()
    assert bits * 10 / 48 == pytest.approx(2.0 * 2_000_000, rel=1e-3)


def alarm_run(
    group: dict[str, Any], alarm: dict[str, Any], seconds: int
) -> tuple[NetworkPlan, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """``(plan, frames of each camera)``: the group ``north`` with ``alarm`` on it over
    ``[0, seconds)``, generated window by window with the timeline's alarm actions."""
    sc = cameras(group, events=[{"kind": "alarm", "targets": ["north"], **alarm}])
    plan = build_plan(sc)
    changes = {a.t_ps: a.apply for a in scenario_actions(sc, plan)}
    cuts = sorted({t for t in changes if 0 < t < seconds * S} | {seconds * S})
    return plan, [frames(rows) for rows in windowed(plan, all_on(plan), cuts, changes)]


def after_gop_reset(g: int, r: float, m: int) -> float:
    """The mean rate over the first ``m <= g`` frames of a GOP, in units of the stream's
    bitrate: one I-frame (``r`` P-frames) and ``m - 1`` P-frames, against the GOP's mean of
    ``(g - 1 + r) / g`` P-frames a frame."""
    return (r + m - 1) / m * g / (g - 1 + r)


def test_after_an_alarm_gop_the_rate_is_the_bitrate_from_the_first_whole_gop() -> None:
    """The transient after an alarm with ``gop``: each camera's first frame after the end
    is an I-frame starting its own GOP again (a stream change makes an encoder send an
    IDR), so the rate over the first ``m`` frames is ``after_gop_reset(g, r, m)`` times the
    bitrate (5.9 x over the first frame alone, falling as ``1 / m``) and exactly the
    bitrate over the first whole GOP and every GOP after, as before the alarm. The group's
    cameras restart together: their I-frames, spread over the GOP before the alarm, come
    within one frame period of each other after it. CBR rate control: exact frame sizes."""
    g, r, fps, bitrate = 20, 8.0, 10, 2_000_000
    alarm = {"at": "10s", "duration": "5s", "bitrate_scale": 2.0, "gop": 3}
    _, cams = alarm_run({**CBR, "count": 4}, alarm, 40)
    period = S // fps
    p = p_mean_bytes(bitrate, Fraction(fps), g, r)
    rounding = 0.5 / p  # frame sizes are whole bytes
    i_offsets: dict[str, list[int]] = {"before": [], "after": []}
    for _, t, size in cams:
        is_i = size > 3 * p
        first_i_before = int(np.argmax(is_i))
        i_offsets["before"].append(int(t[first_i_before]) % (g * period))
        end = int(np.searchsorted(t, 15 * S))
        assert 0 <= t[end] - 15 * S < period and is_i[end]  # the I-frame right after the end
        after = size[end:]
        assert np.flatnonzero(is_i[end:]).tolist() == list(range(0, len(after), g))
        for m in range(1, g + 1):
            rate = 8 * after[:m].sum() * fps / m / bitrate
            assert abs(rate - after_gop_reset(g, r, m)) < 2 * rounding, m
        assert after_gop_reset(g, r, g) == 1.0
        whole = len(after) // g * g
        rates = 8 * after[:whole].reshape(-1, g).sum(axis=1) * fps / g / bitrate
        assert np.abs(rates - 1).max() < rounding  # every GOP after the alarm: the bitrate
        before = size[first_i_before : first_i_before + 4 * g]
        assert 8 * before.sum() * fps / len(before) / bitrate == pytest.approx(1, abs=rounding)
        i_offsets["after"].append(int(t[end]) - 15 * S)
    # before: the group's GOPs start at random places; after: within one frame period
    assert np.ptp(i_offsets["before"]) > period and np.ptp(i_offsets["after"]) < period


def test_long_run_rate_after_an_alarm_gop_is_the_bitrate() -> None:
    """Default VBR cameras (lognormal frame sizes) at 4 Mbit/s, 25 fps, GOP 25: an alarm
    from 40 s to 60 s at 2.5 x with a GOP of 3; the mean rate over the 200 whole GOPs of
    each camera after the alarm (60 s to 260 s) is the bitrate, and the rate over the 40
    GOPs before it, within five standard deviations of the model's sampling spread."""
    n, g, r, fps, bitrate = 4, 25, 10.0, 25, 4_000_000
    sigma_p, sigma_i = 0.3, 0.04  # domain.md's defaults
    alarm = {"at": "40s", "duration": "20s", "bitrate_scale": 2.5, "gop": 3}
    plan, cams = alarm_run({"count": n, "bitrate": "4Mbps", "fps": fps}, alarm, 260)
    src = plan.sources
    assert (src.gop[0], src.ip_ratio[0], src.p_sigma[0], src.i_sigma[0]) == (g, r, sigma_p, sigma_i)
    p = p_mean_bytes(bitrate, Fraction(fps), g, r)

    def rate_and_bound(lo_s: int, hi_s: int) -> tuple[float, float]:
        """The group's mean rate / bitrate over the frames in ``[lo, hi)`` s (whole GOPs),
        and five standard deviations of it: frame sizes are independent lognormals with
        variance ``mean^2 (exp(sigma^2) - 1)``."""
        sizes = [size[(t >= lo_s * S) & (t < hi_s * S)] for _, t, size in cams]
        gops = sum(len(s) for s in sizes) / g
        assert gops == n * (hi_s - lo_s) * fps / g
        var_gop = (g - 1) * p**2 * math.expm1(sigma_p**2) + (r * p) ** 2 * math.expm1(sigma_i**2)
        sd = math.sqrt(gops * var_gop) / (gops * (g - 1 + r) * p)
        rate = 8 * sum(int(s.sum()) for s in sizes) / (n * (hi_s - lo_s)) / bitrate
        return rate, 5 * sd

    before, bound_before = rate_and_bound(0, 40)
    after, bound_after = rate_and_bound(60, 260)
    assert bound_after < 0.01
    assert abs(after - 1) < bound_after, (after, bound_after)
    assert abs(before - 1) < bound_before, (before, bound_before)
    assert abs(after - before) < math.hypot(bound_after, bound_before)


def test_an_alarm_gop_core_equals_reference() -> None:
    """Six 8 Mbit/s cameras on a 100 Mbit/s uplink with a 256 KiB buffer, an alarm at
    3 x with a GOP of 3 from 1050 to 1550 ms (the uplink overloaded: drops), 37 ms windows:
    the core's packets are the SimPy reference's, one by one, through the timeline. The
    epochs before (1 s) and after the alarm (2 s) hold whole GOPs: they send at one rate."""
    data = copy.deepcopy(BASE)
    data["simulation"] = {"duration": "3550ms", "warmup": "50ms", "window": "37ms"}
    data["links"] = [
        {"a": "site", "b": "core", "rate": "100Mbps", "buffer": "256KiB"},
        {"a": "core", "b": "cc", "rate": "1Gbps"},
    ]
    data["nodes"] = data["nodes"][:3]
    data["cameras"] = [
        {"name": "north", "count": 6, "attach": "site", "bitrate": "8Mbps", "destinations": ["cc"]}
    ]
    data["events"] = [
        {
            "kind": "alarm",
            "targets": ["north"],
            "at": "1050ms",
            "duration": "500ms",
            "bitrate_scale": 3.0,
            "gop": 3,
        }
    ]
    sc = parse_scenario_dict(data)
    core = run(sc, write=False, packets=True)
    ref = run(sc, write=False, packets=True, engine="reference")
    assert stats_differences(core.stats, ref.stats) == []
    assert core.packets is not None and ref.packets is not None
    assert len(core.packets) > 0 and core.packets.equals(ref.packets)
    assert core.stats.packets_dropped.sum() > 0
    sent = core.stats.epoch_sent[:, 0] / np.array([1000, 500, 2000])
    assert sent[1] > 2 * sent[0] and abs(sent[2] / sent[0] - 1) < 0.1, sent


# --------------------------------------------------------------------------- exactness
def test_neutral_behaviour_equals_the_plain_gop_loop() -> None:
    vbr = {"bitrate": "3Mbps", "count": 4}
    plain = cameras(vbr)
    neutral = cameras(
        {
            **vbr,
            "motion": {"bitrate_scale": 1.0, "idle_mean": "1s", "motion_mean": "1s"},
            "day_night": {"night_scale": 1.0},
        }
    )
    a = build_plan(plain)
    b = build_plan(neutral)
    ga = generate(a.sources, all_on(a), 0, 5 * S)
    gb = generate(b.sources, all_on(b), 0, 5 * S)
    for x, y in zip(ga, gb, strict=True):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("seed", [0, 1])
def test_windowed_equals_one_shot_with_motion_night_and_alarm_gop(seed: int) -> None:
    sc = cameras(
        {
            "count": 3,
            "bitrate": "4Mbps",
            "streams": [{"name": "rec"}, {"name": "live", "fps": 7, "gop": 14}],
            "motion": {"idle_mean": "300ms", "motion_mean": "200ms", "gop": 6},
            "day_night": {"time_of_day_at_start": "18.9997h"},
        },
        events=[
            {"kind": "alarm", "targets": ["north"], "at": "700ms", "duration": "400ms", "gop": 3}
        ],
        simulation={"duration": "2s", "seed": seed},
    )
    plan = build_plan(sc)

    def changes_at(cuts: list[int]) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for act in scenario_actions(sc, plan):
            if act.label.startswith("alarm"):
                assert act.t_ps in cuts
                out[act.t_ps] = act.apply
        return out

    coarse = [700 * MS, 1100 * MS, 2 * S]
    rng = np.random.default_rng(seed)
    fine = sorted({int(x) for x in rng.integers(1, 2 * S, 15)} | set(coarse))
    a = windowed(plan, all_on(plan), coarse, changes_at(coarse))
    b = windowed(plan, all_on(plan), fine, changes_at(fine))
    for s, (x, y) in enumerate(zip(a, b, strict=True)):
        assert len(x) > 0 and np.array_equal(x, y), plan.sources.names[s]


def test_state_copy_keeps_the_behaviour_state() -> None:
    sc = cameras({**CBR, "motion": {"idle_mean": "1s", "motion_mean": "1s"}})
    plan = build_plan(sc)
    state = all_on(plan)
    generate(plan.sources, state, 0, 3 * S)
    copy_ = state.copy()
    assert isinstance(copy_, SourceState)
    assert copy_.mod_count[0] == state.mod_count[0] > 0 and copy_.gop_cur[0] == 20
    rest_a = generate(plan.sources, state, 3 * S, 6 * S)
    rest_b = generate(plan.sources, copy_, 3 * S, 6 * S)
    assert np.array_equal(rest_a[0], rest_b[0])


# --------------------------------------------------------------------------- bad input
def camera_problems(**group: Any) -> list[str]:
    data = copy.deepcopy(BASE)
    data["cameras"] = [
        {"name": "north", "count": 1, "attach": "site", "destinations": ["cc"], **group}
    ]
    with pytest.raises(ScenarioError) as info:
        parse_scenario_dict(data)
    return [str(p) for p in info.value.problems]


def test_motion_periods_shorter_than_a_millisecond_are_refused() -> None:
    """The generator steps through every idle and motion period between two frames: means of
    1 ps took over a minute per simulated 100 ms of one camera (a run that never ends); the
    state is read at frames, 4.2 ms apart at the most, so a mean under 1 ms is refused."""
    assert camera_problems(motion={"idle_mean": "999us", "motion_mean": "1ps"}) == [
        "cameras[0] (name=\"north\").motion.idle_mean: got '999us': must be at least '1ms'",
        "cameras[0] (name=\"north\").motion.motion_mean: got '1ps': must be at least '1ms'",
    ]
    cameras({"motion": {"idle_mean": "1ms", "motion_mean": "1ms"}})  # (accepted)


def test_bad_motion_and_day_night() -> None:
    assert camera_problems(
        streams=[{"name": "a", "destinations": ["ccc"]}],
        motion={"idle_mean": "0s", "bitrate_scale": 0},
        day_night={"day_start": "25h", "night_start": "19h"},
    ) == [
        "cameras[0] (name=\"north\").motion.idle_mean: got '0s': must be at least '1ms'",
        'cameras[0] (name="north").motion.bitrate_scale: got 0: must be greater than 0',
        'cameras[0] (name="north").day_night.day_start: must be a time of day below 24h, got 25h',
        "cameras[0] (name=\"north\").streams[0].destinations[0]: got 'ccc': no node has this "
        "id; did you mean 'cc'?",
    ]
    assert camera_problems(day_night={"day_start": "6h", "night_start": "6h"}) == [
        'cameras[0] (name="north").day_night.night_start: must differ from day_start (both 6h)'
    ]


def test_stream_names_are_unique_in_a_group() -> None:
    assert camera_problems(streams=[{"name": "a"}, {"name": "a"}]) == [
        "cameras[0] (name=\"north\").streams[1].name: duplicate stream name 'a' (also streams[0])"
    ]
