"""``sqlc.embed(alias)``: where each embedded block of columns is, and what it nests as.

sqlc accepts an embed of any relation of the statement's scope — a table or view, a
CTE (also one aliased to a table's name: ``FROM candidates AS t``), a subquery — in a
SELECT list or a RETURNING list (``UPDATE t AS tt … RETURNING sqlc.embed(tt)``), and
the same table embedded twice under two aliases. A table or view nests as its model;
anything else as a row model of its own, built from the block's described columns.

The parser has already rewritten each embed to ``alias.*``. A block's width is the
relation's column count when that is certain (a table's attributes); otherwise
PostgreSQL says it: the statement is described again with only that target in its
result list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from pglast import ast
from pglast.enums import JoinType
from pglast.stream import RawStream

from multica_db_codegen.analyze.catalog import Catalog
from multica_db_codegen.analyze.describe import Described, DescribeError, describe
from multica_db_codegen.analyze.ir import ColumnIR, EmbedIR
from multica_db_codegen.analyze.nullability import ColumnFacts, infer_nullability
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.parse import QuerySpec
from multica_db_codegen.parse.params import copy_tree
from multica_db_codegen.parse.spec import returning_list


@dataclass(frozen=True, slots=True)
class _Relation:
    """What an alias of the statement's scope names."""

    schema: str | None
    name: str | None  # None: a subquery or a function call
    cte: bool  # the name is a CTE of the statement (it shadows a table of that name)


def locate_embeds(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    spec: QuerySpec,
    described: Described,
    columns: Sequence[ColumnIR],
    param_nullable: Sequence[bool] | None = None,
) -> list[EmbedIR]:
    """The :class:`EmbedIR` of each ``sqlc.embed`` of ``spec``, in result order."""
    if not spec.embeds:
        return []
    arms = set_arms(spec.tree)
    tree: Any = arms[0]  # a set operation's columns are its first arm's
    targets = result_targets(tree)
    items = scope_items(tree)
    scope = relations(items, cte_names(spec.tree))
    nullable_aliases = outer_nullable(items)
    where_of = {int(t.val.location): i for i, t in enumerate(targets) if _is_star(t.val)}
    later = _later_arms(spec, arms[1:])
    embeds = [e for e in spec.embeds if e.offset not in later]
    embedded_at = {where_of.get(e.offset) for e in embeds}
    for offset, (at, _nullable) in later.items():
        if at not in embedded_at:
            raise GenerateError(
                "sqlc.embed in a later arm of a UNION, INTERSECT or EXCEPT must stand where "
                "the first arm embeds a relation",
                location=spec.location_of(offset),
                query=spec.name,
            )
    later_nullable = {at for at, nullable in later.values() if nullable}

    table_widths: dict[int, int] = {}  # target index → a table's width, certain
    for embed in embeds:
        index = where_of.get(embed.offset)
        rel = scope.get(embed.alias)
        if index is None or rel is None:
            raise GenerateError(
                f"sqlc.embed({embed.alias}) must name a relation of the FROM clause, "
                "in the select or RETURNING list",
                location=spec.location_of(embed.offset),
                query=spec.name,
            )
        relid = table_oid(catalog, rel)
        if relid is not None:
            table_widths[index] = len(catalog.relation_attnums(relid))
    widths = target_widths(conn, tree, targets, described, table_widths)
    if widths is None:
        raise GenerateError(
            "sqlc.embed: cannot tell where its columns are in the result",
            location=spec.location_of(spec.embeds[0].offset),
            query=spec.name,
        )
    starts = [sum(widths[:i]) for i in range(len(widths))]

    out: list[EmbedIR] = []
    for embed in embeds:
        index = where_of[embed.offset]
        rel = scope[embed.alias]
        start, width = starts[index], widths[index]
        relid = table_oid(catalog, rel)
        model, field, own = "", embed.alias, True
        if relid is not None:
            attnums = catalog.relation_attnums(relid)
            first = catalog.attributes([(relid, attnums[0])]).get((relid, attnums[0]))
            if first is not None and len(attnums) == width:
                model = f"{first.schema}.{first.table}"
                field, own = first.table, False  # sqlc names the field after the table
        if own:
            block = columns[start : start + width]
            if not block:
                raise GenerateError(
                    f"sqlc.embed({embed.alias}) has no columns",
                    location=spec.location_of(embed.offset),
                    query=spec.name,
                )
            table = _row_of_table(catalog, block)
            if table is not None:  # WITH c AS (SELECT * FROM item) … FROM c AS item
                model, field, own = table, table.split(".", 1)[1], False
        nullable = embed.alias in nullable_aliases or index in later_nullable
        fields_nullable: tuple[bool, ...] = ()
        if own and nullable and len(arms) == 1:
            inside = _nullability_inside(catalog, tree, embed.alias, described, param_nullable)
            if inside is not None:
                fields_nullable = tuple(inside[start : start + width])
        out.append(
            EmbedIR(
                field=field,
                model=model,
                start=start,
                width=width,
                nullable=nullable,
                own_model=own,
                fields_nullable=fields_nullable,
            )
        )
    return out


