"""Every example scenario in scenarios/ validates and runs (shortened) through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_OK
from vidnet_sim.scenario import load_scenario

# sweep-*.toml are sweep files (a scenario plus a [sweep] section): tests/test_sweep.py runs them
SCENARIOS = sorted(
    p
    for p in (Path(__file__).parent.parent / "scenarios").glob("*.toml")
    if not p.name.startswith("sweep-")
)
RUN_FILES = {"summary.parquet", "links.parquet", "hist.parquet", "manifest.json"}
#: Simulated time of each example run: long enough for a few GOPs, short enough for CI.
DURATION = "2s"


def test_there_are_examples() -> None:
    assert SCENARIOS, "no scenarios/*.toml found"


@pytest.mark.parametrize("file", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_validates(file: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == EXIT_OK, result.output
    assert f"{file}: valid" in result.stdout


@pytest.mark.parametrize("file", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_runs(file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # trace files resolve against the scenario's own folder
    out = tmp_path / "res"
    result = CliRunner().invoke(
        main, ["run", str(file), "--duration", DURATION, "--out", str(out), "--json"]
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "Traceback" not in result.output
    doc = json.loads(result.stdout)
    scenario = load_scenario(file)
    groups = {c.name for c in scenario.cameras} | {s.name for s in scenario.sources}
    rows = {r["name"]: r for r in doc["summary"] if r["level"] == "group"}
    assert set(rows) == groups
    assert any(r["packets_sent"] > 0 for r in rows.values())
    for row in rows.values():  # conservation, as docs/model.md states it
        assert row["packets_sent"] == (
            row["packets_delivered"] + row["packets_dropped"] + row["packets_in_flight"]
        )
    assert {r["level"] for r in doc["summary"]} == {"group", "class"}
    assert set(os.listdir(out)) == RUN_FILES
