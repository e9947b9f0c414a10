"""A cost model of the network's links and a simulation-verified, greedy tier sizing.

Every figure is a user parameter; the defaults are the orders of magnitude of DOMAIN.md §7
(USD): underground fibre ≈ 53 k/km, a transceiver per link end by rate tier (1G 10, 10G 24,
25G 40, 100G 57.5), a switch port per link end ≈ 180. A link costs
``2 × (optics(rate) + port) + fibre_per_km × length_km × new_fibre``; camera access links
are the cameras' business and not costed. A link's length is its ``length``, else its
``delay`` divided by ``conventions.propagation_per_km``, else 0.

:func:`size_network` picks a rate tier for every scenario link: it starts each link at the
smallest tier above its mean load (sum of means, the least that can work), simulates, and
while an SLA fails upgrades the most utilised link carrying the failing class (the binding
link) to its next tier, until every SLA holds (``ok``) or the binding link is at the top
tier (:class:`~vidnet_sim.analysis.vary.AnalysisInputError`: the SLA cannot be met at any
tier). Greedy: cheap and verified by simulation, but not proven the cheapest.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vidnet_sim.analysis.vary import AnalysisInputError

__all__ = ["CostModel", "SizingResult", "link_costs", "load_cost_model", "size_network"]

_DEFAULT_OPTICS = {10**9: 10.0, 10 * 10**9: 24.0, 25 * 10**9: 40.0, 100 * 10**9: 57.5}


@dataclass(frozen=True)
class CostModel:
    """Unit costs; ``optics`` maps each rate tier (bit/s) to one transceiver's cost."""

    fibre_per_km: float = 53_000.0
    port: float = 180.0
    optics: dict[int, float] = field(default_factory=lambda: dict(_DEFAULT_OPTICS))
    new_fibre: bool = False  # True: fibre is laid too (greenfield); False: existing fibre
    currency: str = "USD"

    @property
    def tiers(self) -> list[int]:
        """The rate tiers, slowest first."""
        return sorted(self.optics)

    def link_cost(self, rate_bps: int, length_m: float) -> float:
        """One (duplex) link: two transceivers, two ports, and the fibre when new."""
        if rate_bps not in self.optics:
            raise AnalysisInputError(f"no optics cost for a {rate_bps} bit/s link; tiers: "
                                     f"{self.tiers}")
        fibre = self.fibre_per_km * length_m / 1000 if self.new_fibre else 0.0
        return 2 * (self.optics[rate_bps] + self.port) + fibre


