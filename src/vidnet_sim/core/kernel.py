"""The exact packet core: one Numba pass over all links per window.

Because sources are open-loop and the graph "link a feeds link b" is acyclic, each link can be
computed completely, in topological order, for all arrivals before the window's end ``t1``:
a link's departures plus its propagation delay are its downstream links' arrivals. A FIFO
link is the Lindley recursion ``D_n = max(A_n, D_{n-1}) + S_n`` with a drop-tail buffer whose
occupancy is read off a ring of the admitted packets' departure times.

Each link's *inbox* is a concatenation of *runs*, each sorted by ``(time, flow, seq)``: one run
per source flow injected at that link, one per upstream link in each window, and the unread
tails of earlier runs (arrivals at or after ``t1``). A tournament tree of losers merges the
runs (``_merge_start``), so the link sees its arrivals in exactly that order — the same order
as the SimPy reference engine.

All per-link storage lives in a few *segmented stores* (one array each, see ``_relocate``): the
inboxes, their run starts and the rings of packets in each link's buffer, each segment sized
before the run from the traffic expected (``core.stores``). A segment that proves too small
grows here: an inbox before a feeder's pass, a ring when the link loop finds it full (the loop
stops and is called again).

A window runs a *work list* (``_windows``, built by ``core.engine._work_order``): each source's
generation and injection, and each link after everything feeding it, depth first so that an
inbox is read soon after it was written. ``_windows`` never allocates (so Numba counts no
references in it); it returns to ``advance`` only when a buffer must grow. A camera's access
link, fed by its source alone, is computed right after the source from the *staging inbox*
(the inbox store's last segment, reused by every such link and so always in the cache), or,
when the plain loop runs it and its source has one tree, straight from the rows the source
generated (``_process_direct``: no inbox written and read back, no merge).

Inbox item columns (int64, 32 bytes, so an item never straddles two cache lines): ``t``
arrival at this link (ps), ``key = tree << 40 | seq``, ``origin`` emission time (ps), and
``meta`` = wire bytes (20 bits) | ``p`` << 20 (24 bits), the packet's position in its tree
(``docs/model.md`` rule 12) | camera frame slot tag << 44 (0 if none, else the frame number's
low 18 bits + 1; only these bits pick its frame slot). ``MAX_*`` bound what fits.

Links with a scheduler (strict priority, DRR; rule 11) are event loops over the merged
arrivals and the transmitter's choices (``_process_link_sched``): a choice at ``d`` needs only
the arrivals before ``d``, so every choice at ``d <= t1`` is made in the window and packets
still waiting stay in per-queue rings for the next one. Failures (rule 13) are per-link
intervals both loops check at each arrival.

A run may be cut in two parts (``core.split``, ``CoreEngine(threads=2)``), each calling
:func:`advance` with its own link table, stores, cursor and work list on its own thread,
the upstream part one window ahead: it defers its drops (``_lose``) to the downstream part
(:func:`settle_drops`), which gets the upstream part's inboxes of its links after each
window (:func:`hand_off`); the frame slots both parts touch are freed and reused through
release and acquire accesses (``_store_release``, ``_load_acquire``). The upstream part
grows no frame-slot ring and lets no frame overflow a full one by itself (``pause_slots``):
it stops, and the caller goes on once the downstream part has caught up. Many steps run in
one call per thread (:func:`up_steps` beside :func:`down_steps`): the threads wait for each
other on a shared table (``SY_*``) and copy each step's hand-off together.
"""

from __future__ import annotations

import platform
from typing import Any

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from vidnet_sim._compile_cache import end_compile_cache, use_compile_cache
from vidnet_sim.core.histogram import bucket_index
from vidnet_sim.traffic.generate import G_FRAME, G_NPK, G_SEQ, G_T, G_WIRE, copy_rows, gen_source

use_compile_cache()

INF = np.iinfo(np.int64).max
FLOW_SHIFT = 40
SEQ_MASK = (1 << FLOW_SHIFT) - 1
ITEM_SHIFT = 2
N_COLS = 1 << ITEM_SHIFT  # an inbox item's columns
PREFETCH_ITEMS = 4  # how far ahead a run's items are asked for (4 items: 128 bytes)
# the merge tree's run slots (``hr``) hold a run's head as one value: the element of its item
# in the inbox store (row * N_COLS, read with ``_at``) << HEAD_SHIFT | the run (< MAX_RUNS)
HEAD_SHIFT = 24
MAX_RUNS = 1 << HEAD_SHIFT
RUN_MASK = MAX_RUNS - 1
HEAD_ITEM = N_COLS << HEAD_SHIFT  # the next item of the same run
SIZE_MASK = (1 << 20) - 1
POS_SHIFT = 20
POS_MASK = (1 << 24) - 1
FRAME_SHIFT = 44
FRAME_MASK = (1 << 18) - 1
NOT_POS = ~(POS_MASK << POS_SHIFT)
POS_ONE = 1 << POS_SHIFT  # the meta of position p + 1 is meta + POS_ONE
MAX_WIRE_BYTES = SIZE_MASK  # the largest packet, headers included
MAX_POSITIONS = POS_MASK + 1  # positions of all trees together
MAX_FRAME_SLOTS = FRAME_MASK + 1  # frame slots of one camera flow

ERR_FRAME_SLOTS = 1
# a buffer of deferred drops DROPS[1 + j] = (position, time, origin, wire bytes, frame,
# failed); its row 0 holds whether drops are deferred and how many are recorded (``_lose``)
DR_DEFER, DR_N = 0, 1
DR_COLS = 6
# the packet log's columns: tree, seq, link, arrival, departure (-1: lost), transmission start
# (-1: never transmitted)
LOG_START = 5
LOG_COLS = 6

# columns of the link table L[l, c] (one row per link, the staging inbox's last), laid out so
# that what one packet touches downstream (its inbox counters) is one cache line
(
    L_IN_OFF,
    L_IN_N,
    L_RUN_OFF,
    L_RUNS_N,
    L_RUN_OWNER,
    L_IN_CAP,
    L_RUN_CAP,
    L_SCHED,  # inbox
    L_LAST_DEP,
    L_RING_OFF,
    L_RING_CAP,
    L_RING_HEAD,
    L_RING_N,
    L_Q_BYTES,
    L_FAIL_PTR,  # state
    L_FAIL_FLUSHED,
    L_RATE,
    L_PROP,
    L_BUF_B,
    L_BUF_P,
    L_PPB,
    L_FAIL_END,
    L_FUSED,
    L_CHAIN,
) = range(24)  # parameters
N_LCOLS = 24
# L_CHAIN: the link every packet leaving this link goes to next, when each of its positions
# has one child, right after it (``p + 1``), on that link, and delivers nothing; else -1.
# Forwarding from such a link reads no position row (docs/model.md rule 12)
# columns of the position table POS[p, c] (docs/model.md rule 12; pos_end apart, it is cold)
# (a position's row also holds the links of its first child and of its next sibling, so that
# forwarding a packet reads its position's row and then the next link's inbox counters)
P_LINK, P_FIRST, P_SIB, P_DELIVER, P_FIRST_LINK, P_SIB_LINK = range(6)
N_PCOLS = 8
# columns of the delivery-flow table FLOW[f, c] and of the frame-slot table SLOTS[s, c]
# (F_SLOT_LIMIT: how many slots the flow's ring may grow to, ``MAX_FRAME_SLOTS`` but in tests)
F_GROUP, F_HEADER, F_LAST_LAT, F_SLOT_BASE, F_SLOT_MASK, F_SLOT_LIMIT = range(6)
N_FCOLS = 8
S_REM, S_ORIGIN, S_LAST, S_FLAGS = range(4)
N_SCOLS = 4
# S_FLAGS: bit 0 a packet was dropped, bit 1 one was in flight at the end; the frame number's
# low bits (``& FRAME_MASK``) above them, so that a grown ring can rehouse its open frames
FLAG_BITS = 2
# entries of the counters array: store tops (items, runs, rings, queue rings), packet-hops,
# the frame-slot table's top
TOP_ITEMS, TOP_RUNS, TOP_RING, TOP_QDATA, C_HOPS, TOP_SLOTS = range(6)
N_COUNTERS = 6
# rows of the link loops' scratch (at least DEFER_CAP columns, more when a link has more
# inbox runs): the merge's run cursors and tree (see _merge_start), the FIFO loop's deferred
# deliveries (delivery flow, time, origin, meta; see _settle_deferred), the tree's winners
SC_POS, SC_STOP, SC_HT, SC_HK, SC_HR, SC_D_FLOW, SC_D_T, SC_D_ORIGIN, SC_D_META, SC_WIN = range(10)
N_SCRATCH = 10
DEFER_CAP = 64

# indices into the per-link statistics matrix LSTAT[k, l]
(
    LS_PACKETS,
    LS_BYTES,
    LS_DROPS,
    LS_DROP_BYTES,
    LS_BUSY,
    LS_PEAK_B,
    LS_PEAK_P,
    LS_PEAK_WAIT,
    LS_FAIL,
    LS_WAIT,  # sum of the waits (transmission start - arrival) of the packets that started
    LS_STARTED,  # ... and their number
) = range(11)
N_LSTAT = 11
# per (link, queue) statistics of scheduled links: QSTAT[k, l * n_queues + q] (SQ's last item)
(
    QT_PACKETS,
    QT_BYTES,
    QT_DROPS,
    QT_DROP_BYTES,
    QT_PEAK_B,
    QT_PEAK_P,
    QT_WAIT,
    QT_STARTED,
    QT_PEAK_WAIT,
) = range(9)
N_QTSTAT = 9
# indices into the per-group statistics matrix GSTAT[k, g]
(
    GS_SENT,
    GS_DELIVERED,
    GS_DROPPED,
    GS_IN_FLIGHT,
    GS_BYTES,
    GS_PAYLOAD,
    GS_FSENT,
    GS_FDELIVERED,
    GS_FLOST,
    GS_FIN_FLIGHT,
    GS_JSUM,
    GS_JCOUNT,
    GS_LMIN,
    GS_LMAX,
    GS_FLMIN,
    GS_FLMAX,
    GS_FAILED,
    GS_LSUM,  # sum of delivered packets' latencies, modulo SUM_UNIT ...
    GS_LSUM_HI,  # ... and how many SUM_UNITs it carried (exact for any run length)
    GS_FLSUM,  # the same for delivered frames' latencies
    GS_FLSUM_HI,
) = range(21)
N_GSTAT = 21
SUM_UNIT = 1 << 62
# per-epoch statistics: ESTAT[e, k, g] and ELSTAT[e, k, l]
ES_SENT, ES_DELIVERED, ES_DROPPED, ES_FAILED = range(4)
N_ESTAT = 4
EL_BYTES, EL_BUSY, EL_DROPS, EL_FAIL = range(4)
N_ELSTAT = 4


def _pick_typing(typingctx: Any, cond: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """The typing and code of ``_pick``."""
    sig = types.int64(cond, a, b)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        c = context.cast(builder, args[0], signature.args[0], types.boolean)
        x = context.cast(builder, args[1], signature.args[1], types.int64)
        y = context.cast(builder, args[2], signature.args[2], types.int64)
        v = builder.select(c, x, y)
        v.set_metadata("unpredictable", builder.module.add_metadata([]))
        return v

    return sig, codegen


#: ``_pick(cond, a, b)`` is ``a if cond else b`` (int64) as a select that LLVM marks
#: unpredictable, so that it stays a conditional move: Numba's ``a if cond else b``, and even
#: masks (``b ^ ((a ^ b) & -cond)``), come out as a branch, which a condition as good as
#: random mispredicts half the time.
_pick: Any = intrinsic(_pick_typing)


def _before_typing(typingctx: Any, t: Any, k: Any, t2: Any, k2: Any) -> tuple[Any, Any]:
    """The typing and code of ``_before``."""
    sig = types.boolean(t, k, t2, k2)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i128 = ir.IntType(128)
        v = [
            context.cast(builder, a, ty, types.int64)
            for a, ty in zip(args, signature.args, strict=True)
        ]
        a = builder.or_(builder.shl(builder.sext(v[0], i128), i128(64)), builder.zext(v[1], i128))
        b = builder.or_(builder.shl(builder.sext(v[2], i128), i128(64)), builder.zext(v[3], i128))
        return builder.icmp_signed("<", a, b)

    return sig, codegen


#: ``_before(t, k, t2, k2)`` is ``t < t2 or (t == t2 and k < k2)`` for keys ``k, k2 >= 0``:
#: one comparison of two 128-bit integers (``t`` the high half, ``k`` the low), which the
#: x86 back end makes a ``cmp`` and an ``sbb`` (two instructions on the merge's chain of
#: dependent matches, where the two comparisons and their ``and``/``or`` took five).
_before: Any = intrinsic(_before_typing)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _u(i):  # type: ignore[no-untyped-def]
    """``i`` (>= 0) as an unsigned index: Numba then skips the negative-index wrap-around
    arithmetic it adds to every signed index (a few instructions per access in hot loops)."""
    return nb.uint64(i)


def _prefetch_typing(typingctx: Any, table: Any, row: Any) -> tuple[Any, Any]:
    """The typing and code of ``_prefetch``."""
    sig = types.void(table, row)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = context.cast(builder, args[1], idxty, types.intp)
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [idx, zero], wraparound=False)  # type: ignore[no-untyped-call]
        _emit_prefetch(builder, ptr)
        return context.get_dummy_value()

    return sig, codegen


def _emit_prefetch(builder: Any, ptr: Any) -> None:
    """Emit LLVM's ``llvm.prefetch`` of the line holding ``ptr``: a read, high locality,
    into the data cache (for ``_prefetch`` and ``_prefetch_at``)."""
    i8p = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    fn = builder.module.declare_intrinsic(  # (named as this llvmlite's LLVM wants)
        "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
    )
    builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])


#: ``_prefetch(table, row)`` asks the CPU to fetch row ``row`` of the 2-D ``table`` into its
#: caches (LLVM's ``llvm.prefetch``: a hint, it loads nothing and never faults, so a row past
#: the table's end is harmless), so that the rows a loop reads next at random places are
#: fetched at once instead of one after the other.
_prefetch: Any = intrinsic(_prefetch_typing)


def _flat_pointer(context: Any, builder: Any, signature: Any, args: Any, inbounds: bool) -> Any:
    """The pointer to element ``e`` of a C-contiguous table counted from its start (the
    arguments ``table, e`` of ``_at`` and ``_prefetch_at``)."""
    aryty, ety = signature.args
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = context.cast(builder, args[1], ety, types.intp)
    return builder.gep(ary.data, [idx], inbounds=inbounds)


def _at_typing(typingctx: Any, table: Any, e: Any) -> tuple[Any, Any] | None:
    """The typing and code of ``_at`` (C-contiguous arrays only: it ignores strides)."""
    if not (isinstance(table, types.Array) and table.layout == "C"):
        return None
    sig = table.dtype(table, e)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.load(_flat_pointer(context, builder, signature, args, True))

    return sig, codegen


