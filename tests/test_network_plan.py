"""The steps of ``build_plan`` one at a time: links, flows and trees, layouts, failures and
reroutes, the link order and QoS (``docs/model.md`` rules 11-13)."""

from __future__ import annotations

import copy
import dataclasses
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vidnet_sim.network.flows as flows_module
from vidnet_sim.errors import ScenarioError
from vidnet_sim.network.failures import Failures, plan_failures
from vidnet_sim.network.flows import Flows, route_flows
from vidnet_sim.network.layouts import Layouts, Positions, lay_out_trees
from vidnet_sim.network.links import DEFAULT_BUFFER_BYTES, build_links
from vidnet_sim.network.order import link_order
from vidnet_sim.network.plan import build_plan
from vidnet_sim.network.qos import SCHED_FIFO, compile_qos, fifo_qos
from vidnet_sim.network.routing import (
    LinkGraph,
    next_hops_to,
    scenario_router,
    topological_order,
)
from vidnet_sim.scenario import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.groups import scenario_groups
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.traffic.sources import build_sources

MS = 10**9
DATA = Path(__file__).parent / "data" / "cli"

# a ring a-b-c closed by a blocked (protection) link c-a; one camera at a sends to c
RING: dict[str, Any] = {
    "simulation": {"duration": "1s"},
    "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
    "links": [
        {"id": "ab", "a": "a", "b": "b", "rate": "1Gbps"},
        {"id": "bc", "a": "b", "b": "c", "rate": "1Gbps", "delay": "5us"},
        {"id": "ca", "a": "c", "b": "a", "rate": "1Gbps", "blocked": True},
    ],
    "cameras": [{"name": "cam", "count": 1, "attach": "a", "destinations": ["c"]}],
}


def ring(**changes: Any) -> Scenario:
    data = copy.deepcopy(RING)
    data.update(copy.deepcopy(changes))
    return parse_scenario_dict(data)


def failure(link: str, at_ms: int, for_ms: int, **kw: Any) -> dict[str, Any]:
    return {"kind": "failure", "link": link, "at": f"{at_ms}ms", "duration": f"{for_ms}ms", **kw}


def test_links_one_per_direction_then_one_access_link_per_camera() -> None:
    links = build_links(ring())
    cam = links.node_names[3]
    assert links.node_names == ("a", "b", "c", cam) and "cam" in cam
    assert links.names == (
        "ab:a->b",
        "ab:b->a",
        "bc:b->c",
        "bc:c->b",
        "ca:c->a",
        "ca:a->c",
        f"{cam}->a",
    )
    assert links.src[-1] == 3 and links.dst[-1] == 0
    assert links.usable == (True, True, True, True, False, False, True)
    assert links.prop_ps[2:4] == (5 * 10**6, 5 * 10**6) and links.prop_ps[0] == 0
    assert links.buffer_bytes[:6] == (DEFAULT_BUFFER_BYTES,) * 6
    assert links.buffer_packets[:6] == (-1,) * 6
    assert links.by_owner()["bc"] == [2, 3]


def test_flows_avoid_blocked_links_and_an_unreachable_destination_is_one_problem() -> None:
    sc = ring()
    links = build_links(sc)
    groups = scenario_groups(sc)
    sources = build_sources(sc, groups.names, None)
    flows = route_flows(sources, groups, links, scenario_router(sc, links).routes())
    cam = f"{links.node_names[3]}->a"
    assert [links.names[i] for i in flows.route(0)] == [cam, "ab:a->b", "bc:b->c"]
    assert flows.tree_flows == ((0,),)
    lay = lay_out_trees(flows)
    assert lay.tree_pos0.tolist() == [0]
    assert lay.pos_link.tolist() == [-1, *flows.route(0)]
    assert lay.pos_deliver.tolist() == [-1, -1, -1, 0]
    # without b-c, c is reachable only over the blocked link: refused, naming the field
    data = copy.deepcopy(RING)
    data["links"] = [data["links"][0], data["links"][2]]
    sc = parse_scenario_dict(data)
    with pytest.raises(ScenarioError) as info:
        build_plan(sc)
    (problem,) = info.value.problems
    assert problem.path == 'cameras[0] (name="cam").destinations'
    assert "destination 'c' cannot be reached from" in problem.message


