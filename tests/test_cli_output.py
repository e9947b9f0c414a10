"""What the command prints survives pipes, long paths and narrow terminals.

Each command runs in a real process from a folder whose path is over 200 characters, with
stdout and stderr to pipes (as in a log or ``| grep``): every message, warning and result
line is asserted whole, on one line, also with ``COLUMNS=40``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from rich import box
from rich.console import Console
from rich.table import Table

import vidnet_sim
from vidnet_sim.analysis import AnalysisInputError
from vidnet_sim.cli import output
from vidnet_sim.cli import sweep as sweep_cli
from vidnet_sim.cli.output import (
    error_message,
    exit_code,
    interrupted,
    reported_errors,
    stdout_console,
)
from vidnet_sim.errors import (
    EXIT_INTERRUPTED,
    EXIT_INVALID_SCENARIO,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    ScenarioError,
    VidnetError,
)
from vidnet_sim.results import ResultsNotFoundError
from vidnet_sim.sweep import SweepFolderError

# where this process imports vidnet_sim from (src/, or site-packages in CI)
PACKAGE_PARENT = Path(vidnet_sim.__file__).resolve().parent.parent

SCENARIO = """\
name = "pipe"

[simulation]
duration = "200ms"
warmup = "20ms"
seed = 5

[[nodes]]
id = "edge"
[[nodes]]
id = "nvr"
kind = "recorder"

[[links]]
id = "uplink"
a = "edge"
b = "nvr"
rate = "100Mbps"

[[cameras]]
name = "cams"
count = 2
attach = "edge"
bitrate = "4Mbps"
destinations = ["nvr"]

[[events]]
kind = "failure"
link = "uplink"
at = "100ms"
duration = "50ms"
"""

SWEEP = """
[sweep]
replications = 1
seed = {seed}

[sweep.grid]
"cameras[0].count" = [1, 2]
"""

UNREACHABLE = (
    "warning: during the failure of 'uplink', traffic of 'cams' to 'nvr' has no path "
    "(no protection link); it is counted lost until the repair"
)


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose absolute path is at least 200 characters long."""
    folder = tmp_path_factory.mktemp("pipes")
    for part in ("a-rather-long-folder-name-" * 2, "another-long-folder-name-" * 2):
        folder = folder / part
    while len(str(folder)) < 200:
        folder = folder / ("deeper-still-" * 3)
    folder.mkdir(parents=True)
    (folder / "scenario.toml").write_text(SCENARIO, encoding="utf-8")
    bad = SCENARIO.replace('rate = "100Mbps"', 'rate = "100mbps"')
    (folder / "bad.toml").write_text(bad, encoding="utf-8")
    for seed in (1, 2):
        text = SCENARIO + SWEEP.format(seed=seed)
        (folder / f"sweep{seed}.toml").write_text(text, encoding="utf-8")
    assert len(str(folder)) >= 200
    return folder


