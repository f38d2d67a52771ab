-- issue_executed fires once per issue: CompleteTask flips first_executed_at
-- atomically (UPDATE ... WHERE first_executed_at IS NULL) and emits only when
-- the flip happened. The partial index serves workspace-scoped queries over
-- executed issues without scanning the never-executed tail.
ALTER TABLE issue ADD COLUMN first_executed_at timestamptz;
CREATE INDEX issue_workspace_first_executed_idx
    ON issue (workspace_id, first_executed_at)
    WHERE first_executed_at IS NOT NULL;
