"""The intermediate representation: the only thing that crosses from analyze to render.

Plain frozen dataclasses, so a test can build IR by hand and render it. Their one
JSON form (``analyze --json``, ``render --ir``, the cache) is derived from the
fields in :mod:`multica_db_codegen.analyze.ir_codec`: a field added here needs no
codec change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# the shared vocabulary (kinds.py), as the IR names it
from multica_db_codegen.kinds import Command as Command
from multica_db_codegen.kinds import StatementKind as StatementKind


class TypeKind(StrEnum):
    """What kind of PostgreSQL type a :class:`TypeRef` is (``pg_type.typtype``, refined)."""

    BASE = "base"
    ENUM = "enum"
    DOMAIN = "domain"
    COMPOSITE = "composite"
    ARRAY = "array"
    RANGE = "range"
    MULTIRANGE = "multirange"
    PSEUDO = "pseudo"


class RelationKind(StrEnum):
    """What a :class:`TableIR` describes."""

    TABLE = "table"
    VIEW = "view"
    MATERIALIZED_VIEW = "materialized view"
    COMPOSITE = "composite"


def _coerce(obj: Any, name: str, kind: type[StrEnum]) -> None:
    """Frozen dataclasses built from plain strings still hold the enum member."""
    value = getattr(obj, name)
    if type(value) is not kind:
        object.__setattr__(obj, name, kind(value))


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A PostgreSQL type as the renderer needs it."""

    oid: int
    pg_type: str  # format_type(): "integer", "timestamp with time zone", "uuid[]"
    kind: TypeKind
    schema: str
    name: str  # pg_type.typname
    element: TypeRef | None = None  # arrays and ranges: the element / subtype
    base: TypeRef | None = None  # domains: the underlying type
    domain_not_null: bool = False
    # pg_type.typdelim: what separates values of this type in an array's text form
    # (';' for box, ':' for PostGIS's geometry; a domain has its base type's)
    delimiter: str = ","

    def __post_init__(self) -> None:
        _coerce(self, "kind", TypeKind)


#: The result of a function the schema does not define (sqlc's ``interface{}``): the
#: generated code annotates it ``typing.Any`` and psycopg loads whatever comes back.
ANY_TYPE = TypeRef(0, "any (function not in the schema)", TypeKind.PSEUDO, "", "")


def is_any(t: TypeRef) -> bool:
    """``t`` is :data:`ANY_TYPE` (also after a JSON round trip)."""
    return t.oid == ANY_TYPE.oid and t.kind == TypeKind.PSEUDO and t.name == ANY_TYPE.name


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
    shape: ShapeIR | None = None  # json/jsonb the statement builds from typed values

    @property
    def pg_type(self) -> str:
        return self.type.pg_type


@dataclass(frozen=True, slots=True)
class ShapeIR:
    """The typed inside of a json/jsonb value a statement builds (``json_agg(p)``,
    ``to_jsonb(t)``, ``json_build_object('k', v, …)``), as PostgreSQL describes it.

    The value is one JSON object whose keys are ``fields`` (each typed and nullable as
    a result column would be, with its own ``shape`` when it is built JSON too), or,
    when ``many``, an array of them (``json_agg``), or, when ``keyed``, an object whose
    keys are data and whose values are them (``json_object_agg(k, v)``: ``dict[str, V]``).
    ``scalar``: the array's elements (or the keyed object's values) are ``fields[0]``'s
    values rather than objects (``json_agg(p.title)``). ``model``:
    "schema.table" when the object is exactly that table's row (``json_agg(p)``).
    ``element_nullable``: an element may be JSON null (a row of the NULL-extended side
    of an outer join, a NULL scalar).
    """

    fields: tuple[ColumnIR, ...]
    many: bool = False
    scalar: bool = False
    element_nullable: bool = False
    model: str | None = None
    keyed: bool = False


@dataclass(frozen=True, slots=True)
class EmbedIR:
    """``sqlc.embed(alias)``: columns [start, start+width) nest as ``model``.

    ``own_model``: the alias names a CTE or a subquery, not a table or view: the block
    nests as a row model of its own, whose fields are those columns (``model`` is "").
    ``nullable``: the alias is on the NULL-extended side of an outer join.
    ``fields_nullable``: for an own model on that side, whether each of its fields can be
    NULL when the block is not all NULL (as if the join did not NULL-extend it); empty:
    the columns' own nullability.
    """

    field: str
    model: str  # "schema.table" of the embedded relation ("" for an own model)
    start: int
    width: int
    nullable: bool
    own_model: bool = False
    fields_nullable: tuple[bool, ...] = ()


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
    cmd: Command
    doc: tuple[str, ...]
    sql: str
    statement: StatementKind
    params: tuple[ParamIR, ...]
    columns: tuple[ColumnIR, ...]
    table_model: str | None  # "schema.table" when the columns are exactly that table's
    row_guaranteed: bool  # :one that must return a row (INSERT ... VALUES)
    warnings: tuple[str, ...] = ()
    embeds: tuple[EmbedIR, ...] = ()
    error: str | None = None
    copy: CopyIR | None = None  # :copyfrom only

    def __post_init__(self) -> None:
        _coerce(self, "cmd", Command)
        _coerce(self, "statement", StatementKind)


@dataclass(frozen=True, slots=True)
class TableIR:
    schema: str
    name: str
    kind: RelationKind
    columns: tuple[ColumnIR, ...]

    def __post_init__(self) -> None:
        _coerce(self, "kind", RelationKind)


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
    warnings: tuple[str, ...] = ()  # about the schema (an extension the server lacks)
