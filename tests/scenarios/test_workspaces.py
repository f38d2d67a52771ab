"""Workspace creation: one ``workspace_created`` after commit; a rollback emits nothing."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import errors

from examples.multica_service import create_workspace
from multica_db.analytics import Event, NoopClient
from multica_db.models import MemberRole
from multica_db.queries import workspaces
from tests.scenarios.conftest import Recorder
from tests.scenarios.helpers import Conn, make_user, unique


class CommitWitness(NoopClient):
    """Forwards to the real client, first checking from another connection that
    the event's workspace is already committed (visible to everyone)."""

    def __init__(self, url: str, inner: Any) -> None:
        super().__init__()
        self.url = url
        self.inner = inner
        self.seen_uncommitted: list[str] = []

    def capture(self, event: Event) -> bool:
        ws = str(event.properties["workspace_id"])
        with psycopg.connect(self.url, autocommit=True) as other:
            if other.execute("SELECT 1 FROM workspace WHERE id = %s", (ws,)).fetchone() is None:
                self.seen_uncommitted.append(ws)
        return bool(self.inner.capture(event))


def test_created_workspace_emits_once_after_commit(
    pool: list[Conn], db: Conn, recorder: Recorder, committed_db: str
) -> None:
    owner = make_user(db)
    member = make_user(db)
    witness = CommitWitness(committed_db, recorder.client)

    ws = create_workspace(
        pool[0],
        witness,
        owner_id=owner,
        name="Acme",
        slug=unique("acme"),
        members=[(member, MemberRole.ADMIN)],
    )

    assert witness.seen_uncommitted == [], "event captured before the workspace was committed"
    roles = {m.user_id: m.role for m in workspaces.list_workspace_members(db, workspace_id=ws.id)}
    assert roles == {owner: MemberRole.OWNER, member: MemberRole.ADMIN}
    mine = workspaces.list_workspaces_for_user(db, user_id=owner)
    assert [(w.id, w.role) for w in mine] == [(ws.id, MemberRole.OWNER)]
    events = recorder.events("workspace_created")
    assert len(events) == 1
    assert events[0]["properties"]["workspace_id"] == str(ws.id)
    assert events[0]["distinct_id"] == str(owner)


def test_rolled_back_creation_emits_nothing(pool: list[Conn], db: Conn, recorder: Recorder) -> None:
    owner = make_user(db)
    slug = unique("doomed")
    # The workspace row is inserted, then adding an unknown member fails:
    # the whole transaction rolls back and the outbox is discarded.
    with pytest.raises(errors.ForeignKeyViolation):
        create_workspace(
            pool[0],
            recorder.client,
            owner_id=owner,
            name="Doomed",
            slug=slug,
            members=[(uuid.uuid4(), MemberRole.MEMBER)],
        )
    assert workspaces.get_workspace_by_slug(db, slug=slug) is None
    assert workspaces.list_workspaces_for_user(db, user_id=owner) == []

    # A taken slug: the second creation fails, only the first is announced.
    create_workspace(pool[1], recorder.client, owner_id=owner, name="A", slug=slug)
    with pytest.raises(errors.UniqueViolation):
        create_workspace(pool[2], recorder.client, owner_id=owner, name="B", slug=slug)

    assert len(recorder.events("workspace_created")) == 1


def test_members_add_list_remove(db: Conn) -> None:
    owner = make_user(db)
    ws = workspaces.create_workspace_with_owner(
        db, name="M", slug=unique("m"), description="", owner_id=owner
    )
    assert ws is not None
    assert (
        workspaces.create_workspace_with_owner(
            db, name="X", slug=unique("x"), description="", owner_id=uuid.uuid4()
        )
        is None
    ), "an unknown owner creates nothing"
    u = make_user(db)
    added = workspaces.add_workspace_member(
        db, workspace_id=ws.id, user_id=u, role=MemberRole.MEMBER
    )
    assert added is not None and added.role is MemberRole.MEMBER
    again = workspaces.add_workspace_member(
        db, workspace_id=ws.id, user_id=owner, role=MemberRole.MEMBER
    )
    assert again is None, "an existing membership is kept, not downgraded"
    assert workspaces.count_workspace_members(db, workspace_id=ws.id) == 2
    owners = workspaces.list_workspace_members(db, workspace_id=ws.id, role=MemberRole.OWNER)
    assert [m.user_id for m in owners] == [owner]
    promoted = workspaces.update_workspace_member_role(
        db, workspace_id=ws.id, user_id=u, role=MemberRole.ADMIN
    )
    assert promoted is not None and promoted.role is MemberRole.ADMIN
    assert workspaces.remove_workspace_member(db, workspace_id=ws.id, user_id=u) == 1
    assert workspaces.remove_workspace_member(db, workspace_id=ws.id, user_id=u) == 0
    assert workspaces.delete_workspace(db, id=ws.id) == 1
