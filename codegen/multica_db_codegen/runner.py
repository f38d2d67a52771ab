"""The one runner: the stages in sequence, once, for every command.

``generate``, ``analyze``, ``render --ir``, ``verify`` and ``watch`` are
*processors* over it (:mod:`multica_db_codegen.processors`). For each output
package of the :class:`~multica_db_codegen.project.Project`, the runner lists
the query files, parses and analyzes those without a stored analysis (on the
schema's database, or another :class:`~multica_db_codegen.stages.Source`) and
hands the processor a :class:`Unit`. Every error of every stage lands in
``Unit.errors``; a query that failed is left out of the later stages. Then, in
one place, keep-going is decided: without it any error stops the run before a
processor's :meth:`Processor.commit` (nothing written); with it, everything that
worked is committed and the errors are listed.

One instance keeps, between runs, the configuration, each package's schema and
its database connection, and a :class:`~multica_db_codegen.store.Store` of
analyses and formatted modules, so ``watch`` redoes per save only what the saved
file invalidated::

    runner = Runner(Flags(cwd=project))
    runner.run(Generate())                                  # everything, the first time
    runner.run(Generate(), changed=[Path("queries/users.sql")])
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from multica_db_codegen import cache, stages
from multica_db_codegen.analyze.ir import AnalysisIR, FileIR
from multica_db_codegen.analyze.ir_codec import decode, encode
from multica_db_codegen.errors import GenerateError, GenerateErrors
from multica_db_codegen.project import Config, Flags, Project, load_project
from multica_db_codegen.store import Store

if TYPE_CHECKING:
    from multica_db_codegen.analyze.ir import EnumIR, TableIR
    from multica_db_codegen.analyze.schema import SchemaChunk

P = TypeVar("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Processor(Protocol[P, R_co]):
    """What a command does with each package's analysis.

    ``prepare`` works in memory only (render, compare, collect) and may add to
    ``unit.errors``; ``commit`` has the side effects (write files) and runs only
    when the run goes on (no error, or keep-going).
    """

    def prepare(self, unit: Unit) -> P: ...

    def commit(self, unit: Unit, prepared: P) -> R_co: ...


@dataclass(slots=True)
class _Package:
    """What a runner keeps of one output package between runs."""

    cfg: Config
    chunks: list[SchemaChunk] | None = None
    schema_key: str = ""
    session: stages.Session | None = None
    tables: tuple[TableIR, ...] | None = None
    enums: tuple[EnumIR, ...] = ()
    missing: list[str] | None = None  # extensions the server lacks
    notes: list[str] | None = None  # warnings about the schema

    def close(self) -> None:
        if self.session is not None:
            conn, self.session = self.session.conn, None
            conn.close()


@dataclass(slots=True)
class Unit:
    """One package's run, as a processor sees it."""

    runner: Runner
    pkg: _Package
    files: list[Path]  # every query file of the package: all shape models.py
    targets: list[Path]  # the files whose modules this run writes (a partial run: fewer)
    modules: dict[Path, str]
    rel: dict[Path, str]
    akeys: dict[Path, str]  # each file's analysis key
    analyzed: list[Path]  # files parsed and described in this run
    schema_changed: bool
    errors: list[GenerateError] = field(default_factory=list)
    failed: dict[Path, FileIR] = field(default_factory=dict)  # analyses with failed queries
    keys: set[str] = field(default_factory=set)  # every stored value this run used
    rendered: bool = False  # outputs() ran: ``keys`` holds every value the project needs
    left_out: list[str] = field(default_factory=list)  # modules of files no query of worked
    complete: bool = True  # every configured file takes part (a partial run: maybe not)

    @property
    def cfg(self) -> Config:
        return self.pkg.cfg

    @property
    def project(self) -> Project:
        return self.runner.project

    @property
    def partial(self) -> bool:
        return self.cfg.named is not None

    def analysis(self, path: Path) -> FileIR | None:
        """One file's analysis (failed queries included), None when it has none."""
        fir = self.failed.get(path) or self.runner.store.get(
            "analysis", self.akeys[path], lambda data: decode(FileIR, data)
        )
        return None if fir is None else replace(fir, module=self.modules[path], rel=self.rel[path])

    def ir(self) -> AnalysisIR:
        """The analysis of every file that has one, failed queries included."""
        tables, enums = self.runner.catalog_ir(self.pkg)
        wanted = {*self.files, *self.failed}
        files = [f for p in self.akeys if p in wanted and (f := self.analysis(p)) is not None]
        return AnalysisIR(
            files=tuple(files), tables=tables, enums=enums, warnings=self.schema_warnings()
        )

    def schema_warnings(self) -> tuple[str, ...]:
        return self.runner.schema_warnings(self.pkg)

    def warnings(self) -> tuple[str, ...]:
        """The schema's, the targets' files' and their queries' warnings."""
        firs = [f for p in self.targets if (f := self._analysis_for_warnings(p)) is not None]
        return (
            *self.schema_warnings(),
            *(w for fir in firs for w in fir.warnings),
            *(
                f"{q.file}:{q.line}: query {q.name}: {w}"
                for fir in firs
                for q in fir.queries
                for w in q.warnings
            ),
        )

    def _analysis_for_warnings(self, path: Path) -> FileIR | None:
        """Decoded only when its stored facts say it has warnings."""
        if path not in self.akeys:
            return None
        fact = self.runner.store.fact(self.akeys[path])
        if path in self.failed or (isinstance(fact, dict) and fact.get("warns")):
            return self.analysis(path)
        return None

    def outputs(self) -> dict[str, str]:
        """Every formatted file this run writes (stored per module and for the package)."""
        self.rendered = True
        return self.runner.outputs(self)


