"""Net present cost: a plan's yearly costs brought back to the start of year 1.

Costs of year *y* (its purchases and its running costs) are counted at the start of the year,
so year 1 is not discounted and year *y* is divided by ``(1 + r)^(y − 1)`` for the discount
rate *r*. The net present cost is the sum of the discounted yearly totals.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["discount_factor", "net_present_cost"]


def discount_factor(year: int, rate: float) -> float:
    """``1 / (1 + rate)^(year − 1)``: what a cost of ``year`` weighs today."""
    return float((1.0 + rate) ** -(year - 1))


def net_present_cost(costs: Mapping[int, float], rate: float) -> float:
    """The sum of ``costs`` (year → total that year), each discounted to year 1."""
    return float(sum(c * discount_factor(y, rate) for y, c in costs.items()))
