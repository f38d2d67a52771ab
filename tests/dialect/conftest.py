"""One generated package shared by the dialect tests: generating costs a second or two."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.dialect.harness import Generated, database_with, generate, write_project
from tests.pg import require_extensions

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE SCHEMA billing;
CREATE TYPE mood AS ENUM ('happy', 'sad', 'so-so', 'very "odd", really');
CREATE TYPE billing.plan AS ENUM ('free', 'pro');
CREATE DOMAIN positive_int AS integer NOT NULL DEFAULT 1 CHECK (VALUE > 0);
CREATE DOMAIN email AS citext;
CREATE TYPE address AS (street text, number int, tags text[], moods mood[]);
CREATE TYPE geo AS (home address, seen_at timestamptz, score numeric);
CREATE TYPE prefs AS (
    flags jsonb, enabled boolean, during tstzrange, homes address[], blob bytea, wait interval
);

CREATE TABLE author (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email email,
    mood mood NOT NULL DEFAULT 'happy',
    moods mood[] NOT NULL DEFAULT '{}',
    stars positive_int,
    addr address,
    addrs address[],
    attrs hstore,
    path ltree,
    nick citext,
    during tstzrange,
    slots int4multirange,
    meta jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE book (
    id bigserial PRIMARY KEY,
    author_id bigint REFERENCES author (id),
    title text NOT NULL,
    price numeric(10, 2) NOT NULL DEFAULT 0
);

CREATE TABLE billing.account (
    id serial PRIMARY KEY,
    plan billing.plan NOT NULL,
    plans billing.plan[] NOT NULL DEFAULT '{}',
    owner_id bigint REFERENCES author (id)
);

CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE TABLE measure (
    id serial PRIMARY KEY,
    span floatrange NOT NULL,
    spans floatmultirange
);

CREATE TABLE event (
    id uuid PRIMARY KEY,
    at timestamptz NOT NULL,
    tags text[] NOT NULL,
    data jsonb,
    ok boolean NOT NULL,
    n bigint,
    stars positive_int
);

CREATE VIEW author_names AS SELECT id, name FROM author;
CREATE MATERIALIZED VIEW book_counts AS
    SELECT author_id, count(*) AS n FROM book GROUP BY author_id;

CREATE FUNCTION books_of(a bigint) RETURNS SETOF book
    LANGUAGE sql STABLE AS $$ SELECT * FROM book WHERE author_id = a ORDER BY id $$;

CREATE FUNCTION book_of_id(i bigint) RETURNS book
    LANGUAGE sql STABLE AS $$ SELECT * FROM book WHERE id = i $$;

CREATE FUNCTION author_stats(min_books int)
    RETURNS TABLE (author_id bigint, books bigint) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
        SELECT b.author_id, count(*) FROM book b
        GROUP BY b.author_id HAVING count(*) >= min_books ORDER BY 1;
END
$$;
"""

AUTHORS = """
-- name: CreateAuthor :one
INSERT INTO author (
    name, email, mood, moods, stars, addr, addrs, attrs, path, nick, during, slots, meta
) VALUES (
    @name, @email, @mood, @moods, @stars, @addr, @addrs, @attrs, @path, @nick, @during, @slots,
    @meta
)
RETURNING *;

-- name: CreatePlainAuthor :one
INSERT INTO author (name) VALUES ($1) RETURNING id;

-- name: GetAuthor :one
SELECT * FROM author WHERE id = $1;

-- name: AuthorsByMoods :many
SELECT id, name, mood FROM author WHERE mood = ANY(@moods::mood[]) ORDER BY id;

-- name: AuthorsWithAllMoods :many
SELECT id FROM author WHERE moods @> @moods ORDER BY id;

-- name: AuthorMoods :one
SELECT moods FROM author WHERE id = $1;

-- name: AuthorAddress :one
SELECT addr FROM author WHERE id = $1;

-- name: AuthorGeo :one
SELECT row(addr, '2024-05-06 07:08:09+00', 1.5)::geo AS geo FROM author WHERE id = $1;

-- name: EchoPrefs :one
SELECT @p::prefs AS p;

-- name: AuthorsAt :many
SELECT id FROM author WHERE addr = @addr::address ORDER BY id;

-- name: AuthorStars :one
SELECT stars FROM author WHERE id = $1;

-- name: SetAttrs :execresult
UPDATE author SET attrs = @attrs WHERE id = @id;

-- name: StreamAuthors :iter
SELECT id, name FROM author WHERE id >= @min_id ORDER BY id;

-- name: CopyAuthors :copyfrom
INSERT INTO author (name, mood, moods) VALUES ($1, $2, $3);
"""

