"""Figures for a slide, drawn from report data (:mod:`vidnet_sim.analysis.report_data`).

:func:`draw_panels` draws a landscape grid, one traffic class per panel: latency in
milliseconds on a linear axis from 0, loss on a log axis (a 10⁻⁴ target is visible), SLA
targets as red dash-dot lines named on the line, confidence intervals clipped to what is
possible (latency ≥ 0, loss in [0, 1]), worst-case bounds dashed, a note under the panel for
every estimate that could not be drawn (or lies off the axis), and one legend for the figure
above the panels. :func:`draw_costs` stacks the cost per period by category and
:func:`draw_variants` sets what-ifs side by side. Each returns PNG bytes (or writes a file).
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import Any

import numpy as np

from vidnet_sim.analysis.report_data import CostChart, Panel, PanelGrid, Series, Variant
from vidnet_sim.scenario.units import power_words

__all__ = [
    "LOSS_FLOOR",
    "clip_interval",
    "draw_costs",
    "draw_panels",
    "draw_variants",
    "loss_floor",
    "panels_figure",
    "png_bytes",
    "power_of_ten",
]


#: The lowest loss drawn when nothing else sets the axis (no loss anywhere, no target).
LOSS_FLOOR = 1e-6
#: The vertical marks' colours: none of the first colours of the simulated series (a mark
#: in orange read as the orange p99 curve).
_MARK_COLOURS = ("tab:gray", "tab:brown", "tab:olive", "tab:cyan", "tab:pink")
#: The simulated series' colours, one per label over the whole figure (its one legend
#: names each colour once: per panel, the loss panel's packet and frame loss took the
#: latency panel's blue and orange, and the legend listed two blues and two oranges).
_SERIES_COLOURS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "darkgoldenrod",
    "navy",
    "teal",
    "maroon",
    "black",
)
_TARGET: dict[str, Any] = {"color": "tab:red", "linestyle": "-.", "linewidth": 1.3}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig: Any, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (without the writer's metadata, so the bytes are
    reproducible); the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    _pyplot().close(fig)
    return buf.getvalue()


def _arr(v: list[float] | None, n: int) -> np.ndarray:
    if v is None:
        return np.full(n, np.nan)
    return np.array([math.nan if x is None else float(x) for x in v], dtype=np.float64)


def clip_interval(
    mean: np.ndarray, low: np.ndarray, high: np.ndarray, loss: bool, floor: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a panel draws of a mean and its confidence interval: the interval clipped to
    what is possible (a latency ≥ 0, a loss in [0, 1]) and, on a log loss axis, no lower
    than ``floor``, where a zero loss is drawn too. An unknown end (NaN: one replication)
    is the mean."""
    top = 1.0 if loss else math.inf
    lo = np.clip(np.where(np.isfinite(low), low, mean), floor, top)
    hi = np.clip(np.where(np.isfinite(high), high, mean), floor, top)
    shown = np.clip(mean, floor, top) if loss else np.maximum(mean, 0.0)
    return shown, np.minimum(lo, shown), np.maximum(hi, shown)


def loss_floor(panels: list[Panel]) -> float:
    """Where a figure draws a zero loss, one floor for all its loss panels (panel by
    panel, a zero loss sat at 10⁻⁵ in one and 10⁻⁶ in the next): a decade below the
    smallest positive loss or loss target of any of them, :data:`LOSS_FLOOR` when there is
    none."""
    vals = [t.value for p in panels if p.quantity == "loss" for t in p.targets if t.value > 0]
    for s in (s for p in panels if p.quantity == "loss" for s in p.series):
        m = _arr(s.mean, len(s.x))
        vals += [float(v) for v in m[np.isfinite(m) & (m > 0)]]
    return 10 ** math.floor(math.log10(min(vals)) - 1) if vals else LOSS_FLOOR


def power_of_ten(x: float) -> str:
    """A power of ten as people write it: ``10⁻⁵`` (other numbers as ``%g``)."""
    e = round(math.log10(x)) if x > 0 else 0
    return power_words(e) if x > 0 and 10.0**e == x else f"{x:g}"


def _ceiling(panel: Panel) -> float:
    """The top of a latency axis: a quarter above the highest target, mean or interval end
    (worst-case bounds excluded, so they do not flatten the rest); infinite when nothing is
    positive."""
    seen = [t.value for t in panel.targets if math.isfinite(t.value)]
    for s in panel.series:
        if s.style != "bound":
            seen += [
                v for v in (*_arr(s.high, len(s.x)), *_arr(s.mean, len(s.x))) if math.isfinite(v)
            ]
    return 1.25 * max(seen) if seen and max(seen) > 0 else math.inf


