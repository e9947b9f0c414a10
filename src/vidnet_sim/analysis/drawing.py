"""The network drawn for a report: nodes, cameras gathered per switch, links by rate tier.

:func:`network_view` turns a scenario (and, when known, each link's tier, mean load and
utilisation) into a :class:`~vidnet_sim.analysis.report_data.NetworkView`; :func:`draw_network`
draws it with matplotlib. Nodes are placed at their coordinates when every node has them
(``x``/``y`` or ``lat``/``lon``, :mod:`vidnet_sim.scenario.coordinates`), otherwise in layers
by hops from the centre (the control centres, recorders and data centres, or the cameras'
destinations): centre on top, then core, ring or aggregation, access at the bottom; a
large network's gathered districts beside their node (in its row, or below it). The
cameras of a switch are one box below it (count and groups), or beside it where below would
cover another node's name or box; links are coloured and thickened by rate tier and labelled
with tier, mean load and headroom (1 − utilisation); the binding link is outlined in red. A
label sits at the middle of its link, or slides along it (then beside it) until it covers no
other label, node, name or camera box; a link that would run straight through another node
is drawn as an arc.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

from vidnet_sim.analysis.plots import png_bytes
from vidnet_sim.analysis.report_data import NetLink, NetNode, NetworkView
from vidnet_sim.scenario.coordinates import coordinate_system, node_points
from vidnet_sim.scenario.units import percent_words, rate_words

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

__all__ = ["CENTRE_KINDS", "LARGE_NETWORK", "draw_network", "network_view", "show_rate"]

#: Node kinds that make up the centre of a layered drawing.
CENTRE_KINDS = frozenset({"control_centre", "recorder", "datacentre"})
#: Above this many nodes a layered drawing gathers its districts (the camera switches under
#: one node), and if it is still this large labels only the links that matter (busiest,
#: changed, at the centre), camera boxes give only their count, and the figure widens with
#: its rows. (At 40 the mid-size city's 28 nodes were drawn one by one: its 20 switches
#: and their labels overlapped in two rows.)
LARGE_NETWORK = 20
_PALETTE = ("#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def show_rate(bps: float) -> str:
    """A rate as a council reads it: ``10G``, ``100M``, ``412M``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.3g}{unit}"
    return f"{bps:.3g}"


def _show_load(bps: float) -> str:
    """A load in the unit that keeps it a plain number: ``381 Mbit/s``, ``5.05 Gbit/s``
    (three significant digits; ``5.05e+03 Mbit/s`` is no figure for a council)."""
    return rate_words(bps, 3)


def _layers(scenario: Scenario) -> dict[str, int]:
    """Hops of every node from the centre (unreachable nodes: one layer below the rest)."""
    ids = [n.id for n in scenario.nodes]
    adj: dict[str, list[str]] = {i: [] for i in ids}
    for link in scenario.links:
        adj[link.a].append(link.b)
        adj[link.b].append(link.a)
    centre = [n.id for n in scenario.nodes if n.kind in CENTRE_KINDS]
    if not centre:
        centre = sorted({d for c in scenario.cameras for d in c.destinations} & set(ids))
    if not centre:
        centre = [max(ids, key=lambda i: len(adj[i]))]
    depth = dict.fromkeys(centre, 0)
    queue = deque(centre)
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if v not in depth:
                depth[v] = depth[u] + 1
                queue.append(v)
    lowest = max(depth.values(), default=0) + 1
    return {i: depth.get(i, lowest) for i in ids}


