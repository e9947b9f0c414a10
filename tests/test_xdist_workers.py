"""How many test workers the default options' ``-n auto`` starts (tests/xdist_workers.py)."""

from __future__ import annotations

import subprocess
import sys
import time
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


def options(workers: object, dist: str = "worksteal", **more: object) -> Any:
    """The parts of a ``pytest.Config`` the precompile reads."""
    values = {"numprocesses": workers, "dist": dist}
    return SimpleNamespace(getoption=lambda name, default=None: values.get(name, default), **more)


def test_only_the_controller_of_a_run_with_workers_precompiles() -> None:
    assert xdist_workers.precompile_wanted(options(2))
    assert not xdist_workers.precompile_wanted(options(0, "no"))  # -n0, or "auto" meaning none
    assert not xdist_workers.precompile_wanted(options(None, "no"))  # xdist not asked for
    assert not xdist_workers.precompile_wanted(options(2, workerinput={}))  # a worker
    collect = {"numprocesses": 2, "dist": "load", "collectonly": True}
    config: Any = SimpleNamespace(getoption=lambda name, default=None: collect.get(name, default))
    assert not xdist_workers.precompile_wanted(config)  # nothing will run


def test_the_precompile_signals_its_end_whatever_its_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The done file appears when every program has ended, even one that failed; the log
    holds the failure and the exit codes, which the summary reports."""
    monkeypatch.setattr(
        xdist_workers,
        "PRECOMPILE",
        ("import vidnet_sim; print(SMALL_TOWN)", "raise SystemExit('broken kernel')"),
    )
    done, log = tmp_path / "done", tmp_path / "log"
    assert not xdist_workers.wait_for_precompile(done, timeout_s=0.2)
    xdist_workers.start_precompile(done, log).waiter.join(timeout=60)
    assert xdist_workers.wait_for_precompile(done, timeout_s=0)
    text = log.read_text(encoding="utf-8")
    assert str(xdist_workers.SMALL_TOWN) in text and "broken kernel" in text
    assert text.splitlines()[-1].startswith("exit codes [0, 1] after ")
    lines: list[str] = []
    reporter = SimpleNamespace(write_line=lines.append)
    stash = {xdist_workers._PRECOMPILE: SimpleNamespace(done=done, log=log)}
    xdist_workers.pytest_terminal_summary(reporter, SimpleNamespace(stash=stash))  # type: ignore[arg-type]
    assert lines[0].startswith("the kernels' precompile failed:") and "broken kernel" in lines[0]
    done.unlink()
    xdist_workers.pytest_terminal_summary(reporter, SimpleNamespace(stash=stash))  # type: ignore[arg-type]
    assert lines[1] == "the kernels' precompile had not ended (the run ended first)"


def test_the_precompile_loads_the_kernels_of_both_cores_and_of_the_reference(
    src_env: dict[str, str],
) -> None:
    """Each program, run in a fresh process, leaves the kernels it is there for compiled
    (loaded from the cache here): the one-thread core, the two-thread pipeline's hand-off
    (a scenario the splitter did not cut would leave it out) and the reference's traffic."""
    check = (
        "\nfrom vidnet_sim.core import kernel as K, histogram as H\n"
        "from vidnet_sim.traffic import generate as G\n"
        "print([len(f.signatures) > 0 for f in "
        "(K.advance, K.hand_off, K.settle_drops, G.gen_source_all, H._add_all)])\n"
    )
    seen = []
    for program in xdist_workers.PRECOMPILE:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                f"SMALL_TOWN = {str(xdist_workers.SMALL_TOWN)!r}\n" + program + check,
            ],
            env=src_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        seen.append(done.stdout.split()[-5:])
    assert seen[0] == ["[True,", "True,", "True,", "False,", "False]"]
    assert seen[1] == ["[False,", "False,", "False,", "True,", "True]"]


