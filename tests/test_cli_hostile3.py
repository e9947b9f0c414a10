"""Hostile command lines and files, third round: a sweep's problem said once, a search's
range and folder checked before anything runs, damaged or empty files refused by name.

Each case ends in one clear line naming what was wrong and the documented exit code, never
a traceback, and leaves every result as it was.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from test_cli_hostile2 import (  # noqa: F401 (made, curve_copy: fixtures)
    curve_copy,
    invoke,
    last_line,
    made,
    snapshot,
)
from test_cli_messages import SCENARIO  # (the same two-camera scenario)
from vidnet_sim.analysis import runs as runs_mod
from vidnet_sim.analysis import vary as vary_mod
from vidnet_sim.errors import Problem
from vidnet_sim.results import files as files_mod
from vidnet_sim.runner import compile_scenario
from vidnet_sim.sweep.plan import _said_once


def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any simulation of an analysis (in this process: ``--workers 1``) fail the
    test."""

    def refuse(_: None, item: Any) -> Any:
        raise AssertionError("a run was started")

    monkeypatch.setattr(runs_mod, "simulate_run", refuse)


# --------------------------------------------------------------------------- sweep
@pytest.mark.parametrize(
    ("block", "at"),
    [
        ('[sweep.grid]\n"cameras.north.countt" = [1, 2, 3]', 'sweep.grid["cameras.north.countt"]'),
        ('[sweep.random]\nsamples = 4\n[sweep.random.params]\n"cameras.north.countt" = '
         "{ low = 1, high = 9 }", 'sweep.random.params["cameras.north.countt"]'),
    ],
)  # fmt: skip
def test_an_unknown_key_in_a_sweep_is_said_once(tmp_path: Path, block: str, at: str) -> None:
    """A grid (or sample) setting an unknown key was reported once per value, the same
    message each time ("3 problems"): it does not depend on the value, so it is said once,
    at the parameter."""
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    sweep = tmp_path / "sw.toml"
    sweep.write_text(f'[sweep]\nscenario = "s.toml"\n{block}\n', encoding="utf-8")
    code, output = invoke(["sweep", sweep, "--out", tmp_path / "out", "--status"])
    assert code == 3, output
    assert output.splitlines()[1:] == [
        f'  - {at}: every value makes cameras[0] (name="north").countt: unknown key '
        "'countt'; did you mean 'count'?"
    ], output
    assert "1 problem" in output.splitlines()[0]


def test_a_problem_some_values_make_alike_names_them() -> None:
    """Made by some of a parameter's values (not all), the problem names them, the first
    five and how many more."""
    problem = Problem("cameras[0].codec", "unknown codec")
    values: list[tuple[tuple[str | int, ...], Any]] = [(("grid", "k", i), i) for i in range(7)]
    assert str(_said_once(problem, values[:2], 3)) == (
        "sweep.grid.k: the values 0 and 1 make cameras[0].codec: unknown codec"
    )
    assert str(_said_once(problem, values, 9)) == (
        "sweep.grid.k: the values 0, 1, 2, 3, 4 and 2 more make cameras[0].codec: unknown codec"
    )
    assert str(_said_once(problem, values[3:4], 9)) == (
        "sweep.grid.k[3]: 3 makes cameras[0].codec: unknown codec"
    )


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("{ low = 1, high = inf }", "low and high must be finite numbers, got low=1, high=inf"),
        ("{ low = 1.0, high = 9.0, step = nan }", "step must be a positive number, got nan"),
        ("{ low = 1.0, high = 9.0, step = inf }", "step must be a positive number, got inf"),
    ],
)  # fmt: skip
def test_a_sampled_range_that_is_not_finite_is_exit_3(
    tmp_path: Path, param: str, expected: str
) -> None:
    """``[sweep.random]`` with ``high = inf`` ended in ``error: ValueError: Out of range
    float values are not JSON compliant`` (exit 1), ``step = nan`` in ``cannot convert
    float NaN to integer``."""
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    sweep = tmp_path / "sw.toml"
    sweep.write_text(
        '[sweep]\nscenario = "s.toml"\n[sweep.random]\nsamples = 3\n'
        f'[sweep.random.params]\n"cameras.north.fps" = {param}\n',
        encoding="utf-8",
    )
    code, output = invoke(["sweep", sweep, "--out", tmp_path / "out", "--status"])
    assert code == 3, output
    assert last_line(output) == f'  - sweep.random.params["cameras.north.fps"]: {expected}'


