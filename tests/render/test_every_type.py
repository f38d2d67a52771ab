"""Every type PostgreSQL can describe gets a Python type: nothing in pg_type is refused.

Each built-in base type of the server's own catalog (and ``record``) is selected as a
value, alone and in an array, and sent back as a parameter: the package generates,
passes ``mypy --strict`` and ruff, and each call returns exactly what psycopg itself
gives for the same statement. Types without a psycopg loader (``regclass``, ``pg_lsn``,
``point``…) are their text form, ``str``; an extension's type nobody maps is too, with a
warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.processors import run_generate
from tests.dialect.harness import Generated, database_with, forget, generate, write_project

#: Literals for types whose input no generic candidate satisfies.
LITERALS = {
    "bool": "true",
    "bytea": "'\\x0102'",
    "char": "'c'",
    "name": "'a_name'",
    "int2vector": "'1 2'",
    "oidvector": "'23 25'",
    "regproc": "'now'",
    "regprocedure": "'now()'",
    "regoper": "'||/'",
    "regoperator": "'+(integer,integer)'",
    "regclass": "'pg_class'",
    "regtype": "'integer'",
    "regconfig": "'english'",
    "regdictionary": "'simple'",
    "regnamespace": "'pg_catalog'",
    "regrole": "'postgres'",
    "regcollation": "'\"C\"'",
    "tid": "'(0,1)'",
    "json": "'{\"a\": [1, null]}'",
    "jsonb": "'{\"a\": [1, null]}'",
    "jsonpath": "'$.a'",
    "xml": "'<a>1</a>'",
    "point": "'(1,2)'",
    "line": "'{1,2,3}'",
    "lseg": "'[(1,2),(3,4)]'",
    "box": "'(3,4),(1,2)'",
    "path": "'[(1,2),(3,4)]'",
    "polygon": "'((1,2),(3,4),(5,1))'",
    "circle": "'<(1,2),3>'",
    "cidr": "'10.1.0.0/16'",
    "inet": "'10.1.2.3/24'",
    "macaddr": "'08:00:2b:01:02:03'",
    "macaddr8": "'08:00:2b:01:02:03:04:05'",
    "money": "'12.34'",
    "date": "'2024-02-29'",
    "time": "'12:34:56.789'",
    "timetz": "'12:34:56+02'",
    "timestamp": "'2024-02-29 12:34:56'",
    "timestamptz": "'2024-02-29 12:34:56+00'",
    "interval": "'1 day 02:03:04'",
    "bit": "B'1'",
    "varbit": "B'10110'",
    "numeric": "'12.50'",
    "uuid": "'00000000-0000-0000-0000-0000000000a1'",
    "txid_snapshot": "'10:20:10,14,15'",
    "pg_snapshot": "'10:20:10,14,15'",
    "pg_lsn": "'16/B374D848'",
    "tsvector": "'a fat cat'",
    "tsquery": "'fat & rat'",
    "aclitem": "'postgres=arwdDxt/postgres'",
    "refcursor": "'cur'",
    "record": "ROW(1, 'a', NULL)",
    "cstring": "'c'",
    "unknown": "'u'",
}

#: Tried, in order, for any other type.
CANDIDATES = ["'1'", "'0'", "'a'", "''", "'{}'", "'(1,2)'", "'0/0'"]


@dataclass(frozen=True)
class PgType:
    oid: int
    sql: str  # format_type(oid, NULL)
    name: str
    literal: str  # a value's SQL (NULL::t when no literal is accepted)
    has_array: bool
    round_trips: bool  # a parameter of this type takes the value back


def _accepts(conn: psycopg.Connection[Any], sql: str) -> bool:
    conn.execute("SAVEPOINT probe")
    try:
        cur = conn.execute(sql.encode())
        if cur.description is not None:
            cur.fetchall()
    except psycopg.Error:
        conn.execute("ROLLBACK TO SAVEPOINT probe")
        return False
    conn.execute("RELEASE SAVEPOINT probe")
    return True


def catalog_types(url: str) -> list[PgType]:
    """Every base type of pg_catalog with an input and an output function, and record."""
    out: list[PgType] = []
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT t.oid::int, format_type(t.oid, NULL), t.typname, t.typarray <> 0
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = 'pg_catalog' AND t.typisdefined
              AND t.typinput <> 0 AND t.typoutput <> 0
              AND (t.typtype = 'b' OR t.typname IN ('record', 'cstring', 'unknown'))
              AND (t.typcategory <> 'A' OR t.typname IN ('int2vector', 'oidvector'))
            ORDER BY t.oid
            """
        ).fetchall()
        for oid, sql, name, has_array in rows:
            tries = [LITERALS[name]] if name in LITERALS else CANDIDATES
            literal = next(
                (f"({lit})::{sql}" for lit in tries if _accepts(conn, f"SELECT ({lit})::{sql}")),
                f"NULL::{sql}",
            )
            array = has_array and _accepts(conn, f"SELECT ARRAY[{literal}]")
            back = _accepts(conn, f"PREPARE p AS SELECT $1::{sql}") and name not in (
                "unknown",
                "cstring",
            )
            if back:
                conn.execute("DEALLOCATE p")
            if not _accepts(conn, f"SELECT {literal}"):
                continue  # nothing can produce a value of it in a select list
            out.append(PgType(oid, sql, name, literal, array, back))
        conn.rollback()
    return out