def network_view(
    scenario: Scenario,
    title: str,
    *,
    rates: dict[str, float] | None = None,
    lengths_m: dict[str, float] | None = None,
    loads_bps: dict[str, float] | None = None,
    utilisation: dict[str, float] | None = None,
    binding: str | None = None,
    changed: dict[str, str] | None = None,
    caption: str = "",
) -> NetworkView:
    """The drawing's data for ``scenario``: per link (scenario link id) the tier ``rates``
    (default: the scenario's), ``lengths_m``, mean ``loads_bps``, ``utilisation``, the
    ``binding`` link and what ``changed`` (e.g. ``"built"``, ``"1G→10G"``)."""
    layers = _layers(scenario)
    system = coordinate_system(scenario)
    points = node_points(scenario)
    cams: dict[str, tuple[int, list[str]]] = {}
    for c in scenario.cameras:
        n, groups = cams.get(c.attach, (0, []))
        cams[c.attach] = (n + c.count, [*groups, c.name])
    nodes = [
        NetNode(
            id=n.id,
            kind=n.kind,
            layer=layers[n.id],
            x=points[n.id][0] if n.id in points else None,
            y=points[n.id][1] if n.id in points else None,
            cameras=cams.get(n.id, (0, []))[0],
            groups=cams.get(n.id, (0, []))[1],
        )
        for n in scenario.nodes
    ]
    links = []
    for link in scenario.links:
        lid = str(link.id)
        links.append(
            NetLink(
                id=lid,
                a=link.a,
                b=link.b,
                rate_bps=float((rates or {}).get(lid, link.rate)),
                length_m=float((lengths_m or {}).get(lid, 0.0)),
                load_bps=(loads_bps or {}).get(lid),
                utilisation=(utilisation or {}).get(lid),
                binding=lid == binding,
                changed=(changed or {}).get(lid, ""),
            )
        )
    if system and len(points) < len(scenario.nodes):
        missing = [n.id for n in scenario.nodes if n.id not in points]
        caption = (caption + " " if caption else "") + (
            "Layered layout: node(s) " + ", ".join(missing[:5]) + " have no coordinates."
        )
        system = ""
    view = NetworkView(title, nodes, links, system, caption)
    return _districts(view) if len(nodes) > LARGE_NETWORK and not system else view


def _districts(view: NetworkView) -> NetworkView:
    """A large network with its districts gathered: the camera switches hanging from one
    node by a single link each (three or more) become one district node, their uplinks one
    drawn link (``count``; the busiest uplink's tier, load and headroom; what changed on
    some of them, with how many)."""
    degree: dict[str, list[NetLink]] = {n.id: [] for n in view.nodes}
    for link in view.links:
        degree[link.a].append(link)
        degree[link.b].append(link)
    node = {n.id: n for n in view.nodes}
    leaves: dict[str, list[str]] = {}
    for n in view.nodes:
        if n.cameras and len(degree[n.id]) == 1 and n.kind not in CENTRE_KINDS:
            link = degree[n.id][0]
            leaves.setdefault(link.b if link.a == n.id else link.a, []).append(n.id)
    gathered = {p: ids for p, ids in leaves.items() if len(ids) >= 3}
    if not gathered:
        return view
    gone = {i for ids in gathered.values() for i in ids}
    nodes = [n for n in view.nodes if n.id not in gone]
    links = [lk for lk in view.links if lk.a not in gone and lk.b not in gone]
    for parent, ids in gathered.items():
        did = f"{parent} district"
        nodes.append(
            NetNode(
                did,
                "switch",
                node[ids[0]].layer,
                cameras=sum(node[i].cameras for i in ids),
                groups=[f"{len(ids)} switches"],
                district=True,
            )
        )
        ups = [degree[i][0] for i in ids]
        busiest = max(ups, key=lambda lk: lk.utilisation or 0.0)
        links.append(
            NetLink(
                f"{did} uplinks",
                did,
                parent,
                busiest.rate_bps,
                busiest.length_m,
                busiest.load_bps,
                busiest.utilisation,
                any(lk.binding for lk in ups),
                _changes_of(ups),
                len(ups),
            )
        )
    caption = (view.caption + " " if view.caption else "") + (
        "Districts gathered: the camera switches under one node drawn as one, their uplinks "
        "as one line labelled with the count and the busiest uplink's figures."
    )
    return NetworkView(view.title, nodes, links, view.coordinates, caption)


