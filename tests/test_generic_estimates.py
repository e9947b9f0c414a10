"""The fast estimates of generic sources (``cbr``, ``poisson``, ``onoff``, ``trace``) against
what the generator sends, and the on/off window variance against its oracles.

Oracles: the packets ``traffic/generate.py`` emits, binned at ``τ`` (the mean rate, the rate's
variance) and every window of them (the model token buckets); the closed form of exponential
on/off periods and a Monte Carlo of the stationary Pareto process for the renewal equations.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from test_behaviour_estimates import MS, binned, emitted, scenario
from vidnet_sim.analysis.estimates import _bucket_from_trace, arrival_curves, source_rate_moments
from vidnet_sim.analysis.onoff_windows import (
    _on_time_variance,
    on_time_variance,
    packets_per_on_period,
)
from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.scenario.trace import trace_period_ps
from vidnet_sim.traffic.generate import G_T, G_WIRE


# --------------------------------------------------------------------------- on/off windows
@pytest.mark.kernel_free
@pytest.mark.parametrize("tau", [0.01, 0.3, 3.0])
def test_the_renewal_equations_give_the_closed_form_of_exponential_periods(tau: float) -> None:
    """Both periods exponential: the grid's variance of the time on in ``τ`` (one both ways
    with mixed laws) against ``2 p (1 − p) (τ/λ − (1 − e^(−λτ))/λ²)``, within 10⁻⁴."""
    p = 0.25
    closed = on_time_variance(0.6, 0.2, 0.0, 0.0, tau)
    grid = 2 * _on_time_variance(p, 0.6, 0.2, 0.0, 0.0, tau, 2000)
    grid -= _on_time_variance(p, 0.6, 0.2, 0.0, 0.0, tau, 1000)
    assert grid == pytest.approx(closed, rel=1e-4)
    assert closed < tau * tau * p * (1 - p)


def stationary_on_times(
    means: tuple[float, float], shapes: tuple[float, float], tau: float, n: int, seed: int
) -> np.ndarray:
    """The time on in ``[0, τ]`` of ``n`` stationary on/off processes with Pareto periods
    drawn one by one: the state at 0 on with probability ``p``, its period's residual
    (density ``P(L > r)/μ``), then fresh periods."""
    rng = np.random.default_rng(seed)

    def pareto(mean: float, a: float, size: int) -> np.ndarray:
        return np.asarray(mean * (a - 1) / a * rng.random(size) ** (-1 / a))

    def residual(mean: float, a: float, size: int) -> np.ndarray:
        u = rng.random(size)
        xm = mean * (a - 1) / a
        tail = xm * np.maximum(a * (1 - u), 1e-300) ** (-1 / (a - 1))
        return np.asarray(np.where(u < (a - 1) / a, u * mean, tail))

    on = rng.random(n) < means[1] / (means[0] + means[1])
    end = np.where(on, residual(means[1], shapes[1], n), residual(means[0], shapes[0], n))
    t, x, alive = np.zeros(n), np.zeros(n), np.ones(n, np.bool_)
    while alive.any():
        e = np.minimum(end, tau)
        x += np.where(alive & on, e - t, 0.0)
        t, alive, on = e, end < tau, ~on
        nxt = np.where(on, pareto(means[1], shapes[1], n), pareto(means[0], shapes[0], n))
        end = np.where(alive, end + nxt, end)
    return x


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    ("means", "shapes", "tau", "old"),
    [
        ((0.6, 0.2), (1.4, 1.4), 0.04, 1.10),  # windows short against the periods
        ((0.6, 0.2), (1.4, 1.4), 1.0, 2.63),
        ((0.6, 0.2), (2.5, 1.5), 0.3, 2.02),
        ((0.01, 0.02), (1.4, 1.4), 1.0, 6.90),  # a hundred cycles a window
    ],
)
def test_the_on_time_variance_is_that_of_the_process_drawn_period_by_period(
    means: tuple[float, float], shapes: tuple[float, float], tau: float, old: float
) -> None:
    """:func:`on_time_variance` against 200 000 stationary Pareto processes drawn period by
    period: within 3 % (measured: 0.1–1 %). The old estimate, ``τ² p (1 − p)``, was the
    ratio ``old`` of it."""
    x = stationary_on_times(means, shapes, tau, 200_000, seed=1)
    got = on_time_variance(*means, *shapes, tau)
    assert got == pytest.approx(x.var(), rel=0.03), (got, x.var())
    p = means[1] / sum(means)
    assert tau * tau * p * (1 - p) / x.var() == pytest.approx(old, rel=0.05)


@pytest.mark.kernel_free
@pytest.mark.parametrize(("mean", "shape", "iv"), [(0.2, 1.4, 0.002), (0.05, 1.4, 0.02)])
def test_an_on_period_sends_the_ceiling_of_its_length_over_the_interval(
    mean: float, shape: float, iv: float
) -> None:
    """``E⌈L/iv⌉`` against a million Pareto periods, within 4 standard errors (``L/iv``, the
    old count, is 0.5 % and 15 % low here)."""
    rng = np.random.default_rng(4)
    length = mean * (shape - 1) / shape * rng.random(1_000_000) ** (-1 / shape)
    n = np.ceil(length / iv)
    got = packets_per_on_period(mean, shape, iv)
    assert abs(got - n.mean()) <= 4 * n.std() / math.sqrt(len(n)), (got, n.mean())


# --------------------------------------------------------------------------- any generic source
#: A trace file of ``rows`` packets, drawn from a seed: times in ``[0, span)``, sizes 64 B to
#: 1500 B.
TRACES = st.fixed_dictionaries(
    {
        "rows": st.integers(2, 40),
        "span_ms": st.sampled_from([20, 100, 400]),
        "loop": st.just(True),
        "seed": st.integers(0, 1000),
    }
)
SIZE_DISTS = st.sampled_from(
    [
        {"kind": "exponential", "mean": "400B"},
        {"kind": "uniform", "min": "64B", "max": "1500B"},
        {"kind": "choice", "values": ["64B", "576B", "1500B"], "weights": [0.5, 0.2, 0.3]},
    ]
)
SOURCES = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.just("cbr"),
            "size": st.sampled_from(["64B", "200B", "1400B"]),
            "interval": st.sampled_from(["1ms", "7ms", "20ms", "30ms", "130ms"]),
        }
    ),
    st.fixed_dictionaries(
        {"kind": st.just("poisson"), "rate": st.sampled_from(["100kbps", "2Mbps"])},
        optional={"size": st.sampled_from(["100B", "1000B"]), "size_dist": SIZE_DISTS},
    ).filter(lambda d: ("size" in d) != ("size_dist" in d)),
    st.fixed_dictionaries(
        {
            "kind": st.just("onoff"),
            "size": st.sampled_from(["200B", "1400B"]),
            "interval": st.sampled_from(["1ms", "5ms", "20ms"]),
            "on_mean": st.sampled_from(["20ms", "100ms", "400ms"]),
            "off_mean": st.sampled_from(["20ms", "100ms", "600ms"]),
            "on_shape": st.sampled_from([1.4, 2.5]),
            "off_shape": st.sampled_from([1.4, 2.5]),
        }
    ),
    st.fixed_dictionaries({"kind": st.just("trace"), "trace": TRACES}),
)
TAUS = st.sampled_from([None, 10, 40, 100, 400])

#: How many sources of the drawn kind, and for how long.
COUNT, SECONDS = 30, 10


def trace_file(folder: Path, spec: dict[str, Any]) -> str:
    """A CSV trace drawn from ``spec`` in ``folder``; its path."""
    rng = np.random.default_rng(spec["seed"])
    times = np.sort(rng.random(spec["rows"])) * spec["span_ms"] / 1000
    sizes = rng.integers(64, 1501, spec["rows"])
    path = folder / f"t{spec['seed']}.csv"
    lines = ["time,size", *(f"{t:.9f},{s}" for t, s in zip(times, sizes, strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def check_sources(source: dict[str, Any], tau_ms: int | None) -> None:
    """:data:`COUNT` sources of one drawn kind for :data:`SECONDS` s, their packets binned
    at ``τ``: the estimate's mean rate within 5 standard errors of the sources' mean (0.5 %
    at least, and one cbr interval or trace play more: a run holds whole ones); the
    variance over ``τ`` within 20 % of the pooled windows' where the estimate is exact
    (cbr, Poisson); for on/off (the packets' count, however few a window holds) within 40 %
    (shapes of 2 or more) or at least 0.7 times (shapes below 2: the stationary variance,
    which a short run reaches only in part — 40 sources, on 20 ms and off 100 ms, shape
    1.4, ``τ`` = 400 ms, 4 seeds: 1.05–1.32 times the pooled windows' over 20 s, 0.94–1.10
    over 1000 s; shape 2.5: 0.98–1.07 and 0.98–1.02) — the packets' variance may exceed
    the fluid law's bound ``τ² p (1 − p)`` (a window shorter than the interval holds one
    packet or none); and, where the model gives a token bucket (cbr, on/off, trace), every window
    of every source within it, every packet within its largest and smallest packet."""
    with tempfile.TemporaryDirectory() as folder:
        src = dict(source)
        if src["kind"] == "trace":
            spec = src.pop("trace")
            src |= {"file": trace_file(Path(folder), spec), "loop": spec["loop"]}
        sources = [
            {**src, "name": f"s{i}", "at": "site", "destinations": ["cc"]} for i in range(COUNT)
        ]
        sim = {"duration": f"{SECONDS}s", "seed": 1}
        check_scenario(scenario([], f"{SECONDS}s", sources=sources, simulation=sim), tau_ms)


def check_scenario(sc: Scenario, tau_ms: int | None) -> None:
    """:func:`check_sources`'s checks of the scenario ``sc`` (its sources all alike)."""
    kind = sc.sources[0].kind
    plan = build_plan(sc)
    end = sc.simulation.duration
    tau = tau_ms * MS if tau_ms else 40 * MS
    mean, var = source_rate_moments(plan, tau_ms and tau, duration_ps=end)
    rows = emitted(sc)
    rates = [binned(r, tau, end) for r in rows]
    means = np.array([r.mean() for r in rates])
    noise = max(5 * means.std(ddof=1) / math.sqrt(len(means)), 5e-3 * means.mean())
    # a run of cbr packets or trace plays holds a whole number of them: one more or less
    period = {"cbr": plan.sources.interval_ps[0], "trace": plan.sources.trace_period_ps[0]}
    noise += mean[0] * float(period.get(kind, 0)) / end
    assert abs(mean[0] - means.mean()) <= noise, (mean[0], means.mean(), noise)
    pooled = np.concatenate(rates).var()
    if kind in ("cbr", "poisson"):
        assert var[0] == pytest.approx(pooled, rel=0.2, abs=1e-9 * mean[0] ** 2), (var, pooled)
    elif kind == "onoff":  # a short run's windows: heavy tails not yet seen (docstring)
        src = sc.sources[0]
        if min(src.on_shape or 1.4, src.off_shape or 1.4) >= 2:
            assert var[0] == pytest.approx(pooled, rel=0.4, abs=1e-9 * mean[0] ** 2)
        else:  # heavy tails: a short run's windows have not seen the stationary variance
            assert var[0] >= 0.7 * pooled, (var, pooled)
    if kind == "poisson":
        return
    curves = arrival_curves(plan, sc, "model")
    for s, r in enumerate(rows):
        need = _bucket_from_trace(r[:, G_T], r[:, G_WIRE], curves.rate_bps[s])
        # (the oracle's float sums over 20 s: 10⁻¹¹ of a bucket that cbr, a trace fill exactly)
        assert need <= curves.burst_bytes[s] * (1 + 1e-9) + 1e-6, (s, need, curves.burst_bytes[s])
        if len(r):
            assert r[:, G_WIRE].max() <= curves.max_packet_bytes[s]
            assert r[:, G_WIRE].min() >= curves.min_packet_bytes[s]