@pytest.fixture(scope="module")
def types(pg_server: str) -> list[PgType]:
    found = catalog_types(pg_server)
    names = {t.name for t in found}
    assert {"regclass", "pg_lsn", "tsvector", "point", "money", "record", "xid"} <= names
    return found


def _queries(chosen: list[PgType]) -> str:
    out: list[str] = []
    for i, t in enumerate(chosen):
        cols = [f"{t.literal} AS v"]
        if t.has_array:
            cols.append(f"ARRAY[{t.literal}] AS a")
        out.append(f"-- name: Get{i} :one\nSELECT {', '.join(cols)};\n")
        if t.round_trips:
            out.append(f"-- name: Back{i} :one\nSELECT sqlc.arg(p)::{t.sql} AS v;\n")
    return "\n".join(out)


def _check(gen: Generated, url: str, chosen: list[PgType]) -> None:
    q = gen.module("queries.q")
    with psycopg.connect(url) as conn:
        for i, t in enumerate(chosen):
            row = conn.execute(f"SELECT {t.literal}".encode()).fetchone()
            assert row is not None
            # the array holds the one value (psycopg alone gives text for an array type
            # it has no loader for; the generated code gives the list)
            expected = (row[0], [row[0]]) if t.has_array else (row[0],)
            got = getattr(q, f"get{i}")(conn)
            values = (got.v, got.a) if t.has_array else (got,)
            assert values == expected, t
            if t.round_trips:
                assert getattr(q, f"back{i}")(conn, p=values[0]) == expected[0], t


def _generate(
    root: Path, url: str, chosen: list[PgType], package: str
) -> tuple[Generated, tuple[str, ...]]:
    write_project(
        root,
        schema={"schema.sql": "SELECT 1;\n"},
        queries={"q.sql": _queries(chosen)},
        package=package,
    )
    forget(package)
    warnings = run_generate(cwd=root, database_url=url).warnings
    return generate(root, url, package), warnings


def test_every_catalog_type(tmp_path: Path, pg_server: str, types: list[PgType]) -> None:
    gen, warnings = _generate(tmp_path, pg_server, types, "alltypes")
    # every built-in type has its mapping: no text-form warning for any of them
    assert not [w for w in warnings if "no Python type of its own" in w]
    gen.mypy()
    gen.ruff()
    _check(gen, pg_server, types)


def test_an_unmapped_extension_type_is_its_text_form(tmp_path: Path, pg_server: str) -> None:
    """A base type nobody maps (here made by the schema, as an extension's would be)."""
    schema = (
        "CREATE TYPE opaque_t;\n"
        "CREATE FUNCTION opaque_in(cstring) RETURNS opaque_t\n"
        "    LANGUAGE internal IMMUTABLE STRICT AS 'textin';\n"
        "CREATE FUNCTION opaque_out(opaque_t) RETURNS cstring\n"
        "    LANGUAGE internal IMMUTABLE STRICT AS 'textout';\n"
        "CREATE TYPE opaque_t (INPUT = opaque_in, OUTPUT = opaque_out, LIKE = text);\n"
        "CREATE TABLE holder (id int PRIMARY KEY, o opaque_t NOT NULL, os opaque_t[]);\n"
    )
    queries = (
        "-- name: Get :one\nSELECT o, os FROM holder WHERE id = $1;\n"
        "-- name: Put :exec\nINSERT INTO holder (id, o, os) VALUES ($1, $2, $3);\n"
    )
    write_project(
        tmp_path, schema={"schema.sql": schema}, queries={"q.sql": queries}, package="opq"
    )
    warnings = run_generate(cwd=tmp_path, database_url=pg_server).warnings
    assert [w.split(": ", 2)[-1] for w in warnings if "opaque_t" in w] == [
        "PostgreSQL type opaque_t has no Python type of its own: its values are its text form "
        '(str); to choose one, add [[tool.multica-db.overrides]] db_type = "opaque_t" '
        'python_type = "module.Type"'
    ] * 2
    gen = generate(tmp_path, pg_server, "opq")
    gen.mypy()
    q = gen.module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        q.put(conn, id=1, o="hello", os=["a", "b c"])
        row = q.get(conn, id=1)
        assert row is not None and (row.o, row.os) == ("hello", ["a", "b c"])


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_type_mixes(
    tmp_path_factory: pytest.TempPathFactory,
    pg_server: str,
    types: list[PgType],
    data: st.DataObject,
) -> None:
    """Any few types together (one module, shared imports): generated, imported and run."""
    chosen = data.draw(st.lists(st.sampled_from(types), min_size=1, max_size=8))
    root = tmp_path_factory.mktemp("typemix")
    gen, _ = _generate(root, pg_server, chosen, "typemix")
    gen.ruff()
    _check(gen, pg_server, chosen)
