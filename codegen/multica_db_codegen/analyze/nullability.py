"""Decide whether each result column can be NULL, from the parse tree and the catalog.

The rule that matters: never call a column NOT NULL when it can be NULL. Where
the analysis cannot be sure, the answer is "nullable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, JoinType, SubLinkType

from multica_db_codegen.analyze.catalog import Attribute, Catalog
from multica_db_codegen.analyze.ir import TypeRef
from multica_db_codegen.parse.spec import returning_list

_SYSTEM_COLUMNS = {"xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"}
_STRICT_OPS = {"=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "||", "^"}


@dataclass(frozen=True, slots=True)
class ColumnFacts:
    """One described result column: what PostgreSQL told us about it."""

    name: str
    type: TypeRef
    attribute: Attribute | None  # set when the column is a direct table column reference


def infer_nullability(tree: Any, columns: Sequence[ColumnFacts], catalog: Catalog) -> list[bool]:
    """``True`` for each column that can be NULL."""
    risky = _has_outer_join(tree) or _has_grouping_sets(tree) or _is_set_operation(tree)
    targets = _aligned_targets(tree, len(columns))
    dml = _dml_relation(tree)
    out: list[bool] = []
    for i, col in enumerate(columns):
        if col.attribute is not None and col.attribute.notnull and not risky:
            out.append(False)
            continue
        expr = targets[i] if targets is not None else None
        if expr is None or risky:
            out.append(True)
            continue
        out.append(_expr_nullable(expr, dml, catalog))
    return out


def _walk(node: Any) -> Any:
    if isinstance(node, ast.Node):
        yield node
        for attr in node:
            yield from _walk(getattr(node, attr))
    elif isinstance(node, tuple | list):
        for x in node:
            yield from _walk(x)


def _has_outer_join(tree: Any) -> bool:
    return any(
        isinstance(n, ast.JoinExpr) and n.jointype != JoinType.JOIN_INNER for n in _walk(tree)
    )


def _has_grouping_sets(tree: Any) -> bool:
    return any(isinstance(n, ast.GroupingSet) for n in _walk(tree))


def _is_set_operation(tree: Any) -> bool:
    return isinstance(tree, ast.SelectStmt) and tree.op is not None and int(tree.op) != 0


def _dml_relation(tree: Any) -> tuple[str | None, str] | None:
    if isinstance(tree, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        rel: Any = tree.relation
        return (rel.schemaname, rel.relname)
    return None


def _aligned_targets(tree: Any, width: int) -> list[Any] | None:
    """The expression behind each output column, ``None`` for star-expanded ones."""
    if isinstance(tree, ast.SelectStmt):
        targets = tree.targetList or ()
    elif isinstance(tree, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        targets = returning_list(tree)
    else:
        return None
    stars = [t for t in targets if _is_star(t.val)]
    if len(stars) > 1:
        return None
    star_width = width - (len(targets) - len(stars))
    if star_width < 0 or (not stars and star_width != 0):
        return None
    out: list[Any] = []
    for t in targets:
        if t in stars:
            out.extend([None] * star_width)
        else:
            out.append(t.val)
    return out


def _is_star(v: Any) -> bool:
    return isinstance(v, ast.ColumnRef) and isinstance((v.fields or (None,))[-1], ast.A_Star)


def _expr_nullable(e: Any, dml: tuple[str | None, str] | None, catalog: Catalog) -> bool:
    def nullable(x: Any) -> bool:
        return _expr_nullable(x, dml, catalog)

    # Attributes of pglast nodes are typed Optional; read them through ``node: Any``.
    node: Any = e
    if isinstance(e, ast.A_Const):
        return bool(node.isnull)
    if isinstance(e, ast.TypeCast):
        return nullable(node.arg)
    if isinstance(e, ast.ColumnRef):
        name = node.fields[-1]
        if not isinstance(name, ast.String):
            return True
        if name.sval in _SYSTEM_COLUMNS:
            return False
        if dml is not None and len(node.fields) == 1:
            cols = catalog.relation_columns(*dml)
            if cols:
                return not dict(cols).get(str(name.sval), False)
        return True
    if isinstance(e, ast.FuncCall):
        fname = node.funcname[-1].sval.lower()
        if fname == "count" and node.over is None:
            return False
        return not (fname in ("now", "current_timestamp") and not node.args)
    if isinstance(e, ast.SQLValueFunction):
        return False
    if isinstance(e, ast.SubLink):
        return bool(node.subLinkType != SubLinkType.EXISTS_SUBLINK)
    if isinstance(e, ast.NullTest | ast.BooleanTest):
        return False
    if isinstance(e, ast.BoolExpr):
        if node.boolop == BoolExprType.NOT_EXPR:
            return nullable(node.args[0])
        return any(nullable(a) for a in node.args)
    if isinstance(e, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP:
        op = node.name[-1].sval
        if op not in _STRICT_OPS or node.lexpr is None:
            return True
        return nullable(node.lexpr) or nullable(node.rexpr)
    if isinstance(e, ast.CoalesceExpr):
        return all(nullable(a) for a in node.args)
    if isinstance(e, ast.CaseExpr):
        if node.defresult is None:
            return True
        return nullable(node.defresult) or any(nullable(w.result) for w in node.args)
    return True
