"""A run folder is replaced whole or not at all: fault tests of the write, concurrent writers.

Writers are forked children of the test process, killed with SIGKILL at every step of the
write (through the ``atomic.on_step`` hook, set only in the child) and after random delays;
both ways of swapping the folder are tried: the one-step exchange (Linux), and the fallback
that renames the old folder aside, with its recovery. Whatever the moment, ``read_results``
reads one run whole, byte for byte, or refuses. Real ``vidnet-sim run`` processes are killed
and raced as well.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from test_results import make_stats
from vidnet_sim.results import (
    RUN_SCHEMAS,
    ResultsNotFoundError,
    build_tables,
    read_results,
    store,
)
from vidnet_sim.results import atomic as atomic_mod
from vidnet_sim.results import store as store_mod
from vidnet_sim.results.store import RUN_FILES, run_files, write_run_files
from vidnet_sim.sweep.store import SweepStore

MINIMAL = Path(__file__).resolve().parent / "data" / "minimal.toml"
MODES = pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "aside"])

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forks its writers")


@pytest.fixture(scope="module")
def runs() -> list[dict[str, bytes]]:
    """The files of two different runs: seed 1, then seed 2."""
    return [
        run_files(build_tables(make_stats(measured_ps=k * 10**12)), {"seed": k}) for k in (1, 2)
    ]


@pytest.fixture
def mode(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """``mode(False)`` makes the writers (forked after it) use the rename-aside fallback."""

    def set_mode(exchange: bool) -> None:
        # looked up before forking (a child of a threaded process should not load libraries)
        can_exchange = atomic_mod._renameat2() is not None
        if not exchange:
            monkeypatch.setattr(atomic_mod, "_exchange", lambda a, b: False)
        else:
            assert can_exchange or sys.platform != "linux"

    return set_mode


def fork(body: Callable[[], None]) -> int:
    """Run ``body`` in a forked child (which never returns here); its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            body()
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    return pid


def wait(pid: int) -> int:
    """The child's exit code, or minus the signal that ended it."""
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def kill_at(step: int) -> Callable[[str], None]:
    count = 0

    def hook(label: str) -> None:
        nonlocal count
        count += 1
        if count == step:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def write_killed_at(out: Path, files: dict[str, bytes], step: int) -> None:
    def body() -> None:
        atomic_mod.on_step = kill_at(step)
        write_run_files(out, files)

    assert wait(fork(body)) == -signal.SIGKILL


def seed_of(out: Path, runs: list[dict[str, bytes]]) -> int:
    """``out`` read as exactly one of ``runs``: every file byte for byte, nothing else in
    the folder; its seed."""
    res = read_results(out)
    seed = int(res.manifest["seed"])
    assert seed in (1, 2)
    assert sorted(os.listdir(out)) == sorted(RUN_FILES)
    for name, data in runs[seed - 1].items():
        assert (out / name).read_bytes() == data, name
    return seed


def steps_of_a_replacement(out: Path, files: dict[str, bytes]) -> list[str]:
    """The steps of writing ``out`` (a replacement if it already exists, else a creation)."""
    labels: list[str] = []
    atomic_mod.on_step = labels.append
    try:
        write_run_files(out, files)
    finally:
        atomic_mod.on_step = None
    return labels


def assert_only_leftovers_of_killed_writers(parent: Path, name: str) -> None:
    """Beside the folder: at most a killed writer's hidden temporary folder, the previous run
    it had not yet removed, and its lock file."""
    for n in os.listdir(parent):
        if n.startswith(f".{name}."):
            assert n == f".{name}.lock" or n.endswith((".tmp", ".old")), n


# --------------------------------------------------------------------------- killed writers
@MODES
def test_a_write_killed_at_any_step_leaves_one_whole_run(
    runs: list[dict[str, bytes]], tmp_path: Path, mode: Callable[[bool], None], exchange: bool
) -> None:
    mode(exchange)
    write_run_files(tmp_path / "count", runs[0])
    labels = steps_of_a_replacement(tmp_path / "count", runs[0])
    swap = "exchanged" if exchange else "moved in"
    assert swap in labels and labels[-1] == "swapped"
    commit = labels.index(swap) + 1  # from this step on, the new run is in place
    for step in range(1, len(labels) + 1):
        out = tmp_path / f"step{step}"
        write_run_files(out, runs[0])
        write_killed_at(out, runs[1], step)
        assert seed_of(out, runs) == (2 if step >= commit else 1), labels[step - 1]
        assert_only_leftovers_of_killed_writers(tmp_path, out.name)
        # the next writer is neither blocked nor confused by what the killed one left
        write_run_files(out, runs[1])
        assert seed_of(out, runs) == 2
        assert not [n for n in os.listdir(tmp_path) if n.endswith(".old")]  # removed
    # the first write of a folder: killed, it leaves no folder or the whole run
    first = steps_of_a_replacement(tmp_path / "first", runs[0])
    assert "moved in" not in first and "exchanged" not in first
    for step in range(1, len(first) + 1):
        out = tmp_path / f"new{step}"
        write_killed_at(out, runs[1], step)
        if out.exists():
            assert seed_of(out, runs) == 2
        else:
            with pytest.raises(ResultsNotFoundError, match="no such folder"):
                read_results(out)


