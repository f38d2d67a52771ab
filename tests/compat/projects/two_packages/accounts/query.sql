-- name: CreateAccount :one
INSERT INTO account (email) VALUES ($1) RETURNING *;
