"""Find, number, name and rewrite a statement's parameters.

sqlc's dialect mixes ``$N``, ``@name``, ``sqlc.arg(name)`` and ``sqlc.narg(name)``.
PostgreSQL only knows ``$N``, so named parameters are numbered as sqlc numbers them —
each distinct name, in order, takes the lowest number no ``$N`` uses (``$1, @v, $3``:
``@v`` is ``$2``) — and rewritten in place. sqlc also accepts
``sqlc.slice(name)`` on PostgreSQL, where its engine makes it an array parameter:
``x IN (sqlc.slice(name))`` — the whole list of an IN, as the parse tree shows — has
no list-valued placeholder in PostgreSQL, so it becomes ``x = ANY($N)`` (``NOT IN``:
``<> ALL``). The right operand of a comparison (``x = sqlc.slice(name)``) is a list to
sqlc too, so it is compared with each element: ``x = ANY($N)``, ``x <> ALL($N)`` (any
other operator: ``ANY``). Anywhere else (``x = ANY(sqlc.slice(name)::bigint[])``) it is
``$N`` and takes the (array) type PostgreSQL deduces there, like ``sqlc.arg``. The rewritten SQL
is parsed again to name positional parameters from their context, the way sqlc
does: the column they are compared with, assigned to or inserted into.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast
from pglast import parser as pgparser
from pglast.enums import A_Expr_Kind

from multica_db_codegen.errors import GenerateError, Location
from multica_db_codegen.parse.spec import Command, Embed, Param, ParamTarget, QuerySpec

# The generated function's own names: a parameter called so would shadow or be shadowed.
_RESERVED = {"conn", "self", "cls", "cur", "row", "rows"}


@dataclass(frozen=True, slots=True)
class _Occurrence:
    start: int
    end: int  # exclusive
    kind: str  # "positional" | "named" | "narg" | "embed" | "text" (name: what replaces it)
    name: str
    number: int = 0
    close: str = ""  # written after the parameter (closes an ``ANY(`` written before it)


def rewrite_parameters(
    *,
    name: str,
    command: Command,
    doc: list[str],
    location: Location,
    sql_location: Location,
    sql: str,
) -> QuerySpec:
    """Build the :class:`QuerySpec` of one statement (raises :class:`GenerateError`)."""
    occurrences = _find(sql, sql_location, name)
    highest = max((o.number for o in occurrences if o.kind == "positional"), default=0)

    params: dict[int, Param] = {}
    by_name: dict[str, int] = {}
    pieces: list[str] = []
    offset_map: list[tuple[int, int]] = [(0, 0)]
    embeds: list[Embed] = []
    cursor = 0
    out_len = 0
    used = {o.number for o in occurrences if o.kind == "positional"}

    def free_number() -> int:
        n = 1
        while n in used:
            n += 1
        used.add(n)
        return n

    for occ in occurrences:
        pieces.append(sql[cursor : occ.start])
        out_len += occ.start - cursor
        if occ.kind == "positional":
            replacement = sql[occ.start : occ.end]
            params.setdefault(occ.number, Param(number=occ.number, name=""))
        elif occ.kind == "embed":
            replacement = f"{occ.name}.*"
            embeds.append(Embed(alias=occ.name, offset=out_len))
        elif occ.kind == "text":
            replacement = occ.name
        else:
            number = by_name.get(occ.name)
            if number is None:
                number = by_name[occ.name] = free_number()
                params[number] = Param(number=number, name=occ.name, explicit_name=True)
            if occ.kind == "narg":
                params[number].nullable = True
            replacement = f"${number}{occ.close}"
        pieces.append(replacement)
        out_len += len(replacement)
        cursor = occ.end
        offset_map.append((out_len, occ.end))
    pieces.append(sql[cursor:])
    rewritten = "".join(pieces)

    try:
        tree = pglast.parse_sql(rewritten)[0].stmt
    except pglast.parser.ParseError as exc:  # the original parsed, so this is our bug
        raise GenerateError(
            f"internal error: rewritten SQL does not parse: {exc.args[0]}",
            location=location,
            query=name,
        ) from None

    missing = sorted(set(range(1, highest + 1)) - set(params))
    if missing:
        raise GenerateError(
            f"parameter ${missing[0]} is never used, but ${highest} is: "
            "number positional parameters without gaps",
            location=sql_location,
            query=name,
        )

    _name_from_context(tree, params)
    _dedupe_names(params)
    return QuerySpec(
        name=name,
        command=command,
        doc=doc,
        location=location,
        sql_location=sql_location,
        original_sql=sql,
        sql=rewritten,
        params=[params[n] for n in sorted(params)],
        tree=tree,
        embeds=embeds,
        offset_map=offset_map,
    )


def _find(sql: str, loc: Location, query: str) -> list[_Occurrence]:
    """Parameter occurrences in source order, from pglast's lexer tokens."""
    tokens = pgparser.scan(sql)
    in_lists = _slice_in_lists(sql, tokens)
    compared = _slice_comparisons(sql, tokens)
    out: list[_Occurrence] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        text = sql[t.start : t.end + 1]
        if t.name == "PARAM":
            out.append(_Occurrence(t.start, t.end + 1, "positional", "", int(text[1:])))
        elif t.name == "Op" and text == "@" and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            if nxt.start == t.end + 1 and _is_word(nxt):
                out.append(_Occurrence(t.start, nxt.end + 1, "named", _ident(sql, nxt)))
                i += 2
                continue
        elif _is_word(t) and text.lower() == "sqlc" and i + 5 < len(tokens):
            dot, fn, lpar, arg, rpar = tokens[i + 1 : i + 6]
            fname = sql[fn.start : fn.end + 1].lower()
            if sql[dot.start : dot.end + 1] == "." and sql[lpar.start : lpar.end + 1] == "(":
                if sql[rpar.start : rpar.end + 1] != ")" or not (
                    _is_word(arg) or arg.name == "SCONST"
                ):
                    raise GenerateError(
                        f"sqlc.{fname}() takes exactly one name",
                        location=Location(loc.file, loc.offset + t.start),
                        query=query,
                    )
                if fname not in ("arg", "narg", "embed", "slice"):
                    raise GenerateError(
                        f"unknown macro sqlc.{fname}() "
                        "(expected sqlc.arg, sqlc.narg, sqlc.slice, sqlc.embed)",
                        location=Location(loc.file, loc.offset + t.start),
                        query=query,
                    )
                if fname == "slice" and t.start in in_lists:
                    # [NOT] IN → = ANY / <> ALL; the list's parentheses (and any comment
                    # in them) stay as written
                    start, end, negated = in_lists[t.start]
                    out.append(_Occurrence(start, end, "text", "<> ALL" if negated else "= ANY"))
                close = ""
                if fname == "slice" and t.start in compared:
                    # x = sqlc.slice(ids) → x = ANY($N): ``ANY(`` right after the operator
                    # (parentheses around the macro stay inside it)
                    at, quantifier = compared[t.start]
                    out.append(_Occurrence(at, at, "text", f" {quantifier}("))
                    close = ")"
                kind = {"arg": "named", "narg": "narg", "embed": "embed", "slice": "named"}[fname]
                out.append(_Occurrence(t.start, rpar.end + 1, kind, _ident(sql, arg), close=close))
                i += 6
                continue
        i += 1
    return sorted(out, key=lambda o: (o.start, o.end))


