"""How many test workers the default options' ``-n auto`` starts (tests/xdist_workers.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import xdist_workers
from xdist_workers import pytest_xdist_auto_num_workers as workers

REPO = Path(__file__).resolve().parent.parent
ARGS = pytest.Config.ArgsSource.ARGS


def config(args: list[str], source: Any = ARGS, *, benchmark: bool = False) -> Any:
    """The parts of a ``pytest.Config`` the plugin reads, for a command run in the repository."""
    return SimpleNamespace(
        args=args,
        args_source=source,
        invocation_params=SimpleNamespace(dir=REPO),
        getoption=lambda name, default=None: benchmark if name == "benchmark_enable" else default,
    )


@pytest.fixture
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xdist_workers, "available_cpus", lambda: 2)
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)


@pytest.mark.usefixtures("two_cpus")
def test_the_default_run_and_several_files_use_every_cpu() -> None:
    assert workers(config(["tests", "benchmarks"], pytest.Config.ArgsSource.TESTPATHS)) == 2
    assert workers(config(["tests"])) == 2
    assert workers(config(["tests/test_units.py", "tests/test_queues.py"])) == 2


@pytest.mark.usefixtures("two_cpus")
def test_one_file_or_tests_of_one_file_run_in_the_pytest_process() -> None:
    assert workers(config(["tests/test_units.py"])) == 0
    both = ["tests/test_units.py::test_a", "tests/test_units.py::test_b"]
    assert workers(config(both)) == 0
    assert workers(config(["tests/test_units.py", "tests/test_queues.py::test_a"])) == 2


@pytest.mark.usefixtures("two_cpus")
def test_benchmarks_run_in_the_pytest_process() -> None:
    """pytest-benchmark turns itself off under xdist: enabled benchmarks get no workers."""
    assert workers(config(["benchmarks"], benchmark=True)) == 0
    assert workers(config(["tests", "benchmarks"], benchmark=True)) == 0


def test_one_cpu_starts_no_worker_and_xdists_own_setting_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(xdist_workers, "available_cpus", lambda: 1)
    assert workers(config(["tests"])) == 0
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert workers(config(["tests"])) is None  # xdist's own hook reads it
    assert xdist_workers.available_cpus() >= 1


def test_the_default_options_distribute_with_this_plugin() -> None:
    """pyproject.toml loads the plugin and asks for ``-n auto``; the test extras install
    pytest-xdist (without it the options would be refused)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    options = project["tool"]["pytest"]["ini_options"]
    assert options["pythonpath"] == ["tests"]
    assert options["addopts"].startswith("-p xdist_workers -n auto ")
    extras = project["project"]["optional-dependencies"]["test"]
    assert any(dep.startswith("pytest-xdist") for dep in extras)
