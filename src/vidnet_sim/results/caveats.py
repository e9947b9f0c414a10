"""Warnings that keep a run's results from being misread.

Each :class:`Caveat` is one sentence for the user: printed after the run, written under
``"warnings"`` in ``manifest.json`` and, when it can change what the SLA verdict means
(``affects_sla``), listed under ``"sla_caveats"`` too and turning the console's last line
from "all targets met" into a verdict with a reservation. They are:

- a timeline event, or a camera group's, source's or service's start, at or after the run's
  end (a shortened ``--duration`` drops it silently otherwise);
- a warm-up shortened by a ``--duration`` override (to half the run);
- packets dropped in a camera's own egress buffer (``access_buffer``): the loss is the
  cameras', not the network's; the warning gives the buffer and the size of the frames;
- an epoch in which a link's utilisation exceeds 100 % (explained: it counts the
  transmission time of the packets that *arrived* in the epoch);
- a ring of links none of which is ``blocked``: traffic then takes the shortest way in
  both directions round the ring, not the way a protected ring forwards;
- a scenario with no traffic at all (no camera group, source or service): the run's tables
  are empty, with no other sign that nothing was simulated;
- a camera group or source that stops before the warm-up ends, and a run in which no packet
  at all was measured (a run shorter than the first frames, every group stopped in the
  warm-up): an SLA is checked only against packets measured, so its targets would read "met"
  on nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from vidnet_sim.network.plan import NetworkPlan
from vidnet_sim.results.sla import format_significant
from vidnet_sim.scenario.groups import camera_name, event_groups
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.scenario.units import format_time, percent_words

__all__ = [
    "Caveat",
    "camera_egress_caveats",
    "epoch_utilisation_caveats",
    "measured_caveats",
    "override_caveats",
    "ring_caveats",
    "run_caveats",
    "traffic_caveats",
]

#: Epochs over 100 % named at most (one warning counts the others).
MAX_EPOCH_LINKS = 3


@dataclass(frozen=True)
class Caveat:
    """One warning about a run; ``affects_sla``: the SLA verdict may mislead without it."""

    text: str
    affects_sla: bool = False


def _size(n: float, like: float) -> str:
    """``n`` bytes in the binary unit that suits ``like`` bytes: ``1.12 MiB``, ``256 KiB``."""
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if like >= scale:
            return f"{format_significant(n / scale)} {unit}"
    return f"{n:.0f} B"


def override_caveats(original: Scenario, run: Scenario) -> list[Caveat]:
    """What a shortened run (``run``, after overrides, vs ``original``) leaves out: events
    and starts at or after its end, and a warm-up cut to fit."""
    out: list[Caveat] = []
    sim, end = run.simulation, run.simulation.duration
    told = format_time(end)
    if sim.warmup != original.simulation.warmup:
        out.append(
            Caveat(
                f"the warm-up was shortened from {format_time(original.simulation.warmup)} to "
                f"{format_time(sim.warmup)} (half the run of {told}): packets of the start-up "
                "transient are measured",
                affects_sla=True,
            )
        )
    for i, ev in enumerate(run.events):
        if ev.at >= end:
            what = f"{ev.kind} on {', '.join(ev.targets)}" if ev.targets else ev.kind
            if ev.kind == "failure":
                what = f"failure of link {ev.link}"
            out.append(
                Caveat(
                    f"events[{i}] ({what} at {format_time(ev.at)}) is at or after the end of "
                    f"the run ({told}): it does not happen in this run",
                    affects_sla=True,
                )
            )
    for kind, items in (
        ("camera group", run.cameras),
        ("source", run.sources),
        ("service", run.services),
    ):
        for item in items:
            if item.start >= end:
                out.append(
                    Caveat(
                        f"{kind} {item.name!r} starts at {format_time(item.start)}, at or after "
                        f"the end of the run ({told}): it sends nothing",
                        affects_sla=True,
                    )
                )
    return out


def camera_egress_caveats(
    scenario: Scenario, plan: NetworkPlan, links: pd.DataFrame
) -> list[Caveat]:
    """Camera groups that lost packets in their cameras' own egress buffers."""
    drops = dict(zip(links["link"], links["drops"], strict=True))
    peaks = dict(zip(links["link"], links["peak_queue_bytes"], strict=True))
    packets = dict(zip(links["link"], links["packets"], strict=True))
    src = plan.sources
    leaving: dict[str, list[str]] = {}  # node -> the links leaving it
    for name, s in zip(plan.link_names, plan.link_src, strict=True):
        leaving.setdefault(plan.node_names[int(s)], []).append(name)
    origins: dict[str, list[int]] = {}  # node -> its sources
    for k, node in enumerate(src.origin_nodes):
        origins.setdefault(node, []).append(k)
    out: list[Caveat] = []
    for cam in scenario.cameras:
        nodes = {camera_name(cam, i) for i in range(cam.count)}
        mine = [name for node in nodes for name in leaving.get(node, ())]
        lost = sum(int(drops.get(name, 0)) for name in mine)
        if lost == 0:
            continue
        sent = lost + sum(int(packets.get(name, 0)) for name in mine)
        cams = sum(1 for name in mine if int(drops.get(name, 0)) > 0)
        rows = [k for node in nodes for k in origins.get(node, ())]
        i_frame = max(
            (float(src.p_mean_bytes[k] * src.ip_ratio[k]) for k in rows), default=math.nan
        )
        scales = [
            ev.bitrate_scale
            for ev in scenario.events
            if ev.kind == "alarm" and cam.name in event_groups(scenario, ev)
        ]
        if cam.motion is not None:
            scales.append(cam.motion.bitrate_scale)
        scale = max([1.0, *scales])
        buffer = cam.access_buffer
        frame = f"a mean I-frame is {_size(i_frame, buffer)}"
        if scale > 1.0:
            frame += f", {_size(i_frame * scale, buffer)} at {scale:g}x bitrate"
        remedy = "lower the bitrate"
        if cam.replays_trace:
            frame = "its recorded traces send bursts larger than that"
            remedy = "check the capture (a replay sends each packet at its recorded time)"
        peak = max((int(peaks.get(name, 0)) for name in mine), default=0)
        key, held = "access_buffer", f"access_buffer = {_size(buffer, buffer)}"
        if cam.access_buffer_packets is not None:
            key = "access_buffer_packets"
            held = f"access_buffer_packets = {cam.access_buffer_packets}"
        out.append(
            Caveat(
                f"camera group {cam.name!r}: {lost} packets ({percent_words(lost / sent, 1)} of "
                f"what its cameras sent, on {cams} of {cam.count} cameras) were dropped in the "
                f"cameras' own egress buffer ({held}, peak queue "
                f"{_size(peak, buffer)}) before reaching the network: {frame}"
                + ("" if cam.replays_trace else " (the largest frames are bigger than the mean)")
                + f", sent at access_rate {cam.access_rate / 1e6:g} Mbit/s; raise {key} or "
                f"access_rate, or {remedy}",
                affects_sla=True,
            )
        )
    return out


