"""The scenario timeline on SimPy, driving a packet engine epoch by epoch.

SimPy owns only the scenario's events (groups starting and stopping, alarms raising a
group's bitrate, periodic progress ticks); packets are the engine's business. The driver
runs the engine up to the next event's time under the configuration in force, then lets
SimPy apply the event: ``t = min(env.peek(), end)``, ``engine.advance(t)``, ``env.step()``.
Running the engine inside a SimPy process instead would apply a change before the epoch it
closes had been simulated.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
import simpy

from vidnet_sim.core.stats import RunStats
from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.scenario.groups import event_targets, scenario_groups
from vidnet_sim.traffic.rows import KIND_CAMERA, KIND_POISSON
from vidnet_sim.traffic.sources import SourceState

if TYPE_CHECKING:
    from vidnet_sim.network.plan import NetworkPlan
    from vidnet_sim.scenario.model import Scenario


class Engine(Protocol):
    """What the driver needs of a packet engine (the core or the SimPy reference)."""

    state: SourceState

    def prepare(self) -> None:
        """Get ready to run (load or compile the kernels), simulating nothing: a run's wall
        time then measures the simulation alone."""

    def advance(self, t_to: int) -> None:
        """Simulate every packet emitted before ``t_to`` under the current state."""

    def finish(self) -> RunStats:
        """Simulate what is left and return the statistics."""


@dataclass(frozen=True)
class Action:
    """One change of source state at a time: ``active``, ``scale`` and/or the GOP override
    (``gop``, 0 to clear) for some sources."""

    t_ps: int
    sources: npt.NDArray[np.int64]
    active: bool | None = None
    scale: float | None = None
    label: str = ""
    trees: npt.NDArray[np.int64] | None = None  # reroute: these trees ...
    pos0: npt.NDArray[np.int64] | None = None  # ... take these layouts
    epoch: bool = True  # the action starts an epoch of the results
    gop: int | None = None  # an alarm's GOP (cameras); 0 clears it

    def apply(self, state: SourceState) -> None:
        """Apply the change to ``state``."""
        if self.active is not None:
            state.active[self.sources] = self.active
        if self.scale is not None:
            state.scale[self.sources] = self.scale
        if self.gop is not None:
            state.gop_override[self.sources] = self.gop
        if self.trees is not None and self.pos0 is not None:
            state.tree_pos0[self.trees] = self.pos0


def scenario_actions(scenario: Scenario, plan: NetworkPlan) -> list[Action]:
    """The source-state changes a scenario implies, in scenario order.

    Each camera group and source is switched on at its ``start`` and off at its ``stop``;
    ``start``/``stop`` events switch whole groups (a node or district target: every camera
    group attached there); an ``alarm`` multiplies the bitrate of its
    camera groups (and the rate of Poisson sources) by ``bitrate_scale`` for its duration,
    and with ``gop`` shortens the cameras' GOP to it (a new GOP starts at the change). A
    camera group's actions apply to every stream; services switch on and off like sources.
    """
    src = plan.sources
    info = scenario_groups(scenario)
    owners = info.owners  # the camera group, source or service of each group
    owner_index = {name: k for k, name in enumerate(dict.fromkeys(owners))}
    row_owner = np.array([owner_index[o] for o in owners], np.int64)[src.group]
    members = {
        name: np.flatnonzero(row_owner == k).astype(np.int64) for name, k in owner_index.items()
    }
    spans = [(c.name, c.start, c.stop) for c in scenario.cameras]
    spans += [(s.name, s.start, s.stop) for s in scenario.sources]
    spans += [(s.name, s.start, s.stop) for s in scenario.services]
    services = {s.name for s in scenario.services}
    actions: list[Action] = []
    for name, start, stop in spans:
        actions.append(Action(start, members[name], active=True, label=f"{name} starts"))
        if stop is not None:
            actions.append(Action(stop, members[name], active=False, label=f"{name} stops"))
    problems: list[Problem] = []
    none = np.zeros(0, np.int64)
    for down, up, label in plan.failure_events:
        actions.append(Action(down, none, label=label))
        actions.append(Action(up, none, label=f"{label} ends (repaired)"))
    for sw in plan.route_switches:
        actions.append(Action(sw.t_ps, none, label=sw.label, trees=sw.trees, pos0=sw.pos0))
    for i, ev in enumerate(scenario.events):
        # a node or district stands for its camera groups; each group once, at its first target
        for target, j in event_targets(scenario, ev).items():
            idx = members[target]
            if ev.kind == "alarm":
                bad = [int(k) for k in src.kind[idx] if k not in (KIND_CAMERA, KIND_POISSON)]
                if bad:
                    problems.append(
                        Problem(
                            f"events[{i}].targets[{j}]",
                            f"'{target}' is a {info.kinds[owners.index(target)]} "
                            f"{'service' if target in services else 'source'}; an alarm scales "
                            "camera groups and poisson sources only",
                        )
                    )
                    continue
                assert ev.duration is not None
                # an alarm's gop shortens the cameras' GOP (other kinds ignore it)
                actions.append(
                    Action(
                        ev.at, idx, scale=ev.bitrate_scale, gop=ev.gop, label=f"alarm on {target}"
                    )
                )
                actions.append(
                    Action(
                        ev.at + ev.duration,
                        idx,
                        scale=1.0,
                        gop=None if ev.gop is None else 0,
                        label=f"alarm on {target} ends",
                    )
                )
            else:
                actions.append(
                    Action(ev.at, idx, active=ev.kind == "start", label=f"{target} {ev.kind}s")
                )
    if problems:
        raise ScenarioError(problems)
    return actions


#: Label of the first epoch, and of epochs cut only by ``simulation.report_interval``.
EPOCH_START_LABEL = "start"
EPOCH_INTERVAL_LABEL = "interval"


def epoch_bounds(
    actions: list[Action], end_ps: int, report_interval_ps: int | None = None
) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Start times (ps, increasing, the first 0) and labels of the epochs of a run.

    Epochs start at 0 (labelled ``"start"``), at the time of every action with ``epoch``
    set that falls in ``(0, end_ps)`` and, with ``report_interval_ps``, at its multiples
    below ``end_ps`` (``"interval"``). Actions at the same time make one epoch whose label
    joins theirs with ``"; "`` (each distinct label once, in scenario order); a multiple of
    the interval that coincides with an action adds nothing to its label.
    """
    labels: dict[int, list[str]] = {0: []}
    for action in sorted(actions, key=lambda a: a.t_ps):  # stable: scenario order at ties
        if action.epoch and 0 < action.t_ps < end_ps:
            at = labels.setdefault(int(action.t_ps), [])
            label = action.label or "event"
            if label not in at:
                at.append(label)
    if report_interval_ps is not None:
        if report_interval_ps <= 0:
            raise ValueError(f"report_interval_ps must be positive, got {report_interval_ps}")
        for t in range(report_interval_ps, end_ps, report_interval_ps):
            labels.setdefault(t, [])
    starts = sorted(labels)
    names = [
        "; ".join(labels[t]) or (EPOCH_START_LABEL if t == 0 else EPOCH_INTERVAL_LABEL)
        for t in starts
    ]
    names[0] = EPOCH_START_LABEL
    return np.array(starts, dtype=np.int64), names


