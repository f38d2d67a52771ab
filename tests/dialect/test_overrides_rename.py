"""[tool.multica-db] overrides (by database type, by table.column) and rename."""

from __future__ import annotations

import decimal
import typing
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from multica_db_codegen.errors import GenerateError
from multica_db_codegen.project import Config, Flags, load_project
from tests.dialect.harness import Generated, database_with, generate, write_project

SCHEMA = """
CREATE TYPE item_status AS ENUM ('draft', 'live');
CREATE DOMAIN cents AS bigint CHECK (VALUE >= 0);
CREATE TYPE price_pair AS (amount numeric, steps numeric[]);
CREATE TABLE item (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code text NOT NULL,
    price numeric(12, 2) NOT NULL,
    shipping cents NOT NULL DEFAULT 0,
    status item_status NOT NULL DEFAULT 'draft',
    notes text,
    pair price_pair,
    labels jsonb
);
"""

QUERIES = """
-- name: CreateItem :one
INSERT INTO item (code, price, shipping) VALUES ($1, $2, $3) RETURNING *;

-- name: ItemCodes :many
SELECT code, price, shipping, notes FROM item ORDER BY code;

-- name: ItemPairs :many
SELECT pair FROM item ORDER BY code;

-- name: ItemsAsJson :one
SELECT json_agg(i ORDER BY i.code) AS items FROM item i;

-- name: SetLabels :exec
UPDATE item SET labels = @labels WHERE id = @id;

-- name: ItemLabels :one
SELECT labels FROM item WHERE id = @id;

-- name: ItemIds :many
SELECT id FROM item WHERE id = ANY(@ids::uuid[]);
"""

OVERRIDES = """
[[tool.multica-db.overrides]]
db_type = "numeric"
python_type = "float"

[[tool.multica-db.overrides]]
column = "item.code"
python_type = "custom_types.Code"

[[tool.multica-db.overrides]]
column = "item.labels"
python_type = "list[custom_types.Label] | None"

[[tool.multica-db.overrides]]
db_type = "cents"
python_type = "custom_types.Cents"

[tool.multica-db.rename]
item = "Product"
item_status = "ProductState"
"item.notes" = "remarks"
"""

CUSTOM_TYPES = '''"""Types a project maps columns to."""

import pydantic


class Label(pydantic.BaseModel):
    """A label, kept in a jsonb list."""

    name: str
    weight: int = 1


class Code(str):
    """An item code."""


class Cents(int):
    """Money in cents."""
'''


