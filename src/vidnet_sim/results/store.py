"""Runs on disk: one folder per run, five Parquet tables and a JSON manifest.

A run folder holds ``summary.parquet``, ``links.parquet``, ``hist.parquet``,
``epochs.parquet``, ``epoch_links.parquet`` (each with its explicit schema from
:mod:`vidnet_sim.results.tables`) and ``manifest.json``, whose ``"tables"`` maps each table
to its file. Each file is written to a hidden temporary name
(``.summary.parquet.<pid>.<random>.tmp``) in the same folder, flushed to disk, then renamed
over its final name (atomic on POSIX and Windows); the manifest is renamed last, so a folder
with its manifest and the files it lists is a complete run. (Folders written before the
epoch tables existed have no ``"tables"`` entry: their epoch tables read as empty.)
A sweep folder holds one run folder per point.

Reading:

- :func:`read_results` reads a run folder, or a sweep folder (its direct sub-folders that
  hold runs), adding a ``run`` column (the sub-folder name, less a ``run=`` prefix) to
  every table of a sweep.
- With pandas alone, ``pd.read_parquet(run / "summary.parquet")`` reads one table of one
  run. ``pd.read_parquet(folder)`` on a run or sweep folder fails, because the folder
  mixes three tables and a JSON file; ``pd.read_parquet(folder,
  **read_parquet_kwargs("summary"))`` reads the summary of that run, or of every run in
  the sweep (at any depth, without a ``run`` column unless the run folders are named
  ``run=<name>``, which pyarrow reads as a hive partition).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vidnet_sim.errors import VidnetError
from vidnet_sim.results.tables import (
    EPOCH_LINKS_SCHEMA,
    EPOCHS_SCHEMA,
    RUN_SCHEMAS,
    SCHEMAS,
    Tables,
    conform,
    empty_table,
)

#: File name of each table in a run folder.
TABLE_FILES: dict[str, str] = {name: f"{name}.parquet" for name in RUN_SCHEMAS}
#: The tables of folders written before the manifest listed its tables.
_LEGACY_TABLES: tuple[str, ...] = tuple(SCHEMAS)
MANIFEST_FILE = "manifest.json"
RUN_FILES: tuple[str, ...] = (*TABLE_FILES.values(), MANIFEST_FILE)


class ResultsNotFoundError(VidnetError, FileNotFoundError):
    """No (complete) results where some were expected."""


@dataclass
class Results:
    """Tables and manifest read back from a run folder or a sweep folder.

    For a sweep, each table has a leading ``run`` column and ``manifest`` is the sweep
    folder's own ``manifest.json`` (if any) plus ``"runs"``: ``{run: its manifest}``.
    ``epochs`` and ``epoch_links`` are empty for a sweep folder written by ``vidnet-sim
    sweep`` (its points store the other three tables) and for runs written before them.
    """

    summary: pd.DataFrame
    links: pd.DataFrame
    hist: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    epochs: pd.DataFrame = field(default_factory=lambda: empty_table(EPOCHS_SCHEMA))
    epoch_links: pd.DataFrame = field(default_factory=lambda: empty_table(EPOCH_LINKS_SCHEMA))


def read_parquet_kwargs(table: str = "summary") -> dict[str, Any]:
    """Keyword arguments of ``pd.read_parquet(folder, ...)`` that read only ``table``.

    They make pyarrow skip the other tables' files, manifests and hidden temporary files
    of a run or sweep folder.
    """
    if table not in TABLE_FILES:
        raise VidnetError(f"unknown table {table!r}: expected one of {', '.join(TABLE_FILES)}")
    others = [name for key, name in TABLE_FILES.items() if key != table]
    return {"ignore_prefixes": [".", "_", *others, MANIFEST_FILE]}


def versions() -> dict[str, str | None]:
    """Versions of vidnet-sim, its main dependencies and Python (``None``: not installed)."""
    from vidnet_sim import __version__

    out: dict[str, str | None] = {"vidnet_sim": __version__}
    for pkg in ("numpy", "numba", "simpy", "pandas", "pyarrow"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    out["python"] = platform.python_version()
    return out


def to_jsonable(obj: object) -> Any:
    """``obj`` as plain JSON values: NaN, inf and NA become ``None``, NumPy scalars and
    arrays become Python numbers and lists, paths and dates become strings."""
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, bool | str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset | np.ndarray):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    return str(obj)


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a hidden temporary file in its folder, then rename it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _parquet_writer(df: pd.DataFrame, schema: pa.Schema) -> Callable[[IO[bytes]], None]:
    def write(f: IO[bytes]) -> None:
        df.to_parquet(f, engine="pyarrow", schema=schema, index=False)

    return write


def _bytes_writer(data: bytes) -> Callable[[IO[bytes]], None]:
    def write(f: IO[bytes]) -> None:
        f.write(data)

    return write


def write_results(
    out_dir: str | os.PathLike[str], tables: Tables, manifest: Mapping[str, Any]
) -> Path:
    """Write ``tables`` and ``manifest`` into the run folder ``out_dir`` (created if needed).

    Each file is replaced atomically; the manifest goes last. ``versions`` and ``created``
    (UTC, ISO 8601) are added to the manifest when missing, and ``tables`` (each table's
    file name) is set. Returns the folder.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in RUN_SCHEMAS.items():
        df = conform(getattr(tables, name), schema)
        _atomic_write(out / TABLE_FILES[name], _parquet_writer(df, schema))
    full = dict(manifest)
    full["tables"] = dict(TABLE_FILES)
    full.setdefault("versions", versions())
    full.setdefault("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    text = json.dumps(to_jsonable(full), indent=2, allow_nan=False) + "\n"
    _atomic_write(out / MANIFEST_FILE, _bytes_writer(text.encode("utf-8")))
    return out


def _is_run(folder: Path) -> bool:
    return (folder / TABLE_FILES["summary"]).is_file()


def _incomplete(folder: Path, missing: list[str]) -> ResultsNotFoundError:
    return ResultsNotFoundError(
        f"incomplete run folder {folder}: missing {', '.join(missing)} "
        "(was the run interrupted? run it again or remove the folder)"
    )


def _read_run(folder: Path) -> Results:
    if not (folder / MANIFEST_FILE).is_file():
        legacy = [TABLE_FILES[name] for name in _LEGACY_TABLES]
        raise _incomplete(
            folder, [f for f in (*legacy, MANIFEST_FILE) if not (folder / f).is_file()]
        )
    manifest = read_json_object(folder / MANIFEST_FILE)
    listed = manifest.get("tables")
    if isinstance(listed, dict):
        names = [n for n in RUN_SCHEMAS if n in listed]
    else:  # written before the manifest listed its tables
        names = list(_LEGACY_TABLES)
    missing = [TABLE_FILES[n] for n in names if not (folder / TABLE_FILES[n]).is_file()]
    if missing:
        raise _incomplete(folder, missing)
    tables = {
        name: conform(pd.read_parquet(folder / TABLE_FILES[name], engine="pyarrow"), schema)
        if name in names
        else empty_table(schema)
        for name, schema in RUN_SCHEMAS.items()
    }
    return Results(**tables, manifest=manifest)


def read_json_object(path: Path, error: type[VidnetError] = VidnetError) -> dict[str, Any]:
    """The JSON object in ``path``; ``error`` (a message naming the file) if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise error(f"cannot read {path}: {e}") from e
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data


def read_results(path: str | os.PathLike[str]) -> Results:
    """Read a run folder, or a sweep folder whose direct sub-folders are runs.

    ``path`` may also be one of a run's files (its folder is read). For a sweep, every
    table gets a leading ``run`` column holding the sub-folder name (without a hive-style
    ``run=`` prefix), runs in folder-name order. Folders whose name starts with ``.`` or
    ``_`` are skipped, like pyarrow does.
    Raises :class:`ResultsNotFoundError` when there is no run, or a run is incomplete.
    """
    p = Path(path)
    if p.is_file() and p.name in RUN_FILES:
        p = p.parent
    from vidnet_sim.sweep.store import is_sweep_dir, read_sweep  # lazy: sweep imports results

    if p.is_dir() and is_sweep_dir(p):
        return read_sweep(p)
    if not p.is_dir():
        raise ResultsNotFoundError(f"no results at {p}: no such folder")
    if _is_run(p):
        return _read_run(p)
    runs = sorted(
        d for d in p.iterdir() if d.is_dir() and not d.name.startswith((".", "_")) and _is_run(d)
    )
    if not runs:
        raise ResultsNotFoundError(
            f"no results in {p}: expected {', '.join(RUN_FILES)}, or sub-folders holding them"
        )
    parts = {d.name.removeprefix("run="): _read_run(d) for d in runs}
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
