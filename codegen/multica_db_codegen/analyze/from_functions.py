"""Describe a statement whose FROM calls a function the schema does not define.

sqlc accepts ``SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()``
when its catalog has no such function (SQLite's pragmas, an extension the analyzer's server
lacks). PostgreSQL cannot prepare it: it needs the function, and then the columns the
statement reads from it. The function gets a stub (see :mod:`.missing_functions`), and
what the statement reads from it is decided here, from the parse tree and PostgreSQL's
own errors, on a copy of the SQL that is only described, never run:

- a column definition list (``f(…) AS p(x int, y text)``) gives the columns and their
  types: the stub returns ``SETOF record`` and PostgreSQL does the rest;
- otherwise the stub returns one column of the marker type (or, with column aliases
  ``AS p(a, b)``, a row of that many), and every reference PostgreSQL cannot resolve
  (``column "page_count" does not exist``), and every reference to an aliased column,
  is replaced by a fresh parameter. Its type is what PostgreSQL deduces for a value of
  unknown type in that place (``WHERE page_count > 10``: integer, ``page_count::bigint``:
  bigint), except in a select list outside a cast, where the value is the function's own
  and nothing says what it is: there the parameter has the marker type, so the column
  is ``Any``;
- where PostgreSQL refuses such a value (``page_count * page_size``: no operator takes two
  unknowns), the smallest expression around the error that holds one is replaced the
  same way: in a select list it becomes ``Any``, elsewhere it takes the type its place
  asks for (a WHERE condition: boolean).

``SELECT *`` over such a function (without a column definition list) is refused: the
row's width is unknown, and code reading it would break on the first row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pglast
import psycopg
from pglast import ast
from pglast import parser as pgparser
from psycopg import pq

from multica_db_codegen.analyze.describe import Described, DescribeError, RawColumn
from multica_db_codegen.analyze.expr_text import (
    EXPRESSIONS,
    around,
    entry_named_by,
    node_location,
    quote_ident,
    result_name,
    text_span,
    walk,
    walk_up,
)

#: Replacements one statement may need: a bound on the prepare-and-retry loop.
MAX_STEPS = 64

_TEXT_OID = 25
_UNDEFINED_COLUMN = "42703"
_INDETERMINATE_TYPE = "42P18"


@dataclass(frozen=True, slots=True)
class FromItem:
    """How the statement uses a missing function in FROM."""

    ref: str  # the name its columns are qualified with: the alias, else the function's
    record: bool  # a column definition list gives its columns
    colnames: tuple[str, ...]  # column aliases (``AS p(a, b)``)


def from_item(tree: Any, call: Any) -> FromItem | None:
    """``call`` as a FROM item of ``tree`` (``None``: it is not one)."""
    for node in walk(tree):
        if not isinstance(node, ast.RangeFunction):
            continue
        for i, pair in enumerate(node.functions or ()):
            if not pair or pair[0] is not call:
                continue
            alias: Any = node.alias
            single = len(node.functions or ()) == 1
            coldefs = pair[1] if len(pair) > 1 else None
            record = bool(coldefs) or bool(single and node.coldeflist)
            name = str(call.funcname[-1].sval)
            ref = str(alias.aliasname) if alias is not None else name
            colnames = (
                tuple(str(c.sval) for c in alias.colnames or ())
                if alias is not None and i == 0
                else ()
            )
            return FromItem(ref, record, colnames)
    return None


@dataclass
class Learnt:
    """What describing found: the columns read from the missing functions, by qualifier."""

    columns: list[tuple[str | None, str]] = field(default_factory=list)


def refuse_stars(tree: Any, items: Sequence[tuple[str, FromItem, str]]) -> DescribeError | None:
    """``SELECT *`` / ``p.*`` over a missing function without a column definition list.

    ``items``: (ref, item, signature). The error points at the star.
    """
    open_items = {ref: signature for ref, item, signature in items if not item.record}
    if not open_items:
        return None
    for select, star in _stars(tree):
        fields: Any = star.fields or ()
        qualifier = (
            str(fields[-2].sval) if len(fields) > 1 and hasattr(fields[-2], "sval") else None
        )
        if qualifier is not None:
            hit = open_items.get(qualifier)
        else:
            hit = next((open_items[r] for r in _from_refs(select) if r in open_items), None)
        if hit is not None:
            return DescribeError(
                f"function {hit} does not exist, so the columns {_star_text(star)} stands "
                "for are unknown",
                int(star.location) + 1,
                "name the columns it returns, or give a column definition list: "
                "FROM f(…) AS f(a integer, b text)",
                None,
            )
    return None


def describe_from(
    conn: psycopg.Connection[Any],
    sql: str,
    items: Sequence[FromItem],
    marker: int,
    marker_name: str,
    learnt: Learnt,
) -> Described:
    """Describe ``sql`` (its stubs defined) with what it reads from the missing functions
    replaced as the module says. Raises a :class:`DescribeError` positioned in ``sql``
    for any other problem."""
    tokens = pgparser.scan(sql)
    user = max((int(sql[t.start + 1 : t.end + 1]) for t in tokens if t.name == "PARAM"), default=0)
    probe = _Probe(sql, user)
    refs = {i.ref for i in items if not i.record}
    aliased = {(i.ref, c) for i in items if not i.record for c in i.colnames}
    names = {c for _, c in aliased}
    # references to aliased columns are the function's: replaced before anything else
    while True:
        found = next(
            (
                (node, column)
                for node in walk(probe.tree)
                if (column := _column_of(node, refs)) is not None
                and (column in aliased or (column[0] is None and column[1] in names))
            ),
            None,
        )
        if found is None or not probe.replace(found[0]):
            break
        learnt.columns.append(found[1])
    for _ in range(MAX_STEPS):
        types = probe.param_types(marker)
        conn.execute("SAVEPOINT multica_db_from")
        res = conn.pgconn.prepare(b"", probe.text.encode(), types)
        if res.status == pq.ExecStatus.COMMAND_OK:
            d = conn.pgconn.describe_prepared(b"")
            if d.status != pq.ExecStatus.COMMAND_OK:
                raise DescribeError(d.error_message.decode(), None, None, None)
            return Described(
                tuple(d.param_type(i) for i in range(min(user, d.nparams))),
                tuple(
                    RawColumn((d.fname(i) or b"").decode(), d.ftype(i), d.ftable(i), d.ftablecol(i))
                    for i in range(d.nfields)
                ),
            )
        conn.execute("ROLLBACK TO SAVEPOINT multica_db_from")
        state = (res.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
        message = (res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
        raw = res.error_field(pq.DiagnosticField.STATEMENT_POSITION)
        position = int(raw) - 1 if raw else None
        if state == _INDETERMINATE_TYPE:
            number = _undetermined(message)
            if number is not None and number > user and number not in probe.opaque:
                probe.opaque.add(number)
                continue
        elif position is not None and _step(
            probe, state, position, refs, learnt, marker_name in message
        ):
            continue
        raise probe.error(res, message, position)
    raise DescribeError("too many unknown columns", None, None, None)


def _step(
    probe: _Probe, state: str, position: int, refs: set[str], learnt: Learnt, opaque: bool
) -> bool:
    """Get past the error at ``position`` of the probe's text; False: not ours to get past.

    ``opaque``: the error is about a value of the marker type, which only stand-ins have
    (or columns of a subquery or CTE that selects one): the smallest expression around
    it that reads a column or calls a function is replaced too."""
    at = [(n, up) for n, up in walk_up(probe.tree) if node_location(n) == position]
    if state == _UNDEFINED_COLUMN:
        for node, _ in at:
            column = _column_of(node, refs)
            if column is not None and probe.replace(node):
                learnt.columns.append(column)
                return True
        return False
    if not any(isinstance(n, EXPRESSIONS) for n, _ in at):
        # the error points at what the tree keeps no location of (a constant): the
        # nearest expression written around it
        at = around(probe.text, probe.tree, position)
    for node, ancestors in at:
        if not isinstance(node, EXPRESSIONS):
            continue
        # the smallest expression around the error that holds a value standing in
        for candidate in [node, *reversed(ancestors)]:
            if isinstance(candidate, ast.ParamRef):
                if probe.untype(candidate):
                    return True
                continue
            if not isinstance(candidate, EXPRESSIONS):
                break  # the statement's structure: nothing of ours around the error
            if probe.holds_own(candidate) or (opaque and _reads(candidate)):
                if isinstance(candidate, ast.TypeCast) and candidate.arg is not None:
                    # a cast says what the value is: keep it, over a value of unknown type
                    return probe.replace(candidate.arg)
                return probe.replace(candidate)
    return False


class _Probe:
    """The SQL being described, its parse tree, and the parameters standing in."""

    def __init__(self, sql: str, user: int) -> None:
        self.text = sql
        self.sql = sql
        self.tree: Any = pglast.parse_sql(sql)
        self.user = user
        self.next = user + 1
        self.edits: list[tuple[int, int, int]] = []  # (start in text, old length, new length)
        self.opaque: set[int] = set()  # our parameters PostgreSQL cannot type: the marker
        self.plain: set[int] = set()  # ours that must stay of unknown type
        self.gone: set[int] = set()  # ours replaced in turn: declared text

    def holds_own(self, node: Any) -> bool:
        return any(
            isinstance(n, ast.ParamRef) and int(n.number or 0) > self.user for n in walk(node)
        )

    def untype(self, ref: Any) -> bool:
        """An own parameter given the marker type where the place needs another: unknown."""
        number = int(ref.number or 0)
        if number <= self.user or number in self.plain:
            return False
        self.plain.add(number)
        self.opaque.discard(number)
        return True

    def replace(self, node: Any) -> bool:
        """``node``'s text becomes a fresh parameter; the tree is parsed again."""
        span = text_span(self.text, node)
        if span is None:
            return False
        entry = entry_named_by(self.tree, node)
        entry_span = text_span(self.text, entry[0].val) if entry is not None else None
        if entry is not None and entry_span is not None:
            # the column keeps its name: `msg_id::bigint` must not become "int8"
            alias = " AS " + quote_ident(entry[1])
            at = entry_span[1]
            self.text = self.text[:at] + alias + self.text[at:]
            self.edits.append((at, 0, len(alias)))
        start, end = span
        for n in walk(node):
            if isinstance(n, ast.ParamRef) and int(n.number or 0) > self.user:
                self.gone.add(int(n.number or 0))
        param = f"${self.next}"
        self.next += 1
        name = result_name(self.tree, node)
        if name is not None:  # a parameter alone would be "?column?"
            param += " AS " + quote_ident(name)
        self.text = self.text[:start] + param + self.text[end:]
        self.edits.append((start, end - start, len(param)))
        self.tree = pglast.parse_sql(self.text)
        return True

    def param_types(self, marker: int) -> list[int]:
        """Declared types: the user's unknown, ours as decided."""
        forced = _opaque_places(self.tree, self.user)
        types = [0] * (self.next - 1)
        for number in range(self.user + 1, self.next):
            if number in self.gone:
                types[number - 1] = _TEXT_OID
            elif number in self.opaque or (number in forced and number not in self.plain):
                types[number - 1] = marker
        return types

    def original(self, position: int) -> int:
        """A position in the probe's text, in the SQL it was made from."""
        for start, old, new in reversed(self.edits):
            if position >= start + new:
                position += old - new
            elif position >= start:
                position = start
        return position

    def error(self, res: Any, message: str, position: int | None) -> DescribeError:
        def field(f: pq.DiagnosticField) -> str | None:
            raw = res.error_field(f)
            return raw.decode("utf-8", "replace") if raw else None

        return DescribeError(
            message,
            self.original(position) + 1 if position is not None else None,
            field(pq.DiagnosticField.MESSAGE_HINT),
            field(pq.DiagnosticField.MESSAGE_DETAIL),
            field(pq.DiagnosticField.SQLSTATE),
        )


