"""What the core's packed packet fields can hold, checked before a run.

An inbox item packs a packet's wire size, its position in its delivery tree and its camera
frame's slot tag into one integer (``core.kernel``): a scenario whose packets, trees or frames
in flight exceed those fields, or whose full buffers could delay a packet past the core's
clock (:data:`MAX_TIME_PS`), is refused with a :class:`ScenarioError` before anything runs.
"""

from __future__ import annotations

import numpy as np

from vidnet_sim.core import kernel as K  # noqa: N812
from vidnet_sim.core.volume import most_onoff_packets
from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.plan import NetworkPlan, service_time_ps
from vidnet_sim.scenario.units import count_words, duration_words, rate_words
from vidnet_sim.traffic.rows import KIND_CAMERA, KIND_TRACE, SIZE_CHOICE, SIZE_UNIFORM

#: The latest time (ps) a packet may reach, its route's full buffers included: the core's
#: clock is an int64 count of picoseconds whose largest value (``kernel.INF``, 2^63 - 1,
#: about 106 days) stands for "never"; half of it (about 53 days) leaves the sums the core
#: forms far from wrapping around.
MAX_TIME_PS = 1 << 62


def wire_bytes(plan: NetworkPlan, i: int) -> int:
    """The largest packet source ``i`` emits, headers included."""
    s = plan.sources
    h = int(s.header_bytes[i])
    if s.kind[i] == KIND_CAMERA:
        return int(s.max_payload[i]) + h
    if s.kind[i] == KIND_TRACE:
        return int(s.trace_size[s.trace_start[i] : s.trace_end[i]].max()) + h
    if s.size_kind[i] == SIZE_UNIFORM:
        return int(s.size_b[i]) + h
    if s.size_kind[i] == SIZE_CHOICE:
        return int(s.choice_values[s.size_a[i] : s.size_b[i]].max()) + h
    return int(s.size_a[i]) + h


def max_wire_bytes(plan: NetworkPlan) -> int:
    """The largest packet of any source, headers included (1 if there are none)."""
    return max([1] + [wire_bytes(plan, i) for i in range(len(plan.sources))])


def frame_slots_needed(
    plan: NetworkPlan, window_ps: int, end_ps: int, wire_max: int | None = None
) -> list[int]:
    """Per delivery flow, how many of its camera frames can be open at once (0 if it is not
    a camera flow).

    A frame is open from its window's injection until its last packet settles, at most the
    route's worst-case delay (full buffers on every hop) plus two windows later (the core
    grows a ring that a starved camera outgrows). ``wire_max``: the largest packet, if the
    caller has it (``max_wire_bytes``).
    """
    wire_max = max_wire_bytes(plan) if wire_max is None else wire_max
    return _frames_open(plan, _worst_delays(plan, wire_max), window_ps, end_ps)