BOOKS = """
-- name: CopyBooks :copyfrom
INSERT INTO book (author_id, title, price) VALUES ($1, $2, $3);

-- name: CopyBooksSwapped :copyfrom
INSERT INTO book (title, author_id) VALUES ($2, $1);

-- name: AddBooks :batchexec
INSERT INTO book (author_id, title) VALUES ($1, $2);

-- name: BookTitle :batchone
SELECT title FROM book WHERE id = $1;

-- name: BooksOfAuthor :batchmany
SELECT * FROM book WHERE author_id = $1 ORDER BY id;

-- name: RenameBooks :batchone
UPDATE book SET title = @title WHERE id = @id RETURNING id, title;

-- name: BooksWithAuthor :many
SELECT sqlc.embed(b), sqlc.embed(a), b.price * 2 AS double_price
FROM book b LEFT JOIN author a ON a.id = b.author_id
ORDER BY b.id;

-- name: AuthorsAndBooks :many
SELECT a.id, a.name, sqlc.embed(b)
FROM author a LEFT JOIN book b ON b.author_id = a.id
WHERE a.id = ANY(@ids::bigint[])
ORDER BY a.id, b.id;

-- name: StarThenEmbed :many
SELECT *, sqlc.embed(b) FROM author a JOIN book b ON b.author_id = a.id ORDER BY b.id;

-- name: EmbedThenStar :many
SELECT sqlc.embed(b), * FROM author a JOIN book b ON b.author_id = a.id ORDER BY b.id;

-- name: WholeRows :many
SELECT b, a FROM book b LEFT JOIN author a ON a.id = b.author_id
WHERE b.id = ANY(@ids::bigint[]);

-- name: BookAsValue :one
SELECT book_of_id(@id);

-- name: BooksWithAuthorName :many
SELECT sqlc.embed(b), sqlc.embed(n) FROM book b JOIN author_names n ON n.id = b.author_id
ORDER BY b.id;

-- name: BooksOf :many
SELECT * FROM books_of($1);

-- name: AuthorStats :many
SELECT * FROM author_stats(@min_books);

-- name: BooksOfNamed :many
SELECT * FROM books_of(a => @author) WHERE title <> $1;

-- name: BooksCalled :many
-- Parameters named like the function's own variables are renamed, never shadowed.
SELECT id FROM book WHERE title = @cur OR title = @row OR title = @value ORDER BY id;

-- name: DeleteBooks :execresult
DELETE FROM book WHERE author_id = $1;
"""

OTHER = """
-- name: CreateAccount :one
INSERT INTO billing.account (plan, plans, owner_id) VALUES ($1, $2, $3) RETURNING *;

-- name: CopyAccounts :copyfrom
INSERT INTO billing.account (plan, plans) VALUES ($1, $2);

-- name: AccountsByPlan :many
SELECT * FROM billing.account WHERE plan = $1 ORDER BY id;

-- name: AccountsWithPlans :many
SELECT id FROM billing.account WHERE plans && @plans::billing.plan[] ORDER BY id;

-- name: AuthorNames :many
SELECT * FROM author_names ORDER BY id;

-- name: BookCounts :many
SELECT * FROM book_counts ORDER BY author_id;

-- name: CreateMeasure :one
INSERT INTO measure (span, spans) VALUES ($1, $2) RETURNING *;

-- name: MeasuresOverlapping :many
SELECT id, span FROM measure WHERE span && @probe::floatrange ORDER BY id;

-- name: CopyEvents :copyfrom
INSERT INTO event (id, at, tags, data, ok, n, stars) VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: Events :many
SELECT * FROM event ORDER BY at;

-- name: RefreshBookCounts :exec
REFRESH MATERIALIZED VIEW book_counts;
"""


@pytest.fixture(scope="session")
def dialect_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dialect")
    write_project(
        root,
        schema={"001_init.up.sql": SCHEMA, "001_init.down.sql": "DROP TABLE book;"},
        queries={"authors.sql": AUTHORS, "books.sql": BOOKS, "other.sql": OTHER},
        package="dialectpkg",
    )
    return root


EXTENSIONS = ("citext", "hstore", "ltree")  # what SCHEMA creates


@pytest.fixture(scope="session")
def dialect(dialect_root: Path, pg_server: str) -> Generated:
    require_extensions(pg_server, *EXTENSIONS)
    return generate(dialect_root, pg_server, "dialectpkg")


@pytest.fixture(scope="session")
def dialect_db(dialect_root: Path, pg_server: str) -> Iterator[str]:
    require_extensions(pg_server, *EXTENSIONS)
    with database_with(pg_server, [dialect_root / "schema"]) as url:
        yield url


@pytest.fixture
def dconn(dialect_db: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection to the dialect database, rolled back after the test."""
    with psycopg.connect(dialect_db) as c:
        try:
            yield c
        finally:
            c.rollback()


@pytest.fixture
async def daconn(dialect_db: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    """The asyncio twin of :func:`dconn`."""
    c = await psycopg.AsyncConnection.connect(dialect_db)
    try:
        yield c
    finally:
        await c.rollback()
        await c.close()
