"""What camera behaviour (motion, day/night) does to the volume count and the fast estimates.

Oracles: the generator's own day/night rule (``scenario.behaviour.is_night``) minute by
minute for the night's share of a span; the packets and bytes ``traffic/generate.py`` emits
for the volume count, the estimates' mean rate and rate variance (binned at ``τ``) and the
token buckets (every window of the generated packets); the exact engine's link loads over
a run for the estimates' ``mean_bps``.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import pytest

from vidnet_sim.core.volume import packets_per_source
from vidnet_sim.network.plan import build_plan
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.scenario.behaviour import is_night
from vidnet_sim.scenario.model import Scenario
from vidnet_sim.traffic.behaviour import night_levels
from vidnet_sim.traffic.generate import generate
from vidnet_sim.traffic.sources import SourceState

S = 10**12
MS = 10**9
MINUTE = 60 * S
H = 60 * MINUTE
DAY = 24 * H


def scenario(cameras: list[dict[str, Any]], duration: str = "10s", **top: Any) -> Scenario:
    """Cameras at ``site`` sending to ``cc`` over 10 Gbit/s links (``nvr`` a second sink)."""
    data: dict[str, Any] = {
        "name": "behaviour",
        "simulation": {"duration": duration},
        "nodes": [{"id": "site"}, {"id": "core"}, {"id": "cc"}, {"id": "nvr"}],
        "links": [
            {"a": "site", "b": "core", "rate": "10Gbps"},
            {"a": "core", "b": "cc", "rate": "10Gbps"},
            {"a": "core", "b": "nvr", "rate": "10Gbps"},
        ],
        "cameras": [
            {"name": f"c{i}", "count": 1, "attach": "site", "destinations": ["cc"], **c}
            for i, c in enumerate(copy.deepcopy(cameras))
        ],
    }
    data.update(copy.deepcopy(top))
    return parse_scenario_dict(data)


def emitted(sc: Scenario) -> list[np.ndarray]:
    """Every source's packets over the run, each source on throughout."""
    plan = build_plan(sc)
    state = SourceState.initial(plan.sources)
    state.active[:] = True
    return generate(plan.sources, state, 0, sc.simulation.duration)


# --------------------------------------------------------------------------- night levels
def test_the_night_share_of_a_span_is_the_generator_s_rule_minute_by_minute() -> None:
    """Day and night starts, the time of day at 0 and spans (up to three days) on whole
    minutes: the night's share, the mean level and the highest level reached, against
    ``is_night`` at every minute of the span."""
    rng = random.Random(7)
    cams, spans = [], []
    for i in range(60):
        day, night = rng.sample(range(24 * 60), 2)
        if i % 10 == 0:  # across midnight or not, on the hour
            day, night = (7 * 60, 19 * 60) if i % 20 == 0 else (19 * 60, 23 * 60)
        tod0 = rng.randrange(24 * 60)
        start = rng.randrange(3 * 24 * 60)
        length = rng.choice([0, 1, rng.randrange(1, 120), rng.randrange(1, 3 * 24 * 60)])
        cams.append(
            {
                "day_night": {
                    "day_start": f"{day}min",
                    "night_start": f"{night}min",
                    "time_of_day_at_start": f"{tod0}min",
                    "night_scale": rng.choice([0.5, 1.4, 3.0]),
                }
            }
        )
        spans.append((start, start + length))
    plan = build_plan(scenario(cams))
    t = plan.sources
    levels = night_levels(
        t,
        np.array([a for a, _ in spans], np.int64) * MINUTE,
        np.array([b for _, b in spans], np.int64) * MINUTE,
    )
    for s, (a, b) in enumerate(spans):
        dark = [
            is_night(
                (int(t.dn_tod0_ps[s]) + m * MINUTE) % DAY,
                int(t.dn_day_ps[s]),
                int(t.dn_night_ps[s]),
            )
            for m in range(a, b)
        ]
        scale = float(t.dn_night_scale[s])
        share = sum(dark) / len(dark) if dark else 0.0
        reached = [scale if n else 1.0 for n in dark] or [1.0]
        assert levels.night_share[s] == pytest.approx(share, abs=1e-12), (s, cams[s], a, b)
        assert levels.mean[s] == pytest.approx(1 + share * (scale - 1), abs=1e-12)
        assert levels.highest[s] == max(reached)


def test_the_volume_counts_day_night_over_the_run_not_the_day() -> None:
    """A camera whose night doubles its bitrate, run for 20 s by day, by night and across
    dusk: the count follows the frames the generator sends (the day's mean counted 1.5
    times the packets of a run by day)."""
    cam = {"bitrate": "8Mbps", "fps": 25, "rate_control": "cbr", "max_payload": "1000B"}
    got = {}
    for tod0 in ("12h", "20h", "68390s"):
        dn = {"night_scale": 2.0, "time_of_day_at_start": tod0}
        sc = scenario([{**cam, "day_night": dn}], "20s")
        plan = build_plan(sc)
        got[tod0] = len(emitted(sc)[0])
        counted = float(packets_per_source(plan, sc.simulation.duration)[0])
        assert counted == pytest.approx(got[tod0], rel=0.02), (tod0, counted, got)
    assert got["20h"] == pytest.approx(2 * got["12h"], rel=0.02)
    assert got["68390s"] == pytest.approx(1.5 * got["12h"], rel=0.02)
