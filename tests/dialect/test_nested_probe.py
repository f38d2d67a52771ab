"""Shapes a held-out-style project showed wrong: array dimensions written in the SQL,
batches of jsonb-as-model values under ruff's own defaults, parameters compared with a
jsonb-as-model column, lists of numbers compared with integer[] columns."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dialect.harness import Generated, database_with, generate, write_project

Conn = psycopg.Connection[Any]

SCHEMA = """
CREATE TYPE money2 AS (amount numeric, cur text);

CREATE TABLE tickets (
    id bigserial PRIMARY KEY,
    meta jsonb,
    grid integer[][],
    watchers bigint[],
    weights real[],
    extra jsonb,
    price numeric,
    cost money2,
    steps numeric[],
    wait interval,
    at timetz
);
"""

QUERIES = """
-- name: SetMeta :batchone
UPDATE tickets SET meta = @meta WHERE id = @id RETURNING id, meta;

-- name: TicketsByIds :batchmany
SELECT id FROM tickets WHERE id = ANY(@ids::bigint[]);

-- name: Literals :one
SELECT ARRAY[[1, 2], [3, NULL]] AS m, '{{a}}'::text[][] AS t, ARRAY[ARRAY['x']]::text[] AS c,
       COALESCE(NULL, ARRAY[[1.5]]) AS n,
       jsonb_build_object('m', ARRAY[[1.5]], 'n', '{{{1}}}'::int[][][], 'flat', ARRAY[1]) AS j;

-- name: TicketsByMeta :many
SELECT t.id FROM tickets t WHERE t.meta = @meta OR meta IN (@a, @b) ORDER BY t.id;

-- name: TicketsByGrid :many
SELECT id FROM tickets WHERE grid = @grid ORDER BY id;

-- name: TicketsWatchedBy :many
SELECT id FROM tickets WHERE watchers && @uids OR weights @> @weights ORDER BY id;

-- name: BatchWatchedBy :batchmany
SELECT id FROM tickets WHERE watchers @> @uids ORDER BY id;

-- name: CopyTickets :copyfrom
INSERT INTO tickets (meta, grid, watchers, weights) VALUES ($1, $2, $3, $4);

-- name: StackedWatchers :one
SELECT array_agg(t.watchers ORDER BY t.id) AS stacked, ARRAY[t2.watchers] AS wrapped,
       json_build_object('stacked', array_agg(t.watchers ORDER BY t.id),
                         'grids', array_agg(t.grid)) AS j
FROM tickets t, tickets t2 WHERE t2.id = @id GROUP BY t2.watchers;

-- name: EmbedBuiltJson :many
WITH agg AS (
    SELECT t.id, json_agg(t.watchers) AS lists, jsonb_build_object('meta', t.meta) AS doc
    FROM tickets t GROUP BY t.id
)
SELECT sqlc.embed(a), sqlc.embed(l)
FROM tickets t
LEFT JOIN agg a ON a.id = t.id AND t.meta IS NOT NULL
LEFT JOIN LATERAL (SELECT json_build_object('w', t.watchers) AS w) l ON true
ORDER BY t.id;

-- name: AllTickets :one
SELECT json_agg(t ORDER BY t.id) AS ts,
       jsonb_build_object('one', (SELECT t2 FROM tickets t2 LIMIT 1)) AS j
FROM tickets t;

-- name: TicketsFlat :many
SELECT * FROM tickets ORDER BY id;

