"""Read the schema as real projects keep it, and apply it to the throwaway database.

Accepted inputs (several at once, in the order given): a migrations directory
in golang-migrate (``NNN_name.up.sql``), goose (``-- +goose Up``), dbmate
(``-- migrate:up``), sql-migrate (``-- +migrate Up``) or tern (``---- create above /
drop below ----``) form, or plain ``.sql`` files and directories. Down
sections are ignored. Each file runs in one round trip; a file PostgreSQL
refuses to run in a transaction (``CREATE INDEX CONCURRENTLY``) is replayed
statement by statement.

sqlc reads a schema without running it, so it takes ``pg_dump`` output and
migrations written for a production server as they are. What cannot run on the
analyzer's throwaway database, and cannot change what a query sees, is blanked
out before anything runs (same offsets, so errors still point at the file):
psql meta-commands (``\restrict``), ``COPY … FROM stdin`` data, ownership,
grants, roles, databases, tablespaces and subscriptions, and annotated queries
(sqlc projects often name one file as both ``schema`` and ``queries``). A ``CREATE EXTENSION``
the server does not have is skipped with a warning, and an error that follows
from it names the extension. Settings a file changes (pg_dump empties
``search_path``) end with the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pglast
import psycopg
from psycopg import errors as pgerrors

from multica_db_codegen.errors import GenerateError, Location, SourceFile
from multica_db_codegen.parse.annotations import skip_space

_MIGRATE_RE = re.compile(r"^(\d+)_.+\.(up|down)\.sql$")
_GOOSE_RE = re.compile(r"^--\s*\+goose\s+(up|down)\b", re.IGNORECASE | re.MULTILINE)
_DBMATE_RE = re.compile(r"^--\s*migrate:(up|down)\b", re.IGNORECASE | re.MULTILINE)
_SQL_MIGRATE_RE = re.compile(r"^--\s*\+migrate\s+(up|down)\b", re.IGNORECASE | re.MULTILINE)
_TERN_RE = re.compile(r"^----\s*create above\s*/\s*drop below\s*----", re.IGNORECASE | re.MULTILINE)
_VERSION_RE = re.compile(r"^(\d+)")


# Statements that cannot change what a query sees, but can fail on (or reach beyond) a
# throwaway database: pg_dump's ownership and grants name roles the server may lack.
_IGNORED_HINT_RE = re.compile(
    r"\b(GRANT|REVOKE|OWNER\s+TO|ROLE|USER|GROUP|DATABASE|TABLESPACE|SUBSCRIPTION|"
    r"SECURITY\s+LABEL|DEFAULT\s+PRIVILEGES|COMMENT\s+ON\s+EXTENSION)\b",
    re.IGNORECASE,
)
_IGNORED_STMT_RE = re.compile(
    r"(GRANT|REVOKE|SECURITY\s+LABEL|ALTER\s+DEFAULT\s+PRIVILEGES|COMMENT\s+ON\s+EXTENSION)\b"
    r"|(CREATE|ALTER|DROP)\s+(ROLE|USER|GROUP|DATABASE|TABLESPACE|SUBSCRIPTION)\b"
    r"|(SET|RESET)\s+(ROLE|SESSION\s+AUTHORIZATION)\b"
    r"|ALTER\s[^;]*\bOWNER\s+TO\b",
    re.IGNORECASE,
)
# psql's own commands (pg_dump's \restrict / \unrestrict, \connect): not SQL at all
_META_RE = re.compile(r"^\\[A-Za-z!?.].*$", re.MULTILINE)
_COPY_RE = re.compile(r"^COPY\s[^;]*?\bFROM\s+stdin\b[^;]*;[^\n]*\n", re.IGNORECASE | re.MULTILINE)
_COPY_END_RE = re.compile(r"^\\\.[ \t\r]*$", re.MULTILINE)
_EXTENSION_RE = re.compile(
    r"\bCREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?(\"(?:[^\"]|\"\")+\"|[A-Za-z_][\w$]*)",
    re.IGNORECASE,
)
# a sqlc query annotation: a statement under one is a query, even in a schema file
_ANNOTATION_RE = re.compile(r"^[ \t]*(?:--|/\*)[ \t]*name:", re.MULTILINE)
_SETTING_RE = re.compile(r"^\s*(SET\s|SELECT\s+pg_catalog\.set_config\b)", re.IGNORECASE | re.M)


@dataclass(frozen=True, slots=True)
class SchemaChunk:
    """The part of a file to run: ``text[start:end]`` of ``file``, ``blank`` regions blanked."""

    file: SourceFile
    start: int
    end: int
    blank: tuple[tuple[int, int], ...] = ()  # [start, end) in the file, replaced by spaces
    resets: bool = False  # the file changes settings: they are reset after it

    @property
    def sql(self) -> str:
        text = self.file.text
        if not self.blank:
            body = text[self.start : self.end]
        else:
            parts, at = [], self.start
            for b0, b1 in self.blank:
                parts.append(text[at:b0])
                parts.append(re.sub(r"[^\n]", " ", text[b0:b1]))
                at = b1
            parts.append(text[at : self.end])
            body = "".join(parts)
        # after a final `-- comment` line, so the reset never joins it
        return body + "\n;RESET ALL;SET synchronous_commit = off" if self.resets else body


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
                body = src.text[start:end]
                chunks.append(
                    SchemaChunk(
                        src,
                        start,
                        end,
                        tuple(_ignored(src.text, start, end)),
                        _SETTING_RE.search(body) is not None,
                    )
                )
    return chunks


def _ignored(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) regions of ``text[start:end]`` that are not to run (see the module doc)."""
    body = text[start:end]
    queries = _ANNOTATION_RE.search(body) is not None
    if "\\" not in body and not queries and _IGNORED_HINT_RE.search(body) is None:
        return []  # the usual migration: nothing to look at closely
    regions: list[tuple[int, int]] = []
    for m in _COPY_RE.finditer(body):
        done = _COPY_END_RE.search(body, m.end())
        stop = done.end() if done is not None else len(body)
        regions.append((m.start(), stop))
    for m in _META_RE.finditer(body):
        if not any(a <= m.start() < b for a, b in regions):
            regions.append((m.start(), m.end()))
    regions.sort()
    if queries or _IGNORED_HINT_RE.search(body) is not None:
        regions += _ignored_statements(_blanked(body, regions))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(regions):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return [(start + a, start + b) for a, b in merged]


