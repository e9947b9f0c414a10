"""A sweep: a base scenario, its ``[sweep]`` spec, and the points they expand to.

A *point* is one simulation: the base scenario with some fields set (its *parameters*) and a
replication index. Its identity and its seed come from its content only:

- ``point_id`` is ``<16 hex digits of sha256(canonical JSON of the parameters)>-<replication>``;
- its ``simulation.seed`` is drawn from ``numpy.random.SeedSequence(root seed,
  spawn_key=(0, <the hash as four 32-bit words>, replication))`` (with
  ``common_random_numbers``: ``spawn_key=(1, replication)``, the same at every point).

So the same point gets the same file and the same numbers whatever the worker, the order or
the executor, and adding points (values, samples, replications) never changes existing ones.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidnet_sim.canonical import canonical_json
from vidnet_sim.errors import Problem, ScenarioError, UnitError
from vidnet_sim.fingerprint import engine_fingerprint
from vidnet_sim.results.sweep_folder import POINT_COLUMNS
from vidnet_sim.runner import compile_scenario
from vidnet_sim.scenario import Scenario, parse_scenario_dict
from vidnet_sim.scenario.toml_file import read_toml, toml_value
from vidnet_sim.scenario.units import format_time, parse_time
from vidnet_sim.sweep.compiled import keep as keep_compiled
from vidnet_sim.sweep.spec import (
    RandomBlock,
    RandomParam,
    SweepSpec,
    parse_spec,
    spec_path,
)
from vidnet_sim.variation.paths import (
    Loc,
    PathError,
    format_loc,
    resolve,
    set_value,
    strip_labels,
    within,
)
from vidnet_sim.variation.quantities import QUANTITY_KINDS, quantity_kind
from vidnet_sim.variation.seeds import point_seed

__all__ = [
    "POINT_COLUMNS",
    "Point",
    "Sweep",
    "SweepBase",
    "design_problems",
    "load_sweep",
    "params_text",
    "sweep_from_dict",
    "value_text",
]


#: Version of the point-id and seed scheme (part of a sweep folder's fingerprint).
SCHEME = 1

_SAMPLE_LHS = 2
_SAMPLE_UNIFORM = 3
_SEED_PATH: Loc = ("simulation", "seed")
# Table columns a parameter must not be named like (summary, links, hist).
_RESERVED = {
    *POINT_COLUMNS,
    "level",
    "name",
    "class",
    "kind",
    "link",
    "src",
    "dst",
    "metric",
    "bucket",
    "count",
    "loss",
    "run",
}


@dataclass(frozen=True)
class Point:
    """One simulation of a sweep: parameters (field path → value as written) and replication."""

    index: int
    point_id: str
    replication: int
    seed: int
    params: dict[str, Any]

    @property
    def design_id(self) -> str:
        """The point id without its replication: equal for all replications of a design."""
        return self.point_id.rsplit("-", 1)[0]


#: Where a parameter's value is in the ``[sweep]`` spec: ``("grid", "cameras[0].count", 2)``.
Origin = tuple[str | int, ...]


@dataclass(frozen=True)
class SweepBase:
    """What a worker needs to build any point's scenario (small and picklable)."""

    data: dict[str, Any]
    targets: dict[str, Loc]
    source: str = ""
    base_dir: str | None = None
    seed_swept: bool = False
    #: where the up-front check leaves each design's compiled network for the point it was
    #: compiled for (:mod:`vidnet_sim.sweep.compiled`), or ``None``
    compiled_dir: str | None = None

    def scenario_data(self, point: Point) -> dict[str, Any]:
        """The raw scenario data of ``point``: the base with its parameters and seed set."""
        data = copy.deepcopy(self.data)
        for path, value in point.params.items():
            set_value(data, self.targets[path], copy.deepcopy(value))
        if not self.seed_swept:
            set_value(data, _SEED_PATH, point.seed)
        return data

    def scenario(self, point: Point) -> Scenario:
        """The validated :class:`Scenario` of ``point`` (raises :class:`ScenarioError`)."""
        base_dir = Path(self.base_dir) if self.base_dir is not None else None
        source = f"{self.source} (sweep point {point.point_id})"
        return parse_scenario_dict(self.scenario_data(point), source=source, base_dir=base_dir)


