"""Switch selection: the cheapest catalogue switches that give a node its ports and PoE.

A node needs one port per attached camera (at the camera's ``access_rate``, supplying its PoE
class) and one per link that ends there (at the link's rate, no PoE). A need at rate *r* may
use any port at least as fast (a 10 Gbit/s port takes a 1 Gbit/s transceiver; a 1 Gbit/s
port serves a 100 Mbit/s camera); any port may supply PoE, up to the switch's ``poe_port_w``
per port and ``poe_budget_w`` in all.

One switch fits the needs when (i) for every rate *r*, the needs at *r* or faster are no more
than the ports at *r* or faster (Hall's condition for nested port sets: then a matching of
needs to ports exists), (ii) every PoE need is within ``poe_port_w`` and (iii) their sum is
within ``poe_budget_w``. A node is given ``count`` identical switches of one model (a stack);
each switch of a stack (``count > 1``) also gives one port, at the fastest rate the node
needs, to the stack's interconnect, and a stack fits when the needs can be shared among its
switches so that each switch fits its share. The node gets the stack of least purchase
(``count × price``), ties to the fewer switches then the catalogue order. In a later year
the stack already in place counts: adding switches of its model costs only the switches
added, changing model costs the whole new stack.

**Exact.** Whether a stack fits is decided exactly (:func:`stack_shares`): the needs are
grouped by kind (rate, PoE); necessary conditions on the totals (Hall's condition for the
stack as a whole and the PoE budgets) reject at once, dealing the needs in turn (most power
first, then fastest first) or giving each to the switch with the most PoE budget left
accepts at once when it fits, and otherwise a search over the switches one by one, each
given a share that cannot take one more need (a share that could is never needed: moving a
need from a later switch into it keeps every switch fitting), memoised on what is left,
decides; beyond
:data:`SEARCH_LIMIT` needs (a 100-camera node with four PoE classes and a tight budget took
the search seconds) an integer program solved by HiGHS decides first, its solution checked
exactly. The tests compare both with a brute-force enumeration of every assignment of needs
to switches, and with each other on large nodes. A node's choice is the
least stack of each model (:func:`stack_options`; a stack of a model that fits also fits
with slower needs, which makes the sizing search's lower bound of a node sound) at the
least purchase; no PoE budget is ever exceeded.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from vidnet_sim.analysis.bill.model import SwitchModel
from vidnet_sim.analysis.vary import AnalysisInputError

__all__ = [
    "MAX_STACK",
    "SEARCH_LIMIT",
    "PortNeed",
    "SwitchChoice",
    "choose_switches",
    "fits",
    "purchase",
    "split",
    "stack_options",
    "stack_shares",
]

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
    node needs, to the stack's interconnect. (A quick try of :func:`stack_shares`.)"""
    order = sorted(needs, key=lambda n: (-n.poe_w, -n.rate_bps))
    shares = [list(order[i::count]) for i in range(count)]
    if count > 1:
        link = PortNeed(max(n.rate_bps for n in needs))
        shares = [[*share, link] for share in shares]
    return shares


#: Needs beyond which a stack's sharing is decided by an integer program, not the search.
SEARCH_LIMIT = 40

_Kinds = list[tuple[PortNeed, int]]  # need kinds, fastest first, with how many of each


