"""Hostile command lines and files, third round: a sweep's problem said once, a search's
range and folder checked before anything runs, damaged or empty files refused by name.

Each case ends in one clear line naming what was wrong and the documented exit code, never
a traceback, and leaves every result as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from test_cli_hostile2 import (  # noqa: F401 (made, curve_copy: fixtures)
    curve_copy,
    invoke,
    last_line,
    made,
    snapshot,
)
from test_cli_messages import SCENARIO  # (the same two-camera scenario)
from vidnet_sim.analysis import runs as runs_mod
from vidnet_sim.errors import Problem
from vidnet_sim.sweep.plan import _said_once


def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any simulation of an analysis (in this process: ``--workers 1``) fail the
    test."""

    def refuse(_: None, item: Any) -> Any:
        raise AssertionError("a run was started")

    monkeypatch.setattr(runs_mod, "simulate_run", refuse)


# --------------------------------------------------------------------------- sweep
@pytest.mark.parametrize(
    ("block", "at"),
    [
        ('[sweep.grid]\n"cameras.north.countt" = [1, 2, 3]', 'sweep.grid["cameras.north.countt"]'),
        ('[sweep.random]\nsamples = 4\n[sweep.random.params]\n"cameras.north.countt" = '
         "{ low = 1, high = 9 }", 'sweep.random.params["cameras.north.countt"]'),
    ],
)  # fmt: skip
def test_an_unknown_key_in_a_sweep_is_said_once(tmp_path: Path, block: str, at: str) -> None:
    """A grid (or sample) setting an unknown key was reported once per value, the same
    message each time ("3 problems"): it does not depend on the value, so it is said once,
    at the parameter."""
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    sweep = tmp_path / "sw.toml"
    sweep.write_text(f'[sweep]\nscenario = "s.toml"\n{block}\n', encoding="utf-8")
    code, output = invoke(["sweep", sweep, "--out", tmp_path / "out", "--status"])
    assert code == 3, output
    assert output.splitlines()[1:] == [
        f'  - {at}: every value makes cameras[0] (name="north").countt: unknown key '
        "'countt'; did you mean 'count'?"
    ], output
    assert "1 problem" in output.splitlines()[0]


def test_a_problem_some_values_make_alike_names_them() -> None:
    """Made by some of a parameter's values (not all), the problem names them, the first
    five and how many more."""
    problem = Problem("cameras[0].codec", "unknown codec")
    values: list[tuple[tuple[str | int, ...], Any]] = [(("grid", "k", i), i) for i in range(7)]
    assert str(_said_once(problem, values[:2], 3)) == (
        "sweep.grid.k: the values 0 and 1 make cameras[0].codec: unknown codec"
    )
    assert str(_said_once(problem, values, 9)) == (
        "sweep.grid.k: the values 0, 1, 2, 3, 4 and 2 more make cameras[0].codec: unknown codec"
    )
    assert str(_said_once(problem, values[3:4], 9)) == (
        "sweep.grid.k[3]: 3 makes cameras[0].codec: unknown codec"
    )


