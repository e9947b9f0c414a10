"""The fast estimates against their oracles where they used to miss: the I-frames a window
of several frames holds, the I-frames a motion ``gop`` adds, alarms after the run's end, and
one note per kind of caveat instead of one per camera.

Oracles: a brute force over the window's phase; the packets ``traffic/generate.py`` emits
(binned at ``τ`` for the rate's mean and variance, every window for the token buckets).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from test_behaviour_estimates import MS, binned, emitted, run_emissions, scenario
from vidnet_sim.analysis.estimates import (
    _bucket_from_trace,
    arrival_curves,
    estimate,
    source_rate_moments,
)
from vidnet_sim.analysis.frame_windows import chain_window_variance, window_frames, wire_frame
from vidnet_sim.core.volume import packets_per_source, window_packets
from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario.groups import camera_streams
from vidnet_sim.traffic.behaviour import group_night_mean, motion_mean_scales, stream_mean_scale
from vidnet_sim.traffic.generate import G_T, G_WIRE


# --------------------------------------------------------------------------- windows of τ
@pytest.mark.kernel_free
@pytest.mark.parametrize(
    ("frames", "gop"), [(1.0, 25), (10.0, 25), (25.0, 25), (2.5, 10), (0.4, 3), (37.3, 8)]
)
def test_the_frames_of_a_window_are_counted_over_its_phase(frames: float, gop: int) -> None:
    """``window_frames`` against a brute force: the window's start on a grid of 4 000
    points a frame period over a whole GOP cycle, frames and I-frames counted one by one."""
    steps = 4000
    x = (np.arange(gop * steps) + 0.5) / steps  # start, in frame periods
    j = np.arange(-1, gop + int(frames) + 2)
    inside = (j[None, :] >= x[:, None]) & (j[None, :] < x[:, None] + frames)
    n = inside.sum(axis=1)
    ni = (inside & (j[None, :] % gop == 0)).sum(axis=1)
    got = window_frames(frames, gop)
    want = (n.mean(), ni.mean(), n.var(), ni.var(), np.mean((n - n.mean()) * (ni - ni.mean())))
    assert got == pytest.approx(want, abs=2e-3), (got, want)


#: Frames of exact sizes (σ = 0) so that only the I-frames' places make the rate vary.
CBR_FRAMES = {"bitrate": "2Mbps", "fps": 25, "rate_control": "cbr", "count": 200}


@pytest.mark.parametrize(
    ("camera", "tau_ms"),
    [
        # the old estimate, which added the window's I-frames as independent draws:
        ({"gop": 25}, 400),  # 10 frames a window, one I-frame or none: 1.60x
        ({"gop": 25}, 1000),  # a whole GOP a window, exactly one I-frame: 0 simulated
        ({"gop": 10}, 100),  # 2 or 3 frames, at most one I-frame: 1.13x
        ({"gop": 25, "rate_control": "vbr"}, 1000),  # lognormal sizes too: 33x
    ],
)
def test_the_rate_variance_over_several_frames_counts_the_i_frames_a_window_holds(
    camera: dict[str, Any], tau_ms: int
) -> None:
    """200 cameras (independent phases and GOP offsets) for 8 s: the variance of the
    cameras' rates over ``τ`` (every window of every camera) against the estimate, within
    8 % (the old estimate's ratio beside each case)."""
    sc = scenario([{**CBR_FRAMES, **camera}], "8s", simulation={"duration": "8s", "seed": 3})
    end, tau = sc.simulation.duration, tau_ms * MS
    mean, var = source_rate_moments(build_plan(sc), tau, duration_ps=end)
    rates = [binned(rows, tau, end) for rows in emitted(sc)]
    assert mean[0] == pytest.approx(np.mean([r.mean() for r in rates]), rel=0.01)
    simulated = np.concatenate(rates).var()  # (8 windows a camera: pooled, not averaged)
    assert var[0] == pytest.approx(simulated, rel=0.08, abs=1e-9 * mean[0] ** 2), (var, simulated)


def chain_frames(
    steps: int, gops: tuple[int, int], restart: bool, leave: tuple[float, float], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` frames of the motion chain drawn one by one: each frame's state and place
    in its GOP (the chain started in state 0 at place 0: its first frames are dropped)."""
    rng = np.random.default_rng(seed)
    u = rng.random(steps)
    state = np.zeros(steps, np.int64)
    place = np.zeros(steps, np.int64)
    i, j = 0, 0
    for k in range(steps):
        if u[k] < leave[i]:
            i, j = 1 - i, (0 if restart else (j + 1) % gops[i])
        else:
            j = (j + 1) % gops[i]
        state[k], place[k] = i, j
    return state[5000:], place[5000:]


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    ("frames", "gops", "restart", "leave"),
    [
        (1.0, (10, 2), True, (0.05, 0.2)),
        (4.0, (10, 2), True, (0.05, 0.2)),
        (2.5, (6, 1), True, (0.3, 0.3)),  # a change every few frames
        (5.0, (5, 5), False, (0.1, 0.2)),  # one GOP: a whole one a window, motion alone
        (3.7, (4, 4), False, (0.02, 0.05)),
    ],
)
def test_the_motion_chain_s_window_variance_is_that_of_frames_drawn_one_by_one(
    frames: float, gops: tuple[int, int], restart: bool, leave: tuple[float, float]
) -> None:
    """``chain_window_variance`` against 400 000 frames of the chain drawn one by one, cut
    into consecutive windows of ``frames`` frame periods (a frame at ``k + ½``): the
    variance of the windows' summed sizes within 5 %."""
    sizes = ((900.0, 100.0), (1500.0, 700.0))
    state, place = chain_frames(400_000, gops, restart, leave, seed=2)
    per_frame = np.array(sizes)[state, (place != 0).astype(np.int64)]
    window = np.floor((np.arange(len(per_frame)) + 0.5) / frames).astype(np.int64)
    sums = np.bincount(window, weights=per_frame)[1:-1]
    got = chain_window_variance(frames, gops, restart, leave, sizes)
    assert got == pytest.approx(sums.var(), rel=0.05), (got, sums.var())


# --------------------------------------------------------------------------- motion's GOP
#: scenario.md's example: a GOP of 100 frames at 7.5 fps, 1 s of motion with a GOP of 2
#: and 3 s idle, the same bitrate: about 1.22 times the stream's bitrate from restarted GOPs.
RESTARTS: dict[str, Any] = {
    "bitrate": "2Mbps",
    "fps": 7.5,
    "gop": 100,
    "motion": {"idle_mean": "3s", "motion_mean": "1s", "bitrate_scale": 1.0, "gop": 2},
}


@pytest.mark.parametrize(
    "motion",
    [
        {},
        {"bitrate_scale": 3.0, "gop": 10},
        {"idle_mean": "200ms", "motion_mean": "100ms", "gop": 5},  # a change every few frames
    ],
)
def test_the_i_frames_a_motion_gop_forces_are_in_the_mean_rate(motion: dict[str, Any]) -> None:
    """20 cameras for 200 s: the estimate's mean rate and the volume count's packets against
    the generated ones, within 2 %, and the rate's variance over a frame within 10 % (the
    old estimate left the I-frame of each restarted GOP out: 0.83, 0.77 and 0.34 of the
    mean)."""
    cam = {**RESTARTS, "count": 20, "motion": {**RESTARTS["motion"], **motion}}
    sc = scenario([cam], "200s", simulation={"duration": "200s", "seed": 5})
    plan = build_plan(sc)
    end = sc.simulation.duration
    tau = round(10**12 / 7.5)
    mean, var = source_rate_moments(plan, tau, duration_ps=end)
    rows = emitted(sc)
    rates = [binned(r, tau, end) for r in rows]
    assert mean[0] / np.mean([r.mean() for r in rates]) == pytest.approx(1.0, abs=0.02)
    assert var[0] / np.concatenate(rates).var() == pytest.approx(1.0, abs=0.1)
    counted = packets_per_source(plan, end)
    assert counted.sum() == pytest.approx(sum(len(r) for r in rows), rel=0.02)


@pytest.mark.parametrize(
    "motion", [{}, {"bitrate_scale": 3.0, "gop": 10}, {"gop": None, "bitrate_scale": 2.0}]
)
def test_a_stream_s_scale_from_its_scenario_fields_is_its_source_row_s(
    motion: dict[str, Any],
) -> None:
    """What the whole bill's recording is priced from (``stream_mean_scale``: a group's and
    stream's fields, no source table) is the multiplier of the camera's row in the source
    table (``motion_mean_scales``), forced I-frames included, by day and at night."""
    mo = {k: v for k, v in {**RESTARTS["motion"], **motion}.items() if v is not None}
    cam = {**RESTARTS, "count": 2, "motion": mo, "day_night": {"night_scale": 0.5}}
    sc = scenario([cam], "2s")
    plan = build_plan(sc)
    (group,) = sc.cameras
    (stream,) = camera_streams(group)
    by_row = motion_mean_scales(plan.sources)
    assert by_row[0] == pytest.approx(by_row[1])
    day = group_night_mean(group)
    assert day != 1.0  # the profile's night counts over a whole day
    assert stream_mean_scale(group, stream) == pytest.approx(by_row[0] * day, rel=1e-12)


# --------------------------------------------------------------------------- alarms
ALARM = {"kind": "alarm", "targets": ["c0"], "duration": "4s", "bitrate_scale": 3.0, "gop": 5}
EXACT = {"bitrate": "4Mbps", "fps": 25, "gop": 25, "rate_control": "cbr", "count": 2}


@pytest.mark.parametrize("mode", ["model", "trace"])
def test_alarms_after_the_run_s_end_change_no_bucket(mode: str) -> None:
    """A 10 s run with alarms (3x, a GOP of 5) at 10 s and 30 s: the curves are those of
    the run without alarms (the old ones took the 3x scale and the GOP changes; the trace
    gave no bound at all). An alarm from 8 s to 12 s counts its start only: the emitted
    packets stay within its bucket."""
    base = scenario([EXACT], "10s")
    late = scenario([EXACT], "10s", events=[{**ALARM, "at": "10s"}, {**ALARM, "at": "30s"}])
    want = arrival_curves(build_plan(base), base, mode)  # type: ignore[arg-type]
    got = arrival_curves(build_plan(late), late, mode)  # type: ignore[arg-type]
    assert np.array_equal(got.burst_bytes, want.burst_bytes)
    assert np.array_equal(got.rate_bps, want.rate_bps)
    assert got.notes == want.notes
    plan = build_plan(late)
    alarms = [(10_000 * MS, np.arange(2), 3.0), (30_000 * MS, np.arange(2), 3.0)]
    assert np.array_equal(
        window_packets(plan, 10_000 * MS, 1000 * MS, alarms),
        window_packets(plan, 10_000 * MS, 1000 * MS),
    )
    across = scenario([EXACT], "10s", events=[{**ALARM, "at": "8s"}])
    curves = arrival_curves(build_plan(across), across, "model")
    for s, rows in enumerate(run_emissions(across)):
        need = _bucket_from_trace(rows[:, G_T], rows[:, G_WIRE], curves.rate_bps[s])
        assert need <= curves.burst_bytes[s]


# --------------------------------------------------------------------------- notes
def test_one_note_per_caveat_names_how_many_cameras_and_their_groups() -> None:
    """400 VBR cameras in five groups, 3 with a motion GOP, and two Poisson sources: three
    notes (the old estimate wrote one line per camera and source: 405)."""
    vbr = {"bitrate": "1Mbps", "fps": 10, "count": 80}
    moving = {"bitrate": "1Mbps", "fps": 10, "count": 3, "rate_control": "cbr"}
    moving["motion"] = {"gop": 5, "bitrate_scale": 2.0}
    sources = [
        {
            "name": f"p{i}",
            "kind": "poisson",
            "at": "site",
            "destinations": ["cc"],
            "size": "200B",
            "rate": "1Mbps",
        }
        for i in range(2)
    ]
    sc = scenario([vbr] * 5 + [moving], "2s", sources=sources)
    notes = estimate(sc).notes
    assert len(notes) == 3, notes
    vbr_note, motion_note, poisson_note = notes
    assert vbr_note.startswith("400 VBR cameras (5 groups: c0, c1, c2 and 2 more): VBR frame")
    assert motion_note.startswith("3 cameras (group: c5): motion changes the GOP")
    assert poisson_note.startswith("2 sources (2 groups: p0, p1): Poisson arrivals have no")
    one = scenario([{**vbr, "count": 1}], "2s")
    assert estimate(one).notes == ["c0[0]: VBR frame sizes capped at their 0.999 quantile"]


# --------------------------------------------------------------------------- packets of a frame
@pytest.mark.kernel_free
@pytest.mark.parametrize(
    ("mean", "sigma", "mp", "hb"),
    [
        (1364.0, 0.3, 1400, 42),  # about one packet: ⌈X/mp⌉ is 1 or 2, not X/mp + ½
        (1250.0, 0.0, 1000, 42),  # exact sizes: always 2 packets (the old mean: 1.75)
        (20000.0, 0.5, 1400, 54),
        (300.0, 0.8, 200, 40),
    ],
)
def test_a_frame_s_wire_bytes_are_those_the_generator_cuts(
    mean: float, sigma: float, mp: int, hb: int
) -> None:
    """``wire_frame`` against a million frames drawn as the generator draws them
    (``max(1, round(mean exp(σZ − σ²/2)))`` bytes, a header per ``mp`` bytes): the mean
    within 4 standard errors, the variance within 2 % (the old mean, ``X/mp + ½`` packets,
    was off by up to 0.5 header a frame: 1.4 % in the second case)."""
    z = np.random.default_rng(1).standard_normal(1_000_000)
    x = np.maximum(1, np.round(mean * np.exp(sigma * z - 0.5 * sigma * sigma)))
    w = x + hb * np.ceil(x / mp)
    got_mean, got_var = wire_frame(mean, sigma, mp, hb)
    assert abs(got_mean - w.mean()) <= 4 * w.std() / np.sqrt(len(w)) + 1e-9
    assert got_var == pytest.approx(w.var(), rel=0.02, abs=1e-9)


# --------------------------------------------------------------------------- any camera
MOTION = st.fixed_dictionaries(
    {
        # sojourns from under a frame period to seconds, short enough for hundreds of
        # changes of state in a run: the variance within sampling noise
        "idle_mean": st.sampled_from(["100ms", "1s", "3s"]),
        "motion_mean": st.sampled_from(["100ms", "1s", "2s"]),
        "bitrate_scale": st.sampled_from([1.0, 2.0, 4.0]),
    },
    optional={"gop": st.sampled_from([1, 2, 5])},
)
CAMERAS = st.fixed_dictionaries(
    {
        "bitrate": st.sampled_from(["300kbps", "1Mbps", "4Mbps"]),
        "fps": st.sampled_from([5, 7.5, 12.5, 25, 30]),
        "gop": st.sampled_from([1, 2, 5, 10, 25, 60]),
        "ip_ratio": st.sampled_from([1.0, 3.0, 12.0]),
        "rate_control": st.sampled_from(["cbr", "vbr"]),
        "max_payload": st.sampled_from(["200B", "1000B", "1400B"]),
    },
    optional={
        "motion": MOTION,
        # by day or by night throughout (across dusk the estimate is the night's level)
        "day_night": st.fixed_dictionaries(
            {
                "night_scale": st.sampled_from([0.5, 2.0]),
                "time_of_day_at_start": st.sampled_from(["12h", "23h"]),
            }
        ),
    },
)
TAUS = st.sampled_from([None, 40, 100, 400, 1000])


def check_camera(camera: dict[str, Any], tau_ms: int | None) -> None:
    """60 cameras of a random kind (frame rate, GOP, I/P ratio, sizes exact or lognormal,
    packet size, motion, day or night) for 20 s, their packets binned at ``τ``: the
    estimate's mean rate within 5 standard errors of the cameras' mean (0.3 % at least:
    a run holds whole GOPs or not), its variance over ``τ`` within 30 % of the pooled
    windows' (300 to 12 000 of them), and with exact sizes the model's token bucket at least
    what every window of every camera needs.

    A camera whose variance rests on rare frames (motion a few per cent of the time, its
    frames four times larger, an I-frame twelve times a P-frame) may show only a handful of
    them in 60 cameras' 20 s, and the pooled variance is then off by more than 30 % by
    chance alone. A variance outside 30 % is therefore checked again on a sample up to 25
    times larger (150 cameras for 200 s, another seed; fewer cameras, 60 at least, for one
    sending many packets), within 15 %: an estimate that is wrong fails there too."""
    within, packets = _check_camera_sample(camera, tau_ms, 60, 20, 1, 0.3)
    if not within:  # (the larger sample: at most about 10 M packets)
        count = max(60, min(150, 60 * 10_000_000 // (10 * max(packets, 1))))
        _check_camera_sample(camera, tau_ms, count, 200, 2, 0.15, strict=True)


def _check_camera_sample(
    camera: dict[str, Any],
    tau_ms: int | None,
    count: int,
    seconds: int,
    seed: int,
    rel: float,
    strict: bool = False,
) -> tuple[bool, int]:
    """:func:`check_camera` on ``count`` cameras for ``seconds`` (seed ``seed``): the mean
    and the token bucket asserted; returns whether the variance is within ``rel`` (asserted
    with ``strict``) and the packets the cameras sent."""
    duration = f"{seconds}s"
    sc = scenario(
        [{**camera, "count": count}], duration, simulation={"duration": duration, "seed": seed}
    )
    plan = build_plan(sc)
    end = sc.simulation.duration
    tau = tau_ms * MS if tau_ms else round(10**12 / camera["fps"])
    mean, var = source_rate_moments(plan, tau_ms and tau, duration_ps=end)
    rows = emitted(sc)
    rates = [binned(r, tau, end) for r in rows]
    means = np.array([r.mean() for r in rates])
    noise = max(5 * means.std(ddof=1) / np.sqrt(len(means)), 3e-3 * means.mean())
    assert abs(mean[0] - means.mean()) <= noise, (mean[0], means.mean(), noise)
    if camera["rate_control"] == "cbr":
        curves = arrival_curves(plan, sc, "model")
        for s, r in enumerate(rows):
            need = _bucket_from_trace(r[:, G_T], r[:, G_WIRE], curves.rate_bps[s])
            assert need <= curves.burst_bytes[s], (s, need, curves.burst_bytes[s])
    pooled = np.concatenate(rates).var()
    within = bool(var[0] == pytest.approx(pooled, rel=rel, abs=1e-6 * mean[0] ** 2))
    assert within or not strict, (var[0], pooled, count, seconds)
    return within, sum(len(r) for r in rows)


#: Found by the property test: GOPs restarted every few frames change the window's sum
#: where both states' mean frames are equal (the old variance: 0.04 of the generated one).
RESTARTED = {
    "bitrate": "300kbps",
    "fps": 5,
    "gop": 2,
    "ip_ratio": 3.0,
    "rate_control": "cbr",
    "max_payload": "200B",
    "motion": {"idle_mean": "1s", "motion_mean": "1s", "bitrate_scale": 1.0, "gop": 1},
}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same cameras on every run (CI); the slow test below draws anew
)
@given(camera=CAMERAS, tau_ms=TAUS)
@example(camera=RESTARTED, tau_ms=400)
def test_the_estimates_of_any_camera_are_what_it_sends(
    camera: dict[str, Any], tau_ms: int | None
) -> None:
    """:func:`check_camera` for 15 cameras drawn at random, the same on every run."""
    check_camera(camera, tau_ms)


#: A camera the random draw once found (2026-12-07): slow CBR cameras with small packets and
#: motion at 4 times the bitrate, 3.2 % of the time. On seed 1's 60 cameras for 20 s the
#: estimated variance over a frame time was 35 % above the packets' (6.27·10¹¹ against
#: 4.64·10¹¹), on seeds 2 to 4 within 5 %; over six samples of 300 cameras for 100 s the
#: estimate is 0.992 ± 0.013 times the packets' variance: seed 1's sample held few of the
#: large motion frames the variance rests on. Checked again on the larger sample.
SLOW_CBR_IN_MOTION = {
    "bitrate": "300kbps",
    "fps": 5,
    "gop": 25,
    "ip_ratio": 12.0,
    "rate_control": "cbr",
    "max_payload": "200B",
    "motion": {"idle_mean": "3s", "motion_mean": "100ms", "bitrate_scale": 4.0},
}


def test_the_estimate_of_a_slow_cbr_camera_in_motion() -> None:
    """:func:`check_camera` for :data:`SLOW_CBR_IN_MOTION`: its first sample misses by
    35 %, the larger one agrees; the larger one alone would catch an estimate 35 % high."""
    assert not _check_camera_sample(SLOW_CBR_IN_MOTION, None, 60, 20, 1, 0.3)[0]
    check_camera(SLOW_CBR_IN_MOTION, None)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(camera=CAMERAS, tau_ms=TAUS)
def test_the_estimates_of_many_cameras_are_what_they_send(
    camera: dict[str, Any], tau_ms: int | None
) -> None:
    """:func:`check_camera` for 300 random cameras (about a minute)."""
    check_camera(camera, tau_ms)


# --------------------------------------------------------------------------- across dusk
@pytest.mark.parametrize("night_scale", [2.0, 0.5])
@pytest.mark.parametrize("motion", [False, True])
def test_across_dusk_the_estimates_are_the_busy_level_s(night_scale: float, motion: bool) -> None:
    """100 cameras for 20 s, night from 10 s (``night_scale`` 2 or 0.5), with or without
    motion (2x, 1 s idle, 0.5 s in motion), binned at 400 ms: the estimate's mean and
    variance are those of the busy half's windows (the night's at 2, the day's at 0.5:
    measured within 1 % and 4 %), above the whole run's mean (1.33 times: the level the run
    spends half its time below), and the link's Gaussian ``m + α′σ`` above every window of
    the 100 cameras' aggregate over the run (1.03–1.05 times the largest). The run's pooled
    variance is not the estimate's: it holds the step between the levels (0.83–1.07 times
    here)."""
    cam: dict[str, Any] = {"bitrate": "2Mbps", "fps": 25, "gop": 25, "count": 100}
    cam["day_night"] = {"night_scale": night_scale, "time_of_day_at_start": "68390s"}
    if motion:
        cam["motion"] = {"idle_mean": "1s", "motion_mean": "500ms", "bitrate_scale": 2.0}
    sc = scenario([cam], "20s", simulation={"duration": "20s", "seed": 1})
    end, tau = sc.simulation.duration, 400 * MS
    mean, var = source_rate_moments(build_plan(sc), tau, duration_ps=end)
    rates = np.array([binned(r, tau, end) for r in emitted(sc)])
    half = rates.shape[1] // 2  # (the change at 10 s: a window's edge)
    busy = rates[:, half:] if night_scale > 1 else rates[:, :half]
    assert mean[0] == pytest.approx(busy.mean(), rel=0.02)
    assert var[0] == pytest.approx(busy.var(), rel=0.08)
    assert mean[0] > 1.3 * rates.mean()
    link = estimate(sc, timescale_ps=tau).links.set_index("link").loc["site->core"]
    assert link["gaussian_bps"] >= rates.sum(axis=0).max()


# --------------------------------------------------------------------------- the run's volume
@pytest.mark.parametrize(
    ("camera", "old"),
    [
        ({"bitrate": "300kbps", "fps": 25, "gop": 25}, 1.42),  # P-frames of one packet
        ({"bitrate": "2Mbps", "fps": 25, "gop": 25, "rate_control": "cbr"}, 1.03),
        ({"bitrate": "4Mbps", "fps": 30, "gop": 60, "ip_ratio": 12.0}, 1.04),
        (
            {
                "bitrate": "1Mbps",
                "fps": 10,
                "gop": 10,
                "motion": {"idle_mean": "1s", "motion_mean": "500ms", "bitrate_scale": 3.0},
                "day_night": {"night_scale": 2.0, "time_of_day_at_start": "68390s"},
            },
            1.01,
        ),
        (
            {
                "bitrate": "1Mbps",
                "fps": 10,
                "gop": 10,
                "motion": {"idle_mean": "1s", "motion_mean": "500ms", "gop": 2},
            },
            1.01,
        ),
    ],
)
def test_the_volume_counts_the_packets_each_frame_is_cut_into(
    camera: dict[str, Any], old: float
) -> None:
    """50 cameras for 20 s (the last two with motion, night from 10 s, a motion GOP): the
    volume count (``core/volume.py``) against the packets generated, within 1.5 % (measured:
    0.99–1.001). The old count, ``size/max_payload + 1`` packets a frame at the mean size,
    was ``old`` times them."""
    sc = scenario([{**camera, "count": 50}], "20s", simulation={"duration": "20s", "seed": 3})
    counted = packets_per_source(build_plan(sc), sc.simulation.duration).sum()
    sent = sum(len(r) for r in emitted(sc))
    assert counted / sent == pytest.approx(1.0, abs=0.015)
