"""The scenario as frozen pydantic models, every quantity an exact ``int`` in its base unit.

Field names are the keys of the TOML file (``from`` and ``class`` are spelled ``from_`` and
``class_`` in Python; both spellings are accepted). After validation, rates are ``int`` bit/s,
sizes ``int`` bytes, times ``int`` picoseconds and lengths ``int`` metres.

In a scenario file (:func:`~vidnet_sim.scenario.load_scenario`,
:func:`~vidnet_sim.scenario.parse_scenario_dict`) every quantity needs a unit (``'10Gbps'``); a
bare number is refused as ambiguous. From Python, a quantity may also be given as an ``int`` in
the base unit (``rate=10**9``), so that ``Scenario.model_validate(s.model_dump())`` round-trips.

Each model checks its own fields and the rules among them (``warmup < duration``, "give delay
or length, not both", ...). Checks that span the whole scenario (references to nodes, unique
ids, linked routes, overlapping alarms, SLA classes) are run by the loader.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    model_validator,
)

from vidnet_sim.scenario.units import (
    format_size,
    format_time,
    parse_rate,
    parse_size,
    parse_time,
)

__all__ = [
    "DEFAULT_LINK_BUFFER_BYTES",
    "DEFAULT_POE_CLASS",
    "DEFAULT_RETENTION_DAYS",
    "FIBRE_STATUSES",
    "POE_CLASS_WATTS",
    "UNITS_REQUIRED",
    "CameraGroup",
    "CameraStream",
    "Conventions",
    "DayNight",
    "Event",
    "GrowthYear",
    "Length",
    "Link",
    "Motion",
    "Node",
    "Rate",
    "Route",
    "Scenario",
    "Service",
    "Simulation",
    "Size",
    "SizeDist",
    "Sizing",
    "Sla",
    "Source",
    "Time",
    "default_bitrate_bps",
]


from vidnet_sim.scenario.behaviour import DayNight, Motion
from vidnet_sim.scenario.bounds import (
    MAX_CAMERAS,
    MAX_DURATION_PS,
    MAX_IP_RATIO,
    MAX_PACKET_RATE,
    MAX_PATH_NODES,
    MAX_REPORT_EPOCHS,
    MAX_SIGMA,
    MAX_WEIGHT,
    MAX_WINDOWS,
    MIN_FPS,
    MIN_REPORT_INTERVAL_PS,
    MIN_WINDOW_PS,
)
from vidnet_sim.scenario.fields import (
    DEFAULT_LINK_BUFFER_BYTES,
    UNITS_REQUIRED,
    BitrateScale,
    Gop,
    Length,
    PerSecond,
    Rate,
    Size,
    Time,
    _Model,
    _Name,
    _PositiveRate,
    _PositiveSize,
    _PositiveTime,
    _raise_rules,
    _stop_after_start,
)
from vidnet_sim.scenario.growth_year import GrowthYear
from vidnet_sim.scenario.qos import Qos, Scheduler
from vidnet_sim.scenario.services import Service


# --------------------------------------------------------------------------- simulation
class Simulation(_Model):
    """How long to simulate, from which seed, and in which windows."""

    duration: Annotated[_PositiveTime, Field(le=MAX_DURATION_PS)]
    warmup: Time = 0
    seed: Annotated[int, Field(ge=0)] = 0
    window: Annotated[Time, Field(ge=MIN_WINDOW_PS)] = parse_time("100ms")
    drain: bool = True
    report_interval: Annotated[Time, Field(ge=MIN_REPORT_INTERVAL_PS)] | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.warmup >= self.duration:
            _raise_rules(
                [
                    (
                        "warmup",
                        f"must be less than duration ({format_time(self.duration)}), "
                        f"got {format_time(self.warmup)}",
                    )
                ]
            )
        problems: list[tuple[str, str]] = []
        if self.duration // self.window > MAX_WINDOWS:
            problems.append(
                (
                    "window",
                    f"got {format_time(self.window)}: {self.duration // self.window} windows "
                    f"in {format_time(self.duration)}; expected at most {MAX_WINDOWS} "
                    f"(a window of at least {format_time(-(-self.duration // MAX_WINDOWS))})",
                )
            )
        ri = self.report_interval
        if ri is not None and self.duration // ri > MAX_REPORT_EPOCHS:
            problems.append(
                (
                    "report_interval",
                    f"got {format_time(ri)}: {self.duration // ri} report epochs in "
                    f"{format_time(self.duration)}; expected at most {MAX_REPORT_EPOCHS} "
                    f"(an interval of at least "
                    f"{format_time(-(-self.duration // MAX_REPORT_EPOCHS))})",
                )
            )
        _raise_rules(problems)
        return self


class Conventions(_Model):
    """Modelling conventions a comparison with another simulator must agree on."""

    header_bytes: Size = 78
    count_in_service: bool = True
    propagation_per_km: Time = parse_time("4.9us")


# --------------------------------------------------------------------------- network
NodeKind = Literal[
    "switch", "router", "site", "control_centre", "recorder", "gateway", "datacentre"
]


class Node(_Model):
    """A network node (switch, router, site, ...) identified by ``id``; ``district`` names
    the part of the city it serves (an event may target a district: every camera group
    attached at one of its nodes).

    Optional coordinates place it on a drawing and give a link without ``length`` or
    ``delay`` its straight-line fibre length for costing: ``x``/``y`` (lengths from an
    origin, e.g. ``'1.2km'``) or ``lat``/``lon`` (degrees, WGS 84), not both."""

    id: _Name
    kind: NodeKind = "switch"
    district: _Name | None = None
    x: Length | None = None
    y: Length | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None

    @model_validator(mode="after")
    def _coordinates(self) -> Self:
        problems: list[tuple[str, str]] = []
        for one, other in (("x", "y"), ("y", "x"), ("lat", "lon"), ("lon", "lat")):
            if getattr(self, one) is not None and getattr(self, other) is None:
                problems.append((other, f"{one} is given: give {other} too (a point needs both)"))
        if self.x is not None and self.lat is not None:
            problems.append(("lat", "give either x/y or lat/lon, not both"))
        _raise_rules(problems)
        return self


#: What the fibre of a link is: owned (``existing``), pulled in an existing duct (``duct``),
#: laid in a new trench (``trench``) or rented (``leased``). Priced by the cost model.
FibreStatus = Literal["existing", "duct", "trench", "leased"]
FIBRE_STATUSES: tuple[str, ...] = ("existing", "duct", "trench", "leased")


class Link(_Model):
    """A link between nodes ``a`` and ``b`` (both directions unless ``duplex = false``).

    ``fibre`` says what its fibre is (``None``: the scenario's ``fibre``); only the cost
    model reads it.
    """

    id: _Name | None = None
    a: _Name
    b: _Name
    rate: _PositiveRate
    delay: Time | None = None
    length: Length | None = None
    buffer: _PositiveSize | None = None
    buffer_packets: Annotated[int, Field(gt=0)] | None = None
    duplex: bool = True
    blocked: bool = False
    scheduler: Scheduler | None = None
    fibre: FibreStatus | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("id") is None:
            a, b = data.get("a"), data.get("b")
            if isinstance(a, str) and isinstance(b, str):
                return {**data, "id": f"{a}-{b}"}
        return data

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[tuple[str, str]] = []
        if self.a == self.b:
            problems.append(
                ("b", f"a link must join two different nodes; a and b are both {self.a!r}")
            )
        if self.delay is not None and self.length is not None:
            problems.append(("length", "give either delay or length, not both"))
        if self.buffer is not None and self.buffer_packets is not None:
            problems.append(
                ("buffer_packets", "give either buffer (bytes) or buffer_packets, not both")
            )
        _raise_rules(problems)
        return self


class Route(_Model):
    """An explicit path for the traffic from node ``from`` to node ``to``."""

    from_: _Name = Field(alias="from")
    to: _Name
    path: Annotated[list[_Name], Field(min_length=2, max_length=MAX_PATH_NODES)]

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[tuple[str, str]] = []
        if self.path[0] != self.from_:
            problems.append(
                ("path", f"must start at from={self.from_!r}, starts at {self.path[0]!r}")
            )
        if self.path[-1] != self.to:
            problems.append(("path", f"must end at to={self.to!r}, ends at {self.path[-1]!r}"))
        _raise_rules(problems)
        return self


# --------------------------------------------------------------------------- cameras
_Fps = Annotated[float, Field(ge=MIN_FPS, le=240)]
_IpRatio = Annotated[float, Field(gt=0, le=MAX_IP_RATIO)]
_Sigma = Annotated[float, Field(ge=0, le=MAX_SIGMA)]
_MIN_INTERVAL_PS = round(10**12 / MAX_PACKET_RATE)  # the interval of the highest packet rate

Codec = Literal["h264", "h265"]
#: The kind of a camera, which gives its default PoE class.
CameraKind = Literal["fixed", "ptz", "heater"]
#: IEEE 802.3 PoE classes by the power a switch port must supply (W): 802.3af, 802.3at,
#: 802.3bt type 3 and type 4.
PoeClass = Literal["af", "at", "bt3", "bt4"]
POE_CLASS_WATTS: dict[str, float] = {"af": 15.4, "at": 30.0, "bt3": 60.0, "bt4": 90.0}
#: A camera's PoE class when it gives none, by kind: a fixed camera 802.3af, a PTZ camera
#: 802.3at, a camera with a heater (or a PTZ with one) 802.3bt type 3.
DEFAULT_POE_CLASS: dict[str, str] = {"fixed": "af", "ptz": "at", "heater": "bt3"}
#: Days a recorder keeps a camera group's recordings when the group gives no retention_days.
DEFAULT_RETENTION_DAYS = 30
Resolution = Literal["VGA", "D1", "720p", "1080p", "4MP", "4K"]

# Mbit/s at (12 fps, 25 fps), H.264, from docs/domain.md §2 (viomic.com [B]); 4MP and 4K are
# extrapolated (twice and four times 1080p).
_H264_MBPS: dict[str, tuple[Fraction, Fraction]] = {
    "VGA": (Fraction("0.3"), Fraction("0.4")),
    "D1": (Fraction("0.5"), Fraction("0.6")),
    "720p": (Fraction(1), Fraction("1.5")),
    "1080p": (Fraction(2), Fraction(3)),
    "4MP": (Fraction(4), Fraction(6)),
    "4K": (Fraction(8), Fraction(12)),
}
# Mbit/s at 25 fps, H.265 (docs/domain.md §2: 2 MP 1.5-3, 4 MP 3-5, 8 MP 6-10); below 1080p
# 0.6 x H.264.
_H265_25_MBPS: dict[str, Fraction] = {
    "VGA": Fraction("0.6") * Fraction("0.4"),
    "D1": Fraction("0.6") * Fraction("0.6"),
    "720p": Fraction("0.6") * Fraction("1.5"),
    "1080p": Fraction("2.25"),
    "4MP": Fraction(4),
    "4K": Fraction(8),
}


def default_bitrate_bps(codec: str, resolution: str, fps: float) -> int:
    """Return the default mean bitrate of a camera stream, in bit/s (docs/domain.md §2).

    H.264 at 12 / 25 fps (viomic.com [B]): VGA 0.3 / 0.4 Mbit/s, D1 0.5 / 0.6, 720p 1 / 1.5,
    1080p 2 / 3; 4MP 4 / 6 and 4K 8 / 12 are extrapolated (2x and 4x 1080p), not sourced.
    H.265 at 25 fps: 1080p 2.25, 4MP 4, 4K 8 Mbit/s (middle of the ranges quoted in docs/domain.md
    §2), VGA / D1 / 720p 0.6 x H.264. An H.265 12 fps value is the 25 fps value scaled by the
    H.264 12/25 ratio of the same resolution.

    Between 12 and 25 fps the rate is interpolated linearly; below 12 fps it falls linearly to
    0 at 0 fps (``b12 * fps / 12``); above 25 fps it is extrapolated with the 12→25 slope.
    Computed exactly with fractions, rounded to the nearest bit/s.
    """
    if resolution not in _H264_MBPS:
        raise ValueError(f"unknown resolution {resolution!r}; expected one of {list(_H264_MBPS)}")
    h264_12, h264_25 = _H264_MBPS[resolution]
    if codec == "h264":
        b12, b25 = h264_12, h264_25
    elif codec == "h265":
        b25 = _H265_25_MBPS[resolution]
        b12 = h264_12 / h264_25 * b25
    else:
        raise ValueError(f"unknown codec {codec!r}; expected 'h264' or 'h265'")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    f = Fraction(fps)
    mbps = b12 * f / 12 if f <= 12 else b12 + (b25 - b12) * (f - 12) / 13
    return round(mbps * 10**6)


class CameraStream(_Model):
    """One of several streams every camera of a group sends (recording, low-res live view).

    Unset keys take the group's value; the bitrate is ``bitrate`` if given, else the default
    of the stream's codec, resolution and fps when it sets any of them, else the group's.
    """

    name: _Name
    codec: Codec | None = None
    resolution: Resolution | None = None
    fps: _Fps | None = None
    bitrate: _PositiveRate | None = None
    gop: Gop | None = None
    ip_ratio: _IpRatio | None = None
    p_sigma: _Sigma | None = None
    i_sigma: _Sigma | None = None
    rate_control: Literal["vbr", "cbr"] | None = None
    max_payload: _PositiveSize | None = None
    destinations: Annotated[list[_Name], Field(min_length=1)] | None = None
    class_: _Name | None = Field(default=None, alias="class")
    multicast: bool | None = None


#: The keys of the video model, which a camera group replaying a trace must not give.
TRACE_EXCLUDED_KEYS = (
    "codec",
    "resolution",
    "fps",
    "bitrate",
    "gop",
    "ip_ratio",
    "p_sigma",
    "i_sigma",
    "rate_control",
    "max_payload",
    "phase",
    "streams",
    "motion",
    "day_night",
)


class CameraGroup(_Model):
    """``count`` identical cameras attached to node ``attach``, streaming to ``destinations``
    (the video model), or ``count`` cameras replaying their recorded traces (``trace``: one
    file with a ``camera`` column; ``trace_dir``: a folder of files, one per camera)."""

    name: _Name
    count: Annotated[int, Field(ge=1, le=MAX_CAMERAS)]
    attach: _Name
    access_rate: _PositiveRate = parse_rate("100Mbps")
    access_delay: Time | None = None
    access_length: Length | None = None
    access_buffer: _PositiveSize = parse_size("1MiB")
    access_buffer_packets: Annotated[int, Field(gt=0)] | None = None
    codec: Codec = "h264"
    resolution: Resolution = "1080p"
    fps: _Fps = 25.0
    bitrate: _PositiveRate | None = None
    gop: Gop | None = None
    ip_ratio: _IpRatio = 10.0
    p_sigma: _Sigma = 0.3
    i_sigma: _Sigma = 0.04
    rate_control: Literal["vbr", "cbr"] = "vbr"
    max_payload: _PositiveSize = parse_size("1400B")
    header_bytes: Size | None = None
    phase: Literal["random", "aligned"] = "random"
    start: Time = 0
    stop: Time | None = None
    destinations: Annotated[list[_Name], Field(min_length=1)]
    class_: _Name = Field(default="video", alias="class")
    multicast: bool = False
    streams: list[CameraStream] = Field(default_factory=list)
    motion: Motion | None = None
    day_night: DayNight | None = None
    kind: CameraKind = "fixed"
    poe_class: PoeClass | None = None
    retention_days: Annotated[int, Field(ge=1, le=3650)] = DEFAULT_RETENTION_DAYS
    trace: _Name | None = None
    trace_dir: _Name | None = None
    loop: bool = False

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[tuple[str, str]] = self._trace_rules()
        if self.access_delay is not None and self.access_length is not None:
            problems.append(
                ("access_length", "give either access_delay or access_length, not both")
            )
        # the default byte size is harmless beside a packet count (a model_dump sets it)
        if (
            self.access_buffer_packets is not None
            and "access_buffer" in self.model_fields_set
            and self.access_buffer != type(self).model_fields["access_buffer"].default
        ):
            problems.append(
                (
                    "access_buffer_packets",
                    "give either access_buffer (bytes) or access_buffer_packets, not both",
                )
            )
        problems += _stop_after_start(self.start, self.stop)
        seen: dict[str, int] = {}
        for j, stream in enumerate(self.streams):
            if stream.name in seen:
                problems.append(
                    (
                        f"streams[{j}].name",
                        f"duplicate stream name {stream.name!r} "
                        f"(also streams[{seen[stream.name]}])",
                    )
                )
            seen.setdefault(stream.name, j)
        _raise_rules(problems)
        return self

    def _trace_rules(self) -> list[tuple[str, str]]:
        """``trace`` or ``trace_dir`` (not both) replace the video model's keys."""
        problems: list[tuple[str, str]] = []
        if self.trace is not None and self.trace_dir is not None:
            problems.append(
                (
                    "trace_dir",
                    "give either trace (one file with a 'camera' column) or trace_dir (a "
                    "folder of files, one per camera), not both",
                )
            )
        if not self.replays_trace:
            if self.loop:
                problems.append(("loop", "only with trace or trace_dir (a recorded trace)"))
            return problems
        key = "trace" if self.trace is not None else "trace_dir"
        fields = type(self).model_fields
        for f in TRACE_EXCLUDED_KEYS:
            # a default value is harmless (and every key is set in a model_dump round trip)
            default = fields[f].get_default(call_default_factory=True)
            if f in self.model_fields_set and getattr(self, f) != default:
                problems.append(
                    (
                        f,
                        f"not with {key}: the recorded trace gives every packet's time and "
                        "payload size; remove it (or the trace)",
                    )
                )
        return problems

    @property
    def replays_trace(self) -> bool:
        """Whether the group replays recorded traces (``trace`` or ``trace_dir``) instead of
        the video model."""
        return self.trace is not None or self.trace_dir is not None

    @property
    def bitrate_bps(self) -> int:
        """The mean bitrate: ``bitrate`` if given, else :func:`default_bitrate_bps`."""
        if self.bitrate is not None:
            return self.bitrate
        return default_bitrate_bps(self.codec, self.resolution, self.fps)

    @property
    def poe_watts(self) -> float:
        """The power (W) its switch port must supply: ``poe_class``, else the kind's default."""
        return POE_CLASS_WATTS[self.poe_class or DEFAULT_POE_CLASS[self.kind]]

    @property
    def gop_frames(self) -> int:
        """The GOP length in frames: ``gop`` if given, else ``round(fps)`` (one I-frame/s)."""
        return self.gop if self.gop is not None else max(1, round(self.fps))


# --------------------------------------------------------------------------- sources
class SizeDist(_Model):
    """Distribution of payload sizes of a Poisson source: uniform, a weighted choice (an
    empirical histogram) or exponential."""

    kind: Literal["uniform", "choice", "exponential"]
    min: _PositiveSize | None = None
    max: _PositiveSize | None = None
    mean: _PositiveSize | None = None
    values: Annotated[list[_PositiveSize], Field(min_length=1)] | None = None
    weights: list[Annotated[float, Field(gt=0, le=MAX_WEIGHT)]] | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[tuple[str, str]] = []
        if self.kind == "exponential":
            if self.mean is None:
                problems.append(("mean", "required for kind 'exponential'"))
            problems += [
                (f, "not for kind 'exponential'")
                for f in ("min", "values", "weights")
                if getattr(self, f) is not None
            ]
            _raise_rules(problems)
            return self
        if self.mean is not None:
            problems.append(("mean", "only for kind 'exponential'"))
        if self.kind == "uniform":
            problems += [
                (f, "required for kind 'uniform'")
                for f in ("min", "max")
                if getattr(self, f) is None
            ]
            problems += [
                (f, "only for kind 'choice'")
                for f in ("values", "weights")
                if getattr(self, f) is not None
            ]
            if self.min is not None and self.max is not None and self.min > self.max:
                problems.append(
                    (
                        "max",
                        f"must be at least min ({format_size(self.min)}), "
                        f"got {format_size(self.max)}",
                    )
                )
        else:
            if self.values is None:
                problems.append(("values", "required for kind 'choice'"))
            problems += [
                (f, "only for kind 'uniform'")
                for f in ("min", "max")
                if getattr(self, f) is not None
            ]
            if (
                self.values is not None
                and self.weights is not None
                and len(self.weights) != len(self.values)
            ):
                problems.append(
                    (
                        "weights",
                        f"needs one weight per value: {len(self.values)} values, "
                        f"{len(self.weights)} weights",
                    )
                )
        _raise_rules(problems)
        return self


class Source(_Model):
    """A generic traffic source: constant bit rate, Poisson, the replay of a trace file, or
    on/off (CBR while on, Pareto on and off periods; ``rate`` is the rate while on)."""

    name: _Name
    kind: Literal["cbr", "poisson", "trace", "onoff"]
    at: _Name
    destinations: Annotated[list[_Name], Field(min_length=1)]
    class_: _Name = Field(default="data", alias="class")
    multicast: bool = False
    rate: _PositiveRate | None = None
    packet_rate: PerSecond | None = None
    interval: Annotated[Time, Field(ge=_MIN_INTERVAL_PS)] | None = None
    size: _PositiveSize | None = None
    size_dist: SizeDist | None = None
    file: _Name | None = None
    loop: bool = False
    header_bytes: Size | None = None
    start: Time = 0
    stop: Time | None = None
    on_mean: _PositiveTime | None = None
    off_mean: _PositiveTime | None = None
    on_shape: Annotated[float, Field(gt=1)] | None = None
    off_shape: Annotated[float, Field(gt=1)] | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[tuple[str, str]] = []
        kind = self.kind

        def only(fields: tuple[str, ...], kinds: str) -> None:
            for f in fields:
                if getattr(self, f) is not None:
                    problems.append((f, f"only for kind {kinds}, not {kind!r}"))

        def exactly_one(fields: tuple[str, ...]) -> None:
            given = [f for f in fields if getattr(self, f) is not None]
            if len(given) != 1:
                names = ", ".join(fields)
                what = "none given" if not given else "given: " + ", ".join(given)
                problems.append(("", f"a {kind} source needs exactly one of {names} ({what})"))

        if kind in ("cbr", "onoff"):
            if self.size is None:
                problems.append(("size", f"required for a {kind} source (payload bytes)"))
            exactly_one(("rate", "packet_rate", "interval"))
            only(("size_dist",), "'poisson'")
            only(("file",), "'trace'")
        elif kind == "poisson":
            exactly_one(("size", "size_dist"))
            exactly_one(("rate", "packet_rate"))
            only(("interval",), "'cbr'")
            only(("file",), "'trace'")
        else:
            if self.file is None:
                problems.append(("file", "required for a trace source (CSV or Parquet path)"))
            for f in ("rate", "packet_rate", "interval", "size", "size_dist"):
                if getattr(self, f) is not None:
                    problems.append(
                        (f, "not allowed for a trace source (the trace gives times and sizes)")
                    )
        if self.loop and kind != "trace":
            problems.append(("loop", f"only for kind 'trace', not {kind!r}"))
        if kind == "onoff":
            problems += [
                (f, "required for an onoff source")
                for f in ("on_mean", "off_mean")
                if getattr(self, f) is None
            ]
        else:
            only(("on_mean", "off_mean", "on_shape", "off_shape"), "'onoff'")
        problems += _stop_after_start(self.start, self.stop)
        _raise_rules(problems)
        return self


# --------------------------------------------------------------------------- events, SLA
class Event(_Model):
    """A change on the timeline: an alarm raising bitrates for a while, a start / stop, or a
    link failure (``link`` down from ``at`` for ``duration``, traffic rerouted after
    ``convergence``)."""

    kind: Literal["alarm", "start", "stop", "failure"]
    targets: Annotated[list[_Name], Field(min_length=1)] | None = None
    at: Time
    duration: _PositiveTime | None = None
    bitrate_scale: BitrateScale = 3.0
    gop: Gop | None = None
    link: _Name | None = None
    convergence: Time = parse_time("50ms")
    revert: bool = True
    on_unreachable: Literal["lose", "error"] = "lose"

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[tuple[str, str]] = []
        kind = self.kind
        set_ = self.model_fields_set
        if kind in ("alarm", "failure") and self.duration is None:
            what = "an alarm" if kind == "alarm" else "a failure (the time to repair)"
            problems.append(("duration", f"required for {what}"))
        if kind in ("start", "stop") and self.duration is not None:
            problems.append(("duration", f"only for an alarm or a failure, not a {kind!r} event"))
        if kind != "alarm":
            for f in ("bitrate_scale", "gop"):
                if f in set_:
                    problems.append((f, f"only for an alarm, not a {kind!r} event"))
        if kind == "failure":
            if self.link is None:
                problems.append(("link", "required for a failure (the id of the failed link)"))
            if self.targets is not None:
                problems.append(("targets", "not for a failure (give link)"))
        else:
            if self.targets is None:
                problems.append(
                    ("targets", f"required for {'an' if kind == 'alarm' else 'a'} {kind!r} event")
                )
            for f in ("link", "convergence", "revert", "on_unreachable"):
                if f in set_:
                    problems.append((f, f"only for a failure, not a {kind!r} event"))
        _raise_rules(problems)
        return self

    @property
    def end(self) -> int | None:
        """End of an alarm or failure (``at + duration``, ps); None for start / stop events."""
        return None if self.duration is None else self.at + self.duration


_Ratio = Annotated[float, Field(ge=0, le=1)]


#: Old SLA key -> its name now (the result columns' vocabulary); the old names are accepted
#: with a note.
SLA_KEY_ALIASES: dict[str, str] = {
    f"packet_latency_{stat}": f"latency_{stat}" for stat in ("p50", "p95", "p99", "p999", "max")
}


def _sla_latency(name: str) -> Any:
    old = [k for k, v in SLA_KEY_ALIASES.items() if v == name]
    return Field(default=None, validation_alias=AliasChoices(name, *old))


class Sla(_Model):
    """Targets for one traffic class; every target is optional. The keys are the summary
    columns' names without their unit (``latency_p99`` bounds ``latency_p99_ps``);
    ``packet_latency_*`` are accepted as old names of ``latency_*``."""

    latency_p50: Time | None = _sla_latency("latency_p50")
    latency_p95: Time | None = _sla_latency("latency_p95")
    latency_p99: Time | None = _sla_latency("latency_p99")
    latency_p999: Time | None = _sla_latency("latency_p999")
    latency_max: Time | None = _sla_latency("latency_max")
    frame_latency_p50: Time | None = None
    frame_latency_p95: Time | None = None
    frame_latency_p99: Time | None = None
    frame_latency_p999: Time | None = None
    frame_latency_max: Time | None = None
    loss: _Ratio | None = None
    frame_loss: _Ratio | None = None


class Sizing(_Model):
    """How ``vidnet-sim size`` sizes the network (``[sizing]``; ignored by ``run``).

    ``survive = "single-link"``: every design the search accepts is also simulated with
    each ``protected`` link failed (default: every link whose failure leaves all traffic a
    path), after ``convergence``; the plan meets every SLA in every case. ``failure_loss``:
    the share of packets each class may lose to a failure (convergence), beside its
    ``loss`` target, which counts buffer losses only. ``one_tier``: groups of link ids
    held at one tier (e.g. the spans of a ring)."""

    survive: Literal["none", "single-link"] = "none"
    protected: list[_Name] | None = None
    convergence: Time = parse_time("50ms")
    failure_loss: _Ratio | None = None
    one_tier: list[Annotated[list[_Name], Field(min_length=2)]] = Field(default_factory=list)


# --------------------------------------------------------------------------- scenario
class Scenario(_Model):
    """A whole scenario: topology, traffic, timeline and targets."""

    name: str | None = None
    description: str = ""
    simulation: Simulation
    conventions: Conventions = Field(default_factory=Conventions)
    nodes: Annotated[list[Node], Field(min_length=1)]
    links: list[Link] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    cameras: list[CameraGroup] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    sla: dict[str, Sla] = Field(default_factory=dict)
    qos: Qos | None = None
    growth: list[GrowthYear] = Field(default_factory=list)
    sizing: Sizing | None = None
    fibre: FibreStatus = "existing"

    def link_fibre(self, link: Link) -> str:
        """The fibre status of ``link``: its own ``fibre``, else the scenario's."""
        return link.fibre or self.fibre

    @property
    def has_traffic(self) -> bool:
        """Does the scenario send anything: a camera group, a source or a service?"""
        return bool(self.cameras or self.sources or self.services)

    _notes: list[str] = PrivateAttr(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """What the loader noticed but accepted (e.g. an old SLA key name), one sentence
        each; a run prints them with its warnings."""
        return self._notes
