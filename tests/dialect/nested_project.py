"""The project the nested-shape tests generate: embeds of every kind, JSON aggregates, jsonb
columns typed as the user's models."""

from __future__ import annotations

SCHEMA = """
CREATE TYPE post_state AS ENUM ('draft', 'published');
CREATE TYPE point2 AS (x double precision, y double precision);

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    uid uuid NOT NULL DEFAULT gen_random_uuid(),
    joined_at timestamptz NOT NULL DEFAULT now(),
    manager_id bigint REFERENCES users (id),
    settings jsonb
);

CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    title text NOT NULL,
    state post_state NOT NULL DEFAULT 'draft',
    score numeric(12, 4),
    ratio double precision,
    tags text[] NOT NULL DEFAULT '{}',
    grid int[][],
    created_at timestamptz NOT NULL DEFAULT now(),
    day date,
    at_time time,
    payload bytea,
    wait interval,
    spot point2,
    extra jsonb
);

CREATE TABLE comments (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id),
    body text NOT NULL,
    votes integer,
    amount numeric(20, 6),
    at timestamptz NOT NULL DEFAULT now(),
    mood post_state,
    labels text[]
);

CREATE TABLE families (
    id bigserial PRIMARY KEY,
    i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, n numeric,
    b boolean, t text, u uuid, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz,
    iv interval, by bytea, j jsonb, ta text[], ia integer[][], e post_state,
    es post_state[], r int4range
);

CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    done boolean NOT NULL DEFAULT false,
    "from" text
);
"""

EMBEDS = """
-- name: RenameUser :one
UPDATE users AS tt SET name = @name WHERE tt.id = @id RETURNING sqlc.embed(tt);

-- name: DeleteUser :one
DELETE FROM users AS u WHERE u.id = @id RETURNING sqlc.embed(u), u.name AS old_name;

-- name: PendingJobs :many
WITH candidates AS (SELECT * FROM jobs WHERE NOT done)
SELECT sqlc.embed(jobs) FROM candidates AS jobs ORDER BY jobs.id;

-- name: PendingJobNames :many
WITH candidates AS (SELECT id, name FROM jobs WHERE NOT done)
SELECT sqlc.embed(t), 1 AS one FROM candidates AS t ORDER BY t.id;

-- name: DisableJobs :many
UPDATE jobs AS jj SET done = true WHERE id = ANY(@ids::bigint[]) RETURNING sqlc.embed(jj);

-- name: JobsOfCte :many
WITH c AS (SELECT * FROM jobs WHERE name = @name)
SELECT sqlc.embed(jobs) FROM c AS jobs;

-- name: UserAndManager :many
SELECT sqlc.embed(u), sqlc.embed(m)
FROM users u LEFT JOIN users m ON m.id = u.manager_id
ORDER BY u.id;

-- name: ManagersAndReports :many
SELECT sqlc.embed(m), sqlc.embed(r), sqlc.embed(c)
FROM users r RIGHT JOIN users m ON m.id = r.manager_id
FULL JOIN (SELECT user_id, count(*) AS n FROM posts GROUP BY user_id) c ON c.user_id = m.id
ORDER BY m.id, r.id;

-- name: UserPosts :many
SELECT sqlc.embed(u), sqlc.embed(p), *
FROM users u JOIN posts p ON p.user_id = u.id ORDER BY p.id;

-- name: UserPostCounts :many
WITH s AS (SELECT user_id, count(*) AS n, max(created_at) AS latest FROM posts GROUP BY user_id)
SELECT sqlc.embed(u), sqlc.embed(s) FROM users u LEFT JOIN s ON s.user_id = u.id ORDER BY u.id;
"""

