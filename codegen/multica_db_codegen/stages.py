"""The four stages as plain functions: parse → analyze → render → write.

Each takes what the one before it produced and returns its result together with
every error it found, so a run reports all of them at once and a query that
failed is simply left out of the later stages. Only the runner
(:mod:`multica_db_codegen.runner`) calls them in sequence; nothing here caches,
reads configuration or prints.

The analyze stage asks a :class:`Source` — a database holding the schema
(:class:`Session`), or anything else that can answer for a parsed file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from multica_db_codegen.errors import GenerateError, GenerateErrors
from multica_db_codegen.sqlc_config import sqlc_reads

if TYPE_CHECKING:
    import psycopg

    from multica_db_codegen.analyze.catalog import Catalog
    from multica_db_codegen.analyze.ir import AnalysisIR, EnumIR, FileIR, TableIR
    from multica_db_codegen.parse import QuerySpec
    from multica_db_codegen.project import Config
    from multica_db_codegen.render.renderer import Origin
    from multica_db_codegen.render.settings import Settings
    from multica_db_codegen.render.writer import Plan


def query_files(paths: Iterable[Path], flat: bool = False) -> list[Path]:
    """Every ``.sql`` file named or inside a named directory, in a stable order.

    ``flat``: only the directory's own files, not hidden ones nor golang-migrate's
    ``.down.sql``, as sqlc lists them (a sqlc project's ``queries: db`` must not pick
    up ``db/migrations/``).
    """
    files: list[Path] = []
    for p in paths:
        if p.is_dir() and flat:
            files.extend(sorted(x for x in p.iterdir() if x.is_file() and sqlc_reads(x)))
        elif flat and p.is_file() and not sqlc_reads(p):
            continue  # matched by a glob pattern, and sqlc leaves it out
        elif p.is_dir():
            files.extend(sorted(x for x in p.rglob("*.sql") if x.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise GenerateError(f"queries path {str(p)!r} does not exist")
    return files


# --- parse -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Parsed:
    """Each file's queries (files that failed to parse are absent), notes and errors."""

    specs: list[tuple[Path, list[QuerySpec]]] = field(default_factory=list)
    notes: dict[Path, list[str]] = field(default_factory=dict)
    errors: list[GenerateError] = field(default_factory=list)
    incomplete: set[Path] = field(default_factory=set)  # files with a statement left out


def parse(
    files: Sequence[Path], texts: Mapping[Path, str], schema_files: Collection[Path] = ()
) -> Parsed:
    """Parse each query file; ``schema_files`` (resolved) are also schema: DDL is no surprise."""
    from multica_db_codegen.parse import parse_query_file

    out = Parsed()
    for p in files:
        notes = out.notes.setdefault(p, [])
        before = len(out.errors)
        try:
            both = p.resolve() in schema_files
            specs = parse_query_file(
                p, texts.get(p), warnings=notes, schema_too=both, failed=out.errors
            )
            out.specs.append((p, specs))
        except GenerateErrors as exc:
            out.errors.extend(exc.errors)
        if len(out.errors) > before:
            out.incomplete.add(p)
    return out


# --- analyze ---------------------------------------------------------------------------------


class Source(Protocol):
    """What describes parsed queries: each file's IR (a failed query carries its error),
    and the schema's tables and enums."""

    def analyze(
        self, parsed: Sequence[tuple[Path, list[QuerySpec]]]
    ) -> tuple[list[FileIR], list[GenerateError]]: ...

    def relations(self) -> tuple[tuple[TableIR, ...], tuple[EnumIR, ...]]: ...


@dataclass(slots=True)
class Session:
    """A connection to a database holding the schema: the analyzer's source of truth."""

    conn: psycopg.Connection[Any]
    catalog: Catalog
    missing: Sequence[str] = ()  # extensions the server lacks
    # a call to a function the database lacks: typed Any with a warning, as sqlc accepts it
    # (a live database, verify's, lacks it for real: there it is an error)
    stub_functions: bool = True

    def analyze(
        self, parsed: Sequence[tuple[Path, list[QuerySpec]]]
    ) -> tuple[list[FileIR], list[GenerateError]]:
        from multica_db_codegen.analyze.analyzer import analyze_parsed

        return analyze_parsed(
            self.conn,
            self.catalog,
            parsed,
            missing=self.missing,
            stub_functions=self.stub_functions,
        )

    def relations(self) -> tuple[tuple[TableIR, ...], tuple[EnumIR, ...]]:
        return tuple(self.catalog.relations()), tuple(self.catalog.enums())


def analyze(
    parsed: Sequence[tuple[Path, list[QuerySpec]]], source: Source
) -> tuple[list[FileIR], list[GenerateError]]:
    """Each parsed file's IR, and the error of every query that failed (kept in its file
    with :attr:`QueryIR.error` set)."""
    return source.analyze(parsed)


def without_failed(fir: FileIR) -> FileIR:
    """The file with only the queries that worked: what later stages see."""
    if all(q.error is None for q in fir.queries):
        return fir
    return replace(fir, queries=tuple(q for q in fir.queries if q.error is None))


# --- render ----------------------------------------------------------------------------------


def render_settings(cfg: Config, ir: AnalysisIR) -> Settings:
    """THE render settings of a package: every renderer of this project gets these."""
    from multica_db_codegen.render.settings import Settings

    rename = cfg.rename
    if cfg.sqlc_rename:
        from multica_db_codegen.render.naming import python_rename

        rename = {**python_rename(cfg.sqlc_rename, ir), **cfg.rename}
    return Settings(package=cfg.package, overrides=cfg.overrides, rename=rename, root=str(cfg.root))


