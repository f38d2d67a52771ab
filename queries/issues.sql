-- name: LockWorkspaceForIssueNumber :one
-- Serialises issue creation per workspace so CreateIssue's max(number) + 1 is
-- race-free. Must run in the same transaction, as its own statement, before
-- CreateIssue: under READ COMMITTED the next statement's snapshot then sees
-- every issue committed by the previous lock holder. NO KEY UPDATE does not
-- block the KEY SHARE locks foreign-key inserts take on the workspace row.
SELECT id FROM workspace
WHERE id = @workspace_id
FOR NO KEY UPDATE;

-- name: CreateIssue :one
-- Numbers are per workspace (1, 2, 3, ...). See LockWorkspaceForIssueNumber.
INSERT INTO issue (workspace_id, number, title, description, status, assignee_agent_id, creator_id)
SELECT @workspace_id, COALESCE(max(number), 0) + 1, @title, @description, @status,
       sqlc.narg(assignee_agent_id), sqlc.narg(creator_id)
FROM issue
WHERE workspace_id = @workspace_id
RETURNING *;

-- name: GetIssue :one
SELECT * FROM issue
WHERE id = @id;

-- name: ListIssuesByWorkspace :many
-- Newest first; sqlc.narg(status) filters to one status when given.
SELECT * FROM issue
WHERE workspace_id = @workspace_id
  AND (sqlc.narg(status)::issue_status IS NULL OR status = sqlc.narg(status)::issue_status)
ORDER BY number DESC
LIMIT @max_rows;

-- name: UpdateIssueStatus :one
UPDATE issue
SET status = @status, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: AssignIssue :one
-- A NULL agent unassigns.
UPDATE issue
SET assignee_agent_id = sqlc.narg(agent_id), updated_at = now()
WHERE id = @id
RETURNING *;

-- name: MarkIssueFirstExecuted :execrows
-- The atomic first-time flip behind issue_executed: of any number of
-- concurrent completions, exactly one sees first_executed_at IS NULL (the
-- others wait on the row lock, re-check the predicate and match nothing), so
-- exactly one caller gets 1 and emits the event; everyone else gets 0.
UPDATE issue
SET first_executed_at = now()
WHERE id = @id AND first_executed_at IS NULL;

-- name: ListExecutedIssues :many
-- Served by the partial index issue_workspace_first_executed_idx.
SELECT * FROM issue
WHERE workspace_id = @workspace_id
  AND first_executed_at IS NOT NULL
ORDER BY first_executed_at DESC, id
LIMIT @max_rows;

-- name: CountExecutedIssuesInWorkspace :one
-- sqlc.narg(since) counts only issues first executed at or after it.
SELECT count(*) FROM issue
WHERE workspace_id = @workspace_id
  AND first_executed_at IS NOT NULL
  AND (sqlc.narg(since)::timestamptz IS NULL OR first_executed_at >= sqlc.narg(since)::timestamptz);
