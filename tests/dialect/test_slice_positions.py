"""``sqlc.slice`` wherever sqlc's PostgreSQL engine accepts it: an array parameter.

As the whole list of an IN (``x IN (sqlc.slice(ids))``, ``NOT IN``) it becomes
``= ANY($N)`` / ``<> ALL($N)``; as the operand of ANY/ALL, with or without a cast, it is
``$N`` typed as PostgreSQL deduces there. Generated statements mixing these forms (and
spellings: quoted names, spacing, case) run against PostgreSQL and select exactly the
rows a Python filter over the same lists does.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dialect.harness import Generated, database_with, forget, generate, write_project

SCHEMA = "CREATE TABLE item (id bigint PRIMARY KEY, kind text NOT NULL);\n"
ROWS = [(i, "abc"[i % 3]) for i in range(1, 10)]

#: (SQL over column {col} and the macro {m}, does a row match given the list)
FORMS: list[tuple[str, typing.Callable[[object, list[object]], bool]]] = [
    ("{col} IN ({m})", lambda v, xs: v in xs),
    ("{col} NOT IN ({m})", lambda v, xs: v not in xs),
    ("{col} = ANY({m})", lambda v, xs: v in xs),
    ("{col} <> ALL({m})", lambda v, xs: v not in xs),
    ("{col} = ANY({m}::{typ}[])", lambda v, xs: v in xs),
    ("{col} <> ALL({m}::{typ}[])", lambda v, xs: v not in xs),
    ("{col} = ANY(CAST({m} AS {typ}[]))", lambda v, xs: v in xs),
    ("{col} = SOME ({m})", lambda v, xs: v in xs),
    ("{col} in ( {m} )", lambda v, xs: v in xs),
]
COLUMNS = {"id": "bigint", "kind": "text"}
SPELLINGS = [
    "sqlc.slice({n})",
    "sqlc.slice('{n}')",
    "sqlc . slice ( {n} )",
    "SQLC.SLICE({n})",
    "sqlc.slice('{n}')/*SLICE:{n}*/",
]


def _generate(root: Path, url: str, queries: str, package: str, schema: str = SCHEMA) -> Generated:
    write_project(root, schema={"schema.sql": schema}, queries={"q.sql": queries}, package=package)
    forget(package)
    return generate(root, url, package)


def test_every_position(tmp_path: Path, pg_server: str) -> None:
    """The issue's example and each form once: a list parameter, the right rows."""
    conditions = [
        form.format(col="id", m=f"sqlc.slice(ids{i})", typ="bigint")
        for i, (form, _) in enumerate(FORMS)
    ]
    queries = "".join(
        f"-- name: Q{i} :many\nSELECT id FROM item WHERE {c} ORDER BY id;\n"
        for i, c in enumerate(conditions)
    )
    gen = _generate(tmp_path, pg_server, queries, "slices")
    gen.mypy()
    q = gen.module("queries.q")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.cursor().executemany("INSERT INTO item VALUES (%s, %s)", ROWS)
        for i, (_, keep) in enumerate(FORMS):
            fn = getattr(q, f"q{i}")
            assert typing.get_type_hints(fn)[f"ids{i}"] == list[int], i
            got = fn(conn, **{f"ids{i}": [2, 5, 11]})
            assert got == [r[0] for r in ROWS if keep(r[0], [2, 5, 11])], conditions[i]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(range(len(FORMS))),
            st.sampled_from(sorted(COLUMNS)),
            st.sampled_from(SPELLINGS),
        ),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.integers(0, 11), max_size=4),
    st.lists(st.sampled_from("abcz"), max_size=3),
)
def test_generated_mixes(
    tmp_path_factory: pytest.TempPathFactory,
    pg_server: str,
    drawn: list[tuple[int, str, str]],
    ids: list[int],
    kinds: list[str],
) -> None:
    """Several slices in one statement (one name may repeat): the rows a Python filter keeps."""
    conditions = []
    for form, col, spelling in drawn:
        macro = spelling.format(n=f"{col}s")
        conditions.append(FORMS[form][0].format(col=col, m=macro, typ=COLUMNS[col]))
    queries = (
        f"-- name: Pick :many\nSELECT id FROM item WHERE {' AND '.join(conditions)} ORDER BY id;\n"
    )
    root = tmp_path_factory.mktemp("slicemix")
    gen = _generate(root, pg_server, queries, "slicemix")
    q = gen.module("queries.q")
    values: dict[str, list[object]] = {"ids": list(ids), "kinds": list(kinds)}
    args = {f"{col}s": values[f"{col}s"] for _, col, _ in drawn}
    with database_with(pg_server, [root / "schema"]) as url, psycopg.connect(url) as conn:
        conn.cursor().executemany("INSERT INTO item VALUES (%s, %s)", ROWS)
        expected = [
            r[0]
            for r in ROWS
            if all(
                FORMS[form][1](r[0] if col == "id" else r[1], values[f"{col}s"])
                for form, col, _ in drawn
            )
        ]
        assert q.pick(conn, **args) == expected, queries


