"""A schema that assumes an extension the analyzer's server lacks, without creating it.

TimescaleDB's continuous aggregates are the shape: ``SELECT create_hypertable(…)``, a
materialized view ``WITH (timescaledb.continuous)`` calling ``time_bucket()``, ``ALTER
MATERIALIZED VIEW … SET (timescaledb.…)``. sqlc accepts all of it; the analysis must
too: options in an extension's namespace are left out, a missing function a view
calls gets a stand-in whose result reads as ``Any``, top-level calls are skipped, each
with a warning. On a server that has what the statement needs nothing is changed.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pglast import parse_sql

from multica_db_codegen.analyze.relation_options import namespaced, without_namespaced
from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.processors import run_generate
from tests.dialect.harness import generate, write_project
from tests.pg import fresh_database

Conn = psycopg.Connection[tuple[object, ...]]

TIMESCALE_SCHEMA = """\
CREATE TABLE metric_events (
    id bigserial NOT NULL,
    created_at timestamptz NOT NULL,
    tenant_id uuid NOT NULL,
    succeeded boolean NOT NULL
);

SELECT create_hypertable('metric_events', by_range('created_at'));

CREATE MATERIALIZED VIEW metric_summary
   WITH (timescaledb.continuous)
   AS
      SELECT
        time_bucket('1 minute', created_at) AS minute,
        tenant_id,
        count(*) FILTER (WHERE succeeded) AS succeeded_count
      FROM metric_events
      GROUP BY minute, tenant_id;

ALTER MATERIALIZED VIEW metric_summary SET (timescaledb.materialized_only = true);

SELECT add_continuous_aggregate_policy('metric_summary',
  start_offset => NULL,
  end_offset => INTERVAL '15 minutes');
"""

TIMESCALE_QUERIES = """\
-- name: Buckets :many
SELECT
    time_bucket(COALESCE(sqlc.narg('width')::interval, '1 minute'), minute) AS bucket,
    sum(succeeded_count)::int AS succeeded
FROM metric_summary
WHERE tenant_id = @tenant::uuid AND minute > @after::timestamptz
GROUP BY bucket
ORDER BY bucket;

-- name: Minutes :many
SELECT minute, succeeded_count FROM metric_summary WHERE minute < @before::timestamptz;

-- name: Hourly :many
SELECT minute::timestamptz AS at, succeeded_count FROM metric_summary ORDER BY at;
"""


@pytest.fixture
def scratch(pg_server: str) -> Iterator[Conn]:
    with (
        fresh_database(pg_server, prefix="multica_extschema") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        yield conn


def _column_types(conn: Conn, relation: str) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
        (relation,),
    ).fetchall()


def test_a_timescale_schema_generates_with_warnings(tmp_path: Path, pg_server: str) -> None:
    write_project(
        tmp_path,
        schema={"schema.sql": TIMESCALE_SCHEMA},
        queries={"q.sql": TIMESCALE_QUERIES},
        package="tsdb",
    )
    result = run_generate(cwd=tmp_path, database_url=pg_server)
    schema_file = tmp_path / "schema" / "schema.sql"
    notes = [w.removeprefix(f"{schema_file}:") for w in result.warnings if "schema.sql:" in w]
    assert notes == [
        "8: function by_range(unknown) does not exist: statement skipped (a query: it "
        "defines nothing queries see, and sqlc reads none)",
        "10: time_bucket(unknown, timestamp with time zone) does not exist: a stand-in "
        "returning an unknown type was created (sqlc types these columns any; so does "
        "the analysis)",
        '10: unrecognized parameter namespace "timescaledb": option timescaledb.continuous '
        "left out (an extension's storage parameter; sqlc reads none, and no column changes)",
        '20: unrecognized parameter namespace "timescaledb": option '
        "timescaledb.materialized_only left out (an extension's storage parameter; sqlc "
        "reads none, and no column changes); nothing else is left: statement skipped",
        "22: function add_continuous_aggregate_policy(unknown, start_offset => unknown, "
        "end_offset => interval) does not exist: statement skipped (a query: it defines "
        "nothing queries see, and sqlc reads none)",
    ]
    gen = generate(tmp_path, pg_server, "tsdb")
    models = gen.module("models")
    fields = models.MetricSummary.model_fields
    assert str(fields["minute"].annotation) == "typing.Any | None"
    assert fields["succeeded_count"].annotation == int | None
    queries = gen.module("queries.q")
    assert str(queries.BucketsRow.model_fields["bucket"].annotation) == "typing.Any | None"
    assert queries.BucketsRow.model_fields["succeeded"].annotation is int
    assert str(queries.MinutesRow.model_fields["minute"].annotation) == "typing.Any"
    # cast, the stand-in's column has the type it is cast to
    assert queries.HourlyRow.model_fields["at"].annotation == datetime.datetime | None
    gen.mypy()
    gen.ruff()


def test_nothing_changes_where_the_server_has_the_function(tmp_path: Path, scratch: Conn) -> None:
    scratch.execute(
        "CREATE FUNCTION time_bucket(text, timestamptz) RETURNS timestamptz "
        "LANGUAGE sql AS $$ SELECT date_trunc('minute', $2) $$"
    )
    path = tmp_path / "s.sql"
    path.write_text(TIMESCALE_SCHEMA.replace("WITH (timescaledb.continuous)", ""))
    notes = apply_schema(scratch, load_schema([path]))
    assert not any("stand-in" in n for n in notes)
    assert _column_types(scratch, "metric_summary")[0] == ("minute", "timestamp with time zone")
    found = scratch.execute(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'multica_db_standin'"
    ).fetchone()
    assert found == (0,)


# Citus's columnar storage: its own namespace, beside PostgreSQL's options and a view
# calling one of its functions.
CITUS_SCHEMA = """\
CREATE TABLE events (id bigint NOT NULL, payload jsonb)
    WITH (fillfactor = 90, columnar.compression = zstd);
