"""Turn parsed queries into IR, asking a real PostgreSQL about every statement."""

from __future__ import annotations

import dataclasses
import keyword
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pglast
import psycopg
from pglast import ast
from pglast import parser as pgparser
from pglast.enums import OnConflictAction

from multica_db_codegen.analyze.array_dims import expr_dims
from multica_db_codegen.analyze.catalog import Attribute, Catalog
from multica_db_codegen.analyze.describe import (
    Described,
    DescribeError,
    describe,
    describe_many,
)
from multica_db_codegen.analyze.embeds import locate_embeds
from multica_db_codegen.analyze.from_functions import Learnt
from multica_db_codegen.analyze.glued_parameter import glued_parameter_hint, is_glued_parameter_hint
from multica_db_codegen.analyze.ir import (
    ANY_TYPE,
    ColumnIR,
    CopyIR,
    EmbedIR,
    FileIR,
    ParamIR,
    QueryIR,
    TypeRef,
)
from multica_db_codegen.analyze.json_shapes import shape_columns
from multica_db_codegen.analyze.missing_functions import (
    Stub,
    describe_stubbed,
    explained,
    missing_function,
    typed,
)
from multica_db_codegen.analyze.missing_functions import strict as strict_functions
from multica_db_codegen.analyze.null_tests import bare_null_tests, null_tested, types_elsewhere
from multica_db_codegen.analyze.nullability import ColumnFacts, always_one_row, infer_nullability
from multica_db_codegen.analyze.nullability_catalog import nullability_catalog
from multica_db_codegen.analyze.param_columns import column_resolver, compared_columns
from multica_db_codegen.analyze.schema import (
    missing_extension_hint,
)
from multica_db_codegen.analyze.standin_result import cast_needed
from multica_db_codegen.analyze.stars import expand_stars
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.parse import Command, QuerySpec
from multica_db_codegen.parse.params import python_safe, tree_nodes
from multica_db_codegen.parse.spec import CopyShapeError, copy_target, returning_list
from multica_db_codegen.render.typemap import text_form_only

#: What PostgreSQL names a column nothing names: its "?" is no nullability mark.
_UNNAMED = "?column?"
_FORCE_RE = re.compile(r"^(?P<name>.*[^!?])(?P<mark>[!?])$")


def module_name(path: Path) -> str:
    """A module name for a query file: its lower-cased stem, made importable."""
    stem = re.sub(r"\W", "_", path.stem.lower())
    if not stem or stem[0].isdigit():
        stem = f"q_{stem}"
    if stem.startswith("__"):  # __init__.sql must not become the package's own __init__
        stem = "q" + stem
    return stem + "_" if keyword.iskeyword(stem) or keyword.issoftkeyword(stem) else stem


def relative_paths(files: list[Path], roots: Iterable[Path]) -> dict[Path, str]:
    """Each query file's path relative to the queries root it was found under.

    A file named directly is relative to the deepest directory shared by all the
    files named directly, so ``query.sql`` and ``sql/query.sql`` stay apart.
    """
    roots = list(roots)
    direct = [f for f in files if f in roots]
    base = Path(os.path.commonpath([str(f.parent.absolute()) for f in direct])) if direct else None
    out: dict[Path, str] = {}
    for f in files:
        under = next((r for r in roots if r.is_dir() and f.is_relative_to(r)), None)
        if under is not None:
            out[f] = f.relative_to(under).as_posix()
        elif base is not None:
            out[f] = os.path.relpath(f.absolute(), base).replace(os.sep, "/")
        else:
            out[f] = f.name
    return out


def module_names(files: list[Path], rel: dict[Path, str]) -> dict[Path, str]:
    """A distinct module name per file, in file order.

    Files with the same base name in different folders (``query.sql``,
    ``sql/query.sql``) are different modules: the first keeps the plain name,
    the next ones are prefixed with their folders (``sql_query``).
    """
    taken: set[str] = set()
    out: dict[Path, str] = {}
    for f in files:
        name = module_name(f)
        if name in taken:
            folders = [re.sub(r"\W", "_", part.lower()) for part in Path(rel[f]).parts[:-1]]
            name = module_name(Path("_".join([*folders, f.stem]) + ".sql"))
        base, k = name, 2
        while name in taken:
            name = f"{base}_{k}"
            k += 1
        taken.add(name)
        out[f] = name
    return out


