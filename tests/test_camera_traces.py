"""Camera groups replaying recorded traces (``[[cameras]]`` with ``trace`` or ``trace_dir``).

Oracles: the same traces written as hand-built ``trace`` sources, one per camera with its own
node and access link (the way such a group had to be built before), give exactly the same
packets and statistics; the core matches the SimPy reference engine packet for packet; a
CBR-like trace gives its analytic throughput and storage rate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from vidnet_sim.analysis.bill.price import nominal_storage
from vidnet_sim.analysis.estimates import estimate
from vidnet_sim.analysis.vary import AnalysisInputError, load_raw, make_vary
from vidnet_sim.cli import main
from vidnet_sim.core.stats import RunStats
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, ScenarioError
from vidnet_sim.reference import stats_differences
from vidnet_sim.runner import RunResult, run
from vidnet_sim.scenario import Scenario, load_scenario, parse_scenario_dict
from vidnet_sim.scenario.groups import camera_streams, camera_traces
from vidnet_sim.scenario.growth import scenario_for_year
from vidnet_sim.scenario.trace import load_camera_traces

HEADER = """
[simulation]
duration = "{duration}"
warmup = "{warmup}"
seed = {seed}
window = "{window}"

[[nodes]]
id = "agg"
[[nodes]]
id = "nvr"
kind = "recorder"

[[links]]
a = "agg"
b = "nvr"
rate = "{core_rate}"
length = "1km"
buffer = "20000B"
"""

GROUP = """
[[cameras]]
name = "north"
count = {count}
attach = "agg"
{trace_key} = "{path}"
loop = {loop}
access_rate = "{access_rate}"
access_length = "200m"
access_buffer = "{access_buffer}"
destinations = ["nvr"]
"""


def header(**kw: object) -> str:
    values: dict[str, object] = {
        "duration": "300ms",
        "warmup": "20ms",
        "seed": 1,
        "window": "10ms",
        "core_rate": "20Mbps",
    }
    return HEADER.format(**{**values, **kw})


def camera_rows(n_cameras: int, seed: int = 0) -> pd.DataFrame:
    """A capture of ``n_cameras`` cameras: bursts of 1400-byte packets (frames), 40 ms apart,
    with random sizes and offsets, sorted by time as a capture is."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_cameras):
        off = int(rng.integers(0, 40_000))
        for k in range(5):
            n = int(rng.integers(1, 12))
            for j in range(n):
                size = 1400 if j < n - 1 else int(rng.integers(50, 1401))
                rows.append((f"cam{c}", off + 40_000 * k + 100 * j, size))
    frame = pd.DataFrame(rows, columns=["camera", "us", "size"])
    frame = frame.sort_values(["us", "camera"], kind="stable", ignore_index=True)
    frame["time"] = [f"{u // 10**6}.{u % 10**6:06d}" for u in frame["us"]]
    return frame[["camera", "time", "size"]]


def trace_group(folder: Path, frame: pd.DataFrame, *, loop: bool = True, **kw: object) -> str:
    """A scenario whose group ``north`` replays ``frame`` (written to ``folder``)."""
    frame.to_csv(folder / "north.csv", index=False)
    values: dict[str, object] = {
        "count": frame["camera"].nunique(),
        "trace_key": "trace",
        "path": "north.csv",
        "loop": str(loop).lower(),
        "access_rate": "10Mbps",
        "access_buffer": "6000B",
    }
    group = {k: kw.pop(k) for k in list(kw) if k in values}
    return header(**kw) + GROUP.format(**{**values, **group})


