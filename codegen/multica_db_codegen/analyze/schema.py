"""Read the schema as real projects keep it, and apply it to the analyzer's database.

Accepted inputs (several at once, in the order given): a migrations directory
in golang-migrate (``NNN_name.up.sql``), goose, dbmate, sql-migrate or tern form
(see :mod:`migrations`), ``pg_dump`` output, or plain ``.sql`` files and
directories. Down sections are ignored.

Every file is cut into statements by PostgreSQL's scanner (:mod:`script`) and
each statement is judged by its parse tree, never by searching the text. A
statement that runs is sent exactly as written, comments and ``DO`` blocks
included; offsets stay those of the file, so errors point at ``file:line:col``.

sqlc reads a schema without running it: it only builds a catalog. So what cannot
change what a query sees and could fail on a throwaway database does not run:
psql commands (``\\restrict``), ``COPY … FROM stdin`` and its data, ownership,
grants, roles, databases, tablespaces, subscriptions, security labels, comments
on extensions, and annotated queries (sqlc projects often name one file as both
``schema`` and ``queries``). A statement that fails only because a fresh
database already has what it creates (``CREATE SCHEMA public``, an installed
extension), a setting the server does not know, or a privilege the analyzer
lacks for a comment is skipped with a warning naming ``file:line``. A
``CREATE EXTENSION`` the server does not have is replaced by a stand-in of its
functions when one is known (:mod:`standins`), else skipped with a warning; an
error that follows from a skipped extension names it. Anything else PostgreSQL
refuses is an error at ``file:line:col`` with PostgreSQL's message and hint.
Settings a file changes (pg_dump empties ``search_path``) end with the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from multica_db_codegen.analyze.already_there import ALREADY_EXISTS, if_not_exists
from multica_db_codegen.analyze.guarded import attempt as _attempt
from multica_db_codegen.analyze.migrations import schema_files, up_section
from multica_db_codegen.analyze.script import Piece, parse_one
from multica_db_codegen.analyze.standins import has_standin, standin_sql
from multica_db_codegen.errors import GenerateError, Location, SourceFile

# a sqlc query annotation (one comment token's text): the statement under it is a query.
# Lower case, as sqlc reads it: pg_dump's "-- Name: t; Type: TABLE" is not one.
_ANNOTATION_RE = re.compile(r"^(?:--|/\*)\s*name:\s*\S+\s+:\S+")

#: parse-tree node types of statements that cannot change what a query sees, and
#: need what a throwaway database may lack (a role) or reach beyond it (a database)
_NEVER_RUN = {
    "GrantStmt": "a grant",
    "GrantRoleStmt": "a grant",
    "AlterDefaultPrivilegesStmt": "a grant",
    "CreateRoleStmt": "a role",
    "AlterRoleStmt": "a role",
    "AlterRoleSetStmt": "a role",
    "DropRoleStmt": "a role",
    "ReassignOwnedStmt": "ownership",
    "DropOwnedStmt": "ownership",
    "AlterOwnerStmt": "ownership",
    "CreatedbStmt": "a database",
    "DropdbStmt": "a database",
    "AlterDatabaseStmt": "a database",
    "AlterDatabaseSetStmt": "a database",
    "AlterDatabaseRefreshCollStmt": "a database",
    "CreateTableSpaceStmt": "a tablespace",
    "DropTableSpaceStmt": "a tablespace",
    "AlterTableSpaceOptionsStmt": "a tablespace",
    "CreateSubscriptionStmt": "a subscription",
    "AlterSubscriptionStmt": "a subscription",
    "DropSubscriptionStmt": "a subscription",
    "SecLabelStmt": "a security label",
    "AlterSystemStmt": "the server's configuration",
    "LoadStmt": "the server's configuration",
    "VacuumStmt": "maintenance",
    "CheckPointStmt": "maintenance",
}
# first tokens (scanner token names) of statements worth parsing to judge them
_JUDGED_FIRST = {
    "GRANT", "REVOKE", "ALTER", "CREATE", "DROP", "SET", "RESET", "SELECT", "COMMENT",
    "SECURITY", "COPY", "REASSIGN", "LOAD", "VACUUM", "ANALYZE", "CHECKPOINT",
    "BEGIN_P", "START", "COMMIT", "END_P", "ROLLBACK", "ABORT_P", "SAVEPOINT", "RELEASE",
    "PREPARE",
}  # fmt: skip
_JUDGED_CREATE = {"ROLE", "USER", "GROUP_P", "DATABASE", "TABLESPACE", "SUBSCRIPTION",
                  "EXTENSION", "SCHEMA"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SchemaStatement:
    """One piece of a schema file: ``file.text[start:end]``.

    ``skip`` says why it never runs (None: it runs exactly as written). ``kind``
    is its parse-tree node type when it was judged ("" otherwise).
    """

    start: int
    end: int
    skip: str | None = None
    kind: str = ""
    extension: str | None = None  # CREATE EXTENSION's name
    extension_schema: str | None = None  # … and its SCHEMA option
    sets: bool = False  # changes a session setting (SET, set_config())


@dataclass(frozen=True, slots=True)
class SchemaChunk:
    """The forward part of one file, ``text[start:end]``, as statements."""

    file: SourceFile
    start: int
    end: int
    statements: tuple[SchemaStatement, ...] = ()
    resets: bool = False  # the file changes settings: they are reset after it
    transactions: bool = False  # the file opens or ends transactions itself

    @property
    def blank(self) -> tuple[tuple[int, int], ...]:
        """[start, end) regions of the file that never run."""
        return tuple((s.start, s.end) for s in self.statements if s.skip is not None)

    @property
    def sql(self) -> str:
        """The text to run: the file's forward part, pieces that never run blanked
        (same offsets, so PostgreSQL's positions are the file's)."""
        return self.script({})

    def script(self, replaced: dict[int, str]) -> str:
        """:attr:`sql` with the statements starting at the offsets of ``replaced``
        replaced by that text (offsets after them shift)."""
        text = self.file.text
        parts: list[str] = []
        at = self.start
        for s in self.statements:
            if s.skip is None and s.start not in replaced:
                continue
            parts.append(text[at : s.start])
            if s.start in replaced:
                parts.append(replaced[s.start])
            else:
                parts.append(_spaces(text[s.start : s.end]))
            at = s.end
        parts.append(text[at : self.end])
        body = "".join(parts)
        # after a final `-- comment` line, so the reset never joins it
        return body + "\n;" + _RESET if self.resets else body

    def runnable(self) -> Iterable[SchemaStatement]:
        return (s for s in self.statements if s.skip is None)


#: the session the schema runs in. Function bodies are not checked when created, as
#: pg_dump has them restored and as sqlc reads them (never): a body may name what a
#: later file creates, or what a dump tool sorted after it.
SESSION = "SET synchronous_commit = off;SET check_function_bodies = off"
_RESET = "RESET ALL;" + SESSION


def _spaces(text: str) -> str:
    return "".join(c if c == "\n" else " " for c in text)


def load_schema(paths: list[Path]) -> list[SchemaChunk]:
    """Every schema file's forward part, in order, cut into judged statements."""
    chunks: list[SchemaChunk] = []
    for path in paths:
        for file in schema_files(path):
            src = SourceFile.read(file)
            start, end, found = up_section(src)
            statements = tuple(_judge(src.text, p) for p in found)
            if any(s.skip is None for s in statements):
                chunks.append(
                    SchemaChunk(
                        src,
                        start,
                        end,
                        statements,
                        resets=any(s.sets for s in statements if s.skip is None),
                        transactions=any(
                            s.kind == "TransactionStmt" for s in statements if s.skip is None
                        ),
                    )
                )
    return chunks


