"""The warm stamp answers only when nothing a run depends on has changed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from multica_db_codegen import cache
from multica_db_codegen.cli import run
from multica_db_codegen.render.renderer import HEADER

Project = Callable[..., Path]

QUERIES = """-- name: GetAuthor :one
SELECT * FROM author WHERE id = $1;

-- name: TouchAuthor :exec
UPDATE author SET name = name WHERE id = $1 RETURNING id;
"""


@pytest.fixture
def generated(
    project: Project,
    analyzer_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    """A project generated once through the full path, which leaves the stamp."""
    root = project(QUERIES)
    monkeypatch.chdir(root)
    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", analyzer_url)
    monkeypatch.delenv("MULTICA_DB_NO_CACHE", raising=False)
    assert run(["generate"]) == 0
    capsys.readouterr()
    return root


def test_unchanged_project_is_answered_with_the_runs_warnings(
    generated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(list((generated / ".multica-db" / "cache").glob("warm-*.txt"))) == 1
    assert cache.answer(["generate"]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "TouchAuthor" in err  # replayed, as the full run printed it
    assert err.endswith("0 file(s) written\n")
    assert cache.answer(["generate", "--check"]) == 0
    assert capsys.readouterr().err.endswith("generated code is up to date\n")


def test_other_arguments_are_another_run(generated: Path) -> None:
    assert cache.answer(["generate", "--out", "elsewhere"]) is None
    assert cache.answer(["analyze"]) is None
    assert cache.answer([]) is None


@pytest.mark.parametrize(
    "change",
    [
        "edit query",
        "add query file",
        "edit migration",
        "edit pyproject",
        "edit generated",
        "delete generated",
        "stray module",
        "server url",
        "cache off",
        "corrupt stamp",
    ],
)
def test_any_change_is_a_miss(
    generated: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = generated / "out" / "pkg"
    match change:
        case "edit query":
            q = generated / "queries" / "authors.sql"
            q.write_text(q.read_text().replace("id = $1;", "id = $1 ;"))
        case "add query file":
            (generated / "queries" / "more.sql").write_text("-- name: One :one\nSELECT 1;\n")
        case "edit migration":
            m = generated / "schema" / "001_init.up.sql"
            m.write_text(m.read_text() + "\n-- a comment changes the bytes\n")
        case "edit pyproject":
            p = generated / "pyproject.toml"
            p.write_text(p.read_text() + "\n[tool.other]\nx = 1\n")
        case "edit generated":
            m = out / "models.py"
            m.write_text(m.read_text() + "# hand edit\n")
        case "delete generated":
            (out / "queries" / "aio" / "authors.py").unlink()
        case "stray module":
            (out / "queries" / "old.py").write_text(HEADER + "\n")
        case "server url":
            monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", "postgresql://elsewhere/postgres")
        case "cache off":
            monkeypatch.setenv("MULTICA_DB_NO_CACHE", "1")
        case "corrupt stamp":
            (stamp,) = (generated / ".multica-db" / "cache").glob("warm-*.txt")
            stamp.write_text(stamp.read_text().replace("digest ", "digest 0"))
    assert cache.answer(["generate"]) is None


def test_the_full_path_repairs_and_stamps_again(
    generated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = generated / "out" / "pkg" / "queries"
    (queries / "old.py").write_text(HEADER + "\n")  # a module generated from a deleted file
    (queries / "helpers.py").write_text("# hand-written, kept\n")
    assert cache.answer(["generate"]) is None
    assert run(["generate"]) == 0
    assert not (queries / "old.py").exists()
    assert (queries / "helpers.py").exists()
    assert cache.answer(["generate"]) == 0
    (queries / "helpers.py").write_text(HEADER + "\n")  # now it looks stale: must go
    assert cache.answer(["generate"]) is None


def test_a_stale_check_leaves_no_stamp(
    project: Project, analyzer_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(QUERIES)
    monkeypatch.chdir(root)
    monkeypatch.setenv("MULTICA_DB_ANALYZER_URL", analyzer_url)
    assert run(["generate", "--check"]) == 1
    assert not list((root / ".multica-db" / "cache").glob("warm-*.txt"))
    assert cache.answer(["generate", "--check"]) is None


def test_warm_console_run_loads_neither_typing_nor_the_pipeline(
    generated: Path, analyzer_url: str
) -> None:
    """The point of the stamp: the interpreter loads almost nothing beyond start-up."""
    probe = (
        "import sys\n"
        "from multica_db_codegen import cache\n"
        "code = cache.answer(['generate'])\n"
        "heavy = ('typing', 'pathlib', 'multica_db_codegen.runner', 'psycopg', 'hashlib')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "MULTICA_DB_ANALYZER_URL": analyzer_url}
    env.pop("MULTICA_DB_NO_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=generated, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0 []"
    assert done.stderr.endswith("0 file(s) written\n")


@pytest.mark.parametrize("usable", [True, False])
def test_templates_compile_once_into_the_user_cache(tmp_path: Path, usable: bool) -> None:
    """Compiled templates live in $XDG_CACHE_HOME; without a usable one, rendering still works."""
    cache = tmp_path / "cache"
    if not usable:
        cache.write_text("a file where a directory should be")
    probe = (
        "from pathlib import Path\n"
        "from multica_db_codegen.cache import user_cache_dir\n"
        "from multica_db_codegen.render import renderer\n"
        "renderer.use_bytecode_cache(Path(user_cache_dir()) / 'jinja2')\n"
        "for name in ('models.py.j2', 'queries.py.j2', 'package_init.py.j2'):\n"
        "    renderer._env.get_template(name)\n"
        "print(renderer._env.bytecode_cache is not None)\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(usable)
    if usable:
        assert len(list((cache / "multica-db" / "jinja2").glob("*.cache"))) == 3