def test_a_multicast_camera_is_one_tree_sharing_its_common_links() -> None:
    cams = [{"name": "cam", "count": 1, "attach": "a", "destinations": ["b", "c"]}]
    uni = build_plan(ring(cameras=cams))
    multi = build_plan(ring(cameras=[{**cams[0], "multicast": True}]))
    assert (uni.n_trees, multi.n_trees) == (2, 1)
    assert multi.n_flows == 2
    # unicast: two chains (3 + 4 positions); multicast: access -> a->b, then deliver at b
    # and go on over b->c (4 positions)
    assert (len(uni.pos_link), len(multi.pos_link)) == (7, 4)
    root = int(multi.tree_pos0[0])
    assert multi.children(root) == [root + 1]
    assert multi.pos_deliver.tolist() == [-1, -1, 0, 1]


def test_positions_lay_out_a_trie_depth_first() -> None:
    pos = Positions()
    root = pos.add_tree([(0, [1, 2, 3]), (1, [1, 2, 4]), (2, [5])])
    lay = pos.freeze([root])
    assert lay.pos_link.tolist() == [-1, 1, 2, 3, 4, 5]
    assert lay.pos_first_child.tolist() == [1, 2, 3, -1, -1, -1]
    assert lay.pos_sibling.tolist() == [-1, 5, -1, 4, -1, -1]
    assert lay.pos_deliver.tolist() == [-1, -1, -1, 0, 1, 2]
    assert lay.pos_end.tolist() == [6, 5, 5, 4, 5, 6]
    assert pos.paths(root) == {0: [1, 2, 3], 1: [1, 2, 4], 2: [5]}
    assert lay.edge_array().tolist() == [[1, 2], [2, 3], [2, 4]]
    # a builder started from frozen layouts goes on after them
    more = Positions(lay)
    assert more.add_tree([(0, [7])]) == 6
    assert more.paths(root) == pos.paths(root)


def test_a_failure_reroutes_over_the_protection_link_and_reverts() -> None:
    plan = build_plan(ring(events=[failure("bc", 100, 200, convergence="50ms")]))
    names = plan.link_names
    bc, cb = names.index("bc:b->c"), names.index("bc:c->b")
    # both directions of bc are down over [100 ms, 300 ms)
    for link in range(plan.n_links):
        iv = plan.fail_start[link], plan.fail_start[link + 1]
        got = list(zip(plan.fail_down[iv[0] : iv[1]], plan.fail_up[iv[0] : iv[1]], strict=True))
        assert got == ([(100 * MS, 300 * MS)] if link in (bc, cb) else [])
    assert plan.failure_events == [(100 * MS, 300 * MS, "failure of bc")]
    away, back = plan.route_switches
    assert (away.t_ps, away.label) == (150 * MS, "reroute around bc")
    assert (back.t_ps, back.label) == (350 * MS, "bc restored: routes revert")
    assert away.trees.tolist() == back.trees.tolist() == [0]
    assert back.pos0.tolist() == plan.tree_pos0.tolist()  # the first layout again
    cam_access = plan.route(0)[0]
    rerouted = _layout_links(plan, int(away.pos0[0]))
    assert rerouted == [int(cam_access), names.index("ca:a->c")]
    # the order covers both layouts: the access link feeds a->b and a->c
    order = plan.link_order.tolist()
    assert order.index(cam_access) < order.index(names.index("ca:a->c"))
    assert order.index(names.index("ab:a->b")) < order.index(bc)


def test_a_second_failure_of_the_same_link_reuses_its_layout() -> None:
    once = build_plan(ring(events=[failure("bc", 100, 100)]))
    twice = build_plan(ring(events=[failure("bc", 100, 100), failure("bc", 500, 100)]))
    assert len(twice.pos_link) == len(once.pos_link)
    assert len(twice.route_switches) == 4
    assert twice.route_switches[2].pos0.tolist() == twice.route_switches[0].pos0.tolist()


def test_without_revert_routes_stay_on_the_protection_link() -> None:
    plan = build_plan(ring(events=[failure("bc", 100, 100, revert=False)]))
    assert [sw.label for sw in plan.route_switches] == ["reroute around bc"]


def test_traffic_a_failure_leaves_without_a_path_is_lost_or_an_error() -> None:
    data = copy.deepcopy(RING)
    data["links"] = data["links"][:2]  # no protection link
    data["events"] = [failure("bc", 100, 100)]
    plan = build_plan(parse_scenario_dict(copy.deepcopy(data)))
    assert plan.route_switches == []  # keeps its route: lost at the failed link
    assert len(plan.warnings) == 1 and "has no path (no protection link)" in plan.warnings[0]
    data["events"][0]["on_unreachable"] = "error"
    with pytest.raises(ScenarioError) as info:
        build_plan(parse_scenario_dict(data))
    (problem,) = info.value.problems
    assert problem.path == "events[0]"
    assert "during the failure of 'bc'" in problem.message


