"""Bad input never gets in: one clear error (exit 3, or 2 for a bad option), no traceback,
nothing written, in bounded time and memory.

The corpus under ``tests/data/bad/`` holds one small file per kind of bad input (each file
says what it is in its first line). Each is run through the command limited in time and
address space: all of them in one process by default (:func:`cli_batch`: the command's own
entry, its output captured at the file descriptors), and each in a process of its own in the
``slow`` set (interpreter start-up included in the time). The bounds of
``vidnet_sim.scenario.bounds`` are checked at and just past each limit, and a property test
feeds random mutations of the example scenarios to ``validate``: it always ends quickly with
exit 0 or 3 and no traceback.
"""

from __future__ import annotations

import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidnet_sim.cli import main
from vidnet_sim.core.volume import mean_scales
from vidnet_sim.errors import MAX_SHOWN_LINE, MAX_SHOWN_PROBLEMS, Problem, ScenarioError
from vidnet_sim.runner import compile_scenario, run, with_overrides
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.bounds import (
    MAX_BITRATE_SCALE,
    MAX_CAMERAS,
    MAX_FILE_BYTES,
    MAX_GOP,
    MAX_GROWTH_SCALE,
    MAX_GROWTH_YEARS,
    MAX_IP_RATIO,
    MAX_NESTING,
    MAX_PACKET_RATE,
    MAX_PATH_NODES,
    MAX_REPORT_EPOCHS,
    MAX_SERVICE_COUNT,
    MAX_SIGMA,
    MAX_WEIGHT,
    MAX_WINDOWS,
    MIN_FPS,
    MIN_PACKET_RATE,
)
from vidnet_sim.sweep.spec import MAX_SWEEP_POINTS, parse_spec

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad"
EXAMPLES = ROOT / "scenarios"
SRC = ROOT / "src"
MEMORY_LIMIT = 4 * 2**30  # address space of each command (the Numba runtime maps ~1 GiB)
TIME_LIMIT = 60  # seconds, start-up included

# file -> (what the one message names, the limit it states)
CORPUS: dict[str, tuple[str, str]] = {
    # a traceback or a wrong exit code before
    "binary.toml": ("line 2", "not UTF-8"),
    "utf16.toml": ("line 1", "UTF-16"),
    "nested_arrays.toml": ("nested too deeply", f"at most {MAX_NESTING} levels"),
    "nested_tables.toml": ("nested too deeply", f"at most {MAX_NESTING} levels"),
    "nested_40.toml": ("x[0][0]", f"at most {MAX_NESTING} levels"),
    "route_1200_hops.toml": ('routes[0] (from="r0", to="r1200").path', "at most 256 item"),
    "gop_int64.toml": ('cameras[0] (name="north").gop', f"at most {MAX_GOP}"),
    "fps_tiny.toml": ('cameras[0] (name="north").fps', f"at least {MIN_FPS}"),
    # values no network has
    "alarm_scale_inf.toml": ('events[0] (kind="alarm").bitrate_scale', "finite"),
    "alarm_scale_1e300.toml": ('events[0] (kind="alarm").bitrate_scale', "at most 100"),
    "ip_ratio_inf.toml": ('cameras[0] (name="north").ip_ratio', "finite"),
    "p_sigma_absurd.toml": ('cameras[0] (name="north").p_sigma', "at most 3"),
    "weight_inf.toml": ('sources[0] (name="data").size_dist.weights[1]', "finite"),
    "report_interval_1ps.toml": ("simulation.report_interval", "at least '1ms'"),
    "duration_long.toml": ("simulation.duration", "at most '960h'"),
    # hangs or unbounded memory before
    "cameras_billion.toml": ('cameras[0] (name="north").count', f"at most {MAX_CAMERAS}"),
    "cameras_int64.toml": ('cameras[0] (name="north").count', f"at most {MAX_CAMERAS}"),
    "cameras_total.toml": ("cameras", f"expected at most {MAX_CAMERAS}"),
    "voip_billion.toml": ('services[0] (name="phones").calls', f"at most {MAX_SERVICE_COUNT}"),
    "growth_scale_1e9.toml": ("growth[0].scale_cameras", f"up to {MAX_GROWTH_SCALE:g}"),
    "growth_year_1e9.toml": ("growth[0].year", f"at most {MAX_GROWTH_YEARS}"),
    "window_1ns.toml": ("simulation.window", "at least '1ms'"),
    "packet_rate_1e300.toml": ('sources[0] (name="data").packet_rate', "at most 1000000000"),
    "packet_rate_1e-300.toml": ('sources[0] (name="data").packet_rate', "at least 1e-06"),
    "cbr_rate_huge.toml": ("simulation.duration", "expected at most 10¹⁰ packets"),
    "sweep_1e12.toml": ("sweep", f"expected at most {MAX_SWEEP_POINTS} runs"),
    # floods
    "many_problems.toml": ('cameras[0] (name="north").destinations[0]', "2980 more problems"),
    "failure_partition.toml": ("events[0]", "has no path"),
}


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``vidnet-sim args`` in a subprocess limited in time and memory."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "vidnet_sim.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=_limit,
    )
    return proc, time.monotonic() - t0


