# ruff: noqa: B023 E501 — every lambda runs at once, in the loop iteration that made it
"""Query overhead: generated functions against raw psycopg, SQLAlchemy Core and aiosql.

Same PostgreSQL, same connection settings, same SQL, on a bench database with
our migrations applied (``multica_db.migrate``) and 10,000 rows of the
14-column ``agent_runtime`` table:

* ``:one`` by primary key (per call), ``:many`` of the 10,000 rows (per call);
* an ``:exec`` insert (per call, committed per sample);
* 1,000 inserts as a loop of single inserts, as a ``:batchexec`` (pipeline),
  and 100,000 rows by ``:copyfrom`` (COPY) — all per row, so they compare;
* sync and async.

Baselines: raw psycopg (``execute`` + ``fetchone``/``fetchall`` of tuples — the
floor), psycopg with ``class_row`` (pydantic validation per row), SQLAlchemy
Core building the same pydantic models from its rows (``Model(**row._mapping)``,
what sqlc-gen-python generates), aiosql (tuples). Parameters are built before
the clock starts (tuples, dicts or the generated ``Params`` models, as each API
takes them). Approaches are interleaved within every sample (in a rotating order), so
background load spreads over all of them; the table shows medians.

The reads call the real generated functions (``multica_db.queries``); the
insert, batch and COPY statements live in ``benches/queries/bench_runtime.sql``,
generated at start into ``benches/corpus/benchpkg`` (queries/ has none of them).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncRawCursor, RawCursor
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HERE, PG_URL, ROOT, Row, machine, save, table, timed

from multica_db import models
from multica_db.migrate import migrate
from multica_db.queries import agent_runtime as q
from multica_db.queries.aio import agent_runtime as aq

DB = os.environ.get("MULTICA_DB_BENCH_DB", "multica_db_bench")  # another name per concurrent run
PKG = HERE / "corpus" / "benchpkg"
COLS = (
    "workspace_id, daemon_id, name, runtime_mode, provider, status, device_info, metadata, owner_id"
)
INSERT = f"INSERT INTO agent_runtime ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
INSERT_NAMED = (
    f"INSERT INTO agent_runtime ({COLS}) VALUES (:workspace_id, :daemon_id, :name, "
    ":runtime_mode, :provider, :status, :device_info, :metadata, :owner_id)"
)


def _statement(sql: str) -> str:
    """A generated constant without its ``-- name:`` line: aiosql reads such lines itself,
    and SQLAlchemy's ``text()`` would take ``:one`` for a parameter."""
    return sql.split("\n", 1)[1]


AIOSQL = f"""
-- name: get_agent_runtime(id)^
{_statement(q.GET_AGENT_RUNTIME).replace("$1", ":id")};

-- name: list_agent_runtimes(workspace_id)
{_statement(q.LIST_AGENT_RUNTIMES).replace("$1", ":workspace_id")};

-- name: insert_agent_runtime(workspace_id, daemon_id, name, runtime_mode, provider, status, device_info, metadata, owner_id)!
{INSERT_NAMED};

-- name: insert_agent_runtimes(workspace_id, daemon_id, name, runtime_mode, provider, status, device_info, metadata, owner_id)*!
{INSERT_NAMED};
"""


#: The :one baseline: raw psycopg on a cursor made once — what no per-call API can beat.
ONE_FLOOR = "raw psycopg (tuple), one cursor reused"
#: The :many row with the cyclic collector paused around the call — what the runtime did
#: until it stopped touching process-wide state; the gap to the plain row is its price.
PAUSED = "multica-db list_agent_runtimes, collector paused by the caller"


#: The same two, measured after ``gc.freeze()`` (the application's call, made once).
FROZEN_RAW = "raw psycopg (tuples), after gc.freeze()"
FROZEN = "multica-db list_agent_runtimes, after gc.freeze()"


def _paused(fn: Callable[[], object]) -> object:
    gc.disable()
    try:
        return fn()
    finally:
        gc.enable()


