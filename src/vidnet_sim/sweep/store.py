"""Writing a sweep folder: one ordinary run folder per point, written atomically.

The layout, and how it is read back, is described in :mod:`vidnet_sim.results.sweep_folder`.
A point's run folder is what ``vidnet-sim run`` writes
(:func:`~vidnet_sim.results.store.run_files`), its manifest holding the point (id, index,
replication, seed, parameters) too.
A point's folder is replaced whole, in one step
(:func:`~vidnet_sim.results.store.write_run_files`), the sweep's own files with
:func:`~vidnet_sim.results.atomic.atomic_write`: a reader never sees a partial file or
folder, and a point whose manifest is missing is simply not done (its folder is replaced
when it runs again).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidnet_sim.results.atomic import atomic_write
from vidnet_sim.results.schema import Tables
from vidnet_sim.results.store import (
    MANIFEST_FILE,
    check_writable,
    run_files,
    to_jsonable,
    versions,
    write_run_files,
)
from vidnet_sim.results.sweep_folder import (
    FAILED_DIR,
    LOGS_DIR,
    SWEEP_FILE,
    SweepFolder,
    SweepFolderError,
    is_sweep_dir,
    read_sweep,
)
from vidnet_sim.sweep.plan import SCHEME, Point, Sweep

__all__ = [
    "SWEEP_FILE",
    "SweepFolderError",
    "SweepStatus",
    "SweepStore",
    "is_sweep_dir",
    "point_files",
    "read_sweep",
]

#: The name of a point's folder: its design hash and its replication.
_POINT_ID = re.compile(r"[0-9a-f]{16}-[0-9]+")
#: Temporary files older than this are leftovers of killed writers.
STALE_TEMP_SECONDS = 600.0


# --------------------------------------------------------------------------- files of a point
def point_files(point: Point, tables: Tables, manifest: Mapping[str, Any]) -> dict[str, bytes]:
    """The files of ``point``'s run folder (file name -> bytes): its tables, and the run's
    manifest with the point added."""
    record = {
        "point_id": point.point_id,
        "index": point.index,
        "replication": point.replication,
        "seed": point.seed,
        "params": point.params,
    }
    return run_files(tables, {**manifest, "point": record})


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
    #: hidden temporary files and point folders (leftovers of killed writers, or writes in
    #: progress)
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
        of the model, or that holds something other than a sweep (a run, a curve, other
        files: the points would be written among them), or whose folder of failed points
        or of logs is a file."""
        for name, what in ((FAILED_DIR, "failed points"), (LOGS_DIR, "workers' logs")):
            path = self.root / name
            if (path.exists() or path.is_symlink()) and not path.is_dir():
                raise SweepFolderError(
                    f"cannot write the sweep to {self.root}: {path} is a file, not the folder "
                    f"of the {what}; remove or rename it"
                )
        meta = self.read_meta()
        if meta is None:
            self._check_no_other_files()
            return
        theirs = meta.get("fingerprint")
        if theirs != sweep.fingerprint:
            raise SweepFolderError(
                f"{self.root} holds a sweep of another base scenario, root seed, seed "
                f"scheme or build of the model (vidnet-sim's version or its model code; "
                f"fingerprint {theirs}, this sweep {sweep.fingerprint}); its points "
                "would not be comparable: choose another --out folder, or delete that one"
            )

    def _check_no_other_files(self) -> None:
        """Raise :class:`SweepFolderError` when the folder (which has no ``_sweep.json``)
        exists and is not a new sweep's: it is a file, or holds names a sweep does not
        write (only ``_failed``, ``_logs``, point folders and hidden files are a sweep's
        before its ``_sweep.json`` is written)."""
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return
        except OSError as exc:  # a file, a path through a file, a folder that cannot be read
            check_writable(self.root, self.root)  # (its one line, if that is the reason)
            raise SweepFolderError(
                f"cannot write the sweep to {self.root}: {exc.strerror or exc}"
            ) from None
        others = [
            n
            for n in names
            if n not in (FAILED_DIR, LOGS_DIR)
            and not n.startswith(".")
            and not (_POINT_ID.fullmatch(n) and (self.root / n).is_dir())
        ]
        if not others:
            return
        if MANIFEST_FILE in others:  # a run's, a curve's or a search's folder
            held = f"results ({MANIFEST_FILE})"
        else:
            held = ", ".join(others[:5]) + (
                f" and {len(others) - 5} more" if len(others) > 5 else ""
            )
            held += ", which are not a sweep's"
        raise SweepFolderError(
            f"cannot write the sweep to {self.root}: it holds {held}, and the sweep's points "
            "would be written among them; name an empty or new folder (or a previous sweep's)"
        )

    def write_meta(self, sweep: Sweep, *, only_if_missing: bool = False) -> None:
        """Create the folders and write ``_sweep.json`` (atomically)."""
        (self.root / FAILED_DIR).mkdir(parents=True, exist_ok=True)
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
        """Write a point's run folder (the manifest last: the completion marker)."""
        write_run_files(self.point_dir(point_id), files)
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
        for folder in (self.root, self.root / FAILED_DIR, *self.point_dirs()):
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
                    if p.is_dir():  # a point's folder being written
                        shutil.rmtree(p)
                    else:
                        p.unlink()
                    removed += 1
        return removed

    def status(self, sweep: Sweep) -> SweepStatus:
        """Done, failed and missing points of ``sweep`` in this folder (a point whose files
        were damaged since it was written is missing: it runs again). Files are checked by
        their sizes and times, not hashed (:func:`~vidnet_sim.results.store.run_looks_intact`):
        a resume hashes them."""
        done = self.intact_done_ids(hashed=False)
        failed = self.failed_ids()
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