#: ``_at(table, e)`` is element ``e`` of a C-contiguous ``table`` counted from its start
#: (``table[e // cols, e % cols]``): the inbox store's item ``i``, column ``c`` is element
#: ``i * N_COLS + c``. Numba's ``table[i, c]`` multiplies ``i`` by the table's column count,
#: a value it reads at run time (an ``imul``, 3 cycles); here the merge's chain from one
#: packet to the next carries the element itself and adds a constant.
_at: Any = intrinsic(_at_typing)


def _prefetch_at_typing(typingctx: Any, table: Any, e: Any) -> tuple[Any, Any] | None:
    """The typing and code of ``_prefetch_at`` (C-contiguous arrays only, as ``_at``)."""
    if not (isinstance(table, types.Array) and table.layout == "C"):
        return None
    sig = types.void(table, e)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        _emit_prefetch(builder, _flat_pointer(context, builder, signature, args, False))
        return context.get_dummy_value()

    return sig, codegen


#: ``_prefetch_at(table, e)``: ``_prefetch`` of the line holding element ``e`` (as ``_at``).
_prefetch_at: Any = intrinsic(_prefetch_at_typing)


def _element_pointer(context: Any, builder: Any, signature: Any, args: Any) -> Any:
    """The pointer to element ``(row, col)`` of a 2-D array (the arguments of the atomic
    intrinsics below: table, row, col[, value])."""
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = [context.cast(builder, args[k], signature.args[k], types.intp) for k in (1, 2)]
    return cgutils.get_item_pointer(context, builder, aryty, ary, idx, wraparound=False)  # type: ignore[no-untyped-call]


def _load_acquire_typing(typingctx: Any, table: Any, row: Any, col: Any) -> tuple[Any, Any]:
    """The typing and code of ``_load_acquire``."""
    sig = table.dtype(table, row, col)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ptr = _element_pointer(context, builder, signature, args)
        return builder.load_atomic(ptr, "acquire", signature.args[0].dtype.bitwidth // 8)

    return sig, codegen


def _store_release_typing(
    typingctx: Any, table: Any, row: Any, col: Any, value: Any
) -> tuple[Any, Any]:
    """The typing and code of ``_store_release``."""
    sig = types.void(table, row, col, value)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ptr = _element_pointer(context, builder, signature, args)
        dtype = signature.args[0].dtype
        v = context.cast(builder, args[3], signature.args[3], dtype)
        builder.store_atomic(v, ptr, "release", dtype.bitwidth // 8)
        return context.get_dummy_value()

    return sig, codegen


def _value_typing(typingctx: Any, x: Any) -> tuple[Any, Any]:
    """The typing and code of ``_value``."""
    sig = types.unliteral(x)(x)  # type: ignore[no-untyped-call]

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return context.cast(builder, args[0], signature.args[0], signature.return_type)

    return sig, codegen


#: ``_value(x)``: ``x`` typed as a plain value, not as a literal. Numba compiles a kernel
#: that is not inlined once per signature, and a constant argument (``_lose(..., True,
#: ...)``, ``_relocate(..., L_IN_OFF, ...)``) is typed as its literal value: every distinct
#: constant compiled the kernel once more (``_windows`` three times, ``_lose`` four) and
#: linked each copy into its callers. Passing ``_value(True)`` shares one signature.
_value: Any = intrinsic(_value_typing)


def _spin_pause_typing(typingctx: Any) -> tuple[Any, Any]:
    """The typing and code of ``_spin_pause``."""
    sig = types.void()

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        if _SPIN_HINT:
            fnty = ir.FunctionType(ir.VoidType(), [])
            builder.call(builder.module.declare_intrinsic(_SPIN_HINT, fnty=fnty), [])
        return context.get_dummy_value()

    return sig, codegen


def _yield_cpu_typing(typingctx: Any) -> tuple[Any, Any]:
    """The typing and code of ``_yield_cpu``."""
    sig = types.int32()

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fnty = ir.FunctionType(ir.IntType(32), [])
        return builder.call(cgutils.get_or_insert_function(builder.module, fnty, "sched_yield"), [])  # type: ignore[no-untyped-call]

    return sig, codegen


#: The LLVM intrinsic of the CPU's hint for a loop that waits on memory another core writes
#: (x86's ``pause``; none elsewhere: the loop then only spins).
_SPIN_HINT = {"x86_64": "llvm.x86.sse2.pause", "AMD64": "llvm.x86.sse2.pause"}.get(
    platform.machine(), ""
)
#: ``_spin_pause()``: that hint (it saves power and lets the other hyper-thread run).
_spin_pause: Any = intrinsic(_spin_pause_typing)
#: ``_yield_cpu()``: the C library's ``sched_yield()``, for a wait that lasts: another
#: thread (perhaps the one waited for) gets the core.
_yield_cpu: Any = intrinsic(_yield_cpu_typing)


#: ``_load_acquire(table, row, col)`` reads ``table[row, col]`` (an aligned integer) with
#: acquire ordering: what the thread that stored the value with ``_store_release`` did before
#: is visible after it, and nothing this thread does after it is moved before it. Its pair
#: ``_store_release(table, row, col, value)``. On x86 both are plain moves that the compiler
#: may not reorder: they cost nothing; they make the frame-slot hand-over between the two
#: parts of a run cut in two (``core.split``) correct in the language's memory model.
_load_acquire: Any = intrinsic(_load_acquire_typing)
_store_release: Any = intrinsic(_store_release_typing)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _meta(size, p, frame):  # type: ignore[no-untyped-def]
    """An item's ``meta``: ``size`` wire bytes at position ``p`` of camera frame ``frame``
    (-1 if none)."""
    tag = (frame & FRAME_MASK) + 1 if frame >= 0 else 0
    return size | (p << POS_SHIFT) | (tag << FRAME_SHIFT)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _meta_pos(meta):  # type: ignore[no-untyped-def]
    """The position in ``meta``."""
    return (meta >> POS_SHIFT) & POS_MASK


@nb.njit(cache=True, error_model="numpy", inline="always")
def _meta_frame(meta):  # type: ignore[no-untyped-def]
    """The frame in ``meta`` (its low bits, all its slot needs), or -1."""
    return (meta >> FRAME_SHIFT) - 1


@nb.njit(cache=True, error_model="numpy")
def _service_ps(size: int, rate: int) -> int:
    # ceil(size * 8 * 1e12 / rate): a transmission never takes less than its bits' worth
    return (size * 8_000_000_000_000 + rate - 1) // rate


@nb.njit(cache=True, error_model="numpy")
def _room_at_top(data, top, need):  # type: ignore[no-untyped-def]
    """A store's array with rows ``top : top + need`` free: ``data`` itself when it has them,
    else a zeroed array twice as long (at least ``top + need`` rows) holding its first ``top``
    rows. Rows above a store's top are never read before they are written (the frame-slot
    table relies on their being zero: a zero slot is free)."""
    if top + need <= data.shape[0]:
        return data
    bigger = np.zeros((max(2 * data.shape[0], top + need), data.shape[1]), np.int64)
    copy_rows(bigger, data, top)
    return bigger


@nb.njit(cache=True, error_model="numpy")
def _relocate(data, L, c_off, c_cap, used, tops, which, l, need):  # type: ignore[no-untyped-def]
    """Give segment ``l`` of a segmented store room for ``need`` rows.

    A segmented store is one 2-D array shared by all links; link ``l`` owns rows
    ``L[l, c_off] : L[l, c_off] + L[l, c_cap]``, of which ``used`` are filled. A full segment
    moves to the end (the array doubles when needed); offsets of other segments never change,
    so a reader holding one link's rows is never disturbed by appends to another link.
    """
    new_cap = max(need, 2 * L[l, c_cap], 8)
    top = tops[which]
    data = _room_at_top(data, top, new_cap)
    o = L[l, c_off]
    for j in range(used):
        for c in range(data.shape[1]):
            data[top + j, c] = data[o + j, c]
    L[l, c_off] = top
    L[l, c_cap] = new_cap
    tops[which] = top + new_cap
    return data


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _open_run(runs, L, m, owner):  # type: ignore[no-untyped-def]
    """Make ``owner``'s items the last run of link ``m``'s inbox (a new run unless it is
    already); returns the inbox's first row and its item count."""
    mu = _u(m)
    n = L[mu, L_IN_N]
    if L[mu, L_RUN_OWNER] != owner:
        L[mu, L_RUN_OWNER] = owner
        r = L[mu, L_RUNS_N]
        runs[_u(L[mu, L_RUN_OFF] + r), 0] = n
        L[mu, L_RUNS_N] = r + 1
    return L[mu, L_IN_OFF], n


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _put(items, row, t, key, origin, meta):  # type: ignore[no-untyped-def]
    """Write one inbox item at ``row``."""
    items[_u(row), 0] = t
    items[_u(row), 1] = key
    items[_u(row), 2] = origin
    items[_u(row), 3] = meta


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _chain_put(items, runs, L, chain, owner, c_off, c_n, t, key, origin, meta):  # type: ignore[no-untyped-def]
    """Forward a packet from a chain link (``L_CHAIN``) to position ``p + 1`` on link
    ``chain``, whose inbox's first row and item count the link loop holds in registers
    (``c_n`` -1 until this call opened its run; the loop stores ``c_n`` at its end)."""
    if c_n < 0:
        c_off, c_n = _open_run(runs, L, chain, owner)
    _put(items, c_off + c_n, t, key, origin, meta + POS_ONE)
    return c_off, c_n + 1


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _append(items, runs, L, m, owner, t, key, origin, meta):  # type: ignore[no-untyped-def]
    """Append one item to link ``m``'s inbox (room reserved beforehand), opening a new run
    when ``owner`` changes. (Arrays are passed one by one: unpacking a tuple of arrays in a
    hot loop costs a reference-count round trip per array.)"""
    off, n = _open_run(runs, L, m, owner)
    _put(items, off + n, t, key, origin, meta)
    L[_u(m), L_IN_N] = n + 1


@nb.njit(cache=True, error_model="numpy")
def _reserve(items, runs, L, tops, m, n_new):  # type: ignore[no-untyped-def]
    """Make room in link ``m``'s inbox for ``n_new`` more items in one more run."""
    n = L[m, L_IN_N]
    if n + n_new > L[m, L_IN_CAP]:
        items = _relocate(
            items, L, _value(L_IN_OFF), _value(L_IN_CAP), n, tops, _value(TOP_ITEMS), m, n + n_new
        )
    r = L[m, L_RUNS_N]
    if r + 1 > L[m, L_RUN_CAP]:
        runs = _relocate(
            runs, L, _value(L_RUN_OFF), _value(L_RUN_CAP), r, tops, _value(TOP_RUNS), m, r + 1
        )
    return items, runs


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _inbox_of(L, m, stage):  # type: ignore[no-untyped-def]
    """The inbox link ``m``'s arrivals go to: its own, or the staging inbox ``stage`` when
    ``m`` is fused (fed by one source alone, computed right after it)."""
    return stage if L[_u(m), L_FUSED] else m


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _needs_room(L, m, n_new):  # type: ignore[no-untyped-def]
    """Whether link ``m``'s inbox lacks room for ``n_new`` more items in one more run."""
    return L[m, L_IN_N] + n_new > L[m, L_IN_CAP] or L[m, L_RUNS_N] + 1 > L[m, L_RUN_CAP]


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _add_sum(GSTAT, k, g, v):  # type: ignore[no-untyped-def]
    """Adds ``v`` (>= 0) to the exact sum held in rows ``k`` (modulo ``SUM_UNIT``) and
    ``k + 1`` (carries) of group ``g``."""
    s = GSTAT[k, g] + v
    if s >= SUM_UNIT:
        s -= SUM_UNIT
        GSTAT[k + 1, g] += 1
    GSTAT[k, g] = s


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _frame_slot(FLOW, flow, frame):  # type: ignore[no-untyped-def]
    """The row of ``SLOTS`` holding camera frame ``frame`` of delivery flow ``flow``."""
    f = _u(flow)
    return _u(FLOW[f, F_SLOT_BASE] + (frame & FLOW[f, F_SLOT_MASK]))


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _frame_event(FLOW, SLOTS, GSTAT, FHIST, flow, g, frame, t, outcome, warmup):  # type: ignore[no-untyped-def]
    """One packet of a camera frame is settled: outcome 0 delivered, 1 dropped, 2 in flight."""
    slot = _frame_slot(FLOW, flow, frame)
    last = SLOTS[slot, S_LAST]
    flags = SLOTS[slot, S_FLAGS]
    if outcome == 0:
        if t > last:
            last = t
            SLOTS[slot, S_LAST] = t
    else:
        flags |= outcome  # bit 1 dropped, bit 2 in flight
        SLOTS[slot, S_FLAGS] = flags
    rem = SLOTS[slot, S_REM] - 1
    origin = SLOTS[slot, S_ORIGIN]
    # the slot's fields are read before it is freed: once S_REM is 0, the part of a run cut
    # in two that opens frames may reuse it at once (a release store: what this part wrote
    # and read before is done when that part sees the 0; see _frames_fit)
    _store_release(SLOTS, slot, S_REM, rem)
    if rem == 0 and origin >= warmup:
        if flags & 1:
            GSTAT[GS_FLOST, g] += 1
        elif flags & 2:
            GSTAT[GS_FIN_FLIGHT, g] += 1
        else:
            lat = last - origin
            GSTAT[GS_FDELIVERED, g] += 1
            FHIST[g, _u(bucket_index(lat))] += 1
            _add_sum(GSTAT, GS_FLSUM, g, lat)
            if GSTAT[GS_FLMIN, g] < 0 or lat < GSTAT[GS_FLMIN, g]:
                GSTAT[GS_FLMIN, g] = lat
            if lat > GSTAT[GS_FLMAX, g]:
                GSTAT[GS_FLMAX, g] = lat


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _epoch_of(ep, t):  # type: ignore[no-untyped-def]
    """Index of the epoch containing ``t`` (``ep`` sorted, ``ep[0] = 0``)."""
    lo = 0
    hi = ep.shape[0] - 1
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if ep[mid] <= t:
            lo = mid
        else:
            hi = mid - 1
    return lo


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _settle(  # type: ignore[no-untyped-def]
    FLOW,
    SLOTS,
    GSTAT,
    PHIST,
    FHIST,
    flow,
    origin,
    frame,
    wire,
    t,
    dropped,
    warmup,
    end,
    drain,
    failed,
    EP,
    ESTAT,
    EPHIST,
):
    """A packet leaves the network for delivery flow ``flow``: delivered at ``t`` or
    dropped at ``t`` (``failed``: lost to a link failure). Its epoch counters are those of
    the epoch holding ``t``: a packet lost when a link fails counts in the failure's epoch,
    not in the one it was emitted in."""
    fu = _u(flow)
    g = _u(FLOW[fu, F_GROUP])
    late = (not drain) and t > end
    if origin >= warmup:
        e = -1  # epoch of the delivery or drop; only tracked with several epochs
        if EP.shape[0] > 1:
            e = _epoch_of(EP, t)
        if late:
            GSTAT[GS_IN_FLIGHT, g] += 1
        elif dropped:
            GSTAT[GS_DROPPED, g] += 1
            if e >= 0:
                ESTAT[e, ES_DROPPED, g] += 1
            if failed:
                GSTAT[GS_FAILED, g] += 1
                if e >= 0:
                    ESTAT[e, ES_FAILED, g] += 1
        else:
            lat = t - origin
            GSTAT[GS_DELIVERED, g] += 1
            GSTAT[GS_BYTES, g] += wire
            GSTAT[GS_PAYLOAD, g] += wire - FLOW[fu, F_HEADER]
            b = _u(bucket_index(lat))
            PHIST[g, b] += 1
            _add_sum(GSTAT, GS_LSUM, g, lat)
            if e >= 0:
                ESTAT[e, ES_DELIVERED, g] += 1
                EPHIST[e, g, b] += 1
            if GSTAT[GS_LMIN, g] < 0 or lat < GSTAT[GS_LMIN, g]:
                GSTAT[GS_LMIN, g] = lat
            if lat > GSTAT[GS_LMAX, g]:
                GSTAT[GS_LMAX, g] = lat
            prev = FLOW[fu, F_LAST_LAT]
            if prev >= 0:
                GSTAT[GS_JSUM, g] += abs(lat - prev)
                GSTAT[GS_JCOUNT, g] += 1
    if not dropped and not late:
        FLOW[fu, F_LAST_LAT] = t - origin
    if frame >= 0:
        outcome = 2 if late else (1 if dropped else 0)
        _frame_event(FLOW, SLOTS, GSTAT, FHIST, flow, g, frame, t, outcome, warmup)


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload]
def _lose(  # type: ignore[no-untyped-def]
    p,
    t,
    origin,
    size,
    frame,
    failed,
    POS,
    pos_end,
    FLOW,
    SLOTS,
    GSTAT,
    PHIST,
    FHIST,
    warmup,
    end,
    drain,
    EP,
    ESTAT,
    EPHIST,
    DROPS,
):
    """The packet at position ``p`` is dropped at ``t`` (``failed``: by a link failure): lost
    for every delivery flow below ``p``. Not inlined: drops are rare, code size matters.

    When ``DROPS`` defers (``DROPS[0, DR_DEFER]`` non-zero: the upstream part of a run cut
    in two, see ``core.split``), the drop is only recorded there, room reserved by the
    caller, for the other part to settle with :func:`settle_drops`."""
    if DROPS[0, DR_DEFER] != 0:
        n = DROPS[0, DR_N] + 1
        DROPS[n, 0] = p
        DROPS[n, 1] = t
        DROPS[n, 2] = origin
        DROPS[n, 3] = size
        DROPS[n, 4] = frame
        DROPS[n, 5] = failed
        DROPS[0, DR_N] = n
        return
    for q in range(p, pos_end[p]):
        d = POS[q, P_DELIVER]
        if d >= 0:
            _settle(
                FLOW,
                SLOTS,
                GSTAT,
                PHIST,
                FHIST,
                d,
                origin,
                frame,
                size,
                t,
                True,
                warmup,
                end,
                drain,
                failed,
                EP,
                ESTAT,
                EPHIST,
            )


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _deliver(FLOW, SLOTS, GSTAT, PHIST, FHIST, flow, t, origin, meta, warmup, end, drain, EA):  # type: ignore[no-untyped-def]
    """The packet ``(origin, meta)`` is delivered at ``t`` for delivery flow ``flow``."""
    EP, ESTAT, EPHIST, ELSTAT, DROPS = EA
    _settle(
        FLOW,
        SLOTS,
        GSTAT,
        PHIST,
        FHIST,
        flow,
        origin,
        _meta_frame(meta),
        meta & SIZE_MASK,
        t,
        False,
        warmup,
        end,
        drain,
        False,
        EP,
        ESTAT,
        EPHIST,
    )


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _forward_children(p, t, key, origin, meta, POS, L, items, runs, owner):  # type: ignore[no-untyped-def]
    """The packet at position ``p`` reaches the far end of its link at ``t``: it arrives at
    each child position's link. Returns the delivery flow of ``p`` (-1 if none) for the
    caller to settle (a chain link's loop forwards with ``_chain_put`` instead, reading no
    position row)."""
    c = POS[_u(p), P_FIRST]
    m = POS[_u(p), P_FIRST_LINK]
    while c >= 0:
        _append(
            items, runs, L, m, owner, t, key, origin, (meta & NOT_POS) | (nb.int64(c) << POS_SHIFT)
        )
        m = POS[_u(c), P_SIB_LINK]
        c = POS[_u(c), P_SIB]
    return POS[_u(p), P_DELIVER]


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _forward(  # type: ignore[no-untyped-def]
    p,
    t,
    key,
    origin,
    meta,
    POS,
    L,
    items,
    runs,
    FLOW,
    SLOTS,
    GSTAT,
    PHIST,
    FHIST,
    warmup,
    end,
    drain,
    owner,
    EA,
):
    """``_forward_children``, then the packet is delivered at once if ``p`` delivers."""
    d = _forward_children(p, t, key, origin, meta, POS, L, items, runs, owner)
    if d >= 0:
        _deliver(FLOW, SLOTS, GSTAT, PHIST, FHIST, d, t, origin, meta, warmup, end, drain, EA)


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload]
def _settle_deferred(n, scratch, FLOW, SLOTS, GSTAT, PHIST, FHIST, warmup, end, drain, EA):  # type: ignore[no-untyped-def]
    """Deliver the ``n`` packets a FIFO link's loop deferred (``scratch`` rows ``SC_D_*``),
    in the order it met them.

    Settling a packet reads its flow's row, then that row's frame slot: loads from tables
    too large for the caches, each waiting for the one before. Done here for a batch, every
    flow row is asked for first, then every frame slot, so that their fetches overlap;
    then each packet is settled as ``_settle`` always does. The results are the same as
    settling each packet as it left the link: nothing else reads what settling writes
    before the loop returns, and the deliveries keep their order (a flow's jitter depends
    on it; the counters, extremes and frame slots do not)."""
    dflow = scratch[SC_D_FLOW]
    dt = scratch[SC_D_T]
    dorigin = scratch[SC_D_ORIGIN]
    dmeta = scratch[SC_D_META]
    for j in range(n):
        _prefetch(FLOW, dflow[_u(j)])
    for j in range(n):
        frame = _meta_frame(dmeta[_u(j)])
        if frame >= 0:
            _prefetch(SLOTS, _frame_slot(FLOW, dflow[_u(j)], frame))
    for j in range(n):
        _deliver(
            FLOW,
            SLOTS,
            GSTAT,
            PHIST,
            FHIST,
            dflow[_u(j)],
            dt[_u(j)],
            dorigin[_u(j)],
            dmeta[_u(j)],
            warmup,
            end,
            drain,
            EA,
        )


