"""What people read in the reports and on the console: metrics in words with their units, a
zero-width interval said to rest on one run or on equal runs, the metric each class's
target is on, one loss floor per figure, the console's sections apart."""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd
import pytest
from rich.console import Console

from vidnet_sim.analysis import plots
from vidnet_sim.analysis.curve import CurveResult, console_lines
from vidnet_sim.analysis.drawing import draw_figure
from vidnet_sim.analysis.plots import loss_floor, panels_figure, power_of_ten
from vidnet_sim.analysis.report_data import (
    CostChart,
    NetLink,
    NetNode,
    NetworkView,
    Panel,
    PanelGrid,
    Series,
    Target,
)
from vidnet_sim.analysis.vary import Vary
from vidnet_sim.cli.summary import (
    EXPLAIN_HEADING,
    STORAGE_TITLE,
    render_explain,
    render_storage,
)
from vidnet_sim.results.metric_words import (
    BUCKET_WIDTH,
    GLOSSARY,
    glossary_rows,
    interval_words,
    metric_label,
    metric_words,
)
from vidnet_sim.results.sla import SlaTargets

#: No test here calls a compiled kernel (tests/conftest.py runs them during the precompile).
pytestmark = pytest.mark.kernel_free


def test_every_sla_metric_has_words_and_a_unit() -> None:
    """Each column an SLA target may bound reads in words (no underscore, no ``p99``), with
    the unit a report shows it in."""
    for name in SlaTargets.__dataclass_fields__:
        words = metric_words(name)
        assert name in GLOSSARY and "_" not in words and " p9" not in words, (name, words)
    assert metric_words("latency_p99_ps") == "99th percentile packet latency"
    assert metric_words("frame_latency_p999_ps") == "99.9th percentile frame latency"
    assert metric_words("latency_p50_ps") == "median packet latency"
    assert metric_words("frame_loss") == "frame loss"
    assert metric_label("latency_p99_ps") == "99th percentile packet latency, ms"
    assert metric_label("loss") == "packet loss, fraction"
    assert metric_words("some_new_ps") == "some new"  # not known: readable all the same
    assert glossary_rows(["latency_p99_ps", "loss", "latency_p99_ps"]) == [
        [
            "99th percentile packet latency",
            "`latency_p99_ps`",
            "ms (stored in ps)",
            "end to end, from a packet's emission to its delivery",
        ],
        [
            "packet loss",
            "`loss`",
            "fraction",
            "packets dropped / (delivered + dropped), losses to link failures included",
        ],
    ]


def test_an_interval_without_width_says_what_it_rests_on() -> None:
    assert interval_words(math.nan, math.nan, 1) == "one run: no interval"
    assert interval_words(0.0, 0.0, 3) == "all 3 runs equal"
    assert interval_words(0.0, 0.0, 3, "loss") == "all 3 runs equal"
    assert interval_words(0.0, 0.0, 2, "loss") == "both runs equal"  # not "all 2 runs equal"
    # two seeds reading the same bucket of a latency histogram (at most 1/128 wide) do not
    # agree to the picosecond: say what the equal figures are
    p99 = 28 * 10**9
    assert interval_words(p99, p99, 2, "latency_p99_ps") == (
        "both runs in one histogram bucket, at most 0.8 % wide"
    )
    assert interval_words(p99, p99, 3, "frame_latency_p999_ps") == (
        "3 runs in one histogram bucket, at most 0.8 % wide"
    )
    assert BUCKET_WIDTH == 1 / 128
    assert interval_words(1.0, 2.0, 3) == ""
    # one run of zero width is still one run (not 'all 1 runs equal')
    assert interval_words(5.0, 5.0, 1, "loss") == "one run: no interval"
    assert interval_words(p99, p99, 1, "latency_p99_ps") == "one run: no interval"


def _curve(targets: dict[str, dict[str, float]], n: int = 3) -> CurveResult:
    rows = []
    for x in (1.0, 2.0):
        for cls in ("video", "wifi"):
            for metric, mean, half in (
                ("latency_p99_ps", 2e10 * x, 1e9),
                ("frame_latency_p99_ps", 4e10 * x, 2e9),
                ("loss", 0.0, 0.0),
            ):
                high = mean + half if n > 1 else math.nan
                rows.append(
                    {"x": x, "class": cls, "metric": metric, "mean": mean}
                    | {"ci_low": mean - half if n > 1 else math.nan, "ci_high": high, "n": n}
                )
    return CurveResult(
        Vary("bitrate", "bitrate", None, 1.0),
        [1.0, 2.0],
        pd.DataFrame(rows),
        pd.DataFrame(),
        pd.DataFrame(),
        targets=targets,
    )


def test_curve_prints_the_metric_each_class_s_target_is_on() -> None:
    """A video class whose target is on its frame latency was printed with its packet p99
    (``video latency_p99: 1: 20 ms ±1``) and its loss: now the frame latency beside its
    target, in words with the unit; a class without a target keeps the packet p99 and
    loss. A zero-width interval says the runs were equal (it read ``±0``)."""
    res = _curve({"video": {"frame_latency_p99_ps": 1e11, "loss": 1e-4}})
    assert console_lines(res) == [
        "video 99th percentile frame latency, ms (target 100 ms): 1: 40 ±2, 2: 80 ±2",
        "video packet loss, fraction (target 0.0001): 1: 0 (all 3 runs equal), "
        "2: 0 (all 3 runs equal)",
        "wifi 99th percentile packet latency, ms (no target): 1: 20 ±1, 2: 40 ±1",
        "wifi packet loss, fraction (no target): 1: 0 (all 3 runs equal), 2: 0 (all 3 runs equal)",
    ]
    one = console_lines(_curve({}, n=1))
    assert one[0] == (
        "video 99th percentile packet latency, ms (no target): 1: 20 (one run: no interval), "
        "2: 40 (one run: no interval)"
    )


