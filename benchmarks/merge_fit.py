"""Fit the cut's price of a merged hop to the parts' times at several cuts (``core.split``).

    python benchmarks/merge_fit.py [--repeat N] [CASE[:DURATION] ...]

For each case (a scenario file or a case of ``benchmarks/peers``; default: peers cases e and
b, the mid-size city for 2 s and the large city for 1 s) and each depth of the cut
(``split_links(..., depth)``), the two parts run one after the other and each part's windows
are timed alone (best of ``--repeat``, as ``part_times.py --parts``). Each part's estimated
work is split into what does not depend on merging and the hops of links that merge several
runs, counted two ways: once per hop (a flat price whatever the fan-in, as ``core.split``
had it until 2026-12-05) and ``log2(k)`` per hop (as it has it now), ``k`` the runs a window
opens at the link (its feeding links and the trees injected there: ``volume.feeder_runs``; a
tournament tree of ``k`` leaves replays ``log2(k)`` matches per item). A least-squares fit
of ``time = a * rest + b * merged`` gives each model's price ``c = b / a`` and its error;
the script prints the fits and every part's times against both.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from typing import Any

import numpy as np

from part_times import _timed, case_scenario
from vidnet_sim.core import engine as E  # noqa: N812
from vidnet_sim.core import split as S  # noqa: N812
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.core.volume import feeder_runs, position_parents
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.runner import make_engine
from vidnet_sim.timeline.driver import drive, scenario_actions

DEFAULT = ("e", "b", "scenarios/mid-city.toml:2s", "scenarios/large-city.toml:1s")


def features(plan: NetworkPlan, window_ps: int, upstream: Any) -> dict[str, tuple[float, ...]]:
    """Per part ("U", "D"): (work without merging, merged hops, merged hops x log2(k)), per
    simulated second, in packet-hop units of ``core.split``."""
    parent = position_parents(plan)
    link, _ = S._feeds(plan, parent)
    hops, deliveries, sources, *_ = S._traffic(plan, parent)
    k = feeder_runs(plan)
    merges = np.bincount(link, minlength=plan.n_links) > 1
    rest = hops + S.DELIVER_COST * deliveries + S.LINK_STEP_COST * S._ESTIMATE_PS / window_ps
    flat = hops * merges
    log = hops * np.log2(np.maximum(k, 1))
    out: dict[str, tuple[float, ...]] = {}
    for name, mask in (("U", upstream), ("D", ~upstream)):
        extra = sources if name == "U" else 0.0
        out[name] = (extra + rest[mask].sum(), flat[mask].sum(), log[mask].sum())
    return out


def part_times(case: str, duration: str | None, depth: int, repeat: int) -> dict[str, Any] | None:
    """The parts' best times alone at the cut of ``depth``, with their features."""
    scenario = case_scenario(case, duration)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    end = scenario.simulation.duration
    best: dict[str, float] = {}
    eng: CoreEngine | None = None

    def cut(p: NetworkPlan, window_ps: int, _: int | None = None) -> S.Split | None:
        return S.split_links(p, window_ps, depth)

    saved = getattr(E, "split_links")  # noqa: B009 (the engine's, for this call)
    setattr(E, "split_links", cut)  # noqa: B010
    try:
        for _ in range(repeat):
            eng = make_engine(plan, scenario, threads=2)  # type: ignore[assignment]
            assert isinstance(eng, CoreEngine)
            if eng.split is None:
                return None
            times: dict[str, float] = defaultdict(float)
            eng.part_order = "up-first"
            for name in ("_up", "_down"):
                setattr(eng, name, _timed(times, name, getattr(eng, name)))
            drive(eng, actions, end)
            for key, v in times.items():
                best[key] = min(best.get(key, v), v)
    finally:
        setattr(E, "split_links", saved)  # noqa: B010
    assert eng is not None and eng.split is not None
    scale = end / S._ESTIMATE_PS
    f = features(plan, eng.window_ps, eng.split.upstream)
    return {
        "U": (best["_up"], *(x * scale for x in f["U"])),
        "D": (best["_down"], *(x * scale for x in f["D"])),
        "links": int(eng.split.upstream.sum()),
    }


def main() -> None:
    """Time the parts at every cut of each case and fit both models."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*", default=list(DEFAULT))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows: list[tuple[str, float, float, float, float]] = []
    for spec in args.cases:
        case, _, duration = spec.partition(":")
        part_times(case, duration or None, 1, 1)  # (kernels loaded)
        seen: set[int] = set()
        for depth in range(1, 16):
            got = part_times(case, duration or None, depth, args.repeat)
            if got is None or got["links"] in seen:  # (no deeper cut)
                break
            seen.add(got["links"])
            for name in ("U", "D"):
                t, rest, flat, log = got[name]
                rows.append((f"{case} depth {depth} {name}", t, rest, flat, log))
            print(
                f"{case} depth {depth}: U {got['links']} links {got['U'][0]:.4f} s, "
                f"D {got['D'][0]:.4f} s; load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    t = np.array([r[1] for r in rows])
    for model, col in (("flat", 3), ("log2(k)", 4)):
        x = np.array([[r[2], r[col]] for r in rows])
        w = 1.0 / t  # (relative errors: the cases' times differ by 100x)
        (a, b), *_ = np.linalg.lstsq(x * w[:, None], t * w, rcond=None)
        fit = x @ [a, b]
        err = fit / t - 1
        print(
            f"{model}: unit {a * 1e9:.2f} ns, merge price c = {b / a:.3f}; relative error "
            f"rms {np.sqrt(np.mean(err**2)):.3f}, max {np.abs(err).max():.3f}"
        )
        for r, e in zip(rows, err, strict=True):
            print(f"    {r[0]:40s} {r[1]:.4f} s  fit {e:+.3f}")


if __name__ == "__main__":
    main()
