"""``generate --check`` on a fresh clone with no database reachable: the analysis snapshot.

A project is generated once with the analyzer reachable, then copied as a clone holds it
(no ``.multica-db/cache/``) and checked with ``MULTICA_DB_ANALYZER_URL`` pointing at a port
nothing listens on — any attempt to analyze would fail the check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from multica_db_codegen.snapshot import jsonfile
from tests.clirun import invoke

Project = Callable[..., Path]
UNREACHABLE = "postgresql://127.0.0.1:1/nothing"

QUERIES = """-- name: GetAuthor :one
SELECT * FROM author WHERE id = $1;

-- name: ListMoods :many
SELECT DISTINCT mood FROM author;
"""
OTHER = """-- name: CountAuthors :one
SELECT count(*) FROM author;
"""


def _run(cwd: Path, *args: str, url: str | None) -> tuple[int, str]:
    """``multica-db ARGS`` in ``cwd``; ``url`` None: no analyzer URL at all."""
    old = Path.cwd()
    os.chdir(cwd)
    saved = os.environ.pop("MULTICA_DB_ANALYZER_URL", None)
    try:
        result = invoke(args, env={} if url is None else {"MULTICA_DB_ANALYZER_URL": url})
    finally:
        os.chdir(old)
        os.environ.pop("MULTICA_DB_ANALYZER_URL", None)
        if saved is not None:
            os.environ["MULTICA_DB_ANALYZER_URL"] = saved
    return result.exit_code, result.stdout + result.stderr


def _clone(root: Path, dest: Path) -> Path:
    """What a clone holds: everything but the per-machine cache."""
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("cache"))
    return dest


@pytest.fixture
def generated(project: Project, analyzer_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MULTICA_DB_NO_CACHE", raising=False)
    root = project(QUERIES)
    (root / "queries" / "other.sql").write_text(OTHER)
    code, out = _run(root, "generate", url=analyzer_url)
    assert code == 0, out
    return root


@pytest.fixture
def clone(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clone(generated, tmp_path_factory.mktemp("clone") / "project")


def test_generate_writes_one_snapshot_file_per_query_file(generated: Path) -> None:
    snap = generated / ".multica-db" / "snapshot"
    assert sorted(p.relative_to(snap).as_posix() for p in snap.rglob("*.json")) == [
        "index.json",
        "queries/authors.sql.json",
        "queries/other.sql.json",
        "schema.json",
    ]
    text = (snap / "queries" / "authors.sql.json").read_text()
    assert str(generated) not in text  # no machine path
    doc = json.loads(text)
    assert [q["name"] for q in doc["analysis"]["queries"]] == ["GetAuthor", "ListMoods"]
    assert jsonfile.dumps(doc) == text  # the deterministic layout


def test_a_fresh_clone_checks_with_the_analyzer_unreachable(clone: Path) -> None:
    code, out = _run(clone, "generate", "--check", url=UNREACHABLE)
    assert code == 0, out
    assert "generated code is up to date" in out


def test_a_fresh_clone_without_an_analyzer_starts_no_embedded_server(
    clone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_cache = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    code, out = _run(clone, "generate", "--check", url=None)
    assert code == 0, out
    assert not (user_cache / "multica-db").exists()  # where the embedded server would live


def test_rendering_from_the_snapshot_gives_the_generated_bytes(clone: Path) -> None:
    """With the index's renderer key changed, the check renders the snapshot itself."""
    index = clone / ".multica-db" / "snapshot" / "index.json"
    doc = json.loads(index.read_text())
    doc["renderer"] = "another renderer"
    index.write_text(jsonfile.dumps(doc))
    code, out = _run(clone, "generate", "--check", url=UNREACHABLE)
    assert code == 0, out


def test_one_query_edit_without_regenerating_fails_naming_the_file(clone: Path) -> None:
    (clone / "queries" / "other.sql").write_text(OTHER.replace("count(*)", "count(id)"))
    code, out = _run(clone, "generate", "--check", url=UNREACHABLE)
    assert code == 1
    assert "query file queries/other.sql changed since the snapshot" in out
    assert "authors.sql" not in out  # only what is stale is named
    assert "multica-db generate" in out


