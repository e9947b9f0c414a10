"""The growth plan: the scenario of each year, its validation, and ``run --year``."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_OK, EXIT_USAGE, ScenarioError
from vidnet_sim.scenario import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.growth import (
    plan_years,
    scaled_count,
    scenario_for_year,
    year_data,
)

DATA = Path(__file__).parent / "data"

BASE = """
name = "town"
[simulation]
duration = "200ms"
[[nodes]]
id = "agg"
[[nodes]]
id = "cc"
[[links]]
a = "agg"
b = "cc"
rate = "1Gbps"
[[cameras]]
name = "north"
count = 10
attach = "agg"
destinations = ["cc"]
[[cameras]]
name = "south"
count = 3
attach = "agg"
destinations = ["cc"]
[sla.video]
latency_p99 = "50ms"
[sla.voice]
latency_p99 = "20ms"
"""

GROWTH = """
[[growth]]
year = 2
scale_cameras = 1.25
[[growth.nodes]]
id = "agg-east"
[[growth.links]]
a = "agg-east"
b = "cc"
rate = "1Gbps"
[[growth.cameras]]
name = "east"
count = 5
attach = "agg-east"
destinations = ["cc"]

[[growth]]
year = 4
scale_cameras = { east = 2.0, north = 1.1 }
[[growth.sources]]
name = "phones"
kind = "cbr"
at = "agg"
destinations = ["cc"]
size = "160B"
interval = "20ms"
class = "voice"
"""


def test_each_year_adds_the_right_cameras_nodes_and_sources() -> None:
    sc = parse_scenario_dict(tomllib.loads(BASE + GROWTH))
    assert plan_years(sc) == [1, 2, 3, 4]
    counts = {
        y: {c.name: c.count for c in scenario_for_year(sc, y).cameras} for y in plan_years(sc)
    }
    # year 1 is the base; year 2 scales the groups then there (10 x 1.25 = 12.5 -> 13 half
    # up, 3 x 1.25 = 3.75 -> 4) and adds east; year 3 has no entry; year 4 scales only the
    # groups it names, from their year-3 counts (13 x 1.1 = 14.3 -> 14, 5 x 2 = 10)
    assert counts[1] == {"north": 10, "south": 3}
    assert counts[2] == {"north": 13, "south": 4, "east": 5}
    assert counts[3] == counts[2]
    assert counts[4] == {"north": 14, "south": 4, "east": 10}
    y2, y4 = scenario_for_year(sc, 2), scenario_for_year(sc, 4)
    assert [n.id for n in y2.nodes] == ["agg", "cc", "agg-east"]
    assert [lk.id for lk in y2.links] == ["agg-cc", "agg-east-cc"]
    assert [s.name for s in y2.sources] == [] and [s.name for s in y4.sources] == ["phones"]
    assert y4.growth == [] and y4.sla == sc.sla
    with pytest.raises(ScenarioError, match="there is no year 5"):
        scenario_for_year(sc, 5)


def test_a_scenario_without_growth_is_its_own_year_1() -> None:
    sc = parse_scenario_dict(tomllib.loads(BASE.replace('[sla.voice]\nlatency_p99 = "20ms"', "")))
    assert plan_years(sc) == [1]
    assert scenario_for_year(sc, 1) == sc
    with pytest.raises(ScenarioError, match="no growth plan beyond year 1"):
        scenario_for_year(sc, 2)


def test_raw_year_data_and_model_years_agree() -> None:
    """Two merges (raw tables for runs and sizing, models for ``run --year``): the same
    scenario every year."""
    data = tomllib.loads(BASE + GROWTH)
    sc = parse_scenario_dict(data)
    for y in plan_years(sc):
        raw = parse_scenario_dict(year_data(data, y))
        model = scenario_for_year(sc, y)
        for section in ("nodes", "links", "cameras", "sources", "services"):
            assert getattr(raw, section) == getattr(model, section), (y, section)
    # the SLA of a class no group uses yet is left out of the raw year, so it validates
    assert set(parse_scenario_dict(year_data(data, 1)).sla) == {"video"}
    assert set(parse_scenario_dict(year_data(data, 4)).sla) == {"video", "voice"}


def test_scaled_count_is_half_up_and_at_least_one() -> None:
    assert [
        scaled_count(c, f) for c, f in ((10, 1.25), (3, 1.5), (5, 1.3), (1, 0.1), (4, 0.5))
    ] == [13, 5, 7, 1, 2]


def test_errors_in_growth_entries_are_reported_with_their_paths(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    bad = (
        GROWTH.replace('attach = "agg-east"', 'attach = "agg-est"\ncolour = "red"')
        .replace('size = "160B"', "size = 160")
        .replace("scale_cameras = { east = 2.0, north = 1.1 }", "scale_cameras = { eats = 2.0 }")
    )
    bad += '\n[[growth]]\nyear = 3\n[[growth]]\nyear = 5\nscale_cameras = "x"\n'
    f = write_text(tmp_path / "bad.toml", BASE + bad)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    got = sorted(str(p) for p in info.value.problems)
    assert got == sorted(
        [
            "growth[2]: a growth entry adds nothing: give scale_cameras or items of nodes, "
            "links, cameras, sources, services",
            "growth[3].scale_cameras: got 'x': expected a positive number up to 100 (every "
            "group) or a table of group name = such a number",
        ]
    ), got  # the structure first: the years cannot be built while it is broken
    f = write_text(
        tmp_path / "bad.toml",
        BASE
        + bad.split("\n[[growth]]\nyear = 3")[0]
        + "\n[[growth]]\nyear = 3\nscale_cameras = 2\n",
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    got = sorted(str(p) for p in info.value.problems)
    assert got == sorted(
        [
            "growth[0].cameras[0] (name=\"east\").attach: got 'agg-est': no node has this id; "
            "did you mean 'agg-east'?",
            "growth[0].cameras[0] (name=\"east\").colour: unknown key 'colour'"
            + got[1].split("unknown key 'colour'")[1],
            "growth[1].scale_cameras.eats: got 'eats': no camera group has this name before this "
            "entry (year 4); did you mean 'east'?",
            'growth[1].sources[0] (name="phones").size: got 160: a unit is required (a bare '
            "number is ambiguous); did you mean '160B'?",
            "growth[2].year: got 3: years must increase from one entry to the next (growth[1] is "
            "year 4)",
        ]
    ), got
    assert "expected one of: name, count, attach" in got[1]
    r = CliRunner().invoke(main, ["validate", str(f)])
    assert r.exit_code == EXIT_INVALID_SCENARIO and "Traceback" not in r.output
    assert 'growth[0].cameras[0] (name="east").attach' in r.output


def test_a_growth_item_clashing_with_the_base_names_the_entry() -> None:
    data = tomllib.loads(
        BASE + GROWTH.replace('name = "east"', 'name = "north"').replace("east = 2.0, ", "")
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario_dict(data)
    assert [str(p) for p in info.value.problems] == [
        "growth[0].cameras[0] (name=\"north\").name: duplicate name 'north' (also "
        "cameras[0]); camera groups and sources need distinct names"
    ]


def test_sla_classes_are_checked_over_the_whole_plan() -> None:
    # voice arrives in year 4: its SLA is accepted; a class no year uses is still refused
    parse_scenario_dict(tomllib.loads(BASE + GROWTH))
    with pytest.raises(ScenarioError, match=r"sla\.voice: class 'voice' is used by no"):
        parse_scenario_dict(tomllib.loads(BASE + GROWTH.replace('class = "voice"', "")))


def test_growth_trace_files_resolve_next_to_the_scenario(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    shutil.copy(DATA / "trace_small.csv", tmp_path / "t.csv")
    f = write_text(
        tmp_path / "s.toml",
        BASE + "\n[[growth]]\nyear = 2\n[[growth.sources]]\n"
        'name = "replay"\nkind = "trace"\nat = "agg"\ndestinations = ["cc"]\n'
        'file = "t.csv"\n' + '[[growth.sources]]\nname = "v"\nkind = "cbr"\nat = "agg"\n'
        'destinations = ["cc"]\nsize = "100B"\nrate = "1Mbps"\nclass = "voice"\n',
    )
    y2 = scenario_for_year(load_scenario(f), 2)
    assert Path(str(y2.sources[0].file)) == tmp_path / "t.csv"


def test_run_year_simulates_that_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_text: Callable[[Path, str], Path]
) -> None:
    monkeypatch.chdir(tmp_path)
    f = write_text(tmp_path / "town.toml", BASE + GROWTH)
    groups = {}
    for year in (1, 4):
        r = CliRunner().invoke(main, ["run", str(f), "--year", str(year), "--json"])
        assert r.exit_code == EXIT_OK, r.output
        doc = json.loads(r.stdout)
        groups[year] = {row["name"]: row for row in doc["summary"] if row["level"] == "group"}
        assert Path(doc["results"]) == Path("results") / f"town-year{year}"
    assert set(groups[1]) == {"north", "south"}
    assert set(groups[4]) == {"north", "south", "east", "phones"}
    # 14 north cameras in year 4 against 10 in year 1, same seed and duration: more frames
    assert groups[4]["north"]["frames_sent"] > groups[1]["north"]["frames_sent"]
    assert groups[4]["phones"]["packets_sent"] == 10  # one every 20 ms over 200 ms
    r = CliRunner().invoke(main, ["run", str(f), "--year", "5"])
    assert r.exit_code == EXIT_USAGE and "covers years 1–4" in r.output


ISLAND = """
[[growth]]
year = 5
[[growth.nodes]]
id = "island"
[[growth.cameras]]
name = "pier"
count = 2
attach = "island"
destinations = ["cc"]
"""


def test_validate_compiles_every_year_of_the_plan(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    """A later year whose network cannot carry its traffic (a node added without a link)
    is an invalid scenario for ``validate``, named with its year and field, not only
    when that year is run or sized."""
    good = write_text(tmp_path / "town.toml", BASE + GROWTH)
    r = CliRunner().invoke(main, ["validate", str(good)])
    assert r.exit_code == EXIT_OK, r.output
    assert "growth plan of 4 years, each compiled" in r.output
    bad = write_text(tmp_path / "island.toml", BASE + GROWTH + ISLAND)
    r = CliRunner().invoke(main, ["validate", str(bad)])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    assert "growth (year 5)" in r.output and "island" in r.output
    assert "Traceback" not in r.output
