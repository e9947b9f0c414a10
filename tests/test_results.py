"""Results: tidy tables from RunStats, SLA checks, Parquet round trips and rendering."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from vidnet_sim.core.histogram import N_BUCKETS, histogram_of, quantile
from vidnet_sim.core.stats import RunStats
from vidnet_sim.errors import VidnetError
from vidnet_sim.results import (
    HIST_SCHEMA,
    LINKS_SCHEMA,
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
    render_summary,
    summary_json,
    write_results,
)
from vidnet_sim.results import store as store_mod

MS = 10**9  # ps
US = 10**6

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
    )


def empty_stats() -> RunStats:
    z = np.zeros(0, dtype=np.int64)
    h = np.zeros((0, N_BUCKETS), dtype=np.int64)
    return RunStats(
        [], [], [], z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, h, h,
        [], [], [], z, z, z, z, z, z, z, z, z, measured_ps=0, packet_hops=0,
    )  # fmt: skip


VIDEO_SLA = SlaTargets(packet_latency_p99_ps=50 * MS, loss=1e-4)


@pytest.fixture
def tables() -> Tables:
    return build_tables(make_stats(), {"video": VIDEO_SLA})


def row(t: Tables, level: str, name: str) -> pd.Series:
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
    assert "latency_mean_ps" not in s.columns  # not exact from a histogram: left out


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
    assert north["sla_violations"] == "latency p99 89.9 ms > 50 ms; loss 2.9e-01 > 1.0e-04"
    south = row(tables, "group", "cams-south")
    assert bool(south["sla_ok"]) is True
    assert south["sla_violations"] == ""
    video = row(tables, "class", "video")
    assert video["sla_violations"] == "loss 1.9e-02 > 1.0e-04"  # p99 40.1 ms <= 50 ms
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
        packet_latency_p99_ps=50 * MS,
        packet_latency_max_ps=500 * US,
        loss=1e-4,
        frame_latency_p99_ps=100 * MS,
        frame_loss=0.0,
    )
    assert check_sla(r, targets) == [
        "latency p99 62.1 ms > 50 ms",
        "latency max 700 us > 500 us",
        "loss 1.2e-03 > 1.0e-04",
    ]  # no frames sent: NaN frame statistics are no violation
    assert check_sla(r, None) == []
    assert check_sla(r, SlaTargets()) == []
    assert check_sla(r, SlaTargets(packet_latency_p99_ps=62_100 * US)) == []  # equal is ok


def test_check_sla_nothing_delivered() -> None:
    targets = SlaTargets(packet_latency_p50_ps=MS, packet_latency_p99_ps=MS)
    nan_row = {"latency_p50_ps": math.nan, "latency_p99_ps": math.nan, "loss": math.nan}
    assert check_sla({**nan_row, "packets_sent": 3}, targets) == ["no packets delivered"]
    assert check_sla({**nan_row, "packets_sent": 0}, targets) == []
    frames = SlaTargets(frame_latency_p99_ps=MS)
    assert check_sla({"frames_sent": 2, "frame_latency_p99_ps": math.nan}, frames) == [
        "no frames delivered"
    ]


def test_sla_targets_validation() -> None:
    with pytest.raises(ValueError, match="int ps"):
        SlaTargets(packet_latency_p99_ps=1.5)  # type: ignore[arg-type]
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
    for df, schema in ((t.summary, SUMMARY_SCHEMA), (t.links, LINKS_SCHEMA), (t.hist, HIST_SCHEMA)):
        assert len(df) == 0
        assert list(df.columns) == schema.names
    assert str(t.summary["packets_sent"].dtype) == "int64"
    assert str(t.summary["loss"].dtype) == "float64"


# --- storage -------------------------------------------------------------------------------


def assert_tables_equal(a: Tables | store_mod.Results, b: Tables | store_mod.Results) -> None:
    for name in ("summary", "links", "hist"):
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
        "hist.parquet",
        "links.parquet",
        "manifest.json",
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
    assert list((tmp_path / "run").iterdir()) == []


def test_read_sweep_adds_run_column(tables: Tables, tmp_path: Path) -> None:
    other = build_tables(make_stats(measured_ps=2 * 10**12))
    write_results(tmp_path / "sweep" / "p1", tables, {"seed": 1})
    write_results(tmp_path / "sweep" / "run=p2", other, {"seed": 2})
    (tmp_path / "sweep" / "notes").mkdir()  # not a run: ignored
    res = read_results(tmp_path / "sweep")
    for name in ("summary", "links", "hist"):
        df = getattr(res, name)
        assert df.columns[0] == "run"
        assert str(df["run"].dtype) == str(tables.summary["name"].dtype)
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
    assert "latency p99 89.9 ms > 50 ms" in text
    assert "89.9" in text  # ms, 3 significant digits
    assert "2.9e-01" in text  # loss in scientific notation
    assert text.rstrip().endswith("SLA: 3 violation(s)")
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
