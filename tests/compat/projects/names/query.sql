-- name: In :one
SELECT id, "from", "2fa", "__dunder__", "list" FROM "class" WHERE id = $1;

-- name: Class :many
SELECT * FROM "class" WHERE "from" = $1 ORDER BY id;

-- name: Def :exec
INSERT INTO "class" ("from", "2fa") VALUES ($1, $2);
