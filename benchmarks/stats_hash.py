"""Hash what a run computes, to show a change of structure changed no result.

    python benchmarks/stats_hash.py [SCENARIO_DIR] [--threads N]

Runs the example scenarios with the Numba core for a short time each and prints a hash of
every field of their ``RunStats`` (the wall time and fields added since the hashes in
docs/performance.md were recorded left out), so the same command run on two commits, with the
same scenario files, shows whether anything the engine computes differs; ``--threads 2``
runs the core on two threads (the network cut in two parts), which must print the same. SLA
keys are written under their old names (``packet_latency_*``), which every version accepts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from vidnet_sim.runner import run
from vidnet_sim.scenario.units import parse_time

#: Fields left out: the wall time, and the fields added after the first hashes (the exact
#: latency sums, the links' wait sums and the per-queue statistics).
SKIP = {
    "wall_seconds",
    "latency_sum_ps",
    "frame_latency_sum_ps",
    "link_wait_sum_ps",
    "link_started",
    *(
        f"queue_{k}"
        for k in (
            "packets",
            "bytes",
            "drops",
            "drop_bytes",
            "peak_bytes",
            "peak_packets",
            "wait_sum_ps",
            "started",
            "peak_wait_ps",
        )
    ),
}
CASES = (
    ("small-town", "3s"),
    ("mid-city-services", "2s"),
    ("mid-city", "2s"),
    ("small-town-growth", "2s"),
)


def stats_hash(scenario: Path, duration: str, threads: int = 1) -> str:
    """The hash of the ``RunStats`` of ``scenario`` run for ``duration``."""
    text = re.sub(r"^latency_p", "packet_latency_p", scenario.read_text(), flags=re.M)
    copy = Path(tempfile.mkdtemp()) / scenario.name
    copy.write_text(text)
    stats = run(copy, write=False, duration_ps=parse_time(duration), threads=threads).stats
    h = hashlib.sha256()
    for name in sorted(f.name for f in dataclasses.fields(stats)):
        if name in SKIP:
            continue
        value = getattr(stats, name)
        h.update(name.encode())
        h.update(repr(value.tolist() if isinstance(value, np.ndarray) else value).encode())
    return h.hexdigest()[:16]


def take_threads(args: list[str]) -> int:
    """The value of a ``--threads N`` option in ``args`` (1 without one), the option and its
    value taken out of ``args``."""
    if "--threads" not in args:
        return 1
    i = args.index("--threads")
    threads = int(args[i + 1])
    del args[i : i + 2]
    return threads


def main() -> None:
    args = sys.argv[1:]
    threads = take_threads(args)
    folder = Path(args[0]) if args else Path(__file__).parent.parent / "scenarios"
    for name, duration in CASES:
        print(name, stats_hash(folder / f"{name}.toml", duration, threads), flush=True)


if __name__ == "__main__":
    main()
