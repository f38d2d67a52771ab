"""A schema statement creating what an earlier one already made, as its IF NOT EXISTS form.

sqlc reads the schema without running it: what a DO block, a function or a procedure
creates is invisible to it, so projects repeat those objects in a file only sqlc reads
(``ALTER TABLE teams ADD COLUMN slug text``). The analyzer runs the whole schema, so the
repeat fails with "already exists". The object the database has is the one the
migrations make — the one queries meet at run time — so it is kept, and the repeat is
run again with IF NOT EXISTS on each of its additions (others parts of the statement
still apply). Decided from the parse tree, then deparsed.
"""

from __future__ import annotations

from typing import Any

import pglast
from pglast import ast, enums
from pglast.stream import RawStream

#: duplicate_column, duplicate_table (a relation or sequence)
ALREADY_EXISTS = {"42701", "42P07"}


def if_not_exists(text: str) -> str | None:
    """``text`` with IF NOT EXISTS on each addition that can take it; None when it has
    none (or does not parse as one statement)."""
    try:
        stmts = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    if len(stmts) != 1:
        return None
    node: Any = stmts[0].stmt
    changed = False
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if (
                isinstance(cmd, ast.AlterTableCmd)
                and cmd.subtype == enums.AlterTableType.AT_AddColumn
                and not cmd.missing_ok
            ):
                cmd.missing_ok = True  # ADD COLUMN IF NOT EXISTS
                changed = True
    elif isinstance(node, (ast.CreateStmt, ast.CreateSeqStmt)) and not node.if_not_exists:
        node.if_not_exists = True
        changed = True
    return RawStream()(node) if changed else None