class _Stack:
    """Shares of the need ``kinds`` among the switches of a stack of ``model`` (exact)."""

    def __init__(self, model: SwitchModel, kinds: _Kinds, interconnect: bool) -> None:
        self.kinds = [k for k, _ in kinds]
        ports = model.port_counts
        spare = 1 if interconnect else 0  # the port each switch gives the interconnect
        # ports at the kind's rate or faster, for one switch's own needs
        self.cap = [sum(c for r, c in ports.items() if r >= k.rate_bps) - spare for k in self.kinds]
        self.poe = [k.poe_w for k in self.kinds]
        self.budget = model.poe_budget_w + 1e-9
        self.memo: dict[tuple[tuple[int, ...], int], list[tuple[int, ...]] | None] = {}

    def solve(self, left: tuple[int, ...], switches: int) -> list[tuple[int, ...]] | None:
        """:meth:`shares`, or for more than :data:`SEARCH_LIMIT` needs (where the search can
        take seconds) an integer program (:meth:`by_program`), the search deciding when the
        solver does not."""
        if min(self.cap) < 0 or not self.possible(left, switches):
            return None
        quick = self.balanced(left, switches)
        if quick is not None:
            return quick
        if sum(left) > SEARCH_LIMIT:
            decided, found = self.by_program(left, switches)
            if decided:
                return found
        return self.shares(left, switches)

    def by_program(
        self, left: tuple[int, ...], switches: int
    ) -> tuple[bool, list[tuple[int, ...]] | None]:
        """The shares as an integer program solved by HiGHS (``scipy.optimize.milp``): one
        count per switch and kind; each kind shared out whole, Hall's condition per switch
        and kind (fastest first), the PoE budget per switch, switches in decreasing PoE (no
        two orders of the same stack). Returns (decided, shares): a solution is checked
        exactly before it is returned; a solver that neither finds one nor proves there is
        none decides nothing."""
        import numpy as np  # here: scipy's start-up is paid only when needed
        from scipy.optimize import Bounds, LinearConstraint, milp

        n = len(left)
        size = switches * n
        rows, lo, hi = [], [], []

        def row(coef: dict[int, float], low: float, high: float) -> None:
            r = np.zeros(size)
            for j, v in coef.items():
                r[j] = v
            rows.append(r)
            lo.append(low)
            hi.append(high)

        for k in range(n):  # every need of kind k placed
            row({b * n + k: 1.0 for b in range(switches)}, left[k], left[k])
        for b in range(switches):
            for i in range(n):  # Hall: needs of kind i or faster within the ports
                row({b * n + k: 1.0 for k in range(i + 1)}, -np.inf, self.cap[i])
            row({b * n + k: self.poe[k] for k in range(n)}, -np.inf, self.budget)
            if b + 1 < switches:
                coef = {b * n + k: self.poe[k] for k in range(n)}
                coef.update({(b + 1) * n + k: -self.poe[k] for k in range(n)})
                row(coef, 0.0, np.inf)
        res = milp(
            np.zeros(size),
            constraints=LinearConstraint(np.array(rows), lo, hi),
            integrality=np.ones(size),
            bounds=Bounds(0, np.tile(np.asarray(left, dtype=float), switches)),
        )
        if res.status == 2:  # infeasible
            return True, None
        if res.status != 0 or res.x is None:
            return False, None
        x = np.rint(res.x).astype(int)
        shares = [tuple(int(v) for v in x[b * n : (b + 1) * n]) for b in range(switches)]
        if self.exact_check(shares, left):
            return True, shares
        return False, None

    def exact_check(self, shares: list[tuple[int, ...]], left: tuple[int, ...]) -> bool:
        """Do ``shares`` take every need ``left``, each switch within its ports and PoE?"""
        if [sum(col) for col in zip(*shares, strict=True)] != list(left):
            return False
        for share in shares:
            placed = list(itertools.accumulate(share))
            if any(p > c for p, c in zip(placed, self.cap, strict=True)):
                return False
            if sum(p * x for p, x in zip(self.poe, share, strict=True)) > self.budget:
                return False
        return True

    def possible(self, left: tuple[int, ...], switches: int) -> bool:
        """Necessary: the needs left fit the totals of ``switches`` switches."""
        placed = 0
        for i, n in enumerate(left):
            placed += n
            if placed and placed > switches * self.cap[i]:
                return False
        return sum(p * n for p, n in zip(self.poe, left, strict=True)) <= switches * self.budget

    def shares(self, left: tuple[int, ...], switches: int) -> list[tuple[int, ...]] | None:
        """One share per switch (counts per kind) taking every need ``left``, or None."""
        if min(self.cap) < 0:  # no port for the fastest need beside the interconnect's
            return None
        if not any(left):
            return [tuple(0 for _ in left)] * switches
        if switches == 0 or not self.possible(left, switches):
            return None
        key = (left, switches)
        if key not in self.memo:
            self.memo[key] = self.balanced(left, switches)
            if self.memo[key] is not None:
                return self.memo[key]
            for share in self.full_shares(left):
                rest = tuple(a - b for a, b in zip(left, share, strict=True))
                found = self.shares(rest, switches - 1)
                if found is not None:
                    self.memo[key] = [share, *found]
                    break
        return self.memo[key]

    def balanced(self, left: tuple[int, ...], switches: int) -> list[tuple[int, ...]] | None:
        """A quick try: each need in turn (fastest first, then most power first) to the
        switch with the most PoE budget left among those with a port for it; None when it
        gets stuck (which proves nothing)."""
        shares = [[0] * len(left) for _ in range(switches)]
        placed = [0] * switches
        watts = [0.0] * switches
        for i, n in enumerate(left):
            for _ in range(n):
                fit = [
                    b
                    for b in range(switches)
                    if placed[b] + 1 <= self.cap[i] and watts[b] + self.poe[i] <= self.budget
                ]
                if not fit:
                    return None
                b = max(fit, key=lambda b: (-watts[b], -placed[b]))
                shares[b][i] += 1
                placed[b] += 1
                watts[b] += self.poe[i]
        return [tuple(share) for share in shares]

    def full_shares(self, left: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Every share of ``left`` one switch fits that cannot take one more need, the
        largest first."""
        out: list[tuple[int, ...]] = []
        n = len(left)

        def grow(i: int, share: list[int], placed: int, watts: float) -> None:
            if i == n:
                if not self.room(share, left, watts):
                    out.append(tuple(share))
                return
            most = min(left[i], self.cap[i] - placed)
            if self.poe[i] > 0:
                most = min(most, int((self.budget - watts) // self.poe[i]))
            for x in range(max(most, 0), -1, -1):
                grow(i + 1, [*share, x], placed + x, watts + x * self.poe[i])

        grow(0, [], 0, 0.0)
        return out

    def room(self, share: list[int], left: tuple[int, ...], watts: float) -> bool:
        """Can ``share`` take one more need of a kind still left?"""
        placed = list(itertools.accumulate(share))
        for i, p in enumerate(self.poe):
            if (
                share[i] < left[i]
                and watts + p <= self.budget
                and all(placed[j] + 1 <= self.cap[j] for j in range(i, len(share)))
            ):
                return True
        return False


def stack_shares(
    model: SwitchModel, needs: Sequence[PortNeed], count: int
) -> list[list[PortNeed]] | None:
    """The needs of each switch of a stack of ``count`` ``model`` switches (its interconnect
    port included when ``count > 1``), or None when no sharing fits (exact; see the module
    doc)."""
    if not needs:
        return [[] for _ in range(count)]
    if any(n.poe_w > model.poe_port_w for n in needs if n.poe_w > 0):
        return None
    quick = split(needs, count)
    if all(fits(model, s) for s in quick):
        return quick
    counted: dict[PortNeed, int] = {}
    for n in needs:
        counted[n] = counted.get(n, 0) + 1
    kinds = sorted(counted.items(), key=lambda kv: (-kv[0].rate_bps, -kv[0].poe_w))
    found = _Stack(model, kinds, count > 1).solve(tuple(c for _, c in kinds), count)
    if found is None:
        return None
    link = [PortNeed(max(n.rate_bps for n in needs))] if count > 1 else []
    return [
        [k for (k, _), x in zip(kinds, share, strict=True) for _ in range(x)] + link
        for share in found
    ]


def stack_options(
    node: str,
    needs: Sequence[PortNeed],
    catalogue: Sequence[SwitchModel],
    max_stack: int = MAX_STACK,
    owned: SwitchChoice | None = None,
) -> list[SwitchChoice]:
    """For each ``catalogue`` model (in order) that can serve ``needs``, its smallest stack
    (of at most ``max_stack`` switches, never fewer than ``owned`` has of its model): the
    stacks among which :func:`choose_switches` picks."""
    out = []
    for model in catalogue:
        start = owned.count if owned is not None and owned.model == model else 1
        for count in range(start, max(start, max_stack) + 1):
            shares = stack_shares(model, needs, count)
            if shares is not None:
                poe = tuple(sum(n.poe_w for n in s) for s in shares)
                out.append(SwitchChoice(node, model, count, poe, sum(len(s) for s in shares)))
                break
    return out


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
    options = stack_options(node, needs, catalogue, max_stack, owned)
    order = {id(m): k for k, m in enumerate(catalogue)}
    choice = min(
        options,
        key=lambda c: (purchase(owned, c.model, c.count), c.count, order[id(c.model)]),
        default=None,
    )
    if choice is None:
        total_w = sum(n.poe_w for n in needs)
        raise AnalysisInputError(
            f"node {node!r}: no stack of up to {max_stack} identical switches of the cost "
            f"model's catalogue gives its {len(needs)} ports ({total_w:g} W of PoE); add a "
            "larger switch to [[switches]]"
        )
    return choice
