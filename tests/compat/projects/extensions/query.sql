-- name: Kinds :many
SELECT DISTINCT kind FROM event ORDER BY kind;
