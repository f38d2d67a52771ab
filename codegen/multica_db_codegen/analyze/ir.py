"""The intermediate representation: the only thing that crosses from analyze to render.

Plain frozen dataclasses, so a test can build IR by hand and render it, and
``multica-db analyze --json`` is exactly :func:`to_json` of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A PostgreSQL type as the renderer needs it."""

    oid: int
    pg_type: str  # format_type(): "integer", "timestamp with time zone", "uuid[]"
    kind: str  # base | enum | domain | composite | array | range | multirange | pseudo
    schema: str
    name: str  # pg_type.typname
    element: TypeRef | None = None  # arrays and ranges: the element / subtype
    base: TypeRef | None = None  # domains: the underlying type
    domain_not_null: bool = False


@dataclass(frozen=True, slots=True)
class ParamIR:
    number: int
    name: str
    type: TypeRef
    nullable: bool
    column: str | None = None  # "schema.table.column" it is inserted into or assigned to
    optional: bool = False  # sqlc.narg: the caller may leave it out (defaults to NULL)
    dims: int = 1  # an array's declared dimensions ($1::text[][] → 2)

    @property
    def pg_type(self) -> str:
        return self.type.pg_type


@dataclass(frozen=True, slots=True)
class ColumnIR:
    name: str  # as PostgreSQL reports it (without a !/? nullability suffix)
    type: TypeRef
    nullable: bool
    table: str | None = None  # "schema.table" of a direct column reference
    table_column: str | None = None
    embed: str | None = None  # sqlc.embed: the model this column is nested into
    dims: int = 1  # an array's declared dimensions (a text[][] column → 2)

    @property
    def pg_type(self) -> str:
        return self.type.pg_type


@dataclass(frozen=True, slots=True)
class EmbedIR:
    """``sqlc.embed(alias)``: columns [start, start+width) nest as ``model``."""

    field: str
    model: str  # "schema.table" of the embedded relation
    start: int
    width: int
    nullable: bool


@dataclass(frozen=True, slots=True)
class CopyIR:
    """``:copyfrom``: the ``COPY`` that replaces ``INSERT INTO t (cols) VALUES ($1, …)``."""

    relation: str  # quoted as written: "schema"."table"
    columns: tuple[str, ...]  # target columns, in the INSERT's order
    param_numbers: tuple[int, ...]  # the parameter feeding each column


@dataclass(frozen=True, slots=True)
class QueryIR:
    file: str
    line: int
    name: str
    cmd: str
    doc: tuple[str, ...]
    sql: str
    statement: str  # select | insert | update | delete | other
    params: tuple[ParamIR, ...]
    columns: tuple[ColumnIR, ...]
    table_model: str | None  # "schema.table" when the columns are exactly that table's
    row_guaranteed: bool  # :one that must return a row (INSERT ... VALUES)
    warnings: tuple[str, ...] = ()
    embeds: tuple[EmbedIR, ...] = ()
    error: str | None = None
    copy: CopyIR | None = None  # :copyfrom only


@dataclass(frozen=True, slots=True)
class TableIR:
    schema: str
    name: str
    kind: str  # table | view | materialized view | composite
    columns: tuple[ColumnIR, ...]


@dataclass(frozen=True, slots=True)
class EnumIR:
    schema: str
    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileIR:
    """One query file: its queries render to one module (sync and async)."""

    path: str
    module: str  # python module name, e.g. "agent_runtime"; distinct within a package
    queries: tuple[QueryIR, ...]
    rel: str = ""  # path relative to its queries root ("sql/query.sql"): tells files apart
    warnings: tuple[str, ...] = ()  # "file:line:col: …" for what was skipped as sqlc skips it


@dataclass(frozen=True, slots=True)
class AnalysisIR:
    files: tuple[FileIR, ...]
    tables: tuple[TableIR, ...]
    enums: tuple[EnumIR, ...]
    composites: tuple[TableIR, ...] = field(default=())
    warnings: tuple[str, ...] = ()  # about the schema (an extension the server lacks)


def _param_json(p: ParamIR) -> dict[str, Any]:
    return {"number": p.number, "name": p.name, "pg_type": p.pg_type, "nullable": p.nullable}


def _column_json(c: ColumnIR) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "pg_type": c.pg_type, "nullable": c.nullable}
    if c.table:
        out["table"] = c.table
        out["table_column"] = c.table_column
    return out


def query_json(q: QueryIR) -> dict[str, Any]:
    out: dict[str, Any] = {"file": q.file, "line": q.line, "name": q.name, "cmd": q.cmd}
    if q.error is not None:
        out["error"] = q.error
        return out
    out["params"] = [_param_json(p) for p in q.params]
    out["columns"] = [_column_json(c) for c in q.columns]
    out["statement"] = q.statement
    if q.table_model:
        out["table_model"] = q.table_model
    if q.warnings:
        out["warnings"] = list(q.warnings)
    if q.embeds:
        out["embeds"] = [asdict(e) for e in q.embeds]
    return out


def to_json(ir: AnalysisIR) -> dict[str, Any]:
    """The ``analyze --json`` document."""
    return {
        "queries": [query_json(q) for f in ir.files for q in f.queries],
        "tables": [
            {
                "schema": t.schema,
                "name": t.name,
                "kind": t.kind,
                "columns": [_column_json(c) for c in t.columns],
            }
            for t in ir.tables
        ],
        "enums": [{"schema": e.schema, "name": e.name, "labels": list(e.labels)} for e in ir.enums],
    } | ({"warnings": list(ir.warnings)} if ir.warnings else {})
