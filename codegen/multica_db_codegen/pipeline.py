"""parse → analyze → render → write, wired from configuration.

The stages' modules (psycopg, pglast, jinja2) are imported only when a stage
runs: when the run cache (analyze/cache.py) hits, ``generate`` compares files
on disk and returns without loading them, touching PostgreSQL or starting ruff.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from multica_db_codegen import warm
from multica_db_codegen.analyze import cache as caching
from multica_db_codegen.config import Config, find_pyproject, load_config
from multica_db_codegen.later import later

if TYPE_CHECKING:
    from multica_db_codegen.analyze.ir import AnalysisIR


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


def _run_key(cfg: Config, pyproject: Path | None) -> str:
    """Everything a run's output depends on (the generator's source is added by run_key)."""
    return caching.run_key(
        config=repr(cfg),
        pyproject=pyproject.read_text(encoding="utf-8") if pyproject else "",
        server=caching.server_identity(cfg.database_url),
        schema=caching.tree_digest(cfg.schema),
        queries=caching.tree_digest(cfg.queries),
    )


def _up_to_date(out: Path, files: dict[str, str]) -> bool:
    """Every file already has this text and no stale generated module would be deleted."""
    for rel, text in files.items():
        try:
            if (out / rel).read_text(encoding="utf-8") != text:
                return False
        except OSError:
            return False
    for sub in ("queries", "queries/aio"):
        d = out / sub
        if d.is_dir() and any(
            p.relative_to(out).as_posix() not in files and _is_generated(p) for p in d.glob("*.py")
        ):
            return False
    return True


def _is_generated(path: Path) -> bool:
    """A module the writer would delete as stale (hand-written ones stay)."""
    from multica_db_codegen.render.writer import is_generated

    return is_generated(path)


def _write(out: Path, root: Path, files: dict[str, str], check: bool) -> tuple[int, str]:
    from multica_db_codegen.render import writer

    plan = writer.plan(out, files)
    changed = len(plan.writes) + len(plan.deletes)
    if check:
        return changed, writer.diff(plan, root)
    writer.apply(plan)
    return changed, ""


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
    key: str | None = None,
) -> tuple[int, str]:
    """Return (files that differ, diff text); writes them unless ``check``.

    ``key``: the run key of these inputs, when the caller has computed it already.
    """
    schema, queries = _inputs(schema, queries, database_url, sqlc_config)
    cfg: Config = load_config(
        cwd=cwd,
        schema=schema,
        queries=queries,
        out=out,
        package=package,
        database_url=database_url,
    )
    pyproject = find_pyproject(cfg.root)
    cache = caching.ProjectCache(cfg.root) if caching.enabled() else None
    if cache is None:
        key = ""
    elif key is None:
        key = _run_key(cfg, pyproject)
    hit = cache.load_run(key, cfg.out) if cache is not None else None
    if hit is not None:
        files, warnings = hit
        for w in warnings:
            warn(w)
        if _up_to_date(cfg.out, files):
            return 0, ""
        return _write(cfg.out, cfg.root, files, check)

    # A cold run allocates hundreds of thousands of objects (syntax trees, IR) and frees
    # almost none until it ends: the cyclic collector's passes over them are pure cost.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(cfg, pyproject, cache, key, check, warn)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(
    cfg: Config,
    pyproject: Path | None,
    cache: caching.ProjectCache | None,
    key: str,
    check: bool,
    warn: Callable[[str], None],
) -> tuple[int, str]:
    """``run_generate`` past the run cache: analyze, render, format, write."""
    started = None
    if cache is not None:
        # Build (or find) the schema's database first: applying hundreds of migrations
        # takes longer than anything else, and overlaps loading the stages below.
        from multica_db_codegen.analyze.schema import load_schema
        from multica_db_codegen.analyze.server import start_session

        chunks = load_schema(list(cfg.schema))
        started = (chunks, start_session(cache, cfg.database_url, chunks))

    from multica_db_codegen.analyze.analyzer import Inputs, analyze
    from multica_db_codegen.render import writer
    from multica_db_codegen.render.renderer import (
        Settings,
        preload,
        render_with_origins,
        use_bytecode_cache,
    )

    use_bytecode_cache(caching.user_cache_dir() / "jinja2")
    if started is not None:  # work that would otherwise wait for the schema's database
        writer.prepare(pyproject)
        preload()
    ir = analyze(Inputs(cfg.schema, cfg.queries, cfg.database_url), cache=cache, started=started)
    warnings = [
        f"{q.file}:{q.line}: query {q.name}: {w}"
        for f in ir.files
        for q in f.queries
        for w in q.warnings
    ]
    for w in warnings:
        warn(w)
    settings = Settings(
        package=cfg.package, overrides=cfg.overrides, rename=cfg.rename, root=str(cfg.root)
    )
    rendered, origins = render_with_origins(ir, settings)

    def fmt(todo: dict[str, str]) -> dict[str, str]:
        return writer.format_sources(
            todo, package=cfg.package, pyproject=pyproject, origins=origins
        )

    if cache is None:
        return _write(cfg.out, cfg.root, fmt(rendered), check)
    salt = caching.run_key(
        ruff=caching.ruff_version(),
        package=cfg.package,
        pyproject=pyproject.read_text(encoding="utf-8") if pyproject else "",
    )
    files = cache.format(rendered, salt, fmt)
    written = _write(cfg.out, cfg.root, files, check)
    if started is not None:
        later(started[1].save)  # each query file's analysis, for the next run

    def store_run() -> None:
        if _run_key(cfg, pyproject) == key:  # inputs unchanged while we ran: safe to reuse
            cache.store_run(key, cfg.out, files, warnings)

    later(store_run)
    if started is not None:
        from multica_db_codegen.analyze.server import finish_background

        finish_background()
    return written


_VALUE_FLAGS = {
    "--schema": "schema",
    "--queries": "queries",
    "--out": "out",
    "--package": "package",
    "--database-url": "database_url",
    "--sqlc-config": "sqlc_config",
}


def fast_generate(argv: list[str]) -> int | None:
    """``multica-db generate`` without loading the CLI framework, when the flags are plain.

    Building typer's command (it validates parameters with pydantic) costs more
    than a whole warm run, so ``main`` tries this first. It handles known flags
    only; it prints what the CLI prints and returns the exit code. Anything else
    — another command, an unknown flag, any error — returns None, and the CLI
    runs (again) as usual, reporting errors its own way.
    """
    if not argv or argv[0] != "generate" or not caching.enabled():
        return None
    opts: dict[str, list[str]] = {}
    check = False
    args = iter(argv[1:])
    for arg in args:
        if arg == "--check":
            check = True
            continue
        flag, eq, value = arg.partition("=")
        if flag not in _VALUE_FLAGS:
            return None
        if not eq:
            value = next(args, "")
        if not value or value.startswith("-"):
            return None
        opts.setdefault(_VALUE_FLAGS[flag], []).append(value)
    single = {k: v[0] for k, v in opts.items() if k not in ("schema", "queries")}
    if any(len(v) > 1 for k, v in opts.items() if k in single):
        return None
    schema_flags = [Path(p) for p in opts.get("schema", [])] or None
    query_flags = [Path(p) for p in opts.get("queries", [])] or None
    sqlc = Path(single["sqlc_config"]) if "sqlc_config" in single else None
    out = Path(single["out"]) if "out" in single else None
    warnings: list[str] = []
    try:
        identity = warm.run_identity(argv, os.getcwd())
        schema, queries = _inputs(schema_flags, query_flags, None, sqlc)
        cfg = load_config(
            schema=schema,
            queries=queries,
            out=out,
            package=single.get("package"),
            database_url=single.get("database_url"),
        )
        stamp_inputs = _stamp_inputs(cfg, sqlc)
        inputs_before = warm.inputs_digest(stamp_inputs)
        key = _run_key(cfg, find_pyproject(cfg.root))
        hit = caching.ProjectCache(cfg.root).load_run(key, cfg.out)
        if hit is not None and _up_to_date(cfg.out, hit[0]):
            changed, diff_text = 0, ""
            warnings = hit[1]
        else:
            changed, diff_text = run_generate(
                check=check,
                schema=schema_flags,
                queries=query_flags,
                out=out,
                package=single.get("package"),
                database_url=single.get("database_url"),
                sqlc_config=sqlc,
                warn=warnings.append,
                key=key,
            )
        if not (check and changed):

            def stamp() -> None:
                # A cache that cannot be written only costs the next run time.
                with contextlib.suppress(OSError):
                    _stamp(identity, cfg, key, stamp_inputs, inputs_before)

            later(stamp)
    except Exception:  # errors are reported by the CLI, which runs next
        return None
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return report_generate(changed, diff_text, check=check)


def _stamp_inputs(cfg: Config, sqlc: Path | None) -> list[str]:
    """Every file a run reads besides the generator: configuration, schema, queries."""
    found = {find_pyproject(Path.cwd()), find_pyproject(cfg.root)}
    config = sorted(str(p.resolve()) for p in found if p is not None)
    if sqlc is not None:
        config.append(str(sqlc.resolve()))
    return config + [str(p.resolve()) for p in (*cfg.schema, *cfg.queries)]


def _stamp(identity: str, cfg: Config, key: str, inputs: list[str], before: str) -> None:
    """Leave the warm stamp (see warm.py) for outputs that are now current on disk.

    Only when no input changed while this run read them: the stamp must never
    vouch for outputs generated from other bytes than the ones it hashes.
    """
    if not key or warm.inputs_digest(inputs) != before:
        return
    hit = caching.ProjectCache(cfg.root).load_run(key, cfg.out)
    if hit is None or not _up_to_date(cfg.out, hit[0]):
        return
    out = str(cfg.out.resolve())
    generated = sorted(hit[0])
    warm.write_stamp(
        warm.stamp_path(str(cfg.root.resolve()), identity),
        identity=identity,
        inputs=inputs,
        out=out,
        generated=generated,
        warnings=hit[1],
        digest=warm.state_digest(identity, before, out, generated),
    )


def report_generate(changed: int, diff_text: str, *, check: bool) -> int:
    """Print a generate run's outcome as the CLI does; return its exit status."""
    if not check:
        print(f"{changed} file(s) written", file=sys.stderr)
        return 0
    if changed:
        sys.stdout.write(diff_text)
        print("generated code is stale: run `multica-db generate`", file=sys.stderr)
        return 1
    print("generated code is up to date", file=sys.stderr)
    return 0
