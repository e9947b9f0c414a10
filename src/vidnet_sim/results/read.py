"""Reading results back: one function for a run folder, a folder of runs or a sweep folder."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa

from vidnet_sim.errors import VidnetError
from vidnet_sim.results.atomic import recover_folder
from vidnet_sim.results.schema import RUN_SCHEMAS, conform
from vidnet_sim.results.store import (
    MANIFEST_FILE,
    RUN_FILES,
    Results,
    ResultsNotFoundError,
    is_run,
    read_json_object,
    read_run,
)
from vidnet_sim.results.sweep_folder import is_sweep_dir, read_sweep

__all__ = ["read_results"]


def read_results(path: str | os.PathLike[str]) -> Results:
    """Read a run folder, a folder whose direct sub-folders are runs, or a sweep folder.

    ``path`` may also be one of a run's files (its folder is read). For a folder of runs,
    every table gets a leading ``run`` column holding the sub-folder name (without a
    hive-style ``run=`` prefix), runs in folder-name order. Folders whose name starts with
    ``.`` or ``_`` are skipped, like pyarrow does. A sweep folder (``_sweep.json``) is read
    by :func:`~vidnet_sim.results.sweep_folder.read_sweep`: its tables start with the point
    and parameter columns.
    Raises :class:`ResultsNotFoundError` when there is no run, or a run is incomplete.
    """
    p = Path(path)
    if p.is_file() and p.name in RUN_FILES:
        p = p.parent
    recover_folder(p)  # a writer killed while replacing the folder left the previous run aside
    if p.is_dir() and is_sweep_dir(p):
        return read_sweep(p)
    if not p.is_dir():
        raise ResultsNotFoundError(f"no results at {p}: no such folder")
    if is_run(p):
        return read_run(p)
    runs = sorted(
        d for d in p.iterdir() if d.is_dir() and not d.name.startswith((".", "_")) and is_run(d)
    )
    if not runs:
        raise ResultsNotFoundError(
            f"no results in {p}: expected {', '.join(RUN_FILES)}, or sub-folders holding them"
        )
    parts = {d.name.removeprefix("run="): read_run(d) for d in runs}
    if len(parts) < len(runs):
        raise VidnetError(f"{p}: two run folders have the same name, one with a 'run=' prefix")
    tables: dict[str, pd.DataFrame] = {}
    for name, schema in RUN_SCHEMAS.items():
        frames = []
        for run, res in parts.items():
            df = getattr(res, name)
            df.insert(0, "run", pd.Series(run, index=df.index, dtype="str"))
            frames.append(df)
        sweep_schema = schema.insert(0, pa.field("run", pa.string()))
        tables[name] = conform(pd.concat(frames, ignore_index=True), sweep_schema)
    manifest = read_json_object(p / MANIFEST_FILE) if (p / MANIFEST_FILE).is_file() else {}
    manifest["runs"] = {run: res.manifest for run, res in parts.items()}
    return Results(**tables, manifest=manifest)