def _slice_in_lists(sql: str, tokens: Any) -> dict[int, tuple[int, int, bool]]:
    """Each ``sqlc.slice`` that is the whole list of an IN, from the parse tree.

    Keyed by the macro's offset: (start of ``IN`` / ``NOT IN``, end of its ``IN``,
    negated). ``sqlc.slice(x)`` parses as a call of a function ``sqlc.slice``.
    """
    try:
        stmts = pglast.parse_sql(sql)
    except pglast.parser.ParseError:
        return {}
    out: dict[int, tuple[int, int, bool]] = {}
    for found in tree_nodes(stmts):
        if not (isinstance(found, ast.A_Expr) and found.kind == A_Expr_Kind.AEXPR_IN):
            continue
        node: Any = found  # pglast's attributes are typed Optional
        items = node.rexpr if isinstance(node.rexpr, tuple) else ()
        if len(items) != 1 or not _is_slice(items[0]):
            continue
        start = int(node.location)
        keyword = next((t for t in tokens if t.start >= start and t.name == "IN_P"), None)
        if keyword is None or keyword.start > int(items[0].location):
            continue
        negated = any(getattr(n, "sval", None) == "<>" for n in node.name or ())
        out[int(items[0].location)] = (start, keyword.end + 1, negated)
    return out