@dataclass
class Sweep:
    """A loaded, expanded sweep (see :func:`load_sweep`)."""

    name: str
    spec: SweepSpec
    base: SweepBase
    root_seed: int
    fingerprint: str
    points: list[Point]
    file: Path | None = None
    duplicates: int = 0
    origins: dict[str, dict[str, tuple[str | int, ...]]] = field(default_factory=dict, repr=False)

    @property
    def parameters(self) -> list[str]:
        """The swept field paths, in the order of the spec."""
        return list(self.base.targets)

    def point(self, point_id: str) -> Point:
        """The point with this id (``KeyError`` if none)."""
        for p in self.points:
            if p.point_id == point_id:
                return p
        raise KeyError(point_id)

    def check(self, points: Iterable[Point] | None = None, *, limit: int = 50) -> None:
        """Validate the scenario of each distinct design among ``points`` (default: all).

        Raises one :class:`ScenarioError` whose problems name the sweep value at fault
        (``sweep.grid["cameras[0].count"][2]``) and the scenario field it breaks. A problem
        that several values of a parameter make alike (an unknown key: it does not depend on
        the value) is said once, at the parameter (``sweep.grid["cameras[0].countt"]: every
        value makes ...``). A problem of the base scenario that no parameter explains stops
        the check at once.
        """
        found: dict[tuple[str, str], tuple[Problem, list[tuple[Origin, Any]]]] = {}
        tried: dict[str, set[str]] = {}
        seen: set[str] = set()
        for point in self.points if points is None else points:
            if point.design_id in seen:
                continue
            seen.add(point.design_id)
            for path, value in point.params.items():
                tried.setdefault(path, set()).add(canonical_json(value))
            try:
                self.base.scenario(point)
            except ScenarioError as exc:
                base_problem = False
                for problem in exc.problems:
                    param, origin, mapped = self._map_problem(point, problem)
                    base_problem |= not param
                    _, values = found.setdefault((param, str(mapped)), (mapped, []))
                    if param and all(v != point.params[param] for _, v in values):
                        values.append((origin, point.params[param]))
                if base_problem or len(found) >= limit:
                    break
        if found:
            problems = [
                _said_once(problem, values, len(tried.get(param, ())))
                for (param, _), (problem, values) in found.items()
            ]
            raise ScenarioError(problems, source=self.base.source)

    def designs(self, points: Iterable[Point] | None = None) -> list[Point]:
        """The first point of each distinct design among ``points`` (default: all), in order."""
        designs: dict[str, Point] = {}
        for point in self.points if points is None else points:
            designs.setdefault(point.design_id, point)
        return list(designs.values())

    def check_networks(
        self,
        points: Iterable[Point] | None = None,
        *,
        found: Mapping[str, Sequence[Problem]] | None = None,
    ) -> None:
        """Compile the network of each distinct design among ``points`` (default: all) as
        ``run`` does before simulating it: routes, the packet volume and what the core's
        packed fields hold (:func:`design_problems`); call :meth:`check` first. ``found``:
        the problems of each design (by its id) already found elsewhere (on workers, in
        parallel: :func:`~vidnet_sim.sweep.execute.check_designs`); a design it lacks is
        compiled here.

        Raises one :class:`ScenarioError` naming, for each problem, the sweep value that
        makes it (``sweep.grid["links[0].rate"][1]: "1bps" makes link 'a->b': ...``) when
        one parameter's values explain it (every design with them has it, no other does),
        else the designs that have it, by their parameters; the designs in the sweep's
        order, wherever they were compiled.
        """
        designs = self.designs(points)
        by_problem: dict[str, tuple[Problem, list[Point]]] = {}
        for point in designs:
            problems = (
                found[point.design_id]
                if found is not None and point.design_id in found
                else design_problems(self.base, point)
            )
            for problem in problems:
                by_problem.setdefault(str(problem), (problem, []))[1].append(point)
        if by_problem:
            problems = [self._blame(problem, bad, designs) for problem, bad in by_problem.values()]
            raise ScenarioError(problems, source=self.base.source)

    def _blame(self, problem: Problem, bad: list[Point], designs: list[Point]) -> Problem:
        """``problem`` of the designs ``bad`` (among ``designs``) at the sweep value that
        makes it (:meth:`check_networks`)."""
        bad_ids = {p.design_id for p in bad}
        for path in self.parameters:
            made = {canonical_json(p.params[path]) for p in bad}
            if any(
                p.design_id not in bad_ids and canonical_json(p.params[path]) in made
                for p in designs
            ):
                continue  # a design with one of these values has no such problem
            values: list[tuple[Origin, Any]] = []
            for p in bad:
                if all(v != p.params[path] for _, v in values):
                    values.append((self.origins.get(p.design_id, {}).get(path, ()), p.params[path]))
            tried = {canonical_json(p.params[path]) for p in designs}
            return _said_once(problem, values, len(tried))
        shown = ["(" + params_text(p.params) + ")" for p in bad[:SHOWN_VALUES]]
        more = f" and {len(bad) - len(shown)} more" if len(bad) > len(shown) else ""
        return Problem(
            "sweep",
            f"the design{'s' if len(bad) > 1 else ''} {', '.join(shown)}{more} "
            f"make{'' if len(bad) > 1 else 's'} {problem}",
        )

    def _map_problem(self, point: Point, problem: Problem) -> tuple[str, Origin, Problem]:
        """The swept parameter that explains ``problem`` and where its value is in the spec
        (with ``problem`` itself); else ``""``, no place and the problem as the sweep's."""
        where = strip_labels(problem.path)
        for path, loc in self.base.targets.items():
            target = format_loc(loc)
            if within(where, target) or (where and within(target, where)):
                return path, self.origins.get(point.design_id, {}).get(path, ()), problem
        if problem.path == "simulation.seed" and not self.base.seed_swept:
            return "", (), Problem("sweep.seed", str(problem.message))
        return "", (), Problem("sweep", f"the scenario: {problem}")