@pytest.mark.parametrize("mode", [["--status"], ["--workers", "1"]])
def test_a_sweep_folder_whose_failed_folder_is_a_file(
    made: Path,  # noqa: F811
    tmp_path: Path,
    mode: list[str],
) -> None:
    """``_failed`` a file (not the folder of the failed points) ended ``--status`` in
    ``error: NotADirectoryError`` and a resume in ``error: FileExistsError`` (exit 1)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "_failed").write_text("x", encoding="utf-8")
    code, output = invoke(["sweep", made / "sw.toml", "--out", out, *mode])
    assert code == 2, output
    assert output == (
        f"error: cannot write the sweep to {out}: {out / '_failed'} is a file, not the folder "
        "of the failed points; remove or rename it\n"
    )


# --------------------------------------------------------------------------- capacity
def test_capacity_max_beyond_the_engine_limits_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An explicit ``--max`` was checked against the scenario's fields only: at 11 cameras
    a run of 960 h sends more than 10^10 packets, which the engine refuses, and the search
    started its runs (hours of them) before finding that out. Refused up front (exit 3),
    the limit and the largest value accepted named; each value's network compiled once (the
    one at ``--max`` was compiled again in the search for the largest value accepted)."""
    (tmp_path / "s.toml").write_text(SCENARIO.replace('"200ms"', '"960h"'), encoding="utf-8")
    no_run(monkeypatch)
    compiled: list[int] = []

    def counted(sc: Any, **kw: Any) -> Any:
        compiled.append(sc.cameras[0].count)
        return compile_scenario(sc, **kw)

    monkeypatch.setattr(vary_mod, "compile_scenario", counted)
    args = ["capacity", tmp_path / "s.toml", "--max", "11", "--workers", "1"]
    code, output = invoke([*args, "--out", tmp_path / "cap"])
    assert code == 3, output
    line = last_line(output)
    assert line.startswith(
        "invalid input: --max 11: a run at cameras = 11 would be refused: simulation.duration: "
        "about 1.07·10¹⁰ packets would be simulated in 40 days"
    ), line
    assert line.endswith(
        "the largest value the scenario accepts is 10 (or leave out --max: the search then "
        "ends there)"
    ), line
    assert not (tmp_path / "cap" / "runs").exists()
    assert 11 in compiled and len(compiled) == len(set(compiled)), compiled


