"""The generated functions behind connection pools and transaction-mode poolers (pgbouncer).

Every generated function runs inside whatever transaction the caller holds and keeps
no session state between calls, so it works through pgbouncer in transaction mode
as it is — with one exception that belongs to psycopg, not to the generated code:
psycopg prepares a statement on the server (``_pg3_0``, ``_pg3_1``…) once it has
run it ``prepare_threshold`` times (5) on a connection. pgbouncer before 1.21 (or
1.21+ with ``max_prepared_statements = 0``) hands the server connection to other
clients between transactions, so the statement is missing where the next execution
lands, or a second client's ``_pg3_0`` collides with the first one's. PostgreSQL then
answers ``prepared statement "_pg3_0" already exists`` / ``does not exist``, which
says nothing about the cause.

- :func:`configure` / :func:`aconfigure`: a ``psycopg_pool`` ``configure=`` callback
  that turns psycopg's automatic prepare off (``prepare_threshold = None``), the fix.
- :class:`PoolerConnection` / :class:`AsyncPoolerConnection`: connection classes (for
  ``psycopg.connect`` or ``psycopg_pool``'s ``connection_class=``) that leave the
  threshold alone but turn that confusing error into :class:`PreparedStatementsUnsupported`,
  which names the cause and the fix.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import errors
from psycopg.rows import Row

__all__ = [
    "AsyncPoolerConnection",
    "PoolerConnection",
    "PreparedStatementsUnsupported",
    "aconfigure",
    "configure",
    "explain",
]

#: psycopg's own names for the statements it prepares automatically.
_PSYCOPG_STATEMENT = re.compile(r'prepared statement "(_pg3_\d+)"')


class PreparedStatementsUnsupported(psycopg.OperationalError):
    """psycopg's automatic prepared statement was lost between server connections."""


def configure(conn: psycopg.Connection[Any]) -> None:
    """``ConnectionPool(url, configure=configure)``: never prepare statements on the server.

    Safe behind any pooler; costs the re-planning that preparing would save (for the
    short statements generated code runs, a few percent at most).
    """
    conn.prepare_threshold = None


async def aconfigure(conn: psycopg.AsyncConnection[Any]) -> None:
    """:func:`configure` for ``AsyncConnectionPool``."""
    conn.prepare_threshold = None


def explain(exc: BaseException) -> PreparedStatementsUnsupported | None:
    """The clear error for ``exc`` when it is a lost or colliding psycopg prepared statement."""
    if not isinstance(exc, errors.InvalidSqlStatementName | errors.DuplicatePreparedStatement):
        return None
    found = _PSYCOPG_STATEMENT.search(str(exc))
    if found is None:
        return None
    return PreparedStatementsUnsupported(
        f"{str(exc).strip()}: psycopg prepares a statement on the server connection after "
        f"prepare_threshold runs, and a transaction-mode pooler (pgbouncer before 1.21, or with "
        f"max_prepared_statements = 0) hands server connections from client to client, so "
        f"{found.group(1)} is missing, or another client's, where this execution landed. Connect "
        "with prepare_threshold=None (multica_db.pooling.configure for psycopg_pool), or use "
        "pgbouncer 1.21+ with max_prepared_statements > 0."
    )


class PoolerConnection(psycopg.Connection[Row]):
    """A psycopg connection whose lost prepared statements raise a clear error."""

    def wait(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().wait(*args, **kwargs)
        except psycopg.Error as exc:
            clear = explain(exc)
            if clear is None:
                raise
            raise clear from exc


class AsyncPoolerConnection(psycopg.AsyncConnection[Row]):
    """:class:`PoolerConnection` for asyncio."""

    async def wait(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().wait(*args, **kwargs)
        except psycopg.Error as exc:
            clear = explain(exc)
            if clear is None:
                raise
            raise clear from exc
