"""Read an existing sqlc project's configuration: ``sqlc.yaml``, ``sqlc.yml`` or ``sqlc.json``.

Both versions are read as sqlc reads them: version 1 (``packages``) and version 2
(``sql``, with ``gen`` and ``codegen``). Every PostgreSQL package becomes its own
Python package, with its own schema and queries (never merged with another);
packages of other engines are skipped with a note. Keys that only mean something
to Go (``emit_json_tags``, ``sql_package``, ``cloud``, ``rules``, ``database``, …)
are ignored without a word.

Where the Python package goes: the ``codegen`` entry of the Python plugin
(``plugin: py``: its ``out`` and ``options.package``) when there is one, else
``--out``. Overrides with a Python type (``python_type``, or ``py_type`` as the
Python plugins spell it) and ``rename`` are honoured; overrides that only give a
Go type are ignored, with one note saying which and how to give a Python type.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from multica_db_codegen.errors import GenerateError
from multica_db_codegen.render.settings import Override

#: The names sqlc looks for, in the order it looks.
CONFIG_NAMES = ("sqlc.yaml", "sqlc.yml", "sqlc.json")


@dataclass(frozen=True, slots=True)
class SqlcPackage:
    """One PostgreSQL package of a sqlc config: what one Python package is generated from."""

    label: str  # how messages name it: "sql[0]" / "packages[1]", with its name if it has one
    schema: tuple[Path, ...]
    queries: tuple[Path, ...]
    name: str | None = None  # the package name the config suggests (plugin, go, v1 name)
    out: Path | None = None  # the Python plugin's output directory, when configured
    python_plugin: bool = False  # name and out come from a `codegen: plugin: py` entry
    overrides: tuple[Override, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)  # sqlc's: column or struct → name
    live_database: bool = False  # a `database:` entry: sqlc may analyze without a schema


@dataclass(frozen=True, slots=True)
class SqlcConfig:
    path: Path
    packages: tuple[SqlcPackage, ...]
    notes: tuple[str, ...] = ()  # one line per package skipped (another engine)


def find_sqlc_config(directory: Path) -> Path | None:
    """The config sqlc itself would read in ``directory`` (it only looks there)."""
    for name in CONFIG_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _paths(base: Path, value: Any, key: str, where: str) -> tuple[Path, ...]:
    """A path or a list of paths, relative to the config; glob patterns expanded as sqlc does."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise GenerateError(f"{where}.{key} must be a path or a list of paths")
    out: list[Path] = []
    for item in items:
        if glob.has_magic(item):
            # Go's filepath.Glob, as sqlc calls it: every match, directories included (a
            # directory matched is read like one named: `queries/**` lists each
            # subdirectory's own files), hidden names too, `**` no more than `*`
            found = (Path(p) for p in glob.glob(str(base / item), include_hidden=True))
            out += sorted(p for p in found if p.is_dir() or sqlc_reads(p))
        else:
            out.append(base / item)
    return tuple(dict.fromkeys(out))


def sqlc_reads(path: Path) -> bool:
    """Whether sqlc reads this file of a schema or queries path: ``.sql``, not hidden,
    not a golang-migrate rollback (``.down.sql``)."""
    name = path.name
    return name.endswith(".sql") and not name.startswith(".") and not name.endswith(".down.sql")


def _python_type(raw: dict[str, Any]) -> str | None:
    """The Python type of an override: ``python_type``, or ``py_type`` (+ ``py_import``)."""
    value = raw.get("python_type", raw.get("py_type"))
    if isinstance(value, dict):  # {import: mod, type: Name} as some plugins spell it
        module, name = value.get("import") or value.get("module"), value.get("type")
        value = f"{module}.{name}" if module and name else name
    if not isinstance(value, str) or not value:
        return None
    module = raw.get("py_import")
    if isinstance(module, str) and module and "." not in value:
        return f"{module}.{value}"
    return value


