"""The folder an analysis (``curve``, ``capacity``, ``size``, ``whatif``) writes its results
and its run store into, checked before anything runs.

A folder holding another kind of result (a run, a sweep, another analysis) is refused: the
analysis's files would replace some of its files (``manifest.json``, ``report.html``) or be
mixed with them. A file the analysis writes whose name a folder takes (or its run store,
``runs/``, whose name a file takes) is said at once, not after the search. Each refusal is a
:class:`~vidnet_sim.results.store.ResultsFolderError` (the command's exit code 2).
"""

from __future__ import annotations

import os
from pathlib import Path

from vidnet_sim.results.files import in_the_way
from vidnet_sim.results.store import TABLE_FILES, ResultsFolderError
from vidnet_sim.results.sweep_folder import LOGS_DIR, SWEEP_FILE

__all__ = ["FILES", "KINDS", "RUN_STORE", "check_out_folder"]

#: The run store of an analysis folder: each run's tables, reused by the next job.
RUN_STORE = "runs"

#: The files each analysis writes into its folder (beside ``runs/`` and ``_logs/``).
FILES: dict[str, tuple[str, ...]] = {
    "curve": (
        "curve.parquet",
        "estimates.parquet",
        "runs.parquet",
        "manifest.json",
        "curve.png",
        "report.json",
        "report.html",
    ),
    "capacity": ("capacity.parquet", "capacity.json", "report.json", "report.html"),
    "size": (
        "size.parquet",
        "size_years.parquet",
        "size_margins.parquet",
        "size_trials.parquet",
        "size.json",
        "size.png",
        "report.md",
        "report.json",
        "report.html",
    ),
    "whatif": ("whatif.parquet", "whatif.json"),
    "variant": ("scenario.toml",),  # a what-if variant's folder (and a sizing's files)
}

#: Each kind of results folder: what it is called and the file that tells it.
KINDS: dict[str, tuple[str, str]] = {
    "run": ("a run", TABLE_FILES["summary"]),
    "sweep": ("a sweep", SWEEP_FILE),
    "curve": ("a curve", "curve.parquet"),
    "capacity": ("a capacity search", "capacity.json"),
    "size": ("a sizing", "size.json"),
    "whatif": ("what-ifs", "whatif.json"),
}

#: What each analysis is called in a message.
_NAMES = {
    "curve": "the curve",
    "capacity": "the capacity search",
    "size": "the sizing",
    "whatif": "the what-ifs",
    "variant": "the variant's sizing",
}

#: The kinds of folder each analysis may write into again (its own).
_OWN = {"variant": ("size",)}


def check_out_folder(folder: str | os.PathLike[str], kind: str) -> None:
    """Raise :class:`ResultsFolderError` unless the analysis ``kind`` (a key of
    :data:`FILES`) may write into ``folder``: it is new, empty, or holds that analysis's
    results (or other files, left alone), not another kind's; and no file it writes, nor its
    run store, has its name taken by an entry of another type. Reads only names."""
    folder = Path(folder)
    try:
        if not folder.is_dir():
            if folder.exists() or folder.is_symlink():
                raise ResultsFolderError(
                    f"cannot write {folder}: a file of that name is in the way; remove or rename it"
                )
            return  # new (check_writable said whether it can be made)
        own = _OWN.get(kind, (kind,))
        for other, (what, mark) in KINDS.items():
            if other not in own and (folder / mark).is_file():
                raise ResultsFolderError(_clash(folder, kind, what, mark))
        files = FILES[kind] + (FILES["size"] if kind == "variant" else ())
        for name in files:
            if (folder / name).is_dir():
                raise ResultsFolderError(in_the_way(folder / name))
        for name in (RUN_STORE, LOGS_DIR):
            path = folder / name
            if (path.exists() or path.is_symlink()) and not path.is_dir():
                raise ResultsFolderError(
                    f"cannot write {path}: a file of that name is in the way (the folder of "
                    f"the {'stored runs' if name == RUN_STORE else 'workers logs'}); remove "
                    "or rename it"
                )
    except OSError as exc:  # a loop of links, a folder that cannot be read
        raise ResultsFolderError(
            f"cannot write results to {folder}: {exc.strerror or exc}; name a folder you may "
            "write to"
        ) from None


def _clash(folder: Path, kind: str, what: str, mark: str) -> str:
    """Why ``kind`` may not write into ``folder``, which holds ``what`` (told by ``mark``)."""
    name = _NAMES[kind]
    ours = FILES[kind] + (FILES["size"] if kind == "variant" else ())
    shared = [n for n in ours if (folder / n).is_file()]
    if shared:
        why = f"it holds {what}, whose {', '.join(shared)} {name}'s would replace"
    else:
        why = f"it holds {what} ({mark}), and {name}'s files would be written among its"
    return f"cannot write {name} to {folder}: {why}; name another folder"
