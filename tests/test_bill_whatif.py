"""What-ifs (vidnet_sim.analysis.whatif): variants applied to a scenario, sized and priced."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_bill_sizing import COSTS, GROW
from vidnet_sim.analysis.bill import load_bill_model
from vidnet_sim.analysis.vary import AnalysisInputError
from vidnet_sim.analysis.whatif import (
    Variant,
    apply_variant,
    load_variants,
    run_whatifs,
    toml_text,
)
from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_OK, EXIT_USAGE, ScenarioError
from vidnet_sim.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["small-town-growth.toml", "mid-city-services.toml"])
def test_toml_text_round_trips(name: str) -> None:
    data = tomllib.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    assert tomllib.loads(toml_text(data)) == data


def test_variants_reach_the_items_the_growth_plan_adds() -> None:
    data = tomllib.loads(GROW)
    out = apply_variant(
        data,
        Variant(
            "v",
            {
                "cameras[*].retention_days": 7,
                "links.uplink.fibre": "existing",
                'cameras["south"].codec': "h265",
            },
        ),
    )
    assert [c["retention_days"] for c in out["cameras"]] == [7]
    assert [c["retention_days"] for c in out["growth"][0]["cameras"]] == [7]
    assert out["links"][1]["fibre"] == "existing"
    assert out["growth"][0]["cameras"][0]["codec"] == "h265"
    assert "retention_days" not in data["growth"][0]["cameras"][0]  # a copy
    with pytest.raises(AnalysisInputError, match="no item named 'upink'; did you mean 'uplink'"):
        apply_variant(data, Variant("v", {"links.upink.fibre": "leased"}))


def test_bad_variants_files_list_every_problem(tmp_path: Path) -> None:
    def problems(text: str) -> str:
        with pytest.raises(AnalysisInputError) as exc:
            load_variants(write(tmp_path / "v.toml", text))
        return str(exc.value)

    text = problems(
        '[[variants]]\nname = "baseline"\nset = { "a" = 1 }\n'
        '[[variants]]\nname = "x"\nset = {}\ncolour = 1\n'
    )
    assert "baseline" in text and "variants[1].set" in text and "colour" in text
    # two names, one folder: the second variant's sizing would overwrite the first's
    text = problems(
        '[[variants]]\nname = "H.265 everywhere"\nset = { "a" = 1 }\n'
        '[[variants]]\nname = "H.265-everywhere"\nset = { "a" = 2 }\n'
    )
    assert (
        'variants[1].name: "H.265-everywhere" would share the folder "H.265-everywhere" with '
        '"H.265 everywhere"; rename one of them'
    ) in text


@pytest.mark.long
def test_whatifs_side_by_side(tmp_path: Path) -> None:
    scenario = write(tmp_path / "grow.toml", GROW)
    bill = load_bill_model(write(tmp_path / "c.toml", COSTS))
    variants = [
        Variant("a week of recordings", {"cameras[*].retention_days": 7}),
        Variant("uplink owned", {"links.uplink.fibre": "existing"}),
    ]
    res = run_whatifs(scenario, variants, bill, tmp_path / "wi", replications=2)
    t = res.table().set_index("variant")
    assert list(t.index) == ["baseline", "a week of recordings", "uplink owned"]
    assert (t["sla"] == "met").all()
    base, week, owned = (res.results[n].bill for n in t.index)
    assert base is not None and week is not None and owned is not None
    # a shorter retention only buys fewer disks (and runs fewer), the network is the same
    assert week.years["recording"].sum() < base.years["recording"].sum()
    assert week.years["fibre"].tolist() == base.years["fibre"].tolist()
    kept = t["tb_kept"].astype(float)
    assert kept["a week of recordings"] < kept["baseline"]
    # owning the uplink: no rent, its splicing paid once
    assert owned.years["rent"].sum() == 0 and base.years["rent"].sum() == 1500.0
    assert t.at["baseline", "net_present_cost"] == pytest.approx(base.npc)
    # each variant has its scenario file and report
    for folder in ("baseline", "a-week-of-recordings", "uplink-owned"):
        assert (tmp_path / "wi" / folder / "report.md").is_file()
        load_scenario(tmp_path / "wi" / folder / "scenario.toml")


def test_a_variant_that_breaks_the_scenario_stops_before_any_run(tmp_path: Path) -> None:
    scenario = write(tmp_path / "grow.toml", GROW)
    bill = load_bill_model(write(tmp_path / "c.toml", COSTS))
    with pytest.raises(ScenarioError) as exc:
        run_whatifs(scenario, [Variant("bad", {"cameras[*].kind": "dome"})], bill, tmp_path / "wi")
    assert 'variant "bad"' in str(exc.value) and "'dome'" in str(exc.value)
    assert not (tmp_path / "wi").exists()


def whatif_args(tmp_path: Path, out: Path) -> list[str]:
    """``whatif`` of the growing town with one variant, two weeks of recordings, to ``out``."""
    scenario = write(tmp_path / "grow.toml", GROW)
    costs = write(tmp_path / "c.toml", COSTS)
    variants = write(
        tmp_path / "v.toml",
        '[[variants]]\nname = "two weeks"\nset = { "cameras[*].retention_days" = 14 }\n',
    )
    return ["whatif", str(scenario), str(variants), "--costs", str(costs), "--out", str(out)]


@pytest.mark.long
def test_whatif_cli(tmp_path: Path) -> None:
    out = tmp_path / "wi"
    args = whatif_args(tmp_path, out)
    scenario, variants = Path(args[1]), Path(args[2])
    r = CliRunner().invoke(main, [*args, "--replications", "2", "--workers", "1"])
    assert r.exit_code == EXIT_OK, r.output
    assert "two weeks" in r.output and "net present cost" in r.output
    doc = json.loads((out / "whatif.json").read_text())
    assert [v["variant"] for v in doc["variants"]] == ["baseline", "two weeks"]
    assert doc["warnings"] == [] and "warning" not in r.output
    # the baseline's report sets the variants beside it, as report --compare would
    page = (out / "baseline" / "report.html").read_text(encoding="utf-8")
    assert "What-ifs side by side" in page and "<td>two weeks</td>" in page
    assert f"side by side: {out / 'baseline' / 'report.html'}" in r.output
    # the executor options of size: --workers 0 is a usage error
    r = CliRunner().invoke(main, [*args, "--workers", "0"])
    assert r.exit_code == EXIT_USAGE and "--workers" in r.output
    bad = write(tmp_path / "c2.toml", "discount_rate = -1\n")
    r = CliRunner().invoke(main, ["whatif", str(scenario), str(variants), "--costs", str(bad)])
    assert r.exit_code == EXIT_INVALID_SCENARIO
    assert "discount_rate: got -1" in r.output


def test_a_video_model_key_for_every_camera_leaves_replaying_groups_alone() -> None:
    data = tomllib.loads((EXAMPLES / "trace-cameras.toml").read_text(encoding="utf-8"))
    out = apply_variant(data, Variant("v", {"cameras[*].codec": "h265"}))
    assert [c.get("codec") for c in out["cameras"]] == [None, "h265"]  # north replays a trace
    out = apply_variant(data, Variant("v", {"cameras[*].retention_days": 7}))
    assert [c["retention_days"] for c in out["cameras"]] == [7, 7]  # not a video-model key
    replays_only = {**data, "cameras": data["cameras"][:1]}
    with pytest.raises(AnalysisInputError, match="every camera group replays a recorded trace"):
        apply_variant(replays_only, Variant("v", {"cameras[*].bitrate": "4Mbps"}))


def test_a_codec_for_groups_that_write_their_bitrate_is_a_warning() -> None:
    """A codec (or resolution) selects the default bitrate only: on the small town's groups
    that write their bitrate, "H.265 everywhere" changes nothing, and says so whichever way
    the path names the groups (every group, or one by name, also one a growth entry adds);
    a variant that sets the bitrate too, or a key that is not a default's, says nothing."""
    data = tomllib.loads((EXAMPLES / "small-town-growth.toml").read_text(encoding="utf-8"))
    written = [c["name"] for c in data["cameras"] if "bitrate" in c]
    assert written == ["north-streets", "centre-ptz"]

    def notes(changes: dict[str, object]) -> list[str]:
        out: list[str] = []
        apply_variant(data, Variant("v", changes), out)
        return out

    (every,) = notes({"cameras[*].codec": "h265"})
    assert every.startswith('variant "v": cameras[*].codec = "h265" selects the default bitrate')
    assert "camera group(s) north-streets, centre-ptz write their bitrate and keep it" in every
    (one,) = notes({"cameras.north-streets.resolution": "720p"})
    assert "camera group(s) north-streets write their bitrate" in one
    assert notes({"cameras.south-streets.codec": "h265"}) == []  # its bitrate is the default
    grown = {**data, "growth": [*data["growth"]]}
    grown["growth"][0] = {**grown["growth"][0], "cameras": [
        {**c, "bitrate": "3Mbps"} for c in grown["growth"][0]["cameras"]
    ]}  # fmt: skip
    name = grown["growth"][0]["cameras"][0]["name"]
    out: list[str] = []
    apply_variant(grown, Variant("v", {f"cameras.{name}.codec": "h265"}), out)
    assert len(out) == 1 and f"camera group(s) {name} write" in out[0]
    assert notes({"cameras[*].codec": "h265", "cameras[*].bitrate": "2Mbps"}) == []
    assert notes({"cameras[*].retention_days": 14}) == []


