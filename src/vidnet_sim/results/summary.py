"""Plain views of a run's tables for programs: SLA violations and the ``--json`` summary.

Both accept :class:`~vidnet_sim.results.tables.Tables` or
:class:`~vidnet_sim.results.store.Results` (a sweep's ``run`` column is kept). The
human-readable view is the command's (``vidnet_sim.cli.summary``).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import pandas as pd

from vidnet_sim.results.store import to_jsonable


class TablesLike(Protocol):
    """Anything with ``summary`` and ``links`` DataFrames (``Tables``, ``Results``)."""

    summary: pd.DataFrame
    links: pd.DataFrame


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``df`` as dicts keyed by column name."""
    return [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]


def is_missing(x: object) -> bool:
    """Whether a cell holds no value (``None``, ``NA`` or NaN)."""
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def sla_violations(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(who, violation) of every row, e.g. ``("group cams-north", "loss 1.2e-03 > 1.0e-04")``."""
    out: list[tuple[str, str]] = []
    for row in summary.to_dict("records"):
        text = row.get("sla_violations")
        if is_missing(text) or not text:
            continue
        who = f"{row['level']} {row['name']}"
        if "run" in row:
            who = f"{row['run']}: {who}"
        out += [(who, v) for v in str(text).split("; ")]
    return out


def summary_json(tables: TablesLike) -> dict[str, Any]:
    """The summary, links and epochs as JSON-ready records (NaN and NA become ``null``).

    ``{"summary": [...], "links": [...], "epochs": [...], "sla": {"checked": bool,
    "violations": int, "ok": bool | None}}``; ``ok`` is ``None`` when no class has targets.
    ``epochs`` holds the ``epochs`` table (groups and classes); the per-epoch link table is
    left out (it has a row per epoch and link: read ``epoch_links.parquet``).
    """
    s = tables.summary
    n = len(sla_violations(s))
    checked = bool(s["sla_ok"].notna().any())
    epochs = getattr(tables, "epochs", None)
    return {
        "summary": to_jsonable(s.to_dict("records")),
        "links": to_jsonable(tables.links.to_dict("records")),
        "epochs": to_jsonable([] if epochs is None else epochs.to_dict("records")),
        "sla": {"checked": checked, "violations": n, "ok": (n == 0) if checked else None},
    }
