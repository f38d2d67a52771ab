"""Find expressions of a statement's parse tree in its text, and name them as PostgreSQL does.

pglast's raw parse tree keeps where a node starts (an operator's position for ``a * b``),
not where it ends; replacing an expression by something else in the text needs both. The
end is found by reading tokens from the start until the text parses back to the same
expression: decided from the parse tree, never by searching the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pglast
from pglast import ast
from pglast import parser as pgparser
from pglast.enums import A_Expr_Kind
from pglast.stream import RawStream

from multica_db_codegen.parse.params import child_slots

#: Nodes that are expressions: what an error's position may point at, what may be replaced.
EXPRESSIONS = (
    ast.A_Expr,
    ast.FuncCall,
    ast.TypeCast,
    ast.CaseExpr,
    ast.CoalesceExpr,
    ast.MinMaxExpr,
    ast.NullTest,
    ast.BooleanTest,
    ast.A_ArrayExpr,
    ast.RowExpr,
    ast.SubLink,
    ast.ColumnRef,
    ast.ParamRef,
    ast.A_Const,
    ast.CollateClause,
    ast.BoolExpr,
)


def node_location(node: Any) -> int | None:
    """Where the tree says ``node`` is (``None``: it keeps no location)."""
    loc = getattr(node, "location", None) if isinstance(node, ast.Node) else None
    return int(loc) if isinstance(loc, int) and loc >= 0 else None


def text_span(text: str, node: Any) -> tuple[int, int] | None:
    """Where ``node`` is written in ``text``: from its first token (or a parenthesis
    before it) to the first token after which the text parses back to the same
    expression."""
    starts = [loc for n in walk(node) if (loc := node_location(n)) is not None]
    if not starts:
        return None
    try:
        want = RawStream()(node)
    except Exception:  # pglast cannot print it alone: leave it
        return None
    tokens = list(pgparser.scan(text))
    first = next((i for i, t in enumerate(tokens) if t.start >= min(starts)), None)
    while first is not None and first >= 0:
        found = _span_from(text, tokens, first, want)
        if found is not None:
            return found
        first -= 1  # `(a + b) * c`: the tree's first location is inside the parenthesis
        if first < 0 or tokens[first].name != "ASCII_40":
            return None
    return None


def _span_from(text: str, tokens: list[Any], first: int, want: str) -> tuple[int, int] | None:
    start = int(tokens[first].start)
    depth = 0
    for t in tokens[first:]:
        if t.name == "ASCII_40":
            depth += 1
        elif t.name == "ASCII_41":
            depth -= 1
            if depth < 0:
                return None
        if depth:
            continue
        try:
            got = pglast.parse_sql("SELECT " + text[start : t.end + 1])
        except pgparser.ParseError:
            continue
        stmt: Any = got[0].stmt if len(got) == 1 else None
        targets: Any = getattr(stmt, "targetList", None) or ()
        if len(targets) == 1 and targets[0].name is None and RawStream()(targets[0].val) == want:
            return start, int(t.end) + 1
    return None


def around(text: str, tree: Any, position: int) -> list[tuple[Any, list[Any]]]:
    """The expression nearest ``position`` whose text holds it, with its ancestors."""
    before = [
        (loc, n, up)
        for n, up in walk_up(tree)
        if isinstance(n, EXPRESSIONS) and (loc := node_location(n)) is not None and loc <= position
    ]
    for _, node, ancestors in sorted(before, key=lambda x: -x[0]):
        span = text_span(text, node)
        if span is not None and span[0] <= position < span[1]:
            return [(node, ancestors)]
    return []


def result_name(tree: Any, node: Any) -> str | None:
    """The name PostgreSQL gives ``node``'s column, when it is a result column's whole
    expression without an alias and the name is not ``?column?``."""
    for found, ancestors in walk_up(tree):
        if found is not node:
            continue
        target = ancestors[-1] if ancestors else None
        if isinstance(target, ast.ResTarget) and target.val is node and target.name is None:
            return _figure_name(node)
        return None
    return None


def entry_named_by(tree: Any, node: Any) -> tuple[Any, str] | None:
    """The result column whose name ``node`` gives, when it is inside (not the whole of)
    one without an alias, and that name: ``msg_id`` of ``msg_id::bigint``, which would
    become ``int8`` if ``msg_id`` were replaced by a parameter."""
    for found, ancestors in walk_up(tree):
        if found is not node:
            continue
        for i in range(len(ancestors) - 1, -1, -1):
            target = ancestors[i]
            if isinstance(target, ast.ResTarget):
                if target.name is not None or target.val is None or target.val is node:
                    return None
                name = _figure_name(target.val)
                return (target, name) if name is not None else None
        return None
    return None


def _figure_name(node: Any) -> str | None:
    """What PostgreSQL names a select-list expression (``None``: ``?column?``)."""
    if isinstance(node, ast.ColumnRef):
        last = (node.fields or ())[-1:]
        return str(last[0].sval) if last and isinstance(last[0], ast.String) else None
    if isinstance(node, ast.FuncCall):
        return str(node.funcname[-1].sval) if node.funcname else None
    if isinstance(node, ast.TypeCast):
        inner = _figure_name(node.arg)
        names: Any = node.typeName.names if node.typeName is not None else ()
        return inner or (str(names[-1].sval) if names else None)
    if isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_NULLIF:
        return "nullif"
    fixed = {ast.CaseExpr: "case", ast.CoalesceExpr: "coalesce", ast.A_ArrayExpr: "array"}
    if isinstance(node, ast.RowExpr):
        return "row"
    if isinstance(node, ast.MinMaxExpr):
        return "greatest" if int(node.op or 0) == 0 else "least"
    return fixed.get(type(node))


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def walk(tree: Any) -> Iterator[Any]:
    """Every node in pre-order."""
    return (node for node, _ in walk_up(tree))


def walk_up(tree: Any) -> Iterator[tuple[Any, list[Any]]]:
    """Every node in pre-order, with its ancestors (outermost first)."""
    stack: list[tuple[Any, list[Any]]] = [(tree, [])]
    while stack:
        node, ancestors = stack.pop()
        if isinstance(node, ast.Node):
            yield node, ancestors
            inner = [*ancestors, node]
            for attr in reversed(child_slots(type(node))):
                child = getattr(node, attr)
                if child is not None:
                    stack.append((child, inner))
        elif isinstance(node, tuple | list):
            stack.extend((x, ancestors) for x in reversed(node))
