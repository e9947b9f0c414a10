"""The whole bill of a network plan: fibre, optics, switches and PoE, recording storage and
running costs over the plan's years, with the net present cost (see ``docs/analysis.md``).
"""

from __future__ import annotations

from vidnet_sim.analysis.bill.model import BillModel, CostModelError, load_bill_model
from vidnet_sim.analysis.bill.npc import discount_factor, net_present_cost
from vidnet_sim.analysis.bill.price import (
    Bill,
    YearDesign,
    YearPricer,
    check_growth_plan,
    check_plan,
    day_storage,
    nominal_storage,
    plan_npc,
    price_plan,
)
from vidnet_sim.analysis.bill.switches import PortNeed, SwitchChoice, choose_switches

__all__ = [
    "Bill",
    "BillModel",
    "CostModelError",
    "PortNeed",
    "SwitchChoice",
    "YearDesign",
    "YearPricer",
    "check_growth_plan",
    "check_plan",
    "choose_switches",
    "day_storage",
    "discount_factor",
    "load_bill_model",
    "net_present_cost",
    "nominal_storage",
    "plan_npc",
    "price_plan",
]
