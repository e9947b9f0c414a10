"""Read a scenario or sweep file as TOML, within bounds: a regular file, at most
:data:`~vidnet_sim.scenario.bounds.MAX_FILE_BYTES`, UTF-8 text, nested at most
:data:`~vidnet_sim.scenario.bounds.MAX_NESTING` levels.

A device (``/dev/zero``), a FIFO or a folder is refused before it is opened, so that reading
never blocks or runs out of memory; anything else that cannot be read is one
:class:`~vidnet_sim.errors.ScenarioError` with the line and column where known.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.scenario.bounds import MAX_FILE_BYTES, MAX_NESTING

__all__ = ["nesting_problem", "read_toml", "toml_problem", "toml_value"]

_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16", b"\xef\xbb\xbf": "UTF-8 with a BOM"}


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The TOML document in file ``path``; a :class:`ScenarioError` naming the file for a file
    that is missing, not a regular file, too large, not UTF-8, not TOML or nested too deeply."""
    file = Path(path)
    source = str(path)
    try:
        info = file.stat()
    except FileNotFoundError:
        raise ScenarioError(f"file not found: {file}", source=source) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read {file}: {exc.strerror or exc}", source=source) from None
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, FIFO or socket"
        raise ScenarioError(f"not a file: {file} is {what}", source=source)
    too_big = ScenarioError(
        f"{file} is larger than {MAX_FILE_BYTES // 2**20} MiB, the largest scenario file read",
        source=source,
    )
    if info.st_size > MAX_FILE_BYTES:
        raise too_big
    try:
        with open(file, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot read {file}: {exc.strerror or exc}", source=source) from None
    if len(raw) > MAX_FILE_BYTES:
        raise too_big
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bom = next((name for b, name in _BOMS.items() if raw.startswith(b)), None)
        hint = f" (it looks like {bom}: save it as UTF-8)" if bom else ""
        raise ScenarioError(
            Problem(f"line {line}", f"the file is not UTF-8 text (byte {exc.start}){hint}"),
            source,
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(toml_problem(exc, text), source=source) from None
    except RecursionError:
        raise ScenarioError(_too_deep(""), source=source) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ScenarioError(Problem("", f"cannot read the TOML: {exc}"), source=source) from None
    problem = nesting_problem(data)
    if problem is not None:
        raise ScenarioError(problem, source=source)
    return data


def nesting_problem(data: object) -> Problem | None:
    """The problem of data nested deeper than :data:`MAX_NESTING` (at its first deep place),
    or ``None``. Walks the data without recursion."""
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_NESTING:
            return _too_deep(path)
        if isinstance(node, dict):
            items: Any = node.items()
        elif isinstance(node, list):
            items = ((f"[{i}]", v) for i, v in enumerate(node))
        else:
            continue
        for key, value in items:
            if isinstance(value, dict | list):
                sub = key if key.startswith("[") else (f".{key}" if path else key)
                stack.append((value, path + sub, depth + 1))
    return None


def _too_deep(path: str) -> Problem:
    return Problem(
        path,
        f"arrays or tables nested too deeply: expected at most {MAX_NESTING} levels",
    )


# --------------------------------------------------------------------------- TOML syntax
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")
# ``duration = 10s``: a quantity written without quotes
_UNQUOTED = re.compile(
    r"^(?P<key>[^=]+?)\s*=\s*(?P<value>[-+]?[0-9.]+\s*[A-Za-z\u00b5\u03bc/]+)\s*(#.*)?$"
)


def toml_problem(exc: tomllib.TOMLDecodeError, text: str) -> Problem:
    """One problem with the line and column of a TOML syntax error, and the line's text."""
    message = str(exc)
    lines = text.splitlines()
    at = _TOML_AT.search(message)
    if at:
        line, column = int(at.group(1)), int(at.group(2))
        message = message[: at.start()]
    else:
        end = _TOML_END.search(message)
        if end:
            message = message[: end.start()]
        line = max(1, len(lines))
        column = len(lines[-1]) + 1 if lines else 1
    where = f"line {line}, column {column}"
    detail = f"TOML syntax error: {message[:1].lower()}{message[1:]}"
    if 1 <= line <= len(lines):
        content = lines[line - 1].strip()
        detail += f" in {content[:80]!r}"
        unquoted = _UNQUOTED.match(content)
        if unquoted:
            fixed = f'{unquoted["key"]} = "{unquoted["value"]}"'
            detail += f"; a quantity with a unit is a string in quotes: {fixed}"
    return Problem(where, detail)


def toml_value(v: Any) -> str:
    """``v`` (a value read from TOML) written back as TOML: ``"1Gbps"``, ``2``, ``true``,
    ``["nvr", "cc"]``, ``{ "a" = 1 }``; a ``TypeError`` for what TOML cannot hold."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} to a TOML file")
