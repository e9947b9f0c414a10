"""Warming a new worker process: its imports and the compiled core loaded before its first task.

A spawned worker starts with nothing imported; its first simulation would pay for importing
the package (pandas, pyarrow, pydantic, Numba: about 2 s) and for loading the compiled kernels
from Numba's cache (about 1 s, or compiling them the first time on a machine). A
:class:`~vidnet_sim.execute.ProcessExecutor` has each worker do that as it starts, by
simulating a tiny scenario, while the job's own process does its set-up.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from vidnet_sim.runner import run
from vidnet_sim.scenario import parse_scenario_dict

__all__ = ["warm_up"]

#: Two cameras on one link for 20 ms: every kernel a run calls, at no cost. (Two camera
#: groups: with one, a statistics table is both C- and Fortran-ordered and Numba would load a
#: specialisation of the core that no real run uses.)
_TINY: dict[str, Any] = {
    "name": "warm-up",
    "simulation": {"duration": "20ms", "warmup": "0ms", "seed": 1, "window": "10ms"},
    "nodes": [{"id": "a"}, {"id": "b"}],
    "links": [{"a": "a", "b": "b", "rate": "100Mbps"}],
    "cameras": [
        {"name": name, "count": 1, "attach": "a", "bitrate": "4Mbps", "destinations": ["b"]}
        for name in ("c1", "c2")
    ],
}


#: What makes the tiny scenario's link a scheduled one: its two cameras in two classes, each
#: in its own queue of a strict-priority scheduler.
_QOS: dict[str, Any] = {
    "scheduler": "priority",
    "queues": [
        {"name": "first", "dscp": ["AF41"], "priority": 0},
        {"name": "second", "dscp": ["CS3"], "priority": 1},
    ],
}


def warm_up(*, packets: bool = False, scheduled: bool = False) -> float:
    """Import the engine and load its compiled kernels by simulating a tiny scenario (nothing
    is written). Returns the seconds it took.

    A run compiles only the link loops it reaches (``core.engine.link_loops``): by default
    the plain FIFO loop; with ``packets`` the run logs its packets, which takes the general
    FIFO loop instead (as more than one epoch does), and with ``scheduled`` its link has a
    scheduler, which takes the scheduled links' loop: each combination loads (or compiles)
    a variant of the core of its own."""
    tiny = copy.deepcopy(_TINY)
    if scheduled:
        tiny["qos"] = copy.deepcopy(_QOS)
        tiny["cameras"][0]["class"] = "live"
    t0 = time.perf_counter()
    run(parse_scenario_dict(tiny, source="warm-up"), write=False, packets=packets)
    return time.perf_counter() - t0
