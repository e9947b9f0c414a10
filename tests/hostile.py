"""Valid but hostile scenarios for the Numba core, and a worker process that runs them.

:func:`hostile_case` draws (from a seeded ``random.Random``) a scenario the validator should
accept but that sits at the edges of what it accepts: buffers of one packet or one byte above
one, links at 1 bit/s, I-frames a hundred times a P-frame with σ = 3, GOPs of 1, one-byte
payloads, hundreds of cameras on one link, failures at t = 0 and on window edges, traces with
simultaneous rows and gaps of hours, warm-ups one picosecond short of the duration, windows
at the minimum or far longer than the run, durations off the windows, report epochs of 1 ms,
growth years, strict priority starving a queue, DRR weights a million to one. :data:`FIXED`
holds hand-written cases of the same kinds (each a regression test of a bug the fuzz found).

A case runs in a worker process (``python tests/hostile.py`` reads cases as JSON lines on
stdin and answers a ``RESULT`` JSON line each, :func:`run_cases` drives it), so that a crash of
the core ends the worker, not pytest, and is reported with the case that caused it. Each case
is checked by :func:`check_case`: the core on one thread, on two (as chosen, and cut at the
first level in steps of one and three windows) and with a packet log, equal field for field;
the SimPy reference engine equal to it (packet tables too) when the run is small; every packet
and frame sent is delivered, dropped or in flight. A scenario the validator refuses must be a
:class:`~vidnet_sim.errors.ScenarioError`, and a run may stop only with the core's documented
``RuntimeError`` (a camera starved of its frame slots); anything else is a failure.
"""

from __future__ import annotations

import contextlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from vidnet_sim.core import engine as engine_mod
from vidnet_sim.core.split import split_links
from vidnet_sim.errors import ScenarioError
from vidnet_sim.reference import stats_differences
from vidnet_sim.runner import compile_scenario, run
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.growth import scenario_for_year

#: Packets up to which the reference engine checks a case: the estimate's (copies included)
#: and the ones the core sent (an estimate that once counted 53 packets for 2.5·10^7 handed
#: them to the SimPy engine: a case that ran for hours).
REFERENCE_PACKETS = 6_000
#: Estimated packets up to which the core runs a case at all (more is a slow case, not a
#: hostile one: the cases stay quick).
CORE_PACKETS = 400_000
#: The address space a worker may use: a case beyond it is a ``memory`` outcome.
WORKER_MEMORY_BYTES = 4 << 30
#: The prefix of the worker's answer lines (other output, on stdout by accident, is ignored).
RESULT = "RESULT "

Case = dict[str, Any]


# --------------------------------------------------------------------------- the generator
RATES = ["1bps", "300bps", "64kbps", "2Mbps", "100Mbps", "1Gbps", "10Gbps", "1Tbps"]
PAYLOADS = ["1B", "7B", "200B", "1400B", "9000B", "65457B"]  # 65457 + 78 = 65535
HEADERS = ["0B", "1B", "78B"]


def _time(rng: random.Random, duration_ps: int, window_ps: int) -> int:
    """A time at an edge: 0, a window edge, the duration, one picosecond off them, or any."""
    edges = [0, window_ps, 2 * window_ps, duration_ps, duration_ps - 1, window_ps + 1]
    edges.append(rng.randrange(0, duration_ps + 1))
    return max(0, rng.choice(edges))


def _ps(t: int) -> str:
    return f"{t}ps"


def _buffer(rng: random.Random, wire: int) -> dict[str, Any]:
    """A buffer at an edge for packets of ``wire`` bytes (headers included)."""
    return rng.choice(
        [
            {"buffer_packets": 1},
            {"buffer_packets": 2},
            {"buffer": f"{wire}B"},
            {"buffer": f"{wire + 1}B"},
            {"buffer": f"{2 * wire - 1}B"},
            {"buffer": "1B"},
            {"buffer": "64KiB"},
            {"buffer": "1GB"},
            {"buffer_packets": 1_000_000},
            {},
        ]
    )


