"""vidnet-sim against ns-3 (and its own SimPy reference engine): agreement and speed.

    python benchmarks/peers/compare.py [--scale 1] [--cases a,b,c,d] [--ns3-python PY]

For every case (``cases.py``) this script

1. runs vidnet-sim's exact core on the scenario, timed (``drive`` of the timeline, statistics
   only; the median of ``--repeat`` runs, each on a fresh engine, after one untimed run that
   loads the case's kernels), then once more with the packet log on, to get every packet's
   exact outcome;
2. exports the very packets vidnet-sim's sources emitted (time, UDP payload, flow) and the
   network (nodes, links, DropTail capacities, flows) to a job file, and replays them in
   ns-3 3.44 (``ns3_run.py`` in a subprocess, ``ns3_model.cc`` through cppyy); for case a it
   also runs ns-3 with its own Poisson generator (independent random numbers);
3. runs the SimPy reference engine (``--engine reference``) on a shortened copy of the
   scenario (about ``--ref-hops`` packet-hops) for the speed ratio;
4. compares: latency p50 / p99 / max / mean and loss of each tool, the per-packet delay
   differences (ps) and outcome mismatches, the M/D/1 values for case a; and speed in
   packet-hops per second of wall time. Writes ``results.md`` and ``results.json``.

Run it with an interpreter that has vidnet-sim's dependencies (``PYTHONPATH=src`` or an
installed vidnet-sim); ``--ns3-python`` names the interpreter that has the ``ns3`` package
(default: this one; ``pip install -e ".[peers]"`` puts both in one environment).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(REPO / "src") not in sys.path and (REPO / "src" / "vidnet_sim").is_dir():
    sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

import md1  # noqa: E402
from cases import Case, case_a, case_b, case_c, case_d, case_e, make_trace, to_toml  # noqa: E402

from vidnet_sim.network.plan import NetworkPlan, build_plan  # noqa: E402
from vidnet_sim.runner import Threads, make_engine, with_overrides  # noqa: E402
from vidnet_sim.scenario import Scenario, parse_scenario_dict  # noqa: E402
from vidnet_sim.timeline.driver import drive, scenario_actions  # noqa: E402
from vidnet_sim.traffic.generate import G_SEQ, G_T, G_WIRE, generate  # noqa: E402
from vidnet_sim.traffic.sources import SourceState  # noqa: E402

NS3_OVERHEAD = 30  # UDP 8 + IPv4 20 + PPP 2: ns-3 UDP payload = vidnet-sim wire size - 30
UNLIMITED_PACKETS = 10_000_000  # ns-3 queue for links whose vidnet-sim buffer counts bytes
I64 = np.int64


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- vidnet-sim side -------------------------------------------------------------------------


@dataclass
class OursRun:
    wall: float
    hops: int
    stats: Any


@dataclass
class Packets:
    """Packet copies in ns-3's replay order (time, flow, seq) and their outcomes."""

    t: np.ndarray  # emission time, ps
    wire: np.ndarray  # bytes on every link
    flow: np.ndarray
    seq: np.ndarray
    deliver: np.ndarray = field(default_factory=lambda: np.zeros(0, I64))  # ps, -1: not
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    hops: np.ndarray = field(default_factory=lambda: np.zeros(0, I64))


def load_case(case: Case, base_dir: Path) -> tuple[Scenario, NetworkPlan]:
    scenario = parse_scenario_dict(case.scenario, source=case.key, base_dir=base_dir)
    return scenario, build_plan(scenario, base_dir)


def run_ours(
    scenario: Scenario,
    plan: NetworkPlan,
    engine: str = "core",
    log_packets: bool = False,
    threads: Threads = 1,
) -> tuple[OursRun, Any]:
    eng = make_engine(plan, scenario, engine, log=log_packets, threads=threads)  # type: ignore[arg-type]
    actions = scenario_actions(scenario, plan)
    w0 = time.perf_counter()
    stats = drive(eng, actions, scenario.simulation.duration)
    wall = time.perf_counter() - w0
    return OursRun(wall, int(stats.packet_hops), stats), eng


