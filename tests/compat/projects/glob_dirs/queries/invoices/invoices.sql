-- name: OpenInvoice :one
INSERT INTO invoice (customer_id, total_cents) VALUES ($1, $2) RETURNING id;

-- name: UnpaidTotal :one
SELECT coalesce(sum(total_cents), 0)::bigint AS total
FROM invoice
WHERE customer_id = $1 AND paid_at IS NULL;
