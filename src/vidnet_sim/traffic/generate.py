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


# Columns of the source table packed by the row (``table_arrays``): one row of integers
# ``SI[s, c]`` and one of floats ``SF[s, c]`` per source, what a camera's plain loop reads first
(
    SI_KIND,
    SI_BEH_FLAGS,
    SI_KEY,  # (the uint64 key's bits)
    SI_HEADER,
    SI_ANCHOR,
    SI_FPS_NUM,
    SI_FPS_DEN,
    SI_GOP,
    SI_GOP_OFFSET,
    SI_MAX_PAYLOAD,
    SI_INTERVAL,
    SI_SIZE_KIND,
    SI_SIZE_A,
    SI_SIZE_B,
    SI_TRACE_START,
    SI_TRACE_END,
    SI_TRACE_PERIOD,
    SI_MOTION_GOP,
    SI_DN_DAY,
    SI_DN_NIGHT,
    SI_DN_TOD0,
    SI_MOD_KEY,  # (the uint64 key's bits)
    SI_MOD_T0,
    SI_BURST_PACKETS,
    SI_BURST_DELAY,
) = range(25)
N_SI = 25
(
    SF_P_MEAN,
    SF_IP_RATIO,
    SF_P_SIGMA,
    SF_I_SIGMA,
    SF_MEAN_GAP,
    SF_MOTION_SCALE,
    SF_DN_SCALE,
    SF_MOD_MEAN0,
    SF_MOD_MEAN1,
    SF_MOD_SHAPE0,
    SF_MOD_SHAPE1,
) = range(11)
N_SF = 11


def table_arrays(t: SourceTable) -> tuple[npt.NDArray[np.generic], ...]:
    """The source table as the tuple the kernels unpack: ``(SI, SF, choice_values,
    choice_cum, trace_t, trace_size)``, the per-source columns packed by the row (``SI_*``,
    ``SF_*``) so that a kernel call passes six arrays, not forty."""
    si = np.empty((len(t), N_SI), np.int64)
    for c, col in (
        (SI_KIND, t.kind),
        (SI_BEH_FLAGS, t.beh_flags),
        (SI_KEY, np.asarray(t.key, np.uint64).view(np.int64)),
        (SI_HEADER, t.header_bytes),
        (SI_ANCHOR, t.anchor_ps),
        (SI_FPS_NUM, t.fps_num),
        (SI_FPS_DEN, t.fps_den),
        (SI_GOP, t.gop),
        (SI_GOP_OFFSET, t.gop_offset),
        (SI_MAX_PAYLOAD, t.max_payload),
        (SI_INTERVAL, t.interval_ps),
        (SI_SIZE_KIND, t.size_kind),
        (SI_SIZE_A, t.size_a),
        (SI_SIZE_B, t.size_b),
        (SI_TRACE_START, t.trace_start),
        (SI_TRACE_END, t.trace_end),
        (SI_TRACE_PERIOD, t.trace_period_ps),
        (SI_MOTION_GOP, t.motion_gop),
        (SI_DN_DAY, t.dn_day_ps),
        (SI_DN_NIGHT, t.dn_night_ps),
        (SI_DN_TOD0, t.dn_tod0_ps),
        (SI_MOD_KEY, np.asarray(t.mod_key, np.uint64).view(np.int64)),
        (SI_MOD_T0, t.mod_t0_ps),
        (SI_BURST_PACKETS, t.burst_packets),
        (SI_BURST_DELAY, t.burst_delay_ps),
    ):
        si[:, c] = col
    sf = np.empty((len(t), N_SF), np.float64)
    for c, fcol in (
        (SF_P_MEAN, t.p_mean_bytes),
        (SF_IP_RATIO, t.ip_ratio),
        (SF_P_SIGMA, t.p_sigma),
        (SF_I_SIGMA, t.i_sigma),
        (SF_MEAN_GAP, t.mean_gap_ps),
        (SF_MOTION_SCALE, t.motion_scale),
        (SF_DN_SCALE, t.dn_night_scale),
        (SF_MOD_MEAN0, t.mod_mean0_ps),
        (SF_MOD_MEAN1, t.mod_mean1_ps),
        (SF_MOD_SHAPE0, t.mod_shape0),
        (SF_MOD_SHAPE1, t.mod_shape1),
    ):
        sf[:, c] = fcol
    return (
        si,
        sf,
        np.ascontiguousarray(t.choice_values, np.int64),
        np.ascontiguousarray(t.choice_cum, np.float64),
        np.ascontiguousarray(t.trace_t, np.int64),
        np.ascontiguousarray(t.trace_size, np.int64),
    )


def state_arrays(s: SourceState) -> tuple[npt.NDArray[np.generic], ...]:
    """The source state as the tuple the kernels unpack (arrays are updated in place)."""
    return (s.next_index, s.next_t, s.seq, s.active, s.scale, s.carry)


