"""What the commands say to a user: metrics in words with their units, intervals that say what
they rest on, estimates and rates as people name them, and validation that checks what
``run`` refuses. Machine names (Parquet columns, JSON keys) stay as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_OK
from vidnet_sim.results.latency_parts import PARTS, explain_lines
from vidnet_sim.scenario.units import rate_words

SCENARIO = """
name = "tiny"
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
[[cameras]]
name = "north"
count = 2
attach = "edge"
destinations = ["nvr"]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def one_line(text: str) -> str:
    """``text`` with its lines joined: a narrow console folds them."""
    return " ".join(text.split())


# --------------------------------------------------------------------------- SLA FAIL lines
def test_an_sla_violation_names_the_metric_in_words(tmp_path: Path) -> None:
    """The ``SLA FAIL`` lines and the ``sla_violations`` text said ``latency p99``, where
    every report says ``99th percentile packet latency``; the machine names stay."""
    file = write(
        tmp_path / "s.toml", SCENARIO + '[sla.video]\nlatency_p99 = "1us"\nlatency_max = "2us"\n'
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(file), "--out", str(out)])
    assert r.exit_code == EXIT_OK, r.output
    fails = [line for line in r.stdout.splitlines() if line.startswith("SLA FAIL class video")]
    assert len(fails) == 2, r.stdout
    assert fails[0].startswith("SLA FAIL class video: 99th percentile packet latency ")
    assert fails[0].endswith(" ms > 0.001 ms") or fails[0].endswith(" us > 1 us"), fails[0]
    assert fails[1].startswith("SLA FAIL class video: largest packet latency ")
    assert "latency p99" not in r.output and "latency max" not in r.output
    summary = pd.read_parquet(out / "summary.parquet")
    video = summary[(summary["level"] == "class") & (summary["name"] == "video")].iloc[0]
    assert video["sla_violations"].startswith("99th percentile packet latency ")
    doc = json.loads(
        CliRunner().invoke(main, ["run", str(file), "--out", str(out), "--json"]).stdout
    )
    (row,) = [x for x in doc["summary"] if x["level"] == "class"]
    assert "latency_p99_ps" in row and row["sla_ok"] is False  # machine names unchanged


# --------------------------------------------------------------------------- run --explain
def parts_table(rate_parts: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """A ``latency_parts`` table of one class, ``voice``: per link its (queueing,
    transmission, propagation) in ps, the same at the p99 and for the mean."""
    rows = []
    for link, times in rate_parts.items():
        row: dict[str, object] = {"level": "class", "name": "voice", "link": link}
        row["p99_packets"] = 10
        for part, t in zip(PARTS, times, strict=True):
            row[f"{part}_ps"] = t
            row[f"{part}_p99_ps"] = t
        rows.append(row)
    return pd.DataFrame(rows)


def test_explain_writes_rates_and_small_times_as_people_do() -> None:
    """``(100Mbps)`` was the scenario's spelling, and a voice class's 17 µs read ``0.0 ms``."""
    parts = parts_table({"a->b": (9e6, 5e6, 3e6)})
    links = pd.DataFrame(
        {"link": ["a->b"], "access": [False], "rate_bps": [155_520_000]}
    )  # STM-1: its rate whole
    (line,) = explain_lines(parts, links)
    assert line.startswith("voice p99 0.0170 ms: 53 % queueing at a->b (155.52 Mbit/s)"), line
    assert "; mean 0.0170 ms: " in line
    assert "bps" not in line


def test_a_rate_in_words() -> None:
    assert rate_words(100e6) == "100 Mbit/s"
    assert rate_words(2.5e9) == "2.5 Gbit/s"
    assert rate_words(64_000) == "64 kbit/s"
    assert rate_words(1) == "1 bit/s" and rate_words(0) == "0 bit/s"
    assert rate_words(999.96e6) == "1 Gbit/s"  # rounded into the next unit, not 1e+03 Mbit/s
    assert rate_words(999.6e6, 3) == "1 Gbit/s"
    assert rate_words(1.6e12) == "1.6 Tbit/s"
