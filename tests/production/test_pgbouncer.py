"""Every generated function kind through pgbouncer (transaction mode) and psycopg_pool."""

from __future__ import annotations

import asyncio
import types
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from multica_db import pooling
from tests.pgbouncer import Pgbouncer

ROUNDS = 7  # more than psycopg's prepare_threshold (5): a prepare would have happened
ROWS_PER_ROUND = 11


def exercise(m: types.ModuleType, conn: psycopg.Connection[Any], tag: str) -> None:
    """One round of every function kind, each result checked."""
    added = m.add_item(conn, name=f"{tag}a", qty=1)
    assert m.get_item(conn, id=added.id) == added
    assert m.touch_item(conn, id=added.id) is None
    assert m.rename_item(conn, id=added.id, name=f"{tag}r{added.id}").rowcount == 1
    m.add_items(conn, [m.AddItemsParams(f"{tag}b", 2)] * 3)
    ids = m.add_items_returning(conn, [m.AddItemsReturningParams(f"{tag}c", 3)] * 2)
    assert len(ids) == 2 and all(isinstance(i, int) for i in ids)
    named = m.items_named(conn, [m.ItemsNamedParams(f"{tag}r{added.id}")])
    assert named == [[added.id]]
    assert m.copy_items(conn, [m.CopyItemsParams(f"{tag}d", 4)] * 5) == 5
    listed = m.list_items(conn, prefix=tag)
    assert [r.id for r in m.iter_items(conn, prefix=tag)] == [r.id for r in listed]
    assert m.bump_items(conn, prefix=tag) == len(listed)


async def aexercise(m: types.ModuleType, conn: psycopg.AsyncConnection[Any], tag: str) -> None:
    """:func:`exercise` for the asyncio flavour."""
    added = await m.add_item(conn, name=f"{tag}a", qty=1)
    assert await m.get_item(conn, id=added.id) == added
    assert await m.touch_item(conn, id=added.id) is None
    assert (await m.rename_item(conn, id=added.id, name=f"{tag}r{added.id}")).rowcount == 1
    await m.add_items(conn, [m.AddItemsParams(f"{tag}b", 2)] * 3)
    ids = await m.add_items_returning(conn, [m.AddItemsReturningParams(f"{tag}c", 3)] * 2)
    assert len(ids) == 2
    assert await m.items_named(conn, [m.ItemsNamedParams(f"{tag}r{added.id}")]) == [[added.id]]
    assert await m.copy_items(conn, [m.CopyItemsParams(f"{tag}d", 4)] * 5) == 5
    listed = await m.list_items(conn, prefix=tag)
    assert [r.id async for r in m.iter_items(conn, prefix=tag)] == [r.id for r in listed]
    assert await m.bump_items(conn, prefix=tag) == len(listed)


