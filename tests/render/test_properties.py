"""Random schemas and queries with hostile names: generate, import, check, run, round-trip.

Each example is a project: an enum, a composite, a domain and a table whose names
and column names are drawn from keywords, builtins, the generated code's own imports
and locals, unicode, case-folded duplicates and leading digits; columns of every type
family the renderer adapts; one query per command, named as hostilely. The package is
imported, ``ruff check``-ed, run against PostgreSQL (values sent come back equal, in
every path: call, batch, COPY, iteration) and, all packages at once, ``mypy --strict``-ed.

CI runs a few derandomized examples; ``pytest --hypothesis-profile=long`` (or
``MULTICA_DB_HYPOTHESIS=long``) explores many more with fresh randomness.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import itertools
import os
import subprocess
import sys
import tempfile
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pydantic
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from psycopg.types.range import Range

from multica_db_codegen.processors import run_generate
from tests.dialect.harness import RUFF_TOML, database_with

UTC = datetime.UTC
DAYS = datetime.timedelta(days=9999)
LONG_EXAMPLES = 200
settings.register_profile(
    "long",
    max_examples=LONG_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _long() -> bool:
    return (
        os.environ.get("MULTICA_DB_HYPOTHESIS") == "long"
        or settings.default.max_examples == LONG_EXAMPLES
    )


PROFILE = settings(
    max_examples=LONG_EXAMPLES if _long() else 30,
    derandomize=not _long(),
    deadline=None,
    database=None,
    report_multiple_bugs=False,
    # a failing example is reported as drawn in CI: shrinking regenerates dozens of projects
    phases=list(Phase) if _long() else [Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

#: Names that once broke generated code, or could: keywords, builtins, imports, locals…
HOSTILE = [
    "class", "in", "from", "def", "None", "True", "list", "type", "str", "dict", "int",
    "pydantic", "psycopg", "uuid", "datetime", "decimal", "models", "_runtime", "enum",
    "conn", "cur", "row", "rows", "p", "params", "value", "result", "copy", "json", "schema",
    "count", "index", "model_config", "model_x", "Any", "BaseModel", "JsonValue", "StrEnum",
    "Range", "NamedTuple", "café", "naïve", "Ñame", "Foo", "foo", "FOO", "2fa", "1st",
    "__init__", "__x__", "a b", "with-dash", "self", "mro", "name", "NAME", "ǅ", "ﬁ", "fi",
]  # fmt: skip
QUERY_NAMES = [
    "Class", "List", "GetURL", "GetUrl", "Pydantic", "Models", "Conn", "Row", "Datetime",
    "In", "Copy", "Value", "Any", "Iterable", "TupleRow", "Über", "X2fa", "Params", "Cur",
    "Result", "Enum", "Psycopg", "Runtime", "None_", "Self", "Import",
]  # fmt: skip
FILE_NAMES = ["class", "aio", "models", "2fa", "List", "query", "__init__", "in", "café"]

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


@dataclass(frozen=True)
class Family:
    """A column type and the values it takes (``ctx`` gives the generated classes)."""

    sql: str
    values: Any  # Callable[[Ctx], SearchStrategy]


def _enum_values(ctx: Ctx) -> st.SearchStrategy[Any]:
    return st.sampled_from(list(ctx.enum_cls))


def _composite(ctx: Ctx) -> st.SearchStrategy[Any]:
    cls = ctx.composite_cls
    names = list(cls.model_fields)
    return st.builds(
        lambda t, n: cls(**dict(zip(names, (t, n), strict=True))),
        st.none() | TEXT,
        st.none() | st.integers(-1000, 1000),
    )


def _grid(elem: st.SearchStrategy[Any]) -> st.SearchStrategy[list[list[Any]]]:
    return st.integers(1, 3).flatmap(
        lambda w: st.lists(st.lists(elem, min_size=w, max_size=w), min_size=1, max_size=3)
    )


def _range() -> st.SearchStrategy[Any]:
    bounded = st.tuples(st.integers(-100, 100), st.integers(1, 50)).map(
        lambda t: Range(t[0], t[0] + t[1], "[)")
    )
    return bounded | st.just(Range(empty=True)) | st.integers(-5, 5).map(lambda a: Range(a, None))


FAMILIES = [
    Family("integer", lambda c: st.integers(-(2**31), 2**31 - 1)),
    Family("bigint", lambda c: st.integers(-(2**63), 2**63 - 1)),
    Family("text", lambda c: TEXT),
    Family("boolean", lambda c: st.booleans()),
    Family("double precision", lambda c: st.floats(allow_nan=False, allow_infinity=False)),
    Family(
        "numeric",
        lambda c: st.decimals(-(10**6), 10**6, places=3, allow_nan=False, allow_infinity=False),
    ),
    Family("uuid", lambda c: st.uuids()),
    Family(
        "timestamptz",
        lambda c: st.datetimes(
            datetime.datetime(1900, 1, 1), datetime.datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
    ),
    Family("date", lambda c: st.dates(datetime.date(1, 1, 1), datetime.date(9999, 1, 1))),
    Family("interval", lambda c: st.timedeltas(-DAYS, DAYS)),
    Family("bytea", lambda c: st.binary(max_size=20)),
    Family("json", lambda c: JSON),
    Family("jsonb", lambda c: JSON),
    Family("jsonb[]", lambda c: st.lists(JSON, max_size=3)),
    Family("text[]", lambda c: st.lists(st.none() | TEXT, max_size=3)),
    Family("integer[][]", lambda c: _grid(st.none() | st.integers(-5, 5))),
    Family("{enum}", _enum_values),
    Family("{enum}[]", lambda c: st.lists(st.none() | _enum_values(c), max_size=3)),
    Family("{composite}", _composite),
    Family("{composite}[]", lambda c: st.lists(st.none() | _composite(c), max_size=3)),
    Family("int4range", lambda c: _range()),
    Family("{domain}", lambda c: st.integers(1, 10**6)),
]  # fmt: skip


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Project:
    enum: str
    labels: list[str]
    composite: str
    domain: str
    table: str
    columns: list[tuple[str, Family, bool]]  # (name, family, nullable)
    query_names: list[str]
    file: str

    def column_type(self, f: Family) -> str:
        return f.sql.format(  # qualified: "name" alone would be pg_catalog's type
            enum="public." + ident(self.enum),
            composite="public." + ident(self.composite),
            domain="public." + ident(self.domain),
        )

    def schema(self) -> str:
        cols = ",\n    ".join(
            f"{ident(n)} {self.column_type(f)}{'' if null else ' NOT NULL'}"
            for n, f, null in self.columns
        )
        labels = ", ".join("'" + x.replace("'", "''") + "'" for x in self.labels)
        return (
            f"CREATE TYPE public.{ident(self.enum)} AS ENUM ({labels});\n"
            f"CREATE TYPE public.{ident(self.composite)} AS "
            f"({ident('a b')} text, {ident('class')} int);\n"
            f"CREATE DOMAIN public.{ident(self.domain)} AS integer CHECK (VALUE > 0);\n"
            f"CREATE TABLE {ident(self.table)} (\n    id serial PRIMARY KEY,\n    {cols}\n);\n"
        )

    def queries(self) -> str:
        t = ident(self.table)
        cols = ", ".join(ident(n) for n, _, _ in self.columns)
        dollars = ", ".join(f"${i + 1}" for i in range(len(self.columns)))
        first = ident(self.columns[0][0])
        n = iter(self.query_names)
        return f"""
