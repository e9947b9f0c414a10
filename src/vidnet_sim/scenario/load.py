"""Load a scenario file, validate it, and report every problem at once.

:func:`load_scenario` reads a TOML file; :func:`parse_scenario_dict` validates data already
parsed. Both raise one :class:`~vidnet_sim.errors.ScenarioError` listing every problem found:
field errors from the models (bad units, unknown keys, missing keys, broken rules) and the checks
that span the whole scenario (references to nodes and names, unique ids, linked routes,
overlapping alarms, SLA classes, readable trace files). Each problem names the element at fault,
e.g. ``links[3] (id="agg1-core").rate``, and says what was given and what was expected.
"""

from __future__ import annotations

import difflib
import functools
import heapq
import itertools
import os
import re
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from vidnet_sim.errors import Problem, ScenarioError, UnitError
from vidnet_sim.scenario.bounds import MAX_CAMERAS
from vidnet_sim.scenario.groups import scenario_groups, trace_count_mismatch
from vidnet_sim.scenario.growth import plan_data, remap_problem, resolve_growth_files, year_data
from vidnet_sim.scenario.model import (
    SLA_KEY_ALIASES,
    UNITS_REQUIRED,
    CameraGroup,
    Event,
    Scenario,
    Source,
)
from vidnet_sim.scenario.raw import did_you_mean, raw_items, target_groups
from vidnet_sim.scenario.sla_classes import sla_class_problems
from vidnet_sim.scenario.toml_file import nesting_problem, read_toml
from vidnet_sim.scenario.trace import (
    TraceError,
    load_camera_traces,
    load_trace,
    resolve_trace_paths,
)
from vidnet_sim.scenario.units import (
    format_length,
    format_rate,
    format_size,
    format_time,
    parse_length,
    parse_rate,
    parse_size,
    parse_time,
)

__all__ = ["load_scenario", "parse_scenario_dict", "section_problems"]

_CONTEXT = {UNITS_REQUIRED: True}
_MISSING = object()
# The list sections whose items are named in paths, and the key(s) naming them.
_LABELS: dict[str, tuple[str, ...]] = {
    "nodes": ("id",),
    "links": ("id",),
    "cameras": ("name",),
    "sources": ("name",),
    "services": ("name",),
    "routes": ("from", "to"),
    "events": ("kind",),
}