@nb.njit(cache=True, error_model="numpy")
def _grow_ring(ring, ring_off, ring_cap, ring_head, rn, tops, which, l, need):  # type: ignore[no-untyped-def]
    """Grow ring ``l`` of a segmented store of rings to hold ``need`` rows (a power of two at
    least twice the old size), unrolling it to start at its head."""
    cap = ring_cap[l]
    new_cap = 2 * cap
    while new_cap < need:
        new_cap *= 2
    top = tops[which]
    cols = ring.shape[1]
    ring = _room_at_top(ring, top, new_cap)
    o = ring_off[l]
    h = ring_head[l]
    for j in range(rn):
        src = o + ((h + j) & (cap - 1))
        for c in range(cols):
            ring[top + j, c] = ring[src, c]
    ring_off[l] = top
    ring_cap[l] = new_cap
    ring_head[l] = 0
    tops[which] = top + new_cap
    return ring


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _run_head(box, t1, pos, stop, r):  # type: ignore[no-untyped-def]
    """(time, key) of run ``r``'s next item, ``(INF, INF)`` when it has none before ``t1``."""
    i = pos[_u(r)]
    if i < stop[_u(r)] and box[_u(i), 0] < t1:
        return box[_u(i), 0], box[_u(i), 1]
    return INF, INF


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _head(pos, r):  # type: ignore[no-untyped-def]
    """Run ``r``'s slot value in the merge tree (``hr``): the element of its next item (row
    ``pos[r]``, see ``_at``) and the run."""
    return (pos[_u(r)] << (ITEM_SHIFT + HEAD_SHIFT)) | r


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _merge_start(box, runs, base, ro, R, n_items, t1, pos, stop, ht, hk, hr, win):  # type: ignore[no-untyped-def]
    """Open the merge of a link's ``R`` inbox runs: a tournament tree of losers over the
    runs' heads before ``t1``. Leaf ``T + r`` is run ``r``; internal node ``n`` (``1 <= n <
    T``, children ``2n`` and ``2n + 1``) keeps the loser of the match played there, its
    head's (time, key) in ``(ht, hk)`` and in ``hr`` its run and where its head is
    (``_head``: so that the next item's place follows from the winner's slot by an
    addition, without reading the run's cursor); slot 0 the winner, the smallest head. A
    run without a head before ``t1`` plays as ``(INF, INF)`` and never beats a head.
    ``win`` holds each node's winner while the tree is built.

    When one of three runs or more holds more than half the inbox's items (a ring link's
    upstream neighbour), it is the *lead*: it swaps places with the last run (``pos`` and
    ``stop`` of the two; ``_keep_tails`` swaps them back), the tree holds the other ``T = R
    - 1`` runs, and a last match between the tree's winner and the lead's head, its loser
    kept in slot ``T``, decides slot 0. Taking the lead's packets then replays one match
    instead of the tree's depth; the order of the packets is the same. Otherwise ``T = R``
    and there is no lead.

    Returns the number of runs with a head, ``T``, and the lead's place before the swap
    (-1: no lead)."""
    live = 0
    most = 0
    rm = 0
    for r in range(R):
        pos[r] = base + runs[_u(ro + r), 0]
        stop[r] = base + (runs[_u(ro + r + 1), 0] if r + 1 < R else n_items)
        if pos[r] < stop[r] and box[_u(pos[r]), 0] < t1:
            live += 1
        if stop[r] - pos[r] > most:
            most = stop[r] - pos[r]
            rm = r
    T = R
    lead = -1
    if R >= 3 and 2 * most > n_items:
        T = R - 1
        lead = rm
        _swap_runs(pos, stop, rm, T)
    w = 0
    for n in range(T - 1, 0, -1):  # the matches, from the leaves up
        a = 2 * n - T if 2 * n >= T else win[_u(2 * n)]
        b = 2 * n + 1 - T if 2 * n + 1 >= T else win[_u(2 * n + 1)]
        ta, ka = _run_head(box, t1, pos, stop, a)
        tb, kb = _run_head(box, t1, pos, stop, b)
        if tb < ta or (tb == ta and kb < ka):
            a, b = b, a
            tb, kb = ta, ka
        ht[_u(n)] = tb
        hk[_u(n)] = kb
        hr[_u(n)] = _head(pos, b)
        win[_u(n)] = a
        w = a
    if T > 0:
        ta, ka = _run_head(box, t1, pos, stop, w)
        if lead >= 0:  # the last match: the tree's winner against the lead
            tb, kb = _run_head(box, t1, pos, stop, T)
            b = T
            if tb < ta or (tb == ta and kb < ka):
                w, b = b, w
                ta, tb = tb, ta
                ka, kb = kb, ka
            ht[_u(T)] = tb
            hk[_u(T)] = kb
            hr[_u(T)] = _head(pos, b)
        ht[0] = ta
        hk[0] = ka
        hr[0] = _head(pos, w)
    return live, T, lead


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _swap_runs(pos, stop, a, b):  # type: ignore[no-untyped-def]
    """Runs ``a`` and ``b`` of a merge swap places (their cursors and ends)."""
    pos[a], pos[b] = pos[b], pos[a]
    stop[a], stop[b] = stop[b], stop[a]


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _replay(ht, hk, hr, n, t, k, w):  # type: ignore[no-untyped-def]
    """The match at node ``n`` between the loser kept there and ``(t, k)`` of the run in
    slot value ``w`` (``_head``), played again: the node keeps the larger, the smaller goes
    on (returned). No branch on the outcome: selects."""
    tn = ht[_u(n)]
    kn = hk[_u(n)]
    rn = hr[_u(n)]
    swap = _before(tn, kn, t, k)  # the loser kept here wins now
    ht[_u(n)] = _pick(swap, t, tn)
    hk[_u(n)] = _pick(swap, k, kn)
    hr[_u(n)] = _pick(swap, w, rn)
    return _pick(swap, tn, t), _pick(swap, kn, k), _pick(swap, rn, w)


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _merge_pop(box, t1, pos, stop, ht, hk, hr, live, T, R):  # type: ignore[no-untyped-def]
    """Take the smallest head (slot 0): returns its element in ``box`` (row * ``N_COLS``,
    read with ``_at``) and the number of runs still with a head. The winner's run moves on
    to its next item, which replays the matches on the way from its leaf to the root, one
    comparison per level and no branch on its outcome (the node keeps the larger, the
    smaller goes on: selects, since which run wins is as good as random when many runs
    interleave); with a lead (``T < R``, see ``_merge_start``) the
    lead's items play the last match only, the others their way up the tree and then the
    last match. The slots hold each run's head with its run (``_head``), so that the
    winner's next item is found by an addition on the chain from one pop to the next."""
    h = hr[0]
    r = h & RUN_MASK
    e = h >> HEAD_SHIFT  # the item taken
    h += HEAD_ITEM  # its run's next item
    e1 = e + N_COLS
    pos[_u(r)] = e1 >> ITEM_SHIFT  # (the run's cursor, for _keep_tails)
    _prefetch_at(box, e + N_COLS * PREFETCH_ITEMS)  # this run's items two cache lines on
    if e1 < stop[_u(r)] * N_COLS and _at(box, e1) < t1:
        t = _at(box, e1)
        k = _at(box, e1 + 1)
    else:
        t = INF
        k = INF
        live -= 1
    if r < T:  # (not the lead)
        n = (r + T) >> 1
        while n > 0:
            t, k, h = _replay(ht, hk, hr, n, t, k, h)
            n >>= 1
    if T < R:  # the last match, against the loser kept in slot T
        t, k, h = _replay(ht, hk, hr, T, t, k, h)
    ht[0] = t
    hk[0] = k
    hr[0] = h
    return e, live


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _keep_tails(l, items, runs, L, base, R, pos, stop, lead):  # type: ignore[no-untyped-def]
    """Keep the unread tails of the runs (arrivals at or after t1) as runs at the front of the
    inbox; rows only move towards the front, so copying in order is safe (the merge's lead
    first swapped back to its place, ``_merge_start``)."""
    if lead >= 0:
        _swap_runs(pos, stop, lead, R - 1)
    n = 0
    nr = 0
    ro = L[l, L_RUN_OFF]
    for r in range(R):
        if pos[r] < stop[r]:
            runs[ro + nr, 0] = n
            nr += 1
            for j in range(pos[r], stop[r]):
                for c in range(N_COLS):
                    items[_u(base + n), c] = items[_u(j), c]
                n += 1
    L[l, L_IN_N] = n
    L[l, L_RUNS_N] = nr
    L[l, L_RUN_OWNER] = -1


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _train(gen_buf, j, n, t):  # type: ignore[no-untyped-def]
    """The generated rows from ``j`` (before ``n``) emitted at ``t``, the rest of a *train*
    (a camera frame's packets, all emitted at one instant): how many and their wire bytes."""
    m = 0
    tb = 0
    while j + m < n and gen_buf[_u(j + m), G_T] == t:
        tb += gen_buf[_u(j + m), G_WIRE] & SIZE_MASK
        m += 1
    return m, tb


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _fifo_link(  # type: ignore[no-untyped-def]
    plain,
    direct,
    DI,
    l,
    ib,
    t1,
    L,
    items,
    runs,
    ring,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    scratch,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    counters,
    warmup,
    end,
    drain,
    count_in_service,
    log,
    log_n,
    do_log,
):
    """The FIFO link loop of ``_process_link`` (general), ``_process_link_plain``
    (``plain``: one epoch, no log and no failure left on this link, so those branches are
    compiled out and the loop keeps its hot values in registers) and ``_process_direct``
    (``direct``, with ``plain``: the arrivals are the rows of ``DI = (gen_buf, j, n, key0,
    c)``, a source's generated packets ``j`` to ``n`` at position ``c`` of its tree, read
    where they were generated instead of from an inbox through the merge). Returns the new
    log length, whether the ring was full (the loop stopped before an arrival) and, with
    ``direct``, the next row not served.

    Counts that follow from others are not carried through the loop (fewer live values,
    fewer spills to the stack): the hops, from the arrivals left unread (each pop takes one
    item of the inbox, each direct arrival one row); with ``ppb > 0`` the busy time, from
    the bytes (every admitted packet's ``s`` is ``size * ppb``, so the sum is the bytes
    times ``ppb``: the loop adds ``s`` only when ``ppb == 0``); in the ``plain`` loop (no
    failure left: ``fdown`` is ``INF``) the packets started, which are the packets admitted
    (a transmission starts at ``max(t, ld)``, below ``INF`` since ``t < t1`` and no
    departure reaches ``INF``)."""
    EP, ESTAT, EPHIST, ELSTAT, DROPS = EA
    n_ep = 1 if plain else EP.shape[0]
    if plain:
        do_log = False
    gen_buf, j, n_rows, key0, c_pos = DI
    j0 = j
    n_items = L[ib, L_IN_N]
    box = items
    base = L[ib, L_IN_OFF]
    R = L[ib, L_RUNS_N]
    pos = scratch[SC_POS]
    stop = scratch[SC_STOP]
    ht = scratch[SC_HT]  # tree of run heads: time, key, run
    hk = scratch[SC_HK]
    hr = scratch[SC_HR]
    if direct:
        hn, T, lead = n_rows - j, 0, -1
    else:
        hn, T, lead = _merge_start(
            box,
            runs,
            base,
            L[ib, L_RUN_OFF],
            R,
            n_items,
            t1,
            pos,
            stop,
            ht,
            hk,
            hr,
            scratch[SC_WIN],
        )
    dflow = scratch[SC_D_FLOW]  # deliveries not settled yet: nd of them
    dt = scratch[SC_D_T]
    dorigin = scratch[SC_D_ORIGIN]
    dmeta = scratch[SC_D_META]
    nd = 0

    rate = L[l, L_RATE]
    ppb = L[l, L_PPB]  # ps per byte when 8e12 / rate is whole: S = size * ppb, no division
    bppb = ppb if ppb > 0 else 0  # the busy time's part not carried: bytes * bppb
    prop = L[l, L_PROP]
    bufb = L[l, L_BUF_B]
    bufp = L[l, L_BUF_P]
    rbase = L[l, L_RING_OFF]
    cap = L[l, L_RING_CAP]
    head = L[l, L_RING_HEAD]
    rn = L[l, L_RING_N]
    qb = L[l, L_Q_BYTES]
    ld = L[l, L_LAST_DEP]
    fi = L[l, L_FAIL_PTR]
    fe = L[l, L_FAIL_END]
    fdown = fail_down[fi] if fi < fe and not plain else INF
    fup = fail_up[fi] if fi < fe and not plain else INF
    flushed = L[l, L_FAIL_FLUSHED]
    chain = L[l, L_CHAIN]
    c_off = 0  # a chain link's next inbox: its first row and item count, -1 until opened
    c_n = -1
    e = -1
    eb0 = 0
    ebusy0 = 0
    st_packets = 0
    st_bytes = 0
    st_drops = 0
    st_drop_bytes = 0
    st_busy = 0
    st_fail = 0
    st_wait = 0
    st_started = 0
    st_peak_b = LSTAT[LS_PEAK_B, l]
    st_peak_p = LSTAT[LS_PEAK_P, l]
    st_peak_wait = LSTAT[LS_PEAK_WAIT, l]
    full = False
    while hn > 0:
        t = gen_buf[_u(j), G_T] if direct else ht[0]
        # transmissions that ended by t leave the buffer first: all of them when the last
        # one did (``ld``, the ring's tail), without reading the ring, which then starts
        # again at its first row, so that a link that empties between its packets' bursts
        # (a camera's access link between frames) writes the same few rows each time
        if ld <= t:
            rn = 0
            qb = 0
            head = 0
        while rn > 0 and ring[_u(rbase + head), 0] <= t:
            qb -= ring[_u(rbase + head), 1]
            head = (head + 1) & (cap - 1)
            rn -= 1
        if rn == cap:  # no room in the ring: the caller grows it and calls again
            full = True
            break
        if direct:  # the row as _inject_rows would have written it to the inbox
            key = key0 | gen_buf[_u(j), G_SEQ]
            origin = t
            meta = _meta(gen_buf[_u(j), G_WIRE], nb.int64(c_pos), gen_buf[_u(j), G_FRAME])
            j += 1
            hn -= 1
        else:
            key = hk[0]
            ei, hn = _merge_pop(box, t1, pos, stop, ht, hk, hr, hn, T, R)
            origin = _at(box, ei + 2)
            meta = _at(box, ei + 3)
        size = meta & SIZE_MASK
        p = _meta_pos(meta)  # this hop's position in its tree
        measured = t >= warmup and t < end
        if measured and n_ep > 1:  # epoch bytes and busy time: flushed when the epoch changes
            if e < 0:
                e = _epoch_of(EP, t)
                eb0 = st_bytes
                ebusy0 = st_busy
            while e + 1 < n_ep and t >= EP[e + 1]:
                ELSTAT[e, EL_BYTES, l] += st_bytes - eb0
                ELSTAT[e, EL_BUSY, l] += st_busy - ebusy0 + (st_bytes - eb0) * bppb
                eb0 = st_bytes
                ebusy0 = st_busy
                e += 1
        if not plain and t >= fdown:  # a failure of this link began: flush once, move past repairs
            while True:
                if flushed == 0:
                    rn = 0
                    qb = 0
                    head = 0
                    if ld > fup:
                        ld = fup
                    flushed = 1
                if t < fup:
                    break
                fi += 1
                flushed = 0
                fdown = fail_down[fi] if fi < fe else INF
                fup = fail_up[fi] if fi < fe else INF
                if t < fdown:
                    break
            if t >= fdown:  # the link is down: lost at arrival
                if measured:
                    st_fail += 1
                    if n_ep > 1:
                        ELSTAT[e, EL_FAIL, l] += 1
                if do_log:
                    log_n = _log(log, log_n, key >> FLOW_SHIFT, key & SEQ_MASK, l, t, -1)
                _lose(
                    p,
                    t,
                    origin,
                    size,
                    _meta_frame(meta),
                    _value(True),
                    POS,
                    pos_end,
                    FLOW,
                    SLOTS,
                    GSTAT,
                    PHIST,
                    FHIST,
                    warmup,
                    end,
                    drain,
                    EP,
                    ESTAT,
                    EPHIST,
                    DROPS,
                )
                continue
        occ_b = qb
        occ_p = rn
        if not count_in_service and rn > 0:  # the head of the ring is being transmitted
            occ_b -= ring[_u(rbase + head), 1]
            occ_p -= 1
        if bufb >= 0:
            ok = occ_b + size <= bufb
        else:
            ok = occ_p + 1 <= bufp
        if ok:
            if ppb > 0:
                s = size * ppb
            else:
                s = _service_ps(size, rate)
                if measured:
                    st_busy += s
            start = t if t > ld else ld
            dep = start + s  # Lindley: D_n = max(A_n, D_{n-1}) + S_n
            ld = dep
            tail = _u(rbase + ((head + rn) & (cap - 1)))
            ring[tail, 0] = dep
            ring[tail, 1] = size
            rn += 1
            qb += size
            lost = not plain and dep + prop > fdown  # in the buffer or on the fibre at a failure
            if measured:
                st_packets += 1
                st_bytes += size
                if occ_b + size > st_peak_b:
                    st_peak_b = occ_b + size
                if occ_p + 1 > st_peak_p:
                    st_peak_p = occ_p + 1
                if start - t > st_peak_wait and (plain or start < fdown):  # (it did start)
                    st_peak_wait = start - t
                if plain or start < fdown:
                    st_wait += start - t
                    if not plain:
                        st_started += 1
                if lost:  # counted in the epoch of its loss, the failure's
                    st_fail += 1
                    if n_ep > 1:
                        ELSTAT[_epoch_of(EP, fdown), EL_FAIL, l] += 1
            if do_log:
                log_n = _log(
                    log, log_n, key >> FLOW_SHIFT, key & SEQ_MASK, l, t, -1 if lost else dep
                )
                log[log_n - 1, LOG_START] = -1 if lost else start
            if lost:
                _lose(
                    p,
                    _value(fdown),
                    origin,
                    size,
                    _meta_frame(meta),
                    _value(True),
                    POS,
                    pos_end,
                    FLOW,
                    SLOTS,
                    GSTAT,
                    PHIST,
                    FHIST,
                    warmup,
                    end,
                    drain,
                    EP,
                    ESTAT,
                    EPHIST,
                    DROPS,
                )
            elif chain >= 0:
                c_off, c_n = _chain_put(
                    items, runs, L, chain, l, c_off, c_n, dep + prop, key, origin, meta
                )
                if direct and ppb > 0:  # the rest of the train at t, in one go
                    m, tb = _train(gen_buf, j, n_rows, t)
                    # this packet went in and nothing leaves before the next departure
                    # (> t), so each of the m rows finds what this one left: the last one
                    # sees the most bytes and packets, the ring fuller than any before it
                    hs = 0  # (the packet in service, when it does not count: rn > 0)
                    hp = 0
                    if m > 0 and not count_in_service:
                        hs = ring[_u(rbase + head), 1]
                        hp = 1
                    if (
                        m > 0
                        and rn + m <= cap
                        and (qb - hs + tb <= bufb if bufb >= 0 else rn - hp + m <= bufp)
                    ):
                        start = ld
                        wait = 0
                        nxt = head + rn
                        for _ in range(m):
                            meta = _meta(
                                gen_buf[_u(j), G_WIRE], nb.int64(c_pos), gen_buf[_u(j), G_FRAME]
                            )
                            start = ld
                            wait += start - t
                            ld = start + (meta & SIZE_MASK) * ppb
                            row = _u(rbase + (nxt & (cap - 1)))
                            ring[row, 0] = ld
                            ring[row, 1] = meta & SIZE_MASK
                            nxt += 1
                            _put(
                                items,
                                c_off + c_n,
                                ld + prop,
                                key0 | gen_buf[_u(j), G_SEQ],
                                t,
                                meta + POS_ONE,
                            )
                            c_n += 1
                            j += 1
                        hn -= m
                        rn += m
                        qb += tb
                        if measured:
                            st_packets += m
                            st_bytes += tb
                            st_wait += wait
                            if qb - hs > st_peak_b:
                                st_peak_b = qb - hs
                            if rn - hp > st_peak_p:
                                st_peak_p = rn - hp
                            if start - t > st_peak_wait:
                                st_peak_wait = start - t
            else:
                d = _forward_children(p, dep + prop, key, origin, meta, POS, L, items, runs, l)
                if d >= 0:  # delivered: settled in batches (_settle_deferred)
                    dflow[_u(nd)] = d
                    dt[_u(nd)] = dep + prop
                    dorigin[_u(nd)] = origin
                    dmeta[_u(nd)] = meta
                    nd += 1
                    if nd == DEFER_CAP:
                        _settle_deferred(
                            nd, scratch, FLOW, SLOTS, GSTAT, PHIST, FHIST, warmup, end, drain, EA
                        )
                        nd = 0
        else:
            if measured:
                st_drops += 1
                st_drop_bytes += size
                if n_ep > 1:
                    ELSTAT[e, EL_DROPS, l] += 1
            if do_log:
                log_n = _log(log, log_n, key >> FLOW_SHIFT, key & SEQ_MASK, l, t, -1)
            _lose(
                p,
                t,
                origin,
                size,
                _meta_frame(meta),
                _value(False),
                POS,
                pos_end,
                FLOW,
                SLOTS,
                GSTAT,
                PHIST,
                FHIST,
                warmup,
                end,
                drain,
                EP,
                ESTAT,
                EPHIST,
                DROPS,
            )

    if nd > 0:
        _settle_deferred(nd, scratch, FLOW, SLOTS, GSTAT, PHIST, FHIST, warmup, end, drain, EA)
    if c_n >= 0:
        L[chain, L_IN_N] = c_n
    if e >= 0:
        ELSTAT[e, EL_BYTES, l] += st_bytes - eb0
        ELSTAT[e, EL_BUSY, l] += st_busy - ebusy0 + (st_bytes - eb0) * bppb
    st_busy += st_bytes * bppb
    if plain:
        st_started = st_packets
    LSTAT[LS_PACKETS, l] += st_packets
    LSTAT[LS_BYTES, l] += st_bytes
    LSTAT[LS_DROPS, l] += st_drops
    LSTAT[LS_DROP_BYTES, l] += st_drop_bytes
    LSTAT[LS_BUSY, l] += st_busy
    LSTAT[LS_FAIL, l] += st_fail
    LSTAT[LS_WAIT, l] += st_wait
    LSTAT[LS_STARTED, l] += st_started
    LSTAT[LS_PEAK_B, l] = st_peak_b
    LSTAT[LS_PEAK_P, l] = st_peak_p
    LSTAT[LS_PEAK_WAIT, l] = st_peak_wait
    L[l, L_RING_HEAD] = head
    L[l, L_RING_N] = rn
    L[l, L_Q_BYTES] = qb
    L[l, L_LAST_DEP] = ld
    L[l, L_FAIL_PTR] = fi
    L[l, L_FAIL_FLUSHED] = flushed
    if direct:
        counters[C_HOPS] += j - j0
    else:
        # the runs lie end to end from row runs[ro, 0] to the inbox's end: the items the
        # merge took are those minus the unread tails _keep_tails leaves
        n_in = n_items - runs[_u(L[ib, L_RUN_OFF]), 0] if R > 0 else 0
        _keep_tails(ib, items, runs, L, base, R, pos, stop, lead)
        counters[C_HOPS] += n_in - L[ib, L_IN_N]
    return log_n, full, j


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload]
def _process_link(  # type: ignore[no-untyped-def]
    l,
    ib,
    t1,
    L,
    items,
    runs,
    ring,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    scratch,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    counters,
    warmup,
    end,
    drain,
    count_in_service,
    log,
    log_n,
    do_log,
):
    """Serve every arrival before ``t1`` at FIFO link ``l``, in (time, tree, seq) order,
    reading them from inbox ``ib`` (``l``'s own, or the staging inbox of a link fed by one
    source alone).

    The caller has reserved room downstream, in the log and in ``scratch`` (``N_SCRATCH`` x runs):
    this function allocates nothing, so it does no reference counting. When the ring of
    packets in the buffer is full it stops before the next arrival, keeping the unread
    arrivals in the inbox: the caller grows the ring and calls again (the ring stays as
    small as the queue ever was, so it stays in the cache). Returns the new log length
    and whether it stopped so.
    """
    log_n, full, j = _fifo_link(
        False,
        False,
        (items, 0, 0, 0, 0),
        l,
        ib,
        t1,
        L,
        items,
        runs,
        ring,
        FLOW,
        SLOTS,
        POS,
        pos_end,
        fail_down,
        fail_up,
        EA,
        scratch,
        GSTAT,
        PHIST,
        FHIST,
        LSTAT,
        counters,
        warmup,
        end,
        drain,
        count_in_service,
        log,
        log_n,
        do_log,
    )
    return log_n, full


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload]
def _process_link_plain(  # type: ignore[no-untyped-def]
    l,
    ib,
    t1,
    L,
    items,
    runs,
    ring,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    scratch,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    counters,
    warmup,
    end,
    drain,
    count_in_service,
    log,
    log_n,
    do_log,
):
    """``_process_link`` for the common case, the same loop with its rare branches compiled
    out: one epoch, no packet log, and no failure interval left on link ``l`` (the caller
    checks; the results are the same as the general loop's, only faster)."""
    log_n, full, j = _fifo_link(
        True,
        False,
        (items, 0, 0, 0, 0),
        l,
        ib,
        t1,
        L,
        items,
        runs,
        ring,
        FLOW,
        SLOTS,
        POS,
        pos_end,
        fail_down,
        fail_up,
        EA,
        scratch,
        GSTAT,
        PHIST,
        FHIST,
        LSTAT,
        counters,
        warmup,
        end,
        drain,
        count_in_service,
        log,
        log_n,
        do_log,
    )
    return log_n, full


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _process_direct(  # type: ignore[no-untyped-def]
    l,
    DI,
    t1,
    L,
    items,
    runs,
    ring,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    scratch,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    counters,
    warmup,
    end,
    drain,
    count_in_service,
):
    """``_process_link_plain`` for a fused link whose arrivals are one source's rows
    ``DI = (gen_buf, j, n, key0, c)`` (see ``_fifo_link``), served where they were
    generated: no staging inbox written and read back, no merge. Returns the next row not
    served (``n`` unless the ring was full) and whether the ring was full. Inlined into the
    window worker, which runs it once per fused link and window: a call passes each array
    as its 7 to 11 fields, about 200 stack pushes here (the merged links' loops, a few per
    window, stay functions of their own)."""
    stage = L.shape[0] - 1
    log_n, full, j = _fifo_link(
        True,
        True,
        DI,
        l,
        stage,
        t1,
        L,
        items,
        runs,
        ring,
        FLOW,
        SLOTS,
        POS,
        pos_end,
        fail_down,
        fail_up,
        EA,
        scratch,
        GSTAT,
        PHIST,
        FHIST,
        LSTAT,
        counters,
        warmup,
        end,
        drain,
        count_in_service,
        ring,  # (no packet log: the plain loop)
        0,
        False,
    )
    return j, full


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _drr_choose(sb, NQ, l, QS, qdata, quantum):  # type: ignore[no-untyped-def]
    """Deficit round robin (rule 11): the queue whose head packet goes next."""
    qs_off, qs_cap, qs_head, qs_n, qs_bytes, deficit, act, act_head, act_n, begun = QS
    while True:
        h = act_head[l]
        q = act[sb + h]
        seg = _u(sb + q)
        if begun[l] == 0:
            deficit[seg] += quantum[q]
            begun[l] = 1
        size = qdata[_u(qs_off[seg] + qs_head[seg]), 3] & SIZE_MASK
        if size <= deficit[seg]:
            deficit[seg] -= size
            if qs_n[seg] == 1:  # the queue empties: its turn is over
                deficit[seg] = 0
                act_head[l] = (h + 1) % NQ
                act_n[l] -= 1
                begun[l] = 0
            return q
        # the head does not fit: the queue goes to the tail of the round
        act_head[l] = (h + 1) % NQ
        act[sb + (h + act_n[l]) % NQ] = q
        begun[l] = 0


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload]
def _process_link_sched(  # type: ignore[no-untyped-def]
    l,
    t1,
    L,
    items,
    runs,
    qdata,
    SQ,
    QS,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    scratch,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    counters,
    warmup,
    end,
    drain,
    count_in_service,
    log,
    log_n,
    do_log,
):
    """Link ``l`` with a strict-priority or DRR scheduler (rule 11): an event loop over the
    merged arrivals before ``t1`` and the transmitter's choices at ``d <= t1``; packets still
    waiting stay in their queue rings. Allocates nothing (room reserved by the caller); when
    an arrival's queue ring is full it stops before it, like ``_process_link``, and returns
    ``(log length, True)`` for the caller to grow that ring and call again."""
    tree_queue, qbuf_b, qbuf_p, quantum, svc_size, svc_queue, QSTAT = SQ
    qs_off, qs_cap, qs_head, qs_n, qs_bytes, deficit, act, act_head, act_n, begun = QS
    EP, ESTAT, EPHIST, ELSTAT, DROPS = EA
    n_ep = EP.shape[0]
    NQ = quantum.shape[0]
    sb = l * NQ
    drr = L[l, L_SCHED] == 2
    n_items = L[l, L_IN_N]
    box = items
    base = L[l, L_IN_OFF]
    R = L[l, L_RUNS_N]
    pos = scratch[SC_POS]
    stop = scratch[SC_STOP]
    ht = scratch[SC_HT]
    hk = scratch[SC_HK]
    hr = scratch[SC_HR]
    hn, T, lead = _merge_start(
        box, runs, base, L[l, L_RUN_OFF], R, n_items, t1, pos, stop, ht, hk, hr, scratch[SC_WIN]
    )
    rate = L[l, L_RATE]
    ppb = L[l, L_PPB]
    prop = L[l, L_PROP]
    free_at = L[l, L_LAST_DEP]
    ssize = svc_size[l]
    squeue = svc_queue[l]
    chain = L[l, L_CHAIN]
    c_off = 0  # the next inbox of a chain link (see _chain_put)
    c_n = -1
    qtot = 0
    for q in range(NQ):
        qtot += qs_n[sb + q]
    fi = L[l, L_FAIL_PTR]
    fe = L[l, L_FAIL_END]
    fdown = fail_down[fi] if fi < fe else INF
    fup = fail_up[fi] if fi < fe else INF
    flushed = L[l, L_FAIL_FLUSHED]
    n_hops = 0
    e = -1  # the epoch of the latest measured arrival (several epochs only)
    full = False
    while True:
        ta = ht[0] if hn > 0 else INF
        have_dec = qtot > 0 and free_at <= ta  # the transmitter chooses before arrivals at d
        if have_dec and free_at > t1:
            break  # arrivals before that choice are not all known yet
        tnext = free_at if have_dec else ta
        if tnext == INF:
            break
        if tnext >= fdown:
            if flushed == 0:  # everything waiting at the failure is lost then
                for q in range(NQ):
                    seg = _u(sb + q)
                    o = qs_off[seg]
                    mask = qs_cap[seg] - 1
                    for j in range(qs_n[seg]):
                        row = o + ((qs_head[seg] + j) & mask)
                        tx = qdata[row, 0]
                        if do_log:
                            log_n = _log(
                                log,
                                log_n,
                                qdata[row, 1] >> FLOW_SHIFT,
                                qdata[row, 1] & SEQ_MASK,
                                l,
                                tx,
                                -1,
                            )
                        if tx >= warmup and tx < end:
                            LSTAT[LS_FAIL, l] += 1
                            if n_ep > 1:
                                ELSTAT[_epoch_of(EP, fdown), EL_FAIL, l] += 1
                        qm = qdata[row, 3]
                        _lose(
                            _meta_pos(qm),
                            _value(fdown),
                            qdata[row, 2],
                            qm & SIZE_MASK,
                            _meta_frame(qm),
                            _value(True),
                            POS,
                            pos_end,
                            FLOW,
                            SLOTS,
                            GSTAT,
                            PHIST,
                            FHIST,
                            warmup,
                            end,
                            drain,
                            EP,
                            ESTAT,
                            EPHIST,
                            DROPS,
                        )
                    qs_n[seg] = 0
                    qs_head[seg] = 0
                    qs_bytes[seg] = 0
                    deficit[seg] = 0
                act_n[l] = 0
                act_head[l] = 0
                begun[l] = 0
                qtot = 0
                if free_at > fup:
                    free_at = fup
                flushed = 1
                continue
            if tnext >= fup:  # repaired: move on to the next failure
                fi += 1
                flushed = 0
                fdown = fail_down[fi] if fi < fe else INF
                fup = fail_up[fi] if fi < fe else INF
                continue
        if have_dec:
            if drr:
                q = _drr_choose(sb, NQ, l, QS, qdata, quantum)
            else:
                q = 0
                while qs_n[sb + q] == 0:
                    q += 1
            seg = _u(sb + q)
            row = _u(qs_off[seg] + qs_head[seg])
            qs_head[seg] = (qs_head[seg] + 1) & (qs_cap[seg] - 1)
            qs_n[seg] -= 1
            qtot -= 1
            t = qdata[row, 0]
            key = qdata[row, 1]
            origin = qdata[row, 2]
            meta = qdata[row, 3]
            size = meta & SIZE_MASK
            qs_bytes[seg] -= size
            start = free_at
        else:
            t = ta
            key = hk[0]
            seg = _u(sb + tree_queue[key >> FLOW_SHIFT])
            if qs_n[seg] == qs_cap[seg]:  # no room in its queue's ring: the caller grows
                full = True  # it and calls again
                break
            ei, hn = _merge_pop(box, t1, pos, stop, ht, hk, hr, hn, T, R)
            origin = _at(box, ei + 2)
            meta = _at(box, ei + 3)
            n_hops += 1
            size = meta & SIZE_MASK
            measured = t >= warmup and t < end
            if measured and n_ep > 1:  # arrivals come in time order: the epoch only moves on
                if e < 0:
                    e = _epoch_of(EP, t)
                while e + 1 < n_ep and t >= EP[e + 1]:
                    e += 1
            if t >= fdown:  # down (after the flush): lost at arrival
                if measured:
                    LSTAT[LS_FAIL, l] += 1
                    if n_ep > 1:
                        ELSTAT[e, EL_FAIL, l] += 1
                if do_log:
                    log_n = _log(log, log_n, key >> FLOW_SHIFT, key & SEQ_MASK, l, t, -1)
                _lose(
                    _meta_pos(meta),
                    t,
                    origin,
                    size,
                    _meta_frame(meta),
                    _value(True),
                    POS,
                    pos_end,
                    FLOW,
                    SLOTS,
                    GSTAT,
                    PHIST,
                    FHIST,
                    warmup,
                    end,
                    drain,
                    EP,
                    ESTAT,
                    EPHIST,
                    DROPS,
                )
                continue
            q = tree_queue[key >> FLOW_SHIFT]
            seg = _u(sb + q)
            occ_b = qs_bytes[seg]
            occ_p = qs_n[seg]
            if count_in_service and free_at > t and squeue == q:
                occ_b += ssize
                occ_p += 1
            bb = qbuf_b[l, q]
            if bb >= 0:
                ok = occ_b + size <= bb
            else:
                ok = occ_p + 1 <= qbuf_p[l, q]
            if not ok:
                if measured:
                    LSTAT[LS_DROPS, l] += 1
                    LSTAT[LS_DROP_BYTES, l] += size
                    QSTAT[QT_DROPS, seg] += 1
                    QSTAT[QT_DROP_BYTES, seg] += size
                    if n_ep > 1:
                        ELSTAT[e, EL_DROPS, l] += 1
                if do_log:
                    log_n = _log(log, log_n, key >> FLOW_SHIFT, key & SEQ_MASK, l, t, -1)
                _lose(
                    _meta_pos(meta),
                    t,
                    origin,
                    size,
                    _meta_frame(meta),
                    _value(False),
                    POS,
                    pos_end,
                    FLOW,
                    SLOTS,
                    GSTAT,
                    PHIST,
                    FHIST,
                    warmup,
                    end,
                    drain,
                    EP,
                    ESTAT,
                    EPHIST,
                    DROPS,
                )
                continue
            s = size * ppb if ppb > 0 else _service_ps(size, rate)
            if measured:
                LSTAT[LS_PACKETS, l] += 1
                LSTAT[LS_BYTES, l] += size
                LSTAT[LS_BUSY, l] += s
                if occ_b + size > LSTAT[LS_PEAK_B, l]:
                    LSTAT[LS_PEAK_B, l] = occ_b + size
                if occ_p + 1 > LSTAT[LS_PEAK_P, l]:
                    LSTAT[LS_PEAK_P, l] = occ_p + 1
                QSTAT[QT_PACKETS, seg] += 1
                QSTAT[QT_BYTES, seg] += size
                if occ_b + size > QSTAT[QT_PEAK_B, seg]:
                    QSTAT[QT_PEAK_B, seg] = occ_b + size
                if occ_p + 1 > QSTAT[QT_PEAK_P, seg]:
                    QSTAT[QT_PEAK_P, seg] = occ_p + 1
                if n_ep > 1:
                    ELSTAT[e, EL_BYTES, l] += size
                    ELSTAT[e, EL_BUSY, l] += s
            if qtot > 0 or free_at > t:  # wait in its queue
                if drr and qs_n[seg] == 0:
                    act[sb + (act_head[l] + act_n[l]) % NQ] = q
                    act_n[l] += 1
                    deficit[seg] = 0
                row = _u(qs_off[seg] + ((qs_head[seg] + qs_n[seg]) & (qs_cap[seg] - 1)))
                qdata[row, 0] = t
                qdata[row, 1] = key
                qdata[row, 2] = origin
                qdata[row, 3] = meta
                qs_n[seg] += 1
                qs_bytes[seg] += size
                qtot += 1
                continue
            start = t  # an idle transmitter with empty queues starts at once
        # transmission of (t, key, origin, meta) from queue q starts at `start`
        s = size * ppb if ppb > 0 else _service_ps(size, rate)
        dep = start + s
        free_at = dep
        ssize = size
        squeue = q
        if t >= warmup and t < end and start - t > LSTAT[LS_PEAK_WAIT, l]:
            LSTAT[LS_PEAK_WAIT, l] = start - t
        if t >= warmup and t < end:
            LSTAT[LS_WAIT, l] += start - t
            LSTAT[LS_STARTED, l] += 1
            QSTAT[QT_WAIT, seg] += start - t
            QSTAT[QT_STARTED, seg] += 1
            if start - t > QSTAT[QT_PEAK_WAIT, seg]:
                QSTAT[QT_PEAK_WAIT, seg] = start - t
        if do_log:
            log_n = _log(
                log,
                log_n,
                key >> FLOW_SHIFT,
                key & SEQ_MASK,
                l,
                t,
                -1 if dep + prop > fdown else dep,
            )
            log[log_n - 1, LOG_START] = -1 if dep + prop > fdown else start
        if dep + prop > fdown:  # on the link or the fibre when it fails
            if t >= warmup and t < end:
                LSTAT[LS_FAIL, l] += 1
                if n_ep > 1:
                    ELSTAT[_epoch_of(EP, fdown), EL_FAIL, l] += 1
            _lose(
                _meta_pos(meta),
                _value(fdown),
                origin,
                size,
                _meta_frame(meta),
                _value(True),
                POS,
                pos_end,
                FLOW,
                SLOTS,
                GSTAT,
                PHIST,
                FHIST,
                warmup,
                end,
                drain,
                EP,
                ESTAT,
                EPHIST,
                DROPS,
            )
        elif chain >= 0:
            c_off, c_n = _chain_put(
                items, runs, L, chain, l, c_off, c_n, dep + prop, key, origin, meta
            )
        else:
            _forward(
                _meta_pos(meta),
                dep + prop,
                key,
                origin,
                meta,
                POS,
                L,
                items,
                runs,
                FLOW,
                SLOTS,
                GSTAT,
                PHIST,
                FHIST,
                warmup,
                end,
                drain,
                l,
                EA,
            )
    if c_n >= 0:
        L[chain, L_IN_N] = c_n
    L[l, L_LAST_DEP] = free_at
    svc_size[l] = ssize
    svc_queue[l] = squeue
    L[l, L_FAIL_PTR] = fi
    L[l, L_FAIL_FLUSHED] = flushed
    counters[C_HOPS] += n_hops
    _keep_tails(l, items, runs, L, base, R, pos, stop, lead)
    return log_n, full


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _log(log, log_n, flow, seq, l, t, dep):  # type: ignore[no-untyped-def]
    """Append a packet log row (``LOG_COLS`` columns); its transmission start, set by the
    caller when the packet leaves the link, is -1 until then."""
    log[log_n, 0] = flow
    log[log_n, 1] = seq
    log[log_n, 2] = l
    log[log_n, 3] = t
    log[log_n, 4] = dep
    log[log_n, LOG_START] = -1
    return log_n + 1


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _inject_rows(  # type: ignore[no-untyped-def]
    tree,
    root,
    gen_buf,
    n,
    items,
    runs,
    L,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    GSTAT,
    EA,
    warmup,
    stage,
    direct,
):
    """Copy ``n`` generated packets of ``tree`` (in time order, whole frames) into the
    inboxes of its root's children's links (room reserved; the staging inbox for a
    fused link), one run each, but for child position ``direct`` (-1: none), whose link
    reads them from ``gen_buf``; and count them sent and open their camera frames for
    every delivery flow of the tree. Returns 1 on frame-slot overflow."""
    EP, ESTAT, EPHIST, ELSTAT, DROPS = EA
    n_ep = EP.shape[0]
    err = 0
    owner = -2 - tree
    key0 = tree << FLOW_SHIFT
    c = POS[root, P_FIRST]
    while c >= 0:
        if c == direct:
            c = POS[_u(c), P_SIB]
            continue
        m = _inbox_of(L, POS[_u(c), P_LINK], stage)
        for j in range(n):
            t = gen_buf[_u(j), G_T]
            _append(
                items,
                runs,
                L,
                m,
                owner,
                t,
                key0 | gen_buf[_u(j), G_SEQ],
                t,
                _meta(gen_buf[_u(j), G_WIRE], nb.int64(c), gen_buf[_u(j), G_FRAME]),
            )
        L[m, L_RUN_OWNER] = -1
        c = POS[_u(c), P_SIB]
    j0 = 0  # rows are in time order: the first one counted
    while j0 < n and gen_buf[j0, G_T] < warmup:
        j0 += 1
    camera = n > 0 and gen_buf[0, G_FRAME] >= 0  # (whole frames only, in order)
    for q in range(root, pos_end[root]):
        f = POS[q, P_DELIVER]
        if f < 0:
            continue
        g = FLOW[f, F_GROUP]
        GSTAT[GS_SENT, g] += n - j0
        if n_ep > 1 and j0 < n:
            e = _epoch_of(EP, gen_buf[j0, G_T])
            k = 0
            for j in range(j0, n):
                while e + 1 < n_ep and gen_buf[j, G_T] >= EP[e + 1]:
                    ESTAT[e, ES_SENT, g] += k
                    k = 0
                    e += 1
                k += 1
            ESTAT[e, ES_SENT, g] += k
        if camera:
            j = 0
            while j < n:  # one frame: open its slot
                t = gen_buf[_u(j), G_T]
                slot = _frame_slot(FLOW, f, gen_buf[_u(j), G_FRAME])
                if _load_acquire(SLOTS, slot, S_REM) != 0:
                    err = ERR_FRAME_SLOTS
                SLOTS[slot, S_REM] = gen_buf[_u(j), G_NPK]
                SLOTS[slot, S_ORIGIN] = t
                SLOTS[slot, S_LAST] = -1
                SLOTS[slot, S_FLAGS] = (gen_buf[_u(j), G_FRAME] & FRAME_MASK) << FLAG_BITS
                if t >= warmup:
                    GSTAT[GS_FSENT, g] += 1
                j += gen_buf[_u(j), G_NPK]
    return err


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _frames_fit(FLOW, SLOTS, f, gen_buf, n):  # type: ignore[no-untyped-def]
    """Whether each camera frame of ``gen_buf[:n]`` (whole frames) finds its slot of delivery
    flow ``f`` free."""
    j = 0
    while j < n:
        if _load_acquire(SLOTS, _frame_slot(FLOW, f, gen_buf[_u(j), G_FRAME]), S_REM) != 0:
            return False
        j += gen_buf[_u(j), G_NPK]
    return True


