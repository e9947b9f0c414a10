"""Results: tidy tables from RunStats, SLA checks, Parquet round trips and rendering."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from vidnet_sim.cli.summary import render_summary, render_warnings
from vidnet_sim.core.histogram import N_BUCKETS, histogram_of, quantile
from vidnet_sim.core.stats import RunStats
from vidnet_sim.errors import ScenarioError, VidnetError
from vidnet_sim.network.plan import build_plan
from vidnet_sim.results import (
    EPOCH_LINKS_SCHEMA,
    EPOCHS_SCHEMA,
    HIST_SCHEMA,
    LINKS_SCHEMA,
    RUN_SCHEMAS,
    SUMMARY_SCHEMA,
    ResultsNotFoundError,
    SlaTargets,
    Tables,
    build_tables,
    check_sla,
    merge_hist,
    quantile_from_hist,
    read_parquet_kwargs,
    read_results,
    summary_json,
    write_results,
)
from vidnet_sim.results import store as store_mod
from vidnet_sim.results.atomic import atomic_write
from vidnet_sim.results.epochs import hist_quantiles
from vidnet_sim.runner import access_links, check_epoch_count
from vidnet_sim.scenario import load_scenario
from vidnet_sim.scenario.model import Simulation
from vidnet_sim.timeline.driver import Action, epoch_bounds

MS = 10**9  # ps
US = 10**6
SMALL_TOWN = Path(__file__).resolve().parents[1] / "scenarios" / "small-town.toml"

LAT = {
    "cams-north": [1 * MS, 2 * MS, 3 * MS, 40 * MS, 90 * MS],
    "cams-south": [5 * MS] * 95 + [7 * MS] * 5,
    "sensors": [100 * US, 200 * US, 300 * US],
}
FRAMES = {"cams-north": [10 * MS, 20 * MS], "cams-south": [8 * MS] * 10, "sensors": []}


def i64(xs: list[int]) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


def hist_or_empty(values: list[int]) -> np.ndarray:
    return histogram_of(values) if values else np.zeros(N_BUCKETS, dtype=np.int64)


def make_stats(measured_ps: int = 10**12) -> RunStats:
    names = list(LAT)
    return RunStats(
        group_names=names,
        group_classes=["video", "video", "telemetry"],
        group_kinds=["camera", "camera", "cbr"],
        packets_sent=i64([7, 100, 4]),
        packets_delivered=i64([5, 100, 3]),
        packets_dropped=i64([2, 0, 0]),
        packets_in_flight=i64([0, 0, 1]),
        bytes_delivered=i64([5_000, 150_000, 300]),
        payload_bytes_delivered=i64([4_800, 146_000, 180]),
        frames_sent=i64([3, 10, 0]),
        frames_delivered=i64([2, 10, 0]),
        frames_lost=i64([1, 0, 0]),
        frames_in_flight=i64([0, 0, 0]),
        jitter_sum_ps=i64([4 * MS, 9 * MS, 0]),
        jitter_count=i64([4, 99, 2]),
        latency_min_ps=i64([min(LAT[n]) for n in names]),
        latency_max_ps=i64([max(LAT[n]) for n in names]),
        frame_latency_min_ps=i64([10 * MS, 8 * MS, -1]),
        frame_latency_max_ps=i64([20 * MS, 8 * MS, -1]),
        packet_hist=np.stack([histogram_of(LAT[n]) for n in names]),
        frame_hist=np.stack([hist_or_empty(FRAMES[n]) for n in names]),
        link_names=["a-b", "b-c"],
        link_src=["a", "b"],
        link_dst=["b", "c"],
        link_rate_bps=i64([10**9, 10**8]),
        link_packets=i64([105, 3]),
        link_bytes=i64([155_000, 300]),
        link_drops=i64([2, 0]),
        link_drop_bytes=i64([2_000, 0]),
        link_busy_ps=i64([5 * 10**11, 10**10]),
        link_peak_queue_bytes=i64([30_000, 100]),
        link_peak_queue_packets=i64([20, 1]),
        link_peak_wait_ps=i64([3 * MS, 0]),
        measured_ps=measured_ps,
        packet_hops=200,
        latency_sum_ps=sums([sum(LAT[n]) for n in names]),
        frame_latency_sum_ps=sums([sum(FRAMES[n]) for n in names]),
    )


def sums(values: list[int]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def empty_stats() -> RunStats:
    z = np.zeros(0, dtype=np.int64)
    h = np.zeros((0, N_BUCKETS), dtype=np.int64)
    return RunStats(
        [], [], [], z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, h, h,
        [], [], [], z, z, z, z, z, z, z, z, z, measured_ps=0, packet_hops=0,
    )  # fmt: skip


VIDEO_SLA = SlaTargets(latency_p99_ps=50 * MS, loss=1e-4)


@pytest.fixture
def tables() -> Tables:
    return build_tables(make_stats(), {"video": VIDEO_SLA})


def row(t: Tables | store_mod.Results, level: str, name: str) -> pd.Series:
    s = t.summary
    hit = s[(s["level"] == level) & (s["name"] == name)]
    assert len(hit) == 1
    return hit.iloc[0]


# --- summary -------------------------------------------------------------------------------


def test_summary_rows_and_columns(tables: Tables) -> None:
    s = tables.summary
    assert list(s.columns) == SUMMARY_SCHEMA.names
    assert list(zip(s["level"], s["name"], s["class"], s["kind"], strict=True)) == [
        ("group", "cams-north", "video", "camera"),
        ("group", "cams-south", "video", "camera"),
        ("group", "sensors", "telemetry", "cbr"),
        ("class", "video", "video", ""),
        ("class", "telemetry", "telemetry", ""),
    ]


def test_means_are_exact_sums_over_counts(tables: Tables) -> None:
    north, video = row(tables, "group", "cams-north"), row(tables, "class", "video")
    assert north["latency_mean_ps"] == sum(LAT["cams-north"]) / 5  # not from buckets
    assert north["frame_latency_mean_ps"] == 15 * MS
    values = LAT["cams-north"] + LAT["cams-south"]
    assert video["latency_mean_ps"] == sum(values) / len(values)
    assert video["latency_sum_ps"] == sum(values)
    assert video["frame_latency_mean_ps"] == sum(FRAMES["cams-north"] + FRAMES["cams-south"]) / 12
    sensors = row(tables, "group", "sensors")
    assert math.isnan(sensors["frame_latency_mean_ps"])  # no frames delivered
    # sums beyond the int64 range stay exact until the division
    s = make_stats()
    s.latency_sum_ps[0] = 3 * 2**63 + 5
    r = row(build_tables(s), "group", "cams-north")
    assert r["latency_mean_ps"] == (3 * 2**63 + 5) / 5


def test_statistics_without_sums_have_no_mean() -> None:
    s = make_stats()
    s.latency_sum_ps = s.frame_latency_sum_ps = np.zeros(0, dtype=object)
    summary = build_tables(s).summary
    assert summary["latency_mean_ps"].isna().all()
    assert summary["latency_sum_ps"].isna().all()


def test_group_row_values(tables: Tables) -> None:
    r = row(tables, "group", "cams-north")
    h = histogram_of(LAT["cams-north"])
    for col, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)):
        assert r[f"latency_{col}_ps"] == quantile(h, q, 1 * MS, 90 * MS)
    assert r["latency_min_ps"] == 1 * MS
    assert r["latency_max_ps"] == 90 * MS
    assert r["latency_p50_ps"] == pytest.approx(3 * MS, rel=0.004)
    assert r["loss"] == pytest.approx(2 / 7)
    assert r["frame_loss"] == pytest.approx(1 / 3)
    assert r["frame_latency_max_ps"] == 20 * MS
    assert r["jitter_ps"] == pytest.approx(1 * MS)
    assert r["throughput_bps"] == pytest.approx(5_000 * 8)  # measured: exactly 1 s
    assert r["goodput_bps"] == pytest.approx(4_800 * 8)


def test_class_row_is_an_exact_merge_not_an_average(tables: Tables) -> None:
    video = row(tables, "class", "video")
    values = LAT["cams-north"] + LAT["cams-south"]
    merged = histogram_of(values)
    assert video["latency_p99_ps"] == quantile(merged, 0.99, min(values), max(values))
    # rank ceil(0.99 * 105) = 104 is the 40 ms packet; the groups' p99 are 89.9 and 7 ms
    assert video["latency_p99_ps"] == pytest.approx(40 * MS, rel=0.004)
    groups = tables.summary[(tables.summary["level"] == "group")]
    mean_of_p99 = groups[groups["class"] == "video"]["latency_p99_ps"].mean()
    assert abs(video["latency_p99_ps"] - mean_of_p99) > 1 * MS
    assert video["latency_min_ps"] == 1 * MS
    assert video["latency_max_ps"] == 90 * MS
    north, south = row(tables, "group", "cams-north"), row(tables, "group", "cams-south")
    for col in ("packets_sent", "packets_delivered", "packets_dropped", "frames_lost"):
        assert video[col] == north[col] + south[col]
    assert video["loss"] == pytest.approx(2 / 107)
    assert video["jitter_ps"] == pytest.approx(13 * MS / 103)
    assert video["throughput_bps"] == pytest.approx(155_000 * 8)
    assert video["frame_latency_min_ps"] == 8 * MS


def test_no_frames_and_no_traffic_give_nan() -> None:
    t = build_tables(make_stats())
    sensors = row(t, "group", "sensors")
    for col in ("frame_loss", "frame_latency_min_ps", "frame_latency_p99_ps"):
        assert math.isnan(sensors[col])
    assert math.isnan(sensors["frame_latency_max_ps"])
    assert sensors["packets_in_flight"] == 1
    t0 = build_tables(make_stats(measured_ps=0))
    assert math.isnan(row(t0, "group", "sensors")["throughput_bps"])
    assert t0.links["utilisation"].isna().all()


def test_loss_rows_without_packets_are_nan() -> None:
    s = make_stats()
    s.packets_delivered[:] = 0
    s.packets_dropped[:] = 0
    s.packet_hist[:] = 0
    s.latency_min_ps[:] = -1
    s.latency_max_ps[:] = -1
    t = build_tables(s)
    r = row(t, "class", "video")
    assert math.isnan(r["loss"])
    assert math.isnan(r["latency_p99_ps"])
    assert math.isnan(r["latency_max_ps"])


# --- links ---------------------------------------------------------------------------------


def test_links_arithmetic(tables: Tables) -> None:
    links = tables.links
    assert list(links.columns) == LINKS_SCHEMA.names
    ab = links.set_index("link").loc["a-b"]
    assert ab["src"] == "a"
    assert ab["dst"] == "b"
    assert ab["utilisation"] == pytest.approx(0.5)
    assert ab["loss"] == pytest.approx(2 / 107)
    assert ab["throughput_bps"] == pytest.approx(155_000 * 8)
    assert ab["peak_queue_packets"] == 20
    bc = links.set_index("link").loc["b-c"]
    assert bc["utilisation"] == pytest.approx(0.01)
    assert bc["loss"] == 0.0


# --- SLA -----------------------------------------------------------------------------------


def test_sla_flags_and_text(tables: Tables) -> None:
    north = row(tables, "group", "cams-north")
    assert north["sla_ok"] is not pd.NA
    assert not north["sla_ok"]
    assert north["sla_violations"] == (
        "99th percentile packet latency 89.9 ms > 50 ms; packet loss 2.9e-01 > 1.0e-04"
    )
    south = row(tables, "group", "cams-south")
    assert bool(south["sla_ok"]) is True
    assert south["sla_violations"] == ""
    video = row(tables, "class", "video")
    assert video["sla_violations"] == "packet loss 1.9e-02 > 1.0e-04"  # p99 40.1 ms <= 50 ms
    for level, name in (("group", "sensors"), ("class", "telemetry")):
        r = row(tables, level, name)
        assert r["sla_ok"] is pd.NA
        assert r["sla_violations"] == ""
    assert str(tables.summary["sla_ok"].dtype) == "boolean"


def test_check_sla_messages() -> None:
    r = {
        "packets_sent": 10,
        "frames_sent": 0,
        "latency_p99_ps": 62.1 * MS,
        "latency_max_ps": 700.0 * US,
        "loss": 1.2e-3,
        "frame_latency_p99_ps": math.nan,
        "frame_loss": math.nan,
    }
    targets = SlaTargets(
        latency_p99_ps=50 * MS,
        latency_max_ps=500 * US,
        loss=1e-4,
        frame_latency_p99_ps=100 * MS,
        frame_loss=0.0,
    )
    assert check_sla(r, targets) == [
        "99th percentile packet latency 62.1 ms > 50 ms",
        "largest packet latency 700 us > 500 us",
        "packet loss 1.2e-03 > 1.0e-04",
    ]  # no frames sent: NaN frame statistics are no violation
    assert check_sla(r, None) == []
    assert check_sla(r, SlaTargets()) == []
    assert check_sla(r, SlaTargets(latency_p99_ps=62_100 * US)) == []  # equal is ok


def test_check_sla_nothing_delivered() -> None:
    targets = SlaTargets(latency_p50_ps=MS, latency_p99_ps=MS)
    nan_row = {"latency_p50_ps": math.nan, "latency_p99_ps": math.nan, "loss": math.nan}
    assert check_sla({**nan_row, "packets_sent": 3}, targets) == ["no packets delivered"]
    assert check_sla({**nan_row, "packets_sent": 0}, targets) == []
    frames = SlaTargets(frame_latency_p99_ps=MS)
    assert check_sla({"frames_sent": 2, "frame_latency_p99_ps": math.nan}, frames) == [
        "no frames delivered"
    ]


def test_sla_targets_validation() -> None:
    with pytest.raises(ValueError, match="int ps"):
        SlaTargets(latency_p99_ps=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fraction"):
        SlaTargets(loss=2.0)
    assert SlaTargets().is_empty()
    assert not SlaTargets(loss=0.01).is_empty()


# --- hist ----------------------------------------------------------------------------------


def test_hist_long_table_reaggregates_exactly(tables: Tables) -> None:
    h = tables.hist
    assert list(h.columns) == HIST_SCHEMA.names
    assert (h["count"] > 0).all()
    assert set(h["metric"]) == {"packet_latency", "frame_latency"}
    stats = make_stats()
    pkt = h[h["metric"] == "packet_latency"]
    groups = pkt[pkt["level"] == "group"]
    for g, name in enumerate(stats.group_names):
        assert np.array_equal(merge_hist(groups[groups["name"] == name]), stats.packet_hist[g])
    video_groups = groups[groups["name"].isin(["cams-north", "cams-south"])]
    merged = histogram_of(LAT["cams-north"] + LAT["cams-south"])
    assert np.array_equal(merge_hist(video_groups), merged)
    video_class = pkt[(pkt["level"] == "class") & (pkt["name"] == "video")]
    assert np.array_equal(merge_hist(video_class), merged)
    video = row(tables, "class", "video")
    for q, col in ((0.5, "latency_p50_ps"), (0.99, "latency_p99_ps")):
        assert quantile_from_hist(video_groups, q, 1 * MS, 90 * MS) == video[col]
        assert quantile_from_hist(video_groups, q) == quantile(merged, q)
    assert (h["lo_ps"] < h["hi_ps"]).all()


def test_hist_edges_hold_the_values(tables: Tables) -> None:
    h = tables.hist
    north = h[(h["level"] == "group") & (h["name"] == "cams-north")]
    north = north[north["metric"] == "packet_latency"]
    for v in LAT["cams-north"]:
        assert ((north["lo_ps"] <= v) & (v < north["hi_ps"])).sum() == 1


def test_quantile_from_hist_refuses_mixed_rows(tables: Tables) -> None:
    with pytest.raises(VidnetError, match="metric"):
        quantile_from_hist(tables.hist, 0.5)
    pkt = tables.hist[tables.hist["metric"] == "packet_latency"]
    with pytest.raises(VidnetError, match="level"):
        quantile_from_hist(pkt, 0.5)
    assert math.isnan(quantile_from_hist(pkt.iloc[:0], 0.5))


def test_empty_run_has_typed_empty_tables() -> None:
    t = build_tables(empty_stats())
    for name, schema in RUN_SCHEMAS.items():
        df = getattr(t, name)
        assert len(df) == 0
        assert list(df.columns) == schema.names
    assert str(t.summary["packets_sent"].dtype) == "int64"
    assert str(t.summary["loss"].dtype) == "float64"


# --- storage -------------------------------------------------------------------------------


def assert_tables_equal(a: Tables | store_mod.Results, b: Tables | store_mod.Results) -> None:
    for name in RUN_SCHEMAS:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_write_read_round_trip(tables: Tables, tmp_path: Path) -> None:
    out = write_results(tmp_path / "run1", tables, {"scenario": "demo", "seed": 42})
    assert out == tmp_path / "run1"
    back = read_results(out)
    assert_tables_equal(back, tables)
    assert back.summary["sla_ok"].dtype == tables.summary["sla_ok"].dtype
    assert back.manifest["scenario"] == "demo"
    assert back.manifest["seed"] == 42
    assert set(back.manifest["versions"]) >= {"vidnet_sim", "numpy", "pandas", "pyarrow", "python"}
    assert "created" in back.manifest
    assert_tables_equal(read_results(out / "summary.parquet"), tables)  # a file: its folder


def test_round_trip_of_empty_and_all_nan_tables(tmp_path: Path) -> None:
    t = build_tables(empty_stats())
    assert_tables_equal(read_results(write_results(tmp_path / "e", t, {})), t)
    nan_run = build_tables(make_stats(measured_ps=0))
    assert nan_run.links["utilisation"].isna().all()
    assert_tables_equal(read_results(write_results(tmp_path / "n", nan_run, {})), nan_run)


def test_manifest_keeps_caller_fields_and_is_plain_json(tables: Tables, tmp_path: Path) -> None:
    manifest = {
        "versions": {"custom": "1"},
        "created": "yesterday",
        "wall_seconds": np.float64(1.5),
        "packet_hops": np.int64(200),
        "missing": float("nan"),
        "path": tmp_path,
    }
    write_results(tmp_path / "r", tables, manifest)
    data = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert data["versions"] == {"custom": "1"}
    assert data["created"] == "yesterday"
    assert data["wall_seconds"] == 1.5
    assert data["packet_hops"] == 200
    assert data["missing"] is None
    assert data["path"] == str(tmp_path)
    assert "versions" in manifest and manifest["created"] == "yesterday"  # not mutated


def test_atomic_write_leaves_no_temporary_files(tables: Tables, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "run"
    write_results(out, tables, {})
    write_results(out, tables, {})  # overwrite in place
    assert sorted(p.name for p in out.iterdir()) == [
        "epoch_links.parquet",
        "epochs.parquet",
        "hist.parquet",
        "links.parquet",
        "manifest.json",
        "queues.parquet",
        "summary.parquet",
    ]


def test_failed_write_removes_its_temporary_file(
    tables: Tables, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: pd.DataFrame, f: object, **kwargs: object) -> None:
        f.write(b"PAR1 partial")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        write_results(tmp_path / "run", tables, {})
    assert not (tmp_path / "run").exists()  # the files are made before the folder

    def cut_short(f: IO[bytes]) -> None:
        f.write(b"PAR1 partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "summary.parquet", cut_short)
    assert list(tmp_path.iterdir()) == []


def test_read_sweep_adds_run_column(tables: Tables, tmp_path: Path) -> None:
    other = build_tables(make_stats(measured_ps=2 * 10**12))
    write_results(tmp_path / "sweep" / "p1", tables, {"seed": 1})
    write_results(tmp_path / "sweep" / "run=p2", other, {"seed": 2})
    (tmp_path / "sweep" / "notes").mkdir()  # not a run: ignored
    res = read_results(tmp_path / "sweep")
    for name in RUN_SCHEMAS:
        df = getattr(res, name)
        assert df.columns[0] == "run"
        assert str(df["run"].dtype) == str(tables.summary["name"].dtype)
        if getattr(tables, name).empty and getattr(other, name).empty:  # queues: no plan given
            assert df.empty
            continue
        assert list(dict.fromkeys(df["run"])) == ["p1", "p2"]
        p1 = df[df["run"] == "p1"].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(p1, getattr(tables, name))
        p2 = df[df["run"] == "p2"].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(p2, getattr(other, name))
    assert res.manifest["runs"]["p1"]["seed"] == 1
    assert res.manifest["runs"]["p2"]["seed"] == 2
    # replications merge exactly: sum both runs' histograms
    h = res.hist
    pick = h[(h["level"] == "class") & (h["name"] == "video") & (h["metric"] == "packet_latency")]
    assert int(merge_hist(pick).sum()) == 2 * 105


def test_plain_pandas_reads_what_the_docs_say(tables: Tables, tmp_path: Path) -> None:
    run = write_results(tmp_path / "sweep" / "a", tables, {})
    write_results(tmp_path / "sweep" / "b", tables, {})
    one = pd.read_parquet(run / "summary.parquet")
    pd.testing.assert_frame_equal(one, tables.summary)
    pd.testing.assert_frame_equal(
        pd.read_parquet(run, **read_parquet_kwargs("summary")), tables.summary
    )
    links = pd.read_parquet(run, **read_parquet_kwargs("links"))
    pd.testing.assert_frame_equal(links, tables.links)
    whole = pd.read_parquet(tmp_path / "sweep", **read_parquet_kwargs("summary"))
    assert len(whole) == 2 * len(tables.summary)
    assert list(whole.columns) == SUMMARY_SCHEMA.names
    with pytest.raises(VidnetError, match="unknown table"):
        read_parquet_kwargs("timeseries")


def test_read_errors(tables: Tables, tmp_path: Path) -> None:
    with pytest.raises(ResultsNotFoundError, match="no such folder"):
        read_results(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no results in"):
        read_results(tmp_path / "empty")
    run = write_results(tmp_path / "sweep" / "a", tables, {})
    (run / "manifest.json").unlink()
    with pytest.raises(ResultsNotFoundError, match=r"incomplete run folder .*manifest\.json"):
        read_results(tmp_path / "sweep")
    assert issubclass(ResultsNotFoundError, VidnetError)


# --- console -------------------------------------------------------------------------------


def test_render_summary(tables: Tables) -> None:
    console = Console(record=True, width=120, file=io.StringIO())
    render_summary(tables, console)
    text = console.export_text(clear=False)
    for name in ("cams-north", "cams-south", "sensors", "video", "telemetry", "a-b", "b-c"):
        assert name in text
    assert "FAIL" in text
    assert "99th percentile packet latency 89.9 ms > 50 ms" in text
    assert "89.9" in text  # ms, 3 significant digits
    assert "2.9e-01" in text  # loss in scientific notation
    assert text.rstrip().endswith("SLA: 3 violation(s)")
    # the links' last column is their longest wait, beside the peak queue: "wait" alone read
    # as the mean (40 ms on the small town's access links, whose p99 is 31 ms)
    assert "peak KiB  peak pkts  peak wait" in text
    html = console.export_html(inline_styles=True)
    red = "color: #800000"  # rich's "red" in HTML exports
    failing = [line for line in html.splitlines() if "cams-north" in line and ">FAIL<" in line]
    assert failing and red in failing[0]
    assert any(red in line and "SLA FAIL group cams-north" in line for line in html.splitlines())


def test_render_summary_verdicts() -> None:
    met = build_tables(make_stats(), {"video": SlaTargets(loss=0.5)})
    console = Console(record=True, width=120)
    render_summary(met, console)
    assert console.export_text().rstrip().endswith("SLA: all targets met")
    none = build_tables(make_stats())
    console = Console(record=True, width=120)
    render_summary(none, console)
    assert console.export_text().rstrip().endswith("SLA: no targets set")


def test_render_many_links_shows_the_most_utilised() -> None:
    s = make_stats()
    n = 40
    s.link_names = [f"l{i:02d}" for i in range(n)]
    s.link_src = [f"s{i}" for i in range(n)]
    s.link_dst = [f"d{i}" for i in range(n)]
    for attr in (
        "link_rate_bps",
        "link_packets",
        "link_bytes",
        "link_drops",
        "link_drop_bytes",
        "link_peak_queue_bytes",
        "link_peak_queue_packets",
        "link_peak_wait_ps",
    ):
        setattr(s, attr, np.ones(n, dtype=np.int64))
    s.link_busy_ps = np.arange(n, dtype=np.int64) * 10**10  # l39 is the busiest
    console = Console(record=True, width=120)
    render_summary(build_tables(s), console)
    text = console.export_text()
    assert "30 most utilised of 40" in text
    assert "l39" in text
    assert "l00 " not in text


def test_summary_json_is_serialisable(tables: Tables) -> None:
    data = summary_json(tables)
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert len(back["summary"]) == len(tables.summary)
    assert len(back["links"]) == len(tables.links)
    sensors = next(r for r in back["summary"] if r["name"] == "sensors")
    assert sensors["frame_loss"] is None
    assert sensors["sla_ok"] is None
    assert back["sla"] == {"checked": True, "violations": 3, "ok": False}
    assert json.dumps(summary_json(build_tables(empty_stats())), allow_nan=False)


# --- classes, failures, access links -------------------------------------------------------


def test_class_rows_follow_the_plan_order_and_count_failures() -> None:
    s = make_stats()
    s.class_names = ["telemetry", "video"]
    s.group_class = i64([1, 1, 0])
    s.packets_failed = i64([1, 0, 0])  # one of cams-north's 2 drops was a failure
    s.link_fail_drops = i64([1, 0])
    t = build_tables(s, {"video": VIDEO_SLA})
    classes = t.summary[t.summary["level"] == "class"]
    assert list(classes["name"]) == ["telemetry", "video"]
    north = row(t, "group", "cams-north")
    assert north["packets_failed"] == 1
    assert north["failure_loss"] == pytest.approx(1 / 7)
    assert north["loss"] == pytest.approx(2 / 7)  # failures stay counted in the loss
    video = row(t, "class", "video")
    assert video["packets_failed"] == 1
    assert video["failure_loss"] == pytest.approx(1 / 107)
    assert video["sla_violations"] == "packet loss 1.9e-02 > 1.0e-04"  # per class as before
    assert list(t.links["fail_drops"]) == [1, 0]
    assert list(t.links["drops"]) == [2, 0]  # unchanged meaning: buffer drops


def test_failure_columns_are_zero_when_the_engine_has_none(tables: Tables) -> None:
    assert (tables.summary["packets_failed"] == 0).all()
    assert row(tables, "group", "cams-north")["failure_loss"] == 0.0
    assert math.isnan(row(build_tables(empty_loss_stats()), "class", "video")["failure_loss"])
    assert (tables.links["fail_drops"] == 0).all()


def empty_loss_stats() -> RunStats:
    s = make_stats()
    s.packets_delivered[:] = 0
    s.packets_dropped[:] = 0
    return s


def test_bad_failure_shapes_are_refused() -> None:
    s = make_stats()
    s.packets_failed = i64([1, 2])
    with pytest.raises(VidnetError, match="packets_failed"):
        build_tables(s)


def test_access_links_are_flagged(tables: Tables) -> None:
    assert not tables.links["access"].any()
    t = build_tables(make_stats(), access_links=["a-b", "not-a-link"])
    assert list(t.links["access"]) == [True, False]
    assert str(t.links["access"].dtype) == "boolean"


# --- epochs --------------------------------------------------------------------------------

S = 10**12  # ps
#: Epochs [0, 1 s), [1 s, 3 s), [3 s, T); warm-up 0.5 s, measured 3.5 s: T = 4 s.
EPOCH_STARTS = [0, 1 * S, 3 * S]
EPOCH_LABELS = ["start", "alarm on centre", "failure of a-b"]
WARMUP = S // 2
#: Latencies of the delivered packets emitted in each epoch (they make up LAT).
EPOCH_LAT = {
    "cams-north": [[1 * MS, 2 * MS], [3 * MS, 40 * MS, 90 * MS], []],
    "cams-south": [[5 * MS] * 50, [5 * MS] * 45, [7 * MS] * 5],
    "sensors": [[100 * US], [], [200 * US, 300 * US]],
}
EPOCH_SENT = [[2, 5, 0], [50, 45, 5], [1, 0, 3]]  # per group, per epoch
EPOCH_DROPPED = [[0, 2, 0], [0, 0, 0], [0, 0, 0]]
EPOCH_FAILED = [[0, 1, 0], [0, 0, 0], [0, 0, 0]]
LINK_BUSY = [[10**11, 3 * 10**11, 10**11], [4 * 10**9, 0, 6 * 10**9]]  # per link, per epoch
LINK_BYTES = [[50_000, 100_000, 5_000], [100, 0, 200]]
LINK_DROPS = [[0, 2, 0], [0, 0, 0]]
LINK_FAIL = [[0, 1, 0], [0, 0, 0]]


def epoch_stats() -> RunStats:
    """``make_stats`` over 3.5 s measured, cut into three epochs that add up to it."""
    s = make_stats(measured_ps=7 * S // 2)
    names = s.group_names
    assert all([v for part in EPOCH_LAT[n] for v in part] == sorted(LAT[n]) for n in names)
    s.packets_failed = i64([1, 0, 0])
    s.link_fail_drops = i64([1, 0])
    s.epoch_starts_ps = i64(EPOCH_STARTS)
    s.epoch_labels = list(EPOCH_LABELS)
    s.epoch_sent = np.array(EPOCH_SENT, np.int64).T.copy()  # (E, G)
    s.epoch_delivered = np.array([[len(x) for x in EPOCH_LAT[n]] for n in names], np.int64).T
    s.epoch_dropped = np.array(EPOCH_DROPPED, np.int64).T.copy()
    s.epoch_failed = np.array(EPOCH_FAILED, np.int64).T.copy()
    s.epoch_packet_hist = np.stack(
        [np.stack([hist_or_empty(EPOCH_LAT[n][e]) for n in names]) for e in range(3)]
    )
    s.epoch_link_busy_ps = np.array(LINK_BUSY, np.int64).T.copy()
    s.epoch_link_bytes = np.array(LINK_BYTES, np.int64).T.copy()
    s.epoch_link_drops = np.array(LINK_DROPS, np.int64).T.copy()
    s.epoch_link_fail_drops = np.array(LINK_FAIL, np.int64).T.copy()
    assert (s.epoch_link_busy_ps.sum(axis=0) == s.link_busy_ps).all()
    return s


@pytest.fixture
def epoch_tables() -> Tables:
    return build_tables(epoch_stats(), {"video": VIDEO_SLA}, warmup_ps=WARMUP)


COUNTERS = [
    "packets_sent",
    "packets_delivered",
    "packets_dropped",
    "packets_in_flight",
    "packets_failed",
]


def assert_epochs_add_up(e: pd.DataFrame, s: pd.DataFrame) -> None:
    """The epochs' counters against the run's totals (docs/results.md): what was sent,
    delivered, dropped or lost to a failure in each epoch adds up to the run's; what is in
    flight is the stock at each epoch's end (sent in, delivered and dropped out), the last
    one the run's."""
    flows = [c for c in COUNTERS if c != "packets_in_flight"]
    for level in ("group", "class"):
        rows = e[e["level"] == level].sort_values("epoch", kind="stable")
        per_epoch = rows.groupby("name", sort=False)[flows].sum()
        totals = s[s["level"] == level].set_index("name")
        pd.testing.assert_frame_equal(
            per_epoch, totals.loc[per_epoch.index, flows], check_names=False
        )
        for name, g in rows.groupby("name", sort=False):
            net = g["packets_sent"] - g["packets_delivered"] - g["packets_dropped"]
            assert list(g["packets_in_flight"]) == list(net.cumsum()), name
            assert g["packets_in_flight"].iloc[-1] == totals.loc[str(name), "packets_in_flight"]