def _changes_of(ups: list[NetLink]) -> str:
    """What changed on some of a district's uplinks, with how many: ``1 of 5: 1G→10G in
    year 4`` (the line is drawn at the busiest uplink's tier: it must not read as all five
    upgraded)."""
    counts: dict[str, int] = {}
    for lk in ups:
        if lk.changed:
            counts[lk.changed] = counts.get(lk.changed, 0) + 1
    return "; ".join(
        change if n == len(ups) else f"{n} of {len(ups)}: {change}"
        for change, n in sorted(counts.items())
    )


def _positions(view: NetworkView) -> tuple[dict[str, tuple[float, float]], float]:
    """Node → drawing position, and the offset of a camera box below its node."""
    if view.coordinates and all(n.x is not None and n.y is not None for n in view.nodes):
        pts = {n.id: (float(n.x or 0.0), float(n.y or 0.0)) for n in view.nodes}
        if view.coordinates == "latlon":
            lat0 = math.radians(sum(p[1] for p in pts.values()) / len(pts))
            pts = {k: (p[0] * math.cos(lat0), p[1]) for k, p in pts.items()}
        xs = [p[0] for p in pts.values()]
        ys = [p[1] for p in pts.values()]
        extent = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
        return pts, 0.09 * extent
    adj: dict[str, list[str]] = {n.id: [] for n in view.nodes}
    for link in view.links:
        adj[link.a].append(link.b)
        adj[link.b].append(link.a)
    # a district hangs beside its node (:func:`_beside_parent`), not in the row below: there
    # it sat among the ring's nodes, its box on a ring link
    districts = {n.id: adj[n.id][0] for n in view.nodes if n.district and len(adj[n.id]) == 1}
    rows: dict[int, list[str]] = {}
    for n in view.nodes:
        if n.id not in districts:
            rows.setdefault(n.layer, []).append(n.id)
    pos: dict[str, tuple[float, float]] = {}
    width = max(len(r) for r in rows.values())
    for layer in sorted(rows):
        members = rows[layer]
        if layer > min(rows):  # under their neighbours of the row above (fewer crossings)

            def centre(i: str, layer: int = layer) -> float:
                up = [pos[j][0] for j in adj[i] if j in pos]
                return sum(up) / len(up) if up else math.inf

            members = sorted(members, key=centre)
        k = len(members)
        for j, i in enumerate(members):
            pos[i] = ((j - (k - 1) / 2) * width / max(k, 1) * 1.6, -float(layer))
    middle = sum(x for x, _ in pos.values()) / len(pos) if pos else 0.0
    for did, parent in districts.items():
        px, py = pos[parent]
        near = [  # its links' other ends, and the nodes about it (districts placed before)
            xy
            for j, xy in pos.items()
            if j in adj[parent] or (j != parent and math.hypot(xy[0] - px, xy[1] - py) < 2.0)
        ]
        pos[did] = _beside_parent(pos[parent], near, 1.0, middle)
    return pos, 0.5


def _beside_parent(
    at: tuple[float, float], near: list[tuple[float, float]], reach: float, middle: float
) -> tuple[float, float]:
    """Where a district goes beside its node at ``at``: ``reach`` to the right, to the left
    or below it, whichever direction is furthest in angle from the points ``near`` (the
    node's links' other ends, the nodes about it; of equal ones, the side away from the
    drawing's ``middle``, then below). A ring drawn in layers keeps its districts outside
    it, each clear of the ring's links: in its node's row, or in the row below when the
    sides are no clearer."""
    x, y = at
    angles = [math.atan2(ny - y, nx - x) for nx, ny in near if (nx, ny) != at]
    outward = 0.0 if x >= middle else math.pi

    def clearance(d: float) -> float:
        return min(
            (abs((d - a + math.pi) % (2 * math.pi) - math.pi) for a in angles), default=math.pi
        )

    ways = (outward, math.pi - outward, -math.pi / 2)
    best = max(ways, key=lambda d: round(clearance(d), 6))
    return x + reach * math.cos(best), y + reach * math.sin(best)


def _fullest_row(pos: dict[str, tuple[float, float]]) -> int:
    """How many nodes the fullest row of the drawing holds."""
    rows: dict[float, int] = {}
    for _, y in pos.values():
        rows[y] = rows.get(y, 0) + 1
    return max(rows.values(), default=0)


