"""The volume estimate (``core/volume.py``) against what the generator really sends.

Oracle: ``traffic/generate.py`` itself. For draws of hostile but valid sources (cameras of
0.01 to 240 fps, GOPs of 1 to 25, I-frames 0.01 to 100 times a P-frame, σ up to 3, motion
×0.01 and ×100 changing the GOP, 40 cameras, cbr at 1 ns, on/off sources with periods of 1 ns
and Pareto shapes down to 1.01, starts anywhere, runs of 1 ps to 3 ms), every source is
generated over the run the way the timeline switches it on and its packets are counted: no
draw may send more than :data:`UNDERCOUNT` times the estimate. Frame sizes are counted at
their means, so the draws keep σ at most 0.3: a lognormal of σ = 3 is mean-preserving but
its rare huge frames make a short run send several times its mean now and then (one frame
in 25 is over twice its mean) and far less most of the time. The two estimates that once
counted almost nothing (a run of 1 ps, which sends each camera's first frame whole; on/off
periods of 1 ns, a packet at the start of each) are checked on their own, and the window
bound refuses a run whose one window would hold hundreds of millions of packets, naming the
field, the figure and the limit (exit code 3).
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner

from hostile import motion
from vidnet_sim.cli import main
from vidnet_sim.core.volume import check_volume, most_onoff_packets, packets_per_source
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, ScenarioError
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.runner import compile_scenario
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.bounds import MAX_WINDOW_PACKETS
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.traffic.generate import generate
from vidnet_sim.traffic.sources import SourceState

#: No draw sends more than this many times the estimate (measured: 2, a 1 ps run of an
#: on/off source that starts on with probability 1/2 and is counted half a packet).
UNDERCOUNT = 2.0
#: Generation step (1 ms): the counting keeps few packets in memory at once.
STEP_PS = 10**9


def _scenario(duration_ps: int, cameras: Any = (), sources: Any = ()) -> Scenario:
    return parse_scenario_dict(
        {
            "name": "volume",
            "simulation": {"duration": f"{duration_ps}ps", "window": "1ms"},
            "nodes": [{"id": "edge"}, {"id": "nvr", "kind": "recorder"}],
            "links": [{"a": "edge", "b": "nvr", "rate": "10Gbps"}],
            "cameras": [{"attach": "edge", "destinations": ["nvr"], **c} for c in cameras],
            "sources": [{"at": "edge", "destinations": ["nvr"], **s} for s in sources],
        }
    )


def sent(plan: NetworkPlan, duration_ps: int) -> npt.NDArray[np.float64]:
    """Each source's packets in ``[0, duration_ps)``, generated as the timeline switches
    the sources on (at their start) and off (at their stop)."""
    table = plan.sources
    state = SourceState.initial(table)
    stop = np.where(table.stop_ps < 0, duration_ps, np.minimum(table.stop_ps, duration_ps))
    edges = sorted({0, duration_ps, *(int(min(t, duration_ps)) for t in table.start_ps)})
    edges = sorted({*edges, *(int(t) for t in stop)})
    total = np.zeros(len(table))
    for a, b in itertools.pairwise(edges):
        state.active[:] = (table.start_ps <= a) & (stop > a)
        for t0 in range(a, b, STEP_PS):
            out = generate(table, state, t0, min(b, t0 + STEP_PS))
            total += [len(rows) for rows in out]
    return total


def _camera(rng: random.Random) -> dict[str, Any]:
    cam = {
        "name": "c",
        "count": rng.choice([1, 5, 40]),
        "fps": rng.choice([0.01, 1, 25, 29.97, 240]),
        "bitrate": rng.choice(["8kbps", "500kbps", "4Mbps"]),
        "gop": rng.choice([1, 2, 25]),
        "ip_ratio": rng.choice([0.01, 1.0, 10.0, 100.0]),
        "p_sigma": rng.choice([0.0, 0.3]),  # (sizes near their means: see the module doc)
        "i_sigma": rng.choice([0.0, 0.3]),
        "max_payload": rng.choice(["200B", "1400B", "9000B"]),
        "phase": rng.choice(["random", "aligned"]),
    }
    if rng.random() < 0.3:
        cam["motion"] = motion(rng)
    return cam


def _source(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.3:
        interval = rng.choice(["1ns", "7ns", "1us", "1ms"])
        return {"name": "s", "kind": "cbr", "size": "100B", "interval": interval}
    return {
        "name": "s",
        "kind": "onoff",
        "size": "100B",
        "interval": rng.choice(["1ns", "1us", "1ms"]),
        "on_mean": rng.choice(["1ns", "10ns", "1us", "1ms"]),
        "off_mean": rng.choice(["1ns", "10ns", "1us", "1ms"]),
        "on_shape": rng.choice([1.01, 1.1, 1.4, 2.0, 50.0]),
        "off_shape": rng.choice([1.01, 1.4, 50.0]),
    }


def test_the_estimate_never_counts_less_than_half_what_the_generator_sends() -> None:
    """The frames, I-frames, cbr packets and on/off periods of a run counted as the
    generator sends them (sizes at their means), within a factor of 2 of its count."""
    rng = random.Random(20261206)
    checked = 0
    for _ in range(300):
        duration = rng.choice([1, 10**6, 10**9, 3 * 10**9 + 7])
        one = _camera(rng) if rng.random() < 0.5 else _source(rng)
        if rng.random() < 0.3:
            one["start"] = f"{rng.randrange(duration)}ps"
        cameras, sources = ([one], []) if "fps" in one else ([], [one])
        plan = build_plan(_scenario(duration, cameras, sources))
        estimate = packets_per_source(plan, duration)
        if estimate.sum() > 3e6:  # (a quick test)
            continue
        got, counted = sent(plan, duration).sum(), estimate.sum()
        assert got <= UNDERCOUNT * counted, (one, duration, got, counted)
        checked += 1
    assert checked > 250


def test_a_1ps_run_counts_each_camera_s_first_frame() -> None:
    """A run of 1 ps sends each camera's first frame whole (phase aligned: at 0): counted as
    a frame (an I-frame), not 10^-14 of the frames of a second."""
    cam = {"name": "c", "count": 3, "fps": 0.01, "bitrate": "8kbps", "gop": 25}
    cam |= {"ip_ratio": 100.0, "max_payload": "200B", "phase": "aligned"}
    plan = build_plan(_scenario(1, [cam]))
    got, estimate = sent(plan, 1), packets_per_source(plan, 1)
    assert (got > 1000).all()
    assert (got <= UNDERCOUNT * estimate).all() and (estimate <= UNDERCOUNT * got).all()


def test_on_off_periods_of_a_nanosecond_are_counted() -> None:
    """An on/off source sends a packet at the start of each on period: with periods of 1 ns
    (and Pareto shapes of 1.01 and 1.4, most periods far shorter than the mean) hundreds of
    millions a second where one a millisecond was counted (the hang of the hostile-input
    fuzz: its SimPy reference engine was given 2.5·10^7 packets estimated as 53)."""
    for shapes in ((1.4, 1.4), (50.0, 1.01), (1.01, 1.01)):
        src: dict[str, Any] = {"name": "s", "kind": "onoff", "size": "1500B", "interval": "1ms"}
        src |= {"on_mean": "1ns", "off_mean": "1ns", "on_shape": shapes[0]}
        src["off_shape"] = shapes[1]
        plan = build_plan(_scenario(2 * 10**9, sources=[src]))
        (got,), (estimate,) = sent(plan, 2 * 10**9), packets_per_source(plan, 2 * 10**9)
        assert got > 10**5 and got / 2 <= estimate <= 2 * got, (shapes, got, estimate)


#: 40 cameras at 0.01 fps and 8 kbit/s (frames of 100 kB) with 1-byte payloads, an alarm of
#: x100 at 0, in a run of 1 ps: the first frames hold 4·10^8 packets (the memory case of the
#: fuzz; the run's estimate was 4·10^-5 packets).
HUGE_FRAMES = """
[simulation]
duration = "1ps"

