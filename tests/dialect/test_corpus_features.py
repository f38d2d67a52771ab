"""The SQL a large real project uses generates cleanly, type-checks and runs."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.dialect.harness import Generated, database_with, generate, write_project

SCHEMA = """
CREATE TYPE job_state AS ENUM ('queued', 'running', 'done');
CREATE TABLE project (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE,
    settings jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE job (
    id bigserial PRIMARY KEY,
    project_id uuid NOT NULL REFERENCES project (id),
    state job_state NOT NULL DEFAULT 'queued',
    priority int NOT NULL DEFAULT 0,
    payload jsonb NOT NULL DEFAULT '{}',
    labels text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

QUERIES = """
-- name: UpsertProject :one
INSERT INTO project (name, settings) VALUES (@name, @settings)
ON CONFLICT (name) DO UPDATE SET settings = project.settings || EXCLUDED.settings
RETURNING id, settings;

-- name: EnqueueMany :many
INSERT INTO job (project_id, priority, labels)
SELECT @project_id, p, ARRAY[l]
FROM unnest(@priorities::int[], @labels::text[]) AS u(p, l)
RETURNING id;

-- name: ClaimJob :one
WITH next AS (
    SELECT id FROM job
    WHERE state = 'queued' AND project_id = ANY(@project_ids::uuid[])
    ORDER BY priority DESC, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE job SET state = 'running' FROM next WHERE job.id = next.id
RETURNING job.id, job.priority;

-- name: TopJobPerProject :many
SELECT DISTINCT ON (project_id) project_id, id, priority
FROM job ORDER BY project_id, priority DESC, id;

-- name: RankedJobs :many
SELECT id, rank() OVER (PARTITION BY project_id ORDER BY priority DESC) AS rnk,
       count(*) OVER () AS total
FROM job WHERE project_id = $1 ORDER BY id;

-- name: LatestJobs :many
SELECT p.name, j.id AS job_id, j.payload ->> 'kind' AS kind
FROM project p
LEFT JOIN LATERAL (
    SELECT id, payload FROM job WHERE job.project_id = p.id ORDER BY id DESC LIMIT $1
) j ON true
WHERE p.name = @name
ORDER BY j.id;

-- name: JobsWithPayload :many
SELECT id, payload -> 'meta' AS meta FROM job
WHERE payload @> @filter AND payload ? 'kind' AND labels && $1::text[]
ORDER BY id;

-- name: SetPayloadKey :execrows
UPDATE job SET payload = jsonb_set(payload, ARRAY[@key::text], to_jsonb(@value::text))
WHERE id = $1;
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Generated:
    root = tmp_path_factory.mktemp("corpus")
    write_project(root, schema={"s.sql": SCHEMA}, queries={"jobs.sql": QUERIES}, package="corppkg")
    return generate(root, pg_server, "corppkg")


def test_generated_code_is_clean(corpus: Generated) -> None:
    corpus.ruff()
    corpus.mypy()


def test_corpus_queries_run(corpus: Generated, pg_server: str) -> None:
    q = corpus.module("queries.jobs")
    m = corpus.module("models")
    with (
        database_with(pg_server, [corpus.root.parent / "schema"]) as url,
        psycopg.connect(url) as conn,
    ):
        p = q.upsert_project(conn, name="p", settings={"a": 1})
        again = q.upsert_project(conn, name="p", settings={"b": 2})
        assert again.id == p.id and again.settings == {"a": 1, "b": 2}
        ids = q.enqueue_many(conn, project_id=p.id, priorities=[1, 5, 3], labels=["x", "y", "z"])
        assert len(ids) == 3
        claimed = q.claim_job(conn, project_ids=[p.id, uuid.uuid4()])
        assert claimed is not None and claimed.priority == 5
        assert q.claim_job(conn, project_ids=[uuid.uuid4()]) is None
        [top] = q.top_job_per_project(conn)
        assert (top.project_id, top.priority) == (p.id, 5)
        ranked = q.ranked_jobs(conn, project_id=p.id)
        assert [(r.rnk, r.total) for r in ranked] == [(3, 3), (1, 3), (2, 3)]
        assert q.set_payload_key(conn, key="kind", value="build", id=ids[0]) == 1
        latest = q.latest_jobs(conn, limit=2, name="p")
        assert [(r.job_id, r.kind) for r in latest] == [(ids[1], None), (ids[2], None)]
        hits = q.jobs_with_payload(conn, filter={"kind": "build"}, labels=["x"])
        assert [(h.id, h.meta) for h in hits] == [(ids[0], None)]
        assert m.JobState("running") is m.JobState.RUNNING


Conn = psycopg.Connection[Any]
