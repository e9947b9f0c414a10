"""Runs on disk: one folder per run, six Parquet tables and a JSON manifest.

A run folder holds ``summary.parquet``, ``links.parquet``, ``hist.parquet``,
``epochs.parquet``, ``epoch_links.parquet`` (each with its explicit schema from
:mod:`vidnet_sim.results.schema`) and ``manifest.json``, whose ``"tables"`` maps each table
to its file and ``"sha256"`` each file to the SHA-256 of its bytes. A run is written whole
into a hidden sibling folder, then put in the place of the previous one in one step
(:func:`~vidnet_sim.results.atomic.replace_folder`): a reader sees the previous run or the
new one, never a mix, and writers of one folder replace it one after the other. Reading
checks every table against its hash, so a folder whose files come from different runs is
refused. Only a folder that is empty or holds a run's files is replaced: any other is
refused (:class:`ResultsFolderError`). (Folders written before the epoch tables existed
have no ``"tables"`` entry: their epoch tables read as empty.)

Reading:

- :func:`~vidnet_sim.results.read.read_results` reads a run folder, a folder of runs (its
  direct sub-folders that hold runs), adding a ``run`` column (the sub-folder name, less a
  ``run=`` prefix) to every table, or a sweep folder written by ``vidnet-sim sweep``
  (:mod:`vidnet_sim.results.sweep_folder`: one file per point and table).
- With pandas alone, ``pd.read_parquet(run / "summary.parquet")`` reads one table of one
  run. ``pd.read_parquet(folder)`` on a run folder or a folder of runs fails, because the folder
  mixes six tables and a JSON file; ``pd.read_parquet(folder,
  **read_parquet_kwargs("summary"))`` reads the summary of that run, or of every run in
  the folder (at any depth, without a ``run`` column unless the run folders are named
  ``run=<name>``, which pyarrow reads as a hive partition).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import math
import os
import platform
import re
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vidnet_sim.errors import VidnetError
from vidnet_sim.results.atomic import StagingFolder, replace_folder
from vidnet_sim.results.latency_parts import LATENCY_PARTS_SCHEMA
from vidnet_sim.results.packet_hops import PACKET_HOPS_SCHEMA
from vidnet_sim.results.packets import PACKETS_ROW_GROUP, PACKETS_SCHEMA, packets_frame
from vidnet_sim.results.schema import (
    EPOCH_LINKS_SCHEMA,
    EPOCHS_SCHEMA,
    QUEUES_SCHEMA,
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
#: File of the optional per-hop table (``run --hops``; listed in the manifest).
PACKET_HOPS_FILE = "packet_hops.parquet"
#: The per-packet tables a run streams into its folder as it goes, by table name.
STREAMED_FILES: dict[str, str] = {"packets": PACKETS_FILE, "packet_hops": PACKET_HOPS_FILE}
#: File of the optional ``latency_parts`` table (``run --explain``; listed in the manifest).
LATENCY_PARTS_FILE = "latency_parts.parquet"
#: The tables of folders written before the manifest listed its tables.
_LEGACY_TABLES: tuple[str, ...] = tuple(SCHEMAS)
MANIFEST_FILE = "manifest.json"
RUN_FILES: tuple[str, ...] = (*TABLE_FILES.values(), MANIFEST_FILE)
#: Folder under which runs go when no results folder is named.
DEFAULT_RESULTS_DIR = Path("results")


class ResultsNotFoundError(VidnetError, FileNotFoundError):
    """No (complete) results where some were expected."""


class ResultsFolderError(VidnetError):
    """A results folder that cannot be written: it holds something other than a run."""


_UNSAFE = re.compile(r"[^\w.-]+")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10))}
_RESERVED |= {f"LPT{i}" for i in range(10)}


def safe_name(name: str, default: str = "scenario") -> str:
    """``name`` made a plain file name: each run of characters other than letters, digits,
    ``_``, ``.`` and ``-`` becomes ``-``, leading and trailing ``.``, ``-`` and ``_`` go, at
    most 100 characters; ``default`` when nothing is left. A name such as ``../../x`` or
    ``/etc/x`` can thus never point outside the folder it is joined to."""
    out = _UNSAFE.sub("-", name).strip(".-_")[:100].rstrip(".-_")
    if not out:
        return default
    if out.split(".")[0].upper() in _RESERVED:  # names Windows keeps for devices
        out = f"{out}_"
    return out


def default_run_dir(name: str | None, suffix: str = "") -> Path:
    """The results folder of a run when none is named: ``results/<name><suffix>``, with the
    scenario's name made a safe file name (:func:`safe_name`)."""
    return DEFAULT_RESULTS_DIR / (safe_name(str(name or "")) + suffix)


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
    #: one row per queue of each scheduled link (empty for runs written before it existed)
    queues: pd.DataFrame = field(default_factory=lambda: empty_table(QUEUES_SCHEMA))
    #: where latency comes from, of a run written with it (``run --explain``), else None
    latency_parts: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self._streamed_folder: Path | None = None  # where the streamed tables are read from
        self._streamed: dict[str, pd.DataFrame] = {}

    @property
    def packets(self) -> pd.DataFrame | None:
        """The per-packet table of a run written with it (``run --packets``), else None: read
        from the run folder (checked against the manifest's hash) the first time it is asked
        for, as it may be large."""
        return self._streamed_table("packets")

    @property
    def packet_hops(self) -> pd.DataFrame | None:
        """The per-hop table of a run written with it (``run --hops``), else None; read like
        :attr:`packets`."""
        return self._streamed_table("packet_hops")

    def _streamed_table(self, name: str) -> pd.DataFrame | None:
        listed = self.manifest.get("tables")
        if self._streamed_folder is None or not isinstance(listed, dict) or name not in listed:
            return None
        if name not in self._streamed:
            self._streamed[name] = _read_streamed(self._streamed_folder, self.manifest, name)
        return self._streamed[name]


