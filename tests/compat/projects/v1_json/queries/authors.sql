-- name: CreateAuthor :one
INSERT INTO authors (name, bio, spotify_url, rating) VALUES ($1, $2, $3, $4) RETURNING *;

-- name: ListAuthors :many
SELECT * FROM authors ORDER BY name;

-- name: Ratings :many
SELECT name, rating FROM authors ORDER BY rating DESC;