-- name: {next(n)} :one
INSERT INTO {t} ({cols}) VALUES ({dollars}) RETURNING *;

-- name: {next(n)} :one
SELECT * FROM {t} WHERE id = $1;

-- name: {next(n)} :many
SELECT * FROM {t} ORDER BY id;

-- name: {next(n)} :one
SELECT {first} FROM {t} WHERE id = $1;

-- name: {next(n)} :iter
SELECT x.* FROM {t} x ORDER BY id;

-- name: {next(n)} :execrows
UPDATE {t} SET {first} = {first} WHERE id = $1;

-- name: {next(n)} :execresult
UPDATE {t} SET {first} = {first} WHERE id >= $1;

-- name: {next(n)} :exec
UPDATE {t} SET {first} = {first} WHERE id = $1;

-- name: {next(n)} :copyfrom
INSERT INTO {t} ({cols}) VALUES ({dollars});

-- name: {next(n)} :batchexec
INSERT INTO {t} ({cols}) VALUES ({dollars});

-- name: {next(n)} :batchone
SELECT * FROM {t} WHERE id = $1;

-- name: {next(n)} :batchmany
SELECT * FROM {t} WHERE id >= $1 ORDER BY id;

-- name: {next(n)} :execlastid
INSERT INTO {t} ({cols}) VALUES ({dollars}) RETURNING id;
"""


QUERY_COUNT = 13


@st.composite
def projects(draw: st.DrawFn) -> Project:
    names = st.sampled_from(HOSTILE)
    enum, composite, domain, table = draw(
        st.lists(names, min_size=4, max_size=4, unique_by=str.lower)
    )
    labels = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    col_names = draw(
        st.lists(names.filter(lambda n: n != "id"), min_size=1, max_size=6, unique=True)
    )
    columns = [(n, draw(st.sampled_from(FAMILIES)), draw(st.booleans())) for n in col_names]
    query_names = draw(st.permutations(QUERY_NAMES))[:QUERY_COUNT]
    return Project(
        enum, labels, composite, domain, table, columns, query_names,
        draw(st.sampled_from(FILE_NAMES)),
    )  # fmt: skip


class Ctx:
    """The generated classes a project's values are built from."""

    def __init__(self, insert: Any) -> None:
        self.enum_cls: Any = None
        self.composite_cls: Any = None
        hints = typing.get_type_hints(insert)
        hints.pop("return", None)
        for hint in hints.values():
            for t in _leaves(hint):
                if isinstance(t, type) and issubclass(t, str) and t is not str:
                    self.enum_cls = t
                elif isinstance(t, type) and issubclass(t, pydantic.BaseModel):
                    self.composite_cls = t


