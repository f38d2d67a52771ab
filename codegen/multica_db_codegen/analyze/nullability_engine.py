"""Evaluate a statement's output columns over the scope model (see ``nullability_scope``).

Every rule errs towards "nullable": a shape not recognised, a function not on a
list of built-ins known never to return NULL for non-NULL input, a user
function shadowing a built-in name, all answer "can be NULL".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pglast
from pglast import ast
from pglast.enums import (
    A_Expr_Kind,
    BoolExprType,
    JoinType,
    NullTestType,
    SetOperation,
    SQLValueFunctionOp,
    SubLinkType,
)

from multica_db_codegen import env
from multica_db_codegen.analyze.nullability_catalog import (
    FunctionCandidate,
    NullabilityCatalog,
    Relation,
)
from multica_db_codegen.analyze.nullability_rules import (
    AGG_ALWAYS,
    AGG_NONEMPTY,
    AGG_NONEMPTY_STRICT,
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    FIRST_ARG,
    NEVER_NULL,
    RANKING,
    SRF_COLUMNS,
    STRICT_OPS,
    STRICT_SAFE,
    SYSTEM_COLUMNS,
    TEXT_ONLY,
    frame_has_current_row,
)
from multica_db_codegen.analyze.nullability_scope import (
    Col,
    Level,
    OutCol,
    Ref,
    Rte,
    Unsupported,
    own_star,
)
from multica_db_codegen.parse.spec import returning_list


class _Resolved:
    """What a column reference resolved to."""

    __slots__ = ("level", "nullable", "refs", "whole_row")

    def __init__(
        self, nullable: bool, refs: list[Ref], level: Level | None, whole_row: bool = False
    ) -> None:
        self.nullable = nullable
        self.refs = refs
        self.level = level
        self.whole_row = whole_row


class Engine:
    def __init__(
        self,
        cat: NullabilityCatalog,
        param_nullable: Sequence[bool] | None,
        function: FunctionCandidate | None = None,
    ) -> None:
        self.cat = cat
        self.params = param_nullable
        # Analysing a SQL function's body: its named arguments resolve like $N.
        self.function = function
        self._views_in_progress: set[int] = set()
        # id(SelectStmt) -> it always yields exactly one row (decided while analysing it)
        self.one_row_selects: dict[int, bool] = {}
        # (columns, range table entries) a CASE branch knows NOT NULL / not null-extended
        self._assumed: list[tuple[set[tuple[int, str]], set[int]]] = [(set(), set())]

    # --- statements ---------------------------------------------------------------------
    def statement(self, node: Any, parent: Level | None) -> list[OutCol]:
        if isinstance(node, ast.SelectStmt):
            return self.select(node, parent)
        if isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
            return self.dml(node, parent)
        raise Unsupported(type(node).__name__)

    def select(self, s: Any, parent: Level | None) -> list[OutCol]:
        lv = Level(parent)
        self.with_clause(s.withClause, lv)
        if s.op is not None and s.op != SetOperation.SETOP_NONE:
            return self.set_operation(s, lv)
        if s.valuesLists:
            return self.values(s.valuesLists, lv)
        stars: list[list[Ref]] = [self.from_item(item, lv) for item in s.fromClause or ()]
        if s.whereClause is not None:
            self.refine(s.whereClause, lv, set(map(id, lv.rtes)))
        self.set_agg_mode(s, lv)
        for w in s.windowClause or ():
            if w.name:
                lv.windows[w.name] = w
        lv.srf_padding = self.count_srfs(s.targetList or ()) > 1
        out = self.targets(s.targetList or (), lv, stars)
        self.one_row_selects[id(s)] = self.one_row(s, lv)
        return out

    def set_operation(self, s: Any, lv: Level) -> list[OutCol]:
        left = self.statement(s.larg, lv)
        right = self.statement(s.rarg, lv)
        if len(left) != len(right):
            raise Unsupported("set operation arity")
        out: list[OutCol] = []
        for lc, rc in zip(left, right, strict=True):
            if s.op == SetOperation.SETOP_UNION:
                nullable = lc.nullable or rc.nullable
            elif s.op == SetOperation.SETOP_INTERSECT:
                nullable = lc.nullable and rc.nullable
            else:  # EXCEPT: rows come from the left
                nullable = lc.nullable
            out.append(OutCol(lc.name, nullable, lc.type_oid))
        return out

    def values(self, rows: Any, lv: Level) -> list[OutCol]:
        width = len(rows[0])
        nullable = [False] * width
        for row in rows:
            if len(row) != width:
                raise Unsupported("ragged VALUES")
            for i, e in enumerate(row):
                nullable[i] = nullable[i] or self.expr(e, lv)
        return [OutCol(f"column{i + 1}", n) for i, n in enumerate(nullable)]

    def with_clause(self, w: Any, lv: Level) -> None:
        if w is None:
            return
        for cte in w.ctes or ():
            names = [str(n.sval) for n in cte.aliascolnames or ()]
            q = cte.ctequery
            if (
                w.recursive
                and isinstance(q, ast.SelectStmt)
                and q.op == SetOperation.SETOP_UNION
                and q.withClause is None
            ):
                cols = _renamed(self.statement(q.larg, lv), names)
                for _ in range(10):
                    lv.ctes[cte.ctename] = cols
                    rec = self.statement(q.rarg, lv)
                    if len(rec) != len(cols):
                        raise Unsupported("recursive CTE arity")
                    new = [
                        OutCol(c.name, c.nullable or r.nullable, c.type_oid)
                        for c, r in zip(cols, rec, strict=True)
                    ]
                    if [c.nullable for c in new] == [c.nullable for c in cols]:
                        break
                    cols = new
                else:
                    cols = [OutCol(c.name, True, c.type_oid) for c in cols]
            else:
                cols = _renamed(self.statement(q, lv), names)
            lv.ctes[cte.ctename] = cols

    def dml(self, st: Any, parent: Level | None) -> list[OutCol]:
        lv = Level(parent)
        self.with_clause(st.withClause, lv)
        rel_node = st.relation
        rel = self.cat.relation(rel_node.schemaname, rel_node.relname)
        if rel is None:
            raise Unsupported("unknown DML target")
        alias = rel_node.alias.aliasname if rel_node.alias is not None else rel_node.relname
        target = Rte(
            alias,
            [Col(c.name, not c.notnull, c.type_oid) for c in rel.columns],
            is_table=rel.kind in ("r", "p", "f"),
        )
        target.star = own_star(target)
        lv.rtes.append(target)
        stars = [target.star]
        extra: tuple[Any, ...] = ()
        if isinstance(st, ast.UpdateStmt):
            extra = st.fromClause or ()
        elif isinstance(st, ast.DeleteStmt):
            extra = st.usingClause or ()
        for item in extra:
            stars.append(self.from_item(item, lv))
        where = None if isinstance(st, ast.InsertStmt) else st.whereClause
        if where is not None:
            allowed = {id(r) for r in lv.rtes}
            if isinstance(st, ast.UpdateStmt):
                # RETURNING shows the new row: a filter on the old one proves nothing.
                allowed.discard(id(target))
            self.refine(where, lv, allowed)
        return self.targets(returning_list(st), lv, stars)

    # --- target lists -------------------------------------------------------------------
    def targets(self, targets: Iterable[Any], lv: Level, stars: list[list[Ref]]) -> list[OutCol]:
        out: list[OutCol] = []
        for t in targets:
            v: Any = t.val
            if _is_star(v):
                for ref in self.expand_star(v, lv, stars):
                    out.append(
                        OutCol(ref.name, ref.nullable, ref.rte.cols[ref.index].type_oid, True)
                    )
                continue
            out.append(OutCol(t.name or _figure_name(v), self.expr(v, lv), self.type_of(v, lv)))
        return out

    def expand_star(self, v: Any, lv: Level, stars: list[list[Ref]]) -> list[Ref]:
        if len(v.fields) == 1:
            refs = [r for s in stars for r in s]
        else:
            rte = self.find_rte(str(v.fields[-2].sval), lv)
            if rte is None:
                raise Unsupported("star of unknown relation")
            refs = rte.star
        for r in refs:
            if r.rte.opaque:
                raise Unsupported("star over a relation with unknown columns")
        return refs

    # --- FROM ---------------------------------------------------------------------------
    def from_item(self, item: Any, lv: Level) -> list[Ref]:
        """Add the item's range table entries to ``lv``; return what ``*`` expands to."""
        if isinstance(item, ast.JoinExpr):
            return self.join(item, lv)
        if isinstance(item, ast.RangeVar):
            rte = self.range_var(item, lv)
        elif isinstance(item, ast.RangeTableSample):  # fewer rows, same columns
            rte = self.range_var(_any(item).relation, lv)
        elif isinstance(item, ast.RangeSubselect):
            cols = self.statement(item.subquery, lv)
            alias = item.alias
            rte = Rte(
                alias.aliasname if alias is not None else None,
                [Col(c.name, c.nullable, c.type_oid) for c in cols],
            )
            _apply_alias_cols(rte, alias)
        elif isinstance(item, ast.RangeFunction):
            rte = self.range_function(item, lv)
        else:
            raise Unsupported(type(item).__name__)
        rte.star = own_star(rte)
        lv.rtes.append(rte)
        return rte.star

    def range_var(self, rv: Any, lv: Level) -> Rte:
        alias = rv.alias
        name = alias.aliasname if alias is not None else rv.relname
        if rv.schemaname is None:
            cte = lv.find_cte(rv.relname)
            if cte is not None:
                rte = Rte(name, [Col(c.name, c.nullable, c.type_oid) for c in cte])
                _apply_alias_cols(rte, alias)
                return rte
        rel = self.cat.relation(rv.schemaname, rv.relname)
        if rel is None:
            raise Unsupported(f"unknown relation {rv.relname}")
        if rel.viewdef is not None:
            nullable = self.view_nullability(rel)
        else:
            nullable = [not c.notnull for c in rel.columns]
        rte = Rte(
            name,
            [Col(c.name, n, c.type_oid) for c, n in zip(rel.columns, nullable, strict=True)],
            is_table=rel.kind in ("r", "p", "m", "f"),
        )
        _apply_alias_cols(rte, alias)
        return rte

    def view_nullability(self, rel: Relation) -> list[bool]:
        cache: dict[int, list[bool]] = self.cat.view_cache
        if rel.oid in cache:
            return cache[rel.oid]
        result = [True] * len(rel.columns)
        if rel.oid not in self._views_in_progress and rel.viewdef is not None:
            self._views_in_progress.add(rel.oid)
            try:
                stmts = pglast.parse_sql(rel.viewdef)
                inner = Engine(self.cat, None)  # no parameters, no function arguments
                inner._views_in_progress = self._views_in_progress
                cols = inner.statement(stmts[0].stmt, None)
                if len(cols) == len(rel.columns):
                    result = [c.nullable for c in cols]
            except Unsupported:  # a view the engine does not model: its columns stay nullable
                if env.strict_nullability():
                    raise
            except Exception as exc:  # one it fails on: the same, and said
                if env.strict_nullability():
                    raise
                self.cat.failures.append(f"view {rel.oid}: {type(exc).__name__}: {exc}")
            finally:
                self._views_in_progress.discard(rel.oid)
        cache[rel.oid] = result
        return result

    def range_function(self, rf: Any, lv: Level) -> Rte:
        alias = rf.alias
        funcs = list(rf.functions or ())
        single = len(funcs) == 1 and not rf.is_rowsfrom
        cols: list[Col] = []
        opaque = False
        for fc, coldefs in funcs:
            got = self.srf_columns(fc, coldefs, alias if single else None)
            if got is None:
                opaque = True
                continue
            cols.extend(got)
        if len(funcs) > 1:  # ROWS FROM pads the shorter results with NULLs
            cols = [Col(c.name, True, c.type_oid) for c in cols]
        if rf.ordinality:
            cols.append(Col("ordinality", False))
        name = alias.aliasname if alias is not None else None
        if name is None and len(funcs) == 1:
            name = str(funcs[0][0].funcname[-1].sval)
        rte = Rte(name, cols, opaque=opaque, is_function=True)
        if not opaque:
            _apply_alias_cols(rte, alias)
        return rte

    def srf_columns(self, fc: Any, coldefs: Any, alias: Any) -> list[Col] | None:
        if not isinstance(fc, ast.FuncCall):
            return None
        schema, fname = _func_name(fc)
        args = list(fc.args or ())
        scalar_name = alias.aliasname if alias is not None else fname
        if coldefs:
            return [Col(str(cd.colname), True) for cd in coldefs]
        builtin = schema in (None, "pg_catalog") and self.builtin_only(fname)
        if builtin and fname == "unnest":
            names = [scalar_name] if len(args) == 1 else ["unnest"] * len(args)
            return [
                Col(n, len(args) != 1 or not _array_elems_nonnull(self, a))
                for n, a in zip(names, args, strict=True)
            ]
        if builtin and fname in SRF_COLUMNS:
            spec = SRF_COLUMNS[fname]
            if spec is None:  # one unnamed, never-NULL column
                return [Col(scalar_name, fname == "string_to_table" and len(args) != 2)]
            return [Col(n, nullable) for n, nullable in spec]
        user = self.user_candidate(fc, schema, fname, args)
        if user is not None and user.retset and user.ret_kind != "c":
            got = self.sql_function_body(user)
            names = list(user.out_names) or [scalar_name]
            if got is not None and len(got[0]) == len(names):
                return [Col(n, nullable) for n, nullable in zip(names, got[0], strict=True)]
        cands = [c for c in self.cat.functions(fname) if c.nargs == len(args)]
        if schema is not None:
            cands = [c for c in cands if c.schema == schema]
        outs = {c.out_names for c in cands}
        if len(outs) == 1:
            out_names = outs.pop()
            if out_names:
                return [Col(n, True) for n in out_names]
            if len(cands) == 1 and cands[0].ret_kind not in ("c", "p"):
                return [Col(scalar_name, True)]  # a scalar set-returning function
        return None

    def join(self, j: Any, lv: Level) -> list[Ref]:
        start = len(lv.rtes)
        lstar = self.from_item(j.larg, lv)
        mid = len(lv.rtes)
        rstar = self.from_item(j.rarg, lv)
        left = lv.rtes[start:mid]
        right = lv.rtes[mid:]
        jt = j.jointype
        if j.isNatural:
            rnames = {r.name for r in rstar}
            names: list[str] = []
            for r in lstar:
                if r.name in rnames and r.name not in names:
                    names.append(r.name)
        else:
            names = [str(n.sval) for n in j.usingClause or ()]
        if jt == JoinType.JOIN_INNER:
            allowed = {id(r) for r in left + right}
        elif jt == JoinType.JOIN_LEFT:
            allowed = {id(r) for r in right}
        elif jt == JoinType.JOIN_RIGHT:
            allowed = {id(r) for r in left}
        elif jt == JoinType.JOIN_FULL:
            allowed = set()
        else:
            raise Unsupported(f"join type {jt}")
        if j.quals is not None:
            self.refine(j.quals, lv, allowed)
        merged: list[Col] = []
        for n in names:
            lref = _find_ref(lstar, n)
            rref = _find_ref(rstar, n)
            if lref is None or rref is None:
                raise Unsupported("USING column not found")
            for ref in (lref, rref):  # USING equality: a joined pair has both not null
                if id(ref.rte) in allowed:
                    ref.rte.refined.add(ref.name)
                    ref.rte.null_extended = False
            if jt == JoinType.JOIN_RIGHT:
                nullable = rref.nullable
            elif jt == JoinType.JOIN_FULL:
                nullable = lref.nullable or rref.nullable
            else:
                nullable = lref.nullable
            merged.append(Col(n, nullable, lref.rte.cols[lref.index].type_oid))
            lref.rte.hidden.add(n)
            rref.rte.hidden.add(n)
        if jt in (JoinType.JOIN_LEFT, JoinType.JOIN_FULL) and not (
            jt == JoinType.JOIN_LEFT and self.always_matches(j.quals, j.rarg)
        ):
            for rte in right:
                rte.null_extended = True
        if jt in (JoinType.JOIN_RIGHT, JoinType.JOIN_FULL):
            for rte in left:
                rte.null_extended = True
        alias = j.alias
        jrte = Rte(alias.aliasname if alias is not None else None, merged, is_join=True)
        jrte.star = (
            own_star(jrte)
            + [r for r in lstar if r.name not in names]
            + [r for r in rstar if r.name not in names]
        )
        if alias is not None:
            if alias.colnames:
                raise Unsupported("join alias column list")
            for rte in left + right:
                rte.visible = False
        lv.rtes.append(jrte)
        return jrte.star

    def always_matches(self, quals: Any, item: Any) -> bool:
        """``LEFT JOIN (one-row subquery) ON true``: every left row finds its partner."""
        q: Any = quals
        if not (isinstance(q, ast.A_Const) and isinstance(q.val, ast.Boolean) and q.val.boolval):
            return False
        return isinstance(item, ast.RangeSubselect) and self.one_row_selects.get(
            id(item.subquery), False
        )

    # --- filters ------------------------------------------------------------------------
    def refine(self, cond: Any, lv: Level, allowed: set[int]) -> None:
        """Columns a row must have non-NULL to pass ``cond`` are not NULL after it."""
        for conj in _conjuncts(cond):
            for cref in _strict_refs(conj):
                res = self.resolve(cref, lv, this_level_only=True)
                if res is None or len(res.refs) != 1:
                    continue
                ref = res.refs[0]
                if id(ref.rte) in allowed:
                    ref.rte.refined.add(ref.name)
                    ref.rte.null_extended = False

    # --- aggregation context ------------------------------------------------------------
    def set_agg_mode(self, s: Any, lv: Level) -> None:
        group = list(s.groupClause or ())
        if any(isinstance(g, ast.GroupingSet) for g in group):
            lv.agg_mode = "gsets"
            for g in group:
                if isinstance(g, ast.ColumnRef):
                    res = self.resolve(g, lv, this_level_only=True)
                    if res is not None:
                        lv.always_grouped.extend(res.refs)
        elif group:
            lv.agg_mode = "grouped"
        else:
            lv.agg_mode = "ungrouped"

    # --- names --------------------------------------------------------------------------
    def find_rte(self, name: str, lv: Level) -> Rte | None:
        found = [r for r in lv.rtes if r.visible and r.name == name]
        return found[-1] if found else None

    def resolve(self, cref: Any, lv: Level, this_level_only: bool = False) -> _Resolved | None:
        fields = cref.fields
        if not all(isinstance(f, ast.String) for f in fields):
            return None
        names = [str(f.sval) for f in fields]
        level: Level | None = lv
        while level is not None:
            got = self._resolve_here(names, level)
            if got is not None:
                return got
            if this_level_only:
                return None
            level = level.parent
        return self.function_argument(names)

    def function_argument(self, names: list[str]) -> _Resolved | None:
        f = self.function
        if f is None or len(names) > 2 or (len(names) == 2 and names[0] != f.name):
            return None
        if names[-1] not in f.in_names:
            return None
        i = f.in_names.index(names[-1])
        nullable = True if self.params is None or i >= len(self.params) else self.params[i]
        return _Resolved(nullable, [], None)

    def _resolve_here(self, names: list[str], lv: Level) -> _Resolved | None:
        col = names[-1]
        if len(names) >= 2:
            rte = self.find_rte(names[-2], lv)
            if rte is None:
                return None
            return self._column_of(rte, col, lv, qualified=True) or _Resolved(True, [], lv)
        refs: list[Ref] = []
        opaque = False
        for rte in lv.rtes:
            if not rte.visible:
                continue
            if rte.opaque:
                opaque = True
                continue
            if rte.is_join:
                if rte.name is not None:
                    refs.extend(r for r in rte.star if r.name == col)
                elif col not in rte.hidden:
                    refs.extend(rte.col_refs(col))
                continue
            if col in rte.hidden:
                continue
            refs.extend(rte.col_refs(col))
        if refs:
            return _Resolved(any(r.nullable for r in refs) or opaque, refs, lv)
        if col in SYSTEM_COLUMNS:
            tables = [r for r in lv.rtes if r.visible and r.is_table]
            if len(tables) == 1:
                return _Resolved(tables[0].null_extended, [], lv)
        rte = self.find_rte(col, lv)
        if rte is not None:  # a whole-row reference
            return _Resolved(rte.whole_row_nullable(), [], lv, whole_row=True)
        if opaque:
            return _Resolved(True, [], lv)
        return None

    def _column_of(self, rte: Rte, col: str, lv: Level, qualified: bool) -> _Resolved | None:
        if rte.opaque:
            return _Resolved(True, [], lv)
        refs = [r for r in rte.star if r.name == col] if rte.is_join else rte.col_refs(col)
        if refs:
            return _Resolved(any(r.nullable for r in refs), refs, lv)
        if col in SYSTEM_COLUMNS and rte.is_table:
            return _Resolved(rte.null_extended, [], lv)
        return None

    # --- expressions --------------------------------------------------------------------
    def type_of(self, e: Any, lv: Level) -> int | None:
        if isinstance(e, ast.ColumnRef):
            res = self.resolve(e, lv)
            if res is not None and len(res.refs) == 1:
                ref = res.refs[0]
                return ref.rte.cols[ref.index].type_oid
        return None

    def expr(self, e: Any, lv: Level, in_agg: bool = False) -> bool:
        """``True`` when ``e`` can evaluate to NULL."""
        n: Any = e
        if isinstance(e, ast.A_Const):
            return bool(n.isnull)
        if isinstance(e, ast.ParamRef):
            if self.params is not None and 1 <= n.number <= len(self.params):
                return bool(self.params[n.number - 1])
            return True
        if isinstance(e, ast.ColumnRef):
            return self.column_ref(n, lv, in_agg)
        if isinstance(e, ast.TypeCast | ast.CollateClause):
            return self.expr(n.arg, lv, in_agg)
        if isinstance(e, ast.FuncCall):
            return self.func_call(n, lv, in_agg)
        if isinstance(e, ast.A_Expr):
            return self.a_expr(n, lv, in_agg)
        if isinstance(e, ast.BoolExpr):
            if n.boolop == BoolExprType.NOT_EXPR:
                return self.expr(n.args[0], lv, in_agg)
            return any(self.expr(a, lv, in_agg) for a in n.args)
        if isinstance(e, ast.NullTest | ast.BooleanTest):
            return False
        if isinstance(e, ast.CoalesceExpr | ast.MinMaxExpr):
            # COALESCE, GREATEST and LEAST are NULL only when every argument is.
            return all(self.expr(a, lv, in_agg) for a in n.args)
        if isinstance(e, ast.CaseExpr):
            return self.case(n, lv, in_agg)
        if isinstance(e, ast.SubLink):
            return self.sublink(n, lv, in_agg)
        if isinstance(e, ast.A_ArrayExpr | ast.RowExpr | ast.GroupingFunc):
            return False
        if isinstance(e, ast.SQLValueFunction):
            return bool(n.op == SQLValueFunctionOp.SVFOP_CURRENT_SCHEMA)
        return True

    def case(self, n: Any, lv: Level, in_agg: bool) -> bool:
        """Every branch and the ELSE must be NOT NULL, each knowing what led to it.

        In ``WHEN c THEN r``, ``r`` sees the columns ``c`` proves NOT NULL; a later
        branch sees those an earlier ``x IS NULL`` condition (false there) proves.
        """
        if n.defresult is None:
            return True
        if n.arg is not None:  # CASE x WHEN ...: no conditions to learn from
            return self.expr(n.defresult, lv, in_agg) or any(
                self.expr(w.result, lv, in_agg) for w in n.args
            )
        earlier_false: list[Any] = []
        for w in n.args:
            proven = [ref for conj in _conjuncts(w.expr) for ref in _strict_refs(conj)]
            result = w.result

            def branch(result: Any = result) -> bool:
                return self.expr(result, lv, in_agg)

            if self.assuming(proven + earlier_false, lv, branch):
                return True
            earlier_false += _null_test_refs(w.expr)
        return self.assuming(earlier_false, lv, lambda: self.expr(n.defresult, lv, in_agg))

    def assuming(self, crefs: list[Any], lv: Level, evaluate: Callable[[], bool]) -> bool:
        """Evaluate with the given column references known NOT NULL."""
        cols = set(self._assumed[-1][0])
        real = set(self._assumed[-1][1])
        for cref in crefs:
            res = self.resolve(cref, lv)
            if res is None:
                continue
            for ref in res.refs:
                cols.add((id(ref.rte), ref.name))
                real.add(id(ref.rte))  # a NOT NULL value: the row was not null-extended
        self._assumed.append((cols, real))
        try:
            return evaluate()
        finally:
            self._assumed.pop()

    def without_assumptions(self, evaluate: Callable[[], bool]) -> bool:
        """Aggregate and window arguments read other rows: what a branch knows is void."""
        self._assumed.append((set(), set()))
        try:
            return evaluate()
        finally:
            self._assumed.pop()

    def assumed_value(self, ref: Ref) -> bool:
        return (id(ref.rte), ref.name) in self._assumed[-1][0]

    def assumed_not_null(self, ref: Ref) -> bool:
        """Known NOT NULL before grouping sets: tested, or of a row known not null-extended."""
        cols, real = self._assumed[-1]
        if (id(ref.rte), ref.name) in cols:
            return True
        if id(ref.rte) not in real:
            return False
        col = ref.rte.cols[ref.index]
        return not col.nullable or col.name in ref.rte.refined

    def column_ref(self, c: Any, lv: Level, in_agg: bool) -> bool:
        if isinstance(c.fields[-1], ast.A_Star):  # t.* as a value: the whole row
            if len(c.fields) < 2:
                return True
            rte = self.find_rte(str(c.fields[-2].sval), lv)
            return rte is None or rte.whole_row_nullable()
        res = self.resolve(c, lv)
        if res is None:
            return True
        if res.refs and all(self.assumed_value(r) for r in res.refs):
            return False  # a CASE condition tested this very value
        if res.nullable and not (res.refs and all(self.assumed_not_null(r) for r in res.refs)):
            return True
        owner = res.level
        if owner is not None and owner.agg_mode == "gsets" and (owner is not lv or not in_agg):
            # Grouping sets put NULL in the columns a set does not group by.
            if not res.refs:
                return True
            return not all(any(r == g for g in owner.always_grouped) for r in res.refs)
        return False

    def count_srfs(self, targets: Iterable[Any]) -> int:
        calls = [f for t in targets for f in _calls_at_level(t.val)]
        return sum(1 for f in calls if any(c.retset for c in self.cat.functions(_func_name(f)[1])))

    def builtin_only(self, fname: str) -> bool:
        """No function of this name outside pg_catalog could be the one PostgreSQL chose."""
        cands = self.cat.functions(fname)
        return bool(cands) and all(c.schema == "pg_catalog" for c in cands)

    def func_call(self, fc: Any, lv: Level, in_agg: bool) -> bool:
        schema, fname = _func_name(fc)
        args = list(fc.args or ())
        if schema not in (None, "pg_catalog") or not self.builtin_only(fname):
            return self.user_function(fc, schema, fname, args, lv, in_agg)
        if lv.srf_padding and any(c.retset for c in self.cat.functions(fname)):
            return True
        if fc.over is not None:
            return self.window_call(fc, fname, args, lv)
        kinds = {c.kind for c in self.cat.functions(fname)}
        if "a" in kinds:
            return self.aggregate(fc, fname, args, lv)
        if fc.agg_filter is not None or fc.agg_order or fc.agg_within_group:
            return True
        if fname in NEVER_NULL:
            return False
        if fname in FIRST_ARG:
            return not args or self.expr(args[0], lv, in_agg)
        if fname in SRF_COLUMNS:  # in a target list: one row per element, never NULL ones
            spec = SRF_COLUMNS[fname]
            if spec is None:
                return fname == "string_to_table" and len(args) != 2
            return len(spec) != 1 or spec[0][1]
        if fname in STRICT_SAFE:
            cands = [c for c in self.cat.functions(fname) if c.nargs == len(args)]
            if not cands or any(not c.strict or c.retset for c in cands):
                return True
            if fname in TEXT_ONLY and not all(self.not_range(a, lv) for a in args):
                return True
            if fname == "to_char" and not _nonempty_string(args[-1]):
                return True  # to_char(x, '') is NULL
            return any(self.expr(a, lv, in_agg) for a in args)
        return True

    def user_candidate(
        self, fc: Any, schema: str | None, fname: str, args: list[Any]
    ) -> FunctionCandidate | None:
        """The one user SQL function a call can resolve to, else None."""
        if fc.agg_star or fc.agg_distinct or fc.func_variadic or fc.over is not None:
            return None
        if any(isinstance(a, ast.NamedArgExpr) for a in args):
            return None
        cands = self.cat.functions(fname)
        if schema is not None:
            cands = tuple(c for c in cands if c.schema == schema)
        if len(cands) != 1:  # overloads, or a built-in of the same name: too clever to guess
            return None
        c = cands[0]
        if c.schema == "pg_catalog" or c.kind != "f" or c.nargs != len(args) or c.body is None:
            return None
        return c

    def sql_function_body(
        self, c: FunctionCandidate, args_nullable: Sequence[bool] | None = None
    ) -> tuple[list[bool], bool] | None:
        """Analyse a LANGUAGE sql function's body: its columns and whether it is one row.

        The body's $N are the arguments: never NULL when a strict function runs it,
        else as nullable as the call's arguments (all of them, when not given).
        """
        if c.strict:
            params = (False,) * c.nargs
        elif args_nullable is not None:
            params = tuple(args_nullable)
        else:
            params = (True,) * c.nargs
        cache = self.cat.function_cache
        key = (c.oid, params)
        if key in cache:
            return cache[key]
        cache[key] = None  # also the recursion guard
        try:
            stmts = pglast.parse_sql(c.body or "")
            if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
                return None
            body = stmts[0].stmt
            inner = Engine(self.cat, params, c)
            cols = inner.statement(body, None)
            result = ([x.nullable for x in cols], inner.one_row_selects.get(id(body), False))
        except Exception as exc:  # a body the engine cannot read: the call's result is nullable
            if env.strict_nullability():
                raise
            if not isinstance(exc, Unsupported):
                self.cat.failures.append(f"function {c.oid}: {type(exc).__name__}: {exc}")
            return None
        cache[key] = result
        return result

    def user_function(
        self, fc: Any, schema: str | None, fname: str, args: list[Any], lv: Level, in_agg: bool
    ) -> bool:
        """A scalar SQL function: NULL when its body can be, or yields no row."""
        c = self.user_candidate(fc, schema, fname, args)
        if c is None or c.retset or c.ret_kind in ("p", "c"):
            return True
        args_nullable = [self.expr(a, lv, in_agg) for a in args]
        got = self.sql_function_body(c, args_nullable)
        if got is None or len(got[0]) != 1:
            return True
        nullable, one_row = got[0][0], got[1]
        if nullable or not one_row:
            return True
        # A strict function returns NULL for a NULL argument without running its body.
        return c.strict and any(args_nullable)

    def not_range(self, e: Any, lv: Level) -> bool:
        """``lower``/``upper`` of a range is NULL for an unbounded side: require a non-range."""
        if isinstance(e, ast.A_Const):
            return True
        if isinstance(e, ast.TypeCast):
            return str(_any(e).typeName.names[-1].sval) in TEXT_TYPES
        if isinstance(e, ast.FuncCall):
            return _func_name(e)[1] in TEXT_RESULT
        oid = self.type_of(e, lv)
        if oid is None:
            return False
        kind = self.cat.type_kind(oid)
        return kind is not None and kind not in ("r", "m", "d", "p")

    def aggregate(self, fc: Any, fname: str, args: list[Any], lv: Level) -> bool:
        if fname in AGG_ALWAYS:
            return False
        if fc.agg_within_group:
            return True
        args_nullable = self.without_assumptions(
            lambda: any(self.expr(a, lv, in_agg=True) for a in args)
        )
        owner = self.agg_owner(fc, lv)
        nonempty = owner is not None and owner.agg_mode == "grouped" and fc.agg_filter is None
        if fname in AGG_NONEMPTY:
            return not nonempty
        if fname in AGG_NONEMPTY_STRICT:
            return not nonempty or args_nullable
        return True

    def agg_owner(self, fc: Any, lv: Level) -> Level | None:
        """The query level an aggregate belongs to: the innermost one its arguments use.

        ``None`` when a subquery in the arguments makes that hard to tell.
        """
        if _contains_sublink(fc.args) or _contains_sublink(fc.agg_filter):
            return None
        levels = []
        for cref in _column_refs((fc.args, fc.agg_filter)):
            res = self.resolve(cref, lv)
            if res is not None and res.level is not None:
                levels.append(res.level)
        if not levels:
            return lv
        level: Level | None = lv
        while level is not None:
            if any(x is level for x in levels):
                return level
            level = level.parent
        return None

    def window_call(self, fc: Any, fname: str, args: list[Any], lv: Level) -> bool:
        return self.without_assumptions(lambda: self._window_call(fc, fname, args, lv))

    def _window_call(self, fc: Any, fname: str, args: list[Any], lv: Level) -> bool:
        wd: Any = fc.over
        frame = wd.frameOptions
        if wd.name and wd.name in lv.windows and not (wd.orderClause or wd.partitionClause):
            frame = lv.windows[wd.name].frameOptions
        elif wd.refname and wd.refname in lv.windows and frame == 1058:
            frame = lv.windows[wd.refname].frameOptions
        current = frame_has_current_row(int(frame))
        if fname in RANKING:
            return False
        if fname == "ntile":
            return any(self.expr(a, lv) for a in args)
        if fname in ("lag", "lead"):
            return len(args) != 3 or any(self.expr(a, lv) for a in args)
        if fname in ("first_value", "last_value"):
            return not current or any(self.expr(a, lv) for a in args)
        if fname in AGG_ALWAYS:
            return False
        nonempty = current and fc.agg_filter is None
        if fname in AGG_NONEMPTY:
            return not nonempty
        if fname in AGG_NONEMPTY_STRICT:
            return not nonempty or any(self.expr(a, lv) for a in args)
        return True

    def a_expr(self, x: Any, lv: Level, in_agg: bool) -> bool:
        kind = x.kind
        op_schema = str(x.name[0].sval) if x.name and len(x.name) > 1 else None
        op = str(x.name[-1].sval) if x.name else ""
        if op_schema not in (None, "pg_catalog"):
            return True

        def nl(e: Any) -> bool:
            if isinstance(e, tuple | list):
                return any(nl(i) for i in e)
            return self.expr(e, lv, in_agg)

        if kind in (A_Expr_Kind.AEXPR_DISTINCT, A_Expr_Kind.AEXPR_NOT_DISTINCT):
            return False
        if kind == A_Expr_Kind.AEXPR_NULLIF:
            return True
        if kind == A_Expr_Kind.AEXPR_OP:
            if x.lexpr is None:
                return op not in ("-", "+") or nl(x.rexpr)
            if op not in STRICT_OPS:
                return True
            if op in COMPARISON_OPS and (
                self.row_valued(x.lexpr, lv) or self.row_valued(x.rexpr, lv)
            ):
                return True  # row comparisons are NULL when a field pair is
            return nl(x.lexpr) or nl(x.rexpr)
        rexprs = x.rexpr if isinstance(x.rexpr, tuple | list) else (x.rexpr,)
        operands = [x.lexpr, *rexprs]
        if any(self.row_valued(o, lv) for o in operands if o is not None):
            return True  # row comparisons are NULL when a field pair is
        if kind in (A_Expr_Kind.AEXPR_OP_ANY, A_Expr_Kind.AEXPR_OP_ALL):
            if op not in COMPARISON_OPS:
                return True
            return nl(x.lexpr) or not _array_elems_nonnull(self, x.rexpr, lv)
        if kind == A_Expr_Kind.AEXPR_IN:
            return nl(x.lexpr) or nl(x.rexpr)
        if kind in (
            A_Expr_Kind.AEXPR_LIKE,
            A_Expr_Kind.AEXPR_ILIKE,
            A_Expr_Kind.AEXPR_SIMILAR,
            A_Expr_Kind.AEXPR_BETWEEN,
            A_Expr_Kind.AEXPR_NOT_BETWEEN,
            A_Expr_Kind.AEXPR_BETWEEN_SYM,
            A_Expr_Kind.AEXPR_NOT_BETWEEN_SYM,
        ):
            return nl(x.lexpr) or nl(x.rexpr)
        return True

    def row_valued(self, e: Any, lv: Level) -> bool:
        if isinstance(e, ast.RowExpr):
            return True
        if isinstance(e, ast.ColumnRef):
            res = self.resolve(e, lv)
            if res is not None and res.whole_row:
                return True
            if res is not None and len(res.refs) == 1:
                oid = res.refs[0].rte.cols[res.refs[0].index].type_oid
                return oid is None or self.cat.type_kind(oid) == "c"
        return False

    def sublink(self, s: Any, lv: Level, in_agg: bool) -> bool:
        kind = s.subLinkType
        if kind == SubLinkType.EXISTS_SUBLINK:
            return False
        if kind not in (
            SubLinkType.ARRAY_SUBLINK,
            SubLinkType.EXPR_SUBLINK,
            SubLinkType.ANY_SUBLINK,
            SubLinkType.ALL_SUBLINK,
        ):
            return True
        cols = self.statement(s.subselect, lv)
        if kind == SubLinkType.ARRAY_SUBLINK:
            return False
        if len(cols) != 1:
            return True
        if kind == SubLinkType.EXPR_SUBLINK:
            return cols[0].nullable or not self.one_row_selects.get(id(s.subselect), False)
        op = s.operName
        if op and str(op[-1].sval) not in COMPARISON_OPS:
            return True
        if self.row_valued(s.testexpr, lv):
            return True
        return cols[0].nullable or self.expr(s.testexpr, lv, in_agg)

    def array_sublink_elems(self, s: Any, lv: Level) -> bool:
        """ARRAY(SELECT x ...) has no NULL element: x is NOT NULL and not itself an array."""
        cols = self.statement(s.subselect, lv)
        if len(cols) != 1 or cols[0].nullable or cols[0].type_oid is None:
            return False
        return self.cat.type_category(cols[0].type_oid) not in (None, "A", "P")

    def one_row(self, s: Any, lv: Level) -> bool:
        """The subquery always yields exactly one row (an ungrouped aggregate, a bare SELECT)."""
        if not isinstance(s, ast.SelectStmt):
            return False
        n: Any = s
        if n.op != SetOperation.SETOP_NONE or n.valuesLists:
            return False
        if n.groupClause or n.havingClause or n.limitOffset:
            return False
        if n.limitCount is not None and not (
            isinstance(n.limitCount, ast.A_Const)
            and isinstance(n.limitCount.val, ast.Integer)
            and int(n.limitCount.val.ival or 0) >= 1
        ):
            return False
        calls = [f for t in n.targetList or () for f in _calls_at_level(t.val)]
        if any(c.retset for f in calls for c in self.cat.functions(_func_name(f)[1])):
            return False
        if any(
            f.over is None
            and any(c.kind == "a" for c in self.cat.functions(_func_name(f)[1]))
            and self.agg_owner(f, lv) is lv
            for f in calls
        ):
            return True
        return not n.fromClause and n.whereClause is None


