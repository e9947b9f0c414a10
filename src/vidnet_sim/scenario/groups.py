"""The statistics groups of a scenario: one row each in the results.

A camera group with one stream is the group ``<name>``; with ``[[cameras.streams]]`` each
stream is the group ``<name>/<stream>``; a generic source is ``<name>``; a service is
``<name>:<direction>`` (``<name>`` when it has one direction). The loader checks that the
names are distinct; the traffic sources (:mod:`vidnet_sim.traffic.sources`) assign each
source to its group in this order.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.scenario.model import (
    CameraGroup,
    CameraStream,
    Event,
    Scenario,
    default_bitrate_bps,
)
from vidnet_sim.scenario.raw import target_groups
from vidnet_sim.scenario.trace import CameraTraces, load_camera_traces

__all__ = [
    "GroupInfo",
    "StreamParams",
    "camera_name",
    "camera_streams",
    "camera_traces",
    "event_groups",
    "event_targets",
    "fps_fraction",
    "scenario_groups",
    "stream_group_name",
    "trace_count_mismatch",
]


def fps_fraction(fps: float) -> Fraction:
    """The frame rate as an exact small fraction (25 -> 25/1, 29.97 -> 2997/100)."""
    return Fraction(str(fps)).limit_denominator(1001)


@dataclass(frozen=True)
class StreamParams:
    """A camera stream with the group's values filled in (see :class:`CameraStream`)."""

    suffix: str | None  # None: the group's only stream
    fps: Fraction
    gop: int
    bitrate_bps: int
    ip_ratio: float
    p_sigma: float  # 0 with rate_control = "cbr"
    i_sigma: float
    max_payload: int
    destinations: list[str]
    class_: str
    multicast: bool


def camera_traces(cam: CameraGroup) -> CameraTraces:
    """The recorded traces of a group that replays them (``trace`` or ``trace_dir``), one per
    camera (read once while the files are unchanged).

    Raises :class:`~vidnet_sim.scenario.trace.TraceError` for a bad trace, and
    :class:`~vidnet_sim.errors.ScenarioError` when ``count`` is not the number of cameras in
    it (the loader reports both at their keys)."""
    if cam.trace is not None:
        traces = load_camera_traces(cam.trace)
    elif cam.trace_dir is not None:
        traces = load_camera_traces(cam.trace_dir, folder=True)
    else:
        raise ValueError(f"camera group {cam.name!r} replays no trace")
    mismatch = trace_count_mismatch(cam, traces)
    if mismatch is not None:
        raise ScenarioError(Problem(f'cameras (name="{cam.name}").count', mismatch))
    return traces


def trace_count_mismatch(cam: CameraGroup, traces: CameraTraces) -> str | None:
    """Why ``cam.count`` does not fit ``traces`` (one camera per trace), or None."""
    if cam.count == len(traces):
        return None
    shown = ", ".join(repr(x) for x in traces.labels[:5])
    more = f" and {len(traces) - 5} more" if len(traces) > 5 else ""
    where = cam.trace if cam.trace is not None else cam.trace_dir
    per = "'camera' values" if cam.trace is not None else "trace files"
    return (
        f"got {cam.count}: {where} holds {len(traces)} camera(s) ({per}: {shown}{more}); "
        f"count must equal the number of cameras in the trace"
    )


def camera_streams(cam: CameraGroup) -> list[StreamParams]:
    """The streams of every camera of ``cam``: its ``streams``, or the group itself.

    A group replaying traces is one stream whose ``bitrate_bps`` is its traces' mean payload
    rate (:attr:`~vidnet_sim.scenario.trace.CameraTraces.mean_payload_bps`); the video
    model's parameters of that stream are unused."""
    if cam.replays_trace:
        return [
            StreamParams(
                None,
                fps_fraction(cam.fps),
                cam.gop_frames,
                camera_traces(cam).mean_payload_bps,
                cam.ip_ratio,
                0.0,
                0.0,
                cam.max_payload,
                list(cam.destinations),
                cam.class_,
                cam.multicast,
            )
        ]
    if not cam.streams:
        vbr = cam.rate_control == "vbr"
        return [
            StreamParams(
                None,
                fps_fraction(cam.fps),
                cam.gop_frames,
                cam.bitrate_bps,
                cam.ip_ratio,
                cam.p_sigma if vbr else 0.0,
                cam.i_sigma if vbr else 0.0,
                cam.max_payload,
                list(cam.destinations),
                cam.class_,
                cam.multicast,
            )
        ]
    return [_stream_params(cam, st) for st in cam.streams]


