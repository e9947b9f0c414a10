"""The exact core engine: state setup around the Numba kernel, and its statistics."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from vidnet_sim.core import kernel as K  # noqa: N812
from vidnet_sim.core.histogram import N_BUCKETS
from vidnet_sim.core.limits import FrameNeeds, check_limits
from vidnet_sim.core.split import Split, split_links
from vidnet_sim.core.stats import RunStats
from vidnet_sim.core.stores import (
    HUGE_TABLE_BYTES,
    empty_pool,
    segmented_store,
    store_sizes,
    table,
)
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.traffic.generate import G_COLS, state_arrays, table_arrays
from vidnet_sim.traffic.rows import KIND_POISSON
from vidnet_sim.traffic.sources import SourceState

I64 = npt.NDArray[np.int64]
#: What takes a packet log's rows as a run goes: ``sink(rows, final)``.
LogSink = Callable[[I64, bool], None]


class CoreEngine:
    """Runs a :class:`NetworkPlan` window by window in the Numba core.

    ``advance(t)`` simulates everything before ``t`` under the sources' current state (a
    timeline may change ``state.active`` and ``state.scale`` between calls); ``finish()``
    runs what is left and returns the :class:`RunStats`. With ``log=True`` every packet
    arrival at every link is recorded in ``packet_log`` as rows
    ``(flow, seq, link, t_arrival, t_departure or -1 if dropped, t_start or -1 if never
    transmitted)``, sorted by ``(flow, seq, t_arrival, link)``, after :meth:`finish`. With a
    ``log_sink`` as well, the log is not kept: the rows logged in each window (in no
    particular order) are handed to ``log_sink(rows, final)`` after it (the buffer is reused:
    the sink copies what it keeps), ``final`` true for the last call, in :meth:`finish`.

    With ``threads=2`` the network is cut in two parts (:mod:`vidnet_sim.core.split`) and
    the upstream part runs one step (``step_windows`` windows) ahead of the downstream part
    on a second thread; the results are the same, bit for bit. It falls back to one thread
    with a packet log or when the network cannot be cut.

    A plan the core cannot hold is refused with a :class:`~vidnet_sim.errors.ScenarioError`
    (:func:`~vidnet_sim.core.limits.check_limits`), unless ``limits`` is what that check
    returned for this plan, window and run (a compiled scenario's: not checked again).
    """

    #: How the two parts' steps run: "threads" (at once, on two threads) or, for tests, one
    #: after the other, "up-first" or "down-first" (an ordering bug then shows every time).
    part_order = "threads"
    #: How many frame slots a camera flow's ring may grow to: ``kernel.MAX_FRAME_SLOTS``; a
    #: power of two lower for tests, which cannot reach the real limit in a short run.
    max_frame_slots = K.MAX_FRAME_SLOTS
    #: With two threads, the windows per pipeline step: ``None`` chooses them from the
    #: split's estimate (:meth:`Split.windows_per_step`); a number for tests.
    force_step_windows: int | None = None
    #: Whether the stores start at the sizes :func:`~vidnet_sim.core.stores.store_sizes`
    #: estimates; ``False`` (for tests) starts every segment at the smallest size, and the
    #: kernel's growth does all the work (the results are the same either way).
    estimate_stores = True
    #: With two threads, whether the upstream part's thread copies about half of each
    #: step's hand-off while the downstream part's copies the rest (else the downstream
    #: part's thread copies it all while the other waits); the results are the same.
    share_hand_off = True

    def __init__(
        self,
        plan: NetworkPlan,
        state: SourceState,
        *,
        warmup_ps: int,
        end_ps: int,
        drain: bool,
        window_ps: int,
        log: bool = False,
        epochs: I64 | None = None,
        log_sink: LogSink | None = None,
        threads: int = 1,
        limits: FrameNeeds | None = None,
    ) -> None:
        if window_ps <= 0:
            raise ValueError("window must be positive")
        if threads not in (1, 2):
            raise ValueError(f"threads must be 1 or 2, got {threads}")
        self.plan = plan
        self.state = state
        self.warmup_ps = int(warmup_ps)
        self.end_ps = int(end_ps)
        self.drain = bool(drain)
        # (results are the same for any window; one longer than the run only sizes larger
        # stores, and a window's end past the core's int64 clock would wrap around)
        self.window_ps = min(int(window_ps), max(self.end_ps, 1))
        self.do_log = bool(log)
        self._log_sink = log_sink if log else None
        self.t = 0
        self.packet_log: I64 | None = None
        self._wall = 0.0
        n_links, n_flows = plan.n_links, plan.n_flows
        n_groups = len(plan.group_names)
        if len(state.tree_pos0) == 0:
            state.tree_pos0 = plan.tree_pos0.copy()
        src = plan.sources
        flow_group = src.group[plan.flow_source].astype(np.int64)
        flow_header = src.header_bytes[plan.flow_source].astype(np.int64)
        frame_needs = limits
        if frame_needs is None or not frame_needs.is_for(plan, self.window_ps, self.end_ps):
            frame_needs = check_limits(plan, self.window_ps, self.end_ps)
        frames_needed = frame_needs.checked
        self.split: Split | None = None
        self.step_windows = 1
        if threads == 2 and not log:
            self.split = split_links(plan, self.window_ps, duration_ps=self.end_ps)
        if self.split is not None:
            self.step_windows = self.force_step_windows or self.split.windows_per_step(
                self.window_ps
            )
            frames_needed = self._frames_in_pipeline(frame_needs)
        # per delivery flow: group, header bytes, last latency (jitter), frame-slot ring
        self._flow = table(n_flows, K.N_FCOLS)
        self._flow[:, K.F_GROUP] = flow_group
        self._flow[:, K.F_HEADER] = flow_header
        self._flow[:, K.F_LAST_LAT] = -1
        slot_base, slot_mask, self._slots, slots_used = self._frame_slots(frames_needed)
        self._flow[:, K.F_SLOT_BASE] = slot_base
        self._flow[:, K.F_SLOT_MASK] = slot_mask
        self._flow[:, K.F_SLOT_LIMIT] = self.max_frame_slots
        rate = plan.link_rate_bps
        ps_per_byte = np.where(8 * 10**12 % rate == 0, 8 * 10**12 // rate, 0).astype(np.int64)
        tree_group = src.group[plan.tree_source].astype(np.int64)
        tree_queue = plan.class_queue[plan.group_class[tree_group]].astype(np.int64)
        sched, buf_b, buf_p, self._only_queue = _effective_schedulers(plan, tree_queue)
        # the link table: one row per link, the staging inbox last (see K.advance)
        L = self._L = table(n_links + 1, K.N_LCOLS)
        links = slice(0, n_links)
        L[links, K.L_RATE] = rate
        L[links, K.L_PROP] = plan.link_prop_ps
        L[links, K.L_BUF_B] = buf_b
        L[links, K.L_BUF_P] = buf_p
        L[links, K.L_PPB] = ps_per_byte
        L[links, K.L_SCHED] = sched
        L[links, K.L_FAIL_PTR] = plan.fail_start[:-1]
        L[links, K.L_FAIL_END] = plan.fail_start[1:]
        L[:, K.L_RUN_OWNER] = -1
        self._slots_used = slots_used
        nq = plan.n_queues
        self._seg_cap = np.repeat(np.where(sched > 0, 16, 1), nq).astype(np.int64)
        self._SQ = (
            tree_queue,
            np.ascontiguousarray(plan.link_queue_buffer_bytes, np.int64),
            np.ascontiguousarray(plan.link_queue_buffer_packets, np.int64),
            plan.queue_quantum.astype(np.int64),
            np.zeros(n_links, np.int64),
            np.full(n_links, -1, np.int64),
            np.zeros((K.N_QTSTAT, n_links * nq), np.int64),  # per-queue statistics
        )
        self._pos = table(len(plan.pos_link), K.N_PCOLS, np.int32)
        self._pos[:, K.P_LINK] = plan.pos_link
        self._pos[:, K.P_FIRST] = plan.pos_first_child
        self._pos[:, K.P_SIB] = plan.pos_sibling
        self._pos[:, K.P_DELIVER] = plan.pos_deliver
        self._pos[:, K.P_FIRST_LINK] = np.where(
            plan.pos_first_child >= 0, plan.pos_link[plan.pos_first_child], -1
        )
        self._pos[:, K.P_SIB_LINK] = np.where(
            plan.pos_sibling >= 0, plan.pos_link[plan.pos_sibling], -1
        )
        ep = np.zeros(1, np.int64) if epochs is None else np.asarray(epochs, np.int64)
        if len(ep) == 0 or ep[0] != 0 or np.any(np.diff(ep) <= 0):
            raise ValueError("epochs must start at 0 and increase")
        n_ep = len(ep)
        self._EA = (
            ep,
            np.zeros((n_ep, K.N_ESTAT, n_groups), np.int64),
            np.zeros((n_ep if n_ep > 1 else 0, n_groups, N_BUCKETS), np.int64),
            np.zeros((n_ep, K.N_ELSTAT, n_links), np.int64),
            np.zeros((1, K.DR_COLS), np.int64),  # drops settled at once
        )
        self._succ_start, self._succ = _successors(plan)
        self._loops = link_loops(sched, n_ep, self.do_log, plan.fail_start)
        work, fused = _work_order(plan, sched, self._succ_start, self._succ)
        L[links, K.L_FUSED] = fused
        L[links, K.L_CHAIN] = _chains(plan)
        self._gstat_k = _group_table(n_groups)
        self._gstat = self._gstat_k[:, :n_groups]
        for k in (K.GS_LMIN, K.GS_LMAX, K.GS_FLMIN, K.GS_FLMAX):
            self._gstat[k] = -1
        self._phist = table(n_groups, N_BUCKETS)  # (on huge pages from 1 MiB: stores.table)
        self._fhist = table(n_groups, N_BUCKETS)
        self._lstat = np.zeros((K.N_LSTAT, n_links), np.int64)
        self._TA = table_arrays(plan.sources)  # (the parameters, fixed for the run)
        self._SA = state_arrays(state)
        self._log = np.empty((1024 if log else 1, K.LOG_COLS), np.int64)
        self._worker: _Worker | None = None
        self._give_back: Callable[[], Any] | None = None  # (its finalizer, with the worker)
        self._behind: tuple[int, bool] | None = None  # the step D has still to run
        step_links = np.zeros(n_links, np.bool_)
        if self.split is not None:
            L[self.split.cut, K.L_FUSED] = 0  # (a link in D reads its own inbox)
            step_links[self.split.cut] = True  # (they collect a step's windows)
        self._sizes = store_sizes(
            plan,
            self.window_ps,
            self.end_ps,
            fused=L[links, K.L_FUSED] != 0,
            buffer_bytes=buf_b,
            buffer_packets=buf_p,
            step_links=step_links,
            step_windows=self.step_windows,
            item_bytes=K.N_COLS * 8,
            estimate=self.estimate_stores,
        )
        if self.split is None:
            self._parts = [self._part(work, L, np.ones(n_links, np.bool_), self._gstat_k)]
        else:
            up = self.split.upstream
            in_up = np.array([w < 0 or up[w] for w in work], np.bool_)
            used_up = up.copy()
            used_up[self.split.cut] = True
            self._parts = [
                self._part(work[in_up], L, used_up, _group_table(n_groups)),
                self._part(work[~in_up], L, ~up, self._gstat_k),
            ]
            self._drops = [_drop_buffer(), _drop_buffer()]
            self._filling = 0  # the buffer the upstream part fills
        empty_pool()  # (what this engine's tables left in the pool: see core.stores)

    # --- frame-slot rings ------------------------------------------------------------
    def _frames_in_pipeline(self, needs: FrameNeeds) -> list[int]:
        """``needs.checked`` (frame slots per camera flow, one thread) for a pipeline whose steps
        hold ``step_windows`` windows: a frame U opens may be settled by D two steps later,
        so the rings start as large as for windows of a step each (within the ring limit):
        a ring that grows pauses both parts (the results are the same either way)."""
        if self.step_windows == 1:
            return needs.checked
        more = needs.for_window(self.window_ps * self.step_windows)
        return [
            min(max(a, b), self.max_frame_slots) for a, b in zip(needs.checked, more, strict=True)
        ]

    def _frame_slots(self, needed: list[int]) -> tuple[I64, I64, I64, int]:
        """Per camera flow, a ring of frame slots for every frame it can have in flight
        (``needed``, from ``limits.frame_slots_needed``; the kernel grows a ring that proves
        too small): (first slot, ring mask, the slot table, its rows in use)."""
        plan = self.plan
        base = np.full(plan.n_flows, 0, np.int64)
        mask = np.zeros(plan.n_flows, np.int64)
        total = 0
        for f, need in enumerate(needed):
            if need == 0:
                continue
            size = 1 << int(need - 1).bit_length()
            base[f] = total
            mask[f] = size - 1
            total += size
        # remaining packets, capture time, last delivery, flags: one slot's fields side by side
        return base, mask, table(max(total, 1), K.N_SCOLS), total

    def _part(self, work: I64, L0: I64, used: npt.NDArray[np.bool_], gstat_k: I64) -> _Part:
        """A part running ``work`` with its own copy of the link table ``L0`` and its own
        stores, with room for the links ``used`` says it reads or writes (and the staging
        inbox), and ``gstat_k`` as its group statistics."""
        n_links = self.plan.n_links
        L = table(*L0.shape)
        L[:] = L0
        inbox = np.append(used, True)
        size = self._sizes
        # (the stores are read only where written: reused from the pool as they are)
        items, L[:, K.L_IN_OFF], L[:, K.L_IN_CAP] = segmented_store(
            np.where(inbox, size.inbox, 0), K.N_COLS, zeroed=False
        )
        runs, L[:, K.L_RUN_OFF], L[:, K.L_RUN_CAP] = segmented_store(
            np.where(inbox, size.runs, 0), 1, zeroed=False
        )
        ring, L[:n_links, K.L_RING_OFF], L[:n_links, K.L_RING_CAP] = segmented_store(
            np.where(used, size.ring, 0), 2, zeroed=False
        )
        # per (link, queue) rings of waiting packets: only scheduled links use them
        seg_cap = self._seg_cap
        qs_off = np.zeros(len(seg_cap), np.int64)
        qs_off[1:] = np.cumsum(seg_cap)[:-1]
        qdata = table(max(1, int(seg_cap.sum())), K.N_COLS, zeroed=False)
        nq = len(seg_cap)
        QS = (
            qs_off,
            seg_cap.copy(),
            *(np.zeros(nq, np.int64) for _ in range(5)),
            *(np.zeros(n_links, np.int64) for _ in range(3)),
        )
        # the stores' tops (K.TOP_*: spare rows above them) and the packet-hop count (K.C_HOPS)
        counters = np.zeros(K.N_COUNTERS, np.int64)
        counters[[K.TOP_ITEMS, K.TOP_RUNS, K.TOP_RING, K.TOP_QDATA, K.TOP_SLOTS]] = (
            L[:, K.L_IN_CAP].sum(),
            L[:, K.L_RUN_CAP].sum(),
            L[:n_links, K.L_RING_CAP].sum(),
            int(seg_cap.sum()),
            self._slots_used,
        )
        EA = self._EA
        if gstat_k is not self._gstat_k:  # the upstream part counts what it sends apart
            EA = (EA[0], np.zeros_like(EA[1]), EA[2], EA[3], EA[4])
        has_sources = bool((work < 0).any())
        gen = np.empty((1024 if has_sources else 1, G_COLS), np.int64)
        return _Part(work, L, items, runs, ring, qdata, QS, counters, gen, gstat_k, EA)

    # --- running -----------------------------------------------------------------------
    def _run(self, part: _Part, t_to: int, final: bool, pause_slots: bool) -> int:
        """One call of the kernel on ``part``: its windows up to ``t_to`` (and with
        ``final`` the final pass), from where its cursor stands. Returns the kernel's
        ``GROW_*`` code (``GROW_SLOTS`` only with ``pause_slots``: then the frame-slot ring
        of flow ``part.cursor[CU_ARG]`` must grow before the part is run again), or
        ``STOP_FRAME_SLOTS`` when that ring, full at its limit, stopped the run."""
        while True:
            before = (part.items, part.runs, part.ring, part.qdata)
            grow = self._advance(part, t_to, final, pause_slots)
            if grow != K.MOVED_STORE:
                return grow
            items, runs, ring, qdata = before  # (a store doubled: moved, then on from there)
            part.items, part.runs = _moved(part.items, items), _moved(part.runs, runs)
            part.ring, part.qdata = _moved(part.ring, ring), _moved(part.qdata, qdata)

    def _advance(self, part: _Part, t_to: int, final: bool, pause_slots: bool) -> int:
        """One call of ``K.advance`` for :meth:`_run`; returns its code."""
        (
            grow,
            part.gen,
            part.items,
            part.runs,
            part.ring,
            part.qdata,
            slots,
            log,
            part.scratch,
            drops,
        ) = K.advance(
            part.cursor, part.scratch, t_to, self.window_ps, final, pause_slots, *self._tail(part)
        )
        if drops is not part.EA[4]:
            part.EA = (*part.EA[:4], drops)
        if slots is not self._slots:  # (grown by the kernel: one part only)
            self._slots = slots
        if log is not self._log:
            self._log = log
        return int(grow)

    def _tail(self, part: _Part) -> tuple[Any, ...]:
        """The arguments of the kernel's entry points (:func:`K.advance`, :func:`K.up_steps`,
        :func:`K.down_steps`) from the source tables on, for ``part``."""
        plan = self.plan
        return (
            self._TA,
            self._SA,
            part.gen,
            plan.source_tree_start,
            self.state.tree_pos0,
            part.work,
            part.L,
            part.counters,
            part.items,
            part.runs,
            part.ring,
            part.qdata,
            self._SQ,
            part.QS,
            self._flow,
            self._slots,
            self._pos,
            plan.pos_end,
            plan.fail_down,
            plan.fail_up,
            part.EA,
            self._succ_start,
            self._succ,
            part.gstat_k,
            self._phist,
            self._fhist,
            self._lstat,
            self.warmup_ps,
            self.end_ps,
            self.drain,
            plan.count_in_service,
            self._log,
            self.do_log,
            *self._loops,
        )

    def _call(self, t_to: int, final: bool) -> None:
        w0 = time.perf_counter()
        self._SA = state_arrays(self.state)
        with _interrupts():
            if self.split is None:
                self._run(self._parts[0], t_to, final, False)
            else:
                self._pipeline(t_to, final)
        self._wall += time.perf_counter() - w0
        if any(part.cursor[K.CU_ERR] for part in self._parts):
            raise RuntimeError(
                f"a camera flow had more than {self.max_frame_slots} frames in flight at once "
                "(starved for hours in a low strict-priority queue?): more than the core "
                "can track; give its class a higher queue or a DRR share"
            )
        self.t = max(self.t, t_to)
        if self._log_sink is not None:
            cursor = self._parts[0].cursor
            self._log_sink(self._log[: cursor[K.CU_LOG_N]], final)
            cursor[K.CU_LOG_N] = 0

    # --- two parts, one step apart ------------------------------------------------------
    def _pipeline(self, t_to: int, final: bool) -> None:
        """Simulate to ``t_to`` (then with ``final`` the final pass) with the network cut in
        two, in steps of ``self.step_windows`` windows: at step k the upstream part U runs
        step k's windows on the second thread while the downstream part D runs step k - 1's;
        then U's output of step k (its cut links' inboxes, its drops) is handed to D. A
        step's fixed cost (the threads' hand-over, two kernel calls, the hand-off) is paid
        once for its windows; D's link merges take the arrivals of later windows in its
        inboxes as tails, and drops commute with deliveries, so the results do not depend
        on the step's length.

        The call returns with U caught up and D one step behind (``_behind``): the
        timeline may change the sources (active, scale, layouts) before the next call, and
        only U's steps read them (D's work list has links only), so D's last step runs
        beside U's first of the next call. D catches up (``_catch_up``) at the final pass
        and whenever statistics are read."""
        steps: list[tuple[int, bool]] = []
        t0 = self.t
        span = self.window_ps * self.step_windows
        while t0 < t_to:
            t0 = min(t0 + span, t_to)
            steps.append((t0, False))
        if final:
            steps.append((t_to, True))
        behind = self._behind  # D's step
        k = 0
        while k < len(steps):
            t1, last = steps[k]
            if behind is not None and not last and self.part_order == "threads":
                ends = np.array([t for t, f in steps[k:] if not f], np.int64)
                done, stopped = self._steps_beside(ends, behind)
                if stopped:  # (a ring full at its limit: _call raises)
                    return
                k += done
                behind = (int(ends[done - 1]), False)
                continue
            grow = self._up(t1, last) if behind is None else self._together(t1, last, behind)
            if not self._end_step(grow, t1, last):  # (a ring full at its limit: _call raises)
                return
            behind = (t1, last)
            k += 1
        self._behind = behind
        if final:
            self._catch_up()

    def _end_step(self, grow: int, t1: int, final: bool) -> bool:
        """The end of a step to ``t1`` whose parts have run, ``grow`` U's code: while U
        stopped on a frame-slot ring, both parts stopped, the ring grows and U resumes
        (:meth:`_grow_slots`); then U's output is handed off. False, nothing handed off,
        when a ring full at its limit stopped the run."""
        while grow == K.GROW_SLOTS:
            grow = self._grow_slots(t1, final)
        if grow == K.STOP_FRAME_SLOTS:
            return False
        self._hand_off()
        return True

    def _grow_slots(self, t1: int, final: bool) -> int:
        """U stopped on a frame-slot ring that must grow, D done with its step: D catches
        up with U (U's output so far handed off, D's windows before U's run), then the
        ring grows and U resumes. A ring full at its limit cannot grow: U resumes without
        pausing, now that D has freed every slot it frees before this window on one thread
        (the flow's delivering links all come after its source in one thread's work list),
        so the frame overflows exactly when it would on one thread."""
        up, down = self._parts
        t_up = int(up.cursor[K.CU_T0])  # (the window U stopped in starts there)
        if t_up > down.cursor[K.CU_T0]:
            self._hand_off()  # (the part of U's window it ran: D reads it as tails)
            self._down(t_up, False)
        f = up.cursor[K.CU_ARG]
        if self._flow[f, K.F_SLOT_MASK] + 1 >= self._flow[f, K.F_SLOT_LIMIT]:
            return self._up(t1, final, pause_slots=False)
        self._slots = K._grow_slots(self._flow, self._slots, up.counters, f)
        return self._up(t1, final)

    def _catch_up(self) -> None:
        """D's window still to run, if any."""
        if self._behind is not None:
            with _interrupts():
                self._down(*self._behind)
            self._behind = None

    def _up(
        self, t1: int, final: bool, *, pause_slots: bool = True, buffer: int | None = None
    ) -> int:
        """U's windows up to ``t1`` (and with ``final`` its final pass), its drops recorded
        in the buffer it fills (``buffer``: that of a step run beside D's, see
        :meth:`_up_steps`); stops with ``GROW_SLOTS`` when a frame-slot ring must grow
        or is full at its limit (unless ``pause_slots`` is false: only with D caught up)."""
        b = self._filling if buffer is None else buffer
        up = self._parts[0]
        up.EA = (*up.EA[:4], self._drops[b])
        grow = self._run(up, t1, final, pause_slots)
        self._drops[b] = up.EA[4]
        return grow

    def _down(self, t1: int, final: bool) -> None:
        """D's windows up to ``t1`` (and with ``final`` its final pass), after settling the
        drops U handed over."""
        down = self._parts[1]
        K.settle_drops(
            self._drops[1 - self._filling],
            self._pos,
            self.plan.pos_end,
            self._flow,
            self._slots,
            down.gstat_k,
            self._phist,
            self._fhist,
            self.warmup_ps,
            self.end_ps,
            self.drain,
            down.EA,
        )
        self._run(down, t1, final, False)

    def _together(self, t1: int, final: bool, behind: tuple[int, bool]) -> int:
        """U's step ending at ``t1`` beside D's step ``behind``: on two threads, or one
        after the other (``part_order``, for tests: "up-first" or "down-first")."""
        if self.part_order == "up-first":
            grow = self._up(t1, final)
            self._down(*behind)
            return grow
        if self.part_order == "down-first":
            self._down(*behind)
            return self._up(t1, final)
        worker = self._thread()
        worker.submit(lambda: self._up(t1, final))
        try:
            self._down(*behind)
        finally:
            grow = int(worker.join())
        return grow

    def _thread(self) -> _Worker:
        """The second thread (at its first use: an idle one of an engine before, or a new
        one; given back by :meth:`close`, or by the finalizer of an engine dropped
        unfinished)."""
        if self._worker is None:
            self._worker = _Worker.take()
            self._give_back = weakref.finalize(self, self._worker.give_back)
        return self._worker

    def _steps_beside(self, ends: I64, behind: tuple[int, bool]) -> tuple[int, bool]:
        """U's steps ending at ``ends`` (none final) beside D's, D starting with ``behind``,
        each part's steps in one kernel call on its own thread (:func:`K.up_steps` on the
        worker, :func:`K.down_steps` here): no Python and no thread hand-over between the
        steps; the threads wait for each other by spinning on a shared table, and once
        both are done with a step they hand its output off together
        (:attr:`share_hand_off`). Where a part stops (a store or ring to grow, a frame-slot
        ring that needs D caught up, a hand-off that needs room), the step is completed
        here as :meth:`_together` would. Returns the steps done and handed off (at least
        one) and whether the run stopped (a frame-slot ring full at its limit)."""
        down = self._parts[1]
        sync = np.zeros((1, K.N_SYNC), np.int64)
        filling = self._filling
        worker = self._thread()

        def up() -> tuple[int, int]:
            try:
                return self._up_steps(sync, ends, filling)
            except BaseException:
                sync[0, K.SY_U_STOP] = 1  # (D must not wait for a step that will not come)
                raise

        worker.submit(up)
        try:
            j, code, _ = self._down_steps(sync, ends, behind[0], filling)
        except BaseException:
            sync[0, K.SY_D_STOP] = 1  # (U must not wait for a hand-off that will not come)
            worker.join()
            raise
        up_j, up_code = worker.join()
        n = len(ends)
        if j == n:
            self._filling = (filling + n) % 2
            return n, False
        assert up_j == j, (up_j, j)
        self._filling = (filling + j) % 2  # (the buffer U fills in step j)
        if code != K.GROW_NONE:  # D's windows of the step before, left to complete
            self._run(down, behind[0] if j == 0 else int(ends[j - 1]), False, False)
        t1 = int(ends[j])
        grow = up_code
        if grow == K.PARTNER_STOPPED:  # (U's step j is done)
            grow = K.GROW_NONE
        elif grow != K.GROW_SLOTS:
            grow = self._up(t1, False)
        if not self._end_step(grow, t1, False):
            return j, True
        return j + 1, False

    def _up_steps(self, sync: I64, ends: I64, filling: int) -> tuple[int, int]:
        """:func:`K.up_steps` on U (run on the worker thread): (step, code). Where U stops
        on a store of its own that must grow (an inbox, a ring, the generation buffer...),
        it is grown here, on this thread, with :func:`K.advance`, which runs the rest of the
        step's windows while D runs on beside it; then the steps go on in the kernel. Only a
        frame-slot ring (``GROW_SLOTS``), or a growth that moved a store D reads in the
        hand-off (U's items or runs, the step's buffer of drops), stops D too
        (``SY_U_STOP``): the caller completes the step, U's windows of it done
        (``PARTNER_STOPPED``) or not (``GROW_SLOTS``)."""
        up = self._parts[0]
        j = 0
        while True:
            j, code = self._up_call(sync, ends, j, filling)
            if code in (K.GROW_NONE, K.PARTNER_STOPPED):
                return j, code
            if code != K.GROW_SLOTS:
                b = (filling + j) % 2  # (the buffer of drops U fills in step j)
                shared = (up.items, up.runs, self._drops[b])
                code = self._up(int(ends[j]), False, buffer=b)  # (K.advance grows it)
                moved = any(
                    x is not y
                    for x, y in zip(shared, (up.items, up.runs, self._drops[b]), strict=True)
                )
                if code == K.GROW_NONE and not moved:
                    continue  # (step j's windows done: handed off in the kernel)
                if code == K.GROW_NONE:
                    code = K.PARTNER_STOPPED  # (step j's windows done)
            sync[0, K.SY_U_STOP] = 1
            return j, code

    def _up_call(self, sync: I64, ends: I64, j0: int, filling: int) -> tuple[int, int]:
        """One call of :func:`K.up_steps` from step ``j0``: (step, code)."""
        up, down = self._parts
        assert self.split is not None
        j, code = K.up_steps(
            sync,
            ends,
            j0,
            filling,
            self._drops[0],
            self._drops[1],
            self.split.cut,
            down.L,
            down.items,
            up.cursor,
            up.scratch,
            self.window_ps,
            *self._tail(up),
        )
        return int(j), int(code)

    def _down_steps(
        self, sync: I64, ends: I64, t_behind: int, filling: int
    ) -> tuple[int, int, bool]:
        """:func:`K.down_steps` on D: (step, code, whether U stopped first)."""
        up, down = self._parts
        assert self.split is not None
        j, code, up_stopped = K.down_steps(
            sync,
            ends,
            t_behind,
            filling,
            self.share_hand_off,
            self._drops[0],
            self._drops[1],
            self.split.cut,
            up.L,
            up.items,
            up.runs,
            down.cursor,
            down.scratch,
            self.window_ps,
            *self._tail(down),
        )
        return int(j), int(code), bool(up_stopped)

    def _hand_off(self) -> None:
        """Move U's output of the windows it ran to D: the inboxes of the cut links; the
        buffer of drops U filled becomes the one D settles next."""
        up, down = self._parts
        assert self.split is not None
        items, runs = down.items, down.runs
        down.items, down.runs = K.hand_off(
            self.split.cut, up.L, up.items, up.runs, down.L, down.items, down.runs, down.counters
        )
        down.items, down.runs = _moved(down.items, items), _moved(down.runs, runs)
        self._filling = 1 - self._filling

    def close(self) -> None:
        """Give the second thread back, if any (done by :meth:`finish`): to the idle
        workers the next two-thread engine takes (:meth:`_Worker.give_back`), or ended."""
        if self._give_back is not None:
            self._give_back()  # (once: the finalizer is spent)
        self._worker = self._give_back = None

    def prepare(self) -> None:
        """Load the Numba kernels from their cache (or compile them, the first time on a
        machine: about two minutes) by a call over an empty interval, which simulates
        nothing; its time is not counted in the run's ``wall_seconds``."""
        wall = self._wall
        self._call(self.t, final=False)
        if self.split is not None:  # (and the two parts' own kernels)
            self._catch_up()
            up, down = self._parts
            self._run(up, self.t, False, True)
            self._down(self.t, False)
            K.hand_off(
                self.split.cut[:0],
                up.L,
                up.items,
                up.runs,
                down.L,
                down.items,
                down.runs,
                down.counters,
            )
            sync, no_steps = np.zeros((1, K.N_SYNC), np.int64), np.zeros(0, np.int64)
            self._up_steps(sync, no_steps, self._filling)
            self._down_steps(sync, no_steps, self.t, self._filling)
        self._wall = wall

    def advance(self, t_to: int) -> None:
        """Simulate every packet emitted before ``t_to`` (capped at the run's end); with a
        log sink, one window per kernel call, so that the sink gets each window's rows."""
        t_to = min(int(t_to), self.end_ps)
        while t_to > self.t:
            step = t_to if self._log_sink is None else min(t_to, self.t + self.window_ps)
            self._call(step, final=False)

    def finish(self) -> RunStats:
        """Simulate to the end, drain the network and return the statistics."""
        try:
            self.advance(self.end_ps)
            self._call(self.end_ps, final=True)
        finally:
            self.close()
        if self.do_log and self._log_sink is None:  # sorted like the reference's: by packet
            log = self._log[: self._parts[0].cursor[K.CU_LOG_N]]
            self.packet_log = log[np.lexsort((log[:, 2], log[:, 3], log[:, 1], log[:, 0]))]
        return self._statistics()

    def stats(self) -> RunStats:
        """The statistics gathered so far."""
        return self._statistics()

    def _statistics(self) -> RunStats:
        """The statistics gathered so far. The histograms, the largest arrays (groups x
        7 296 buckets each), are copied by :func:`_histogram_copy`: never the engine's own
        tables, which are on huge pages and go back to the pool for the next engine when
        this one is dropped, however long the statistics are kept (docs/performance.md,
        "Statistics that keep no huge page")."""
        self._catch_up()
        phist = _histogram_copy(self._phist)
        plan = self.plan
        g, es = self._group_stats()
        ls = self._lstat
        names = plan.node_names
        return RunStats(
            group_names=list(plan.group_names),
            group_classes=list(plan.group_classes),
            group_kinds=list(plan.group_kinds),
            packets_sent=g[K.GS_SENT].copy(),
            packets_delivered=g[K.GS_DELIVERED].copy(),
            packets_dropped=g[K.GS_DROPPED].copy(),
            packets_in_flight=g[K.GS_IN_FLIGHT].copy(),
            bytes_delivered=g[K.GS_BYTES].copy(),
            payload_bytes_delivered=g[K.GS_PAYLOAD].copy(),
            frames_sent=g[K.GS_FSENT].copy(),
            frames_delivered=g[K.GS_FDELIVERED].copy(),
            frames_lost=g[K.GS_FLOST].copy(),
            frames_in_flight=g[K.GS_FIN_FLIGHT].copy(),
            jitter_sum_ps=g[K.GS_JSUM].copy(),
            jitter_count=g[K.GS_JCOUNT].copy(),
            latency_min_ps=g[K.GS_LMIN].copy(),
            latency_max_ps=g[K.GS_LMAX].copy(),
            frame_latency_min_ps=g[K.GS_FLMIN].copy(),
            frame_latency_max_ps=g[K.GS_FLMAX].copy(),
            packet_hist=phist,
            frame_hist=_histogram_copy(self._fhist),
            link_names=list(plan.link_names),
            link_src=[names[i] for i in plan.link_src.tolist()],  # (Python ints: 10x faster)
            link_dst=[names[i] for i in plan.link_dst.tolist()],
            link_rate_bps=plan.link_rate_bps.copy(),
            link_packets=ls[K.LS_PACKETS].copy(),
            link_bytes=ls[K.LS_BYTES].copy(),
            link_drops=ls[K.LS_DROPS].copy(),
            link_drop_bytes=ls[K.LS_DROP_BYTES].copy(),
            link_busy_ps=ls[K.LS_BUSY].copy(),
            link_peak_queue_bytes=ls[K.LS_PEAK_B].copy(),
            link_peak_queue_packets=ls[K.LS_PEAK_P].copy(),
            link_peak_wait_ps=ls[K.LS_PEAK_WAIT].copy(),
            measured_ps=self.end_ps - self.warmup_ps,
            packet_hops=int(sum(part.counters[K.C_HOPS] for part in self._parts)),
            wall_seconds=self._wall,
            class_names=list(plan.class_names),
            group_class=plan.group_class.copy(),
            packets_failed=g[K.GS_FAILED].copy(),
            link_fail_drops=ls[K.LS_FAIL].copy(),
            **self._epoch_stats(phist, g, es),
            latency_sum_ps=self._sums(K.GS_LSUM),
            frame_latency_sum_ps=self._sums(K.GS_FLSUM),
            link_wait_sum_ps=ls[K.LS_WAIT].copy(),
            link_started=ls[K.LS_STARTED].copy(),
            **self._queue_stats(),
        )

    def _queue_stats(self) -> dict[str, Any]:
        """The per-queue arrays of :class:`RunStats` (links x queues; zero on FIFO links).

        A link scheduled in the plan that only ever carries one queue's packets runs the FIFO
        loop (``_effective_schedulers``): its statistics are that queue's."""
        plan = self.plan
        qt = self._SQ[-1].reshape(K.N_QTSTAT, plan.n_links, plan.n_queues).copy()
        links = np.flatnonzero(self._only_queue >= 0)
        queues = self._only_queue[links]
        for _, k, j in _QUEUE_STATS:
            qt[k, links, queues] = self._lstat[j, links]
        return {name: qt[k] for name, k, _ in _QUEUE_STATS}

    def _group_stats(self) -> tuple[I64, I64]:
        """The group statistics ``[statistic, group]`` and the per-epoch ones ``ESTAT``; with
        two parts, what the upstream part counted (packets and frames sent) added in."""
        g, es = self._gstat, self._EA[1]
        if self.split is None:
            return g, es
        up = self._parts[0]
        g, es = g.copy(), es.copy()
        for k in (K.GS_SENT, K.GS_FSENT):
            g[k] += up.gstat_k[k, : g.shape[1]]
        es[:, K.ES_SENT] += up.EA[1][:, K.ES_SENT]
        return g, es

    def _sums(self, k: int) -> npt.NDArray[np.object_]:
        """The exact sums the kernel keeps in rows ``k`` (modulo ``SUM_UNIT``) and ``k + 1``
        (carries) of its group statistics, as Python ints."""
        low, carries = self._gstat[k], self._gstat[k + 1]
        out = np.empty(len(low), dtype=object)
        out[:] = [int(c) * K.SUM_UNIT + int(v) for v, c in zip(low, carries, strict=True)]
        return out

    def _epoch_stats(self, phist: I64, g: I64, es: I64) -> dict[str, Any]:
        """The per-epoch arrays of :class:`RunStats` (with one epoch: the totals, its
        histogram ``phist``, the statistics' copy of the packet histogram); ``g`` and
        ``es`` as :meth:`_group_stats` gave them to :meth:`_statistics`."""
        ep, _, eph, el, _ = self._EA
        ls = self._lstat
        if len(ep) == 1:
            es = es.copy()
            es[0, K.ES_SENT] = g[K.GS_SENT]
            es[0, K.ES_DELIVERED] = g[K.GS_DELIVERED]
            es[0, K.ES_DROPPED] = g[K.GS_DROPPED]
            es[0, K.ES_FAILED] = g[K.GS_FAILED]
            eph = phist[None]
            el = el.copy()
            el[0, K.EL_BYTES] = ls[K.LS_BYTES]
            el[0, K.EL_BUSY] = ls[K.LS_BUSY]
            el[0, K.EL_DROPS] = ls[K.LS_DROPS]
            el[0, K.EL_FAIL] = ls[K.LS_FAIL]
        return {
            "epoch_starts_ps": ep.copy(),
            "epoch_sent": es[:, K.ES_SENT].copy(),
            "epoch_delivered": es[:, K.ES_DELIVERED].copy(),
            "epoch_dropped": es[:, K.ES_DROPPED].copy(),
            "epoch_failed": es[:, K.ES_FAILED].copy(),
            "epoch_packet_hist": eph if len(ep) == 1 else _histogram_copy(eph),
            "epoch_link_bytes": el[:, K.EL_BYTES].copy(),
            "epoch_link_busy_ps": el[:, K.EL_BUSY].copy(),
            "epoch_link_drops": el[:, K.EL_DROPS].copy(),
            "epoch_link_fail_drops": el[:, K.EL_FAIL].copy(),
        }


__all__ = ["KIND_POISSON", "CoreEngine", "LogSink", "end_idle_threads"]


def _histogram_copy(a: I64) -> I64:
    """A copy of histogram ``a`` in zeroed memory into which only its nonzero buckets are
    written: the pages of a fresh allocation are faulted in (about 1.5 ms per MiB on this
    virtual machine) only where there are counts, a sixth of a case-e histogram's. Exact:
    the other buckets are zeros."""
    out = np.zeros(a.shape, a.dtype)  # (calloc: pages faulted in where written; zeros_like writes)
    np.copyto(out, a, where=a != 0)
    return out


def _moved(store: I64, before: I64) -> I64:
    """``store`` as a kernel call returned it, ``before`` as it was passed in: the same
    array, or one the kernel doubled, which is copied onto huge pages
    (:func:`~vidnet_sim.core.stores.table`) unless it is small. Numba allocated it on
    ordinary pages, and the link loops then paid a TLB miss at most of their reads and
    writes of it (the large city's rings double once in about 25 s simulated; the run was
    10-15 % slower from there on: docs/performance.md, "Stores doubled onto huge pages")."""
    if store is before or store.nbytes < HUGE_TABLE_BYTES:
        return store
    moved = table(store.shape[0], store.shape[1], zeroed=False)
    moved[:] = store
    return moved


class _Part:
    """What one part of a run keeps for itself (the whole network when it is not cut in
    two): its work list, link table, stores, queue rings, counters, generation buffer,
    group statistics, epoch arrays (with its drop buffer), and the kernel's cursor and
    scratch."""

    def __init__(
        self,
        work: I64,
        L: I64,
        items: I64,
        runs: I64,
        ring: I64,
        qdata: I64,
        QS: tuple[I64, ...],
        counters: I64,
        gen: I64,
        gstat_k: I64,
        EA: tuple[I64, ...],
    ) -> None:
        self.work = work
        self.L = L
        self.items = items
        self.runs = runs
        self.ring = ring
        self.qdata = qdata
        self.QS = QS
        self.counters = counters
        self.gen = gen
        self.gstat_k = gstat_k
        self.EA = EA
        self.cursor = np.zeros(K.N_CURSOR, np.int64)
        self.scratch = np.empty((K.N_SCRATCH, K.DEFER_CAP), np.int64)


#: Idle workers kept for the next two-thread engine of the process (at most this many): a
#: thread's start costs about 0.24 ms, half a percent of a short run (peers case e).
MAX_IDLE_WORKERS = 2
#: The thread's name while it runs an engine's upstream part, and while it waits idle.
WORKER_NAME, IDLE_NAME = "vidnet-upstream", "vidnet-idle"


class _Worker:
    """One persistent thread running a function at a time: ``submit(fn)``, then ``join()``
    returns its result (or raises what it raised). An engine takes one (:meth:`take`) and
    gives it back (:meth:`give_back`): kept idle for the next engine, or ended."""

    #: The idle workers (daemon threads waiting for a function, named ``IDLE_NAME``); the lock
    #: guards the list (engines may be built and dropped on several threads at once).
    idle: ClassVar[list[_Worker]] = []
    idle_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._go = threading.Event()
        self._done = threading.Event()
        self._fn: Callable[[], Any] | None = None
        self._result: Any = 0
        self._error: BaseException | None = None
        self._busy = False  # (a function submitted and not yet joined)
        self._thread = threading.Thread(target=self._loop, name=WORKER_NAME, daemon=True)
        self._thread.start()

    @classmethod
    def take(cls) -> _Worker:
        """An idle worker, or a new one."""
        with cls.idle_lock:
            while cls.idle:
                worker = cls.idle.pop()
                if worker._thread.is_alive():
                    worker._thread.name = WORKER_NAME
                    return worker
        return cls()

    def give_back(self) -> None:
        """The engine is done with the thread: kept idle for the next engine when it is
        idle (its last function joined: not after an interrupted wait, whose function may
        still run) and there is room, else ended (:meth:`stop`). Never kept from its own
        thread (an engine's finalizer run there: the loop has yet to signal the function's
        end, which the next engine's join would take for its own)."""
        if not self._busy and threading.current_thread() is not self._thread:
            with self.idle_lock:
                if len(self.idle) < MAX_IDLE_WORKERS and self._thread.is_alive():
                    self._result = 0
                    self._thread.name = IDLE_NAME
                    self.idle.append(self)
                    return
        self.stop()

    def _loop(self) -> None:
        while True:
            self._go.wait()
            self._go.clear()
            fn, self._fn = self._fn, None
            if fn is None:
                return
            try:
                self._result = fn()
            except BaseException as e:  # handed to join()
                self._error = e
            del fn  # (the thread holds no engine between steps: it can be collected)
            self._done.set()

    def submit(self, fn: Callable[[], Any]) -> None:
        """Start ``fn`` on the thread."""
        self._fn = fn
        self._error = None
        self._busy = True
        self._done.clear()
        self._go.set()

    def join(self) -> Any:
        """Wait for the function started last; its result. What it raised is raised here
        and not kept: its traceback holds the function's frames (and the engine)."""
        self._done.wait()
        self._busy = False
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        return self._result

    def stop(self) -> None:
        """End the thread (waiting for it, unless called on that thread: by the engine's
        finalizer when the last reference to the engine is dropped there)."""
        self._fn = None
        self._go.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()


def end_idle_threads() -> None:
    """End the idle workers the process keeps for its next two-thread engine."""
    with _Worker.idle_lock:
        idle, _Worker.idle[:] = list(_Worker.idle), []
    for worker in idle:
        worker.stop()


def _forget_idle_workers() -> None:
    """In a forked child: no idle workers (their threads were not forked) and a fresh lock."""
    _Worker.idle = []
    _Worker.idle_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_idle_workers)


