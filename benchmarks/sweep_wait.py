"""How long a sweep waits before its first point, and how long it takes in all.

    python benchmarks/sweep_wait.py [SCENARIO] [--designs N] [--duration D]
                                    [--workers 1,2] [--replications R]

Sweeps ``SCENARIO`` (default: the mid-size city) over ``N`` designs (default 40: the first
camera group's count from 40 up, one design each), each simulated for ``D`` (default
``20ms``: the points are short, the wait before them is what is measured), on each number of
local workers in turn, into a fresh folder each time; prints the seconds from the call of
``run_sweep`` to its start note (the points about to run: the up-front check done), to the
first point finished, and to the end, with the process's CPU seconds (its workers' left
out). The old code is measured with the same script (``PYTHONPATH`` naming its ``src``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from vidnet_sim.scenario.toml_file import read_toml
from vidnet_sim.sweep import run_sweep, sweep_from_dict

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Parse the options and time the sweeps."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "mid-city.toml"))
    ap.add_argument("--designs", type=int, default=40)
    ap.add_argument("--duration", default="20ms")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--replications", type=int, default=1)
    args = ap.parse_args()
    path = Path(args.scenario)
    data = read_toml(path)
    data["simulation"]["duration"] = args.duration
    data["simulation"]["warmup"] = "0ms"
    first = int(data["cameras"][0]["count"])
    spec: dict[str, Any] = {
        "replications": args.replications,
        "grid": {"cameras[0].count": list(range(first, first + args.designs))},
    }
    print(
        f"{path.name}: {args.designs} designs x {args.replications} replication(s), "
        f"{args.duration} each; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'workers':>7} {'to start s':>11} {'to 1st point s':>15} {'total s':>8} {'cpu s':>7}")
    for workers in (int(w) for w in args.workers.split(",")):
        sweep = sweep_from_dict(data, spec, name="wait", source=str(path), base_dir=path.parent)
        marks: dict[str, float] = {}

        def on_start(
            _todo: int, _skipped: int, _where: str, marks: dict[str, float] = marks
        ) -> None:
            marks.setdefault("start", time.perf_counter())

        def on_progress(*_: Any, marks: dict[str, float] = marks) -> None:
            marks.setdefault("first", time.perf_counter())

        with tempfile.TemporaryDirectory() as tmp:
            t0, c0 = time.perf_counter(), time.process_time()
            report = run_sweep(
                sweep,
                Path(tmp) / "out",
                workers=workers,
                on_start=on_start,
                on_progress=on_progress,
            )
            t1, c1 = time.perf_counter(), time.process_time()
        assert not report.failed, report.failed
        print(
            f"{workers:>7} {marks['start'] - t0:>11.2f} {marks['first'] - t0:>15.2f} "
            f"{t1 - t0:>8.2f} {c1 - c0:>7.2f}"
        )


if __name__ == "__main__":
    main()
