"""``analyze --json`` is lossless, and rendering from it is ``generate``, byte for byte.

Checked on this repository's own queries and on the dialect tests' projects
(every type family, overrides and renames, an existing sqlc project): the IR is
analyzed, written as JSON, read back (equal to the original), rendered by
``multica-db render --ir`` into a fresh directory, and every file compared with
what ``generate`` wrote.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from multica_db_codegen.analyze.ir import (
    AnalysisIR,
    Command,
    RelationKind,
    StatementKind,
    TypeKind,
)
from multica_db_codegen.analyze.ir_codec import document as to_json
from multica_db_codegen.analyze.ir_codec import read_document as from_json
from multica_db_codegen.processors import run_analyze
from tests.clirun import invoke
from tests.dialect import test_corpus_features as corpus_case
from tests.dialect import test_overrides_rename as overrides_case
from tests.dialect.harness import Generated, generate, write_project

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).parent / "sample_sqlc_project"


def _tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.py"))}


def _render_matches_generate(
    root: Path,
    generated: Path,
    tmp: Path,
    server: str,
    sqlc_config: str | None = None,
    package: str | None = None,
) -> None:
    sqlc = root / sqlc_config if sqlc_config else None
    ir = run_analyze(cwd=root, database_url=server, sqlc_config=sqlc)[0]
    doc = tmp / "analysis.json"
    doc.write_text(json.dumps(to_json(ir), indent=2), encoding="utf-8")
    assert from_json(json.loads(doc.read_text(encoding="utf-8"))) == ir  # lossless

    out = tmp / "rendered" / (package or generated.name)
    args = ["render", "--ir", str(doc), "--out", str(out)]
    args += ["--sqlc-config", sqlc_config] if sqlc_config else []
    args += ["--package", package] if package else []
    old = Path.cwd()
    try:
        import os

        os.chdir(root)
        result = invoke(args)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    rendered = _tree(out)
    if not _tree(generated).get("__init__.py", b"# generated").startswith(b"# generated"):
        del rendered["__init__.py"]  # a hand-written one: generate leaves it, render adds one
    expected = {rel: data for rel, data in _tree(generated).items() if rel in rendered}
    assert rendered.keys() == expected.keys() and rendered
    for rel in rendered:
        assert rendered[rel] == expected[rel], rel


def test_our_own_queries(tmp_path: Path, pg_server: str) -> None:
    ours = ROOT / "src" / "multica_db"
    _render_matches_generate(ROOT, ours, tmp_path, pg_server, package="multica_db")
    generated = {rel for rel in _tree(ours) if rel.startswith(("models", "queries/", "runtime/"))}
    assert generated <= set(_tree(tmp_path / "rendered" / "multica_db"))


def test_the_dialect_project(dialect: Generated, dialect_root: Path, pg_server: str,
                             tmp_path: Path) -> None:  # fmt: skip
    _render_matches_generate(dialect_root, dialect.root / "dialectpkg", tmp_path, pg_server)


def test_the_corpus_features_project(tmp_path: Path, pg_server: str) -> None:
    root = tmp_path / "project"
    write_project(
        root,
        schema={"s.sql": corpus_case.SCHEMA},
        queries={"jobs.sql": corpus_case.QUERIES},
        package="irjobs",
    )
    generate(root, pg_server, "irjobs")
    _render_matches_generate(root, root / "out" / "irjobs", tmp_path, pg_server)


def test_overrides_and_renames(tmp_path: Path, pg_server: str) -> None:
    root = tmp_path / "project"
    write_project(
        root,
        schema={"schema.sql": overrides_case.SCHEMA},
        queries={"items.sql": overrides_case.QUERIES},
        package="irover",
        extra_toml=overrides_case.OVERRIDES,
    )
    generate(root, pg_server, "irover")
    _render_matches_generate(root, root / "out" / "irover", tmp_path, pg_server)


def test_an_existing_sqlc_project(tmp_path: Path, pg_server: str) -> None:
    root = tmp_path / "sqlc"
    shutil.copytree(SAMPLE, root / "project")
    from multica_db_codegen.processors import run_generate

    run_generate(
        cwd=root, database_url=pg_server, sqlc_config=root / "project" / "sqlc.yaml",
        out=root / "gen" / "bookstore",
    )  # fmt: skip
    _render_matches_generate(
        root, root / "gen" / "bookstore", tmp_path, pg_server, sqlc_config="project/sqlc.yaml"
    )


def test_a_document_that_is_not_an_analysis_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"files": [{"path": "q.sql"}], "tables": [], "enums": []}))
    old = Path.cwd()
    try:
        import os

        os.chdir(ROOT)
        result = invoke(["render", "--ir", str(bad), "--check"])
    finally:
        os.chdir(old)
    assert result.exit_code == 1
    assert "not an `analyze --json` document" in result.output
    with pytest.raises(ValueError, match=r"\$\.files\[0\]\.queries: expected an array"):
        from_json({"files": [{"path": "q.sql", "module": "q", "queries": {}}], "tables": [],
                   "enums": []})  # fmt: skip


def _typed(ir: AnalysisIR) -> bool:
    """Every closed set of values in the IR is its enum, not a bare string."""
    queries = [q for f in ir.files for q in f.queries]
    types = [c.type for q in queries for c in (*q.params, *q.columns)]
    return (
        all(type(q.cmd) is Command and type(q.statement) is StatementKind for q in queries)
        and all(type(t.kind) is TypeKind for t in types)
        and all(type(t.kind) is RelationKind for t in ir.tables)
    )


def test_the_ir_is_typed_before_and_after_json(pg_server: str) -> None:
    ir = run_analyze(cwd=ROOT, database_url=pg_server)[0]
    assert _typed(ir) and ir.files and ir.tables
    again = from_json(json.loads(json.dumps(to_json(ir))))
    assert again == ir and _typed(again)