def test_a_run_that_ends_first_stops_the_precompile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted run (or one over before its workers needed the kernels) does not wait
    for the compile: the processes still running are terminated and the done file follows."""
    monkeypatch.setattr(xdist_workers, "PRECOMPILE", ("import time; time.sleep(600)",))
    t0 = time.monotonic()
    started = xdist_workers.start_precompile(tmp_path / "done", tmp_path / "log")
    started.stop()
    assert time.monotonic() - t0 < 60 and (tmp_path / "done").exists()
    assert started.procs[0].returncode != 0


def fake_item(*markers: str, **fields: Any) -> Any:
    """The parts of a ``pytest.Item`` the plugins read: its markers (by name) and ``fields``."""
    return SimpleNamespace(get_closest_marker=lambda m: m if m in markers else None, **fields)


def test_kernel_free_tests_run_during_the_precompile_and_a_wrong_marker_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a worker, a test marked ``kernel_free`` starts at once; the first other test
    waits for the precompile. A kernel-free test that loads a kernel (takes Numba's compiler
    lock) while the precompile runs is handed to the controller, which names it."""
    import numba

    done = tmp_path / "done"
    monkeypatch.setenv(xdist_workers.DONE_VARIABLE, str(done))
    waited: list[Path] = []
    monkeypatch.setattr(xdist_workers, "wait_for_precompile", lambda d, *a: waited.append(d))
    config: Any = SimpleNamespace(workerinput={}, workeroutput={}, stash=pytest.Stash())

    def item(nodeid: str, *markers: str) -> Any:
        return fake_item(*markers, nodeid=nodeid, config=config)

    def compile_one() -> None:
        numba.njit(lambda x: x + 1)(1)

    try:
        xdist_workers.pytest_runtest_setup(item("t.py::free", "kernel_free"))
        assert waited == []
        compile_one()  # a wrong marker: loads a kernel while the precompile runs
        xdist_workers.pytest_runtest_setup(item("t.py::right", "kernel_free", "long"))
        assert waited == []
        xdist_workers.pytest_runtest_setup(item("t.py::needs_kernels"))
        assert waited == [done]
        compile_one()  # not a kernel-free test
        done.touch()
        xdist_workers.pytest_runtest_setup(item("t.py::free_after", "kernel_free"))
        compile_one()  # the precompile has ended: nothing to compile twice
    finally:
        numba.core.event.unregister("numba:compiler_lock", config.stash[xdist_workers._LOADS])
    xdist_workers.pytest_sessionfinish(SimpleNamespace(config=config))  # type: ignore[arg-type]
    assert config.workeroutput[xdist_workers.LOADS_OUTPUT] == ["t.py::free"]

    controller: Any = SimpleNamespace(stash=pytest.Stash())
    node = SimpleNamespace(config=controller, workeroutput=config.workeroutput)
    xdist_workers.pytest_testnodedown(node, None)
    log = tmp_path / "log"
    log.write_text("exit codes [0, 0] after 12.5 s\n", encoding="utf-8")
    controller.stash[xdist_workers._PRECOMPILE] = SimpleNamespace(done=done, log=log)
    lines: list[str] = []
    xdist_workers.pytest_terminal_summary(SimpleNamespace(write_line=lines.append), controller)
    assert lines == [
        "kernels precompiled: 12.5 s",
        "marked kernel_free but loaded a kernel while the precompile ran: t.py::free",
    ]


def test_kernel_free_tests_are_collected_first_then_the_long_ones(
    request: pytest.FixtureRequest,
) -> None:
    """tests/conftest.py orders the collection: the kernel-free tests (their long ones
    first), the long ones, the rest; each group in its order."""

    def item(name: str, *markers: str) -> Any:
        return fake_item(*markers, name=name)

    items = [item("a"), item("b", "long"), item("c", "kernel_free"), item("d"), item("e", "long")]
    items += [item("f", "kernel_free", "long")]
    conftest = next(
        plugin
        for plugin in request.config.pluginmanager.get_plugins()
        if Path(getattr(plugin, "__file__", "")) == Path(__file__).parent / "conftest.py"
    )
    conftest.pytest_collection_modifyitems(items)
    assert [i.name for i in items] == ["f", "c", "b", "e", "a", "d"]
