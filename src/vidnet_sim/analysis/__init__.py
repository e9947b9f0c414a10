"""Analysis on top of the simulator: fast estimates, latency/loss curves, capacity search,
and costed tier sizing over a growth plan with its report. See ``docs/analysis.md``.
"""

from __future__ import annotations

from vidnet_sim.analysis.capacity import CapacityResult, find_capacity
from vidnet_sim.analysis.cost import CostModel, load_cost_model
from vidnet_sim.analysis.curve import CurveResult, run_curve, write_curve
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
from vidnet_sim.analysis.report import write_sizing
from vidnet_sim.analysis.sizing import SizingResult, SizingStoppedError, YearSizing, size_network
from vidnet_sim.analysis.vary import AnalysisInputError

__all__ = [
    "METHOD_GAUSSIAN",
    "METHOD_NC",
    "METHOD_SUM_OF_MEANS",
    "AnalysisInputError",
    "ArrivalCurves",
    "CapacityResult",
    "CostModel",
    "CurveResult",
    "Estimates",
    "SizingResult",
    "SizingStoppedError",
    "YearSizing",
    "arrival_curves",
    "estimate",
    "find_capacity",
    "gaussian_alpha",
    "load_cost_model",
    "nc_delay_bounds",
    "run_curve",
    "size_network",
    "source_rate_moments",
    "write_curve",
    "write_sizing",
]