@contextlib.contextmanager
def _interrupts() -> Iterator[None]:
    """Ctrl-C during a kernel call raised as ``KeyboardInterrupt``, not as Numba's
    ``SystemError``.

    A kernel runs without checking for signals; SIGINT arriving then only marks it pending,
    and Python raises ``KeyboardInterrupt`` in the first Python code that runs next: Numba's
    ``_numba_unpickle``, which the compiled wrapper calls to box each array the kernel
    returns. The wrapper does not stop at that error: the next call and the kernel's own
    return each find an exception set, so the caller gets a chain of ``SystemError``
    ("returned a result with an exception set") caused by the ``KeyboardInterrupt``."""
    try:
        yield
    except SystemError as exc:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, KeyboardInterrupt):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        raise KeyboardInterrupt from None


def _group_table(n_groups: int) -> I64:
    """A zeroed table of group statistics, indexed ``[statistic, group]`` by the kernel and
    stored group-major so that one packet's updates to its group touch one or two cache
    lines. The kernel gets at least two groups' columns: one group's table would be C- as
    well as F-contiguous, typed differently by Numba, and every kernel compiled and loaded a
    second time for it."""
    return np.zeros((max(n_groups, 2), K.N_GSTAT), np.int64).T


def _drop_buffer() -> I64:
    """A buffer the upstream part records its drops in (``kernel._lose``), empty."""
    drops = np.zeros((1024, K.DR_COLS), np.int64)
    drops[0, K.DR_DEFER] = 1
    return drops


