"""The schemas of a run's six tables, and the container that holds them.

``summary``, ``links``, ``hist``, ``epochs``, ``epoch_links`` and ``queues`` each have an explicit
pyarrow schema, so that empty tables and all-NaN columns keep their types through Parquet;
:func:`conform` gives any table its schema's columns, order and pandas dtypes. The tables
themselves are described in :mod:`vidnet_sim.results.tables` and
:mod:`vidnet_sim.results.epochs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from vidnet_sim.errors import VidnetError

__all__ = [
    "ADDED_COLUMNS",
    "EPOCHS_SCHEMA",
    "EPOCH_LINKS_SCHEMA",
    "EPOCH_SCHEMAS",
    "HIST_SCHEMA",
    "LINKS_SCHEMA",
    "QUANTILES",
    "QUEUES_SCHEMA",
    "RUN_SCHEMAS",
    "SCHEMAS",
    "SUMMARY_SCHEMA",
    "Tables",
    "conform",
    "empty_table",
]

#: Quantiles reported in the summary: (column suffix, q).
QUANTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.5),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p999", 0.999),
)

_I = pa.int64()
_F = pa.float64()
_S = pa.string()
_B = pa.bool_()


def _latency_fields(prefix: str) -> list[tuple[str, pa.DataType]]:
    return [
        (f"{prefix}mean_ps", _F),  # exact: sum / count
        (f"{prefix}min_ps", _F),
        *[(f"{prefix}{name}_ps", _F) for name, _ in QUANTILES],
        (f"{prefix}max_ps", _F),
    ]


#: The row identity and packet counts shared by ``summary`` and ``epochs``.
_GROUP_PACKET_FIELDS: list[tuple[str, pa.DataType]] = [
    ("level", _S),
    ("name", _S),
    ("class", _S),
    ("kind", _S),
    ("packets_sent", _I),
    ("packets_delivered", _I),
    ("packets_dropped", _I),
    ("packets_in_flight", _I),
    ("packets_failed", _I),  # lost to link failures; counted in packets_dropped too
    ("loss", _F),
    ("failure_loss", _F),
]

#: Schema of the ``summary`` table.
SUMMARY_SCHEMA: pa.Schema = pa.schema(
    [
        *_GROUP_PACKET_FIELDS,
        *_latency_fields("latency_"),
        ("frames_sent", _I),
        ("frames_delivered", _I),
        ("frames_lost", _I),
        ("frames_in_flight", _I),
        ("frame_loss", _F),
        *_latency_fields("frame_latency_"),
        ("jitter_ps", _F),
        ("throughput_bps", _F),
        ("goodput_bps", _F),
        ("bytes_delivered", _I),
        ("payload_bytes_delivered", _I),
        ("jitter_sum_ps", _I),
        ("jitter_count", _I),
        ("latency_sum_ps", _F),  # float64 of the exact integer sum (exact below 2**53 ps)
        ("frame_latency_sum_ps", _F),
        ("measured_ps", _I),
        ("sla_ok", _B),  # null when the class has no SLA
        ("sla_violations", _S),  # "; "-joined, "" when met or no SLA
        ("storage_tb_per_day", _F),  # recorded at recorders (vidnet_sim.results.storage)
        ("storage_tb_retention", _F),
    ]
)

#: Columns added to a schema after run folders were first written: a table read without
#: them gets them filled with nulls (NaN) instead of being refused.
ADDED_COLUMNS = frozenset({"storage_tb_per_day", "storage_tb_retention"})

#: Schema of the ``links`` table.
LINKS_SCHEMA: pa.Schema = pa.schema(
    [
        ("link", _S),
        ("src", _S),
        ("dst", _S),
        ("access", _B),  # a camera's access link
        ("rate_bps", _I),
        ("utilisation", _F),
        ("packets", _I),
        ("bytes", _I),
        ("drops", _I),
        ("drop_bytes", _I),
        ("fail_drops", _I),  # lost to a failure of the link (not in drops)
        ("loss", _F),
        ("peak_queue_bytes", _I),
        ("peak_queue_packets", _I),
        ("peak_wait_ps", _I),
        ("mean_wait_ps", _F),  # exact: sum / count over the packets whose transmission began
        ("throughput_bps", _F),
        ("busy_ps", _I),
        ("measured_ps", _I),
    ]
)

#: Schema of the ``queues`` table: one row per queue of each scheduled link.
QUEUES_SCHEMA: pa.Schema = pa.schema(
    [
        ("link", _S),
        ("src", _S),
        ("dst", _S),
        ("scheduler", _S),  # priority or drr
        ("queue", _S),
        ("queue_index", _I),  # 0 = served first (priority)
        ("classes", _S),  # the traffic classes in it, ", "-joined
        ("packets", _I),
        ("bytes", _I),
        ("drops", _I),
        ("drop_bytes", _I),
        ("loss", _F),
        ("peak_queue_bytes", _I),
        ("peak_queue_packets", _I),
        ("mean_wait_ps", _F),
        ("peak_wait_ps", _I),
        ("throughput_bps", _F),
        ("measured_ps", _I),
    ]
)

#: Schema of the ``hist`` table.
HIST_SCHEMA: pa.Schema = pa.schema(
    [
        ("level", _S),
        ("name", _S),
        ("metric", _S),
        ("bucket", _I),
        ("lo_ps", _I),
        ("hi_ps", _I),
        ("count", _I),
    ]
)

_EPOCH_FIELDS: list[tuple[str, pa.DataType]] = [
    ("epoch", _I),
    ("t_start_ps", _I),
    ("t_end_ps", _I),
    ("label", _S),
]

#: Schema of the ``epochs`` table.
EPOCHS_SCHEMA: pa.Schema = pa.schema(
    [
        *_EPOCH_FIELDS,
        *_GROUP_PACKET_FIELDS,
        *[(f"latency_{name}_ps", _F) for name, _ in QUANTILES],
        ("latency_max_ps", _F),
        ("measured_ps", _I),
    ]
)

#: Schema of the ``epoch_links`` table.
EPOCH_LINKS_SCHEMA: pa.Schema = pa.schema(
    [
        *_EPOCH_FIELDS,
        ("link", _S),
        ("src", _S),
        ("dst", _S),
        ("access", _B),
        ("rate_bps", _I),
        ("utilisation", _F),
        ("throughput_bps", _F),
        ("bytes", _I),
        ("busy_ps", _I),
        ("drops", _I),
        ("fail_drops", _I),
        ("measured_ps", _I),
    ]
)

#: The schema of each table a sweep point stores too, by table name.
SCHEMAS: dict[str, pa.Schema] = {
    "summary": SUMMARY_SCHEMA,
    "links": LINKS_SCHEMA,
    "hist": HIST_SCHEMA,
}

#: The schema of the per-epoch tables, by table name.
EPOCH_SCHEMAS: dict[str, pa.Schema] = {
    "epochs": EPOCHS_SCHEMA,
    "epoch_links": EPOCH_LINKS_SCHEMA,
}

#: The schema of every table of a run, by table name.
RUN_SCHEMAS: dict[str, pa.Schema] = {**SCHEMAS, **EPOCH_SCHEMAS, "queues": QUEUES_SCHEMA}

_PANDAS_DTYPES = {_I: "int64", _F: "float64", _S: "str", _B: "boolean"}


@dataclass
class Tables:
    """The tidy tables of one run (see the module documentation)."""

    summary: pd.DataFrame
    links: pd.DataFrame
    hist: pd.DataFrame
    epochs: pd.DataFrame = field(default_factory=lambda: empty_table(EPOCHS_SCHEMA))
    epoch_links: pd.DataFrame = field(default_factory=lambda: empty_table(EPOCH_LINKS_SCHEMA))
    queues: pd.DataFrame = field(default_factory=lambda: empty_table(QUEUES_SCHEMA))


def conform(df: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """``df``'s columns of ``schema``, in its order, with its canonical pandas dtypes.

    int64 → ``int64``, float64 → ``float64``, string → ``str``, bool → nullable
    ``boolean``. Every table built or read by this package goes through here, so that
    built and re-read tables compare equal, dtypes included. Other columns are dropped;
    columns of :data:`ADDED_COLUMNS` that ``df`` lacks are filled with NaN.
    """
    absent = [name for name in schema.names if name not in df.columns]
    if any(name in ADDED_COLUMNS for name in absent):
        df = df.assign(**{name: math.nan for name in absent if name in ADDED_COLUMNS})
    missing = [name for name in schema.names if name not in df.columns]
    if missing:
        raise VidnetError(f"table lacks column(s) {', '.join(missing)}")
    data = {f.name: df[f.name].astype(_PANDAS_DTYPES[f.type]) for f in schema}
    return pd.DataFrame(data, index=pd.RangeIndex(len(df)))


def empty_table(schema: pa.Schema) -> pd.DataFrame:
    """A table of ``schema`` with no rows (typed columns)."""
    return conform(pd.DataFrame({name: [] for name in schema.names}), schema)