TEXT_TYPES = {"text", "varchar", "bpchar", "char", "name"}
TEXT_RESULT = {"lower", "upper", "trim", "btrim", "ltrim", "rtrim", "concat", "concat_ws", "md5"}


def _any(node: Any) -> Any:
    """pglast attributes are typed Optional; read them once a shape is established."""
    return node


def _is_star(node: Any) -> bool:
    return isinstance(node, ast.ColumnRef) and isinstance(_any(node).fields[-1], ast.A_Star)


def _renamed(cols: list[OutCol], names: list[str]) -> list[OutCol]:
    if not names:
        return cols
    if len(names) > len(cols):
        raise Unsupported("more column aliases than columns")
    return [
        OutCol(names[i] if i < len(names) else c.name, c.nullable, c.type_oid)
        for i, c in enumerate(cols)
    ]


def _apply_alias_cols(rte: Rte, alias: Any) -> None:
    if alias is None or not alias.colnames:
        return
    if len(alias.colnames) > len(rte.cols):
        raise Unsupported("more column aliases than columns")
    for i, n in enumerate(alias.colnames):
        rte.cols[i].name = str(n.sval)


def _find_ref(star: list[Ref], name: str) -> Ref | None:
    for r in star:
        if r.name == name:
            return r
    return None


def _func_name(fc: Any) -> tuple[str | None, str]:
    parts = [str(p.sval) for p in fc.funcname]
    return (parts[-2] if len(parts) > 1 else None), parts[-1]


