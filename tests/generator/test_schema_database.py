"""The schema's database on the analyzer server: built once, reused, built from a spare."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from multica_db_codegen.analyze import server
from multica_db_codegen.analyze.server import (
    SCHEMA_DB_PREFIX,
    SPARE_DB_PREFIX,
    finish_background,
    schema_database,
    with_dbname,
)
from multica_db_codegen.errors import GenerateError


def databases(url: str, prefix: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    return {r[0] for r in rows}


def drop(url: str, names: set[str]) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture
def keys(pg_server: str) -> Iterator[list[str]]:
    """Fresh schema keys; their databases (and any spare left) are dropped afterwards."""
    made: list[str] = []
    yield made
    finish_background()
    drop(pg_server, {SCHEMA_DB_PREFIX + k[:40] for k in made})


def new_key(keys: list[str]) -> str:
    keys.append(secrets.token_hex(20))
    return keys[-1]


def table(sql: str) -> Any:
    return lambda conn: conn.execute(sql.encode())


def test_built_once_then_reused_read_only(pg_server: str, keys: list[str]) -> None:
    key = new_key(keys)
    built: list[int] = []

    def build(conn: psycopg.Connection[Any]) -> None:
        built.append(1)
        conn.execute(b"CREATE TABLE t (id int PRIMARY KEY)")

    url = schema_database(pg_server, key, build)
    assert schema_database(pg_server, key, build) == url
    assert built == [1]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO t VALUES (1)")


def test_a_build_takes_the_spare_and_leaves_a_new_one(pg_server: str, keys: list[str]) -> None:
    schema_database(pg_server, new_key(keys), table("CREATE TABLE a (x int)"))
    finish_background()
    spares = databases(pg_server, SPARE_DB_PREFIX)
    assert spares, "a build leaves a spare database for the next one"
    with psycopg.connect(with_dbname(pg_server, sorted(spares)[0])) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ).fetchone() == (0,)

    url = schema_database(pg_server, new_key(keys), table("CREATE TABLE b (y int)"))
    finish_background()
    after = databases(pg_server, SPARE_DB_PREFIX)
    assert sorted(spares)[0] not in after, "the spare became the new schema's database"
    assert after, "and another spare was made"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('b') IS NOT NULL").fetchone() == (True,)
        assert conn.execute("SELECT to_regclass('a') IS NULL").fetchone() == (True,)


def test_a_spare_in_use_is_skipped(
    pg_server: str, keys: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone connected to the only spare: the build creates its database instead."""
    holder = None
    for _ in range(5):  # a concurrent generator may take a fresh spare before we connect
        busy = f"{SPARE_DB_PREFIX}0busy{secrets.token_hex(4)}"
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{busy}"'.encode())
        try:
            holder = psycopg.connect(with_dbname(pg_server, busy))
            break
        except psycopg.OperationalError:
            continue
    assert holder is not None
    drop(pg_server, databases(pg_server, SPARE_DB_PREFIX) - {busy})
    try:
        with holder:
            url = schema_database(pg_server, new_key(keys), table("CREATE TABLE c (z int)"))
            assert busy in databases(pg_server, SPARE_DB_PREFIX)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('c') IS NOT NULL").fetchone() == (True,)
    finally:
        finish_background()
        drop(pg_server, {busy})


