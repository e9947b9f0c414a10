"""Hostile command lines, beyond the scenario file: options and folders a user may type.

Each case is one clear line and the documented exit code (2 for an option or folder that
cannot be used, 3 for input that cannot be analysed), decided before anything is simulated,
never a traceback nor a Python exception's name:

- ``nan`` given to a number option with a range (click lets it through: every comparison
  with it is false; the run then failed with ``ValueError``, exit 1, and ``capacity --max
  nan`` searched 40 values for three minutes);
- ``--workers`` far beyond the CPUs (100 000 spawned processes filled the machine);
- ``run --out .`` or ``--out ""`` (the run was simulated, then lost: ``ValueError``, exit 1)
  and a results folder whose name is too long for the file system (``OSError``, exit 1);
- ``capacity --start inf`` (``OverflowError``, exit 1);
- a ``curve`` range whose end the scenario refuses (``--to 1e12`` cameras: every run there
  failed, exit 4 after simulating the rest), a ``capacity --max`` past it (a 90-second
  search, then "is the SLA monotone?");
- ``size`` and ``whatif`` ``--replications`` out of 1 to 1000 (``whatif --replications 0``
  sized every variant with no replication and said "met").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from test_cli_messages import SCENARIO  # (the same two-camera scenario)
from vidnet_sim.cli import main
from vidnet_sim.execute import available_cpus

LONG = "y" * 300  # longer than a file name may be (255 bytes on Linux file systems)
MANY = str(10**5)


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output


@pytest.fixture
def file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scenario, in an empty current folder (``tmp_path/cwd``)."""
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return path


CURVE = ["curve", "{f}", "--vary", "bitrate", "--from", "1", "--to", "2"]

