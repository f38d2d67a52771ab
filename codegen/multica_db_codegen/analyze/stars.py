"""``SELECT *``, ``t.*`` and ``RETURNING *`` written out as the columns they stand for.

Generated code reads rows by position, so a star in the SQL it runs would pick up a
column a migration adds later and break every function built before it — in the
normal zero-downtime order (migrate first, deploy the code after). As sqlc does,
the SQL constant in the generated module names the columns the analysis saw.

Only stars whose columns are certain are expanded: the statement's own result list
(not a set operation's branches), each star standing for one relation (or being the
only star), and names that refer to exactly those columns. Anything else keeps its
star: the SQL still runs as written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pglast import ast
from pglast.keywords import (
    COL_NAME_KEYWORDS,
    RESERVED_KEYWORDS,
    TYPE_FUNC_NAME_KEYWORDS,
)

from multica_db_codegen.parse.spec import returning_list

_KEYWORDS = (
    frozenset(RESERVED_KEYWORDS) | frozenset(COL_NAME_KEYWORDS) | frozenset(TYPE_FUNC_NAME_KEYWORDS)
)


def quote_column(name: str) -> str:
    """A column name as SQL must spell it (quoted only when it has to be)."""
    simple = name[:1].isalpha() or name[:1] == "_"
    simple = simple and all(ch.islower() or ch.isdigit() or ch in "_$" for ch in name)
    if simple and name.isascii() and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


class _Abort(Exception):
    """This statement's stars cannot be expanded with certainty."""


def _star_end(sql: str, start: int) -> int:
    """The offset just past the ``*`` of the star reference starting at ``start``."""
    i = start
    while i < len(sql):
        ch = sql[i]
        if ch == '"':
            i += 1
            while i < len(sql):
                if sql[i] == '"' and sql[i + 1 : i + 2] == '"':
                    i += 2
                elif sql[i] == '"':
                    break
                else:
                    i += 1
        elif ch == "*":
            return i + 1
        i += 1
    raise _Abort


def _is_star(node: Any) -> bool:
    return isinstance(node, ast.ColumnRef) and isinstance((node.fields or (None,))[-1], ast.A_Star)


def _has_star(node: Any) -> bool:
    """``(x).*`` and friends: an expression that expands to an unknown number of columns."""
    return isinstance(node, ast.A_Indirection) and any(
        isinstance(i, ast.A_Star) for i in node.indirection or ()
    )


def _targets(tree: Any) -> tuple[tuple[Any, ...], str]:
    """The statement's result list and what it is ('select' or 'returning')."""
    if isinstance(tree, ast.SelectStmt):
        if tree.op is not None and int(tree.op) != 0:
            raise _Abort  # UNION/INTERSECT/EXCEPT: the stars are in the branches
        return tuple(tree.targetList or ()), "select"
    returning = returning_list(tree)
    if returning:
        return returning, "returning"
    raise _Abort


def expand_stars(
    sql: str,
    tree: Any,
    names: Sequence[str],
    relation_columns: Callable[[str | None, str], Sequence[str] | None],
) -> str:
    """``sql`` with each certain star replaced by its column list (``sql`` itself if none).

    ``names``: the result columns PostgreSQL described, in order; ``relation_columns``
    gives a relation's column names by (schema, name), None if unknown.
    """

    def relation_width(schema: str | None, name: str) -> int | None:
        cols = relation_columns(schema, name)
        return None if cols is None else len(cols)

    try:
        targets, kind = _targets(tree)
    except _Abort:
        return sql
    stars = [t for t in targets if _is_star(t.val)]
    if not stars:
        return sql
    if any(_has_star(t.val) for t in targets):
        return sql
    try:
        relations = _relations(tree, kind)
        widths = _widths(targets, stars, len(names), relations, relation_width)
        edits: list[tuple[int, int, str]] = []
        pos = 0
        for t in targets:
            if not _is_star(t.val):
                pos += 1
                continue
            width = widths[id(t)]
            cols = list(names[pos : pos + width])
            pos += width
            start = int(t.val.location)
            end = _star_end(sql, start)
            prefix = sql[start : end - 1]  # "a." of "a.*", "" of "*"
            if not prefix and len(relations) != 1:
                # A bare star over a join: unqualified names may be ambiguous, so
                # each column is named through the relation it comes from.
                items = _qualified(tree, cols, relation_columns)
            else:
                _check_names(cols)
                items = [prefix + quote_column(c) for c in cols]
            edits.append(_wrap(sql, start, end, items))
    except _Abort:
        return sql
    out = sql
    for start, end, text in reversed(edits):
        out = out[:start] + text + out[end:]
    return out


def _check_names(cols: Sequence[str]) -> None:
    """Names that each refer to one column of one relation, or abort."""
    if len(set(cols)) != len(cols) or any(c == "?column?" for c in cols):
        raise _Abort


Columns = Callable[[str | None, str], Sequence[str] | None]


def _qualified(tree: Any, cols: Sequence[str], relation_columns: Columns) -> list[str]:
    """``a.x, a.y, b.z`` for a bare star over plain relations and joins of them.

    The columns are worked out as PostgreSQL lists them (FROM order; a USING or
    NATURAL join puts its merged columns first, named without a relation) and must
    come out exactly as PostgreSQL described them; anything else aborts.
    """
    with_clause = getattr(tree, "withClause", None)
    ctes = {str(c.ctename) for c in (with_clause.ctes or () if with_clause else ())}
    owners: dict[str, int] = {}  # column name → how many plain relations have it
    out: list[tuple[str | None, str]] = []
    for item in getattr(tree, "fromClause", None) or ():
        out.extend(_item_columns(item, ctes, relation_columns, owners))
    if [name for _, name in out] != list(cols):
        raise _Abort
    items: list[str] = []
    for qualifier, name in out:
        if qualifier is None:
            if owners.get(name, 0) > 2:
                # Only the two joined relations may have a merged column's name:
                # anything more could make the unqualified name ambiguous.
                raise _Abort
            items.append(quote_column(name))
        else:
            items.append(f"{quote_column(qualifier)}.{quote_column(name)}")
    return items


