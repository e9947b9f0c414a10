"""``run``: scenario in, statistics, tables and a results folder out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vidnet_sim.core.stats import RunStats
from vidnet_sim.errors import ScenarioError
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.results import SlaTargets, Tables, build_tables, write_results
from vidnet_sim.scenario import Scenario, load_scenario
from vidnet_sim.scenario.model import Simulation
from vidnet_sim.timeline.driver import Engine, drive, scenario_actions
from vidnet_sim.traffic.sources import SourceState

EngineName = Literal["core", "reference"]


@dataclass
class RunResult:
    """What :func:`run` returns: the raw statistics, the tidy tables and where they went."""

    scenario: Scenario
    stats: RunStats
    tables: Tables
    manifest: dict[str, Any]
    out_dir: Path | None = None
    plan: NetworkPlan | None = field(default=None, repr=False)


def with_overrides(
    scenario: Scenario,
    *,
    seed: int | None = None,
    duration_ps: int | None = None,
    window_ps: int | None = None,
) -> Scenario:
    """A copy of ``scenario`` with simulation settings replaced (and re-validated)."""
    sim = scenario.simulation.model_dump()
    if seed is not None:
        sim["seed"] = seed
    if duration_ps is not None:
        sim["duration"] = duration_ps
        sim["warmup"] = min(sim["warmup"], duration_ps // 2)
    if window_ps is not None:
        sim["window"] = window_ps
    return scenario.model_copy(update={"simulation": Simulation.model_validate(sim)})


def sla_targets(scenario: Scenario) -> dict[str, SlaTargets]:
    """The scenario's SLA section as :class:`SlaTargets` per traffic class."""
    out: dict[str, SlaTargets] = {}
    for cls, sla in scenario.sla.items():
        values = sla.model_dump()
        kwargs = {
            (k if k in ("loss", "frame_loss") else f"{k}_ps"): v
            for k, v in values.items()
            if v is not None
        }
        out[cls] = SlaTargets(**kwargs)
    return out


def make_engine(
    plan: NetworkPlan, scenario: Scenario, engine: EngineName = "core", *, log: bool = False
) -> Engine:
    """A fresh engine of the given kind for ``plan`` (all sources off until the timeline)."""
    sim = scenario.simulation
    state = SourceState.initial(plan.sources)
    if engine == "reference":
        from vidnet_sim.reference import ReferenceEngine

        return ReferenceEngine(plan, state, warmup_ps=sim.warmup, end_ps=sim.duration,
                               drain=sim.drain, log=log)
    from vidnet_sim.core.engine import CoreEngine

    return CoreEngine(plan, state, warmup_ps=sim.warmup, end_ps=sim.duration, drain=sim.drain,
                      window_ps=sim.window, log=log)


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    duration_ps: int | None = None,
    engine: EngineName = "core",
    out_dir: str | Path | None = None,
    write: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Simulate a scenario (a loaded :class:`Scenario` or a path to its TOML file).

    Returns a :class:`RunResult`; unless ``write`` is false, also writes the Parquet tables
    and ``manifest.json`` to ``out_dir`` (default ``results/<scenario name>/``). Raises
    :class:`~vidnet_sim.errors.ScenarioError` for an invalid scenario, before anything is
    written.
    """
    source_path: Path | None = None
    if not isinstance(scenario, Scenario):
        source_path = Path(scenario)
        scenario = load_scenario(source_path)
    scenario = with_overrides(scenario, seed=seed, duration_ps=duration_ps)
    sim = scenario.simulation
    base_dir = source_path.parent if source_path is not None else None
    try:
        plan = build_plan(scenario, base_dir)
        actions = scenario_actions(scenario, plan)
    except ScenarioError as exc:
        raise exc.with_source(str(source_path)) if source_path is not None else exc from None
    eng = make_engine(plan, scenario, engine)
    wall0 = time.perf_counter()
    stats = drive(eng, actions, sim.duration, tick_ps=max(1, sim.duration // 100),
                  on_progress=on_progress)
    wall = time.perf_counter() - wall0
    stats.wall_seconds = wall
    tables = build_tables(stats, sla_targets(scenario))
    manifest: dict[str, Any] = {
        "scenario_name": scenario.name,
        "scenario_file": str(source_path) if source_path is not None else None,
        "scenario": scenario.model_dump(mode="json", by_alias=True),
        "seed": sim.seed,
        "engine": engine,
        "window_ps": sim.window,
        "duration_ps": sim.duration,
        "warmup_ps": sim.warmup,
        "wall_seconds": wall,
        "packet_hops": stats.packet_hops,
        "packet_hops_per_second": stats.packet_hops / wall if wall > 0 else None,
    }
    result = RunResult(scenario, stats, tables, manifest, plan=plan)
    if write:
        target = Path(out_dir) if out_dir is not None else Path("results") / str(scenario.name)
        result.out_dir = write_results(target, tables, manifest)
    return result