def design_problems(base: SweepBase, point: Point) -> list[Problem]:
    """What ``run`` would refuse ``point``'s scenario for: its network compiled as ``run``
    compiles it (routes, the packet volume, what the core's packed fields hold:
    :func:`~vidnet_sim.runner.compile_scenario`); empty when it runs. A module-level
    function: the task an executor runs to check a design on a worker. With
    ``base.compiled_dir``, what it compiled is left there for ``point`` to run
    (:func:`~vidnet_sim.sweep.compiled.keep`)."""
    try:
        compiled = compile_scenario(base.scenario(point))
    except ScenarioError as exc:
        return list(exc.problems)
    if base.compiled_dir is not None:
        keep_compiled(base.compiled_dir, point.point_id, compiled)
    return []


#: Values named in a problem that several values of a parameter make alike; the rest counted.
SHOWN_VALUES = 5


def _said_once(problem: Problem, values: list[tuple[Origin, Any]], tried: int) -> Problem:
    """A problem of the sweep: ``problem`` as it is when no parameter explains it (no
    ``values``); made by one value, at that value (``sweep.grid["k"][2]: 7 makes ...``);
    made by several values of one parameter, once at the parameter, naming them (``every
    value`` when they are all its ``tried`` values)."""
    if not values:
        return problem
    if len(values) == 1:
        origin, value = values[0]
        return Problem(spec_path(origin), f"{json.dumps(value)} makes {problem}")
    origin = values[0][0]
    at = spec_path(origin[:-1] if origin and isinstance(origin[-1], int) else origin)
    if len(values) == tried:
        return Problem(at, f"every value makes {problem}")
    shown = [json.dumps(v) for _, v in values[:SHOWN_VALUES]]
    more = len(values) - len(shown)
    which = (
        ", ".join(shown) + f" and {more} more"
        if more
        else f"{', '.join(shown[:-1])} and {shown[-1]}"
    )
    return Problem(at, f"the values {which} make {problem}")


def value_text(value: Any) -> str:
    """A swept value as a user writes it in the spec: a string bare (``1Gbps``), anything
    else as TOML writes it (``2``, ``true``, ``["nvr", "cc"]``)."""
    return value if isinstance(value, str) else toml_value(value)


