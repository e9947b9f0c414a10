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
    for cam in scenario.cameras:
        p = _delay_ps(cam.access_delay, cam.access_length, per_km)
        for i in range(cam.count):
            cname = camera_name(cam, i)
            name = f"{cname}->{cam.attach}"
            u, v = len(nodes), node_index[cam.attach]
            bb, bp = cam.access_buffer, -1
            if cam.access_buffer_packets is not None:
                bb, bp = -1, cam.access_buffer_packets
            rows.append(_Row(name, u, v, cam.access_rate, p, bb, bp, True, name, None))
            nodes.append(cname)
    return LinkTable(
        node_names=tuple(nodes),
        names=tuple(r.name for r in rows),
        src=tuple(r.src for r in rows),
        dst=tuple(r.dst for r in rows),
        rate_bps=tuple(r.rate_bps for r in rows),
        prop_ps=tuple(r.prop_ps for r in rows),
        buffer_bytes=tuple(r.buffer_bytes for r in rows),
        buffer_packets=tuple(r.buffer_packets for r in rows),
        usable=tuple(r.usable for r in rows),
        owner=tuple(r.owner for r in rows),
        scheduler=tuple(r.scheduler for r in rows),
    )


def _delay_ps(delay: int | None, length: int | None, per_km: int) -> int:
    """A link's propagation delay: given, or from its length, or none."""
    if delay is not None:
        return delay
    if length is not None:
        return (length * per_km) // 1000
    return 0


__all__ = ["DEFAULT_BUFFER_BYTES", "LinkTable", "build_links"]
