"""The ``vidnet-sim`` command: bad input, usage errors, output formats and results folders.

Bad input contract: one error paragraph on stderr naming the field's path, the bad value and
what was expected; exit code 3; no traceback; nothing written. Most tests run in-process
with click's CliRunner (the Numba core compiles once per process); one runs a real process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

import vidnet_sim
from vidnet_sim.cli import main
from vidnet_sim.cli.run import COMPILING
from vidnet_sim.errors import EXIT_INTERRUPTED, EXIT_INVALID_SCENARIO, EXIT_OK, EXIT_USAGE
from vidnet_sim.results import read_results, store

DATA = Path(__file__).parent / "data" / "cli"
RUN_FILES = set(store.RUN_FILES)

# A small valid scenario: two VBR cameras and a CBR source through one switch to a recorder.
GOOD = """\
name = "cli-good"

[simulation]
duration = "200ms"
warmup = "20ms"
seed = 3

[[nodes]]
id = "edge"
[[nodes]]
id = "nvr"
kind = "recorder"

[[links]]
a = "edge"
b = "nvr"
rate = "1Gbps"
buffer = "256KiB"

[[cameras]]
name = "cams"
count = 2
attach = "edge"
bitrate = "4Mbps"
max_payload = "1400B"
destinations = ["nvr"]

[[sources]]
name = "telemetry"
kind = "cbr"
at = "edge"
destinations = ["nvr"]
rate = "1Mbps"
size = "500B"

[sla.video]
latency_p99 = "50ms"
loss = 0.001
"""

# Tiny but congested (I-frame bursts of three 8 Mbit/s cameras on a 20 Mbit/s link with a
# small buffer), with a Poisson source: the core and the reference must agree on it.
TINY = """\
name = "cli-tiny"

[simulation]
duration = "300ms"
warmup = "50ms"
seed = 7

[[nodes]]
id = "edge"
[[nodes]]
id = "core"
[[nodes]]
id = "nvr"

[[links]]
a = "edge"
b = "core"
rate = "20Mbps"
buffer = "16KiB"
[[links]]
a = "core"
b = "nvr"
rate = "1Gbps"
delay = "20us"

[[cameras]]
name = "cams"
count = 3
attach = "edge"
bitrate = "8Mbps"
phase = "aligned"
destinations = ["nvr"]