def _array_elems_nonnull(eng: Engine, node: Any, lv: Level | None = None) -> bool:
    """An array whose elements can never be NULL: ``ARRAY[1, 2]``, ``'{a,b}'::text[]``.

    Elements must be constants (or nested constructors of them): an array-valued
    element would make a multi-dimensional array whose own elements are unknown.
    """
    e: Any = node
    if isinstance(e, ast.TypeCast):
        if isinstance(e.arg, ast.A_Const) and isinstance(e.arg.val, ast.String):
            literal = str(e.arg.val.sval).lower()
            return literal.startswith("{") and "null" not in literal
        return _array_elems_nonnull(eng, e.arg, lv)
    if isinstance(e, ast.A_ArrayExpr):
        for x in e.elements or ():
            if isinstance(x, ast.A_ArrayExpr):
                if not _array_elems_nonnull(eng, x, lv):
                    return False
            elif not (isinstance(x, ast.A_Const) and not x.isnull):
                return False
        return True
    if isinstance(e, ast.SubLink) and e.subLinkType == SubLinkType.ARRAY_SUBLINK and lv is not None:
        return eng.array_sublink_elems(e, lv)
    return False


def _nonempty_string(node: Any) -> bool:
    e: Any = node
    return isinstance(e, ast.A_Const) and isinstance(e.val, ast.String) and bool(e.val.sval)


