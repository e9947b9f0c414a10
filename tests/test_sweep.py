"""Parameter sweeps: spec and points, resumable Parquet results, executors, comparison."""

from __future__ import annotations

import copy
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

import click
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from rich.console import Console
from scipy.stats import false_discovery_control
from scipy.stats import t as scipy_t

from vidnet_sim.cli import sweep as cli_sweep
from vidnet_sim.cli.sweep import compare, sweep
from vidnet_sim.errors import ScenarioError
from vidnet_sim.execute.cluster import import_jobqueue
from vidnet_sim.results import Results, read_parquet_kwargs, read_results
from vidnet_sim.results.schema import SCHEMAS
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.units import parse_rate, parse_size
from vidnet_sim.sweep import (
    DaskExecutor,
    ProcessExecutor,
    SweepFolderError,
    SweepStore,
    compare_results,
    compute_point,
    load_sweep,
    read_sweep,
    run_sweep,
    sweep_from_dict,
)
from vidnet_sim.sweep import plan as sweep_plan
from vidnet_sim.sweep.cluster import JobOptions, jobqueue_cluster, sbatch_script
from vidnet_sim.sweep.compare import benjamini_hochberg
from vidnet_sim.sweep.plan import Point, SweepBase
from vidnet_sim.variation.paths import PathError, parse_path, resolve, set_value

# where this process imports vidnet_sim from (src/, or site-packages in CI): subprocesses
# import the same copy, and so share its Numba cache

# A tiny network: one 100 Mbit/s or 1 Gbit/s link, 2 to 6 cameras, 1 s simulated.
SCENARIO = """\
name = "tiny"
[simulation]
duration = "1s"
warmup = "100ms"
seed = 3

[[nodes]]
id = "edge"
[[nodes]]
id = "nvr"
kind = "recorder"

[[links]]
a = "edge"
b = "nvr"
rate = "100Mbps"
buffer = "64KiB"

[[cameras]]
name = "north"
count = 2
attach = "edge"
bitrate = "8Mbps"
destinations = ["nvr"]
"""

SWEEP = """\
[sweep]
replications = 2

[sweep.grid]
"cameras.north.count" = [2, 4, 6]
"links[0].rate" = ["100Mbps", "1Gbps"]
"""
N_POINTS = 12


def base_data() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(SCENARIO)