class Runner:
    """One project, run as often as asked, redoing only what changed.

    ``use_cache`` (default: unless ``MULTICA_DB_NO_CACHE``) also reads and writes the
    project's cache directory, so a new process starts warm; without it the schema's
    database is still kept on the server. ``source``: what describes each package's
    parsed files, given its config (default: a database holding the package's schema,
    :class:`stages.Session`; the analysis snapshot is another).
    ``queries=False``: no query file is listed, parsed or described (``render --ir``).
    """

    def __init__(
        self,
        flags: Flags,
        *,
        use_cache: bool | None = None,
        source: Callable[[Config], stages.Source] | None = None,
        queries: bool = True,
    ) -> None:
        self.flags = flags
        self.source = source
        self._queries = queries
        self._use_cache = cache.enabled() if use_cache is None else use_cache
        self._project: Project | None = None
        self._packages: dict[Path, _Package] = {}
        self._store: Store | None = None
        self._salts: dict[Path, str] = {}

    # --- the public API -----------------------------------------------------------------
    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = load_project(self.flags)
        return self._project

    @property
    def store(self) -> Store:
        if self._store is None or self._store.root != self._store_root():
            self._store = Store(self._store_root())
        return self._store

    def _store_root(self) -> str | None:
        return str(self.project.root) if self._use_cache else None

    def input_paths(self) -> list[Path]:
        """Every file and folder a run reads: configuration, schema, queries (resolved)."""
        p = self.project
        paths = set(p.config_files)
        for cfg in p.packages:
            paths.update(x.resolve() for x in (*cfg.schema, *(cfg.named or cfg.queries)))
        return sorted(paths)

    def run(
        self,
        processor: Processor[P, R],
        changed: Iterable[Path] | None = None,
        *,
        keep_going: bool = False,
    ) -> list[R]:
        """Run ``processor`` over every package; its results in the packages' order.

        ``changed``: the files that changed since the previous run (a watcher knows);
        None means anything may have. Raises :class:`GenerateErrors` with every error
        of every package unless ``keep_going``.
        """
        hint = None if changed is None else {Path(p).resolve() for p in changed}
        if hint is None or hint & self.project.config_files:
            self._project, self._salts = None, {}
        project = self.project
        try:
            units = [self._unit(self._package(cfg), hint) for cfg in project.packages]
            prepared = [processor.prepare(u) for u in units]
            errors = [e for u in units for e in u.errors]
            if errors and not keep_going:
                raise GenerateErrors(errors)
            results = [processor.commit(u, p) for u, p in zip(units, prepared, strict=True)]
            if all(u.rendered and not u.partial for u in units):
                self.store.keep_only({k for u in units for k in u.keys})  # what the project holds
            else:
                self.store.save()
            return results
        finally:
            from multica_db_codegen.analyze.server import finish_background

            finish_background()

    def close(self) -> None:
        """Close the analyzer connections (the schemas' databases stay for the next run)."""
        for pkg in self._packages.values():
            pkg.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- packages and their schema ------------------------------------------------------
    def _package(self, cfg: Config) -> _Package:
        key = cfg.out.resolve()
        pkg = self._packages.get(key)
        if pkg is None:
            pkg = self._packages[key] = _Package(cfg)
        elif pkg.cfg != cfg:
            if (pkg.cfg.database_url, pkg.cfg.schema) != (cfg.database_url, cfg.schema):
                pkg.close()  # another server or schema: start over
                pkg.chunks, pkg.schema_key = None, ""
            pkg.cfg = cfg
        return pkg

    def _load_schema(self, pkg: _Package, hint: set[Path] | None) -> bool:
        """Re-read the schema if it may have changed; True when it did (and is not the first)."""
        if pkg.chunks is not None and hint is not None:
            roots = [p.resolve() for p in pkg.cfg.schema]
            if not any(h == r or r in h.parents for h in hint for r in roots):
                return False
        from multica_db_codegen.analyze.schema import LOADER, load_schema

        chunks = load_schema(list(pkg.cfg.schema))
        h = cache.Hasher()  # the schema as applied; paths left out: every clone shares it
        h.part(LOADER)  # how the SQL is applied (stand-ins, forgiven statements) is in it
        for c in chunks:
            h.part(c.sql)
        skey = h.hexdigest()
        first = pkg.chunks is None
        pkg.chunks = chunks
        if skey == pkg.schema_key:
            return False
        pkg.schema_key = skey
        pkg.close()
        pkg.tables, pkg.missing, pkg.notes = None, None, None
        return not first

    def _server(self, pkg: _Package) -> str:
        return cache.server_identity(pkg.cfg.database_url)

    def _connect_in_background(self, pkg: _Package) -> Future[None] | None:
        """Find or build the schema's database in a thread (hundreds of migrations take
        longer than anything else: parsing and loading the renderer overlap it)."""
        if pkg.session is not None:
            return None
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="multica-db-schema")
        try:
            return pool.submit(self._connect, pkg)
        finally:
            pool.shutdown(wait=False)

    def _connect(self, pkg: _Package) -> None:
        from multica_db_codegen.analyze.catalog import Catalog
        from multica_db_codegen.analyze.schema import missing_extensions, schema_notes
        from multica_db_codegen.analyze.server import (
            KEEP_PER_PROJECT,
            apply_schema_at_once,
            connect_schema_database,
            schema_database_name,
            server_url,
        )

        chunks = pkg.chunks
        assert chunks is not None
        name = schema_database_name(pkg.schema_key)
        raw = self.store.read("schemas.json")
        recent = [str(n) for n in raw if isinstance(n, str)] if isinstance(raw, list) else []
        recent = [name, *(n for n in recent if n != name)]
        conn = connect_schema_database(
            server_url(pkg.cfg.database_url),
            pkg.schema_key,
            lambda c: apply_schema_at_once(c, chunks),
            prune=recent[KEEP_PER_PROJECT:],
        )
        if self._use_cache:  # the project's few, and any older one still in use (next time)
            kept = recent[:KEEP_PER_PROJECT]
            if recent[KEEP_PER_PROJECT:]:
                rows = conn.execute(
                    "SELECT datname FROM pg_database WHERE datname = ANY(%s)",
                    (recent[KEEP_PER_PROJECT:],),
                ).fetchall()
                kept += [str(r[0]) for r in rows]
            self.store.write("schemas.json", kept)
        pkg.missing = missing_extensions(conn, chunks)
        pkg.notes = schema_notes(conn, chunks)
        pkg.session = stages.Session(conn, Catalog(conn), pkg.missing)
        self.store.note(
            self._notes_key(pkg), {"notes": list(pkg.missing), "warnings": list(pkg.notes)}
        )

    def schema_database(self) -> str:
        """Name of the (first) package's schema database on the analyzer's server."""
        from multica_db_codegen.analyze.server import schema_database_name

        pkg = self._package(self.project.packages[0])
        if pkg.chunks is None:
            self._load_schema(pkg, None)
        return schema_database_name(pkg.schema_key)

    def _notes_key(self, pkg: _Package) -> str:
        return cache.key("schema notes", self._server(pkg), pkg.schema_key)

    def schema_warnings(self, pkg: _Package) -> tuple[str, ...]:
        """Warnings about the schema (kept with its database), known once connected."""
        if pkg.notes is None:
            entry = self.store.fact(self._notes_key(pkg))
            if isinstance(entry, dict):
                if isinstance(entry.get("notes"), list):
                    pkg.missing = [str(n) for n in entry["notes"]]
                if isinstance(entry.get("warnings"), list):
                    pkg.notes = [str(n) for n in entry["warnings"]]
        return tuple(pkg.notes or ())

    def _source(self, pkg: _Package, pending: Future[None] | None) -> stages.Source:
        if self.source is not None:
            return self.source(pkg.cfg)
        if pending is not None:
            pending.result()  # the database is there (or its error is raised)
        elif pkg.session is None:
            self._connect(pkg)
        assert pkg.session is not None
        return pkg.session

    def catalog_ir(self, pkg: _Package) -> tuple[tuple[TableIR, ...], tuple[EnumIR, ...]]:
        if pkg.tables is None:
            pkg.tables, pkg.enums = self._source(pkg, None).relations()
        return pkg.tables, pkg.enums

    # --- parse and analyze --------------------------------------------------------------
    def _unit(self, pkg: _Package, hint: set[Path] | None) -> Unit:
        from multica_db_codegen.analyze.analyzer import module_names, relative_paths

        if not self._queries:
            return Unit(self, pkg, [], [], {}, {}, {}, [], False)
        schema_changed = self._load_schema(pkg, hint)
        cfg = pkg.cfg
        store = self.store
        listed = stages.query_files(cfg.queries, cfg.flat_query_dirs)
        targets = listed
        if cfg.named is not None:  # every configured file shapes models.py
            same = {p.resolve(): p for p in listed}
            targets = [same.get(p.resolve(), p) for p in stages.query_files(cfg.named)]
            listed = list(dict.fromkeys([*listed, *targets]))
        rel = relative_paths(listed, [*cfg.queries, *(cfg.named or ())])
        modules = module_names(listed, rel)  # where a file goes depends on the others

        texts: dict[Path, str] = {}
        errors: list[GenerateError] = []
        for p in listed:
            try:
                texts[p] = p.read_text(encoding="utf-8")  # as the parser reads it
            except (OSError, ValueError) as exc:
                if p in targets:
                    errors.append(GenerateError(f"cannot read {p}: {exc}"))
        server = self._server(pkg)
        akeys = {
            p: cache.key("analysis", server, pkg.schema_key, str(p), t) for p, t in texts.items()
        }
        target_set = set(targets)
        todo = [p for p in targets if p in akeys and store.fact(akeys[p]) is None]
        # A partial run does not analyze the other files: those without a stored analysis
        # simply do not take part (and models.py, which they shape, is then not written).
        files = [p for p in listed if p in akeys and (p in target_set or store.fact(akeys[p]))]
        unit: Unit = Unit(
            self, pkg, files, targets, modules, rel, akeys, [], schema_changed, errors
        )
        unit.complete = len(files) == sum(1 for p in listed if p in akeys)
        unit.keys.update(akeys[p] for p in files)
        unit.keys.add(self._notes_key(pkg))
        if todo:
            self._analyze(unit, todo, texts)
        return unit

    def _analyze(self, unit: Unit, todo: list[Path], texts: dict[Path, str]) -> None:
        pkg = unit.pkg
        pending = self._connect_in_background(pkg) if self.source is None else None
        schema_files = _resolved(tuple(c.file.path for c in pkg.chunks or ()))
        parsed = stages.parse(todo, texts, schema_files)
        unit.errors.extend(parsed.errors)
        firs, errors = stages.analyze(parsed.specs, self._source(pkg, pending))
        unit.errors.extend(errors)
        unit.analyzed = [p for p, _ in parsed.specs]
        for p, fir in zip(unit.analyzed, firs, strict=True):
            fir = replace(fir, warnings=tuple(parsed.notes.get(p, ())))
            if p in parsed.incomplete or any(q.error is not None for q in fir.queries):
                unit.failed[p] = fir  # analyzed again next time: its errors are reported
                continue
            akey = unit.akeys[p]
            self.store.put("analysis", akey, fir, encode)
            self.store.note(
                akey,
                {
                    "refs": _composite_refs(fir),
                    "warns": bool(fir.warnings) or any(q.warnings for q in fir.queries),
                },
            )
        # a file of which no query worked is left out, its module left as it is
        dead = set(todo) - set(unit.analyzed)
        dead |= {p for p, f in unit.failed.items() if all(q.error for q in f.queries)}
        unit.files = [p for p in unit.files if p not in dead]
        unit.left_out = [unit.modules[p] for p in sorted(dead)]

    # --- render -------------------------------------------------------------------------
    def outputs(self, unit: Unit) -> dict[str, str]:
        """The formatted files of ``unit``'s targets and of the package; each module
        stored under a key of everything its text depends on.

        A partial run writes the package files too (the runtime, the package inits, and
        models.py when every configured file takes part): a module just rendered may need
        a newer runtime than the one on disk (after an upgrade). Stored, they cost a
        comparison."""
        store, cfg = self.store, unit.cfg
        files = unit.files
        refs = {p: self._refs(unit, p) for p in files}
        context = sorted({r for p in files for r in refs[p]})
        if cfg.sqlc_rename:  # sqlc's rename is resolved against every query: no reuse
            context += [unit.akeys[p] for p in files]
        context += [unit.modules[p] for p in files]  # module names are claimed in file order
        context_key = cache.key("context", self._salt(cfg), unit.pkg.schema_key, *context)
        okeys = {
            p: cache.key("module", context_key, unit.akeys[p], unit.modules[p], unit.rel[p])
            for p in files
        }
        package_key = cache.key("package", context_key)
        targets = [p for p in unit.targets if p in okeys]
        unit.keys.update([*okeys.values(), package_key])
        missing = [p for p in targets if not store.has("module", okeys[p])]
        fresh: dict[str, dict[str, str]] = {}
        if missing or not store.has("package", package_key):
            fresh = self._render(unit, files, missing, refs, okeys, package_key)

        def value(kind: str, key: str) -> dict[str, str]:
            found = fresh.get(key) or store.get(kind, key)
            return found if isinstance(found, dict) else {}

        out: dict[str, str] = dict(value("package", package_key))
        if unit.partial and not unit.complete and (cfg.out / "models.py").is_file():
            out.pop("models.py", None)  # shaped by files that did not take part: kept
        for p in targets:
            out.update(value("module", okeys[p]))
        return out

    def _refs(self, unit: Unit, p: Path) -> list[str]:
        if p in unit.failed:
            return _composite_refs(unit.failed[p])
        fact = self.store.fact(unit.akeys[p])
        return [str(r) for r in fact["refs"]] if isinstance(fact, dict) else []

    def _salt(self, cfg: Config) -> str:
        """Render settings + the project's ruff settings: part of every output key (computed
        once per reading of the configuration)."""
        salt = self._salts.get(cfg.out)
        if salt is None:
            settings = [repr(replace(cfg, named=None)), str(cfg.root.resolve())]
            salt = self._salts[cfg.out] = json.dumps([*settings, _ruff(self.project)])
        return salt

    def _render(
        self,
        unit: Unit,
        files: list[Path],
        missing: list[Path],
        refs: dict[Path, list[str]],
        okeys: dict[Path, str],
        package_key: str,
    ) -> dict[str, dict[str, str]]:
        """Render and format the modules of ``missing`` and (unless stored) the package
        files; stored when no query failed (else they are rendered again next time)."""
        from multica_db_codegen.render import writer
        from multica_db_codegen.render.renderer import use_bytecode_cache

        pkg, cfg, store = unit.pkg, unit.cfg, self.store
        pending = None
        if pkg.tables is None and self.source is None:
            pending = self._connect_in_background(pkg)
        if pending is not None:
            writer.prepare(self.project.pyproject)  # ruff's settings, asked meanwhile
            self._source(pkg, pending)
        # The renderer sees every file whose queries use a row type (what it takes from
        # the other files) and the ones it renders; the rest are not even decoded.
        needed = set(missing)
        firs = []
        for p in files:
            if p not in needed and not cfg.sqlc_rename and not refs[p]:
                # its module name still takes part in naming the others
                firs.append(FileIR(str(p), unit.modules[p], (), rel=unit.rel[p]))
                continue
            fir = unit.analysis(p)
            if fir is None:  # a stored value that cannot be read: analyze the file again
                raise GenerateError(f"{p}: its cached analysis was unreadable: run again")
            firs.append(stages.without_failed(fir))
        tables, enums = self.catalog_ir(pkg)
        ir = AnalysisIR(files=tuple(firs), tables=tables, enums=enums)
        settings = stages.render_settings(cfg, ir)
        use_bytecode_cache(Path(cache.user_cache_dir()) / "jinja2")
        # With models.py and the package modules unchanged (their key holds), only the
        # changed query modules are rendered and formatted: watch mode's one file per save.
        package_cached = store.has("package", package_key)
        rendered = stages.render(
            ir, settings, only={str(p) for p in missing}, package=not package_cached
        )
        unit.errors.extend(rendered.refused.values())
        formatted = stages.format_files(
            rendered,
            package=cfg.package,
            pyproject=self.project.pyproject,
            root=self.project.root,
        )
        fresh: dict[str, dict[str, str]] = {}
        by_path = {str(p): p for p in missing}
        done: set[str] = set()
        for fir in firs:
            target = by_path.get(fir.path)
            if target is not None:
                module = rendered.modules[fir.path]
                rels = (f"queries/{module}.py", f"queries/aio/{module}.py")
                fresh[okeys[target]] = {r: formatted[r] for r in rels}
                done.update(rels)
        if not package_cached:
            # models.py, the package modules and the runtime helpers the output ships with
            fresh[package_key] = {r: t for r, t in formatted.items() if r not in done}
        if not rendered.refused and not unit.failed:  # else: rendered again next time
            for key, value in fresh.items():
                store.put("package" if key == package_key else "module", key, value)
        return fresh