JSON = """
-- name: UsersWithPosts :many
SELECT u.*,
       (SELECT json_agg(p ORDER BY p.created_at, p.id) FROM posts p WHERE p.user_id = u.id) AS posts
FROM users u ORDER BY u.id;

-- name: UsersWithPostsOrEmpty :many
SELECT u.id, COALESCE((SELECT jsonb_agg(p) FROM posts p WHERE p.user_id = u.id), '[]') AS posts
FROM users u ORDER BY u.id;

-- name: UserCards :many
SELECT json_build_object(
    'id', u.id,
    'name', u.name,
    'uid', u.uid,
    'titles', (SELECT json_agg(p.title ORDER BY p.id) FROM posts p WHERE p.user_id = u.id),
    'latest', (SELECT jsonb_build_object('title', p.title, 'at', p.created_at, 'score', p.score)
               FROM posts p WHERE p.user_id = u.id ORDER BY p.id DESC LIMIT 1)
) AS card
FROM users u ORDER BY u.id;

-- name: PostAsJson :one
SELECT to_jsonb(p) AS post, row_to_json(u) AS author
FROM posts p JOIN users u ON u.id = p.user_id WHERE p.id = @id;

-- name: UsersAndLastPost :many
SELECT u.id, json_agg(p) AS posts
FROM users u LEFT JOIN posts p ON p.user_id = u.id
GROUP BY u.id ORDER BY u.id;

-- name: PostsWithComments :many
SELECT p.id, p.title, (
    SELECT json_agg(c ORDER BY c.id) FROM comments c WHERE c.post_id = p.id
) AS comments
FROM posts p ORDER BY p.id;

-- name: PostsWithCommentArray :many
SELECT p.id, array_agg(c ORDER BY c.id) AS comments
FROM posts p JOIN comments c ON c.post_id = p.id GROUP BY p.id ORDER BY p.id;

-- name: IterPostsWithComments :iter
SELECT p.id, (SELECT json_agg(c ORDER BY c.id) FROM comments c WHERE c.post_id = p.id) AS comments
FROM posts p ORDER BY p.id;

-- name: CommentsOfPosts :batchmany
SELECT p.id, (SELECT json_agg(c ORDER BY c.id) FROM comments c WHERE c.post_id = p.id) AS comments
FROM posts p WHERE p.id = @id;

-- name: JobsAsJson :one
SELECT json_agg(j ORDER BY j.id) AS jobs FROM jobs j;

-- name: PostsOfCte :many
WITH recent AS (SELECT id, title, created_at FROM posts)
SELECT (SELECT json_agg(r ORDER BY r.id) FROM recent r) AS recent;

-- name: UsersWithPostsLateral :many
SELECT u.id, lp.posts, lp.titles
FROM users u LEFT JOIN LATERAL (
    SELECT json_agg(p ORDER BY p.id) AS posts, json_agg(p.title ORDER BY p.id)
    FROM posts p WHERE p.user_id = u.id
) lp (posts, titles) ON true
ORDER BY u.id;

-- name: UsersAsJson :one
SELECT json_agg(u ORDER BY u.id) AS users FROM users u;

-- name: JobDocs :many
SELECT j.id, jsonb_build_object('job', j, 'source', j."from") AS doc FROM jobs j ORDER BY j.id;

-- name: PostsWithAuthorName :many
SELECT u.id,
       (SELECT json_agg(json_build_object('title', p.title, 'author', u.name) ORDER BY p.id)
        FROM posts p WHERE p.user_id = u.id) AS posts
FROM users u ORDER BY u.id;

-- name: FirstPosts :many
SELECT u.id,
       (SELECT to_json(x) FROM (SELECT p.id, p.wait FROM posts p WHERE p.user_id = u.id
                                ORDER BY p.id LIMIT 1) x) AS first,
       to_json((SELECT p FROM posts p WHERE p.user_id = u.id ORDER BY p.id LIMIT 1)) AS first_row,
       (SELECT json_agg(title ORDER BY id) FROM posts WHERE user_id = u.id) AS titles
FROM users u ORDER BY u.id;

-- name: FilteredComments :many
SELECT p.id,
       json_agg(json_build_object('id', c.id, 'body', c.body) ORDER BY c.id)
           FILTER (WHERE c.id IS NOT NULL) AS comments,
       (SELECT json_agg(s.score ORDER BY s.id) FROM posts s WHERE s.score IS NOT NULL) AS scores
FROM posts p LEFT JOIN comments c ON c.post_id = p.id GROUP BY p.id ORDER BY p.id;

-- name: UsersAndTheirPosts :many
SELECT u.id, COALESCE(json_agg(p ORDER BY p.id) FILTER (WHERE p.id IS NOT NULL), '[]') AS posts
FROM users u LEFT JOIN posts p ON p.user_id = u.id GROUP BY u.id ORDER BY u.id;

-- name: UsersWithPostsOfCte :many
WITH agg AS (SELECT user_id, json_agg(p ORDER BY p.id) AS posts FROM posts p GROUP BY user_id)
SELECT u.id, a.posts, json_build_object('all', a.posts) AS wrapped
FROM users u JOIN agg a ON a.user_id = u.id ORDER BY u.id;
"""

