"""The runtime's text codecs agree with PostgreSQL's own array/record/hstore/range I/O."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types.range import Range

from multica_db.runtime.pgtext import (
    array_literal,
    hstore_literal,
    parse_array,
    parse_hstore,
    parse_record,
    range_decoder,
    range_literal,
    text_loader,
)

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
# Any text PostgreSQL accepts (no NUL), weighted towards the characters literals escape.
texts = st.text(
    alphabet=st.one_of(
        st.sampled_from("\"\\,{}()[] =>NUL'\t\n"),
        st.characters(blacklist_categories=_SURROGATES, blacklist_characters="\x00"),
    ),
    max_size=12,
)
Conn = psycopg.Connection[Any]


@pytest.fixture(scope="module")
def hconn(pg_server: str) -> Iterator[Conn]:
    from tests.pg import fresh_database, require_extensions

    require_extensions(pg_server, "hstore")
    with (
        fresh_database(pg_server, prefix="multica_codec") as url,
        psycopg.connect(url, autocommit=True) as c,
    ):
        c.execute("CREATE EXTENSION hstore")
        yield c


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), texts), max_size=6))
def test_arrays_round_trip(hconn: Conn, values: list[str | None]) -> None:
    row = hconn.execute(
        "SELECT %s::text[]::text, (%s::text)::text[]", (values, array_literal(values))
    ).fetchone()
    assert row is not None
    assert parse_array(row[0]) == values
    assert row[1] == values  # what we send is what PostgreSQL reads


@settings(max_examples=60, deadline=None)
@given(a=st.one_of(st.none(), texts), b=st.one_of(st.none(), texts))
def test_records_parse(hconn: Conn, a: str | None, b: str | None) -> None:
    row = hconn.execute("SELECT row(%s::text, %s::text)::text", (a, b)).fetchone()
    assert row is not None
    assert parse_record(row[0]) == [a, b]


@settings(max_examples=40, deadline=None)
@given(d=st.dictionaries(texts, st.one_of(st.none(), texts), max_size=4))
def test_hstore_round_trips(hconn: Conn, d: dict[str, str | None]) -> None:
    row = hconn.execute("SELECT (%s::text)::hstore::text", (hstore_literal(d),)).fetchone()
    assert row is not None
    assert parse_hstore(row[0]) == d


def test_nested_arrays_bounds_and_typed_elements(hconn: Conn) -> None:
    row = hconn.execute("SELECT '[0:1][1:2]={{1,2},{3,NULL}}'::int[]::text").fetchone()
    assert row is not None
    assert parse_array(row[0], text_loader(23)) == [[1, 2], [3, None]]
    assert parse_array('{"NULL",NULL}') == ["NULL", None]


def test_ranges_with_quoted_bounds(hconn: Conn) -> None:
    row = hconn.execute("SELECT tstzrange('2024-01-01', NULL)::text").fetchone()
    assert row is not None
    decoded = range_decoder(text_loader(1184))(row[0])
    assert decoded.upper is None and decoded.lower is not None and decoded.lower.year == 2024
    assert range_decoder()("empty").isempty
    assert range_literal(Range(1, 2, "[]")) == '["1","2"]'