def _judge(text: str, piece: Piece) -> SchemaStatement:
    """What to do with one piece, from its tokens and parse tree."""
    if piece.kind == "psql":
        return SchemaStatement(piece.start, piece.end, "a psql command")
    if piece.kind == "data":
        return SchemaStatement(piece.start, piece.end, "COPY data")
    if any(_ANNOTATION_RE.match(text[c.start : c.end]) for c in piece.comments):
        return SchemaStatement(piece.start, piece.end, "a query")
    names = [t.name for t in piece.tokens[:2]]
    if not names or not _worth_parsing(text, piece, names):
        return SchemaStatement(piece.start, piece.end)
    node = parse_one(piece.text(text))
    if node is None:  # PostgreSQL says what is wrong, or runs what pglast cannot parse
        return SchemaStatement(piece.start, piece.end)
    kind = type(node).__name__
    skip = _NEVER_RUN.get(kind)
    if kind == "AlterTableStmt" and all(
        c.subtype.name == "AT_ChangeOwner" for c in (node.cmds or ())
    ):
        skip = "ownership"
    elif kind == "CommentStmt" and node.objtype.name == "OBJECT_EXTENSION":
        skip = "a comment on an extension"
    elif kind == "VariableSetStmt" and node.name in ("role", "session_authorization"):
        skip = "a role"
    elif kind == "CopyStmt" and node.is_from and node.filename is None:
        skip = "COPY from stdin"
    extension = extension_schema = None
    if kind == "CreateExtensionStmt":
        extension = str(node.extname)
        for opt in node.options or ():
            if opt.defname == "schema":
                extension_schema = str(opt.arg.sval)
    sets = (kind == "VariableSetStmt" and not node.is_local) or _calls_set_config(node)
    return SchemaStatement(
        piece.start, piece.end, skip, kind, extension, extension_schema, bool(sets)
    )


