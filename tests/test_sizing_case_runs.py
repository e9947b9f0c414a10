"""On how long a run each value of the sizing's tables rests.

Under N-1 each case of a design is extended on its own by the steady-state check
(docs/analysis.md, "Verdicts that hold in steady state"), so the values of one year may rest
on runs of different lengths: every table that shows a value says the factor of the runs it
was read from.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from test_sizing import RING
from test_sizing_search import fake_verdict
from vidnet_sim.analysis.cost import CostModel
from vidnet_sim.analysis.report import _cut_risk, render_report
from vidnet_sim.analysis.runs import RunRecord
from vidnet_sim.analysis.search import Judgement
from vidnet_sim.analysis.search import Trial as SearchTrial
from vidnet_sim.analysis.sizing import _trial, size_network
from vidnet_sim.analysis.verdict import _Context, _Year

M10, M100 = 10**7, 10**8


def test_a_trial_says_the_runs_of_the_case_its_verdict_is_read_from() -> None:
    """A feasible design whose normal case rests on runs of the scenario's duration and
    whose failure case was extended 4 times: the trial shows the normal case's binding SLA,
    so its factor is 1 (it once showed 4, the longest of any case); a design failing in a
    failure case extended twice shows that case's factor and name."""
    ctx = _Context(CostModel(), [M10, M100], {}, Path("."), None, None, 2, 2, 0.95, 40, None)
    yr = _Year(1, {}, ["a-b"], [["a->b", "b->a"]], [1.0], [None], [0.0], [0.0], {}, {})
    ok, bad = (1,), (0,)
    yr.extended = {ok: {"failure of a-b": 4}, bad: {"normal": 2, "failure of a-b": 2}}
    yr.failed_case = {bad: "failure of a-b"}

    def trial(levels: tuple[int, ...], feasible: bool) -> SearchTrial:
        return SearchTrial(levels, 1.0, Judgement(feasible, detail=(fake_verdict(feasible), [])))

    t = _trial(ctx, yr, trial(ok, True))
    assert (t.case, t.duration_factor) == ("normal", 1)
    t = _trial(ctx, yr, trial(bad, False))
    assert (t.case, t.duration_factor) == ("failure of a-b", 2)


def test_the_margins_and_the_tightest_cut_say_how_long_their_runs_were(tmp_path: Path) -> None:
    """The ring sized under N-1 (stub verdicts), its year's normal case then taken as
    extended twice and a failure case 8 times: the margins table (size_margins) and the
    year table carry the normal case's factor, the report marks the margins read from
    longer runs, and the tightest failure case of the fibre-cut summary says its runs'."""
    f = tmp_path / "ring.toml"
    f.write_text(RING, encoding="utf-8")
    model = CostModel(port=0.0, optics={M10: 1.0, M100: 2.0})
    res = size_network(
        f, model, judge=lambda *a: fake_verdict(True), vendor_check=False, survive="single-link"
    )
    (y,) = res.years
    # the class of the stub's verdict present in a run (the margins list the classes run)
    summary = pd.DataFrame({"level": ["class"], "name": ["data"]})
    y.records = [RunRecord(0.0, 0, 0, "", summary, None, False)]
    y.extended = {"normal": 2, "failure of r0-r1": 8}
    for c in y.cases:
        c["duration_factor"] = y.extended.get(c["case"], 1)
    assert set(res.margins()["duration_factor"]) == {2}
    row = res.year_table().iloc[0]
    assert row["binding_duration_factor"] == 2 and row["duration_factor"] == 8
    report = render_report(res, None)
    margins = report[report.index("| year | class | metric | target |") :].split("\n\n")[0]
    assert "(runs 2× as long)" in margins
    cut = _cut_risk(res, "")
    worst = min((c for c in y.cases if c["case"] != "normal"), key=lambda c: c["margin"])
    assert worst["case"] in cut
    assert ("(runs 8× as long)" in cut) == (worst["case"] == "failure of r0-r1")
