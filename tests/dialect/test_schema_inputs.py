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
    require_extensions(pg_server, "pg_trgm")  # the dbmate file creates it (pgcrypto: stood in)
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
    bad = "CREATE TABLE ok (id int);\n\nCREATE VIEW bad AS SELECT id, nope FROM ok;\n"
    _write(tmp_path, {"s/001_x.up.sql": bad})
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "s"]))
    text = str(err.value)
    assert f"{tmp_path / 's' / '001_x.up.sql'}:3:31:" in text
    assert 'column "nope" does not exist' in text


def test_error_inside_a_goose_up_section_keeps_file_positions(
    tmp_path: Path, scratch: Conn
) -> None:
    text = "-- +goose Up\nCREATE TABLE t (id int);\nCREATE VIEW v AS SELECT nope FROM t;\n"
    _write(tmp_path, {"g.sql": text})
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "g.sql"]))
    assert f"{tmp_path / 'g.sql'}:3:25:" in str(err.value)


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
    # only b's default needs it: b is made without it, as sqlc reads b
    notes = apply_schema(scratch, load_schema([tmp_path / "f.sql"]))
    assert scratch.execute("SELECT to_regclass('b')::text").fetchone() == ("b",)
    assert any("no_such_fn" in n and "default of id left out" in n for n in notes), notes
    _write(
        tmp_path,
        {"g.sql": "CREATE EXTENSION no_such_ext;\nCREATE TABLE c (id no_such_ext_type);\n"},
    )
    # c's type is not there either: c is made with a text domain for it, as sqlc reads c
    notes = apply_schema(scratch, load_schema([tmp_path / "g.sql"]))
    assert scratch.execute("SELECT to_regclass('c')::text").fetchone() == ("c",)
    assert any(
        'type "no_such_ext_type" does not exist' in n and "no_such_ext" in n for n in notes
    ), notes


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
            "  CREATE VIEW cv AS SELECT missing FROM c;\n"
        },
    )
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "c.sql"]))
    assert f"{tmp_path / 'c.sql'}:3:28:" in str(err.value)


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


# A migration shaped like real ones: a comment that talks about CREATE EXTENSION above a
# DO block whose EXCEPTION handler forgives an extension the server cannot load.
GUARDED_EXTENSION = """-- Enable pg_cron if available. The CREATE EXTENSION is wrapped in
-- DO/EXCEPTION so environments without it skip gracefully; see migration 032.
--   SELECT cron.schedule('rollup', '*/5 * * * *', $$SELECT rollup()$$);
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS no_such_cron_ext;
EXCEPTION
    WHEN OTHERS THEN
        RAISE NOTICE 'not available; skipping. Use your platform''s scheduler.';
END
$$;

-- Health check helper; returns NULL when the rollup never ran.
CREATE OR REPLACE FUNCTION rollup_lag() RETURNS double precision
LANGUAGE sql STABLE AS $$
    SELECT 1.5::double precision;
$$;
"""


def test_comment_about_an_extension_above_a_guarded_do_block(tmp_path: Path, scratch: Conn) -> None:
    _write(tmp_path, {"m/076_cron.up.sql": GUARDED_EXTENSION, "m/076_cron.down.sql": "x"})
    (chunk,) = load_schema([tmp_path / "m"])
    assert chunk.sql == GUARDED_EXTENSION  # nothing blanked, nothing skipped
    assert apply_schema(scratch, [chunk]) == []
    assert scratch.execute("SELECT rollup_lag()").fetchone() == (1.5,)


