"""Write a synthetic sqlc project at the scale of a real one into ``benches/corpus/``.

Why synthetic: the generator's speed and the dialect's coverage have to be
measured on something as large and as varied as a production sqlc project
(878 queries in 54 files over 432 golang-migrate migrations), and the result
must be reproducible on any machine, so everything is drawn from a seeded RNG.

The mix follows the real project: ~440 SELECT, 230 UPDATE, 110 DELETE, ~100
INSERT; 231 queries with ``::`` casts, 209 ``RETURNING *``, 76 CTEs (9
recursive), 54 ``= ANY(...)``, LATERAL, DISTINCT ON, window functions, JSONB
operators, ``unnest``, ``FOR UPDATE SKIP LOCKED``, ``ON CONFLICT DO UPDATE``,
101 queries mixing ``$N`` with named parameters, extensions pgcrypto and pg_trgm.

Usage: ``python benches/make_corpus.py [--out DIR] [--seed N]``; prints the counts.
"""

from __future__ import annotations

import argparse
import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "corpus"
SEED = 20240611
N_MIGRATIONS = 432
N_FILES = 54

# (template, count). Counts are the real project's mix; see the module docstring.
PLAN: list[tuple[str, int]] = [
    # SELECT: 440
    ("sel_get", 60),
    ("sel_get_ws", 30),
    ("sel_list", 60),
    ("sel_count", 30),
    ("sel_any", 40),
    ("sel_any_name", 14),
    ("sel_cte", 35),
    ("sel_rcte", 9),
    ("sel_lateral", 15),
    ("sel_distinct_on", 15),
    ("sel_window", 20),
    ("sel_jsonb", 20),
    ("sel_unnest", 12),
    ("sel_skip_locked", 15),
    ("sel_trgm", 10),
    ("sel_join", 20),
    ("sel_search", 20),
    ("sel_agg", 15),
    # UPDATE: 230
    ("upd_name", 60),
    ("upd_status", 40),
    ("upd_meta", 30),
    ("upd_archive", 30),
    ("upd_score", 25),
    ("upd_partial", 25),
    ("upd_cte", 20),
    # DELETE: 110
    ("del_one", 40),
    ("del_ret", 38),
    ("del_old", 20),
    ("del_cte", 12),
    # INSERT: 98
    ("ins_ret", 50),
    ("ins_exec", 18),
    ("ins_upsert", 20),
    ("ins_select", 10),
]
N_CASTS = 231
N_MIXED = 101
N_RETURNING_STAR = 209
INS_RET_WITHOUT_STAR = (
    50 + 20 + 60 + 30 + 38 + 25 - N_RETURNING_STAR
)  # ins_ret rows that list columns
# Templates whose first parameter is a uuid that may be written ``$1::uuid``.
CASTABLE = {
    "sel_get",
    "sel_get_ws",
    "sel_list",
    "sel_count",
    "sel_cte",
    "sel_rcte",
    "sel_join",
    "sel_search",
    "sel_agg",
    "sel_window",
    "upd_name",
    "upd_status",
    "upd_archive",
    "upd_score",
    "del_one",
    "del_ret",
    "del_cte",
    "ins_ret",
    "ins_exec",
    "ins_select",
}
# Templates with a second parameter that can become ``@name`` / ``sqlc.arg`` / ``sqlc.narg``.
MIXABLE = {
    "sel_get_ws",
    "sel_list",
    "sel_count",
    "sel_any_name",
    "sel_cte",
    "sel_jsonb",
    "sel_skip_locked",
    "sel_search",
    "upd_name",
    "upd_status",
    "upd_meta",
    "upd_archive",
    "upd_score",
    "del_ret",
    "del_cte",
    "ins_ret",
    "ins_exec",
    "ins_upsert",
}

