-- name: AddWidget :one
INSERT INTO widget (name, weight) VALUES ($1, $2) RETURNING *;

-- name: Widgets :many
SELECT * FROM widget ORDER BY id;
