"""The generator's caches never serve stale output: every input change is seen."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from multica_db_codegen.analyze import cache as caching
from multica_db_codegen.pipeline import fast_generate

Cli = Callable[..., tuple[int, str, str]]
Project = Callable[..., Path]

QUERIES = """-- name: GetAuthor :one
SELECT * FROM author WHERE id = $1;

-- name: ListAuthorNames :many
SELECT id, name FROM author ORDER BY id;
"""


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*.py"))}


def test_query_edit_schema_edit_and_config_edit_all_change_output(
    cli: Cli, project: Project
) -> None:
    root = project(QUERIES)
    out = root / "out" / "pkg"
    assert cli(root, "generate")[0] == 0
    assert list((root / ".multica-db" / "cache").glob("run-*.json"))

    (root / "queries" / "authors.sql").write_text(
        QUERIES + "\n-- name: CountAuthors :one\nSELECT count(*) FROM author;\n"
    )
    assert cli(root, "generate")[0] == 0
    assert "def count_authors(" in (out / "queries" / "authors.py").read_text()

    schema = root / "schema" / "001_init.up.sql"
    schema.write_text(schema.read_text().replace("born date", "born date,\n    nickname text"))
    assert cli(root, "generate")[0] == 0
    assert "nickname: str | None" in (out / "models.py").read_text()

    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.multica-db.rename]\nauthor = "Writer"\n')
    assert cli(root, "generate")[0] == 0
    assert "class Writer(pydantic.BaseModel)" in (out / "models.py").read_text()


def test_cached_and_uncached_runs_agree(
    cli: Cli, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(QUERIES)
    out = root / "out" / "pkg"
    assert cli(root, "generate")[0] == 0
    cached = tree(out)
    # A file edited by hand is restored from the run cache, and --check sees it first.
    (out / "models.py").write_text("# edited\n")
    assert cli(root, "generate", "--check")[0] == 1
    assert cli(root, "generate")[0] == 0
    assert tree(out) == cached
    monkeypatch.setenv(caching.ENV_OFF, "1")
    for p in out.rglob("*.py"):
        p.unlink()
    assert cli(root, "generate")[0] == 0
    assert tree(out) == cached


def test_fast_path_generates_checks_and_leaves_errors_to_the_cli(
    project: Project,
    analyzer_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project(QUERIES)
    out = root / "out" / "pkg"
    monkeypatch.chdir(root)
    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", analyzer_url)
    assert fast_generate(["generate", "--check"]) == 1  # nothing generated yet: stale
    assert "+++ b/out/pkg/models.py" in capsys.readouterr().out
    assert fast_generate(["generate"]) == 0
    assert "11 file(s) written" in capsys.readouterr().err
    assert fast_generate(["generate"]) == 0  # the run cache answers
    assert "0 file(s) written" in capsys.readouterr().err
    assert fast_generate(["generate", "--check"]) == 0
    assert fast_generate(["generate", "--help"]) is None
    assert fast_generate(["analyze"]) is None
    before = tree(out)
    (root / "queries" / "authors.sql").write_text(QUERIES + "\n-- name: Bad :one\nSELEC 1;\n")
    assert fast_generate(["generate"]) is None  # the CLI reports the error
    assert tree(out) == before


def test_console_script_runs_generate(project: Project, analyzer_url: str) -> None:
    root = project(QUERIES)
    env = {**os.environ, "MULTICA_DB_ANALYZER_URL": analyzer_url}
    cmd = [sys.executable, "-m", "multica_db_codegen.cli", "generate"]
    first = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "11 file(s) written" in first.stderr
    again = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert (again.returncode, again.stderr.strip()) == (0, "0 file(s) written")


def test_ir_round_trips_through_json() -> None:
    from multica_db_codegen.analyze.ir import ColumnIR, FileIR, ParamIR, QueryIR, TypeRef

    int4 = TypeRef(23, "integer", "base", "pg_catalog", "int4")
    arr = TypeRef(1007, "integer[]", "array", "pg_catalog", "_int4", element=int4)
    q = QueryIR(
        file="q.sql",
        line=1,
        name="Q",
        cmd="many",
        doc=("a", "b"),
        sql="SELECT $1::int[]",
        statement="select",
        params=(ParamIR(1, "xs", arr, False),),
        columns=(ColumnIR("int4", arr, True),),
        table_model=None,
        row_guaranteed=False,
    )
    f = FileIR("q.sql", "q", (q,))
    assert caching.decode(caching.encode(f)) == f


def test_each_query_files_analysis_is_saved_after_a_cold_run(
    project: Project, analyzer_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cold path encodes the per-file analyses in a thread while ruff runs: they land."""
    import json

    root = project(QUERIES)
    (root / "queries" / "more.sql").write_text(
        "-- name: CountAuthors :one\nSELECT count(*) FROM author;\n"
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", analyzer_url)
    assert fast_generate(["generate"]) == 0
    entries = json.loads((root / ".multica-db" / "cache" / "analysis.json").read_text())
    decoded = sorted(caching.decode(raw).module for raw in entries.values())
    assert decoded == ["authors", "more"]