def test_the_explain_lines_and_the_storage_stand_apart_from_the_sla_verdict() -> None:
    """``run --explain`` printed its heading on the line after ``SLA: ...`` and the storage
    table's title ran on after it: each section now follows a blank line. On a terminal a
    long line wraps under a deeper indent; to a pipe it stays one line (for grep)."""
    line = "video p99 12.0 ms: " + "99 % queueing at camera access behind its packets; " * 4
    for terminal in (True, False):
        buf = io.StringIO()
        console = Console(file=buf, width=80, force_terminal=terminal, color_system=None)
        console.print("SLA: all targets met")
        render_explain([line.strip()], console)
        storage = pd.DataFrame(
            {"recorder": ["nvr"], "retention_days": [30], "tb_per_day": [2.4]}
            | {"tb_retention": [73.0]}
        )
        render_storage(storage, console)
        text = buf.getvalue()
        assert f"SLA: all targets met\n\n{EXPLAIN_HEADING}\n  video p99 12.0 ms" in text
        body = text.split(EXPLAIN_HEADING + "\n")[1].split("\n\n")[0].splitlines()
        if terminal:
            assert len(body) > 1 and all(len(x) <= 80 for x in body)
            assert all(x.startswith("    ") for x in body[1:])
        else:
            assert body == [f"  {line.strip()}"]
        # after a blank line, its title whole (wider than the table, it wrapped on a terminal)
        assert f"\n\n{STORAGE_TITLE}\n" in text


def _loss_panel(title: str, mean: list[float], target: float | None = None) -> Panel:
    return Panel(
        title,
        "loss",
        series=[Series("simulated packet loss", [1.0, 2.0], mean)],
        targets=[Target("target", target)] if target is not None else [],
    )


def test_one_loss_floor_per_figure_said_on_the_axes() -> None:
    """A zero loss was drawn at a decade below each panel's own smallest value: 10⁻⁶ in
    a class without a target, 10⁻⁵ beside a 10⁻⁴ target, 10⁻⁴ beside a loss of 10⁻³ —
    three floors in one figure, none said. One floor now, on every loss axis's label."""
    panels = [
        _loss_panel("a", [0.0, 0.0]),
        _loss_panel("b", [0.0, 0.0], 1e-4),
        _loss_panel("c", [1e-3, 0.0]),
    ]
    assert loss_floor(panels) == pytest.approx(1e-5)
    fig = panels_figure(PanelGrid("", "x", panels, columns=3))
    assert [ax.get_ylim() for ax in fig.axes] == [pytest.approx((0.5e-5, 1.5))] * 3
    assert {ax.get_ylabel() for ax in fig.axes} == {
        "loss (fraction, log scale;\nno loss drawn at 10⁻⁵)"
    }
    plots._pyplot().close(fig)
    assert [power_of_ten(x) for x in (1e-6, 1e-5, 1.0, 0.3)] == ["10⁻⁶", "10⁻⁵", "10⁰", "0.3"]


def test_a_single_year_is_one_whole_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-year sizing drew its year axis with ticks at 0.945, 0.960, …, 1.050."""
    panel = Panel("video: latency", "latency_ms", series=[Series("p99", [1.0], [12.0])])
    fig = panels_figure(PanelGrid("", "year", [panel], integer_x=True))
    fig.canvas.draw()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["1"]
    plots._pyplot().close(fig)
    two = Panel("video: latency", "latency_ms", series=[Series("p99", [1.0, 4.0], [1.0, 2.0])])
    fig = panels_figure(PanelGrid("", "year", [two], integer_x=True))
    ticks = [float(t) for t in fig.axes[0].get_xticks()]
    assert ticks and all(t == int(t) for t in ticks)
    plots._pyplot().close(fig)


def test_the_cost_legend_is_beside_the_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost chart's legend sat over the bar of a one-year plan, hiding its top
    categories: it is now outside the axes, on the right."""
    seen: list[Any] = []
    save = plots.png_bytes

    def keep(fig: Any, dpi: int = 110) -> bytes:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        seen.append((ax.get_window_extent(renderer), ax.get_legend().get_window_extent(renderer)))
        return save(fig, dpi)

    monkeypatch.setattr(plots, "png_bytes", keep)
    cats = {"fibre": [3000.0], "switches": [9600.0], "recording": [7240.0]}
    plots.draw_costs(CostChart("Cost per year", ["year 1"], cats, "USD"))
    (axes, legend), *_ = seen
    assert legend.x0 >= axes.x1 and legend.x1 <= 10 * 110  # beside, within the figure


def test_the_network_legend_names_each_tier_with_its_unit() -> None:
    """The legend read ``1Gbit/s tier`` (a tier name glued to a unit): now ``1 Gbit/s``."""
    nodes = [NetNode("core", "switch", 0), NetNode("a", "switch", 1), NetNode("b", "switch", 1)]
    links = [NetLink("a-core", "a", "core", 1e9), NetLink("b-core", "b", "core", 2.5e9)]
    fig, _ = draw_figure(NetworkView("two tiers", nodes, links))
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["1 Gbit/s tier", "2.5 Gbit/s tier"]
    plots._pyplot().close(fig)
