"""What the commands say to a user, round 6: the core's refusals in durations and rates a
person reads, a sweep's failures and values as a user wrote them, one spelling of a
percentage, curve legends in words, and a sweep refused up front for a design the core
cannot hold. Machine names (Parquet columns, JSON keys, failure records) stay as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_INVALID_SCENARIO
from vidnet_sim.scenario.units import count_words, duration_words, percent_words

#: One link at 1 Gbit/s with a gigabyte of buffer, two cameras: at 1 bit/s (a sweep value
#: below) its full buffer would delay a packet past the core's clock.
SLOW = """\
name = "slow"
[simulation]
duration = "200ms"
[[nodes]]
id = "edge"
[[nodes]]
id = "nvr"
kind = "recorder"
[[links]]
a = "edge"
b = "nvr"
rate = "1Gbps"
buffer = "1GB"
[[cameras]]
name = "cams"
count = 2
attach = "edge"
resolution = "720p"
destinations = ["nvr"]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def one_line(text: str) -> str:
    """``text`` with its lines joined: a narrow console folds them."""
    return " ".join(text.split())


# --------------------------------------------------------------------------- core limits
@pytest.mark.parametrize(
    ("ps", "words"),
    [
        (0, "0 s"),
        (10**12, "1 s"),
        (2_500_000_000, "2.5 ms"),
        (3600 * 10**12, "1 hour"),
        (1 << 62, "53.4 days"),
        (92_600 * 86_400 * 10**12, "254 years"),
        (10**30, "31,700,000,000 years"),
    ],
)
def test_a_duration_in_words(ps: int, words: str) -> None:
    assert duration_words(ps) == words


def test_counts_and_percentages_in_words() -> None:
    assert [count_words(n) for n in (12_345, 2e12, 1.0995e12, 1e10, 9.9996e11)] == [
        "12,345",
        "2·10¹²",
        "1.1·10¹²",
        "10¹⁰",
        "10¹²",
    ]
    assert [percent_words(0.95), percent_words(0.2414, 1)] == ["95 %", "24.1 %"]


def test_the_cores_refusal_says_durations_and_rates_in_words(tmp_path: Path) -> None:
    """A buffer that drains too slowly for the core's clock said '9.26e+04 days' and 'at
    1bps'; now 'about 254 years' and 'at 1 bit/s'."""
    file = write(tmp_path / "s.toml", SLOW.replace('"1Gbps"', '"1bps"'))
    r = CliRunner().invoke(main, ["validate", str(file)])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    said = one_line(r.output)
    assert "could wait about 254 years on this link" in said, said
    assert "at 1 bit/s;" in said and "after the run's 200 ms" in said
    assert "up to about 53.4 days" in said
    assert not re.search(r"\de\+\d|\dbps\b", said), said
