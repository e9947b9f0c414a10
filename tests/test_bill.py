"""The whole bill (vidnet_sim.analysis.bill): cost model input, switch selection, net present
cost of a hand-written plan."""

from __future__ import annotations

import collections
import copy
import itertools
import math
import random
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidnet_sim.analysis.bill import (
    BillModel,
    CostModelError,
    PortNeed,
    YearDesign,
    check_growth_plan,
    choose_switches,
    load_bill_model,
    price_plan,
    switches,
)
from vidnet_sim.analysis.bill.model import SwitchModel, parse_bill_model
from vidnet_sim.analysis.bill.switches import (
    SwitchChoice,
    fits,
    split,
    stack_options,
    stack_shares,
)
from vidnet_sim.analysis.vary import AnalysisInputError
from vidnet_sim.errors import ScenarioError
from vidnet_sim.scenario import parse_scenario_dict

#: No test here calls a compiled kernel (tests/conftest.py runs them during the precompile).
pytestmark = pytest.mark.kernel_free

G1, G10 = 10**9, 10**10


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ("discount = 0.05\n", "discount", "unknown key 'discount'; did you mean 'discount_rate'"),
        ("[fibre]\ntrench_per_km = -5\n", "fibre.trench_per_km", "got -5: must be at least 0"),
        ("[recording]\nprice_per_tb = -1.0\n", "recording.price_per_tb", "must be at least 0"),
        ('[optics]\n"10gbps" = 3\n', "optics", "rate tier '10gbps'"),
        (
            '[[switches]]\nname = "s"\nports = { "1Gbps" = 8 }\nprice = 1\nfans = 2\n',
            "switches[0].fans",
            "unknown key 'fans'",
        ),
        ('energy_per_kwh = "cheap"\n', "energy_per_kwh", "got 'cheap'"),
        ("discount_rate = nan\n", "discount_rate", "got nan: expected a finite number"),
        ("energy_per_kwh = inf\n", "energy_per_kwh", "got inf: expected a finite number"),
    ],
)
def test_each_bad_input_gives_one_clear_error(
    tmp_path: Path, text: str, path: str, words: str
) -> None:
    with pytest.raises(CostModelError) as exc:
        load_bill_model(write(tmp_path / "c.toml", text))
    assert len(exc.value.problems) == 1, exc.value.problems
    (problem,) = exc.value.problems
    assert problem.path == path
    assert words in problem.message
    assert str(tmp_path / "c.toml") in str(exc.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = "colour = 1\ndiscount_rate = 2\n[fibre]\nduct_per_km = -1\n"
    with pytest.raises(CostModelError) as exc:
        load_bill_model(write(tmp_path / "c.toml", text))
    assert sorted(p.path for p in exc.value.problems) == [
        "colour",
        "discount_rate",
        "fibre.duct_per_km",
    ]


def test_unknown_fibre_status_is_a_scenario_error() -> None:
    data = _scenario(fibre="rented")
    with pytest.raises(ScenarioError) as exc:
        parse_scenario_dict(data)
    (problem,) = exc.value.problems
    assert problem.path.startswith("links[0]") and problem.path.endswith(".fibre")
    assert "'leased'" in problem.message and "'rented'" in problem.message


def test_leased_link_without_rent_is_one_error() -> None:
    sc = parse_scenario_dict(_scenario(fibre="leased"))
    with pytest.raises(CostModelError) as exc:
        price_plan([YearDesign(1, sc)], BillModel())
    (problem,) = exc.value.problems
    assert problem.path == 'links[0] (id="a-b").fibre'
    assert "leased" in problem.message and "rent" in problem.message
    # a rent per link, per km, or for that link makes it valid
    for fibre in (
        {"leased_per_link_year": 100.0},
        {"leased_per_km_year": 10.0},
        {"rent": {"a-b": 5.0}},
    ):
        price_plan([YearDesign(1, sc)], BillModel.model_validate({"fibre": fibre}))


# --------------------------------------------------------------------------- switches
def _brute_fits(model: SwitchModel, needs: list[PortNeed]) -> bool:
    """Every injective assignment of needs to the model's ports, checked one by one."""
    ports = [r for r, n in model.port_counts.items() for _ in range(n)]
    if sum(n.poe_w for n in needs) > model.poe_budget_w + 1e-9:
        return False
    for chosen in itertools.permutations(range(len(ports)), len(needs)):
        if all(
            ports[p] >= n.rate_bps and n.poe_w <= model.poe_port_w
            for p, n in zip(chosen, needs, strict=True)
        ):
            return True
    return False


def _brute_cheapest(
    catalogue: list[SwitchModel], needs: list[PortNeed], max_stack: int
) -> float | None:
    """The cheapest stack over every model, count and split of the needs among switches
    (each switch of a stack also gives a port, at the fastest rate needed, to the stack)."""
    best: float | None = None
    for model in catalogue:
        for count in range(1, max_stack + 1):
            stack = [PortNeed(max(n.rate_bps for n in needs))] if count > 1 else []
            for owner in itertools.product(range(count), repeat=len(needs)):
                shares = [
                    [n for n, o in zip(needs, owner, strict=True) if o == k] + stack
                    for k in range(count)
                ]
                if all(_brute_fits(model, s) for s in shares):
                    price = model.price * count
                    best = price if best is None else min(best, price)
                    break
    return best


_switch = st.builds(
    lambda g1, g10, budget, port_w, price: SwitchModel(
        name="x",
        ports={"1Gbps": g1, "10Gbps": g10},
        poe_budget_w=budget,
        poe_port_w=port_w,
        price=price,
    ),
    st.integers(0, 4),
    st.integers(1, 2),
    st.sampled_from([0.0, 20.0, 40.0, 70.0]),
    st.sampled_from([0.0, 15.4, 30.0]),
    st.integers(1, 20).map(float),
)
_need = st.builds(
    PortNeed,
    st.sampled_from([10**8, G1, G10]),
    st.sampled_from([0.0, 0.0, 15.4, 30.0]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_switch, min_size=1, max_size=3), st.lists(_need, min_size=1, max_size=4))
def test_one_switch_choice_equals_brute_force(
    catalogue: list[SwitchModel], needs: list[PortNeed]
) -> None:
    catalogue = [m.model_copy(update={"name": f"m{i}"}) for i, m in enumerate(catalogue)]
    for model in catalogue:
        assert fits(model, needs) == _brute_fits(model, needs)
    best = _brute_cheapest(catalogue, needs, 1)
    try:
        choice = choose_switches("n", needs, catalogue, max_stack=1)
    except AnalysisInputError:
        assert best is None
        return
    assert choice.price == best
    assert sum(choice.poe_w) <= choice.model.poe_budget_w


def _brute_stack(model: SwitchModel, needs: list[PortNeed], count: int) -> bool:
    """Does any assignment of the needs to ``count`` switches fit (each switch of a stack
    also giving a port, at the fastest rate needed, to the stack)?"""
    stack = [PortNeed(max(n.rate_bps for n in needs))] if count > 1 else []
    for owner in itertools.product(range(count), repeat=len(needs)):
        shares = [
            [n for n, o in zip(needs, owner, strict=True) if o == k] + stack for k in range(count)
        ]
        if all(_brute_fits(model, s) for s in shares):
            return True
    return False


def _check_shares(choice: SwitchChoice, needs: list[PortNeed]) -> None:
    """The choice's shares: each fits one switch, within its PoE budget, and together
    they are the needs (and the stack's interconnect ports)."""
    shares = stack_shares(choice.model, needs, choice.count)
    assert shares is not None and len(shares) == choice.count
    for share, w in zip(shares, choice.poe_w, strict=True):
        assert fits(choice.model, share)
        assert w == sum(n.poe_w for n in share) <= choice.model.poe_budget_w + 1e-9
    got = sorted((n.rate_bps, n.poe_w) for s in shares for n in s)
    link = [(max(n.rate_bps for n in needs), 0.0)] * choice.count if choice.count > 1 else []
    assert got == sorted([(n.rate_bps, n.poe_w) for n in needs] + link)
    assert choice.ports_used == len(got)


@settings(max_examples=150, deadline=None)
@given(st.lists(_switch, min_size=1, max_size=2), st.lists(_need, min_size=1, max_size=5))
def test_stack_choice_equals_brute_force(
    catalogue: list[SwitchModel], needs: list[PortNeed]
) -> None:
    catalogue = [m.model_copy(update={"name": f"m{i}"}) for i, m in enumerate(catalogue)]
    for model in catalogue:
        for count in (1, 2, 3):
            want = _brute_stack(model, needs, count)
            for limit in (0, 10**9):  # the integer program, the search
                with mock.patch.object(switches, "SEARCH_LIMIT", limit):
                    got = stack_shares(model, needs, count)
                assert (got is not None) == want
                if got is not None:
                    assert all(fits(model, share) for share in got)
    best = _brute_cheapest(catalogue, needs, 3)
    try:
        choice = choose_switches("n", needs, catalogue, max_stack=3)
    except AnalysisInputError:
        assert best is None
        return
    assert choice.price == best
    _check_shares(choice, needs)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_switch, min_size=1, max_size=3),
    st.lists(_need, min_size=1, max_size=8),
    st.randoms(use_true_random=False),
)
def test_a_nodes_stacks_do_not_depend_on_the_order_of_its_needs(
    catalogue: list[SwitchModel], needs: list[PortNeed], rng: Any
) -> None:
    """The stacks offered to a node (and so its choice, purchase and draw, to the bit) are
    those of its needs as a multiset: the sizing's pricer keys a node's cost by its links'
    rates sorted, one entry for every order (a ring node's twenty uplinks)."""
    catalogue = [m.model_copy(update={"name": f"m{i}"}) for i, m in enumerate(catalogue)]
    shuffled = rng.sample(needs, len(needs))
    for limit in (0, 10**9):  # the integer program, the search
        with mock.patch.object(switches, "SEARCH_LIMIT", limit):
            assert stack_options("n", shuffled, catalogue, 4) == stack_options(
                "n", needs, catalogue, 4
            )


