"""Every example scenario in scenarios/ validates and runs (shortened) through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_OK
from vidnet_sim.results import store
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.groups import scenario_groups

# sweep-*.toml are sweep files (a scenario plus a [sweep] section): tests/test_sweep.py runs them
SCENARIOS = sorted(
    p
    for p in (Path(__file__).parent.parent / "scenarios").glob("*.toml")
    if not p.name.startswith("sweep-")
)
RUN_FILES = set(store.RUN_FILES)
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
    groups = set(scenario_groups(scenario).names)
    rows = {r["name"]: r for r in doc["summary"] if r["level"] == "group"}
    assert set(rows) == groups
    assert any(r["packets_sent"] > 0 for r in rows.values())
    for row in rows.values():  # conservation, as docs/model.md states it
        assert row["packets_sent"] == (
            row["packets_delivered"] + row["packets_dropped"] + row["packets_in_flight"]
        )
    assert {r["level"] for r in doc["summary"]} - {"recorder"} == {"group", "class"}
    # one row per recorder with its storage, as in the manifest's
    recorders = {r["name"]: r for r in doc["summary"] if r["level"] == "recorder"}
    assert set(recorders) == {r["recorder"] for r in doc["storage"]["recorders"]}
    for r in doc["storage"]["recorders"]:
        assert recorders[r["recorder"]]["storage_tb_retention"] == r["tb_retention"]
    assert set(os.listdir(out)) == RUN_FILES


def test_shared_city_example_shows_the_failure_and_its_reroute(tmp_path: Path) -> None:
    """mid-city-services.toml to just after the ring repair: the failure's epoch loses
    packets to the failure (and only the epochs around it do), traffic reroutes over the
    protection link, strict priority keeps voice and signals within their SLA outside the
    failure, and every service appears as groups of its class."""
    from vidnet_sim.runner import run

    file = Path(__file__).parent.parent / "scenarios" / "mid-city-services.toml"
    res = run(file, duration_ps=6_200_000_000_000, write=False)
    st = res.stats
    assert st.packets_failed.sum() > 0
    labels = st.epoch_labels
    failure = labels.index("failure of ring-ab")
    reroute = labels.index("reroute around ring-ab")
    # a packet counts in the epoch it is lost in: the failure's, and the reroute's for those
    # still on their way to the cut link when the traffic reroutes (a few ms of them), never
    # before the failure nor later (the epoch before it read the loss of the packets queued
    # at 4 s when they counted where they were emitted)
    assert st.epoch_failed[:failure].sum() == 0 == st.epoch_link_fail_drops[:failure].sum()
    assert st.epoch_failed[failure].sum() > 10 * st.epoch_failed[reroute].sum() > 0
    assert st.epoch_failed[reroute + 1 :].sum() == 0
    busy = dict(zip(st.link_names, st.epoch_link_bytes[reroute], strict=True))
    assert busy["ring-da:ring-d->ring-a"] > 0  # the protection link carries the ring's traffic
    assert st.epoch_link_bytes[:failure, st.link_names.index("ring-da:ring-d->ring-a")].sum() == 0
    classes = set(st.group_classes)
    assert {"video", "voice", "wifi", "iot", "signals", "web", "bulk"} <= classes
    for g, cls in enumerate(st.group_classes):  # priority: the realtime queue never drops
        if cls in ("voice", "signals"):
            assert st.packets_dropped[g] == st.packets_failed[g]