def export_packets(scenario: Scenario, plan: NetworkPlan) -> Packets:
    """Every packet copy the scenario's sources emit, in (time, flow, seq) order."""
    src = plan.sources
    if (src.start_ps != 0).any() or (src.stop_ps != -1).any() or scenario.events:
        raise ValueError("export assumes every source is on for the whole run")
    state = SourceState.initial(src)
    state.active[:] = True
    per_source = generate(src, state, 0, scenario.simulation.duration)
    ts, wires, flows, seqs = [], [], [], []
    for s, rows in enumerate(per_source):
        for f in range(int(plan.source_flow_start[s]), int(plan.source_flow_start[s + 1])):
            ts.append(rows[:, G_T])
            wires.append(rows[:, G_WIRE])
            seqs.append(rows[:, G_SEQ])
            flows.append(np.full(len(rows), f, I64))
    t, wire, flow, seq = (np.concatenate(x).astype(I64) for x in (ts, wires, flows, seqs))
    order = np.lexsort((seq, flow, t))
    return Packets(t[order], wire[order], flow[order], seq[order])


def _keys(flow: np.ndarray, seq: np.ndarray, n_seq: int) -> np.ndarray:
    return flow.astype(I64) * n_seq + seq.astype(I64)


def outcomes_from_log(pk: Packets, packet_log: np.ndarray, plan: NetworkPlan) -> None:
    """Fill ``pk.deliver / dropped / hops`` from the core's packet log (and check the export)."""
    lg = packet_log[np.lexsort((packet_log[:, 3], packet_log[:, 1], packet_log[:, 0]))]
    n_seq = int(max(pk.seq.max(initial=0), lg[:, 1].max(initial=0))) + 1
    key = _keys(lg[:, 0], lg[:, 1], n_seq)
    first = np.r_[True, key[1:] != key[:-1]]
    last = np.r_[key[1:] != key[:-1], True]
    ukey = key[first]
    idx = np.searchsorted(ukey, _keys(pk.flow, pk.seq, n_seq))
    if (
        len(ukey) != len(pk.t)
        or (ukey[np.minimum(idx, len(ukey) - 1)] != _keys(pk.flow, pk.seq, n_seq)).any()
    ):
        raise AssertionError("exported packets differ from the packets the engine simulated")
    emit = lg[first, 3][idx]
    if (emit != pk.t).any():
        raise AssertionError("exported emission times differ from the engine's")
    last_rows = lg[last][idx]
    link, dep = last_rows[:, 2], last_rows[:, 4]
    route_end = plan.route_links[plan.flow_route_start[pk.flow + 1] - 1]
    pk.dropped = dep < 0
    delivered = (~pk.dropped) & (link == route_end)
    pk.deliver = np.where(delivered, dep + plan.link_prop_ps[link], -1)
    counts = np.diff(np.r_[np.flatnonzero(first), len(key)])
    pk.hops = counts[idx]


# --- ns-3 jobs -------------------------------------------------------------------------------


def network_arrays(plan: NetworkPlan, stats: Any | None) -> dict[str, Any]:
    """Undirected point-to-point links for ns-3 from the plan's directed links."""
    pairs: dict[tuple[int, int], list[int]] = {}
    for i in range(plan.n_links):
        u, v = int(plan.link_src[i]), int(plan.link_dst[i])
        pairs.setdefault((min(u, v), max(u, v)), []).append(i)
    cols: dict[str, list[int]] = {k: [] for k in ("a", "b", "rate", "prop", "qa", "qb")}
    for (a, b), ids in pairs.items():
        by_dir = {(int(plan.link_src[i]), int(plan.link_dst[i])): i for i in ids}
        if len(by_dir) != len(ids):
            raise ValueError("parallel links are not supported by this comparison")
        rates = {int(plan.link_rate_bps[i]) for i in ids}
        props = {int(plan.link_prop_ps[i]) for i in ids}
        if len(rates) > 1 or len(props) > 1:
            raise ValueError("a point-to-point link has one rate and one delay both ways")

        def queue(d: tuple[int, int], by_dir: dict[tuple[int, int], int] = by_dir) -> int:
            i = by_dir.get(d)
            if i is None:
                return UNLIMITED_PACKETS  # direction unused in vidnet-sim
            if int(plan.link_buffer_packets[i]) >= 0:
                return int(plan.link_buffer_packets[i])
            # a byte buffer: ns-3 gets an unlimited packet queue; valid only if vidnet-sim
            # dropped nothing there (checked by the caller)
            if stats is not None and int(stats.link_drops[i]) > 0:
                raise ValueError(
                    f"link {plan.link_names[i]} counts bytes and drops packets: "
                    "not comparable with an ns-3 packet queue"
                )
            return UNLIMITED_PACKETS

        cols["a"].append(a)
        cols["b"].append(b)
        cols["rate"].append(rates.pop())
        cols["prop"].append(props.pop())
        cols["qa"].append(queue((a, b)))
        cols["qb"].append(queue((b, a)))
    out = {f"link_{k}": np.array(v, I64) for k, v in cols.items()}
    # static host routes along vidnet-sim's routes: (node, undirected link, destination)
    undirected = {i: k for k, ids in enumerate(pairs.values()) for i in ids}
    routes: set[tuple[int, int, int]] = set()
    for f in range(plan.n_flows):
        for i in plan.route(f):
            routes.add((int(plan.link_src[i]), undirected[int(i)], int(plan.flow_dest[f])))
    rt = np.array(sorted(routes), I64).reshape(-1, 3)
    out["route_node"], out["route_link"], out["route_dst"] = rt[:, 0], rt[:, 1], rt[:, 2]
    first_link = plan.route_links[plan.flow_route_start[:-1]]
    out["flow_src"] = plan.link_src[first_link].astype(I64)
    out["flow_dst"] = plan.flow_dest.astype(I64)
    out["n_nodes"] = np.array(len(plan.node_names))
    return out