def test_a_stack_shares_poe_better_than_dealing_in_turn() -> None:
    """Two switches of 60 W: 30 + 30 W on one and 3 × 20 W on the other fit, dealing the
    needs in turn (most power first) does not."""
    model = SwitchModel(
        name="s", ports={"1Gbps": 6, "10Gbps": 1}, poe_budget_w=60, poe_port_w=30, price=1
    )
    needs = [PortNeed(G1, 30.0)] * 2 + [PortNeed(G1, 20.0)] * 3
    assert not all(fits(model, s) for s in split(needs, 2))
    choice = choose_switches("n", needs, [model], max_stack=4)
    assert choice.count == 2 and sorted(choice.poe_w) == [60.0, 60.0]
    _check_shares(choice, needs)
    assert _brute_stack(model, needs, 2)


def test_the_integer_program_and_the_search_agree_on_large_nodes() -> None:
    """10 nodes of 20-44 cameras of four PoE classes on 400 W switches, at the fewest
    switches their PoE allows and one more: both exact methods give the same verdict, and
    their shares fit."""
    rng = random.Random(23)
    model = SwitchModel(
        name="t", ports={"1Gbps": 12, "10Gbps": 2}, poe_budget_w=400, poe_port_w=90, price=1
    )
    verdicts = []
    for _ in range(10):
        needs = [
            PortNeed(10**8, rng.choice([15.4, 30.0, 60.0, 90.0]))
            for _ in range(rng.randint(20, 44))
        ]
        needs += [PortNeed(G10)] * rng.randint(0, 2)
        fewest = math.ceil(sum(n.poe_w for n in needs) / 400)
        for count in (fewest, fewest + 1):
            got = []
            for limit in (0, 10**9):
                with mock.patch.object(switches, "SEARCH_LIMIT", limit):
                    got.append(stack_shares(model, needs, count))
            assert (got[0] is None) == (got[1] is None)
            for shares in got:
                assert shares is None or all(fits(model, s) for s in shares)
            verdicts.append(got[0] is not None)
            # the two methods alone (no quick tries first), on the needs grouped by kind
            counted = collections.Counter(needs)
            kinds = sorted(counted.items(), key=lambda kv: (-kv[0].rate_bps, -kv[0].poe_w))
            left = tuple(c for _, c in kinds)
            decided, program = switches._Stack(model, kinds, count > 1).by_program(left, count)
            search = switches._Stack(model, kinds, count > 1).shares(left, count)
            assert decided and (program is None) == (search is None) == (got[0] is None)
    assert True in verdicts and False in verdicts  # both kinds of answer were checked


