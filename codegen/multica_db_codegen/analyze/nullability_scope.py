"""The scope model: what a query level can see, and whether each column can be NULL there.

A range table entry (:class:`Rte`) holds its own columns with their *intrinsic*
nullability (the table's ``attnotnull``, a subquery's analysed output) and a
``null_extended`` flag set when the entry sits on the nullable side of an outer
join. A column is NULL-able where it is referenced when either holds, unless a
filter (``WHERE x IS NOT NULL``, an inner join's ``a.x = b.y``) proved otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Unsupported(Exception):
    """The engine met a shape it cannot reason about: the caller falls back to "nullable"."""


@dataclass(slots=True)
class Col:
    name: str
    nullable: bool
    type_oid: int | None = None


@dataclass(eq=False, slots=True)
class Rte:
    """One FROM item (table, view, subquery, CTE, function) or a join's merged columns."""

    name: str | None  # the qualifier it is visible under (alias, relation name); None: hidden
    cols: list[Col]
    is_table: bool = False  # has system columns (xmin, xmax, ctid, ...)
    null_extended: bool = False
    refined: set[str] = field(default_factory=set)  # columns a filter proved not null
    hidden: set[str] = field(default_factory=set)  # not visible unqualified (USING-merged)
    is_join: bool = False  # a join: only its merged ``cols`` resolve unqualified
    star: list[Ref] = field(default_factory=list)  # what ``*`` / ``name.*`` expands to
    opaque: bool = False  # columns unknown: every reference is nullable, ``*`` is unsupported
    visible: bool = True  # False once an aliased join hides it
    is_function: bool = False  # a function in FROM: a scalar one's whole row is its value

    def whole_row_nullable(self) -> bool:
        if self.null_extended:
            return True
        return self.is_function and (self.opaque or any(c.nullable for c in self.cols))

    def col_index(self, name: str) -> int | None:
        for i, c in enumerate(self.cols):
            if c.name == name:
                return i
        return None

    def col_refs(self, name: str) -> list[Ref]:
        """Every own column of that name (a subquery may repeat one: be pessimistic)."""
        return [Ref(self, i) for i, c in enumerate(self.cols) if c.name == name]

    def nullable(self, i: int) -> bool:
        c = self.cols[i]
        return self.null_extended or (c.nullable and c.name not in self.refined)


@dataclass(frozen=True, slots=True)
class Ref:
    rte: Rte
    index: int

    @property
    def name(self) -> str:
        return self.rte.cols[self.index].name

    @property
    def nullable(self) -> bool:
        return self.rte.nullable(self.index)


def own_star(rte: Rte) -> list[Ref]:
    return [Ref(rte, i) for i in range(len(rte.cols))]


@dataclass(slots=True)
class OutCol:
    """A query's output column as seen from outside it."""

    name: str
    nullable: bool
    type_oid: int | None = None
    from_star: bool = False


@dataclass(eq=False, slots=True)
class Level:
    """One query level (a SELECT, a DML statement): its namespace and aggregation context."""

    parent: Level | None
    rtes: list[Rte] = field(default_factory=list)
    ctes: dict[str, list[OutCol]] = field(default_factory=dict)
    agg_mode: str = "none"  # none | grouped (non-empty groups) | ungrouped | gsets
    always_grouped: list[Ref] = field(default_factory=list)  # gsets: in every grouping set
    windows: dict[str, Any] = field(default_factory=dict)
    srf_padding: bool = False  # several set-returning calls in the target list pad with NULL

    def find_cte(self, name: str) -> list[OutCol] | None:
        lv: Level | None = self
        while lv is not None:
            if name in lv.ctes:
                return lv.ctes[name]
            lv = lv.parent
        return None
