"""Typed JSON the statement builds: ``json_agg(p)``, ``to_jsonb(t)``, ``json_build_object(…)``.

PostgreSQL describes such a column as plain ``json``/``jsonb``; what is inside is
known only from the expression. For each result column built by one of these
functions (through a scalar subquery, ``COALESCE``, a cast to json/jsonb, or a column of
a subquery or CTE in ``FROM`` — ``LEFT JOIN LATERAL (SELECT json_agg(p) …) lp``), the
aggregated row or the object's values are described by PostgreSQL itself: a
statement derived from the one the expression lives in, selecting those values
instead (its ``WHERE`` and the aggregate's ``FILTER`` kept for what they say about
NULLs, inside an aggregate without its grouping). A statement referring to an outer
query (a correlated subquery) is described inside its outer statements, as a
``LATERAL`` subquery of their ``FROM`` (an ``UPDATE``/``DELETE``/``INSERT``'s target
row and its ``FROM``/``USING`` for a subquery of its ``RETURNING`` list). Their
nullability comes from the same engine as a result column's. A whole-row reference to
a table (``json_agg(p)``) is that table's row; ``ROW(a, b)`` an object keyed f1, f2, …
as PostgreSQL names an anonymous record's fields. ``json_object_agg(k, v)`` is an
object keyed by data whose values are what ``json_agg(v)``'s elements would be.
jsonb's ``||``, ``-`` and ``#-`` on objects of known keys give the object PostgreSQL
would, when the keys they drop are constants.

What cannot be described this way (an object whose keys are not constants, keys
dropped by a value, an operator on anything but an object of known keys) keeps no
shape: the column stays plain JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, SubLinkType
from pglast.stream import RawStream

from multica_db_codegen.analyze.array_dims import ColumnDims, expr_dims
from multica_db_codegen.analyze.catalog import Catalog
from multica_db_codegen.analyze.describe import Described, DescribeError, describe
from multica_db_codegen.analyze.embeds import (
    cte_names,
    outer_nullable,
    relations,
    result_targets,
    scope_items,
    table_oid,
    target_widths,
)
from multica_db_codegen.analyze.ir import ColumnIR, ShapeIR
from multica_db_codegen.analyze.nullability import ColumnFacts, infer_nullability
from multica_db_codegen.parse.params import copy_tree
from multica_db_codegen.parse.spec import returning_list

#: json, jsonb
JSON_OIDS = frozenset({114, 3802})
_AGGREGATES = frozenset({"json_agg", "jsonb_agg"})
_OBJECT_AGGREGATES = frozenset({"json_object_agg", "jsonb_object_agg"})
_ROW_TO_JSON = frozenset({"to_json", "to_jsonb", "row_to_json"})
_BUILD_OBJECT = frozenset({"json_build_object", "jsonb_build_object"})


@dataclass(frozen=True, slots=True)
class _Context:
    """The statement an expression is evaluated in."""

    stmt: Any
    aggregated: bool = False  # inside an aggregate's argument: one input row at a time
    agg_filter: Any = None  # that aggregate's FILTER (WHERE …): the rows it takes
    # the statement ``stmt`` is nested in (a scalar subquery's, a FROM subquery's), whose
    # columns ``stmt`` may refer to
    outer: _Context | None = None


def shape_columns(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    tree: Any,
    described: Described,
    columns: Sequence[ColumnIR],
    param_nullable: Sequence[bool],
    column_dims: ColumnDims | None = None,
) -> list[ColumnIR]:
    """``columns`` with the :class:`ShapeIR` of each one the statement builds as JSON.

    ``column_dims``: an array column's declared dimensions, for values built of them
    (``array_agg(t.tags)``)."""
    if not any(c.type.oid in JSON_OIDS for c in columns):
        return list(columns)
    targets = result_targets(tree)
    widths = target_widths(conn, tree, targets, described, {})
    if widths is None:
        return list(columns)  # where each target's columns are is unknown: no shapes
    shaper = _Shaper(conn, catalog, tree, described.param_oids, param_nullable, column_dims)
    out = list(columns)
    at = 0
    for target, width in zip(targets, widths, strict=True):
        star = _star_of(target.val)
        if star is not None:
            # ``s.*`` (a sqlc.embed of a CTE or subquery): each json column as ``s.col``
            for i in range(at, at + width):
                if columns[i].type.oid in JSON_OIDS:
                    ref = ast.ColumnRef(fields=(ast.String(star), ast.String(columns[i].name)))
                    shape = shaper.shape(ref, _Context(tree))
                    if shape is not None:
                        out[i] = replace(columns[i], shape=shape)
        elif width == 1 and columns[at].type.oid in JSON_OIDS:
            shape = shaper.shape(target.val, _Context(tree))
            if shape is not None:
                out[at] = replace(columns[at], shape=shape)
        at += width
    return out


def _star_of(node: Any) -> str | None:
    """``alias`` of ``alias.*``, else None."""
    if not isinstance(node, ast.ColumnRef):
        return None
    fields = tuple(node.fields or ())
    if len(fields) == 2 and isinstance(fields[1], ast.A_Star) and isinstance(fields[0], ast.String):
        return str(fields[0].sval)
    return None


def _name(node: Any, *, window: bool = False) -> str | None:
    """The lower-cased name of a plain function call (a window call's with ``window``)."""
    if not isinstance(node, ast.FuncCall) or not node.funcname:
        return None
    if (node.over is not None) != window:
        return None
    if len(node.funcname) > 1 and str(node.funcname[0].sval) != "pg_catalog":
        return None
    return str(node.funcname[-1].sval).lower()


def _is_json_cast(node: Any) -> bool:
    names = [str(n.sval) for n in (node.typeName.names or ())] if node.typeName else []
    return bool(names) and names[-1] in ("json", "jsonb") and not node.typeName.arrayBounds


class _Shaper:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        catalog: Catalog,
        top: Any,
        param_oids: Sequence[int],
        param_nullable: Sequence[bool],
        column_dims: ColumnDims | None = None,
    ) -> None:
        self.conn = conn
        self.column_dims = column_dims
        self.catalog = catalog
        self.top_with = getattr(top, "withClause", None)
        self.param_oids = param_oids
        self.param_nullable = param_nullable

    def shape(self, expr: Any, ctx: _Context) -> ShapeIR | None:
        while isinstance(expr, ast.TypeCast) and _is_json_cast(expr):
            expr = expr.arg
        if isinstance(expr, ast.CoalesceExpr) and expr.args:
            return self._coalesce(tuple(expr.args), ctx)
        if isinstance(expr, ast.SubLink):
            sub: Any = expr.subselect
            if (
                int(expr.subLinkType or 0) == int(SubLinkType.EXPR_SUBLINK)
                and isinstance(sub, ast.SelectStmt)
                and (sub.op is None or int(sub.op) == 0)
                and len(sub.targetList or ()) == 1
            ):
                return self.shape(next(iter(sub.targetList or ())).val, _Context(sub, outer=ctx))
            return None
        if isinstance(expr, ast.ColumnRef):
            source = _subquery_column(expr, ctx.stmt, self.top_with)
            if source is None:
                return None
            sub, target = source
            return self.shape(target.val, _Context(sub, outer=ctx))
        name = _name(expr)
        args = tuple(expr.args or ()) if isinstance(expr, ast.FuncCall) else ()
        # an aggregate's argument is read from each input row; a window aggregate's
        # (json_agg(x) OVER (…)) from the rows the statement makes, grouped if it groups
        window = name is None and _name(expr, window=True) in _AGGREGATES | _OBJECT_AGGREGATES
        if window:
            name = _name(expr, window=True)
        if name in _AGGREGATES | _OBJECT_AGGREGATES:
            each = replace(ctx, aggregated=ctx.aggregated or not window, agg_filter=expr.agg_filter)
        if name in _AGGREGATES and len(args) == 1 and not expr.agg_star:
            return self._element(args[0], each)
        if name in _OBJECT_AGGREGATES and len(args) == 2:
            # keys are data (text, whatever their type); each value as json_agg's element
            found = self._element(args[1], each)
            return None if found is None else replace(found, many=False, keyed=True)
        if name in _ROW_TO_JSON and args:
            found = self._element(args[0], ctx)
            if found is None:
                return None
            # a row's object, or the JSON of one value (a composite from a scalar
            # subquery, ``to_json((SELECT p FROM posts p …))``, decodes as its type)
            return replace(found, many=False, element_nullable=False)
        if name in _BUILD_OBJECT:
            return self._object(args, ctx)
        if isinstance(expr, ast.A_Expr):
            return self._operator(expr, ctx)
        return None

    def _coalesce(self, args: Sequence[Any], ctx: _Context) -> ShapeIR | None:
        """``COALESCE(json_agg(p), '[]')``: the first value's shape, when every fallback
        has it too — an empty array for an array, an empty object for a keyed object, or
        a value of the same shape (a fallback of another shape, ``'{}'`` for an object of
        known keys, would not decode as it)."""
        first = self.shape(args[0], ctx)
        if first is None:
            return None
        for other in args[1:]:
            if isinstance(other, ast.A_Const) and other.isnull:
                continue  # COALESCE(x, NULL) is x
            empty = _json_constant(other)
            if empty == "[]" and first.many:
                continue
            if empty == "{}" and first.keyed:
                continue
            if empty is not None or self.shape(other, ctx) != first:
                return None
        return first

    def _operator(self, expr: Any, ctx: _Context) -> ShapeIR | None:
        """jsonb's operators on objects whose shape is known: ``a || b`` merges them (the
        right side's value wins a key both have, as PostgreSQL's does), ``a - 'k'``,
        ``a - ARRAY['k', …]`` and ``a #- '{k,…}'`` drop constant keys or paths of keys. The
        expression is json-typed (only such are shaped), so these are jsonb's operators."""
        if int(expr.kind) != int(A_Expr_Kind.AEXPR_OP) or expr.lexpr is None:
            return None
        names = [str(n.sval) for n in expr.name or ()]
        if not names or len(names) > 2 or (len(names) == 2 and names[0] != "pg_catalog"):
            return None
        left = self._object_shape(expr.lexpr, ctx)
        if left is None:
            return None
        op = names[-1]
        if op == "||":
            right = self._object_shape(expr.rexpr, ctx)
            if right is None:
                return None
            merged = {f.name: f for f in left.fields}
            merged.update((f.name, f) for f in right.fields)
            return ShapeIR(tuple(merged.values()))
        if op == "-":
            keys = _constant_keys(expr.rexpr)
            return None if keys is None else _without(left, [(k,) for k in keys])
        if op == "#-":
            path = _constant_path(expr.rexpr)
            return None if path is None else _without(left, [path])
        return None

    def _object_shape(self, expr: Any, ctx: _Context) -> ShapeIR | None:
        """The shape of ``expr`` when it is one object of known keys."""
        found = self.shape(expr, ctx)
        if found is None or found.many or found.keyed or found.scalar:
            return None
        return found

    def _element(self, arg: Any, ctx: _Context) -> ShapeIR | None:
        """What one aggregated value is: a whole row, a built object, or a scalar."""
        alias = _whole_row(arg)
        items = scope_items(ctx.stmt)
        rel = None
        if alias is not None:
            rel = relations(items, cte_names(ctx.stmt) | cte_names_of(self.top_with)).get(alias)
            if rel is None and len(arg.fields) == 2:
                return None  # ``x.*`` of no relation here
        if alias is not None and rel is not None:
            nullable = alias in outer_nullable(items)
            relid = table_oid(self.catalog, rel)
            if relid is not None:
                fields = self._table_row(relid)
                if fields is None:
                    return None
                cols, model = fields
                if nullable:
                    nullable = self._null_extended(alias, cols, ctx)
                return ShapeIR(cols, many=True, element_nullable=nullable, model=model)
            star = ast.ColumnRef(fields=(ast.String(sval=alias), ast.A_Star()))
            derived = self._derive([star], ctx)
            if derived is None:
                return None
            return ShapeIR(derived, many=True, element_nullable=nullable)
        if _name(arg) in _BUILD_OBJECT:
            obj = self._object(tuple(arg.args or ()), ctx)
            return None if obj is None else replace(obj, many=True)
        if isinstance(arg, ast.RowExpr):
            row = self._row(arg, ctx)
            return None if row is None else replace(row, many=True)
        found = self._derive([arg], ctx)
        if found is None or len(found) != 1:
            return None
        (col,) = found
        col = replace(col, shape=self._value_shape(arg, col, ctx))
        return ShapeIR(
            (replace(col, name="value"),), many=True, scalar=True, element_nullable=col.nullable
        )

    def _null_extended(self, alias: str, cols: Sequence[ColumnIR], ctx: _Context) -> bool:
        """Whether a row of ``alias`` (on an outer join's NULL-extended side) can still be
        all NULL where ``ctx`` takes it: not when its ``WHERE`` or the aggregate's
        ``FILTER`` makes one of its NOT NULL columns non-NULL (``FILTER (WHERE p.id IS NOT
        NULL)``), as the nullability engine reads them."""
        column = next((c.table_column for c in cols if not c.nullable and c.table_column), None)
        if column is None:
            return True
        ref = ast.ColumnRef(fields=(ast.String(sval=alias), ast.String(sval=column)))
        found = self._derive([ref], ctx)
        return found is None or len(found) != 1 or found[0].nullable

    def _object(self, args: Sequence[Any], ctx: _Context) -> ShapeIR | None:
        """``json_build_object('k1', v1, …)`` with constant text keys."""
        if len(args) % 2:
            return None
        keys = []
        for k in args[::2]:
            val = k.val if isinstance(k, ast.A_Const) else None
            if not isinstance(val, ast.String):
                return None
            keys.append(str(val.sval))
        if len(set(keys)) != len(keys):
            return None
        values = list(args[1::2])
        cols = self._derive(values, ctx)
        if cols is None:
            return None
        fields = []
        for key, value, col in zip(keys, values, cols, strict=True):
            fields.append(replace(col, name=key, shape=self._value_shape(value, col, ctx)))
        return ShapeIR(tuple(fields))

    def _row(self, row: Any, ctx: _Context) -> ShapeIR | None:
        """``ROW(a, b, …)`` as JSON: an object whose keys are f1, f2, … as PostgreSQL
        names an anonymous record's columns, each typed as the value is."""
        values = list(row.args or ())
        if not values:
            return None
        cols = self._derive(values, ctx)
        if cols is None:
            return None
        fields = [
            replace(col, name=f"f{i}", shape=self._value_shape(value, col, ctx))
            for i, (value, col) in enumerate(zip(values, cols, strict=True), start=1)
        ]
        return ShapeIR(tuple(fields))

    def _value_shape(self, value: Any, col: ColumnIR, ctx: _Context) -> ShapeIR | None:
        """The shape of one value inside JSON: built JSON's, or an anonymous record's."""
        if col.type.oid in JSON_OIDS:
            return self.shape(value, ctx)
        if isinstance(value, ast.RowExpr):
            return self._row(value, ctx)
        return None

    def _table_row(self, relid: int) -> tuple[tuple[ColumnIR, ...], str] | None:
        """A table's row as JSON fields (nullable as its columns are), and "schema.table"."""
        attnums = self.catalog.relation_attnums(relid)
        attrs = self.catalog.attributes((relid, n) for n in attnums)
        first = attrs.get((relid, attnums[0])) if attnums else None
        if first is None:
            return None
        try:
            d = describe(self.conn, f"SELECT * FROM {_quote(first.schema)}.{_quote(first.table)}")
        except DescribeError:
            return None
        types = self.catalog.types(c.type_oid for c in d.columns)
        out = []
        for c in d.columns:
            attr = attrs.get((c.table_oid, c.attnum))
            if attr is None or c.type_oid not in types:
                return None
            out.append(
                ColumnIR(
                    name=c.name,
                    type=types[c.type_oid],
                    nullable=not attr.notnull,
                    table=f"{attr.schema}.{attr.table}",
                    table_column=attr.column,
                    dims=attr.dims,
                )
            )
        return tuple(out), f"{first.schema}.{first.table}"

    def _derive(self, exprs: Sequence[Any], ctx: _Context) -> tuple[ColumnIR, ...] | None:
        """The columns ``exprs`` give, evaluated where ``ctx`` says: PostgreSQL describes
        the statement with them as its result list.

        Its ``WHERE`` (and the aggregate's ``FILTER``) is kept, for what it says about
        NULLs (``WHERE c.id IS NOT NULL``); when it, or a value, refers to an outer query
        (a correlated subquery), the statement is described inside its outer ones
        (:func:`_within`). Failing both, the ``WHERE`` is left out: it only filters."""
        star = len(exprs) == 1 and _whole_row(exprs[0]) is not None
        targets = tuple(
            ast.ResTarget(name=None if star else f"c{i}", val=copy_tree(e))
            for i, e in enumerate(exprs)
        )
        found = None
        for keep_where in (True, False):
            stmt = self._derived(ctx, targets, keep_where=keep_where)
            if stmt is None:
                return None
            for candidate in (stmt, _within(stmt, ctx.outer, self.top_with)):
                if candidate is None:
                    continue
                try:
                    found = (
                        candidate,
                        describe(self.conn, RawStream()(candidate), self.param_oids),
                    )
                except DescribeError:
                    continue
                break
            if found is not None:
                break
        if found is None:
            return None
        stmt, d = found
        if len(d.columns) != len(exprs) and not star:
            return None
        types = self.catalog.types(c.type_oid for c in d.columns)
        if any(c.type_oid not in types for c in d.columns):
            return None
        attrs = self.catalog.attributes((c.table_oid, c.attnum) for c in d.columns)
        facts = [
            ColumnFacts(c.name, types[c.type_oid], attrs.get((c.table_oid, c.attnum)))
            for c in d.columns
        ]
        nullable = infer_nullability(stmt, facts, self.catalog, list(self.param_nullable))
        out = []
        for i, (c, fact, null) in enumerate(zip(d.columns, facts, nullable, strict=True)):
            attr = fact.attribute
            out.append(
                ColumnIR(
                    name=c.name,
                    type=fact.type,
                    nullable=null,
                    table=f"{attr.schema}.{attr.table}" if attr else None,
                    table_column=attr.column if attr else None,
                    dims=(
                        attr.dims if attr else 1 if star else expr_dims(exprs[i], self.column_dims)
                    ),
                )
            )
        return tuple(out)

    def _derived(self, ctx: _Context, targets: tuple[Any, ...], *, keep_where: bool) -> Any:
        """``ctx.stmt`` selecting ``targets`` instead (None: it cannot)."""
        stmt = copy_tree(ctx.stmt)
        if isinstance(stmt, ast.SelectStmt):
            if stmt.op is not None and int(stmt.op) != 0:
                return None
            stmt.targetList = targets
            where = stmt.whereClause if keep_where else None
            if keep_where and ctx.agg_filter is not None:
                flt = copy_tree(ctx.agg_filter)
                where = (
                    flt
                    if where is None
                    else ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=(where, flt))
                )
            stmt.whereClause = where
            stmt.sortClause = stmt.limitCount = stmt.limitOffset = None
            stmt.distinctClause = stmt.lockingClause = stmt.intoClause = None
            if ctx.aggregated:
                stmt.groupClause = stmt.havingClause = None
            if stmt.withClause is None:
                stmt.withClause = copy_tree(self.top_with)
        elif getattr(stmt, "returningClause", None) is not None:
            stmt.returningClause.exprs = targets
        elif returning_list(stmt):
            stmt.returningList = targets
        else:
            return None
        return stmt


