"""parse → analyze → render → write, wired from configuration.

The stages' modules (psycopg, pglast, jinja2) are imported only when a stage
runs: when the run cache (analyze/cache.py) hits, ``generate`` compares files
on disk and returns without loading them, touching PostgreSQL or starting ruff.
"""

from __future__ import annotations

import contextlib
import gc
import keyword
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from multica_db_codegen import warm
from multica_db_codegen.analyze import cache as caching
from multica_db_codegen.config import Config, find_pyproject, load_config
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.later import later

if TYPE_CHECKING:
    from multica_db_codegen.analyze.ir import AnalysisIR


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
    found = plan(
        schema=schema,
        queries=queries,
        out=out,
        package=package,
        database_url=database_url,
        sqlc_config=sqlc_config,
        cwd=cwd,
    )
    for note in found.notes:
        warn(note)
    changed, diffs = 0, []
    for cfg in found.configs:
        n, diff_text = _generate_package(cfg, check, warn, key if len(found.configs) == 1 else None)
        changed += n
        diffs.append(diff_text)
    return changed, "".join(diffs)


def _generate_package(
    cfg: Config, check: bool, warn: Callable[[str], None], key: str | None
) -> tuple[int, str]:
    """``run_generate`` for one output package."""
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
    inputs = Inputs(cfg.schema, cfg.queries, cfg.database_url, cfg.flat_query_dirs)
    ir = analyze(inputs, cache=cache, started=started)
    warnings = [*ir.warnings, *(w for f in ir.files for w in f.warnings)] + [
        f"{q.file}:{q.line}: query {q.name}: {w}"
        for f in ir.files
        for q in f.queries
        for w in q.warnings
    ]
    for w in warnings:
        warn(w)
    rename = cfg.rename
    if cfg.sqlc_rename:
        from multica_db_codegen.sqlc_config import python_rename

        rename = {**python_rename(cfg.sqlc_rename, ir), **cfg.rename}
    settings = Settings(
        package=cfg.package, overrides=cfg.overrides, rename=rename, root=str(cfg.root)
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
        found = plan(
            schema=schema_flags,
            queries=query_flags,
            out=out,
            package=single.get("package"),
            database_url=single.get("database_url"),
            sqlc_config=sqlc,
        )
        if len(found.configs) != 1 or found.notes:
            return None  # several packages, or notes to print: the CLI's path
        [cfg] = found.configs
        sqlc = found.sqlc
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
        # a [tool.multica-db] appearing later would take over from the sqlc config
        config.append(str((Path.cwd() / "pyproject.toml").resolve()))
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
