"""Switch selection: the cheapest catalogue switches that give a node its ports and PoE.

A node needs one port per attached camera (at the camera's ``access_rate``, supplying its PoE
class) and one per link that ends there (at the link's rate, no PoE). A need at rate *r* may
use any port at least as fast (a 10 Gbit/s port takes a 1 Gbit/s transceiver; a 1 Gbit/s
port serves a 100 Mbit/s camera); any port may supply PoE, up to the switch's ``poe_port_w``
per port and ``poe_budget_w`` in all.

One switch fits the needs when (i) for every rate *r*, the needs at *r* or faster are no more
than the ports at *r* or faster (Hall's condition for nested port sets: then a matching of
needs to ports exists), (ii) every PoE need is within ``poe_port_w`` and (iii) their sum is
within ``poe_budget_w``. A node is given ``count`` identical switches of one model (a stack),
the cheapest ``count × price`` that fits, ties to the fewer switches then the catalogue order.
In a later year the stack already in place counts: adding switches of its model costs only
the switches added, changing model costs the whole new stack.
The needs are dealt to the switches of a stack in turn, most power first (then fastest first),
which balances ports and PoE, and each switch of a stack gives one more port, at the fastest
rate the node needs, to the stack's interconnect; a stack fits when each switch fits its
share. With ``count = 1`` the choice is exact; a stack found this way may cost more than the
best possible split in corner cases (documented in ``docs/analysis.md``), never less, and no
PoE budget is ever exceeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vidnet_sim.analysis.bill.model import SwitchModel
from vidnet_sim.analysis.vary import AnalysisInputError

__all__ = ["PortNeed", "SwitchChoice", "choose_switches", "fits", "purchase", "split"]

#: Most identical switches stacked at one node.
MAX_STACK = 16


@dataclass(frozen=True)
class PortNeed:
    """One port a node needs: its rate (bit/s) and the PoE power (W) it must supply."""

    rate_bps: int
    poe_w: float = 0.0


@dataclass(frozen=True)
class SwitchChoice:
    """The switches of one node: ``count`` of ``model``, and the PoE each one supplies."""

    node: str
    model: SwitchModel
    count: int
    poe_w: tuple[float, ...]
    ports_used: int = 0  # the interconnect of a stack included

    @property
    def price(self) -> float:
        """What the switches cost."""
        return self.model.price * self.count

    @property
    def power_w(self) -> float:
        """Their own draw plus the PoE they supply (W)."""
        return self.model.power_w * self.count + sum(self.poe_w)


def fits(model: SwitchModel, needs: Sequence[PortNeed]) -> bool:
    """Does one ``model`` switch give ``needs`` their ports and PoE (see the module doc)?"""
    ports = model.port_counts
    for rate in {n.rate_bps for n in needs}:
        wanted = sum(1 for n in needs if n.rate_bps >= rate)
        if wanted > sum(c for r, c in ports.items() if r >= rate):
            return False
    poe = [n.poe_w for n in needs if n.poe_w > 0]
    if any(w > model.poe_port_w for w in poe):
        return False
    return sum(poe) <= model.poe_budget_w + 1e-9


def purchase(owned: SwitchChoice | None, model: SwitchModel, count: int) -> float:
    """What a stack of ``count`` ``model`` switches costs to buy when ``owned`` is in place:
    the added switches of the same model, else the whole stack (the old one is not resold)."""
    if owned is not None and owned.model == model:
        return max(0, count - owned.count) * model.price
    return count * model.price


def split(needs: Sequence[PortNeed], count: int) -> list[list[PortNeed]]:
    """``needs`` dealt to ``count`` switches in turn, most power first, then fastest first;
    in a stack (``count > 1``) each switch also gives one port, at the fastest rate the
    node needs, to the stack's interconnect."""
    order = sorted(needs, key=lambda n: (-n.poe_w, -n.rate_bps))
    shares = [list(order[i::count]) for i in range(count)]
    if count > 1:
        link = PortNeed(max(n.rate_bps for n in needs))
        shares = [[*share, link] for share in shares]
    return shares


def choose_switches(
    node: str,
    needs: Sequence[PortNeed],
    catalogue: Sequence[SwitchModel],
    max_stack: int = MAX_STACK,
    owned: SwitchChoice | None = None,
) -> SwitchChoice:
    """The stack of identical ``catalogue`` switches that fits ``needs`` at the least
    purchase: ``count × price``, or, for the model of the ``owned`` stack, only the switches
    added to it (:func:`purchase`)."""
    best: tuple[float, int, int] | None = None
    choice: SwitchChoice | None = None
    for k, model in enumerate(catalogue):
        start = owned.count if owned is not None and owned.model == model else 1
        for count in range(start, max(start, max_stack) + 1):
            key = (purchase(owned, model, count), count, k)
            if best is not None and key >= best:
                break
            shares = split(needs, count)
            if all(fits(model, s) for s in shares):
                best = key
                poe = tuple(sum(n.poe_w for n in s) for s in shares)
                choice = SwitchChoice(node, model, count, poe, sum(len(s) for s in shares))
                break
    if choice is None:
        total_w = sum(n.poe_w for n in needs)
        raise AnalysisInputError(
            f"node {node!r}: no stack of up to {max_stack} identical switches of the cost "
            f"model's catalogue gives its {len(needs)} ports ({total_w:g} W of PoE); add a "
            "larger switch to [[switches]]"
        )
    return choice
