"""Why ``WHERE id=@id`` fails: PostgreSQL reads ``=@`` as one operator.

sqlc reads ``@name`` as a named parameter wherever ``@`` is followed by a word, so it
accepts ``id=@id``. PostgreSQL's lexer takes the longest run of operator characters,
so the same text is the operator ``=@`` between two columns called ``id``, and the
statement fails with "operator does not exist: bigint =@ bigint" (or "column does not
exist" when no column has the parameter's name). The message is PostgreSQL's and stays
as it is; what it cannot say is that a space was missing, so the error gets that as
its hint.

Decided from the parse tree: an operator ending in ``@`` (``=@``, ``<>@``, ``>=@``,
``<@@``…), written as such (not ``OPERATOR(…)``), immediately followed by a column
reference of one word (what sqlc took for the parameter), and PostgreSQL's error is
about that operator (it does not exist: ``<@`` is a real operator, so ``ids <@id`` is
only suspect when PostgreSQL has none for those types) or about that word (no such
column). Real operators such as ``@>``, ``<@`` and ``@@`` between operands that have
them never fail, so they never get the hint.
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast import parser as pgparser
from pglast.enums import A_Expr_Kind

from multica_db_codegen.parse.params import tree_nodes

UNDEFINED_FUNCTION = "42883"  # "operator does not exist" (functions share the code)
UNDEFINED_COLUMN = "42703"
_SAYS = "PostgreSQL reads `{op}` as one operator"


def glued_parameter_hint(
    sql: str, tree: Any, sqlstate: str | None, position: int | None
) -> str | None:
    """The hint for PostgreSQL's error at ``position`` (1-based in ``sql``, the SQL sent,
    ``tree`` its parse tree) when it comes from an operator glued to a parameter."""
    if position is None or sqlstate not in (UNDEFINED_FUNCTION, UNDEFINED_COLUMN):
        return None
    at = position - 1
    words = {
        t.start: sql[t.start : t.end + 1]
        for t in pgparser.scan(sql)
        if t.name == "IDENT" or t.kind != "NO_KEYWORD"
    }
    columns = {
        int(n.location)
        for n in tree_nodes(tree)
        if isinstance(n, ast.ColumnRef) and n.location is not None and len(n.fields or ()) == 1
    }
    for node in tree_nodes(tree):
        if not (isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP):
            continue
        name = node.name or ()
        if len(name) != 1 or node.location is None:  # OPERATOR(schema.=@) is deliberate
            continue
        op = str(getattr(name[0], "sval", ""))
        start = int(node.location)
        end = start + len(op)
        if not op.endswith("@") or not op.strip("@") or sql[start:end] != op:
            continue
        if end not in columns or end not in words:
            continue
        if (sqlstate == UNDEFINED_FUNCTION and at == start) or (
            sqlstate == UNDEFINED_COLUMN and at == end
        ):
            return (
                f"write `{op[:-1]} @{words[end]}` (a space between the operator and the "
                f"parameter): {_SAYS.format(op=op)}"
            )
    return None


def is_glued_parameter_hint(hint: str | None) -> bool:
    """Whether ``hint`` is this module's (a surer cause than any other hint's guess)."""
    return hint is not None and hint.endswith(" as one operator") and "PostgreSQL reads `" in hint
