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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from multica_db_codegen.errors import GenerateError

ENV_URL = "MULTICA_DB_ANALYZER_URL"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "multica-db"


def server_url(explicit: str | None = None) -> str:
    """A maintenance-database URL on a server the analyzer may create databases on."""
    url = explicit or os.environ.get(ENV_URL)
    if url:
        return url
    try:
        pgserver: Any = importlib.import_module("pgserver")
    except ImportError as exc:
        raise GenerateError(
            "no analyzer database: pass --database-url, set MULTICA_DB_ANALYZER_URL, "
            "or install multica-db[codegen] for the embedded server"
        ) from exc
    pgdata = cache_dir() / "pgserver"
    pgdata.mkdir(parents=True, exist_ok=True)
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