def read_parquet_kwargs(table: str = "summary") -> dict[str, Any]:
    """Keyword arguments of ``pd.read_parquet(folder, ...)`` that read only ``table``.

    They make pyarrow skip the other tables' files, manifests and hidden temporary files
    of a run or sweep folder.
    """
    files = {**TABLE_FILES, **STREAMED_FILES, "latency_parts": LATENCY_PARTS_FILE}
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


def json_text(doc: object) -> str:
    """``doc`` as strict JSON for people and programs (:func:`to_jsonable`: NaN, inf and NA
    as ``null``, never the ``NaN`` or ``Infinity`` that strict parsers such as ``jq``
    refuse), indented by two."""
    return json.dumps(to_jsonable(doc), indent=2, allow_nan=False)


def run_files(
    tables: Tables,
    manifest: Mapping[str, Any],
    packets: pd.DataFrame | None = None,
    latency_parts: pd.DataFrame | None = None,
    *,
    streamed: Mapping[str, tuple[str, int]] | None = None,
) -> dict[str, bytes]:
    """The bytes of each file of a run folder: its six tables, the per-packet table when
    given (in row groups of :data:`~vidnet_sim.results.packets.PACKETS_ROW_GROUP` rows), the
    ``latency_parts`` table when given and ``manifest.json``.

    ``versions`` and ``created`` (UTC, ISO 8601) are added to the manifest when missing,
    ``tables`` (each table's file name), ``sha256`` (each table file's hash) and ``bytes``
    (each table file's size) are set. ``streamed``: the hash and size of each per-packet
    table written to the folder apart (streamed as the run went, :data:`STREAMED_FILES`), by
    table name, listed with the others.
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
    if latency_parts is not None:
        buf = io.BytesIO()
        conform(latency_parts, LATENCY_PARTS_SCHEMA).to_parquet(
            buf, engine="pyarrow", schema=LATENCY_PARTS_SCHEMA, index=False
        )
        files[LATENCY_PARTS_FILE] = buf.getvalue()
        full["tables"]["latency_parts"] = LATENCY_PARTS_FILE
    full["sha256"] = {f: hashlib.sha256(data).hexdigest() for f, data in files.items()}
    full["bytes"] = {f: len(data) for f, data in files.items()}
    for name, (sha, size) in (streamed or {}).items():
        if name not in full["tables"]:
            full["tables"][name] = STREAMED_FILES[name]
            full["sha256"][STREAMED_FILES[name]] = sha
            full["bytes"][STREAMED_FILES[name]] = size
    full.setdefault("versions", versions())
    full.setdefault("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    text = json.dumps(to_jsonable(full), indent=2, allow_nan=False) + "\n"
    files[MANIFEST_FILE] = text.encode("utf-8")
    return files


def write_run_files(
    out_dir: str | os.PathLike[str],
    files: Mapping[str, bytes],
    staging: StagingFolder | None = None,
) -> Path:
    """Make ``out_dir`` a run folder holding ``files`` (:func:`run_files`), replacing the
    run there in one step (:func:`~vidnet_sim.results.atomic.replace_folder`); with
    ``staging`` (a :class:`~vidnet_sim.results.atomic.StagingFolder` for ``out_dir``
    already holding some of the run's files), written into it, which then takes the place.

    Raises :class:`ResultsFolderError` if ``out_dir`` holds anything but a run's files.
    Returns the folder.
    """
    ordered = {n: d for n, d in files.items() if n != MANIFEST_FILE}
    ordered[MANIFEST_FILE] = files[MANIFEST_FILE]
    if staging is None:
        return replace_folder(Path(out_dir), ordered, check=check_run_folder)
    for name, data in ordered.items():
        staging.write(name, data)
    return staging.commit(check_run_folder)


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file ``path``, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def check_run_folder(folder: str | os.PathLike[str]) -> None:
    """Raise :class:`ResultsFolderError` unless a run may be written to ``folder``: it does
    not exist yet, or is a folder holding only a run's files (or nothing), and it is not
    the current folder (a run replaces its whole folder)."""
    folder = Path(folder)
    try:
        _check_run_folder(folder)
    except OSError as exc:  # a name too long, a loop of links, a folder that cannot be read
        raise _unusable(folder, exc) from None


def _unusable(folder: Path, exc: OSError) -> ResultsFolderError:
    return ResultsFolderError(
        f"cannot write results to {folder}: {exc.strerror or exc}; name a folder you may write to"
    )


def _check_run_folder(folder: Path) -> None:
    if not (folder.exists() or folder.is_symlink()):
        return
    if not folder.is_dir():
        raise ResultsFolderError(f"cannot write results to {folder}: it is not a folder")
    others = sorted(
        n
        for n in os.listdir(folder)
        if n not in (*RUN_FILES, *STREAMED_FILES.values(), LATENCY_PARTS_FILE)
        and not (n.startswith(".") and n.endswith(".tmp"))
    )
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise ResultsFolderError(
            f"cannot write results to {folder}: it holds {shown}, which are not a run's "
            "results, and writing a run replaces the whole folder; name an empty or new "
            "folder (or a previous run's)"
        )
    if folder.resolve() == Path.cwd():  # (a folder holding it holds another folder)
        raise ResultsFolderError(
            f"cannot write results to {folder}: it is the current folder, and writing a run "
            "replaces the whole folder; name a new folder, e.g. --out results/run1"
        )


def check_writable(folder: str | os.PathLike[str], results: str | os.PathLike[str]) -> None:
    """Raise :class:`ResultsFolderError` unless files can be created in ``folder`` (made
    with its missing parents if need be): its nearest existing ancestor, or itself, must be
    a folder that takes a new entry, probed with a hidden empty folder removed at once.
    ``results`` is the folder named by the user, for the message. Called before anything
    is simulated, so that a read-only or mistyped place fails at once, not after the run."""
    folder = Path(folder)
    place = folder
    try:
        while not (place.exists() or place.is_symlink()) and place.parent != place:
            place = place.parent
    except OSError as exc:  # a name too long, a loop of links
        raise _unusable(Path(results), exc) from None
    if not place.is_dir():
        what = (
            "a symbolic link that leads nowhere (a loop of links, or its target missing)"
            if place.is_symlink() and not place.exists()
            else "a file, not a folder"
        )
        raise ResultsFolderError(f"cannot write results to {results}: {place} is {what}")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".vidnet-sim-", suffix=".probe", dir=place))
    except OSError as exc:
        raise ResultsFolderError(
            f"cannot write results to {results}: nothing can be created in {place} "
            f"({exc.strerror or exc}); name a folder you may write to"
        ) from None


def write_results(
    out_dir: str | os.PathLike[str],
    tables: Tables,
    manifest: Mapping[str, Any],
    packets: pd.DataFrame | None = None,
    latency_parts: pd.DataFrame | None = None,
    *,
    staging: StagingFolder | None = None,
) -> Path:
    """Write ``tables`` (and the per-packet table ``packets`` and the ``latency_parts``
    table, if given) and ``manifest`` into the run folder ``out_dir`` (created if needed).

    The previous run there is replaced in one step (:func:`write_run_files`; see
    :func:`run_files` for what is added to the manifest). With ``staging``, the run's
    :class:`~vidnet_sim.results.atomic.StagingFolder`, its files are written there; the
    per-packet tables streamed into it (:data:`STREAMED_FILES`) are listed in the manifest
    with their hashes. Returns the folder.
    """
    streamed = {}
    for name, file in STREAMED_FILES.items():
        if staging is not None and staging.file(file).is_file():
            if name == "packets" and packets is not None:
                continue
            staging.sync(file)
            path = staging.file(file)
            streamed[name] = (file_sha256(path), path.stat().st_size)
    files = run_files(tables, manifest, packets, latency_parts, streamed=streamed)
    return write_run_files(out_dir, files, staging)


def is_run(folder: Path) -> bool:
    return (folder / TABLE_FILES["summary"]).is_file()


#: How long a reader waits for a folder a writer moved aside to be moved in again.
_ASIDE_WAIT_S = 0.01


def _incomplete(folder: Path, missing: list[str]) -> ResultsNotFoundError:
    return ResultsNotFoundError(
        f"incomplete run folder {folder}: missing {', '.join(missing)} "
        "(was the run interrupted? run it again or remove the folder)"
    )


def read_run(folder: Path) -> Results:
    """Read one run folder, checking its tables against the manifest's hashes.

    A folder replaced while it is read (its manifest changed meanwhile, or the folder moved
    aside by the writer for the moment of the exchange) is read again, up to three times; a
    folder still being replaced then is refused as such, not as an interrupted run.
    """
    for attempt in range(3):
        before = _manifest_id(folder)
        try:
            return _read_run(folder)
        except (ResultsNotFoundError, FileNotFoundError):
            if not folder.is_dir():  # moved aside by a writer replacing it: moved in soon
                if attempt == 2:
                    raise ResultsNotFoundError(
                        f"no results at {folder}: no such folder (another process was "
                        "replacing it while it was read; read it again when that writer is done)"
                    ) from None
                time.sleep(_ASIDE_WAIT_S)
                continue
            if _manifest_id(folder) == before:
                raise
            if attempt == 2:
                raise ResultsNotFoundError(
                    f"inconsistent run folder {folder}: another process replaced it while it "
                    "was read, three times in a row; read it again when that writer is done"
                ) from None
    raise AssertionError("unreachable")


def run_intact(folder: Path) -> bool:
    """Whether run ``folder`` has a manifest that reads as a JSON object and every file it
    lists a SHA-256 for, with that hash: a file damaged, truncated or lost since the run
    makes it not intact (a folder written before manifests held hashes is taken as is)."""
    try:
        manifest = read_json_object(folder / MANIFEST_FILE)
    except VidnetError:
        return False
    hashes = manifest.get("sha256")
    if not isinstance(hashes, dict):
        return True
    try:
        return all(file_sha256(folder / str(name)) == h for name, h in hashes.items())
    except OSError:
        return False


def run_looks_intact(folder: Path) -> bool:
    """:func:`run_intact` from the files' sizes and times, reading no table: the manifest
    reads as a JSON object, and every file it lists a hash for is there, of the size it
    lists (``bytes``; runs written before it was listed: any size) and not changed after
    the manifest was written (the manifest is written last; a file newer than it is hashed,
    as it may have been copied without its times). A file changed in place to the same size
    with its time set back is not seen: :func:`run_intact` sees it."""
    try:
        written = os.stat(folder / MANIFEST_FILE).st_mtime_ns
        manifest = read_json_object(folder / MANIFEST_FILE)
    except (OSError, VidnetError):
        return False
    hashes = manifest.get("sha256")
    if not isinstance(hashes, dict):
        return True
    sizes = manifest.get("bytes")
    sizes = sizes if isinstance(sizes, dict) else {}
    newer = False
    for name in hashes:
        try:
            st = os.stat(folder / str(name))
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or sizes.get(name, st.st_size) != st.st_size:
            return False
        newer |= st.st_mtime_ns > written
    return run_intact(folder) if newer else True


def _manifest_id(folder: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(folder / MANIFEST_FILE)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns)


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
    hashes = manifest.get("sha256")
    tables = {
        name: conform(_read_table(folder, TABLE_FILES[name], hashes), schema)
        if name in names
        else empty_table(schema)
        for name, schema in RUN_SCHEMAS.items()
    }
    parts = None
    if isinstance(listed, dict) and "latency_parts" in listed:
        if not (folder / LATENCY_PARTS_FILE).is_file():
            raise _incomplete(folder, [LATENCY_PARTS_FILE])
        parts = conform(_read_table(folder, LATENCY_PARTS_FILE, hashes), LATENCY_PARTS_SCHEMA)
    res = Results(**tables, manifest=manifest, latency_parts=parts)
    if isinstance(listed, dict):
        streamed = [f for n, f in STREAMED_FILES.items() if n in listed]
        missing = [f for f in streamed if not (folder / f).is_file()]
        if missing:
            raise _incomplete(folder, missing)
        res._streamed_folder = folder
    return res


#: The schema of each table of :data:`STREAMED_FILES`.
_STREAMED_SCHEMAS: dict[str, pa.Schema] = {
    "packets": PACKETS_SCHEMA,
    "packet_hops": PACKET_HOPS_SCHEMA,
}


def _read_streamed(folder: Path, manifest: Mapping[str, Any], name: str) -> pd.DataFrame:
    """The streamed table ``name`` (``packets`` or ``packet_hops``) of the run folder
    ``folder`` (``manifest`` its manifest, as read with the other tables): a folder
    replaced since is refused by the hash check."""
    file = STREAMED_FILES[name]
    if not (folder / file).is_file():
        raise _incomplete(folder, [file])
    table = _read_table(folder, file, manifest.get("sha256"))
    return packets_frame(table, _STREAMED_SCHEMAS[name])


def _read_table(folder: Path, file: str, hashes: object) -> pd.DataFrame:
    """A table of a run folder, checked against its hash in the manifest (if it has one)."""
    data = (folder / file).read_bytes()
    if isinstance(hashes, dict) and hashes.get(file) != hashlib.sha256(data).hexdigest():
        raise ResultsNotFoundError(
            f"inconsistent run folder {folder}: {file} is not the file its manifest lists "
            "(its SHA-256 differs: written by another run, or damaged); run it again"
        )
    return pd.read_parquet(io.BytesIO(data), engine="pyarrow")


def read_json_object(path: Path, error: type[VidnetError] = VidnetError) -> dict[str, Any]:
    """The JSON object in ``path``; ``error`` (a message naming the file) if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise error(f"cannot read {path}: {e}") from e
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data