#: Below this ``num * den``, ``r * den * 1e12`` (``r < num``) fits in an int64.
_FRAME_TIME_DIRECT = (2**63 - 1) // PS_PER_S


@nb.njit(cache=True, error_model="numpy")
def frame_time(anchor: int, k: int, num: int, den: int) -> int:
    """``anchor + floor(k * den * 1e12 / num)`` without overflow or drift.

    With ``k = q * num + r``, the whole periods ``q * den * 1e12`` are exact; the rest is
    ``floor(r * den * 1e12 / num)``, formed directly when ``num * den`` is small (25/1,
    2997/100) and otherwise as ``r * a + floor(r * b / num)`` with ``den * 1e12 = a * num +
    b``, so that no product exceeds ``num**2`` (30000/1001 or 24123/1000 frames a second,
    whose ``r * den * 1e12`` would wrap around an int64)."""
    q = k // num
    r = k - q * num
    if num * den < _FRAME_TIME_DIRECT:
        return anchor + q * den * PS_PER_S + (r * den * PS_PER_S) // num
    d = den * PS_PER_S
    a = d // num
    return anchor + q * d + r * a + (r * (d - a * num)) // num


@nb.njit(cache=True, error_model="numpy")
def copy_rows(dst: npt.NDArray[np.int64], src: npt.NDArray[np.int64], n: int) -> None:
    """``dst[:n] = src[:n]`` for two 2-D arrays of the same width, as loops: a slice
    assignment compiles NumPy's shape checks and their error messages (numbers formatted
    as strings) into the kernel, several seconds of a cold start for a rare copy."""
    for i in range(n):
        for c in range(src.shape[1]):
            dst[i, c] = src[i, c]


