"""The emulator's import graph: no cycle, and the layers point one way.

Every ``import`` statement of every module counts, wherever it stands: at the top, inside a
function, or under ``if TYPE_CHECKING:`` (a cycle hidden from the interpreter is still a
cycle for the reader). Importing ``a.b.c`` also depends on the packages ``a.b`` and ``a``
(their ``__init__`` runs first), except the importer's own ancestors, which are already
loading; ``from . import name`` depends on the submodule ``name`` when there is one, and on
the package itself otherwise.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import picops_emulator

ROOT = Path(picops_emulator.__file__).parent
PACKAGE = "picops_emulator"

# Higher layers may import lower ones, never the reverse: server -> cos -> (ci, storage) ->
# errors. Modules of one unit may import each other (their own cycles are caught above).
RANKS = {
    "local": 9, "runner": 8, "livereload": 8, "server": 7, "console": 7, "cos": 6,
    "scfapi": 6, "settings": 5, "triggers": 4, "ci": 4,
    "storage": 3, "imaging": 3, "cosxml": 2, "naming": 2, "requestjson": 2, "faults": 2,
    "notifications": 1, "errors": 0,
}


def _modules() -> Dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _targets(name: str, node: ast.AST) -> List[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = name.split(".")
        if not _is_package(name):
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    return [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix
            for a in node.names]


def _graph() -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {}
    for name, path in MODULES.items():
        deps: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(name, node):
                    parts = target.split(".")
                    for i in range(1, len(parts) + 1):
                        dep = ".".join(parts[:i])
                        if dep in MODULES and dep != name and not name.startswith(dep + "."):
                            deps.add(dep)
        graph[name] = deps
    return graph


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _unit(name: str) -> str:
    return name.split(".")[1] if "." in name else ""


def test_the_walker_sees_the_whole_package():
    graph = _graph()
    assert len(graph) > 80
    # sanity: known edges of each kind are seen (relative, from-package, submodule)
    assert "picops_emulator.cos" in graph["picops_emulator.server.app"]
    assert "picops_emulator.errors" in graph["picops_emulator.storage.store"]
    assert "picops_emulator.ci.seam" in graph["picops_emulator.cos.processing"]


def test_the_cycle_finder_finds_a_cycle_hidden_under_type_checking():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_emulator_import_graph_has_no_cycle():
    assert _cycles(_graph()) == []


def test_layers_point_one_way():
    graph = _graph()
    unranked = sorted({_unit(n) for n in graph} - set(RANKS) - {""})
    assert unranked == [], f"give these emulator units a layer in RANKS: {unranked}"
    upward = [f"{src} -> {dst}" for src, deps in sorted(graph.items()) for dst in sorted(deps)
              if _unit(src) and _unit(dst) and _unit(src) != _unit(dst)
              and RANKS[_unit(src)] <= RANKS[_unit(dst)]]
    assert upward == []


def test_only_the_edge_chooses_a_status():
    """The image engine's errors carry a code, not an HTTP status (the table maps it)."""
    from picops_emulator import imaging
    from picops_emulator.errors import ERRORS
    from picops_emulator.errors import EmulatorError
    for cls in (imaging.ImagingError, imaging.InvalidImageFormat, imaging.ImageTooLarge,
                imaging.ImageResolutionExceed, imaging.InvalidArgument,
                imaging.ImagingInternalError, EmulatorError):
        assert not hasattr(cls, "status"), cls
    for cls in (imaging.ImagingError, imaging.InvalidImageFormat, imaging.ImageTooLarge,
                imaging.ImageResolutionExceed, imaging.InvalidArgument,
                imaging.ImagingInternalError):
        assert cls.code in ERRORS


def test_a_status_is_read_from_the_table_only_by_status_of_at_the_edges():
    """One way a status is chosen: ``errors.status_of``, called by the edges that answer
    (the COS/CI server and the console's JSON API); nothing else reads the table's statuses."""
    callers, readers = set(), set()
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "status_of":
                callers.add(name)
            if (isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "ERRORS"
                    or isinstance(node, ast.Attribute) and node.attr == "get"
                    and getattr(node.value, "id", None) == "ERRORS"):
                readers.add(name)
    assert callers == {"picops_emulator.server.app", "picops_emulator.console.web"}
    assert readers == {"picops_emulator.errors"}


def test_the_cos_operations_meet_the_ci_layer_only_at_its_seam():
    """``ci/seam.py`` is the one place COS operations reach CI: helpers both need (bounded
    JSON, XML) live below both layers."""
    graph = _graph()
    reached = sorted(f"{src} -> {dst}" for src, deps in graph.items() if _unit(src) == "cos"
                     for dst in deps if _unit(dst) == "ci"
                     and dst not in ("picops_emulator.ci", "picops_emulator.ci.seam"))
    assert reached == []
