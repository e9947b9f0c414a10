"""Curves, capacity searches and sizings on many workers (vidnet_sim.execute): the same tables
whatever the executor, runs stored by one executor reused by another, a killed worker that
changes nothing, one progress count for the whole job, and clear errors for bad options."""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from test_sizing import RING, TWO_COSTS
from vidnet_sim.analysis.capacity import find_capacity
from vidnet_sim.analysis.cost import load_cost_model
from vidnet_sim.analysis.curve import CurveResult, run_curve
from vidnet_sim.analysis.sizing import SizingResult, size_network
from vidnet_sim.cli import executors, main
from vidnet_sim.errors import EXIT_INVALID_SCENARIO
from vidnet_sim.execute import (
    DaskExecutor,
    JobProgress,
    ProcessExecutor,
    SerialExecutor,
    TaskOutcome,
)

# a stochastic load (VBR cameras, random phases): replications differ, intervals are open
CAMS = """
name = "cams"
[simulation]
duration = "150ms"
seed = 7
[[nodes]]
id = "agg"
[[nodes]]
id = "cc"
[[links]]
a = "agg"
b = "cc"
rate = "100Mbps"
[[cameras]]
name = "north"
count = 4
attach = "agg"
bitrate = "4Mbps"
destinations = ["cc"]
[sla.video]
packet_latency_p99 = "20ms"
"""

GROW = """
name = "grow"
[simulation]
duration = "150ms"
[[nodes]]
id = "agg"
[[nodes]]
id = "core"
[[nodes]]
id = "cc"
[[links]]
a = "agg"
b = "core"
rate = "10Mbps"
length = "2km"
[[links]]
a = "core"
b = "cc"
rate = "10Mbps"
[[cameras]]
name = "north"
count = 2
attach = "agg"
bitrate = "4Mbps"
destinations = ["cc"]
[sla.video]
packet_latency_p99 = "20ms"

[[growth]]
year = 2
scale_cameras = 3
"""

COSTS = """
port = 0.0
[optics]
"10Mbps" = 1.0
"100Mbps" = 5.0
"1Gbps" = 20.0
"""


class WideSerial(SerialExecutor):
    """In this process, but claiming four workers: the batches and speculative runs of a
    parallel search happen (deterministically), one after the other."""

    slots = 4

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.failed_links: list[set[str]] = []  # per batch, the links failed in its runs

    def run_tasks(self, fn: Any, shared: Any, items: Any) -> Any:
        self.batches.append(len(items))
        runs = [item[1] for item in items.values() if isinstance(item, tuple)]  # simulate_run
        self.failed_links.append(
            {e["link"] for d in runs for e in d.get("events", []) if e["kind"] == "failure"}
        )
        return super().run_tasks(fn, shared, items)


def curve_of(f: Path, **kw: Any) -> CurveResult:
    return run_curve(f, "cameras", 2, 8, 3, replications=2, **kw)


def same_curve(a: CurveResult, b: CurveResult) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.estimates, b.estimates, check_exact=True)
    cols = [c for c in a.runs.columns if c != "reused"]
    pd.testing.assert_frame_equal(a.runs[cols], b.runs[cols], check_exact=True)
    assert a.failures == b.failures


def capacity_doc(res: Any) -> dict[str, Any]:
    return {
        "capacity": res.capacity,
        "first_fail": res.first_fail,
        "binding": res.binding,
        "failures": res.failures,
        "table": res.table().to_dict("records"),
        "checks": [v.checks.to_dict("records") for v in res.verdicts],
    }


def sizing_doc(res: SizingResult) -> dict[str, Any]:
    return {
        "rates": [y.rates for y in res.years],
        "trials": res.trials().to_dict("records"),
        "years": res.year_table().to_dict("records"),
        "failures": res.failures,
    }


