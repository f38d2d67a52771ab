"""Results shaped like the domain: embeds of every kind, on real PostgreSQL, sync and async."""

from __future__ import annotations

import datetime
import decimal
import typing
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb
from psycopg.types.range import Range

from tests.dialect import nested_project
from tests.dialect.harness import Generated, database_with, generate, write_project

Conn = psycopg.Connection[Any]


@pytest.fixture(scope="module")
def nested_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nested")
    write_project(
        root,
        schema={"001_init.up.sql": nested_project.SCHEMA},
        queries={
            "embeds.sql": nested_project.EMBEDS,
            "json.sql": nested_project.JSON,
            "json_ops.sql": nested_project.JSON_OPS,
            "families.sql": nested_project.FAMILIES,
            "settings.sql": nested_project.SETTINGS,
        },
        package="nestedpkg",
        extra_toml=nested_project.OVERRIDES,
    )
    (root / "out").mkdir()
    (root / "out" / "nested_types.py").write_text(nested_project.TYPES)
    return root


@pytest.fixture(scope="module")
def nested(nested_root: Path, pg_server: str) -> Generated:
    return generate(nested_root, pg_server, "nestedpkg")


@pytest.fixture(scope="module")
def nested_db(nested_root: Path, pg_server: str) -> Iterator[str]:
    with database_with(pg_server, [nested_root / "schema"]) as url:
        yield url


@pytest.fixture
def conn(nested_db: str) -> Iterator[Conn]:
    with psycopg.connect(nested_db) as c:
        try:
            yield c
        finally:
            c.rollback()


