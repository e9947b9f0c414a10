"""What a user reads after a slip on the command line: one line that names the option, the
value given and what was expected.

A results folder that cannot be written is refused at once, before anything is simulated,
with one line naming it and why (exit 2): a path under a file, or a place that takes no new
entry (read-only, a full or special file system)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import vidnet_sim
from vidnet_sim.cli import main
from vidnet_sim.results import ResultsFolderError, check_writable

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
[sla.video]
latency_p99 = "50ms"
"""


def last_line(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip().splitlines()[-1]


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "{f}", "--seed", "abc"], "'--seed': 'abc' is not a valid integer."),
        (["run", "{f}", "--seed", "1.5"], "'--seed': '1.5' is not a valid integer."),
        (["run", "{f}", "--sample", "half"], "'--sample': 'half' is not a valid number."),
        (["curve", "{f}", "--vary", "bitrate", "--steps", "x", "--from", "1", "--to", "2"],
         "'--steps': 'x' is not a valid integer."),
    ],
)  # fmt: skip
def test_a_number_option_given_text_says_a_number_was_expected(
    file: Path, args: list[str], expected: str
) -> None:
    code, line = last_line(*(a.format(f=file) for a in args))
    assert code == 2 and line == f"Error: Invalid value for {expected}", line


def test_a_long_epoch_label_stays_on_its_row_in_a_pipe(tmp_path: Path) -> None:
    """An epoch's label (the events that open it) is not wrapped onto a second line when
    the output goes to a pipe: ``grep`` finds the epoch's whole row by its label."""
    name = "north-streets-along-the-old-harbour-front"
    text = SCENARIO.replace('name = "north"', f'name = "{name}"') + (
        f'[[events]]\nkind = "alarm"\ntargets = ["{name}"]\nat = "50ms"\n'
        'duration = "50ms"\nbitrate_scale = 2.0\n'
    )
    file = tmp_path / "s.toml"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if f"alarm on {name}" in line]
    assert len(rows) == 2, result.output
    assert rows[0].split()[:6] == ["1", "50", "ms", "100", "ms", "alarm"]
    assert rows[1].split()[:6] == ["2", "100", "ms", "200", "ms", "alarm"]
    assert f"alarm on {name} ends" in rows[1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["curve", "{f}", "--vary", "camras", "--from", "1", "--to", "2"],
         "--vary camras: expected 'cameras', 'bitrate' or the path of a scenario field such "
         "as 'cameras[0].count' or 'links[\"core-uplink\"].rate'; did you mean 'cameras'?"),
        (["capacity", "{f}", "--vary", "fps"],
         "--vary fps: expected 'cameras', 'bitrate' or the path of a scenario field such "
         "as 'cameras[0].count' or 'links[\"core-uplink\"].rate'"),
        (["curve", "{f}", "--vary", "bitrate", "--from", "1x", "--to", "2"],
         "--from of --vary bitrate: expected a number, got '1x'"),
        (["curve", "{f}", "--vary", "links[0].rate", "--from", "1Gbps", "--to", "2Gbs"],
         "--to of --vary links[0].rate: unknown unit 'Gbs' in '2Gbs': did you mean 'Gbps'?"),
        (["capacity", "{f}", "--vary", "cameras", "--start", "many"],
         "--start of --vary cameras: expected a number, got 'many'"),
    ],
)  # fmt: skip
def test_a_vary_slip_names_the_option_and_what_was_expected(
    file: Path, args: list[str], expected: str
) -> None:
    code, line = last_line(*(a.format(f=file) for a in args), "--workers", "1")
    assert code == 3 and line == f"invalid input: {expected}", line