@nb.njit(cache=True, error_model="numpy")
def _grow_slots(FLOW, SLOTS, counters, f):  # type: ignore[no-untyped-def]
    """Double delivery flow ``f``'s ring of frame slots: a new ring at the table's top (the
    table grows when full), each open frame moved to its slot there. Returns the table.

    The rings are sized at the start from the route's worst-case delay, which bounds how
    long a frame stays open on FIFO and DRR links; a camera in a low strict-priority queue
    can be starved for as long as the higher queues stay busy, and grows its ring here."""
    size = FLOW[f, F_SLOT_MASK] + 1
    base = FLOW[f, F_SLOT_BASE]
    new_size = 2 * size
    top = counters[TOP_SLOTS]
    SLOTS = _room_at_top(SLOTS, top, new_size)  # (its new rows are zero: free slots)
    for j in range(size):
        if SLOTS[base + j, S_REM] != 0:
            row = top + ((SLOTS[base + j, S_FLAGS] >> FLAG_BITS) & (new_size - 1))
            for c in range(N_SCOLS):
                SLOTS[row, c] = SLOTS[base + j, c]
    FLOW[f, F_SLOT_BASE] = top
    FLOW[f, F_SLOT_MASK] = new_size - 1
    counters[TOP_SLOTS] = top + new_size
    return SLOTS


