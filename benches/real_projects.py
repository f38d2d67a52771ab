"""Acceptance run over real public sqlc projects: does each generate as it is, and run?

For every project of ``benches/real_projects.toml`` found in a folder of checkouts
(``<root>/<owner>+<name>/``, one per repository), from the project's own sqlc config:

1. ``sqlc compile`` (what sqlc itself accepts);
2. ``multica-db generate --sqlc-config … --out TMP`` (with ``--keep-going`` when the
   generator has it: then the queries PostgreSQL rejects are listed, the rest written).
   ``--out`` is needed because none of these configs has a Python entry;
3. ``multica-db analyze --json --keep-going`` per package, for the list of failing
   queries and their messages (what the triage reads);
4. imports every generated module; ``mypy --strict OUT``; ``ruff check OUT`` and
   ``ruff format --check OUT`` with the project's ruff settings (its pyproject.toml);
5. per package, applies that package's schema (the files generate analyzed it with) to
   a fresh database of its own, dropped afterwards, and calls every generated sync
   function of the package whose parameters are all simple (ints, text, bools, uuids,
   times…) with zero-ish values, each in a transaction that is rolled back. A call fails when the
   generated code or its SQL is wrong (a type psycopg cannot adapt, a row pydantic
   refuses, a PostgreSQL error that is not about the data); errors about the made-up
   values (unique, foreign key, check, not-null, invalid input) count as calls that ran.

Prints a Markdown table (project, queries, sqlc-accepted, generated, imports, mypy,
ruff, calls, seconds); ``--readme`` also writes it into ``benches/README.md``.
Every step has a timeout and one project failing never stops the others. Work files
go to a temporary directory (``--keep DIR`` keeps them there, for triage).

Usage::

    python benches/real_projects.py --root CHECKOUTS [--list TOML] [--only NAME ...]
                                    [--readme] [--json FILE]

A checkout only needs the project's SQL and config files: ``--materialize GITDIRS``
writes them from bare git directories named ``<owner>+<name>`` (at each one's HEAD,
which must be the commit the list names).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIST = HERE / "real_projects.toml"
BIN = Path(sys.executable).parent
DB_URL = os.environ.get("MULTICA_DB_ANALYZER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
README_BEGIN = "<!-- real-projects:begin -->"
README_END = "<!-- real-projects:end -->"
_ANNOTATION = re.compile(r"^\s*--\s*name:\s*\S+\s+:\w+", re.MULTILINE)


@dataclass(frozen=True)
class Project:
    repo: str  # owner/name
    commit: str
    config: str  # folder of the sqlc config, relative to the repository
    label: str = ""  # table label when one repository gives several rows
    notes: str = ""

    @property
    def name(self) -> str:
        return self.label or self.repo

    @property
    def folder(self) -> str:
        return self.repo.replace("/", "+")


@dataclass
class Result:
    project: str
    queries: int = 0
    sqlc: str = "—"
    generated: str = "—"
    imports: str = "—"
    mypy: str = "—"
    ruff: str = "—"
    calls: str = "—"
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)  # analyze errors
    notes: list[str] = field(default_factory=list)


def load_list(path: Path = LIST) -> list[Project]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Project(**p) for p in data["project"]]


def run(
    args: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run a command; a timeout is exit code 124 (never an exception)."""
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return 124, out, f"timed out after {timeout:.0f} s"
    return done.returncode, done.stdout, done.stderr


def tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------- counting queries


def count_annotations(paths: list[Path]) -> int:
    sys.path.insert(0, str(ROOT / "codegen"))
    from multica_db_codegen.stages import query_files

    return sum(
        len(_ANNOTATION.findall(f.read_text(encoding="utf-8", errors="replace")))
        for f in query_files(paths, flat=True)
    )


def count_queries(config: Path) -> tuple[int, list[tuple[Any, ...]]]:
    """Annotated queries of the config's PostgreSQL packages, and the packages."""
    sys.path.insert(0, str(ROOT / "codegen"))
    from multica_db_codegen.sqlc_config import load_sqlc_config

    packages = load_sqlc_config(config).packages
    total = sum(count_annotations(list(pkg.queries)) for pkg in packages)
    return total, [(p.label, p.schema, p.queries) for p in packages]


