"""Results shaped like the domain: embeds of every kind, on real PostgreSQL, sync and async."""

from __future__ import annotations

import typing
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.dialect import nested_project
from tests.dialect.harness import Generated, database_with, generate, write_project

Conn = psycopg.Connection[Any]


@pytest.fixture(scope="module")
def nested_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nested")
    write_project(
        root,
        schema={"001_init.up.sql": nested_project.SCHEMA},
        queries={"embeds.sql": nested_project.EMBEDS},
        package="nestedpkg",
    )
    return root


@pytest.fixture(scope="module")
def nested(nested_root: Path, pg_server: str) -> Generated:
    return generate(nested_root, pg_server, "nestedpkg")


@pytest.fixture(scope="module")
def nested_db(nested_root: Path, pg_server: str) -> Iterator[str]:
    with database_with(pg_server, [nested_root / "schema"]) as url:
        yield url


@pytest.fixture
def conn(nested_db: str) -> Iterator[Conn]:
    with psycopg.connect(nested_db) as c:
        try:
            yield c
        finally:
            c.rollback()


@pytest.fixture
async def aconn(nested_db: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    c = await psycopg.AsyncConnection.connect(nested_db)
    try:
        yield c
    finally:
        await c.rollback()
        await c.close()


def _users(conn: Conn) -> tuple[int, int, int]:
    boss = conn.execute("INSERT INTO users (name) VALUES ('boss') RETURNING id").fetchone()
    assert boss is not None
    a = conn.execute(
        "INSERT INTO users (name, manager_id) VALUES ('a', %s) RETURNING id", (boss[0],)
    ).fetchone()
    lone = conn.execute("INSERT INTO users (name) VALUES ('lone') RETURNING id").fetchone()
    assert a is not None and lone is not None
    conn.execute("INSERT INTO posts (user_id, title) VALUES (%s, 'p1'), (%s, 'p2')", (a[0],) * 2)
    return boss[0], a[0], lone[0]


def test_generated_package_type_checks(nested: Generated) -> None:
    nested.mypy()
    nested.ruff()


def test_embed_in_dml_returning(nested: Generated, conn: Conn) -> None:
    m = nested.module("models")
    q = nested.module("queries.embeds")
    _, a, _ = _users(conn)
    renamed = q.rename_user(conn, name="ann", id=a)
    # as sqlc does: a row whose one field is the embedded model
    assert renamed is not None and isinstance(renamed.user, m.User)
    assert renamed.user.name == "ann"
    conn.execute("DELETE FROM posts")
    gone = q.delete_user(conn, id=a)
    assert gone is not None and isinstance(gone.user, m.User)
    assert (gone.user.id, gone.old_name) == (a, "ann")


def test_embed_of_ctes(nested: Generated, conn: Conn) -> None:
    m = nested.module("models")
    q = nested.module("queries.embeds")
    conn.execute("INSERT INTO jobs (name, done) VALUES ('a', false), ('b', true), ('c', false)")
    pending = q.pending_jobs(conn)
    # a CTE named like a table by its alias nests as a row model of its own
    assert [r.job.name for r in pending] == ["a", "c"]
    assert not isinstance(pending[0].job, m.Job)
    names = q.pending_job_names(conn)
    assert [(r.t.name, r.one) for r in names] == [("a", 1), ("c", 1)]
    hints = typing.get_type_hints(type(names[0].t))
    assert hints == {"id": int, "name": str}


def test_same_table_twice_and_outer_joins(nested: Generated, conn: Conn) -> None:
    m = nested.module("models")
    q = nested.module("queries.embeds")
    boss, a, lone = _users(conn)
    rows = {r.user.id: r for r in q.user_and_manager(conn)}
    assert rows[a].user_2 is not None and rows[a].user_2.id == boss
    assert rows[boss].user_2 is None and rows[lone].user_2 is None
    hints = typing.get_type_hints(q.UserAndManagerRow)
    assert hints == {"user": m.User, "user_2": m.User | None}
    both = q.managers_and_reports(conn)
    hints = typing.get_type_hints(q.ManagersAndReportsRow)
    assert hints["user"] == m.User | None and hints["user_2"] == m.User | None
    counted = [r for r in both if r.c is not None and r.user is not None and r.user.id == a]
    assert [r.c.n for r in counted] == [2]
    # a star next to embeds of both tables
    ups = q.user_posts(conn)
    assert [(r.user.id, r.post.title, r.title) for r in ups] == [(a, "p1", "p1"), (a, "p2", "p2")]


async def test_embeds_async(nested: Generated, aconn: psycopg.AsyncConnection[Any]) -> None:
    q = nested.module("queries.aio.embeds")
    await aconn.execute("INSERT INTO users (name) VALUES ('x')")
    rows = await q.user_and_manager(aconn)
    assert [(r.user.name, r.user_2) for r in rows] == [("x", None)]