#: the alias of a derived statement described inside its outer one
_INNER = "multica_db_inner"


def _within(stmt: Any, outer: _Context | None, top_with: Any) -> Any:
    """``stmt`` (a SELECT) described where it is nested: ``SELECT inner.* FROM <the
    outer statement's FROM>, LATERAL (stmt) inner``, outwards to the top statement, so
    its references to outer queries resolve. None when there is no outer statement or
    one is not a plain SELECT."""
    if outer is None or not isinstance(stmt, ast.SelectStmt):
        return None
    while outer is not None:
        o = outer.stmt
        if isinstance(o, ast.UpdateStmt | ast.DeleteStmt | ast.InsertStmt):
            # a RETURNING list's subquery sees the statement's target row (and its FROM or
            # USING): the same relations in a SELECT's FROM give its columns' types
            items = tuple(scope_items(o))
        elif isinstance(o, ast.SelectStmt) and (o.op is None or int(o.op) == 0):
            items = tuple(o.fromClause or ())
        else:
            return None
        lateral = ast.RangeSubselect(lateral=True, subquery=stmt, alias=ast.Alias(aliasname=_INNER))
        stmt = ast.SelectStmt(
            targetList=(
                ast.ResTarget(val=ast.ColumnRef(fields=(ast.String(sval=_INNER), ast.A_Star()))),
            ),
            fromClause=(*copy_tree(items), lateral),
            withClause=copy_tree(o.withClause or (top_with if outer.outer is None else None)),
        )
        outer = outer.outer
    return stmt


