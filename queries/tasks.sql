-- name: EnqueueTask :one
-- The task runs on the agent's runtime; an archived (or missing) agent gets no
-- task and no row is returned.
INSERT INTO agent_task_queue (agent_id, issue_id, runtime_id, priority)
SELECT a.id, @issue_id, a.runtime_id, @priority
FROM agent a
WHERE a.id = @agent_id AND a.archived_at IS NULL
RETURNING *;

-- name: ClaimNextTask :one
-- Hands the runtime its next queued task. FOR UPDATE SKIP LOCKED locks the
-- chosen row (re-checked against status = 'queued' once locked) and lets
-- concurrent workers pass over a row another worker is claiming instead of
-- waiting behind it, so N workers claim N different tasks at once. The outer
-- status guard is defence in depth: without the locking clause it would still
-- prevent double claims (though workers would then come back empty-handed).
UPDATE agent_task_queue
SET status = 'dispatched', dispatched_at = now(), attempt = attempt + 1
WHERE id = (
    SELECT id FROM agent_task_queue
    WHERE runtime_id = @runtime_id AND status = 'queued'
    ORDER BY priority DESC, created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
  AND status = 'queued'
RETURNING *;

-- name: StartTask :one
UPDATE agent_task_queue
SET status = 'running', started_at = now()
WHERE id = @id AND status = 'dispatched'
RETURNING *;

-- name: CompleteTask :one
-- Only a live (dispatched or running) task completes; a duplicate completion
-- report returns no row.
UPDATE agent_task_queue
SET status = 'completed', completed_at = now(), result = sqlc.narg(result), error = NULL
WHERE id = @id AND status IN ('dispatched', 'running')
RETURNING *;

-- name: FailTask :one
UPDATE agent_task_queue
SET status = 'failed', completed_at = now(), error = @error::text
WHERE id = @id AND status IN ('dispatched', 'running')
RETURNING *;

-- name: RetryTask :one
-- Puts a failed task back in the queue; attempt keeps counting.
UPDATE agent_task_queue
SET status = 'queued', error = NULL, dispatched_at = NULL, started_at = NULL, completed_at = NULL
WHERE id = @id AND status = 'failed'
RETURNING *;

-- name: CancelTask :one
UPDATE agent_task_queue
SET status = 'cancelled', completed_at = now()
WHERE id = @id AND status IN ('queued', 'dispatched', 'running')
RETURNING *;

-- name: CancelTasksForIssue :execrows
-- On re-assignment: the old agent's unfinished tasks for the issue stop.
UPDATE agent_task_queue
SET status = 'cancelled', completed_at = now()
WHERE issue_id = @issue_id AND status IN ('queued', 'dispatched', 'running');

-- name: GetTask :one
SELECT * FROM agent_task_queue
WHERE id = @id;

-- name: ListTasksByIssue :many
SELECT * FROM agent_task_queue
WHERE issue_id = @issue_id
ORDER BY created_at, id;

-- name: ListTasksByRuntime :many
-- sqlc.narg(status) narrows to one status when given.
SELECT * FROM agent_task_queue
WHERE runtime_id = @runtime_id
  AND (sqlc.narg(status)::task_status IS NULL OR status = sqlc.narg(status)::task_status)
ORDER BY created_at, id;
