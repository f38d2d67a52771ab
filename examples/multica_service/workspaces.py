"""Workspace creation: the workspace, its owner and initial members, one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from psycopg import Connection

from examples.multica_service.uow import unit_of_work
from multica_db import analytics
from multica_db.analytics import AnalyticsClient
from multica_db.models import MemberRole, Workspace
from multica_db.queries import workspaces


class UnknownUserError(LookupError):
    """The would-be owner does not exist."""


def create_workspace(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    owner_id: uuid.UUID,
    name: str,
    slug: str,
    description: str = "",
    members: Sequence[tuple[uuid.UUID, MemberRole]] = (),
) -> Workspace:
    """Create the workspace with ``owner_id`` as owner, plus ``members``.

    Any failure (taken slug, unknown member) rolls everything back and no
    ``workspace_created`` event is sent.
    """
    with unit_of_work(conn, client) as outbox:
        ws = workspaces.create_workspace_with_owner(
            conn, name=name, slug=slug, description=description, owner_id=owner_id
        )
        if ws is None:
            raise UnknownUserError(f"no user {owner_id}")
        for user_id, role in members:
            workspaces.add_workspace_member(conn, workspace_id=ws.id, user_id=user_id, role=role)
        outbox.add(analytics.workspace_created(user_id=owner_id, workspace_id=ws.id))
    return ws
