"""A sweep folder on disk: one ordinary run folder per point, and the sweep's own files.

Layout::

    <out>/<point_id>/            the point's run folder, as ``vidnet-sim run`` writes one: its
                                 six tables and ``manifest.json`` (written last: its presence
                                 marks the point done), whose ``"point"`` holds the point's
                                 id, index, replication, seed and parameters
    <out>/_failed/<point_id>.json  the error of a point that failed (removed once done)
    <out>/_sweep.json            the sweep: fingerprint, scenario, spec, points
    <out>/_logs/                 job-array logs (--print-sbatch)

A point's run folder is written whole under a hidden temporary name
(``.<point_id>.<pid>.<random>.tmp/``) then put in place in one step
(:func:`~vidnet_sim.results.atomic.replace_folder`), and the sweep's own files are written to
a hidden temporary name then renamed: a reader never sees a partial file or folder, and a
point whose folder or manifest is missing is simply not done (its folder is replaced when it
runs again).

:func:`read_sweep` (which :func:`~vidnet_sim.results.read.read_results` calls for a folder
holding ``_sweep.json``) reads every finished point; each table starts with ``point_id``,
``replication``, ``seed`` and one column per swept parameter (named by its field path, e.g.
``cameras[0].count``), then the run table's columns (:mod:`vidnet_sim.results.schema`).
pyarrow skips names starting with ``.`` or ``_``, so ``pd.read_parquet(out,
**read_parquet_kwargs("summary"))`` reads the summary of every finished point (without the
point columns).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from vidnet_sim.canonical import canonical_json
from vidnet_sim.errors import VidnetError
from vidnet_sim.results.schema import RUN_SCHEMAS, conform
from vidnet_sim.results.store import (
    MANIFEST_FILE,
    Results,
    ResultsNotFoundError,
    read_json_object,
    read_run,
    run_intact,
    run_looks_intact,
)

__all__ = [
    "FAILED_DIR",
    "LOGS_DIR",
    "POINT_COLUMNS",
    "SWEEP_FILE",
    "SweepFolder",
    "SweepFolderError",
    "is_sweep_dir",
    "read_sweep",
]

FAILED_DIR = "_failed"
LOGS_DIR = "_logs"
SWEEP_FILE = "_sweep.json"
#: Columns every table of a sweep starts with, before the parameter columns.
POINT_COLUMNS = ("point_id", "replication", "seed")


class SweepFolderError(VidnetError):
    """A sweep folder that belongs to another sweep, or cannot be read."""


def is_sweep_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a sweep folder (it holds ``_sweep.json``)."""
    return (Path(path) / SWEEP_FILE).is_file()


class SweepFolder:
    """Reads one sweep folder: its points' run folders, failure records and ``_sweep.json``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def point_dir(self, point_id: str) -> Path:
        """The run folder of a point."""
        return self.root / point_id

    def failure_path(self, point_id: str) -> Path:
        return self.root / FAILED_DIR / f"{point_id}.json"

    def point_dirs(self) -> list[Path]:
        """The folders that may hold a point (names not starting with ``.`` or ``_``)."""
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        return [Path(e.path) for e in entries if e.is_dir() and not e.name.startswith((".", "_"))]

    def done_ids(self) -> set[str]:
        """Ids of the points whose run folder has its manifest."""
        return {d.name for d in self.point_dirs() if (d / MANIFEST_FILE).is_file()}

    def intact_done_ids(self, *, hashed: bool = True) -> set[str]:
        """Ids of the done points whose run folder is intact (:func:`run_intact`, every file
        hashed; without ``hashed``, :func:`run_looks_intact`, from the files' sizes and
        times): a point whose files were damaged since is to be run again."""
        intact = run_intact if hashed else run_looks_intact
        return {pid for pid in self.done_ids() if intact(self.point_dir(pid))}

    def failed_ids(self) -> set[str]:
        """Ids of the points with a failure record (done points excluded)."""
        try:
            names = os.listdir(self.root / FAILED_DIR)
        except FileNotFoundError:
            return set()
        failed = {n.removesuffix(".json") for n in names if n.endswith(".json")}
        return {n for n in failed if not n.startswith((".", "_"))} - self.done_ids()

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


def _param_column(value: Any, n: int) -> pd.Series:
    """A constant column holding a parameter value, typed by the value itself."""
    if isinstance(value, bool):
        return pd.Series([value] * n, dtype="boolean")
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return pd.Series([value] * n, dtype="int64")
    if isinstance(value, float):
        return pd.Series([value] * n, dtype="float64")
    text = value if isinstance(value, str) else canonical_json(value)
    return pd.Series([text] * n, dtype="str")


def _with_point(df: pd.DataFrame, point_id: str, point: dict[str, Any]) -> pd.DataFrame:
    """``df`` with the point's id, replication, seed and parameters in front."""
    n = len(df)
    head: dict[str, pd.Series] = {
        "point_id": pd.Series([point_id] * n, dtype="str"),
        "replication": pd.Series([point.get("replication", 0)] * n, dtype="int64"),
        "seed": pd.Series([point.get("seed", 0)] * n, dtype="int64"),
    }
    params = point.get("params")
    for path, value in (params if isinstance(params, dict) else {}).items():
        head[path] = _param_column(value, n)
    return pd.concat([pd.DataFrame(head, index=df.index), df], axis=1)