def test_real_project_shapes(tmp_path: Path, pg_server: str) -> None:
    """As real projects write them: in a subquery's UNNEST, and an optional filter."""
    schema = (
        "CREATE TYPE kind AS ENUM ('a', 'b', 'c');\n"
        "CREATE TABLE ev (id bytea PRIMARY KEY, k kind NOT NULL);\n"
    )
    queries = (
        "-- name: ByIds :many\n"
        "SELECT k FROM ev WHERE id IN (SELECT UNNEST(sqlc.slice('ids')::BYTEA[])) ORDER BY k;\n"
        "-- name: ByKinds :many\n"
        "SELECT id FROM ev\n"
        "WHERE (sqlc.slice(ks)::kind[] IS NULL OR ev.k = ANY(sqlc.slice(ks)::kind[]))\n"
        "ORDER BY id;\n"
    )
    gen = _generate(tmp_path, pg_server, queries, "sliceshapes", schema)
    gen.mypy()
    q = gen.module("queries.q")
    m = gen.module("models")
    with database_with(pg_server, [tmp_path / "schema"]) as url, psycopg.connect(url) as conn:
        conn.execute("INSERT INTO ev VALUES ('\\x01', 'a'), ('\\x02', 'b'), ('\\x03', 'c')")
        assert q.by_ids(conn, ids=[b"\x01", b"\x03"]) == [m.Kind.A, m.Kind.C]
        assert q.by_kinds(conn, ks=[m.Kind.B]) == [b"\x02"]


#: A slice compared with an operator (sqlc makes it a list there too): each element.
COMPARISONS: list[tuple[str, typing.Callable[[int, list[int]], bool]]] = [
    ("id = {m}", lambda v, xs: v in xs),
    ("id != {m}", lambda v, xs: v not in xs),
    ("id <> {m}", lambda v, xs: v not in xs),
    ("id = ({m})", lambda v, xs: v in xs),
    ("id < {m}", lambda v, xs: any(v < x for x in xs)),
    ("id OPERATOR(pg_catalog.=) {m}", lambda v, xs: v in xs),
    ("(id + 0)=/*c*/{m}", lambda v, xs: v in xs),
]


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.integers(0, 11), max_size=4))
def test_compared_with_an_operator(
    tmp_path_factory: pytest.TempPathFactory, pg_server: str, ids: list[int]
) -> None:
    """``id = sqlc.slice(ids)``: a list parameter, as sqlc types it, that runs: ``= ANY``."""
    queries = "".join(
        f"-- name: C{i} :many\nSELECT id FROM item WHERE "
        f"{form.format(m=SPELLINGS[i % len(SPELLINGS)].format(n='ids'))} ORDER BY id;\n"
        for i, (form, _) in enumerate(COMPARISONS)
    )
    root = tmp_path_factory.mktemp("slicecmp")
    gen = _generate(root, pg_server, queries, "slicecmp")
    q = gen.module("queries.q")
    with database_with(pg_server, [root / "schema"]) as url, psycopg.connect(url) as conn:
        conn.cursor().executemany("INSERT INTO item VALUES (%s, %s)", ROWS)
        for i, (_, keep) in enumerate(COMPARISONS):
            fn = getattr(q, f"c{i}")
            assert typing.get_type_hints(fn)["ids"] == list[int], i
            assert fn(conn, ids=ids) == [r[0] for r in ROWS if keep(r[0], ids)], i


