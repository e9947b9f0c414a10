"""A drawn whole-bill cost model for the sizing tests that check ``size`` against a brute
force (test_bill_sizing, test_sizing_n1_bill): optics of three tiers (short reach at times
costing as much as the next tier's, or more), two PoE switch models and a switch of 10 Gbit/s
ports, discounting, maintenance and energy, each price an integer drawn from ``rng``."""

from __future__ import annotations

import random


def drawn_costs(rng: random.Random, *, small_fast_ports: int, optional_uplinks: bool) -> str:
    """A cost file's text: the small switch has up to ``small_fast_ports`` 10 Gbit/s ports;
    the uplink switch is always in the catalogue or, with ``optional_uplinks``, 70 % of the
    time."""

    def price(lo: int, hi: int) -> float:
        return float(rng.randint(lo, hi))

    def uplinks() -> str:
        return (
            f'[[switches]]\nname = "uplinks"\nports = {{ "10Gbps" = 8 }}\n'
            f"price = {price(200, 900)}\npower_w = {price(10, 60)}\n"
        )

    short = [price(1, 20), price(21, 80), price(81, 400)]
    if rng.random() < 0.5:  # a tier whose optics cost as much as the next one's, or more
        slow = rng.randrange(2)
        short[slow] = short[slow + 1] + price(0, 30)
    drawn_first = (uplinks() if rng.random() < 0.7 else "") if optional_uplinks else None
    costs = f"""
discount_rate = {rng.choice([0.0, 0.04, 0.1])}
horizon_years = {rng.choice([2, 4])}
maintenance_share = {rng.choice([0.0, 0.05])}
energy_per_kwh = {rng.choice([0.1, 0.3])}
[optics]
"100Mbps" = {{ short = {short[0]}, long = {price(20, 600)} }}
"1Gbps" = {{ short = {short[1]}, long = {price(61, 600)} }}
"10Gbps" = {{ short = {short[2]}, long = {price(201, 600)} }}
[[switches]]
name = "small"
ports = {{ "1Gbps" = {rng.randint(4, 8)}, "10Gbps" = {rng.randint(0, small_fast_ports)} }}
poe_budget_w = {rng.choice([60.0, 130.0])}
poe_port_w = 30.0
price = {price(100, 400)}
power_w = {price(5, 400)}
[[switches]]
name = "big"
ports = {{ "1Gbps" = 16, "10Gbps" = {rng.randint(2, 4)} }}
poe_budget_w = {rng.choice([120.0, 400.0])}
poe_port_w = 30.0
price = {price(300, 1500)}
power_w = {price(20, 120)}
"""
    return costs + (uplinks() if drawn_first is None else drawn_first)
