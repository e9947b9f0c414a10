"""The traffic sources of a scenario as flat arrays the generator kernel reads.

One row per source: each camera of a camera group, and each generic ``cbr`` / ``poisson`` /
``trace`` source. Parameters are fixed for the run; what the timeline changes (on/off and
the bitrate scale of an alarm) lives in :class:`SourceState`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from vidnet_sim.traffic.rng import source_key

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import CameraGroup, Scenario, Source

KIND_CAMERA = 0
KIND_CBR = 1
KIND_POISSON = 2
KIND_TRACE = 3
KIND_NAMES = ("camera", "cbr", "poisson", "trace")

SIZE_FIXED = 0
SIZE_UNIFORM = 1
SIZE_CHOICE = 2

PS_PER_S = 10**12

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass
class SourceTable:
    """Per-source parameters (struct of arrays, one row per source)."""

    names: list[str]  # "north[3]" for camera 3 of group "north"; the source's name otherwise
    origin_nodes: list[str]  # the node where packets enter the network (a camera's own node)
    destinations: list[list[str]]
    group: I64  # index into the scenario's groups (camera groups, then sources)
    kind: I64
    key: npt.NDArray[np.uint64]
    header_bytes: I64
    anchor_ps: I64  # camera: first frame time (start + phase); cbr: first packet time
    # camera
    fps_num: I64  # frame rate as the fraction fps_num / fps_den
    fps_den: I64
    gop: I64
    gop_offset: I64  # frame k is an I-frame when (k + gop_offset) % gop == 0
    p_mean_bytes: F64  # mean P-frame size at bitrate scale 1
    ip_ratio: F64
    p_sigma: F64
    i_sigma: F64
    max_payload: I64
    # cbr / poisson
    interval_ps: I64  # cbr
    mean_gap_ps: F64  # poisson, at scale 1
    size_kind: I64
    size_a: I64  # fixed size, or uniform min, or first index into choice arrays
    size_b: I64  # uniform max, or end index into choice arrays
    choice_values: I64
    choice_cum: F64  # cumulative normalised weights
    # trace
    trace_start: I64  # index range into trace_t / trace_size
    trace_end: I64
    trace_period_ps: I64  # > 0: replay in a loop with this period; 0: play once
    trace_t: I64
    trace_size: I64
    # timeline
    start_ps: I64
    stop_ps: I64  # -1: never
    multicast: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    frame_period_max_ps: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class SourceState:
    """What the generator carries from one window to the next, and what the timeline sets."""

    next_index: I64  # camera: next frame k; cbr/poisson/trace: next packet n
    next_t: I64  # poisson: time of the next packet
    seq: I64  # packets emitted so far (per source)
    active: npt.NDArray[np.bool_]
    scale: F64  # bitrate scale (alarms): frame sizes x scale, Poisson rate x scale
    #: per tree of the plan, the first position of the tree in force (reroutes change it)
    tree_pos0: I64 = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def initial(cls, table: SourceTable, tree_pos0: I64 | None = None) -> SourceState:
        """State at time zero: every source off until the timeline switches it on; trees in
        their initial layout ``tree_pos0`` (the plan's)."""
        n = len(table)
        next_t = np.where(table.kind == KIND_POISSON, table.start_ps, 0).astype(np.int64)
        return cls(
            next_index=np.zeros(n, np.int64),
            next_t=next_t,
            seq=np.zeros(n, np.int64),
            active=np.zeros(n, np.bool_),
            scale=np.ones(n, np.float64),
            tree_pos0=(np.zeros(0, np.int64) if tree_pos0 is None
                       else np.array(tree_pos0, np.int64)),
        )

    def copy(self) -> SourceState:
        """An independent copy."""
        return SourceState(
            self.next_index.copy(), self.next_t.copy(), self.seq.copy(),
            self.active.copy(), self.scale.copy(), self.tree_pos0.copy(),
        )


def fps_fraction(fps: float) -> Fraction:
    """The frame rate as an exact small fraction (25 -> 25/1, 29.97 -> 2997/100)."""
    return Fraction(str(fps)).limit_denominator(1001)


def frame_time_ps(anchor_ps: int, k: int, fps_num: int, fps_den: int) -> int:
    """Capture time of frame ``k``: ``anchor + floor(k * den * 1e12 / num)``, exact, no drift."""
    q, r = divmod(k, fps_num)
    return anchor_ps + q * fps_den * PS_PER_S + (r * fps_den * PS_PER_S) // fps_num


def p_mean_bytes(bitrate_bps: int, fps: Fraction, gop: int, ip_ratio: float) -> float:
    """Mean P-frame size so that a GOP of one I (= ip_ratio x P) and gop-1 P frames
    carries ``bitrate`` on average: ``P = B * gop / (8 * fps * (gop - 1 + ip_ratio))``."""
    return float(bitrate_bps * gop / (8 * float(fps) * (gop - 1 + ip_ratio)))


@dataclass
class _Row:
    """One source's parameters while :func:`build_sources` collects them (a column each)."""

    name: str
    origin: str
    dests: list[str]
    group: int
    kind: int
    key: np.uint64
    header: int
    start: int
    stop: int  # -1: never
    anchor: int
    fps_num: int = 1
    fps_den: int = 1
    gop: int = 1
    gop_offset: int = 0
    p_mean: float = 0.0
    ip_ratio: float = 1.0
    p_sigma: float = 0.0
    i_sigma: float = 0.0
    max_payload: int = 1
    interval: int = 0
    mean_gap: float = 0.0
    size_kind: int = SIZE_FIXED
    size_a: int = 0
    size_b: int = 0
    trace_start: int = 0
    trace_end: int = 0
    trace_period: int = 0
    multicast: bool = False


def build_sources(
    scenario: Scenario,
    groups: list[str],
    base_dir: Path | None = None,
) -> SourceTable:
    """Flatten the scenario's camera groups and generic sources into a :class:`SourceTable`."""
    from vidnet_sim.scenario.model import default_bitrate_bps
    from vidnet_sim.traffic.trace import load_trace

    seed = scenario.simulation.seed
    default_header = scenario.conventions.header_bytes
    rows: list[_Row] = []
    choice_values: list[int] = []
    choice_cum: list[float] = []
    trace_t: list[npt.NDArray[np.int64]] = []
    trace_size: list[npt.NDArray[np.int64]] = []
    n_trace = 0

    def base(name: str, idx: int, origin: str, dests: list[str], group: int, kind: int,
             header: int | None, start: int, stop: int | None) -> _Row:
        return _Row(
            name=name, origin=origin, dests=list(dests), group=group, kind=kind,
            key=source_key(seed, name, idx),
            header=default_header if header is None else header,
            start=start, stop=-1 if stop is None else stop, anchor=start,
        )

    for cam in scenario.cameras:
        g = groups.index(cam.name)
        fps = fps_fraction(cam.fps)
        gop = cam.gop if cam.gop is not None else max(1, round(cam.fps))
        bitrate = (
            cam.bitrate if cam.bitrate is not None
            else default_bitrate_bps(cam.codec, cam.resolution, cam.fps)
        )
        vbr = cam.rate_control == "vbr"
        period = Fraction(PS_PER_S) / fps
        for i in range(cam.count):
            name = camera_name(cam, i)
            row = base(name, 0, name, cam.destinations, g, KIND_CAMERA, cam.header_bytes,
                       cam.start, cam.stop)
            key = row.key
            phase = 0
            gop_offset = 0
            if cam.phase == "random":
                phase = int(_uniform_py(key, 1, 0) * float(period))
                gop_offset = int(_uniform_py(key, 2, 0) * gop) % gop
            row.anchor = cam.start + phase
            row.fps_num = fps.numerator
            row.fps_den = fps.denominator
            row.gop = gop
            row.gop_offset = gop_offset
            row.p_mean = p_mean_bytes(bitrate, fps, gop, cam.ip_ratio)
            row.ip_ratio = cam.ip_ratio
            row.p_sigma = cam.p_sigma if vbr else 0.0
            row.i_sigma = cam.i_sigma if vbr else 0.0
            row.max_payload = cam.max_payload
            row.multicast = cam.multicast
            rows.append(row)

    for src in scenario.sources:
        g = groups.index(src.name)
        kind = {"cbr": KIND_CBR, "poisson": KIND_POISSON, "trace": KIND_TRACE}[src.kind]
        row = base(src.name, 0, src.at, src.destinations, g, kind, src.header_bytes,
                   src.start, src.stop)
        header = row.header
        row.multicast = src.multicast
        if kind == KIND_TRACE:
            assert src.file is not None
            path = Path(src.file)
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            t, s = load_trace(path)
            row.trace_start = n_trace
            row.trace_end = n_trace + len(t)
            row.trace_period = _trace_period(t) if src.loop else 0
            trace_t.append(t)
            trace_size.append(s)
            n_trace += len(t)
        else:
            mean_payload = _size_params(src, row, choice_values, choice_cum)
            mean_wire = mean_payload + header
            pps = _packet_rate(src, mean_wire)
            if kind == KIND_CBR:
                row.interval = (
                    src.interval if src.interval is not None else round(PS_PER_S / pps)
                )
            else:
                row.mean_gap = PS_PER_S / pps
        rows.append(row)

    def icol(key: str) -> I64:
        return np.array([getattr(r, key) for r in rows], dtype=np.int64)

    def fcol(key: str) -> F64:
        return np.array([getattr(r, key) for r in rows], dtype=np.float64)

    periods = [
        frame_time_ps(0, 1, r.fps_num, r.fps_den)
        for r in rows if r.kind == KIND_CAMERA
    ]
    return SourceTable(
        names=[str(r.name) for r in rows],
        origin_nodes=[str(r.origin) for r in rows],
        destinations=[list(r.dests) for r in rows],
        group=icol("group"), kind=icol("kind"),
        key=np.array([r.key for r in rows], dtype=np.uint64),
        header_bytes=icol("header"), anchor_ps=icol("anchor"),
        fps_num=icol("fps_num"), fps_den=icol("fps_den"),
        gop=icol("gop"), gop_offset=icol("gop_offset"),
        p_mean_bytes=fcol("p_mean"), ip_ratio=fcol("ip_ratio"),
        p_sigma=fcol("p_sigma"), i_sigma=fcol("i_sigma"),
        max_payload=icol("max_payload"), interval_ps=icol("interval"),
        mean_gap_ps=fcol("mean_gap"), size_kind=icol("size_kind"),
        size_a=icol("size_a"), size_b=icol("size_b"),
        choice_values=np.array(choice_values, dtype=np.int64),
        choice_cum=np.array(choice_cum, dtype=np.float64),
        trace_start=icol("trace_start"), trace_end=icol("trace_end"),
        trace_period_ps=icol("trace_period"),
        trace_t=np.concatenate(trace_t) if trace_t else np.zeros(0, np.int64),
        trace_size=np.concatenate(trace_size) if trace_size else np.zeros(0, np.int64),
        start_ps=icol("start"), stop_ps=icol("stop"),
        multicast=np.array([r.multicast for r in rows], dtype=np.bool_),
        frame_period_max_ps=max(periods, default=0),
    )


@dataclass(frozen=True)
class GroupInfo:
    """The statistics groups of a scenario (one row each in the results)."""

    names: list[str]
    classes: list[str]
    kinds: list[str]
    paths: list[str]  # where each group is defined, for error messages: 'cameras[0]'


def scenario_groups(scenario: Scenario) -> GroupInfo:
    """The groups :func:`build_sources` assigns sources to, in order: camera groups, then
    generic sources."""
    names = [c.name for c in scenario.cameras] + [s.name for s in scenario.sources]
    classes = [c.class_ for c in scenario.cameras] + [s.class_ for s in scenario.sources]
    kinds = ["camera"] * len(scenario.cameras) + [s.kind for s in scenario.sources]
    paths = [f'cameras[{i}] (name="{c.name}")' for i, c in enumerate(scenario.cameras)]
    paths += [f'sources[{i}] (name="{s.name}")' for i, s in enumerate(scenario.sources)]
    return GroupInfo(names, classes, kinds, paths)


def camera_name(cam: CameraGroup, i: int) -> str:
    """Name (and node id) of camera ``i`` of a group: ``group[i]``."""
    return f"{cam.name}[{i}]"


def _uniform_py(key: np.uint64, stream: int, counter: int) -> float:
    from vidnet_sim.traffic.rng import uniform

    return float(uniform(key, stream, counter))


def _size_params(src: Source, row: _Row, values: list[int], cum: list[float]) -> float:
    """Set ``row``'s payload-size parameters (extending the shared choice arrays); returns
    the mean payload in bytes."""
    dist = src.size_dist
    if dist is None:
        assert src.size is not None
        row.size_kind = SIZE_FIXED
        row.size_a = src.size
        return float(src.size)
    if dist.kind == "uniform":
        assert dist.min is not None and dist.max is not None
        row.size_kind = SIZE_UNIFORM
        row.size_a = dist.min
        row.size_b = dist.max
        return (dist.min + dist.max) / 2
    assert dist.values is not None
    w = np.asarray(dist.weights if dist.weights is not None else [1.0] * len(dist.values))
    w = w / w.sum()
    row.size_kind = SIZE_CHOICE
    row.size_a = len(values)
    row.size_b = len(values) + len(dist.values)
    mean_payload = float(np.dot(w, dist.values))
    values.extend(int(v) for v in dist.values)
    c = np.cumsum(w)
    c[-1] = 1.0
    cum.extend(float(x) for x in c)
    return mean_payload


def _packet_rate(src: Source, mean_wire_bytes: float) -> float:
    if src.packet_rate is not None:
        return float(src.packet_rate)
    if src.rate is not None:
        return src.rate / (8.0 * mean_wire_bytes)
    assert src.interval is not None
    return PS_PER_S / src.interval


def _trace_period(t: npt.NDArray[np.int64]) -> int:
    """Loop period of a trace: its span plus one mean gap (at least 1 ps)."""
    if len(t) < 2:
        return max(1, int(t[-1]) + 1)
    span = int(t[-1] - t[0])
    return max(1, int(t[-1]) + math.ceil(span / (len(t) - 1)))