def _figure_width(pos: dict[str, tuple[float, float]], large: bool) -> float:
    """The figure's width in inches: 12, or for a large network wider with its fullest row
    (up to 30)."""
    if not large:
        return 12.0
    return min(30.0, max(12.0, 0.55 * _fullest_row(pos)))


def _link_label(link: NetLink) -> str:
    """A link's label: count × tier, length, change; mean load; headroom; BUSIEST (the
    link outlined in red: the most utilised, which need not be where the binding SLA is
    decided: that may be a camera's own access link)."""
    label = [show_rate(link.rate_bps)]
    if link.count > 1:
        label[0] = f"{link.count} × {label[0]}"
    if link.length_m > 0:
        label[0] += f", {link.length_m / 1000:.3g} km"
    if link.changed:
        label[0] += f" ({link.changed})"
    if link.load_bps is not None and math.isfinite(link.load_bps):
        label.append(f"load {_show_load(link.load_bps)}")
    if link.utilisation is not None and math.isfinite(link.utilisation):
        label.append(f"{percent_words(1 - link.utilisation)} headroom")
    if link.binding:
        label.append("BUSIEST")
    return "\n".join(label)


#: Where along its link a label may sit (fraction of the way from one end), in order of
#: preference: the middle, then further out, until it overlaps no other label or node.
_ALONG = (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.15, 0.85)


#: A link whose straight line passes this close to another node (as a share of the
#: drawing's extent) is drawn as an arc, so that it does not read as two links through it.
_THROUGH = 0.02
#: How far an arc bows out, as a share of its link's length.
_BOW = 0.12

#: A link's path: its two ends and, for an arc, the control point of its quadratic curve.
Path = tuple[tuple[float, float], tuple[float, float], tuple[float, float] | None]


def _along(path: Path, t: float) -> tuple[float, float]:
    """The point a share ``t`` of the way along ``path``."""
    (x1, y1), (x2, y2), c = path
    if c is None:
        return x1 + t * (x2 - x1), y1 + t * (y2 - y1)
    u = 1 - t
    return (
        u * u * x1 + 2 * u * t * c[0] + t * t * x2,
        u * u * y1 + 2 * u * t * c[1] + t * t * y2,
    )


def _paths(view: NetworkView, pos: dict[str, tuple[float, float]]) -> dict[str, Path]:
    """Each link's path: straight, or an arc bowing away from the drawing's middle when the
    straight line would pass through another node (a centre row cc, nvr, dc: cc–dc drawn
    straight runs through nvr and reads as cc–nvr–dc)."""
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    sx, sy = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    out: dict[str, Path] = {}
    for link in view.links:
        (x1, y1), (x2, y2) = pos[link.a], pos[link.b]
        dx, dy = (x2 - x1) / sx, (y2 - y1) / sy  # in shares of the extent
        length2 = dx * dx + dy * dy
        through = False
        for n, (x, y) in pos.items():
            if n in (link.a, link.b) or length2 == 0:
                continue
            px, py = (x - x1) / sx, (y - y1) / sy
            t = (px * dx + py * dy) / length2
            if 0 < t < 1 and math.hypot(px - t * dx, py - t * dy) < _THROUGH:
                through = True
                break
        if not through:
            out[link.id] = ((x1, y1), (x2, y2), None)
            continue
        nx, ny = -dy, dx  # a normal, in shares; away from the middle of the drawing
        hx, hy = (x1 + x2) / 2, (y1 + y2) / 2
        if nx * (hx - mx) / sx + ny * (hy - my) / sy < 0:
            nx, ny = -nx, -ny
        bow = 2 * _BOW  # the curve reaches half its control point's distance
        out[link.id] = ((x1, y1), (x2, y2), (hx + bow * nx * sx, hy + bow * ny * sy))
    return out