[[nodes]]
id = "edge"

[[nodes]]
id = "nvr"
kind = "recorder"

[[links]]
a = "edge"
b = "nvr"
rate = "10Gbps"

[[cameras]]
name = "cam"
count = 40
attach = "edge"
destinations = ["nvr"]
fps = 0.01
bitrate = "8kbps"
max_payload = "1B"
phase = "aligned"

[[events]]
kind = "alarm"
targets = ["cam"]
at = "0s"
duration = "1s"
bitrate_scale = 100.0
"""


def test_a_run_whose_window_holds_too_many_packets_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(HUGE_FRAMES, encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        compile_scenario(path)
    (problem,) = exc.value.problems
    assert problem.path == "simulation.window"
    assert "expected at most 2·10⁷ packets in a window" in problem.message
    assert MAX_WINDOW_PACKETS == 2 * 10**7
    assert "'cam'" in problem.message and "larger packets (max_payload)" in problem.message
    assert "a shorter window" not in problem.message  # (the frames are whole in any window)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == EXIT_INVALID_SCENARIO, result.output
    assert "simulation.window" in result.output and "Traceback" not in result.output
    # without the alarm: 4·10^6 packets, accepted
    quiet = path.read_text(encoding="utf-8").split("[[events]]")[0]
    path.write_text(quiet, encoding="utf-8")
    assert compile_scenario(path).packets == pytest.approx(4e6, rel=1e-3)


def test_the_window_bound_counts_a_window_not_the_run() -> None:
    """A cbr source at 1 ns sends 10^9 packets a second: 10^8 a window of 100 ms (refused),
    10^6 a window of 1 ms (accepted), over the same 2 s."""
    src = {"name": "s", "kind": "cbr", "size": "100B", "interval": "1ns"}
    plan = build_plan(_scenario(2 * 10**12, sources=[src]))
    shorter = r"window of 100 ms.*a shorter window \(at least 1 ms\)"
    with pytest.raises(ScenarioError, match=shorter):
        check_volume(plan, 2 * 10**12, (), 10**11)
    assert check_volume(plan, 2 * 10**12, (), 10**9) == pytest.approx(2e9)


#: An on/off source at the packet rate's limit (1 ns), on 0.1 % of the time: about 2·10⁹
#: packets in 2 000 s on average, but a run whose on periods happen to be long could send up
#: to 2·10¹² — past the 2^40 numbers of a source's packets, which the core packs under the
#: tree in a packet's key.
FAST_ONOFF = {
    "name": "burst",
    "kind": "onoff",
    "size": "100B",
    "interval": "1ns",
    "on_mean": "1us",
    "off_mean": "1ms",
    "on_shape": 1.05,
    "off_shape": 1.4,
}


def test_an_onoff_source_that_could_outnumber_its_packet_numbers_is_refused() -> None:
    """The volume check passes the run (its mean count, 2·10⁹, is under 10¹⁰), but the
    packets an on/off source may send are bounded whatever its periods: over 2^40 in 2 000
    s, refused naming the group, the figure and the limit; 1 000 s (at most 1.0·10¹²)
    accepted. The other sources' counts stay near their means, 10¹⁰ at most for a run."""
    past = _scenario(2000 * 10**12, sources=[FAST_ONOFF])
    plan = build_plan(past)
    assert check_volume(plan, past.simulation.duration) < 1e10
    assert most_onoff_packets(plan, past.simulation.duration)[0] == pytest.approx(2e12, rel=0.01)
    with pytest.raises(ScenarioError) as err:
        compile_scenario(past)
    (problem,) = err.value.problems
    assert problem.path == "group 'burst'"
    assert "up to 2·10¹² packets" in problem.message and "at most 1.1·10¹²" in problem.message
    compile_scenario(_scenario(1000 * 10**12, sources=[FAST_ONOFF]))


def test_the_onoff_bound_holds_what_heavy_tails_send() -> None:
    """The bound against generated runs (:func:`sent`) of on/off sources with intervals and
    periods of 1 ns to 1 ms and shapes down to 1.01: never exceeded."""
    rng = random.Random(11)
    for _ in range(20):
        src = _source(rng) | {"kind": "onoff"}
        src.setdefault("on_mean", "1us")
        src.setdefault("off_mean", "1us")
        src.setdefault("on_shape", 1.01)
        src.setdefault("off_shape", 1.4)
        src["interval"] = src.get("interval", "1us")
        duration = rng.choice([10**6, 10**9, 3 * 10**9])
        plan = build_plan(_scenario(duration, sources=[src]))
        assert sent(plan, duration)[0] <= most_onoff_packets(plan, duration)[0], src