def _camera(
    rng: random.Random, i: int, attach: str, dests: list[str], duration_ps: int, window_ps: int
) -> dict[str, Any]:
    """A camera group with extreme but valid settings."""
    payload = rng.choice(PAYLOADS)
    header = rng.choice(HEADERS)
    wire = int(payload[:-1]) + int(header[:-1])
    cam: dict[str, Any] = {
        "name": f"cam{i}",
        "count": rng.choice([1, 1, 2, 5, 40, 300]),
        "attach": attach,
        "destinations": dests[: rng.choice([1, len(dests)])],
        "fps": rng.choice([0.01, 1, 7.5, 25, 29.97, 240]),
        "bitrate": rng.choice(["1bps", "8kbps", "500kbps", "4Mbps", "60Mbps"]),
        "gop": rng.choice([1, 2, 25, 10_000]),
        "ip_ratio": rng.choice([0.01, 1.0, 10.0, 100.0]),
        "p_sigma": rng.choice([0.0, 0.3, 3.0]),
        "i_sigma": rng.choice([0.0, 3.0]),
        "rate_control": rng.choice(["vbr", "cbr"]),
        "max_payload": payload,
        "header_bytes": header,
        "phase": rng.choice(["random", "aligned"]),
        "access_rate": rng.choice(RATES),
        "multicast": rng.random() < 0.3,
        "class": rng.choice(["video", "live"]),
    }
    buf = _buffer(rng, wire)
    if "buffer" in buf:
        cam["access_buffer"] = buf["buffer"]
    elif "buffer_packets" in buf:
        cam["access_buffer_packets"] = buf["buffer_packets"]
    if rng.random() < 0.3:
        start = _time(rng, duration_ps, window_ps)
        cam["start"] = _ps(start)
        if rng.random() < 0.5:
            cam["stop"] = _ps(start + rng.choice([1, window_ps, duration_ps]))
    if rng.random() < 0.2:
        cam["motion"] = motion(rng)
    return cam


def motion(rng: random.Random) -> dict[str, Any]:
    """A camera's ``motion`` table at the bounds: sojourns of 1 ms or 1 s, the bitrate
    scaled by 0.01 or 100 in motion, one I-frame a frame then."""
    return {
        "idle_mean": rng.choice(["1ms", "1s"]),
        "motion_mean": rng.choice(["1ms", "1s"]),
        "bitrate_scale": rng.choice([0.01, 100.0]),
        "gop": 1,
    }


def _source(
    rng: random.Random, i: int, at: str, dests: list[str], duration_ps: int, window_ps: int
) -> tuple[dict[str, Any], dict[str, list[tuple[int, int]]]]:
    """A generic source with extreme but valid settings, and the trace files it reads."""
    kind = rng.choice(["cbr", "poisson", "trace", "onoff"])
    src: dict[str, Any] = {
        "name": f"src{i}",
        "kind": kind,
        "at": at,
        "destinations": dests[: rng.choice([1, len(dests)])],
        "class": rng.choice(["data", "bulk", "voice"]),
        "header_bytes": rng.choice(HEADERS),
        "multicast": rng.random() < 0.2,
    }
    traces: dict[str, list[tuple[int, int]]] = {}
    size = rng.choice(["1B", "100B", "1500B", "65457B"])
    if kind == "cbr":
        src["size"] = size
        src["interval"] = rng.choice(["1ns", "1us", "1ms", _ps(window_ps), _ps(duration_ps)])
    elif kind == "poisson":
        src["packet_rate"] = rng.choice([1e-6, 1.0, 1e4, 1e6])
        src["size_dist"] = rng.choice(
            [
                {"kind": "exponential", "mean": "1B"},
                {"kind": "exponential", "mean": "60000B", "max": "65457B"},
                {"kind": "uniform", "min": "1B", "max": "65457B"},
                {"kind": "choice", "values": ["1B", "9000B"], "weights": [1e6, 1e-6]},
            ]
        )
    elif kind == "onoff":
        src["size"] = size
        src["interval"] = rng.choice(["1us", "1ms"])
        src["on_mean"] = rng.choice(["1ns", "1ms", "1h"])
        src["off_mean"] = rng.choice(["1ns", "1ms", "1h"])
        src["on_shape"] = rng.choice([1.01, 1.4, 50.0])
        src["off_shape"] = rng.choice([1.01, 1.4])
    else:
        n = rng.choice([1, 3, 50])
        base = rng.choice([0, window_ps, duration_ps - 1])
        times = sorted(base + rng.choice([0, 0, 1, window_ps, 10**15]) for _ in range(n))
        if rng.random() < 0.5:
            times = [times[0]] * n  # every row at one instant
        rows = [(t, rng.choice([1, 1400, 65457])) for t in times]
        file = f"trace{i}.csv"
        traces[file] = rows
        src["file"] = file
        src["loop"] = rng.random() < 0.5
    if rng.random() < 0.3:
        src["start"] = _ps(_time(rng, duration_ps, window_ps))
    return src, traces