def write_replay_job(
    path: Path, plan: NetworkPlan, stats: Any, pk: Packets, defer_arrivals: bool = False
) -> None:
    payload = pk.wire - NS3_OVERHEAD
    if (payload < 0).any() or (pk.wire > 1502).any():
        raise ValueError("wire sizes must be 30..1502 B (UDP payload 0..1472, no fragmentation)")
    np.savez(
        path,
        mode="replay",
        t=pk.t,
        payload=payload,
        flow=pk.flow,
        defer_arrivals=defer_arrivals,
        **network_arrays(plan, stats),
    )


def write_poisson_job(path: Path, plan: NetworkPlan, end_ps: int, seed: int, run: int) -> None:
    """ns-3's own Poisson source on flow 0, same mean gap and payload as vidnet-sim's."""
    src = plan.sources
    payload = int(src.size_a[0])
    np.savez(
        path,
        mode="poisson",
        poisson=np.array([0, 0, payload, 0, end_ps, seed, run], I64),
        poisson_mean_gap_ps=float(src.mean_gap_ps[0]),
        **network_arrays(plan, None),
    )


def run_ns3(python: str, jobs: list[Path]) -> tuple[int, str]:
    if not jobs:
        return 0, ""
    cmd = [python, str(HERE / "ns3_run.py"), *map(str, jobs)]
    log("ns-3: " + " ".join(cmd[:2]) + f" ({len(jobs)} jobs; importing ns-3 takes 10-70 s)")
    proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
    noise = ("Failed to materialize symbols", "runStaticInitializersOnce")
    err = "\n".join(ln for ln in proc.stderr.splitlines() if not any(x in ln for x in noise))
    log(err)
    return proc.returncode, err


def ns3_packets(out: Any, plan: NetworkPlan, replay: Packets | None) -> Packets:
    """An ns-3 result as :class:`Packets` (outcomes, hops along the flows' routes)."""
    flow = out["flow"].astype(I64)
    if replay is not None:
        if not (np.array_equal(out["t"], replay.t) and np.array_equal(out["flow"], replay.flow)):
            raise AssertionError("ns-3 replayed other packets than it was given")
        pk = Packets(replay.t, replay.wire, replay.flow, replay.seq)
    else:
        pk = Packets(
            out["t"].astype(I64),
            out["payload"].astype(I64) + NS3_OVERHEAD,
            flow,
            np.arange(len(flow), dtype=I64),
        )
    recv, drop_node = out["recv"].astype(I64), out["drop_node"].astype(I64)
    pk.deliver = recv
    pk.dropped = drop_node >= 0
    # hops: a delivered packet crossed its whole route; a dropped one arrived at the links up
    # to the one leaving the node that dropped it
    start, links = plan.flow_route_start, plan.route_links
    n_route = (start[flow + 1] - start[flow]).astype(I64)
    hops = n_route.copy()
    for i in np.flatnonzero(pk.dropped):
        r = links[start[flow[i]] : start[flow[i] + 1]]
        pos = np.flatnonzero(plan.link_src[r] == drop_node[i])
        hops[i] = int(pos[0]) + 1 if len(pos) else n_route[i]
    lost = (recv < 0) & ~pk.dropped
    hops[lost] = n_route[lost]  # should not happen (counted in the report)
    pk.hops = hops
    return pk


