"""Describe a statement that calls a function the schema does not define.

sqlc accepts ``SELECT my_func(id) FROM t`` when the schema has no ``my_func`` and types
the result ``interface{}``; PostgreSQL refuses to prepare it (42883). To describe the
rest of the statement, each missing function gets a stub, inside a transaction that is
always rolled back (the schema's database is shared between runs and must not change):
it takes the argument types PostgreSQL reported (an unknown one, such as a bare ``$1``,
as text) and returns a marker type (an empty enum), which the analysis turns into :data:`ANY_TYPE`.
Only a name with no function at all is stubbed (a call that matches none of a
function's signatures is an error in sqlc too, or at run time), and only outside FROM.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from pglast import ast

from multica_db_codegen import env
from multica_db_codegen.analyze.describe import Described, DescribeError, describe
from multica_db_codegen.analyze.ir import ANY_TYPE
from multica_db_codegen.parse.params import child_slots

#: Set to make a call to a function the schema does not define an error (sqlc's
#: ``strict_function_checks``) instead of a warning and an ``Any`` result.
STRICT_FUNCTIONS_ENV = env.STRICT_FUNCTIONS

#: The stubs one statement may need: a bound on the describe-and-retry loop.
MAX_STUBS = 16

_MARKER = "multica_db_any_result"
_MISSING_RE = re.compile(r"^function (?P<name>.+)\((?P<args>.*)\) does not exist$", re.S)


@dataclass(frozen=True, slots=True)
class Stub:
    """One missing function as the statement calls it."""

    name: tuple[str, ...]  # schema-qualified when the call is
    args: tuple[str, ...]  # "integer", "text", 'a integer' (a named argument)
    offset: int  # the call's 0-based offset in the SQL sent (the caller may make it the file's)
    signature: str  # as PostgreSQL wrote it: my_func(integer)


strict = env.strict_functions


def missing_function(
    conn: psycopg.Connection[Any], tree: Any, exc: DescribeError, stubs: Sequence[Stub]
) -> Stub | None:
    """The stub that would get past ``exc``, or ``None`` when ``exc`` is another problem."""
    m = _MISSING_RE.match(exc.message)
    if m is None or exc.position is None or len(stubs) >= MAX_STUBS:
        return None
    call = _call_at(tree, exc.position - 1)
    if call is None:
        return None
    name = tuple(str(n.sval) for n in call.funcname)
    types = _split_args(m.group("args"))
    if len(types) != len(call.args or ()) or call.agg_star or call.func_variadic:
        return None
    args = tuple(_arg(t) for t in types)
    if any(s.name == name and s.args == args for s in stubs) or _name_exists(conn, name):
        return None  # stubbed already (and still refused), or only the signature differs
    # a stub's result passed on reads as sqlc would type it
    signature = f"{m.group('name')}({m.group('args')})".replace(_MARKER, "any")
    return Stub(name, args, exc.position - 1, signature)


def describe_stubbed(conn: psycopg.Connection[Any], text: str, stubs: Sequence[Stub]) -> Described:
    """Describe ``text`` with the stubs defined, in a transaction that is rolled back."""
    if not stubs:
        return describe(conn, text)
    marker = 0
    with conn.transaction(force_rollback=True):
        # The schema's database is read-only by default; this one transaction may write
        # because it is always rolled back.
        conn.execute("SET TRANSACTION READ WRITE")
        conn.execute("SET LOCAL check_function_bodies = off")
        # not a domain: PostgreSQL describes a domain's column as its base type
        conn.execute(f"CREATE TYPE {_quote(_MARKER)} AS ENUM ()".encode())
        row = conn.execute("SELECT to_regtype(%s)::oid::int", (_MARKER,)).fetchone()
        marker = int(row[0]) if row and row[0] else 0
        for s in stubs:
            name = ".".join(_quote(n) for n in s.name)
            create = (
                f"CREATE FUNCTION {name}({', '.join(s.args)}) RETURNS {_quote(_MARKER)} "
                "LANGUAGE sql AS 'SELECT NULL'"
            )
            conn.execute(create.encode())
        described = describe(conn, text)
    return replace(
        described,
        columns=tuple(
            replace(c, type_oid=ANY_TYPE.oid) if c.type_oid == marker else c
            for c in described.columns
        ),
    )


def _call_at(tree: Any, offset: int) -> Any:
    """The function call PostgreSQL's error points at, unless it is a FROM item.

    A function in FROM (``SELECT * FROM f()``) may return any number of columns: a
    one-column stub would make code that breaks on the real function's rows.
    """
    stack = [tree]
    in_from: set[int] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, ast.RangeFunction):
            in_from.update(id(f[0]) for f in node.functions or () if f)
        if isinstance(node, ast.FuncCall) and node.location == offset:
            return None if id(node) in in_from else node
        if isinstance(node, ast.Node):
            for attr in child_slots(type(node)):
                child = getattr(node, attr)
                if child is not None:
                    stack.append(child)
        elif isinstance(node, tuple | list):
            stack.extend(node)
    return None


def _split_args(text: str) -> list[str]:
    """``integer, "my type", a => text`` → its parts (commas inside quotes stay)."""
    if not text.strip():
        return []
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def _arg(reported: str) -> str:
    """A stub's argument declaration for an argument type as PostgreSQL reported it."""
    name, sep, typ = reported.partition(" => ")
    if not sep:
        name, typ = "", reported
    typ = "text" if typ == "unknown" else typ
    if name:
        return f"{_quote(name)} {typ}"
    return typ


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _name_exists(conn: psycopg.Connection[Any], name: tuple[str, ...]) -> bool:
    """Some function of that name is visible (only its signature does not match)."""
    if len(name) > 2:
        return True  # a database-qualified name: leave the error to PostgreSQL
    schema, fn = (None, name[0]) if len(name) == 1 else name
    row = conn.execute(
        """
        SELECT EXISTS (
            SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.proname = %s
              AND (n.nspname = %s OR (%s::text IS NULL AND n.nspname = ANY(current_schemas(true))))
        )
        """,
        (fn, schema, schema),
    ).fetchone()
    return bool(row and row[0])