#: Each per-queue statistic of :class:`RunStats`: its name, its row of the kernel's per-queue
#: table, and the row of the per-link table that holds it for a link running the FIFO loop.
_QUEUE_STATS = (
    ("queue_packets", K.QT_PACKETS, K.LS_PACKETS),
    ("queue_bytes", K.QT_BYTES, K.LS_BYTES),
    ("queue_drops", K.QT_DROPS, K.LS_DROPS),
    ("queue_drop_bytes", K.QT_DROP_BYTES, K.LS_DROP_BYTES),
    ("queue_peak_bytes", K.QT_PEAK_B, K.LS_PEAK_B),
    ("queue_peak_packets", K.QT_PEAK_P, K.LS_PEAK_P),
    ("queue_wait_sum_ps", K.QT_WAIT, K.LS_WAIT),
    ("queue_started", K.QT_STARTED, K.LS_STARTED),
    ("queue_peak_wait_ps", K.QT_PEAK_WAIT, K.LS_PEAK_WAIT),
)


def _successors(plan: NetworkPlan) -> tuple[I64, I64]:
    """CSR lists of the links each link feeds (over every layout of every tree)."""
    nxt: list[set[int]] = [set() for _ in range(plan.n_links)]
    for p, link in enumerate(plan.pos_link):
        if link >= 0:
            for c in plan.children(p):
                nxt[int(link)].add(int(plan.pos_link[c]))
    start = np.zeros(plan.n_links + 1, np.int64)
    start[1:] = np.cumsum([len(x) for x in nxt])
    flat = np.array([b for x in nxt for b in sorted(x)], np.int64)
    return start, flat


