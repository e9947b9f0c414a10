"""City services (``[[services]]``) and the on/off and burst generators they use.

Oracles: exact arithmetic for periodic models (VoIP per-direction bitrate against docs/domain.md
§5's 87.2 / 31.2 kbit/s, signal polls, bulk), renewal theory for on/off sources (mean rate =
rate x E[on] / (E[on] + E[off])) and the Pareto tail, Poisson counts for IoT and web requests,
the request/response rule for web bursts, packet-for-packet equality of windowed and one-shot
generation, agreement of the core and the SimPy reference on a scenario with every service,
and clear errors (with paths, exit code 3) for bad input.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner

from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, ScenarioError
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.traffic.generate import (
    G_COLS,
    G_PAYLOAD,
    G_T,
    G_WIRE,
    gen_source,
    generate,
    state_arrays,
    table_arrays,
)
from vidnet_sim.traffic.modulation import sojourn_ps
from vidnet_sim.traffic.rng import source_key
from vidnet_sim.traffic.rows import KIND_CAMERA
from vidnet_sim.traffic.sources import SourceState

S = 10**12
MS = 10**9
I64 = npt.NDArray[np.int64]

BASE: dict[str, Any] = {
    "simulation": {"duration": "10s"},
    "nodes": [
        {"id": "site"},
        {"id": "core"},
        {"id": "cc", "kind": "control_centre"},
        {"id": "gw", "kind": "gateway"},
    ],
    "links": [
        {"a": "site", "b": "core", "rate": "1Gbps"},
        {"a": "core", "b": "cc", "rate": "10Gbps"},
        {"a": "core", "b": "gw", "rate": "10Gbps"},
    ],
}


# --------------------------------------------------------------------------- helpers
def scenario(services: list[dict[str, Any]] | None = None, **top: Any) -> Scenario:
    """BASE with ``services`` and other top-level keys, validated."""
    data = copy.deepcopy(BASE)
    if services is not None:
        data["services"] = copy.deepcopy(services)
    data.update(copy.deepcopy(top))
    return parse_scenario_dict(data)


def all_on(plan: NetworkPlan) -> SourceState:
    state = SourceState.initial(plan.sources)
    state.active[:] = True
    return state


def packets(sc: Scenario, end_ps: int) -> tuple[NetworkPlan, list[I64]]:
    """The plan and every source's packets over ``[0, end_ps)``, all sources on."""
    plan = build_plan(sc)
    return plan, generate(plan.sources, all_on(plan), 0, end_ps)


def group_rows(plan: NetworkPlan, out: list[I64], group: str) -> list[I64]:
    """The packet arrays of the rows of one statistics group."""
    g = plan.group_names.index(group)
    return [out[s] for s in range(len(plan.sources)) if plan.sources.group[s] == g]


def windowed(
    plan: NetworkPlan, state: SourceState, cuts: list[int], changes: dict[int, Any] | None = None
) -> list[I64]:
    """Every source's packets generated window by window (``cuts`` = window ends), through
    ``gen_source`` with a buffer of a few rows so that generation stops and resumes often;
    ``changes[t](state)`` is applied after the window ending at ``t``."""
    table = plan.sources
    ta, sa = table_arrays(table), state_arrays(state)
    chunks: list[list[I64]] = [[] for _ in range(len(table))]
    t0 = 0
    for t1 in cuts:
        for s in range(len(table)):
            cap = 64 if table.kind[s] == KIND_CAMERA else 3
            buf = np.empty((cap, G_COLS), np.int64)
            done = False
            while not done:
                n, done = gen_source(s, t0, t1, ta, sa, buf, 0)
                chunks[s].append(buf[:n].copy())
                if n == 0 and not done:  # a frame larger than the buffer
                    buf = np.empty((2 * len(buf), G_COLS), np.int64)
        if changes and t1 in changes:
            changes[t1](state)
        t0 = t1
    return [np.concatenate(c) for c in chunks]