def test_a_value_whose_every_run_failed_is_not_judged_a_pass(
    made: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A value none of whose runs finished was judged to meet every SLA (no interval to
    exceed a target): the search doubled up to ``--max`` on nothing and the report then
    failed with ``error: ValueError: range() arg 3 must not be zero`` (exit 1). The
    search stops at that value with one line naming it and the runs' error."""

    def crash(_: None, item: Any) -> Any:
        raise MemoryError("the worker ran out of memory")

    monkeypatch.setattr(runs_mod, "simulate_run", crash)
    args = ["capacity", made / "s.toml", "--max", "8", "--workers", "1", "--replications", "2"]
    code, output = invoke([*args, "--max-replications", "2", "--out", tmp_path / "cap"])
    assert code == 1, output
    assert output == (
        "error: every run at cameras = 2 failed (2 of 2), so the search cannot judge it: "
        "MemoryError: the worker ran out of memory; the runs that finished are stored and "
        "reused when the search is run again\n"
    )


def test_a_value_whose_first_runs_all_failed_gets_no_more_runs(
    made: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A value whose first replications all failed was run again and again up to
    ``--max-replications`` (ten runs failing alike before the error was said): it is decided
    on its first runs, and the search stops there."""
    calls = []

    def crash(_: None, item: Any) -> Any:
        calls.append(item)
        raise MemoryError("the worker ran out of memory")

    monkeypatch.setattr(runs_mod, "simulate_run", crash)
    args = ["capacity", made / "s.toml", "--max", "8", "--workers", "1", "--replications", "2"]
    code, output = invoke([*args, "--max-replications", "10", "--out", tmp_path / "cap"])
    assert code == 1, output
    assert output.startswith("error: every run at cameras = 2 failed (2 of 2), "), output
    assert len(calls) == 2


# --------------------------------------------------------------------------- --out in the way
CURVE = ["curve", "{f}", "--vary", "bitrate", "--from", "1", "--to", "2", "--steps", "2"]
CAPACITY = ["capacity", "{f}", "--max", "4"]
SIZE = ["size", "{f}", "--no-vendor-check"]

#: (the command, what is put in its --out folder, the line expected after "error: ").
IN_THE_WAY = {
    "size.json a folder": (
        SIZE, {"size.json/": None}, "cannot write {out}/size.json: a folder of that name is "
        "in the way; remove or rename it",
    ),
    "report.html a folder": (
        CAPACITY, {"report.html/": None}, "cannot write {out}/report.html: a folder of that "
        "name is in the way; remove or rename it",
    ),
    "the run store a file": (
        CURVE, {"runs": b"x"}, "cannot write {out}/runs: a file of that name is in the way (the "
        "folder of the stored runs); remove or rename it",
    ),
    "capacity over a curve": (
        CAPACITY, {"curve.parquet": b"x", "report.html": b"<p>", "report.json": b"{}"},
        "cannot write the capacity search to {out}: it holds a curve, whose report.json, "
        "report.html the capacity search's would replace; name another folder",
    ),
    "size over a run": (
        SIZE, {"summary.parquet": b"x", "manifest.json": b"{}"},
        "cannot write the sizing to {out}: it holds a run (summary.parquet), and the sizing's "
        "files would be written among its; name another folder",
    ),
    "curve over a sweep": (
        CURVE, {"_sweep.json": b"{}"},
        "cannot write the curve to {out}: it holds a sweep (_sweep.json), and the curve's "
        "files would be written among its; name another folder",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", IN_THE_WAY.values(), ids=IN_THE_WAY.keys())
def test_an_out_folder_in_the_way_is_found_before_anything_runs(
    case: tuple[list[str], dict[str, bytes | None], str],
    made: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``size``, ``capacity`` and ``curve`` found a folder in the way of a file they write
    (or a file in the way of their run store) after the whole search (a sizing of the
    mid-size city: a minute and a half), and wrote their results among another kind's
    (``capacity --out CURVE`` replaced the curve's report). Now before any run, exit 2,
    the folder left as it was."""
    args, content, expected = case
    out = tmp_path / "out"
    out.mkdir()
    for name, data in content.items():
        if data is None:
            (out / name).mkdir()
        else:
            (out / name).write_bytes(data)
    before = snapshot(out)
    no_run(monkeypatch)
    full = [a.format(f=made / "s.toml") for a in args]
    code, output = invoke([*full, "--workers", "1", "--replications", "2", "--out", out])
    assert code == 2, output
    assert output == f"error: {expected.format(out=out)}\n"
    assert snapshot(out) == before and sorted(p.name for p in out.iterdir()) == sorted(
        n.rstrip("/") for n in content
    )


def test_a_whatif_variant_folder_in_the_way_is_found_before_anything_runs(
    made: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file named like a variant's folder ended ``whatif`` in ``error: FileExistsError``
    (exit 1) after the scenario as it is was sized; now at once, exit 2."""
    variants = tmp_path / "v.toml"
    variants.write_text('[[variants]]\nname = "more"\nset = { "cameras[*].count" = 3 }\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / "more").write_text("notes", encoding="utf-8")
    no_run(monkeypatch)
    args = ["whatif", made / "s.toml", variants, "--workers", "1", "--replications", "2"]
    code, output = invoke([*args, "--out", out])
    assert code == 2, output
    assert output == (
        f"error: cannot write {out / 'more'}: a file of that name is in the way; remove or "
        "rename it\n"
    )
    assert [p.name for p in out.iterdir()] == ["more"]


def test_a_curve_and_a_sizing_write_only_the_files_they_declare(
    made: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The names :mod:`vidnet_sim.analysis.out_folder` checks are the names the commands
    write (a file added to a command and not to the list would escape the check)."""
    from vidnet_sim.analysis.out_folder import FILES, RUN_STORE

    curve = made / "curve"
    assert {p.name for p in curve.iterdir()} - {RUN_STORE} <= set(FILES["curve"])
    out = tmp_path / "size"
    code, output = invoke(
        ["size", made / "s.toml", "--workers", "1", "--replications", "2", "--out", out]
    )
    assert code == 0, output
    # the 60 % rule's cost has its currency, as the cost beside it (it had none)
    assert re.search(r"^net present cost: [\d,]+ (\w+) \(60 % rule: [\d,]+ \1\)$", output, re.M)
    assert {p.name for p in out.iterdir()} - {RUN_STORE} == set(FILES["size"])
    doc = json.loads((out / "size.json").read_text(encoding="utf-8"))
    assert doc["years_sized"]


# --------------------------------------------------------------------------- report
def _edited(folder: Path, edit: Any) -> None:
    doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    edit(doc)
    (folder / "report.json").write_text(json.dumps(doc), encoding="utf-8")


def test_a_report_whose_intervals_are_null_is_drawn_without_them(
    curve_copy: Path,  # noqa: F811
) -> None:
    """A series whose ``low`` and ``high`` (its confidence interval) are ``null``, as a
    hand edit or another writer leaves them when no interval is known, ended ``report``
    in ``error: TypeError: 'float' object is not iterable`` (exit 1): ``null`` became NaN,
    not a list. It is drawn as a value without an interval."""

    def no_intervals(doc: dict[str, Any]) -> None:
        for panel in doc["plots"]["panels"]:
            for series in panel["series"]:
                series["low"] = series["high"] = None

    _edited(curve_copy, no_intervals)
    code, output = invoke(["report", curve_copy])
    assert code == 0 and output == f"report: {curve_copy / 'report.html'}\n", output


@pytest.mark.parametrize(
    ("version", "expected"),
    [(None, "version: got null, expected a whole number of 1 or more"),
     ("1", 'version: got "1", expected a whole number of 1 or more'),
     (2, "report data version 2 is newer than this vidnet-sim reads (1); upgrade vidnet-sim")],
)  # fmt: skip
def test_a_report_json_of_no_version_says_so(
    curve_copy: Path,  # noqa: F811
    version: Any,
    expected: str,
) -> None:
    """``"version": null`` was reported as "report data version None is newer than this
    vidnet-sim reads"."""
    _edited(curve_copy, lambda doc: doc.__setitem__("version", version))
    code, output = invoke(["report", curve_copy])
    assert code == 2, output
    assert output == f"error: {curve_copy / 'report.json'}: not usable report data: {expected}\n"


MINIMAL = '"headline": "h", "recommendation": [], "risk": [], "changes": []'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply to be report data"),
        ('{"kind": "size", "title": "t"}',
         "the document: missing key(s): headline, recommendation, risk, changes (a damaged "
         "file, or one of an older vidnet-sim: run the command that wrote it again)"),
        (f'{{"kind": "size", "title": "t", {MINIMAL}, "total_cost": NaN}}',
         "total_cost: got nan, expected a cost (a finite number ≥ 0) or null"),
        (f'{{"kind": "size", "title": "t", {MINIMAL}, "total_cost": Infinity}}',
         "total_cost: got inf, expected a cost (a finite number ≥ 0) or null"),
    ],
    ids=["nested", "keys missing", "NaN cost", "infinite cost"],
)  # fmt: skip
def test_a_report_json_that_is_not_report_data_is_one_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    """A report.json of deeply nested arrays ended in ``error: RecursionError`` (exit 1), one
    without its required keys named the Python constructor's arguments; a
    total cost of ``NaN`` (which Python's JSON reads) was set beside the others as "nan
    USD" in the what-ifs table, ``Infinity`` ended in ``error: ValueError: Axis limits
    cannot be NaN or Inf`` (exit 1)."""
    (tmp_path / "report.json").write_text(text, encoding="utf-8")
    code, output = invoke(["report", tmp_path])
    assert code == 2, output
    assert output == f"error: {tmp_path / 'report.json'}: not usable report data: {expected}\n"


def test_a_report_json_with_a_bom_or_infinite_values_is_drawn(
    curve_copy: Path,  # noqa: F811
) -> None:
    """A report.json saved by an editor with a byte-order mark was refused ("Unexpected
    UTF-8 BOM"); ``Infinity`` in a series (not written by vidnet-sim, which writes
    ``null``) is drawn as no value, like ``null``."""
    _edited(
        curve_copy,
        lambda doc: doc["plots"]["panels"][0]["series"][0].update(
            mean=[math.inf] * len(doc["plots"]["panels"][0]["series"][0]["x"])
        ),
    )
    data = (curve_copy / "report.json").read_bytes()
    assert b"Infinity" in data
    (curve_copy / "report.json").write_bytes(b"\xef\xbb\xbf" + data)
    code, output = invoke(["report", curve_copy])
    assert code == 0 and output == f"report: {curve_copy / 'report.html'}\n", output


# --------------------------------------------------------------------------- --costs
@pytest.mark.parametrize(
    "content", [b"", b"# prices to come\n", b"\xef\xbb\xbf", b"\n\n"], ids=["empty", "comments",
    "a BOM", "blank lines"]
)  # fmt: skip
@pytest.mark.parametrize("command", ["size", "whatif"])
def test_an_empty_costs_file_is_refused(
    made: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    command: str,
) -> None:
    """An empty ``--costs`` file (or one of comments only) silently priced the plan with the
    default costs: a user who names a cost file means it. Refused, naming it, exit 3,
    before anything runs."""
    costs = tmp_path / "costs.toml"
    costs.write_bytes(content)
    variants = tmp_path / "v.toml"
    variants.write_text('[[variants]]\nname = "more"\nset = { "cameras[*].count" = 3 }\n')
    no_run(monkeypatch)
    args = [command, made / "s.toml", *([variants] if command == "whatif" else [])]
    code, output = invoke([*args, "--costs", costs, "--workers", "1", "--out", tmp_path / "o"])
    assert code == 3, output
    assert output.splitlines() == [
        f"invalid input: cost model {costs}: 1 problem",
        "  - the file holds no key and no table (it is empty, or only comments); write the "
        "prices that differ from the defaults (docs/analysis.md, the whole bill), or leave out "
        "--costs for the documented defaults",
    ]


# --------------------------------------------------------------------------- the run store
def test_a_damaged_stored_run_is_simulated_again(
    made: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stored run's table cut short (a crash of the machine, a full disk) ended every later
    ``curve`` over that folder in ``error: ArrowInvalid: ...`` (exit 1), the store's
    files then unusable until deleted by hand; it is simulated again and stored whole.
    The store writes through :func:`~vidnet_sim.results.files.write_file` (one writer),
    without flushing each file to disk (see docs/performance.md)."""
    out = tmp_path / "curve"
    args = ["curve", made / "s.toml", "--vary", "bitrate", "--from", "1", "--to", "2"]
    args += ["--steps", "2", "--replications", "1", "--no-plot", "--workers", "1", "--out", out]
    code, output = invoke(args)
    assert code == 0 and "2 runs (0 reused)" in output, output
    stored = sorted((out / "runs").glob("*.summary.parquet"))
    assert len(stored) == 2 and not [p for p in (out / "runs").iterdir() if p.name[0] == "."]
    stored[0].write_bytes(stored[0].read_bytes()[:100])
    (out / "runs" / stored[1].name.replace("summary", "links")).write_bytes(b"")
    synced: list[bool] = []
    real = files_mod.atomic_write  # type: ignore[attr-defined]

    def recorded(path: Path, data: Any, *, sync: bool = True) -> None:
        synced.append(sync)
        real(path, data, sync=sync)

    monkeypatch.setattr(files_mod, "atomic_write", recorded)
    code, output = invoke(args)
    assert code == 0 and "2 runs (0 reused)" in output, output
    assert synced.count(False) == 2 * 4  # summary, links, epochs, epoch links of each run
    code, output = invoke(args)
    assert code == 0 and "2 runs (2 reused)" in output, output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("energy_per_kwh = inf\n", "  - energy_per_kwh: got inf: expected a finite number"),
        ("[fibre]\nduct_per_km = 1e308\n",
         "  - fibre.duct_per_km: got 1e+308: must be at most 1e+12"),
        ("[recording]\ndisk_tb = 1e-300\n",
         "  - recording.disk_tb: got 1e-300: must be at least 0.01"),
        ("short_reach_km = inf\n", "  - short_reach_km: got inf: expected a finite number"),
        ("fibre_per_km = nan\nport = 1\n", "invalid input: cost model {c}: fibre_per_km: got nan, "
         "expected a cost (a number from 0 to 1e+12)"),
        ('fibre_per_km = 1\n[optics]\n"1Gbps" = inf\n', "invalid input: cost model {c}: "
         "optics.1Gbps: got inf, expected a cost (a number from 0 to 1e+12)"),
    ],
)  # fmt: skip
def test_a_price_that_is_not_finite_is_refused(
    made: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str,
    expected: str,
) -> None:
    """An infinite or astronomic price in ``--costs`` was taken: a link-only table of
    ``nan`` or ``inf`` sized with exit 0 and a NaN bill, an infinite energy price ended in
    "no design can be built (the cost model has no price for it)", a disk of 10^-300 TB
    priced recording at a 300-digit sum. Refused with the key and its bounds, exit 3."""
    costs = tmp_path / "costs.toml"
    costs.write_text(content, encoding="utf-8")
    no_run(monkeypatch)
    args = ["size", made / "s.toml", "--costs", costs, "--workers", "1"]
    code, output = invoke([*args, "--out", tmp_path / "o"])
    assert code == 3, output
    assert last_line(output) == expected.format(c=costs)


# --------------------------------------------------------------------------- whatif
def test_a_variant_named_dot_dot_stays_inside_the_out_folder(
    made: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A variant named ".." had the folder ``<out>/..``: its sizing (size.json, the
    reports, its run store) was written into the parent of ``--out``, beside it."""
    variants = tmp_path / "v.toml"
    variants.write_text('[[variants]]\nname = ".."\nset = { "cameras[*].count" = 3 }\n')
    out = tmp_path / "w" / "out"
    args = ["whatif", made / "s.toml", variants, "--workers", "1", "--replications", "2"]
    code, output = invoke([*args, "--out", out])
    assert code == 0, output
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]
    assert {"baseline", "variant"} <= {p.name for p in out.iterdir()}


def test_a_variant_path_that_is_no_path_is_exit_3(made: Path, tmp_path: Path) -> None:  # noqa: F811
    """A variant setting ``"cameras[["`` ended in ``error: PathError: ...`` (exit 1)."""
    variants = tmp_path / "v.toml"
    variants.write_text('[[variants]]\nname = "a"\nset = { "cameras[[" = 3 }\n')
    code, output = invoke(["whatif", made / "s.toml", variants, "--out", tmp_path / "w"])
    assert code == 3, output
    assert output == (
        "invalid input: variant \"a\": cameras[[: not a field path: 'cameras[[' (at character "
        "8); write keys joined by '.', and array items as [0] or [\"name\"], e.g. "
        "'cameras[0].count'\n"
    )


# --------------------------------------------------------------------------- compare
def test_compare_with_a_sweep_of_no_finished_point_says_so(
    made: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """``compare`` of a sweep folder none of whose points had run printed "0 difference(s),
    0 significant" and exit 0, as if the two had been compared and found alike."""
    sweep = tmp_path / "sweep"
    code, output = invoke(["sweep", made / "sw.toml", "--out", sweep, "--print-sbatch"])
    assert code == 0 and (sweep / "_sweep.json").is_file(), output
    code, output = invoke(["compare", sweep, made / "run", "--out", tmp_path / "c.csv"])
    assert code == 2, output
    assert output == (
        f"error: {sweep}: no finished run to compare (a sweep none of whose points is done: "
        "`vidnet-sim sweep FILE --status` lists them)\n"
    )
    assert not (tmp_path / "c.csv").exists()


# --------------------------------------------------------------------------- size
@pytest.mark.parametrize(
    ("duration", "extra", "given"),
    [
        ("200ms", ["--duration", "40ms"], "--duration: got 40ms"),
        ("30ms", [], "year 1's simulation.duration: got 30ms"),
    ],
)
def test_size_runs_too_short_for_the_stationarity_check_are_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duration: str, extra: list[str], given: str
) -> None:
    """``size`` cuts every run into 50 report intervals for its stationarity check; runs
    under 50 ms made intervals under the 1 ms a scenario accepts, and every run of every
    design failed ("simulation.report_interval: got '800000000ps'"), reported as a partial
    sizing. Now one line before any run, exit 3; with ``--max-extend 1`` (no check) such
    runs are allowed."""
    f = tmp_path / "s.toml"
    f.write_text(SCENARIO.replace('duration = "200ms"', f'duration = "{duration}"'))
    no_run(monkeypatch)
    args = ["size", f, *extra, "--workers", "1", "--out", tmp_path / "out"]
    code, output = invoke(args)
    assert code == 3, output
    assert output == (
        f"invalid input: {given}; the stationarity check cuts every run into 50 report "
        "intervals of at least 1ms, so runs must last at least 50ms (or give --max-extend 1: "
        "no check)\n"
    )
    assert not (tmp_path / "out").exists()
