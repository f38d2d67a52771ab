"""Enums, composites, domains, ranges, extension types, schemas, views, functions, embeds."""

from __future__ import annotations

import datetime
import decimal
import typing
from typing import Any

import psycopg
from psycopg.types.multirange import Multirange
from psycopg.types.range import Range

from tests.dialect.harness import Generated

Conn = psycopg.Connection[Any]
UTC = datetime.UTC


def _full_author(dialect: Generated, conn: Conn) -> Any:
    q = dialect.module("queries.authors")
    m = dialect.module("models")
    odd = m.Mood('very "odd", really')
    home = m.Address(street='1, "Main" St\\', number=7, tags=["a", None, "b c"], moods=[odd])
    return q.create_author(
        conn,
        name="ada",
        email="Ada@Example.com",
        mood=odd,
        moods=[m.Mood.SAD, odd],
        stars=5,
        addr=home,
        addrs=[home, m.Address(street=None, number=None, tags=None, moods=None)],
        attrs={"k": "v", 'quote"d': None},
        path="top.science.astronomy",
        nick="ADA",
        during=Range(datetime.datetime(2024, 1, 1, tzinfo=UTC), None),
        slots=Multirange([Range(1, 3), Range(5, 9)]),
        meta={"x": [1, 2]},
    )