def _blanked(text: str, regions: list[tuple[int, int]]) -> str:
    for a, b in regions:
        text = text[:a] + re.sub(r"[^\n]", " ", text[a:b]) + text[b:]
    return text


def _ignored_statements(text: str) -> list[tuple[int, int]]:
    """Statements that cannot change what a query sees and need what a throwaway database
    may lack (a role, a tablespace) or reach beyond it (a database, a subscription)."""
    from pglast import parser as pgparser

    try:
        slices = pgparser.split(text, with_parser=False, only_slices=True)
    except pglast.parser.ParseError:
        return []  # PostgreSQL will say what is wrong when the file runs
    out: list[tuple[int, int]] = []
    for piece in slices:
        a, b = int(piece.start or 0), int(piece.stop or len(text))
        first = _skip_comments(text, a)
        annotated = _ANNOTATION_RE.search(text, a, first) is not None  # a query, not schema
        if annotated or _IGNORED_STMT_RE.match(text, first) is not None:
            semi = text.find(";", b - 1, b + 1)
            out.append((first, semi + 1 if semi != -1 else b))
    return out


def _skip_comments(text: str, i: int) -> int:
    """The first token at or after ``i``, past whitespace, ``--`` and ``/* */`` comments."""
    while True:
        j = skip_space(text, i)
        if text.startswith("/*", j):
            close = text.find("*/", j + 2)
            i = len(text) if close == -1 else close + 2
        else:
            return j


def extensions_created(chunks: list[SchemaChunk]) -> list[tuple[str, SchemaChunk, int, int]]:
    """(name, chunk, start, end) of every ``CREATE EXTENSION`` statement, in order."""
    found: list[tuple[str, SchemaChunk, int, int]] = []
    for chunk in chunks:
        sql = chunk.sql
        if "extension" not in sql.lower():
            continue
        for m in _EXTENSION_RE.finditer(sql):
            raw = m.group(1)
            name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower()
            semi = sql.find(";", m.end())
            stop = semi + 1 if semi != -1 else len(sql)
            found.append((name, chunk, chunk.start + m.start(), chunk.start + stop))
    return found


