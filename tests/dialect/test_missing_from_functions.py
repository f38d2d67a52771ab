"""A function the schema does not define, called in FROM (SQLite's ``pragma_page_count()``,
an extension the analyzer's server lacks).

sqlc accepts these statements; they generate here too. What the statement reads from such a
function is typed by a column definition list or a cast where there is one, else ``Any``,
with a warning naming the function. Each statement is generated from a schema lacking the
functions and run against a database that has them; its rows must be exactly what the
same SQL gives when run directly.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.errors import GenerateErrors
from multica_db_codegen.processors import run_generate
from tests.dialect.harness import Generated, database_with, forget, generate, write_project

SCHEMA = "CREATE TABLE item (id bigint PRIMARY KEY, name text NOT NULL);\n"
ROWS = "INSERT INTO item VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')"

#: The functions, as the database the code runs on has them (the analyzer's schema has none).
FUNCTIONS = """
CREATE FUNCTION pragma_page_count() RETURNS TABLE (page_count bigint)
    LANGUAGE sql AS $$ SELECT 7::bigint $$;
CREATE FUNCTION pragma_page_size() RETURNS TABLE (page_size bigint)
    LANGUAGE sql AS $$ SELECT 4096::bigint $$;
CREATE FUNCTION pairs(n bigint) RETURNS TABLE (v bigint, w text)
    LANGUAGE sql AS $$ SELECT g, 'w' || g FROM generate_series(1, n) g $$;
CREATE FUNCTION loose(n integer) RETURNS SETOF record
    LANGUAGE sql AS $$ SELECT g, 'r' || g FROM generate_series(1, n) g $$;
CREATE FUNCTION scores() RETURNS SETOF numeric
    LANGUAGE sql AS $$ VALUES (1.5), (2.25) $$;
"""

#: (query, what get_type_hints says each field of its row is, or of the value itself)
CASES: list[tuple[str, dict[str, Any] | Any]] = [
    (
        "SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()",
        Any | None,
    ),
    (
        "SELECT page_count::bigint * page_size::bigint AS size "
        "FROM pragma_page_count(), pragma_page_size()",
        int | None,
    ),
    (
        "SELECT c.page_count, s.page_size::int AS size "
        "FROM pragma_page_count() AS c JOIN pragma_page_size() s ON true",
        {"page_count": Any | None, "size": int | None},
    ),
    (
        "SELECT r.a, r.b FROM loose(3) AS r(a int, b text) WHERE r.a > 1 ORDER BY r.a",
        {"a": int | None, "b": str | None},
    ),
    (
        "SELECT i.id, p.v, p.w::text AS w FROM item i, LATERAL pairs(i.id) p "
        "WHERE p.v > 1 ORDER BY i.id, p.v",
        {"id": int, "v": Any | None, "w": str | None},
    ),
    (
        "SELECT i.name, x.a FROM item i JOIN pairs(3) AS x(a, b) ON x.a = i.id ORDER BY i.id",
        {"name": str, "a": Any | None},
    ),
    ("SELECT s FROM scores() s ORDER BY 1", Any | None),
    ("SELECT s::numeric AS s FROM scores() AS s ORDER BY 1", Decimal | None),
    (
        "SELECT n, coalesce(n, 0) AS c FROM (SELECT v AS n FROM pairs(2)) t ORDER BY 1",
        {"n": Any | None, "c": Any},
    ),
    (
        "SELECT a, z FROM ROWS FROM (loose(2) AS (a int, z text)) WITH ORDINALITY ORDER BY a",
        {"a": int | None, "z": str | None},
    ),
    ("SELECT count(*) FROM pairs(4) WHERE v % 2 = 0", int),
]


def _generate(root: Path, url: str, queries: str, package: str) -> tuple[Generated, list[str]]:
    write_project(root, schema={"schema.sql": SCHEMA}, queries={"q.sql": queries}, package=package)
    forget(package)
    warnings = list(run_generate(cwd=root, database_url=url).warnings)
    return generate(root, url, package), warnings


def _direct(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql.encode())
        return list(cur.fetchall())


def _plain(value: Any) -> tuple[Any, ...]:
    """A generated result (a row model or a bare value) as a tuple."""
    if hasattr(value, "model_dump"):
        return tuple(value.model_dump().values())
    return (value,)


def test_every_shape(tmp_path: Path, pg_server: str) -> None:
    """Each shape: typed as its SQL says, mypy/ruff clean, and the real functions' rows."""
    queries = "".join(f"-- name: Q{i} :many\n{sql};\n" for i, (sql, _) in enumerate(CASES))
    gen, warnings = _generate(tmp_path, pg_server, queries, "fromfns")
    for name in ("pragma_page_count()", "pragma_page_size()", "pairs(bigint)", "scores()"):
        assert any(f"function {name} is not in the schema" in w for w in warnings), name
    size = next(w for w in warnings if "function pragma_page_count()" in w)
    assert "(page_count, page_size) are typed Any" in size
    gen.mypy()
    gen.ruff()
    q = gen.module("queries.q")
    for i, (_, want) in enumerate(CASES):
        hints = typing.get_type_hints(getattr(q, f"q{i}"))["return"]
        (item,) = typing.get_args(hints)
        if isinstance(want, dict):
            assert typing.get_type_hints(item) == want, CASES[i][0]
        else:
            assert item == want, CASES[i][0]
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(FUNCTIONS)
        conn.execute(ROWS)
        for i, (sql, _) in enumerate(CASES):
            got = [_plain(r) for r in getattr(q, f"q{i}")(conn)]
            assert got == _direct(conn, sql), sql


