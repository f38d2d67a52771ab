"""Regenerate a project, redoing only what changed: the engine of ``generate`` (and ``watch``).

:class:`Generator` is the in-process API for "regenerate after these files
changed". One instance keeps, between calls, the configuration, the schema and
its database on the analyzer's server (with one open connection and the catalog
facts read through it), each query file's analysis and each generated module's
formatted text. A call re-reads the inputs, and redoes per query file only what
its text (or the schema, or the settings) invalidated::

    with Generator(cwd=project) as gen:
        gen.regenerate()                              # everything, the first time
        ...                                           # queries/users.sql saved
        result = gen.regenerate([Path("queries/users.sql")])
        print(result.summary())                       # "2 file(s) written …"

Hit and miss take the same path: every value is looked up under its key (one
key function, :func:`multica_db_codegen.cache.key`) in memory, then in the
project's cache directory, and computed when absent. ``generate`` is one call
of a fresh instance; a long-lived one (watch mode) mostly hits in memory.

Errors raise :class:`GenerateError` / :class:`GenerateErrors` (``file:line:col``)
before anything is written; the instance stays usable for the next call.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from multica_db_codegen import cache
from multica_db_codegen.config import Config, find_pyproject
from multica_db_codegen.errors import GenerateError, GenerateErrors

if TYPE_CHECKING:
    import psycopg

    from multica_db_codegen.analyze.catalog import Catalog
    from multica_db_codegen.analyze.ir import EnumIR, FileIR, TableIR
    from multica_db_codegen.analyze.schema import SchemaChunk


@dataclass(frozen=True, slots=True)
class Result:
    """What one :meth:`Generator.regenerate` call did."""

    written: tuple[Path, ...]  # files written (or, with check, that would be)
    deleted: tuple[Path, ...]  # generated modules removed: their query file is gone
    left_alone: int  # generated modules a partial run (``--queries``) did not touch
    analyzed: tuple[Path, ...]  # query files parsed and described in this call
    schema_changed: bool  # the schema differed from the previous call's
    warnings: tuple[str, ...]
    diff: str = ""  # with check: the unified diff of what would change
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return len(self.written) + len(self.deleted)

    @classmethod
    def combine(cls, results: Sequence[Result]) -> Result:
        """Several packages' results as one."""
        return cls(
            written=tuple(p for r in results for p in r.written),
            deleted=tuple(p for r in results for p in r.deleted),
            left_alone=sum(r.left_alone for r in results),
            analyzed=tuple(p for r in results for p in r.analyzed),
            schema_changed=any(r.schema_changed for r in results),
            warnings=tuple(w for r in results for w in r.warnings),
            diff="".join(r.diff for r in results),
            seconds=sum(r.seconds for r in results),
        )

    def summary(self) -> str:
        """One line: how many files were written, and what was left alone."""
        text = f"{self.changed} file(s) written"
        if self.left_alone:
            text += f"; {self.left_alone} other generated module(s) left as they are"
        return text


@dataclass(slots=True)
class _Settings:
    """Everything of the configuration that shapes the output."""

    cfg: Config
    partial: bool  # --queries narrowed a configured set: only those files are written
    named: tuple[Path, ...]  # partial: the query files asked for
    pyproject: Path | None
    config_files: frozenset[Path]
    salt: str  # render settings + the project's ruff settings, for output keys
    server: str


def schema_key(chunks: Iterable[SchemaChunk]) -> str:
    """Hash of the schema as it is applied: the SQL of each chunk, in order.

    Paths are left out on purpose: the database holds the same schema whichever
    directory (or clone) the files were read from, so all of them share it.
    """
    from multica_db_codegen.analyze.schema import LOADER

    h = cache.Hasher()
    h.part(LOADER)  # how the SQL is applied (stand-ins, statements forgiven) is in the database
    for c in chunks:
        h.part(c.sql)
    return h.hexdigest()


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


