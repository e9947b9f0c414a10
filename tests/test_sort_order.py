"""The per-packet tables' sort (``packet_log.sort_order``) and tree index against their
plain definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidnet_sim.results.packet_log import TreeIndex, sort_order
from vidnet_sim.runner import compile_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.mark.parametrize("high", [1, 7, 1 << 20, 1 << 40, 1 << 62])
@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_sort_order_is_a_stable_argsort(n: int, high: int) -> None:
    """Packed or not (a range too wide to pack with the indices), the order is NumPy's
    stable argsort: equal keys in their order."""
    rng = np.random.default_rng(n * 7 + high % 97)
    key = rng.integers(0, high, n, dtype=np.int64) - high // 3
    np.testing.assert_array_equal(sort_order(key), np.argsort(key, kind="stable"))


@pytest.mark.parametrize("name", ["small-town", "mid-city-services", "trace-cameras"])
def test_tree_index_against_a_walk_of_the_trees(name: str) -> None:
    """Each position's delivering positions below it, its depth and its root (the index's
    arrays, computed a level or a run at a time) are those of a walk of the positions."""
    plan = compile_scenario(EXAMPLES / f"{name}.toml").plan
    ix = TreeIndex(plan)
    n, end = len(plan.pos_link), np.asarray(plan.pos_end)
    lists = [np.flatnonzero(ix.deliver[p : end[p]] >= 0) + p for p in range(n)]
    np.testing.assert_array_equal(ix.n_deliver, [len(x) for x in lists])
    np.testing.assert_array_equal(ix.dq, np.concatenate(lists))
    depth, root = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for p in range(n):  # depth first: a parent before its children
        if plan.pos_link[p] < 0:
            root[p] = p
        c = int(plan.pos_first_child[p])
        while c >= 0:
            depth[c], root[c] = depth[p] + 1, root[p]
            c = int(plan.pos_sibling[c])
    np.testing.assert_array_equal(ix.depth, depth)
    for p in range(n):
        assert ix.rank(np.array([root[p]]), np.array([p]))[0] == np.count_nonzero(
            ix.deliver[root[p] : p] >= 0
        )
    some = np.flatnonzero(ix.link >= 0)
    np.testing.assert_array_equal(ix.positions(root[some], ix.link[some]), some)