def _slice_comparisons(sql: str, tokens: Any) -> dict[int, tuple[int, str]]:
    """Each ``sqlc.slice`` that is the right operand of a plain binary operator.

    Keyed by the macro's offset: (the end of the operator, ``ALL`` for ``<>``, else
    ``ANY``). sqlc makes such a parameter a list as it does inside IN; PostgreSQL compares
    a value with a list's elements only through ANY/ALL. Parentheses around the macro
    (``x = (sqlc.slice(ids))``) are looked through, as the parse tree does.
    """
    try:
        stmts = pglast.parse_sql(sql)
    except pglast.parser.ParseError:
        return {}
    out: dict[int, tuple[int, str]] = {}
    for found in tree_nodes(stmts):
        if not (isinstance(found, ast.A_Expr) and found.kind == A_Expr_Kind.AEXPR_OP):
            continue
        node: Any = found  # pglast's attributes are typed Optional
        if node.lexpr is None or not _is_slice(node.rexpr) or node.location is None:
            continue
        end = _operator_end(tokens, int(node.location), int(node.rexpr.location))
        if end is None:
            continue
        negated = [getattr(n, "sval", None) for n in node.name or ()][-1:] == ["<>"]
        out[int(node.rexpr.location)] = (end, "ALL" if negated else "ANY")
    return out


def _operator_end(tokens: Any, start: int, operand: int) -> int | None:
    """The end of the operator written at ``start`` (``=``, ``!=``, ``OPERATOR(s.=)``)."""
    first = next((t for t in tokens if t.start == start), None)
    if first is None:
        return None
    end = int(first.end) + 1
    if first.name == "OPERATOR":
        close = next((t for t in tokens if t.start > start and t.name == "ASCII_41"), None)
        end = int(close.end) + 1 if close is not None else operand + 1
    return end if end <= operand else None


def _is_slice(node: Any) -> bool:
    if not isinstance(node, ast.FuncCall) or len(node.funcname or ()) != 2:
        return False
    schema, fn = (str(getattr(n, "sval", "")).lower() for n in node.funcname or ())
    return schema == "sqlc" and fn == "slice"


def _is_word(t: Any) -> bool:
    return bool(t.name == "IDENT" or t.kind != "NO_KEYWORD")


def _ident(sql: str, t: Any) -> str:
    text: str = sql[t.start : t.end + 1]
    if text.startswith(("'", '"')):
        return text[1:-1]
    return text.lower() if t.name == "IDENT" else text


# --- naming positional parameters from context ---------------------------------------------