# ---------------------------------------------------------------- sqlc


def sqlc_compile(folder: Path, config: Path, packages: list[tuple[Any, ...]]) -> str:
    """How many of the queries sqlc accepts: the whole config, else package by package.

    When the whole config fails, each PostgreSQL entry is asked again alone, from a
    config with only its engine, schema and queries: sqlc refuses a whole config for a
    Go-only option it no longer knows (``sql_package: lib/pq``) or a package analysed
    against a managed database, which says nothing about the other packages' SQL.
    """
    sqlc = shutil.which("sqlc") or str(BIN / "sqlc")
    counts = [count_annotations(list(queries)) for _label, _schema, queries in packages]
    code, _out, err = run([sqlc, "compile"], folder, 300)
    if code == 0:
        return str(sum(counts))
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    # sqlc compiles only entries that generate something: without a `gen` entry it
    # checks nothing and exits 0 (`compile` writes no file either way)
    entries = [
        {k: e[k] for k in ("engine", "schema", "queries") if k in e}
        | {"gen": {"go": {"package": "db", "out": "db"}}}
        for e in data.get("sql", []) or data.get("packages", [])
        if e.get("engine", "postgresql") == "postgresql" and e.get("schema") and e.get("queries")
    ]
    if len(entries) != len(counts):
        located = set(re.findall(r"^(\S+?\.sql):(\d+):\d+:", err, re.MULTILINE))
        return f"{max(sum(counts) - len(located), 0)}?" if located else "error"
    accepted, refused = 0, 0
    bare = folder / ".real-projects-sqlc.yaml"
    for entry, n in zip(entries, counts, strict=True):
        bare.write_text(yaml.safe_dump({"version": "2", "sql": [entry]}), encoding="utf-8")
        try:
            code, _out, err = run([sqlc, "compile", "-f", bare.name], folder, 300)
        finally:
            bare.unlink()
        if code == 0:
            accepted += n
        else:
            located = set(re.findall(r"^(\S+?\.sql):(\d+):\d+:", err, re.MULTILINE))
            accepted += max(n - len(located), 0)  # one error per failing query, roughly
            refused += 1
    return f"{accepted}?" if refused else str(accepted)


# ---------------------------------------------------------------- generate


def generator_has_keep_going() -> bool:
    _code, out, _ = run([str(BIN / "multica-db"), "generate", "--help"], ROOT, 60)
    return "--keep-going" in out


def count_functions(out: Path) -> int:
    """Public top-level functions of the sync query modules (one per generated query)."""
    n = 0
    for f in sorted(out.rglob("*.py")):
        if "aio" in f.relative_to(out).parts or f.parent.name != "queries":
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        n += sum(
            isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
            for node in tree.body
        )
    return n


def analyze_failures(config: Path, work: Path) -> list[dict[str, str]]:
    """Every query ``analyze --keep-going`` refuses, with its message."""
    _code, out, err = run(
        [
            str(BIN / "multica-db"),
            "analyze",
            "--json",
            "--keep-going",
            "--sqlc-config",
            str(config),
            "--database-url",
            DB_URL,
        ],
        work,
        1200,
        {"MULTICA_DB_NO_CACHE": "1"},
    )
    failures: list[dict[str, str]] = []
    docs: list[Any] = []
    try:
        docs = [json.loads(out)]
    except json.JSONDecodeError:
        for line in out.splitlines():  # one document per package, maybe
            with contextlib.suppress(json.JSONDecodeError):
                docs.append(json.loads(line))
    if not docs:
        return [{"query": "(analyze)", "error": tail(err or out, 12)}]

    def walk(doc: Any) -> None:
        if isinstance(doc, dict):
            if "error" in doc and "name" in doc:
                failures.append({"query": str(doc["name"]), "error": str(doc["error"])})
            if "message" in doc and "query" in doc:  # the document's "errors" list
                where = f"{doc.get('file')}:{doc.get('line')}:{doc.get('column')}: "
                failures.append({"query": str(doc["query"]), "error": where + str(doc["message"])})
            for v in doc.values():
                walk(v)
        elif isinstance(doc, list):
            for v in doc:
                walk(v)

    for d in docs:
        walk(d)
    return failures


# ---------------------------------------------------------------- calls


