"""Schemas a schema's statements create things in but never create.

Real projects keep their tables in a schema that something sqlc is not shown makes: an
init script of the database image, a migration tool's option, a DBA. The migrations
then start with ``SET search_path TO backend`` and ``CREATE TABLE backend.users``, and
sqlc reads them (its catalog has no notion of a schema that must exist first), while
PostgreSQL refuses each one with ``schema "backend" does not exist`` (3F000) — or, for
an unqualified name under such a search path, ``no schema has been selected to create
in`` (3F000 too). Either way the analysis would lose every table of the project.

The schemas such a statement needs are read from its parse tree (the qualified names
it creates or names, an extension's ``SCHEMA``) and from the session's ``search_path``
for its unqualified creations; each one the catalog lacks is created, with a warning,
and the statement runs again as written.
"""

from __future__ import annotations

from typing import Any

import psycopg
from pglast import ast

from multica_db_codegen.analyze.expr_text import quote_ident
from multica_db_codegen.analyze.guarded import attempt
from multica_db_codegen.parse.params import tree_nodes

#: statements that create or change something inside a schema: only those may have a
#: schema made for them (a DROP or a query of a missing schema stays PostgreSQL's error)
CREATING = {
    "CreateStmt",
    "CreateExtensionStmt",
    "CreateFunctionStmt",
    "CreateEnumStmt",
    "CompositeTypeStmt",
    "CreateDomainStmt",
    "CreateRangeStmt",
    "DefineStmt",
    "CreateSeqStmt",
    "ViewStmt",
    "CreateTableAsStmt",
    "IndexStmt",
    "CreateTrigStmt",
    "AlterTableStmt",
    "CommentStmt",
}


def _qualifier(names: Any) -> str | None:
    """The schema of a ``schema.name`` list of String nodes (None for other shapes)."""
    parts = [n.sval for n in names or () if isinstance(n, ast.String)]
    if len(parts) == 2 and len(parts) == len(names):
        return str(parts[0])
    return None


def named_schemas(node: Any) -> list[str]:
    """The schemas the statement names, in order of first appearance (``pg_catalog``
    and ``information_schema`` left out: they always exist)."""
    found: list[str] = []

    def add(name: str | None) -> None:
        if name and name not in found and name not in ("pg_catalog", "information_schema"):
            found.append(name)

    if isinstance(node, ast.CreateExtensionStmt):
        for opt in node.options or ():
            if isinstance(opt, ast.DefElem) and opt.defname == "schema":
                arg = opt.arg
                add(str(arg.sval) if isinstance(arg, ast.String) else None)
    for n in tree_nodes(node):
        if isinstance(n, ast.RangeVar):
            add(n.schemaname)
        elif isinstance(n, ast.TypeName) and not n.pct_type:
            add(_qualifier(n.names))
        elif isinstance(n, ast.CreateFunctionStmt | ast.CreateTrigStmt):
            add(_qualifier(n.funcname))
        elif isinstance(n, ast.CreateEnumStmt | ast.CreateRangeStmt):
            add(_qualifier(n.typeName))
        elif isinstance(n, ast.CreateDomainStmt):
            add(_qualifier(n.domainname))
        elif isinstance(n, ast.DefineStmt):
            add(_qualifier(n.defnames))
    return found


def _search_path_schemas(conn: psycopg.Connection[Any]) -> list[str]:
    """The schemas the session's search_path lists by name (``$user`` left out)."""
    row = conn.execute("SELECT current_setting('search_path')").fetchone()
    names = split_search_path(str(row[0]) if row else "")
    return [n for n in names if n and n != "$user"]


#: unquoted identifiers of a search path are folded to lower case, ASCII letters only
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def split_search_path(value: str) -> list[str]:
    """The names of a ``search_path`` setting as PostgreSQL reads them: comma-separated
    identifiers, double-quoted ones taken as written (``""`` is a quote), the others
    folded to lower case."""
    names: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "," or c.isspace():
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while j < len(value):
                if value[j] == '"':
                    if value[j + 1 : j + 2] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(value[j])
                j += 1
            names.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < len(value) and value[j] != "," and not value[j].isspace():
                j += 1
            names.append(value[i:j].translate(_FOLD))
            i = j
    return names


def _exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None


def create_missing_schemas(conn: psycopg.Connection[Any], node: Any) -> list[str]:
    """Create each schema the creating statement ``node`` needs that the catalog
    lacks; one warning per schema made (empty: none was missing, or ``node`` is not a
    statement that creates something)."""
    if type(node).__name__ not in CREATING:
        return []
    wanted = named_schemas(node) + _search_path_schemas(conn)
    notes: list[str] = []
    for schema in dict.fromkeys(wanted):
        if _exists(conn, schema):
            continue
        if attempt(conn, f"CREATE SCHEMA {quote_ident(schema)}") is not None:
            continue
        notes.append(
            f'schema "{schema}" does not exist: no statement of the schema creates it (it '
            "is made outside what sqlc reads, which does not need it); it was created"
        )
    return notes