@pytest.mark.parametrize("kind", ["migration", "config", "generator", "new query file"])
def test_each_kind_of_stale_input_is_named(clone: Path, kind: str) -> None:
    if kind == "migration":
        (clone / "schema" / "002_more.up.sql").write_text("ALTER TABLE author ADD x int;\n")
        expected = "schema file schema/002_more.up.sql is new since the snapshot"
    elif kind == "config":
        (clone / "migrations").mkdir()
        shutil.copy(clone / "schema" / "001_init.up.sql", clone / "migrations")
        pyproject = clone / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('["schema"]', '["migrations"]'))
        expected = "the configuration's schema paths are ['migrations']"
    elif kind == "generator":
        snap = clone / ".multica-db" / "snapshot"
        for f in snap.rglob("*.json"):
            doc = json.loads(f.read_text())
            doc["inputs"]["generator"] = "0.0.1+000000000000"
            f.write_text(jsonfile.dumps(doc))
        expected = "the snapshot was made by 0.0.1+000000000000"
    else:
        (clone / "queries" / "new.sql").write_text("-- name: One :one\nSELECT 1 AS one;\n")
        expected = "query file queries/new.sql is new since the snapshot"
    code, out = _run(clone, "generate", "--check", url=UNREACHABLE)
    assert code == 1
    assert expected in out
    assert "is stale" in out and "multica-db generate" in out


def test_a_hand_edited_generated_module_shows_as_a_diff(clone: Path) -> None:
    module = clone / "out" / "pkg" / "queries" / "authors.py"
    module.write_text(module.read_text().replace('"""Run ``GetAuthor``', '"""Run it ``GetAuthor``'))
    code, out = _run(clone, "generate", "--check", url=UNREACHABLE)
    assert code == 1
    assert "queries/authors.py" in out and "generated code is stale" in out


def test_merge_conflict_markers_in_a_snapshot_file_are_named(clone: Path) -> None:
    f = clone / ".multica-db" / "snapshot" / "queries" / "authors.sql.json"
    lines = f.read_text().splitlines()
    f.write_text("\n".join([*lines[:3], "<<<<<<< HEAD", *lines[3:], ">>>>>>> theirs", ""]))
    code, out = _run(clone, "generate", "--check", url=UNREACHABLE)
    assert code == 1
    assert "authors.sql.json:4: merge-conflict markers" in out
    assert "multica-db generate" in out


def test_regenerating_after_a_conflict_repairs_the_snapshot(
    generated: Path, analyzer_url: str
) -> None:
    snap = generated / ".multica-db" / "snapshot"
    good = {p: p.read_bytes() for p in snap.rglob("*.json")}
    f = snap / "queries" / "authors.sql.json"
    f.write_text("<<<<<<< HEAD\n" + f.read_text() + "=======\n{}\n>>>>>>> theirs\n")
    code, out = _run(generated, "generate", url=analyzer_url)
    assert code == 0, out
    assert {p: p.read_bytes() for p in snap.rglob("*.json")} == good