NOUNS = [
    "project", "issue", "comment", "label", "milestone", "document", "page", "attachment",
    "webhook", "integration", "pipeline", "job", "artifact", "release", "deployment",
    "environment", "secret", "token", "invite", "team", "channel", "message", "reaction",
    "notification", "subscription", "invoice", "payment", "plan", "coupon", "report",
    "dashboard", "widget", "query_run", "dataset", "model_run", "prompt", "completion",
    "agent", "skill", "tool_call", "memory", "session", "device", "audit_entry", "feature_flag",
    "experiment", "survey", "response", "ticket", "sla_policy", "schedule", "shift",
    "checklist", "task_item",
]  # fmt: skip
ENUMS = {
    "item_status": ["active", "paused", "done", "failed"],
    "visibility": ["private", "team", "public"],
    "priority": ["low", "medium", "high", "urgent"],
    "delivery_state": ["queued", "sending", "sent", "bounced"],
    "run_state": ["pending", "running", "succeeded", "failed", "cancelled"],
    "review_state": ["draft", "in_review", "approved", "rejected"],
    "billing_cycle": ["monthly", "yearly"],
    "member_role": ["owner", "admin", "member", "guest"],
}
EXTRA_TYPES = [
    ("text", None),
    ("integer", None),
    ("bigint", None),
    ("boolean NOT NULL DEFAULT false", None),
    ("timestamptz", None),
    ("numeric(12,2)", None),
    ("text[] NOT NULL DEFAULT '{}'", None),
    ("jsonb", None),
    ("uuid", None),
    ("double precision", None),
]
EXTRA_NAMES = [
    "summary", "external_ref", "color", "weight", "attempts", "size_bytes", "is_pinned",
    "due_at", "amount", "tags", "settings", "owner_ref", "ratio", "locale", "checksum",
    "retries", "is_locked", "closed_at", "cost", "aliases", "config", "source_ref", "ema",
    "timezone", "digest", "version_no", "is_hidden", "started_at", "budget", "keywords",
]  # fmt: skip


@dataclass
class Table:
    name: str
    status_type: str  # an enum name or "text"
    extras: list[str] = field(default_factory=list)  # columns added by later migrations


@dataclass
class Query:
    name: str
    cmd: str
    sql: str
    template: str


# --- migrations ------------------------------------------------------------------------------


def _migrations(
    rng: random.Random, tables: list[Table], extensions: bool
) -> list[tuple[str, str, str]]:
    """(name, up, down) in order: extensions, base tables, enums, tables, then alterations."""
    migs: list[tuple[str, str, str]] = [
        (
            "extensions",
            "CREATE EXTENSION IF NOT EXISTS pgcrypto;\nCREATE EXTENSION IF NOT EXISTS pg_trgm;\n"
            if extensions
            else "CREATE SCHEMA IF NOT EXISTS extensions;\n",
            "DROP EXTENSION IF EXISTS pg_trgm;\nDROP EXTENSION IF EXISTS pgcrypto;\n"
            if extensions
            else "DROP SCHEMA extensions;\n",
        ),
        (
            "users_and_workspaces",
            "CREATE TABLE users (\n"
            "    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
            "    email text NOT NULL UNIQUE,\n"
            "    name text NOT NULL,\n"
            "    created_at timestamptz NOT NULL DEFAULT now()\n);\n\n"
            "CREATE TABLE workspace (\n"
            "    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
            "    name text NOT NULL,\n"
            "    slug text NOT NULL UNIQUE,\n"
            "    owner_id uuid NOT NULL REFERENCES users(id),\n"
            "    settings jsonb NOT NULL DEFAULT '{}',\n"
            "    created_at timestamptz NOT NULL DEFAULT now()\n);\n",
            "DROP TABLE workspace;\nDROP TABLE users;\n",
        ),
    ]
    for enum, labels in ENUMS.items():
        values = ", ".join(f"'{v}'" for v in labels)
        migs.append(
            (f"create_{enum}", f"CREATE TYPE {enum} AS ENUM ({values});\n", f"DROP TYPE {enum};\n")
        )
    for t in tables:
        default = "'active'" if t.status_type in ("text", "item_status") else None
        if default is None:
            default = f"'{ENUMS[t.status_type][0]}'"
        up = (
            f"CREATE TABLE {t.name} (\n"
            "    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
            "    workspace_id uuid NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,\n"
            f"    parent_id uuid REFERENCES {t.name}(id) ON DELETE SET NULL,\n"
            "    name text NOT NULL,\n"
            f"    status {t.status_type} NOT NULL DEFAULT {default},\n"
            "    metadata jsonb NOT NULL DEFAULT '{}',\n"
            "    position integer NOT NULL DEFAULT 0,\n"
            "    score double precision,\n"
            "    created_at timestamptz NOT NULL DEFAULT now(),\n"
            "    updated_at timestamptz NOT NULL DEFAULT now(),\n"
            "    archived_at timestamptz\n"
            ");\n\n"
            f"CREATE UNIQUE INDEX {t.name}_workspace_name_key ON {t.name} (workspace_id, name);\n"
        )
        migs.append((f"create_{t.name}", up, f"DROP TABLE {t.name};\n"))

    ops: list[tuple[str, str, str]] = []
    for t in tables:
        names = rng.sample(EXTRA_NAMES, rng.randint(3, 6))
        for col in names:
            typ = rng.choice(EXTRA_TYPES)[0]
            ops.append(
                (
                    f"add_{t.name}_{col}",
                    f"ALTER TABLE {t.name} ADD COLUMN {col} {typ};\n",
                    f"ALTER TABLE {t.name} DROP COLUMN {col};\n",
                )
            )
            t.extras.append(col)
    index_kinds = ["status", "created_at", "parent_id", "trgm", "metadata", "updated_at"]
    while len(migs) + len(ops) < N_MIGRATIONS - 12:
        t = rng.choice(tables)
        kind = rng.choice(index_kinds)
        idx = f"{t.name}_{kind}_idx_{len(ops)}"
        if kind == "trgm" and extensions:
            body = f"{t.name} USING gin (name gin_trgm_ops)"
        elif kind == "trgm":
            body = f"{t.name} (name text_pattern_ops)"
        elif kind == "metadata":
            body = f"{t.name} USING gin (metadata jsonb_path_ops)"
        elif kind == "status":
            body = f"{t.name} (workspace_id, status) WHERE archived_at IS NULL"
        else:
            body = f"{t.name} ({kind})"
        ops.append((f"index_{idx}", f"CREATE INDEX {idx} ON {body};\n", f"DROP INDEX {idx};\n"))
    rng.shuffle(ops)
    # Keep each table's ADD COLUMNs in the order they were drawn (only cosmetic).
    migs.extend(ops)
    for t in tables[:6]:
        migs.append(
            (
                f"view_active_{t.name}",
                f"CREATE VIEW active_{t.name} AS\n"
                f"    SELECT id, workspace_id, name, status, created_at\n"
                f"    FROM {t.name} WHERE archived_at IS NULL;\n",
                f"DROP VIEW active_{t.name};\n",
            )
        )
    for t in tables[6:12]:
        migs.append(
            (
                f"check_{t.name}_position",
                f"ALTER TABLE {t.name} ADD CONSTRAINT {t.name}_position_check "
                "CHECK (position >= 0);\n"
                f"COMMENT ON TABLE {t.name} IS 'synthetic {t.name} rows';\n",
                f"ALTER TABLE {t.name} DROP CONSTRAINT {t.name}_position_check;\n",
            )
        )
    assert len(migs) == N_MIGRATIONS, len(migs)
    return migs


