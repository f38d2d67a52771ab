"""Types a schema uses but never creates, as sqlc accepts them.

An enum made by another service's migrations, an extension installed by the database
image (PostGIS, citext, pgvector), a type name of another engine (CockroachDB's
``STRING(64)``): sqlc reads such columns as "any"; the analysis gets a stand-in for
each (the extension, its stand-in, or a domain), with a warning, and the queries over
them generate and run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.processors import run_generate
from tests.dialect.harness import database_with, generate, write_project
from tests.pg import fresh_database

Conn = psycopg.Connection[tuple[object, ...]]

SCHEMA = """\
CREATE TABLE account (
    id bigint PRIMARY KEY,
    handle STRING(64) NOT NULL,
    avatar BYTES,
    currency currency NOT NULL,
    accepted currency[] NOT NULL DEFAULT '{}',
    email citext
);

CREATE TABLE follow (
    follower STRING NOT NULL REFERENCES account (handle),
    followed bigint NOT NULL REFERENCES account (id)
);
"""

QUERIES = """\
-- name: CreateAccount :one
INSERT INTO account (id, handle, avatar, currency, accepted, email)
VALUES (@id, @handle, @avatar, @currency, @accepted, @email)
RETURNING *;

-- name: ByCurrency :many
SELECT id, handle, currency FROM account WHERE currency = @currency ORDER BY id;

