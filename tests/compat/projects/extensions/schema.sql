-- A linter a developer has locally; sqlc never installs extensions.
CREATE EXTENSION IF NOT EXISTS plpgsql_check;
CREATE TABLE event (id bigserial PRIMARY KEY, kind text NOT NULL);
