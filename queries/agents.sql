-- name: CreateAgent :one
INSERT INTO agent (workspace_id, runtime_id, name, instructions, owner_id)
VALUES (@workspace_id, @runtime_id, @name, @instructions, sqlc.narg(owner_id))
RETURNING *;

-- name: GetAgent :one
SELECT * FROM agent
WHERE id = @id;

-- name: ArchiveAgent :one
-- Archiving keeps the row (tasks and issues still reference it); only the
-- first archive sets archived_at, a repeat returns no row.
UPDATE agent
SET archived_at = now(), updated_at = now()
WHERE id = @id AND archived_at IS NULL
RETURNING *;

-- name: ListAgentsByWorkspace :many
SELECT * FROM agent
WHERE workspace_id = @workspace_id
  AND (@include_archived::boolean OR archived_at IS NULL)
ORDER BY created_at, id;

-- name: ListAgentsByRuntime :many
SELECT * FROM agent
WHERE runtime_id = @runtime_id
  AND (@include_archived::boolean OR archived_at IS NULL)
ORDER BY created_at, id;

-- name: ListAgentsByIds :many
SELECT * FROM agent
WHERE id = ANY(@ids::uuid[])
ORDER BY created_at, id;
