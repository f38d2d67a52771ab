"""Read an existing sqlc project's configuration (version 2, engine postgresql).

``multica-db generate --sqlc-config sqlc.yaml --out DIR`` turns a sqlc project
into a Python package: the schema and queries paths come from here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from multica_db_codegen.errors import GenerateError


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _as_list(value: Any, key: str, path: Path) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise GenerateError(f"{path}: sql[].{key} must be a path or a list of paths")
    return items


def read_sqlc_config(path: Path) -> tuple[list[Path], list[Path]]:
    """(schema paths, query paths) of every postgresql package in the config."""
    if not path.is_file():
        raise GenerateError(f"sqlc config {str(path)!r} does not exist")
    try:
        data = _load(path)
    except Exception as exc:
        raise GenerateError(f"{path}: cannot read sqlc config: {exc}") from None
    if not isinstance(data, dict) or str(data.get("version")) != "2":
        raise GenerateError(f"{path}: only sqlc config version 2 is supported")
    base = path.parent
    schema: list[Path] = []
    queries: list[Path] = []
    for i, pkg in enumerate(data.get("sql") or []):
        if not isinstance(pkg, dict):
            raise GenerateError(f"{path}: sql[{i}] must be a mapping")
        engine = pkg.get("engine")
        if engine != "postgresql":
            raise GenerateError(f"{path}: sql[{i}] uses engine {engine!r}; only postgresql")
        schema += [base / p for p in _as_list(pkg.get("schema"), "schema", path)]
        queries += [base / p for p in _as_list(pkg.get("queries"), "queries", path)]
    if not schema or not queries:
        raise GenerateError(f"{path}: no postgresql package with schema and queries")
    return list(dict.fromkeys(schema)), list(dict.fromkeys(queries))
