"""Paired speed comparison of the working tree's core against a git revision's.

On a shared machine single runs of the same code vary by ±15 %, which hides the effect of
most single changes. This script imports both versions side by side in one process (the
revision's ``src/`` is exported and renamed ``vs_base``, the working tree's ``vs_new``), runs
them alternately on the same scenario, and reports the median of the per-pair ratios: slow
drifts of the machine hit both halves of a pair alike. It reports the ratio twice: of
packet-hops per second of wall time, and per second of the main thread's CPU time
(``time.thread_time``), which leaves out the time the process waited for a core while other
jobs ran (on a machine with more jobs than cores the wall-time ratio ranges widely), and
each version's median wall seconds of a run (``RunStats.wall_seconds``, fresh engines).

    python benchmarks/paired.py [--base REV] [--pairs N] [--duration SECONDS[,...]]
                                [--threads 1|2|auto] [--keep DIR] [SCENARIO ...]

A ``SCENARIO`` that is no file names a case of ``benchmarks/peers`` (``e``, ``b``, ...).

With ``--threads 2`` (or ``auto``) the core runs on two threads in both versions: compare
the wall-time ratio then (the CPU time is the main thread's, not the run's).

Both packages compile their kernels on the first use (a few minutes the first time; their
Numba caches live in the temporary copies, so the next call compiles again). With ``--keep
DIR`` the copies go to ``DIR`` and stay there: a later call with the same ``DIR`` reuses them
and their compiled kernels as they are (the working tree's changes since then unseen; remove
``DIR`` to export again), so that a measurement need not wait for the compiler (e.g. a first
call with ``--pairs 0`` compiles, at a low priority, on a shared machine).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
S = 10**12


def _export(dest: Path, name: str, rev: str | None) -> None:
    """Copy ``src/vidnet_sim`` (of ``rev``, or the working tree) to ``dest/name``, renamed."""
    if rev is None:
        shutil.copytree(
            ROOT / "src" / "vidnet_sim", dest / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    else:
        blob = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "src/vidnet_sim"],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
                tar.extractall(dest / "_export", filter="data")
            else:
                tar.extractall(dest / "_export")  # our own git archive
        (dest / "_export" / "src" / "vidnet_sim").rename(dest / name)
    for f in (dest / name).rglob("*.py"):
        # the package's name as a word only (not inside a longer identifier: a copy that
        # renamed ``__vidnet_sim_locked__`` would lock Numba's cache files a second time, and
        # the nested lock of the same file waited for itself)
        text = re.sub(r"\bvidnet_sim\b", name, f.read_text(encoding="utf-8"))
        f.write_text(text, encoding="utf-8")


def _setup(name: str, scenario: Path, duration_ps: int, threads: Any) -> tuple[Any, ...]:
    runner = importlib.import_module(f"{name}.runner")
    plan_mod = importlib.import_module(f"{name}.network.plan")
    driver = importlib.import_module(f"{name}.timeline.driver")
    scenario_mod = importlib.import_module(f"{name}.scenario")
    if scenario.is_file():
        loaded, base_dir = scenario_mod.load_scenario(scenario), scenario.parent
    else:  # a case of benchmarks/peers
        sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))
        case = getattr(importlib.import_module("cases"), f"case_{scenario.name}")()
        base_dir = ROOT / "benchmarks"
        loaded = scenario_mod.parse_scenario_dict(case.scenario, source=case.key, base_dir=base_dir)
    sc = runner.with_overrides(loaded, duration_ps=duration_ps)
    plan = plan_mod.build_plan(sc, base_dir)
    actions = driver.scenario_actions(sc, plan)
    warm = runner.with_overrides(sc, duration_ps=min(duration_ps, S // 10))
    warm_epochs, _ = driver.epoch_bounds(actions, warm.simulation.duration)
    driver.drive(
        runner.make_engine(plan, warm, epochs=warm_epochs, threads=threads),
        actions,
        warm.simulation.duration,
    )
    epochs, _ = driver.epoch_bounds(actions, duration_ps)  # as `vidnet-sim run` has them
    return runner, driver, sc, plan, actions, epochs


def _compare(scenario: Path, pairs: int, duration: float, base: str, threads: Any = 1) -> str:
    """Alternate ``pairs`` pairs of runs of ``scenario`` (``vs_base`` and ``vs_new`` already
    on the path); the report's line."""
    duration_ps = int(duration * S)
    path = scenario.resolve() if scenario.is_file() else scenario
    setups = {n: _setup(n, path, duration_ps, threads) for n in ("vs_base", "vs_new")}
    if pairs == 0:
        return f"{scenario.name}: the kernels of both versions loaded, no pairs run"
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    best = dict.fromkeys(setups, 0.0)
    walls: dict[str, list[float]] = {name: [] for name in setups}
    for i in range(pairs):
        rate, cpu = {}, {}
        for name in ("vs_base", "vs_new") if i % 2 == 0 else ("vs_new", "vs_base"):
            runner, driver, sc, plan, actions, epochs = setups[name]
            engine = runner.make_engine(plan, sc, epochs=epochs, threads=threads)
            c0 = time.thread_time()
            st = driver.drive(engine, actions, duration_ps)
            cpu[name] = time.thread_time() - c0
            rate[name] = st.packet_hops / st.wall_seconds
            walls[name].append(st.wall_seconds)
            best[name] = max(best[name], rate[name])
        ratios.append(rate["vs_new"] / rate["vs_base"])
        cpu_ratios.append(cpu["vs_base"] / cpu["vs_new"])
    return (
        f"{scenario.name}, {duration:g} s simulated, threads {threads}, {pairs} pairs: "
        f"best {best['vs_base'] / 1e6:.2f} M/s ({base}) vs "
        f"{best['vs_new'] / 1e6:.2f} M/s (working tree); median wall "
        f"{statistics.median(walls['vs_base']):.4f} vs {statistics.median(walls['vs_new']):.4f} s; "
        f"new/base median {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}–{max(ratios):.3f}); "
        f"by CPU time {statistics.median(cpu_ratios):.3f} "
        f"(range {min(cpu_ratios):.3f}–{max(cpu_ratios):.3f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "scenario",
        nargs="*",
        type=Path,
        default=[ROOT / "scenarios" / "mid-city.toml"],
        help="one or more scenarios (files, or cases of benchmarks/peers: e), compared in turn "
        "(the kernels compiled once)",
    )
    ap.add_argument("--base", default="HEAD", help="git revision to compare against")
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument(
        "--duration",
        default="5",
        help="simulated seconds per run; a comma-separated list gives one per scenario",
    )
    ap.add_argument("--threads", default="1", help="the core's threads: 1, 2 or auto")
    ap.add_argument("--keep", type=Path, help="export the two versions to this folder once")
    args = ap.parse_args()
    threads = args.threads if args.threads == "auto" else int(args.threads)
    durations = [float(d) for d in args.duration.split(",")]
    if len(durations) == 1:
        durations *= len(args.scenario)
    if len(durations) != len(args.scenario):
        ap.error(f"--duration: {len(durations)} values for {len(args.scenario)} scenarios")
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            tmp = args.keep.resolve()
            tmp.mkdir(parents=True, exist_ok=True)
        for name, rev in (("vs_base", args.base), ("vs_new", None)):
            if not (tmp / name).exists():
                _export(tmp, name, rev)
        sys.path.insert(0, str(tmp))
        for scenario, duration in zip(args.scenario, durations, strict=True):
            print(_compare(scenario, args.pairs, duration, args.base, threads), flush=True)


if __name__ == "__main__":
    main()
