"""The compiled-kernel cache is keyed by every source file the kernels are compiled from.

Numba checks a cached function against its own file only: without the fingerprint folder an
edit of ``traffic/rng.py`` would leave ``traffic/generate.py``'s cached functions running the
old random numbers. The end-to-end tests run copies of the package in fresh processes.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest
from numba.core import config as numba_config
from numba.core.caching import IndexDataCacheFile

from vidnet_sim import _compile_cache as cc
from vidnet_sim import _compile_gc, fingerprint
from vidnet_sim.fingerprint import KERNEL_SOURCES, PACKAGE_DIR, kernel_fingerprint

ROOT = Path(__file__).resolve().parent.parent

#: Modules that only choose the cache folder: imported by the kernels, compiled into none.
CACHE_MODULES = {"_compile_cache.py", "fingerprint.py", "version.py"}


def _module_file(name: str) -> str | None:
    """``vidnet_sim.a.b`` → ``a/b.py`` (or ``a/b/__init__.py``), if it is a module here."""
    parts = name.split(".")[1:]
    for rel in ("/".join(parts) + ".py", "/".join([*parts, "__init__.py"])):
        if parts and (PACKAGE_DIR / rel).is_file():
            return rel
    return None


def _imported_files(rel: str) -> set[str]:
    """The package's files imported at module level by ``rel`` (``TYPE_CHECKING`` blocks and
    imports inside functions left out: neither is seen by compiled code)."""
    found: set[str] = set()
    for node in ast.parse((PACKAGE_DIR / rel).read_text()).body:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{rel}: relative import"
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("vidnet_sim.") and (f := _module_file(name)):
                found.add(f)
    return found


def _is_jitted(node: ast.AST) -> bool:
    if isinstance(node, ast.FunctionDef):
        for d in node.decorator_list:
            target = d.func if isinstance(d, ast.Call) else d
            name = target.attr if isinstance(target, ast.Attribute) else ""
            name = target.id if isinstance(target, ast.Name) else name
            if name in {"njit", "jit", "vectorize", "guvectorize", "cfunc"}:
                return True
    return False


def _defines_njit(rel: str) -> bool:
    return any(_is_jitted(node) for node in ast.walk(ast.parse((PACKAGE_DIR / rel).read_text())))


def _calls(node: ast.stmt, name: str) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == name
    )


def test_every_jitted_module_brackets_its_decorators_with_the_cache_folder() -> None:
    files = [f.relative_to(PACKAGE_DIR).as_posix() for f in PACKAGE_DIR.rglob("*.py")]
    modules = [f for f in files if _defines_njit(f)]
    assert "core/kernel.py" in modules
    for rel in modules:
        body = ast.parse((PACKAGE_DIR / rel).read_text()).body
        jitted = [i for i, node in enumerate(body) if _is_jitted(node)]
        nested = [n for n in ast.walk(ast.Module(body, type_ignores=[])) if _is_jitted(n)]
        assert len(nested) == len(jitted), f"{rel}: an njit function below module level"
        use = [i for i, node in enumerate(body) if _calls(node, "use_compile_cache")]
        end = [i for i, node in enumerate(body) if _calls(node, "end_compile_cache")]
        assert len(use) == 1 and use[0] < jitted[0], rel
        assert len(end) == 1 and end[0] > jitted[-1], rel


def test_kernel_sources_are_every_file_the_kernels_compile() -> None:
    files = [f.relative_to(PACKAGE_DIR).as_posix() for f in PACKAGE_DIR.rglob("*.py")]
    todo = [f for f in files if _defines_njit(f)]
    assert "core/kernel.py" in todo and "traffic/rng.py" in todo
    closure: set[str] = set()
    while todo:
        rel = todo.pop()
        if rel in closure or Path(rel).name in CACHE_MODULES:
            continue
        closure.add(rel)
        todo.extend(_imported_files(rel))
    assert closure == set(KERNEL_SOURCES)


def _copy_package(dest: Path) -> Path:
    """A copy of the package's sources (no caches) under ``dest``; returns its src folder."""
    src = dest / "src"
    shutil.copytree(PACKAGE_DIR, src / "vidnet_sim", ignore=shutil.ignore_patterns("__pycache__"))
    return src


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_kernel_fingerprint_changes_with_each_kernel_source_only(tmp_path: Path) -> None:
    pkg = _copy_package(tmp_path) / "vidnet_sim"
    before = kernel_fingerprint(pkg)
    assert before == kernel_fingerprint()
    for rel in KERNEL_SOURCES:
        original = (pkg / rel).read_text()
        _append(pkg / rel, "# an edit\n")
        assert kernel_fingerprint(pkg) != before, rel
        (pkg / rel).write_text(original)
    assert kernel_fingerprint(pkg) == before
    for rel in ("cli/__init__.py", "runner.py", "network/plan.py", "traffic/sources.py"):
        _append(pkg / rel, "# an edit\n")
        assert kernel_fingerprint(pkg) == before, rel


