"""Daemon registration (with legacy-id merge), heartbeats and the stale sweep."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from pydantic import JsonValue

from examples.multica_service.uow import unit_of_work
from multica_db import analytics
from multica_db.analytics import AnalyticsClient
from multica_db.models import AgentRuntime
from multica_db.queries import agent_runtime


@dataclass(frozen=True)
class RuntimeRegistration:
    runtime: AgentRuntime
    inserted: bool
    merged_runtime_ids: tuple[uuid.UUID, ...]


def register_runtime(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    workspace_id: uuid.UUID,
    daemon_id: str,
    provider: str,
    name: str,
    runtime_mode: str = "local",
    device_info: str = "",
    metadata: JsonValue = None,
    owner_id: uuid.UUID | None = None,
    legacy_daemon_id: str | None = None,
) -> RuntimeRegistration:
    """Upsert the runtime; merge rows left under the old hostname-derived id.

    ``runtime_registered`` goes out only when the upsert inserted (``xmax = 0``)
    — re-registrations and concurrent duplicates update and stay silent. Rows
    whose daemon_id equals ``legacy_daemon_id`` up to case are folded into the
    new row in the same transaction: agents and tasks re-pointed (history
    kept), the legacy id recorded, the old rows deleted.
    """
    merged: list[uuid.UUID] = []
    with unit_of_work(conn, client) as outbox:
        row = agent_runtime.upsert_agent_runtime(
            conn,
            workspace_id=workspace_id,
            daemon_id=daemon_id,
            name=name,
            runtime_mode=runtime_mode,
            provider=provider,
            status="online",
            device_info=device_info,
            metadata=metadata if metadata is not None else {},
            owner_id=owner_id,
        )
        if legacy_daemon_id is not None:
            for old in agent_runtime.find_legacy_runtimes_by_daemon_id(
                conn, workspace_id=workspace_id, provider=provider, daemon_id=legacy_daemon_id
            ):
                if old.id == row.id:
                    continue
                agent_runtime.reassign_agents_to_runtime(
                    conn, new_runtime_id=row.id, old_runtime_id=old.id
                )
                agent_runtime.reassign_tasks_to_runtime(
                    conn, new_runtime_id=row.id, old_runtime_id=old.id
                )
                agent_runtime.record_runtime_legacy_daemon_id(
                    conn, id=row.id, legacy_daemon_id=old.daemon_id
                )
                agent_runtime.delete_agent_runtime(conn, id=old.id)
                merged.append(old.id)
        if row.inserted:
            outbox.add(
                analytics.runtime_registered(
                    workspace_id=workspace_id,
                    runtime_id=row.id,
                    provider=provider,
                    runtime_mode=runtime_mode,
                    owner_id=row.owner_id,
                )
            )
        runtime = agent_runtime.get_agent_runtime(conn, id=row.id)
        assert runtime is not None
    return RuntimeRegistration(runtime, row.inserted, tuple(merged))


def heartbeat(
    conn: Connection[Any], client: AnalyticsClient, *, runtime_id: uuid.UUID
) -> AgentRuntime | None:
    """Mark the runtime online and seen now; never an analytics event."""
    with unit_of_work(conn, client):
        return agent_runtime.update_agent_runtime_heartbeat(conn, id=runtime_id)


@dataclass(frozen=True)
class SweepResult:
    offline: tuple[uuid.UUID, ...]
    failed_tasks: tuple[uuid.UUID, ...]
    deleted: tuple[uuid.UUID, ...]


def sweep_stale_runtimes(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    stale_seconds: float,
    ttl_seconds: float,
) -> SweepResult:
    """The periodic sweep, in one transaction.

    Runtimes silent for ``stale_seconds`` go offline; dispatched/running tasks
    on offline runtimes fail with "runtime went offline"; runtimes offline and
    silent for ``ttl_seconds`` with no agent at all (archived ones count) are
    deleted — the agent FK is RESTRICT, and archived agents keep history.
    """
    with unit_of_work(conn, client):
        offline = agent_runtime.mark_stale_runtimes_offline(conn, stale_seconds=stale_seconds)
        failed = agent_runtime.fail_tasks_for_offline_runtimes(conn)
        deleted = agent_runtime.delete_stale_offline_runtimes(conn, stale_seconds=ttl_seconds)
    return SweepResult(
        tuple(r.id for r in offline), tuple(r.id for r in failed), tuple(r.id for r in deleted)
    )