def hand_built(folder: Path, frame: pd.DataFrame, *, loop: bool = True, **kw: object) -> str:
    """The same traces as one ``trace`` source per camera, each at its own node joined to
    ``agg`` by its own one-way link (named as the group's cameras and access links are)."""
    text = header(**kw)
    for i, (_, rows) in enumerate(frame.groupby("camera", sort=True)):
        rows[["time", "size"]].to_csv(folder / f"cam{i}.csv", index=False)
        text += (
            f'[[nodes]]\nid = "north[{i}]"\n'
            f'[[links]]\na = "north[{i}]"\nb = "agg"\nrate = "10Mbps"\nlength = "200m"\n'
            'buffer = "6000B"\nduplex = false\n'
            f'[[sources]]\nname = "s{i}"\nkind = "trace"\nat = "north[{i}]"\n'
            f'destinations = ["nvr"]\nclass = "video"\nfile = "cam{i}.csv"\n'
            f"loop = {str(loop).lower()}\n"
        )
    return text


def load(folder: Path, text: str) -> Scenario:
    (folder / "s.toml").write_text(text, encoding="utf-8")
    return load_scenario(folder / "s.toml")


def simulate(scenario: Scenario, **kw: Any) -> RunResult:
    return run(scenario, write=False, **kw)


def merged_groups(s: RunStats) -> dict[str, Any]:
    """The group statistics of ``s`` summed over its groups (one camera group, or the hand
    built sources)."""
    return {
        "sent": s.packets_sent.sum(),
        "delivered": s.packets_delivered.sum(),
        "dropped": s.packets_dropped.sum(),
        "in_flight": s.packets_in_flight.sum(),
        "bytes": s.bytes_delivered.sum(),
        "payload": s.payload_bytes_delivered.sum(),
        "jitter": (s.jitter_sum_ps.sum(), s.jitter_count.sum()),
        "latency": (s.latency_min_ps.min(), s.latency_max_ps.max(), sum(s.latency_sum_ps)),
        "hist": s.packet_hist.sum(axis=0).tolist(),
        "frames": s.frames_sent.sum(),
    }


def link_stats(s: RunStats) -> dict[str, tuple[int, ...]]:
    fields = (
        "link_packets",
        "link_bytes",
        "link_drops",
        "link_drop_bytes",
        "link_busy_ps",
        "link_peak_queue_bytes",
        "link_peak_queue_packets",
        "link_peak_wait_ps",
        "link_wait_sum_ps",
    )
    return {
        name: tuple(int(getattr(s, f)[k]) for f in fields) for k, name in enumerate(s.link_names)
    }


# --------------------------------------------------------------------------- oracles
@pytest.mark.parametrize("loop", [True, False])
def test_group_equals_hand_built_trace_sources(tmp_path: Path, loop: bool) -> None:
    frame = camera_rows(3)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    group = simulate(load(tmp_path / "a", trace_group(tmp_path / "a", frame, loop=loop)))
    by_hand = simulate(load(tmp_path / "b", hand_built(tmp_path / "b", frame, loop=loop)))
    g, h = group.stats, by_hand.stats
    assert g.group_names == ["north"] and h.group_names == ["s0", "s1", "s2"]
    assert merged_groups(g) == merged_groups(h)
    assert link_stats(g) == link_stats(h)
    assert (g.packet_hops, g.measured_ps) == (h.packet_hops, h.measured_ps)
    assert merged_groups(g)["dropped"] > 0  # the access buffers overflow: drops compared too
    assert merged_groups(g)["frames"] == 0  # a packet trace has no frames
    egress = [w for w in group.warnings if "own egress buffer" in w]
    assert len(egress) == 1 and "its recorded traces send bursts larger than that" in egress[0]
    # packet by packet (the same trees, in the same order)
    gp = simulate(group.scenario, packets=True).packets
    hp = simulate(by_hand.scenario, packets=True).packets
    assert gp is not None and hp is not None and len(gp) == merged_groups(g)["sent"]
    pd.testing.assert_frame_equal(gp.drop(columns="group"), hp.drop(columns="group"))