def _conjuncts(cond: Any) -> Iterable[Any]:
    if isinstance(cond, ast.BoolExpr) and cond.boolop == BoolExprType.AND_EXPR:
        for a in cond.args or ():
            yield from _conjuncts(a)
    else:
        yield cond


def _operand_refs(node: Any) -> list[Any]:
    """Column references whose NULL would make ``e`` NULL (through casts and arithmetic)."""
    e: Any = node
    if isinstance(e, ast.ColumnRef):
        return [] if isinstance(_any(e).fields[-1], ast.A_Star) else [e]
    if isinstance(e, ast.TypeCast):
        return _operand_refs(e.arg)
    if (
        isinstance(e, ast.A_Expr)
        and e.kind == A_Expr_Kind.AEXPR_OP
        and e.lexpr is not None
        and e.name
        and len(e.name) == 1
        and str(e.name[0].sval) in ARITHMETIC_OPS
    ):
        return _operand_refs(e.lexpr) + _operand_refs(e.rexpr)
    return []


def _null_test_refs(node: Any) -> list[Any]:
    """Columns a condition proves NOT NULL when it is false (``x IS NULL [OR y IS NULL]``)."""
    c: Any = node
    if isinstance(c, ast.NullTest) and c.nulltesttype == NullTestType.IS_NULL:
        return _operand_refs(c.arg)
    if isinstance(c, ast.BoolExpr) and c.boolop == BoolExprType.OR_EXPR:
        return [r for a in _any(c).args for r in _null_test_refs(a)]
    return []


