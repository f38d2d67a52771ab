"""``multica-db clean`` removes what it made for this project, and only that."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from multica_db_codegen.analyze.server import with_dbname
from multica_db_codegen.processors import Generate
from multica_db_codegen.project import Flags
from multica_db_codegen.runner import Runner
from tests.clirun import invoke

SCHEMA = "CREATE TABLE {name} (id bigint PRIMARY KEY);\n"


def _project(root: Path, table: str) -> Path:
    (root / "schema").mkdir(parents=True)
    (root / "queries").mkdir()
    (root / "schema" / "001.up.sql").write_text(SCHEMA.format(name=table))
    (root / "queries" / "q.sql").write_text(f"-- name: One :one\nSELECT id FROM {table};\n")
    (root / "pyproject.toml").write_text(
        '[tool.multica-db]\nschema = ["schema"]\nqueries = ["queries"]\nout = "out/pkg"\n'
    )
    return root


def _exists(url: str, name: str) -> bool:
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def test_clean_drops_this_project_s_databases_and_leaves_another_s(
    tmp_path: Path, pg_server: str
) -> None:
    """Both databases are held open meanwhile (so no other run on the shared server prunes
    them): clean names this project's as kept because in use, and never touches the other."""
    names, held = {}, []
    for which in ("mine", "theirs"):
        root = _project(tmp_path / which, f"t_{which}_{os.getpid()}")
        with Runner(Flags(cwd=root, database_url=pg_server), use_cache=True) as runner:
            runner.run(Generate())  # its connection is open until the runner closes
            names[which] = runner.schema_database()
            held.append(psycopg.connect(with_dbname(pg_server, names[which])))
    old = Path.cwd()
    os.chdir(tmp_path / "mine")
    try:
        result = invoke(["clean", "--database-url", pg_server])
    finally:
        os.chdir(old)
        for conn in held:
            conn.close()
    assert result.exit_code == 0, result.output
    assert f"kept database {names['mine']}: in use" in result.stdout
    assert names["theirs"] not in result.output, "another project's database is not ours"
    assert not (tmp_path / "mine" / ".multica-db" / "cache").exists()
    assert (tmp_path / "mine" / ".multica-db" / "snapshot").is_dir()  # committed: kept
    assert (tmp_path / "theirs" / ".multica-db" / "cache").is_dir()
    assert (tmp_path / "mine" / "out" / "pkg" / "models.py").is_file()
    with psycopg.connect(pg_server, autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
