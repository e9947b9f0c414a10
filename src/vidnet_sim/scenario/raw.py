"""Helpers over a scenario's raw data (the TOML tables before validation)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

__all__ = ["did_you_mean", "raw_items"]


def raw_items(data: dict[str, Any], section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, item)`` of each item of ``section`` that is a table."""
    items = data.get(section)
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield i, item


def did_you_mean(word: str, choices: list[str], list_all: bool) -> str:
    """``"; did you mean 'x'?"`` (or the list of choices) for an unknown word."""
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not match:
        lower = {c.lower(): c for c in choices}
        if word.lower() in lower:
            match = [lower[word.lower()]]
    if match:
        return f"; did you mean {match[0]!r}?"
    if list_all and choices:
        return "; expected one of: " + ", ".join(choices)
    return ""
