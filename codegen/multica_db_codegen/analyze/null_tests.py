"""Parameters a statement tests with ``IS NULL``: optional filters.

``WHERE (@ids::int[] IS NULL OR id = ANY(@ids::int[]))`` and ``(sqlc.slice(ids) IS NULL
OR id IN (sqlc.slice(ids)))`` give NULL a meaning: "no filter". Such a parameter is
``T | None`` in Python, like one inserted into a nullable column (and, like it, it must
still be passed: only ``sqlc.narg`` defaults to None).

PostgreSQL types a parameter where it first meets it. A bare ``$1 IS NULL`` first leaves it
of unknown type, and ``= ANY($1)`` after it then refuses it (``op ANY/ALL (array) requires
array on right side``) although the statement says what it is. sqlc accepts that
statement; to prepare it — and to run it, since a None is sent without a type — the bare
tests get the type the parameter's other uses give it (``$1::bigint[] IS NULL``), found
by preparing the statement once with those tests on a parameter of their own.
"""

from __future__ import annotations

from typing import Any

import psycopg
from pglast import ast
from pglast import parser as pgparser
from psycopg import pq

from multica_db_codegen.parse.params import tree_nodes

_TEXT_OID = 25
_UNKNOWN_OID = 705


def null_tested(tree: Any) -> set[int]:
    """Numbers of the parameters tested with ``IS [NOT] NULL`` (through casts)."""
    out: set[int] = set()
    for node in tree_nodes(tree):
        if isinstance(node, ast.NullTest):
            arg = node.arg
            while isinstance(arg, ast.TypeCast):
                arg = arg.arg
            if isinstance(arg, ast.ParamRef) and arg.number:
                out.add(int(arg.number))
    return out


def bare_null_tests(tree: Any) -> dict[int, set[int]]:
    """Each parameter tested with ``IS [NOT] NULL`` without a cast → its offsets there."""
    out: dict[int, set[int]] = {}
    for node in tree_nodes(tree):
        if isinstance(node, ast.NullTest) and isinstance(node.arg, ast.ParamRef):
            ref: Any = node.arg  # pglast's attributes are typed Optional
            if ref.number and ref.location is not None:
                out.setdefault(int(ref.number), set()).add(int(ref.location))
    return out


def types_elsewhere(conn: psycopg.Connection[Any], sql: str, tree: Any) -> dict[int, str]:
    """The SQL type of each bare null-tested parameter, as its other uses give it.

    The statement is prepared with every bare test on a fresh parameter of its own
    (declared text: only the others' types are read). A parameter used nowhere else, or
    a statement refused for another reason, gives nothing.
    """
    bare = bare_null_tests(tree)
    if not bare:
        return {}
    tokens = [t for t in pgparser.scan(sql) if t.name == "PARAM"]
    highest = max((int(sql[t.start + 1 : t.end + 1]) for t in tokens), default=0)
    at = {offset for offsets in bare.values() for offset in offsets}
    pieces: list[str] = []
    cursor = 0
    fresh = highest
    for t in tokens:
        if t.start in at:
            fresh += 1
            pieces += [sql[cursor : t.start], f"${fresh}"]
            cursor = t.end + 1
    probe = "".join([*pieces, sql[cursor:]])
    types = [0] * highest + [_TEXT_OID] * (fresh - highest)
    with conn.transaction(force_rollback=True):
        res = conn.pgconn.prepare(b"", probe.encode(), types)
        if res.status != pq.ExecStatus.COMMAND_OK:
            return {}
        described = conn.pgconn.describe_prepared(b"")
        if described.status != pq.ExecStatus.COMMAND_OK:
            return {}
        out: dict[int, str] = {}
        for number in sorted(bare):
            oid = described.param_type(number - 1)
            if oid in (0, _UNKNOWN_OID):
                continue
            row = conn.execute("SELECT format_type(%s, NULL)", (oid,)).fetchone()
            if row and row[0]:
                out[number] = str(row[0])
        return out
