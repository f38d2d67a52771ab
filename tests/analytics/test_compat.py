"""The posthog-python 7 API (``multica_db.analytics.Posthog``) against a local sink.

The quick-start calls of posthog-python's documentation run unchanged except
for the import and the constructor's host; when posthog-python itself is
installed (the ``bench`` extra) the same calls go through it to the same sink
and the two sets of events are compared.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from multica_db import analytics
from multica_db.analytics import Posthog
from tests.analytics.sink import Sink

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def quick_start(posthog: Any) -> list[Any]:
    """The calls of posthog-python's getting-started documentation, in its shapes."""
    returned = [
        posthog.capture(
            "user_signed_up",
            distinct_id="distinct_id_of_the_user",
            properties={"login_type": "email", "is_free_trial": "true"},
        ),
        posthog.capture("some-anon-event"),
        posthog.capture(
            "$pageview",
            distinct_id="distinct_id_of_the_user",
            properties={"$current_url": "https://example.com"},
        ),
        posthog.capture(
            "event_name",
            distinct_id="distinct_id_of_the_user",
            properties={"$set": {"name": "Max Hedgehog"}, "$set_once": {"initial_url": "/blog"}},
        ),
        posthog.set(distinct_id="user123", properties={"name": "Max Hedgehog"}),
        posthog.set_once(distinct_id="user123", properties={"initial_signup_date": "2024-01-01"}),
        posthog.alias(previous_id="distinct_id", distinct_id="alias_id"),
        posthog.capture(
            "some_event", distinct_id="user123", groups={"company": "company_id_in_your_db"}
        ),
        posthog.group_identify(
            "company", "company_id_in_your_db", {"name": "Awesome Inc.", "employees": 11}
        ),
        posthog.capture(
            "purchase_completed",
            distinct_id="user123",
            properties={"amount": 49.99},
            timestamp=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        ),
        posthog.capture(
            "with_uuid", distinct_id="user123", uuid="0190c7b5-7a5e-7c3f-9a1b-2c3d4e5f6a7b"
        ),
    ]
    posthog.flush()
    posthog.shutdown()
    return returned


#: What differs between libraries by design, not by behaviour. (The interpreter
#: and operating system, ``$is_server`` and ``$release_id`` are the same.)
LIBRARY_KEYS = {"$lib", "$lib_version"}


def normalised(event: dict[str, Any]) -> dict[str, Any]:
    properties = {k: v for k, v in event.get("properties", {}).items() if k not in LIBRARY_KEYS}
    for key in ("$set", "$set_once"):  # top level in posthog-python, properties here
        if key in event:
            properties[key] = event[key]
    distinct_id = event["distinct_id"]
    if properties.get("$process_person_profile") is False or event["event"] == "$groupidentify":
        distinct_id = "<random>"  # both make one up
    return {"event": event["event"], "distinct_id": distinct_id, "properties": properties}


def canonical(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True)


@pytest.fixture
def posthog(sink: Sink) -> Iterator[Posthog]:
    client = Posthog("phc_quick_start", host=sink.url, flush_interval=0.05)
    yield client
    client.shutdown()


