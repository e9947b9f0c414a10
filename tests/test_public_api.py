"""The public API is pinned: what ``import vidnet_sim`` offers changes only on purpose."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

import vidnet_sim

EXPECTED = [
    "CompiledScenario",
    "Results",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "UnitError",
    "VidnetError",
    "__version__",
    "compare_results",
    "compile_scenario",
    "find_capacity",
    "load_scenario",
    "load_sweep",
    "read_results",
    "read_sweep",
    "run",
    "run_curve",
    "run_sweep",
    "size_network",
]

SRC = Path(vidnet_sim.__file__).resolve().parent


def test_all_is_the_pinned_list() -> None:
    assert vidnet_sim.__all__ == EXPECTED
    assert all(hasattr(vidnet_sim, name) for name in EXPECTED)


def test_every_public_name_has_its_own_docstring() -> None:
    assert isinstance(vidnet_sim.__version__, str) and vidnet_sim.__version__
    for name in EXPECTED:
        if name == "__version__":
            continue
        obj = getattr(vidnet_sim, name)
        doc = obj.__doc__ or ""
        # a dataclass without a docstring gets its signature as one
        assert doc.strip() and not doc.startswith(f"{name}("), name
        assert inspect.getmodule(obj) is not None and obj.__module__.startswith("vidnet_sim")


def test_the_library_neither_imports_nor_needs_click_or_rich() -> None:
    """Only ``vidnet_sim.cli`` prints: the library can be used from a notebook."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] in ("cli", "__main__.py"):  # the command line
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.relative_to(SRC)}: {n}"
                for n in names
                if n.split(".")[0] in ("click", "rich") or n.startswith("vidnet_sim.cli")
            ]
    assert offenders == []
    assert loaded("vidnet_sim, vidnet_sim.sweep, vidnet_sim.analysis", ("click", "rich")) == []


def loaded(imports: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after ``import <imports>``."""
    code = f"import sys, {imports}; print(sorted(m for m in {modules!r} if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC.parent)},
        timeout=300,
        check=True,
    )
    return list(ast.literal_eval(proc.stdout.strip()))


def test_installed_version_is_the_package_version() -> None:
    """pyproject reads the version from ``vidnet_sim/version.py``: the installed metadata agrees."""
    from importlib.metadata import version

    assert version("vidnet-sim") == vidnet_sim.__version__


def test_starting_the_command_loads_no_scipy_module_it_does_not_use() -> None:
    """``scipy.signal``, ``scipy.stats`` and ``scipy.optimize`` cost a second and 50 MiB of
    every command's start (and of every benchmark's peak memory): they are imported where they
    are used, never by ``import vidnet_sim.cli``."""
    assert loaded("vidnet_sim.cli", ("scipy.signal", "scipy.stats", "scipy.optimize")) == []