def test_epoch_rows_sum_to_the_totals(epoch_tables: Tables) -> None:
    e, s = epoch_tables.epochs, epoch_tables.summary
    assert list(e.columns) == EPOCHS_SCHEMA.names
    assert len(e) == 3 * (3 + 2)  # every epoch: 3 groups, then 2 classes
    assert_epochs_add_up(e, s)
    groups = e[e["level"] == "group"]
    for (epoch, cls), part in groups.groupby(["epoch", "class"]):
        cls_row = e[(e["epoch"] == epoch) & (e["level"] == "class") & (e["name"] == cls)]
        for col in COUNTERS:
            assert int(cls_row[col].iloc[0]) == int(part[col].sum())


def test_epoch_spans_labels_and_warmup(epoch_tables: Tables) -> None:
    e = epoch_tables.epochs
    spans = e.drop_duplicates("epoch")
    assert list(spans["t_start_ps"]) == EPOCH_STARTS
    assert list(spans["t_end_ps"]) == [1 * S, 3 * S, 4 * S]  # the last ends at W + measured
    assert list(spans["label"]) == EPOCH_LABELS
    assert list(spans["measured_ps"]) == [S // 2, 2 * S, S]  # epoch 0 loses the warm-up
    assert spans["measured_ps"].sum() == 7 * S // 2


def test_epoch_latencies_come_from_the_epoch_histograms(epoch_tables: Tables) -> None:
    e = epoch_tables.epochs.set_index(["epoch", "level", "name"])
    north = e.xs((1, "group", "cams-north"))
    values = EPOCH_LAT["cams-north"][1]
    h = histogram_of(values)
    for col, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999), ("max", 1.0)):
        assert north[f"latency_{col}_ps"] == quantile(h, q, 1 * MS, 90 * MS)  # run's min/max
    assert north["latency_max_ps"] == pytest.approx(90 * MS, rel=0.004)  # its bucket's middle
    assert north["latency_max_ps"] <= 90 * MS  # never above the exact run maximum
    assert north["loss"] == pytest.approx(2 / 5)
    assert north["failure_loss"] == pytest.approx(1 / 5)
    # a class in an epoch: the merged histogram, not an average of its groups' percentiles
    video = e.xs((1, "class", "video"))
    merged = EPOCH_LAT["cams-north"][1] + EPOCH_LAT["cams-south"][1]
    assert video["latency_p99_ps"] == quantile(histogram_of(merged), 0.99, 1 * MS, 90 * MS)
    assert video["latency_p50_ps"] == pytest.approx(5 * MS, rel=0.004)
    assert math.isnan(e["latency_p99_ps"].loc[(1, "group", "sensors")])  # nothing emitted
    assert math.isnan(e["loss"].loc[(1, "group", "sensors")])
    south = e.xs((2, "group", "cams-south"))
    assert south["latency_p50_ps"] == pytest.approx(7 * MS, rel=0.004)