def missing_extensions(conn: psycopg.Connection[Any], chunks: list[SchemaChunk]) -> list[str]:
    """Extensions the schema creates that the server does not have, in order."""
    wanted = [name for name, *_ in extensions_created(chunks)]
    if not wanted:
        return []
    rows = conn.execute(
        "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (wanted,)
    ).fetchall()
    available = {r[0] for r in rows}
    return list(dict.fromkeys(n for n in wanted if n not in available))


def without_missing_extensions(
    conn: psycopg.Connection[Any], chunks: list[SchemaChunk]
) -> tuple[list[SchemaChunk], list[str]]:
    """The chunks with each ``CREATE EXTENSION`` the server cannot satisfy blanked out."""
    missing = set(missing_extensions(conn, chunks))
    if not missing:
        return chunks, []
    extra: dict[int, list[tuple[int, int]]] = {}
    for name, chunk, a, b in extensions_created(chunks):
        if name in missing:
            extra.setdefault(id(chunk), []).append((a, b))
    out = [
        replace(c, blank=tuple(sorted((*c.blank, *extra[id(c)])))) if id(c) in extra else c
        for c in chunks
    ]
    return out, sorted(missing)


def missing_extension_hint(missing: list[str]) -> str:
    names = ", ".join(missing)
    return (
        f"the schema's CREATE EXTENSION {names} was skipped: the analyzer's server does not "
        "have it; point --database-url (or MULTICA_DB_ANALYZER_URL) at a PostgreSQL that does"
    )


def apply_schema(conn: psycopg.Connection[Any], chunks: list[SchemaChunk]) -> None:
    """Run every chunk in order on an autocommit connection.

    The database is thrown away or rebuilt from these files at will, so waiting for
    each file's commit to reach the disk would only cost time (one fsync per file).
    """
    conn.execute("SET synchronous_commit = off")
    chunks, missing = without_missing_extensions(conn, chunks)
    for chunk in chunks:
        try:
            conn.execute(chunk.sql.encode())
        except pgerrors.ActiveSqlTransaction:
            _apply_statements(conn, chunk, missing)
        except psycopg.Error as exc:
            if missing and exc.diag.sqlstate in _MISSING_THING:
                # what needs a skipped extension is skipped too; queries using it say why
                _apply_statements(conn, chunk, missing, tolerate=True)
                continue
            if exc.diag.statement_position:
                raise _located(exc, chunk, chunk.start, missing) from None
            raise _find_failing(conn, chunk, exc, missing) from None


def _find_failing(
    conn: psycopg.Connection[Any], chunk: SchemaChunk, exc: psycopg.Error, missing: list[str]
) -> GenerateError:
    """Point a position-less error (a missing extension, a failing DO block) at its statement.

    The failed multi-statement chunk was rolled back as a whole; replaying it one
    statement at a time inside a transaction that is rolled back finds the culprit.
    """
    try:
        stmts = pglast.parse_sql(chunk.sql)
    except pglast.parser.ParseError:
        return _located(exc, chunk, chunk.start, missing)
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
                at = chunk.start + _anchor(inner, chunk.sql, begin)
                return _located(inner, chunk, at, missing)
    finally:
        conn.execute(b"ROLLBACK")
    return _located(exc, chunk, chunk.start, missing)


def _anchor(exc: psycopg.Error, text: str, begin: int) -> int:
    """Where a statement's error positions count from: its first token when it has none."""
    return begin if exc.diag.statement_position else skip_space(text, begin)


def _apply_statements(
    conn: psycopg.Connection[Any], chunk: SchemaChunk, missing: list[str], tolerate: bool = False
) -> None:
    """Run a chunk statement by statement; with ``tolerate``, skip those that fail for want
    of what a skipped extension would have created."""
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
            if tolerate and exc.diag.sqlstate in _MISSING_THING:
                continue
            at = chunk.start + _anchor(exc, chunk.sql, begin)
            raise _located(exc, chunk, at, missing) from None


#: undefined function, object (a type), table, column, schema: what a skipped extension leaves
_MISSING_THING = {"42883", "42704", "42P01", "42703", "3F000"}


def _located(
    exc: psycopg.Error, chunk: SchemaChunk, base: int, missing: list[str] | None = None
) -> GenerateError:
    diag = exc.diag
    message = diag.message_primary or str(exc)
    hint = diag.message_hint
    if missing and diag.sqlstate in _MISSING_THING:
        hint = missing_extension_hint(missing)
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