@pytest.fixture
async def aconn(nested_db: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    c = await psycopg.AsyncConnection.connect(nested_db)
    try:
        yield c
    finally:
        await c.rollback()
        await c.close()


def _users(conn: Conn) -> tuple[int, int, int]:
    boss = conn.execute("INSERT INTO users (name) VALUES ('boss') RETURNING id").fetchone()
    assert boss is not None
    a = conn.execute(
        "INSERT INTO users (name, manager_id) VALUES ('a', %s) RETURNING id", (boss[0],)
    ).fetchone()
    lone = conn.execute("INSERT INTO users (name) VALUES ('lone') RETURNING id").fetchone()
    assert a is not None and lone is not None
    conn.execute("INSERT INTO posts (user_id, title) VALUES (%s, 'p1'), (%s, 'p2')", (a[0],) * 2)
    return boss[0], a[0], lone[0]


def test_generated_package_type_checks(nested: Generated) -> None:
    nested.mypy()
    nested.ruff()


def test_every_statement_sent_names_its_query(nested: Generated) -> None:
    """Each SQL constant, the COPY a :copyfrom sends included, starts with its
    ``-- name: X :cmd`` line: what the server logs leads back to the function."""
    seen = 0
    for module in ("embeds", "json", "json_ops", "families", "settings"):
        q = nested.module(f"queries.{module}")
        for name, value in vars(q).items():
            if name.isupper() and isinstance(value, str):
                assert value.startswith("-- name: "), (name, value)
                seen += 1
    settings_q = nested.module("queries.settings")
    assert settings_q.COPY_USERS_COPY.startswith("-- name: CopyUsers :copyfrom\nCOPY ")
    assert seen > 30


def test_embed_in_dml_returning(nested: Generated, conn: Conn) -> None:
    m = nested.module("models")
    q = nested.module("queries.embeds")
    _, a, _ = _users(conn)
    renamed = q.rename_user(conn, name="ann", id=a)
    # as sqlc does: a row whose one field is the embedded model
    assert renamed is not None and isinstance(renamed.user, m.User)
    assert renamed.user.name == "ann"
    conn.execute("DELETE FROM posts")
    gone = q.delete_user(conn, id=a)
    assert gone is not None and isinstance(gone.user, m.User)
    assert (gone.user.id, gone.old_name) == (a, "ann")


def test_embed_of_ctes(nested: Generated, conn: Conn) -> None:
    m = nested.module("models")
    q = nested.module("queries.embeds")
    conn.execute(
        "INSERT INTO jobs (name, done, \"from\") VALUES ('a', false, 'x'), ('b', true, NULL), "
        "('c', false, NULL)"
    )
    pending = q.pending_jobs(conn)
    # a CTE whose columns are exactly a table's row nests as the table's model (sqlc
    # matches it by name); another CTE as a row model of its own
    assert [r.job.name for r in pending] == ["a", "c"]
    assert type(pending[0].job) is m.Job
    # a column whose name is a keyword: the JSON object's key still finds its field
    as_json = nested.module("queries.json").jobs_as_json(conn)
    assert as_json is not None and [(j.name, j.from_) for j in as_json] == [
        ("a", "x"),
        ("b", None),
        ("c", None),
    ]
    names = q.pending_job_names(conn)
    assert [(r.t.name, r.one) for r in names] == [("a", 1), ("c", 1)]
    hints = typing.get_type_hints(type(names[0].t))
    assert hints == {"id": int, "name": str}


def test_same_table_twice_and_outer_joins(nested: Generated, conn: Conn) -> None:
    m = nested.module("models")
    q = nested.module("queries.embeds")
    boss, a, lone = _users(conn)
    rows = {r.user.id: r for r in q.user_and_manager(conn)}
    assert rows[a].user_2 is not None and rows[a].user_2.id == boss
    assert rows[boss].user_2 is None and rows[lone].user_2 is None
    hints = typing.get_type_hints(q.UserAndManagerRow)
    assert hints == {"user": m.User, "user_2": m.User | None}
    both = q.managers_and_reports(conn)
    hints = typing.get_type_hints(q.ManagersAndReportsRow)
    assert hints["user"] == m.User | None and hints["user_2"] == m.User | None
    counted = [r for r in both if r.c is not None and r.user is not None and r.user.id == a]
    assert [r.c.n for r in counted] == [2]
    # a star next to embeds of both tables
    ups = q.user_posts(conn)
    assert [(r.user.id, r.post.title, r.title) for r in ups] == [(a, "p1", "p1"), (a, "p2", "p2")]


async def test_embeds_async(nested: Generated, aconn: psycopg.AsyncConnection[Any]) -> None:
    q = nested.module("queries.aio.embeds")
    await aconn.execute("INSERT INTO users (name) VALUES ('x')")
    rows = await q.user_and_manager(aconn)
    assert [(r.user.name, r.user_2) for r in rows] == [("x", None)]


def _posts(conn: Conn) -> tuple[int, int, int]:
    """Two users: ``a`` with two posts (the first one full of values), ``lone`` with none."""
    _, a, lone = _users(conn)
    conn.execute("DELETE FROM posts")
    full = conn.execute(
        """INSERT INTO posts (user_id, title, state, score, ratio, tags, grid, created_at, day,
                              at_time, payload, wait, spot, extra)
           VALUES (%s, 'full', 'published', 1.1000, 0.1, '{x,NULL}', '{{1,2},{3,NULL}}',
                   '2024-02-29 12:34:56.789012+05:30', '2024-02-29', '23:59:59.999999',
                   '\\x00ff', '1 year 2 mons 3 days 04:05:06.5', '(1.5,-2)',
                   '{"f": 0.1, "n": [1, 2.5]}')
           RETURNING id""",
        (a,),
    ).fetchone()
    assert full is not None
    conn.execute(
        "INSERT INTO posts (user_id, title, created_at) VALUES (%s, 'bare', '2030-01-01')", (a,)
    )
    conn.execute(
        "INSERT INTO comments (post_id, body, votes, amount, mood, labels) "
        "VALUES (%s, 'c1', 3, 12345678901234.123456, 'draft', '{a,b}'), (%s, 'c2', NULL, NULL, "
        "NULL, NULL)",
        (full[0], full[0]),
    )
    return a, lone, full[0]


def test_json_agg_decodes_like_a_flat_row(nested: Generated, conn: Conn) -> None:
    m = nested.module("models")
    q = nested.module("queries.json")
    a, lone, full = _posts(conn)
    rows = {r.id: r for r in q.users_with_posts(conn)}
    assert rows[lone].posts is None  # json_agg over no rows is NULL
    posts = rows[a].posts
    assert posts is not None and [p.title for p in posts] == ["full", "bare"]
    # every value as a flat SELECT of the same row gives it
    flat = conn.execute(
        "SELECT id, user_id, title, state, score, ratio, tags, grid, created_at, day, at_time, "
        "payload, wait, spot, extra FROM posts WHERE id = %s",
        (full,),
    ).fetchone()
    assert flat is not None
    got = posts[0]
    assert (got.id, got.user_id, got.title) == flat[:3]
    assert got.state is m.PostState.PUBLISHED
    assert got.score == flat[4] and str(got.score) == "1.1000"  # digits kept exactly
    assert got.ratio == 0.1 and got.tags == ["x", None] and got.grid == [[1, 2], [3, None]]
    assert got.created_at == flat[8] and got.created_at.tzinfo is not None
    assert (got.day, got.at_time, got.payload, got.wait) == flat[9:13]
    assert got.spot == m.Point2(x=1.5, y=-2.0)
    assert got.extra == {"f": 0.1, "n": [1, 2.5]} and isinstance(got.extra["f"], float)
    hints = typing.get_type_hints(q.UsersWithPostsRow)
    assert hints["posts"] == list[q.UsersWithPostsPost] | None
    # COALESCE(…, '[]') makes it not null; an empty list for no rows
    empty = {r.id: r.posts for r in q.users_with_posts_or_empty(conn)}
    assert empty[lone] == [] and len(empty[a]) == 2
    assert (
        typing.get_type_hints(q.UsersWithPostsOrEmptyRow)["posts"]
        == list[q.UsersWithPostsOrEmptyPost]
    )


def test_json_agg_of_a_table_is_its_model(nested: Generated, conn: Conn) -> None:
    m = nested.module("models")
    q = nested.module("queries.json")
    _, _, full = _posts(conn)
    rows = {r.id: r for r in q.posts_with_comments(conn)}
    comments = rows[full].comments
    assert comments is not None and all(type(c) is m.Comment for c in comments)
    assert typing.get_type_hints(q.PostsWithCommentsRow)["comments"] == list[m.Comment] | None
    c1, c2 = comments
    assert c1.amount == decimal.Decimal("12345678901234.123456")  # beyond a float's digits
    assert (c1.votes, c1.mood, c1.labels) == (3, m.PostState.DRAFT, ["a", "b"])
    assert (c2.votes, c2.amount, c2.mood, c2.labels) == (None, None, None, None)
    assert isinstance(c1.at, datetime.datetime)
    # a server-side cursor (:iter) and a pipeline (:batchmany) hand JSON over as text too
    iterated = {r.id: r.comments for r in q.iter_posts_with_comments(conn)}
    assert iterated[full] == comments
    [[batched]] = q.comments_of_posts(conn, [(full,)])
    assert batched.comments == comments
    # array_agg of the row: the same models, through the composite array's text form
    arrays = {r.id: r.comments for r in q.posts_with_comment_array(conn)}
    assert arrays[full] == comments
    # the same rows through a flat query: equal models
    flat = conn.execute("SELECT * FROM comments WHERE id = %s", (c1.id,)).fetchone()
    assert flat is not None and tuple(c1.model_dump().values()) == flat


def test_built_objects_and_row_to_json(nested: Generated, conn: Conn) -> None:
    q = nested.module("queries.json")
    a, lone, full = _posts(conn)
    cards = {r.id: r for r in q.user_cards(conn)}
    card = cards[a]
    assert isinstance(card.uid, uuid.UUID) and card.titles == ["full", "bare"]
    assert card.latest is not None and card.latest.title == "bare"
    assert isinstance(card.latest.at, datetime.datetime) and card.latest.score is None
    assert cards[lone].titles is None and cards[lone].latest is None
    one = q.post_as_json(conn, id=full)
    assert one is not None and one.post.title == "full" and one.author.id == a
    assert one.post.payload == b"\x00\xff"
    grouped = {r.id: r.posts for r in q.users_and_last_post(conn)}
    assert grouped[lone] == [None]  # LEFT JOIN without a match: a JSON null element
    assert [p.title for p in grouped[a] if p is not None] == ["full", "bare"]
    recent = q.posts_of_cte(conn)
    assert recent[0] is not None and [r.title for r in recent[0]] == ["full", "bare"]


def test_json_built_in_a_from_subquery_or_cte(nested: Generated, conn: Conn) -> None:
    """A column read from a LATERAL subquery or a CTE that builds JSON has its shape."""
    q = nested.module("queries.json")
    a, lone, _ = _posts(conn)
    lateral = {r.id: r for r in q.users_with_posts_lateral(conn)}
    posts = lateral[a].posts
    assert posts is not None and [p.title for p in posts] == ["full", "bare"]
    assert lateral[a].titles == ["full", "bare"]
    assert lateral[lone].posts is None and lateral[lone].titles is None
    hints = typing.get_type_hints(q.UsersWithPostsLateralRow)
    assert hints["titles"] == list[str] | None
    assert typing.get_origin(hints["posts"]) is not None  # typed, not plain JSON
    dumped = [p.model_dump() for p in posts]
    subquery = next(r.posts for r in q.users_with_posts(conn) if r.id == a)
    assert [p.model_dump() for p in subquery or ()] == dumped
    of_cte = {r.id: r for r in q.users_with_posts_of_cte(conn)}
    assert lone not in of_cte
    assert [p.model_dump() for p in of_cte[a].posts] == dumped
    assert [p.model_dump() for p in of_cte[a].wrapped.all] == dumped


def test_json_shape_error_names_the_column(nested: Generated) -> None:
    q = nested.module("queries.json")
    from pydantic import TypeAdapter

    runtime = nested.module("runtime")
    decode = runtime.jsonshape.decoder(TypeAdapter(list[q.UsersWithPostsPost]), "posts", exact=True)
    with pytest.raises(runtime.jsonshape.JsonShapeError, match="column 'posts'"):
        decode(b'[{"id": "not a number"}]')


async def test_json_shapes_async(nested: Generated, aconn: psycopg.AsyncConnection[Any]) -> None:
    m = nested.module("models")
    q = nested.module("queries.aio.json")
    row = await aconn.execute("INSERT INTO users (name) VALUES ('x') RETURNING id")
    (uid,) = await row.fetchone() or (0,)
    await aconn.execute("INSERT INTO posts (user_id, title) VALUES (%s, 't')", (uid,))
    post = await aconn.execute("SELECT id FROM posts WHERE user_id = %s", (uid,))
    (pid,) = await post.fetchone() or (0,)
    await aconn.execute("INSERT INTO comments (post_id, body) VALUES (%s, 'hi')", (pid,))
    rows = await q.posts_with_comments(aconn)
    [mine] = [r for r in rows if r.id == pid]
    assert mine.comments is not None and [type(c) for c in mine.comments] == [m.Comment]


_texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_utc = datetime.UTC
_json: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
    max_leaves=8,
)
_row = st.fixed_dictionaries(
    {
        "i2": st.integers(-(2**15), 2**15 - 1),
        "i4": st.integers(-(2**31), 2**31 - 1),
        "i8": st.integers(-(2**63), 2**63 - 1),
        "f4": st.floats(width=32),
        "f8": st.floats(),
        "n": st.decimals(allow_nan=False, allow_infinity=False)
        | st.sampled_from([decimal.Decimal("NaN"), decimal.Decimal("-Infinity")]),
        "b": st.booleans(),
        "t": _texts,
        "u": st.uuids(),
        "d": st.dates(),
        "tm": st.times(),
        "ttz": st.times(
            timezones=st.integers(-14 * 60, 14 * 60).map(
                lambda m: datetime.timezone(datetime.timedelta(minutes=m))
            )
        ),
        "ts": st.datetimes(),
        "tstz": st.datetimes(timezones=st.just(_utc)),
        "iv": st.timedeltas(
            min_value=datetime.timedelta(days=-(10**6)), max_value=datetime.timedelta(days=10**6)
        ),
        "by": st.binary(max_size=16),
        "j": _json,
        "ta": st.lists(st.none() | _texts, max_size=3),
        "ia": st.integers(1, 3).flatmap(
            lambda w: st.lists(
                st.lists(st.none() | st.integers(-5, 5), min_size=w, max_size=w),
                min_size=1,
                max_size=3,
            )
        ),
        "e": st.sampled_from(["draft", "published"]),
        "es": st.lists(st.sampled_from(["draft", "published"]), max_size=3),
        "r": st.tuples(st.integers(-100, 100), st.integers(0, 100)).map(
            lambda p: Range(p[0], p[0] + p[1])
        ),
    }
)


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN included (NaN is what both sides gave)."""
    if isinstance(a, float | decimal.Decimal) and isinstance(b, float | decimal.Decimal):
        return type(a) is type(b) and (a == b or (a != a and b != b)) and str(a) == str(b)
    return type(a) is type(b) and a == b


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=_row,
    nulls=st.sets(
        st.sampled_from(
            sorted(
                _row_keys := "i2 i4 i8 f4 f8 n b t u d tm ttz ts tstz iv by j ta ia e es r".split()  # noqa: SIM905
            )
        )
    ),
)
def test_every_type_family_round_trips_through_json(
    nested: Generated, conn: Conn, values: dict[str, Any], nulls: set[str]
) -> None:
    """A row read through to_jsonb/json_agg equals the same row read flat, value by value,
    type by type: what JSON loses (numerics, timestamps, bytea, intervals…) comes back."""
    q = nested.module("queries.families")
    row = {k: None if k in nulls else v for k, v in values.items()}
    if row["j"] is not None:
        row["j"] = Jsonb(row["j"])
    cols = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    made = conn.execute(
        f"INSERT INTO families ({cols}) VALUES ({marks}) RETURNING id", list(row.values())
    ).fetchone()
    assert made is not None
    flat = q.family_flat(conn, id=made[0])
    built = q.family_json(conn, id=made[0])
    assert flat is not None and built is not None and built.many is not None
    objects = q.family_no_numbers(conn, id=made[0])  # no numbers: pydantic parses the JSON
    assert objects is not None
    # keyed by id, without a key (jsonb's ``-``), an anonymous record's f1, f2, …
    ops = q.family_ops(conn, id=made[0])
    assert ops is not None and ops.keyed is not None and list(ops.keyed) == [str(made[0])]
    assert not hasattr(ops.minus, "id")
    assert all(hasattr(ops.minus, k) for k in _row_keys)
    assert all(hasattr(ops.record, f"f{i}") for i in range(1, len(_row_keys) + 1))
    same = {k: k for k in _row_keys}
    record = {k: f"f{i}" for i, k in enumerate(_row_keys, start=1)}
    for decoded, jsonb, names in (
        (built.one, True, same),
        (built.many[0], False, same),
        (objects[0], False, same),
        (ops.keyed[str(made[0])], True, same),
        (ops.minus, True, same),
        (ops.record, False, record),
    ):
        for name in _row_keys:
            if not hasattr(decoded, names[name]):
                continue
            want, got = getattr(flat, name), getattr(decoded, names[name])
            if jsonb and isinstance(want, float) and want == 0:
                want = 0.0  # jsonb keeps numbers as numerics: PostgreSQL drops -0's sign
            assert _same(want, got) or (isinstance(want, list) and want == got), (
                f"{name}: flat {want!r}, from JSON {got!r}"
            )


def test_acceptance_repros(nested: Generated, conn: Conn) -> None:
    """The shapes real projects use (a job queue's UPDATE … RETURNING sqlc.embed, a CTE
    aliased to the table it filters)."""
    m = nested.module("models")
    q = nested.module("queries.embeds")
    conn.execute("INSERT INTO jobs (name) VALUES ('x'), ('y')")
    ids = [r[0] for r in conn.execute("SELECT id FROM jobs ORDER BY id").fetchall()]
    done = q.disable_jobs(conn, ids=ids[:1])
    assert [(type(r.job), r.job.done) for r in done] == [(m.Job, True)]
    got = q.jobs_of_cte(conn, name="y")
    assert [(type(r.job), r.job.id) for r in got] == [(m.Job, ids[1])]


def test_jsonb_as_the_users_model(nested: Generated, conn: Conn) -> None:
    """An override pointing a jsonb column at a pydantic model: validated on load, dumped
    on bind — in a call, a batch and a COPY."""
    q = nested.module("queries.settings")
    m = nested.module("models")
    import nested_types  # type: ignore[import-not-found]

    Settings = nested_types.Settings
    assert typing.get_type_hints(m.User)["settings"] == Settings | None
    made = q.create_user(conn, name="s1", settings=Settings(theme="dark"))
    assert made.settings == Settings(theme="dark")
    q.create_users(conn, [q.CreateUsersParams("s2", Settings(theme="light", alerts=False))])
    q.copy_users(
        conn, [("s3", Settings(theme="x", since=datetime.date(2024, 2, 29))), ("s4", None)]
    )
    got = {u.name: u.settings for u in q.users_named(conn, names=["s1", "s2", "s3", "s4"])}
    assert got == {
        "s1": Settings(theme="dark"),
        "s2": Settings(theme="light", alerts=False),
        "s3": Settings(theme="x", since=datetime.date(2024, 2, 29)),
        "s4": None,
    }
    one = q.user_settings(conn, id=made.id)
    assert one is not None and one.settings == Settings(theme="dark")
    stored = conn.execute("SELECT settings FROM users WHERE name = 's3'").fetchone()
    assert stored == ({"theme": "x", "alerts": True, "since": "2024-02-29"},)
    # through a query whose cursor hands JSON over as text (it also builds JSON)
    rows = [r for r in nested.module("queries.json").users_with_posts(conn) if r.id == made.id]
    assert rows[0].settings == Settings(theme="dark")
    # a stored value that is not a Settings: an error naming the column
    conn.execute("UPDATE users SET settings = '{\"alerts\": 1}' WHERE id = %s", (made.id,))
    runtime = nested.module("runtime")
    with pytest.raises(runtime.jsonshape.JsonShapeError, match=r"users\.settings"):
        q.user_settings(conn, id=made.id)


async def test_jsonb_model_async(nested: Generated, aconn: psycopg.AsyncConnection[Any]) -> None:
    q = nested.module("queries.aio.settings")
    import nested_types  # type: ignore[import-not-found]

    made = await q.create_user(aconn, name="a1", settings=nested_types.Settings(theme="t"))
    assert made.settings == nested_types.Settings(theme="t")


def test_embed_of_an_outer_joined_cte(nested: Generated, conn: Conn) -> None:
    """A CTE embedded on the NULL-extended side: the field is ``Model | None`` (named
    after the alias, even a one-letter one), its fields as the CTE gives them."""
    q = nested.module("queries.embeds")
    _, a, lone = _users(conn)
    rows = {r.user.id: r for r in q.user_post_counts(conn)}
    s = rows[a].s
    assert s is not None and (s.user_id, s.n) == (a, 2)
    assert isinstance(s.latest, datetime.datetime) and rows[lone].s is None
    assert typing.get_type_hints(q.UserPostCountsRow)["s"] == q.UserPostCountsS | None
    hints = typing.get_type_hints(q.UserPostCountsS)
    assert hints == {"user_id": int, "n": int, "latest": datetime.datetime}


def test_overrides_inside_built_json(nested: Generated, conn: Conn) -> None:
    """A table's row built as JSON keeps the overrides of its columns: jsonb as the
    user's model, a text column as the user's str subclass — as a flat row has them."""
    import nested_types  # type: ignore[import-not-found]

    q = nested.module("queries.json")
    made = nested.module("queries.settings").create_user(
        conn, name="s1", settings=nested_types.Settings(theme="dark")
    )
    users = q.users_as_json(conn)
    assert users is not None
    [mine] = [u for u in users if u.id == made.id]
    assert type(mine.settings) is nested_types.Settings
    assert mine.settings == nested_types.Settings(theme="dark")
    conn.execute("INSERT INTO jobs (name, \"from\") VALUES ('a', 'cron'), ('b', NULL)")
    docs = q.job_docs(conn)
    job, source = docs[0].doc.job, docs[0].doc.source  # a row as a value of an object
    assert (job.name, job.from_, source) == ("a", "cron", "cron")
    assert type(job.from_) is nested_types.Source and type(source) is nested_types.Source
    assert docs[1].doc.job.from_ is None and docs[1].doc.source is None
    conn.execute("UPDATE users SET settings = '{\"alerts\": 1}' WHERE id = %s", (made.id,))
    runtime = nested.module("runtime")
    with pytest.raises(runtime.jsonshape.JsonShapeError, match="column 'users'"):
        q.users_as_json(conn)


def test_correlated_subqueries_are_typed(nested: Generated, conn: Conn) -> None:
    """Values referring to the outer query, a FROM subquery filtered by it, a row of a
    scalar subquery, an unqualified column: typed, not plain JSON."""
    q = nested.module("queries.json")
    a, lone, full = _posts(conn)
    named = {r.id: r.posts for r in q.posts_with_author_name(conn)}
    assert [(p.title, p.author) for p in named[a] or ()] == [("full", "a"), ("bare", "a")]
    assert named[lone] is None
    assert typing.get_type_hints(q.PostsWithAuthorNamePost) == {"title": str, "author": str}
    flat = conn.execute("SELECT wait, score FROM posts WHERE id = %s", (full,)).fetchone()
    assert flat is not None
    firsts = {r.id: r for r in q.first_posts(conn)}
    first = firsts[a]
    assert first.first is not None and (first.first.id, first.first.wait) == (full, flat[0])
    assert first.first_row is not None and first.first_row.wait == flat[0]
    assert str(first.first_row.score) == "1.1000"  # a numeric inside the row: digits kept
    assert first.titles == ["full", "bare"]
    assert (firsts[lone].first, firsts[lone].first_row, firsts[lone].titles) == (None,) * 3
    hints = typing.get_type_hints(q.FirstPostsRow)
    assert hints["titles"] == list[str] | None
    assert hints["first"] == q.FirstPostsFirst | None
    hints = typing.get_type_hints(q.FirstPostsFirst)
    assert hints == {"id": int, "wait": datetime.timedelta | None}


def test_filter_and_where_decide_nulls_inside_json(nested: Generated, conn: Conn) -> None:
    q = nested.module("queries.json")
    a, lone, full = _posts(conn)
    rows = {r.id: r for r in q.filtered_comments(conn)}
    comments = rows[full].comments
    assert comments is not None and [c.body for c in comments] == ["c1", "c2"]
    bare = [pid for pid in rows if pid != full]
    assert [rows[pid].comments for pid in bare] == [None]  # FILTER left no rows: NULL
    # FILTER (WHERE c.id IS NOT NULL) / WHERE s.score IS NOT NULL: no None inside
    assert typing.get_type_hints(q.FilteredCommentsComment) == {"id": int, "body": str}
    hints = typing.get_type_hints(q.FilteredCommentsRow)
    assert hints["scores"] == list[decimal.Decimal] | None
    assert rows[full].scores == [decimal.Decimal("1.1000")]
    # a row of a LEFT JOIN's NULL-extended side, FILTERed to the matched ones: never null
    hints = typing.get_type_hints(q.UsersAndTheirPostsRow)
    assert hints["posts"] == list[q.UsersAndTheirPostsPost]
    users = {r.id: [p.title for p in r.posts] for r in q.users_and_their_posts(conn)}
    assert users[a] == ["full", "bare"] and users[lone] == []


def _shape_error(nested: Generated, make: Any, row: tuple[Any, ...], column: str) -> None:
    """The generated row maker refuses a JSON value of the wrong shape, naming its column."""
    runtime = nested.module("runtime")
    with pytest.raises(runtime.jsonshape.JsonShapeError, match=f"column '{column}'"):
        make(row)


def test_keyed_aggregates_are_dicts_of_their_values(nested: Generated, conn: Conn) -> None:
    """json_object_agg(k, v): ``dict[str, V]``, V typed as json_agg's element would be —
    a row, a scalar, a built object with aggregates inside, an anonymous record."""
    import pydantic

    q = nested.module("queries.json_ops")
    a, lone, full = _posts(conn)
    (bare,) = conn.execute("SELECT id FROM posts WHERE title = 'bare'").fetchone() or (0,)
    hints = typing.get_type_hints(q.PostsKeyedRow)
    assert hints["posts"] == dict[str, q.PostsKeyedPost] | None
    assert hints["scores"] == dict[str, decimal.Decimal | None]  # COALESCEd: never None
    assert hints["stats"] == dict[str, q.PostsKeyedStat] | None
    assert hints["comments"] == dict[str, nested.module("models").Comment] | None
    # a fallback the shape cannot decode ('[]' for an object, '{}' for a model): plain JSON
    assert (hints["wrong_fallback"], hints["empty_object"]) == (pydantic.JsonValue,) * 2
    assert hints["titles"] == list[str]
    assert typing.get_type_hints(q.PostsKeyedStat) == {"n": int, "bodies": list[str] | None}
    assert typing.get_type_hints(q.PostsKeyedPair) == {"f1": str, "f2": datetime.date | None}
    rows = {r.id: r for r in q.posts_keyed(conn)}
    got = rows[a]
    assert got.posts is not None and list(got.posts) == [str(full), str(bare)]
    as_list = nested.module("queries.json").users_with_posts(conn)
    listed = next(r.posts for r in as_list if r.id == a)
    assert [p.model_dump() for p in got.posts.values()] == [p.model_dump() for p in listed or ()]
    assert got.scores == {"full": decimal.Decimal("1.1000"), "bare": None}
    assert str(got.scores["full"]) == "1.1000"
    assert got.stats is not None
    assert {k: (v.n, v.bodies) for k, v in got.stats.items()} == {
        "full": (2, ["c1", "c2"]),
        "bare": (0, None),
    }
    assert got.pairs is not None
    assert {k: (v.f1, v.f2) for k, v in got.pairs.items()} == {
        str(full): ("full", datetime.date(2024, 2, 29)),
        str(bare): ("bare", None),
    }
    assert got.comments is not None and list(got.comments) == ["c1", "c2"]
    c1 = conn.execute("SELECT * FROM comments WHERE body = 'c1'").fetchone()
    assert tuple(got.comments["c1"].model_dump().values()) == c1
    # no rows: NULL, but the COALESCEd one an empty dict
    assert (rows[lone].posts, rows[lone].scores, rows[lone].stats) == (None, {}, None)
    assert (rows[lone].wrong_fallback, rows[lone].empty_object, rows[lone].titles) == ([], {}, [])
    assert (got.empty_object, got.titles) == ({"t": "full"}, ["full", "bare"])
    rest = (None, None, None)
    bad = (a, b'{"1": {"id": "x"}}', b"{}", None, None, *rest, None)
    _shape_error(nested, q._make_posts_keyed_row, bad, "posts")
    bad = (a, None, b'{"x": "y"}', None, None, *rest, None)
    _shape_error(nested, q._make_posts_keyed_row, bad, "scores")
    bad = (a, None, b"{}", None, None, *rest, b'{"c1": [1]}')
    _shape_error(nested, q._make_posts_keyed_row, bad, "comments")


def test_anonymous_records_have_f_keys(nested: Generated, conn: Conn) -> None:
    """row_to_json(ROW(…)), to_json(ROW(…)), json_agg(ROW(…)), a ROW inside an object:
    keys f1, f2, … as PostgreSQL names them, typed as the values are."""
    m = nested.module("models")
    q = nested.module("queries.json_ops")
    _, _, full = _posts(conn)
    hints = typing.get_type_hints(q.PostRecordsPair)
    assert hints == {"f1": str, "f2": decimal.Decimal | None}
    assert typing.get_type_hints(q.PostRecordsComment) == {
        "f1": int,
        "f2": decimal.Decimal | None,
        "f3": m.PostState | None,
    }
    assert typing.get_type_hints(q.PostRecordsRow)["comments"] == list[q.PostRecordsComment] | None
    flat = conn.execute("SELECT created_at, day, wait FROM posts WHERE id = %s", (full,)).fetchone()
    assert flat is not None
    rows = {r.id: r for r in q.post_records(conn)}
    got = rows[full]
    assert (got.pair.f1, str(got.pair.f2)) == ("full", "1.1000")
    assert (got.nested.f1, got.nested.f2, got.nested.f3.f1, got.nested.f3.f2) == (full, *flat)
    assert [(c.f2, c.f3) for c in got.comments or ()] == [
        (decimal.Decimal("12345678901234.123456"), m.PostState.DRAFT),
        (None, None),
    ]
    assert (got.wrapped.row.f1, got.wrapped.row.f2) == ("full", ["x", None])
    [bare] = [r for pid, r in rows.items() if pid != full]
    assert (bare.pair.f2, bare.nested.f3.f1, bare.nested.f3.f2, bare.comments) == (None,) * 4
    bad = (full, b'{"f2": 1}', None, None, None)
    _shape_error(nested, q._make_post_records_row, bad, "pair")


def test_jsonb_operators_on_known_objects(nested: Generated, conn: Conn) -> None:
    """``- 'k'``, ``- ARRAY[…]``, ``#- '{…}'`` drop keys; ``||`` merges objects, the right
    side winning a key both have. Keys that are not constants: plain JSON, no error."""
    import nested_types  # type: ignore[import-not-found]
    import pydantic

    q = nested.module("queries.json_ops")
    made = nested.module("queries.settings").create_user(
        conn, name="ann", settings=nested_types.Settings(theme="dark")
    )
    conn.execute("INSERT INTO posts (user_id, title) VALUES (%s, 'p')", (made.id,))
    user = {
        "id": int,
        "name": str,
        "uid": uuid.UUID,
        "joined_at": datetime.datetime,
        "manager_id": int | None,
    }
    assert typing.get_type_hints(q.PublicUsersPublic) == user
    assert typing.get_type_hints(q.PublicUsersTrimmed) == user
    slim = {k: v for k, v in user.items() if k != "uid"}
    assert typing.get_type_hints(q.PublicUsersSlim) == slim
    assert typing.get_type_hints(q.PublicUsersSlimToo) == slim
    # every column kept: the table's own model
    assert q.PublicUsersRow.model_fields["same"].annotation is nested.module("models").User
    assert typing.get_type_hints(nested.module("models").User) == {
        **user,
        "settings": nested_types.Settings | None,
    }
    assert typing.get_type_hints(q.PublicUsersMerged) == {
        **user,
        "name": int,  # length(u.name): the right side's value
        "settings": nested_types.Settings | None,
        "posts": int,
    }
    assert typing.get_type_hints(q.PublicUsersBothSides) == {
        "a": int,
        "b": datetime.datetime,
        "c": str | None,
    }
    assert typing.get_type_hints(q.PublicUsersInner) == {"y": str}
    hints = typing.get_type_hints(q.PublicUsersRow)
    assert (hints["trimmed"], hints["deep"]) == (q.PublicUsersTrimmed, q.PublicUsersDeep)
    for plain in ("by_value", "by_param", "dynamic_keys"):
        assert hints[plain] == pydantic.JsonValue, plain
    [got] = [r for r in q.public_users(conn, key="name") if r.id == made.id]
    want = (made.id, "ann", made.uid, made.joined_at, None)
    assert tuple(got.public.model_dump().values()) == want
    assert tuple(got.trimmed.model_dump().values()) == want
    assert tuple(got.slim.model_dump().values()) == want[:2] + want[3:]
    assert got.slim_too.model_dump() == got.slim.model_dump()
    assert got.same.settings == nested_types.Settings(theme="dark")
    assert (got.merged.name, got.merged.posts, got.merged.uid) == (3, 1, made.uid)
    assert got.both_sides.model_dump() == {"a": made.id, "b": made.joined_at, "c": None}
    assert (got.deep.k, got.deep.inner.y) == (made.id, "ann")
    assert isinstance(got.by_param, dict) and "name" not in got.by_param
    assert got.by_param["id"] == made.id
    assert got.dynamic_keys == {"ann": made.id, "a": 1}
    none = (None,) * 10
    _shape_error(nested, q._make_public_users_row, (1, b'{"id": 1}', *none), "public")


def test_returning_subqueries_on_the_outer_row_are_typed(nested: Generated, conn: Conn) -> None:
    """UPDATE/DELETE/INSERT … RETURNING (SELECT json_build_object(… p.title …) … WHERE
    c.post_id = p.id): the values on the statement's row are typed as in a SELECT."""
    q = nested.module("queries.json_ops")
    _, _, full = _posts(conn)
    (bare,) = conn.execute("SELECT id FROM posts WHERE title = 'bare'").fetchone() or (0,)
    assert typing.get_type_hints(q.RetitlePostSummary) == {"title": str, "n": int}
    assert typing.get_type_hints(q.RetitlePostComment) == {"body": str, "post": str}
    hints = typing.get_type_hints(q.RetitlePostRow)
    assert (hints["summary"], hints["comments"]) == (
        q.RetitlePostSummary,
        list[q.RetitlePostComment] | None,
    )
    done = q.retitle_post(conn, title="new", id=full)
    assert done is not None and (done.summary.title, done.summary.n) == ("new", 2)
    assert [(c.body, c.post) for c in done.comments or ()] == [("c1", "new"), ("c2", "new")]
    empty = q.retitle_post(conn, title="none", id=bare)
    assert empty is not None and (empty.summary.n, empty.comments) == (0, None)
    added = q.add_comment(conn, post_id=full, body="c3", amount=decimal.Decimal("1.5"))
    assert typing.get_type_hints(q.AddCommentRow)["post"] == q.AddCommentPost | None
    assert added is not None and added.post is not None
    assert (added.post.title, str(added.post.amount)) == ("new", "1.500000")
    assert isinstance(added.post.at, datetime.datetime)
    assert typing.get_type_hints(q.DropCommentPost) == {"title": str, "body": str, "n": int}
    dropped = q.drop_comment(conn, id=added.id)
    # the subquery sees the comments as the statement started: the dropped one included
    assert dropped is not None
    assert dropped.post.model_dump() == {"title": "new", "body": "c3", "n": 3}
    _shape_error(nested, q._make_retitle_post_row, (1, b'{"title": "t"}', None), "summary")