@pytest.fixture(scope="module")
def overridden(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Generated:
    root = tmp_path_factory.mktemp("overrides")
    write_project(
        root,
        schema={"schema.sql": SCHEMA},
        queries={"items.sql": QUERIES},
        package="overpkg",
        extra_toml=OVERRIDES,
    )
    (root / "out").mkdir()
    (root / "out" / "custom_types.py").write_text(CUSTOM_TYPES)
    return generate(root, pg_server, "overpkg")


def test_overrides_and_renames_shape_the_models(overridden: Generated) -> None:
    m = overridden.module("models")
    custom = pytest.importorskip("custom_types")
    assert not hasattr(m, "Item") and not hasattr(m, "ItemStatus")
    hints = typing.get_type_hints(m.Product)
    assert hints["code"] is custom.Code
    assert hints["price"] is float
    assert hints["shipping"] is custom.Cents  # the domain's override, not bigint's
    assert hints["remarks"] == str | None
    assert hints["status"] is m.ProductState
    assert hints["labels"] == list[custom.Label] | None
    q = overridden.module("queries.items")
    params = typing.get_type_hints(q.create_item)
    assert params["code"] is custom.Code  # the column's override reaches its parameter
    assert (params["price"], params["shipping"]) == (float, custom.Cents)
    overridden.mypy()
    overridden.ruff()


def test_overridden_values_at_run_time(overridden: Generated, pg_server: str) -> None:
    q = overridden.module("queries.items")
    custom = pytest.importorskip("custom_types")
    with (
        database_with(pg_server, [overridden.root.parent / "schema"]) as url,
        psycopg.connect(url) as conn,
    ):
        item = q.create_item(conn, code=custom.Code("A-1"), price=9.5, shipping=custom.Cents(250))
        assert type(item.code) is custom.Code and item.code == "A-1"
        assert type(item.price) is float and item.price == 9.5
        assert type(item.shipping) is custom.Cents and item.shipping == 250
        [row] = q.item_codes(conn)
        assert (type(row.code), type(row.price), type(row.shipping)) == (
            custom.Code,
            float,
            custom.Cents,
        )
        assert row.remarks is None
        # inside a composite, and inside JSON the statement builds: the same types
        conn.execute("UPDATE item SET pair = ROW(1.25, ARRAY[2.5, NULL])")
        [pair] = q.item_pairs(conn)
        assert pair is not None and (pair.amount, pair.steps) == (1.25, [2.5, None])
        assert type(pair.amount) is float and type(pair.steps[0]) is float
        [built] = q.items_as_json(conn) or []
        assert (type(built.code), type(built.price), type(built.shipping)) == (
            custom.Code,
            float,
            custom.Cents,
        )
        assert (built.code, built.price, built.shipping) == ("A-1", 9.5, 250)
        assert built.pair is not None and type(built.pair.amount) is float
        assert built.pair.steps == [2.5, None] and type(built.pair.steps[0]) is float
        assert q.item_ids(conn, ids=[item.id, uuid.uuid4()]) == [item.id]
        # a jsonb column typed by a type expression (any type pydantic.TypeAdapter takes)
        labels = [custom.Label(name="new"), custom.Label(name="hot", weight=3)]
        q.set_labels(conn, labels=labels, id=item.id)
        got = q.item_labels(conn, id=item.id)
        assert got is not None and got.labels == labels
        assert conn.execute("SELECT labels FROM item").fetchone() == (
            [{"name": "new", "weight": 1}, {"name": "hot", "weight": 3}],
        )


def test_a_type_expression_types_only_json(tmp_path: Path, pg_server: str) -> None:
    write_project(
        tmp_path,
        schema={"schema.sql": SCHEMA},
        queries={"items.sql": QUERIES},
        package="badexpr",
        extra_toml='[[tool.multica-db.overrides]]\ncolumn = "item.notes"\n'
        'python_type = "list[custom_types.Label]"\n',
    )
    with pytest.raises(GenerateError, match="can only type a json or jsonb column"):
        generate(tmp_path, pg_server, "badexpr")


def test_override_needs_exactly_one_of_db_type_or_column(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.multica-db]\nschema = "s"\nqueries = "q"\nout = "o"\n'
        '[[tool.multica-db.overrides]]\npython_type = "int"\ndb_type = "x"\ncolumn = "t.c"\n'
    )
    with pytest.raises(GenerateError, match="exactly one of db_type or column"):
        load_config(cwd=tmp_path)


def test_rename_to_an_invalid_identifier_is_an_error(tmp_path: Path, pg_server: str) -> None:
    write_project(
        tmp_path,
        schema={"schema.sql": SCHEMA},
        queries={"items.sql": QUERIES},
        package="badrename",
        extra_toml='[tool.multica-db.rename]\nitem = "not valid"\n',
    )
    with pytest.raises(GenerateError, match="not a valid Python identifier"):
        generate(tmp_path, pg_server, "badrename")


Decimal = decimal.Decimal


def load_config(**flags: Any) -> Config:
    return load_project(Flags(**flags)).packages[0]


Conn = psycopg.Connection[Any]


def test_package_defaults_to_the_out_directory_name(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.multica-db]\nschema = "s"\nqueries = "q"\nout = "src/app_db"\npackage = "app_db"\n'
    )
    assert load_config(cwd=tmp_path).package == "app_db"
    assert load_config(cwd=tmp_path, out=tmp_path / "src" / "app_db").package == "app_db"
    assert load_config(cwd=tmp_path, out=tmp_path / "gen" / "bookstore").package == "bookstore"
    assert load_config(cwd=tmp_path, out=tmp_path / "x", package="pkg").package == "pkg"
