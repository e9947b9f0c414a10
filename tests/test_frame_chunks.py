"""Python's frame-stack chunks are reused, not unmapped and faulted in again at every return
(:mod:`vidnet_sim._frame_chunks`), and the interpreter works as before with the cache."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vidnet_sim import _frame_chunks

MODULE = Path(_frame_chunks.__file__)

#: Calls that go up and down across a chunk's end, 600 000 times in all, from fresh threads
#: and deep recursions too; prints the page faults of the up-and-down calls and a checksum.
PROGRAM = """
import importlib.util, json, resource, sys, threading
if sys.argv[1] == "cache":
    spec = importlib.util.spec_from_file_location("frame_chunks", sys.argv[2])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._kept, "the cache was not installed"

def down(n):
    return 0 if n == 0 else down(n - 1) + 1

def across():
    total = 0
    for depth in range(1, 400):
        for _ in range(1500):
            total += down(depth)
    return total

faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
total = across()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
results = []
threads = [threading.Thread(target=lambda: results.append(down(900))) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
sys.setrecursionlimit(20000)
deep = down(15000)
try:
    down(10**6)
except RecursionError:
    deep += 1
print(json.dumps({"faults": faults, "sum": total + sum(results) + deep}))
"""


def _run(mode: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode, str(MODULE)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(not _frame_chunks.applies(), reason="not CPython 3.11-3.13 with the GIL")
def test_the_package_puts_the_cache_in_front_of_the_arena_allocator() -> None:
    assert _frame_chunks.keep_frame_chunks()
    now = _frame_chunks._ArenaAllocator()
    ctypes.pythonapi.PyObject_GetArenaAllocator(ctypes.byref(now))
    state = _frame_chunks._kept[0]
    assert now.ctx == ctypes.cast(state, ctypes.c_void_p).value
    assert state[_frame_chunks._ALLOC] != now.alloc


@pytest.mark.skipif(not _frame_chunks.applies(), reason="not CPython 3.11-3.13 with the GIL")
def test_calls_across_a_chunks_end_fault_no_pages_with_the_cache() -> None:
    without, with_cache = _run("plain"), _run("cache")
    assert with_cache["sum"] == without["sum"]
    # without: four faults for each of the 600 000 calls that open a chunk (of some depths)
    assert without["faults"] > 100_000
    assert with_cache["faults"] < without["faults"] / 20
