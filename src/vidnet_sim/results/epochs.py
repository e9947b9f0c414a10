"""The ``epochs`` and ``epoch_links`` tables: a run cut at its events (docs/model.md rule 14).

The timeline's events (and multiples of ``simulation.report_interval``) cut the run into
epochs ``[t_start_ps, t_end_ps)``; the last one ends at the run's end *T*. Their counters
sum to the run's totals:

``epochs``
    One row per epoch and flow group (``level="group"``), then one per epoch and traffic
    class (``level="class"``, the exact merge of its groups, like ``summary``), over the
    packets emitted at or after the warm-up, each counted where it happened: sent in the
    epoch of its emission, delivered (and its latency) in that of its delivery, dropped and
    failed in that of its loss (a packet lost when a link fails counts in the failure's
    epoch); in flight: the packets emitted so far and not yet delivered or dropped at the
    epoch's end. ``loss`` and ``failure_loss`` are over delivered + dropped, the packets the
    network finished with in the epoch. Latency percentiles are read from the epoch's
    histogram: a percentile is its bucket's midpoint (within 0.4 %), clamped to the run's
    exact min/max of the group or class; ``latency_max_ps`` is the midpoint of the highest
    non-empty bucket, clamped the same way. ``measured_ps`` is the part of the epoch after
    the warm-up.

``epoch_links``
    One row per epoch and directed link, over the **arrivals** in the epoch's measured part
    (after the warm-up, before *T*): admitted bytes, busy time, buffer drops (at arrival),
    ``utilisation = busy_ps / measured_ps`` and ``throughput_bps`` (NaN for an epoch that lies
    in the warm-up); failure drops of those arrivals in the epoch of the failure that lost
    them.

A run whose engine recorded no epochs (empty ``epoch_*`` arrays) has one epoch, the whole
run, built from its totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vidnet_sim.core.histogram import N_BUCKETS, bucket_edges
from vidnet_sim.core.stats import RunStats
from vidnet_sim.errors import VidnetError
from vidnet_sim.results.counters import class_members, or_zeros
from vidnet_sim.results.schema import (
    EPOCH_LINKS_SCHEMA,
    EPOCHS_SCHEMA,
    QUANTILES,
    conform,
    empty_table,
)
from vidnet_sim.timeline.driver import EPOCH_START_LABEL

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EpochData:
    """The per-epoch arrays of a run, checked and completed (see :func:`epoch_data`)."""

    starts_ps: I64  # (E,)
    ends_ps: I64  # (E,)
    measured_ps: I64  # (E,) the part of each epoch after the warm-up and before the end
    labels: list[str]  # (E,)
    sent: I64  # (E, G)
    delivered: I64
    dropped: I64
    failed: I64
    packet_hist: I64  # (E, G, N_BUCKETS)
    link_bytes: I64  # (E, L)
    link_busy_ps: I64
    link_drops: I64
    link_fail_drops: I64


def epoch_data(s: RunStats, warmup_ps: int = 0) -> EpochData:
    """The epochs of ``s`` with their spans; one whole-run epoch when it recorded none.

    Raises :class:`~vidnet_sim.errors.VidnetError` when the arrays disagree in shape.
    """
    g, n_links = len(s.group_names), len(s.link_names)
    end_ps = warmup_ps + s.measured_ps
    starts = np.asarray(s.epoch_starts_ps, dtype=np.int64)
    e = len(starts)
    if e == 0:  # no epochs recorded: the run is one epoch
        starts = np.zeros(1, np.int64)
        arrays = {
            "sent": np.asarray(s.packets_sent, np.int64)[None],
            "delivered": np.asarray(s.packets_delivered, np.int64)[None],
            "dropped": np.asarray(s.packets_dropped, np.int64)[None],
            "failed": or_zeros(s.packets_failed, (g,))[None],
            "packet_hist": np.asarray(s.packet_hist, np.int64)[None],
            "link_bytes": np.asarray(s.link_bytes, np.int64)[None],
            "link_busy_ps": np.asarray(s.link_busy_ps, np.int64)[None],
            "link_drops": np.asarray(s.link_drops, np.int64)[None],
            "link_fail_drops": or_zeros(s.link_fail_drops, (n_links,))[None],
        }
        e = 1
    else:
        if starts[0] != 0 or np.any(np.diff(starts) <= 0):
            raise VidnetError("RunStats.epoch_starts_ps: must start at 0 and increase")
        wanted = {
            "sent": ("epoch_sent", (e, g)),
            "delivered": ("epoch_delivered", (e, g)),
            "dropped": ("epoch_dropped", (e, g)),
            "failed": ("epoch_failed", (e, g)),
            "packet_hist": ("epoch_packet_hist", (e, g, N_BUCKETS)),
            "link_bytes": ("epoch_link_bytes", (e, n_links)),
            "link_busy_ps": ("epoch_link_busy_ps", (e, n_links)),
            "link_drops": ("epoch_link_drops", (e, n_links)),
            "link_fail_drops": ("epoch_link_fail_drops", (e, n_links)),
        }
        arrays = {}
        for key, (attr, shape) in wanted.items():
            a = np.asarray(getattr(s, attr), dtype=np.int64)
            if key in ("failed", "link_fail_drops"):  # engines without failures may omit them
                a = or_zeros(a, shape)
            if a.shape != shape:
                raise VidnetError(f"RunStats.{attr}: shape {a.shape}, expected {shape}")
            arrays[key] = a
    ends = np.append(starts[1:], np.int64(end_ps)).astype(np.int64)
    measured = np.maximum(0, np.minimum(ends, end_ps) - np.maximum(starts, warmup_ps))
    labels = list(s.epoch_labels)
    if len(labels) != e:
        labels = [EPOCH_START_LABEL] + [""] * (e - 1)
    return EpochData(starts, ends, measured.astype(np.int64), labels, **arrays)


def hist_quantiles(
    hists: npt.ArrayLike,
    qs: Sequence[float],
    vmin: npt.ArrayLike | None = None,
    vmax: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """``quantile(hists[r], q, vmin[r], vmax[r])`` for every row ``r`` and every ``q``, at once.

    ``hists`` is ``(R, N_BUCKETS)``; ``vmin``/``vmax`` hold each row's exact extremes, NaN
    where unknown. Returns ``(R, len(qs))`` float64, NaN for empty rows: the values
    :func:`~vidnet_sim.core.histogram.quantile` gives, with one cumulative sum per row.
    """
    h = np.asarray(hists, dtype=np.int64)
    rows = h.shape[0]
    lo_arr = np.full(rows, np.nan) if vmin is None else np.asarray(vmin, dtype=np.float64)
    hi_arr = np.full(rows, np.nan) if vmax is None else np.asarray(vmax, dtype=np.float64)
    lo, hi = bucket_edges()
    mid = np.where(
        hi - lo == 1,
        lo.astype(np.float64),
        (lo.astype(np.float64) + (hi - 1).astype(np.float64)) / 2.0,
    )
    q = np.asarray(qs, dtype=np.float64)
    out = np.full((rows, len(q)), np.nan)
    for r in np.flatnonzero(h.any(axis=1)):
        cum = np.cumsum(h[r])
        rank = np.maximum(1, np.ceil(q * float(cum[-1])).astype(np.int64))
        bucket = np.searchsorted(cum, rank, side="left")
        out[r] = np.fmin(np.fmax(mid[bucket], lo_arr[r]), hi_arr[r])  # NaN bounds: no clamp
    return out


def _extremes(
    values: I64, members: list[npt.NDArray[np.intp]], low: bool
) -> npt.NDArray[np.float64]:
    """Per member set, the min (``low``) or max of its known values (``-1``: unknown), NaN
    when none is known."""
    out = np.full(len(members), np.nan)
    for u, idx in enumerate(members):
        known = values[idx][values[idx] >= 0]
        if known.size:
            out[u] = float(known.min() if low else known.max())
    return out


def epochs_table(s: RunStats, warmup_ps: int = 0) -> pd.DataFrame:
    """The ``epochs`` table of a run (see the module documentation)."""
    d = epoch_data(s, warmup_ps)
    classes = class_members(s)
    g = len(s.group_names)
    members = [np.array([i], dtype=np.intp) for i in range(g)] + list(classes.values())
    n_units = len(members)
    if n_units == 0:
        return empty_table(EPOCHS_SCHEMA)
    member = np.zeros((n_units, g), np.int64)  # unit u counts group i
    for u, idx in enumerate(members):
        member[u, idx] = 1
    vmin = _extremes(np.asarray(s.latency_min_ps, np.int64), members, low=True)
    vmax = _extremes(np.asarray(s.latency_max_ps, np.int64), members, low=False)
    qs = [q for _, q in QUANTILES] + [1.0]
    n_epochs = len(d.starts_ps)
    latencies = np.empty((n_epochs, n_units, len(qs)))
    for e in range(n_epochs):
        merged = [d.packet_hist[e, idx].sum(axis=0)[None] for idx in classes.values()]
        hists = np.concatenate([d.packet_hist[e], *merged])
        latencies[e] = hist_quantiles(hists, qs, vmin, vmax)
    flat = latencies.reshape(n_epochs * n_units, len(qs))

    def per_unit(a: I64) -> I64:  # (E, G) -> (E * U,)
        return np.asarray((a @ member.T).reshape(-1), dtype=np.int64)

    sent, delivered = per_unit(d.sent), per_unit(d.delivered)
    dropped, failed = per_unit(d.dropped), per_unit(d.failed)
    # in flight at each epoch's end: every packet emitted so far, less those delivered or
    # dropped so far (a packet settles in the epoch of its delivery or drop)
    net = ((d.sent - d.delivered - d.dropped) @ member.T).cumsum(axis=0)
    in_flight = np.asarray(net.reshape(-1), dtype=np.int64)
    decided = (delivered + dropped).astype(np.float64)
    safe = np.where(decided > 0, decided, 1.0)
    columns: dict[str, object] = {
        "epoch": np.repeat(np.arange(n_epochs, dtype=np.int64), n_units),
        "t_start_ps": np.repeat(d.starts_ps, n_units),
        "t_end_ps": np.repeat(d.ends_ps, n_units),
        "label": np.repeat(np.asarray(d.labels, dtype=object), n_units),
        "level": np.tile(
            np.array(["group"] * g + ["class"] * len(classes), dtype=object), n_epochs
        ),
        "name": np.tile(np.array([*s.group_names, *classes], dtype=object), n_epochs),
        "class": np.tile(np.array([*s.group_classes, *classes], dtype=object), n_epochs),
        "kind": np.tile(np.array([*s.group_kinds, *([""] * len(classes))], dtype=object), n_epochs),
        "packets_sent": sent,
        "packets_delivered": delivered,
        "packets_dropped": dropped,
        "packets_in_flight": in_flight,
        "packets_failed": failed,
        "loss": np.where(decided > 0, dropped / safe, np.nan),
        "failure_loss": np.where(decided > 0, failed / safe, np.nan),
        **{f"latency_{name}_ps": flat[:, k] for k, (name, _) in enumerate(QUANTILES)},
        "latency_max_ps": flat[:, -1],
        "measured_ps": np.repeat(d.measured_ps, n_units),
    }
    return conform(pd.DataFrame(columns), EPOCHS_SCHEMA)


def epoch_links_table(
    s: RunStats, warmup_ps: int = 0, access: npt.NDArray[np.bool_] | None = None
) -> pd.DataFrame:
    """The ``epoch_links`` table of a run (see the module documentation).

    ``access`` flags the cameras' access links (default: none).
    """
    d = epoch_data(s, warmup_ps)
    e, n = len(d.starts_ps), len(s.link_names)
    if n == 0:
        return empty_table(EPOCH_LINKS_SCHEMA)
    flags = np.zeros(n, np.bool_) if access is None else np.asarray(access, np.bool_)
    measured = np.repeat(d.measured_ps, n).astype(np.float64)
    busy = d.link_busy_ps.reshape(-1).astype(np.float64)
    nbytes = d.link_bytes.reshape(-1)
    ok = measured > 0
    safe = np.where(ok, measured, 1.0)
    df = pd.DataFrame(
        {
            "epoch": np.repeat(np.arange(e, dtype=np.int64), n),
            "t_start_ps": np.repeat(d.starts_ps, n),
            "t_end_ps": np.repeat(d.ends_ps, n),
            "label": np.repeat(np.asarray(d.labels, dtype=object), n),
            "link": np.tile(np.asarray(s.link_names, dtype=object), e),
            "src": np.tile(np.asarray(s.link_src, dtype=object), e),
            "dst": np.tile(np.asarray(s.link_dst, dtype=object), e),
            "access": np.tile(flags, e),
            "rate_bps": np.tile(np.asarray(s.link_rate_bps, np.int64), e),
            "utilisation": np.where(ok, busy / safe, np.nan),
            "throughput_bps": np.where(ok, nbytes * 8.0 / (safe / 1e12), np.nan),
            "bytes": nbytes,
            "busy_ps": d.link_busy_ps.reshape(-1),
            "drops": d.link_drops.reshape(-1),
            "fail_drops": d.link_fail_drops.reshape(-1),
            "measured_ps": np.repeat(d.measured_ps, n),
        }
    )
    return conform(df, EPOCH_LINKS_SCHEMA)
