"""The sources' keys and draws over arrays against their definitions.

Oracles: ``numpy.random.SeedSequence`` itself (a key is the first 64-bit word of its state),
and the scalar ``uniform`` kernel for each key of ``uniforms``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from vidnet_sim.traffic.rng import source_key, source_keys, uniform, uniforms

NAMES = ["cam[0]", "north[12]/live", "", "é/ü ☃", "x" * 300, "d9-19[49]", "0", "a\x00b"]
SEEDS = [
    0,
    1,
    11,
    2**32 - 1,
    2**32,
    2**63 - 1,
    2**64,
    2**96 + 7,
    2**127,
    2**128,
    2**200 + 5,
    3**1000,
]


def seed_sequence_key(seed: int, name: str, index: int) -> int:
    """The key as first defined: one ``SeedSequence`` per source."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    content = int.from_bytes(digest, "little")
    ss = np.random.SeedSequence(seed, spawn_key=(content & 0xFFFFFFFF, content >> 32, index))
    return int(ss.generate_state(1, dtype=np.uint64)[0])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("index", [0, 1, 2**32 - 1, 2**32, 2**70])
def test_source_keys_are_seed_sequence_states(seed: int, index: int) -> None:
    keys = source_keys(seed, NAMES, index)
    assert keys.dtype == np.uint64 and keys.shape == (len(NAMES),)
    assert keys.tolist() == [seed_sequence_key(seed, n, index) for n in NAMES]


def test_many_names_and_one_name() -> None:
    names = [f"d{i % 200}-{i % 7}[{i}]" for i in range(2_000)]
    keys = source_keys(11, names)
    assert len(set(keys.tolist())) == len(names)
    for i in range(0, len(names), 97):
        assert int(keys[i]) == seed_sequence_key(11, names[i], 0)
    one = source_key(11, names[5])
    assert isinstance(one, np.uint64) and one == keys[5]
    assert source_keys(11, []).dtype == np.uint64 and source_keys(11, []).size == 0


def test_a_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        source_keys(-1, ["a"])


def test_uniforms_is_uniform_of_each_key() -> None:
    keys = np.random.default_rng(5).integers(0, 2**64, 500, dtype=np.uint64, endpoint=False)
    keys[:3] = [0, 2**64 - 1, 2**63]
    for stream, counter in [(1, 0), (2, 0), (3, 17), (6, 2**40)]:
        got = uniforms(keys, stream, counter)
        assert got.dtype == np.float64
        assert got.tolist() == [float(uniform(k, stream, counter)) for k in keys]
        assert ((got > 0.0) & (got < 1.0)).all()
