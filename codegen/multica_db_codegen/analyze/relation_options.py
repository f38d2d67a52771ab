"""Relation options in an extension's namespace, left out where the server lacks it.

``CREATE MATERIALIZED VIEW … WITH (timescaledb.continuous)`` or ``ALTER TABLE … SET
(citus.x = 1)`` name a storage parameter that only the extension registers; a server
without it refuses the whole statement ("unrecognized parameter namespace"). sqlc
reads no storage parameter, and none changes a column a query sees, so those options
are left out and the rest of the statement runs as written: each option's tokens (and
the comma that separates it), or the whole ``WITH (…)`` when nothing is left of it,
become spaces, so every other byte and every offset stays the file's. An ``ALTER``
command made only of such options goes with its statement when it is the only one.

The options are found in the parse tree (a ``DefElem`` with a namespace other than
PostgreSQL's own ``toast``); the scanner's tokens give their extent.
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast import parser as pgparser

#: the one namespace PostgreSQL itself knows for relation options
_OWN_NAMESPACES = {"toast"}


def _option_lists(node: Any) -> list[tuple[Any, ...]]:
    """Every list of relation options in the statement (WITH (…), SET (…), RESET (…))."""
    lists: list[tuple[Any, ...]] = []
    if isinstance(node, ast.CreateStmt | ast.ViewStmt | ast.IndexStmt):
        lists.append(tuple(node.options or ()))
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        lists.append(tuple(node.into.options or ()))
    elif isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if cmd.subtype.name in ("AT_SetRelOptions", "AT_ResetRelOptions"):
                lists.append(tuple(cmd.def_ or ()))
    return [tuple(o for o in opts if isinstance(o, ast.DefElem)) for opts in lists if opts]


def namespaced(node: Any) -> list[str]:
    """The extension-namespaced options of the statement, as ``ns.name``."""
    return [
        f"{o.defnamespace}.{o.defname}"
        for opts in _option_lists(node)
        for o in opts
        if o.defnamespace and o.defnamespace not in _OWN_NAMESPACES
    ]


def without_namespaced(sql: str, node: Any, namespaces: set[str]) -> str | None:
    """``sql`` with the options in ``namespaces`` blanked (same length), "" when nothing
    of the statement is left, None when the statement has none or their extent is not
    clear from the tokens."""
    tokens = [(t.name, t.start, t.end + 1) for t in pgparser.scan(sql)]
    starts = {start: i for i, (_, start, _) in enumerate(tokens)}
    blank: list[tuple[int, int]] = []
    emptied = 0
    lists = _option_lists(node)
    for opts in lists:
        gone = [o for o in opts if o.defnamespace in namespaces]
        if not gone:
            continue
        spans = []
        for o in opts:
            span = _option_span(tokens, starts.get(int(o.location)))
            if span is None:
                return None
            spans.append((o, span))
        if len(gone) == len(opts):
            first, last = spans[0][1][0], spans[-1][1][1]
            opened, closed = first - 1, last + 1
            if opened < 0 or tokens[opened][0] != "ASCII_40" or closed >= len(tokens):
                return None
            if isinstance(node, ast.AlterTableStmt):
                emptied += 1
                continue
            if opened >= 1 and tokens[opened - 1][0] == "WITH":
                opened -= 1
            blank.append((tokens[opened][1], tokens[closed][2]))
            continue
        kept_after = [any(k.defnamespace not in namespaces for k, _ in spans[i + 1 :])
                      for i in range(len(spans))]  # fmt: skip
        for i, (o, (a, b)) in enumerate(spans):
            if o.defnamespace not in namespaces:
                continue
            if kept_after[i]:  # with the comma after it
                blank.append((tokens[a][1], tokens[b + 1][2]))
            else:  # after the last one kept: with the comma before it
                blank.append((tokens[a - 1][1], tokens[b][2]))
    if emptied:
        if emptied == len(lists) and len(node.cmds or ()) == emptied:
            return ""
        return None  # another command stays: the SET (…) cannot be blanked alone
    if not blank:
        return None
    out = list(sql)
    for a, b in blank:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


def _option_span(tokens: list[tuple[str, int, int]], first: int | None) -> tuple[int, int] | None:
    """The first and last token index of the option starting at token ``first``."""
    if first is None:
        return None
    depth = 0
    for k in range(first, len(tokens)):
        name = tokens[k][0]
        if name == "ASCII_40":
            depth += 1
        elif name == "ASCII_41":
            if depth == 0:
                return first, k - 1
            depth -= 1
        elif name == "ASCII_44" and depth == 0:
            return first, k - 1
    return None


__all__ = ["namespaced", "without_namespaced"]