# --- statistics ------------------------------------------------------------------------------


def summary(pk: Packets) -> dict[str, float]:
    ok = pk.deliver >= 0
    lat = np.sort(pk.deliver[ok] - pk.t[ok])
    n = len(lat)

    def q(p: float) -> float:
        return float(lat[max(1, math.ceil(p * n)) - 1]) if n else float("nan")

    return {
        "sent": len(pk.t),
        "delivered": int(n),
        "dropped": int(pk.dropped.sum()),
        "unaccounted": int(((pk.deliver < 0) & ~pk.dropped).sum()),
        "loss": float(pk.dropped.sum() / len(pk.t)) if len(pk.t) else float("nan"),
        "mean": float(lat.mean()) if n else float("nan"),
        "p50": q(0.50),
        "p99": q(0.99),
        "max": float(lat[-1]) if n else float("nan"),
        "hops": int(pk.hops.sum()),
    }


def batch_ci(pk: Packets, batches: int = 20) -> dict[str, float]:
    """95 % half-widths (relative) of the mean and p99 latency, by batch means.

    The delivered packets, in emission order, are cut into ``batches`` contiguous batches;
    the half-width is t(0.975, B-1) x sd(batch values) / sqrt(B), divided by the estimate.
    """
    ok = pk.deliver >= 0
    order = np.argsort(pk.t[ok], kind="stable")
    lat = (pk.deliver[ok] - pk.t[ok])[order]
    parts = np.array_split(lat, batches)
    means = np.array([p.mean() for p in parts])
    p99s = np.array([np.sort(p)[max(1, math.ceil(0.99 * len(p))) - 1] for p in parts])
    from scipy.stats import t as student

    k = float(student.ppf(0.975, batches - 1)) / math.sqrt(batches)
    p99 = np.sort(lat)[max(1, math.ceil(0.99 * len(lat))) - 1]
    return {
        "mean": float(k * means.std(ddof=1) / lat.mean()),
        "p99": float(k * p99s.std(ddof=1) / p99),
    }


def per_packet(ours: Packets, other: Packets) -> dict[str, float]:
    both = (ours.deliver >= 0) & (other.deliver >= 0)
    d = other.deliver[both] - ours.deliver[both]
    outcome = int(((ours.deliver >= 0) != (other.deliver >= 0)).sum())
    return {
        "compared": int(both.sum()),
        "max_abs_diff_ps": int(np.abs(d).max(initial=0)),
        "n_diff": int((d != 0).sum()),
        "outcome_mismatch": outcome,
    }


def rel(a: float, b: float) -> float:
    return (a - b) / b if b else float("nan")


# --- main ------------------------------------------------------------------------------------


def _threads(text: str) -> Threads:
    """``--threads``: 1, 2 or auto."""
    if text == "auto":
        return "auto"
    if text in ("1", "2"):
        return int(text)
    raise argparse.ArgumentTypeError(f"expected 1, 2 or auto, got {text!r}")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every case's duration (default 1: a 60 s, b/c 30 s, "
        "d 150 000 packets, e 5 s)",
    )
    ap.add_argument("--cases", default="a,b,c,d,e", help="comma-separated: a, b, c, d, e")
    ap.add_argument(
        "--ns3-python",
        default=sys.executable,
        help="interpreter with the ns3 package (default: this one)",
    )
    ap.add_argument("--no-ns3", action="store_true", help="vidnet-sim and SimPy only")
    ap.add_argument(
        "--ref-hops",
        type=int,
        default=200_000,
        help="packet-hops for the SimPy reference speed run (default 200000)",
    )
    ap.add_argument(
        "--trace",
        type=Path,
        default=None,
        help="trace CSV (time,size) for case d (default: generated, seeded)",
    )
    ap.add_argument(
        "--threads",
        type=_threads,
        default="auto",
        help="threads of vidnet-sim's core in the timed runs: 1, 2 or auto (default, as "
        "`vidnet-sim run`: two when the cut in two pays by its estimate)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="timed runs of vidnet-sim per case, each on a fresh engine: the median is "
        "reported (default 5; one run of 0.01-0.15 s moves 20 %% with one hiccup)",
    )
    ap.add_argument("--out", type=Path, default=HERE / "out", help="work directory")
    ap.add_argument(
        "--results", type=Path, default=HERE / "results.md", help="Markdown report to write"
    )
    return ap.parse_args(argv)


