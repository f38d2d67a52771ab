"""The same service shape on asyncio: ``async with`` the transaction, capture after.

``capture`` never blocks, so calling it from the event loop is fine; only
``flush``/``close`` have async twins (``aflush``/``aclose``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from pydantic import JsonValue

from examples.multica_service.uow import Outbox
from multica_db import analytics
from multica_db.analytics import AnalyticsClient
from multica_db.analytics.events import SignupMethod
from multica_db.models import AgentTaskQueue, AppUser
from multica_db.queries.aio import issues, tasks, users


@asynccontextmanager
async def unit_of_work(
    conn: AsyncConnection[Any], client: AnalyticsClient
) -> AsyncIterator[Outbox]:
    """Async twin of :func:`examples.multica_service.uow.unit_of_work`."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("unit_of_work needs an idle connection, not one inside a transaction")
    outbox = Outbox()
    async with conn.transaction():
        yield outbox
    for event in outbox.events:
        client.capture(event)


async def sign_up(
    conn: AsyncConnection[Any],
    client: AnalyticsClient,
    *,
    email: str,
    name: str = "",
    method: SignupMethod = "verification_code",
) -> tuple[AppUser, bool]:
    """See :func:`examples.multica_service.signup.sign_up`."""
    async with unit_of_work(conn, client) as outbox:
        row = await users.find_or_create_user(conn, email=email, name=name)
        if row.created:
            outbox.add(analytics.signup(user_id=row.id, email=row.email, method=method))
    return AppUser.model_validate(row.model_dump(exclude={"created"})), row.created


async def complete_task(
    conn: AsyncConnection[Any],
    client: AnalyticsClient,
    *,
    task_id: uuid.UUID,
    result: JsonValue = None,
) -> tuple[AgentTaskQueue | None, bool]:
    """See :func:`examples.multica_service.tasks.complete_task`."""
    async with unit_of_work(conn, client) as outbox:
        task = await tasks.complete_task(conn, id=task_id, result=result)
        if task is None:
            return None, False
        first = await issues.mark_issue_first_executed(conn, id=task.issue_id) == 1
        if first:
            issue = await issues.get_issue(conn, id=task.issue_id)
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
