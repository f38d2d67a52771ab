"""Every bad input: file:line:col, the query name, an excerpt; exit 1; nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., tuple[int, str, str]]
Project = Callable[..., Path]


def generate_fails(cli: Cli, root: Path) -> str:
    code, _out, err = cli(root, "generate")
    assert code == 1, err
    assert not (root / "out").exists(), "a failed generation must write nothing"
    return err


@pytest.mark.parametrize(
    ("queries", "where", "expected"),
    [
        (
            "-- name: GetAuthor :uno\nSELECT * FROM author WHERE id = $1;\n",
            "authors.sql:1:20",
            "query GetAuthor: unknown command :uno",
        ),
        (
            "-- name: GetAuthor\nSELECT * FROM author WHERE id = $1;\n",
            "authors.sql:1:1",
            "malformed annotation",
        ),
        (
            "-- name: A :many\nSELECT * FROM author;\n\n-- name: A :many\nSELECT 1;\n",
            "authors.sql:4:1",
            "query A: duplicate query name (first defined at",
        ),
        (
            "-- name: Bad :one\nSELECT * FROM author\nWHERE id = = 1;\n",
            "authors.sql:3:12",
            'query Bad: syntax error at or near "="',
        ),
    ],
)
def test_parse_errors_are_located(
    cli: Cli, project: Project, queries: str, where: str, expected: str
) -> None:
    err = generate_fails(cli, project(queries))
    assert f"{where}: " in err, err
    assert expected in err, err
    assert "^" in err  # the excerpt with a caret
    assert err.count("error: ") == 1, "one mistake, one error: no cascade"


def test_unknown_column_is_postgres_message_at_the_token(cli: Cli, project: Project) -> None:
    root = project("-- name: ListAuthors :many\nSELECT id, nmae\nFROM author WHERE name = @name;\n")
    err = generate_fails(cli, root)
    assert 'authors.sql:2:12: query ListAuthors: column "nmae" does not exist' in err, err
    assert 'HINT: Perhaps you meant to reference the column "author.name".' in err
    assert "    SELECT id, nmae\n               ^" in err


def test_error_position_maps_back_through_named_parameter_rewrite(
    cli: Cli, project: Project
) -> None:
    # @a_long_parameter_name is rewritten to $1 before PostgreSQL sees it: the column
    # of the bad token must still point at the original text.
    root = project(
        "-- name: Q :many\nSELECT * FROM author WHERE name = @a_long_parameter_name AND nope = 1;\n"
    )
    err = generate_fails(cli, root)
    col = len("SELECT * FROM author WHERE name = @a_long_parameter_name AND ") + 1
    assert f'authors.sql:2:{col}: query Q: column "nope" does not exist' in err, err


def test_unknown_table(cli: Cli, project: Project) -> None:
    err = generate_fails(cli, project("-- name: Q :many\nSELECT * FROM authors;\n"))
    assert 'authors.sql:2:15: query Q: relation "authors" does not exist' in err, err


def test_one_on_dml_without_returning_is_refused_as_sqlc_does(cli: Cli, project: Project) -> None:
    err = generate_fails(
        cli,
        project(
            "-- name: DeleteAuthor :one\nDELETE FROM author WHERE id = $1;\n\n"
            "-- name: Sel :exec\nSELECT * FROM author;\n"
        ),
    )
    assert "authors.sql:1:1: query DeleteAuthor: :one needs a statement that returns columns" in err
    assert "query Sel" not in err, "sqlc runs :exec on a SELECT and discards the rows"


def test_exec_with_returning_warns_and_generates(cli: Cli, project: Project) -> None:
    root = project("-- name: DeleteAuthor :exec\nDELETE FROM author WHERE id = $1 RETURNING id;\n")
    code, _out, err = cli(root, "generate")
    assert code == 0, err
    assert (
        "warning: " in err
        and "query DeleteAuthor: :exec discards the rows RETURNING produces" in err
    )


def test_schema_error_names_the_migration_file(cli: Cli, project: Project) -> None:
    root = project(
        "-- name: Q :many\nSELECT 1 AS one;\n",
        schema="CREATE TABLE author (id int);\nCREATE VIEW v AS SELECT nope FROM author;\n",
    )
    err = generate_fails(cli, root)
    assert '001_init.up.sql:2:25: schema error: column "nope" does not exist' in err, err


def test_errors_leave_existing_output_untouched(cli: Cli, project: Project) -> None:
    root = project("-- name: Q :many\nSELECT id FROM author;\n")
    assert cli(root, "generate")[0] == 0
    before = {p: p.read_bytes() for p in (root / "out").rglob("*.py")}
    (root / "queries" / "authors.sql").write_text(
        "-- name: Q :many\nSELECT id FROM author;\n-- name: R :many\nSELECT nope FROM author;\n"
    )
    code, _, err = cli(root, "generate")
    assert code == 1 and "query R" in err
    assert {p: p.read_bytes() for p in (root / "out").rglob("*.py")} == before


def test_a_type_without_a_psycopg_loader_is_its_text_form(cli: Cli, project: Project) -> None:
    """sqlc types it interface{}: never a refusal (psycopg gives its text form, a str)."""
    root = project("-- name: Q :one\nSELECT '0/0'::pg_lsn AS lsn;\n")
    code, _, err = cli(root, "generate")
    assert code == 0, err
    assert any(") -> str:" in p.read_text() for p in (root / "out").rglob("authors.py"))