def _leaves(hint: Any) -> list[Any]:
    args = typing.get_args(hint)
    if not args:
        return [hint]
    return [leaf for a in args for leaf in _leaves(a)]


_counter = itertools.count()


def _generate(p: Project, out: Path, server: str) -> tuple[str, Path]:
    package = f"hostile_{os.getpid()}_{next(_counter)}"
    root = Path(tempfile.mkdtemp(prefix="project-", dir=out.parent))
    (root / "schema").mkdir()
    (root / "schema" / "001.up.sql").write_text(p.schema())
    (root / "queries").mkdir()
    (root / "queries" / f"{p.file}.sql").write_text(p.queries())
    (root / "pyproject.toml").write_text(
        "[tool.multica-db]\n"
        'schema = ["schema"]\nqueries = ["queries"]\n'
        f'out = "{out / package}"\npackage = "{package}"\n' + RUFF_TOML
    )
    run_generate(cwd=root, database_url=server)
    return package, root


def _functions(module: types.ModuleType) -> list[Any]:
    return [
        f
        for _, f in inspect.getmembers(module, inspect.isfunction)
        if f.__module__ == module.__name__ and not f.__name__.startswith("_")
    ]


def _kwargs(fn: Any, values: list[Any]) -> dict[str, Any]:
    names = [
        n for n, prm in inspect.signature(fn).parameters.items() if prm.kind == prm.KEYWORD_ONLY
    ]
    return dict(zip(names, values, strict=True))


