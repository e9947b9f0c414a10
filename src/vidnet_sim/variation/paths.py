"""Dotted field paths into a scenario's raw TOML data: parse, resolve and set.

A path names one field of a scenario as it is written in the file::

    simulation.duration          a key of a table
    cameras[0].count             an item of an array of tables, by position
    cameras.north.count          ... or by its ``name`` / ``id`` (links without an id:
    links["agg1-core"].rate      ``"<a>-<b>"``); quotes allow any character
    sla.video.loss               a key of a table of tables

:func:`resolve` turns a path into a concrete location (``("cameras", 0, "count")``) in a
given scenario, with an error message that says what exists when it does not;
:func:`set_value` writes a value at a location. Missing keys of tables are created (the
scenario validation then reports an unknown key), missing array items are not.
"""

from __future__ import annotations

import difflib
import itertools
import re
from typing import Any

__all__ = [
    "Loc",
    "PathError",
    "format_loc",
    "parse_path",
    "resolve",
    "set_value",
    "strip_labels",
    "within",
]

#: A concrete location in raw scenario data: table keys and array positions.
Loc = tuple[str | int, ...]

# What names an item of each array of tables (besides its position).
_ITEM_KEYS = ("id", "name")

_TOKEN = re.compile(
    r"""
      \[\s*(?P<int>\d+)\s*\]                    # [3]
    | \[\s*"(?P<dq>[^"]*)"\s*\]                 # ["north streets"]
    | \[\s*'(?P<sq>[^']*)'\s*\]                 # ['north streets']
    | \[(?P<bare>[^\]\["']+)\]                  # [north]
    | (?P<dot>\.)?(?P<key>[^.\[\]"'\s]+)        # .key
    """,
    re.VERBOSE,
)


class PathError(ValueError):
    """A field path that does not parse, or names nothing in the scenario."""


def parse_path(path: str) -> list[str | int]:
    """The segments of ``path``: strings (keys or item names) and ints (positions)."""
    if not isinstance(path, str) or not path.strip():
        raise PathError("expected a field path such as 'cameras[0].count'")
    out: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None or (m["key"] is not None and not m["dot"] and out):
            raise PathError(
                f"not a field path: {path!r} (at character {pos + 1}); write keys joined "
                "by '.', and array items as [0] or [\"name\"], e.g. 'cameras[0].count'"
            )
        if m["key"] is not None and m["dot"] and not out:
            raise PathError(f"not a field path: {path!r} (starts with '.')")
        if m["int"] is not None:
            if not out:
                raise PathError(f"not a field path: {path!r} (starts with an index)")
            out.append(int(m["int"]))
        else:
            text = next(g for g in (m["dq"], m["sq"], m["bare"], m["key"]) if g is not None)
            if m["bare"] is not None:
                text = text.strip()
            if not text:
                raise PathError(f"not a field path: {path!r} (an empty name)")
            out.append(text)
        pos = m.end()
    return out


def format_loc(loc: Loc) -> str:
    """``("cameras", 0, "count")`` → ``'cameras[0].count'``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def strip_labels(path: str) -> str:
    """A problem's path without the labels a scenario error adds to its array items:
    ``'cameras[0] (name="north").count'`` → ``'cameras[0].count'`` (:func:`format_loc`'s
    form)."""
    return re.sub(r' \([a-z]+="[^"]*"(, [a-z]+="[^"]*")*\)', "", path)


def within(path: str, prefix: str) -> bool:
    """Whether the field ``path`` is ``prefix`` or inside it (both :func:`format_loc`'s
    form)."""
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _item_names(item: object) -> list[str]:
    if not isinstance(item, dict):
        return []
    names = [item[k] for k in _ITEM_KEYS if isinstance(item.get(k), str)]
    if "id" not in item and isinstance(item.get("a"), str) and isinstance(item.get("b"), str):
        names.append(f"{item['a']}-{item['b']}")
    return names


def resolve(data: dict[str, Any], path: str) -> Loc:
    """The concrete location that ``path`` names in ``data`` (raw scenario data).

    Raises :class:`PathError` with a helpful message when an array item does not exist or a
    value is walked into.
    """
    segments = parse_path(path)
    loc: list[str | int] = []
    node: object = data
    for i, seg in enumerate(segments):
        here = format_loc(tuple(loc))
        if isinstance(node, list):
            if isinstance(seg, int):
                if seg >= len(node):
                    raise PathError(
                        f"{here}[{seg}]: no such item: {here} has {len(node)} item(s)"
                        + (f" ({here}[0] to {here}[{len(node) - 1}])" if node else "")
                    )
                index = seg
            else:
                matches = [k for k, item in enumerate(node) if seg in _item_names(item)]
                if not matches:
                    names = [n for item in node for n in _item_names(item)]
                    close = difflib.get_close_matches(seg, names, n=1, cutoff=0.6)
                    hint = (
                        f"; did you mean {close[0]!r}?"
                        if close
                        else ("; names: " + ", ".join(names[:12]) if names else "")
                    )
                    raise PathError(f"{here}: no item named {seg!r}{hint}")
                if len(matches) > 1:
                    raise PathError(
                        f"{here}: {len(matches)} items are named {seg!r} "
                        f"({', '.join(f'{here}[{k}]' for k in matches)}); use a position"
                    )
                index = matches[0]
            loc.append(index)
            node = node[index]
        elif isinstance(node, dict) or node is None:
            if isinstance(seg, int):
                what = "a table" if isinstance(node, dict) else "missing"
                raise PathError(f"{here}[{seg}]: {here} is {what}, not an array")
            loc.append(seg)
            node = node.get(seg) if isinstance(node, dict) else None
        else:
            raise PathError(
                f"{format_loc((*loc, *segments[i : i + 1]))}: {here} is a value "
                f"({node!r}), not a table or an array"
            )
    return tuple(loc)


def set_value(data: dict[str, Any], loc: Loc, value: Any) -> None:
    """Set ``value`` at ``loc`` in ``data`` (in place), creating missing tables on the way."""
    node: Any = data
    for part, nxt in itertools.pairwise(loc):
        if isinstance(part, str):
            child = node.get(part)
            if child is None:
                if isinstance(nxt, int):
                    raise PathError(f"{format_loc(loc)}: {part!r} is missing")
                child = node[part] = {}
            node = child
        else:
            node = node[part]
    node[loc[-1]] = value
