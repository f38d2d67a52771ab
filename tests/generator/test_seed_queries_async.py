"""The async flavour: same SQL, same models, awaited on psycopg.AsyncConnection."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from multica_db import models
from multica_db.queries import agent_runtime as sync_q
from multica_db.queries.aio import agent_runtime as q

AConn = psycopg.AsyncConnection[Any]


async def _workspace(conn: AConn) -> uuid.UUID:
    cur = await conn.execute(
        "INSERT INTO workspace (name, slug) VALUES ('w', %s) RETURNING id", (uuid.uuid4().hex,)
    )
    row = await cur.fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


async def _register(
    conn: AConn, ws: uuid.UUID, daemon: str, **kw: Any
) -> sync_q.UpsertAgentRuntimeRow:
    args: dict[str, Any] = dict(
        workspace_id=ws,
        daemon_id=daemon,
        name="n",
        runtime_mode="local",
        provider="claude",
        status="online",
        device_info="",
        metadata={},
        owner_id=None,
    )
    args.update(kw)
    return await q.upsert_agent_runtime(conn, **args)


async def test_async_flavour_round_trip(aconn: AConn) -> None:
    ws = await _workspace(aconn)
    first = await _register(aconn, ws, "Host")
    assert first.inserted is True
    assert (await _register(aconn, ws, "Host")).inserted is False
    dup = await _register(aconn, ws, "host")
    got = await q.get_agent_runtime(aconn, id=first.id)
    assert isinstance(got, models.AgentRuntime) and got.daemon_id == "Host"
    assert await q.get_agent_runtime(aconn, id=uuid.uuid4()) is None
    found = await q.find_legacy_runtimes_by_daemon_id(
        aconn, workspace_id=ws, provider="claude", daemon_id="HOST"
    )
    assert {r.id for r in found} == {first.id, dup.id}
    await q.record_runtime_legacy_daemon_id(aconn, id=first.id, legacy_daemon_id="x")
    await q.record_runtime_legacy_daemon_id(aconn, id=first.id, legacy_daemon_id="y")
    again = await q.get_agent_runtime_for_workspace(aconn, id=first.id, workspace_id=ws)
    assert again is not None and again.legacy_daemon_id == "x"
    assert await q.count_active_agents_by_runtime(aconn, runtime_id=first.id) == 0
    cur = await aconn.execute(
        "INSERT INTO agent (workspace_id, runtime_id, name) VALUES (%s, %s, 'a')", (ws, dup.id)
    )
    assert cur.rowcount == 1
    moved = await q.reassign_agents_to_runtime(
        aconn, new_runtime_id=first.id, old_runtime_id=dup.id
    )
    assert moved == 1
    assert await q.count_active_agents_by_runtime(aconn, runtime_id=first.id) == 1
    assert (
        await q.reassign_tasks_to_runtime(aconn, new_runtime_id=first.id, old_runtime_id=dup.id)
        == 0
    )
    await q.delete_agent_runtime(aconn, id=dup.id)
    assert [r.id for r in await q.list_agent_runtimes(aconn, workspace_id=ws)] == [first.id]
    beat = await q.update_agent_runtime_heartbeat(aconn, id=first.id)
    assert beat is not None and beat.status == "online"
    await q.set_agent_runtime_offline(aconn, id=first.id)
    await aconn.execute(
        "UPDATE agent_runtime SET last_seen_at = now() - interval '1 hour', status = 'online'"
    )
    stale = await q.mark_stale_runtimes_offline(aconn, stale_seconds=60.0)
    assert [r.id for r in stale] == [first.id]
    assert await q.fail_tasks_for_offline_runtimes(aconn) == []
    await q.delete_archived_agents_by_runtime(aconn, runtime_id=first.id)
    assert await q.delete_stale_offline_runtimes(aconn, stale_seconds=60.0) == []  # has an agent
    assert await q.list_agent_runtimes_by_owner(aconn, workspace_id=ws, owner_id=uuid.uuid4()) == []
