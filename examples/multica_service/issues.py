"""Issue creation with race-free per-workspace numbering."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import Connection

from examples.multica_service.uow import unit_of_work
from multica_db.analytics import AnalyticsClient
from multica_db.models import Issue, IssueStatus
from multica_db.queries import issues


def create_issue(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    workspace_id: uuid.UUID,
    title: str,
    creator_id: uuid.UUID | None = None,
    assignee_agent_id: uuid.UUID | None = None,
    description: str = "",
    status: IssueStatus = IssueStatus.TODO,
) -> Issue:
    """Create the workspace's next-numbered issue (no analytics event of its own)."""
    with unit_of_work(conn, client):
        if issues.lock_workspace_for_issue_number(conn, workspace_id=workspace_id) is None:
            raise LookupError(f"no workspace {workspace_id}")
        issue = issues.create_issue(
            conn,
            workspace_id=workspace_id,
            title=title,
            description=description,
            status=status,
            assignee_agent_id=assignee_agent_id,
            creator_id=creator_id,
        )
        assert issue is not None  # INSERT ... SELECT max() always yields one row
    return issue
