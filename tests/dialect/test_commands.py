"""Every sqlc command, run against PostgreSQL through the generated functions."""

from __future__ import annotations

import datetime
import decimal
import shutil
import uuid
from pathlib import Path
from typing import Any

import psycopg

from multica_db_codegen.processors import run_generate
from tests.dialect.harness import Generated

Conn = psycopg.Connection[Any]


def _author(dialect: Generated, conn: Conn, name: str) -> int:
    q = dialect.module("queries.authors")
    author_id: int = q.create_plain_author(conn, name=name)
    return author_id


def test_execresult_reports_rowcount_and_command_tag(dialect: Generated, dconn: Conn) -> None:
    q = dialect.module("queries.authors")
    books = dialect.module("queries.books")
    runtime = dialect.module("runtime")  # the package's own, not multica_db's
    a = _author(dialect, dconn, "ada")
    books.add_books(dconn, [books.AddBooksParams(a, "one"), books.AddBooksParams(a, "two")])
    result = books.delete_books(dconn, author_id=a)
    assert isinstance(result, runtime.ExecResult)
    assert (result.rowcount, result.status) == (2, "DELETE 2")
    assert books.delete_books(dconn, author_id=a) == runtime.ExecResult(0, "DELETE 0")
    updated = q.set_attrs(dconn, attrs={"k": "v"}, id=a)
    assert (updated.rowcount, updated.status) == (1, "UPDATE 1")


def test_copyfrom_binary_builtin_types(dialect: Generated, dconn: Conn) -> None:
    books = dialect.module("queries.books")
    a = _author(dialect, dconn, "copy")
    rows = (books.CopyBooksParams(a, f"title {i}", decimal.Decimal(f"{i}.25")) for i in range(500))
    assert books.copy_books(dconn, rows) == 500
    assert "FORMAT BINARY" in books.COPY_BOOKS_COPY
    got = books.books_of_author(dconn, [books.BooksOfAuthorParams(a)])[0]
    assert len(got) == 500
    assert (got[7].title, got[7].price, got[7].author_id) == ("title 7", decimal.Decimal("7.25"), a)


def test_copyfrom_binary_arrays_json_uuid_domains_and_nulls(
    dialect: Generated, dconn: Conn
) -> None:
    o = dialect.module("queries.other")
    assert "FORMAT BINARY" in o.COPY_EVENTS_COPY
    t0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    rows = [
        o.CopyEventsParams(uuid.uuid4(), t0, ["a", "b c"], {"k": [1]}, True, 2**40, 3),
        o.CopyEventsParams(uuid.uuid4(), t0 + datetime.timedelta(1), [], None, False, None, 1),
    ]
    assert o.copy_events(dconn, rows) == 2
    got = o.events(dconn)
    assert [tuple(e.model_dump().values()) for e in got] == [tuple(r) for r in rows]


def test_copyfrom_columns_in_another_order_than_parameters(dialect: Generated, dconn: Conn) -> None:
    books = dialect.module("queries.books")
    a = _author(dialect, dconn, "swap")
    n = books.copy_books_swapped(dconn, [books.CopyBooksSwappedParams(author_id=a, title="x")])
    assert n == 1
    [[book]] = books.books_of_author(dconn, [books.BooksOfAuthorParams(a)])
    assert (book.author_id, book.title) == (a, "x")


def test_copyfrom_with_enums_uses_text_format(dialect: Generated, dconn: Conn) -> None:
    q = dialect.module("queries.authors")
    models = dialect.module("models")
    assert "BINARY" not in q.COPY_AUTHORS_COPY
    n = q.copy_authors(
        dconn,
        [
            q.CopyAuthorsParams("c1", models.Mood.SAD, [models.Mood.SO_SO, models.Mood.HAPPY]),
            q.CopyAuthorsParams("c2", models.Mood.HAPPY, []),
        ],
    )
    assert n == 2
    rows = q.authors_by_moods(dconn, moods=[models.Mood.SAD])
    assert [r.name for r in rows] == ["c1"]
    assert rows[0].mood is models.Mood.SAD


async def test_copyfrom_async(dialect: Generated, daconn: psycopg.AsyncConnection[Any]) -> None:
    books = dialect.module("queries.aio.books")
    q = dialect.module("queries.aio.authors")
    a = await q.create_plain_author(daconn, name="acopy")
    n = await books.copy_books(
        daconn, [books.CopyBooksParams(a, "t", decimal.Decimal(1)) for _ in range(3)]
    )
    assert n == 3