def _worth_parsing(text: str, piece: Piece, names: list[str]) -> bool:
    """Whether the statement may be one that is judged (most statements are not:
    parsing only those keeps hundreds of migrations fast)."""
    first = names[0]
    if first not in _JUDGED_FIRST:
        return False
    second = names[1] if len(names) > 1 else ""
    if first == "CREATE":
        return second in _JUDGED_CREATE
    if first == "ALTER":
        return any(t.name == "OWNER" for t in piece.tokens) or second in (
            "ROLE", "USER", "GROUP_P", "DATABASE", "TABLESPACE", "SUBSCRIPTION", "DEFAULT",
            "SYSTEM",
        )  # fmt: skip
    if first == "DROP":
        return second in ("ROLE", "USER", "GROUP_P", "DATABASE", "TABLESPACE", "SUBSCRIPTION",
                          "OWNED")  # fmt: skip
    if first == "SELECT":
        return any(
            t.name == "IDENT" and text[t.start : t.end].lower() == "set_config"
            for t in piece.tokens
        )
    return True


def _calls_set_config(node: Any) -> bool:
    """``SELECT [pg_catalog.]set_config(…)``, as pg_dump writes it."""
    if type(node).__name__ != "SelectStmt" or not node.targetList:
        return False
    for target in node.targetList:
        call = target.val
        if type(call).__name__ != "FuncCall":
            return False
        names = [n.sval for n in call.funcname]
        if names not in (["set_config"], ["pg_catalog", "set_config"]):
            return False
    return True


# --- extensions --------------------------------------------------------------------------


def extensions_created(
    chunks: Sequence[SchemaChunk],
) -> list[tuple[str, SchemaChunk, SchemaStatement]]:
    """(name, chunk, statement) of every ``CREATE EXTENSION`` statement that runs."""
    return [
        (s.extension, chunk, s)
        for chunk in chunks
        for s in chunk.runnable()
        if s.extension is not None
    ]


def available_extensions(conn: psycopg.Connection[Any], names: Iterable[str]) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (list(set(names)),)
    ).fetchall()
    return {str(r[0]) for r in rows}


def missing_extensions(conn: psycopg.Connection[Any], chunks: Sequence[SchemaChunk]) -> list[str]:
    """Extensions the schema creates that the server does not have and that have no
    stand-in (:mod:`standins`): what the schema is loaded without, in order."""
    wanted = [name for name, *_ in extensions_created(chunks) if not has_standin(name)]
    if not wanted:
        return []
    available = available_extensions(conn, wanted)
    return list(dict.fromkeys(n for n in wanted if n not in available))