# the window worker's cursor (``_windows``): where it stopped, what it asks its caller to grow
(
    CU_T0,  # the window being run starts here
    CU_PASS,  # 1 once the final pass (everything left) has run
    CU_STEP,  # the step of the work list being run
    CU_PHASE,  # PH_* of that step
    CU_TREE,  # (source steps) the tree being injected
    CU_N,  # (source steps) rows generated so far
    CU_ARG,  # what to grow: a delivery flow, an inbox, a link
    CU_NEED,  # how many rows it must hold
    CU_LOG_N,  # rows of the packet log
    CU_ERR,  # ERR_* seen so far
    CU_DIRECT_N,  # rows of the generation buffer left for the source's fused link (0: none)
    CU_DIRECT_J,  # ... the first of them it has not served yet
    CU_DIRECT_POS,  # ... their position in their tree (the root's child on that link)
    CU_DIRECT_TREE,  # ... and their tree
) = range(14)
N_CURSOR = 14
# a step's phases: a source generates, then injects tree by tree; a link checks the room
# downstream, then runs its loop (again after each growth of its ring or queues)
PH_GEN, PH_INJECT = 0, 1
PH_CHECK, PH_RUN = 0, 1
# what the worker returns: done, or which buffer must grow before it is called again
(
    GROW_NONE,
    GROW_GEN,  # the generation buffer (gen_source stopped on a full buffer)
    GROW_SLOTS,  # delivery flow CU_ARG's frame-slot ring
    GROW_INBOX,  # link CU_ARG's inbox, for CU_NEED more items in one more run
    GROW_LOG,  # the packet log, to CU_NEED rows at least
    GROW_SCRATCH,  # the merge scratch, to CU_NEED runs
    GROW_RING,  # FIFO link CU_ARG's ring
    GROW_QDATA,  # the full queue rings of scheduled link CU_ARG
    GROW_DROPS,  # the buffer of deferred drops, to CU_NEED rows
    STOP_FRAME_SLOTS,  # stopped: delivery flow CU_ARG's frame-slot ring, full at its limit
    MOVED_STORE,  # (advance) a store was reallocated: the caller may move it, then call again
) = range(11)


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _source_step(  # type: ignore[no-untyped-def]
    cursor,
    s,
    t0,
    t1,
    TA,
    SA,
    gen_buf,
    source_tree_start,
    tree_pos0,
    L,
    items,
    runs,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    GSTAT,
    EA,
    warmup,
    stage,
    pause_slots,
    do_log,
):
    """Generate source ``s``'s packets of ``[t0, t1)`` and inject them into each of its
    trees, resuming at ``cursor``'s phase; returns ``GROW_NONE`` when done, else the buffer
    to grow first (nothing of the tree being injected is written before its room is there,
    so the step resumes by checking that tree again). A source of one tree whose fused
    link the plain loop may run (``_direct_child``) leaves that link's packets in
    ``gen_buf`` (``CU_DIRECT_*``) for the link's step, next in the work list, to read them
    there. A frame that finds its slot taken in a ring that cannot grow any more
    (``F_SLOT_LIMIT``) is an overflow: the step sets
    ``ERR_FRAME_SLOTS`` and returns ``STOP_FRAME_SLOTS`` before writing anything, and the run
    ends there with an error (taking the slot would let the open frame's packets settle into
    the new frame's: a negative frame latency, counted out of its histogram's bounds); but
    with ``pause_slots`` the step returns ``GROW_SLOTS`` first: the caller decides (with two
    parts, once the downstream part has freed what it frees on one thread)."""
    if cursor[CU_PHASE] == PH_GEN:
        n, done = gen_source(s, t0, t1, TA, SA, gen_buf, cursor[CU_N])
        cursor[CU_N] = n
        if not done:
            return GROW_GEN
        cursor[CU_PHASE] = PH_INJECT
        cursor[CU_TREE] = source_tree_start[s]
    n = cursor[CU_N]
    if n == 0:
        return GROW_NONE
    camera = gen_buf[0, G_FRAME] >= 0
    for tr in range(cursor[CU_TREE], source_tree_start[s + 1]):
        cursor[CU_TREE] = tr
        root = tree_pos0[tr]
        for q in range(root, pos_end[root] if camera else root):
            f = POS[q, P_DELIVER]  # each frame opens a slot per delivery flow
            if f >= 0 and not _frames_fit(FLOW, SLOTS, f, gen_buf, n):
                cursor[CU_ARG] = f
                if pause_slots or FLOW[f, F_SLOT_MASK] + 1 < FLOW[f, F_SLOT_LIMIT]:
                    return GROW_SLOTS
                # full at its limit: the run stops before the frame takes a slot still in
                # use (the open frame's packets would settle into the new one's slot)
                cursor[CU_ERR] |= ERR_FRAME_SLOTS
                return STOP_FRAME_SLOTS
        direct = -1
        if source_tree_start[s + 1] - source_tree_start[s] == 1 and not do_log:
            direct = _direct_child(L, POS, root, EA)
        c = POS[root, P_FIRST]
        while c >= 0:
            m = _inbox_of(L, POS[c, P_LINK], stage)
            if c != direct and _needs_room(L, m, n):
                cursor[CU_ARG] = m
                cursor[CU_NEED] = n
                return GROW_INBOX
            c = POS[c, P_SIB]
        if direct >= 0:
            cursor[CU_DIRECT_N] = n
            cursor[CU_DIRECT_J] = 0
            cursor[CU_DIRECT_POS] = direct
            cursor[CU_DIRECT_TREE] = tr
        cursor[CU_ERR] |= _inject_rows(
            tr,
            root,
            gen_buf,
            n,
            items,
            runs,
            L,
            FLOW,
            SLOTS,
            POS,
            pos_end,
            GSTAT,
            EA,
            warmup,
            stage,
            direct,
        )
    return GROW_NONE


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _direct_child(L, POS, root, EA):  # type: ignore[no-untyped-def]
    """The child position of ``root`` whose link may read the tree's generated packets
    where they were generated (``_process_direct``), or -1: the only child on a fused link,
    which the plain loop runs (one epoch, no failure left on it; the caller checks that
    there is no packet log and that the source has one tree, so that the link's inbox
    would hold this one run)."""
    if EA[0].shape[0] != 1:
        return -1
    direct = -1
    c = POS[root, P_FIRST]
    while c >= 0:
        m = POS[c, P_LINK]
        if L[m, L_FUSED]:
            if direct >= 0 or L[m, L_FAIL_PTR] < L[m, L_FAIL_END]:
                return -1
            direct = c
        c = POS[c, P_SIB]
    return direct


