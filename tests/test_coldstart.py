"""A cold start: an empty Numba cache still compiles and runs (slow: a minute or more)."""

from __future__ import annotations

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