#: Runs ``vidnet-sim`` command lines one after the other in this one process: argv[1] is a
#: JSON list of ``[args, cwd]``, argv[2] the file for the JSON list of outcomes. Each command
#: goes through the command group's own entry (``main.main``, as the console script), with
#: file descriptors 1 and 2 sent to temporary files, so everything it prints is captured; an
#: exception escaping it prints its traceback, as the interpreter would, with exit code 1.
_BATCH = """
import json, os, sys, tempfile, time, traceback
from vidnet_sim.cli import main

outcomes = []
for args, cwd in json.loads(sys.argv[1]):
    os.chdir(cwd)
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
        t0 = time.monotonic()
        try:
            main.main(args, prog_name="vidnet-sim")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException:
            traceback.print_exc()
            code = 1
        took = time.monotonic() - t0
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(saved[0], 1); os.dup2(saved[1], 2)
        os.close(saved[0]); os.close(saved[1])
        texts = []
        for f in (out, err):
            f.seek(0)
            texts.append(f.read().decode("utf-8", "replace"))
    outcomes.append({"code": code, "stdout": texts[0], "stderr": texts[1], "took": took})
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(outcomes, f)
"""


def cli_batch(
    cases: list[tuple[list[str], Path]],
) -> list[tuple[subprocess.CompletedProcess[str], float]]:
    """Run each ``(args, cwd)`` as ``vidnet-sim args`` in ``cwd``, all in one subprocess
    limited in time and memory as :func:`cli`; per case its outcome and the seconds it took
    (start-up excluded). Nothing is written in the working folders but what a command
    writes: the outcomes go to a temporary file elsewhere."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "outcomes.json"
        todo = json.dumps([[args, str(cwd)] for args, cwd in cases])
        proc = subprocess.run(
            [sys.executable, "-c", _BATCH, todo, str(result)],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            preexec_fn=_limit,
        )
        assert proc.returncode == 0 and result.exists(), proc.stderr[-4000:]
        outcomes = json.loads(result.read_text("utf-8"))
    assert len(outcomes) == len(cases)
    return [
        (subprocess.CompletedProcess(args, o["code"], o["stdout"], o["stderr"]), o["took"])
        for (args, _), o in zip(cases, outcomes, strict=True)
    ]


def assert_one_clear_error(
    proc: subprocess.CompletedProcess[str], code: int, where: str, limit: str
) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    problems = [line for line in proc.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) <= MAX_SHOWN_PROBLEMS
    assert len(proc.stderr) < 10_000, len(proc.stderr)
    assert any(where in line for line in problems) or where in proc.stderr, proc.stderr
    assert limit in proc.stderr, proc.stderr


def test_the_corpus_has_a_case_for_each_file() -> None:
    assert sorted(CORPUS) == sorted(p.name for p in BAD.glob("*.toml"))


def corpus_args(name: str, out: Path) -> list[str]:
    """The command that must refuse corpus file ``name``: ``run`` (``sweep`` for a sweep)
    into ``out``."""
    return ["sweep" if name.startswith("sweep") else "run", str(BAD / name), "--out", str(out)]


def assert_corpus_refusal(
    name: str, proc: subprocess.CompletedProcess[str], took: float, cwd: Path
) -> None:
    """Exit 3, the file's one message naming the field and the limit, no traceback, nothing
    written (``run`` into ``cwd/out``, which must stay absent, from the empty ``cwd``),
    within the time limit."""
    where, limit = CORPUS[name]
    assert_one_clear_error(proc, 3, where, limit)
    assert not (cwd / "out").exists() and list(cwd.iterdir()) == []
    assert took < TIME_LIMIT / 2
    if name == "failure_partition.toml":  # 20 cameras cut off: said once
        assert proc.stderr.count("has no path") == 1, proc.stderr
    if name == "many_problems.toml":
        assert "invalid scenario" in proc.stderr and "3000 problems" in proc.stderr


def test_each_file_of_the_corpus_is_one_clear_error(tmp_path: Path) -> None:
    """Each file of the corpus (:func:`assert_corpus_refusal`), all in one process limited in
    time and memory; ``validate`` (and a sweep's ``--status``) refuses the same."""
    cwds = {name: tmp_path / name for name in sorted(CORPUS)}
    cases = [(corpus_args(name, cwd / "out"), cwd) for name, cwd in cwds.items()]
    quick = ["nested_arrays.toml", "cameras_billion.toml", "sweep_1e12.toml"]
    checks = [(["validate", str(BAD / name)], name) for name in quick]
    checks.append((["sweep", str(BAD / "sweep_1e12.toml"), "--status"], "sweep_1e12.toml"))
    for cwd in cwds.values():
        cwd.mkdir()
    outcomes = cli_batch(cases + [(args, cwds[name]) for args, name in checks])
    for name, (proc, took) in zip(cwds, outcomes, strict=False):
        assert_corpus_refusal(name, proc, took, cwds[name])
    for (args, name), (proc, _) in zip(checks, outcomes[len(cases) :], strict=True):
        assert_one_clear_error(proc, 3, *CORPUS[name])
        assert list(cwds[name].iterdir()) == [], args


@pytest.mark.slow  # a process per file: the start-up of each (the default run has them in one)
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input_is_one_clear_error(name: str, tmp_path: Path) -> None:
    """Each file of the corpus in a process of its own (:func:`assert_corpus_refusal`)."""
    proc, took = cli(corpus_args(name, tmp_path / "out"), tmp_path)
    assert_corpus_refusal(name, proc, took, tmp_path)


@pytest.mark.slow  # in one process with the corpus in the default run
@pytest.mark.parametrize("name", ["nested_arrays.toml", "cameras_billion.toml", "sweep_1e12.toml"])
def test_validate_refuses_the_same_quickly(name: str, tmp_path: Path) -> None:
    where, limit = CORPUS[name]
    proc, _ = cli(["validate", str(BAD / name)], tmp_path)
    assert_one_clear_error(proc, 3, where, limit)
    if name.startswith("sweep"):
        status, _ = cli(["sweep", str(BAD / name), "--status"], tmp_path)
        assert_one_clear_error(status, 3, where, limit)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["device", "fifo", "folder", "too large"])
