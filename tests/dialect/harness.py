"""Generate a package from a schema and queries into a temporary directory, and import it.

Each generated package gets its own import name, so tests never see each other's
modules, and its own ``runtime`` subpackage: nothing comes from multica_db.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.processors import run_generate
from tests.pg import fresh_database


@dataclass
class Generated:
    root: Path  # the directory holding the package (goes on sys.path)
    package: str

    def module(self, name: str) -> types.ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def mypy(self) -> None:
        """Type-check the generated package with ``mypy --strict`` (fails the test on errors)."""
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", self.package],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def ruff(self) -> None:
        """``ruff check`` / ``ruff format --check`` as the project (root above out/) runs them."""
        first_party = f"lint.isort.known-first-party = [{self.package!r}]"
        for args in (["check", "--config", first_party], ["format", "--check"]):
            done = subprocess.run(
                [sys.executable, "-m", "ruff", *args, "--no-cache", f"out/{self.package}"],
                cwd=self.root.parent,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr


def write_project(
    root: Path,
    *,
    schema: dict[str, str],
    queries: dict[str, str],
    package: str,
    extra_toml: str = "",
) -> None:
    """A project on disk: schema files, query files and a pyproject.toml naming them."""
    for rel, text in schema.items():
        (root / "schema" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "schema" / rel).write_text(text)
    for rel, text in queries.items():
        (root / "queries" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "queries" / rel).write_text(text)
    (root / "pyproject.toml").write_text(
        "[tool.multica-db]\n"
        'schema = ["schema"]\nqueries = ["queries"]\n'
        f'out = "out/{package}"\npackage = "{package}"\n' + extra_toml + RUFF_TOML
    )


#: A typical project's ruff settings: the generated code must pass them as it is.
RUFF_TOML = """
[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "SIM", "RUF"]
"""


def generate(root: Path, analyzer_url: str, package: str) -> Generated:
    run_generate(cwd=root, database_url=analyzer_url)
    out = root / "out"
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    return Generated(out, package)


@contextmanager
def database_with(server: str, schema_paths: list[Path]) -> Iterator[str]:
    """A fresh database holding the schema (applied the way the analyzer applies it)."""
    with fresh_database(server, prefix="multica_dialect") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            apply_schema(conn, load_schema(schema_paths))
        yield url


def forget(package: str) -> None:
    """Drop a generated package from sys.modules (a test regenerating the same name)."""
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]


Row = Any
