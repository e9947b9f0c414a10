"""Hostile command lines and files, second round: a folder of the wrong kind, a damaged or
odd file, a command stopped midway.

Each case ends in one clear line naming what was wrong and the documented exit code (2 for
a folder or file that cannot be used, 3 for input that cannot be analysed), never a
traceback, and leaves every result as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from test_cli_messages import SCENARIO  # (the same two-camera scenario)
from vidnet_sim.analysis.capacity import largest_accepted
from vidnet_sim.analysis.vary import make_vary
from vidnet_sim.cli import main
from vidnet_sim.cli import sweep as cli_sweep
from vidnet_sim.errors import ScenarioError
from vidnet_sim.results import files as files_mod
from vidnet_sim.results import store as store_mod
from vidnet_sim.runner import compile_scenario
from vidnet_sim.scenario import parse_scenario_dict

SWEEP = '[sweep]\nscenario = "s.toml"\n[sweep.grid]\n"cameras.north.count" = [1, 2]\n'


def invoke(args: list[object]) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the scenario ``s.toml``, a sweep of it ``sw.toml``, a run of it
    (``run/``) and a two-value curve of it (``curve/``)."""
    folder = tmp_path_factory.mktemp("made")
    (folder / "s.toml").write_text(SCENARIO, encoding="utf-8")
    (folder / "sw.toml").write_text(SWEEP, encoding="utf-8")
    code, output = invoke(["run", folder / "s.toml", "--out", folder / "run"])
    assert code == 0, output
    curve = ["curve", folder / "s.toml", "--vary", "bitrate", "--from", "1", "--to", "2"]
    code, output = invoke(
        [*curve, "--steps", "2", "--replications", "1", "--no-plot", "--workers", "1",
         "--out", folder / "curve"]
    )  # fmt: skip
    assert code == 0, output
    return folder


@pytest.mark.parametrize("kind", ["run", "curve"])
@pytest.mark.parametrize("mode", [["--workers", "1"], ["--status"], ["--list"]])
def test_a_sweep_is_not_written_into_a_run_or_curve_folder(
    made: Path, kind: str, mode: list[str]
) -> None:
    """``sweep --out RUN`` wrote its points and ``_sweep.json`` among the run's tables: the
    folder then read as a sweep (the run hidden), and ``run --out`` refused it. Refused
    before anything runs, as ``run --out`` and ``curve --out`` refuse each other's folders;
    ``--status`` and ``--list`` of it said "missing 2" as if it were a new sweep's."""
    folder = made / kind
    before = snapshot(folder)
    code, output = invoke(["sweep", made / "sw.toml", "--out", folder, *mode])
    assert code == 2, output
    assert last_line(output) == (
        f"error: cannot write the sweep to {folder}: it holds results (manifest.json), and "
        "the sweep's points would be written among them; name an empty or new folder (or a "
        "previous sweep's)"
    )
    assert snapshot(folder) == before


def test_a_sweep_is_not_written_among_other_files(tmp_path: Path) -> None:
    """A folder of other files (a mistyped ``--out``, e.g. the project's own folder) is
    refused too, naming what it holds; a folder a sweep began (only ``_failed``) is not."""
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    (tmp_path / "sw.toml").write_text(SWEEP, encoding="utf-8")
    code, output = invoke(["sweep", tmp_path / "sw.toml", "--out", tmp_path, "--status"])
    assert code == 2, output
    assert "it holds s.toml, sw.toml, which are not a sweep's" in last_line(output), output
    (tmp_path / "new" / "_failed").mkdir(parents=True)
    code, output = invoke(["sweep", tmp_path / "sw.toml", "--out", tmp_path / "new", "--status"])
    assert code == 0 and "missing  2" in output, output


