"""Run ``vidnet-sim run SCENARIO --packets --duration DURATION --out DIR`` in this process and
print the process's peak resident memory and the table's rows as JSON (used by
benchmarks/test_packets_memory.py, each case in a fresh process).

``python benchmarks/packets_case.py SCENARIO DURATION DIR [more run options]``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from peak_memory import peak_rss_mib
from vidnet_sim.cli import main as cli


def main() -> None:
    path, duration, out = sys.argv[1:4]
    t0 = time.perf_counter()
    args = ["run", path, "--packets", "--duration", duration, "--out", out, "--json"]
    try:
        cli.main(args + sys.argv[4:], standalone_mode=False)
    except SystemExit as exc:  # the command's own exit
        if exc.code:
            raise
    wall = time.perf_counter() - t0
    manifest = json.loads((Path(out) / "manifest.json").read_text())
    print(
        json.dumps(
            {
                "scenario": path,
                "duration": duration,
                "rows": manifest["packets"]["rows"],
                "packet_hops": manifest["packet_hops"],
                "wall_s": wall,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )


if __name__ == "__main__":
    main()
