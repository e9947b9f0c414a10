"""How many packets a camera's frame makes: the generator cuts a frame of ``X`` bytes into
``⌈X / max_payload⌉`` packets (``traffic/generate.py``), ``X = max(1, round(Y))`` with ``Y``
lognormal of mean ``mean`` and log-sd ``σ`` (exact sizes for ``σ = 0``).

The moments of that count are what the run's volume count (``core/volume.py``) and the
fast estimates' wire bytes (``analysis/frame_windows.py``) need; both read them here.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["MOST_PACKETS", "frame_packet_moments", "mean_frame_packets"]

#: Most packets a frame's law is summed over; a wider law gets ``E N ≈ E X/mp + ½``.
MOST_PACKETS = 200_000


@functools.lru_cache(maxsize=4096)
def frame_packet_moments(mean: float, sigma: float, mp: int) -> tuple[float, float, float] | None:
    """``(E N, E N², E[X N])`` of a frame's packet count ``N = ⌈X/mp⌉`` for ``σ > 0``:
    ``E N = Σ_{k≥0} P(X > k mp)``, ``E N² = Σ (2k+1) P(X > k mp)`` and ``E[XN] = Σ E[X; X >
    k mp]``, with ``P(X > y) = P(Y ≥ y + ½)`` and the lognormal's partial mean ``E[Y; Y ≥ y]
    = mean Φ̄((ln(y/mean) − σ²/2)/σ)``, summed to ``P < 10⁻¹⁶`` (``X``'s own moments taken as
    ``Y``'s: the rounding moves them by less than a byte). ``None`` beyond
    :data:`MOST_PACKETS` terms."""
    from scipy.special import ndtr

    top = mean * math.exp(8.3 * sigma - 0.5 * sigma * sigma)  # P(Y > top) < 1e-16
    terms = int(top // mp) + 2
    if terms > MOST_PACKETS:
        return None
    k = np.arange(terms, dtype=np.float64)
    y = np.maximum(k * mp + 0.5, 1e-300)
    z = np.log(y / mean) / sigma
    above = np.where(k == 0, 1.0, ndtr(-(z + 0.5 * sigma)))  # P(X > k mp)
    part = np.where(k == 0, mean, mean * ndtr(-(z - 0.5 * sigma)))  # E[X; X > k mp]
    return float(above.sum()), float(((2.0 * k + 1.0) * above).sum()), float(part.sum())


def mean_frame_packets(mean: float, sigma: float, mp: int) -> float:
    """``E⌈X/mp⌉``, the mean packets of a frame of mean ``mean`` bytes and log-sd ``sigma``
    (exact: :func:`frame_packet_moments`; ``⌈max(1, round(mean))/mp⌉`` for ``σ = 0``; ``E
    X/mp + ½`` for laws wider than :data:`MOST_PACKETS` packets)."""
    if sigma <= 0 or mean <= 0:  # (exact sizes; a mean of 0: frames of one byte)
        x = max(1, math.floor(mean + 0.5))
        return float(-(-x // mp))
    moments = frame_packet_moments(mean, sigma, mp)
    return mean / mp + 0.5 if moments is None else moments[0]
