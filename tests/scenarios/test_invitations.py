"""Invitations: sent once → ``team_invite_sent``; concurrent accepts → one
membership and one ``team_invite_accepted``."""

from __future__ import annotations

import uuid

from examples.multica_service import accept_invitation, send_invitation
from multica_db.models import Invitation, InvitationStatus, MemberRole
from multica_db.queries import invitations, workspaces
from tests.scenarios.conftest import Recorder
from tests.scenarios.helpers import REPEATS, WAYS, Conn, make_user, make_workspace, race


def test_concurrent_accepts_join_once_and_emit_once(
    pool: list[Conn], db: Conn, recorder: Recorder
) -> None:
    ws, owner = make_workspace(db)
    for rep in range(REPEATS):
        inv = send_invitation(
            pool[0],
            recorder.client,
            workspace_id=ws,
            inviter_id=owner,
            email="teammate@corp.example",
            role=MemberRole.ADMIN,
        )
        assert len(recorder.events("team_invite_sent")) == rep + 1
        # The link was forwarded: different people race to accept it.
        people = [make_user(db) for _ in range(WAYS)]

        def accept(
            c: Conn, i: int, people: list[uuid.UUID] = people, token: str = inv.token
        ) -> Invitation | None:
            return accept_invitation(c, recorder.client, token=token, user_id=people[i])

        results = race(pool, accept)

        winners = [people[i] for i, r in enumerate(results) if r is not None]
        assert len(winners) == 1
        members = workspaces.list_workspace_members(db, workspace_id=ws)
        joined = {m.user_id for m in members} & set(people)
        assert joined == set(winners)
        assert {m.role for m in members if m.user_id in joined} == {MemberRole.ADMIN}
        stored = invitations.get_invitation_by_token(db, token=inv.token)
        assert stored is not None
        assert stored.status is InvitationStatus.ACCEPTED and stored.accepted_by == winners[0]
        accepted = recorder.events("team_invite_accepted")
        assert len(accepted) == rep + 1
        assert accepted[-1]["distinct_id"] == str(winners[0])
        assert accepted[-1]["properties"]["inviter_id"] == str(owner)

    sent = recorder.events("team_invite_sent")
    assert len(sent) == REPEATS
    assert {e["properties"]["invitee_email_domain"] for e in sent} == {"corp.example"}


def test_second_accept_revoked_and_expired_change_nothing(
    pool: list[Conn], db: Conn, recorder: Recorder
) -> None:
    ws, owner = make_workspace(db)
    user = make_user(db)
    c = pool[0]

    inv = send_invitation(c, recorder.client, workspace_id=ws, inviter_id=owner, email="a@b.io")
    assert accept_invitation(c, recorder.client, token=inv.token, user_id=user) is not None
    assert accept_invitation(c, recorder.client, token=inv.token, user_id=user) is None

    revoked = send_invitation(c, recorder.client, workspace_id=ws, inviter_id=owner, email="r@b.io")
    other_ws, _ = make_workspace(db)
    assert invitations.revoke_invitation(db, id=revoked.id, workspace_id=other_ws) is None
    assert invitations.revoke_invitation(db, id=revoked.id, workspace_id=ws) is not None
    assert accept_invitation(c, recorder.client, token=revoked.token, user_id=user) is None

    stale = send_invitation(
        c, recorder.client, workspace_id=ws, inviter_id=owner, email="e@b.io", ttl_seconds=-1
    )
    live = send_invitation(c, recorder.client, workspace_id=ws, inviter_id=owner, email="l@b.io")
    assert [i.id for i in invitations.list_pending_invitations(db, workspace_id=ws)] == [live.id]
    assert accept_invitation(c, recorder.client, token=stale.token, user_id=user) is None
    assert [r.id for r in invitations.expire_invitations(db)] == [stale.id]
    expired = invitations.get_invitation_by_token(db, token=stale.token)
    assert expired is not None and expired.status is InvitationStatus.EXPIRED

    assert len(recorder.events("team_invite_sent")) == 4
    assert len(recorder.events("team_invite_accepted")) == 1
    assert workspaces.count_workspace_members(db, workspace_id=ws) == 2
