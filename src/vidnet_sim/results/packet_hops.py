"""The ``packet_hops`` table: one row per packet copy and link it reached, from a packet log.

An engine run with ``log=True`` records every arrival of a packet copy at a link as
``(tree, seq, link, t_arrival, t_departure, t_start)`` (``t_departure = -1``: lost there;
``t_start``: when its transmission began, -1 if never; :mod:`~vidnet_sim.results.packet_log`).
This table is that log made readable, one row per row of the listed packets:

- ``tree``, ``seq`` (the packet), ``group`` (its statistics group: a tree belongs to one
  source), ``flow`` (the delivery flow at the far end of the link, -1 if none: a multicast
  copy goes on), ``hop`` (1 = the first link after the source), ``link`` (its name);
- ``arrival_ps`` (the copy reached the link), ``start_ps`` (its transmission began, -1 if
  never), ``end_ps`` (it left the link: the end of its transmission; for a lost copy, when
  it reached the link that lost it, like the ``packets`` table's ``end_ps``; -1 in flight),
  ``outcome`` (``departed``, ``lost``, or ``in_flight``: leaving after the end of a run
  without drain);
- ``wait_ps`` (queueing: ``start_ps - arrival_ps``, NaN if it never started),
  ``transmission_ps`` (``end_ps - start_ps`` of a departed copy, else NaN) and
  ``propagation_ps`` (the link's delay).

For a copy delivered to a flow, the ``wait_ps + transmission_ps + propagation_ps`` of the
links of its path add up to its ``latency_ps`` in the ``packets`` table, exactly. The packets
listed are those of the ``packets`` table (emitted at or after the warm-up, of the groups and
sample chosen: :func:`~vidnet_sim.results.packets.chosen`); in a run without drain, a copy that
reached a link after the end is not listed there, and one leaving it after the end is
``in_flight`` (its start, too, is -1 if after the end). Rows are in the order of the packets,
each packet's rows by arrival, then link index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.results.packet_log import LogPackets, TreeIndex, log_packets
from vidnet_sim.results.packets import Mask, chosen, group_trees, packets_frame

__all__ = [
    "HOP_OUTCOMES",
    "PACKET_HOPS_SCHEMA",
    "packet_hops_chunk",
    "packet_hops_table",
]

I64 = npt.NDArray[np.int64]

#: Schema of the ``packet_hops`` table.
PACKET_HOPS_SCHEMA: pa.Schema = pa.schema(
    [
        ("tree", pa.int64()),
        ("seq", pa.int64()),
        ("group", pa.string()),
        ("flow", pa.int64()),
        ("hop", pa.int64()),
        ("link", pa.string()),
        ("arrival_ps", pa.int64()),
        ("start_ps", pa.int64()),
        ("end_ps", pa.int64()),
        ("outcome", pa.string()),
        ("wait_ps", pa.float64()),
        ("transmission_ps", pa.float64()),
        ("propagation_ps", pa.int64()),
    ]
)
#: The ``outcome`` values of a hop, by their code.
HOP_OUTCOMES: tuple[str, ...] = ("departed", "lost", "in_flight")
_DEPARTED, _LOST, _IN_FLIGHT = range(3)


def packet_hops_chunk(
    index: TreeIndex,
    lp: LogPackets,
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    sample: float | None = None,
    trees: Mask | None = None,
) -> pa.Table:
    """The ``packet_hops`` rows (an Arrow table of :data:`PACKET_HOPS_SCHEMA`) of the packets
    of ``lp`` (those of ``trees`` and ``sample``), whose rows must be all their log rows
    (each packet settled, or the run over)."""
    listed = (lp.emit >= warmup_ps) & chosen(lp.tree, lp.seq, trees=trees, sample=sample)
    rows = np.flatnonzero(listed[lp.packet])
    if not drain:  # what reached a link after the end is not seen
        rows = rows[lp.log[rows, 3] <= end_ps]
    log, pos, packet = np.take(lp.log, rows, axis=0), lp.pos[rows], lp.packet[rows]
    order = np.lexsort((log[:, 2], log[:, 3], packet))
    log, pos, packet = np.take(log, order, axis=0), pos[order], packet[order]
    link, arrival, dep, start = log[:, 2], log[:, 3], log[:, 4], log[:, 5].copy()
    how = np.where(dep >= 0, _DEPARTED, _LOST)
    t_end = np.where(dep >= 0, dep, arrival)
    if not drain:
        late = dep > end_ps
        how[late], t_end[late] = _IN_FLIGHT, -1
        start[start > end_ps] = -1
    wait = np.where(start >= 0, (start - arrival).astype(np.float64), np.nan)
    sent = how == _DEPARTED
    transmission = np.where(sent, (t_end - start).astype(np.float64), np.nan)
    tree = lp.tree[packet]
    columns = [
        pa.array(tree, pa.int64()),
        pa.array(lp.seq[packet], pa.int64()),
        pc.take(index.group_names, index.group_of_tree[tree]),
        pa.array(index.deliver[pos], pa.int64()),
        pa.array(index.depth[pos], pa.int64()),
        pc.take(index.link_names, link),
        pa.array(arrival, pa.int64()),
        pa.array(start, pa.int64()),
        pa.array(t_end, pa.int64()),
        pc.take(pa.array(HOP_OUTCOMES, pa.string()), how),
        pa.array(wait, pa.float64()),
        pa.array(transmission, pa.float64()),
        pa.array(index.prop[link], pa.int64()),
    ]
    return pa.Table.from_arrays(columns, schema=PACKET_HOPS_SCHEMA)


def packet_hops_table(
    plan: NetworkPlan,
    log: I64,
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    sample: float | None = None,
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``packet_hops`` table of a run's whole packet log (see the module
    documentation)."""
    index = TreeIndex(plan)
    chunk = packet_hops_chunk(
        index,
        log_packets(index, log),
        warmup_ps=warmup_ps,
        end_ps=end_ps,
        drain=drain,
        sample=sample,
        trees=group_trees(plan, groups),
    )
    return packets_frame(chunk, PACKET_HOPS_SCHEMA)