@dataclass(slots=True)
class Rendered:
    """Unformatted files by path, where each top-level name comes from, each file's module."""

    files: dict[str, str]
    origins: dict[str, dict[str, Origin]]
    modules: dict[str, str]  # FileIR.path → module name
    # the queries the renderer refused, by (file, line, name): left out of ``files``
    refused: dict[tuple[str, int, str], GenerateError] = field(default_factory=dict)


def render(
    ir: AnalysisIR,
    settings: Settings,
    *,
    only: Collection[str] | None = None,
    package: bool = True,
) -> Rendered:
    """The modules of ``only`` (FileIR paths; None: all) and, with ``package``, models.py,
    the package modules and the runtime.

    A query the renderer refuses is reported (``Rendered.errors``) and left out; the
    others are rendered. An error that belongs to no query (models.py) is raised.
    """
    from multica_db_codegen.render.renderer import Renderer

    refused: dict[tuple[str, int, str], GenerateError] = {}
    try:
        renderer = Renderer(ir, settings)
        files = renderer.render(only=only, package=package)
    except GenerateError:
        bare = replace(ir, files=tuple(replace(f, queries=()) for f in ir.files))
        Renderer(bare, settings).render(only=only, package=package)  # raises: no query's
        ir, refused = _drop_unrenderable(ir, settings, only)
        if not refused:
            raise
        renderer = Renderer(ir, settings)
        files = renderer.render(only=only, package=package)
    return Rendered(files, renderer.origins, dict(renderer.modules), refused)


def _drop_unrenderable(
    ir: AnalysisIR, settings: Settings, only: Collection[str] | None
) -> tuple[AnalysisIR, dict[tuple[str, int, str], GenerateError]]:
    """Render each query alone to find the ones the renderer refuses; the IR without them."""
    from multica_db_codegen.render.renderer import Renderer

    refused: dict[tuple[str, int, str], GenerateError] = {}
    files = []
    for f in ir.files:
        if only is not None and f.path not in only:
            files.append(f)
            continue
        kept = []
        for q in f.queries:
            alone = replace(ir, files=(replace(f, queries=(q,)),))
            try:
                Renderer(alone, settings).render(package=False)
            except GenerateError as exc:
                if exc.query is None:
                    exc.query = q.name
                if exc.location is None and exc.where is None:
                    exc.where = f"{q.file}:{q.line}"
                refused[(q.file, q.line, q.name)] = exc
                continue
            kept.append(q)
        files.append(replace(f, queries=tuple(kept)))
    return replace(ir, files=tuple(files)), refused


def format_files(
    rendered: Rendered, *, package: str, pyproject: Path | None, root: Path | None = None
) -> dict[str, str]:
    """Sorted, formatted and checked as ruff would (:func:`render.writer.format_sources`)."""
    from multica_db_codegen.render import writer

    return writer.format_sources(
        rendered.files,
        package=package,
        pyproject=pyproject,
        origins=rendered.origins,
        root=root,
    )


# --- write -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Written:
    written: tuple[Path, ...]  # files written (or, with check, that would be)
    deleted: tuple[Path, ...]  # generated modules removed: their query file is gone
    left_alone: int  # generated modules a partial run did not touch
    diff: str  # with check: the unified diff of what would change


def write(
    out: Path,
    files: dict[str, str],
    *,
    package: str,
    check: bool,
    partial: bool = False,
    keep: Collection[str] = (),
    root: Path | None = None,
) -> Written:
    """Replace the output's files atomically (or, with ``check``, only say how they differ).

    ``partial``: the other generated modules stay as they are, whatever they hold;
    ``keep``: these modules do (the query files that failed altogether). The
    package's top-level ``__init__.py`` is written when there is none (a hand-written
    one is never touched), so the output is a package that type-checks by its path.
    """
    from multica_db_codegen.render import writer

    files = {**_package_init(out, package), **files}
    plan: Plan = writer.plan(out, files)
    left_alone = 0
    if partial:
        left_alone = len(_other_modules(out, files))
        plan = writer.Plan(plan.writes, [], plan.unchanged)
    elif keep:
        kept = {out / sub / f"{m}.py" for m in keep for sub in ("queries", "queries/aio")}
        plan = writer.Plan(plan.writes, [p for p in plan.deletes if p not in kept], plan.unchanged)
    diff = writer.diff(plan, root or out) if check else ""
    if not check:
        writer.apply(plan)
    return Written(tuple(plan.writes), tuple(plan.deletes), left_alone, diff)


def _package_init(out: Path, package: str) -> dict[str, str]:
    from multica_db_codegen.render.runtime_files import HEADER
    from multica_db_codegen.render.writer import is_generated

    init = out / "__init__.py"
    if init.exists() and not is_generated(init):
        return {}
    doc = f'"""The {package} package, generated by multica-db: models and query modules."""'
    return {"__init__.py": f"{HEADER}\n{doc}\n"}


def _other_modules(out: Path, files: dict[str, str]) -> list[Path]:
    """Generated query modules under ``out`` that are not among ``files``."""
    from multica_db_codegen.render.writer import is_generated

    found: list[Path] = []
    for sub in ("queries", "queries/aio"):
        d = out / sub
        if d.is_dir():
            for p in sorted(d.glob("*.py")):
                rel = p.relative_to(out).as_posix()
                if rel not in files and not rel.endswith("__init__.py") and is_generated(p):
                    found.append(p)
    return found
