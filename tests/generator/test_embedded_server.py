"""The embedded analyzer server: starts with no server given, as root too, with contrib.

These tests always start the embedded server of their own (in a temporary cache
directory), whatever ``MULTICA_DB_ANALYZER_URL`` says, so CI covers the path a
user without a PostgreSQL takes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from multica_db_codegen.analyze import server
from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.errors import GenerateError
from tests.pg import fresh_database


@pytest.fixture(scope="module")
def embedded() -> Iterator[str]:
    """The URL of an embedded server started the way ``generate`` starts it."""
    mp = pytest.MonkeyPatch()
    cache = Path(tempfile.mkdtemp(prefix="multica-db-embedded-"))
    cache.chmod(0o755)  # run as root, the server's own user must reach its data
    mp.delenv("MULTICA_DB_ANALYZER_URL", raising=False)
    mp.setenv("XDG_CACHE_HOME", str(cache))
    # root's PATH often lacks /usr/sbin (where useradd lives): start without it
    mp.setenv("PATH", os.pathsep.join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir()))
    try:
        yield server.server_url(None)
    finally:
        server.stop_embedded_server(server.embedded_data_dir())
        mp.undo()
        shutil.rmtree(cache, ignore_errors=True)


def test_the_embedded_server_has_contrib(embedded: str) -> None:
    with psycopg.connect(embedded, autocommit=True) as conn:
        rows = conn.execute("SELECT name FROM pg_available_extensions").fetchall()
        major = conn.info.server_version // 10000
    names = {r[0] for r in rows}
    assert {"citext", "hstore", "ltree", "pg_trgm", "btree_gist", "vector"} <= names
    assert major == int(server.embedded_version().split(".")[0])
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # PostgreSQL never runs as root
        owner = server.embedded_data_dir().stat().st_uid
        assert owner != 0


SCHEMA = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE account (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    email citext NOT NULL,
    attrs hstore,
    secret bytea DEFAULT digest('x', 'sha256'),
    password text DEFAULT crypt('pw', gen_salt('bf'))
);
CREATE INDEX account_email_trgm ON account USING gin ((email::text) gin_trgm_ops);
INSERT INTO account (email) VALUES ('A@example.com');
"""


def test_a_schema_using_extensions_loads_on_the_embedded_server(
    embedded: str, tmp_path: Path
) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    chunks = load_schema([tmp_path / "schema.sql"])
    with (
        fresh_database(embedded, prefix="multica_embedded") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        notes = apply_schema(conn, chunks)
        installed = {r[0] for r in conn.execute("SELECT extname FROM pg_extension").fetchall()}
        available = {
            r[0] for r in conn.execute("SELECT name FROM pg_available_extensions").fetchall()
        }
        # the real extension where the server has it, a stand-in (and a warning) elsewhere
        for ext in ("pgcrypto", "uuid-ossp"):
            if ext in available:
                assert ext in installed
            else:
                assert any(f"CREATE EXTENSION {ext}" in n and "stand-in" in n for n in notes)
        assert {"citext", "hstore", "pg_trgm"} <= installed
        row = conn.execute("SELECT email = 'a@EXAMPLE.com', secret FROM account").fetchone()
        assert row is not None and row[0] is True and len(row[1]) == 32
        # queries type as with the extension
        described = conn.execute(
            "SELECT pg_typeof(digest(%s::text, 'sha256'))::text, "
            "pg_typeof(uuid_generate_v5(uuid_ns_url(), 'x'))::text",
            ("a",),
        ).fetchone()
        assert described == ("bytea", "uuid")


def test_a_data_directory_that_cannot_start_is_an_error_not_a_traceback(
    embedded: str, tmp_path: Path
) -> None:
    broken = tmp_path / "cache" / "broken"
    broken.mkdir(parents=True)
    (broken / "PG_VERSION").write_text("9\n")  # looks initialized, is not
    os.chmod(tmp_path, 0o755)
    with pytest.raises(GenerateError) as err:
        server.embedded_server_url(broken)
    said = str(err.value)
    assert "the embedded PostgreSQL server did not start" in said
    assert "--database-url" in said


def test_the_pgvector_stand_in_matches_pgvector(embedded: str) -> None:
    """The embedded server has pgvector: every stand-in has its exact signature there."""
    from multica_db_codegen.analyze.standins import standin_sql

    signatures = (
        "SELECT p.proname, replace(pg_get_function_identity_arguments(p.oid), %s, 'S'), "
        "replace(format_type(p.prorettype, NULL), %s, 'S') "
        "FROM pg_proc p WHERE p.pronamespace = %s::regnamespace"
    )
    operators = (
        "SELECT oprname, replace(format_type(oprleft, NULL), %s, 'S'), "
        "replace(format_type(oprresult, NULL), %s, 'S') "
        "FROM pg_operator WHERE oprnamespace = %s::regnamespace"
    )
    with (
        fresh_database(embedded, prefix="multica_embedded") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        conn.execute(b"CREATE SCHEMA real_ext; CREATE SCHEMA stand_in")
        conn.execute(b"CREATE EXTENSION vector WITH SCHEMA real_ext")
        conn.execute(standin_sql("vector", "stand_in").encode())
        found = {}
        for schema in ("real_ext", "stand_in"):
            args = (f"{schema}.", f"{schema}.", schema)
            found[schema] = (
                set(conn.execute(signatures, args).fetchall()),
                set(conn.execute(operators, args).fetchall()),
            )
    (real_fns, real_ops), (stand_fns, stand_ops) = found["real_ext"], found["stand_in"]
    assert stand_fns - real_fns == set()
    assert stand_ops - real_ops == set()
