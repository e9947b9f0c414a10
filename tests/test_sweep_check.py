"""A sweep's up-front check of its designs: on the workers after a second in this process,
still before any point runs, and each design's network compiled once, by the check, for the
point it was compiled for."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import vidnet_sim.runner as runner
from test_sweep import assert_same_files, base_data
from vidnet_sim.errors import ScenarioError
from vidnet_sim.execute import ProcessExecutor, SerialExecutor, TaskFn, TaskOutcome
from vidnet_sim.network.plan import build_plan
from vidnet_sim.sweep import execute as sweep_execute
from vidnet_sim.sweep import run_sweep, sweep_from_dict
from vidnet_sim.sweep.plan import Sweep, design_problems

#: Two rates of the tiny scenario's link with a gigabyte of buffer: at 1 bit/s a full buffer
#: would delay a packet past the core's clock, which ``run`` refuses.
SLOW_GRID = {"links[0].rate": ["100Mbps", "1bps"], "cameras.north.count": [2, 4]}


def slow_data() -> dict[str, Any]:
    data = base_data()
    data["links"][0]["buffer"] = "1GB"
    return data


class InProcessPool(ProcessExecutor):
    """Runs its tasks here, one after the other, but is a pool to a sweep: it hands it the
    designs to check as it would a pool's workers; records the tasks."""

    def __init__(self) -> None:
        super().__init__(2)
        self.tasks: list[tuple[TaskFn, list[str]]] = []
        self.started = False

    def start(self) -> None:
        self.started = True

    def run_tasks(self, fn: TaskFn, shared: Any, items: Mapping[str, Any]) -> Iterator[TaskOutcome]:
        self.tasks.append((fn, list(items)))
        yield from SerialExecutor().run_tasks(fn, shared, items)


def count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the networks compiled in this process (each run, each check)."""
    calls: list[int] = []
    real = build_plan

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "build_plan", counted)
    return calls


def test_each_design_is_compiled_once_for_its_first_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check compiled every design to be run, then every point compiled its own again:
    3 designs x 2 replications made 3 + 6 compiles; now the check's network is the first
    replication's own and runs: 6. The files are those of points that compile their own."""
    spec = {"replications": 2, "grid": {"cameras.north.count": [2, 4, 6]}}
    sw = sweep_from_dict(base_data(), spec)
    calls = count_compiles(monkeypatch)
    report = run_sweep(sw, tmp_path / "checked", workers=1)
    assert report.exit_code == 0 and len(report.computed) == 6
    assert len(calls) == 6
    assert not list((tmp_path / "checked").glob(".compiled*")), "the hand-over folder stays"
    calls.clear()
    fresh = run_sweep(sw, tmp_path / "fresh", workers=1, check=False)
    assert len(fresh.computed) == 6 and len(calls) == 6
    assert_same_files(tmp_path / "checked", tmp_path / "fresh")


def test_the_networks_kept_for_the_points_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past :data:`KEEP_COMPILED_BYTES` of compiled networks (here: past the first), the
    check keeps none: their points compile their own, to the same files."""
    monkeypatch.setattr(sweep_execute, "KEEP_COMPILED_BYTES", 1)
    sw = sweep_from_dict(base_data(), {"grid": {"cameras.north.count": [2, 4, 6]}})
    calls = count_compiles(monkeypatch)
    run_sweep(sw, tmp_path / "out", workers=1)
    assert len(calls) == 3 + 2
    run_sweep(sw, tmp_path / "fresh", workers=1, check=False)
    assert_same_files(tmp_path / "out", tmp_path / "fresh")


def test_a_resumed_sweep_checks_no_design_that_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A design with a point done ran: resumed, its other points compile their own network
    and no check compiles it again (it did: 2 compiles for the one point left)."""
    spec = {"replications": 2, "grid": {"cameras.north.count": [2, 4]}}
    sw = sweep_from_dict(base_data(), spec)
    out = tmp_path / "out"
    run_sweep(sw, out, workers=1)
    (out / sw.points[1].point_id / "manifest.json").unlink()  # design 2's second replication
    calls = count_compiles(monkeypatch)
    report = run_sweep(sw, out, workers=1)
    assert report.computed == [sw.points[1].point_id] and len(calls) == 1


