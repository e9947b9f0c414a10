"""A traffic source's parameters as one row, and the codes of its kind and packet sizes.

:func:`~vidnet_sim.traffic.sources.build_sources` collects one :class:`SourceRow` per source
(:mod:`vidnet_sim.traffic.services` the rows a service expands to), then turns the rows
into the columns of a :class:`~vidnet_sim.traffic.sources.SourceTable`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidnet_sim.traffic.rng import source_key

__all__ = [
    "BEH_DAY_NIGHT",
    "BEH_MOTION",
    "C_BURST_FREE",
    "C_BURST_POS",
    "C_GOP_CUR",
    "C_GOP_OVERRIDE",
    "C_GOP_POS",
    "C_MOD_COUNT",
    "C_MOD_END",
    "C_MOD_STATE",
    "KIND_BURST",
    "KIND_CAMERA",
    "KIND_CBR",
    "KIND_NAMES",
    "KIND_ONOFF",
    "KIND_POISSON",
    "KIND_TRACE",
    "N_CARRY",
    "PS_PER_S",
    "SIZE_CHOICE",
    "SIZE_EXPONENTIAL",
    "SIZE_FIXED",
    "SIZE_UNIFORM",
    "SourceRow",
    "cbr_interval_ps",
    "keyed_row",
    "new_row",
]

# Camera behaviour flags (``SourceTable.beh_flags``); 0: the plain GOP model.
BEH_MOTION = 1
BEH_DAY_NIGHT = 2

# Columns of ``SourceState.carry``.
C_MOD_STATE = 0
C_MOD_END = 1
C_MOD_COUNT = 2
C_GOP_CUR = 3
C_GOP_POS = 4
C_GOP_OVERRIDE = 5
C_BURST_POS = 6
C_BURST_FREE = 7
N_CARRY = 8

KIND_CAMERA = 0
KIND_CBR = 1
KIND_POISSON = 2
KIND_TRACE = 3
KIND_ONOFF = 4  # CBR while on; Pareto on and off periods (traffic/modulation.py)
KIND_BURST = 5  # Poisson bursts of back-to-back packets (responses to Poisson requests)
KIND_NAMES = ("camera", "cbr", "poisson", "trace", "onoff", "burst")


SIZE_FIXED = 0
SIZE_UNIFORM = 1
SIZE_CHOICE = 2
SIZE_EXPONENTIAL = 3  # size_a: the mean, size_b: the cap (see generate._draw_size)

PS_PER_S = 10**12


@dataclass
class SourceRow:
    """One source's parameters while
    :func:`~vidnet_sim.traffic.sources.build_sources` collects them (a column each)."""

    name: str
    origin: str
    dests: list[str]
    group: int
    kind: int
    key: np.uint64
    header: int
    start: int
    stop: int  # -1: never
    anchor: int
    fps_num: int = 1
    fps_den: int = 1
    gop: int = 1
    gop_offset: int = 0
    p_mean: float = 0.0
    ip_ratio: float = 1.0
    p_sigma: float = 0.0
    i_sigma: float = 0.0
    max_payload: int = 1
    interval: int = 0
    mean_gap: float = 0.0
    size_kind: int = SIZE_FIXED
    size_a: int = 0
    size_b: int = 0
    trace_start: int = 0
    trace_end: int = 0
    trace_period: int = 0
    multicast: bool = False
    beh_flags: int = 0
    motion_scale: float = 1.0
    motion_gop: int = 0
    dn_day: int = 0
    dn_night: int = 0
    dn_tod0: int = 0
    dn_night_scale: float = 1.0
    mod_key: np.uint64 | None = None  # None: the row's own key
    mod_t0: int = 0
    mod_mean0: float = 0.0
    mod_mean1: float = 0.0
    mod_shape0: float = 0.0
    mod_shape1: float = 0.0
    burst_packets: int = 0
    burst_delay: int = 0


def new_row(
    seed: int,
    name: str,
    origin: str,
    dests: list[str],
    group: int,
    kind: int,
    header: int,
    start: int,
    stop: int | None,
) -> SourceRow:
    """A row keyed by ``(seed, name)``, starting (anchor) at ``start``."""
    return keyed_row(
        name, origin, dests, group, kind, source_key(seed, name, 0), header, start, stop
    )


def keyed_row(
    name: str,
    origin: str,
    dests: list[str],
    group: int,
    kind: int,
    key: np.uint64,
    header: int,
    start: int,
    stop: int | None,
) -> SourceRow:
    """A row with the key ``key``, starting (anchor) at ``start``, stopping at ``stop``
    (``None``: never; ``-1`` in the row). :func:`new_row` keys it by its name; a template
    shared by rows that each get their own key later takes any."""
    return SourceRow(
        name=name,
        origin=origin,
        dests=list(dests),
        group=group,
        kind=kind,
        key=key,
        header=header,
        start=start,
        stop=-1 if stop is None else stop,
        anchor=start,
    )


def cbr_interval_ps(wire_bytes: int, rate_bps: int) -> int:
    """Packet interval of ``wire_bytes`` packets at ``rate_bps``, rounded to the nearest ps
    (at least 1 ps)."""
    num = wire_bytes * 8 * PS_PER_S
    return max(1, (2 * num + rate_bps) // (2 * rate_bps))