def params_text(params: Mapping[str, Any]) -> str:
    """A design's parameters for people: ``links[0].rate="1bps", cameras[0].count=5``."""
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in params.items())


# --------------------------------------------------------------------------- loading
def load_sweep(path: str | os.PathLike[str], *, duration_ps: int | None = None) -> Sweep:
    """Read a sweep from a TOML file and expand its points.

    ``duration_ps`` replaces the scenario's ``simulation.duration`` (and shortens its
    warm-up to half the run when longer, as ``run --duration`` does): a different sweep,
    with its own fingerprint.

    The file is either a scenario with a ``[sweep]`` section, or a sweep file holding only
    ``[sweep]`` with ``scenario = "<path to the scenario file>"`` (relative to the sweep
    file). Raises :class:`~vidnet_sim.errors.ScenarioError` listing every problem of the
    spec (paths like ``sweep.grid["cameras[0].count"]``). The points' scenarios are not
    validated here: call :meth:`Sweep.check`.
    """
    file = Path(path)
    source = str(path)
    data = read_toml(file)
    if "sweep" not in data:
        raise ScenarioError(
            Problem(
                "sweep",
                "no [sweep] section: add one to the scenario, or write a sweep "
                'file with [sweep] and scenario = "<scenario file>"',
            ),
            source=source,
        )
    spec_data = data.pop("sweep")
    scenario_ref = spec_data.get("scenario") if isinstance(spec_data, dict) else None
    base_dir = file.parent
    if isinstance(scenario_ref, str) and scenario_ref:
        if data:
            raise ScenarioError(
                Problem(
                    ", ".join(sorted(data)),
                    "a sweep file that names its scenario "
                    "(sweep.scenario) must hold only the [sweep] section",
                ),
                source=source,
            )
        named = file.parent / scenario_ref
        loop = False
        try:
            scenario_file = named.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links
            scenario_file, loop = named, True
        if not scenario_file.is_file():
            why = (
                f"{named} is a loop of symbolic links"
                if loop
                else f"{scenario_file} is a folder, not a scenario file"
                if scenario_file.is_dir()
                else f"no such file {scenario_file}"
            )
            raise ScenarioError(Problem("sweep.scenario", f"got {scenario_ref!r}: {why}"), source)
        data = read_toml(scenario_file)
        if "sweep" in data:
            raise ScenarioError(
                Problem(
                    "sweep.scenario",
                    f"{scenario_file} has a [sweep] section of its "
                    "own: run that file, or remove one of the two",
                ),
                source=source,
            )
        data.setdefault("name", scenario_file.stem)
        base_dir = scenario_file.parent
        source = f"{source} (scenario {scenario_ref})"
    else:
        data.setdefault("name", file.stem)
    if duration_ps is not None:
        _override_duration(data, duration_ps)
    sweep = sweep_from_dict(
        data, spec_data, name=file.stem, source=source, base_dir=base_dir.resolve()
    )
    sweep.file = file
    return sweep