#: JSON whose shape comes from what PostgreSQL does to it: keyed aggregates, anonymous
#: records, jsonb's operators, and JSON built in a RETURNING list's correlated subquery
JSON_OPS = """
-- name: PostsKeyed :many
SELECT u.id,
       (SELECT json_object_agg(p.id, p ORDER BY p.id) FROM posts p WHERE p.user_id = u.id) AS posts,
       COALESCE((SELECT jsonb_object_agg(p.title, p.score) FROM posts p WHERE p.user_id = u.id),
                '{}') AS scores,
       (SELECT json_object_agg(p.title, json_build_object(
                   'n', (SELECT count(*) FROM comments c WHERE c.post_id = p.id),
                   'bodies', (SELECT json_agg(c.body ORDER BY c.id)
                              FROM comments c WHERE c.post_id = p.id)))
        FROM posts p WHERE p.user_id = u.id) AS stats,
       (SELECT jsonb_object_agg(p.id, ROW(p.title, p.day)) FROM posts p WHERE p.user_id = u.id)
           AS pairs,
       COALESCE((SELECT json_object_agg(p.id, p.title) FROM posts p WHERE p.user_id = u.id),
                '[]') AS wrong_fallback,
       COALESCE((SELECT json_build_object('t', p.title) FROM posts p WHERE p.user_id = u.id
                 ORDER BY p.id LIMIT 1), '{}') AS empty_object,
       COALESCE((SELECT jsonb_agg(p.title) FROM posts p WHERE p.user_id = u.id), '[ ]'::jsonb)
           AS titles,
       (SELECT json_object_agg(c.body, c ORDER BY c.id)
        FROM comments c JOIN posts p ON p.id = c.post_id WHERE p.user_id = u.id) AS comments
FROM users u ORDER BY u.id;

-- name: PostRecords :many
SELECT p.id,
       row_to_json(ROW(p.title, p.score)) AS pair,
       to_json(ROW(p.id, p.created_at, ROW(p.day, p.wait))) AS nested,
       (SELECT json_agg(ROW(c.id, c.amount, c.mood) ORDER BY c.id)
        FROM comments c WHERE c.post_id = p.id) AS comments,
       jsonb_build_object('row', ROW(p.title, p.tags)) AS wrapped
FROM posts p ORDER BY p.id;

-- name: PublicUsers :many
SELECT u.id,
       to_jsonb(u) - 'settings' AS public,
       to_jsonb(u) - ARRAY['settings', 'uid'] AS slim,
       to_jsonb(u) - '{settings, uid}'::text[] AS slim_too,
       to_jsonb(u) #- '{settings}' AS trimmed,
       to_jsonb(u) - 'nothing'::text AS same,
       to_jsonb(u) || jsonb_build_object(
           'posts', (SELECT count(*) FROM posts p WHERE p.user_id = u.id),
           'name', length(u.name)) AS merged,
       jsonb_build_object('a', u.id, 'b', u.name)
           || jsonb_build_object('b', u.joined_at, 'c', NULL::text) AS both_sides,
       jsonb_build_object('k', u.id, 'inner', jsonb_build_object('x', 1, 'y', u.name))
           #- '{inner,x}' AS deep,
       to_jsonb(u) - u.name AS by_value,
       to_jsonb(u) - @key::text AS by_param,
       jsonb_build_object(u.name, u.id) || jsonb_build_object('a', 1) AS dynamic_keys
FROM users u ORDER BY u.id;

-- name: RetitlePost :one
UPDATE posts p SET title = @title WHERE p.id = @id
RETURNING p.id,
    (SELECT json_build_object('title', p.title, 'n', count(*))
     FROM comments c WHERE c.post_id = p.id) AS summary,
    (SELECT json_agg(json_build_object('body', c.body, 'post', p.title) ORDER BY c.id)
     FROM comments c WHERE c.post_id = p.id) AS comments;

-- name: DropComment :one
DELETE FROM comments c USING posts p WHERE c.id = @id AND p.id = c.post_id
RETURNING c.id,
    (SELECT json_build_object('title', p.title, 'body', c.body, 'n', count(*))
     FROM comments o WHERE o.post_id = p.id) AS post;

-- name: AddComment :one
INSERT INTO comments AS c (post_id, body, amount) VALUES (@post_id, @body, @amount)
RETURNING c.id,
    (SELECT jsonb_build_object('title', p.title, 'amount', c.amount, 'at', c.at)
     FROM posts p WHERE p.id = c.post_id) AS post;
"""