def _overrides(raw: Any, where: str) -> list[Override]:
    """The overrides that name a Python type; Go-only ones are none of our business."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GenerateError(f"{where}.overrides must be a list")
    out: list[Override] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise GenerateError(f"{where}.overrides[{i}] must be a mapping")
        py = _python_type(entry)
        if py is None:
            continue
        db_type, column = entry.get("db_type"), entry.get("column")
        if (db_type is None) == (column is None):
            raise GenerateError(
                f"{where}.overrides[{i}]: give exactly one of db_type or column (as sqlc requires)"
            )
        nullable = entry.get("nullable")
        out.append(
            Override(
                python_type=py,
                db_type=str(db_type) if db_type is not None else None,
                column=str(column) if column is not None else None,
                nullable=bool(nullable) if nullable is not None else None,
            )
        )
    return out


def _rename(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise GenerateError(f"{where}.rename must map names to names")
    return {str(k): v for k, v in raw.items()}


def _plugin_names(data: dict[str, Any]) -> set[str]:
    """Names of the configured plugins that are a Python generator."""
    names = {"py", "python"}
    for plugin in data.get("plugins") or []:
        if not isinstance(plugin, dict) or not isinstance(plugin.get("name"), str):
            continue
        source = json.dumps([plugin.get("wasm"), plugin.get("process")])
        if "sqlc-gen-python" in source or "sqlc-gen-better-python" in source:
            names.add(plugin["name"])
    return names


def _global(data: dict[str, Any]) -> tuple[list[Override], dict[str, str]]:
    """Version 2's top-level ``overrides: {go: {overrides, rename}}`` (any language key)."""
    section = data.get("overrides")
    if not isinstance(section, dict):
        return [], {}
    overrides: list[Override] = []
    rename: dict[str, str] = {}
    for lang, body in section.items():
        if isinstance(body, dict):
            overrides += _overrides(body.get("overrides"), f"overrides.{lang}")
            rename.update(_rename(body.get("rename"), f"overrides.{lang}"))
    return overrides, rename


