"""``[tool.multica-db]`` in pyproject.toml, overlaid by CLI flags → :class:`Config`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multica_db_codegen.errors import GenerateError


@dataclass(frozen=True, slots=True)
class Override:
    """Map a database type, or one ``table.column``, to a Python type path."""

    python_type: str  # "decimal.Decimal", "mypkg.money.Money", "float"
    db_type: str | None = None  # as format_type() prints it: "numeric", "public.citext"
    column: str | None = None  # "table.column" or "schema.table.column"
    # sqlc's ``nullable``: in Go a NULL-able column needs another type; in Python it is
    # ``T | None`` of the same one, so this only decides between two overrides of one type
    nullable: bool | None = None


@dataclass(frozen=True, slots=True)
class Config:
    root: Path
    schema: tuple[Path, ...]
    queries: tuple[Path, ...]
    out: Path
    package: str
    database_url: str | None = None
    overrides: tuple[Override, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    # a sqlc config's ``rename`` (column or Go struct name → Go name), translated for
    # Python once the schema is known (sqlc_config.python_rename)
    sqlc_rename: dict[str, str] = field(default_factory=dict)
    flat_query_dirs: bool = False  # a sqlc package: a queries directory's own files only


def find_pyproject(start: Path) -> Path | None:
    for d in (start, *start.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _paths(root: Path, value: Any, key: str) -> tuple[Path, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise GenerateError(f"[tool.multica-db] {key} must be a path or a list of paths")
    return tuple(root / v for v in items)


def load_config(
    *,
    cwd: Path | None = None,
    schema: list[Path] | None = None,
    queries: list[Path] | None = None,
    out: Path | None = None,
    package: str | None = None,
    database_url: str | None = None,
) -> Config:
    """Settings from pyproject.toml (if any), each replaced by the flag given for it."""
    cwd = cwd or Path.cwd()
    pyproject = find_pyproject(cwd)
    table: dict[str, Any] = {}
    root = cwd
    if pyproject is not None:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        table = data.get("tool", {}).get("multica-db", {})
        if table:
            root = pyproject.parent
    overrides = tuple(_override(o) for o in table.get("overrides", []))
    rename = table.get("rename", {})
    if not isinstance(rename, dict) or not all(isinstance(v, str) for v in rename.values()):
        raise GenerateError("[tool.multica-db] rename must map names to names")
    out_path = out if out is not None else (root / table["out"] if "out" in table else None)
    if out_path is None:
        raise GenerateError("no output directory: pass --out or set [tool.multica-db] out")
    schema_paths = tuple(schema) if schema else _paths(root, table.get("schema"), "schema")
    query_paths = tuple(queries) if queries else _paths(root, table.get("queries"), "queries")
    if not schema_paths:
        raise GenerateError("no schema: pass --schema or set [tool.multica-db] schema")
    if not query_paths:
        raise GenerateError("no queries: pass --queries or set [tool.multica-db] queries")
    return Config(
        root=root,
        schema=schema_paths,
        queries=query_paths,
        out=out_path,
        package=package or _default_package(table, root, out_path),
        database_url=database_url or table.get("database_url"),
        overrides=overrides,
        rename=dict(rename),
    )


def _default_package(table: dict[str, Any], root: Path, out: Path) -> str:
    """The configured package when writing to the configured ``out``, else out's name.

    ``--out gen/bookstore`` inside a project configured for another package means a
    different package: ``bookstore``.
    """
    configured = table.get("package")
    if configured and "out" in table and (root / table["out"]).resolve() == out.resolve():
        return str(configured)
    if configured and "out" not in table:
        return str(configured)
    return out.resolve().name


def _override(raw: Any) -> Override:
    if not isinstance(raw, dict) or "python_type" not in raw:
        raise GenerateError(
            "[tool.multica-db] overrides entries need python_type and db_type or column"
        )
    if ("db_type" in raw) == ("column" in raw):
        raise GenerateError(
            f"override for {raw['python_type']!r}: give exactly one of db_type or column"
        )
    return Override(
        python_type=str(raw["python_type"]),
        db_type=raw.get("db_type"),
        column=raw.get("column"),
    )
