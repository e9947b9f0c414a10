"""Writing a sweep folder: one Parquet file per point and table, written atomically.

The layout, and how it is read back, is described in :mod:`vidnet_sim.results.sweep_folder`.
Every table of a point starts with ``point_id``, ``replication``, ``seed`` and one column per
swept parameter (named by its field path, e.g. ``cameras[0].count``), then the columns of the
run table (:mod:`vidnet_sim.results.schema`). Files are written with
:func:`~vidnet_sim.results.atomic.atomic_write`: a reader never sees a partial file, and a
point whose summary is missing is simply not done (its other files are overwritten when it
runs again).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vidnet_sim.results.atomic import atomic_write
from vidnet_sim.results.schema import SCHEMAS, Tables, conform
from vidnet_sim.results.store import to_jsonable, versions
from vidnet_sim.results.sweep_folder import (
    FAILED_DIR,
    SWEEP_FILE,
    TABLE_DIRS,
    SweepFolder,
    SweepFolderError,
    is_sweep_dir,
    read_sweep,
)
from vidnet_sim.sweep.plan import SCHEME, Point, Sweep
from vidnet_sim.variation.seeds import canonical_json

__all__ = [
    "SWEEP_FILE",
    "TABLE_DIRS",
    "SweepFolderError",
    "SweepStatus",
    "SweepStore",
    "is_sweep_dir",
    "point_files",
    "read_sweep",
]

#: Temporary files older than this are leftovers of killed writers.
STALE_TEMP_SECONDS = 600.0


# --------------------------------------------------------------------------- files of a point
def _param_column(value: Any, n: int) -> tuple[pd.Series, pa.DataType]:
    """A constant column holding a parameter value, typed by the value itself."""
    if isinstance(value, bool):
        return pd.Series([value] * n, dtype="boolean"), pa.bool_()
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return pd.Series([value] * n, dtype="int64"), pa.int64()
    if isinstance(value, float):
        return pd.Series([value] * n, dtype="float64"), pa.float64()
    text = value if isinstance(value, str) else canonical_json(value)
    return pd.Series([text] * n, dtype="str"), pa.string()


def point_table(point: Point, df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """One run table of ``point`` with the point and parameter columns in front."""
    body = conform(df, schema)
    n = len(body)
    columns: dict[str, pd.Series] = {
        "point_id": pd.Series([point.point_id] * n, dtype="str"),
        "replication": pd.Series([point.replication] * n, dtype="int64"),
        "seed": pd.Series([point.seed] * n, dtype="int64"),
    }
    fields = [
        pa.field("point_id", pa.string()),
        pa.field("replication", pa.int64()),
        pa.field("seed", pa.int64()),
    ]
    for path, value in point.params.items():
        columns[path], typ = _param_column(value, n)
        fields.append(pa.field(path, typ))
    for name in schema.names:
        columns[name] = body[name]
    full = pa.schema([*fields, *schema])
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
    return pa.Table.from_pandas(frame, schema=full, preserve_index=False)


def point_files(point: Point, tables: Tables) -> dict[str, bytes]:
    """The Parquet bytes of each table of ``point`` (``summary``, ``links``, ``hist``)."""
    out: dict[str, bytes] = {}
    for name, schema in SCHEMAS.items():
        buf = io.BytesIO()
        pq.write_table(point_table(point, getattr(tables, name), schema), buf)
        out[name] = buf.getvalue()
    return out


def _json_bytes(doc: Mapping[str, Any]) -> bytes:
    return (json.dumps(to_jsonable(doc), indent=1, allow_nan=False) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- status
@dataclass
class SweepStatus:
    """Which points of a sweep are done, failed (with their error) or missing."""

    total: int
    done: list[Point] = field(default_factory=list)
    failed: list[tuple[Point, dict[str, Any]]] = field(default_factory=list)
    missing: list[Point] = field(default_factory=list)
    #: ids of finished points in the folder that the sweep no longer lists
    extra: list[str] = field(default_factory=list)
    #: hidden temporary files (leftovers of killed writers, or writes in progress)
    temp_files: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary (``failed`` with their errors, ids of the others)."""
        return {
            "total": self.total,
            "done": len(self.done),
            "failed": len(self.failed),
            "missing": len(self.missing),
            "extra": len(self.extra),
            "temp_files": self.temp_files,
            "failed_points": [
                {
                    "index": p.index,
                    "point_id": p.point_id,
                    "params": p.params,
                    "replication": p.replication,
                    "error": rec.get("error"),
                    "message": rec.get("message"),
                }
                for p, rec in self.failed
            ],
            "missing_points": [p.point_id for p in self.missing],
        }