@nb.njit(cache=True, error_model="numpy", _nrt=False, inline="always")  # type: ignore[call-overload]
def _link_step(  # type: ignore[no-untyped-def]
    cursor,
    l,
    t1,
    L,
    counters,
    items,
    runs,
    ring,
    qdata,
    SQ,
    QS,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    SUCC,
    scratch,
    GSTAT,
    HIST,
    LSTAT,
    RUN,
    log,
    do_log,
    gen_buf,
    plain_loop,
    general_loop,
    sched_loop,
):
    """Run link ``l``'s loop for the window ending at ``t1``, resuming at ``cursor``'s
    phase: first the room downstream (for every packet that may leave), in the log and in
    the merge scratch, then the loop, which stops when the link's ring (or a queue's) is
    full and runs on from there once it has grown. Returns ``GROW_NONE`` when done, else
    the buffer to grow first. ``RUN`` is ``(warmup, end, drain, count_in_service)`` (an
    inlined call takes at most 30 arguments). A fused link whose source left its packets
    in ``gen_buf`` (``CU_DIRECT_N``, see ``_source_step``) reads them there. ``SUCC`` is
    ``(succ_start, succ)``, ``HIST`` ``(PHIST, FHIST)``; ``plain_loop``, ``general_loop``
    and ``sched_loop``: the loops the run reaches (True) or not (None), see ``_windows``."""
    warmup, end, drain, count_in_service = RUN
    succ_start, succ = SUCC
    PHIST, FHIST = HIST
    stage = L.shape[0] - 1  # the staging inbox
    plain = EA[0].shape[0] == 1 and not do_log  # FIFO links without failures: the plain loop
    ib = _inbox_of(L, l, stage)
    sched = L[l, L_SCHED]
    direct = cursor[CU_DIRECT_N] > 0 and L[l, L_FUSED] != 0
    if cursor[CU_PHASE] == PH_CHECK:
        n_out = L[ib, L_IN_N]  # packets that may leave the link in this pass
        if direct:
            n_out = cursor[CU_DIRECT_N] - cursor[CU_DIRECT_J]
        if sched != 0:
            NQ = SQ[3].shape[0]
            qs_n = QS[3]
            for q in range(NQ):  # a scheduled link may still have packets waiting
                n_out += qs_n[l * NQ + q]
        if n_out == 0:
            return GROW_NONE
        for k in range(succ_start[l], succ_start[l + 1]):
            m = succ[k]
            if _needs_room(L, m, n_out):
                cursor[CU_ARG] = m
                cursor[CU_NEED] = n_out
                return GROW_INBOX
        if do_log and cursor[CU_LOG_N] + n_out > log.shape[0]:
            cursor[CU_NEED] = cursor[CU_LOG_N] + n_out
            return GROW_LOG
        if L[ib, L_RUNS_N] > scratch.shape[1]:
            cursor[CU_NEED] = L[ib, L_RUNS_N]
            return GROW_SCRATCH
        DROPS = EA[4]  # each packet of the pass is dropped at most once
        if DROPS[0, DR_DEFER] != 0 and DROPS[0, DR_N] + n_out >= DROPS.shape[0]:
            cursor[CU_NEED] = DROPS[0, DR_N] + n_out + 1
            return GROW_DROPS
        cursor[CU_PHASE] = PH_RUN
    if plain_loop is not None and direct:  # (pruned when plain_loop is None, see _windows)
        DI = (
            gen_buf,
            cursor[CU_DIRECT_J],
            cursor[CU_DIRECT_N],
            cursor[CU_DIRECT_TREE] << FLOW_SHIFT,
            cursor[CU_DIRECT_POS],
        )
        j, full = _process_direct(
            l,
            DI,
            t1,
            L,
            items,
            runs,
            ring,
            FLOW,
            SLOTS,
            POS,
            pos_end,
            fail_down,
            fail_up,
            EA,
            scratch,
            GSTAT,
            PHIST,
            FHIST,
            LSTAT,
            counters,
            warmup,
            end,
            drain,
            count_in_service,
        )
        cursor[CU_DIRECT_J] = j
        if full:
            cursor[CU_ARG] = l
            return GROW_RING
        cursor[CU_DIRECT_N] = 0
        cursor[CU_DIRECT_J] = 0
        return GROW_NONE
    if sched == 0:
        if plain_loop is not None and plain and L[l, L_FAIL_PTR] >= L[l, L_FAIL_END]:
            log_n, full = _process_link_plain(
                l,
                ib,
                t1,
                L,
                items,
                runs,
                ring,
                FLOW,
                SLOTS,
                POS,
                pos_end,
                fail_down,
                fail_up,
                EA,
                scratch,
                GSTAT,
                PHIST,
                FHIST,
                LSTAT,
                counters,
                warmup,
                end,
                drain,
                count_in_service,
                log,
                cursor[CU_LOG_N],
                do_log,
            )
        elif general_loop is None:  # (pruned, as the call below, when it is True)
            raise RuntimeError("a link needs the general FIFO loop: general_loop is None")
        else:  # (compiled only when general_loop is True, see _windows)
            log_n, full = _process_link(
                l,
                ib,
                t1,
                L,
                items,
                runs,
                ring,
                FLOW,
                SLOTS,
                POS,
                pos_end,
                fail_down,
                fail_up,
                EA,
                scratch,
                GSTAT,
                PHIST,
                FHIST,
                LSTAT,
                counters,
                warmup,
                end,
                drain,
                count_in_service,
                log,
                cursor[CU_LOG_N],
                do_log,
            )
        cursor[CU_LOG_N] = log_n
        if full:
            cursor[CU_ARG] = l
            return GROW_RING
        return GROW_NONE
    if sched_loop is None:  # (pruned, as the call below, when it is True)
        raise RuntimeError("a link has a scheduler: sched_loop is None")
    log_n, full = _process_link_sched(
        l,
        t1,
        L,
        items,
        runs,
        qdata,
        SQ,
        QS,
        FLOW,
        SLOTS,
        POS,
        pos_end,
        fail_down,
        fail_up,
        EA,
        scratch,
        GSTAT,
        PHIST,
        FHIST,
        LSTAT,
        counters,
        warmup,
        end,
        drain,
        count_in_service,
        log,
        cursor[CU_LOG_N],
        do_log,
    )
    cursor[CU_LOG_N] = log_n
    if full:
        cursor[CU_ARG] = l
        return GROW_QDATA
    return GROW_NONE


