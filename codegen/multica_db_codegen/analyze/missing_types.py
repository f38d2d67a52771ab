"""Stand-ins for the types a schema uses but never creates.

sqlc accepts any type name in a table (``currency currency NOT NULL``, ``location
GEOGRAPHY``, ``username STRING``) and reads such a column as "any"; PostgreSQL
refuses a type it does not know (42704). Real schemas do this when the type is made
somewhere sqlc is not shown: an enum of another service's migrations, an extension
installed by the database image or by hand (PostGIS, pgvector, citext), a type name
of another engine the project also targets (SQLite's ``BLOB``, CockroachDB's
``STRING``). Each such name gets, decided from the statement's parse tree and the
catalog:

- another engine's name: a domain over the PostgreSQL type it means
  (``BLOB`` → ``bytea``, ``STRING`` → ``text``);
- an extension's type: the extension itself when the server has it, else its
  stand-in (:mod:`.standins`) when there is one, as a ``CREATE EXTENSION`` in the
  schema would have made them;
- anything else: a domain over ``text``. A value of a type psycopg does not know
  arrives as its text form, so the column's Python type is ``str`` (an override
  can give it a better one).

A type modifier such a domain cannot take (CockroachDB's ``STRING(64)``) is left
out of the statement (from its parse tree), as sqlc ignores it. Every stand-in is a
warning naming the type and what was made for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from pglast import ast
from pglast.stream import RawStream

from multica_db_codegen.analyze.expr_text import quote_ident
from multica_db_codegen.analyze.guarded import attempt
from multica_db_codegen.analyze.standins import has_standin, standin_sql
from multica_db_codegen.parse.params import tree_nodes

#: type names of other engines (migrations written for several) → PostgreSQL's type
OTHER_ENGINES: dict[str, tuple[str, str]] = {
    # name: (PostgreSQL type, whose name it is)
    "blob": ("bytea", "SQLite"),
    "datetime": ("timestamp", "SQLite"),
    "tinyint": ("smallint", "SQLite"),
    "mediumint": ("integer", "SQLite"),
    "nvarchar": ("text", "SQLite"),
    "nchar": ("text", "SQLite"),
    "clob": ("text", "SQLite"),
    "double": ("double precision", "SQLite"),
    "string": ("text", "CockroachDB"),
    "bytes": ("bytea", "CockroachDB"),
}

#: types of extensions → the extension that defines them
EXTENSION_TYPES: dict[str, str] = {
    **dict.fromkeys(("geometry", "geography", "box2d", "box3d"), "postgis"),
    "raster": "postgis_raster",
    **dict.fromkeys(("vector", "halfvec", "sparsevec"), "vector"),
    "citext": "citext",
    "hstore": "hstore",
    **dict.fromkeys(("ltree", "lquery", "ltxtquery"), "ltree"),
    "cube": "cube",
    "seg": "seg",
    **dict.fromkeys(("ean13", "isbn", "isbn13", "ismn", "ismn13", "issn", "issn13", "upc"), "isn"),
}

#: PostgreSQL's error for a type modifier on a type that takes none (a domain)
TYPMOD_REFUSED = "type modifier is not allowed for type"


#: statements that define what a type name is needed for (a DROP or a COMMENT of a
#: missing type is another matter)
DEFINING = {
    "CreateStmt",
    "AlterTableStmt",
    "CompositeTypeStmt",
    "CreateDomainStmt",
    "CreateFunctionStmt",
    "ViewStmt",
    "CreateTableAsStmt",
    "CreateRangeStmt",
}
#: names PostgreSQL reads before looking a type up (``id serial``)
_SERIALS = {"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"}


def _run(conn: psycopg.Connection[Any], sql: str) -> bool:
    """Run ``sql``; False when it failed (undone, the file's transaction kept)."""
    return attempt(conn, sql) is None


def _exists(conn: psycopg.Connection[Any], names: tuple[str, ...]) -> bool:
    row = conn.execute(
        "SELECT to_regtype(%s) IS NOT NULL", (".".join(quote_ident(n) for n in names),)
    ).fetchone()
    return bool(row and row[0])


def _unknown_type_names(conn: psycopg.Connection[Any], node: Any) -> list[tuple[str, ...]]:
    """Each type name of the statement that no type of the catalog answers, in order.

    Only unqualified names and ``schema.name``; a name with typmods counts too (the
    modifier is dealt with once the type exists)."""
    found: list[tuple[str, ...]] = []
    for n in tree_nodes(node):
        if not isinstance(n, ast.TypeName) or n.pct_type:
            continue
        names = tuple(str(x.sval) for x in n.names or () if isinstance(x, ast.String))
        if len(names) not in (1, 2) or len(names) != len(n.names or ()):
            continue
        if names[0] == "pg_catalog" or names[-1] in _SERIALS or names in found:
            continue
        if not _exists(conn, names):
            found.append(names)
    return found


def stand_in_types(
    conn: psycopg.Connection[Any],
    node: Any,
    available: Callable[[str], bool],
    skipped: list[str],
) -> list[str]:
    """Make a stand-in for each type the statement names that the catalog lacks; the
    warnings, one per stand-in (empty: none was made).

    ``available(extension)``: the server has the extension. ``skipped``: extensions
    the schema creates that were skipped (the server lacks them, and there is no
    stand-in): a warning names the one a type belongs to.
    """
    notes: list[str] = []
    if type(node).__name__ not in DEFINING:
        return notes
    for names in _unknown_type_names(conn, node):
        schema, name = (None, names[0]) if len(names) == 1 else names
        where = f"{quote_ident(schema)}." if schema is not None else ""
        shown = ".".join(names)  # its schema exists: a missing one was made first
        other = OTHER_ENGINES.get(name)
        extension = EXTENSION_TYPES.get(name)
        if other is not None:
            base, engine = other
            if _domain(conn, where + quote_ident(name), base):
                notes.append(
                    f'type "{shown}" does not exist in PostgreSQL: {engine}\'s name; a domain '
                    f"over {base} stands in for it"
                )
            continue
        if extension is not None and extension not in skipped:
            made = _extension(conn, extension, schema, available(extension))
            if made is not None and _exists(conn, names):
                notes.append(
                    f'type "{shown}" does not exist: it is {extension}\'s, and the schema '
                    f"never runs CREATE EXTENSION {extension} (it is installed outside "
                    f"the schema); {made}"
                )
                continue
        if extension is not None and extension in skipped:
            why = f"its extension {extension} was skipped (the analyzer's server lacks it)"
        elif skipped:
            why = f"no statement creates it (perhaps the skipped {', '.join(skipped)} does)"
        else:
            why = "the schema never creates it"
        if _domain(conn, where + quote_ident(name), "text"):
            notes.append(
                f'type "{shown}" does not exist: {why}; sqlc reads its columns as any, and a '
                "domain over text stands in for it (its values are read as text; an "
                "override can give them another type)"
            )
    return notes


def _domain(conn: psycopg.Connection[Any], qualified: str, base: str) -> bool:
    return _run(conn, f"CREATE DOMAIN {qualified} AS {base}")


def _extension(
    conn: psycopg.Connection[Any], extension: str, schema: str | None, installed: bool
) -> str | None:
    """Install ``extension`` (or its stand-in) where the type was looked for; what was
    done, as a warning says it, or None."""
    if installed:
        into = f" SCHEMA {quote_ident(schema)}" if schema is not None else ""
        if not _run(conn, f"CREATE EXTENSION IF NOT EXISTS {quote_ident(extension)}{into}"):
            return None
        return f"CREATE EXTENSION {extension} was run for it"
    if not has_standin(extension):
        return None
    if not _run(conn, standin_sql(extension, schema)):
        return None
    return (
        "stand-ins of its types and functions were created (queries type as with the "
        "extension; --database-url can point at a server that has it)"
    )


def without_typmods(conn: psycopg.Connection[Any], node: Any) -> str | None:
    """The statement again without the type modifiers of its domain-typed names (a
    domain takes none: ``STRING(64)`` once ``string`` is a domain over text), or None
    when it has none. ``node`` is changed."""
    changed = False
    for n in tree_nodes(node):
        if not isinstance(n, ast.TypeName) or not n.typmods:
            continue
        names = tuple(str(x.sval) for x in n.names or () if isinstance(x, ast.String))
        if not names or names[0] == "pg_catalog":
            continue
        row = conn.execute(
            "SELECT typtype = 'd' FROM pg_type WHERE oid = to_regtype(%s)",
            (".".join(quote_ident(x) for x in names),),
        ).fetchone()
        if row and row[0]:
            n.typmods = None
            changed = True
    return RawStream()(node) if changed else None


__all__ = [
    "EXTENSION_TYPES",
    "OTHER_ENGINES",
    "TYPMOD_REFUSED",
    "stand_in_types",
    "without_typmods",
]