# pg_dump output as sqlc reads it (its end-to-end corpus has one): psql commands,
# settings, the public schema that every database already has, ownership, comments on
# extensions, COPY data with tabs and quotes, grants.
PG_DUMP = r"""--
-- PostgreSQL database dump
--

\restrict AbC123

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

CREATE SCHEMA public;

ALTER SCHEMA public OWNER TO pg_database_owner;

COMMENT ON SCHEMA public IS 'standard public schema';

CREATE EXTENSION IF NOT EXISTS plpgsql WITH SCHEMA pg_catalog;

COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language';

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: authors; Type: TABLE; Schema: public; Owner: someone_else
--

CREATE TABLE public.authors (
    id bigint NOT NULL,
    name text NOT NULL,
    bio text
);

ALTER TABLE public.authors OWNER TO someone_else;

CREATE SEQUENCE public.authors_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.authors_id_seq OWNER TO someone_else;

ALTER SEQUENCE public.authors_id_seq OWNED BY public.authors.id;

ALTER TABLE ONLY public.authors ALTER COLUMN id
    SET DEFAULT nextval('public.authors_id_seq'::regclass);

COPY public.authors (id, name, bio) FROM stdin;
1	O'Brien	likes ; and -- and $$
2	\N	CREATE EXTENSION nope;
\.

ALTER TABLE ONLY public.authors
    ADD CONSTRAINT authors_pkey PRIMARY KEY (id);

REVOKE USAGE ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO PUBLIC;

--
-- PostgreSQL database dump complete
--

\unrestrict AbC123
"""


def test_pg_dump_loads_the_way_sqlc_reads_it(tmp_path: Path, scratch: Conn) -> None:
    _write(tmp_path, {"schema.sql": PG_DUMP})
    chunks = load_schema([tmp_path / "schema.sql"])
    notes = apply_schema(scratch, chunks)
    path = tmp_path / "schema.sql"
    line = PG_DUMP[: PG_DUMP.index("CREATE SCHEMA public")].count("\n") + 1
    assert any(
        n.startswith(f"{path}:{line}: ") and 'schema "public" already exists' in n for n in notes
    ), notes
    cols = scratch.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
        "WHERE attrelid = 'public.authors'::regclass AND attnum > 0 ORDER BY attnum"
    ).fetchall()
    assert cols == [("id", "bigint", True), ("name", "text", True), ("bio", "text", False)]
    # the dump's data is not schema: never loaded (sqlc reads none either)
    assert scratch.execute("SELECT count(*) FROM public.authors").fetchone() == (0,)
    # the dump's empty search_path ended with the file
    assert scratch.execute("SELECT current_setting('search_path')").fetchone() != ("",)


def test_a_forgiven_failure_inside_the_files_own_transaction(tmp_path: Path, scratch: Conn) -> None:
    text = "BEGIN;\nCREATE SCHEMA public;\nCREATE TABLE after_it (id int);\nCOMMIT;\n"
    _write(tmp_path, {"m/001_t.up.sql": text})
    notes = apply_schema(scratch, load_schema([tmp_path / "m"]))
    assert [n.split(": ", 1)[0] for n in notes] == [f"{tmp_path / 'm' / '001_t.up.sql'}:2"]
    assert scratch.execute("SELECT to_regclass('after_it') IS NOT NULL").fetchone() == (True,)


def test_a_real_error_keeps_its_position_message_and_hint(tmp_path: Path, scratch: Conn) -> None:
    text = (
        "-- CREATE EXTENSION in a comment; DO $$ BEGIN\n"
        "CREATE SCHEMA public;\n"  # forgiven: it exists
        "CREATE TABLE a (id int);\n"
        "CREATE VIEW v AS SELECT lower(id, id) FROM a;\n"
    )
    _write(tmp_path, {"m/001_v.up.sql": text})
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "m"]))
    said = str(err.value)
    assert f"{tmp_path / 'm' / '001_v.up.sql'}:4:25: schema error: function lower" in said
    assert "No function matches the given name and argument types" in said  # the hint


