"""Schema files run exactly as written, whatever their comments and strings say.

Generated migration files mix comments that mention SQL keywords and migration
markers, ``DO`` blocks with ``EXCEPTION``, dollar-quoted bodies with nested tags,
``BEGIN ATOMIC`` bodies, and string constants holding ``;``, ``--``, quotes and
backslashes. Each is checked twice: the statements the loader keeps are exactly
the source's statements (what is sent to PostgreSQL), and PostgreSQL received
them as written (function bodies, comments and inserted values read back from
the catalog equal the source's).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.analyze.schema import apply_schema, load_schema
from tests.pg import fresh_database

PROFILE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# words that once fooled text searches: keywords, markers, quote and comment openers
TRAPS = [
    "CREATE EXTENSION IF NOT EXISTS pg_cron;",
    "CREATE EXTENSION is wrapped in DO/EXCEPTION",
    "BEGIN",
    "EXCEPTION WHEN OTHERS THEN",
    "END $$;",
    "$$",
    "$body$",
    "-- +goose Down",
    "-- +goose StatementEnd",
    "-- migrate:down",
    "-- +migrate Down",
    "---- create above / drop below ----",
    "COPY t FROM stdin;",
    "\\.",
    "\\restrict x",
    "GRANT ALL ON t TO nobody;",
    "-- name: GetX :one",
    "SET search_path = nowhere;",
    ";",
    "--",
    "/*",
    "*/",
    "'",
    '"',
    "\\",
    "\n",
    "é ✓",
]
payloads = st.lists(
    st.one_of(st.sampled_from(TRAPS), st.text(alphabet="ab ;-'$\\/*\n\tx", max_size=8)),
    max_size=5,
).map("".join)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _e_literal(text: str) -> str:
    return "E'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _dollar(text: str, tag: str) -> str:
    """``text`` dollar-quoted with a tag it does not contain."""
    while f"${tag}$" in text or (not tag and text.endswith("$")):
        tag += "x"
    return f"${tag}${text}${tag}$"


@dataclass
class Script:
    """A generated file's statements, and what PostgreSQL must hold afterwards."""

    parts: list[str] = field(default_factory=list)  # statements and comments, in order
    statements: list[str] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)  # rows of t_log, in order
    bodies: dict[str, str] = field(default_factory=dict)  # function → prosrc
    comment: str | None = None  # the comment on t_log
    left_out: list[str] = field(default_factory=list)  # pieces that must never run
    forgiven: int = 0  # statements that fail only because a new database has what they make

    def statement(self, sql: str) -> None:
        self.parts.append(sql)
        self.statements.append(sql)


KINDS = [
    *("line", "block", "insert", "e_string", "do", "function", "atomic", "comment"),
    *("grant", "owner", "psql", "copy", "public"),
]


@st.composite
def scripts(draw: st.DrawFn) -> Script:
    s = Script()
    s.statement("CREATE TABLE t_log (n serial PRIMARY KEY, v text NOT NULL);")
    for i in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(st.sampled_from(KINDS))
        text = draw(payloads)
        if kind == "line":  # a -- comment: one line
            s.parts.append("-- " + text.replace("\n", " ").replace("\r", " ") + "\n")
        elif kind == "block":  # /* */ comments nest in PostgreSQL: keep them balanced
            s.parts.append("/* " + text.replace("/*", "/ *").replace("*/", "* /") + " */")
        elif kind == "insert":
            s.statement(f"INSERT INTO t_log (v) VALUES ({_literal(text)});")
            s.logged.append(text)
        elif kind == "e_string":
            s.statement(f"INSERT INTO t_log (v) VALUES ({_e_literal(text)});")
            s.logged.append(text)
        elif kind == "do":  # an EXCEPTION block that swallows an error, then logs
            s.statement(
                "DO "
                + _dollar(
                    "\nBEGIN\n    PERFORM 1 / 0;\nEXCEPTION\n    WHEN OTHERS THEN\n"
                    f"        INSERT INTO t_log (v) VALUES ({_dollar(text, 'v')});\nEND\n",
                    "",
                )
                + ";"
            )
            s.logged.append(text)
        elif kind == "function":  # nested dollar quotes: the outer tag differs
            body = f"\nBEGIN\n    RETURN {_dollar(text, 'inner')};\nEND\n"
            quoted = _dollar(body, "fn")
            s.statement(f"CREATE FUNCTION f_{i}() RETURNS text LANGUAGE plpgsql AS {quoted};")
            s.bodies[f"f_{i}"] = quoted[quoted.index("$", 1) + 1 : quoted.rindex("$", 0, -1)]
        elif kind == "atomic":  # a SQL-standard body: ';' inside, one statement
            s.statement(
                f"CREATE FUNCTION g_{i}() RETURNS text LANGUAGE sql\n"
                f"BEGIN ATOMIC\n    SELECT 1;\n    SELECT {_literal(text)};\nEND;"
            )
        elif kind == "grant":  # a role the database does not have: never runs
            sql = f"GRANT SELECT ON t_log TO no_such_role_{i};"
            s.parts.append(sql)
            s.left_out.append(sql)
        elif kind == "owner":
            sql = f"ALTER TABLE t_log OWNER TO no_such_role_{i};"
            s.parts.append(sql)
            s.left_out.append(sql)
        elif kind == "psql":  # pg_dump's \restrict: a psql command, to the end of its line
            line = "\\restrict " + text.replace("\n", " ").replace("\r", " ")
            s.parts.append("\n" + line + "\n")
            s.left_out.append(line)
        elif kind == "copy":  # data, whatever it holds, up to psql's terminator line
            copy = "COPY t_log (v) FROM stdin;"
            data = "\n".join("x\t" + row for row in text.split("\n")) + "\n\\."
            s.parts.append(copy + "\n" + data + "\n")
            s.left_out += [copy, data]
        elif kind == "public":  # every new database has it: a warning, not an error
            s.statement("CREATE SCHEMA public;")
            s.forgiven += 1
        else:
            s.statement(f"COMMENT ON TABLE t_log IS {_literal(text)};")
            s.comment = text or None  # an empty comment removes it
    return s


