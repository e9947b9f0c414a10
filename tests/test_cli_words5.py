"""What the commands say to a user: metrics in words with their units, intervals that say what
they rest on, estimates and rates as people name them, and validation that checks what
``run`` refuses. Machine names (Parquet columns, JSON keys) stay as they are."""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from test_cli_messages import SCENARIO as MESSAGES_SCENARIO
from test_sweep import _results
from vidnet_sim.analysis.capacity import _Bracket
from vidnet_sim.analysis.cost import load_cost_model
from vidnet_sim.analysis.html import write_report
from vidnet_sim.analysis.plots import draw_variants
from vidnet_sim.analysis.report_data import ReportData, Variant, with_variants
from vidnet_sim.analysis.vary import AnalysisInputError, Vary
from vidnet_sim.cli import main
from vidnet_sim.cli import sweep as cli_sweep
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_OK, EXIT_USAGE
from vidnet_sim.results.latency_parts import PARTS, explain_lines
from vidnet_sim.scenario.units import rate_words
from vidnet_sim.sweep import compare_results

#: The two cameras of test_cli_messages, without their SLA (each test sets its own).
SCENARIO = MESSAGES_SCENARIO.split("[sla.video]")[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def one_line(text: str) -> str:
    """``text`` with its lines joined: a narrow console folds them."""
    return " ".join(text.split())


# --------------------------------------------------------------------------- SLA FAIL lines
def test_an_sla_violation_names_the_metric_in_words(tmp_path: Path) -> None:
    """The ``SLA FAIL`` lines and the ``sla_violations`` text said ``latency p99``, where
    every report says ``99th percentile packet latency``; the machine names stay."""
    file = write(
        tmp_path / "s.toml", SCENARIO + '[sla.video]\nlatency_p99 = "1us"\nlatency_max = "2us"\n'
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(file), "--out", str(out)])
    assert r.exit_code == EXIT_OK, r.output
    fails = [line for line in r.stdout.splitlines() if line.startswith("SLA FAIL class video")]
    assert len(fails) == 2, r.stdout
    assert fails[0].startswith("SLA FAIL class video: 99th percentile packet latency ")
    assert fails[0].endswith(" ms > 0.001 ms") or fails[0].endswith(" us > 1 us"), fails[0]
    assert fails[1].startswith("SLA FAIL class video: largest packet latency ")
    assert "latency p99" not in r.output and "latency max" not in r.output
    summary = pd.read_parquet(out / "summary.parquet")
    video = summary[(summary["level"] == "class") & (summary["name"] == "video")].iloc[0]
    assert video["sla_violations"].startswith("99th percentile packet latency ")
    doc = json.loads(
        CliRunner().invoke(main, ["run", str(file), "--out", str(out), "--json"]).stdout
    )
    (row,) = [x for x in doc["summary"] if x["level"] == "class"]
    assert "latency_p99_ps" in row and row["sla_ok"] is False  # machine names unchanged


# --------------------------------------------------------------------------- compare
def render_comparison(a: object, b: object, tmp_path: Path) -> str:
    df = compare_results(a, b, metrics=["latency_p99_ps"])  # type: ignore[arg-type]
    buf = io.StringIO()
    with patch.object(cli_sweep, "stdout_console", lambda: Console(file=buf, width=300)):
        cli_sweep._render_comparison(df, Path("A"), Path("B"), 0.95, 60, tmp_path / "t.csv")
    return buf.getvalue()


def test_compare_says_what_an_interval_of_no_width_rests_on(tmp_path: Path) -> None:
    """Replications all equal printed ``1e-09 ms ± 0 ms``, as certain as a measurement:
    the cell says what it rests on, as the curve's and the reports' intervals do."""
    text = render_comparison(
        _results({"same": [1e9, 1e9, 1e9], "one": [2e9]}),
        _results({"same": [1e9, 1e9, 1e9], "one": [3e9, 4e9]}),
        tmp_path,
    )
    assert "± 0 " not in text and "± 0\n" not in text
    # a percentile: three seeds in one histogram bucket, not three equal latencies
    assert "1 ms (3 runs in one histogram bucket, at most 0.8 % wide)" in text
    assert "2 ms (one run: no interval)" in text
    assert re.search(r"3\.5 ms ± \d", text)  # an interval of some width is shown as before


# --------------------------------------------------------------------------- capacity
def test_capacity_names_its_estimates_and_values_in_words(tmp_path: Path) -> None:
    file = write(tmp_path / "s.toml", SCENARIO + '[sla.video]\nlatency_p99 = "50ms"\n')
    r = CliRunner().invoke(
        main,
        ["capacity", str(file), "--start", "2", "--max", "4", "--replications", "2",
         "--max-replications", "2", "--workers", "1", "--out", str(tmp_path / "cap")],
    )  # fmt: skip
    assert r.exit_code == EXIT_OK, r.output
    lines = [line for line in r.stdout.splitlines() if line.startswith("estimate")]
    assert [line.split(":")[0] for line in lines] == [
        "estimate, 60 % rule",
        "estimate, Gaussian equivalent capacity",
        "estimate, network-calculus bound",
    ], r.stdout
    assert "[sum-of-means-60%]" not in r.output
    # the values with their unit: "cameras = 4" read as a field set to 4, "bitrate = 2" as
    # 2 bit/s
    assert r.stdout.startswith(
        "capacity: at least 4 cameras (every SLA still holds at the largest value tried"
    ), r.stdout
    assert lines[0].startswith("estimate, 60 % rule: 4 cameras ("), lines[0]
    doc = json.loads((tmp_path / "cap" / "capacity.json").read_text(encoding="utf-8"))
    assert "sum-of-means-60%" in doc["estimates"]  # the machine name stays in the JSON


