"""The per-packet SimPy reference engine: the oracle the exact core is tested against."""

from __future__ import annotations

from vidnet_sim.reference.engine import ReferenceEngine, stats_differences

__all__ = ["ReferenceEngine", "stats_differences"]
