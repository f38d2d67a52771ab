"""A function the schema does not define, wherever PostgreSQL accepts a real one.

Its result type is what PostgreSQL deduces for a value of unknown type in the call's place
(a boolean condition, the other side of an operator, a cast, a known function's argument,
an assignment target…); only where nothing constrains it (a bare select-list entry) is it
``Any``. Each query is generated from a schema lacking the function, then run against a
database that has it.
"""

from __future__ import annotations

import itertools
import typing
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from multica_db_codegen.errors import GenerateErrors
from multica_db_codegen.processors import run_generate
from tests.dialect.harness import Generated, database_with, forget, generate, write_project

SCHEMA = """
CREATE TABLE t (
    id bigint PRIMARY KEY, x int NOT NULL, flags int NOT NULL, name text, u uuid, data bytea
);
"""

ROWS = "INSERT INTO t VALUES (1, 1, 2, 'ann', NULL, NULL), (2, 5, 3, 'bob', NULL, NULL)"


@dataclass(frozen=True)
class Context:
    """A place for a call: ``{call}`` is the hole, ``returns`` the real function's type."""

    sql: str
    returns: str  # the SQL type the real function returns
    body: str  # its body, over $1 (an integer)
    command: str = "many"
    # what the stub's result is taken as (None: Any), from the warning
    deduced: str | None = None
    columns: bool = True  # the call may take a column of t as its argument


CONTEXTS = [
    Context("SELECT id FROM t WHERE x > 0 AND {call}", "boolean", "$1 > 1", deduced="boolean"),
    Context("SELECT id FROM t WHERE NOT {call}", "boolean", "$1 > 1", deduced="boolean"),
    Context(
        "SELECT CASE WHEN {call} THEN 'a' ELSE 'b' END AS c FROM t",
        "boolean",
        "$1 > 2",
        deduced="boolean",
    ),
    Context("SELECT x + {call} AS y FROM t", "integer", "$1 * 2", deduced="integer"),
    Context("SELECT id FROM t WHERE x * 2 < {call}", "integer", "$1 + 3", deduced="integer"),
    Context("UPDATE t SET x = {call} WHERE id = 1", "integer", "$1", "exec", deduced="integer"),
    Context(
        "SELECT ({call})::uuid AS u FROM t",
        "text",
        "'00000000-0000-0000-0000-00000000000' || ($1 % 10)",
        deduced="uuid",
    ),
    Context(
        "SELECT encode({call}, 'hex') AS h FROM t",
        "bytea",
        "convert_to($1::text, 'UTF8')",
        deduced="bytea",
    ),
    Context("SELECT id FROM t ORDER BY {call} DESC", "integer", "$1"),
    Context(
        "SELECT a.id FROM t a JOIN (SELECT 1 AS k) b ON {call}",
        "boolean",
        "$1 > 0",
        deduced="boolean",
    ),
    Context(
        "INSERT INTO t (id, x, flags) VALUES (100 + {call}, 1, 0) RETURNING id",
        "integer",
        "$1",
        deduced="integer",
        columns=False,
    ),
    Context(
        "UPDATE t SET x = x WHERE id = 2 RETURNING {call} AS label", "text", "'v' || $1", "one"
    ),
    Context(
        "SELECT id FROM t WHERE id = ANY({call})",
        "bigint[]",
        "ARRAY[$1::bigint]",
        deduced="bigint[]",
    ),
    Context("SELECT COALESCE({call}, 0) AS c FROM t", "integer", "$1", deduced="integer"),
    Context("SELECT id FROM t WHERE name LIKE {call}", "text", "'%'", deduced="text"),
    Context("SELECT id FROM t WHERE x IN ({call}, 3)", "integer", "$1", deduced="integer"),
    Context(
        "SELECT x FROM t GROUP BY x, flags HAVING {call}", "boolean", "$1 > 0", deduced="boolean"
    ),
    Context("SELECT {call} AS v FROM t", "text", "'v' || $1"),
    Context("SELECT {call} IS NULL AS n FROM t", "text", "NULL"),
]