# --------------------------------------------------------------------------- entry points
def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read, validate and return the scenario in the TOML file ``path``.

    The scenario's ``name`` defaults to the file's stem; trace files are resolved relative to
    the file's folder. Raises :class:`~vidnet_sim.errors.ScenarioError` with every problem.
    """
    file = Path(path)
    data = read_toml(path)
    if "name" not in data:
        data["name"] = file.stem
    return parse_scenario_dict(data, source=str(path), base_dir=file.parent)


def parse_scenario_dict(
    data: dict[str, Any], source: str = "", base_dir: Path | None = None
) -> Scenario:
    """Validate ``data`` (a scenario as parsed from TOML) and return the :class:`Scenario`.

    Quantities must be strings with a unit. Relative trace ``file`` paths are resolved against
    ``base_dir`` (default: the current directory), stored as absolute paths, and each trace is
    read once to check it. Raises :class:`~vidnet_sim.errors.ScenarioError` (``source`` names
    the input in its message) listing every problem found.
    """
    if not isinstance(data, dict):
        raise ScenarioError(
            f"expected a table of keys (a TOML document), got {type(data).__name__}", source
        )
    too_deep = nesting_problem(data)
    if too_deep is not None:
        raise ScenarioError(too_deep, source)
    # absolute, so that resolved paths stay right whatever the current folder, and resolving
    # them again (each year of a growth plan, the network's trace loader) changes nothing
    base = Path(os.path.abspath(base_dir if base_dir is not None else Path.cwd()))
    data = resolve_growth_files(resolve_trace_paths(data, base), base)
    problems: list[Problem] = []
    scenario: Scenario | None
    try:
        scenario = Scenario.model_validate(data, context=_CONTEXT)
    except ValidationError as exc:
        scenario = None
        for error in exc.errors():
            problems += _problems_from_error(error, data)
    problems += _cross_checks(data)
    problems += _check_totals(data)
    problems += _check_alarms(_valid_items(scenario, data, "events", Event), data)
    problems += _check_failures(_valid_items(scenario, data, "events", Event), data)
    problems += _check_qos(scenario, data)
    problems += _check_group_names(scenario, data)
    problems += _check_traces(_valid_items(scenario, data, "sources", Source), data)
    problems += _check_camera_traces(_valid_items(scenario, data, "cameras", CameraGroup), data)
    problems += _check_trace_alarms(data)
    if not problems and scenario is not None and scenario.growth:
        problems += _growth_problems(scenario, data, source, base)  # every year of the plan
    notes, conflicts = _sla_key_notes(data)
    problems += conflicts
    if problems or scenario is None:
        raise ScenarioError(problems or [Problem("", "invalid scenario")], source=source)
    scenario.notes.extend(notes)
    return scenario


def _sla_key_notes(data: dict[str, Any]) -> tuple[list[str], list[Problem]]:
    """Notes on old SLA key names (accepted), and problems for a target given under both
    its old and its new name."""
    notes: list[str] = []
    problems: list[Problem] = []
    sla = data.get("sla")
    for cls, targets in sla.items() if isinstance(sla, dict) else ():
        if not isinstance(targets, dict):
            continue
        for old, new in SLA_KEY_ALIASES.items():
            if old not in targets:
                continue
            if new in targets:
                problems.append(
                    Problem(
                        f"sla.{cls}.{old}",
                        f"the old name of {new!r}, which is given too: keep one ({new!r})",
                    )
                )
            else:
                notes.append(
                    f"sla.{cls}.{old}: an old name of {new!r} (the summary column "
                    f"{new}_ps), accepted; write {new!r}"
                )
    return notes, problems


# --------------------------------------------------------------------------- paths
def _label(section: str, item: object) -> str:
    """``' (id="agg1-core")'`` for a list item, from its raw data (empty if unnamed)."""
    if not isinstance(item, dict):
        return ""
    keys = _LABELS.get(section, ())
    values = {k: item.get(k) for k in keys}
    if section == "links" and not isinstance(values["id"], str):
        a, b = item.get("a"), item.get("b")
        values["id"] = f"{a}-{b}" if isinstance(a, str) and isinstance(b, str) else None
    shown = [
        f'{k}="{v if len(v) <= 40 else v[:37] + "..."}"'
        for k, v in values.items()
        if isinstance(v, str)
    ]
    return f" ({', '.join(shown)})" if shown else ""


def _path(loc: Iterable[int | str], data: object) -> str:
    """Readable path of ``loc`` in ``data``: ``links[3] (id="agg1-core").rate``."""
    out = ""
    node: object = data
    section = ""
    labelled = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if not labelled and section in _LABELS:
                out += _label(section, item)
            labelled = True
            node = item
        else:
            out += f".{part}" if out else part
            if not section:
                section = part
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _lookup(data: object, loc: Iterable[int | str]) -> object:
    node = data
    for part in loc:
        in_list = isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node)
        in_dict = isinstance(part, str) and isinstance(node, dict) and part in node
        if not (in_list or in_dict):
            return _MISSING
        node = node[part]  # type: ignore[index]
    return node


def _show(value: object) -> str:
    """A short TOML-like rendering of a raw value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- pydantic errors
def section_problems(exc: ValidationError, section: str, data: dict[str, Any]) -> list[Problem]:
    """The problems of a model of one ``section`` (``"simulation"``) that failed on ``data``,
    named as in a scenario file (``simulation.window: ...``)."""
    whole = {section: data}
    return [
        p
        for error in exc.errors()
        for p in _problems_from_error({**error, "loc": (section, *error["loc"])}, whole)
    ]