def _strict_refs(node: Any) -> list[Any]:
    """Column references a row must have non-NULL to satisfy the conjunct ``c``."""
    c: Any = node
    if isinstance(c, ast.NullTest):
        return _operand_refs(c.arg) if c.nulltesttype == NullTestType.IS_NOT_NULL else []
    if isinstance(c, ast.ColumnRef):
        return _operand_refs(c)
    if isinstance(c, ast.BoolExpr) and c.boolop == BoolExprType.NOT_EXPR:
        return _operand_refs(_any(c).args[0])
    if isinstance(c, ast.BooleanTest):
        from pglast.enums import BoolTestType

        if c.booltesttype in (BoolTestType.IS_TRUE, BoolTestType.IS_FALSE):
            return _operand_refs(c.arg)
        return []
    if isinstance(c, ast.SubLink) and c.subLinkType == SubLinkType.ANY_SUBLINK:
        return _operand_refs(c.testexpr)
    if not isinstance(c, ast.A_Expr) or not c.name or len(c.name) != 1:
        return []
    op = str(c.name[0].sval)
    k = c.kind
    if k == A_Expr_Kind.AEXPR_OP and op in COMPARISON_OPS and c.lexpr is not None:
        if isinstance(c.lexpr, ast.RowExpr) or isinstance(c.rexpr, ast.RowExpr):
            return []
        return _operand_refs(c.lexpr) + _operand_refs(c.rexpr)
    if k in (A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_OP_ANY) and op in COMPARISON_OPS:
        return _operand_refs(c.lexpr)
    if k in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE, A_Expr_Kind.AEXPR_SIMILAR):
        if op in ("~~", "~~*", "~"):
            return _operand_refs(c.lexpr)
        return []
    if k == A_Expr_Kind.AEXPR_BETWEEN:
        refs = _operand_refs(c.lexpr)
        for b in c.rexpr or ():
            refs += _operand_refs(b)
        return refs
    return []


