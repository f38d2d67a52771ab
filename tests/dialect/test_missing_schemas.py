"""Schemas the migrations create things in but never create, and embeds in set operations.

Both come from a real project whose tables live in a schema an init script of its
database image makes (``SET search_path TO backend``, ``CREATE TABLE backend.users``),
and whose queries embed a table in each arm of a ``UNION ALL``: sqlc reads both, so the
analysis creates the missing schema with a warning, and a set operation's embeds are its
first arm's, nullable when any arm's relation is on an outer join's NULL-extended side.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.analyze.missing_schemas import named_schemas, split_search_path
from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.analyze.script import parse_one
from multica_db_codegen.errors import GenerateError, GenerateErrors
from multica_db_codegen.processors import run_generate
from tests.dialect.harness import database_with, generate, write_project
from tests.pg import fresh_database

Conn = psycopg.Connection[tuple[object, ...]]

SCHEMA = """\
SET search_path TO backend;

CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA backend;

CREATE TYPE backend.access_level AS ENUM ('member', 'owner');

CREATE TABLE IF NOT EXISTS backend.organizations (
    id serial PRIMARY KEY,
    name text NOT NULL,
    user_id int NOT NULL
);

-- unqualified, under the search path above
CREATE TABLE organization_users (
    org_id int NOT NULL REFERENCES backend.organizations (id),
    user_id int NOT NULL,
    level backend.access_level NOT NULL
);

CREATE OR REPLACE FUNCTION audit.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RETURN NEW; END $$;
"""

QUERIES = """\
-- name: AddOrganization :one
INSERT INTO backend.organizations (name, user_id) VALUES (@name, @user_id) RETURNING *;

-- name: AddMember :exec
INSERT INTO backend.organization_users (org_id, user_id, level)
VALUES (@org_id, @user_id, 'member');

-- name: UserOrganizations :many
SELECT sqlc.embed(o), 'owner'::backend.access_level AS level
FROM backend.organizations o WHERE o.user_id = $1
UNION ALL
SELECT sqlc.embed(o), ou.level
FROM backend.organizations o JOIN backend.organization_users ou ON o.id = ou.org_id
WHERE ou.user_id = $1
ORDER BY level, name;