def test_the_real_project_query(tmp_path: Path, pg_server: str) -> None:
    """taproot-assets' ``AssetsDBSizeSqlite`` as written (a :one, a bare product)."""
    queries = (
        "-- name: AssetsDBSizeSqlite :one\n"
        "SELECT page_count * page_size AS size_in_bytes\n"
        "FROM pragma_page_count(), pragma_page_size();\n"
    )
    gen, warnings = _generate(tmp_path, pg_server, queries, "taprootsize")
    assert sum("is not in the schema" in w for w in warnings) == 2
    gen.mypy()
    gen.ruff()
    q = gen.module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(FUNCTIONS)
        row = q.assets_db_size_sqlite(conn)
        assert row is not None and row.size_in_bytes == 7 * 4096


@pytest.mark.parametrize(
    ("sql", "star"),
    [
        ("SELECT * FROM pairs(2)", "*"),
        ("SELECT i.id, p.* FROM item i, LATERAL pairs(i.id) AS p", "p.*"),
        ("SELECT * FROM item i JOIN pragma_page_count() ON true", "*"),
    ],
)
def test_a_star_over_unknown_columns_is_refused(
    tmp_path: Path, pg_server: str, sql: str, star: str
) -> None:
    """The row's width is unknown: an error at the star, saying how to name the columns."""
    write_project(
        tmp_path,
        schema={"schema.sql": SCHEMA},
        queries={"q.sql": f"-- name: Star :many\n{sql};\n"},
        package="fromstar",
    )
    with pytest.raises(GenerateErrors) as info:
        run_generate(cwd=tmp_path, database_url=pg_server)
    (error,) = info.value.errors
    assert error.message.endswith(f"does not exist, so the columns {star} stands for are unknown")
    assert error.location is not None
    assert sql[error.location.offset - len("-- name: Star :many\n") :].startswith(star)


def test_a_star_with_a_column_definition_list_is_known(tmp_path: Path, pg_server: str) -> None:
    """``SELECT * FROM f() AS r(a int, b text)``: the list says the whole row."""
    gen, _ = _generate(
        tmp_path,
        pg_server,
        "-- name: Everything :many\nSELECT * FROM loose(2) AS r(a int, b text) ORDER BY a;\n",
        "fromstarok",
    )
    q = gen.module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(FUNCTIONS)
        assert [_plain(r) for r in q.everything(conn)] == [(1, "r1"), (2, "r2")]


@dataclass(frozen=True)
class Shape:
    """A FROM item over ``pairs(…)`` and how its columns ``v`` and ``w`` are written."""

    source: str
    v: str
    w: str
    typed: bool  # a column definition list types them


SHAPES = [
    Shape("pairs(3)", "v", "w", False),
    Shape("pairs(3) AS p", "p.v", "p.w", False),
    Shape("pairs(3) AS p(a, b)", "p.a", "b", False),
    Shape("item i, LATERAL pairs(i.id) AS p", "p.v", "p.w", False),
    Shape("item i JOIN pairs(2) p ON p.v = i.id", "p.v", "p.w", False),
    Shape("loose(3) AS r(v bigint, w text)", "r.v", "w", True),
]