@pytest.mark.parametrize("mode", ["--status", "--list"])
@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ('"cameras.north.count" = [-1, 2]',
         'sweep.grid["cameras.north.count"][0]: -1 makes cameras[0] (name="north").count: got '
         "-1: must be at least 1"),
        ('"cameras.north.fps" = [25, 1000]',
         'sweep.grid["cameras.north.fps"][1]: 1000 makes cameras[0] (name="north").fps: got '
         "1000: must be at most 240"),
    ],
)  # fmt: skip
def test_the_status_of_an_invalid_sweep_is_exit_3(
    tmp_path: Path, mode: str, grid: str, expected: str
) -> None:
    """``sweep --status`` (and ``--list``) of a sweep whose grid holds a value the scenario
    refuses exited 0 and listed the points as missing, while running it exits 3."""
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    sweep = tmp_path / "sw.toml"
    sweep.write_text(f'[sweep]\nscenario = "s.toml"\n[sweep.grid]\n{grid}\n', encoding="utf-8")
    code, output = invoke(["sweep", sweep, "--out", tmp_path / "out", mode])
    assert code == 3, output
    assert last_line(output) == f"  - {expected}", output
    code, output = invoke(["sweep", sweep, "--out", tmp_path / "out", "--workers", "1"])
    assert code == 3 and last_line(output) == f"  - {expected}", output


@pytest.fixture
def curve_copy(made: Path, tmp_path: Path) -> Path:
    """A copy of the curve's folder (its report files only)."""
    folder = tmp_path / "curve"
    folder.mkdir()
    for name in ("report.json", "report.html"):
        (folder / name).write_bytes((made / "curve" / name).read_bytes())
    return folder


def test_report_over_a_folder_named_report_html_is_one_line(curve_copy: Path) -> None:
    """``report DIR`` whose report.html is a folder ended in ``IsADirectoryError`` (exit
    1)."""
    (curve_copy / "report.html").unlink()
    (curve_copy / "report.html").mkdir()
    code, output = invoke(["report", curve_copy])
    assert code == 2, output
    assert output == (
        f"error: cannot write {curve_copy / 'report.html'}: a folder of that name is in the "
        "way; remove or rename it\n"
    )


