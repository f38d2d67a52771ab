-- name: CreateInvitation :one
-- The expiry is computed by the database clock so every node agrees on it.
INSERT INTO invitation (workspace_id, email, role, token, invited_by, expires_at)
VALUES (
    @workspace_id, @email, @role, @token, sqlc.narg(invited_by),
    now() + make_interval(secs => @ttl_seconds::double precision)
)
RETURNING *;

-- name: GetInvitationByToken :one
SELECT * FROM invitation
WHERE token = @token;

-- name: ListPendingInvitations :many
-- Pending and not yet past their expiry (the sweep may not have run yet).
SELECT * FROM invitation
WHERE workspace_id = @workspace_id
  AND status = 'pending'
  AND expires_at > now()
ORDER BY created_at, id;

-- name: AcceptInvitation :one
-- The status guard makes acceptance happen once: a concurrent second accept
-- waits on the row lock, re-checks the WHERE clause against the committed row,
-- finds it no longer pending and returns no row. The membership is inserted in
-- the same statement; an existing membership is kept as it is.
WITH accepted AS (
    UPDATE invitation
    SET status = 'accepted', accepted_by = u.id, accepted_at = now()
    FROM app_user u
    WHERE u.id = @user_id
      AND invitation.token = @token
      AND invitation.status = 'pending'
      AND invitation.expires_at > now()
    RETURNING invitation.*
), joined AS (
    INSERT INTO workspace_member (workspace_id, user_id, role)
    SELECT workspace_id, accepted_by, role FROM accepted
    ON CONFLICT (workspace_id, user_id) DO NOTHING
)
SELECT * FROM accepted;

-- name: RevokeInvitation :one
-- Only a pending invitation can be revoked; the workspace scope stops one
-- workspace's admin revoking another's invitation by id.
UPDATE invitation
SET status = 'revoked'
WHERE id = @id AND workspace_id = @workspace_id AND status = 'pending'
RETURNING *;

-- name: ExpireInvitations :many
-- The sweep: pending invitations past their expiry become 'expired'.
UPDATE invitation
SET status = 'expired'
WHERE status = 'pending' AND expires_at <= now()
RETURNING id, workspace_id;
