"""The HTML report: its data interface, plots, network drawing, coordinates, fibre cuts, and
the commands that write it (vidnet_sim.analysis.report_data/html/plots/drawing,
docs/analysis.md "The HTML report")."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import matplotlib.colors
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.pyplot import close as close_figure
from PIL import Image

from vidnet_sim.analysis.capacity import CapacityResult, Verdict
from vidnet_sim.analysis.cost import link_lengths
from vidnet_sim.analysis.curve import NO_NC_BOUND, CurveResult, curve_grid, x_axis_label
from vidnet_sim.analysis.drawing import (
    LARGE_NETWORK,
    _along,
    _districts,
    _link_label,
    _marker_boxes,
    _paths,
    _positions,
    draw_figure,
    draw_network,
    network_view,
)
from vidnet_sim.analysis.estimates import method_words
from vidnet_sim.analysis.fibre_cut import fibre_cut_text, single_cut_exposure
from vidnet_sim.analysis.html import CSP, render_html
from vidnet_sim.analysis.plots import clip_interval, draw_panels, panels_figure
from vidnet_sim.analysis.report import _cut_risk
from vidnet_sim.analysis.report_data import (
    CostChart,
    NetLink,
    NetNode,
    NetworkView,
    Panel,
    PanelGrid,
    ReportData,
    Series,
    Target,
    Variant,
    load_report_data,
    report_from_dict,
)
from vidnet_sim.analysis.report_pages import capacity_report
from vidnet_sim.analysis.vary import Vary, make_vary
from vidnet_sim.cli import main
from vidnet_sim.errors import EXIT_INVALID_SCENARIO, EXIT_OK, EXIT_USAGE, ScenarioError
from vidnet_sim.results import ResultsNotFoundError
from vidnet_sim.scenario import load_scenario, parse_scenario_dict
from vidnet_sim.scenario.coordinates import distance_m
from vidnet_sim.scenario.model import Scenario

# A tree: two access switches under a core, the recorder behind a control centre.
TREE = """
name = "tree"
[simulation]
duration = "200ms"
[[nodes]]
id = "acc1"
{acc1}
[[nodes]]
id = "acc2"
{acc2}
[[nodes]]
id = "core"
{core}
[[nodes]]
id = "cc"
kind = "control_centre"
{cc}
[[links]]
a = "acc1"
b = "core"
rate = "100Mbps"
{len1}
[[links]]
a = "acc2"
b = "core"
rate = "100Mbps"
length = "1km"
[[links]]
a = "core"
b = "cc"
rate = "1Gbps"
length = "2km"
{extra}
[[cameras]]
name = "north"
count = 3
attach = "acc1"
bitrate = "2Mbps"
destinations = ["cc"]
[[cameras]]
name = "north-ptz"
count = 1
attach = "acc1"
bitrate = "2Mbps"
destinations = ["cc"]
[[cameras]]
name = "south"
count = 5
attach = "acc2"
bitrate = "2Mbps"
destinations = ["cc"]
[sla.video]
packet_latency_p99 = "50ms"
loss = 1e-3
"""


def tree(**kw: str) -> str:
    keys = ("acc1", "acc2", "core", "cc", "len1", "extra")
    return TREE.format(**{k: kw.get(k, 'length = "1km"' if k == "len1" else "") for k in keys})


def parse(text: str) -> Scenario:
    return parse_scenario_dict(tomllib.loads(text))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.size


def sample_report() -> ReportData:
    """Report data with every part filled, including unknown values (NaN)."""
    sc = parse(tree())
    lat = Panel(
        "video: latency",
        "latency_ms",
        [
            Series("p99", [1.0, 2.0], [3.0, math.nan], [-1.0, math.nan], [5.0, math.nan]),
            Series("bound", [1.0, 2.0], [9.0, math.inf], style="bound"),
        ],
        [Target("target p99 (50 ms)", 50.0)],
        notes=["a note"],
    )
    loss = Panel(
        "video: loss", "loss", [Series("loss", [1.0, 2.0], [0.0, 2e-4], [-1e-4, 0.0], [1e-4, 1.5])]
    )
    return ReportData(
        kind="size",
        title="Network sizing: tree",
        headline="Build for **1,000 USD** over years 1–2",
        recommendation=["Year 1: build 3 links at 100M."],
        risk=["Binding target: class **video**."],
        changes=["More cameras."],
        network=network_view(sc, "the network", loads_bps={"acc1-core": 8e6}, binding="core-cc"),
        costs=CostChart(
            "CAPEX per year",
            ["year 1", "year 2"],
            {"optics": [10.0, 5.0], "ports": [360.0, 0.0]},
            "USD",
        ),
        plots=PanelGrid("plots", "year", [lat, loss], 2, True),
        variants=[
            Variant("base", 1000.0, True),
            Variant("h265", 800.0, False, note="x"),
            Variant("n/a", 0.0, None),
        ],
        variants_currency="USD",
        method=["m"],
        files=["report.md"],
    )


# --------------------------------------------------------------------------- data interface
def test_report_data_round_trips_through_json(tmp_path: Path) -> None:
    data = sample_report()
    path = data.save(tmp_path)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON: null instead
    back = load_report_data(tmp_path)
    assert back.to_json() == data.to_json()
    s = back.plots.panels[0].series[0]  # type: ignore[union-attr]
    assert math.isnan(s.mean[1]) and s.low is not None and s.low[0] == -1.0
    assert back.network is not None and back.network.links[2].binding
    assert [v.ok for v in back.variants] == [True, False, None]


def test_report_data_from_an_older_file_and_refused_ones(tmp_path: Path) -> None:
    old = {
        "kind": "size",
        "title": "t",
        "headline": "h",
        "recommendation": [],
        "risk": [],
        "changes": [],
    }
    data = report_from_dict(old)  # fields added later take their defaults
    assert data.network is None and data.variants == [] and data.version == 1
    with pytest.raises(ValueError, match="newer than this vidnet-sim"):
        report_from_dict({**old, "version": 99})
    with pytest.raises(ValueError, match="not report data"):
        report_from_dict({"title": "x"})
    with pytest.raises(ResultsNotFoundError, match="no report data"):
        load_report_data(tmp_path)
    (tmp_path / "report.json").write_text("{oops")
    with pytest.raises(ResultsNotFoundError, match="not usable report data"):
        load_report_data(tmp_path)


# --------------------------------------------------------------------------- HTML
@pytest.mark.kernel_free
def test_html_is_self_contained_and_leads_with_the_recommendation() -> None:
    page = render_html(sample_report())
    assert f'content="{CSP}"' in page
    assert "<script" not in page and "@import" not in page and "url(" not in page
    assert not re.search(r"""\b(?:src|href)\s*=\s*(?!["']data:)""", page)
    assert not re.search(r"https?://", page)
    imgs = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', page)
    assert [a for a, _ in imgs] == [
        "network drawing: the network",
        "CAPEX per year",
        "what-ifs: cost and SLA verdict",
        "plots",
    ]
    for _, b in imgs:
        w, h = png_size(base64.b64decode(b))
        assert w > h > 100  # landscape
    first = page[page.index('id="first-page"') : page.index("The network</h2>")]
    assert "Recommendation" in first and "Year 1: build 3 links at 100M." in first
    assert "<strong>1,000 USD</strong>" in first and "Risk" in first
    assert "What would change the answer" in first
    # the what-ifs table, with plain words for each verdict
    for cell in ("800 USD", "misses an SLA", "meets every SLA", "not judged"):
        assert f"<td>{cell}</td>" in page
    # a partial result says so on the first page; text from the scenario is escaped
    data = sample_report()
    data.partial = "sized year 1 of 1–2"
    first = render_html(data).split("The network</h2>")[0]
    assert '<p class="partial">PARTIAL — sized year 1 of 1–2</p>' in first
    data.description = "<b>bold</b> & co"
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in render_html(data)


# --------------------------------------------------------------------------- plots
def test_intervals_are_clipped_to_what_is_possible() -> None:
    nan = math.nan
    shown, lo, hi = clip_interval(
        np.array([0.5, 2.0, 3.0]), np.array([-1.0, nan, 2.5]), np.array([1.0, nan, 3.5]), False
    )
    assert lo.tolist() == [0.0, 2.0, 2.5] and hi.tolist() == [1.0, 2.0, 3.5]
    shown, lo, hi = clip_interval(
        np.array([0.0, 0.4, 0.9]), np.array([-0.1, 0.1, 0.5]), np.array([0.1, 0.7, 1.6]), True, 1e-5
    )
    assert shown.tolist() == [1e-5, 0.4, 0.9]  # a zero loss sits on the axis floor
    assert lo.min() >= 1e-5 and hi.max() <= 1.0 and (lo <= shown).all() and (shown <= hi).all()


def _curve(vary: Vary, nc: list[float]) -> CurveResult:
    rows = []
    for x in (1.0, 2.0):
        for cls in ("ptz", "video"):
            for metric, mean in (
                ("latency_p99_ps", 1e10 * x),
                ("loss", 0.0),
                ("latency_p50_ps", 1e9),
            ):
                rows.append(
                    {
                        "x": x,
                        "class": cls,
                        "metric": metric,
                        "mean": mean,
                        "ci_low": -mean,
                        "ci_high": 2 * mean,
                        "n": 3,
                    }
                )
    est = pd.DataFrame(
        [
            {
                "x": x,
                "method": "network-calculus-bound",
                "class": "video",
                "value": v,
                "ok": math.isfinite(v),
                "link": "",
            }
            for x, v in zip((1.0, 2.0), nc, strict=True)
        ]
        + [
            {
                "x": 1.0,
                "method": "sum-of-means-60%",
                "class": "",
                "value": 0.5,
                "ok": True,
                "link": "a",
            },
            {
                "x": 2.0,
                "method": "sum-of-means-60%",
                "class": "",
                "value": 0.9,
                "ok": False,
                "link": "a",
            },
        ]
    )
    return CurveResult(
        vary,
        [1.0, 2.0],
        pd.DataFrame(rows),
        est,
        pd.DataFrame(),
        [],
        0.95,
        {"video": {"latency_p99_ps": 5e10, "loss": 1e-4}},
    )


@pytest.mark.kernel_free
def test_curve_panels_one_class_each_with_targets_units_and_notes() -> None:
    res = _curve(Vary("bitrate", "bitrate", None, 1.0), [math.inf, math.inf])
    grid = curve_grid(res, targets=res.targets)
    assert grid.x_label == "× nominal bitrate" and grid.columns == 2
    assert [p.title for p in grid.panels] == [
        "ptz: latency",
        "video: latency",
        "ptz: loss",
        "video: loss",
    ]
    video = grid.panels[1]
    # named packet or frame, as the series are: a frame loss above a packet-loss target
    # (the small town's sizing, year 3) read as a missed SLA under "target loss"
    assert [(t.label, t.value) for t in video.targets] == [
        ("target 99th percentile packet latency (50 ms)", 50.0)
    ]
    assert [t.label for t in grid.panels[3].targets] == ["target packet loss (0.0001)"]
    assert NO_NC_BOUND in video.notes  # absent, and said why
    assert "network-calculus bound not computed for this class" in grid.panels[0].notes
    assert [(m.label, m.x) for m in video.marks] == [("60 % rule: last value accepted", 1.0)]
    assert "Gaussian equivalent capacity: not computed" in " ".join(video.notes)
    assert grid.panels[3].targets[0].value == 1e-4 and grid.panels[3].quantity == "loss"
    w, h = png_size(draw_panels(grid))
    assert w > 1.3 * h
    # the notes sit under each panel, off its plot: inside, they hid the curves' last values
    fig = panels_figure(grid)
    renderer = fig.canvas.get_renderer()
    notes = [[t for t in ax.texts if t.get_gid() == "notes"] for ax in fig.axes]
    # the loss panel draws packet and frame loss: its axis is not "packet loss"; the zero
    # losses of both classes are drawn at one floor, said on the axis (ptz, without a
    # target, drew them at 10⁻⁶ and video, under its 10⁻⁴ target, at 10⁻⁵)
    assert [ax.get_ylabel() for ax in fig.axes[2:]] == [
        "loss (fraction, log scale;\nno loss drawn at 10⁻⁵)"
    ] * 2
    assert fig.axes[2].get_ylim() == fig.axes[3].get_ylim() == pytest.approx((0.5e-5, 1.5))

    # one colour per series over the figure: its one legend named two blues and two
    # oranges (packet p50 and packet loss; packet p99 and frame loss)
    legend = fig.legends[0]
    drawn = {
        text.get_text(): matplotlib.colors.to_hex(handle.get_color())
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True)
        if text.get_text().startswith("simulated")
    }
    assert "simulated median packet latency" in drawn and "simulated packet loss" in drawn
    assert len(set(drawn.values())) == len(drawn), drawn
    assert NO_NC_BOUND[:30] in notes[1][0].get_text()
    for ax, texts in zip(fig.axes, notes, strict=True):
        for note in texts:
            assert not note.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    close_figure(fig)
    # a bound at one value only: drawn there, the gap named
    part = curve_grid(_curve(Vary("cameras", "cameras", None, 2.0), [3e10, math.inf]))
    video = part.panels[1]
    assert video.series[-1].style == "bound" and video.series[-1].mean[0] == 30.0
    assert "no finite network-calculus bound at cameras (total) = 2" in video.notes
    # what the bound assumes is said once under its panel (at the largest value)
    said = _curve(Vary("cameras", "cameras", None, 2.0), [3e10, 4e10])
    vbr = "VBR frame sizes capped at their 0.999 quantile"
    said.estimates["note"] = [
        vbr if m == "network-calculus-bound" else "" for m in said.estimates["method"]
    ]
    bound_notes = curve_grid(said).panels[1].notes
    assert bound_notes.count(f"network-calculus bound: {vbr}") == 1
    assert x_axis_label(Vary('links["a"].rate', "rate", None, 1.0)) == 'links["a"].rate (bit/s)'


