-- The multica domain: users, workspaces and their members, invitations,
-- agent runtimes (daemons), agents, issues and the agent task queue.

CREATE TYPE member_role AS ENUM ('owner', 'admin', 'member');
CREATE TYPE invitation_status AS ENUM ('pending', 'accepted', 'revoked', 'expired');
CREATE TYPE issue_status AS ENUM ('backlog', 'todo', 'in_progress', 'in_review', 'done', 'cancelled');
CREATE TYPE task_status AS ENUM ('queued', 'dispatched', 'running', 'completed', 'failed', 'cancelled');

CREATE TABLE app_user (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    name text NOT NULL DEFAULT '',
    avatar_url text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively: one person, one account.
CREATE UNIQUE INDEX app_user_email_key ON app_user (lower(email));

CREATE TABLE workspace (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    slug text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    created_by uuid REFERENCES app_user (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workspace_member (
    workspace_id uuid NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    role member_role NOT NULL DEFAULT 'member',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_member_user_idx ON workspace_member (user_id);

CREATE TABLE invitation (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
    email text NOT NULL,
    role member_role NOT NULL DEFAULT 'member',
    token text NOT NULL UNIQUE,
    status invitation_status NOT NULL DEFAULT 'pending',
    invited_by uuid REFERENCES app_user (id) ON DELETE SET NULL,
    accepted_by uuid REFERENCES app_user (id) ON DELETE SET NULL,
    accepted_at timestamptz,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitation_workspace_status_idx ON invitation (workspace_id, status);

CREATE TABLE agent_runtime (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
    daemon_id text NOT NULL,
    name text NOT NULL,
    runtime_mode text NOT NULL,
    provider text NOT NULL,
    status text NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline')),
    device_info text NOT NULL DEFAULT '',
    metadata jsonb NOT NULL DEFAULT '{}',
    owner_id uuid REFERENCES app_user (id) ON DELETE SET NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    legacy_daemon_id text,
    UNIQUE (workspace_id, daemon_id, provider)
);
CREATE INDEX agent_runtime_status_seen_idx ON agent_runtime (status, last_seen_at);

CREATE TABLE agent (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
    runtime_id uuid NOT NULL REFERENCES agent_runtime (id) ON DELETE RESTRICT,
    name text NOT NULL,
    instructions text NOT NULL DEFAULT '',
    owner_id uuid REFERENCES app_user (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz
);
CREATE INDEX agent_runtime_idx ON agent (runtime_id);
CREATE INDEX agent_workspace_idx ON agent (workspace_id);

CREATE TABLE issue (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspace (id) ON DELETE CASCADE,
    number integer NOT NULL,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    status issue_status NOT NULL DEFAULT 'todo',
    assignee_agent_id uuid REFERENCES agent (id) ON DELETE SET NULL,
    creator_id uuid REFERENCES app_user (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, number)
);

CREATE TABLE agent_task_queue (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id uuid NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
    issue_id uuid NOT NULL REFERENCES issue (id) ON DELETE CASCADE,
    runtime_id uuid NOT NULL REFERENCES agent_runtime (id) ON DELETE CASCADE,
    status task_status NOT NULL DEFAULT 'queued',
    priority integer NOT NULL DEFAULT 0,
    attempt integer NOT NULL DEFAULT 0,
    result jsonb,
    error text,
    dispatched_at timestamptz,
    started_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_task_queue_claim_idx ON agent_task_queue (runtime_id, status, priority DESC, created_at);
CREATE INDEX agent_task_queue_issue_idx ON agent_task_queue (issue_id);