def _contains_sublink(e: Any) -> bool:
    if isinstance(e, ast.SubLink):
        return True
    if isinstance(e, ast.Node):
        return any(_contains_sublink(getattr(e, a)) for a in e)
    if isinstance(e, tuple | list):
        return any(_contains_sublink(x) for x in e)
    return False


def _column_refs(e: Any) -> Iterable[Any]:
    """Column references in ``e`` outside subqueries."""
    if isinstance(e, ast.ColumnRef):
        if not _is_star(e):
            yield e
        return
    if isinstance(e, ast.SubLink):
        return
    if isinstance(e, ast.Node):
        for attr in e:
            yield from _column_refs(getattr(e, attr))
    elif isinstance(e, tuple | list):
        for x in e:
            yield from _column_refs(x)


def _calls_at_level(e: Any) -> Iterable[Any]:
    """Function calls in ``e`` that belong to this query level (not inside subqueries)."""
    if isinstance(e, ast.SubLink):
        yield from _calls_at_level(e.testexpr)
        return
    if isinstance(e, ast.FuncCall):
        yield e
    if isinstance(e, ast.Node):
        for attr in e:
            yield from _calls_at_level(getattr(e, attr))
    elif isinstance(e, tuple | list):
        for x in e:
            yield from _calls_at_level(x)


