"""Sign-up: N concurrent sign-ups of one new email make one user and one ``signup``."""

from __future__ import annotations

from examples.multica_service import sign_up
from multica_db.models import AppUser
from tests.scenarios.conftest import Recorder
from tests.scenarios.helpers import REPEATS, WAYS, Conn, race, unique


def test_concurrent_signups_of_one_email_create_one_user_and_one_event(
    pool: list[Conn], db: Conn, recorder: Recorder
) -> None:
    for _ in range(REPEATS):
        local = unique("new")
        # Mixed casing: the unique index is on lower(email), so these are one person.
        emails = [
            f"{local}@Example.com" if i % 2 else f"{local.upper()}@example.COM" for i in range(WAYS)
        ]

        def attempt(c: Conn, i: int, emails: list[str] = emails) -> tuple[AppUser, bool]:
            return sign_up(c, recorder.client, email=emails[i])

        results = race(pool, attempt)

        ids = {user.id for user, _ in results}
        assert len(ids) == 1, "every caller must get the same user"
        assert sum(created for _, created in results) == 1, "exactly one caller created it"
        (count,) = db.execute(
            "SELECT count(*) FROM app_user WHERE lower(email) = lower(%s)", (emails[0],)
        ).fetchone() or (0,)
        assert count == 1

        (user_id,) = ids
        signups = [e for e in recorder.events("signup") if e["distinct_id"] == str(user_id)]
        assert len(signups) == 1
        assert signups[0]["properties"]["email_domain"] == "example.com"

    assert len(recorder.events("signup")) == REPEATS


def test_returning_user_emits_nothing(pool: list[Conn], recorder: Recorder) -> None:
    email = f"{unique('back')}@example.com"
    first, created = sign_up(pool[0], recorder.client, email=email)
    again, created_again = sign_up(pool[1], recorder.client, email=email.upper())
    assert created and not created_again
    assert again.id == first.id
    assert again.email == email, "a later sign-up must not rewrite the stored address"
    assert len(recorder.events("signup")) == 1