def analyze_parsed(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    parsed: Sequence[tuple[Path, list[QuerySpec]]],
    *,
    missing: Sequence[str] = (),
    stub_functions: bool = True,
) -> tuple[list[FileIR], list[GenerateError]]:
    """The IR of each parsed file, described on ``conn`` (a database holding the schema),
    and the error of every query that failed (which stays in its file, ``error`` set).
    ``stub_functions``: as :func:`analyze_query`'s.

    Each FileIR's module is the file's own :func:`module_name`; where a file's
    module goes depends on the other files (:func:`module_names`), which the
    caller decides. ``missing``: extensions the server lacks (the likely cause of
    a "does not exist" error, given as its hint).
    """
    described = describe_all(conn, catalog, parsed)
    errors: list[GenerateError] = []
    files: list[FileIR] = []
    for path, specs in parsed:
        queries: list[QueryIR] = []
        for spec in specs:
            try:
                queries.append(
                    analyze_query(
                        conn, catalog, spec, described[id(spec)], stub_functions=stub_functions
                    )
                )
            except GenerateError as exc:
                if (
                    missing
                    and "does not exist" in exc.message  # the likely cause
                    and not is_glued_parameter_hint(exc.hint)  # unless a surer one is known
                ):
                    exc.hint = missing_extension_hint(list(missing))
                errors.append(exc)
                queries.append(_failed(spec, exc))
            except RecursionError:
                # one statement the analysis cannot follow never stops the others
                deep = GenerateError(
                    "the statement is nested too deeply for the analysis to follow "
                    "(Python's recursion limit); it is left out",
                    location=spec.location,
                    query=spec.name,
                    hint="split the expression (a CTE, a function), or report it",
                )
                errors.append(deep)
                queries.append(_failed(spec, deep))
        files.append(FileIR(str(path), module_name(path), tuple(queries)))
    return files, errors


def _query_ir(
    spec: QuerySpec,
    *,
    params: tuple[ParamIR, ...],
    columns: tuple[ColumnIR, ...],
    table_model: str | None,
    row_guaranteed: bool,
    cmd: Command | None = None,
    warnings: tuple[str, ...] = (),
    embeds: tuple[EmbedIR, ...] = (),
    error: str | None = None,
    copy: CopyIR | None = None,
) -> QueryIR:
    """The IR of one query: what parsing knows plus what analysis (or its failure) found."""
    line, _ = spec.location.file.line_col(spec.location.offset)
    return QueryIR(
        file=spec.location.file.path,
        line=line,
        name=spec.name,
        cmd=spec.command if cmd is None else cmd,
        doc=tuple(spec.doc),
        sql=spec.sql,
        statement=spec.statement_kind,
        params=params,
        columns=columns,
        table_model=table_model,
        row_guaranteed=row_guaranteed,
        warnings=warnings,
        embeds=embeds,
        error=error,
        copy=copy,
    )


def _failed(spec: QuerySpec, exc: GenerateError) -> QueryIR:
    return _query_ir(
        spec, params=(), columns=(), table_model=None, row_guaranteed=False, error=str(exc)
    )


