"""Bad QoS and failure input (issue: services, QoS, failures): one error per problem naming
the field's path, the bad value and what was expected; `vidnet-sim validate` exits 3."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, ScenarioError
from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario import parse_scenario_dict

BASE: dict[str, Any] = {
    "simulation": {"duration": "1s"},
    "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "cc"}],
    "links": [
        {"id": "ab", "a": "a", "b": "b", "rate": "1Gbps"},
        {"id": "bc", "a": "b", "b": "c", "rate": "1Gbps"},
        {"id": "ca", "a": "c", "b": "a", "rate": "1Gbps", "blocked": True},
        {"id": "up", "a": "a", "b": "cc", "rate": "10Gbps"},
    ],
    "cameras": [{"name": "cams", "count": 2, "attach": "b", "destinations": ["cc"]}],
    "sources": [
        {
            "name": "poll",
            "kind": "cbr",
            "at": "cc",
            "destinations": ["c"],
            "interval": "1ms",
            "size": "100B",
            "class": "signals",
        }
    ],
    "qos": {
        "scheduler": "priority",
        "queues": [
            {"name": "rt", "dscp": ["EF", "CS5"], "priority": 0},
            {"name": "rest", "dscp": ["CS3", "BE"], "priority": 1},
        ],
    },
}


def with_(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(changes))
    return data


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_dict(data, source="t.toml")
    return [str(p) for p in info.value.problems]


def test_the_base_is_valid_and_compiles_its_queues() -> None:
    plan = build_plan(parse_scenario_dict(copy.deepcopy(BASE)))
    assert plan.queue_names == ["rt", "rest"]
    assert [plan.class_queue[plan.class_names.index(c)] for c in ("video", "signals")] == [1, 0]
    assert set(plan.link_sched.tolist()) == {1}


def test_unknown_class_and_dscp_without_a_queue() -> None:
    data = with_()
    data["cameras"][0]["class"] = "vidoe"
    data["sources"][0]["class"] = "bulk"  # default class, CS1: no queue takes it
    got = problems(data)
    assert any(
        p.startswith("cameras[0] (name=\"cams\").class: unknown class 'vidoe'") for p in got
    ), got
    assert any(
        p.startswith("sources[0] (name=\"poll\").class: class 'bulk' is marked DSCP 8")
        and "no queue" in p
        for p in got
    ), got


@pytest.mark.parametrize(
    ("queue", "field", "expect"),
    [
        ({"weight": 0}, "weight", "greater than 0"),
        ({"weight": -1.5}, "weight", "greater than 0"),
        ({"dscp": ["EF", "XX1"]}, "dscp", "expected a DSCP name"),
        ({"dscp": [64]}, "dscp", "a DSCP is 0-63"),
    ],
)
def test_bad_queue_fields(queue: dict[str, Any], field: str, expect: str) -> None:
    data = with_()
    data["qos"]["queues"][1].update(queue)
    got = problems(data)
    assert any(
        (p.startswith(f'qos.queues[1] (name="rest").{field}') and expect in p)
        or (p.startswith(f"qos.queues[1].{field}") and expect in p)
        for p in got
    ), got


def test_a_dscp_taken_by_two_queues() -> None:
    data = with_()
    data["qos"]["queues"][1]["dscp"] = ["CS3", "BE", "EF"]
    assert any("DSCP 46 is already taken by queue 'rt'" in p for p in problems(data))


def test_a_scheduler_without_qos() -> None:
    data = with_()
    del data["qos"]
    data["sources"][0]["class"] = "data"
    data["links"][0]["scheduler"] = "drr"
    assert problems(data) == [
        "links[0] (id=\"ab\").scheduler: got 'drr': a drr scheduler needs queues; add a [qos] "
        "section with [[qos.queues]] (or use 'fifo')"
    ]


def test_failure_of_a_link_that_does_not_exist_and_overlaps() -> None:
    data = with_(
        events=[
            {"kind": "failure", "link": "abx", "at": "100ms", "duration": "50ms"},
            {"kind": "failure", "link": "bc", "at": "100ms", "duration": "50ms"},
            {"kind": "failure", "link": "bc", "at": "120ms", "duration": "50ms"},
            {"kind": "failure", "at": "-1ms", "duration": "0s", "link": "bc"},
        ]
    )
    got = problems(data)
    assert any(
        p.startswith("events[0] (kind=\"failure\").link: got 'abx': no link has this id")
        and "did you mean 'ab'" in p
        for p in got
    ), got
    assert any(p.startswith('events[2] (kind="failure"): overlapping events') for p in got), got
    assert any(p.startswith('events[3] (kind="failure").at') for p in got), got
    assert any(p.startswith('events[3] (kind="failure").duration') for p in got), got


def unprotected(on_unreachable: str) -> dict[str, Any]:
    data = with_(
        events=[
            {
                "kind": "failure",
                "link": "up",
                "at": "100ms",
                "duration": "50ms",
                "on_unreachable": on_unreachable,
            }
        ]
    )
    return data


def test_a_failure_without_protection_is_a_warning_or_an_error() -> None:
    plan = build_plan(parse_scenario_dict(unprotected("lose")))
    assert plan.warnings and all("has no path" in w for w in plan.warnings)
    assert any("'cams'" in w and "'cc'" in w for w in plan.warnings)
    with pytest.raises(ScenarioError) as info:
        build_plan(parse_scenario_dict(unprotected("error")))
    assert str(info.value.problems[0]).startswith("events[0]: during the failure of 'up'")


def test_validate_exits_3_without_a_traceback(tmp_path: Path) -> None:
    file = tmp_path / "bad.toml"
    file.write_text("""
[simulation]
duration = "1s"
[[nodes]]
id = "a"
[[nodes]]
id = "b"
[[links]]
a = "a"
b = "b"
rate = "1Gbps"
[[sources]]
name = "s"
kind = "cbr"
at = "a"
destinations = ["b"]
interval = "1ms"
size = "100B"
class = "voice"
[qos]
[[qos.queues]]
name = "only"
dscp = ["BE"]
weight = 0
[[events]]
kind = "failure"
link = "nope"
at = "1ms"
duration = "1ms"
""")
    res = CliRunner().invoke(main, ["validate", str(file)])
    assert res.exit_code == EXIT_INVALID_SCENARIO
    assert "Traceback" not in res.output
    for part in ("qos.queues[0]", "weight", "events[0]", "'nope'"):
        assert part in res.output, (part, res.output)
    # the classes are checked against the queues once [qos] itself is valid
    file.write_text(file.read_text().replace("weight = 0", "weight = 1"))
    res = CliRunner().invoke(main, ["validate", str(file)])
    assert res.exit_code == EXIT_INVALID_SCENARIO
    assert "sources[0] (name=\"s\").class: class 'voice' is marked DSCP 46" in res.output
