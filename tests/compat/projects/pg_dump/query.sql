-- name: OpenTickets :many
SELECT id, title FROM open_tickets ORDER BY id;

-- name: CreateTicket :one
INSERT INTO app.ticket (title) VALUES ($1) RETURNING id, status, opened_at;

-- name: TagTicket :exec
INSERT INTO ticket_tag (ticket_id, tag_id) VALUES ($1, $2);

-- name: Tags :many
SELECT id, name FROM tag ORDER BY name;

-- name: TicketCount :one
SELECT ticket_count();