def _frames_open(plan: NetworkPlan, worst_of: list[int], window_ps: int, end_ps: int) -> list[int]:
    """:func:`frame_slots_needed` given each flow's worst-case delay ``worst_of``."""
    src = plan.sources
    need = [0] * plan.n_flows
    for f in range(plan.n_flows):
        s = int(plan.flow_source[f])
        if src.kind[s] != KIND_CAMERA:
            continue
        period = max(1, (int(src.fps_den[s]) * 10**12) // int(src.fps_num[s]))
        n = (worst_of[f] + 2 * window_ps) // period + 4
        need[f] = min(n, end_ps // period + 4)  # never more frames than the run has
    return need


class FrameNeeds:
    """:func:`frame_slots_needed` for the run :func:`check_limits` checked (``checked``, for
    its window) and for any other window (:meth:`for_window`), the routes' worst-case delays
    computed once (on the large city the delays take about 70 ms, the frames per window a
    tenth of that); which plan and run it checked (:meth:`is_for`: a compiled scenario's
    engine does not check them again)."""

    def __init__(self, plan: NetworkPlan, worst: list[int], window_ps: int, end_ps: int) -> None:
        self._plan = plan
        self._worst = worst
        self._window_ps = window_ps
        self._end_ps = end_ps
        #: Per delivery flow, how many of its camera frames can be open at once with
        #: windows of ``window_ps`` (what :func:`check_limits` checked).
        self.checked: list[int] = self.for_window(window_ps)

    def for_window(self, window_ps: int) -> list[int]:
        """Per delivery flow, how many of its camera frames can be open at once with
        windows of ``window_ps`` in the same run."""
        return _frames_open(self._plan, self._worst, window_ps, self._end_ps)

    def is_for(self, plan: NetworkPlan, window_ps: int, end_ps: int) -> bool:
        """Whether this is what :func:`check_limits` returned for ``plan`` (the same object)
        run in windows of ``window_ps`` for ``end_ps``."""
        return plan is self._plan and (window_ps, end_ps) == (self._window_ps, self._end_ps)


def check_limits(plan: NetworkPlan, window_ps: int, end_ps: int) -> FrameNeeds:
    """Raise a :class:`ScenarioError` naming everything the core cannot hold (``K.MAX_*``);
    otherwise return the frames each flow can have open (:class:`FrameNeeds`: ``checked``
    for ``window_ps``)."""
    problems: list[Problem] = []
    groups = plan.group_names
    too_big: dict[str, int] = {}
    wires = [wire_bytes(plan, i) for i in range(len(plan.sources))]
    for i, wire in enumerate(wires):
        if wire > K.MAX_WIRE_BYTES:
            g = groups[int(plan.sources.group[i])]
            too_big[g] = max(too_big.get(g, 0), wire)
    for g, wire in too_big.items():
        problems.append(
            Problem(
                f"group {g!r}",
                f"packets of up to {wire} bytes (headers included); expected at "
                f"most {K.MAX_WIRE_BYTES} bytes (an IP packet is at most 65535)",
            )
        )
    problems += _sequence_problems(plan, end_ps)
    if len(plan.pos_link) > K.MAX_POSITIONS:
        problems.append(
            Problem(
                "routes",
                f"{len(plan.pos_link)} hops in all delivery trees together; expected at "
                f"most {K.MAX_POSITIONS}",
            )
        )
    needs: FrameNeeds | None = None
    if not too_big:  # (the frame rings and the delays depend on the largest packet)
        worst, slowest, per_link = _worst_paths(plan, max([1, *wires]))
        problems += _time_problems(plan, end_ps, worst, slowest, per_link)
        needs = FrameNeeds(plan, worst, window_ps, end_ps)
        most: dict[str, int] = {}
        for f, need in enumerate(needs.checked):
            if need > K.MAX_FRAME_SLOTS:
                g = groups[int(plan.sources.group[int(plan.flow_source[f])])]
                most[g] = max(most.get(g, 0), need)
        for g, need in most.items():
            problems.append(
                Problem(
                    f"group {g!r}",
                    f"up to {need} frames of one camera in flight at once (the "
                    f"route's worst-case delay with full buffers, plus two windows); expected at "
                    f"most {K.MAX_FRAME_SLOTS}: smaller buffers on the route, a shorter window or "
                    f"a lower frame rate",
                )
            )
    if problems or needs is None:  # (needs is only None with a packet too big: a problem)
        raise ScenarioError(problems)
    return needs


def _sequence_problems(plan: NetworkPlan, end_ps: int) -> list[Problem]:
    """The groups of ``onoff`` sources that could number more packets than a packet's key
    holds (``K.SEQ_MASK``: a source's packets are numbered in 40 bits, about 1.1·10¹²; a
    number past it would run into the key's tree bits). The run's volume check
    (``core.volume.check_volume``) reads the *mean* count, at most 10¹⁰ for the whole run,
    which keeps cameras, cbr, Poisson, burst and trace sources (counts that stay near their
    mean) a hundred times below it; an on/off source's heavy-tailed periods do not: its
    count is bounded here whatever its periods (:func:`~vidnet_sim.core.volume.
    most_onoff_packets`)."""
    most = most_onoff_packets(plan, end_ps)
    worst: dict[str, float] = {}
    for i in np.flatnonzero(most > K.SEQ_MASK):
        g = plan.group_names[int(plan.sources.group[i])]
        worst[g] = max(worst.get(g, 0.0), float(most[i]))
    return [
        Problem(
            f"group {g!r}",
            f"an on/off source could send up to {count_words(n)} packets in "
            f"{duration_words(end_ps)} (its interval while on throughout, and a packet more per "
            f"on period); expected at most {count_words(K.SEQ_MASK + 1)} packets per source (the "
            f"core numbers a source's packets in {K.FLOW_SHIFT} bits): a shorter duration or a "
            "longer interval",
        )
        for g, n in worst.items()
    ]


def _link_delays(plan: NetworkPlan, wire_max: int) -> list[int]:
    """Per link, the largest delay it can add to a packet: its full buffer (every queue's,
    on a scheduled link) and the packet itself sent at its rate, and its propagation."""
    per_link = []
    for link in range(plan.n_links):
        rate = int(plan.link_rate_bps[link])
        buf = int(plan.link_buffer_bytes[link])
        if buf < 0:
            buf = int(plan.link_buffer_packets[link]) * wire_max
        qb = plan.link_queue_buffer_bytes[link]
        qp = plan.link_queue_buffer_packets[link]
        if plan.link_sched[link] > 0:  # every queue may be full ahead of the packet
            buf = sum(int(b) if b >= 0 else int(p) * wire_max for b, p in zip(qb, qp, strict=True))
        per_link.append(service_time_ps(buf + wire_max, rate) + int(plan.link_prop_ps[link]))
    return per_link


def _worst_paths(plan: NetworkPlan, wire_max: int) -> tuple[list[int], list[int], list[int]]:
    """Per flow, the largest delay any of its paths (in any layout) can add (full buffers
    and propagation on every hop, :func:`_link_delays`; an exact Python integer, however
    large) and the link adding the most on that path (-1 for a flow of no hop); and the
    delays per link."""
    per_link = _link_delays(plan, wire_max)
    worst = [0] * plan.n_flows
    slowest = [-1] * plan.n_flows
    n_pos = len(plan.pos_link)
    parent = [-1] * n_pos
    acc = [0] * n_pos
    top = [-1] * n_pos  # the link adding the most on the way to each position
    for p in range(n_pos):  # positions are laid out depth first: parents first
        link = int(plan.pos_link[p])
        above = acc[parent[p]] if parent[p] >= 0 else 0
        best = top[parent[p]] if parent[p] >= 0 else -1
        if link >= 0:
            acc[p] = above + per_link[link]
            top[p] = link if best < 0 or per_link[link] > per_link[best] else best
        else:
            acc[p], top[p] = above, best
        for c in plan.children(p):
            parent[c] = p
        f = int(plan.pos_deliver[p])
        if f >= 0 and acc[p] >= worst[f]:
            worst[f], slowest[f] = acc[p], top[p]
    return worst, slowest, per_link


def _worst_delays(plan: NetworkPlan, wire_max: int) -> list[int]:
    """Per flow, the largest delay any of its paths (in any layout) can add: full buffers
    and propagation on every hop."""
    return _worst_paths(plan, wire_max)[0]


def _time_problems(
    plan: NetworkPlan, end_ps: int, worst: list[int], slowest: list[int], per_link: list[int]
) -> list[Problem]:
    """The links whose full buffers could time a packet at or past ``MAX_TIME_PS`` in a
    run of ``end_ps`` (the core's clock is a 64-bit count of picoseconds): for each route
    that could, its link adding the most delay (``worst``, ``slowest``, ``per_link``: from
    :func:`_worst_paths`)."""
    room = MAX_TIME_PS - end_ps
    blamed = sorted({slowest[f] for f in range(plan.n_flows) if worst[f] >= room})
    problems = []
    for link in blamed:
        route = max(w for f, w in enumerate(worst) if slowest[f] == link)
        problems.append(
            Problem(
                f"link {plan.link_names[link]!r}",
                f"with full buffers a packet could wait about {duration_words(per_link[link])} "
                f"on this link (about {duration_words(route)} on its route) at "
                f"{rate_words(int(plan.link_rate_bps[link]))}; expected at most about "
                f"{duration_words(room)} after the run's {duration_words(end_ps)} (the core counts "
                f"time in 64-bit picoseconds, up to about {duration_words(MAX_TIME_PS)}): a "
                "smaller buffer, a faster link or a shorter delay",
            )
        )
    return problems