def test_a_grid_drawn_again_is_not_drawn_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command writes a figure (curve.png, size.png), then its report embeds it: the
    same grid gives the same bytes without drawing again; another grid is drawn."""
    from vidnet_sim.analysis import plots

    res = _curve(Vary("bitrate", "bitrate", None, 1.0), [math.inf, math.inf])
    drawn: list[str] = []

    def counted(grid: PanelGrid) -> object:
        drawn.append(grid.title)
        return panels_figure(grid)

    monkeypatch.setattr(plots, "panels_figure", counted)
    first = draw_panels(curve_grid(res, targets=res.targets, title="a"))
    assert draw_panels(curve_grid(res, targets=res.targets, title="a")) == first
    assert drawn == ["a"]
    other = draw_panels(curve_grid(res, targets=res.targets, title="b"))
    assert other != first and drawn == ["a", "b"]


# --------------------------------------------------------------------------- drawing
def test_network_view_gathers_cameras_and_layers_from_the_centre() -> None:
    view = network_view(parse(tree()), "t", binding="core-cc")
    nodes = {n.id: n for n in view.nodes}
    assert {k: n.layer for k, n in nodes.items()} == {"cc": 0, "core": 1, "acc1": 2, "acc2": 2}
    assert (nodes["acc1"].cameras, nodes["acc1"].groups) == (4, ["north", "north-ptz"])
    assert nodes["acc2"].cameras == 5 and nodes["core"].cameras == 0
    assert view.coordinates == "" and [lk.binding for lk in view.links] == [False, False, True]


def test_coordinates_place_nodes_and_give_fibre_lengths() -> None:
    xy = {
        k: f'x = "{x}"\ny = "{y}"'
        for k, (x, y) in {
            "acc1": ("0m", "0m"),
            "acc2": ("6km", "0m"),
            "core": ("3km", "4km"),
            "cc": ("3km", "8km"),
        }.items()
    }
    sc = parse(tree(**xy, len1=""))
    view = network_view(sc, "t")
    assert view.coordinates == "xy"
    w, h = png_size(draw_network(view))
    assert w > h > 300
    assert {n.id: (n.x, n.y) for n in view.nodes}["core"] == (3000.0, 4000.0)
    lengths = link_lengths(sc)
    assert lengths["acc1-core"] == pytest.approx(5000.0)  # no length given: the straight line
    assert lengths["acc2-core"] == 1000.0  # a given length wins
    # one node without coordinates: a layered drawing, and the caption says why
    part = parse(tree(acc1=xy["acc1"], acc2=xy["acc2"], core=xy["core"]))
    view = network_view(part, "t")
    assert view.coordinates == "" and "cc have no coordinates" in view.caption
    # lat/lon: great-circle distance, one degree of latitude ≈ 111.2 km
    ll = parse(
        tree(
            acc1="lat = 45.0\nlon = 7.0",
            acc2="lat = 45.1\nlon = 7.0",
            core="lat = 46.0\nlon = 7.0",
            cc="lat = 46.0\nlon = 7.5",
            len1="",
        )
    )
    nodes = {n.id: n for n in ll.nodes}
    assert distance_m(nodes["acc1"], nodes["core"]) == pytest.approx(111_195, rel=1e-3)
    assert link_lengths(ll)["acc1-core"] == pytest.approx(111_195, rel=1e-3)
    assert network_view(ll, "t").coordinates == "latlon"


@pytest.mark.parametrize(
    ("nodes", "path", "message"),
    [
        ({"acc1": 'x = "1km"'}, 'nodes[0] (id="acc1").y', "x is given: give y too"),
        ({"acc1": "lon = 3.0"}, 'nodes[0] (id="acc1").lat', "lon is given: give lat too"),
        (
            {"acc1": "lat = 91.0\nlon = 0.0"},
            'nodes[0] (id="acc1").lat',
            "got 91.0: must be at most 90",
        ),
        (
            {"acc1": 'x = "1km"\ny = "1km"\nlat = 1.0\nlon = 1.0'},
            'nodes[0] (id="acc1").lat',
            "give either x/y or lat/lon, not both",
        ),
        (
            {"acc1": 'x = "1km"\ny = "1km"', "core": "lat = 1.0\nlon = 1.0"},
            'nodes[2] (id="core").lat',
            "nodes[0] uses x/y and nodes[2] lat/lon: give every node's coordinates in one",
        ),
        ({"acc1": 'x = 5\ny = "1km"'}, 'nodes[0] (id="acc1").x', "got 5: a unit is required"),
    ],
)
def test_bad_coordinates_name_the_field(nodes: dict[str, str], path: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse(tree(**nodes))
    assert err.value.problems[0].path == path and message in str(err.value)
    assert len(err.value.problems) == 1, str(err.value)


def test_a_large_network_gathers_its_districts() -> None:
    nodes = [{"id": "cc", "kind": "control_centre"}, {"id": "core"}]
    links = [{"a": "core", "b": "cc", "rate": "10Gbps"}]
    cams = []
    for h in range(3):
        nodes.append({"id": f"hub{h}"})
        links.append({"a": f"hub{h}", "b": "core", "rate": "10Gbps"})
        for k in range(14):
            nodes.append({"id": f"sw{h}-{k}"})
            links.append({"a": f"sw{h}-{k}", "b": f"hub{h}", "rate": "1Gbps"})
            cams.append(
                {
                    "name": f"c{h}-{k}",
                    "count": k + 1,
                    "attach": f"sw{h}-{k}",
                    "destinations": ["cc"],
                }
            )
    sc = parse_scenario_dict(
        {"simulation": {"duration": "1s"}, "nodes": nodes, "links": links, "cameras": cams}
    )
    util = {f"sw1-{k}-hub1": k / 20 for k in range(14)}
    view = network_view(sc, "t", utilisation=util, binding="sw1-13-hub1")
    assert sorted(n.id for n in view.nodes) == [
        "cc",
        "core",
        "hub0",
        "hub0 district",
        "hub1",
        "hub1 district",
        "hub2",
        "hub2 district",
    ]
    d1 = next(n for n in view.nodes if n.id == "hub1 district")
    assert (d1.cameras, d1.groups, d1.layer) == (105, ["14 switches"], 3)
    up = next(lk for lk in view.links if lk.id == "hub1 district uplinks")
    assert (up.count, up.rate_bps, up.utilisation, up.binding) == (14, 1e9, 13 / 20, True)
    assert "Districts gathered" in view.caption
    w, h = png_size(draw_network(view))
    assert w > h


# --------------------------------------------------------------------------- fibre cuts
def test_single_fibre_cuts_on_a_tree_and_on_a_ring() -> None:
    sc = parse(tree())
    cuts = single_cut_exposure(sc)
    assert [(c.link, c.cameras) for c in cuts] == [
        ("core-cc", 9),
        ("acc2-core", 5),
        ("acc1-core", 4),
    ]
    assert "not survived" in fibre_cut_text(
        sc
    ) and "core-cc cuts off 9 of 9 cameras" in fibre_cut_text(sc)
    # the other cuts with the cameras each cuts off, not "likewise" (which read as 9 of 9)
    assert "; a cut of acc2-core (5) or acc1-core (4) cuts cameras off too:" in fibre_cut_text(sc)
    ring_links = (
        '[[links]]\na = "acc1"\nb = "acc2"\nrate = "100Mbps"\n'
        '[[links]]\na = "acc1"\nb = "cc"\nrate = "1Gbps"\nblocked = true\n'
    )  # a protected ring: its blocked link carries traffic once a link has failed
    ring = parse(tree(extra=ring_links))
    assert single_cut_exposure(ring) == []
    assert "every camera keeps a path" in fibre_cut_text(ring)


# --------------------------------------------------------------------------- commands
COSTS = '[optics]\n"100Mbps" = 5.0\n"1Gbps" = 20.0\n'


def size_tree(tmp_path: Path, name: str = "size", text: str | None = None) -> Path:
    """``vidnet-sim size`` of the tree (2 replications); returns the output folder."""
    f = tmp_path / f"{name}.toml"
    f.write_text(text or tree())
    c = tmp_path / "c.toml"
    c.write_text(COSTS)
    out = tmp_path / name
    r = CliRunner().invoke(
        main,
        [
            "size",
            str(f),
            "--costs",
            str(c),
            "--replications",
            "2",
            "--out",
            str(out),
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == EXIT_OK, r.output
    return out


@pytest.mark.long
def test_size_writes_report_html_and_report_draws_it_again(tmp_path: Path) -> None:
    out = size_tree(tmp_path)
    page = (out / "report.html").read_text()
    data = json.loads((out / "report.json").read_text())
    assert data["kind"] == "size" and data["headline"].startswith("Build for")
    assert "Year 1: build" in data["recommendation"][0]
    assert any("cuts off 9 of 9 cameras" in s for s in data["risk"])
    assert {lk["id"]: lk["rate_bps"] for lk in data["network"]["links"]}["acc1-core"] in (1e8, 1e9)
    assert sum(lk["binding"] for lk in data["network"]["links"]) == 1
    bill = json.loads((out / "size.json").read_text())["bill"]  # the whole bill, by category
    assert data["costs"]["title"] == "Cost per year"
    assert sum(sum(v) for v in data["costs"]["categories"].values()) == pytest.approx(bill["total"])
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 3  # network, cost, plots
    (out / "report.html").unlink()
    r = CliRunner().invoke(main, ["report", str(out)])
    assert r.exit_code == EXIT_OK, r.output
    assert (out / "report.html").read_text() == page  # drawn again, byte for byte
    # what the network-calculus bound assumes (VBR frames capped at a quantile: not every
    # frame bounded), as curve says it: under the margins table and the latency panels
    vbr = "9 VBR cameras (3 groups: north, north-ptz, south): VBR frame sizes capped at their"
    margins = next(t for t in data["tables"] if t["title"] == "SLA margins achieved")
    assert f"The bound assumes (year 1): {vbr} 0.999 quantile." in margins["note"]
    assert f"The bound assumes (year 1): {vbr} 0.999 quantile." in (out / "report.md").read_text()
    panel_notes = [n for p in data["plots"]["panels"] for n in p["notes"]]
    assert f"network-calculus bound: {vbr} 0.999 quantile" in panel_notes
    r = CliRunner().invoke(main, ["report", str(tmp_path / "nothing")])
    assert r.exit_code == EXIT_USAGE and "no such folder" in r.output
    r = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert r.exit_code == EXIT_USAGE and "no report data" in r.output
    assert "its folders size have one (as a whatif folder's variants): name one" in r.output
    # what-ifs: a sizing with six times the bitrate beside this one
    more = size_tree(tmp_path, "more", tree().replace('"2Mbps"', '"12Mbps"'))
    r = CliRunner().invoke(main, ["report", str(out), "--compare", f"x6={more}"])
    assert r.exit_code == EXIT_OK, r.output
    assert "judged otherwise" not in r.output  # the same runs
    data = load_report_data(out)
    costs = {  # the net present cost of the whole bill
        n: json.loads((d / "size.json").read_text())["bill"]["net_present_cost"]
        for n, d in (("size", out), ("x6", more))
    }
    assert [(v.name, v.cost, v.ok) for v in data.variants] == [
        ("size", costs["size"], True),
        ("x6", costs["x6"], True),
    ]
    assert costs["x6"] > costs["size"]  # core-cc needs 1G
    # each row says what its report answers (it repeated the one title of every variant)
    assert data.variants[1].note == load_report_data(more).headline
    assert f"{costs['x6']:,.0f} USD" in data.variants[1].note
    page = (out / "report.html").read_text()
    assert "What-ifs side by side" in page and f"<td>{costs['x6']:,.0f} USD</td>" in page
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 4
    CliRunner().invoke(main, ["report", str(out)])  # drawn again: the what-ifs stay
    assert (out / "report.html").read_text() == page
    r = CliRunner().invoke(main, ["report", str(out), "--compare", "x6"])
    assert r.exit_code == EXIT_USAGE and "expected NAME=RESULTS_DIR" in r.output
    # a what-if judged on runs of another length: said, not silently set beside the base
    other = load_report_data(more)
    other.method = ["Each design judged on 3–10 independent runs of 9 s simulated; ..."]
    other.save(more)
    r = CliRunner().invoke(main, ["report", str(out), "--compare", f"x6={more}"])
    assert r.exit_code == EXIT_OK, r.output
    assert (
        "warning: x6 was judged otherwise than the base ('Each design judged on 3–10 " in r.output
    )
    assert "runs of 9 s simulated', against " in r.output
    data.kind, data.total_cost = "curve", None
    data.save(more)
    r = CliRunner().invoke(main, ["report", str(out), "--compare", f"c={more}"])
    assert r.exit_code == EXIT_INVALID_SCENARIO
    assert "c: a curve report has no total cost to compare" in r.output


def test_size_warns_of_an_alarm_its_duration_leaves_out(tmp_path: Path) -> None:
    """size --duration shorter than the timeline judges every design without the alarm: the
    report says so in its risk box and report.md, and the console (it printed none of its
    warnings), as run and curve warn."""
    f = tmp_path / "alarm.toml"
    alarm = '[[events]]\nkind = "alarm"\ntargets = ["north"]\nat = "150ms"\nduration = "20ms"'
    f.write_text(tree(extra=alarm))
    c = tmp_path / "c.toml"
    c.write_text(COSTS)
    out = tmp_path / "size"
    args = ["size", str(f), "--costs", str(c), "--replications", "2", "--workers", "1"]
    r = CliRunner().invoke(main, [*args, "--duration", "100ms", "--out", str(out)])
    assert r.exit_code == EXIT_OK, r.output
    said = (
        "events[0] (alarm on north at 150ms) is at or after the end of the run (100ms): it "
        "does not happen in this run"
    )
    assert f"Warning: {said}." in json.loads((out / "report.json").read_text())["risk"]
    assert f"> **Warning**: {said}" in (out / "report.md").read_text()
    assert said in json.loads((out / "size.json").read_text())["warnings"]
    assert f"warning: {said}\n" in r.stderr  # on the console too, as curve and capacity say it


def test_curve_and_capacity_write_report_html(tmp_path: Path) -> None:
    f = tmp_path / "tree.toml"
    f.write_text(tree())
    out = tmp_path / "curve"
    r = CliRunner().invoke(
        main,
        [
            "curve",
            str(f),
            "--vary",
            "cameras",
            "--from",
            "9",
            "--to",
            "18",
            "--steps",
            "2",
            "--replications",
            "2",
            "--out",
            str(out),
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == EXIT_OK, r.output
    data = load_report_data(out)
    assert data.kind == "curve" and data.plots is not None and data.network is not None
    assert data.plots.x_label == "cameras (total)"
    assert {lk.rate_bps for lk in data.network.links} == {1e8, 1e9}
    assert all(lk.load_bps is None and lk.utilisation is None for lk in data.network.links)
    assert {t.value for p in data.plots.panels for t in p.targets} == {50.0, 1e-3}
    assert "Every SLA holds up to 18 cameras" in data.headline
    assert any(  # each estimate says what it assumes
        c.startswith("The 60 % rule estimate (vendor calculators' rule: mean load at most")
        for c in data.changes
    ), data.changes
    assert r.output.startswith(  # the answer on the console too, and what ± means
        f"{data.headline}; per class, the mean ± the half-width of its 95 % interval:\n"
    )
    assert (out / "report.html").stat().st_size > 10_000
    out = tmp_path / "cap"
    r = CliRunner().invoke(
        main,
        [
            "capacity",
            str(f),
            "--max",
            "20",
            "--replications",
            "2",
            "--out",
            str(out),
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == EXIT_OK, r.output
    data = load_report_data(out)
    assert data.kind == "capacity" and data.network is not None
    util = {lk.id: lk.utilisation for lk in data.network.links}
    assert util["core-cc"] is not None and 0 < util["core-cc"] < util["acc2-core"] < 1  # type: ignore[operator]
    assert [lk.id for lk in data.network.links if lk.binding] == ["acc2-core"]  # the busiest
    assert data.headline == "Every SLA holds up to 20 cameras (the largest tried)"
    assert "raise --max" in data.recommendation[0]
    assert data.changes[0].startswith("The busiest link at the largest value is acc2-core")
    assert any("cuts off 20 of 20 cameras" in s for s in data.risk)  # the network at 20
    nc = [c for c in data.changes if c.startswith("The network-calculus bound estimate")]
    # what it assumes, as curve says it under its panels (not every frame bounded)
    vbr = "9 VBR cameras (3 groups: north, north-ptz, south): VBR frame sizes capped at their"
    assert nc and nc[0].startswith(
        "The network-calculus bound estimate (a worst case: every source's largest burst at "
        f"once; {vbr} 0.999 quantile) says"
    )
    assert f"(a worst case: every source's largest burst at once; {vbr} 0.999 quantile)" in (
        r.output
    )
    assert data.plots is not None
    lat = data.plots.panels[0]
    assert lat.title == "video: latency" and [t.value for t in lat.targets] == [50.0]
    cap = json.loads((out / "capacity.json").read_text())
    assert cap["estimate_notes"] == [f"{vbr} 0.999 quantile"]
    assert {m.label.split(":")[0]: m.x for m in lat.marks} == {
        method_words(k): v for k, v in cap["estimates"].items() if v is not None
    }
    assert sorted(lat.series[0].x) == sorted(
        float(x) for x in pd.read_parquet(out / "capacity.parquet")["x"]
    )
    assert "report.html" in r.output and (out / "report.html").is_file()


def test_the_red_link_is_labelled_busiest_not_binding() -> None:
    """The link outlined in red is the most utilised one; the binding SLA may be decided
    elsewhere (a camera's own access link), so its label must not say BINDING."""
    link = NetLink("core-uplink", "core", "cc", 1e9, 4000.0, 6e8, 0.6, binding=True)
    assert _link_label(link).splitlines() == [
        "1G, 4 km",
        "load 600 Mbit/s",
        "40 % headroom",
        "BUSIEST",
    ]
    # a load above 1 Gbit/s in Gbit/s, never in scientific notation ("5.05e+03 Mbit/s")
    link = NetLink("cc-uplink", "ring-a", "cc", 1e10, 500.0, 5.053e9, 0.55)
    assert _link_label(link).splitlines()[1] == "load 5.05 Gbit/s"


def test_a_survived_ring_cut_and_an_unprotected_cut_do_not_read_as_a_contradiction() -> None:
    """Under N-1 the protected links' cuts are simulated and survived, while a link with no
    other path around it (a recorder's link) isolates cameras: the first page says which is
    which, not 'Single fibre cut: survived' then 'Single fibre cut: not survived'."""
    cases = pd.DataFrame(
        [
            {"year": 1, "case": "normal", "ok": True, "class": "video",
             "metric": "latency_p99_ps", "margin": 0.5},
            {"year": 1, "case": "failure of r0-r1", "ok": True, "class": "video",
             "metric": "latency_p99_ps", "margin": 0.43},
        ]
    )  # fmt: skip
    result = SimpleNamespace(settings={"survive": "single-link"}, cases=lambda: cases)
    text = _cut_risk(result, fibre_cut_text(parse(tree())))  # type: ignore[arg-type]
    assert text.startswith(
        "Single fibre cut of a protected link: **survived** — the failure of each of the 1 "
        "protected link(s)"
    ), text
    assert "But a cut of a link without a protection path is **not survived**: a cut of " in text
    assert text.count("Single fibre cut") == 1


def test_the_mid_size_city_is_drawn_with_its_districts_gathered() -> None:
    """28 nodes drawn one by one overlapped (20 switches and their labels in two rows): the
    switches under each ring node are gathered into one district."""
    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "mid-city.toml")
    view = network_view(sc, "mid-city")
    ids = sorted(n.id for n in view.nodes)
    assert [i for i in ids if i.endswith("district")] == [f"ring-{x} district" for x in "abcd"], ids
    assert len(ids) == 10
    uplinks = [lk for lk in view.links if lk.id.endswith("district uplinks")]
    assert [lk.count for lk in uplinks] == [5, 5, 5, 5]