def test_python_dash_m_vidnet_sim_is_the_command() -> None:
    """``python -m vidnet_sim`` runs the command line, for a virtual environment whose
    scripts folder is not on the PATH."""
    src = str(Path(vidnet_sim.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "vidnet_sim", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0 and vidnet_sim.__version__ in proc.stdout, proc


def test_the_links_caption_is_set_apart_from_the_next_table(file: Path, tmp_path: Path) -> None:
    """The note under the links table (what its access-links row sums) is followed by a
    blank line, as every table is, not glued to the next table's title."""
    text = file.read_text(encoding="utf-8") + (
        '[[events]]\nkind = "alarm"\ntargets = ["north"]\nat = "50ms"\nduration = "50ms"\n'
        "bitrate_scale = 2.0\n"
    )
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("access links: largest"))
    assert lines[i + 1] == "" and lines[i + 2].startswith("Epochs"), lines[i : i + 3]


def test_cost_and_variant_files_are_read_within_bounds(file: Path, tmp_path: Path) -> None:
    """A cost model or variants file that is missing, a FIFO or not TOML is one clear error
    (exit 3); a FIFO or a device is refused before it is opened (reading it blocked, or
    filled the memory, as a scenario file never does)."""
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    bad = tmp_path / "bad.toml"
    bad.write_text("[optics\n", encoding="utf-8")
    cases = [
        (["size", file, "--costs", fifo], "  - not a file: {p} is a device, FIFO or socket"),
        (["size", file, "--costs", tmp_path / "no.toml"], "  - file not found: {p}"),
        (["size", file, "--costs", bad], "  - line 1, column 8: TOML syntax error: expected ']'"),
        (["whatif", file, fifo], "invalid input: variants {p}: not a file: {p} is a device"),
        (["whatif", file, tmp_path / "no.toml"], "invalid input: variants {p}: file not found"),
    ]
    for args, expected in cases:
        code, line = last_line(*args, "--out", tmp_path / "out")
        assert code == 3 and line.startswith(expected.format(p=args[-1])), (args, line)


def test_report_of_a_folder_that_does_not_exist_says_so(tmp_path: Path) -> None:
    code, line = last_line("report", tmp_path / "nope")
    assert code == 2 and line == (
        f"error: {tmp_path / 'nope'}: no such folder; name the --out folder of "
        "`vidnet-sim size`, `capacity` or `curve`"
    ), line


def test_a_run_without_traffic_says_nothing_was_simulated(tmp_path: Path) -> None:
    """Nodes and links but no camera, source or service: the run's tables are empty; a
    warning says so, on the console and in the manifest."""
    file = tmp_path / "s.toml"
    text = SCENARIO.split("[[cameras]]")[0]
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    warning = (
        "the scenario has no traffic (no [[cameras]], [[sources]] or [[services]]): "
        "nothing was simulated"
    )
    assert f"warning: {warning}" in result.output.splitlines()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["warnings"] == [warning] and manifest["sla_caveats"] == []


# ------------------------------------------------------------------ results folders
SWEEP = """
[sweep]
scenario = "s.toml"
[sweep.grid]
"cameras.north.count" = [1, 2]
"""


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def commands(tmp_path: Path, out: Path) -> list[list[object]]:
    """Every command that writes a results folder (or, for compare, a file), told to write
    to ``out``."""
    file = tmp_path / "s.toml"
    file.write_text(SCENARIO, encoding="utf-8")
    runs = tmp_path / "runs"
    if not runs.exists():  # the results compare reads
        assert invoke("run", file, "--out", runs)[0] == 0
    sweep = tmp_path / "sw.toml"
    sweep.write_text(SWEEP, encoding="utf-8")
    variants = tmp_path / "v.toml"
    variants.write_text('[[variants]]\nname = "x"\nset = { "cameras[*].count" = 3 }\n')
    one = ["--workers", "1", "--out", out]
    return [
        ["run", file, "--out", out],
        ["sweep", sweep, *one],
        ["curve", file, "--vary", "bitrate", "--from", "1", "--to", "2", "--steps", "2", *one],
        ["capacity", file, *one],
        ["size", file, *one],
        ["whatif", file, variants, "--out", out],
        ["compare", runs, runs, "--out", out],
    ]


def test_a_results_folder_under_a_file_is_refused_before_running(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("keep", encoding="utf-8")
    out = tmp_path / "a-file" / "results"
    for args in commands(tmp_path, out):
        code, output = invoke(*args)
        assert code == 2, (args[0], output)
        line = f"error: cannot write results to {out}: {tmp_path / 'a-file'} is a file"
        assert output.startswith(line) and output.count("\n") == 1, (args[0], output)
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "keep"


def test_a_place_that_takes_no_new_entry_is_refused_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only folder (root may write anywhere, so the refusal is simulated)."""

    def refuse(*args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    out = tmp_path / "ro" / "results"
    (tmp_path / "ro").mkdir()
    todo = commands(tmp_path, out)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    for args in todo:
        code, output = invoke(*args)
        assert code == 2, (args[0], output)
        assert output == (
            f"error: cannot write results to {out}: nothing can be created in "
            f"{tmp_path / 'ro'} (Permission denied); name a folder you may write to\n"
        ), args[0]
        assert os.listdir(tmp_path / "ro") == []


def test_the_probe_leaves_nothing_behind(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "deeper", tmp_path / "new" / "deeper")
    check_writable(tmp_path, tmp_path)
    assert os.listdir(tmp_path) == []
    (tmp_path / "f").write_text("")
    with pytest.raises(ResultsFolderError, match="is a file, not a folder"):
        check_writable(tmp_path / "f", tmp_path / "f")