def _subquery_column(ref: Any, stmt: Any, top_with: Any) -> tuple[Any, Any] | None:
    """The subquery in ``stmt``'s ``FROM`` (a ``LATERAL`` or plain subquery, or a CTE it
    names) and its result target that the column reference ``ref`` (``lp.posts``,
    ``posts``) reads, when that is where it comes from."""
    fields = tuple(ref.fields or ())
    if not fields or len(fields) > 2 or not all(isinstance(f, ast.String) for f in fields):
        return None
    alias = str(fields[0].sval) if len(fields) == 2 else None
    column = str(fields[-1].sval)
    ctes: dict[str, Any] = {}
    for with_clause in (top_with, getattr(stmt, "withClause", None)):
        for cte in (with_clause.ctes or ()) if with_clause is not None else ():
            ctes[str(cte.ctename)] = cte
    found: list[tuple[Any, Any]] = []
    for name, sub, colnames in _from_subqueries(getattr(stmt, "fromClause", None) or (), ctes):
        if alias is not None and name != alias:
            continue
        if not isinstance(sub, ast.SelectStmt) or (sub.op is not None and int(sub.op) != 0):
            continue
        targets = tuple(sub.targetList or ())
        names = list(colnames) + [_target_name(t) for t in targets[len(colnames) :]]
        found.extend((sub, t) for t, n in zip(targets, names, strict=False) if n == column)
    return found[0] if len(found) == 1 else None


