-- name: CreateAccount :one
INSERT INTO account (balance_cents) VALUES ($1) RETURNING *;
