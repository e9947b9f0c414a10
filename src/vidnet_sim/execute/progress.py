"""Progress of a job of many simulations: done, running and total, for one bar.

The library reports through a callback (``on_progress(JobProgress)``); drawing a bar is the
command line's business. ``total`` is what the job knows it will run so far: a search adds
to it as it goes (speculative runs included), a curve knows it from the start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

__all__ = ["JobProgress", "ProgressFn", "ProgressTracker"]


@dataclass(frozen=True)
class JobProgress:
    """A snapshot: ``done`` of ``total`` simulations (``reused`` of them from the store,
    ``failed`` of them failed), ``running`` now; ``detail`` names the last one done."""

    done: int = 0
    running: int = 0
    total: int = 0
    reused: int = 0
    failed: int = 0
    detail: str = ""


#: Called after every change of a job's progress.
ProgressFn = Callable[[JobProgress], None]


class ProgressTracker:
    """Counts a job's simulations and calls ``on_progress`` (if any) after each change."""

    def __init__(self, on_progress: ProgressFn | None = None) -> None:
        self.on_progress = on_progress
        self.state = JobProgress()

    def _set(self, **changes: int | str) -> None:
        self.state = replace(self.state, **changes)  # type: ignore[arg-type]
        if self.on_progress is not None:
            self.on_progress(self.state)

    def planned(self, n: int) -> None:
        """``n`` more simulations to run."""
        if n:
            self._set(total=self.state.total + n)

    def running(self, n: int) -> None:
        """``n`` simulations running now."""
        if n != self.state.running:
            self._set(running=n)

    def finished(self, detail: str = "", *, reused: bool = False, failed: bool = False) -> None:
        """One simulation done (or taken from the store)."""
        s = self.state
        self._set(
            done=s.done + 1,
            reused=s.reused + int(reused),
            failed=s.failed + int(failed),
            detail=detail,
        )
