"""The parts of a table definition sqlc never reads, and the statement without one.

sqlc builds its catalog from column names, types and NOT NULL; a column's
``DEFAULT``, a ``CHECK``, a ``FOREIGN KEY`` and a generated column's expression
change nothing a query's types or nullability depend on, and sqlc never evaluates
them. PostgreSQL does, when the table is created: ``DEFAULT uuidv7()`` on a server
older than the function, ``nextval('t_id_seq'::regclass)`` before (or without) the
sequence's ``CREATE SEQUENCE``, a foreign key to a table a dump tool sorted later.
:func:`without_failing_part` finds, in the parse tree, the part PostgreSQL's error
points at and gives the statement again without it, so the table still exists for
the queries that read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.stream import RawStream

from multica_db_codegen.parse.params import tree_nodes

#: constraint kinds sqlc never reads → how a warning names them
_UNREAD = {
    "CONSTR_DEFAULT": "default",
    "CONSTR_CHECK": "check constraint",
    "CONSTR_FOREIGN": "foreign key",
    "CONSTR_GENERATED": "generation expression",
}
#: ALTER TABLE commands made only of what sqlc never reads
_UNREAD_COMMANDS = {"AT_ColumnDefault": "default", "AT_CookedColumnDefault": "default"}


@dataclass(frozen=True, slots=True)
class _Part:
    start: int  # byte offset of its first token in the statement
    what: str  # "default of id", "foreign key"…
    foreign: bool
    remove: Any  # () -> None: takes the part out of the tree


def _starts(node: Any) -> int:
    """The smallest location inside a node (its first token), or -1."""
    found = [
        int(n.location)
        for n in tree_nodes(node)
        if isinstance(getattr(n, "location", None), int) and n.location >= 0
    ]
    return min(found, default=-1)


def _column_parts(col: Any, parts: list[_Part], starts: list[int]) -> None:
    starts.append(int(col.location))
    for c in col.constraints or ():
        starts.append(int(c.location))
        what = _UNREAD.get(c.contype.name)
        if what is None:
            continue

        def remove(col: Any = col, c: Any = c) -> None:
            col.constraints = tuple(x for x in col.constraints if x is not c) or None

        foreign = what == "foreign key"
        parts.append(_Part(int(c.location), f"{what} of {col.colname}", foreign, remove))


def _parts(node: Any) -> tuple[list[_Part], list[int]]:
    """The removable parts of a CREATE TABLE / ALTER TABLE, and every element's start
    (the boundaries between parts)."""
    parts: list[_Part] = []
    starts: list[int] = []
    if isinstance(node, ast.CreateStmt):
        elements: tuple[Any, ...] = tuple(node.tableElts or ())
        for e in elements:
            if isinstance(e, ast.ColumnDef):
                _column_parts(e, parts, starts)
            elif type(e).__name__ == "Constraint":
                starts.append(int(e.location))
                what = _UNREAD.get(e.contype.name)
                if what is not None:

                    def remove(node: Any = node, e: Any = e) -> None:
                        node.tableElts = tuple(x for x in node.tableElts if x is not e)

                    name = f" {e.conname}" if e.conname else ""
                    parts.append(_Part(int(e.location), what + name, what == "foreign key", remove))
    elif isinstance(node, ast.AlterTableStmt):
        commands: tuple[Any, ...] = tuple(node.cmds or ())
        for cmd in commands:
            start = _starts(cmd)
            starts.append(start)
            sub = cmd.subtype.name
            what = _UNREAD_COMMANDS.get(sub)
            if sub == "AT_AddConstraint" and type(cmd.def_).__name__ == "Constraint":
                what = _UNREAD.get(cmd.def_.contype.name)
            elif sub == "AT_AddColumn" and isinstance(cmd.def_, ast.ColumnDef):
                _column_parts(cmd.def_, parts, starts)
                continue
            if what is None:
                continue

            def remove_cmd(node: Any = node, cmd: Any = cmd) -> None:
                node.cmds = tuple(x for x in node.cmds if x is not cmd)

            col = f" of {cmd.name}" if cmd.name else ""
            parts.append(_Part(start, what + col, what == "foreign key", remove_cmd))
    return parts, sorted(set(starts))


def without_failing_part(node: Any, position: int | None) -> tuple[str, list[str]] | None:
    """The statement without the part(s) sqlc never reads that the error is in, and
    what was left out; None when the error is not in such a part.

    ``position`` is the error's byte offset in the statement (PostgreSQL's position).
    Without one (a foreign key to a missing table has none), every foreign key goes,
    else every such part. The text is "" when nothing of the statement is left (an
    ``ALTER TABLE`` that only set a default). ``node`` is changed.
    """
    parts, starts = _parts(node)
    if not parts:
        return None
    if position is None:
        chosen = [p for p in parts if p.foreign] or parts
    else:
        chosen = []
        for p in parts:
            after = [s for s in starts if s > p.start]
            end = min(after) if after else None
            if p.start <= position and (end is None or position < end):
                chosen.append(p)
        if not chosen:
            return None
    for p in chosen:
        p.remove()
    if isinstance(node, ast.AlterTableStmt) and not node.cmds:
        return "", [p.what for p in chosen]
    return RawStream()(node), [p.what for p in chosen]


__all__ = ["without_failing_part"]
