"""The directed links of a scenario: one per direction of every link, one access link per camera.

The first step of :func:`~vidnet_sim.network.plan.build_plan`. Every camera gets a node of its
own (after the scenario's nodes) and an upstream access link to its attach node (cameras only
send).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from vidnet_sim.scenario.groups import camera_name

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

#: A link's buffer when the scenario gives none.
DEFAULT_BUFFER_BYTES = 1 << 20


class _Row(NamedTuple):
    """One directed link as :func:`build_links` collects it."""

    name: str
    src: int
    dst: int
    rate_bps: int
    prop_ps: int
    buffer_bytes: int
    buffer_packets: int
    usable: bool
    owner: str
    scheduler: str | None


@dataclass(frozen=True)
class LinkTable:
    """Nodes and directed links, one entry per link in each tuple.

    Exactly one of ``buffer_bytes`` / ``buffer_packets`` applies to a link; the other is -1.
    A link that is not ``usable`` is a blocked (protection) link: routes use it only while a
    failure is on.
    """

    node_names: tuple[str, ...]  # the scenario's nodes, then one node per camera
    names: tuple[str, ...]
    src: tuple[int, ...]  # node index
    dst: tuple[int, ...]
    rate_bps: tuple[int, ...]
    prop_ps: tuple[int, ...]
    buffer_bytes: tuple[int, ...]  # -1 when the buffer counts packets
    buffer_packets: tuple[int, ...]  # -1 when the buffer counts bytes
    usable: tuple[bool, ...]  # False: blocked
    owner: tuple[str, ...]  # the scenario link id (or the camera access link)
    scheduler: tuple[str | None, ...]  # the link's own scheduler, if it names one

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return len(self.names)

    def node_index(self) -> dict[str, int]:
        """Node name -> node index."""
        return {n: i for i, n in enumerate(self.node_names)}

    def by_owner(self) -> dict[str, list[int]]:
        """Scenario link id (or camera access link name) -> its directed links."""
        out: dict[str, list[int]] = {}
        for i, owner in enumerate(self.owner):
            out.setdefault(owner, []).append(i)
        return out


def build_links(scenario: Scenario) -> LinkTable:
    """The nodes and directed links of ``scenario`` (already validated by the loader)."""
    rows: list[_Row] = []
    nodes = [n.id for n in scenario.nodes]
    node_index = {n: i for i, n in enumerate(nodes)}
    per_km = scenario.conventions.propagation_per_km
    for link in scenario.links:
        lid = link.id or f"{link.a}-{link.b}"
        a, b = node_index[link.a], node_index[link.b]
        p = _delay_ps(link.delay, link.length, per_km)
        if link.buffer_packets is not None:
            bb, bp = -1, link.buffer_packets
        else:
            bb, bp = (link.buffer if link.buffer is not None else DEFAULT_BUFFER_BYTES), -1
        plain = lid == f"{link.a}-{link.b}"
        directions = [(a, b, link.a, link.b)]
        if link.duplex:
            directions.append((b, a, link.b, link.a))
        for u, v, un, vn in directions:
            name = f"{un}->{vn}" if plain else f"{lid}:{un}->{vn}"
            rows.append(
                _Row(name, u, v, link.rate, p, bb, bp, not link.blocked, lid, link.scheduler)
            )
    columns = [list(column) for column in zip(*rows, strict=True)] or [[] for _ in _Row._fields]
    table = dict(zip(_Row._fields, columns, strict=True))
    for cam in scenario.cameras:  # a column at a time: a city has thousands of cameras
        cameras = [camera_name(cam, i) for i in range(cam.count)]
        names = [f"{c}->{cam.attach}" for c in cameras]
        bb, bp = cam.access_buffer, -1
        if cam.access_buffer_packets is not None:
            bb, bp = -1, cam.access_buffer_packets
        same = {
            "dst": node_index[cam.attach],
            "rate_bps": cam.access_rate,
            "prop_ps": _delay_ps(cam.access_delay, cam.access_length, per_km),
            "buffer_bytes": bb,
            "buffer_packets": bp,
            "usable": True,
            "scheduler": None,
        }
        for key, value in same.items():
            table[key] += [value] * cam.count
        table["name"] += names
        table["owner"] += names
        table["src"] += range(len(nodes), len(nodes) + cam.count)
        nodes += cameras
    return LinkTable(
        node_names=tuple(nodes),
        names=tuple(table["name"]),
        src=tuple(table["src"]),
        dst=tuple(table["dst"]),
        rate_bps=tuple(table["rate_bps"]),
        prop_ps=tuple(table["prop_ps"]),
        buffer_bytes=tuple(table["buffer_bytes"]),
        buffer_packets=tuple(table["buffer_packets"]),
        usable=tuple(table["usable"]),
        owner=tuple(table["owner"]),
        scheduler=tuple(table["scheduler"]),
    )


def _delay_ps(delay: int | None, length: int | None, per_km: int) -> int:
    """A link's propagation delay: given, or from its length, or none."""
    if delay is not None:
        return delay
    if length is not None:
        return (length * per_km) // 1000
    return 0


__all__ = ["DEFAULT_BUFFER_BYTES", "LinkTable", "build_links"]
