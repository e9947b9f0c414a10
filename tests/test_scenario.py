"""Scenario models and loader: valid scenarios, and every kind of bad input reported clearly."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydantic
import pytest

from vidnet_sim.errors import ScenarioError
from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario import (
    CameraGroup,
    Link,
    Scenario,
    default_bitrate_bps,
    load_scenario,
    parse_scenario_dict,
)
from vidnet_sim.scenario.groups import event_groups
from vidnet_sim.scenario.trace import TraceError, load_trace
from vidnet_sim.timeline.driver import scenario_actions

DATA = Path(__file__).parent / "data"
DOCS = Path(__file__).parent.parent / "docs" / "scenario.md"
MS = 10**9
S = 10**12

MINIMAL: dict[str, Any] = {
    "simulation": {"duration": "10s"},
    "nodes": [{"id": "agg1"}, {"id": "core"}, {"id": "cc", "kind": "control_centre"}],
    "links": [
        {"a": "agg1", "b": "core", "rate": "1Gbps", "length": "3km"},
        {"id": "uplink", "a": "core", "b": "cc", "rate": "10Gbps", "delay": "20us"},
    ],
    "cameras": [{"name": "north", "count": 3, "attach": "agg1", "destinations": ["cc"]}],
}


def scenario_with(**changes: Any) -> dict[str, Any]:
    """A deep copy of MINIMAL with top-level keys replaced."""
    data = copy.deepcopy(MINIMAL)
    data.update(copy.deepcopy(changes))
    return data


def problems_of(data: dict[str, Any], base_dir: Path | None = None) -> list[str]:
    """The rendered problems (``path: message``) of an invalid scenario."""
    with pytest.raises(ScenarioError) as info:
        parse_scenario_dict(data, source="test.toml", base_dir=base_dir)
    return [str(p) for p in info.value.problems]


def one_problem(data: dict[str, Any], base_dir: Path | None = None) -> str:
    problems = problems_of(data, base_dir)
    assert len(problems) == 1, problems
    return problems[0]


# --------------------------------------------------------------------------- valid input
def test_minimal_dict_loads_with_ints_and_defaults() -> None:
    sc = parse_scenario_dict(copy.deepcopy(MINIMAL))
    assert sc.name is None
    assert sc.description == ""
    sim = sc.simulation
    assert (sim.duration, sim.warmup, sim.seed, sim.window, sim.drain) == (
        10 * S,
        0,
        0,
        100 * MS,
        True,
    )
    conv = sc.conventions
    assert (conv.header_bytes, conv.count_in_service, conv.propagation_per_km) == (
        78,
        True,
        4_900_000,
    )
    assert [n.kind for n in sc.nodes] == ["switch", "switch", "control_centre"]
    first, uplink = sc.links
    assert first.id == "agg1-core"
    assert first.rate == 1_000_000_000 and type(first.rate) is int
    assert (first.delay, first.length) == (None, 3000)
    assert (first.buffer, first.buffer_packets, first.duplex, first.blocked) == (
        None,
        None,
        True,
        False,
    )
    assert uplink.id == "uplink" and uplink.delay == 20_000_000
    cam = sc.cameras[0]
    assert cam.access_rate == 100_000_000
    assert cam.access_buffer == 2**20
    assert (cam.codec, cam.resolution, cam.fps, cam.bitrate, cam.gop) == (
        "h264",
        "1080p",
        25.0,
        None,
        None,
    )
    assert (cam.ip_ratio, cam.p_sigma, cam.i_sigma, cam.rate_control) == (10.0, 0.3, 0.04, "vbr")
    assert (cam.max_payload, cam.header_bytes, cam.phase, cam.start, cam.stop) == (
        1400,
        None,
        "random",
        0,
        None,
    )
    assert cam.class_ == "video"
    assert cam.bitrate_bps == 3_000_000
    assert cam.gop_frames == 25
    assert (sc.routes, sc.sources, sc.events, sc.sla) == ([], [], [], {})


def test_models_are_frozen() -> None:
    sc = parse_scenario_dict(copy.deepcopy(MINIMAL))
    with pytest.raises(pydantic.ValidationError):
        sc.links[0].rate = 5  # type: ignore[misc]


def test_toml_file_loads_and_is_named_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "district-7.toml"
    path.write_text(
        """
[simulation]
duration = "1.5s"
warmup = "500ms"
seed = 7