#: On/off periods far shorter than ``τ`` and an interval near them: the old estimate's
#: mean was 0.73 of the generated one (``L/iv`` packets a period) and its token bucket (the
#: CBR peak) 278 bytes where the windows needed 455.
SHORT_ONOFF = {
    "kind": "onoff",
    "size": "200B",
    "interval": "20ms",
    "on_mean": "20ms",
    "off_mean": "20ms",
    "on_shape": 2.5,
    "off_shape": 2.5,
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=SOURCES, tau_ms=TAUS)
@example(source=SHORT_ONOFF, tau_ms=400)
@example(source={"kind": "cbr", "size": "200B", "interval": "30ms"}, tau_ms=None)
def test_the_estimates_of_any_generic_source_are_what_it_sends(
    source: dict[str, Any], tau_ms: int | None
) -> None:
    """:func:`check_sources` for 12 random kinds of source (a few seconds)."""
    check_sources(source, tau_ms)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=SOURCES, tau_ms=TAUS)
def test_the_estimates_of_many_generic_sources_are_what_they_send(
    source: dict[str, Any], tau_ms: int | None
) -> None:
    """:func:`check_sources` for 200 random kinds of source."""
    check_sources(source, tau_ms)


# --------------------------------------------------------------------------- traces played once
def _trace_scenario(folder: Path, times: np.ndarray, sizes: np.ndarray, duration: str) -> Any:
    path = folder / "once.csv"
    lines = ["time,size", *(f"{t:.9f},{s}" for t, s in zip(times, sizes, strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    src = {"name": "t", "kind": "trace", "file": str(path), "at": "site", "destinations": ["cc"]}
    return scenario([], duration, sources=[src], simulation={"duration": duration, "seed": 1})


@pytest.mark.parametrize("duration", ["1s", "30s"])
def test_a_trace_that_does_not_loop_is_estimated_over_what_the_run_plays(
    tmp_path: Path, duration: str
) -> None:
    """A trace of 10 s that does not loop — 1 000 packets of 1 000 B in its first second, 9
    in the other nine — against the packets the run emits, binned at 40 ms over the time
    the trace plays in the run (its first second in a run of 1 s; its 10 s play, not the
    silence after it, in a run of 30 s): the mean and the variance exact. The old estimate
    took the whole file in either run: 0.11 of the first second's mean in the run of 1 s."""
    times = np.concatenate([np.arange(1000) / 1000, 1 + np.arange(9)])
    sizes = np.full(len(times), 1000)
    sc = _trace_scenario(tmp_path, times, sizes, duration)
    plan = build_plan(sc)
    tau = 40 * MS
    mean, var = source_rate_moments(plan, tau, duration_ps=sc.simulation.duration)
    # a play lasts a loop's period (its last time and a mean gap), cut at the run's end
    plays = min(sc.simulation.duration, trace_period_ps(plan.sources.trace_t))
    (rows,) = emitted(sc)
    sent = rows[rows[:, G_T] < plays, G_WIRE].sum()
    assert mean[0] == pytest.approx(8 * sent * 10**12 / plays, rel=1e-12)
    assert var[0] == pytest.approx(binned(rows, tau, plays).var(), rel=1e-9)
    wire = 1000 + int(plan.sources.header_bytes[0])
    old = 8 * wire * len(times) * 10**12 / int(plan.sources.trace_t[-1])  # the whole file
    assert old / mean[0] == pytest.approx(0.11 if duration == "1s" else 1.0, abs=0.01)


@pytest.mark.kernel_free
def test_a_trace_of_one_packet_is_one_window_s_bytes(tmp_path: Path) -> None:
    """One packet, not looped: the estimate is its bytes over one window of ``τ`` (it sent
    them in 1 ps: 8·10¹⁵ bit/s before)."""
    sc = _trace_scenario(tmp_path, np.array([0.0]), np.array([1000]), "1s")
    plan = build_plan(sc)
    mean, var = source_rate_moments(plan, 40 * MS, duration_ps=sc.simulation.duration)
    wire = 1000 + int(plan.sources.header_bytes[0])
    assert mean[0] == pytest.approx(8 * wire / 0.04) and var[0] == 0.0
