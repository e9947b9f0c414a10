"""The ``packets`` table: one row per packet and delivery flow, from an engine's packet log.

An engine run with ``log=True`` records every arrival of a packet copy at a link as
``(tree, seq, link, t_arrival, t_departure)`` (``t_departure = -1``: lost there). This module
walks each packet's tree layout (``docs/model.md`` rule 12) along those rows:

- a copy leaving position ``p``'s link at ``d`` reaches the far end at ``d + propagation``,
  where the position's delivery flow (if any) gets the packet, and its child positions'
  links get it at that time;
- a copy lost at a link is lost for every delivery flow below that position.

Columns: ``tree``, ``seq`` (the packet), ``flow`` (delivery flow index), ``group`` (its
statistics group), ``emission_ps``, ``outcome`` (``delivered``, ``lost`` or ``in_flight``:
not settled by the end of a run without drain), ``end_ps`` (delivery time; for a lost
packet the time it reached the link that lost it; -1 in flight), ``lost_at`` (that link's
name, ``""`` otherwise) and ``latency_ps`` (``end_ps - emission_ps`` when delivered, else
NaN). Only packets emitted at or after the warm-up are listed, like the statistics count
them; with ``sample`` a fixed share of the packets (all its flows' rows), chosen by a hash
of ``(tree, seq)``, so the same packets whatever the window size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.results.schema import conform, empty_table

__all__ = ["PACKETS_SCHEMA", "packet_rows", "packets_table"]

#: Schema of the ``packets`` table.
PACKETS_SCHEMA: pa.Schema = pa.schema(
    [
        ("tree", pa.int64()),
        ("seq", pa.int64()),
        ("flow", pa.int64()),
        ("group", pa.string()),
        ("emission_ps", pa.int64()),
        ("outcome", pa.string()),
        ("end_ps", pa.int64()),
        ("lost_at", pa.string()),
        ("latency_ps", pa.float64()),
    ]
)


def _sampled(tree: int, seq: int, sample: float) -> bool:
    """Whether packet ``(tree, seq)`` is in a ``sample`` share of the packets."""
    h = (tree * 0x9E3779B97F4A7C15 + seq * 0xC2B2AE3D27D4EB4F + 0x165667B19E3779F9) % 2**64
    h ^= h >> 31
    h = (h * 0xBF58476D1CE4E5B9) % 2**64
    h ^= h >> 29
    return h / 2**64 < sample


def _layouts(plan: NetworkPlan) -> list[tuple[int, npt.NDArray[np.int64]]]:
    """``(from time, root position of every tree)``, in time order: the initial layouts
    and each route switch (a packet emitted at the switch time takes the new layout)."""
    roots = np.asarray(plan.tree_pos0, np.int64).copy()
    out = [(0, roots.copy())]
    for sw in sorted(plan.route_switches, key=lambda s: s.t_ps):
        roots[np.asarray(sw.trees, np.int64)] = np.asarray(sw.pos0, np.int64)
        out.append((int(sw.t_ps), roots.copy()))
    return out


def packet_rows(
    plan: NetworkPlan,
    log: npt.NDArray[np.int64],
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    sample: float | None = None,
) -> Iterator[tuple[int, int, int, int, str, int, int]]:
    """``(tree, seq, flow, emission, outcome, end, lost link or -1)`` of every packet of
    ``log`` (sorted by tree and seq, as the engines give it) and each of its flows."""
    prop = [int(x) for x in plan.link_prop_ps]
    pos_link = [int(x) for x in plan.pos_link]
    deliver = [int(x) for x in plan.pos_deliver]
    pos_end = [int(x) for x in plan.pos_end]
    layouts = _layouts(plan)
    starts = [t for t, _ in layouts]
    children = [plan.children(p) for p in range(len(pos_link))]
    keys = log[:, 0] * (1 << 40) + log[:, 1]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    for rows in np.split(log, cuts) if len(log) else ():
        tree, seq = int(rows[0, 0]), int(rows[0, 1])
        emit = int(rows[:, 3].min())
        if emit < warmup_ps or (sample is not None and not _sampled(tree, seq, sample)):
            continue
        k = int(np.searchsorted(starts, emit, side="right")) - 1
        root = int(layouts[k][1][tree])
        at = {int(r[2]): (int(r[3]), int(r[4])) for r in rows}
        flows = [f for f in deliver[root : pos_end[root]] if f >= 0]
        ended: dict[int, tuple[str, int, int]] = {}
        if deliver[root] >= 0:  # a source delivering at its own node
            ended[deliver[root]] = ("delivered", emit, -1)
        stack = list(children[root])
        while stack:
            p = stack.pop()
            link = pos_link[p]
            if link not in at:
                continue  # never reached it: in flight
            t_arr, t_dep = at[link]
            if t_dep < 0:
                for f in deliver[p : pos_end[p]]:
                    if f >= 0:
                        ended[f] = ("lost", t_arr, link)
                continue
            t = t_dep + prop[link]
            if deliver[p] >= 0:
                ended[deliver[p]] = ("delivered", t, -1)
            stack.extend(children[p])
        for f in flows:
            how, t, link = ended.get(f, ("in_flight", -1, -1))
            if how != "in_flight" and not drain and t > end_ps:
                how, t, link = "in_flight", -1, -1
            yield tree, seq, f, emit, how, t, link


def packets_table(
    plan: NetworkPlan,
    log: npt.NDArray[np.int64],
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    sample: float | None = None,
) -> pd.DataFrame:
    """The ``packets`` table of a run (see the module documentation)."""
    rows = list(
        packet_rows(plan, log, warmup_ps=warmup_ps, end_ps=end_ps, drain=drain, sample=sample)
    )
    if not rows:
        return empty_table(PACKETS_SCHEMA)
    tree, seq, flow, emit, how, end, link = (np.array(c) for c in zip(*rows, strict=True))
    group_of_flow = np.asarray(plan.sources.group, np.int64)[np.asarray(plan.flow_source)]
    names = np.asarray(list(plan.group_names), dtype=object)
    link_names = np.asarray([*plan.link_names, ""], dtype=object)
    delivered = how == "delivered"
    df = pd.DataFrame(
        {
            "tree": tree,
            "seq": seq,
            "flow": flow,
            "group": names[group_of_flow[flow]],
            "emission_ps": emit,
            "outcome": how,
            "end_ps": end,
            "lost_at": link_names[link],  # -1 picks the trailing ""
            "latency_ps": np.where(delivered, (end - emit).astype(float), math.nan),
        }
    )
    return conform(df, PACKETS_SCHEMA)
