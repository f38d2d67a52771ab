"""Generated inputs: query files with stray statements, sqlc configs in every shape sqlc reads.

Bounded and derandomized by default (CI); ``MULTICA_DB_HYPOTHESIS=long`` explores more,
with fresh randomness, for local runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.parse import parse_query_file
from multica_db_codegen.sqlc_config import load_sqlc_config

LONG = os.environ.get("MULTICA_DB_HYPOTHESIS") == "long"
PROFILE = settings(
    max_examples=500 if LONG else 60,
    derandomize=not LONG,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What real query files carry besides their queries.
STRAY = [
    "CREATE TABLE scratch (x int)",
    "SET search_path TO public",
    "SET LOCAL statement_timeout = '1s'",
    "SELECT 1",
    "DROP TABLE IF EXISTS scratch",
    "CREATE INDEX ON t (id)",
    "-- a comment only\nSELECT 2",
    "DO $$ BEGIN PERFORM 1; END $$",
]
COMMANDS = ["one", "many", "exec", "execrows", "execresult", "execlastid"]
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)

Item = tuple[str, str, str]  # ("query", name, cmd) or ("stray", statement, "")


@st.composite
def query_files(draw: st.DrawFn) -> list[Item]:
    names = draw(st.lists(NAMES, unique_by=str.lower, max_size=6))
    queries: list[Item] = [("query", n, draw(st.sampled_from(COMMANDS))) for n in names]
    strays: list[Item] = [("stray", s, "") for s in draw(st.lists(st.sampled_from(STRAY)))]
    return draw(st.permutations(queries + strays))


@PROFILE
@given(query_files())
def test_statements_without_a_name_are_skipped_never_refused(items: list[Item]) -> None:
    text = "".join(
        f"-- name: {a} :{b}\nSELECT {i} AS n;\n\n" if kind == "query" else f"{a};\n\n"
        for i, (kind, a, b) in enumerate(items)
    )
    warnings: list[str] = []
    specs = parse_query_file("q.sql", text, warnings=warnings)
    assert [s.name for s in specs] == [a for kind, a, _ in items if kind == "query"]
    assert len(warnings) == sum(kind == "stray" for kind, _, _ in items)
    assert all(w.startswith("q.sql:") for w in warnings)


ENGINES = ["postgresql", "mysql", "sqlite"]
GO_ONLY = {
    "emit_json_tags": True,
    "emit_prepared_queries": False,
    "emit_interface": True,
    "sql_package": "pgx/v5",
    "json_tags_case_style": "camel",
    "query_parameter_limit": 2,
}


@st.composite
def configs(draw: st.DrawFn) -> tuple[int, list[str], dict[str, Any]]:
    version = draw(st.sampled_from([1, 2]))
    engines = draw(st.lists(st.sampled_from(ENGINES), min_size=1, max_size=5))
    extras = draw(st.dictionaries(st.sampled_from(sorted(GO_ONLY)), st.just(0), max_size=4))
    entries: list[dict[str, Any]] = []
    for i, engine in enumerate(engines):
        go = {"package": f"p{i}", "out": f"out/p{i}", **{k: GO_ONLY[k] for k in extras}}
        entry: dict[str, Any] = {"schema": f"s{i}", "queries": [f"q{i}.sql"], "engine": engine}
        if version == 1:
            entry |= {"name": f"p{i}", "path": f"out/p{i}", **{k: GO_ONLY[k] for k in extras}}
            if engine == "postgresql" and draw(st.booleans()):
                del entry["engine"]  # version 1's default engine
        else:
            entry["gen"] = {"go": go}
            if draw(st.booleans()):
                entry["rules"] = ["sqlc/db-prepare"]
        keys = draw(st.permutations(sorted(entry)))
        entries.append({k: entry[k] for k in keys})
    doc: dict[str, Any] = {"version": str(version)}
    doc["packages" if version == 1 else "sql"] = entries
    if draw(st.booleans()):
        doc["cloud"] = {"project": "p"}
    return version, engines, doc


@PROFILE
@given(configs(), st.sampled_from(["sqlc.yaml", "sqlc.yml", "sqlc.json"]))
def test_config_shapes_yield_each_postgresql_package_in_order(
    tmp_path_factory: Any, config: tuple[int, list[str], dict[str, Any]], filename: str
) -> None:
    _version, engines, doc = config
    root = Path(tmp_path_factory.mktemp("cfg"))
    text = json.dumps(doc) if filename.endswith(".json") else yaml.safe_dump(doc)
    (root / filename).write_text(text)
    postgres = [i for i, e in enumerate(engines) if e == "postgresql"]
    try:
        cfg = load_sqlc_config(root / filename)
    except Exception as exc:
        assert not postgres and "no postgresql package" in str(exc)
        return
    assert [p.schema for p in cfg.packages] == [(root / f"s{i}",) for i in postgres]
    assert [p.name for p in cfg.packages] == [f"p{i}" for i in postgres]
    assert len(cfg.notes) == len(engines) - len(postgres)


# Column names as real schemas spell them, Python's reserved ones among them, and the
# Go names sqlc's `rename` gives them (initialisms, exported names, anything Go takes).
COLUMN_NAMES = st.one_of(
    st.sampled_from(["uuid", "url", "uri", "id", "type", "list", "class", "str", "json", "ip"]),
    st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
)
GO_NAMES = st.one_of(
    st.sampled_from(["UUID", "URL", "ID", "Type", "List", "Class", "Str", "Any", "Uuid"]),
    st.from_regex(r"[A-Z][A-Za-z0-9]{0,10}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True),
)


@PROFILE
@given(st.dictionaries(COLUMN_NAMES, GO_NAMES, max_size=6))
def test_go_renames_always_give_names_the_renderer_accepts(rename: dict[str, str]) -> None:
    """A sqlc ``rename`` never stops generation: Python gets a usable name or none at all."""
    import keyword

    from multica_db_codegen.analyze.ir import (
        AnalysisIR,
        ColumnIR,
        RelationKind,
        TableIR,
        TypeKind,
        TypeRef,
    )
    from multica_db_codegen.render.naming import IMPORTED, USED_BUILTINS, python_rename, snake_case

    text = TypeRef(25, "text", TypeKind.BASE, "pg_catalog", "text")
    columns = tuple(ColumnIR(name, text, False) for name in rename)
    table = TableIR("public", "thing", RelationKind.TABLE, columns)
    out = python_rename(rename, AnalysisIR(files=(), tables=(table,), enums=()))
    for key, new in out.items():
        assert new.isidentifier() and not keyword.iskeyword(new), (key, new)
        assert new not in IMPORTED and new not in USED_BUILTINS, (key, new)
    for name, go in rename.items():
        if snake_case(go) == name:  # `uuid: UUID` only spells the Go name: nothing to rename
            assert name not in out
