"""Views whose definition calls a function the server does not have.

A schema may call what an extension defines without creating it (TimescaleDB's
``time_bucket()`` in a continuous aggregate, the extension assumed installed). sqlc
accepts the view and types such a column ``any``; PostgreSQL refuses to create it,
and every query reading the view would fail. So each missing function the view's
definition calls gets a stand-in, kept with the schema: a SQL function taking the
argument types PostgreSQL reported (an unknown literal as text) and returning
:data:`UNKNOWN_TYPE`, an empty enum the analysis reads as "any" (the Python type is
``Any``). The statement then runs exactly as written.

Queries reading such a column compare it with anything (``minute > $1::timestamptz``):
:func:`.standin_result.cast_needed` names the type an operator wanted, and the query's description
gets an implicit cast to it, in its transaction that is rolled back. A query calling
the stand-in's name with other argument types gets its own stub, as for any missing
function (:mod:`.missing_functions` does not count stand-ins as existing).

Only a name with no function at all gets one: a call matching none of an existing
function's signatures (``lower(a, b)``) stays the schema's error. Which statements, and
which call, are decided from the parse tree; PostgreSQL's error only says which
function (and argument types) it lacks.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from pglast import ast

from multica_db_codegen.analyze.missing_functions import (
    _arg,
    _call_at,
    _name_exists,
    _split_args,
)
from multica_db_codegen.analyze.standin_result import UNKNOWN_SCHEMA, UNKNOWN_TYPE

#: statements whose failing call gets a stand-in: what they define has columns queries read
_DEFINES_COLUMNS = (ast.ViewStmt, ast.CreateTableAsStmt)
#: stand-ins one statement may need
_MAX_STANDINS = 16

_MISSING_RE = re.compile(r"^function (?P<name>.+)\((?P<args>.*)\) does not exist$", re.S)


def applies(node: Any) -> bool:
    return isinstance(node, _DEFINES_COLUMNS)


def stand_in_calls(
    conn: psycopg.Connection[Any], sql: str, node: Any, exc: psycopg.Error
) -> tuple[list[str], psycopg.Error | None]:
    """Run ``sql`` (whose first attempt failed with ``exc``) with a stand-in for each
    function it calls that the server lacks; the stand-ins' signatures, and the error
    that remains (None: it ran). Nothing is kept when it still fails."""
    made: list[str] = []
    error: psycopg.Error | None = exc
    try:
        with conn.transaction():
            while error is not None and len(made) < _MAX_STANDINS:
                m = _MISSING_RE.match(error.diag.message_primary or "")
                pos = error.diag.statement_position
                if (error.diag.sqlstate or "") != "42883" or m is None or not pos:
                    break
                call = _call_at(node, int(pos) - 1)
                if call is None or call.agg_star or call.func_variadic or call.over:
                    break
                types = _split_args(m.group("args"))
                called = tuple(str(n.sval) for n in call.funcname)
                if len(types) != len(call.args or ()) or _name_exists(conn, called):
                    break  # only the signature differs (lower(a, b)): the schema's own error
                name = ".".join(_quote(str(n.sval)) for n in call.funcname)
                args = ", ".join(_arg(t) for t in types)
                _ensure_unknown_type(conn)
                conn.execute(
                    f"CREATE FUNCTION {name}({args}) RETURNS {UNKNOWN_TYPE} LANGUAGE sql "
                    f"AS 'SELECT NULL::{UNKNOWN_TYPE}'".encode()
                )
                made.append(f"{m.group('name')}({m.group('args')})")
                error = _attempt(conn, sql)
            if error is not None:
                raise _Undo
    except _Undo:
        return [], error
    except psycopg.Error as failed:  # a stand-in could not be made (no schema to make it in)
        return [], failed
    return made, None


class _Undo(Exception):
    """Leaves the transaction, rolled back."""


def _attempt(conn: psycopg.Connection[Any], sql: str) -> psycopg.Error | None:
    try:
        with conn.transaction():
            conn.execute(sql.encode())
    except psycopg.Error as error:
        return error
    return None


def _ensure_unknown_type(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT to_regtype(%s) IS NOT NULL", (UNKNOWN_TYPE,)).fetchone()
    if row and row[0]:
        return
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{UNKNOWN_SCHEMA}"'.encode())
    # an enum, not a domain: PostgreSQL describes a domain's column as its base type
    conn.execute(f"CREATE TYPE {UNKNOWN_TYPE} AS ENUM ()".encode())


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


__all__ = ["applies", "stand_in_calls"]