# --- queries ---------------------------------------------------------------------------------


class Params:
    """Renders parameter references: ``$N``, or named forms when the query is 'mixed'."""

    def __init__(
        self, rng: random.Random, mixed: bool, cast_first: bool, extensions: bool = True
    ) -> None:
        self.extensions = extensions
        self.rng = rng
        self.mixed = mixed
        self.cast_first = cast_first
        self.style: dict[str, str] = {}

    def p(self, n: int, name: str, cast: str | None = None) -> str:
        if n == 1 and cast is None and self.cast_first:
            cast = "uuid"
        suffix = f"::{cast}" if cast else ""
        if not self.mixed or n == 1:
            return f"${n}{suffix}"
        style = self.style.setdefault(name, self.rng.choice(["at", "arg", "narg", "at"]))
        if style == "at":
            return f"@{name}{suffix}"
        return f"sqlc.{style}({name}){suffix}"


def _camel(s: str) -> str:
    return "".join(w.capitalize() for w in s.split("_"))


def _queries_for(
    t: Table, template: str, p: Params, rng: random.Random, variant: int
) -> tuple[str, str, str]:
    """(name stem, command, SQL) of one query."""
    n, C = t.name, _camel(t.name)
    first_extra = t.extras[0] if t.extras else "name"
    if template == "sel_get":
        return f"Get{C}", "one", f"SELECT * FROM {n}\nWHERE id = {p.p(1, 'id')};"
    if template == "sel_get_ws":
        return (
            f"Get{C}InWorkspace",
            "one",
            f"SELECT * FROM {n}\n"
            f"WHERE id = {p.p(1, 'id')} AND workspace_id = {p.p(2, 'workspace_id')};",
        )
    if template == "sel_list":
        return (
            f"List{C}s",
            "many",
            f"SELECT * FROM {n}\n"
            f"WHERE workspace_id = {p.p(1, 'workspace_id')} AND archived_at IS NULL\n"
            "ORDER BY created_at DESC\n"
            f"LIMIT {p.p(2, 'page_size')} OFFSET {p.p(3, 'page_offset')};",
        )
    if template == "sel_count":
        return (
            f"Count{C}sByStatus",
            "one",
            f"SELECT count(*) FROM {n}\n"
            f"WHERE workspace_id = {p.p(1, 'workspace_id')} AND status = {p.p(2, 'status')};",
        )
    if template == "sel_any":
        return (
            f"Get{C}sByIDs",
            "many",
            f"SELECT * FROM {n}\nWHERE id = ANY($1::uuid[])\nORDER BY created_at;",
        )
    if template == "sel_any_name":
        return (
            f"Find{C}sByNames",
            "many",
            f"SELECT id, name, status FROM {n}\n"
            f"WHERE workspace_id = {p.p(1, 'workspace_id')} "
            f"AND name = ANY({p.p(2, 'names', 'text[]')});",
        )
    if template == "sel_cte":
        return (
            f"Recent{C}s",
            "many",
            f"WITH recent AS (\n"
            f"    SELECT s.id FROM {n} s\n"
            f"    WHERE s.workspace_id = {p.p(1, 'workspace_id')}\n"
            f"    ORDER BY s.created_at DESC\n"
            f"    LIMIT {p.p(2, 'recent_limit')}\n"
            f")\n"
            f"SELECT t.* FROM {n} t JOIN recent r ON r.id = t.id\n"
            "ORDER BY t.created_at DESC;",
        )
    if template == "sel_rcte":
        return (
            f"{C}Descendants",
            "many",
            f"WITH RECURSIVE tree AS (\n"
            f"    SELECT r.id, r.parent_id, r.name, 1 AS depth\n"
            f"    FROM {n} r WHERE r.id = {p.p(1, 'id')}\n"
            f"    UNION ALL\n"
            f"    SELECT c.id, c.parent_id, c.name, tree.depth + 1\n"
            f"    FROM {n} c JOIN tree ON c.parent_id = tree.id\n"
            f"    WHERE tree.depth < 20\n"
            f")\n"
            "SELECT id, parent_id, name, depth FROM tree ORDER BY depth, name;",
        )
    if template == "sel_lateral":
        return (
            f"Latest{C}PerWorkspace",
            "many",
            f"SELECT w.id AS workspace_id, w.name AS workspace_name, x.id, x.name, x.created_at\n"
            f"FROM workspace w\n"
            f"CROSS JOIN LATERAL (\n"
            f"    SELECT id, name, created_at FROM {n}\n"
            f"    WHERE {n}.workspace_id = w.id\n"
            f"    ORDER BY created_at DESC LIMIT 3\n"
            f") x\n"
            f"WHERE w.owner_id = {p.p(1, 'owner_id')}\n"
            "ORDER BY w.name, x.created_at DESC;",
        )
    if template == "sel_distinct_on":
        return (
            f"Newest{C}PerWorkspace",
            "many",
            f"SELECT DISTINCT ON (workspace_id) id, workspace_id, name, created_at\n"
            f"FROM {n}\nWHERE status = {p.p(1, 'status')}\n"
            "ORDER BY workspace_id, created_at DESC;",
        )
    if template == "sel_window":
        return (
            f"Rank{C}s",
            "many",
            f"SELECT id, name, score,\n"
            f"    row_number() OVER (PARTITION BY status ORDER BY score DESC NULLS LAST) AS rank,\n"
            f"    count(*) OVER (PARTITION BY status) AS in_status\n"
            f"FROM {n}\nWHERE workspace_id = {p.p(1, 'workspace_id')};",
        )
    if template == "sel_jsonb":
        return (
            f"{C}sWithMetadata",
            "many",
            f"SELECT id, name, metadata -> 'labels' AS labels, metadata ->> 'kind' AS kind\n"
            f"FROM {n}\n"
            f"WHERE workspace_id = {p.p(1, 'workspace_id')} "
            f"AND metadata @> {p.p(2, 'filter')};",
        )
    if template == "sel_unnest":
        return (
            f"{C}sInList",
            "many",
            f"SELECT * FROM {n}\nWHERE id IN (SELECT unnest($1::uuid[]));",
        )
    if template == "sel_skip_locked":
        return (
            f"Claim{C}s",
            "many",
            f"SELECT * FROM {n}\n"
            f"WHERE status = {p.p(1, 'status')} AND archived_at IS NULL\n"
            f"ORDER BY created_at\nLIMIT {p.p(2, 'batch_size')}\nFOR UPDATE SKIP LOCKED;",
        )
    if template == "sel_trgm" and not p.extensions:  # same shape without pg_trgm
        return (
            f"Fuzzy{C}s",
            "many",
            f"SELECT id, name, strpos(name, $1) AS sim\nFROM {n}\n"
            f"WHERE workspace_id = $2 AND name LIKE '%' || $1 || '%'\nORDER BY sim DESC\n"
            "LIMIT 20;",
        )
    if template == "sel_trgm":
        return (
            f"Fuzzy{C}s",
            "many",
            f"SELECT id, name, similarity(name, $1) AS sim\nFROM {n}\n"
            f"WHERE workspace_id = $2 AND name % $1\nORDER BY sim DESC\nLIMIT 20;",
        )
    if template == "sel_join":
        return (
            f"Get{C}WithWorkspace",
            "one",
            f"SELECT t.id, t.name, t.status, w.name AS workspace_name, w.slug\n"
            f"FROM {n} t JOIN workspace w ON w.id = t.workspace_id\n"
            f"WHERE t.id = {p.p(1, 'id')};",
        )
    if template == "sel_search":
        return (
            f"Search{C}s",
            "many",
            f"SELECT * FROM {n}\n"
            f"WHERE workspace_id = {p.p(1, 'workspace_id')} "
            f"AND name ILIKE '%' || {p.p(2, 'pattern')} || '%'\n"
            "ORDER BY name\nLIMIT 50;",
        )
    if template == "sel_agg":
        return (
            f"{C}StatusCounts",
            "many",
            f"SELECT status, count(*) AS total, max(updated_at) AS last_update\n"
            f"FROM {n}\nWHERE workspace_id = {p.p(1, 'workspace_id')}\n"
            "GROUP BY status\nORDER BY status;",
        )
    if template == "upd_name":
        return (
            f"Rename{C}",
            "one",
            f"UPDATE {n}\nSET name = {p.p(2, 'name')}, updated_at = now()\n"
            f"WHERE id = {p.p(1, 'id')}\nRETURNING *;",
        )
    if template == "upd_status":
        return (
            f"Set{C}Status",
            "exec",
            f"UPDATE {n}\nSET status = {p.p(2, 'status')}, updated_at = now()\n"
            f"WHERE id = {p.p(1, 'id')};",
        )
    if template == "upd_meta":
        return (
            f"Merge{C}Metadata",
            "one",
            f"UPDATE {n}\nSET metadata = metadata || {p.p(2, 'patch', 'jsonb')}, "
            f"updated_at = now()\nWHERE id = {p.p(1, 'id')}\nRETURNING *;",
        )
    if template == "upd_archive":
        return (
            f"Archive{C}s",
            "execrows",
            f"UPDATE {n}\nSET archived_at = now()\n"
            f"WHERE workspace_id = {p.p(1, 'workspace_id')} AND archived_at IS NULL\n"
            f"AND updated_at < {p.p(2, 'updated_before')};",
        )
    if template == "upd_score":
        return (
            f"Bump{C}Score",
            "one",
            f"UPDATE {n}\nSET score = coalesce(score, 0) + {p.p(2, 'delta')}\n"
            f"WHERE id = {p.p(1, 'id')}\nRETURNING id, score;",
        )
    if template == "upd_partial":
        return (
            f"Patch{C}",
            "one",
            f"UPDATE {n}\nSET name = coalesce(sqlc.narg(name), name),\n"
            f"    position = coalesce(sqlc.narg(position), position),\n"
            f"    updated_at = now()\n"
            f"WHERE id = sqlc.arg(id)\nRETURNING *;",
        )
    if template == "upd_cte":
        return (
            f"Expire{C}s",
            "many",
            f"WITH stale AS (\n"
            f"    SELECT s.id FROM {n} s\n"
            f"    WHERE s.status = $1 AND s.updated_at < now() - interval '30 days'\n"
            f"    LIMIT 500\n"
            f")\n"
            f"UPDATE {n} t SET archived_at = now()\nFROM stale\nWHERE t.id = stale.id\n"
            "RETURNING t.id, t.workspace_id;",
        )
    if template == "del_one":
        return f"Delete{C}", "exec", f"DELETE FROM {n}\nWHERE id = {p.p(1, 'id')};"
    if template == "del_ret":
        return (
            f"Remove{C}",
            "one",
            f"DELETE FROM {n}\n"
            f"WHERE id = {p.p(1, 'id')} AND workspace_id = {p.p(2, 'workspace_id')}\n"
            "RETURNING *;",
        )
    if template == "del_old":
        return (
            f"Purge{C}s",
            "execrows",
            f"DELETE FROM {n}\nWHERE archived_at < $1;",
        )
    if template == "del_cte":
        return (
            f"Prune{C}s",
            "many",
            f"WITH doomed AS (\n"
            f"    SELECT s.id FROM {n} s\n"
            f"    WHERE s.workspace_id = {p.p(1, 'workspace_id')}\n"
            f"    AND s.status = {p.p(2, 'status')}\n"
            f"    LIMIT 100\n"
            f")\n"
            f"DELETE FROM {n} t USING doomed\nWHERE t.id = doomed.id\nRETURNING t.id;",
        )
    cols = (
        "workspace_id, name, status, metadata, position",
        f"{p.p(1, 'workspace_id')}, {p.p(2, 'name')}, {p.p(3, 'status')}, "
        f"{p.p(4, 'metadata')}, {p.p(5, 'position')}",
    )
    if template == "ins_ret":
        returning = "id, created_at" if variant < INS_RET_WITHOUT_STAR else "*"
        return (
            f"Create{C}",
            "one",
            f"INSERT INTO {n} ({cols[0]})\nVALUES ({cols[1]})\nRETURNING {returning};",
        )
    if template == "ins_exec":
        return f"Insert{C}", "exec", f"INSERT INTO {n} ({cols[0]})\nVALUES ({cols[1]});"
    if template == "ins_upsert":
        return (
            f"Upsert{C}",
            "one",
            f"INSERT INTO {n} ({cols[0]})\nVALUES ({cols[1]})\n"
            "ON CONFLICT (workspace_id, name) DO UPDATE\n"
            "SET status = EXCLUDED.status, metadata = EXCLUDED.metadata, updated_at = now()\n"
            "RETURNING *;",
        )
    if template == "ins_select":
        return (
            f"Copy{C}s",
            "execrows",
            f"INSERT INTO {n} (workspace_id, name, status, {first_extra})\n"
            f"SELECT $2, src.name, src.status, src.{first_extra} FROM {n} src\n"
            f"WHERE src.workspace_id = {p.p(1, 'workspace_id')}\n"
            "ON CONFLICT (workspace_id, name) DO NOTHING;",
        )
    raise AssertionError(template)


