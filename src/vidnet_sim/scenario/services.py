"""The ``[[services]]`` section: the city services that share the network with the cameras.

A service attaches at node ``at`` (where its users or devices are: a site with phones, a
Wi-Fi access point, a LoRaWAN gateway, a signal controller cabinet) and exchanges traffic with
each of its ``destinations`` (control centre, data centre, internet gateway). *Up* is from
``at`` to the destinations, *down* from each destination back to ``at``. Kinds and their
defaults (docs/domain.md §5 unless marked as an assumption):

========  ======================================================================  ============
kind      model                                                                    directions
========  ======================================================================  ============
voip      ``calls`` CBR calls, codec payload every ``ptime`` (G.711 160 B, G.729   up + down
          20 B per 20 ms), random phase per call and direction
wifi      ``users`` Pareto on/off users at ``rate`` while on (profile browsing      down + up
          0.5 Mbit/s, sd 3, hd 5, 4k 25), a small upstream while on
iot       Poisson LoRaWAN uplinks, ``gateways x uplinks`` per s, payload uniform    up
          51-242 B
signals   NTCIP polls every ``interval`` (1 s) from each destination to each of     down + up
          ``controllers`` controllers, a response per poll
web       Poisson requests up (``users x requests`` per s), each answered by a      down + up
          burst of ``response_packets`` packets at ``response_rate``
bulk      CBR of full-size packets at ``rate`` (backups, video export)              up
========  ======================================================================  ============

With ``bidirectional = false`` a two-way service keeps only its main direction (the first
listed). Each direction is a statistics group named ``<name>:up`` / ``<name>:down``; a
service with one direction is the group ``<name>``. The traffic generator expands a service
into source rows (``vidnet_sim.traffic.services``).
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from vidnet_sim.scenario.bounds import MAX_SERVICE_COUNT
from vidnet_sim.scenario.fields import (
    Model,
    Name,
    PerSecond,
    PositiveRate,
    PositiveSize,
    PositiveTime,
    Size,
    Time,
    parse_time,
    raise_rules,
    stop_after_start,
)
from vidnet_sim.scenario.units import format_size

ServiceKind = Literal["voip", "wifi", "iot", "signals", "web", "bulk"]
VoipCodec = Literal["g711", "g729"]
WifiProfile = Literal["browsing", "sd", "hd", "4k"]

#: Default traffic class per kind (their DSCP marks: ``scenario.qos.DEFAULT_CLASS_DSCP``).
DEFAULT_CLASS: dict[str, str] = {
    "voip": "voice",
    "wifi": "wifi",
    "iot": "iot",
    "signals": "signals",
    "web": "web",
    "bulk": "bulk",
}

#: Codec payload bit rates, bit/s (ITU-T G.711 64 kbit/s, G.729 8 kbit/s). With 20 ms
#: packets: 160 B and 20 B of payload; with RTP/UDP/IP 40 B and Ethernet 18 B per packet
#: (``header_bytes = "58B"``) a direction carries 87.2 and 31.2 kbit/s, docs/domain.md §5 (Avaya
#: [A]); the default ``header_bytes`` of 78 B also counts preamble, SFD and inter-frame gap
#: (20 B): 95.2 and 39.2 kbit/s on the wire.
VOIP_CODEC_BPS: dict[str, int] = {"g711": 64_000, "g729": 8_000}
#: Packetisation interval of a call (docs/domain.md §5: 20 ms).
VOIP_PTIME_PS = parse_time("20ms")

#: Rate of an active Wi-Fi user while on, by profile, bit/s (docs/domain.md §5: browsing 0.5,
#: SD video 3, HD 5, 4K 25 Mbit/s; Linksys AP guide [A], FCC guide [B]).
WIFI_PROFILE_BPS: dict[str, int] = {
    "browsing": 500_000,
    "sd": 3_000_000,
    "hd": 5_000_000,
    "4k": 25_000_000,
}
#: Pareto shape of on and off periods (1 < a < 2: heavy tails, self-similar aggregate;
#: Willinger et al., IEEE/ACM ToN 1997). Assumed 1.4, inside the usual 1.2-1.5.
DEFAULT_PARETO_SHAPE = 1.4
#: Mean on and off periods of a Wi-Fi user: assumptions (no published figure).
WIFI_ON_MEAN_PS = parse_time("1s")
WIFI_OFF_MEAN_PS = parse_time("1s")
#: Upstream of a Wi-Fi user while on (requests, TCP acknowledgements): assumed 1/20 of the
#: downstream rate, in 64 B packets (about one acknowledgement per two full-size segments).
WIFI_UP_SHARE = 20
WIFI_UP_SIZE = 64

#: Full-size payload: 1460 B + 40 B of transport/IP headers = an Ethernet MTU of 1500 B.
FULL_PAYLOAD = 1460

#: LoRaWAN application payloads (docs/domain.md §5: 51-242 B, LoRaWAN regional parameters [A]).
IOT_SIZE_MIN = 51
IOT_SIZE_MAX = 242

#: NTCIP 1202 polling once per second (docs/domain.md §5 [A]); message sizes are assumptions
#: (only "kbit/s" per controller is published).
SIGNALS_INTERVAL_PS = parse_time("1s")
SIGNALS_POLL_SIZE = 100
SIGNALS_RESPONSE_SIZE = 300

#: Web / open data: about 1 Mbit/s per active user (docs/domain.md §5, FCC [B]), as the mean
#: downstream wire rate; request size and response length are assumptions.
WEB_RATE_BPS = 1_000_000
WEB_REQUEST_SIZE = 500
WEB_RESPONSE_PACKETS = 20

#: Fields each kind accepts (besides the common ones).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "voip": ("bidirectional", "calls", "codec", "ptime", "size"),
    "wifi": (
        "bidirectional",
        "users",
        "profile",
        "rate",
        "on_mean",
        "off_mean",
        "on_shape",
        "off_shape",
        "size",
        "up_rate",
        "up_size",
    ),
    "iot": ("gateways", "uplinks", "size_min", "size_max"),
    "signals": (
        "bidirectional",
        "controllers",
        "interval",
        "poll_size",
        "response_size",
        "response_delay",
    ),
    "web": (
        "bidirectional",
        "users",
        "rate",
        "requests",
        "request_size",
        "response_size",
        "response_packets",
        "response_rate",
        "response_delay",
    ),
    "bulk": ("rate", "size"),
}
#: Fields each kind requires.
KIND_REQUIRED: dict[str, tuple[str, ...]] = {
    "voip": ("calls",),
    "wifi": ("users",),
    "iot": ("uplinks",),
    "signals": ("controllers",),
    "web": ("users",),
    "bulk": ("rate",),
}
#: Directions of each kind, main direction first.
KIND_DIRECTIONS: dict[str, tuple[str, ...]] = {
    "voip": ("up", "down"),
    "wifi": ("down", "up"),
    "iot": ("up",),
    "signals": ("down", "up"),
    "web": ("down", "up"),
    "bulk": ("up",),
}

_Count = Annotated[int, Field(ge=1, le=MAX_SERVICE_COUNT)]
_Shape = Annotated[float, Field(gt=1)]


class Service(Model):
    """A city service: its kind, where it attaches, where its traffic goes, and its model.

    Every kind-specific parameter is optional and falls back to the defaults above (module
    constants, with their sources); :meth:`directions` and :meth:`group_names` say how the
    service appears in the results.
    """

    name: Name
    kind: ServiceKind
    at: Name
    destinations: Annotated[list[Name], Field(min_length=1)]
    class_: Name | None = Field(default=None, alias="class")
    bidirectional: bool | None = None
    header_bytes: Size | None = None
    start: Time = 0
    stop: Time | None = None
    # voip
    calls: _Count | None = None
    codec: VoipCodec | None = None
    ptime: PositiveTime | None = None
    # wifi, web
    users: _Count | None = None
    profile: WifiProfile | None = None
    rate: PositiveRate | None = None
    on_mean: PositiveTime | None = None
    off_mean: PositiveTime | None = None
    on_shape: _Shape | None = None
    off_shape: _Shape | None = None
    size: PositiveSize | None = None
    up_rate: PositiveRate | None = None
    up_size: PositiveSize | None = None
    # iot
    gateways: _Count | None = None
    uplinks: PerSecond | None = None
    size_min: PositiveSize | None = None
    size_max: PositiveSize | None = None
    # signals, web
    controllers: _Count | None = None
    interval: PositiveTime | None = None
    poll_size: PositiveSize | None = None
    request_size: PositiveSize | None = None
    requests: PerSecond | None = None
    response_size: PositiveSize | None = None
    response_packets: _Count | None = None
    response_rate: PositiveRate | None = None
    response_delay: Time | None = None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems: list[tuple[str, str]] = []
        kind = self.kind
        allowed = KIND_FIELDS[kind]
        for field, kinds in _FIELD_KINDS.items():
            if field not in allowed and getattr(self, field) is not None:
                listed = ", ".join(repr(k) for k in kinds)
                problems.append((field, f"only for kind {listed}, not {kind!r}"))
        for field in KIND_REQUIRED[kind]:
            if getattr(self, field) is None:
                problems.append((field, f"required for a {kind} service"))
        if kind == "wifi" and self.profile is not None and self.rate is not None:
            problems.append(("rate", "give profile or rate (the rate while on), not both"))
        if kind == "web" and self.rate is not None and self.requests is not None:
            problems.append(
                (
                    "requests",
                    "give rate (mean per user) or requests (per user per second), not both",
                )
            )
        lo, hi = self.iot_sizes
        if kind == "iot" and lo > hi:
            problems.append(
                (
                    "size_max",
                    f"must be at least size_min ({format_size(lo)}), got {format_size(hi)}",
                )
            )
        if kind == "voip" and self.size is None and self.voip_payload < 1:
            problems.append(
                (
                    "ptime",
                    f"too short: the {self.codec or 'g711'} payload of one "
                    "packet would be under 1 byte",
                )
            )
        problems += stop_after_start(self.start, self.stop)
        raise_rules(problems)
        return self

    # ------------------------------------------------------------------ resolved values
    @property
    def class_name(self) -> str:
        """The traffic class: ``class`` if given, else :data:`DEFAULT_CLASS` of the kind."""
        return self.class_ if self.class_ is not None else DEFAULT_CLASS[self.kind]

    def directions(self) -> tuple[str, ...]:
        """``("up", "down")``-style directions in use, main direction first."""
        both = KIND_DIRECTIONS[self.kind]
        return both if self.bidirectional is not False else both[:1]

    def group_names(self) -> list[str]:
        """Statistics groups: ``<name>:<direction>`` with two directions, else ``<name>``."""
        dirs = self.directions()
        return [f"{self.name}:{d}" for d in dirs] if len(dirs) > 1 else [self.name]

    @property
    def voip_payload(self) -> int:
        """Payload bytes of a VoIP packet: ``size``, else codec rate x ``ptime`` / 8."""
        if self.size is not None:
            return self.size
        bps = VOIP_CODEC_BPS[self.codec or "g711"]
        return bps * self.voip_ptime // (8 * 10**12)

    @property
    def voip_ptime(self) -> int:
        """Packet interval of a call, ps (default 20 ms)."""
        return self.ptime if self.ptime is not None else VOIP_PTIME_PS

    @property
    def wifi_rate(self) -> int:
        """Wire rate of a Wi-Fi user while on: ``rate``, else the ``profile``'s figure."""
        if self.rate is not None:
            return self.rate
        return WIFI_PROFILE_BPS[self.profile or "browsing"]

    @property
    def iot_sizes(self) -> tuple[int, int]:
        """``(size_min, size_max)`` of IoT payloads."""
        lo = self.size_min if self.size_min is not None else IOT_SIZE_MIN
        hi = self.size_max if self.size_max is not None else IOT_SIZE_MAX
        return lo, hi


def _field_kinds() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for kind, fields in KIND_FIELDS.items():
        for f in fields:
            out.setdefault(f, []).append(kind)
    return {f: tuple(k) for f, k in out.items()}


_FIELD_KINDS = _field_kinds()


__all__ = [
    "DEFAULT_CLASS",
    "DEFAULT_PARETO_SHAPE",
    "FULL_PAYLOAD",
    "IOT_SIZE_MAX",
    "IOT_SIZE_MIN",
    "KIND_DIRECTIONS",
    "KIND_FIELDS",
    "KIND_REQUIRED",
    "SIGNALS_INTERVAL_PS",
    "SIGNALS_POLL_SIZE",
    "SIGNALS_RESPONSE_SIZE",
    "VOIP_CODEC_BPS",
    "VOIP_PTIME_PS",
    "WEB_RATE_BPS",
    "WEB_REQUEST_SIZE",
    "WEB_RESPONSE_PACKETS",
    "WIFI_OFF_MEAN_PS",
    "WIFI_ON_MEAN_PS",
    "WIFI_PROFILE_BPS",
    "WIFI_UP_SHARE",
    "WIFI_UP_SIZE",
    "Service",
    "ServiceKind",
    "VoipCodec",
    "WifiProfile",
]
