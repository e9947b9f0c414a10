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

With workers, the compiled kernels are made ready once, before any test runs: the controller
starts :data:`PRECOMPILE` (the kernels a one-thread run, a two-thread run and the reference
engine use) in two processes beside the workers' start-up, and each worker waits for them
before its first test (:func:`wait_for_precompile`). Without it, on a machine where nothing
is compiled yet, both workers compiled the same kernels at once and so did the ``vidnet-sim``
processes some tests start meanwhile (up to four compiles of the core on two cores). The
kernels are cached in their usual folder: a warm cache makes each process a load of about
a second. A precompile that fails is reported at the end of the run and the tests go on (the
tests that need the kernels then compile them, or fail, themselves); a run that ends first
(Ctrl-C) stops it, and ``--collect-only`` does not start it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import vidnet_sim
from vidnet_sim.runner import available_cpus

#: The environment variable naming the file the controller creates when the precompile ends
#: (set for the workers it starts, which inherit its environment).
DONE_VARIABLE = "VIDNET_SIM_TEST_PRECOMPILED"

#: Longest wait of a worker for the precompile (seconds): then it goes on without it.
WAIT_S = 1200.0

#: The precompile's processes, each a Python program run with ``sys.executable``: the
#: one-thread core of plain links (``advance`` and the traffic kernels it calls), the
#: two-thread pipeline's kernels (``hand_off``, ``settle_drops``) and the core with the
#: general FIFO loop (a packet log, or epochs); and, on the other core, the reference
#: engine's traffic and histogram kernels (``generate``, ``histogram_of``) and the cores
#: with the scheduled links' loop (a run compiles only the loops it reaches:
#: ``execute.warm.warm_up``).
PRECOMPILE = (
    "from vidnet_sim.execute.warm import warm_up\n"
    "from vidnet_sim.runner import run\n"
    "from vidnet_sim.scenario.units import parse_time\n"
    "warm_up()\n"
    "run(SMALL_TOWN, write=False, duration_ps=parse_time('50ms'), threads=2)\n"
    "warm_up(packets=True)\n",
    "from vidnet_sim.execute.warm import warm_up\n"
    "from vidnet_sim.runner import run\n"
    "from vidnet_sim.scenario.units import parse_time\n"
    "run(SMALL_TOWN, write=False, duration_ps=parse_time('20ms'), engine='reference')\n"
    "warm_up(scheduled=True)\n"
    "warm_up(packets=True, scheduled=True)\n",
)

#: The example scenario the precompile runs briefly (two levels of links: it splits in two).
SMALL_TOWN = Path(__file__).resolve().parent.parent / "scenarios" / "small-town.toml"

_PRECOMPILE = pytest.StashKey["Precompile"]()


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


def precompile_wanted(config: pytest.Config) -> bool:
    """Whether this process is the controller of a run with workers that runs tests."""
    if hasattr(config, "workerinput") or config.getoption("collectonly", False):
        return False
    workers = config.getoption("numprocesses", None)
    return isinstance(workers, int) and workers > 0 and config.getoption("dist", "no") != "no"


@dataclass
class Precompile:
    """The precompile's processes; ``done`` is created when all have ended (their output
    and exit codes in ``log``)."""

    procs: list[subprocess.Popen[bytes]]
    waiter: threading.Thread
    done: Path
    log: Path

    def stop(self) -> None:
        """End the processes still running (a run interrupted or over before the workers
        needed them: Numba saves whole cache entries only) and wait for the waiter."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        self.waiter.join(timeout=60)


def start_precompile(done: Path, log: Path) -> Precompile:
    """Start :data:`PRECOMPILE`'s programs at once, in processes that import the
    ``vidnet_sim`` these tests import, and a thread that creates ``done`` when all have
    ended, whatever the outcome."""
    package_parent = str(Path(vidnet_sim.__file__).resolve().parent.parent)
    path = [package_parent, *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    env.pop(DONE_VARIABLE, None)
    t0 = time.perf_counter()
    out = log.open("w", encoding="utf-8")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", f"SMALL_TOWN = {str(SMALL_TOWN)!r}\n{program}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        for program in PRECOMPILE
    ]

    def wait() -> None:
        with out:
            codes = [p.wait() for p in procs]
            out.write(f"exit codes {codes} after {time.perf_counter() - t0:.1f} s\n")
        done.touch()

    waiter = threading.Thread(target=wait, name="precompile", daemon=True)
    waiter.start()
    return Precompile(procs, waiter, done, log)


def pytest_configure(config: pytest.Config) -> None:
    """The controller of a run with workers starts the precompile (see the module doc)."""
    if not precompile_wanted(config):
        return
    folder = Path(tempfile.mkdtemp(prefix="vidnet-sim-precompile-"))
    config.stash[_PRECOMPILE] = start_precompile(folder / "done", folder / "log")
    os.environ[DONE_VARIABLE] = str(folder / "done")  # the workers, started next, inherit it


def wait_for_precompile(done: Path, timeout_s: float = WAIT_S) -> bool:
    """Wait until ``done`` exists (at most ``timeout_s`` seconds); whether it does."""
    end = time.monotonic() + timeout_s
    while not done.exists():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """A worker waits for the controller's precompile before its first test."""
    done = os.environ.get(DONE_VARIABLE)
    if done and hasattr(session.config, "workerinput"):
        wait_for_precompile(Path(done))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The controller says how long the precompile took, or how it failed (its log)."""
    started = config.stash.get(_PRECOMPILE, None)
    if started is None:
        return
    done, log = started.done, started.log
    text = log.read_text(encoding="utf-8").strip() if log.exists() else ""
    last = text.splitlines()[-1] if text else ""
    if not done.exists():
        terminalreporter.write_line("the kernels' precompile had not ended (the run ended first)")
    elif last.startswith("exit codes [0, 0] after "):
        terminalreporter.write_line(f"kernels precompiled: {last.split(' after ')[1]}")
    else:
        terminalreporter.write_line(f"the kernels' precompile failed:\n{text[-3000:]}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller stops a precompile still running and removes its folder."""
    started = config.stash.get(_PRECOMPILE, None)
    if started is not None:
        started.stop()
        shutil.rmtree(started.done.parent, ignore_errors=True)
        os.environ.pop(DONE_VARIABLE, None)