def test_markers_inside_strings_and_bodies_are_not_markers(tmp_path: Path, scratch: Conn) -> None:
    text = (
        "-- +goose Up\n"
        "CREATE TABLE m (v text);\n"
        "INSERT INTO m VALUES ('\n-- +goose Down\n');\n"
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n-- +goose Down\nSELECT 'x'\n$$;\n"
        "-- +goose Down\n"
        "DROP TABLE m;\n"
    )
    _write(tmp_path, {"g/001_m.sql": text})
    apply_schema(scratch, load_schema([tmp_path / "g"]))
    assert scratch.execute("SELECT v FROM m").fetchall() == [("\n-- +goose Down\n",)]
    assert scratch.execute("SELECT f()").fetchone() == ("x",)


def test_a_newer_pg_dumps_settings_are_skipped_with_a_warning(
    tmp_path: Path, scratch: Conn
) -> None:
    _write(
        tmp_path, {"schema.sql": "SET no_such_setting_anywhere = 0;\nCREATE TABLE t (id int);\n"}
    )
    notes = apply_schema(scratch, load_schema([tmp_path / "schema.sql"]))
    assert len(notes) == 1 and notes[0].startswith(f"{tmp_path / 'schema.sql'}:1: ")
    assert "no_such_setting_anywhere" in notes[0]
    assert scratch.execute("SELECT to_regclass('t') IS NOT NULL").fetchone() == (True,)


# Migrations written for SQLite and PostgreSQL at once, data migrations calling SQLite
# functions, a trigger on a function a later migration renamed: sqlc reads none of it.
TWO_ENGINES = {
    "m/001_invoices.up.sql": (
        "CREATE TABLE invoices (\n"
        "    id INTEGER PRIMARY KEY,\n"
        "    hash BLOB NOT NULL UNIQUE,\n"
        "    settled DATETIME\n"
        ");\n"
    ),
    "m/002_backfill.up.sql": (
        "INSERT INTO invoices (id, hash) SELECT 1, unhex(replace('00-11', '-', ''));\n"
        "CREATE TRIGGER touch BEFORE UPDATE ON invoices\n"
        "    FOR EACH ROW EXECUTE FUNCTION no_such_function();\n"
        "CREATE INDEX invoices_settled ON invoices (settled);\n"
    ),
}


def test_statements_sqlc_does_not_read_are_left_out_when_they_fail(
    tmp_path: Path, scratch: Conn
) -> None:
    _write(tmp_path, TWO_ENGINES)
    notes = apply_schema(scratch, load_schema([tmp_path / "m"]))
    first, second = tmp_path / "m" / "001_invoices.up.sql", tmp_path / "m" / "002_backfill.up.sql"
    where = [n.split(": ", 1)[0] for n in notes]
    assert where == [f"{first}:1", f"{first}:1", f"{second}:1", f"{second}:2"]
    assert {'type "blob"' in n and "bytea" in n for n in notes[:2]} == {True, False}
    assert "unhex" in notes[2] and "data" in notes[2]
    assert "no_such_function" in notes[3] and "trigger" in notes[3]
    cols = scratch.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'invoices'::regclass AND attnum > 0 ORDER BY attnum"
    ).fetchall()
    assert cols == [("id", "integer"), ("hash", "blob"), ("settled", "datetime")]
    base = scratch.execute("SELECT typbasetype::regtype::text FROM pg_type WHERE typname = 'blob'")
    assert base.fetchone() == ("bytea",)
    assert scratch.execute("SELECT to_regclass('invoices_settled') IS NOT NULL").fetchone() == (
        True,
    )


def test_a_file_that_is_schema_and_queries_runs_only_its_schema(
    tmp_path: Path, scratch: Conn
) -> None:
    text = (
        "CREATE TABLE a (id int PRIMARY KEY);\n\n"
        "-- name: GetA :one\nSELECT * FROM a WHERE id = $1;\n\n"
        "/* name: DeleteA :exec */\nDELETE FROM a WHERE id = $1;\n"
    )
    _write(tmp_path, {"both.sql": text})
    (chunk,) = load_schema([tmp_path / "both.sql"])
    assert [s.skip for s in chunk.statements] == [None, "a query", "a query"]
    assert apply_schema(scratch, [chunk]) == []
