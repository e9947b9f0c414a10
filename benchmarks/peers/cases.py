"""The comparison scenarios (cases a-d) as vidnet-sim scenario dicts, and the trace of case d.

Every case follows the conventions ns-3's point-to-point model implies (docs/peers.md):

- ``header_bytes = "30B"``: ns-3 serialises UDP payload + UDP 8 + IPv4 20 + PPP 2 bytes, so a
  vidnet-sim payload is an ns-3 UDP payload;
- ``count_in_service = false`` and ``buffer_packets``: an ns-3 ``DropTailQueue<Packet>`` on a
  point-to-point device holds the waiting packets only (the one being sent has been dequeued)
  and is counted in packets;
- link rates whose transmission times are whole picoseconds (``ceil`` in vidnet-sim and
  round-to-nearest in ns-3 then give the same value), except case ``d155`` which shows what
  happens otherwise.

``scale`` multiplies every duration (``compare.py --scale``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NS3_HEADER = "30B"  # UDP 8 + IPv4 20 + PPP 2


@dataclass
class Case:
    """One comparison case: a scenario dict plus what the report needs to know about it."""

    key: str  # "a50", "b", ...
    title: str
    scenario: dict[str, Any]
    bottleneck: str = ""  # name of the directed link that matters (for the report)
    md1: dict[str, float] | None = None  # lam (1/ps), S (ps), P (ps) for case a
    ns3_poisson: bool = False  # also run ns-3 with its own Poisson generator
    notes: list[str] = field(default_factory=list)


def _conventions() -> dict[str, Any]:
    return {"header_bytes": NS3_HEADER, "count_in_service": False}


def case_a(rho: float, scale: float = 1.0, seed: int = 1) -> Case:
    """(a) Poisson arrivals of fixed-size packets on one 100 Mbit/s bottleneck (M/D/1)."""
    rate_bps = 100_000_000
    payload = 1000
    wire = payload + 30
    duration_s = 60.0 * scale
    sc = {
        "name": f"peers-a-rho{round(rho * 100)}",
        "description": f"Poisson, {payload} B UDP payload, one 100 Mbit/s link at rho = {rho}",
        "simulation": {"duration": _secs(duration_s), "seed": seed, "window": "100ms"},
        "conventions": _conventions(),
        "nodes": [{"id": "src"}, {"id": "dst"}],
        "links": [
            {
                "a": "src",
                "b": "dst",
                "rate": "100Mbps",
                "delay": "10us",
                "buffer_packets": 1_000_000,
                "duplex": False,
            }
        ],
        "sources": [
            {
                "name": "poisson",
                "kind": "poisson",
                "at": "src",
                "destinations": ["dst"],
                "size": f"{payload}B",
                "rate": f"{round(rho * rate_bps)}bps",
                "header_bytes": NS3_HEADER,
            }
        ],
    }
    s_ps = wire * 8 * 10**12 // rate_bps
    lam = rho / s_ps
    return Case(
        f"a{round(rho * 100)}",
        f"(a) Poisson M/D/1, rho = {rho}",
        sc,
        "src->dst",
        md1={"lam": lam, "S": float(s_ps), "P": 10_000_000.0, "rho": rho},
        ns3_poisson=True,
    )


def _cameras(
    name: str, uplink_rate: str, uplink_packets: int, scale: float, seed: int, title: str, key: str
) -> Case:
    duration_s = 30.0 * scale
    sc = {
        "name": name,
        "description": title,
        "simulation": {"duration": _secs(duration_s), "seed": seed, "window": "100ms"},
        "conventions": _conventions(),
        "nodes": [{"id": "agg"}, {"id": "cc", "kind": "control_centre"}],
        "links": [
            {
                "id": "uplink",
                "a": "agg",
                "b": "cc",
                "rate": uplink_rate,
                "delay": "50us",
                "buffer_packets": uplink_packets,
                "duplex": False,
            }
        ],
        "cameras": [
            {
                "name": "cams",
                "count": 50,
                "attach": "agg",
                "resolution": "1080p",
                "fps": 25,
                "bitrate": "3Mbps",
                "gop": 25,
                "ip_ratio": 10,
                "max_payload": "1400B",
                "header_bytes": NS3_HEADER,
                "access_rate": "100Mbps",
                "access_delay": "5us",
                "destinations": ["cc"],
            }
        ],
    }
    return Case(key, title, sc, "uplink:agg->cc")


def case_b(scale: float = 1.0, seed: int = 1) -> Case:
    """(b) 50 cameras (3 Mbit/s, GOP 25, I = 10 P), random phases, on a 200 Mbit/s uplink."""
    return _cameras(
        "peers-b-cameras",
        "200Mbps",
        1000,
        scale,
        seed,
        "(b) 50 cameras, GOP bursts, 200 Mbit/s uplink",
        "b",
    )


def case_c(scale: float = 1.0, seed: int = 1) -> Case:
    """(c) the same 50 cameras on a 125 Mbit/s uplink with 100 packets of buffer (overload)."""
    return _cameras(
        "peers-c-overload",
        "125Mbps",
        100,
        scale,
        seed,
        "(c) 50 cameras, overloaded 125 Mbit/s uplink",
        "c",
    )


def case_e(scale: float = 1.0, seed: int = 1) -> Case:
    """(e) city scale: 1000 cameras on 20 aggregation switches, a core and a control centre."""
    duration_s = 5.0 * scale
    n_agg, per_agg = 20, 50
    nodes = [{"id": f"agg{i}"} for i in range(n_agg)]
    nodes += [{"id": "core"}, {"id": "cc", "kind": "control_centre"}]
    links = [
        {
            "a": f"agg{i}",
            "b": "core",
            "rate": "1Gbps",
            "length": "2km",
            "buffer_packets": 1000,
            "duplex": False,
        }
        for i in range(n_agg)
    ]
    links.append(
        {
            "id": "core-cc",
            "a": "core",
            "b": "cc",
            "rate": "5Gbps",
            "delay": "10us",
            "buffer_packets": 2000,
            "duplex": False,
        }
    )
    cams = [
        {
            "name": f"district{i}",
            "count": per_agg,
            "attach": f"agg{i}",
            "resolution": "1080p",
            "fps": 25,
            "bitrate": "3Mbps",
            "gop": 25,
            "ip_ratio": 10,
            "max_payload": "1400B",
            "header_bytes": NS3_HEADER,
            "access_rate": "100Mbps",
            "access_delay": "5us",
            "destinations": ["cc"],
        }
        for i in range(n_agg)
    ]
    sc = {
        "name": "peers-e-city",
        "description": "1000 cameras, 20 aggregation switches (1 Gbit/s), 5 Gbit/s core uplink",
        "simulation": {"duration": _secs(duration_s), "seed": seed, "window": "100ms"},
        "conventions": _conventions(),
        "nodes": nodes,
        "links": links,
        "cameras": cams,
    }
    return Case(
        "e", "(e) city: 1000 cameras, 20 aggregation switches, 3 hops", sc, "core-cc:core->cc"
    )


def case_d(
    trace: Path,
    rate_mid: str = "100Mbps",
    key: str = "d",
    title: str = "(d) trace replay, 3 hops",
    header: str = NS3_HEADER,
) -> Case:
    """(d) one packet trace replayed over three hops (1 Gbit/s, a slower hop, 1 Gbit/s)."""
    from vidnet_sim.scenario.trace import load_trace

    times, _ = load_trace(trace)
    end_ps = int(times[-1]) + 1_000_000_000  # 1 ms after the last packet
    sc = {
        "name": f"peers-{key}",
        "description": title,
        "simulation": {"duration": f"{end_ps}ps", "seed": 1, "window": "100ms"},
        "conventions": {"header_bytes": header, "count_in_service": False},
        "nodes": [{"id": "n0"}, {"id": "n1"}, {"id": "n2"}, {"id": "n3"}],
        "links": [
            {
                "a": "n0",
                "b": "n1",
                "rate": "1Gbps",
                "delay": "5us",
                "buffer_packets": 1000,
                "duplex": False,
            },
            {
                "a": "n1",
                "b": "n2",
                "rate": rate_mid,
                "delay": "20us",
                "buffer_packets": 64,
                "duplex": False,
            },
            {
                "a": "n2",
                "b": "n3",
                "rate": "1Gbps",
                "delay": "1us",
                "buffer_packets": 1000,
                "duplex": False,
            },
        ],
        "sources": [
            {
                "name": "trace",
                "kind": "trace",
                "at": "n0",
                "destinations": ["n3"],
                "file": str(trace),
                "header_bytes": header,
            }
        ],
    }
    return Case(key, title, sc, "n1->n2")


# --- the trace of case d --------------------------------------------------------------------


def make_trace(path: Path, n_packets: int = 150_000, seed: int = 7) -> Path:
    """Write a bursty packet trace (CSV ``time,size``; times in seconds with ns precision).

    Bursts of a geometric number of packets (mean 12) leave back to back at 1 Gbit/s, with
    exponential gaps between bursts; UDP payloads are an IMIX-like mix of 18, 512 and 1472 B.
    The mean wire rate is about 85 Mbit/s, so the 100 Mbit/s middle hop of case d queues and,
    in the longer bursts, drops.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.choice(np.array([18, 512, 1472]), size=n_packets, p=[0.5, 0.2, 0.3])
    wire = sizes + 30
    burst_len = rng.geometric(1 / 12, size=n_packets)
    starts = np.cumsum(burst_len)
    first = np.zeros(n_packets, bool)
    first[starts[starts < n_packets]] = True
    first[0] = True
    # within a burst, the next packet follows the previous one's serialisation at 1 Gbit/s
    # (rounded up to a whole ns); a burst starts after an exponential gap
    mean_wire_bits = float(np.mean(wire)) * 8
    mean_gap_ns = 12 * mean_wire_bits / 85e6 * 1e9  # keeps ~85 Mbit/s on average
    gap_ns = np.ceil(rng.exponential(mean_gap_ns, size=n_packets)).astype(np.int64)
    ser_ns = wire * 8  # bits at 1 Gbit/s = ns
    step = np.where(first, gap_ns, np.roll(ser_ns, 1))
    step[0] = 0
    t_ns = np.cumsum(step)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fh.write("time,size\n")
        for t, s in zip(t_ns.tolist(), sizes.tolist(), strict=True):
            fh.write(f"{t // 10**9}.{t % 10**9:09d},{s}\n")
    return path


# --- TOML (to keep the exact scenarios next to the results) ---------------------------------


def to_toml(sc: dict[str, Any]) -> str:
    """A TOML rendering of a scenario dict (the subset of TOML these dicts use)."""

    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        raise TypeError(type(v))

    out: list[str] = []
    scalars = {k: v for k, v in sc.items() if not isinstance(v, dict | list)}
    for k, v in scalars.items():
        out.append(f"{k} = {val(v)}")
    for k, v in sc.items():
        if isinstance(v, dict):
            out.append(f"\n[{k}]")
            out += [f"{kk} = {val(vv)}" for kk, vv in v.items()]
    for k, v in sc.items():
        if isinstance(v, list):
            for item in v:
                out.append(f"\n[[{k}]]")
                out += [f"{kk} = {val(vv)}" for kk, vv in item.items()]
    return "\n".join(out) + "\n"


def _secs(s: float) -> str:
    ms = round(s * 1000)
    return f"{ms}ms"