def test_stack_choice_equals_brute_force_with_one_poe_class() -> None:
    """With one camera kind (the usual access node) dealing the needs in turn is optimal."""
    small = SwitchModel(
        name="s", ports={"1Gbps": 4, "10Gbps": 1}, poe_budget_w=40, poe_port_w=30, price=3
    )
    big = SwitchModel(
        name="b", ports={"1Gbps": 8, "10Gbps": 2}, poe_budget_w=100, poe_port_w=30, price=7
    )
    for cams in range(1, 7):
        needs = [PortNeed(10**8, 15.4)] * cams + [PortNeed(G10)]
        choice = choose_switches("n", needs, [small, big], max_stack=3)
        assert choice.price == _brute_cheapest([small, big], needs, 3)


# --------------------------------------------------------------------------- net present cost
def _scenario(fibre: str = "trench", cameras: int = 3) -> dict[str, Any]:
    return {
        "simulation": {"duration": "1s"},
        "nodes": [
            {"id": "a"},
            {"id": "b", "kind": "control_centre"},
            {"id": "nvr", "kind": "recorder"},
        ],
        "links": [
            {"a": "a", "b": "b", "rate": "1Gbps", "length": "2km", "fibre": fibre},
            {"a": "b", "b": "nvr", "rate": "10Gbps", "length": "100m"},
        ],
        "cameras": [
            {
                "name": "cams",
                "count": cameras,
                "attach": "a",
                "bitrate": "4Mbps",
                "destinations": ["nvr"],
                "kind": "ptz",
                "retention_days": 10,
            }
        ],
    }