@dataclass
class _Plan:
    """What applying the schema decided so far: replaced statements, warnings."""

    missing: list[str] = field(default_factory=list)  # skipped, without a stand-in
    standins: set[str] = field(default_factory=set)
    failed_standins: set[str] = field(default_factory=set)
    replaced: dict[tuple[str, int], str] = field(default_factory=dict)  # (file, start) → sql
    chunks: Sequence[SchemaChunk] = ()
    order: dict[str, int] = field(default_factory=dict)  # file → its place in the schema
    # (file's place, offset, warning, the extension a stand-in note is about, else "")
    found: list[tuple[int, int, str, str]] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """The warnings, in the schema's order (file by file, statement by statement)."""
        return render_notes([f[:3] for f in self.found], self.chunks)

    def note(self, chunk: SchemaChunk, offset: int, text: str, standin: str = "") -> None:
        self.found.append((self.order.get(chunk.file.path, 0), offset, text, standin))

    def script(self, chunk: SchemaChunk) -> str:
        path = chunk.file.path
        mine = {start: sql for (p, start), sql in self.replaced.items() if p == path}
        return chunk.script(mine) if mine else chunk.sql

    def text_of(self, chunk: SchemaChunk, s: SchemaStatement) -> str | None:
        """What runs for a statement: its own text, a stand-in, or nothing (None)."""
        key = (chunk.file.path, s.start)
        if key in self.replaced:
            return self.replaced[key] or None
        return chunk.file.text[s.start : s.end]

    def extension_unavailable(self, chunk: SchemaChunk, s: SchemaStatement, why: str) -> None:
        assert s.extension is not None
        name = s.extension
        if has_standin(name) and name not in self.failed_standins:
            self.replaced[(chunk.file.path, s.start)] = standin_sql(name, s.extension_schema)
            if name not in self.standins:
                self.standins.add(name)
                self.note(
                    chunk,
                    s.start,
                    f"CREATE EXTENSION {name}: {why}; stand-ins of its functions "
                    "were created instead (queries type as with the extension; their values "
                    "are not the extension's). --database-url can point at a server that "
                    "has it",
                    standin=name,
                )
            return
        self.replaced[(chunk.file.path, s.start)] = ""
        if name in self.standins:  # its stand-in failed: no longer "created instead"
            self.standins.discard(name)
            self.found = [f for f in self.found if f[3] != name]
        if name not in self.missing:
            self.missing.append(name)
            self.note(
                chunk,
                s.start,
                f"CREATE EXTENSION {name} skipped: {why} (queries using its types "
                "fail, its functions' results are typed Any or fail; --database-url can "
                "point at a server that has it)",
            )


def _where(chunk: SchemaChunk, offset: int) -> str:
    line, _ = chunk.file.line_col(offset)
    return f"{chunk.file.path}:{line}"


def plan_extensions(conn: psycopg.Connection[Any], chunks: Sequence[SchemaChunk]) -> _Plan:
    """Decide, before anything runs, what each ``CREATE EXTENSION`` the server lacks
    becomes: a stand-in, or nothing."""
    plan = _Plan(chunks=chunks, order={c.file.path: i for i, c in enumerate(chunks)})
    created = extensions_created(chunks)
    if not created:
        return plan
    available = available_extensions(conn, [n for n, *_ in created])
    for name, chunk, s in created:
        if name not in available:
            plan.extension_unavailable(chunk, s, "the analyzer's server does not have it")
    return plan


def without_missing_extensions(
    conn: psycopg.Connection[Any], chunks: list[SchemaChunk]
) -> tuple[list[str], list[str]]:
    """Each chunk's text to run, with every ``CREATE EXTENSION`` the server cannot
    satisfy replaced (a stand-in) or blanked, and the extensions skipped."""
    plan = plan_extensions(conn, chunks)
    return [plan.script(c) for c in chunks], plan.missing


def missing_extension_hint(missing: Sequence[str]) -> str:
    names = ", ".join(missing)
    return (
        f"the schema's CREATE EXTENSION {names} was skipped: the analyzer's server does not "
        "have it; point --database-url (or MULTICA_DB_ANALYZER_URL) at a PostgreSQL that does"
    )


# --- applying ----------------------------------------------------------------------------

#: changes when the same SQL would give another database (the schema's database is reused)
LOADER = "multica-db schema loader 6"
#: the database setting that keeps the warnings of the schema it holds
NOTES_SETTING = "multica_db.schema_notes"


