"""Compare with sqlc, query by query: acceptance, parameter types, column types.

For each PostgreSQL package of each project, sqlc (its ``json`` generator) and
``multica-db analyze --json --keep-going`` look at the same schema and the same
queries, each query in a file of its own so one refusal does not hide the rest.
Reported: of the queries sqlc accepts, the share we accept; of the parameters and
columns of queries both accept, the share whose types agree (``text`` and
``varchar`` folded, ``serial`` as its integer, ``pg_catalog.`` dropped).

Queries of a sqlc end-to-end case whose ``stderr.txt`` expects an error are left out
(sqlc's parser accepts them; its suite, against a database, refuses them as we do).

Usage: ``python benches/sqlc_compat.py [PROJECT_DIR ...]`` (default: the projects of
``tests/compat/projects`` and, when it has been written, ``benches/corpus``). sqlc's
end-to-end corpus: the PostgreSQL case folders of ``internal/endtoend/testdata`` in a
checkout of sqlc (one variant per case: ``pgx/v5`` where there are several).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from multica_db_codegen.sqlc_config import find_sqlc_config, load_sqlc_config  # noqa: E402
from multica_db_codegen.stages import query_files  # noqa: E402

VERBOSE = bool(os.environ.get("VERBOSE"))

_ALIASES = {
    "int4": "integer", "int": "integer", "serial": "integer", "serial4": "integer",
    "int8": "bigint", "bigserial": "bigint", "serial8": "bigint",
    "int2": "smallint", "smallserial": "smallint", "serial2": "smallint",
    "float8": "double precision", "float4": "real", "bool": "boolean",
    "varchar": "text", "character varying": "text",
    "timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone",
    "timetz": "time with time zone", "time": "time without time zone",
    "decimal": "numeric", "bpchar": "character", "char": "character",
    "varbit": "bit varying",
}  # fmt: skip


def sqlc_type(column: dict[str, Any]) -> str:
    """A sqlc JSON column's type, schema-qualified outside pg_catalog and public."""
    t = column.get("type") or {}
    schema, name = t.get("schema") or "", t.get("name") or ""
    if schema and schema not in ("pg_catalog", "public") and "." not in name:
        name = f"{schema}.{name}"
    return norm(name, bool(column.get("is_array")))


def norm(name: str, array: bool = False) -> str:
    """A type name as sqlc or format_type() spells it → one spelling."""
    name = re.sub(r"\(.*?\)", "", name.strip().lower()).replace('"', "")
    dims = 0
    while name.endswith("[]"):
        name, dims = name[:-2].strip(), dims + 1
    name = name.removeprefix("pg_catalog.").removeprefix("public.")
    name = _ALIASES.get(name, name)
    return name + "[]" * max(dims, 1 if array else 0)


_PYTHON = {
    "integer": "int", "bigint": "int", "smallint": "int", "real": "float",
    "double precision": "float", "character": "str", "citext": "str",
}  # fmt: skip


def as_python(name: str) -> str:
    """What the type becomes in Python (its element for arrays): where a difference matters."""
    base = name.removesuffix("[]") if name.endswith("[]") else name
    return _PYTHON.get(base, base) + ("[]" if name.endswith("[]") else "")


@dataclass
class Tally:
    sqlc_ok: int = 0
    both_ok: int = 0
    params: int = 0
    params_same: int = 0
    params_py: int = 0  # same Python type (LIMIT $1: sqlc integer, PostgreSQL bigint: both int)
    columns: int = 0
    columns_same: int = 0
    columns_unknown: int = 0  # sqlc could not type the column ("any", "anyarray")
    expected: int = 0  # accepted by sqlc's parser, but its suite expects an error (stderr.txt)


def split_queries(files: list[Path], dest: Path) -> list[Path]:
    """One file per annotated query (the text before the first annotation is dropped)."""
    out: list[Path] = []
    for n, f in enumerate(files):
        pieces = re.split(r"(?m)^(?=--\s*name:)", f.read_text(encoding="utf-8"))
        for i, piece in enumerate(p for p in pieces if re.match(r"--\s*name:", p)):
            target = dest / f"{n:03d}_{f.stem}__{i:04d}.sql"
            target.write_text(piece, encoding="utf-8")
            out.append(target)
    return out


def expected_refusals(project: Path, files: list[Path]) -> set[str]:
    """Queries sqlc's own end-to-end suite expects an error for (the case's ``stderr.txt``).

    Those cases run sqlc against a database, as we do; its parser alone accepts them, so
    without this they would count as queries sqlc accepts and we refuse.
    """
    stderr = project / "stderr.txt"
    if not stderr.is_file():
        return set()
    where = {
        (name, int(line))
        for name, line in re.findall(r"^(\S+?\.sql):(\d+):\d+:", stderr.read_text(), re.M)
    }
    names: set[str] = set()
    for f in files:
        text = f.read_text(encoding="utf-8")
        for m in re.finditer(r"(?m)^--\s*name:\s*(\S+)", text):
            first = text.count("\n", 0, m.start()) + 1
            rest = re.search(r"(?m)^--\s*name:", text[m.end() :])
            last = text.count("\n", 0, m.end() + rest.start()) if rest else text.count("\n") + 1
            if any(n == f.name and first <= line <= last for n, line in where):
                names.add(m.group(1))
    return names


