"""``compile_scenario``: the one way ``run`` and ``validate`` load and compile a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vidnet_sim import compile_scenario, run
from vidnet_sim.core import kernel as K  # noqa: N812
from vidnet_sim.core import limits as limits_mod
from vidnet_sim.errors import ScenarioError
from vidnet_sim.network.plan import build_plan
from vidnet_sim.runner import make_engine, with_overrides
from vidnet_sim.scenario import load_scenario

TOWN = """\
name = "town"

[simulation]
duration = "1s"
warmup = "100ms"
seed = 4

[[nodes]]
id = "edge"
[[nodes]]
id = "cc"
kind = "recorder"

[[links]]
a = "edge"
b = "cc"
rate = "1Gbps"

[[cameras]]
name = "street"
count = 3
attach = "edge"
bitrate = "4Mbps"
destinations = ["cc"]
"""

# year 3 adds a node with cameras but no link to it: that year's network cannot route them
ISLAND = """
[[growth]]
year = 3
[[growth.nodes]]
id = "island"
[[growth.cameras]]
name = "pier"
count = 2
attach = "island"
destinations = ["cc"]
"""


def write(folder: Path, text: str) -> Path:
    path = folder / "town.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_is_loaded_compiled_and_overridden(tmp_path: Path) -> None:
    file = write(tmp_path, TOWN)
    c = compile_scenario(file, seed=11, duration_ps=500 * 10**9)
    assert c.source == file and c.years == (1,)
    assert c.scenario.simulation.seed == 11
    assert c.scenario.simulation.duration == 500 * 10**9
    assert len(c.plan.sources) == 3 and len(c.plan.node_names) == 5  # edge, cc, 3 cameras
    assert c.actions  # the cameras start on the timeline
    loaded = compile_scenario(load_scenario(file))  # a loaded scenario: no file to name
    assert loaded.source is None and loaded.scenario.simulation.seed == 4


def test_every_year_is_compiled_only_when_asked(tmp_path: Path) -> None:
    file = write(tmp_path, TOWN + ISLAND)
    first = compile_scenario(file)  # year 1 alone is fine
    assert first.years == (1, 2, 3)
    with pytest.raises(ScenarioError) as err:
        compile_scenario(file, every_year=True)
    assert err.value.source == str(file)
    assert err.value.problems and all(
        p.path.startswith("growth (year 3)") for p in err.value.problems
    )
    assert "cannot be reached from 'pier[0]'" in err.value.render()


def test_an_error_of_the_network_names_the_file(tmp_path: Path) -> None:
    file = write(tmp_path, TOWN.replace('destinations = ["cc"]', 'destinations = ["nowhere"]'))
    with pytest.raises(ScenarioError) as err:
        compile_scenario(file)
    assert err.value.render().startswith(f"invalid scenario {file}: ")


def test_a_compiled_scenario_run_checks_the_core_limits_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of a compiled scenario (a sweep's point: compiled by the sweep's check) does
    not check the core's limits again: the routes' worst-case delays (about 70 ms on the
    large city) are computed once, by the compilation; a run compiling its own scenario
    checks them once too, in the engine."""
    calls: list[int] = []
    worst_paths = limits_mod._worst_paths

    def counted(*args: Any) -> Any:
        calls.append(1)
        return worst_paths(*args)

    monkeypatch.setattr(limits_mod, "_worst_paths", counted)
    compiled = compile_scenario(write(tmp_path, TOWN), duration_ps=200 * 10**9)
    assert compiled.limits is not None and len(calls) == 1
    done = run(compiled.scenario, compiled=compiled, write=False)
    assert len(calls) == 1
    again = run(compiled.scenario, write=False)
    assert len(calls) == 2
    assert done.stats.packet_hops == again.stats.packet_hops > 0


def test_an_engine_built_without_the_runner_checks_the_core_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make_engine`` (or ``CoreEngine``) refuses a plan the core cannot hold unless it is
    given the limits checked for that very plan, window and run: another plan's, or the same
    plan's for another window, is checked again."""
    compiled = compile_scenario(write(tmp_path, TOWN))
    sc, plan = compiled.scenario, compiled.plan
    monkeypatch.setattr(K, "MAX_FRAME_SLOTS", 2)  # (a camera's ring: 4 slots or more)
    make_engine(plan, sc, limits=compiled.limits)  # checked when it was compiled
    with pytest.raises(ScenarioError, match="frames of one camera in flight"):
        make_engine(plan, sc)
    with pytest.raises(ScenarioError, match="frames of one camera in flight"):
        make_engine(build_plan(sc, tmp_path), sc, limits=compiled.limits)
    longer = with_overrides(sc, window_ps=2 * sc.simulation.window)
    with pytest.raises(ScenarioError, match="frames of one camera in flight"):
        make_engine(plan, longer, limits=compiled.limits)
