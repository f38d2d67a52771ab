"""Helpers for the scenarios: the barrier-released race and committed seed rows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg

from multica_db.models import AgentRuntime, IssueStatus
from multica_db.queries import agent_runtime, agents, issues, users, workspaces

#: Concurrency of every race; the brief asks for at least 16-way.
WAYS = 16
#: How often each race is re-run with fresh rows.
REPEATS = 6

T = TypeVar("T")
Conn = psycopg.Connection[Any]


def race(conns: Sequence[Conn], fn: Callable[[Conn, int], T]) -> list[T]:
    """Run ``fn(conn, i)`` on every connection in its own thread, all released at once.

    Returns results in connection order and re-raises the first failure.
    """
    barrier = threading.Barrier(len(conns))
    results: list[Any] = [None] * len(conns)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = fn(conns[i], i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(conns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    if errors:
        raise errors[0]
    return results


# -- seed data (committed through the generated queries) -------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_user(db: Conn, email: str | None = None) -> uuid.UUID:
    row = users.find_or_create_user(db, email=email or f"{unique('u')}@example.com", name="U")
    return row.id


def make_workspace(db: Conn, owner_id: uuid.UUID | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    """A workspace and its owner: ``(workspace_id, owner_id)``."""
    owner = owner_id or make_user(db)
    ws = workspaces.create_workspace_with_owner(
        db, name="WS", slug=unique("ws"), description="", owner_id=owner
    )
    assert ws is not None
    return ws.id, owner


def make_runtime(
    db: Conn, workspace_id: uuid.UUID, daemon_id: str | None = None, provider: str = "claude"
) -> AgentRuntime:
    row = agent_runtime.upsert_agent_runtime(
        db,
        workspace_id=workspace_id,
        daemon_id=daemon_id or unique("daemon"),
        name="rt",
        runtime_mode="local",
        provider=provider,
        status="online",
        device_info="",
        metadata={},
        owner_id=None,
    )
    rt = agent_runtime.get_agent_runtime(db, id=row.id)
    assert rt is not None
    return rt


def make_agent(db: Conn, workspace_id: uuid.UUID, runtime_id: uuid.UUID) -> uuid.UUID:
    return agents.create_agent(
        db, workspace_id=workspace_id, runtime_id=runtime_id, name=unique("agent"), instructions=""
    ).id


def make_issue(db: Conn, workspace_id: uuid.UUID, creator_id: uuid.UUID | None = None) -> uuid.UUID:
    with db.transaction():
        issues.lock_workspace_for_issue_number(db, workspace_id=workspace_id)
        issue = issues.create_issue(
            db,
            workspace_id=workspace_id,
            title=unique("issue"),
            description="",
            status=IssueStatus.TODO,
            creator_id=creator_id,
        )
    assert issue is not None
    return issue.id