def test_a_file_that_is_not_a_scenario_file_is_refused_without_reading_it(
    kind: str, tmp_path: Path
) -> None:
    """``/dev/zero`` or a FIFO would be read forever: refused before it is opened."""
    if kind == "device":
        target = Path("/dev/zero")
    elif kind == "fifo":
        target = tmp_path / "pipe.toml"
        os.mkfifo(target)
    elif kind == "folder":
        target = tmp_path / "dir.toml"
        target.mkdir()
    else:
        target = tmp_path / "big.toml"
        with open(target, "wb") as f:
            f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    # one process per kind (a hang is its own), the three commands in it
    commands = ("validate", "run", "sweep")
    for proc, _took in cli_batch([([command, str(target)], tmp_path) for command in commands]):
        assert "Traceback" not in proc.stderr
        if kind == "folder":
            assert proc.returncode in (2, 3), proc.stderr  # click refuses a folder itself
        else:
            limit = "larger than 16 MiB" if kind == "too large" else "not a file"
            assert_one_clear_error(proc, 3, str(target), limit)
    assert not (tmp_path / "results").exists()


#: Analysis options out of range, and the option each must name.
ANALYSIS_OPTIONS: list[tuple[list[str], str]] = [
    (
        ["curve", "--vary", "cameras", "--from", "1", "--to", "9", "--steps", "1000000000"],
        "--steps",
    ),
    (
        ["curve", "--vary", "cameras", "--from", "1", "--to", "9", "--replications", "0"],
        "--replications",
    ),
    (["capacity", "--tolerance", "-1"], "--tolerance"),
    (["capacity", "--tolerance", "inf"], "--tolerance"),
    (["capacity", "--confidence", "1.5"], "--confidence"),
    (["capacity", "--max-replications", "1000000000"], "--max-replications"),
]


def test_analysis_options_out_of_range_are_usage_errors(tmp_path: Path) -> None:
    """Each a usage error (exit 2) naming its option, nothing written; all in one process."""
    cases = [
        ([args[0], str(EXAMPLES / "small-town.toml"), *args[1:]], tmp_path)
        for args, _ in ANALYSIS_OPTIONS
    ]
    for (_, option), (proc, _) in zip(ANALYSIS_OPTIONS, cli_batch(cases), strict=True):
        assert proc.returncode == 2, (option, proc.stderr)
        assert option in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- at and past each bound
