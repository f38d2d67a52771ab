"""What parsing produces: one :class:`QuerySpec` per annotated statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from multica_db_codegen.errors import Location
from multica_db_codegen.kinds import Command as Command
from multica_db_codegen.kinds import StatementKind


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
    # a positional argument of a function call: (schema, function, position, argument count);
    # the analyzer names the parameter after the function's argument, as sqlc does
    func_arg: tuple[str | None, str, int, int] | None = None


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
    def statement_kind(self) -> StatementKind:
        """select / insert / update / delete / other, from the parse tree."""
        kind = type(self.tree).__name__
        return {
            "SelectStmt": StatementKind.SELECT,
            "InsertStmt": StatementKind.INSERT,
            "UpdateStmt": StatementKind.UPDATE,
            "DeleteStmt": StatementKind.DELETE,
        }.get(kind, StatementKind.OTHER)

    @property
    def has_returning(self) -> bool:
        return bool(returning_list(self.tree))


def returning_list(tree: Any) -> tuple[Any, ...]:
    """The RETURNING targets of a DML statement (PostgreSQL 18 wraps them in a clause)."""
    clause = getattr(tree, "returningClause", None)
    if clause is not None:
        return tuple(clause.exprs or ())
    return tuple(getattr(tree, "returningList", None) or ())


@dataclass(frozen=True, slots=True)
class CopyTarget:
    """What ``:copyfrom`` needs of ``INSERT INTO t (cols) VALUES ($1, …)``."""

    relation: str  # as written, quoted: "schema"."table"
    columns: tuple[str, ...]
    param_numbers: tuple[int, ...]  # the parameter feeding each column, in column order


class CopyShapeError(ValueError):
    """The statement is not one ``:copyfrom`` can turn into COPY; ``offset`` points at why."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _values_item(sql: str, index: int) -> int | None:
    """Offset of the ``index``-th expression of the first VALUES row, from the lexer."""
    from pglast import parser as pgparser

    tokens = pgparser.scan(sql)
    starts = [i for i, t in enumerate(tokens) if sql[t.start : t.end + 1].upper() == "VALUES"]
    if not starts or starts[0] + 1 >= len(tokens):
        return None
    depth, item, expect = 0, 0, True
    for t in tokens[starts[0] + 1 :]:
        text = sql[t.start : t.end + 1]
        if text == "(":
            depth += 1
            if depth == 1:
                continue
        elif text == ")":
            depth -= 1
            if depth == 0:
                return None
        elif text == "," and depth == 1:
            item += 1
            expect = True
            continue
        if expect and depth >= 1:
            if item == index:
                return int(t.start)
            expect = False
    return None


def copy_target(tree: Any, sql: str = "") -> CopyTarget:
    """Check the ``:copyfrom`` shape and describe the COPY that replaces it."""
    from pglast import ast

    if not isinstance(tree, ast.InsertStmt):
        raise CopyShapeError(":copyfrom needs INSERT INTO table (columns) VALUES ($1, …)", 0)
    rel: Any = tree.relation
    loc = int(getattr(rel, "location", 0) or 0)
    if not tree.cols:
        raise CopyShapeError(":copyfrom needs an explicit column list: INSERT INTO t (a, b)", loc)
    if returning_list(tree):
        raise CopyShapeError(":copyfrom cannot return rows: remove RETURNING", loc)
    if tree.onConflictClause is not None:
        raise CopyShapeError(":copyfrom cannot use ON CONFLICT (COPY cannot handle conflicts)", loc)
    sel = tree.selectStmt
    rows = getattr(sel, "valuesLists", None) if isinstance(sel, ast.SelectStmt) else None
    if not rows or len(rows) != 1:
        raise CopyShapeError(":copyfrom needs exactly one VALUES row of parameters", loc)
    numbers: list[int] = []
    for i, value in enumerate(rows[0]):
        node = value
        while isinstance(node, ast.TypeCast):
            node = node.arg
        if not isinstance(node, ast.ParamRef):
            where = int(getattr(value, "location", None) or _values_item(sql, i) or loc)
            raise CopyShapeError(":copyfrom VALUES may hold only parameters ($N, @name)", where)
        numbers.append(int(node.number or 0))
    if len(numbers) != len(tree.cols):
        raise CopyShapeError(":copyfrom needs one parameter per column", loc)
    if len(set(numbers)) != len(numbers):
        raise CopyShapeError(":copyfrom cannot use one parameter for two columns", loc)
    relation = quote_ident(rel.relname)
    if rel.schemaname:
        relation = quote_ident(rel.schemaname) + "." + relation
    return CopyTarget(relation, tuple(str(c.name) for c in tree.cols), tuple(numbers))