[[sources]]
name = "telemetry"
kind = "poisson"
at = "edge"
destinations = ["nvr"]
rate = "2Mbps"
size_dist = { kind = "uniform", min = "64B", max = "1400B" }
"""


def variant(*replacements: tuple[str, str]) -> str:
    """GOOD with the first occurrence of each ``old`` replaced by ``new`` (which must exist)."""
    text = GOOD
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def write(folder: Path, text: str, name: str = "scenario.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- bad input
@dataclass
class Bad:
    """A bad scenario: its TOML (None: use ``file``), and what the error must mention."""

    needles: list[str]
    toml: str | None = None
    file: Path | None = None  # an existing file under tests/data/cli, or a missing one


def _syntax_case() -> Bad:
    text = variant(('duration = "200ms"', "duration = 200ms"))
    lines = text.splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("duration = 200ms")) + 1
    column = lines[n - 1].index("ms") + 1
    return Bad([f"line {n}, column {column}", "TOML syntax error", 'duration = "200ms"'], text)


LINK = 'links[0] (id="edge-nvr")'
CAMS = 'cameras[0] (name="cams")'
TELEMETRY = 'sources[0] (name="telemetry")'

BAD: dict[str, Bad] = {
    "missing-file": Bad(
        ["file not found", "no-such-scenario.toml"], file=DATA / "no-such-scenario.toml"
    ),
    "toml-syntax": _syntax_case(),
    "unknown-key": Bad(
        [f"{LINK}.bufer", "unknown key 'bufer'", "did you mean 'buffer'?"],
        variant(('buffer = "256KiB"', 'bufer = "256KiB"')),
    ),
    "unknown-key-camera": Bad(
        [f"{CAMS}.bitrat", "unknown key 'bitrat'", "did you mean 'bitrate'?"],
        variant(('bitrate = "4Mbps"', 'bitrat = "4Mbps"')),
    ),
    "bad-unit": Bad(
        [f"{LINK}.rate", "'10gbps'", "unknown unit 'gbps'", "did you mean 'Gbps'?"],
        variant(('rate = "1Gbps"', 'rate = "10gbps"')),
    ),
    "zero-link-rate": Bad(
        [f"{LINK}.rate", "'0Gbps'", "must be greater than 0"],
        variant(('rate = "1Gbps"', 'rate = "0Gbps"')),
    ),
    "negative-link-rate": Bad(
        [f"{LINK}.rate", "'-1Gbps'", "must not be negative"],
        variant(('rate = "1Gbps"', 'rate = "-1Gbps"')),
    ),
    "zero-bitrate": Bad(
        [f"{CAMS}.bitrate", "'0Mbps'", "must be greater than 0"],
        variant(('bitrate = "4Mbps"', 'bitrate = "0Mbps"')),
    ),
    "negative-source-rate": Bad(
        [f"{TELEMETRY}.rate", "'-1Mbps'", "must not be negative"],
        variant(('rate = "1Mbps"', 'rate = "-1Mbps"')),
    ),
    "zero-buffer": Bad(
        [f"{LINK}.buffer", "'0B'", "must be greater than 0"],
        variant(('buffer = "256KiB"', 'buffer = "0B"')),
    ),
    "negative-buffer": Bad(
        [f"{LINK}.buffer", "'-256KiB'", "must not be negative"],
        variant(('buffer = "256KiB"', 'buffer = "-256KiB"')),
    ),
    "zero-payload": Bad(
        [f"{CAMS}.max_payload", "'0B'", "must be greater than 0"],
        variant(('max_payload = "1400B"', 'max_payload = "0B"')),
    ),
    "negative-source-size": Bad(
        [f"{TELEMETRY}.size", "'-500B'", "must not be negative"],
        variant(('size = "500B"', 'size = "-500B"')),
    ),
    "packet-larger-than-the-core-holds": Bad(
        ["group 'telemetry'", "packets of up to 2097", "expected at most 1048575 bytes"],
        variant(('size = "500B"', 'size = "2MiB"')),
    ),
    "more-frames-in-flight-than-the-core-holds": Bad(
        ["group 'cams'", "frames of one camera in flight", "expected at most 262144"],
        variant(
            ('duration = "200ms"', 'duration = "4h"'),
            ('rate = "1Gbps"\nbuffer = "256KiB"', 'rate = "1kbps"\nbuffer = "64MiB"'),
        ),
    ),
    "unknown-attach-node": Bad(
        [f"{CAMS}.attach", "'edg'", "no node has this id", "did you mean 'edge'?"],
        variant(('attach = "edge"', 'attach = "edg"')),
    ),
    "unreachable-destination": Bad(
        [f"{CAMS}.destinations", "'island'", "cannot be reached"],
        variant(
            ('kind = "recorder"\n', 'kind = "recorder"\n[[nodes]]\nid = "island"\n'),
            ('destinations = ["nvr"]', 'destinations = ["island"]'),
        ),
    ),
    "destination-only-over-blocked-link": Bad(
        [
            f"{CAMS}.destinations",
            f"{TELEMETRY}.destinations",
            "'nvr'",
            "cannot be reached",
            "blocked",
        ],
        variant(('buffer = "256KiB"\n', 'buffer = "256KiB"\nblocked = true\n')),
    ),
    "cyclic-ring-shortest-paths": Bad(
        ["routes", "cyclic", "r0->r1", "loop-free", "blocked = true"],
        file=DATA / "ring5_cyclic.toml",
    ),
    "cyclic-explicit-routes": Bad(
        ["routes", "cyclic", "n0->n1 -> n1->n2", "loop-free"],
        file=DATA / "ring4_routes_cyclic.toml",
    ),
    "trace-unsorted": Bad(
        ['sources[0] (name="replay").file', "must be sorted", "row 3", "1ms", "2ms"],
        file=DATA / "trace_unsorted.toml",
    ),
    "trace-negative": Bad(
        ['sources[0] (name="replay").file', "row 2", "must not be negative", "'-0.001'"],
        file=DATA / "trace_negative.toml",
    ),
}


def scenario_file(case: Bad, tmp_path: Path) -> Path:
    if case.file is not None:
        return case.file
    assert case.toml is not None
    return write(tmp_path, case.toml)


def assert_invalid(result: Result, needles: list[str]) -> None:
    """Exit 3, one error paragraph on stderr mentioning every needle, nothing on stdout."""
    output = result.stdout + result.stderr
    assert result.exit_code == EXIT_INVALID_SCENARIO, output
    assert isinstance(result.exception, SystemExit), result.exception  # no stray exception
    assert "Traceback" not in output
    assert result.stdout == ""
    err = result.stderr.strip()
    assert err.startswith("invalid scenario"), err
    assert err.count("invalid scenario") == 1, err
    assert "\n\n" not in err, err  # one paragraph
    lines = err.splitlines()  # never wrapped: each needle is whole on one line
    for needle in needles:
        assert any(needle in line for line in lines), f"{needle!r} not in {err!r}"


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_input_run(case: Bad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = scenario_file(case, tmp_path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "res"
    assert_invalid(invoke("run", file, "--out", out), case.needles)
    assert not out.exists()
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_input_validate(case: Bad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = scenario_file(case, tmp_path)
    monkeypatch.chdir(tmp_path)
    assert_invalid(invoke("validate", file), case.needles)
    assert not (tmp_path / "results").exists()


def test_bad_input_run_json_prints_no_json(tmp_path: Path) -> None:
    file = write(tmp_path, variant(('rate = "1Gbps"', 'rate = "10gbps"')))
    out = tmp_path / "res"
    assert_invalid(invoke("run", file, "--out", out, "--json"), [f"{LINK}.rate"])
    assert not out.exists()


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        variant(('rate = "1Gbps"', 'rate = "10gbps"'), ('attach = "edge"', 'attach = "edg"')),
    )
    result = invoke("validate", file)
    assert_invalid(result, ["2 problems", f"{LINK}.rate", f"{CAMS}.attach"])


def test_error_lines_are_not_hard_wrapped(tmp_path: Path) -> None:
    """Each problem is one line, whatever the width: the paragraph is grep-able in logs."""
    file = write(
        tmp_path,
        variant(('rate = "1Gbps"', 'rate = "10gbps"'), ('attach = "edge"', 'attach = "edg"')),
    )
    result = invoke("validate", file)
    assert result.exit_code == EXIT_INVALID_SCENARIO
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("invalid scenario") and lines[0].endswith("2 problems"), lines
    assert len(lines) == 3, lines
    assert all(line.startswith("  - ") for line in lines[1:]), lines


def test_bad_input_real_process(tmp_path: Path, src_env: dict[str, str]) -> None:
    """The installed entry point's behaviour in a real process: exit 3, no traceback."""
    file = write(tmp_path, variant(('rate = "1Gbps"', 'rate = "10gbps"')))
    out = tmp_path / "res"
    env = src_env
    proc = subprocess.run(
        [sys.executable, "-m", "vidnet_sim.cli", "run", str(file), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == EXIT_INVALID_SCENARIO, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout == ""
    assert any(line.endswith("did you mean 'Gbps'?") for line in proc.stderr.splitlines())
    assert not out.exists()


# --------------------------------------------------------------------------- usage
@pytest.mark.parametrize("duration", ["10gbps", "10", "0s", "-1s", "fast"])
def test_bad_duration_is_a_usage_error(duration: str, tmp_path: Path) -> None:
    file = write(tmp_path, GOOD)
    out = tmp_path / "res"
    result = invoke("run", file, "--out", out, "--duration", duration)
    assert result.exit_code == EXIT_USAGE, result.output
    assert "Traceback" not in result.output
    assert "--duration" in result.stderr
    assert result.stdout == ""
    assert not out.exists()


def test_too_long_duration_is_a_usage_error(tmp_path: Path) -> None:
    """A duration beyond int64 picoseconds (~106 days) is a bad option value, not a crash."""
    file = write(tmp_path, GOOD)
    out = tmp_path / "res"
    result = invoke("run", file, "--out", out, "--duration", "10000000h")
    assert result.exit_code == EXIT_USAGE, result.output
    assert "--duration" in result.stderr
    assert "ValidationError" not in result.output
    assert not out.exists()


def test_help() -> None:
    result = invoke("--help")
    assert result.exit_code == EXIT_OK
    assert "run" in result.stdout and "validate" in result.stdout
    for command in ("run", "validate"):
        sub = invoke(command, "--help")
        assert sub.exit_code == EXIT_OK
        assert "FILE" in sub.stdout
    run_help = invoke("run", "--help").stdout
    for option in ("--out", "--seed", "--duration", "--engine", "--json"):
        assert option in run_help


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == EXIT_OK
    assert result.stdout.strip() == f"vidnet-sim, version {vidnet_sim.__version__}"


def test_console_script_exits_with_the_commands_code_and_a_frozen_heap(
    src_env: dict[str, str],
) -> None:
    """``entry`` (the console script) exits as ``main`` does, after freezing the heap so that
    the interpreter's last garbage collection skips the kernels' compiler objects."""
    code = (
        "import gc, sys\n"
        "from vidnet_sim.cli import entry\n"
        "sys.argv = ['vidnet-sim', '--version']\n"
        "try:\n"
        "    entry()\n"
        "except SystemExit as e:\n"
        "    print(e.code, gc.get_freeze_count() > 0)\n"
    )
    env = src_env
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == f"vidnet-sim, version {vidnet_sim.__version__}"
    assert lines[-1] == "0 True"


def test_unknown_command_and_engine_are_usage_errors(tmp_path: Path) -> None:
    file = write(tmp_path, GOOD)
    assert invoke("simulate", file).exit_code == EXIT_USAGE
    result = invoke("run", file, "--out", tmp_path / "res", "--engine", "ns3")
    assert result.exit_code == EXIT_USAGE
    assert not (tmp_path / "res").exists()


# --------------------------------------------------------------------------- validate
def test_validate_good_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = write(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", file)
    assert result.exit_code == EXIT_OK, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{file}: valid")
    assert result.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]  # nothing written


def test_validate_ring_with_blocked_link() -> None:
    """The fix the cycle error suggests (block one ring link) makes the ring valid."""
    result = invoke("validate", DATA / "ring5_blocked.toml")
    assert result.exit_code == EXIT_OK, result.output
    assert ": valid" in result.stdout


# --------------------------------------------------------------------------- run
def test_run_json(tmp_path: Path) -> None:
    file = write(tmp_path, GOOD)
    out = tmp_path / "res"
    result = invoke("run", file, "--out", out, "--json")
    assert result.exit_code == EXIT_OK, result.output
    doc = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert result.stdout.lstrip().startswith("{")
    rows = {(r["level"], r["name"]) for r in doc["summary"]}
    assert rows == {
        ("group", "cams"),
        ("group", "telemetry"),
        ("class", "video"),
        ("class", "data"),
        ("recorder", "nvr"),  # its recording storage
    }
    cams = next(r for r in doc["summary"] if r["name"] == "cams")
    assert cams["packets_sent"] > 0 and cams["packets_delivered"] == cams["packets_sent"]
    assert cams["sla_ok"] is True
    assert {r["link"] for r in doc["links"]} >= {"edge->nvr", "nvr->edge"}
    assert doc["sla"] == {"checked": True, "violations": 0, "ok": True, "caveats": []}
    assert Path(doc["results"]) == out
    assert set(os.listdir(out)) == RUN_FILES


def test_run_prints_summary_and_writes_results(tmp_path: Path) -> None:
    file = write(tmp_path, GOOD)
    out = tmp_path / "res"
    result = invoke("run", file, "--out", out)
    assert result.exit_code == EXIT_OK, result.output
    assert "Traceback" not in result.output
    for text in ("cams", "telemetry", "video", "edge->nvr", "SLA: all targets met", str(out)):
        assert text in result.stdout
    assert set(os.listdir(out)) == RUN_FILES  # and no leftover temporary files

    res = vidnet_sim.read_results(out)
    for table in (res.summary, res.links, res.hist):
        assert isinstance(table, pd.DataFrame) and len(table) > 0
    groups = res.summary[res.summary["level"] == "group"]
    classes = res.summary[res.summary["level"] == "class"]
    assert set(groups["name"]) == {"cams", "telemetry"}
    assert set(classes["name"]) == {"video", "data"}
    assert set(res.hist["name"]) <= {"cams", "telemetry", "video", "data"}
    assert "cams" in set(res.hist["name"])
    assert {"edge->nvr", "nvr->edge", "cams[0]->edge", "cams[1]->edge"} <= set(res.links["link"])
    assert res.manifest["scenario_name"] == "cli-good"
    assert res.manifest["seed"] == 3
    assert res.manifest["engine"] == "core"
    # the simulation's wall time and rate, the kernels' start-up apart
    assert res.manifest["startup_seconds"] >= 0 and res.manifest["wall_seconds"] > 0
    assert res.manifest["packet_hops_per_second"] == pytest.approx(
        res.manifest["packet_hops"] / res.manifest["wall_seconds"]
    )
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3


def test_default_results_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = write(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path)
    result = invoke("run", file, "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert set(os.listdir(tmp_path / "results" / "cli-good")) == RUN_FILES


def test_overloaded_link_is_not_an_error(tmp_path: Path) -> None:
    file = DATA / "overload.toml"
    assert invoke("validate", file).exit_code == EXIT_OK
    out = tmp_path / "res"
    result = invoke("run", file, "--out", out)
    assert result.exit_code == EXIT_OK, result.output
    assert "Traceback" not in result.output
    res = vidnet_sim.read_results(out)
    cams = res.summary.set_index(["level", "name"]).xs(("group", "cams"))
    assert cams["packets_dropped"] > 0
    assert cams["loss"] > 0.5  # 60 Mbit/s offered to 10 Mbit/s
    assert f"{cams['loss']:.1e}" in result.stdout  # the loss is on screen too
    up = res.links.set_index("link").loc["uplink:agg->cc"]
    assert up["drops"] > 0
    # the link counts arrivals before the end, the group every packet emitted before it
    assert up["drops"] <= cams["packets_dropped"]


def run_tables(tmp_path: Path, name: str, *args: str, text: str = GOOD) -> vidnet_sim.Results:
    file = tmp_path / "scenario.toml"
    if not file.exists():
        write(tmp_path, text)
    out = tmp_path / name
    result = invoke("run", file, "--out", out, *args)
    assert result.exit_code == EXIT_OK, result.output
    return vidnet_sim.read_results(out)


def test_same_seed_same_results(tmp_path: Path) -> None:
    a = run_tables(tmp_path, "a")
    b = run_tables(tmp_path, "b")
    c = run_tables(tmp_path, "c", "--seed", "3")  # the file's seed, given explicitly
    for other in (b, c):
        pd.testing.assert_frame_equal(a.summary, other.summary)
        pd.testing.assert_frame_equal(a.links, other.links)
        pd.testing.assert_frame_equal(a.hist, other.hist)


def test_different_seed_different_results(tmp_path: Path) -> None:
    a = run_tables(tmp_path, "a")
    b = run_tables(tmp_path, "b", "--seed", "4")
    assert b.manifest["seed"] == 4
    assert not a.summary.equals(b.summary)
    cams_a = a.summary.set_index("name").loc["cams"]
    cams_b = b.summary.set_index("name").loc["cams"]
    # VBR frame sizes and random GOP phases depend on the seed
    assert cams_a["payload_bytes_delivered"] != cams_b["payload_bytes_delivered"]


def test_duration_override(tmp_path: Path) -> None:
    short = run_tables(tmp_path, "short", "--duration", "100ms")
    full = run_tables(tmp_path, "full")
    assert short.manifest["duration_ps"] == 100 * 10**9
    assert full.manifest["duration_ps"] == 200 * 10**9
    sent = {
        r: t.summary.set_index("name")["packets_sent"].loc["telemetry"]
        for r, t in (("short", short), ("full", full))
    }
    assert 0 < sent["short"] < sent["full"]


def test_reference_engine_gives_the_same_tables(tmp_path: Path) -> None:
    core = run_tables(tmp_path, "core", text=TINY)
    ref = run_tables(tmp_path, "ref", "--engine", "reference", text=TINY)
    assert ref.manifest["engine"] == "reference"
    summary = core.summary.set_index("name")
    assert summary["packets_dropped"].loc["cams"] > 0  # the case is not trivial
    wall = [c for c in core.summary.columns if "wall" in c]  # none today; never compared
    pd.testing.assert_frame_equal(core.summary.drop(columns=wall), ref.summary.drop(columns=wall))
    pd.testing.assert_frame_equal(core.links, ref.links)
    pd.testing.assert_frame_equal(core.hist, ref.hist)


def test_network_errors_name_the_file(tmp_path: Path) -> None:
    """Errors found when compiling the network name the file, like the loader's errors do."""
    case = BAD["unreachable-destination"]
    file = scenario_file(case, tmp_path)
    runs: list[list[str | Path]] = [["validate", file], ["run", file, "--out", tmp_path / "res"]]
    for args in runs:
        result = invoke(*args)
        assert_invalid(result, case.needles)
        head = result.stderr.splitlines()[0].split(": ", 1)[0]
        assert head == f"invalid scenario {file}", head


def test_validate_accepts_a_sweep_file_and_reports_its_errors(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent / "scenarios"
    ok = CliRunner().invoke(main, ["validate", str(root / "sweep-small-town.toml")])
    assert ok.exit_code == 0, ok.output
    assert "valid sweep" in ok.output and "54 points" in ok.output
    bad = tmp_path / "bad-sweep.toml"
    bad.write_text(
        f'[sweep]\nscenario = "{(root / "small-town.toml").as_posix()}"\n'
        '[sweep.grid]\n"links.core-uplink.rate" = ["1gbps"]\n'
    )
    res = CliRunner().invoke(main, ["validate", str(bad)])
    assert res.exit_code == 3
    assert "Gbps" in res.output and "Traceback" not in res.output


def test_a_slow_start_up_says_the_core_is_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run on a machine compiles the packet core for minutes: the user is told,
    and the run's rate leaves that start-up out."""
    import time

    from vidnet_sim.cli import run as run_cmd
    from vidnet_sim.core.engine import CoreEngine

    prepare = CoreEngine.prepare

    def slow(self: CoreEngine) -> None:
        time.sleep(0.7)
        prepare(self)

    monkeypatch.setattr(CoreEngine, "prepare", slow)
    monkeypatch.setattr(run_cmd, "STARTUP_NOTICE_SECONDS", 0.05)
    path = write(tmp_path, GOOD)
    res = invoke("run", path, "--out", tmp_path / "out")
    assert res.exit_code == EXIT_OK, res.output
    assert "compiling the packet core (first run only, one to three minutes)" in res.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["startup_seconds"] >= 0.7 > manifest["wall_seconds"]
    line = "not counting 1 s of start-up compiling the packet core, first run only)"
    assert line in res.output and "apart" not in res.output  # read as 'the start-up excepted'
    monkeypatch.setattr(run_cmd, "STARTUP_NOTICE_SECONDS", 30.0)
    quick = invoke("run", path, "--out", tmp_path / "out2")
    assert "compiling" not in quick.output


def test_run_packets_writes_the_per_packet_table(tmp_path: Path) -> None:
    from vidnet_sim.results import read_parquet_kwargs, read_results
    from vidnet_sim.runner import run as run_scenario

    path = write(tmp_path, GOOD)
    res = invoke("run", path, "--packets", "--out", tmp_path / "out")
    assert res.exit_code == EXIT_OK, res.output
    results = read_results(tmp_path / "out")
    packets = results.packets
    assert packets is not None and set(packets["group"]) == {"cams", "telemetry"}
    assert (packets["outcome"] == "delivered").all()
    summary = results.summary.set_index(["level", "name"])
    for group, rows in packets.groupby("group"):
        row = summary.xs(("group", str(group)))
        assert len(rows) == row["packets_sent"]
        assert rows["latency_ps"].mean() == pytest.approx(row["latency_mean_ps"], rel=1e-12)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["tables"]["packets"] == "packets.parquet"
    assert manifest["packets"] == {"rows": len(packets), "sample": None, "groups": None}
    # the folder still reads table by table with pandas alone
    assert len(pd.read_parquet(tmp_path / "out", **read_parquet_kwargs("summary"))) == 5
    # the reference engine's packets are the same rows
    ref = run_scenario(path, engine="reference", packets=True, write=False)
    assert ref.packets is not None and ref.packets.equals(packets)
    res = invoke("run", path, "--sample", "0.25", "--out", tmp_path / "some")
    assert res.exit_code == EXIT_OK, res.output
    some = read_results(tmp_path / "some").packets
    assert some is not None and 0.15 < len(some) / len(packets) < 0.35
    assert read_results(tmp_path / "some").manifest["packets"]["sample"] == 0.25
    plain = invoke("run", path, "--out", tmp_path / "plain")
    assert plain.exit_code == EXIT_OK and read_results(tmp_path / "plain").packets is None


def test_run_packets_of_chosen_groups(tmp_path: Path) -> None:
    """``--packets GROUP`` (repeated or comma-separated) keeps those groups' packets, with
    ``--sample`` too and ``--hops`` for their hops; an unknown group is a usage error naming
    it, a close group and the known ones, before anything runs or is written."""
    path = write(tmp_path, GOOD)
    assert invoke("run", path, "--packets", "--hops", "--out", tmp_path / "all").exit_code == 0
    every = read_results(tmp_path / "all")
    assert every.packets is not None and every.packet_hops is not None
    assert set(every.packet_hops["group"]) == {"cams", "telemetry"}
    for args in (["--packets", "telemetry"], ["--packets=telemetry,", "--packets", "telemetry"]):
        res = invoke("run", path, *args, "--hops", "--out", tmp_path / "one")
        assert res.exit_code == EXIT_OK, res.output
        one = read_results(tmp_path / "one")
        assert one.packets is not None and one.packet_hops is not None
        want = every.packets[every.packets["group"] == "telemetry"].reset_index(drop=True)
        pd.testing.assert_frame_equal(one.packets, want)
        hops = every.packet_hops[every.packet_hops["group"] == "telemetry"]
        pd.testing.assert_frame_equal(one.packet_hops, hops.reset_index(drop=True))
        assert one.manifest["packets"]["groups"] == ["telemetry"]
    both = invoke("run", path, "--packets", "cams,telemetry", "--out", tmp_path / "both")
    got = read_results(tmp_path / "both").packets
    assert both.exit_code == EXIT_OK and got is not None
    pd.testing.assert_frame_equal(got, every.packets)
    res = invoke("run", path, "--packets", "cams", "--sample", "0.5", "--out", tmp_path / "s")
    some = read_results(tmp_path / "s").packets
    assert res.exit_code == EXIT_OK and some is not None and set(some["group"]) == {"cams"}
    assert 0.3 < len(some) / (every.packets["group"] == "cams").sum() < 0.7
    bad = invoke("run", path, "--packets", "cam", "--out", tmp_path / "bad")
    assert bad.exit_code == EXIT_USAGE and "Traceback" not in bad.output
    assert (
        "Invalid value for '--packets': unknown group 'cam'; did you mean 'cams'? "
        "(the scenario's groups: cams, telemetry)" in bad.output
    )
    assert not (tmp_path / "bad").exists()
    swallowed = invoke("run", "--packets", path)
    assert swallowed.exit_code == EXIT_USAGE
    assert f"--packets took '{path}' as a group name and FILE is missing" in swallowed.output


def test_run_explain_names_where_latency_comes_from(tmp_path: Path) -> None:
    from vidnet_sim.results import read_results

    path = write(tmp_path, GOOD)
    res = invoke("run", path, "--explain", "--out", tmp_path / "out")
    assert res.exit_code == EXIT_OK, res.output
    assert "Where latency comes from (p99: the packets in its histogram bucket):" in res.output
    lines = [x.strip() for x in res.output.splitlines() if " p99 " in x and " % " in x]
    assert lines and lines[0].startswith("video p99 ") and "camera access" in lines[0]
    parts = read_results(tmp_path / "out").latency_parts
    assert parts is not None and set(parts["name"]) >= {"cams", "telemetry"}
    doc = json.loads(invoke("run", path, "--explain", "--json", "--out", tmp_path / "j").output)
    assert doc["latency_parts"] == lines
    plain = invoke("run", path, "--out", tmp_path / "plain")
    assert "Where latency" not in plain.output
    assert read_results(tmp_path / "plain").latency_parts is None


def _cpu_seconds(pid: int) -> float:
    """The CPU time process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("threads", ["1", "2"])
def test_ctrl_c_during_a_run_exits_interrupted(
    threads: str, tmp_path: Path, src_env: dict[str, str]
) -> None:
    """SIGINT while the packet core runs (a 600 s run of the mid-size city, sent once the
    process has used 5 s of CPU: past its start-up): one line, exit code 130, no traceback,
    no results folder. (It used to end with a chain of Numba's SystemError, exit code 1.)"""
    file = Path(__file__).parent.parent / "scenarios" / "mid-city.toml"
    out = tmp_path / "res"
    args = ["run", str(file), "--duration", "600s", "--threads", threads, "--out", str(out)]
    # A shell's background job starts with SIGINT ignored and its children inherit that;
    # the command then runs as a terminal's foreground job would, with Python's handler.
    start = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'vidnet-sim'; runpy.run_module('vidnet_sim.cli', run_name='__main__')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", start, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=src_env,
    )
    try:
        while proc.poll() is None and _cpu_seconds(proc.pid) < 5.0:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    # one line, after at most the notice of a start-up slower than STARTUP_NOTICE_SECONDS
    # (loading the compiled core can take that long on a loaded machine)
    assert stderr.removeprefix(COMPILING + "\n") == "interrupted\n", stderr
    assert stdout == ""
    assert not out.exists()


#: Starts the command as a terminal's foreground job would (with Python's SIGINT handler),
#: and sends it SIGINT once LLVM has been generating one library's machine code for 0.2 s.
#: A Ctrl-C at a random moment of the compile mostly lands in Python code, where it always
#: surfaced as ``KeyboardInterrupt``; one that lands in LLVM's code generation surfaces in
#: LLVM's callback to the object cache, which ctypes cannot pass on. ``finalize_object``
#: is wrapped before Numba imports it (Numba's engine keeps the function it found).
_CTRL_C_IN_CODEGEN = """\
import os, runpy, signal, sys, threading, time
from llvmlite.binding import executionengine
signal.signal(signal.SIGINT, signal.default_int_handler)
started = []
finalize = executionengine.ExecutionEngine.finalize_object
def timed(self):
    started.append(time.monotonic())
    try:
        return finalize(self)
    finally:
        started.pop()
executionengine.ExecutionEngine.finalize_object = timed
def ctrl_c():
    while not (started and time.monotonic() - started[-1] > 0.2):
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=ctrl_c, daemon=True).start()
sys.argv[0] = 'vidnet-sim'
runpy.run_module('vidnet_sim.cli', run_name='__main__')
"""


@pytest.mark.slow
def test_ctrl_c_during_the_first_compile_exits_interrupted(
    tmp_path: Path, src_env: dict[str, str]
) -> None:
    """SIGINT while LLVM generates the packet core's machine code (a cold compile cache):
    exit code 130 and the line ``interrupted`` after the compiling notice, no results folder
    (it used to end with an ignored ``KeyboardInterrupt`` traceback and ``RuntimeError: no
    compiled object yet``, exit code 1). The cache folder it leaves is sound: a second run
    in it completes with the same results as a run from the usual cache."""
    file = Path(__file__).parent.parent / "scenarios" / "small-town.toml"
    env = {**src_env, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    cut = subprocess.run(
        [sys.executable, "-c", _CTRL_C_IN_CODEGEN, "run", str(file), "--out", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert cut.returncode == EXIT_INTERRUPTED, cut.stderr
    assert cut.stderr == COMPILING + "\n" + "interrupted\n"
    assert cut.stdout == ""
    assert not (tmp_path / "a").exists()
    assert any((tmp_path / "cache").rglob("*.nbi"))  # it had saved part of the compile
    again = subprocess.run(
        [sys.executable, "-m", "vidnet_sim.cli", "run", str(file), "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert again.returncode == EXIT_OK, again.stderr
    assert again.stderr == COMPILING + "\n"
    usual = invoke("run", str(file), "--out", tmp_path / "c")
    assert usual.exit_code == EXIT_OK, usual.output
    got, want = read_results(tmp_path / "b"), read_results(tmp_path / "c")
    for table in ("summary", "links", "hist"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(want, table))
