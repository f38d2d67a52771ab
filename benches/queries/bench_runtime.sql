-- Bench-only statements on agent_runtime (the reads use the real generated
-- functions in src/multica_db/queries/agent_runtime.py).

-- name: InsertAgentRuntime :exec
INSERT INTO agent_runtime (
    workspace_id, daemon_id, name, runtime_mode, provider, status, device_info, metadata, owner_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: InsertAgentRuntimes :batchexec
INSERT INTO agent_runtime (
    workspace_id, daemon_id, name, runtime_mode, provider, status, device_info, metadata, owner_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: CopyAgentRuntimes :copyfrom
INSERT INTO agent_runtime (
    workspace_id, daemon_id, name, runtime_mode, provider, status, device_info, metadata, owner_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);