def _stack(frames: list[pd.DataFrame], columns: list[str], schema_names: list[str]) -> pd.DataFrame:
    if not frames:
        empty = {c: pd.Series([], dtype=_POINT_DTYPES.get(c, "object")) for c in columns}
        return pd.DataFrame(empty)
    out = pd.concat(frames, ignore_index=True)
    params = [c for c in out.columns if c not in columns and c not in schema_names]
    return out[[*columns, *params, *schema_names]]


def _listed(meta: dict[str, Any], key: str) -> list[Any]:
    """The list ``meta[key]`` of a sweep's ``_sweep.json``; none if it is not a list (a
    damaged file: the points are read from their folders all the same)."""
    value = meta.get(key)
    return value if isinstance(value, list) else []


def read_sweep(path: str | os.PathLike[str]) -> Results:
    """Read a sweep folder as one tidy :class:`~vidnet_sim.results.Results`.

    Every finished point is read (a point is finished when its run folder has its
    manifest; the points the sweep lists come first, in sweep order, then any others, by
    id). Each table starts with ``point_id``, ``replication``, ``seed`` and the parameter
    columns. ``manifest`` is the folder's ``_sweep.json``. Raises
    :class:`~vidnet_sim.results.ResultsNotFoundError` for a folder that is not a sweep, or a
    finished point with a table missing.
    """
    folder = SweepFolder(path)
    meta = folder.read_meta()
    if meta is None:
        raise ResultsNotFoundError(f"no sweep at {folder.root}: no {SWEEP_FILE}")
    done = folder.done_ids()
    listed = [
        p["point_id"]
        for p in _listed(meta, "points")
        if isinstance(p, dict) and isinstance(p.get("point_id"), str)
    ]
    order = [pid for pid in listed if pid in done]
    order += sorted(done - set(order))
    with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 1) + 4)) as pool:
        runs = list(pool.map(read_run, [folder.point_dir(pid) for pid in order]))
    parameters = [str(p) for p in _listed(meta, "parameters")]
    tables: dict[str, pd.DataFrame] = {}
    for name, schema in RUN_SCHEMAS.items():
        frames = []
        for pid, run in zip(order, runs, strict=True):
            point = run.manifest.get("point")
            df = conform(getattr(run, name), schema)
            frames.append(_with_point(df, pid, point if isinstance(point, dict) else {}))
        head = [*POINT_COLUMNS, *(p for p in parameters if p not in schema.names)]
        if frames:
            tables[name] = _stack(frames, list(POINT_COLUMNS), schema.names)
        else:
            empty = _stack([], head, schema.names)
            tables[name] = pd.concat(
                [empty, conform(pd.DataFrame({n: [] for n in schema.names}), schema)], axis=1
            )
    return Results(**tables, manifest=meta)