def _plan(rng: random.Random) -> list[tuple[str, bool, bool, int]]:
    """(template, cast_first, mixed, variant) for every query, exactly matching the targets."""
    slots: list[tuple[str, int]] = []
    for template, count in PLAN:
        slots.extend((template, i) for i in range(count))
    inherent_casts = sum(
        c for t, c in PLAN if t in ("sel_any", "sel_any_name", "sel_unnest", "upd_meta")
    )
    castable = [i for i, (t, _) in enumerate(slots) if t in CASTABLE]
    mixable = [i for i, (t, _) in enumerate(slots) if t in MIXABLE]
    cast_set = set(rng.sample(castable, N_CASTS - inherent_casts))
    mixed_set = set(rng.sample(mixable, N_MIXED))
    return [(t, i in cast_set, i in mixed_set, v) for i, (t, v) in enumerate(slots)]


def build(out: Path, seed: int = SEED, extensions: bool = True) -> dict[str, int]:
    """Write the corpus; ``extensions=False`` swaps pgcrypto/pg_trgm for built-ins.

    The variant exists for servers without contrib extensions, so the embedded
    path can be measured on the same scale as before it had them.
    """
    rng = random.Random(seed)
    statuses = ["text", *ENUMS]
    tables = [Table(noun, rng.choice(statuses)) for noun in NOUNS[:N_FILES]]
    migrations = _migrations(rng, tables, extensions)

    plan = _plan(rng)
    rng.shuffle(plan)
    per_file: list[list[Query]] = [[] for _ in tables]
    used: Counter[str] = Counter()
    for i, (template, cast_first, mixed, variant) in enumerate(plan):
        f = i % len(tables)
        t = tables[f]
        stem, cmd, sql = _queries_for(
            t, template, Params(rng, mixed, cast_first, extensions), rng, variant
        )
        used[stem] += 1
        name = stem if used[stem] == 1 else f"{stem}V{used[stem]}"
        per_file[f].append(Query(name, cmd, sql, template))

    for sub in ("migrations", "queries", "go", "py", ".multica-db"):  # keep out/noext
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "migrations").mkdir(parents=True)
    (out / "queries").mkdir()
    for i, (name, up, down) in enumerate(migrations, start=1):
        (out / "migrations" / f"{i:03d}_{name}.up.sql").write_text(up)
        (out / "migrations" / f"{i:03d}_{name}.down.sql").write_text(down)
    for t, queries in zip(tables, per_file, strict=True):
        text = "\n".join(f"-- name: {q.name} :{q.cmd}\n{q.sql}\n" for q in queries)
        (out / "queries" / f"{t.name}.sql").write_text(text)
    (out / "sqlc.yaml").write_text(
        'version: "2"\n'
        "sql:\n"
        "  - engine: postgresql\n"
        "    schema: migrations\n"
        "    queries: queries\n"
        "    gen:\n"
        "      go:\n"
        "        package: corpusdb\n"
        "        out: go/corpusdb\n"
        "        sql_package: pgx/v5\n"
    )
    # multica-db reads [tool.multica-db] from the nearest pyproject: give the corpus its own,
    # so the repository's settings (renames, overrides) never leak into the benchmark.
    (out / "pyproject.toml").write_text(
        '[tool.multica-db]\nout = "py/corpus_db"\npackage = "corpus_db"\n'
    )
    return stats(out)