def _override_duration(data: dict[str, Any], duration_ps: int) -> None:
    """Set ``simulation.duration`` of raw scenario data; a warm-up longer than half the run
    (or not readable: validation reports it) is shortened to half the run."""
    sim = data.get("simulation")
    if not isinstance(sim, dict):
        return  # validation reports the missing section
    sim["duration"] = format_time(duration_ps)
    try:
        warmup = parse_time(sim["warmup"]) if isinstance(sim.get("warmup"), str) else 0
    except UnitError:
        return
    if warmup > duration_ps // 2:
        sim["warmup"] = format_time(duration_ps // 2)


def sweep_from_dict(
    scenario: Mapping[str, Any],
    spec: Mapping[str, Any],
    *,
    name: str = "sweep",
    source: str = "",
    base_dir: str | os.PathLike[str] | None = None,
) -> Sweep:
    """A :class:`Sweep` from raw scenario data and a raw ``[sweep]`` table.

    Raises :class:`~vidnet_sim.errors.ScenarioError` for a bad spec or field paths.
    """
    data = copy.deepcopy(dict(scenario))
    data.pop("sweep", None)
    parsed, problems = parse_spec(dict(spec) if isinstance(spec, Mapping) else spec)
    if parsed is None:
        # report the field paths' problems too, where the spec's structure allows it
        if isinstance(spec, Mapping):
            problems += _targets(_raw_param_keys(spec), data)[1]
        raise ScenarioError(problems, source=source)
    targets, problems = _targets(_param_keys(parsed), data)
    seed_param = next((k for k, loc in targets.items() if loc == _SEED_PATH), None)
    seed_swept = seed_param is not None
    if seed_swept and parsed.replications > 1:
        problems.append(
            Problem(
                "sweep.replications",
                "must be 1 when simulation.seed is swept (the seeds are given)",
            )
        )
    if problems:
        raise ScenarioError(problems, source=source)
    root_seed = parsed.seed if parsed.seed is not None else _base_seed(data)
    fingerprint = _fingerprint(data, root_seed, parsed.common_random_numbers)
    base = SweepBase(
        data, targets, source, str(base_dir) if base_dir is not None else None, seed_swept
    )
    points, origins, duplicates = _expand(parsed, root_seed, seed_param, source)
    return Sweep(name, parsed, base, root_seed, fingerprint, points, None, duplicates, origins)


def _base_seed(data: Mapping[str, Any]) -> int:
    sim = data.get("simulation")
    seed = sim.get("seed") if isinstance(sim, dict) else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 else 0


def _fingerprint(data: dict[str, Any], root_seed: int, crn: bool) -> str:
    """What a sweep folder's points depend on besides their parameters: the base scenario,
    the seeds and the build of the model that computes them (``engine_fingerprint``)."""
    base = copy.deepcopy(data)
    base.pop("name", None)
    base.pop("description", None)
    if isinstance(base.get("simulation"), dict):
        base["simulation"].pop("seed", None)
    doc = {
        "scheme": SCHEME,
        "scenario": base,
        "root_seed": root_seed,
        "common_random_numbers": crn,
        "engine": engine_fingerprint(),
    }
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()[:32]


def _param_keys(spec: SweepSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """``(location in the spec, field path)`` of every swept parameter, in spec order."""
    keys: list[tuple[tuple[str | int, ...], str]] = [(("grid", k), k) for k in spec.grid]
    for loc, group in spec.zip_groups():
        keys += [((*loc, k), k) for k in group]
    if spec.random is not None:
        keys += [(("random", "params", k), k) for k in spec.random.params]
    return keys


def _raw_param_keys(spec: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """:func:`_param_keys` of a raw ``[sweep]`` table that failed validation."""
    keys: list[tuple[tuple[str | int, ...], str]] = []
    grid = spec.get("grid")
    if isinstance(grid, dict):
        keys += [(("grid", k), k) for k in grid]
    zips = spec.get("zip")
    if isinstance(zips, dict):
        keys += [(("zip", k), k) for k in zips]
    elif isinstance(zips, list):
        keys += [(("zip", i, k), k) for i, g in enumerate(zips) if isinstance(g, dict) for k in g]
    rnd = spec.get("random")
    params = rnd.get("params") if isinstance(rnd, dict) else None
    if isinstance(params, dict):
        keys += [(("random", "params", k), k) for k in params]
    return keys


def _targets(
    keys: list[tuple[tuple[str | int, ...], str]], data: dict[str, Any]
) -> tuple[dict[str, Loc], list[Problem]]:
    targets: dict[str, Loc] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    for loc, path in keys:
        at = spec_path(loc)
        if path in where:
            problems.append(Problem(at, f"{path!r} is swept twice (also {where[path]})"))
            continue
        where[path] = at
        if path in _RESERVED:
            problems.append(Problem(at, f"cannot sweep {path!r}: it is a results column"))
            continue
        try:
            target = resolve(data, path)
        except PathError as exc:
            problems.append(Problem(at, str(exc)))
            continue
        for other, other_loc in targets.items():
            shorter = min(len(target), len(other_loc))
            if target[:shorter] == other_loc[:shorter]:
                problems.append(
                    Problem(
                        at,
                        f"{path!r} sets {format_loc(target)}, which "
                        f"overlaps {other!r} ({where[other]})",
                    )
                )
                break
        else:
            targets[path] = target
    return targets, problems


# --------------------------------------------------------------------------- expansion
Row = list[tuple[str, Any, Origin]]


def _expand(
    spec: SweepSpec, root_seed: int, seed_param: str | None, source: str = ""
) -> tuple[list[Point], dict[str, dict[str, tuple[str | int, ...]]], int]:
    blocks: list[list[Row]] = []
    if spec.grid:
        keys = list(spec.grid)
        blocks.append(
            [
                [(k, spec.grid[k][i], ("grid", k, i)) for k, i in zip(keys, combo, strict=True)]
                for combo in itertools.product(*(range(len(spec.grid[k])) for k in keys))
            ]
        )
    for loc, group in spec.zip_groups():
        n = len(next(iter(group.values())))
        blocks.append([[(k, v[i], (*loc, k, i)) for k, v in group.items()] for i in range(n)])
    if spec.random is not None:
        blocks.append(_sample(spec.random, root_seed))
    points: list[Point] = []
    origins: dict[str, dict[str, tuple[str | int, ...]]] = {}
    duplicates = 0
    for combo in itertools.product(*blocks):
        row = [item for part in combo for item in part]
        params = {k: v for k, v, _ in row}
        digest = hashlib.sha256(canonical_json(params).encode("utf-8")).digest()
        design = digest.hex()[:16]
        if design in origins:
            duplicates += 1
            continue
        origins[design] = {k: o for k, _, o in row}
        for rep in range(spec.replications):
            if seed_param is not None:
                seed = params[seed_param]
                if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                    raise ScenarioError(
                        Problem(
                            spec_path(origins[design][seed_param]),
                            f"got {seed!r}: a seed is a whole number >= 0",
                        ),
                        source,
                    )
            else:
                seed = point_seed(root_seed, digest, rep, spec.common_random_numbers)
            points.append(Point(len(points), f"{design}-{rep}", rep, seed, params))
    return points, origins, duplicates


def _sample(block: RandomBlock, root_seed: int) -> list[Row]:
    """The sampled rows of a ``[sweep.random]`` block (values rounded to 12 digits)."""
    keys = list(block.params)
    n, d = block.samples, len(keys)
    seed = block.seed if block.seed is not None else root_seed
    u = np.empty((n, d))
    if block.method == "lhs":
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SAMPLE_LHS, n)))
        for j in range(d):
            u[:, j] = (rng.permutation(n) + rng.random(n)) / n
    else:
        for i in range(n):
            rng = np.random.default_rng(
                np.random.SeedSequence(seed, spawn_key=(_SAMPLE_UNIFORM, i))
            )
            u[i] = rng.random(d)
    return [
        [
            (k, _value(block.params[k], float(u[i, j])), ("random", "params", k))
            for j, k in enumerate(keys)
        ]
        for i in range(n)
    ]


