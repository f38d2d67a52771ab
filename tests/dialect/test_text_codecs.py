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
    array_decoder,
    array_encoder,
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


#: Delimiters a type may declare (``CREATE TYPE … DELIMITER``): box's ';', PostGIS's ':',
#: the default ',' and other punctuation an extension could choose.
DELIMITERS = ",;:|/!#$%&*+-.<>?@^_~='()[]"


def _delimited_type(delimiter: str) -> str:
    return f"delim_{ord(delimiter)}"


@pytest.fixture(scope="module")
def dconn(pg_server: str) -> Iterator[Conn]:
    """A database with one text-like base type per delimiter of :data:`DELIMITERS`."""
    from tests.pg import fresh_database

    with (
        fresh_database(pg_server, prefix="multica_delim") as url,
        psycopg.connect(url, autocommit=True) as c,
    ):
        for d in DELIMITERS:
            t = _delimited_type(d)
            c.execute(
                f"CREATE TYPE {t};"
                f"CREATE FUNCTION {t}_in(cstring) RETURNS {t} "
                "LANGUAGE internal IMMUTABLE STRICT AS 'textin';"
                f"CREATE FUNCTION {t}_out({t}) RETURNS cstring "
                "LANGUAGE internal IMMUTABLE STRICT AS 'textout';"
                f"CREATE TYPE {t} (INPUT = {t}_in, OUTPUT = {t}_out, "
                f"INTERNALLENGTH = VARIABLE, DELIMITER = {_sql_literal(d)})"
            )
        yield c


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@settings(max_examples=150, deadline=None)
@given(
    delimiter=st.sampled_from(DELIMITERS),
    values=st.lists(st.one_of(st.none(), texts), max_size=6),
    rows=st.integers(min_value=0, max_value=3),
)
def test_arrays_round_trip_with_any_delimiter(
    dconn: Conn, delimiter: str, values: list[str | None], rows: int
) -> None:
    """What we send is what PostgreSQL reads, and we read what it writes, for every
    delimiter: one-dimensional, and as ``rows`` rows of a two-dimensional array."""
    t = _delimited_type(delimiter)
    dims = 2 if rows and values else 1  # PostgreSQL has no array of empty rows ('{{}}')
    array: list[Any] = [values] * rows if dims == 2 else values
    literal = array_encoder(dims=dims, delimiter=delimiter)(array)
    row = dconn.execute(
        f"SELECT x::text, x::text[] FROM (SELECT (%s::text)::{t}[] AS x) s", (literal,)
    ).fetchone()
    assert row is not None
    written, read = row
    assert read == array  # PostgreSQL read every element as sent
    assert parse_array(written, delimiter=delimiter) == array
    assert array_decoder(delimiter=delimiter)(written) == array


def test_unquoted_elements_hold_other_delimiters(dconn: Conn) -> None:
    """PostgreSQL quotes an element only for its own type's delimiter: ``{a,b;c}`` is two."""
    row = dconn.execute(
        f"SELECT '{{a,b;c}}'::{_delimited_type(';')}[]::text, "
        f"'[0:1]={{a,b:NULL}}'::{_delimited_type(':')}[]::text, "
        f"'{{\\NULL ; a\\ ;NULL}}'::{_delimited_type(';')}[]::text[]"
    ).fetchone()
    assert row is not None
    assert row[0] == "{a,b;c}" and parse_array(row[0], delimiter=";") == ["a,b", "c"]
    assert parse_array(row[1], delimiter=":") == ["a,b", None]
    assert parse_array("{\\NULL ; a\\ ;NULL}", delimiter=";") == row[2] == ["NULL", "a ", None]