def _chains(plan: NetworkPlan) -> I64:
    """Per link, the link every packet leaving it goes to next when each of its positions
    (in every layout) has exactly one child, laid out right after it, and delivers nothing;
    else -1 (``kernel.L_CHAIN``: forwarding then reads no position row)."""
    link, first = plan.pos_link, plan.pos_first_child
    p = np.flatnonzero(link >= 0)
    c = first[p]
    ok = (c == p + 1) & (plan.pos_deliver[p] < 0)
    cc = np.where(ok, c, 0)
    ok &= plan.pos_sibling[cc] < 0
    nxt = np.where(ok, link[cc], -1).astype(np.int64)
    big = np.iinfo(np.int64).max
    lo = np.full(plan.n_links, big, np.int64)
    hi = np.full(plan.n_links, -big, np.int64)
    np.minimum.at(lo, link[p], nxt)
    np.maximum.at(hi, link[p], nxt)
    return np.where((lo == hi) & (lo >= 0), lo, -1)


def _layout_roots(plan: NetworkPlan) -> list[tuple[int, int]]:
    """Every ``(tree, root position)`` a run can use: each tree's first layout and the
    layouts its reroutes switch to."""
    roots = [(t, int(r)) for t, r in enumerate(plan.tree_pos0)]
    for sw in plan.route_switches:
        roots += [(int(t), int(r)) for t, r in zip(sw.trees, sw.pos0, strict=True)]
    return roots


