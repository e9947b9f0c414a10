"""What the commands say to a user, round 6: the core's refusals in durations and rates a
person reads, a sweep's failures and values as a user wrote them, one spelling of a
percentage, curve legends in words, and a sweep refused up front for a design the core
cannot hold. Machine names (Parquet columns, JSON keys, failure records) stay as they are."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from test_bill_sizing import COSTS, GROW
from test_cli_messages import SCENARIO as MESSAGES_SCENARIO
from test_cli_words5 import one_line, write
from vidnet_sim.analysis.curve import CurveResult, curve_grid
from vidnet_sim.analysis.vary import Vary
from vidnet_sim.cli import main
from vidnet_sim.core.split import Split
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_PARTIAL, VidnetError
from vidnet_sim.scenario.units import count_words, duration_words, exact_time_words, percent_words

#: The project's example scenarios.
EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios"

#: test_cli_messages's two cameras behind one 1 Gbit/s link, without their SLA, with a
#: gigabyte of buffer: at 1 bit/s (a sweep value below) a full buffer would delay a packet
#: past the core's clock.
SLOW = MESSAGES_SCENARIO.split("[sla.video]")[0].replace(
    'rate = "1Gbps"', 'rate = "1Gbps"\nbuffer = "1GB"'
)


# --------------------------------------------------------------------------- core limits
@pytest.mark.parametrize(
    ("ps", "words"),
    [
        (0, "0 s"),
        (10**12, "1 s"),
        (2_500_000_000, "2.5 ms"),
        (3600 * 10**12, "1 hour"),
        (1 << 62, "53.4 days"),
        (92_600 * 86_400 * 10**12, "254 years"),
        (10**30, "31,700,000,000 years"),
        (int(999.6 * 365.25 * 86_400 * 10**12), "1,000 years"),  # not '1e+03 years'
    ],
)
def test_a_duration_in_words(ps: int, words: str) -> None:
    assert duration_words(ps) == words


@pytest.mark.parametrize(
    ("ps", "words"),
    [
        (0, "0 s"),
        (4_050_000_000_000, "4.05 s"),
        (125 * 10**12, "125 s"),  # not '2.08 min'
        (3600 * 10**12 + 500_000_000, "3600.0005 s"),  # not rounded to '1 hour'
        (50 * 10**9, "50 ms"),
        (10**6, "1 us"),
        (-(10**12), "-1 s"),
    ],
)
def test_an_epochs_time_exactly(ps: int, words: str) -> None:
    """The epochs table's times are the scenario's own event times: exact, never rounded
    into minutes, hours or days."""
    assert exact_time_words(ps) == words


def test_counts_and_percentages_in_words() -> None:
    assert [count_words(n) for n in (12_345, 2e12, 1.0995e12, 1e10, 9.9996e11)] == [
        "12,345",
        "2·10¹²",
        "1.1·10¹²",
        "10¹⁰",
        "10¹²",
    ]
    assert [percent_words(0.95), percent_words(0.2414, 1)] == ["95 %", "24.1 %"]
    # rounded to a million: a power of ten as above it, not '1,000,000'
    assert [count_words(999_999.4), count_words(999_999.6)] == ["999,999", "10⁶"]


def test_the_cores_refusal_says_durations_and_rates_in_words(tmp_path: Path) -> None:
    """A buffer that drains too slowly for the core's clock said '9.26e+04 days' and 'at
    1bps'; now 'about 254 years' and 'at 1 bit/s'."""
    file = write(tmp_path / "s.toml", SLOW.replace('"1Gbps"', '"1bps"'))
    r = CliRunner().invoke(main, ["validate", str(file)])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    said = one_line(r.output)
    assert "could wait about 254 years on this link" in said, said
    assert "at 1 bit/s;" in said and "after the run's 200 ms" in said
    assert "up to about 53.4 days" in said
    assert not re.search(r"\de\+\d|\dbps\b", said), said


