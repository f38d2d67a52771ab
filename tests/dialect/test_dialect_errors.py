"""Dialect misuse is reported as file:line:col, the query's name and what to do."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from multica_db_codegen.errors import GenerateErrors
from multica_db_codegen.processors import run_analyze
from tests.dialect.harness import generate, write_project

SCHEMA = """
CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE u (id int PRIMARY KEY, t_id int REFERENCES t (id));
"""


def _errors(tmp_path: Path, pg_server: str, queries: str) -> list[str]:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "q.sql").write_text(queries)
    with pytest.raises(GenerateErrors) as err:
        run_analyze(
            schema=(tmp_path / "schema.sql",), queries=(tmp_path / "q.sql",), database_url=pg_server
        )
    return [str(e) for e in err.value.errors]


@pytest.mark.parametrize(
    ("queries", "where", "message"),
    [
        (
            "-- name: CopyT :copyfrom\nINSERT INTO t (id, name) VALUES ($1, 'x');\n",
            "2:38",
            "VALUES may hold only parameters",
        ),
        (
            "-- name: CopyT :copyfrom\nINSERT INTO t (id, name) VALUES ($1, $2) RETURNING id;\n",
            "2:13",
            "cannot return rows",
        ),
        (
            "-- name: CopyT :copyfrom\nINSERT INTO t VALUES ($1, $2);\n",
            "2:13",
            "explicit column list",
        ),
        (
            "-- name: CopyT :copyfrom\nSELECT $1::int;\n",
            "2:1",
            "INSERT INTO table (columns) VALUES",
        ),
        (
            "-- name: CopyT :copyfrom\n"
            "INSERT INTO t (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING;\n",
            "2:13",
            "ON CONFLICT",
        ),
        (
            "-- name: E :many\nSELECT sqlc.embed(x) FROM t;\n",
            "2:8",
            'missing FROM-clause entry for table "x"',  # PostgreSQL says it first
        ),
        (
            "-- name: B :batchone\nUPDATE t SET name = $1 WHERE id = $2;\n",
            "1:1",
            ":batchone needs a statement that returns columns",
        ),
        (
            "-- name: I :iter\nDELETE FROM t WHERE id = $1;\n",
            "1:1",
            ":iter needs a statement that returns columns",
        ),
    ],
)
def test_dialect_errors_are_located(
    tmp_path: Path, pg_server: str, queries: str, where: str, message: str
) -> None:
    [error] = _errors(tmp_path, pg_server, queries)
    assert error.startswith(f"{tmp_path / 'q.sql'}:{where}: "), error
    assert message in error


def test_a_record_is_a_tuple_of_text(tmp_path: Path, pg_server: str) -> None:
    """``row(…)`` has no model: psycopg gives the fields' text forms (sqlc: interface{})."""
    write_project(
        tmp_path,
        schema={"schema.sql": SCHEMA},
        queries={"q.sql": "-- name: Ok :one\nSELECT 1;\n\n-- name: Rec :one\nSELECT row(1, 2);\n"},
        package="recpkg",
    )
    gen = generate(tmp_path, pg_server, "recpkg")
    q = gen.module("queries.q")
    with psycopg.connect(pg_server) as conn:
        assert q.rec(conn) == ("1", "2")
