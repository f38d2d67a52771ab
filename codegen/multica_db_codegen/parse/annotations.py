"""Split an annotated file into queries, using PostgreSQL's own lexer and parser.

``-- name: QueryName :cmd`` starts a query; the ``--`` lines right under it are
its docstring; the statement runs to its ``;``. Statement boundaries come from
pglast (libpg_query), so a ``;`` inside a string, a dollar-quoted body or a
comment never splits a query.

What sqlc skips is skipped here too, with a warning rather than an error (sqlc
users move whole query directories over): a statement without an annotation
(DDL or a ``SET`` left in a query file), a second statement under one
annotation (sqlc keeps only the first), a second annotation above one
statement (the first wins), an annotation with no statement after it. A malformed
annotation (no command, an unknown one) is an error only where sqlc reads it: as the
first annotation above a statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pglast
from pglast import parser as pgparser

from multica_db_codegen.errors import GenerateError, GenerateErrors, Location, SourceFile
from multica_db_codegen.parse.params import rewrite_parameters
from multica_db_codegen.parse.spec import Command, QuerySpec

# ``-- name: X :cmd``, or ``/* name: X :cmd */``, which sqlc also reads for PostgreSQL
_NAME_RE = re.compile(r"^(?:--|/\*)\s*name:\s*(?P<rest>.*?)(?:\s*\*/)?$", re.DOTALL)
_NAME_ARGS_RE = re.compile(r"^(?P<name>\S+)\s+:(?P<cmd>\S+)\s*$")
# sqlc accepts any name of letters, digits and underscores (Unicode letters included);
# the renderer's naming pass makes it a safe Python name (``In`` → ``in_``).
_NAME_CHARS_RE = re.compile(r"^\w+$")


@dataclass(frozen=True, slots=True)
class _Annotation:
    name: str
    command: Command
    offset: int  # start of the comment
    end: int  # offset just past the comment


@dataclass(frozen=True, slots=True)
class _Comment:
    start: int
    end: int  # exclusive
    text: str


def parse_query_file(
    path: Path | str,
    text: str | None = None,
    warnings: list[str] | None = None,
    schema_too: bool = False,
    failed: list[GenerateError] | None = None,
) -> list[QuerySpec]:
    """Every annotated query of one file, or :class:`GenerateErrors` listing all problems.

    ``failed``: receives the errors of the statements that could not be read instead,
    and the other statements' queries are returned (a file that cannot be split into
    statements at all still raises).

    ``warnings`` receives ``file:line:col: message`` for each statement or annotation
    skipped the way sqlc skips it. ``schema_too``: the file is also a schema input, so
    its statements without an annotation are its schema, skipped here without a word.
    """
    src = SourceFile(str(path), text if text is not None else Path(path).read_text("utf-8"))
    errors: list[GenerateError] = []
    notes: list[str] = warnings if warnings is not None else []

    def note(offset: int, message: str) -> None:
        line, col = src.line_col(offset)
        notes.append(f"{src.path}:{line}:{col}: {message}")

    try:
        tokens = pgparser.scan(src.text)
    except pglast.parser.ParseError as exc:
        raise GenerateErrors(
            [GenerateError(str(exc.args[0]), location=Location(src, _pos(exc)))]
        ) from None
    comments = [
        _Comment(t.start, t.end + 1, src.text[t.start : t.end + 1])
        for t in tokens
        if t.name in ("SQL_COMMENT", "C_COMMENT")
    ]
    annotations: list[_Annotation] = []
    # malformed ones, by offset: an error only where sqlc reads them (the first name
    # line above a statement); elsewhere sqlc never looks at them, so a warning
    rejected: dict[int, GenerateError] = {}
    for c in comments:
        m = _NAME_RE.match(c.text)
        if m is None:
            continue
        problems: list[GenerateError] = []
        ann = _read_annotation(src, c, m.group("rest"), problems)
        if ann is not None:
            annotations.append(ann)
        else:
            rejected[c.start] = problems[0]

    try:
        # Boundaries only: the parser finds them without building a Python tree of the
        # whole file (each statement's tree is built once, after its parameters are rewritten).
        slices = pgparser.split(src.text, with_parser=True, only_slices=True)
    except pglast.parser.ParseError as exc:
        offset = _pos(exc)
        owner = _owner(annotations, offset)
        errors.append(
            GenerateError(
                str(exc.args[0]),
                location=Location(src, offset),
                query=owner.name if owner else None,
            )
        )
        raise GenerateErrors(errors) from None

    specs: list[QuerySpec] = []
    seen_names: dict[str, _Annotation] = {}
    used: set[int] = set()
    prev_end = 0
    for piece in slices:
        start, end = int(piece.start or 0), int(piece.stop or len(src.text))
        stmt_text = src.text[start:end].rstrip().rstrip(";").rstrip()
        # As sqlc reads it: the first annotation between the previous statement and
        # this one names it; any later one there is ignored.
        between = [a for a in annotations if prev_end <= a.offset < start]
        malformed = sorted(r for r in rejected if prev_end <= r < start)
        if malformed and (not between or malformed[0] < between[0].offset):
            errors.append(rejected.pop(malformed[0]))  # the name line sqlc reads
            prev_end = end
            continue
        ann = between[0] if between else None
        for extra in between[1:]:
            used.add(id(extra))
            note(
                extra.offset,
                f"annotation {extra.name!r} is ignored: {between[0].name!r} "
                "above it already names the statement below (sqlc keeps the first)",
            )
        for r in malformed:
            problem = rejected.pop(r)
            note(
                r,
                f"{problem.message}: ignored, as sqlc ignores it ({between[0].name!r} above "
                "it already names the statement below)",
            )
        if ann is None:
            prior = next((a for a in reversed(annotations) if a.offset < start), None)
            at = skip_space(src.text, start)
            if prior is not None and id(prior) in used:
                note(
                    at,
                    f"statement skipped: it follows {prior.name!r} without an annotation "
                    "of its own (sqlc keeps only the first statement under a name)",
                )
            elif not schema_too:
                note(at, "statement without a `-- name: Name :cmd` annotation is skipped")
            prev_end = end
            continue
        used.add(id(ann))
        prev_end = end
        if ann.name in seen_names:
            first = seen_names[ann.name]
            line, col = src.line_col(first.offset)
            errors.append(
                GenerateError(
                    f"duplicate query name (first defined at {src.path}:{line}:{col})",
                    location=Location(src, ann.offset),
                    query=ann.name,
                )
            )
            continue
        seen_names[ann.name] = ann
        doc = _doc_lines(src, comments, ann, start)
        try:
            specs.append(
                rewrite_parameters(
                    name=ann.name,
                    command=ann.command,
                    doc=doc,
                    location=Location(src, ann.offset),
                    sql_location=Location(src, start),
                    sql=stmt_text,
                )
            )
        except GenerateError as exc:
            errors.append(exc)

    for ann in annotations:
        if id(ann) not in used and ann.name not in seen_names:
            note(ann.offset, f"annotation {ann.name!r} is not followed by a statement: ignored")
    for r, problem in sorted(rejected.items()):
        note(
            r,
            f"{problem.message}: ignored, as sqlc ignores it (no statement follows; sqlc reads "
            "an annotation only above a statement)",
        )
    if errors and failed is None:
        raise GenerateErrors(errors)
    if failed is not None:
        failed.extend(errors)
    return specs


def _read_annotation(
    src: SourceFile, c: _Comment, rest: str, errors: list[GenerateError]
) -> _Annotation | None:
    loc = Location(src, c.start)
    m = _NAME_ARGS_RE.match(rest.strip())
    if m is None:
        errors.append(
            GenerateError(
                "malformed annotation: expected `-- name: QueryName :command`",
                location=loc,
            )
        )
        return None
    name, cmd = m.group("name"), m.group("cmd")
    try:
        command = Command(cmd)
    except ValueError:
        errors.append(
            GenerateError(
                f"unknown command :{cmd} (expected one of "
                + ", ".join(":" + c.value for c in Command)
                + ")",
                location=Location(
                    src, c.start + c.text.index(":" + cmd, c.text.index("name:") + 5)
                ),
                query=name,
            )
        )
        return None
    if not _NAME_CHARS_RE.match(name):
        errors.append(
            GenerateError(
                f"invalid query name {name!r}: use letters, digits and underscores",
                location=Location(src, c.start + c.text.index(name, c.text.index("name:") + 5)),
                query=name,
            )
        )
        return None
    return _Annotation(name, command, c.start, c.end)


def _doc_lines(src: SourceFile, comments: list[_Comment], ann: _Annotation, stmt: int) -> list[str]:
    """Comment lines directly under the annotation, each on its own line, up to the statement."""
    lines: list[str] = []
    expected_line = src.line_col(ann.offset)[0] + 1
    for c in comments:
        if c.start <= ann.offset or c.start >= stmt:
            continue
        line = src.line_col(c.start)[0]
        if line != expected_line or not c.text.startswith("--"):
            break
        body = c.text[2:]
        lines.append(body[1:] if body.startswith(" ") else body)
        expected_line += 1
    while lines and not lines[-1].strip():
        lines.pop()
    return [ln.rstrip() for ln in lines]


def skip_space(text: str, i: int) -> int:
    """The first token at or after ``i``, past white space and ``--`` comments.

    A statement's slice starts after the last ``;``, and pglast's statement start
    may include what precedes its first token.
    """
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            nl = text.find("\n", i)
            i = len(text) if nl == -1 else nl + 1
        else:
            break
    return i


def _owner(annotations: list[_Annotation], offset: int) -> _Annotation | None:
    return next((a for a in reversed(annotations) if a.offset <= offset), None)


def _pos(exc: Exception) -> int:
    """pglast's ParseError carries the 0-based character offset of the offending token."""
    loc = exc.args[1] if len(exc.args) > 1 else 0
    return max(0, int(loc)) if isinstance(loc, int) else 0
