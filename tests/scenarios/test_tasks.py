"""The task queue: claims never collide, and an issue is ``issue_executed`` once."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
import pytest

from examples.multica_service import (
    claim_task,
    complete_task,
    enqueue_task,
    fail_task,
    reassign_issue,
    retry_task,
)
from multica_db.analytics import NoopClient
from multica_db.models import AgentTaskQueue, TaskStatus
from multica_db.queries import issues, tasks
from tests.scenarios.conftest import Recorder
from tests.scenarios.helpers import (
    REPEATS,
    WAYS,
    Conn,
    make_agent,
    make_issue,
    make_runtime,
    make_workspace,
    race,
)

NOOP = NoopClient()


def test_concurrent_completions_emit_issue_executed_once(
    pool: list[Conn], db: Conn, recorder: Recorder
) -> None:
    ws, owner = make_workspace(db)
    rt = make_runtime(db, ws)
    agent_ids = [make_agent(db, ws, rt.id) for _ in range(4)]
    for rep in range(REPEATS):
        issue = make_issue(db, ws, owner)
        queued = [
            tasks.enqueue_task(db, agent_id=agent_ids[i % 4], issue_id=issue, priority=0)
            for i in range(WAYS)
        ]
        live = [tasks.claim_next_task(db, runtime_id=rt.id) for _ in queued]
        ids = [t.id for t in live if t is not None]
        assert len(ids) == WAYS

        def complete(
            c: Conn, i: int, ids: list[uuid.UUID] = ids
        ) -> tuple[AgentTaskQueue | None, bool]:
            return complete_task(c, recorder.client, task_id=ids[i], result={"n": i})

        results = race(pool, complete)

        assert all(task is not None for task, _ in results), "every live task completes"
        assert sum(first for _, first in results) == 1
        got = issues.get_issue(db, id=issue)
        assert got is not None and got.first_executed_at is not None
        executed = recorder.events("issue_executed")
        assert len(executed) == rep + 1
        assert executed[-1]["properties"]["issue_id"] == str(issue)
        assert executed[-1]["distinct_id"] == str(owner)

    executed_list = issues.list_executed_issues(db, workspace_id=ws, max_rows=100)
    assert len(executed_list) == REPEATS
    never = make_issue(db, ws, owner)
    assert never not in {i.id for i in executed_list}
    assert issues.count_executed_issues_in_workspace(db, workspace_id=ws) == REPEATS


def test_retries_reassignments_and_follow_ups_emit_nothing_more(
    pool: list[Conn], db: Conn, recorder: Recorder
) -> None:
    ws, owner = make_workspace(db)
    rt = make_runtime(db, ws)
    first_agent, second_agent = make_agent(db, ws, rt.id), make_agent(db, ws, rt.id)
    issue = make_issue(db, ws, owner)
    c = pool[0]

    # Attempt 1 fails, is retried, and the retry is the first completion.
    task = enqueue_task(c, recorder.client, agent_id=first_agent, issue_id=issue)
    assert task is not None
    assert claim_task(c, recorder.client, runtime_id=rt.id) is not None
    assert fail_task(c, recorder.client, task_id=task.id, error="boom") is not None
    assert complete_task(c, recorder.client, task_id=task.id) == (None, False), (
        "a failed task cannot complete"
    )
    assert retry_task(c, recorder.client, task_id=task.id) is not None
    claimed = claim_task(c, recorder.client, runtime_id=rt.id)
    assert claimed is not None and claimed.id == task.id and claimed.attempt == 2
    done, first = complete_task(c, recorder.client, task_id=task.id)
    assert done is not None and first

    # A duplicate completion report of the same task.
    assert complete_task(c, recorder.client, task_id=task.id) == (None, False)
    # Re-assignment to another agent, whose task then completes.
    moved = reassign_issue(c, recorder.client, issue_id=issue, agent_id=second_agent)
    assert moved is not None and moved.agent_id == second_agent
    assert claim_task(c, recorder.client, runtime_id=rt.id) is not None
    assert complete_task(c, recorder.client, task_id=moved.id)[1] is False
    # A follow-up task on the same issue.
    follow = enqueue_task(c, recorder.client, agent_id=first_agent, issue_id=issue)
    assert follow is not None
    assert claim_task(c, recorder.client, runtime_id=rt.id) is not None
    assert complete_task(c, recorder.client, task_id=follow.id)[1] is False

    assert len(recorder.events("issue_executed")) == 1
    history = tasks.list_tasks_by_issue(db, issue_id=issue)
    assert [t.status for t in history] == [TaskStatus.COMPLETED] * 3


def test_concurrent_claims_never_hand_out_a_task_twice(pool: list[Conn], db: Conn) -> None:
    ws, owner = make_workspace(db)
    for _ in range(REPEATS):
        rt = make_runtime(db, ws)
        agent = make_agent(db, ws, rt.id)
        issue = make_issue(db, ws, owner)
        half = WAYS // 2
        for p in range(half):
            tasks.enqueue_task(db, agent_id=agent, issue_id=issue, priority=p)

        # Twice as many workers as tasks: every task claimed once, the rest get None.
        def claim(c: Conn, i: int, rt_id: uuid.UUID = rt.id) -> AgentTaskQueue | None:
            return claim_task(c, NOOP, runtime_id=rt_id)

        claims = race(pool, claim)
        got = [t for t in claims if t is not None]
        assert len(got) == half
        assert len({t.id for t in got}) == half, "a task was claimed twice"
        rows = tasks.list_tasks_by_runtime(db, runtime_id=rt.id, status=TaskStatus.DISPATCHED)
        assert len(rows) == half and all(t.attempt == 1 for t in rows)


def test_claim_skips_a_row_another_worker_holds(connect: Callable[[], Conn], db: Conn) -> None:
    """SKIP LOCKED: a worker mid-claim does not make the next worker wait."""
    ws, owner = make_workspace(db)
    rt = make_runtime(db, ws)
    agent = make_agent(db, ws, rt.id)
    issue = make_issue(db, ws, owner)
    high = tasks.enqueue_task(db, agent_id=agent, issue_id=issue, priority=10)
    low = tasks.enqueue_task(db, agent_id=agent, issue_id=issue, priority=1)
    assert high is not None and low is not None

    holder, other = connect(), connect()
    first = tasks.claim_next_task(holder, runtime_id=rt.id)  # transaction left open
    assert first is not None and first.id == high.id
    try:
        other.execute("SET lock_timeout = '2s'")
        try:
            second = tasks.claim_next_task(other, runtime_id=rt.id)
        except psycopg.errors.LockNotAvailable:
            pytest.fail("the claim waited for another worker's uncommitted claim")
        assert second is not None and second.id == low.id
        other.commit()
    finally:
        holder.rollback()
    # The holder rolled back: its task is claimable again.
    again = tasks.claim_next_task(db, runtime_id=rt.id)
    assert again is not None and again.id == high.id


def test_enqueue_refuses_archived_agents_and_cancel(db: Conn) -> None:
    from multica_db.queries import agents

    ws, owner = make_workspace(db)
    rt = make_runtime(db, ws)
    agent = make_agent(db, ws, rt.id)
    issue = make_issue(db, ws, owner)
    t = tasks.enqueue_task(db, agent_id=agent, issue_id=issue, priority=0)
    assert t is not None and t.runtime_id == rt.id
    assert tasks.cancel_task(db, id=t.id) is not None
    assert tasks.cancel_task(db, id=t.id) is None
    assert tasks.claim_next_task(db, runtime_id=rt.id) is None
    assert agents.archive_agent(db, id=agent) is not None
    assert agents.archive_agent(db, id=agent) is None
    assert tasks.enqueue_task(db, agent_id=agent, issue_id=issue, priority=0) is None
    assert agents.list_agents_by_workspace(db, workspace_id=ws, include_archived=False) == []
    assert [a.id for a in agents.list_agents_by_ids(db, ids=[agent, uuid.uuid4()])] == [agent]