def _problems_from_error(error: Any, data: dict[str, Any]) -> list[Problem]:
    """Turn one pydantic error into problems with readable paths and messages."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    raw = _lookup(data, loc)
    got = f"got {_show(raw)}: " if raw is not _MISSING and not isinstance(raw, dict | list) else ""

    if kind == "rules":
        return [
            Problem(_path(loc + ((name,) if name else ()), data), text)
            for name, text in ctx["problems"]
        ]
    if kind == "unit":
        return [Problem(_path(loc, data), str(ctx["message"]))]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if loc[:1] == ("sla",) and key in SLA_KEY_ALIASES:
            return []  # the old name given with the new one: _sla_key_notes says so
        known = _keys_at(loc[:-1])
        return [Problem(_path(loc, data), f"unknown key {key!r}{did_you_mean(key, known, True)}")]
    if kind == "missing":
        return [Problem(_path(loc, data), f"required key {str(loc[-1])!r} is missing")]
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        listed = ", ".join(repr(o) for o in options)
        hint = did_you_mean(str(raw), options, False) if isinstance(raw, str) else ""
        return [Problem(_path(loc, data), f"{got}expected one of {listed}{hint}")]
    message = _MESSAGES.get(kind)
    if message:
        # bounds such as le=1.0 read better as 1
        bounds = {
            k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in ctx.items()
        }
        fmt = _quantity_format(raw)
        if fmt is not None:  # a bound of a quantity, in its unit: 'at least '1ms''
            bounds = {
                k: f"'{fmt(v)}'" if isinstance(v, int) and v else v for k, v in bounds.items()
            }
        text = message.format(**bounds)
    else:
        text = _generic(error["msg"])
    return [Problem(_path(loc, data), f"{got}{text}")]


_MESSAGES = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "too_short": "needs at least {min_length} item(s), got {actual_length}",
    "too_long": "expected at most {max_length} item(s), got {actual_length}",
    "string_too_short": "must not be empty",
    "string_type": "expected a string (in quotes)",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "list_type": "expected an array [...]",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
}


def _quantity_format(raw: object) -> Callable[[int], str] | None:
    """How to show a bound of the quantity ``raw`` (``'1ps'``: a time), or None."""
    if isinstance(raw, str):
        for parse, fmt in _QUANTITIES:
            try:
                parse(raw)
            except UnitError:
                continue
            return fmt
    return None


_QUANTITIES: tuple[tuple[Callable[[object], int], Callable[[int], str]], ...] = (
    (parse_time, format_time),
    (parse_rate, format_rate),
    (parse_size, format_size),
    (parse_length, format_length),
)


def _generic(message: str) -> str:
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if message.startswith("Input should be "):
        return "expected " + message.removeprefix("Input should be ")
    return message[:1].lower() + message[1:]


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` and ``| None`` wrappers from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys accepted by the model at ``loc`` (for 'did you mean' on an unknown key)."""
    current: Any = Scenario
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            found = next((f for name, f in fields.items() if part in (name, f.alias)), None)
            if found is None:
                return []
            current = _strip(found.annotation)
        else:
            args = typing.get_args(current)
            if not args:
                return []
            current = _strip(args[-1])  # list[X] -> X, dict[str, X] -> X
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


# --------------------------------------------------------------------------- cross checks
# --------------------------------------------------------------------------- cross checks
# These run on the raw data (references are plain strings), so that an item with a bad field
# elsewhere still has its references checked: every problem shows at once. Only the checks that
# need parsed values (overlapping alarms, trace files) use the items that validated.
_M = typing.TypeVar("_M", bound=BaseModel)


def _valid_items(
    scenario: Scenario | None, data: dict[str, Any], section: str, model: type[_M]
) -> list[tuple[int, _M]]:
    """``(index, model)`` of each item of ``section`` that is valid on its own."""
    if scenario is not None:
        return list(enumerate(getattr(scenario, section)))
    valid = []
    for i, item in raw_items(data, section):
        try:
            valid.append((i, model.model_validate(item, context=_CONTEXT)))
        except ValidationError:
            continue
    return valid


def _raw_strings(data: dict[str, Any], section: str, key: str) -> set[str]:
    return {v for _, item in raw_items(data, section) if isinstance(v := item.get(key), str)}


def _str_list(item: dict[str, Any], key: str) -> list[tuple[int, str]]:
    values = item.get(key)
    if not isinstance(values, list):
        return []
    return [(k, v) for k, v in enumerate(values) if isinstance(v, str)]


#: Comparisons of unknown names with known ones spent on suggestions, per check.
_HINT_BUDGET = 500_000


class _Hints:
    """``"; did you mean 'x'?"`` for unknown names among ``choices``, within a budget: a
    suggestion compares the name with every choice, so a scenario with thousands of unknown
    names among thousands of choices gets suggestions for its first ones only."""

    def __init__(self, choices: list[str], budget: int = _HINT_BUDGET) -> None:
        self.choices = choices
        self.budget = budget

    def __call__(self, word: str) -> str:
        if self.budget < len(self.choices):
            return ""
        self.budget -= len(self.choices)
        return did_you_mean(word, self.choices, False)


class _NodeCheck:
    """``check(value, *loc)``: the problem at ``loc`` when ``value`` is a string that is no
    node's id (with a suggestion), else nothing."""

    def __init__(self, data: dict[str, Any], ids: set[str]) -> None:
        self.data = data
        self.ids = ids
        self.hint = _Hints(sorted(ids))

    def __call__(self, value: object, *loc: int | str) -> list[Problem]:
        if isinstance(value, str) and value not in self.ids:
            hint = self.hint(value)
            return [
                Problem(_path(loc, self.data), f"got {_show(value)}: no node has this id{hint}")
            ]
        return []