def stats(out: Path) -> dict[str, int]:
    """Counts over the written files, so the numbers describe what is on disk."""
    c: Counter[str] = Counter()
    c["migrations"] = len(list((out / "migrations").glob("*.up.sql")))
    files = sorted((out / "queries").glob("*.sql"))
    c["files"] = len(files)
    for f in files:
        for block in f.read_text().split("-- name: ")[1:]:
            sql = block.split("\n", 1)[1]
            head = sql.lstrip().split(None, 1)[0].upper()
            c["queries"] += 1
            body = sql.upper()
            if head == "WITH":
                c["cte"] += 1
                c["recursive"] += "WITH RECURSIVE" in body
                for kind in ("UPDATE", "DELETE", "INSERT"):
                    if f"\n{kind} " in body:
                        head = kind
                        break
                else:
                    head = "SELECT"
            c[head.lower()] += 1
            c["casts"] += "::" in sql
            c["returning_star"] += "RETURNING *" in body
            c["any"] += "= ANY(" in body
            c["lateral"] += "LATERAL" in body
            c["distinct_on"] += "DISTINCT ON" in body
            c["window"] += " OVER (" in body
            c["jsonb_ops"] += "->" in sql or "@>" in sql
            c["unnest"] += "UNNEST(" in body
            c["skip_locked"] += "SKIP LOCKED" in body
            c["on_conflict_update"] += "DO UPDATE" in body
            c["mixed_params"] += "$1" in sql and ("@" in sql.replace("@>", "") or "sqlc." in sql)
    return dict(c)


CHECKS: dict[str, Callable[[int], bool]] = {
    "migrations": lambda v: v == 432,
    "files": lambda v: v == 54,
    "queries": lambda v: v == 878,
    "casts": lambda v: v == 231,
    "returning_star": lambda v: v == 209,
    "cte": lambda v: v == 76,
    "recursive": lambda v: v == 9,
    "any": lambda v: v == 54,
    "mixed_params": lambda v: v == 101,
}


def main(argv: list[str] | None = None) -> dict[str, int]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument(
        "--no-extensions",
        action="store_true",
        help="use built-ins instead of pgcrypto/pg_trgm (for the embedded server)",
    )
    args = ap.parse_args(argv)
    counts = build(args.out, args.seed, extensions=not args.no_extensions)
    bad = {k: counts.get(k, 0) for k, ok in CHECKS.items() if not ok(counts.get(k, 0))}
    print("corpus:", args.out)
    print("  " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if bad:
        raise SystemExit(f"corpus does not match the target mix: {bad}")
    return counts


if __name__ == "__main__":
    main()