def test_core_matches_the_reference_engine(tmp_path: Path) -> None:
    text = trace_group(tmp_path, camera_rows(3, seed=5), duration="150ms", window="7ms")
    text += '[[cameras]]\nname = "south"\ncount = 2\nattach = "agg"\ndestinations = ["nvr"]\n'
    scenario = load(tmp_path, text)
    core = simulate(scenario).stats
    ref = simulate(scenario, engine="reference").stats
    assert stats_differences(core, ref) == []
    assert core.packets_dropped[0] > 0 and core.packets_sent[1] > 0


def test_cbr_trace_gives_the_analytic_throughput(tmp_path: Path) -> None:
    # one camera: 1000-byte payloads every 1 ms (a 10-packet capture, looped): 1000 packets/s
    frame = pd.DataFrame({"camera": "c", "time": [f"0.{k:03d}" for k in range(10)], "size": 1000})
    text = trace_group(
        tmp_path, frame, duration="1s", warmup="100ms", core_rate="1Gbps", access_rate="1Gbps"
    )
    scenario = load(tmp_path, text)
    cam = scenario.cameras[0]
    assert camera_streams(cam)[0].bitrate_bps == 8_000_000  # payload: 8 kbit x 1000 /s
    result = simulate(scenario)
    row = result.tables.summary.set_index("name").loc["north"]
    wire_bits = (1000 + 78) * 8
    assert row["packets_sent"] == 900 and row["packets_dropped"] == 0  # 100 ms to 1 s
    assert row["throughput_bps"] == pytest.approx(wire_bits * 1000, rel=1e-12)
    assert row["goodput_bps"] == pytest.approx(8_000_000, rel=1e-12)
    assert row["latency_max_ps"] == row["latency_min_ps"]  # never queued
    assert row["kind"] == "camera" and np.isnan(row["frame_latency_p99_ps"])
    storage = result.storage
    assert storage is not None
    assert storage["bytes_per_day"].tolist() == [pytest.approx(1e6 * 86_400)]
    # the bill's storage (no simulation) and the fast estimates use the trace's mean rate
    assert nominal_storage(scenario)["bytes_per_day"].tolist() == [pytest.approx(1e6 * 86_400)]
    links = estimate(scenario).links.set_index("link")
    assert links.loc["north[0]->agg", "mean_bps"] == pytest.approx(wire_bits * 1000, rel=1e-12)


def test_the_replay_does_not_depend_on_the_seed(tmp_path: Path) -> None:
    scenario = load(tmp_path, trace_group(tmp_path, camera_rows(2)))
    first = simulate(scenario, seed=1).stats
    assert stats_differences(first, simulate(scenario, seed=1).stats) == []
    assert stats_differences(first, simulate(scenario, seed=99).stats) == []


def test_downstream_results_of_a_trace_group(tmp_path: Path) -> None:
    text = trace_group(tmp_path, camera_rows(2), core_rate="1Gbps")
    result = simulate(load(tmp_path, text), explain=True)
    parts = result.latency_parts
    assert parts is not None
    north = parts[(parts["level"] == "group") & (parts["name"] == "north")]
    assert north["access"].any() and north["packets"].sum() > 0  # its access hop is named
    assert set(result.tables.links["link"]) >= {"north[0]->agg", "north[1]->agg"}
    assert result.storage is not None and result.storage["group"].tolist() == ["north"]


# --------------------------------------------------------------------------- reading traces
def test_one_file_per_camera_in_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "north"
    folder.mkdir()
    pd.DataFrame({"time": ["0", "0.001"], "size": [100, 200]}).to_csv(folder / "b.csv", index=False)
    times = [5 * 10**9, 6 * 10**9, 7 * 10**9]  # 5, 6, 7 ms
    pd.DataFrame({"time_ps": times, "size": [1, 2, 3]}).to_parquet(folder / "a.parquet")
    (folder / "notes.txt").write_text("not a trace")
    traces = load_camera_traces(folder, folder=True)
    assert traces.labels == ("a.parquet", "b.csv")
    assert traces.times[0].tolist() == times
    assert traces.sizes[1].tolist() == [100, 200]
    text = trace_group(tmp_path, camera_rows(1)).replace(
        'trace = "north.csv"', 'trace_dir = "north/"'
    )
    scenario = load(tmp_path, text.replace("count = 1", "count = 2"))
    assert camera_traces(scenario.cameras[0]).labels == ("a.parquet", "b.csv")
    assert simulate(scenario).stats.packets_sent[0] > 0


