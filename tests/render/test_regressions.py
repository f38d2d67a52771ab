"""One test per input that once generated broken code (each imported, type-checked and run).

The project below holds every hostile shape at once: tables named like the generated
modules' imports, queries whose names fold to one function, files named like keywords
or the ``aio`` package, empty files, two files with one base name, jsonb and composite
parameters in batches and COPY, multidimensional arrays, a connection with another
row factory, and a migration deployed before the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.dialect.harness import Generated, database_with, generate, write_project

SCHEMA = """
CREATE TYPE mood AS ENUM ('a', 'A', '2x', 'class', 'name');
CREATE TYPE address AS (street text, n int);
CREATE TABLE base_model (id serial PRIMARY KEY, "class" text, "list" text, tags text[]);
CREATE TABLE str_enum (id serial PRIMARY KEY, label text NOT NULL);
CREATE TABLE json_value (
    id serial PRIMARY KEY,
    b jsonb NOT NULL,
    e jsonb,
    docs jsonb[],
    grid text[][],
    addr address,
    addrs address[],
    moods mood[]
);
"""

QUERIES = {
    "urls.sql": """
-- name: GetURL :one
SELECT id, label FROM str_enum WHERE id = $1;

-- name: GetUrl :one
SELECT id, label FROM str_enum WHERE label = $1;
""",
    "aio.sql": """
-- name: CountLabels :one
SELECT count(*) FROM str_enum;
""",
    "class.sql": """
-- name: Class :many
SELECT id, "class", "list" FROM base_model ORDER BY id;

-- name: AddBase :one
INSERT INTO base_model ("class", "list", tags) VALUES (@class, @list, @tags) RETURNING *;
""",
    "empty.sql": "",
    "comments.sql": "-- nothing here yet\n",
    "query.sql": """
-- name: TopLevel :one
SELECT 1 AS one;
""",
    "sql/query.sql": """
-- name: Nested :one
SELECT 2 AS two;
""",
    "docs.sql": """
-- name: InsertDocs :batchexec
INSERT INTO json_value (b, e) VALUES (@b, @e);

-- name: AddAddress :batchexec
INSERT INTO json_value (b, addr) VALUES (@b, @addr);

-- name: AddDocs :one
INSERT INTO json_value (b, docs, moods) VALUES (@b, @docs, @moods) RETURNING id;

-- name: CopyValues :copyfrom
INSERT INTO json_value (b, addr, addrs, docs) VALUES ($1, $2, $3, $4);

-- name: AllValues :many
SELECT id, b, e, docs, addr, addrs, moods FROM json_value ORDER BY id;
""",
    "grid.sql": """
-- name: SetGrid :one
INSERT INTO json_value (b, grid) VALUES ('{}', @grid::text[][]) RETURNING id;

-- name: GetGrid :one
SELECT grid FROM json_value WHERE id = $1;

-- name: GetE :one
SELECT e FROM json_value WHERE id = $1;

-- name: MaxE :one
SELECT max(id) FROM json_value;
""",
    "ambiguous.sql": """
-- name: Ambiguous :many
SELECT id AS l, label AS "O", id + 1 AS "I" FROM str_enum WHERE label = @l;
""",
    "star.sql": """
-- name: AllBase :many
SELECT * FROM base_model ORDER BY id;

-- name: BaseByClass :one
SELECT b.* FROM base_model b WHERE b."class" = $1;

-- name: AddLabel :one
INSERT INTO str_enum (label) VALUES ($1) RETURNING *;

-- name: LabelsWithBase :many
SELECT s.*, b.* FROM str_enum s JOIN base_model b ON b.id = s.id ORDER BY s.id;

-- name: BareStarOverJoin :many
SELECT * FROM str_enum s JOIN base_model b ON b.id = s.id ORDER BY s.id;

-- name: StarUsing :many
SELECT * FROM str_enum s LEFT JOIN base_model b USING (id) ORDER BY id;

-- name: StarNatural :many
SELECT * FROM str_enum NATURAL JOIN base_model ORDER BY id;

