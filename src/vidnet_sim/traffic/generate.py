"""Packet generation for one window ``[t0, t1)``: Numba kernels shared by both engines.

Sources are open-loop: what they emit never depends on the network, so the exact core and
the SimPy reference engine consume the very same packets. A generated packet is one row of
an int64 array with the columns below.

Camera GOP model (docs/domain.md §2): frame ``k`` is captured at ``anchor + k / fps`` (exact
integer arithmetic); it is an I-frame when ``(k + gop_offset) % gop == 0``. A P-frame's size is
lognormal with mean ``p_mean x scale`` and log-sd ``p_sigma``; an I-frame's is lognormal with
mean ``ip_ratio x p_mean x scale`` and log-sd ``i_sigma``. The frame is cut into packets of
``max_payload`` bytes (the last one shorter), all released at the capture time: the camera's
access link then serialises them back to back at the access rate.

Camera behaviour (``scenario/behaviour.py``), applied frame by frame to a frame captured at
``t``: in *motion* (the camera's two-state process, ``traffic/modulation.py``) the mean sizes
are multiplied by ``motion_scale`` and the GOP is ``min(gop, motion_gop)``; at *night* (the
time of day ``(tod0 + t) mod 24 h`` in ``[night_start, day_start)``) by ``night_scale``; an
alarm's GOP (``SourceState.gop_override``) shortens the GOP the same way. When the GOP in force
changes, the frame is an I-frame and a new GOP starts; a GOP of ``g'`` frames uses the P-frame
mean ``p_mean g' (g - 1 + r) / (g (g' - 1 + r))`` so that the mean bitrate stays the stream's
(times the multipliers). A camera with none of these runs the plain loop below unchanged.

On/off sources (``onoff``) send CBR packets ``interval`` apart from the start of each on
period while it lasts. ``burst`` sources draw Poisson request times exactly like a
``poisson`` row with the same key; request ``k`` starts, ``burst_delay`` later or when the
previous burst has been sent, ``burst_packets`` packets ``interval`` apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba as nb
import numpy as np
import numpy.typing as npt

from vidnet_sim._compile_cache import end_compile_cache, use_compile_cache
from vidnet_sim.traffic.modulation import mod_next, mod_start
from vidnet_sim.traffic.rng import (
    STREAM_FRAME_SIZE,
    STREAM_GAP,
    STREAM_PACKET_SIZE,
    standard_normal,
    uniform,
)
from vidnet_sim.traffic.rows import (
    BEH_DAY_NIGHT,
    BEH_MOTION,
    C_BURST_FREE,
    C_BURST_POS,
    C_GOP_CUR,
    C_GOP_OVERRIDE,
    C_GOP_POS,
    C_MOD_COUNT,
    C_MOD_END,
    C_MOD_STATE,
    KIND_BURST,
    KIND_CAMERA,
    KIND_CBR,
    KIND_ONOFF,
    KIND_POISSON,
    PS_PER_S,
    SIZE_EXPONENTIAL,
    SIZE_FIXED,
    SIZE_UNIFORM,
)

if TYPE_CHECKING:
    from vidnet_sim.traffic.sources import SourceState, SourceTable

use_compile_cache()

# Columns of a generated packet row.
G_T = 0  # emission time, ps
G_SEQ = 1  # packet sequence number within its source
G_PAYLOAD = 2  # payload bytes
G_WIRE = 3  # bytes serialised on every link (payload + header)
G_FRAME = 4  # frame index k (cameras), -1 otherwise
G_NPK = 5  # packets in this packet's frame (cameras), 1 otherwise
G_COLS = 6

NEVER = np.iinfo(np.int64).max
DAY_PS = 86_400 * PS_PER_S


def table_arrays(t: SourceTable) -> tuple[npt.NDArray[np.generic], ...]:
    """The source table as the tuple the kernels unpack (order fixed here)."""
    return (
        t.kind,
        t.key,
        t.header_bytes,
        t.anchor_ps,
        t.fps_num,
        t.fps_den,
        t.gop,
        t.gop_offset,
        t.p_mean_bytes,
        t.ip_ratio,
        t.p_sigma,
        t.i_sigma,
        t.max_payload,
        t.interval_ps,
        t.mean_gap_ps,
        t.size_kind,
        t.size_a,
        t.size_b,
        t.choice_values,
        t.choice_cum,
        t.trace_start,
        t.trace_end,
        t.trace_period_ps,
        t.trace_t,
        t.trace_size,
        t.beh_flags,
        t.motion_scale,
        t.motion_gop,
        t.dn_day_ps,
        t.dn_night_ps,
        t.dn_tod0_ps,
        t.dn_night_scale,
        t.mod_key,
        t.mod_t0_ps,
        t.mod_mean0_ps,
        t.mod_mean1_ps,
        t.mod_shape0,
        t.mod_shape1,
        t.burst_packets,
        t.burst_delay_ps,
    )


def state_arrays(s: SourceState) -> tuple[npt.NDArray[np.generic], ...]:
    """The source state as the tuple the kernels unpack (arrays are updated in place)."""
    return (s.next_index, s.next_t, s.seq, s.active, s.scale, s.carry)


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
def _put(
    out: npt.NDArray[np.int64],
    n: int,
    t: int,
    seq: int,
    payload: int,
    wire: int,
    frame: int,
    npk: int,
) -> None:
    row = nb.uint64(n)  # (unsigned: no negative-index wrap-around arithmetic)
    out[row, 0] = t
    out[row, 1] = seq
    out[row, 2] = payload
    out[row, 3] = wire
    out[row, 4] = frame
    out[row, 5] = npk


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _put_one(
    out: npt.NDArray[np.int64], n: int, t: int, seq: int, pl: int, hb: int
) -> tuple[int, int, bool]:
    """A single-packet row (no frame) at ``n`` if ``out`` has room: ``(n, seq, room)``."""
    if n == out.shape[0]:
        return n, seq, False
    _put(out, n, t, seq, pl, pl + hb, -1, 1)
    return n + 1, seq + 1, True


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _frame_bytes(mean: float, sig: float, z: float) -> int:
    """A frame's size: lognormal with mean ``mean`` and log-sd ``sig`` (``z`` standard
    normal), at least one byte."""
    return max(1, int(np.round(mean * np.exp(sig * z - 0.5 * sig * sig))))


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _put_frame(
    out: npt.NDArray[np.int64], n: int, t: int, seq: int, nbytes: int, mp: int, hb: int, k: int
) -> tuple[int, int, bool]:
    """Frame ``k`` of ``nbytes`` cut into packets of at most ``mp`` payload bytes (the last
    one shorter), all at ``t``, at row ``n`` if ``out`` has room for the whole frame:
    ``(n, seq, room)``."""
    npk = (nbytes + mp - 1) // mp
    if n + npk > out.shape[0]:
        return n, seq, False
    for j in range(npk):
        pl = mp if j < npk - 1 else nbytes - (npk - 1) * mp
        _put(out, n + j, t, seq + j, pl, pl + hb, k, npk)
    return n + npk, seq + npk, True


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _draw_size(
    s: int,
    n: int,
    key: np.uint64,
    size_kind: npt.NDArray[np.int64],
    size_a: npt.NDArray[np.int64],
    size_b: npt.NDArray[np.int64],
    choice_values: npt.NDArray[np.int64],
    choice_cum: npt.NDArray[np.float64],
) -> int:
    kind = size_kind[s]
    if kind == SIZE_FIXED:
        return size_a[s]  # type: ignore[no-any-return]
    u = uniform(key, STREAM_PACKET_SIZE, n)
    if kind == SIZE_UNIFORM:
        return size_a[s] + int(u * (size_b[s] - size_a[s] + 1))  # type: ignore[no-any-return]
    if kind == SIZE_EXPONENTIAL:  # ceil(X), X exponential of mean size_a, at most size_b
        x = np.ceil(-np.log(1.0 - u) * size_a[s])
        return max(1, int(min(x, float(size_b[s]))))
    j = size_a[s]
    while j < size_b[s] - 1 and choice_cum[j] < u:
        j += 1
    return choice_values[j]  # type: ignore[no-any-return]


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def gen_source(
    s: int,
    t0: int,
    t1: int,
    TA: tuple,  # type: ignore[type-arg]
    SA: tuple,  # type: ignore[type-arg]
    out: npt.NDArray[np.int64],
    n: int,
) -> tuple[int, bool]:
    """Append the packets source ``s`` emits in ``[t0, t1)`` to ``out[n:]``.

    Returns the new row count and whether the source is done with the window; ``False``
    means ``out`` is full: grow it and call again, generation resumes where it stopped
    (whole frames only). Advances the source's counters even while it is inactive, so
    that its draws never depend on windowing. Allocates nothing (no reference counting).
    """
    (
        kind,
        key,
        header,
        anchor,
        fps_num,
        fps_den,
        gop,
        gop_offset,
        p_mean,
        ip_ratio,
        p_sigma,
        i_sigma,
        max_payload,
        interval,
        mean_gap,
        size_kind,
        size_a,
        size_b,
        choice_values,
        choice_cum,
        trace_start,
        trace_end,
        trace_period,
        trace_t,
        trace_size,
        beh_flags,
        _msc,
        _mg,
        _dd,
        _dn,
        _dt,
        _ds,
        _mk,
        _mt,
        _m0,
        _m1,
        _a0,
        _a1,
        _bp,
        _bd,
    ) = TA
    next_index, next_t, seqs, active, scale, carry = SA
    k = next_index[s]
    seq = seqs[s]
    on = active[s]
    key_s = key[s]
    hb = header[s]
    done = True
    if kind[s] == KIND_CAMERA and (
        beh_flags[s] != 0 or carry[s, C_GOP_CUR] != 0 or carry[s, C_GOP_OVERRIDE] != 0
    ):
        n, k, seq, done = _camera_behaviour(s, t1, TA, SA, out, n, k, seq, on)
    elif kind[s] == KIND_CAMERA:
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
                n, seq, done = _put_frame(out, n, t, seq, _frame_bytes(mean, sig, z), mp, hb, k)
                if not done:
                    break
            k += 1
    elif kind[s] == KIND_CBR:
        while True:
            t = anchor[s] + k * interval[s]
            if t >= t1:
                break
            if on:
                pl = size_a[s]
                n, seq, done = _put_one(out, n, t, seq, pl, hb)
                if not done:
                    break
            k += 1
    elif kind[s] == KIND_POISSON:
        t = next_t[s]
        if k == 0:  # first arrival one exponential gap after the start
            t = anchor[s] + int(
                np.round(-np.log(uniform(key_s, STREAM_GAP, 0)) * mean_gap[s] / scale[s])
            )
        while t < t1:
            if on:
                pl = _draw_size(s, k, key_s, size_kind, size_a, size_b, choice_values, choice_cum)
                n, seq, done = _put_one(out, n, t, seq, pl, hb)
                if not done:
                    break
            k += 1
            t += int(np.round(-np.log(uniform(key_s, STREAM_GAP, k)) * mean_gap[s] / scale[s]))
        next_t[s] = t
    elif kind[s] == KIND_ONOFF:
        n, k, seq, done = _gen_onoff(s, t1, TA, SA, out, n, k, seq, on)
    elif kind[s] == KIND_BURST:
        n, k, seq, done = _gen_burst(s, t1, TA, SA, out, n, k, seq, on)
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
                pl = trace_size[i]
                n, seq, done = _put_one(out, n, t, seq, pl, hb)
                if not done:
                    break
            k += 1
    next_index[s] = k
    seqs[s] = seq
    return n, done


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _gen_onoff(
    s: int,
    t1: int,
    TA: tuple,  # type: ignore[type-arg]
    SA: tuple,  # type: ignore[type-arg]
    out: npt.NDArray[np.int64],
    n: int,
    k: int,
    seq: int,
    on: bool,
) -> tuple[int, int, int, bool]:
    """The ``onoff`` loop of :func:`gen_source`: returns ``(n, k, seq, done)``."""
    (
        _kind,
        _key,
        header,
        _anchor,
        _fn,
        _fd,
        _gop,
        _go,
        _pm,
        _ir,
        _ps,
        _is,
        _mp,
        interval,
        _mean_gap,
        _sk,
        size_a,
        _sb,
        _cv,
        _cc,
        _ts,
        _te,
        _tp,
        _tt,
        _tsz,
        _bf,
        _msc,
        _mg,
        _dd,
        _dn,
        _dt,
        _ds,
        mod_key,
        mod_t0,
        mod_mean0,
        mod_mean1,
        mod_shape0,
        mod_shape1,
        _bp,
        _bd,
    ) = TA
    _ni, next_t, _seq, _active, _scale, carry = SA
    hb = header[s]
    done = True
    # state: in sojourn mod_count (state st, ends at end); next packet at t while on
    mk = mod_key[s]
    m0, m1, a0, a1 = mod_mean0[s], mod_mean1[s], mod_shape0[s], mod_shape1[s]
    st, end, cnt = carry[s, C_MOD_STATE], carry[s, C_MOD_END], carry[s, C_MOD_COUNT]
    t = next_t[s]
    if cnt == 0:
        st, end, cnt = mod_start(mk, mod_t0[s], m0, m1, a0, a1)
        t = mod_t0[s]
    iv = interval[s]
    pl = size_a[s]
    while True:
        if st == 1 and t < end:
            if t >= t1:
                break
            if on:
                n, seq, done = _put_one(out, n, t, seq, pl, hb)
                if not done:
                    break
            k += 1
            t += iv
        else:  # the sojourn is over (or off): the next one; an on period restarts t
            begin = end
            st, end, cnt = mod_next(mk, st, end, cnt, m0, m1, a0, a1)
            if st == 1:
                t = begin
    carry[s, C_MOD_STATE], carry[s, C_MOD_END], carry[s, C_MOD_COUNT] = st, end, cnt
    next_t[s] = t
    return n, k, seq, done


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _gen_burst(
    s: int,
    t1: int,
    TA: tuple,  # type: ignore[type-arg]
    SA: tuple,  # type: ignore[type-arg]
    out: npt.NDArray[np.int64],
    n: int,
    k: int,
    seq: int,
    on: bool,
) -> tuple[int, int, int, bool]:
    """The ``burst`` loop of :func:`gen_source`: returns ``(n, k, seq, done)``."""
    (
        _kind,
        key,
        header,
        anchor,
        _fn,
        _fd,
        _gop,
        _go,
        _pm,
        _ir,
        _ps,
        _is,
        _mp,
        interval,
        mean_gap,
        _sk,
        size_a,
        _sb,
        _cv,
        _cc,
        _ts,
        _te,
        _tp,
        _tt,
        _tsz,
        _bf,
        _msc,
        _mg,
        _dd,
        _dn,
        _dt,
        _ds,
        _mk,
        _mt,
        _m0,
        _m1,
        _a0,
        _a1,
        burst_packets,
        burst_delay,
    ) = TA
    _ni, next_t, _seq, _active, scale, carry = SA
    key_s = key[s]
    hb = header[s]
    done = True
    # state: request k at t_req (the poisson rule), j packets of its burst sent, the
    # next packet no earlier than free
    t_req = next_t[s]
    j = carry[s, C_BURST_POS]
    free = carry[s, C_BURST_FREE]
    if k == 0 and j == 0:
        t_req = anchor[s] + int(
            np.round(-np.log(uniform(key_s, STREAM_GAP, 0)) * mean_gap[s] / scale[s])
        )
    npk = burst_packets[s]
    iv = interval[s]
    pl = size_a[s]
    while True:
        t = free
        if j == 0:
            t = max(t_req + burst_delay[s], free)
        if t >= t1:
            break
        if on:
            n, seq, done = _put_one(out, n, t, seq, pl, hb)
            if not done:
                break
        free = t + iv
        j += 1
        if j == npk:
            j = 0
            k += 1
            t_req += int(np.round(-np.log(uniform(key_s, STREAM_GAP, k)) * mean_gap[s] / scale[s]))
    next_t[s] = t_req
    carry[s, C_BURST_POS], carry[s, C_BURST_FREE] = j, free
    return n, k, seq, done


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _camera_behaviour(
    s: int,
    t1: int,
    TA: tuple,  # type: ignore[type-arg]
    SA: tuple,  # type: ignore[type-arg]
    out: npt.NDArray[np.int64],
    n: int,
    k: int,
    seq: int,
    on: bool,
) -> tuple[int, int, int, bool]:
    """The camera loop with motion, day/night and GOP changes (see the module docstring).

    Returns ``(n, k, seq, done)`` like :func:`gen_source`'s camera loop; carries the GOP in
    force, the next frame's place in it and the motion process in ``SA``.
    """
    (
        _kind,
        key,
        header,
        anchor,
        fps_num,
        fps_den,
        gop,
        gop_offset,
        p_mean,
        ip_ratio,
        p_sigma,
        i_sigma,
        max_payload,
        _interval,
        _mean_gap,
        _size_kind,
        _size_a,
        _size_b,
        _cv,
        _cc,
        _ts,
        _te,
        _tp,
        _tt,
        _tsz,
        beh_flags,
        motion_scale,
        motion_gop,
        dn_day,
        dn_night,
        dn_tod0,
        dn_scale,
        mod_key,
        mod_t0,
        mod_mean0,
        mod_mean1,
        mod_shape0,
        mod_shape1,
        _bp,
        _bd,
    ) = TA
    _ni, _nt, _seq, _active, scale, carry = SA
    key_s = key[s]
    hb = header[s]
    mp = max_payload[s]
    g = gop[s]
    r = ip_ratio[s]
    flags = beh_flags[s]
    motion = (flags & BEH_MOTION) != 0
    night_on = (flags & BEH_DAY_NIGHT) != 0
    gc = carry[s, C_GOP_CUR]
    pos = carry[s, C_GOP_POS]
    if gc == 0:  # leaving the plain model: frame k's place in its GOP
        gc = g
        pos = (k + gop_offset[s]) % g
    mk = mod_key[s]
    m0, m1, a0, a1 = mod_mean0[s], mod_mean1[s], mod_shape0[s], mod_shape1[s]
    st, end, cnt = carry[s, C_MOD_STATE], carry[s, C_MOD_END], carry[s, C_MOD_COUNT]
    if motion and cnt == 0:
        st, end, cnt = mod_start(mk, mod_t0[s], m0, m1, a0, a1)
    ov = carry[s, C_GOP_OVERRIDE]
    done = True
    while True:
        t = frame_time(anchor[s], k, fps_num[s], fps_den[s])
        if t >= t1:
            break
        mult = scale[s]
        geff = g
        if motion:
            while t >= end:
                st, end, cnt = mod_next(mk, st, end, cnt, m0, m1, a0, a1)
            if st == 1:
                mult *= motion_scale[s]
                if 0 < motion_gop[s] < geff:
                    geff = motion_gop[s]
        if 0 < ov < geff:
            geff = ov
        if night_on:
            tod = (dn_tod0[s] + t) % DAY_PS
            d, ni = dn_day[s], dn_night[s]
            if (tod < d or tod >= ni) if d < ni else (ni <= tod < d):
                mult *= dn_scale[s]
        p = 0 if geff != gc else pos
        if on:
            z = standard_normal(key_s, STREAM_FRAME_SIZE, k)
            pm = p_mean[s]
            if geff != g:  # the stream's mean bitrate over a GOP of geff frames
                pm = pm * (geff * (g - 1 + r)) / (g * (geff - 1 + r))
            if p == 0:
                sig = i_sigma[s]
                mean = pm * r * mult
            else:
                sig = p_sigma[s]
                mean = pm * mult
            n, seq, done = _put_frame(out, n, t, seq, _frame_bytes(mean, sig, z), mp, hb, k)
            if not done:
                break
        gc = geff
        pos = p + 1
        if pos >= geff:
            pos = 0
        k += 1
    carry[s, C_GOP_CUR], carry[s, C_GOP_POS] = gc, pos
    carry[s, C_MOD_STATE], carry[s, C_MOD_END], carry[s, C_MOD_COUNT] = st, end, cnt
    return n, k, seq, done


@nb.njit(cache=True, error_model="numpy")
def gen_source_all(
    s: int,
    t0: int,
    t1: int,
    TA: tuple,  # type: ignore[type-arg]
    SA: tuple,  # type: ignore[type-arg]
    out: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], int]:
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


end_compile_cache()  # (after the last njit decorator)