BASE: dict[str, Any] = {
    "name": "bounds",
    "simulation": {"duration": "2s"},
    "nodes": [{"id": "edge"}, {"id": "nvr", "kind": "recorder"}],
    "links": [{"a": "edge", "b": "nvr", "rate": "10Gbps"}],
    "cameras": [{"name": "north", "count": 2, "attach": "edge", "destinations": ["nvr"]}],
}


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


def _alarm(scale: float) -> dict[str, Any]:
    return _set(
        BASE,
        ("events",),
        [
            {
                "kind": "alarm",
                "targets": ["north"],
                "at": "1s",
                "duration": "1s",
                "bitrate_scale": scale,
            }
        ],
    )


def _source(**fields: Any) -> dict[str, Any]:
    src = {"name": "data", "kind": "cbr", "at": "edge", "destinations": ["nvr"], "size": "100B"}
    src = {k: v for k, v in {**src, **fields}.items() if v is not None}
    return _set(BASE, ("sources",), [src])


def _service(**fields: Any) -> dict[str, Any]:
    svc = {"name": "svc", "at": "edge", "destinations": ["nvr"], **fields}
    return _set(BASE, ("services",), [svc])


def _groups(a: int, b: int) -> dict[str, Any]:
    cams = [
        {"name": n, "count": c, "attach": "edge", "destinations": ["nvr"]}
        for n, c in (("a", a), ("b", b))
    ]
    return _set(BASE, ("cameras",), cams)


def _route(n: int) -> dict[str, Any]:
    nodes = [{"id": f"r{i}"} for i in range(n)]
    links = [{"a": f"r{i}", "b": f"r{i + 1}", "rate": "1Gbps"} for i in range(n - 1)]
    data = _set(BASE, ("nodes",), BASE["nodes"] + nodes)
    data["links"] += links
    data["routes"] = [{"from": "r0", "to": f"r{n - 1}", "path": [f"r{i}" for i in range(n)]}]
    return data


def _sim(**fields: Any) -> dict[str, Any]:
    return _set(BASE, ("simulation",), {**BASE["simulation"], **fields})


def _cam(**fields: Any) -> dict[str, Any]:
    return _set(BASE, ("cameras", 0), {**BASE["cameras"][0], **fields})


def _growth(scale: float) -> dict[str, Any]:
    return _set(BASE, ("growth",), [{"year": 2, "scale_cameras": scale}])


