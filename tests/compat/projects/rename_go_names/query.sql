-- name: AddLink :one
INSERT INTO links (uuid, url, type, list) VALUES ($1, $2, $3, $4) RETURNING *;

-- name: LinkURLs :many
SELECT id, url, type FROM links ORDER BY id;
