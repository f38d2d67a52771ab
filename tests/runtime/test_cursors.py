"""Reused cursors: every call gets its own answer under threads, asyncio and pools."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
import weakref
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader

from multica_db.runtime import forget_cursors
from multica_db.runtime.cursors import KEEP_MAX, KEEP_MAX_ROWS, give_back, take, take_async

ECHO = "SELECT $1::int, pg_backend_pid()"


def echo(conn: psycopg.Connection[Any], value: int) -> tuple[Any, ...]:
    """What a generated ``:one`` does with its cursor."""
    cur = take(conn)
    cur.execute(ECHO, (value,))
    row = cur.fetchone()
    give_back(conn, cur)
    assert row is not None
    return row


async def aecho(conn: psycopg.AsyncConnection[Any], value: int) -> tuple[Any, ...]:
    cur = take_async(conn)
    await cur.execute(ECHO, (value,))
    row = await cur.fetchone()
    give_back(conn, cur)
    assert row is not None
    return row


def _idle(conn: Any) -> list[Any]:
    return list(getattr(conn, "_multica_db_idle_cursors", []))


def test_a_finished_call_leaves_its_cursor_for_the_next(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        echo(conn, 1)
        (kept,) = _idle(conn)
        assert take(conn) is kept
        give_back(conn, kept)
        assert echo(conn, 2)[0] == 2 and _idle(conn) == [kept]


def test_rows_are_tuples_whatever_the_connections_row_factory(database_url: str) -> None:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        assert echo(conn, 3)[0] == 3
        assert echo(conn, 4)[0] == 4


def test_threads_sharing_a_connection_each_get_their_own_rows(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        errors: list[str] = []
        start = threading.Barrier(8)

        def work(base: int) -> None:
            start.wait()
            for i in range(150):
                got = echo(conn, base + i)[0]
                if got != base + i:
                    errors.append(f"{base + i} got {got}")

        threads = [threading.Thread(target=work, args=(k * 1000,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert 1 <= len(_idle(conn)) <= KEEP_MAX
        assert len({id(c) for c in _idle(conn)}) == len(_idle(conn))


async def test_tasks_sharing_an_async_connection_each_get_their_own_rows(
    database_url: str,
) -> None:
    conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    try:

        async def work(base: int) -> list[int]:
            return [(await aecho(conn, base + i))[0] for i in range(50)]

        results = await asyncio.gather(*(work(k * 1000) for k in range(10)))
        assert results == [[k * 1000 + i for i in range(50)] for k in range(10)]
        assert 1 <= len(_idle(conn)) <= KEEP_MAX
    finally:
        await conn.close()


def test_pooled_connections_serve_threads(database_url: str) -> None:
    from psycopg_pool import ConnectionPool

    with ConnectionPool(database_url, min_size=2, max_size=2, open=True) as pool:
        errors: list[str] = []

        def work(base: int) -> None:
            for i in range(60):
                with pool.connection() as conn:
                    got = echo(conn, base + i)[0]
                    if got != base + i:
                        errors.append(f"{base + i} got {got}")

        threads = [threading.Thread(target=work, args=(k * 1000,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with pool.connection() as conn:  # the cursors came back to the pool with it
            assert _idle(conn)


async def test_pooled_async_connections_serve_tasks(database_url: str) -> None:
    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(database_url, min_size=2, max_size=2, open=False) as pool:

        async def work(base: int) -> list[int]:
            out = []
            for i in range(30):
                async with pool.connection() as conn:
                    out.append((await aecho(conn, base + i))[0])
            return out

        results = await asyncio.gather(*(work(k * 1000) for k in range(6)))
        assert results == [[k * 1000 + i for i in range(30)] for k in range(6)]


def test_a_failed_call_drops_its_cursor(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        echo(conn, 1)
        cur = take(conn)
        with pytest.raises(psycopg.errors.DivisionByZero):
            cur.execute("SELECT 1 / 0")  # a generated function stops here: no give_back
        conn.rollback()
        assert _idle(conn) == []
        assert echo(conn, 5)[0] == 5


def test_cursors_used_in_pipeline_mode_are_not_kept(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        with conn.pipeline():
            assert echo(conn, 6)[0] == 6
            assert _idle(conn) == []
        assert echo(conn, 7)[0] == 7 and len(_idle(conn)) == 1


def test_a_cursor_holding_a_large_result_is_not_kept(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        cur = take(conn)
        cur.execute("SELECT generate_series(1, $1::int)", (KEEP_MAX_ROWS + 1,))
        assert len(cur.fetchall()) == KEEP_MAX_ROWS + 1
        give_back(conn, cur)
        assert _idle(conn) == []
        cur = take(conn)
        cur.execute("SELECT generate_series(1, $1::int)", (KEEP_MAX_ROWS,))
        cur.fetchall()
        give_back(conn, cur)
        assert _idle(conn) == [cur]


def test_forget_cursors_makes_later_adapters_apply(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        assert echo(conn, 8)[0] == 8
        conn.adapters.register_loader("int4", TextLoader)  # after the first call
        forget_cursors(conn)
        assert echo(conn, 9)[0] == "9"


def test_a_connection_with_idle_cursors_is_still_freed(database_url: str) -> None:
    conn = psycopg.connect(database_url)
    echo(conn, 1)
    ref = weakref.ref(conn)
    del conn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # psycopg: "deleted while still open"
        gc.collect()  # connection ↔ idle cursors is a cycle: the collector frees it
    assert ref() is None