def test_a_district_line_says_how_many_of_its_uplinks_changed() -> None:
    """Drawn at the busiest uplink's tier, a gathered line must not read as every uplink
    upgraded when one was ('5 × 1G (1G→10G in year 4)' on mid-city-growth)."""
    nodes = [NetNode("hub", "switch", 1)] + [
        NetNode(f"s{i}", "switch", 2, cameras=10) for i in range(3)
    ]
    links = [NetLink(f"s{i}-hub", f"s{i}", "hub", 1e9, 100.0, 1e8, 0.1 * (i + 1)) for i in range(3)]
    links[0] = NetLink("s0-hub", "s0", "hub", 1e10, 100.0, 1e8, 0.01, changed="1G→10G in year 4")
    view = _districts(NetworkView("t", nodes, links))
    (line,) = [lk for lk in view.links if lk.id == "hub district uplinks"]
    assert (line.count, line.rate_bps, line.changed) == (3, 1e9, "1 of 3: 1G→10G in year 4")
    assert _link_label(line).splitlines()[0] == "3 × 1G, 0.1 km (1 of 3: 1G→10G in year 4)"


def test_link_labels_do_not_overlap_and_no_link_runs_through_a_node() -> None:
    """mid-city-growth's centre row is cc, nvr, dc: cc–dc was drawn straight through nvr,
    and its label sat on cc–nvr's. Now a link that would pass through a node is an arc, and
    each label slides along its link until it overlaps no other label, node or node name."""
    from matplotlib.pyplot import close

    file = Path(__file__).resolve().parents[1] / "scenarios" / "mid-city-growth.toml"
    sc = load_scenario(file)
    ids = [str(lk.id) for lk in sc.links]
    view = network_view(
        sc,
        "year 4",
        lengths_m=dict(link_lengths(sc)),
        loads_bps=dict.fromkeys(ids, 3.2e8),
        utilisation=dict.fromkeys(ids, 0.32),
        binding="ring-ab",
        changed={"cc-dc": "1G→10G in year 4"},
    )
    paths = _paths(view, _positions(view)[0])
    assert [i for i, p in paths.items() if p[2] is not None] == ["cc-dc"]
    fig, labels = draw_figure(view)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    names = [t.get_window_extent(renderer) for t in fig.axes[0].texts if t not in labels]
    close(fig)
    assert len(boxes) == len(view.links)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :] + names:
            assert not a.overlaps(b), (labels[i].get_text(), a, b)
    # ten links fanning out of one node: their middles are closer than a label is wide
    nodes = [NetNode("hub", "switch", 0)]
    nodes += [NetNode(f"s{i}", "switch", 1, cameras=10, groups=["g"]) for i in range(10)]
    links = [NetLink(f"s{i}-hub", f"s{i}", "hub", 1e9, 1200.0, 3e8, 0.3) for i in range(10)]
    fig, labels = draw_figure(NetworkView("fan", nodes, links))
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    close(fig)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_a_label_with_no_free_place_covers_no_node() -> None:
    """The large city's district uplinks are short: no place along them is free, and the
    label took the least overlap, covering ring-4 and ring-5 themselves; covering a node
    now weighs more than covering a name or another label."""
    from matplotlib.pyplot import close

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "large-city.toml")
    ids = [str(lk.id) for lk in sc.links]
    view = network_view(
        sc, "t", loads_bps=dict.fromkeys(ids, 3e8), utilisation=dict.fromkeys(ids, 0.3)
    )
    fig, labels = draw_figure(view)
    renderer = fig.canvas.get_renderer()
    large = len(view.nodes) > LARGE_NETWORK
    nodes = _marker_boxes(fig, fig.axes[0], view, _positions(view)[0], large)
    covered = [
        t.get_text().splitlines()[0]
        for t in labels
        if any(t.get_window_extent(renderer).overlaps(n) for n in nodes)
    ]
    close(fig)
    assert covered == []