def test_hist_quantiles_equal_quantile_row_by_row() -> None:
    rng = np.random.default_rng(7)
    values = [rng.integers(0, 10**12, size=n) for n in (1, 2, 17, 1000, 0)]
    hists = np.stack([hist_or_empty(list(v)) for v in values])
    lo = np.array([float(v.min()) if v.size else math.nan for v in values])
    hi = np.array([float(v.max()) if v.size else math.nan for v in values])
    lo[2] = math.nan  # an unknown bound: no clamp on that side
    qs = [0.0, 0.5, 0.99, 0.999, 1.0]
    got = hist_quantiles(hists, qs, lo, hi)
    for r in range(len(values)):
        for k, q in enumerate(qs):
            vmin = None if math.isnan(lo[r]) else int(lo[r])
            vmax = None if math.isnan(hi[r]) else int(hi[r])
            want = quantile(hists[r], q, vmin, vmax)
            assert got[r, k] == want or (math.isnan(want) and math.isnan(got[r, k]))
    assert np.isnan(got[4]).all()
    assert hist_quantiles(hists[:0], qs).shape == (0, len(qs))


def test_epoch_link_utilisation_uses_the_measured_part(epoch_tables: Tables) -> None:
    el = epoch_tables.epoch_links
    assert list(el.columns) == EPOCH_LINKS_SCHEMA.names
    ab = el[el["link"] == "a-b"].set_index("epoch")
    assert list(ab["utilisation"]) == pytest.approx([0.2, 0.15, 0.1])  # busy / measured
    assert list(ab["throughput_bps"]) == pytest.approx([50_000 * 16, 100_000 * 4, 5_000 * 8])
    assert list(ab["fail_drops"]) == [0, 1, 0]
    links = epoch_tables.links.set_index("link")
    for link, part in el.groupby("link"):
        for col in ("bytes", "busy_ps", "drops", "fail_drops"):
            assert part[col].sum() == links[col].loc[link]
        # utilisation weighted by the measured time gives the run's
        weighted = (part["utilisation"] * part["measured_ps"]).sum() / part["measured_ps"].sum()
        assert weighted == pytest.approx(links["utilisation"].loc[link])