def assert_windowed_equals_one_shot(sc: Scenario, end_ps: int, seed: int = 0) -> None:
    """Random windows (and tiny buffers) give the very packets one window gives."""
    plan = build_plan(sc)
    once = generate(plan.sources, all_on(plan), 0, end_ps)
    rng = np.random.default_rng(seed)
    cuts = sorted({int(x) for x in rng.integers(1, end_ps, 12)} | {end_ps})
    pieces = windowed(plan, all_on(plan), cuts)
    assert sum(len(o) for o in once) > 0
    for s, (a, b) in enumerate(zip(once, pieces, strict=True)):
        assert np.array_equal(a, b), plan.sources.names[s]


def wire_bits(rows: list[I64]) -> int:
    return int(sum(int(r[:, G_WIRE].sum()) for r in rows)) * 8


# --------------------------------------------------------------------------- groups
def test_groups_per_service_and_direction() -> None:
    sc = scenario(
        [
            {"name": "phones", "kind": "voip", "at": "site", "destinations": ["cc"], "calls": 2},
            {"name": "ap", "kind": "wifi", "at": "site", "destinations": ["gw"], "users": 3},
            {"name": "lora", "kind": "iot", "at": "site", "destinations": ["cc"], "uplinks": 5},
            {
                "name": "ntcip",
                "kind": "signals",
                "at": "site",
                "destinations": ["cc"],
                "controllers": 2,
                "bidirectional": False,
            },
            {
                "name": "portal",
                "kind": "web",
                "at": "site",
                "destinations": ["gw"],
                "users": 2,
                "class": "data",
            },
            {
                "name": "backup",
                "kind": "bulk",
                "at": "site",
                "destinations": ["cc"],
                "rate": "10Mbps",
            },
        ]
    )
    plan = build_plan(sc)
    assert plan.group_names == [
        "phones:up",
        "phones:down",
        "ap:down",
        "ap:up",
        "lora",
        "ntcip",
        "portal:down",
        "portal:up",
        "backup",
    ]
    assert plan.group_kinds == [
        "voip",
        "voip",
        "wifi",
        "wifi",
        "iot",
        "signals",
        "web",
        "web",
        "bulk",
    ]
    assert plan.group_classes == [
        "voice",
        "voice",
        "wifi",
        "wifi",
        "iot",
        "signals",
        "data",
        "data",
        "bulk",
    ]
    src = plan.sources
    for s in range(len(src)):  # up: from `at` to the destinations; down: back to `at`
        group = plan.group_names[int(src.group[s])]
        if group.endswith(":down") or group == "ntcip":
            assert src.destinations[s] == ["site"] and src.origin_nodes[s] in ("cc", "gw")
        else:
            assert src.origin_nodes[s] == "site" and src.destinations[s] in (["cc"], ["gw"])
    # 2 calls x 2 directions, 3 users x 2, 1 iot row, 2 poll rows, requests + responses, bulk
    assert len(src) == 4 + 6 + 1 + 2 + 2 + 1