@MODES
def test_a_write_killed_after_random_delays_never_leaves_a_mix(
    runs: list[dict[str, bytes]], tmp_path: Path, mode: Callable[[bool], None], exchange: bool
) -> None:
    mode(exchange)
    rng = random.Random(16)
    out = tmp_path / "run"
    write_run_files(out, runs[0])
    seen = set()
    for _ in range(25):

        def body() -> None:
            for i in range(100_000):  # writes both runs in turn until killed
                write_run_files(out, runs[i % 2])

        pid = fork(body)
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(pid, signal.SIGKILL)
        assert wait(pid) == -signal.SIGKILL
        seen.add(seed_of(out, runs))
        assert_only_leftovers_of_killed_writers(tmp_path, "run")
    assert seen == {1, 2}  # the kills did land at various moments


def test_a_folder_left_aside_is_put_back_when_read(
    runs: list[dict[str, bytes]], tmp_path: Path, mode: Callable[[bool], None]
) -> None:
    mode(False)
    out = tmp_path / "run"
    write_run_files(out, runs[0])
    write_run_files(tmp_path / "count", runs[0])
    labels = steps_of_a_replacement(tmp_path / "count", runs[0])
    write_killed_at(out, runs[1], labels.index("moved aside") + 1)
    assert not out.exists()  # the killed writer moved the old run aside...
    assert seed_of(out, runs) == 1  # ... and reading puts it back
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".old")]


# --------------------------------------------------------------------------- concurrent writers
@MODES
def test_concurrent_writers_replace_the_folder_one_after_the_other(
    runs: list[dict[str, bytes]], tmp_path: Path, mode: Callable[[bool], None], exchange: bool
) -> None:
    mode(exchange)
    expected = {k + 1: read_results(write_run_files(tmp_path / f"ref{k}", runs[k])) for k in (0, 1)}
    out = tmp_path / "run"

    def writer(files: dict[str, bytes]) -> Callable[[], None]:
        def body() -> None:
            for _ in range(40):
                write_run_files(out, files)

        return body

    running = {fork(writer(runs[0])), fork(writer(runs[1]))}
    codes = []
    reads = 0
    while running:
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                codes.append(os.waitstatus_to_exitcode(status))
        try:
            res = read_results(out)
        except ResultsNotFoundError as exc:  # not written yet, or replaced thrice mid-read
            assert "no such folder" in str(exc) or "inconsistent" in str(exc), exc
            continue
        seed = int(res.manifest["seed"])
        for name in RUN_SCHEMAS:
            pd.testing.assert_frame_equal(getattr(res, name), getattr(expected[seed], name))
        reads += 1
    assert codes == [0, 0]
    assert reads > 0
    seed_of(out, runs)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # nothing left behind


