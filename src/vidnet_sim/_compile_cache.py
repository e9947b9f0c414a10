"""Where the compiled Numba kernels are cached: a folder per fingerprint of their sources.

Numba checks a cached function against its own source file only, so after an edit (or an
upgrade) of a function it calls in another file the cache would still hand back the old
machine code. Every module defining ``njit`` functions therefore calls
:func:`use_compile_cache` before its first decorator (and :func:`end_compile_cache` after
its last): it points ``numba.config.CACHE_DIR`` at a folder named after
:func:`vidnet_sim.fingerprint.kernel_fingerprint` (all the files the kernels are compiled
from), so a folder compiled from other sources is never read.

The folder lives under, in order of preference (the first writable one):

1. ``$NUMBA_CACHE_DIR``, when the user sets it;
2. the installed package's ``__pycache__`` folder;
3. the user's cache folder (e.g. ``~/.cache/vidnet-sim``).

Folders of other fingerprints beside it that were not used for :data:`PRUNE_AFTER_S`
seconds are removed (best effort: a failure to remove never stops a run; the delay spares
another installation sharing the same ``NUMBA_CACHE_DIR`` that is in use).

Several processes may compile into one folder at once (a pool's workers, or parallel test
workers, starting on a machine where nothing is compiled yet). Numba writes each of its files
atomically, but a function's index (signature → data file) and its data files separately:
two processes saving two signatures of one function could leave the index pointing at the
other signature's machine code. :func:`use_compile_cache` therefore makes Numba save an entry
(index and data) under an exclusive lock of the folder's :data:`LOCK_FILE`, and load one
under a shared lock (``flock``; without it, on a system that lacks it, as Numba does alone).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from numba.core import config as numba_config
from numba.core.caching import IndexDataCacheFile
from numba.misc.appdirs import AppDirs

try:
    import fcntl
except ImportError:  # pragma: no cover (not on POSIX)
    fcntl = None  # type: ignore[assignment]

from vidnet_sim._compile_gc import freeze_during_compiles
from vidnet_sim.fingerprint import PACKAGE_DIR, kernel_fingerprint

#: A cache folder's name: this prefix and the kernels' fingerprint.
FOLDER_PREFIX = "vidnet-sim-"
_FOLDER_NAME = re.compile(re.escape(FOLDER_PREFIX) + r"[0-9a-f]{16}")

#: Folders of other fingerprints unused for longer than this (seconds) are removed.
PRUNE_AFTER_S = 3600.0

#: The file of a Numba cache folder whose lock its saves and loads take.
LOCK_FILE = ".vidnet-sim.lock"


def candidate_bases(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The folders that may hold the cache folders, most preferred first."""
    env = os.environ if environ is None else environ
    bases = [Path(env["NUMBA_CACHE_DIR"])] if env.get("NUMBA_CACHE_DIR") else []
    bases.append(PACKAGE_DIR / "__pycache__")
    user_dirs = AppDirs(appname="vidnet-sim", appauthor=False)  # type: ignore[no-untyped-call]
    bases.append(Path(user_dirs.user_cache_dir))
    return bases


def choose_folder(fingerprint: str, bases: list[Path]) -> Path:
    """The cache folder of ``fingerprint`` under the first base where it can be written
    (created, marked as just used, its stale siblings pruned). If none can be, a temporary
    folder of this process's own, removed when it exits: the kernels are then compiled in
    each process, but never read from a folder of other sources."""
    name = FOLDER_PREFIX + fingerprint
    for base in bases:
        folder = base / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
            os.utime(folder)
        except OSError:
            continue
        prune(base, keep=name)
        return folder
    try:
        folder = Path(tempfile.mkdtemp(prefix=name + "-"))
    except OSError:
        return bases[0] / name  # nothing writable: Numba's own locations, or no caching
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def prune(base: Path, keep: str, older_than_s: float = PRUNE_AFTER_S) -> None:
    """Remove the cache folders in ``base`` other than ``keep`` that were not used in the
    last ``older_than_s`` seconds. Never raises."""
    cutoff = time.time() - older_than_s
    try:
        with os.scandir(base) as entries:
            stale = [
                e.path
                for e in entries
                if e.name != keep
                and _FOLDER_NAME.fullmatch(e.name)
                and e.is_dir(follow_symlinks=False)
                and e.stat(follow_symlinks=False).st_mtime < cutoff
            ]
    except OSError:
        return
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def folder_lock(folder: str | Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the lock of ``folder``'s :data:`LOCK_FILE` (exclusive or shared) meanwhile;
    nothing is held when the file cannot be opened (no folder yet: nothing to load) or the
    system has no ``flock``."""
    try:
        fd = os.open(os.path.join(folder, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        fd = -1
    try:
        if fd >= 0 and fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # releases the lock


#: What marks Numba's methods once wrapped by :func:`_locked`. The name does not contain the
#: package's: a second copy of the package in one process (``benchmarks/paired.py`` imports
#: two, renamed) must see the first one's wrapper, or the nested lock of the same file (two
#: descriptors, one process) waits for itself forever.
_LOCKED_MARK = "__locked_under_folder_flock__"


def _locked(method: Callable[..., Any], *, exclusive: bool) -> Callable[..., Any]:
    """``method`` of a Numba cache file, run under its folder's lock."""

    @wraps(method)
    def locked(self: IndexDataCacheFile, *args: Any) -> Any:
        with folder_lock(self._cache_path, exclusive=exclusive):
            return method(self, *args)

    setattr(locked, _LOCKED_MARK, True)
    return locked


def lock_numba_cache_files() -> None:
    """Make Numba save a cache entry (its index and data file) under an exclusive lock of
    the entry's folder and load one under a shared lock, so that processes compiling into
    one folder at once never pair an index entry with another one's data (see the module
    doc). Idempotent; it applies to every Numba cache of this process."""
    for name, exclusive in (("save", True), ("load", False)):
        method = getattr(IndexDataCacheFile, name)
        if not getattr(method, _LOCKED_MARK, False):
            setattr(IndexDataCacheFile, name, _locked(method, exclusive=exclusive))


@lru_cache(maxsize=1)
def compile_cache_dir() -> Path:
    """This process's cache folder for the compiled kernels (chosen once)."""
    return choose_folder(kernel_fingerprint(), candidate_bases())


#: Numba's cache settings before each :func:`use_compile_cache`, put back by
#: :func:`end_compile_cache`.
_outer: list[str] = []


def use_compile_cache() -> Path:
    """Point Numba's cache at :func:`compile_cache_dir` for the ``njit`` decorators that
    follow, and return it. Call it in a kernel module before its first decorator (Numba
    chooses a function's cache folder when it decorates it) and :func:`end_compile_cache`
    after its last, so other code's cached functions stay where Numba puts them. Numba's
    cache files are locked from then on (:func:`lock_numba_cache_files`), and the heap from
    before a compile is frozen while it runs (:func:`freeze_during_compiles`)."""
    folder = compile_cache_dir()
    lock_numba_cache_files()
    freeze_during_compiles()
    _outer.append(numba_config.CACHE_DIR)  # type: ignore[attr-defined]
    numba_config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]
    return folder


def end_compile_cache() -> None:
    """Put back Numba's cache setting from before the matching :func:`use_compile_cache`."""
    numba_config.CACHE_DIR = _outer.pop()  # type: ignore[attr-defined]