def _work_order(plan: NetworkPlan, sched: I64, succ_start: I64, succ: I64) -> tuple[I64, I64]:
    """The kernel's work list for a window (``-1 - s`` injects source ``s``, ``l >= 0``
    computes link ``l``) and which links are *fused* (0/1 per link).

    ``succ_start``/``succ`` are the links each link feeds (:func:`_successors`). A fused
    link is the first FIFO link fed by one source alone in every layout (a
    camera's access link): it comes right after its source and reads the staging inbox
    while the packets are still in the cache. The list is a depth-first post-order: each
    link right after the links and sources feeding it, so that its inbox was written
    recently. Any order that computes a link after everything feeding it gives the same
    results.
    """
    n_src = len(plan.source_tree_start) - 1
    feed_links, feed_sources = _feeders(plan, succ_start, succ)
    fused_of = _fused_links(sched, feed_links, feed_sources, n_src)
    fused = np.zeros(plan.n_links, np.int64)
    fused[[f for f in fused_of if f >= 0]] = 1
    work = _post_order(feed_links, feed_sources, fused_of, succ_start)
    return np.array(work, np.int64), fused


def _feeders(
    plan: NetworkPlan, succ_start: I64, succ: I64
) -> tuple[list[set[int]], list[set[int]]]:
    """Per link: the links feeding it and the sources feeding it (in any layout)."""
    n_links = plan.n_links
    feed_links: list[set[int]] = [set() for _ in range(n_links)]
    for a in range(n_links):
        for b in succ[succ_start[a] : succ_start[a + 1]]:
            feed_links[int(b)].add(a)
    feed_sources: list[set[int]] = [set() for _ in range(n_links)]
    for t, r in _layout_roots(plan):
        for c in plan.children(r):
            feed_sources[int(plan.pos_link[c])].add(int(plan.tree_source[t]))
    return feed_links, feed_sources


