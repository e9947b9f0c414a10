"""Where a cold start's compile goes: each kernel's compile time and signatures.

    NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/compile_times.py [one] [two] [reference]

Runs small-town briefly in this process, as the test suite's precompile does
(tests/xdist_workers.py): on one thread (50 ms), on two (50 ms), with the reference engine
(20 ms), or the runs named. With an empty ``NUMBA_CACHE_DIR`` every kernel they call is
compiled; Numba's ``numba:compile`` events time each compile. For each run it prints the
process's wall and CPU seconds, then per kernel the signatures compiled and the seconds of
its compiles less the compiles nested in them (wall time: on a busy machine only the
proportions count), then the argument types of every kernel compiled more than once.
"""

from __future__ import annotations

import collections
import sys
import time
from pathlib import Path
from typing import Any

from numba.core import event

from vidnet_sim.runner import run
from vidnet_sim.scenario.units import parse_time

SMALL_TOWN = Path(__file__).resolve().parent.parent / "scenarios" / "small-town.toml"

#: Each run's keyword arguments of ``vidnet_sim.runner.run``.
RUNS: dict[str, dict[str, Any]] = {
    "one": {"duration_ps": parse_time("50ms"), "threads": 1},
    "two": {"duration_ps": parse_time("50ms"), "threads": 2},
    "reference": {"duration_ps": parse_time("20ms"), "engine": "reference"},
}


class Compiles(event.Listener):
    """Each compile's kernel, argument types and seconds less its nested compiles."""

    def __init__(self) -> None:
        self.open: list[list[float]] = []  # [start, seconds of nested compiles]
        self.done: list[tuple[str, str, float]] = []

    def on_start(self, ev: event.Event) -> None:
        self.open.append([time.perf_counter(), 0.0])

    def on_end(self, ev: event.Event) -> None:
        start, nested = self.open.pop()
        took = time.perf_counter() - start
        if self.open:
            self.open[-1][1] += took
        f = ev.data["dispatcher"].py_func
        name = f"{f.__module__.rsplit('.', 1)[-1]}.{f.__qualname__}"
        self.done.append((name, str(ev.data["args"]), took - nested))


def main() -> None:
    """Run the runs named on the command line (all by default) and print their compiles."""
    compiles = Compiles()
    event.register("numba:compile", compiles)
    for name in sys.argv[1:] or list(RUNS):
        compiles.done.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        run(SMALL_TOWN, write=False, **RUNS[name])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, {len(compiles.done)} compiles")
        seconds: dict[str, float] = collections.defaultdict(float)
        signatures: dict[str, list[str]] = collections.defaultdict(list)
        for kernel, args, took in compiles.done:
            seconds[kernel] += took
            signatures[kernel].append(args)
        for kernel in sorted(seconds, key=lambda k: -seconds[k]):
            print(f"  {kernel:40s} {len(signatures[kernel]):2d} {seconds[kernel]:8.2f} s")
        for kernel, args_list in signatures.items():
            if len(args_list) > 1:
                print(f"  {kernel} compiled for:", *args_list, sep="\n    ")


if __name__ == "__main__":
    main()
