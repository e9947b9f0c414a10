"""Camera generation (``traffic/generate.py``): frame times stepped frame by frame, and
frames that do not fit in the output buffer.

Oracle: :func:`vidnet_sim.traffic.sources.frame_time_ps` (Python integers), frame by frame.
The camera loop computes ``frame_time`` once a window and then steps it (``_frame_clock``,
``_next_frame``); a step that rounds, drops the carry or drifts over a long run shows as a
frame time that differs from the oracle's for some ``k``. A frame that does not fit stops
generation before it, whole; the caller grows the buffer and generation resumes there.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt
import pytest

from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.traffic.generate import (
    G_COLS,
    G_FRAME,
    G_NPK,
    G_SEQ,
    G_T,
    STEP_NUM_DEN_MAX,
    _frame_clock,
    _next_frame,
    frame_time,
    gen_source,
    state_arrays,
    table_arrays,
)
from vidnet_sim.traffic.rows import PS_PER_S
from vidnet_sim.traffic.sources import SourceState, frame_time_ps

#: Frame rates as ``(num, den)`` that the camera loop steps: 29.97 (2997/100), 23.976
#: (2997/125), 1000/1001, whole rates, 1.5 a second, one of a large prime numerator.
RATES = [(2997, 100), (2997, 125), (1000, 1001), (25, 1), (240, 1), (3, 2), (999983, 7)]
#: Rates whose ``r den 1e12`` wraps around in ``frame_time``: the loop does not step them.
WRAPPING = [(30000, 1001), (24000, 1001), (60000, 1001), (240240, 1001)]


@nb.njit(cache=False)
def _stepped(anchor: int, k0: int, m: int, num: int, den: int) -> npt.NDArray[np.int64]:
    """Frames ``k0 .. k0 + m - 1``'s times as the camera loop steps them."""
    base, a, b = _frame_clock(anchor, k0, num, den)
    da = den * PS_PER_S // num
    db = den * PS_PER_S - da * num
    out = np.empty(m, np.int64)
    for j in range(m):
        out[j] = base + a
        a, b = _next_frame(a, b, num, da, db)
    return out


@nb.njit(cache=False)
def _frame_times(anchor: int, k0: int, m: int, num: int, den: int) -> npt.NDArray[np.int64]:
    """Frames ``k0 .. k0 + m - 1``'s times by ``frame_time``, frame by frame."""
    out = np.empty(m, np.int64)
    for j in range(m):
        out[j] = frame_time(anchor, k0 + j, num, den)
    return out


@pytest.mark.parametrize(("num", "den"), RATES)
@pytest.mark.parametrize("k0", [0, 1, 2996, 10**6 + 7])
def test_frame_times_stepped_are_frame_time_for_every_k(num: int, den: int, k0: int) -> None:
    """200 000 frames stepped from ``k0`` (nine hours of 29.97 fps for the last ``k0``) give
    ``frame_time``'s time and the exact one (Python integers) for every frame."""
    assert num * den <= STEP_NUM_DEN_MAX
    anchor = 123_456_789
    m = 200_000
    got = _stepped(anchor, k0, m, num, den)
    want = np.array([frame_time_ps(anchor, k, num, den) for k in range(k0, k0 + m)], np.int64)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (int(bad[0]) + k0, int(got[bad[0]]), int(want[bad[0]]))
    np.testing.assert_array_equal(_frame_times(anchor, k0, m, num, den), want)


@pytest.mark.parametrize(("num", "den"), WRAPPING)
def test_rates_whose_products_wrap_around_are_not_stepped(num: int, den: int) -> None:
    """For these the stepped times would leave ``frame_time``'s (which wrap around from
    ``r = 9 214`` at 30000/1001): the loop must keep calling it."""
    assert num * den > STEP_NUM_DEN_MAX
    got = _stepped(0, 0, num, num, den)
    assert not np.array_equal(got, _frame_times(0, 0, num, num, den))


def _camera_source(fps: float) -> Any:
    scenario = parse_scenario_dict(
        {
            "name": "frames",
            "simulation": {"duration": "10s", "window": "1ms"},
            "nodes": [{"id": "edge"}, {"id": "nvr", "kind": "recorder"}],
            "links": [{"a": "edge", "b": "nvr", "rate": "10Gbps"}],
            "cameras": [
                {
                    "name": "c",
                    "count": 1,
                    "attach": "edge",
                    "destinations": ["nvr"],
                    "fps": fps,
                    "bitrate": "500kbps",
                    "gop": 7,
                    "ip_ratio": 6.0,
                    "p_sigma": 0.0,
                    "i_sigma": 0.0,
                    "max_payload": "1400B",
                    "phase": "random",
                }
            ],
        }
    )
    return build_plan(scenario).sources


