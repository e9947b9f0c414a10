"""Classes, queues, per-link schedulers and per-queue buffers (rule 11).

Without a ``[qos]`` table every link has one FIFO queue holding every class, with the link's
own buffer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from vidnet_sim.scenario.model import Scenario

I64 = npt.NDArray[np.int64]

SCHED_FIFO, SCHED_PRIORITY, SCHED_DRR = 0, 1, 2
SCHED_CODES = {"fifo": SCHED_FIFO, "priority": SCHED_PRIORITY, "drr": SCHED_DRR}
#: The DRR quantum of the one queue of a link without QoS (a full Ethernet frame).
DEFAULT_QUANTUM_BYTES = 1538


@dataclass(frozen=True)
class QosPlan:
    """Classes and queues, and each link's scheduler and queue buffers."""

    class_names: list[str]
    group_class: I64  # index into class_names
    queue_names: list[str]
    class_queue: I64  # class -> queue (0 = first served)
    queue_quantum: I64  # DRR quantum in bytes
    link_sched: I64  # SCHED_FIFO / _PRIORITY / _DRR
    link_queue_buffer_bytes: I64  # (L, Q); -1: in packets
    link_queue_buffer_packets: I64  # (L, Q); -1: in bytes


def fifo_qos(
    group_classes: Sequence[str], buffer_bytes: Sequence[int], buffer_packets: Sequence[int]
) -> QosPlan:
    """One FIFO queue per link with the link's buffer; classes in order of first use."""
    class_names, group_class = _classes(group_classes)
    n_links = len(buffer_bytes)
    return QosPlan(
        class_names=class_names,
        group_class=group_class,
        queue_names=["default"],
        class_queue=np.zeros(len(class_names), np.int64),
        queue_quantum=np.array([DEFAULT_QUANTUM_BYTES], np.int64),
        link_sched=np.zeros(n_links, np.int64),
        link_queue_buffer_bytes=np.array(buffer_bytes, np.int64).reshape(n_links, 1),
        link_queue_buffer_packets=np.array(buffer_packets, np.int64).reshape(n_links, 1),
    )


def compile_qos(
    scenario: Scenario,
    group_classes: Sequence[str],
    link_scheduler: Sequence[str | None],
    buffer_bytes: Sequence[int],
    buffer_packets: Sequence[int],
) -> QosPlan:
    """The QoS of ``scenario``'s links: ``link_scheduler`` names each link's own scheduler
    (None: the ``[qos]`` default); ``buffer_*`` are the links' own buffers."""
    qos = scenario.qos
    if qos is None:
        return fifo_qos(group_classes, buffer_bytes, buffer_packets)
    class_names, group_class = _classes(group_classes)
    n_links = len(buffer_bytes)
    queues = [qos.queues[i] for i in qos.queue_order()]
    marks = qos.class_dscp()
    class_queue = [next(k for k, q in enumerate(queues) if marks[c] in q.dscp) for c in class_names]
    qb = np.zeros((n_links, len(queues)), np.int64)
    qp = np.zeros((n_links, len(queues)), np.int64)
    for k, q in enumerate(queues):
        if q.buffer is not None:
            qb[:, k], qp[:, k] = q.buffer, -1
        elif q.buffer_packets is not None:
            qb[:, k], qp[:, k] = -1, q.buffer_packets
        else:
            qb[:, k], qp[:, k] = buffer_bytes, buffer_packets
    sched = [SCHED_CODES[s if s is not None else qos.scheduler] for s in link_scheduler]
    return QosPlan(
        class_names=class_names,
        group_class=group_class,
        queue_names=[q.name for q in queues],
        class_queue=np.array(class_queue, np.int64),
        queue_quantum=np.array([max(1, round(q.weight * qos.quantum)) for q in queues], np.int64),
        link_sched=np.array(sched, np.int64),
        link_queue_buffer_bytes=qb,
        link_queue_buffer_packets=qp,
    )


def _classes(group_classes: Sequence[str]) -> tuple[list[str], I64]:
    """The classes in order of first use, and each group's class index."""
    class_names = list(dict.fromkeys(group_classes))
    return class_names, np.array([class_names.index(c) for c in group_classes], np.int64)


__all__ = [
    "DEFAULT_QUANTUM_BYTES",
    "SCHED_CODES",
    "SCHED_DRR",
    "SCHED_FIFO",
    "SCHED_PRIORITY",
    "QosPlan",
    "compile_qos",
    "fifo_qos",
]
