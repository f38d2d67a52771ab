"""The generator's layers, read from its source: every import counts, lazy ones included
(only imports under ``if TYPE_CHECKING:`` are left out: they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

import multica_db_codegen

PACKAGE = Path(multica_db_codegen.__file__).parent
NAME = "multica_db_codegen"


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module name an import statement of ``path`` may load (``from a import b``:
    ``a`` and ``a.b``), except those only a type checker sees."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for n in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}
IMPORTS = {m: _imports(p) for m, p in MODULES.items()}
GRAPH = {m: {i for i in found if i in MODULES and i != m} for m, found in IMPORTS.items()}


def _within(module: str, layer: str) -> bool:
    return module == f"{NAME}.{layer}" or module.startswith(f"{NAME}.{layer}.")


def _violations(layer: str, allowed: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{m} imports {dep}"
        for m, deps in GRAPH.items()
        if _within(m, layer)
        for dep in deps
        if not any(_within(dep, a) for a in (layer, *allowed))
    )


def test_parse_imports_nothing_of_analyze_or_render() -> None:
    assert _violations("parse", ("errors", "kinds")) == []


def test_render_imports_only_the_ir() -> None:
    assert _violations("render", ("analyze.ir", "errors", "kinds")) == []
    parsers = sorted(
        f"{m} imports {i}"
        for m, found in IMPORTS.items()
        if _within(m, "render")
        for i in found
        if i.split(".")[0] in ("pglast", "psycopg")
    )
    assert parsers == []  # no parse tree, no connection after analyze


def test_the_shipped_runtime_imports_nothing_of_the_generator() -> None:
    assert _violations("runtime", ()) == []


def test_the_generator_imports_nothing_of_what_it_generates() -> None:
    found = sorted(
        f"{m} imports {i}"
        for m, imported in IMPORTS.items()
        for i in imported
        if i == "multica_db" or i.startswith("multica_db.")
    )
    assert found == []


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components: any of more than one module is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_rules_see_lazy_imports() -> None:
    """A function-level import counts: the runner loads the analyzer only when it runs."""
    assert f"{NAME}.analyze.analyzer" in GRAPH[f"{NAME}.runner"]