-- name: StarFromCte :many
WITH base_model AS (SELECT 1 AS one) SELECT * FROM str_enum s, base_model;
""",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Generated:
    root = tmp_path_factory.mktemp("hostile")
    write_project(root, schema={"001.up.sql": SCHEMA}, queries=QUERIES, package="hostilepkg")
    return generate(root, pg_server, "hostilepkg")


@pytest.fixture
def db(hostile: Generated, pg_server: str) -> Iterator[psycopg.Connection[Any]]:
    with (
        database_with(pg_server, [hostile.root.parent / "schema"]) as url,
        psycopg.connect(url) as conn,
    ):
        yield conn


def test_the_whole_package_passes_ruff_and_mypy_strict(hostile: Generated) -> None:
    hostile.ruff()
    hostile.mypy()


def test_tables_named_like_imports_do_not_shadow_them(hostile: Generated) -> None:
    models = hostile.module("models")
    import pydantic

    for name in ("BaseModel", "JsonValue", "StrEnum"):
        cls = getattr(models, name)
        assert issubclass(cls, pydantic.BaseModel), name
    assert set(models.Mood.__members__) == {"A", "A_2", "V_2X", "CLASS", "NAME"}


def test_queries_folding_to_one_name_get_two_functions(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    urls = hostile.module("queries.urls")
    db.execute("INSERT INTO str_enum (label) VALUES ('x')")
    assert urls.get_url(db, id=1).label == "x"
    assert urls.get_url_2(db, label="x").id == 1


def test_files_named_aio_class_or_empty_generate_modules(hostile: Generated) -> None:
    out = hostile.root / "hostilepkg" / "queries"
    names = sorted(p.name for p in out.glob("*.py"))
    assert {"aio_.py", "class_.py", "empty.py", "comments.py"} <= set(names)
    assert (out / "aio" / "__init__.py").is_file()
    hostile.module("queries.aio_")
    hostile.module("queries.aio.aio_")
    hostile.module("queries.empty")


def test_same_base_name_in_two_folders_gives_two_modules(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    assert hostile.module("queries.query").top_level(db) == 1
    assert hostile.module("queries.sql_query").nested(db) == 2


def test_keyword_and_builtin_names_are_safe(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    q = hostile.module("queries.class_")
    row = q.add_base(db, class_="c", list_="l", tags=["t"])
    assert (row.class_, row.list_, row.tags) == ("c", "l", ["t"])
    assert [(r.class_, r.list_) for r in q.class_(db)] == [("c", "l")]


def test_names_pycodestyle_calls_ambiguous_are_dodged(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    """``l``, ``O`` and ``I`` fail E741 of a user's linter: fields and parameters get ``_``."""
    q = hostile.module("queries.ambiguous")
    db.execute("INSERT INTO str_enum (label) VALUES ('x')")
    [row] = q.ambiguous(db, l_="x")
    assert (row.O_, row.I_ - row.l_) == ("x", 1)