def _nested(depth: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return _set(BASE, ("description",), value)


# name -> (scenario at the limit, scenario just past it, the field named when past)
BOUNDS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "count": (_cam(count=MAX_CAMERAS), _cam(count=MAX_CAMERAS + 1), "count"),
    "cameras": (
        _groups(MAX_CAMERAS // 2, MAX_CAMERAS // 2),
        _groups(MAX_CAMERAS // 2, MAX_CAMERAS // 2 + 1),
        "cameras",
    ),
    "fps": (_cam(fps=MIN_FPS), _cam(fps=MIN_FPS * 0.999), "fps"),
    "gop": (_cam(gop=MAX_GOP), _cam(gop=MAX_GOP + 1), "gop"),
    "ip_ratio": (_cam(ip_ratio=MAX_IP_RATIO), _cam(ip_ratio=MAX_IP_RATIO * 1.001), "ip_ratio"),
    "p_sigma": (_cam(p_sigma=MAX_SIGMA), _cam(p_sigma=MAX_SIGMA * 1.001), "p_sigma"),
    "i_sigma": (_cam(i_sigma=MAX_SIGMA), _cam(i_sigma=math.inf), "i_sigma"),
    "bitrate_scale": (
        _alarm(MAX_BITRATE_SCALE),
        _alarm(MAX_BITRATE_SCALE * 1.001),
        "bitrate_scale",
    ),
    "growth year": (
        _set(BASE, ("growth",), [{"year": MAX_GROWTH_YEARS, "scale_cameras": 1.01}]),
        _set(BASE, ("growth",), [{"year": MAX_GROWTH_YEARS + 1, "scale_cameras": 1.01}]),
        "growth[0].year",
    ),
    "scale_cameras": (
        _growth(MAX_GROWTH_SCALE / 2**5),
        _growth(MAX_GROWTH_SCALE * 1.001),
        "scale_cameras",
    ),
    "packet_rate high": (
        _source(packet_rate=MAX_PACKET_RATE),
        _source(packet_rate=MAX_PACKET_RATE * 1.001),
        "packet_rate",
    ),
    "packet_rate low": (
        _source(packet_rate=MIN_PACKET_RATE),
        _source(packet_rate=MIN_PACKET_RATE * 0.999),
        "packet_rate",
    ),
    "interval": (_source(interval="1ns"), _source(interval="999ps"), "interval"),
    "weights": (
        _source(
            kind="poisson",
            packet_rate=1.0,
            size=None,
            size_dist={"kind": "choice", "values": ["1B", "2B"], "weights": [1.0, MAX_WEIGHT]},
        ),
        _source(
            kind="poisson",
            packet_rate=1.0,
            size=None,
            size_dist={
                "kind": "choice",
                "values": ["1B", "2B"],
                "weights": [1.0, MAX_WEIGHT * 1.001],
            },
        ),
        "weights[1]",
    ),
    "calls": (
        _service(kind="voip", calls=MAX_SERVICE_COUNT),
        _service(kind="voip", calls=MAX_SERVICE_COUNT + 1),
        "calls",
    ),
    "window": (_sim(window="1ms"), _sim(window="999us"), "simulation.window"),
    "windows": (
        _sim(duration=f"{MAX_WINDOWS // 1000}s", window="1ms"),
        _sim(duration=f"{MAX_WINDOWS // 1000 + 1}s", window="1ms"),
        "simulation.window",
    ),
    "report_interval": (
        _sim(report_interval="1ms"),
        _sim(report_interval="999us"),
        "report_interval",
    ),
    "report epochs": (
        _sim(duration=f"{MAX_REPORT_EPOCHS // 1000}s", report_interval="1ms"),
        _sim(duration=f"{MAX_REPORT_EPOCHS // 1000 + 1}s", report_interval="1ms"),
        "simulation.report_interval",
    ),
    "duration": (_sim(duration="960h"), _sim(duration="960.001h"), "simulation.duration"),
    "route": (_route(MAX_PATH_NODES), _route(MAX_PATH_NODES + 1), "routes[0]"),
    "nesting": (_nested(MAX_NESTING), _nested(MAX_NESTING + 1), "description"),
}


def _problems(data: dict[str, Any]) -> list[Problem]:
    try:
        parse_scenario_dict(data)
    except ScenarioError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_each_bound_holds_at_its_limit_and_refuses_just_past_it(name: str) -> None:
    at, past, field = BOUNDS[name]
    if name == "nesting":  # (a description is a string: only its depth is at the limit)
        assert [p.message for p in _problems(at)] == ["expected a string (in quotes)"]
    else:
        assert _problems(at) == []
    problems = _problems(past)
    assert problems and all(field in str(p) for p in problems), problems
    assert len(problems) == 1 or name == "route", problems


def test_the_packets_of_a_run_are_bounded_before_it_runs() -> None:
    """1e9 packets/s for 10 s are the 1e10 packets a run may send; a millisecond more is
    refused, with the figure and the limit, before any engine is built."""
    quiet = _set(BASE, ("cameras",), [])
    at = _set(_source(packet_rate=MAX_PACKET_RATE), ("cameras",), [])
    at["simulation"]["duration"] = "10s"
    at["simulation"]["window"] = "1ms"
    compile_scenario(parse_scenario_dict(at))
    past = json.loads(json.dumps(at))
    past["simulation"]["duration"] = "10.001s"
    with pytest.raises(ScenarioError) as err:
        compile_scenario(parse_scenario_dict(past))
    (problem,) = err.value.problems
    assert problem.path == "simulation.duration"
    assert "about 10¹⁰ packets" in problem.message and "at most 10¹⁰" in problem.message
    assert "'data'" in problem.message
    compile_scenario(parse_scenario_dict(quiet))


def test_a_sweep_is_counted_before_it_is_expanded() -> None:
    values = list(range(1, 101))
    spec, problems = parse_spec({"grid": {"a": values, "b": values}, "replications": 10})
    assert spec is not None and problems == []  # 100 000 runs: the limit
    spec, problems = parse_spec({"grid": {"a": values, "b": [*values, 101]}, "replications": 10})
    assert spec is None
    (problem,) = problems
    assert (
        problem.path == "sweep"
        and "101000 runs (grid 100 x 101 x 10 replications)" in problem.message
    )
    spec, problems = parse_spec(
        {"random": {"samples": 10**12, "params": {"a": {"low": 0, "high": 1}}}}
    )
    assert spec is None and f"at most {MAX_SWEEP_POINTS}" in problems[0].message


# --------------------------------------------------------------------------- message floods
@pytest.mark.kernel_free
def test_many_problems_are_shown_twenty_and_counted() -> None:
    err = ScenarioError([Problem(f"cameras[{i}].count", f"bad {i}") for i in range(120_000)])
    text = err.render()
    assert len(text.splitlines()) == 1 + MAX_SHOWN_PROBLEMS + 1
    assert text.startswith("invalid scenario: 120000 problems")
    assert text.endswith("... and 119980 more problems: fix the ones above and validate again")
    assert len(text) < 2000


def test_a_repeated_problem_is_said_once_with_its_places() -> None:
    same = [Problem("events[0]", "no path")] * 20
    assert ScenarioError(same).render() == "invalid scenario: 1 problem\n  - events[0]: no path"
    spread = [Problem(f"links[{i}].rate", "too fast") for i in range(15)]
    text = ScenarioError([*spread, Problem("nodes", "other")]).render()
    assert text.splitlines() == [
        "invalid scenario: 16 problems",
        "  - " + ", ".join(f"links[{i}].rate" for i in range(10)) + " and 5 more places: too fast",
        "  - nodes: other",
    ]


# --------------------------------------------------------------------------- property test
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(type(value))


def to_toml(data: dict[str, Any]) -> str:
    """A TOML document of ``data``: every top-level key on a line, inline tables below."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in data.items())


EXAMPLE_FILES = [
    EXAMPLES / "small-town.toml",
    EXAMPLES / "small-town-growth.toml",
    EXAMPLES / "mid-city-services.toml",
    EXAMPLES / "sweep-small-town.toml",
]
EXAMPLE_DATA = {f: tomllib.loads(f.read_text("utf-8")) for f in EXAMPLE_FILES}
EXTREMES: list[Any] = [
    math.inf,
    -math.inf,
    math.nan,
    1e300,
    -1e300,
    1e-300,
    -1,
    0,
    0.0,
    2**63,
    10**30,
    -(2**63) - 1,
    "",
    "1e300Gbps",
    "0s",
    "-1s",
    "1e300h",
    "9999999999999999999999B",
    [],
    {},
    True,
]


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _places(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _places(v, (*path, i))
    return out


def mutate(data: dict[str, Any], rng: random.Random, n: int) -> dict[str, Any]:
    """``data`` with ``n`` random mutations: a value replaced by an extreme of some type, a
    key or item deleted or duplicated, a value nested in an array or a table."""
    data = json.loads(json.dumps(data))
    for _ in range(n):
        places = _places(data)
        if not places:
            break
        path = rng.choice(places)
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        op = rng.choice(["extreme", "extreme", "extreme", "delete", "duplicate", "nest", "table"])
        if op == "extreme":
            parent[key] = rng.choice(EXTREMES)
        elif op == "delete":
            del parent[key]
        elif op == "duplicate":
            if isinstance(parent, list):
                parent.insert(key, json.loads(json.dumps(parent[key])))
            else:
                parent[f"{key}{rng.choice(['', '_', '2'])}"] = parent[key]
        elif op == "nest":
            parent[key] = [parent[key]] * rng.randint(1, 3)
        else:
            parent[key] = {"x": parent[key], str(key): parent[key]}
    return data


def validate_in_process(text: str, folder: Path) -> tuple[int, str, float]:
    """``vidnet-sim validate`` on ``text`` in this process (click's runner)."""
    file = folder / "mutant.toml"
    file.write_text(text, "utf-8")
    t0 = time.monotonic()
    result = CliRunner().invoke(main, ["validate", str(file)], catch_exceptions=True)
    took = time.monotonic() - t0
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output, took


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    which=st.sampled_from(EXAMPLE_FILES),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 4),
)
def test_random_mutations_of_the_examples_validate_or_fail_cleanly(
    which: Path, seed: int, n: int
) -> None:
    data = mutate(EXAMPLE_DATA[which], random.Random(seed), n)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep = data.get("sweep")
        if isinstance(sweep, dict) and isinstance(sweep.get("scenario"), str):
            sweep["scenario"] = str(which.parent / sweep["scenario"])  # from the examples
        code, output, took = validate_in_process(to_toml(data), folder)
    assert code in (0, 3), output
    assert "Traceback" not in output, output
    assert not any(line.startswith("error: ") for line in output.splitlines()), output
    assert took < 10, took
    assert len(output) < 20_000


def test_random_mutations_in_a_subprocess(tmp_path: Path) -> None:
    """A few mutants, some with a duplicated key in the text, through the real command (all
    in one process)."""
    files = []
    for seed in range(4):
        rng = random.Random(seed)
        which = EXAMPLE_FILES[seed % 3]
        data = mutate(EXAMPLE_DATA[which], rng, 3)
        text = to_toml(data)
        if seed % 2:
            first = text.splitlines()[0]
            text += first + "\n"  # a key given twice
        files.append(tmp_path / f"mutant{seed}.toml")
        files[-1].write_text(text, "utf-8")
    for proc, took in cli_batch([(["validate", str(file)], tmp_path) for file in files]):
        assert proc.returncode in (0, 3), proc.stderr
        assert "Traceback" not in proc.stderr
        assert took < TIME_LIMIT / 2


def test_a_shortest_path_of_1200_hops_compiles() -> None:
    """Routing and the delivery trees walk paths without recursion: a chain of 1200 links
    (no explicit route) compiles."""
    n = 1201
    data = {
        "name": "chain",
        "simulation": {"duration": "1s"},
        "nodes": [{"id": f"n{i}"} for i in range(n)],
        "links": [{"a": f"n{i}", "b": f"n{i + 1}", "rate": "10Gbps"} for i in range(n - 1)],
        "cameras": [{"name": "c", "count": 1, "attach": "n0", "destinations": [f"n{n - 1}"]}],
    }
    compiled = compile_scenario(parse_scenario_dict(data))
    assert compiled.plan.n_flows == 1
    assert len(compiled.plan.pos_link) == n + 1  # the virtual root, the access link, 1200 hops


def test_overridden_settings_are_held_to_the_same_bounds() -> None:
    """``run --duration`` and the sweeps re-validate the settings: a setting out of bounds
    is a :class:`ScenarioError` naming it, shown in the file's units."""
    scenario = parse_scenario_dict(_sim(window="1ms"))
    assert with_overrides(scenario, duration_ps=MAX_WINDOWS * 10**9).simulation.window == 10**9
    with pytest.raises(ScenarioError) as err:
        with_overrides(scenario, duration_ps=(MAX_WINDOWS + 1) * 10**9)
    (problem,) = err.value.problems
    assert problem.path == "simulation.window"
    assert f"expected at most {MAX_WINDOWS}" in problem.message
    with pytest.raises(
        ScenarioError, match=r"simulation\.window: got '1ps': must be at least '1ms'"
    ):
        with_overrides(scenario, window_ps=1)


@pytest.mark.kernel_free
def test_checks_across_many_items_take_time_in_proportion() -> None:
    """5000 groups, nodes and alarms (and 2000 alarms of one group) validate in seconds: the
    checks of overlapping events, of camera names against node ids and of event targets do
    not compare every pair. Oracle: the one overlapping pair is still found, once."""
    n = 5000
    data = _set(BASE, ("nodes",), BASE["nodes"] + [{"id": f"x{i}"} for i in range(n)])
    data["cameras"] = [
        {"name": f"c{i}", "count": 1, "attach": "edge", "destinations": ["nvr"]} for i in range(n)
    ]
    alarms = [
        {"kind": "alarm", "targets": [f"c{i}"], "at": "1s", "duration": "1ms"} for i in range(n)
    ]
    alarms += [
        {"kind": "alarm", "targets": ["c0"], "at": f"{2000 + 2 * k}ms", "duration": "1ms"}
        for k in range(2000)
    ]
    alarms.append({"kind": "alarm", "targets": ["c7", "c0"], "at": "2002.5ms", "duration": "1ms"})
    data["events"] = alarms
    data["simulation"]["duration"] = "10s"
    t0 = time.process_time()  # CPU time: a busy machine's waits do not count
    problems = _problems(data)
    assert time.process_time() - t0 < 20
    assert [str(p) for p in problems] == [
        f"events[{len(alarms) - 1}] (kind=\"alarm\"): overlapping events: the alarm on 'c0' from "
        f"2.0025s to 2.0035s overlaps events[{n + 1}] (from 2.002s to 2.003s); alarms on a "
        "target must not overlap"
    ]


def test_an_empty_zip_group_is_a_problem_not_a_crash() -> None:
    spec, problems = parse_spec({"zip": [{}], "grid": {"a": [1]}})
    assert spec is None
    assert [str(p) for p in problems] == ["sweep.zip[0]: an empty zip group: give its arrays"]


@pytest.mark.kernel_free
def test_suggestions_for_many_unknown_names_are_bounded() -> None:
    """5000 unknown attach nodes among 20 000 nodes: the first get a 'did you mean', the
    rest none, and the check ends in seconds (each suggestion compares with every node)."""
    data = _set(BASE, ("nodes",), BASE["nodes"] + [{"id": f"agg{i}"} for i in range(20_000)])
    data["cameras"] = [
        {"name": f"c{i}", "count": 1, "attach": f"agg{i}x", "destinations": ["nvr"]}
        for i in range(5000)
    ]
    t0 = time.process_time()  # CPU time: a busy machine's waits do not count
    problems = _problems(data)
    assert time.process_time() - t0 < 20
    assert len(problems) == 5000
    assert problems[0].message == "got 'agg0x': no node has this id; did you mean 'agg0'?"
    assert problems[-1].message == "got 'agg4999x': no node has this id"


def test_the_packet_estimate_bounds_what_a_run_sends() -> None:
    """Oracle: a run's own count of the packets sent (warm-up 0, every destination's copy).
    The estimate is the mean count (each frame's mean packets exact for its lognormal size,
    ``core/volume.py``), so it is within the run's own spread: within 2 % (measured 0.8 %
    below; the former count, a frame's mean size / payload + 1 packets, was 2 % above)."""
    data = _set(BASE, ("cameras", 0), {**BASE["cameras"][0], "count": 10, "bitrate": "4Mbps"})
    data["simulation"]["duration"] = "5s"
    src = {"at": "edge", "destinations": ["nvr"], "size": "200B"}
    data["sources"] = [
        {**src, "name": "c", "kind": "cbr", "packet_rate": 500.0},
        {**src, "name": "p", "kind": "poisson", "packet_rate": 300.0, "stop": "4s"},
    ]
    scenario = parse_scenario_dict(data)
    estimate = compile_scenario(scenario).packets
    stats = run(scenario, write=False).stats
    sent = stats.packets_sent
    by_group = dict(zip(stats.group_names, sent, strict=True))
    assert by_group["c"] == 2500  # 500/s for 5 s, exactly
    assert abs(by_group["p"] - 1200) < 4 * 1200**0.5  # Poisson: 300/s for 4 s
    assert estimate == pytest.approx(sent.sum(), rel=0.02), (estimate, sent.sum())


def test_the_packet_estimate_counts_alarms() -> None:
    """An alarm raises what a run sends: the estimate scales each source by its bitrate scale
    averaged over the run (oracle: the run's own count; a little above, never below)."""
    data = _set(BASE, ("cameras", 0), {**BASE["cameras"][0], "count": 10, "bitrate": "4Mbps"})
    data["simulation"]["duration"] = "5s"
    name = data["cameras"][0]["name"]
    data["events"] = [
        {"kind": "alarm", "targets": [name], "at": "1s", "duration": "2s", "bitrate_scale": 3.0}
    ]
    scenario = parse_scenario_dict(data)
    estimate = compile_scenario(scenario).packets
    quiet = compile_scenario(parse_scenario_dict({**data, "events": []})).packets
    sent = float(run(scenario, write=False).stats.packets_sent.sum())
    assert estimate > 1.5 * quiet  # 2 s of 5 at three times the rate: 1.8x the bytes
    assert sent <= estimate <= 1.15 * sent, (estimate, sent)


def test_mean_scales_follow_the_timeline_order() -> None:
    changes = [
        (4, np.array([0]), 1.0),  # the first alarm's end ...
        (1, np.array([0, 1]), 3.0),
        (2, np.array([0]), 5.0),  # ... a later alarm on source 0 wins until it
        (20, np.array([1]), 1.0),  # past the end: clipped
    ]
    got = mean_scales(3, 10, changes)
    assert np.allclose(got, [(1 + 3 + 2 * 5 + 6) / 10, (1 + 9 * 3) / 10, 1.0])


def test_a_huge_name_does_not_make_a_huge_message() -> None:
    name = "n" * 1_000_000
    data = _set(BASE, ("cameras", 0), {**BASE["cameras"][0], "name": name, "attach": name})
    with pytest.raises(ScenarioError) as err:
        parse_scenario_dict(data)
    text = err.value.render()
    assert all(len(line) <= MAX_SHOWN_LINE for line in text.splitlines())
    (problem,) = err.value.problems
    assert problem.path == 'cameras[0] (name="' + "n" * 37 + '...").attach'
    assert problem.message == "got '" + "n" * 56 + "...: no node has this id"
    long = ScenarioError([Problem("x", "m" * 5000)]).render().splitlines()[1]
    assert len(long) == MAX_SHOWN_LINE and long.endswith("...")
