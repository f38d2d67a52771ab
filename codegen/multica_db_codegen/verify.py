"""``multica-db verify``: do the queries still mean, on a live database, what the code promises?

The generated code is a promise about each query's parameter and column types and
nullability, made against the schema the migrations build. A staging or production
database drifts from it (a hand-applied ALTER, a migration not yet run, an enum label
removed). Verify analyzes every query twice with the same analyzer — once against the
schema, as ``generate`` does, and once against the live database — and reports where the
answers differ, in the Python types the code uses.

The live side is read-only by construction: every statement runs in a read-only
transaction (``default_transaction_read_only``), queries are only prepared and described
at the protocol level (never executed), and the only statements executed are catalog
SELECTs. The reference is the analysis against the schema, which is exactly what
``generate`` writes: when the committed generated code differs from it, verify says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from multica_db_codegen import stages
from multica_db_codegen.analyze.catalog import Catalog
from multica_db_codegen.analyze.ir import (
    AnalysisIR,
    ColumnIR,
    EnumIR,
    QueryIR,
    TableIR,
    TypeRef,
    is_any,
)
from multica_db_codegen.errors import GenerateError, GenerateErrors
from multica_db_codegen.processors import Generate
from multica_db_codegen.project import Config
from multica_db_codegen.render.renderer import Renderer
from multica_db_codegen.render.typemap import TypeMapper

if TYPE_CHECKING:
    from multica_db_codegen.runner import Unit

#: How long the live database may make us wait for a lock (describing a statement takes
#: the same light locks a SELECT does; an ALTER TABLE in progress would otherwise hang us).
_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference between what the code promises and what the database answers."""

    where: str  # "queries/x.sql:12"
    subject: str  # "GetUser.email", "GetUser.$1 id", "GetUser"
    message: str  # "code says str, database says str | None"
    harmless: bool = False  # the code still works (a column that became NOT NULL)

    def __str__(self) -> str:
        note = " (harmless)" if self.harmless else ""
        return f"{self.where}: {self.subject}: {self.message}{note}"


@dataclass(slots=True)
class Report:
    queries: int = 0
    stale_files: int = 0  # committed generated files that differ from what generate writes
    drifts: list[Drift] = field(default_factory=list)
    package: str = ""  # the output package checked ("" for several packages' sum)

    @property
    def failed(self) -> bool:
        return any(not d.harmless for d in self.drifts)

    @classmethod
    def combine(cls, reports: Sequence[Report]) -> Report:
        """Several packages' reports as one (a single package's report as it is)."""
        if len(reports) == 1:
            return reports[0]
        return cls(
            queries=sum(r.queries for r in reports),
            stale_files=sum(r.stale_files for r in reports),
            drifts=[d for r in reports for d in r.drifts],
        )


def verify(*, live_url: str, analyzer_url: str | None = None, **flags: Any) -> Report:
    """Compare every query's analysis on ``live_url`` with the one the code was generated from.

    ``analyzer_url``: the analyzer's server; ``flags``: the other arguments of
    :class:`~multica_db_codegen.project.Flags`. Every package of a sqlc config is
    checked; the result is their sum.
    """
    return Report.combine(verify_packages(live_url=live_url, analyzer_url=analyzer_url, **flags))


def verify_packages(
    *, live_url: str, analyzer_url: str | None = None, **flags: Any
) -> list[Report]:
    """One :class:`Report` per output package, in the config's order.

    A sqlc config may hold several PostgreSQL packages, each with its own schema and
    queries: each is compared on its own, so drift in any of them is found.
    """
    from multica_db_codegen.project import Flags
    from multica_db_codegen.runner import Runner
    from multica_db_codegen.snapshot import offline

    given = Flags(database_url=analyzer_url, **flags)
    with Runner(given) as runner:
        # a current analysis snapshot is what the committed code promises: no analyzer needed
        source = offline.sources(runner.project)
        if source is None:
            return runner.run(Verify(live_url))
    with Runner(given, use_cache=False, source=source) as runner:
        return runner.run(Verify(live_url))


class Verify:
    """``verify``: each package's analysis (as ``generate`` writes it) against the live
    database's answers for the same parsed queries."""

    def __init__(self, live_url: str) -> None:
        self.live_url = live_url

    def prepare(self, unit: Unit) -> Report:
        generate = Generate(check=True)
        stale = generate.commit(unit, generate.prepare(unit)).changed  # writes nothing
        ref = unit.ir()
        live = analyze_live(self.live_url, unit.files)
        return Report(
            queries=sum(len(f.queries) for f in ref.files),
            stale_files=stale,
            drifts=list(compare(ref, live, unit.cfg)),
            package=unit.cfg.package,
        )

    def commit(self, unit: Unit, report: Report) -> Report:
        return report


@dataclass(frozen=True, slots=True)
class LiveAnalysis:
    """What the live database says: each query (by resolved file, name), its enums, tables."""

    queries: dict[tuple[str, str], QueryIR]
    rejected: dict[tuple[str, str], tuple[int, int, str]]  # line, column, PostgreSQL's message
    enums: list[EnumIR]
    tables: list[TableIR]


