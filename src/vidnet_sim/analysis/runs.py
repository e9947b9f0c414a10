"""Replicated runs of a varied scenario, each stored once and reused.

A run is identified by its content: the full raw scenario data (with the varied value and
the seed set), the folder its relative files are read from and the engine's fingerprint
(:func:`vidnet_sim.fingerprint.engine_fingerprint`: runs stored by another build of the
model are simulated again). Its summary and links tables
are written to ``<cache>/runs/<key>.summary.parquet`` / ``.links.parquet`` (atomically: a
temporary file, then a rename), and the same scenario, parameters and seed are never
simulated twice. Seeds come from the content of the varied value, like sweep points
(:func:`vidnet_sim.variation.seeds.point_seed`): replication ``k`` of value ``x`` has the same
seed in a curve and in a capacity search.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidnet_sim.analysis.vary import Vary
from vidnet_sim.canonical import canonical_json
from vidnet_sim.errors import ScenarioError
from vidnet_sim.fingerprint import engine_fingerprint
from vidnet_sim.runner import run as run_scenario
from vidnet_sim.runner import with_overrides
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.variation.paths import set_value
from vidnet_sim.variation.seeds import point_seed

__all__ = ["RunCache", "RunRecord", "mean_ci"]


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of independent replications.

    NaN bounds with one value; a zero-width interval when every value is equal.
    """
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    sd = float(v.std(ddof=1))
    if sd == 0.0:
        return m, m, m
    from scipy import stats as st  # lazily: scipy.stats costs a second of start-up

    h = float(st.t.ppf(0.5 + confidence / 2, len(v) - 1)) * sd / math.sqrt(len(v))
    return m, m - h, m + h


@dataclass
class RunRecord:
    """One replication of one value: its tables (or the error that stopped it)."""

    x: float
    replication: int
    seed: int
    key: str
    summary: pd.DataFrame | None
    links: pd.DataFrame | None
    reused: bool
    error: str | None = None


@dataclass
class RunCache:
    """Runs a varied scenario, reusing stored runs (``folder`` ``None``: keep nothing)."""

    data: dict[str, Any]
    base_dir: Path
    vary: Vary
    folder: Path | None = None
    duration_ps: int | None = None
    on_run: Callable[[RunRecord], None] | None = None
    records: list[RunRecord] = field(default_factory=list)

    def root_seed(self) -> int:
        sim = self.data.get("simulation", {})
        seed = sim.get("seed", 0) if isinstance(sim, dict) else 0
        return seed if isinstance(seed, int) and seed >= 0 else 0

    def seed(self, x: float, replication: int) -> int:
        """Seed of replication ``replication`` of value ``x`` (from their content)."""
        digest = hashlib.sha256(canonical_json({"vary": self.vary.what, "x": x}).encode()).digest()
        return point_seed(self.root_seed(), digest, replication)

    def scenario_data(self, x: float, replication: int) -> dict[str, Any]:
        """Raw data of one run: the variable set, and the seed."""
        data = self.vary.apply(self.data, x)
        set_value(data, ("simulation", "seed"), self.seed(x, replication))
        return data

    def run(self, x: float, replication: int) -> RunRecord:
        """One run (from the store when done before); errors are recorded, not raised."""

        data = self.scenario_data(x, replication)
        seed = int(data["simulation"]["seed"])
        key = hashlib.sha256(
            canonical_json(
                {
                    "scenario": data,
                    "base_dir": str(self.base_dir),
                    "duration_ps": self.duration_ps,
                    "engine": engine_fingerprint(),
                }
            ).encode()
        ).hexdigest()[:24]
        rec: RunRecord | None = None
        if self.folder is not None:
            s_path = self.folder / "runs" / f"{key}.summary.parquet"
            l_path = self.folder / "runs" / f"{key}.links.parquet"
            if s_path.is_file() and l_path.is_file():
                rec = RunRecord(
                    x,
                    replication,
                    seed,
                    key,
                    pd.read_parquet(s_path),
                    pd.read_parquet(l_path),
                    reused=True,
                )
        if rec is None:
            try:
                sc = parse_scenario_dict(
                    data, source=f"{self.vary.what} = {self.vary.label(x)}", base_dir=self.base_dir
                )
                if self.duration_ps is not None:
                    sc = with_overrides(sc, duration_ps=self.duration_ps)
                res = run_scenario(sc, write=False)
                rec = RunRecord(
                    x, replication, seed, key, res.tables.summary, res.tables.links, reused=False
                )
            except ScenarioError as exc:
                rec = RunRecord(x, replication, seed, key, None, None, False, exc.render())
            except Exception as exc:  # a failed run is kept as a failure, not fatal
                rec = RunRecord(
                    x, replication, seed, key, None, None, False, f"{type(exc).__name__}: {exc}"
                )
            if self.folder is not None and rec.error is None:
                _write_atomic(rec.summary, self.folder / "runs" / f"{key}.summary.parquet")
                _write_atomic(rec.links, self.folder / "runs" / f"{key}.links.parquet")
        self.records.append(rec)
        if self.on_run is not None:
            self.on_run(rec)
        return rec


def _write_atomic(df: pd.DataFrame | None, path: Path) -> None:
    assert df is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
