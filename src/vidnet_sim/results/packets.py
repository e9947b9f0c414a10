"""The ``packets`` table: one row per packet and delivery flow, from an engine's packet log.

An engine run with ``log=True`` records every arrival of a packet copy at a link as
``(tree, seq, link, t_arrival, t_departure, t_start)`` (``t_departure = -1``: lost there).
Along each packet's tree layout (``docs/model.md`` rule 12,
:mod:`~vidnet_sim.results.packet_log`):

- a copy leaving position ``p``'s link at ``d`` reaches the far end at ``d + propagation``,
  where the position's delivery flow (if any) gets the packet;
- a copy lost at a link is lost for every delivery flow below that position.

Columns: ``tree``, ``seq`` (the packet), ``flow`` (delivery flow index), ``group`` (its
statistics group), ``emission_ps``, ``outcome`` (``delivered``, ``lost`` or ``in_flight``:
not settled by the end of a run without drain), ``end_ps`` (delivery time; for a lost
packet the time it reached the link that lost it; -1 in flight), ``lost_at`` (that link's
name, ``""`` otherwise) and ``latency_ps`` (``end_ps - emission_ps`` when delivered, else
NaN). Only packets emitted at or after the warm-up are listed, like the statistics count
them; with ``groups`` only the packets of those statistics groups (:func:`group_trees`: a
packet's tree belongs to one source, so to one group); with ``sample`` a fixed share of the
packets (all its flows' rows), chosen by a hash of ``(tree, seq)``, so the same packets
whatever the window size.

A run writes the table as its packets settle (:mod:`~vidnet_sim.results.packet_stream`), in
chunks: :class:`PacketsWriter` takes each chunk's rows (:func:`packets_chunk`, or those of
the ``packet_hops`` table: :mod:`~vidnet_sim.results.packet_hops`) and writes them to a
Parquet file in row groups of :data:`PACKETS_ROW_GROUP` rows, or keeps them in memory.
:func:`packets_frame` puts a table read back in the order of the packets (by
``(tree, seq)``, each packet's rows in the order they were written).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vidnet_sim.errors import VidnetError
from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.results.packet_log import LogPackets, TreeIndex, log_packets
from vidnet_sim.results.schema import conform
from vidnet_sim.scenario.raw import did_you_mean

__all__ = [
    "OUTCOMES",
    "PACKETS_ROW_GROUP",
    "PACKETS_SCHEMA",
    "PacketsWriter",
    "UnknownGroupError",
    "chosen",
    "group_trees",
    "packets_chunk",
    "packets_frame",
    "packets_table",
    "sampled",
]

I64 = npt.NDArray[np.int64]

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
#: The ``outcome`` values, by their code.
OUTCOMES: tuple[str, ...] = ("delivered", "lost", "in_flight")
_DELIVERED, _LOST, _IN_FLIGHT = range(3)
#: Rows per row group of the per-packet table's Parquet file (its chunks).
PACKETS_ROW_GROUP = 1 << 16

_U64 = np.uint64

Mask = npt.NDArray[np.bool_]


class UnknownGroupError(VidnetError, ValueError):
    """A per-packet table asked for a group the scenario does not have."""


def group_trees(plan: NetworkPlan, groups: Sequence[str] | None) -> Mask | None:
    """Which trees carry the packets of the statistics groups ``groups`` (by name; ``None``:
    every group, no mask). A tree belongs to one source, so to that source's group.

    Raises :class:`UnknownGroupError` naming each unknown name, a close known one and the
    known groups.
    """
    if groups is None:
        return None
    if isinstance(groups, str):  # one name, not its letters
        groups = [groups]
    names = list(plan.group_names)
    unknown = [g for g in dict.fromkeys(groups) if g not in names]
    if unknown:
        said = "; ".join(f"{g!r}{did_you_mean(g, names, False)}" for g in unknown)
        raise UnknownGroupError(f"unknown group {said} (the scenario's groups: {', '.join(names)})")
    wanted = np.isin(np.arange(len(names)), [names.index(g) for g in groups])
    source_group = np.asarray(plan.sources.group, np.int64)
    return np.asarray(wanted[source_group[np.asarray(plan.tree_source, np.int64)]])


def chosen(tree: I64, seq: I64, *, trees: Mask | None = None, sample: float | None = None) -> Mask:
    """Whether each packet ``(tree, seq)`` is listed: its tree in ``trees`` (a mask over the
    trees, :func:`group_trees`; ``None``: every tree) and, with ``sample``, the packet in the
    sample (:func:`sampled`)."""
    keep = np.ones(len(tree), bool) if trees is None else trees[np.asarray(tree, np.int64)]
    if sample is not None:
        keep &= sampled(tree, seq, sample)
    return np.asarray(keep)


def sampled(tree: I64, seq: I64, sample: float) -> npt.NDArray[np.bool_]:
    """Whether each packet ``(tree, seq)`` is in a ``sample`` share of the packets (a fixed
    64-bit hash of the pair, below ``sample * 2**64``)."""
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64
        h = np.asarray(tree, np.int64).astype(_U64) * _U64(0x9E3779B97F4A7C15)
        h += np.asarray(seq, np.int64).astype(_U64) * _U64(0xC2B2AE3D27D4EB4F)
        h += _U64(0x165667B19E3779F9)
        h ^= h >> _U64(31)
        h *= _U64(0xBF58476D1CE4E5B9)
        h ^= h >> _U64(29)
    return np.asarray(h.astype(np.float64) / 2.0**64 < sample)


def _outcomes(
    index: TreeIndex,
    lp: LogPackets,
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    sample: float | None,
    trees: Mask | None,
) -> tuple[I64, I64, I64, I64, I64]:
    """Per (packet, delivering position) of the listed packets, in the order of the
    packets, then of the positions: ``(packet, position, outcome code, end, lost link or
    -1)``."""
    keep = (lp.emit >= warmup_ps) & chosen(lp.tree, lp.seq, trees=trees, sample=sample)
    kept = np.flatnonzero(keep)
    i, q = index.below(lp.root[kept])
    packet = kept[i]
    # where each kept packet's pairs start: a pair's place is that plus its rank
    reach = index.n_deliver[lp.root[kept]]
    first = np.zeros(len(lp.emit), np.int64)
    first[kept] = np.cumsum(reach) - reach
    how = np.full(len(q), _IN_FLIGHT, np.int64)
    t_end = np.full(len(q), -1, np.int64)
    lost_at = np.full(len(q), -1, np.int64)
    at_root = q == lp.root[packet]  # a source delivering at its own node
    how[at_root] = _DELIVERED
    t_end[at_root] = lp.emit[packet[at_root]]
    rows = np.flatnonzero(keep[lp.packet])
    dep = lp.log[rows, 4]
    arrived = rows[(dep >= 0) & (index.deliver[lp.pos[rows]] >= 0)]  # delivered there
    at = lp.packet[arrived]
    k = first[at] + index.rank(lp.root[at], lp.pos[arrived])
    link = lp.log[arrived, 2]
    how[k] = _DELIVERED
    t_end[k] = lp.log[arrived, 4] + index.prop[link]
    lost = rows[dep < 0]  # lost for every delivery below
    j, below = index.below(lp.pos[lost])
    at = lp.packet[lost[j]]
    k = first[at] + index.rank(lp.root[at], below)
    how[k] = _LOST
    t_end[k] = lp.log[lost[j], 3]
    lost_at[k] = lp.log[lost[j], 2]
    if not drain:  # settled after the end: still in flight at the end
        late = (how != _IN_FLIGHT) & (t_end > end_ps)
        how[late], t_end[late], lost_at[late] = _IN_FLIGHT, -1, -1
    return packet, q, how, t_end, lost_at


def packets_chunk(
    index: TreeIndex,
    lp: LogPackets,
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    sample: float | None = None,
    trees: Mask | None = None,
) -> pa.Table:
    """The ``packets`` rows (an Arrow table of :data:`PACKETS_SCHEMA`) of the packets of
    ``lp`` (those of ``trees`` and ``sample``: :func:`chosen`), whose rows must be all their
    log rows (each packet settled, or the run over)."""
    packet, q, how, t_end, lost_at = _outcomes(
        index, lp, warmup_ps=warmup_ps, end_ps=end_ps, drain=drain, sample=sample, trees=trees
    )
    flow = index.deliver[q]
    emit = lp.emit[packet]
    lost_at[lost_at < 0] = index.n_links  # index.link_names's trailing ""
    latency = np.where(how == _DELIVERED, (t_end - emit).astype(np.float64), np.nan)
    columns = [
        pa.array(lp.tree[packet], pa.int64()),
        pa.array(lp.seq[packet], pa.int64()),
        pa.array(flow, pa.int64()),
        pc.take(index.group_names, index.group_of_flow[flow]),
        pa.array(emit, pa.int64()),
        pc.take(pa.array(OUTCOMES, pa.string()), how),
        pa.array(t_end, pa.int64()),
        pc.take(index.link_names, lost_at),
        pa.array(latency, pa.float64()),
    ]
    return pa.Table.from_arrays(columns, schema=PACKETS_SCHEMA)


def packets_frame(
    table: pa.Table | pd.DataFrame, schema: pa.Schema = PACKETS_SCHEMA
) -> pd.DataFrame:
    """A ``packets`` table (or another per-packet table of ``schema``: ``packet_hops``),
    Arrow or as read, as a DataFrame in the order of the packets: by ``(tree, seq)``, a
    packet's rows (written together) in the order they came."""
    df = table.to_pandas() if isinstance(table, pa.Table) else table
    df = conform(df, schema)
    if len(df) > 1:
        key = df["tree"].to_numpy() << 40 | df["seq"].to_numpy()
        if np.any(np.diff(key) < 0):
            df = df.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    return df


