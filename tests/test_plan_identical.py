"""``build_plan`` builds the same plans as the per-item code it replaced, bit for bit.

The sources' columns and keys, the trees' layouts and the link order are built over arrays
(numpy) rather than one source, one tree or one position at a time. The digests in
``data/plan_digests.json`` hash every field of the :class:`NetworkPlan` of each case below
(arrays with their dtypes and shapes, lists with their items' types, the source table field by
field) or the message of the :class:`ScenarioError` that refused it. They were recorded with
this file and the per-item code of commit d739bd3, before the array code replaced it:

    git archive d739bd3 src | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base/src:tests python tests/test_plan_identical.py --record

(a new case is recorded the same way, with that code). The cases: every example scenario
(each year of its growth plan), the scenarios of ``tests/data`` and ``tests/data/cli``, the
hand-written hostile cases and 60 drawn ones of ``tests/hostile.py`` (seeds 0, 1 and
2**63 - 1, motion, traces, generic sources, failures, growth, GOPs of 1...) and
:data:`FEATURES` (camera streams, day and night, services).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hostile import FIXED, Case, hostile_cases
from test_services import BASE
from vidnet_sim.errors import ScenarioError
from vidnet_sim.network.plan import NetworkPlan, build_plan
from vidnet_sim.runner import with_overrides
from vidnet_sim.scenario import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.growth import plan_years, scenario_for_year
from vidnet_sim.scenario.model import Scenario

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DIGESTS = TESTS / "data" / "plan_digests.json"
#: Drawn hostile cases (seed, count).
DRAWN = (20260, 60)
#: Camera streams, motion, day and night, random and aligned phases, multicast, services:
#: what the drawn cases lack. Run with seeds of one, two and seven 32-bit words.
FEATURES: dict[str, Any] = {
    **BASE,
    "nodes": [*BASE["nodes"], {"id": "edge"}],
    "links": [*BASE["links"], {"a": "edge", "b": "core", "rate": "1Gbps"}],
    "cameras": [
        {
            "name": "north",
            "count": 7,
            "attach": "site",
            "destinations": ["cc"],
            "motion": {"idle_mean": "20s", "motion_mean": "10s", "bitrate_scale": 2.5, "gop": 5},
            "day_night": {"night_scale": 1.5, "time_of_day_at_start": "18.9997h"},
            "streams": [
                {"name": "rec"},
                {
                    "name": "live",
                    "resolution": "VGA",
                    "fps": 29.97,
                    "multicast": True,
                    "destinations": ["cc", "gw"],
                },
                {"name": "sub", "fps": 7, "gop": 3, "rate_control": "cbr"},
            ],
        },
        {
            "name": "south",
            "count": 5,
            "attach": "edge",
            "destinations": ["gw", "cc"],
            "phase": "aligned",
            "start": "1s",
            "stop": "8s",
            "fps": 12.5,
        },
        {"name": "east", "count": 3, "attach": "edge", "destinations": ["cc"], "multicast": True},
        {"name": "west", "count": 4, "attach": "core", "destinations": ["cc"], "gop": 1},
    ],
    "services": [
        {"name": "voip", "kind": "voip", "at": "edge", "destinations": ["cc"], "calls": 3},
        {"name": "wifi", "kind": "wifi", "at": "site", "destinations": ["gw"], "users": 4},
    ],
}


def plan_digest(plan: NetworkPlan) -> str:
    """A hash of every field of ``plan``, with dtypes, shapes and the items' types."""
    h = hashlib.sha256()
    _feed(h, "plan", plan)
    return h.hexdigest()[:24]


def _feed(h: Any, name: str, value: Any) -> None:
    h.update(name.encode())
    if isinstance(value, np.ndarray):
        h.update(f"ndarray {value.dtype.str} {value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(type(value).__name__.encode())
        for f in dataclasses.fields(value):
            _feed(h, f"{name}.{f.name}", getattr(value, f.name))
    elif isinstance(value, list | tuple):
        h.update(f"{type(value).__name__} {len(value)}".encode())
        for i, item in enumerate(value):
            _feed(h, f"{name}[{i}]", item)
    elif isinstance(value, dict):
        h.update(f"dict {len(value)}".encode())
        for k in sorted(value, key=repr):
            _feed(h, f"{name}[{k!r}]", value[k])
    else:
        h.update(f"{type(value).__name__} {value!r}".encode())


def _outcome(build: Any) -> str:
    """The digest of the plan ``build()`` returns, or the refusal's message."""
    try:
        return plan_digest(build())
    except ScenarioError as exc:
        return "refused: " + hashlib.sha256(str(exc).encode()).hexdigest()[:24]


def _years(key: str, scenario: Scenario, base_dir: Path | None) -> Iterator[tuple[str, str]]:
    """Each year's outcome of ``scenario``'s growth plan."""
    for year in plan_years(scenario):
        sc = scenario if year == 1 else scenario_for_year(scenario, year)
        yield f"{key} year {year}", _outcome(lambda sc=sc: build_plan(sc, base_dir))


def _file_outcomes(path: Path) -> Iterator[tuple[str, str]]:
    key = str(path.relative_to(REPO))
    try:
        scenario = load_scenario(path)
    except ScenarioError:
        return  # refused by the loader: no plan to build
    yield from _years(key, scenario, path.parent)


def _case_outcomes(case: Case, work_dir: Path) -> Iterator[tuple[str, str]]:
    for file, rows in case.get("traces", {}).items():
        lines = ["time_ps,size", *(f"{t},{s}" for t, s in rows)]
        (work_dir / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        scenario = parse_scenario_dict(copy.deepcopy(case["scenario"]), base_dir=work_dir)
        scenario = with_overrides(scenario, seed=case.get("seed"))
    except ScenarioError:
        return
    yield from _years(f"hostile {case['name']}", scenario, work_dir)


def outcomes() -> dict[str, str]:
    """Every case's outcome (see the module doc)."""
    out: dict[str, str] = {}
    files = sorted(REPO.glob("scenarios/*.toml"))
    files += sorted(TESTS.glob("data/*.toml")) + sorted(TESTS.glob("data/cli/*.toml"))
    for path in files:
        out.update(_file_outcomes(path))
    cases = [case for case, _ in FIXED.values()] + hostile_cases(*DRAWN)
    for seed in (0, 2**40 + 3, 2**200 + 5):
        data = {**FEATURES, "simulation": {"duration": "10s", "seed": seed}}
        cases.append({"name": f"features seed {seed}", "scenario": data})
    for case in cases:
        with tempfile.TemporaryDirectory() as tmp:
            out.update(_case_outcomes(case, Path(tmp)))
    return out


@pytest.fixture(scope="module")
def recorded() -> dict[str, str]:
    return dict(json.loads(DIGESTS.read_text(encoding="utf-8")))


def test_every_plan_is_the_one_recorded(recorded: dict[str, str]) -> None:
    now = outcomes()
    assert sorted(now) == sorted(recorded)
    differ = [key for key in recorded if now[key] != recorded[key]]
    assert differ == []
    assert sum(v.startswith("refused") for v in now.values()) < len(now) // 2


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_plan_identical.py --record")
    DIGESTS.write_text(json.dumps(outcomes(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