def analyze_live(url: str, files: list[Path]) -> LiveAnalysis:
    """Every query of ``files`` described on the live database, read-only; where it
    rejects one, why."""
    parsed = stages.parse(files, {})
    if parsed.errors:  # the reference side has reported them already
        raise GenerateErrors(parsed.errors)
    with psycopg.connect(url, autocommit=True) as conn:
        # Every statement from here on is its own read-only transaction: one a query
        # fails to prepare in cannot abort the others, and none can write.
        conn.execute("SET default_transaction_read_only = on")
        conn.execute(f"SET lock_timeout = '{_LOCK_TIMEOUT}'")
        catalog = Catalog(conn)
        # a function the live database lacks fails at run time: say so
        live = stages.Session(conn, catalog, stub_functions=False)
        firs, errors = stages.analyze(parsed.specs, live)
        out = {(_key_path(q.file), q.name): q for f in firs for q in f.queries if q.error is None}
        rejected: dict[tuple[str, str], tuple[int, int, str]] = {}
        for exc in errors:
            if exc.location is None or exc.query is None:
                continue
            line, col = exc.location.file.line_col(exc.location.offset)
            key = (_key_path(exc.location.file.path), exc.query)
            rejected[key] = (line, col, exc.message.splitlines()[0])
        return LiveAnalysis(out, rejected, catalog.enums(), catalog.relations())


def _key_path(path: str) -> str:
    return str(Path(path).resolve())


class _Types:
    """Python annotations for one side's types, as the generated code spells them."""

    def __init__(self, ref: AnalysisIR, cfg: Config) -> None:
        r = Renderer(ref, stages.render_settings(cfg, ref))
        self._mapper = TypeMapper(
            enum_classes=r.enum_classes,
            composite_classes=r.composite_classes,
            codecs=r.codecs,
            overrides=cfg.overrides,
            in_models=False,
        )

    def annotation(self, t: TypeRef, nullable: bool, column: str | None = None) -> str:
        try:
            text = self._mapper.map(t, column=column, element_nullable=False).annotation
        except GenerateError:  # a type the code cannot have (e.g. an enum it does not know)
            text = t.pg_type
        return f"{text} | None" if nullable else text


def compare(
    ref: AnalysisIR,
    live: LiveAnalysis,
    cfg: Config,
) -> Iterator[Drift]:
    """Every drift between the reference analysis and the live one, query by query."""
    types = _Types(ref, cfg)
    ref_enums = {(e.schema, e.name): e.labels for e in ref.enums}
    db_enums = {(e.schema, e.name): e.labels for e in live.enums}
    tables = _columns_by_table(ref.tables)
    db_tables = _columns_by_table(live.tables)
    for f in ref.files:
        for q in f.queries:
            where = f"{_display(q.file, cfg.root)}:{q.line}"
            key = (_key_path(q.file), q.name)
            if key in live.rejected:
                line, col, message = live.rejected[key]
                at = f"{_display(q.file, cfg.root)}:{line}:{col}"
                yield Drift(at, q.name, f"the database rejects it: {message}")
                continue
            got = live.queries.get(key)
            if got is None:  # the query file changed while we ran
                continue
            yield from _params(where, q, got, types)
            # A row that is a table's model promises what the model's fields say, on both sides.
            table = tables.get(q.table_model or "")
            db_table = (
                db_tables.get(got.table_model or "") if got.table_model == q.table_model else None
            )
            yield from _columns(where, q, got, types, table, db_table)
            yield from _enums(where, q, got, ref_enums, db_enums)


def _columns_by_table(
    tables: list[TableIR] | tuple[TableIR, ...],
) -> dict[str, dict[str, ColumnIR]]:
    return {f"{t.schema}.{t.name}": {c.name: c for c in t.columns} for t in tables}


def _display(path: str, root: Path) -> str:
    p = Path(path).resolve()
    for base in (Path.cwd().resolve(), root.resolve()):
        try:
            return p.relative_to(base).as_posix()
        except ValueError:
            continue
    return p.as_posix()


def _params(where: str, q: QueryIR, got: QueryIR, types: _Types) -> Iterator[Drift]:
    if len(q.params) != len(got.params):
        yield Drift(
            where,
            q.name,
            f"code passes {len(q.params)} parameter(s), the database expects {len(got.params)}",
        )
        return
    for p, g in zip(q.params, got.params, strict=True):
        subject = f"{q.name}.{p.name} (parameter ${p.number})"
        code = types.annotation(p.type, p.nullable, p.column)
        db = types.annotation(g.type, g.nullable, p.column)
        if code == db:
            if p.type.pg_type != g.type.pg_type:
                yield _retyped(where, subject, code, p.type, g.type)
            continue
        # A parameter the code sends NULL for must accept NULL; one that became nullable
        # is only a missed opportunity.
        harmless = _same_but_nullability(code, db) and not p.nullable
        yield Drift(where, subject, f"code says {code}, database says {db}", harmless)


