"""Sources: exponential packet sizes (M/M/1/K against its closed form, the reference engine)
and camera access buffers counted in packets."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from vidnet_sim.errors import ScenarioError
from vidnet_sim.reference import stats_differences
from vidnet_sim.runner import run
from vidnet_sim.scenario import Scenario, load_scenario
from vidnet_sim.traffic.generate import frame_time
from vidnet_sim.traffic.sources import frame_time_ps

MM1K = """
name = "mm1k"
[simulation]
duration = "{duration}"
warmup = "20ms"
seed = {seed}
[conventions]
count_in_service = true
[[nodes]]
id = "a"
[[nodes]]
id = "b"
[[links]]
a = "a"
b = "b"
rate = "8Gbps"
buffer_packets = {k}
[[sources]]
name = "m"
kind = "poisson"
at = "a"
destinations = ["b"]
packet_rate = {lam}
size_dist = {{ kind = "exponential", mean = "1000B" }}
header_bytes = "0B"
"""


def mm1k(rho: float, k: int) -> tuple[float, float]:
    """Blocking probability and mean time in system (in units of 1/mu) of M/M/1/K."""
    p = [rho**n for n in range(k + 1)]
    total = sum(p)
    p = [x / total for x in p]
    mean_n = sum(n * x for n, x in enumerate(p))
    return p[k], mean_n / (rho * (1 - p[k]))  # Little: W = L / (lambda (1 - p_K))


# Service: ceil(X) bytes, X exponential of mean 1000 B, at 8 Gbit/s (1 ns per byte): geometric
# with mean 1 / (1 - exp(-1/1000)) = 1000.5 bytes, the continuous law within 0.05 % (the test
# sets mu from that exact mean). Over 1.5 million arrivals the relative SE of the loss is about
# 1 % at rho 0.9, K = 5 (9 % loss) and of the mean delay 0.3 %: tolerances 4 % and 2 %. A wrong
# size law shows at once: fixed 1000 B sizes (M/D/1/5) lose 6.4 %, not 9.1 %, and wait 30 %
# less.
@pytest.mark.parametrize(("rho", "k"), [(0.9, 5), (0.6, 3)])
def test_exponential_sizes_make_an_mm1k_queue(tmp_path: Path, rho: float, k: int) -> None:
    mean_bytes = 1 / (1 - math.exp(-1 / 1000))
    mean_s = mean_bytes * 1e-9  # seconds
    lam = rho / mean_s
    duration = 1_500_000 / lam
    path = tmp_path / "mm1k.toml"
    path.write_text(
        MM1K.format(duration=f"{duration:.4f}s", seed=7, k=k, lam=lam), encoding="utf-8"
    )
    st = run(path, write=False).stats
    loss = st.packets_dropped[0] / st.packets_sent[0]
    want_loss, want_w = mm1k(rho, k)
    assert abs(loss / want_loss - 1) < 0.04, (loss, want_loss)
    w = int(st.latency_sum_ps[0]) / st.packets_delivered[0] / 1e12 / mean_s
    assert abs(w / want_w - 1) < 0.02, (w, want_w)
    # the payload sizes average mean + 1/2 byte
    got_bytes = st.bytes_delivered[0] / st.packets_delivered[0]
    assert got_bytes < mean_bytes  # the queue keeps the small ones more often
    assert st.link_peak_queue_packets[0] == k


def test_exponential_sizes_are_the_reference_engines(tmp_path: Path) -> None:
    path = tmp_path / "mm1k.toml"
    path.write_text(MM1K.format(duration="60ms", seed=3, k=4, lam=8e5), encoding="utf-8")
    core = run(path, write=False).stats
    ref = run(path, write=False, engine="reference").stats
    assert stats_differences(core, ref) == []
    assert core.packets_dropped[0] > 0
    sizes = core.bytes_delivered[0] / core.packets_delivered[0]
    assert 900 < sizes < 1100


CAMERAS = """
name = "cams"
[simulation]
duration = "300ms"
warmup = "20ms"
[[nodes]]
id = "agg"
[[nodes]]
id = "nvr"
[[links]]
a = "agg"
b = "nvr"
rate = "1Gbps"
[[cameras]]
name = "c"
count = 2
attach = "agg"
bitrate = "8Mbps"
access_rate = "10Mbps"
{buffer}
destinations = ["nvr"]
"""


def test_camera_access_buffer_in_packets(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CAMERAS.format(buffer="access_buffer_packets = 20"), encoding="utf-8")
    res = run(path, write=False)
    plan = res.plan
    assert plan is not None
    access = [int(i) for i in res.tables.links.index[res.tables.links["access"]]]
    assert [int(plan.link_buffer_packets[i]) for i in access] == [20, 20]
    assert [int(plan.link_buffer_bytes[i]) for i in access] == [-1, -1]
    assert [int(res.stats.link_peak_queue_packets[i]) for i in access] == [20, 20]
    assert res.stats.link_drops[access].sum() > 0  # I-frames of ~27 packets overflow 20
    assert any("access_buffer_packets = 20" in w for w in res.warnings)
    ref = run(path, write=False, engine="reference")
    assert stats_differences(res.stats, ref.stats) == []
    both = CAMERAS.format(buffer='access_buffer = "64KiB"\naccess_buffer_packets = 20')
    path.write_text(both, encoding="utf-8")
    with pytest.raises(ScenarioError, match="access_buffer_packets: give either access_buffer"):
        load_scenario(path)


def test_camera_access_buffer_in_packets_round_trips(tmp_path: Path) -> None:
    """A dump sets the default byte size beside the packet count; reading it back is the same
    scenario (the "not both" rule only refuses a byte size the user chose)."""
    path = tmp_path / "c.toml"
    path.write_text(CAMERAS.format(buffer="access_buffer_packets = 20"), encoding="utf-8")
    scenario = load_scenario(path)
    assert Scenario.model_validate(scenario.model_dump()) == scenario
    assert Scenario.model_validate(scenario.model_dump(by_alias=True)) == scenario


def test_exponential_size_errors_name_the_field(tmp_path: Path) -> None:
    text = MM1K.format(duration="10ms", seed=1, k=4, lam=1000).replace(
        'size_dist = { kind = "exponential", mean = "1000B" }',
        'size_dist = { kind = "exponential", min = "10B" }',
    )
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert "size_dist.mean: required for kind 'exponential'" in text
    assert "size_dist.min: not for kind 'exponential'" in text


@pytest.mark.parametrize(
    ("num", "den"), [(25, 1), (2997, 100), (30000, 1001), (24123, 1000), (240240, 1001)]
)
def test_frame_times_are_exact_for_every_frame_rate(num: int, den: int) -> None:
    """The kernels' frame times are the exact ``floor(k * den * 1e12 / num)`` of
    ``frame_time_ps`` (Python integers) for every frame rate a scenario can give, also where
    ``r * den * 1e12`` does not fit an int64 (30000/1001 from frame 9 215 of each 30 000 on:
    the times wrapped around before)."""
    ks = [0, 1, 2, 9214, 9215, 9216, 9500, num - 1, num, num + 1, 2 * num - 1, 10**7 + 7]
    ks += list(range(0, 3 * num, max(1, num // 997)))
    for k in ks:
        assert frame_time(7, k, num, den) == frame_time_ps(7, k, num, den), (k, num, den)


NTSC = """
name = "ntsc"
[simulation]
duration = "400s"
warmup = "1s"
[[nodes]]
id = "agg"
[[nodes]]
id = "nvr"
[[links]]
a = "agg"
b = "nvr"
rate = "1Gbps"
[[cameras]]
name = "c"
count = 1
attach = "agg"
fps = 29.97002997
gop = 30
bitrate = "200kbps"
destinations = ["nvr"]
"""


def test_an_ntsc_camera_sends_every_frame_of_a_long_run(tmp_path: Path) -> None:
    """A camera at 30000/1001 frames a second (29.97002997 in the file) sends one frame per
    period for the whole run: 399 s after the warm-up, 11 958 frames (or one more, by its
    phase). Its frame times wrapped around an int64 from frame 9 215 on (about 5 minutes)."""
    path = tmp_path / "ntsc.toml"
    path.write_text(NTSC, encoding="utf-8")
    res = run(path, write=False)
    assert res.plan is not None
    assert (int(res.plan.sources.fps_num[0]), int(res.plan.sources.fps_den[0])) == (30000, 1001)
    sent = int(res.stats.frames_sent.sum())
    assert 11_958 <= sent <= 11_959
    assert int(res.stats.frames_delivered.sum()) == sent
