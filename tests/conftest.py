"""Fixtures shared by the tests.

Helpers are fixtures rather than importable functions: pytest collects ``tests/`` and
``benchmarks/`` in one run with rootdir-relative module names, so a ``from conftest import ...``
would depend on which folder's ``conftest`` was imported first if ``benchmarks/`` ever gets one.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import vidnet_sim


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``kernel_free`` run first (their long ones first), then those marked
    ``long``, then the rest, each group in its order. With workers (xdist's ``worksteal``),
    the first worker runs the kernel-free tests while the kernels' precompile runs on the
    other core (tests/xdist_workers.py: every other test waits for it); the long tests then
    start early and the short ones fill the end, so the workers end together: otherwise one
    long test collected last (the files run in name order) keeps a worker busy for half a
    minute after the other has run out of work."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("kernel_free") is None,
            item.get_closest_marker("long") is None,
        )
    )


#: The repository (README.md, docs/, scenarios/).
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository's root folder."""
    return REPO


@pytest.fixture(scope="session")
def src_env() -> dict[str, str]:
    """The environment of a real process that imports the ``vidnet_sim`` these tests import
    (the checkout's ``src`` when run from it), whatever ``PYTHONPATH`` already holds."""
    package_parent = Path(vidnet_sim.__file__).resolve().parent.parent
    path = [str(package_parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


@pytest.fixture(scope="session")
def vidnet_sim_argv() -> list[str]:
    """How to start the ``vidnet-sim`` command: the console script installed beside this
    interpreter, else the same entry point through ``python -c``."""
    script = Path(sys.executable).parent / "vidnet-sim"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from vidnet_sim.cli import entry; entry()"]


@pytest.fixture(scope="session")
def write_text() -> Callable[[Path, str], Path]:
    """``write_text(path, text)``: write ``text`` (a scenario, a cost table) to ``path`` in
    UTF-8 and return ``path``."""

    def write(path: Path, text: str) -> Path:
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def needs_jobqueue() -> None:
    """Skip the test when dask-jobqueue is not installed, without importing it: its import
    replaces the process's Ctrl-C handler (see ``vidnet_sim.execute.cluster.import_jobqueue``),
    which would change how later tests in the same worker see a Ctrl-C."""
    if importlib.util.find_spec("dask_jobqueue") is None:
        pytest.skip("dask-jobqueue is not installed")
