"""Team invitations: sent once, accepted once."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from psycopg import Connection

from examples.multica_service.uow import unit_of_work
from multica_db import analytics
from multica_db.analytics import AnalyticsClient
from multica_db.models import Invitation, MemberRole
from multica_db.queries import invitations

DEFAULT_TTL_SECONDS = 7 * 24 * 3600.0


def send_invitation(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    workspace_id: uuid.UUID,
    inviter_id: uuid.UUID,
    email: str,
    role: MemberRole = MemberRole.MEMBER,
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
) -> Invitation:
    """Create an invitation with a fresh unguessable token; emits ``team_invite_sent``."""
    with unit_of_work(conn, client) as outbox:
        inv = invitations.create_invitation(
            conn,
            workspace_id=workspace_id,
            email=email,
            role=role,
            token=secrets.token_urlsafe(24),
            invited_by=inviter_id,
            ttl_seconds=ttl_seconds,
        )
        outbox.add(
            analytics.team_invite_sent(
                inviter_id=inviter_id,
                workspace_id=workspace_id,
                invitation_id=inv.id,
                invitee_email=email,
                role=inv.role,
            )
        )
    return inv


def accept_invitation(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    token: str,
    user_id: uuid.UUID,
) -> Invitation | None:
    """Accept and join; ``None`` when the invitation was not (or no longer) acceptable.

    Of concurrent accepts of one token exactly one returns the invitation, adds
    the membership and emits ``team_invite_accepted``.
    """
    with unit_of_work(conn, client) as outbox:
        inv = invitations.accept_invitation(conn, token=token, user_id=user_id)
        if inv is not None:
            outbox.add(
                analytics.team_invite_accepted(
                    user_id=user_id,
                    workspace_id=inv.workspace_id,
                    invitation_id=inv.id,
                    role=inv.role,
                    inviter_id=inv.invited_by,
                )
            )
    return inv