def _example_view(name: str) -> NetworkView:
    """The network view of the example scenario ``name``, every link at 300 Mbit/s and 30 %."""
    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / f"{name}.toml")
    ids = [str(lk.id) for lk in sc.links]
    return network_view(
        sc, "t", loads_bps=dict.fromkeys(ids, 3e8), utilisation=dict.fromkeys(ids, 0.3)
    )


def test_camera_boxes_cover_no_name_label_or_other_box() -> None:
    """The large city's districts hang one below another: each camera box, drawn below its
    node, sat on the name of the district below it. A box now takes the first place (below,
    beside, below to one side) where it covers no node name, marker, link label or other
    box; so does every camera box of the mid-size city."""
    for name in ("large-city", "mid-city-growth"):
        view = _example_view(name)
        fig, labels = draw_figure(view)
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        large = len(view.nodes) > LARGE_NETWORK
        markers = _marker_boxes(fig, ax, view, _positions(view)[0], large)
        texts = [t for t in ax.texts if t not in labels]
        boxes = [t for t in texts if t.get_bbox_patch() is not None]
        assert len(boxes) == sum(1 for n in view.nodes if n.cameras), name
        every = [*texts, *labels]
        extents = [t.get_window_extent(renderer) for t in every]
        close_figure(fig)
        for i, t in enumerate(every):
            if t not in boxes:
                continue
            box = extents[i]
            hits = [
                every[j].get_text() for j, o in enumerate(extents) if j != i and box.overlaps(o)
            ]
            assert hits == [], (name, t.get_text(), hits)
            assert not any(box.overlaps(m) for m in markers), (name, t.get_text())