[conventions]
header_bytes = "0B"
count_in_service = false

[[nodes]]
id = "a"
[[nodes]]
id = "b"

[[links]]
a = "a"
b = "b"
rate = "2.5Gbit/s"
buffer_packets = 100
duplex = false

[[routes]]
from = "a"
to = "b"
path = ["a", "b"]

[[sources]]
name = "probe"
kind = "cbr"
at = "a"
destinations = ["b"]
size = "1.5KB"
interval = "4.9us"
class = "control"

[[events]]
kind = "stop"
targets = ["probe"]
at = "1s"

[sla.control]
packet_latency_p999 = "1ms"
loss = 0.0
""",
        encoding="utf-8",
    )
    sc = load_scenario(path)
    assert sc.name == "district-7"
    assert sc.simulation.duration == 1_500 * MS
    assert sc.simulation.warmup == 500 * MS
    assert sc.conventions.header_bytes == 0
    assert sc.conventions.count_in_service is False
    assert sc.links[0].rate == 2_500_000_000
    assert sc.links[0].buffer_packets == 100
    assert sc.routes[0].from_ == "a"
    src = sc.sources[0]
    assert (src.size, src.interval, src.class_) == (1500, 4_900_000, "control")
    assert sc.events[0].kind == "stop" and sc.events[0].bitrate_scale == 3.0
    assert sc.sla["control"].latency_p999 == MS  # written under its old name
    assert sc.notes == [
        "sla.control.packet_latency_p999: an old name of 'latency_p999' (the summary "
        "column latency_p999_ps), accepted; write 'latency_p999'"
    ]
    assert sc.sla["control"].loss == 0.0


def test_fixture_with_trace_resolves_the_file_next_to_the_scenario() -> None:
    sc = load_scenario(DATA / "minimal.toml")
    assert sc.name == "minimal"
    trace = sc.sources[0]
    assert trace.file is not None
    assert Path(trace.file).is_absolute()
    assert Path(trace.file) == DATA / "trace_small.csv"


def test_example_in_docs_loads(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = re.search(r"## Example\s+```toml\n(.*?)```", text, re.S)
    assert example is not None
    path = tmp_path / "example.toml"
    path.write_text(example.group(1), encoding="utf-8")
    sc = load_scenario(path)
    assert sc.name == "district-3"
    assert sc.cameras[1].bitrate == 4_000_000
    assert sc.sources[0].size_dist is not None and sc.sources[0].size_dist.max == 1400
    assert sc.links[0].length == 3000


def test_python_construction_accepts_base_unit_ints_and_round_trips() -> None:
    link = Link(a="x", b="y", rate=10**9)
    assert link.id == "x-y" and link.rate == 10**9
    sc = parse_scenario_dict(copy.deepcopy(MINIMAL))
    assert Scenario.model_validate(sc.model_dump()) == sc
    assert Scenario.model_validate(sc.model_dump(by_alias=True)) == sc


def test_python_construction_still_parses_units_and_rejects_negatives() -> None:
    assert Link(a="x", b="y", rate="10Gbps").rate == 10**10  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError, match="must not be negative"):
        Link(a="x", b="y", rate=10**9, delay=-1)


@pytest.mark.parametrize(
    ("codec", "resolution", "fps", "bps"),
    [
        ("h264", "VGA", 12, 300_000),
        ("h264", "VGA", 25, 400_000),
        ("h264", "D1", 25, 600_000),
        ("h264", "720p", 12, 1_000_000),
        ("h264", "1080p", 25, 3_000_000),
        ("h264", "1080p", 6, 1_000_000),  # b12 * fps / 12
        ("h264", "1080p", 18.5, 2_500_000),  # halfway between 12 and 25
        ("h264", "1080p", 38, 4_000_000),  # extrapolated with the 12 -> 25 slope
        ("h264", "4MP", 25, 6_000_000),
        ("h264", "4K", 12, 8_000_000),
        ("h265", "1080p", 25, 2_250_000),
        ("h265", "1080p", 12, 1_500_000),
        ("h265", "4MP", 25, 4_000_000),
        ("h265", "4K", 25, 8_000_000),
        ("h265", "VGA", 25, 240_000),
        ("h265", "720p", 12, 600_000),
    ],
)
def test_default_bitrate(codec: str, resolution: str, fps: float, bps: int) -> None:
    assert default_bitrate_bps(codec, resolution, fps) == bps


def test_camera_bitrate_defaults_from_codec_table() -> None:
    cam = CameraGroup(
        name="c", count=1, attach="a", destinations=["b"], codec="h265", resolution="4K", fps=25
    )
    assert cam.bitrate_bps == 8_000_000
    assert cam.gop_frames == 25


def test_adjacent_alarms_do_not_overlap() -> None:
    events = [
        {"kind": "alarm", "targets": ["north"], "at": "1s", "duration": "2s"},
        {"kind": "alarm", "targets": ["north"], "at": "3s", "duration": "2s"},
    ]
    sc = parse_scenario_dict(scenario_with(events=events))
    assert [e.end for e in sc.events] == [3 * S, 5 * S]


# --------------------------------------------------------------------------- file errors
def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.source == str(path)
    assert f"file not found: {path}" in str(info.value)


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not a file"):
        load_scenario(tmp_path)


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[simulation]\nduration = 10s\n\n[[nodes]]\nid = "a"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.path == "line 2, column 14"
    assert "TOML syntax error" in problem.message
    assert "'duration = 10s'" in problem.message
    assert 'duration = "10s"' in problem.message  # the fix: quote the quantity


def test_toml_error_at_end_of_document(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("x = [1,\n  2,\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.path.startswith("line 2, column ")
    assert "TOML syntax error" in problem.message


def test_not_a_table() -> None:
    with pytest.raises(ScenarioError, match="expected a table of keys"):
        parse_scenario_dict([])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- field errors
def test_unknown_key_suggests_the_right_one() -> None:
    data = scenario_with(simulation={"durration": "10s"})
    problems = problems_of(data)
    assert "simulation.durration: unknown key 'durration'; did you mean 'duration'?" in problems
    assert "simulation.duration: required key 'duration' is missing" in problems


def test_unknown_top_level_and_nested_keys() -> None:
    data = scenario_with(camera=[])
    data["links"][0]["buffer_pkts"] = 10
    problems = problems_of(data)
    assert "camera: unknown key 'camera'; did you mean 'cameras'?" in problems
    assert (
        "links[0] (id=\"agg1-core\").buffer_pkts: unknown key 'buffer_pkts'; "
        "did you mean 'buffer_packets'?"
    ) in problems


def test_unknown_key_without_close_match_lists_the_keys() -> None:
    data = scenario_with(nodes=[{"id": "agg1", "zzz": 1}, {"id": "core"}, {"id": "cc"}])
    assert one_problem(data) == (
        "nodes[0] (id=\"agg1\").zzz: unknown key 'zzz'; "
        "expected one of: id, kind, district, x, y, lat, lon"
    )


def test_bad_unit_names_the_link_and_suggests() -> None:
    data = scenario_with()
    data["links"][0]["rate"] = "10gbps"
    assert one_problem(data) == (
        "links[0] (id=\"agg1-core\").rate: got '10gbps': unknown unit 'gbps': did you mean 'Gbps'?"
    )


def test_bare_number_rate_is_refused_in_a_file() -> None:
    data = scenario_with()
    data["links"][1]["rate"] = 1000
    problem = one_problem(data)
    assert problem.startswith('links[1] (id="uplink").rate: got 1000: a unit is required')
    assert "'1kbps'" in problem


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("rate", "0bps", "rate: got '0bps': must be greater than 0"),
        ("rate", "-1Gbps", "rate: got '-1Gbps': a rate must not be negative"),
        ("buffer", "0B", "buffer: got '0B': must be greater than 0"),
        ("buffer", "-64KiB", "buffer: got '-64KiB': a size must not be negative"),
        ("buffer", "1500b", "did you mean '1500B' (bytes)?"),
        ("buffer_packets", 0, "buffer_packets: got 0: must be greater than 0"),
        ("delay", "0.5ps", "not a whole number of picoseconds"),
        ("length", "1.2345km", "got '1.2345km': not a whole number of metres"),
        ("duplex", "yes", "duplex: got 'yes': expected true or false"),
    ],
)
def test_bad_link_values(key: str, value: object, expected: str) -> None:
    data = scenario_with()
    data["links"][1].pop("delay")
    data["links"][1][key] = value
    problem = one_problem(data)
    assert problem.startswith('links[1] (id="uplink").')
    assert expected in problem


def test_zero_and_negative_sizes_elsewhere() -> None:
    data = scenario_with()
    data["cameras"][0]["max_payload"] = "0B"
    data["cameras"][0]["access_buffer"] = "-1KiB"
    problems = problems_of(data)
    assert problems == [
        "cameras[0] (name=\"north\").access_buffer: got '-1KiB': a size must not be negative",
        "cameras[0] (name=\"north\").max_payload: got '0B': must be greater than 0",
    ]


def test_literal_value_suggests_the_closest() -> None:
    data = scenario_with()
    data["cameras"][0]["resolution"] = "1080P"
    data["nodes"][0]["kind"] = "swich"
    problems = problems_of(data)
    assert any(
        p.startswith("nodes[0] (id=\"agg1\").kind: got 'swich': expected one of 'switch'")
        and p.endswith("did you mean 'switch'?")
        for p in problems
    ), problems
    assert any(
        p.startswith("cameras[0] (name=\"north\").resolution: got '1080P'")
        and "did you mean '1080p'?" in p
        for p in problems
    ), problems


def test_wrong_types() -> None:
    data = scenario_with()
    data["cameras"][0]["fps"] = "25"
    data["cameras"][0]["count"] = 2.5
    data["simulation"]["seed"] = -1
    problems = problems_of(data)
    assert "simulation.seed: got -1: must be at least 0" in problems
    assert "cameras[0] (name=\"north\").fps: got '25': expected a number" in problems
    assert any(p.startswith('cameras[0] (name="north").count: got 2.5:') for p in problems)


def test_nodes_must_not_be_empty() -> None:
    assert one_problem(scenario_with(nodes=[], links=[], cameras=[])) == (
        "nodes: needs at least 1 item(s), got 0"
    )


def test_warmup_must_be_less_than_duration() -> None:
    data = scenario_with(simulation={"duration": "10s", "warmup": "10s"})
    assert one_problem(data) == "simulation.warmup: must be less than duration (10s), got 10s"


def test_link_rules() -> None:
    data = scenario_with()
    data["links"][1].update(length="1km", buffer="1MiB", buffer_packets=10, b="core")
    assert problems_of(data) == [
        "links[1] (id=\"uplink\").b: a link must join two different nodes; a and b are both 'core'",
        'links[1] (id="uplink").length: give either delay or length, not both',
        'links[1] (id="uplink").buffer_packets: give either buffer (bytes) or buffer_packets, '
        "not both",
    ]


def test_camera_stop_must_follow_start() -> None:
    data = scenario_with()
    data["cameras"][0].update(start="5s", stop="2s")
    assert one_problem(data) == (
        'cameras[0] (name="north").stop: must be later than start (5s), got 2s'
    )


def test_source_rules_per_kind() -> None:
    sources = [
        {"name": "a", "kind": "cbr", "at": "agg1", "destinations": ["cc"]},
        {
            "name": "b",
            "kind": "poisson",
            "at": "agg1",
            "destinations": ["cc"],
            "size": "100B",
            "size_dist": {"kind": "uniform", "min": "64B", "max": "1400B"},
            "rate": "1Mbps",
        },
        {"name": "c", "kind": "trace", "at": "agg1", "destinations": ["cc"], "rate": "1Mbps"},
        {
            "name": "d",
            "kind": "cbr",
            "at": "agg1",
            "destinations": ["cc"],
            "size": "100B",
            "rate": "1Mbps",
            "interval": "1ms",
        },
    ]
    problems = problems_of(scenario_with(sources=sources))
    assert problems == [
        'sources[0] (name="a").size: required for a cbr source (payload bytes)',
        'sources[0] (name="a"): a cbr source needs exactly one of rate, packet_rate, interval '
        "(none given)",
        'sources[1] (name="b"): a poisson source needs exactly one of size, size_dist '
        "(given: size, size_dist)",
        'sources[2] (name="c").file: required for a trace source (CSV or Parquet path)',
        'sources[2] (name="c").rate: not allowed for a trace source (the trace gives times and '
        "sizes)",
        'sources[3] (name="d"): a cbr source needs exactly one of rate, packet_rate, interval '
        "(given: rate, interval)",
    ]


def test_size_dist_rules() -> None:
    sources = [
        {
            "name": "u",
            "kind": "poisson",
            "at": "agg1",
            "destinations": ["cc"],
            "packet_rate": 100.0,
            "size_dist": {"kind": "uniform", "min": "1400B", "max": "64B"},
        },
        {
            "name": "c",
            "kind": "poisson",
            "at": "agg1",
            "destinations": ["cc"],
            "packet_rate": 100.0,
            "size_dist": {"kind": "choice", "values": ["64B", "1400B"], "weights": [1.0]},
        },
    ]
    assert problems_of(scenario_with(sources=sources)) == [
        'sources[0] (name="u").size_dist.max: must be at least min (1400B), got 64B',
        'sources[1] (name="c").size_dist.weights: needs one weight per value: 2 values, 1 weights',
    ]


def test_event_rules() -> None:
    events = [
        {"kind": "alarm", "targets": ["north"], "at": "1s"},
        {"kind": "start", "targets": ["north"], "at": "1s", "duration": "1s", "bitrate_scale": 2.0},
    ]
    assert problems_of(scenario_with(events=events)) == [
        'events[0] (kind="alarm").duration: required for an alarm',
        "events[1] (kind=\"start\").duration: only for an alarm or a failure, not a 'start' event",
        "events[1] (kind=\"start\").bitrate_scale: only for an alarm, not a 'start' event",
    ]


# --------------------------------------------------------------------------- cross references
def test_camera_attached_to_a_missing_node() -> None:
    data = scenario_with()
    data["cameras"][0]["attach"] = "agg"
    assert one_problem(data) == (
        "cameras[0] (name=\"north\").attach: got 'agg': no node has this id; did you mean 'agg1'?"
    )


def test_missing_destination() -> None:
    data = scenario_with()
    data["cameras"][0]["destinations"] = ["cc", "nvr"]
    assert one_problem(data) == (
        "cameras[0] (name=\"north\").destinations[1]: got 'nvr': no node has this id"
    )


def test_source_node_and_destination_checks() -> None:
    sources = [
        {
            "name": "s",
            "kind": "cbr",
            "at": "cor",
            "destinations": ["cc", "cc"],
            "size": "100B",
            "rate": "1Mbps",
        },
        {
            "name": "t",
            "kind": "cbr",
            "at": "cc",
            "destinations": ["cc"],
            "size": "100B",
            "rate": "1Mbps",
        },
    ]
    assert problems_of(scenario_with(sources=sources)) == [
        "sources[0] (name=\"s\").at: got 'cor': no node has this id; did you mean 'core'?",
        "sources[0] (name=\"s\").destinations[1]: destination 'cc' is listed twice",
        "sources[1] (name=\"t\").destinations[0]: destination 'cc' is the node the source is at",
    ]


def test_link_to_a_missing_node() -> None:
    data = scenario_with()
    data["links"][0]["b"] = "kore"
    assert one_problem(data) == (
        "links[0] (id=\"agg1-kore\").b: got 'kore': no node has this id; did you mean 'core'?"
    )


def test_route_through_unlinked_nodes() -> None:
    routes = [{"from": "agg1", "to": "cc", "path": ["agg1", "cc"]}]
    assert one_problem(scenario_with(routes=routes)) == (
        "routes[0] (from=\"agg1\", to=\"cc\").path[1]: no link from 'agg1' to 'cc'; "
        "consecutive path nodes must be joined by a link"
    )


def test_route_against_a_one_way_link() -> None:
    data = scenario_with(routes=[{"from": "cc", "to": "agg1", "path": ["cc", "core", "agg1"]}])
    data["links"][1]["duplex"] = False
    assert one_problem(data) == (
        "routes[0] (from=\"cc\", to=\"agg1\").path[1]: no link from 'cc' to 'core' "
        "(links[1] is one-way, from 'core' to 'cc'); consecutive path nodes must be joined by "
        "a link"
    )


def test_route_shape_errors() -> None:
    routes = [
        {"from": "agg1", "to": "cc", "path": ["core", "cc"]},
        {"from": "agg1", "to": "cc", "path": ["agg1", "core", "agg1", "core", "cc"]},
        {"from": "agg1", "to": "cc", "path": ["agg1", "core", "cc"]},
        {"from": "agg1", "to": "nvr", "path": ["agg1", "nvr"]},
    ]
    problems = problems_of(scenario_with(routes=routes))
    assert problems == [
        "routes[0] (from=\"agg1\", to=\"cc\").path: must start at from='agg1', starts at 'core'",
        "routes[1] (from=\"agg1\", to=\"cc\"): a second route from 'agg1' to 'cc' (also routes[0])",
        'routes[1] (from="agg1", to="cc").path[2]: the path visits \'agg1\' twice (a loop)',
        'routes[1] (from="agg1", to="cc").path[3]: the path visits \'core\' twice (a loop)',
        "routes[2] (from=\"agg1\", to=\"cc\"): a second route from 'agg1' to 'cc' (also routes[0])",
        'routes[3] (from="agg1", to="nvr").to: got \'nvr\': no node has this id',
        'routes[3] (from="agg1", to="nvr").path[1]: got \'nvr\': no node has this id',
    ]


def test_duplicates() -> None:
    data = scenario_with(
        nodes=[{"id": "agg1"}, {"id": "core"}, {"id": "cc"}, {"id": "core"}],
        sources=[
            {
                "name": "north",
                "kind": "cbr",
                "at": "agg1",
                "destinations": ["cc"],
                "size": "100B",
                "rate": "1Mbps",
            }
        ],
    )
    data["links"].append({"a": "agg1", "b": "core", "rate": "1Gbps"})
    assert problems_of(data) == [
        "nodes[3] (id=\"core\").id: duplicate node id 'core' (also nodes[1])",
        "links[2] (id=\"agg1-core\").id: duplicate link id 'agg1-core' (also links[0]); "
        "parallel links need explicit ids",
        "sources[0] (name=\"north\").name: duplicate name 'north' (also cameras[0]); camera "
        "groups and sources need distinct names",
    ]


def test_camera_node_names_must_not_collide_with_nodes() -> None:
    data = scenario_with(nodes=[*MINIMAL["nodes"], {"id": "north[2]"}])
    problem = one_problem(data)
    assert problem.startswith("cameras[0] (name=\"north\").name: camera 'north[2]'")


def test_event_targets_must_exist() -> None:
    events = [{"kind": "start", "targets": ["nort"], "at": "1s"}]
    assert one_problem(scenario_with(events=events)) == (
        "events[0] (kind=\"start\").targets[0]: got 'nort': no camera group, source, node or "
        "district has this name; did you mean 'north'?"
    )


def test_overlapping_alarms() -> None:
    sources = [
        {
            "name": "bus",
            "kind": "cbr",
            "at": "agg1",
            "destinations": ["cc"],
            "size": "100B",
            "rate": "1Mbps",
        }
    ]
    events = [
        {"kind": "alarm", "targets": ["north"], "at": "1s", "duration": "5s"},
        {"kind": "alarm", "targets": ["bus"], "at": "2s", "duration": "5s"},
        {"kind": "alarm", "targets": ["bus", "north"], "at": "5500ms", "duration": "1s"},
    ]
    problems = problems_of(scenario_with(sources=sources, events=events))
    assert problems == [
        "events[2] (kind=\"alarm\"): overlapping events: the alarm on 'north' from 5.5s to 6.5s "
        "overlaps events[0] (from 1s to 6s); alarms on a target must not overlap",
        "events[2] (kind=\"alarm\"): overlapping events: the alarm on 'bus' from 5.5s to 6.5s "
        "overlaps events[1] (from 2s to 7s); alarms on a target must not overlap",
    ]


def test_sla_class_used_by_nobody() -> None:
    data = scenario_with(sla={"vidoe": {"latency_p99": "50ms"}})
    data["sources"] = [
        {
            "name": "s",
            "kind": "cbr",
            "at": "agg1",
            "destinations": ["cc"],
            "size": "100B",
            "rate": "1Mbps",
        }
    ]
    assert one_problem(data) == (
        "sla.vidoe: class 'vidoe' is used by no camera group or source; classes in use: "
        "video, data (did you mean 'video'?)"
    )


def test_sla_values() -> None:
    data = scenario_with(sla={"video": {"loss": 1.5, "frame_latency_p99": "100"}})
    assert problems_of(data) == [
        "sla.video.frame_latency_p99: got '100': a unit is required (a bare number is "
        "ambiguous); write e.g. '100ms' or '100s'",
        "sla.video.loss: got 1.5: must be at most 1",
    ]


def test_many_problems_at_once() -> None:
    data = scenario_with(simulation={"duration": "10s", "window": "5MS"})
    data["links"][0]["rate"] = "10gbps"
    data["cameras"][0]["attach"] = "agg"  # the camera also has a bad value: still checked
    data["cameras"][0]["bitrate"] = "4mbps"
    data["cameras"][0]["destinations"] = ["cc", "nvr"]
    data["routes"] = [{"from": "agg1", "to": "cc", "path": ["agg1", "cc"]}]
    data["events"] = [
        {"kind": "alarm", "targets": ["north"], "at": "1s", "duration": "5s"},
        {"kind": "alarm", "targets": ["north"], "at": "2s", "duration": "5s"},
    ]
    with pytest.raises(ScenarioError) as info:
        parse_scenario_dict(data, source="city.toml")
    err = info.value
    paths = [p.path for p in err.problems]
    assert paths == [
        "simulation.window",
        'links[0] (id="agg1-core").rate',
        'cameras[0] (name="north").bitrate',
        'cameras[0] (name="north").attach',
        'cameras[0] (name="north").destinations[1]',
        'routes[0] (from="agg1", to="cc").path[1]',
        'events[1] (kind="alarm")',
    ]
    text = str(err)
    assert text.startswith("invalid scenario city.toml: 7 problems\n")
    assert "did you mean 'ms'?" in text and "did you mean 'Mbps'?" in text


# --------------------------------------------------------------------------- traces
def trace_scenario(file: str) -> dict[str, Any]:
    return scenario_with(
        sources=[
            {"name": "replay", "kind": "trace", "at": "agg1", "destinations": ["cc"], "file": file}
        ]
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "time,size\n0,100\n0.2,100\n0.1,100\n",
            "times must be sorted (non-decreasing): row 3 (line 4) has time 100ms, earlier than "
            "200ms in the row before",
        ),
        ("time,size\n0,100\n-0.5,100\n", "row 2 (line 3): time must not be negative, got '-0.5'"),
        (
            "time,bytes\n0,100\n",
            "missing column 'size' (payload bytes); found columns: 'time', 'bytes'",
        ),
        ("0,100\n1,100\n", "(the first line must be a header, e.g. 'time,size')"),
        (
            "time,size\n0,100\n1,0\n",
            "row 2 (line 3): size must be a positive number of bytes, got 0",
        ),
        ("time,size\n", "the trace is empty (no rows)"),
        (
            "time,size\n0.0000000000001,100\n",
            "row 1 (line 2): time '0.0000000000001' s is not a whole number of picoseconds",
        ),
        ("time,size\n0,1.5\n", "row 1 (line 2): size must be a whole number, got '1.5'"),
        ("time,time_ps,size\n0,0,1\n", "give either a 'time' or a 'time_ps' column, not both"),
    ],
)
def test_bad_trace_is_reported_at_the_source_file(
    tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / "t.csv").write_text(content, encoding="utf-8")
    problem = one_problem(trace_scenario("t.csv"), base_dir=tmp_path)
    assert problem.startswith('sources[0] (name="replay").file: ')
    assert problem.endswith(expected)


def test_missing_trace_file(tmp_path: Path) -> None:
    problem = one_problem(trace_scenario("traces/none.csv"), base_dir=tmp_path)
    assert problem == (
        f'sources[0] (name="replay").file: trace file not found: {tmp_path / "traces/none.csv"}'
    )


def test_trace_times_are_exact() -> None:
    times, sizes = load_trace(DATA / "trace_small.csv")
    assert times.dtype == np.int64 and sizes.dtype == np.int64
    assert times.tolist() == [0, 1_000_000, 20_000_000_000, 20_000_000_000]
    assert sizes.tolist() == [1400, 1400, 200, 64]


def test_trace_time_ps_and_odd_decimals(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_ps, size\n5, 10\n9223372036854775807, 1\n", encoding="utf-8")
    times, _ = load_trace(path)
    assert times.tolist() == [5, 2**63 - 1]
    path.write_text("time,size\n1e-6,10\n1234567.5,10\n", encoding="utf-8")
    times, _ = load_trace(path)
    assert times.tolist() == [1_000_000, 1_234_567_500_000_000_000]


def test_parquet_traces(tmp_path: Path) -> None:
    pd.DataFrame({"time": [0.1, 0.3], "size": [10, 20], "kind": ["I", "P"]}).to_parquet(
        tmp_path / "f.parquet"
    )
    times, sizes = load_trace(tmp_path / "f.parquet")
    assert times.tolist() == [100_000_000_000, 300_000_000_000]
    assert sizes.tolist() == [10, 20]
    pd.DataFrame({"time_ps": np.array([7, 3], dtype=np.int32), "size": [1, 1]}).to_parquet(
        tmp_path / "g.pq"
    )
    with pytest.raises(TraceError, match="row 2 has time 3ps, earlier than 7ps"):
        load_trace(tmp_path / "g.pq")


def test_trace_error_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_trace(tmp_path / "x.csv")
    assert isinstance(info.value, TraceError)
    assert info.value.source == str(tmp_path / "x.csv")


# --------------------------------------------------------------------------- one vocabulary
def test_sla_keys_are_the_summary_columns_and_old_names_are_aliases() -> None:
    sc = parse_scenario_dict(scenario_with(sla={"video": {"latency_p99": "50ms"}}))
    assert sc.sla["video"].latency_p99 == 50 * MS and sc.notes == []
    old = parse_scenario_dict(scenario_with(sla={"video": {"packet_latency_max": "80ms"}}))
    assert old.sla["video"].latency_max == 80 * MS
    assert old.notes == [
        "sla.video.packet_latency_max: an old name of 'latency_max' (the summary column "
        "latency_max_ps), accepted; write 'latency_max'"
    ]
    both = {"latency_p99": "50ms", "packet_latency_p99": "40ms"}
    assert one_problem(scenario_with(sla={"video": both})) == (
        "sla.video.packet_latency_p99: the old name of 'latency_p99', which is given too: "
        "keep one ('latency_p99')"
    )


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("latency_p90", "latency_p99"),  # not frame_latency_p99
        ("frame_latency_p90", "frame_latency_p99"),
        ("latency_mx", "latency_max"),
        ("frame_los", "frame_loss"),
    ],
)
def test_sla_key_hints_point_to_keys_of_the_same_kind(key: str, hint: str) -> None:
    problem = one_problem(scenario_with(sla={"video": {key: "50ms"}}))
    assert problem.endswith(f"unknown key {key!r}; did you mean {hint!r}?"), problem


def district_data(*events: dict[str, Any]) -> dict[str, Any]:
    """Two camera groups at agg1 (district harbour), one at agg2 (district centre)."""
    return scenario_with(
        nodes=[
            {"id": "agg1", "district": "harbour"},
            {"id": "agg2", "district": "centre"},
            {"id": "core"},
            {"id": "cc"},
        ],
        links=[
            {"a": "agg1", "b": "core", "rate": "1Gbps"},
            {"a": "agg2", "b": "core", "rate": "1Gbps"},
            {"a": "core", "b": "cc", "rate": "10Gbps"},
        ],
        cameras=[
            {"name": "quay", "count": 2, "attach": "agg1", "destinations": ["cc"]},
            {"name": "docks", "count": 1, "attach": "agg1", "destinations": ["cc"]},
            {"name": "square", "count": 1, "attach": "agg2", "destinations": ["cc"]},
        ],
        events=list(events),
    )


def alarm(target: str, at: str = "1s") -> dict[str, Any]:
    return {"kind": "alarm", "targets": [target], "at": at, "duration": "2s"}


@pytest.mark.parametrize(
    ("target", "groups"),
    [
        ("agg1", ["quay", "docks"]),
        ("harbour", ["quay", "docks"]),
        ("centre", ["square"]),
        ("quay", ["quay"]),
    ],
)
def test_events_target_a_node_or_a_district(target: str, groups: list[str]) -> None:
    sc = parse_scenario_dict(district_data(alarm(target)))
    assert event_groups(sc, sc.events[0]) == groups
    plan = build_plan(sc)
    scaled = [a for a in scenario_actions(sc, plan) if a.label.startswith("alarm on")]
    assert sorted(a.label for a in scaled) == sorted(
        [f"alarm on {g}" for g in groups] + [f"alarm on {g} ends" for g in groups]
    )
    members = {plan.sources.names[int(i)].split("[")[0] for a in scaled for i in a.sources}
    assert members == set(groups)


def test_bad_node_and_district_targets() -> None:
    data = district_data(alarm("core"), alarm("harbor", at="5s"))
    assert problems_of(data) == [
        "events[0] (kind=\"alarm\").targets[0]: got 'core': no camera group is attached at "
        "this node (a node or district target stands for the camera groups attached there)",
        "events[1] (kind=\"alarm\").targets[0]: got 'harbor': no camera group, source, node "
        "or district has this name; did you mean 'harbour'?",
    ]
    overlapping = district_data(alarm("harbour"), alarm("docks", at="2s"))
    assert "overlapping events: the alarm on 'docks'" in one_problem(overlapping)
