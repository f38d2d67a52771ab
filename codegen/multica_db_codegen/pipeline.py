"""parse → analyze → render → write, wired from configuration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from multica_db_codegen.analyze.analyzer import Inputs, analyze
from multica_db_codegen.analyze.ir import AnalysisIR
from multica_db_codegen.config import Config, find_pyproject, load_config
from multica_db_codegen.render import writer
from multica_db_codegen.render.renderer import Settings, render


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
    schema, queries = _inputs(schema, queries, database_url, sqlc_config)
    cfg = load_config(
        cwd=cwd, schema=schema, queries=queries, out=Path("."), database_url=database_url
    )
    return analyze(Inputs(cfg.schema, cfg.queries, cfg.database_url), keep_going=keep_going)


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
) -> tuple[int, str]:
    """Return (files that differ, diff text); writes them unless ``check``."""
    schema, queries = _inputs(schema, queries, database_url, sqlc_config)
    cfg: Config = load_config(
        cwd=cwd,
        schema=schema,
        queries=queries,
        out=out,
        package=package,
        database_url=database_url,
    )
    ir = analyze(Inputs(cfg.schema, cfg.queries, cfg.database_url))
    for f in ir.files:
        for q in f.queries:
            for w in q.warnings:
                warn(f"{q.file}:{q.line}: query {q.name}: {w}")
    settings = Settings(
        package=cfg.package, overrides=cfg.overrides, rename=cfg.rename, root=str(cfg.root)
    )
    files = render(ir, settings)
    pyproject = find_pyproject(cfg.root)
    files = writer.format_sources(files, package=cfg.package, pyproject=pyproject)
    plan = writer.plan(cfg.out, files)
    changed = len(plan.writes) + len(plan.deletes)
    if check:
        return changed, writer.diff(plan, cfg.root)
    writer.apply(plan)
    return changed, ""
