"""Recording storage: what each recorder must keep, from the bytes a run delivered to it.

For every camera stream sent to a node of kind ``recorder``, the payload bytes the run
delivered (``payload_bytes_delivered`` of its statistics group, alarms and every other change
of the run included) are scaled from the measured time (duration minus warm-up) to a day, then
multiplied by the camera group's ``retention_days``. A stream sent to several destinations is
counted once per destination copy; its delivered bytes are shared equally among its
destinations (exact when no copy was lost: the copies differ only by their losses). Headers
(RTP, UDP, IP, Ethernet) are not stored. Terabytes are decimal (10¹² bytes), as disks are sold.

The usable-capacity factor (RAID, file system) and the price are the cost model's business
(:mod:`vidnet_sim.analysis.bill`); this module gives the raw recorded volume.

A run's ``summary`` carries the same figures (:func:`with_storage`): ``storage_tb_per_day``
and ``storage_tb_retention`` on every recorded group's row (all its recorded copies), on
every class row whose groups are recorded (their sum) and on one row per recorder
(``level = "recorder"``, the recorder's totals); NaN on rows with nothing recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from vidnet_sim.scenario.groups import camera_streams, stream_group_name
from vidnet_sim.scenario.model import Scenario

__all__ = [
    "SECONDS_PER_DAY",
    "STORAGE_COLUMNS",
    "TB",
    "mean_storage",
    "recorder_totals",
    "storage_from",
    "storage_manifest",
    "storage_table",
    "with_storage",
]

SECONDS_PER_DAY = 86_400
#: One terabyte (decimal), in bytes.
TB = 10**12
#: The columns of :func:`storage_table`.
STORAGE_COLUMNS = [
    "recorder",
    "group",
    "camera_group",
    "retention_days",
    "bytes_per_day",
    "tb_per_day",
    "tb_retention",
]


def storage_from(scenario: Scenario, per_day: Mapping[str, float]) -> pd.DataFrame:
    """The storage table of ``scenario`` from ``per_day``: statistics group of a camera
    stream → bytes one copy of it brings a destination per day (streams not in it, or not
    sent to a recorder, are left out)."""
    recorders = {n.id for n in scenario.nodes if n.kind == "recorder"}
    rows: list[dict[str, Any]] = []
    for cam in scenario.cameras:
        for st in camera_streams(cam):
            name = stream_group_name(cam, st)
            if name not in per_day:
                continue
            for d in (d for d in st.destinations if d in recorders):
                rows.append(
                    {
                        "recorder": d,
                        "group": name,
                        "camera_group": cam.name,
                        "retention_days": cam.retention_days,
                        "bytes_per_day": per_day[name],
                        "tb_per_day": per_day[name] / TB,
                        "tb_retention": per_day[name] * cam.retention_days / TB,
                    }
                )
    return pd.DataFrame(rows, columns=STORAGE_COLUMNS)


def storage_table(scenario: Scenario, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per recorder and camera stream group recorded there (see the module doc):
    ``bytes_per_day`` recorded, ``tb_per_day`` and ``tb_retention`` (for the group's
    ``retention_days``). ``summary`` is a run's summary table."""
    g = summary[summary["level"] == "group"]
    names = g["name"].astype(str).tolist()
    payload = dict(zip(names, g["payload_bytes_delivered"].astype("int64").tolist(), strict=True))
    measured = dict(zip(names, g["measured_ps"].astype("int64").tolist(), strict=True))
    per_day: dict[str, float] = {}
    for cam in scenario.cameras:
        for st in camera_streams(cam):
            name = stream_group_name(cam, st)
            if name in payload:
                seconds = measured[name] / 1e12
                day = payload[name] / seconds * SECONDS_PER_DAY if seconds > 0 else 0.0
                per_day[name] = day / len(st.destinations)  # one copy's share
    return storage_from(scenario, per_day)


def mean_storage(scenario: Scenario, summaries: Sequence[pd.DataFrame]) -> pd.DataFrame | None:
    """The storage table of ``scenario`` averaged over runs (their summary tables); ``None``
    without any."""
    tables = [storage_table(scenario, s) for s in summaries]
    if not tables:
        return None
    rows = pd.concat(tables, ignore_index=True)
    keys = ["recorder", "group", "camera_group", "retention_days"]
    mean = rows.groupby(keys, sort=False, as_index=False)[
        ["bytes_per_day", "tb_per_day", "tb_retention"]
    ].mean()
    return mean[STORAGE_COLUMNS]


def recorder_totals(storage: pd.DataFrame) -> pd.DataFrame:
    """Per recorder: ``tb_per_day`` and ``tb_retention`` summed over its groups."""
    if not len(storage):
        return pd.DataFrame(columns=["recorder", "tb_per_day", "tb_retention"])
    out = storage.groupby("recorder", sort=True)[["tb_per_day", "tb_retention"]].sum()
    return out.reset_index()


def storage_manifest(storage: pd.DataFrame) -> dict[str, Any]:
    """The ``storage`` entry of a run's manifest: per recorder totals and per group rows."""
    return {
        "recorders": recorder_totals(storage).to_dict(orient="records"),
        "groups": storage.to_dict(orient="records"),
    }


def with_storage(summary: pd.DataFrame, storage: pd.DataFrame) -> pd.DataFrame:
    """``summary`` (a run's summary table) with the recorded volume of ``storage`` (its
    :func:`storage_table`): ``storage_tb_per_day`` and ``storage_tb_retention`` on the rows
    of recorded groups and of their classes, and one row per recorder (``level =
    "recorder"``, ``kind = "recorder"``, no class) holding its totals, after the others;
    a recorder row's packet counters are 0 and its latencies NaN (see the module doc)."""
    out = summary.copy()
    cols = ["storage_tb_per_day", "storage_tb_retention"]
    per_group = storage.groupby("group", sort=False)[["tb_per_day", "tb_retention"]].sum()
    groups = out["level"] == "group"
    for col, src in zip(cols, ["tb_per_day", "tb_retention"], strict=True):
        out[col] = float("nan")
        out.loc[groups, col] = out.loc[groups, "name"].map(per_group[src]).astype("float64")
        by_class = out[groups & out[col].notna()].groupby("class")[col].sum()
        classes = out["level"] == "class"
        out.loc[classes, col] = out.loc[classes, "name"].map(by_class).astype("float64")
    totals = recorder_totals(storage)
    if not len(totals):
        return out
    rows = pd.DataFrame(
        {
            "level": "recorder",
            "name": totals["recorder"].astype(str),
            "class": "",
            "kind": "recorder",
            "storage_tb_per_day": totals["tb_per_day"].astype("float64"),
            "storage_tb_retention": totals["tb_retention"].astype("float64"),
        }
    )
    for col in out.columns:
        if col in rows.columns:
            continue
        dtype = out[col].dtype
        if pd.api.types.is_integer_dtype(dtype):
            rows[col] = 0
        elif pd.api.types.is_bool_dtype(dtype):
            rows[col] = pd.NA
        elif pd.api.types.is_float_dtype(dtype):
            rows[col] = float("nan")
        else:
            rows[col] = ""
        rows[col] = rows[col].astype(dtype)
    return pd.concat([out, rows[list(out.columns)]], ignore_index=True)
