-- name: CreateCustomer :one
INSERT INTO customer (email) VALUES ($1) RETURNING id;

-- name: CustomerByEmail :one
SELECT id, email, created_at FROM customer WHERE email = $1;