def test_a_reader_waits_for_a_folder_moved_aside_mid_read(
    runs: list[dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer replacing the folder moves it aside for a moment: a reader that found the
    run and then no folder said "incomplete run folder: missing" every file (seen once in
    the concurrent-writers test above); it now waits and reads the run moved in."""
    out = write_run_files(tmp_path / "run", runs[1])
    aside = tmp_path / ".run.old"
    out.rename(aside)  # the reader found the run; the writer has just moved it aside
    waits: list[float] = []

    def moved_in(seconds: float) -> None:  # the writer moves the folder in meanwhile
        waits.append(seconds)
        if aside.exists():
            aside.rename(out)

    monkeypatch.setattr(time, "sleep", moved_in)
    assert int(store_mod.read_run(out).manifest["seed"]) == 2
    assert len(waits) == 1
    # a folder that stays away is refused as not there, not as an interrupted run
    out.rename(aside)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    with pytest.raises(ResultsNotFoundError, match=r"no such folder .*replacing it"):
        store_mod.read_run(out)


# --------------------------------------------------------------------------- mixed folders
def test_a_folder_mixing_two_runs_is_refused(runs: list[dict[str, bytes]], tmp_path: Path) -> None:
    a = write_run_files(tmp_path / "runs" / "a", runs[0])
    b = write_run_files(tmp_path / "b", runs[1])
    assert read_results(a).manifest["seed"] == 1
    (a / "links.parquet").write_bytes((b / "links.parquet").read_bytes())  # as a torn write did
    for path in (a, a.parent, a / "manifest.json"):
        with pytest.raises(ResultsNotFoundError, match=r"inconsistent run folder .*links\.parquet"):
            read_results(path)


# --------------------------------------------------------------------------- real processes
def start_run(seed: int, out: Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """A real ``vidnet-sim run`` of the minimal scenario, in the environment ``env`` (the
    ``src_env`` fixture: the package these tests import, and its compiled kernels)."""
    cmd = [sys.executable, "-m", "vidnet_sim.cli", "run", str(MINIMAL), "--seed", str(seed)]
    return subprocess.Popen(
        [*cmd, "--out", str(out)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> int:
    _, err = proc.communicate(timeout=600)
    assert "Traceback" not in err, err
    return proc.returncode


@pytest.fixture(scope="module")
def cli_refs(
    tmp_path_factory: pytest.TempPathFactory, src_env: dict[str, str]
) -> dict[int, object]:
    """The results of seeds 1 and 2 run alone, and how long a run takes (key 0)."""
    root = tmp_path_factory.mktemp("refs")
    t0 = time.perf_counter()
    procs = {seed: start_run(seed, root / f"seed{seed}", root, src_env) for seed in (1, 2)}
    for proc in procs.values():
        assert finish(proc) == 0
    return {0: time.perf_counter() - t0, **{s: read_results(root / f"seed{s}") for s in (1, 2)}}


def assert_run_of_one_seed(out: Path, refs: dict[int, object]) -> int:
    res = read_results(out)
    seed = int(res.manifest["seed"])
    for name in RUN_SCHEMAS:
        pd.testing.assert_frame_equal(getattr(res, name), getattr(refs[seed], name))
    assert sorted(os.listdir(out)) == sorted(RUN_FILES)
    return seed


@pytest.mark.long
def test_concurrent_cli_runs_into_one_folder_never_mix(
    cli_refs: dict[int, object], tmp_path: Path, src_env: dict[str, str]
) -> None:
    for attempt in range(2):
        out = tmp_path / f"out{attempt}"
        procs = [start_run(seed, out, tmp_path, src_env) for seed in (1, 2)]
        assert [finish(p) for p in procs] == [0, 0]
        assert_run_of_one_seed(out, cli_refs)
        assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


@pytest.mark.slow  # four real runs; the default run kills forked writers at every step
def test_a_cli_run_killed_at_random_leaves_a_whole_run(
    cli_refs: dict[int, object], tmp_path: Path, src_env: dict[str, str]
) -> None:
    out = tmp_path / "out"
    assert finish(start_run(1, out, tmp_path, src_env)) == 0
    rng = random.Random(7)
    span = float(cli_refs[0])  # type: ignore[arg-type]
    for attempt in range(3):
        proc = start_run(2 - attempt % 2, out, tmp_path, src_env)
        time.sleep(rng.uniform(0.5, 1.2) * span)
        proc.kill()
        proc.communicate(timeout=600)
        assert_run_of_one_seed(out, cli_refs)


def test_a_sweep_removes_stale_temporary_point_folders(
    runs: list[dict[str, bytes]], tmp_path: Path
) -> None:
    store = SweepStore(tmp_path)
    point = tmp_path / "0123456789abcdef-0"

    def body() -> None:
        atomic_mod.on_step = kill_at(3)  # mid-way through writing the point's tables
        store.write_point(point.name, runs[0])

    assert wait(fork(body)) == -signal.SIGKILL
    assert not point.exists() and store.done_ids() == set()
    (left,) = store.temp_files()
    assert left.is_dir() and left.name.startswith(f".{point.name}.")
    assert store.clean_temp() == 0  # a write may still be running
    assert store.clean_temp(older_than=-1) == 1
    assert store.temp_files() == []
    store.write_point(point.name, runs[1])  # the point runs again
    assert store.done_ids() == {point.name}
    assert seed_of(point, runs) == 2


def test_a_folder_replaced_during_every_read_is_said_to_be_replaced(
    runs: list[dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the rename-aside fallback a reader can find a table gone (the folder is moved
    aside mid-read); after three reads that each saw another manifest the error says the
    folder was being replaced, not that the run was interrupted."""
    out = write_run_files(tmp_path / "run", runs[0])
    stamps = iter(range(100))
    monkeypatch.setattr(store, "_manifest_id", lambda folder: (next(stamps), 0))
    real = store._read_run

    def torn(folder: Path) -> object:
        (folder / "links.parquet").rename(folder / "links.aside")  # as if moved mid-read
        try:
            return real(folder)
        finally:
            (folder / "links.aside").rename(folder / "links.parquet")

    monkeypatch.setattr(store, "_read_run", torn)
    with pytest.raises(ResultsNotFoundError, match="another process replaced it while it was"):
        store.read_run(out)
    monkeypatch.setattr(store, "_manifest_id", lambda folder: (1, 0))  # not replaced
    with pytest.raises(ResultsNotFoundError, match=r"incomplete run folder .*links\.parquet"):
        store.read_run(out)
