"""Session fixtures: analyse the corpus once, run it on every dataset once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.string import TextLoader

from multica_db_codegen.analyze.ir import QueryIR
from multica_db_codegen.analyze.nullability import STRICT_ENV
from multica_db_codegen.processors import run_analyze
from tests.nullability.corpus import SCHEMA, Case, load_corpus, load_datasets, query_file
from tests.pg import fresh_database


@dataclass(frozen=True, slots=True)
class Run:
    """One query on one dataset: its rows, or the error PostgreSQL raised."""

    rows: list[tuple[Any, ...]]
    error: str | None = None


@pytest.fixture(scope="session")
def corpus() -> list[Case]:
    return load_corpus()


@pytest.fixture(scope="session")
def corpus_file(corpus: list[Case], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nullability") / "corpus.sql"
    path.write_text(query_file(corpus))
    return path


@pytest.fixture(scope="session")
def analysis(pg_server: str, corpus_file: Path) -> Iterator[dict[str, QueryIR]]:
    """Our analyzer's view of every corpus query (engine fallbacks raise, not hide)."""
    old = os.environ.get(STRICT_ENV)
    os.environ[STRICT_ENV] = "1"
    try:
        ir = run_analyze(schema=(SCHEMA,), queries=(corpus_file,), database_url=pg_server)[0]
    finally:
        if old is None:
            del os.environ[STRICT_ENV]
        else:
            os.environ[STRICT_ENV] = old
    yield {q.name: q for f in ir.files for q in f.queries}


@pytest.fixture(scope="session")
def runs(
    pg_server: str, corpus: list[Case], analysis: dict[str, QueryIR]
) -> dict[tuple[str, str], Run]:
    """Every query on every dataset, each dataset in one rolled-back transaction."""
    out: dict[tuple[str, str], Run] = {}
    with fresh_database(pg_server, prefix="multica_nullability") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA.read_text().encode())
        with psycopg.connect(url, options="-c jit=off") as conn:  # tiny data, no JIT
            # Read JSON as text: psycopg would turn the JSON value null into None,
            # which is not an SQL NULL.
            for json_type in ("json", "jsonb"):
                conn.adapters.register_loader(json_type, TextLoader)
            for dataset, load in load_datasets().items():
                if load.strip():
                    conn.execute(load.encode())
                for case in corpus:
                    sql = analysis[case.name].sql
                    conn.execute("SAVEPOINT q")
                    try:
                        with psycopg.RawCursor(conn) as cur:  # $N placeholders, as generated
                            rows = cur.execute(sql.encode(), case.params or None).fetchall()
                        out[(case.name, dataset)] = Run(list(rows))
                    except psycopg.Error as exc:
                        out[(case.name, dataset)] = Run([], str(exc))
                    conn.execute("ROLLBACK TO SAVEPOINT q")
                conn.rollback()
    return out