def test_no_district_box_sits_on_a_link_and_the_large_city_s_labels_are_readable() -> None:
    """The large city drawn in layers put each district in the row below its ring node,
    among the ring's own nodes: the ring-3 district's box sat on the ring-4–ring-5 link, and
    its labels were in 5.5 pt print. A district now hangs beside its node, clear of the
    ring's links (no camera box covers a point of any link), and its rows of four nodes
    leave room for labels at 7.5 pt."""
    for name in ("large-city", "mid-city-growth"):
        view = _example_view(name)
        pos = _positions(view)[0]
        paths = _paths(view, pos)
        fig, labels = draw_figure(view)
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        boxes = [t for t in ax.texts if t not in labels and t.get_bbox_patch() is not None]
        extents = [(t.get_text(), t.get_window_extent(renderer)) for t in boxes]
        points = {
            link.id: [ax.transData.transform(_along(paths[link.id], i / 50)) for i in range(51)]
            for link in view.links
        }
        sizes = {t.get_fontsize() for t in labels}
        close_figure(fig)
        on = [
            (text, lid)
            for text, box in extents
            for lid, pts in points.items()
            if any(box.contains(x, y) for x, y in pts)
        ]
        assert on == [], (name, on)
        assert sizes and min(sizes) >= 7.5, (name, sizes)