def _fused_links(
    sched: I64, feed_links: list[set[int]], feed_sources: list[set[int]], n_src: int
) -> list[int]:
    """Per source: its fused link, or -1. A link qualifies when it is FIFO, fed by no link
    and by exactly one source; a source has one staging inbox, hence at most one fused
    link (the lowest-numbered candidate)."""
    fused_of = [-1] * n_src
    for link, srcs in enumerate(feed_sources):
        if sched[link] == 0 and not feed_links[link] and len(srcs) == 1:
            s = next(iter(srcs))
            if fused_of[s] < 0:
                fused_of[s] = link
    return fused_of


def _post_order(
    feed_links: list[set[int]], feed_sources: list[set[int]], fused_of: list[int], succ_start: I64
) -> list[int]:
    """The depth-first post-order work list of :func:`_work_order`: from the sinks (then
    every link), each link after the links and sources feeding it; a source is followed
    by its fused link; sources feeding no link come last."""
    n_links, n_src = len(feed_links), len(fused_of)
    work: list[int] = []
    done_link = [False] * n_links
    done_src = [False] * n_src

    def source(s: int) -> None:
        if not done_src[s]:
            done_src[s] = True
            work.append(-1 - s)
            f = fused_of[s]
            if f >= 0:
                done_link[f] = True
                work.append(f)

    def visit(link: int) -> None:
        if done_link[link]:
            return
        for u in sorted(feed_links[link]):
            visit(u)
        for s in sorted(feed_sources[link]):
            source(s)
        if not done_link[link]:
            done_link[link] = True
            work.append(link)

    sinks = [v for v in range(n_links) if succ_start[v] == succ_start[v + 1]]
    for link in sinks + list(range(n_links)):
        visit(link)
    for s in range(n_src):
        source(s)
    return work