# --------------------------------------------------------------------------- sweep
#: The slow link's sweep: its 1 bit/s designs are what the core refuses.
SLOW_SWEEP = (
    SLOW + '[sweep.grid]\n"links[0].rate" = ["1Gbps", "1bps"]\n"cameras[0].count" = [1, 2]\n'
)


def test_a_sweep_with_a_design_the_core_refuses_is_refused_before_it_runs(
    tmp_path: Path,
) -> None:
    """It ran the other points, recorded the 1 bit/s ones as failed ('ScenarioError: ...')
    and exited 4; now it is refused as ``run`` and ``validate`` refuse it, naming the sweep
    value, exit 3, with nothing run or written; ``--print-sbatch`` alike."""
    file = write(tmp_path / "slow.toml", SLOW_SWEEP)
    out = tmp_path / "out"
    for extra in ([], ["--print-sbatch"]):
        args = ["sweep", str(file), "--out", str(out)]
        r = CliRunner().invoke(main, [*args, *(extra or ["--workers", "1"])])
        assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
        said = one_line(r.output)
        assert said.startswith(f"invalid scenario {file}: 1 problem"), said
        assert 'sweep.grid["links[0].rate"][1]: "1bps" makes link \'edge->nvr\'' in said, said
        assert "ScenarioError" not in said and "computed" not in said
        assert not out.exists() or not list(out.iterdir()), list(out.iterdir())
    v = CliRunner().invoke(main, ["validate", str(file)])
    assert v.exit_code == EXIT_INVALID_SCENARIO and one_line(v.output) == said


