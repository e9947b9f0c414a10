"""Which link loops a run compiles: ``core.engine.link_loops``, the kernel's loop flags."""

from __future__ import annotations

import numpy as np
import pytest

from vidnet_sim.core.engine import link_loops

FIFO = np.zeros(3, np.int64)
PRIORITY = np.array([0, 1, 0], np.int64)
NO_FAILURES = np.zeros(4, np.int64)
A_FAILURE = np.array([0, 0, 1, 1], np.int64)


@pytest.mark.parametrize(
    ("sched", "n_epochs", "log", "fail_start", "loops"),
    [
        (FIFO, 1, False, NO_FAILURES, (True, None, None)),
        (FIFO, 1, False, A_FAILURE, (True, True, None)),
        (FIFO, 2, False, NO_FAILURES, (None, True, None)),
        (FIFO, 1, True, NO_FAILURES, (None, True, None)),
        (PRIORITY, 1, False, NO_FAILURES, (True, None, True)),
        (PRIORITY, 3, False, A_FAILURE, (None, True, True)),
    ],
)
def test_a_run_reaches_the_loops_its_links_need(
    sched: np.ndarray, n_epochs: int, log: bool, fail_start: np.ndarray, loops: tuple[object, ...]
) -> None:
    """The plain FIFO loop with one epoch and no packet log, the general one with more
    epochs, a log or a failure interval, the scheduled one with a scheduler; None (not
    compiled) for the others."""
    assert link_loops(sched, n_epochs, log, fail_start) == loops
