"""Configuration → the commands' runs: ``generate`` (through incremental.py) and ``analyze``.

The stages' modules (psycopg, pglast, jinja2) are imported only when a stage
runs.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from multica_db_codegen import cache
from multica_db_codegen.config import Config, find_pyproject, load_config
from multica_db_codegen.errors import GenerateError

if TYPE_CHECKING:
    from multica_db_codegen.analyze.ir import AnalysisIR
    from multica_db_codegen.incremental import Generator, Result


@dataclass(frozen=True, slots=True)
class Plan:
    """What one command generates: a config per output package, and notes to print."""

    configs: list[Config]
    notes: list[str]
    sqlc: Path | None  # the sqlc config read, if any


def plan(
    *,
    schema: list[Path] | None = None,
    queries: list[Path] | None = None,
    out: Path | None = None,
    package: str | None = None,
    database_url: str | None = None,
    sqlc_config: Path | None = None,
    cwd: Path | None = None,
) -> Plan:
    """One :class:`Config` per package to generate.

    Without ``--sqlc-config`` and with no ``[tool.multica-db]`` nor ``--schema`` /
    ``--queries``, the ``sqlc.yaml`` / ``sqlc.yml`` / ``sqlc.json`` of the working
    directory is read, as sqlc reads it. Each PostgreSQL package of a sqlc config is
    its own output package: ``--out`` is that package's directory when there is one
    package, their parent directory (``<out>/<name>``) when there are several; a
    package whose config has a Python ``codegen`` entry goes where it says.
    """
    here = cwd or Path.cwd()
    if sqlc_config is None and not schema and not queries and not _has_own_config(here):
        from multica_db_codegen.sqlc_config import find_sqlc_config

        sqlc_config = find_sqlc_config(here)
    if sqlc_config is None:
        cfg = load_config(
            cwd=cwd,
            schema=schema,
            queries=queries,
            out=out,
            package=package,
            database_url=database_url,
        )
        return Plan([cfg], [], None)
    from multica_db_codegen.sqlc_config import load_sqlc_config

    sqlc = load_sqlc_config(sqlc_config)
    several = len(sqlc.packages) > 1
    if several and package is not None:
        raise GenerateError(
            f"{sqlc_config}: --package names one package, but this config has "
            f"{len(sqlc.packages)} PostgreSQL packages (each is named by its config)"
        )
    configs: list[Config] = []
    taken: set[str] = set()
    for i, pkg in enumerate(sqlc.packages):
        pkg_out, pkg_name = pkg.out, package
        if pkg.python_plugin and pkg.out is not None and out is None:
            pkg_name = package or pkg.name or pkg.out.name
        elif out is not None and several:
            pkg_name = _unique(_identifier(pkg.name or f"db{i + 1}"), taken)
            pkg_out = out / pkg_name
        elif out is not None:
            pkg_out = out
        elif several:
            raise GenerateError(
                f"{sqlc_config}: no output directory for {pkg.label}: pass --out DIR "
                "(each package is written to DIR/<name>) or give it a Python codegen entry"
            )
        cfg = load_config(
            cwd=cwd,
            schema=list(schema or pkg.schema),
            queries=list(queries or pkg.queries),
            out=pkg_out,
            package=pkg_name,
            database_url=database_url,
        )
        # an override for NULL-able columns only yields to one for the same type
        ordered = sorted(pkg.overrides, key=lambda o: o.nullable is True)
        configs.append(
            replace(
                cfg,
                overrides=(*cfg.overrides, *ordered),
                sqlc_rename=dict(pkg.rename),
                flat_query_dirs=not queries,  # sqlc's own paths: read as sqlc reads them
            )
        )
    return Plan(configs, list(sqlc.notes), sqlc_config)


def _has_own_config(cwd: Path) -> bool:
    """A pyproject.toml (here or above) with a ``[tool.multica-db]`` table."""
    import tomllib

    pyproject = find_pyproject(cwd)
    if pyproject is None:
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return True  # let load_config report it
    return bool(data.get("tool", {}).get("multica-db"))


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


def run_analyze(
    *,
    schema: list[Path] | None = None,
    queries: list[Path] | None = None,
    database_url: str | None = None,
    keep_going: bool = False,
    sqlc_config: Path | None = None,
    cwd: Path | None = None,
) -> AnalysisIR:
    """The analysis of every package; several packages' files and models side by side."""
    from multica_db_codegen.analyze.analyzer import Inputs, analyze
    from multica_db_codegen.analyze.ir import AnalysisIR

    found = plan(
        schema=schema,
        queries=queries,
        out=Path("."),
        database_url=database_url,
        sqlc_config=sqlc_config,
        cwd=cwd,
    )
    parts = [
        analyze(
            Inputs(c.schema, c.queries, c.database_url, c.flat_query_dirs), keep_going=keep_going
        )
        for c in found.configs
    ]
    if len(parts) == 1:
        return parts[0]
    return AnalysisIR(
        files=tuple(f for p in parts for f in p.files),
        tables=tuple(t for p in parts for t in p.tables),
        enums=tuple(e for p in parts for e in p.enums),
        composites=tuple(c for p in parts for c in p.composites),
    )