def describe_all(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    parsed: Sequence[tuple[Path, list[QuerySpec]]],
) -> dict[int, Described | DescribeError]:
    """Describe every query in one pipeline and load the catalog facts they all need.

    Per query, that is two network round trips for the description and a few catalog
    queries; together, a round trip per batch and two catalog queries.
    """
    specs = [spec for _, specs in parsed for spec in specs]
    results = describe_many(conn, [spec.sql for spec in specs])
    ok = [d for d in results if isinstance(d, Described)]
    catalog.types(oid for d in ok for oid in (*d.param_oids, *(c.type_oid for c in d.columns)))
    catalog.attributes((c.table_oid, c.attnum) for d in ok for c in d.columns)
    catalog.prefetch_attnums(c.table_oid for d in ok for c in d.columns)
    catalog.prefetch_relation_columns(
        (p.target.schema, p.target.table)
        for spec in specs
        for p in spec.params
        if p.target is not None
    )
    nullability_catalog(catalog).prefetch_relations(
        (rv.schemaname, rv.relname) for spec in specs for rv in _range_vars(spec.tree)
    )
    return {id(spec): d for spec, d in zip(specs, results, strict=True)}


def _range_vars(tree: Any) -> Iterator[Any]:
    """Every table reference (``RangeVar``) in a statement, CTE names included (harmless:
    prefetching a name that is not looked up later only costs a row)."""
    return (node for node in tree_nodes(tree) if isinstance(node, ast.RangeVar))


