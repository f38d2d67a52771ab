"""Render reads the IR and nothing else of the stages before it (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

RENDER = Path(__file__).resolve().parents[2] / "codegen" / "multica_db_codegen" / "render"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
    return found


def test_render_imports_nothing_from_parse_or_analyze_but_the_ir() -> None:
    files = sorted(RENDER.rglob("*.py"))
    assert len(files) >= 5
    crossing = [
        f"{p.name}: {m}"
        for p in files
        for m in _imports(p)
        if m.startswith(("multica_db_codegen.parse", "multica_db_codegen.analyze", "pglast"))
        and m != "multica_db_codegen.analyze.ir"
    ]
    assert crossing == []
