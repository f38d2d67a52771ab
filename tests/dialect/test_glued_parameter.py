"""``WHERE id=@id``: PostgreSQL reads ``=@`` as one operator, and the error says so.

sqlc takes ``@id`` for a named parameter; PostgreSQL's lexer takes ``=@`` for one
operator and ``id`` for a column, then refuses the statement. The error stays
PostgreSQL's (its message, at its position); the hint names the missing space. Real
operators ending or starting with ``@`` (``<@``, ``@>``, ``@@``) are left alone and run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from multica_db_codegen.errors import GenerateError
from multica_db_codegen.processors import run_analyze
from tests.dialect.harness import database_with, forget, generate, write_project

SCHEMA = """
CREATE TABLE t (
    id bigint PRIMARY KEY, name text NOT NULL, tags text[] NOT NULL, doc tsvector NOT NULL
);
"""
COLUMNS = {"id": "bigint", "name": "text"}
OPERATORS = ["=", "<>", "!=", "<", ">", "<=", ">="]
BEFORE = ["", " ", "\n    "]  # what separates the column from the operator
PARAMS = ["id", "name", "owner_id", "Name"]  # columns of t, and names that are not


#: how the operator meets ``@name``: glued (what the hint is for), spaced (the correct
#: form: a parameter), or ``=@ name`` (no parameter for sqlc either: no such hint)
FORMS = {"glued": "{op}@{param}", "spaced": "{op} @{param}", "apart": "{op}@ {param}"}


@dataclass(frozen=True)
class Case:
    column: str
    before: str
    op: str
    param: str
    form: str

    def sql(self) -> str:
        where = self.column + self.before + FORMS[self.form].format(op=self.op, param=self.param)
        return f"SELECT id FROM t WHERE {where}"


def _analyze(root: Path, pg_server: str, cases: list[Case]) -> list[GenerateError]:
    """Every case analyzed (keep-going): the spaced ones must come out as parameters."""
    (root / "schema.sql").write_text(SCHEMA)
    text = "".join(f"-- name: Q{i} :many\n{c.sql()};\n\n" for i, c in enumerate(cases))
    (root / "q.sql").write_text(text)
    ir, errors = run_analyze(
        keep_going=True,
        schema=(root / "schema.sql",),
        queries=(root / "q.sql",),
        database_url=pg_server,
    )
    by_name = {q.name: q for f in ir.files for q in f.queries}
    for i, case in enumerate(cases):
        if case.form == "spaced":
            query = by_name[f"Q{i}"]
            assert query.error is None, (case, query.error)
            assert [p.name for p in query.params] == [case.param.lower()], case
    return errors


def _check(errors: list[GenerateError], cases: list[Case], root: Path) -> None:
    """PostgreSQL's message at PostgreSQL's position; the hint only for glued ones."""
    failing = {f"Q{i}": c for i, c in enumerate(cases) if c.form != "spaced"}
    assert sorted(e.query or "" for e in errors) == sorted(failing)
    text = (root / "q.sql").read_text()
    for e in errors:
        case = failing[e.query or ""]
        glued_op = case.op + "@"
        assert e.location is not None
        at = text[e.location.offset :]
        if case.param.lower() in COLUMNS:  # no operator `=@` for these types
            assert e.message.startswith(f"operator does not exist: {COLUMNS[case.column]} "), e
            assert f" {glued_op} " in e.message, e
            assert at.startswith(glued_op), (case, at[:10])  # located at the operator
        else:  # no column called as sqlc's parameter is
            assert e.message == f'column "{case.param.lower()}" does not exist', e
            assert at.startswith(case.param), (case, at[:10])  # located at the name
        if case.form == "glued":
            assert e.hint == (
                f"write `{case.op} @{case.param}` (a space between the operator and the "
                f"parameter): PostgreSQL reads `{glued_op}` as one operator"
            ), e
        else:
            assert e.hint is None or "as one operator" not in e.hint, e


cases = st.builds(
    Case,
    column=st.sampled_from(sorted(COLUMNS)),
    before=st.sampled_from(BEFORE),
    op=st.sampled_from(OPERATORS),
    param=st.sampled_from(PARAMS),
    form=st.sampled_from(sorted(FORMS)),
).filter(lambda c: c.form != "spaced" or c.param in COLUMNS)


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(cases, min_size=1, max_size=6))
@example(drawn=[Case("id", "", op, "id", "glued") for op in OPERATORS])
@example(
    drawn=[
        Case("name", " ", "=", "owner_id", "glued"),
        Case("id", "\n    ", "<", "Name", "glued"),
        Case("id", " ", "=", "id", "apart"),
        Case("id", "", "=", "owner_id", "apart"),
        Case("name", "", "<>", "name", "spaced"),
    ]
)
def test_operator_glued_to_a_parameter(
    tmp_path_factory: pytest.TempPathFactory, pg_server: str, drawn: list[Case]
) -> None:
    """Any comparison operator written against ``@name``, glued or spaced: glued ones fail
    with PostgreSQL's message and position and the hint naming the space; spaced ones are
    parameters (of that name); ``=@ name`` fails without that hint."""
    root = tmp_path_factory.mktemp("glued")
    _check(_analyze(root, pg_server, drawn), drawn, root)


def test_real_at_operators_are_untouched(tmp_path: Path, pg_server: str) -> None:
    """``@>``, ``<@`` and ``@@`` between operands that have them (with or without a space
    before a parameter: ``<@ @x``) are generated and select what PostgreSQL selects; glued to
    a parameter they are another operator, refused with the hint."""
    queries = (
        "-- name: Has :many\nSELECT id FROM t WHERE tags @> @wanted::text[] ORDER BY id;\n\n"
        "-- name: Within :many\nSELECT id FROM t WHERE tags <@ @allowed::text[] ORDER BY id;\n\n"
        "-- name: Within2 :many\n"
        "SELECT id FROM t WHERE tags<@tags AND tags <@ @allowed ORDER BY id;\n\n"
        "-- name: Matches :many\n"
        "SELECT id FROM t WHERE doc @@ to_tsquery('simple', @q) ORDER BY id;\n\n"
        "-- name: MatchesQ :many\nSELECT id FROM t WHERE doc @@ @q::tsquery ORDER BY id;\n"
    )
    write_project(
        tmp_path, schema={"schema.sql": SCHEMA}, queries={"q.sql": queries}, package="atops"
    )
    forget("atops")
    gen = generate(tmp_path, pg_server, "atops")
    q = gen.module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO t VALUES (1, 'a', '{x,y}', to_tsvector('simple', 'red fox')),"
            " (2, 'b', '{y}', to_tsvector('simple', 'blue fox')),"
            " (3, 'c', '{}', to_tsvector('simple', 'red hen'))"
        )
        assert q.has(conn, wanted=["y"]) == [1, 2]
        assert q.has(conn, wanted=["x", "y"]) == [1]
        assert q.within(conn, allowed=["y"]) == [2, 3]
        assert q.within2(conn, allowed=["x", "y"]) == [1, 2, 3]
        assert q.matches(conn, q="fox") == [1, 2]
        assert q.matches_q(conn, q="red & fox") == [1]

    glued = (
        "-- name: G1 :many\nSELECT id FROM t WHERE tags @>@wanted;\n\n"
        "-- name: G2 :many\nSELECT id FROM t WHERE tags <@@allowed;\n\n"
        "-- name: G3 :many\nSELECT id FROM t WHERE id <@id;\n\n"
        # a real `<@` glued to a column, and PostgreSQL's error elsewhere: not the cause
        "-- name: G4 :many\nSELECT id FROM t WHERE tags<@tags AND name = 1::bigint;\n\n"
        "-- name: G5 :many\nSELECT id FROM t WHERE tags<@tags AND nosuch;\n"
    )
    (tmp_path / "glued.sql").write_text(glued)
    _ir, errors = run_analyze(
        keep_going=True,
        schema=(tmp_path / "schema",),
        queries=(tmp_path / "glued.sql",),
        database_url=pg_server,
    )
    hints = {e.query: (e.message.split(":")[0], e.hint) for e in errors}
    assert hints == {
        "G1": (
            'column "wanted" does not exist',
            "write `@> @wanted` (a space between the operator and the parameter): "
            "PostgreSQL reads `@>@` as one operator",
        ),
        "G2": (
            'column "allowed" does not exist',
            "write `<@ @allowed` (a space between the operator and the parameter): "
            "PostgreSQL reads `<@@` as one operator",
        ),
        # `<@` is real, but not for bigints: PostgreSQL says so, and the space is the cause
        "G3": (
            "operator does not exist",
            "write `< @id` (a space between the operator and the parameter): "
            "PostgreSQL reads `<@` as one operator",
        ),
        "G4": (
            "operator does not exist",
            "No operator matches the given name and argument types. "
            "You might need to add explicit type casts.",
        ),
        "G5": ('column "nosuch" does not exist', None),
    }


def test_the_hint_outranks_a_missing_extension(tmp_path: Path, pg_server: str) -> None:
    """A schema needing an extension the server lacks makes "does not exist" errors point
    at it; a glued operator is the surer cause and keeps its hint."""
    schema = SCHEMA + "CREATE EXTENSION IF NOT EXISTS no_such_ext;\n"
    (tmp_path / "schema.sql").write_text(schema)
    (tmp_path / "q.sql").write_text(
        "-- name: Glued :many\nSELECT id FROM t WHERE id=@id;\n\n"
        "-- name: Other :many\nSELECT id FROM t WHERE nosuch;\n"
    )
    _ir, errors = run_analyze(
        keep_going=True,
        schema=(tmp_path / "schema.sql",),
        queries=(tmp_path / "q.sql",),
        database_url=pg_server,
    )
    hints = {e.query: e.hint or "" for e in errors}
    assert hints["Glued"].startswith("write `= @id` (a space"), hints
    assert "no_such_ext" in hints["Other"], hints
