"""The order the exact core computes links in: topological over "link a feeds link b".

The core computes a link only after every link that feeds it, so the link-dependency graph of
every layout (:meth:`~vidnet_sim.network.layouts.Layouts.edges`) must be acyclic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vidnet_sim.errors import Problem, ScenarioError
from vidnet_sim.network.layouts import Layouts
from vidnet_sim.network.routing import CycleError, topological_order


def link_order(link_names: Sequence[str], layouts: Layouts, where: str) -> npt.NDArray[np.int64]:
    """A topological order of the links over every layout's edges.

    Raises :class:`ScenarioError` at field path ``where`` (``routes`` or ``links``), naming
    one cycle, when the graph is cyclic.
    """
    try:
        order = topological_order(len(link_names), layouts.edge_array())
    except CycleError as exc:
        cyc = " -> ".join(link_names[i] for i in exc.cycle + exc.cycle[:1])
        raise ScenarioError(
            Problem(
                where,
                f"the routes make the link-dependency graph cyclic ({cyc}); the exact engine "
                "needs loop-free forwarding (a tree, a ring with one blocked link, "
                "hub-and-spoke): mark a "
                "ring link `blocked = true` or give explicit routes that do not close a loop",
            )
        ) from None
    return np.array(order, np.int64)


__all__ = ["link_order"]