def test_a_failed_point_says_what_failed_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A point failing with an error vidnet-sim raises on purpose was printed with its
    Python class ('point #1 ... failed: VidnetError: ...', and so in ``--status``); now its
    message alone. Its kind stays in the failure record and the JSON report; an unexpected
    error keeps its type, as a command says one."""
    import vidnet_sim.runner as runner

    real_run = runner.run

    def refuse(scenario: Any, **kwargs: Any) -> Any:
        if scenario.cameras[0].count == 2:
            raise VidnetError("the recorder nvr is full")
        if scenario.links[0].rate == 10**9 and scenario.cameras[0].count == 1:
            raise RuntimeError("boom")
        return real_run(scenario, **kwargs)

    grid = '[sweep.grid]\n"cameras[0].count" = [1, 2]\n"links[0].rate" = ["1Gbps", "2Gbps"]\n'
    file = write(tmp_path / "s.toml", SLOW + grid)
    out = tmp_path / "out"
    monkeypatch.setattr(runner, "run", refuse)
    r = CliRunner().invoke(main, ["sweep", str(file), "--out", str(out), "--workers", "1"])
    assert r.exit_code == EXIT_PARTIAL, r.output
    failed = sorted(line for line in r.output.splitlines() if " failed: " in line)
    assert len(failed) == 3, r.output
    assert sum(line.endswith(" failed: the recorder nvr is full") for line in failed) == 2
    assert sum(line.endswith(" failed: RuntimeError: boom") for line in failed) == 1
    status = CliRunner().invoke(main, ["sweep", str(file), "--out", str(out), "--status"])
    assert status.exit_code == 0, status.output
    said = one_line(status.stdout)
    assert said.count(": the recorder nvr is full") == 2 and "VidnetError" not in said, said
    records = [json.loads(f.read_text()) for f in (out / "_failed").glob("*.json")]
    assert sorted(rec["error"] for rec in records) == ["RuntimeError", "VidnetError", "VidnetError"]
    doc = json.loads(
        CliRunner()
        .invoke(main, ["sweep", str(file), "--out", str(out), "--workers", "1", "--json"])
        .stdout
    )
    kinds = sorted(v["error"] for v in doc["failed_points"].values())
    assert kinds == ["RuntimeError", "VidnetError", "VidnetError"]


def test_sweep_list_shows_values_as_written(tmp_path: Path) -> None:
    """``--list`` quoted strings ('"1Gbps"', Python's and JSON's way); now as a user wrote
    them in the grid: 1Gbps, 2, true, and a list as TOML writes it."""
    grid = (
        '[sweep.grid]\n"links[0].rate" = ["1Gbps"]\n"cameras[0].count" = [2]\n'
        '"links[0].blocked" = [false]\n"cameras[0].destinations" = [["nvr"]]\n'
    )
    file = write(tmp_path / "s.toml", SLOW + grid)
    r = CliRunner().invoke(main, ["sweep", str(file), "--out", str(tmp_path / "o"), "--list"])
    assert r.exit_code == 0, r.output
    (row,) = [line for line in r.stdout.splitlines() if "missing" in line]
    cells = [c.strip() for c in re.split(r"[│|]", row) if c.strip()]
    assert cells[4:] == ["1Gbps", "2", "false", '["nvr"]', "missing"], cells


# --------------------------------------------------------------------------- curve, report
def test_a_curve_says_its_percentages_and_metrics_as_the_docs_do(tmp_path: Path) -> None:
    """The curve's report wrote '95% confidence' beside the documentation's '95 %' (one
    spelling now, the documentation's: a space before the sign), and its legend
    'simulated packet p99' where everything else says '99th percentile packet latency'."""
    file = write(tmp_path / "s.toml", SLOW + '[sla.video]\nlatency_p99 = "50ms"\n')
    out = tmp_path / "curve"
    args = ["curve", str(file), "--vary", "bitrate", "--from", "1", "--to", "2", "--steps", "2"]
    r = CliRunner().invoke(main, [*args, "--workers", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    page = (out / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", page.split("<style>")[0] + page.split("</style>")[-1])
    assert "95 % confidence" in text, text
    assert not re.search(r"\d%", text), re.findall(r".{40}\d%.{20}", text)
    assert not re.search(r"\d%", r.output), r.output


#: The latency series a curve draws for every class.
LATENCY = ("latency_p50_ps", "latency_p99_ps", "latency_max_ps", "frame_latency_p99_ps")


def test_curve_legends_name_the_metric_in_words() -> None:
    """'simulated packet p99' and 'frame loss' now read as every report names the
    metrics: 'simulated 99th percentile packet latency', 'simulated frame loss'."""
    rows = [
        {"x": x, "class": "video", "metric": m, "mean": 1e9 * x, "ci_low": 1e9, "ci_high": 3e9}
        | {"n": 3}
        for x in (1.0, 2.0)
        for m in (*LATENCY, "frame_latency_p999_ps", "loss", "frame_loss")
    ]
    res = CurveResult(
        Vary("bitrate", "bitrate", None, 1.0),
        [1.0, 2.0],
        pd.DataFrame(rows),
        pd.DataFrame(columns=["x", "method", "class", "value", "ok"]),
        pd.DataFrame(),
        targets={"video": {"frame_latency_p999_ps": 10**11}},
    )
    latency, loss = curve_grid(res, targets=res.targets, limits=False).panels
    assert [s.label for s in latency.series] == [
        "simulated median packet latency",
        "simulated 99th percentile packet latency",
        "simulated largest packet latency",
        "simulated 99th percentile frame latency",
        "simulated 99.9th percentile frame latency",
    ]
    assert [s.label for s in loss.series] == ["simulated packet loss", "simulated frame loss"]
    assert "95 % confidence intervals" in curve_grid(res, limits=False).caption


# --------------------------------------------------------------------------- run --explain
def test_explain_says_why_a_class_has_no_line(tmp_path: Path) -> None:
    """The mid-size city's bulk export starts at 2 s: a run of 2 s or less had no explain
    line for the bulk class and no warning that the service never started. Now a line says
    why there is nothing to explain, and the warning names the service, as it names a
    camera group or a source that starts too late."""
    export = (
        '[[services]]\nname = "export"\nkind = "bulk"\nat = "edge"\ndestinations = ["nvr"]\n'
        'rate = "10Mbps"\nstart = "1s"\n'
    )
    file = write(tmp_path / "s.toml", SLOW + export)
    args = ["run", str(file), "--explain", "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    lines = [line.strip() for line in r.stdout.split("Where latency comes from")[1].splitlines()]
    assert lines[1].startswith("video p99 "), lines
    assert lines[2] == (
        "bulk: no packet sent in the measured time (after the warm-up): nothing to explain"
    )
    assert (
        "warning: service 'export' starts at 1s, at or after the end of the run (200ms): it "
        "sends nothing" in one_line(r.output)
    )
    doc = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert [line.split(" ")[0] for line in doc["latency_parts"]] == ["video", "bulk:"]


# --------------------------------------------------------------------------- whatif
@pytest.mark.long
def test_whatif_warns_of_what_its_duration_leaves_out(tmp_path: Path) -> None:
    """``size --duration`` warned that an alarm after the shortened end does not happen;
    ``whatif --duration``, sizing the same plan per variant, said nothing on the console
    (the warning was only in each report). Now once, as every variant's sizing gave it,
    and in ``whatif.json``."""
    alarm = (
        '[[events]]\nkind = "alarm"\ntargets = ["north"]\nat = "800ms"\nduration = "100ms"\n'
        "bitrate_scale = 2.0\n"
    )
    scenario = write(tmp_path / "grow.toml", GROW.replace("\n[[growth]]", alarm + "\n[[growth]]"))
    variants = write(
        tmp_path / "v.toml",
        '[[variants]]\nname = "two weeks"\nset = { "cameras[*].retention_days" = 14 }\n',
    )
    out = tmp_path / "wi"
    costs = write(tmp_path / "c.toml", COSTS)
    args = ["whatif", str(scenario), str(variants), "--costs", str(costs), "--out", str(out)]
    r = CliRunner().invoke(main, [*args, "--duration", "500ms", "--workers", "1"])
    assert r.exit_code == 0, r.output
    said = "events[0] (alarm on north at 800ms) is at or after the end of the run (500ms)"
    warned = [line for line in r.output.splitlines() if line.startswith("warning: ")]
    assert [w for w in warned if said in w] == [f"warning: {said}: it does not happen in this run"]
    doc = json.loads((out / "whatif.json").read_text(encoding="utf-8"))
    assert [w for w in doc["warnings"] if said in w] == [f"{said}: it does not happen in this run"]


# --------------------------------------------------------------------------- validate
def test_an_unknown_qos_class_lists_the_known_ones_as_words(tmp_path: Path) -> None:
    """'use one of ['best_effort', 'bulk', ...]' was a Python list; now the names, as the
    other lists of choices are written ('expected one of: name, kind, ...')."""
    text = (EXAMPLES / "mid-city-services.toml").read_text(encoding="utf-8")
    file = write(
        tmp_path / "q.toml", text.replace('kind = "bulk"', 'kind = "bulk"\nclass = "bulkk"')
    )
    r = CliRunner().invoke(main, ["validate", str(file)])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    said = one_line(r.output)
    assert "unknown class 'bulkk': declare it in qos.classes with a dscp, or use one of: " in said
    assert "best_effort, bulk, control," in said and "['" not in said, said


def test_the_links_table_gives_the_rates_unit(tmp_path: Path) -> None:
    """The links table's 'rate' column (1000 for 1 Gbit/s) had no unit: its title named
    the throughput's only."""
    file = write(tmp_path / "s.toml", SLOW)
    r = CliRunner().invoke(main, ["run", str(file), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    (title,) = [line for line in r.stdout.splitlines() if line.startswith("Links by")]
    assert title == (
        "Links by utilisation (utilisation in %, rate and throughput in Mbit/s, wait in ms)"
    )
    rate = next(line for line in r.stdout.splitlines() if line.lstrip().startswith("edge->nvr"))
    assert " 1000 " in rate, rate


def test_a_split_says_its_share_of_the_work_as_a_percentage() -> None:
    """core/split.py wrote '(57% of the work)'; the product writes '57 %'."""
    split = Split(np.array([True, True, False]), np.array([2], np.int64), 57.0, 43.0, 0.0)
    assert "U 2 links + sources (57 % of the work), D 1 links" in split.describe()