# --------------------------------------------------------------------------- run --explain
def parts_table(rate_parts: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """A ``latency_parts`` table of one class, ``voice``: per link its (queueing,
    transmission, propagation) in ps, the same at the p99 and for the mean."""
    rows = []
    for link, times in rate_parts.items():
        row: dict[str, object] = {"level": "class", "name": "voice", "link": link}
        row["p99_packets"] = 10
        for part, t in zip(PARTS, times, strict=True):
            row[f"{part}_ps"] = t
            row[f"{part}_p99_ps"] = t
        rows.append(row)
    return pd.DataFrame(rows)


def test_explain_writes_rates_and_small_times_as_people_do() -> None:
    """``(100Mbps)`` was the scenario's spelling, and a voice class's 17 µs read ``0.0 ms``."""
    parts = parts_table({"a->b": (9e6, 5e6, 3e6)})
    links = pd.DataFrame(
        {"link": ["a->b"], "access": [False], "rate_bps": [155_520_000]}
    )  # STM-1: its rate whole
    (line,) = explain_lines(parts, links)
    assert line.startswith("voice p99 0.0170 ms: 53 % queueing at a->b (155.52 Mbit/s)"), line
    assert "; mean 0.0170 ms: " in line
    assert "bps" not in line


def test_a_rate_in_words() -> None:
    assert rate_words(100e6) == "100 Mbit/s"
    assert rate_words(2.5e9) == "2.5 Gbit/s"
    assert rate_words(64_000) == "64 kbit/s"
    assert rate_words(1) == "1 bit/s" and rate_words(0) == "0 bit/s"
    assert rate_words(999.96e6) == "1 Gbit/s"  # rounded into the next unit, not 1e+03 Mbit/s
    assert rate_words(999.6e6, 3) == "1 Gbit/s"
    assert rate_words(1.6e12) == "1.6 Tbit/s"


# --------------------------------------------------------------------------- report --compare
def test_report_compare_with_a_file_says_it_is_a_file(tmp_path: Path) -> None:
    base = tmp_path / "base"
    ReportData("size", "Network sizing: tiny", "Build", [], [], []).save(base)
    other = write(tmp_path / "report.json", "{}")
    r = CliRunner().invoke(main, ["report", str(base), "--compare", f"a={other}"])
    assert r.exit_code == EXIT_USAGE, r.output
    assert "no such folder" not in r.output
    assert f"{other}: a file, not a folder; name the folder holding report.json " in one_line(
        r.output
    )
    assert f"({tmp_path})" in r.output
    notes = write(tmp_path / "notes.txt", "x")
    r = CliRunner().invoke(main, ["report", str(base), "--compare", f"a={notes}"])
    assert r.exit_code == EXIT_USAGE
    assert "a file, not a folder" in r.output and "`vidnet-sim size`" in r.output


# --------------------------------------------------------------------------- validate a sweep
SWEEP = SCENARIO + "[sweep]\nreplications = 2\n[sweep.grid]\n"


def test_validate_compiles_every_point_of_a_sweep(tmp_path: Path) -> None:
    """A grid value that makes a network `run` refuses (exit 3: the core's clock cannot
    hold a packet's delay behind a full buffer at 1 bit/s) was called valid."""
    file = write(tmp_path / "sw.toml", SWEEP + '"links[0].rate" = ["1Gbps", "1bps"]\n')
    r = CliRunner().invoke(main, ["validate", str(file)])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    text = one_line(r.output)
    assert "valid sweep" not in text and "Traceback" not in text
    assert 'sweep.grid["links[0].rate"][1]: "1bps" makes link \'edge->nvr\': with full' in text
    ok = write(tmp_path / "ok.toml", SWEEP + '"links[0].rate" = ["1Gbps", "100Mbps"]\n')
    r = CliRunner().invoke(main, ["validate", str(ok)])
    assert r.exit_code == EXIT_OK, r.output
    assert r.stdout.endswith(
        "valid sweep — 4 points (2 designs, each compiled) over 1 parameter\n"
    ), r.stdout


def test_validate_names_the_designs_when_no_one_value_explains_a_problem(
    tmp_path: Path,
) -> None:
    """10 bit/s drains 64 KiB in time, 1 Gbit/s drains 100 MiB: only the two together fail."""
    file = write(
        tmp_path / "sw.toml",
        SWEEP + '"links[0].rate" = ["1Gbps", "10bps"]\n"links[0].buffer" = ["64KiB", "100MiB"]\n',
    )
    r = CliRunner().invoke(main, ["validate", str(file)])
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    text = one_line(r.output)
    assert (
        'sweep: the design (links[0].rate="10bps", links[0].buffer="100MiB") makes link '
        "'edge->nvr'"
    ) in text, text


# --------------------------------------------------------------------------- capacity's range
def test_capacity_refuses_a_range_too_wide_naming_it(tmp_path: Path) -> None:
    """--start 1bps --max 10Gbps judged 40 values (minutes of runs), then asked whether the
    SLA is monotone: the range was the cause (34 doublings, then bisection to 1 bit/s, now
    asked for by a tolerance of 10⁻¹⁰: at 1 % it takes up to 40 values)."""
    file = write(
        tmp_path / "s.toml",
        SCENARIO.replace('destinations = ["nvr"]', 'destinations = ["nvr"]\nbitrate = "4Mbps"')
        + '[sla.video]\nlatency_p99 = "50ms"\n',
    )
    out = tmp_path / "cap"
    r = CliRunner().invoke(
        main,
        ["capacity", str(file), "--vary", "cameras.north.bitrate", "--start", "1bps",
         "--max", "10Gbps", "--tolerance", "1e-10", "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == EXIT_INVALID_SCENARIO, r.output
    text = one_line(r.output)
    assert "monotone" not in text and not out.exists()  # refused before anything ran
    assert (
        "the search range is too wide: from --start 1bps it doubles 34 times to reach --max "
        "10Gbps, then bisects to 1bps apart or within 1e-08 %: up to 65 values, more than "
        "the 64 one search judges; narrow it"
    ) in text, text


@pytest.mark.parametrize(
    ("kind", "x0", "xmax", "tol"),
    [("bitrate", 1.0, 1024.0, 0.01), ("cameras", 60.0, 61440.0, 0.01),
     ("rate", 4e6, 4.096e9, 0.01), ("bitrate", 1e-3, 7.0, 0.2), ("cameras", 1.0, 3.0, 0.01)],
)  # fmt: skip
def test_the_most_values_bound_every_search_of_the_range(
    kind: str, x0: float, xmax: float, tol: float
) -> None:
    """The bound read before simulating holds for every capacity a monotone verdict can
    put anywhere in (and around) the range: a brute force over thresholds."""
    bracket = _Bracket(Vary("v", kind, None, x0), x0, xmax, tol)
    most = bracket.most_values()
    rng = np.random.default_rng(3)
    edges = np.concatenate([rng.uniform(np.log(x0 * 1e-7), np.log(xmax * 2), 300)])
    longest = 0
    for threshold in [0.0, *np.exp(edges), math.inf]:
        judged: list[float] = []

        def ok(x: float, _ahead: object, t: float = threshold, seen: list[float] = judged) -> bool:
            seen.append(x)
            return x <= t

        bracket.search(ok)
        longest = max(longest, len(judged))
    assert longest <= most
    assert longest >= most - 1  # (and is a close bound: the worst search needs about as many)


# --------------------------------------------------------------------------- what-if names
def test_a_long_variant_name_is_cut_in_the_chart_and_whole_in_the_table(tmp_path: Path) -> None:
    """A what-if named in 425 characters made matplotlib warn on the user's stderr (``Tight
    layout not applied``): the chart wraps and cuts it, the report's table keeps it whole."""
    name = (
        "two weeks of recordings for every camera of the town and the uplink owned " * 6
    ).strip()
    variants = [Variant("baseline", 13_680.0, True, "met"), Variant(name, 13_425.0, True, "met")]
    variants += [Variant(f"{i} {name}", 9_000.0 + i, False, "not met") for i in range(10)]
    data = ReportData("size", "Network sizing: tiny", "Build", [], [], [], variants=variants)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        draw_variants(variants[:2], "EUR")
        draw_variants(variants, "EUR")
        write_report(data, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"<td>{name}</td>" in page


# --------------------------------------------------------------------------- Python reprs
def test_lists_in_messages_are_written_as_words(tmp_path: Path) -> None:
    """``unknown key(s) ['colour']; known: ['currency', ...]`` and ``different currencies:
    ['EUR', 'USD']`` were Python lists."""
    costs = write(tmp_path / "c.toml", "fibre_per_km = 1\ncolour = 2\n")
    with pytest.raises(AnalysisInputError) as exc:
        load_cost_model(costs)
    assert str(exc.value).endswith(
        "unknown key(s) colour; known: currency, fibre_per_km, new_fibre, optics, port"
    ), exc.value
    base = ReportData("size", "t", "h", [], [], [], total_cost=1.0, currency="EUR")
    other = ReportData("size", "t", "h", [], [], [], total_cost=2.0, currency="USD")
    with pytest.raises(AnalysisInputError) as exc:
        with_variants(base, {"h265": other, "leased": other}, "town")
    assert str(exc.value) == (
        "the reports are costed in different currencies: EUR (town); USD (h265, leased)"
    )
    assert "[" not in str(exc.value)
