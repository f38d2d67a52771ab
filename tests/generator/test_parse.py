"""The parse stage alone (no database): statements, docstrings, parameters and their names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multica_db_codegen.errors import GenerateError, GenerateErrors
from multica_db_codegen.parse import Command, QuerySpec, parse_query_file
from multica_db_codegen.render.naming import snake_case


def one(sql: str) -> QuerySpec:
    specs = parse_query_file("q.sql", sql)
    assert len(specs) == 1
    return specs[0]


def names(spec: QuerySpec) -> list[tuple[int, str, bool]]:
    return [(p.number, p.name, p.nullable) for p in spec.params]


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("FindLegacyRuntimesByDaemonID", "find_legacy_runtimes_by_daemon_id"),
        ("ListUsersByIDs", "list_users_by_ids"),
        ("GetAPIKey", "get_api_key"),
        ("UpsertAgentRuntime", "upsert_agent_runtime"),
        ("getURLsForHTTPServer", "get_urls_for_http_server"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_docstring_lines_and_statement_boundaries() -> None:
    specs = parse_query_file(
        "q.sql",
        "-- name: A :one\n-- First line.\n--\n-- Third; with a semicolon.\n"
        "SELECT ';' AS s, $$a;b$$ AS t;\n\n"
        "-- name: B :execrows\n-- just one\nDELETE FROM x -- trailing; comment\nWHERE y = 1;\n",
    )
    assert [(s.name, s.command) for s in specs] == [("A", Command.ONE), ("B", Command.EXECROWS)]
    assert specs[0].doc == ["First line.", "", "Third; with a semicolon."]
    assert specs[0].sql == "SELECT ';' AS s, $$a;b$$ AS t"
    assert specs[1].doc == ["just one"]
    assert specs[1].sql.endswith("WHERE y = 1")


def test_named_parameters_are_numbered_after_the_highest_positional() -> None:
    spec = one(
        "-- name: Q :many\n"
        "SELECT * FROM t WHERE a = $2 AND b = @bee AND c = sqlc.arg(cee) AND d = $1\n"
        "AND e = sqlc.narg('opt') AND f = @bee;\n"
    )
    assert spec.sql == (
        "SELECT * FROM t WHERE a = $2 AND b = $3 AND c = $4 AND d = $1\nAND e = $5 AND f = $3"
    )
    assert names(spec) == [
        (1, "d", False),
        (2, "a", False),
        (3, "bee", False),
        (4, "cee", False),
        (5, "opt", True),
    ]


def test_positional_names_come_from_context() -> None:
    spec = one(
        "-- name: Q :exec\n"
        "UPDATE agent_runtime SET legacy_daemon_id = COALESCE(legacy_daemon_id, $2),\n"
        "  name = $3 WHERE id = $1 AND status = ANY($4::text[]) AND $5 < 3;\n"
    )
    assert names(spec) == [
        (1, "id", False),
        (2, "legacy_daemon_id", False),
        (3, "name", False),
        (4, "status", False),
        (5, "column_5", False),
    ]
    targets = {p.name: p.target for p in spec.params}
    assert targets["legacy_daemon_id"] is not None
    assert targets["legacy_daemon_id"].column == "legacy_daemon_id"
    assert targets["id"] is None


def test_insert_values_limit_offset_and_clashes() -> None:
    spec = one(
        "-- name: Q :many\n"
        "INSERT INTO t (a, b) SELECT $1, $2 FROM s WHERE s.a = $3 OR s.a = $4 LIMIT $5 OFFSET $6\n"
        "RETURNING *;\n"
    )
    assert [p.name for p in spec.params] == ["a", "b", "a_2", "a_3", "limit", "offset"]
    values = one('-- name: V :exec\nINSERT INTO t (x, "from") VALUES ($1, $2);\n')
    assert [p.name for p in values.params] == ["x", "from_"]  # a keyword gets a suffix


def test_function_named_arguments_and_percent_are_not_parameters() -> None:
    spec = one(
        "-- name: Q :many\n"
        "SELECT make_interval(secs => @s::double precision), 10 % 3, 'a%sb' LIKE '%' \n"
        "FROM t WHERE j @> '{}' AND k = @k;\n"
    )
    assert [p.name for p in spec.params] == ["s", "k"]
    assert "10 % 3, 'a%sb' LIKE '%'" in spec.sql
    assert "j @> '{}'" in spec.sql


def test_offsets_map_back_through_the_rewrite() -> None:
    text = "-- name: Q :one\nSELECT * FROM t WHERE a = @long_name AND b = 1;\n"
    spec = one(text)
    rewritten = spec.sql.index("b = 1")
    assert text[spec.original_offset(rewritten) :].startswith("b = 1")


def test_gap_in_positional_parameters_is_an_error() -> None:
    with pytest.raises(GenerateErrors) as info:
        parse_query_file("q.sql", "-- name: Q :one\nSELECT $1, $3;\n")
    assert "parameter $2 is never used, but $3 is" in str(info.value)
    assert "q.sql:2:1: query Q:" in str(info.value)


def test_unknown_macro_is_located() -> None:
    with pytest.raises(GenerateErrors) as info:
        parse_query_file("q.sql", "-- name: Q :one\nSELECT sqlc.splice(ids);\n")
    assert "q.sql:2:8: query Q: unknown macro sqlc.splice()" in str(info.value)


def test_sqlc_slice_becomes_any_of_an_array() -> None:
    """sqlc accepts ``IN (sqlc.slice(x))`` on PostgreSQL: here it is ``= ANY($N)``."""
    [q] = parse_query_file(
        "q.sql",
        "-- name: Q :many\nSELECT id FROM t\n"
        "WHERE id IN (sqlc.slice('ids')) AND kind NOT IN (sqlc.slice(kinds)) AND x = $1;\n",
    )
    assert q.sql == "SELECT id FROM t\nWHERE id = ANY ($2) AND kind <> ALL ($3) AND x = $1"
    assert [(p.number, p.name) for p in q.params] == [(1, "x"), (2, "ids"), (3, "kinds")]
    # only IN is rewritten: the list's parentheses and a comment in them stay as written
    [q] = parse_query_file(
        "q.sql", "-- name: Q :many\nSELECT 1 FROM t WHERE id IN (sqlc.slice('ids')/*SLICE:ids*/);\n"
    )
    assert q.sql == "SELECT 1 FROM t WHERE id = ANY ($1/*SLICE:ids*/)"
    # elsewhere it is a parameter like sqlc.arg, typed (an array) where it stands
    [q] = parse_query_file(
        "q.sql", "-- name: Q :many\nSELECT id FROM t WHERE id = ANY(sqlc.slice(ids)::bigint[]);\n"
    )
    assert q.sql == "SELECT id FROM t WHERE id = ANY($1::bigint[])"
    assert [(p.number, p.name) for p in q.params] == [(1, "ids")]


def test_slash_star_annotation_as_sqlc_reads_it() -> None:
    [q] = parse_query_file("q.sql", "/* name: GetT :one */\nSELECT 1 AS one;\n")
    assert (q.name, q.command) == ("GetT", Command.ONE)


def test_named_parameters_fill_the_gaps_between_positional_ones() -> None:
    """As sqlc numbers them: ``$1, @version, $3`` makes ``@version`` ``$2``."""
    [q] = parse_query_file(
        "q.sql",
        "-- name: Q :exec\nINSERT INTO t (a, b, c, d) SELECT $1, @version::text, $3, @d\n"
        "WHERE @version::text <> '';\n",
    )
    assert q.sql == ("INSERT INTO t (a, b, c, d) SELECT $1, $2::text, $3, $4\nWHERE $2::text <> ''")
    assert [(p.number, p.name) for p in q.params] == [(1, "a"), (2, "version"), (3, "c"), (4, "d")]


# A query file as a list of lines: a valid annotation, a malformed one (no command, or
# an unknown command), a plain comment, or a statement.
_LINE = st.sampled_from(["valid", "no_command", "bad_command", "comment", "statement"])


@settings(max_examples=200, derandomize=True, deadline=None)
@given(lines=st.lists(_LINE, max_size=12))
def test_malformed_annotations_are_errors_only_where_sqlc_reads_them(lines: list[str]) -> None:
    """sqlc reads the first ``-- name:`` line above each statement: a malformed one there
    is an error (the statement is lost), any other malformed one is ignored (a warning)."""
    text, expected, errors, gap = [], [], 0, []
    for i, kind in enumerate(lines):
        if kind == "valid":
            text.append(f"-- name: Q{i} :exec")
        elif kind == "no_command":
            text.append(f"-- name: Q{i}")
        elif kind == "bad_command":
            text.append(f"-- name: Q{i} :uno")
        elif kind == "comment":
            text.append("-- just a comment")
        else:
            text.append("SELECT 1;")
        if kind in ("valid", "no_command", "bad_command"):
            gap.append((kind, f"Q{i}"))
        elif kind == "statement":
            if gap and gap[0][0] == "valid":
                expected.append(gap[0][1])
            elif gap:
                errors += 1
            gap = []
    warnings: list[str] = []
    failed: list[GenerateError] = []
    specs = parse_query_file("q.sql", "\n".join(text) + "\n", warnings=warnings, failed=failed)
    assert [s.name for s in specs] == expected
    assert len(failed) == errors, (text, [str(e) for e in failed])
    malformed = sum(kind in ("no_command", "bad_command") for kind in lines)
    assert sum("ignored, as sqlc ignores it" in w for w in warnings) == malformed - errors
