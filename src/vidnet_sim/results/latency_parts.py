"""The ``latency_parts`` table: where each group's and class's latency comes from.

A delivered packet's latency is, exactly, the sum over the links of its path of the time it
spent *queueing* at each (arrival to the start of its transmission), *transmitting*
(serialisation: start to end of transmission) and *propagating* (the link's delay). This module
reads those three parts off an engine's packet log (``log=True``: rows ``(tree, seq, link,
t_arrival, t_departure, t_start)``, see :class:`~vidnet_sim.core.engine.CoreEngine`) for every
packet delivered to every delivery flow, and sums them per group (and class) and link. The
cameras' own access links are one row, ``link = "camera access"``: each camera has its own,
and what matters is their sum.

Columns: ``level`` (``group`` or ``class``), ``name``, ``class``, ``link`` (a directed link's
name, or ``camera access``), ``access``, ``hop`` (the link's least depth along the paths:
1 = the first link after the source), ``packets`` (delivered packets that crossed it),
``queueing_ps``, ``transmission_ps``, ``propagation_ps`` (sums over the row's delivered
packets divided by *all* the group's delivered packets, so that the rows of a group add up to
its exact mean latency), then the same three parts at the p99, ``p99_packets``,
``queueing_p99_ps``, ``transmission_p99_ps``, ``propagation_p99_ps``: averaged over the
group's packets whose latency lies in the latency histogram's bucket holding the p99 (the
``ceil(0.99 n)``-th smallest latency). Those packets' latencies are within the bucket's width
(at most 0.8 %) of the p99, and their parts add up to their own mean latency exactly: the
split *at the p99* is exact to the histogram's bucket.

Only packets emitted at or after the warm-up and delivered by the end (any time with drain)
count, as in the ``summary`` table; a packet delivered at its own node (no link) is not in
the log and not counted.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from vidnet_sim.core.histogram import N_BUCKETS, bucket_edges
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.results.packet_log import LogPackets, TreeIndex, log_packets, sort_order
from vidnet_sim.results.schema import conform, empty_table
from vidnet_sim.results.sla import format_significant
from vidnet_sim.scenario.units import rate_words

__all__ = [
    "ACCESS_LINK",
    "LATENCY_PARTS_SCHEMA",
    "PARTS",
    "LatencyParts",
    "LatencyPartsSums",
    "explain_lines",
    "latency_parts",
    "latency_parts_table",
]

I64 = npt.NDArray[np.int64]

#: The name the cameras' access links go under.
ACCESS_LINK = "camera access"
#: The three parts of a packet's time on a link, in path order.
PARTS: tuple[str, ...] = ("queueing", "transmission", "propagation")
#: The quantile the tail columns explain.
TAIL_Q = 0.99

_I = pa.int64()
_F = pa.float64()
_S = pa.string()

#: Schema of the ``latency_parts`` table.
LATENCY_PARTS_SCHEMA: pa.Schema = pa.schema(
    [
        ("level", _S),
        ("name", _S),
        ("class", _S),
        ("link", _S),
        ("access", pa.bool_()),
        ("hop", _I),
        ("packets", _I),
        *[(f"{p}_ps", _F) for p in PARTS],
        ("p99_packets", _I),
        *[(f"{p}_p99_ps", _F) for p in PARTS],
    ]
)


class LatencyParts:
    """Each delivered (packet, delivery flow) and each of its link crossings, from a log.

    Arrays over the delivered pairs: ``group``, ``latency_ps``; over their crossings:
    ``pair`` (the pair it belongs to), ``link``, ``depth`` (1 = first link),
    ``queueing_ps``, ``transmission_ps``, ``propagation_ps``. For every pair the three parts
    of its crossings add up to its latency exactly. ``log`` holds every row of its packets
    (the whole run's log, or the rows of the packets settled in a window:
    :mod:`~vidnet_sim.results.packet_stream`), raw or grouped by packet; ``index`` is the
    plan's :class:`~vidnet_sim.results.packet_log.TreeIndex` (built if not given).
    """

    def __init__(
        self,
        plan: NetworkPlan,
        log: I64 | LogPackets,
        *,
        warmup_ps: int,
        end_ps: int,
        drain: bool,
        index: TreeIndex | None = None,
    ) -> None:
        index = index or TreeIndex(plan)
        if not isinstance(log, LogPackets):
            log = np.asarray(log, np.int64)
            if log.ndim != 2 or log.shape[1] < 6:
                raise ValueError("expected a packet log with 6 columns (the transmission start)")
            log = log_packets(index, log)
        arrays = _crossings(plan, index, log, warmup_ps=warmup_ps, end_ps=end_ps, drain=drain)
        self.group, self.latency_ps, self.pair, self.link, self.depth = arrays[:5]
        self.queueing_ps, self.transmission_ps, self.propagation_ps = arrays[5:]

    def part(self, name: str) -> I64:
        """The ``name`` part (one of :data:`PARTS`) of every crossing."""
        return np.asarray(getattr(self, f"{name}_ps"), np.int64)


def _crossings(
    plan: NetworkPlan,
    index: TreeIndex,
    lp: LogPackets,
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
) -> tuple[I64, ...]:
    """The arrays of :class:`LatencyParts` for the packets of ``lp``, in its order."""
    log, pos, packet = lp.log, lp.pos, lp.packet
    # each row serves the delivery positions of its subtree; the pairs (packet, delivery
    # position) served, in that order: numbered among every pair of the packets' layouts
    row, q = index.below(pos)
    row_packet = packet[row]
    reach = index.n_deliver[lp.root]
    slot = (np.cumsum(reach) - reach)[row_packet] + index.rank(lp.root[row_packet], q)
    served = np.zeros(int(reach.sum()), bool)
    served[slot] = True
    pair = (np.cumsum(served) - 1)[slot]
    n_pairs = int(np.count_nonzero(served))
    pair_q = np.zeros(n_pairs, np.int64)
    pair_q[pair] = q
    pair_packet = np.zeros(n_pairs, np.int64)
    pair_packet[pair] = row_packet
    dep = log[row, 4]
    ok = np.bincount(pair, weights=dep >= 0, minlength=n_pairs).astype(np.int64)
    link = log[:, 2]
    last = pos[row] == q  # the crossing into the delivery position
    t_end = np.full(n_pairs, -1, np.int64)
    t_end[pair[last]] = np.where(dep[last] >= 0, dep[last] + index.prop[link[row[last]]], -1)
    delivered = (ok == index.depth[pair_q]) & (t_end >= 0) & (lp.emit[pair_packet] >= warmup_ps)
    if not drain:
        delivered &= t_end <= end_ps
    keep_pair = np.flatnonzero(delivered)
    new_index = np.full(n_pairs, -1, np.int64)
    new_index[keep_pair] = np.arange(len(keep_pair))
    flow_group = np.asarray(plan.sources.group, np.int64)[np.asarray(plan.flow_source)]
    keep = delivered[pair]
    r = row[keep]
    start = log[r, 5]
    return (
        flow_group[index.deliver[pair_q[keep_pair]]],
        t_end[keep_pair] - lp.emit[pair_packet[keep_pair]],
        new_index[pair[keep]],
        link[r],
        index.depth[pos[r]],
        start - log[r, 3],
        log[r, 4] - start,
        index.prop[link[r]],
    )


def tail_bucket_mask(latency_ps: I64, q: float = TAIL_Q) -> npt.NDArray[np.bool_]:
    """Which of ``latency_ps`` lie in the histogram bucket holding their ``q``-quantile
    (the ``ceil(q n)``-th smallest, as :func:`~vidnet_sim.core.histogram.quantile`)."""
    lat = np.asarray(latency_ps, np.int64)
    if len(lat) == 0:
        return np.zeros(0, bool)
    lo, _ = bucket_edges()
    b = np.searchsorted(lo, lat, side="right") - 1
    rank = max(1, math.ceil(q * len(lat)))
    b_q = np.sort(b)[rank - 1]
    return np.asarray(b == b_q)


class LatencyPartsSums:
    """The sums a ``latency_parts`` table is made of, added up chunk by chunk
    (:meth:`add`, e.g. the packets settled in each window of a run) and exact whatever the
    chunks: per (group, latency histogram bucket of the pair, link label) the crossings,
    their least depth and the integer sums of their three parts; per group, the histogram
    of its delivered pairs' latencies (which finds the p99's bucket). Its size grows with
    the groups, buckets used and links, not with the packets."""

    def __init__(
        self, plan: NetworkPlan, *, access_links: frozenset[str] | set[str] = frozenset()
    ) -> None:
        self._plan = plan
        names = list(plan.link_names)
        # the row label of every link: its name, or ACCESS_LINK for every camera access link
        labels = [ACCESS_LINK if n in access_links else n for n in names]
        self.label_names: list[str] = sorted(set(labels))
        self._label_of = np.array([self.label_names.index(x) for x in labels], np.int64)
        self.pair_hist: I64 = np.zeros((len(plan.group_names), N_BUCKETS), np.int64)
        self._bucket_lo = bucket_edges()[0]
        self._keys = np.zeros(0, np.int64)
        # per key: crossings, least depth, queueing, transmission, propagation sums
        self._vals = np.zeros((5, 0), np.int64)

    def add(self, parts: LatencyParts) -> None:
        """Add the delivered pairs and crossings of ``parts``."""
        n_groups, n_labels = len(self.pair_hist), len(self.label_names)
        bucket = np.searchsorted(self._bucket_lo, parts.latency_ps, side="right") - 1
        self.pair_hist += np.bincount(
            parts.group * N_BUCKETS + bucket, minlength=n_groups * N_BUCKETS
        ).reshape(n_groups, N_BUCKETS)
        if len(parts.link) == 0:
            return
        key = (parts.group[parts.pair] * N_BUCKETS + bucket[parts.pair]) * n_labels
        key += self._label_of[parts.link]
        order = sort_order(key)
        key = key[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        vals = np.empty((5, len(first)), np.int64)
        vals[0] = np.diff(np.r_[first, len(key)])
        vals[1] = np.minimum.reduceat(parts.depth[order], first)
        for row, p in enumerate(PARTS, start=2):
            vals[row] = np.add.reduceat(parts.part(p)[order], first)
        key = key[first]
        # into the keys so far: added where present, inserted (in order) where not
        at = np.searchsorted(self._keys, key)
        known = at < len(self._keys)
        known[known] = self._keys[at[known]] == key[known]
        k = at[known]
        least = np.minimum(self._vals[1, k], vals[1, known])
        self._vals[:, k] += vals[:, known]
        self._vals[1, k] = least
        if not known.all():
            self._keys = np.insert(self._keys, at[~known], key[~known])
            self._vals = np.insert(self._vals, at[~known], vals[:, ~known], axis=1)

    def table(self) -> pd.DataFrame:
        """The ``latency_parts`` table (see the module documentation)."""
        plan = self._plan
        n_labels = len(self.label_names)
        group = self._keys // (N_BUCKETS * n_labels)
        bucket = self._keys // n_labels % N_BUCKETS
        label = self._keys % n_labels
        group_class = np.asarray(plan.group_class, np.int64)
        class_hist = np.zeros((len(plan.class_names), N_BUCKETS), np.int64)
        np.add.at(class_hist, group_class, self.pair_hist)
        rows: list[pd.DataFrame] = []
        for level, who, hist, names_of, class_of in (
            ("group", group, self.pair_hist, list(plan.group_names), list(plan.group_classes)),
            ("class", group_class[group], class_hist, list(plan.class_names), plan.class_names),
        ):
            rows += [
                self._rows(who == k, bucket, label, hist[k]).assign(
                    level=level, name=names_of[k], **{"class": class_of[k]}
                )
                for k in np.flatnonzero(hist.sum(axis=1) > 0)
            ]
        if not rows:
            return empty_table(LATENCY_PARTS_SCHEMA)
        df = pd.concat(rows, ignore_index=True)
        df["access"] = df["link"] == ACCESS_LINK
        return conform(df, LATENCY_PARTS_SCHEMA)

    def _rows(self, sel: npt.NDArray[np.bool_], bucket: I64, label: I64, hist: I64) -> pd.DataFrame:
        """One row per link label of the keys ``sel`` (of one group or class, whose pairs'
        latency histogram is ``hist``), in path order."""
        n = int(hist.sum())
        b_q = int(np.searchsorted(np.cumsum(hist), max(1, math.ceil(TAIL_Q * n))))
        n_tail = int(hist[b_q])
        vals = np.compress(sel, self._vals, axis=1)
        tail = bucket[sel] == b_q
        used, idx = np.unique(label[sel], return_inverse=True)
        m = len(used)
        out: dict[str, object] = {"link": [self.label_names[i] for i in used]}
        out["packets"] = _sums(idx, vals[0], m)
        depth = np.full(m, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(depth, idx, vals[1])
        out["hop"] = depth
        out["p99_packets"] = _sums(idx[tail], vals[0, tail], m)
        for k, p in enumerate(PARTS, start=2):
            total = _sums(idx, vals[k], m)
            tail_total = _sums(idx[tail], vals[k, tail], m)
            out[f"{p}_ps"] = [int(t) / n for t in total]
            out[f"{p}_p99_ps"] = [int(t) / n_tail if n_tail else math.nan for t in tail_total]
        return pd.DataFrame(out).sort_values(["hop", "link"], kind="stable")


def _sums(idx: I64, v: I64, m: int) -> I64:
    """Exact sums of ``v`` per ``idx`` in ``0 .. m-1`` (int64: exact below 2**63 ps, about
    106 days of summed time)."""
    out = np.zeros(m, np.int64)
    np.add.at(out, idx, v)
    return out


def latency_parts_table(
    parts: LatencyParts,
    plan: NetworkPlan,
    *,
    access_links: frozenset[str] | set[str] = frozenset(),
) -> pd.DataFrame:
    """The ``latency_parts`` table (see the module documentation) of ``parts``."""
    sums = LatencyPartsSums(plan, access_links=access_links)
    sums.add(parts)
    return sums.table()


def latency_parts(
    plan: NetworkPlan,
    log: I64,
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    access_links: frozenset[str] | set[str] = frozenset(),
) -> pd.DataFrame:
    """The ``latency_parts`` table of a run's packet log (see the module documentation)."""
    parts = LatencyParts(plan, log, warmup_ps=warmup_ps, end_ps=end_ps, drain=drain)
    return latency_parts_table(parts, plan, access_links=access_links)


