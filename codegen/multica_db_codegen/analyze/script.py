"""Cut a schema file into what psql would run: statements, psql commands, ``COPY`` data.

Schema files are run the way ``psql -f`` (pg_dump output) or a migration tool
(one multi-statement round trip) would run them, so their pieces are found the
way those read them: with PostgreSQL's own scanner (pglast), never by searching
the text. Words inside comments, string constants, dollar-quoted bodies (a
``DO`` block, a function) or quoted identifiers are never mistaken for SQL.

- A statement ends at a ``;`` token, except inside a ``BEGIN ATOMIC … END`` body
  of ``CREATE FUNCTION`` / ``CREATE PROCEDURE`` (psql's rule).
- A backslash where a statement would start begins a psql command (pg_dump's
  ``\\restrict``, ``\\connect``): the rest of that line.
- ``COPY … FROM stdin`` (decided from the parse tree) is followed by data lines up
  to psql's ``\\.`` terminator line: data, not SQL.

Offsets are character offsets into the whole file, so errors point at the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pglast
from pglast import parser as pgparser

PieceKind = Literal["statement", "psql", "data"]


@dataclass(frozen=True, slots=True)
class Token:
    """One scanner token: ``text[start:end]`` of the file (``end`` exclusive)."""

    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Piece:
    """A statement (from its first token through its ``;``), a psql command line, or
    ``COPY`` data. ``comments`` are the comment tokens right before a statement
    (after the previous piece)."""

    kind: PieceKind
    start: int
    end: int
    tokens: tuple[Token, ...] = ()
    comments: tuple[Token, ...] = ()

    def text(self, source: str) -> str:
        return source[self.start : self.end]


_COMMENTS = ("SQL_COMMENT", "C_COMMENT")


def scan(text: str, start: int = 0, end: int | None = None) -> tuple[list[Token], int | None]:
    """The tokens of ``text[start:end]`` with file offsets, and where scanning stopped
    (the offset of a token the scanner refuses, such as an unterminated string), or None.
    """
    stop = len(text) if end is None else end
    failed: int | None = None
    while True:
        try:
            raw = pgparser.scan(text[start:stop])
            break
        except pglast.parser.ParseError as exc:
            at = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
            at = max(0, min(at, stop - start))
            failed = start + at if failed is None else min(failed, start + at)
            if at == 0 or start + at >= stop:
                raw = []
                break
            stop = start + at  # everything before the refused token scans
    return [Token(t.name, start + t.start, start + t.end + 1) for t in raw], failed


def pieces(
    text: str, start: int = 0, end: int | None = None, comments: list[Token] | None = None
) -> list[Piece]:
    """``text[start:end]`` cut into pieces, in order (see the module doc).

    ``comments``, when given, receives every comment token outside ``COPY`` data,
    including those inside statements (migration tools' markers are comments).
    """
    stop = len(text) if end is None else end
    out: list[Piece] = []
    at = start
    while at < stop:
        tokens, failed = scan(text, at, stop)
        resume = None
        for piece in _group(text, tokens, stop, comments):
            out.append(piece)
            if piece.kind == "psql":  # the line's tokens mean nothing: scan again after it
                resume = piece.end
                break
            if piece.kind == "statement" and _copy_from_stdin(piece.text(text)):
                data = _copy_data(text, piece.end, stop)
                if data is not None:
                    out.append(data)
                    resume = data.end
                    break
        if resume is not None:
            at = resume
            continue
        if failed is not None:  # unscannable from here on: PostgreSQL will say why
            last = out[-1] if out and out[-1].start >= at else None
            end_at = _rstrip(text, failed, stop)
            if last is not None and last.kind == "statement" and not _terminated(last):
                out[-1] = Piece("statement", last.start, end_at, last.tokens, last.comments)
            elif failed < stop:
                out.append(Piece("statement", failed, end_at))
        break
    return out


def _terminated(piece: Piece) -> bool:
    return bool(piece.tokens) and piece.tokens[-1].name == "ASCII_59"


def _rstrip(text: str, a: int, b: int) -> int:
    while b > a and text[b - 1].isspace():
        b -= 1
    return b


def _group(text: str, tokens: list[Token], stop: int, seen: list[Token] | None) -> Iterator[Piece]:
    """Tokens grouped into statements and psql command lines."""
    current: list[Token] = []
    comments: list[Token] = []
    depth = 0  # BEGIN ATOMIC … END nesting inside CREATE FUNCTION / PROCEDURE
    routine = False
    skip_until = -1  # the end of a psql command line
    for t in tokens:
        if t.start < skip_until:
            continue
        if t.name in _COMMENTS:
            if seen is not None:
                seen.append(t)
            if not current:
                comments.append(t)
            continue
        if not current and t.name == "ASCII_92":  # '\': a psql command, to the end of line
            nl = text.find("\n", t.start, stop)
            line_end = stop if nl == -1 else nl
            skip_until = line_end
            yield Piece("psql", t.start, line_end, comments=tuple(comments))
            comments = []
            continue
        current.append(t)
        if len(current) <= 4 and t.name in ("FUNCTION", "PROCEDURE"):
            names = [c.name for c in current[:-1]]
            routine = names in (["CREATE"], ["CREATE", "OR", "REPLACE"])
        if routine:
            if t.name == "BEGIN_P" or (t.name == "CASE" and depth > 0):
                depth += 1
            elif t.name == "END_P" and depth > 0:
                depth -= 1
        if t.name == "ASCII_59" and depth == 0:
            yield Piece("statement", current[0].start, t.end, tuple(current), tuple(comments))
            current, comments, routine = [], [], False
    if current:
        yield Piece("statement", current[0].start, current[-1].end, tuple(current), tuple(comments))


def parse_one(sql: str) -> Any | None:
    """The parse tree of one statement's text (a pglast node), or None when pglast
    cannot parse it (a syntax error, or syntax newer than pglast's grammar)."""
    try:
        stmts = pglast.parse_sql(sql)
    except pglast.parser.ParseError:
        return None
    if len(stmts) != 1:
        return None
    return stmts[0].stmt


def _copy_from_stdin(sql: str) -> bool:
    head = sql.lstrip()[:4].upper()
    if head != "COPY":
        return False
    node = parse_one(sql)
    return (
        node is not None
        and type(node).__name__ == "CopyStmt"
        and bool(node.is_from)
        and node.filename is None
        and not node.is_program
    )


def _copy_data(text: str, after: int, stop: int) -> Piece | None:
    """psql's ``COPY … FROM stdin`` data: from the next line through the ``\\.`` line."""
    nl = text.find("\n", after, stop)
    if nl == -1:
        return None
    first = i = nl + 1
    while i < stop:
        nl = text.find("\n", i, stop)
        line_end = stop if nl == -1 else nl
        if text[i:line_end].rstrip("\r") == "\\.":
            return Piece("data", first, line_end)
        i = line_end + 1
    return Piece("data", first, stop)
