"""The traffic sources of a scenario as flat arrays the generator kernel reads.

One row per source: each stream of each camera of a camera group, each generic ``cbr`` /
``poisson`` / ``trace`` / ``onoff`` source, and the rows a service expands to
(:mod:`vidnet_sim.traffic.services`). Parameters are fixed for the run; what the timeline
changes (on/off, the bitrate scale and GOP of an alarm) and what the generator carries from
one window to the next live in :class:`SourceState`.

Each row belongs to a statistics group (:mod:`vidnet_sim.scenario.groups`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vidnet_sim.scenario.groups import (
    StreamParams,
    camera_name,
    camera_streams,
    camera_traces,
    stream_group_name,
)
from vidnet_sim.scenario.model import CameraGroup, Scenario, Source
from vidnet_sim.scenario.services import DEFAULT_PARETO_SHAPE
from vidnet_sim.scenario.trace import load_trace, trace_period_ps
from vidnet_sim.traffic.rng import STREAM_GOP_OFFSET, STREAM_PHASE, source_keys, uniforms
from vidnet_sim.traffic.rows import (
    BEH_DAY_NIGHT,
    BEH_MOTION,
    C_BURST_FREE,
    C_BURST_POS,
    C_GOP_CUR,
    C_GOP_OVERRIDE,
    C_GOP_POS,
    C_MOD_COUNT,
    C_MOD_END,
    C_MOD_STATE,
    KIND_CAMERA,
    KIND_CBR,
    KIND_ONOFF,
    KIND_POISSON,
    KIND_TRACE,
    N_CARRY,
    PS_PER_S,
    SIZE_CHOICE,
    SIZE_EXPONENTIAL,
    SIZE_FIXED,
    SIZE_UNIFORM,
    SourceRow,
    keyed_row,
    new_row,
)
from vidnet_sim.traffic.services import service_rows

# The source rows' codes and the group naming are defined in traffic/rows.py and
# scenario/groups.py; the kernels and the network plan import them from here too.
__all__ = [
    "SourceState",
    "SourceTable",
    "build_sources",
    "frame_time_ps",
    "p_mean_bytes",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
#: The largest payload of an exponential size distribution without a ``max``: the largest
#: IP packet.
EXPONENTIAL_MAX_BYTES = 65_535
U64 = npt.NDArray[np.uint64]
#: A column of the table while it is put together (its dtype is in :data:`_COLUMNS`).
Column = npt.NDArray[Any]


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
    # Columns added after the first release default to "not used" (zeros, filled in by
    # __post_init__), so tables built by hand without them stay valid.
    # camera behaviour (scenario/behaviour.py)
    beh_flags: I64 = None  # type: ignore[assignment]  # BEH_MOTION | BEH_DAY_NIGHT
    motion_scale: F64 = None  # type: ignore[assignment]  # bitrate x this in motion
    motion_gop: I64 = None  # type: ignore[assignment]  # GOP in motion (0: unchanged)
    dn_day_ps: I64 = None  # type: ignore[assignment]  # time of day the day starts
    dn_night_ps: I64 = None  # type: ignore[assignment]  # time of day the night starts
    dn_tod0_ps: I64 = None  # type: ignore[assignment]  # time of day at simulation time 0
    dn_night_scale: F64 = None  # type: ignore[assignment]  # bitrate x this at night
    # two-state modulating process: camera motion (state 1 = motion), onoff (1 = on)
    mod_key: U64 = None  # type: ignore[assignment]  # RNG key (shared by a camera's streams)
    mod_t0_ps: I64 = None  # type: ignore[assignment]  # origin of the process
    mod_mean0_ps: F64 = None  # type: ignore[assignment]  # mean sojourn in state 0 (idle / off)
    mod_mean1_ps: F64 = None  # type: ignore[assignment]  # mean sojourn in state 1 (motion / on)
    mod_shape0: F64 = None  # type: ignore[assignment]  # 0: exponential, > 1: Pareto shape
    mod_shape1: F64 = None  # type: ignore[assignment]
    # burst: Poisson burst starts (mean_gap_ps), burst_packets packets interval_ps apart
    burst_packets: I64 = None  # type: ignore[assignment]
    burst_delay_ps: I64 = None  # type: ignore[assignment]  # burst start after its request

    def __post_init__(self) -> None:
        n = len(self.names)
        for f in fields(self):
            if getattr(self, f.name) is None:
                if f.name == "mod_key":
                    self.mod_key = np.array(self.key, np.uint64)
                else:
                    dtype = np.float64 if f.name in _FLOAT_COLUMNS else np.int64
                    setattr(self, f.name, np.zeros(n, dtype))

    def __len__(self) -> int:
        return len(self.names)

    def spans_ps(self, duration_ps: int) -> tuple[I64, I64]:
        """Each source's time on in a run of ``duration_ps``: ``[start, stop)`` from its
        start to its stop (the run's end if none), cut at the run's end (empty for a source
        that starts after it)."""
        start = np.minimum(np.asarray(self.start_ps, np.int64), duration_ps)
        stop = np.asarray(self.stop_ps, np.int64)
        stop = np.where(stop < 0, duration_ps, np.minimum(stop, duration_ps))
        return start, np.maximum(stop, start)


_FLOAT_COLUMNS = frozenset(
    {"motion_scale", "dn_night_scale", "mod_mean0_ps", "mod_mean1_ps", "mod_shape0", "mod_shape1"}
)


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
    #: (source, C_*) the behaviour state the generator carries (zeros: not started), one row
    #: per source (one cache line); the timeline sets only the ``gop_override`` column. One
    #: array rather than eight keeps the kernels' argument tuple short (measurably faster).
    carry: I64 = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.carry is None:
            self.carry = np.zeros((len(self.next_index), N_CARRY), np.int64)

    @property
    def mod_state(self) -> I64:
        """Modulating process (motion, on/off): the current state, 0 or 1 (a view)."""
        return self.carry[:, C_MOD_STATE]

    @property
    def mod_end_ps(self) -> I64:
        """End of the current sojourn of the modulating process (a view)."""
        return self.carry[:, C_MOD_END]

    @property
    def mod_count(self) -> I64:
        """Sojourns drawn so far; 0: the process has not started (a view)."""
        return self.carry[:, C_MOD_COUNT]

    @property
    def gop_cur(self) -> I64:
        """Camera: the GOP in force; 0 while the plain GOP model applies (a view)."""
        return self.carry[:, C_GOP_CUR]

    @property
    def gop_pos(self) -> I64:
        """Camera: the next frame's place in its GOP, 0 for an I-frame (a view)."""
        return self.carry[:, C_GOP_POS]

    @property
    def gop_override(self) -> I64:
        """Camera: the GOP an alarm imposes, 0 for none (a view the timeline writes)."""
        return self.carry[:, C_GOP_OVERRIDE]

    @property
    def burst_pos(self) -> I64:
        """Burst source: packets of the current burst already sent (a view)."""
        return self.carry[:, C_BURST_POS]

    @property
    def burst_free_ps(self) -> I64:
        """Burst source: earliest time of the next packet (a view)."""
        return self.carry[:, C_BURST_FREE]

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
            tree_pos0=(
                np.zeros(0, np.int64) if tree_pos0 is None else np.array(tree_pos0, np.int64)
            ),
        )

    def copy(self) -> SourceState:
        """An independent copy."""
        return SourceState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


