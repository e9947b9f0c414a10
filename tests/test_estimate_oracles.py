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

from test_behaviour_estimates import MS, binned, emitted, run_emissions, scenario
from vidnet_sim.analysis.estimates import (
    _bucket_from_trace,
    _window_frames,
    arrival_curves,
    estimate,
    source_rate_moments,
)
from vidnet_sim.core.volume import packets_per_source, window_packets
from vidnet_sim.network.plan import build_plan
from vidnet_sim.traffic.generate import G_T, G_WIRE


# --------------------------------------------------------------------------- windows of τ
@pytest.mark.parametrize(
    ("frames", "gop"), [(1.0, 25), (10.0, 25), (25.0, 25), (2.5, 10), (0.4, 3), (37.3, 8)]
)
def test_the_frames_of_a_window_are_counted_over_its_phase(frames: float, gop: int) -> None:
    """``_window_frames`` against a brute force: the window's start on a grid of 4 000
    points a frame period over a whole GOP cycle, frames and I-frames counted one by one."""
    steps = 4000
    x = (np.arange(gop * steps) + 0.5) / steps  # start, in frame periods
    j = np.arange(-1, gop + int(frames) + 2)
    inside = (j[None, :] >= x[:, None]) & (j[None, :] < x[:, None] + frames)
    n = inside.sum(axis=1)
    ni = (inside & (j[None, :] % gop == 0)).sum(axis=1)
    got = _window_frames(frames, gop)
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
