"""Extension stand-ins have the real extensions' signatures.

On a server that has the real extension, both are created side by side and their
functions compared: every stand-in exists in the extension with the same
arguments and result type, and every function of the extension has a stand-in.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.analyze.standins import standin_sql
from tests.pg import fresh_database, require_extensions

SIGNATURES = (
    "SELECT p.proname, pg_get_function_identity_arguments(p.oid), "
    "format_type(p.prorettype, NULL) FROM pg_proc p WHERE p.pronamespace = %s::regnamespace"
)


@pytest.mark.parametrize("extension", ["pgcrypto", "uuid-ossp"])
def test_stand_ins_match_the_real_extension(pg_server: str, extension: str) -> None:
    require_extensions(pg_server, extension)
    with (
        fresh_database(pg_server, prefix="multica_standin") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        conn.execute(b"CREATE SCHEMA real_ext; CREATE SCHEMA stand_in")
        conn.execute(f'CREATE EXTENSION "{extension}" WITH SCHEMA real_ext'.encode())
        conn.execute(standin_sql(extension, "stand_in").encode())
        real = set(conn.execute(SIGNATURES, ("real_ext",)).fetchall())
        stand = set(conn.execute(SIGNATURES, ("stand_in",)).fetchall())
    assert stand - real == set()
    assert real - stand == set()


def test_stand_ins_land_in_the_first_schema_of_the_search_path(pg_server: str) -> None:
    with (
        fresh_database(pg_server, prefix="multica_standin") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        conn.execute(b"CREATE SCHEMA first_one; SET search_path = first_one, public")
        conn.execute(standin_sql("uuid-ossp", None).encode())
        found = conn.execute("SELECT uuid_nil()::text, pg_typeof(uuid_generate_v4())::text")
        assert found.fetchone() == ("00000000-0000-0000-0000-000000000000", "uuid")
        where = conn.execute(
            "SELECT pronamespace::regnamespace::text FROM pg_proc WHERE proname = 'uuid_nil'"
        ).fetchall()
        assert where == [("first_one",)]


VECTOR_SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE doc (id int PRIMARY KEY, embedding vector(3), half halfvec(2));
CREATE INDEX doc_embedding ON doc USING hnsw (embedding vector_cosine_ops);
INSERT INTO doc VALUES (1, '[1,2,3]', '[1,2]');
"""


def test_pgvector_stand_in_types_its_columns_and_operators(pg_server: str, tmp_path: Path) -> None:
    """Where the server lacks pgvector (a superuser's stand-in types it)."""
    (tmp_path / "schema.sql").write_text(VECTOR_SCHEMA)
    with (
        fresh_database(pg_server, prefix="multica_standin") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        has = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if has.fetchone():
            pytest.skip("the test server has pgvector: the stand-in is not used")
        notes = apply_schema(conn, load_schema([tmp_path / "schema.sql"]))
        assert any("CREATE EXTENSION vector" in n and "stand-in" in n for n in notes), notes
        assert any("doc_embedding" in n or "hnsw" in n for n in notes), notes
        cols = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'doc'::regclass AND attnum > 0 ORDER BY attnum"
        ).fetchall()
        assert cols == [("id", "integer"), ("embedding", "vector(3)"), ("half", "halfvec(2)")]
        typed = conn.execute(
            "SELECT pg_typeof(embedding <=> '[1,1,1]')::text, pg_typeof(l2_distance(half, half))"
            "::text FROM doc"
        ).fetchone()
        assert typed == ("double precision", "double precision")
