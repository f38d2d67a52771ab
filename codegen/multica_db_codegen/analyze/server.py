"""Where the analyzer's PostgreSQL comes from.

An explicit URL (``--database-url`` / ``MULTICA_DB_ANALYZER_URL``) wins.
Otherwise an embedded server (pgserver) is started in a cache directory and
left running, so the next ``generate`` reuses it instead of paying start-up
again; ``make generate`` then needs neither Docker nor an installed PostgreSQL.
"""

from __future__ import annotations

import importlib
import os
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from multica_db_codegen.env import analyzer_url, user_cache_dir
from multica_db_codegen.errors import GenerateError

if TYPE_CHECKING:
    from multica_db_codegen.analyze.schema import SchemaChunk


def server_url(explicit: str | None = None) -> str:
    """A maintenance-database URL on a server the analyzer may create databases on."""
    url = analyzer_url(explicit)
    if url:
        return url
    try:
        with warnings.catch_warnings():
            # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers):
            # harmless for a server whose data lives in our own cache directory.
            warnings.filterwarnings("ignore", module="platformdirs")
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            pgserver: Any = importlib.import_module("pgserver")
    except ImportError as exc:
        raise GenerateError(
            "no analyzer database: pass --database-url, set MULTICA_DB_ANALYZER_URL, "
            "or install multica-db[codegen] for the embedded server"
        ) from exc
    pgdata = embedded_data_dir()
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        srv: Any = pgserver.get_server(pgdata, cleanup_mode=None)
    return str(srv.get_uri())


def embedded_data_dir() -> Path:
    """Where the embedded server keeps its data (it belongs to the installed generator)."""
    return Path(user_cache_dir()) / "pgserver"


def with_dbname(url: str, dbname: str) -> str:
    params: dict[str, Any] = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)


@contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it: never touch another one."""
    name = f"{ANALYZE_DB_PREFIX}{secrets.token_hex(6)}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"'.encode())
    except psycopg.Error as exc:
        raise GenerateError(f"cannot create the analyzer's database on {url!r}: {exc}") from exc
    try:
        yield with_dbname(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


#: Statements that end, open or change the transaction they run in.
_TRANSACTION_CONTROL = {
    "BEGIN_P",
    "START",
    "COMMIT",
    "END_P",
    "ROLLBACK",
    "ABORT_P",
    "SAVEPOINT",
    "RELEASE",
    "PREPARE",
}


def _one_transaction_safe(chunks: list[SchemaChunk]) -> bool:
    """No chunk controls transactions itself (BEGIN, COMMIT, SET LOCAL, …).

    Decided on lexer tokens, so words inside strings, dollar-quoted function
    bodies and ``CASE … END`` never count; anything unclear answers no.
    """
    from pglast import parser as pgparser

    for chunk in chunks:
        try:
            tokens = pgparser.scan(chunk.sql)
        except Exception:
            return False
        start = True
        for i, t in enumerate(tokens):
            if start:
                if t.name in _TRANSACTION_CONTROL:
                    return False
                following = tokens[i + 1].name if i + 1 < len(tokens) else ""
                if t.name == "SET" and following in ("LOCAL", "TRANSACTION", "SESSION"):
                    return False
            start = t.name == "ASCII_59"  # ';'
    return True


def apply_schema_at_once(conn: psycopg.Connection[Any], chunks: list[SchemaChunk]) -> None:
    """``apply_schema``, but every chunk in one multi-statement query when that is safe.

    One implicit transaction instead of one per file saves hundreds of round trips
    and commits. If PostgreSQL rejects anything (a statement that cannot run in a
    transaction block, an error in the schema), the transaction rolled back as a
    whole, so the files are applied one by one as usual, which reports any error
    exactly as before.
    """
    from multica_db_codegen.analyze.schema import apply_schema, without_missing_extensions

    if chunks and _one_transaction_safe(chunks):
        try:
            conn.execute(b"SET synchronous_commit = off")
            runnable, _ = without_missing_extensions(conn, chunks)
            conn.execute("\n;\n".join(c.sql for c in runnable).encode())
            return
        except psycopg.Error:
            pass
    apply_schema(conn, chunks)


SCHEMA_DB_PREFIX = "multica_db_schema_"
SPARE_DB_PREFIX = "multica_db_spare_"
BUILD_DB_PREFIX = "multica_db_build_"
ANALYZE_DB_PREFIX = "multica_db_analyze_"
#: Every database the generator makes: what ``multica-db clean`` drops.
GENERATOR_DB_PREFIXES = (SCHEMA_DB_PREFIX, SPARE_DB_PREFIX, BUILD_DB_PREFIX, ANALYZE_DB_PREFIX)
KEEP_PER_SERVER = 8  # schema databases kept on one server: a few branches' schemas stay warm
KEEP_PER_PROJECT = 3  # of those, per project (the project's cache directory lists its own)


def schema_database_name(key: str) -> str:
    return SCHEMA_DB_PREFIX + key[:40]


def schema_database(
    url: str,
    key: str,
    build: Callable[[psycopg.Connection[Any]], None],
    *,
    prune: Sequence[str] = (),
) -> str:
    """URL of a read-only database holding the schema whose hash is ``key``.

    Built once per server and reused by every later run with the same schema, so
    an unchanged schema is never re-applied. It is built under a temporary name
    and renamed only when complete, so a crash or a concurrent generator never
    sees half a schema; it is marked read-only, so analysis cannot change it for
    the next run.

    First, at the start of every run, schema databases are pruned: ``prune``
    (the calling project's databases beyond its own few), and on the whole
    server every one beyond the :data:`KEEP_PER_SERVER` most recently used. A
    database is never dropped while anyone is connected to it (``DROP DATABASE``
    without ``FORCE`` refuses), and each run stamps its database as the most
    recently used before connecting to it; a run whose database vanished between
    the two anyway (``connect_schema_database``) builds it again.
    """
    name = schema_database_name(key)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            _prune_schema_databases(admin, keep=name, extra=prune)
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if found:
                _stamp(admin, name)
            else:
                _build_schema_database(admin, url, name, build)
    except psycopg.Error as exc:
        raise GenerateError(f"cannot create the analyzer's database on {url!r}: {exc}") from exc
    return with_dbname(url, name)


def connect_schema_database(
    url: str,
    key: str,
    build: Callable[[psycopg.Connection[Any]], None],
    *,
    prune: Sequence[str] = (),
) -> psycopg.Connection[Any]:
    """An autocommit connection to the schema's database (see :func:`schema_database`).

    If another run pruned the database between finding and connecting to it, it is
    built again, once.
    """
    for attempt in (1, 2):
        db_url = schema_database(url, key, build, prune=prune if attempt == 1 else ())
        try:
            return psycopg.connect(db_url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            if attempt == 2 or "does not exist" not in str(exc):
                raise GenerateError(f"cannot connect to the analyzer's database: {exc}") from exc
    raise AssertionError("unreachable")


def _stamp(admin: psycopg.Connection[Any], name: str) -> None:
    admin.execute(
        f"COMMENT ON DATABASE \"{name}\" IS 'multica-db last used {int(time.time())}'".encode()
    )


def _build_schema_database(
    admin: psycopg.Connection[Any],
    url: str,
    name: str,
    build: Callable[[psycopg.Connection[Any]], None],
) -> None:
    tmp = f"{BUILD_DB_PREFIX}{secrets.token_hex(6)}"
    if not _take_spare(admin, tmp):
        admin.execute(f'CREATE DATABASE "{tmp}"'.encode())
    try:
        with psycopg.connect(with_dbname(url, tmp), autocommit=True) as conn:
            build(conn)
        admin.execute(f'ALTER DATABASE "{tmp}" SET default_transaction_read_only = on'.encode())
        admin.execute(f'ALTER DATABASE "{tmp}" RENAME TO "{name}"'.encode())
    except psycopg.errors.DuplicateDatabase:  # another generator finished the same schema first
        admin.execute(f'DROP DATABASE IF EXISTS "{tmp}" WITH (FORCE)'.encode())
    except BaseException:
        admin.execute(f'DROP DATABASE IF EXISTS "{tmp}" WITH (FORCE)'.encode())
        raise
    _stamp(admin, name)
    _replenish_spare(url)  # not sooner: it would compete with the build for the disk


_spare_threads: list[threading.Thread] = []


def _take_spare(admin: psycopg.Connection[Any], tmp: str) -> bool:
    """Rename a spare empty database to ``tmp``: False if there was none to take.

    ``CREATE DATABASE`` copies template1 and costs ~100 ms, as much as applying a
    small project's whole schema; a run that builds a schema database leaves an
    empty one behind for the next build (see ``_replenish_spare``).
    Renaming fails if another generator took the spare first (or anyone is
    connected to it): then the next one, else a new database, is used.
    """
    spares = admin.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname",
        (SPARE_DB_PREFIX,),
    ).fetchall()
    for (spare,) in spares:
        try:
            admin.execute(f'ALTER DATABASE "{spare}" RENAME TO "{tmp}"'.encode())
        except psycopg.Error:
            continue
        return True
    return False


def _replenish_spare(url: str) -> None:
    """Create the next spare database, unless one exists (see ``_take_spare``).

    In a thread, while the run renders and formats; :func:`finish_background`
    waits for it before the process ends. It only saves the next build time, so
    a failure is ignored.
    """

    def replenish() -> None:
        with suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE starts_with(datname, %s)", (SPARE_DB_PREFIX,)
            ).fetchone()
            if not found:
                admin.execute(f'CREATE DATABASE "{SPARE_DB_PREFIX}{secrets.token_hex(6)}"'.encode())

    thread = threading.Thread(target=replenish, name="multica-db-spare", daemon=True)
    thread.start()
    _spare_threads.append(thread)


def finish_background(timeout: float = 10.0) -> None:
    """Let a spare database being created finish before the process ends.

    An interrupted ``CREATE DATABASE`` only costs the spare (PostgreSQL never
    shows a half-created database), but waiting here is almost always free:
    rendering and formatting take longer.
    """
    while _spare_threads:
        _spare_threads.pop().join(timeout)


def _drop_unused(admin: psycopg.Connection[Any], name: str) -> bool:
    """Drop ``name`` unless someone is connected to it.

    Checked first (``DROP DATABASE`` itself would wait 5 s for the other sessions
    to leave before refusing), and again by PostgreSQL, which refuses to drop a
    database anyone connected to meanwhile; a lock another session holds on it
    is waited for one second at most.
    """
    busy = admin.execute(
        "SELECT 1 FROM pg_stat_activity WHERE datname = %s LIMIT 1", (name,)
    ).fetchone()
    if busy:
        return False
    try:
        admin.execute(b"SET lock_timeout = '1s'")
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
    except psycopg.Error:
        return False
    finally:
        with suppress(psycopg.Error):
            admin.execute(b"RESET lock_timeout")
    return True


def _prune_schema_databases(
    admin: psycopg.Connection[Any], *, keep: str, extra: Sequence[str]
) -> None:
    """Drop ``extra`` and, server-wide, schema databases beyond the most recently used few.

    ``keep`` (the database this run is about to use) counts as the newest.
    """
    for name in extra:
        if name != keep and name.startswith(SCHEMA_DB_PREFIX):
            _drop_unused(admin, name)
    rows = admin.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) AND datname <> %s "
        "ORDER BY coalesce(substring(shobj_description(oid, 'pg_database') "
        "FROM 'last used ([0-9]+)')::bigint, 0) DESC, datname",
        (SCHEMA_DB_PREFIX, keep),
    ).fetchall()
    for (old,) in rows[KEEP_PER_SERVER - 1 :]:
        _drop_unused(admin, old)


def drop_generator_databases(url: str) -> tuple[list[str], list[str]]:
    """(dropped, kept because in use): every database the generator made on the server."""
    dropped: list[str] = []
    busy: list[str] = []
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            rows = admin.execute(
                "SELECT datname FROM pg_database WHERE "
                + " OR ".join("starts_with(datname, %s)" for _ in GENERATOR_DB_PREFIXES)
                + " ORDER BY datname",
                GENERATOR_DB_PREFIXES,
            ).fetchall()
            for (name,) in rows:
                (dropped if _drop_unused(admin, name) else busy).append(name)
    except psycopg.Error as exc:
        raise GenerateError(f"cannot reach the analyzer's server {url!r}: {exc}") from exc
    return dropped, busy


def stop_embedded_server(pgdata: Path) -> None:
    """Stop the embedded server running on ``pgdata``, if it runs (before deleting it)."""
    try:
        pgserver: Any = importlib.import_module("pgserver")
    except ImportError:
        return
    user = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # pgserver runs it as another user
        import pwd

        user = pwd.getpwuid(pgdata.stat().st_uid).pw_name
    with suppress(Exception):  # not running: nothing to stop
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