#: select-list entries over {v} and {w}: (SQL, the Python type when v/w are unknown)
SELECTS = [
    ("{v} AS x", Any | None),
    ("{v}::bigint AS x", int | None),
    ("{v} * 2 AS x", Any | None),
    # any value || text is text (PostgreSQL's anynonarray || text): known whatever w is
    ("{w} || '!' AS x", str | None),
    ("({v} + 1)::text AS x", str | None),
]
WHERES = ["", "WHERE {v} > 1", "WHERE {w} LIKE 'w%'", "WHERE {v} * {v} < 5"]


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(SHAPES), st.sampled_from(SELECTS), st.sampled_from(WHERES)),
        min_size=1,
        max_size=4,
    )
)
def test_generated_shapes(
    tmp_path_factory: pytest.TempPathFactory,
    pg_server: str,
    drawn: list[tuple[Shape, tuple[str, Any], str]],
) -> None:
    """Any FROM shape with any select entry and filter: the same rows as the SQL run
    directly, typed Any unless a cast or a column definition list types it."""
    sqls = []
    for shape, (select, _), where in drawn:
        cols = {"v": shape.v, "w": shape.w}
        sqls.append(
            f"SELECT {select.format(**cols)} FROM {shape.source} {where.format(**cols)} ORDER BY 1"
        )
    queries = "".join(f"-- name: Q{i} :many\n{sql};\n" for i, sql in enumerate(sqls))
    root = tmp_path_factory.mktemp("fromfuzz")
    gen, _ = _generate(root, pg_server, queries, "fromfuzz")
    q = gen.module("queries.q")
    for i, (shape, (_, python), _) in enumerate(drawn):
        (item,) = typing.get_args(typing.get_type_hints(getattr(q, f"q{i}"))["return"])
        if not shape.typed:
            assert item == python, sqls[i]
        elif python == Any | None:  # typed by the list: never Any
            assert Any not in typing.get_args(item), sqls[i]
    with database_with(pg_server, [root / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(FUNCTIONS)
        conn.execute(ROWS)
        for i, sql in enumerate(sqls):
            assert [(r,) for r in getattr(q, f"q{i}")(conn)] == _direct(conn, sql), sql


#: unaliased select-list entries over v (a number) and w (text): PostgreSQL names each
#: after its column
V_ENTRIES = ["{c}::bigint", "{c}::text", "CAST({c} AS numeric)", "({c})::int", "{c}::int::text"]
W_ENTRIES = ["{c}", "{c}::text", "CAST({c} AS varchar)", "({c})::text", "{c}::varchar::text"]


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(SHAPES[:5]),
            st.sampled_from(V_ENTRIES),
            st.sampled_from(W_ENTRIES),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_unaliased_columns_keep_the_names_postgresql_gives(
    tmp_path_factory: pytest.TempPathFactory,
    pg_server: str,
    drawn: list[tuple[Shape, str, str]],
) -> None:
    """``SELECT msg_id::bigint FROM missing_fn()``: the row's field is ``msg_id``, the
    name the SQL run directly gives, not the cast type's (``int8``) the stand-in
    parameter would give it."""
    sqls = []
    for shape, v, w in drawn:
        entries = (v.format(c=shape.v), w.format(c=shape.w))
        sqls.append(f"SELECT {', '.join(entries)} FROM {shape.source} ORDER BY 1")
    queries = "".join(f"-- name: Q{i} :many\n{sql};\n" for i, sql in enumerate(sqls))
    root = tmp_path_factory.mktemp("fromnames")
    gen, _ = _generate(root, pg_server, queries, "fromnames")
    q = gen.module("queries.q")
    with database_with(pg_server, [root / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(FUNCTIONS)
        for i, sql in enumerate(sqls):
            cur = conn.execute(sql.encode())
            names = [d.name for d in cur.description or ()]
            (item,) = typing.get_args(typing.get_type_hints(getattr(q, f"q{i}"))["return"])
            assert list(typing.get_type_hints(item)) == names, sql
            got = [_plain(r) for r in getattr(q, f"q{i}")(conn)]
            assert got == [tuple(r) for r in cur.fetchall()], sql


def test_a_star_over_a_missing_function_runs_where_rows_are_not_read(
    tmp_path: Path, pg_server: str
) -> None:
    """``SELECT * FROM f(…)`` as an ``:exec``/``:execrows``: the row's width does not
    matter (sqlc accepts it); the call runs."""
    gen, warnings = _generate(
        tmp_path,
        pg_server,
        "-- name: Touch :exec\nSELECT * FROM pairs(sqlc.arg(n)::bigint);\n"
        "-- name: Count :execrows\nSELECT * FROM pairs(sqlc.arg(n)::bigint);\n",
        "fromstarexec",
    )
    assert any("function pairs(bigint) is not in the schema" in w for w in warnings)
    gen.mypy()
    q = gen.module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(FUNCTIONS)
        assert q.touch(conn, n=2) is None
        assert q.count(conn, n=3) == 3
