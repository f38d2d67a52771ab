-- name: LockJobs :exec
SELECT pg_advisory_xact_lock($1);

-- name: SetTenant :execrows
SELECT set_config('app.tenant', $1, true);

-- name: Ping :execresult
SELECT 1;

-- name: FinishJob :exec
UPDATE job SET done = true WHERE id = $1 RETURNING id;

-- name: CreateJob :execlastid
INSERT INTO job (name) VALUES ($1) RETURNING id;

-- name: CreateJobNoReturning :execlastid
INSERT INTO job (name) VALUES ($1);

-- name: CountDone :one
SELECT count(*) FROM job WHERE done;

-- name: Touch :one
SELECT FROM job;
