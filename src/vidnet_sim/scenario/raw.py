"""Helpers over a scenario's raw data (the TOML tables before validation)."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

__all__ = ["did_you_mean", "raw_items", "target_groups"]


def raw_items(data: dict[str, Any], section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, item)`` of each item of ``section`` that is a table."""
    items = data.get(section)
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield i, item


def _kind(word: str) -> str:
    """What a key is about: its first word (``frame`` in ``frame_latency_p99``)."""
    return word.replace("-", "_").split("_", 1)[0].lower()


def did_you_mean(word: str, choices: list[str], list_all: bool) -> str:
    """``"; did you mean 'x'?"`` (or the list of choices) for an unknown word.

    Of the close matches, one of the same kind (the same first word: ``latency_p90`` is
    answered with ``latency_p95``, not ``frame_latency_p95``) comes first."""
    close = difflib.get_close_matches(word, choices, n=5, cutoff=0.6)
    same = [c for c in close if _kind(c) == _kind(word)]
    match = (same or close)[:1]
    if not match:
        lower = {c.lower(): c for c in choices}
        if word.lower() in lower:
            match = [lower[word.lower()]]
    if match:
        return f"; did you mean {match[0]!r}?"
    if list_all and choices:
        return "; expected one of: " + ", ".join(choices)
    return ""


def target_groups(
    target: str,
    names: Collection[str],
    camera_nodes: Sequence[tuple[str, str]],
    districts: Mapping[str, str | None],
) -> list[str]:
    """The camera groups, sources or services an event's ``target`` stands for.

    ``names``: the names of the camera groups, sources and services; ``camera_nodes``:
    each camera group's (name, node it is attached at); ``districts``: each node's district
    (or None). A name of ``names`` stands for itself; a node id for every camera group
    attached at it; a district for every camera group attached at one of its nodes. Empty
    when it names none of these, or a node or district without cameras.
    """
    if target in names:
        return [target]
    if target in districts:
        return [name for name, node in camera_nodes if node == target]
    nodes = {n for n, d in districts.items() if d == target}
    return [name for name, node in camera_nodes if node in nodes]
