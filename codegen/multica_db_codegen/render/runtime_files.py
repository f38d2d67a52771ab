"""The runtime package every generated package carries, as files to write.

Its source is ``multica_db_codegen/runtime/`` — plain, type-checked, tested Python —
written under ``<out>/runtime/`` with the generated-file header, byte for byte the
same for every project (see that package's docstring for why it is copied rather
than imported from multica-db).
"""

from __future__ import annotations

from importlib import resources

#: The subpackage of the output the runtime is written to.
RUNTIME_DIR = "runtime"


def runtime_files() -> dict[str, str]:
    """``{"runtime/<module>.py": text}`` for every module of the runtime package."""
    from multica_db_codegen.render.renderer import HEADER  # renderer imports this module

    # Located without importing it: the runtime imports psycopg, the generator need not.
    source = resources.files("multica_db_codegen").joinpath("runtime")
    return {
        f"{RUNTIME_DIR}/{entry.name}": f"{HEADER}\n{entry.read_text(encoding='utf-8')}"
        for entry in sorted(source.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".py")
    }