def apply_schema(conn: psycopg.Connection[Any], chunks: list[SchemaChunk]) -> list[str]:
    """Run every chunk in order on an autocommit connection; the warnings, in order.

    Each file is one round trip. A file that fails (or opens and ends transactions
    itself, or cannot run in one: ``CREATE INDEX CONCURRENTLY``) runs statement by
    statement, which finds the failing statement and skips, with a warning, what
    sqlc would not care about (see the module doc).

    The database is thrown away or rebuilt from these files at will, so waiting for
    each file's commit to reach the disk would only cost time (one fsync per file).
    """
    conn.execute(SESSION.encode())
    plan = plan_extensions(conn, chunks)
    for chunk in chunks:
        if not chunk.transactions:
            try:
                conn.execute(plan.script(chunk).encode())
                continue
            except psycopg.Error:
                pass  # rolled back as a whole: run it statement by statement
        _apply_statements(conn, chunk, plan)
    remember_notes(conn, [f[:3] for f in plan.found])
    return plan.notes


def render_notes(found: Iterable[tuple[int, int, str]], chunks: Sequence[SchemaChunk]) -> list[str]:
    """Warnings as ``file:line: text``, in schema order, from (file's place, offset, text)."""
    out: list[str] = []
    for index, offset, text in sorted(found):
        if 0 <= index < len(chunks):
            out.append(f"{_where(chunks[index], offset)}: {text}")
        else:
            out.append(f"schema: {text}")
    return out


def remember_notes(conn: psycopg.Connection[Any], found: Sequence[tuple[int, int, str]]) -> None:
    """Keep the schema's warnings with its database, for the runs that reuse it.

    Kept as (file's place, offset, text): a clone elsewhere with the same schema shares
    the database, and its warnings name its own files.
    """
    if not found:
        return
    name = conn.info.dbname.replace('"', '""')
    value = json.dumps([list(f) for f in sorted(found)]).replace("'", "''")
    with suppress(psycopg.Error):  # else only the warnings of later runs are lost
        conn.execute(f"ALTER DATABASE \"{name}\" SET {NOTES_SETTING} = '{value}'".encode())


def schema_notes(conn: psycopg.Connection[Any], chunks: Sequence[SchemaChunk]) -> list[str]:
    """The warnings kept with the schema's database (see :func:`remember_notes`)."""
    row = conn.execute("SELECT current_setting(%s, true)", (NOTES_SETTING,)).fetchone()
    if not row or not row[0]:
        return []
    try:
        kept = json.loads(str(row[0]))
    except ValueError:
        return []
    found = [
        (int(k[0]), int(k[1]), str(k[2]))
        for k in (kept if isinstance(kept, list) else [])
        if isinstance(k, list) and len(k) == 3
    ]
    return render_notes(found, chunks)


def _apply_statements(conn: psycopg.Connection[Any], chunk: SchemaChunk, plan: _Plan) -> None:
    """Run a chunk that failed as a whole one statement at a time: the failing ones are
    judged (:func:`_failed`), the others run.

    One round trip per statement: batching them was measured and lost, because a
    batch that fails is rolled back and its statements run again, and on a local
    server running the DDL costs more than the round trip.
    """
    for s in chunk.runnable():
        sql = plan.text_of(chunk, s)
        if sql is not None:
            _apply_one(conn, chunk, s, sql, plan)
    if chunk.resets:
        conn.execute(_RESET.encode())


def _apply_one(
    conn: psycopg.Connection[Any], chunk: SchemaChunk, s: SchemaStatement, sql: str, plan: _Plan
) -> None:
    guarded = (
        conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        and s.kind != "TransactionStmt"
    )
    if guarded:  # inside the file's own transaction: a forgiven error must not end it
        conn.execute(b"SAVEPOINT multica_db_statement")
    try:
        conn.execute(sql.encode())
    except psycopg.Error as exc:
        if guarded:
            conn.execute(b"ROLLBACK TO SAVEPOINT multica_db_statement")
        _failed(conn, chunk, s, exc, plan)
        return
    if guarded:
        conn.execute(b"RELEASE SAVEPOINT multica_db_statement")


