"""Decide whether each result column can be NULL, from the parse tree and the catalog.

The rule that matters: never call a column NOT NULL when it can be NULL. The
engine (``nullability_engine``) evaluates the statement over a scope model of its
FROM clause; wherever it cannot be sure — or cannot line its own output up with
what PostgreSQL described — the answer is "nullable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from multica_db_codegen import env
from multica_db_codegen.analyze.catalog import Attribute, Catalog
from multica_db_codegen.analyze.ir import TypeRef
from multica_db_codegen.analyze.nullability_catalog import nullability_catalog
from multica_db_codegen.analyze.nullability_engine import Engine
from multica_db_codegen.analyze.nullability_scope import OutCol, Unsupported

#: Set to make engine failures raise instead of degrading to "nullable" (tests, debugging).
STRICT_ENV = env.STRICT_NULLABILITY


@dataclass(frozen=True, slots=True)
class ColumnFacts:
    """One described result column: what PostgreSQL told us about it."""

    name: str
    type: TypeRef
    attribute: Attribute | None  # set when the column is a direct table column reference


def infer_nullability(
    tree: Any,
    columns: Sequence[ColumnFacts],
    catalog: Catalog,
    param_nullable: Sequence[bool] | None = None,
    notes: list[str] | None = None,
) -> list[bool]:
    """``True`` for each column that can be NULL.

    ``param_nullable`` says, per ``$N``, whether the caller may pass NULL; without
    it every parameter is assumed nullable. ``notes`` receives a warning when the
    engine failed (rather than declined) and every column was made nullable.
    """
    out = analyze_columns(tree, catalog, param_nullable, notes)
    if out is None or len(out) != len(columns):
        if out is not None and env.strict_nullability():
            raise Unsupported(f"engine found {len(out)} columns, PostgreSQL {len(columns)}")
        return [True] * len(columns)
    for mine, described in zip(out, columns, strict=True):
        if mine.from_star and mine.name != described.name:
            if env.strict_nullability():
                raise Unsupported(f"star expanded to {mine.name}, PostgreSQL: {described.name}")
            return [True] * len(columns)
    return [c.nullable for c in out]


def analyze_columns(
    tree: Any,
    catalog: Catalog,
    param_nullable: Sequence[bool] | None = None,
    notes: list[str] | None = None,
) -> list[OutCol] | None:
    """The engine's view of the statement's output, ``None`` when it cannot tell."""
    facts = nullability_catalog(catalog)
    engine = Engine(facts, param_nullable)
    facts.failures.clear()
    try:
        out = engine.statement(tree, None)
        if notes is not None and facts.failures:
            notes.append(
                "nullability: the engine failed on "
                + "; ".join(facts.failures)
                + f": what it feeds is typed nullable; {STRICT_ENV}=1 raises instead"
            )
        return out
    except Unsupported:
        if env.strict_nullability():
            raise
        return None
    except Exception as exc:  # a parse-tree shape the engine never met: safe, and said
        if env.strict_nullability():
            raise
        if notes is not None:
            notes.append(
                f"nullability: the engine failed on this statement ({type(exc).__name__}: "
                f"{exc}), so every column is typed nullable; {STRICT_ENV}=1 raises instead"
            )
        return None


def always_one_row(tree: Any, catalog: Catalog) -> bool:
    """The statement returns exactly one row, whatever the data (so ``:one`` never gives None).

    A SELECT without FROM, WHERE, set-returning function or limit below one
    (``SELECT EXISTS (…)``, ``SELECT $1::int``), and an ungrouped aggregate without
    HAVING (``SELECT count(*) FROM t WHERE …``, ``SELECT COALESCE(max(x), 0) FROM t``):
    the engine's own rule for scalar subqueries, applied to the statement itself.
    """
    engine = Engine(nullability_catalog(catalog), None)
    try:
        engine.statement(tree, None)
    except Exception:  # a shape the engine does not know: no promise
        if env.strict_nullability():
            raise
        return False
    return engine.one_row_selects.get(id(tree), False)