FORMATS = {
    # (file name, text before, text after the forward part)
    "golang-migrate": ("001_x.up.sql", "", ""),
    "goose": (
        "001_x.sql",
        "-- +goose Up\n-- +goose StatementBegin\n",
        "\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE t_log; not sql at all '\n",
    ),
    "dbmate": ("001_x.sql", "-- migrate:up\n", "\n-- migrate:down\nnot sql $$ at all\n"),
    "sql-migrate": ("001_x.sql", "-- +migrate Up\n", "\n-- +migrate Down\nDROP nothing;\n"),
    "tern": ("001_x.sql", "", "\n---- create above / drop below ----\nDROP TABLE t_log;\n"),
}


@pytest.fixture(scope="module")
def scratch(pg_server: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with (
        fresh_database(pg_server, prefix="multica_schema_text") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        yield conn


@PROFILE
@given(script=scripts(), form=st.sampled_from(sorted(FORMATS)), sep=st.sampled_from(["\n", " "]))
def test_statements_run_exactly_as_written(
    tmp_path_factory: pytest.TempPathFactory,
    scratch: psycopg.Connection[tuple[object, ...]],
    script: Script,
    form: str,
    sep: str,
) -> None:
    name, before, after = FORMATS[form]
    folder = tmp_path_factory.mktemp("schema")
    text = before + sep.join(script.parts) + "\n" + after
    (folder / name).write_text(text)

    chunks = load_schema([folder])
    assert len(chunks) == 1
    chunk = chunks[0]
    # what is sent: the source's statements, each exactly as written at its own offset,
    # and nothing else but what separates them (the left-out pieces blanked)
    kept = [text[s.start : s.end] for s in chunk.statements if s.skip is None]
    assert kept == script.statements
    assert [text[s.start : s.end] for s in chunk.statements if s.skip] == script.left_out
    sent = chunk.sql
    assert len(sent) == chunk.end - chunk.start
    for piece in chunk.statements:
        at = slice(piece.start - chunk.start, piece.end - chunk.start)
        if piece.skip is None:
            assert sent[at] == text[piece.start : piece.end]
        else:
            assert not sent[at].strip()
    if not script.left_out:
        assert sent == text[chunk.start : chunk.end]

    schema = f"ex_{secrets.token_hex(4)}"
    scratch.execute(f"CREATE SCHEMA {schema}".encode())
    scratch.execute(f"SET search_path = {schema}".encode())
    try:
        notes = apply_schema(scratch, chunks)
        assert len(notes) == script.forgiven
        assert all('schema "public" already exists' in n for n in notes)
        rows = scratch.execute("SELECT v FROM t_log ORDER BY n").fetchall()
        assert [r[0] for r in rows] == script.logged
        for fn, body in script.bodies.items():
            found = scratch.execute(
                "SELECT prosrc FROM pg_proc WHERE oid = to_regproc(%s)", (f"{schema}.{fn}",)
            ).fetchone()
            assert found == (body,)
            assert scratch.execute(f"SELECT {fn}()".encode()).fetchone() is not None
        got = scratch.execute("SELECT obj_description('t_log'::regclass, 'pg_class')").fetchone()
        assert got == (script.comment,)
    finally:
        scratch.execute(b"RESET search_path")
        scratch.execute(f"DROP SCHEMA {schema} CASCADE".encode())


def test_a_file_is_read_from_its_own_path(tmp_path: Path) -> None:
    """Offsets are the file's: a statement's slice of the file is the statement."""
    text = "-- CREATE EXTENSION x; in a comment\nCREATE TABLE a (id int);\n"
    (tmp_path / "a.sql").write_text(text)
    (chunk,) = load_schema([tmp_path / "a.sql"])
    assert [text[s.start : s.end] for s in chunk.statements] == ["CREATE TABLE a (id int);"]
