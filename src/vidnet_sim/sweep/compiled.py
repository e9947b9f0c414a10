"""A design's compiled network, handed from the sweep's up-front check to the point it was
compiled for.

Before any point runs, a sweep compiles one point of each design to be run
(:func:`~vidnet_sim.sweep.plan.design_problems`: what ``run`` would refuse), in this process
or on the executor's workers. A network is compiled for one seed (the sources' keys and
phases come from it), so what the check compiled is that point's own: :func:`keep` leaves it
in a hidden folder of the sweep folder (``.compiled.<pid>.<random>.tmp/<point_id>.pickle``,
written whole under a temporary name, then renamed), and the point, on whichever local
worker it runs, :func:`take`\\ s it (read, then removed) instead of compiling it again. The
folder goes when the sweep ends (a killed sweep's is removed by a later one, with the other
stale temporary files); a file that is missing or cannot be read is compiled again, as
without it. The check keeps about a gigabyte of them at most
(:data:`~vidnet_sim.sweep.execute.KEEP_COMPILED_BYTES`): the points of the designs beyond
compile their own. Only for executors whose tasks see this process's files (local
processes, this process): a Dask worker's point compiles its own.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import secrets
import shutil
from pathlib import Path

from vidnet_sim.results.atomic import atomic_write
from vidnet_sim.runner import CompiledScenario

__all__ = ["folder", "keep", "kept_bytes", "remove_folder", "take"]


def folder(root: Path) -> Path:
    """A new name, in the sweep folder ``root``, for this process's compiled designs (a
    hidden name ending in ``.tmp``: a stale one is removed like the other leftovers; made
    by the first design kept)."""
    return root / f".compiled.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _file(folder: str | Path, point_id: str) -> Path:
    return Path(folder) / f"{point_id}.pickle"


def keep(folder: str | Path, point_id: str, compiled: CompiledScenario) -> None:
    """Leave ``compiled`` (the network of point ``point_id``) in ``folder`` (made if need
    be) for the point; best effort: a place that cannot take it keeps nothing."""
    data = pickle.dumps(compiled, protocol=pickle.HIGHEST_PROTOCOL)
    with contextlib.suppress(OSError):
        Path(folder).mkdir(parents=True, exist_ok=True)
        atomic_write(_file(folder, point_id), data, sync=False)


def kept_bytes(folder: str | Path, point_id: str) -> int:
    """The size of what :func:`keep` left in ``folder`` for point ``point_id`` (0: none)."""
    try:
        return _file(folder, point_id).stat().st_size
    except OSError:
        return 0


def take(folder: str | Path, point_id: str) -> CompiledScenario | None:
    """The compiled network :func:`keep` left in ``folder`` for point ``point_id`` (the file
    removed), or ``None``: none there, or not readable."""
    path = _file(folder, point_id)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):
        path.unlink()
    try:
        compiled = pickle.loads(data)  # written by this sweep's own check
    except Exception:  # cut short (a worker killed while writing it): compiled again
        return None
    return compiled if isinstance(compiled, CompiledScenario) else None


def remove_folder(folder: Path) -> None:
    """Remove ``folder`` and what is left in it (designs whose point did not run)."""
    shutil.rmtree(folder, ignore_errors=True)
