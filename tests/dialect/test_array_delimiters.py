"""Arrays whose elements are separated by something else than ',' (``pg_type.typdelim``).

``box`` writes its arrays with ';' between elements (``{(1,1),(0,0);(3,3),(2,2)}``),
PostGIS's geometry and geography with ':', and an extension's base type may declare any
``DELIMITER``. Generated code that parses or builds an array's text itself (arrays of
types psycopg cannot load, parameters it sends as text, fields of composites, COPY rows)
must use the element type's delimiter: these round trips go through generated code
against PostgreSQL, sync and async.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.dialect.harness import Generated, database_with, generate, write_project


def _text_type(name: str, delimiter: str) -> str:
    """A base type kept as text (PostgreSQL's own text I/O) with ``delimiter`` in arrays."""
    return (
        f"CREATE TYPE {name};\n"
        f"CREATE FUNCTION {name}_in(cstring) RETURNS {name}\n"
        "    LANGUAGE internal IMMUTABLE STRICT AS 'textin';\n"
        f"CREATE FUNCTION {name}_out({name}) RETURNS cstring\n"
        "    LANGUAGE internal IMMUTABLE STRICT AS 'textout';\n"
        f"CREATE TYPE {name} (INPUT = {name}_in, OUTPUT = {name}_out,\n"
        f"    INTERNALLENGTH = VARIABLE, STORAGE = extended, DELIMITER = '{delimiter}');\n"
    )


SCHEMA = (
    _text_type("semi", ";")
    + _text_type("colon", ":")
    + """
CREATE DOMAIN boxd AS box;
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TYPE holder AS (boxes box[], semis semi[], grid semi[][], label text, words text[][]);
CREATE TABLE shape (
    id serial PRIMARY KEY,
    boxes box[],
    grid box[][],
    semis semi[],
    semi_grid semi[][],
    colons colon[],
    dboxes boxd[],
    counts posint[],
    h holder,
    hs holder[]
);
"""
)

QUERIES = """
-- name: CreateShape :one
INSERT INTO shape (boxes, grid, semis, semi_grid, colons, dboxes, counts, h, hs)
VALUES (@boxes, @grid, @semis, @semi_grid, @colons, @dboxes, @counts, @h, @hs)
RETURNING *;

-- name: GetShape :one
SELECT * FROM shape WHERE id = $1;

-- name: EchoBoxes :one
SELECT @boxes::box[] AS boxes;

-- name: EchoSemis :one
SELECT @semis::semi[] AS semis;

-- name: EchoColonGrid :one
SELECT @grid::colon[][] AS grid;

-- name: EchoHolder :one
SELECT @h::holder AS h;

-- name: EchoCounts :one
SELECT @counts::posint[] AS counts;

-- name: CountSemis :one
SELECT cardinality(@semis::semi[]) AS n;

-- name: CopyShapes :copyfrom
INSERT INTO shape (boxes, semis, colons) VALUES ($1, $2, $3);

-- name: AddShapes :batchone
INSERT INTO shape (boxes, semis) VALUES (@boxes, @semis) RETURNING id;

-- name: ShapeBoxesAndSemis :many
SELECT boxes, semis, colons FROM shape WHERE id = ANY(@ids::int[]) ORDER BY id;

-- name: ShapesJson :one
SELECT json_agg(s ORDER BY s.id) AS shapes FROM shape s WHERE s.id = ANY(@ids::int[]);
"""

#: Texts a delimiter-separated array must keep apart: every delimiter, quotes,
#: backslashes, braces, spaces, the empty string and the word NULL.
AWKWARD = ["a,b", "c d", "", None, "x;y", "p:q", 'q"u\\o', "NULL", "{}", " lead", ";", ":"]
BOXES = ["(1,1),(0,0)", None, "(3,3),(2,2)"]
BOX_GRID = [["(1,1),(0,0)", None], ["(3,3),(2,2)", "(1,2),(0,0)"]]


@pytest.fixture(scope="module")
def delim_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("delims")
    write_project(root, schema={"schema.sql": SCHEMA}, queries={"q.sql": QUERIES}, package="delims")
    return root


@pytest.fixture(scope="module")
def gen(delim_root: Path, pg_server: str) -> Generated:
    return generate(delim_root, pg_server, "delims")


@pytest.fixture(scope="module")
def delim_db(delim_root: Path, pg_server: str) -> Iterator[str]:
    with database_with(pg_server, [delim_root / "schema"]) as url:
        yield url


@pytest.fixture
def conn(delim_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(delim_db) as c:
        try:
            yield c
        finally:
            c.rollback()


@pytest.fixture
async def aconn(delim_db: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    c = await psycopg.AsyncConnection.connect(delim_db)
    try:
        yield c
    finally:
        await c.rollback()
        await c.close()


def _holder(gen: Generated, label: str = 'lab,el;"x"') -> Any:
    m = gen.module("models")
    return m.Holder(
        boxes=BOXES,
        semis=AWKWARD,
        grid=[["a;b", None], ["", "c,d"]],
        label=label,
        words=[["a,b", None], ['"', "{}"]],
    )


def test_results_written_by_postgresql(gen: Generated, conn: psycopg.Connection[Any]) -> None:
    """Arrays PostgreSQL wrote itself: an unquoted element may hold a ',' (or a ':')."""
    q = gen.module("queries.q")
    row = conn.execute(
        "INSERT INTO shape (boxes, grid, semis, semi_grid, colons, dboxes, counts) VALUES ("
        "'{(1,1),(0,0);NULL}', '[0:1][1:1]={{(1,1),(0,0)};{NULL}}', '{a,b;NULL;\"\";c:d}', "
        "'{{a,b;c};{NULL;\"d;e\"}}', '{a,b:c;d:\"NULL\"}', '{(2,2),(1,1)}', '{1,NULL,3}') "
        "RETURNING id"
    ).fetchone()
    assert row is not None
    got = q.get_shape(conn, id=row[0])
    assert got.boxes == ["(1,1),(0,0)", None]
    assert got.grid == [["(1,1),(0,0)"], [None]]
    assert got.semis == ["a,b", None, "", "c:d"]
    assert got.semi_grid == [["a,b", "c"], [None, "d;e"]]
    assert got.colons == ["a,b", "c;d", "NULL"]
    assert got.dboxes == ["(2,2),(1,1)"]
    assert got.counts == [1, None, 3]
    assert q.echo_counts(conn, counts=[2, None]) == [2, None]


def test_box_array_parameters_and_results(gen: Generated, conn: psycopg.Connection[Any]) -> None:
    q = gen.module("queries.q")
    assert q.echo_boxes(conn, boxes=BOXES) == BOXES
    assert q.echo_boxes(conn, boxes=[]) == []


def test_custom_delimiter_parameters_and_results(
    gen: Generated, conn: psycopg.Connection[Any]
) -> None:
    q = gen.module("queries.q")
    assert q.count_semis(conn, semis=["a,b", "c"]) == 2
    assert q.echo_semis(conn, semis=AWKWARD) == AWKWARD
    assert q.echo_semis(conn, semis=[]) == []
    grid = [["a:b", None, ""], ['"', "\\", "NULL"]]
    assert q.echo_colon_grid(conn, grid=grid) == grid


def test_rows_with_every_delimiter_round_trip(
    gen: Generated, conn: psycopg.Connection[Any]
) -> None:
    q = gen.module("queries.q")
    h = _holder(gen)
    created = q.create_shape(
        conn,
        boxes=BOXES,
        grid=BOX_GRID,
        semis=AWKWARD,
        semi_grid=[["a,b", "c;d"], [None, ""]],
        colons=AWKWARD,
        dboxes=BOXES,
        counts=[1, None],
        h=h,
        hs=[h, None, _holder(gen, label="")],
    )
    got = q.get_shape(conn, id=created.id)
    assert got == created
    assert got.boxes == BOXES and got.grid == BOX_GRID and got.dboxes == BOXES
    assert got.semis == AWKWARD and got.colons == AWKWARD
    assert got.semi_grid == [["a,b", "c;d"], [None, ""]]
    assert got.counts == [1, None]
    assert got.h == h and got.hs == [h, None, _holder(gen, label="")]
    assert q.echo_holder(conn, h=h) == h


def test_copy_batch_and_json(gen: Generated, conn: psycopg.Connection[Any]) -> None:
    q = gen.module("queries.q")
    P = gen.module("queries.q").CopyShapesParams
    assert q.copy_shapes(conn, [P(BOXES, AWKWARD, AWKWARD), P([], [], None)]) == 2
    B = q.AddShapesParams
    ids = [r for r in q.add_shapes(conn, [B(BOXES, AWKWARD), B(None, ["x;y,z"])])]
    rows = q.shape_boxes_and_semis(conn, ids=ids)
    assert [(r.boxes, r.semis) for r in rows] == [(BOXES, AWKWARD), (None, ["x;y,z"])]
    shapes = q.shapes_json(conn, ids=ids)
    assert [(s.boxes, s.semis) for s in shapes] == [(BOXES, AWKWARD), (None, ["x;y,z"])]


async def test_async_round_trip(gen: Generated, aconn: psycopg.AsyncConnection[Any]) -> None:
    q = gen.module("queries.aio.q")
    assert await q.echo_semis(aconn, semis=AWKWARD) == AWKWARD
    assert await q.echo_boxes(aconn, boxes=BOXES) == BOXES
    h = _holder(gen)
    assert await q.echo_holder(aconn, h=h) == h


def test_generated_code_passes_mypy_and_ruff(gen: Generated) -> None:
    gen.mypy()
    gen.ruff()