def test_report_into_a_read_only_folder_is_one_line(
    curve_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``report DIR`` in a folder that takes no new file ended in ``PermissionError`` (exit
    1). (Root may write anywhere: the refusal is simulated.) The report is left whole."""
    before = snapshot(curve_copy)

    def refuse(path: Path, data: Any, **_: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files_mod, "atomic_write", refuse)
    code, output = invoke(["report", curve_copy])
    assert code == 2, output
    assert output == (
        f"error: cannot write {curve_copy / 'report.html'}: Permission denied; name a folder "
        "you may write to\n"
    )
    assert snapshot(curve_copy) == before


def test_a_report_stopped_midway_leaves_the_previous_one(
    curve_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``report`` wrote report.html in place: Ctrl-C (or a full disk) midway left a
    truncated page. The page is written whole or not at all; Ctrl-C is exit 130."""
    before = snapshot(curve_copy)

    def interrupted(fd: int) -> None:  # the page written, not yet in place
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    code, output = invoke(["report", curve_copy])
    assert code == 130 and output == "interrupted\n", output
    monkeypatch.undo()
    assert snapshot(curve_copy) == before
    assert [p.name for p in curve_copy.iterdir() if p.name.startswith(".")] == []


def test_compare_checks_its_out_file_once_before_reading(
    made: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``compare --out`` was checked twice (the CLI's ``writable()``, then
    ``write_table``'s), both after both result sets were read and compared: a wrong
    ``--out`` was found only after the work. Now once, first."""
    probes: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def counted(*args: Any, **kwargs: Any) -> str:
        probes.append(str(kwargs.get("dir")))
        return real_mkdtemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", counted)
    out = made / "cmp" / "c.csv"
    code, output = invoke(["compare", made / "run", made / "run", "--out", out])
    assert code == 0 and out.is_file(), output
    assert len(probes) == 1, probes

    def unread(path: Any) -> Any:
        raise AssertionError("read before --out was checked")

    monkeypatch.setattr(cli_sweep, "read_results", unread)
    bad = made / "s.toml" / "c.csv"
    code, output = invoke(["compare", made / "run", made / "run", "--out", bad])
    assert code == 2, output
    assert (
        output
        == f"error: cannot write results to {bad}: {made / 's.toml'} is a file, not a folder\n"
    )


def test_capacity_searches_no_further_than_the_scenario_goes(tmp_path: Path) -> None:
    """Without ``--max``, capacity searched up to 1024 × the start whatever the scenario
    accepts: ``--vary cameras[0].fps`` from 25 ran every value above 240 fps (the bound),
    each run refused, and answered "fps ≥ 25600", partial (exit 4). The default end is now
    the largest value the scenario accepts, and the answer says so."""
    scenario = SCENARIO.replace("count = 2\n", "count = 2\nfps = 25\n")
    (tmp_path / "s.toml").write_text(scenario, encoding="utf-8")
    args = ["capacity", tmp_path / "s.toml", "--vary", "cameras[0].fps", "--workers", "1"]
    code, output = invoke([*args, "--replications", "2", "--out", tmp_path / "cap"])
    assert code == 0, output
    assert output.splitlines()[0] == (
        "capacity: cameras[0].fps ≥ 240 (every SLA still holds at the largest value the "
        'scenario accepts; above it: cameras[0] (name="north").fps: got 241: must be at most '
        "240)"
    )


def test_the_largest_value_a_run_is_not_refused_at() -> None:
    """:func:`largest_accepted` against the engine's own check (``compile_scenario``): a
    bound of the compiled network, not of a field (10^10 packets in a run of 960 hours: 10
    cameras pass, 11 do not), found by bisection."""
    data = tomllib.loads(SCENARIO.replace('"200ms"', '"960h"'))
    vary = make_vary(data, "cameras")
    top, why = largest_accepted(vary, data, None, 2, 2048)
    assert top == 10 and why is not None and "packets would be simulated in 40 days" in why
    compile_scenario(parse_scenario_dict(vary.apply(data, 10)))
    with pytest.raises(ScenarioError, match="packets would be simulated"):
        compile_scenario(parse_scenario_dict(vary.apply(data, 11)))
    assert largest_accepted(vary, data, None, 2, 8) == (8, None)


TWO_GROUPS = SCENARIO.replace(
    "[sla.video]",
    '[[cameras]]\nname = "south"\ncount = 2\nattach = "edge"\ndestinations = ["nvr"]\n[sla.video]',
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ('"cameras[*].codecc" = "h265"',
         ['variants[0] (name="a").set["cameras[*].codecc"]: unknown key \'codecc\'; did you '
          "mean 'codec'?"]),
        ('"cameras[*].fps" = 1000, "cameras.south.gop" = 0',
         ['variants[0] (name="a").set["cameras[*].fps"]: got 1000: must be at most 240',
          'variants[0] (name="a").set["cameras.south.gop"]: got 0: must be at least 1']),
    ],
)  # fmt: skip
def test_a_bad_variant_is_one_problem_of_the_variants_file(
    tmp_path: Path, changes: str, expected: list[str]
) -> None:
    """A variant setting an unknown key (or a value out of bounds) on ``cameras[*]`` was
    reported as one problem per camera group ("2 problems", the groups' paths, none the
    variants file's); now once, at the variant's change; a second variant's problems are
    said with the first's, not after it is fixed."""
    (tmp_path / "s.toml").write_text(TWO_GROUPS, encoding="utf-8")
    variants = tmp_path / "v.toml"
    variants.write_text(
        f'[[variants]]\nname = "a"\nset = {{ {changes} }}\n'
        '[[variants]]\nname = "b"\nset = { "cameras[*].ip_ratio" = 1000 }\n',
        encoding="utf-8",
    )
    code, output = invoke(["whatif", tmp_path / "s.toml", variants, "--out", tmp_path / "w"])
    assert code == 3, output
    n = len(expected) + 1
    assert output.splitlines() == [
        f'invalid scenario {tmp_path / "s.toml"} (variants "a", "b"): {n} problems',
        *(f"  - {line}" for line in expected),
        '  - variants[1] (name="b").set["cameras[*].ip_ratio"]: got 1000: must be at most 100',
    ]
    assert not (tmp_path / "w").exists() or not any((tmp_path / "w").iterdir())


@pytest.fixture
def swept(made: Path, tmp_path: Path) -> Path:
    """A finished two-point sweep of the scenario (in ``tmp_path/sweep``)."""
    out = tmp_path / "sweep"
    code, output = invoke(["sweep", made / "sw.toml", "--out", out, "--workers", "1"])
    assert code == 0, output
    return out


def status(made: Path, out: Path) -> str:
    code, output = invoke(["sweep", made / "sw.toml", "--out", out, "--status"])
    assert code == 0, output
    return output


def test_sweep_status_reads_no_table(
    made: Path, swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--status`` hashed every file of every point (about 2 s per GB): it now checks
    their sizes and times, and still counts a point missing whose table was truncated
    (even with its time set back), lost, or rewritten after the run."""

    def no_hash(path: Path) -> str:
        raise AssertionError(f"{path} hashed")

    monkeypatch.setattr(store_mod, "file_sha256", no_hash)
    assert "  done     2" in status(made, swept)
    point = min(p for p in swept.iterdir() if not p.name.startswith("_"))
    table = point / "summary.parquet"
    before = table.stat()
    table.write_bytes(table.read_bytes()[:-1])
    os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "  done     1" in status(made, swept)  # its size is not the manifest's
    (point / "summary.parquet").unlink()
    assert "  done     1" in status(made, swept)


def test_sweep_status_hashes_only_a_file_newer_than_its_manifest(
    made: Path, swept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table newer than its manifest (rewritten since, or copied without its times) is
    hashed: missing if it changed, done if only its time did."""
    point = min(p for p in swept.iterdir() if not p.name.startswith("_"))
    table = point / "links.parquet"
    later = (point / "manifest.json").stat().st_mtime_ns + 10**9
    os.utime(table, ns=(later, later))  # copied without its times: the same bytes
    hashed: list[str] = []
    real = store_mod.file_sha256

    def counted(path: Path) -> str:
        hashed.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(store_mod, "file_sha256", counted)
    assert "  done     2" in status(made, swept)
    assert hashed and set(hashed) <= {p.name for p in point.iterdir()}
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the same size, rewritten
    table.write_bytes(bytes(data))
    assert "  done     1" in status(made, swept)


def test_a_resume_hashes_what_status_cannot_see(made: Path, swept: Path) -> None:
    """A table changed in place to the same size with its time set back passes
    ``--status`` (sizes and times), but the resume hashes every file: it runs the point
    again, and then every point is whole."""
    point = min(p for p in swept.iterdir() if not p.name.startswith("_"))
    table = point / "summary.parquet"
    before = table.stat()
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "  done     2" in status(made, swept)
    code, output = invoke(["sweep", made / "sw.toml", "--out", swept, "--workers", "1"])
    assert code == 0 and "1 computed, 1 already done" in output, output
    code, output = invoke(["compare", swept, swept, "--out", swept.parent / "c.csv"])
    assert code == 0, output


#: A command that writes files of fixed names into its --out folder, and one of them.
IN_THE_WAY = {
    "capacity": (["capacity", "{f}", "--replications", "2"], "capacity.json"),
    "whatif": (["whatif", "{f}", "{v}", "--replications", "2"], "whatif.json"),
    "curve": (
        ["curve", "{f}", "--vary", "bitrate", "--from", "1", "--to", "2", "--steps", "2",
         "--replications", "1"], "curve.png",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", IN_THE_WAY.values(), ids=IN_THE_WAY.keys())
def test_a_folder_in_the_way_of_a_written_file_is_one_line(
    case: tuple[list[str], str], made: Path, tmp_path: Path
) -> None:
    """``capacity`` and ``whatif`` wrote their JSON outside the error handling: a folder of
    that name ended the command in a traceback (``IsADirectoryError``, exit 1) after the
    whole search; ``curve`` said ``error: IsADirectoryError: ...``. One line, exit 2 (the
    runs are stored: running it again reuses them)."""
    args, name = case
    variants = tmp_path / "v.toml"
    variants.write_text('[[variants]]\nname = "x"\nset = { "cameras[*].count" = 3 }\n')
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    full = [a.format(f=made / "s.toml", v=variants) for a in args]
    code, output = invoke([*full, "--workers", "1", "--out", out])
    assert code == 2, output
    assert last_line(output) == (
        f"error: cannot write {out / name}: a folder of that name is in the way; remove or "
        "rename it"
    )


#: A report.json edited by hand or damaged: (the change, the message's end).
DAMAGED_REPORT = {
    "title a number": (("title",), 5, "title: got 5, expected text"),
    "risk not a list": (("risk",), "x", 'risk: got "x", expected list[text]'),
    "a line not text": (("recommendation",), [1], "recommendation: got [1], expected list[text]"),
    "a cost as text": (("total_cost",), "1e6", 'total_cost: got "1e6", expected float | None'),
    "a panel's series of two lengths": (
        ("plots", "panels", 0, "series", 0, "x"), [1.0],
        "plots.panels[0].series[0]: x, mean, low and high are not of one length",
    ),
    "a panel not an object": (("plots", "panels", 0), 7, "plots.panels[0]: expected an object"),
}  # fmt: skip


@pytest.mark.parametrize("case", DAMAGED_REPORT.values(), ids=DAMAGED_REPORT.keys())
def test_a_damaged_report_json_is_one_line(
    case: tuple[tuple[str | int, ...], Any, str], curve_copy: Path
) -> None:
    """``report DIR`` whose report.json holds a value of the wrong type ended in
    ``error: AttributeError: 'int' object has no attribute 'replace'`` (or a TypeError, an
    IndexError), exit 1: it names the key, the value and what was expected, exit 2."""
    path, value, expected = case
    doc = json.loads((curve_copy / "report.json").read_text(encoding="utf-8"))
    where = doc
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    (curve_copy / "report.json").write_text(json.dumps(doc), encoding="utf-8")
    code, output = invoke(["report", curve_copy])
    assert code == 2, output
    assert output == (
        f"error: {curve_copy / 'report.json'}: not usable report data: {expected}\n"
    ), output


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("loop", "got 'x.toml': {d}/x.toml is a loop of symbolic links"),
        ("folder", "got 'x.toml': {d}/x.toml is a folder, not a scenario file"),
    ],
)
def test_a_sweep_whose_scenario_is_a_link_loop_or_a_folder(
    tmp_path: Path, make: str, expected: str
) -> None:
    """A sweep file whose ``scenario`` is a loop of symbolic links ended in ``error:
    RuntimeError: Symlink loop from ...`` (exit 1); a folder was "no such file"."""
    if make == "loop":
        (tmp_path / "x.toml").symlink_to(tmp_path / "y.toml")
        (tmp_path / "y.toml").symlink_to(tmp_path / "x.toml")
    else:
        (tmp_path / "x.toml").mkdir()
    sweep = tmp_path / "sw.toml"
    sweep.write_text(SWEEP.replace("s.toml", "x.toml"), encoding="utf-8")
    code, output = invoke(["sweep", sweep, "--status", "--out", tmp_path / "out"])
    assert code == 3, output
    assert last_line(output) == "  - sweep.scenario: " + expected.format(d=tmp_path)


def test_an_out_folder_that_is_a_link_loop_is_named_so(made: Path, tmp_path: Path) -> None:
    """``--out`` a loop of symbolic links was called "a file, not a folder"."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    out = tmp_path / "a"
    args = ["curve", made / "s.toml", "--vary", "bitrate", "--from", "1", "--to", "2"]
    code, output = invoke([*args, "--out", out])
    assert code == 2, output
    assert last_line(output) == (
        f"error: cannot write results to {out}: {out} is a symbolic link that leads nowhere "
        "(a loop of links, or its target missing)"
    )


@pytest.mark.parametrize("command", ["curve", "capacity"])
def test_a_bitrate_scale_that_overflows_is_one_line(made: Path, command: str) -> None:
    """``curve --vary bitrate --to 1e308`` (``capacity --max 1e308``) made a bitrate of
    infinity: ``error: OverflowError: cannot convert float infinity to integer``, exit 1."""
    if command == "curve":
        args = ["curve", made / "s.toml", "--vary", "bitrate", "--from", "1", "--to", "1e308"]
        option = "--to"
    else:
        args = ["capacity", made / "s.toml", "--vary", "bitrate", "--max", "1e308"]
        option = "--max"
    code, output = invoke([*args, "--workers", "1", "--out", made / f"x-{command}"])
    assert code == 3, output
    assert last_line(output) == (
        f"invalid input: {option} 1e+308: the scenario is invalid with --vary bitrate at "
        '1e+308: cameras[0] (name="north").bitrate: scaled to an infinite value'
    )


def test_a_bitrate_scaled_beyond_any_field_is_said_in_a_few_digits(made: Path) -> None:
    """``curve --vary bitrate --to 1e300`` wrote the 300-digit bitrate whole into its
    message: the scaled value is said in three significant digits."""
    args = ["curve", made / "s.toml", "--vary", "bitrate", "--from", "1", "--to", "1e300"]
    code, output = invoke([*args, "--workers", "1", "--out", made / "x-curve"])
    assert code == 3, output
    line = last_line(output)
    assert line.endswith("larger than any value it takes (at most 2^63 - 1)"), line
    assert len(line) < 300 and 'cameras[0] (name="north").bitrate: scaled to ' in line