-- name: Follow :exec
INSERT INTO follow (follower, followed) VALUES (@follower, @followed);
"""


@pytest.fixture
def scratch(pg_server: str) -> Iterator[Conn]:
    with (
        fresh_database(pg_server, prefix="multica_types") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        yield conn


def _column_types(conn: Conn, relation: str) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
        (relation,),
    ).fetchall()


def test_a_schema_using_types_it_never_creates_generates_and_runs(
    tmp_path: Path, pg_server: str
) -> None:
    write_project(tmp_path, schema={"schema.sql": SCHEMA}, queries={"q.sql": QUERIES}, package="mt")
    result = run_generate(cwd=tmp_path, database_url=pg_server)
    schema_file = tmp_path / "schema" / "schema.sql"
    notes = [w.removeprefix(f"{schema_file}:") for w in result.warnings if "schema.sql:" in w]
    assert len(notes) == 6, notes
    assert any('1: type "string" does not exist in PostgreSQL: CockroachDB' in n for n in notes)
    assert any('1: type "bytes"' in n and "domain over bytea" in n for n in notes)
    assert any(
        '1: type "currency" does not exist: the schema never creates it' in n
        and "domain over text" in n
        for n in notes
    )
    assert any(
        '1: type "citext" does not exist: it is citext\'s' in n and "CREATE EXTENSION citext" in n
        for n in notes
    )
    assert any("1: type modifiers of the stand-in types left out" in n for n in notes)
    assert any(
        "10: there is no unique constraint matching given keys" in n
        and "foreign key of follower" in n
        for n in notes
    )

    gen = generate(tmp_path, pg_server, "mt")
    fields = gen.module("models").Account.model_fields
    assert fields["handle"].annotation is str
    assert fields["avatar"].annotation == bytes | None
    assert fields["currency"].annotation is str
    assert fields["accepted"].annotation == list[str | None]
    assert fields["email"].annotation == str | None
    gen.mypy()
    gen.ruff()

    q = gen.module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        made = q.create_account(
            conn,
            id=1,
            handle="ada",
            avatar=b"\x00\x01",
            currency="EUR",
            accepted=["EUR", "USD"],
            email="Ada@Example.org",
        )
        assert (made.handle, made.avatar, made.currency, made.accepted, made.email) == (
            "ada",
            b"\x00\x01",
            "EUR",
            ["EUR", "USD"],
            "Ada@Example.org",
        )
        q.create_account(
            conn, id=2, handle="bob", avatar=None, currency="USD", accepted=[], email=None
        )
        assert [(r.id, r.currency) for r in q.by_currency(conn, currency="USD")] == [(2, "USD")]
        q.follow(conn, follower="ada", followed=2)


def test_an_extension_type_without_its_create_extension(tmp_path: Path, scratch: Conn) -> None:
    """The server's extension when it has one (hstore, ltree), else its stand-in (PostGIS,
    pgvector), in the schema the name is qualified with, made when missing."""
    path = tmp_path / "s.sql"
    path.write_text(
        "CREATE TABLE place (\n"
        "    id int PRIMARY KEY,\n"
        "    attrs hstore,\n"
        "    path ltree NOT NULL,\n"
        "    location geography(Point, 4326),\n"
        "    embedding extensions.vector(3)\n"
        ");\n"
    )
    available = {
        str(r[0])
        for r in scratch.execute(
            "SELECT name FROM pg_available_extensions "
            "WHERE name IN ('hstore', 'ltree', 'postgis', 'vector')"
        ).fetchall()
    }
    notes = apply_schema(scratch, load_schema([path]))
    assert {"hstore", "ltree"} <= available
    for extension in ("hstore", "ltree", "postgis", "vector"):
        made = (
            f"CREATE EXTENSION {extension} was run for it"
            if extension in available
            else "stand-ins of its types and functions were created"
        )
        assert any(f"it is {extension}'s" in n and made in n for n in notes), (extension, notes)
    assert any('schema "extensions" does not exist' in n for n in notes), notes
    cols = _column_types(scratch, "place")
    # the stand-in keeps PostGIS's modifier as a number (it has no typmod_out)
    assert str(cols[3][1]).startswith("geography(")
    assert cols[:3] + cols[4:] == [
        ("id", "integer"),
        ("attrs", "hstore"),
        ("path", "ltree"),
        ("embedding", "extensions.vector(3)"),
    ]
    installed = {
        str(r[0])
        for r in scratch.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'")
    }
    assert installed == {"hstore", "ltree", "postgis", "vector"} & available


def test_a_type_a_later_file_creates_is_not_stood_in(tmp_path: Path, scratch: Conn) -> None:
    """Nothing changes for a schema that creates its types before using them."""
    path = tmp_path / "s.sql"
    path.write_text(
        "CREATE TYPE mood AS ENUM ('ok', 'sad');\n"
        "CREATE TABLE t (m mood NOT NULL, n varchar(10), id serial PRIMARY KEY);\n"
    )
    assert apply_schema(scratch, load_schema([path])) == []
    assert _column_types(scratch, "t") == [
        ("m", "mood"),
        ("n", "character varying(10)"),
        ("id", "integer"),
    ]


def test_dropping_a_type_that_does_not_exist_stays_an_error(tmp_path: Path, scratch: Conn) -> None:
    path = tmp_path / "s.sql"
    path.write_text("CREATE TABLE t (id int);\nDROP TYPE never_made;\n")
    with pytest.raises(GenerateError, match='type "never_made" does not exist'):
        apply_schema(scratch, load_schema([path]))


_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12).filter(
    lambda w: not w.startswith("pg_")
)


@st.composite
def columns(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """(column, its type as written, the type PostgreSQL then shows) for a table mixing
    known types with names no schema made, in any spelling."""
    out: list[tuple[str, str, str]] = []
    for i in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            known = draw(st.sampled_from(["int", "text", "varchar(7)", "uuid", "jsonb"]))
            shown = {"int": "integer", "varchar(7)": "character varying(7)"}.get(known, known)
            out.append((f"c{i}", known, shown))
            continue
        word = "zz_" + draw(_WORDS)
        quoted = draw(st.booleans())
        name = f'"{word.capitalize()}"' if quoted else word
        shown = f'"{word.capitalize()}"' if quoted else word
        typmod = "(12)" if draw(st.booleans()) else ""
        array = draw(st.sampled_from(["", "[]", " ARRAY"]))
        out.append((f"c{i}", name + typmod + array, shown + ("[]" if array else "")))
    return out


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cols=columns(), not_null=st.booleans())
def test_any_unknown_type_name_gets_a_stand_in(
    tmp_path: Path, scratch: Conn, cols: list[tuple[str, str, str]], not_null: bool
) -> None:
    scratch.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    body = ", ".join(f"{c} {t}{' NOT NULL' if not_null else ''}" for c, t, _ in cols)
    path = tmp_path / "t.sql"
    path.write_text(f"CREATE TABLE t ({body});\n")
    notes = apply_schema(scratch, load_schema([path]))
    assert _column_types(scratch, "t") == [(c, shown) for c, _, shown in cols]
    unknown = {shown.removesuffix("[]") for _, t, shown in cols if t.startswith(("zz_", '"'))}
    stood_in = [n for n in notes if "domain over text stands in" in n]
    assert len(stood_in) == len(unknown), notes
    with_typmod = any("(12)" in t for _, t, _ in cols)
    assert any("type modifiers" in n for n in notes) == with_typmod
    nulls = scratch.execute(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0"
    ).fetchall()
    assert all(bool(r[0]) == not_null for r in nulls)
