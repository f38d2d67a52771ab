-- name: Enqueue :exec
SELECT * FROM pgmq.send(
  queue_name => sqlc.arg(queue_name)::text,
  msg        => sqlc.arg(message)::jsonb
);

-- name: Take :many
SELECT
    msg_id::bigint,
    read_ct::integer,
    message::jsonb
FROM pgmq.read(
    queue_name => sqlc.arg(queue_name)::text,
    vt         => sqlc.arg(visibility_seconds)::integer,
    qty        => sqlc.arg(qty)::integer
);

-- name: Done :one
SELECT pgmq.archive(
  queue_name => sqlc.arg(queue_name)::text,
  msg_id     => sqlc.arg(msg_id)::bigint
)::boolean AS archived;

-- name: RecordDelivery :one
INSERT INTO delivery (msg_id, recipient) VALUES (@msg_id, @recipient)
RETURNING id;