def _value(p: RandomParam, u: float) -> Any:
    """The value of one random parameter at quantile ``u`` in [0, 1)."""
    if p.choices is not None:
        return copy.deepcopy(p.choices[min(int(u * len(p.choices)), len(p.choices) - 1)])
    low, high = p.low, p.high
    if isinstance(low, str) and isinstance(high, str):
        kind = str(quantity_kind(low))
        parse, fmt = QUANTITY_KINDS[kind]
        step = parse(p.step) if isinstance(p.step, str) else 1
        return fmt(int(_scale(parse(low), parse(high), u, p.log, step, True)))
    assert isinstance(low, int | float) and isinstance(high, int | float)
    integer = p.integer
    if integer is None:
        integer = all(isinstance(x, int) for x in (low, high)) and not isinstance(p.step, float)
    value = _scale(
        low, high, u, p.log, p.step if isinstance(p.step, int | float) else None, integer
    )
    return int(value) if integer else float(f"{value:.12g}")


def _scale(
    low: float, high: float, u: float, log: bool, step: float | None, integer: bool
) -> float:
    if integer and step is None:
        step = 1
    if log:
        x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        if step is not None:
            k = math.floor((x - low) / step + 1e-9)
            x = low + k * step
    elif step is not None:
        m = math.floor((high - low) / step + 1e-9) + 1
        x = low + min(int(u * m), m - 1) * step
    else:
        x = low + u * (high - low)
    return min(max(x, low), high)
