"""Recording storage from a run (vidnet_sim.results.storage) against the hand formula."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from pandas.testing import assert_frame_equal
from scipy import stats

from vidnet_sim import read_results
from vidnet_sim.analysis.bill import YearDesign, day_storage, nominal_storage, price_plan
from vidnet_sim.analysis.bill.model import BillModel
from vidnet_sim.analysis.bill.tables import recorders_table
from vidnet_sim.cli import main
from vidnet_sim.runner import run
from vidnet_sim.scenario import parse_scenario_dict
from vidnet_sim.sweep import compare_results

DAY = 86_400


def _scenario(
    rate_control: str = "cbr", alarm: bool = False, seed: int = 1, days: int = 14
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "simulation": {"duration": "4s", "warmup": "1s", "seed": seed},
        "nodes": [
            {"id": "sw"},
            {"id": "nvr", "kind": "recorder"},
            {"id": "cc", "kind": "control_centre"},
        ],
        "links": [
            {"a": "sw", "b": "nvr", "rate": "10Gbps", "length": "1km"},
            {"a": "sw", "b": "cc", "rate": "10Gbps", "length": "1km"},
        ],
        "cameras": [
            {
                "name": "street",
                "count": 12,
                "attach": "sw",
                "bitrate": "4Mbps",
                "rate_control": rate_control,
                "destinations": ["nvr"],
                "retention_days": days,
            },
            {  # recorded at nvr and watched at cc: half its copies are recorded
                "name": "square",
                "count": 4,
                "attach": "sw",
                "bitrate": "2Mbps",
                "rate_control": rate_control,
                "destinations": ["nvr", "cc"],
            },
        ],
    }
    if alarm:
        data["events"] = [
            {
                "kind": "alarm",
                "targets": ["street"],
                "at": "2s",
                "duration": "1s",
                "bitrate_scale": 3.0,
            }
        ]
    return data


def _toml(data: dict[str, Any]) -> str:
    """The scenario as TOML (tables of scalars and arrays of such tables only)."""

    def value(v: Any) -> str:
        return json.dumps(v)

    lines = []
    for key, v in data.items():
        if isinstance(v, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {value(x)}" for k, x in v.items()]
        else:
            for item in v:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {value(x)}" for k, x in item.items()]
    return "\n".join(lines) + "\n"


def _formula_tb(cameras: int, bps: float, days: int) -> float:
    return cameras * bps * DAY * days / 8 / 1e12


def test_cbr_storage_is_the_hand_formula() -> None:
    res = run(parse_scenario_dict(_scenario("cbr")), write=False)
    s = res.storage
    assert s is not None
    street = s[s["group"] == "street"].iloc[0]
    assert street["recorder"] == "nvr" and street["retention_days"] == 14
    assert street["tb_retention"] == pytest.approx(_formula_tb(12, 4e6, 14), rel=0.005)
    assert street["tb_per_day"] == pytest.approx(_formula_tb(12, 4e6, 1), rel=0.005)
    # default retention 30 days; only the copies sent to the recorder are kept
    square = s[s["group"] == "square"].iloc[0]
    assert square["retention_days"] == 30
    assert square["tb_retention"] == pytest.approx(_formula_tb(4, 2e6, 30), rel=0.005)
    assert list(s["recorder"]) == ["nvr", "nvr"]
    # the manifest holds the per-recorder totals
    (rec,) = res.manifest["storage"]["recorders"]
    assert rec["recorder"] == "nvr"
    assert rec["tb_retention"] == pytest.approx(s["tb_retention"].sum())
    # the nominal storage of the bill (no simulation) is the same formula exactly
    nominal = nominal_storage(res.scenario)
    assert nominal["tb_retention"].tolist() == pytest.approx(
        [_formula_tb(12, 4e6, 14), _formula_tb(4, 2e6, 30)], rel=1e-12
    )


@pytest.mark.parametrize("alarm", [False, True])
def test_vbr_and_alarm_storage_within_the_confidence_interval(alarm: bool) -> None:
    """Per-day volume over replications: the formula from the mean bitrates (an alarm of
    1 s at ×3 over the 3 s measured adds two thirds) lies in the 99 % interval."""
    per_day = []
    for seed in range(1, 7):
        res = run(parse_scenario_dict(_scenario("vbr", alarm, seed)), write=False)
        assert res.storage is not None
        street = res.storage[res.storage["group"] == "street"]
        per_day.append(float(street["bytes_per_day"].sum()))
    mean_bps = 4e6 * (1 + 2.0 / 3.0 if alarm else 1.0)
    expected = 12 * mean_bps / 8 * DAY
    x = np.asarray(per_day)
    half = stats.t.ppf(0.995, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    assert abs(x.mean() - expected) <= half, (x.mean(), expected, half)
    assert half / expected < 0.05  # the interval is informative


def test_run_prints_and_reports_storage(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(_toml(_scenario("cbr")), encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(f), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Recording storage" in r.output and "TB/day" in r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["storage"]["recorders"][0]["recorder"] == "nvr"
    r = CliRunner().invoke(main, ["run", str(f), "--out", str(out), "--json"])
    doc = json.loads(r.stdout)
    assert doc["storage"]["recorders"][0]["tb_per_day"] == pytest.approx(
        _formula_tb(12, 4e6, 1) + _formula_tb(4, 2e6, 1), rel=0.005
    )


def test_bill_prices_measured_storage() -> None:
    res = run(parse_scenario_dict(_scenario("cbr")), write=False)
    assert res.storage is not None
    model = BillModel()
    bill = price_plan([YearDesign(1, res.scenario, storage=res.storage)], model)
    rec = bill.recorders.iloc[0]
    assert rec["tb_retention"] == pytest.approx(float(res.storage["tb_retention"].sum()))
    disks = math.ceil(
        rec["tb_retention"] / model.recording.usable_fraction / model.recording.disk_tb
    )
    assert rec["disks"] == disks


def test_summary_parquet_holds_the_storage(tmp_path: Path) -> None:
    """`run` writes each recorder's TB per day and for the retention period in
    summary.parquet: equal to the manifest's figures and to the hand formula (CBR)."""
    res = run(parse_scenario_dict(_scenario("cbr")), out_dir=tmp_path / "out")
    back = read_results(tmp_path / "out")
    s = back.summary
    assert_frame_equal(s, res.tables.summary)
    manifest = back.manifest["storage"]
    rec = s[s["level"] == "recorder"].set_index("name")
    assert list(rec.index) == [r["recorder"] for r in manifest["recorders"]] == ["nvr"]
    for r in manifest["recorders"]:
        assert rec.at[r["recorder"], "storage_tb_per_day"] == r["tb_per_day"]
        assert rec.at[r["recorder"], "storage_tb_retention"] == r["tb_retention"]
    want = _formula_tb(12, 4e6, 14) + _formula_tb(4, 2e6, 30)
    assert rec.at["nvr", "storage_tb_retention"] == pytest.approx(want, rel=0.005)
    assert rec.at["nvr", "storage_tb_per_day"] == pytest.approx(
        _formula_tb(12, 4e6, 1) + _formula_tb(4, 2e6, 1), rel=0.005
    )
    assert rec.at["nvr", "kind"] == "recorder" and rec.at["nvr", "packets_sent"] == 0
    # each recorded group's row: its recorded copies, as in the manifest's groups
    groups = s[s["level"] == "group"].set_index("name")
    for g in manifest["groups"]:
        assert groups.at[g["group"], "storage_tb_retention"] == pytest.approx(
            g["tb_retention"], rel=1e-12
        )
    assert groups.at["street", "storage_tb_retention"] == pytest.approx(
        _formula_tb(12, 4e6, 14), rel=0.005
    )
    # a class row sums its recorded groups; the recorder rows sum every group once
    cls = s[s["level"] == "class"].set_index("name")
    assert cls["storage_tb_retention"].sum() == pytest.approx(want, rel=0.005)
    assert rec["storage_tb_retention"].sum() == pytest.approx(
        groups["storage_tb_retention"].sum(), rel=1e-12
    )


