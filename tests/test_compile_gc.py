"""A Numba compile runs with the heap from before it frozen (:mod:`vidnet_sim._compile_gc`)."""

from __future__ import annotations

import gc

from numba import njit
from numba.core import event

import vidnet_sim  # noqa: F401 (its kernel modules register the listener)
from vidnet_sim._compile_gc import _listener, freeze_during_compiles


class _Seen(event.Listener):
    def __init__(self) -> None:
        self.frozen: list[int] = []

    def on_start(self, ev: event.Event) -> None:
        self.frozen.append(gc.get_freeze_count())

    def on_end(self, ev: event.Event) -> None:
        pass


def test_a_compile_runs_with_the_heap_before_it_frozen_and_gives_it_back() -> None:
    freeze_during_compiles()
    freeze_during_compiles()
    assert len(_listener) == 1  # registered once
    seen = _Seen()
    event.register("numba:compile", seen)  # after the package's: sees its freeze
    try:

        @njit(cache=False)
        def plus_one(x: int) -> int:
            return x + 1

        before = gc.get_freeze_count()
        assert plus_one(1) == 2
        after = gc.get_freeze_count()
    finally:
        event.unregister("numba:compile", seen)
    assert seen.frozen and seen.frozen[0] > before
    if before == 0:
        assert after == 0  # unfrozen at the end
    assert _listener[0].depth == 0
