"""Compare two sets of results per traffic class and per link, with confidence intervals.

Each side is a sweep folder, a run folder or a folder of runs, as
:func:`vidnet_sim.read_results` reads them. Rows are matched on the table's keys (class or group
name; link) and on the sweep parameters both sides share; replications of one design are
aggregated into a mean and a Student-t confidence interval.

With many rows, some differences look real by chance, so the false discovery rate is
controlled across all the rows of a comparison: each row gets the p-value of Welch's t-test
(``p_value``, both sides need at least two replications) and its Benjamini–Hochberg adjusted
value (``q_value``); a difference is *significant* when ``q_value <= 1 - confidence`` (then at
most that share of the significant rows are expected to be false discoveries). ``apart``
says whether the two confidence intervals do not overlap (a per-row check, without that
control).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from vidnet_sim.results.files import parquet_bytes, write_file
from vidnet_sim.results.schema import SCHEMAS
from vidnet_sim.results.store import (
    MANIFEST_FILE,
    Results,
    ResultsFolderError,
    check_writable,
)
from vidnet_sim.results.sweep_folder import SWEEP_FILE
from vidnet_sim.sweep.plan import POINT_COLUMNS

__all__ = [
    "DEFAULT_METRICS",
    "benjamini_hochberg",
    "check_table_target",
    "compare_results",
    "parameter_columns",
    "write_table",
]

#: Metrics compared by default, per table.
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "summary": (
        "loss",
        "latency_p50_ps",
        "latency_p99_ps",
        "latency_p999_ps",
        "frame_latency_p99_ps",
        "frame_loss",
        "jitter_ps",
        "throughput_bps",
    ),
    "links": ("utilisation", "loss", "drops", "peak_queue_bytes", "peak_wait_ps", "throughput_bps"),
}

#: Output columns, in order (the parameter columns go after ``name``).
STAT_COLUMNS = (
    "metric",
    "mean_a",
    "ci_a",
    "n_a",
    "mean_b",
    "ci_b",
    "n_b",
    "diff",
    "rel_diff",
    "apart",
    "p_value",
    "q_value",
    "significant",
)


def parameter_columns(df: pd.DataFrame, table: str) -> list[str]:
    """The columns of a table that identify a design: sweep parameters (or ``run``)."""
    own = set(SCHEMAS[table].names)
    return [c for c in df.columns if c not in own and c not in POINT_COLUMNS]


def _t_quantile(confidence: float, dof: np.ndarray) -> np.ndarray:
    from scipy.stats import t

    out = np.full(dof.shape, np.nan)
    ok = dof >= 1
    out[ok] = t.ppf(0.5 + confidence / 2, dof[ok])
    return np.asarray(out, dtype=float)


def _welch_p(out: pd.DataFrame, sd_a: np.ndarray, sd_b: np.ndarray) -> np.ndarray:
    """Two-sided p-values of Welch's t-test per row; NaN with fewer than two replications
    on a side. Two sides without spread differ for sure (p = 0) or not at all (p = 1)."""
    from scipy.stats import ttest_ind_from_stats

    n_a, n_b = out["n_a"].to_numpy(float), out["n_b"].to_numpy(float)
    m_a, m_b = out["mean_a"].to_numpy(float), out["mean_b"].to_numpy(float)
    p = np.full(len(out), np.nan)
    ok = (n_a >= 2) & (n_b >= 2) & np.isfinite(m_a) & np.isfinite(m_b)
    flat = ok & (sd_a == 0) & (sd_b == 0)
    p[flat] = np.where(m_a[flat] == m_b[flat], 1.0, 0.0)
    spread = ok & ~flat
    if spread.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            res = ttest_ind_from_stats(
                m_a[spread], sd_a[spread], n_a[spread], m_b[spread], sd_b[spread], n_b[spread],
                equal_var=False,
            )  # fmt: skip
        p[spread] = np.asarray(res.pvalue, dtype=float)
    return p


def benjamini_hochberg(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (q-values) of ``p``; NaN entries stay NaN and do
    not count as tests. Rejecting every ``q <= alpha`` keeps the false discovery rate at
    most ``alpha`` (for independent or positively dependent tests)."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = len(idx)
    if m == 0:
        return q
    order = idx[np.argsort(p[idx], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def _long(
    df: pd.DataFrame, keys: list[str], params: list[str], metrics: Sequence[str]
) -> pd.DataFrame:
    ids = keys + params
    present = [m for m in metrics if m in df.columns]
    long = df[ids + present].melt(id_vars=ids, value_vars=present, var_name="metric")
    long["value"] = long["value"].astype("float64")
    grouped = long.groupby([*ids, "metric"], sort=False, dropna=False)["value"]
    stats = grouped.agg(["mean", "std", "count"]).reset_index()
    return stats


def _one_table(
    a: pd.DataFrame, b: pd.DataFrame, table: str, metrics: Sequence[str], confidence: float
) -> pd.DataFrame:
    if table == "summary":
        keys = ["level", "name"]
    else:
        a = a.assign(level="link", name=a["link"])
        b = b.assign(level="link", name=b["link"])
        keys = ["level", "name"]
    pa_, pb_ = parameter_columns(a, table), parameter_columns(b, table)
    pa_ = [p for p in pa_ if p not in ("level", "name")]
    pb_ = [p for p in pb_ if p not in ("level", "name")]
    common = [p for p in pa_ if p in pb_]
    la, lb = _long(a, keys, pa_, metrics), _long(b, keys, pb_, metrics)
    # a parameter only one side has keeps its name; a shared one is a join key
    on = [*keys, *common, "metric"]
    merged = la.merge(lb, on=on, how="inner", suffixes=("_a", "_b"), sort=False)
    out = pd.DataFrame({"table": pd.Series([table] * len(merged), dtype="str")})
    for c in [*keys, *pa_, *[p for p in pb_ if p not in pa_]]:
        out[c] = merged[c].to_numpy()
    out["metric"] = merged["metric"].astype("str").to_numpy()
    for side in ("a", "b"):
        n = merged[f"count_{side}"].to_numpy(dtype="int64")
        sd = merged[f"std_{side}"].to_numpy(dtype="float64")
        half = _t_quantile(confidence, (n - 1).astype(float)) * sd / np.sqrt(np.maximum(n, 1))
        out[f"mean_{side}"] = merged[f"mean_{side}"].to_numpy(dtype="float64")
        out[f"ci_{side}"] = np.where(n >= 2, half, np.nan)
        out[f"n_{side}"] = n
    out["diff"] = out["mean_b"] - out["mean_a"]
    base = out["mean_a"].abs()
    out["rel_diff"] = np.where(base > 0, out["diff"] / base.where(base > 0, 1.0), np.nan)
    lo_a, hi_a = out["mean_a"] - out["ci_a"], out["mean_a"] + out["ci_a"]
    lo_b, hi_b = out["mean_b"] - out["ci_b"], out["mean_b"] + out["ci_b"]
    apart = (lo_a > hi_b) | (lo_b > hi_a)
    out["apart"] = (apart & out["ci_a"].notna() & out["ci_b"].notna()).astype("bool")
    sd_a = merged["std_a"].to_numpy(dtype="float64")
    sd_b = merged["std_b"].to_numpy(dtype="float64")
    out["p_value"] = _welch_p(out, sd_a, sd_b)
    return out


def compare_results(
    a: Results,
    b: Results,
    *,
    confidence: float = 0.95,
    metrics: Sequence[str] | None = None,
    groups: bool = False,
    access_links: bool = False,
) -> pd.DataFrame:
    """The per-class and per-link differences ``b - a``, one row per item and metric.

    Columns: ``table`` (summary or links), ``level`` (class, group, recorder or link),
    ``name``, the parameter columns, ``metric``, ``mean_a``, ``ci_a`` (half-width of the
    ``confidence`` interval of the mean; NaN with one replication), ``n_a``, the same for
    ``b``, ``diff``,
    ``rel_diff`` (``diff / |mean_a|``), ``apart`` (the intervals do not overlap),
    ``p_value`` (Welch's t-test), ``q_value`` (Benjamini–Hochberg over all rows) and
    ``significant`` (``q_value <= 1 - confidence``: the false discovery rate across the rows
    is controlled at that level). ``metrics`` (column names of either table) default to
    :data:`DEFAULT_METRICS`; the summary's groups are included with ``groups``, the
    cameras' access links with ``access_links``, the recorders' rows when a storage metric
    (``storage_tb_per_day``, ``storage_tb_retention``) is asked for.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    frames = []
    for table in ("summary", "links"):
        da, db = getattr(a, table), getattr(b, table)
        wanted = (
            [m for m in metrics if m in SCHEMAS[table].names]
            if metrics is not None
            else list(DEFAULT_METRICS[table])
        )
        if table == "summary":
            levels = {"class", *(["group"] if groups else [])}
            if any(m.startswith("storage_") for m in wanted):
                levels.add("recorder")  # the recorders' storage, asked by name
            da, db = da[da["level"].isin(levels)], db[db["level"].isin(levels)]
        if table == "links" and not access_links:
            da, db = (d[~d["access"].fillna(False).astype(bool)] for d in (da, db))
        if wanted:
            frames.append(_one_table(da, db, table, wanted, confidence))
    if not frames:
        return pd.DataFrame(columns=["table", "level", "name", *STAT_COLUMNS])
    out = pd.concat(frames, ignore_index=True)
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(dtype=float))
    out["significant"] = (out["q_value"] <= 1 - confidence).astype("bool")
    params = [c for c in out.columns if c not in ("table", "level", "name", *STAT_COLUMNS)]
    return out[["table", "level", "name", *params, *STAT_COLUMNS]]


