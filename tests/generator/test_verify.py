"""``multica-db verify``: real drift on a real database is reported, a clean one passes."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from tests.pg import fresh_database

QUERIES = """-- name: GetAuthor :one
SELECT * FROM author WHERE id = $1;

-- name: ListNames :many
SELECT id, name FROM author ORDER BY id;

-- name: SetMood :exec
UPDATE author SET mood = $1 WHERE id = $2;

-- name: AuthorTags :one
SELECT tags FROM author WHERE id = $1;
"""

SCHEMA = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE author (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    bio text,
    mood mood NOT NULL DEFAULT 'happy',
    tags text[] NOT NULL DEFAULT '{}',
    born date
);
"""

#: Each drift operation, and lines verify must print for it (file:line: subject: message).
DRIFTS: dict[str, tuple[str, list[str]]] = {
    "dropped column": (
        "ALTER TABLE author DROP COLUMN born",
        [
            "queries/authors.sql:1: GetAuthor.born: code says datetime.date | None, "
            "the database returns no such column"
        ],
    ),
    "type change": (
        "ALTER TABLE author ALTER COLUMN tags DROP DEFAULT, "
        "ALTER COLUMN tags TYPE text USING array_to_string(tags, ',')",
        [
            "queries/authors.sql:1: GetAuthor.tags: code says list[str], database says str",
            "queries/authors.sql:10: AuthorTags.tags: code says list[str], database says str",
        ],
    ),
    "NOT NULL dropped": (
        "ALTER TABLE author ALTER COLUMN name DROP NOT NULL",
        [
            "queries/authors.sql:1: GetAuthor.name: code says str, database says str | None",
            "queries/authors.sql:4: ListNames.name: code says str, database says str | None",
        ],
    ),
    "enum label removed": (
        "ALTER TYPE mood RENAME TO mood_old; "
        "CREATE TYPE mood AS ENUM ('happy'); "
        "ALTER TABLE author ALTER COLUMN mood DROP DEFAULT, "
        "ALTER COLUMN mood TYPE mood USING mood::text::mood, "
        "ALTER COLUMN mood SET DEFAULT 'happy'; "
        "DROP TYPE mood_old",
        [
            "queries/authors.sql:7: SetMood.mood: enum mood: database has no label 'sad'",
            "queries/authors.sql:1: GetAuthor.mood: enum mood: database has no label 'sad'",
        ],
    ),
}

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def generated(project: Callable[..., Path], cli: Cli) -> Path:
    """A project whose generated code is committed (current)."""
    root = project(QUERIES, SCHEMA)
    code, _, err = cli(root, "generate")
    assert code == 0, err
    return root


@pytest.fixture
def live(pg_server: str) -> Iterator[str]:
    """A 'staging' database holding the schema the code was generated from."""
    with fresh_database(pg_server, prefix="multica_verify") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)
        yield url


