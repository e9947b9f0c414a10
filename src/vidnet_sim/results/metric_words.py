"""Metric names for people: the summary column ``latency_p99_ps`` reads "99th percentile
packet latency" in a report, with its unit ("ms") where a table heads it.

The machine names stay what they are in the Parquet tables and the JSON documents;
:data:`GLOSSARY` lists both, for a report's glossary. :func:`interval_words` says what a
confidence interval of zero width rests on (one run, runs reading one histogram bucket, or
every run equal), which a bare ``[28 ms – 28 ms]``, or no interval at all, would read as
certain.
"""

from __future__ import annotations

import math

from vidnet_sim.core.histogram import SUB_COUNT
from vidnet_sim.results.schema import QUANTILES
from vidnet_sim.scenario.units import percent_words

__all__ = [
    "BUCKET_WIDTH",
    "GLOSSARY",
    "glossary_rows",
    "interval_words",
    "metric_label",
    "metric_unit",
    "metric_words",
]


def _ordinal(q: float) -> str:
    """``99th percentile`` for 0.99, ``99.9th percentile`` for 0.999, ``median`` for 0.5."""
    return "median" if q == 0.5 else f"{100 * q:g}th percentile"


#: Words for each statistic suffix of a latency column.
_STAT_WORDS: dict[str, str] = {
    "mean": "mean",
    "min": "smallest",
    **{name: _ordinal(q) for name, q in QUANTILES},
    "max": "largest",
}

#: Summary column → what it is, in words (a glossary's rows: see :func:`glossary_rows`).
GLOSSARY: dict[str, str] = {
    **{
        f"{prefix}{stat}_ps": f"{words} {what}"
        for prefix, what in (("latency_", "packet latency"), ("frame_latency_", "frame latency"))
        for stat, words in _STAT_WORDS.items()
    },
    "loss": "packet loss",
    "failure_loss": "packet loss to link failures",
    "frame_loss": "frame loss",
    "jitter_ps": "mean jitter",
    "throughput_bps": "throughput",
}

#: What each column's words mean, for the glossary.
_MEANING: dict[str, str] = {
    "packet latency": "end to end, from a packet's emission to its delivery",
    "frame latency": "from a camera frame's capture to its last packet delivered",
    "packet loss": "packets dropped / (delivered + dropped), losses to link failures included",
    "packet loss to link failures": "the part of the packet loss lost to a link failure "
    "(on the failed link, or before the routes converge)",
    "frame loss": "the same for camera frames",
    "mean jitter": "mean difference between the latencies of consecutive packets of a flow",
    "throughput": "bits delivered per measured second, on the wire",
}


def metric_words(metric: str) -> str:
    """A summary column (or an SLA metric) in words: ``latency_p99_ps`` → ``99th
    percentile packet latency``; a name it does not know reads with spaces, without its
    ``_ps`` suffix."""
    return GLOSSARY.get(metric, metric.removesuffix("_ps").replace("_", " "))


def metric_unit(metric: str) -> str:
    """The unit a report shows ``metric`` in: ``ms`` for a time (``..._ps``), ``Mbit/s`` for
    a rate (``..._bps``), ``fraction`` for a loss."""
    if metric.endswith("_ps"):
        return "ms"
    if metric.endswith("_bps"):
        return "Mbit/s"
    return "fraction"


def metric_label(metric: str) -> str:
    """The words and the unit, for a heading or an axis: ``99th percentile packet latency,
    ms``."""
    return f"{metric_words(metric)}, {metric_unit(metric)}"


def glossary_rows(metrics: list[str]) -> list[list[str]]:
    """A glossary's rows for ``metrics`` (each once, in order): the words, the machine name
    (column of the Parquet tables and key of the JSON documents), the unit in reports and in
    the tables, and what it measures."""
    rows = []
    for m in dict.fromkeys(metrics):
        words = metric_words(m)
        stored = "ps" if m.endswith("_ps") else "bit/s" if m.endswith("_bps") else "fraction"
        meaning = next((v for k, v in _MEANING.items() if words.endswith(k)), "")
        unit = metric_unit(m)
        rows.append(
            [words, f"`{m}`", unit if unit == stored else f"{unit} (stored in {stored})", meaning]
        )
    return rows


#: The percentile columns, read from a latency histogram (:mod:`vidnet_sim.core.histogram`):
#: two runs reading the same value read the same bucket, not the same latency.
_HISTOGRAM_READ = frozenset(
    f"{prefix}{name}_ps" for prefix in ("latency_", "frame_latency_") for name, _ in QUANTILES
)

#: How wide a histogram bucket is at most, relative to its lower edge (1/128: 0.8 %).
BUCKET_WIDTH = 1 / SUB_COUNT


def interval_words(low: float, high: float, runs: int | None = None, metric: str = "") -> str:
    """What a confidence interval of zero width, or none, rests on (``""`` for an interval
    of some width): ``one run: no interval``; for a percentile (``metric``, read from a
    latency histogram) ``3 runs in one histogram bucket, at most 0.8 % wide`` (seeds that land in
    the same bucket, not runs that agree); else ``all 3 runs equal``; two runs are ``both
    runs``. A mean read alone would look certain."""
    if math.isnan(low) or math.isnan(high):
        return "one run: no interval" if runs in (None, 1) else "no interval"
    if low != high:
        return ""
    if runs == 1:
        return "one run: no interval"
    many = f"{runs} runs" if runs and runs > 2 else ""  # (unknown: "the runs", "all runs")
    if metric in _HISTOGRAM_READ:
        n = "both runs" if runs == 2 else many or "the runs"
        return f"{n} in one histogram bucket, at most {percent_words(BUCKET_WIDTH, 1)} wide"
    return "both runs equal" if runs == 2 else f"all {many or 'runs'} equal"
