"""A run's counters and histograms (:class:`~vidnet_sim.core.stats.RunStats`) as tidy tables.

Six pandas DataFrames, each with an explicit pyarrow schema (:data:`SUMMARY_SCHEMA`,
:data:`LINKS_SCHEMA`, :data:`HIST_SCHEMA`, :data:`EPOCHS_SCHEMA`,
:data:`EPOCH_LINKS_SCHEMA`, :data:`QUEUES_SCHEMA`) so that empty tables and all-NaN columns
keep their types through Parquet. The per-epoch tables are described in
:mod:`vidnet_sim.results.epochs`; ``docs/results.md`` is the user's guide.

``summary``
    One row per flow group (``level="group"``, with its traffic ``class`` and its ``kind``:
    camera, service or source kind) and one per traffic class (``level="class"``,
    ``kind=""``), classes in the plan's order. A class row is an exact merge of its groups:
    counters summed, histograms *added* and then read, min/max taken as min/max.
    Percentiles never get averaged. Latencies are float64 picoseconds: a percentile is the
    midpoint of its histogram bucket (within 0.4 %) clamped to the exact min/max; min and
    max are exact.
    ``latency_mean_ps`` and ``frame_latency_mean_ps`` are exact: the engine sums the
    latencies of the delivered packets and frames as integers (never from bucket
    midpoints) and the mean is that sum over the count, correctly rounded; NaN when nothing
    was delivered. ``jitter_ps`` is exact too (sum / count).
    Rates use the measured time (``measured_ps``: duration minus warm-up):
    ``throughput_bps`` counts wire bytes, ``goodput_bps`` payload bytes.
    The raw counters needed to re-aggregate (bytes, jitter sum and count, latency sums,
    ``measured_ps``) are columns too; ``latency_sum_ps`` and ``frame_latency_sum_ps``
    are float64 (exact up to 2**53 ps, about 2.5 hours of summed latency; within 1e-16
    relative beyond), so a mean over rows is ``sum(latency_sum_ps) /
    sum(packets_delivered)``. ``packets_failed`` counts the packets lost to link
    failures (they are in ``packets_dropped`` too); ``failure_loss`` is their share of the
    delivered and dropped packets, like ``loss``.

``links``
    One row per directed link: ``access`` (a camera's access link), utilisation
    (``busy_ps / measured_ps``), admitted packets and bytes, drops (buffer overflows), loss
    (``drops / (packets + drops)``), ``fail_drops`` (lost to a failure of the link, not in
    ``drops`` nor ``loss``), peak queue and wait, and the exact mean wait (``mean_wait_ps``:
    transmission start minus arrival, over the packets whose transmission began).

``queues``
    One row per queue of every link the plan schedules (strict priority or DRR, rule 11):
    the same counters per queue (:func:`queues_table`); built when :func:`build_tables` is
    given the run's plan, else empty.

``hist``
    Long format, non-zero buckets only: ``level, name, metric, bucket, lo_ps, hi_ps,
    count`` with ``metric`` ``"packet_latency"`` or ``"frame_latency"``; ``lo_ps`` is
    inclusive and ``hi_ps`` exclusive. Rows exist for groups *and* classes: filter one
    level before summing (a class is the sum of its groups). Summing ``count`` by
    ``bucket`` across rows, runs or files reproduces the merged histogram exactly
    (:func:`merge_hist`, :func:`quantile_from_hist`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from vidnet_sim.core.histogram import N_BUCKETS, bucket_edges, quantile
from vidnet_sim.core.stats import RunStats
from vidnet_sim.errors import VidnetError
from vidnet_sim.network.plan import SCHED_CODES, SCHED_FIFO, NetworkPlan
from vidnet_sim.results.counters import class_members, or_zeros
from vidnet_sim.results.epochs import epoch_links_table, epochs_table
from vidnet_sim.results.schema import (
    HIST_SCHEMA,
    LINKS_SCHEMA,
    QUANTILES,
    QUEUES_SCHEMA,
    SUMMARY_SCHEMA,
    Tables,
    conform,
    empty_table,
)
from vidnet_sim.results.sla import SlaTargets, check_sla


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _exact_sum(sums: npt.NDArray[np.object_], idx: npt.NDArray[np.intp]) -> int | None:
    """The exact sum of the groups ``idx`` (None: the statistics carry no sums)."""
    return sum(int(v) for v in sums[idx]) if len(sums) else None


def _latency_stats(
    prefix: str,
    hist: npt.NDArray[np.int64],
    mins: npt.NDArray[np.int64],
    maxs: npt.NDArray[np.int64],
    total: int | None,
    count: int,
) -> dict[str, float]:
    """Exact mean (``total / count``), exact min/max and clamped quantiles of merged
    groups (``-1`` min/max: none)."""
    lo = mins[mins >= 0]
    hi = maxs[maxs >= 0]
    vmin = int(lo.min()) if lo.size else None
    vmax = int(hi.max()) if hi.size else None
    mean = total / count if total is not None and count > 0 else math.nan
    out = {f"{prefix}mean_ps": mean, f"{prefix}min_ps": math.nan if vmin is None else float(vmin)}
    for name, q in QUANTILES:
        out[f"{prefix}{name}_ps"] = quantile(hist, q, vmin, vmax)
    out[f"{prefix}max_ps"] = math.nan if vmax is None else float(vmax)
    return out


def _aggregate(s: RunStats, idx: npt.NDArray[np.intp]) -> dict[str, object]:
    """Summary columns of the groups ``idx`` merged exactly."""

    def total(a: npt.NDArray[np.int64]) -> int:
        return int(a[idx].sum())

    sent = total(s.packets_sent)
    delivered, dropped = total(s.packets_delivered), total(s.packets_dropped)
    failed = total(or_zeros(s.packets_failed, (len(s.group_names),)))
    f_delivered, f_lost = total(s.frames_delivered), total(s.frames_lost)
    wire, payload = total(s.bytes_delivered), total(s.payload_bytes_delivered)
    j_sum, j_count = total(s.jitter_sum_ps), total(s.jitter_count)
    lat_sum = _exact_sum(s.latency_sum_ps, idx)
    frame_lat_sum = _exact_sum(s.frame_latency_sum_ps, idx)
    seconds = s.measured_ps / 1e12
    row: dict[str, object] = {
        "packets_sent": sent,
        "packets_delivered": delivered,
        "packets_dropped": dropped,
        "packets_in_flight": total(s.packets_in_flight),
        "packets_failed": failed,
        "loss": _ratio(dropped, delivered + dropped),
        "failure_loss": _ratio(failed, delivered + dropped),
        **_latency_stats(
            "latency_",
            s.packet_hist[idx].sum(axis=0),
            s.latency_min_ps[idx],
            s.latency_max_ps[idx],
            lat_sum,
            delivered,
        ),
        "frames_sent": total(s.frames_sent),
        "frames_delivered": f_delivered,
        "frames_lost": f_lost,
        "frames_in_flight": total(s.frames_in_flight),
        "frame_loss": _ratio(f_lost, f_delivered + f_lost),
        **_latency_stats(
            "frame_latency_",
            s.frame_hist[idx].sum(axis=0),
            s.frame_latency_min_ps[idx],
            s.frame_latency_max_ps[idx],
            frame_lat_sum,
            f_delivered,
        ),
        "jitter_ps": _ratio(j_sum, j_count),
        "throughput_bps": _ratio(wire * 8, seconds),
        "goodput_bps": _ratio(payload * 8, seconds),
        "bytes_delivered": wire,
        "payload_bytes_delivered": payload,
        "jitter_sum_ps": j_sum,
        "jitter_count": j_count,
        "latency_sum_ps": math.nan if lat_sum is None else float(lat_sum),
        "frame_latency_sum_ps": math.nan if frame_lat_sum is None else float(frame_lat_sum),
        "measured_ps": s.measured_ps,
    }
    return row


def _check_shapes(s: RunStats) -> None:
    g, n_links = len(s.group_names), len(s.link_names)
    if len(s.group_classes) != g or len(s.group_kinds) != g:
        raise VidnetError("RunStats: group_names, group_classes and group_kinds differ in length")
    for name in ("packet_hist", "frame_hist"):
        shape = np.shape(getattr(s, name))
        if shape != (g, N_BUCKETS):
            raise VidnetError(f"RunStats.{name}: shape {shape}, expected {(g, N_BUCKETS)}")
    if len(s.link_src) != n_links or len(s.link_dst) != n_links:
        raise VidnetError("RunStats: link_names, link_src and link_dst differ in length")
    for name, n in (
        ("packets_failed", g),
        ("link_fail_drops", n_links),
        ("latency_sum_ps", g),
        ("frame_latency_sum_ps", g),
    ):
        shape = np.shape(getattr(s, name))
        if shape not in ((0,), (n,)):
            raise VidnetError(f"RunStats.{name}: shape {shape}, expected {(n,)} or empty")


def _summary(s: RunStats, sla: Mapping[str, SlaTargets]) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    for g, (name, cls, kind) in enumerate(
        zip(s.group_names, s.group_classes, s.group_kinds, strict=True)
    ):
        idx = np.array([g], dtype=np.intp)
        rows.append(
            {"level": "group", "name": name, "class": cls, "kind": kind, **_aggregate(s, idx)}
        )
    for cls, idx in class_members(s).items():
        rows.append({"level": "class", "name": cls, "class": cls, "kind": "", **_aggregate(s, idx)})
    for row in rows:
        targets = sla.get(str(row["class"]))
        violations = check_sla(row, targets)
        row["sla_ok"] = pd.NA if targets is None else not violations
        row["sla_violations"] = "; ".join(violations)
    if not rows:
        return empty_table(SUMMARY_SCHEMA)
    return conform(pd.DataFrame(rows), SUMMARY_SCHEMA)


def _links(s: RunStats, access: npt.NDArray[np.bool_]) -> pd.DataFrame:
    def arr(a: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.asarray(a, dtype=np.float64)

    packets, drops, busy = arr(s.link_packets), arr(s.link_drops), arr(s.link_busy_ps)
    measured = float(s.measured_ps)
    denom = packets + drops
    loss = np.where(denom > 0, drops / np.where(denom > 0, denom, 1.0), np.nan)
    if measured > 0:
        util = busy / measured
        thr = arr(s.link_bytes) * 8 / (measured / 1e12)
    else:
        util = thr = np.full(len(busy), np.nan)
    df = pd.DataFrame(
        {
            "link": list(s.link_names),
            "src": list(s.link_src),
            "dst": list(s.link_dst),
            "access": access,
            "rate_bps": s.link_rate_bps,
            "utilisation": util,
            "packets": s.link_packets,
            "bytes": s.link_bytes,
            "drops": s.link_drops,
            "drop_bytes": s.link_drop_bytes,
            "fail_drops": or_zeros(s.link_fail_drops, (len(s.link_names),)),
            "loss": loss,
            "peak_queue_bytes": s.link_peak_queue_bytes,
            "peak_queue_packets": s.link_peak_queue_packets,
            "peak_wait_ps": s.link_peak_wait_ps,
            "mean_wait_ps": _ratios(s.link_wait_sum_ps, s.link_started, len(s.link_names)),
            "throughput_bps": thr,
            "busy_ps": s.link_busy_ps,
            "measured_ps": np.full(len(s.link_names), s.measured_ps, dtype=np.int64),
        }
    )
    return conform(df, LINKS_SCHEMA)


def _hist_rows(
    level: str, names: Sequence[str], metric: str, counts: npt.NDArray[np.int64]
) -> pd.DataFrame:
    row, bucket = np.nonzero(counts)
    lo, hi = bucket_edges()
    return pd.DataFrame(
        {
            "level": level,
            "name": np.asarray(list(names), dtype=object)[row],
            "metric": metric,
            "bucket": bucket.astype(np.int64),
            "lo_ps": lo[bucket],
            "hi_ps": hi[bucket],
            "count": counts[row, bucket],
        }
    )


def _hist(s: RunStats) -> pd.DataFrame:
    members = class_members(s)
    classes = list(members)
    parts: list[pd.DataFrame] = []
    for metric, h in (("packet_latency", s.packet_hist), ("frame_latency", s.frame_hist)):
        parts.append(_hist_rows("group", s.group_names, metric, np.asarray(h, dtype=np.int64)))
    for metric, h in (("packet_latency", s.packet_hist), ("frame_latency", s.frame_hist)):
        h = np.asarray(h, dtype=np.int64)
        merged = np.stack([h[idx].sum(axis=0) for idx in members.values()]) if classes else h[:0]
        parts.append(_hist_rows("class", classes, metric, merged))
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_table(HIST_SCHEMA)
    return conform(pd.concat(parts, ignore_index=True), HIST_SCHEMA)


def _ratios(num: npt.ArrayLike, den: npt.ArrayLike, n: int) -> npt.NDArray[np.float64]:
    """``num / den`` elementwise, NaN where ``den`` is 0 (both may be empty: ``n`` NaNs)."""
    a = np.asarray(num, np.float64)
    b = np.asarray(den, np.float64)
    if a.size == 0 and b.size == 0:
        return np.full(n, np.nan)
    return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def queues_table(s: RunStats, plan: NetworkPlan) -> pd.DataFrame:
    """The ``queues`` table: one row per queue of every link the plan schedules (strict
    priority or DRR), from the ``queue_*`` statistics (docs/results.md)."""
    sched_name = {v: k for k, v in SCHED_CODES.items()}
    classes = [
        ", ".join(c for c, q in zip(plan.class_names, plan.class_queue, strict=True) if q == k)
        for k in range(plan.n_queues)
    ]
    rows = [
        (link, q)
        for link in range(plan.n_links)
        if plan.link_sched[link] != SCHED_FIFO
        for q in range(plan.n_queues)
    ]
    if not rows or s.queue_packets.size == 0:
        return empty_table(QUEUES_SCHEMA)
    li = np.array([r[0] for r in rows], np.int64)
    qi = np.array([r[1] for r in rows], np.int64)

    def col(a: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.asarray(a, np.int64)[li, qi]

    packets, drops = col(s.queue_packets), col(s.queue_drops)
    measured = float(s.measured_ps)
    df = pd.DataFrame(
        {
            "link": [s.link_names[i] for i in li],
            "src": [s.link_src[i] for i in li],
            "dst": [s.link_dst[i] for i in li],
            "scheduler": [sched_name[int(plan.link_sched[i])] for i in li],
            "queue": [plan.queue_names[q] for q in qi],
            "queue_index": qi,
            "classes": [classes[q] for q in qi],
            "packets": packets,
            "bytes": col(s.queue_bytes),
            "drops": drops,
            "drop_bytes": col(s.queue_drop_bytes),
            "loss": _ratios(drops, packets + drops, len(li)),
            "peak_queue_bytes": col(s.queue_peak_bytes),
            "peak_queue_packets": col(s.queue_peak_packets),
            "mean_wait_ps": _ratios(col(s.queue_wait_sum_ps), col(s.queue_started), len(li)),
            "peak_wait_ps": col(s.queue_peak_wait_ps),
            "throughput_bps": col(s.queue_bytes) * 8 / (measured / 1e12)
            if measured > 0
            else np.full(len(li), np.nan),
            "measured_ps": np.full(len(li), s.measured_ps, np.int64),
        }
    )
    return conform(df, QUEUES_SCHEMA)


def build_tables(
    stats: RunStats,
    sla: Mapping[str, SlaTargets] | None = None,
    *,
    warmup_ps: int = 0,
    access_links: Collection[str] = (),
    plan: NetworkPlan | None = None,
) -> Tables:
    """The ``summary``, ``links``, ``hist``, ``epochs``, ``epoch_links`` and (given the
    run's ``plan``) ``queues`` tables of a run.

    ``sla`` maps a traffic class name to its targets; they apply to the class row and to
    every group row of that class (``sla_ok`` is NA for classes without targets).
    ``warmup_ps`` is the run's warm-up (the run ends at ``warmup_ps + measured_ps``): the
    epochs measure only their part after it. ``access_links`` names the cameras' access
    links (the ``access`` column of the link tables).
    """
    _check_shapes(stats)
    known = set(access_links)
    access = np.array([name in known for name in stats.link_names], dtype=np.bool_)
    return Tables(
        summary=_summary(stats, sla or {}),
        links=_links(stats, access),
        hist=_hist(stats),
        epochs=epochs_table(stats, warmup_ps),
        epoch_links=epoch_links_table(stats, warmup_ps, access),
        queues=queues_table(stats, plan) if plan is not None else empty_table(QUEUES_SCHEMA),
    )


def merge_hist(df: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Bucket counts (``N_BUCKETS``, int64) summed over the rows of a ``hist`` table."""
    out = np.zeros(N_BUCKETS, dtype=np.int64)
    np.add.at(out, df["bucket"].to_numpy(dtype=np.int64), df["count"].to_numpy(dtype=np.int64))
    return out


def quantile_from_hist(
    df: pd.DataFrame, q: float, vmin: float | None = None, vmax: float | None = None
) -> float:
    """The ``q``-quantile of the values counted by the rows of a ``hist`` table; NaN if none.

    Rows may come from many groups, runs or files: their counts are summed by bucket
    first (exact), then read like the summary does. Pass the exact ``vmin``/``vmax``
    (e.g. the min of ``latency_min_ps`` and the max of ``latency_max_ps`` of the same rows
    in ``summary``) to get the summary's clamped values. Refuses rows that mix metrics or
    levels: a class row already counts its groups' values.
    """
    for col in ("metric", "level"):
        if col in df.columns and df[col].nunique() > 1:
            values = ", ".join(sorted(map(str, df[col].unique())))
            raise VidnetError(f"hist rows mix {col}s ({values}): filter one {col} first")
    if df.empty:
        return math.nan
    lo = None if vmin is None or math.isnan(vmin) else int(vmin)
    hi = None if vmax is None or math.isnan(vmax) else int(vmax)
    return quantile(merge_hist(df), q, lo, hi)
