"""The package's imports flow one way, without cycles (an ``ast`` walk of src/vidnet_sim).

The layers, lowest first; a module may import modules of its own layer's package and of
lower layers, never of a higher layer nor of another package of its own layer::

    base        errors, version, fingerprint, canonical, _compile_cache, _command_start,
                _frame_chunks, _compile_gc: importable from anywhere
    scenario    the scenario language (units, models, loader, group naming, trace files)
    traffic     sources and the packet generator
    network     the network plan (routes, links, QoS)
    core        the Numba packet core
    timeline    the SimPy timeline | reference  the SimPy reference engine
    results     tables, their schemas and their folders on disk
    runner      one run from scenario to results
    variation   field paths, quantity kinds and seeds shared by sweeps and analyses
    execute     executors (local processes, Dask) and job progress, shared likewise
    sweep       sweeps of many runs | analysis  capacity, curves, sizing
    vidnet_sim  the public API (vidnet_sim/__init__.py)
    cli         the command line
    __main__    ``python -m vidnet_sim``: the command line again

``scenario.units`` is a pure utility like the base modules; it needs no exception, since
``scenario`` is the lowest layer. Importing ``a.b.c`` from outside the package ``a.b``
imports ``a.b`` (its ``__init__``) too, so that import counts as one of ``a.b`` as well.

Imports under ``if TYPE_CHECKING:`` are checked for direction but not for cycles (they do not
run). Imports of the package's own modules inside functions are listed in
:data:`FUNCTION_LEVEL` with their reason; any other one fails.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "vidnet_sim"

#: Each layer's packages and modules, lowest first (names relative to ``vidnet_sim``).
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "errors",
        "version",
        "fingerprint",
        "canonical",
        "_compile_cache",
        "_command_start",
        "_frame_chunks",
        "_compile_gc",
    ),
    ("scenario",),
    ("traffic",),
    ("network",),
    ("core",),
    ("timeline", "reference"),
    ("results",),
    ("runner",),
    ("variation",),
    ("execute",),
    ("sweep", "analysis"),
    ("",),  # the package's own __init__: the public API
    ("cli",),
    ("__main__",),  # `python -m vidnet_sim`: the command line
)

#: The layer ``base`` modules may import each other (their order is kept by the cycle check).
_BASE = 0

#: Modules whose imports of the package's own modules inside functions are allowed, with the
#: reason. None now: the command line imports the library at the top of its modules too (its
#: ``--help`` imports the simulator anyway, through the commands' modules).
FUNCTION_LEVEL: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    """One import of a module of the package by another."""

    importer: str  # relative names, "" for the package itself
    imported: str
    line: int
    in_function: bool
    type_only: bool


def _modules() -> dict[str, Path]:
    root = SRC / PACKAGE
    out: dict[str, Path] = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _own(dotted: str) -> str | None:
    """The package's module named by an absolute dotted name (or the nearest module holding
    it), relative to the package; ``None`` for other packages."""
    if dotted != PACKAGE and not dotted.startswith(PACKAGE + "."):
        return None
    name = dotted.removeprefix(PACKAGE).removeprefix(".")
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.found: list[Import] = []
        self._depth = 0
        self._type_only = 0

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            self._type_only += 1
            for n in node.body:
                self.visit(n)
            self._type_only -= 1
            for n in node.orelse:
                self.visit(n)
            return
        self.generic_visit(node)

    def _add(self, dotted: str, line: int) -> None:
        target = _own(dotted)
        if target is None:
            return
        targets = {target}
        # importing a.b.c from outside the package a.b runs a.b's __init__ first
        parent = target.rpartition(".")[0]
        while parent and not (self.module == parent or self.module.startswith(parent + ".")):
            targets.add(parent)
            parent = parent.rpartition(".")[0]
        for t in targets - {self.module}:
            self.found.append(Import(self.module, t, line, self._depth > 0, self._type_only > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = f"{PACKAGE}.{self.module}" if self.module else PACKAGE
            parts = base.split(".")
            if not _is_package(self.module):
                parts = parts[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            module = ".".join(parts + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        for alias in node.names:  # ``from pkg import submodule`` imports the submodule
            sub = f"{module}.{alias.name}"
            own = _own(sub)
            named = own is not None and PACKAGE + "." + own == sub
            self._add(sub if named else module, node.lineno)


def _imports() -> list[Import]:
    out: list[Import] = []
    for name, path in MODULES.items():
        visitor = _Visitor(name)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        out += visitor.found
    return out


IMPORTS = _imports()


def _layer_of(module: str) -> tuple[int, str]:
    """(layer index, the layer's package or module holding ``module``)."""
    best: tuple[int, str] | None = None
    for index, members in enumerate(LAYERS):
        for member in members:
            inside = module == member or (member and module.startswith(member + "."))
            if inside and (best is None or len(member) > len(best[1])):
                best = (index, member)
    if best is None:
        raise AssertionError(f"vidnet_sim.{module} is in no layer: add it to LAYERS")
    return best


def _where(imp: Import) -> str:
    path = MODULES[imp.importer].relative_to(SRC)
    return f"{path}:{imp.line} imports {'.'.join(filter(None, (PACKAGE, imp.imported)))}"


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _layer_of(module)


def test_imports_only_go_down_the_layers() -> None:
    wrong = []
    for imp in IMPORTS:
        (mine, my_group), (theirs, their_group) = _layer_of(imp.importer), _layer_of(imp.imported)
        if mine == theirs and (my_group == their_group or mine == _BASE):
            continue
        if theirs < mine:
            continue
        how = "a higher layer" if theirs > mine else "another package of its layer"
        wrong.append(f"{_where(imp)}: {their_group or 'vidnet_sim'} is {how}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _edges(imports: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.type_only:
            edges.setdefault(imp.importer, set()).add(imp.imported)
    return edges


def test_no_import_cycles() -> None:
    cycles = _cycles(_edges(IMPORTS))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_function_level_imports_are_listed_with_their_reason() -> None:
    unlisted = [
        _where(imp)
        for imp in IMPORTS
        if imp.in_function
        and not imp.type_only
        and not any(imp.importer == m or imp.importer.startswith(m + ".") for m in FUNCTION_LEVEL)
    ]
    assert not unlisted, "imports inside functions (move them to the top):\n" + "\n".join(unlisted)


def test_the_allow_list_names_existing_modules() -> None:
    for name in FUNCTION_LEVEL:
        assert any(m == name or m.startswith(name + ".") for m in MODULES), name


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(
    edges: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert _cycles(edges) == expected


def test_the_walk_sees_an_upward_and_a_function_level_import(tmp_path: Path) -> None:
    """The visitor records what the checks rely on: a plain import, a relative one, one in a
    function, a type-only one and the package a submodule import runs."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from vidnet_sim.results.schema import SCHEMAS\n"
        "from . import groups\n"
        "if TYPE_CHECKING:\n"
        "    from vidnet_sim.runner import run\n"
        "def f():\n"
        "    from vidnet_sim.sweep import load_sweep\n"
    )
    visitor = _Visitor("scenario.load")
    visitor.visit(ast.parse(source))
    seen = {(i.imported, i.in_function, i.type_only) for i in visitor.found}
    assert seen == {
        ("results.schema", False, False),
        ("results", False, False),
        ("scenario.groups", False, False),
        ("runner", False, True),
        ("sweep", True, False),
    }