@nb.njit(cache=True, error_model="numpy", _nrt=False)  # type: ignore[call-overload]
def _windows(  # type: ignore[no-untyped-def]
    cursor,
    t_to,
    window,
    final,
    TA,
    SA,
    gen_buf,
    source_tree_start,
    tree_pos0,
    work,
    L,
    counters,
    items,
    runs,
    ring,
    qdata,
    SQ,
    QS,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    succ_start,
    succ,
    scratch,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    warmup,
    end,
    drain,
    count_in_service,
    log,
    do_log,
    pause_slots,
    plain_loop,
    general_loop,
    sched_loop,
):
    """The allocation-free worker of :func:`advance`: runs the windows from ``cursor``'s
    window start (``CU_T0``) to ``t_to`` (then, with ``final``, the final pass), each
    window's work list from ``cursor``'s step on, until done (returns ``GROW_NONE``) or a
    buffer must grow (returns a ``GROW_*`` code, ``cursor`` saying where it stopped and what
    is needed: the caller grows it and calls again). It never allocates, so it runs without
    reference counting, and its arguments are passed once per call rather than per step.

    Its three callers (:func:`advance`, :func:`up_steps`, :func:`down_steps`) share one
    compiled signature per run's loops: a literal flag (``False``) would make Numba compile
    this worker, the largest kernel, once more for that value; the steps pass
    ``_value(False)`` and ``_value(True)``, plain booleans as ``advance``'s arguments are.

    ``plain_loop``, ``general_loop`` and ``sched_loop`` say which link loops the run may
    reach (``core.engine.link_loops``): True, or None when it never does. Numba prunes a
    branch on whether an argument is None before typing (``dead_branch_prune``), so with
    None the loop's call in ``_link_step`` is never typed and the loop is not compiled for
    the run: ``_process_link_plain`` and ``_process_direct`` (one epoch, no packet log),
    ``_process_link`` (the general FIFO loop: epochs, a log, failures) or
    ``_process_link_sched``. Each combination is a signature of this worker (and of
    ``advance`` and the steps); a link reaching a loop left out raises."""
    stage = L.shape[0] - 1  # the staging inbox
    n_work = work.shape[0]
    t0 = cursor[CU_T0]
    while t0 < t_to or (final and cursor[CU_PASS] == 0):
        t1 = min(t0 + window, t_to) if t0 < t_to else INF  # the final pass: everything left
        for i in range(cursor[CU_STEP], n_work):
            cursor[CU_STEP] = i
            l = work[i]
            if l < 0:  # generation and injection of source -1 - l
                if t1 == INF:
                    continue
                grow = _source_step(
                    cursor,
                    -1 - l,
                    t0,
                    t1,
                    TA,
                    SA,
                    gen_buf,
                    source_tree_start,
                    tree_pos0,
                    L,
                    items,
                    runs,
                    FLOW,
                    SLOTS,
                    POS,
                    pos_end,
                    GSTAT,
                    EA,
                    warmup,
                    stage,
                    pause_slots,
                    do_log,
                )
            else:
                grow = _link_step(
                    cursor,
                    l,
                    t1,
                    L,
                    counters,
                    items,
                    runs,
                    ring,
                    qdata,
                    SQ,
                    QS,
                    FLOW,
                    SLOTS,
                    POS,
                    pos_end,
                    fail_down,
                    fail_up,
                    EA,
                    (succ_start, succ),
                    scratch,
                    GSTAT,
                    (PHIST, FHIST),
                    LSTAT,
                    (warmup, end, drain, count_in_service),
                    log,
                    do_log,
                    gen_buf,
                    plain_loop,
                    general_loop,
                    sched_loop,
                )
            if grow != GROW_NONE:
                return grow
            cursor[CU_PHASE] = 0  # (PH_GEN, PH_CHECK)
            cursor[CU_N] = 0
        cursor[CU_STEP] = 0
        if t0 < t_to:
            t0 = t1
            cursor[CU_T0] = t0
        else:
            cursor[CU_PASS] = 1
    return GROW_NONE


@nb.njit(cache=True, error_model="numpy", nogil=True)
def advance(  # type: ignore[no-untyped-def]
    cursor,
    scratch,
    t_to,
    window,
    final,
    pause_slots,
    TA,
    SA,
    gen_buf,
    source_tree_start,
    tree_pos0,
    work,
    L,
    counters,
    items,
    runs,
    ring,
    qdata,
    SQ,
    QS,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    succ_start,
    succ,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    warmup,
    end,
    drain,
    count_in_service,
    log,
    do_log,
    plain_loop,
    general_loop,
    sched_loop,
):
    """Simulate from ``cursor``'s window start (``CU_T0``) to ``t_to``, window by window;
    with ``final``, then everything left.

    Each window runs ``work`` in order: ``-1 - s`` generates source ``s``'s packets and
    injects them, ``l >= 0`` computes link ``l`` (every link after the links feeding it).
    A FIFO link fed by one source alone (``L[l, L_FUSED]``, at most one per source: a camera's
    access link) comes right after that source, and its packets go through the staging
    inbox (the inbox store's last segment, reused by every such link, so it stays in the
    cache) instead of its own, or are read where they were generated (``_source_step``).

    This is the only kernel that allocates: the windows run in the allocation-free worker
    :func:`_windows`, which returns here only when a buffer must grow. ``cursor`` (``CU_*``,
    kept by the caller from call to call: a fresh one is zero but for ``CU_T0``) says where
    the run stands, the rows of the packet log (``CU_LOG_N``) and ``CU_ERR``, non-zero when
    a camera flow had more frames open than its frame-slot ring can hold (the call then
    stops at once with ``STOP_FRAME_SLOTS``, the run cannot go on: the caller reports
    it). ``scratch``: the link loops' scratch (``N_SCRATCH`` rows, at least ``DEFER_CAP``
    columns). With ``pause_slots``, a frame-slot ring that must grow is not
    grown here: the call returns ``GROW_SLOTS`` (the flow in ``CU_ARG``) for the caller to
    grow it (``_grow_slots``) when nothing else uses the table, and to call again, which
    resumes where this one stopped; it returns so as well for a ring full at its limit
    (``F_SLOT_LIMIT``), for the caller to call again without ``pause_slots`` once the
    table holds what one thread would see (the run then stops, as above, if the frame
    still finds its slot taken). A store of the link loops (inbox items, their runs, the
    rings, the queues' rings) that had to double returns ``MOVED_STORE`` at once, its
    growth done: the caller may move the new array to memory of its choice (huge pages:
    NRT's allocation gets ordinary ones) and call again, which resumes where this one
    stopped. Returns that code (else ``GROW_NONE``) and the (possibly reallocated) buffers.
    ``plain_loop``, ``general_loop`` and ``sched_loop`` (True or None): the link loops the
    run reaches, a signature each (see :func:`_windows`). Runs without the GIL.
    """
    qs_off, qs_cap, qs_head, qs_n = QS[0], QS[1], QS[2], QS[3]
    NQ = SQ[3].shape[0]
    while True:
        grow = _windows(
            cursor,
            t_to,
            window,
            final,
            TA,
            SA,
            gen_buf,
            source_tree_start,
            tree_pos0,
            work,
            L,
            counters,
            items,
            runs,
            ring,
            qdata,
            SQ,
            QS,
            FLOW,
            SLOTS,
            POS,
            pos_end,
            fail_down,
            fail_up,
            EA,
            succ_start,
            succ,
            scratch,
            GSTAT,
            PHIST,
            FHIST,
            LSTAT,
            warmup,
            end,
            drain,
            count_in_service,
            log,
            do_log,
            pause_slots,
            plain_loop,
            general_loop,
            sched_loop,
        )
        arg, need = cursor[CU_ARG], cursor[CU_NEED]
        if grow == GROW_NONE:
            break
        if grow == STOP_FRAME_SLOTS:  # (the run cannot go on: the caller reports it)
            break
        if grow == GROW_SLOTS and pause_slots:
            break
        stores = items.shape[0] + runs.shape[0] + ring.shape[0] + qdata.shape[0]
        if grow == GROW_GEN:
            n = cursor[CU_N]
            bigger = np.empty((2 * gen_buf.shape[0], gen_buf.shape[1]), np.int64)
            copy_rows(bigger, gen_buf, n)
            gen_buf = bigger
        elif grow == GROW_SLOTS:
            SLOTS = _grow_slots(FLOW, SLOTS, counters, arg)
        elif grow == GROW_INBOX:
            items, runs = _reserve(items, runs, L, counters, arg, need)
        elif grow == GROW_LOG:
            bigger = np.empty((2 * need, LOG_COLS), np.int64)
            copy_rows(bigger, log, cursor[CU_LOG_N])
            log = bigger
        elif grow == GROW_SCRATCH:
            if need >= MAX_RUNS:  # (the merge tree's slots hold a run in HEAD_SHIFT bits)
                raise ValueError("more inbox runs at one link than the merge can hold")
            scratch = np.empty((N_SCRATCH, 2 * need), np.int64)
        elif grow == GROW_DROPS:
            drops = np.zeros((2 * need, DR_COLS), np.int64)
            copy_rows(drops, EA[4], EA[4][0, DR_N] + 1)
            EA = (EA[0], EA[1], EA[2], EA[3], drops)
        elif grow == GROW_RING:
            ring = _grow_ring(
                ring,
                L[:, L_RING_OFF],
                L[:, L_RING_CAP],
                L[:, L_RING_HEAD],
                L[arg, L_RING_N],
                counters,
                _value(TOP_RING),
                arg,
                2 * L[arg, L_RING_CAP],
            )  # (the kept tails fit the scratch)
        else:  # GROW_QDATA
            for q in range(NQ):
                seg = arg * NQ + q
                if qs_n[seg] == qs_cap[seg]:
                    qdata = _grow_ring(
                        qdata,
                        qs_off,
                        qs_cap,
                        qs_head,
                        qs_n[seg],
                        counters,
                        _value(TOP_QDATA),
                        seg,
                        2 * qs_cap[seg],
                    )
        if items.shape[0] + runs.shape[0] + ring.shape[0] + qdata.shape[0] != stores:
            grow = MOVED_STORE  # (a store doubled: this allocation is not on huge pages)
            break
    return grow, gen_buf, items, runs, ring, qdata, SLOTS, log, scratch, EA[4]


