"""Nothing an event can carry stops the shipper: hypothesis against a live client.

Arbitrary strings (lone surrogates included) and nested values go into every
event constructor, the signup-source cookie decoder and hand-built ``Event``
properties. After each example an ordinary event must still be delivered, the
worker thread must still be alive, and the ledger must add up.

Bounded and derandomised by default (CI); ``ANALYTICS_FUZZ_PROFILE=long`` runs
many more random examples locally.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db import analytics
from multica_db.analytics import Event, PostHogClient, Stats
from tests.analytics.conftest import FAST
from tests.analytics.sink import Sink

settings.register_profile(
    "analytics-ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "analytics-long",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PROFILE = settings.get_profile(f"analytics-{os.environ.get('ANALYTICS_FUZZ_PROFILE', 'ci')}")


class Colour(enum.Enum):
    RED = "red"
    ODD = object()  # an Enum whose value is not shippable


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Pair:
    left: object
    right: object


class Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    a: Any
    b: list[Any]


SURROGATES = st.sampled_from(["\ud800", "\udfff", "\udcff", "\ud83d", "a\ud800b", "\udfff\ud800"])
#: Any code point, surrogates (category Cs) included, plus explicit lone halves.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=40),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), SURROGATES, st.text(max_size=5)),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.dates(),
    st.uuids(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Colour.RED, Colour.ODD, Level.HIGH]),
    st.binary(max_size=8),
    st.just(object()),
    st.complex_numbers(max_magnitude=10),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.frozensets(st.one_of(st.integers(), TEXT), max_size=3),
        st.dictionaries(st.one_of(TEXT, st.integers(), st.none()), inner, max_size=4),
        st.lists(inner, max_size=3).map(collections.deque),
        st.builds(Pair, inner, inner),
        st.builds(Model, a=inner, b=st.lists(inner, max_size=2)),
    ),
    max_leaves=12,
)
IDS = st.one_of(TEXT, st.uuids(), st.integers())
MAYBE_IDS = st.one_of(st.none(), IDS)
COOKIES = st.one_of(
    TEXT,
    # Well-formed cookies whose JSON strings carry anything, escaped as the
    # browser would: json.dumps writes a lone surrogate as a \ud800 escape.
    st.dictionaries(
        st.sampled_from(["utm_source", "utm_medium", "utm_term", "referrer_origin", "x"]),
        st.one_of(TEXT, VALUES),
        max_size=4,
    ).map(lambda d: quote(json.dumps(d, default=repr), safe="-_.!~*'()")),
)


def signup_events(draw: st.DrawFn) -> Event:
    source = analytics.decode_signup_source(draw(COOKIES))
    return analytics.signup(
        user_id=draw(IDS),
        email=draw(st.one_of(st.none(), TEXT)),
        method=draw(st.sampled_from(["verification_code", "google_oauth"])),
        signup_source=source,
        workspace_id=draw(MAYBE_IDS),
        is_demo=draw(st.booleans()),
    )


CONSTRUCTORS: list[Callable[[st.DrawFn], Event]] = [
    signup_events,
    lambda draw: analytics.workspace_created(user_id=draw(IDS), workspace_id=draw(IDS)),
    lambda draw: analytics.runtime_registered(
        workspace_id=draw(IDS),
        runtime_id=draw(IDS),
        provider=draw(TEXT),
        runtime_mode=draw(TEXT),
        owner_id=draw(MAYBE_IDS),
    ),
    lambda draw: analytics.issue_executed(
        workspace_id=draw(IDS),
        issue_id=draw(IDS),
        user_id=draw(MAYBE_IDS),
        agent_id=draw(MAYBE_IDS),
        task_id=draw(MAYBE_IDS),
    ),
    lambda draw: analytics.team_invite_sent(
        inviter_id=draw(IDS),
        workspace_id=draw(IDS),
        invitation_id=draw(IDS),
        invitee_email=draw(st.one_of(st.none(), TEXT)),
        role=draw(TEXT),
    ),
    lambda draw: analytics.team_invite_accepted(
        user_id=draw(IDS),
        workspace_id=draw(IDS),
        invitation_id=draw(IDS),
        role=draw(TEXT),
        inviter_id=draw(MAYBE_IDS),
    ),
    lambda draw: Event(
        draw(TEXT),
        draw(TEXT),
        draw(st.dictionaries(st.one_of(TEXT, st.integers()), VALUES, max_size=5)),
    ),
]


def refused_at_construction(exc: Exception) -> bool:
    """What ``Event`` may refuse: empty or non-text names and ids, never property values."""
    return isinstance(exc, UnicodeEncodeError) or "must not be empty" in str(exc)


@st.composite
def hostile_events(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for _ in range(draw(st.integers(1, 4))):
        try:
            events.append(draw(st.sampled_from(CONSTRUCTORS))(draw))
        except (ValueError, TypeError) as exc:
            assert refused_at_construction(exc), exc
    return events


def check(stats: Stats) -> None:
    assert stats.captured == stats.sent + stats.dropped + stats.failed + stats.pending
    assert sum(stats.dropped_by_reason.values()) == stats.dropped


@pytest.fixture
def client(sink: Sink) -> Iterator[PostHogClient]:
    options: dict[str, Any] = {**FAST, "flush_interval": 30.0}
    shipper = PostHogClient("phc_fuzz", host=sink.url, **options)
    try:
        yield shipper
    finally:
        shipper.close(1.0)


@PROFILE
@given(events=hostile_events())
def test_no_event_content_stops_delivery(
    sink: Sink, client: PostHogClient, events: list[Event]
) -> None:
    for event in events:
        assert client.capture(event) is True
    marker = uuid.uuid4().hex
    client.capture(Event("ordinary", "someone", {"marker": marker}))
    assert client.flush(20.0)
    thread = client._thread
    assert thread is not None and thread.is_alive()
    assert marker in {e["properties"].get("marker") for e in sink.delivered}
    stats = client.stats
    check(stats)
    assert stats.pending == 0
    assert stats.failed == 0  # nothing an event holds may fail its neighbours' request
    assert stats.worker_errors == 0
    # What Event accepted is never dropped as invalid later: it was refused at once.
    assert set(stats.dropped_by_reason) <= {"unserialisable", "too_large"}


@PROFILE
@given(cookie=COOKIES)
def test_cookie_decoder_yields_only_shippable_text(cookie: str) -> None:
    source = analytics.decode_signup_source(cookie)
    if source is not None:
        for value in source.values():
            assert isinstance(value, str) and value
            value.encode("utf-8")  # no lone surrogate survives


def test_a_lone_surrogate_in_the_cookie_is_dropped_not_shipped(
    sink: Sink, client: PostHogClient
) -> None:
    cookie = "%7B%22utm_source%22%3A%22%5Cud800%22%2C%22utm_medium%22%3A%22ok%22%7D"
    source = analytics.decode_signup_source(cookie)
    assert source == {"utm_medium": "ok"}
    client.capture(
        analytics.signup(user_id="u", email="a@b.c", method="google_oauth", signup_source=source)
    )
    client.capture(Event("filename", "u", {"path": b"caf\xe9".decode("utf-8", "surrogateescape")}))
    client.capture(Event("after", "u"))
    assert client.flush(10.0)
    assert [e["event"] for e in sink.delivered] == ["signup", "after"]
    assert client.stats.dropped_by_reason == {"unserialisable": 1}