-- name: WindowAggregates :many
SELECT t.id,
       json_agg(t.watchers) OVER (ORDER BY t.id) AS so_far,
       json_agg(t) OVER (ORDER BY t.id ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS prev,
       jsonb_object_agg(t.id, t.meta) OVER () AS metas
FROM tickets t ORDER BY t.id;

-- name: WindowOverGroups :many
SELECT t.meta IS NULL AS bare, count(*) AS n,
       jsonb_agg(jsonb_build_object('bare', t.meta IS NULL, 'n', count(*))) OVER () AS every
FROM tickets t GROUP BY t.meta IS NULL ORDER BY 1;

-- name: ModelNames :one
SELECT 1 AS model_dump_count, 2 AS model_name, json_build_object('model_validate', 3) AS j;

-- name: SetCost :one
UPDATE tickets SET cost = @cost, steps = @steps WHERE id = @id RETURNING *;

-- name: SetWatchers :one
UPDATE tickets SET watchers = @watchers WHERE id = @id RETURNING watchers;

-- name: TicketsContaining :many
SELECT id FROM tickets WHERE meta @> @part OR (sqlc.narg(m)::jsonb IS NULL OR meta = sqlc.narg(m));

-- name: GridJson :one
SELECT @grid::int[][] AS flat, json_build_object('grid', @grid::int[][]) AS j;
"""

TYPES = """
import pydantic


class Meta(pydantic.BaseModel):
    source: str
"""

OVERRIDES = """
[[tool.multica-db.overrides]]
column = "tickets.meta"
python_type = "probe_types.Meta"
"""


@pytest.fixture(scope="module")
def probe_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nestedprobe")
    write_project(
        root,
        schema={"001_init.up.sql": SCHEMA},
        queries={"tickets.sql": QUERIES},
        package="probepkg",
        extra_toml=OVERRIDES,
    )
    (root / "out").mkdir()
    (root / "out" / "probe_types.py").write_text(TYPES)
    return root


@pytest.fixture(scope="module")
def probe(probe_root: Path, pg_server: str) -> Generated:
    return generate(probe_root, pg_server, "probepkg")


@pytest.fixture(scope="module")
def probe_db(probe_root: Path, pg_server: str) -> Iterator[str]:
    with database_with(pg_server, [probe_root / "schema"]) as url:
        yield url


@pytest.fixture
def conn(probe_db: str) -> Iterator[Conn]:
    with psycopg.connect(probe_db) as c:
        try:
            yield c
        finally:
            c.rollback()


def test_passes_mypy_and_ruffs_own_defaults(probe: Generated) -> None:
    """``list([...])`` of a batch's dumped parameters was flake8-comprehensions' C411,
    which ruff's defaults select: a project without ruff settings saw it."""
    probe.mypy()
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--extend-select", "C4"],
        cwd=probe.root / probe.package,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    probe.ruff()


def test_batches_of_models(probe: Generated, conn: Conn) -> None:
    q = probe.module("queries.tickets")
    meta = sys.modules["probe_types"].Meta
    a = conn.execute("INSERT INTO tickets DEFAULT VALUES RETURNING id").fetchone()
    assert a is not None
    got = q.set_meta(conn, [(meta(source="x"), a[0]), (None, -1)])
    assert got[0] is not None and got[0].meta == meta(source="x") and got[1] is None
    assert q.tickets_by_ids(conn, [([a[0]],), ([],)]) == [[a[0]], []]


def test_array_dimensions_written_in_the_sql(probe: Generated, conn: Conn) -> None:
    """PostgreSQL describes ``ARRAY[[1, 2]]`` as ``integer[]``; nested constructors and
    casts to ``int[][]`` say it has two dimensions, flat and inside JSON."""
    q = probe.module("queries.tickets")
    row = q.literals(conn)
    assert row.m == [[1, 2], [3, None]]
    assert row.t == [["a"]] and row.c == [["x"]] and row.n == [[Decimal("1.5")]]
    assert row.j.m == [[Decimal("1.5")]] and row.j.n == [[[1]]] and row.j.flat == [1]
    fields = q.LiteralsRow.model_fields
    assert fields["m"].annotation == list[list[int | None]]
    assert fields["c"].annotation == list[list[str | None]]
    assert q.LiteralsJ.model_fields["n"].annotation == list[list[list[int | None]]]


grids = st.integers(1, 4).flatmap(
    lambda width: st.lists(
        st.lists(st.none() | st.integers(-(2**31), 2**31 - 1), min_size=width, max_size=width),
        min_size=1,
        max_size=4,
    )
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(grid=grids)
def test_a_cast_parameters_dimensions_inside_json(
    probe: Generated, conn: Conn, grid: list[list[int | None]]
) -> None:
    q = probe.module("queries.tickets")
    row = q.grid_json(conn, grid=grid)
    assert row.flat == grid
    assert row.j.grid == grid


def test_parameters_compared_with_an_overridden_column_are_its_type(
    probe: Generated, conn: Conn
) -> None:
    """``WHERE meta = @meta`` (and ``IN (@a, @b)``) on a jsonb column read as the user's
    model takes that model, dumped as in an INSERT (it was ``pydantic.JsonValue``, and a
    model passed anyway could not be sent)."""
    q = probe.module("queries.tickets")
    meta = sys.modules["probe_types"].Meta
    for name in ("meta", "a", "b"):
        assert q.tickets_by_meta.__annotations__[name] == "probe_types.Meta"
    assert q.tickets_by_grid.__annotations__["grid"] == "list[list[int]]"
    # containment takes a part of a value: plain JSON; = takes the model (None: not given)
    assert q.tickets_containing.__annotations__["part"] == "pydantic.JsonValue"
    assert q.tickets_containing.__annotations__["m"] == "probe_types.Meta | None"
    a = conn.execute("""INSERT INTO tickets (meta) VALUES ('{"source": "x"}') RETURNING id""")
    got = a.fetchone()
    assert got is not None
    assert q.tickets_by_meta(
        conn, meta=meta(source="x"), a=meta(source="y"), b=meta(source="z")
    ) == [got[0]]
    assert q.tickets_by_meta(
        conn, meta=meta(source="q"), a=meta(source="y"), b=meta(source="x")
    ) == [got[0]]


int_lists = st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), max_size=5)
real_lists = st.lists(
    st.none() | st.floats(width=32, allow_nan=False) | st.integers(-1000, 1000), max_size=4
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(watchers=int_lists, uids=int_lists, weights=real_lists, grid=grids)
def test_lists_of_numbers_compare_with_integer_and_real_arrays(
    probe: Generated,
    conn: Conn,
    watchers: list[int | None],
    uids: list[int | None],
    weights: list[float | None],
    grid: list[list[int | None]],
) -> None:
    """psycopg sends ``[1, 2]`` as ``smallint[]`` (typed by the values), which
    PostgreSQL will not compare with ``bigint[]`` (``&&``, ``@>``, ``=``: no such operator):
    the generated call and batch send such lists for the server to type, as analysis saw
    them; COPY stays binary with the columns' types."""
    q = probe.module("queries.tickets")
    conn.execute("DELETE FROM tickets")
    q.copy_tickets(conn, [(None, grid, watchers, weights)])
    (tid,) = conn.execute("SELECT id FROM tickets").fetchone() or (None,)
    want = conn.execute(
        "SELECT id FROM tickets WHERE watchers && %s::bigint[] OR weights @> %s::real[]",
        (uids, [None if w is None else float(w) for w in weights]),  # psycopg: no mixed lists
    ).fetchall()
    assert q.tickets_watched_by(conn, uids=uids, weights=weights) == [r[0] for r in want]
    assert q.tickets_by_grid(conn, grid=grid) == [tid]

    def contains(uids: list[int | None]) -> list[int]:
        sql = "SELECT id FROM tickets WHERE watchers @> %s::bigint[]"
        return [r[0] for r in conn.execute(sql, (uids,)).fetchall()]

    assert q.batch_watched_by(conn, [(watchers,), (uids,), ([],)]) == [
        contains(watchers),
        contains(uids),
        [tid],
    ]


def test_array_agg_of_array_columns_stacks_a_dimension(probe: Generated, conn: Conn) -> None:
    """``array_agg`` of an array column is one dimension more than the column (PostgreSQL
    describes both as ``bigint[]``); ``ARRAY[col]`` too."""
    q = probe.module("queries.tickets")
    conn.execute("DELETE FROM tickets")
    row = conn.execute(
        "INSERT INTO tickets (watchers, grid) VALUES ('{1,NULL}', '{{1}}'), ('{3,4}', '{{2}}') "
        "RETURNING id"
    ).fetchall()
    got = q.stacked_watchers(conn, id=row[0][0])
    assert got is not None
    assert got.stacked == [[1, None], [3, 4]] and got.wrapped == [[1, None]]
    assert got.j.stacked == [[1, None], [3, 4]]
    assert sorted(got.j.grids) == [[[1]], [[2]]]
    assert q.StackedWatchersRow.model_fields["stacked"].annotation == list[list[int | None]]
    assert q.StackedWatchersJ.model_fields["grids"].annotation == list[list[list[int | None]]]


def test_json_built_in_an_embedded_cte_or_subquery_keeps_its_shape(
    probe: Generated, conn: Conn
) -> None:
    """``sqlc.embed(a)`` of a CTE whose columns build JSON: each is typed as it would be
    selected by name (it was ``pydantic.JsonValue``)."""
    q = probe.module("queries.tickets")
    meta = sys.modules["probe_types"].Meta
    conn.execute("DELETE FROM tickets")
    conn.execute(
        """INSERT INTO tickets (meta, watchers) VALUES ('{"source": "s"}', '{1,NULL}'), """
        "(NULL, NULL)"
    )
    rows = q.embed_built_json(conn)
    assert rows[0].a is not None and rows[0].a.lists == [[1, None]]
    assert rows[0].a.doc.meta == meta(source="s") and rows[1].a is None
    assert rows[0].l_.w.w == [1, None] and rows[1].l_.w.w is None
    assert q.EmbedBuiltJsonA.model_fields["lists"].annotation == list[list[int | None] | None]


#: what jsonb stores: no NUL, no lone surrogate
json_text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=5
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_text, inner),
    max_leaves=6,
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    extra=json_values,
    price=st.decimals(places=3, min_value=-(10**8), max_value=10**8),
    wait=st.timedeltas(min_value=-timedelta(days=10**5), max_value=timedelta(days=10**5)),
    at=st.times(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3.5))])),
)
def test_json_agg_of_a_table_with_jsonb_columns_is_the_tables_model(
    probe: Generated, conn: Conn, extra: Any, price: Decimal, wait: timedelta, at: time
) -> None:
    """``json_agg(t)`` of a table with jsonb columns (plain, and read as the user's model),
    an interval and a timetz decodes as the table's own model — equal to the flat row —
    where it used to be a look-alike model of the query's own (the numeric beside them
    makes numbers parse as ``Decimal``; the jsonb fields read them back as floats, as a
    flat jsonb column does)."""
    from psycopg.types.json import Jsonb

    q = probe.module("queries.tickets")
    models = probe.module("models")
    conn.execute("DELETE FROM tickets")
    conn.execute(
        """INSERT INTO tickets (meta, extra, price, weights, wait, at) VALUES """
        """('{"source": "é"}', %s, %s, '{1.5,NULL}', %s, %s), """
        "(NULL, NULL, NULL, NULL, NULL, NULL)",
        (Jsonb(extra), price, wait, at),
    )
    flat = q.tickets_flat(conn)
    got = q.all_tickets(conn)
    assert q.AllTicketsRow.model_fields["ts"].annotation == list[models.Ticket] | None
    assert got.ts == flat
    assert all(type(t) is models.Ticket for t in got.ts or [])
    assert got.j.one == flat[0] or got.j.one == flat[1]
    # the model's own JSON (ISO 8601 intervals) reads back as it was
    assert models.Ticket.model_validate_json(flat[0].model_dump_json()) == flat[0]