def test_an_epoch_inside_the_warmup_has_no_rates() -> None:
    t = build_tables(epoch_stats(), warmup_ps=S)  # epoch 0 ([0, 1 s)) is all warm-up
    el = t.epoch_links
    first = el[el["epoch"] == 0]
    assert (first["measured_ps"] == 0).all()
    assert first["utilisation"].isna().all()
    assert first["throughput_bps"].isna().all()
    assert list(t.epochs.drop_duplicates("epoch")["t_end_ps"]) == [S, 3 * S, 9 * S // 2]


def test_no_recorded_epochs_make_one_epoch_of_the_whole_run(tables: Tables) -> None:
    e, s = tables.epochs, tables.summary
    assert set(e["epoch"]) == {0}
    assert set(e["label"]) == {"start"}
    assert set(e["t_start_ps"]) == {0}
    assert set(e["t_end_ps"]) == {10**12}
    pd.testing.assert_frame_equal(
        e[[*COUNTERS, "latency_p99_ps"]], s[[*COUNTERS, "latency_p99_ps"]], check_exact=True
    )
    el = tables.epoch_links
    assert list(el["utilisation"]) == list(tables.links["utilisation"])
    assert list(el["bytes"]) == list(tables.links["bytes"])


def test_epoch_arrays_must_match_the_epochs() -> None:
    s = epoch_stats()
    s.epoch_sent = s.epoch_sent[:2]
    with pytest.raises(VidnetError, match="epoch_sent"):
        build_tables(s)
    s = epoch_stats()
    s.epoch_starts_ps = i64([0, 3 * S, S])
    with pytest.raises(VidnetError, match="increase"):
        build_tables(s)
    s = epoch_stats()
    s.epoch_failed = np.zeros((0, 0), np.int64)  # an engine without failures may omit them
    s.epoch_link_fail_drops = np.zeros((0, 0), np.int64)
    t = build_tables(s)
    assert (t.epochs["packets_failed"] == 0).all()
    s.epoch_labels = []  # labels not given: the first is "start"
    assert list(build_tables(s).epochs.drop_duplicates("epoch")["label"]) == ["start", "", ""]


# --- storage of the new tables -------------------------------------------------------------


def test_epoch_tables_round_trip_and_are_listed(epoch_tables: Tables, tmp_path: Path) -> None:
    out = write_results(tmp_path / "run", epoch_tables, {"warnings": ["traffic unreachable"]})
    back = read_results(out)
    assert_tables_equal(back, epoch_tables)
    assert back.manifest["tables"] == {name: f"{name}.parquet" for name in RUN_SCHEMAS}
    assert back.manifest["warnings"] == ["traffic unreachable"]
    for name in ("epochs", "epoch_links"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out, **read_parquet_kwargs(name)), getattr(epoch_tables, name)
        )