def test_a_bound_off_the_axis_is_not_in_the_legend_and_noted_with_its_values() -> None:
    """The small town's bitrate curve: the network-calculus bound (212–354 ms) lies wholly
    above the latency axis (to 62 ms), yet its dashed line was in the legend. A bound wholly
    off scale is now left out of the legend and noted under the panel with its values; one
    partly on the axis is drawn and listed, its part above noted."""

    def panel(bound: list[float]) -> Panel:
        return Panel(
            "video: latency",
            "latency",
            [
                Series("simulated packet p99", [1.0, 2.0], [20.0, 40.0], [18.0, 38.0], [22, 42]),
                Series("network-calculus bound", [1.0, 2.0], bound, style="bound"),
            ],
            targets=[Target("target latency p99 (50 ms)", 50.0)],
        )

    for bound, listed, note in (
        (
            [212.0, 338.3],
            False,
            "network-calculus bound off scale (above the axis, not drawn): 212–338.3 ms",
        ),
        ([30.0, 338.3], True, "network-calculus bound above the axis: up to 338.3 ms"),
    ):
        fig = panels_figure(PanelGrid("t", "× nominal bitrate", [panel(bound)]))
        ax = fig.axes[0]
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        notes = " ".join(t.get_text().replace("\n", " ") for t in ax.texts)
        close_figure(fig)
        assert ("network-calculus bound" in legend) is listed, legend
        assert note in notes, notes