def _from_subqueries(items: Any, ctes: dict[str, Any]) -> list[tuple[str, Any, tuple[str, ...]]]:
    """(name, query, column aliases) of each subquery and CTE reference in a ``FROM``."""
    out: list[tuple[str, Any, tuple[str, ...]]] = []
    for item in items:
        if isinstance(item, ast.JoinExpr):
            out.extend(_from_subqueries((item.larg, item.rarg), ctes))
        elif isinstance(item, ast.RangeSubselect) and item.alias is not None:
            cols = tuple(str(c.sval) for c in item.alias.colnames or ())
            out.append((str(item.alias.aliasname), item.subquery, cols))
        elif isinstance(item, ast.RangeVar) and item.schemaname is None and item.relname in ctes:
            cte = ctes[str(item.relname)]
            cols = tuple(str(c.sval) for c in cte.aliascolnames or ())
            name = str(item.alias.aliasname) if item.alias is not None else str(item.relname)
            out.append((name, cte.ctequery, cols))
    return out


def _target_name(target: Any) -> str | None:
    """The name PostgreSQL gives a result target: its alias, a column's or a function's."""
    if target.name:
        return str(target.name)
    val = target.val
    last = (val.fields or (None,))[-1] if isinstance(val, ast.ColumnRef) else None
    if isinstance(last, ast.String):
        return str(last.sval)
    if isinstance(val, ast.FuncCall) and val.funcname:
        return str(val.funcname[-1].sval)
    return None


