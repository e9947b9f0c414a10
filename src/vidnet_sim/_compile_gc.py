"""The heap from before a Numba compile frozen while it runs: its garbage collections walk
only the compiler's own objects.

Numba's compiler makes and drops millions of container objects, so the collector runs often
during a compile, and each full collection walks every object of the process: the imported
modules (NumPy, pandas, Numba's own registries) as well as the compiler's. A cold compile of
the kernels spent about a seventh of its CPU in the collector. :func:`freeze_during_compiles`
makes every outermost compile (Numba's ``numba:compile`` event, which it sends under its
compiler lock) start with :func:`gc.freeze` and end with :func:`gc.unfreeze`, so that the
objects that existed before it sit in the permanent generation meanwhile; its own garbage is
collected as before, and everything is collectable again once it ends. Nothing is done
while the collector is off. When something else had frozen objects before the compile (the
``vidnet-sim`` command freezes the heap of its imports), the heap from before the compile
stays frozen with them: unfreezing would give back theirs too.
"""

from __future__ import annotations

import gc

from numba.core import event

__all__ = ["freeze_during_compiles"]


class _FreezeListener(event.Listener):
    """Freezes the heap at the start of an outermost compile, unfreezes it at its end."""

    def __init__(self) -> None:
        self.depth = 0
        self.froze = False

    def on_start(self, ev: event.Event) -> None:
        self.depth += 1
        if self.depth == 1 and gc.isenabled():
            self.froze = gc.get_freeze_count() == 0
            gc.freeze()

    def on_end(self, ev: event.Event) -> None:
        self.depth -= 1
        if self.depth == 0 and self.froze:
            self.froze = False
            gc.unfreeze()


#: The listener, once registered.
_listener: list[_FreezeListener] = []


def freeze_during_compiles() -> None:
    """Register the listener with Numba, once per process (idempotent)."""
    if not _listener:
        _listener.append(_FreezeListener())
        event.register("numba:compile", _listener[0])  # type: ignore[no-untyped-call]