class Generator:
    """One project, regenerated as often as asked, redoing only what changed.

    The arguments are ``generate``'s flags (None: from ``[tool.multica-db]`` or
    the sqlc config). ``use_cache`` (default: unless ``MULTICA_DB_NO_CACHE``)
    also reads and writes the project's cache directory, so that a new process
    starts warm; without it the schema's database is still kept on the server.
    """

    def __init__(
        self,
        *,
        schema: Sequence[Path] | None = None,
        queries: Sequence[Path] | None = None,
        out: Path | None = None,
        package: str | None = None,
        database_url: str | None = None,
        sqlc_config: Path | None = None,
        cwd: Path | None = None,
        use_cache: bool | None = None,
        _resolved: tuple[Config, list[Path] | None, Path | None] | None = None,
    ) -> None:
        self._resolved = _resolved
        self._own_resolve = _resolved is None  # re-read the configuration when it changes
        self._flags: dict[str, Any] = {
            "schema": list(schema) if schema else None,
            "queries": list(queries) if queries else None,
            "out": out,
            "package": package,
            "database_url": database_url,
            "sqlc_config": sqlc_config,
            "cwd": cwd,
        }
        self._use_cache = cache.enabled() if use_cache is None else use_cache
        self._settings: _Settings | None = None
        self._chunks: list[SchemaChunk] | None = None
        self._schema_key = ""
        self._conn: psycopg.Connection[Any] | None = None
        self._catalog: Catalog | None = None
        self._tables: tuple[TableIR, ...] | None = None
        self._missing: list[str] | None = None  # extensions the server lacks
        self._notes: list[str] | None = None  # warnings about the schema
        self._enums: tuple[EnumIR, ...] = ()
        # analysis key → FileIR / its composite refs; output key → {path: formatted text}
        self._analyses: dict[str, FileIR] = {}
        self._refs: dict[str, list[str]] = {}
        self._outputs: dict[str, dict[str, str]] = {}
        self._disk_loaded_for: str | None = None
        self._disk_analyses: dict[str, Any] = {}
        self._disk_analyses_saved: set[str] = set()
        self._on_disk: set[str] = set()  # the entries in the cache directory

    # --- the public API -----------------------------------------------------------------
    @property
    def config(self) -> Config:
        """The resolved configuration (loaded on first use)."""
        return self._load_settings().cfg

    @property
    def schema_database(self) -> str:
        """Name of the schema's database on the analyzer's server (after a run that needed it)."""
        from multica_db_codegen.analyze.server import schema_database_name

        return schema_database_name(self._schema_key)

    def input_paths(self) -> list[Path]:
        """Every file and folder a run reads: configuration, schema, queries (resolved)."""
        s = self._load_settings()
        config = set(s.config_files)
        if self._resolved is not None and self._resolved[2] is not None:
            # a [tool.multica-db] appearing later would take over from the sqlc config
            config.add(((self._flags["cwd"] or Path.cwd()) / "pyproject.toml").resolve())
        return sorted(config) + [
            p.resolve() for p in (*s.cfg.schema, *(s.named if s.partial else s.cfg.queries))
        ]

    def regenerate(self, changed: Iterable[Path] | None = None, *, check: bool = False) -> Result:
        """Bring the generated package up to date; return what was done.

        ``changed``: the files that changed since the previous call (a watcher
        knows); None means "anything may have": everything is re-read and
        compared. Query files are always listed again (an added or deleted file
        is seen either way); the configuration and the schema are re-read only
        when ``changed`` names one of their files. With ``check`` nothing is
        written and ``Result.diff`` says what would change.
        """
        started = time.perf_counter()
        hint = None if changed is None else {Path(p).resolve() for p in changed}
        if self._settings is None or hint is None or hint & self._settings.config_files:
            before = self._settings
            self._settings = None
            if self._own_resolve:
                self._resolved = None
            self._load_settings()
            if (
                before is not None
                and self._settings is not None
                and (
                    before.server != self._settings.server
                    or before.cfg.schema != self._settings.cfg.schema
                )
            ):
                self._chunks = None  # another server or schema: start over
                self._schema_key = ""
                self.close()
        s = self._settings
        assert s is not None
        schema_changed = self._load_schema(hint)
        self._load_disk()
        try:
            return self._run(s, check, schema_changed, started)
        finally:
            from multica_db_codegen.analyze.server import finish_background

            finish_background()

    def close(self) -> None:
        """Close the analyzer connection (the schema's database stays for the next run)."""
        if self._conn is not None:
            conn, self._conn, self._catalog = self._conn, None, None
            conn.close()

    def __enter__(self) -> Generator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- configuration and schema -------------------------------------------------------
    def _load_settings(self) -> _Settings:
        if self._settings is not None:
            return self._settings
        f = self._flags
        if self._resolved is None:
            gens, _notes = generators(**f)
            if len(gens) > 1:
                raise GenerateError(
                    "this sqlc config holds several packages: use incremental.generators()"
                )
            self._resolved = gens[0]._resolved
        assert self._resolved is not None
        cfg, named, sqlc = self._resolved
        pyproject = find_pyproject(cfg.root)
        config_files = {p.resolve() for p in (pyproject, sqlc) if p is not None}
        cwd_pyproject = find_pyproject(f["cwd"] or Path.cwd())
        if cwd_pyproject is not None:
            config_files.add(cwd_pyproject.resolve())
        salt = json.dumps([repr(cfg), str(cfg.root.resolve()), _ruff_settings(pyproject)])
        self._settings = _Settings(
            cfg=cfg,
            partial=named is not None,
            named=tuple(named or ()),
            pyproject=pyproject,
            config_files=frozenset(config_files),
            salt=salt,
            server=cache.server_identity(cfg.database_url),
        )
        return self._settings

    def _load_schema(self, hint: set[Path] | None) -> bool:
        """Re-read the schema if it may have changed; True when it did (and is not the first)."""
        s = self._settings
        assert s is not None
        if self._chunks is not None and hint is not None:
            roots = [p.resolve() for p in s.cfg.schema]
            if not any(h == r or r in h.parents for h in hint for r in roots):
                return False
        from multica_db_codegen.analyze.schema import load_schema

        chunks = load_schema(list(s.cfg.schema))
        skey = schema_key(chunks)  # names the database: the same whatever the generator
        first = self._chunks is None
        self._chunks = chunks
        if skey == self._schema_key:
            return False
        self._schema_key = skey
        self.close()
        self._tables = None
        self._missing = None
        self._notes = None
        return not first

    # --- the project's cache directory --------------------------------------------------
    def _root(self) -> str:
        assert self._settings is not None
        return str(self._settings.cfg.root)

    def _load_disk(self) -> None:
        """Read the project's cache files once per project (a long-lived instance keeps
        what it computed in memory)."""
        if not self._use_cache or self._disk_loaded_for == self._root():
            return
        self._disk_loaded_for = self._root()
        analyses = cache.read_json(self._root(), "analysis.json")
        self._disk_analyses = analyses if isinstance(analyses, dict) else {}
        self._disk_analyses_saved = set(self._disk_analyses)
        self._on_disk = cache.entry_keys(self._root())

    def _analysis(self, akey: str) -> FileIR | None:
        fir = self._analyses.get(akey)
        if fir is None and akey in self._disk_analyses:
            from multica_db_codegen.analyze.ir_codec import decode

            try:
                fir = decode(cache.read_entry(self._root(), akey))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                cache.log(self._root(), f"entries/{akey[:16]}…: unreadable: {exc!r}")
                self._disk_analyses.pop(akey, None)  # the next run analyzes the file again
                self._refs.pop(akey, None)
                return None
            self._analyses[akey] = fir
        return fir

    def _file_refs(self, akey: str) -> list[str] | None:
        refs = self._refs.get(akey)
        if refs is None:
            entry = self._disk_analyses.get(akey)
            if isinstance(entry, dict) and isinstance(entry.get("refs"), list):
                refs = self._refs[akey] = [str(r) for r in entry["refs"]]
        return refs

    def _output(self, okey: str) -> dict[str, str] | None:
        found = self._outputs.get(okey)
        if found is None and okey in self._on_disk:
            raw = cache.read_entry(self._root(), okey)
            if isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()):
                found = self._outputs[okey] = raw
        return found

    # --- the database -------------------------------------------------------------------
    def _connect_in_background(self) -> Future[None] | None:
        """Find or build the schema's database in a thread (hundreds of migrations take
        longer than anything else: parsing and loading the renderer overlap it)."""
        if self._conn is not None:
            return None
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="multica-db-schema")
        try:
            return pool.submit(self._connect)
        finally:
            pool.shutdown(wait=False)

    def _connect(self) -> None:
        from multica_db_codegen.analyze.catalog import Catalog
        from multica_db_codegen.analyze.schema import missing_extensions, schema_notes
        from multica_db_codegen.analyze.server import (
            KEEP_PER_PROJECT,
            apply_schema_at_once,
            connect_schema_database,
            schema_database_name,
            server_url,
        )

        s = self._settings
        chunks = self._chunks
        assert s is not None and chunks is not None
        name = schema_database_name(self._schema_key)
        recent: list[str] = []
        if self._use_cache:
            raw = cache.read_json(self._root(), "schemas.json")
            recent = [str(n) for n in raw if isinstance(n, str)] if isinstance(raw, list) else []
        recent = [name, *(n for n in recent if n != name)]
        conn = connect_schema_database(
            server_url(s.cfg.database_url),
            self._schema_key,
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
            cache.write_json(self._root(), "schemas.json", kept)
        self._conn = conn
        self._catalog = Catalog(conn)
        self._missing = missing_extensions(conn, chunks)
        self._notes = schema_notes(conn, chunks)
        if self._use_cache:
            self._disk_analyses[self._notes_key()] = {
                "notes": list(self._missing),
                "warnings": list(self._notes),
            }

    def _notes_key(self) -> str:
        assert self._settings is not None
        return cache.key("schema notes", self._settings.server, self._schema_key)

    def _schema_notes(self) -> tuple[str, ...]:
        """Warnings about the schema (kept with its database), known once connected."""
        if self._notes is None:
            entry = self._disk_analyses.get(self._notes_key())
            if isinstance(entry, dict):
                if isinstance(entry.get("notes"), list):
                    self._missing = [str(n) for n in entry["notes"]]
                if isinstance(entry.get("warnings"), list):
                    self._notes = [str(n) for n in entry["warnings"]]
        return tuple(self._notes or ())

    def _catalog_ir(self) -> tuple[tuple[TableIR, ...], tuple[EnumIR, ...]]:
        if self._tables is None:
            assert self._catalog is not None
            self._tables = tuple(self._catalog.relations())
            self._enums = tuple(self._catalog.enums())
        return self._tables, self._enums

    # --- one run ------------------------------------------------------------------------
    def _run(self, s: _Settings, check: bool, schema_changed: bool, started: float) -> Result:
        from multica_db_codegen.analyze.analyzer import module_names, query_files, relative_paths

        cfg = s.cfg
        listed = query_files(cfg.queries, cfg.flat_query_dirs)
        targets = listed
        if s.partial:  # every configured file shapes models.py; the named ones are written
            same = {p.resolve(): p for p in listed}
            targets = [same.get(p.resolve(), p) for p in query_files(s.named)]
            listed = list(dict.fromkeys([*listed, *targets]))
        rel = relative_paths(listed, [*cfg.queries, *s.named])
        modules = module_names(listed, rel)  # where a file goes depends on the others

        texts: dict[Path, str] = {}
        for p in listed:
            try:
                texts[p] = p.read_text(encoding="utf-8")  # as the parser reads it
            except (OSError, ValueError) as exc:
                if p in targets:
                    raise GenerateError(f"cannot read {p}: {exc}") from None
        akeys = {
            p: cache.key("analysis", s.server, self._schema_key, str(p), t)
            for p, t in texts.items()
        }
        target_set = set(targets)
        todo = [p for p in targets if self._file_refs(akeys[p]) is None]
        # A partial run does not analyze the other files: those without a cached
        # analysis simply do not take part (see README: models.py is not written).
        others = [
            p
            for p in listed
            if p not in target_set and p in akeys and self._file_refs(akeys[p]) is not None
        ]
        pending = self._connect_in_background() if todo else None

        analyzed: list[Path] = []
        if todo:
            analyzed = self._analyze(todo, texts, akeys, pending)
            pending = None
        files = [p for p in listed if p in target_set or p in others]
        context = sorted({r for p in files for r in self._file_refs(akeys[p]) or ()})
        if cfg.sqlc_rename:  # sqlc's rename is resolved against every query: no reuse
            context += [akeys[p] for p in files]
        context += [modules[p] for p in files]  # module names are claimed in file order
        context_key = cache.key("context", s.salt, self._schema_key, "\0".join(context))
        okeys = {p: cache.key("module", context_key, akeys[p], modules[p], rel[p]) for p in files}
        package_key = cache.key("package", context_key)

        missing = [p for p in targets if self._output(okeys[p]) is None]
        write_package = not s.partial or not (cfg.out / "models.py").is_file()
        package = self._output(package_key)
        if missing or (package is None and write_package):
            if pending is None and self._conn is None:
                pending = self._connect_in_background()
            self._render(s, files, missing, akeys, okeys, package_key, pending, modules, rel)
            package = self._output(package_key)
        out: dict[str, str] = {}
        if write_package:
            assert package is not None
            out.update(package)
        for p in targets:
            out.update(self._output(okeys[p]) or {})
        firs = [fir for p in targets if (fir := self._analysis_for_warnings(akeys[p])) is not None]
        warnings = (
            *self._schema_notes(),
            *(w for fir in firs for w in fir.warnings),
            *(
                f"{q.file}:{q.line}: query {q.name}: {w}"
                for fir in firs
                for q in fir.queries
                for w in q.warnings
            ),
        )
        result = self._write(s, out, check, warnings, analyzed, schema_changed, started)
        self._save(s, akeys, okeys, package_key)
        if not s.partial:  # a long-lived instance keeps only what the project holds now
            live = set(akeys.values())
            self._analyses = {k: v for k, v in self._analyses.items() if k in live}
            self._refs = {k: v for k, v in self._refs.items() if k in live}
            kept = {*okeys.values(), package_key}
            self._outputs = {k: v for k, v in self._outputs.items() if k in kept}
        return result

    def _analysis_for_warnings(self, akey: str) -> FileIR | None:
        """A file's analysis for its warnings: decoded only when its entry has any."""
        if akey in self._analyses:
            return self._analyses[akey]
        entry = self._disk_analyses.get(akey)
        if isinstance(entry, dict) and entry.get("warns"):
            return self._analysis(akey)
        return None

    def _analyze(
        self,
        todo: list[Path],
        texts: dict[Path, str],
        akeys: dict[Path, str],
        pending: Future[None] | None,
    ) -> list[Path]:
        from multica_db_codegen.analyze.analyzer import analyze_parsed
        from multica_db_codegen.parse import parse_query_file

        parsed = []
        errors: list[GenerateError] = []
        notes: dict[Path, list[str]] = {}
        schema_files = _resolved(tuple(c.file.path for c in self._chunks or ()))
        for p in todo:
            try:
                specs = parse_query_file(
                    p,
                    texts[p],
                    warnings=notes.setdefault(p, []),
                    schema_too=p.resolve() in schema_files,  # its DDL is no surprise
                )
                parsed.append((p, specs))
            except GenerateErrors as exc:
                errors.extend(exc.errors)
        if pending is not None:
            pending.result()  # the database is there (or its error is raised)
        if errors:
            raise GenerateErrors(errors)
        assert self._conn is not None and self._catalog is not None
        firs, failed = analyze_parsed(
            self._conn, self._catalog, parsed, missing=self._missing or ()
        )
        if failed:
            raise GenerateErrors(failed)
        for p, fir in zip(todo, firs, strict=True):
            self._analyses[akeys[p]] = replace(fir, warnings=tuple(notes.get(p, ())))
            self._refs[akeys[p]] = _composite_refs(fir)
        return todo

    def _render(
        self,
        s: _Settings,
        files: list[Path],
        missing: list[Path],
        akeys: dict[Path, str],
        okeys: dict[Path, str],
        package_key: str,
        pending: Future[None] | None,
        modules: dict[Path, str],
        rel: dict[Path, str],
    ) -> None:
        """Render and format the modules of ``missing`` and the package files."""
        from multica_db_codegen.analyze.ir import AnalysisIR, FileIR
        from multica_db_codegen.render import writer
        from multica_db_codegen.render.renderer import Renderer, Settings, use_bytecode_cache
        from multica_db_codegen.render.runtime_files import runtime_files

        if pending is not None:
            writer.prepare(s.pyproject)  # ruff's settings, asked while the database comes
            pending.result()
        # The renderer sees every file whose queries use a row type (what it takes from
        # the other files) and the ones it renders; the rest are not even decoded.
        needed = set(missing)
        firs = []
        for p in files:
            if p not in needed and not s.cfg.sqlc_rename and not self._file_refs(akeys[p]):
                # its module name still takes part in naming the others
                firs.append(FileIR(str(p), modules[p], (), rel=rel[p]))
                continue
            fir = self._analysis(akeys[p])
            if fir is None:  # an entry that cannot be read: analyze the file again
                raise GenerateError(f"{p}: its cached analysis was unreadable: run again")
            firs.append(replace(fir, module=modules[p], rel=rel[p]))
        tables, enums = self._catalog_ir()
        ir = AnalysisIR(files=tuple(firs), tables=tables, enums=enums)
        rename = s.cfg.rename
        if s.cfg.sqlc_rename:
            from multica_db_codegen.sqlc_config import python_rename

            rename = {**python_rename(s.cfg.sqlc_rename, ir), **s.cfg.rename}
        settings = Settings(
            package=s.cfg.package,
            overrides=s.cfg.overrides,
            rename=rename,
            root=str(s.cfg.root),
        )
        use_bytecode_cache(Path(cache.user_cache_dir()) / "jinja2")
        renderer = Renderer(ir, settings)
        # With models.py and the package modules unchanged (their key holds), only the
        # changed query modules are rendered and formatted: watch mode's one file per save.
        package_cached = self._output(package_key) is not None
        only = {str(p) for p in missing}
        rendered = renderer.render(only=only, package=not package_cached)
        if not package_cached:
            rendered.update(runtime_files())
        formatted = writer.format_sources(
            rendered, package=s.cfg.package, pyproject=s.pyproject, origins=renderer.origins
        )
        by_path = {str(p): p for p in missing}
        modules_done: set[str] = set()
        for fir in firs:
            target = by_path.get(fir.path)
            if target is not None:
                module = renderer.modules[fir.path]
                rels = (f"queries/{module}.py", f"queries/aio/{module}.py")
                self._outputs[okeys[target]] = {r: formatted[r] for r in rels}
                modules_done.update(rels)
        if package_cached:
            return
        # models.py, the package modules and the runtime helpers the output ships with
        self._outputs[package_key] = {
            r: text for r, text in formatted.items() if r not in modules_done
        }

    def _write(
        self,
        s: _Settings,
        files: dict[str, str],
        check: bool,
        warnings: tuple[str, ...],
        analyzed: list[Path],
        schema_changed: bool,
        started: float,
    ) -> Result:
        from multica_db_codegen.render import writer

        cfg = s.cfg
        plan = writer.plan(cfg.out, files)
        left_alone = 0
        if s.partial:  # the other modules stay as they are, whatever they hold
            left_alone = len(_other_modules(cfg.out, files))
            plan = writer.Plan(plan.writes, [], plan.unchanged)
        diff = writer.diff(plan, cfg.root) if check else ""
        if not check:
            writer.apply(plan)
        return Result(
            written=tuple(plan.writes),
            deleted=tuple(plan.deletes),
            left_alone=left_alone,
            analyzed=tuple(analyzed),
            schema_changed=schema_changed,
            warnings=warnings,
            diff=diff,
            seconds=time.perf_counter() - started,
        )

    def _save(
        self, s: _Settings, akeys: dict[Path, str], okeys: dict[Path, str], package_key: str
    ) -> None:
        """Write the analyses and outputs this run used to the project's cache directory.

        Only the current entries are kept (a partial run keeps the others too), so
        the files never grow without bound. A failure is logged (cache.log).
        """
        if not self._use_cache:
            return
        from multica_db_codegen.analyze.ir_codec import encode

        analyses = dict(self._disk_analyses) if s.partial else {}
        notes = self._disk_analyses.get(self._notes_key())
        if notes is not None:
            analyses[self._notes_key()] = notes
        changed = False
        for akey in akeys.values():
            entry = self._disk_analyses.get(akey)
            if (entry is None or akey not in self._on_disk) and akey in self._analyses:
                fir = self._analyses[akey]
                try:
                    data = encode(fir)
                except (TypeError, ValueError) as exc:
                    cache.log(self._root(), f"cannot cache the analysis of {fir.path}: {exc}")
                    continue
                if not cache.write_entry(self._root(), akey, data):
                    continue
                self._on_disk.add(akey)
                entry = {
                    "refs": self._refs[akey],
                    "warns": bool(fir.warnings) or any(q.warnings for q in fir.queries),
                }
                changed = True
            if entry is not None:
                analyses[akey] = entry
        if changed or analyses.keys() != self._disk_analyses_saved:
            cache.write_json(self._root(), "analysis.json", analyses)
            self._disk_analyses = analyses
            self._disk_analyses_saved = set(analyses)
        for okey in [*okeys.values(), package_key]:
            found = self._outputs.get(okey)
            if (
                found is not None
                and okey not in self._on_disk
                and cache.write_entry(self._root(), okey, found)
            ):
                self._on_disk.add(okey)
        if not s.partial:
            keep = {*akeys.values(), *okeys.values(), package_key}
            if self._on_disk - keep:
                cache.prune_entries(self._root(), keep)
                self._on_disk &= keep


@functools.lru_cache(maxsize=4)
def _resolved(paths: tuple[str, ...]) -> frozenset[Path]:
    """The schema's files, resolved once per schema (hundreds of paths: watch mode's every
    save would otherwise pay for resolving them all again)."""
    return frozenset(Path(p).resolve() for p in paths)


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


def _ruff_settings(pyproject: Path | None) -> str:
    """The project's ruff settings as the formatter sees them (``[tool.ruff]``)."""
    if pyproject is None:
        return ""
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unreadable"
    return json.dumps(data.get("tool", {}).get("ruff", {}), sort_keys=True, default=str)


def generators(
    *,
    schema: Sequence[Path] | None = None,
    queries: Sequence[Path] | None = None,
    out: Path | None = None,
    package: str | None = None,
    database_url: str | None = None,
    sqlc_config: Path | None = None,
    cwd: Path | None = None,
    use_cache: bool | None = None,
) -> tuple[list[Generator], list[str]]:
    """One :class:`Generator` per output package of these flags (a sqlc config may hold
    several), and the notes about the configuration to show the user."""
    from multica_db_codegen.pipeline import resolve_plan

    found, named = resolve_plan(
        schema=list(schema) if schema else None,
        queries=list(queries) if queries else None,
        out=out,
        package=package,
        database_url=database_url,
        sqlc_config=sqlc_config,
        cwd=cwd,
    )
    several = len(found.configs) > 1
    gens = []
    for cfg in found.configs:
        mine = named
        if named is not None and several:  # each package writes the named files it has
            own = {p.resolve() for p in query_files_of(cfg.queries)}
            mine = [p for p in named if p.resolve() in own]
            if not mine:
                continue
        gens.append(
            Generator(
                cwd=cwd,
                use_cache=use_cache,
                _resolved=(cfg, mine, found.sqlc),
            )
        )
    if not gens:
        raise GenerateError("--queries names no query file of this configuration")
    return gens, list(found.notes)


def query_files_of(paths: Sequence[Path]) -> list[Path]:
    from multica_db_codegen.analyze.analyzer import query_files

    return query_files(paths)


__all__ = ["Generator", "Result", "generators", "schema_key"]