def _draw_bound(ax: Any, s: Series, loss: bool, ceiling: float, notes: list[str]) -> None:
    """A worst-case bound as a dashed line; on a latency axis, a note for the part above the
    axis. A bound entirely above the axis is not drawn and stays out of the legend (which
    listed a line no one could see): the note says it is off scale, with its values."""
    x = _arr(s.x, len(s.x))
    m = _arr(s.mean, len(x))
    finite = np.isfinite(m)
    if not finite.any():
        return
    above = m[finite & (m > ceiling)] if not loss else np.empty(0)
    if len(above) == int(finite.sum()):
        low, high = float(above.min()), float(above.max())
        span = f"{low:,.4g} ms" if low == high else f"{low:,.4g}–{high:,.4g} ms"
        notes.append(f"{s.label} off scale (above the axis, not drawn): {span}")
        return
    ax.plot(x, np.where(finite, m, np.nan), "k--", marker=".", label=s.label)
    if len(above):
        notes.append(f"{s.label} above the axis: up to {above.max():,.4g} ms")


def _series_colours(panels: list[Panel]) -> dict[str, str]:
    """A colour per simulated series label, in the order the labels first appear in the
    panels (the same label keeps its colour in every panel)."""
    labels = dict.fromkeys(s.label for p in panels for s in p.series if s.style != "bound")
    return {label: _SERIES_COLOURS[k % len(_SERIES_COLOURS)] for k, label in enumerate(labels)}


def _draw_estimate(
    ax: Any, s: Series, loss: bool, floor: float, notes: list[str], colour: str | None = None
) -> bool:
    """Simulated means with their clipped intervals as error bars (a note when none can be
    drawn), in ``colour`` (``None``: the axes' next); whether a zero loss is among them
    (drawn on the bottom edge)."""
    x = _arr(s.x, len(s.x))
    m = _arr(s.mean, len(x))
    shown, lo, hi = clip_interval(m, _arr(s.low, len(x)), _arr(s.high, len(x)), loss, floor)
    zeros = bool(loss and np.any(np.isfinite(m) & (m <= 0)))
    ok = np.isfinite(shown)
    if not ok.any():
        notes.append(f"{s.label}: no value")
        return zeros
    err = np.vstack([np.maximum(shown - lo, 0), np.maximum(hi - shown, 0)])
    ax.errorbar(
        x[ok], shown[ok], yerr=err[:, ok], capsize=3, marker="o", ms=4, label=s.label, color=colour
    )
    return zeros


def _draw_reference_lines(ax: Any, panel: Panel) -> None:
    """SLA targets as horizontal lines, each named on the line itself (its value: the
    figure's one legend cannot say which panel's target is which), and marks (e.g. a rule's
    last accepted value) as vertical ones."""
    for t in panel.targets:
        if math.isfinite(t.value):
            ax.axhline(t.value, **_TARGET)
            ax.annotate(
                t.label,
                xy=(0.01, t.value),
                xycoords=("axes fraction", "data"),
                xytext=(0, 1.5),
                textcoords="offset points",
                ha="left",
                va="bottom",
                fontsize=6.5,
                color=_TARGET["color"],
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
                gid="target",
            )
    for (x, label), colour in zip(_merged_marks(panel), _MARK_COLOURS, strict=False):
        ax.axvline(x, color=colour, linestyle=":", linewidth=1.6, label=label)


def _merged_marks(panel: Panel) -> list[tuple[float, str]]:
    """The panel's vertical marks, those at one ``x`` drawn as one line with their labels
    joined (``a, b: last value accepted``): two dotted lines at the same place showed only
    the last drawn, while the legend listed both colours."""
    at: dict[float, list[str]] = {}
    for mark in panel.marks:
        at.setdefault(mark.x, []).append(mark.label)
    out = []
    for x, labels in at.items():
        heads = [label.partition(": ") for label in labels]
        if len(labels) > 1 and len({tail for _, _, tail in heads}) == 1 and heads[0][1]:
            out.append((x, ", ".join(head for head, _, _ in heads) + ": " + heads[0][2]))
        else:
            out.append((x, "; ".join(labels)))
    return out