def _nullability_inside(
    catalog: Catalog,
    tree: Any,
    alias: str,
    described: Described,
    param_nullable: Sequence[bool] | None,
) -> list[bool] | None:
    """Each result column's nullability were ``alias`` not NULL-extended by the outer
    joins around it (their kind changed in a copy of the tree): what a field of its
    embedded block can be when the block is there at all."""
    derived = copy_tree(tree)
    for item in scope_items(derived):
        _preserve(item, alias)
    types = catalog.types(c.type_oid for c in described.columns)
    if any(c.type_oid not in types for c in described.columns):
        return None
    attrs = catalog.attributes((c.table_oid, c.attnum) for c in described.columns)
    facts = [
        ColumnFacts(c.name, types[c.type_oid], attrs.get((c.table_oid, c.attnum)))
        for c in described.columns
    ]
    return infer_nullability(derived, facts, catalog, param_nullable)


def _preserve(n: Any, alias: str) -> None:
    """Make the joins under ``n`` keep ``alias``'s rows as they are (never NULL-extended)."""
    if not isinstance(n, ast.JoinExpr):
        return
    _preserve(n.larg, alias)
    _preserve(n.rarg, alias)
    kind = int(n.jointype or 0)
    left, right = alias in _aliases(n.larg), alias in _aliases(n.rarg)
    if right and kind == int(JoinType.JOIN_LEFT):
        n.jointype = JoinType.JOIN_INNER
    elif right and kind == int(JoinType.JOIN_FULL):
        n.jointype = JoinType.JOIN_RIGHT
    elif left and kind == int(JoinType.JOIN_RIGHT):
        n.jointype = JoinType.JOIN_INNER
    elif left and kind == int(JoinType.JOIN_FULL):
        n.jointype = JoinType.JOIN_LEFT


def _row_of_table(catalog: Catalog, block: Sequence[ColumnIR]) -> str | None:
    """ "schema.table" when ``block`` is exactly that table's row: every column of it, in
    order, none NULL-able where the table's is not (sqlc matches such a CTE's embed to
    the table's model)."""
    table = block[0].table
    if table is None or any(c.table != table for c in block):
        return None
    schema, name = table.split(".", 1)
    cols = catalog.relation_columns(schema, name)
    if cols is None or [c.table_column for c in block] != [n for n, _ in cols]:
        return None
    if any(c.nullable and notnull for c, (_, notnull) in zip(block, cols, strict=True)):
        return None
    return table


def table_oid(catalog: Catalog, rel: _Relation) -> int | None:
    """The table or view an alias names (None for a CTE, a subquery, a function)."""
    if rel.name is None or rel.cte:
        return None
    return catalog.relation_oid(rel.schema, rel.name)


def set_arms(tree: Any) -> list[Any]:
    """The plain SELECTs of a set operation (UNION, INTERSECT, EXCEPT), first arm first,
    the first one carrying the statement's WITH clause; ``[tree]`` for any other
    statement."""
    if not isinstance(tree, ast.SelectStmt) or not tree.larg:
        return [tree]
    arms: list[Any] = []
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.SelectStmt) and n.larg is not None and n.rarg is not None:
            stack += [n.rarg, n.larg]
        else:
            arms.append(n)
    if tree.withClause is not None and arms[0].withClause is None:
        head = copy_tree(arms[0])
        head.withClause = tree.withClause
        arms[0] = head
    return arms


def _later_arms(spec: QuerySpec, arms: Sequence[Any]) -> dict[int, tuple[int, bool]]:
    """Each embed of a set operation's later arms: its offset → (its index in its arm's
    result list, whether its relation is on an outer join's NULL-extended side)."""
    found: dict[int, tuple[int, bool]] = {}
    offsets = {e.offset: e.alias for e in spec.embeds}
    for arm in arms:
        items = scope_items(arm)
        nullable = outer_nullable(items)
        for i, t in enumerate(result_targets(arm)):
            if _is_star(t.val) and int(t.val.location) in offsets:
                found[int(t.val.location)] = (i, offsets[int(t.val.location)] in nullable)
    return found


def result_targets(tree: Any) -> list[Any]:
    if isinstance(tree, ast.SelectStmt):
        return list(tree.targetList or ())
    return list(returning_list(tree))