def analyze_query(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    spec: QuerySpec,
    described: Described | DescribeError | None = None,
    *,
    stub_functions: bool = True,
) -> QueryIR:
    """``described``: the statement's description (or PostgreSQL's error) if already read.

    ``stub_functions``: a call to a function the database lacks gets an ``Any`` result
    and a warning, as sqlc accepts it (``verify`` turns this off: on a live database a
    missing function is a real failure).
    """
    cast: list[int] = []
    stubs: list[Stub] = []
    learnt = Learnt()
    try:
        if described is None:
            try:
                described = describe(conn, spec.sql)
            except DescribeError as exc:
                described = exc
        if isinstance(described, DescribeError):
            described = _redescribe(
                conn, spec, described, cast, stubs if stub_functions else None, learnt
            )
    except DescribeError as exc:
        where = spec.location_of(exc.position - 1) if exc.position else spec.sql_location
        message = exc.message + (f"\nDETAIL: {exc.detail}" if exc.detail else "")
        # PostgreSQL's hint for an operator it lacks is to add casts; a missing space
        # (``id=@id``) is the cause it cannot see
        hint = glued_parameter_hint(spec.sql, spec.tree, exc.sqlstate, exc.position)
        raise GenerateError(
            message, location=where, query=spec.name, hint=hint or exc.hint
        ) from None
    command_warning = _check_command(spec, described)
    _name_function_args(catalog, spec)

    types = catalog.types([*described.param_oids, *(c.type_oid for c in described.columns)])
    types[ANY_TYPE.oid] = ANY_TYPE  # the result of a stubbed function (never a parameter's)
    for oid in described.param_oids:
        if oid not in types:
            raise GenerateError(
                f"PostgreSQL could not determine a parameter's type (oid {oid})",
                location=spec.location,
                query=spec.name,
            )
    attrs = catalog.attributes((c.table_oid, c.attnum) for c in described.columns)

    params: list[ParamIR] = []
    cast_dims = _param_cast_dims(spec.tree)
    tested = null_tested(spec.tree)

    def relation_column_names(schema: str | None, name: str) -> list[str] | None:
        cols = catalog.relation_columns(schema, name)
        return None if cols is None else [c for c, _ in cols]

    compared = compared_columns(spec.tree, relation_column_names)
    resolve_column = column_resolver(spec.tree, relation_column_names)

    def column_dims(ref: ast.ColumnRef) -> int:
        found = resolve_column(ref)
        return 0 if found is None else catalog.column_array_dims(*found)

    for p, oid in zip(spec.params, described.param_oids, strict=True):
        # `$1 IS NULL`: None is the point
        nullable = p.nullable or p.number in cast or p.number in tested
        if not nullable and p.target is not None:
            cols = catalog.relation_columns(p.target.schema, p.target.table)
            if cols is not None:
                nullable = not dict(cols).get(p.target.column, True)
        column = (
            f"{p.target.schema or 'public'}.{p.target.table}.{p.target.column}"
            if p.target is not None
            else None
        )
        against = compared.get(p.number) if column is None and p.number is not None else None
        if against is not None and oid in catalog.column_type_oids(*against):
            # compared with a column of its type: typed as the column (its override)
            schema, table, name = against
            column = f"{schema or _search_schema(catalog, table)}.{table}.{name}"
        params.append(
            ParamIR(
                p.number,
                p.name,
                types[oid],
                nullable,
                column,
                optional=p.nullable,
                dims=cast_dims.get(p.number, 1),
            )
        )

    facts = [
        ColumnFacts(c.name, types[c.type_oid], attrs.get((c.table_oid, c.attnum)))
        for c in described.columns
    ]
    engine_notes: list[str] = []
    nullable_flags = infer_nullability(
        spec.tree, facts, catalog, [p.nullable for p in params], notes=engine_notes
    )
    columns: list[ColumnIR] = []
    written = _result_exprs(spec.tree, len(described.columns))
    for c, fact, nullable in zip(described.columns, facts, nullable_flags, strict=True):
        name = c.name
        m = _FORCE_RE.match(name)
        if m is not None and name != _UNNAMED:
            name = m.group("name")
            nullable = m.group("mark") == "?"
        attr: Attribute | None = fact.attribute
        columns.append(
            ColumnIR(
                name=name,
                type=fact.type,
                nullable=nullable,
                table=f"{attr.schema}.{attr.table}" if attr else None,
                table_column=attr.column if attr else None,
                dims=(
                    attr.dims
                    if attr
                    else expr_dims(written[len(columns)], column_dims)
                    if written
                    else 1
                ),
            )
        )

    columns = shape_columns(
        conn, catalog, spec.tree, described, columns, [p.nullable for p in params], column_dims
    )
    warnings: list[str] = [command_warning] if command_warning else []
    warnings += [
        f"PostgreSQL cannot tell the type of parameter ${n} (sqlc types it any): it is sent "
        f"as text; write ${n}::type to choose another"
        for n in cast
    ]
    warnings += [_stub_warning(spec, stub, learnt) for stub in stubs]
    warnings += engine_notes
    warnings += _text_form_warnings([p.type for p in params] + [c.type for c in columns])
    cmd = spec.command
    if spec.command.asks_for_rows and not columns:
        cmd = Command.EXEC  # :one/:many on a statement without columns (see above)
    if spec.command == Command.EXECLASTID:
        # the first column of the first row, or None: a scalar, never a table's model
        return _query_ir(
            spec,
            params=tuple(params),
            columns=tuple(columns[:1]),
            table_model=None,
            row_guaranteed=False,
            warnings=tuple(warnings),
        )
    if spec.has_returning and not spec.command.asks_for_rows and cmd != Command.COPYFROM:
        warnings.append(
            f":{spec.command.value} discards the rows RETURNING produces; "
            "use :one or :many to read them"
        )
    ir = _query_ir(
        spec,
        cmd=cmd,
        params=tuple(params),
        columns=tuple(columns),
        table_model=_table_model(catalog, described, columns),
        row_guaranteed=_row_guaranteed(spec) or always_one_row(spec.tree, catalog),
        warnings=tuple(warnings),
        embeds=tuple(
            locate_embeds(conn, catalog, spec, described, columns, [p.nullable for p in params])
        ),
        copy=_copy_ir(spec),
    )

    # Generated code reads rows by position: a star would pick up a column a later
    # migration adds. The SQL it runs names the columns instead (as sqlc does).
    def column_names(schema: str | None, name: str) -> list[str] | None:
        cols = catalog.relation_columns(schema, name)
        return None if cols is None else [c for c, _ in cols]

    expanded = expand_stars(spec.sql, spec.tree, [c.name for c in described.columns], column_names)
    return ir if expanded == spec.sql else dataclasses.replace(ir, sql=expanded)


def _search_schema(catalog: Catalog, table: str) -> str:
    """The schema an unqualified relation name resolves to."""
    row = catalog.conn.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass(%s)",
        (f'"{table}"',),
    ).fetchone()
    return "public" if row is None else str(row[0])


