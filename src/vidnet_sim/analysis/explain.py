"""Why a design fails, why each link is at its tier, and what limits the chosen design.

The culprit of a failure is read from the failing class's own path in its worst epoch or
failure case (:func:`_causes`, :func:`_hop`: where its packets were dropped, else where they
waited longest), never from whole-run utilisation nor from a link the class does not cross.
Every link built or upgraded is explained by its mean load or by the failure of the design
one tier lower on it (:func:`_reasons`); the binding SLA of the chosen design is attributed
to its dominant hop (:func:`_binding_hop`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from vidnet_sim.analysis.capacity import Verdict, show_value
from vidnet_sim.analysis.runs import RunRecord
from vidnet_sim.analysis.search import Judgement
from vidnet_sim.analysis.verdict import _Context, _Year
from vidnet_sim.results.metric_words import metric_words
from vidnet_sim.scenario.units import rate_words

#: A rate in an explanation (``412.5 Mbit/s``); the sizing's messages say rates alike.
_show_rate = rate_words


def _cause_text(cause: dict[str, Any]) -> str:
    """``video 99th percentile packet latency 34 ms > 30 ms on core-cc (…)``."""

    m = cause["metric"]
    where = (
        f" on {cause['link']}{'' if cause['sized'] else ' (not sized by this plan)'} "
        f"({cause['why']})"
        if cause["link"]
        else ""
    )
    when = f" in epoch '{cause['epoch']}'" if cause["epoch"] else ""
    if cause.get("case"):
        when = f" during the {cause['case']}" + when
    return (
        f"{cause['class']} {metric_words(m)} {show_value(m, cause['mean'])} > "
        f"{show_value(m, cause['target'])}{when}{where}"
    )


def _worst_epoch(cls: str, metric: str, records: list[RunRecord]) -> tuple[int, str] | None:
    """The epoch (number, label) where ``metric`` of class ``cls`` was worst over the runs;
    ``None`` with a single epoch, or a metric the epochs table does not hold (frames)."""
    col = metric.removeprefix("packet_")
    frames = [
        r.epochs[(r.epochs["level"] == "class") & (r.epochs["name"] == cls)]
        for r in records
        if r.epochs is not None and col in r.epochs.columns
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    ep = pd.concat(frames, ignore_index=True)
    if ep["epoch"].nunique() < 2:
        return None
    worst = ep.groupby("epoch")[col].max()
    if worst.isna().all():
        return None
    vals = worst.astype(float).fillna(-math.inf)
    e = int(vals.index[int(np.argmax(vals.to_numpy()))])
    row = ep.loc[ep["epoch"] == e].iloc[0]
    return e, f"{row['label']}, {row['t_start_ps'] / 1e12:g}–{row['t_end_ps'] / 1e12:g} s"


def _causes(
    yr: _Year, verdict: Verdict, records: list[RunRecord], case: str = ""
) -> list[dict[str, Any]]:
    """Why a design fails, per failing target (worst first): class, metric, measured mean,
    target, the epoch where the class did worst (when the run has several), and the culprit
    on the class's own path: for a loss, the link where its packets were dropped in that
    epoch (the most buffer drops over the runs), else, and for a latency, where they waited
    longest (peak queue wait).
    ``link`` is a sized link's id, or a directed link the plan does not size (a camera's
    access link) with ``position`` ``None``. Never a link the class does not cross, never
    whole-run utilisation."""
    c = verdict.checks
    bad = (c["state"] == "fail") | ((c["state"] == "open") & (c["mean"] > c["target"]))
    out = []
    for row in c[bad].sort_values("ratio", ascending=False).to_dict("records"):
        cls, metric = str(row["class"]), str(row["metric"])
        epoch = _worst_epoch(cls, metric, records)
        out.append(
            {
                "class": cls,
                "metric": metric,
                "mean": float(row["mean"]),
                "target": float(row["target"]),
                "case": case,
                "epoch": epoch[1] if epoch is not None else "",
                **_hop(yr, cls, records, epoch[0] if epoch is not None else None, metric),
            }
        )
    return out


def _hop(
    yr: _Year, cls: str, records: list[RunRecord], epoch: int | None, metric: str = ""
) -> dict[str, Any]:
    """The hop of class ``cls``'s own path that dominates its loss or latency: for a loss,
    the link where its packets were dropped (the most buffer drops over the runs, in
    ``epoch`` when given), else, and for a latency ``metric`` (``..._ps``: a few drops do not
    make a latency), where they waited longest (peak queue wait). ``link``: a sized link's id or
    the directed link's name (``sized`` False: the plan does not size it, e.g. a camera's
    access link); ``position``: the sized link's position; ``why``: the drops or the wait.
    For ``failure_loss``, the packets lost to a failure count instead of buffer drops."""
    col = "fail_drops" if metric == "failure_loss" else "drops"
    lost = "lost to the failure" if col == "fail_drops" else "dropped"
    wait: dict[str, float] = {}
    access: set[str] = set()
    drops: dict[str, float] = {}
    for r in records:
        if r.links is not None:
            for name, w in zip(r.links["link"].astype(str), r.links["peak_wait_ps"], strict=True):
                wait[name] = max(wait.get(name, 0.0), float(w))
            access |= set(r.links.loc[r.links["access"].astype(bool), "link"].astype(str))
        t = r.links
        if epoch is not None and r.epoch_links is not None:
            t = r.epoch_links[r.epoch_links["epoch"] == epoch]
        if t is not None:
            for name, d in zip(t["link"].astype(str), t[col], strict=True):
                drops[name] = drops.get(name, 0.0) + float(d)
    path = sorted(yr.class_dirs.get(cls, set()))
    if not path:
        return {"link": None, "sized": False, "access": False, "position": None, "why": ""}
    worst = max(path, key=lambda x: (drops.get(x, 0.0), wait.get(x, 0.0)))
    if drops.get(worst, 0.0) > 0 and not metric.endswith("_ps"):
        why = f"{drops[worst] / max(len(records), 1):,.0f} packets {lost} per run"
    else:
        worst = max(path, key=lambda x: wait.get(x, 0.0))
        why = f"queue wait up to {show_value('latency_max_ps', wait.get(worst, 0.0))}"
    pos = {d: i for i, ds in enumerate(yr.dirs) for d in ds}.get(worst)
    return {
        "link": yr.ids[pos] if pos is not None else worst,
        "sized": pos is not None,
        "access": worst in access,
        "position": pos,
        "why": why,
    }


def _reasons(
    ctx: _Context,
    yr: _Year,
    levels: tuple[int, ...],
    mean_floor: list[int],
    optimal: bool = False,
) -> dict[str, dict[str, Any]]:
    """Why each link built or upgraded this year is at its tier: its mean offered load
    (``reason`` ``"mean load"``), or the failure of the design one tier lower on that link
    (its group), all else equal (``reason`` ``"sla"``: class, metric, measured mean, target,
    epoch, the hop where it failed, and ``crosses``: whether the class crosses the link),
    or, with the whole bill (where a faster tier can cost less), the cost of that design
    (``reason`` ``"cost"``: it met every SLA but costs more, or, ``optimal`` design, it was
    not judged, so it costs at least as much)."""
    out: dict[str, dict[str, Any]] = {}
    units = {i: [i] for i in range(len(yr.ids))}
    pos = {lid: i for i, lid in enumerate(yr.ids)}
    for g in ctx.groups:
        members = [pos[x] for x in g if x in pos]
        for i in members:
            units[i] = members
    for i, lid in enumerate(yr.ids):
        prev = yr.prev[i]
        if prev is not None and levels[i] == prev:
            continue
        base: dict[str, Any] = {
            "year": yr.year,
            "link": lid,
            "previous_rate_bps": ctx.tiers[prev] if prev is not None else None,
            "rate_bps": ctx.tiers[levels[i]],
        }
        lowest = max([mean_floor[j] for j in units[i]] + [yr.prev[j] or 0 for j in units[i]])
        own = max(mean_floor[i], prev or 0)
        if own < levels[i] <= lowest:  # raised with its group
            top = max(units[i], key=lambda j: (max(mean_floor[j], yr.prev[j] or 0), -j))
            out[lid] = {
                **base,
                "reason": "mean load",
                "mean_load_bps": yr.load[i],
                "text": f"held at one tier with {yr.ids[top]}, whose mean offered load "
                f"{_show_rate(yr.load[top])} needs {_show_rate(ctx.tiers[levels[i]])}",
            }
            continue
        if levels[i] <= lowest:
            out[lid] = {
                **base,
                "reason": "mean load",
                "mean_load_bps": yr.load[i],
                "text": (
                    f"built at the slowest tier above its mean load ({_show_rate(yr.load[i])})"
                    if prev is None
                    else f"mean offered load {_show_rate(yr.load[i])} needs more than "
                    f"{_show_rate(ctx.tiers[levels[i] - 1])}"
                ),
            }
            continue
        lower = list(levels)
        for j in units[i]:
            lower[j] = levels[i] - 1
        judged = yr.memo.get(tuple(lower))
        if judged is None:  # not reached: a cheaper design is judged before
            out[lid] = {
                **base,
                "reason": "cost" if optimal else "not judged",
                "text": "the design one tier lower on this link costs at least as much (not judged)"
                if optimal
                else "the design one tier lower on this link was not judged",
            }
            continue
        if judged[0].ok:
            out[lid] = {
                **base,
                "reason": "cost",
                "text": "the design one tier lower on this link meets every SLA but costs more",
            }
            continue
        causes = _causes(yr, *judged, yr.failed_case.get(tuple(lower), ""))
        crossing = [c for c in causes if i in yr.class_links.get(c["class"], set())]
        if not causes:
            out[lid] = {**base, "reason": "sla", "text": "the design one tier lower failed"}
            continue
        cause = (crossing or causes)[0]
        out[lid] = {
            **base,
            "reason": "sla",
            **{k: v for k, v in cause.items() if k != "position"},
            "hop": cause["link"],
            "link": lid,
            "crosses": bool(crossing),
            "text": f"at {_show_rate(ctx.tiers[levels[i] - 1])}: {_cause_text(cause)}",
        }
    return out


def _case_table(yr: _Year, levels: tuple[int, ...]) -> list[dict[str, Any]]:
    """Every case the chosen design was judged in (normal, then each failure) with its
    binding SLA: class, metric, mean, target and margin ``1 − mean / target``, and the
    factor its runs' duration was extended by (``duration_factor``: 1, or 2, 4… when a
    metric still grew over shorter runs)."""
    out = []
    extended = yr.extended.get(levels, {})
    for name, v in yr.case_verdicts.get(levels, []):
        b = v.binding()
        out.append(
            {
                "year": yr.year,
                "case": name,
                "ok": v.ok,
                "uncertain": v.uncertain,
                "class": b["class"],
                "metric": b["metric"],
                "mean": b["mean"],
                "target": b["target"],
                "margin": 1.0 - b["ratio"],
                "duration_factor": int(extended.get(name, 1)),
            }
        )
    return out


def _binding_hop(yr: _Year, verdict: Verdict, records: list[RunRecord]) -> dict[str, Any]:
    """The binding SLA of the chosen design (the target closest to its limit) and the hop
    of its class's path that dominates it (:func:`_hop`), with a warning when that hop is
    a link the plan does not size."""
    c = verdict.checks
    classes = set()
    for r in records:
        if r.summary is not None:
            classes |= set(r.summary.loc[r.summary["level"] == "class", "name"].astype(str))
    c = c[c["class"].isin(classes)] if classes else c
    if not len(c):
        return {}
    row = c.sort_values("ratio", ascending=False).iloc[0]
    cls, metric = str(row["class"]), str(row["metric"])
    epoch = _worst_epoch(cls, metric, records)
    hop = _hop(yr, cls, records, epoch[0] if epoch is not None else None, metric)
    hop.pop("position")
    out = {
        "class": cls,
        "metric": metric,
        "mean": float(row["mean"]),
        "target": float(row["target"]),
        "epoch": epoch[1] if epoch is not None else "",
        **hop,
    }
    text = (
        f"{cls} {metric_words(metric)} {show_value(metric, out['mean'])} "
        f"(target {show_value(metric, out['target'])})"
    )
    if hop["link"]:
        text += f", dominated by {hop['link']} ({hop['why']})"
        if not hop["sized"]:
            what = "a camera access link" if hop["access"] else "a link"
            text += f": {what} not sized by this plan"
            out["warning"] = (
                f"year {yr.year}: the binding SLA ({cls} {metric_words(metric)}) is "
                f"limited on {hop['link']}, {what} this plan does not size; faster sized "
                "links cannot help it"
            )
    out["text"] = text
    return out


def years_label(years: list[int]) -> str:
    """``year 1``, ``years 1–3`` (consecutive) or ``years 1, 3 and 4``."""
    years = sorted(set(years))
    if not years:
        return "no year"
    if len(years) == 1:
        return f"year {years[0]}"
    if years[-1] - years[0] == len(years) - 1:
        return f"years {years[0]}–{years[-1]}"
    return f"years {', '.join(map(str, years[:-1]))} and {years[-1]}"


def binding_warnings(hops: list[tuple[int, dict[str, Any]]]) -> list[str]:
    """One warning per binding SLA limited on links the plan does not size, naming the years
    it applies to and the link of each year (``hops``: each year with its
    :func:`_binding_hop`): a plan whose every year is bound by the cameras' own access links
    says so once, not once per year."""
    years: dict[tuple[str, str, bool], list[tuple[int, str]]] = {}
    for year, b in hops:
        if "warning" in b:
            key = (str(b["class"]), metric_words(str(b["metric"])), bool(b["access"]))
            years.setdefault(key, []).append((year, str(b["link"])))
    out = []
    for (cls, metric, access), where in years.items():
        if len({link for _, link in where}) == 1:
            what = "a camera access link" if access else "a link"
            on = f"{where[0][1]}, {what} this plan does not size"
        else:
            kind = "camera access links" if access else "links"
            each = ", ".join(f"{link} in year {year}" for year, link in where)
            on = f"{kind} this plan does not size ({each})"
        out.append(
            f"{years_label([y for y, _ in where])}: the binding SLA ({cls} {metric}) is "
            f"limited on {on}; faster sized links cannot help it"
        )
    return out


def _judgement(
    yr: _Year, levels: tuple[int, ...], verdict: Verdict, records: list[RunRecord]
) -> Judgement:
    causes = [] if verdict.ok else _causes(yr, verdict, records, yr.failed_case.get(levels, ""))
    return Judgement(
        verdict.ok,
        frozenset(x["position"] for x in causes if x["position"] is not None),
        (verdict, causes),
    )