def _reads(node: Any) -> bool:
    """``node`` reads a column or calls a function (it is not a constant)."""
    return any(isinstance(n, ast.ColumnRef | ast.FuncCall | ast.SubLink) for n in walk(node))


def _undetermined(message: str) -> int | None:
    """The parameter a "could not determine data type of parameter $N" names."""
    tail = message.rpartition("$")[2]
    return int(tail) if tail.isdigit() else None


def _opaque_places(tree: Any, user: int) -> set[int]:
    """Our parameters in a select or RETURNING list, under no cast: the marker type."""
    out: set[int] = set()
    for node, ancestors in walk_up(tree):
        if not isinstance(node, ast.ParamRef) or int(node.number or 0) <= user:
            continue
        for i in range(len(ancestors) - 1, -1, -1):
            up = ancestors[i]
            if isinstance(up, ast.TypeCast):
                break
            if isinstance(up, ast.ResTarget):
                holder = next((a for a in reversed(ancestors[:i]) if isinstance(a, ast.Node)), None)
                if _lists_results(holder, up):
                    out.add(int(node.number or 0))
                break
    return out


def _lists_results(holder: Any, target: Any) -> bool:
    """``target`` is one of ``holder``'s result columns (not an UPDATE's SET)."""
    if isinstance(holder, ast.SelectStmt):
        return any(t is target for t in holder.targetList or ())
    returning = getattr(holder, "returningList", None)
    return any(t is target for t in returning or ())


