-- name: FindOrCreateUser :one
-- Sign-up and OAuth login both land here. The unique index is on lower(email),
-- so concurrent sign-ups of one address (in any casing) converge on one row:
-- the losers wait for the winner's commit, then take the DO UPDATE branch.
-- The no-op update (email = app_user.email) makes RETURNING yield the existing
-- row, and (xmax = 0) AS created is true only for the transaction that
-- actually inserted it, which is what gates the signup event.
INSERT INTO app_user (email, name, avatar_url)
VALUES (@email, @name, sqlc.narg(avatar_url))
ON CONFLICT (lower(email)) DO UPDATE SET email = app_user.email
RETURNING *, (xmax = 0) AS created;

-- name: GetUser :one
SELECT * FROM app_user
WHERE id = @id;

-- name: GetUserByEmail :one
-- Case-insensitive, matching the unique index (and using it).
SELECT * FROM app_user
WHERE lower(email) = lower(@email);

-- name: ListUsersByIds :many
SELECT * FROM app_user
WHERE id = ANY(@ids::uuid[])
ORDER BY created_at, id;

-- name: UpdateUserProfile :one
-- NULL arguments leave the field as it is.
UPDATE app_user
SET name = COALESCE(sqlc.narg(name), name),
    avatar_url = COALESCE(sqlc.narg(avatar_url), avatar_url),
    updated_at = now()
WHERE id = @id
RETURNING *;
