"""Fit the prices of the cut's cost model to the parts' times at several cuts (``core.split``).

    python benchmarks/merge_fit.py [--repeat N] [--save FILE | --load FILE] [CASE[:DURATION] ...]

For each case (a scenario file or a case of ``benchmarks/peers``; default: peers cases e and
b, the mid-size city for 2 s and the large city for 1 s) and each depth of the cut
(``split_links(..., depth)``), then the cut ``split_links`` chooses, the two parts run one
after the other and each part's windows are timed alone (best of ``--repeat``, as
``part_times.py --parts``). Each part's work is counted by kind (:data:`COLUMNS`): plain
hops, hops of links that merge several runs (once each, and as many times as an item replays
matches, as ``split_links`` counts them: a tournament tree of ``k`` leaves, ``k`` the runs a
window opens at the link, ``volume.feeder_runs``, replays ``log2(k)`` matches per item, fewer
where one run leads, ``split._matches``), deliveries, links' passes, the sources' packets.
Each model (:func:`models`) groups them into terms whose prices are fitted together by non-negative
least squares on relative errors, from the merge price alone (the others at ``core.split``'s
values) to every price at once; the script prints each model's constants, its errors, the
cut ``split_links`` would choose under it for each case with its estimate, and every part's
error. ``--save`` writes the times and work measured, ``--load`` fits them again without
running anything.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import nnls

from part_times import _timed, case_scenario
from vidnet_sim.core import engine as E  # noqa: N812
from vidnet_sim.core import split as S  # noqa: N812
from vidnet_sim.core.engine import CoreEngine
from vidnet_sim.core.volume import position_parents
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.runner import make_engine
from vidnet_sim.timeline.driver import drive, scenario_actions

F64 = npt.NDArray[np.float64]
DEFAULT = ("e", "b", "scenarios/mid-city.toml:2s", "scenarios/large-city.toml:1s")


#: Each part's work, per simulated second, in the units of ``core.split``: ``hops`` every
#: packet-hop once, ``merged`` the hops of links merging several runs (once each: the flat
#: price), ``log`` those hops times the matches an item replays (``split._matches``, as
#: ``split_links`` counts them: ``log2(k)``, fewer where one run leads), ``deliveries``,
#: ``steps`` the part's links times the windows (a link's pass), ``generated`` and
#: ``injected`` the sources' packets (U's alone).
COLUMNS = ("hops", "merged", "log", "deliveries", "steps", "generated", "injected")


def features(
    plan: NetworkPlan, window_ps: int, upstream: Any, duration_ps: int
) -> dict[str, dict[str, float]]:
    """Per part ("U", "D"): its work by :data:`COLUMNS`, per simulated second (the sources'
    packets averaged over a run of ``duration_ps``)."""
    parent = position_parents(plan)
    link, _ = S._feeds(plan, parent)
    t = S._traffic(plan, parent, duration_ps)
    per_link = {
        "hops": t.hops,
        "merged": t.hops * (np.bincount(link, minlength=plan.n_links) > 1),
        "log": t.hops * t.matches,
        "deliveries": t.deliveries,
        "steps": np.full(plan.n_links, S._ESTIMATE_PS / window_ps),
    }
    out: dict[str, dict[str, float]] = {}
    for name, mask in (("U", upstream), ("D", ~upstream)):
        f = {c: float(v[mask].sum()) for c, v in per_link.items()}
        f["generated"] = t.generated if name == "U" else 0.0
        f["injected"] = t.injected if name == "U" else 0.0
        out[name] = f
    return out


def part_times(
    case: str, duration: str | None, depth: int | None, repeat: int
) -> dict[str, Any] | None:
    """The parts' best times alone at the cut of ``depth`` (``None``: the chosen cut), with
    their features."""
    scenario = case_scenario(case, duration)
    plan = build_plan(scenario)
    actions = scenario_actions(scenario, plan)
    end = scenario.simulation.duration
    best: dict[str, float] = {}
    eng: CoreEngine | None = None

    def cut(p: NetworkPlan, window_ps: int, *, duration_ps: int) -> S.Split | None:
        return S.split_links(p, window_ps, depth, duration_ps=duration_ps)

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
    f = features(plan, eng.window_ps, eng.split.upstream, eng.end_ps)
    return {
        "U": (best["_up"], {c: x * scale for c, x in f["U"].items()}),
        "D": (best["_down"], {c: x * scale for c, x in f["D"].items()}),
        "links": int(eng.split.upstream.sum()),
        "window_ps": eng.window_ps,
    }


#: A model: its terms, each a sum of :data:`COLUMNS` with fixed weights (the constants of
#: ``core.split`` as they are), each term's price fitted. The first term is the unit (a
#: plain hop); the prices of the others are given in it.
Model = tuple[str, list[dict[str, float]]]


def models() -> list[Model]:
    """The models fitted: the merge price alone, flat or by ``log2(k)`` (as before), then
    with the price of a delivery, of the sources' packets, of a link's pass fitted too."""
    gen, inj = S.GEN_COST, S.INJECT_COST
    sources = {"generated": gen, "injected": inj}
    step = {"steps": S.LINK_STEP_COST}
    rest = {"hops": 1.0, "deliveries": S.DELIVER_COST, **step, **sources}
    return [
        ("flat", [rest, {"merged": 1.0}]),
        ("log2(k)", [rest, {"log": 1.0}]),
        (
            "log2(k), deliveries",
            [{"hops": 1.0, **step, **sources}, {"log": 1.0}, {"deliveries": 1.0}],
        ),
        (
            "log2(k), deliveries, sources",
            [{"hops": 1.0, **step}, {"log": 1.0}, {"deliveries": 1.0}, sources],
        ),
        ("all", [{"hops": 1.0}, {"log": 1.0}, {"deliveries": 1.0}, sources, step]),
    ]


def fit(rows: list[dict[str, Any]], terms: list[dict[str, float]]) -> tuple[F64, F64]:
    """Non-negative least squares of the parts' times on the terms, on relative errors
    (the cases' times differ by 100x): the terms' seconds per unit and each part's error."""
    t = np.array([r["t"] for r in rows])
    x = np.array([[sum(w * r["f"][c] for c, w in term.items()) for term in terms] for r in rows])
    coef, _ = nnls(x / t[:, None], np.ones(len(t)))
    return coef, x @ coef / t - 1


def constants(terms: list[dict[str, float]], coef: F64) -> dict[str, float]:
    """``core.split``'s constants under a fit: each term's price in units of the first,
    spread over the constants it holds (a fixed weight times the price)."""
    out = {"UNIT_SECONDS": float(coef[0])}
    names = {
        "merged": "flat merge price",  # (not core.split's model)
        "log": "MERGE_COST",
        "deliveries": "DELIVER_COST",
        "steps": "LINK_STEP_COST",
        "generated": "GEN_COST",
        "injected": "INJECT_COST",
    }
    for term, c in zip(terms, coef, strict=True):
        price = c / coef[0] if coef[0] > 0 else float("nan")
        for col, w in term.items():
            if col in names:
                out[names[col]] = w * price if term is not terms[0] else w
    return out


def chosen_cuts(cases: dict[str, tuple[NetworkPlan, int]], consts: dict[str, float]) -> str:
    """The links ``split_links`` puts in U for each case under ``consts``, and its
    estimated U and D seconds."""
    saved = {k: getattr(S, k) for k in consts}
    out = []
    try:
        for k, v in consts.items():
            setattr(S, k, v)
        for name, (plan, window_ps) in cases.items():
            sp = S.split_links(plan, window_ps, duration_ps=cases_end[name])
            if sp is None:
                out.append(f"{name}: none")
                continue
            u = sp._seconds(sp.cost_upstream, cases_end[name])
            d = sp._seconds(sp.cost_downstream, cases_end[name])
            out.append(f"{name}: {int(sp.upstream.sum())} links in U, est. {u:.4f} / {d:.4f} s")
    finally:
        for k, v in saved.items():
            setattr(S, k, v)
    return "; ".join(out)


def main() -> None:
    """Time the parts at every cut of each case (or read them back) and fit the models."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*", default=list(DEFAULT))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--save", type=Path, help="write the parts' times and work (JSON)")
    ap.add_argument("--load", type=Path, help="fit the times of --save, no runs")
    args = ap.parse_args()
    if args.load:
        rows = json.loads(args.load.read_text())
    else:
        rows = measure(args.cases, args.repeat)
        if args.save:
            args.save.write_text(json.dumps(rows, indent=1))
    plans: dict[str, tuple[NetworkPlan, int]] = {}
    for r in rows:
        if r["case"] not in plans:
            case, _, duration = r["case"].partition(":")
            scenario = case_scenario(case, duration or None)
            plans[r["case"]] = (build_plan(scenario), r["window_ps"])
            cases_end[r["case"]] = scenario.simulation.duration
    for name, terms in models():
        coef, err = fit(rows, terms)
        consts = constants(terms, coef)
        shown = ", ".join(
            f"{k} {v * 1e9:.2f} ns" if k == "UNIT_SECONDS" else f"{k} {v:.3f}"
            for k, v in consts.items()
        )
        print(
            f"{name}: {shown}; relative error rms {np.sqrt(np.mean(err**2)):.3f}, "
            f"max {np.abs(err).max():.3f}"
        )
        if "MERGE_COST" in consts:  # (a flat price is not a model of core.split's)
            print(f"    cuts: {chosen_cuts(plans, consts)}")
        for r, e in zip(rows, err, strict=True):
            print(f"    {r['label']:48s} {r['t']:.4f} s  fit {e:+.3f}")


#: Each case's simulated time (ps), for the estimates of :func:`chosen_cuts`.
cases_end: dict[str, int] = {}


def measure(cases: list[str], repeat: int) -> list[dict[str, Any]]:
    """The parts' times alone and their work at every depth of every case's cut."""
    rows: list[dict[str, Any]] = []
    for spec in cases:
        case, _, duration = spec.partition(":")
        part_times(case, duration or None, 1, 1)  # (kernels loaded)
        seen: set[int] = set()
        depths: list[int | None] = list(range(1, 16))
        while depths:
            depth = depths.pop(0)
            got = part_times(case, duration or None, depth, repeat)
            if got is None or got["links"] in seen:  # (no deeper cut: then the chosen one)
                depths = [None] if depth is not None else []
                continue
            seen.add(got["links"])
            for name in ("U", "D"):
                t, f = got[name]
                label = f"{case} depth {depth} ({got['links']} links in U) {name}"
                rows.append(
                    {"case": spec, "label": label, "t": t, "f": f, "window_ps": got["window_ps"]}
                )
            print(
                f"{case} depth {depth}: U {got['links']} links {got['U'][0]:.4f} s, "
                f"D {got['D'][0]:.4f} s; load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    return rows


if __name__ == "__main__":
    main()
