"""Migrations: up/down symmetry, concurrency under the advisory lock, failures."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import psycopg
import pytest

from multica_db.migrate import (
    MigrationError,
    applied_versions,
    load_migrations,
    migrate,
    rollback,
)
from tests.pg import fresh_database

CATALOG_SNAPSHOT = """
SELECT 'col', c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
       || ':' || a.attnotnull || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relname NOT LIKE 'schema_migrations%'
UNION ALL
SELECT 'idx', indexdef FROM pg_indexes WHERE schemaname = 'public'
  AND tablename <> 'schema_migrations'
UNION ALL
SELECT 'con', conrelid::regclass || ':' || conname || ':' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  AND conrelid <> coalesce(to_regclass('schema_migrations'), 0)
UNION ALL
SELECT 'type', t.typname || ':'
       || coalesce(string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder), '')
FROM pg_type t LEFT JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'e'
GROUP BY t.typname
ORDER BY 1, 2
"""


def snapshot(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return conn.execute(CATALOG_SNAPSHOT).fetchall()


@pytest.fixture
def scratch(pg_server: str):  # type: ignore[no-untyped-def]
    with fresh_database(pg_server, prefix="multica_mig") as url:
        yield url


def test_packaged_migrations_are_numbered_pairs() -> None:
    migs = load_migrations()
    assert [m.version for m in migs] == sorted(m.version for m in migs)
    assert len(migs) >= 2
    assert all(m.down_sql for m in migs), "every up migration has its down"


def test_each_down_exactly_reverses_its_up(scratch: str) -> None:
    migs = load_migrations()
    with psycopg.connect(scratch) as conn:
        conn.autocommit = True
        states = [snapshot(conn)]
        for m in migs:
            migrate(conn, target=m.version)
            states.append(snapshot(conn))
        assert states[0] == [] and states[-1] != states[-2]
        # Walk back down one step at a time: each state must match the one before its up.
        for i in range(len(migs) - 1, -1, -1):
            rollback(conn, target=migs[i].version - 1 if i == 0 else migs[i - 1].version)
            assert snapshot(conn) == states[i], f"down of {migs[i].up_file} is not exact"
        assert applied_versions(conn) == []
        migrate(conn)
        assert snapshot(conn) == states[-1]
        assert applied_versions(conn) == [m.version for m in migs]


def _migrate_in_process(url: str, barrier: object) -> list[int]:
    barrier.wait()  # type: ignore[attr-defined]
    with psycopg.connect(url) as conn:
        return [m.version for m in migrate(conn)]


def test_concurrent_processes_apply_each_migration_once(scratch: str) -> None:
    n = 4
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(n)
        with ctx.Pool(n) as pool:
            results = pool.starmap(_migrate_in_process, [(scratch, barrier)] * n)
    applied = sorted(v for r in results for v in r)
    assert applied == [m.version for m in load_migrations()], results
    with psycopg.connect(scratch) as conn:
        rows = conn.execute("SELECT version, count(*) FROM schema_migrations GROUP BY 1").fetchall()
    assert all(count == 1 for _, count in rows)


def test_failing_migration_rolls_back_and_names_the_file(scratch: str, tmp_path: Path) -> None:
    (tmp_path / "001_ok.up.sql").write_text("CREATE TABLE t1 (id int);")
    (tmp_path / "001_ok.down.sql").write_text("DROP TABLE t1;")
    (tmp_path / "002_bad.up.sql").write_text(
        "CREATE TABLE t2 (id int);\nALTER TABLE t2 ADD COLUMN x nonexistent_type;"
    )
    migs = load_migrations(tmp_path)
    with psycopg.connect(scratch) as conn:
        with pytest.raises(MigrationError) as info:
            migrate(conn, migrations=migs)
        assert info.value.file == "002_bad.up.sql"
        assert 'type "nonexistent_type" does not exist' in str(info.value)
        assert applied_versions(conn) == [1]
        # The failed migration's first statement was rolled back with it.
        assert conn.execute("SELECT to_regclass('t2')").fetchone() == (None,)
        assert conn.execute("SELECT to_regclass('t1')").fetchone() is not None
        # Fixed, it applies on the next run.
        (tmp_path / "002_bad.up.sql").write_text("CREATE TABLE t2 (id int);")
        assert [m.version for m in migrate(conn, migrations=load_migrations(tmp_path))] == [2]


def test_fixture_database_has_every_migration(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        assert applied_versions(conn) == [m.version for m in load_migrations()]
        cols = conn.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'agent_runtime' ORDER BY ordinal_position"
        ).fetchall()
    nullable = {name for name, n in cols if n == "YES"}
    assert nullable == {"owner_id", "legacy_daemon_id"}