#: Integer arguments for the call, in the forms queries write them.
INSERT = next(c for c in CONTEXTS if c.sql.startswith("INSERT"))
ARGS = ["x", "x * 2", "sqlc.arg(n)::int", "7", "flags"]
CONSTANT_ARGS = ["sqlc.arg(n)::int", "7"]


@dataclass(frozen=True)
class Case:
    context: Context
    function: str
    arg: str

    def query(self, name: str) -> str:
        call = f"{self.function}({self.arg})"
        return f"-- name: {name} :{self.context.command}\n{self.context.sql.format(call=call)};\n"

    def definition(self) -> str:
        return (
            f"CREATE FUNCTION {self.function}(integer) RETURNS {self.context.returns} "
            f"LANGUAGE sql AS $$ SELECT {self.context.body} $$;"
        )


def _run(gen: Generated, url: str, cases: list[Case]) -> None:
    q = gen.module("queries.q")
    with psycopg.connect(url) as conn:
        conn.execute("\n".join(c.definition() for c in cases))
        conn.execute(ROWS)
        for i, case in enumerate(cases):
            fn = getattr(q, f"q{i}")
            hints = typing.get_type_hints(fn)
            kwargs = {"n": 3} if "sqlc.arg(n)" in case.arg else {}
            assert set(hints) - {"return", "conn"} == set(kwargs), case
            # PostgreSQL runs it with the real function; each case sees the same rows (two
            # drawn INSERT cases would otherwise collide on the key the first one added)
            with conn.transaction(force_rollback=True):
                fn(conn, **kwargs)
        conn.rollback()


def _generate(root: Path, url: str, cases: list[Case], package: str) -> tuple[Generated, list[str]]:
    queries = "\n".join(c.query(f"Q{i}") for i, c in enumerate(cases))
    write_project(root, schema={"schema.sql": SCHEMA}, queries={"q.sql": queries}, package=package)
    forget(package)
    result = run_generate(cwd=root, database_url=url)
    return generate(root, url, package), list(result.warnings)


def _deduced(warnings: list[str], function: str) -> str | None:
    (found,) = [w for w in warnings if f"function {function}(" in w]
    if "typed Any" in found:
        return None
    return found.split("taken as ", 1)[1].split(", as its place", 1)[0]


def test_every_context(tmp_path: Path, pg_server: str) -> None:
    """Each place a real function is accepted: generated, typed, mypy-clean, and it runs."""
    cases = [
        Case(c, f"absent_{i}", (ARGS if c.columns else CONSTANT_ARGS)[i % 2])
        for i, c in enumerate(CONTEXTS)
    ]
    gen, warnings = _generate(tmp_path, pg_server, cases, "anyctx")
    for case in cases:
        assert _deduced(warnings, case.function) == case.context.deduced, case
    q = gen.module("queries.q")
    assert typing.get_type_hints(q.q3)["return"] == list[int | None]
    assert typing.get_type_hints(q.q7)["return"] == list[str | None]  # encode(…) is text
    bare = next(i for i, c in enumerate(CONTEXTS) if c.sql.startswith("SELECT {call} AS v"))
    assert typing.get_type_hints(getattr(q, f"q{bare}"))["return"] == list[typing.Any | None]
    gen.mypy()
    gen.ruff()
    with database_with(pg_server, [tmp_path / "schema"]) as url:
        _run(gen, url, cases)


