-- DDL and settings left in a query file: sqlc skips statements without a name.
CREATE TABLE scratch (x int);
SET search_path TO public;

-- name: AddNote :one
INSERT INTO note (body) VALUES ($1) RETURNING id;

-- name: DeleteNote :exec
DELETE FROM note WHERE id = $1;
DELETE FROM note WHERE body = 'never run: sqlc keeps the first statement only';

-- name: FirstName :many
-- name: SecondName :many
-- name: NoCommand
SELECT id, body FROM note ORDER BY id;

-- name: Dangling :one
-- name: DanglingBroken :uno
-- name: AlsoDangling