@pytest.mark.slow
def test_whatif_on_two_workers_gives_the_answer_of_one(tmp_path: Path) -> None:
    docs = []
    for workers in ("1", "2"):
        out = tmp_path / f"wi{workers}"
        args = whatif_args(tmp_path, out)
        r = CliRunner().invoke(main, [*args, "--replications", "2", "--workers", workers])
        assert r.exit_code == EXIT_OK, r.output
        docs.append(json.loads((out / "whatif.json").read_text()))
    assert docs[0] == docs[1]


def test_a_variants_warning_is_in_its_row_of_the_report() -> None:
    """ "H.265 everywhere" changes nothing on the groups that write their bitrate: the
    console said so, but the report's what-ifs table set its cost beside the others without
    a word. Its row now carries the warning; the other rows do not."""
    from vidnet_sim.analysis.report_data import ReportData
    from vidnet_sim.analysis.report_data import Variant as Row
    from vidnet_sim.analysis.whatif import _noted

    page = ReportData(
        kind="size",
        title="t",
        headline="h",
        recommendation=[],
        risk=[],
        changes=[],
        variants=[
            Row("baseline", 1.0, True, note="a"),
            Row("H.265 everywhere", 1.0, True, note="b"),
        ],
    )
    warning = 'variant "H.265 everywhere": cameras[*].codec = "h265" selects the default bitrate'
    rows = _noted(page, [warning]).variants
    assert [v.note for v in rows] == ["a", f"b Warning: {warning}."]