def test_quick_start_runs_against_a_local_sink(sink: Sink, posthog: Posthog) -> None:
    returned = quick_start(posthog)
    assert all(isinstance(r, str) and UUID_RE.match(r) for r in returned)
    events = sink.delivered
    assert [e["event"] for e in events] == [
        "user_signed_up",
        "some-anon-event",
        "$pageview",
        "event_name",
        "$set",
        "$set_once",
        "$create_alias",
        "some_event",
        "$groupidentify",
        "purchase_completed",
        "with_uuid",
    ]
    assert [e["uuid"] for e in events] == returned  # capture returned the wire uuid
    assert all(r.body and r.body["api_key"] == "phc_quick_start" for r in sink.requests)
    by_name = {e["event"]: e for e in events}
    assert by_name["user_signed_up"]["distinct_id"] == "distinct_id_of_the_user"
    assert by_name["user_signed_up"]["properties"]["login_type"] == "email"
    anon = by_name["some-anon-event"]
    assert UUID_RE.match(anon["distinct_id"])
    assert anon["properties"]["$process_person_profile"] is False
    assert by_name["$set"]["properties"]["$set"] == {"name": "Max Hedgehog"}
    assert by_name["$set_once"]["properties"]["$set_once"] == {"initial_signup_date": "2024-01-01"}
    alias = by_name["$create_alias"]
    assert alias["distinct_id"] == "distinct_id"
    assert alias["properties"]["alias"] == "alias_id"
    assert by_name["some_event"]["properties"]["$groups"] == {"company": "company_id_in_your_db"}
    group = by_name["$groupidentify"]["properties"]
    assert group["$group_type"] == "company"
    assert group["$group_set"] == {"name": "Awesome Inc.", "employees": 11}
    assert by_name["purchase_completed"]["timestamp"] == "2024-01-15T10:30:00.000000Z"
    assert by_name["with_uuid"]["uuid"] == "0190c7b5-7a5e-7c3f-9a1b-2c3d4e5f6a7b"
    # Server-side events are not geolocated (posthog-python's default too).
    assert all(e["properties"]["$geoip_disable"] is True for e in events)
    assert all("environment" not in e["properties"] for e in events)
    assert posthog.stats.sent == len(events)


@pytest.mark.parametrize("release", [None, " rel-2024.1 ", "  "])
def test_the_same_calls_through_posthog_python_send_the_same_events(
    sink: Sink, monkeypatch: pytest.MonkeyPatch, release: str | None
) -> None:
    """Properties included: the interpreter, the OS, ``$is_server``, ``$release_id``."""
    if release is not None:
        monkeypatch.setenv("POSTHOG_RELEASE_ID", release)
    posthog_module = pytest.importorskip("posthog")
    theirs_client = posthog_module.Posthog(
        "phc_quick_start", host=sink.url, flush_interval=0.05, max_retries=0
    )
    quick_start(theirs_client)
    theirs = [normalised(e) for e in sink.delivered]
    sink.state.requests.clear()
    ours_client = Posthog("phc_quick_start", host=sink.url, flush_interval=0.05)
    quick_start(ours_client)
    ours = [normalised(e) for e in sink.delivered]
    assert sorted(map(canonical, ours)) == sorted(map(canonical, theirs))
    released = [e["properties"].get("$release_id") for e in sink.delivered]
    assert released == [release.strip() if release and release.strip() else None] * len(ours)


def test_gzip_bodies(sink: Sink) -> None:
    client = Posthog("phc", host=sink.url, gzip=True)
    client.capture("zipped", distinct_id="u", properties={"blob": "x" * 10_000})
    client.flush()
    client.shutdown()
    (request,) = sink.requests
    assert request.headers["Content-Encoding"] == "gzip"
    assert int(request.headers["Content-Length"]) < 2_000
    assert [e["event"] for e in sink.delivered] == ["zipped"]


def test_geoip_can_be_left_on_per_client_or_per_call(sink: Sink) -> None:
    client = Posthog("phc", host=sink.url, disable_geoip=False)
    client.capture("a", distinct_id="u")
    client.capture("b", distinct_id="u", disable_geoip=True)
    client.shutdown()
    props = {e["event"]: e["properties"] for e in sink.delivered}
    assert "$geoip_disable" not in props["a"]
    assert props["b"]["$geoip_disable"] is True


def test_super_properties_win_and_typed_events_ship_alongside(sink: Sink) -> None:
    client = Posthog("phc", host=sink.url, super_properties={"service": "api"})
    client.capture("e", distinct_id=uuid.UUID(int=1), properties={"service": "spoofed"})
    typed = analytics.workspace_created(user_id="u1", workspace_id="w1")
    returned = client.capture(typed)
    client.shutdown()
    events = {e["event"]: e for e in sink.delivered}
    assert events["e"]["properties"]["service"] == "api"
    assert events["e"]["distinct_id"] == "00000000-0000-0000-0000-000000000001"
    assert events["workspace_created"]["uuid"] == returned
    assert events["workspace_created"]["properties"]["workspace_id"] == "w1"