@nb.njit(cache=False)
def _windows(
    t_edges: npt.NDArray[np.int64], TA: Any, SA: Any, rows: int
) -> tuple[npt.NDArray[np.int64], int]:
    """Source 0's packets window by window into a buffer of ``rows`` rows, taken out and
    emptied whenever a frame does not fit, as the core's source step does."""
    out = np.empty((rows, G_COLS), np.int64)
    got = np.empty((1 << 20, G_COLS), np.int64)
    total = 0
    for w in range(t_edges.shape[0] - 1):
        n = 0
        while True:
            n, done = gen_source(0, t_edges[w], t_edges[w + 1], TA, SA, out, n)
            if n == 0 and not done:
                return got, -1  # a frame larger than the buffer: never fits
            got[total : total + n] = out[:n]
            total += n
            n = 0
            if done:
                break
    return got, total


@pytest.mark.parametrize(
    ("fps", "rows"), [(29.97, 40), (29.97, 24), (30000 / 1001, 24), (25.0, 30)]
)
def test_frames_that_do_not_fit_resume_whole_at_the_oracles_times(fps: float, rows: int) -> None:
    """Generated into buffers of a few frames over 10 s in windows of about 23 frames
    (sizes at their means: P-frames of 1 or 2 packets, I-frames of 6 or 7), every frame
    ``k`` appears once, whole (its packets in a row, sequence numbers running on), at
    ``frame_time_ps``, an I-frame where ``(k + gop_offset) % gop == 0``; the same rows as
    with a buffer that always fits."""
    table = _camera_source(fps)
    assert (int(table.fps_num[0]), int(table.fps_den[0])) in {(2997, 100), (30000, 1001), (25, 1)}
    edges = np.array(sorted({0, *range(0, 10 * PS_PER_S, 777_777_777_777), 10 * PS_PER_S}))
    runs = []
    for size in (rows, 1 << 16):
        state = SourceState.initial(table)
        state.active[:] = True
        got, total = _windows(edges, table_arrays(table), state_arrays(state), size)
        assert total > 0
        runs.append(got[:total])
    small, big = runs
    np.testing.assert_array_equal(small, big)
    anchor, num, den = int(table.anchor_ps[0]), int(table.fps_num[0]), int(table.fps_den[0])
    frames = small[:, G_FRAME]
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    assert np.array_equal(frames[starts], np.arange(starts.size))  # each k once, in order
    assert np.array_equal(np.diff(np.r_[starts, frames.size]), small[starts, G_NPK])
    assert np.array_equal(small[:, G_SEQ], np.arange(frames.size))
    gop, offset = int(table.gop[0]), int(table.gop_offset[0])
    i_frames = small[starts, G_NPK] == small[starts, G_NPK].max()  # (sizes at their means)
    assert np.array_equal(i_frames, (np.arange(starts.size) + offset) % gop == 0)
    want = [frame_time_ps(anchor, int(k), num, den) for k in frames]
    assert small[:, G_T].tolist() == want
    assert int(small[-1, G_T]) < 10 * PS_PER_S <= frame_time_ps(anchor, starts.size, num, den)


@nb.njit(cache=False)
def _frames_before(anchor: int, k0: int, t1: int, num: int, den: int) -> int:
    """The first frame from ``k0`` whose ``frame_time`` is ``t1`` or later (the loop as it
    was before it stepped: a call a frame)."""
    k = k0
    while frame_time(anchor, k, num, den) < t1:
        k += 1
    return k


@pytest.mark.parametrize("fps", [30000 / 1001, 60000 / 1001, 29.97, 25.0])
def test_the_loop_gives_frame_times_times_past_a_wrap_around(fps: float) -> None:
    """From frame 9 100 on (30000/1001's ``r den 1e12`` wraps around from ``r = 9 214``) a
    window of about 400 frames gives the frames and times of ``frame_time`` called frame by
    frame, wrapped or not."""
    table = _camera_source(fps)
    anchor, num, den = int(table.anchor_ps[0]), int(table.fps_num[0]), int(table.fps_den[0])
    k0 = 9_100
    t1 = frame_time_ps(anchor, k0 + 400, num, den)
    k_end = _frames_before(anchor, k0, t1, num, den)
    state = SourceState.initial(table)
    state.active[:] = True
    state.next_index[0] = k0
    out = np.empty((1 << 16, G_COLS), np.int64)
    n, done = gen_source(0, 0, t1, table_arrays(table), state_arrays(state), out, 0)
    assert done and int(state.next_index[0]) == k_end > k0
    frames = out[:n, G_FRAME]
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    assert frames[starts].tolist() == list(range(k0, k_end))
    want = _frame_times(anchor, k0, k_end - k0, num, den)
    np.testing.assert_array_equal(out[starts, G_T], want)
