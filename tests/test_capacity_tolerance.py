"""``capacity --tolerance`` on whole variables: a camera count is bisected until the last
passing value is within the tolerance of the first failing one, or one apart, whichever is
wider (docs/analysis.md#capacity). The large city's 17 values bisected 20 000 ↔ 40 000 cameras
down to one camera; its last 6 values, within 0.1 % of the answer, took 34 of its 67 runs."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from test_analysis import CAMS
from test_cli_words5 import one_line
from vidnet_sim.analysis.capacity import Verdict, _Bracket, find_capacity
from vidnet_sim.analysis.runs import RunCache, RunRecord
from vidnet_sim.analysis.vary import Vary
from vidnet_sim.cli import main


def search(
    threshold: float, x0: float = 100.0, xmax: float = 102_400.0, rel_tol: float = 0.01
) -> tuple[float | None, float | None, list[float]]:
    """The camera-count search of a verdict passing up to ``threshold`` cameras: the largest
    passing and the smallest failing value, and every value judged in turn."""
    judged: list[float] = []

    def ok(x: float, _ahead: object) -> bool:
        judged.append(x)
        return x <= threshold

    bracket = _Bracket(Vary("cameras", "cameras", None, x0), x0, xmax, rel_tol)
    lo, hi = bracket.search(ok)
    return lo, hi, judged


def test_a_large_count_stops_within_the_tolerance_below_the_threshold() -> None:
    """Threshold 5 000 from 100 cameras: 100 … 6 400 bracket it in 7 values; bisecting the
    3 200 cameras between 3 200 and 6 400 to one camera took 12 more, to 1 % of 6 400 (64)
    takes 6."""
    lo, hi, judged = search(5_000.0)
    assert judged[:7] == [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0]
    assert len(judged) - 7 <= 7, judged
    assert lo is not None and hi is not None
    assert lo <= 5_000 < hi  # the answer passes, the value above it fails
    assert lo in judged and hi in judged
    assert hi - lo <= 0.01 * hi
    assert 5_000 - lo <= 0.01 * 5_000  # conservative: at most 1 % below the threshold


def test_a_threshold_off_the_grid_is_answered_by_a_passing_value() -> None:
    lo, hi, judged = search(5_077.0)
    assert lo is not None and hi is not None
    assert lo <= 5_077 < hi and hi - lo <= 0.01 * hi
    assert len(judged) <= 14
    assert max(x for x in judged if x <= 5_077) == lo  # the largest passing value judged


@pytest.mark.parametrize(("threshold", "x0"), [(137.0, 100.0), (137.0, 10.0), (3.0, 100.0)])
def test_small_counts_are_still_bisected_to_one(threshold: float, x0: float) -> None:
    """1 % of fewer than 100 cameras is less than one: one apart is the wider stop."""
    lo, hi, _ = search(threshold, x0=x0)
    assert (lo, hi) == (threshold, threshold + 1)


def test_every_threshold_gets_a_passing_answer_within_the_tolerance() -> None:
    """A brute force over thresholds from 1 to past the maximum: the answer is the largest
    value judged that passes, the first failing value the smallest judged that fails, and
    they are within 1 % of the failing one or one apart; counts up to 100 are exact."""
    rng = np.random.default_rng(7)
    thresholds = np.unique(np.floor(np.exp(rng.uniform(0.0, math.log(150_000), 400))))
    for t in thresholds:
        lo, hi, judged = search(float(t))
        passing = [x for x in judged if x <= t]
        failing = [x for x in judged if x > t]
        assert lo == (max(passing) if passing else None)
        assert hi == (min(failing) if failing else None)
        if lo is None or hi is None:  # below the floor of 1, or above the maximum
            assert t < 1 or t >= 102_400
            continue
        assert hi - lo <= max(1.0, 0.01 * hi), (t, lo, hi)
        if hi <= 100:
            assert hi - lo == 1


# --------------------------------------------------------------------------- find_capacity
def _verdicts(
    threshold: float,
) -> Callable[..., list[tuple[Verdict, list[RunRecord]]]]:
    """A stand-in for :func:`judge_many` whose verdicts pass up to ``threshold`` cameras
    (no simulation): one check of the class ``video`` per value."""

    def judge_many(
        candidates: Sequence[tuple[RunCache, float]], *_args: Any, **_kw: Any
    ) -> list[tuple[Verdict, list[RunRecord]]]:
        out: list[tuple[Verdict, list[RunRecord]]] = []
        for _cache, x in candidates:
            ratio = x / threshold
            checks = pd.DataFrame(
                [
                    {
                        "class": "video",
                        "metric": "latency_max_ps",
                        "mean": ratio * 4e10,
                        "ci_low": ratio * 4e10,
                        "ci_high": ratio * 4e10,
                        "target": 4e10,
                        "state": "pass" if x <= threshold else "fail",
                        "ratio": ratio,
                    }
                ]
            )
            links = pd.DataFrame(columns=["link", "utilisation", "drops"])
            out.append((Verdict(x, x <= threshold, False, 2, checks, links), []))
        return out

    return judge_many


def test_find_capacity_stops_a_camera_count_within_its_tolerance(tmp_path: Path) -> None:
    """The search as the command runs it (default tolerance 1 %), its verdicts stubbed."""
    f = tmp_path / "cams.toml"
    f.write_text(CAMS.replace("count = 2", "count = 100"), encoding="utf-8")
    with patch("vidnet_sim.analysis.capacity.judge_many", _verdicts(5_000.0)):
        res = find_capacity(f, "cameras", maximum=10_000, estimates=False)
        tight = find_capacity(f, "cameras", maximum=10_000, estimates=False, rel_tol=1e-9)
    assert res.capacity is not None and res.first_fail is not None
    assert res.capacity <= 5_000 < res.first_fail
    assert res.first_fail - res.capacity <= 0.01 * res.first_fail
    assert len(res.verdicts) <= 14
    # a tolerance below one camera bisects to the last camera, judging more values
    assert (tight.capacity, tight.first_fail) == (5_000, 5_001)
    assert len(tight.verdicts) > len(res.verdicts) + 4


def test_the_tolerance_option_says_it_applies_to_counts() -> None:
    r = CliRunner().invoke(main, ["capacity", "--help"])
    assert r.exit_code == 0, r.output
    text = one_line(r.output)
    assert "Relative precision" in text and "camera count" in text
    assert "non-integer" not in text
