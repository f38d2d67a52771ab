-- name: CountNotes :one
SELECT count(*) FROM note;
