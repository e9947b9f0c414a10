"""Counter-based random numbers for the Numba kernels.

Every draw is a pure function of ``(source key, stream, counter)`` — e.g. the P-frame size
of frame ``k`` of one camera — so results cannot depend on window size, on the order in which
sources are generated, or on the number of workers. Keys come from
``numpy.random.SeedSequence(seed, spawn_key=(content hash of the source's name, index))``,
so adding a camera never changes another camera's draws.

The mixer is SplitMix64's finaliser applied twice (Steele, Lea & Flood 2014); doubles take the
top 53 bits.
"""

from __future__ import annotations

import hashlib

import numba as nb
import numpy as np

from vidnet_sim._compile_cache import end_compile_cache, use_compile_cache

use_compile_cache()

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0

# Streams: independent sequences drawn from one source key.
STREAM_PHASE = 1
STREAM_GOP_OFFSET = 2
STREAM_FRAME_SIZE = 3
STREAM_GAP = 4
STREAM_PACKET_SIZE = 5
STREAM_MODULATION = 6  # two-state modulating process: initial state, then sojourn lengths


@nb.njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective avalanche of 64 bits."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True, inline="always")
def uniform(key: np.uint64, stream: int, counter: int) -> float:
    """A double in (0, 1), a pure function of ``(key, stream, counter)``."""
    z = mix64(key ^ (np.uint64(stream) * _GOLDEN))
    z = mix64(z + np.uint64(counter) * _GOLDEN)
    return (float(z >> _S11) + 0.5) * _TWO_M53


@nb.njit(cache=True, inline="always")
def standard_normal(key: np.uint64, stream: int, counter: int) -> float:
    """A standard normal draw (Box–Muller on counters ``2c`` and ``2c + 1``)."""
    u1 = uniform(key, stream, 2 * counter)
    u2 = uniform(key, stream, 2 * counter + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # type: ignore[no-any-return]


def source_key(seed: int, name: str, index: int = 0) -> np.uint64:
    """The 64-bit key of one source, derived from the run's seed and the source's identity."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    content = int.from_bytes(digest, "little")
    ss = np.random.SeedSequence(seed, spawn_key=(content & 0xFFFFFFFF, content >> 32, index))
    return np.uint64(ss.generate_state(1, dtype=np.uint64)[0])


end_compile_cache()  # (after the last njit decorator)
