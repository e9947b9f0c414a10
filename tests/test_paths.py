"""Paths: names used in paths are safe file names; paths in a scenario are relative to it.

- A scenario ``name`` such as ``../../escaped`` or an absolute path never takes the default
  results folder outside ``results/``.
- A trace ``file`` (of ``[[sources]]`` or of a growth year) is found next to the scenario,
  whatever the current folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from vidnet_sim.cli import main
from vidnet_sim.results import default_run_dir, read_results, safe_name
from vidnet_sim.results.store import RUN_FILES
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.growth import scenario_for_year

DATA = Path(__file__).resolve().parent / "data"

SCENARIO = """
name = {name}
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

TRACE_SOURCE = """
[[sources]]
name = "replay"
kind = "trace"
at = "edge"
destinations = ["nvr"]
file = "traces/a.csv"
"""

GROWTH_TRACE = """
[[growth]]
year = 2
[[growth.sources]]
name = "replay2"
kind = "trace"
at = "edge"
destinations = ["nvr"]
file = "traces/b.csv"
"""


def scenario(name: str = "paths", extra: str = "") -> str:
    return SCENARIO.format(name=json.dumps(name)) + extra


def run_cli(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


# --------------------------------------------------------------------------- safe names
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("small-town", "small-town"),
        ("town_2.v1", "town_2.v1"),
        ("../../escaped", "escaped"),
        ("/etc/escaped", "etc-escaped"),
        ("..\\..\\escaped", "escaped"),
        ("a b/c:d", "a-b-c-d"),
        ("Zürich Süd", "Zürich-Süd"),
        ("..", "scenario"),
        ("", "scenario"),
        ("///", "scenario"),
        (".hidden", "hidden"),
        ("NUL", "NUL_"),
        ("com1.txt", "com1.txt_"),
        ("x" * 300, "x" * 100),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


@given(st.text())
def test_a_safe_name_is_one_plain_file_name(name: str) -> None:
    safe = safe_name(name)
    assert safe and len(safe) <= 101
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".") and safe not in (".", "..")
    assert Path(safe).name == safe
    base = Path("/results-root")
    assert Path(os.path.normpath(base / safe)).parent == base
    assert default_run_dir(name) == Path("results") / safe


@pytest.mark.parametrize("name", ["../../escaped", "../escaped", "/ABS/escaped", "sub/../../x"])
def test_default_results_folder_stays_under_results(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    file = work / "s.toml"
    file.write_text(scenario(name.replace("/ABS", str(tmp_path))), encoding="utf-8")
    monkeypatch.chdir(work)
    code, output = run_cli("run", file, "--json")
    assert code == 0, output
    written = json.loads(output)["results"]
    assert Path(written) == Path("results") / safe_name(name.replace("/ABS", str(tmp_path)))
    # nothing anywhere but in results/<safe name>/ under the current folder
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert found == sorted(
        [str(file.relative_to(tmp_path))]
        + [str((work / written / f).relative_to(tmp_path)) for f in RUN_FILES]
    )
    assert read_results(work / written).manifest["scenario_name"] == name.replace(
        "/ABS", str(tmp_path)
    )


def test_year_results_folder_stays_under_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "s.toml"
    growth = "\n[[growth]]\nyear = 2\nscale_cameras = 2.0\n"
    file.write_text(scenario("../../up", growth), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, output = run_cli("run", file, "--year", "2", "--json")
    assert code == 0, output
    assert Path(json.loads(output)["results"]) == Path("results") / "up-year2"
    assert sorted(os.listdir(tmp_path / "results" / "up-year2")) == sorted(RUN_FILES)
    assert not (tmp_path.parent.parent / "up-year2").exists()


# --------------------------------------------------------------------------- folders refused
def test_a_folder_holding_other_files_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "s.toml"
    file.write_text(scenario(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    # the current folder holds the scenario: writing a run there would replace it
    code, output = run_cli("run", file, "--out", ".")
    assert code == 2, output
    assert "s.toml" in output and "not a run's results" in output
    assert sorted(os.listdir(tmp_path)) == ["s.toml"]
    (tmp_path / "a-file").write_text("keep", encoding="utf-8")
    code, output = run_cli("run", file, "--out", "a-file")
    assert code == 2 and "is a file" in output, output
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "keep"
    # a previous run's folder, or an empty one, is replaced
    (tmp_path / "empty").mkdir()
    for out in ("empty", "empty"):
        code, output = run_cli("run", file, "--out", out)
        assert code == 0, output
        assert sorted(os.listdir(tmp_path / out)) == sorted(RUN_FILES)
    # a run with its per-packet table is a run's folder too: the next run replaces it whole
    code, output = run_cli("run", file, "--out", "empty", "--packets")
    assert code == 0 and "packets.parquet" in os.listdir(tmp_path / "empty"), output
    code, output = run_cli("run", file, "--out", "empty")
    assert code == 0, output
    assert sorted(os.listdir(tmp_path / "empty")) == sorted(RUN_FILES)


# --------------------------------------------------------------------------- scenario paths
def make_scenario_dir(root: Path, extra: str) -> Path:
    """``root/dir/x.toml`` whose trace files are ``traces/a.csv`` and ``traces/b.csv``."""
    (root / "dir" / "traces").mkdir(parents=True)
    for name in ("a.csv", "b.csv"):
        shutil.copy(DATA / "trace_small.csv", root / "dir" / "traces" / name)
    file = root / "dir" / "x.toml"
    file.write_text(scenario("rel", extra), encoding="utf-8")
    return file


@pytest.mark.parametrize("cwd", ["root", "elsewhere", "dir"])
def test_trace_files_are_relative_to_the_scenario(
    cwd: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = make_scenario_dir(tmp_path, TRACE_SOURCE + GROWTH_TRACE)
    here = {"root": tmp_path, "elsewhere": tmp_path / "elsewhere", "dir": file.parent}[cwd]
    here.mkdir(exist_ok=True)
    monkeypatch.chdir(here)
    arg = os.path.relpath(file, here)  # dir/x.toml, ../dir/x.toml or x.toml
    sc = load_scenario(arg)
    assert Path(str(sc.sources[0].file)) == file.parent / "traces" / "a.csv"
    year2 = scenario_for_year(sc, 2)
    assert Path(str(year2.sources[1].file)) == file.parent / "traces" / "b.csv"
    code, output = run_cli("validate", arg)
    assert code == 0 and "growth plan of 2 years" in output, output
    for year in ("1", "2"):
        code, output = run_cli("run", arg, "--year", year, "--json", "--out", f"out{year}")
        assert code == 0, output
        groups = {r["name"] for r in json.loads(output)["summary"] if r["level"] == "group"}
        assert groups == ({"north", "replay"} if year == "1" else {"north", "replay", "replay2"})


def test_a_missing_trace_names_the_file_next_to_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = make_scenario_dir(tmp_path, TRACE_SOURCE.replace("a.csv", "missing.csv"))
    monkeypatch.chdir(tmp_path)
    code, output = run_cli("validate", "dir/x.toml")
    assert code == 3, output
    assert str(file.parent / "traces" / "missing.csv") in output.replace("\n", "")