def _column_of(node: Any, refs: set[str]) -> tuple[str | None, str] | None:
    """(qualifier, column) of a column reference that may be a missing function's."""
    if not isinstance(node, ast.ColumnRef):
        return None
    fields = node.fields or ()
    if not fields or not all(isinstance(f, ast.String) for f in fields):
        return None
    names = [str(f.sval) for f in fields]
    if len(names) == 1:
        return (None, names[0]) if refs else None
    if len(names) == 2 and names[0] in refs:
        return (names[0], names[1])
    return None


def _star_text(star: Any) -> str:
    """``*`` or ``p.*`` as written (quotes aside)."""
    fields: Any = star.fields or ()
    return ".".join(str(f.sval) if isinstance(f, ast.String) else "*" for f in fields)


def _stars(tree: Any) -> Iterator[tuple[Any, Any]]:
    """(the select, a ``*`` of its select list)."""
    for node in walk(tree):
        if isinstance(node, ast.SelectStmt):
            for target in node.targetList or ():
                val = getattr(target, "val", None)
                fields: Any = val.fields if isinstance(val, ast.ColumnRef) else None
                if fields and isinstance(fields[-1], ast.A_Star):
                    yield node, val


def _from_refs(select: Any) -> Iterator[str]:
    """The names a select's FROM items are known by (through joins, not subqueries)."""
    stack = list(select.fromClause or ())
    while stack:
        item = stack.pop()
        if isinstance(item, ast.JoinExpr):
            stack += [item.larg, item.rarg]
        elif isinstance(item, ast.RangeFunction):
            alias: Any = item.alias
            if alias is not None:
                yield str(alias.aliasname)
            else:
                functions: Any = item.functions or ()
                for pair in functions:
                    call: Any = pair[0] if pair else None
                    names: Any = call.funcname if isinstance(call, ast.FuncCall) else None
                    if names:
                        yield str(names[-1].sval)
