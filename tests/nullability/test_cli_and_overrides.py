"""The same verdicts through ``multica-db analyze --json``, and the ``!``/``?`` overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from multica_db_codegen.analyze.ir import QueryIR
from tests.nullability.conftest import Run
from tests.nullability.corpus import SCHEMA, Case


def test_cli_json_reports_the_corpus_expectations(
    pg_server: str, corpus_file: Path, corpus: list[Case], tmp_path: Path
) -> None:
    cli = Path(sys.executable).parent / "multica-db"
    env = {**os.environ, "MULTICA_DB_NO_CACHE": "1"}
    done = subprocess.run(
        [str(cli), "analyze", "--json", "--schema", str(SCHEMA), "--queries", str(corpus_file),
         "--database-url", pg_server],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    doc = json.loads(done.stdout)
    queries = {q["name"]: q for f in doc["files"] for q in f["queries"]}
    for case in corpus:
        cols = queries[case.name]["columns"]
        assert [(c["name"], c["nullable"]) for c in cols] == [
            (e.name, e.reported) for e in case.cols
        ], case.name


def test_overrides_strip_the_suffix_and_leave_the_sql_alone(
    analysis: dict[str, QueryIR], runs: dict[tuple[str, str], Run]
) -> None:
    forced_not_null = analysis["ForceNotNullOverOuterJoin"]
    # The engine alone says nullable (an OR proves nothing); "!" wins.
    assert [(c.name, c.nullable) for c in forced_not_null.columns] == [("nickname", False)]
    assert '"nickname!"' in forced_not_null.sql
    forced_nullable = analysis["ForceNullable"]
    assert [(c.name, c.nullable) for c in forced_nullable.columns] == [
        ("id", True),
        ("name", True),
    ]
    assert '"id?"' in forced_nullable.sql
    # The statement runs as written: PostgreSQL itself names the column with the suffix.
    assert sorted(runs[("ForceNullable", "full")].rows) == [(1, "Ann"), (2, "Bob")]
