-- name: GetAuthor :one
SELECT * FROM authors WHERE id = ? LIMIT 1;

-- name: CreateAuthor :execresult
INSERT INTO authors (id, name, bio) VALUES (?, ?, ?);
