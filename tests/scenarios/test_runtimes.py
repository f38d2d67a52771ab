"""Daemon registration: one row and one ``runtime_registered`` however many race;
re-registration and heartbeats are silent; case-drifted legacy rows are merged."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from examples.multica_service import RuntimeRegistration, heartbeat, register_runtime
from multica_db.models import TaskStatus
from multica_db.queries import agent_runtime, agents, tasks
from tests.scenarios.conftest import Recorder
from tests.scenarios.helpers import (
    REPEATS,
    Conn,
    make_agent,
    make_issue,
    make_runtime,
    make_workspace,
    race,
)


def test_concurrent_registrations_make_one_runtime_and_one_event(
    pool: list[Conn], db: Conn, recorder: Recorder
) -> None:
    ws, owner = make_workspace(db)
    for rep in range(REPEATS):
        daemon_id = str(uuid.uuid4())

        def register(c: Conn, i: int, daemon_id: str = daemon_id) -> RuntimeRegistration:
            return register_runtime(
                c,
                recorder.client,
                workspace_id=ws,
                daemon_id=daemon_id,
                provider="claude",
                name=f"host-{i}",
                owner_id=owner,
            )

        results = race(pool, register)

        assert len({r.runtime.id for r in results}) == 1
        assert sum(r.inserted for r in results) == 1
        assert len(agent_runtime.list_agent_runtimes(db, workspace_id=ws)) == rep + 1
        events = recorder.events("runtime_registered")
        assert len(events) == rep + 1
        assert events[-1]["properties"]["runtime_id"] == str(results[0].runtime.id)

    # Re-registration and heartbeats are not first-time facts.
    again = register(pool[0], 0)
    assert not again.inserted
    assert heartbeat(pool[1], recorder.client, runtime_id=again.runtime.id) is not None
    assert len(recorder.events("runtime_registered")) == REPEATS


def test_case_drifted_legacy_rows_are_merged_in_one_transaction(
    pool: list[Conn], db: Conn, recorder: Recorder
) -> None:
    ws, owner = make_workspace(db)
    # Two historical rows for the same machine whose hostname changed case.
    old_a = make_runtime(db, ws, daemon_id="Jiayuans-MacBook-Pro.local")
    old_b = make_runtime(db, ws, daemon_id="jiayuans-macbook-pro.local")
    other_provider = make_runtime(db, ws, daemon_id="jiayuans-macbook-pro.local", provider="codex")
    unrelated = make_runtime(db, ws, daemon_id="someone-else")
    agent_a = make_agent(db, ws, old_a.id)
    agent_b = make_agent(db, ws, old_b.id)
    agents.archive_agent(db, id=agent_b)
    issue = make_issue(db, ws, owner)
    done = tasks.enqueue_task(db, agent_id=agent_a, issue_id=issue, priority=0)
    assert done is not None
    assert tasks.claim_next_task(db, runtime_id=old_a.id) is not None
    assert tasks.complete_task(db, id=done.id, result={"ok": True}) is not None
    queued = tasks.enqueue_task(db, agent_id=agent_a, issue_id=issue, priority=0)
    assert queued is not None

    new_daemon = str(uuid.uuid4())

    def register(c: Conn, i: int) -> RuntimeRegistration:
        return register_runtime(
            c,
            recorder.client,
            workspace_id=ws,
            daemon_id=new_daemon,
            provider="claude",
            name="laptop",
            owner_id=owner,
            legacy_daemon_id="JIAYUANS-MACBOOK-PRO.LOCAL",
        )

    # Every concurrent registration must succeed; exactly one inserts and merges.
    results = race(pool, register)
    new = results[0].runtime
    assert {r.runtime.id for r in results} == {new.id}
    assert sum(r.inserted for r in results) == 1
    merged = {m for r in results for m in r.merged_runtime_ids}
    assert merged == {old_a.id, old_b.id}

    assert agent_runtime.get_agent_runtime(db, id=old_a.id) is None
    assert agent_runtime.get_agent_runtime(db, id=old_b.id) is None
    assert agent_runtime.get_agent_runtime(db, id=other_provider.id) is not None
    assert agent_runtime.get_agent_runtime(db, id=unrelated.id) is not None
    assert new.legacy_daemon_id in {old_a.daemon_id, old_b.daemon_id}
    moved = agents.list_agents_by_runtime(db, runtime_id=new.id, include_archived=True)
    assert {a.id for a in moved} == {agent_a, agent_b}
    history = tasks.list_tasks_by_issue(db, issue_id=issue)
    assert [(t.id, t.status, t.runtime_id) for t in history] == [
        (done.id, TaskStatus.COMPLETED, new.id),
        (queued.id, TaskStatus.QUEUED, new.id),
    ]
    claimed = tasks.claim_next_task(db, runtime_id=new.id)
    assert claimed is not None and claimed.id == queued.id

    events = recorder.events("runtime_registered")
    assert len(events) == 1
    assert events[0]["properties"]["runtime_id"] == str(new.id)


def test_a_merge_that_fails_halfway_leaves_everything_as_it_was(
    pool: list[Conn], db: Conn, recorder: Recorder
) -> None:
    ws, owner = make_workspace(db)
    old = make_runtime(db, ws, daemon_id="Old-Host.local")
    agent = make_agent(db, ws, old.id)
    issue = make_issue(db, ws, owner)
    task = tasks.enqueue_task(db, agent_id=agent, issue_id=issue, priority=0)
    assert task is not None
    # Sabotage the last step (deleting the old row) after agents and tasks moved.
    db.execute(
        """
        CREATE FUNCTION scenario_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refusing to delete %', OLD.daemon_id; END $$;
        CREATE TRIGGER scenario_refuse_delete BEFORE DELETE ON agent_runtime
            FOR EACH ROW EXECUTE FUNCTION scenario_refuse_delete();
        """
    )
    try:
        with pytest.raises(psycopg.errors.RaiseException):
            register_runtime(
                pool[0],
                recorder.client,
                workspace_id=ws,
                daemon_id=str(uuid.uuid4()),
                provider="claude",
                name="laptop",
                legacy_daemon_id="old-host.local",
            )
    finally:
        db.execute("DROP TRIGGER scenario_refuse_delete ON agent_runtime")
        db.execute("DROP FUNCTION scenario_refuse_delete()")

    assert [r.id for r in agent_runtime.list_agent_runtimes(db, workspace_id=ws)] == [old.id]
    still = agents.get_agent(db, id=agent)
    assert still is not None and still.runtime_id == old.id
    moved = tasks.get_task(db, id=task.id)
    assert moved is not None and moved.runtime_id == old.id
    assert recorder.events() == []
