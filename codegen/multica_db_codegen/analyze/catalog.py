"""What the analyzer reads from the system catalog, batched and cached."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from multica_db_codegen.analyze.ir import (
    ANY_TYPE,
    ColumnIR,
    EnumIR,
    RelationKind,
    TableIR,
    TypeKind,
    TypeRef,
)
from multica_db_codegen.analyze.standin_result import UNKNOWN_NAME, UNKNOWN_SCHEMA

#: Relations a migration tool keeps for itself: not part of the domain model.
TOOL_TABLES = {"schema_migrations", "goose_db_version", "gorp_migrations", "flyway_schema_history"}
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "c": "composite"}


@dataclass(frozen=True, slots=True)
class Attribute:
    schema: str
    table: str
    column: str
    notnull: bool
    relkind: str
    dims: int = 1  # an array column's declared dimensions (text[][] → 2)


class Catalog:
    """Type and relation facts of the analysis database."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._types: dict[int, TypeRef] = {}
        self._attrs: dict[tuple[int, int], Attribute | None] = {}
        self._relcols: dict[tuple[str | None, str], list[tuple[str, bool]] | None] = {}
        self._attnums: dict[int, list[int]] = {}
        self._array_dims: dict[tuple[str | None, str, str], int] = {}

    # --- types --------------------------------------------------------------------------
    def types(self, oids: Iterable[int]) -> dict[int, TypeRef]:
        oids = list(oids)
        want = {o for o in oids if o and o not in self._types}
        rows: dict[int, tuple[Any, ...]] = {}
        while want:
            fetched = self.conn.execute(
                """
                SELECT t.oid::int, format_type(t.oid, NULL), t.typtype, n.nspname, t.typname,
                       t.typelem::int, t.typbasetype::int, t.typnotnull, t.typcategory,
                       coalesce(r.rngsubtype, mr.rngsubtype, 0)::int, t.typdelim::text
                FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                LEFT JOIN pg_range r ON r.rngtypid = t.oid
                LEFT JOIN pg_range mr ON mr.rngmultitypid = t.oid
                WHERE t.oid = ANY(%s)
                """,
                (sorted(want),),
            ).fetchall()
            for row in fetched:
                rows[row[0]] = row
            want = {
                o
                for row in fetched
                for o in (row[5] if row[8] == "A" else 0, row[6], row[9])
                if o and o not in rows and o not in self._types
            }

        def build(oid: int) -> TypeRef:
            if oid in self._types:
                return self._types[oid]
            (_, fmt, typtype, nsp, name, elem, base, notnull, category, subtype, delim) = rows[oid]
            if (nsp, name) == (UNKNOWN_SCHEMA, UNKNOWN_NAME):  # a schema stand-in's result
                self._types[oid] = ANY_TYPE
                return ANY_TYPE
            if typtype == "b" and category == "A" and elem:
                ref = TypeRef(
                    oid, fmt, TypeKind.ARRAY, nsp, name, element=build(elem), delimiter=delim
                )
            elif typtype == "d":
                ref = TypeRef(
                    oid,
                    fmt,
                    TypeKind.DOMAIN,
                    nsp,
                    name,
                    base=build(base),
                    domain_not_null=notnull,
                    delimiter=delim,
                )
            elif typtype in ("r", "m"):
                kind = TypeKind.RANGE if typtype == "r" else TypeKind.MULTIRANGE
                ref = TypeRef(oid, fmt, kind, nsp, name, element=build(subtype), delimiter=delim)
            else:
                kind = {
                    "b": TypeKind.BASE,
                    "e": TypeKind.ENUM,
                    "c": TypeKind.COMPOSITE,
                    "p": TypeKind.PSEUDO,
                }.get(typtype, TypeKind.BASE)
                ref = TypeRef(oid, fmt, kind, nsp, name, delimiter=delim)
            self._types[oid] = ref
            return ref

        for oid in rows:
            build(oid)
        return {o: self._types[o] for o in oids if o in self._types}

    def type(self, oid: int) -> TypeRef:
        return self.types([oid])[oid]

    # --- attributes ---------------------------------------------------------------------
    def attributes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Attribute]:
        keys = list(keys)
        want = sorted({k for k in keys if k[0] and k not in self._attrs})
        if want:
            rows = self.conn.execute(
                """
                SELECT a.attrelid::int, a.attnum::int, n.nspname, c.relname, a.attname,
                       a.attnotnull OR coalesce(dt.typnotnull, false), c.relkind,
                       a.attndims::int
                FROM pg_attribute a
                JOIN pg_class c ON c.oid = a.attrelid
                LEFT JOIN pg_type dt ON dt.oid = a.atttypid AND dt.typtype = 'd'
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN unnest(%s::oid[], %s::int2[]) AS k(rel, num)
                  ON a.attrelid = k.rel AND a.attnum = k.num
                """,
                ([k[0] for k in want], [k[1] for k in want]),
            ).fetchall()
            for k in want:
                self._attrs[k] = None
            for rel, num, nsp, table, col, notnull, relkind, dims in rows:
                self._attrs[(rel, num)] = Attribute(nsp, table, col, notnull, relkind, max(dims, 1))
        return {k: a for k in keys if (a := self._attrs.get(k)) is not None}

    def relation_columns(self, schema: str | None, name: str) -> list[tuple[str, bool]] | None:
        """(column, attnotnull) in order for a relation visible under that name, else None."""
        key = (schema, name)
        if key not in self._relcols:
            qualified = f'"{schema}"."{name}"' if schema else f'"{name}"'
            row = self.conn.execute("SELECT to_regclass(%s)::oid::int", (qualified,)).fetchone()
            if row is None or row[0] is None:
                self._relcols[key] = None
            else:
                cols = self.conn.execute(
                    "SELECT a.attname, a.attnotnull OR coalesce(t.typnotnull, false) "
                    "FROM pg_attribute a LEFT JOIN pg_type t ON t.oid = a.atttypid "
                    "AND t.typtype = 'd' WHERE a.attrelid = %s "
                    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                    (row[0],),
                ).fetchall()
                self._relcols[key] = [(str(a), bool(b)) for a, b in cols]
        return self._relcols[key]

    def column_type_oids(self, schema: str | None, table: str, column: str) -> tuple[int, ...]:
        """A relation's column's type oid, and its domain's base type's (else empty)."""
        qualified = f'"{schema}"."{table}"' if schema else f'"{table}"'
        row = self.conn.execute(
            "SELECT a.atttypid::int, t.typbasetype::int FROM pg_attribute a "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = to_regclass(%s) AND a.attname = %s AND NOT a.attisdropped",
            (qualified, column),
        ).fetchone()
        return () if row is None else tuple(int(x) for x in row if x)

    def column_array_dims(self, schema: str | None, table: str, column: str) -> int:
        """An array column's declared dimensions (at least 1), 0 for any other column."""
        key = (schema, table, column)
        known = self._array_dims.get(key)
        if known is None:
            qualified = f'"{schema}"."{table}"' if schema else f'"{table}"'
            row = self.conn.execute(
                "SELECT greatest(a.attndims, 1)::int FROM pg_attribute a "
                "JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = to_regclass(%s) AND a.attname = %s AND NOT a.attisdropped "
                "AND t.typelem <> 0 AND t.typlen = -1 AND t.typarray = 0",
                (qualified, column),
            ).fetchone()
            known = self._array_dims[key] = 0 if row is None else int(row[0])
        return known

    def prefetch_relation_columns(self, keys: Iterable[tuple[str | None, str]]) -> None:
        """``relation_columns`` of many relations in one query (the answers are the same)."""
        want = sorted(
            {k for k in keys if k not in self._relcols},
            key=lambda k: (k[0] is not None, k[0] or "", k[1]),
        )
        if not want:
            return
        names = [f'"{schema}"."{name}"' if schema else f'"{name}"' for schema, name in want]
        try:
            rows = self.conn.execute(
                "SELECT k.i::int, r.oid::int, a.attname, "
                "a.attnotnull OR coalesce(t.typnotnull, false) "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS k(name, i) "
                "CROSS JOIN LATERAL (SELECT to_regclass(k.name)::oid AS oid) r "
                "LEFT JOIN pg_attribute a ON a.attrelid = r.oid "
                "AND a.attnum > 0 AND NOT a.attisdropped "
                "LEFT JOIN pg_type t ON t.oid = a.atttypid AND t.typtype = 'd' "
                "ORDER BY k.i, a.attnum",
                (names,),
            ).fetchall()
        except psycopg.Error:  # a name to_regclass rejects: each is looked up on its own
            return
        found: dict[int, list[tuple[str, bool]] | None] = {}
        for i, oid, attname, notnull in rows:
            cols = found.setdefault(i, None if oid is None else [])
            if cols is not None and attname is not None:
                cols.append((str(attname), bool(notnull)))
        for i, key in enumerate(want, start=1):
            self._relcols[key] = found.get(i)

    def prefetch_attnums(self, relids: Iterable[int]) -> None:
        """``relation_attnums`` of many relations in one query."""
        want = sorted({r for r in relids if r and r not in self._attnums})
        if not want:
            return
        rows = self.conn.execute(
            "SELECT attrelid::int, attnum::int FROM pg_attribute WHERE attrelid = ANY(%s) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attrelid, attnum",
            (want,),
        ).fetchall()
        for relid in want:
            self._attnums[relid] = []
        for relid, attnum in rows:
            self._attnums[relid].append(int(attnum))

    def relation_oid(self, schema: str | None, name: str) -> int | None:
        """The oid of a table or view visible under that name (search_path when unqualified)."""
        qualified = f'"{schema}"."{name}"' if schema else f'"{name}"'
        row = self.conn.execute("SELECT to_regclass(%s)::oid::int", (qualified,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def function_arg_name(
        self, schema: str | None, name: str, index: int, nargs: int
    ) -> str | None:
        """The name of a function's ``index``-th input argument, when every overload agrees."""
        rows = self.conn.execute(
            """
            SELECT p.proargnames, p.proargmodes::text[]
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.proname = %(name)s AND p.pronargs = %(nargs)s
              AND CASE WHEN %(schema)s::text IS NULL THEN pg_function_is_visible(p.oid)
                       ELSE n.nspname = %(schema)s END
            """,
            {"name": name, "nargs": nargs, "schema": schema},
        ).fetchall()
        found: set[str] = set()
        for names, modes in rows:
            if not names:
                return None
            inputs = [
                n
                for n, m in zip(names, modes or ["i"] * len(names), strict=False)
                if m in ("i", "b", "v")
            ]
            if index >= len(inputs) or not inputs[index]:
                return None
            found.add(str(inputs[index]))
        return found.pop() if len(found) == 1 else None

    def relation_attnums(self, relid: int) -> list[int]:
        """Attribute numbers of a relation, in order (asked once per relation: hundreds of
        queries return the same table's rows)."""
        known = self._attnums.get(relid)
        if known is not None:
            return list(known)
        rows = self.conn.execute(
            "SELECT attnum::int FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            (relid,),
        ).fetchall()
        self._attnums[relid] = [int(r[0]) for r in rows]
        return list(self._attnums[relid])

    # --- the domain model ---------------------------------------------------------------
    def relations(self) -> list[TableIR]:
        """Every user table, view and composite type: one generated model each."""
        rows = self.conn.execute(
            """
            SELECT n.nspname, c.relname, c.relkind, a.attname, a.atttypid::int, a.attnotnull,
                   a.attndims::int
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_type t ON t.typrelid = c.oid
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c')
              AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg_temp%%'
              AND NOT c.relispartition
              AND NOT EXISTS (
                  SELECT 1 FROM pg_depend d
                  WHERE d.objid = c.oid AND d.deptype = 'e'
              )
              AND (c.relkind <> 'c' OR NOT EXISTS (
                  SELECT 1 FROM pg_depend d
                  WHERE d.objid = t.oid AND d.deptype = 'e'
              ))
            ORDER BY n.nspname, c.relname, a.attnum
            """,
            (list(_SYSTEM_SCHEMAS),),
        ).fetchall()
        types = self.types(r[4] for r in rows)
        grouped: dict[tuple[str, str, str], list[ColumnIR]] = {}
        for nsp, rel, kind, col, typ, notnull, dims in rows:
            if rel in TOOL_TABLES:
                continue
            t = types[typ]
            domain_not_null = t.kind == "domain" and t.domain_not_null
            nullable = not (notnull or domain_not_null)
            if kind in ("v", "m", "c"):
                nullable = not domain_not_null
            grouped.setdefault((nsp, rel, _KINDS[kind]), []).append(
                ColumnIR(
                    name=col,
                    type=t,
                    nullable=nullable,
                    table=f"{nsp}.{rel}",
                    table_column=col,
                    dims=max(dims, 1),
                )
            )
        return [TableIR(s, n, RelationKind(k), tuple(cols)) for (s, n, k), cols in grouped.items()]

    def enums(self) -> list[EnumIR]:
        rows = self.conn.execute(
            """
            SELECT n.nspname, t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
            FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            JOIN pg_enum e ON e.enumtypid = t.oid
            WHERE n.nspname <> ALL(%s)
            GROUP BY n.nspname, t.typname
            ORDER BY n.nspname, t.typname
            """,
            (list(_SYSTEM_SCHEMAS),),
        ).fetchall()
        return [EnumIR(nsp, name, tuple(labels)) for nsp, name, labels in rows]
