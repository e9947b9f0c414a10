"""Runs on disk: one folder per run, five Parquet tables and a JSON manifest.

A run folder holds ``summary.parquet``, ``links.parquet``, ``hist.parquet``,
``epochs.parquet``, ``epoch_links.parquet`` (each with its explicit schema from
:mod:`vidnet_sim.results.schema`) and ``manifest.json``, whose ``"tables"`` maps each table
to its file. Each file is written to a hidden temporary name
(``.summary.parquet.<pid>.<random>.tmp``) in the same folder, flushed to disk, then renamed
over its final name (atomic on POSIX and Windows); the manifest is renamed last, so a folder
with its manifest and the files it lists is a complete run. (Folders written before the
epoch tables existed have no ``"tables"`` entry: their epoch tables read as empty.)

Reading:

- :func:`~vidnet_sim.results.read.read_results` reads a run folder, a folder of runs (its
  direct sub-folders that hold runs), adding a ``run`` column (the sub-folder name, less a
  ``run=`` prefix) to every table, or a sweep folder written by ``vidnet-sim sweep``
  (:mod:`vidnet_sim.results.sweep_folder`: one file per point and table).
- With pandas alone, ``pd.read_parquet(run / "summary.parquet")`` reads one table of one
  run. ``pd.read_parquet(folder)`` on a run folder or a folder of runs fails, because the folder
  mixes five tables and a JSON file; ``pd.read_parquet(folder,
  **read_parquet_kwargs("summary"))`` reads the summary of that run, or of every run in
  the folder (at any depth, without a ``run`` column unless the run folders are named
  ``run=<name>``, which pyarrow reads as a hive partition).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import io
import json
import math
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidnet_sim.errors import VidnetError
from vidnet_sim.results.atomic import atomic_write
from vidnet_sim.results.packets import PACKETS_SCHEMA
from vidnet_sim.results.schema import (
    EPOCH_LINKS_SCHEMA,
    EPOCHS_SCHEMA,
    RUN_SCHEMAS,
    SCHEMAS,
    Tables,
    conform,
    empty_table,
)
from vidnet_sim.version import __version__

#: File name of each table in a run folder.
TABLE_FILES: dict[str, str] = {name: f"{name}.parquet" for name in RUN_SCHEMAS}
#: File of the optional per-packet table (``run --packets``; listed in the manifest).
PACKETS_FILE = "packets.parquet"
#: Rows per row group of the per-packet table (its chunks).
PACKETS_ROW_GROUP = 1 << 20
#: The tables of folders written before the manifest listed its tables.
_LEGACY_TABLES: tuple[str, ...] = tuple(SCHEMAS)
MANIFEST_FILE = "manifest.json"
RUN_FILES: tuple[str, ...] = (*TABLE_FILES.values(), MANIFEST_FILE)


class ResultsNotFoundError(VidnetError, FileNotFoundError):
    """No (complete) results where some were expected."""


@dataclass
class Results:
    """Tables and manifest read back from a run folder, a folder of runs or a sweep folder.

    For a folder of runs, each table has a leading ``run`` column and ``manifest`` is the
    folder's own ``manifest.json`` (if any) plus ``"runs"``: ``{run: its manifest}``. For a
    sweep folder, each table starts with the point columns (``point_id``, ``replication``,
    ``seed``, the parameters) and ``manifest`` is its ``_sweep.json``. ``epochs`` and
    ``epoch_links`` are empty for runs written before the epoch tables existed.
    """

    summary: pd.DataFrame
    links: pd.DataFrame
    hist: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    epochs: pd.DataFrame = field(default_factory=lambda: empty_table(EPOCHS_SCHEMA))
    epoch_links: pd.DataFrame = field(default_factory=lambda: empty_table(EPOCH_LINKS_SCHEMA))
    #: the per-packet table of a run written with it (``run --packets``), else None
    packets: pd.DataFrame | None = None


def read_parquet_kwargs(table: str = "summary") -> dict[str, Any]:
    """Keyword arguments of ``pd.read_parquet(folder, ...)`` that read only ``table``.

    They make pyarrow skip the other tables' files, manifests and hidden temporary files
    of a run or sweep folder.
    """
    files = {**TABLE_FILES, "packets": PACKETS_FILE}
    if table not in files:
        raise VidnetError(f"unknown table {table!r}: expected one of {', '.join(files)}")
    others = [name for key, name in files.items() if key != table]
    return {"ignore_prefixes": [".", "_", *others, MANIFEST_FILE]}


def versions() -> dict[str, str | None]:
    """Versions of vidnet-sim, its main dependencies and Python (``None``: not installed)."""
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


def run_files(
    tables: Tables, manifest: Mapping[str, Any], packets: pd.DataFrame | None = None
) -> dict[str, bytes]:
    """The bytes of each file of a run folder: its five tables, the per-packet table when
    given (in row groups of :data:`PACKETS_ROW_GROUP` rows) and ``manifest.json``.

    ``versions`` and ``created`` (UTC, ISO 8601) are added to the manifest when missing,
    and ``tables`` (each table's file name) is set.
    """
    files: dict[str, bytes] = {}
    for name, schema in RUN_SCHEMAS.items():
        buf = io.BytesIO()
        conform(getattr(tables, name), schema).to_parquet(
            buf, engine="pyarrow", schema=schema, index=False
        )
        files[TABLE_FILES[name]] = buf.getvalue()
    full = dict(manifest)
    full["tables"] = dict(TABLE_FILES)
    if packets is not None:
        buf = io.BytesIO()
        conform(packets, PACKETS_SCHEMA).to_parquet(
            buf,
            engine="pyarrow",
            schema=PACKETS_SCHEMA,
            index=False,
            row_group_size=PACKETS_ROW_GROUP,
        )
        files[PACKETS_FILE] = buf.getvalue()
        full["tables"]["packets"] = PACKETS_FILE
    full.setdefault("versions", versions())
    full.setdefault("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    text = json.dumps(to_jsonable(full), indent=2, allow_nan=False) + "\n"
    files[MANIFEST_FILE] = text.encode("utf-8")
    return files


def write_run_files(out_dir: str | os.PathLike[str], files: Mapping[str, bytes]) -> Path:
    """Write the files of a run folder (:func:`run_files`) into ``out_dir`` (created if
    needed): each atomically, the manifest last. Returns the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if name != MANIFEST_FILE:
            atomic_write(out / name, data)
    atomic_write(out / MANIFEST_FILE, files[MANIFEST_FILE])
    return out


def write_results(
    out_dir: str | os.PathLike[str],
    tables: Tables,
    manifest: Mapping[str, Any],
    packets: pd.DataFrame | None = None,
) -> Path:
    """Write ``tables`` (and the per-packet table ``packets``, if any) and ``manifest`` into
    the run folder ``out_dir`` (created if needed).

    Each file is replaced atomically; the manifest goes last (see :func:`run_files` for
    what is added to it). Returns the folder.
    """
    return write_run_files(out_dir, run_files(tables, manifest, packets))


def is_run(folder: Path) -> bool:
    return (folder / TABLE_FILES["summary"]).is_file()


def _incomplete(folder: Path, missing: list[str]) -> ResultsNotFoundError:
    return ResultsNotFoundError(
        f"incomplete run folder {folder}: missing {', '.join(missing)} "
        "(was the run interrupted? run it again or remove the folder)"
    )


def read_run(folder: Path) -> Results:
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
    packets = None
    if isinstance(listed, dict) and "packets" in listed:
        if not (folder / PACKETS_FILE).is_file():
            raise _incomplete(folder, [PACKETS_FILE])
        packets = conform(pd.read_parquet(folder / PACKETS_FILE, engine="pyarrow"), PACKETS_SCHEMA)
    return Results(**tables, manifest=manifest, packets=packets)


def read_json_object(path: Path, error: type[VidnetError] = VidnetError) -> dict[str, Any]:
    """The JSON object in ``path``; ``error`` (a message naming the file) if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise error(f"cannot read {path}: {e}") from e
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data
