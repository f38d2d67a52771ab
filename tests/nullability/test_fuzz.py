"""Random queries: whatever our analyzer calls NOT NULL must never be NULL on any dataset.

The corpus proves the shapes someone thought of; this hunts for the ones nobody
did. Conservative answers are allowed here, unsafe ones are not.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.types.string import TextLoader

from multica_db_codegen.processors import run_analyze
from tests.nullability.corpus import SCHEMA, load_datasets
from tests.nullability.fuzz import make_queries
from tests.pg import fresh_database

SEED = 20261129
COUNT = 600


def test_random_queries_never_return_null_where_we_promise_not_null(
    pg_server: str, tmp_path: Path
) -> None:
    queries = make_queries(SEED, COUNT)
    qfile = tmp_path / "fuzz.sql"
    qfile.write_text("".join(f"-- name: Fuzz{i} :many\n{q};\n\n" for i, q in enumerate(queries)))
    ir = run_analyze(schema=(SCHEMA,), queries=(qfile,), database_url=pg_server, keep_going=True)[0]
    analysed = [q for f in ir.files for q in f.queries if q.error is None]
    assert len(analysed) >= COUNT * 0.9, "the generator should produce valid SQL"
    promised = sum(not c.nullable for q in analysed for c in q.columns)
    assert promised >= COUNT // 2, "enough NOT NULL promises to make the test meaningful"

    unsafe: list[str] = []
    with fresh_database(pg_server, prefix="multica_nullability_fuzz") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA.read_text().encode())
        with psycopg.connect(url, options="-c jit=off") as conn:  # tiny data, no JIT
            for t in ("json", "jsonb"):
                conn.adapters.register_loader(t, TextLoader)
            for dataset, load in load_datasets().items():
                if load.strip():
                    conn.execute(load.encode())
                for q in analysed:
                    conn.execute("SAVEPOINT q")  # DML must not change the next query's data
                    try:
                        rows = conn.execute(q.sql.encode()).fetchall()
                    except psycopg.IntegrityError:
                        rows = []  # random DML can break a foreign key: nothing to check
                    conn.execute("ROLLBACK TO SAVEPOINT q")
                    if q.row_guaranteed and not rows:
                        unsafe.append(f"{q.name}: no row where one is promised: {q.sql}")
                    for i, c in enumerate(q.columns):
                        if not c.nullable and any(row[i] is None for row in rows):
                            unsafe.append(f"{q.name}.{c.name} on {dataset}: {q.sql}")
                conn.rollback()
    if unsafe:
        pytest.fail("NULL in columns called NOT NULL:\n" + "\n".join(unsafe[:10]))