def test_designs_are_checked_on_the_workers_after_a_second_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond :data:`IN_PROCESS_CHECK_SECONDS` of checking here, the designs left go to the
    executor's workers all at once (here: every one, with no time here); a serial executor's
    are all checked here. Either way each runs once, and the same files come out."""
    spec = {"grid": {"cameras.north.count": [2, 4, 6]}}
    monkeypatch.setattr(sweep_execute, "IN_PROCESS_CHECK_SECONDS", 0.0)
    pool = InProcessPool()
    sw = sweep_from_dict(base_data(), spec)
    calls = count_compiles(monkeypatch)
    report = run_sweep(sw, tmp_path / "pool", executor=pool)
    assert report.exit_code == 0 and len(report.computed) == 3
    (check_fn, checked), (_, ran) = pool.tasks
    assert check_fn is design_problems and pool.started
    assert checked == [p.design_id for p in sw.points] and len(ran) == 3
    assert len(calls) == 3
    monkeypatch.setattr(sweep_execute, "IN_PROCESS_CHECK_SECONDS", 3600.0)
    here = InProcessPool()
    run_sweep(sweep_from_dict(base_data(), spec), tmp_path / "here", executor=here)
    assert [fn for fn, _ in here.tasks] == [sweep_execute.compute_point]
    assert_same_files(tmp_path / "pool", tmp_path / "here")


def refused(sw: Sweep, excinfo: pytest.ExceptionInfo[ScenarioError]) -> None:
    said = [str(p) for p in excinfo.value.problems]
    assert len(said) == 1 and said[0].startswith(
        'sweep.grid["links[0].rate"][1]: "1bps" makes link \'edge->nvr\': with full buffers'
    ), said


@pytest.mark.parametrize("budget", [0.0, 3600.0])
def test_a_design_the_core_refuses_is_named_before_any_point_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: float
) -> None:
    """Checked on the workers (no time here) or here, the 1 bit/s designs refuse the sweep
    with the value that makes them, before any point runs: nothing is written, the folder
    not even made (without the check, the other points ran and these failed: exit 4)."""
    monkeypatch.setattr(sweep_execute, "IN_PROCESS_CHECK_SECONDS", budget)
    sw = sweep_from_dict(slow_data(), {"grid": SLOW_GRID})
    pool = InProcessPool()
    out = tmp_path / "out"
    with pytest.raises(ScenarioError) as excinfo:
        run_sweep(sw, out, executor=pool)
    refused(sw, excinfo)
    assert [fn for fn, _ in pool.tasks] == ([design_problems] if not budget else [])
    assert not out.exists()


def test_a_pool_refuses_before_any_point_and_runs_what_it_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On two local worker processes checking every design: the 1 bit/s designs refuse the
    sweep before any point runs; the sweep without them runs the networks its workers
    compiled, and gives the files of a serial run."""
    monkeypatch.setattr(sweep_execute, "IN_PROCESS_CHECK_SECONDS", 0.0)
    out = tmp_path / "out"
    with ProcessExecutor(2, warm=False) as pool:
        with pytest.raises(ScenarioError) as excinfo:
            run_sweep(sweep_from_dict(slow_data(), {"grid": SLOW_GRID}), out, executor=pool)
        refused(sweep_from_dict(slow_data(), {"grid": SLOW_GRID}), excinfo)
        assert not out.exists()
        spec = {"grid": {"cameras.north.count": [2, 4], "links[0].rate": ["100Mbps", "1Gbps"]}}
        report = run_sweep(sweep_from_dict(slow_data(), spec), out, executor=pool)
    assert report.exit_code == 0 and len(report.computed) == 4
    assert not list(out.glob(".compiled*"))
    run_sweep(sweep_from_dict(slow_data(), spec), tmp_path / "serial", workers=1, check=False)
    assert_same_files(out, tmp_path / "serial")
