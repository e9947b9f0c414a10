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

from vidnet_sim.core.histogram import bucket_edges
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.results.schema import conform, empty_table
from vidnet_sim.scenario.units import format_rate

__all__ = [
    "ACCESS_LINK",
    "LATENCY_PARTS_SCHEMA",
    "PARTS",
    "LatencyParts",
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
    of its crossings add up to its latency exactly.
    """

    def __init__(
        self,
        plan: NetworkPlan,
        log: I64,
        *,
        warmup_ps: int,
        end_ps: int,
        drain: bool,
    ) -> None:
        log = np.asarray(log, np.int64)
        if log.ndim != 2 or log.shape[1] < 6:
            raise ValueError("expected a packet log with 6 columns (the transmission start)")
        pos_link = np.asarray(plan.pos_link, np.int64)
        depth, root_of = _depths(plan)
        n_links = plan.n_links
        # (layout root, link) -> position, for every non-root position
        nonroot = np.flatnonzero(pos_link >= 0)
        pos_keys = root_of[nonroot] * n_links + pos_link[nonroot]
        order = np.argsort(pos_keys, kind="stable")
        pos_keys, pos_sorted = pos_keys[order], nonroot[order]
        # packets: runs of rows with the same (tree, seq)
        key = (log[:, 0] << 40) | log[:, 1]
        if len(key) > 1 and np.any(np.diff(key) < 0):
            order = np.lexsort((log[:, 3], log[:, 1], log[:, 0]))
            log, key = log[order], key[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key
        packet = np.cumsum(np.r_[False, key[1:] != key[:-1]]) if len(key) else key
        emit = np.minimum.reduceat(log[:, 3], first) if len(key) else key
        tree = log[first, 0]
        # each packet's layout: the one in force at its emission
        starts, roots = _layouts(plan)
        k = np.searchsorted(starts, emit, side="right") - 1
        root = roots[k, tree]
        link = log[:, 2]
        rkey = root[packet] * n_links + link
        i = np.minimum(np.searchsorted(pos_keys, rkey), max(len(pos_keys) - 1, 0))
        if len(rkey) and not np.array_equal(pos_keys[i], rkey):
            raise ValueError("a packet log row names a link its tree's layout does not use")
        pos = pos_sorted[i]
        # each row serves the delivery positions of its subtree
        dq_start, dq = _deliveries(plan)
        counts = dq_start[pos + 1] - dq_start[pos]
        row = np.repeat(np.arange(len(log)), counts)
        offs = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
        q = dq[dq_start[pos][row] + offs]
        pair_key = packet[row] * len(pos_link) + q
        pairs, pair = np.unique(pair_key, return_inverse=True)
        pair_q = pairs % len(pos_link)
        pair_packet = pairs // len(pos_link)
        dep = log[row, 4]
        ok = np.bincount(pair, weights=dep >= 0, minlength=len(pairs)).astype(np.int64)
        prop = np.asarray(plan.link_prop_ps, np.int64)
        last = pos[row] == q  # the crossing into the delivery position
        t_end = np.full(len(pairs), -1, np.int64)
        t_end[pair[last]] = np.where(dep[last] >= 0, dep[last] + prop[link[row[last]]], -1)
        delivered = (ok == depth[pair_q]) & (t_end >= 0) & (emit[pair_packet] >= warmup_ps)
        if not drain:
            delivered &= t_end <= end_ps
        keep_pair = np.flatnonzero(delivered)
        new_index = np.full(len(pairs), -1, np.int64)
        new_index[keep_pair] = np.arange(len(keep_pair))
        flow_group = np.asarray(plan.sources.group, np.int64)[np.asarray(plan.flow_source)]
        self.group: I64 = flow_group[np.asarray(plan.pos_deliver, np.int64)[pair_q[keep_pair]]]
        self.latency_ps: I64 = t_end[keep_pair] - emit[pair_packet[keep_pair]]
        keep = delivered[pair]
        r = row[keep]
        self.pair: I64 = new_index[pair[keep]]
        self.link: I64 = link[r]
        self.depth: I64 = depth[pos[r]]
        start = log[r, 5]
        self.queueing_ps: I64 = start - log[r, 3]
        self.transmission_ps: I64 = log[r, 4] - start
        self.propagation_ps: I64 = prop[self.link]

    def part(self, name: str) -> I64:
        """The ``name`` part (one of :data:`PARTS`) of every crossing."""
        return np.asarray(getattr(self, f"{name}_ps"), np.int64)


def _depths(plan: NetworkPlan) -> tuple[I64, I64]:
    """Per position: its depth (roots 0) and its layout's root position."""
    n = len(plan.pos_link)
    depth = np.zeros(n, np.int64)
    root_of = np.zeros(n, np.int64)
    first = np.asarray(plan.pos_first_child, np.int64)
    sib = np.asarray(plan.pos_sibling, np.int64)
    link = np.asarray(plan.pos_link, np.int64)
    for p in range(n):  # depth first: a parent comes before its children
        if link[p] < 0:
            root_of[p] = p
        c = int(first[p])
        while c >= 0:
            depth[c] = depth[p] + 1
            root_of[c] = root_of[p]
            c = int(sib[c])
    return depth, root_of


def _deliveries(plan: NetworkPlan) -> tuple[I64, I64]:
    """CSR lists, per position, of the delivering positions of its subtree."""
    deliver = np.asarray(plan.pos_deliver, np.int64)
    end = np.asarray(plan.pos_end, np.int64)
    lists = [np.flatnonzero(deliver[p : end[p]] >= 0) + p for p in range(len(deliver))]
    start = np.zeros(len(lists) + 1, np.int64)
    start[1:] = np.cumsum([len(x) for x in lists])
    flat = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, np.int64)
    return start, flat