def frame_time_ps(anchor_ps: int, k: int, fps_num: int, fps_den: int) -> int:
    """Capture time of frame ``k``: ``anchor + floor(k * den * 1e12 / num)``, exact, no drift."""
    q, r = divmod(k, fps_num)
    return anchor_ps + q * fps_den * PS_PER_S + (r * fps_den * PS_PER_S) // fps_num


def p_mean_bytes(bitrate_bps: int, fps: Fraction, gop: int, ip_ratio: float) -> float:
    """Mean P-frame size so that a GOP of one I (= ip_ratio x P) and gop-1 P frames
    carries ``bitrate`` on average: ``P = B * gop / (8 * fps * (gop - 1 + ip_ratio))``."""
    return float(bitrate_bps * gop / (8 * float(fps) * (gop - 1 + ip_ratio)))


def build_sources(
    scenario: Scenario,
    groups: list[str],
    base_dir: Path | None = None,
) -> SourceTable:
    """Flatten the scenario's camera groups, generic sources and services into a
    :class:`SourceTable`.

    A camera group's rows are computed as arrays, all its cameras at once
    (:func:`_camera_block`); trace cameras, generic sources and services one
    :class:`SourceRow` at a time."""
    seed = scenario.simulation.seed
    default_header = scenario.conventions.header_bytes
    group_index = {g: i for i, g in enumerate(groups)}
    blocks: list[_Block] = []
    rows: list[SourceRow] = []  # rows not yet in a block
    choice_values: list[int] = []
    choice_cum: list[float] = []
    trace_t: list[npt.NDArray[np.int64]] = []
    trace_size: list[npt.NDArray[np.int64]] = []
    n_trace = 0

    def header_of(header: int | None) -> int:
        return default_header if header is None else header

    def add_trace(row: SourceRow, t: I64, s: I64, loop: bool) -> None:
        nonlocal n_trace
        row.trace_start = n_trace
        row.trace_end = n_trace + len(t)
        row.trace_period = trace_period_ps(t) if loop else 0
        trace_t.append(t)
        trace_size.append(s)
        n_trace += len(t)

    for k, cam in enumerate(scenario.cameras):
        if cam.replays_trace:
            rows += _trace_camera_rows(cam, group_index[cam.name], seed, header_of, add_trace)
        elif k == 0 or scenario.cameras[k - 1].replays_trace:  # the first of a run of groups
            run = list(itertools.takewhile(lambda c: not c.replays_trace, scenario.cameras[k:]))
            blocks += [_rows_block(rows), _camera_block(run, group_index, seed, header_of)]
            rows = []

    for src in scenario.sources:
        g = group_index[src.name]
        kind = {"cbr": KIND_CBR, "poisson": KIND_POISSON, "trace": KIND_TRACE, "onoff": KIND_ONOFF}[
            src.kind
        ]
        row = new_row(
            seed,
            src.name,
            src.at,
            src.destinations,
            g,
            kind,
            header_of(src.header_bytes),
            src.start,
            src.stop,
        )
        header = row.header
        row.multicast = src.multicast
        if kind == KIND_TRACE:
            assert src.file is not None
            path = Path(src.file)
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            add_trace(row, *load_trace(path), src.loop)
        else:
            mean_payload = _size_params(src, row, choice_values, choice_cum)
            mean_wire = mean_payload + header
            pps = _packet_rate(src, mean_wire)
            if kind in (KIND_CBR, KIND_ONOFF):
                row.interval = src.interval if src.interval is not None else round(PS_PER_S / pps)
                row.interval = max(1, row.interval)
            else:
                row.mean_gap = PS_PER_S / pps
            if kind == KIND_ONOFF:
                _onoff_row(row, src)
        rows.append(row)

    link_rate = _fastest_link_rate(scenario)
    for i, svc in enumerate(scenario.services):
        rows += service_rows(
            svc,
            group_index,
            seed,
            header_of(svc.header_bytes),
            link_rate,
            f'services[{i}] (name="{svc.name}")',
        )
    blocks.append(_rows_block(rows))

    col: dict[str, Column] = {
        c: np.concatenate([b.columns[c] for b in blocks]).astype(dtype, copy=False)
        for c, dtype in _COLUMNS.items()
    }
    camera = col["kind"] == KIND_CAMERA
    rates = set(zip(col["fps_num"][camera].tolist(), col["fps_den"][camera].tolist(), strict=True))
    return SourceTable(
        names=[name for b in blocks for name in b.names],
        origin_nodes=[origin for b in blocks for origin in b.origins],
        destinations=[dests for b in blocks for dests in b.destinations],
        group=col["group"],
        kind=col["kind"],
        key=col["key"],
        header_bytes=col["header"],
        anchor_ps=col["anchor"],
        fps_num=col["fps_num"],
        fps_den=col["fps_den"],
        gop=col["gop"],
        gop_offset=col["gop_offset"],
        p_mean_bytes=col["p_mean"],
        ip_ratio=col["ip_ratio"],
        p_sigma=col["p_sigma"],
        i_sigma=col["i_sigma"],
        max_payload=col["max_payload"],
        interval_ps=col["interval"],
        mean_gap_ps=col["mean_gap"],
        size_kind=col["size_kind"],
        size_a=col["size_a"],
        size_b=col["size_b"],
        choice_values=np.array(choice_values, dtype=np.int64),
        choice_cum=np.array(choice_cum, dtype=np.float64),
        trace_start=col["trace_start"],
        trace_end=col["trace_end"],
        trace_period_ps=col["trace_period"],
        trace_t=np.concatenate(trace_t) if trace_t else np.zeros(0, np.int64),
        trace_size=np.concatenate(trace_size) if trace_size else np.zeros(0, np.int64),
        start_ps=col["start"],
        stop_ps=col["stop"],
        multicast=col["multicast"],
        frame_period_max_ps=max((frame_time_ps(0, 1, n, d) for n, d in rates), default=0),
        beh_flags=col["beh_flags"],
        motion_scale=col["motion_scale"],
        motion_gop=col["motion_gop"],
        dn_day_ps=col["dn_day"],
        dn_night_ps=col["dn_night"],
        dn_tod0_ps=col["dn_tod0"],
        dn_night_scale=col["dn_night_scale"],
        mod_key=col["mod_key"],
        mod_t0_ps=col["mod_t0"],
        mod_mean0_ps=col["mod_mean0"],
        mod_mean1_ps=col["mod_mean1"],
        mod_shape0=col["mod_shape0"],
        mod_shape1=col["mod_shape1"],
        burst_packets=col["burst_packets"],
        burst_delay_ps=col["burst_delay"],
    )