def format_value(metric: str, value: float) -> str:
    """A readable value of ``metric``: ms for ``*_ps``, Mbit/s for ``*_bps``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric.endswith("_ps"):
        return f"{value / 1e9:.4g} ms"
    if metric.endswith("_bps"):
        return f"{value / 1e6:.4g} Mbit/s"
    if metric in ("utilisation",):
        return f"{100 * value:.3g} %"
    if metric.endswith("bytes"):
        return f"{value:,.0f} B"
    return f"{value:.4g}"


def check_table_target(path: str | os.PathLike[str]) -> Path:
    """``path``, once a comparison may be written there (:func:`write_table`'s checks, for a
    caller that checks before comparing); raises
    :class:`~vidnet_sim.results.store.ResultsFolderError` otherwise."""
    target = Path(path)
    check_writable(target.parent, target)
    if target.suffix.lower() not in (".parquet", ".csv"):
        raise ResultsFolderError(
            f"cannot write the comparison to {target}: expected a file name ending in "
            f".parquet or .csv, got {target.suffix or 'none'!r}"
        )
    for marker in (MANIFEST_FILE, SWEEP_FILE):
        if (target.parent / marker).is_file():
            raise ResultsFolderError(
                f"cannot write the comparison to {target}: {target.parent} holds results "
                f"({marker}), which the comparison would change; name a file elsewhere"
            )
    return target


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], *, checked: bool = False) -> Path:
    """Write a comparison to ``path`` (Parquet, or CSV by suffix), atomically.

    Raises :class:`~vidnet_sim.results.store.ResultsFolderError` for another suffix, a
    place that cannot be written, or a file in a run or sweep folder (whose files its
    manifest lists: a comparison there would replace one of its tables); ``checked``: the
    caller has just checked ``path`` with :func:`check_table_target`."""
    target = Path(path) if checked else check_table_target(path)
    csv = target.suffix.lower() == ".csv"
    return write_file(target, df.to_csv(index=False) if csv else parquet_bytes(df))