def _failed(
    conn: psycopg.Connection[Any],
    chunk: SchemaChunk,
    s: SchemaStatement,
    exc: psycopg.Error,
    plan: _Plan,
) -> None:
    """Forgive ``exc`` with a warning when sqlc would not care, else raise it located."""
    state = exc.diag.sqlstate or ""
    message = exc.diag.message_primary or str(exc)
    written = chunk.file.text[s.start : s.end]
    text = written  # the statement as the steps below try it (type modifiers left out)
    node = parse_one(text)
    if state == "3F000" and node is not None and _made_missing_schemas(conn, chunk, s, node, plan):
        sql = plan.text_of(chunk, s)
        if sql is not None:  # again, now that its schemas exist (its own errors judged anew)
            _apply_one(conn, chunk, s, sql, plan)
        return
    if s.extension is not None:
        standin = plan.replaced.get((chunk.file.path, s.start))
        if standin:  # the stand-in itself failed (a base type needs a superuser)
            plan.failed_standins.add(s.extension)
            plan.extension_unavailable(chunk, s, f"its stand-in could not be created: {message}")
            return
        if state in _EXTENSION_UNAVAILABLE:
            plan.extension_unavailable(chunk, s, message)
            sql = plan.text_of(chunk, s)
            if sql is not None:
                _apply_one(conn, chunk, s, sql, plan)
            return
    if state in _PART_FAILURES and node is not None and _stand_in_types(conn, chunk, s, node, plan):
        again, text = _again_with_stand_in_types(conn, chunk, s, node, plan)
        if again is None:
            return
        exc, state = again, again.diag.sqlstate or ""
        message = again.diag.message_primary or str(again)
        node = parse_one(text)
    if node is not None and (state == "22023" or state == "42883"):
        outcome = _past_extension(conn, chunk, s, text, node, exc, plan)
        if outcome is True:
            return
        if isinstance(outcome, psycopg.Error):
            exc, state = outcome, outcome.diag.sqlstate or ""
            message = outcome.diag.message_primary or str(outcome)
    positioned = True
    if _part_failure(state) and node is not None:
        outcome = _without_failing_parts(conn, chunk, s, text, exc, plan)
        if outcome is True:
            return
        if isinstance(outcome, psycopg.Error):  # what fails once those parts are out
            exc, state, positioned = outcome, outcome.diag.sqlstate or "", False
            message = outcome.diag.message_primary or str(outcome)
    if state in ALREADY_EXISTS and _again_if_not_exists(conn, chunk, s, message, plan):
        return
    why = _forgiven(s, state, node)
    if why is not None:
        plan.note(chunk, s.start, f"{message}: statement skipped ({why})")
        return
    if plan.missing and state in _MISSING_THING:
        # what needs a skipped extension is skipped too; queries using it say why
        plan.note(
            chunk, s.start, f"{message}: statement skipped (it needs {', '.join(plan.missing)})"
        )
        return
    as_written = positioned and text == written and plan.text_of(chunk, s) == written
    raise _located(exc, chunk, s.start, plan.missing, positioned=as_written) from None


def _again_if_not_exists(
    conn: psycopg.Connection[Any], chunk: SchemaChunk, s: SchemaStatement, message: str, plan: _Plan
) -> bool:
    """The statement again with IF NOT EXISTS on its additions (:mod:`already_there`):
    True when it then ran, with a warning."""
    again = if_not_exists(chunk.file.text[s.start : s.end])
    if again is None or _attempt(conn, again) is not None:
        return False
    plan.note(
        chunk,
        s.start,
        f"{message}: kept as an earlier statement made it (one sqlc cannot see, such as "
        "a DO block); this one ran as IF NOT EXISTS",
    )
    return True


def _without_failing_parts(
    conn: psycopg.Connection[Any],
    chunk: SchemaChunk,
    s: SchemaStatement,
    text: str,
    exc: psycopg.Error,
    plan: _Plan,
) -> bool | psycopg.Error | None:
    """Run a table's statement again without the default, check, foreign key or
    generation expression PostgreSQL failed on (:mod:`table_parts`), one part at a
    time; True when it then ran (or nothing of it was left), with a warning. None
    when the error is in no such part; else the error of what is left (a column's
    type that does not exist), which is the statement's real error."""
    from multica_db_codegen.analyze.table_parts import without_failing_part

    left_out: list[str] = []
    error: psycopg.Error | None = exc
    while error is not None:
        node = parse_one(text)
        pos = error.diag.statement_position
        if node is None or len(left_out) > 64:
            return None
        found = without_failing_part(node, len(text[: int(pos) - 1].encode()) if pos else None)
        if found is None:
            return None if error is exc else error
        text, what = found
        left_out += what
        error = _attempt(conn, text) if text else None
        if error is not None and not _part_failure(error.diag.sqlstate or ""):
            return error
    message = exc.diag.message_primary or str(exc)
    plan.note(
        chunk,
        s.start,
        f"{message}: the {', '.join(left_out)} left out (sqlc reads none of them; "
        "queries see the same columns)",
    )
    return True


