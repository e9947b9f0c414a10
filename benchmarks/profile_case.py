"""Run one scenario with the Numba core under ``perf`` and name the kernels in its profile.

    perf record -e cpu-clock -F 1999 -o perf.data \\
        python benchmarks/profile_case.py SCENARIO DURATION [WINDOW] [--threads 2]
    perf report -i perf.data --no-children --sort dso,sym

With ``--threads 2`` the core runs on two threads (``--sort tid,sym`` then shows each
part's thread apart: the downstream part runs on the main thread, the upstream part on
the other).

Numba's machine code lives in anonymous memory, so ``perf`` shows its samples as bare
addresses under ``[JIT]``. After the run this script writes ``/tmp/perf-<pid>.map`` (the
file ``perf report`` reads for such code): every function of the kernels' compile cache
(read with ``nm`` from the object code Numba caches) at the address the process loaded it.
Functions Numba inlined have no entry; their samples count in their caller. The process
name ``[JIT] tid <pid>`` in the report is this process. Uses Numba internals (the cache
files' layout, the code generator's engine): a tool for profiling, not a library.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from numba.core.registry import cpu_target

from stats_hash import take_threads
from vidnet_sim._compile_cache import compile_cache_dir
from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import make_engine, with_overrides
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.units import parse_time
from vidnet_sim.timeline.driver import drive, epoch_bounds, scenario_actions


def _objects(tree: Any) -> Iterator[bytes]:
    """The ELF object files inside an unpickled Numba cache entry."""
    if isinstance(tree, bytes | bytearray) and tree[:4] == b"\x7fELF":
        yield bytes(tree)
    elif isinstance(tree, tuple | list):
        for x in tree:
            yield from _objects(x)
    elif isinstance(tree, dict):
        for x in tree.values():
            yield from _objects(x)


def _short(symbol: str) -> str:
    """``vidnet_sim.core.kernel._process_link_plain`` from a mangled Numba symbol (the
    length-prefixed names after ``_ZN``)."""
    names, i = [], symbol.find("_ZN") + 3
    while 2 < i < len(symbol) and symbol[i].isdigit():
        digits = re.match(r"\d+", symbol[i:])
        assert digits is not None
        n = int(digits.group())
        i += len(digits.group())
        names.append(symbol[i : i + n])
        i += n
    return ".".join(names) or symbol[:60]


def write_perf_map() -> Path:
    """Write ``/tmp/perf-<pid>.map`` for the kernels this process has loaded."""
    engine = cpu_target.target_context.codegen()._engine
    found: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        obj = Path(tmp) / "entry.o"
        for entry in sorted(compile_cache_dir().rglob("*.nbc")):
            try:
                tree = pickle.loads(entry.read_bytes())  # (our own cache)
            except Exception:  # an entry of another Numba version: skip it
                continue
            for code in _objects(tree):
                obj.write_bytes(code)
                listing = subprocess.run(
                    ["nm", "--defined-only", str(obj)], check=True, capture_output=True, text=True
                ).stdout
                for line in listing.splitlines():
                    fields = line.split()
                    if len(fields) == 3 and fields[1] in "Tt":
                        address = engine.get_function_address(fields[2])
                        if address:
                            found[address] = _short(fields[2])
    starts = sorted(found)
    path = Path(f"/tmp/perf-{os.getpid()}.map")
    with path.open("w") as out:
        for a, b in zip(starts, [*starts[1:], starts[-1] + 65536], strict=True):
            out.write(f"{a:x} {min(b - a, 1 << 20):x} {found[a]}\n")
    return path


def main() -> None:
    args = sys.argv[1:]
    threads = take_threads(args)
    path, duration = Path(args[0]), parse_time(args[1])
    scenario = with_overrides(
        load_scenario(path),
        duration_ps=duration,
        window_ps=parse_time(args[2]) if len(args) > 2 else None,
    )
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    epochs, _ = epoch_bounds(actions, duration)
    engine = make_engine(plan, scenario, epochs=epochs, threads=threads)
    engine.prepare()  # load (or compile) the kernels
    c0 = time.thread_time()
    stats = drive(engine, actions, duration)
    cpu = time.thread_time() - c0
    print(
        f"{stats.packet_hops:,} packet-hops: {stats.packet_hops / stats.wall_seconds / 1e6:.1f} "
        f"M/s of wall time, {stats.packet_hops / cpu / 1e6:.1f} M/s of CPU time; "
        f"perf map {write_perf_map()}"
    )


if __name__ == "__main__":
    main()
