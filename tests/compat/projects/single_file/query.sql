CREATE TABLE foo (a text, b integer NOT NULL DEFAULT 0);

-- name: InsertFoo :exec
INSERT INTO foo (a, b) VALUES ($1, @b);

-- name: ListFoo :many
SELECT a, b FROM foo WHERE b > sqlc.arg(min_b) ORDER BY b;

/* name: DeleteFoo :execrows */
DELETE FROM foo WHERE a = $1;