def test_window_json_aggregates_are_typed(probe: Generated, conn: Conn) -> None:
    """``json_agg(x) OVER (…)`` is what ``json_agg(x)`` is, its argument read from the rows
    the statement makes (grouped when it groups); NULL only when its frame can be empty
    (it was ``pydantic.JsonValue``)."""
    q = probe.module("queries.tickets")
    models = probe.module("models")
    meta = sys.modules["probe_types"].Meta
    conn.execute("DELETE FROM tickets")
    conn.execute(
        """INSERT INTO tickets (meta, watchers) VALUES ('{"source": "s"}', '{1}'), """
        "(NULL, NULL), (NULL, '{}')"
    )
    rows = q.window_aggregates(conn)
    assert [r.so_far for r in rows] == [[[1]], [[1], None], [[1], None, []]]
    assert rows[0].prev is None and rows[1].prev == [q.tickets_flat(conn)[0]]
    assert rows[0].metas == {
        str(rows[0].id): meta(source="s"),
        **{str(r.id): None for r in rows[1:]},
    }
    fields = q.WindowAggregatesRow.model_fields
    assert fields["so_far"].annotation == list[list[int | None] | None]
    assert fields["prev"].annotation == list[models.Ticket] | None
    grouped = q.window_over_groups(conn)
    assert [(g.bare, g.n) for g in grouped] == [(False, 1), (True, 2)]
    assert sorted((e.bare, e.n) for e in grouped[0].every) == [(False, 1), (True, 2)]