async def test_json_ops_async(nested: Generated, aconn: psycopg.AsyncConnection[Any]) -> None:
    """The async module decodes keyed aggregates and RETURNING subqueries the same way."""
    q = nested.module("queries.aio.json_ops")
    row = await aconn.execute("INSERT INTO users (name) VALUES ('x') RETURNING id")
    (uid,) = await row.fetchone() or (0,)
    post = await aconn.execute(
        "INSERT INTO posts (user_id, title) VALUES (%s, 't') RETURNING id", (uid,)
    )
    (pid,) = await post.fetchone() or (0,)
    [mine] = [r for r in await q.posts_keyed(aconn) if r.id == uid]
    assert mine.posts is not None and [p.title for p in mine.posts.values()] == ["t"]
    assert mine.scores == {"t": None} and mine.comments is None
    done = await q.retitle_post(aconn, title="u", id=pid)
    assert done is not None and (done.summary.title, done.summary.n, done.comments) == (
        "u",
        0,
        None,
    )


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    theme=_texts,
    alerts=st.booleans(),
    since=st.none() | st.dates(),
    source=st.none() | _texts,
)
def test_overridden_values_round_trip_through_json(
    nested: Generated,
    conn: Conn,
    theme: str,
    alerts: bool,
    since: datetime.date | None,
    source: str | None,
) -> None:
    """A row built as JSON gives the overridden columns exactly as a flat read does."""
    import nested_types  # type: ignore[import-not-found]

    value = nested_types.Settings(theme=theme, alerts=alerts, since=since)
    made = nested.module("queries.settings").create_user(conn, name="h", settings=value)
    built = nested.module("queries.json").users_as_json(conn)
    assert built is not None
    [mine] = [u for u in built if u.id == made.id]
    assert type(mine.settings) is nested_types.Settings and mine.settings == made.settings == value
    job = conn.execute(
        'INSERT INTO jobs (name, "from") VALUES (%s, %s) RETURNING id', ("j", source)
    )
    (job_id,) = job.fetchone() or (0,)
    [doc] = [d.doc for d in nested.module("queries.json").job_docs(conn) if d.id == job_id]
    assert doc.source == source and doc.job.from_ == source
    if source is not None:
        assert (
            type(doc.source) is nested_types.Source and type(doc.job.from_) is nested_types.Source
        )
    conn.execute("DELETE FROM jobs")
    conn.execute("DELETE FROM users WHERE id = %s", (made.id,))
