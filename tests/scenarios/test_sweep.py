"""The stale-runtime sweep: offline, orphaned tasks failed, dead runtimes deleted."""

from __future__ import annotations

import uuid

from examples.multica_service import sweep_stale_runtimes
from multica_db.models import TaskStatus
from multica_db.queries import agent_runtime, agents, tasks
from tests.scenarios.conftest import Recorder
from tests.scenarios.helpers import Conn, make_agent, make_issue, make_runtime, make_workspace

STALE = 60.0
TTL = 3600.0


def _silent_for(db: Conn, runtime_id: uuid.UUID, seconds: float, status: str) -> None:
    db.execute(
        "UPDATE agent_runtime SET last_seen_at = now() - make_interval(secs => %s), status = %s"
        " WHERE id = %s",
        (seconds, status, runtime_id),
    )


def _task(db: Conn, agent: uuid.UUID, issue: uuid.UUID, status: TaskStatus) -> uuid.UUID:
    t = tasks.enqueue_task(db, agent_id=agent, issue_id=issue, priority=0)
    assert t is not None
    if status is not TaskStatus.QUEUED:
        claimed = tasks.claim_next_task(db, runtime_id=t.runtime_id)
        assert claimed is not None and claimed.id == t.id
    if status is TaskStatus.RUNNING:
        assert tasks.start_task(db, id=t.id) is not None
    if status is TaskStatus.COMPLETED:
        assert tasks.complete_task(db, id=t.id) is not None
    return t.id


def test_sweep(pool: list[Conn], db: Conn, recorder: Recorder) -> None:
    ws, owner = make_workspace(db)
    issue = make_issue(db, ws, owner)

    silent = make_runtime(db, ws)  # online, silent past the threshold
    silent_agent = make_agent(db, ws, silent.id)
    running = _task(db, silent_agent, issue, TaskStatus.RUNNING)
    dispatched = _task(db, silent_agent, issue, TaskStatus.DISPATCHED)
    finished = _task(db, silent_agent, issue, TaskStatus.COMPLETED)
    waiting = _task(db, silent_agent, issue, TaskStatus.QUEUED)
    _silent_for(db, silent.id, STALE * 2, "online")

    alive = make_runtime(db, ws)  # heartbeating: untouched
    alive_task = _task(db, make_agent(db, ws, alive.id), issue, TaskStatus.RUNNING)

    dead_empty = make_runtime(db, ws)  # offline past the TTL, no agents: deleted
    _silent_for(db, dead_empty.id, TTL * 2, "offline")
    dead_archived = make_runtime(db, ws)  # ... but its (archived) agent keeps it
    agents.archive_agent(db, id=make_agent(db, ws, dead_archived.id))
    _silent_for(db, dead_archived.id, TTL * 2, "offline")
    dead_active = make_runtime(db, ws)  # ... an active agent keeps it too
    make_agent(db, ws, dead_active.id)
    _silent_for(db, dead_active.id, TTL * 2, "offline")
    recently_offline = make_runtime(db, ws)  # offline within the TTL: kept
    _silent_for(db, recently_offline.id, STALE * 2, "offline")

    result = sweep_stale_runtimes(pool[0], recorder.client, stale_seconds=STALE, ttl_seconds=TTL)

    assert set(result.offline) == {silent.id}
    assert set(result.failed_tasks) == {running, dispatched}
    assert set(result.deleted) == {dead_empty.id}

    def status(rt: uuid.UUID) -> str | None:
        row = agent_runtime.get_agent_runtime(db, id=rt)
        return None if row is None else row.status

    assert status(silent.id) == "offline"
    assert status(alive.id) == "online"
    assert status(dead_empty.id) is None
    assert status(dead_archived.id) == "offline"
    assert status(dead_active.id) == "offline"
    assert status(recently_offline.id) == "offline"

    for failed in (running, dispatched):
        t = tasks.get_task(db, id=failed)
        assert t is not None and t.status is TaskStatus.FAILED
        assert t.error == "runtime went offline" and t.completed_at is not None
    for tid, want in ((finished, TaskStatus.COMPLETED), (waiting, TaskStatus.QUEUED)):
        t = tasks.get_task(db, id=tid)
        assert t is not None and t.status is want and t.error is None
    t = tasks.get_task(db, id=alive_task)
    assert t is not None and t.status is TaskStatus.RUNNING

    # A second sweep finds nothing more to do, and sweeps are never analytics.
    again = sweep_stale_runtimes(pool[0], recorder.client, stale_seconds=STALE, ttl_seconds=TTL)
    assert (again.offline, again.failed_tasks, again.deleted) == ((), (), ())
    assert recorder.events() == []
