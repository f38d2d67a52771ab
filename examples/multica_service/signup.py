"""Sign-up: find-or-create by email; the signup event only for the creator."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from examples.multica_service.uow import unit_of_work
from multica_db import analytics
from multica_db.analytics import AnalyticsClient, SignupSource
from multica_db.analytics.events import SignupMethod
from multica_db.models import AppUser
from multica_db.queries import users


def sign_up(
    conn: Connection[Any],
    client: AnalyticsClient,
    *,
    email: str,
    name: str = "",
    method: SignupMethod = "verification_code",
    source: SignupSource | None = None,
) -> tuple[AppUser, bool]:
    """The user for ``email`` and whether this call created it.

    Safe under concurrent sign-ups of one address: all callers get the same
    row, exactly one gets ``created=True`` and emits ``signup``.
    """
    with unit_of_work(conn, client) as outbox:
        row = users.find_or_create_user(conn, email=email, name=name)
        if row.created:
            outbox.add(
                analytics.signup(
                    user_id=row.id, email=row.email, method=method, signup_source=source
                )
            )
    user = AppUser.model_validate(row.model_dump(exclude={"created"}))
    return user, row.created
