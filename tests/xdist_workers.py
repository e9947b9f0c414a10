"""How many pytest-xdist workers the default options' ``-n auto`` starts.

pyproject.toml's default options hold ``-n auto`` and load this plugin (``-p xdist_workers``,
found through ``pythonpath = ["tests"]``), which answers xdist's question of how many workers
"auto" means:

- none (the tests run in the pytest process itself, as with ``-n0``) when benchmarks are
  enabled (``--benchmark-enable``): pytest-benchmark turns itself off under xdist, so the
  benchmark commands would measure nothing, and a measurement wants the CPUs to itself;
- none when the command line names a single test file (or tests of one file): a worker's
  start-up, an interpreter that imports the package and collects the tests again, would cost
  more than a second core saves on one file;
- none on a single CPU;
- otherwise one per CPU this process may run on (its affinity mask), so the default run and
  CI use both cores of a 2-core machine.

An explicit ``-n N`` (or ``-n0``) is not asked about and wins; so does xdist's own
``PYTEST_XDIST_AUTO_NUM_WORKERS``.
"""

from __future__ import annotations

import os

import pytest

from vidnet_sim.runner import available_cpus


def names_one_file(config: pytest.Config) -> bool:
    """Whether the command line's test paths are one test file (or tests within one)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False  # the testpaths of pyproject.toml, or the current folder
    where = config.invocation_params.dir
    paths = {(where / arg.split("::")[0]).resolve() for arg in config.args}
    return len(paths) == 1 and all(p.is_file() for p in paths)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """The number of workers ``-n auto`` starts (see the module doc)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own setting
    if config.getoption("benchmark_enable", False) or names_one_file(config):
        return 0
    cpus = available_cpus()
    return cpus if cpus > 1 else 0