def run_sqlc(workdir: Path, schema: list[Path], queries: list[Path]) -> dict[str, Any]:
    """sqlc's codegen request (per query name) for the queries it accepts."""
    sqlc = shutil.which("sqlc") or str(Path(sys.executable).with_name("sqlc"))
    todo = list(queries)
    for _ in range(3):
        cfg = {
            "version": "2",
            "sql": [
                {
                    "engine": "postgresql",
                    # sqlc joins even an absolute path to the config's directory
                    "schema": [os.path.relpath(p, workdir) for p in schema],
                    "queries": [os.path.relpath(p, workdir) for p in todo],
                    "gen": {"json": {"out": "json", "filename": "request.json"}},
                }
            ],
        }
        (workdir / "sqlc.yaml").write_text(yaml.safe_dump(cfg))
        done = subprocess.run(
            [sqlc, "generate"], cwd=workdir, capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            data = json.loads((workdir / "json" / "request.json").read_text())
            return {q["name"]: q for q in data.get("queries", [])}
        bad = set(re.findall(r"^(\S+?\.sql):\d+:\d+:", done.stderr, re.MULTILINE))
        bad_names = {Path(b).name for b in bad}
        kept = [q for q in todo if q.name not in bad_names]
        if len(kept) == len(todo):  # a schema error, or nothing to attribute
            return {}
        todo = kept
    return {}


def run_ours(schema: list[Path], queries: list[Path]) -> dict[str, Any]:
    """Our analysis (per query name) of the same files; a failing query has an "error"."""
    args = [str(Path(sys.executable).with_name("multica-db")), "analyze", "--json", "--keep-going"]
    for s in schema:
        args += ["--schema", str(s)]
    for q in queries:
        args += ["--queries", str(q)]
    done = subprocess.run(
        args, capture_output=True, text=True, check=False, cwd=tempfile.gettempdir()
    )
    try:
        doc = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {}
    return {q["name"]: q for f in doc.get("files", []) for q in f.get("queries", [])}


def compare(tally: Tally, theirs: dict[str, Any], ours: dict[str, Any]) -> None:
    for name, sq in theirs.items():
        tally.sqlc_ok += 1
        mine = ours.get(name)
        if mine is None or "error" in mine:
            if VERBOSE:
                print(f"  refused {name}: {(mine or {}).get('error', 'missing')[:200]}")
            continue
        tally.both_ok += 1
        for sp, mp in zip(sq.get("params", []), mine["params"], strict=False):
            t = sqlc_type(sp.get("column", {}))
            tally.params += 1
            tally.params_same += t == norm(mp["type"]["pg_type"])
            tally.params_py += as_python(t) == as_python(norm(mp["type"]["pg_type"]))
            if VERBOSE and t != norm(mp["type"]["pg_type"]):
                print(
                    f"  param {name}.{mp['name']}: sqlc {t!r}, ours {norm(mp['type']['pg_type'])!r}"
                )
        for sc, mc in zip(sq.get("columns", []), mine["columns"], strict=False):
            t = sqlc_type(sc)
            tally.columns += 1
            tally.columns_same += t == norm(mc["type"]["pg_type"])
            tally.columns_unknown += t in ("any", "anyarray", "")
            mine_type = norm(mc["type"]["pg_type"])
            if VERBOSE and t != mine_type:
                print(f"  column {name}.{mc['name']}: sqlc {t!r}, ours {mine_type!r}")


def projects(argv: list[str]) -> list[Path]:
    if argv:
        return [Path(a).resolve() for a in argv]
    found = sorted(p for p in (ROOT / "tests" / "compat" / "projects").iterdir() if p.is_dir())
    if (HERE / "corpus" / "sqlc.yaml").is_file():
        found.append(HERE / "corpus")
    return found


def label(project: Path) -> str:
    """A project's name in the table: an end-to-end case is named by its path under testdata."""
    parts = project.parts
    if "testdata" in parts:
        return "/".join(parts[parts.index("testdata") + 1 :])
    return project.name


def main(argv: list[str]) -> int:
    total = Tally()
    print("| project | sqlc accepts | we accept too | params agree | columns agree |")
    print("| --- | --- | --- | --- | --- |")
    for project in projects(argv):
        config = find_sqlc_config(project)
        if config is None:
            continue
        tally = Tally()
        for pkg in load_sqlc_config(config).packages:
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                split = split_queries(query_files(pkg.queries, flat=True), work)
                if not split:
                    continue
                theirs = run_sqlc(work, list(pkg.schema), split)
                ours = run_ours(list(pkg.schema), [work])
            files = query_files(pkg.queries, flat=True)
            for name in expected_refusals(project, files):
                if theirs.pop(name, None) is not None:
                    tally.expected += 1
            compare(tally, theirs, ours)
        for k, v in vars(tally).items():
            setattr(total, k, getattr(total, k) + v)
        cells = [tally.sqlc_ok, tally.both_ok, f"{tally.params_same}/{tally.params}"]
        cells.append(f"{tally.columns_same}/{tally.columns}")
        print(f"| {label(project)} | " + " | ".join(str(c) for c in cells) + " |")

    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f}%" if b else "n/a"

    known = total.columns - total.columns_unknown
    print(
        f"\nacceptance {pct(total.both_ok, total.sqlc_ok)} ({total.both_ok}/{total.sqlc_ok}); "
        f"param types {pct(total.params_same, total.params)} "
        f"(as Python types {pct(total.params_py, total.params)}); "
        f"column types {pct(total.columns_same, total.columns)} "
        f"({pct(total.columns_same, known)} of the {known} sqlc could type)"
    )
    if total.expected:
        print(
            f"left out: {total.expected} queries sqlc's parser accepts but its own suite expects "
            "an error for (the case's stderr.txt: sqlc against a database refuses them too)"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MULTICA_DB_NO_CACHE", "1")
    raise SystemExit(main(sys.argv[1:]))
