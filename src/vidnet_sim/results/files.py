"""The single files an analysis writes beside its runs (tables, JSON, images, reports): each
written in one step, a place that cannot take it said in one line.

:func:`write_file` writes through :func:`~vidnet_sim.results.atomic.atomic_write`: a reader,
or a command stopped midway (Ctrl-C, a full disk), leaves the previous file or the whole new
one, never a part; a file that cannot be written (a read-only folder, a folder of its name)
is a :class:`~vidnet_sim.results.store.ResultsFolderError` naming it and why (the command's
exit code 2), not an ``OSError``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from vidnet_sim.results.atomic import atomic_write
from vidnet_sim.results.store import ResultsFolderError

__all__ = ["in_the_way", "parquet_bytes", "write_file"]


def write_file(path: str | os.PathLike[str], data: bytes | str, *, sync: bool = True) -> Path:
    """Write ``data`` (text in UTF-8) to ``path`` in one step, its folder made if need be;
    returns the path. ``sync``: flushed to disk before it takes the name (see
    :func:`~vidnet_sim.results.atomic.atomic_write`; off only for files whose reader checks
    them and can make them again). Raises :class:`ResultsFolderError` when it cannot be
    written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data.encode("utf-8") if isinstance(data, str) else data, sync=sync)
    except OSError as exc:
        if path.is_dir():
            raise ResultsFolderError(in_the_way(path)) from None
        raise ResultsFolderError(
            f"cannot write {path}: {exc.strerror or exc}; name a folder you may write to"
        ) from None
    return path


def in_the_way(path: Path) -> str:
    """What is said when a folder takes the name of the file ``path``."""
    return f"cannot write {path}: a folder of that name is in the way; remove or rename it"


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """``df`` as a Parquet file's bytes (pyarrow, without the index)."""
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()
