"""Counter-based random numbers for the Numba kernels.

Every draw is a pure function of ``(source key, stream, counter)`` — e.g. the P-frame size
of frame ``k`` of one camera — so results cannot depend on window size, on the order in which
sources are generated, or on the number of workers. Keys come from
``numpy.random.SeedSequence(seed, spawn_key=(content hash of the source's name, index))``,
so adding a camera never changes another camera's draws. :func:`source_keys` computes the
keys of many sources at once: it runs SeedSequence's own hash over arrays (a test checks it
against ``numpy.random.SeedSequence``), 30 times faster than one SeedSequence per source.

The mixer is SplitMix64's finaliser applied twice (Steele, Lea & Flood 2014); doubles take the
top 53 bits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numba as nb
import numpy as np
import numpy.typing as npt

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


@nb.njit(cache=True)
def uniforms(keys: npt.NDArray[np.uint64], stream: int, counter: int) -> npt.NDArray[np.float64]:
    """:func:`uniform` of each key of ``keys`` (1-D, uint64) on ``(stream, counter)``."""
    out = np.empty(keys.size, np.float64)
    for i in range(keys.size):
        out[i] = uniform(keys[i], stream, counter)
    return out


def source_key(seed: int, name: str, index: int = 0) -> np.uint64:
    """The 64-bit key of one source, derived from the run's seed and the source's identity."""
    return source_keys(seed, [name], index)[0]  # type: ignore[no-any-return]


# numpy.random.SeedSequence's hash (numpy/random/bit_generator.pyx), in uint32 arithmetic
_POOL_SIZE = 4
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_MULT_L = np.uint32(0xCA01F9DD)
_MIX_MULT_R = np.uint32(0x4973F715)
_XSHIFT = np.uint32(16)
_MASK32 = 0xFFFFFFFF
U32 = npt.NDArray[np.uint32]


def source_keys(seed: int, names: Sequence[str], index: int = 0) -> npt.NDArray[np.uint64]:
    """:func:`source_key` of each of ``names``: the first 64-bit word of the state of
    ``SeedSequence(seed, spawn_key=(low and high 32 bits of the name's 8-byte BLAKE2b hash,
    index))``, computed for every name at once."""
    digests = b"".join(hashlib.blake2b(n.encode("utf-8"), digest_size=8).digest() for n in names)
    content = np.frombuffer(digests, dtype="<u8").astype(np.uint64)
    run = _uint32_words(seed)  # the entropy, padded to the pool size before a spawn key
    run += [0] * (_POOL_SIZE - len(run))
    # the words every name shares are arrays of one (broadcast): a seed of many words costs
    # no memory per name
    words: list[U32] = [np.array([w], np.uint32) for w in run]
    words.append((content & np.uint64(_MASK32)).astype(np.uint32))
    words.append((content >> np.uint64(32)).astype(np.uint32))
    words += [np.array([w], np.uint32) for w in _uint32_words(index)]
    pool = _mix_entropy(words)
    state = []
    hash_const = _INIT_B  # generate_state(1, uint64): two uint32 words drawn from the pool
    for word in pool[:2]:
        value = word ^ np.uint32(hash_const)
        hash_const = (hash_const * _MULT_B) & _MASK32
        value = value * np.uint32(hash_const)
        state.append((value ^ (value >> _XSHIFT)).astype(np.uint64))
    return state[0] | (state[1] << np.uint64(32))  # little-endian words


def _uint32_words(value: int) -> list[int]:
    """A non-negative integer as SeedSequence reads it: 32-bit words, least significant first
    (one word for 0)."""
    if value < 0:
        raise ValueError(f"expected a non-negative integer, got {value}")
    out = [value & _MASK32]
    value >>= 32
    while value:
        out.append(value & _MASK32)
        value >>= 32
    return out


def _mix_entropy(entropy: list[U32]) -> list[U32]:
    """SeedSequence's pool of 4 words from ``entropy`` (at least 4 words, each an array of
    one value or of one value per name)."""
    hash_const = _INIT_A

    def hashmix(value: U32) -> U32:
        nonlocal hash_const
        value = value ^ np.uint32(hash_const)
        hash_const = (hash_const * _MULT_A) & _MASK32
        value = value * np.uint32(hash_const)
        return value ^ (value >> _XSHIFT)

    def mix(x: U32, y: U32) -> U32:
        result: U32 = _MIX_MULT_L * x - _MIX_MULT_R * y
        return result ^ (result >> _XSHIFT)

    pool = [hashmix(entropy[i]) for i in range(_POOL_SIZE)]
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hashmix(pool[i_src]))
    for i_src in range(_POOL_SIZE, len(entropy)):
        for i_dst in range(_POOL_SIZE):
            pool[i_dst] = mix(pool[i_dst], hashmix(entropy[i_src]))
    return pool


end_compile_cache()  # (after the last njit decorator)
