"""Nested reads: 1,000 users × 10 posts through one ``json_agg`` query, against the alternatives.

Same PostgreSQL, same data (``benches/nested/schema.sql``), the generated package of
``benches/nested/queries.sql`` (written into ``benches/corpus/nestedpkg`` at start):

* **multica-db users_with_posts** — one query, ``posts`` typed ``list[models.Post] | None``;
* **hand-written psycopg + pydantic** — the same SQL on a psycopg cursor (which
  ``json.loads`` the column), each row validated as a pydantic model holding
  ``list[Post]`` (what one writes by hand);
* **hand-written, pydantic parsing the JSON text** — the cursor hands the JSON text
  over and ``TypeAdapter(list[Post]).validate_json`` parses it (the fastest hand-written
  decoding we know);
* **two queries + grouping** — the users, then their posts (``= ANY(ids)``), both
  through the generated functions, grouped in Python into the same rows (the same
  typed models: every approach fetches the same 1,000 users and 10,000 posts);
  and the same two queries written by hand (psycopg's ``class_row``, a validated
  pydantic model per row);
* **multica-db users_with_posts_grouped / _lateral** — the same read written as a join
  grouped by user (``json_agg(p ORDER BY p.id)`` in the select list), and with the
  aggregate in a ``LEFT JOIN LATERAL`` subquery.

And the server's share: each approach's SQL executed through libpq alone (the result
received, no Python value built), so the table shows how a read's time splits between
PostgreSQL (+ transfer) and the client.

Also the flat check: ``:many`` of the 10,000 posts against raw psycopg tuples.
Approaches are interleaved within every sample (in a rotating order); medians shown.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pydantic
from psycopg import RawCursor
from psycopg.rows import class_row

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HERE, PG_URL, ROOT, Row, machine, save, table, timed

DB = os.environ.get("MULTICA_DB_NESTED_BENCH_DB", "multica_db_nested_bench")
PKG = HERE / "corpus" / "nestedpkg"
SRC = HERE / "nested"


def _url(dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(PG_URL)
    params["dbname"] = dbname
    return make_conninfo(**params)


def _generate() -> None:
    cmd = [
        str(Path(sys.executable).parent / "multica-db"),
        "generate",
        "--schema",
        str(SRC / "schema.sql"),
        "--queries",
        str(SRC / "queries.sql"),
        "--out",
        str(PKG / "shaped"),
        "--package",
        "shaped",
    ]
    env = {**os.environ, "MULTICA_DB_ANALYZER_URL": PG_URL}
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    sys.path.insert(0, str(PKG))


def _setup(users: int, posts: int) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'.encode())
        admin.execute(f'CREATE DATABASE "{DB}"'.encode())
    with psycopg.connect(_url(DB)) as conn:
        conn.execute((SRC / "schema.sql").read_text().encode())
        conn.execute(
            "INSERT INTO users (name, email) "
            "SELECT 'user ' || i, 'u' || i || '@example.com' FROM generate_series(1, %s) i",
            (users,),
        )
        conn.execute(
            "INSERT INTO posts (user_id, title, body, published, likes) "
            "SELECT u.id, 'post ' || j || ' of ' || u.id, repeat('text ', 10), j %% 2 = 0, j "
            "FROM users u, generate_series(1, %s) j",
            (posts,),
        )
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples")
    args = ap.parse_args(argv)
    samples = 7 if args.quick else 25
    print(f"machine: {machine()}\n", flush=True)
    _generate()
    _setup(1000, 10)

    from shaped import models  # type: ignore[import-not-found]
    from shaped.queries import queries as q  # type: ignore[import-not-found]

    conn = psycopg.connect(_url(DB), autocommit=True)
    Post = models.Post

    class UserWithPosts(pydantic.BaseModel):
        id: int
        name: str
        email: str
        created_at: Any
        posts: list[Post] | None  # type: ignore[valid-type]

    sql = q.USERS_WITH_POSTS

    def hand_written() -> list[UserWithPosts]:
        with RawCursor(conn) as cur:
            cur.execute(sql)
            return [
                UserWithPosts(id=r[0], name=r[1], email=r[2], created_at=r[3], posts=r[4])
                for r in cur.fetchall()
            ]

    posts_adapter = pydantic.TypeAdapter(list[Post])  # type: ignore[valid-type]

    class _Text(psycopg.adapt.Loader):
        def load(self, data: Any) -> bytes:
            return bytes(data)

    text_cur = RawCursor(conn)
    for oid in (114, 3802):
        text_cur.adapters.register_loader(oid, _Text)

    def hand_written_json() -> list[UserWithPosts]:
        text_cur.execute(sql)
        return [
            UserWithPosts.model_construct(
                id=r[0],
                name=r[1],
                email=r[2],
                created_at=r[3],
                posts=None if r[4] is None else posts_adapter.validate_json(r[4]),
            )
            for r in text_cur.fetchall()
        ]

    def two_queries() -> list[tuple[Any, list[Any]]]:
        users = q.list_users(conn)
        by_user: dict[int, list[Any]] = {u.id: [] for u in users}
        for p in q.posts_of_users(conn, user_ids=list(by_user)):
            by_user[p.user_id].append(p)
        return [(u, by_user[u.id]) for u in users]

    User = models.User

    def two_queries_hand_written() -> list[tuple[Any, list[Any]]]:
        # what one writes without a generator: psycopg's class_row builds (and validates)
        # a pydantic model per row, the posts are grouped by user in Python
        with RawCursor(conn, row_factory=class_row(User)) as cur:
            users = cur.execute(q.LIST_USERS).fetchall()
        by_user: dict[int, list[Any]] = {u.id: [] for u in users}
        with RawCursor(conn, row_factory=class_row(Post)) as cur:
            for p in cur.execute(q.POSTS_OF_USERS, (list(by_user),)):
                by_user[p.user_id].append(p)
        return [(u, by_user[u.id]) for u in users]

    pg = conn.pgconn

    def server(*statements: bytes) -> Callable[[], object]:
        def run() -> object:
            for stmt in statements:
                params = [ids] if b"$1" in stmt else None
                res = pg.exec_params(stmt, params, [1016] if params else None)
                if res.status != psycopg.pq.ExecStatus.TUPLES_OK:
                    raise RuntimeError(res.error_message.decode())
            return res

        return run

    # the second flat query's parameter, as the server receives it (text bigint[])
    ids = ("{" + ",".join(str(u.id) for u in q.list_users(conn)) + "}").encode()
    nested: dict[str, Callable[[], object]] = {
        "multica-db users_with_posts (one json_agg query)": lambda: q.users_with_posts(conn),
        "multica-db users_with_posts_grouped (join + GROUP BY)": partial(
            q.users_with_posts_grouped, conn
        ),
        "multica-db users_with_posts_lateral (LEFT JOIN LATERAL)": partial(
            q.users_with_posts_lateral, conn
        ),
        "hand-written psycopg + pydantic (json.loads, model per row)": hand_written,
        "hand-written, pydantic validate_json of the JSON text": hand_written_json,
        "two queries (multica-db) + grouping in Python": two_queries,
        "two queries (hand-written psycopg class_row + pydantic) + grouping": (
            two_queries_hand_written
        ),
        "server only: the json_agg subquery (libpq, no rows built)": server(sql.encode()),
        "server only: join + GROUP BY": server(q.USERS_WITH_POSTS_GROUPED.encode()),
        "server only: LEFT JOIN LATERAL": server(q.USERS_WITH_POSTS_LATERAL.encode()),
        "server only: the two flat queries": server(
            q.LIST_USERS.encode(), q.POSTS_OF_USERS.encode()
        ),
    }

    def raw_many() -> object:
        with RawCursor(conn) as cur:
            cur.execute(q.LIST_POSTS)
            return cur.fetchall()

    flat: dict[str, Callable[[], object]] = {
        "raw psycopg (tuples)": raw_many,
        "multica-db list_posts": lambda: q.list_posts(conn),
    }

    # the same data every way
    ours = q.users_with_posts(conn)
    assert len(ours) == 1000 and all(len(r.posts or []) == 10 for r in ours)
    assert [r.posts for r in ours] == [r.posts for r in hand_written()]
    assert [r.posts for r in ours] == [ps for _, ps in two_queries()]
    assert [r.posts for r in ours] == [ps for _, ps in two_queries_hand_written()]
    assert [r.posts for r in ours] == [r.posts for r in q.users_with_posts_grouped(conn)]
    assert [r.posts for r in ours] == [r.posts for r in q.users_with_posts_lateral(conn)]
    for fn in [*nested.values(), *flat.values()]:
        for _ in range(3):
            fn()

    rows: dict[str, Row] = {}
    for k in range(samples):
        for group in (nested, flat):
            items = list(group.items())
            items = items[k % len(items) :] + items[: k % len(items)]
            for label, fn in items:
                rows.setdefault(label, Row(label, [], unit="ms")).samples.append(timed(fn))

    nested_rows = [rows[label] for label in nested]
    flat_rows = [rows[label] for label in flat]
    print(
        table(
            "Nested read: 1,000 users × 10 posts",
            nested_rows,
            baseline="hand-written psycopg + pydantic (json.loads, model per row)",
        )
    )
    print(table("Flat :many, 10,000 posts", flat_rows, baseline="raw psycopg (tuples)"))
    path = save("nested_bench", {"machine": machine(), "rows": [*nested_rows, *flat_rows]})
    print(f"raw numbers: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