def package_schemas(config: Path, out: Path, work: Path) -> list[tuple[str, tuple[Path, ...]]]:
    """(Python package, schema paths) of each package, as ``generate --out OUT`` reads them.

    The generator's own reading of the config (``load_project``): which sqlc package
    becomes which Python package under OUT, and which schema files it was analyzed
    against.
    """
    sys.path.insert(0, str(ROOT / "codegen"))
    from multica_db_codegen.project import Flags, load_project

    project = load_project(Flags(sqlc_config=config, out=out, database_url=DB_URL, cwd=work))
    return [(cfg.package, cfg.schema) for cfg in project.packages]


def make_database(name: str, schema: tuple[Path, ...]) -> tuple[str, str]:
    """A fresh database holding one package's schema, applied as generate applies it.

    One database per package: packages of one project often share schema files (each
    package lists the same migrations), and applying them twice into one database
    fails with "already exists" for everything the second one creates.
    Returns the database's URL and the error applying the schema stopped at, if any.
    """
    import psycopg

    sys.path.insert(0, str(ROOT / "codegen"))
    from multica_db_codegen.analyze.schema import load_schema
    from multica_db_codegen.analyze.server import apply_schema_at_once, with_dbname

    with psycopg.connect(DB_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    url = with_dbname(DB_URL, name)
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            apply_schema_at_once(conn, load_schema(list(schema)))
        except Exception as exc:
            return url, str(exc).splitlines()[0][:200]
    return url, ""


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(DB_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


CALLS_TIMEOUT = 900.0  # the whole calls step of one project, every package included


def run_calls(
    res: Result,
    p: Project,
    top: Path,
    pkgs: list[str],
    schemas: list[tuple[str, tuple[Path, ...]]],
    work: Path,
) -> None:
    """Call every package's functions, each package in its own database with its own schema.

    Sets ``res.calls`` (summed over the packages) and adds a note per failure. A package
    whose calls process fails or runs out of the step's time makes the cell FAIL; the
    other packages are still called, and every database is dropped afterwards.
    """
    deadline = time.monotonic() + CALLS_TIMEOUT
    several = len(pkgs) > 1
    tried = good = 0
    broken = False
    slug = re.sub(r"\W", "_", p.name.lower())[:40]
    for i, (package, schema) in enumerate(s for s in schemas if s[0] in pkgs):
        prefix = f"{package}: " if several else ""
        # the process id: two runs at once (on a shared server) never drop each other's
        dbname = f"mdb_real_{slug}_{os.getpid()}_{i}"
        try:
            url, schema_err = make_database(dbname, schema)
            if schema_err:
                res.notes.append(f"schema for calls: {prefix}{schema_err}")
            spec = json.dumps({"url": url, "packages": [package]})
            call_args = [sys.executable, str(HERE / "real_projects_calls.py"), str(top), spec]
            left = deadline - time.monotonic()
            if left > 0:
                code, cout, cerr = run(call_args, work, left)
            else:  # the packages before it took the step's whole time
                code, cout, cerr = 124, "", f"timed out after {CALLS_TIMEOUT:.0f} s"
            if code == 0:
                calls = json.loads(cout.strip().splitlines()[-1])
                tried += calls["tried"]
                good += calls["ok"] + calls["data"]
                for f in calls["failed"][:20]:
                    res.notes.append(f"call {prefix}{f}")
                for f in calls.get("gaps", [])[:5]:
                    res.notes.append(f"call (function not in the schema) {prefix}{f}")
            else:
                broken = True
                res.notes.append(f"calls: {prefix}{tail(cerr, 3)}")
        except Exception as exc:
            broken = True
            res.notes.append(f"calls setup: {prefix}{str(exc).splitlines()[0][:300]}")
        finally:
            with contextlib.suppress(Exception):
                drop_database(dbname)
    res.calls = "FAIL" if broken else f"{good}/{tried}"


# ---------------------------------------------------------------- cutting failing queries

_NAME_IN_ERROR = re.compile(r"query (\w+):")


def failing_names(failures: list[dict[str, str]]) -> set[str]:
    names = set()
    for f in failures:
        if f["query"] != "(analyze)":
            names.add(f["query"])
        names.update(_NAME_IN_ERROR.findall(f["error"]))
    return names


def cut_queries(folder: Path, names: set[str]) -> int:
    """Remove the annotated blocks of ``names`` from every .sql file under ``folder``."""
    cut = 0
    block = re.compile(r"(?m)^[ \t]*--\s*name:\s*(\S+)\s+:\w+")
    for f in sorted(folder.rglob("*.sql")):
        text = f.read_text(encoding="utf-8", errors="replace")
        marks = list(block.finditer(text))
        if not any(m.group(1) in names for m in marks):
            continue
        pieces, at = [], 0
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            if m.group(1) in names:
                pieces.append(text[at : m.start()])
                at = end
                cut += 1
        pieces.append(text[at:])
        f.write_text("".join(pieces), encoding="utf-8")
    return cut


def cut_and_generate(
    p: Project, root: Path, work: Path, res: Result, args: list[str], out: Path
) -> tuple[int, int, Path]:
    copy = work / "cut" / p.folder
    shutil.rmtree(copy.parent, ignore_errors=True)
    shutil.copytree(root / p.folder, copy)
    from multica_db_codegen.sqlc_config import find_sqlc_config

    config = find_sqlc_config(copy / p.config)
    assert config is not None
    names: set[str] = set()
    failures = res.failures
    for _round in range(5):
        new = failing_names(failures) - names
        if not new:
            return len(names), 0, config
        names |= new
        cut_queries(copy, new)
        shutil.rmtree(out, ignore_errors=True)
        cut_args = [a if a != args[3] else str(config) for a in args]
        code, gout, gerr = run(cut_args, work, 1800, {"MULTICA_DB_NO_CACHE": "1"})
        (work / "generate-cut.log").write_text(gout + "\n" + gerr, encoding="utf-8")
        if code == 0:
            return len(names), count_functions(out), config
        failures = analyze_failures(config, work)
        res.failures += [f for f in failures if f not in res.failures]
    return len(names), 0, config


# ---------------------------------------------------------------- one project


def run_project(p: Project, root: Path, work: Path, keep_going: bool) -> Result:
    res = Result(p.name)
    t0 = time.monotonic()
    checkout = root / p.folder
    folder = checkout / p.config
    sys.path.insert(0, str(ROOT / "codegen"))
    from multica_db_codegen.sqlc_config import find_sqlc_config

    config = find_sqlc_config(folder)
    if config is None:
        res.notes.append(f"no sqlc config in {p.config or '.'}")
        return res
    try:
        res.queries, packages = count_queries(config)
    except Exception as exc:
        res.notes.append(f"config: {exc}")
        return res
    res.sqlc = sqlc_compile(folder, config, packages)

    out = work / "out" / "genpkg"
    shutil.rmtree(out.parent, ignore_errors=True)
    out.parent.mkdir(parents=True)
    args = [str(BIN / "multica-db"), "generate", "--sqlc-config", str(config), "--out", str(out)]
    args += ["--database-url", DB_URL]
    if keep_going:
        args.append("--keep-going")
    code, gout, gerr = run(args, work, 1800, {"MULTICA_DB_NO_CACHE": "1"})
    (work / "generate.log").write_text(gout + "\n" + gerr, encoding="utf-8")
    written = count_functions(out) if out.exists() else 0
    res.generated = str(written)
    if code != 0:
        res.notes.append(f"generate exit {code}: {tail(gerr or gout, 3)}")
        res.failures = analyze_failures(config, work)
    if code != 0 and res.failures and not keep_going:
        # Measure the later stages anyway: a copy of the project without the failing
        # queries (what a user would do by hand), for as many rounds as errors keep
        # appearing. The table says how many were cut.
        cut, after_cut, config = cut_and_generate(p, root, work, res, args, out)
        if after_cut:
            res.generated = f"{written} ({after_cut}, {cut} cut)"
            written = after_cut
    if written == 0:
        res.seconds = round(time.monotonic() - t0, 1)
        return res

    # the Python packages written: OUT itself, or one per sqlc package under OUT
    # one sqlc package: OUT is the Python package; several: OUT is their parent (each
    # a top-level package, imported by its own name)
    if (out / "models.py").is_file():  # not queries/: a sqlc package may be called queries
        top, pkgs = out.parent, [out.name]
    else:
        top = out
        pkgs = sorted(c.name for c in out.iterdir() if (c / "queries").is_dir())
    imp = "import importlib, pkgutil, sys\n"
    imp += f"sys.path.insert(0, {str(top)!r})\n"
    imp += f"for top in {pkgs!r}:\n"
    imp += "    p = importlib.import_module(top)\n"
    imp += "    for m in pkgutil.walk_packages(p.__path__, top + '.'):\n"
    imp += "        importlib.import_module(m.name)\n"
    code, _iout, ierr = run([sys.executable, "-c", imp], work, 300)
    res.imports = "ok" if code == 0 else "FAIL"
    if code != 0:
        res.notes.append(f"import: {tail(ierr, 2)}")

    code, mout, merr = run([str(BIN / "mypy"), "--strict", "--no-incremental", str(out)], top, 900)
    res.mypy = "ok" if code == 0 else f"{len(re.findall(r': error:', mout))} errors"
    if code != 0:
        (work / "mypy.log").write_text(mout + merr, encoding="utf-8")
        res.notes.append(f"mypy: {tail(mout or merr, 2)}")
        if "errors prevented further checking" in mout:
            # OUT is not a package mypy can walk: say what `-p` finds, for the triage
            pargs = [str(BIN / "mypy"), "--strict", "--no-incremental"]
            for pkg in pkgs:
                pargs += ["-p", pkg]
            code, pout, perr = run(pargs, top, 900)
            (work / "mypy-p.log").write_text(pout + perr, encoding="utf-8")
            perrors = len(re.findall(r": error:", pout))
            res.mypy = f"not a package (-p: {'ok' if code == 0 else f'{perrors} errors'})"
            if code != 0:
                res.notes.append(f"mypy -p: {tail(pout or perr, 4)}")
    # the project's own ruff settings (the pyproject.toml the generator formatted for),
    # else ruff's defaults: what the project's `ruff check` / `ruff format --check` say
    from multica_db_codegen.project import find_pyproject

    pyproject = find_pyproject(config.parent)
    settings = ["--config", str(pyproject)] if pyproject is not None else ["--isolated"]
    check = [str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise"]
    code, rout, _rerr = run([*check, *settings, str(out)], top, 300)
    ruff_errors = len(re.findall(r"^\S+:\d+:\d+:", rout, re.M))
    fcode, fout, _ferr = run(
        [str(BIN / "ruff"), "format", "--check", "--no-cache", *settings, str(out)], top, 300
    )
    unformatted = len(re.findall(r"^Would reformat", fout, re.M))
    res.ruff = (
        "ok"
        if code == 0 and fcode == 0
        else ", ".join(
            part
            for part in (
                f"{ruff_errors} errors" if code else "",
                f"{unformatted} unformatted" if fcode else "",
            )
            if part
        )
    )
    if code != 0:
        res.notes.append(f"ruff: {tail(rout, 2)}")
    if fcode != 0:
        res.notes.append(f"ruff format: {tail(fout, 2)}")

    if res.imports == "ok":
        try:
            schemas = package_schemas(config, out, work)
        except Exception as exc:
            res.calls = "FAIL"
            res.notes.append(f"calls setup: {str(exc).splitlines()[0][:300]}")
        else:
            run_calls(res, p, top, pkgs, schemas, work)
    res.seconds = round(time.monotonic() - t0, 1)
    return res


# ---------------------------------------------------------------- output


def table(results: list[Result]) -> str:
    head = "| project | queries | sqlc-accepted | generated | imports | mypy | ruff | calls | s |"
    lines = [head, "|---|--:|--:|--:|---|---|---|--:|--:|"]
    for r in results:
        cells = [r.project, r.queries, r.sqlc, r.generated, r.imports, r.mypy, r.ruff, r.calls]
        lines.append("| " + " | ".join(str(c) for c in cells) + f" | {r.seconds:.0f} |")
    q = sum(r.queries for r in results)
    g = sum(int(r.generated) for r in results if r.generated.isdigit())
    lines.append(f"\n{len(results)} configs, {q} queries, {g} generated ({environment()}).")
    return "\n".join(lines)


def environment() -> str:
    """The server and sqlc the table was measured with (the analyzer's server makes the types)."""
    import psycopg

    try:
        with psycopg.connect(DB_URL) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        server = f"PostgreSQL {str(row[0]).split()[0]}" if row else "PostgreSQL ?"
    except psycopg.Error:
        server = "PostgreSQL ?"
    sqlc = shutil.which("sqlc") or str(BIN / "sqlc")
    _code, out, _err = run([sqlc, "version"], ROOT, 60)
    return f"{server} as the analyzer's and the calls' server, sqlc {out.strip() or '?'}"


def write_readme(text: str) -> None:
    readme = HERE / "README.md"
    doc = readme.read_text(encoding="utf-8")
    block = f"{README_BEGIN}\n{text}\n{README_END}"
    if README_BEGIN in doc:
        doc = re.sub(
            re.escape(README_BEGIN) + r".*?" + re.escape(README_END),
            lambda _: block,
            doc,
            flags=re.S,
        )
    else:
        doc = doc.rstrip("\n") + "\n\n## Real projects (`real_projects.py`)\n\n" + block + "\n"
    readme.write_text(doc, encoding="utf-8")


def materialize(gitdirs: Path, root: Path, projects: list[Project]) -> None:
    """Write each project's SQL and config files at its listed commit from a bare git dir."""
    keep = (".sql", ".yaml", ".yml", ".json", ".toml", "stderr.txt")
    for p in projects:
        dest = root / p.folder
        if dest.exists():
            continue
        gitdir = next(
            (
                g
                for g in (gitdirs / p.folder / "repo" / ".git", gitdirs / p.folder / "repo")
                if g.is_dir()
            ),
            None,
        )
        if gitdir is None:
            print(f"{p.repo}: no git directory under {gitdirs}", file=sys.stderr)
            continue
        listing = subprocess.run(
            ["git", "--git-dir", str(gitdir), "ls-tree", "-r", "-z", p.commit],
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for entry in listing:
            if not entry:
                continue
            meta, raw = entry.split(b"\t", 1)
            _mode, kind, sha = meta.split()
            path = raw.decode()
            if kind != b"blob" or not path.endswith(keep) or "node_modules/" in path:
                continue
            blob = subprocess.run(
                ["git", "--git-dir", str(gitdir), "cat-file", "blob", sha.decode()],
                capture_output=True,
                check=False,
            )
            if blob.returncode != 0:  # absent from the snapshot (large files)
                continue
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob.stdout)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, required=True, help="folder of <owner>+<name> checkouts")
    ap.add_argument("--only", nargs="*", default=[], help="project names (substring match)")
    ap.add_argument("--readme", action="store_true", help="write the table into benches/README.md")
    ap.add_argument("--json", type=Path, help="write every result (with failures) here")
    ap.add_argument("--keep", type=Path, help="keep work files under this folder")
    ap.add_argument("--materialize", type=Path, help="bare git dirs to write checkouts from")
    ap.add_argument("--list", type=Path, default=LIST, help="the projects' TOML (default: ours)")
    ns = ap.parse_args(argv)

    projects = load_list(ns.list)
    if ns.only:
        projects = [p for p in projects if any(o in p.name for o in ns.only)]
    if ns.materialize:
        materialize(ns.materialize, ns.root, projects)
    keep_going = generator_has_keep_going()
    results: list[Result] = []
    base = ns.keep or Path(tempfile.mkdtemp(prefix="real-projects-"))
    for p in projects:
        work = base / re.sub(r"\W", "_", p.name)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"… {p.name}", file=sys.stderr, flush=True)
        try:
            r = run_project(p, ns.root, work, keep_going)
        except Exception as exc:  # one project never stops the others
            r = Result(p.name, notes=[f"runner: {type(exc).__name__}: {exc}"])
        results.append(r)
        print(
            f"  {r.queries} queries, sqlc {r.sqlc}, generated {r.generated}, import {r.imports}, "
            f"mypy {r.mypy}, ruff {r.ruff}, calls {r.calls}, {r.seconds:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        for n in r.notes:
            print(f"    {n}", file=sys.stderr)
        if ns.json:
            ns.json.write_text(json.dumps([asdict(x) for x in results], indent=1), encoding="utf-8")
    if not ns.keep:
        shutil.rmtree(base, ignore_errors=True)
    text = table(results)
    print(text)
    if ns.readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
