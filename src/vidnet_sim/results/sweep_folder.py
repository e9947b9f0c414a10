"""A sweep folder on disk, and reading it back as one set of tables.

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
run table (:mod:`vidnet_sim.results.schema`). Files are written to a hidden temporary name
(``.<name>.<pid>.<random>.tmp``) in their folder, flushed, then renamed: a reader never sees
a partial file, and a point whose summary is missing is simply not done (its other files
are overwritten when it runs again).

pyarrow skips names starting with ``.`` or ``_``, so ``pd.read_parquet(out)`` reads the
summary of every finished point; ``pd.read_parquet(out / "_links")`` the links.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vidnet_sim.errors import VidnetError
from vidnet_sim.results.schema import SCHEMAS, conform
from vidnet_sim.results.store import Results, ResultsNotFoundError, read_json_object

__all__ = [
    "FAILED_DIR",
    "LOGS_DIR",
    "SUFFIX",
    "SWEEP_FILE",
    "TABLE_DIRS",
    "SweepFolder",
    "SweepFolderError",
    "is_sweep_dir",
    "read_sweep",
]

#: Folder of each table in a sweep folder.
TABLE_DIRS: dict[str, str] = {"summary": "summary", "links": "_links", "hist": "_hist"}
FAILED_DIR = "_failed"
LOGS_DIR = "_logs"
SWEEP_FILE = "_sweep.json"
SUFFIX = ".parquet"


class SweepFolderError(VidnetError):
    """A sweep folder that belongs to another sweep, or cannot be read."""


def is_sweep_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a sweep folder (it holds ``_sweep.json``)."""
    return (Path(path) / SWEEP_FILE).is_file()


class SweepFolder:
    """Reads one sweep folder: its points' files, failure records and ``_sweep.json``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def table_path(self, table: str, point_id: str) -> Path:
        return self.root / TABLE_DIRS[table] / f"{point_id}{SUFFIX}"

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
        return self._ids(self.root / TABLE_DIRS["summary"], SUFFIX)

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
    store = SweepFolder(path)
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
