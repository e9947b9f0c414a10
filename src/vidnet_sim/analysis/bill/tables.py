"""The whole bill as text tables (header, rows of strings) for the console and the report."""

from __future__ import annotations

from vidnet_sim.analysis.bill.price import CATEGORIES, Bill

__all__ = ["bill_table", "recorders_table", "switches_table"]

_TITLES = {
    "fibre": "fibre",
    "optics": "optics",
    "switches": "switches",
    "recording": "recording",
    "energy": "energy",
    "maintenance": "maintenance",
    "rent": "rent",
}


def _money(x: float) -> str:
    return f"{x:,.0f}"


def bill_table(bill: Bill, vendor: Bill | None = None) -> tuple[list[str], list[list[str]]]:
    """Per year: each category, the year's total, cumulative and discounted cumulative
    totals (and the 60 % rule's discounted cumulative total when ``vendor`` is given)."""
    header = [
        "year",
        *(_TITLES[c] for c in CATEGORIES),
        "total",
        "cumulative",
        "discounted cumulative",
    ]
    if vendor is not None:
        header.append("60 % rule, discounted cumulative")
    vend = (
        dict(zip(vendor.years["year"], vendor.years["cumulative_discounted"], strict=True))
        if vendor is not None and len(vendor.years)
        else {}
    )
    rows = []
    for r in bill.years.to_dict("records"):
        row = [
            str(r["year"]),
            *(_money(r[c]) for c in CATEGORIES),
            _money(r["total"]),
            _money(r["cumulative"]),
            _money(r["cumulative_discounted"]),
        ]
        if vendor is not None:
            row.append(_money(vend[r["year"]]) if r["year"] in vend else "—")
        rows.append(row)
    return header, rows


def switches_table(bill: Bill) -> tuple[list[str], list[list[str]]]:
    """Per year and node: the switches, ports used, PoE supplied of the budget, purchase."""
    header = ["year", "node", "switches", "ports used", "PoE W (budget)", "bought"]
    rows = [
        [
            str(r["year"]),
            str(r["node"]),
            f"{r['count']} × {r['model']}",
            str(r["ports_used"]),
            f"{r['poe_w']:,.0f} ({r['poe_budget_w']:,.0f})",
            _money(r["capex"]),
        ]
        for r in bill.switches.to_dict("records")
    ]
    return header, rows


def recorders_table(bill: Bill) -> tuple[list[str], list[list[str]]]:
    """Per year and recorder: TB per day, TB kept, raw TB, disks, servers, purchase."""
    header = ["year", "recorder", "TB/day", "TB kept", "raw TB", "disks", "servers", "bought"]
    rows = [
        [
            str(r["year"]),
            str(r["recorder"]),
            f"{r['tb_per_day']:,.2f}",
            f"{r['tb_retention']:,.1f}",
            f"{r['raw_tb']:,.1f}",
            str(r["disks"]),
            str(r["servers"]),
            _money(r["capex"]),
        ]
        for r in bill.recorders.to_dict("records")
    ]
    return header, rows
