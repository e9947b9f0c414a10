"""What a window of ``τ`` holds of a looping trace: the exact variance over the window's
phase in the loop, for the Gaussian estimate (``analysis/estimates.py``).

The generator (``traffic/generate.py``) replays a looping trace from the source's ``start``,
packet ``i`` of play ``c`` at ``start + c P + t_i`` (``P`` the loop period,
``scenario/trace.py``): the phase is deterministic, not drawn. A run's windows
``[j τ, (j + 1) τ)`` meet the loop at the phases ``(j τ − start) mod P``; over a run of
many periods those are spread over the loop unless ``τ`` is a whole number of periods or
a ratio of few steps of it, and the variance of the run's windows is then that over a
uniform phase. In every case the uniform phase's variance is the run's averaged over a
``start`` uniform within a loop (the windows' mean does not depend on it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["loop_window_variance"]


def loop_window_variance(
    times: npt.NDArray[np.int64], weights: npt.NDArray[np.float64], period: int, tau: int
) -> float:
    """Variance of the weight (wire bytes) of the points ``times`` (in ``[0, period)``,
    repeated every ``period``) in a window ``[x, x + tau)``, over a phase ``x`` uniform on
    ``[0, period)``.

    With ``tau = q P + r`` (``0 ≤ r < P``) the window holds ``q`` whole loops, the same for
    every phase, and ``[x, x + r)``: its weight is constant between the breakpoints ``t_i``
    and ``t_i − r`` (mod ``P``), so the law over the phase is exact, ``O(m log m)`` for ``m``
    points. 0 when ``tau`` is a whole number of periods (every window holds the same) or
    there are no points."""
    period = int(period)
    r = int(tau) % period
    if r == 0 or len(times) == 0:
        return 0.0
    t = np.asarray(times, np.int64)
    w = np.asarray(weights, np.float64)
    order = np.argsort(t, kind="stable")
    t, w = t[order], w[order]
    # two plays: a window [x, x + r) with x < P ends before 2P
    ext = np.concatenate([t, t + period])
    cum = np.concatenate([[0.0], np.cumsum(np.concatenate([w, w]))])
    cuts = np.unique(np.concatenate([[0, period], t, np.mod(t - r, period)]))
    width = np.diff(cuts).astype(np.float64) / period
    # the weight is constant on (cuts[k], cuts[k + 1]]: read it at the right end
    x = cuts[1:]
    inside = cum[np.searchsorted(ext, x + r, "left")] - cum[np.searchsorted(ext, x, "left")]
    mean = float(w.sum()) * r / period
    return max(float(width @ (inside - mean) ** 2), 0.0)
