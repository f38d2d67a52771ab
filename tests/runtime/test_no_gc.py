"""Library code never switches the garbage collector: that is the application's call.

Pausing the collector around a large ``:many`` made it ~10% faster, but a library
that flips process-wide state surprises every other thread of the process (and
an application that had its own policy). Applications that fetch tens of
thousands of rows can call ``gc.freeze()`` after start-up themselves — the
benchmark shows what each costs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Code that runs inside someone else's process: the runtime library, generated code, the
#: runtime the generator writes into every package, and the generator (tests and tools
#: call it in-process).
LIBRARY = [ROOT / "src" / "multica_db", ROOT / "codegen" / "multica_db_codegen"]


def _gc_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "gc" for a in node.names):
            found.append(f"{path}:{node.lineno}: import gc")
        elif isinstance(node, ast.ImportFrom) and node.module == "gc":
            found.append(f"{path}:{node.lineno}: from gc import …")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("__import__", "import_module")
            and any(isinstance(a, ast.Constant) and a.value == "gc" for a in node.args)
        ):
            found.append(f"{path}:{node.lineno}: {node.func.id}('gc')")
    return found


def test_library_code_makes_no_gc_calls() -> None:
    files = [p for d in LIBRARY for p in sorted(d.rglob("*.py"))]
    assert len(files) > 20  # the scan sees the code it is meant to
    assert [use for p in files for use in _gc_uses(p)] == []