def _figure_name(v: Any) -> str:
    """The column name PostgreSQL gives an unaliased target (FigureColname, abridged)."""
    return _figure(v) or "?column?"


def _figure(node: Any) -> str | None:
    v: Any = node
    if isinstance(v, ast.ColumnRef):
        last = _any(v).fields[-1]
        return str(last.sval) if isinstance(last, ast.String) else None
    if isinstance(v, ast.FuncCall):
        return str(_any(v).funcname[-1].sval)
    if isinstance(v, ast.TypeCast):
        inner = _figure(v.arg)
        if inner is not None:
            return inner
        names = v.typeName.names if v.typeName is not None else None
        return str(names[-1].sval) if names else None
    if isinstance(v, ast.A_Indirection):
        last = (v.indirection or (None,))[-1]
        return str(last.sval) if isinstance(last, ast.String) else _figure(v.arg)
    if isinstance(v, ast.CaseExpr):
        return "case"
    if isinstance(v, ast.CoalesceExpr):
        return "coalesce"
    if isinstance(v, ast.MinMaxExpr):
        return "greatest" if int(v.op or 0) == 0 else "least"
    if isinstance(v, ast.A_Expr) and v.kind == A_Expr_Kind.AEXPR_NULLIF:
        return "nullif"
    if isinstance(v, ast.A_ArrayExpr):
        return "array"
    if isinstance(v, ast.RowExpr):
        return "row"
    if isinstance(v, ast.GroupingFunc):
        return "grouping"
    if isinstance(v, ast.SubLink):
        if v.subLinkType == SubLinkType.EXISTS_SUBLINK:
            return "exists"
        if v.subLinkType == SubLinkType.ARRAY_SUBLINK:
            return "array"
        if v.subLinkType == SubLinkType.EXPR_SUBLINK:
            sub: Any = v.subselect
            targets = getattr(sub, "targetList", None)
            if targets:
                return targets[0].name or _figure(targets[0].val)
        return None
    return None