def test_before_send_can_change_or_drop(sink: Sink) -> None:
    def scrub(message: dict[str, Any]) -> dict[str, Any] | None:
        if message["event"] == "secret":
            return None
        message["properties"]["email"] = "<redacted>"
        return message

    client = Posthog("phc", host=sink.url, before_send=scrub)
    assert client.capture("secret", distinct_id="u") is None
    assert client.capture("kept", distinct_id="u", properties={"email": "a@b.c"}) is not None
    client.shutdown()
    (event,) = sink.delivered
    assert (event["event"], event["properties"]["email"]) == ("kept", "<redacted>")


@pytest.mark.parametrize("options", [{"disabled": True}, {"send": False}])
def test_disabled_or_not_sending_ships_nothing(sink: Sink, options: dict[str, Any]) -> None:
    client = Posthog("phc", host=sink.url, **options)
    result = client.capture("e", distinct_id="u")
    assert (result is None) == bool(options.get("disabled"))
    client.flush()
    client.shutdown()
    assert sink.requests == []
    assert client.stats.captured == 0


def test_disabled_and_before_send_can_be_set_after_construction(sink: Sink) -> None:
    """posthog-python documents ``posthog.disabled = True`` (in tests) after building it."""
    client = Posthog("phc", host=sink.url)
    client.disabled = True
    assert client.capture("silenced", distinct_id="u") is None
    assert client.set(distinct_id="u", properties={"a": 1}) is None
    client.disabled = False
    client.before_send = lambda message: {**message, "event": message["event"] + "_seen"}
    assert client.capture("kept", distinct_id="u") is not None
    client.before_send = None
    later = Posthog("phc", host=sink.url, disabled=True)
    later.disabled = False
    assert later.capture("enabled_later", distinct_id="u") is not None
    client.shutdown()
    later.shutdown()
    assert sorted(e["event"] for e in sink.delivered) == ["enabled_later", "kept_seen"]


@dataclasses.dataclass
class Odd:
    value: object


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.capture("e", distinct_id="u", properties={"bad": object()}),
        lambda p: p.capture("e", distinct_id="u", timestamp="not a time"),
        lambda p: p.capture("e", distinct_id="u", uuid="not-a-uuid"),
        lambda p: p.capture("", distinct_id="u"),
        lambda p: p.capture(None, distinct_id="u"),
        lambda p: p.set(distinct_id="u", properties={"o": Odd(object())}),
        lambda p: p.alias(previous_id=None, distinct_id="x"),
        lambda p: p.group_identify("", "k"),
        lambda p: p.capture("e", distinct_id="u", properties={"k": float("nan")}),
    ],
)
def test_odd_calls_never_raise_and_never_stop_delivery(
    sink: Sink, call: Callable[[Posthog], object]
) -> None:
    client = Posthog("phc", host=sink.url)
    call(client)
    client.capture("after", distinct_id="u")
    client.shutdown()
    assert "after" in [e["event"] for e in sink.delivered]
    stats = client.stats
    assert stats.captured == stats.sent + stats.dropped


def test_unsupported_constructor_options_are_accepted(sink: Sink) -> None:
    client = Posthog(
        "phc",
        host=sink.url,
        personal_api_key="phx",
        poll_interval=10,
        feature_flags_request_timeout_seconds=1,
        enable_local_evaluation=False,
        thread=4,
        sync_mode=True,
        capture_mode="v0",
    )
    client.capture("e", distinct_id="u")
    client.shutdown()
    assert [e["event"] for e in sink.delivered] == ["e"]


@pytest.mark.parametrize("key", ["", "   ", None])
def test_a_blank_key_makes_a_client_that_captures_nothing(key: str | None) -> None:
    client = Posthog(key, host="http://127.0.0.1:9")  # as posthog-python: no error
    assert client.disabled
    assert client.capture("e", distinct_id="u") is None
    assert client.client is None
    client.shutdown()


def test_the_key_is_trimmed(sink: Sink) -> None:
    client = Posthog(" phc_from_a_file\n", host=sink.url)
    client.capture("e", distinct_id="u")
    client.shutdown()
    (request,) = sink.requests
    assert request.body is not None and request.body["api_key"] == "phc_from_a_file"


