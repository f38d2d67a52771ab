-- name: NeverRead :exec
DELETE FROM invoice;