@nb.njit(cache=True, error_model="numpy")
def _grow(out: npt.NDArray[np.int64], need: int) -> npt.NDArray[np.int64]:
    if need <= out.shape[0]:
        return out
    cap = max(need, 2 * out.shape[0], 64)
    new = np.empty((cap, out.shape[1]), np.int64)
    copy_rows(new, out, out.shape[0])
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
    _put(out, n, t, seq, pl, pl + hb, np.int64(-1), np.int64(1))  # (_put_frame's signature)
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
    n: int,
    key: np.uint64,
    si: npt.NDArray[np.int64],
    choice_values: npt.NDArray[np.int64],
    choice_cum: npt.NDArray[np.float64],
) -> int:
    """Packet ``n``'s payload size by the size rule of the source whose row is ``si``."""
    kind = si[SI_SIZE_KIND]
    a, b = si[SI_SIZE_A], si[SI_SIZE_B]
    if kind == SIZE_FIXED:
        return a  # type: ignore[no-any-return]
    u = uniform(key, STREAM_PACKET_SIZE, n)
    if kind == SIZE_UNIFORM:
        return a + int(u * (b - a + 1))  # type: ignore[no-any-return]
    if kind == SIZE_EXPONENTIAL:  # ceil(X), X exponential of mean size_a, at most size_b
        x = np.ceil(-np.log(1.0 - u) * a)
        return max(1, int(min(x, float(b))))
    j = a
    while j < b - 1 and choice_cum[j] < u:
        j += 1
    return choice_values[j]  # type: ignore[no-any-return]


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload, untyped-decorator]
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

    ``TA`` is :func:`table_arrays`'s tuple, ``SA`` :func:`state_arrays`'s. Returns the new
    row count and whether the source is done with the window; ``False`` means ``out`` is
    full: grow it and call again, generation resumes where it stopped (whole frames only).
    Advances the source's counters even while it is inactive, so that its draws never
    depend on windowing. Allocates nothing (no reference counting). Inlined into its callers:
    the core's window worker runs it once per source and window, and a call passes each
    array of ``TA``, ``SA`` and ``out`` as its 7 to 9 fields (about 100 stack pushes).
    """
    SI, SF, choice_values, choice_cum, trace_t, trace_size = TA
    next_index, next_t, seqs, active, scale, carry = SA
    si = SI[s]
    sf = SF[s]
    k = next_index[s]
    seq = seqs[s]
    on = active[s]
    key_s = nb.uint64(si[SI_KEY])
    hb = si[SI_HEADER]
    anchor = si[SI_ANCHOR]
    kind = si[SI_KIND]
    done = True
    if kind == KIND_CAMERA and (
        si[SI_BEH_FLAGS] != 0 or carry[s, C_GOP_CUR] != 0 or carry[s, C_GOP_OVERRIDE] != 0
    ):
        n, k, seq, done = _camera_behaviour(s, t1, si, sf, SA, out, n, k, seq, on)
    elif kind == KIND_CAMERA:
        mp = si[SI_MAX_PAYLOAD]
        fps_num, fps_den = si[SI_FPS_NUM], si[SI_FPS_DEN]
        gop, gop_offset = si[SI_GOP], si[SI_GOP_OFFSET]
        while True:
            t = frame_time(anchor, k, fps_num, fps_den)
            if t >= t1:
                break
            if on:
                z = standard_normal(key_s, STREAM_FRAME_SIZE, k)
                if (k + gop_offset) % gop == 0:
                    sig = sf[SF_I_SIGMA]
                    mean = sf[SF_P_MEAN] * sf[SF_IP_RATIO] * scale[s]
                else:
                    sig = sf[SF_P_SIGMA]
                    mean = sf[SF_P_MEAN] * scale[s]
                n, seq, done = _put_frame(out, n, t, seq, _frame_bytes(mean, sig, z), mp, hb, k)
                if not done:
                    break
            k += 1
    elif kind == KIND_CBR:
        interval = si[SI_INTERVAL]
        while True:
            t = anchor + k * interval
            if t >= t1:
                break
            if on:
                pl = si[SI_SIZE_A]
                n, seq, done = _put_one(out, n, t, seq, pl, hb)
                if not done:
                    break
            k += 1
    elif kind == KIND_POISSON:
        mean_gap = sf[SF_MEAN_GAP]
        t = next_t[s]
        if k == 0:  # first arrival one exponential gap after the start
            t = anchor + int(np.round(-np.log(uniform(key_s, STREAM_GAP, 0)) * mean_gap / scale[s]))
        while t < t1:
            if on:
                pl = _draw_size(k, key_s, si, choice_values, choice_cum)
                n, seq, done = _put_one(out, n, t, seq, pl, hb)
                if not done:
                    break
            k += 1
            t += int(np.round(-np.log(uniform(key_s, STREAM_GAP, k)) * mean_gap / scale[s]))
        next_t[s] = t
    elif kind == KIND_ONOFF:
        n, k, seq, done = _gen_onoff(s, t1, si, sf, SA, out, n, k, seq, on)
    elif kind == KIND_BURST:
        n, k, seq, done = _gen_burst(s, t1, si, sf, SA, out, n, k, seq, on)
    else:  # trace
        m = si[SI_TRACE_END] - si[SI_TRACE_START]
        period = si[SI_TRACE_PERIOD]
        while True:
            cycle = k // m
            if cycle > 0 and period == 0:
                break
            i = si[SI_TRACE_START] + (k - cycle * m)
            t = anchor + cycle * period + trace_t[i]
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
    si: npt.NDArray[np.int64],
    sf: npt.NDArray[np.float64],
    SA: tuple,  # type: ignore[type-arg]
    out: npt.NDArray[np.int64],
    n: int,
    k: int,
    seq: int,
    on: bool,
) -> tuple[int, int, int, bool]:
    """The ``onoff`` loop of :func:`gen_source` (``si``, ``sf``: the source's rows):
    returns ``(n, k, seq, done)``."""
    _ni, next_t, _seq, _active, _scale, carry = SA
    hb = si[SI_HEADER]
    done = True
    # state: in sojourn mod_count (state st, ends at end); next packet at t while on
    mk = nb.uint64(si[SI_MOD_KEY])
    m0, m1 = sf[SF_MOD_MEAN0], sf[SF_MOD_MEAN1]
    a0, a1 = sf[SF_MOD_SHAPE0], sf[SF_MOD_SHAPE1]
    st, end, cnt = carry[s, C_MOD_STATE], carry[s, C_MOD_END], carry[s, C_MOD_COUNT]
    t = next_t[s]
    if cnt == 0:
        st, end, cnt = mod_start(mk, si[SI_MOD_T0], m0, m1, a0, a1)
        t = si[SI_MOD_T0]
    iv = si[SI_INTERVAL]
    pl = si[SI_SIZE_A]
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
    si: npt.NDArray[np.int64],
    sf: npt.NDArray[np.float64],
    SA: tuple,  # type: ignore[type-arg]
    out: npt.NDArray[np.int64],
    n: int,
    k: int,
    seq: int,
    on: bool,
) -> tuple[int, int, int, bool]:
    """The ``burst`` loop of :func:`gen_source` (``si``, ``sf``: the source's rows):
    returns ``(n, k, seq, done)``."""
    _ni, next_t, _seq, _active, scale, carry = SA
    key_s = nb.uint64(si[SI_KEY])
    hb = si[SI_HEADER]
    mean_gap = sf[SF_MEAN_GAP]
    done = True
    # state: request k at t_req (the poisson rule), j packets of its burst sent, the
    # next packet no earlier than free
    t_req = next_t[s]
    j = carry[s, C_BURST_POS]
    free = carry[s, C_BURST_FREE]
    if k == 0 and j == 0:
        t_req = si[SI_ANCHOR] + int(
            np.round(-np.log(uniform(key_s, STREAM_GAP, 0)) * mean_gap / scale[s])
        )
    npk = si[SI_BURST_PACKETS]
    iv = si[SI_INTERVAL]
    pl = si[SI_SIZE_A]
    while True:
        t = free
        if j == 0:
            t = max(t_req + si[SI_BURST_DELAY], free)
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
            t_req += int(np.round(-np.log(uniform(key_s, STREAM_GAP, k)) * mean_gap / scale[s]))
    next_t[s] = t_req
    carry[s, C_BURST_POS], carry[s, C_BURST_FREE] = j, free
    return n, k, seq, done


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload, untyped-decorator]
def _camera_behaviour(
    s: int,
    t1: int,
    si: npt.NDArray[np.int64],
    sf: npt.NDArray[np.float64],
    SA: tuple,  # type: ignore[type-arg]
    out: npt.NDArray[np.int64],
    n: int,
    k: int,
    seq: int,
    on: bool,
) -> tuple[int, int, int, bool]:
    """The camera loop with motion, day/night and GOP changes (see the module docstring).

    Returns ``(n, k, seq, done)`` like :func:`gen_source`'s camera loop (``si``, ``sf``: the
    source's rows); carries the GOP in force, the next frame's place in it and the motion
    process in ``SA``.
    """
    _ni, _nt, _seq, _active, scale, carry = SA
    key_s = nb.uint64(si[SI_KEY])
    hb = si[SI_HEADER]
    mp = si[SI_MAX_PAYLOAD]
    g = si[SI_GOP]
    r = sf[SF_IP_RATIO]
    flags = si[SI_BEH_FLAGS]
    motion = (flags & BEH_MOTION) != 0
    night_on = (flags & BEH_DAY_NIGHT) != 0
    gc = carry[s, C_GOP_CUR]
    pos = carry[s, C_GOP_POS]
    if gc == 0:  # leaving the plain model: frame k's place in its GOP
        gc = g
        pos = (k + si[SI_GOP_OFFSET]) % g
    mk = nb.uint64(si[SI_MOD_KEY])
    m0, m1 = sf[SF_MOD_MEAN0], sf[SF_MOD_MEAN1]
    a0, a1 = sf[SF_MOD_SHAPE0], sf[SF_MOD_SHAPE1]
    st, end, cnt = carry[s, C_MOD_STATE], carry[s, C_MOD_END], carry[s, C_MOD_COUNT]
    if motion and cnt == 0:
        st, end, cnt = mod_start(mk, si[SI_MOD_T0], m0, m1, a0, a1)
    ov = carry[s, C_GOP_OVERRIDE]
    motion_gop = si[SI_MOTION_GOP]
    done = True
    while True:
        t = frame_time(si[SI_ANCHOR], k, si[SI_FPS_NUM], si[SI_FPS_DEN])
        if t >= t1:
            break
        mult = scale[s]
        geff = g
        if motion:
            while t >= end:
                st, end, cnt = mod_next(mk, st, end, cnt, m0, m1, a0, a1)
            if st == 1:
                mult *= sf[SF_MOTION_SCALE]
                if 0 < motion_gop < geff:
                    geff = motion_gop
        if 0 < ov < geff:
            geff = ov
        if night_on:
            tod = (si[SI_DN_TOD0] + t) % DAY_PS
            d, ni = si[SI_DN_DAY], si[SI_DN_NIGHT]
            if (tod < d or tod >= ni) if d < ni else (ni <= tod < d):
                mult *= sf[SF_DN_SCALE]
        p = 0 if geff != gc else pos
        if on:
            z = standard_normal(key_s, STREAM_FRAME_SIZE, k)
            pm = sf[SF_P_MEAN]
            if geff != g:  # the stream's mean bitrate over a GOP of geff frames
                pm = pm * (geff * (g - 1 + r)) / (g * (geff - 1 + r))
            if p == 0:
                sig = sf[SF_I_SIGMA]
                mean = pm * r * mult
            else:
                sig = sf[SF_P_SIGMA]
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
    """All packets of source ``s`` in ``[t0, t1)``, growing ``out`` as needed.

    (One call of the inlined ``gen_source``, its row count a plain ``np.int64``: a second
    call compiled its body twice, and a literal ``0``, even one entering the loop, compiled
    the kernels it calls once more each, for that value; see ``core.kernel._value``.)"""
    n = np.int64(0)
    while True:
        n, done = gen_source(s, t0, t1, TA, SA, out, n)
        if done:
            return out, n
        out = _grow(out, 2 * out.shape[0])


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