def _set_y_axis(
    ax: Any, loss: bool, floor: float, ceiling: float, zeros: bool, notes: list[str]
) -> None:
    """A loss axis: log scale from ``floor`` (a note when a zero loss sits on its bottom
    edge); a latency axis: linear from 0 to ``ceiling``."""
    if loss:
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, 1.5)
        # packet and frame loss; the floor is the figure's, said on every loss axis
        ax.set_ylabel(f"loss (fraction, log scale;\nno loss drawn at {power_of_ten(floor)})")
        if zeros:
            notes.append(f"no packet lost: drawn at {power_of_ten(floor)}, near the bottom edge")
    else:
        ax.set_ylim(0, ceiling if math.isfinite(ceiling) else None)
        ax.set_ylabel("latency (ms)")


def _draw_notes(ax: Any, notes: list[str]) -> None:
    """The panel's notes in a box under its x-axis label, outside the plot (nothing when
    there are none): inside it, a note hid the curves' last values (the small town's bitrate
    curve at 4×)."""
    if notes:
        ax.annotate(
            "\n".join(textwrap.fill(n, 80) for n in notes),
            xy=(0.5, 0.0),
            xycoords=ax.xaxis.label,
            xytext=(0, -4),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7,
            color="0.2",
            bbox={"boxstyle": "round", "fc": "#fff8e1", "ec": "0.7"},
            gid="notes",
        )


def _draw_panel(
    ax: Any,
    panel: Panel,
    x_label: str,
    integer_x: bool,
    colours: dict[str, str] | None = None,
    figure_floor: float = LOSS_FLOOR,
) -> None:
    loss = panel.quantity == "loss"
    floor = figure_floor if loss else 0.0
    notes = list(panel.notes)
    zeros = False
    ceiling = _ceiling(panel)
    for s in panel.series:
        if s.style == "bound":
            _draw_bound(ax, s, loss, ceiling, notes)
        elif _draw_estimate(ax, s, loss, floor, notes, (colours or {}).get(s.label)):
            zeros = True
    _draw_reference_lines(ax, panel)
    _set_y_axis(ax, loss, floor, ceiling, zeros, notes)
    ax.set_xlabel(x_label)
    ax.set_title(panel.title, fontsize=11)
    if integer_x:
        _integer_ticks(ax, panel)
    ax.grid(True, alpha=0.3)
    _draw_notes(ax, notes)


def _integer_ticks(ax: Any, panel: Panel) -> None:
    """Whole-number ticks on the x axis (years, cameras). A single value got ticks at
    0.945, 0.960, … (the small town's one-year sizing): the axis then spans half a step
    each side of it, its one tick the value itself."""
    xs = sorted({float(x) for s in panel.series for x in s.x if math.isfinite(float(x))})
    if len(xs) == 1:
        ax.set_xlim(xs[0] - 0.5, xs[0] + 0.5)
        ax.set_xticks(xs)
    else:  # the default locator of a linear axis (AutoLocator) is a MaxNLocator
        ax.xaxis.get_major_locator().set_params(integer=True)


#: The last panel grid drawn (its ``repr``) and its PNG: a command that writes a figure and
#: then its report (``curve.png``, ``size.png``, then ``report.html``) draws it once.
_LAST_DRAWN: dict[str, bytes] = {}


def draw_panels(grid: PanelGrid) -> bytes:
    """The panel grid as a landscape PNG (see the module doc); the same grid drawn again
    (equal in every field) gives the last one's bytes without drawing."""
    key = repr(grid)
    if key not in _LAST_DRAWN:
        _LAST_DRAWN.clear()
        _LAST_DRAWN[key] = png_bytes(panels_figure(grid))
    return _LAST_DRAWN[key]


def panels_figure(grid: PanelGrid) -> Any:
    """The panel grid's matplotlib figure (:func:`draw_panels`)."""
    plt = _pyplot()
    n = max(1, len(grid.panels))
    cols = max(1, min(grid.columns, n))
    rows = math.ceil(n / cols)
    width = max(4.6 * cols, 10.0)
    height = min(3.6 * rows + 0.6, width / 1.45)  # landscape, whatever the grid
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    colours = _series_colours(grid.panels)
    floor = loss_floor(grid.panels)
    for k, ax in enumerate(axes.flat):
        if k < len(grid.panels):
            _draw_panel(ax, grid.panels[k], grid.x_label, grid.integer_x, colours, floor)
        else:
            ax.axis("off")
    top = 0.0  # inches taken above the panels: the title, then the legend
    if grid.title:
        fig.suptitle(grid.title, fontsize=13, y=1 - 0.06 / height, va="top")
        top = 0.32
    handles, labels = _figure_legend(axes.flat, grid.panels)
    if handles:
        renderer = fig.canvas.get_renderer()
        # as many columns (up to 4) as fit the figure's width: wider, it was cut at both
        # edges ("SLA target (its value on the line" at the small town's curve)
        for ncol in range(min(4, len(handles)), 0, -1):
            legend = fig.legend(
                handles,
                labels,
                loc="upper center",
                bbox_to_anchor=(0.5, 1 - top / height),
                ncol=ncol,
                fontsize=8,
                frameon=False,
            )
            if ncol == 1 or legend.get_window_extent(renderer).width <= fig.bbox.width:
                break
            legend.remove()
        top += 0.19 * math.ceil(len(handles) / ncol)
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 1 - top / height), h_pad=0.6)
    return fig


