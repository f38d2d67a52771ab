"""The intermediate representation: the only thing that crosses from analyze to render.

Plain frozen dataclasses, so a test can build IR by hand and render it.
``multica-db analyze --json`` prints :func:`to_json` of it, and
``multica-db render --ir`` renders :func:`from_json` of that document: the JSON
is lossless, so another renderer can start from it.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Command(StrEnum):
    """The sqlc commands: what the generated function returns (``-- name: X :one``)."""

    ONE = "one"
    MANY = "many"
    EXEC = "exec"
    EXECROWS = "execrows"
    EXECRESULT = "execresult"
    # PostgreSQL has no "last insert id": the first column of the first row the
    # statement returns (``INSERT … RETURNING id``), or None.
    EXECLASTID = "execlastid"
    COPYFROM = "copyfrom"
    BATCHEXEC = "batchexec"
    BATCHONE = "batchone"
    BATCHMANY = "batchmany"
    ITER = "iter"

    @property
    def returns_rows(self) -> bool:
        """The annotation asks for rows (a statement without columns makes it :exec)."""
        return self in (
            Command.ONE,
            Command.MANY,
            Command.BATCHONE,
            Command.BATCHMANY,
            Command.ITER,
        )

    @property
    def takes_sets(self) -> bool:
        """The function takes many parameter sets (an iterable of tuples)."""
        return self in (Command.COPYFROM, Command.BATCHEXEC, Command.BATCHONE, Command.BATCHMANY)

    @property
    def reads_rows(self) -> bool:
        """The generated function reads the rows the statement returns."""
        return self in (
            Command.ONE,
            Command.MANY,
            Command.ITER,
            Command.BATCHONE,
            Command.BATCHMANY,
            Command.EXECLASTID,
        )


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


class StatementKind(StrEnum):
    """The statement's top-level kind, from its parse tree."""

    SELECT = "select"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    OTHER = "other"


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
    when ``many``, an array of them (``json_agg``). ``scalar``: the array's elements
    are ``fields[0]``'s values rather than objects (``json_agg(p.title)``). ``model``:
    "schema.table" when the object is exactly that table's row (``json_agg(p)``).
    ``element_nullable``: an element may be JSON null (a row of the NULL-extended side
    of an outer join, a NULL scalar).
    """

    fields: tuple[ColumnIR, ...]
    many: bool = False
    scalar: bool = False
    element_nullable: bool = False
    model: str | None = None


@dataclass(frozen=True, slots=True)
class EmbedIR:
    """``sqlc.embed(alias)``: columns [start, start+width) nest as ``model``.

    ``own_model``: the alias names a CTE or a subquery, not a table or view: the block
    nests as a row model of its own, whose fields are those columns (``model`` is "").
    ``nullable``: the alias is on the NULL-extended side of an outer join.
    """

    field: str
    model: str  # "schema.table" of the embedded relation ("" for an own model)
    start: int
    width: int
    nullable: bool
    own_model: bool = False


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
    composites: tuple[TableIR, ...] = field(default=())
    warnings: tuple[str, ...] = ()  # about the schema (an extension the server lacks)


# --- the JSON form ---------------------------------------------------------------------------
# Generic over the dataclasses above, so a field added to the IR is in the JSON (and read back)
# without touching this code: dataclasses become objects of their fields (a field still at its
# default is left out), enums their values, tuples arrays. ``from_json`` reads the types back
# from the annotations and refuses what it does not know, so the round trip is exact.


def to_json(ir: AnalysisIR) -> dict[str, Any]:
    """The ``analyze --json`` document: every field of the IR, readable by :func:`from_json`."""
    doc = _encode(ir)
    assert isinstance(doc, dict)
    return doc


def from_json(doc: Mapping[str, Any]) -> AnalysisIR:
    """The IR an ``analyze --json`` document describes (``ValueError`` if it is not one)."""
    ir = _decode(AnalysisIR, doc, "$")
    assert isinstance(ir, AnalysisIR)
    return ir


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and v == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and v == f.default_factory():
                continue
            out[f.name] = _encode(v)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"the IR holds a {type(value).__name__}, which has no JSON form")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        (inner,) = (a for a in args if a is not type(None))
        return _decode(inner, data, where)
    if origin is tuple:
        _need(isinstance(data, list), where, "an array")
        item = typing.get_args(tp)[0]
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(data))
    if origin is dict:
        _need(isinstance(data, dict), where, "an object")
        value_type = typing.get_args(tp)[1]
        return {k: _decode(value_type, v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        _need(isinstance(data, dict), where, f"an object ({tp.__name__})")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp) if f.init}
        unknown = set(data) - names
        _need(not unknown, where, f"only {tp.__name__} fields, not {sorted(unknown)}")
        try:
            return tp(**{k: _decode(hints[k], v, f"{where}.{k}") for k, v in data.items()})
        except TypeError as exc:  # a required field missing
            raise ValueError(f"{where}: {exc}") from None
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            raise ValueError(f"{where}: {data!r} is not a {tp.__name__}") from None
    if tp is float:
        _need(isinstance(data, int | float) and not isinstance(data, bool), where, "a number")
        return float(data)
    if tp in (str, int, bool):
        ok = isinstance(data, tp) and (tp is bool or not isinstance(data, bool))
        _need(ok, where, f"a {tp.__name__}")
        return data
    raise TypeError(f"{where}: no JSON form for {tp!r}")


def _need(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise ValueError(f"{where}: expected {what}")