def epoch_utilisation_caveats(epoch_links: pd.DataFrame) -> list[Caveat]:
    """Epochs in which a link's utilisation exceeds 100 %, explained."""
    over = epoch_links[epoch_links["utilisation"] > 1.0]
    if over.empty:
        return []
    over = over.sort_values("utilisation", ascending=False, kind="stable")
    named = [
        f"{r['link']} {100 * float(r['utilisation']):.0f} % in epoch {r['epoch']} "
        f"({format_time(int(r['t_start_ps']))}–{format_time(int(r['t_end_ps']))})"
        for r in over.head(MAX_EPOCH_LINKS).to_dict("records")
    ]
    more = len(over) - len(named)
    return [
        Caveat(
            f"utilisation above 100 %: {'; '.join(named)}"
            + (f" and {more} more" if more else "")
            + ". An epoch's utilisation counts the transmission time of the packets that "
            "arrived in it, so above 100 % the link was offered more than it can send in "
            "that epoch and the excess queued into the next one"
        )
    ]


def traffic_caveats(scenario: Scenario) -> list[Caveat]:
    """A scenario without any traffic: nothing is simulated."""
    if scenario.has_traffic:
        return []
    return [
        Caveat(
            "the scenario has no traffic (no [[cameras]], [[sources]] or [[services]]): "
            "nothing was simulated"
        )
    ]


