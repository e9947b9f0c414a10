"""The M/D/1 queue, exactly: mean and quantiles of the waiting time (for case a).

Poisson arrivals of rate ``lam`` (per ps) at one server with a constant service time ``S``
(ps), load ``rho = lam * S < 1``. The waiting time W (arrival to start of service) has

    P(W <= x) = (1 - rho) * sum_{k=0}^{floor(x/S)} (lam (kS - x))^k / k! * exp(-lam (kS - x))

(Erlang 1909; Crommelin 1932), and E[W] = rho S / (2 (1 - rho)). The sum alternates in sign
with terms up to exp(lam x), so it is evaluated in 60-digit decimal arithmetic. A packet's
latency on the link is W + S + P (P: propagation delay).
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext


def wait_cdf(x: float, lam: float, s: float) -> float:
    """P(W <= x) for the M/D/1 queue (x, s in ps, lam per ps)."""
    if x < 0:
        return 0.0
    getcontext().prec = 60
    rho = Decimal(lam) * Decimal(s)
    L, X, S = Decimal(lam), Decimal(x), Decimal(s)
    total = Decimal(0)
    fact = Decimal(1)
    for k in range(math.floor(x / s) + 1):
        if k > 0:
            fact *= k
        u = L * (k * S - X)  # <= 0
        total += (u**k) / fact * (-u).exp() if k > 0 else (-u).exp()
    return float((1 - rho) * total)


def wait_quantile(q: float, lam: float, s: float) -> float:
    """The q-quantile of W (ps): the smallest x with P(W <= x) >= q, to 0.01 ps."""
    rho = lam * s
    if q <= 1 - rho:
        return 0.0
    lo, hi = 0.0, s
    while wait_cdf(hi, lam, s) < q:
        lo, hi = hi, hi * 2
    while hi - lo > 0.01:
        mid = (lo + hi) / 2
        if wait_cdf(mid, lam, s) < q:
            lo = mid
        else:
            hi = mid
    return hi


def latency_stats(lam: float, s: float, p: float) -> dict[str, float]:
    """Mean, p50 and p99 of the latency W + S + P (ps); the max is unbounded."""
    rho = lam * s
    return {
        "mean": rho * s / (2 * (1 - rho)) + s + p,
        "p50": wait_quantile(0.50, lam, s) + s + p,
        "p99": wait_quantile(0.99, lam, s) + s + p,
    }
