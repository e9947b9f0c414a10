"""The ns-3 comparison, end to end on small cases: ``python -m pytest -m slow benchmarks/peers``.

Not part of the default test run (marked ``slow``); skipped unless the ``ns3`` package is
installed in the interpreter running pytest (``pip install -e ".[peers]"``). Importing ns-3
alone takes 10-70 s.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

pytestmark = pytest.mark.slow


def test_md1_formula_against_known_values() -> None:
    import md1

    s = 82_400_000.0  # 1030 B at 100 Mbit/s, ps
    for rho in (0.5, 0.8, 0.9):
        stats = md1.latency_stats(rho / s, s, 0.0)
        assert stats["mean"] == pytest.approx(rho * s / (2 * (1 - rho)) + s)
    # P(W = 0) = 1 - rho, and the CDF reaches 1
    assert md1.wait_cdf(0.0, 0.5 / s, s) == pytest.approx(0.5)
    assert md1.wait_cdf(60 * s, 0.9 / s, s) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.skipif(importlib.util.find_spec("ns3") is None, reason="ns3 is not installed")
def test_ns3_replays_agree_packet_for_packet(tmp_path: Path) -> None:
    import compare

    rc = compare.main(
        [
            "--scale",
            "0.01",
            "--cases",
            "a,c,d",
            "--ref-hops",
            "2000",
            "--out",
            str(tmp_path),
            "--results",
            str(tmp_path / "results.md"),
        ]
    )
    assert rc == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    for key in ("a50", "a80", "a90", "c"):
        pp = rows[key]["per_packet"]
        assert pp["max_abs_diff_ps"] == 0 and pp["outcome_mismatch"] == 0, key
        assert rows[key]["ns3"]["unaccounted"] == 0
    # with arrivals ordered as vidnet-sim orders them (rule 4), the trace agrees exactly
    pp = rows["d"]["per_packet_deferred"]
    assert pp["max_abs_diff_ps"] == 0 and pp["outcome_mismatch"] == 0
    # 155 Mbit/s: only the rounding of transmission times (ceil vs nearest) differs
    pp = rows["d155"]["per_packet"]
    assert pp["outcome_mismatch"] == 0 and 0 < pp["max_abs_diff_ps"] < 1000
