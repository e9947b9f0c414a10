"""Run ns-3 jobs written by ``compare.py``: ``python ns3_run.py JOB.npz [JOB.npz ...]``.

Runs in its own process (started by ``compare.py``), because ``from ns import ns`` takes
10-70 s and loads all of ns-3 into the interpreter, and because an ns-3 fatal error (a
misspelt attribute name, a failed assertion) aborts the whole process without a Python
exception: ``compare.py`` then reports the exit status instead of dying with it.

Each job file holds one network and its traffic (see ``write_job`` in ``compare.py``); the
result is written next to it as ``<job>.out.npz``: per packet its send time, UDP payload,
flow, delivery time (-1: not delivered) and the node where it was dropped (-1: not dropped),
all times integer picoseconds; plus the wall time of ``Simulator::Run()`` and of the set-up.

Only numpy and the ns-3 bindings (``pip install ns3``) are needed here, not vidnet-sim.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def _load_ns3() -> tuple[Any, Any, float]:
    t0 = time.perf_counter()
    # ns-3's loader globs the current directory for shared libraries: start from a small one
    cwd = os.getcwd()
    os.chdir(HERE)
    try:
        from ns import ns
    finally:
        os.chdir(cwd)
    import cppyy

    # Picosecond resolution (the default is ns): vidnet-sim's times are integer ps
    ns.Time.SetResolution(ns.Time.PS)
    cppyy.cppdef((HERE / "ns3_model.cc").read_text())
    return ns, cppyy, time.perf_counter() - t0


def run_job(ns: Any, cppyy: Any, path: Path) -> None:
    job = np.load(path)
    t0 = time.perf_counter()
    m = cppyy.gbl.vidnet_peer.Model()
    m.AddNodes(int(job["n_nodes"]))
    m.SetDeferArrivals(bool(job["defer_arrivals"]) if "defer_arrivals" in job.files else False)
    cols = ("link_a", "link_b", "link_rate", "link_prop", "link_qa", "link_qb")
    for a, b, rate, prop, qa, qb in zip(*(job[c] for c in cols), strict=True):
        m.AddLink(int(a), int(b), int(rate), int(prop), int(qa), int(qb))
    static = "route_node" in job.files
    m.Finalize(9, not static)
    if static:
        for node, link, dst in zip(
            job["route_node"], job["route_link"], job["route_dst"], strict=True
        ):
            m.AddHostRoute(int(node), int(link), int(dst))
    for s, d in zip(job["flow_src"], job["flow_dst"], strict=True):
        m.AddFlow(int(s), int(d))
    mode = str(job["mode"])
    if mode == "replay":
        t = np.ascontiguousarray(job["t"], np.int64)
        pl = np.ascontiguousarray(job["payload"], np.int64)
        fl = np.ascontiguousarray(job["flow"], np.int64)
        m.SetPackets(t, pl, fl, len(t))
    elif mode == "poisson":
        p = job["poisson"]  # flow, mean gap ps, payload, start ps, end ps, seed, run
        m.SetPoisson(
            int(p[0]),
            float(job["poisson_mean_gap_ps"]),
            int(p[2]),
            int(p[3]),
            int(p[4]),
            int(p[5]),
            int(p[6]),
        )
    else:
        raise ValueError(f"unknown mode {mode!r}")
    build = time.perf_counter() - t0
    wall = float(m.Run())
    n = int(m.NumPackets())
    out: dict[str, Any] = {
        k: np.empty(n, np.int64) for k in ("t", "payload", "flow", "recv", "drop_node")
    }
    m.Results(out["t"], out["payload"], out["flow"], out["recv"], out["drop_node"])
    events = int(m.NumEvents())
    unmatched = int(m.Unmatched())
    tc_drops, queue_drops = int(m.TcDrops()), int(m.QueueDrops())
    m.Destroy()
    np.savez(
        path.with_suffix(".out.npz"),
        wall_run=wall,
        wall_build=build,
        events=events,
        unmatched=unmatched,
        tc_drops=tc_drops,
        queue_drops=queue_drops,
        **out,
    )
    print(
        f"{path.name}: {n} packets, {events} events, run {wall:.2f} s", file=sys.stderr, flush=True
    )


def main(argv: list[str]) -> int:
    ns, cppyy, load = _load_ns3()
    print(f"ns-3 loaded in {load:.1f} s", file=sys.stderr, flush=True)
    for arg in argv:
        run_job(ns, cppyy, Path(arg))
    Path(argv[0]).with_name("ns3_import_seconds.txt").write_text(f"{load:.3f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
