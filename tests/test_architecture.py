"""The shape of the code: no import cycles among the project's modules (counting imports inside
functions too, which hide a cycle rather than remove it), and the core never importing a plugin."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("wiki", "plugins")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic scripts are loaded by Alembic, not imported
                continue
            if "tests" in path.relative_to(ROOT).parts:  # a plugin's tests import it; nothing imports them
                continue
            found[module_name(path)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (at module level or inside functions)."""
    modules = project_modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [
                    f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
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

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in index:
            visit(node)
    return found


def test_there_is_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    described = [" <-> ".join(component) for component in found]
    assert not found, "import cycles:\n" + "\n".join(described)


def test_the_graph_is_read_as_it_is():
    """The reader finds the imports it must (so that the cycle test cannot pass by reading nothing)."""
    graph = import_graph()
    assert "wiki.extensions" in graph["wiki.models.reports"]
    assert "wiki.hooks" in graph["plugins.validation"]
    assert {"wiki.plugins", "wiki.models"} <= graph["wiki.workers"] | graph["wiki.visibility"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_never_imports_a_plugin():
    for name, targets in import_graph().items():
        if name.startswith("wiki"):
            assert not {t for t in targets if t.startswith("plugins")}, f"{name} imports a plugin"