def _past_extension(
    conn: psycopg.Connection[Any],
    chunk: SchemaChunk,
    s: SchemaStatement,
    text: str,
    node: Any,
    exc: psycopg.Error,
    plan: _Plan,
) -> bool | psycopg.Error | None:
    """Run the statement again without what only an extension the server lacks gives
    it: its relation options (:mod:`relation_options`), then stand-ins for the
    functions a view calls (:mod:`schema_calls`). True when it then ran, with a
    warning naming each change; else the error that remains (None: the same one)."""
    from multica_db_codegen.analyze.relation_options import namespaced, without_namespaced
    from multica_db_codegen.analyze.schema_calls import applies, stand_in_calls

    notes: list[str] = []
    error: psycopg.Error | None = exc
    options = namespaced(node)
    blanked = False
    for _ in range(3):  # the options and the calls fail in either order
        state = (error.diag.sqlstate or "") if error is not None else ""
        if state == "22023" and options and not blanked and error is not None:
            spaces = {o.split(".", 1)[0] for o in options}
            without = without_namespaced(text, node, spaces)
            if without is None:
                break
            blanked = True
            notes.append(
                f"{error.diag.message_primary or error}: option {', '.join(options)} left "
                "out (an extension's storage parameter; sqlc reads none, and no column "
                "changes)"
            )
            if not without:
                plan.note(chunk, s.start, notes[-1] + "; nothing else is left: statement skipped")
                return True
            text = without
            node = parse_one(text) or node
            error = _attempt(conn, text)
        elif state == "42883" and applies(node) and error is not None:
            made, left = stand_in_calls(conn, text, node, error)
            if made:
                notes.append(
                    f"{', '.join(made)} does not exist: a stand-in returning an unknown type "
                    "was created (sqlc types these columns any; so does the analysis)"
                )
                error = None
            elif left is not None and (left.diag.sqlstate or "") == "22023" and not blanked:
                error = left  # the options next, then the calls again
            else:
                break
        else:
            break
    if error is not None:
        return None if error is exc else error
    for note in notes:
        plan.note(chunk, s.start, note)
    return True


#: the server cannot install the extension: not available, files missing, not allowed
_EXTENSION_UNAVAILABLE = {"0A000", "58P01", "42501", "22023"}
#: undefined function, object (a type), table, column, schema: what a skipped extension leaves
_MISSING_THING = {"42883", "42704", "42P01", "42703", "3F000"}
#: what a default, check, foreign key or generation expression may fail with: a missing
#: thing, a foreign key PostgreSQL cannot implement (no unique constraint over the columns
#: it references, or other types), a default of another type
_PART_FAILURES = _MISSING_THING | {"42830", "42804"}


def _part_failure(state: str) -> bool:
    """A failure a part sqlc never reads may cause: those above, or a data exception (a
    default's constant PostgreSQL cannot read, ``numeric DEFAULT '0o0'``)."""
    return state in _PART_FAILURES or state.startswith("22")


#: statements that define nothing a query can see: sqlc reads none of them, so one that
#: fails (SQLite functions in a data migration, a trigger on a function that was renamed)
#: is left out with a warning. A DO block or a procedure call may create anything: theirs
#: stay errors.
_DEFINES_NOTHING = {
    "InsertStmt": "data",
    "UpdateStmt": "data",
    "DeleteStmt": "data",
    "MergeStmt": "data",
    "TruncateStmt": "data",
    "CopyStmt": "data",
    "SelectStmt": "a query",
    "CreateTrigStmt": "a trigger",
    "CreateEventTrigStmt": "an event trigger",
    "AlterEventTrigStmt": "an event trigger",
    "CreatePolicyStmt": "a row security policy",
    "AlterPolicyStmt": "a row security policy",
    "ReindexStmt": "an index",
    "ClusterStmt": "maintenance",
    "RefreshMatViewStmt": "data",
    "CreateStatsStmt": "statistics",
    "AlterStatsStmt": "statistics",
    "CommentStmt": "a comment",
    "NotifyStmt": "a notification",
    "ListenStmt": "a notification",
    "LockStmt": "a lock",
    "DiscardStmt": "a session reset",
}


