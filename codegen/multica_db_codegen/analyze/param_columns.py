"""Parameters compared with a table's column (``WHERE settings = $1``): that column, so
its override types the parameter as it types the column (a jsonb column read as the
user's model is sent as one), as sqlc types such a parameter by its column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind

from multica_db_codegen.parse.params import tree_nodes

#: (schema or None, table) -> its column names, or None when no such relation
Columns = Callable[[str | None, str], list[str] | None]


Column = tuple[str | None, str, str]  # (schema or None, table, column)


def column_resolver(tree: Any, columns: Columns) -> Callable[[ast.ColumnRef], Column | None]:
    """What a column reference names: ``alias.col`` through the statement's relations
    (a CTE's name is not a table), ``col`` when exactly one of them has such a column."""
    ctes = {
        str(c.ctename)
        for n in tree_nodes(tree)
        if isinstance(n, ast.WithClause)
        for c in n.ctes or ()
        if isinstance(c, ast.CommonTableExpr)
    }
    by_name: dict[str, set[tuple[str | None, str]]] = {}
    for n in tree_nodes(tree):
        if isinstance(n, ast.RangeVar) and n.relname:
            if n.schemaname is None and n.relname in ctes:
                continue
            rel = (n.schemaname, str(n.relname))
            alias = str(n.alias.aliasname) if n.alias is not None else str(n.relname)
            by_name.setdefault(alias, set()).add(rel)
    tables = {rel for rels in by_name.values() for rel in rels}

    def resolve(ref: ast.ColumnRef) -> Column | None:
        names = [f.sval for f in ref.fields or () if isinstance(f, ast.String)]
        if len(names) != len(ref.fields or ()) or not 1 <= len(names) <= 2:
            return None
        col = str(names[-1])
        candidates = by_name.get(str(names[0]), set()) if len(names) == 2 else tables
        found = {rel for rel in candidates if col in (columns(*rel) or ())}
        if len(found) != 1:
            return None
        schema, table = found.pop()
        return schema, table, col

    return resolve


def compared_columns(tree: Any, columns: Columns) -> dict[int, Column]:
    """``{parameter number: (schema, table, column)}`` for each parameter that is one side
    of a comparison whose other side is a column the statement's relations resolve to
    exactly one table's. A parameter compared with two different columns gets none."""
    resolve = column_resolver(tree, columns)
    out: dict[int, Column | None] = {}
    for n in tree_nodes(tree):
        if not isinstance(n, ast.A_Expr) or n.kind not in (
            A_Expr_Kind.AEXPR_OP,
            A_Expr_Kind.AEXPR_IN,
            A_Expr_Kind.AEXPR_DISTINCT,
            A_Expr_Kind.AEXPR_NOT_DISTINCT,
        ):
            continue
        if n.kind == A_Expr_Kind.AEXPR_OP and _operator(n) not in _COMPARISONS:
            continue  # meta @> $1 takes a part of a value, a || $1 another value: not its type
        for a, b in ((n.lexpr, n.rexpr), (n.rexpr, n.lexpr)):
            if not isinstance(a, ast.ColumnRef):
                continue
            for item in b if isinstance(b, tuple | list) else (b,):
                if not isinstance(item, ast.ParamRef) or not item.number:
                    continue
                target = resolve(a)
                number = int(item.number)
                if target is None or out.get(number, target) != target:
                    out[number] = None  # unresolved, or two different columns
                else:
                    out[number] = target
    return {k: v for k, v in out.items() if v is not None}


#: operators comparing two values of one type
_COMPARISONS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">="})


def _operator(n: ast.A_Expr) -> str | None:
    names = [getattr(x, "sval", None) for x in n.name or ()]
    return str(names[-1]) if names and names[-1] is not None else None
