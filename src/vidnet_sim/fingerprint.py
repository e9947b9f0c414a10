"""Fingerprints of the code that turns a scenario into results.

Stored runs (``vidnet_sim.analysis.runs``) are keyed by their scenario *and*
:func:`engine_fingerprint`, so a run stored by an earlier build of the model (another kernel,
generator, router or scenario default) is simulated again rather than reused. The compiled
Numba kernels are cached in a folder named after :func:`kernel_fingerprint`
(``vidnet_sim._compile_cache``), so a kernel compiled from other sources is never loaded.

Both are hashes of source files (:func:`source_fingerprint`); any edit to them changes the
fingerprint (an edited comment included: a rerun or a recompile is cheaper than a stale
result). This module imports nothing of the model, so the kernels can use it while they are
being imported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from vidnet_sim.version import __version__

#: The installed package's folder (the root of the relative paths below).
PACKAGE_DIR = Path(__file__).parent

#: Sub-packages whose code decides a run's results.
MODEL_PACKAGES = ("core", "network", "reference", "results", "scenario", "timeline", "traffic")

#: The source files the Numba kernels are compiled from: every module that defines an
#: ``njit`` function and every module of the package those import from, transitively (Numba
#: freezes imported functions and constants into the compiled code). A test checks the list
#: against the sources.
KERNEL_SOURCES = (
    "core/histogram.py",
    "core/kernel.py",
    "traffic/generate.py",
    "traffic/modulation.py",
    "traffic/rng.py",
    "traffic/rows.py",
)


def source_fingerprint(files: Iterable[str], salt: str = "", root: Path = PACKAGE_DIR) -> str:
    """Hex digest (16 digits) of ``salt`` and, in order, each file's path relative to
    ``root`` and its bytes."""
    h = hashlib.sha256(salt.encode())
    for rel in files:
        h.update(f"{rel}\0".encode())
        h.update((root / rel).read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """Hex digest of the package version and the model packages' sources."""
    files = [
        f"{package}/{f.name}"
        for package in MODEL_PACKAGES
        for f in sorted(PACKAGE_DIR.joinpath(package).glob("*.py"), key=lambda f: f.name)
    ]
    return source_fingerprint(files, salt=__version__)


def kernel_fingerprint(root: Path = PACKAGE_DIR) -> str:
    """Hex digest of the sources the Numba kernels are compiled from (:data:`KERNEL_SOURCES`
    under ``root``, the installed package by default)."""
    return source_fingerprint(KERNEL_SOURCES, root=root)
