"""The generator's one cache layer: hits are exactly what a full run produces, failures are
logged, and an incremental run redoes only what changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from multica_db_codegen import cache, cli
from multica_db_codegen.analyze import ir_codec
from multica_db_codegen.processors import Generate, Result
from multica_db_codegen.project import Flags
from multica_db_codegen.runner import Runner

Cli = Callable[..., tuple[int, str, str]]
Project = Callable[..., Path]

QUERIES = """-- name: GetAuthor :one
SELECT * FROM author WHERE id = $1;

-- name: ListAuthorNames :many
SELECT id, name FROM author ORDER BY id;
"""
MORE = "-- name: CountAuthors :one\nSELECT count(*) FROM author;\n"


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*.py"))}


@pytest.fixture
def env(analyzer_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", analyzer_url)
    monkeypatch.delenv(cache.ENV_OFF, raising=False)


def test_query_edit_schema_edit_and_config_edit_all_change_output(
    cli: Cli, project: Project
) -> None:
    root = project(QUERIES)
    out = root / "out" / "pkg"
    assert cli(root, "generate")[0] == 0
    assert (root / ".multica-db" / "cache" / "index.json").is_file()

    (root / "queries" / "authors.sql").write_text(QUERIES + "\n" + MORE)
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


def regenerate(runner: Runner, changed: list[Path] | None = None) -> Result:
    return Result.combine(runner.run(Generate(), changed))


@pytest.mark.usefixtures("env")
def test_hit_and_miss_give_the_same_bytes(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warm from disk, warm in memory after edits, and uncached: byte for byte the same."""
    root = project(QUERIES)
    (root / "queries" / "more.sql").write_text(MORE)
    out = root / "out" / "pkg"
    with Runner(Flags(cwd=root)) as gen:
        first = regenerate(gen)
        assert len(first.analyzed) == 2
        (root / "queries" / "more.sql").write_text(MORE + "\n-- name: One :one\nSELECT 1;\n")
        again = regenerate(gen, [root / "queries" / "more.sql"])
        assert [p.name for p in again.analyzed] == ["more.sql"]  # the other file is kept
        assert sorted(p.name for p in again.written) == ["more.py", "more.py"]
    incremental = tree(out)
    (out / "models.py").write_text("# edited by hand\n")
    with Runner(Flags(cwd=root)) as gen:  # a new process: everything from the cache directory
        fromdisk = regenerate(gen)
        assert fromdisk.analyzed == () and [p.name for p in fromdisk.written] == ["models.py"]
    assert tree(out) == incremental
    monkeypatch.setenv(cache.ENV_OFF, "1")
    for p in out.rglob("*.py"):
        p.unlink()
    with Runner(Flags(cwd=root)) as gen:
        assert len(regenerate(gen).analyzed) == 2
    assert tree(out) == incremental


@pytest.mark.usefixtures("env")
def test_a_failing_cache_write_is_logged_and_the_run_succeeds(project: Project) -> None:
    root = project(QUERIES)
    blocker = root / ".multica-db" / "cache" / "entries"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the directory should be: every entry's write fails")
    with Runner(Flags(cwd=root)) as gen:
        assert regenerate(gen).changed == 13  # with the package's __init__.py and 7 runtime modules
    log = (root / ".multica-db" / "cache" / "log.txt").read_text()
    assert "cannot write entries/" in log