def _columns(
    where: str,
    q: QueryIR,
    got: QueryIR,
    types: _Types,
    table: dict[str, ColumnIR] | None,
    db_table: dict[str, ColumnIR] | None,
) -> Iterator[Drift]:
    have = {c.name: c for c in got.columns}
    promised = {c.name for c in q.columns}
    for c in q.columns:
        subject = f"{q.name}.{c.name}"
        # A row that is a table's model promises what the model's field says.
        declared = table.get(c.name, c) if table is not None else c
        g = have.get(c.name)
        if g is not None and is_any(declared.type):
            continue  # a function the schema lacks: the code takes whatever it returns
        code = types.annotation(declared.type, declared.nullable, _column_key(c, q))
        if g is None:
            yield Drift(where, subject, f"code says {code}, the database returns no such column")
            continue
        if db_table is not None:
            g = db_table.get(c.name, g)
        db = types.annotation(g.type, g.nullable, _column_key(c, q))
        if code == db:
            if c.type.pg_type != g.type.pg_type:
                yield _retyped(where, subject, code, c.type, g.type)
            continue
        # A column that can no longer be NULL still fits an Optional annotation.
        harmless = _same_but_nullability(code, db) and declared.nullable
        yield Drift(where, subject, f"code says {code}, database says {db}", harmless)
    for g in got.columns:
        if g.name not in promised:
            db = types.annotation(g.type, g.nullable)
            yield Drift(
                where, f"{q.name}.{g.name}", f"code has no such column, database returns {db}"
            )
    same = [c.name for c in q.columns if c.name in have]
    order = [c.name for c in got.columns if c.name in promised]
    if same == order and len(q.columns) == len(got.columns):
        return
    if set(same) == set(order) and same != order:
        yield Drift(
            where,
            q.name,
            f"columns come back in another order: code expects {', '.join(same)}; "
            f"database returns {', '.join(order)}",
        )


def _column_key(c: ColumnIR, q: QueryIR) -> str | None:
    table = c.table or q.table_model
    return f"{table}.{c.table_column or c.name}" if table else None


def _retyped(where: str, subject: str, code: str, was: TypeRef, now: TypeRef) -> Drift:
    """Same Python type, another PostgreSQL type (integer → bigint): values still fit."""
    return Drift(
        where,
        subject,
        f"code says {code} ({was.pg_type}), database says {code} ({now.pg_type})",
        harmless=True,
    )


def _same_but_nullability(code: str, db: str) -> bool:
    return code.removesuffix(" | None") == db.removesuffix(" | None")


def _enum_types(t: TypeRef | None) -> Iterator[TypeRef]:
    while t is not None:
        if t.kind == "enum":
            yield t
        yield from _enum_types(t.element)
        t = t.base


def _enums(
    where: str,
    q: QueryIR,
    got: QueryIR,
    ref_enums: dict[tuple[str, str], tuple[str, ...]],
    db_enums: dict[tuple[str, str], tuple[str, ...]],
) -> Iterator[Drift]:
    """An enum the query sends or reads whose labels differ: a value fails one way or the other."""
    used: dict[tuple[str, str], str] = {}
    for p in q.params:
        for t in _enum_types(p.type):
            used.setdefault((t.schema, t.name), f"{q.name}.{p.name}")
    for c in q.columns:
        for t in _enum_types(c.type):
            used.setdefault((t.schema, t.name), f"{q.name}.{c.name}")
    for key, subject in used.items():
        code = ref_enums.get(key, ())
        db = db_enums.get(key)
        if db is None:
            continue  # the column's type changed: reported as a type difference
        missing = [label for label in code if label not in db]
        extra = [label for label in db if label not in code]
        parts = []
        if missing:
            parts.append(f"database has no label {_labels(missing)}")
        if extra:
            parts.append(f"database has label {_labels(extra)} the code does not know")
        if parts:
            yield Drift(where, subject, f"enum {key[1]}: {'; '.join(parts)}")


def _labels(labels: list[str]) -> str:
    return ", ".join(repr(label) for label in labels)


def summary(report: Report) -> str:
    """The last line verify prints."""
    bad = sum(not d.harmless for d in report.drifts)
    if bad:
        return f"{bad} drift(s) in {report.queries} queries"
    return f"{report.queries} queries match the database" + (
        f" ({len(report.drifts)} harmless difference(s))" if report.drifts else ""
    )


def stale_warning(report: Report, *, named: bool = False) -> str | None:
    """The warning for stale committed code; ``named``: say which package (of several)."""
    if not report.stale_files:
        return None
    whose = f"package {report.package}: " if named and report.package else ""
    return (
        f"{whose}the committed generated code is stale ({report.stale_files} file(s) differ "
        "from what `multica-db generate` writes): compared against what the queries and "
        "schema promise now"
    )


__all__ = [
    "Drift",
    "LiveAnalysis",
    "Report",
    "analyze_live",
    "compare",
    "stale_warning",
    "summary",
    "verify",
    "verify_packages",
]