FAMILIES = """
-- name: FamilyFlat :one
SELECT * FROM families WHERE id = @id;

-- name: FamilyNoNumbers :one
SELECT json_agg(json_build_object(
    'i8', f.i8, 'b', f.b, 't', f.t, 'u', f.u, 'd', f.d, 'tm', f.tm, 'ttz', f.ttz, 'ts', f.ts,
    'tstz', f.tstz, 'iv', f.iv, 'by', f.by, 'j', f.j, 'ta', f.ta, 'ia', f.ia, 'e', f.e,
    'es', f.es, 'r', f.r
)) AS objects
FROM families f WHERE f.id = @id;

-- name: FamilyOps :one
SELECT (SELECT jsonb_object_agg(g.id, g) FROM families g WHERE g.id = f.id) AS keyed,
       to_jsonb(f) - 'id' AS minus,
       row_to_json(ROW(f.i2, f.i4, f.i8, f.f4, f.f8, f.n, f.b, f.t, f.u, f.d, f.tm, f.ttz, f.ts,
                       f.tstz, f.iv, f.by, f.j, f.ta, f.ia, f.e, f.es, f.r)) AS record
FROM families f WHERE f.id = @id;

-- name: FamilyJson :one
SELECT to_jsonb(f) AS one, (SELECT json_agg(g) FROM families g WHERE g.id = f.id) AS many
FROM families f WHERE f.id = @id;
"""

SETTINGS = """
-- name: CreateUser :one
INSERT INTO users (name, settings) VALUES (@name, @settings) RETURNING *;

-- name: CreateUsers :batchexec
INSERT INTO users (name, settings) VALUES (@name, @settings);

-- name: CopyUsers :copyfrom
INSERT INTO users (name, settings) VALUES ($1, $2);

-- name: UserSettings :one
SELECT settings FROM users WHERE id = @id;

-- name: UsersNamed :many
SELECT * FROM users WHERE name = ANY(@names::text[]) ORDER BY id;
"""

#: users.settings is the project's own pydantic model; jobs.from a str subclass of its own
OVERRIDES = """
[[tool.multica-db.overrides]]
column = "users.settings"
python_type = "nested_types.Settings"

[[tool.multica-db.overrides]]
column = "jobs.from"
python_type = "nested_types.Source"
"""

TYPES = '''"""The project's own types."""

import datetime

import pydantic


class Source(str):
    """Where a job comes from (a column override that is not JSON)."""


class Settings(pydantic.BaseModel):
    """A user's settings, kept as jsonb."""

    theme: str
    alerts: bool = True
    since: datetime.date | None = None
'''
