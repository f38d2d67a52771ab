-- name: CreateTeam :one
INSERT INTO team (name, slug) VALUES ($1, $2) RETURNING id, slug;

-- name: TeamBySlug :one
SELECT id, name, slug FROM team WHERE slug = $1;
