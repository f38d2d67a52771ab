"""Applying the schema to the analyzer's database: all files at once when safe, else one by one.

Both ways must give the same database and, on a bad file, the same located error.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.analyze.server import _one_transaction_safe, apply_schema_at_once
from multica_db_codegen.errors import GenerateError
from tests.pg import fresh_database
from tests.test_migrate import snapshot

ROOT = Path(__file__).resolve().parents[2]


def write(dir_: Path, files: dict[str, str]) -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (dir_ / name).write_text(text)
    return dir_


def test_at_once_and_file_by_file_build_the_same_database(pg_server: str) -> None:
    chunks = load_schema([ROOT / "src" / "multica_db" / "migrations"])
    assert _one_transaction_safe(chunks)
    snaps = []
    for apply in (apply_schema_at_once, apply_schema):
        with (
            fresh_database(pg_server, prefix="multica_apply") as url,
            psycopg.connect(url, autocommit=True) as conn,
        ):
            apply(conn, chunks)
            snaps.append(snapshot(conn))
    assert snaps[0] == snaps[1] and snaps[0]


def test_error_in_a_later_file_is_located_in_that_file(pg_server: str, tmp_path: Path) -> None:
    schema = write(
        tmp_path / "m",
        {
            "001_a.up.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
            "002_b.up.sql": "CREATE TABLE b (id int REFERENCES a);\n",
            "003_c.up.sql": "CREATE TABLE c (id int);\nCREATE INDEX ON c (nope);\n",
        },
    )
    chunks = load_schema([schema])
    errors = []
    for apply in (apply_schema_at_once, apply_schema):
        with (
            fresh_database(pg_server, prefix="multica_apply") as url,
            psycopg.connect(url, autocommit=True) as conn,
            pytest.raises(GenerateError) as info,
        ):
            apply(conn, chunks)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert '003_c.up.sql:2:1: schema error: column "nope" does not exist' in errors[0]


@pytest.mark.parametrize(
    "text",
    [
        "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n",
        "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
        "SET LOCAL search_path = public;\nCREATE TABLE t (id int);\n",
    ],
)
def test_files_that_control_transactions_are_applied_one_by_one(
    pg_server: str, tmp_path: Path, text: str
) -> None:
    chunks = load_schema([write(tmp_path / "m", {"001_t.up.sql": text})])
    with (
        fresh_database(pg_server, prefix="multica_apply") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        apply_schema_at_once(conn, chunks)
        assert conn.execute("SELECT to_regclass('t') IS NOT NULL").fetchone() == (True,)


def test_words_inside_bodies_and_strings_do_not_count_as_transaction_control(
    tmp_path: Path,
) -> None:
    body = (
        "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$\n"
        "BEGIN RETURN 'COMMIT'; END $$;\n"
        "CREATE TABLE t (s text DEFAULT 'begin; commit');\n"
    )
    chunks = load_schema([write(tmp_path / "m", {"001_f.up.sql": body})])
    assert _one_transaction_safe(chunks)
    unsafe = load_schema([write(tmp_path / "n", {"001_f.up.sql": "COMMIT;\n"})])
    assert not _one_transaction_safe(unsafe)


# What a DO block made, repeated in a file only sqlc reads (sqlc cannot see inside the
# block): the repeat must not stop the schema, and the database keeps the block's version.
COLUMNS = ["slug", "region", "tier", "archived_at"]


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    made=st.sets(st.sampled_from(COLUMNS), min_size=1),
    repeated=st.lists(st.sampled_from(COLUMNS), min_size=1, unique=True),
    table_again=st.booleans(),
)
def test_a_repeat_of_what_a_do_block_made_keeps_the_blocks_version(
    pg_server: str, made: set[str], repeated: list[str], table_again: bool
) -> None:
    if not made & set(repeated) and not table_again:
        repeated = [*repeated, sorted(made)[0]]  # at least one repeat
    block = "".join(f"ALTER TABLE team ADD COLUMN {c} bigint; " for c in sorted(made))
    overrides = ("CREATE TABLE team (id int PRIMARY KEY);\n" if table_again else "") + (
        "ALTER TABLE team " + ", ".join(f"ADD COLUMN {c} text NOT NULL" for c in repeated) + ";\n"
    )
    root = Path(tempfile.mkdtemp(prefix="multica-db-repeat-"))
    write(
        root / "migrations",
        {"001_team.sql": f"CREATE TABLE team (id int PRIMARY KEY);\nDO $$ BEGIN {block}END $$;\n"},
    )
    write(root / "schema", {"sqlc_only.sql": overrides})
    chunks = load_schema([root / "migrations", root / "schema"])
    for apply in (apply_schema_at_once, apply_schema):
        with (
            fresh_database(pg_server, prefix="multica_apply") as url,
            psycopg.connect(url, autocommit=True) as conn,
        ):
            notes = apply(conn, chunks)
            columns = dict(
                conn.execute(
                    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                    " WHERE attrelid = 'team'::regclass AND attnum > 0"
                ).fetchall()
            )
        assert columns == {
            "id": "integer",
            **{c: "text" for c in repeated},
            **{c: "bigint" for c in made},
        }
        assert notes and all("sqlc_only.sql" in n and "IF NOT EXISTS" in n for n in notes)
