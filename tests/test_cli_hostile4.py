"""Hostile command lines and files, fourth round: integers beyond any use, a link group or a
currency that says nothing, Ctrl-C while the command still imports the simulator.

Each case ends in one clear line naming what was wrong and the documented exit code, never
a traceback, and before anything runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import vidnet_sim
from test_cli_hostile2 import (  # noqa: F401 (made, curve_copy, swept: fixtures)
    curve_copy,
    invoke,
    last_line,
    made,
    swept,
)
from test_cli_hostile3 import no_run
from test_cli_messages import SCENARIO  # (the same two-camera scenario)
from vidnet_sim.cli import executors, main

HUGE = 2**63


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("option", "expected"),
    [("--jobs", "1<=x<=10000"), ("--cores", "1<=x<=4096")],
)
def test_a_cluster_of_more_jobs_or_cores_than_any_is_refused(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, expected: str
) -> None:
    """``--cluster slurm --jobs 9223372036854775808`` was taken: dask-jobqueue prepared the
    jobs in this process and filled 11 GB of memory in five minutes, before any was
    submitted."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(executors, "jobqueue_cluster", refuse)
    sweep = tmp_path / "sw.toml"
    sweep.write_text(
        '[sweep]\nscenario = "s.toml"\n[sweep.grid]\n"cameras.north.count" = [1, 2]\n',
        encoding="utf-8",
    )
    code, output = invoke(
        ["sweep", sweep, "--cluster", "slurm", option, HUGE, "--out", tmp_path / "out"]
    )
    assert code == 2, output
    assert last_line(output) == (
        f"Error: Invalid value for '{option}': {HUGE} is not in the range {expected}."
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("max_extend", [HUGE, 17_280_001])
def test_a_max_extend_past_the_longest_run_is_refused_up_front(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_extend: int
) -> None:
    """``size --max-extend 9223372036854775808`` was taken (exit 0 when every run was
    stationary at once): a run still growing was doubled until it passed the 960 h a run
    may last, and only then refused, after all the runs before it."""
    no_run(monkeypatch)
    code, output = invoke(
        ["size", scenario, "--max-extend", max_extend, "--workers", "1", "--no-plot",
         "--out", tmp_path / "out"]
    )  # fmt: skip
    assert code == 3, output
    assert last_line(output) == (
        f"invalid input: --max-extend: got {max_extend}; runs of 200ms extended that far "
        "would last longer than a run can (960h): expected at most 17280000"
    )


@pytest.mark.parametrize("value", [",", " , ,"])
def test_a_one_tier_group_of_no_link_is_refused(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """``size --one-tier ","`` split into no link id and was dropped in silence."""
    no_run(monkeypatch)
    code, output = invoke(
        ["size", scenario, "--one-tier", value, "--workers", "1", "--out", tmp_path / "out"]
    )
    assert code == 2, output
    assert last_line(output) == (
        f"Error: Invalid value for '--one-tier': {value!r} names no link; expected "
        "comma-separated link ids, e.g. 'ring-ab,ring-bc'"
    )


EXPECTED_CURRENCY = "expected a currency's code or symbol (e.g. 'USD' or '€'): 1 to 12 printable"


@pytest.mark.parametrize(
    ("toml", "shown"),
    [('""', "''"), ('"   "', "'   '"), ('"ABCDEFGHIJKLM"', "'ABCDEFGHIJKLM'"),
     ('"US\\nD"', "'US\\nD'"), ('"US\\u0000D"', "'US\\x00D'")],
    ids=["empty", "spaces", "13 characters", "a line break", "a NUL"],
)  # fmt: skip
@pytest.mark.parametrize("legacy", [False, True], ids=["bill", "link-only"])
def test_a_currency_that_names_none_is_refused(
    scenario: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    toml: str,
    shown: str,
    legacy: bool,
) -> None:
    """An empty currency, one of only spaces, one of a line break (which split every
    amount's line of the tables) or an absurdly long one was taken and set after every
    amount; the link-only cost table took any value, a number too (``str(3)``)."""
    no_run(monkeypatch)
    costs = tmp_path / "costs.toml"
    costs.write_text(f"currency = {toml}\n" + ("port = 1\n" if legacy else ""), "utf-8")
    code, output = invoke(
        ["size", scenario, "--costs", costs, "--workers", "1", "--out", tmp_path / "out"]
    )
    assert code == 3, output
    lines = output.strip().splitlines()
    if legacy:
        assert lines == [
            f"invalid input: cost model {costs}: currency: got {shown}, {EXPECTED_CURRENCY} "
            "characters"
        ]
    else:
        assert lines == [
            f"invalid input: cost model {costs}: 1 problem",
            f"  - currency: got {shown}: {EXPECTED_CURRENCY} characters",
        ]


def test_a_currency_that_is_not_text_is_refused_in_a_link_only_table(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``currency = 3`` in a link-only cost table was priced as "3"."""
    no_run(monkeypatch)
    costs = tmp_path / "costs.toml"
    costs.write_text("currency = 3\nport = 1\n", "utf-8")
    code, output = invoke(["size", scenario, "--costs", costs, "--out", tmp_path / "out"])
    assert code == 3, output
    assert output.strip() == (
        f"invalid input: cost model {costs}: currency: got 3, {EXPECTED_CURRENCY} characters"
    )


def test_a_report_json_missing_a_key_says_what_to_do(curve_copy: Path) -> None:  # noqa: F811
    """A report.json missing a key every version writes named the key, not what to do."""
    doc = json.loads((curve_copy / "report.json").read_text(encoding="utf-8"))
    del doc["headline"]
    (curve_copy / "report.json").write_text(json.dumps(doc), encoding="utf-8")
    code, output = invoke(["report", curve_copy])
    assert code == 2, output
    assert output == (
        f"error: {curve_copy / 'report.json'}: not usable report data: the document: missing "
        "key(s): headline (a damaged file, or one of an older vidnet-sim: run the command "
        "that wrote it again)\n"
    )


# --------------------------------------------------------------------------- Ctrl-C early
#: A ``sitecustomize`` for the command's process: when the import of
#: ``vidnet_sim.analysis`` starts (the package's ``__init__`` imports it first, after its
#: guard), it says so on stderr and waits there, so that the test's SIGINT lands in the
#: import whatever the machine's speed.
SITECUSTOMIZE = """
import sys, time

class _Slow:
    def find_spec(self, name, path=None, target=None):
        if name == "vidnet_sim.analysis":
            sys.stderr.write("importing\\n")
            sys.stderr.flush()
            time.sleep(30)
        return None

sys.meta_path.insert(0, _Slow())
"""

#: The console script pip writes for ``vidnet-sim = "vidnet_sim.cli:entry"``.
CONSOLE_SCRIPT = """import re
import sys
from vidnet_sim.cli import entry
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(entry())
"""


def _as_foreground_job() -> None:
    """In the child before it starts Python: SIGINT as a terminal's foreground job has it.
    A shell's background job (``pytest ... &`` in a script, some CI runners) starts with
    SIGINT ignored and its children inherit that; Python then installs no handler of its
    own, and the guard rightly leaves an ignored Ctrl-C ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(os.name == "nt", reason="SIGINT cannot be sent to a process on Windows")
@pytest.mark.parametrize("how", ["console script", "python -m vidnet_sim"])
def test_ctrl_c_while_the_command_imports_is_one_line(
    scenario: Path, tmp_path: Path, how: str
) -> None:
    """Ctrl-C in the first second or two of a command, while Numba and pandas are still
    imported (before the command's own handling of it), printed a traceback of the import
    (and the process died of SIGINT, not with exit code 130)."""
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    script = tmp_path / "vidnet-sim"
    script.write_text(CONSOLE_SCRIPT, encoding="utf-8")
    src = str(Path(vidnet_sim.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), src])}
    start = [str(script)] if how == "console script" else ["-m", "vidnet_sim"]
    proc = subprocess.Popen(
        [sys.executable, *start, "validate", str(scenario)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_as_foreground_job,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first == "importing\n", first + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert (proc.returncode, err, out) == (130, "interrupted\n", "")


@pytest.mark.skipif(os.name == "nt", reason="no preexec_fn on Windows")
def test_a_program_importing_the_library_keeps_its_ctrl_c(tmp_path: Path) -> None:
    """The guard is the command's only: a program that imports vidnet_sim (here ``python -c``)
    still gets its ``KeyboardInterrupt`` and Python's handler of SIGINT."""
    code = (
        "import signal, sys, vidnet_sim\n"
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
        "assert sys.excepthook is sys.__excepthook__\n"
    )
    src = str(Path(vidnet_sim.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_as_foreground_job,
    )
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------- hunted
@pytest.mark.parametrize(
    ("vary", "maximum", "expected"),
    [
        ("cameras", "1e308", 'cameras[0] (name="north").count: got '
         "100000000000000001097906362944045541740492309677311846336...: must be at most 100000"),
        ("links.edge-nvr.rate", "1e308bps", 'links[0] (id="edge-nvr").rate: got '
         "'1e+308bps': too large (at most 9223372.036854775807Tbps)"),
    ],
)  # fmt: skip
def test_a_search_bound_beyond_any_field_is_said_in_a_few_digits(
    scenario: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    vary: str,
    maximum: str,
    expected: str,
) -> None:
    """``capacity --max 1e308`` wrote the value with its 309 digits, twice (a rate field
    three times), in a line of a thousand characters."""
    no_run(monkeypatch)
    code, output = invoke(
        ["capacity", scenario, "--vary", vary, "--max", maximum, "--workers", "1",
         "--out", tmp_path / "out"]
    )  # fmt: skip
    assert code == 3, output
    assert output.strip() == (
        f"invalid input: --max 1e+308: the scenario is invalid with --vary {vary} at 1e+308: "
        + expected
    )


def test_a_variant_named_longer_than_a_file_name_gets_a_folder(
    scenario: Path, tmp_path: Path
) -> None:
    """A variant named with 300 letters ended the whatif with ``error: OSError: [Errno 36]
    File name too long`` (exit 1) once its baseline was sized: its folder is named with
    the first 80 characters, and two names that share them are refused up front."""
    long = "x" * 300
    variants = tmp_path / "v.toml"
    variants.write_text(
        "".join(
            f'[[variants]]\nname = "{name}"\nset = {{ "cameras.north.count" = 3 }}\n'
            for name in (long + "a", long + "b")
        ),
        encoding="utf-8",
    )
    code, output = invoke(["whatif", scenario, variants, "--out", tmp_path / "out"])
    assert code == 3, output
    assert output.strip().splitlines()[1:] == [
        f'  - variants[1].name: "{long}b" would share the folder "{"x" * 80}" with '
        f'"{long}a"; rename one of them'
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [("parameters", None), ("parameters", 3), ("points", 3), ("points", [{"index": 0}])],
)
def test_compare_reads_a_sweep_whose_lists_are_damaged(
    swept: Path,  # noqa: F811
    tmp_path: Path,
    key: str,
    value: Any,
) -> None:
    """A sweep folder whose ``_sweep.json`` lists its parameters or points as a number (or
    null, or points without their id) ended ``compare`` in a traceback (``TypeError: 'int'
    object is not iterable``): the points are read from their folders all the same."""
    meta_file = swept / "_sweep.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta[key] = value
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["compare", str(swept), str(swept), "--out", str(tmp_path / "c.csv"), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and {r["table"] for r in rows} >= {"summary"}


def test_a_vary_range_that_is_not_finite_names_its_values(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``curve --to inf`` was refused without the value given."""
    no_run(monkeypatch)
    code, output = invoke(
        ["curve", scenario, "--vary", "bitrate", "--from", "1", "--to", "inf", "--steps", "2",
         "--out", tmp_path / "out"]
    )  # fmt: skip
    assert code != 0, output
    assert "--from/--to: must be finite numbers, got --from 1.0 and --to inf" in output


@pytest.mark.parametrize("option", ["--start", "--max"])
def test_a_fractional_camera_count_is_refused(
    option: str, scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``capacity --vary cameras --start 1.5`` searched from 1.5 cameras (up to 1 536)."""
    no_run(monkeypatch)
    args = ["capacity", scenario, "--vary", "cameras", option, "1.5", "--workers", "1"]
    code, output = invoke([*args, "--out", tmp_path / "out"])
    assert code == 3, output
    assert output.strip() == (
        f"invalid input: {option} 1.5: expected a whole number (--vary cameras counts whole units)"
    )