def _where(link: str, links: pd.DataFrame | None) -> str:
    """``link`` (a row label of the table) named for a reader, with its rate when known."""
    if links is None or links.empty:
        return link
    rows = links[links["access"]] if link == ACCESS_LINK else links[links["link"] == link]
    rates = sorted({int(r) for r in rows["rate_bps"]})
    if not rates:
        return link
    shown = "/".join(rate_words(r, 6) for r in rates[:2]) + ("/…" if len(rates) > 2 else "")
    return f"{link} ({shown})"


#: What queueing at a camera's own access link is: its frames' packets leave in a burst.
_OWN = " behind the camera's own packets"


def _split(rows: pd.DataFrame, suffix: str) -> list[tuple[float, str, str]]:
    """The (time, part, link) of each part of ``rows``, largest first."""
    out = [
        (float(r[f"{p}{suffix}"]), p, str(r["link"]))
        for r in rows.to_dict("records")
        for p in PARTS
    ]
    return sorted((x for x in out if x[0] > 0), key=lambda x: -x[0])


def _phrase(label: str, rows: pd.DataFrame, suffix: str, links: pd.DataFrame | None) -> str:
    """``'p99 12.0 ms: 98 % queueing at camera access (100 Mbit/s), 1 % ...'``."""
    parts = _split(rows, suffix)
    total = sum(x[0] for x in parts)
    if total <= 0:
        return f"{label} 0 ms"
    shown = [parts[0], *[x for x in parts[1:2] if x[0] >= 0.05 * total]]
    said = ", ".join(
        f"{100 * v / total:.0f} % {part} {'at' if part == 'queueing' else 'on'} "
        f"{_where(link, links)}{_OWN if part == 'queueing' and link == ACCESS_LINK else ''}"
        for v, part, link in shown
    )
    return f"{label} {format_significant(total / 1e9)} ms: {said}"


