"""What parsing produces: one :class:`QuerySpec` per annotated statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from multica_db_codegen.errors import Location


class Command(StrEnum):
    """The sqlc commands: what the generated function returns."""

    ONE = "one"
    MANY = "many"
    EXEC = "exec"
    EXECROWS = "execrows"
    EXECRESULT = "execresult"
    COPYFROM = "copyfrom"
    BATCHEXEC = "batchexec"
    BATCHONE = "batchone"
    BATCHMANY = "batchmany"
    ITER = "iter"

    @property
    def returns_rows(self) -> bool:
        return self in (
            Command.ONE,
            Command.MANY,
            Command.BATCHONE,
            Command.BATCHMANY,
            Command.ITER,
        )


@dataclass(frozen=True, slots=True)
class ParamTarget:
    """The table column a parameter is inserted into or assigned to (decides its nullability)."""

    schema: str | None
    table: str
    column: str


@dataclass(slots=True)
class Param:
    """One query parameter, ``$number`` in the rewritten SQL."""

    number: int
    name: str
    explicit_name: bool = False  # @name / sqlc.arg(name): the user chose it
    nullable: bool = False  # sqlc.narg(name)
    target: ParamTarget | None = None


@dataclass(frozen=True, slots=True)
class Embed:
    """``sqlc.embed(alias)``: rewritten to ``alias.*``; columns nest as the table's model."""

    alias: str
    offset: int  # in the rewritten SQL, where ``alias.*`` starts


@dataclass(slots=True)
class QuerySpec:
    """An annotated statement, its parameters found and named, its SQL rewritten to ``$N``."""

    name: str
    command: Command
    doc: list[str]
    location: Location  # of the ``-- name:`` annotation
    sql_location: Location  # where the statement starts in the file
    original_sql: str
    sql: str  # rewritten: named parameters → $N, sqlc.embed(x) → x.*
    params: list[Param]
    tree: Any  # pglast RawStmt.stmt of ``sql``
    embeds: list[Embed] = field(default_factory=list)
    # (rewritten offset, original offset) pairs, ascending, for mapping error positions back
    offset_map: list[tuple[int, int]] = field(default_factory=list)

    def original_offset(self, rewritten: int) -> int:
        """Map an offset in :attr:`sql` to an offset in the file."""
        base_new, base_old = 0, 0
        for new, old in self.offset_map:
            if new > rewritten:
                break
            base_new, base_old = new, old
        return self.sql_location.offset + base_old + (rewritten - base_new)

    def location_of(self, rewritten: int) -> Location:
        return Location(self.sql_location.file, self.original_offset(rewritten))

    @property
    def statement_kind(self) -> str:
        """select / insert / update / delete / other, from the parse tree."""
        kind = type(self.tree).__name__
        return {
            "SelectStmt": "select",
            "InsertStmt": "insert",
            "UpdateStmt": "update",
            "DeleteStmt": "delete",
        }.get(kind, "other")

    @property
    def has_returning(self) -> bool:
        return bool(returning_list(self.tree))


def returning_list(tree: Any) -> tuple[Any, ...]:
    """The RETURNING targets of a DML statement (PostgreSQL 18 wraps them in a clause)."""
    clause = getattr(tree, "returningClause", None)
    if clause is not None:
        return tuple(clause.exprs or ())
    return tuple(getattr(tree, "returningList", None) or ())