def _composite_refs(fir: FileIR) -> list[str]:
    """Composite (row) types a file's queries use: the one thing a module's text
    depends on beyond its own analysis, the schema and the settings (models.py
    decodes every row type any query uses)."""
    found: set[str] = set()

    def visit(t: Any) -> None:
        while t is not None:
            if t.kind == "composite":
                found.add(f"{t.schema}.{t.name}")
            visit(t.base)
            t = t.element

    for q in fir.queries:
        for c in q.columns:
            visit(c.type)
        for p in q.params:
            visit(p.type)
    return sorted(found)


@functools.lru_cache(maxsize=4)
def _resolved(paths: tuple[str, ...]) -> frozenset[Path]:
    """The schema's files, resolved once per schema (hundreds of paths: watch mode's every
    save would otherwise pay for resolving them all again)."""
    return frozenset(Path(p).resolve() for p in paths)


def _ruff(project: Project) -> str:
    """The project's ruff settings as the formatter sees them (``[tool.ruff]``)."""
    if project.pyproject is None:
        return ""
    from multica_db_codegen.project import read_pyproject

    try:
        data = read_pyproject(project.pyproject)
    except GenerateError:
        return "unreadable"
    return json.dumps(data.get("tool", {}).get("ruff", {}), sort_keys=True, default=str)
