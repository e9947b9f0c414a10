"""vidnet-sim: exact, fast packet simulation for sizing city networks.

>>> import vidnet_sim
>>> result = vidnet_sim.run("scenarios/small-town.toml", write=False)  # doctest: +SKIP
>>> result.tables.summary  # doctest: +SKIP

Sweeps (:func:`load_sweep`, :func:`run_sweep`, :func:`read_sweep`, :func:`compare_results`)
and analyses (:func:`run_curve`, :func:`find_capacity`, :func:`size_network`) are here too;
their helpers are in :mod:`vidnet_sim.sweep` and :mod:`vidnet_sim.analysis`. The
``vidnet-sim`` command is :mod:`vidnet_sim.cli`, the only part that prints.
"""

from __future__ import annotations

# First: a Ctrl-C while the command imports the rest ends it as the command's own would;
# then Python's frame-stack chunks reused, not unmapped at every return (before any compile).
from vidnet_sim import (
    _command_start,  # noqa: F401
    _frame_chunks,  # noqa: F401
)

# Sweeps and analyses are imported eagerly: they add about 50 ms to the 0.5 s that the run
# machinery takes.
from vidnet_sim.analysis import find_capacity, run_curve, size_network
from vidnet_sim.errors import ScenarioError, UnitError, VidnetError
from vidnet_sim.results import Results, read_results
from vidnet_sim.runner import CompiledScenario, RunResult, compile_scenario, run
from vidnet_sim.scenario import Scenario, load_scenario
from vidnet_sim.sweep import compare_results, load_sweep, read_sweep, run_sweep
from vidnet_sim.version import __version__

__all__ = [
    "CompiledScenario",
    "Results",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "UnitError",
    "VidnetError",
    "__version__",
    "compare_results",
    "compile_scenario",
    "find_capacity",
    "load_scenario",
    "load_sweep",
    "read_results",
    "read_sweep",
    "run",
    "run_curve",
    "run_sweep",
    "size_network",
]
