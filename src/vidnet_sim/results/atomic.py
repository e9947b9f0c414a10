"""Atomic writes: a reader sees the old file (or folder) or the whole new one, never a part.

A file is written to a hidden temporary name in the target's folder
(``.<name>.<pid>.<random>.tmp``), flushed to disk, then renamed over the target (atomic on
POSIX and Windows). A writer killed midway leaves only its temporary file behind.

A folder (:func:`replace_folder`) is written whole into a hidden sibling
``.<name>.<pid>.<random>.tmp/``, flushed, then put in the target's place in one step: a
rename when there is no target yet, else an atomic exchange of the two folders (Linux
``renameat2(RENAME_EXCHANGE)``), the old one then removed. Where the exchange is not
supported, the old folder is first renamed aside (``.<name>.<pid>.<random>.old``) and the
new one renamed in; a writer killed between the two renames leaves no folder at the target
and the previous one aside, which :func:`recover_folder` (called by the next writer, and by
``read_results``) puts back. Writers of one folder take a lock (``fcntl.flock`` on a sibling
``.<name>.lock``, removed after) around the swap, so they replace it one after the other.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO

if sys.platform != "win32":
    import fcntl

__all__ = ["StagingFolder", "atomic_write", "folder_lock", "recover_folder", "replace_folder"]

#: Temporary folders older than this are leftovers of killed writers.
STALE_SECONDS = 600.0

#: Called with a label at each step of a folder write (tests use it to kill a writer there).
on_step: Callable[[str], None] | None = None


def _step(label: str) -> None:
    if on_step is not None:
        on_step(label)


def _temp_name(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.{suffix}")


def atomic_write(
    path: Path, data: bytes | Callable[[IO[bytes]], None], *, sync: bool = True
) -> None:
    """Write ``path`` through a hidden temporary file in its folder, then rename it.

    ``data`` is the file's bytes, or a function that writes them to the open file. With
    ``sync`` (the default) the file is flushed to disk before the rename, so that a crash of
    the machine leaves the previous file or the whole new one; without, a crash may leave it
    empty or cut short (for files their reader checks and can make again: a run store).
    """
    tmp = _temp_name(path, "tmp")
    try:
        with open(tmp, "xb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                data(f)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class StagingFolder:
    """A folder being written in a hidden sibling of ``path``, then put in its place in one
    step (:meth:`commit`, see the module's description): a reader sees the previous folder
    or the whole new one. Files are added whole (:meth:`write`) or written in place by the
    caller (:meth:`file`, e.g. a table streamed as a run goes, then :meth:`sync`). Used as a
    context manager, the staging folder is removed on leaving (after a commit, it holds the
    previous folder, or is gone)."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        if path.is_symlink():  # replace the folder it points to, not the link
            path = Path(os.path.realpath(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.tmp = _temp_name(path, "tmp")
        os.mkdir(self.tmp)

    def __enter__(self) -> StagingFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def file(self, name: str) -> Path:
        """Where the file ``name`` goes in the staging folder."""
        return self.tmp / name

    def write(self, name: str, data: bytes) -> None:
        """Write the file ``name`` (flushed to disk)."""
        with open(self.file(name), "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _step(f"wrote {name}")

    def sync(self, name: str) -> None:
        """Flush the file ``name``, written by the caller, to disk."""
        with open(self.file(name), "rb") as f:
            os.fsync(f.fileno())
        _step(f"wrote {name}")

    def commit(self, check: Callable[[Path], None] | None = None) -> Path:
        """Put the staging folder in the place of ``path``; ``check(path)`` is called first,
        under the lock (it raises to refuse replacing what is there). Concurrent writers of
        one folder replace it one after the other. Returns ``path``."""
        _fsync_dir(self.tmp)
        with folder_lock(self.path):
            _step("locked")
            _recover(self.path)
            if check is not None:
                check(self.path)
            _swap(self.tmp, self.path)
            _fsync_dir(self.path.parent)
            _step("swapped")
        return self.path

    def discard(self) -> None:
        """Remove the staging folder (after an exchange, it holds the previous folder)."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def replace_folder(
    path: Path,
    files: Mapping[str, bytes],
    check: Callable[[Path], None] | None = None,
) -> Path:
    """Make ``path`` a folder holding exactly ``files`` (name -> bytes), in one step.

    The files are written (in their order) into a :class:`StagingFolder`, which then takes
    the place of ``path``; ``check(path)`` is called first, under the lock (it raises to
    refuse replacing what is there). Concurrent writers of one folder replace it one after
    the other. Returns ``path``.
    """
    with StagingFolder(path) as staging:
        for name, data in files.items():
            staging.write(name, data)
        return staging.commit(check)


def _swap(tmp: Path, path: Path) -> None:
    """Put the folder ``tmp`` in the place of ``path`` (the caller holds the lock)."""
    if not (path.exists() or path.is_symlink()):
        os.rename(tmp, path)
        return
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
    if _exchange(tmp, path):
        _step("exchanged")
        return
    aside = _temp_name(path, "old")
    os.rename(path, aside)
    _step("moved aside")
    os.rename(tmp, path)
    _step("moved in")
    shutil.rmtree(aside, ignore_errors=True)


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    if sys.platform != "linux":
        return None
    try:
        fn: Callable[..., int] = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without it
        return None
    return fn


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one step; ``False`` where that is not supported."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def folder_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder ``path`` (``fcntl.flock`` on the sibling file
    ``.<name>.lock``, removed on release). Without ``fcntl`` (Windows), or on a file system
    without locks, nothing is locked."""
    if sys.platform == "win32":
        yield
        return
    lock = path.with_name(f".{path.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no locks on this file system
            os.close(fd)
            yield
            return
        try:
            now = os.stat(lock)
        except FileNotFoundError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(fd)  # the previous holder removed that file: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def _leftovers(path: Path, suffix: str) -> list[Path]:
    """The temporary siblings of ``path`` ending in ``suffix``, oldest first."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.\d+\.[0-9a-f]{{12}}\.{suffix}")
    try:
        names = [n for n in os.listdir(path.parent) if pattern.fullmatch(n)]
    except FileNotFoundError:
        return []
    found = []
    for n in names:
        with contextlib.suppress(FileNotFoundError):
            found.append((os.stat(path.parent / n).st_mtime, path.parent / n))
    return [p for _, p in sorted(found)]


def _recover(path: Path) -> bool:
    """Under the lock: put back the folder a killed writer left aside (if ``path`` is
    missing), remove stale leftovers. Returns whether a folder was put back."""
    restored = False
    asides = _leftovers(path, "old")
    if asides and not (path.exists() or path.is_symlink()):
        os.rename(asides.pop(), path)
        restored = True
    for p in asides:  # a writer killed after moving the new folder in
        shutil.rmtree(p, ignore_errors=True)
    now = time.time()
    for p in _leftovers(path, "tmp"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(p)
    return restored


def recover_folder(path: Path) -> bool:
    """Put back the folder ``path`` if a writer killed mid-replacement left it aside.

    Returns whether it did; cheap when there is nothing to do.
    """
    path = Path(path)
    if path.exists() or not _leftovers(path, "old"):
        return False
    with folder_lock(path):
        return _recover(path)