@pytest.mark.usefixtures("env")
def test_one_syntax_error_parses_its_file_once(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from multica_db_codegen import parse

    root = project(QUERIES + "\n-- name: Bad :one\nSELEC 1;\n")
    calls: list[str] = []
    real = parse.parse_query_file

    def counting(path: Path | str, text: str | None = None, **kw: object) -> object:
        calls.append(str(path))
        return real(path, text, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(parse, "parse_query_file", counting)
    monkeypatch.chdir(root)
    assert cli.run(["generate"]) == 1
    assert len(calls) == 1
    err = capsys.readouterr().err
    assert err.count("syntax error") == 1 and "authors.sql:" in err
    assert not (root / "out").exists()


@pytest.mark.usefixtures("env")
def test_queries_flag_regenerates_only_those_files(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(QUERIES)
    (root / "queries" / "more.sql").write_text(MORE)
    out = root / "out" / "pkg"
    monkeypatch.chdir(root)
    assert cli.run(["generate"]) == 0
    before = tree(out)
    (root / "queries" / "authors.sql").write_text(QUERIES + "\n-- name: One :one\nSELECT 1;\n")
    (root / "queries" / "more.sql").write_text(MORE + "\n-- name: Two :one\nSELECT 2;\n")
    capsys.readouterr()
    assert cli.run(["generate", "--queries", "queries/more.sql"]) == 0
    err = capsys.readouterr().err
    assert "2 file(s) written; 2 other generated module(s) left as they are" in err
    after = tree(out)
    assert after["queries/authors.py"] == before["queries/authors.py"]  # left alone
    assert "def two(" in after["queries/more.py"] and "def two(" in after["queries/aio/more.py"]
    assert cli.run(["generate"]) == 0  # the full run then catches up with authors.sql
    assert "def one(" in (out / "queries" / "authors.py").read_text()


@pytest.mark.usefixtures("env")
def test_check_from_a_subfolder_and_no_cache_in_the_working_folder(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(QUERIES)
    monkeypatch.chdir(root)
    assert cli.run(["generate"]) == 0
    sub = root / "queries"
    monkeypatch.chdir(sub)
    capsys.readouterr()
    assert cli.run(["generate", "--check"]) == 0, capsys.readouterr().out
    assert not (sub / ".multica-db").exists()
    header = (root / "out" / "pkg" / "queries" / "authors.py").read_text().splitlines()[:3]
    assert any("queries/authors.sql" in line for line in header)


def test_sqlc_project_root_is_the_folder_of_its_config(
    project: Project, analyzer_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(QUERIES)
    (root / "pyproject.toml").unlink()
    (root / "sqlc.yaml").write_text(
        'version: "2"\nsql:\n  - engine: postgresql\n    schema: schema\n    queries: queries\n'
    )
    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", analyzer_url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    args = ["generate", "--sqlc-config", str(root / "sqlc.yaml"), "--out", str(root / "gen")]
    assert cli.run(args) == 0
    assert (root / ".multica-db").is_dir() and not (elsewhere / ".multica-db").exists()
    monkeypatch.chdir(root / "queries")
    args = ["generate", "--check", "--sqlc-config", "../sqlc.yaml", "--out", "../gen"]
    assert cli.run(args) == 0


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"multica-db {cache.version('multica-db')}"
    assert cache.version("multica-db") not in ("", "-")


def test_console_script_runs_generate(project: Project, analyzer_url: str) -> None:
    root = project(QUERIES)
    env = {**os.environ, "MULTICA_DB_ANALYZER_URL": analyzer_url}
    env.pop(cache.ENV_OFF, None)
    cmd = [sys.executable, "-m", "multica_db_codegen.cli", "generate"]
    first = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "13 file(s) written" in first.stderr
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
    assert ir_codec.decode(FileIR, json.loads(json.dumps(ir_codec.encode(f)))) == f


@pytest.mark.usefixtures("env")
def test_a_partial_run_brings_a_stale_runtime_up_to_date(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # after an upgrade of multica-db, the module a partial run renders may call runtime
    # helpers the runtime on disk does not have yet: the runtime comes along
    root = project(QUERIES)
    (root / "queries" / "more.sql").write_text(MORE)
    out = root / "out" / "pkg"
    monkeypatch.chdir(root)
    assert cli.run(["generate"]) == 0
    full = tree(out)
    rows = out / "runtime" / "rows.py"
    rows.write_text(full["runtime/rows.py"].replace("def fetch_all(", "def fetch_all_old("))
    models = out / "models.py"
    models.write_text(full["models.py"] + "\n# an older generator's models\n")
    (root / "queries" / "more.sql").write_text(MORE + "\n-- name: Two :one\nSELECT 2;\n")
    capsys.readouterr()
    assert cli.run(["generate", "--queries", "queries/more.sql"]) == 0
    after = tree(out)
    assert after["runtime/rows.py"] == full["runtime/rows.py"]
    assert after["models.py"] == full["models.py"]  # every file analyzed before: exact
    assert after["queries/authors.py"] == full["queries/authors.py"]
    # and a partial run after a full one changes nothing else
    capsys.readouterr()
    assert cli.run(["generate", "--queries", "queries/more.sql"]) == 0
    assert "0 file(s) written" in capsys.readouterr().err
    assert tree(out) == after


@pytest.mark.usefixtures("env")
def test_queries_outside_the_configuration_are_a_package_of_their_own(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--schema S --queries Q --out O` from inside a configured project: Q is the whole set
    root = project(QUERIES)
    monkeypatch.chdir(root)
    assert cli.run(["generate"]) == 0
    snapshot = root / ".multica-db" / "snapshot"
    recorded = {p: p.read_bytes() for p in sorted(snapshot.rglob("*")) if p.is_file()}
    assert recorded  # the project's own analysis snapshot
    other = tmp_path / "other"
    other.mkdir()
    (other / "schema.sql").write_text("CREATE TABLE thing (id bigint PRIMARY KEY, label text);\n")
    (other / "q.sql").write_text("-- name: ListThings :many\nSELECT * FROM thing;\n")
    dest = tmp_path / "thingpkg"
    argv = ["generate", "--schema", str(other / "schema.sql"), "--queries", str(other / "q.sql")]
    assert cli.run([*argv, "--out", str(dest), "--package", "thingpkg"]) == 0
    made = tree(dest)
    assert "class Thing(" in made["models.py"] and "class Author(" not in made["models.py"]
    assert "def list_things(" in made["queries/q.py"]
    assert "runtime/rows.py" in made and "queries/authors.py" not in made
    # the same command again after its schema changed: models.py follows (a whole set)
    (other / "schema.sql").write_text(
        "CREATE TABLE thing (id bigint PRIMARY KEY, label text, weight numeric);\n"
    )
    assert cli.run([*argv, "--out", str(dest), "--package", "thingpkg"]) == 0
    assert "    weight: typing.Annotated[decimal.Decimal" in (dest / "models.py").read_text()
    # the project's snapshot still records the project's own queries
    assert {p: p.read_bytes() for p in sorted(snapshot.rglob("*")) if p.is_file()} == recorded
    assert cli.run(["generate", "--check"]) == 0