def _layouts(plan: NetworkPlan) -> tuple[I64, I64]:
    """The start times of the layouts in force and, per layout, every tree's root."""
    roots = np.asarray(plan.tree_pos0, np.int64).copy()
    starts, table = [0], [roots.copy()]
    for sw in sorted(plan.route_switches, key=lambda s: s.t_ps):
        roots[np.asarray(sw.trees, np.int64)] = np.asarray(sw.pos0, np.int64)
        starts.append(int(sw.t_ps))
        table.append(roots.copy())
    return np.asarray(starts, np.int64), np.asarray(table, np.int64).reshape(len(starts), -1)


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


def latency_parts_table(
    parts: LatencyParts,
    plan: NetworkPlan,
    *,
    access_links: frozenset[str] | set[str] = frozenset(),
) -> pd.DataFrame:
    """The ``latency_parts`` table (see the module documentation) of ``parts``."""
    names = list(plan.link_names)
    is_access = np.array([n in access_links for n in names], bool)
    # the row label of every link: its name, or ACCESS_LINK for every camera access link
    label_names = sorted({ACCESS_LINK if a else n for n, a in zip(names, is_access, strict=True)})
    label_of = np.array(
        [label_names.index(ACCESS_LINK if a else n) for n, a in zip(names, is_access, strict=True)],
        np.int64,
    )
    label = label_of[parts.link] if len(parts.link) else parts.link
    group_class = np.asarray(plan.group_class, np.int64)
    rows: list[pd.DataFrame] = []
    for level, who, names_of, class_of in (
        ("group", parts.group, list(plan.group_names), list(plan.group_classes)),
        (
            "class",
            group_class[parts.group] if len(parts.group) else parts.group,
            list(plan.class_names),
            list(plan.class_names),
        ),
    ):
        rows += [
            _rows(parts, who == k, label[who[parts.pair] == k], label_names).assign(
                level=level, name=names_of[k], **{"class": class_of[k]}
            )
            for k in sorted(set(who.tolist()))
        ]
    if not rows:
        return empty_table(LATENCY_PARTS_SCHEMA)
    df = pd.concat(rows, ignore_index=True)
    df["access"] = df["link"] == ACCESS_LINK
    return conform(df, LATENCY_PARTS_SCHEMA)


def _rows(
    parts: LatencyParts, in_set: npt.NDArray[np.bool_], label: I64, label_names: list[str]
) -> pd.DataFrame:
    """One row per link label of the pairs ``in_set`` (their crossings labelled ``label``)."""
    n = int(in_set.sum())
    sel = in_set[parts.pair]
    tail = np.zeros(len(in_set), bool)
    tail[np.flatnonzero(in_set)] = tail_bucket_mask(parts.latency_ps[in_set])
    n_tail = int(tail.sum())
    crossing_tail = tail[parts.pair[sel]]
    used = np.unique(label)
    out: dict[str, object] = {"link": [label_names[i] for i in used]}
    idx = np.searchsorted(used, label)
    m = len(used)
    out["packets"] = np.bincount(idx, minlength=m)
    depth = np.full(m, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(depth, idx, parts.depth[sel])
    out["hop"] = depth
    out["p99_packets"] = np.bincount(idx[crossing_tail], minlength=m)
    for p in PARTS:
        v = parts.part(p)[sel]
        total = _int_sums(idx, v, m)
        tail_total = _int_sums(idx[crossing_tail], v[crossing_tail], m)
        out[f"{p}_ps"] = [t / n for t in total]
        out[f"{p}_p99_ps"] = [t / n_tail if n_tail else math.nan for t in tail_total]
    return pd.DataFrame(out).sort_values(["hop", "link"], kind="stable")


def _int_sums(idx: I64, v: I64, m: int) -> list[int]:
    """Exact sums of ``v`` per ``idx`` in ``0 .. m-1`` (int64: exact below 2**63 ps, about
    106 days of summed time)."""
    order = np.argsort(idx, kind="stable")
    cuts = np.searchsorted(idx[order], np.arange(m + 1))
    csum = np.r_[0, np.cumsum(v[order], dtype=np.int64)]
    return [int(csum[cuts[k + 1]] - csum[cuts[k]]) for k in range(m)]


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
    shown = "/".join(format_rate(r) for r in rates[:2]) + ("/…" if len(rates) > 2 else "")
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
    """``'p99 12.0 ms: 98 % queueing at camera access (100Mbps), 1 % ...'``."""
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
    return f"{label} {total / 1e9:.1f} ms: {said}"


def explain_lines(
    parts: pd.DataFrame, links: pd.DataFrame | None = None, *, level: str = "class"
) -> list[str]:
    """One line per class (or group, with ``level``) of a ``latency_parts`` table naming
    where its p99 and its mean latency come from: the largest part and link (camera access
    links together), and the next when it is at least 5 %, e.g. ``video p99 12.0 ms: 99 %
    queueing at camera access (100Mbps) behind the camera's own packets; mean 2.2 ms: ...``
    (a camera's access link carries its packets alone: queueing there is its frames' own
    packets waiting for each other). ``links`` (the ``links`` table) adds the rates."""
    out = []
    rows = parts[parts["level"] == level]
    for name, g in rows.groupby("name", sort=False):
        tail = _phrase("p99", g, "_p99_ps", links) if g["p99_packets"].sum() > 0 else ""
        mean = _phrase("mean", g, "_ps", links)
        out.append(f"{name} {tail}; {mean}" if tail else f"{name} {mean}")
    return out