@pytest.fixture(scope="module")
def cams(tmp_path_factory: pytest.TempPathFactory, write_text: Callable[[Path, str], Path]) -> Path:
    return write_text(tmp_path_factory.mktemp("cams") / "cams.toml", CAMS)


# The serial answers the executors are compared with, computed once for the module's tests
# (each is deterministic: the same for every test that would compute it again).
@pytest.fixture(scope="module")
def serial_search(cams: Path) -> Any:
    """The serial capacity search with up to 4 replications a value."""
    return find_capacity(cams, "cameras", replications=2, max_replications=4, estimates=False)


@pytest.fixture(scope="module")
def serial_capacity(cams: Path) -> Any:
    """The serial capacity search with the default replications budget."""
    return find_capacity(cams, "cameras", replications=2, estimates=False)


@pytest.fixture(scope="module")
def serial_curve(cams: Path) -> CurveResult:
    return curve_of(cams)


# --------------------------------------------------------------------------- same answers
def test_batches_and_speculation_do_not_change_the_capacity_search(
    cams: Path, serial_search: Any
) -> None:
    serial = serial_search
    wide = WideSerial()
    states: list[JobProgress] = []
    parallel = find_capacity(
        cams,
        "cameras",
        replications=2,
        max_replications=4,
        estimates=False,
        executor=wide,
        on_progress=states.append,
    )
    assert capacity_doc(parallel) == capacity_doc(serial)
    used = sum(v.replications for v in serial.verdicts)
    # batches of the value's replications and of the next values' first runs, 4 at a time
    assert max(wide.batches) == 4 and sum(wide.batches) > used
    last = states[-1]
    assert last.done == last.total == sum(wide.batches) and last.running == 0
    assert all(s.running <= 4 for s in states)
    assert [s.done for s in states] == sorted(s.done for s in states)


def test_speculation_two_steps_ahead_does_not_change_the_capacity_search(
    cams: Path, serial_search: Any
) -> None:
    serial = serial_search
    wide = WideSerial()
    wide.slots = 8  # two replications and six values: both steps that may come next
    parallel = find_capacity(
        cams, "cameras", replications=2, max_replications=4, estimates=False, executor=wide
    )
    assert capacity_doc(parallel) == capacity_doc(serial)
    assert wide.batches[0] == 8


def test_batches_and_speculation_do_not_change_the_sizing(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "grow.toml", GROW)
    model = load_cost_model(write_text(tmp_path / "c.toml", COSTS))
    serial = size_network(f, model, replications=2, max_replications=4, vendor_check=False)
    wide = WideSerial()
    parallel = size_network(
        f, model, replications=2, max_replications=4, vendor_check=False, executor=wide
    )
    assert sizing_doc(parallel) == sizing_doc(serial)
    assert max(wide.batches) > 2  # designs ahead ran beside the one judged


