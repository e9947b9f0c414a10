"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

The data goes to a hidden temporary name in the target's folder
(``.<name>.<pid>.<random>.tmp``), is flushed to disk, then renamed over the target (atomic
on POSIX and Windows). A writer killed midway leaves only its temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["atomic_write"]


def atomic_write(path: Path, data: bytes | Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a hidden temporary file in its folder, then rename it.

    ``data`` is the file's bytes, or a function that writes them to the open file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                data(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
