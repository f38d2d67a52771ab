"""Configuration → the commands' runs: ``generate`` (through incremental.py) and ``analyze``.

The stages' modules (psycopg, pglast, jinja2) are imported only when a stage
runs.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from multica_db_codegen import cache
from multica_db_codegen.config import Config, load_config
from multica_db_codegen.errors import GenerateError

if TYPE_CHECKING:
    from multica_db_codegen.analyze.ir import AnalysisIR
    from multica_db_codegen.incremental import Generator, Result


def _inputs(
    schema: list[Path] | None,
    queries: list[Path] | None,
    database_url: str | None,
    sqlc_config: Path | None,
) -> tuple[list[Path] | None, list[Path] | None]:
    if sqlc_config is not None:
        from multica_db_codegen.sqlc_config import read_sqlc_config

        s, q = read_sqlc_config(sqlc_config)
        schema = schema or s
        queries = queries or q
    return schema, queries


def run_analyze(
    *,
    schema: list[Path] | None = None,
    queries: list[Path] | None = None,
    database_url: str | None = None,
    keep_going: bool = False,
    sqlc_config: Path | None = None,
    cwd: Path | None = None,
) -> AnalysisIR:
    from multica_db_codegen.analyze.analyzer import Inputs, analyze

    schema, queries = _inputs(schema, queries, database_url, sqlc_config)
    cfg = load_config(
        cwd=cwd, schema=schema, queries=queries, out=Path("."), database_url=database_url
    )
    return analyze(Inputs(cfg.schema, cfg.queries, cfg.database_url), keep_going=keep_going)


def resolve_config(
    *,
    schema: list[Path] | None = None,
    queries: list[Path] | None = None,
    out: Path | None = None,
    package: str | None = None,
    database_url: str | None = None,
    sqlc_config: Path | None = None,
    cwd: Path | None = None,
) -> tuple[Config, list[Path] | None, Path | None]:
    """(configuration, the query files of a partial run or None, the sqlc config's path).

    ``--queries`` naming files of a project that configures its queries (pyproject
    or sqlc config) is a partial run: the configuration keeps every configured
    query file (they all shape models.py), and only the named ones are written.
    Without configured queries, the flag is the whole set.
    """
    cwd = cwd or Path.cwd()
    if sqlc_config is not None and not sqlc_config.is_absolute():
        sqlc_config = cwd / sqlc_config
    flagged = list(queries) if queries else None
    named = flagged
    s, q = _inputs(schema, None, database_url, sqlc_config)
    try:
        cfg = load_config(
            cwd=cwd, schema=s, queries=q, out=out, package=package, database_url=database_url
        )
    except GenerateError:
        if flagged is None:
            raise
        named = None  # nothing configured: the flag is the whole set
        s, q = _inputs(schema, flagged, database_url, sqlc_config)
        cfg = load_config(
            cwd=cwd, schema=s, queries=q, out=out, package=package, database_url=database_url
        )
    return _rooted(cfg, cwd, sqlc_config), named, sqlc_config


def _rooted(cfg: Config, cwd: Path, sqlc_config: Path | None) -> Config:
    """The configuration with its root where caches and header paths belong (cache.project_root)."""
    root = Path(cache.project_root(str(cwd.resolve()), str(sqlc_config) if sqlc_config else None))
    return cfg if root == cfg.root else dataclasses.replace(cfg, root=root)


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
    """One ``generate``: a fresh :class:`~multica_db_codegen.incremental.Generator`, run once.

    ``argv``: the console command's arguments; when given, a successful run leaves
    the warm stamp (cache.py) that answers the same command next time.
    """
    from multica_db_codegen.incremental import Generator

    started_in = Path.cwd() if cwd is None else cwd
    with Generator(
        schema=schema,
        queries=queries,
        out=out,
        package=package,
        database_url=database_url,
        sqlc_config=sqlc_config,
        cwd=cwd,
    ) as gen:
        stamp = argv is not None and cache.enabled()
        inputs = [str(p) for p in gen.input_paths()] if stamp else []
        before = cache.inputs_digest(inputs) if stamp else ""
        result = gen.regenerate(check=check)
        for w in result.warnings:
            warn(w)
        if stamp and argv is not None and not (check and result.changed):
            _stamp(gen, result, argv, str(started_in.resolve()), inputs, before)
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


def report_generate(result: Result, *, check: bool) -> int:
    """Print a generate run's outcome as the CLI does; return its exit status."""
    if not check:
        print(result.summary(), file=sys.stderr)
        return 0
    if result.changed:
        sys.stdout.write(result.diff)
        print("generated code is stale: run `multica-db generate`", file=sys.stderr)
        return 1
    print("generated code is up to date", file=sys.stderr)
    return 0
