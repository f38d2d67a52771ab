"""PREPARE + describe: PostgreSQL itself reports parameter and column types."""

from __future__ import annotations

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
    """PostgreSQL rejected the statement; ``position`` is 1-based in the SQL sent."""

    def __init__(self, message: str, position: int | None, hint: str | None, detail: str | None):
        super().__init__(message)
        self.message = message
        self.position = position
        self.hint = hint
        self.detail = detail


def _field(res: pq.abc.PGresult, f: pq.DiagnosticField) -> str | None:
    raw = res.error_field(f)
    return raw.decode("utf-8", "replace") if raw else None


def describe(conn: psycopg.Connection[Any], sql: str) -> Described:
    """Prepare ``sql`` as the unnamed statement and read what PostgreSQL inferred."""
    pgconn = conn.pgconn
    res = pgconn.prepare(b"", sql.encode())
    if res.status != pq.ExecStatus.COMMAND_OK:
        pos = _field(res, pq.DiagnosticField.STATEMENT_POSITION)
        raise DescribeError(
            _field(res, pq.DiagnosticField.MESSAGE_PRIMARY) or res.error_message.decode(),
            int(pos) if pos else None,
            _field(res, pq.DiagnosticField.MESSAGE_HINT),
            _field(res, pq.DiagnosticField.MESSAGE_DETAIL),
        )
    d = pgconn.describe_prepared(b"")
    if d.status != pq.ExecStatus.COMMAND_OK:
        raise DescribeError(d.error_message.decode(), None, None, None)
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