def cte_names_of(with_clause: Any) -> set[str]:
    if with_clause is None:
        return set()
    return {str(c.ctename) for c in with_clause.ctes or ()}


def _json_constant(node: Any) -> str | None:
    """A constant's text, spaces removed (``'[ ]'::jsonb`` → ``[]``), else None."""
    while isinstance(node, ast.TypeCast) and _is_json_cast(node):
        node = node.arg
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return "".join(str(node.val.sval).split())
    return None


def _constant_keys(node: Any) -> tuple[str, ...] | None:
    """The keys ``jsonb - x`` drops when ``x`` is a constant: ``'k'`` (an untyped literal is
    text, even ``'{a,b}'``), ``'k'::text``, ``ARRAY['a', 'b']``, ``'{a,b}'::text[]`` (None:
    not a constant, or not keys)."""
    if isinstance(node, ast.TypeCast) and _is_text(node, array=False):
        node = node.arg
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return (str(node.val.sval),)
    if isinstance(node, ast.A_ArrayExpr):
        keys = []
        for e in node.elements or ():
            if not (isinstance(e, ast.A_Const) and isinstance(e.val, ast.String)):
                return None
            keys.append(str(e.val.sval))
        return tuple(keys)
    if isinstance(node, ast.TypeCast) and _is_text(node, array=True):
        return _constant_path(node.arg)
    return None


