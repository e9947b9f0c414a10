"""vidnet-sim: exact, fast packet simulation for sizing city networks.

>>> import vidnet_sim
>>> result = vidnet_sim.run("scenarios/small-town.toml", write=False)  # doctest: +SKIP
>>> result.tables.summary  # doctest: +SKIP
"""

from __future__ import annotations

from vidnet_sim._version import __version__
from vidnet_sim.errors import ScenarioError, UnitError, VidnetError
from vidnet_sim.results import Results, read_results
from vidnet_sim.runner import RunResult, run
from vidnet_sim.scenario import Scenario, load_scenario

__all__ = [
    "Results",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "UnitError",
    "VidnetError",
    "__version__",
    "load_scenario",
    "read_results",
    "run",
]
