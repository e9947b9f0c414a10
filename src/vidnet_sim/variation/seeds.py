"""Seeds derived from content: the same varied scenario gets the same numbers anywhere.

A sweep point or an analysis run is keyed by the canonical JSON of what it varies
(:func:`~vidnet_sim.canonical.canonical_json`); its ``simulation.seed`` is drawn from
``numpy.random.SeedSequence(root seed, spawn_key=(0, <the key's hash as four 32-bit words>,
replication))``, or with common random numbers ``spawn_key=(1, replication)``, the same for
every value (:func:`point_seed`). So a run's numbers do not depend on the worker, the order or
the other runs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["point_seed"]

_SEED_CONTENT = 0
_SEED_COMMON = 1


def point_seed(
    root_seed: int, params_digest: bytes, replication: int, common_random_numbers: bool = False
) -> int:
    """The ``simulation.seed`` of a point (a non-negative int64)."""
    if common_random_numbers:
        key: tuple[int, ...] = (_SEED_COMMON, replication)
    else:
        words = tuple(int.from_bytes(params_digest[i : i + 4], "little") for i in range(0, 16, 4))
        key = (_SEED_CONTENT, *words, replication)
    ss = np.random.SeedSequence(root_seed, spawn_key=key)
    return int(ss.generate_state(1, dtype=np.uint64)[0]) >> 1
