"""Random, well-typed queries over the corpus schema, for the unsafe-error hunt.

Deterministic (seeded) so a failure reproduces. Shapes: joins of every kind over
tables, a view, subqueries and CTEs; WHERE filters (some of which prove columns
NOT NULL, some of which must not); plain, grouped, ungrouped and ROLLUP
aggregation; expressions built from the operators and functions the engine has
rules for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# relation -> [(column, type)], type "int" or "text"
RELATIONS: dict[str, list[tuple[str, str]]] = {
    "team": [("id", "int"), ("name", "text"), ("motto", "text")],
    "person": [
        ("id", "int"),
        ("team_id", "int"),
        ("manager_id", "int"),
        ("name", "text"),
        ("nickname", "text"),
        ("age", "int"),
    ],
    "task": [
        ("id", "int"),
        ("person_id", "int"),
        ("title", "text"),
        ("points", "int"),
        ("note", "text"),
    ],
    "label": [("task_id", "int"), ("label", "text"), ("weight", "int")],
    "person_team": [("id", "int"), ("name", "text"), ("team_name", "text"), ("team_id", "int")],
}
JOIN_KEYS = [
    ("person", "team_id", "team", "id"),
    ("person", "manager_id", "person", "id"),
    ("task", "person_id", "person", "id"),
    ("label", "task_id", "task", "id"),
    ("person_team", "id", "person", "id"),
    ("person_team", "team_id", "team", "id"),
]


@dataclass
class Source:
    alias: str
    cols: list[tuple[str, str]]
    table: str | None  # for join keys


class QueryMaker:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.n = 0
        self.windows_ok = False

    def alias(self) -> str:
        self.n += 1
        return f"a{self.n}"

    # --- FROM -----------------------------------------------------------------------
    def base(self) -> tuple[str, Source]:
        r = self.r
        table = r.choice(list(RELATIONS))
        a = self.alias()
        cols = RELATIONS[table]
        kind = r.random()
        if kind < 0.7:
            return f"{table} {a}", Source(a, cols, table)
        picked = r.sample(cols, k=min(len(cols), r.randint(2, 4)))
        if not any(c == "id" for c, _ in picked) and ("id", "int") in cols:
            picked.insert(0, ("id", "int"))
        inner = self.alias()
        where = ""
        if r.random() < 0.5:
            col, _ = r.choice(cols)
            where = f" WHERE {inner}.{col} IS NOT NULL" if r.random() < 0.5 else ""
        sel = ", ".join(f"{inner}.{c}" for c, _ in picked)
        return f"(SELECT {sel} FROM {table} {inner}{where}) {a}", Source(a, picked, table)

    def from_clause(self) -> tuple[str, list[Source]]:
        r = self.r
        sql, first = self.base()
        sources = [first]
        for _ in range(r.randint(0, 2)):
            nxt_sql, nxt = self.base()
            jt = r.choice(
                ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "LEFT JOIN", "CROSS JOIN"]
            )
            if jt == "CROSS JOIN":
                sql = f"{sql} CROSS JOIN {nxt_sql}"
            elif (
                nxt.table == "person_team"
                and any(s.table == "person" for s in sources)
                and any(c == "id" for c, _ in nxt.cols)
                and sum(1 for s in sources for c, _ in s.cols if c == "id") == 1
                and r.random() < 0.5
            ):
                sql = f"{sql} {jt} {nxt_sql} USING (id)"
            else:
                on = self.join_condition(sources, nxt)
                if len(sources) > 1 and r.random() < 0.3:
                    sql = f"({sql}) {jt} {nxt_sql} ON {on}"
                else:
                    sql = f"{sql} {jt} {nxt_sql} ON {on}"
            sources.append(nxt)
        return sql, sources

    def join_condition(self, left: list[Source], right: Source) -> str:
        r = self.r
        options = []
        for src in left:
            for t1, c1, t2, c2 in JOIN_KEYS:
                for a, b, ca, cb in ((src, right, c1, c2), (right, src, c1, c2)):
                    names_a = {c for c, _ in a.cols}
                    names_b = {c for c, _ in b.cols}
                    if a.table == t1 and b.table == t2 and ca in names_a and cb in names_b:
                        options.append(f"{a.alias}.{ca} = {b.alias}.{cb}")
        if not options or r.random() < 0.1:
            return "true"
        cond = r.choice(options)
        if r.random() < 0.2:
            col, _ = r.choice(right.cols)
            cond += f" AND {right.alias}.{col} IS NOT NULL"
        return cond

    # --- expressions ----------------------------------------------------------------
    def col(self, sources: list[Source], typ: str) -> str:
        cands = [(s.alias, c) for s in sources for c, t in s.cols if t == typ]
        if not cands:
            return "1" if typ == "int" else "'x'"
        a, c = self.r.choice(cands)
        return f"{a}.{c}"

    def expr(self, sources: list[Source], typ: str, depth: int = 0) -> str:
        r = self.r
        if depth > 2 or r.random() < 0.35:
            if r.random() < 0.1:
                return ("7" if typ == "int" else "'k'") if r.random() < 0.7 else f"NULL::{typ}"
            return self.col(sources, typ)

        def e() -> str:
            return self.expr(sources, typ, depth + 1)

        choice = r.randint(0, 13)
        if choice == 12:
            if typ == "int":
                return f"task_count({e()}::bigint)"
            return f"{r.choice(['full_label', 'lax_label'])}({e()}, {e()})"
        if choice == 13:
            if typ == "int":
                return f"maybe_half(({e()})::int)"
            return f"first_task_title({self.expr(sources, 'int', depth + 1)}::bigint)"
        if choice == 10 and depth == 0 and self.windows_ok:
            return self.window(sources, typ)
        if choice == 11 and typ == "int":
            return (
                f"(SELECT max(s{depth}.points) FROM task s{depth} WHERE s{depth}.person_id = {e()})"
            )
        if choice == 0:
            return f"coalesce({e()}, {e()})"
        if choice == 1:
            return f"CASE WHEN {self.pred(sources, depth + 1)} THEN {e()} ELSE {e()} END"
        if choice == 2:
            return f"nullif({e()}, {e()})"
        if choice == 3:
            return f"greatest({e()}, {e()})"
        if choice == 4:
            if typ == "int":
                ref = self.col(sources, "int")
                return f"(SELECT count(*) FROM task s{depth} WHERE s{depth}.person_id = {ref})"
            return f"(SELECT s{depth}.name FROM team s{depth} ORDER BY s{depth}.id LIMIT 1)"
        if typ == "int":
            if choice in (5, 6):
                return f"({e()} {r.choice(['+', '-', '*'])} {e()})"
            if choice == 7:
                return f"length({self.expr(sources, 'text', depth + 1)})"
            return f"abs({e()})"
        if choice in (5, 6):
            return f"({e()} || {e()})"
        if choice == 7:
            return f"upper({e()})"
        if choice == 8:
            return f"concat({e()}, {e()})"
        return f"lower({e()})"

    def window(self, sources: list[Source], typ: str) -> str:
        r = self.r
        order = self.col(sources, "int")
        arg = self.expr(sources, typ, 2)
        k = r.randint(0, 5)
        if k == 0:
            return "row_number() OVER ()" if typ == "int" else f"lag({arg}) OVER (ORDER BY {order})"
        if k == 1:
            return f"first_value({arg}) OVER (ORDER BY {order})"
        if k == 2:
            return f"lead({arg}, 1, {arg}) OVER (ORDER BY {order})"
        if k == 3 and typ == "int":
            return f"sum({arg}) OVER (PARTITION BY {order})"
        if k == 4:
            frame = "ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING"
            return f"max({arg}) OVER (ORDER BY {order} {frame})"
        return f"last_value({arg}) OVER (ORDER BY {order})"

    def pred(self, sources: list[Source], depth: int = 0) -> str:
        r = self.r
        k = r.randint(0, 5)
        if k == 0:
            return f"{self.col(sources, r.choice(['int', 'text']))} IS NOT NULL"
        if k == 1:
            return f"{self.expr(sources, 'int', depth + 1)} > {r.randint(-1, 40)}"
        if k == 2:
            return f"({self.pred(sources, depth + 1)} OR {self.pred(sources, depth + 1)})"
        if k == 3:
            return f"{self.col(sources, 'text')} LIKE '%'"
        if k == 4:
            return f"{self.col(sources, 'int')} IN (1, 2, 3)"
        return f"{self.col(sources, 'int')} IS NULL"

    # --- statements -----------------------------------------------------------------
    def query(self) -> str:
        r = self.r
        self.n = 0
        k = r.random()
        if k < 0.1:
            types = [r.choice(["int", "text"]) for _ in range(r.randint(1, 3))]
            op = r.choice(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"])
            return f"{self.plain(types)} {op} {self.plain(types)}"
        if k < 0.2:
            inner = self.plain([r.choice(["int", "text"]) for _ in range(r.randint(1, 3))])
            return f"WITH w AS ({inner}) SELECT * FROM w"
        if k < 0.3:
            return self.dml()
        if k < 0.33:
            agg = r.choice(["count(*)", "max(s.points)", "min(s.note)", "count(s.note)"])
            where = r.choice(["s.person_id = p.id", "s.person_id = p.manager_id", "true"])
            on = r.choice(["true", "w.c0 IS NOT NULL", "true"])
            return (
                f"SELECT p.name, w.* FROM person p LEFT JOIN LATERAL "
                f"(SELECT {agg} AS c0 FROM task s WHERE {where}) w ON {on}"
            )
        if k < 0.35:
            inner = self.plain(["int", "text"])
            return (
                "SELECT p.name, w.* FROM person p "
                f"LEFT JOIN LATERAL ({inner} LIMIT 1) w ON w.c0 = p.id"
            )
        return self.single()

    def dml(self) -> str:
        """DELETE ... USING / UPDATE ... FROM ... RETURNING over a random FROM list."""
        r = self.r
        table = r.choice(["task", "label", "person"])
        target = Source("t0", RELATIONS[table], table)
        from_sql, sources = self.from_clause()
        everyone = [target, *sources]
        cond = self.join_condition(sources, target)
        if r.random() < 0.5:
            cond += " AND " + self.pred(everyone)
        items = [self.expr(everyone, r.choice(["int", "text"])) for _ in range(r.randint(1, 4))]
        returning = ", ".join(f"{x} AS c{i}" for i, x in enumerate(items))
        if table == "label" or r.random() < 0.3:
            return f"DELETE FROM {table} t0 USING {from_sql} WHERE {cond} RETURNING {returning}"
        col, typ = r.choice(
            [c for c in RELATIONS[table] if c[0] not in ("id", "person_id", "task_id")]
        )
        value = self.expr(everyone, typ)
        return (
            f"UPDATE {table} t0 SET {col} = {value} FROM {from_sql} WHERE {cond} "
            f"RETURNING {returning}"
        )

    def plain(self, types: list[str]) -> str:
        from_sql, sources = self.from_clause()
        where = ""
        if self.r.random() < 0.5:
            where = " WHERE " + self.pred(sources)
        items = [self.expr(sources, t) for t in types]
        targets = ", ".join(f"{x} AS c{i}" for i, x in enumerate(items))
        return f"SELECT {targets} FROM {from_sql}{where}"

    def single(self) -> str:
        r = self.r
        from_sql, sources = self.from_clause()
        where = ""
        if r.random() < 0.5:
            where = " WHERE " + " AND ".join(self.pred(sources) for _ in range(r.randint(1, 2)))
        mode = r.random()
        if mode < 0.6:
            self.windows_ok = True
            items = [self.expr(sources, r.choice(["int", "text"])) for _ in range(r.randint(2, 5))]
            self.windows_ok = False
            targets = ", ".join(f"{x} AS c{i}" for i, x in enumerate(items))
            if r.random() < 0.1:
                targets = "*"
            return f"SELECT {targets} FROM {from_sql}{where}"
        groups = [self.col(sources, r.choice(["int", "text"])) for _ in range(r.randint(0, 2))]
        aggs = []
        for _ in range(r.randint(1, 3)):
            fn = r.choice(["count", "sum", "max", "min", "array_agg", "string_agg", "bool_and"])
            if fn == "sum":
                aggs.append(f"sum({self.expr(sources, 'int')})")
            elif fn == "string_agg":
                aggs.append(f"string_agg({self.expr(sources, 'text')}, ',')")
            elif fn == "bool_and":
                aggs.append(f"bool_and({self.pred(sources)})")
            elif fn == "count" and r.random() < 0.5:
                aggs.append("count(*)")
            else:
                typ = r.choice(["int", "text"])
                filt = f" FILTER (WHERE {self.pred(sources)})" if r.random() < 0.2 else ""
                aggs.append(f"{fn}({self.expr(sources, typ)}){filt}")
        items = groups + aggs
        targets = ", ".join(f"{x} AS c{i}" for i, x in enumerate(items))
        group = ""
        if groups:
            group = " GROUP BY " + (
                f"ROLLUP ({', '.join(groups)})" if r.random() < 0.2 else ", ".join(groups)
            )
        return f"SELECT {targets} FROM {from_sql}{where}{group}"


def make_queries(seed: int, count: int) -> list[str]:
    maker = QueryMaker(seed)
    return [maker.query() for _ in range(count)]
