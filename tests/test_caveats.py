"""Warnings that keep results from being misread (``vidnet_sim.results.caveats``): printed,
in the manifest, and turning "SLA: all targets met" into a verdict with a reservation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from vidnet_sim.cli import main
from vidnet_sim.reference import ReferenceEngine
from vidnet_sim.reference.packets import DELIVERED, FAILED
from vidnet_sim.results.caveats import (
    camera_egress_caveats,
    epoch_utilisation_caveats,
    measured_caveats,
    ring_caveats,
)
from vidnet_sim.results.packets import packets_table
from vidnet_sim.runner import compile_scenario, make_engine, run
from vidnet_sim.scenario import load_scenario
from vidnet_sim.timeline.driver import drive

DATA = Path(__file__).parent / "data" / "cli"

# Two cameras well within their SLA, an alarm at 2 s and a source starting at 3 s.
ALARM = """\
name = "caveats"

[simulation]
duration = "4s"
warmup = "1s"
seed = 1

[[nodes]]
id = "edge"
[[nodes]]
id = "nvr"

[[links]]
a = "edge"
b = "nvr"
rate = "1Gbps"

[[cameras]]
name = "cams"
count = 2
attach = "edge"
bitrate = "2Mbps"
destinations = ["nvr"]

[[sources]]
name = "late"
kind = "cbr"
at = "edge"
destinations = ["nvr"]
rate = "1Mbps"
size = "500B"
start = "3s"

[[events]]
kind = "alarm"
targets = ["cams"]
at = "2s"
duration = "1s"

