"""Schema inputs as real projects keep them, applied the way the analyzer applies them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.errors import GenerateError
from tests.pg import fresh_database, require_extensions


@pytest.fixture
def scratch(pg_server: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with (
        fresh_database(pg_server, prefix="multica_schema") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        yield conn


def _tables(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm') ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_golang_migrate_in_version_order_without_downs(tmp_path: Path, scratch: Conn) -> None:
    _write(
        tmp_path,
        {
            "m/10_later.up.sql": "ALTER TABLE a ADD COLUMN later int;",
            "m/10_later.down.sql": "this is not sql;",
            "m/2_first.up.sql": "CREATE TABLE a (id int);",
            "m/2_first.down.sql": "DROP TABLE a;",
        },
    )
    apply_schema(scratch, load_schema([tmp_path / "m"]))
    cols = scratch.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'a'::regclass AND attnum > 0"
    ).fetchall()
    assert [c[0] for c in cols] == ["id", "later"]


GOOSE = """-- +goose Up
-- +goose StatementBegin
CREATE TABLE g (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.n := NEW.n + 1; -- a semicolon inside a body
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER g_bump BEFORE INSERT ON g FOR EACH ROW EXECUTE FUNCTION bump();
DO $$ BEGIN EXECUTE 'CREATE TABLE from_do (x int)'; END $$;

-- +goose Down
DROP TABLE g; this would fail;
"""

DBMATE = """-- migrate:up
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE d (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text);
CREATE INDEX CONCURRENTLY d_body_trgm ON d USING gin (body gin_trgm_ops);

-- migrate:down
DROP TABLE d;
"""


def test_goose_dbmate_and_plain_files_together(
    tmp_path: Path, scratch: Conn, pg_server: str
) -> None:
    require_extensions(pg_server, "pgcrypto", "pg_trgm")  # the dbmate file creates them
    _write(
        tmp_path,
        {
            "goose/00001_g.sql": GOOSE,
            "dbmate/20240101000000_d.sql": DBMATE,
            "plain.sql": "CREATE VIEW v AS SELECT g.id FROM g JOIN d ON true;",
        },
    )
    chunks = load_schema([tmp_path / "goose", tmp_path / "dbmate", tmp_path / "plain.sql"])
    apply_schema(scratch, chunks)
    assert _tables(scratch) == ["d", "from_do", "g", "v"]
    # the trigger from the goose body works; the CONCURRENTLY index exists
    scratch.execute("INSERT INTO g (id) VALUES (1)")
    assert scratch.execute("SELECT n FROM g").fetchone() == (1,)
    idx = scratch.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'd'").fetchall()
    assert ("d_body_trgm",) in idx


def test_schema_error_points_at_file_line_col(tmp_path: Path, scratch: Conn) -> None:
    bad = "CREATE TABLE ok (id int);\n\nCREATE TABLE bad (id nope);\n"
    _write(tmp_path, {"s/001_x.up.sql": bad})
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "s"]))
    text = str(err.value)
    assert f"{tmp_path / 's' / '001_x.up.sql'}:3:22:" in text
    assert 'type "nope" does not exist' in text


def test_error_inside_a_goose_up_section_keeps_file_positions(
    tmp_path: Path, scratch: Conn
) -> None:
    _write(tmp_path, {"g.sql": "-- +goose Up\nCREATE TABLE t (id int);\nSELECT nope FROM t;\n"})
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "g.sql"]))
    assert f"{tmp_path / 'g.sql'}:3:8:" in str(err.value)


def test_missing_extension_is_skipped_and_named_by_what_needs_it(
    tmp_path: Path, scratch: Conn
) -> None:
    """sqlc never installs extensions: one the server lacks is skipped, not an error."""
    _write(
        tmp_path,
        {"e.sql": "CREATE TABLE a (id int);\nCREATE EXTENSION IF NOT EXISTS no_such_ext;\n"},
    )
    apply_schema(scratch, load_schema([tmp_path / "e.sql"]))
    assert scratch.execute("SELECT count(*) FROM a").fetchone() == (0,)
    _write(
        tmp_path,
        {"f.sql": "CREATE EXTENSION no_such_ext;\nCREATE TABLE b (id int DEFAULT no_such_fn());\n"},
    )
    apply_schema(scratch, load_schema([tmp_path / "f.sql"]))  # b needs it: skipped as well
    assert scratch.execute("SELECT to_regclass('b')").fetchone() == (None,)


def test_missing_schema_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match="does not exist"):
        load_schema([tmp_path / "nowhere"])


Conn = psycopg.Connection[tuple[object, ...]]


def test_error_in_a_concurrently_file_points_into_the_statement(
    tmp_path: Path, scratch: Conn
) -> None:
    _write(
        tmp_path,
        {
            "c.sql": "CREATE TABLE c (id int);\n"
            "CREATE INDEX CONCURRENTLY c_id ON c (id);\n"
            "  SELECT missing FROM c;\n"
        },
    )
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "c.sql"]))
    assert f"{tmp_path / 'c.sql'}:3:10:" in str(err.value)


def test_failing_do_block_is_located(tmp_path: Path, scratch: Conn) -> None:
    _write(
        tmp_path,
        {"do.sql": "CREATE TABLE x (id int);\nDO $$ BEGIN RAISE EXCEPTION 'boom'; END $$;\n"},
    )
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "do.sql"]))
    assert f"{tmp_path / 'do.sql'}:2:1: schema error: boom" in str(err.value)


def test_sql_migrate_and_tern_files(tmp_path: Path, scratch: Conn) -> None:
    _write(
        tmp_path,
        {
            "sm/1_a.sql": "-- +migrate Up\nCREATE TABLE sm (id int);\n"
            "-- +migrate Down\nDROP TABLE nope;\n",
            "tern/001_b.sql": "CREATE TABLE tn (id int);\n"
            "---- create above / drop below ----\nDROP TABLE nope;\n",
        },
    )
    apply_schema(scratch, load_schema([tmp_path / "sm", tmp_path / "tern"]))
    assert _tables(scratch) == ["sm", "tn"]
