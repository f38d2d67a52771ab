"""An array expression's dimensions, as its parse tree writes them.

PostgreSQL describes ``ARRAY[[1, 2], [3, 4]]`` as ``integer[]``: a type has no
dimensions, a value has. A table's column declares them (``attndims``); an expression
shows them in its syntax: nested ``ARRAY[…]`` constructors, a cast to ``int[][]``,
``array_agg`` of an array (one dimension more than its argument).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pglast import ast

#: an array column's declared dimensions (0: not an array, or not a table's column)
ColumnDims = Callable[[ast.ColumnRef], int]


def expr_dims(node: Any, column_dims: ColumnDims | None = None) -> int:
    """The dimensions ``node`` builds (1 when its syntax says nothing more)."""
    return max(_dims(node, column_dims), 1)


def _dims(node: Any, column_dims: ColumnDims | None) -> int:
    """An array's dimensions, 0 for what is not known to be an array."""
    if isinstance(node, ast.A_ArrayExpr):
        inner = max((_dims(e, column_dims) for e in node.elements or ()), default=0)
        return 1 + inner
    if isinstance(node, ast.TypeCast):
        bounds = len(node.typeName.arrayBounds or ()) if node.typeName is not None else 0
        if bounds == 0:
            return 0  # a cast to a scalar type (or an array domain): nothing to read
        return max(bounds, _dims(node.arg, column_dims))  # a cast keeps a value's dimensions
    if isinstance(node, ast.CoalesceExpr):
        return max((_dims(a, column_dims) for a in node.args or ()), default=0)
    if isinstance(node, ast.ColumnRef) and column_dims is not None:
        return column_dims(node)
    if isinstance(node, ast.FuncCall) and node.funcname:
        args = tuple(node.args or ())
        name = getattr(node.funcname[-1], "sval", "")
        if name == "array_agg" and len(args) == 1:  # of arrays, stacks them: one more
            return _dims(args[0], column_dims) + 1
    return 0
