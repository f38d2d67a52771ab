"""The seed's seventeen queries, called through the generated code against PostgreSQL.

Each test asserts what the query's comment promises, in the sync flavour; the
async flavour is exercised by the same scenarios in ``test_seed_queries_async``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import psycopg
import pytest

from multica_db import models
from multica_db.queries import agent_runtime as q

Conn = psycopg.Connection[Any]


def make_workspace(conn: Conn, slug: str | None = None) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO workspace (name, slug) VALUES ('w', %s) RETURNING id",
        (slug or uuid.uuid4().hex,),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def register(conn: Conn, ws: uuid.UUID, daemon: str = "d1", **kw: Any) -> q.UpsertAgentRuntimeRow:
    args: dict[str, Any] = {
        "workspace_id": ws,
        "daemon_id": daemon,
        "name": "laptop",
        "runtime_mode": "local",
        "provider": "claude",
        "status": "online",
        "device_info": "macOS",
        "metadata": {"cpu": 8},
        "owner_id": None,
    }
    args.update(kw)
    return q.upsert_agent_runtime(conn, **args)


def make_agent(conn: Conn, ws: uuid.UUID, runtime: uuid.UUID, archived: bool = False) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO agent (workspace_id, runtime_id, name, archived_at) "
        "VALUES (%s, %s, 'a', CASE WHEN %s THEN now() END) RETURNING id",
        (ws, runtime, archived),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def make_task(
    conn: Conn, ws: uuid.UUID, agent: uuid.UUID, runtime: uuid.UUID, status: str
) -> uuid.UUID:
    issue = conn.execute(
        "INSERT INTO issue (workspace_id, number, title) "
        "VALUES (%s, (SELECT coalesce(max(number), 0) + 1 FROM issue), 't') RETURNING id",
        (ws,),
    ).fetchone()
    assert issue is not None
    row = conn.execute(
        "INSERT INTO agent_task_queue (agent_id, issue_id, runtime_id, status) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (agent, issue[0], runtime, status),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def age(conn: Conn, runtime: uuid.UUID, seconds: int) -> None:
    conn.execute(
        "UPDATE agent_runtime SET last_seen_at = now() - make_interval(secs => %s) WHERE id = %s",
        (seconds, runtime),
    )


def test_upsert_reports_inserted_only_on_first_registration(conn: Conn) -> None:
    ws = make_workspace(conn)
    first = register(conn, ws, metadata={"v": 1})
    assert isinstance(first, q.UpsertAgentRuntimeRow)
    assert first.inserted is True
    assert first.metadata == {"v": 1}
    assert first.owner_id is None
    again = register(conn, ws, name="renamed", metadata={"v": 2}, status="offline")
    assert again.inserted is False
    assert again.id == first.id
    assert (again.name, again.metadata, again.status) == ("renamed", {"v": 2}, "offline")


def test_upsert_keeps_owner_when_reregistered_without_one(conn: Conn) -> None:
    ws = make_workspace(conn)
    user = conn.execute("INSERT INTO app_user (email) VALUES ('o@x.io') RETURNING id").fetchone()
    assert user is not None
    owned = register(conn, ws, owner_id=user[0])
    assert owned.owner_id == user[0]
    assert register(conn, ws, owner_id=None).owner_id == user[0]


def test_get_list_and_workspace_scoping(conn: Conn) -> None:
    ws, other = make_workspace(conn), make_workspace(conn)
    a = register(conn, ws, daemon="a")
    b = register(conn, ws, daemon="b")
    register(conn, other, daemon="c")
    got = q.get_agent_runtime(conn, id=a.id)
    assert isinstance(got, models.AgentRuntime)
    assert got.id == a.id and got.daemon_id == "a"
    assert isinstance(got.created_at, datetime.datetime) and got.created_at.tzinfo is not None
    assert q.get_agent_runtime(conn, id=uuid.uuid4()) is None
    assert q.get_agent_runtime_for_workspace(conn, id=a.id, workspace_id=ws) is not None
    assert q.get_agent_runtime_for_workspace(conn, id=a.id, workspace_id=other) is None
    listed = q.list_agent_runtimes(conn, workspace_id=ws)
    assert [r.id for r in listed] == [a.id, b.id]  # ORDER BY created_at ASC
    assert q.list_agent_runtimes(conn, workspace_id=uuid.uuid4()) == []


def test_list_by_owner(conn: Conn) -> None:
    ws = make_workspace(conn)
    user = conn.execute("INSERT INTO app_user (email) VALUES ('p@x.io') RETURNING id").fetchone()
    assert user is not None
    mine = register(conn, ws, daemon="mine", owner_id=user[0])
    register(conn, ws, daemon="nobody")
    rows = q.list_agent_runtimes_by_owner(conn, workspace_id=ws, owner_id=user[0])
    assert [r.id for r in rows] == [mine.id]


def test_heartbeat_and_offline(conn: Conn) -> None:
    ws = make_workspace(conn)
    rt = register(conn, ws, status="offline")
    age(conn, rt.id, 600)
    beat = q.update_agent_runtime_heartbeat(conn, id=rt.id)
    assert beat is not None and beat.status == "online"
    assert beat.last_seen_at > rt.last_seen_at - datetime.timedelta(seconds=1)
    assert q.update_agent_runtime_heartbeat(conn, id=uuid.uuid4()) is None
    assert q.set_agent_runtime_offline(conn, id=rt.id) is None
    got = q.get_agent_runtime(conn, id=rt.id)
    assert got is not None and got.status == "offline"


def test_mark_stale_runtimes_offline_only_touches_silent_online_ones(conn: Conn) -> None:
    ws = make_workspace(conn)
    stale = register(conn, ws, daemon="stale")
    fresh = register(conn, ws, daemon="fresh")
    age(conn, stale.id, 120)
    rows = q.mark_stale_runtimes_offline(conn, stale_seconds=60.0)
    assert [(r.id, r.workspace_id) for r in rows] == [(stale.id, ws)]
    fresh_row = q.get_agent_runtime(conn, id=fresh.id)
    assert fresh_row is not None and fresh_row.status == "online"
    assert q.mark_stale_runtimes_offline(conn, stale_seconds=60.0) == []  # already offline


def test_fail_tasks_for_offline_runtimes_fails_only_dispatched_and_running(conn: Conn) -> None:
    ws = make_workspace(conn)
    off = register(conn, ws, daemon="off", status="offline")
    on = register(conn, ws, daemon="on", status="online")
    agent_off, agent_on = make_agent(conn, ws, off.id), make_agent(conn, ws, on.id)
    tasks = {
        s: make_task(conn, ws, agent_off, off.id, s)
        for s in ("queued", "dispatched", "running", "completed", "failed", "cancelled")
    }
    healthy = make_task(conn, ws, agent_on, on.id, "running")
    rows = q.fail_tasks_for_offline_runtimes(conn)
    assert {r.id for r in rows} == {tasks["dispatched"], tasks["running"]}
    assert all(r.agent_id == agent_off for r in rows)
    status = dict(conn.execute("SELECT id, status::text FROM agent_task_queue").fetchall())
    assert status[tasks["queued"]] == "queued" and status[tasks["completed"]] == "completed"
    assert status[healthy] == "running"
    err = conn.execute(
        "SELECT error, completed_at IS NOT NULL FROM agent_task_queue WHERE id = %s",
        (tasks["running"],),
    ).fetchone()
    assert err == ("runtime went offline", True)


def test_count_and_delete_archived_agents(conn: Conn) -> None:
    ws = make_workspace(conn)
    rt = register(conn, ws)
    assert q.count_active_agents_by_runtime(conn, runtime_id=rt.id) == 0
    make_agent(conn, ws, rt.id)
    make_agent(conn, ws, rt.id)
    archived = make_agent(conn, ws, rt.id, archived=True)
    count = q.count_active_agents_by_runtime(conn, runtime_id=rt.id)
    assert count == 2 and isinstance(count, int)
    q.delete_archived_agents_by_runtime(conn, runtime_id=rt.id)
    left = conn.execute("SELECT count(*) FROM agent WHERE id = %s", (archived,)).fetchone()
    assert left == (0,)
    assert q.count_active_agents_by_runtime(conn, runtime_id=rt.id) == 2


def test_find_legacy_runtimes_is_case_insensitive_and_returns_every_duplicate(conn: Conn) -> None:
    ws = make_workspace(conn)
    a = register(conn, ws, daemon="Foo.local")
    b = register(conn, ws, daemon="foo.local")
    register(conn, ws, daemon="foo.local", provider="codex")  # another provider
    register(conn, ws, daemon="bar.local")
    rows = q.find_legacy_runtimes_by_daemon_id(
        conn, workspace_id=ws, provider="claude", daemon_id="FOO.LOCAL"
    )
    assert {r.id for r in rows} == {a.id, b.id}
    assert all(isinstance(r, models.AgentRuntime) for r in rows)


def test_reassign_agents_and_tasks_then_delete_keeps_history(conn: Conn) -> None:
    ws = make_workspace(conn)
    old = register(conn, ws, daemon="Old-Host")
    new = register(conn, ws, daemon=str(uuid.uuid4()))
    agents = [make_agent(conn, ws, old.id) for _ in range(3)]
    tasks = [make_task(conn, ws, agents[0], old.id, s) for s in ("completed", "running")]
    assert q.reassign_agents_to_runtime(conn, new_runtime_id=new.id, old_runtime_id=old.id) == 3
    assert q.reassign_tasks_to_runtime(conn, new_runtime_id=new.id, old_runtime_id=old.id) == 2
    assert q.reassign_tasks_to_runtime(conn, new_runtime_id=new.id, old_runtime_id=old.id) == 0
    q.delete_agent_runtime(conn, id=old.id)
    kept = conn.execute(
        "SELECT count(*) FROM agent_task_queue WHERE id = ANY(%s) AND runtime_id = %s",
        (tasks, new.id),
    ).fetchone()
    assert kept == (2,), "deleting the old runtime must not cascade to moved tasks"


def test_record_legacy_daemon_id_only_overwrites_null(conn: Conn) -> None:
    ws = make_workspace(conn)
    rt = register(conn, ws)
    q.record_runtime_legacy_daemon_id(conn, id=rt.id, legacy_daemon_id="first-host")
    q.record_runtime_legacy_daemon_id(conn, id=rt.id, legacy_daemon_id="second-host")
    got = q.get_agent_runtime(conn, id=rt.id)
    assert got is not None and got.legacy_daemon_id == "first-host"


def test_delete_stale_offline_runtimes_never_deletes_referenced_ones(conn: Conn) -> None:
    ws = make_workspace(conn)
    lonely = register(conn, ws, daemon="lonely", status="offline")
    with_active = register(conn, ws, daemon="active", status="offline")
    with_archived = register(conn, ws, daemon="archived", status="offline")
    recent = register(conn, ws, daemon="recent", status="offline")
    online = register(conn, ws, daemon="online", status="online")
    make_agent(conn, ws, with_active.id)
    make_agent(conn, ws, with_archived.id, archived=True)
    for rt in (lonely, with_active, with_archived, online):
        age(conn, rt.id, 3600)
    rows = q.delete_stale_offline_runtimes(conn, stale_seconds=600.0)
    assert [(r.id, r.workspace_id) for r in rows] == [(lonely.id, ws)]
    remaining = {r.id for r in q.list_agent_runtimes(conn, workspace_id=ws)}
    assert remaining == {with_active.id, with_archived.id, recent.id, online.id}


def test_execrows_counts_are_true_row_counts(conn: Conn) -> None:
    ws = make_workspace(conn)
    a, b = register(conn, ws, daemon="a"), register(conn, ws, daemon="b")
    for _ in range(5):
        make_agent(conn, ws, a.id)
    assert q.reassign_agents_to_runtime(conn, new_runtime_id=b.id, old_runtime_id=a.id) == 5
    assert q.reassign_agents_to_runtime(conn, new_runtime_id=b.id, old_runtime_id=a.id) == 0


def test_models_are_real_pydantic_models(conn: Conn) -> None:
    ws = make_workspace(conn)
    rt = register(conn, ws)
    dumped = rt.model_dump()
    assert dumped["inserted"] is True and dumped["workspace_id"] == ws
    again = q.UpsertAgentRuntimeRow.model_validate(dumped)
    assert again == rt
    with pytest.raises(ValueError):
        q.UpsertAgentRuntimeRow.model_validate({**dumped, "id": "not-a-uuid"})
