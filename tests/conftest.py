"""Database fixtures shared by the whole suite: one fresh database per run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from multica_db import migrate
from tests.pg import NoServerError, fresh_database, server_url

# Every table the migrations create, in an order TRUNCATE ... CASCADE accepts.
_TRUNCATE = (
    "TRUNCATE agent_task_queue, issue, agent, agent_runtime, invitation, "
    "workspace_member, workspace, app_user CASCADE"
)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A maintenance URL on the server every database test uses."""
    try:
        with server_url() as url:
            yield url
    except NoServerError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI has no PostgreSQL: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """This run's own database, every migration applied; dropped at the end."""
    with fresh_database(pg_server) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        yield url


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection inside a transaction that is rolled back after the test."""
    with psycopg.connect(database_url) as c:
        try:
            yield c
        finally:
            c.rollback()


@pytest.fixture
async def aconn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    """The async twin of :func:`conn`: rolled back after the test."""
    c = await psycopg.AsyncConnection.connect(database_url)
    try:
        yield c
    finally:
        await c.rollback()
        await c.close()


@pytest.fixture
def committed_db(database_url: str) -> Iterator[str]:
    """For tests that commit (concurrency): the URL, with every table emptied afterwards."""
    try:
        yield database_url
    finally:
        with psycopg.connect(database_url, autocommit=True) as c:
            c.execute(_TRUNCATE)
