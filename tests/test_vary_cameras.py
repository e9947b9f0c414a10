"""``--vary cameras`` N simulates exactly N cameras: the groups' counts are apportioned by
largest remainders (rounding each group's share gave the small town 135 cameras for 136,
and 138 for 137)."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from vidnet_sim.analysis.vary import apportion, load_raw, make_vary

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@given(
    st.lists(st.integers(1, 10_000), min_size=1, max_size=12),
    st.integers(1, 100_000),
)
def test_apportion_sums_to_the_total_in_proportion(counts: list[int], total: int) -> None:
    out = apportion(counts, total)
    assert sum(out) == max(total, len(counts)) and min(out) >= 1
    shares = [c * total / sum(counts) for c in counts]
    if min(shares) >= 1:  # no group raised to one camera: each within one of its share
        assert all(math.floor(q) <= n <= math.ceil(q) for n, q in zip(out, shares, strict=True))
    assert apportion(counts, sum(counts)) == counts


def test_the_small_town_scaled_to_n_cameras_has_n_cameras() -> None:
    data, _ = load_raw(SCENARIOS / "small-town.toml")
    vary = make_vary(data, "cameras")
    assert vary.current == 60
    for n in (4, 59, 61, 136, 137, 1000):
        counts = [c["count"] for c in vary.apply(data, float(n))["cameras"]]
        assert sum(counts) == n, (n, counts)
    assert [c["count"] for c in vary.apply(data, 136.0)["cameras"]] == [46, 45, 36, 9]
