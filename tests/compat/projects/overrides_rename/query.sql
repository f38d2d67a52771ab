-- name: AddProduct :one
INSERT INTO products (sku, price, discount) VALUES ($1, $2, $3) RETURNING *;

-- name: Prices :many
SELECT sku, price, discount FROM products ORDER BY sku;