def test_batchexec_batchone_batchmany(dialect: Generated, dconn: Conn) -> None:
    books = dialect.module("queries.books")
    a = _author(dialect, dconn, "batch")
    b = _author(dialect, dconn, "batch2")
    books.add_books(dconn, [books.AddBooksParams(a, f"a{i}") for i in range(3)])
    books.add_books(dconn, [books.AddBooksParams(b, "b0")])
    books.add_books(dconn, [])
    many = books.books_of_author(
        dconn, [books.BooksOfAuthorParams(a), books.BooksOfAuthorParams(b), (b + 1000,)]
    )
    assert [[x.title for x in group] for group in many] == [["a0", "a1", "a2"], ["b0"], []]
    ids = [group[0].id for group in many[:2]]
    titles = books.book_title(dconn, [books.BookTitleParams(i) for i in [*ids, -1]])
    assert titles == ["a0", "b0", None]
    assert books.book_title(dconn, []) == []
    renamed = books.rename_books(dconn, [books.RenameBooksParams("new", ids[0]), ("x", -5)])
    assert renamed[1] is None
    assert renamed[0] is not None and (renamed[0].id, renamed[0].title) == (ids[0], "new")


async def test_batch_async(dialect: Generated, daconn: psycopg.AsyncConnection[Any]) -> None:
    books = dialect.module("queries.aio.books")
    q = dialect.module("queries.aio.authors")
    a = await q.create_plain_author(daconn, name="abatch")
    await books.add_books(daconn, [books.AddBooksParams(a, "x"), books.AddBooksParams(a, "y")])
    many = await books.books_of_author(daconn, [books.BooksOfAuthorParams(a)])
    assert [b.title for b in many[0]] == ["x", "y"]
    assert await books.book_title(daconn, [books.BookTitleParams(many[0][0].id)]) == ["x"]


def test_iter_streams_from_a_server_side_cursor(dialect: Generated, dialect_db: str) -> None:
    q = dialect.module("queries.authors")
    with psycopg.connect(dialect_db, autocommit=True) as conn:
        first = q.create_plain_author(conn, name="s0")
        try:
            for i in range(1, 5):
                q.create_plain_author(conn, name=f"s{i}")
            it = q.stream_authors(conn, min_id=first)
            row = next(it)
            assert row.name == "s0"
            # the cursor lives on the server while we iterate
            open_cursors = conn.execute("SELECT count(*) FROM pg_cursors").fetchone()
            assert open_cursors == (1,)
            assert [r.name for r in it] == ["s1", "s2", "s3", "s4"]
            assert conn.execute("SELECT count(*) FROM pg_cursors").fetchone() == (0,)
        finally:
            conn.execute("DELETE FROM author WHERE id >= %s", (first,))


def test_iter_inside_an_open_transaction(dialect: Generated, dconn: Conn) -> None:
    q = dialect.module("queries.authors")
    first = _author(dialect, dconn, "t0")
    _author(dialect, dconn, "t1")
    assert [r.name for r in q.stream_authors(dconn, min_id=first)] == ["t0", "t1"]
    # two interleaved iterations neither clash on the cursor name nor nest transactions
    a, b = q.stream_authors(dconn, min_id=first), q.stream_authors(dconn, min_id=first)
    assert [(x.name, y.name) for x, y in zip(a, b, strict=True)] == [("t0", "t0"), ("t1", "t1")]


async def test_iter_async(dialect: Generated, daconn: psycopg.AsyncConnection[Any]) -> None:
    q = dialect.module("queries.aio.authors")
    first = await q.create_plain_author(daconn, name="as0")
    await q.create_plain_author(daconn, name="as1")
    assert [r.name async for r in q.stream_authors(daconn, min_id=first)] == ["as0", "as1"]


def test_generated_package_passes_ruff_and_mypy(dialect: Generated) -> None:
    dialect.ruff()
    dialect.mypy()


def test_generation_is_deterministic(
    dialect: Generated, dialect_root: Path, tmp_path: Path, pg_server: str
) -> None:
    """A second project with the same inputs, generated from scratch, is byte-identical."""
    for sub in ("schema", "queries"):
        shutil.copytree(dialect_root / sub, tmp_path / sub)
    shutil.copy(dialect_root / "pyproject.toml", tmp_path / "pyproject.toml")
    run_generate(cwd=tmp_path, database_url=pg_server)

    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.py"))}

    assert tree(tmp_path / "out" / "dialectpkg") == tree(dialect.root / "dialectpkg")