#: The dtype of each column of :class:`SourceRow` (its name, origin and destinations aside).
_COLUMNS: dict[str, type] = {
    f.name: {
        "int": np.int64,
        "float": np.float64,
        "bool": np.bool_,
        "np.uint64": np.uint64,
        "np.uint64 | None": np.uint64,
    }[str(f.type)]
    for f in fields(SourceRow)
    if f.name not in ("name", "origin", "dests")
}


@dataclass
class _Block:
    """Consecutive rows of the table: their names, origins, destinations and columns."""

    names: list[str]
    origins: list[str]
    destinations: list[list[str]]
    columns: dict[str, Column]


def _rows_block(rows: list[SourceRow]) -> _Block:
    """The block of ``rows``; a row's ``mod_key`` is its own key unless it names another."""
    columns: dict[str, Column] = {
        c: np.array([getattr(r, c) for r in rows], dtype=dtype)
        for c, dtype in _COLUMNS.items()
        if c != "mod_key"
    }
    columns["mod_key"] = np.array(
        [r.key if r.mod_key is None else r.mod_key for r in rows], dtype=np.uint64
    )
    return _Block(
        [str(r.name) for r in rows],
        [str(r.origin) for r in rows],
        [list(r.dests) for r in rows],
        columns,
    )


def _camera_block(
    cams: list[CameraGroup],
    group_index: dict[str, int],
    seed: int,
    header_of: Callable[[int | None], int],
) -> _Block:
    """The rows of consecutive camera groups (none replaying traces), group by group, camera
    by camera, each camera's streams in order, computed as arrays over every camera.

    A stream's constant columns come from its template row (:func:`_stream_template`); its
    key is its name's; a random phase draws ``(key, STREAM_PHASE, 0)`` (the first frame,
    within one frame period) and ``(key, STREAM_GOP_OFFSET, 0)`` (the place in the GOP);
    motion keys the modulating process by the camera's name, so that every stream of a camera
    sees the same motion."""
    templates: list[SourceRow] = []
    random: list[bool] = []  # per template: a random phase
    period: list[float] = []  # per template: the frame period, ps
    names: list[str] = []
    origins: list[str] = []
    destinations: list[list[str]] = []
    template_of_row: list[I64] = []
    camera_of_row: list[I64] = []  # index into motion_cameras; -1: the row's own key
    motion_cameras: list[str] = []
    for cam in cams:
        streams = camera_streams(cam)
        first = len(templates)
        for st in streams:
            templates.append(
                _stream_template(cam, st, group_index[stream_group_name(cam, st)], header_of)
            )
            random.append(cam.phase == "random")
            period.append(float(Fraction(PS_PER_S) / st.fps))
        cameras = [camera_name(cam, i) for i in range(cam.count)]
        names += [c if st.suffix is None else f"{c}/{st.suffix}" for c in cameras for st in streams]
        origins += [c for c in cameras for _ in streams]
        destinations += [list(st.destinations) for _ in cameras for st in streams]
        template_of_row.append(np.tile(np.arange(first, len(templates)), cam.count))
        own = np.full(cam.count * len(streams), -1, np.int64)
        if cam.motion is not None and any(st.suffix is not None for st in streams):
            own[:] = np.repeat(np.arange(cam.count) + len(motion_cameras), len(streams))
            motion_cameras += cameras
        camera_of_row.append(own)
    spec = np.concatenate(template_of_row)
    columns: dict[str, Column] = {c: v[spec] for c, v in _rows_block(templates).columns.items()}
    keys = source_keys(seed, names)
    mod_key = keys.copy()
    by_camera = np.concatenate(camera_of_row)
    mod_key[by_camera >= 0] = source_keys(seed, motion_cameras)[by_camera[by_camera >= 0]]
    gop = columns["gop"]
    phase = (uniforms(keys, STREAM_PHASE, 0) * np.array(period)[spec]).astype(np.int64)
    gop_offset = (uniforms(keys, STREAM_GOP_OFFSET, 0) * gop).astype(np.int64) % gop
    random_phase = np.array(random, np.bool_)[spec]
    columns["key"] = keys
    columns["mod_key"] = mod_key
    columns["anchor"] = np.where(random_phase, columns["start"] + phase, columns["start"])
    columns["gop_offset"] = np.where(random_phase, gop_offset, 0)
    return _Block(names, origins, destinations, columns)


