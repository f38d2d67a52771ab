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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from multica_db_codegen.analyze.cache import ENV_URL, schema_key, server_identity, user_cache_dir
from multica_db_codegen.errors import GenerateError

if TYPE_CHECKING:
    from multica_db_codegen.analyze.cache import AnalysisSession, ProjectCache
    from multica_db_codegen.analyze.schema import SchemaChunk


def server_url(explicit: str | None = None) -> str:
    """A maintenance-database URL on a server the analyzer may create databases on."""
    url = explicit or os.environ.get(ENV_URL)
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
    pgdata = user_cache_dir() / "pgserver"
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        srv: Any = pgserver.get_server(pgdata, cleanup_mode=None)
    return str(srv.get_uri())


def with_dbname(url: str, dbname: str) -> str:
    params: dict[str, Any] = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)


@contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it: never touch another one."""
    name = f"multica_db_analyze_{secrets.token_hex(6)}"
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


def start_session(
    cache: ProjectCache, database_url: str | None, chunks: list[SchemaChunk]
) -> AnalysisSession:
    """An analysis session whose schema database is being found or built in a thread."""
    session = cache.session(server=server_identity(database_url), schema_key=schema_key(chunks))
    key = session.schema_key
    session.start_database(
        lambda: schema_database(
            server_url(database_url), key, lambda conn: apply_schema_at_once(conn, chunks)
        )
    )
    return session


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
KEEP_SCHEMA_DBS = 8  # per server: a few branches' schemas stay warm
IDLE_BEFORE_DROP = 600  # seconds unused before a database beyond the newest few may be dropped


def schema_database(url: str, key: str, build: Callable[[psycopg.Connection[Any]], None]) -> str:
    """URL of a read-only database holding the schema whose hash is ``key``.

    Built once per server and reused by every later run with the same schema, so
    the warm path never re-applies hundreds of migrations. It is built under a
    temporary name and renamed only when complete, so a crash or a concurrent
    generator never sees half a schema; it is marked read-only, so analysis
    cannot change it for the next run. Each use stamps its comment with the time,
    and only databases idle for a while are pruned, so a concurrent run never
    loses the database it is about to connect to.
    """
    name = SCHEMA_DB_PREFIX + key[:40]
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if found:
                _stamp(admin, name)
            else:
                _build_schema_database(admin, url, name, build)
            _prune_schema_databases(admin)
    except psycopg.Error as exc:
        raise GenerateError(f"cannot create the analyzer's database on {url!r}: {exc}") from exc
    return with_dbname(url, name)


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
    tmp = f"multica_db_build_{secrets.token_hex(6)}"
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
    _replenish_spare_later(url)  # not sooner: it would compete with the build for the disk


SPARE_DB_PREFIX = "multica_db_spare_"
_spare_threads: list[threading.Thread] = []


def _take_spare(admin: psycopg.Connection[Any], tmp: str) -> bool:
    """Rename a spare empty database to ``tmp``: False if there was none to take.

    ``CREATE DATABASE`` copies template1 and costs ~100 ms, as much as applying a
    small project's whole schema; a run that builds a schema database leaves an
    empty one behind for the next build (see ``_replenish_spare_later``).
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


def _replenish_spare_later(url: str) -> None:
    """Create the next spare database, unless one exists (see ``_take_spare``).

    In a thread; or, for the console command, after it has answered (later.py).
    """

    def replenish() -> None:
        with suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE starts_with(datname, %s)", (SPARE_DB_PREFIX,)
            ).fetchone()
            if not found:
                admin.execute(f'CREATE DATABASE "{SPARE_DB_PREFIX}{secrets.token_hex(6)}"'.encode())

    from multica_db_codegen import later

    if later.detached():  # the console command: after the answer, in its own process
        later.later(replenish)
        return
    thread = threading.Thread(target=replenish, name="multica-db-spare", daemon=True)
    thread.start()
    _spare_threads.append(thread)


def finish_background(timeout: float = 10.0) -> None:
    """Let a spare database being created finish before the process ends.

    The CLI ends with ``os._exit``; an interrupted ``CREATE DATABASE`` only costs
    the spare (PostgreSQL never shows a half-created database), but waiting here
    is almost always free: rendering and formatting take longer.
    """
    while _spare_threads:
        _spare_threads.pop().join(timeout)


def _prune_schema_databases(admin: psycopg.Connection[Any]) -> None:
    """Drop schema databases beyond the most recently used few, once idle; never one in use."""
    rows = admin.execute(
        "SELECT datname, coalesce(substring(shobj_description(oid, 'pg_database') "
        "FROM 'last used ([0-9]+)')::bigint, 0) AS used "
        "FROM pg_database WHERE starts_with(datname, %s) ORDER BY used DESC",
        (SCHEMA_DB_PREFIX,),
    ).fetchall()
    now = time.time()
    for old, used in rows[KEEP_SCHEMA_DBS:]:
        if now - used > IDLE_BEFORE_DROP:
            with suppress(psycopg.Error):
                admin.execute(f'DROP DATABASE IF EXISTS "{old}"'.encode())