def _stream_params(cam: CameraGroup, st: CameraStream) -> StreamParams:
    fps = st.fps if st.fps is not None else cam.fps
    if st.bitrate is not None:
        bitrate = st.bitrate
    elif st.codec is not None or st.resolution is not None or st.fps is not None:
        bitrate = default_bitrate_bps(st.codec or cam.codec, st.resolution or cam.resolution, fps)
    else:
        bitrate = cam.bitrate_bps
    if st.gop is not None:
        gop = st.gop
    elif st.fps is not None:
        gop = max(1, round(st.fps))
    else:
        gop = cam.gop_frames
    vbr = (st.rate_control or cam.rate_control) == "vbr"

    def pick(value: float | None, default: float) -> float:
        return float(value) if value is not None else float(default)

    return StreamParams(
        st.name,
        fps_fraction(fps),
        gop,
        bitrate,
        pick(st.ip_ratio, cam.ip_ratio),
        pick(st.p_sigma, cam.p_sigma) if vbr else 0.0,
        pick(st.i_sigma, cam.i_sigma) if vbr else 0.0,
        st.max_payload if st.max_payload is not None else cam.max_payload,
        list(st.destinations if st.destinations is not None else cam.destinations),
        st.class_ if st.class_ is not None else cam.class_,
        st.multicast if st.multicast is not None else cam.multicast,
    )


def stream_group_name(cam: CameraGroup, stream: StreamParams) -> str:
    """Statistics group of a stream: the group's name, or ``<group>/<stream>``."""
    return cam.name if stream.suffix is None else f"{cam.name}/{stream.suffix}"


@dataclass(frozen=True)
class GroupInfo:
    """The statistics groups of a scenario (one row each in the results)."""

    names: list[str]
    classes: list[str]
    kinds: list[str]
    paths: list[str]  # where each group is defined, for error messages: 'cameras[0]'
    owners: list[str]  # the camera group, source or service each group belongs to


def scenario_groups(scenario: Scenario) -> GroupInfo:
    """The groups :func:`~vidnet_sim.traffic.sources.build_sources` assigns sources to, in
    order: camera groups (one per stream), generic sources, then services (one per
    direction)."""
    names: list[str] = []
    classes: list[str] = []
    kinds: list[str] = []
    paths: list[str] = []
    owners: list[str] = []
    for i, cam in enumerate(scenario.cameras):
        where = f'cameras[{i}] (name="{cam.name}")'
        # a trace group is one stream; its traces are not read here
        streams = (
            [(cam.name, None, cam.class_)]
            if cam.replays_trace
            else [(stream_group_name(cam, st), st.suffix, st.class_) for st in camera_streams(cam)]
        )
        for j, (name, suffix, cls) in enumerate(streams):
            names.append(name)
            classes.append(cls)
            kinds.append("camera")
            paths.append(where if suffix is None else f'{where}.streams[{j}] (name="{suffix}")')
            owners.append(cam.name)
    for i, src in enumerate(scenario.sources):
        names.append(src.name)
        classes.append(src.class_)
        kinds.append(src.kind)
        paths.append(f'sources[{i}] (name="{src.name}")')
        owners.append(src.name)
    for i, svc in enumerate(scenario.services):
        for g in svc.group_names():
            names.append(g)
            classes.append(svc.class_name)
            kinds.append(svc.kind)
            paths.append(f'services[{i}] (name="{svc.name}")')
            owners.append(svc.name)
    return GroupInfo(names, classes, kinds, paths, owners)


def camera_name(cam: CameraGroup, i: int) -> str:
    """Name (and node id) of camera ``i`` of a group: ``group[i]``."""
    return f"{cam.name}[{i}]"


def event_targets(scenario: Scenario, event: Event) -> dict[str, int]:
    """The camera groups, sources and services ``event`` acts on, in order, each once, with
    the index of the first of its targets that names it: a target names itself, a node
    stands for every camera group attached at it, a district for every camera group attached
    at one of its nodes (:func:`~vidnet_sim.scenario.raw.target_groups`)."""
    names = {c.name for c in scenario.cameras}
    names |= {s.name for s in scenario.sources} | {s.name for s in scenario.services}
    cams = [(c.name, c.attach) for c in scenario.cameras]
    districts = {n.id: n.district for n in scenario.nodes}
    out: dict[str, int] = {}
    for j, target in enumerate(event.targets or ()):
        for group in target_groups(target, names, cams, districts):
            out.setdefault(group, j)
    return out


def event_groups(scenario: Scenario, event: Event) -> list[str]:
    """The camera groups, sources and services ``event`` acts on, in order, each once
    (:func:`event_targets` without the target indices)."""
    return list(event_targets(scenario, event))