def _count(url: str, tag: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM item WHERE name LIKE %s", (tag + "%",)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "transactions"])
def test_every_kind_through_pgbouncer_with_a_pool(
    autocommit: bool, pgbouncer: Pgbouncer, items: types.ModuleType, kinds_db: str
) -> None:
    """Four threads share two server connections; each statement may land on either."""
    run = f"pool{int(autocommit)}"
    with ConnectionPool(
        pgbouncer.url,
        min_size=4,
        max_size=4,
        configure=pooling.configure,
        kwargs={"autocommit": autocommit},
        open=True,
    ) as pool:

        def worker(n: int) -> None:
            for _ in range(ROUNDS):
                with pool.connection() as conn:  # a transaction per round when not autocommit
                    exercise(items, conn, f"{run}w{n}:")

        with ThreadPoolExecutor(4) as ex:
            list(ex.map(worker, range(4)))
    for n in range(4):
        assert _count(kinds_db, f"{run}w{n}:") == ROUNDS * ROWS_PER_ROUND


async def test_every_kind_through_pgbouncer_with_an_async_pool(
    pgbouncer: Pgbouncer, aitems: types.ModuleType, kinds_db: str
) -> None:
    async with AsyncConnectionPool(
        pgbouncer.url,
        min_size=4,
        max_size=4,
        configure=pooling.aconfigure,
        kwargs={"autocommit": True},
        open=False,
    ) as pool:

        async def worker(n: int) -> None:
            for _ in range(ROUNDS):
                async with pool.connection() as conn:
                    await aexercise(aitems, conn, f"apool:w{n}:")

        await asyncio.gather(*(worker(n) for n in range(4)))
    for n in range(4):
        assert _count(kinds_db, f"apool:w{n}:") == ROUNDS * ROWS_PER_ROUND


def test_every_kind_with_prepare_threshold_none(
    pgbouncer: Pgbouncer, items: types.ModuleType, kinds_db: str
) -> None:
    conns = [
        psycopg.connect(pgbouncer.url, autocommit=True, prepare_threshold=None) for _ in range(3)
    ]
    try:
        for _ in range(ROUNDS):
            for n, conn in enumerate(conns):  # interleaved: server connections change hands
                exercise(items, conn, f"none:c{n}:")
    finally:
        for c in conns:
            c.close()
    for n in range(3):
        assert _count(kinds_db, f"none:c{n}:") == ROUNDS * ROWS_PER_ROUND


def test_iterations_interleave_through_pgbouncer(
    pgbouncer: Pgbouncer, items: types.ModuleType, kinds_db: str
) -> None:
    """:iter opens its own transaction in autocommit, so its cursor keeps its server connection."""
    with psycopg.connect(pgbouncer.url, autocommit=True, prepare_threshold=None) as setup:
        items.copy_items(setup, [items.CopyItemsParams(f"iter:{i}", i) for i in range(50)])
    with (
        psycopg.connect(pgbouncer.url, autocommit=True, prepare_threshold=None) as a,
        psycopg.connect(pgbouncer.url, autocommit=True, prepare_threshold=None) as b,
    ):
        first = items.iter_items(a, prefix="iter:")
        second = items.iter_items(b, prefix="iter:")
        pairs = list(zip(first, second, strict=True))
    assert len(pairs) == 50
    assert all(x.id == y.id for x, y in pairs)


def test_psycopgs_automatic_prepare_raises_a_clear_error(
    pgbouncer_one: Pgbouncer, items: types.ModuleType
) -> None:
    """pgbouncer without prepared-statement support (before 1.21; 1.21+ is started with
    max_prepared_statements = 0): two clients share one server connection."""
    a = pooling.PoolerConnection.connect(pgbouncer_one.url, autocommit=True)
    b = pooling.PoolerConnection.connect(pgbouncer_one.url, autocommit=True)
    try:
        with pytest.raises(pooling.PreparedStatementsUnsupported) as info:
            for conn in (a, b):  # b's _pg3_0 collides with a's (or with an earlier test's)
                for _ in range(ROUNDS):
                    items.list_items(conn, prefix="clear:")
    finally:
        a.close()
        b.close()
    message = str(info.value)
    assert 'prepared statement "_pg3_0"' in message
    assert "prepare_threshold=None" in message
    assert "pgbouncer" in message
    assert isinstance(info.value.__cause__, errors.DuplicatePreparedStatement)


async def test_psycopgs_automatic_prepare_raises_a_clear_error_async(
    pgbouncer_one: Pgbouncer, aitems: types.ModuleType
) -> None:
    a = await pooling.AsyncPoolerConnection.connect(pgbouncer_one.url, autocommit=True)
    b = await pooling.AsyncPoolerConnection.connect(pgbouncer_one.url, autocommit=True)
    try:
        with pytest.raises(pooling.PreparedStatementsUnsupported):
            for conn in (a, b):
                for _ in range(ROUNDS):
                    await aitems.get_item(conn, id=0)
    finally:
        await a.close()
        await b.close()


def test_other_errors_pass_through_unchanged(pgbouncer: Pgbouncer) -> None:
    with pooling.PoolerConnection.connect(pgbouncer.url, autocommit=True) as conn:
        with pytest.raises(errors.UndefinedTable):
            conn.execute("SELECT * FROM no_such_table")
        with pytest.raises(errors.InvalidSqlStatementName) as info:
            conn.execute("EXECUTE mine")  # the user's own statement: not psycopg's to explain
        assert pooling.explain(info.value) is None


def test_a_statement_timeout_set_in_the_transaction_applies_through_pgbouncer(
    pgbouncer: Pgbouncer, items: types.ModuleType
) -> None:
    """``SET LOCAL`` travels with the transaction, so the pooler cannot lose it."""
    with psycopg.connect(pgbouncer.url, prepare_threshold=None) as conn:
        with pytest.raises(errors.QueryCanceled), conn.transaction():
            conn.execute("SET LOCAL statement_timeout = '1ms'")
            conn.execute("SELECT pg_sleep(5)")
        with conn.transaction():  # the setting ended with its transaction
            assert items.list_items(conn, prefix="timeout:") == []
            row = conn.execute("SHOW statement_timeout").fetchone()
        assert row is not None and row[0] == "0"