def test_the_legend_hides_no_data_and_marks_at_one_place_are_one_line() -> None:
    """Inside the panel the legend covered the small town's 100 ms and 150 ms targets; two
    estimates' marks at the same value were two dotted lines, the first hidden under the
    second, in a colour of a simulated curve. The figure now has one legend, above the
    panels and over none of them, each target is named on its own line, and the marks at
    one value are one line with both names."""
    from vidnet_sim.analysis.report_data import VerticalMark

    def panel(cls: str, target: float) -> Panel:
        return Panel(
            f"{cls}: latency",
            "latency",
            [Series("simulated packet p99", [1.0, 2.0], [20.0, 90.0])],
            targets=[Target(f"target frame latency p99 ({target:g} ms)", target)],
            marks=[
                VerticalMark("sum-of-means-60%: last value accepted", 2.0),
                VerticalMark("gaussian-equivalent-capacity: last value accepted", 2.0),
            ],
        )

    grid = PanelGrid("t", "× nominal bitrate", [panel("ptz", 100.0), panel("video", 150.0)])
    fig = panels_figure(grid)
    renderer = fig.canvas.get_renderer()
    [legend] = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    box = legend.get_window_extent(renderer)
    covered = [ax.get_title() for ax in fig.axes if box.overlaps(ax.get_window_extent(renderer))]
    on_lines = [[t.get_text() for t in ax.texts if t.get_gid() == "target"] for ax in fig.axes]
    vertical = [[ln for ln in ax.get_lines() if ln.get_linestyle() == ":"] for ax in fig.axes]
    close_figure(fig)
    assert covered == []
    assert labels == [
        "simulated packet p99",
        "sum-of-means-60%, gaussian-equivalent-capacity: last value accepted",
        "SLA target (its value on the line)",
    ]
    assert on_lines == [
        ["target frame latency p99 (100 ms)"],
        ["target frame latency p99 (150 ms)"],
    ]
    assert [len(v) for v in vertical] == [1, 1]


@pytest.mark.kernel_free
def test_the_legend_fits_the_figure_s_width() -> None:
    """The small town's camera curve (two classes: five latency curves, two marks at one
    value, two loss curves, the targets' line) had a legend of four columns wider than the
    figure, cut at both edges: as many columns as fit now, every entry whole."""
    from vidnet_sim.analysis.report_data import VerticalMark

    xs = [10.0, 25.0, 40.0]
    latency = ["simulated median packet latency", "simulated 99th percentile packet latency"]
    latency += ["simulated largest packet latency", "simulated 99th percentile frame latency"]
    marks = ["sum-of-means-60%", "gaussian-equivalent-capacity"]
    panels = [
        Panel(
            f"{cls}: latency",
            "latency",
            [Series(n, xs, [1.0, 2.0, 3.0]) for n in latency]
            + [Series("network-calculus bound", xs, [60.0, 150.0, 220.0], style="bound")],
            targets=[Target("target latency p99 (50 ms)", 50.0)],
            marks=[VerticalMark(f"{m}: last value accepted", 40.0) for m in marks],
        )
        for cls in ("ptz", "video")
    ] + [
        Panel(
            f"{cls}: loss",
            "loss",
            [
                Series(n, xs, [1e-5, 1e-5, 1e-5])
                for n in ("simulated packet loss", "simulated frame loss")
            ],
            targets=[Target("target loss (0.0001)", 1e-4)],
        )
        for cls in ("ptz", "video")
    ]
    fig = panels_figure(PanelGrid("", "cameras (total)", panels, columns=2))
    renderer = fig.canvas.get_renderer()
    [legend] = fig.legends
    box = legend.get_window_extent(renderer)
    width = fig.bbox.width
    close_figure(fig)
    assert box.x0 >= 0 and box.x1 <= width


def test_a_bitrate_curve_report_says_what_its_values_are(tmp_path: Path) -> None:
    """The small town's bitrate curve read "Every SLA holds up to bitrate = 3": a bitrate of
    3 (bit/s?), where 3 is a scale of the nominal bitrates. Each value now carries its unit
    in the sentences, and the verdict table's column is the plot's axis label."""
    from vidnet_sim.analysis.report_pages import curve_report

    f = tmp_path / "tree.toml"
    f.write_text(tree())
    res = _curve(Vary("bitrate", "bitrate", None, 1.0), [3e10, 3e10])
    data = curve_report(res, f, {"video": {"latency_p99_ps": 5e10}})
    assert data.headline == "Every SLA holds up to 2 × the nominal bitrate (of the values tried)"
    assert data.recommendation == [
        "Of 2 values of bitrate from 1 × the nominal bitrate to 2 × the nominal bitrate, "
        "every SLA target holds at 1, 2 × the nominal bitrate."
    ]
    assert data.risk[0].startswith("Binding target at 2 × the nominal bitrate: class **video**")
    assert data.tables[0].header[0] == "× nominal bitrate"


