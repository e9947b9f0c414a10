"""Capacity search and sizing on 1 and 2 local worker processes, in the same run: the speed-up,
the serial fraction it implies (Amdahl) and the speed-up 32 cores would give by the same law.

Run: ``python -m pytest benchmarks/test_analysis_speed.py -m benchmark --benchmark-enable -s``

Both runs of a pair start from an empty run store (nothing reused) and include starting the
worker processes (and the serial run, loading the compiled core in this process). The answers
of the two runs are checked to be identical. The machine's other load is not controlled: run
it when the machine is otherwise idle, and repeat.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vidnet_sim.analysis.capacity import find_capacity
from vidnet_sim.analysis.sizing import size_network
from vidnet_sim.execute import Executor, ProcessExecutor, SerialExecutor, TaskOutcome

ROOT = Path(__file__).resolve().parent.parent
MID_CITY = ROOT / "scenarios" / "mid-city.toml"
MID_CITY_GROWTH = ROOT / "scenarios" / "mid-city-growth.toml"

pytestmark = pytest.mark.benchmark


def serial_fraction(speedup: float, workers: int) -> float:
    """Amdahl's serial fraction ``f`` from a measured speed-up on ``workers`` workers:
    ``speedup = 1 / (f + (1 - f) / workers)``."""
    if workers < 2:
        raise ValueError("the serial fraction needs at least 2 workers")
    return (workers / speedup - 1) / (workers - 1)


def amdahl_speedup(fraction: float, workers: int) -> float:
    """The speed-up on ``workers`` workers of a job whose serial fraction is ``fraction``."""
    return 1.0 / (fraction + (1.0 - fraction) / workers)


def executor_for(workers: int) -> Executor:
    """What ``--workers N`` gives."""
    return SerialExecutor() if workers <= 1 else ProcessExecutor(workers)


def capacity_job(
    file: Path, duration_ps: int | None, maximum: float | None = None
) -> Callable[..., Any]:
    """The capacity search of ``file`` (cameras, 2 replications; ``duration_ps`` ``None``:
    the scenario's), on a given executor."""

    def job(executor: Executor, store: Path) -> Any:
        res = find_capacity(
            file,
            "cameras",
            maximum=maximum,
            replications=2,
            max_replications=4,
            duration_ps=duration_ps,
            cache_dir=store,
            estimates=False,
            executor=executor,
        )
        return res.capacity, res.first_fail, res.table().to_dict("records")

    return job


def size_job(file: Path, duration_ps: int | None) -> Callable[..., Any]:
    """The sizing of ``file`` (2 replications, no vendor check; ``duration_ps`` ``None``: the
    scenario's), on a given executor."""

    def job(executor: Executor, store: Path) -> Any:
        res = size_network(
            file,
            replications=2,
            max_replications=4,
            duration_ps=duration_ps,
            cache_dir=store,
            vendor_check=False,
            executor=executor,
        )
        return [y.rates for y in res.years], res.trials().to_dict("records")

    return job


class TaskClock:
    """An executor that adds up how long its tasks took where they ran (``task_seconds``)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.task_seconds = 0.0

    def run_tasks(self, fn: Any, shared: Any, items: Any) -> Iterator[TaskOutcome]:
        for outcome in self.inner.run_tasks(fn, shared, items):
            self.task_seconds += outcome.wall_seconds
            yield outcome

    def __enter__(self) -> TaskClock:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)

    def start(self) -> None:
        self.inner.start()

    def close(self) -> None:
        self.inner.close()

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def slots(self) -> int:
        return self.inner.slots

    @property
    def shares_files(self) -> bool:
        return self.inner.shares_files


def compare_workers(
    job: Callable[..., Any],
    workers: tuple[int, int] = (1, 2),
    make: Callable[[int], Executor] = executor_for,
) -> dict[str, Any]:
    """Time ``job`` on each number of workers (fresh stores, executors from ``make``); check
    the answers are equal; the speed-up, the serial fraction it implies and the predicted
    32-core speed-up; and the share of the first run spent outside its tasks (the job's own
    work: a lower bound of the serial fraction that the machine's other load hardly moves)
    with the 32-core speed-up it predicts."""
    seconds: list[float] = []
    answers: list[Any] = []
    clocks: list[TaskClock] = []
    for n in workers:
        with tempfile.TemporaryDirectory() as store:
            t0 = time.perf_counter()  # the workers' start and warm-up count
            with TaskClock(make(n)) as executor:
                answers.append(job(executor, Path(store)))
            seconds.append(time.perf_counter() - t0)
            clocks.append(executor)
    if answers[0] != answers[1]:
        raise AssertionError(f"the answer depends on the number of workers: {answers}")
    speedup = seconds[0] / seconds[1]
    fraction = min(1.0, max(0.0, serial_fraction(speedup, workers[1] // workers[0])))
    # the first run's time outside its tasks: the job's own work, which no worker shares
    outside = min(1.0, max(0.0, 1.0 - clocks[0].task_seconds / seconds[0]))
    return {
        "workers": list(workers),
        "seconds": seconds,
        "speedup": speedup,
        "serial_fraction": fraction,
        "predicted_speedup_32": amdahl_speedup(fraction, 32),
        "outside_tasks_fraction": outside,
        "predicted_speedup_32_from_outside": amdahl_speedup(outside, 32),
    }


@pytest.mark.parametrize(
    "name, job",
    [
        ("capacity", capacity_job(MID_CITY, None, maximum=4000)),
        ("size", size_job(MID_CITY_GROWTH, None)),
    ],
)
def test_mid_city_speedup_on_two_workers(
    name: str, job: Callable[..., Any], benchmark: Any
) -> None:
    """The capacity search of the mid-size city (10 s simulated per run, as the scenario
    says) and the sizing of its 4-year growth plan with N-1 (4 s per run) on 1 and 2
    workers."""
    report = benchmark.pedantic(compare_workers, args=(job,), rounds=1, iterations=1)
    benchmark.extra_info.update(report)
    print(f"\n{name}: " + json.dumps(report))
    # a measurement, not a check: the speed-up depends on what else the machine runs (the
    # answers were checked identical above); the figures go to docs/performance.md