def test_net_present_cost_of_a_hand_written_plan() -> None:
    """Two years and a horizon of four, priced by hand with a one-model catalogue."""
    model = BillModel.model_validate(
        {
            "discount_rate": 0.1,
            "energy_per_kwh": 0.2,
            "maintenance_share": 0.05,
            "horizon_years": 4,
            "short_reach_km": 1.0,
            "optics": {"1Gbps": {"short": 10, "long": 30}, "10Gbps": {"short": 20, "long": 50}},
            "fibre": {"existing_per_link": 100, "trench_per_km": 1000},
            "switches": [
                {
                    "name": "sw",
                    "ports": {"1Gbps": 4, "10Gbps": 2},
                    "poe_budget_w": 100,
                    "poe_port_w": 30,
                    "price": 500,
                    "power_w": 10,
                }
            ],
            "recording": {
                "usable_fraction": 0.5,
                "disk_tb": 1,
                "price_per_tb": 40,
                "disks_per_server": 4,
                "server_price": 1000,
                "server_power_w": 100,
                "disk_power_w": 5,
            },
        }
    )
    y1 = parse_scenario_dict(_scenario(cameras=3))
    y2 = parse_scenario_dict(_scenario(cameras=5))
    bill = price_plan([YearDesign(1, y1), YearDesign(2, y2, rates={"a-b": G10})], model)
    # year 1: trench 2 km; existing splice 100; 1G long-reach optics ×2 (2 km > 1 km), 10G
    # short ×2; switches: 'a' (3 PTZ cameras at 30 W + one 1G uplink), 'b' (two links);
    # storage: 3 × 4 Mbit/s / 8 × 86 400 s × 10 d = 1.296 TB, / 0.5 = 2.592 TB -> 3 disks,
    # 1 server
    fibre1 = 2000 + 100
    optics1 = 2 * 30 + 2 * 20
    switches1 = 500 + 500
    tb = 3 * 4e6 / 8 * 86_400 * 10 / 1e12
    disks1 = math.ceil(tb / 0.5)
    rec1 = disks1 * 40 + 1000
    w1 = (10 + 90) + 10 + (100 + 5 * disks1)
    capex1 = fibre1 + optics1 + switches1 + rec1
    opex1 = w1 * 8.76 * 0.2 + 0.05 * (optics1 + switches1 + rec1)
    # year 2: a-b upgraded to 10G (long reach 50 ×2); 5 PTZ at 'a' need 150 W > 100 W:
    # a second 'sw'; storage 2.16 TB / 0.5 -> 5 disks, 2 more
    optics2 = 2 * 50
    switches2 = 500
    disks2 = math.ceil(5 * 4e6 / 8 * 86_400 * 10 / 1e12 / 0.5)
    servers2 = math.ceil(disks2 / 4)
    assert (disks2, servers2) == (5, 2)
    rec2 = (disks2 - disks1) * 40 + (servers2 - 1) * 1000
    w2 = (20 + 150) + 10 + (100 * servers2 + 5 * disks2)
    capex2 = optics2 + switches2 + rec2
    installed2 = optics1 + switches1 + rec1 + capex2
    opex2 = w2 * 8.76 * 0.2 + 0.05 * installed2
    # years 3 and 4 keep year 2's running costs
    totals = [capex1 + opex1, capex2 + opex2, opex2, opex2]
    npc = sum(t / 1.1**i for i, t in enumerate(totals))
    years = bill.years
    assert list(years["year"]) == [1, 2, 3, 4]
    assert years["fibre"].tolist() == pytest.approx([fibre1, 0, 0, 0])
    assert years["optics"].tolist() == pytest.approx([optics1, optics2, 0, 0])
    assert years["switches"].tolist() == pytest.approx([switches1, switches2, 0, 0])
    assert years["recording"].tolist() == pytest.approx([rec1, rec2, 0, 0])
    assert years["total"].tolist() == pytest.approx(totals)
    assert bill.npc == pytest.approx(npc, rel=1e-12)
    assert years["cumulative_discounted"].iloc[-1] == pytest.approx(npc, rel=1e-12)
    assert bill.switches.query("year == 2 and node == 'a'")["count"].item() == 2