def test_older_run_folders_read_with_empty_epoch_tables(tables: Tables, tmp_path: Path) -> None:
    out = write_results(tmp_path / "old", tables, {})
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["tables"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    for name in ("epochs", "epoch_links"):
        (out / f"{name}.parquet").unlink()
    back = read_results(out)
    pd.testing.assert_frame_equal(back.summary, tables.summary)
    assert back.epochs.empty and list(back.epochs.columns) == EPOCHS_SCHEMA.names
    assert back.epoch_links.empty


def test_a_listed_table_that_is_missing_makes_the_run_incomplete(
    tables: Tables, tmp_path: Path
) -> None:
    out = write_results(tmp_path / "run", tables, {})
    (out / "epochs.parquet").unlink()
    with pytest.raises(ResultsNotFoundError, match=r"incomplete run folder .*epochs\.parquet"):
        read_results(out)


# --- console: classes, access links, epochs, warnings --------------------------------------


def render(t: Tables, **kwargs: Any) -> str:
    console = Console(record=True, width=160, file=io.StringIO())
    render_summary(t, console, **kwargs)
    return console.export_text()


def test_console_groups_rows_under_their_class(tables: Tables) -> None:
    lines = render(tables).splitlines()

    def at(prefix: str) -> int:
        hits = [i for i, line in enumerate(lines) if line.startswith(prefix)]
        assert len(hits) == 1, prefix
        return hits[0]

    order = [
        at(" video "),
        at("   cams-north "),
        at("   cams-south "),
        at(" telemetry "),
        at("   sensors "),
    ]
    assert order == sorted(order)
    assert "class" in lines[at(" video ")]
    assert "camera" in lines[at("   cams-north ")]
    assert "fail" not in "\n".join(lines)  # no failure: no failure-loss column


def test_console_shows_failure_loss_when_packets_were_failed() -> None:
    s = make_stats()
    s.packets_failed = i64([1, 0, 0])
    s.link_fail_drops = i64([1, 0])
    text = render(build_tables(s))
    north = next(line for line in text.splitlines() if "cams-north" in line)
    assert "1.4e-01" in north  # failure loss 1/7 next to the loss 2/7
    assert "2.9e-01" in north
    assert "fail" in text


def access_stats() -> RunStats:
    """``make_stats`` with three camera access links besides its two links."""
    s = make_stats()
    s.link_names += [f"cam[{i}]->a" for i in range(3)]
    s.link_src += [f"cam[{i}]" for i in range(3)]
    s.link_dst += ["a"] * 3
    extra = {
        "link_rate_bps": [10**8] * 3,
        "link_packets": [10, 20, 30],
        "link_bytes": [1, 2, 3],
        "link_drops": [0, 4, 1],
        "link_drop_bytes": [0, 4, 1],
        "link_busy_ps": [10**11, 7 * 10**11, 0],
        "link_peak_queue_bytes": [1, 2, 3],
        "link_peak_queue_packets": [1, 2, 3],
        "link_peak_wait_ps": [0, 0, 0],
    }
    for attr, values in extra.items():
        setattr(s, attr, np.concatenate([getattr(s, attr), i64(values)]))
    return s


def test_console_sums_up_the_access_links() -> None:
    t = build_tables(access_stats(), access_links=[f"cam[{i}]->a" for i in range(3)])
    text = render(t)
    assert "cam[1]->a" not in text
    summary = next(line for line in text.splitlines() if "access links (3)" in line)
    cells = summary.split()
    assert "70.0" in cells  # the largest utilisation
    assert "5" in cells  # drops summed
    assert "a-b" in text and "b-c" in text
    every = render(t, all_links=True)
    assert "access links (3)" not in every
    assert all(f"cam[{i}]->a" in every for i in range(3))


def test_console_prints_epochs_only_when_there_are_several(epoch_tables: Tables) -> None:
    text = render(epoch_tables)
    assert "Epochs" in text
    for label in EPOCH_LABELS:
        assert label in text
    alarm = next(line for line in text.splitlines() if "alarm on centre" in line)
    assert "a-b" in alarm  # the busiest link of the epoch, with its utilisation
    assert "15.0" in alarm
    assert "1 s" in alarm and "3 s" in alarm  # the epoch's times as prose writes them
    start = next(line for line in text.splitlines() if " start " in line)
    assert start.split()[:5] == ["0", "0", "s", "1", "s"], start  # '0 s', not '0s'
    assert "Epochs" not in render(build_tables(make_stats()))


def test_console_busiest_link_skips_access_links() -> None:
    s = epoch_stats()
    t = build_tables(s, warmup_ps=WARMUP, access_links=["a-b"])
    text = render(t)
    line = next(line for line in text.splitlines() if "alarm on centre" in line)
    assert "b-c" in line and "a-b" not in line


def test_render_warnings_prints_a_few_in_yellow() -> None:
    console = Console(record=True, width=100, file=io.StringIO())
    render_warnings([f"traffic of cam[{i}] unreachable" for i in range(8)], console, limit=3)
    text = console.export_text(clear=False)
    assert text.count("warning: traffic of") == 3
    assert "5 more warning(s)" in text
    assert "color: #808000" in console.export_html(inline_styles=True)  # rich's yellow
    quiet = Console(record=True, file=io.StringIO())
    render_warnings([], quiet)
    assert quiet.export_text() == ""


def test_summary_json_has_the_epochs(epoch_tables: Tables) -> None:
    data = json.loads(json.dumps(summary_json(epoch_tables), allow_nan=False))
    assert len(data["epochs"]) == len(epoch_tables.epochs)
    assert data["epochs"][0]["label"] == "start"


# --- epoch boundaries (timeline) and the runner's helpers ----------------------------------


def action(t_ps: int, label: str, epoch: bool = True) -> Action:
    return Action(t_ps, np.zeros(0, np.int64), label=label, epoch=epoch)


def test_epoch_bounds_labels_and_dedupe() -> None:
    actions = [
        action(0, "cams start"),
        action(3 * S, "failure of ring-1"),
        action(1 * S, "alarm on north"),
        action(3 * S, "alarm on north ends"),
        action(3 * S, "failure of ring-1"),  # the same label twice at one time: once
        action(2 * S, "reroute", epoch=False),  # not an epoch boundary
        action(5 * S, "after the end"),
        action(4 * S, ""),
    ]
    starts, labels = epoch_bounds(actions, 5 * S)
    assert starts.dtype == np.int64
    assert list(starts) == [0, 1 * S, 3 * S, 4 * S]
    assert labels == ["start", "alarm on north", "failure of ring-1; alarm on north ends", "event"]
    assert [list(x) for x in epoch_bounds([], 5 * S)] == [[0], ["start"]]


def test_epoch_bounds_with_a_report_interval() -> None:
    starts, labels = epoch_bounds([action(3 * S, "alarm")], 5 * S, 2 * S)
    assert list(starts) == [0, 2 * S, 3 * S, 4 * S]
    assert labels == ["start", "interval", "alarm", "interval"]
    starts, labels = epoch_bounds([action(2 * S, "alarm")], 4 * S, 2 * S)
    assert list(starts) == [0, 2 * S]  # 4 s is the end: no epoch starts there
    assert labels == ["start", "alarm"]  # an event at a multiple keeps its own label
    with pytest.raises(ValueError, match="positive"):
        epoch_bounds([], S, 0)


def test_too_many_epochs_are_refused_naming_the_field() -> None:
    sc = load_scenario(SMALL_TOWN)
    check_epoch_count(sc, 4, 20)  # 20 epochs x 4 groups: a few MB
    fine = sc.model_copy(
        update={
            "simulation": Simulation.model_validate(
                {**sc.simulation.model_dump(), "report_interval": MS}
            )
        }
    )
    n = fine.simulation.duration // MS
    with pytest.raises(ScenarioError, match=r"simulation\.report_interval: got '1ms'") as err:
        check_epoch_count(fine, 4, n)
    assert "GiB" in str(err.value) and "expected at least '" in str(err.value)
    with pytest.raises(ScenarioError, match="events"):
        check_epoch_count(sc, 4, n)


def test_access_links_are_the_links_leaving_cameras() -> None:
    sc = load_scenario(SMALL_TOWN)
    plan = build_plan(sc, SMALL_TOWN.parent)
    names = access_links(sc, plan)
    assert len(names) == sum(cam.count for cam in sc.cameras) == 60
    assert "north-streets[0]->agg-north" in names
    assert not any("core" in name for name in names)


# --- end to end, with the core engine ------------------------------------------------------


@pytest.mark.slow
def test_a_run_with_an_alarm_and_a_failure_has_epoch_rows(tmp_path: Path) -> None:
    """The small town for 3 s: an alarm over [1 s, 2 s), its north uplink down over
    [1.5 s, 2 s) (no protection path: a warning, and the north cameras' packets lost),
    report_interval 1 s. Oracle: the engine's per-epoch counters add up to its totals."""
    from click.testing import CliRunner

    from vidnet_sim.cli import main

    text = SMALL_TOWN.read_text()
    text = text.replace(
        'duration = "20s"\nwarmup = "1s"',
        'duration = "3s"\nwarmup = "500ms"\nreport_interval = "1s"',
    )
    text = text.replace('at = "10s"\nduration = "5s"', 'at = "1s"\nduration = "1s"')
    text = text.replace(
        "[sla.video]",
        '[[events]]\nkind = "failure"\nlink = "agg-north-core"\n'
        'at = "1500ms"\nduration = "500ms"\n\n[sla.video]',
    )
    scenario = tmp_path / "town.toml"
    scenario.write_text(text)
    out = tmp_path / "res"
    cli = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out)])
    assert cli.exit_code == 0, cli.output
    assert "warning: during the failure of 'agg-north-core'" in cli.output  # stderr is mixed in
    assert "access links (60)" in cli.output
    assert "Epochs" in cli.output
    res = read_results(out)
    assert res.manifest["warnings"] and res.manifest["epochs"] == 4
    e, s = res.epochs, res.summary
    spans = e.drop_duplicates("epoch")
    assert list(spans["t_start_ps"]) == [0, S, 3 * S // 2, 2 * S]
    assert list(spans["label"]) == [
        "start",
        "alarm on centre-square",
        "failure of agg-north-core",
        "failure of agg-north-core ends (repaired); alarm on centre-square ends",
    ]
    assert_epochs_add_up(e, s)
    north = e[(e["level"] == "group") & (e["name"] == "north-streets")].set_index("epoch")
    failed = north["packets_failed"]
    assert failed.loc[2] > 0  # the failure's own epoch
    assert failed.loc[0] == 0 and failed.loc[3] == 0
    assert row(res, "group", "north-streets")["failure_loss"] > 0
    el = res.epoch_links
    for link, part in el.groupby("link"):
        total = res.links.set_index("link").loc[link]
        for col in ("bytes", "busy_ps", "drops", "fail_drops"):
            assert part[col].sum() == total[col], (link, col)
    assert el[el["access"]]["link"].nunique() == 60


def _numbers(text: str) -> list[str]:
    """Every number printed, in order (names here hold no digits)."""
    return re.findall(r"(?<![\w.])[-+]?\d[\d.,]*(?:e[-+]\d+)?", text)


@pytest.mark.parametrize("width", [70, 100, 120])
def test_narrow_consoles_ellipsise_names_never_numbers(width: int) -> None:
    s = make_stats()
    s.group_names = ["cameras-of-the-northern-harbour-district", "south", "sensors"]
    s.link_names = ["northern-harbour-aggregation-uplink", "core-to-recorder-trunk-link"]
    s.link_src = ["northern-harbour-aggregation-switch", "core"]
    t = build_tables(s, {"video": VIDEO_SLA})
    whole = Console(record=True, width=10**6, file=io.StringIO())
    render_summary(t, whole)
    narrow = Console(record=True, width=width, file=io.StringIO())
    render_summary(t, narrow)
    text = narrow.export_text()
    assert _numbers(text) == _numbers(whole.export_text())
    tables = text.split("SLA FAIL")[0]  # the violations below name groups whole
    assert "…" in tables and "cameras-of-the-northern-harbour-district" not in tables
    wide = Console(record=True, width=width, file=io.StringIO())
    render_summary(t, wide, wide=True)
    whole_names = wide.export_text()
    assert "…" not in whole_names and "cameras-of-the-northern-harbour-district" in whole_names