def test_camera_order_numeric_then_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"camera": [10, 2, 10, 2], "time_ps": [0, 0, 5, 9], "size": [1, 2, 3, 4]})
    frame.to_parquet(tmp_path / "t.parquet")
    traces = load_camera_traces(tmp_path / "t.parquet")
    assert traces.labels == ("2", "10")
    assert traces.sizes[0].tolist() == [2, 4] and traces.times[1].tolist() == [0, 5]


# --------------------------------------------------------------------------- bad input
def problems_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_bad_traces_are_scenario_errors(tmp_path: Path) -> None:
    good = trace_group(tmp_path, camera_rows(2))
    where = 'cameras[0] (name="north")'
    missing = problems_of(tmp_path, good.replace("north.csv", "nope.csv"))
    assert f"{where}.trace: trace file not found: {tmp_path / 'nope.csv'}" in missing
    no_dir = problems_of(tmp_path, good.replace('trace = "north.csv"', 'trace_dir = "caps"'))
    assert f"{where}.trace_dir: trace folder not found" in no_dir
    count = problems_of(tmp_path, good.replace("count = 2", "count = 3"))
    assert (
        f"{where}.count: got 3: {tmp_path / 'north.csv'} holds 2 camera(s) ('camera' values: "
        "'cam0', 'cam1'); count must equal the number of cameras in the trace"
    ) in count
    pd.DataFrame({"time": [0], "size": [1]}).to_csv(tmp_path / "north.csv", index=False)
    no_column = problems_of(tmp_path, good)
    assert "missing column 'camera' (one value per camera); found columns: 'time', 'size'" in (
        no_column
    )
    (tmp_path / "north.csv").write_text("camera,time,size\n")
    assert "the trace is empty (no rows)" in problems_of(tmp_path, good)
    (tmp_path / "north.csv").write_text("camera,time,size\na,0.5,10\n ,0.6,10\n")
    assert "row 2 (line 3): camera is empty (each row names its camera)" in problems_of(
        tmp_path, good
    )
    (tmp_path / "north.csv").write_text("camera,time,size\na,0.5,10\nb,0.1,10\na,0.2,10\n")
    unsorted = problems_of(tmp_path, good)
    assert (
        "times of camera 'a' must be sorted (non-decreasing): row 3 (line 4) has time 200ms, "
        "earlier than 500ms in row 1 (line 2)"
    ) in unsorted


def test_keys_that_do_not_apply_to_a_replay(tmp_path: Path) -> None:
    good = trace_group(tmp_path, camera_rows(2))
    where = 'cameras[0] (name="north")'
    text = good.replace("loop = true", 'loop = true\nbitrate = "4Mbps"\nfps = 12\n')
    text = text.replace('attach = "agg"', 'attach = "agg"\nmotion = { bitrate_scale = 2.0 }')
    out = problems_of(tmp_path, text)
    assert "not with trace: the recorded trace gives every packet's time and payload size" in out
    for key in ("bitrate", "fps", "motion"):
        assert f"{where}.{key}" in out
    both = problems_of(tmp_path, good.replace("loop = true", 'loop = true\ntrace_dir = "x"'))
    assert f"{where}.trace_dir: give either trace (one file with a 'camera' column)" in both
    plain = header() + '[[cameras]]\nname = "c"\ncount = 1\nattach = "agg"\n'
    plain += 'destinations = ["nvr"]\nloop = true\n'
    assert 'cameras[0] (name="c").loop: only with trace or trace_dir' in problems_of(
        tmp_path, plain
    )