def load_cost_model(path: str | Path) -> CostModel:
    """A :class:`CostModel` from TOML: ``fibre_per_km``, ``port``, ``new_fibre``,
    ``currency`` and an ``[optics]`` table of rate (with unit) → cost."""
    from vidnet_sim.scenario.units import parse_rate

    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AnalysisInputError(f"cost model {path}: {exc}") from None
    known = {"fibre_per_km", "port", "optics", "new_fibre", "currency"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise AnalysisInputError(f"cost model {path}: unknown key(s) {unknown}; known: "
                                 f"{sorted(known)}")
    kwargs: dict[str, Any] = {k: raw[k] for k in ("fibre_per_km", "port", "new_fibre",
                                                  "currency") if k in raw}
    if "optics" in raw:
        try:
            kwargs["optics"] = {parse_rate(k): float(v) for k, v in raw["optics"].items()}
        except (ValueError, TypeError) as exc:
            raise AnalysisInputError(f"cost model {path}: optics: {exc}") from None
        if not kwargs["optics"]:
            raise AnalysisInputError(f"cost model {path}: optics: at least one tier needed")
    return CostModel(**kwargs)


def _link_names(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(scenario link id, its directed link names as in results) of every scenario link."""
    out = []
    for link in data.get("links", []):
        lid = link.get("id") or f"{link['a']}-{link['b']}"
        plain = lid == f"{link['a']}-{link['b']}"
        dirs = [(link["a"], link["b"])]
        if link.get("duplex", True):
            dirs.append((link["b"], link["a"]))
        out.append((lid, [f"{u}->{v}" if plain else f"{lid}:{u}->{v}" for u, v in dirs]))
    return out


def link_costs(data: dict[str, Any], model: CostModel) -> pd.DataFrame:
    """Per scenario link: id, rate, length and cost under ``model`` (raw scenario data)."""
    from vidnet_sim.scenario import parse_scenario_dict

    sc = parse_scenario_dict(copy.deepcopy(data))
    per_km = sc.conventions.propagation_per_km
    rows = []
    for (lid, _), link in zip(_link_names(data), sc.links, strict=True):
        if link.length is not None:
            length = float(link.length)
        elif link.delay is not None and per_km > 0:
            length = link.delay / per_km * 1000
        else:
            length = 0.0
        rows.append({"link": lid, "rate_bps": link.rate, "length_m": length,
                     "cost": model.link_cost(link.rate, length)})
    return pd.DataFrame(rows, columns=["link", "rate_bps", "length_m", "cost"])


@dataclass
class SizingResult:
    """The chosen tiers (``links``: link, rate_bps, length_m, cost), total, and the steps."""

    links: pd.DataFrame
    total_cost: float
    steps: list[dict[str, Any]]
    uncertain: bool
    currency: str


def size_network(file: str | Path, model: CostModel | None = None, *, replications: int = 3,
                 max_replications: int = 10, confidence: float = 0.95,
                 duration_ps: int | None = None, cache_dir: str | Path | None = None,
                 max_steps: int = 50,
                 on_run: Callable[[Any], None] | None = None) -> SizingResult:
    """Choose a rate tier per scenario link so that every SLA holds (see the module doc)."""
    from vidnet_sim.analysis.capacity import _judge, show_value, sla_columns
    from vidnet_sim.analysis.estimates import estimate
    from vidnet_sim.analysis.runs import RunCache
    from vidnet_sim.analysis.vary import Vary, load_raw
    from vidnet_sim.runner import sla_targets
    from vidnet_sim.scenario import load_scenario, parse_scenario_dict

    model = model or CostModel()
    tiers = model.tiers
    scenario = load_scenario(file)
    targets = {c: t for c, t in ((c, sla_columns(t)) for c, t in
                                 sla_targets(scenario).items()) if t}
    if not targets:
        raise AnalysisInputError(f"{file}: the scenario has no SLA targets ([sla.<class>]) "
                                 "to size the network for")
    data, base_dir = load_raw(file)
    names = _link_names(data)
    if not names:
        raise AnalysisInputError(f"{file}: the scenario has no links to size")
    # start: the smallest tier above each link's mean load (no cheaper choice can work)
    est = estimate(scenario).links.set_index("link")["mean_bps"]
    level: list[int] = []
    for _lid, dirs in names:
        load = max((float(est[d]) for d in dirs if d in est.index), default=0.0)
        fit = [i for i, t in enumerate(tiers) if t > load]
        if not fit:
            raise AnalysisInputError(
                f"the SLA cannot be met at any tier: link {_lid} carries {load / 1e9:.3g} "
                f"Gbit/s on average, more than the fastest tier ({tiers[-1] / 1e9:g} Gbit/s)")
        level.append(fit[0])
    steps: list[dict[str, Any]] = []
    for _ in range(max_steps):
        trial = copy.deepcopy(data)
        for link, i in zip(trial["links"], level, strict=True):
            link["rate"] = f"{tiers[i]}bps"
        # the same seeds for every tier choice (common random numbers); runs are keyed by
        # their full scenario, so a tier choice tried before is reused
        cache = RunCache(trial, base_dir, Vary("size", "fixed", None, 0.0),
                         Path(cache_dir) if cache_dir else None, duration_ps, on_run)
        recs = [cache.run(0.0, k) for k in range(replications)]
        verdict, decided = _judge(0.0, recs, targets, confidence)
        k = replications
        while not decided and k < max_replications:
            recs.append(cache.run(0.0, k))
            k += 1
            verdict, decided = _judge(0.0, recs, targets, confidence)
        if not any(r.summary is not None for r in recs):
            raise AnalysisInputError("every run failed: " + str(recs[0].error))
        b = verdict.binding()
        steps.append({"tiers": [tiers[i] for i in level], "ok": verdict.ok,
                      "uncertain": verdict.uncertain, "class": b["class"],
                      "metric": b["metric"], "mean": b["mean"], "target": b["target"]})
        if verdict.ok:
            costs = link_costs(trial, model)
            parse_scenario_dict(copy.deepcopy(trial), base_dir=base_dir)
            return SizingResult(costs, float(costs["cost"].sum()), steps, verdict.uncertain,
                                model.currency)
        # upgrade the most utilised scenario link that still has a faster tier
        util: dict[str, float] = (
            {str(k): float(v) for k, v in zip(verdict.links["link"],
                                               verdict.links["utilisation"], strict=True)}
            if len(verdict.links) else {})
        order = sorted(range(len(names)), key=lambda j: -max(
            (float(util[d]) for d in names[j][1] if d in util), default=0.0))
        up = next((j for j in order if level[j] + 1 < len(tiers)), None)
        if up is None:
            raise AnalysisInputError(
                f"the SLA cannot be met at any tier: with every link at the fastest tier "
                f"({tiers[-1] / 1e9:g} Gbit/s), class {b['class']!r} {b['metric']} is "
                f"{show_value(b['metric'], b['mean'])} against a target of "
                f"{show_value(b['metric'], b['target'])}")
        level[up] += 1
    raise AnalysisInputError(f"no tier choice meets the SLA within {max_steps} upgrades")