def _postgres_entries(
    path: Path, data: dict[str, Any], key: str, default_engine: str | None, notes: list[str]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, label, entry) of each PostgreSQL package under ``key``; a note per other engine."""
    entries = data.get(key) or []
    if not isinstance(entries, list):
        raise GenerateError(f"{path}: {key} must be a list of packages")
    for i, pkg in enumerate(entries):
        where = f"{path}: {key}[{i}]"
        if not isinstance(pkg, dict):
            raise GenerateError(f"{where} must be a mapping")
        label = f"{key}[{i}]" + (f" ({pkg['name']})" if isinstance(pkg.get("name"), str) else "")
        engine = pkg.get("engine", default_engine)
        if engine != "postgresql":
            notes.append(f"{path.name}: {label} skipped: engine {engine!r} (only postgresql)")
            continue
        yield where, label, pkg


def _v2(path: Path, data: dict[str, Any]) -> SqlcConfig:
    base = path.parent
    py_plugins = _plugin_names(data)
    shared_overrides, shared_rename = _global(data)
    packages: list[SqlcPackage] = []
    notes: list[str] = []
    for where, label, pkg in _postgres_entries(path, data, "sql", None, notes):
        go = (pkg.get("gen") or {}).get("go") or {}
        overrides = shared_overrides + _overrides(go.get("overrides"), f"{where}.gen.go")
        rename = {**shared_rename, **_rename(go.get("rename"), f"{where}.gen.go")}
        name = go.get("package") if isinstance(go.get("package"), str) else None
        if name is None and isinstance(go.get("out"), str):
            name = Path(go["out"]).name
        out: Path | None = None
        python_plugin = False
        for j, gen in enumerate(pkg.get("codegen") or []):
            if not isinstance(gen, dict) or gen.get("plugin") not in py_plugins:
                continue
            options = gen.get("options") or {}
            if isinstance(gen.get("out"), str):
                out = base / gen["out"]
            python_plugin = True
            if isinstance(options.get("package"), str) and options["package"]:
                name = options["package"].rpartition(".")[2]
            elif out is not None:
                name = out.name
            overrides += _overrides(options.get("overrides"), f"{where}.codegen[{j}].options")
            rename.update(_rename(options.get("rename"), f"{where}.codegen[{j}].options"))
            break
        if name is None and isinstance(pkg.get("name"), str):
            name = pkg["name"]
        packages.append(
            SqlcPackage(
                label=label,
                schema=_paths(base, pkg.get("schema"), "schema", where),
                queries=_paths(base, pkg.get("queries"), "queries", where),
                name=name,
                out=out,
                python_plugin=python_plugin,
                overrides=tuple(overrides),
                rename=rename,
                live_database="database" in pkg,
            )
        )
    return SqlcConfig(path, tuple(packages), tuple(notes))


def _v1(path: Path, data: dict[str, Any]) -> SqlcConfig:
    base = path.parent
    rename = _rename(data.get("rename"), f"{path}")
    shared = _overrides(data.get("overrides"), f"{path}")
    packages: list[SqlcPackage] = []
    notes: list[str] = []
    # Version 1's engine defaults to PostgreSQL; version 2 must name it.
    for where, label, pkg in _postgres_entries(path, data, "packages", "postgresql", notes):
        name = pkg.get("name") if isinstance(pkg.get("name"), str) else None
        if name is None and isinstance(pkg.get("path"), str):
            name = Path(pkg["path"]).name
        packages.append(
            SqlcPackage(
                label=label,
                schema=_paths(base, pkg.get("schema"), "schema", where),
                queries=_paths(base, pkg.get("queries"), "queries", where),
                name=name,
                overrides=tuple(shared + _overrides(pkg.get("overrides"), where)),
                rename=dict(rename),
            )
        )
    return SqlcConfig(path, tuple(packages), tuple(notes))


def load_sqlc_config(path: Path) -> SqlcConfig:
    """Every PostgreSQL package of a sqlc config, and a note per package skipped."""
    if not path.is_file():
        raise GenerateError(f"sqlc config {str(path)!r} does not exist")
    try:
        data = _load(path)
    except Exception as exc:
        raise GenerateError(f"{path}: cannot read sqlc config: {exc}") from None
    if not isinstance(data, dict):
        raise GenerateError(f"{path}: a sqlc config is a mapping with a version")
    version = str(data.get("version", ""))
    if version == "1":
        cfg = _v1(path, data)
    elif version == "2":
        cfg = _v2(path, data)
    else:
        raise GenerateError(f"{path}: unknown sqlc config version {version!r} (expected 1 or 2)")
    ignored = _go_only_overrides(data)
    if ignored:
        shown = ", ".join(ignored[:3]) + (
            f" and {len(ignored) - 3} more" if len(ignored) > 3 else ""
        )
        cfg = replace(
            cfg,
            notes=(
                *cfg.notes,
                f"{path.name}: {len(ignored)} override(s) give only a Go type and were ignored "
                f"({shown}): add python_type next to go_type (e.g. python_type: "
                "decimal.Decimal), or an override in [tool.multica-db.overrides]",
            ),
        )
    if not cfg.packages:
        raise GenerateError(
            f"{path}: no postgresql package", hint="; ".join(cfg.notes) if cfg.notes else None
        )
    for pkg in cfg.packages:
        if not pkg.queries:  # no schema: PostgreSQL's own catalog, as sqlc reads it
            raise GenerateError(f"{path}: {pkg.label} has no queries")
    return cfg


def _go_only_overrides(data: Any) -> list[str]:
    """What each override with a ``go_type`` but no Python type applies to, config-wide."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "overrides" and isinstance(value, list):
                    for entry in value:
                        go_only = isinstance(entry, dict) and "go_type" in entry
                        if go_only and _python_type(entry) is None:
                            found.append(str(entry.get("db_type") or entry.get("column")))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return found