def _result_exprs(tree: Any, count: int) -> tuple[Any, ...] | None:
    """The expressions a statement's result list writes, one per result column (None when
    a star, a set operation or anything else makes them not line up)."""
    if isinstance(tree, ast.SelectStmt):
        if tree.op is not None and int(tree.op) != 0:
            return None
        targets = tuple(tree.targetList or ())
    else:
        targets = returning_list(tree)
    exprs = tuple(getattr(t, "val", None) for t in targets)
    if len(exprs) != count or any(
        isinstance(e, ast.ColumnRef) and any(isinstance(f, ast.A_Star) for f in e.fields or ())
        for e in exprs
    ):
        return None
    return exprs


def _param_cast_dims(tree: Any) -> dict[int, int]:
    """``$1::text[][]`` → {1: 2}: a parameter's dimensions as its cast declares them."""
    out: dict[int, int] = {}
    for node in tree_nodes(tree):
        if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.ParamRef):
            bounds = len(node.typeName.arrayBounds or ()) if node.typeName is not None else 0
            if bounds > 1:
                out[int(node.arg.number or 0)] = bounds
    return out


def _copy_ir(spec: QuerySpec) -> CopyIR | None:
    """What the renderer needs to write the COPY of a ``:copyfrom`` (checked already)."""
    if spec.command != Command.COPYFROM:
        return None
    target = copy_target(spec.tree, spec.sql)
    return CopyIR(target.relation, target.columns, target.param_numbers)


_UNTYPED_RE = re.compile(r"could not determine data type of parameter \$(\d+)")


def _redescribe(
    conn: psycopg.Connection[Any],
    spec: QuerySpec,
    exc: DescribeError,
    cast: list[int],
    stubs: list[Stub] | None,
    learnt: Learnt | None = None,
) -> Described:
    """Describe again past what sqlc accepts and PostgreSQL cannot prepare.

    sqlc accepts ``WHERE $1 IS NULL`` and types the parameter ``any``; PostgreSQL can
    neither prepare nor run it as written, so the SQL sent gets ``$1::text`` (a value
    of unknown type is text to PostgreSQL). ``cast`` receives the parameters cast.
    sqlc also accepts a call to a function the schema does not define: ``stubs``
    receives each one stubbed (see :mod:`.missing_functions`); ``None``: none is;
    ``learnt``, the columns read from those called in FROM (see :mod:`.from_functions`).
    Raises the (last) :class:`DescribeError` when neither is the problem.
    """
    null_tests_typed = False
    casts: list[str] = []  # types a stand-in's "any" result is cast to where compared
    while True:
        if not null_tests_typed:
            null_tests_typed = True
            # `$1 IS NULL OR id = ANY($1)`: typed where it is tested too (see .null_tests)
            found = types_elsewhere(conn, spec.sql, spec.tree)
            for number, type_name in found.items():
                at = bare_null_tests(spec.tree).get(number, set())
                _cast_parameter(spec, number, type_name, at)
            if found:
                try:
                    return _describe_stubbed(conn, spec, stubs or (), learnt, casts)
                except DescribeError as again:
                    exc = again
        m = _UNTYPED_RE.search(exc.message)
        stub = (
            missing_function(conn, spec.tree, exc, stubs, spec.sql)
            if stubs is not None and m is None
            else None
        )
        wanted = cast_needed(exc.message)
        if wanted is not None and wanted not in casts and len(casts) < 16:
            casts.append(wanted)
        elif m is not None and int(m.group(1)) not in cast:
            cast.append(int(m.group(1)))
            _cast_parameter(spec, int(m.group(1)))
        elif stub is not None and stubs is not None and not strict_functions():
            if stub.from_item is None:  # a FROM item's rows are worked out when described
                stub = typed(conn, spec.sql, stub, stubs)
            # where it is in the file: casting a parameter later moves the SQL sent
            stubs.append(dataclasses.replace(stub, offset=spec.original_offset(stub.offset)))
        else:
            raise explained(exc)
        try:
            return _describe_stubbed(conn, spec, stubs or (), learnt, casts)
        except DescribeError as again:
            exc = again