def resolve_plan(
    *,
    schema: list[Path] | None = None,
    queries: list[Path] | None = None,
    out: Path | None = None,
    package: str | None = None,
    database_url: str | None = None,
    sqlc_config: Path | None = None,
    cwd: Path | None = None,
) -> tuple[Plan, list[Path] | None]:
    """The plan of a ``generate``, and the query files of a partial run (else None).

    ``--queries`` naming files of a project that configures its queries (pyproject
    or sqlc config) is a partial run: the configuration keeps every configured
    query file (they all shape models.py), and only the named ones are written.
    Without configured queries, the flag is the whole set. Each config's root is
    the project root (:func:`multica_db_codegen.cache.project_root`), whatever the
    working directory.
    """
    here = cwd or Path.cwd()
    if queries:
        try:
            configured = plan(
                schema=schema,
                out=out,
                package=package,
                database_url=database_url,
                sqlc_config=sqlc_config,
                cwd=cwd,
            )
        except GenerateError:  # nothing configured: the flag is the whole set
            configured = None
        if configured is not None:
            return _rooted(configured, here), list(queries)
    found = plan(
        schema=schema,
        queries=queries,
        out=out,
        package=package,
        database_url=database_url,
        sqlc_config=sqlc_config,
        cwd=cwd,
    )
    return _rooted(found, here), None


def _rooted(found: Plan, cwd: Path) -> Plan:
    sqlc = str(found.sqlc) if found.sqlc is not None else None
    root = Path(cache.project_root(str(cwd.resolve()), sqlc))
    configs = [c if c.root == root else replace(c, root=root) for c in found.configs]
    return Plan(configs, found.notes, found.sqlc)


def run_generate(
    *,
    check: bool = False,
    schema: list[Path] | None = None,
    queries: list[Path] | None = None,
    out: Path | None = None,
    package: str | None = None,
    database_url: str | None = None,
    sqlc_config: Path | None = None,
    cwd: Path | None = None,
    warn: Callable[[str], None] = lambda _msg: None,
    argv: Sequence[str] | None = None,
) -> Result:
    """One ``generate``: a fresh :class:`~multica_db_codegen.incremental.Generator` per
    output package, run once; the results summed.

    ``argv``: the console command's arguments; when given, a successful run leaves
    the warm stamp (cache.py) that answers the same command next time.
    """
    from multica_db_codegen.incremental import Result, generators

    started_in = (Path.cwd() if cwd is None else cwd).resolve()
    gens, notes = generators(
        schema=schema,
        queries=queries,
        out=out,
        package=package,
        database_url=database_url,
        sqlc_config=sqlc_config,
        cwd=cwd,
    )
    for note in notes:
        warn(note)
    stamp = argv is not None and cache.enabled() and len(gens) == 1 and not notes
    inputs = [str(p) for p in gens[0].input_paths()] if stamp else []
    before = cache.inputs_digest(inputs) if stamp else ""
    results = []
    for gen in gens:
        with gen:
            results.append(gen.regenerate(check=check))
            for w in results[-1].warnings:
                warn(w)
    result = results[0] if len(results) == 1 else Result.combine(results)
    if stamp and argv is not None and not (check and result.changed):
        _stamp(gens[0], result, argv, str(started_in), inputs, before)
    return result


def _stamp(
    gen: Generator, result: Result, argv: Sequence[str], cwd: str, inputs: list[str], before: str
) -> None:
    """Leave the warm stamp for outputs that are now current on disk.

    Only when no input changed while this run read them (the stamp must never
    vouch for outputs generated from other bytes than the ones it hashes), and
    only in the project root the warm path looks in (never in the working folder).
    """
    cfg = gen.config
    root = cache.project_root(cwd)
    if Path(root) != cfg.root.resolve() or cache.inputs_digest(inputs) != before:
        return
    out = str(cfg.out.resolve())
    generated = sorted(
        p.relative_to(cfg.out).as_posix()
        for p in cfg.out.rglob("*.py")
        if _is_generated(p) and "__pycache__" not in p.parts
    )
    identity = cache.run_identity(argv, cwd)
    cache.write_stamp(
        root,
        identity,
        inputs=inputs,
        out=out,
        generated=generated,
        warnings=result.warnings,
        digest=cache.state_digest(identity, before, out, generated),
    )


def _is_generated(path: Path) -> bool:
    from multica_db_codegen.render.writer import is_generated

    return is_generated(path)


def report_generate(result: Result | int, diff_text: str = "", *, check: bool) -> int:
    """Print a generate (or render) run's outcome as the CLI does; return its exit status.

    ``result``: what the run did, or (render) the number of files that differ.
    """
    if isinstance(result, int):
        changed, summary = result, f"{result} file(s) written"
    else:
        changed, diff_text, summary = result.changed, result.diff, result.summary()
    if not check:
        print(summary, file=sys.stderr)
        return 0
    if changed:
        sys.stdout.write(diff_text)
        print("generated code is stale: run `multica-db generate`", file=sys.stderr)
        return 1
    print("generated code is up to date", file=sys.stderr)
    return 0
