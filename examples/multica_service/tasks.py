"""The agent task queue: enqueue, claim, complete (issue_executed once), retry, reassign."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import Connection
from pydantic import JsonValue

from examples.multica_service.uow import unit_of_work
from multica_db import analytics
from multica_db.analytics import AnalyticsClient
from multica_db.models import AgentTaskQueue
from multica_db.queries import issues, tasks


def enqueue_task(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    agent_id: uuid.UUID,
    issue_id: uuid.UUID,
    priority: int = 0,
) -> AgentTaskQueue | None:
    """Queue work for the agent on its runtime; ``None`` if the agent is archived/missing."""
    with unit_of_work(conn, client):
        return tasks.enqueue_task(conn, agent_id=agent_id, issue_id=issue_id, priority=priority)


def claim_task(
    conn: Connection[Any], client: AnalyticsClient, *, runtime_id: uuid.UUID
) -> AgentTaskQueue | None:
    """The runtime's next queued task, now dispatched to it; ``None`` if none is free."""
    with unit_of_work(conn, client):
        return tasks.claim_next_task(conn, runtime_id=runtime_id)


def complete_task(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    task_id: uuid.UUID,
    result: JsonValue = None,
) -> tuple[AgentTaskQueue | None, bool]:
    """Complete the task; ``(task, first)`` where ``first`` is the issue's first execution.

    ``issue_executed`` is emitted only by the completion whose
    ``MarkIssueFirstExecuted`` flipped the row (1 row affected): concurrent
    completions, retries, re-assigned and follow-up tasks all see 0.
    """
    with unit_of_work(conn, client) as outbox:
        task = tasks.complete_task(conn, id=task_id, result=result)
        if task is None:
            return None, False
        first = issues.mark_issue_first_executed(conn, id=task.issue_id) == 1
        if first:
            issue = issues.get_issue(conn, id=task.issue_id)
            assert issue is not None
            outbox.add(
                analytics.issue_executed(
                    workspace_id=issue.workspace_id,
                    issue_id=issue.id,
                    user_id=issue.creator_id,
                    agent_id=task.agent_id,
                    task_id=task.id,
                )
            )
    return task, first


def fail_task(
    conn: Connection[Any], client: AnalyticsClient, *, task_id: uuid.UUID, error: str
) -> AgentTaskQueue | None:
    with unit_of_work(conn, client):
        return tasks.fail_task(conn, id=task_id, error=error)


def retry_task(
    conn: Connection[Any], client: AnalyticsClient, *, task_id: uuid.UUID
) -> AgentTaskQueue | None:
    """Put a failed task back in the queue."""
    with unit_of_work(conn, client):
        return tasks.retry_task(conn, id=task_id)


def reassign_issue(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    issue_id: uuid.UUID,
    agent_id: uuid.UUID,
) -> AgentTaskQueue | None:
    """Hand the issue to another agent: cancel unfinished tasks, queue one for the new agent."""
    with unit_of_work(conn, client):
        issues.assign_issue(conn, id=issue_id, agent_id=agent_id)
        tasks.cancel_tasks_for_issue(conn, issue_id=issue_id)
        return tasks.enqueue_task(conn, agent_id=agent_id, issue_id=issue_id, priority=0)