def test_a_run_without_recorders_has_no_storage_in_its_summary() -> None:
    data = _scenario("cbr")
    data["nodes"][1]["kind"] = "switch"
    s = run(parse_scenario_dict(data), write=False).tables.summary
    assert set(s["level"]) == {"group", "class"}
    assert s["storage_tb_per_day"].isna().all() and s["storage_tb_retention"].isna().all()


def test_compare_weighs_the_storage_of_two_retention_periods(tmp_path: Path) -> None:
    """`compare --metric storage_tb_retention`: the recorder's row differs by the street
    cameras' 14 more days; by default no recorder row is compared."""
    a, b = tmp_path / "a", tmp_path / "b"
    run(parse_scenario_dict(_scenario("cbr", days=14)), out_dir=a)
    run(parse_scenario_dict(_scenario("cbr", days=28)), out_dir=b)
    ra, rb = read_results(a), read_results(b)
    diff = compare_results(ra, rb, metrics=["storage_tb_retention"])
    rec = diff[diff["level"] == "recorder"].set_index("name")
    assert rec.at["nvr", "diff"] == pytest.approx(_formula_tb(12, 4e6, 14), rel=0.005)
    assert "recorder" not in set(compare_results(ra, rb)["level"])


def _behaving(seed: int) -> dict[str, Any]:
    """40 CBR cameras at 1 Mbit/s in motion half the time (sojourns of 0.5 s, twice the
    bitrate in motion) whose night (×1.5 from 19 h) starts halfway through the 8 s
    measured: what they record is 1.5 × 1.25 times their mean bitrate."""
    return {
        "simulation": {"duration": "9s", "warmup": "1s", "seed": seed},
        "nodes": [{"id": "sw"}, {"id": "nvr", "kind": "recorder"}],
        "links": [{"a": "sw", "b": "nvr", "rate": "10Gbps", "length": "1km"}],
        "cameras": [
            {
                "name": "street",
                "count": 40,
                "attach": "sw",
                "bitrate": "1Mbps",
                "rate_control": "cbr",
                "destinations": ["nvr"],
                "motion": {"idle_mean": "0.5s", "motion_mean": "0.5s", "bitrate_scale": 2.0},
                "day_night": {"night_scale": 1.5, "time_of_day_at_start": "68395s"},
            }
        ],
    }


