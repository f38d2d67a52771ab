"""``multica_db.analytics.testing``: the recorder and the ``analytics_recorder`` fixture."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest

from multica_db import analytics
from multica_db.analytics import AnalyticsClient, Event
from multica_db.analytics.testing import RecordingClient

pytest_plugins = ["pytester"]


class SignupService:
    """A stand-in for a service that takes its analytics client by injection."""

    def __init__(self, events: AnalyticsClient) -> None:
        self.events = events

    def sign_up(self, user_id: uuid.UUID, email: str) -> None:
        self.events.capture(
            analytics.signup(user_id=user_id, email=email, method="verification_code")
        )


def test_the_fixture_records_what_would_be_sent(analytics_recorder: RecordingClient) -> None:
    user = uuid.UUID(int=9)
    SignupService(analytics_recorder).sign_up(user, "Ann@Example.COM")
    event = analytics_recorder.assert_captured(
        "signup", distinct_id=user, properties={"email_domain": "example.com"}
    )
    assert event.distinct_id == str(user)  # as on the wire
    assert event.properties["environment"] == "dev"
    assert event.properties["$set_once"] == {"signup_source": None, "email": "Ann@Example.COM"}
    assert event.timestamp.endswith("Z")
    analytics_recorder.assert_not_captured("workspace_created")
    assert isinstance(analytics_recorder, AnalyticsClient)


def test_values_are_compared_in_their_wire_form(analytics_recorder: RecordingClient) -> None:
    when = datetime(2024, 1, 2, tzinfo=UTC)
    analytics_recorder.capture(Event("e", "u", {"at": when, "id": uuid.UUID(int=1)}))
    analytics_recorder.assert_captured(
        "e",
        properties={
            "at": "2024-01-02T00:00:00+00:00",
            "id": "00000000-0000-0000-0000-000000000001",
        },
    )


def test_assertion_messages_say_what_was_recorded(analytics_recorder: RecordingClient) -> None:
    analytics_recorder.capture(Event("a", "u1"))
    analytics_recorder.capture(Event("a", "u2"))
    with pytest.raises(
        AssertionError, match=r"expected 1 'a' event\(s\), found 2.*a\(u1\), a\(u2\)"
    ):
        analytics_recorder.assert_captured("a")
    assert analytics_recorder.assert_captured("a", count=2).distinct_id == "u2"
    assert analytics_recorder.assert_captured("a", count=None).distinct_id == "u2"
    with pytest.raises(AssertionError):
        analytics_recorder.assert_not_captured("a", distinct_id="u1")
    analytics_recorder.clear()
    assert analytics_recorder.events == []


def test_a_value_production_would_drop_is_a_drop_here() -> None:
    recorder = RecordingClient()
    assert recorder.capture(Event("bad", "u", {"o": object()})) is False
    assert recorder.capture(Event("big", "u", {"b": "x" * 2_000})) is True
    small = RecordingClient(max_event_bytes=1_000)
    assert small.capture(Event("big", "u", {"b": "x" * 2_000})) is False
    assert [d.reason for d in recorder.dropped] == ["unserialisable"]
    assert recorder.stats.dropped_by_reason == {"unserialisable": 1}
    with pytest.raises(AssertionError, match="production would drop"):
        recorder.assert_nothing_dropped()
    recorder.expect_dropped("unserialisable")
    recorder.assert_nothing_dropped()


def test_the_posthog_api_records_into_the_same_recorder(
    analytics_recorder: RecordingClient,
) -> None:
    posthog = analytics_recorder.posthog(super_properties={"service": "billing"})
    returned = posthog.capture("paid", distinct_id=42, properties={"amount": 10})
    posthog.set(distinct_id=42, properties={"plan": "pro"})
    posthog.shutdown()
    paid = analytics_recorder.assert_captured("paid", distinct_id="42", properties={"amount": 10})
    assert paid.uuid == returned
    assert paid.properties["service"] == "billing"
    assert paid.properties["$geoip_disable"] is True
    assert "environment" not in paid.properties
    analytics_recorder.assert_captured("$set", properties={"$set": {"plan": "pro"}})


def test_recording_is_thread_safe(analytics_recorder: RecordingClient) -> None:
    def work(n: int) -> None:
        for i in range(500):
            analytics_recorder.capture(Event("t", f"u{n}", {"i": i}))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(analytics_recorder.events) == 2_000
    assert len({e.uuid for e in analytics_recorder.events}) == 2_000


def test_after_close_events_are_dropped_as_closed() -> None:
    recorder = RecordingClient()
    recorder.close()
    assert recorder.capture(Event("late", "u")) is False
    assert recorder.stats.dropped_by_reason == {"closed": 1}


def test_the_plugin_fails_a_test_whose_event_production_would_drop(
    pytester: pytest.Pytester,
) -> None:
    """Through the installed entry point: no conftest, no import of the plugin."""
    pytester.makepyfile(
        """
        from multica_db.analytics import Event

        def test_ok(analytics_recorder):
            analytics_recorder.capture(Event("fine", "u"))
            analytics_recorder.assert_captured("fine")

        def test_bad_value(analytics_recorder):
            analytics_recorder.capture(Event("bad", "u", {"o": object()}))

        def test_expected_drop(analytics_recorder):
            analytics_recorder.expect_dropped("unserialisable")
            analytics_recorder.capture(Event("bad", "u", {"o": object()}))
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*production would drop*"])