def test_a_curve_holds_up_to_a_value_only_when_every_smaller_value_holds(tmp_path: Path) -> None:
    """A two-replication curve of a small network read "Every SLA holds up to 2 × the
    nominal bitrate" while at 1 × the p99's 95 % interval reached past the target (mean
    5.045 ms, interval to 55.6 ms, target 50 ms): the table said 1 × does not hold. "Up to"
    now needs every value below; a value that does not hold says whether its target is
    missed or only its interval reaches past it (more replications would tell)."""
    from vidnet_sim.analysis.report_pages import curve_report

    f = tmp_path / "tree.toml"
    f.write_text(tree())
    res = _curve(Vary("bitrate", "bitrate", None, 1.0), [3e10, 3e10])
    t = res.table
    at1 = (t["x"] == 1.0) & (t["class"] == "video") & (t["metric"] == "latency_p99_ps")
    t.loc[at1, "ci_high"] = 6e10  # the mean (1e10) meets 5e10, its interval does not
    data = curve_report(res, f, {"video": {"latency_p99_ps": 5e10}})
    assert data.headline == (
        "Every SLA holds at 2 × the nominal bitrate, not at every value tried below it"
    )
    assert data.recommendation[1] == (
        "At 1 × the nominal bitrate every mean meets its target but not every 95 % interval: "
        "video 99th percentile packet latency 10 ms (its interval reaches 60 ms: uncertain) "
        "against 50 ms; more replications (--replications) would tell."
    )
    assert data.tables[0].rows[0][1:] == [
        "**no**",
        "video 99th percentile packet latency 10 ms (its interval reaches 60 ms: uncertain) "
        "against 50 ms",  # the target beside the value: it read as missing one
    ]

    t.loc[at1, "mean"] = 5.5e10  # now missed
    data = curve_report(res, f, {"video": {"latency_p99_ps": 5e10}})
    assert data.recommendation[1] == (
        "At 1 × the nominal bitrate a target is missed: video 99th percentile packet latency "
        "55 ms against 50 ms."
    )
    t.loc[at1, ["mean", "ci_high"]] = [1e10, 2e10]  # every value holds: "up to"
    data = curve_report(res, f, {"video": {"latency_p99_ps": 5e10}})
    assert data.headline == "Every SLA holds up to 2 × the nominal bitrate (of the values tried)"
    assert len(data.recommendation) == 1
    at2 = (t["x"] == 2.0) & (t["class"] == "video") & (t["metric"] == "latency_p99_ps")
    t.loc[at2, "ci_high"] = 7e10  # the next value only uncertain: not said to reach 20 ms
    data = curve_report(res, f, {"video": {"latency_p99_ps": 5e10}})
    assert data.headline == "Every SLA holds up to 1 × the nominal bitrate (of the values tried)"
    assert data.changes[0].startswith(
        "At 2 × the nominal bitrate, class video 99th percentile packet latency is 20 ms but "
        "its 95 % interval reaches 70 ms (target 50 ms): the answer lies between 1 and 2 ×"
    )


@pytest.mark.kernel_free
def test_cost_axes_have_thousands_separators(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost chart's bars read 122,659 but its axis 120000: the axis now reads 120,000,
    as does the what-ifs' chart."""
    from typing import Any

    from vidnet_sim.analysis import plots

    seen: list[list[str]] = []
    save = plots.png_bytes

    def keep(fig: Any, dpi: int = 110) -> bytes:
        fig.canvas.draw()
        seen.append([t.get_text() for t in fig.axes[0].get_yticklabels()])
        return save(fig, dpi)

    monkeypatch.setattr(plots, "png_bytes", keep)
    plots.draw_costs(CostChart("c", ["year 1", "year 2"], {"fibre": [122_659.0, 20_000.0]}, "USD"))
    plots.draw_variants([Variant("a", 182_857.0, True, "met")], "USD")
    assert len(seen) == 2
    for labels in seen:
        assert "100,000" in labels, labels


@pytest.mark.kernel_free
def test_the_capacity_glossary_lists_every_metric_the_report_shows(tmp_path: Path) -> None:
    """The capacity report's panels show every target's metric and its table the binding
    one at each value; its glossary listed only the table's (packet loss here), not the
    99th percentile packet latency its first panel draws."""
    f = tmp_path / "tree.toml"
    f.write_text(tree())
    checks = pd.DataFrame(
        {
            "class": ["video", "video"],
            "metric": ["latency_p99_ps", "loss"],
            "mean": [2e10, 8e-4],
            "ci_low": [1.9e10, 7e-4],
            "ci_high": [2.1e10, 9e-4],
            "target": [5e10, 1e-3],
            "ratio": [0.4, 0.8],
        }
    )
    links = pd.DataFrame({"link": ["acc2-core"], "utilisation": [0.5], "drops": [0.0]})
    vary = make_vary(tomllib.loads(tree()), "cameras")
    verdicts = [Verdict(x, True, False, 2, checks, links) for x in (9.0, 18.0)]
    data = capacity_report(CapacityResult(vary, 18.0, None, verdicts), f)
    glossary = next(t for t in data.tables if t.title == "Glossary")
    assert [row[1] for row in glossary.rows] == ["`latency_p99_ps`", "`loss`"]
    judged = next(t for t in data.tables if t.title == "Every value judged")
    assert all("packet loss" in row[3] for row in judged.rows)  # the table: the binding one


def test_a_node_named_district_is_placed_like_any_other() -> None:
    """Only the districts the drawing gathers hang beside their node: a user's switch
    that happens to be called "north district" keeps its place in its layer's row."""
    nodes = [
        NetNode("cc", "control_centre", 0),
        NetNode("core", "switch", 1),
        NetNode("north district", "switch", 2, cameras=4),
        NetNode("south", "switch", 2, cameras=4),
    ]
    links = [
        NetLink("core-cc", "core", "cc", 1e10),
        NetLink("n-core", "north district", "core", 1e9),
        NetLink("s-core", "south", "core", 1e9),
    ]
    pos = _positions(NetworkView("t", nodes, links))[0]
    assert pos["north district"][1] == pos["south"][1] == -2.0
    gathered = [*nodes[:2], NetNode("core district", "switch", 2, cameras=8, district=True)]
    beside = _positions(
        NetworkView("t", gathered, [links[0], NetLink("d", "core district", "core", 1e9)])
    )[0]
    (dx, dy), (cx, cy) = beside["core district"], beside["core"]
    # a gathered district hangs one step from its node (here below it: the sides are no
    # clearer of the link to the centre, straight up)
    assert math.hypot(dx - cx, dy - cy) == pytest.approx(1.0)
    assert dy == pytest.approx(cy - 1.0)