def _figure_legend(axes: Any, panels: list[Panel]) -> tuple[list[Any], list[str]]:
    """One legend for the figure, above the panels: every series and mark once (a legend in
    each panel hid its targets and curves), and the SLA target's line style (each target is
    named on its line)."""
    from matplotlib.container import Container
    from matplotlib.lines import Line2D

    seen: dict[str, Any] = {}
    for ax in axes:
        pairs = list(zip(*ax.get_legend_handles_labels(), strict=True))
        # the simulated curves (error-bar containers) first, then bounds and marks
        for handle, label in sorted(pairs, key=lambda hl: not isinstance(hl[0], Container)):
            seen.setdefault(label, handle)
    if any(math.isfinite(t.value) for p in panels for t in p.targets):
        seen["SLA target (its value on the line)"] = Line2D([], [], **_TARGET)
    return list(seen.values()), list(seen)


def _thousands(ax: Any) -> None:
    """Money on the y axis with thousands separators (``140,000``), as in the bars' labels
    and the report's tables."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def draw_costs(chart: CostChart) -> bytes:
    """Cost per period stacked by category, with the total above each bar."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    x = np.arange(len(chart.labels))
    bottom = np.zeros(len(x))
    for name, values in chart.categories.items():
        v = np.array([0.0 if not math.isfinite(c) else c for c in values])
        ax.bar(x, v, 0.6, bottom=bottom, label=name)
        bottom += v
    for xi, total in zip(x, bottom, strict=True):
        ax.annotate(
            f"{total:,.0f}",
            (xi, total),
            ha="center",
            va="bottom",
            fontsize=9,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(x, chart.labels)
    ax.set_ylabel(f"cost ({chart.currency})")
    _thousands(ax)
    ax.set_ylim(0, max(1.0, float(bottom.max(initial=0.0))) * 1.15)
    ax.set_title(chart.title)
    ax.grid(True, axis="y", alpha=0.3)
    if chart.categories:  # beside the bars: over them it hid a year's top categories
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return png_bytes(fig)


#: The characters across the variants chart's bars, at its tick labels' size.
_VARIANT_CHARS = 100


def _fit_label(text: str, chars: int, lines: int = 3) -> str:
    """``text`` wrapped in lines of at most ``chars`` characters (``chars`` at least 8),
    at most ``lines`` of them, the last ending in ``…`` when the text goes on: a label that
    stays within its place in a figure (a long one made the layout give up, with a
    warning on the user's stderr). The tables keep the full text."""
    wrapped = textwrap.wrap(text, max(8, chars), break_on_hyphens=False) or [""]
    if len(wrapped) > lines:
        last = wrapped[lines - 1]
        wrapped = [*wrapped[: lines - 1], last[: max(8, chars) - 1].rstrip() + "…"]
    return "\n".join(wrapped)


def draw_variants(variants: list[Variant], currency: str) -> bytes:
    """What-ifs side by side: cost bars coloured by SLA verdict, each under its name (wrapped,
    and cut with ``…`` when longer than its place: :func:`_fit_label`)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.8))
    colours = {True: "tab:green", False: "tab:red", None: "0.6"}
    x = np.arange(len(variants))
    ax.bar(x, [v.cost for v in variants], 0.6, color=[colours[v.ok] for v in variants])
    for xi, v in zip(x, variants, strict=True):
        ax.annotate(
            f"{v.cost:,.0f}\n{v.verdict_text}",
            (xi, v.cost),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    room = _VARIANT_CHARS // max(1, len(variants))
    ax.set_xticks(x, [_fit_label(v.name, room) for v in variants], fontsize=9)
    ax.set_ylabel(f"cost ({currency})")
    _thousands(ax)
    ax.set_ylim(0, max([1.0, *(v.cost for v in variants)]) * 1.3)
    ax.set_title("What-ifs: cost and SLA verdict")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)