def _draw_links(
    ax: Any,
    view: NetworkView,
    paths: dict[str, Path],
    tiers: list[float],
    colour: dict[float, str],
    large: bool,
) -> list[tuple[NetLink, Path]]:
    """Links coloured and thickened by tier, the binding one outlined in red; returns the
    links to label with their paths (on a large network only the links that matter:
    binding, changed, bundled or at the centre), the busiest first."""
    layer = {n.id: n.layer for n in view.nodes}
    labels = []
    for link in view.links:
        path = paths[link.id]
        line = [_along(path, i / 32) for i in range(33)] if path[2] else [path[0], path[1]]
        xs, ys = [p[0] for p in line], [p[1] for p in line]
        k = tiers.index(link.rate_bps)
        if link.binding:
            ax.plot(xs, ys, color="tab:red", lw=9 + 2 * k, alpha=0.35, zorder=1)
        ax.plot(xs, ys, color=colour[link.rate_bps], lw=1.8 + 1.6 * k, zorder=2)
        if large and not (
            link.binding or link.changed or link.count > 1 or min(layer[link.a], layer[link.b]) == 0
        ):
            continue  # a large network: labels on the links that matter only
        labels.append((link, path))
    return sorted(labels, key=lambda item: not item[0].binding)


def _overlap(a: Any, b: Any) -> float:
    """The area two display boxes (matplotlib ``Bbox``) share."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _beside(ax: Any, path: Path, t: float, box: Any, side: float) -> tuple[float, float]:
    """The point where a label of display box ``box`` sits beside ``path`` at ``t``, just
    clear of the line on ``side`` (+1 or -1) of it, in data coordinates."""
    a = ax.transData.transform(_along(path, max(0.0, t - 0.01)))
    b = ax.transData.transform(_along(path, min(1.0, t + 0.01)))
    dx, dy = b[0] - a[0], b[1] - a[1]
    norm = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / norm * side, dx / norm * side
    reach = abs(nx) * box.width / 2 + abs(ny) * box.height / 2 + 3.0  # pixels
    c = ax.transData.transform(_along(path, t))
    x, y = ax.transData.inverted().transform((c[0] + nx * reach, c[1] + ny * reach))
    return float(x), float(y)


def _place_labels(
    fig: Any,
    ax: Any,
    labels: list[tuple[NetLink, Path]],
    taken: list[tuple[Any, float]],
    small: float,
) -> list[Any]:
    """Label each link at the first point along it (:data:`_ALONG`), then beside it (either
    side, at the middle and the quarters), where its box overlaps no box ``taken`` (nodes,
    their names, camera boxes, the legend, each with the weight of covering it; labels placed
    before), else where it overlaps them least, weighted (links fanning out of one node have
    their middles closer than a label is wide; a short link has no free place on it).
    Returns the labels' text artists."""
    renderer = fig.canvas.get_renderer()
    pad = 0.2 * small * fig.dpi / 72  # the label box's padding, in pixels
    taken = list(taken)
    out = []
    for link, path in labels:
        text = ax.text(
            *_along(path, 0.5),
            _link_label(link),
            ha="center",
            va="center",
            fontsize=small,
            color="tab:red" if link.binding else "black",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.8", "alpha": 0.9},
            zorder=5,
        )
        size = text.get_window_extent(renderer).padded(pad)
        places = [_along(path, t) for t in _ALONG]
        places += [_beside(ax, path, t, size, s) for t in (0.5, 0.3, 0.7) for s in (1.0, -1.0)]
        best: tuple[float, tuple[float, float], Any] | None = None
        for xy in places:
            text.set_position(xy)
            box = text.get_window_extent(renderer).padded(pad)
            cost = sum(weight * _overlap(box, other) for other, weight in taken)
            if best is None or cost < best[0]:
                best = (cost, xy, box)
            if cost == 0:
                break
        assert best is not None
        text.set_position(best[1])
        taken.append((best[2], 1.0))
        out.append(text)
    return out


def _marker_area(n: NetNode, large: bool) -> float:
    """A node's marker area, in points²."""
    return (420 if n.kind in CENTRE_KINDS else 260) / (3 if large else 1)