def _cross_checks(data: dict[str, Any]) -> list[Problem]:
    """Unique ids and names, and every reference to a node, checked on the raw data."""
    node_ids = _raw_strings(data, "nodes", "id")
    check_node = _NodeCheck(data, node_ids)
    problems = _duplicate_node_ids(data)
    problems += _check_coordinate_systems(data)
    problems += _check_links(data, check_node)
    named, names = _check_named_items(data, check_node)
    problems += named
    problems += _check_routes(data, node_ids, check_node)
    problems += _check_targets(data, names)
    problems += sla_class_problems(plan_data(data))  # a class used in any year of the plan
    return problems


def _duplicate_node_ids(data: dict[str, Any]) -> list[Problem]:
    """Each node id used once."""
    problems: list[Problem] = []
    first_node: dict[str, int] = {}
    for i, item in raw_items(data, "nodes"):
        nid = item.get("id")
        if isinstance(nid, str):
            if nid in first_node:
                problems.append(
                    Problem(
                        _path(("nodes", i, "id"), data),
                        f"duplicate node id {nid!r} (also nodes[{first_node[nid]}])",
                    )
                )
            else:
                first_node[nid] = i
    return problems


def _check_coordinate_systems(data: dict[str, Any]) -> list[Problem]:
    """Node coordinates: one system (x/y or lat/lon) for the whole scenario."""
    systems: dict[str, int] = {}
    for i, item in raw_items(data, "nodes"):
        if "x" in item and "lat" in item:
            continue  # the node's own check says: not both
        for system, key in (("x/y", "x"), ("lat/lon", "lat")):
            if key in item:
                systems.setdefault(system, i)
    if len(systems) <= 1:
        return []
    i = max(systems.values())
    key = "lat" if systems["lat/lon"] == i else "x"
    return [
        Problem(
            _path(("nodes", i, key), data),
            f"nodes[{systems['x/y']}] uses x/y and nodes[{systems['lat/lon']}] lat/lon: "
            "give every node's coordinates in one system",
        )
    ]


def _check_links(data: dict[str, Any], check_node: _NodeCheck) -> list[Problem]:
    """Links: unique ids (explicit or a-b), endpoints exist."""
    problems: list[Problem] = []
    first_link: dict[str, int] = {}
    for i, item in raw_items(data, "links"):
        a, b, lid = item.get("a"), item.get("b"), item.get("id")
        if not isinstance(lid, str) and isinstance(a, str) and isinstance(b, str):
            lid = f"{a}-{b}"
        if isinstance(lid, str):
            if lid in first_link:
                hint = "" if "id" in item else "; parallel links need explicit ids"
                problems.append(
                    Problem(
                        _path(("links", i, "id"), data),
                        f"duplicate link id {lid!r} (also links[{first_link[lid]}]){hint}",
                    )
                )
            else:
                first_link[lid] = i
        problems += check_node(a, "links", i, "a")
        problems += check_node(b, "links", i, "b")
    return problems


def _check_named_items(
    data: dict[str, Any], check_node: _NodeCheck
) -> tuple[list[Problem], list[str]]:
    """Camera groups, sources and services: unique names, origin and destination nodes exist;
    also their names, sorted."""
    problems: list[Problem] = []
    indexed = _indexed_node_ids(check_node.ids)
    names: dict[str, str] = {}  # name -> where it is first given, e.g. "cameras[2]"
    for section, origin_key in (("cameras", "attach"), ("sources", "at"), ("services", "at")):
        for i, item in raw_items(data, section):
            problems += _duplicate_name(data, section, i, item.get("name"), names)
            origin = item.get(origin_key)
            problems += check_node(origin, section, i, origin_key)
            problems += _check_destinations(data, section, i, item, origin, check_node)
            if section == "cameras":
                problems += _check_camera_group(data, i, item, indexed, check_node)
    return problems, sorted(names)


def _indexed_node_ids(node_ids: set[str]) -> dict[str, list[tuple[str, int]]]:
    """The node ids named like cameras, by group: "north" -> node ids "north[i]", with i."""
    indexed: dict[str, list[tuple[str, int]]] = {}
    for n in node_ids:
        if m := _INDEXED.fullmatch(n):
            indexed.setdefault(m.group(1), []).append((n, int(m.group(2))))
    return indexed


def _duplicate_name(
    data: dict[str, Any], section: str, i: int, name: object, names: dict[str, str]
) -> list[Problem]:
    """The problem when ``name`` is already in ``names`` (camera groups, sources and
    services share one namespace); else records where it is first given."""
    if not isinstance(name, str):
        return []
    if name not in names:
        names[name] = f"{section}[{i}]"
        return []
    return [
        Problem(
            _path((section, i, "name"), data),
            f"duplicate name {name!r} (also {names[name]}); camera groups"
            + (
                ", sources and services"
                if "services" in (section, names[name][:8])
                else " and sources"
            )
            + " need distinct names",
        )
    ]