def _stream_template(
    cam: CameraGroup, st: StreamParams, group: int, header_of: Callable[[int | None], int]
) -> SourceRow:
    """The columns every camera's row of stream ``st`` shares: the GOP model, motion and
    day/night (its name, key, phase and motion key are each camera's)."""
    header = header_of(cam.header_bytes)
    row = keyed_row("", "", [], group, KIND_CAMERA, np.uint64(0), header, cam.start, cam.stop)
    row.fps_num = st.fps.numerator
    row.fps_den = st.fps.denominator
    row.gop = st.gop
    row.p_mean = p_mean_bytes(st.bitrate_bps, st.fps, st.gop, st.ip_ratio)
    row.ip_ratio = st.ip_ratio
    row.p_sigma = st.p_sigma
    row.i_sigma = st.i_sigma
    row.max_payload = st.max_payload
    row.multicast = st.multicast
    if cam.motion is not None:
        m = cam.motion
        row.beh_flags |= BEH_MOTION
        row.mod_t0 = cam.start
        row.mod_mean0 = float(m.idle_mean)
        row.mod_mean1 = float(m.motion_mean)
        row.motion_scale = m.bitrate_scale
        row.motion_gop = m.gop or 0
    if cam.day_night is not None:
        dn = cam.day_night
        row.beh_flags |= BEH_DAY_NIGHT
        row.dn_day = dn.day_start
        row.dn_night = dn.night_start
        row.dn_tod0 = dn.time_of_day_at_start
        row.dn_night_scale = dn.night_scale
    return row


