"""The project: its root and everything its configuration says, read once.

``[tool.multica-db]`` in pyproject.toml, a sqlc config (``sqlc.yaml`` /
``sqlc.yml`` / ``sqlc.json``) and the command line's flags become one frozen
:class:`Project`: a :class:`Config` per output package. Every configuration
error is a :class:`~multica_db_codegen.errors.GenerateError` naming the file
(and the line, where there is one); nothing else reads these files.
"""

from __future__ import annotations

import keyword
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from multica_db_codegen import cache
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.render.settings import Override

__all__ = ["Config", "Flags", "Override", "Project", "find_pyproject", "load_project"]


@dataclass(frozen=True, slots=True)
class Flags:
    """What the command line says (None / empty: from the configuration files)."""

    schema: Sequence[Path] | None = ()
    queries: Sequence[Path] | None = ()
    out: Path | None = None
    package: str | None = None
    database_url: str | None = None
    sqlc_config: Path | None = None
    cwd: Path | None = None

    def __post_init__(self) -> None:  # any sequence (a list from the CLI) → a tuple
        object.__setattr__(self, "schema", tuple(self.schema or ()))
        object.__setattr__(self, "queries", tuple(self.queries or ()))


@dataclass(frozen=True, slots=True)
class Config:
    """One output package: what it is generated from, where, and how."""

    root: Path
    schema: tuple[Path, ...]
    queries: tuple[Path, ...]
    out: Path
    package: str
    database_url: str | None = None
    overrides: tuple[Override, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    # a sqlc config's ``rename`` (column or Go struct name → Go name), translated for
    # Python once the schema is known (render.naming.python_rename)
    sqlc_rename: dict[str, str] = field(default_factory=dict)
    flat_query_dirs: bool = False  # a sqlc package: a queries directory's own files only
    # ``--queries`` narrowing a configured set: only these files' modules are written
    named: tuple[Path, ...] | None = None


@dataclass(frozen=True, slots=True)
class Project:
    """Every output package of one command, and what to tell the user about the config."""

    root: Path
    packages: tuple[Config, ...]
    notes: tuple[str, ...] = ()
    sqlc: Path | None = None  # the sqlc config read, if any
    pyproject: Path | None = None  # the root's pyproject.toml (ruff's settings too)
    config_files: frozenset[Path] = frozenset()  # a change to one re-reads the project
    #: the inputs are the configured ones (so the project's analysis snapshot is theirs):
    #: False for ``--queries`` naming files the configuration does not list
    configured: bool = True


def find_pyproject(start: Path) -> Path | None:
    for d in (start, *start.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_pyproject(path: Path) -> dict[str, Any]:
    """The whole pyproject.toml; a broken one is a :class:`GenerateError` at its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GenerateError(f"{path}: cannot read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)|\(at end of document\)", message)
        last = text.rsplit("\n", 1)[-1]
        at = (m.group(1), m.group(2)) if m and m.group(1) else (text.count("\n") + 1, len(last) + 1)
        message = message[: m.start()].strip() if m else message
        raise GenerateError(f"{path}:{at[0]}:{at[1]}: invalid TOML: {message}") from None


def _table(pyproject: Path | None) -> dict[str, Any]:
    if pyproject is None:
        return {}
    table = read_pyproject(pyproject).get("tool", {}).get("multica-db", {})
    if not isinstance(table, dict):
        raise GenerateError(f"{pyproject}: [tool.multica-db] must be a table")
    return table


class _Section:
    """``[tool.multica-db]`` of one pyproject.toml, with where each key is written."""

    def __init__(self, pyproject: Path | None, table: dict[str, Any]) -> None:
        self.path = pyproject
        self.table = table
        self._lines = pyproject.read_text(encoding="utf-8").splitlines() if pyproject else []

    def error(self, key: str, message: str) -> GenerateError:
        line = next(
            (i for i, t in enumerate(self._lines, 1) if re.match(rf"\s*{re.escape(key)}\s*=", t)),
            None,
        )
        at = f"{self.path}:{line}" if line else str(self.path)
        return GenerateError(f"{at}: [tool.multica-db] {message}")

    def paths(self, root: Path, key: str) -> tuple[Path, ...]:
        value = self.table.get(key)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise self.error(key, f"{key} must be a path or a list of paths")
        return tuple(root / v for v in items)


def load_project(flags: Flags) -> Project:
    """Read the configuration once: one :class:`Config` per package to generate.

    Without ``--sqlc-config`` and with no ``[tool.multica-db]`` nor ``--schema`` /
    ``--queries``, the ``sqlc.yaml`` / ``sqlc.yml`` / ``sqlc.json`` of the working
    directory is read, as sqlc reads it. Each PostgreSQL package of a sqlc config is
    its own output package: ``--out`` is that package's directory when there is one
    package, their parent directory (``<out>/<name>``) when there are several; a
    package whose config has a Python ``codegen`` entry goes where it says.

    ``--queries`` naming files of a project that configures its queries is a partial
    run: every configured file still shapes models.py; only the named ones are written
    (:attr:`Config.named`). Without configured queries, or naming a file the
    configuration does not list, the flag is the whole set.
    """
    here = (flags.cwd or Path.cwd()).resolve()
    pyproject = find_pyproject(here)
    section = _Section(pyproject, _table(pyproject))
    sqlc = flags.sqlc_config
    if sqlc is None and not flags.schema and not flags.queries and not section.table:
        from multica_db_codegen.sqlc_config import find_sqlc_config

        sqlc = find_sqlc_config(here)
    root = Path(cache.project_root(str(here), str(sqlc) if sqlc is not None else None))
    named: tuple[Path, ...] | None = None
    configured = True
    if flags.queries:
        try:
            configs, notes = _configs(replace(flags, queries=()), section, sqlc, root)
            named = tuple(flags.queries or ())
        except GenerateError:  # nothing configured: the flag is the whole set
            configs, notes = _configs(flags, section, sqlc, root)
        if named is not None and not _all_configured(configs, named):
            # files the configuration does not list (a one-off package generated from
            # inside a project): the flag is the whole set, not a partial run, and the
            # project's analysis snapshot is not theirs
            named = None
            configured = False
            configs, notes = _configs(flags, section, sqlc, root)
    else:
        configs, notes = _configs(flags, section, sqlc, root)
    if named is not None:
        configs = _narrow(configs, named)
    root_pyproject = find_pyproject(root)
    files = {p.resolve() for p in (pyproject, root_pyproject, sqlc) if p is not None}
    if sqlc is not None:  # a [tool.multica-db] appearing later would take over from it
        files.add(here / "pyproject.toml")
    return Project(
        root=root,
        packages=tuple(configs),
        notes=tuple(notes),
        sqlc=sqlc,
        pyproject=root_pyproject,
        config_files=frozenset(files),
        configured=configured,
    )


def _all_configured(configs: list[Config], named: tuple[Path, ...]) -> bool:
    """Whether every file ``named`` is among the configured query files."""
    from multica_db_codegen.stages import query_files

    own = {p.resolve() for cfg in configs for p in query_files(cfg.queries, cfg.flat_query_dirs)}
    return all(p.resolve() in own for p in query_files(named))


def _narrow(configs: list[Config], named: tuple[Path, ...]) -> list[Config]:
    """Each package writes the named files it has (several packages: those that have any)."""
    if len(configs) == 1:
        return [replace(configs[0], named=named)]
    from multica_db_codegen.stages import query_files

    out = []
    for cfg in configs:
        own = {p.resolve() for p in query_files(cfg.queries, cfg.flat_query_dirs)}
        mine = tuple(p for p in named if p.resolve() in own)
        if mine:
            out.append(replace(cfg, named=mine))
    if not out:
        raise GenerateError("--queries names no query file of this configuration")
    return out


def _configs(
    flags: Flags, section: _Section, sqlc_config: Path | None, root: Path
) -> tuple[list[Config], list[str]]:
    if sqlc_config is None:
        return [_own_config(flags, section, root)], []
    from multica_db_codegen.sqlc_config import load_sqlc_config

    sqlc = load_sqlc_config(sqlc_config)
    several = len(sqlc.packages) > 1
    if several and flags.package is not None:
        raise GenerateError(
            f"{sqlc_config}: --package names one package, but this config has "
            f"{len(sqlc.packages)} PostgreSQL packages (each is named by its config)"
        )
    configs: list[Config] = []
    taken: set[str] = set()
    for i, pkg in enumerate(sqlc.packages):
        pkg_out, pkg_name = pkg.out, flags.package
        if pkg.python_plugin and pkg.out is not None and flags.out is None:
            pkg_name = flags.package or pkg.name or pkg.out.name
        elif flags.out is not None and several:
            pkg_name = _unique(_identifier(pkg.name or f"db{i + 1}"), taken)
            pkg_out = flags.out / pkg_name
        elif flags.out is not None:
            pkg_out = flags.out
        if pkg_out is None and (several or "out" not in section.table):
            raise _no_out(sqlc_config, pkg.label, pkg.name, several)
        # no schema and no database: sqlc reads the queries against PostgreSQL's own
        # catalog (pg_catalog, information_schema), as an empty database has it
        catalog_only = not (flags.schema or pkg.schema or pkg.live_database)
        if not (flags.schema or pkg.schema or catalog_only):
            raise GenerateError(
                f"{sqlc_config}: {pkg.label} has no schema: sqlc analyzes it against a live "
                f"database (its `database:` entry); give its schema or migrations: "
                f"--sqlc-config {sqlc_config.name} --schema PATH"
            )
        cfg = _own_config(
            replace(
                flags,
                schema=flags.schema or pkg.schema,
                queries=flags.queries or pkg.queries,
                out=pkg_out,
                package=pkg_name,
            ),
            section,
            root,
            catalog_only=catalog_only,
        )
        # an override for NULL-able columns only yields to one for the same type
        ordered = sorted(pkg.overrides, key=lambda o: o.nullable is True)
        configs.append(
            replace(
                cfg,
                overrides=(*cfg.overrides, *ordered),
                sqlc_rename=dict(pkg.rename),
                flat_query_dirs=not flags.queries,  # sqlc's own paths: read as sqlc reads them
            )
        )
    return configs, list(sqlc.notes)


def _no_out(sqlc_config: Path, label: str, name: str | None, several: bool) -> GenerateError:
    """Where a sqlc package without a Python entry could go: the snippet, and ``--out``."""
    pkg = _identifier(name or "db")
    snippet = (
        f"    codegen:  # in {label}\n"
        "      - plugin: py\n"
        f"        out: gen/{pkg}\n"
        "        options:\n"
        f"          package: {pkg}\n"
    )
    out = f"gen/{pkg}"
    flag = "--out DIR (each package is written to DIR/<name>)" if several else f"--out {out}"
    return GenerateError(
        f"{sqlc_config}: no output directory for {label}: it has no Python codegen entry",
        hint=f"pass {flag}, or add this to {sqlc_config.name}:\n{snippet}",
    )


def _own_config(
    flags: Flags, section: _Section, root: Path, *, catalog_only: bool = False
) -> Config:
    """Settings from ``[tool.multica-db]`` (if any), each replaced by the flag given for it.

    ``catalog_only``: a sqlc package with neither schema nor database, whose queries
    read only PostgreSQL's own catalog; its schema is empty."""
    table = section.table
    base = section.path.parent if section.path is not None and table else root
    overrides = tuple(_override(section, o) for o in table.get("overrides", []))
    rename = table.get("rename", {})
    if not isinstance(rename, dict) or not all(isinstance(v, str) for v in rename.values()):
        raise section.error("rename", "rename must map names to names")
    out = flags.out if flags.out is not None else (base / table["out"] if "out" in table else None)
    if out is None:
        raise GenerateError("no output directory: pass --out or set [tool.multica-db] out")
    schema = flags.schema or section.paths(base, "schema")
    queries = flags.queries or section.paths(base, "queries")
    if not schema and not catalog_only:
        raise GenerateError("no schema: pass --schema or set [tool.multica-db] schema")
    if not queries:
        raise GenerateError("no queries: pass --queries or set [tool.multica-db] queries")
    return Config(
        root=root,
        schema=tuple(schema),
        queries=tuple(queries),
        out=out,
        package=flags.package or _default_package(table, base, out),
        database_url=flags.database_url or table.get("database_url"),
        overrides=overrides,
        rename=dict(rename),
    )


def _default_package(table: dict[str, Any], base: Path, out: Path) -> str:
    """The configured package when writing to the configured ``out``, else out's name.

    ``--out gen/bookstore`` inside a project configured for another package means a
    different package: ``bookstore``.
    """
    configured = table.get("package")
    if configured and "out" in table and (base / table["out"]).resolve() == out.resolve():
        return str(configured)
    if configured and "out" not in table:
        return str(configured)
    return out.resolve().name


def _override(section: _Section, raw: Any) -> Override:
    if not isinstance(raw, dict) or "python_type" not in raw:
        raise section.error("overrides", "overrides entries need python_type and db_type or column")
    if ("db_type" in raw) == ("column" in raw):
        raise section.error(
            "overrides",
            f"override for {raw['python_type']!r}: give exactly one of db_type or column",
        )
    return Override(
        python_type=str(raw["python_type"]),
        db_type=raw.get("db_type"),
        column=raw.get("column"),
    )


def _identifier(name: str) -> str:
    cleaned = re.sub(r"\W", "_", name).strip("_").lower() or "db"
    return f"db_{cleaned}" if cleaned[0].isdigit() or keyword.iskeyword(cleaned) else cleaned


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 2
    while candidate in taken:
        candidate = f"{name}_{k}"
        k += 1
    taken.add(candidate)
    return candidate
