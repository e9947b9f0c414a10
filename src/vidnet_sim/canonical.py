"""Canonical JSON text: the same value gives the same text, whatever its dict order."""

from __future__ import annotations

import json

__all__ = ["canonical_json"]


def canonical_json(value: object) -> str:
    """Compact JSON with sorted keys: the canonical text that content keys hash."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