def _fields(row: pydantic.BaseModel) -> list[Any]:
    return [getattr(row, f) for f in type(row).model_fields][1:]  # without id


def _exercise(
    module: types.ModuleType, conn: psycopg.Connection[Any], rows: list[list[Any]]
) -> None:
    """Every function of the module, in the order of the query file; values must come back."""
    by_line = sorted(_functions(module), key=lambda f: f.__code__.co_firstlineno)
    (insert, get, many, single, iterate, execrows, execresult, execute, copy, batchexec,
     batchone, batchmany, lastid) = by_line  # fmt: skip
    conn.row_factory = psycopg.rows.dict_row  # type: ignore[assignment]  # must not matter
    first = insert(conn, **_kwargs(insert, rows[0]))
    assert _fields(first) == rows[0]
    got = get(conn, id=first.id)
    assert got is not None and _fields(got) == rows[0]
    assert get(conn, id=-1) is None
    value = single(conn, id=first.id)
    if type(value).__module__ == module.__name__:  # one nullable column: a one-field row
        value = getattr(value, next(iter(type(value).model_fields)))
    assert value == rows[0][0]
    assert copy(conn, [tuple(r) for r in rows[1:]]) == len(rows) - 1
    batchexec(conn, [tuple(r) for r in rows])
    every = many(conn)
    assert [_fields(r) for r in every] == [*rows, *rows]
    assert [_fields(r) for r in iterate(conn)] == [*rows, *rows]
    ids = [r.id for r in every]
    assert [None if r is None else _fields(r) for r in batchone(conn, [(ids[0],), (-1,)])] == [
        rows[0],
        None,
    ]
    assert [len(x) for x in batchmany(conn, [(ids[-1],), (ids[0],)])] == [1, len(every)]
    assert execrows(conn, id=ids[0]) == 1
    assert execresult(conn, id=ids[0]).rowcount == len(every)
    assert execute(conn, id=ids[0]) is None
    new_id = lastid(conn, **_kwargs(lastid, rows[0]))
    assert isinstance(new_id, int) and new_id > ids[-1]


@pytest.mark.timeout(600)
@pytest.mark.filterwarnings("error::UserWarning")  # pydantic: a field shadowing BaseModel's API
def test_random_hostile_projects_generate_check_and_round_trip(
    pg_server: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    sys.path.insert(0, str(out))
    packages: list[str] = []

    @PROFILE
    @given(p=projects(), data=st.data())
    def example(p: Project, data: st.DataObject) -> None:
        package, root = _generate(p, out, pg_server)
        packages.append(package)
        ruff = subprocess.run(
            [
                *(sys.executable, "-m", "ruff", "check", "--no-cache", str(out / package)),
                *("--config", f"lint.isort.known-first-party = [{package!r}]"),
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert ruff.returncode == 0, ruff.stdout + ruff.stderr
        importlib.invalidate_caches()
        importlib.import_module(f"{package}.models")
        [module_file] = [
            f for f in (out / package / "queries").glob("*.py") if f.name != "__init__.py"
        ]
        sync = importlib.import_module(f"{package}.queries.{module_file.stem}")
        importlib.import_module(f"{package}.queries.aio.{module_file.stem}")
        insert = sorted(_functions(sync), key=lambda f: f.__code__.co_firstlineno)[0]
        ctx = Ctx(insert)
        row = st.tuples(
            *((st.none() | f.values(ctx)) if null else f.values(ctx) for _, f, null in p.columns)
        ).map(list)
        rows = data.draw(st.lists(row, min_size=2, max_size=3))
        with (
            database_with(pg_server, [root / "schema"]) as url,
            psycopg.connect(url) as conn,
        ):
            _exercise(sync, conn, rows)

    example()
    assert len(packages) >= min(PROFILE.max_examples, 4), packages  # examples really ran
    mypy = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--strict", "--no-incremental"),
            *(arg for pkg in packages for arg in ("-p", pkg)),
        ],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
