"""The cursors generated functions run their statements on.

A new psycopg cursor per call costs more than the rest of a short query's client
side: a fresh cursor looks up and instantiates a loader for every result column
and a dumper for every parameter (psycopg caches them per cursor), about 13 µs
for a 14-column row — a third of a primary-key lookup's round trip on loopback.
So each connection keeps the few cursors its generated calls have finished with,
and the next call takes one of them:

- **threads, asyncio, pools**: a call owns the cursor it took until it gives it
  back; taking is ``list.pop()`` and giving back ``list.append()``, each atomic,
  so two concurrent calls on one connection (psycopg serialises them) never share
  a cursor. The cursors live on the connection, so a pooled connection brings its
  own along to whoever checks it out next.
- **errors**: a call that raises never gives its cursor back; it is dropped.
- **pipeline mode**: a cursor used while the connection is in a pipeline may still
  have results on their way, so it is dropped too.
- **memory**: an idle cursor keeps its last result until reused; one that returned
  more than ``KEEP_MAX_ROWS`` rows is closed instead, and at most ``KEEP_MAX``
  cursors are kept per connection.
- **adapters**: a psycopg cursor copies the connection's adapters when it is made.
  Register adapters when the connection is made (psycopg_pool's ``configure=``);
  after changing them on a connection that already ran generated queries, call
  :func:`forget_cursors`.

The idle cursors hang off the connection (an attribute) rather than a global
table: a global table would keep every connection alive through its cursors.
"""

from __future__ import annotations

import itertools
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from typing import Any, Protocol, TypeVar

from psycopg import AsyncConnection, AsyncRawCursor, Connection, RawCursor
from psycopg.adapt import AdaptersMap
from psycopg.rows import TupleRow, tuple_row

from .jsonshape import raw_json_loaders

__all__ = [
    "KEEP_MAX",
    "KEEP_MAX_ROWS",
    "astream_transaction",
    "cursor_name",
    "forget_cursors",
    "give_back",
    "raw_json_cursor",
    "stream_transaction",
    "take",
    "take_async",
]

#: Idle cursors kept per connection: as many as calls ran on it at once, up to this.
KEEP_MAX = 4
#: A cursor whose last result had more rows than this is closed, not kept.
KEEP_MAX_ROWS = 64
_IDLE = "_multica_db_idle_cursors"


#: Idle cursors that load json/jsonb as text (queries decoding JSON into models).
_IDLE_RAW_JSON = "_multica_db_idle_raw_json_cursors"


def take(conn: Connection[Any], *, raw_json: bool = False) -> RawCursor[TupleRow]:
    """An idle cursor of ``conn`` for one statement, or a new one; rows are tuples.

    ``raw_json``: json/jsonb results arrive as their text (see :func:`raw_json`); such
    cursors are kept apart from the others.
    """
    idle: list[RawCursor[TupleRow]] | None = getattr(
        conn, _IDLE_RAW_JSON if raw_json else _IDLE, None
    )
    if idle:
        try:
            return idle.pop()
        except IndexError:  # another thread took the last one meanwhile
            pass
    cur = RawCursor(conn, row_factory=tuple_row)
    return raw_json_cursor(cur) if raw_json else cur


def take_async(conn: AsyncConnection[Any], *, raw_json: bool = False) -> AsyncRawCursor[TupleRow]:
    """:func:`take` for an asyncio connection (no await: nothing can interleave)."""
    idle: list[AsyncRawCursor[TupleRow]] | None = getattr(
        conn, _IDLE_RAW_JSON if raw_json else _IDLE, None
    )
    if idle:
        try:
            return idle.pop()
        except IndexError:
            pass
    cur = AsyncRawCursor(conn, row_factory=tuple_row)
    return raw_json_cursor(cur) if raw_json else cur


class _HasAdapters(Protocol):
    @property
    def adapters(self) -> AdaptersMap: ...


C = TypeVar("C", bound=_HasAdapters)


def raw_json_cursor(cur: C) -> C:
    """``cur``, loading json and jsonb results as their text (its own adapters only):
    the generated code parses it into the shape the query builds."""
    raw_json_loaders(cur.adapters)
    return cur


def give_back(
    conn: Connection[Any] | AsyncConnection[Any],
    cur: RawCursor[TupleRow] | AsyncRawCursor[TupleRow],
    *,
    raw_json: bool = False,
) -> None:
    """Keep ``cur`` for the connection's next call — unless it should not be kept."""
    result = cur.pgresult
    if conn.pgconn.pipeline_status or (result is not None and result.ntuples > KEEP_MAX_ROWS):
        return  # dropped: closed as its last reference goes
    key = _IDLE_RAW_JSON if raw_json else _IDLE
    idle: list[Any] | None = getattr(conn, key, None)
    if idle is None:
        idle = []
        try:
            setattr(conn, key, idle)
        except AttributeError:  # a connection class without instance attributes
            return
    if len(idle) < KEEP_MAX:
        idle.append(cur)


def forget_cursors(conn: Connection[Any] | AsyncConnection[Any]) -> None:
    """Drop ``conn``'s idle cursors, so the next calls use its current adapters."""
    for key in (_IDLE, _IDLE_RAW_JSON):
        idle: list[Any] | None = getattr(conn, key, None)
        if idle is not None:
            idle.clear()


def stream_transaction(conn: Connection[Any]) -> AbstractContextManager[Any]:
    """The transaction a server-side cursor needs: opened here only in autocommit mode.

    Outside autocommit, psycopg has already begun (or will begin) the caller's
    transaction, and not nesting a savepoint lets several iterations interleave.
    """
    return conn.transaction() if conn.autocommit else nullcontext()


def astream_transaction(conn: AsyncConnection[Any]) -> AbstractAsyncContextManager[Any]:
    """:func:`stream_transaction` for an asyncio connection."""
    return conn.transaction() if conn.autocommit else nullcontext()


_cursor_numbers = itertools.count(1)


def cursor_name(prefix: str) -> str:
    """A server-side cursor name unique in this process (two iterations may interleave)."""
    return f"{prefix}_{next(_cursor_numbers)}"
