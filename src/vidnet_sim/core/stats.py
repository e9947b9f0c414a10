"""What one run measured, as plain arrays: the core's (and the reference engine's) output."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
Sums = npt.NDArray[np.object_]  # Python ints: exact sums that may exceed the int64 range


def _empty() -> I64:
    return np.zeros(0, np.int64)


def _no_sums() -> Sums:
    return np.zeros(0, dtype=object)


def _empty2() -> I64:
    return np.zeros((0, 0), np.int64)


def _empty3() -> I64:
    return np.zeros((0, 0, 0), np.int64)


@dataclass
class RunStats:
    """Counters and histograms of one run, indexed by flow group and by directed link.

    A *group* is a camera group or a generic source of the scenario (its ``name``); every
    packet belongs to exactly one group. Packet counters count one packet per destination
    copy. Only packets created at or after the warm-up end are counted in the group
    statistics; link statistics count arrivals at or after the warm-up end.

    Conservation (checked by tests): ``packets_sent == packets_delivered + packets_dropped
    + packets_in_flight`` per group, and the same for frames.
    """

    # --- groups, shape (G,) ---
    group_names: list[str]
    group_classes: list[str]
    group_kinds: list[str]  # "camera", "cbr", "poisson", "trace"
    packets_sent: I64
    packets_delivered: I64
    packets_dropped: I64
    packets_in_flight: I64  # not delivered by the end of the run (only when drain is off)
    bytes_delivered: I64  # wire bytes (payload + headers)
    payload_bytes_delivered: I64
    frames_sent: I64  # cameras only; 0 for other kinds
    frames_delivered: I64  # every packet of the frame delivered
    frames_lost: I64  # at least one packet of the frame dropped
    frames_in_flight: I64
    jitter_sum_ps: I64  # sum of |d_i - d_{i-1}| over consecutive delivered packets of a flow
    jitter_count: I64
    latency_min_ps: I64  # exact; -1 when no packet was delivered
    latency_max_ps: I64
    frame_latency_min_ps: I64
    frame_latency_max_ps: I64
    packet_hist: I64  # (G, N_BUCKETS) end-to-end packet latency, ps
    frame_hist: I64  # (G, N_BUCKETS) frame latency (last packet delivered - capture), ps
    # --- directed links, shape (L,) ---
    link_names: list[str]
    link_src: list[str]
    link_dst: list[str]
    link_rate_bps: I64
    link_packets: I64  # admitted packets
    link_bytes: I64  # admitted wire bytes
    link_drops: I64
    link_drop_bytes: I64
    link_busy_ps: I64  # sum of transmission times of admitted packets
    link_peak_queue_bytes: I64  # largest backlog seen by an arrival, itself included
    link_peak_queue_packets: I64
    link_peak_wait_ps: I64  # largest queueing delay (start of transmission - arrival)
    # --- run ---
    measured_ps: int  # duration - warm-up: the denominator of rates and utilisations
    packet_hops: int  # every packet arrival processed at a link, warm-up included
    wall_seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)
    # --- classes (docs/model.md rule 11) and failures (rule 13) ---
    class_names: list[str] = field(default_factory=list)
    group_class: I64 = field(default_factory=_empty)  # (G,) index into class_names
    packets_failed: I64 = field(default_factory=_empty)  # (G,) lost to a link failure (in dropped)
    link_fail_drops: I64 = field(default_factory=_empty)  # (L,) lost to a failure at the link
    # --- epochs (rule 14): E epochs starting at epoch_starts_ps; a packet is sent in the
    # epoch of its emission, delivered (with its latency) or dropped in that of its delivery
    # or loss; a link counts its arrivals, and a failure drop in the epoch of the loss ---
    epoch_starts_ps: I64 = field(default_factory=_empty)  # (E,)
    epoch_labels: list[str] = field(default_factory=list)  # (E,) what started each epoch
    epoch_sent: I64 = field(default_factory=_empty2)  # (E, G)
    epoch_delivered: I64 = field(default_factory=_empty2)  # (E, G)
    epoch_dropped: I64 = field(default_factory=_empty2)  # (E, G), failure losses included
    epoch_failed: I64 = field(default_factory=_empty2)  # (E, G)
    epoch_packet_hist: I64 = field(default_factory=_empty3)  # (E, G, N_BUCKETS)
    epoch_link_bytes: I64 = field(default_factory=_empty2)  # (E, L) admitted wire bytes
    epoch_link_busy_ps: I64 = field(default_factory=_empty2)  # (E, L)
    epoch_link_drops: I64 = field(default_factory=_empty2)  # (E, L) buffer drops
    epoch_link_fail_drops: I64 = field(default_factory=_empty2)  # (E, L)
    # --- exact latency sums (G,), Python ints: the means are sum / delivered ---
    latency_sum_ps: Sums = field(default_factory=_no_sums)  # delivered packets' latencies
    frame_latency_sum_ps: Sums = field(default_factory=_no_sums)  # delivered frames'
    # --- waits (L,): over the measured arrivals whose transmission began ---
    link_wait_sum_ps: I64 = field(default_factory=_empty)  # sum of (start - arrival)
    link_started: I64 = field(default_factory=_empty)  # how many
    # --- per queue of a scheduled link (L, Q), zero on FIFO links (docs/model.md rule 11) ---
    queue_packets: I64 = field(default_factory=_empty2)  # admitted
    queue_bytes: I64 = field(default_factory=_empty2)
    queue_drops: I64 = field(default_factory=_empty2)  # buffer overflows
    queue_drop_bytes: I64 = field(default_factory=_empty2)
    queue_peak_bytes: I64 = field(default_factory=_empty2)  # largest backlog an arrival saw
    queue_peak_packets: I64 = field(default_factory=_empty2)
    queue_wait_sum_ps: I64 = field(default_factory=_empty2)
    queue_started: I64 = field(default_factory=_empty2)
    queue_peak_wait_ps: I64 = field(default_factory=_empty2)
