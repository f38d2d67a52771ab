"""Happy-path shipping: payload shape, batching triggers, per-event drops."""

from __future__ import annotations

import math
import re
import threading
import time
from datetime import datetime

from multica_db import analytics
from multica_db.analytics import Event, ManualClock
from multica_db.analytics.client import THREAD_NAME
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def ev(i: int, **props: object) -> Event:
    return Event("test_event", f"user-{i}", {"i": i, **props})


def test_payload_matches_posthog_batch_api(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(api_key="phc_abc", environment="prod")
    captured_at = time.time()
    event = analytics.workspace_created(user_id="u1", workspace_id="w1")
    assert client.capture(event) is True
    assert client.flush(2.0)

    (request,) = sink.requests
    assert request.path == "/batch/"
    assert request.headers["Content-Type"] == "application/json"
    body = request.body
    assert body is not None
    assert set(body) == {"api_key", "batch", "sent_at"}
    assert body["api_key"] == "phc_abc"
    datetime.fromisoformat(body["sent_at"].replace("Z", "+00:00"))
    (item,) = body["batch"]
    assert set(item) == {"event", "distinct_id", "properties", "timestamp", "uuid"}
    assert item["event"] == "workspace_created"
    assert item["distinct_id"] == "u1"
    assert UUID_RE.match(item["uuid"])
    ts = datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00")).timestamp()
    assert math.isclose(ts, event.timestamp, abs_tol=1e-5)
    assert abs(ts - captured_at) < 1.0
    props = item["properties"]
    assert props["environment"] == "production"
    assert props["$lib"] == "multica-db"
    assert props["workspace_id"] == "w1"
    assert props["user_id"] == "u1"
    assert props["event_schema_version"] == 1
    assert props["is_demo"] is False
    assert client.stats == analytics.Stats(captured=1, sent=1)


def test_every_event_is_delivered_once_with_a_unique_uuid(
    sink: Sink, make_client: MakeClient
) -> None:
    client = make_client(batch_size=64, max_batch_size=64)
    for i in range(300):
        assert client.capture(ev(i))
    assert client.flush(3.0)
    delivered = sink.delivered
    assert sorted(e["properties"]["i"] for e in delivered) == list(range(300))
    assert len({e["uuid"] for e in delivered}) == 300
    assert all(len(r.body["batch"]) <= 64 for r in sink.requests if r.body)
    stats = client.stats
    assert (stats.captured, stats.sent, stats.pending) == (300, 300, 0)


def test_a_backlog_drains_in_bigger_requests(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(batch_size=10, max_batch_size=40, flush_interval=30.0)
    client._started = True  # hold the worker back while a backlog builds up
    for i in range(101):
        client.capture(ev(i))
    client._started = False
    client._start()  # the worker starts with the whole backlog already queued
    assert client.flush(3.0)
    sizes = [len(r.body["batch"]) for r in sink.requests if r.body]
    assert sum(sizes) == 101
    assert max(sizes) == 40  # more than batch_size per request, never more than the cap
    assert len(sizes) == 3


def test_full_batch_is_sent_without_waiting_for_the_interval(
    sink: Sink, make_client: MakeClient
) -> None:
    client = make_client(batch_size=10, flush_interval=30.0)
    for i in range(10):
        client.capture(ev(i))
    assert sink.wait_for(10)
    assert [len(r.body["batch"]) for r in sink.requests if r.body] == [10]


def test_a_partial_batch_waits_for_the_interval_and_no_longer(
    sink: Sink, make_client: MakeClient
) -> None:
    clock = ManualClock()
    client = make_client(batch_size=64, flush_interval=10.0, clock=clock)
    for i in range(3):
        client.capture(ev(i))
    worker = client._thread
    assert worker is not None
    clock.parked(thread=worker)  # idle with 3 events waiting: below batch_size
    clock.advance(9.99)
    clock.parked(thread=worker)  # woke, found the interval not over, went back to sleep
    assert sink.requests == []
    clock.advance(0.02)
    assert sink.wait_for(3)
    assert [len(r.body["batch"]) for r in sink.requests if r.body] == [3]


def test_worker_starts_lazily_on_first_capture(make_client: MakeClient) -> None:
    before = len(worker_threads())
    client = make_client()
    assert len(worker_threads()) == before
    client.capture(ev(0))
    client.capture(ev(1))
    assert len(worker_threads()) == before + 1


def test_unserialisable_event_is_dropped_alone(sink: Sink, make_client: MakeClient) -> None:
    client = make_client()
    client.capture(ev(1))
    client.capture(ev(2, bad=object()))
    client.capture(ev(3, nan=float("nan")))
    client.capture(ev(4))
    assert client.flush(2.0)
    assert sorted(e["properties"]["i"] for e in sink.delivered) == [1, 4]
    stats = client.stats
    assert stats.sent == 2
    assert stats.dropped == 2
    assert stats.dropped_by_reason == {"unserialisable": 2}


def tampered(**fields: object) -> Event:
    """An event changed after construction, past the checks ``Event`` makes."""
    event = Event("x", "d")
    for name, value in fields.items():
        object.__setattr__(event, name, value)
    return event


def test_invalid_event_is_dropped_alone(sink: Sink, make_client: MakeClient) -> None:
    client = make_client()
    client.capture(ev(1))
    client.capture({"event": "not an Event"})  # type: ignore[arg-type]
    client.capture(tampered(name=""))
    client.capture(tampered(timestamp=float("inf")))
    assert client.flush(2.0)
    assert [e["properties"]["i"] for e in sink.delivered] == [1]
    assert client.stats.dropped_by_reason == {"invalid": 3}


def test_oversized_event_is_dropped_alone(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(max_event_bytes=2_000)
    client.capture(ev(1))
    client.capture(ev(2, blob="x" * 5_000))
    client.capture(ev(3))
    assert client.flush(2.0)
    assert sorted(e["properties"]["i"] for e in sink.delivered) == [1, 3]
    assert client.stats.dropped_by_reason == {"too_large": 1}


def test_requests_are_split_under_the_byte_limit(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(batch_size=50, max_request_bytes=4_000)
    for i in range(50):
        client.capture(ev(i, pad="p" * 200))
    assert client.flush(2.0)
    assert len(sink.delivered) == 50
    sizes = [len(r.body["batch"]) for r in sink.requests if r.body]
    assert len(sizes) > 1
    assert all(int(r.headers["Content-Length"]) <= 4_000 for r in sink.requests)


def test_connection_is_reused_between_batches(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(batch_size=5, max_batch_size=5)
    for i in range(25):
        client.capture(ev(i))
    assert client.flush(2.0)
    assert len(sink.requests) == 5
    assert len({r.peer for r in sink.requests}) == 1  # one keep-alive connection


def test_cyclic_property_is_dropped_alone(sink: Sink, make_client: MakeClient) -> None:
    cyclic: dict[str, object] = {}
    cyclic["self"] = cyclic
    client = make_client()
    client.capture(ev(1))
    client.capture(ev(2, loop=cyclic))
    assert client.flush(2.0)
    assert [e["properties"]["i"] for e in sink.delivered] == [1]
    assert client.stats.dropped_by_reason == {"unserialisable": 1}
