"""Helpers for generator tests: a tiny project on disk and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.clirun import invoke

SCHEMA = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE author (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    bio text,
    mood mood NOT NULL DEFAULT 'happy',
    tags text[] NOT NULL DEFAULT '{}',
    born date
);
"""


@pytest.fixture
def analyzer_url(pg_server: str) -> str:
    """The analyzer creates (and drops) its throwaway databases on the test server."""
    return pg_server


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], Path]:
    """Write a project with one schema file and the given query file; return its root."""

    def make(queries: str, schema: str = SCHEMA) -> Path:
        (tmp_path / "schema").mkdir(exist_ok=True)
        (tmp_path / "schema" / "001_init.up.sql").write_text(schema)
        (tmp_path / "schema" / "001_init.down.sql").write_text("DROP TABLE author;")
        (tmp_path / "queries").mkdir(exist_ok=True)
        (tmp_path / "queries" / "authors.sql").write_text(queries)
        (tmp_path / "pyproject.toml").write_text(
            '[tool.multica-db]\nschema = ["schema"]\nqueries = ["queries"]\n'
            'out = "out/pkg"\npackage = "pkg"\n'
        )
        return tmp_path

    return make


@pytest.fixture
def cli(analyzer_url: str) -> Callable[..., tuple[int, str, str]]:
    """Run ``multica-db`` in-process in a directory; (exit code, stdout, stderr)."""

    def run(cwd: Path, *args: str) -> tuple[int, str, str]:
        old = Path.cwd()
        os.chdir(cwd)
        try:
            result = invoke(args, env={"MULTICA_DB_ANALYZER_URL": analyzer_url})
        finally:
            os.chdir(old)
        return result.exit_code, result.stdout, result.stderr

    return run