def write_sweep(folder: Path, sweep_text: str = SWEEP, name: str = "tiny.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(SCENARIO + "\n" + sweep_text, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[ScenarioError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def make_cli() -> click.Group:
    @click.group()
    def main() -> None:
        pass

    main.add_command(sweep)
    main.add_command(compare)
    return main


def manifests(out: Path) -> list[Path]:
    """The manifests of a sweep folder's finished points (not of hidden folders being
    written)."""
    return sorted(f for f in out.glob("*/manifest.json") if not f.parent.name.startswith("."))


def data_files(out: Path) -> dict[str, bytes]:
    """Every table file of a sweep folder's points: relative path -> bytes."""
    return {
        f"{f.parent.name}/{f.name}": f.read_bytes()
        for f in sorted(out.glob("*/*.parquet"))
        if not f.parent.name.startswith(("_", "."))
    }


def assert_same_files(a: Path, b: Path) -> None:
    fa, fb = data_files(a), data_files(b)
    assert sorted(fa) == sorted(fb)
    for name in fa:
        ta, tb = pq.read_table(a / name), pq.read_table(b / name)
        assert ta.equals(tb), name  # the data, column by column ...
        assert fa[name] == fb[name], name  # ... and the very bytes


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The 12-point sweep run serially in this process: (sweep file, sweep folder)."""
    folder = tmp_path_factory.mktemp("reference")
    file = write_sweep(folder)
    report = run_sweep(load_sweep(file), folder / "out", workers=1)
    assert report.exit_code == 0 and len(report.computed) == N_POINTS
    return file, folder / "out"


# --------------------------------------------------------------------------- field paths
def test_paths_parse_resolve_and_set() -> None:
    assert parse_path("cameras[0].count") == ["cameras", 0, "count"]
    assert parse_path('links["agg1-core"].rate') == ["links", "agg1-core", "rate"]
    assert parse_path("cameras.north.bitrate") == ["cameras", "north", "bitrate"]
    data = base_data()
    assert resolve(data, "cameras.north.count") == ("cameras", 0, "count")
    assert resolve(data, "links.edge-nvr.rate") == ("links", 0, "rate")  # derived link id
    assert resolve(data, "sla.video.loss") == ("sla", "video", "loss")
    set_value(data, ("sla", "video", "loss"), 0.01)
    assert data["sla"] == {"video": {"loss": 0.01}}
    for bad, message in [
        ("cameras[3].count", "cameras has 1 item(s)"),
        ("cameras.nort.count", "did you mean 'north'?"),
        ("links[0].rate.x", "is a value"),
        ("cameras[0]count", "not a field path"),
        ("simulation[0]", "not an array"),
    ]:
        with pytest.raises(PathError, match=message.replace("(", r"\(").replace(")", r"\)")):
            resolve(data, bad)


# --------------------------------------------------------------------------- the spec
def test_spec_errors_are_reported_at_once_with_their_paths() -> None:
    spec = {
        "replications": 0,
        "zap": 1,
        "grid": {"cameras[3].count": [1], "cameras.nort.count": [1], "links[0].rate": []},
        "zip": {"cameras[0].codec": ["h264", "h265"], "cameras[0].fps": [25]},
        "random": {"samples": 4, "params": {"links[0].buffer": {"low": "1Gbps", "high": "2MB"}}},
    }
    with pytest.raises(ScenarioError) as exc:
        sweep_from_dict(base_data(), spec, source="tiny.toml")
    got = problems(exc)
    assert "sweep.replications: got 0: must be at least 1" in got
    assert "sweep.zap: unknown key 'zap'" in got
    assert 'sweep.grid["links[0].rate"]: needs at least 1 item(s)' in got
    assert any(
        p.startswith('sweep.grid["cameras[3].count"]: cameras[3]: no such item') for p in got
    )
    assert any(p.startswith('sweep.grid["cameras.nort.count"]') and "'north'" in p for p in got)
    assert any(p.startswith("sweep.random.params[\"links[0].buffer\"]: low '1Gbps'") for p in got)
    # spec structure fine, zip lengths not
    with pytest.raises(ScenarioError) as exc:
        sweep_from_dict(base_data(), {"zip": spec["zip"]})
    assert problems(exc) == [
        "sweep.zip: the arrays of a zip must have one length, got 'cameras[0].codec': 2, "
        "'cameras[0].fps': 1"
    ]
    with pytest.raises(ScenarioError) as exc:
        sweep_from_dict(
            base_data(), {"grid": {"cameras[0].count": [1], "cameras.north.count": [2]}}
        )
    assert "overlaps 'cameras[0].count'" in problems(exc)[0]
    with pytest.raises(ScenarioError) as exc:
        sweep_from_dict(base_data(), {"grid": {"simulation.seed": [1, 2]}, "replications": 2})
    assert problems(exc)[0].startswith("sweep.replications: must be 1")


def test_point_scenarios_are_validated_and_errors_name_the_sweep_value() -> None:
    sw = sweep_from_dict(
        base_data(),
        {"grid": {"cameras[0].count": [4, -1], "links[0].rate": ["1gbps"]}},
        source="tiny.toml",
    )
    with pytest.raises(ScenarioError) as exc:
        sw.check()
    got = problems(exc)
    assert (
        'sweep.grid["links[0].rate"][0]: "1gbps" makes links[0] (id="edge-nvr").rate: '
        "got '1gbps': unknown unit 'gbps': did you mean 'Gbps'?" in got
    )
    assert any(p.startswith('sweep.grid["cameras[0].count"][1]: -1 makes cameras[0]') for p in got)


def test_sweep_section_in_the_scenario_or_in_a_separate_file(tmp_path: Path) -> None:
    inline = load_sweep(write_sweep(tmp_path))
    (tmp_path / "base.toml").write_text(SCENARIO, encoding="utf-8")
    (tmp_path / "sweep-base.toml").write_text(
        '[sweep]\nscenario = "base.toml"\n' + SWEEP.removeprefix("[sweep]\n")
    )
    separate = load_sweep(tmp_path / "sweep-base.toml")
    assert [p.point_id for p in inline.points] == [p.point_id for p in separate.points]
    assert inline.fingerprint == separate.fingerprint
    assert len(inline.points) == N_POINTS and inline.parameters == [
        "cameras.north.count",
        "links[0].rate",
    ]
    # the scenario of a point: parameters and seed set, validated like any scenario
    p = inline.points[-1]
    scenario = inline.base.scenario(p)
    assert scenario.cameras[0].count == 6 and scenario.links[0].rate == 10**9
    assert scenario.simulation.seed == p.seed
    (tmp_path / "nothing.toml").write_text(SCENARIO, encoding="utf-8")
    with pytest.raises(ScenarioError, match="no \\[sweep\\] section"):
        load_sweep(tmp_path / "nothing.toml")


EXAMPLES = sorted((Path(__file__).parent.parent / "scenarios").glob("sweep-*.toml"))


@pytest.mark.parametrize("file", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_sweeps_load_and_validate(file: Path) -> None:
    sw = load_sweep(file)
    sw.check()
    assert len(sw.points) > 1 and (sw.parameters or sw.spec.replications > 1)  # or a baseline


def test_grid_zip_and_random_points() -> None:
    spec = {
        "grid": {"cameras[0].count": [2, 3]},
        "zip": [
            {"cameras[0].codec": ["h264", "h265"], "cameras[0].bitrate": ["8Mbps", "4Mbps"]},
            {"links[0].buffer": ["64KiB", "1MiB", "4MiB"]},
        ],
        "random": {
            "samples": 5,
            "method": "lhs",
            "params": {
                "links[0].rate": {"low": "10Mbps", "high": "1Gbps", "log": True, "step": "1Mbps"},
                "events": {"choices": [[]]},
                "cameras[0].fps": {"low": 10.0, "high": 30.0},
            },
        },
    }
    sw = sweep_from_dict(base_data(), spec)
    assert len(sw.points) == 2 * 2 * 3 * 5
    for p in sw.points:
        rate = parse_rate(p.params["links[0].rate"])
        assert 10**7 <= rate <= 10**9 and rate % 10**6 == 0
        assert 10.0 <= p.params["cameras[0].fps"] <= 30.0
    first = sw.points[0].params
    assert first["cameras[0].count"] == 2 and first["cameras[0].codec"] == "h264"
    assert first["cameras[0].bitrate"] == "8Mbps" and first["links[0].buffer"] == "64KiB"
    sw.check(sw.points[:5])


def test_latin_hypercube_is_stratified_and_uniform_draws_extend() -> None:
    spec = {
        "random": {
            "samples": 16,
            "params": {
                "cameras[0].fps": {"low": 0.0, "high": 16.0},
                "links[0].buffer": {"low": "0B", "high": "15B"},
            },
        }
    }
    sw = sweep_from_dict(base_data(), spec)
    fps = sorted(int(p.params["cameras[0].fps"]) for p in sw.points)
    assert fps == list(range(16))  # one sample in each of the 16 strata
    sizes = sorted(parse_size(p.params["links[0].buffer"]) for p in sw.points)
    assert sizes == list(range(16))  # 16 whole values, one per stratum
    uniform = {
        "random": {
            "samples": 4,
            "method": "uniform",
            "params": {"cameras[0].fps": {"low": 1.0, "high": 30.0}},
        }
    }
    more = copy.deepcopy(uniform)
    more["random"]["samples"] = 7
    a = [p.params for p in sweep_from_dict(base_data(), uniform).points]
    b = [p.params for p in sweep_from_dict(base_data(), more).points]
    assert b[:4] == a


def test_ids_and_seeds_come_from_content_only() -> None:
    def points(spec: dict[str, Any]) -> dict[str, tuple[Any, int]]:
        sw = sweep_from_dict(base_data(), spec)
        return {p.point_id: (json.dumps(p.params, sort_keys=True), p.seed) for p in sw.points}

    small = points({"grid": {"cameras[0].count": [2, 4], "links[0].rate": ["1Gbps"]}})
    bigger = points(
        {
            "replications": 3,
            "grid": {"links[0].rate": ["1Gbps", "10Gbps"], "cameras[0].count": [4, 2, 8]},
        }
    )
    assert len(bigger) == 18
    for pid, value in small.items():  # added values, reordered keys, more replications
        assert bigger[pid] == value
    seeds = [seed for _, seed in bigger.values()]
    assert len(set(seeds)) == len(seeds)
    # another root seed changes every seed (and the folder fingerprint), not the ids
    other = sweep_from_dict(
        base_data(), {"seed": 99, "grid": {"cameras[0].count": [2, 4], "links[0].rate": ["1Gbps"]}}
    )
    assert {p.point_id for p in other.points} == set(small)
    assert all(p.seed != small[p.point_id][1] for p in other.points)
    # common random numbers: replication r has one seed at every design
    crn = sweep_from_dict(
        base_data(),
        {"replications": 2, "common_random_numbers": True, "grid": {"cameras[0].count": [2, 4, 8]}},
    )
    by_rep: dict[int, set[int]] = {}
    for p in crn.points:
        by_rep.setdefault(p.replication, set()).add(p.seed)
    assert [len(s) for s in by_rep.values()] == [1, 1] and by_rep[0] != by_rep[1]


# --------------------------------------------------------------------------- running
def test_serial_sweep_reads_back_as_one_tidy_frame(reference: tuple[Path, Path]) -> None:
    file, out = reference
    res = read_sweep(out)
    n_params = 2
    for name, schema in SCHEMAS.items():
        df = getattr(res, name)
        assert list(df.columns[: 3 + n_params]) == [
            "point_id",
            "replication",
            "seed",
            "cameras.north.count",
            "links[0].rate",
        ]
        assert list(df.columns[3 + n_params :]) == schema.names
        assert df["point_id"].nunique() == N_POINTS
    s = res.summary
    assert s["cameras.north.count"].dtype == "int64" and s["seed"].dtype == "int64"
    classes = s[s["level"] == "class"]
    assert len(classes) == N_POINTS
    sent = classes.groupby("cameras.north.count")["packets_sent"].mean()
    assert sent[2] < sent[4] < sent[6]
    # every point is an ordinary run folder, and the one reading function reads the sweep
    some = res.summary["point_id"].iloc[0]
    run = read_results(out / some)
    assert run.summary.equals(
        res.summary[res.summary["point_id"] == some][run.summary.columns].reset_index(drop=True)
    )
    assert run.manifest["point"]["point_id"] == some
    assert read_results(out).summary.equals(s)
    assert set(res.epochs["point_id"]) == set(s["point_id"])  # the epoch tables too
    # plain pandas reads one table of every point (without the point columns)
    assert len(pd.read_parquet(out, **read_parquet_kwargs("summary"))) == len(s)
    assert len(pd.read_parquet(out, **read_parquet_kwargs("links"))) == len(res.links)
    # the manifest lists the points
    assert len(res.manifest["points"]) == N_POINTS
    status = SweepStore(out).status(load_sweep(file))
    assert (len(status.done), len(status.failed), len(status.missing)) == (N_POINTS, 0, 0)


def test_a_finished_sweep_is_not_recomputed(reference: tuple[Path, Path]) -> None:
    file, out = reference
    before = {f: (out / f).stat().st_mtime_ns for f in data_files(out)}
    report = run_sweep(load_sweep(file), out, workers=1)
    assert report.skipped == N_POINTS and report.computed == [] and report.exit_code == 0
    assert {f: (out / f).stat().st_mtime_ns for f in data_files(out)} == before


def test_failed_points_are_recorded_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vidnet_sim.runner as runner

    real_run = runner.run

    def flaky(scenario: Any, **kwargs: Any) -> Any:
        if scenario.cameras[0].count == 4:
            raise RuntimeError("boom at four cameras")
        return real_run(scenario, **kwargs)

    file = write_sweep(
        tmp_path,
        SWEEP.replace("[2, 4, 6]", "[2, 4]").replace("replications = 2", "replications = 1"),
    )
    out = tmp_path / "out"
    monkeypatch.setattr(runner, "run", flaky)
    cli = make_cli()
    result = CliRunner().invoke(cli, ["sweep", str(file), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 4, result.output
    assert "2 computed, 0 already done, 2 failed" in result.output
    status = CliRunner().invoke(cli, ["sweep", str(file), "--out", str(out), "--status"])
    assert status.exit_code == 0
    assert "failed   2" in status.output and "RuntimeError: boom at four cameras" in status.output
    record = json.loads(next((out / "_failed").glob("*.json")).read_text())
    assert record["params"]["cameras.north.count"] == 4 and "Traceback" in record["traceback"]
    # skipped on purpose, then retried (and cleared) once the cause is gone
    again = run_sweep(load_sweep(file), out, workers=1, skip_failed=True)
    assert again.computed == [] and again.skipped == 4
    monkeypatch.setattr(runner, "run", real_run)
    fixed = run_sweep(load_sweep(file), out, workers=1)
    assert len(fixed.computed) == 2 and fixed.exit_code == 0
    assert list((out / "_failed").iterdir()) == []


def test_a_folder_of_another_sweep_is_refused(tmp_path: Path, reference: tuple[Path, Path]) -> None:
    _, out = reference
    file = write_sweep(tmp_path, SWEEP.replace("replications = 2", "replications = 2\nseed = 8"))
    with pytest.raises(SweepFolderError, match="another base scenario, root seed"):
        run_sweep(load_sweep(file), out, workers=1)
    result = CliRunner().invoke(make_cli(), ["sweep", str(file), "--out", str(out)])
    assert result.exit_code == 2 and "choose another --out" in result.output


def test_a_folder_of_another_build_of_the_model_is_refused(
    tmp_path: Path, reference: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resuming a sweep with another build of the model (a new version, a changed kernel)
    would mix points the two builds computed: refused like a changed scenario."""
    file, out = reference
    assert run_sweep(load_sweep(file), out, workers=1).computed == []  # same build: all done
    monkeypatch.setattr(sweep_plan, "engine_fingerprint", lambda: "another-build")
    with pytest.raises(SweepFolderError, match="build of the model"):
        run_sweep(load_sweep(file), out, workers=1)


def test_cli_invalid_spec_exits_3_and_options_conflict_exit_2(tmp_path: Path) -> None:
    file = write_sweep(tmp_path, SWEEP.replace('"links[0].rate"', '"links[4].rate"'))
    cli = make_cli()
    result = CliRunner().invoke(cli, ["sweep", str(file), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3
    assert 'sweep.grid["links[4].rate"]: links[4]: no such item' in result.output
    assert not (tmp_path / "o").exists()
    good = write_sweep(tmp_path, name="good.toml")
    result = CliRunner().invoke(cli, ["sweep", str(good), "--status", "--index", "0"])
    assert result.exit_code == 2 and "cannot be used together" in result.output


def test_index_mode_runs_one_job_array_task(tmp_path: Path, reference: tuple[Path, Path]) -> None:
    file, ref_out = reference
    out = tmp_path / "out"
    cli = make_cli()
    result = CliRunner().invoke(
        cli, ["sweep", str(file), "--out", str(out), "--index", "2", "--chunk", "3"]
    )
    assert result.exit_code == 0, result.output
    sw = load_sweep(file)
    assert SweepStore(out).done_ids() == {p.point_id for p in sw.points[6:9]}
    for p in sw.points[6:9]:
        name = f"{p.point_id}/summary.parquet"
        assert (out / name).read_bytes() == (ref_out / name).read_bytes()
    beyond = CliRunner().invoke(
        cli, ["sweep", str(file), "--out", str(out), "--index", "9", "--chunk", "3"]
    )
    assert beyond.exit_code == 0 and "has no points" in beyond.output


def test_print_sbatch_writes_a_job_array_script(tmp_path: Path) -> None:
    file = write_sweep(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        make_cli(),
        [
            "sweep",
            str(file),
            "--out",
            str(out),
            "--print-sbatch",
            "--chunk",
            "5",
            "--max-parallel",
            "2",
            "--walltime",
            "00:30:00",
            "--queue",
            "short",
            "--account",
            "city",
            "--memory",
            "2G",
            "--job-option=--qos=low",
        ],
    )
    assert result.exit_code == 0, result.output
    script = result.output
    assert script.startswith("#!/bin/bash\n")
    for line in [
        "#SBATCH --array=0-2%2",
        "#SBATCH --time=00:30:00",
        "#SBATCH --partition=short",
        "#SBATCH --account=city",
        "#SBATCH --mem=2G",
        "#SBATCH --qos=low",
        f"#SBATCH --output={out.resolve()}/_logs/%A_%a.out",
        "export NUMBA_NUM_THREADS=1",
    ]:
        assert line in script.splitlines()
    assert (
        f"sweep {file.resolve()} --out {out.resolve()} --index $SLURM_ARRAY_TASK_ID "
        "--chunk 5" in script
    )
    assert (out / "_logs").is_dir() and (out / "_sweep.json").is_file()
    plain = sbatch_script(file, out, 4, command=["vidnet-sim"])
    assert "#SBATCH --array=0-3\n" in plain and "--chunk" not in plain
    # a throttle above the task count is the task count (a 22-digit one sbatch refuses)
    huge = sbatch_script(file, out, 4, max_parallel=10**21, command=["vidnet-sim"])
    assert "#SBATCH --array=0-3%4\n" in huge


@pytest.mark.usefixtures("needs_jobqueue")
def test_importing_dask_jobqueue_keeps_the_ctrl_c_handler(src_env: dict[str, str]) -> None:
    """dask-jobqueue's import sets SIGINT to ``sys.exit``; ``import_jobqueue`` puts back the
    handler that was there (a fresh process: in this one the module may be imported)."""
    program = (
        "import signal\n"
        "mine = lambda *_: None\n"
        "signal.signal(signal.SIGINT, mine)\n"
        "from vidnet_sim.execute.cluster import import_jobqueue\n"
        "import_jobqueue()\n"
        "print(signal.getsignal(signal.SIGINT) is mine)\n"
        "import importlib, sys\n"
        "sys.modules.pop('dask_jobqueue.runner')\n"
        "importlib.import_module('dask_jobqueue.runner')\n"
        "print(signal.getsignal(signal.SIGINT) is mine)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], env=src_env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    # kept by import_jobqueue; replaced by a bare import of the module (what it guards against)
    assert out.stdout.split() == ["True", "False"]


@pytest.mark.usefixtures("needs_jobqueue")
def test_jobqueue_cluster_pins_numba_threads() -> None:
    import_jobqueue()  # (its import registers its configuration's defaults)
    dask = pytest.importorskip("dask")
    # its local scheduler's dashboard on a free port (the default, 8787, may be taken)
    with dask.config.set({"jobqueue.slurm.scheduler-options": {"dashboard_address": ":0"}}):
        cluster = jobqueue_cluster(
            "slurm",
            0,
            JobOptions(walltime="00:10:00", queue="short", cores=2, directives=["--qos=low"]),
        )
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "export NUMBA_NUM_THREADS=1" in script
    assert "#SBATCH -p short" in script and "#SBATCH --qos=low" in script
    assert "--nworkers 2" in script or "--nprocs 2" in script


# -- a crash inside a worker process (module level, so that spawned workers can import it)
def crash_at_six(base: SweepBase, point: Point) -> Any:
    if point.params.get("cameras.north.count") == 6:
        os._exit(13)
    return compute_point(base, point)


@pytest.mark.slow  # three pools of spawned workers: about 25 s on two cores
def test_process_pool_survives_a_point_that_kills_its_worker(tmp_path: Path) -> None:
    sw = sweep_from_dict(base_data(), {"grid": {"cameras.north.count": [2, 6, 4]}})
    out = tmp_path / "out"
    report = run_sweep(sw, out, executor=ProcessExecutor(2, point_fn=crash_at_six))
    six = next(p.point_id for p in sw.points if p.params["cameras.north.count"] == 6)
    assert list(report.failed) == [six] and report.failed[six]["error"] == "WorkerDied"
    assert len(report.computed) == 2 and report.exit_code == 4
    assert SweepStore(out).failed_ids() == {six}


# --------------------------------------------------------------------------- Dask
@pytest.mark.long
def test_dask_local_cluster_gives_the_serial_files(
    tmp_path: Path, reference: tuple[Path, Path]
) -> None:
    distributed = pytest.importorskip("distributed")
    file, ref_out = reference
    out = tmp_path / "dask"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        report = run_sweep(load_sweep(file), out, executor=DaskExecutor(client))
        assert report.exit_code == 0 and len(report.computed) == N_POINTS
        workers = client.run(lambda: os.environ.get("NUMBA_NUM_THREADS"))
        # the command line, on the same scheduler, redoes the points whose manifest is gone
        for f in manifests(out)[:3]:
            f.unlink()
        result = CliRunner().invoke(
            make_cli(),
            ["sweep", str(file), "--out", str(out), "--scheduler", cluster.scheduler_address],
        )
        assert result.exit_code == 0, result.output
        assert f"{N_POINTS} point(s): 3 computed, {N_POINTS - 3} already done" in result.output
    assert set(workers.values()) == {"1"} and len(workers) == 2
    assert_same_files(ref_out, out)


# --------------------------------------------------------------------------- SIGKILL, SIGINT
#: The sweep command as a terminal's foreground job starts it: with Python's SIGINT handler
#: (a shell's background job, as a test suite may run in, starts with SIGINT ignored).
_FOREGROUND = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from vidnet_sim.cli.sweep import sweep; sweep.main(sys.argv[1:], prog_name='vidnet-sim sweep')"
)


def signal_mid_sweep(
    file: Path, out: Path, env: dict[str, str], signum: int
) -> tuple[int, str, dict[str, os.stat_result]]:
    """Run the sweep of ``file`` on two workers in a process group of its own (as a
    terminal's job), send the group ``signum`` once three points are finished, and return
    the exit status, stderr and the manifests of the finished points."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _FOREGROUND, str(file), "--out", str(out), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None and len(manifests(out)) < 3:
            time.sleep(0.005)
        os.killpg(proc.pid, signum)  # the driver and its workers, mid-sweep
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    finished = {f.parent.name: f.stat() for f in manifests(out)}
    assert 3 <= len(finished) < N_POINTS, "the sweep was not stopped mid-way"
    return proc.returncode, stderr, finished


def assert_resumed(
    file: Path, out: Path, finished: dict[str, os.stat_result], ref_out: Path
) -> None:
    """The sweep run again skips the finished points (the very same files) and computes the
    others: the reference's files."""
    report = run_sweep(load_sweep(file), out, workers=1)
    assert report.skipped == len(finished)
    assert len(report.computed) == N_POINTS - len(finished) and not report.failed
    for name, st in finished.items():  # not recomputed: the very same files
        now = (out / name / "manifest.json").stat()
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    assert_same_files(ref_out, out)  # no point lost, a stray table overwritten


@pytest.mark.long
def test_a_killed_sweep_resumes_without_losing_or_redoing_points(
    tmp_path: Path, reference: tuple[Path, Path], src_env: dict[str, str]
) -> None:
    file, ref_out = reference
    out = tmp_path / "out"
    status, stderr, finished = signal_mid_sweep(file, out, src_env, signal.SIGKILL)
    assert status == -signal.SIGKILL, stderr
    # a write cut short leaves at most a hidden temporary file: plant one, and a stray table
    some = next(iter(finished))
    (out / some / ".summary.parquet.1.abc.tmp").write_bytes(b"PAR1 half a file")
    missing = next(p for p in load_sweep(file).points if p.point_id not in finished)
    (out / missing.point_id).mkdir(exist_ok=True)
    (out / missing.point_id / "links.parquet").write_bytes(b"stale")
    # what is there reads whole: every finished point, nothing else
    partial = read_sweep(out)
    assert set(partial.summary["point_id"]) == set(finished)
    assert_resumed(file, out, finished, ref_out)
    assert read_sweep(out).summary.equals(read_sweep(ref_out).summary)


@pytest.mark.long
def test_ctrl_c_to_the_process_group_ends_a_sweep_cleanly_and_it_resumes(
    tmp_path: Path, reference: tuple[Path, Path], src_env: dict[str, str]
) -> None:
    """Ctrl-C in a terminal signals the whole foreground process group, the workers too:
    exit 130 and one line, no worker's traceback; the finished points are kept, not redone."""
    file, ref_out = reference
    out = tmp_path / "out"
    status, stderr, finished = signal_mid_sweep(file, out, src_env, signal.SIGINT)
    assert status == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stderr.endswith("sweep: interrupted; finished points are kept, run again to resume\n")
    assert_resumed(file, out, finished, ref_out)


# --------------------------------------------------------------------------- compare
def _results(values: dict[str, list[float]], param: str = "design") -> Results:
    rows = []
    for design, xs in values.items():
        for rep, x in enumerate(xs):
            rows.append(
                {
                    "point_id": f"{design}-{rep}",
                    "replication": rep,
                    "seed": rep,
                    param: design,
                    "level": "class",
                    "name": "video",
                    "latency_p99_ps": x,
                }
            )
    summary = pd.DataFrame(rows)
    for col in SCHEMAS["summary"].names:
        if col not in summary:
            summary[col] = 0.0 if col not in ("class", "kind", "sla_violations") else ""
    links = pd.DataFrame(
        columns=["point_id", "replication", "seed", param, *SCHEMAS["links"].names]
    )
    return Results(summary=summary, links=links, hist=pd.DataFrame())


def test_compare_marks_intervals_that_do_not_overlap() -> None:
    a = _results({"x": [10.0, 11.0, 12.0], "y": [10.0, 11.0, 12.0], "z": [5.0]})
    b = _results({"x": [20.0, 21.0, 22.0], "y": [10.5, 11.5, 12.5], "z": [9.0]})
    df = compare_results(a, b, metrics=["latency_p99_ps"])
    df = df.set_index("design")
    assert bool(df.loc["x", "significant"]) and not bool(df.loc["y", "significant"])
    assert bool(df.loc["x", "apart"]) and not bool(df.loc["y", "apart"])
    assert not bool(df.loc["z", "significant"]) and np.isnan(df["ci_a"].loc["z"])
    p_value, q_value = df["p_value"].astype(float), df["q_value"].astype(float)
    assert np.isnan(p_value.loc["z"]) and np.isnan(q_value.loc["z"])
    # Welch: t = 10 / sqrt(2/3) on 4 degrees of freedom; two tests, x ranks first
    assert p_value.loc["x"] == pytest.approx(2 * scipy_t.sf(10 / np.sqrt(2 / 3), 4))
    assert q_value.loc["x"] == pytest.approx(2 * p_value.loc["x"])
    assert df.loc["x", "diff"] == pytest.approx(10.0)
    assert df.loc["x", "rel_diff"] == pytest.approx(10.0 / 11.0)
    half = 4.302652729749464 * 1.0 / np.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert df.loc["x", "ci_a"] == pytest.approx(half)
    assert (df.loc["x", "n_a"], df.loc["z", "n_b"]) == (3, 1)


def test_benjamini_hochberg_q_values() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    q = benjamini_hochberg(p)
    assert q[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02]) and np.isnan(q[4])
    rng = np.random.default_rng(5)
    p = rng.uniform(size=300)
    assert benjamini_hochberg(p) == pytest.approx(false_discovery_control(p))


def test_compare_controls_false_discoveries_across_many_rows() -> None:
    """300 designs whose two sides are drawn from one distribution: a per-row test at 5 %
    finds some "differences" by chance; the corrected test finds none."""
    rng = np.random.default_rng(11)
    a = _results({f"d{i}": list(rng.normal(10, 1, 4)) for i in range(300)})
    b = _results({f"d{i}": list(rng.normal(10, 1, 4)) for i in range(300)})
    df = compare_results(a, b, metrics=["latency_p99_ps"])
    assert (df["p_value"] < 0.05).sum() >= 5 and df["apart"].sum() >= 1
    assert not df["significant"].any()
    real = _results({f"d{i}": list(rng.normal(10 + 20 * (i < 3), 1, 4)) for i in range(300)})
    found = compare_results(a, real, metrics=["latency_p99_ps"])
    assert set(found.loc[found["significant"], "design"]) == {"d0", "d1", "d2"}


def test_compare_leaves_access_links_out_unless_asked() -> None:
    a = _results({"x": [1.0, 2.0]})
    links = pd.DataFrame(
        [
            {"point_id": "x-0", "design": "x", "link": name, "access": access, "utilisation": u}
            for name, access, u in (("cam[0]->edge", True, 0.1), ("edge->core", False, 0.5))
        ]
    )
    for col in SCHEMAS["links"].names:
        if col not in links:
            links[col] = 0
    a.links = links
    names = set(compare_results(a, a, metrics=["utilisation"])["name"])
    assert names == {"edge->core"}
    names = set(compare_results(a, a, metrics=["utilisation"], access_links=True)["name"])
    assert names == {"edge->core", "cam[0]->edge"}


def test_compare_cli_prints_significant_rows_first(tmp_path: Path) -> None:
    a = _results({"x": [10.0, 11.0, 12.0], "y": [10.0, 11.0, 12.0], "same": [1.0, 1.0]})
    b = _results({"x": [10.0, 11.0, 12.0], "y": [20.0, 21.0, 22.0], "same": [1.0, 1.0]})
    for r in (a, b):
        r.summary["constant"] = "k"
    df = compare_results(a, b, metrics=["latency_p99_ps"])
    buf = io.StringIO()
    with patch.object(cli_sweep, "stdout_console", lambda: Console(file=buf, width=200)):
        cli_sweep._render_comparison(df, Path("A"), Path("B"), 0.95, 60, tmp_path / "t.csv")
    text = buf.getvalue()
    lines = [line for line in text.splitlines() if "99th percentile packet latency" in line]
    assert lines[0].startswith("│ ≠ │") and " y " in lines[0]
    assert "constant" not in text.split("the same in every row")[0]
    assert "the same in every row (not shown): constant=k" in text
    assert "Benjamini–Hochberg correction across the 3 tested row(s)" in text


def test_compare_with_a_single_run_says_why_nothing_was_tested(tmp_path: Path) -> None:
    """README's example compared a single run with the sweep and printed '0 tested rows':
    now it says which side has one run per design and what to run instead."""
    one = _results({"x": [10.0]})
    three = _results({"x": [10.0, 11.0, 12.0]})

    def render(a: Results, b: Results) -> str:
        buf = io.StringIO()
        df = compare_results(a, b, metrics=["latency_p99_ps"])
        with patch.object(cli_sweep, "stdout_console", lambda: Console(file=buf, width=80)):
            cli_sweep._render_comparison(df, Path("A"), Path("B"), 0.95, 60, tmp_path / "t.csv")
        return " ".join(buf.getvalue().split())  # unwrapped: a narrow console folds lines

    text = render(one, three)
    assert "no row was tested: A (A) has one run per design" in text
    assert "run it as a sweep with replications = 3 or more" in text
    assert "sweep-small-town-as-built.toml" in text and "tested row(s)" not in text
    assert "no row was tested: A (A) and B (B) have one run per design" in render(one, one)
    assert "no row was tested" not in render(three, three)


def test_compare_cli_on_sweeps_and_runs(tmp_path: Path, reference: tuple[Path, Path]) -> None:
    import vidnet_sim.runner as runner

    _, out = reference
    cli = make_cli()
    table = tmp_path / "cmp.csv"
    result = CliRunner().invoke(cli, ["compare", str(out), str(out), "--out", str(table)])
    assert result.exit_code == 0, result.output
    assert "0 significant" in result.output
    df = pd.read_csv(table)
    assert (df["diff"].dropna() == 0).all() and set(df["table"]) == {"summary", "links"}
    assert {"cameras.north.count", "links[0].rate"} <= set(df.columns)
    # a single run against the sweep: every design is compared with it
    run_dir = tmp_path / "run"
    data = base_data()
    runner.run(parse_scenario_dict(data), out_dir=run_dir)
    assert read_results(run_dir).summary is not None
    result = CliRunner().invoke(
        cli,
        [
            "compare",
            str(run_dir),
            str(out),
            "--json",
            "--metric",
            "latency_p99_ps",
            "--out",
            str(tmp_path / "c.parquet"),
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert {r["links[0].rate"] for r in records} == {"100Mbps", "1Gbps"}
    assert all(r["n_a"] == 1 and r["n_b"] == 2 for r in records)


def test_sweep_duration_overrides_every_point(tmp_path: Path) -> None:
    file = write_sweep(tmp_path)
    plain, short = load_sweep(file), load_sweep(file, duration_ps=150 * 10**9)
    assert short.fingerprint != plain.fingerprint  # another sweep: another folder identity
    sc = short.base.scenario(short.points[0])
    assert sc.simulation.duration == 150 * 10**9
    assert sc.simulation.warmup == 75 * 10**9  # 100 ms: more than half of 150 ms
    assert load_sweep(file, duration_ps=10**12).base.scenario(
        short.points[0]
    ).simulation.warmup == (100 * 10**9)
    res = CliRunner().invoke(make_cli(), ["sweep", str(file), "--duration", "150ms", "--list"])
    assert res.exit_code == 0, res.output
    swept = write_sweep(tmp_path / "d", SWEEP.replace('"links[0].rate"', '"simulation.duration"')
                        .replace('["100Mbps", "1Gbps"]', '["1s", "2s"]'))  # fmt: skip
    res = CliRunner().invoke(make_cli(), ["sweep", str(swept), "--duration", "1s", "--list"])
    assert res.exit_code == 2 and "simulation.duration is swept" in res.output