def _constant_path(node: Any) -> tuple[str, ...] | None:
    """The keys of ``jsonb #- x`` when ``x`` is a constant text array whose literal is
    simple (``'{a,b}'``: no quotes, escapes, nesting or NULLs), or ``ARRAY['a', 'b']``."""
    if isinstance(node, ast.TypeCast) and _is_text(node, array=True):
        node = node.arg
    if isinstance(node, ast.A_ArrayExpr):
        return _constant_keys(node) or None
    if not (isinstance(node, ast.A_Const) and isinstance(node.val, ast.String)):
        return None
    text = str(node.val.sval).strip()
    if len(text) < 3 or text[0] != "{" or text[-1] != "}":
        return None
    keys = tuple(k.strip() for k in text[1:-1].split(","))
    if any(not k or k.upper() == "NULL" or set(k) & set('{}"\\') for k in keys):
        return None
    return keys


def _is_text(cast: Any, *, array: bool) -> bool:
    """A cast to text or varchar (``array``: to an array of them)."""
    names = [str(n.sval) for n in (cast.typeName.names or ())] if cast.typeName else []
    if not names or names[-1] not in ("text", "varchar"):
        return False
    return bool(cast.typeName.arrayBounds) == array


def _without(shape: ShapeIR, paths: Sequence[tuple[str, ...]]) -> ShapeIR | None:
    """``shape`` (one object) without the keys at ``paths``, as a row of its own (no
    longer a table's); a path through a value that is not an object of known keys: None.
    A key that is not there changes nothing, as in PostgreSQL."""
    fields = list(shape.fields)
    for path in paths:
        at = next((i for i, f in enumerate(fields) if f.name == path[0]), None)
        if at is None:
            continue
        if len(path) == 1:
            del fields[at]
            continue
        inner = fields[at].shape
        if inner is None or inner.many or inner.keyed or inner.scalar:
            return None
        changed = _without(inner, [path[1:]])
        if changed is None:
            return None
        fields[at] = replace(fields[at], shape=changed)
    if tuple(fields) == shape.fields:
        return shape
    return replace(shape, fields=tuple(fields), model=None)


def _whole_row(node: Any) -> str | None:
    """``p`` or ``p.*`` as a value: the alias whose whole row it is."""
    if not isinstance(node, ast.ColumnRef):
        return None
    fields = tuple(node.fields or ())
    if len(fields) == 2 and isinstance(fields[1], ast.A_Star) and isinstance(fields[0], ast.String):
        return str(fields[0].sval)
    if len(fields) == 1 and isinstance(fields[0], ast.String):
        return str(fields[0].sval)  # a column of that name would win: described as not a row
    return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
