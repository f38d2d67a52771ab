"""Apply the packaged schema migrations to a database.

Services call :func:`migrate` at start-up. Several replicas may start at once,
so the whole run holds a PostgreSQL advisory lock: the first one applies the
pending migrations, the others wait, then find nothing left to do. Each
migration runs in its own transaction together with the row that records it,
so a failure leaves neither half-applied DDL nor a recorded version behind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg

__all__ = [
    "Migration",
    "MigrationError",
    "applied_versions",
    "load_migrations",
    "migrate",
    "rollback",
]

#: Arbitrary but fixed: every multica-db process contends for the same lock.
ADVISORY_LOCK_KEY = 0x6D756C7469636100  # "multica\0"

_FILE_RE = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9_\-]+)\.(?P<dir>up|down)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered migration: its forward SQL and, when present, its reversal."""

    version: int
    name: str
    up_sql: str
    down_sql: str | None
    up_file: str
    down_file: str | None


class MigrationError(RuntimeError):
    """A migration failed; names the file and carries PostgreSQL's message."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


def load_migrations(directory: str | Path | None = None) -> list[Migration]:
    """Read ``NNN_name.up.sql`` / ``.down.sql`` pairs in version order.

    Without a directory, the migrations shipped inside this package are used,
    so an installed service needs no checkout of the repository.
    """
    found: dict[int, dict[str, tuple[str, str, str]]] = {}
    if directory is None:
        root = resources.files("multica_db.migrations")
        entries = [(e.name, e.read_text(encoding="utf-8")) for e in root.iterdir() if e.is_file()]
    else:
        path = Path(directory)
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in path.iterdir() if p.is_file()]
    for filename, text in entries:
        m = _FILE_RE.match(filename)
        if m is None:
            continue
        version = int(m["version"])
        slot = found.setdefault(version, {})
        if m["dir"] in slot:
            raise MigrationError(filename, f"duplicate {m['dir']} migration for version {version}")
        slot[m["dir"]] = (m["name"], filename, text)
    migrations = []
    for version in sorted(found):
        slot = found[version]
        if "up" not in slot:
            raise MigrationError(slot["down"][1], "down migration without an up migration")
        name, up_file, up_sql = slot["up"]
        down = slot.get("down")
        migrations.append(
            Migration(
                version=version,
                name=name,
                up_sql=up_sql,
                down_sql=down[2] if down else None,
                up_file=up_file,
                down_file=down[1] if down else None,
            )
        )
    return migrations


def applied_versions(conn: psycopg.Connection[Any]) -> list[int]:
    """Versions recorded in ``schema_migrations``, ascending (empty if none)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return []
    rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    return [int(r[0]) for r in rows]


class _Locked:
    """Session advisory lock + autocommit for the duration of a run."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.autocommit = conn.autocommit

    def __enter__(self) -> psycopg.Connection[Any]:
        if not self.autocommit:
            # Finish whatever the caller had open: migrations manage their own transactions.
            self.conn.commit()
            self.conn.autocommit = True
        self.conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        return self.conn

    def __exit__(self, *exc: object) -> None:
        try:
            if not self.conn.closed:
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
        finally:
            if not self.conn.closed:
                self.conn.autocommit = self.autocommit


def migrate(
    conn: psycopg.Connection[Any],
    *,
    target: int | None = None,
    migrations: Sequence[Migration] | None = None,
) -> list[Migration]:
    """Apply pending migrations up to ``target`` (all by default); return those applied."""
    todo = list(migrations) if migrations is not None else load_migrations()
    applied: list[Migration] = []
    with _Locked(conn) as c:
        c.execute(_CREATE_TABLE)
        done = set(applied_versions(c))
        for mig in todo:
            if mig.version in done or (target is not None and mig.version > target):
                continue
            try:
                with c.transaction():
                    c.execute(mig.up_sql.encode())
                    c.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (mig.version, mig.name),
                    )
            except psycopg.Error as exc:
                raise MigrationError(mig.up_file, _describe(exc)) from exc
            applied.append(mig)
    return applied


def rollback(
    conn: psycopg.Connection[Any],
    *,
    target: int = 0,
    migrations: Sequence[Migration] | None = None,
) -> list[Migration]:
    """Revert applied migrations above ``target``, newest first; return those reverted."""
    known = {m.version: m for m in (migrations if migrations is not None else load_migrations())}
    reverted: list[Migration] = []
    with _Locked(conn) as c:
        c.execute(_CREATE_TABLE)
        for version in reversed(applied_versions(c)):
            if version <= target:
                break
            mig = known.get(version)
            if mig is None or mig.down_sql is None:
                raise MigrationError(
                    mig.up_file if mig else str(version), "no down migration to revert it"
                )
            try:
                with c.transaction():
                    c.execute(mig.down_sql.encode())
                    c.execute("DELETE FROM schema_migrations WHERE version = %s", (version,))
            except psycopg.Error as exc:
                raise MigrationError(mig.down_file or mig.up_file, _describe(exc)) from exc
            reverted.append(mig)
    return reverted


def _describe(exc: psycopg.Error) -> str:
    """PostgreSQL's primary message plus its detail/hint, on one line each."""
    diag = exc.diag
    parts = [diag.message_primary or str(exc).strip()]
    if diag.message_detail:
        parts.append(f"DETAIL: {diag.message_detail}")
    if diag.message_hint:
        parts.append(f"HINT: {diag.message_hint}")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m multica_db.migrate --database-url URL [--dir DIR] [--target N]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="multica-db migrate", description=migrate.__doc__)
    parser.add_argument("--database-url", required=True, metavar="URL")
    parser.add_argument("--dir", type=Path, help="Migrations directory (default: packaged).")
    parser.add_argument("--target", type=int, help="Stop at this version.")
    args = parser.parse_args(argv)
    try:
        migs = load_migrations(args.dir) if args.dir else None
        with psycopg.connect(args.database_url) as conn:
            applied = migrate(conn, target=args.target, migrations=migs)
    except (MigrationError, psycopg.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for m in applied:
        print(f"applied {m.up_file}")
    if not applied:
        print("nothing to apply")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
