"""Funnel event constructors: distinct ids, common properties, forbidden properties."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multica_db import analytics
from multica_db.analytics.encoding import BatchEncoder
from multica_db.analytics.events import EVENT_SCHEMA_VERSION, Event, email_domain
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink

WS = uuid.UUID("00000000-0000-0000-0000-00000000000a")
USER = uuid.UUID("00000000-0000-0000-0000-0000000000b0")


def test_signup_carries_domain_source_and_set_once() -> None:
    source: analytics.SignupSource = {
        "utm_source": "hn",
        "referrer_origin": "https://news.ycombinator.com",
    }
    event = analytics.signup(
        user_id=USER, email="Ada@Example.COM", method="google_oauth", signup_source=source
    )
    assert event.name == "signup"
    assert event.distinct_id == str(USER)
    props = dict(event.properties)
    assert props["user_id"] == str(USER)
    assert props["email_domain"] == "example.com"
    assert props["signup_method"] == "google_oauth"
    assert props["signup_source"] == source
    assert props["$set_once"] == {"email": "Ada@Example.COM", "signup_source": source}
    assert props["event_schema_version"] == EVENT_SCHEMA_VERSION
    assert props["is_demo"] is False
    assert "workspace_id" not in props  # unknown at signup time
    assert "email" not in props  # the address itself only goes to $set_once


def test_signup_without_source_still_has_the_keys() -> None:
    props = analytics.signup(user_id="u1", email="x@y.io", method="verification_code").properties
    assert props["signup_source"] is None
    assert props["$set_once"] == {"email": "x@y.io", "signup_source": None}


def test_workspace_created_has_no_is_first_workspace() -> None:
    event = analytics.workspace_created(user_id=USER, workspace_id=WS, is_demo=True)
    assert event.distinct_id == str(USER)
    assert "is_first_workspace" not in event.properties
    assert event.properties["workspace_id"] == str(WS)
    assert event.properties["user_id"] == str(USER)
    assert event.properties["is_demo"] is True


def test_runtime_without_owner_is_attributed_to_workspace() -> None:
    event = analytics.runtime_registered(
        workspace_id=WS, runtime_id="rt1", provider="claude", runtime_mode="local"
    )
    assert event.distinct_id == f"workspace:{WS}"
    assert "user_id" not in event.properties
    assert event.properties["runtime_id"] == "rt1"
    assert event.properties["provider"] == "claude"
    assert event.properties["runtime_mode"] == "local"


def test_runtime_with_owner_is_attributed_to_owner() -> None:
    event = analytics.runtime_registered(
        workspace_id=WS, runtime_id="rt1", provider="codex", runtime_mode="cloud", owner_id=USER
    )
    assert event.distinct_id == str(USER)
    assert event.properties["user_id"] == str(USER)


def test_issue_executed_has_no_nth_issue_and_optional_ids() -> None:
    event = analytics.issue_executed(workspace_id=WS, issue_id="i1", agent_id="a1", task_id="t1")
    assert "nth_issue_for_workspace" not in event.properties
    assert event.distinct_id == f"workspace:{WS}"
    assert event.properties["agent_id"] == "a1"
    assert event.properties["task_id"] == "t1"
    bare = analytics.issue_executed(workspace_id=WS, issue_id="i1", user_id=USER)
    assert bare.distinct_id == str(USER)
    assert "agent_id" not in bare.properties and "task_id" not in bare.properties


def test_invites_ship_only_the_invitee_domain() -> None:
    sent = analytics.team_invite_sent(
        inviter_id=USER,
        workspace_id=WS,
        invitation_id="inv",
        invitee_email="bob@corp.dev",
        role="member",
    )
    assert sent.distinct_id == str(USER)
    assert sent.properties["invitee_email_domain"] == "corp.dev"
    assert "bob@corp.dev" not in repr(dict(sent.properties))
    accepted = analytics.team_invite_accepted(
        user_id="u2", workspace_id=WS, invitation_id="inv", role="member", inviter_id=USER
    )
    assert accepted.distinct_id == "u2"
    assert accepted.properties["inviter_id"] == str(USER)
    assert accepted.properties["role"] == "member"


def test_events_are_immutable() -> None:
    event = analytics.workspace_created(user_id="u", workspace_id="w")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.properties["workspace_id"] = "x"  # type: ignore[index]
    assert not hasattr(event, "__dict__")  # slots: cheap to build


def test_timestamp_is_taken_when_the_event_is_built() -> None:
    before = time.time()
    event = Event("custom", "d")
    after = time.time()
    assert before <= event.timestamp <= after


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("a@b.c", "b.c"),
        (" A@B.C ", "b.c"),
        ("no-at", None),
        ("trailing@", None),
        ("a@b@c.d", "c.d"),
    ],
)
def test_email_domain(email: str, domain: str | None) -> None:
    assert email_domain(email) == domain


@pytest.mark.parametrize(
    ("build", "missing"),
    [
        (lambda: analytics.signup(user_id=None, email="a@b.c", method="google_oauth"), "user_id"),
        (lambda: analytics.workspace_created(user_id="u", workspace_id=None), "workspace_id"),
        (
            lambda: analytics.runtime_registered(
                workspace_id=None, runtime_id=None, provider="p", runtime_mode="m"
            ),
            "workspace_id, runtime_id",
        ),
        (lambda: analytics.issue_executed(workspace_id=WS, issue_id=None), "issue_id"),
        (
            lambda: analytics.team_invite_sent(
                inviter_id=None, workspace_id=WS, invitation_id="i", invitee_email="x", role="r"
            ),
            "inviter_id",
        ),
        (
            lambda: analytics.team_invite_accepted(
                user_id=USER, workspace_id=WS, invitation_id=None, role="r"
            ),
            "invitation_id",
        ),
        (lambda: Event("e", None), "distinct_id"),  # type: ignore[arg-type]
    ],
)
def test_none_ids_are_a_type_error_at_the_call(build: Any, missing: str) -> None:
    with pytest.raises(TypeError, match=f"^{missing}: required, must not be None$"):
        build()


def test_signup_tolerates_a_missing_email() -> None:
    event = analytics.signup(user_id=USER, email=None, method="google_oauth")
    assert event.properties["email_domain"] is None
    # No email in $set_once: null would pin the person's email before it is known.
    assert event.properties["$set_once"] == {"signup_source": None}
    invite = analytics.team_invite_sent(
        inviter_id=USER, workspace_id=WS, invitation_id="i", invitee_email=None, role="member"
    )
    assert invite.properties["invitee_email_domain"] is None


# -- what Event accepts is what ships ----------------------------------------


@pytest.mark.parametrize(
    ("distinct_id", "expected"),
    [
        (uuid.UUID(int=5), "00000000-0000-0000-0000-000000000005"),
        (42, "42"),
        (3.5, "3.5"),
    ],
)
def test_a_non_string_distinct_id_becomes_its_string(distinct_id: object, expected: str) -> None:
    assert Event("e", distinct_id).distinct_id == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "distinct_id", "error"),
    [
        ("", "d", ValueError),
        ("e", "", ValueError),
        (7, "d", TypeError),
        ("e", None, TypeError),
    ],
)
def test_an_event_that_could_not_ship_is_refused_at_once(
    name: object, distinct_id: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Event(name, distinct_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("timestamp", [float("nan"), float("inf"), -1.0, 1e12, True, "now"])
def test_a_timestamp_that_could_not_ship_is_refused(timestamp: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        Event("e", "d", timestamp=timestamp)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    distinct_id=st.one_of(
        st.uuids(), st.integers(), st.text(min_size=1), st.floats(allow_nan=False)
    ),
    timestamp=st.floats(min_value=0, max_value=253_402_300_799),
)
def test_every_event_that_builds_is_encoded(distinct_id: object, timestamp: float) -> None:
    """Never accept-then-drop: what Event accepts, the encoder ships."""
    try:
        event = Event("e", distinct_id, timestamp=timestamp)  # type: ignore[arg-type]
    except ValueError:
        return  # refused at construction: fine, the caller sees it
    assert event.distinct_id == str(distinct_id)
    encoder = BatchEncoder("k", {}, max_event_bytes=10_000, max_request_bytes=100_000)
    out = encoder.encode([event])
    assert out.dropped == {}
    assert json.loads(b"[" + out.requests[0][0] + b"]")[0]["distinct_id"] == str(distinct_id)


def test_a_uuid_distinct_id_reaches_the_sink(sink: Sink, make_client: MakeClient) -> None:
    client = make_client()
    user = uuid.uuid4()
    assert client.capture(Event("e", user)) is True  # type: ignore[arg-type]
    assert client.capture(Event("e", 7)) is True  # type: ignore[arg-type]
    assert client.flush(10.0)
    assert [e["distinct_id"] for e in sink.delivered] == [str(user), "7"]
    assert client.stats.dropped == 0