def measured_caveats(scenario: Scenario, links: pd.DataFrame) -> list[Caveat]:
    """Traffic the run does not measure: camera groups and sources that stop before the
    warm-up ends (and no ``start`` event restarts), and a run whose links carried no packet
    in the measured time at all."""
    sim = scenario.simulation
    warmup, end = format_time(sim.warmup), format_time(sim.duration)
    restarted = {
        name for ev in scenario.events if ev.kind == "start" for name in event_groups(scenario, ev)
    }
    out: list[Caveat] = []
    for kind, items in (("camera group", scenario.cameras), ("source", scenario.sources)):
        for item in items:
            if item.stop is not None and item.stop <= sim.warmup and item.name not in restarted:
                out.append(
                    Caveat(
                        f"{kind} {item.name!r} stops at {format_time(item.stop)}, before the "
                        f"warm-up ends ({warmup}): none of its packets is measured",
                        affects_sla=True,
                    )
                )
    if scenario.has_traffic and len(links) and int(links["packets"].sum()) == 0:
        out.append(
            Caveat(
                f"no packet was measured: nothing sent between the warm-up ({warmup}) and the "
                f"end of the run ({end}) crossed a link, so every latency and loss is empty "
                "and no SLA target was checked against anything; run longer, or shorten the "
                "warm-up",
                affects_sla=True,
            )
        )
    return out


def ring_caveats(scenario: Scenario) -> list[Caveat]:
    """Rings (cycles of three or more nodes) of links none of which is ``blocked``."""
    parent: dict[str, str] = {}

    def root(n: str) -> str:
        while parent.setdefault(n, n) != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    adjacency: dict[str, set[str]] = {}
    seen: set[frozenset[str]] = set()
    out: list[Caveat] = []
    for link in scenario.links:
        pair = frozenset((link.a, link.b))
        if link.blocked or len(pair) < 2 or pair in seen:
            continue
        seen.add(pair)
        u, v = sorted(pair)
        if root(u) == root(v):
            ring = _path(adjacency, u, v)
            if ring is not None and len(ring) >= 3:
                out.append(
                    Caveat(
                        f"the ring {' – '.join(ring)} – {ring[0]} has no blocked link: traffic "
                        "takes the shortest way round in both directions, which a protected "
                        "ring does not; mark the link a ring protocol blocks `blocked = true`"
                    )
                )
        parent[root(u)] = root(v)
        adjacency.setdefault(u, set()).add(v)
        adjacency.setdefault(v, set()).add(u)
    return out


def _path(adjacency: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A shortest path from ``start`` to ``goal`` (breadth first), nodes in order."""
    back: dict[str, str] = {start: start}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for n in frontier:
            for m in sorted(adjacency.get(n, ())):
                if m not in back:
                    back[m] = n
                    nxt.append(m)
        frontier = nxt
    if goal not in back:
        return None
    path = [goal]
    while path[-1] != start:
        path.append(back[path[-1]])
    return path[::-1]


def run_caveats(
    original: Scenario,
    scenario: Scenario,
    plan: NetworkPlan,
    links: pd.DataFrame,
    epoch_links: pd.DataFrame,
    plan_warnings: Sequence[str] = (),
) -> list[Caveat]:
    """Every warning about a run: the plan's (traffic left without a path during a failure:
    counted lost, so the verdict already holds it), then those listed in the module
    documentation."""
    out = [Caveat(w) for w in plan_warnings]
    out += traffic_caveats(scenario)
    out += override_caveats(original, scenario)
    out += measured_caveats(scenario, links)
    out += camera_egress_caveats(scenario, plan, links)
    out += epoch_utilisation_caveats(epoch_links)
    out += ring_caveats(scenario)
    return out
