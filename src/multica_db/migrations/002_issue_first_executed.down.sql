DROP INDEX issue_workspace_first_executed_idx;
ALTER TABLE issue DROP COLUMN first_executed_at;
