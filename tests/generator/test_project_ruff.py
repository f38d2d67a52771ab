"""The whole generated package passes the project's own ruff, whatever its settings.

Query modules are formatted for the project's settings; the runtime package is the
same bytes in every project, so it must be kept out of the project's lint and
formatter (a project targeting py312 would otherwise be told to rewrite the
runtime's TypeVar generics, one with ``lines-between-types`` to re-sort its imports,
one with ``quote-style = "single"`` to reformat it).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.processors import run_generate

SCHEMA = """
CREATE TYPE shipment_state AS ENUM ('packed', 'shipped', 'delivered');
CREATE TABLE shipment (
    id bigserial PRIMARY KEY,
    carrier text NOT NULL,
    state shipment_state NOT NULL DEFAULT 'packed',
    labels jsonb NOT NULL DEFAULT '{}',
    weights numeric[] NOT NULL DEFAULT '{}',
    shipped_at timestamptz
);
"""

QUERIES = """
-- name: CreateShipment :one
INSERT INTO shipment (carrier, state, labels) VALUES ($1, $2, $3) RETURNING *;

-- name: ShipmentsByStateAndCarrierSinceWithAVeryLongName :many
SELECT id, carrier, state, shipped_at FROM shipment
WHERE state = ANY(@states::shipment_state[]) AND carrier = @carrier
  AND (sqlc.narg(since)::timestamptz IS NULL OR shipped_at >= sqlc.narg(since));

-- name: MarkShipped :execrows
UPDATE shipment SET state = 'shipped', shipped_at = now() WHERE id = $1;
"""

ruff_settings = st.fixed_dictionaries(
    {
        "line-length": st.sampled_from([60, 79, 88, 100, 120]),
        "target-version": st.sampled_from(["py311", "py312", "py313"]),
        "quote-style": st.sampled_from(["double", "single"]),
        "lines-between-types": st.sampled_from([0, 1]),
        "force-single-line": st.booleans(),
        "select": st.sampled_from([None, '["E", "F", "W", "I", "B", "UP", "SIM", "RUF"]']),
    }
)


def _pyproject(s: dict[str, object]) -> str:
    select = f"select = {s['select']}\n" if s["select"] else ""
    return (
        '[tool.multica-db]\nschema = ["schema.sql"]\nqueries = ["queries"]\n'
        'out = "out/shipping"\npackage = "shipping"\n\n'
        f"[tool.ruff]\nline-length = {s['line-length']}\n"
        f'target-version = "{s["target-version"]}"\n\n'
        f'[tool.ruff.format]\nquote-style = "{s["quote-style"]}"\n\n'
        f"[tool.ruff.lint]\n{select}\n"
        f"[tool.ruff.lint.isort]\nlines-between-types = {s['lines-between-types']}\n"
        f"force-single-line = {str(s['force-single-line']).lower()}\n"
    )


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # a URL, nothing to reset
)
@given(ruff_settings)
def test_generated_package_passes_the_projects_ruff(
    analyzer_url: str, project_ruff: dict[str, object]
) -> None:
    root = Path(tempfile.mkdtemp(prefix="multica-db-ruff-"))
    (root / "schema.sql").write_text(SCHEMA)
    (root / "queries").mkdir()
    (root / "queries" / "shipments.sql").write_text(QUERIES)
    (root / "pyproject.toml").write_text(_pyproject(project_ruff))
    run_generate(cwd=root, database_url=analyzer_url)
    assert (root / "out" / "shipping" / "runtime" / "rows.py").is_file()
    for args in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", "out/shipping"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_sqlc_yaml_projects_own_packages_sort_as_first_party(analyzer_url: str) -> None:
    """A project configured by sqlc.yaml alone (no pyproject.toml) whose override names a
    package of its own: ruff, run at the project's root, calls that package first-party,
    so the generated imports must be sorted as such (they were formatted in a temporary
    directory, where it looked third-party: I001 in every module naming it)."""
    root = Path(tempfile.mkdtemp(prefix="multica-db-ruff-sqlc-"))
    (root / "schema.sql").write_text("CREATE TABLE doc (id bigserial PRIMARY KEY, body jsonb);\n")
    (root / "queries").mkdir()
    (root / "queries" / "docs.sql").write_text(
        "-- name: GetDoc :one\nSELECT * FROM doc WHERE id = $1;\n"
    )
    (root / "mypkg").mkdir()
    (root / "mypkg" / "__init__.py").write_text("")
    (root / "mypkg" / "types.py").write_text(
        "import pydantic\n\n\nclass Body(pydantic.BaseModel):\n    title: str\n"
    )
    (root / "sqlc.yaml").write_text(
        'version: "2"\nsql:\n  - engine: postgresql\n    schema: schema.sql\n'
        "    queries: queries\n    codegen:\n      - plugin: py\n        out: gen\n"
        "        options:\n          package: gen\n          overrides:\n"
        '            - column: "doc.body"\n              python_type: "mypkg.types.Body"\n'
    )
    run_generate(cwd=root, database_url=analyzer_url)
    for args in (["check", "--select", "I,F"], ["format", "--check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", "gen"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
