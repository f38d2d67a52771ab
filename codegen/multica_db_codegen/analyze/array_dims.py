"""An array expression's dimensions, as its parse tree writes them.

PostgreSQL describes ``ARRAY[[1, 2], [3, 4]]`` as ``integer[]``: a type has no
dimensions, a value has. A table's column declares them (``attndims``); an expression
shows them in its syntax: nested ``ARRAY[…]`` constructors, a cast to ``int[][]``.
"""

from __future__ import annotations

from typing import Any

from pglast import ast


def expr_dims(node: Any) -> int:
    """The dimensions ``node`` builds (1 when its syntax says nothing more)."""
    if isinstance(node, ast.A_ArrayExpr):
        inner = [e for e in node.elements or () if isinstance(e, ast.A_ArrayExpr | ast.TypeCast)]
        nested = [e for e in inner if _is_array_value(e)]
        return 1 + max((expr_dims(e) for e in nested), default=0)
    if isinstance(node, ast.TypeCast):
        bounds = len(node.typeName.arrayBounds or ()) if node.typeName is not None else 0
        if bounds == 0:
            return 1  # a cast to a scalar type (or an array domain): nothing to read
        return max(bounds, expr_dims(node.arg))  # a cast keeps a value's dimensions
    if isinstance(node, ast.CoalesceExpr):
        return max((expr_dims(a) for a in node.args or ()), default=1)
    return 1


def _is_array_value(node: Any) -> bool:
    """``node`` is itself an array (an element that adds a dimension to its constructor)."""
    if isinstance(node, ast.A_ArrayExpr):
        return True
    return (
        isinstance(node, ast.TypeCast)
        and node.typeName is not None
        and bool(node.typeName.arrayBounds)
    )