def drive(
    engine: Engine,
    actions: list[Action],
    end_ps: int,
    *,
    tick_ps: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunStats:
    """Run ``engine`` to ``end_ps``, applying ``actions`` at their times; return its stats.

    ``tick_ps`` adds periodic epochs (for progress reports through ``on_progress(t_ps, end_ps)``);
    epochs never change results, since the engine's output does not depend on where its
    windows start or end.
    """
    env = simpy.Environment(initial_time=0)

    def at(action: Action) -> Generator[simpy.Event, None, None]:
        yield env.timeout(action.t_ps)
        action.apply(engine.state)

    for action in sorted(actions, key=lambda a: a.t_ps):  # stable: scenario order at ties
        if action.t_ps < end_ps:
            env.process(at(action))

    if tick_ps is not None and tick_ps > 0:

        def ticker() -> Generator[simpy.Event, None, None]:
            while True:
                yield env.timeout(tick_ps)
                if on_progress is not None:
                    on_progress(int(env.now), end_ps)

        env.process(ticker())

    while True:
        t_next = env.peek()
        if t_next >= end_ps:
            engine.advance(end_ps)
            break
        engine.advance(int(t_next))
        env.step()
    if on_progress is not None:
        on_progress(end_ps, end_ps)
    return engine.finish()
