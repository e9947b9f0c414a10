"""Memory of ``run --packets`` (and ``--hops``): the per-packet tables are streamed window by
window, so the peak resident memory of a run 10x longer stays about the same (fresh
processes, the small town for 5 s and 50 s simulated: 84 580 and 1 090 591 rows).

Run: ``python -m pytest benchmarks/test_packets_memory.py -m benchmark --benchmark-enable -s``
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL_TOWN = ROOT / "scenarios" / "small-town.toml"

pytestmark = pytest.mark.benchmark


def _case(duration: str, out: Path, *options: str) -> dict[str, float]:
    """``run --packets`` (and ``options``) of the small town for ``duration`` in a fresh
    process."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "packets_case.py"), str(SMALL_TOWN)]
    done = subprocess.run(
        [*cmd, duration, str(out), *options], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_packets_memory_flat(tmp_path: Path) -> None:
    """Peak memory of ``run --packets`` over 50 s simulated within 30 % of 5 s."""
    # a short case first, so that neither measured process compiles a kernel missing from
    # the cache (the compiler's memory would count in its peak)
    _case("1s", tmp_path / "warm")
    short = _case("5s", tmp_path / "short")
    long = _case("50s", tmp_path / "long")
    growth = long["peak_rss_mib"] / short["peak_rss_mib"]
    print(
        f"\nrun --packets, small town: 5 s: {short['rows']:,.0f} rows, "
        f"{short['peak_rss_mib']:.0f} MiB peak, {short['wall_s']:.1f} s; "
        f"50 s: {long['rows']:,.0f} rows, {long['peak_rss_mib']:.0f} MiB peak, "
        f"{long['wall_s']:.1f} s; ratio {growth:.3f}"
    )
    assert long["rows"] > 10 * short["rows"]
    assert growth < 1.3


def test_hops_memory_flat(tmp_path: Path) -> None:
    """Peak memory of ``run --hops`` (the per-hop table too, about four rows per packet)
    over 50 s simulated within 30 % of 5 s."""
    _case("1s", tmp_path / "warm", "--hops")
    short = _case("5s", tmp_path / "short", "--hops")
    long = _case("50s", tmp_path / "long", "--hops")
    growth = long["peak_rss_mib"] / short["peak_rss_mib"]
    print(
        f"\nrun --hops, small town: 5 s: {short['peak_rss_mib']:.0f} MiB peak, "
        f"{short['wall_s']:.1f} s; 50 s: {long['peak_rss_mib']:.0f} MiB peak, "
        f"{long['wall_s']:.1f} s; ratio {growth:.3f}"
    )
    assert long["rows"] > 10 * short["rows"]
    assert growth < 1.3
