"""Read the schema as real projects keep it, and apply it to the throwaway database.

Accepted inputs (several at once, in the order given): a migrations directory
in golang-migrate (``NNN_name.up.sql``), goose (``-- +goose Up``), dbmate
(``-- migrate:up``), sql-migrate (``-- +migrate Up``) or tern (``---- create above /
drop below ----``) form, or plain ``.sql`` files and directories. Down
sections are ignored. Each file runs in one round trip; a file PostgreSQL
refuses to run in a transaction (``CREATE INDEX CONCURRENTLY``) is replayed
statement by statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pglast
import psycopg
from psycopg import errors as pgerrors

from multica_db_codegen.errors import GenerateError, Location, SourceFile

_MIGRATE_RE = re.compile(r"^(\d+)_.+\.(up|down)\.sql$")
_GOOSE_RE = re.compile(r"^--\s*\+goose\s+(up|down)\b", re.IGNORECASE | re.MULTILINE)
_DBMATE_RE = re.compile(r"^--\s*migrate:(up|down)\b", re.IGNORECASE | re.MULTILINE)
_SQL_MIGRATE_RE = re.compile(r"^--\s*\+migrate\s+(up|down)\b", re.IGNORECASE | re.MULTILINE)
_TERN_RE = re.compile(r"^----\s*create above\s*/\s*drop below\s*----", re.IGNORECASE | re.MULTILINE)
_VERSION_RE = re.compile(r"^(\d+)")


@dataclass(frozen=True, slots=True)
class SchemaChunk:
    """The part of a file to run: ``text[start:end]`` of ``file``."""

    file: SourceFile
    start: int
    end: int

    @property
    def sql(self) -> str:
        return self.file.text[self.start : self.end]


def _sort_key(path: Path) -> tuple[int, int, str]:
    m = _VERSION_RE.match(path.name)
    return (0, int(m.group(1)), path.name) if m else (1, 0, path.name)


def _files_of(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise GenerateError(f"schema path {str(path)!r} does not exist")
    files = [p for p in path.iterdir() if p.is_file() and p.suffix == ".sql"]
    if any(_MIGRATE_RE.match(p.name) for p in files):
        files = [p for p in files if not p.name.endswith(".down.sql")]
    return sorted(files, key=_sort_key)


def _up_section(src: SourceFile) -> tuple[int, int]:
    """[start, end) of the forward part of a goose or dbmate file; the whole file otherwise."""
    tern = _TERN_RE.search(src.text)
    if tern is not None:  # tern: the forward part is above the marker
        return (0, tern.start())
    for marker in (_GOOSE_RE, _DBMATE_RE, _SQL_MIGRATE_RE):
        marks = list(marker.finditer(src.text))
        if not marks:
            continue
        ups = [m for m in marks if m.group(1).lower() == "up"]
        if not ups:
            return (0, 0)
        start = ups[0].end()
        later = [m for m in marks if m.start() > start and m.group(1).lower() == "down"]
        return (start, later[0].start() if later else len(src.text))
    return (0, len(src.text))


def load_schema(paths: list[Path]) -> list[SchemaChunk]:
    chunks: list[SchemaChunk] = []
    for path in paths:
        for file in _files_of(path):
            src = SourceFile.read(file)
            start, end = _up_section(src)
            if src.text[start:end].strip():
                chunks.append(SchemaChunk(src, start, end))
    return chunks


def apply_schema(conn: psycopg.Connection[Any], chunks: list[SchemaChunk]) -> None:
    """Run every chunk in order on an autocommit connection.

    The database is thrown away or rebuilt from these files at will, so waiting for
    each file's commit to reach the disk would only cost time (one fsync per file).
    """
    conn.execute("SET synchronous_commit = off")
    for chunk in chunks:
        try:
            conn.execute(chunk.sql.encode())
        except pgerrors.ActiveSqlTransaction:
            _apply_statements(conn, chunk)
        except psycopg.Error as exc:
            if exc.diag.statement_position:
                raise _located(exc, chunk, chunk.start) from None
            raise _find_failing(conn, chunk, exc) from None


def _find_failing(
    conn: psycopg.Connection[Any], chunk: SchemaChunk, exc: psycopg.Error
) -> GenerateError:
    """Point a position-less error (a missing extension, a failing DO block) at its statement.

    The failed multi-statement chunk was rolled back as a whole; replaying it one
    statement at a time inside a transaction that is rolled back finds the culprit.
    """
    try:
        stmts = pglast.parse_sql(chunk.sql)
    except pglast.parser.ParseError:
        return _located(exc, chunk, chunk.start)
    conn.execute(b"BEGIN")
    try:
        for raw in stmts:
            begin = raw.stmt_location or 0
            end = begin + raw.stmt_len if raw.stmt_len else len(chunk.sql)
            conn.execute(b"SAVEPOINT multica_locate")
            try:
                conn.execute(chunk.sql[begin:end].encode())
            except pgerrors.ActiveSqlTransaction:
                conn.execute(b"ROLLBACK TO SAVEPOINT multica_locate")
            except psycopg.Error as inner:
                return _located(inner, chunk, chunk.start + _anchor(inner, chunk.sql, begin))
    finally:
        conn.execute(b"ROLLBACK")
    return _located(exc, chunk, chunk.start)


def _anchor(exc: psycopg.Error, text: str, begin: int) -> int:
    """Where a statement's error positions count from: its first token when it has none."""
    return begin if exc.diag.statement_position else _skip_space(text, begin)


def _skip_space(text: str, i: int) -> int:
    """pglast's statement start may include the whitespace and comments before it."""
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            nl = text.find("\n", i)
            i = len(text) if nl == -1 else nl + 1
        else:
            break
    return i


def _apply_statements(conn: psycopg.Connection[Any], chunk: SchemaChunk) -> None:
    try:
        stmts = pglast.parse_sql(chunk.sql)
    except pglast.parser.ParseError as exc:
        raise GenerateError(
            str(exc.args[0]),
            location=Location(chunk.file, chunk.start + int(exc.args[1])),
        ) from None
    for raw in stmts:
        begin = raw.stmt_location or 0
        end = begin + raw.stmt_len if raw.stmt_len else len(chunk.sql)
        try:
            conn.execute(chunk.sql[begin:end].encode())
        except psycopg.Error as exc:
            raise _located(exc, chunk, chunk.start + _anchor(exc, chunk.sql, begin)) from None


def _located(exc: psycopg.Error, chunk: SchemaChunk, base: int) -> GenerateError:
    diag = exc.diag
    message = diag.message_primary or str(exc)
    hint = diag.message_hint
    if diag.sqlstate == "0A000" and "extension" in message:
        hint = (hint + "; " if hint else "") + (
            "the extension is not installed on the analyzer's server: install it there, "
            "or point --database-url at a server that has it"
        )
    elif diag.sqlstate == "58P01" and "extension" in message:
        hint = "the extension is not installed on the analyzer's server"
    pos = diag.statement_position
    offset = base + int(pos) - 1 if pos else base
    return GenerateError(
        f"schema error: {message}", location=Location(chunk.file, offset), hint=hint
    )