def test_a_service_switches_on_at_start_and_off_at_stop() -> None:
    from vidnet_sim.runner import run

    sc = scenario(
        [
            {
                "name": "backup",
                "kind": "bulk",
                "at": "site",
                "destinations": ["cc"],
                "rate": "8Mbps",
                "size": "922B",
                "start": "1s",
                "stop": "3s",
            }
        ],
        simulation={"duration": "4s"},
    )
    stats = run(sc, write=False).stats
    wire = 922 + 78
    interval = wire * 8 * S // 8_000_000  # exactly 1 ms
    assert stats.packets_sent.tolist() == [2 * S // interval]


# --------------------------------------------------------------------------- voip
@pytest.mark.parametrize(("codec", "kbps"), [("g711", 87_200), ("g729", 31_200)])
def test_voip_bitrate_per_direction_is_domains_figure(codec: str, kbps: int) -> None:
    # docs/domain.md §5 counts RTP/UDP/IP 40 B + Ethernet header and FCS 18 B per packet
    calls, end = 7, 3 * S  # a whole number of 20 ms packet times
    sc = scenario(
        [
            {
                "name": "v",
                "kind": "voip",
                "at": "site",
                "destinations": ["cc"],
                "calls": calls,
                "codec": codec,
            }
        ],
        conventions={"header_bytes": "58B"},
    )
    plan, out = packets(sc, end)
    for group in ("v:up", "v:down"):
        rows = group_rows(plan, out, group)
        assert len(rows) == calls
        # exact: bits x 1e12 == rate x calls x duration
        assert wire_bits(rows) * S == kbps * calls * end
        for r in rows:
            gaps = np.diff(r[:, G_T])
            assert set(gaps.tolist()) == {20 * MS}
            assert 0 <= r[0, G_T] < 20 * MS  # a random phase inside one packet time
    phases = {int(r[0, G_T]) for r in out}
    assert len(phases) == len(out)  # independent phases for each call and direction


def test_voip_with_the_default_header_counts_preamble_and_gap() -> None:
    sc = scenario([{"name": "v", "kind": "voip", "at": "site", "destinations": ["cc"], "calls": 1}])
    plan, out = packets(sc, S)
    assert wire_bits(group_rows(plan, out, "v:up")) == 50 * (160 + 78) * 8  # 95.2 kbit/s


# --------------------------------------------------------------------------- on/off
def onoff_sources(n: int, shape: float) -> list[dict[str, Any]]:
    return [
        {
            "name": f"u{i}",
            "kind": "onoff",
            "at": "site",
            "destinations": ["cc"],
            "size": "250B",
            "interval": "2ms",
            "on_mean": "200ms",
            "off_mean": "600ms",
            "on_shape": shape,
            "off_shape": shape,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("shape", "n", "seconds", "tolerance"),
    [
        (2.5, 10, 1000, 0.04),  # finite variance: close to the mean
        (1.5, 40, 2500, 0.08),  # heavy tails: slow convergence (12 seeds gave at most 4.1 %)
    ],
)
def test_onoff_mean_rate(shape: float, n: int, seconds: int, tolerance: float) -> None:
    sc = scenario(sources=onoff_sources(n, shape), conventions={"header_bytes": "0B"})
    _, out = packets(sc, seconds * S)
    # 500 packets/s while on, on a fraction 200 / (200 + 600) of the time
    expected = 500 * 200 / (200 + 600) * seconds * n
    assert sum(len(o) for o in out) == pytest.approx(expected, rel=tolerance)
    for o in out:  # CBR while on: packets 2 ms apart inside a period, never closer
        assert np.diff(o[:, G_T]).min() == 2 * MS


def test_pareto_sojourns_have_the_mean_and_the_tail() -> None:
    key = source_key(3, "pareto")
    mean, a = 0.2 * S, 1.4
    xm = mean * (a - 1) / a
    x = np.array([sojourn_ps(key, c, mean, a) for c in range(1, 200_001)], np.float64)
    assert x.min() >= round(xm)
    for mult in (2, 5, 20, 100):  # P(X > m x_m) = m^-a, binomial 4-sigma bands
        p = mult**-a
        sd = math.sqrt(p * (1 - p) / len(x))
        assert abs(np.mean(x > mult * xm) - p) < 4 * sd
    y = np.array([sojourn_ps(key, c, mean, 0.0) for c in range(1, 200_001)], np.float64)
    assert y.mean() == pytest.approx(mean, rel=4 / math.sqrt(len(y)))  # exponential
    assert np.mean(y > mean) == pytest.approx(math.exp(-1), abs=0.005)


def test_wifi_users_share_one_on_off_process_for_both_directions() -> None:
    sc = scenario(
        [
            {
                "name": "ap",
                "kind": "wifi",
                "at": "site",
                "destinations": ["gw"],
                "users": 4,
                "profile": "hd",
                "on_mean": "300ms",
                "off_mean": "300ms",
            }
        ]
    )
    plan, out = packets(sc, 20 * S)
    down, up = group_rows(plan, out, "ap:down"), group_rows(plan, out, "ap:up")
    interval_down = -(-(1460 + 78) * 8 * S // 5_000_000)  # HD: 5 Mbit/s while on
    for d, u in zip(down, up, strict=True):
        assert np.diff(d[:, G_T]).min() in (interval_down, interval_down - 1)

        def starts(rows: I64, gap: int) -> set[int]:
            t = rows[:, G_T]
            return {int(t[0])} | {int(v) for v in t[1:][np.diff(t) > gap]}

        # the on periods start at the same instants in both directions
        common = starts(d, 2 * interval_down) & starts(u, 20 * interval_down)
        assert len(common) >= 0.9 * len(starts(d, 2 * interval_down)) > 10
    assert {int(r[0, G_PAYLOAD]) for r in down} == {1460}
    assert {int(r[0, G_PAYLOAD]) for r in up} == {64}


# --------------------------------------------------------------------------- iot
def test_iot_is_poisson_at_gateways_times_uplinks() -> None:
    end = 200 * S
    sc = scenario(
        [
            {
                "name": "lora",
                "kind": "iot",
                "at": "site",
                "destinations": ["cc"],
                "gateways": 4,
                "uplinks": 12.5,
            }
        ]
    )
    _, out = packets(sc, end)
    (rows,) = out
    expected = 4 * 12.5 * 200
    assert abs(len(rows) - expected) < 4 * math.sqrt(expected)
    size = rows[:, G_PAYLOAD]
    assert size.min() >= 51 and size.max() <= 242
    assert size.mean() == pytest.approx((51 + 242) / 2, abs=4 * 56 / math.sqrt(len(size)))
    gaps = np.diff(rows[:, G_T]) / S
    assert np.mean(gaps > 1 / 50) == pytest.approx(math.exp(-1), abs=0.02)  # exponential


# --------------------------------------------------------------------------- signals
def test_signal_polls_and_responses_are_exactly_periodic() -> None:
    sc = scenario(
        [
            {
                "name": "sig",
                "kind": "signals",
                "at": "site",
                "destinations": ["cc"],
                "controllers": 5,
                "response_delay": "30ms",
                "start": "1s",
            }
        ]
    )
    plan, out = packets(sc, 11 * S)
    polls, responses = group_rows(plan, out, "sig:down"), group_rows(plan, out, "sig:up")
    for p, r in zip(polls, responses, strict=True):
        assert len(p) == len(r) == 10
        assert set(np.diff(p[:, G_T]).tolist()) == {S}
        assert S <= p[0, G_T] < 2 * S
        assert np.array_equal(r[:, G_T], p[:, G_T] + 30 * MS)
        assert set(p[:, G_PAYLOAD].tolist()) == {100} and set(r[:, G_PAYLOAD].tolist()) == {300}


# --------------------------------------------------------------------------- web
def test_web_responses_are_bursts_answering_the_requests() -> None:
    users, end = 20, 60 * S
    sc = scenario(
        [
            {
                "name": "web",
                "kind": "web",
                "at": "site",
                "destinations": ["gw"],
                "users": users,
                "response_delay": "5ms",
            }
        ]
    )
    plan, out = packets(sc, end)
    (req,), (resp,) = group_rows(plan, out, "web:up"), group_rows(plan, out, "web:down")
    n = 20
    spacing = -(-(1460 + 78) * 8 * S // 10**10)  # back to back at the gateway's 10 Gbit/s
    t_req = req[:, G_T]
    # burst k: n packets spacing apart, from max(request k + delay, end of burst k - 1)
    free = 0
    expected = []
    for t in t_req:
        start = max(int(t) + 5 * MS, free)
        expected += [start + j * spacing for j in range(n)]
        free = expected[-1] + spacing
    expected_t = np.array(expected, np.int64)
    expected_t = expected_t[expected_t < end]
    assert np.array_equal(resp[:, G_T], expected_t)
    # about 1 Mbit/s per user downstream (docs/domain.md §5), Poisson in the number of requests
    per_user = 10**6 / (8 * n * (1460 + 78))
    k = users * per_user * 60
    assert abs(len(req) - k) < 4 * math.sqrt(k)
    assert set(req[:, G_PAYLOAD].tolist()) == {500}


# --------------------------------------------------------------------------- bulk
def test_bulk_is_a_capped_cbr_between_start_and_stop() -> None:
    sc = scenario(
        [
            {
                "name": "export",
                "kind": "bulk",
                "at": "site",
                "destinations": ["cc"],
                "rate": "100Mbps",
                "start": "2s",
                "stop": "4s",
            }
        ]
    )
    plan = build_plan(sc)
    (row,) = generate(plan.sources, all_on(plan), 0, 4 * S)  # stop is the timeline's
    interval = (1460 + 78) * 8 * S // 10**8
    assert (1460 + 78) * 8 * S % 10**8 == 0
    assert set(np.diff(row[:, G_T]).tolist()) == {interval}
    assert row[0, G_T] == 2 * S and len(row) == -(-2 * S // interval)  # k = 0, 1, ... < 2 s
    assert plan.sources.stop_ps.tolist() == [4 * S]


# --------------------------------------------------------------------------- windows
EVERY_SERVICE: list[dict[str, Any]] = [
    {"name": "v", "kind": "voip", "at": "site", "destinations": ["cc", "gw"], "calls": 2},
    {
        "name": "w",
        "kind": "wifi",
        "at": "site",
        "destinations": ["gw"],
        "users": 3,
        "on_mean": "50ms",
        "off_mean": "80ms",
    },
    {"name": "i", "kind": "iot", "at": "site", "destinations": ["cc"], "uplinks": 300},
    {
        "name": "s",
        "kind": "signals",
        "at": "site",
        "destinations": ["cc"],
        "controllers": 3,
        "interval": "100ms",
    },
    {
        "name": "web",
        "kind": "web",
        "at": "site",
        "destinations": ["gw", "cc"],
        "users": 30,
        "response_rate": "200Mbps",
    },
    {"name": "b", "kind": "bulk", "at": "site", "destinations": ["cc"], "rate": "20Mbps"},
]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_windowed_generation_equals_one_shot_for_every_service(seed: int) -> None:
    sc = scenario(
        EVERY_SERVICE, sources=onoff_sources(2, 1.3), simulation={"duration": "2s", "seed": seed}
    )
    assert_windowed_equals_one_shot(sc, 2 * S, seed)


def test_core_and_reference_agree_on_every_service() -> None:
    from vidnet_sim.reference import stats_differences
    from vidnet_sim.runner import run

    services = copy.deepcopy(EVERY_SERVICE)
    services[-1]["start"], services[-1]["stop"] = "200ms", "600ms"
    data = copy.deepcopy(BASE)
    data["links"][0]["rate"] = "100Mbps"  # the site's uplink queues
    data.update(services=services, simulation={"duration": "1s", "window": "30ms"})
    sc = parse_scenario_dict(data)
    core = run(sc, engine="core", write=False).stats
    ref = run(sc, engine="reference", write=False).stats
    assert stats_differences(core, ref) == []
    assert min(core.packets_sent) > 0


# --------------------------------------------------------------------------- bad input
def problems(services: list[dict[str, Any]]) -> list[str]:
    data = copy.deepcopy(BASE)
    data["services"] = services
    with pytest.raises(ScenarioError) as info:
        parse_scenario_dict(data, source="test.toml")
    return [str(p) for p in info.value.problems]


def test_unknown_kind() -> None:
    assert problems([{"name": "x", "kind": "voice", "at": "site", "destinations": ["cc"]}]) == [
        "services[0] (name=\"x\").kind: got 'voice': expected one of 'voip', 'wifi', "
        "'iot', 'signals', 'web', 'bulk'; did you mean 'voip'?"
    ]


@pytest.mark.parametrize("users", [0, -3])
def test_users_must_be_positive(users: int) -> None:
    assert problems(
        [{"name": "wifi", "kind": "wifi", "at": "site", "destinations": ["gw"], "users": users}]
    ) == [f'services[0] (name="wifi").users: got {users}: must be at least 1']


def test_bad_codec_suggests_the_closest() -> None:
    assert problems(
        [
            {
                "name": "v",
                "kind": "voip",
                "at": "site",
                "destinations": ["cc"],
                "calls": 1,
                "codec": "g7111",
            }
        ]
    ) == [
        "services[0] (name=\"v\").codec: got 'g7111': expected one of 'g711', 'g729'; "
        "did you mean 'g711'?"
    ]


def test_unknown_destination_and_origin_nodes() -> None:
    assert problems(
        [{"name": "v", "kind": "voip", "at": "sight", "destinations": ["cc", "ccc"], "calls": 1}]
    ) == [
        "services[0] (name=\"v\").at: got 'sight': no node has this id; did you mean 'site'?",
        "services[0] (name=\"v\").destinations[1]: got 'ccc': no node has this id; did you "
        "mean 'cc'?",
    ]


def test_kind_rules() -> None:
    assert problems(
        [
            {"name": "a", "kind": "voip", "at": "site", "destinations": ["cc"], "users": 3},
            {
                "name": "b",
                "kind": "iot",
                "at": "site",
                "destinations": ["site"],
                "uplinks": 1,
                "bidirectional": True,
                "size_min": "300B",
            },
            {
                "name": "c",
                "kind": "wifi",
                "at": "site",
                "destinations": ["gw"],
                "users": 1,
                "profile": "hd",
                "rate": "1Mbps",
                "on_shape": 1.0,
            },
            {"name": "a", "kind": "bulk", "at": "site", "destinations": ["cc"], "rate": "1Mbps"},
        ]
    ) == [
        "services[0] (name=\"a\").users: only for kind 'wifi', 'web', not 'voip'",
        'services[0] (name="a").calls: required for a voip service',
        "services[1] (name=\"b\").bidirectional: only for kind 'voip', 'wifi', 'signals', "
        "'web', not 'iot'",
        'services[1] (name="b").size_max: must be at least size_min (300B), got 242B',
        'services[2] (name="c").on_shape: got 1.0: must be greater than 1',
        "services[1] (name=\"b\").destinations[0]: destination 'site' is the node the service "
        "is at",
        "services[3] (name=\"a\").name: duplicate name 'a' (also services[0]); camera groups, "
        "sources and services need distinct names",
    ]


def test_group_names_must_not_collide() -> None:
    data = copy.deepcopy(BASE)
    data["services"] = [
        {"name": "v", "kind": "voip", "at": "site", "destinations": ["cc"], "calls": 1}
    ]
    data["sources"] = [
        {
            "name": "v:up",
            "kind": "cbr",
            "at": "site",
            "destinations": ["cc"],
            "size": "100B",
            "rate": "1Mbps",
        }
    ]
    with pytest.raises(ScenarioError) as info:
        parse_scenario_dict(data)
    assert [str(p) for p in info.value.problems] == [
        "services[0] (name=\"v\"): its results group 'v:up' has the name of another group "
        '(also sources[0] (name="v:up")); rename one of them'
    ]


def test_validate_exits_3_naming_the_field(tmp_path: Path) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(
        '[simulation]\nduration = "1s"\n[[nodes]]\nid = "a"\n[[nodes]]\nid = "b"\n'
        '[[links]]\na = "a"\nb = "b"\nrate = "1Gbps"\n'
        '[[services]]\nname = "wifi"\nkind = "wifi"\nat = "a"\ndestinations = ["b"]\n'
        "users = 0\n"
    )
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == EXIT_INVALID_SCENARIO
    assert 'services[0] (name="wifi").users: got 0: must be at least 1' in result.output


# --------------------------------------------------------------------------- docs
def test_the_examples_in_the_docs_load_and_compile(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "docs" / "scenario.md").read_text(encoding="utf-8")
    blocks = {}
    for title in (
        "## `[[services]]`",
        "### Several streams per camera",
        "### Motion",
        "### Day and night",
    ):
        after = text[text.index(title) :]
        blocks[title] = after[after.index("```toml\n") + 8 : after.index("```\n", 8)]
    nodes = ["agg1", "agg2", "cc", "gw", "dc", "ap-square", "recorder", "op1", "op2"]
    network = (
        '[simulation]\nduration = "1s"\n'
        + "".join(f'[[nodes]]\nid = "{n}"\n' for n in nodes)
        + "".join(f'[[links]]\na = "{n}"\nb = "cc"\nrate = "10Gbps"\n' for n in nodes if n != "cc")
    )
    cams = blocks["### Several streams per camera"].replace(
        "[[cameras.streams]]", "[[cameras.streams]]", 1
    )
    head, first_stream = cams.split("[[cameras.streams]]", 1)
    cams = (
        head
        + blocks["### Motion"]
        + blocks["### Day and night"]
        + "[[cameras.streams]]"
        + first_stream
    )
    file = tmp_path / "docs.toml"
    file.write_text(network + blocks["## `[[services]]`"] + cams, encoding="utf-8")
    from vidnet_sim.scenario import load_scenario

    sc = load_scenario(file)
    plan = build_plan(sc)
    assert [s.kind for s in sc.services] == ["voip", "wifi", "iot", "signals", "web", "bulk"]
    assert sc.cameras[0].motion is not None and sc.cameras[0].day_night is not None
    assert "north/live" in plan.group_names and "phones:up" in plan.group_names