def test_a_host_that_names_no_server_is_refused() -> None:
    with pytest.raises(ValueError):
        Posthog("phc", host="https://")


HOSTS = [
    None,
    "",
    "  ",
    "https://us.posthog.com",
    "https://app.posthog.com/",
    "https://eu.posthog.com",
    "https://eu.i.posthog.com",
    " https://ph.example.com/ingest ",
]


@pytest.mark.parametrize("host", HOSTS)
def test_app_and_blank_hosts_mean_what_they_mean_to_posthog_python(host: str | None) -> None:
    ours = Posthog("phc", host=host)
    assert ours.host.startswith("https://")
    assert "posthog.com" not in ours.host or ".i.posthog.com" in ours.host
    posthog_module = pytest.importorskip("posthog")
    theirs = posthog_module.Posthog("phc", host=host, send=False)
    try:
        assert ours.host.rstrip("/") == theirs.host.rstrip("/")
    finally:
        theirs.shutdown()
        ours.shutdown()


def test_debug_set_after_construction_turns_on_debug_logging(sink: Sink) -> None:
    logger = logging.getLogger("multica_db.analytics")
    level = logger.level
    try:
        client = Posthog("phc", host=sink.url)
        assert not client.debug
        client.debug = True
        assert client.debug and logger.level == logging.DEBUG
        client.shutdown()
    finally:
        logger.setLevel(level)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00.000000Z"),
        ("2024-01-15T12:30:00+02:00", "2024-01-15T10:30:00.000000Z"),
        ("2024-01-15T10:30:00", "2024-01-15T10:30:00.000000Z"),  # naive and old: UTC
        (datetime(2024, 1, 15, 10, 30), "2024-01-15T10:30:00.000000Z"),
    ],
)
def test_timestamps_are_read_as_posthog_python_reads_them(
    sink: Sink, timestamp: object, expected: str
) -> None:
    client = Posthog("phc", host=sink.url)
    client.capture("e", distinct_id="u", timestamp=timestamp)  # type: ignore[arg-type]
    client.shutdown()
    (event,) = sink.delivered
    assert event["timestamp"] == expected


@pytest.mark.parametrize("timestamp", ["2024-01-15", "20240115", "yesterday", 12])
def test_an_unusable_timestamp_means_now(sink: Sink, timestamp: object) -> None:
    client = Posthog("phc", host=sink.url)
    client.capture("e", distinct_id="u", timestamp=timestamp)  # type: ignore[arg-type]
    client.shutdown()
    (event,) = sink.delivered
    assert not event["timestamp"].startswith("2024-01-15")
    assert datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).year >= 2025


def test_an_explicit_release_id_wins_over_the_environment(
    sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_RELEASE_ID", "from-env")
    client = Posthog("phc", host=sink.url, super_properties={"$release_id": "from-super"})
    client.capture("super", distinct_id="u")
    client.super_properties = {}
    client.capture("own", distinct_id="u", properties={"$release_id": "from-call"})
    client.capture("env", distinct_id="u")
    monkeypatch.setenv("POSTHOG_RELEASE_ID", "changed")  # read once, when the client was built
    client.capture("still", distinct_id="u")
    client.shutdown()
    assert {e["event"]: e["properties"]["$release_id"] for e in sink.delivered} == {
        "super": "from-super",
        "own": "from-call",
        "env": "from-env",
        "still": "from-env",
    }


def test_interpreter_and_os_properties_lose_to_super_properties_only(sink: Sink) -> None:
    client = Posthog("phc", host=sink.url, super_properties={"$os": "custom"})
    client.capture("e", distinct_id="u", properties={"$python_version": "spoofed"})
    client.set(distinct_id="u", properties={"a": 1})  # as posthog-python: not on $set
    client.shutdown()
    props = {e["event"]: e["properties"] for e in sink.delivered}
    assert props["e"]["$os"] == "custom"
    assert props["e"]["$python_version"].count(".") == 2  # the system's wins over the call's
    assert "$python_version" not in props["$set"]
    assert props["$set"]["$is_server"] is True