def _trace_camera_rows(
    cam: CameraGroup,
    group: int,
    seed: int,
    header_of: Callable[[int | None], int],
    add_trace: Callable[[SourceRow, I64, I64, bool], None],
) -> list[SourceRow]:
    """The rows of a camera group replaying traces: camera ``i`` replays trace ``i`` from
    its own node, exactly as a ``trace`` source there would."""
    traces = camera_traces(cam)
    rows = []
    for i in range(cam.count):
        cname = camera_name(cam, i)
        row = new_row(
            seed,
            cname,
            cname,
            cam.destinations,
            group,
            KIND_TRACE,
            header_of(cam.header_bytes),
            cam.start,
            cam.stop,
        )
        row.multicast = cam.multicast
        add_trace(row, traces.times[i], traces.sizes[i], cam.loop)
        rows.append(row)
    return rows


def _onoff_row(row: SourceRow, src: Source) -> None:
    """The on/off columns of a generic ``onoff`` source (its own key and start)."""
    assert src.on_mean is not None and src.off_mean is not None
    row.mod_t0 = src.start
    row.mod_mean0 = float(src.off_mean)
    row.mod_mean1 = float(src.on_mean)
    row.mod_shape0 = src.off_shape if src.off_shape is not None else DEFAULT_PARETO_SHAPE
    row.mod_shape1 = src.on_shape if src.on_shape is not None else DEFAULT_PARETO_SHAPE


def _fastest_link_rate(scenario: Scenario) -> dict[str, int]:
    """The fastest link at each node (a service's default response rate)."""
    out: dict[str, int] = {}
    for link in scenario.links:
        for node in (link.a, link.b):
            out[node] = max(out.get(node, 0), link.rate)
    return out


def _size_params(src: Source, row: SourceRow, values: list[int], cum: list[float]) -> float:
    """Set ``row``'s payload-size parameters (extending the shared choice arrays); returns
    the mean payload in bytes."""
    dist = src.size_dist
    if dist is None:
        assert src.size is not None
        row.size_kind = SIZE_FIXED
        row.size_a = src.size
        return float(src.size)
    if dist.kind == "exponential":
        assert dist.mean is not None
        row.size_kind = SIZE_EXPONENTIAL
        row.size_a = dist.mean
        row.size_b = dist.max if dist.max is not None else EXPONENTIAL_MAX_BYTES
        # ceil(X) is geometric: P(size >= k) = q^(k-1), q = exp(-1/mean), capped at size_b
        q = math.exp(-1.0 / dist.mean)
        return (1.0 - q**row.size_b) / (1.0 - q)
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
