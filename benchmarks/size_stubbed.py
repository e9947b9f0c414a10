"""Time ``size`` outside the simulations: the verdicts given by a rule, nothing simulated.

    python benchmarks/size_stubbed.py [SCENARIO] [--max-designs N] [--headroom H]
                                      [--limit SECONDS] [--costs TOML]

Sizes the scenario (by default the large city) with the whole bill (the defaults, or
``--costs``) as ``vidnet-sim size`` does, but each design is judged by a rule instead of
simulated: it passes when every link's rate is at least ``H`` (1.3 by default) times its mean
offered load in either direction. Prints the wall time, the designs judged, the search's
expansions and the size of its queue per year, what stopped each year's search and the cost
bounds stated, and the wall and CPU time of the local improvement and of its moves of two
units (``_YearSearch.move_two``: the first move tried, or every move judged, from each
design). ``--limit``: give up after that many seconds (the counts so far are printed).
``--moves N``: instead of sizing, time the first ``N`` moves of two units the local
improvement would try from the fastest design (every link at the fastest tier), and count
the designs costed for them.
"""

from __future__ import annotations

import argparse
import itertools
import math
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd

from vidnet_sim.analysis import search
from vidnet_sim.analysis.bill import BillModel, load_bill_model
from vidnet_sim.analysis.capacity import Verdict
from vidnet_sim.analysis.cost import scenario_links
from vidnet_sim.analysis.estimates import estimate
from vidnet_sim.analysis.sizing import SizingStoppedError, size_network
from vidnet_sim.analysis.vary import load_raw
from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario import load_scenario

REPO = Path(__file__).resolve().parent.parent


class _OutOfTimeError(Exception):
    pass


def _verdict(ok: bool) -> Verdict:
    checks = pd.DataFrame(
        [
            {
                "class": "video",
                "metric": "loss",
                "mean": 0.0 if ok else 1.0,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "target": 0.5,
                "state": "pass" if ok else "fail",
                "ratio": 0.0 if ok else 2.0,
            }
        ]
    )
    return Verdict(
        0.0, ok, False, 1, checks, pd.DataFrame(columns=["link", "utilisation", "drops"])
    )


def _instrument(moves: int) -> tuple[list[dict[str, int]], dict[str, list[float]]]:
    """Count each year's expansions and queue, time the local improvement and its moves of
    two units; with ``moves``, time those moves from the fastest design instead of sizing."""
    counts: list[dict[str, int]] = []
    push = search._YearSearch.push_children
    start = search._YearSearch.__init__

    def counted_init(self: Any, *a: Any, **k: Any) -> None:
        start(self, *a, **k)
        counts.append({"expansions": 0})
        self._count = counts[-1]

    def counted_push(self: Any, levels: Any) -> None:
        self._count["expansions"] += 1
        self._count["queue"] = len(self.heap)
        push(self, levels)

    search._YearSearch.__init__ = counted_init  # type: ignore[method-assign]
    search._YearSearch.push_children = counted_push  # type: ignore[method-assign]
    spent: dict[str, list[float]] = {}

    def timed(name: str) -> None:
        inner = getattr(search._YearSearch, name)

        def wrapper(self: Any, *a: Any, **k: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return inner(self, *a, **k)
            finally:
                row = spent.setdefault(name, [0, 0.0, 0.0])
                row[0] += 1
                row[1] += time.perf_counter() - t
                row[2] += time.process_time() - c

        setattr(search._YearSearch, name, wrapper)

    timed("improve")
    timed("move_two")
    if moves:

        def moves_only(self: Any, max_designs: int) -> Any:
            top = tuple(self.space.n_tiers - 1 for _ in self.floor)
            self.cost(top)
            before = len(self.costs)
            t, c = time.perf_counter(), time.process_time()
            got = list(itertools.islice(self.two_unit_moves(top), moves))
            print(
                f"first {len(got)} moves of two units from the fastest design: wall "
                f"{time.perf_counter() - t:.2f} s, CPU {time.process_time() - c:.2f} s, "
                f"{len(self.costs) - before} designs costed; moves hash "
                f"{hash(tuple(got)) & 0xFFFFFFFF:08x}"
            )
            raise SystemExit(0)

        search._YearSearch.run = moves_only  # type: ignore[method-assign]

    return counts, spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(REPO / "scenarios" / "large-city.toml"))
    ap.add_argument("--max-designs", type=int, default=40)
    ap.add_argument("--headroom", type=float, default=1.3)
    ap.add_argument("--limit", type=float, default=0.0)
    ap.add_argument("--costs", type=Path)
    ap.add_argument("--moves", type=int, default=0)
    args = ap.parse_args()
    path = Path(args.scenario)
    sc = load_scenario(path)
    data, _ = load_raw(path)
    est = estimate(sc, build_plan(sc, path.parent)).links
    load = dict(zip(est["link"].astype(str), est["mean_bps"], strict=True))
    need = {lid: max(load.get(d, 0.0) for d in dirs) for lid, dirs in scenario_links(data)}
    judged = [0]

    def judge(year: int, rates: dict[str, int], *_case: Any) -> Verdict:
        judged[0] += 1
        return _verdict(all(rates[lid] >= args.headroom * need[lid] for lid in need))

    counts, spent = _instrument(args.moves)

    def out_of_time(_sig: int, _frame: FrameType | None) -> None:
        raise _OutOfTimeError

    if args.limit:
        signal.signal(signal.SIGALRM, out_of_time)
        signal.setitimer(signal.ITIMER_REAL, args.limit)
    bill = load_bill_model(args.costs) if args.costs else BillModel()
    t0, c0 = time.perf_counter(), time.process_time()
    result = None
    try:
        result = size_network(
            path, bill=bill, judge=judge, vendor_check=False, max_designs=args.max_designs
        )
    except SizingStoppedError as exc:
        result = exc.result
        print(f"stopped: {exc}")
    except _OutOfTimeError:
        print(f"out of time after {args.limit:g} s")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"wall {wall:.1f} s, CPU {cpu:.1f} s, verdicts {judged[0]}")
    for name, (n, w, used) in spent.items():
        print(f"{name}: {n} calls, wall {w:.1f} s, CPU {used:.1f} s")
    for k, c in enumerate(counts):
        print(f"search {k + 1}: {c}")
    if result is not None:
        for y in result.years:
            extra = {
                key: getattr(y, key)
                for key in ("budgets", "expansions", "queued")
                if hasattr(y, key)
            }
            print(f"year {y.year}: {y.status}, {len(y.trials)} designs judged {extra}")
        for line in result.bound_lines():
            print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