def explain_lines(
    parts: pd.DataFrame,
    links: pd.DataFrame | None = None,
    *,
    level: str = "class",
    summary: pd.DataFrame | None = None,
) -> list[str]:
    """One line per class (or group, with ``level``) of a ``latency_parts`` table naming
    where its p99 and its mean latency come from: the largest part and link (camera access
    links together), and the next when it is at least 5 %, e.g. ``video p99 12.0 ms: 99 %
    queueing at camera access (100 Mbit/s) behind the camera's own packets; mean 2.2 ms: ...``
    (a camera's access link carries its packets alone: queueing there is its frames' own
    packets waiting for each other). ``links`` (the ``links`` table) adds the rates.
    ``summary`` (the run's summary table) adds, in its order, a line for each class it has
    that delivered no packet in the measured time, saying so: ``bulk: no packet sent in the
    measured time (after the warm-up): nothing to explain``."""
    out: dict[str, str] = {}
    rows = parts[parts["level"] == level]
    for name, g in rows.groupby("name", sort=False):
        tail = _phrase("p99", g, "_p99_ps", links) if g["p99_packets"].sum() > 0 else ""
        mean = _phrase("mean", g, "_ps", links)
        out[str(name)] = f"{name} {tail}; {mean}" if tail else f"{name} {mean}"
    if summary is None:
        return list(out.values())
    lines = []
    for r in summary[summary["level"] == level].to_dict("records"):
        name = str(r["name"])
        if name in out:
            lines.append(out.pop(name))
        elif int(r["packets_delivered"]) == 0:
            lines.append(
                f"{name}: {_nothing_delivered(int(r['packets_sent']))}: nothing to explain"
            )
    return lines + list(out.values())


def _nothing_delivered(sent: int) -> str:
    """Why a class has no latency to explain: it sent nothing, or lost all it sent."""
    if sent == 0:
        return "no packet sent in the measured time (after the warm-up)"
    return f"every one of its {sent:,} packets lost"