def test_the_kernels_use_the_fingerprint_folder_and_only_they() -> None:
    from vidnet_sim.core.kernel import advance
    from vidnet_sim.traffic.rng import uniform

    folder = cc.compile_cache_dir()
    assert folder.name == cc.FOLDER_PREFIX + kernel_fingerprint()
    assert folder.is_dir()
    for dispatcher in (advance, uniform):
        path = dispatcher.stats.cache_path
        assert path is not None and Path(path).parent == folder
    # other code's cached functions stay where Numba puts them
    assert os.environ.get("NUMBA_CACHE_DIR", "") == numba_config.CACHE_DIR  # type: ignore[attr-defined]


def test_numba_cache_dir_holds_the_fingerprint_folder(tmp_path: Path) -> None:
    bases = cc.candidate_bases({"NUMBA_CACHE_DIR": str(tmp_path / "mine")})
    assert bases[0] == tmp_path / "mine"
    folder = cc.choose_folder("0123456789abcdef", bases)
    assert folder == tmp_path / "mine" / "vidnet-sim-0123456789abcdef"
    default = cc.candidate_bases({})
    assert default[0] == PACKAGE_DIR / "__pycache__"
    assert len(default) == 2  # then the user's cache folder


def test_an_unwritable_base_falls_back_to_the_next(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    folder = cc.choose_folder("0123456789abcdef", [blocked, tmp_path / "next"])
    assert folder == tmp_path / "next" / "vidnet-sim-0123456789abcdef"
    assert folder.is_dir()
    alone = cc.choose_folder("0123456789abcdef", [blocked])  # a private temporary folder
    assert alone.is_dir() and alone.name.startswith("vidnet-sim-0123456789abcdef-")
    assert not any(alone.iterdir())


def test_folders_of_other_fingerprints_are_pruned_once_unused(tmp_path: Path) -> None:
    old = time.time() - 2 * cc.PRUNE_AFTER_S
    names = {
        "current": "vidnet-sim-aaaaaaaaaaaaaaaa",
        "stale": "vidnet-sim-bbbbbbbbbbbbbbbb",
        "recent": "vidnet-sim-cccccccccccccccc",
        "foreign": "someone-elses-cache",
    }
    for key, name in names.items():
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub" / "f.nbi").write_text("x")
        if key != "recent":
            os.utime(tmp_path / name, (old, old))
    folder = cc.choose_folder("aaaaaaaaaaaaaaaa", [tmp_path])
    assert folder == tmp_path / names["current"]
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {names["current"], names["recent"], names["foreign"]}
    assert folder.stat().st_mtime > old + cc.PRUNE_AFTER_S  # marked as just used
    cc.prune(tmp_path / "missing", keep="x")  # never raises


def test_numba_saves_and_loads_a_cache_entry_under_the_folders_lock(tmp_path: Path) -> None:
    """Processes compiling into one folder at once (a pool's or the tests' workers, cold):
    a cache entry's save (its index, then its data file) and its load wait while another
    process holds the folder's lock, so no process reads or extends an index whose data
    file is still being written. The other process here is a second open file of the lock,
    locked as a process would (``flock`` locks of two open files exclude each other)."""
    fcntl = pytest.importorskip("fcntl")
    cc.lock_numba_cache_files()  # done when the kernels are imported; a second call is a no-op
    chain = [IndexDataCacheFile.save]
    while (inner := getattr(chain[-1], "__wrapped__", None)) is not None:
        chain.append(inner)
    assert len(chain) == 2  # Numba's save, locked once
    cache = IndexDataCacheFile(str(tmp_path), "f-1.py311", ("stamp", 1))
    loaded: list[object] = []
    for action in (lambda: cache.save("sig", b"code"), lambda: loaded.append(cache.load("sig"))):
        held = os.open(tmp_path / cc.LOCK_FILE, os.O_RDWR | os.O_CREAT)
        fcntl.flock(held, fcntl.LOCK_EX)
        thread = threading.Thread(target=action)
        thread.start()
        thread.join(0.3)
        waited = thread.is_alive()
        os.close(held)  # the other process is done: the lock is released
        thread.join(30)
        assert waited and not thread.is_alive()
    assert loaded == [b"code"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        cc.LOCK_FILE,
        "f-1.py311.1.nbc",
        "f-1.py311.nbi",
    ]


def test_a_renamed_copy_of_the_package_does_not_lock_the_cache_files_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second copy of the package in one process, its name changed in its text
    (``benchmarks/paired.py`` imports two so), finds Numba's methods already locked: a
    second wrapper would take the folder's lock again through another open file of it, and
    that nested ``flock`` waits for the first, held by the same call, forever."""
    cc.lock_numba_cache_files()
    text = re.sub(r"vidnet_sim", "vs_copy", Path(cc.__file__).read_text(encoding="utf-8"))
    monkeypatch.setitem(sys.modules, "vs_copy.fingerprint", fingerprint)  # (what it imports)
    monkeypatch.setitem(sys.modules, "vs_copy._compile_gc", _compile_gc)
    copy = types.ModuleType("vs_copy._compile_cache")
    exec(compile(text, "vs_copy/_compile_cache.py", "exec"), copy.__dict__)
    copy.lock_numba_cache_files()
    for method in (IndexDataCacheFile.save, IndexDataCacheFile.load):
        inner = getattr(method, "__wrapped__", None)
        assert inner is not None and not hasattr(inner, "__wrapped__")  # locked once


PROBE = """
import json
import numpy as np
from vidnet_sim.traffic.generate import N_SI, SI_SIZE_A, SI_SIZE_B, SI_SIZE_KIND, _draw_size
from vidnet_sim.traffic.sources import SIZE_UNIFORM

si = np.zeros(N_SI, np.int64)  # a source's row of the packed table
si[SI_SIZE_KIND], si[SI_SIZE_A], si[SI_SIZE_B] = SIZE_UNIFORM, 100, 1500
size = _draw_size(7, np.uint64(12345), si, np.zeros(1, np.int64), np.zeros(1))
st = _draw_size.stats
print(json.dumps({"size": int(size), "hits": sum(st.cache_hits.values()),
                  "misses": sum(st.cache_misses.values()), "path": st.cache_path}))
"""


def _probe(src: Path, cache_dir: Path | None = None) -> dict[str, Any]:
    """Run :data:`PROBE` (a generator function in ``generate.py`` drawing a uniform from
    ``rng.py``) on the copy at ``src`` in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k not in {"NUMBA_CACHE_DIR", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(src)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.long
def test_an_edit_of_a_called_function_in_another_file_recompiles(tmp_path: Path) -> None:
    src = _copy_package(tmp_path)
    pkg_cache = src / "vidnet_sim" / "__pycache__"
    first = _probe(src)
    assert first["misses"] == 1 and first["hits"] == 0
    assert Path(first["path"]).parent.parent == pkg_cache  # the default: beside the package
    again = _probe(src)
    assert again == {**first, "hits": 1, "misses": 0}  # an unchanged copy reuses the cache

    rng = src / "vidnet_sim" / "traffic" / "rng.py"
    old = "return (float(z >> _S11) + 0.5) * _TWO_M53"
    assert old in rng.read_text()
    rng.write_text(rng.read_text().replace(old, "return 1.0 - (float(z >> _S11) + 0.5) * _TWO_M53"))
    edited = _probe(src)
    assert edited["misses"] == 1 and edited["hits"] == 0
    assert edited["size"] != first["size"]
    assert Path(edited["path"]).parent != Path(first["path"]).parent
    assert Path(first["path"]).is_dir()  # another fingerprint's folder, in use an hour ago

    mine = _probe(src, tmp_path / "numba-cache")
    assert mine["size"] == edited["size"]
    assert Path(mine["path"]).parent.parent == tmp_path / "numba-cache"


def _run_small_town(src: Path, cache_dir: Path, out: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(src), NUMBA_CACHE_DIR=str(cache_dir))
    scenario = ROOT / "scenarios" / "small-town.toml"
    cmd = [sys.executable, "-m", "vidnet_sim.cli", "run", str(scenario), "--duration", "1s"]
    proc = subprocess.run(
        [*cmd, "--out", str(out), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    return {key: doc[key] for key in ("summary", "links", "epochs", "sla")}  # (no wall time)


def _cache_files(cache_dir: Path) -> dict[Path, int]:
    return {f: f.stat().st_mtime_ns for f in cache_dir.rglob("*") if f.suffix in {".nbi", ".nbc"}}


@pytest.mark.slow
def test_the_packet_kernel_recompiles_after_an_edit_of_the_histogram(tmp_path: Path) -> None:
    src = _copy_package(tmp_path)
    cache_dir = tmp_path / "numba-cache"
    first = _run_small_town(src, cache_dir, tmp_path / "r1")
    compiled = _cache_files(cache_dir)
    assert any(f.name.startswith("kernel.advance") for f in compiled)
    assert _run_small_town(src, cache_dir, tmp_path / "r2") == first
    assert _cache_files(cache_dir) == compiled  # nothing compiled again

    histogram = src / "vidnet_sim" / "core" / "histogram.py"
    old = '"""Index of the bucket holding ``v`` (``v >= 0``)."""\n'
    assert old in histogram.read_text()
    histogram.write_text(histogram.read_text().replace(old, old + "    return 0\n"))
    edited = _run_small_town(src, cache_dir, tmp_path / "r3")
    assert edited != first
    new = {f for f in _cache_files(cache_dir) if f not in compiled}
    assert any(f.name.startswith("kernel.advance") for f in new)