def link_loops(
    sched: I64, n_epochs: int, log: bool, fail_start: I64
) -> tuple[bool | None, bool | None, bool | None]:
    """The kernel's ``plain_loop``, ``general_loop`` and ``sched_loop`` flags for a run
    (``K._windows``): True where the run may reach the plain FIFO loop (one epoch and no
    packet log), the general one (more than one epoch, a packet log or a link's failure
    intervals) or the scheduled links' loop (a link whose scheduler the kernel runs,
    ``sched``), else None: the loop is then not compiled for the run."""
    plain = n_epochs == 1 and not log
    general = not plain or bool(fail_start[-1] > fail_start[0])
    scheduled = bool((sched != 0).any())
    return (True if plain else None), (True if general else None), (True if scheduled else None)


def _effective_schedulers(plan: NetworkPlan, tree_queue: I64) -> tuple[I64, I64, I64, I64]:
    """Per link: the scheduler the kernel runs, the FIFO buffer (bytes, packets) and the
    queue a scheduled link run as FIFO carries (-1 for the others).

    A scheduled link that only ever carries one queue's packets (in every layout) is exactly
    a FIFO link with that queue's buffer (rule 11): it takes the faster FIFO loop.
    """
    used: list[set[int]] = [set() for _ in range(plan.n_links)]
    for t, r in _layout_roots(plan):
        q = int(tree_queue[t])
        for p in range(r + 1, int(plan.pos_end[r])):
            used[int(plan.pos_link[p])].add(q)
    sched = plan.link_sched.astype(np.int64).copy()
    buf_b = plan.link_buffer_bytes.astype(np.int64).copy()
    buf_p = plan.link_buffer_packets.astype(np.int64).copy()
    only = np.full(plan.n_links, -1, np.int64)
    for link in range(plan.n_links):
        if sched[link] != 0 and len(used[link]) <= 1:
            sched[link] = 0
            if used[link]:
                q = next(iter(used[link]))
                buf_b[link] = plan.link_queue_buffer_bytes[link, q]
                buf_p[link] = plan.link_queue_buffer_packets[link, q]
                only[link] = q
    return sched, buf_b, buf_p, only
