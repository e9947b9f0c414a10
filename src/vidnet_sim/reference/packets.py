"""Packets of the reference engine: one object per generated packet, one per copy on a link."""

from __future__ import annotations

from vidnet_sim.traffic.generate import G_FRAME, G_NPK, G_PAYLOAD, G_SEQ, G_T, G_WIRE

#: How a packet ended for one delivery flow (``Packet.outcome``).
DELIVERED, DROPPED, FAILED = 1, 2, 3


class Packet:
    """One generated packet of one tree (``docs/model.md`` rule 12): what all its copies
    share, and its outcome for each delivery flow of the tree it was emitted on."""

    __slots__ = (
        "emit",
        "flows",
        "frame",
        "npk",
        "outcome",
        "payload",
        "queue",
        "seq",
        "tree",
        "wire",
    )

    def __init__(self, tree: int, queue: int, flows: tuple[int, ...], row: list[int]) -> None:
        self.tree = tree
        self.queue = queue  # its queue on links with a scheduler (rule 11)
        self.flows = flows  # delivery flows of its tree's layout at emission
        self.seq = row[G_SEQ]
        self.emit = row[G_T]
        self.wire = row[G_WIRE]
        self.payload = row[G_PAYLOAD]
        self.frame = row[G_FRAME]
        self.npk = row[G_NPK]
        #: delivery flow -> (time, DELIVERED / DROPPED / FAILED), filled as the copies end
        self.outcome: dict[int, tuple[int, int]] = {}


class Copy:
    """A packet at one position of its tree, from its arrival at the position's link."""

    __slots__ = ("key", "link", "log_row", "packet", "pos", "service", "t_arrival")

    def __init__(self, packet: Packet, pos: int, link: int, t_arrival: int) -> None:
        self.packet = packet
        self.key = (packet.tree, packet.seq)  # the order of equal-time arrivals (rule 4)
        self.pos = pos
        self.link = link
        self.t_arrival = t_arrival
        self.service = 0  # transmission time on this link, set on admission
        self.log_row = -1
