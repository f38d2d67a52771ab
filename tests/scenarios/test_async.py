"""The async services under asyncio concurrency: N tasks on N async connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg

from examples.multica_service import aio
from multica_db.models import AgentTaskQueue, AppUser
from multica_db.queries import tasks
from tests.scenarios.conftest import Recorder
from tests.scenarios.helpers import (
    REPEATS,
    WAYS,
    Conn,
    make_agent,
    make_issue,
    make_runtime,
    make_workspace,
    unique,
)

T = TypeVar("T")
AConn = psycopg.AsyncConnection[Any]


async def arace(conns: list[AConn], fn: Callable[[AConn, int], Awaitable[T]]) -> list[T]:
    """Start ``fn`` on every connection at once (an asyncio.Barrier releases them)."""
    barrier = asyncio.Barrier(len(conns))

    async def run(i: int) -> T:
        await barrier.wait()
        return await fn(conns[i], i)

    return await asyncio.wait_for(asyncio.gather(*(run(i) for i in range(len(conns)))), 30)


async def _connect(url: str) -> list[AConn]:
    return list(await asyncio.gather(*(psycopg.AsyncConnection.connect(url) for _ in range(WAYS))))


async def test_async_signups_and_completions_are_exactly_once(
    committed_db: str, db: Conn, recorder: Recorder
) -> None:
    conns = await _connect(committed_db)
    try:
        for rep in range(REPEATS):
            email = f"{unique('async')}@example.org"

            async def sign(c: AConn, i: int, email: str = email) -> tuple[AppUser, bool]:
                return await aio.sign_up(
                    c, recorder.client, email=email.upper() if i % 2 else email
                )

            signups = await arace(conns, sign)
            assert len({u.id for u, _ in signups}) == 1
            assert sum(created for _, created in signups) == 1
            assert len(await asyncio.to_thread(recorder.events, "signup")) == rep + 1

        ws, owner = make_workspace(db)
        rt = make_runtime(db, ws)
        agent = make_agent(db, ws, rt.id)
        for rep in range(REPEATS):
            issue = make_issue(db, ws, owner)
            for _ in range(WAYS):
                tasks.enqueue_task(db, agent_id=agent, issue_id=issue, priority=0)
            ids = [
                t.id
                for t in (tasks.claim_next_task(db, runtime_id=rt.id) for _ in range(WAYS))
                if t
            ]
            assert len(ids) == WAYS

            async def complete(
                c: AConn, i: int, ids: list[uuid.UUID] = ids
            ) -> tuple[AgentTaskQueue | None, bool]:
                return await aio.complete_task(c, recorder.client, task_id=ids[i])

            done = await arace(conns, complete)
            assert sum(first for _, first in done) == 1
            assert len(await asyncio.to_thread(recorder.events, "issue_executed")) == rep + 1
    finally:
        await asyncio.gather(*(c.close() for c in conns))