def cli(folder: Path, *args: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m vidnet_sim.cli ARGS`` in ``folder``, stdout and stderr to pipes."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(PACKAGE_PARENT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run(
        [sys.executable, "-m", "vidnet_sim.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def lines(text: str) -> list[str]:
    return text.splitlines()


@pytest.mark.long
@pytest.mark.parametrize("columns", [None, "40"])
def test_messages_and_results_are_whole_lines_from_a_long_path(
    deep: Path, columns: str | None
) -> None:
    file = deep / "scenario.toml"
    bad = deep / "bad.toml"

    ok = cli(deep, "validate", str(file), columns=columns)
    assert ok.returncode == EXIT_OK, ok.stderr
    valid = f"{file}: valid — 4 nodes, 4 directed links, 2 sources, 2 flows, about "
    (line,) = lines(ok.stdout)
    assert line.startswith(valid) and line.endswith(" packets in 200 ms"), ok.stdout

    for command in ("validate", "run"):
        invalid = cli(deep, command, str(bad), columns=columns)
        assert invalid.returncode == EXIT_INVALID_SCENARIO, invalid.stderr
        assert invalid.stdout == ""
        err = lines(invalid.stderr)
        assert err[0] == f"invalid scenario {bad}: 1 problem", invalid.stderr
        assert err[1:] == [
            "  - links[0] (id=\"uplink\").rate: got '100mbps': unknown unit 'mbps': "
            "did you mean 'Mbps'?"
        ], invalid.stderr

    out = deep / "results-of-[a]-run-with-a-long-name"  # brackets are not rich markup
    run = cli(deep, "run", str(file), "--out", str(out), columns=columns)
    assert run.returncode == EXIT_OK, run.stderr
    assert UNREACHABLE in lines(run.stderr), run.stderr
    stdout = lines(run.stdout)
    assert stdout[-1].endswith(f" — results in {out}"), run.stdout
    assert " packet-hops in " in stdout[-1]
    header = next(line for line in stdout if "loss" in line and "p99" in line)
    assert len(header) > 40  # a table as wide as its columns, not the COLUMNS
    assert "SLA: no targets set" in stdout
    # clean lines: none ends with a space (a table's padding, an edge of spaces), and the
    # tables are apart by one empty line
    assert [line for line in lines(run.stdout + run.stderr) if line != line.rstrip()] == []
    links = next(i for i, line in enumerate(stdout) if line.startswith("Links by utilisation"))
    assert stdout[links - 1] == "" and stdout[links - 2] != ""


def print_tables() -> None:
    """A table as ``run`` prints them (edges of spaces, a blank line between sections),
    one as ``size`` prints them (drawn edges), and a line, on :func:`stdout_console`."""
    simple = Table(title="classes (ms)", box=box.SIMPLE_HEAD)
    simple.add_column("class")
    simple.add_column("p99", justify="right")
    simple.add_row("video", "1.5")
    simple.add_section()
    simple.add_row("ptz", "12.25")
    drawn = Table(title="investment per year")
    drawn.add_column("year")
    drawn.add_column("CAPEX", justify="right")
    drawn.add_row("1", "1,200")
    console = stdout_console()
    console.print(simple)
    console.print(drawn)
    console.print("done")


TABLES_TO_A_PIPE = """\
classes (ms)

  class     p99
 ───────────────
  video     1.5

  ptz     12.25

investment per year
┏━━━━━━┳━━━━━━━┓
┃ year ┃ CAPEX ┃
┡━━━━━━╇━━━━━━━┩
│ 1    │ 1,200 │
└──────┴───────┘
done
"""


def test_tables_to_a_pipe_are_whole_lines_without_trailing_spaces(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """To a pipe or a file: no trailing spaces, no line of only spaces (an edge of spaces
    or a section's blank line is empty), columns aligned; on a terminal, as rich draws it."""
    print_tables()
    assert capsys.readouterr().out == TABLES_TO_A_PIPE
    monkeypatch.setattr(output, "_is_tty", lambda stream: True)
    print_tables()
    drawn = capsys.readouterr().out
    assert type(stdout_console()) is Console  # drawn by rich as it is (titles wrapped to
    assert "\n  video     1.5  \n" in drawn  # their table's width, cells padded)


@pytest.mark.parametrize("columns", [None, "40"])
def test_a_sweep_folder_refusal_is_one_line_from_a_long_path(
    deep: Path, columns: str | None
) -> None:
    out = deep / f"a-sweep-folder-{columns}"
    prepared = cli(deep, "sweep", "sweep1.toml", "--out", str(out), "--print-sbatch")
    assert prepared.returncode == EXIT_OK, prepared.stderr
    refused = cli(deep, "sweep", "sweep2.toml", "--out", str(out), columns=columns)
    assert refused.returncode == EXIT_USAGE, refused.stderr
    assert refused.stdout == ""
    err = lines(refused.stderr)
    assert len(err) == 1, refused.stderr
    assert err[0].startswith("error: ") and str(out) in err[0]
    assert err[0].endswith("choose another --out folder, or delete that one"), err[0]


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (ScenarioError("links[0].rate: bad"), EXIT_INVALID_SCENARIO, "invalid scenario: 1 problem"),
        (AnalysisInputError("--from: bad"), EXIT_INVALID_SCENARIO, "invalid input: --from: bad"),
        (SweepFolderError("another sweep"), EXIT_USAGE, "error: another sweep"),
        (ResultsNotFoundError("no results at x"), EXIT_USAGE, "error: no results at x"),
        (VidnetError("broken"), EXIT_RUNTIME, "error: broken"),
        (MemoryError("too big"), EXIT_RUNTIME, "error: MemoryError: too big"),
    ],
)
def test_one_mapping_of_errors_to_exit_codes_and_messages(
    exc: Exception, code: int, message: str
) -> None:
    assert exit_code(exc) == code
    assert error_message(exc).splitlines()[0] == message
    with pytest.raises(SystemExit) as stopped, reported_errors():
        raise exc
    assert stopped.value.code == code


def _compile_cut_in_a_callback(*, ctrl_c: bool) -> None:
    """What Numba does when Ctrl-C lands while LLVM generates machine code: Python raises
    ``KeyboardInterrupt`` in LLVM's callback to the object cache, which ctypes reports as
    ignored, and Numba then finds no compiled object (without Ctrl-C: a real error)."""

    def notify() -> None:
        if ctrl_c:
            signal.raise_signal(signal.SIGINT)  # raised here, in a callback from C

    ctypes.CFUNCTYPE(None)(notify)()
    raise RuntimeError("no compiled object yet for <Library 'advance'>")


@pytest.mark.skipif(
    not callable(signal.getsignal(signal.SIGINT)), reason="SIGINT not handled by Python here"
)
@pytest.mark.parametrize(
    ("ctrl_c", "code", "message"),
    [
        (True, EXIT_INTERRUPTED, "interrupted\n"),
        (False, EXIT_RUNTIME, "error: RuntimeError: no compiled object yet for <Library "),
    ],
)
def test_an_error_that_follows_ctrl_c_is_the_interrupt(
    ctrl_c: bool, code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception after SIGINT (a ``KeyboardInterrupt`` swallowed by a callback from C,
    then Numba's ``RuntimeError``) ends the command as Ctrl-C does: exit code 130 and one
    line, nothing printed as ignored; the same error without SIGINT is reported as it is.
    (tests/test_cli.py's slow test interrupts a real first compile.)"""
    handler, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    with pytest.raises(SystemExit) as stopped, reported_errors():
        _compile_cut_in_a_callback(ctrl_c=ctrl_c)
    assert stopped.value.code == code
    assert capsys.readouterr().err.startswith(message)
    assert signal.getsignal(signal.SIGINT) is handler and sys.unraisablehook is hook
    assert not interrupted(RuntimeError("after the command"))


@pytest.mark.skipif(
    not callable(signal.getsignal(signal.SIGINT)), reason="SIGINT not handled by Python here"
)
def test_a_sweep_interrupted_in_a_compile_keeps_its_own_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep's interrupt message (finished points kept) for the same interrupt."""
    monkeypatch.setattr(
        sweep_cli, "run_sweep", lambda *a, **k: _compile_cut_in_a_callback(ctrl_c=True)
    )
    with pytest.raises(SystemExit) as stopped, reported_errors():
        sweep_cli._run(
            None,
            tmp_path,
            executor_opts=cast(Any, SimpleNamespace(remote=lambda logs: None, workers=None)),
            index=None,
            chunk=1,
            skip_failed=False,
            as_json=False,
        )
    assert stopped.value.code == EXIT_INTERRUPTED
    assert capsys.readouterr().err.endswith(
        "sweep: interrupted; finished points are kept, run again to resume\n"
    )


def test_a_loss_violation_says_how_much_a_link_failure_lost(tmp_path: Path) -> None:
    """mid-city-services fails its video and signals SLAs on the packets lost while ring-ab
    was down, which no faster tier would save: the violation line says how much of the loss
    that was, so it does not read as buffers too small."""
    from click.testing import CliRunner

    from vidnet_sim.cli import main

    file = tmp_path / "s.toml"
    file.write_text(SCENARIO + "\n[sla.video]\nloss = 1e-4\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["run", str(file), "--out", str(tmp_path / "out")])
    assert r.exit_code == EXIT_OK, r.output
    (line,) = [x for x in r.output.splitlines() if x.startswith("SLA FAIL class video")]
    assert line.startswith("SLA FAIL class video: packet loss ")
    assert line.endswith(" of it lost to link failures)")


@pytest.mark.parametrize(
    ("ps", "text"),
    [(1.96, "<0.001"), (999_999.0, "<0.001"), (1e6, "0.00100"), (31.2e9, "31.2"), (0, "0")],
)
def test_the_summary_s_milliseconds_never_run_to_many_zeros(ps: float, text: str) -> None:
    """A jitter of a few picoseconds reads ``<0.001`` in the summary's millisecond columns
    (it read ``0.00000000196``); a microsecond and more keep three significant digits."""
    from vidnet_sim.cli.summary import _ms

    assert _ms(ps) == text
