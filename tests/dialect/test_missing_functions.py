"""A call to a function the schema does not define: sqlc accepts it (``interface{}``), so do we.

The result is typed ``typing.Any`` with a warning at the call; the database the code runs
against has the function, and whatever it returns comes back. The schema's database,
shared between runs, is left exactly as it was; the strict mode refuses the call.
"""

from __future__ import annotations

import typing
from pathlib import Path

import psycopg
import pytest

from multica_db_codegen.analyze.missing_functions import STRICT_FUNCTIONS_ENV
from multica_db_codegen.analyze.server import SCHEMA_DB_PREFIX
from multica_db_codegen.errors import GenerateErrors
from multica_db_codegen.processors import run_generate
from multica_db_codegen.verify import verify
from tests.dialect.harness import Generated, database_with, generate, write_project

SCHEMA = "CREATE TABLE t (id int PRIMARY KEY);\n"

QUERIES = """-- name: Foo :one
SELECT my_func(id) FROM t WHERE id = $1;

-- name: WithParam :many
SELECT id, my_func($1) AS tagged FROM t ORDER BY id;

-- name: TwoMissing :one
SELECT other_fn(id, $1) AS o, my_func(id) AS m FROM t WHERE id = $2;

-- name: Nested :one
SELECT my_func(other_fn(id, 'x')) AS n FROM t WHERE id = $1;
"""

#: What the database the code runs against defines (the schema does not).
FUNCTIONS = """
CREATE FUNCTION my_func(integer) RETURNS text LANGUAGE sql AS $$ SELECT 'v' || $1 $$;
CREATE FUNCTION my_func(text) RETURNS text LANGUAGE sql AS $$ SELECT 'p:' || $1 $$;
CREATE FUNCTION other_fn(integer, text) RETURNS integer LANGUAGE sql
    AS $$ SELECT $1 * 10 + length($2) $$;
"""


def _warning(rel: Path, line: int, col: int, signature: str) -> str:
    return (
        f"{rel}:{line}:{col}: function {signature} is not in the schema (sqlc accepts it): "
        "its result is typed Any; add the function to the schema to get its real type"
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("anyfunc")
    write_project(root, schema={"schema.sql": SCHEMA}, queries={"q.sql": QUERIES}, package="anyfn")
    return root


@pytest.fixture(scope="module")
def generated(project: Path, pg_server: str) -> tuple[Generated, tuple[str, ...]]:
    result = run_generate(cwd=project, database_url=pg_server)
    return generate(project, pg_server, "anyfn"), result.warnings


def test_result_is_any_with_a_warning_at_the_call(
    generated: tuple[Generated, tuple[str, ...]],
) -> None:
    gen, warnings = generated
    found = [w.split(": query ", 1)[1] for w in warnings if "is not in the schema" in w]
    path = gen.root.parent / "queries" / "q.sql"
    assert found == [
        f"Foo: {_warning(path, 2, 8, 'my_func(integer)')}",
        f"WithParam: {_warning(path, 5, 12, 'my_func(unknown)')}",
        f"TwoMissing: {_warning(path, 8, 8, 'other_fn(integer, unknown)')}",
        f"TwoMissing: {_warning(path, 8, 31, 'my_func(integer)')}",
        f"Nested: {_warning(path, 11, 16, 'other_fn(integer, unknown)')}",
        f"Nested: {_warning(path, 11, 8, 'my_func(any)')}",
    ]
    q = gen.module("queries.q")
    assert typing.get_type_hints(q.FooRow)["my_func"] == typing.Any | None
    hints = typing.get_type_hints(q.TwoMissingRow)
    assert (hints["o"], hints["m"]) == (typing.Any | None, typing.Any | None)
    assert typing.get_type_hints(q.with_param)["my_func"] is str  # unknown → text
    gen.mypy()
    gen.ruff()


def test_the_real_function_runs(
    generated: tuple[Generated, tuple[str, ...]], pg_server: str
) -> None:
    gen, _ = generated
    q = gen.module("queries.q")
    with (
        database_with(pg_server, [gen.root.parent / "schema"]) as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        conn.execute(FUNCTIONS)
        conn.execute("INSERT INTO t VALUES (1), (2)")
        row = q.foo(conn, id=1)
        assert row is not None and row.my_func == "v1"
        assert q.foo(conn, id=3) is None
        assert [(r.id, r.tagged) for r in q.with_param(conn, my_func="a")] == [
            (1, "p:a"),
            (2, "p:a"),
        ]
        two = q.two_missing(conn, other_fn="abc", id=2)
        assert two is not None and (two.o, two.m) == (23, "v2")
        nested = q.nested(conn, id=1)
        assert nested is not None and nested.n == "v11"


def test_schema_database_is_unchanged(
    generated: tuple[Generated, tuple[str, ...]], pg_server: str
) -> None:
    with psycopg.connect(pg_server, autocommit=True) as admin:
        names = [
            r[0]
            for r in admin.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                (SCHEMA_DB_PREFIX,),
            )
        ]
    checked = 0
    for name in names:
        url = psycopg.conninfo.make_conninfo(pg_server, dbname=name)
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT to_regtype('multica_db_any_result'),"
                    " (SELECT count(*) FROM pg_proc WHERE proname IN ('my_func', 'other_fn'))"
                ).fetchone()
        except psycopg.OperationalError:  # another run pruned it meanwhile
            continue
        assert row == (None, 0), name
        checked += 1
    assert checked >= 1


def test_strict_mode_refuses(
    project: Path, pg_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, schema={"schema.sql": SCHEMA}, queries={"q.sql": QUERIES}, package="x")
    monkeypatch.setenv(STRICT_FUNCTIONS_ENV, "1")
    with pytest.raises(GenerateErrors) as info:
        run_generate(cwd=tmp_path, database_url=pg_server)
    first = info.value.errors[0]
    assert first.message == "function my_func(integer) does not exist"
    assert first.location is not None
    assert first.location.file.line_col(first.location.offset) == (2, 8)


def test_verify_accepts_any_and_reports_a_function_the_database_lacks(
    generated: tuple[Generated, tuple[str, ...]], project: Path, pg_server: str
) -> None:
    with database_with(pg_server, [project / "schema"]) as url:
        lacking = verify(live_url=url, analyzer_url=pg_server, cwd=project)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(FUNCTIONS)
        having = verify(live_url=url, analyzer_url=pg_server, cwd=project)
    assert not having.failed and having.drifts == []
    rejected = {d.subject for d in lacking.drifts if "the database rejects it" in d.message}
    assert rejected == {"Foo", "WithParam", "TwoMissing", "Nested"} and lacking.failed


def test_a_star_over_a_missing_function_in_from_stays_an_error(
    tmp_path: Path, pg_server: str
) -> None:
    """Its columns are unknown: a guess would break on the real function's rows (sqlc
    expands the star to no column at all)."""
    queries = "-- name: Rows :many\nSELECT * FROM gone_fn(1);\n"
    write_project(tmp_path, schema={"schema.sql": SCHEMA}, queries={"q.sql": queries}, package="y")
    with pytest.raises(GenerateErrors) as info:
        run_generate(cwd=tmp_path, database_url=pg_server)
    error = info.value.errors[0]
    assert error.message == (
        "function gone_fn(integer) does not exist, so the columns * stands for are unknown"
    )
    assert error.hint is not None and "column definition list" in error.hint