@nb.njit(cache=True, error_model="numpy", nogil=True)
def settle_drops(  # type: ignore[no-untyped-def]
    DROPS, POS, pos_end, FLOW, SLOTS, GSTAT, PHIST, FHIST, warmup, end, drain, EA
):
    """Settle the drops recorded in ``DROPS`` by the upstream part of a run cut in two (see
    ``_lose``), then empty it. ``EA``: this part's epoch arrays (its drop buffer does not
    defer). Counters, extremes, histograms and frame outcomes do not depend on the order
    in which packets are settled; what does (a flow's jitter, ``F_LAST_LAT``) only
    deliveries change."""
    EP, ESTAT, EPHIST, ELSTAT, NOW = EA
    for j in range(1, DROPS[0, DR_N] + 1):
        _lose(
            DROPS[j, 0],
            DROPS[j, 1],
            DROPS[j, 2],
            DROPS[j, 3],
            DROPS[j, 4],
            DROPS[j, 5] != 0,
            POS,
            pos_end,
            FLOW,
            SLOTS,
            GSTAT,
            PHIST,
            FHIST,
            warmup,
            end,
            drain,
            EP,
            ESTAT,
            EPHIST,
            NOW,
        )
    DROPS[0, DR_N] = 0


@nb.njit(cache=True, error_model="numpy", nogil=True)
def hand_off(cut, L_from, items_from, runs_from, L_to, items_to, runs_to, counters_to):  # type: ignore[no-untyped-def]
    """Move the inboxes of the links ``cut`` from one part of a run cut in two to the other:
    each inbox's runs are appended, run by run, to the same link's inbox there (after
    its kept tails), and emptied here. A link merges its runs by ``(time, key)``, a total
    order (a tree carries one copy of a packet over a link), so where a run sits in the
    inbox changes nothing. Returns the other part's (possibly reallocated) item and run
    stores."""
    for k in range(cut.shape[0]):
        m = cut[k]
        n = L_from[m, L_IN_N]
        R = L_from[m, L_RUNS_N]
        if n == 0:
            continue
        n0 = L_to[m, L_IN_N]
        r0 = L_to[m, L_RUNS_N]
        if n0 + n > L_to[m, L_IN_CAP]:
            items_to = _relocate(
                items_to,
                L_to,
                _value(L_IN_OFF),
                _value(L_IN_CAP),
                n0,
                counters_to,
                _value(TOP_ITEMS),
                m,
                n0 + n,
            )
        if r0 + R > L_to[m, L_RUN_CAP]:
            runs_to = _relocate(
                runs_to,
                L_to,
                _value(L_RUN_OFF),
                _value(L_RUN_CAP),
                r0,
                counters_to,
                _value(TOP_RUNS),
                m,
                r0 + R,
            )
    _copy_items(cut, L_from, items_from, L_to, items_to, _value(0), _cut_items(cut, L_from))
    _take_runs(cut, L_from, runs_from, L_to, runs_to)
    return items_to, runs_to


@nb.njit(cache=True, error_model="numpy")
def _cut_items(cut, L):  # type: ignore[no-untyped-def]
    """The items in the inboxes of the links ``cut`` in link table ``L``."""
    total = 0
    for k in range(cut.shape[0]):
        total += L[cut[k], L_IN_N]
    return total


@nb.njit(cache=True, error_model="numpy")
def _copy_items(cut, L_from, items_from, L_to, items_to, lo, hi):  # type: ignore[no-untyped-def]
    """Copy the items ``lo`` to ``hi`` - 1 of the inboxes of the links ``cut`` in
    ``L_from``'s stores (counted across the inboxes in the order of ``cut``) to where they
    go in ``L_to``'s: after the same link's inbox, which has room for them. The counts are
    left as they are (:func:`_take_runs`), so that two threads can copy two ranges of one
    hand-off at once."""
    first = 0  # (the first item of link cut[k]'s inbox, counted so)
    for k in range(cut.shape[0]):
        m = cut[k]
        n = L_from[m, L_IN_N]
        a = max(lo - first, 0)
        b = min(hi - first, n)
        if a < b:
            src = L_from[m, L_IN_OFF]
            dst = L_to[m, L_IN_OFF] + L_to[m, L_IN_N]
            for j in range(a, b):
                for c in range(N_COLS):
                    items_to[dst + j, c] = items_from[src + j, c]
        first += n


@nb.njit(cache=True, error_model="numpy")
def _take_runs(cut, L_from, runs_from, L_to, runs_to):  # type: ignore[no-untyped-def]
    """The rest of a hand-off once its items are copied (:func:`_copy_items`): the runs of
    each inbox of the links ``cut``, appended to the same link's runs in ``L_to``'s store
    (which has room for them), the counts there, and the inboxes in ``L_from`` emptied
    (an empty one is left as it is)."""
    for k in range(cut.shape[0]):
        m = cut[k]
        n = L_from[m, L_IN_N]
        R = L_from[m, L_RUNS_N]
        if n == 0:
            continue
        n0 = L_to[m, L_IN_N]
        r0 = L_to[m, L_RUNS_N]
        src = L_from[m, L_RUN_OFF]
        dst = L_to[m, L_RUN_OFF] + r0
        for r in range(R):
            runs_to[dst + r, 0] = n0 + runs_from[src + r, 0]
        L_to[m, L_IN_N] = n0 + n
        L_to[m, L_RUNS_N] = r0 + R
        L_to[m, L_RUN_OWNER] = -1
        L_from[m, L_IN_N] = 0
        L_from[m, L_RUNS_N] = 0
        L_from[m, L_RUN_OWNER] = -1


@nb.njit(cache=True, error_model="numpy")
def _cut_fits(cut, L_from, L_to):  # type: ignore[no-untyped-def]
    """Whether every inbox of the links ``cut`` in ``L_from``'s stores fits, in place, after
    the same link's inbox in ``L_to``'s (a hand-off that moves no segment)."""
    for k in range(cut.shape[0]):
        m = cut[k]
        if L_to[m, L_IN_N] + L_from[m, L_IN_N] > L_to[m, L_IN_CAP]:
            return False
        if L_to[m, L_RUNS_N] + L_from[m, L_RUNS_N] > L_to[m, L_RUN_CAP]:
            return False
    return True


# The two parts' steps in one kernel call per thread (``up_steps`` beside ``down_steps``):
# the entries of their shared ``sync`` table (one row), each written by one thread with
# release ordering and read by the other with acquire ordering
SY_UP, SY_HANDED, SY_U_STOP, SY_D_STOP, SY_SPLIT, SY_SHARE, SY_U_HANDED = range(7)
N_SYNC = 8  # (a cache line)
#: What ``up_steps`` returns when it finished its step but the downstream part stopped.
PARTNER_STOPPED = 11
#: A thread waiting for the other spins this many times (a ``pause`` each, tens of
#: nanoseconds) before it yields the core at each further look (a machine with more busy
#: threads than cores).
SPIN_LIMIT = 20_000


@nb.njit(cache=True, error_model="numpy")
def _wait(sync, k, value, stop_k):  # type: ignore[no-untyped-def]
    """Wait until ``sync[0, k] >= value`` (True) or ``sync[0, stop_k]`` is set (False,
    unless the value came first: the other thread may have stored it and then stopped)."""
    spins = 0
    while _load_acquire(sync, 0, k) < value:
        if _load_acquire(sync, 0, stop_k) != 0:
            return _load_acquire(sync, 0, k) >= value
        if spins < SPIN_LIMIT:
            spins += 1
            _spin_pause()
        else:
            _yield_cpu()
    return True


@nb.njit(cache=True, error_model="numpy", nogil=True)
def up_steps(  # type: ignore[no-untyped-def]
    sync,
    t_steps,
    j0,
    filling,
    drops_a,
    drops_b,
    cut,
    L_down,
    items_down,
    cursor,
    scratch,
    window,
    TA,
    SA,
    gen_buf,
    source_tree_start,
    tree_pos0,
    work,
    L,
    counters,
    items,
    runs,
    ring,
    qdata,
    SQ,
    QS,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    succ_start,
    succ,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    warmup,
    end,
    drain,
    count_in_service,
    log,
    do_log,
    plain_loop,
    general_loop,
    sched_loop,
):
    """The upstream part's steps ending at ``t_steps`` (none final), run beside
    :func:`down_steps` on another thread: step ``j``'s windows (the deferred drops into
    ``drops_a`` or ``drops_b``, alternating from ``filling``: 0 is ``drops_a``), then the
    hand-off of their output to the downstream part's stores (``L_down``, ``items_down``;
    the inboxes of the links ``cut``): the second half of the items when the downstream
    part shares it out (``SY_SHARE``), and wait until it is done (``SY_HANDED``); from step
    ``j0`` on (the steps before it handed off: a call again after a stop). This part never
    allocates: at anything that must grow (or a frame-slot ring to grow, ``pause_slots``)
    it returns, the other part still waiting for its step: its caller grows it (with
    :func:`advance`) and calls again from that step, or sets ``SY_U_STOP``, which stops
    the other part at its next wait. Returns ``(j, code)``: the step it stopped in and the
    worker's code (``GROW_NONE`` with ``j`` = the number of steps: all done), or
    ``PARTNER_STOPPED``: step ``j`` done, the downstream part stopped before taking it."""
    for j in range(j0, t_steps.shape[0]):
        drops = drops_a if (filling + j) % 2 == 0 else drops_b
        grow = _windows(
            cursor,
            t_steps[j],
            window,
            _value(False),  # (advance's signature of _windows, see _windows)
            TA,
            SA,
            gen_buf,
            source_tree_start,
            tree_pos0,
            work,
            L,
            counters,
            items,
            runs,
            ring,
            qdata,
            SQ,
            QS,
            FLOW,
            SLOTS,
            POS,
            pos_end,
            fail_down,
            fail_up,
            (EA[0], EA[1], EA[2], EA[3], drops),
            succ_start,
            succ,
            scratch,
            GSTAT,
            PHIST,
            FHIST,
            LSTAT,
            warmup,
            end,
            drain,
            count_in_service,
            log,
            do_log,
            _value(True),
            plain_loop,
            general_loop,
            sched_loop,
        )
        if grow != GROW_NONE:  # (the caller grows it, or stops the other part)
            return j, grow
        _store_release(sync, 0, SY_UP, j + 1)
        if not _wait(sync, _value(SY_SPLIT), j + 1, _value(SY_D_STOP)):
            return j, PARTNER_STOPPED
        if _load_acquire(sync, 0, SY_SHARE) != 0:  # (the second half of the items)
            total = _cut_items(cut, L)
            _copy_items(cut, L, items, L_down, items_down, total // 2, total)
            _store_release(sync, 0, SY_U_HANDED, j + 1)
        # (D stops after SY_SPLIT only on an error: the caller raises it)
        if not _wait(sync, _value(SY_HANDED), j + 1, _value(SY_D_STOP)):
            return j, PARTNER_STOPPED
    return t_steps.shape[0], GROW_NONE


@nb.njit(cache=True, error_model="numpy", nogil=True)
def down_steps(  # type: ignore[no-untyped-def]
    sync,
    t_steps,
    t_behind,
    filling,
    share,
    drops_a,
    drops_b,
    cut,
    L_up,
    items_up,
    runs_up,
    cursor,
    scratch,
    window,
    TA,
    SA,
    gen_buf,
    source_tree_start,
    tree_pos0,
    work,
    L,
    counters,
    items,
    runs,
    ring,
    qdata,
    SQ,
    QS,
    FLOW,
    SLOTS,
    POS,
    pos_end,
    fail_down,
    fail_up,
    EA,
    succ_start,
    succ,
    GSTAT,
    PHIST,
    FHIST,
    LSTAT,
    warmup,
    end,
    drain,
    count_in_service,
    log,
    do_log,
    plain_loop,
    general_loop,
    sched_loop,
):
    """The downstream part's steps beside :func:`up_steps`: at step ``j`` it settles the
    drops the upstream part recorded in its step before, runs the windows up to the end of
    that step (``t_behind`` for ``j`` = 0, else ``t_steps[j - 1]``), waits for the upstream
    part's step ``j`` and takes its output into its inboxes of the links ``cut`` in place
    (with ``share``, the upstream part's thread copies the second half of the items
    meanwhile, :func:`_copy_items`). It never allocates: it stops at anything its windows must
    grow (``SY_D_STOP``; the caller completes the step as :func:`advance` would), at a
    hand-off that needs room (the caller hands off with :func:`hand_off`), or when the
    upstream part stopped. Returns ``(j, code, upstream_stopped)``: the step it stopped in,
    its worker's code there (``GROW_NONE``: its windows of step ``j`` done) and whether it
    stopped because the upstream part did; ``j`` = the number of steps: all done and
    handed off."""
    for j in range(t_steps.shape[0]):
        drops = drops_b if (filling + j) % 2 == 0 else drops_a  # (U's step before)
        settle_drops(drops, POS, pos_end, FLOW, SLOTS, GSTAT, PHIST, FHIST, warmup, end, drain, EA)
        t_to = t_behind if j == 0 else t_steps[j - 1]
        grow = _windows(
            cursor,
            t_to,
            window,
            _value(False),  # (advance's signature of _windows, see _windows)
            TA,
            SA,
            gen_buf,
            source_tree_start,
            tree_pos0,
            work,
            L,
            counters,
            items,
            runs,
            ring,
            qdata,
            SQ,
            QS,
            FLOW,
            SLOTS,
            POS,
            pos_end,
            fail_down,
            fail_up,
            EA,
            succ_start,
            succ,
            scratch,
            GSTAT,
            PHIST,
            FHIST,
            LSTAT,
            warmup,
            end,
            drain,
            count_in_service,
            log,
            do_log,
            _value(False),
            plain_loop,
            general_loop,
            sched_loop,
        )
        if grow != GROW_NONE:
            _store_release(sync, 0, SY_D_STOP, 1)
            return j, grow, False
        if not _wait(sync, _value(SY_UP), j + 1, _value(SY_U_STOP)):
            return j, GROW_NONE, True
        if not _cut_fits(cut, L_up, L):  # (a segment must move: the caller hands off)
            _store_release(sync, 0, SY_D_STOP, 1)
            return j, GROW_NONE, False
        shared = 1 if share else 0
        _store_release(sync, 0, SY_SHARE, shared)
        _store_release(sync, 0, SY_SPLIT, j + 1)
        total = _cut_items(cut, L_up)
        mine = total // 2 if share else total  # (D's items: the first half, or all)
        _copy_items(cut, L_up, items_up, L, items, _value(0), mine)
        if share:
            # (U does not stop after SY_UP)
            _wait(sync, _value(SY_U_HANDED), j + 1, _value(SY_U_STOP))
        _take_runs(cut, L_up, runs_up, L, runs)
        _store_release(sync, 0, SY_HANDED, j + 1)
    return t_steps.shape[0], GROW_NONE, False


end_compile_cache()  # (after the last njit decorator)
