"""A results folder that cannot be written is refused at once, before anything is
simulated, with one line naming it and why (exit 2): a path under a file, or a place that
takes no new entry (read-only, a full or special file system)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

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
    """Every command that writes a results folder, told to write to ``out``."""
    file = tmp_path / "s.toml"
    file.write_text(SCENARIO, encoding="utf-8")
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
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    for args in commands(tmp_path, out):
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