def _check_destinations(
    data: dict[str, Any],
    section: str,
    i: int,
    item: dict[str, Any],
    origin: object,
    check_node: _NodeCheck,
) -> list[Problem]:
    """An item's destinations: existing nodes, each listed once, not a source's or service's
    own node."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for k, dest in _str_list(item, "destinations"):
        loc = (section, i, "destinations", k)
        if dest not in check_node.ids:
            problems += check_node(dest, *loc)
        elif dest in seen:
            problems.append(Problem(_path(loc, data), f"destination {dest!r} is listed twice"))
        elif section != "cameras" and dest == origin:
            problems.append(
                Problem(
                    _path(loc, data),
                    f"destination {dest!r} is the node the {section[:-1]} is at",
                )
            )
        seen.add(dest)
    return problems


def _check_camera_group(
    data: dict[str, Any],
    i: int,
    item: dict[str, Any],
    indexed: dict[str, list[tuple[str, int]]],
    check_node: _NodeCheck,
) -> list[Problem]:
    """A camera group's own stream destinations exist, and no camera would have a node's id."""
    problems: list[Problem] = []
    for j, stream in raw_items(item, "streams"):
        for k, dest in _str_list(stream, "destinations"):
            problems += check_node(dest, "cameras", i, "streams", j, "destinations", k)
    name, count = item.get("name"), item.get("count")
    if isinstance(name, str) and isinstance(count, int):
        taken = sorted(n for n, k in indexed.get(name, ()) if k < count)
        if taken:
            problems.append(
                Problem(
                    _path(("cameras", i, "name"), data),
                    f"camera {taken[0]!r} of group {name!r} would have the id of a "
                    "node (cameras are nodes named group[i]); rename the group or "
                    "the node",
                )
            )
    return problems


_INDEXED = re.compile(r"(.*)\[(\d{1,18})\]", re.DOTALL)  # a node id named like a camera


def _check_totals(data: dict[str, Any]) -> list[Problem]:
    """The cameras of all groups together are at most :data:`MAX_CAMERAS` (a group over it
    alone is reported at its ``count``)."""
    counts = [
        c
        for _, item in raw_items(data, "cameras")
        if isinstance(c := item.get("count"), int) and not isinstance(c, bool) and c > 0
    ]
    total = sum(counts)
    if total <= MAX_CAMERAS or max(counts) > MAX_CAMERAS:
        return []
    return [
        Problem(
            "cameras",
            f"{total} cameras in {len(counts)} groups; expected at most {MAX_CAMERAS} in a "
            "scenario (each camera is a node, an access link and a source of its own)",
        )
    ]


def _check_routes(
    data: dict[str, Any], node_ids: set[str], check_node: Callable[..., list[Problem]]
) -> list[Problem]:
    """Route nodes exist, each hop is a link in that direction, no loops, no duplicates."""
    problems: list[Problem] = []
    hops: dict[tuple[str, str], int] = {}
    for i, item in raw_items(data, "links"):
        a, b = item.get("a"), item.get("b")
        if isinstance(a, str) and isinstance(b, str):
            hops.setdefault((a, b), i)
            if item.get("duplex", True) is not False:
                hops.setdefault((b, a), i)
    first: dict[tuple[str, str], int] = {}
    for i, item in raw_items(data, "routes"):
        start, end = item.get("from"), item.get("to")
        problems += check_node(start, "routes", i, "from")
        problems += check_node(end, "routes", i, "to")
        if isinstance(start, str) and isinstance(end, str):
            if (start, end) in first:
                problems.append(
                    Problem(
                        _path(("routes", i), data),
                        f"a second route from {start!r} to {end!r} "
                        f"(also routes[{first[(start, end)]}])",
                    )
                )
            else:
                first[(start, end)] = i
        path = _str_list(item, "path")
        visited: set[str] = set()
        for k, node in path:
            problems += check_node(node, "routes", i, "path", k)
            if node in visited:
                problems.append(
                    Problem(
                        _path(("routes", i, "path", k), data),
                        f"the path visits {node!r} twice (a loop)",
                    )
                )
            visited.add(node)
        for (_, u), (k, v) in itertools.pairwise(path):
            if u in node_ids and v in node_ids and (u, v) not in hops:
                why = (
                    f" (links[{hops[(v, u)]}] is one-way, from {v!r} to {u!r})"
                    if (v, u) in hops
                    else ""
                )
                problems.append(
                    Problem(
                        _path(("routes", i, "path", k), data),
                        f"no link from {u!r} to {v!r}{why}; consecutive path nodes must be "
                        "joined by a link",
                    )
                )
    return problems


def _raw_target_groups(data: dict[str, Any], names: list[str]) -> Callable[[str], list[str]]:
    """What an event target stands for in the raw ``data`` (see ``raw.target_groups``)."""
    cams = [
        (c["name"], c["attach"])
        for _, c in raw_items(data, "cameras")
        if isinstance(c.get("name"), str) and isinstance(c.get("attach"), str)
    ]
    districts = {
        n["id"]: n.get("district") if isinstance(n.get("district"), str) else None
        for _, n in raw_items(data, "nodes")
        if isinstance(n.get("id"), str)
    }
    known = set(names)
    # memoised: one event list names the same targets again and again
    return functools.cache(lambda target: target_groups(target, known, cams, districts))


def _check_targets(data: dict[str, Any], names: list[str]) -> list[Problem]:
    """Event targets name camera groups, sources or services, or a node or district with
    camera groups attached."""
    problems: list[Problem] = []
    groups_of = _raw_target_groups(data, names)
    nodes = _raw_strings(data, "nodes", "id")
    districts = _raw_strings(data, "nodes", "district")
    hint_name, hint_place = _Hints(names), None
    for i, item in raw_items(data, "events"):
        for k, target in _str_list(item, "targets"):
            if groups_of(target):
                continue
            where = _path(("events", i, "targets", k), data)
            if target in nodes or target in districts:
                what = "node" if target in nodes else "district"
                problems.append(
                    Problem(
                        where,
                        f"got {target!r}: no camera group is attached at this {what} (a node "
                        "or district target stands for the camera groups attached there)",
                    )
                )
                continue
            # a group's name first; a node or district with cameras only if none is close
            if hint_place is None:
                places = sorted(p for p in nodes | districts if groups_of(p))
                hint_place = _Hints(places)
            hint = hint_name(target) or hint_place(target)
            problems.append(
                Problem(
                    where,
                    f"got {target!r}: no camera group"
                    + (", source, service" if data.get("services") else ", source")
                    + f", node or district has this name{hint}",
                )
            )
    return problems


def _overlaps(spans: Iterable[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """The pairs ``(later, earlier)`` of the ``(start, end, index)`` spans that overlap in
    time, by index; in time ``n log n`` plus the pairs (at most :data:`_MAX_OVERLAPS`)."""
    pairs: set[tuple[int, int]] = set()
    active: list[tuple[int, int]] = []  # (end, index) of the spans begun and not yet ended
    for start, end, j in sorted(spans):
        while active and active[0][0] <= start:
            heapq.heappop(active)
        pairs.update((max(j, k), min(j, k)) for _, k in active)
        if len(pairs) >= _MAX_OVERLAPS:
            break
        heapq.heappush(active, (end, j))
    return sorted(pairs)[:_MAX_OVERLAPS]


#: Most overlapping pairs of events reported (each is one problem).
_MAX_OVERLAPS = 1000


def _raw_group_names(data: dict[str, Any]) -> list[str]:
    """The names of the camera groups, sources and services in the raw ``data``."""
    return [
        str(item["name"])
        for section in ("cameras", "sources", "services")
        for _, item in raw_items(data, section)
        if isinstance(item.get("name"), str)
    ]


def _check_alarms(events: list[tuple[int, Event]], data: dict[str, Any]) -> list[Problem]:
    """Two alarms on a common target (a group, or a node or district standing for its
    camera groups) must not overlap in time."""
    problems: list[Problem] = []
    names = _raw_group_names(data)
    groups_of = _raw_target_groups(data, names)

    def groups(event: Event) -> list[str]:
        return list(dict.fromkeys(g for t in event.targets or () for g in groups_of(t)))

    alarms = [(i, e, e.end) for i, e in events if e.kind == "alarm" and e.end is not None]
    spans: dict[str, list[tuple[int, int, int]]] = {}  # per camera group
    for j, (_, event, end) in enumerate(alarms):
        for group in groups(event):
            spans.setdefault(group, []).append((event.at, end, j))
    pairs = sorted({pair for per_group in spans.values() for pair in _overlaps(per_group)})
    for j, j0 in pairs[:_MAX_OVERLAPS]:
        i, event, end = alarms[j]
        i0, earlier, earlier_end = alarms[j0]
        common = [g for g in groups(event) if g in groups(earlier)]
        problems.append(
            Problem(
                _path(("events", i), data),
                f"overlapping events: the alarm on {common[0]!r} from "
                f"{format_time(event.at)} to {format_time(end)} overlaps "
                f"events[{i0}] (from {format_time(earlier.at)} to "
                f"{format_time(earlier_end)}); alarms on a target must not overlap",
            )
        )
    return problems


def _check_failures(events: list[tuple[int, Event]], data: dict[str, Any]) -> list[Problem]:
    """A failure names a link that exists; two failures of one link must not overlap."""
    problems: list[Problem] = []
    link_ids: list[str] = []
    for _, item in raw_items(data, "links"):
        lid, a, b = item.get("id"), item.get("a"), item.get("b")
        if not isinstance(lid, str) and isinstance(a, str) and isinstance(b, str):
            lid = f"{a}-{b}"
        if isinstance(lid, str):
            link_ids.append(lid)
    failures = [(i, e) for i, e in events if e.kind == "failure" and e.link is not None]
    known = set(link_ids)
    hint = _Hints(link_ids)
    spans: dict[str, list[tuple[int, int, int]]] = {}  # per link
    for j, (_, ev) in enumerate(failures):
        assert ev.link is not None and ev.end is not None
        if ev.link in known:
            spans.setdefault(ev.link, []).append((ev.at, ev.end, j))
    overlapping: dict[int, list[int]] = {}
    for per_link in spans.values():
        for j, j0 in _overlaps(per_link):
            overlapping.setdefault(j, []).append(j0)
    for j, (i, ev) in enumerate(failures):
        assert ev.link is not None and ev.end is not None
        if ev.link not in known:
            problems.append(
                Problem(
                    _path(("events", i, "link"), data),
                    f"got {ev.link!r}: no link has this id{hint(ev.link)}"
                    " (a link's id is its `id`, or `a-b`)",
                )
            )
            continue
        for j0 in sorted(overlapping.get(j, ())):
            i0, other = failures[j0]
            assert other.end is not None
            problems.append(
                Problem(
                    _path(("events", i), data),
                    f"overlapping events: the failure of {ev.link!r} from {format_time(ev.at)} "
                    f"to {format_time(ev.end)} overlaps events[{i0}] (from "
                    f"{format_time(other.at)} to {format_time(other.end)})",
                )
            )
    return problems


def _check_qos(scenario: Scenario | None, data: dict[str, Any]) -> list[Problem]:
    """Classes in use are known and queued; links ask for a scheduler only with ``[qos]``."""
    problems: list[Problem] = []
    qos = scenario.qos if scenario is not None else None
    if scenario is None or qos is None:
        if data.get("qos") is None:
            for i, item in raw_items(data, "links"):
                sched = item.get("scheduler")
                if isinstance(sched, str) and sched != "fifo":
                    problems.append(
                        Problem(
                            _path(("links", i, "scheduler"), data),
                            f"got {sched!r}: a {sched} scheduler needs queues; add a [qos] section "
                            "with [[qos.queues]] (or use 'fifo')",
                        )
                    )
        return problems
    used: dict[str, str] = {}
    for i, cam in enumerate(scenario.cameras):
        if not cam.streams or any(st.class_ is None for st in cam.streams):
            used.setdefault(cam.class_, _path(("cameras", i), data))
        for j, st in enumerate(cam.streams):
            if st.class_ is not None:
                used.setdefault(st.class_, _path(("cameras", i, "streams", j), data))
    for i, src in enumerate(scenario.sources):
        used.setdefault(src.class_, _path(("sources", i), data))
    for i, svc in enumerate(scenario.services):
        used.setdefault(svc.class_name, _path(("services", i), data))
    for path, message in qos.problems(used):
        problems.append(Problem(path, message))
    return problems


def _check_group_names(scenario: Scenario | None, data: dict[str, Any]) -> list[Problem]:
    """The statistics groups (``north/live``, ``voip:up``) have distinct names."""
    if scenario is None:
        return []
    info = scenario_groups(scenario)
    first: dict[str, tuple[str, bool]] = {}  # name -> (path, is the item's own name)
    problems = []
    for name, path, owner in zip(info.names, info.paths, info.owners, strict=True):
        plain = name == owner
        if name in first and not (plain and first[name][1]):  # two items: reported already
            problems.append(
                Problem(
                    path,
                    f"its results group {name!r} has the name of another "
                    f"group (also {first[name][0]}); rename one of them",
                )
            )
        first.setdefault(name, (path, plain))
    return problems


def _check_traces(sources: list[tuple[int, Source]], data: dict[str, Any]) -> list[Problem]:
    """Read each trace file once, so that ``vidnet-sim validate`` reports a bad trace."""
    problems: list[Problem] = []
    for i, src in sources:
        if src.kind != "trace" or src.file is None:
            continue
        where = _path(("sources", i, "file"), data)
        try:
            load_trace(Path(src.file))
        except TraceError as exc:
            problems.append(Problem(where, exc.message))
        except Exception as exc:  # a reader failing in an unforeseen way is still a bad file
            problems.append(Problem(where, f"cannot read trace {src.file}: {exc}"))
    return problems


def _check_camera_traces(
    cameras: list[tuple[int, CameraGroup]], data: dict[str, Any]
) -> list[Problem]:
    """Read the traces of each camera group replaying them: readable, one camera per
    trace."""
    problems: list[Problem] = []
    for i, cam in cameras:
        key, path = ("trace", cam.trace) if cam.trace is not None else ("trace_dir", cam.trace_dir)
        if path is None:
            continue
        try:
            traces = load_camera_traces(path, folder=key == "trace_dir")
        except TraceError as exc:
            problems.append(Problem(_path(("cameras", i, key), data), exc.message))
            continue
        except Exception as exc:  # a reader failing in an unforeseen way is still a bad file
            problems.append(
                Problem(_path(("cameras", i, key), data), f"cannot read trace {path}: {exc}")
            )
            continue
        mismatch = trace_count_mismatch(cam, traces)
        if mismatch is not None:
            problems.append(Problem(_path(("cameras", i, "count"), data), mismatch))
    return problems


def _check_trace_alarms(data: dict[str, Any]) -> list[Problem]:
    """An alarm scales a video model's bitrate: it cannot target a camera group replaying a
    recorded trace (nor a node or district with one attached)."""
    replaying = {
        str(c["name"])
        for _, c in raw_items(data, "cameras")
        if isinstance(c.get("name"), str) and ("trace" in c or "trace_dir" in c)
    }
    if not replaying:
        return []
    names = _raw_group_names(data)
    groups_of = _raw_target_groups(data, names)
    problems: list[Problem] = []
    for i, item in raw_items(data, "events"):
        if item.get("kind") != "alarm":
            continue
        for k, target in _str_list(item, "targets"):
            hit = [g for g in groups_of(target) if g in replaying]
            if hit:
                via = "" if hit == [target] else f" (it stands for camera group {hit[0]!r})"
                problems.append(
                    Problem(
                        _path(("events", i, "targets", k), data),
                        f"got {target!r}{via}: camera group {hit[0]!r} replays a recorded "
                        "trace, which an alarm cannot scale; alarms apply to modelled camera "
                        "groups and poisson sources (target those, or use start/stop events)",
                    )
                )
    return problems


def _growth_problems(
    scenario: Scenario, data: dict[str, Any], source: str = "", base_dir: Path | None = None
) -> list[Problem]:
    """Check the growth plan of a scenario whose base is valid: years increase, the groups
    ``scale_cameras`` names exist by then, and the scenario of every year validates (each
    problem reported once, at its place in the plan)."""
    problems: list[Problem] = []
    names = [c.name for c in scenario.cameras]
    for g, entry in enumerate(scenario.growth):
        if g and entry.year <= scenario.growth[g - 1].year:
            problems.append(
                Problem(
                    f"growth[{g}].year",
                    f"got {entry.year}: years must increase from one entry to the next "
                    f"(growth[{g - 1}] is year {scenario.growth[g - 1].year})",
                )
            )
        if isinstance(entry.scale_cameras, dict):
            for name in entry.scale_cameras:
                if name not in names:
                    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
                    hint = (
                        f"; did you mean {close[0]!r}?"
                        if close
                        else f"; groups then: {', '.join(dict.fromkeys(names)) or 'none'}"
                    )
                    problems.append(
                        Problem(
                            f"growth[{g}].scale_cameras.{name}",
                            f"got {name!r}: no camera group has this name before this entry "
                            f"(year {entry.year}){hint}",
                        )
                    )
        names += [c["name"] for c in entry.cameras if isinstance(c.get("name"), str)]
    seen: set[str] = set()
    for year in sorted({g.year for g in scenario.growth}):
        try:
            parse_scenario_dict(year_data(data, year), source, base_dir)
        except ScenarioError as exc:
            for p in exc.problems:
                if p.path.startswith("sla."):
                    continue  # SLA classes are checked over the whole plan, with the base
                key = str(remap_problem(p, data, year, note_year=False))
                if key not in seen:
                    seen.add(key)
                    problems.append(remap_problem(p, data, year))
    return problems
