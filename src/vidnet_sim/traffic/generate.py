"""Packet generation for one window ``[t0, t1)``: Numba kernels shared by both engines.

Sources are open-loop: what they emit never depends on the network, so the exact core and
the SimPy reference engine consume the very same packets. A generated packet is one row of
an int64 array with the columns below.

Camera GOP model (DOMAIN.md §2): frame ``k`` is captured at ``anchor + k / fps`` (exact
integer arithmetic); it is an I-frame when ``(k + gop_offset) % gop == 0``. A P-frame's size is
lognormal with mean ``p_mean x scale`` and log-sd ``p_sigma``; an I-frame's is lognormal with
mean ``ip_ratio x p_mean x scale`` and log-sd ``i_sigma``. The frame is cut into packets of
``max_payload`` bytes (the last one shorter), all released at the capture time: the camera's
access link then serialises them back to back at the access rate.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from vidnet_sim.traffic.rng import (
    STREAM_FRAME_SIZE,
    STREAM_GAP,
    STREAM_PACKET_SIZE,
    standard_normal,
    uniform,
)
from vidnet_sim.traffic.sources import (
    KIND_CAMERA,
    KIND_CBR,
    KIND_POISSON,
    PS_PER_S,
    SIZE_FIXED,
    SIZE_UNIFORM,
    SourceState,
    SourceTable,
)

# Columns of a generated packet row.
G_T = 0  # emission time, ps
G_SEQ = 1  # packet sequence number within its source
G_PAYLOAD = 2  # payload bytes
G_WIRE = 3  # bytes serialised on every link (payload + header)
G_FRAME = 4  # frame index k (cameras), -1 otherwise
G_NPK = 5  # packets in this packet's frame (cameras), 1 otherwise
G_COLS = 6

NEVER = np.iinfo(np.int64).max


def table_arrays(t: SourceTable) -> tuple[npt.NDArray[np.generic], ...]:
    """The source table as the tuple the kernels unpack (order fixed here)."""
    return (
        t.kind, t.key, t.header_bytes, t.anchor_ps, t.fps_num, t.fps_den, t.gop, t.gop_offset,
        t.p_mean_bytes, t.ip_ratio, t.p_sigma, t.i_sigma, t.max_payload, t.interval_ps,
        t.mean_gap_ps, t.size_kind, t.size_a, t.size_b, t.choice_values, t.choice_cum,
        t.trace_start, t.trace_end, t.trace_period_ps, t.trace_t, t.trace_size,
    )


def state_arrays(s: SourceState) -> tuple[npt.NDArray[np.generic], ...]:
    """The source state as the tuple the kernels unpack (arrays are updated in place)."""
    return (s.next_index, s.next_t, s.seq, s.active, s.scale)


@nb.njit(cache=True, error_model="numpy")
def frame_time(anchor: int, k: int, num: int, den: int) -> int:
    """``anchor + floor(k * den * 1e12 / num)`` without overflow or drift."""
    q = k // num
    r = k - q * num
    return anchor + q * den * PS_PER_S + (r * den * PS_PER_S) // num


@nb.njit(cache=True, error_model="numpy")
def _grow(out: npt.NDArray[np.int64], need: int) -> npt.NDArray[np.int64]:
    if need <= out.shape[0]:
        return out
    cap = max(need, 2 * out.shape[0], 64)
    new = np.empty((cap, out.shape[1]), np.int64)
    new[: out.shape[0]] = out
    return new


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _put(out: npt.NDArray[np.int64], n: int, t: int, seq: int, payload: int, wire: int,
         frame: int, npk: int) -> None:
    out[n, 0] = t
    out[n, 1] = seq
    out[n, 2] = payload
    out[n, 3] = wire
    out[n, 4] = frame
    out[n, 5] = npk


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _draw_size(s: int, n: int, key: np.uint64, size_kind: npt.NDArray[np.int64],
               size_a: npt.NDArray[np.int64], size_b: npt.NDArray[np.int64],
               choice_values: npt.NDArray[np.int64], choice_cum: npt.NDArray[np.float64]) -> int:
    kind = size_kind[s]
    if kind == SIZE_FIXED:
        return size_a[s]  # type: ignore[no-any-return]
    u = uniform(key, STREAM_PACKET_SIZE, n)
    if kind == SIZE_UNIFORM:
        return size_a[s] + int(u * (size_b[s] - size_a[s] + 1))  # type: ignore[no-any-return]
    j = size_a[s]
    while j < size_b[s] - 1 and choice_cum[j] < u:
        j += 1
    return choice_values[j]  # type: ignore[no-any-return]


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def gen_source(s: int, t0: int, t1: int, TA: tuple, SA: tuple,  # type: ignore[type-arg]
               out: npt.NDArray[np.int64], n: int) -> tuple[int, bool]:
    """Append the packets source ``s`` emits in ``[t0, t1)`` to ``out[n:]``.

    Returns the new row count and whether the source is done with the window; ``False``
    means ``out`` is full: grow it and call again, generation resumes where it stopped
    (whole frames only). Advances the source's counters even while it is inactive, so
    that its draws never depend on windowing. Allocates nothing (no reference counting).
    """
    (kind, key, header, anchor, fps_num, fps_den, gop, gop_offset, p_mean, ip_ratio, p_sigma,
     i_sigma, max_payload, interval, mean_gap, size_kind, size_a, size_b, choice_values,
     choice_cum, trace_start, trace_end, trace_period, trace_t, trace_size) = TA
    next_index, next_t, seqs, active, scale = SA
    cap = out.shape[0]
    k = next_index[s]
    seq = seqs[s]
    on = active[s]
    key_s = key[s]
    hb = header[s]
    done = True
    if kind[s] == KIND_CAMERA:
        mp = max_payload[s]
        while True:
            t = frame_time(anchor[s], k, fps_num[s], fps_den[s])
            if t >= t1:
                break
            if on:
                z = standard_normal(key_s, STREAM_FRAME_SIZE, k)
                if (k + gop_offset[s]) % gop[s] == 0:
                    sig = i_sigma[s]
                    mean = p_mean[s] * ip_ratio[s] * scale[s]
                else:
                    sig = p_sigma[s]
                    mean = p_mean[s] * scale[s]
                nbytes = max(1, int(np.round(mean * np.exp(sig * z - 0.5 * sig * sig))))
                npk = (nbytes + mp - 1) // mp
                if n + npk > cap:
                    done = False
                    break
                for j in range(npk):
                    pl = mp if j < npk - 1 else nbytes - (npk - 1) * mp
                    _put(out, n, t, seq, pl, pl + hb, k, npk)
                    n += 1
                    seq += 1
            k += 1
    elif kind[s] == KIND_CBR:
        while True:
            t = anchor[s] + k * interval[s]
            if t >= t1:
                break
            if on:
                if n == cap:
                    done = False
                    break
                pl = size_a[s]
                _put(out, n, t, seq, pl, pl + hb, -1, 1)
                n += 1
                seq += 1
            k += 1
    elif kind[s] == KIND_POISSON:
        t = next_t[s]
        if k == 0:  # first arrival one exponential gap after the start
            t = anchor[s] + int(np.round(-np.log(uniform(key_s, STREAM_GAP, 0))
                                         * mean_gap[s] / scale[s]))
        while t < t1:
            if on:
                if n == cap:
                    done = False
                    break
                pl = _draw_size(s, k, key_s, size_kind, size_a, size_b, choice_values,
                                choice_cum)
                _put(out, n, t, seq, pl, pl + hb, -1, 1)
                n += 1
                seq += 1
            k += 1
            t += int(np.round(-np.log(uniform(key_s, STREAM_GAP, k)) * mean_gap[s] / scale[s]))
        next_t[s] = t
    else:  # trace
        m = trace_end[s] - trace_start[s]
        period = trace_period[s]
        while True:
            cycle = k // m
            if cycle > 0 and period == 0:
                break
            i = trace_start[s] + (k - cycle * m)
            t = anchor[s] + cycle * period + trace_t[i]
            if t >= t1:
                break
            if on:
                if n == cap:
                    done = False
                    break
                pl = trace_size[i]
                _put(out, n, t, seq, pl, pl + hb, -1, 1)
                n += 1
                seq += 1
            k += 1
    next_index[s] = k
    seqs[s] = seq
    return n, done


@nb.njit(cache=True, error_model="numpy")
def gen_source_all(s: int, t0: int, t1: int, TA: tuple, SA: tuple,  # type: ignore[type-arg]
                   out: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], int]:
    """All packets of source ``s`` in ``[t0, t1)``, growing ``out`` as needed."""
    n, done = gen_source(s, t0, t1, TA, SA, out, 0)
    while not done:
        out = _grow(out, 2 * out.shape[0])
        n, done = gen_source(s, t0, t1, TA, SA, out, n)
    return out, n


def generate(
    table: SourceTable, state: SourceState, t0: int, t1: int
) -> list[npt.NDArray[np.int64]]:
    """Packets of every source in ``[t0, t1)`` (one array of rows per source); updates ``state``."""
    ta, sa = table_arrays(table), state_arrays(state)
    result = []
    for s in range(len(table)):
        out, n = gen_source_all(s, t0, t1, ta, sa, np.empty((64, G_COLS), np.int64))
        result.append(out[:n].copy())
    return result
