"""A run's counters as arrays: the groups of each traffic class, empty counters as zeros."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from vidnet_sim.core.stats import RunStats

__all__ = ["class_members", "or_zeros"]


def or_zeros(a: npt.ArrayLike, shape: tuple[int, ...]) -> npt.NDArray[np.int64]:
    """``a`` as int64, or zeros of ``shape`` when the engine left it empty (size 0)."""
    arr = np.asarray(a, dtype=np.int64)
    return np.zeros(shape, np.int64) if arr.size == 0 and math.prod(shape) > 0 else arr


def class_members(s: RunStats) -> dict[str, npt.NDArray[np.intp]]:
    """The groups of each traffic class that has any, in the order of ``s.class_names``
    (then any other class, in group order)."""
    member = np.asarray(s.group_classes, dtype=object)
    order = [c for c in dict.fromkeys([*s.class_names, *s.group_classes]) if c in member]
    return {c: np.flatnonzero(member == c) for c in order}
