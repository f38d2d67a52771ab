"""Describe a statement that calls a function the schema does not define.

sqlc accepts ``SELECT my_func(id) FROM t`` when the schema has no ``my_func`` and types
the result ``interface{}``; PostgreSQL refuses to prepare it (42883). To describe the
rest of the statement, each missing function gets a stub, inside a transaction that is
always rolled back (the schema's database is shared between runs and must not change):
it takes the argument types PostgreSQL reported (an unknown one, such as a bare ``$1``,
as text).

What it returns is what PostgreSQL itself deduces for a value of unknown type in the
call's place: the statement is prepared once more with the call replaced by a fresh
parameter (``WHERE x > 0 AND f(flags)`` → ``WHERE x > 0 AND $9``), and the type
PostgreSQL gives that parameter (``boolean``) becomes the stub's result type. A real
function is accepted exactly where such a value is: in a boolean context, beside an
operator, under a cast, as the argument of a known function, as an assignment's value,
in ``IN``/``ANY``, a CASE or COALESCE branch… Other missing functions met on the way are
replaced by parameters too. Where PostgreSQL cannot deduce a type (a bare select-list
entry, ``f(x) IS NULL``), the stub returns a marker type (an empty enum), which the
analysis turns into :data:`ANY_TYPE`: the Python type is ``Any``.

Only a name with no function at all is stubbed (a call that matches none of a
function's signatures is an error in sqlc too, or at run time). A call in FROM
(``FROM pragma_page_count()``) is stubbed too; what the statement reads from it is
decided by :mod:`.from_functions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from pglast import ast
from pglast import parser as pgparser
from psycopg import pq

from multica_db_codegen import env
from multica_db_codegen.analyze.describe import Described, DescribeError, describe
from multica_db_codegen.analyze.from_functions import (
    FromItem,
    Learnt,
    describe_from,
    from_item,
    refuse_stars,
)
from multica_db_codegen.analyze.ir import ANY_TYPE
from multica_db_codegen.analyze.standin_result import UNKNOWN_TYPE
from multica_db_codegen.parse.params import child_slots

#: Set to make a call to a function the schema does not define an error (sqlc's
#: ``strict_function_checks``) instead of a warning and an ``Any`` result.
STRICT_FUNCTIONS_ENV = env.STRICT_FUNCTIONS

#: The stubs one statement may need: a bound on the describe-and-retry loop.
MAX_STUBS = 16

_MARKER = "multica_db_any_result"
_MISSING_RE = re.compile(r"^function (?P<name>.+)\((?P<args>.*)\) does not exist$", re.S)
_MISSING_SCHEMA_RE = re.compile(r'^schema "(?P<schema>.+)" does not exist$', re.S)


@dataclass(frozen=True, slots=True)
class Stub:
    """One missing function as the statement calls it."""

    name: tuple[str, ...]  # schema-qualified when the call is
    args: tuple[str, ...]  # "integer", "text", 'a integer' (a named argument)
    offset: int  # the call's 0-based offset in the SQL sent (the caller may make it the file's)
    signature: str  # as PostgreSQL wrote it: my_func(integer)
    # the SQL type it returns, as deduced from where it is called; None: unknown (Any)
    returns: str | None = None
    # how FROM uses it, when it is a FROM item (its result is a set of rows)
    from_item: FromItem | None = None


strict = env.strict_functions


def missing_function(
    conn: psycopg.Connection[Any],
    tree: Any,
    exc: DescribeError,
    stubs: Sequence[Stub],
    sql: str | None = None,
) -> Stub | None:
    """The stub that would get past ``exc``, or ``None`` when ``exc`` is another problem.

    ``sql`` (the SQL sent) lets a call into a schema that does not exist be stubbed too:
    ``pgmq.send(…)`` when the schema's ``CREATE EXTENSION pgmq`` was skipped, which sqlc
    accepts as it accepts any unknown function. PostgreSQL names the missing schema
    before the function's argument types, so those are asked again with the schema made
    (in a transaction that is rolled back)."""
    if sql is not None:
        exc = _past_missing_schema(conn, tree, exc, stubs, sql)
    m = _MISSING_RE.match(exc.message)
    if m is None or exc.position is None or len(stubs) >= MAX_STUBS:
        return None
    call = _call_at(tree, exc.position - 1)
    if call is None:
        return None
    item = from_item(tree, call)
    name = tuple(str(n.sval) for n in call.funcname)
    types = _split_args(m.group("args"))
    if len(types) != len(call.args or ()) or call.agg_star or call.func_variadic:
        return None
    args = tuple(_arg(t) for t in types)
    if any(s.name == name and s.args == args for s in stubs) or _name_exists(conn, name):
        return None  # stubbed already (and still refused), or only the signature differs
    # a stub's result passed on reads as sqlc would type it
    signature = f"{m.group('name')}({m.group('args')})".replace(_MARKER, "any")
    return Stub(name, args, exc.position - 1, signature, from_item=item)


def _past_missing_schema(
    conn: psycopg.Connection[Any],
    tree: Any,
    exc: DescribeError,
    stubs: Sequence[Stub],
    sql: str,
) -> DescribeError:
    """``exc`` when it is not about the schema of the function called where it points;
    else the error PostgreSQL gives once that schema exists (the function's, with the
    argument types), the schema made in a transaction that is rolled back."""
    m = _MISSING_SCHEMA_RE.match(exc.message)
    if m is None or exc.position is None:
        return exc
    call = _call_at(tree, exc.position - 1)
    name = tuple(str(n.sval) for n in call.funcname) if call is not None else ()
    if len(name) != 2 or name[0] != m.group("schema"):
        return exc
    with _stubbed(conn, stubs, schemas=(name[0],)):
        try:
            describe(conn, sql)
        except DescribeError as again:
            if again.position == exc.position:
                return again
    return exc


@contextmanager
def _stubbed(
    conn: psycopg.Connection[Any],
    stubs: Sequence[Stub],
    schemas: Sequence[str] = (),
    casts: Sequence[str] = (),
) -> Iterator[tuple[int, set[int]]]:
    """The stubs defined, in a transaction that is rolled back; yields the marker's OID
    and those of every type made for them (the marker's included): all read as "any".

    The schemas their qualified names need are made too when missing (an extension's
    schema, the extension skipped), and ``schemas``."""
    with conn.transaction(force_rollback=True):
        # The schema's database is read-only by default; this one transaction may write
        # because it is always rolled back.
        conn.execute("SET TRANSACTION READ WRITE")
        conn.execute("SET LOCAL check_function_bodies = off")
        needed = {*schemas, *(s.name[0] for s in stubs if len(s.name) == 2)}
        for schema in sorted(needed):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}".encode())
        # not a domain: PostgreSQL describes a domain's column as its base type
        conn.execute(f"CREATE TYPE {_quote(_MARKER)} AS ENUM ()".encode())
        made = [_MARKER]
        for i, s in enumerate(stubs):
            name = ".".join(_quote(n) for n in s.name)
            returns = s.returns or _quote(_MARKER)
            if s.from_item is not None:
                returns = f"SETOF {_quote(_MARKER)}"
                if s.from_item.record:
                    returns = "SETOF record"
                elif s.from_item.colnames:  # AS p(a, b): a row of that many columns
                    row = f"{_MARKER}_row_{i}"
                    fields = ", ".join(
                        f"{_quote(c)} {_quote(_MARKER)}" for c in s.from_item.colnames
                    )
                    conn.execute(f"CREATE TYPE {_quote(row)} AS ({fields})".encode())
                    made.append(row)
                    returns = f"SETOF {_quote(row)}"
            create = (
                f"CREATE FUNCTION {name}({', '.join(s.args)}) "
                f"RETURNS {returns} LANGUAGE sql AS 'SELECT NULL'"
            )
            conn.execute(create.encode())
        for target in casts:  # a schema stand-in's result, compared with a typed value
            conn.execute(
                f"CREATE CAST ({UNKNOWN_TYPE} AS {target}) WITH INOUT AS IMPLICIT".encode()
            )
        oids = [_type_oid(conn, t) for t in made]
        yield oids[0], set(oids) - {0}


def describe_stubbed(
    conn: psycopg.Connection[Any],
    text: str,
    stubs: Sequence[Stub],
    learnt: Learnt | None = None,
    *,
    stars: bool = True,
    casts: Sequence[str] = (),
) -> Described:
    """Describe ``text`` with the stubs defined, in a transaction that is rolled back.

    ``learnt`` receives the columns read from stubbed FROM items. ``stars``: refuse
    ``SELECT *`` over a stubbed FROM item (its columns are unknown); False where the
    rows are never read (``:exec``, ``:execrows``…), as sqlc accepts it there."""
    if not stubs and not casts:
        return describe(conn, text)
    items = [s.from_item for s in stubs if s.from_item is not None]
    if items and stars:
        refused = refuse_stars(
            pgparser.parse_sql(text),
            [(s.from_item.ref, s.from_item, s.signature) for s in stubs if s.from_item],
        )
        if refused is not None:
            raise refused
    with _stubbed(conn, stubs, casts=casts) as (marker, made):
        if items:
            described = describe_from(conn, text, items, marker, _MARKER, learnt or Learnt())
        else:
            described = describe(conn, text)
    return replace(
        described,
        columns=tuple(
            replace(c, type_oid=ANY_TYPE.oid) if c.type_oid in made else c
            for c in described.columns
        ),
    )


def _type_oid(conn: psycopg.Connection[Any], name: str) -> int:
    row = conn.execute("SELECT to_regtype(%s)::oid::int", (_quote(name),)).fetchone()
    return int(row[0]) if row and row[0] else 0


#: Parameters a probe may add (other missing functions in the way) or type as text.
_MAX_PROBES = 32


def typed(conn: psycopg.Connection[Any], sql: str, stub: Stub, stubs: Sequence[Stub]) -> Stub:
    """``stub`` returning what PostgreSQL deduces for an unknown value in its call's place.

    ``sql`` is the SQL sent (``stub.offset`` is in it); ``stubs`` are defined meanwhile.
    The call is replaced by a fresh parameter padded to the call's length, so every
    offset stays where the parse tree has it. Another missing function the probe meets
    is replaced by a parameter as well, and a parameter that only the replaced calls
    used is declared text (its type does not matter here).
    """
    try:
        tree = pgparser.parse_sql(sql)
    except pgparser.ParseError:
        return stub
    numbers = [int(sql[t.start + 1 : t.end + 1]) for t in pgparser.scan(sql) if t.name == "PARAM"]
    probe = max(numbers, default=0) + 1
    target = _replace_call(sql, stub.offset, probe)
    if target is None:
        return stub
    text, span = target
    param_types = [0] * probe
    next_param = probe + 1
    with _stubbed(conn, stubs) as (marker, _):
        # First with the marker type: where any type will do (a bare select-list entry,
        # ORDER BY, ``IS NULL``), PostgreSQL would still pick text for an unknown value,
        # but nothing there says what the function returns.
        opaque = True
        for _ in range(_MAX_PROBES):
            if opaque:
                param_types[probe - 1] = marker
            conn.execute("SAVEPOINT multica_db_probe")
            res = conn.pgconn.prepare(b"", text.encode(), param_types=param_types)
            if res.status != pq.ExecStatus.COMMAND_OK:
                conn.execute("ROLLBACK TO SAVEPOINT multica_db_probe")
            if opaque and (res.status == pq.ExecStatus.COMMAND_OK or not _resolves(res, probe)):
                opaque = False
                if res.status == pq.ExecStatus.COMMAND_OK:
                    return stub  # any type will do here
                param_types[probe - 1] = 0
                continue
            if res.status == pq.ExecStatus.COMMAND_OK:
                described = conn.pgconn.describe_prepared(b"")
                if described.status != pq.ExecStatus.COMMAND_OK:
                    return stub
                oid = described.param_type(probe - 1)
                if oid in (0, marker, _UNKNOWN_OID):
                    return stub
                row = conn.execute("SELECT format_type(%s, NULL)", (oid,)).fetchone()
                return replace(stub, returns=str(row[0])) if row and row[0] else stub
            message = (res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
            position = res.error_field(pq.DiagnosticField.STATEMENT_POSITION)
            untyped = _UNTYPED_RE.match(message)
            missing = _MISSING_RE.match(message)
            if untyped is not None and int(untyped.group(1)) != probe:
                param_types[int(untyped.group(1)) - 1] = _TEXT_OID
                continue
            if missing is None or position is None:
                return stub  # PostgreSQL cannot tell (or refuses the place): Any
            offset = int(position) - 1
            call = _call_at(tree, offset)
            name = tuple(str(n.sval) for n in call.funcname) if call is not None else ()
            if call is None or from_item(tree, call) is not None or _name_exists(conn, name):
                return stub
            other = _replace_call(text, offset, next_param)
            if other is None or (other[1][0] <= span[0] and span[1] <= other[1][1]):
                return stub  # the call is inside the other one's arguments
            text = other[0]
            param_types.append(0)
            next_param += 1
    return stub


def explained(exc: DescribeError) -> DescribeError:
    """PostgreSQL's refusal of a statement whose stubbed function returns "any type".

    Where neither a type nor "any" passes (``sum(f(x))``: several types would, and
    PostgreSQL cannot choose), the message names the marker type: say what it stands
    for, and how to get past it.
    """
    if _MARKER not in exc.message:
        return exc
    return DescribeError(
        exc.message.replace(_MARKER, "any"),
        exc.position,
        "a function the schema does not define is used where PostgreSQL needs its type "
        "and cannot tell it from the place: cast its result (f(x)::integer), or add the "
        "function to the schema",
        exc.detail,
        exc.sqlstate,
    )


def _resolves(res: pq.abc.PGresult, probe: int) -> bool:
    """The probe's error is one the loop resolves (an untyped parameter, another missing
    function) rather than the marker type being refused where the call is."""
    message = (res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
    untyped = _UNTYPED_RE.match(message)
    if untyped is not None:
        return int(untyped.group(1)) != probe
    return _MISSING_RE.match(message) is not None and _MARKER not in message


_UNTYPED_RE = re.compile(r"^could not determine data type of parameter \$(\d+)$")
_TEXT_OID = 25
_UNKNOWN_OID = 705


def _replace_call(sql: str, offset: int, number: int) -> tuple[str, tuple[int, int]] | None:
    """``sql`` with the call at ``offset`` replaced by ``$number`` padded to its length."""
    depth = 0
    end = None
    for t in pgparser.scan(sql):
        if t.start < offset:
            continue
        if t.name == "ASCII_40":
            depth += 1
        elif t.name == "ASCII_41":
            depth -= 1
            if depth == 0:
                end = t.end + 1
                break
        elif depth == 0 and t.name not in ("IDENT", "ASCII_46") and t.kind == "RESERVED_KEYWORD":
            return None
    param = f"${number}"
    if end is None or end - offset < len(param):
        return None
    return sql[:offset] + param.ljust(end - offset) + sql[end:], (offset, end)


def _call_at(tree: Any, offset: int) -> Any:
    """The function call PostgreSQL's error points at."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FuncCall) and node.location == offset:
            return node
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
              AND p.prorettype IS DISTINCT FROM to_regtype(%s)
        )
        """,
        (fn, schema, schema, UNKNOWN_TYPE),
    ).fetchone()
    return bool(row and row[0])