[sla.video]
latency_p99 = "50ms"
loss = 0.01
"""


def write(folder: Path, text: str) -> Path:
    path = folder / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_shortened_run_names_what_it_leaves_out(tmp_path: Path) -> None:
    path = write(tmp_path, ALARM)
    assert compile_scenario(path).caveats() == []
    texts = [c.text for c in compile_scenario(path, duration_ps=2 * 10**12).caveats()]
    assert len(texts) == 2, texts  # the warm-up (1 s) is half the run: unchanged
    assert texts[0].startswith("events[0] (alarm on cams at 2s) is at or after the end")
    assert "source 'late' starts at 3s" in texts[1]
    texts = [c.text for c in compile_scenario(path, duration_ps=10**12).caveats()]
    assert texts[0].startswith("the warm-up was shortened from 1s to 500ms"), texts


def test_cli_warns_and_the_sla_line_is_not_all_met(tmp_path: Path) -> None:
    path = write(tmp_path, ALARM)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", str(path), "--duration", "2s", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "warning: events[0] (alarm on cams at 2s)" in res.output
    assert "SLA: all targets met" not in res.output
    assert "SLA: targets met, but 2 warning(s) may change that conclusion" in res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["sla_caveats"]) == 2
    assert manifest["sla_caveats"][0] in manifest["warnings"]
    full = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "full")])
    assert full.exit_code == 0, full.output
    assert "SLA: all targets met" in full.output and "warning" not in full.output
    doc = json.loads(
        CliRunner()
        .invoke(main, ["run", str(path), "--duration", "2s", "--json", "--out", str(out)])
        .stdout
    )
    assert len(doc["sla"]["caveats"]) == 2


def test_drops_in_a_camera_egress_buffer_name_the_buffer_and_the_frame(tmp_path: Path) -> None:
    # 8 Mbit/s, 25 fps, GOP 25, I = 10 P: a mean I-frame of 287 KiB, 862 KiB in the alarm
    text = ALARM.replace('bitrate = "2Mbps"', 'bitrate = "8Mbps"\naccess_buffer = "256KiB"')
    result = run(write(tmp_path, text), write=False)
    assert result.plan is not None
    access = result.tables.links[result.tables.links["access"]]
    assert access["drops"].sum() > 0
    [caveat] = camera_egress_caveats(result.scenario, result.plan, result.tables.links)
    assert caveat.affects_sla and caveat.text in result.warnings
    assert caveat.text in result.sla_caveats
    src = result.plan.sources
    i_frame = float(src.p_mean_bytes[0] * src.ip_ratio[0])
    assert round(i_frame) == 294_118
    assert "access_buffer = 256 KiB" in caveat.text
    assert "a mean I-frame is 287 KiB, 862 KiB at 3x bitrate" in caveat.text
    assert f"peak queue {access['peak_queue_bytes'].max() / 1024:.0f} KiB" in caveat.text
    assert f"{int(access['drops'].sum())} packets" in caveat.text
    quiet = run(write(tmp_path, ALARM), write=False)
    assert quiet.plan is not None
    assert camera_egress_caveats(quiet.scenario, quiet.plan, quiet.tables.links) == []


def test_epoch_utilisation_above_one_is_explained() -> None:
    rows = pd.DataFrame(
        {
            "epoch": [0, 1, 1],
            "t_start_ps": [0, 10**12, 10**12],
            "t_end_ps": [10**12, 2 * 10**12, 2 * 10**12],
            "link": ["a-b", "a-b", "b-c"],
            "utilisation": [0.5, 1.37, 0.99],
        }
    )
    [caveat] = epoch_utilisation_caveats(rows)
    assert caveat.text.startswith("utilisation above 100 %: a-b 137 % in epoch 1 (1s–2s).")
    assert "packets that arrived in it" in caveat.text and not caveat.affects_sla
    assert epoch_utilisation_caveats(rows[rows["utilisation"] < 1]) == []


def test_a_ring_without_a_blocked_link_is_named(tmp_path: Path) -> None:
    blocked = load_scenario(DATA / "ring5_blocked.toml")
    assert ring_caveats(blocked) == []
    open_ring = (DATA / "ring5_blocked.toml").read_text().replace("blocked = true\n", "", 1)
    [caveat] = ring_caveats(load_scenario(write(tmp_path, open_ring)))
    assert caveat.text.startswith("the ring r0 – r1 – r2 – r3 – r4 – r0 has no blocked link")


def test_packets_through_a_failure_and_its_reroute_are_the_reference_packets() -> None:
    """A link fails at 60 ms and traffic is rerouted over a blocked link 10 ms later (a new
    layout for packets emitted from then on): each packet row holds the reference engine's outcome
    (a loss to the failure is 'lost' at the failed link)."""
    compiled = compile_scenario(DATA / "failure_reroute.toml")
    plan, sc = compiled.plan, compiled.scenario
    assert plan.route_switches
    sim = sc.simulation
    engine = make_engine(plan, sc, "reference", log=True)
    drive(engine, compiled.actions, sim.duration)
    assert isinstance(engine, ReferenceEngine) and engine.packet_log is not None
    table = packets_table(
        plan, engine.packet_log, warmup_ps=sim.warmup, end_ps=sim.duration, drain=sim.drain
    )
    want = {
        (p.tree, p.seq, f): ("delivered" if how == DELIVERED else "lost", t, how)
        for p in engine.packets
        if p.emit >= sim.warmup
        for f, (t, how) in p.outcome.items()
    }
    got = {(r.tree, r.seq, r.flow): (r.outcome, r.end_ps) for r in table.itertuples()}
    assert got.keys() == want.keys()
    for key, (outcome, t, how) in want.items():
        assert got[key][0] == outcome, key
        if how != FAILED:  # a failure loss is dated at the link arrival in the table
            assert got[key][1] == t, key
    assert (table["lost_at"] == "a->b").any() and (table["outcome"] == "delivered").any()
    rerouted = table[(table["emission_ps"] >= 70 * 10**9) & (table["emission_ps"] < 10**11)]
    assert (rerouted["outcome"] == "delivered").any()


#: a-b, loaded to 95 % by Poisson traffic with a queue and 20 km of fibre, fails at 60 ms;
#: the traffic takes the blocked a-c-d 10 ms later, and comes back after the repair.
CUT_WITH_A_QUEUE = """\
name = "cut-with-a-queue"
[simulation]
duration = "150ms"
warmup = "10ms"
[[nodes]]
id = "a"
[[nodes]]
id = "b"
[[nodes]]
id = "c"
[[nodes]]
id = "d"
[[links]]
a = "a"
b = "b"
rate = "10Mbps"
length = "20km"
buffer = "24KiB"
[[links]]
a = "b"
b = "d"
rate = "100Mbps"
[[links]]
a = "a"
b = "c"
rate = "100Mbps"
blocked = true
[[links]]
a = "c"
b = "d"
rate = "100Mbps"
[[sources]]
name = "load"
kind = "poisson"
at = "a"
destinations = ["d"]
rate = "9.5Mbps"
size_dist = { kind = "uniform", min = "64B", max = "1400B" }
[[events]]
kind = "failure"
link = "a-b"
at = "60ms"
duration = "40ms"
convergence = "10ms"
"""


def test_epochs_count_each_packet_where_it_was_delivered_or_lost(tmp_path: Path) -> None:
    """a-b fails at 60 ms with packets queued on it: they were emitted before the failure,
    and the epochs counted their loss there, so the epoch before the cut read a failure loss
    and the cut's epoch too little. Now a packet counts as sent in the epoch of its emission
    and as delivered or lost in the epoch of its delivery or loss: the counts of both engines
    are the reference engine's own per-packet times tallied here, the failure loss lies in
    the failure's epoch only, and per epoch every packet emitted so far is delivered,
    dropped or still in flight (the table's stock)."""
    from bisect import bisect_right

    import numpy as np

    from vidnet_sim.reference import stats_differences
    from vidnet_sim.results.epochs import epochs_table
    from vidnet_sim.timeline.driver import epoch_bounds

    compiled = compile_scenario(write(tmp_path, CUT_WITH_A_QUEUE))
    plan, sc = compiled.plan, compiled.scenario
    sim = sc.simulation
    starts, labels = epoch_bounds(compiled.actions, sim.duration)
    failure = labels.index("failure of a-b")
    ref = make_engine(plan, sc, "reference", epochs=starts)
    st = drive(ref, compiled.actions, sim.duration)
    core = drive(make_engine(plan, sc, "core", epochs=starts), compiled.actions, sim.duration)
    assert stats_differences(core, st) == []
    assert isinstance(ref, ReferenceEngine)
    # the oracle: each measured packet copy's own emission and delivery or loss time
    n_ep, n_g = len(starts), len(plan.group_names)
    want = {k: np.zeros((n_ep, n_g), np.int64) for k in ("sent", "delivered", "dropped", "failed")}
    for p in ref.packets:
        if p.emit < sim.warmup:
            continue
        for f, (t, how) in p.outcome.items():
            g = int(plan.sources.group[int(plan.flow_source[f])])
            want["sent"][bisect_right(starts, p.emit) - 1, g] += 1
            if not sim.drain and t > sim.duration:
                continue
            e = bisect_right(starts, t) - 1
            want["delivered" if how == DELIVERED else "dropped"][e, g] += 1
            want["failed"][e, g] += how == FAILED
    for key, got in (
        ("sent", st.epoch_sent),
        ("delivered", st.epoch_delivered),
        ("dropped", st.epoch_dropped),
        ("failed", st.epoch_failed),
    ):
        np.testing.assert_array_equal(got, want[key], err_msg=key)
    assert st.epoch_failed[failure].sum() > 0
    assert st.epoch_failed[:failure].sum() == 0  # nothing failed before the cut
    assert st.epoch_link_fail_drops[:failure].sum() == 0
    assert st.epoch_link_fail_drops[failure].sum() == st.link_fail_drops.sum()
    # the table: per epoch, the stock in flight is the one before plus sent less settled
    table = epochs_table(core, sim.warmup).query("level == 'group'")
    cols = ["packets_sent", "packets_delivered", "packets_dropped", "packets_in_flight"]
    for name, rows in table.groupby("name"):
        before = 0
        for sent, delivered, dropped, in_flight in rows.sort_values("epoch")[cols].to_numpy():
            flight = before + int(sent) - int(delivered) - int(dropped)
            assert int(in_flight) == flight >= 0
            before = flight
        assert before == int(core.packets_in_flight[plan.group_names.index(str(name))])


def test_a_run_that_measures_nothing_does_not_read_all_targets_met(tmp_path: Path) -> None:
    # The cameras stop at 0.5 s, inside the 1 s warm-up (the source starts at 3 s, the run
    # ends at 2 s): nothing is measured, and every SLA check would pass on nothing.
    text = ALARM.replace('destinations = ["nvr"]\n', 'destinations = ["nvr"]\nstop = "0.5s"\n', 1)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["run", str(write(tmp_path, text)), "--duration", "2s", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    stops = (
        "camera group 'cams' stops at 500ms, before the warm-up ends (1s): "
        "none of its packets is measured"
    )
    assert f"warning: {stops}" in res.output.splitlines()
    assert "warning: no packet was measured: nothing sent between the warm-up (1s)" in res.output
    assert "SLA: all targets met" not in res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert stops in manifest["sla_caveats"]
    assert any(w.startswith("no packet was measured") for w in manifest["sla_caveats"])


def test_a_run_shorter_than_the_first_frames_says_nothing_was_measured(tmp_path: Path) -> None:
    result = run(
        write(tmp_path, ALARM.replace('warmup = "1s"', 'warmup = "0s"')), duration_ps=1, write=False
    )
    assert int(result.tables.links["packets"].sum()) == 0
    assert [w for w in result.sla_caveats if w.startswith("no packet was measured")], (
        result.warnings
    )
    assert measured_caveats(result.scenario, result.tables.links) != []
    # a run that measures packets has no such warning
    full = run(write(tmp_path, ALARM), write=False)
    assert measured_caveats(full.scenario, full.tables.links) == []