def test_nominal_storage_counts_motion_and_day_night_as_the_run_records() -> None:
    """The storage the whole bill's search prices (no simulation) is each stream's mean
    bitrate times its behaviour's mean multipliers (traffic/behaviour.py): over the 8 s a
    run measures, within the 99 % interval of what 4 runs recorded (the bare mean bitrate,
    as once priced, is far outside); over a whole day, motion's 1.5 times the day/night
    mean (12 h of night at ×1.5: 1.25)."""
    per_day = []
    for seed in range(1, 5):
        res = run(parse_scenario_dict(_behaving(seed)), write=False)
        assert res.storage is not None
        per_day.append(float(res.storage["bytes_per_day"].sum()))
    sc = res.scenario
    span = (int(sc.simulation.warmup), int(sc.simulation.duration))
    expected = float(nominal_storage(sc, span)["bytes_per_day"].sum())
    bare = 40 * 1e6 / 8 * DAY
    assert expected == pytest.approx(bare * 1.5 * 1.25, rel=1e-12)
    x = np.asarray(per_day)
    half = stats.t.ppf(0.995, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    assert abs(x.mean() - expected) <= half, (x.mean(), expected, half)
    assert half / expected < 0.05 and abs(x.mean() - bare) > 10 * half
    # a whole day: 12 h of night whatever the time of day at 0; what price_plan uses
    day = nominal_storage(sc)
    assert float(day["bytes_per_day"].sum()) == pytest.approx(bare * 1.5 * 1.25, rel=1e-12)
    sc_day = parse_scenario_dict(
        {**_behaving(1), "cameras": [{**_behaving(1)["cameras"][0], "day_night": {}}]}
    )
    assert float(nominal_storage(sc_day)["bytes_per_day"].sum()) == pytest.approx(
        bare * 1.5 * 1.2, rel=1e-12
    )
    bill = price_plan([YearDesign(1, sc)], BillModel())
    assert bill.recorders.iloc[0]["tb_per_day"] == pytest.approx(bare * 1.875 / 1e12)


def _alarmed(seed: int, duration: str = "4s") -> dict[str, Any]:
    """_scenario's CBR cameras, night (×2) from 2.5 s of simulation time on, two alarms on
    street: ×3 over 2–3 s (by name), then ×2 over 3–3.5 s (by its node, sw, which names
    square too; at 3 s the second's start follows the first's end)."""
    data = _scenario("cbr", alarm=True, seed=seed)
    data["simulation"]["duration"] = duration
    for cam in data["cameras"]:
        cam["day_night"] = {"night_scale": 2.0, "time_of_day_at_start": "68397.5s"}
    data["events"].append(
        {"kind": "alarm", "targets": ["sw"], "at": "3s", "duration": "0.5s", "bitrate_scale": 2.0}
    )
    return data


def test_alarms_are_recorded_as_the_run_records_them() -> None:
    """The nominal storage counts the alarms (it once left them out): over the 3 s a run
    measures, street records its bitrate times (1 + 3 × 0.5 + 3 × 2 × 0.5 + 2 × 2 × 0.5 +
    2 × 0.5) / 3 (alarm scale × night level, half-second by half-second), within the 99 %
    interval of what 6 runs recorded. A whole day counts each alarm once (the bill's
    day_storage of the runs' measure says the same, whatever the runs' length), not at its
    share of a short run."""
    street_bps = 12 * 4e6 / 8 * DAY
    span_level = (1 + 3 * 0.5 + 3 * 2 * 0.5 + 2 * 2 * 0.5 + 2 * 0.5) / 3
    day_level = 1.5 + ((3 - 1) * 0.5 + (3 - 1) * 2 * 0.5 + (2 - 1) * 2 * 0.5) / DAY
    sc = parse_scenario_dict(_alarmed(1))
    nominal = nominal_storage(sc, (int(sc.simulation.warmup), int(sc.simulation.duration)))
    street = nominal[nominal["group"] == "street"]
    assert float(street["bytes_per_day"].sum()) == pytest.approx(street_bps * span_level)
    day = nominal_storage(sc)
    assert float(day[day["group"] == "street"]["bytes_per_day"].sum()) == pytest.approx(
        street_bps * day_level, rel=1e-12
    )
    for duration, level in (("4s", span_level), ("7s", None)):
        per_day, whole_day = [], []
        for seed in range(1, 7):
            res = run(parse_scenario_dict(_alarmed(seed, duration)), write=False)
            assert res.storage is not None
            s = res.storage[res.storage["group"] == "street"]
            per_day.append(float(s["bytes_per_day"].sum()))
            d = day_storage(res.scenario, res.storage, (10**12, int(duration[0]) * 10**12))
            whole_day.append(float(d[d["group"] == "street"]["bytes_per_day"].sum()))
        for x, expected in ((per_day, level), (whole_day, day_level)):
            if expected is None:
                continue
            a = np.asarray(x)
            half = stats.t.ppf(0.995, len(a) - 1) * a.std(ddof=1) / math.sqrt(len(a))
            assert abs(a.mean() - street_bps * expected) <= half, (duration, a.mean(), half)
            assert half / (street_bps * expected) < 0.05


def test_terabytes_are_shown_with_thousands_separators() -> None:
    """Ten years of recordings of _scenario's cameras: about 2,000 TB kept, written as
    people read it (the bill's recorder table, as the console's `size` line and the
    what-if table write it)."""
    sc = parse_scenario_dict(_scenario("cbr", days=3650))
    bill = price_plan([YearDesign(1, sc)], BillModel())
    header, (row,) = recorders_table(bill)
    (rec,) = bill.recorders.to_dict("records")
    assert rec["tb_retention"] == pytest.approx(
        _formula_tb(12, 4e6, 3650) + _formula_tb(4, 2e6, 30)
    )
    cells = dict(zip(header, row, strict=True))
    assert cells["TB kept"] == f"{rec['tb_retention']:,.1f}" and "," in cells["TB kept"]
    assert "," in cells["raw TB"]