def test_a_replay_round_trips_as_a_model(tmp_path: Path) -> None:
    scenario = load(tmp_path, trace_group(tmp_path, camera_rows(2)))
    assert Scenario.model_validate(scenario.model_dump()) == scenario
    assert Scenario.model_validate(scenario.model_dump(by_alias=True)) == scenario


def test_an_alarm_cannot_scale_a_replay(tmp_path: Path) -> None:
    good = trace_group(tmp_path, camera_rows(2))
    alarm = '[[events]]\nkind = "alarm"\ntargets = ["{}"]\nat = "50ms"\nduration = "10ms"\n'
    out = problems_of(tmp_path, good + alarm.format("north"))
    assert "events[0] (kind=\"alarm\").targets[0]: got 'north': camera group 'north' replays" in out
    via_node = problems_of(tmp_path, good + alarm.format("agg"))
    assert "got 'agg' (it stands for camera group 'north')" in via_node
    stop = '[[events]]\nkind = "stop"\ntargets = ["north"]\nat = "50ms"\n'
    assert load(tmp_path, good + stop).events[0].kind == "stop"  # start/stop apply


def test_validate_reports_a_bad_trace(
    tmp_path: Path, write_text: Callable[[Path, str], Path]
) -> None:
    text = trace_group(tmp_path, camera_rows(2)).replace("count = 2", "count = 5")
    f = write_text(tmp_path / "bad.toml", text)
    result = CliRunner().invoke(main, ["validate", str(f)])
    assert result.exit_code == EXIT_INVALID_SCENARIO
    assert "count: got 5:" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------- growth
def test_growth_resolves_paths_and_keeps_a_replay_count(tmp_path: Path) -> None:
    sub = tmp_path / "caps"
    sub.mkdir()
    camera_rows(2).to_csv(sub / "east.csv", index=False)
    base = trace_group(tmp_path, camera_rows(3))
    growth = (
        '[[growth]]\nyear = 2\nscale_cameras = 2.0\n[[growth.cameras]]\nname = "east"\n'
        'count = 2\nattach = "agg"\ntrace = "caps/east.csv"\ndestinations = ["nvr"]\n'
    )
    scenario = load(tmp_path, base + growth)
    y2 = scenario_for_year(scenario, 2)
    assert [(c.name, c.count) for c in y2.cameras] == [("north", 3), ("east", 2)]
    assert Path(str(y2.cameras[1].trace)) == sub / "east.csv"
    named = base + growth.replace("scale_cameras = 2.0", "scale_cameras = { north = 2.0 }")
    out = problems_of(tmp_path, named)
    assert "count: got 6:" in out and "(in year 2 of the growth plan)" in out


def test_example_scenario_is_a_replay() -> None:
    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "trace-cameras.toml")
    north = scenario.cameras[0]
    assert north.replays_trace and north.count == len(camera_traces(north)) == 4
    assert 1_700_000 < camera_streams(north)[0].bitrate_bps < 2_100_000  # about 2 Mbit/s


def test_curves_leave_a_replay_alone() -> None:
    file = Path(__file__).parent.parent / "scenarios" / "trace-cameras.toml"
    data, base_dir = load_raw(file)
    more = make_vary(data, "cameras")
    assert more.current == 20  # the modelled group only
    grown = parse_scenario_dict(more.apply(data, 40), base_dir=base_dir)
    assert [(c.name, c.count) for c in grown.cameras] == [("north", 4), ("south", 40)]
    faster = parse_scenario_dict(make_vary(data, "bitrate").apply(data, 2.0), base_dir=base_dir)
    assert faster.cameras[0].bitrate is None and faster.cameras[1].bitrate == 6_000_000
    only_replays = {**data, "cameras": data["cameras"][:1]}
    with pytest.raises(AnalysisInputError, match="replaying recorded traces keep their count"):
        make_vary(only_replays, "cameras")
