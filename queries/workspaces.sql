-- name: CreateWorkspaceWithOwner :one
-- The workspace and its owner membership in one statement: both rows exist or
-- neither does, even outside an explicit transaction. An unknown owner creates
-- nothing and returns no row.
WITH ws AS (
    INSERT INTO workspace (name, slug, description, created_by)
    SELECT @name, @slug, @description, u.id
    FROM app_user u
    WHERE u.id = @owner_id
    RETURNING *
), owner_member AS (
    INSERT INTO workspace_member (workspace_id, user_id, role)
    SELECT ws.id, @owner_id, 'owner' FROM ws
)
SELECT * FROM ws;

-- name: GetWorkspace :one
SELECT * FROM workspace
WHERE id = @id;

-- name: GetWorkspaceBySlug :one
SELECT * FROM workspace
WHERE slug = @slug;

-- name: ListWorkspacesForUser :many
-- Every workspace the user belongs to, with the user's role in it.
SELECT w.id, w.name, w.slug, w.description, w.created_by, w.created_at, w.updated_at,
       m.role, m.created_at AS joined_at
FROM workspace w
JOIN workspace_member m ON m.workspace_id = w.id
WHERE m.user_id = @user_id
ORDER BY m.created_at, w.id;

-- name: DeleteWorkspace :execrows
DELETE FROM workspace
WHERE id = @id;

-- name: AddWorkspaceMember :one
-- Idempotent: an existing membership is left untouched (its role is not
-- downgraded) and no row is returned, so callers can tell "joined now" from
-- "was already a member".
INSERT INTO workspace_member (workspace_id, user_id, role)
VALUES (@workspace_id, @user_id, @role)
ON CONFLICT (workspace_id, user_id) DO NOTHING
RETURNING *;

-- name: GetWorkspaceMember :one
SELECT * FROM workspace_member
WHERE workspace_id = @workspace_id AND user_id = @user_id;

-- name: UpdateWorkspaceMemberRole :one
UPDATE workspace_member
SET role = @role
WHERE workspace_id = @workspace_id AND user_id = @user_id
RETURNING *;

-- name: RemoveWorkspaceMember :execrows
DELETE FROM workspace_member
WHERE workspace_id = @workspace_id AND user_id = @user_id;

-- name: ListWorkspaceMembers :many
-- Members with their profile; sqlc.narg(role) narrows to one role when given.
SELECT m.workspace_id, m.user_id, m.role, m.created_at AS joined_at,
       u.email, u.name, u.avatar_url
FROM workspace_member m
JOIN app_user u ON u.id = m.user_id
WHERE m.workspace_id = @workspace_id
  AND (sqlc.narg(role)::member_role IS NULL OR m.role = sqlc.narg(role)::member_role)
ORDER BY m.created_at, u.id;

-- name: CountWorkspaceMembers :one
SELECT count(*) FROM workspace_member
WHERE workspace_id = @workspace_id;
