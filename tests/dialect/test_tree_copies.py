"""Parse trees are copied without the back-links pglast leaves on the nodes it prints.

Working out how many columns each ``sqlc.embed`` gives prints a derived statement per
embed that reuses the original's result entry; the printer leaves ``ancestors`` links
from those nodes into the derived statement. ``copy.deepcopy`` followed them, so the
next copy of the original dragged the other statement along, up and down its ancestor
chains: a JSON column beside two embeds and a long ``WHERE`` exhausted Python's
recursion limit and stopped the whole generation (a real project's ``ListTransactions``).
"""

from __future__ import annotations

from pathlib import Path

import pglast
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pglast.stream import RawStream

from multica_db_codegen.parse.params import copy_tree, tree_nodes
from tests.dialect.harness import database_with, generate, write_project

SCHEMA = """\
CREATE TABLE account (id bigint PRIMARY KEY, name text NOT NULL, deleted_at timestamptz);
CREATE TABLE category (id bigint PRIMARY KEY, label text NOT NULL);
CREATE TABLE txn (
    id bigint PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES account (id),
    category_id bigint NOT NULL REFERENCES category (id),
    amount numeric NOT NULL,
    details jsonb,
    note text
);
"""


def _filters(n: int) -> str:
    """n optional filters, as list endpoints write them."""
    out = []
    for i in range(n):
        kind = ("amount", "numeric") if i % 2 else ("note", "text")
        out.append(f"AND (sqlc.narg('f{i}')::{kind[1]} IS NULL OR t.{kind[0]} = sqlc.narg('f{i}'))")
    return "\n    ".join(out)


def _query(filters: int) -> str:
    return (
        "-- name: ListTxns :many\n"
        "SELECT t.id, t.details, sqlc.embed(a), sqlc.embed(c)\n"
        "FROM txn AS t\n"
        "JOIN account AS a ON a.id = t.account_id AND a.deleted_at IS NULL\n"
        "JOIN category AS c ON c.id = t.category_id\n"
        "WHERE t.id > sqlc.arg('after')\n"
        f"    {_filters(filters)}\n"
        "ORDER BY t.id;\n"
    )


def test_two_embeds_a_json_column_and_many_filters_generate(tmp_path: Path, pg_server: str) -> None:
    write_project(
        tmp_path, schema={"s.sql": SCHEMA}, queries={"q.sql": _query(40)}, package="copies"
    )
    gen = generate(tmp_path, pg_server, "copies")
    q = gen.module("queries.q")
    gen.mypy()
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO account VALUES (1, 'cash', NULL); INSERT INTO category VALUES (2, 'food');"
            "INSERT INTO txn VALUES (3, 1, 2, 9.5, '{\"k\": 1}', 'lunch')"
        )
        rows = q.list_txns(conn, after=0, **{f"f{i}": None for i in range(40)})
        assert [(r.id, r.details, r.account.name, r.category.label) for r in rows] == [
            (3, {"k": 1}, "cash", "food")
        ]


_EXPRS = st.sampled_from(
    ["a = $1", "b IS NULL", "c::text ILIKE '%' || $2 || '%'", "d = ANY($3::int[])",
     "(e > 1 OR f < 2)", "EXISTS (SELECT 1 FROM u WHERE u.id = t.id)", "g IN (1, 2, 3)"]
)  # fmt: skip


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(where=st.lists(_EXPRS, min_size=1, max_size=80), printed=st.integers(0, 3))
def test_a_copy_is_the_same_statement_and_independent(where: list[str], printed: int) -> None:
    sql = f"SELECT t.id, t.x AS y, count(*) FROM t WHERE {' AND '.join(where)} GROUP BY 1, 2"
    tree = pglast.parse_sql(sql)[0].stmt
    # derived statements reusing the original's result entries, printed (as the
    # analysis does): the printer leaves ancestors on those shared nodes
    for i in range(printed):
        derived = copy_tree(tree)
        derived.targetList = (tree.targetList[i % len(tree.targetList)],)
        RawStream()(derived)
    copied = copy_tree(tree)
    assert RawStream()(copied) == RawStream()(tree)
    originals = {id(n) for n in tree_nodes(tree)}
    assert not any(id(n) in originals for n in tree_nodes(copied))
    copied.whereClause = None
    assert RawStream()(tree) == RawStream()(pglast.parse_sql(sql)[0].stmt)


def test_a_very_deep_expression_beside_embeds_generates(tmp_path: Path, pg_server: str) -> None:
    """A chain of 1,200 ``+`` is copied without recursion (the copy is iterative)."""
    total = " + ".join(["t.amount"] * 1200)
    queries = (
        "-- name: Deep :many\n"
        f"SELECT t.details, sqlc.embed(a), sqlc.embed(c), {total} AS total\n"
        "FROM txn AS t JOIN account AS a ON a.id = t.account_id\n"
        "JOIN category AS c ON c.id = t.category_id;\n"
    )
    write_project(tmp_path, schema={"s.sql": SCHEMA}, queries={"q.sql": queries}, package="deep")
    q = generate(tmp_path, pg_server, "deep").module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO account VALUES (1, 'cash', NULL); INSERT INTO category VALUES (2, 'food');"
            "INSERT INTO txn VALUES (3, 1, 2, 0.5, NULL, NULL)"
        )
        [row] = q.deep(conn)
        assert (row.account.id, row.category.id, row.total) == (1, 2, 600)
