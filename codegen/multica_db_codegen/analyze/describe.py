"""PREPARE + describe: PostgreSQL itself reports parameter and column types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq


@dataclass(frozen=True, slots=True)
class RawColumn:
    name: str
    type_oid: int
    table_oid: int  # 0 unless the column is a direct reference to a table column
    attnum: int


@dataclass(frozen=True, slots=True)
class Described:
    param_oids: tuple[int, ...]
    columns: tuple[RawColumn, ...]


class DescribeError(Exception):
    """PostgreSQL rejected the statement; ``position`` is 1-based in the SQL sent.

    ``sqlstate``: PostgreSQL's error code when it said one (what the refusal is about,
    whatever language the server writes its messages in).
    """

    def __init__(
        self,
        message: str,
        position: int | None,
        hint: str | None,
        detail: str | None,
        sqlstate: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.position = position
        self.hint = hint
        self.detail = detail
        self.sqlstate = sqlstate


def _field(res: pq.abc.PGresult, f: pq.DiagnosticField) -> str | None:
    raw = res.error_field(f)
    return raw.decode("utf-8", "replace") if raw else None


def _prepare_error(res: pq.abc.PGresult) -> DescribeError:
    pos = _field(res, pq.DiagnosticField.STATEMENT_POSITION)
    return DescribeError(
        _field(res, pq.DiagnosticField.MESSAGE_PRIMARY) or res.error_message.decode(),
        int(pos) if pos else None,
        _field(res, pq.DiagnosticField.MESSAGE_HINT),
        _field(res, pq.DiagnosticField.MESSAGE_DETAIL),
        _field(res, pq.DiagnosticField.SQLSTATE),
    )


def describe(conn: psycopg.Connection[Any], sql: str, param_oids: Sequence[int] = ()) -> Described:
    """Prepare ``sql`` as the unnamed statement and read what PostgreSQL inferred.

    ``param_oids``: the parameters' types when already known (a statement derived from
    another may no longer say what some of them are).
    """
    pgconn = conn.pgconn
    res = pgconn.prepare(b"", sql.encode(), list(param_oids) or None)
    if res.status != pq.ExecStatus.COMMAND_OK:
        raise _prepare_error(res)
    d = pgconn.describe_prepared(b"")
    if d.status != pq.ExecStatus.COMMAND_OK:
        raise DescribeError(d.error_message.decode(), None, None, None)
    return _described(d)


#: Statements sent per pipeline batch: the results of one batch (a few hundred bytes
#: each) must fit the socket buffers, since nothing is read until the batch is sent.
_BATCH = 64


def describe_many(
    conn: psycopg.Connection[Any], sqls: list[str]
) -> list[Described | DescribeError]:
    """``describe`` for every statement, in libpq pipeline mode.

    Each statement is prepared, described and followed by its own sync, so one that
    PostgreSQL rejects affects no other; the results are exactly what ``describe``
    returns or raises, but a batch costs one network round trip instead of two per
    statement.
    """
    pgconn = conn.pgconn
    out: list[Described | DescribeError] = []
    pgconn.enter_pipeline_mode()
    try:
        for start in range(0, len(sqls), _BATCH):
            batch = sqls[start : start + _BATCH]
            for sql in batch:
                pgconn.send_prepare(b"", sql.encode())
                pgconn.send_describe_prepared(b"")
                pgconn.pipeline_sync()
            while pgconn.flush():
                pass
            for _ in batch:
                out.append(_read_one(pgconn))
    finally:
        pgconn.exit_pipeline_mode()
    return out


def _next(pgconn: pq.abc.PGconn) -> pq.abc.PGresult:
    """The next result, skipping the NULL that ends each command's results."""
    res = pgconn.get_result()
    while res is None:
        res = pgconn.get_result()
    return res


def _read_one(pgconn: pq.abc.PGconn) -> Described | DescribeError:
    """The prepare's, the describe's and the sync's results of one statement."""
    prepared = _next(pgconn)
    described = _next(pgconn)
    sync = _next(pgconn)
    if sync.status != pq.ExecStatus.PIPELINE_SYNC:
        raise psycopg.OperationalError(f"unexpected pipeline result: {sync.status!r}")
    if prepared.status != pq.ExecStatus.COMMAND_OK:
        return _prepare_error(prepared)
    if described.status != pq.ExecStatus.COMMAND_OK:
        return DescribeError(described.error_message.decode(), None, None, None)
    return _described(described)


def _described(d: pq.abc.PGresult) -> Described:
    params = tuple(d.param_type(i) for i in range(d.nparams))
    cols = tuple(
        RawColumn(
            name=(d.fname(i) or b"").decode(),
            type_oid=d.ftype(i),
            table_oid=d.ftable(i),
            attnum=d.ftablecol(i),
        )
        for i in range(d.nfields)
    )
    return Described(params, cols)
