"""Replicated runs of a varied scenario, each stored once and reused.

A run is identified by its content: the full raw scenario data (with the varied value and
the seed set), the folder its relative files are read from and the engine's fingerprint
(:func:`vidnet_sim.fingerprint.engine_fingerprint`: runs stored by another build of the
model are simulated again). Its summary and links tables are written to
``<cache>/runs/<key>.summary.parquet`` / ``.links.parquet`` (each in one step: a temporary
file, then a rename; a stored file that cannot be read is made again), and the same
scenario, parameters and seed are never simulated twice. Seeds come from the content of the
varied value, like sweep points (:func:`vidnet_sim.variation.seeds.point_seed`): replication
``k`` of value ``x`` has the same seed in a curve and in a capacity search.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vidnet_sim.analysis.vary import Vary
from vidnet_sim.canonical import canonical_json
from vidnet_sim.errors import ScenarioError
from vidnet_sim.execute import (
    Executor,
    ProgressFn,
    ProgressTracker,
    SerialExecutor,
    failure_words,
)
from vidnet_sim.fingerprint import engine_fingerprint
from vidnet_sim.results.caveats import override_caveats
from vidnet_sim.results.files import parquet_bytes, write_file
from vidnet_sim.runner import run as run_scenario
from vidnet_sim.runner import with_overrides
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.scenario.units import duration_words
from vidnet_sim.variation.paths import set_value
from vidnet_sim.variation.seeds import point_seed

__all__ = [
    "RunCache",
    "RunRecord",
    "RunSettings",
    "duration_warnings",
    "mean_ci",
    "run_all",
    "simulate_run",
]


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


def job_scenarios(
    data: dict[str, Any], base_dir: Path | None, duration_ps: int | None, source: str = ""
) -> tuple[Scenario, Scenario]:
    """The scenario ``data`` and the one a job's run simulates: its duration the job's
    ``--duration`` (``duration_ps``; ``None``: the scenario's own, see
    :func:`~vidnet_sim.runner.with_overrides`). Raises :class:`ScenarioError`."""
    sc = parse_scenario_dict(data, source=source, base_dir=base_dir)
    return sc, sc if duration_ps is None else with_overrides(sc, duration_ps=duration_ps)


def duration_warnings(
    data: dict[str, Any], base_dir: Path | None, duration_ps: int | None
) -> list[str]:
    """What a job's ``--duration`` (``duration_ps``) leaves out of every run of the scenario
    ``data``, as ``run`` warns of it (:func:`~vidnet_sim.results.caveats.override_caveats`):
    an event or a start at or after the shortened end (an alarm that the runs never see),
    a warm-up cut to half the run. Empty without an override, or for a scenario the runs
    themselves will refuse."""
    if duration_ps is None:
        return []
    try:
        sc, short = job_scenarios(data, base_dir, duration_ps)
    except ScenarioError:
        return []
    return [c.text for c in override_caveats(sc, short)]


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
    epochs: pd.DataFrame | None = None  # per epoch and class (None: not stored)
    epoch_links: pd.DataFrame | None = None  # per epoch and directed link


@dataclass(frozen=True)
class RunSettings:
    """What every run of a job shares: the folder relative files are read from, the
    duration override, and the run store the task writes its tables to itself (``None``:
    the caller writes them)."""

    base_dir: Path
    duration_ps: int | None = None
    store: Path | None = None


#: A run's summary, links, epochs and epoch-links tables, or its error's text.
RunOutput = tuple[
    pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None, str | None
]


def simulate_run(_: None, item: tuple[RunSettings, dict[str, Any], str, str]) -> RunOutput:
    """Simulate one run (``item``: its settings, raw scenario data, a source label and its
    store key); its summary, links and epoch tables, or the scenario error's text; the
    tables also written to ``settings.store`` when set. What the executors run."""
    settings, data, source, key = item
    try:
        sc = job_scenarios(data, settings.base_dir, settings.duration_ps, source)[1]
        res = run_scenario(sc, write=False)
    except ScenarioError as exc:
        return None, None, None, None, exc.render()
    t = res.tables
    out: RunOutput = (t.summary, t.links, t.epochs, t.epoch_links, None)
    if settings.store is not None:
        _store_run(settings.store, key, out)
    return out


def _store_run(folder: Path, key: str, out: RunOutput) -> None:
    """Write a run's tables to the store, the epoch tables first: a stored summary means the
    run is complete. Each file is written in one step (:func:`write_file`) but not flushed
    to disk (``sync=False``: a store of many short runs would spend longer flushing than
    simulating); a file a crash of the machine left empty or cut short is found unreadable
    when the run is looked up, and the run is simulated again (:meth:`RunCache._stored`)."""
    summary, links, epochs, epoch_links, _ = out
    assert summary is not None and links is not None
    tables = {"epochs": epochs, "epoch_links": epoch_links, "summary": summary, "links": links}
    for name, df in tables.items():  # (a run without epoch tables has none to store)
        if df is not None:
            write_file(folder / "runs" / f"{key}.{name}.parquet", parquet_bytes(df), sync=False)


@dataclass
class RunCache:
    """Runs a varied scenario, reusing stored runs (``folder`` ``None``: keep nothing).

    Runs go to ``executor`` (default: one after the other in this process), many at once with
    :meth:`run_many`; the runs of one job are also kept in memory, so a run computed ahead
    (speculatively) is not computed again. ``progress`` counts them for one progress bar;
    ``on_run`` is called with each run obtained (simulated, or read from the store).
    """

    data: dict[str, Any]
    base_dir: Path
    vary: Vary
    folder: Path | None = None
    duration_ps: int | None = None
    on_run: Callable[[RunRecord], None] | None = None
    records: list[RunRecord] = field(default_factory=list)
    executor: Executor | None = None
    progress: ProgressTracker | None = None
    memo: dict[str, RunRecord] = field(default_factory=dict)

    @classmethod
    def for_job(
        cls,
        data: dict[str, Any],
        base_dir: Path,
        vary: Vary,
        cache_dir: str | Path | None,
        duration_ps: int | None,
        on_run: Callable[[RunRecord], None] | None,
        executor: Executor | None,
        on_progress: ProgressFn | None,
    ) -> RunCache:
        """The runs of one job varying ``vary`` (a curve, a capacity search): stored under
        ``cache_dir`` (``None``: kept in memory only), counted for one progress bar. Called
        once the job's inputs are validated: ``executor`` is started now (a local pool's
        workers warm up while the job prepares its first runs)."""
        if executor is not None:
            executor.start()
        return cls(
            data,
            base_dir,
            vary,
            Path(cache_dir) if cache_dir else None,
            duration_ps,
            on_run,
            executor=executor,
            progress=ProgressTracker(on_progress),
        )

    def estimate_scenario(self, x: float) -> Scenario:
        """The scenario the fast estimates read at ``x``: the runs' own (the variable set,
        the job's duration: an alarm the shortened runs never see is not estimated either).
        Raises :class:`ScenarioError`."""
        return job_scenarios(self.scenario_data(x, 0), self.base_dir, self.duration_ps)[1]

    def warnings(self) -> list[str]:
        """What the job's duration override leaves out of its runs
        (:func:`duration_warnings`)."""
        return duration_warnings(self.data, self.base_dir, self.duration_ps)

    def run_length(self) -> str:
        """What each run simulates, for a report's method: ``each run simulates 5 s (the
        scenario's 20 s shortened by --duration), the first 1 s of warm-up not measured``
        (``..., with no warm-up`` without one)."""
        try:
            sc, run = job_scenarios(self.data, self.base_dir, self.duration_ps)
        except ScenarioError:
            return ""
        told = duration_words(run.simulation.duration)
        if run.simulation.duration != sc.simulation.duration:
            told += (
                f" (the scenario's {duration_words(sc.simulation.duration)} shortened by "
                "--duration)"
            )
        warmup = run.simulation.warmup
        if not warmup:
            return f"each run simulates {told}, with no warm-up"
        return (
            f"each run simulates {told}, the first {duration_words(warmup)} of warm-up not measured"
        )

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

    def key(self, data: dict[str, Any]) -> str:
        """The store key of a run: a hash of its content (see the module doc)."""
        return hashlib.sha256(
            canonical_json(
                {
                    "scenario": data,
                    "base_dir": str(self.base_dir),
                    "duration_ps": self.duration_ps,
                    "engine": engine_fingerprint(),
                }
            ).encode()
        ).hexdigest()[:24]

    def run(self, x: float, replication: int) -> RunRecord:
        """One run (from the store when done before); errors are recorded, not raised."""
        return self.run_many([(x, replication)])[0]

    def run_many(self, wanted: Sequence[tuple[float, int]]) -> list[RunRecord]:
        """The runs ``(x, replication)`` in this order (see :func:`run_all`)."""
        return run_all([(self, x, k) for x, k in wanted])

    def _stored(self, x: float, k: int, seed: int, key: str) -> RunRecord | None:
        if self.folder is None:
            return None
        s_path = self.folder / "runs" / f"{key}.summary.parquet"
        l_path = self.folder / "runs" / f"{key}.links.parquet"
        if not (s_path.is_file() and l_path.is_file()):
            return None
        try:
            tables = [
                _read_optional(self.folder / "runs" / f"{key}.{name}.parquet")
                for name in ("summary", "links", "epochs", "epoch_links")
            ]
        except (OSError, ValueError, pa.ArrowException):  # empty, cut short, not Parquet
            return None  # simulated again (and stored whole)
        summary, links, epochs, epoch_links = tables
        if summary is None or links is None:  # removed meanwhile
            return None
        return RunRecord(
            x, k, seed, key, summary, links, True, epochs=epochs, epoch_links=epoch_links
        )

    def _obtained(self, rec: RunRecord) -> None:
        self.memo[rec.key] = rec
        if self.progress is not None:
            self.progress.finished(
                f"{self.vary.what}={self.vary.label(rec.x)} rep {rec.replication}",
                reused=rec.reused,
                failed=rec.error is not None,
            )
        if self.on_run is not None:
            self.on_run(rec)


def run_all(requests: Sequence[tuple[RunCache, float, int]]) -> list[RunRecord]:
    """The runs ``(cache, x, replication)`` in this order: stored or already obtained ones
    reused, the others simulated at once on the first cache's executor (default: in this
    process). Errors are recorded, not raised. The records depend neither on the executor nor
    on the order the runs finish in."""
    out: dict[tuple[int, float, int], RunRecord] = {}
    todo: dict[str, tuple[RunCache, float, int, int, dict[str, Any]]] = {}
    same: list[tuple[RunCache, float, int, int, str]] = []  # content of a run to simulate
    seen: set[tuple[int, float, int]] = set()
    for cache, x, k in requests:
        if (id(cache), x, k) in seen:
            continue
        seen.add((id(cache), x, k))
        data = cache.scenario_data(x, k)
        key = cache.key(data)
        seed = int(data["simulation"]["seed"])
        if key in cache.memo or key in todo:
            same.append((cache, x, k, seed, key))
            continue
        rec = cache._stored(x, k, seed, key)
        if rec is not None:
            if cache.progress is not None:
                cache.progress.planned(1)
            cache._obtained(rec)
            out[id(cache), x, k] = rec
        else:
            todo[key] = (cache, x, k, seed, data)
    if todo:
        _simulate(todo, out)
    for cache, x, k, seed, key in same:
        m = cache.memo.get(key) or next(r for r in out.values() if r.key == key)
        out[id(cache), x, k] = RunRecord(
            x, k, seed, key, m.summary, m.links, m.reused, m.error, m.epochs, m.epoch_links
        )
    recs = [out[id(cache), x, k] for cache, x, k in requests]
    for (cache, _, _), rec in zip(requests, recs, strict=True):
        cache.records.append(rec)
    return recs


def _simulate(
    todo: dict[str, tuple[RunCache, float, int, int, dict[str, Any]]],
    out: dict[tuple[int, float, int], RunRecord],
) -> None:
    first = next(iter(todo.values()))[0]
    executor = first.executor or SerialExecutor()
    progress = first.progress
    # tasks that see this process's files store their runs themselves, in parallel
    own = executor.shares_files
    items = {
        key: (
            RunSettings(cache.base_dir, cache.duration_ps, cache.folder if own else None),
            data,
            f"{cache.vary.what} = {cache.vary.label(x)}",
            key,
        )
        for key, (cache, x, _, _, data) in todo.items()
    }
    slots = executor.slots
    if progress is not None:
        progress.planned(len(items))
        progress.running(min(slots, len(items)))
    left = len(items)
    for outcome in executor.run_tasks(simulate_run, None, items):
        cache, x, k, seed, _ = todo[outcome.key]
        if outcome.error is not None:
            summary = links = epochs = epoch_links = None
            error: str | None = failure_words(outcome.error)
        else:
            summary, links, epochs, epoch_links, error = outcome.value
            if cache.folder is not None and error is None and not own:
                _store_run(cache.folder, outcome.key, outcome.value)
        rec = RunRecord(x, k, seed, outcome.key, summary, links, False, error, epochs, epoch_links)
        left -= 1
        if progress is not None:
            progress.running(min(slots, left))
        cache._obtained(rec)
        out[id(cache), x, k] = rec


def _read_optional(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None
