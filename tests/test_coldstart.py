"""A cold start: an empty Numba cache still compiles and runs (slow: a minute or more)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_cold_start_compiles_and_runs(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    out = tmp_path / "res"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vidnet_sim.cli",
            "run",
            str(ROOT / "scenarios" / "small-town.toml"),
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
