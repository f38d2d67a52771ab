"""Where the engine cannot follow a statement, every column is reported nullable."""

from __future__ import annotations

from pathlib import Path

import pytest

from multica_db_codegen.analyze.nullability import STRICT_ENV
from multica_db_codegen.analyze.nullability_scope import Unsupported
from multica_db_codegen.processors import run_analyze
from tests.nullability.corpus import SCHEMA

# Column aliases on a join alias are a shape the engine does not model.
SQL = (
    "-- name: Renamed :many\n"
    "SELECT j.a, j.b FROM (team t JOIN person p ON p.team_id = t.id) AS j (a, b);\n"
)


def test_an_unsupported_shape_degrades_to_nullable(
    pg_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    qfile = tmp_path / "q.sql"
    qfile.write_text(SQL)
    ir = run_analyze(schema=(SCHEMA,), queries=(qfile,), database_url=pg_server)[0]
    (q,) = [q for f in ir.files for q in f.queries]
    # Both are NOT NULL table columns: "nullable" is the safe, conservative answer.
    assert [(c.name, c.nullable) for c in q.columns] == [("a", True), ("b", True)]


def test_strict_mode_surfaces_the_gap(
    pg_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STRICT_ENV, "1")
    qfile = tmp_path / "q.sql"
    qfile.write_text(SQL)
    with pytest.raises(Unsupported):
        run_analyze(schema=(SCHEMA,), queries=(qfile,), database_url=pg_server)[0]