def test_a_cyclic_link_dependency_graph_is_refused_naming_one_cycle() -> None:
    pos = Positions()
    roots = [pos.add_tree([(0, [0, 1])]), pos.add_tree([(1, [1, 2])]), pos.add_tree([(2, [2, 0])])]
    with pytest.raises(ScenarioError) as info:
        link_order(["x", "y", "z", "w"], pos.freeze(roots), "routes")
    (problem,) = info.value.problems
    assert problem.path == "routes"
    assert "cyclic (y -> z -> x -> y)" in problem.message
    pos = Positions()
    roots = [pos.add_tree([(0, [3, 0, 1])]), pos.add_tree([(1, [2, 1])])]
    assert link_order(["x", "y", "z", "w"], pos.freeze(roots), "links").tolist() == [2, 3, 0, 1]


def test_the_unblocked_ring_is_refused_as_cyclic() -> None:
    with pytest.raises(ScenarioError) as info:
        build_plan(load_scenario(DATA / "ring5_cyclic.toml"))
    (problem,) = info.value.problems
    assert problem.path == "links"
    assert "cyclic (r1->r2 -> r2->r3 -> r3->r4 -> r4->r0 -> r0->r1 -> r1->r2)" in problem.message
    # the same ring with one link blocked compiles
    assert build_plan(load_scenario(DATA / "ring5_blocked.toml")).n_flows == 10


def test_without_a_qos_table_every_link_has_one_fifo_queue() -> None:
    sc = ring()
    links = build_links(sc)
    classes = scenario_groups(sc).classes
    qos = compile_qos(sc, classes, links.scheduler, links.buffer_bytes, links.buffer_packets)
    fifo = fifo_qos(classes, links.buffer_bytes, links.buffer_packets)
    for f in dataclasses.fields(qos):
        assert np.array_equal(getattr(qos, f.name), getattr(fifo, f.name)), f.name
    assert qos.queue_names == ["default"]
    assert set(qos.link_sched.tolist()) == {SCHED_FIFO}
    assert qos.link_queue_buffer_bytes.shape == (links.n_links, 1)


def test_no_failures_and_a_frozen_plan() -> None:
    none = Failures.none(3)
    assert none.fail_start.tolist() == [0, 0, 0, 0] and none.changes == ()
    sc = ring()
    got = plan_failures(sc, build_links(sc))
    assert got.fail_start.tolist() == none.fail_start.tolist()[:1] * 8
    plan = build_plan(sc)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.link_order = plan.link_order  # type: ignore[misc]


def _layout_links(plan: Any, root: int) -> list[int]:
    """The links of a one-flow layout (a chain) from ``root``."""
    out: list[int] = []
    p = root
    while True:
        kids = plan.children(p)
        if not kids:
            return out
        (p,) = kids
        out.append(int(plan.pos_link[p]))


def _chain_with_a_camera_at_every_node(n: int) -> Scenario:
    """A chain of ``n`` nodes, the recorder at one end and a one-camera group at every node:
    the routes together cross about n²/2 links."""
    return parse_scenario_dict(
        {
            "name": "chain",
            "simulation": {"duration": "1s"},
            "nodes": [{"id": f"n{i}"} for i in range(n)] + [{"id": "nvr", "kind": "recorder"}],
            "links": [{"a": f"n{i}", "b": f"n{i + 1}", "rate": "1Gbps"} for i in range(n - 1)]
            + [{"a": "n0", "b": "nvr", "rate": "10Gbps"}],
            "cameras": [
                {"name": f"c{i}", "count": 1, "attach": f"n{i}", "destinations": ["nvr"]}
                for i in range(n)
            ],
        }
    )


def test_routes_too_long_together_are_refused_while_routing(monkeypatch: Any) -> None:
    """The routes are counted as they are built: past the bound, one problem naming the
    group being routed, before the rest fill memory (a 20 000-node chain would need 2·10⁸)."""
    sc = _chain_with_a_camera_at_every_node(60)
    # camera i's route: its access link, i chain links and the recorder's link (i + 2 hops)
    total = sum(i + 2 for i in range(60))
    monkeypatch.setattr(flows_module, "MAX_ROUTE_HOPS", total)
    assert build_plan(sc).route_links.size == total  # at the bound: built
    monkeypatch.setattr(flows_module, "MAX_ROUTE_HOPS", total - 1)
    with pytest.raises(ScenarioError) as err:
        build_plan(sc)
    (problem,) = err.value.problems
    assert problem.path == 'cameras[59] (name="c59")'
    assert f"more than {total - 1:,} links" in problem.message