class PacketsWriter:
    """Writes ``packets`` chunks (or those of another per-packet table of ``schema``) as
    they come: to the Parquet file ``path`` (row groups of :data:`PACKETS_ROW_GROUP` rows,
    holding at most one row group's rows in memory), or, without a path, kept in memory
    (:meth:`frame`)."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, schema: pa.Schema = PACKETS_SCHEMA
    ) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._held: list[pa.Table] = []
        self._held_rows = 0
        self._writer: pq.ParquetWriter | None = None
        if path is not None:
            # dictionary pages for the text columns only (their values repeat), not for
            # the times: half the writer's time, and a smaller file
            text = [f.name for f in schema if pa.types.is_string(f.type)]
            self._writer = pq.ParquetWriter(path, schema, use_dictionary=text)

    def write(self, chunk: pa.Table) -> None:
        """Add ``chunk`` (rows of its schema) after the rows written so far."""
        if chunk.num_rows == 0:
            return
        self.rows += chunk.num_rows
        self._held.append(chunk)
        self._held_rows += chunk.num_rows
        if self._writer is not None and self._held_rows >= PACKETS_ROW_GROUP:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        assert self._writer is not None
        table = pa.concat_tables(self._held) if self._held else self.schema.empty_table()
        whole = table.num_rows - table.num_rows % PACKETS_ROW_GROUP
        cut = table.num_rows if final else whole
        if cut:
            self._writer.write_table(table.slice(0, cut), row_group_size=PACKETS_ROW_GROUP)
        rest = table.slice(cut)
        self._held = [rest] if rest.num_rows else []
        self._held_rows = rest.num_rows

    def close(self) -> None:
        """Write what is held and close the file (nothing to do in memory)."""
        if self._writer is not None:
            self._flush(final=True)
            self._writer.close()
            self._writer = None

    def frame(self) -> pd.DataFrame:
        """The rows kept in memory, in the order of the packets (:func:`packets_frame`)."""
        if self.path is not None:
            raise ValueError("the packets went to a file: read it back")
        held = pa.concat_tables(self._held) if self._held else self.schema.empty_table()
        return packets_frame(held, self.schema)


def packets_table(
    plan: NetworkPlan,
    log: npt.NDArray[np.int64],
    *,
    warmup_ps: int,
    end_ps: int,
    drain: bool,
    sample: float | None = None,
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``packets`` table of a run's whole packet log (see the module documentation)."""
    index = TreeIndex(plan)
    lp = log_packets(index, log)
    trees = group_trees(plan, groups)
    chunk = packets_chunk(
        index, lp, warmup_ps=warmup_ps, end_ps=end_ps, drain=drain, sample=sample, trees=trees
    )
    return packets_frame(chunk)