def test_jsonb_parameters_in_a_batch_named_like_locals(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    q = hostile.module("queries.docs")
    q.insert_docs(db, [q.InsertDocsParams({"k": [1, 2]}, None), ({"t": True}, [1, "x"])])
    got = [(r.b, r.e) for r in q.all_values(db)]
    assert got == [({"k": [1, 2]}, None), ({"t": True}, [1, "x"])]


def test_composite_parameter_in_a_batch(hostile: Generated, db: psycopg.Connection[Any]) -> None:
    q = hostile.module("queries.docs")
    m = hostile.module("models")
    home = m.Address(street='1, "Main" St', n=7)
    q.add_address(db, [q.AddAddressParams({}, home), ({}, None)])
    assert [r.addr for r in q.all_values(db)] == [home, None]


def test_jsonb_and_enum_arrays_as_parameters(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    q = hostile.module("queries.docs")
    m = hostile.module("models")
    docs = [{"a": 1}, None, [1, 2], "s"]
    q.add_docs(db, b={}, docs=docs, moods=[m.Mood.CLASS, m.Mood.A_2])
    [row] = q.all_values(db)
    assert row.docs == docs and row.moods == [m.Mood.CLASS, m.Mood.A_2]


def test_copy_into_composite_and_jsonb_array_columns_from_plain_tuples(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    q = hostile.module("queries.docs")
    m = hostile.module("models")
    home = m.Address(street="x", n=None)
    rows = [({"a": 1}, home, [home, None], [{"b": 2}]), q.CopyValuesParams([], None, None, None)]
    assert q.copy_values(db, rows) == 2
    got = [(r.b, r.addr, r.addrs, r.docs) for r in q.all_values(db)]
    assert got == [({"a": 1}, home, [home, None], [{"b": 2}]), ([], None, None, None)]


def test_rows_do_not_depend_on_the_connections_row_factory(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    q = hostile.module("queries.class_")
    db.row_factory = dict_row  # type: ignore[assignment]
    row = q.add_base(db, class_="c", list_=None, tags=None)
    assert row.class_ == "c" and isinstance(row.id, int)
    assert hostile.module("queries.aio_").count_labels(db) == 0


def test_multidimensional_arrays_are_nested_lists(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    q = hostile.module("queries.grid")
    grid = [["a", None], ["b c", '"q"']]
    new_id = q.set_grid(db, grid=grid)
    found = q.get_grid(db, id=new_id)
    assert found is not None and found.grid == grid
    models = (hostile.root / "hostilepkg" / "models.py").read_text()
    assert "grid: list[list[str | None]] | None" in models


def test_one_nullable_column_tells_no_row_from_null(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    q = hostile.module("queries.grid")
    assert q.get_e(db, id=12345) is None  # no row
    new_id = q.set_grid(db, grid=None)
    found = q.get_e(db, id=new_id)
    assert found is not None and found.e is None  # a row whose value is NULL
    assert q.max_e(db) == new_id  # an aggregate always has its row: the value itself


def test_select_star_survives_a_column_added_after_generation(
    hostile: Generated, db: psycopg.Connection[Any]
) -> None:
    q = hostile.module("queries.star")
    base = hostile.module("queries.class_")
    base.add_base(db, class_="c", list_=None, tags=None)
    db.execute("ALTER TABLE base_model ADD COLUMN twitter text DEFAULT 'x'")
    db.execute("ALTER TABLE str_enum ADD COLUMN extra int DEFAULT 1")
    label = q.add_label(db, label="l")
    assert (label.id, label.label) == (1, "l")
    assert [r.class_ for r in q.all_base(db)] == ["c"]
    found = q.base_by_class(db, class_="c")
    assert found is not None and found.list_ is None
    [both] = q.labels_with_base(db)
    assert (both.label, both.class_) == ("l", "c")
    [bare] = q.bare_star_over_join(db)
    assert (bare.label, bare.class_) == ("l", "c")
    for joined in (q.star_using(db), q.star_natural(db)):
        assert [(r.id, r.label, r.class_) for r in joined] == [(1, "l", "c")]
    # A CTE named like a table: the catalog's columns are not the CTE's, so the
    # star is kept as written rather than expanded wrongly.
    assert "*" in q.STAR_FROM_CTE
    for sql in (
        q.ALL_BASE,
        q.LABELS_WITH_BASE,
        q.BARE_STAR_OVER_JOIN,
        q.ADD_LABEL,
        q.STAR_USING,
        q.STAR_NATURAL,
    ):
        assert "*" not in sql


def test_an_override_type_without_its_module_is_a_config_error_and_nothing_is_written(
    tmp_path: Path, pg_server: str
) -> None:
    from multica_db_codegen.errors import GenerateError
    from multica_db_codegen.processors import run_generate

    write_project(
        tmp_path,
        schema={"001.up.sql": "CREATE TABLE t (id int PRIMARY KEY, n numeric);"},
        queries={"q.sql": "-- name: GetT :one\nSELECT id, n FROM t WHERE id = $1;\n"},
        package="badoverride",
        extra_toml='[[tool.multica-db.overrides]]\ndb_type = "numeric"\npython_type = "Decimal"\n',
    )
    with pytest.raises(GenerateError, match="'Decimal' is neither a builtin nor a dotted path"):
        run_generate(cwd=tmp_path, database_url=pg_server)
    assert not (tmp_path / "out").exists()
