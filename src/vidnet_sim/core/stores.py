"""The core's per-link stores sized before a run, from the traffic each link should see.

Each link's inbox segment (``kernel.L_IN_CAP``), its list of run starts (``L_RUN_CAP``) and
its ring of waiting packets (``L_RING_CAP``) start with room for what one window is expected
to bring it: twice the sources' mean packet rates while on (:func:`~vidnet_sim.core.volume.
packet_rates`) through the trees' first layouts (:func:`~vidnet_sim.core.volume.
position_rates`) times the window, plus the largest burst a source sends through it
(:func:`~vidnet_sim.core.volume.burst_packets`: a camera's I-frame); two runs per feeder
(:func:`~vidnet_sim.core.volume.feeder_runs`); a ring, the largest burst and two packets,
within what the link's buffer can hold. The links a run cut in two hands over
(``core.split``) collect a whole pipeline step's windows. The tables (:func:`table`) of
:data:`HUGE_TABLE_BYTES` or more are allocated on transparent huge pages.

The kernel still grows a segment that proves too small (``kernel._relocate``), so the sizes
are a matter of speed and memory only, never of results: a segment that grows moves to the
spare rows at the top of its store (:data:`SPARE_SHARE`; a store full to its top is copied
into one twice as long, on ordinary pages) and leaves its old rows unused. Sized once, a
run's stores mostly keep their first arrays. Estimates above need (a failure that leaves
links idle, sources that never start) cost memory only up to :data:`MAX_STORE_BYTES` per
store: beyond it every estimate shrinks in proportion.

The huge-page tables are reused within a process: a table's mapping goes back to a pool when
the last array viewing it is collected (an engine dropped, its statistics' histograms
dropped), and the next table of its size takes it instead of fresh pages, which the system
zeroes at their first touch (about 0.2 ms a huge page). A table the kernel reads before it
writes (statistics, counters, the frame slots) is zeroed again (``table(..., zeroed=True)``,
the default: a memset, cheaper than a fault); a store the kernel only reads where it wrote
(``zeroed=False``: inbox items, run lists, rings, queue rings) keeps what the last engine left
in it. Nothing an engine still references is ever in the pool, whichever thread still runs
its kernel, so engines alive at once never share a table. The pool keeps at most
:data:`POOL_MAX_BYTES`, and only what was given back since the last engine took its tables:
each engine then hands the rest back to the system (:func:`empty_pool`), so that a process's
peak memory is that of its largest engine, as without the pool.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vidnet_sim.core.volume import burst_packets, feeder_runs, packet_rates, position_rates
from vidnet_sim.network.plan import NetworkPlan

__all__ = [
    "MAX_STORE_BYTES",
    "POOL_MAX_BYTES",
    "StoreSizes",
    "empty_pool",
    "pooled_bytes",
    "segmented_store",
    "store_sizes",
    "table",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: An inbox holds this many times a window's mean arrivals (plus the largest burst): the
#: arrivals of a window vary (I-frames, random phases) and a link's check for room asks for
#: its feeder's whole inbox at once.
INBOX_MARGIN = 2.0
#: A run list holds this many times the runs a window opens (one per feeding link and per
#: tree injected at the link), the unread tails kept from the window before included.
RUNS_MARGIN = 2.0
#: A ring holds the largest burst and this many packets more (the one in service and the
#: one before), rounded up to a power of two: I-frames vary little in size (``i_sigma``).
RING_EXTRA = 2
#: Each store keeps this share of its estimated rows spare at its top, where the kernel moves
#: a segment that outgrows its estimate without doubling the whole array.
SPARE_SHARE = 0.125
#: The smallest segments (the sizes every link had before they were estimated).
MIN_INBOX, MIN_RUNS, MIN_RING = 16, 4, 16
#: The most bytes one store's estimated segments take together; larger estimates are scaled
#: down to it (the kernel grows what proves too small).
MAX_STORE_BYTES = 64 << 20
#: A transparent huge page (x86-64, arm64 with 4 KiB pages).
HUGE_PAGE_BYTES = 2 << 20
#: Tables this large or larger are allocated on huge pages (:func:`table`).
HUGE_TABLE_BYTES = 1 << 20
_MADV_HUGEPAGE: int | None = getattr(mmap, "MADV_HUGEPAGE", None)
#: The most bytes of huge-page mappings the pool of a process keeps for the next tables.
POOL_MAX_BYTES = 256 << 20
#: The smallest packet a byte-counted buffer is assumed to hold (a minimal Ethernet frame).
_MIN_WIRE_BYTES = 64


@dataclass(frozen=True)
class StoreSizes:
    """Rows of each segment: ``inbox`` and ``runs`` per link and the staging inbox (last),
    ``ring`` per link (a power of two)."""

    inbox: I64
    runs: I64
    ring: I64


def store_sizes(
    plan: NetworkPlan,
    window_ps: int,
    end_ps: int,
    *,
    fused: B,
    buffer_bytes: I64,
    buffer_packets: I64,
    step_links: B | None = None,
    step_windows: int = 1,
    item_bytes: int = 32,
    ring_bytes: int = 16,
    estimate: bool = True,
) -> StoreSizes:
    """The segments' first sizes for a run of ``end_ps`` in windows of ``window_ps``.

    ``fused``: the links computed from the staging inbox (their own inbox is never used);
    ``buffer_bytes`` / ``buffer_packets``: each link's FIFO buffer as the kernel runs it (-1
    where the other one counts); ``step_links``: the links whose inboxes collect
    ``step_windows`` windows (a run cut in two: the cut links); ``item_bytes`` and
    ``ring_bytes``: a row of each store (for :data:`MAX_STORE_BYTES`). With ``estimate``
    false, every segment the smallest size (``MIN_*``)."""
    n = plan.n_links
    per_window, burst, owners = np.zeros(n), np.zeros(n), np.zeros(n)
    if estimate:
        per_window, burst, owners = _link_traffic(plan, window_ps, max(int(end_ps), 1))
    windows = np.ones(n)
    if step_links is not None:
        windows[step_links] = step_windows
    inbox = np.ceil(INBOX_MARGIN * per_window * windows + burst)
    inbox = np.maximum(inbox, MIN_INBOX)
    runs = np.maximum(np.ceil(RUNS_MARGIN * owners * windows), MIN_RUNS)
    stage_inbox = float(inbox[fused].max()) if fused.any() else MIN_INBOX
    stage_runs = float(runs[fused].max()) if fused.any() else MIN_RUNS
    inbox[fused] = 0  # (read from the staging inbox)
    runs[fused] = 0
    inbox = np.append(inbox, stage_inbox)
    runs = np.append(runs, stage_runs)
    inbox = _within(inbox, item_bytes, MIN_INBOX)
    ring = np.minimum(burst + RING_EXTRA, _buffer_packets(buffer_bytes, buffer_packets))
    ring = _within(_power_of_two(np.maximum(ring, MIN_RING)), ring_bytes, MIN_RING)
    ring = np.asarray(np.exp2(np.floor(np.log2(ring))), np.int64)  # (scaled: a power of two)
    return StoreSizes(inbox=inbox, runs=runs.astype(np.int64), ring=ring)


def table(rows: int, cols: int, dtype: type = np.int64, *, zeroed: bool = True) -> npt.NDArray[Any]:
    """A ``rows`` x ``cols`` table of zeros that starts on a 64-byte cache line, so that rows
    of 64 bytes (or of 32, 16...) are each in one line; one of :data:`HUGE_TABLE_BYTES` or
    more on huge pages (:func:`_huge_table`). With ``zeroed`` false, a huge table reused from
    the pool holds what its last user wrote (for a store read only where it was written)."""
    size = np.dtype(dtype).itemsize
    if rows * cols * size >= HUGE_TABLE_BYTES and _MADV_HUGEPAGE is not None:
        return _huge_table(rows * cols * size, zeroed).view(dtype).reshape(rows, cols)
    buf: npt.NDArray[Any] = np.zeros(rows * cols + 64 // size, dtype)
    skip = (-buf.ctypes.data % 64) // size
    return buf[skip : skip + rows * cols].reshape(rows, cols)


class _Mapping:
    """An anonymous mapping of ``length`` bytes whose first huge page starts at ``start``."""

    def __init__(self, length: int) -> None:
        private = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS  # (shared memory has its own setting)
        self.mem = mmap.mmap(-1, length, flags=private)
        self.length = length
        with contextlib.suppress(OSError):  # (a system without them: ordinary pages)
            self.mem.madvise(_MADV_HUGEPAGE)  # type: ignore[arg-type]
        raw = np.frombuffer(self.mem, np.uint8)
        self.skip = -raw.ctypes.data % HUGE_PAGE_BYTES
        self.start = raw.ctypes.data + self.skip
        del raw  # (the mapping exported to no array: unmapped by close(), or when collected)

    def release_from(self, offset: int) -> None:
        """Hand the pages from ``offset`` bytes past ``start`` on back to the system (they
        read as zeros again), so that a table shorter than the mapping's last one does not
        keep its pages resident."""
        begin = self.skip + offset
        if begin < self.length:
            self.mem.madvise(mmap.MADV_DONTNEED, begin, self.length - begin)


class _Lease:
    """The ``nbytes`` of a mapping one table views (``__array_interface__``): every array
    viewing the table holds it, and when the last one is collected, the mapping goes back to
    the pool (a ``weakref.finalize`` holding the mapping)."""

    def __init__(self, mapping: _Mapping, nbytes: int) -> None:
        self.__array_interface__ = {
            "data": (mapping.start, False),
            "shape": (nbytes,),
            "typestr": "|u1",
            "version": 3,
        }
        weakref.finalize(self, _give_back, mapping).atexit = False


#: The mappings no table views (a lock around every change: engines may be built, and
#: collected, on several threads at once). A list, changed by appends at its end, pops and
#: whole copies only: a collection in the middle of a change (a finalizer giving a mapping
#: back, on the same thread: the lock is reentrant) leaves it consistent.
_pool: list[_Mapping] = []
_pool_lock = threading.RLock()


def _huge_table(nbytes: int, zeroed: bool) -> npt.NDArray[np.uint8]:
    """``nbytes`` bytes at a huge page's start, from a mapping that asks the system for
    transparent huge pages (``madvise(MADV_HUGEPAGE)``): one page fault and one TLB entry per
    2 MiB instead of 512 (numpy asks for arrays of 4 MiB or more, but not at a huge page's
    start). A mapping of the pool when one of adequate length is free (zeroed again unless
    ``zeroed`` is false), else a fresh one (zeroed by the system)."""
    pages = -(-nbytes // HUGE_PAGE_BYTES)
    length = (pages + 1) * HUGE_PAGE_BYTES  # (and room to start at a huge page)
    mapping = _take(length)
    fresh = mapping is None
    if mapping is None:
        mapping = _Mapping(length)
    elif mapping.length > length:  # (its pages past the table's back to the system)
        mapping.release_from(pages * HUGE_PAGE_BYTES)
    out = np.asarray(_Lease(mapping, nbytes))
    if zeroed and not fresh:
        out.fill(0)
    return out


def _take(length: int) -> _Mapping | None:
    """The pool's shortest mapping of ``length`` to twice ``length`` bytes, taken out of it,
    or None."""
    with _pool_lock:
        best = -1
        for i in range(len(_pool)):
            n = _pool[i].length
            if length <= n <= 2 * length and (best < 0 or n < _pool[best].length):
                best = i
        return None if best < 0 else _pool.pop(best)


def _give_back(mapping: _Mapping) -> None:
    """A mapping no table views any more: kept in the pool if it fits within
    :data:`POOL_MAX_BYTES`, else unmapped."""
    with _pool_lock:
        if pooled_bytes() + mapping.length <= POOL_MAX_BYTES:
            _pool.append(mapping)
            return
    mapping.mem.close()


def pooled_bytes() -> int:
    """The bytes of the mappings the pool keeps for the next tables."""
    with _pool_lock:
        return sum(m.length for m in _pool[:])


def empty_pool() -> None:
    """Hand every mapping the pool keeps back to the system. An engine calls it once its
    tables are taken (what it left in the pool, it did not need, and the next engine likely
    will not either); a process done with engines may call it too."""
    with _pool_lock:
        free = _pool[:]
        del _pool[: len(free)]  # (not what a collection meanwhile gave back)
    for m in free:
        m.mem.close()


def _forget_pool() -> None:
    """In a forked child: a fresh pool and lock (the parent's lock may have been held by
    another thread at the fork)."""
    global _pool_lock
    _pool.clear()
    _pool_lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def segmented_store(seg_rows: I64, cols: int, *, zeroed: bool = True) -> tuple[I64, I64, I64]:
    """A store of one segment of ``seg_rows[i]`` rows per entry (0: a segment never used),
    laid out one after the other, and :data:`SPARE_SHARE` of their rows spare at its top:
    (data, offsets, capacities); ``zeroed`` as for :func:`table`."""
    cap = np.asarray(seg_rows, np.int64).copy()
    off = np.zeros(len(cap), np.int64)
    off[1:] = np.cumsum(cap)[:-1]
    rows = int(cap.sum())
    data = table(max(1, rows + int(rows * SPARE_SHARE)), cols, zeroed=zeroed)
    return data, off, cap


def _link_traffic(plan: NetworkPlan, window_ps: int, end_ps: int) -> tuple[F64, F64, F64]:
    """Per link: the packets a window brings on average, the largest burst of a source
    through it, and the runs a window opens in its inbox (the links feeding it and the
    trees injected at it), in the trees' first layouts."""
    n = plan.n_links
    pos, tree, tree_rate = position_rates(plan, packet_rates(plan, end_ps))
    at = plan.pos_link[pos].astype(np.int64)
    per_window = np.bincount(at, weights=tree_rate[tree], minlength=n).astype(np.float64)
    per_window *= window_ps / 1e12
    burst: F64 = np.zeros(n)
    np.maximum.at(burst, at, burst_packets(plan)[plan.tree_source[tree]])
    return per_window, burst, feeder_runs(plan)


def _buffer_packets(buffer_bytes: I64, buffer_packets: I64) -> F64:
    """The most packets each link's buffer can hold, and one in service."""
    by_bytes = np.asarray(buffer_bytes, np.float64) / _MIN_WIRE_BYTES
    held = np.where(np.asarray(buffer_packets) >= 0, buffer_packets, by_bytes)
    return np.asarray(held + 2, np.float64)


def _power_of_two(rows: F64 | I64) -> I64:
    """The smallest power of two at least each of ``rows``."""
    exp = np.ceil(np.log2(np.maximum(np.asarray(rows, np.float64), 1.0)))
    return np.asarray(np.exp2(exp), np.int64)


def _within(rows: F64 | I64, row_bytes: int, smallest: int) -> I64:
    """``rows`` scaled down in proportion (each at least ``smallest``, a zero kept) so that
    they take at most :data:`MAX_STORE_BYTES` together."""
    rows = np.asarray(rows, np.float64)
    total = float(rows.sum()) * row_bytes
    if total > MAX_STORE_BYTES:
        rows = np.where(rows > 0, np.maximum(np.floor(rows * MAX_STORE_BYTES / total), smallest), 0)
    return np.asarray(rows, np.int64)
