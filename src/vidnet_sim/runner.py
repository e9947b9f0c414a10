"""``run``: scenario in, statistics, tables and a results folder out."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import ValidationError

from vidnet_sim.core.engine import CoreEngine, LogSink
from vidnet_sim.core.histogram import N_BUCKETS
from vidnet_sim.core.limits import FrameNeeds, check_limits
from vidnet_sim.core.split import split_links
from vidnet_sim.core.stats import RunStats
from vidnet_sim.core.volume import check_volume
from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.reference import ReferenceEngine
from vidnet_sim.results import (
    SlaTargets,
    Tables,
    build_tables,
    check_run_folder,
    check_writable,
    default_run_dir,
    write_results,
)
from vidnet_sim.results.atomic import StagingFolder
from vidnet_sim.results.caveats import Caveat, override_caveats, run_caveats
from vidnet_sim.results.latency_parts import LatencyPartsSums
from vidnet_sim.results.packet_hops import PACKET_HOPS_SCHEMA
from vidnet_sim.results.packet_stream import PacketLogStream
from vidnet_sim.results.packets import PacketsWriter, group_trees
from vidnet_sim.results.storage import storage_manifest, storage_table, with_storage
from vidnet_sim.results.store import PACKET_HOPS_FILE, PACKETS_FILE, read_run
from vidnet_sim.scenario import Scenario, load_scenario
from vidnet_sim.scenario.groups import camera_name
from vidnet_sim.scenario.growth import plan_years, scenario_for_year
from vidnet_sim.scenario.load import section_problems
from vidnet_sim.scenario.model import Simulation
from vidnet_sim.scenario.units import format_time
from vidnet_sim.timeline.driver import (
    Action,
    Engine,
    drive,
    epoch_bounds,
    scenario_actions,
)
from vidnet_sim.traffic.sources import SourceState

EngineName = Literal["core", "reference"]

#: Largest memory the per-epoch latency histograms of a run may take (epochs x groups x
#: buckets x 8 bytes); a finer ``simulation.report_interval`` is refused.
EPOCH_HIST_BUDGET_BYTES = 1 << 30


@dataclass
class RunResult:
    """What :func:`run` returns: the raw statistics, the tidy tables and where they went."""

    scenario: Scenario
    stats: RunStats
    tables: Tables
    manifest: dict[str, Any]
    out_dir: Path | None = None
    plan: NetworkPlan | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)  # every warning (also in the manifest)
    #: Recording storage per recorder and camera group (:mod:`vidnet_sim.results.storage`)
    storage: pd.DataFrame | None = field(default=None, repr=False)
    #: the warnings that can change what the SLA verdict means (in ``warnings`` too)
    sla_caveats: list[str] = field(default_factory=list)
    #: where latency comes from (``run(explain=True)``), else None
    latency_parts: pd.DataFrame | None = field(default=None, repr=False)
    #: the per-packet table of a run not written (``run(packets=True, write=False)``)
    held_packets: pd.DataFrame | None = field(default=None, repr=False)
    #: the per-hop table of a run not written (``run(hops=True, write=False)``)
    held_packet_hops: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def packets(self) -> pd.DataFrame | None:
        """The per-packet table (``run(packets=True)``), else None. A written run streamed
        it to its folder's ``packets.parquet`` as it went, without holding it: it is read
        from there (once) when asked for."""
        if self.held_packets is None and self.out_dir is not None and "packets" in self.manifest:
            self.held_packets = read_run(self.out_dir).packets
        return self.held_packets

    @property
    def packet_hops(self) -> pd.DataFrame | None:
        """The per-hop table (``run(hops=True)``), else None; like :attr:`packets`, read
        from the run folder when asked for."""
        if self.held_packet_hops is None and self.out_dir is not None and "hops" in self.manifest:
            self.held_packet_hops = read_run(self.out_dir).packet_hops
        return self.held_packet_hops


def with_overrides(
    scenario: Scenario,
    *,
    seed: int | None = None,
    duration_ps: int | None = None,
    window_ps: int | None = None,
) -> Scenario:
    """A copy of ``scenario`` with simulation settings replaced (and re-validated: a
    :class:`ScenarioError` names a setting out of its bounds)."""
    sim = scenario.simulation.model_dump()
    if seed is not None:
        sim["seed"] = seed
    if duration_ps is not None:
        sim["duration"] = duration_ps
        sim["warmup"] = min(sim["warmup"], duration_ps // 2)
    if window_ps is not None:
        sim["window"] = window_ps
    try:
        simulation = Simulation.model_validate(sim)
    except ValidationError as exc:  # e.g. a duration of more windows than the bound
        times = ("duration", "warmup", "window", "report_interval")
        shown = {k: format_time(v) if k in times and v is not None else v for k, v in sim.items()}
        raise ScenarioError(section_problems(exc, "simulation", shown)) from None
    return scenario.model_copy(update={"simulation": simulation})


@dataclass(frozen=True)
class CompiledScenario:
    """A scenario ready to simulate: what :func:`compile_scenario` returns."""

    scenario: Scenario  #: with the overrides applied
    plan: NetworkPlan  #: its compiled network
    actions: list[Action]  #: its timeline (events and failures as engine actions)
    source: Path | None  #: the TOML file it was loaded from, if any
    years: tuple[int, ...]  #: the years of its growth plan (``(1,)`` without one)
    packets: float = 0.0  #: about how many packets a run sends (:func:`check_volume`)
    original: Scenario | None = None  #: before the overrides (``None``: the same)
    #: what the core's limits check returned (:func:`check_limits`; ``None``: not checked)
    limits: FrameNeeds | None = None

    def caveats(self) -> list[Caveat]:
        """What the overrides left out of the run (events after its end, a shorter
        warm-up): :func:`~vidnet_sim.results.caveats.override_caveats`."""
        return override_caveats(self.original or self.scenario, self.scenario)


def compile_scenario(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    duration_ps: int | None = None,
    core_limits: bool = True,
    every_year: bool = False,
) -> CompiledScenario:
    """Load (from a path) and compile a scenario: its network plan, its timeline and, with
    ``core_limits``, what the Numba core's packed fields can hold.

    With ``every_year``, the network of each later year of the growth plan is compiled and
    checked too (routes, failures, limits), its problems named ``growth (year N): <field>``.
    Raises one :class:`~vidnet_sim.errors.ScenarioError` naming the file (and every problem
    of the later years together) for a scenario that cannot be simulated.
    """
    source = None if isinstance(scenario, Scenario) else Path(scenario)
    base_dir = source.parent if source is not None else None

    def compile_year(sc: Scenario) -> tuple[NetworkPlan, list[Action], float, FrameNeeds | None]:
        sim = sc.simulation
        plan = build_plan(sc, base_dir)
        actions = scenario_actions(sc, plan)
        alarms = [(a.t_ps, a.sources, a.scale) for a in actions if a.scale is not None]
        packets = check_volume(plan, sim.duration, alarms, sim.window)
        limits = check_limits(plan, sim.window, sim.duration) if core_limits else None
        return plan, actions, packets, limits

    try:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        original = scenario
        scenario = with_overrides(scenario, seed=seed, duration_ps=duration_ps)
        plan, actions, packets, limits = compile_year(scenario)
    except ScenarioError as exc:
        raise exc.with_source(str(source)) if source is not None else exc from None
    years = tuple(plan_years(scenario))
    problems: list[Problem] = []
    for year in years[1:] if every_year else ():
        try:
            compile_year(scenario_for_year(scenario, year))
        except ScenarioError as exc:
            problems += [
                Problem(
                    f"growth (year {year}): {p.path}" if p.path else f"growth (year {year})",
                    p.message,
                )
                for p in exc.problems
            ]
    if problems:
        raise ScenarioError(problems, str(source) if source is not None else "")
    return CompiledScenario(scenario, plan, actions, source, years, packets, original, limits)


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


#: The core's threads: 1, 2, or "auto" (:func:`auto_threads` chooses).
Threads = int | Literal["auto"]


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def auto_threads(plan: NetworkPlan, sim: Simulation) -> int:
    """The core's threads for ``plan`` run as ``sim`` says: 2 when this process may use two
    CPUs and the network's cut in two pays by its estimate (``Split.pays``: an estimated
    speed-up of 1.4 or more, at least 0.5 ms of work per pipeline step, 10 ms in the whole
    run), else 1."""
    if available_cpus() < 2:
        return 1
    split = split_links(plan, sim.window, duration_ps=sim.duration)
    return 2 if split is not None and split.pays(sim.window, sim.duration) else 1


def make_engine(
    plan: NetworkPlan,
    scenario: Scenario,
    engine: EngineName = "core",
    *,
    log: bool = False,
    epochs: npt.NDArray[np.int64] | None = None,
    log_sink: LogSink | None = None,
    threads: Threads = 1,
    limits: FrameNeeds | None = None,
) -> Engine:
    """A fresh engine of the given kind for ``plan`` (all sources off until the timeline).

    ``epochs``: start times of the epochs the engine counts separately (docs/model.md
    rule 14; from :func:`~vidnet_sim.timeline.driver.epoch_bounds`); ``None``: one epoch.
    ``log_sink``: with ``log``, what takes the packet log as the run goes (the core's
    window by window, the reference's whole at the end; see
    :class:`~vidnet_sim.core.engine.CoreEngine`). ``threads``: the core's threads (1 or 2:
    the network cut in two parts, one step apart; the results are the same), or
    ``"auto"``: :func:`auto_threads`. ``limits``: what the core's limits check returned for
    ``plan`` (:attr:`CompiledScenario.limits`), not checked again by the core.
    """
    sim = scenario.simulation
    if threads == "auto":
        threads = 1 if log else auto_threads(plan, sim)
    state = SourceState.initial(plan.sources)
    if engine == "reference":
        return ReferenceEngine(
            plan,
            state,
            warmup_ps=sim.warmup,
            end_ps=sim.duration,
            drain=sim.drain,
            log=log,
            epochs=epochs,
            log_sink=log_sink,
        )

    return CoreEngine(
        plan,
        state,
        warmup_ps=sim.warmup,
        end_ps=sim.duration,
        drain=sim.drain,
        window_ps=sim.window,
        log=log,
        epochs=epochs,
        log_sink=log_sink,
        threads=threads,
        limits=limits,
    )


def progress_tick(sim: Simulation, windows: int = 1) -> int:
    """How often a run reports its progress: about a hundredth of its duration, rounded down
    to whole windows (at least one), so that the core's windows are not cut short at each
    report (the results do not depend on where windows end; the speed does); with
    ``windows``, whole multiples of that many windows (a two-thread core's pipeline step,
    ``CoreEngine.step_windows``: no step is cut short either)."""
    unit = sim.window * windows
    return max(unit, sim.duration // 100 // unit * unit)


def check_epoch_count(scenario: Scenario, n_groups: int, n_epochs: int) -> None:
    """Refuse a run whose per-epoch latency histograms would exceed
    :data:`EPOCH_HIST_BUDGET_BYTES` (a :class:`ScenarioError` naming the field at fault)."""
    per_epoch = max(1, n_groups) * N_BUCKETS * 8
    if n_epochs <= 1 or n_epochs * per_epoch <= EPOCH_HIST_BUDGET_BYTES:
        return
    sim = scenario.simulation
    need = f"{n_epochs * per_epoch / 2**30:.1f} GiB"
    budget = f"{EPOCH_HIST_BUDGET_BYTES / 2**30:g} GiB"
    if sim.report_interval is None:
        raise ScenarioError(
            Problem(
                "events",
                (
                    f"{n_epochs} event times cut the run into as many epochs; their latency "
                    f"histograms ({n_groups} groups each) would need {need}, more than {budget}"
                ),
            )
        )
    n_max = max(1, EPOCH_HIST_BUDGET_BYTES // per_epoch)
    shortest = -(-sim.duration // n_max)
    raise ScenarioError(
        Problem(
            "simulation.report_interval",
            (
                f"got '{format_time(sim.report_interval)}': {n_epochs} epochs of latency "
                f"histograms for {n_groups} groups would need {need}, more than {budget}; "
                f"expected at least '{format_time(shortest)}' (fewer events leave room for more)"
            ),
        )
    )


def access_links(scenario: Scenario, plan: NetworkPlan) -> list[str]:
    """Names of the cameras' access links (the links leaving a camera node)."""
    cameras = {camera_name(cam, i) for cam in scenario.cameras for i in range(cam.count)}
    return [
        name
        for name, src in zip(plan.link_names, plan.link_src, strict=True)
        if plan.node_names[int(src)] in cameras
    ]


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    duration_ps: int | None = None,
    engine: EngineName = "core",
    out_dir: str | Path | None = None,
    write: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    packets: bool = False,
    sample: float | None = None,
    packet_groups: Sequence[str] | None = None,
    hops: bool = False,
    explain: bool = False,
    threads: Threads = 1,
    compiled: CompiledScenario | None = None,
) -> RunResult:
    """Simulate a scenario (a loaded :class:`Scenario` or a path to its TOML file).

    ``on_phase`` is told ``"start-up"`` before the engine loads (or, the first time on a
    machine, compiles) its kernels and ``"simulation"`` when it starts simulating; neither
    that start-up nor anything before it counts in the run's ``wall_seconds``.

    With ``packets`` (or a ``sample`` share in (0, 1], ``packet_groups`` or ``hops``, which
    imply it) the engine logs every packet and the run gets the per-packet table
    (:mod:`vidnet_sim.results.packets`), written as ``packets.parquet`` as the packets
    settle, window by window (:mod:`vidnet_sim.results.packet_stream`: the memory it takes
    grows with the packets in flight, not with the run; ``RunResult.packets`` reads it back
    when asked). ``packet_groups`` (statistics group names; ``None``: every group) keeps
    only those groups' packets, ``sample`` that share of them; an unknown group raises
    :class:`~vidnet_sim.results.packets.UnknownGroupError` before the run starts. With
    ``hops`` the run also gets the per-hop table of the same packets
    (:mod:`vidnet_sim.results.packet_hops`, ``packet_hops.parquet``,
    ``RunResult.packet_hops``). With ``explain`` it logs them too and the run gets the
    ``latency_parts`` table (where each group's latency comes from:
    :mod:`vidnet_sim.results.latency_parts`, summed window by window), written as
    ``latency_parts.parquet``. ``threads``: the core's threads (1, 2 or ``"auto"``, see
    :func:`make_engine`; a packet log runs on one). ``compiled``: ``scenario`` already
    compiled (its :class:`CompiledScenario`, whose ``scenario`` it is), not compiled again.

    Returns a :class:`RunResult`; unless ``write`` is false, also writes the Parquet tables
    and ``manifest.json`` to ``out_dir`` (default ``results/<scenario name>/``, the name made a
    safe file name), replacing the run there in one step. Raises
    :class:`~vidnet_sim.errors.ScenarioError` for an invalid scenario, before anything is
    written.
    """
    compiled = _compiled(scenario, compiled, seed, duration_ps)
    scenario, plan, actions = compiled.scenario, compiled.plan, compiled.actions
    source_path = compiled.source
    sim = scenario.simulation
    try:
        interval = sim.report_interval
        n_events = len(epoch_bounds(actions, sim.duration)[0])
        n_ticks = 0 if interval is None else (sim.duration - 1) // interval
        check_epoch_count(scenario, len(plan.group_names), n_events + n_ticks)  # at most
        epoch_starts, epoch_labels = epoch_bounds(actions, sim.duration, interval)
        if sample is not None and not 0 < sample <= 1:
            raise ValueError(f"sample must be in (0, 1], got {sample}")
        packets = packets or sample is not None or packet_groups is not None or hops
        stream = (
            PacketLogStream(
                plan,
                warmup_ps=sim.warmup,
                end_ps=sim.duration,
                drain=sim.drain,
                sample=sample,
                trees=group_trees(plan, packet_groups),
            )
            if packets or explain
            else None
        )
        eng = make_engine(
            plan,
            scenario,
            engine,
            log=stream is not None,
            epochs=epoch_starts,
            log_sink=stream,
            threads=threads,
            limits=compiled.limits,
        )
    except ScenarioError as exc:
        raise exc.with_source(str(source_path)) if source_path is not None else exc from None
    target = Path(out_dir) if out_dir is not None else default_run_dir(scenario.name)
    if write:
        check_run_folder(target)  # before simulating, not after
        check_writable(target.parent, target)
    access = access_links(scenario, plan)
    with contextlib.ExitStack() as cleanup:
        # the per-packet table is written as the run goes, into the folder that then
        # replaces the run folder whole
        staging = cleanup.enter_context(StagingFolder(target)) if write and packets else None
        if stream is not None:
            if packets:
                stream.packets = PacketsWriter(staging.file(PACKETS_FILE) if staging else None)
            if hops:
                stream.hops = PacketsWriter(
                    staging.file(PACKET_HOPS_FILE) if staging else None, PACKET_HOPS_SCHEMA
                )
            if explain:
                stream.parts = LatencyPartsSums(plan, access_links=set(access))
        if on_phase is not None:
            on_phase("start-up")
        wall0 = time.perf_counter()
        eng.prepare()  # the kernels' start-up is reported apart from the simulation's speed
        wall1 = time.perf_counter()
        if on_phase is not None:
            on_phase("simulation")
        step = eng.step_windows if isinstance(eng, CoreEngine) else 1
        tick = progress_tick(sim, step)
        stats = drive(eng, actions, sim.duration, tick_ps=tick, on_progress=on_progress)
        wall = time.perf_counter() - wall1
        stats.wall_seconds = wall
        if len(stats.epoch_starts_ps) == len(epoch_starts):
            stats.epoch_labels = list(epoch_labels)
        elif len(stats.epoch_starts_ps):
            raise RuntimeError(
                f"the {engine} engine counted {len(stats.epoch_starts_ps)} epochs, "
                f"{len(epoch_starts)} were asked for"
            )
        tables = build_tables(
            stats, sla_targets(scenario), warmup_ps=sim.warmup, access_links=access, plan=plan
        )
        result = _result(compiled, stats, tables, engine, (wall1 - wall0, wall), epoch_starts)
        if stream is not None:
            _stream_results(result, stream, sample, packet_groups)
        if write:
            result.out_dir = write_results(
                target, tables, result.manifest, None, result.latency_parts, staging=staging
            )
        return result


