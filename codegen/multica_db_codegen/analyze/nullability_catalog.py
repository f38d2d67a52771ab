"""Catalog facts the nullability engine needs beyond :class:`Catalog`'s describe-time ones.

Relations are looked up by the name the query uses (``to_regclass`` follows the
search path exactly as PostgreSQL did when it prepared the statement); views
come with their definition so the engine can analyse the view's own query.
Functions are looked up by name so the engine can refuse to trust a built-in
rule when a user function of the same name could be the one PostgreSQL picked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from multica_db_codegen.analyze.catalog import Catalog


@dataclass(frozen=True, slots=True)
class RelColumn:
    name: str
    notnull: bool
    type_oid: int
    type_kind: str  # pg_type.typtype: b, c, d, e, p, r, m


@dataclass(frozen=True, slots=True)
class Relation:
    oid: int
    kind: str  # pg_class.relkind
    columns: tuple[RelColumn, ...]
    viewdef: str | None  # views and materialized views


@dataclass(frozen=True, slots=True)
class FunctionCandidate:
    schema: str
    nargs: int
    strict: bool
    retset: bool
    kind: str  # f (function), a (aggregate), w (window), p (procedure)
    out_names: tuple[str, ...]  # OUT / TABLE parameter names, in order
    oid: int = 0
    language: str = ""
    body: str | None = None  # prosrc of a LANGUAGE sql function (string body, no SET clause)
    ret_kind: str = ""  # typtype of the return type
    in_names: tuple[str, ...] = ()  # names of the input arguments ("" when unnamed)
    name: str = ""


class NullabilityCatalog:
    """Cached relation and function facts, one instance per analysis :class:`Catalog`."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        # what the engine failed on (not declined) since the statement began: said as a warning
        self.failures: list[str] = []
        self._relations: dict[tuple[str | None, str], Relation | None] = {}
        self._functions: dict[str, tuple[FunctionCandidate, ...]] = {}
        self._type_kinds: dict[int, str] = {}
        self._type_categories: dict[int, str | None] = {}
        self.view_cache: dict[int, list[bool]] = {}  # view oid -> nullability of its columns
        # (SQL function oid, its $N nullability) -> (its body's columns' nullability,
        # whether the body yields exactly one row)
        self.function_cache: dict[tuple[int, tuple[bool, ...]], tuple[list[bool], bool] | None]
        self.function_cache = {}

    def relation(self, schema: str | None, name: str) -> Relation | None:
        key = (schema, name)
        if key not in self._relations:
            self.prefetch_relations([key])
        return self._relations[key]

    def prefetch_relations(self, names: Iterable[tuple[str | None, str]]) -> None:
        """Load relations by name, two queries for all of them (one name: :meth:`relation`).

        Each name is resolved by ``to_regclass`` on the search path, exactly as
        PostgreSQL resolved it when preparing; a name that resolves to nothing is
        cached as None. The analyzer passes every table reference of every query
        up front, instead of two queries per relation later.
        """
        todo = sorted({n for n in names if n not in self._relations}, key=repr)
        if not todo:
            return
        qualified = [
            _quote(name) if schema is None else f"{_quote(schema)}.{_quote(name)}"
            for schema, name in todo
        ]
        rows = self.catalog.conn.execute(
            """
            SELECT q.i::int, c.oid::int, c.relkind::text,
                   CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
            FROM unnest(%s::text[]) WITH ORDINALITY AS q(name, i)
            LEFT JOIN pg_class c ON c.oid = to_regclass(q.name)
            """,
            (qualified,),
        ).fetchall()
        found = {int(i) - 1: (oid, kind, viewdef) for i, oid, kind, viewdef in rows}
        oids = sorted({int(v[0]) for v in found.values() if v[0] is not None})
        cols: dict[int, list[tuple[Any, ...]]] = {oid: [] for oid in oids}
        for relid, *col in self.catalog.conn.execute(
            """
            SELECT a.attrelid::int, a.attname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull),
                   a.atttypid::int, t.typtype::text
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attrelid, a.attnum
            """,
            (oids,),
        ).fetchall():
            cols[int(relid)].append(tuple(col))
        for i, key in enumerate(todo):
            oid, kind, viewdef = found.get(i, (None, None, None))
            if oid is None:
                self._relations[key] = None
                continue
            for _, _, typ, typtype in cols[int(oid)]:
                self._type_kinds[int(typ)] = str(typtype)
            self._relations[key] = Relation(
                oid=int(oid),
                kind=str(kind),
                columns=tuple(
                    RelColumn(str(n), bool(nn), int(t), str(k)) for n, nn, t, k in cols[int(oid)]
                ),
                viewdef=str(viewdef) if viewdef is not None else None,
            )

    def functions(self, name: str) -> tuple[FunctionCandidate, ...]:
        """Every function, aggregate or window function called ``name``, in any schema."""
        if name not in self._functions:
            rows: list[Any] = self.catalog.conn.execute(
                """
                SELECT n.nspname, p.pronargs::int, p.proisstrict, p.proretset, p.prokind::text,
                       coalesce((
                           SELECT array_agg(p.proargnames[i] ORDER BY i)
                           FROM generate_subscripts(p.proargmodes, 1) AS i
                           WHERE p.proargmodes[i] IN ('o', 't', 'b')
                       ), '{}'),
                       p.oid::int, l.lanname::text,
                       CASE WHEN l.lanname = 'sql' AND p.prosrc <> '' AND p.proconfig IS NULL
                            THEN p.prosrc END,
                       t.typtype::text,
                       coalesce((
                           SELECT array_agg(coalesce(p.proargnames[i], '') ORDER BY i)
                           FROM generate_subscripts(p.proargnames, 1) AS i
                           WHERE p.proargmodes IS NULL OR p.proargmodes[i] IN ('i', 'b', 'v')
                       ), '{}')
                FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                JOIN pg_language l ON l.oid = p.prolang
                JOIN pg_type t ON t.oid = p.prorettype
                WHERE p.proname = %s
                """,
                (name,),
            ).fetchall()
            self._functions[name] = tuple(
                FunctionCandidate(
                    str(s),
                    int(na),
                    bool(st),
                    bool(rs),
                    str(k),
                    tuple(o or ()),
                    int(oid),
                    str(lang),
                    str(body) if body is not None else None,
                    str(rk),
                    tuple(str(x) for x in ins or ()),
                    name,
                )
                for s, na, st, rs, k, o, oid, lang, body, rk, ins in rows
            )
        return self._functions[name]

    def type_category(self, oid: int) -> str | None:
        """``pg_type.typcategory`` ("A" for arrays)."""
        if oid not in self._type_categories:
            row = self.catalog.conn.execute(
                "SELECT typcategory::text FROM pg_type WHERE oid = %s", (oid,)
            ).fetchone()
            self._type_categories[oid] = str(row[0]) if row is not None else None
        return self._type_categories[oid]

    def type_kind(self, oid: int) -> str | None:
        """``pg_type.typtype`` of a type the engine met as a column type."""
        if oid not in self._type_kinds:
            row = self.catalog.conn.execute(
                "SELECT typtype::text FROM pg_type WHERE oid = %s", (oid,)
            ).fetchone()
            if row is None:
                return None
            self._type_kinds[oid] = str(row[0])
        return self._type_kinds[oid]


_CACHE: WeakKeyDictionary[Catalog, NullabilityCatalog] = WeakKeyDictionary()


def nullability_catalog(catalog: Catalog) -> NullabilityCatalog:
    """The facts cache for this analysis (lives as long as the :class:`Catalog`)."""
    found = _CACHE.get(catalog)
    if found is None:
        found = NullabilityCatalog(catalog)
        _CACHE[catalog] = found
    return found


def _quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'