def _param_of(node: Any) -> ast.ParamRef | None:
    """The parameter an expression is, looking through casts."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return node if isinstance(node, ast.ParamRef) else None


def _params_in(node: Any) -> list[ast.ParamRef]:
    found: list[ast.ParamRef] = []

    def walk(n: Any) -> None:
        if isinstance(n, ast.ParamRef):
            found.append(n)
        elif isinstance(n, ast.Node):
            for attr in n:
                walk(getattr(n, attr))
        elif isinstance(n, tuple | list):
            for x in n:
                walk(x)

    walk(node)
    return found


def _column_name(node: Any) -> str | None:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.ColumnRef) and node.fields:
        last = node.fields[-1]
        if isinstance(last, ast.String):
            return str(last.sval)
    return None


_CHILD_SLOTS: dict[type, tuple[str, ...]] = {}


def tree_nodes(tree: Any) -> Iterator[Any]:
    """Every node of a parse tree, the root included (order unspecified)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Node):
            yield node
            for attr in child_slots(type(node)):
                child = getattr(node, attr)
                if child is not None:
                    stack.append(child)
        elif isinstance(node, tuple | list):
            stack.extend(node)


def copy_tree(tree: Any) -> Any:
    """A deep copy of a parse tree (a node, or a tuple/list of them), without the
    ``ancestors`` pglast's printer and visitors leave on the nodes they walk.

    ``copy.deepcopy`` follows those back-links: once a node of one tree was printed as
    part of another (a derived statement reusing a target of the original), copying the
    original copies the other statement too, up and down its ancestor chains, and a
    statement with a long WHERE clause exhausts Python's recursion limit. The walk is
    iterative, so a deep expression (a chain of 1,000 ``+``) is copied too."""
    made: dict[int, Any] = {}  # id(original) → its copy (shared parts stay shared)
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        x, ready = stack.pop()
        if id(x) in made or not isinstance(x, ast.Node | tuple | list):
            continue
        attrs = _copied_slots(type(x)) if isinstance(x, ast.Node) else ()
        kids = [getattr(x, a, None) for a in attrs] if attrs else list(x)
        if isinstance(x, ast.Node) and not attrs:
            kids = []
        if not ready:
            stack.append((x, True))
            stack.extend((k, False) for k in kids if isinstance(k, ast.Node | tuple | list))
            continue
        copies = [made[id(k)] if isinstance(k, ast.Node | tuple | list) else k for k in kids]
        if isinstance(x, ast.Node):
            new = type(x).__new__(type(x))
            for attr, value in zip(attrs, copies, strict=True):
                setattr(new, attr, value)
            made[id(x)] = new
        else:
            made[id(x)] = tuple(copies) if isinstance(x, tuple) else copies
    return made.get(id(tree), tree)


def _copied_slots(cls: type) -> tuple[str, ...]:
    """Every attribute a node class stores, but ``ancestors``."""
    slots: Any = getattr(cls, "__slots__", ())
    return tuple(a for a in slots if a != "ancestors")


def child_slots(cls: type) -> tuple[str, ...]:
    """A node class's attributes that can hold nodes (or lists of them), in slot order.

    Flags, names, locations and enums never contain a parameter: skipping them keeps
    the walk to the tree's structure.
    """
    names = _CHILD_SLOTS.get(cls)
    if names is None:
        slots: Any = getattr(cls, "__slots__", {})
        found = []
        for attr, info in slots.items() if isinstance(slots, dict) else ():
            kinds = getattr(info, "py_type", None)
            kinds = kinds if isinstance(kinds, tuple) else (kinds,)
            if any(
                isinstance(k, type) and (issubclass(k, ast.Node) or k in (list, tuple))
                for k in kinds
            ) or not any(isinstance(k, type) for k in kinds):
                found.append(attr)
        names = _CHILD_SLOTS[cls] = tuple(found)
    return names


