-- The nullability corpus' own schema: small, but with every shape the corpus needs
-- (nullable and NOT NULL columns, self-references, enums, ranges, jsonb, views).

CREATE TYPE mood AS ENUM ('happy', 'sad');

CREATE TABLE team (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    motto text,
    tags text[] NOT NULL DEFAULT '{}',
    active_during tstzrange
);

CREATE TABLE person (
    id bigint PRIMARY KEY,
    team_id bigint REFERENCES team (id),
    manager_id bigint REFERENCES person (id),
    name text NOT NULL,
    nickname text,
    email text NOT NULL,
    age integer,
    mood mood,
    created_at timestamptz NOT NULL DEFAULT now(),
    profile jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE task (
    id bigint PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES person (id),
    title text NOT NULL,
    points integer NOT NULL,
    note text,
    done boolean NOT NULL DEFAULT false,
    due date
);

CREATE TABLE label (
    task_id bigint NOT NULL REFERENCES task (id),
    label text NOT NULL,
    weight integer
);

CREATE TABLE kv (
    k text PRIMARY KEY,
    v text,
    hits integer NOT NULL DEFAULT 0
);

CREATE TABLE counter (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    note text
);

-- A view over an outer join: team_name is NULL for a person without a team.
CREATE VIEW person_team AS
SELECT p.id, p.name, t.name AS team_name, t.id AS team_id, p.nickname
FROM person p
LEFT JOIN team t ON t.id = p.team_id;

-- A grouped view: count never NULL, sum of an outer-joined column can be.
CREATE VIEW person_load AS
SELECT p.id, p.name, count(k.id) AS tasks, sum(k.points) AS points, max(k.title) AS last_title
FROM person p
LEFT JOIN task k ON k.person_id = p.id
GROUP BY p.id, p.name;

-- A view of a view: nullability carries through both levels.
CREATE VIEW person_team_upper AS
SELECT id, upper(name) AS name, upper(team_name) AS team_name FROM person_team;

-- A user function: returns NULL for a negative input, whatever its strictness says.
CREATE FUNCTION maybe_half(x integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT CASE WHEN x >= 0 THEN x / 2 END $$;

-- A set-returning user function with OUT columns.
CREATE FUNCTION team_members(tid bigint, OUT member_id bigint, OUT member_name text)
RETURNS SETOF record
LANGUAGE sql STABLE
AS $$ SELECT id, name FROM person WHERE team_id = tid $$;

-- SQL functions whose bodies the analyzer reads: strict ones never see NULL arguments.
CREATE FUNCTION full_label(first text, last text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT first || ' ' || last $$;

CREATE FUNCTION lax_label(first text, last text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT first || ' ' || last $$;

CREATE FUNCTION task_count(pid bigint) RETURNS bigint
LANGUAGE sql STABLE STRICT
AS $$ SELECT count(*) FROM task WHERE person_id = pid $$;

CREATE FUNCTION first_task_title(pid bigint) RETURNS text
LANGUAGE sql STABLE STRICT
AS $$ SELECT title FROM task WHERE person_id = $1 ORDER BY id LIMIT 1 $$;