def scope_items(tree: Any) -> list[Any]:
    """The FROM items whose aliases a result list can name (a DML target included)."""
    items: list[Any] = []
    if isinstance(tree, ast.UpdateStmt | ast.DeleteStmt | ast.InsertStmt):
        items.append(tree.relation)
    items += list(getattr(tree, "fromClause", None) or ())
    items += list(getattr(tree, "usingClause", None) or ())
    return items


def cte_names(tree: Any) -> set[str]:
    with_clause = getattr(tree, "withClause", None)
    if with_clause is None:
        return set()
    return {str(c.ctename) for c in with_clause.ctes or ()}


def relations(items: Sequence[Any], ctes: set[str]) -> dict[str, _Relation]:
    out: dict[str, _Relation] = {}

    def walk(n: Any) -> None:
        if isinstance(n, ast.RangeVar):
            alias = str(n.alias.aliasname) if n.alias is not None else str(n.relname)
            cte = n.schemaname is None and str(n.relname) in ctes
            out[alias] = _Relation(n.schemaname, str(n.relname), cte)
        elif isinstance(n, ast.JoinExpr):
            walk(n.larg)
            walk(n.rarg)
            if n.alias is not None:
                out[str(n.alias.aliasname)] = _Relation(None, None, False)
        elif isinstance(n, ast.RangeSubselect | ast.RangeFunction) and n.alias is not None:
            out[str(n.alias.aliasname)] = _Relation(None, None, False)

    for item in items:
        walk(item)
    return out


def _aliases(n: Any) -> set[str]:
    if isinstance(n, ast.RangeVar):
        return {str(n.alias.aliasname) if n.alias is not None else str(n.relname)}
    if isinstance(n, ast.JoinExpr):
        own = {str(n.alias.aliasname)} if n.alias is not None else set()
        return own | _aliases(n.larg) | _aliases(n.rarg)
    if isinstance(n, ast.RangeSubselect | ast.RangeFunction) and n.alias is not None:
        return {str(n.alias.aliasname)}
    return set()


def outer_nullable(items: Sequence[Any]) -> set[str]:
    """Aliases on the NULL-extended side of an outer join (LEFT, RIGHT or FULL)."""
    out: set[str] = set()

    def walk(n: Any) -> None:
        if not isinstance(n, ast.JoinExpr):
            return
        walk(n.larg)
        walk(n.rarg)
        kind = int(n.jointype or 0)
        if kind in (int(JoinType.JOIN_LEFT), int(JoinType.JOIN_FULL)):
            out.update(_aliases(n.rarg))
        if kind in (int(JoinType.JOIN_RIGHT), int(JoinType.JOIN_FULL)):
            out.update(_aliases(n.larg))

    for item in items:
        walk(item)
    return out


def _is_star(node: Any) -> bool:
    """``*`` or ``x.*`` in a result list."""
    return isinstance(node, ast.ColumnRef) and isinstance((node.fields or (None,))[-1], ast.A_Star)


def _is_multi(node: Any) -> bool:
    """A result-list entry that may give more than one column (a star, ``(x).*``)."""
    return _is_star(node) or (
        isinstance(node, ast.A_Indirection)
        and any(isinstance(i, ast.A_Star) for i in node.indirection or ())
    )


def target_widths(
    conn: psycopg.Connection[Any],
    tree: Any,
    targets: Sequence[Any],
    described: Described,
    known: dict[int, int],
) -> list[int] | None:
    """How many result columns each entry of the result list gives (None: unknown)."""
    widths: list[int | None] = [
        known.get(i, None if _is_multi(t.val) else 1) for i, t in enumerate(targets)
    ]
    unknown = [i for i, w in enumerate(widths) if w is None]
    if len(unknown) == 1:
        rest = sum(w for w in widths if w is not None)
        widths[unknown[0]] = len(described.columns) - rest
    else:
        for i in unknown:
            widths[i] = _described_width(conn, tree, targets[i], described.param_oids)
    if any(w is None or w < 0 for w in widths):
        return None
    out = [w for w in widths if w is not None]
    return out if sum(out) == len(described.columns) else None


def _described_width(
    conn: psycopg.Connection[Any], tree: Any, target: Any, param_oids: Sequence[int]
) -> int | None:
    """The columns one result-list entry gives: the statement described with it alone."""
    derived = copy_tree(tree)
    if isinstance(derived, ast.SelectStmt):
        derived.targetList = (target,)
        derived.sortClause = None  # may name output columns that are gone
    elif getattr(derived, "returningClause", None) is not None:
        derived.returningClause.exprs = (target,)
    else:
        derived.returningList = (target,)
    sql = RawStream()(derived)
    try:
        return len(describe(conn, sql, param_oids).columns)
    except DescribeError:
        return None