def _make_cases(args: argparse.Namespace, out: Path) -> list[Case]:
    """The cases asked for by ``--cases`` (case d writes its trace into ``out``)."""
    wanted = set(args.cases.split(","))
    cases: list[Case] = []
    if "a" in wanted:
        cases += [case_a(r, args.scale) for r in (0.5, 0.8, 0.9)]
    if "b" in wanted:
        cases.append(case_b(args.scale))
    if "c" in wanted:
        cases.append(case_c(args.scale))
    if "d" in wanted:
        n_trace = max(1000, round(150_000 * args.scale))
        trace = (
            args.trace.resolve()
            if args.trace
            else make_trace(out / "trace_d.csv", n_packets=n_trace)
        )
        cases.append(case_d(trace))
        cases.append(
            case_d(
                trace,
                rate_mid="155Mbps",
                key="d155",
                title="(d') the same trace, 155 Mbit/s middle hop",
            )
        )
    if "e" in wanted:
        cases.append(case_e(args.scale))
    return cases


def _run_case(
    c: Case,
    out: Path,
    ref_hops: int,
    rows: dict[str, dict[str, Any]],
    data: dict[str, Any],
    jobs: list[Path],
    threads: Threads = 1,
    repeat: int = 1,
) -> None:
    """Simulate case ``c`` with vidnet-sim on ``threads`` threads, timed as the median of
    ``repeat`` runs each on a fresh engine (and the SimPy reference on a shortened run);
    add its row to ``rows``, its packets to ``data`` and its ns-3 job files to ``jobs``."""
    log(f"[{c.key}] {c.title}")
    scenario, plan = load_case(c, out)
    # one untimed run first: it loads (or compiles) this case's kernels, e.g. the two-thread
    # ones that the warm-up's one-thread case does not, and faults in fresh memory
    warm = run_ours(scenario, plan, threads=threads)[0]
    runs = [run_ours(scenario, plan, threads=threads)[0] for _ in range(max(1, repeat))]
    walls = [r.wall for r in runs]
    timed = runs[0]
    _, eng = run_ours(scenario, plan, log_packets=True)
    pk = export_packets(scenario, plan)
    outcomes_from_log(pk, eng.packet_log, plan)
    st = timed.stats
    if int(st.packets_dropped.sum()) != int(pk.dropped.sum()):
        raise AssertionError("drops from the statistics and from the packet log differ")
    if int(st.packet_hops) != int(pk.hops.sum()):
        raise AssertionError("packet_hops differs from the packet log's arrivals")
    wall = statistics.median(walls)
    log(
        f"  vidnet-sim: {len(pk.t)} packets, {timed.hops} hops, {wall:.3f} s "
        f"(median of {len(walls)}: {min(walls):.3f}-{max(walls):.3f} s, first {walls[0]:.3f} s; "
        f"an untimed run before them {warm.wall:.3f} s)"
    )
    row: dict[str, Any] = {
        "case": c.key,
        "title": c.title,
        "ours": summary(pk),
        "ours_wall": wall,
        "ours_walls": walls,
        "ours_untimed_wall": warm.wall,
        "ours_hops": timed.hops,
    }
    hist_q = _hist_percentiles(st)
    row["ours_hist"] = hist_q
    # SimPy reference on a shortened run
    frac = min(1.0, ref_hops / max(1, timed.hops))
    dur = max(10**9, int(scenario.simulation.duration * frac) // 10**9 * 10**9)
    sc_ref = with_overrides(scenario, duration_ps=min(dur, scenario.simulation.duration))
    ref, _ = run_ours(sc_ref, build_plan(sc_ref, out), engine="reference")
    core_short, _ = run_ours(sc_ref, build_plan(sc_ref, out), threads=threads)
    row["ref"] = {
        "wall": ref.wall,
        "hops": ref.hops,
        "duration_ps": sc_ref.simulation.duration,
        "core_wall_same": core_short.wall,
    }
    log(f"  SimPy reference: {ref.hops} hops in {ref.wall:.2f} s")
    if c.md1:
        row["md1"] = md1.latency_stats(c.md1["lam"], c.md1["S"], c.md1["P"])
        row["ours_ci"] = batch_ci(pk)
    rows[c.key] = row
    data[c.key] = (scenario, plan, pk, st)
    # job files are written even with --no-ns3 (run them later with ns3_run.py)
    job = out / f"job_{c.key}.npz"
    write_replay_job(job, plan, st, pk)
    jobs.append(job)
    if c.key == "d":
        job3 = out / f"job_{c.key}_deferred.npz"
        write_replay_job(job3, plan, st, pk, defer_arrivals=True)
        jobs.append(job3)
    if c.ns3_poisson:
        job2 = out / f"job_{c.key}_own.npz"
        write_poisson_job(job2, plan, scenario.simulation.duration, seed=12345, run=1)
        jobs.append(job2)
    # header convention off: vidnet-sim's default 78 B against ns-3's 30 B (case d only)
    if c.key == "d":
        c78 = case_d(
            Path(c.scenario["sources"][0]["file"]),
            key="d78",
            title="(d) with vidnet-sim's default 78 B headers",
            header="78B",
        )
        sc78, plan78 = load_case(c78, out)
        _, eng78 = run_ours(sc78, plan78, log_packets=True)
        pk78 = export_packets(sc78, plan78)
        outcomes_from_log(pk78, eng78.packet_log, plan78)
        data["d78"] = (sc78, plan78, pk78, None)


def _add_ns3(key: str, row: dict[str, Any], data: dict[str, Any], out: Path) -> None:
    """Add the ns-3 results of case ``key`` (when its job ran) to its row."""
    _, plan, pk, _ = data[key]
    res = out / f"job_{key}.out.npz"
    if not res.exists():
        return
    o = np.load(res)
    npk = ns3_packets(o, plan, pk)
    row["ns3"] = summary(npk)
    row["ns3_wall"] = float(o["wall_run"])
    row["ns3_build"] = float(o["wall_build"])
    row["ns3_events"] = int(o["events"])
    row["ns3_unmatched"] = int(o["unmatched"])
    row["ns3_tc_drops"] = int(o["tc_drops"])
    row["ns3_queue_drops"] = int(o["queue_drops"])
    row["per_packet"] = per_packet(pk, npk)
    if key == "d":
        pk78 = data["d78"][2]
        row["per_packet_78"] = per_packet(pk78, npk)
        row["ours_78"] = summary(pk78)
    deferred = out / f"job_{key}_deferred.out.npz"
    if deferred.exists():
        dpk = ns3_packets(np.load(deferred), plan, pk)
        row["ns3_deferred"] = summary(dpk)
        row["per_packet_deferred"] = per_packet(pk, dpk)
    own = out / f"job_{key}_own.out.npz"
    if own.exists():
        o2 = np.load(own)
        own_pk = ns3_packets(o2, plan, None)
        row["ns3_own"] = summary(own_pk)
        row["ns3_own_ci"] = batch_ci(own_pk)
        row["ns3_own_wall"] = float(o2["wall_run"])


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    cases = _make_cases(args, out)
    for c in cases:
        (out / f"{c.scenario['name']}.toml").write_text(to_toml(c.scenario))

    # warm-up: load (or compile) the Numba kernels outside the timed runs
    log("warming up the Numba core ...")
    w0 = time.perf_counter()
    sc0, plan0 = load_case(case_a(0.5, 0.01), out)
    run_ours(sc0, plan0, threads=args.threads)
    log(f"  {time.perf_counter() - w0:.1f} s")

    rows: dict[str, dict[str, Any]] = {}
    jobs: list[Path] = []
    data: dict[str, Any] = {}
    for c in cases:
        _run_case(c, out, args.ref_hops, rows, data, jobs, args.threads, args.repeat)

    for job in jobs:
        job.with_suffix(".out.npz").unlink(missing_ok=True)
    (out / "ns3_import_seconds.txt").unlink(missing_ok=True)
    ns3_status, ns3_err = (0, "") if args.no_ns3 else run_ns3(args.ns3_python, jobs)
    import_s = None
    imp = out / "ns3_import_seconds.txt"
    if imp.exists() and not args.no_ns3:
        import_s = float(imp.read_text())
    if not args.no_ns3:
        for key, row in rows.items():
            _add_ns3(key, row, data, out)

    meta = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "scale": args.scale,
        "ns3_status": ns3_status,
        "ns3_import_seconds": import_s,
        "argv": sys.argv[1:],
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    md = report(rows, meta)
    args.results.write_text(md)
    print(md)
    if ns3_status != 0:
        log(f"ns-3 failed with exit status {ns3_status}:\n{ns3_err[-3000:]}")
        return 1
    return 0


def _hist_percentiles(st: Any) -> dict[str, float]:
    from vidnet_sim.core.histogram import quantile

    h = st.packet_hist.sum(axis=0)
    lo = int(st.latency_min_ps[st.latency_min_ps >= 0].min(initial=0))
    hi = int(st.latency_max_ps.max(initial=0))
    return {"p50": quantile(h, 0.5, lo, hi), "p99": quantile(h, 0.99, lo, hi)}


# --- report ----------------------------------------------------------------------------------


def _ci(row: dict[str, Any], what: str) -> str:
    a, b = row["ours_ci"][what], row["ns3_own_ci"][what]
    return f"{100 * math.hypot(a, b):.2f} %"


def _us(ps: float) -> str:
    return "–" if ps != ps else f"{ps / 1e6:,.3f}"


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:+.2f} %"