ALTER TABLE events SET (columnar.stripe_row_limit = 1000, autovacuum_enabled = false);
CREATE VIEW event_shards AS
    SELECT id, get_shard_id_for_distribution_column('events', id) AS shard FROM events;
"""


def test_another_extension_keeps_what_postgresql_knows(tmp_path: Path, scratch: Conn) -> None:
    path = tmp_path / "s.sql"
    path.write_text(CITUS_SCHEMA)
    notes = apply_schema(scratch, load_schema([path]))
    assert len(notes) == 3
    assert "option columnar.compression left out" in notes[0]
    assert "option columnar.stripe_row_limit left out" in notes[1]
    assert notes[2].endswith(
        "get_shard_id_for_distribution_column(unknown, bigint) does not exist: a stand-in "
        "returning an unknown type was created (sqlc types these columns any; so does the "
        "analysis)"
    )
    options = scratch.execute("SELECT reloptions FROM pg_class WHERE relname = 'events'")
    assert options.fetchone() == (["fillfactor=90", "autovacuum_enabled=false"],)
    assert _column_types(scratch, "event_shards") == [
        ("id", "bigint"),
        ("shard", "multica_db_standin.unknown_result"),
    ]


#: options PostgreSQL knows for a table, with a value each
_OWN = ["fillfactor = 70", "autovacuum_enabled = false", "toast.autovacuum_enabled = true",
        "parallel_workers = 2"]  # fmt: skip


@st.composite
def option_lists(draw: st.DrawFn) -> list[str]:
    own = draw(st.lists(st.sampled_from(_OWN), unique=True, max_size=3))
    ext = draw(
        st.lists(
            st.tuples(st.sampled_from(["timescaledb", "citus", "ext_x"]), st.integers(0, 9)),
            unique=True,
            max_size=3,
        )
    )
    items = own + [f"{ns}.opt{i} = {i}" if i % 2 else f"{ns}.flag{i}" for ns, i in ext]
    return draw(st.permutations(items)) if items else []


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(options=option_lists())
def test_only_the_extension_options_are_left_out(
    tmp_path: Path, scratch: Conn, options: list[str]
) -> None:
    scratch.execute("DROP TABLE IF EXISTS t")
    with_clause = f" WITH ({', '.join(options)})" if options else ""
    sql = f"CREATE TABLE t (a int){with_clause};\n"
    path = tmp_path / "t.sql"
    path.write_text(sql)
    notes = apply_schema(scratch, load_schema([path]))

    own = sorted(o.replace(" ", "") for o in options if o in _OWN and not o.startswith("toast"))
    row = scratch.execute("SELECT reloptions FROM pg_class WHERE relname = 't'").fetchone()
    assert row is not None
    assert sorted(row[0] or []) == own
    ext = [o.split(" ")[0] for o in options if o not in _OWN]
    if not ext:
        assert notes == []
        return
    (note,) = notes
    assert f"option {', '.join(ext)} left out" in note
    # what stays is byte for byte the file's: only the options (and their commas) blanked
    node = parse_sql(sql)[0].stmt
    blanked = without_namespaced(sql, node, {n.split(".")[0] for n in namespaced(node)} - {"toast"})
    assert blanked is not None and len(blanked) == len(sql)
    assert all(b in (a, " ") for a, b in zip(sql, blanked, strict=True))


def test_a_wrong_signature_of_an_existing_function_stays_an_error(
    tmp_path: Path, scratch: Conn
) -> None:
    path = tmp_path / "s.sql"
    path.write_text(
        "CREATE TABLE a (id int);\nCREATE MATERIALIZED VIEW v AS SELECT lower(id, id) FROM a;\n"
    )
    with pytest.raises(GenerateError, match="function lower"):
        apply_schema(scratch, load_schema([path]))
    found = scratch.execute("SELECT to_regclass('v') IS NULL").fetchone()
    assert found == (True,)
