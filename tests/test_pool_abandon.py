"""A pool abandoned while a worker was writing its result (Ctrl-C in ``size --workers 2``)
ends: the command printed ``interrupted`` and then hung for ever at exit, its interpreter
joining the pool's manager thread, which waited for the rest of a half-written result."""

from __future__ import annotations

import struct
import time
from typing import Any

from vidnet_sim.execute.pool import ProcessExecutor, _terminate


def test_a_result_left_half_written_does_not_block_the_pool_manager() -> None:
    executor = ProcessExecutor(1, warm=False)
    executor.start()
    assert executor._pool is not None
    pool = executor._pool
    executor._pings[0].result(timeout=120)  # the worker is up
    private: Any = pool  # the pool's manager thread and result pipe
    manager, writer = private._executor_manager_thread, private._result_queue._writer
    try:
        # what a worker ended in the middle of sending a result leaves: a length, no body
        writer._send(struct.pack("!i", 1 << 20))
        time.sleep(0.5)  # the manager now waits for the body
        _terminate(pool, grace_seconds=1.0)
        assert manager is not None and not manager.is_alive()
    finally:
        writer.close()  # unblocks a manager left waiting, so that a failure does not hang
        executor._pool = None