def report(rows: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    L: list[str] = []
    L.append("# vidnet-sim against ns-3 3.44 and its SimPy reference\n")
    L.append(
        f"Produced by `python benchmarks/peers/compare.py {' '.join(meta['argv'])}` on "
        f"{meta['when']} ({meta['platform']}, {meta['cpus']} CPUs, Python "
        f"{meta['python']}). Latencies in µs; ns-3 replays the packets vidnet-sim's "
        "sources emitted (same input), so the two should agree packet for packet. "
        "See docs/peers.md for the conventions.\n"
    )
    L.append("## Agreement\n")
    L.append(
        "| case | packets | tool | p50 | p99 | max | mean | loss | Δmean | Δp99 | "
        "per packet: max \\|Δ\\| (ps) / delays differing / outcomes differing |"
    )
    L.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows.values():
        o = row["ours"]
        L.append(
            f"| {row['title']} | {o['sent']:,} | vidnet-sim | {_us(o['p50'])} | "
            f"{_us(o['p99'])} | {_us(o['max'])} | {_us(o['mean'])} | {o['loss']:.4%} "
            "| | | |"
        )
        if "ns3" in row:
            n, pp = row["ns3"], row["per_packet"]
            L.append(
                f"| | | ns-3 | {_us(n['p50'])} | {_us(n['p99'])} | {_us(n['max'])} | "
                f"{_us(n['mean'])} | {n['loss']:.4%} | {_pct(rel(n['mean'], o['mean']))} "
                f"| {_pct(rel(n['p99'], o['p99']))} | {pp['max_abs_diff_ps']} / "
                f"{pp['n_diff']} / {pp['outcome_mismatch']} |"
            )
        if "ns3_deferred" in row:
            n, pp = row["ns3_deferred"], row["per_packet_deferred"]
            L.append(
                f"| | | ns-3, arrivals deferred behind completions | {_us(n['p50'])} | "
                f"{_us(n['p99'])} | {_us(n['max'])} | {_us(n['mean'])} | {n['loss']:.4%} "
                f"| {_pct(rel(n['mean'], o['mean']))} | {_pct(rel(n['p99'], o['p99']))} | "
                f"{pp['max_abs_diff_ps']} / {pp['n_diff']} / {pp['outcome_mismatch']} |"
            )
        if "ns3_own" in row:
            n = row["ns3_own"]
            L.append(
                f"| | {n['sent']:,} | ns-3, own Poisson RNG | {_us(n['p50'])} | "
                f"{_us(n['p99'])} | {_us(n['max'])} | {_us(n['mean'])} | "
                f"{n['loss']:.4%} | {_pct(rel(n['mean'], o['mean']))} | "
                f"{_pct(rel(n['p99'], o['p99']))} | independent random numbers; 95 % "
                f"CI of Δmean ±{_ci(row, 'mean')}, of Δp99 ±{_ci(row, 'p99')} |"
            )
        if "md1" in row:
            m = row["md1"]
            L.append(
                f"| | | M/D/1 (exact) | {_us(m['p50'])} | {_us(m['p99'])} | ∞ | "
                f"{_us(m['mean'])} | 0 | {_pct(rel(o['mean'], m['mean']))} | "
                f"{_pct(rel(o['p99'], m['p99']))} | Δ here: (vidnet-sim − M/D/1) / M/D/1;"
                f" 95 % CI ±{100 * row['ours_ci']['mean']:.2f} % (mean), "
                f"±{100 * row['ours_ci']['p99']:.2f} % (p99) |"
            )
        if "per_packet_78" in row:
            o7, pp = row["ours_78"], row["per_packet_78"]
            L.append(
                f"| (d) vidnet-sim with its default 78 B headers | {o7['sent']:,} | "
                f"vidnet-sim | {_us(o7['p50'])} | {_us(o7['p99'])} | {_us(o7['max'])} | "
                f"{_us(o7['mean'])} | {o7['loss']:.4%} | "
                f"{_pct(rel(row['ns3']['mean'], o7['mean']))} | "
                f"{_pct(rel(row['ns3']['p99'], o7['p99']))} | {pp['max_abs_diff_ps']} / "
                f"{pp['n_diff']} / {pp['outcome_mismatch']} |"
            )
    L.append("")
    L.append(
        "Δmean, Δp99: (ns-3 − vidnet-sim) / vidnet-sim. Percentiles are exact order "
        "statistics of the per-packet latencies of each tool (vidnet-sim's from its "
        "packet log; its summary tables report the log-linear histogram's value, within "
        "0.4 %).\n"
    )
    acc = [r for r in rows.values() if "ns3" in r]
    if acc:
        L.append(
            "ns-3 accounting: packets neither received nor dropped: "
            f"{sum(r['ns3']['unaccounted'] for r in acc)}; drops seen by the "
            f"traffic-control layer (`TcDrop`): {sum(r['ns3_tc_drops'] for r in acc):,}, "
            f"by the device queues (`Drop`): {sum(r['ns3_queue_drops'] for r in acc):,}; "
            f"received packets not matched to a sent one: "
            f"{sum(r['ns3_unmatched'] for r in acc)}.\n"
        )
    L.append("## Speed\n")
    L.append(
        "| case | packet-hops | vidnet-sim wall (s) | vidnet-sim hops/s | ns-3 run (s) | "
        "ns-3 hops/s | SimPy reference hops/s (run) | vidnet-sim / ns-3 | "
        "vidnet-sim / SimPy |"
    )
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    tot = {"ours_w": 0.0, "ours_h": 0, "ns_w": 0.0, "ns_h": 0, "ref_w": 0.0, "ref_h": 0}
    for row in rows.values():
        ours_rate = row["ours_hops"] / row["ours_wall"]
        ref = row["ref"]
        ref_rate = ref["hops"] / ref["wall"]
        ns_cells = "– | –"
        ratio_ns = "–"
        if "ns3" in row:
            ns_rate = row["ns3"]["hops"] / row["ns3_wall"]
            ns_cells = f"{row['ns3_wall']:.2f} | {ns_rate:,.0f}"
            ratio_ns = f"{ours_rate / ns_rate:,.1f}×"
            tot["ns_w"] += row["ns3_wall"]
            tot["ns_h"] += row["ns3"]["hops"]
        tot["ours_w"] += row["ours_wall"]
        tot["ours_h"] += row["ours_hops"]
        tot["ref_w"] += ref["wall"]
        tot["ref_h"] += ref["hops"]
        L.append(
            f"| {row['case']} | {row['ours_hops']:,} | {row['ours_wall']:.2f} | "
            f"{ours_rate:,.0f} | {ns_cells} | {ref_rate:,.0f} ({ref['hops']:,} hops) | "
            f"{ratio_ns} | {ours_rate / ref_rate:,.0f}× |"
        )
    if tot["ours_w"] > 0:
        o = tot["ours_h"] / tot["ours_w"]
        r = tot["ref_h"] / tot["ref_w"]
        n = tot["ns_h"] / tot["ns_w"] if tot["ns_w"] else float("nan")
        L.append(
            f"| all | {tot['ours_h']:,} | {tot['ours_w']:.2f} | {o:,.0f} | "
            f"{tot['ns_w']:.2f} | {n:,.0f} | {r:,.0f} | "
            f"{'–' if n != n else f'{o / n:,.1f}×'} | {o / r:,.0f}× |"
        )
    L.append("")
    L.append(
        "packet-hops: arrivals of a packet at a link (drops included), the same count in "
        "both tools. vidnet-sim wall: the whole run of the timeline and the core "
        "(packet generation, simulation, statistics; Numba already compiled), the median "
        "of `--repeat` runs each on a fresh engine, after one untimed run that loads the "
        "case's kernels (every timed run's wall is in results.json as `ours_walls`, the "
        "untimed one as `ours_untimed_wall`). ns-3 run: "
        "`Simulator::Run()` only, with the per-packet receive and drop accounting in "
        "C++; building the network, routing tables and the packet list is not counted "
        f"(importing ns-3 took {meta['ns3_import_seconds'] or float('nan'):.0f} s). "
        "SimPy reference: `--engine reference` on the first part of the same scenario "
        "(about 200 000 packet-hops).\n"
    )
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