def _name_from_context(tree: Any, params: dict[int, Param]) -> None:
    def suggest(number: int | None, name: str, target: ParamTarget | None = None) -> None:
        p = params.get(number) if number is not None else None
        if p is None:
            return
        if target is not None and p.target is None:
            p.target = target
        if not p.explicit_name and not p.name:
            p.name = name

    def relation(rel: Any) -> tuple[str | None, str]:
        return (rel.schemaname, rel.relname)

    def walk(n: Any) -> None:
        if isinstance(n, ast.InsertStmt):
            schema, table = relation(n.relation)
            cols = [c.name for c in (n.cols or ())]
            sel = n.selectStmt
            if isinstance(sel, ast.SelectStmt) and sel.valuesLists:
                for row in sel.valuesLists:
                    for col, expr in zip(cols, row, strict=False):
                        p = _param_of(expr)
                        if p is not None:
                            suggest(p.number, col, ParamTarget(schema, table, col))
            elif isinstance(sel, ast.SelectStmt) and sel.targetList and cols:
                for col, res in zip(cols, sel.targetList, strict=False):
                    p = _param_of(res.val)
                    if p is not None:
                        suggest(p.number, col, ParamTarget(schema, table, col))
        if isinstance(n, ast.UpdateStmt):
            schema, table = relation(n.relation)
            for res in n.targetList or ():
                if isinstance(res, ast.ResTarget) and res.name:
                    for p in _params_in(res.val):
                        suggest(p.number, res.name, ParamTarget(schema, table, res.name))
        if isinstance(n, ast.OnConflictClause) and n.targetList:
            for res in n.targetList:
                if isinstance(res, ast.ResTarget) and res.name:
                    for p in _params_in(res.val):
                        suggest(p.number, res.name)
        if isinstance(n, ast.A_Expr):
            left, right = n.lexpr, n.rexpr
            for a, b in ((left, right), (right, left)):
                col = _column_name(a)
                if col is None:
                    continue
                if isinstance(b, tuple | list):
                    for item in b:
                        p = _param_of(item)
                        if p is not None:
                            suggest(p.number, col)
                else:
                    p = _param_of(b)
                    if p is not None:
                        suggest(p.number, col)
        if isinstance(n, ast.FuncCall) and n.funcname and n.args:
            names = [str(getattr(x, "sval", "")) for x in n.funcname]
            schema = names[-2] if len(names) > 1 else None
            for i, arg in enumerate(n.args):
                if isinstance(arg, ast.NamedArgExpr):
                    p = _param_of(arg.arg)
                    if p is not None and arg.name:
                        suggest(p.number, str(arg.name))
                    continue
                p = _param_of(arg)
                q = params.get(p.number) if p is not None and p.number is not None else None
                if q is not None and q.func_arg is None:
                    q.func_arg = (schema, names[-1], i, len(n.args))
        if isinstance(n, ast.SelectStmt):
            for clause, label in ((n.limitCount, "limit"), (n.limitOffset, "offset")):
                p = _param_of(clause)
                if p is not None:
                    suggest(p.number, label)
        for attr in child_slots(type(n)):
            child = getattr(n, attr)
            if isinstance(child, ast.Node):
                walk(child)
            elif isinstance(child, tuple | list):
                walk_all(child)

    def walk_all(items: tuple[Any, ...] | list[Any]) -> None:
        for x in items:
            if isinstance(x, ast.Node):
                walk(x)
            elif isinstance(x, tuple | list):
                walk_all(x)

    if params:  # every suggestion goes to a parameter: without one, nothing to learn
        walk(tree)
    for number, p in params.items():
        if not p.name:
            p.name = f"column_{number}"


def python_safe(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = "f_" + cleaned
    if keyword.iskeyword(cleaned) or cleaned in _RESERVED:
        cleaned += "_"
    return cleaned


def _dedupe_names(params: dict[int, Param]) -> None:
    """Explicit names win; a clash among inferred names gets ``_2``, ``_3``…"""
    taken: set[str] = set()
    ordered = sorted(params.values(), key=lambda p: (not p.explicit_name, p.number))
    for p in ordered:
        base = python_safe(p.name)
        candidate, k = base, 2
        while candidate in taken:
            candidate = f"{base}_{k}"
            k += 1
        p.name = candidate
        taken.add(candidate)