def _item_columns(
    n: Any, ctes: set[str], relation_columns: Columns, owners: dict[str, int]
) -> list[tuple[str | None, str]]:
    """(qualifier, column) of one FROM item, in the order a bare star lists them."""
    if isinstance(n, ast.RangeVar):
        if n.schemaname is None and str(n.relname) in ctes:
            raise _Abort  # a CTE: the catalog's relation of that name is another one
        if n.alias is not None and n.alias.colnames:
            raise _Abort  # renamed columns: the catalog's names do not apply
        cols = relation_columns(n.schemaname, str(n.relname))
        if cols is None or len(set(cols)) != len(cols):
            raise _Abort
        for c in cols:
            owners[c] = owners.get(c, 0) + 1
        alias = str(n.alias.aliasname if n.alias is not None else n.relname)
        return [(alias, c) for c in cols]
    if not isinstance(n, ast.JoinExpr) or n.alias is not None:
        raise _Abort  # subqueries, functions, (a JOIN b) AS j
    left = _item_columns(n.larg, ctes, relation_columns, owners)
    right = _item_columns(n.rarg, ctes, relation_columns, owners)
    if n.isNatural:
        right_names = {name for _, name in right}
        using = [name for _, name in left if name in right_names]
    elif n.usingClause:
        using = [str(u.sval) for u in n.usingClause]
    else:
        return left + right
    if getattr(n, "join_using_alias", None) is not None:
        raise _Abort
    merged = set(using)
    for side in (left, right):
        if sum(1 for _, name in side if name in merged) != len(merged):
            raise _Abort  # a merged name missing on a side, or present twice
    return (
        [(None, u) for u in using]
        + [c for c in left if c[1] not in merged]
        + [c for c in right if c[1] not in merged]
    )


#: Expanded column lists wrap before this column, so the SQL stays readable.
_WIDTH = 80


def _wrap(sql: str, start: int, end: int, items: list[str]) -> tuple[int, int, str]:
    """The edit replacing ``sql[start:end]`` by ``a, b, c``; a list too long for the line
    starts on the next one and continues over as many as it takes, indented."""
    line_start = sql.rfind("\n", 0, start) + 1
    head = sql[line_start:start]
    one_line = ", ".join(items)
    if len(head) + len(one_line) <= _WIDTH:
        return start, end, one_line
    indent = head[: len(head) - len(head.lstrip())] + "    "
    spaces = len(head) - len(head.rstrip(" "))
    lines = [indent + items[0]]
    for item in items[1:]:
        if len(lines[-1]) + 2 + len(item) > _WIDTH:
            lines[-1] += ","
            lines.append(indent + item)
        else:
            lines[-1] += ", " + item
    return start - spaces, end, "\n" + "\n".join(lines)


def _relations(tree: Any, kind: str) -> dict[str, tuple[str | None, str] | None]:
    """alias → (schema, relation) of each FROM item (None: not a plain relation)."""
    out: dict[str, tuple[str | None, str] | None] = {}
    if kind == "returning":
        rel = tree.relation
        alias = rel.alias.aliasname if rel.alias is not None else rel.relname
        out[str(alias)] = (rel.schemaname, str(rel.relname))
        extra = getattr(tree, "fromClause", None) or getattr(tree, "usingClause", None)
        if extra:
            out[""] = None  # UPDATE … FROM / DELETE … USING: RETURNING * spans more
        return out

    def walk(n: Any) -> None:
        if isinstance(n, ast.RangeVar):
            alias = n.alias.aliasname if n.alias is not None else n.relname
            out[str(alias)] = (n.schemaname, str(n.relname))
        elif isinstance(n, ast.JoinExpr):
            walk(n.larg)
            walk(n.rarg)
            out[f"join {len(out)}"] = None  # a join: a bare star is not one relation's
        elif isinstance(n, ast.RangeSubselect | ast.RangeFunction):
            alias = n.alias.aliasname if n.alias is not None else f"item {len(out)}"
            out[str(alias)] = None
        else:
            raise _Abort

    for item in getattr(tree, "fromClause", None) or ():
        walk(item)
    return out


def _widths(
    targets: tuple[Any, ...],
    stars: list[Any],
    total: int,
    relations: dict[str, tuple[str | None, str] | None],
    relation_width: Callable[[str | None, str], int | None],
) -> dict[int, int]:
    """How many result columns each star stands for."""
    if len(stars) == 1:
        width = total - (len(targets) - 1)
        if width < 0:
            raise _Abort
        return {id(stars[0]): width}
    out: dict[int, int] = {}
    for t in stars:
        fields = t.val.fields
        if len(fields) != 2 or not isinstance(fields[0], ast.String):
            raise _Abort
        rel = relations.get(str(fields[0].sval))
        if rel is None:
            raise _Abort
        known = relation_width(*rel)
        if known is None:
            raise _Abort
        out[id(t)] = known
    if sum(out.values()) + len(targets) - len(stars) != total:
        raise _Abort
    return out
