"""Statements PostgreSQL always answers with exactly one row, and values it never makes NULL.

``SELECT EXISTS (…)``, a SELECT without FROM and an ungrouped aggregate give one row
whatever the data: ``:one`` returns the row, not ``Row | None``; EXISTS / NOT EXISTS,
``count(*)``, a literal and ``COALESCE(…, literal)`` are never NULL. Generated shapes —
with the variations that take the promise away (WHERE without FROM, HAVING, GROUP BY,
LIMIT 0, OFFSET, a set-returning function, UNION) — are analysed, then run on every
dataset: a promised row must always be there, exactly one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.processors import run_analyze
from tests.nullability.corpus import SCHEMA, load_datasets
from tests.pg import fresh_database


@dataclass(frozen=True)
class Item:
    sql: str
    never_null: bool  # PostgreSQL never gives NULL for it
    aggregate: bool = False  # an aggregate over the FROM table (needs FROM)


#: Select-list entries needing no FROM.
SCALARS = [
    Item("EXISTS (SELECT 1 FROM task WHERE points > 2)", True),
    Item("NOT EXISTS (SELECT 1 FROM person WHERE team_id IS NULL)", True),
    Item("EXISTS (SELECT 1 FROM kv WHERE k = sqlc.narg(a)::text)", True),
    Item("1", True),
    Item("'x'::text", True),
    Item("sqlc.arg(b)::int", True),
    Item("COALESCE(NULL::int, 3)", True),
    Item("COALESCE((SELECT max(points) FROM task), 0)", True),
    Item("(SELECT count(*) FROM label)", True),
    Item("NULL::int", False),
    Item("(SELECT name FROM team ORDER BY id LIMIT 1)", False),
]

#: Aggregates over ``task``.
AGGREGATES = [
    Item("count(*)", True, True),
    Item("count(person_id)", True, True),
    Item("COALESCE(max(points), 0)", True, True),
    Item("sum(points)", False, True),
    Item("max(title)", False, True),
    Item("bool_or(points > 1)", False, True),
]

#: (suffix, the statement still gives exactly one row)
NO_FROM_TAILS = [
    ("", True),
    (" WHERE sqlc.narg(a)::text IS NULL", False),
    (" LIMIT 1", True),
    (" LIMIT 0", False),
    (" OFFSET 1", False),
    (" UNION ALL SELECT {same}", False),
]
AGG_TAILS = [
    (" FROM task", True),
    (" FROM task WHERE points > 100", True),
    (" FROM task WHERE sqlc.narg(a)::text IS NULL", True),
    (" FROM task HAVING count(*) > 0", False),
    (" FROM task GROUP BY person_id", False),
    (" FROM task LIMIT 0", False),
]


@st.composite
def statements(draw: st.DrawFn) -> tuple[str, bool, list[bool]]:
    """(SQL, exactly one row promised by construction, per column: never NULL)."""
    if draw(st.booleans()):
        items = draw(st.lists(st.sampled_from(SCALARS), min_size=1, max_size=3))
        tail, one = draw(st.sampled_from(NO_FROM_TAILS))
        srf = draw(st.booleans()) and draw(st.booleans())
    else:
        items = draw(st.lists(st.sampled_from(AGGREGATES), min_size=1, max_size=3))
        items += draw(st.lists(st.sampled_from(SCALARS[:4]), max_size=1))
        tail, one = draw(st.sampled_from(AGG_TAILS))
        srf = False
    cols = [f"{it.sql} AS c{i}" for i, it in enumerate(items)]
    if srf:
        cols.append(f"generate_series(1, 2) AS c{len(cols)}")
        one = False
    select = ", ".join(cols)
    sql = f"SELECT {select}{tail.format(same=select)}"
    never_null = [it.never_null for it in items] + ([True] if srf else [])
    return sql, one, never_null


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(statements(), min_size=4, max_size=12))
def test_one_row_and_never_null(
    pg_server: str,
    tmp_path_factory: pytest.TempPathFactory,
    drawn: list[tuple[str, bool, list[bool]]],
) -> None:
    qfile = tmp_path_factory.mktemp("onerow") / "q.sql"
    qfile.write_text(
        "".join(f"-- name: Q{i} :one\n{sql};\n\n" for i, (sql, _, _) in enumerate(drawn))
    )
    ir = run_analyze(schema=(SCHEMA,), queries=(qfile,), database_url=pg_server)[0]
    queries = {q.name: q for f in ir.files for q in f.queries}
    with fresh_database(pg_server, prefix="multica_one_row") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA.read_text().encode())
        with psycopg.connect(url) as conn:
            for dataset, load in load_datasets().items():
                if load.strip():
                    conn.execute(load.encode())
                for i, (_, one, never_null) in enumerate(drawn):
                    q = queries[f"Q{i}"]
                    # the shapes built to give one row are recognised, and only those
                    assert q.row_guaranteed == one, q.sql
                    for col, nn in zip(q.columns, never_null, strict=True):
                        if nn:
                            assert not col.nullable, (col.name, q.sql)
                    args = [p.name for p in q.params]
                    values = {"a": None, "b": 4}
                    with psycopg.RawCursor(conn) as cur:
                        rows = cur.execute(q.sql.encode(), [values[a] for a in args]).fetchall()
                    if q.row_guaranteed:
                        assert len(rows) == 1, (dataset, q.sql)
                    for c, col in enumerate(q.columns):
                        if not col.nullable:
                            assert all(r[c] is not None for r in rows), (dataset, q.sql)
                conn.rollback()


def test_generated_signatures(tmp_path: Path, pg_server: str) -> None:
    """The real examples: what ``:one`` returns, as generated."""
    qfile = tmp_path / "q.sql"
    qfile.write_text(
        "-- name: Ex :one\nSELECT EXISTS(SELECT 1 FROM task WHERE id = $1);\n"
        "-- name: NEx :one\nSELECT NOT EXISTS(SELECT 1 FROM task WHERE id = $1) AS gone;\n"
        "-- name: Count :one\nSELECT count(*) FROM task;\n"
        "-- name: One :one\nSELECT 1;\n"
        "-- name: Param :one\nSELECT $1::int AS v;\n"
        "-- name: Co :one\nSELECT COALESCE(max(points), 0) AS m FROM task;\n"
        "-- name: Where :one\nSELECT 1 AS v WHERE $1::bool;\n"
    )
    ir = run_analyze(schema=(SCHEMA,), queries=(qfile,), database_url=pg_server)[0]
    got = {
        q.name: (q.row_guaranteed, [c.nullable for c in q.columns])
        for f in ir.files
        for q in f.queries
    }
    assert got == {
        "Ex": (True, [False]),
        "NEx": (True, [False]),
        "Count": (True, [False]),
        "One": (True, [False]),
        "Param": (True, [False]),
        "Co": (True, [False]),
        "Where": (False, [False]),
    }
