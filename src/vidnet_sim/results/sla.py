"""Service-level targets of a traffic class and the check of a summary row against them.

Targets are upper bounds: a value strictly above its target is a violation. Latencies are
integer picoseconds (like the rest of the core); losses are fractions in ``[0, 1]``.
A latency percentile that is NaN means nothing was delivered: that is a violation
("no packets delivered" / "no frames delivered") only when packets (frames) were sent, so a
group that sent nothing during the measured time never fails its SLA.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields

from vidnet_sim.results.metric_words import metric_words

#: The summary column suffix of each latency statistic a target may bound.
_LATENCY_STATS: tuple[str, ...] = ("p50", "p95", "p99", "p999", "max")

#: Time units to show a latency in, largest first: (name, picoseconds).
_UNITS: tuple[tuple[str, int], ...] = (
    ("s", 10**12),
    ("ms", 10**9),
    ("us", 10**6),
    ("ns", 10**3),
    ("ps", 1),
)


@dataclass(frozen=True)
class SlaTargets:
    """Upper bounds for one traffic class; ``None`` means "no target".

    Each target is named after the summary column it bounds: latencies in integer
    picoseconds (``latency_p99_ps=50 * 10**9`` is 50 ms), losses as fractions
    (``loss=1e-4``). ``latency_*`` bound the end-to-end packet latency, ``frame_latency_*``
    the frame latency (capture to last packet delivered).
    """

    latency_p50_ps: int | None = None
    latency_p95_ps: int | None = None
    latency_p99_ps: int | None = None
    latency_p999_ps: int | None = None
    latency_max_ps: int | None = None
    frame_latency_p50_ps: int | None = None
    frame_latency_p95_ps: int | None = None
    frame_latency_p99_ps: int | None = None
    frame_latency_p999_ps: int | None = None
    frame_latency_max_ps: int | None = None
    loss: float | None = None
    frame_loss: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            if f.name.endswith("_ps"):
                if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                    raise ValueError(f"SlaTargets.{f.name}: expected int ps >= 0, got {v!r}")
            elif isinstance(v, bool) or not (
                isinstance(v, numbers.Real) and 0.0 <= float(v) <= 1.0
            ):
                raise ValueError(f"SlaTargets.{f.name}: expected a fraction in [0, 1], got {v!r}")

    def is_empty(self) -> bool:
        """True when no target is set."""
        return all(getattr(self, f.name) is None for f in fields(self))


def format_significant(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits, without an exponent (``62.1``, ``0.00123``).

    Integer parts longer than ``digits`` are kept whole (``62123``). NaN gives ``"-"``.
    """
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{round(x, decimals):.{decimals}f}"


def format_latency(value_ps: float, target_ps: int) -> tuple[str, str]:
    """A latency and its target as text in the same unit, chosen from the target."""
    name, scale = next(((n, s) for n, s in _UNITS if target_ps >= s), _UNITS[-1])
    value = f"{format_significant(value_ps / scale)} {name}"
    target = f"{target_ps / scale:.6g} {name}"
    return value, target


def _number(row: Mapping[str, object], key: str) -> float:
    """``row[key]`` as a float; NaN when missing or NA."""
    v = row.get(key)
    if v is None:
        return math.nan
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # pd.NA and other missing markers
        return math.nan


def check_sla(row: Mapping[str, object], targets: SlaTargets | None) -> list[str]:
    """Readable violations of ``targets`` by one summary row (empty list: all met).

    ``row`` needs the summary columns the targets refer to (``latency_p99_ps``, ``loss``,
    ``frame_latency_max_ps``, ``packets_sent``, ``frames_sent``...), e.g. a ``dict`` from
    ``summary.to_dict("records")`` or a ``pandas.Series``. Messages name the metric in
    words (:func:`~vidnet_sim.results.metric_words.metric_words`), as every report does:
    ``"99th percentile packet latency 62.1 ms > 50 ms"`` or ``"packet loss 1.2e-03 >
    1.0e-04"``.
    """
    if targets is None:
        return []
    out: list[str] = []
    packets_sent = _number(row, "packets_sent")
    frames_sent = _number(row, "frames_sent")
    for prefix, sent, nothing in (
        ("latency_", packets_sent, "no packets delivered"),
        ("frame_latency_", frames_sent, "no frames delivered"),
    ):
        for stat in _LATENCY_STATS:
            column = f"{prefix}{stat}_ps"
            target = getattr(targets, column)
            if target is None:
                continue
            value = _number(row, column)
            if math.isnan(value):
                if sent > 0 and nothing not in out:
                    out.append(nothing)
            elif value > target:
                v, t = format_latency(value, target)
                out.append(f"{metric_words(column)} {v} > {t}")
    for attr, sent, nothing in (
        ("loss", packets_sent, "no packets delivered"),
        ("frame_loss", frames_sent, "no frames delivered"),
    ):
        target = getattr(targets, attr)
        if target is None:
            continue
        value = _number(row, attr)
        if math.isnan(value):  # nothing delivered nor dropped: all still in flight
            if sent > 0 and nothing not in out:
                out.append(nothing)
        elif value > target:
            out.append(f"{metric_words(attr)} {value:.1e} > {target:.1e}")
    return out