#: (command line, exit code, a part of the last line): "{f}" is the scenario, "{t}" tmp_path
CASES = {
    "sample nan": (["run", "{f}", "--sample", "nan"], 2,
                   "Invalid value for '--sample': 'nan' is not a number in the range 0<x<=1."),
    "confidence nan": (["capacity", "{f}", "--confidence", "nan"], 2,
                       "'--confidence': 'nan' is not a number in the range 0<x<1."),
    "tolerance nan": (["capacity", "{f}", "--tolerance", "NaN"], 2,
                      "'--tolerance': 'NaN' is not a number in the range 0<x<1."),
    "failure-loss nan": (["size", "{f}", "--failure-loss", "nan"], 2,
                         "'--failure-loss': 'nan' is not a number in the range 0<=x<=1."),
    "workers 1e5 curve": ([*CURVE, "--workers", MANY], 2,
                          f"'--workers' / '-j': {MANY} is more than 4 worker processes per CPU"),
    "workers 1e5 sweep": (["sweep", "{f}", "--workers", MANY], 2,
                          f"{MANY} is more than 4 worker processes per CPU"),
    "run out dot": (["run", "{f}", "--out", "."], 2,
                    "error: cannot write results to .: it is the current folder, and writing "
                    "a run replaces the whole folder; name a new folder"),
    "run out empty": (["run", "{f}", "--out", ""], 2,
                      "error: cannot write results to .: it is the current folder"),
    "run out parent": (["run", "{f}", "--out", ".."], 2,
                       "cannot write results to ..: it holds cwd, s.toml, which are not"),
    "run out name too long": (["run", "{f}", "--out", f"{{t}}/{LONG}"], 2,
                              "File name too long; name a folder you may write to"),
    "curve out name too long": ([*CURVE, "--out", f"{{t}}/{LONG}/x"], 2,
                                "File name too long; name a folder you may write to"),
    "capacity start inf": (["capacity", "{f}", "--start", "inf", "--workers", "1"], 3,
                           "invalid input: --start inf: must be a finite number"),
    "capacity max nan": (["capacity", "{f}", "--max", "nan", "--workers", "1"], 3,
                         "invalid input: --max nan: must be a finite number"),
    "capacity max past a bound": (["capacity", "{f}", "--max", "1e30", "--workers", "1"], 3,
                                  "invalid input: --max 1e+30: the "
                                  "scenario is invalid with --vary cameras at"),
    "size replications 0": (["size", "{f}", "--replications", "0"], 2,
                            "'--replications': 0 is not in the range 1<=x<=1000."),
    "size max-replications -1": (["size", "{f}", "--max-replications", "-1"], 2,
                                 "'--max-replications': -1 is not in the range 1<=x<=1000."),
    "whatif replications 0": (["whatif", "{f}", "{f}", "--replications", "0"], 2,
                              "'--replications': 0 is not in the range 1<=x<=1000."),
    "whatif max-replications huge": (["whatif", "{f}", "{f}", "--max-replications", str(10**9)], 2,
                                     "'--max-replications': 1000000000 is not in the range"),
    "curve to past a bound": (
        ["curve", "{f}", "--vary", "cameras", "--from", "1", "--to", "1e12", "--workers", "1"],
        3, "invalid input: --to 1000000000000: the scenario is invalid with --vary cameras at "
        '1000000000000: cameras[0] (name="north").count: got 1000000000000: must be at most'),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_hostile_option_is_one_clear_line(
    case: tuple[list[str], int, str], file: Path, tmp_path: Path
) -> None:
    args, code, expected = case
    got, output = invoke([a.format(f=file, t=tmp_path) for a in args])
    assert got == code, output
    assert expected in output.strip().splitlines()[-1], output
    assert not list((tmp_path / "cwd").iterdir())  # nothing written


def test_the_workers_bound_follows_the_cpus(file: Path) -> None:
    """4 per CPU this process may use: the bound itself is accepted (parsed, not run:
    --status of a sweep that does not exist yet)."""
    sweep = file.with_name("sw.toml")
    sweep.write_text(
        '[sweep]\nscenario = "s.toml"\n[sweep.grid]\n"cameras.north.count" = [1, 2]\n',
        encoding="utf-8",
    )
    most = 4 * available_cpus()
    code, output = invoke(["sweep", str(sweep), "--status", "--workers", str(most)])
    assert code == 0 and "missing  2" in output, output
    code, output = invoke(["sweep", str(sweep), "--status", "--workers", str(most + 1)])
    assert code == 2 and f"at most {most})" in output, output


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two runs of the scenario (seeds 1 and 2) and a sweep file beside them."""
    folder = tmp_path_factory.mktemp("runs")
    file = folder / "s.toml"
    file.write_text(SCENARIO, encoding="utf-8")
    runs = folder / "a", folder / "b"
    for seed, out in enumerate(runs, start=1):
        code, output = invoke(["run", str(file), "--seed", str(seed), "--out", str(out)])
        assert code == 0, output
    (folder / "sw.toml").write_text(
        '[sweep]\nscenario = "s.toml"\n[sweep.grid]\n"cameras.north.count" = [1, 2]\n',
        encoding="utf-8",
    )
    return runs


#: Where ``compare --out`` must not write ("{a}": run A's folder, "{f}": a file), and what
#: the one line says.
COMPARE_OUT = {
    "a table of a run": ("{a}/summary.parquet", "{a} holds results (manifest.json)"),
    "a new file in a run": ("{a}/cmp.parquet", "{a} holds results (manifest.json)"),
    "through a file": ("{f}/x.parquet", "cannot write results to {f}/x.parquet: {f} is a file"),
    "another suffix": ("{a}.txt", "expected a file name ending in .parquet or .csv, got '.txt'"),
}


@pytest.mark.parametrize("case", COMPARE_OUT.values(), ids=COMPARE_OUT.keys())
def test_compare_writes_its_table_only_where_it_harms_nothing(
    case: tuple[str, str], two_runs: tuple[Path, Path]
) -> None:
    """``compare --out`` into a run folder replaced its summary table (the run then
    unreadable: its tables no longer match its manifest), a path through a file was a
    traceback, and a ``.txt`` name got Parquet bytes."""
    a, b = two_runs
    f = a.parent / "s.toml"
    out, expected = (x.format(a=a, f=f) for x in case)
    before = {p.name: p.read_bytes() for p in a.iterdir()}
    code, output = invoke(["compare", str(a), str(b), "--out", out])
    assert code == 2 and expected in output.strip().splitlines()[-1], output
    assert {p.name: p.read_bytes() for p in a.iterdir()} == before
    assert not Path(f"{a}.txt").exists()


def test_print_sbatch_into_a_path_through_a_file_is_one_line(two_runs: tuple[Path, Path]) -> None:
    """``sweep --print-sbatch`` prepares its folder: under a file it was a
    ``NotADirectoryError`` (exit 1)."""
    a, _ = two_runs
    out = a / "summary.parquet" / "sweep"
    code, output = invoke(["sweep", str(a.parent / "sw.toml"), "--print-sbatch", "--out", str(out)])
    assert code == 2, output
    assert output.strip().splitlines()[-1] == (
        f"error: cannot write results to {out}: {a / 'summary.parquet'} is a file, not a folder"
    )


@pytest.mark.parametrize("damage", ["truncated table", "garbled manifest", "lost table"])
def test_a_sweep_point_damaged_since_it_was_written_runs_again(
    damage: str, two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A point whose files were damaged after the sweep wrote them was counted done by
    ``--status`` and skipped on resume, while ``compare`` refused the folder and said "run
    it again": it is now missing, and resuming runs it again."""
    sweep = two_runs[0].parent / "sw.toml"
    out = tmp_path / "sweep"
    code, output = invoke(["sweep", str(sweep), "--out", str(out), "--workers", "1"])
    assert code == 0, output
    point = min(p for p in out.iterdir() if not p.name.startswith("_"))
    if damage == "truncated table":
        table = point / "summary.parquet"
        table.write_bytes(table.read_bytes()[:64])
    elif damage == "garbled manifest":
        (point / "manifest.json").write_text("{oops", encoding="utf-8")
    else:
        (point / "links.parquet").unlink()
    code, output = invoke(["sweep", str(sweep), "--out", str(out), "--status"])
    assert code == 0 and "  done     1" in output and "  missing  1" in output, output
    code, output = invoke(["sweep", str(sweep), "--out", str(out), "--workers", "1"])
    assert code == 0 and "1 computed, 1 already done" in output, output
    code, output = invoke(["compare", str(out), str(out), "--out", str(tmp_path / "c.csv")])
    assert code == 0, output


def test_a_curve_is_not_written_over_a_run(two_runs: tuple[Path, Path]) -> None:
    """``curve --out RUN`` replaced the run's manifest.json with the curve's: the run lost
    its scenario, seed and hashes. Refused before anything runs (exit 2), the run intact."""
    a, _ = two_runs
    before = {p.name: p.read_bytes() for p in a.iterdir()}
    args = [*CURVE[:1], str(a.parent / "s.toml"), *CURVE[2:], "--workers", "1", "--out", str(a)]
    code, output = invoke(args)
    assert code == 2, output
    assert output.strip().splitlines()[-1] == (
        f"error: cannot write the curve to {a}: it holds a run, whose manifest.json the "
        "curve's would replace; name another folder"
    )
    assert {p.name: p.read_bytes() for p in a.iterdir()} == before