def _qos(rng: random.Random) -> dict[str, Any]:
    """Strict priority with video below everything else (starved), or DRR a million to one."""
    scheduler = rng.choice(["priority", "drr"])
    weights = [1e6, 1e-6] if rng.random() < 0.5 else [1.0, 1.0]
    high = ["EF", "CS5", "CS1", "BE", "AF21", "CS2"]
    queues = [
        {"name": "first", "dscp": high, "priority": 0, "weight": weights[0]},
        {"name": "video", "dscp": ["CS3", "AF41"], "priority": 1, "weight": weights[1]},
    ]
    if rng.random() < 0.5:
        queues[1]["buffer_packets"] = rng.choice([1, 2, 100_000])
    return {"scheduler": scheduler, "quantum": rng.choice(["1B", "1538B"]), "queues": queues}


def _durations(rng: random.Random) -> tuple[int, int]:
    """(duration, window) in ps: windows at the minimum, off the duration, far longer."""
    ms = 10**9
    duration = rng.choice([1, ms, 3 * ms + 7, 50 * ms, 200 * ms + 1])
    window = rng.choice([ms, ms + 1, 7 * ms, 100 * ms, 3_600_000 * ms])
    while duration // window > 10_000:
        duration //= 2
    return max(duration, 1), window


def hostile_case(rng: random.Random, name: str) -> Case:
    """One random hostile case (see the module doc)."""
    duration, window = _durations(rng)
    n_edges = rng.choice([1, 2, 3])
    nodes: list[dict[str, Any]] = [{"id": f"e{i}"} for i in range(n_edges)]
    nodes += [{"id": "agg"}, {"id": "alt"}, {"id": "core"}]
    nodes += [{"id": "nvr", "kind": "recorder"}, {"id": "cc", "kind": "control_centre"}]
    wire = 1478

    def link(a: str, b: str, **extra: Any) -> dict[str, Any]:
        out = {"a": a, "b": b, "rate": rng.choice(RATES), **_buffer(rng, wire), **extra}
        if rng.random() < 0.3:
            out["delay"] = rng.choice(["0s", "1ps", "1s", "1h"])
        if rng.random() < 0.15:
            out["scheduler"] = "fifo"
        return out

    links = [link(f"e{i}", "agg") for i in range(n_edges)]
    links += [link("agg", "core"), link("agg", "alt"), link("alt", "core", blocked=True)]
    links += [link("core", "nvr"), link("core", "cc")]
    data: dict[str, Any] = {
        "name": name,
        "simulation": {
            "duration": _ps(duration),
            "window": _ps(window),
            "seed": rng.choice([0, 1, 2**63 - 1]),
            "drain": rng.random() < 0.7,
        },
        "conventions": {"count_in_service": rng.random() < 0.5},
        "nodes": nodes,
        "links": links,
    }
    sim = data["simulation"]
    if rng.random() < 0.3:
        sim["warmup"] = _ps(rng.choice([duration - 1, duration // 2, 0]))
    if rng.random() < 0.2:
        sim["report_interval"] = rng.choice(["1ms", _ps(window)])
    dests = ["nvr", "cc"]
    data["cameras"] = [
        _camera(rng, i, f"e{rng.randrange(n_edges)}", rng.sample(dests, 2), duration, window)
        for i in range(rng.choice([0, 1, 1, 2]))
    ]
    traces: dict[str, list[tuple[int, int]]] = {}
    sources = []
    for i in range(rng.choice([0, 1, 2]) if data["cameras"] else rng.choice([1, 2])):
        at = rng.choice([f"e{rng.randrange(n_edges)}", "agg", "core"])
        src, files = _source(rng, i, at, rng.sample(dests, 2), duration, window)
        sources.append(src)
        traces.update(files)
    data["sources"] = sources
    if rng.random() < 0.3:
        data["qos"] = _qos(rng)
    data["events"] = _events(rng, data, duration, window)
    case: Case = {"name": name, "scenario": data, "traces": traces}
    if rng.random() < 0.15 and data["cameras"]:
        data["growth"] = [{"year": 2, "scale_cameras": rng.choice([0.01, 3.0])}]
        case["year"] = 2
    if rng.random() < 0.2:  # the command line's --duration and --seed
        case["duration_ps"] = rng.choice([1, window, window + 1, 3 * window - 1])
        case["seed"] = rng.choice([0, 7])
    return case


def _events(
    rng: random.Random, data: dict[str, Any], duration_ps: int, window_ps: int
) -> list[dict[str, Any]]:
    """Failures at t = 0 and on window edges, alarms scaling a hundredfold, stops, starts."""
    events: list[dict[str, Any]] = []
    if rng.random() < 0.4:
        events.append(
            {
                "kind": "failure",
                "link": rng.choice(["agg-core", "core-nvr", "e0-agg"]),
                "at": _ps(_time(rng, duration_ps, window_ps)),
                "duration": _ps(max(1, _time(rng, duration_ps, window_ps))),
                "convergence": rng.choice(["0s", "1ps", "50ms"]),
                "revert": rng.random() < 0.5,
            }
        )
    cams = [c["name"] for c in data["cameras"]]
    if cams and rng.random() < 0.3:
        events.append(
            {
                "kind": "alarm",
                "targets": [rng.choice(cams)],
                "at": _ps(_time(rng, duration_ps, window_ps)),
                "duration": _ps(max(1, _time(rng, duration_ps, window_ps))),
                "bitrate_scale": rng.choice([0.01, 100.0]),
                "gop": rng.choice([1, 10_000]),
            }
        )
    names = cams + [s["name"] for s in data["sources"]]
    if names and rng.random() < 0.3:
        events.append(
            {
                "kind": rng.choice(["start", "stop"]),
                "targets": [rng.choice(names)],
                "at": _ps(_time(rng, duration_ps, window_ps)),
            }
        )
    return events


def hostile_cases(seed: int, n: int) -> list[Case]:
    """``n`` cases drawn from ``random.Random(seed)``."""
    rng = random.Random(seed)
    return [hostile_case(rng, f"fuzz-{seed}-{i}") for i in range(n)]


# --------------------------------------------------------------------------- fixed cases
def _line_case(
    name: str,
    *,
    sim: dict[str, Any],
    link: dict[str, Any],
    cameras: Sequence[dict[str, Any]] = (),
    sources: Sequence[dict[str, Any]] = (),
    **extra: Any,
) -> Case:
    """A case of one link ``edge -> nvr`` (``link`` its rate and buffer) and the given
    cameras (attached at ``edge``, to ``nvr``) and sources (at ``edge``, to ``nvr``); the
    ``extra`` keys go into the scenario (``events``, ``qos``, ``growth``...) or, for
    ``traces``, ``year``, ``duration_ps``, ``seed``, ``max_frame_slots``, into the case."""
    case_keys = {"traces", "year", "duration_ps", "seed", "max_frame_slots"}
    data: dict[str, Any] = {
        "name": name,
        "simulation": sim,
        "nodes": [{"id": "edge"}, {"id": "nvr", "kind": "recorder"}],
        "links": [{"a": "edge", "b": "nvr", **link}],
        "cameras": [{"attach": "edge", "destinations": ["nvr"], **c} for c in cameras],
        "sources": [{"at": "edge", "destinations": ["nvr"], **s} for s in sources],
        **{k: v for k, v in extra.items() if k not in case_keys},
    }
    return {"name": name, "scenario": data, **{k: v for k, v in extra.items() if k in case_keys}}


#: A camera group sending a burst of several packets per frame (I-frames only).
_BURSTY = {"name": "cam", "count": 3, "fps": 25, "gop": 1, "bitrate": "4Mbps"}
_BULK = {"name": "bulk", "kind": "poisson", "class": "bulk", "rate": "1.5Gbps", "size": "1500B"}
_STARVING_QOS = {
    "scheduler": "priority",
    "queues": [
        {"name": "first", "dscp": ["CS1", "BE", "EF"], "priority": 0},
        {"name": "video", "dscp": ["CS3", "AF41"], "priority": 1},
    ],
}

#: Hand-written hostile cases and the outcome each must have (``ok``: every way equal;
#: ``refused``; ``stopped``: the documented error, on every way).
FIXED: dict[str, tuple[Case, str]] = {
    # A camera starved in a low strict-priority queue until a frame finds its slot, in a
    # ring full at its limit (16 here; 262 144 in a run), still open. The kernel used to
    # write the new frame over the open one and go on to the end of the call before
    # reporting the overflow; the open frame's packets, delivered in the same window
    # before the new frame's capture, then closed the new frame with a negative latency,
    # counted at a negative histogram index: a segmentation fault (dmesg: an increment of
    # the frame histogram). The run now stops at the overflow, before writing the slot.
    "starved-camera-overflows-its-frame-slots": (
        _line_case(
            "starved-camera-overflows-its-frame-slots",
            sim={"duration": "900ms", "window": "100ms", "seed": 3},
            link={"rate": "1Gbps", "buffer": "400kB", "delay": "5ns"},
            cameras=[
                {
                    "name": "cam",
                    "count": 1,
                    "fps": 25,
                    "gop": 1,
                    "bitrate": "4Mbps",
                    "rate_control": "cbr",
                    "phase": "aligned",
                    "header_bytes": "0B",
                    "access_rate": "10Gbps",
                }
            ],
            sources=[{**_BULK, "header_bytes": "0B"}],
            qos=_STARVING_QOS,
            events=[{"kind": "stop", "targets": ["bulk"], "at": "607ms"}],
            max_frame_slots=16,
        ),
        "stopped",
    ),
    # A full buffer that would take 250 years to send at 1 bit/s: packets timed past the
    # core's 64-bit clock. The check of the route's worst-case delay used to overflow in
    # numpy (an OverflowError traceback from validate and run); now it is refused.
    "one-gigabyte-buffer-at-one-bit-per-second": (
        _line_case(
            "one-gigabyte-buffer-at-one-bit-per-second",
            sim={"duration": "1s"},
            link={"rate": "1bps", "buffer": "1GB"},
            sources=[{"name": "s", "kind": "cbr", "size": "100B", "interval": "1ms"}],
        ),
        "refused",
    ),
    "one-packet-buffers-and-one-bit-per-second": (
        _line_case(
            "one-packet-buffers-and-one-bit-per-second",
            sim={"duration": "100000007ps", "window": "1ms"},
            link={"rate": "1bps", "buffer_packets": 1},
            cameras=[{**_BURSTY, "access_buffer_packets": 1, "phase": "aligned"}],
            conventions={"count_in_service": False},
        ),
        "ok",
    ),
    "buffers-one-byte-above-one-packet": (
        _line_case(
            "buffers-one-byte-above-one-packet",
            sim={"duration": "50ms", "window": "7ms"},
            link={"rate": "64kbps", "buffer": "1479B"},
            cameras=[
                {**_BURSTY, "ip_ratio": 100, "i_sigma": 3.0, "access_buffer": "1479B"},
                {**_BURSTY, "name": "tiny", "max_payload": "1B", "bitrate": "8kbps"},
            ],
            sources=[{"name": "s", "kind": "cbr", "size": "1400B", "interval": "10us"}],
        ),
        "ok",
    ),
    "failures-at-zero-and-on-window-edges": (
        _line_case(
            "failures-at-zero-and-on-window-edges",
            sim={"duration": "10ms", "window": "1ms", "report_interval": "1ms"},
            link={"rate": "100Mbps", "buffer_packets": 2},
            cameras=[{**_BURSTY, "count": 40, "phase": "aligned", "access_rate": "1Gbps"}],
            events=[
                {"kind": "failure", "link": "edge-nvr", "at": "0s", "duration": "1ms"},
                {"kind": "failure", "link": "edge-nvr", "at": "3ms", "duration": "7ms"},
                {"kind": "stop", "targets": ["cam"], "at": "2ms"},
                {"kind": "start", "targets": ["cam"], "at": "2ms"},
            ],
        ),
        "ok",
    ),
    "trace-rows-at-one-instant-and-gaps-of-days": (
        _line_case(
            "trace-rows-at-one-instant-and-gaps-of-days",
            sim={"duration": "20ms", "window": "1ms", "warmup": "19999999999ps"},
            link={"rate": "1Gbps", "buffer_packets": 3},
            sources=[
                {"name": "same", "kind": "trace", "file": "same.csv", "loop": True},
                {"name": "gaps", "kind": "trace", "file": "gaps.csv", "loop": True},
            ],
            traces={
                "same.csv": [(5_000_000_000, 1400)] * 50,
                "gaps.csv": [(0, 1), (0, 65457), (10**17, 1)],
            },
        ),
        "ok",
    ),
    "window-of-1000-hours-over-3-ms": (
        _line_case(
            "window-of-1000-hours-over-3-ms",
            sim={"duration": "3ms", "window": "1000h", "drain": False},
            link={"rate": "10Mbps"},
            cameras=[{**_BURSTY, "count": 300, "bitrate": "500kbps", "multicast": True}],
        ),
        "ok",
    ),
    "40-days-in-windows-longer-than-the-run": (
        _line_case(
            "40-days-in-windows-longer-than-the-run",
            sim={"duration": "960h", "window": "2500h"},
            link={"rate": "1Gbps"},
            sources=[{"name": "s", "kind": "cbr", "size": "100B", "interval": "1h"}],
            events=[{"kind": "stop", "targets": ["s"], "at": "800h"}],
        ),
        "ok",
    ),
    "drr-quantum-of-one-byte-a-million-to-one": (
        _line_case(
            "drr-quantum-of-one-byte-a-million-to-one",
            sim={"duration": "30ms", "window": "1ms"},
            link={"rate": "1Gbps", "buffer": "64KiB"},
            cameras=[{**_BURSTY, "count": 5}],
            sources=[_BULK],
            qos={**_STARVING_QOS, "scheduler": "drr", "quantum": "1B"},
            growth=[{"year": 2, "scale_cameras": 3.0}],
            year=2,
        ),
        "ok",
    ),
}


# --------------------------------------------------------------------------- checking a case
@contextmanager
def _forced_cut(depth: int, step: int | None) -> Iterator[None]:
    """Two-thread runs cut after ``depth`` levels of links in steps of ``step`` windows
    (``None``: as chosen), whatever the split's estimate says."""

    def cut(plan: Any, window_ps: int, *, duration_ps: int) -> Any:
        return split_links(plan, window_ps, depth, duration_ps=duration_ps)

    with (
        mock.patch.object(engine_mod, "split_links", cut),
        mock.patch.object(engine_mod.CoreEngine, "force_step_windows", step),
    ):
        yield


def conservation_problems(stats: Any) -> list[str]:
    """Every packet and frame sent is delivered, dropped or still in flight."""
    out = []
    sent = stats.packets_sent
    settled = stats.packets_delivered + stats.packets_dropped + stats.packets_in_flight
    if not np.array_equal(sent, settled):
        out.append(f"packets sent {sent.tolist()} != settled {settled.tolist()}")
    fsent = stats.frames_sent
    fsettled = stats.frames_delivered + stats.frames_lost + stats.frames_in_flight
    if not np.array_equal(fsent, fsettled):
        out.append(f"frames sent {fsent.tolist()} != settled {fsettled.tolist()}")
    for name in ("packet_hist", "frame_hist"):
        if (getattr(stats, name) < 0).any():
            out.append(f"negative counts in {name}")
    if not np.array_equal(stats.packet_hist.sum(axis=1), stats.packets_delivered):
        out.append("packet histogram counts != packets delivered")
    if not np.array_equal(stats.frame_hist.sum(axis=1), stats.frames_delivered):
        out.append("frame histogram counts != frames delivered")
    if (stats.latency_min_ps[stats.packets_delivered > 0] < 0).any():
        out.append(f"negative latency {stats.latency_min_ps.tolist()}")
    return out


def check_case(case: Case, work_dir: Path) -> dict[str, Any]:
    """Run ``case`` every way (see the module doc); its outcome: ``ok``, ``refused`` (a
    :class:`ScenarioError`), ``stopped`` (the core's documented ``RuntimeError``, on every
    way alike), ``skipped`` (too many packets for a quick case) or ``fail``, with details.

    Two keys of a case change the core for tests: ``max_frame_slots`` lowers the frame-slot
    ring's limit (``CoreEngine.max_frame_slots``), so that a short run reaches it;
    ``shrink_histograms`` gives the core latency histograms of 8 buckets, an out-of-bounds
    index waiting to happen (only with bounds checking on: it shows the checking works)."""
    for file, rows in case.get("traces", {}).items():
        lines = ["time_ps,size", *(f"{t},{s}" for t, s in rows)]
        (work_dir / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    over = {"duration_ps": case.get("duration_ps"), "seed": case.get("seed")}
    try:
        scenario = parse_scenario_dict(case["scenario"], base_dir=work_dir)
        if case.get("year"):
            scenario = scenario_for_year(scenario, case["year"])
        compiled = compile_scenario(scenario, seed=over["seed"], duration_ps=over["duration_ps"])
        packets = compiled.packets
    except ScenarioError as exc:
        return {"outcome": "refused", "detail": str(exc).splitlines()[-1][:300]}
    if packets > CORE_PACKETS:
        return {"outcome": "skipped", "detail": f"{packets:.3g} packets", "packets": packets}
    with _core_changes(case):
        outcome, detail = _every_way(scenario, over, packets <= REFERENCE_PACKETS)
    return {"outcome": outcome, "detail": detail, "packets": packets}


@contextmanager
def _core_changes(case: Case) -> Iterator[None]:
    """The core as ``case`` asks (``max_frame_slots``, ``shrink_histograms``)."""
    core = engine_mod.CoreEngine
    with contextlib.ExitStack() as stack:
        if case.get("max_frame_slots"):
            stack.enter_context(mock.patch.object(core, "max_frame_slots", case["max_frame_slots"]))
        if case.get("shrink_histograms"):
            init = core.__init__

            def shrunk(self: Any, *args: Any, **kw: Any) -> None:
                init(self, *args, **kw)
                self._phist = np.zeros((self._phist.shape[0], 8), np.int64)
                self._fhist = np.zeros((self._fhist.shape[0], 8), np.int64)

            stack.enter_context(mock.patch.object(core, "__init__", shrunk))
        yield


def _attempt(label: str, fn: Callable[[], Any]) -> tuple[Any, str]:
    """``fn()`` and ``""``; or ``None`` and why not: ``refused: ...``, ``stopped: ...`` (the
    core's documented error) or ``<label>: <traceback>``."""
    try:
        return fn(), ""
    except ScenarioError as exc:
        return None, f"refused: {str(exc).splitlines()[-1][:300]}"
    except RuntimeError as exc:
        if "frames in flight" in str(exc):
            return None, f"stopped: {exc}"
        return None, f"{label}: {traceback.format_exc()[-1500:]}"
    except MemoryError:
        return None, f"memory: {label}: {traceback.format_exc()[-600:]}"
    except Exception:
        return None, f"{label}: {traceback.format_exc()[-1500:]}"


def _every_way(scenario: Any, over: dict[str, Any], reference: bool) -> tuple[str, str]:
    """The outcome and details of ``scenario`` run every way (:func:`check_case`); the
    reference engine too with ``reference`` if the core sent at most
    :data:`REFERENCE_PACKETS` packets."""
    ways: list[tuple[str, Callable[[], Any]]] = [
        ("threads=2", lambda: run(scenario, write=False, threads=2, **over)),
        ("packet log", lambda: run(scenario, write=False, threads=1, packets=True, **over)),
        *((f"cut at depth 1, steps of {s}", _cut_run(scenario, over, s)) for s in (None, 3)),
    ]
    base, why = _attempt("core", lambda: run(scenario, write=False, threads=1, **over))
    if base is None:
        kind = why.split(":", 1)[0]
        if kind != "stopped":
            return (kind if kind in ("refused", "memory") else "fail"), why
        others = [(label, _attempt(label, fn)[1]) for label, fn in ways]
        problems = [f"{label}: {w or 'did not stop'}" for label, w in others if "stopped" not in w]
        return ("fail", "; ".join(problems)) if problems else ("stopped", why)
    if reference and int(base.stats.packets_sent.sum()) <= REFERENCE_PACKETS:
        ways.append(
            (
                "reference",
                lambda: run(scenario, write=False, engine="reference", packets=True, **over),
            )
        )
    problems = [f"core: {p}" for p in conservation_problems(base.stats)]
    got: dict[str, Any] = {}
    for label, fn in ways:
        result, why = _attempt(label, fn)
        if result is None:
            problems.append(why)
            continue
        got[label] = result
        diff = stats_differences(result.stats, base.stats)
        if diff:
            problems.append(f"{label} differs from one thread in {diff}")
    logs = [got[k].held_packets for k in ("packet log", "reference") if k in got]
    if len(logs) == 2 and not _same_table(*logs):
        problems.append("packet log: the packets table differs from the reference's")
    if problems and all(p.startswith("memory:") for p in problems):
        return "memory", "; ".join(problems)
    return ("fail", "; ".join(problems)) if problems else ("ok", "")


def _cut_run(scenario: Any, over: dict[str, Any], step: int | None) -> Callable[[], Any]:
    """A two-thread run of ``scenario`` cut at depth 1 in steps of ``step`` windows."""

    def go() -> Any:
        with _forced_cut(1, step):
            return run(scenario, write=False, threads=2, **over)

    return go


def _same_table(a: Any, b: Any) -> bool:
    """Whether two per-packet tables (or both absent) are equal."""
    if a is None or b is None:
        return a is None and b is None
    return bool(a.reset_index(drop=True).equals(b.reset_index(drop=True)))


# --------------------------------------------------------------------------- the worker
def worker_main() -> None:
    """Read cases (JSON lines) on stdin; answer a ``RESULT`` line with each one's outcome.
    The process's address space is limited to :data:`WORKER_MEMORY_BYTES`: a case that
    asks for more fails with a ``MemoryError`` (outcome ``memory``) instead of drawing the
    system's out-of-memory killer on a shared machine."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
            result = check_case(case, Path(tmp))
        result["name"] = case["name"]
        sys.stdout.write(RESULT + json.dumps(result) + "\n")
        sys.stdout.flush()
        if result["outcome"] == "memory":  # (a new worker, with all its memory back: what
            return  # once hung after a memory outcome was the reference engine, since fixed)


def run_cases(
    cases: Sequence[Case], env: dict[str, str], *, timeout_s: float = 1800.0
) -> list[dict[str, Any]]:
    """Run ``cases`` in worker processes with environment ``env``; one outcome per case, in
    order. A worker that dies (a signal: a negative return code) has the case it was running
    reported as ``crash`` and a new worker goes on with the next case; a worker that ends
    after a ``memory`` outcome is replaced by a new one."""
    results: list[dict[str, Any]] = []
    todo = list(cases)
    while todo:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve())],
            input="".join(json.dumps(c) + "\n" for c in todo),
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout_s,
            check=False,
        )
        done = [
            json.loads(line[len(RESULT) :])
            for line in proc.stdout.splitlines()
            if line.startswith(RESULT)
        ]
        results += done
        todo = todo[len(done) :]
        if todo and proc.returncode != 0:
            results.append(
                {
                    "name": todo[0]["name"],
                    "outcome": "crash",
                    "detail": f"worker exit code {proc.returncode}: {proc.stderr[-2000:]}",
                }
            )
            todo = todo[1:]
    return results


def bounds_check_env(env: dict[str, str], cache_dir: Path) -> dict[str, str]:
    """``env`` with Numba's bounds checking on and its compile cache in ``cache_dir`` (code
    compiled so must never land in the shared cache: Numba's cache index does not tell it
    apart)."""
    return {**env, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(cache_dir)}


if __name__ == "__main__":
    worker_main()