# --------------------------------------------------------------------------- over arrays
def random_flows(rng: random.Random, n_sources: int, n_links: int) -> Flows:
    """Flows of random routes (any links, up to 12 hops), some sources multicast to several
    destinations sharing the first links of their routes."""
    flow_source: list[int] = []
    starts, links = [0], []
    source_flow_start, tree_source, source_tree_start = [0], [], [0]
    tree_flows: list[tuple[int, ...]] = []
    for s in range(n_sources):
        trunk = [rng.randrange(n_links) for _ in range(rng.randrange(1, 6))]
        first = len(flow_source)
        for _ in range(rng.choice([1, 1, 2, 3, 5])):
            branch = [rng.randrange(n_links) for _ in range(rng.randrange(0, 7))]
            links += (trunk[: rng.randrange(1, len(trunk) + 1)] + branch)[:12]
            starts.append(len(links))
            flow_source.append(s)
        end = len(flow_source)
        source_flow_start.append(end)
        trees = (
            [tuple(range(first, end))] if rng.random() < 0.4 else [(f,) for f in range(first, end)]
        )
        tree_source += [s] * len(trees)
        tree_flows += trees
        source_tree_start.append(len(tree_source))
    return Flows(
        tuple(flow_source), tuple(flow_source), tuple(starts), tuple(links),
        tuple(source_flow_start), tuple(tree_source), tuple(source_tree_start), tuple(tree_flows),
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_layouts_over_arrays_are_the_tries_laid_one_by_one(seed: int) -> None:
    flows = random_flows(random.Random(seed), 60, [3, 8, 40][seed % 3])
    pos = Positions()  # the per-tree code: every tree by add_tree, in order
    roots = [pos.add_tree([(f, flows.route(f)) for f in fl]) for fl in flows.tree_flows]
    want, got = pos.freeze(roots), lay_out_trees(flows)
    for f in dataclasses.fields(want):
        a, b = getattr(want, f.name), getattr(got, f.name)
        assert a.dtype == b.dtype and a.tolist() == b.tolist(), f.name
    # the edges: each position's link feeds each of its children's, walked one by one
    walked = {
        (link, int(want.pos_link[c]))
        for p, link in enumerate(want.pos_link.tolist())
        if link >= 0
        for c in children(want, p)
    }
    assert got.edge_array().tolist() == sorted(map(list, walked))


def children(lay: Layouts, p: int) -> list[int]:
    out, c = [], int(lay.pos_first_child[p])
    while c >= 0:
        out.append(c)
        c = int(lay.pos_sibling[c])
    return out


def bfs_next_hops(n_nodes: int, in_links: list[list[tuple[int, int]]], dst: int) -> list[int]:
    """Breadth-first search from ``dst`` one node at a time (the per-item code)."""
    nxt, seen, frontier = [-1] * n_nodes, [False] * n_nodes, [dst]
    seen[dst] = True
    while frontier:
        following = []
        for v in frontier:
            for link, u in in_links[v]:
                if not seen[u]:
                    seen[u] = True
                    nxt[u] = link
                    following.append(u)
        frontier = following
    return nxt


@pytest.mark.parametrize("seed", range(8))
def test_forwarding_over_arrays_is_the_search_node_by_node(seed: int) -> None:
    rng = random.Random(seed)
    n_nodes = rng.choice([2, 5, 30, 200])
    n_links = rng.randrange(1, 4 * n_nodes)
    src = np.array([rng.randrange(n_nodes) for _ in range(n_links)], np.int64)
    dst = np.array([rng.randrange(n_nodes) for _ in range(n_links)], np.int64)
    works = np.array([rng.random() < 0.8 for _ in range(n_links)])
    ids = np.flatnonzero(works)
    in_links: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for i in ids.tolist():
        in_links[int(dst[i])].append((i, int(src[i])))
    graph = LinkGraph.of(n_nodes, ids, src, dst)
    for d in range(n_nodes):
        assert next_hops_to(graph, d) == bfs_next_hops(n_nodes, in_links, d)


def test_topological_order_of_a_set_and_of_an_array_agree() -> None:
    rng = random.Random(3)
    edges = {(a, b) for a in range(50) for b in range(a + 1, 50) if rng.random() < 0.05}
    order = topological_order(50, edges)
    assert order == topological_order(50, np.array(sorted(edges) * 2, np.int64))
    where = {link: i for i, link in enumerate(order)}
    assert all(where[a] < where[b] for a, b in edges)
    assert topological_order(3, set()) == [0, 1, 2]