def _url(dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(PG_URL)
    params["dbname"] = dbname
    return make_conninfo(**params)


def _generate_bench_package() -> None:
    env = {"MULTICA_DB_ANALYZER_URL": PG_URL}
    cmd = [
        str(Path(sys.executable).parent / "multica-db"),
        "generate",
        "--schema",
        str(ROOT / "src" / "multica_db" / "migrations"),
        "--queries",
        str(HERE / "queries"),
        "--out",
        str(PKG / "bench_db"),
        "--package",
        "bench_db",
    ]
    import os

    subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    sys.path.insert(0, str(PKG))


def setup(n_rows: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A fresh bench database with migrations and ``n_rows`` runtimes in one workspace."""
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'.encode())
        admin.execute(f'CREATE DATABASE "{DB}"'.encode())
    with psycopg.connect(_url(DB)) as conn:
        migrate(conn)
        conn.commit()
        ws = conn.execute(
            "INSERT INTO workspace (name, slug) VALUES ('bench', 'bench') RETURNING id"
        ).fetchone()
        assert ws is not None
        workspace = ws[0]
        with conn.cursor().copy(f"COPY agent_runtime ({COLS}) FROM STDIN") as cp:
            cp.set_types(["uuid", "text", "text", "text", "text", "text", "text", "jsonb", "uuid"])
            for i in range(n_rows):
                cp.write_row(
                    (workspace, f"seed-{i}", f"runtime {i}", "cloud", "claude", "online",
                     "linux x86_64", Jsonb({"i": i, "tags": ["a", "b"]}), None)
                )  # fmt: skip
        conn.commit()
        one = conn.execute("SELECT id FROM agent_runtime LIMIT 1").fetchone()
        assert one is not None
        conn.execute("VACUUM ANALYZE agent_runtime" if False else "ANALYZE agent_runtime")
        conn.commit()
    return workspace, one[0]


class Samples:
    """Collects per-unit times for each approach; approaches interleave within a sample."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    def add(self, label: str, seconds: float, per: int = 1, unit: str = "us") -> None:
        row = self.rows.setdefault(label, Row(label, [], unit=unit))
        row.samples.append(seconds / per)


def _params_tuple(ws: uuid.UUID, tag: str, i: int) -> tuple[Any, ...]:
    return (ws, f"{tag}-{i}", f"r{i}", "cloud", "claude", "online", "", Jsonb({"i": i}), None)


def _params_dict(ws: uuid.UUID, tag: str, i: int) -> dict[str, Any]:
    return {
        "workspace_id": ws,
        "daemon_id": f"{tag}-{i}",
        "name": f"r{i}",
        "runtime_mode": "cloud",
        "provider": "claude",
        "status": "online",
        "device_info": "",
        "metadata": Jsonb({"i": i}),
        "owner_id": None,
    }


def _params_kwargs(ws: uuid.UUID, tag: str, i: int) -> dict[str, Any]:
    d = _params_dict(ws, tag, i)
    d["metadata"] = {"i": i}
    return d


def _rotated(d: dict[str, Any], k: int) -> list[tuple[str, Any]]:
    """The approaches in a different order each sample: none always runs first."""
    items = list(d.items())
    k %= len(items)
    return items[k:] + items[:k]


def bench_sync(ws: uuid.UUID, pk: uuid.UUID, cfg: dict[str, int]) -> dict[str, list[Row]]:
    import aiosql
    from bench_db.queries import bench_runtime as bq  # type: ignore[import-not-found]
    from sqlalchemy import create_engine, text

    conn = psycopg.connect(_url(DB), autocommit=True)
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(_url(DB)))
    sa = engine.connect()
    aq_sql = aiosql.from_str(AIOSQL, "psycopg")
    sa_one = text(_statement(q.GET_AGENT_RUNTIME).replace("$1", ":id"))
    sa_many = text(_statement(q.LIST_AGENT_RUNTIMES).replace("$1", ":workspace_id"))
    sa_insert = text(INSERT_NAMED)
    Model = models.AgentRuntime

    def raw_one() -> object:
        with RawCursor(conn) as cur:
            cur.execute(q.GET_AGENT_RUNTIME, (pk,))
            return cur.fetchone()

    kept = RawCursor(conn)  # the floor: one cursor for every call, as a single thread may

    def raw_one_kept() -> object:
        kept.execute(q.GET_AGENT_RUNTIME, (pk,))
        return kept.fetchone()

    def class_row_one() -> object:
        with RawCursor(conn, row_factory=class_row(Model)) as cur:
            cur.execute(q.GET_AGENT_RUNTIME, (pk,))
            return cur.fetchone()

    def raw_many() -> object:
        with RawCursor(conn) as cur:
            cur.execute(q.LIST_AGENT_RUNTIMES, (ws,))
            return cur.fetchall()

    def class_row_many() -> object:
        with RawCursor(conn, row_factory=class_row(Model)) as cur:
            cur.execute(q.LIST_AGENT_RUNTIMES, (ws,))
            return cur.fetchall()

    one: dict[str, Callable[[], object]] = {
        ONE_FLOOR: raw_one_kept,
        "raw psycopg (tuple), a new cursor per call": raw_one,
        "multica-db get_agent_runtime": lambda: q.get_agent_runtime(conn, id=pk),
        "psycopg class_row (pydantic)": class_row_one,
        "SQLAlchemy Core + pydantic": lambda: Model(
            **sa.execute(sa_one, {"id": pk}).one()._mapping
        ),
        "aiosql (tuple)": lambda: aq_sql.get_agent_runtime(conn, id=pk),
    }
    many: dict[str, Callable[[], object]] = {
        "raw psycopg (tuples)": raw_many,
        "multica-db list_agent_runtimes": lambda: q.list_agent_runtimes(conn, workspace_id=ws),
        PAUSED: lambda: _paused(lambda: q.list_agent_runtimes(conn, workspace_id=ws)),
        "psycopg class_row (pydantic)": class_row_many,
        "SQLAlchemy Core + pydantic": lambda: [
            Model(**r._mapping) for r in sa.execute(sa_many, {"workspace_id": ws})
        ],
        "aiosql (tuples)": lambda: list(aq_sql.list_agent_runtimes(conn, workspace_id=ws)),
    }
    for fn in [*one.values(), *many.values()]:  # warm up: prepared statements, caches
        for _ in range(6):
            fn()
    assert len(q.list_agent_runtimes(conn, workspace_id=ws)) == cfg["rows"]

    s_one, s_many = Samples(), Samples()
    for k in range(cfg["one_samples"]):  # many short samples: the median shrugs off bursts
        for label, fn in _rotated(one, k):
            n = cfg["one_calls"]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            s_one.add(label, time.perf_counter() - t, n)
    for k in range(cfg["many_samples"]):
        for label, fn in _rotated(many, k):
            s_many.add(label, timed(fn), unit="ms")
    frozen = {
        FROZEN_RAW: raw_many,
        FROZEN: lambda: q.list_agent_runtimes(conn, workspace_id=ws),
    }
    gc.freeze()  # what a service may do once started: its long-lived objects leave the GC's way
    try:
        for k in range(cfg["many_samples"]):
            for label, fn in _rotated(frozen, k):
                s_many.add(label, timed(fn), unit="ms")
    finally:
        gc.unfreeze()

    # --- writes: each sample in its own transaction, rows deleted afterwards ---------------
    wconn = psycopg.connect(_url(DB))
    waq = aiosql.from_str(AIOSQL, "psycopg")
    wsa = engine.connect()
    s_exec, s_bulk = Samples(), Samples()
    counter = iter(range(10**9))

    def tag() -> str:
        return f"b{next(counter)}"

    def cleanup() -> None:
        wsa.rollback()
        wconn.rollback()
        wconn.execute("DELETE FROM agent_runtime WHERE daemon_id NOT LIKE 'seed-%'")
        wconn.commit()

    n_exec, n_batch, n_copy = cfg["exec_calls"], cfg["batch"], cfg["copy"]
    for _ in range(cfg["samples"]):
        t0 = tag()
        args = [_params_tuple(ws, t0, i) for i in range(n_exec)]
        s_exec.add("raw psycopg execute", timed(lambda: _loop_raw(wconn, args)), n_exec)
        wconn.commit()
        t1 = tag()
        kw = [_params_kwargs(ws, t1, i) for i in range(n_exec)]
        s_exec.add(
            "multica-db insert_agent_runtime",
            timed(lambda: [bq.insert_agent_runtime(wconn, **k) for k in kw]),
            n_exec,
        )
        wconn.commit()
        t2 = tag()
        dicts = [_params_dict(ws, t2, i) for i in range(n_exec)]
        s_exec.add(
            "SQLAlchemy Core", timed(lambda: [wsa.execute(sa_insert, d) for d in dicts]), n_exec
        )
        wsa.commit()
        t3 = tag()
        dicts3 = [_params_dict(ws, t3, i) for i in range(n_exec)]
        s_exec.add(
            "aiosql",
            timed(lambda: [waq.insert_agent_runtime(wconn, **d) for d in dicts3]),
            n_exec,
        )
        wconn.commit()
        cleanup()

        # bulk, per row
        kw = [_params_kwargs(ws, tag(), i) for i in range(n_batch)]
        s_bulk.add(
            f"loop of {n_batch:,} single :exec inserts (multica-db)",
            timed(lambda: [bq.insert_agent_runtime(wconn, **k) for k in kw]),
            n_batch,
        )
        wconn.commit()
        params = [
            bq.InsertAgentRuntimesParams(**_params_kwargs(ws, tag(), i)) for i in range(n_batch)
        ]
        s_bulk.add(
            f":batchexec of {n_batch:,} (multica-db, pipeline)",
            timed(lambda: bq.insert_agent_runtimes(wconn, params)),
            n_batch,
        )
        wconn.commit()
        args = [_params_tuple(ws, tag(), i) for i in range(n_batch)]

        def raw_executemany() -> None:
            with RawCursor(wconn) as cur:
                cur.executemany(INSERT, args)

        s_bulk.add(f"raw psycopg executemany {n_batch:,}", timed(raw_executemany), n_batch)
        wconn.commit()
        dicts = [_params_dict(ws, tag(), i) for i in range(n_batch)]
        s_bulk.add(
            f"SQLAlchemy Core executemany {n_batch:,}",
            timed(lambda: wsa.execute(sa_insert, dicts)),
            n_batch,
        )
        wsa.commit()
        dicts = [_params_dict(ws, tag(), i) for i in range(n_batch)]
        s_bulk.add(
            f"aiosql *! {n_batch:,}",
            timed(lambda: waq.insert_agent_runtimes(wconn, dicts)),
            n_batch,
        )
        wconn.commit()
        cparams = [
            bq.CopyAgentRuntimesParams(**_params_kwargs(ws, tag(), i)) for i in range(n_copy)
        ]
        s_bulk.add(
            f":copyfrom of {n_copy:,} (multica-db, COPY)",
            timed(lambda: bq.copy_agent_runtimes(wconn, cparams)),
            n_copy,
        )
        wconn.commit()
        rows = [_params_tuple(ws, tag(), i) for i in range(n_copy)]

        def raw_copy() -> None:
            with (
                RawCursor(wconn) as cur,
                cur.copy(f"COPY agent_runtime ({COLS}) FROM STDIN") as cp,
            ):
                cp.set_types(
                    ["uuid", "text", "text", "text", "text", "text", "text", "jsonb", "uuid"]
                )
                for r in rows:
                    cp.write_row(r)

        s_bulk.add(f"raw psycopg COPY {n_copy:,}", timed(raw_copy), n_copy)
        wconn.commit()
        cleanup()
    for c in (conn, wconn):
        c.close()
    sa.close()
    wsa.close()
    engine.dispose()
    return {
        "one": list(s_one.rows.values()),
        "many": list(s_many.rows.values()),
        "exec": list(s_exec.rows.values()),
        "bulk": list(s_bulk.rows.values()),
    }


def _loop_raw(conn: psycopg.Connection[Any], args: list[tuple[Any, ...]]) -> None:
    for a in args:
        with RawCursor(conn) as cur:
            cur.execute(INSERT, a)


async def bench_async(ws: uuid.UUID, pk: uuid.UUID, cfg: dict[str, int]) -> dict[str, list[Row]]:
    import aiosql
    from bench_db.queries.aio import bench_runtime as baq  # type: ignore[import-not-found]
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    conn = await psycopg.AsyncConnection.connect(_url(DB), autocommit=True)
    engine = create_async_engine(
        "postgresql+psycopg://",
        async_creator=lambda: psycopg.AsyncConnection.connect(_url(DB)),
    )
    sa = await engine.connect()
    aq_sql = aiosql.from_str(AIOSQL, "apsycopg")
    sa_one = text(_statement(q.GET_AGENT_RUNTIME).replace("$1", ":id"))
    sa_many = text(_statement(q.LIST_AGENT_RUNTIMES).replace("$1", ":workspace_id"))
    Model = models.AgentRuntime

    async def raw_one() -> object:
        async with AsyncRawCursor(conn) as cur:
            await cur.execute(q.GET_AGENT_RUNTIME, (pk,))
            return await cur.fetchone()

    kept = AsyncRawCursor(conn)

    async def raw_one_kept() -> object:
        await kept.execute(q.GET_AGENT_RUNTIME, (pk,))
        return await kept.fetchone()

    async def paused_many() -> object:
        gc.disable()
        try:
            return await aq.list_agent_runtimes(conn, workspace_id=ws)
        finally:
            gc.enable()

    async def class_row_one() -> object:
        async with AsyncRawCursor(conn, row_factory=class_row(Model)) as cur:
            await cur.execute(q.GET_AGENT_RUNTIME, (pk,))
            return await cur.fetchone()

    async def sa_one_fn() -> object:
        return Model(**(await sa.execute(sa_one, {"id": pk})).one()._mapping)

    async def raw_many() -> object:
        async with AsyncRawCursor(conn) as cur:
            await cur.execute(q.LIST_AGENT_RUNTIMES, (ws,))
            return await cur.fetchall()

    async def class_row_many() -> object:
        async with AsyncRawCursor(conn, row_factory=class_row(Model)) as cur:
            await cur.execute(q.LIST_AGENT_RUNTIMES, (ws,))
            return await cur.fetchall()

    async def aiosql_many() -> object:
        res = aq_sql.list_agent_runtimes(conn, workspace_id=ws)
        if hasattr(res, "__aiter__"):  # aiosql ≥ 13 streams selects on async drivers
            return [r async for r in res]
        return await res

    async def sa_many_fn() -> object:
        return [Model(**r._mapping) for r in await sa.execute(sa_many, {"workspace_id": ws})]

    one: dict[str, Callable[[], Awaitable[object]]] = {
        ONE_FLOOR: raw_one_kept,
        "raw psycopg (tuple), a new cursor per call": raw_one,
        "multica-db get_agent_runtime": lambda: aq.get_agent_runtime(conn, id=pk),
        "psycopg class_row (pydantic)": class_row_one,
        "SQLAlchemy Core + pydantic": sa_one_fn,
        "aiosql (tuple)": lambda: aq_sql.get_agent_runtime(conn, id=pk),
    }
    many: dict[str, Callable[[], Awaitable[object]]] = {
        "raw psycopg (tuples)": raw_many,
        "multica-db list_agent_runtimes": lambda: aq.list_agent_runtimes(conn, workspace_id=ws),
        PAUSED: paused_many,
        "psycopg class_row (pydantic)": class_row_many,
        "SQLAlchemy Core + pydantic": sa_many_fn,
        "aiosql (tuples)": aiosql_many,
    }
    for fn in [*one.values(), *many.values()]:
        for _ in range(6):
            await fn()
    s_one, s_many, s_bulk = Samples(), Samples(), Samples()
    for k in range(cfg["one_samples"]):
        for label, fn in _rotated(one, k):
            n = cfg["one_calls"]
            t = time.perf_counter()
            for _ in range(n):
                await fn()
            s_one.add(label, time.perf_counter() - t, n)
    for k in range(cfg["many_samples"]):
        for label, fn in _rotated(many, k):
            t = time.perf_counter()
            result = await fn()
            s_many.add(label, time.perf_counter() - t, unit="ms")
            del result  # freed outside the timing, as in _timed

    wconn = await psycopg.AsyncConnection.connect(_url(DB))
    n_batch, n_copy = cfg["batch"], cfg["copy"]
    counter = iter(range(10**9))
    for _ in range(cfg["samples"]):
        kw = [_params_kwargs(ws, f"a{next(counter)}", i) for i in range(n_batch)]
        t = time.perf_counter()
        for k in kw:
            await baq.insert_agent_runtime(wconn, **k)
        s_bulk.add(
            f"loop of {n_batch:,} single :exec inserts (multica-db)",
            time.perf_counter() - t,
            n_batch,
        )
        await wconn.commit()
        params = [
            baq.InsertAgentRuntimesParams(**_params_kwargs(ws, f"a{next(counter)}", i))
            for i in range(n_batch)
        ]
        t = time.perf_counter()
        await baq.insert_agent_runtimes(wconn, params)
        s_bulk.add(
            f":batchexec of {n_batch:,} (multica-db, pipeline)", time.perf_counter() - t, n_batch
        )
        await wconn.commit()
        cparams = [
            baq.CopyAgentRuntimesParams(**_params_kwargs(ws, f"a{next(counter)}", i))
            for i in range(n_copy)
        ]
        t = time.perf_counter()
        await baq.copy_agent_runtimes(wconn, cparams)
        s_bulk.add(f":copyfrom of {n_copy:,} (multica-db, COPY)", time.perf_counter() - t, n_copy)
        await wconn.commit()
        await wconn.execute("DELETE FROM agent_runtime WHERE daemon_id NOT LIKE 'seed-%'")
        await wconn.commit()
    await conn.close()
    await wconn.close()
    await sa.close()
    await engine.dispose()
    return {
        "one": list(s_one.rows.values()),
        "many": list(s_many.rows.values()),
        "bulk": list(s_bulk.rows.values()),
    }


def _paired(res: dict[str, list[Row]], group: str, a: str, b: str) -> float:
    """Median over samples of a's time / b's time, both measured in the same sample.

    Approaches run interleaved within a sample, so the pair saw the same background
    load: this ratio is steadier on a shared machine than the ratio of the medians.
    """
    ra = next(r for r in res[group] if r.label.startswith(a))
    rb = next(r for r in res[group] if r.label.startswith(b))
    return statistics.median(x / y for x, y in zip(ra.samples, rb.samples, strict=True))


def _verdicts(res: dict[str, list[Row]], prefix: str) -> list[str]:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    out = []
    r = _paired(res, "one", "multica-db", ONE_FLOOR)
    fresh = _paired(res, "one", "raw psycopg (tuple), a new", ONE_FLOOR)
    out.append(
        f"{prefix} :one within 10% of raw psycopg on a reused cursor: {r:.2f}× → "
        f"{verdict(r <= 1.10)} (raw psycopg with a new cursor per call: {fresh:.2f}×)"
    )
    r = _paired(res, "many", "multica-db", "raw psycopg")
    paused = _paired(res, "many", PAUSED, "raw psycopg (tuples)")
    frozen = (
        f"; after gc.freeze(): {_paired(res, 'many', FROZEN, FROZEN_RAW):.2f}×"
        if any(x.label == FROZEN for x in res["many"])
        else ""
    )
    ours = next(x for x in res["many"] if x.label.startswith("multica-db"))
    raw = next(x for x in res["many"] if x.label.startswith("raw psycopg"))
    quiet = min(ours.samples) / min(raw.samples)
    sa = _paired(res, "many", "multica-db", "SQLAlchemy")
    out.append(
        f"{prefix} :many 10k within 1.5× raw tuples: {r:.2f}× → {verdict(r <= 1.5)} "
        f"(least disturbed runs: {quiet:.2f}×; with the collector paused: {paused:.2f}×"
        f"{frozen}); "
        f"vs SQLAlchemy Core + pydantic: {sa:.2f}× → {verdict(sa < 1)}"
    )
    for start in (":batchexec", ":copyfrom"):
        x = 1 / _paired(res, "bulk", start, "loop of")
        out.append(
            f"{prefix} {start} vs a loop of single inserts, per row: {x:.1f}× faster → "
            f"{verdict(x >= 5)}"
        )
    return out


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="fewer calls and samples")
    args = ap.parse_args(argv)
    quick = {"samples": 3, "one_samples": 5, "one_calls": 200, "many_samples": 3,
             "exec_calls": 200, "batch": 1_000, "copy": 20_000}  # fmt: skip
    full = {"samples": 7, "one_samples": 21, "one_calls": 300, "many_samples": 11,
            "exec_calls": 500, "batch": 1_000, "copy": 100_000}  # fmt: skip
    cfg = {"rows": 10_000, **(quick if args.quick else full)}
    _generate_bench_package()
    ws, pk = setup(cfg["rows"])
    sync = bench_sync(ws, pk, cfg)
    aio = asyncio.run(bench_async(ws, pk, cfg))
    titles = {
        "one": (":one by primary key (per call)", ONE_FLOOR),
        "many": (f":many of {cfg['rows']:,} rows × 14 columns (per call)", "raw psycopg (tuples)"),
        "exec": (":exec insert (per call)", "raw psycopg execute"),
        "bulk": ("bulk inserts (per row)", None),
    }
    out = []
    for mode, res in (("sync", sync), ("async", aio)):
        for group, rows in res.items():
            title, base = titles[group]
            if group == "bulk":
                base = next(r.label for r in rows if r.label.startswith("loop of"))
            text = table(f"Queries ({mode}): {title}", rows, baseline=base)
            print(text, flush=True)
            out.append(text)
    verdicts = _verdicts(sync, "sync") + _verdicts(aio, "async")
    print("Targets (median of per-sample paired ratios):")
    print("\n".join(verdicts))
    out.append("\n".join(f"- {v}" for v in verdicts) + "\n")
    save("queries", {"machine": machine(), "config": cfg, "sync": sync, "async": aio})
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'.encode())
    return "\n".join(out)


if __name__ == "__main__":
    main()