def test_several_missing_functions_in_one_condition(tmp_path: Path, pg_server: str) -> None:
    """``f(x) AND g(y)``: each is typed with the other still missing; nested calls too."""
    queries = (
        "-- name: Both :many\nSELECT id FROM t WHERE f1(x) AND f2(flags);\n"
        "-- name: Inner :many\nSELECT id FROM t WHERE outer_fn(inner_fn(x));\n"
        "-- name: Digest :one\nSELECT encode(my_digest(name, 'sha256'), 'hex') AS h FROM t;\n"
    )
    write_project(
        tmp_path, schema={"schema.sql": SCHEMA}, queries={"q.sql": queries}, package="anyboth"
    )
    warnings = list(run_generate(cwd=tmp_path, database_url=pg_server).warnings)
    assert [_deduced(warnings, f) for f in ("f1", "f2", "outer_fn", "inner_fn", "my_digest")] == [
        "boolean",
        "boolean",
        "boolean",
        None,
        "bytea",
    ]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.sampled_from(CONTEXTS).flatmap(
            lambda c: st.tuples(st.just(c), st.sampled_from(ARGS if c.columns else CONSTANT_ARGS))
        ),
        min_size=1,
        max_size=5,
    )
)
@example(drawn=[(INSERT, "7"), (INSERT, "7")])  # drawn twice: the same key inserted twice
def test_generated_contexts(
    tmp_path_factory: pytest.TempPathFactory, pg_server: str, drawn: list[tuple[Context, str]]
) -> None:
    """Any mix of contexts and argument forms: typed as PostgreSQL deduces, and it runs."""
    names = (f"gone_{i}" for i in itertools.count())
    cases = [Case(c, next(names), a) for c, a in drawn]
    root = tmp_path_factory.mktemp("anyfuzz")
    gen, warnings = _generate(root, pg_server, cases, "anyfuzz")
    for case in cases:
        assert _deduced(warnings, case.function) == case.context.deduced, case
    with database_with(pg_server, [root / "schema"]) as url:
        _run(gen, url, cases)


def test_real_project_shapes(tmp_path: Path, pg_server: str) -> None:
    """As real projects write them: a whole-row argument in a CASE branch, an array in AND,
    a missing function in SET and arithmetic; the functions live outside sqlc's schema."""
    schema = "CREATE TABLE rl (id int PRIMARY KEY, v int NOT NULL, b int[]);\n"
    queries = (
        "-- name: Refill :many\n"
        "SELECT CASE WHEN v > 0 THEN refill_value(rl) ELSE 0 END AS r FROM rl\n"
        "WHERE v > 0 AND flagged(b) ORDER BY id;\n"
        "-- name: Drain :exec\nUPDATE rl SET v = refill_value(rl) - 1 WHERE id = $1;\n"
    )
    functions = (
        "CREATE FUNCTION refill_value(r rl) RETURNS integer LANGUAGE sql AS $$ SELECT r.v * 10 $$;"
        "CREATE FUNCTION flagged(b int[]) RETURNS boolean LANGUAGE sql"
        " AS $$ SELECT cardinality(b) > 0 $$;"
    )
    write_project(
        tmp_path, schema={"schema.sql": schema}, queries={"q.sql": queries}, package="rlp"
    )
    warnings = list(run_generate(cwd=tmp_path, database_url=pg_server).warnings)
    assert [_deduced(warnings, f) for f in ("flagged",)] == ["boolean"]
    assert {w.split("taken as ")[1].split(",")[0] for w in warnings if "refill_value" in w} == {
        "integer"
    }
    gen = generate(tmp_path, pg_server, "rlp")
    gen.mypy()
    q = gen.module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute(functions)
        conn.execute("INSERT INTO rl VALUES (1, 2, '{1}'), (2, 3, '{}'), (3, 0, '{1}')")
        assert q.refill(conn) == [20]
        q.drain(conn, id=2)
        assert conn.execute("SELECT v FROM rl WHERE id = 2").fetchone() == (29,)


def test_where_no_type_can_be_told_the_error_says_what_to_do(
    tmp_path: Path, pg_server: str
) -> None:
    """``sum(f(x))``: several argument types would do, PostgreSQL cannot choose — a cast does."""
    queries = (
        "-- name: Total :one\nSELECT sum(weight_of(x)) AS s FROM t;\n"
        "-- name: Cast :one\nSELECT sum(weight_of(x)::integer) AS s FROM t;\n"
    )
    write_project(tmp_path, schema={"schema.sql": SCHEMA}, queries={"q.sql": queries}, package="ag")
    with pytest.raises(GenerateErrors) as info:
        run_generate(cwd=tmp_path, database_url=pg_server)
    (error,) = info.value.errors
    assert error.query == "Total"
    assert error.message == "function sum(any) does not exist"
    assert error.hint is not None and "cast its result (f(x)::integer)" in error.hint
