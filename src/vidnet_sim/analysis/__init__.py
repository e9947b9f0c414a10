"""Analysis on top of the simulator: fast estimates, latency/capacity curves, capacity search.

See ``docs/analysis.md``.
"""

from __future__ import annotations

from vidnet_sim.analysis.estimates import (
    METHOD_GAUSSIAN,
    METHOD_NC,
    METHOD_SUM_OF_MEANS,
    ArrivalCurves,
    Estimates,
    arrival_curves,
    estimate,
    gaussian_alpha,
    nc_delay_bounds,
    source_rate_moments,
)

__all__ = [
    "METHOD_GAUSSIAN",
    "METHOD_NC",
    "METHOD_SUM_OF_MEANS",
    "ArrivalCurves",
    "Estimates",
    "arrival_curves",
    "estimate",
    "gaussian_alpha",
    "nc_delay_bounds",
    "source_rate_moments",
]
