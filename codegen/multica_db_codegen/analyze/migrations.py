"""Which files make the schema, in which order, and which part of each runs.

Migration tools mark a file's forward and backward parts with comments: goose
(``-- +goose Up`` / ``-- +goose Down``), dbmate (``-- migrate:up`` /
``-- migrate:down``), sql-migrate (``-- +migrate Up`` / ``-- +migrate Down``) and
tern (``---- create above / drop below ----``, forward part above). These markers
are recognised among the comment tokens PostgreSQL's scanner finds, each the
first thing on its line, as the tools read them: a marker's words inside a string,
a dollar-quoted body or in the middle of a comment change nothing.
golang-migrate keeps the two parts in ``NNN_name.up.sql`` / ``NNN_name.down.sql``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from multica_db_codegen.analyze.script import Piece, Token, pieces
from multica_db_codegen.errors import GenerateError, SourceFile

_MIGRATE_RE = re.compile(r"^(\d+)_.+\.(up|down)\.sql$")
_VERSION_RE = re.compile(r"^(\d+)")

# each applied to one comment token's own text
_GOOSE_RE = re.compile(r"--\s*\+goose\s+(up|down)\b", re.IGNORECASE)
_SQL_MIGRATE_RE = re.compile(r"--\s*\+migrate\s+(up|down)\b", re.IGNORECASE)
_DBMATE_RE = re.compile(r"--\s*migrate:(up|down)\b", re.IGNORECASE)
_TERN_RE = re.compile(r"----\s*create\s+above\s*/\s*drop\s+below\s*----", re.IGNORECASE)
_TOOLS = (("goose", _GOOSE_RE), ("sql-migrate", _SQL_MIGRATE_RE), ("dbmate", _DBMATE_RE))


@dataclass(frozen=True, slots=True)
class Marker:
    """A migration tool's comment: ``direction`` is "up", "down" or "tern"."""

    tool: str
    direction: str
    start: int
    end: int


def sort_key(path: Path) -> tuple[int, int, str]:
    m = _VERSION_RE.match(path.name)
    return (0, int(m.group(1)), path.name) if m else (1, 0, path.name)


def schema_files(path: Path) -> list[Path]:
    """The ``.sql`` files a schema path names, in migration (version) order, without
    golang-migrate's ``.down.sql`` files."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise GenerateError(f"schema path {str(path)!r} does not exist")
    files = [p for p in path.iterdir() if p.is_file() and p.suffix == ".sql"]
    if any(_MIGRATE_RE.match(p.name) for p in files):
        files = [p for p in files if not p.name.endswith(".down.sql")]
    return sorted(files, key=sort_key)


def markers(src: SourceFile, comments: list[Token]) -> list[Marker]:
    """The migration tools' markers among the file's comment tokens, in order."""
    out: list[Marker] = []
    for t in comments:
        if not _starts_line(src.text, t.start):
            continue
        text = src.text[t.start : t.end]
        if _TERN_RE.fullmatch(text.rstrip()):
            out.append(Marker("tern", "tern", t.start, t.end))
            continue
        for tool, rx in _TOOLS:
            m = rx.match(text)
            if m is not None:
                out.append(Marker(tool, m.group(1).lower(), t.start, t.end))
                break
    return out


def _starts_line(text: str, at: int) -> bool:
    line = text.rfind("\n", 0, at) + 1
    return not text[line:at].strip()


def up_section(src: SourceFile) -> tuple[int, int, list[Piece]]:
    """[start, end) of the file's forward part (the whole file when it has no
    markers), and its pieces (see :mod:`script`)."""
    comments: list[Token] = []
    whole = pieces(src.text, comments=comments)
    found = markers(src, comments)
    if not found:
        return (0, len(src.text), whole)
    start, end = _forward(found, len(src.text))
    return (start, end, pieces(src.text, start, end) if end > start else [])


def _forward(found: list[Marker], size: int) -> tuple[int, int]:
    tern = next((m for m in found if m.tool == "tern"), None)
    if tern is not None:  # tern: the forward part is above the marker
        return (0, tern.start)
    for tool, _ in _TOOLS:
        marks = [m for m in found if m.tool == tool]
        if not marks:
            continue
        ups = [m for m in marks if m.direction == "up"]
        if not ups:
            return (0, 0)
        start = ups[0].end
        later = [m for m in marks if m.start > start and m.direction == "down"]
        return (start, later[0].start if later else size)
    return (0, size)