def test_compared_generates_clean_code(tmp_path: Path, pg_server: str) -> None:
    """The comparison forms pass mypy --strict and ruff as generated."""
    queries = "".join(
        f"-- name: C{i} :many\nSELECT id FROM item WHERE {form.format(m='sqlc.slice(ids)')};\n"
        for i, (form, _) in enumerate(COMPARISONS)
    )
    gen = _generate(tmp_path, pg_server, queries, "slicecmpclean")
    gen.mypy()
    gen.ruff()


#: An optional list filter, as projects write it: NULL means "no filter".
OPTIONAL_FILTERS = [
    "(sqlc.slice(ids) IS NULL OR id IN (sqlc.slice(ids)))",
    "(sqlc.slice(ids)::bigint[] IS NULL OR id = ANY(sqlc.slice(ids)::bigint[]))",
    "(@ids::bigint[] IS NULL OR id = ANY(@ids::bigint[]))",
    "(@ids::bigint[] IS NOT NULL AND id = ANY(@ids::bigint[]) OR @ids::bigint[] IS NULL)",
    "(id = ANY(@ids) OR @ids IS NULL)",
    "(sqlc.slice(ids) IS NULL OR id = sqlc.slice(ids))",
    "(CAST(sqlc.slice(ids) AS bigint[]) IS NULL OR id NOT IN (sqlc.slice(ids)))",
]


def _keep(i: int, v: int, ids: list[int] | None) -> bool:
    if ids is None:
        return True
    return v not in ids if "NOT IN" in OPTIONAL_FILTERS[i] else v in ids


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.one_of(st.none(), st.lists(st.integers(0, 11), max_size=4)))
def test_tested_with_is_null(
    tmp_path_factory: pytest.TempPathFactory, pg_server: str, ids: list[int] | None
) -> None:
    """A list parameter the SQL tests with IS NULL takes None too (required, not defaulted):
    None selects every row, a list the rows it names."""
    queries = "".join(
        f"-- name: F{i} :many\nSELECT id FROM item WHERE {f} ORDER BY id;\n"
        for i, f in enumerate(OPTIONAL_FILTERS)
    )
    root = tmp_path_factory.mktemp("slicenull")
    gen = _generate(root, pg_server, queries, "slicenull")
    q = gen.module("queries.q")
    with database_with(pg_server, [root / "schema"]) as url, psycopg.connect(url) as conn:
        conn.cursor().executemany("INSERT INTO item VALUES (%s, %s)", ROWS)
        for i in range(len(OPTIONAL_FILTERS)):
            fn = getattr(q, f"f{i}")
            assert typing.get_type_hints(fn)["ids"] == list[int] | None, OPTIONAL_FILTERS[i]
            assert inspect.signature(fn).parameters["ids"].default is inspect.Parameter.empty
            expected = [r[0] for r in ROWS if _keep(i, r[0], ids)]
            assert fn(conn, ids=ids) == expected, OPTIONAL_FILTERS[i]


def test_tested_with_is_null_clean_code(tmp_path: Path, pg_server: str) -> None:
    """``list[int] | None`` parameters pass mypy --strict and ruff, and the async module too."""
    queries = "".join(
        f"-- name: F{i} :many\nSELECT id FROM item WHERE {f} ORDER BY id;\n"
        for i, f in enumerate(OPTIONAL_FILTERS)
    )
    gen = _generate(tmp_path, pg_server, queries, "slicenullclean")
    gen.mypy()
    gen.ruff()
    aq = gen.module("queries.aio.q")
    assert typing.get_type_hints(aq.f0)["ids"] == list[int] | None
