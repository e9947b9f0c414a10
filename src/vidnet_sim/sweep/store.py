"""A sweep folder on disk: one Parquet file per point and table, written atomically.

Layout::

    <out>/summary/<point_id>.parquet   the point's summary table; written last: its presence
                                       marks the point done
    <out>/_links/<point_id>.parquet    links table
    <out>/_hist/<point_id>.parquet     latency histograms (long format)
    <out>/_failed/<point_id>.json      the error of a point that failed (removed once done)
    <out>/_sweep.json                  the sweep: fingerprint, scenario, spec, points
    <out>/_logs/                       job-array logs (--print-sbatch)

Every table of a point starts with ``point_id``, ``replication``, ``seed`` and one column per
swept parameter (named by its field path, e.g. ``cameras[0].count``), then the columns of the
run table (:mod:`vidnet_sim.results.tables`). Files are written to a hidden temporary name
(``.<name>.<pid>.<random>.tmp``) in their folder, flushed, then renamed: a reader never sees
a partial file, and a point whose summary is missing is simply not done (its other files
are overwritten when it runs again).

pyarrow skips names starting with ``.`` or ``_``, so ``pd.read_parquet(out)`` reads the
summary of every finished point; ``pd.read_parquet(out / "_links")`` the links.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vidnet_sim.errors import VidnetError
from vidnet_sim.results.store import (
    Results,
    ResultsNotFoundError,
    _atomic_write,
    read_json_object,
    to_jsonable,
    versions,
)
from vidnet_sim.results.tables import SCHEMAS, Tables, conform
from vidnet_sim.sweep.plan import SCHEME, Point, Sweep, canonical_json

__all__ = [
    "SWEEP_FILE",
    "TABLE_DIRS",
    "SweepFolderError",
    "SweepStatus",
    "SweepStore",
    "atomic_write",
    "is_sweep_dir",
    "point_files",
    "read_sweep",
]

#: Folder of each table in a sweep folder.
TABLE_DIRS: dict[str, str] = {"summary": "summary", "links": "_links", "hist": "_hist"}
FAILED_DIR = "_failed"
LOGS_DIR = "_logs"
SWEEP_FILE = "_sweep.json"
_SUFFIX = ".parquet"
#: Temporary files older than this are leftovers of killed writers.
STALE_TEMP_SECONDS = 600.0


class SweepFolderError(VidnetError):
    """A sweep folder that belongs to another sweep, or cannot be read."""


def is_sweep_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a sweep folder (it holds ``_sweep.json``)."""
    return (Path(path) / SWEEP_FILE).is_file()


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


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file, then rename it."""

    def write(f: IO[bytes]) -> None:
        f.write(data)

    _atomic_write(path, write)


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
class SweepStore:
    """Reads and writes one sweep folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def table_path(self, table: str, point_id: str) -> Path:
        return self.root / TABLE_DIRS[table] / f"{point_id}{_SUFFIX}"

    def failure_path(self, point_id: str) -> Path:
        return self.root / FAILED_DIR / f"{point_id}.json"

    def _ids(self, folder: Path, suffix: str) -> set[str]:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return set()
        return {
            n[: -len(suffix)] for n in names if n.endswith(suffix) and not n.startswith((".", "_"))
        }

    def done_ids(self) -> set[str]:
        """Ids of the points whose summary file exists."""
        return self._ids(self.root / TABLE_DIRS["summary"], _SUFFIX)

    def failed_ids(self) -> set[str]:
        """Ids of the points with a failure record (done points excluded)."""
        return self._ids(self.root / FAILED_DIR, ".json") - self.done_ids()

    def failure(self, point_id: str) -> dict[str, Any]:
        try:
            data = json.loads(self.failure_path(point_id).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return {"error": "unreadable failure record", "message": str(exc)}
        return data if isinstance(data, dict) else {}

    # -- metadata
    def read_meta(self) -> dict[str, Any] | None:
        path = self.root / SWEEP_FILE
        if not path.is_file():
            return None
        return read_json_object(path, SweepFolderError)

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


# --------------------------------------------------------------------------- reading
_POINT_DTYPES = {"point_id": "str", "replication": "int64", "seed": "int64"}


def _read_table(
    files: Sequence[Path], schema: pa.Schema, parameters: Sequence[str] = ()
) -> pd.DataFrame:
    """Concatenate the files of one table (in order), parameters first, dtypes canonical."""
    if not files:
        empty = pd.DataFrame(
            {
                **{c: pd.Series([], dtype=t) for c, t in _POINT_DTYPES.items()},
                **{c: pd.Series([], dtype="object") for c in parameters},
            }
        )
        body = conform(pd.DataFrame({n: [] for n in schema.names}), schema)
        out: pd.DataFrame = pd.concat([empty, body], axis=1)
        return out
    with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 1) + 4)) as pool:
        tables = list(pool.map(pq.read_table, files))
    # files of one schema are concatenated in Arrow, then converted once
    groups: dict[pa.Schema, list[int]] = {}
    for i, t in enumerate(tables):
        groups.setdefault(t.schema, []).append(i)
    frames = []
    for indices in groups.values():
        merged = pa.concat_tables([tables[i] for i in indices])
        df = merged.to_pandas()
        df["__order"] = np.repeat(np.array(indices), [tables[i].num_rows for i in indices])
        frames.append(df)
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    df = df.sort_values("__order", kind="stable").reset_index(drop=True)
    params = [
        c for c in df.columns if c not in schema.names and c not in _POINT_DTYPES and c != "__order"
    ]
    head = pd.DataFrame({c: df[c].astype(t) for c, t in _POINT_DTYPES.items()})
    result: pd.DataFrame = pd.concat([head, df[params], conform(df, schema)], axis=1)
    return result


def read_sweep(path: str | os.PathLike[str]) -> Results:
    """Read a sweep folder as one tidy :class:`~vidnet_sim.results.Results`.

    Every finished point is read (a point is finished when its summary file exists; the
    points the sweep lists come first, in sweep order, then any others, by id). Each table
    starts with ``point_id``, ``replication``, ``seed`` and the parameter columns.
    ``manifest`` is the folder's ``_sweep.json``. Raises
    :class:`~vidnet_sim.results.ResultsNotFoundError` for a folder that is not a sweep, or a
    finished point with a table missing.
    """
    store = SweepStore(path)
    meta = store.read_meta()
    if meta is None:
        raise ResultsNotFoundError(f"no sweep at {store.root}: no {SWEEP_FILE}")
    done = store.done_ids()
    listed = [p["point_id"] for p in meta.get("points", []) if isinstance(p, dict)]
    order = [pid for pid in listed if pid in done]
    order += sorted(done - set(order))
    tables: dict[str, pd.DataFrame] = {}
    for name, schema in SCHEMAS.items():
        files = [store.table_path(name, pid) for pid in order]
        lost = [f for f in files if not f.is_file()]
        if lost:
            raise ResultsNotFoundError(
                f"{store.root}: finished point(s) without their {name} table: "
                + ", ".join(f.stem for f in lost[:5])
            )
        params = [str(p) for p in meta.get("parameters", []) if str(p) not in schema.names]
        tables[name] = _read_table(files, schema, params)
    return Results(**tables, manifest=meta)