def _forgiven(s: SchemaStatement, state: str, node: Any | None) -> str | None:
    """Why a failure does not matter to a catalog-only reader like sqlc, or None."""
    kind = s.kind or (type(node).__name__ if node is not None else "")
    if kind == "CreateSchemaStmt" and state == "42P06":
        return "the schema already exists in a new database"
    if kind == "CreateExtensionStmt" and state == "42710":
        return "the extension is already installed"
    if kind in ("VariableSetStmt", "VariableShowStmt") or s.sets:
        return "a setting this server does not take"
    if kind == "SelectStmt" and node is not None and node.intoClause is not None:
        return None  # SELECT … INTO creates a table
    if kind == "IndexStmt" and state in ("42704", "42883", "42P07"):
        # an operator class or access method of an extension the server lacks, or a
        # name already taken (a constraint's own index, dumped again as an index)
        return "an index: it defines nothing queries see, and sqlc reads none"
    what = _DEFINES_NOTHING.get(kind)
    if what is not None:
        return f"{what}: it defines nothing queries see, and sqlc reads none"
    return None


def _made_missing_schemas(
    conn: psycopg.Connection[Any], chunk: SchemaChunk, s: SchemaStatement, node: Any, plan: _Plan
) -> bool:
    """Create the schemas a creating statement needs and nothing in the schema creates
    (:mod:`.missing_schemas`), each with a warning; True when one was made."""
    from multica_db_codegen.analyze.missing_schemas import create_missing_schemas

    notes = create_missing_schemas(conn, node)
    for text in notes:
        plan.note(chunk, s.start, text)
    return bool(notes)


def _stand_in_types(
    conn: psycopg.Connection[Any], chunk: SchemaChunk, s: SchemaStatement, node: Any, plan: _Plan
) -> bool:
    """Stand-ins for the types the statement names that the catalog lacks
    (:mod:`.missing_types`), each with a warning; True when one was made. The schemas
    the statement names are made first when missing (a type looked up before them
    failed first: ``attrs hstore, v extensions.vector(3)``)."""
    from multica_db_codegen.analyze.missing_types import stand_in_types

    def available(extension: str) -> bool:
        return extension in available_extensions(conn, [extension])

    schemas = _made_missing_schemas(conn, chunk, s, node, plan)
    notes = stand_in_types(conn, node, available, plan.missing)
    for text in notes:
        plan.note(chunk, s.start, text)
    return schemas or bool(notes)


def _again_with_stand_in_types(
    conn: psycopg.Connection[Any], chunk: SchemaChunk, s: SchemaStatement, node: Any, plan: _Plan
) -> tuple[psycopg.Error | None, str]:
    """The statement again, as written, now that its types exist; without the type
    modifiers a stand-in domain cannot take when PostgreSQL refuses those. Its error
    (None when it ran), and the text that gave it."""
    from multica_db_codegen.analyze.missing_types import TYPMOD_REFUSED, without_typmods

    text = chunk.file.text[s.start : s.end]
    error = _attempt(conn, text)
    if error is None or TYPMOD_REFUSED not in (error.diag.message_primary or ""):
        return error, text
    again = without_typmods(conn, parse_one(text) or node)
    if again is None:
        return error, text
    plan.note(
        chunk,
        s.start,
        "type modifiers of the stand-in types left out (a domain takes none; sqlc reads none)",
    )
    return _attempt(conn, again), again


def _located(
    exc: psycopg.Error,
    chunk: SchemaChunk,
    base: int,
    missing: Sequence[str] | None = None,
    *,
    positioned: bool = True,
) -> GenerateError:
    """The error at ``base`` plus PostgreSQL's position in what was sent (when it
    was the file's own text)."""
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
    pos = diag.statement_position if positioned else None
    offset = base + int(pos) - 1 if pos else base
    return GenerateError(
        f"schema error: {message}", location=Location(chunk.file, offset), hint=hint
    )


__all__ = [
    "NOTES_SETTING",
    "SESSION",
    "SchemaChunk",
    "SchemaStatement",
    "apply_schema",
    "extensions_created",
    "load_schema",
    "missing_extension_hint",
    "missing_extensions",
    "remember_notes",
    "schema_notes",
    "without_missing_extensions",
]