@pytest.mark.long
def test_failure_cases_judged_at_once_give_the_serial_sizing(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    f = write_text(tmp_path / "ring.toml", RING)
    model = load_cost_model(write_text(tmp_path / "c.toml", TWO_COSTS))
    kw: dict[str, Any] = {"replications": 2, "vendor_check": False, "survive": "single-link"}
    serial = size_network(f, model, **kw)
    wide = WideSerial()
    parallel = size_network(f, model, executor=wide, **kw)
    assert sizing_doc(parallel) == sizing_doc(serial)
    assert parallel.cases().equals(serial.cases())
    assert serial.cases()["case"].tolist() == ["normal", "failure of r0-r1", "failure of r1-r2"]
    # four slots, two replications: two failure cases' runs in one batch
    assert max(len(links) for links in wide.failed_links) == 2


def test_runs_stored_by_one_executor_are_reused_by_another(cams: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = curve_of(cams, cache_dir=store, executor=WideSerial())
    again = curve_of(cams, cache_dir=store, executor=SerialExecutor())
    assert again.runs["reused"].all() and not first.runs["reused"].any()
    same_curve(first, again)


def test_a_local_dask_cluster_gives_the_serial_tables(
    cams: Path, serial_curve: CurveResult, serial_capacity: Any
) -> None:
    distributed = pytest.importorskip("distributed")
    serial = serial_curve
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = DaskExecutor(client)
        assert executor.slots == 2
        same_curve(curve_of(cams, executor=executor), serial)
        cap = find_capacity(cams, "cameras", replications=2, estimates=False, executor=executor)
    assert capacity_doc(cap) == capacity_doc(serial_capacity)


@pytest.mark.long
def test_two_worker_processes_and_a_killed_one_give_the_serial_tables(
    cams: Path, serial_curve: CurveResult
) -> None:
    serial = serial_curve
    killed: list[int] = []

    def kill_one(state: JobProgress) -> None:
        if state.done == 1 and not killed:  # mid-job: five runs left, two running
            victim = mp.active_children()[0]
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    with ProcessExecutor(2) as executor:
        parallel = curve_of(cams, executor=executor, on_progress=kill_one)
    assert killed
    same_curve(parallel, serial)


# --------------------------------------------------------------------------- executors
WARM_THEN_RUN = """
from vidnet_sim.core import kernel
from vidnet_sim.execute.warm import warm_up
from vidnet_sim.runner import run, with_overrides
from vidnet_sim.scenario import load_scenario

warm_up()
run(with_overrides(load_scenario({file!r}), duration_ps=10**11), write=False)
print(len(kernel.advance.signatures))
"""


def test_the_warm_up_loads_the_core_a_real_run_uses(repo: Path, src_env: dict[str, str]) -> None:
    code = WARM_THEN_RUN.format(file=str(repo / "scenarios" / "small-town.toml"))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=src_env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1"]  # the run needed no other specialisation


def test_worker_processes_start_when_the_job_starts_them_not_when_entered() -> None:
    before = set(mp.active_children())
    with ProcessExecutor(2) as executor:
        assert set(mp.active_children()) == before  # a refusal before start() costs no pool
        executor.start()
        assert len(set(mp.active_children()) - before) == 2
        assert executor.shares_files
        outcomes = list(executor.run_tasks(fail_on_two, None, {"a": 1, "c": 3}))
    assert sorted(o.value for o in outcomes) == [10, 30]
    assert not DaskExecutor().shares_files


def test_a_pool_closed_while_its_workers_warm_up_terminates_them() -> None:
    before = set(mp.active_children())
    executor = ProcessExecutor(2)
    executor.start()  # the workers import the package and load the core: seconds
    workers = set(mp.active_children()) - before
    executor.close()  # not waited for: terminated, and reaped
    assert len(workers) == 2
    assert [p.exitcode for p in workers] == [-signal.SIGTERM] * 2
    assert set(mp.active_children()) == before


def sleep_for(_: Any, seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_tasks_abandoned_by_the_job_are_terminated_not_awaited() -> None:
    before = set(mp.active_children())
    with ProcessExecutor(2, warm=False) as executor:
        tasks = executor.run_tasks(sleep_for, None, {"quick": 0.0, "long": 30.0})
        assert isinstance(tasks, Generator) and next(tasks).key == "quick"
        workers = set(mp.active_children()) - before
        tasks.close()  # the job stops (an error in it, Ctrl-C) while "long" runs
    assert len(workers) == 2 and -signal.SIGTERM in {p.exitcode for p in workers}
    assert set(mp.active_children()) == before


def sigint_mid_task(_: Any, seconds: float) -> str:
    """Send this process SIGINT, then work on for ``seconds``: what a worker does then."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(seconds)
    except KeyboardInterrupt:
        return "interrupted"
    return "went on"


def test_a_worker_ignores_sigint_and_ends_on_sigterm() -> None:
    """Ctrl-C reaches every process of a terminal's foreground group: a worker goes on (the
    job's process owns Ctrl-C and ends the workers), and SIGTERM still ends it at once."""
    before = set(mp.active_children())
    with ProcessExecutor(1, warm=False) as executor:
        [outcome] = list(executor.run_tasks(sigint_mid_task, None, {"a": 0.2}))
        assert outcome.value == "went on", outcome.error
        [worker] = set(mp.active_children()) - before
        tasks = executor.run_tasks(sleep_for, None, {"quick": 0.0, "long": 30.0})
        assert isinstance(tasks, Generator) and next(tasks).key == "quick"
        time.sleep(0.3)  # "long" runs
        tasks.close()  # abandoned: terminated (SIGTERM), not awaited
    assert worker.exitcode == -signal.SIGTERM  # not the SIGKILL that follows a grace time


def importing(pid: int) -> bool:
    """Whether process ``pid`` imports the package, NumPy loaded (past the interpreter's
    start-up), with Python's SIGINT handler in force."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        numpy = "/numpy/" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:  # ended
        return False
    return numpy and bool(int(status.split("SigCgt:")[1].split()[0], 16) >> (signal.SIGINT - 1) & 1)


def own_pid(_: Any, __: Any) -> int:
    return os.getpid()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc")
def test_a_worker_interrupted_while_it_starts_goes_on() -> None:
    """SIGINT while a new worker imports the package (a Ctrl-C in the first seconds of a job,
    which the terminal sends the workers too) neither ends it nor prints a traceback."""
    before = set(mp.active_children())
    with ProcessExecutor(1, warm=False) as executor:
        executor.start()
        [worker] = set(mp.active_children()) - before
        assert worker.pid is not None
        deadline = time.monotonic() + 120
        while not importing(worker.pid) and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(worker.pid, signal.SIGINT)
        assert [o.value for o in executor.run_tasks(own_pid, None, {"a": None})] == [worker.pid]


def test_an_idle_pool_ends_its_workers_as_usual() -> None:
    before = set(mp.active_children())
    with ProcessExecutor(2, warm=False) as executor:
        assert [o.value for o in executor.run_tasks(sleep_for, None, {"a": 0.0})] == [0.0]
        workers = set(mp.active_children()) - before
        executor.close()
    assert workers and {p.exitcode for p in workers} == {0}


def fail_on_two(_: Any, item: int) -> int:
    if item == 2:
        raise ValueError("two")
    return item * 10


def test_an_executor_reports_each_task_once_and_errors_as_outcomes() -> None:
    outcomes = list(SerialExecutor().run_tasks(fail_on_two, None, {"a": 1, "b": 2, "c": 3}))
    by_key = {o.key: o for o in outcomes}
    assert isinstance(by_key["a"], TaskOutcome) and by_key["a"].value == 10
    assert by_key["b"].error is not None and by_key["b"].error["error"] == "ValueError"
    assert by_key["c"].ok and by_key["c"].value == 30


# --------------------------------------------------------------------------- command line
@pytest.mark.parametrize("command", ["curve", "capacity", "size", "sweep"])
def test_zero_workers_is_a_usage_error(command: str, cams: Path) -> None:
    extra = ["--vary", "cameras", "--from", "2", "--to", "4"] if command == "curve" else []
    r = CliRunner().invoke(main, [command, str(cams), *extra, "--workers", "0"])
    assert r.exit_code == 2, r.output
    assert "'--workers'" in r.output and "0 is not in the range x>=1" in r.output
    assert "Traceback" not in r.output


_BAD_SWEEP = """
scenario = "cams.toml"
[sweep]
[sweep.grid]
"cameras.north.bitrate" = ["4Mbps", "4Mbpz"]
"""


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the local worker pools started meanwhile (none: no worker started)."""
    started: list[int] = []
    new_pool = ProcessExecutor._new_pool

    def counted(self: ProcessExecutor, workers: int) -> Any:
        started.append(workers)
        return new_pool(self, workers)

    monkeypatch.setattr(ProcessExecutor, "_new_pool", counted)
    return started


@pytest.mark.parametrize(
    ("command", "bad"),
    [
        ("size", ["--costs", "{costs}"]),
        ("size", ["--replications", "3", "--max-replications", "2"]),
        ("curve", ["--vary", "cameras", "--from", "10", "--to", "2"]),
        ("curve", ["--vary", "nosuch", "--from", "1", "--to", "2"]),
        ("capacity", ["--vary", "cameras", "--start", "0"]),
        ("capacity", ["--tolerance", "0.5", "--confidence", "1.5"]),
        ("sweep", []),
    ],
)
def test_a_refusal_starts_no_worker_and_reads_as_on_one_worker(
    command: str,
    bad: list[str],
    cams: Path,
    tmp_path: Path,
    write_text: Callable[[Path, str], Path],
    pools: list[int],
) -> None:
    costs = write_text(tmp_path / "costs.toml", "[fibre]\ntrench_per_km = -1\n")
    file = write_text(tmp_path / "sweep.toml", _BAD_SWEEP) if command == "sweep" else cams
    args = [command, str(file), *[a.format(costs=costs) for a in bad]]
    args += ["--out", str(tmp_path / "o")]
    pooled = CliRunner().invoke(main, [*args, "--workers", "2"])
    alone = CliRunner().invoke(main, [*args, "--workers", "1"])
    assert pooled.exit_code == alone.exit_code != 0, pooled.output
    assert pooled.output == alone.output and "Traceback" not in pooled.output
    assert pools == []  # refused before any worker process was started


# valid in year 1; in year 2 a camera at a new node that no link reaches
_UNREACHABLE_IN_YEAR_2 = """
[[growth]]
year = 2
[[growth.nodes]]
id = "island"
[[growth.cameras]]
name = "east"
count = 1
attach = "island"
bitrate = "4Mbps"
destinations = ["cc"]
"""


def test_a_size_refused_for_a_later_year_starts_no_worker_and_simulates_nothing(
    tmp_path: Path, write_text: Callable[[Path, str], Path], pools: list[int]
) -> None:
    file = write_text(tmp_path / "grow.toml", CAMS + _UNREACHABLE_IN_YEAR_2)
    out = tmp_path / "o"
    r = CliRunner().invoke(main, ["size", str(file), "--out", str(out), "--workers", "2"])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    assert "growth[0].cameras[0] (name=\"east\").destinations: destination 'cc' cannot " in r.output
    assert "Traceback" not in r.output
    assert pools == []  # refused before any worker process was started
    assert not list(out.rglob("*.parquet"))  # and before year 1 was simulated


def test_a_cluster_starts_when_the_job_starts_the_executor() -> None:
    distributed = pytest.importorskip("distributed")
    clusters: list[Any] = []

    def start_cluster() -> Any:
        clusters.append(
            distributed.LocalCluster(
                n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
            )
        )
        return clusters[-1]

    with DaskExecutor(cluster_factory=start_cluster) as executor:
        assert clusters == []  # entered: nothing started (a refusal comes before start())
        executor.start()
        assert len(clusters) == 1 and executor.slots == 1
        outcomes = list(executor.run_tasks(fail_on_two, None, {"a": 1}))
    assert [o.value for o in outcomes] == [10] and len(clusters) == 1
    assert clusters[0].status.name == "closed"


@pytest.mark.parametrize(
    ("command", "bad"),
    [
        ("size", ["--replications", "3", "--max-replications", "2"]),
        ("size-grown", []),
        ("curve", ["--vary", "nosuch", "--from", "1", "--to", "2"]),
        ("capacity", ["--vary", "cameras", "--start", "0"]),
        ("sweep", []),
    ],
)
@pytest.mark.usefixtures("needs_jobqueue")
def test_a_refused_command_starts_no_cluster(
    command: str,
    bad: list[str],
    cams: Path,
    tmp_path: Path,
    write_text: Callable[[Path, str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = {
        "sweep": lambda: write_text(tmp_path / "sweep.toml", _BAD_SWEEP),
        "size-grown": lambda: write_text(tmp_path / "g.toml", CAMS + _UNREACHABLE_IN_YEAR_2),
    }
    file = files.get(command, lambda: cams)()
    started: list[str] = []
    monkeypatch.setattr(executors, "jobqueue_cluster", lambda kind, *_, **__: started.append(kind))
    args = [command.split("-")[0], str(file), *bad, "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(main, [*args, "--cluster", "slurm"])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    assert "Traceback" not in r.output
    assert started == []  # refused before the cluster was started


@pytest.mark.parametrize("command", ["capacity", "size"])
def test_an_unreachable_scheduler_is_one_clear_error(
    command: str, cams: Path, tmp_path: Path
) -> None:
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        r = CliRunner().invoke(
            main,
            [command, str(cams), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"],
        )
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot reach a Dask scheduler" in lines[0]
    assert "tcp://127.0.0.1:9" in lines[0]


def test_workers_and_a_scheduler_together_are_a_usage_error(cams: Path) -> None:
    r = CliRunner().invoke(
        main, ["capacity", str(cams), "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert r.exit_code == 2 and "cannot be used together" in r.output


def test_the_analysis_commands_take_the_executor_options() -> None:
    for command in ("curve", "capacity", "size", "sweep"):
        r = CliRunner().invoke(main, [command, "--help"])
        assert r.exit_code == 0
        for option in ("--workers", "--scheduler", "--cluster", "--jobs", "--walltime"):
            assert option in r.output, (command, option)


def test_capacity_on_one_worker_from_the_command_line(
    cams: Path, tmp_path: Path, serial_capacity: Any
) -> None:
    out = tmp_path / "cap"
    args = ["capacity", str(cams), "--out", str(out), "--replications", "2", "--workers", "1"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    lib = serial_capacity
    assert pd.read_parquet(out / "capacity.parquet").drop(columns="partial").equals(lib.table())


# --------------------------------------------------------------------------- the benchmark
def _benchmark_module(repo: Path) -> Any:
    """benchmarks/test_analysis_speed.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location(
        "analysis_speed", repo / "benchmarks" / "test_analysis_speed.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_the_speedup_benchmark_computes_what_it_reports(repo: Path) -> None:
    bench = _benchmark_module(repo)
    f = bench.serial_fraction(1.6, 2)
    assert f == pytest.approx(0.25) and bench.amdahl_speedup(f, 2) == pytest.approx(1.6)
    assert bench.amdahl_speedup(0.0, 32) == pytest.approx(32.0)
    assert isinstance(bench.executor_for(1), SerialExecutor)
    assert isinstance(bench.executor_for(2), ProcessExecutor)


@pytest.mark.slow  # four capacity searches and sizings
def test_the_speedup_benchmark_reports_what_it_measured(
    cams: Path, tmp_path: Path, write_text: Callable[[Path, str], Path], repo: Path
) -> None:
    bench = _benchmark_module(repo)
    grow = write_text(tmp_path / "grow.toml", GROW)
    for job in (bench.capacity_job(cams, 10**11, maximum=32), bench.size_job(grow, 10**11)):
        report = bench.compare_workers(
            job, make=lambda n: SerialExecutor() if n == 1 else WideSerial()
        )
        assert set(report) >= {"speedup", "serial_fraction", "predicted_speedup_32"}
        assert 0.0 <= report["serial_fraction"] <= 1.0


def test_the_progress_bar_follows_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from vidnet_sim.cli.analysis import _Bar

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with _Bar("capacity") as bar:
        assert bar.progress is not None
        bar(JobProgress(done=3, running=2, total=8, reused=1, detail="cameras=8 rep 1"))
        task = bar.progress.tasks[0]
        assert (task.completed, task.total) == (3, 8)
        assert task.fields == {"running": 2, "reused": 1}
    assert bar.reused == 1