def _marker_boxes(fig: Any, ax: Any, view: NetworkView, pos: Any, large: bool) -> list[Any]:
    """Each node's marker as a display box."""
    from matplotlib.transforms import Bbox

    out = []
    for n in view.nodes:
        x, y = ax.transData.transform(pos[n.id])
        r = math.sqrt(_marker_area(n, large)) / 2 * fig.dpi / 72
        out.append(Bbox([[x - r, y - r], [x + r, y + r]]))
    return out


def _draw_node(
    ax: Any, n: NetNode, xy: tuple[float, float], large: bool, small: float, crowded: bool
) -> Any:
    """A node (centre kinds as yellow squares) with its name (slanted in ``crowded`` rows);
    returns the name's text."""
    x, y = xy
    centre = n.kind in CENTRE_KINDS
    ax.scatter(
        [x],
        [y],
        s=_marker_area(n, large),
        marker="s" if centre else "o",
        color="#ffe9a8" if centre else "#dfe9f5",
        edgecolors="black",
        zorder=6,
    )
    return ax.annotate(
        n.id,
        (x, y),
        xytext=(0, 8 if large else 13),
        textcoords="offset points",
        ha="center",
        fontsize=small if large else 9,
        fontweight="bold",
        rotation=30 if crowded else 0,
        zorder=7,
    )


#: Where a node's camera box may sit, in order of preference: ``drop`` below the node, then
#: beside it (right, left; its top just under the node's centre, clear of the name above
#: it), then below and to one side: (the share of ``drop`` below, the offset in points
#: across and up, horizontal alignment, vertical alignment).
_CAMERA_PLACES = (
    (1.0, 0.0, 0.0, "center", "top"),
    (0.0, 12.0, -2.0, "left", "top"),
    (0.0, -12.0, -2.0, "right", "top"),
    (1.0, 8.0, 0.0, "left", "top"),
    (1.0, -8.0, 0.0, "right", "top"),
)


def _camera_text(n: NetNode, large: bool) -> str:
    """A camera box's text: count and groups (a large network: the count, but for a
    district)."""
    if large and not n.district:
        return f"{n.cameras:,}"
    groups = ", ".join(n.groups[:3]) + ("…" if len(n.groups) > 3 else "")
    return f"{n.cameras:,} cameras\n{groups}"


def _place_camera_boxes(
    fig: Any,
    ax: Any,
    view: NetworkView,
    pos: dict[str, tuple[float, float]],
    drop: float,
    large: bool,
    small: float,
    taken: list[tuple[Any, float]],
) -> list[Any]:
    """Each node's cameras as one box joined to it by a grey line, at the first place of
    :data:`_CAMERA_PLACES` where it covers nothing ``taken`` (node names, markers, the
    legend, boxes placed before) and stays in the figure, else where it covers least
    (weighted): a district below another in a layered drawing had its box on the lower
    district's name. Returns the boxes' texts."""
    from matplotlib.transforms import offset_copy

    renderer = fig.canvas.get_renderer()
    pad = 0.3 * small * fig.dpi / 72  # the box's padding ("round": 0.3 of the font size)
    frame = fig.bbox
    taken = list(taken)
    out = []
    for n in view.nodes:
        if not n.cameras:
            continue
        x, y = pos[n.id]
        best: tuple[float, Any, tuple[float, float], Any] | None = None
        for below, across, up, ha, va in _CAMERA_PLACES:
            anchor = (x, y - below * drop)
            text = ax.text(
                *anchor,
                _camera_text(n, large),
                ha=ha,
                va=va,
                fontsize=small,
                bbox={"boxstyle": "round", "fc": "#f3f3f3", "ec": "0.5"},
                zorder=6,
                transform=offset_copy(ax.transData, fig=fig, x=across, y=up, units="points"),
            )
            box = text.get_window_extent(renderer).padded(pad)
            cost = sum(weight * _overlap(box, other) for other, weight in taken)
            outside = box.width * box.height - _overlap(box, frame)
            cost += 20.0 * outside
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                end = ax.transData.inverted().transform(text.get_transform().transform(anchor))
                best = (cost, text, (float(end[0]), float(end[1])), box)
            else:
                text.remove()
            if cost == 0:
                break
        assert best is not None
        _, text, end, box = best
        ax.plot([x, end[0]], [y, end[1]], color="0.55", lw=1, zorder=3)
        taken.append((box, 4.0))
        out.append(text)
    return out


