"""A cold start: an empty Numba cache still compiles and runs (slow: a minute or more)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_cold_start_compiles_and_runs(tmp_path: Path, repo: Path, src_env: dict[str, str]) -> None:
    env = dict(src_env, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    out = tmp_path / "res"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vidnet_sim.cli",
            "run",
            str(repo / "scenarios" / "small-town.toml"),
            "--duration",
            "1s",
            "--out",
            str(out),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.parquet").exists()
    assert any((tmp_path / "numba-cache").rglob("*.nbi")), "nothing was cached"


#: A cold start of the precompile's three runs (tests/xdist_workers.py) in one process,
#: printing how many signatures Numba compiled of each of the package's kernels.
_COUNT_COMPILES = """
import collections, json, sys
from numba.core import event
from vidnet_sim.runner import run
from vidnet_sim.scenario.units import parse_time

compiled = collections.Counter()


class Count(event.Listener):
    def on_start(self, ev):
        f = ev.data["dispatcher"].py_func
        compiled[f.__module__ + "." + f.__qualname__] += 1

    def on_end(self, ev):
        pass


event.register("numba:compile", Count())
run(sys.argv[1], write=False, duration_ps=parse_time("50ms"), threads=1)
run(sys.argv[1], write=False, duration_ps=parse_time("50ms"), threads=2)
run(sys.argv[1], write=False, duration_ps=parse_time("20ms"), engine="reference")
print(json.dumps(compiled))
"""


@pytest.mark.slow
def test_a_cold_start_compiles_each_kernel_once(
    tmp_path: Path, repo: Path, src_env: dict[str, str]
) -> None:
    """No kernel is compiled for a second signature by a one-thread, a two-thread and a
    reference run: a literal argument (``False``, a column's number) passed to a kernel
    that is not inlined compiles it once more per value (``kernel._value``). ``_grow_ring``
    has two: the offsets of the links' rings are a column of the link table (layout ``A``),
    the queues' a 1-D array of their own (``C``). small-town's links are FIFO links without
    failures, its 50 ms one epoch (its alarm is at 10 s) and no run logs packets: the
    general and the scheduled link loops are not compiled (``kernel._windows``'
    ``general_loop`` and ``sched_loop`` are None)."""
    env = dict(src_env, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    proc = subprocess.run(
        [sys.executable, "-c", _COUNT_COMPILES, str(repo / "scenarios" / "small-town.toml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    compiled = json.loads(proc.stdout.strip().splitlines()[-1])
    ours = {name: n for name, n in compiled.items() if name.startswith("vidnet_sim.")}
    assert "vidnet_sim.core.kernel._windows" in ours
    assert "vidnet_sim.core.kernel._process_link_plain" in ours
    assert "vidnet_sim.core.kernel._process_link" not in ours
    assert "vidnet_sim.core.kernel._process_link_sched" not in ours
    twice = {name: n for name, n in ours.items() if n > 1}
    assert twice == {"vidnet_sim.core.kernel._grow_ring": 2}