def test_git_add_all_takes_the_snapshot_and_not_the_cache(generated: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q"], cwd=generated, check=True)
    subprocess.run(["git", "add", "-A"], cwd=generated, check=True)
    listed = subprocess.run(
        ["git", "ls-files"], cwd=generated, check=True, capture_output=True, text=True
    ).stdout.split()
    assert ".multica-db/snapshot/index.json" in listed
    assert ".multica-db/snapshot/queries/authors.sql.json" in listed
    assert not [f for f in listed if f.startswith(".multica-db/cache/")]
    assert (generated / ".multica-db" / "cache").is_dir()  # it exists, and ignores itself


def test_a_project_without_a_snapshot_is_checked_by_analyzing(
    generated: Path, analyzer_url: str
) -> None:
    shutil.rmtree(generated / ".multica-db")
    code, out = _run(generated, "generate", "--check", url=analyzer_url)
    assert code == 0, out
    code, out = _run(generated, "generate", "--check", url=UNREACHABLE)
    assert code == 1  # it analyzes: without a reachable server it cannot pass silently


def test_verify_checks_the_snapshots_promises_with_no_analyzer(clone: Path, pg_server: str) -> None:
    import psycopg

    from tests.generator.conftest import SCHEMA
    from tests.pg import fresh_database

    with fresh_database(pg_server, prefix="multica_offline") as live:
        with psycopg.connect(live, autocommit=True) as conn:
            conn.execute(SCHEMA.encode())
        code, out = _run(clone, "verify", "--database-url", live, url=UNREACHABLE)
        assert code == 0, out
        assert "3 queries match the database" in out
        with psycopg.connect(live, autocommit=True) as conn:
            conn.execute("ALTER TABLE author ALTER COLUMN name DROP NOT NULL")
        code, out = _run(clone, "verify", "--database-url", live, url=UNREACHABLE)
        assert code == 1
        assert "GetAuthor.name: code says str, database says str | None" in out


def test_the_warm_stamp_never_vouches_for_a_changed_snapshot(
    generated: Path, analyzer_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from multica_db_codegen import cache

    monkeypatch.chdir(generated)
    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", analyzer_url)  # as the run it stamped
    assert cache.answer(["generate"]) == 0  # the first generate left its stamp, snapshot and all
    f = generated / ".multica-db" / "snapshot" / "queries" / "authors.sql.json"
    f.write_text("<<<<<<< HEAD\n" + f.read_text())
    assert cache.answer(["generate"]) is None


def test_a_two_package_sqlc_project_checks_each_package_offline(
    tmp_path: Path, analyzer_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.generator.test_verify import TWO_PACKAGES

    for name, text in TWO_PACKAGES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    code, out = _run(tmp_path, "generate", "--out", "gen", url=analyzer_url)
    assert code == 0, out
    snap = tmp_path / ".multica-db" / "snapshot"
    assert sorted(p.name for p in snap.iterdir()) == ["accounts", "billing"]
    clone = _clone(tmp_path, tmp_path_factory.mktemp("clone") / "project")
    code, out = _run(clone, "generate", "--check", "--out", "gen", url=UNREACHABLE)
    assert code == 0, out
    (clone / "billing" / "query.sql").write_text(TWO_PACKAGES["billing/query.sql"] + "\n")
    code, out = _run(clone, "generate", "--check", "--out", "gen", url=UNREACHABLE)
    assert code == 1
    assert "query file billing/query.sql changed since the snapshot" in out
    assert "accounts/query.sql" not in out


def test_the_vouched_check_loads_no_database_driver_parser_or_renderer(clone: Path) -> None:
    """Pure Python: the usual CI run hashes files and imports none of the stages' libraries."""
    import sys

    probe = (
        "import sys\n"
        "from multica_db_codegen.cli import run\n"
        "code = run(['generate', '--check'])\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'psycopg', 'pglast', 'jinja2'}\n"
        "print(code, sorted(heavy))\n"
    )
    env = {**os.environ, "MULTICA_DB_ANALYZER_URL": UNREACHABLE}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=clone, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "0 []", done.stdout + done.stderr


def test_render_from_a_document_leaves_the_snapshot_alone(
    generated: Path, analyzer_url: str
) -> None:
    """``render --ir`` renders someone's document, not an analysis of the inputs."""
    snap = generated / ".multica-db" / "snapshot"
    before = {p: p.read_bytes() for p in snap.rglob("*.json")}
    code, out = _run(generated, "analyze", "--json", url=analyzer_url)
    assert code == 0, out
    document = generated.parent / f"{generated.name}-ir.json"
    document.write_text(out[: out.rindex("}") + 1])
    code, out = _run(generated, "render", "--ir", str(document), url=UNREACHABLE)
    assert code == 0, out
    assert {p: p.read_bytes() for p in snap.rglob("*.json")} == before