def test_fields_named_model_dont_warn(probe: Generated) -> None:
    """A column ``model_dump_count`` (``model_dump_count_``) or a JSON key ``model_validate``
    is in pydantic's protected namespaces, which warned at import (an error under
    ``-W error``); the models that have one turn them off."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import probepkg.queries.tickets"],
        cwd=probe.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    q = probe.module("queries.tickets")
    from psycopg import connect  # noqa: F401  (the module imports)

    row = q.ModelNamesRow
    assert set(row.model_fields) == {"model_dump_count_", "model_name_", "j"}
    assert q.ModelNamesJ.model_fields["model_validate_"].alias == "model_validate"


@pytest.mark.parametrize("special", ["NaN", "Infinity", "-Infinity"])
def test_numeric_nan_and_infinities_in_models(probe: Generated, conn: Conn, special: str) -> None:
    """PostgreSQL's numeric has NaN and ±Infinity: a composite's model holding one can be
    built to be sent, and a table's model decodes one from JSON (pydantic's Decimal
    refused both: 'Input should be a finite number')."""
    q = probe.module("queries.tickets")
    models = probe.module("models")
    conn.execute("DELETE FROM tickets")
    made = conn.execute("INSERT INTO tickets (price) VALUES (%s) RETURNING id", (special,))
    (tid,) = made.fetchone() or (None,)
    value = Decimal(special)
    cost = models.Money2(amount=value, cur="€")
    row = q.set_cost(conn, cost=cost, steps=[value, None, Decimal("1.0")], id=tid)
    assert row is not None and row.cost is not None and row.cost.amount is not None
    got = q.all_tickets(conn)
    assert got.ts is not None
    for t in (row, got.ts[0]):
        assert t.cost is not None and t.cost.amount is not None and t.steps is not None
        assert str(t.cost.amount) == str(value) and str(t.steps[0]) == str(value)
        assert t.steps[1:] == [None, Decimal("1.0")]
    assert str(got.ts[0].price) == str(value)


def test_a_list_nested_deeper_than_declared_is_a_sub_array(probe: Generated, conn: Conn) -> None:
    """A column declared ``bigint[]`` holds arrays of any dimensions (PostgreSQL does not
    enforce them): a nested list sent for it is a sub-array, as psycopg would send it."""
    q = probe.module("queries.tickets")
    made = conn.execute("INSERT INTO tickets DEFAULT VALUES RETURNING id").fetchone()
    assert made is not None
    grid: Any = [[1, None], [2**62, -3]]
    got = q.set_watchers(conn, watchers=grid, id=made[0])
    assert got is not None and got.watchers == grid
    assert q.set_watchers(conn, watchers=[], id=made[0]).watchers == []