def test_leased_link_added_by_growth_is_named_where_it_is_written() -> None:
    data = _scenario(fibre="existing")
    data["growth"] = [
        {
            "year": 2,
            "nodes": [{"id": "c"}],
            "links": [{"a": "c", "b": "b", "rate": "1Gbps", "length": "3km", "fibre": "leased"}],
        }
    ]
    sc = parse_scenario_dict(copy.deepcopy(data))
    with pytest.raises(CostModelError) as exc:
        check_growth_plan(sc, data, BillModel())
    (problem,) = exc.value.problems
    assert problem.path == 'growth[0].links[0] (id="c-b").fibre'
    # a rent for a link no year has is an error too
    model = BillModel.model_validate({"fibre": {"rent": {"c-b": 1.0, "x-y": 2.0}}})
    with pytest.raises(CostModelError) as exc:
        check_growth_plan(sc, data, model)
    assert [p.path for p in exc.value.problems] == ['fibre.rent."x-y"']


@pytest.mark.parametrize(
    ("optics", "path", "words"),
    [
        ({"10Gbps": "cheap"}, "optics.10Gbps", "expected a price, or a table"),
        ({"10Gbps": -3}, "optics.10Gbps", "got -3: must be at least 0"),
        ({"10Gbps": {"short": 1}}, "optics.10Gbps.long", "required key 'long' is missing"),
        ({"10Gbps": {"short": 1, "long": 2, "mid": 3}}, "optics.10Gbps.mid", "unknown key"),
    ],
)
def test_bad_optics_give_one_error(optics: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(CostModelError) as exc:
        parse_bill_model({"optics": optics})
    (problem,) = exc.value.problems
    assert problem.path == path and words in problem.message
