"""The validation plugin's modules depend one way: no import cycles, counting the imports made
inside functions too (they still tie two modules together, only later)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_architecture import cycles as components

PACKAGE = "plugins.validation"
ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def import_graph() -> dict[str, set[str]]:
    """{module: the modules of the package it imports}, from every import statement anywhere in
    it (module level or inside functions), relative or absolute."""
    # The plugin's own modules: its tests import it, never the other way round.
    modules = {module_name(path): path for path in ROOT.rglob("*.py") if "tests" not in path.relative_to(ROOT).parts}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    origin = ".".join([*base, node.module] if node.module else base)
                else:
                    origin = node.module or ""
                # `from x import y` imports the module x.y when there is one, else a name of x.
                targets = [
                    f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:  # `import a.b.c` for a name defined in a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """(one cycle, all the modules tied together) for every group of modules that import each
    other (the strongly connected components tests/test_architecture.py finds)."""
    return [(_path(graph, group), group) for group in components(graph)]


def _path(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """One cycle through the group's first module, for the failure message (breadth first)."""
    start = group[0]
    members = set(group)
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for other in sorted(graph[node] & members):
            if other == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if other not in previous:
                previous[other] = node
                queue.append(other)
    return group


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    graph = import_graph()
    assert f"{PACKAGE}.models" in graph[PACKAGE]  # module level, `from . import models`
    assert f"{PACKAGE}.events" in graph[PACKAGE]  # inside a hook function
    assert f"{PACKAGE}.models" in graph[f"{PACKAGE}.truth.proposals"]  # `from ..models import`, inside a function


def test_a_cycle_is_found_and_named():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [(["a", "b", "c", "a"], ["a", "b", "c"])]


def test_the_validation_plugin_has_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(
        f"{' -> '.join(cycle)} (tied together: {', '.join(group)})" for cycle, group in found
    )


PURE = ("settings", "track_record", "evidence", "neighbours", "scoring", "similarity", "calibration", "independence")
# The core's geometry on the sphere, itself pure (distances, boxes): one home for it.
ALLOWED_CORE = {"wiki.geo"}
ALLOWED_OUTSIDE = {
    "__future__",
    "bisect",
    "collections",
    "dataclasses",
    "datetime",
    "math",
    "re",
    "typing",
    "unicodedata",
    "numpy",
}


def test_the_scoring_arithmetic_needs_no_database_no_flask_and_no_config():
    graph = import_graph()
    for name in PURE:
        module = f"{PACKAGE}.{name}"
        inside = {target.removeprefix(f"{PACKAGE}.") for target in graph[module]}
        assert inside <= set(PURE), f"{module} imports {sorted(inside - set(PURE))}"
        tree = ast.parse((ROOT / f"{name}.py").read_text())
        outside = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        outside |= {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module not in ALLOWED_CORE
        }
        assert outside <= ALLOWED_OUTSIDE, f"{module} imports {sorted(outside - ALLOWED_OUTSIDE)}"