def _compiled(
    scenario: Scenario | str | Path,
    compiled: CompiledScenario | None,
    seed: int | None,
    duration_ps: int | None,
) -> CompiledScenario:
    """What :func:`run` simulates: ``compiled`` (``scenario``'s own, without overrides), or
    ``scenario`` compiled (without the core's limits: the core checks them when it is
    built; the reference has none)."""
    if compiled is None:
        return compile_scenario(scenario, seed=seed, duration_ps=duration_ps, core_limits=False)
    if scenario is not compiled.scenario or seed is not None or duration_ps is not None:
        raise ValueError("compiled is the compiled scenario itself, without overrides")
    return compiled


def _result(
    compiled: CompiledScenario,
    stats: RunStats,
    tables: Tables,
    engine: EngineName,
    walls: tuple[float, float],
    epoch_starts: npt.NDArray[np.int64],
) -> RunResult:
    """A run's :class:`RunResult` (its storage, warnings and manifest) from its tables."""
    scenario, plan, source_path = compiled.scenario, compiled.plan, compiled.source
    sim = scenario.simulation
    startup, wall = walls
    storage = storage_table(scenario, tables.summary)
    tables.summary = with_storage(tables.summary, storage)
    caveats = run_caveats(
        compiled.original or scenario,
        scenario,
        plan,
        tables.links,
        tables.epoch_links,
        plan.warnings,
    )
    warnings = [c.text for c in caveats] + scenario.notes
    sla_caveats = [c.text for c in caveats if c.affects_sla]
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
        "startup_seconds": startup,
        "packet_hops": stats.packet_hops,
        "packet_hops_per_second": stats.packet_hops / wall if wall > 0 else None,
        "report_interval_ps": sim.report_interval,
        "epochs": len(epoch_starts),
        "warnings": warnings,
        "sla_caveats": sla_caveats,
        "storage": storage_manifest(storage),
    }
    return RunResult(
        scenario,
        stats,
        tables,
        manifest,
        plan=plan,
        warnings=warnings,
        sla_caveats=sla_caveats,
        storage=storage,
    )


def _stream_results(
    result: RunResult,
    stream: PacketLogStream,
    sample: float | None,
    groups: Sequence[str] | None,
) -> None:
    """Close the per-packet tables streamed during the run (kept in ``result`` when they
    went to no file) and take the latency parts from their sums."""
    chosen = {"sample": sample, "groups": None if groups is None else list(dict.fromkeys(groups))}
    if stream.packets is not None:
        stream.packets.close()
        result.manifest["packets"] = {"rows": stream.packets.rows, **chosen}
        if stream.packets.path is None:
            result.held_packets = stream.packets.frame()
    if stream.hops is not None:
        stream.hops.close()
        result.manifest["hops"] = {"rows": stream.hops.rows, **chosen}
        if stream.hops.path is None:
            result.held_packet_hops = stream.hops.frame()
    if stream.parts is not None:
        result.latency_parts = stream.parts.table()