def _describe_stubbed(
    conn: psycopg.Connection[Any],
    spec: QuerySpec,
    stubs: Sequence[Stub],
    learnt: Learnt | None,
    casts: Sequence[str] = (),
) -> Described:
    """:func:`describe_stubbed`, ``learnt`` holding only what this description found; a
    star over a missing function is refused only where the generated code reads rows."""
    if learnt is not None:
        learnt.columns.clear()
    return describe_stubbed(
        conn, spec.sql, stubs, learnt, stars=spec.command.reads_rows, casts=casts
    )


def _text_form_warnings(types: list[TypeRef]) -> list[str]:
    """One warning per type the generated code can only give as its text form."""
    names = sorted({name for t in types for name in text_form_only(t)})
    return [
        f"PostgreSQL type {name} has no Python type of its own: its values are its text "
        "form (str); to choose one, add [[tool.multica-db.overrides]] "
        f'db_type = "{name}" python_type = "module.Type"'
        for name in names
    ]


def _stub_warning(spec: QuerySpec, stub: Stub, learnt: Learnt) -> str:
    """Where the missing function is called, and what that means for the result."""
    line, col = spec.location.file.line_col(stub.offset)
    item = stub.from_item
    if item is not None and item.record:
        typed_as = "in FROM, its columns are those its column definition list gives"
    elif item is not None:
        names = sorted({c for q, c in learnt.columns if q is None or q == item.ref})
        read = f" ({', '.join(names)})" if names else ""
        typed_as = (
            f"in FROM, the columns read from it{read} are typed Any in the result unless a "
            "cast or a column definition list (AS f(a integer, …)) gives their type"
        )
    elif stub.returns is None:
        typed_as = "its result is typed Any"
    else:
        typed_as = f"its result is taken as {stub.returns}, as its place in the query requires"
    return (
        f"{spec.location.file.path}:{line}:{col}: function {stub.signature} is not in the "
        f"schema (sqlc accepts it): {typed_as}; add the function to the schema to get its "
        "real type"
    )


def _cast_parameter(
    spec: QuerySpec, number: int, type_name: str = "text", only: set[int] | None = None
) -> None:
    """Write ``::type_name`` after every ``$number`` of the SQL (or those starting at an
    offset in ``only``), keeping error offsets right."""
    ends = [
        int(t.end) + 1
        for t in pgparser.scan(spec.sql)
        if t.name == "PARAM"
        and spec.sql[t.start : t.end + 1] == f"${number}"
        and (only is None or t.start in only)
    ]
    suffix = f"::{type_name}"
    for at in reversed(ends):
        back = spec.original_offset(at) - spec.sql_location.offset
        spec.sql = spec.sql[:at] + suffix + spec.sql[at:]
        spec.offset_map = sorted(
            [(new + len(suffix) if new >= at else new, old) for new, old in spec.offset_map]
            + [(at + len(suffix), back)]
        )
    spec.tree = pglast.parse_sql(spec.sql)[0].stmt


def _check_command(spec: QuerySpec, d: Described) -> str | None:
    """Refuse only what sqlc refuses; return a warning for what it accepts but is dubious.

    sqlc runs ``:exec``/``:execrows``/``:execresult`` on any statement and discards
    the rows (``SELECT pg_advisory_xact_lock($1)``); it refuses ``:one``/``:many``
    only on INSERT/UPDATE/DELETE without RETURNING.
    """
    if spec.command == Command.COPYFROM:
        try:
            copy_target(spec.tree, spec.sql)
        except CopyShapeError as exc:
            raise GenerateError(
                str(exc), location=spec.location_of(exc.offset), query=spec.name
            ) from None
        return None
    if spec.command.asks_for_rows and not d.columns:
        if spec.statement_kind in ("insert", "update", "delete"):
            raise GenerateError(
                f":{spec.command.value} needs a statement that returns columns "
                "(add RETURNING, or use :exec / :execrows)",
                location=spec.location,
                query=spec.name,
            )
        return (
            f":{spec.command.value} on a statement that returns no columns "
            "runs as :exec (returns None)"
        )
    if spec.command == Command.EXECLASTID and not d.columns:
        return (
            ":execlastid: PostgreSQL has no last insert id; add RETURNING id "
            "to get it (without RETURNING the function returns None)"
        )
    return None