-- name: MembersMaybeWithOrganization :many
SELECT ou.user_id, sqlc.embed(o) FROM backend.organization_users ou
JOIN backend.organizations o ON o.id = ou.org_id
UNION ALL
SELECT ou.user_id, sqlc.embed(o) FROM backend.organization_users ou
LEFT JOIN backend.organizations o ON o.id = ou.org_id + 1000
ORDER BY 1;
"""


def test_a_schema_created_outside_the_migrations_generates_and_runs(
    tmp_path: Path, pg_server: str
) -> None:
    write_project(tmp_path, schema={"schema.sql": SCHEMA}, queries={"q.sql": QUERIES}, package="ms")
    result = run_generate(cwd=tmp_path, database_url=pg_server)
    schema_file = tmp_path / "schema" / "schema.sql"
    notes = [w.removeprefix(f"{schema_file}:") for w in result.warnings if "schema.sql:" in w]
    assert any('schema "backend" does not exist' in n for n in notes), notes
    assert any('schema "audit" does not exist' in n for n in notes), notes

    gen = generate(tmp_path, pg_server, "ms")
    gen.mypy()
    gen.ruff()
    q = gen.module("queries.q")
    rows = q.UserOrganizationsRow.model_fields
    assert rows["organization"].annotation is gen.module("models").BackendOrganization
    maybe = q.MembersMaybeWithOrganizationRow.model_fields
    assert maybe["organization"].annotation == gen.module("models").BackendOrganization | None

    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        mine = q.add_organization(conn, name="mine", user_id=1)
        theirs = q.add_organization(conn, name="theirs", user_id=2)
        q.add_member(conn, org_id=theirs.id, user_id=1)
        got = q.user_organizations(conn, user_id=1)
        assert [(r.organization.name, r.level) for r in got] == [
            ("theirs", "member"),
            ("mine", "owner"),
        ]
        assert got[1].organization == mine
        both = q.members_maybe_with_organization(conn)
        assert sorted(((r.user_id, r.organization) for r in both), key=str) == sorted(
            [(1, theirs), (1, None)], key=str
        )


def test_an_embed_out_of_place_in_a_later_arm_is_reported(tmp_path: Path, pg_server: str) -> None:
    queries = (
        "-- name: Misplaced :many\n"
        "SELECT 0 AS k, sqlc.embed(o) FROM backend.organizations o\n"
        "UNION ALL\n"
        "SELECT 1, o.* FROM backend.organizations o\n"
        "UNION ALL\n"
        "SELECT sqlc.embed(o), 2 FROM backend.organizations o;\n"
    )
    write_project(
        tmp_path,
        schema={"schema.sql": "CREATE TABLE backend.organizations (id int, n int);\n"},
        queries={"q.sql": queries},
        package="mx",
    )
    with pytest.raises(GenerateErrors, match="later arm of a UNION") as err:
        run_generate(cwd=tmp_path, database_url=pg_server)
    assert "q.sql:6:8" in str(err.value) and "Misplaced" in str(err.value)


@pytest.fixture
def scratch(pg_server: str) -> Iterator[Conn]:
    with (
        fresh_database(pg_server, prefix="multica_schemas") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        yield conn


def test_a_query_of_a_schema_nothing_names_stays_an_error(tmp_path: Path, pg_server: str) -> None:
    write_project(
        tmp_path,
        schema={"schema.sql": "CREATE TABLE t (id int);\n"},
        queries={"q.sql": "-- name: Elsewhere :many\nSELECT * FROM nowhere.t;\n"},
        package="mn",
    )
    with pytest.raises(GenerateErrors, match=r'relation "nowhere\.t" does not exist'):
        run_generate(cwd=tmp_path, database_url=pg_server)


def test_dropping_from_a_schema_that_does_not_exist_makes_no_schema(
    tmp_path: Path, scratch: Conn
) -> None:
    path = tmp_path / "s.sql"
    path.write_text("CREATE TABLE t (id int);\nDROP TABLE nowhere.t;\n")
    with pytest.raises(GenerateError, match='schema "nowhere" does not exist'):
        apply_schema(scratch, load_schema([path]))


_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20
).filter(
    lambda s: (
        s.strip() == s
        and len(s.encode()) <= 63  # longer names are truncated by PostgreSQL
        and not s.startswith("pg_")  # reserved for the system
        and s not in ("information_schema", "$user", "public")
    )
)

_statements = [
    "CREATE TABLE {q}t (id int PRIMARY KEY, n int)",
    "CREATE TYPE {q}mood AS ENUM ('a', 'b')",
    "CREATE DOMAIN {q}pos AS int CHECK (VALUE > 0)",
    "CREATE SEQUENCE {q}s",
    "CREATE VIEW {q}v AS SELECT 1 AS one",
    "CREATE FUNCTION {q}f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE TYPE {q}pair AS (a int, b text)",
]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ('"$user", public', ["$user", "public"]),
        ('Backend, "Mixed Case","a,b" ,"q""uote"', ["backend", "Mixed Case", "a,b", 'q"uote']),
        ("", []),
    ],
)
def test_search_path_values_split_as_postgresql_reads_them(value: str, names: list[str]) -> None:
    assert split_search_path(value) == names


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=_names, which=st.sampled_from(range(len(_statements))), via_path=st.booleans())
def test_any_schema_name_is_created_as_written(
    tmp_path: Path, scratch: Conn, name: str, which: int, via_path: bool
) -> None:
    """The schema a creating statement names, qualified or through the search path, is
    created with exactly its name (quoting, case, unicode), and the statement runs."""
    scratch.execute(f"DROP SCHEMA IF EXISTS {_quoted(name)} CASCADE".encode())
    if via_path:
        statement = _statements[which].format(q="")
        text = f"SET search_path TO {_quoted(name)};\n{statement};\n"
    else:
        statement = _statements[which].format(q=_quoted(name) + ".")
        text = statement + ";\n"
        assert named_schemas(parse_one(statement)) == [name]
    path = tmp_path / "s.sql"
    path.write_text(text, encoding="utf-8")
    notes = apply_schema(scratch, load_schema([path]))
    assert any(f'schema "{name}" does not exist' in n for n in notes), notes
    made = scratch.execute(
        "SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid)"
        " + (SELECT count(*) FROM pg_type t WHERE t.typnamespace = n.oid)"
        " + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid)"
        " FROM pg_namespace n WHERE n.nspname = %s",
        (name,),
    ).fetchone()
    assert made is not None and int(str(made[0])) > 0
    scratch.execute(b"RESET search_path")