def test_every_type_round_trips(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    q = dialect.module("queries.authors")
    created = _full_author(dialect, dconn)
    got = q.get_author(dconn, id=created.id)
    # SELECT * is the table's model: the engine reads the domain's NOT NULL like attnotnull.
    assert isinstance(got, m.Author)
    assert got.model_dump() == created.model_dump()
    assert got.mood is m.Mood('very "odd", really')
    assert got.moods == [m.Mood.SAD, m.Mood('very "odd", really')]
    assert all(isinstance(x, m.Mood) for x in got.moods)
    assert isinstance(got.addr, m.Address)
    assert got.addr.street == '1, "Main" St\\' and got.addr.number == 7
    assert got.addr.tags == ["a", None, "b c"]
    assert got.addr.moods == [m.Mood('very "odd", really')]
    assert got.addrs[1] == m.Address(street=None, number=None, tags=None, moods=None)
    assert got.attrs == {"k": "v", 'quote"d': None}
    assert (got.path, got.email, got.nick) == ("top.science.astronomy", "Ada@Example.com", "ADA")
    assert got.during == Range(datetime.datetime(2024, 1, 1, tzinfo=UTC), None)
    assert got.slots == Multirange([Range(1, 3), Range(5, 9)])
    assert got.meta == {"x": [1, 2]}


def test_enum_and_enum_array_parameters(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    q = dialect.module("queries.authors")
    a = _full_author(dialect, dconn)
    b = q.create_plain_author(dconn, name="plain")
    by_mood = q.authors_by_moods(dconn, moods=[m.Mood('very "odd", really'), m.Mood.HAPPY])
    assert [(r.id, r.mood) for r in by_mood] == [
        (a.id, m.Mood('very "odd", really')),
        (b, m.Mood.HAPPY),
    ]
    assert q.authors_by_moods(dconn, moods=[]) == []
    assert q.authors_with_all_moods(dconn, moods=[m.Mood.SAD]) == [a.id]
    assert q.author_moods(dconn, id=a.id) == [m.Mood.SAD, m.Mood('very "odd", really')]
    assert q.author_moods(dconn, id=b) == []


def test_composite_results_and_parameters(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    q = dialect.module("queries.authors")
    a = _full_author(dialect, dconn)
    found = q.author_address(dconn, id=a.id)  # a row: "no author" is not "no address"
    assert found is not None
    addr = found.addr
    assert isinstance(addr, m.Address) and addr == a.addr
    geo = q.author_geo(dconn, id=a.id)
    assert isinstance(geo, m.Geo) and isinstance(geo.home, m.Address)
    assert geo.home == a.addr
    assert geo.seen_at == datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert geo.score == decimal.Decimal("1.5")
    assert q.authors_at(dconn, addr=a.addr) == [a.id]
    other = m.Address(street="x", number=None, tags=[], moods=[])
    assert q.authors_at(dconn, addr=other) == []


def test_composite_fields_are_encoded_by_type(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    q = dialect.module("queries.authors")
    home = m.Address(street='a "b"', number=None, tags=["x,y"], moods=[m.Mood.SAD])
    for flags in (True, "text", {"k": [1, None, "v"]}, 3.5, None):
        prefs = m.Pref(
            flags=flags,
            enabled=False,
            during=Range(datetime.datetime(2024, 1, 1, tzinfo=UTC), None),
            homes=[home, None],
            blob=b"\x00\xff",
            wait=datetime.timedelta(days=1, seconds=5, microseconds=7),
        )
        assert q.echo_prefs(dconn, p=prefs) == prefs


def test_domain_takes_base_type_and_not_null(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    q = dialect.module("queries.authors")
    hints = typing.get_type_hints(m.Author)
    assert hints["stars"] is int  # positive_int is NOT NULL: no "| None"
    assert hints["email"] == str | None  # email (over citext) is nullable
    b = q.create_plain_author(dconn, name="dflt")
    assert q.author_stars(dconn, id=b) == 1


def test_other_schema_enums_and_tables(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    o = dialect.module("queries.other")
    owner = dialect.module("queries.authors").create_plain_author(dconn, name="o")
    acct = o.create_account(
        dconn, plan=m.BillingPlan.PRO, plans=[m.BillingPlan.FREE], owner_id=owner
    )
    assert isinstance(acct, m.BillingAccount) and acct.plan is m.BillingPlan.PRO
    assert acct.plans == [m.BillingPlan.FREE]
    assert o.accounts_by_plan(dconn, plan=m.BillingPlan.PRO) == [acct]
    assert o.accounts_with_plans(dconn, plans=[m.BillingPlan.FREE]) == [acct.id]
    plans = [m.BillingPlan.FREE, m.BillingPlan.PRO]
    assert o.copy_accounts(dconn, [o.CopyAccountsParams(m.BillingPlan.FREE, plans)]) == 1
    assert o.COPY_ACCOUNTS_COPY.startswith(
        '-- name: CopyAccounts :copyfrom\nCOPY "billing"."account" ("plan", "plans")'
    )
    [copied] = o.accounts_by_plan(dconn, plan=m.BillingPlan.FREE)
    assert copied.plans == plans


def test_views_and_materialized_views(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    o = dialect.module("queries.other")
    books = dialect.module("queries.books")
    a = dialect.module("queries.authors").create_plain_author(dconn, name="viewed")
    books.add_books(dconn, [books.AddBooksParams(a, "t1"), books.AddBooksParams(a, "t2")])
    assert {"id": a, "name": "viewed"} in [r.model_dump() for r in o.author_names(dconn)]
    assert list(typing.get_type_hints(m.AuthorName)) == ["id", "name"]
    o.refresh_book_counts(dconn)
    assert {"author_id": a, "n": 2} in [r.model_dump() for r in o.book_counts(dconn)]
    assert list(typing.get_type_hints(m.BookCount)) == ["author_id", "n"]


def test_set_returning_functions(dialect: Generated, dconn: Conn) -> None:
    books = dialect.module("queries.books")
    a = dialect.module("queries.authors").create_plain_author(dconn, name="fn")
    books.add_books(dconn, [books.AddBooksParams(a, "f1"), books.AddBooksParams(a, "f2")])
    assert [b.title for b in books.books_of(dconn, a=a)] == ["f1", "f2"]
    assert [b.title for b in books.books_of_named(dconn, author=a, title="f1")] == ["f2"]
    got = books.books_called(dconn, cur_="f1", row_="nope", value="f2")
    assert len(got) == 2
    stats = books.author_stats(dconn, min_books=2)
    assert any((s.author_id, s.books) == (a, 2) for s in stats)


def test_embed_nests_table_models(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    books = dialect.module("queries.books")
    a = _full_author(dialect, dconn)
    books.add_books(
        dconn, [books.AddBooksParams(a.id, "with"), books.AddBooksParams(None, "orphan")]
    )
    rows = [r for r in books.books_with_author(dconn) if r.book.title in ("with", "orphan")]
    assert [type(r.book) for r in rows] == [m.Book, m.Book]
    assert isinstance(rows[0].author, m.Author)
    assert rows[0].author.model_dump() == a.model_dump()  # enums and composites decoded
    assert rows[1].author is None  # LEFT JOIN without a match
    assert rows[0].double_price == decimal.Decimal("0.00")
    lonely = dialect.module("queries.authors").create_plain_author(dconn, name="lonely")
    out = books.authors_and_books(dconn, ids=[a.id, lonely])
    assert [(r.id, r.name, r.book and r.book.title) for r in out] == [
        (a.id, "ada", "with"),
        (lonely, "lonely", None),
    ]
    # a star in the select list also holds the embedded table's columns
    [star_first] = [r for r in books.star_then_embed(dconn) if r.book.title == "with"]
    assert (star_first.name, star_first.book.title, star_first.title) == ("ada", "with", "with")
    [embed_first] = [r for r in books.embed_then_star(dconn) if r.book.title == "with"]
    assert (embed_first.book.id, embed_first.name) == (star_first.book.id, "ada")
    # whole-row references and functions returning a row type give the table's model
    whole = books.whole_rows(dconn, ids=[rows[0].book.id, rows[1].book.id])
    assert [(type(w.b), w.a is None) for w in whole] == [(m.Book, False), (m.Book, True)]
    assert whole[0].a is not None and whole[0].a.model_dump() == a.model_dump()
    as_value = books.book_as_value(dconn, id=rows[0].book.id)
    assert as_value == rows[0].book  # one row always: the value itself, None for NULL
    # a view embeds as its model too
    named = [r for r in books.books_with_author_name(dconn) if r.book.title == "with"]
    assert [(type(r.author_name), r.author_name.name) for r in named] == [(m.AuthorName, "ada")]
    hints = typing.get_type_hints(books.BooksWithAuthorRow)
    assert hints["book"] is m.Book and hints["author"] == m.Author | None


def test_user_defined_range_and_multirange_types(dialect: Generated, dconn: Conn) -> None:
    m = dialect.module("models")
    o = dialect.module("queries.other")
    assert typing.get_type_hints(m.Measure)["span"] == Range[float]
    made = o.create_measure(
        dconn, span=Range(1.5, 2.5), spans=Multirange([Range(0.0, 1.0), Range(2.0, None)])
    )
    assert made.span == Range(1.5, 2.5, "[)")
    assert made.spans == Multirange([Range(0.0, 1.0), Range(2.0, None)])
    empty = o.create_measure(dconn, span=Range(empty=True), spans=None)
    assert empty.span.isempty and empty.spans is None
    hits = o.measures_overlapping(dconn, probe=Range(2.0, 3.0))
    assert [(h.id, h.span) for h in hits] == [(made.id, Range(1.5, 2.5))]


async def test_asyncio_twins_decode_the_same_types(
    dialect: Generated, daconn: psycopg.AsyncConnection[Any]
) -> None:
    m = dialect.module("models")
    q = dialect.module("queries.aio.authors")
    books = dialect.module("queries.aio.books")
    home = m.Address(street="s", number=1, tags=[], moods=[m.Mood.SAD])
    a = await q.create_author(
        daconn,
        name="async",
        email=None,
        mood=m.Mood.SAD,
        moods=[m.Mood.SAD],
        stars=2,
        addr=home,
        addrs=None,
        attrs=None,
        path=None,
        nick=None,
        during=None,
        slots=None,
        meta=None,
    )
    found = await q.author_address(daconn, id=a.id)
    assert found is not None and found.addr == home
    assert await q.author_moods(daconn, id=a.id) == [m.Mood.SAD]
    assert await q.authors_at(daconn, addr=home) == [a.id]
    await books.add_books(daconn, [books.AddBooksParams(a.id, "async book")])
    [row] = await books.authors_and_books(daconn, ids=[a.id])
    assert row.book is not None and row.book.title == "async book"
    result = await books.delete_books(daconn, author_id=a.id)
    assert (result.rowcount, result.status) == (1, "DELETE 1")