# --------------------------------------------------------------------------- the folder
class SweepStore(SweepFolder):
    """Reads and writes one sweep folder."""

    def check(self, sweep: Sweep) -> None:
        """Refuse a folder that holds points of another scenario, seed, seed scheme or build
        of the model."""
        meta = self.read_meta()
        if meta is None:
            return
        theirs = meta.get("fingerprint")
        if theirs != sweep.fingerprint:
            raise SweepFolderError(
                f"{self.root} holds a sweep of another base scenario, root seed, seed "
                f"scheme or build of the model (vidnet-sim's version or its model code; "
                f"fingerprint {theirs}, this sweep {sweep.fingerprint}); its points "
                "would not be comparable: choose another --out folder, or delete that one"
            )

    def write_meta(self, sweep: Sweep, *, only_if_missing: bool = False) -> None:
        """Create the folders and write ``_sweep.json`` (atomically)."""
        for d in (*TABLE_DIRS.values(), FAILED_DIR):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        if only_if_missing and (self.root / SWEEP_FILE).is_file():
            return
        doc = {
            "format": "vidnet-sim sweep",
            "scheme": SCHEME,
            "name": sweep.name,
            "fingerprint": sweep.fingerprint,
            "root_seed": sweep.root_seed,
            "common_random_numbers": sweep.spec.common_random_numbers,
            "replications": sweep.spec.replications,
            "parameters": sweep.parameters,
            "sweep_file": str(sweep.file) if sweep.file is not None else None,
            "source": sweep.base.source,
            "base_dir": sweep.base.base_dir,
            "scenario": sweep.base.data,
            "spec": sweep.spec.model_dump(mode="json", exclude_none=True),
            "points": [
                {
                    "index": p.index,
                    "point_id": p.point_id,
                    "replication": p.replication,
                    "seed": p.seed,
                    "params": p.params,
                }
                for p in sweep.points
            ],
            "versions": versions(),
            "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        atomic_write(self.root / SWEEP_FILE, _json_bytes(doc))

    # -- points
    def write_point(self, point_id: str, files: Mapping[str, bytes]) -> None:
        """Write a point's tables (the summary last: the completion marker)."""
        for table in ("links", "hist", "summary"):
            path = self.table_path(table, point_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, files[table])
        with contextlib.suppress(FileNotFoundError):
            self.failure_path(point_id).unlink()

    def write_failure(self, point: Point, error: Mapping[str, Any]) -> None:
        """Record why ``point`` failed (replacing an earlier record)."""
        record = {
            "point_id": point.point_id,
            "index": point.index,
            "replication": point.replication,
            "seed": point.seed,
            "params": point.params,
            **error,
            "host": socket.gethostname(),
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        path = self.failure_path(point.point_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, _json_bytes(record))

    def temp_files(self) -> list[Path]:
        out: list[Path] = []
        for d in (*TABLE_DIRS.values(), FAILED_DIR, "."):
            folder = self.root / d
            if folder.is_dir():
                out += [
                    p
                    for p in folder.iterdir()
                    if p.name.startswith(".") and p.name.endswith(".tmp")
                ]
        return out

    def clean_temp(self, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Remove temporary files older than ``older_than`` seconds; return how many."""
        now = time.time()
        removed = 0
        for p in self.temp_files():
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime > older_than:
                    p.unlink()
                    removed += 1
        return removed

    def status(self, sweep: Sweep) -> SweepStatus:
        """Done, failed and missing points of ``sweep`` in this folder."""
        done = self.done_ids()
        failed = self._ids(self.root / FAILED_DIR, ".json")
        st = SweepStatus(total=len(sweep.points))
        listed = set()
        for p in sweep.points:
            listed.add(p.point_id)
            if p.point_id in done:
                st.done.append(p)
            elif p.point_id in failed:
                st.failed.append((p, self.failure(p.point_id)))
            else:
                st.missing.append(p)
        st.extra = sorted(done - listed)
        st.temp_files = len(self.temp_files())
        return st
