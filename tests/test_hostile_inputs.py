"""Hostile but valid scenarios never crash the Numba core nor corrupt its results.

The kernels index their arrays without bounds checks. Each case of ``tests/hostile.py``
(hand-written :data:`~hostile.FIXED` cases, and cases drawn by :func:`~hostile.hostile_case`
at the edges of what the validator accepts) runs in a worker process, so that a segmentation
fault is a failed case, not a dead test run: the core on one thread and on two (as chosen,
and cut at the first level in steps of one and three windows) and with a packet log must
give the same statistics, the SimPy reference engine the same statistics and packets (small
runs), and every packet and frame sent must be delivered, dropped or in flight. A refused
scenario must be a clear :class:`~vidnet_sim.errors.ScenarioError`. The ``slow`` set draws
150 cases (2.4 min) and runs them with Numba's bounds checking on (``NUMBA_BOUNDSCHECK=1``, its
own compile cache), so that an index out of bounds is an ``IndexError`` rather than a silent
write; a sabotaged core (8-bucket histograms) shows that the checking sees the kernels' indices.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hostile import FIXED, bounds_check_env, hostile_cases, run_cases
from vidnet_sim.cli import main
from vidnet_sim.core.limits import MAX_TIME_PS
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, ScenarioError
from vidnet_sim.runner import compile_scenario
from vidnet_sim.scenario import parse_scenario_dict

#: Outcomes a generated case may have: the run is the same every way; the validator refused
#: it; the core stopped with its documented error (every way alike); too many packets for a
#: quick case. (More memory than a worker may take, ``memory``, is a failure: the volume
#: check refuses a window of more than ``MAX_WINDOW_PACKETS`` packets.)
FINE = {"ok", "refused", "stopped", "skipped"}


def _failures(cases: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]]) -> list[str]:
    """The cases whose outcome is not fine, each with its scenario (to reproduce it)."""
    assert [r["name"] for r in results] == [c["name"] for c in cases]
    return [
        f"{r['name']}: {r['outcome']}: {r['detail']}\n{json.dumps(c)}"
        for c, r in zip(cases, results, strict=True)
        if r["outcome"] not in FINE
    ]


@pytest.mark.long
def test_fixed_hostile_cases_have_their_outcome(src_env: dict[str, str]) -> None:
    """Every hand-written case ends as it must (``FIXED``), among them the two bugs the fuzz
    found: a camera starved past its frame-slot limit stops with the documented error
    instead of a segmentation fault, and a buffer whose worst-case delay overflows the
    core's clock is refused instead of an OverflowError traceback."""
    cases = [case for case, _ in FIXED.values()]
    results = run_cases(cases, src_env)
    got = {r["name"]: (r["outcome"], r["detail"]) for r in results}
    wrong = {name: got[name] for name, (_, want) in FIXED.items() if got[name][0] != want}
    assert wrong == {}


@pytest.mark.long
def test_generated_hostile_cases_run_alike_every_way(src_env: dict[str, str]) -> None:
    """A bounded number of drawn cases (the same every run), in a worker process."""
    cases = hostile_cases(seed=20261205, n=16)
    results = run_cases(cases, src_env)
    assert _failures(cases, results) == []
    outcomes = Counter(r["outcome"] for r in results)
    assert outcomes["ok"] >= len(cases) // 2, outcomes  # (most are accepted and run)
    assert outcomes["memory"] == 0, outcomes


def test_a_route_whose_full_buffers_outlast_the_clock_is_refused(tmp_path: Path) -> None:
    """1 GB of buffer at 1 bit/s takes 250 years to send: refused naming the link, the
    delay and the bound, by ``validate`` with exit code 3 (it used to be an OverflowError
    traceback); a buffer that fits under the bound is accepted."""
    case, _ = FIXED["one-gigabyte-buffer-at-one-bit-per-second"]
    data = case["scenario"]
    with pytest.raises(ScenarioError) as exc:
        compile_scenario(parse_scenario_dict(data))
    (problem,) = exc.value.problems
    assert problem.path == "link 'edge->nvr'"
    assert "about 254 years on this link" in problem.message, problem.message
    assert "at 1 bit/s" in problem.message and "at most about 53.4 days" in problem.message
    # 1 bit/s: 8e12 ps per byte; a buffer just under the bound with the run and the packet
    fits = (MAX_TIME_PS - 10**12) // 8 // 10**12 - 200
    small = {**data, "links": [{**data["links"][0], "buffer": f"{fits}B"}]}
    compile_scenario(parse_scenario_dict(small))
    big = {**data, "links": [{**data["links"][0], "buffer": f"{fits + 200}B"}]}
    with pytest.raises(ScenarioError):
        compile_scenario(parse_scenario_dict(big))
    lines = [f"{k} = {json.dumps(v)}" for k, v in data["simulation"].items()]
    toml = "\n".join(["[simulation]", *lines, *_toml_tables(data)])
    path = tmp_path / "slow.toml"
    path.write_text(toml, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == EXIT_INVALID_SCENARIO, result.output
    assert "link 'edge->nvr'" in result.output and "Traceback" not in result.output


def _toml_tables(data: dict[str, Any]) -> list[str]:
    """The arrays of tables of a scenario (nodes, links, sources) as TOML lines."""
    out = []
    for key in ("nodes", "links", "sources"):
        for item in data[key]:
            out.append(f"[[{key}]]")
            out += [f"{k} = {json.dumps(v)}" for k, v in item.items()]
    return out


@pytest.mark.slow
def test_many_hostile_cases_with_bounds_checking(
    src_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """150 drawn cases and the fixed ones with Numba's bounds checking on, compiled
    into a cache folder of their own (Numba's cache does not tell code compiled with bounds
    checks apart: it must never reach the shared cache). First, a core whose histograms
    have 8 buckets must fail with an IndexError: the checking sees the kernels' indices
    (``_u``, the unsigned casts, included)."""
    env = bounds_check_env(src_env, tmp_path_factory.mktemp("numba-boundscheck"))
    sabotaged, _ = FIXED["buffers-one-byte-above-one-packet"]
    (result,) = run_cases([{**sabotaged, "shrink_histograms": True}], env)
    assert result["outcome"] == "fail" and "IndexError" in result["detail"], result
    cases = [case for case, _ in FIXED.values()] + hostile_cases(seed=11, n=150)
    results = run_cases(cases, env, timeout_s=7200.0)
    assert _failures(cases, results) == []
    for (name, (_, want)), got in zip(FIXED.items(), results, strict=False):
        assert got["outcome"] == want, (name, got)