def _drift(url: str, *names: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(DRIFTS[name][0].encode())


def test_a_clean_database_passes(generated: Path, live: str, cli: Cli) -> None:
    code, out, err = cli(generated, "verify", "--database-url", live)
    assert code == 0, out + err
    assert out == ""
    assert "4 queries match the database" in err


@pytest.mark.parametrize("name", list(DRIFTS))
def test_each_drift_is_reported_and_fails(name: str, generated: Path, live: str, cli: Cli) -> None:
    _drift(live, name)
    code, out, err = cli(generated, "verify", "--database-url", live)
    assert code == 1, out + err
    lines = out.splitlines()
    for expected in DRIFTS[name][1]:
        assert expected in lines, out
    assert "drift(s) in 4 queries" in err


def test_verify_executes_nothing_and_needs_only_a_read_only_role(
    project: Callable[..., Path], cli: Cli, live: str
) -> None:
    root = project(
        QUERIES
        + "\n-- name: AddAuthor :one\nINSERT INTO author (name) VALUES ($1) RETURNING id;\n",
        SCHEMA,
    )
    assert cli(root, "generate")[0] == 0
    role = f"verify_ro_{secrets.token_hex(4)}"
    with psycopg.connect(live, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN".encode())
        conn.execute(f"GRANT SELECT ON author TO {role}".encode())
    try:
        url = make_conninfo(live, user=role)
        code, out, err = cli(root, "verify", "--database-url", url)
        assert code == 0, out + err
        with psycopg.connect(live) as conn:
            assert conn.execute("SELECT count(*) FROM author").fetchone() == (0,)
    finally:
        with psycopg.connect(live, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}".encode())
            conn.execute(f"DROP ROLE {role}".encode())


def test_a_dropped_column_a_query_names_is_rejected_with_its_location(
    project: Callable[..., Path], cli: Cli, live: str
) -> None:
    root = project("-- name: Bios :many\nSELECT id, bio FROM author;\n", SCHEMA)
    assert cli(root, "generate")[0] == 0
    with psycopg.connect(live, autocommit=True) as conn:
        conn.execute("ALTER TABLE author DROP COLUMN bio")
    code, out, _ = cli(root, "verify", "--database-url", live)
    assert code == 1
    assert out.splitlines() == [
        'queries/authors.sql:2:12: Bios: the database rejects it: column "bio" does not exist'
    ]


def test_stale_generated_code_is_said(generated: Path, live: str, cli: Cli) -> None:
    (generated / "out" / "pkg" / "models.py").write_text("# edited by hand\n")
    code, _, err = cli(generated, "verify", "--database-url", live)
    assert code == 0
    assert "generated code is stale (1 file(s) differ" in err


def test_an_unreachable_database_is_one_clear_error(generated: Path, cli: Cli) -> None:
    code, _, err = cli(generated, "verify", "--database-url", "postgresql://nobody@127.0.0.1:1/x")
    assert code == 1
    assert err.startswith("error: postgresql://nobody@127.0.0.1:1/x: ")


_CI = bool(os.environ.get("CI"))


@settings(
    max_examples=5 if _CI else 15,
    derandomize=_CI,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(chosen=st.sets(st.sampled_from(sorted(DRIFTS)), min_size=1))
def test_any_combination_of_drifts_is_each_reported(
    chosen: set[str], generated: Path, pg_server: str, cli: Cli
) -> None:
    with fresh_database(pg_server, prefix="multica_verify") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)
        _drift(url, *sorted(chosen))
        code, out, _ = cli(generated, "verify", "--database-url", url)
    assert code == 1
    lines = out.splitlines()
    for name in chosen:
        for expected in DRIFTS[name][1]:
            assert expected in lines, (chosen, out)
    others = set(DRIFTS) - chosen
    for name in others:
        for expected in DRIFTS[name][1]:
            assert expected not in lines, (chosen, out)


#: Two PostgreSQL packages of one sqlc config, each with its own schema, queries and package.
TWO_PACKAGES = {
    "sqlc.yaml": """version: "2"
sql:
  - engine: "postgresql"
    schema: "accounts/schema.sql"
    queries: "accounts/query.sql"
    gen:
      go: {package: "accounts", out: "internal/accounts"}
  - engine: "postgresql"
    schema: "billing/schema.sql"
    queries: "billing/query.sql"
    gen:
      go: {package: "billing", out: "internal/billing"}
""",
    "accounts/schema.sql": (
        "CREATE TABLE account (id bigserial PRIMARY KEY, email text NOT NULL);\n"
    ),
    "accounts/query.sql": "-- name: GetAccount :one\nSELECT * FROM account WHERE id = $1;\n",
    "billing/schema.sql": (
        "CREATE TABLE invoice (id bigserial PRIMARY KEY, amount_cents bigint NOT NULL);\n"
    ),
    "billing/query.sql": (
        "-- name: CreateInvoice :one\n"
        "INSERT INTO invoice (amount_cents) VALUES ($1) RETURNING id;\n"
        "\n"
        "-- name: ListAmounts :many\n"
        "SELECT id, amount_cents FROM invoice ORDER BY id;\n"
    ),
}


@pytest.fixture
def two_packages(tmp_path: Path, pg_server: str, cli: Cli) -> Iterator[tuple[Path, str]]:
    """A generated two-package sqlc project, and a live database holding both schemas."""
    for name, text in TWO_PACKAGES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    code, _, err = cli(tmp_path, "generate", "--out", "gen")
    assert code == 0, err
    with fresh_database(pg_server, prefix="multica_verify") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(TWO_PACKAGES["accounts/schema.sql"].encode())
            conn.execute(TWO_PACKAGES["billing/schema.sql"].encode())
        yield tmp_path, url


def test_a_clean_two_package_project_passes(two_packages: tuple[Path, str], cli: Cli) -> None:
    root, url = two_packages
    code, out, err = cli(root, "verify", "--database-url", url, "--out", "gen")
    assert code == 0, out + err
    assert out == ""
    assert "3 queries match the database" in err  # both packages' queries
    assert "stale" not in err


def test_drift_in_the_second_package_is_reported(two_packages: tuple[Path, str], cli: Cli) -> None:
    root, url = two_packages
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE invoice ALTER COLUMN amount_cents DROP NOT NULL")
    (root / "gen" / "billing" / "models.py").write_text("# edited by hand\n")
    code, out, err = cli(root, "verify", "--database-url", url, "--out", "gen")
    assert code == 1, out + err
    assert out.splitlines() == [
        "billing/query.sql:1: CreateInvoice.amount_cents (parameter $1): "
        "code says int, database says int | None (harmless)",
        "billing/query.sql:4: ListAmounts.amount_cents: code says int, database says int | None",
    ]
    assert "package billing: the committed generated code is stale (1 file(s) differ" in err
    assert "package accounts" not in err
    assert "1 drift(s) in 3 queries" in err