def _draw_legend(ax: Any, view: NetworkView, tiers: list[float], colour: dict[float, str]) -> Any:
    """A legend of the rate tiers (and of the busiest link's outline when there is one)."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=colour[t], lw=1.8 + 1.6 * k, label=f"{_show_load(t)} tier")
        for k, t in enumerate(tiers)
    ]
    if any(link.binding for link in view.links):
        handles.append(Line2D([], [], color="tab:red", lw=8, alpha=0.35, label="busiest link"))
    return ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.9)


def _set_frame(
    ax: Any,
    view: NetworkView,
    pos: dict[str, tuple[float, float]],
    drop: float,
    paths: dict[str, Path],
) -> None:
    """Limits around the nodes, their camera boxes and the arcs; coordinate axes when the
    nodes are placed at their coordinates (equal aspect), none for a layered drawing."""
    arcs = [_along(p, 0.5) for p in paths.values() if p[2] is not None]
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    padx = max(0.15 * (max(xs) - min(xs)), drop)
    top = max(ys) + (0.8 if view.coordinates else 0.5) * drop
    ax.set_xlim(min(xs + [x for x, _ in arcs]) - padx, max(xs + [x for x, _ in arcs]) + padx)
    ax.set_ylim(
        min([min(ys) - 2.2 * drop] + [y - 0.5 * drop for _, y in arcs]),
        max([top] + [y + 0.5 * drop for _, y in arcs]),
    )
    if view.coordinates:
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("x (m)" if view.coordinates == "xy" else "longitude (scaled)")
        ax.set_ylabel("y (m)" if view.coordinates == "xy" else "latitude (°)")
    else:
        ax.axis("off")


def draw_figure(view: NetworkView) -> tuple[Any, list[Any]]:
    """The network's matplotlib figure, and its link labels' text artists (placed clear of
    each other and of the nodes, :func:`_place_labels`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos, drop = _positions(view)
    tiers = sorted({link.rate_bps for link in view.links})
    colour = {t: _PALETTE[min(k + 1, len(_PALETTE) - 1)] for k, t in enumerate(tiers)}
    large = len(view.nodes) > LARGE_NETWORK
    width = _figure_width(pos, large)
    fig, ax = plt.subplots(figsize=(width, width * 7 / 12))
    # small print only where a row holds more labels than the figure is wide (an inch
    # each): the large city, its districts gathered, has rows of at most four nodes
    crowded = large and _fullest_row(pos) * 1.0 > width
    small = 5.5 if crowded else 7.5
    paths = _paths(view, pos)
    labels = _draw_links(ax, view, paths, tiers, colour, large)
    drawn = [_draw_node(ax, n, pos[n.id], large, small, crowded) for n in view.nodes]
    drawn.append(_draw_legend(ax, view, tiers, colour))
    _set_frame(ax, view, pos, drop, paths)
    ax.set_title(view.title, fontsize=13)
    fig.tight_layout()  # before the boxes and labels are placed: it moves the axes
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas
    # what a box or label may cover, and how badly: a node hidden is worse than a name, and a
    # name worse than another label's edge (a short link with no free place takes the least
    # bad)
    taken = [(a.get_window_extent(renderer), 4.0) for a in drawn]
    taken += [(box, 20.0) for box in _marker_boxes(fig, ax, view, pos, large)]
    boxes = _place_camera_boxes(fig, ax, view, pos, drop, large, small, taken)
    taken += [(b.get_window_extent(renderer), 4.0) for b in boxes]
    return fig, _place_labels(fig, ax, labels, taken, small)


def draw_network(view: NetworkView) -> bytes:
    """The network as a landscape PNG (see the module doc)."""
    fig, _ = draw_figure(view)
    return png_bytes(fig)