def _name_function_args(catalog: Catalog, spec: QuerySpec) -> None:
    """``my_func($1)``: name the parameter after the function's argument, as sqlc does."""
    taken = {p.name for p in spec.params}
    for p in spec.params:
        if p.explicit_name or p.func_arg is None or p.name != f"column_{p.number}":
            continue
        found = catalog.function_arg_name(*p.func_arg)
        # an argument without a name takes the function's, as sqlc names it
        name = python_safe(found or p.func_arg[1].lower())
        if name and name not in taken:
            taken.discard(p.name)
            p.name = name
            taken.add(name)


def _table_model(catalog: Catalog, d: Described, columns: list[ColumnIR]) -> str | None:
    """``schema.table`` when the result is exactly that table's row (SELECT *, RETURNING *)."""
    if not d.columns:
        return None
    relids = {c.table_oid for c in d.columns}
    if len(relids) != 1 or 0 in relids:
        return None
    relid = relids.pop()
    if [c.attnum for c in d.columns] != catalog.relation_attnums(relid):
        return None
    attrs = catalog.attributes((c.table_oid, c.attnum) for c in d.columns)
    for raw, col in zip(d.columns, columns, strict=True):
        a = attrs.get((raw.table_oid, raw.attnum))
        if a is None or a.relkind not in ("r", "p") or col.name != a.column:
            return None
        # A column the query proves NOT NULL (WHERE owner_id = $2) still fits the table's
        # Optional field; one the query makes nullable (outer join) does not fit a NOT NULL one.
        if col.nullable and a.notnull:
            return None
    first = attrs[(d.columns[0].table_oid, d.columns[0].attnum)]
    return f"{first.schema}.{first.table}"


_AGGREGATES = {
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "bit_and",
    "bit_or",
    "stddev",
    "variance",
}


def _is_ungrouped_aggregate(tree: Any) -> bool:  # tree: pglast node, attributes Optional
    """``SELECT count(*) FROM t WHERE …`` returns exactly one row, whatever matches."""
    if not isinstance(tree, ast.SelectStmt) or (tree.op is not None and int(tree.op) != 0):
        return False
    node: Any = tree
    if node.groupClause or node.havingClause or node.limitCount or node.limitOffset:
        return False
    if not node.targetList:
        return False
    for t in node.targetList:
        v = t.val
        while isinstance(v, ast.TypeCast):
            v = v.arg
        if _plain_call_name(v) not in _AGGREGATES:
            return False
    return True


def _plain_call_name(v: Any) -> str | None:
    """Lower-cased name of a function call without OVER, else None."""
    if not isinstance(v, ast.FuncCall) or v.over is not None or not v.funcname:
        return None
    last: Any = v.funcname[-1]
    return str(last.sval).lower()


def _row_guaranteed(spec: QuerySpec) -> bool:
    """Statements that always return a row: INSERT … VALUES … RETURNING, ungrouped aggregates."""
    tree: Any = spec.tree
    if _is_ungrouped_aggregate(tree):
        return True
    if not isinstance(tree, ast.InsertStmt) or not returning_list(tree):
        return False
    sel = tree.selectStmt
    if not (isinstance(sel, ast.SelectStmt) and sel.valuesLists):
        return False
    conflict = tree.onConflictClause
    if conflict is None:
        return True
    return conflict.action == OnConflictAction.ONCONFLICT_UPDATE and conflict.whereClause is None