def test_a_failed_build_leaves_nothing_half_made(
    pg_server: str, keys: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key(keys)
    tag = secrets.token_hex(6)  # the build's temporary name: other generators build too
    monkeypatch.setattr(server.secrets, "token_hex", lambda _n: tag)
    with pytest.raises(GenerateError, match="nowhere"):
        server.schema_database(pg_server, key, table("ALTER TABLE nowhere ADD x int"))
    assert not databases(pg_server, SCHEMA_DB_PREFIX + key[:40])
    assert not databases(pg_server, f"multica_db_build_{tag}")


def test_schema_databases_stay_bounded_after_twelve_distinct_schemas(
    pg_server: str, project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most 3 per project and 8 per server, pruned at the start of each run; a database
    someone is connected to (another run using it) is never dropped."""
    from multica_db_codegen.processors import Generate
    from multica_db_codegen.project import Flags
    from multica_db_codegen.runner import Runner

    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", pg_server)
    monkeypatch.delenv("MULTICA_DB_NO_CACHE", raising=False)
    root = project("-- name: One :one\nSELECT 1 AS one;\n")
    schema = root / "schema" / "001_init.up.sql"
    base = schema.read_text()
    tag = secrets.token_hex(4)
    made: list[str] = []
    busy_url = None
    try:
        for i in range(12):
            schema.write_text(base + f"\nCREATE TABLE bound_{tag}_{i} (x int);\n")
            with Runner(Flags(cwd=root)) as gen:
                gen.run(Generate())
                made.append(gen.schema_database())
                if i == 0:  # someone stays connected to the first one all along
                    busy_url = with_dbname(pg_server, made[0])
                    busy = psycopg.connect(busy_url)
        finish_background()
        left = databases(pg_server, SCHEMA_DB_PREFIX)
        mine = [name for name in made if name in left]
        assert made[0] in mine, "a database in use is never dropped"
        assert set(mine) - {made[0]} <= set(made[-3:]), "the project keeps its newest three"
        assert made[-1] in mine
        with psycopg.connect(pg_server, autocommit=True) as admin:
            in_use = {
                r[0]
                for r in admin.execute(
                    "SELECT DISTINCT datname FROM pg_stat_activity WHERE datname IS NOT NULL"
                ).fetchall()
            }
        assert len(left - in_use) <= 8
    finally:
        if busy_url is not None:
            busy.close()
        drop(pg_server, set(made))


@pytest.fixture
def request_cleanup() -> Iterator[list[Callable[[], object]]]:
    todo: list[Callable[[], object]] = []
    yield todo
    for f in todo:
        f()


def test_clean_removes_every_database_and_file_it_made(
    project: Callable[..., Path],
    request_cleanup: list[Callable[[], object]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On an embedded server of its own (``clean --all`` drops every generator database on
    the server it is pointed at: the shared test server is not that)."""
    import shutil
    import tempfile

    from multica_db_codegen import cli
    from multica_db_codegen.processors import Generate
    from multica_db_codegen.project import Flags
    from multica_db_codegen.runner import Runner

    xdg = Path(tempfile.mkdtemp(prefix="multica-db-clean-"))  # the server's own user must
    xdg.chmod(0o755)  # reach its data directory: not under pytest's private tmp_path
    request_cleanup.append(lambda: shutil.rmtree(xdg, ignore_errors=True))
    monkeypatch.delenv("MULTICA_DB_ANALYZER_URL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    monkeypatch.delenv("MULTICA_DB_NO_CACHE", raising=False)
    root = project("-- name: One :one\nSELECT 1 AS one;\n")
    with Runner(Flags(cwd=root)) as gen:
        gen.run(Generate())
        name = gen.schema_database()
    finish_background()
    pgdata = server.embedded_data_dir()
    (xdg / "multica-db" / "jinja2").mkdir(exist_ok=True)  # as compiled templates leave it
    assert pgdata.is_dir()
    monkeypatch.chdir(root / "queries")  # from a subfolder: the project root is found
    capsys.readouterr()
    assert cli.run(["clean", "--all", "--keep-server"]) == 0
    said = capsys.readouterr().out
    assert f"dropped database {name}" in said
    assert f"removed {root / '.multica-db' / 'cache'}" in said and "jinja2" in said
    assert not (root / ".multica-db" / "cache").exists()
    assert (root / ".multica-db" / "snapshot" / "index.json").is_file(), "it is committed"
    assert cli.run(["clean", "--all"]) == 0
    said = capsys.readouterr().out
    assert "stopped the embedded server and removed its data" in said
    assert not (xdg / "multica-db").exists()
    assert (root / "out" / "pkg" / "models.py").is_file(), "generated code is the user's"
