"""``on_error(error, batch)``: called as posthog-python calls it, and never able to hurt.

posthog-python's consumer thread calls ``on_error`` with the exception of a
batch's last upload attempt and the batch's events, once per batch given up
on; it does not call it for events dropped before an upload (queue full,
too large, ``before_send``). These tests hold the shipper to the same, on a
real local server, and check that a callback that raises, blocks or calls
``flush``/``shutdown`` changes nothing but itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from multica_db.analytics import APIError, Event, ManualClock, Posthog, RetryPolicy
from multica_db.analytics.client import THREAD_NAME
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Background, Sink, refused_url, wait_until
from tests.analytics.test_compat import canonical, normalised

ONCE = RetryPolicy(max_tries=1)


@dataclass
class Call:
    error: Exception
    batch: list[dict[str, Any]]
    thread: str


@dataclass
class Recorder:
    """An ``on_error`` callback that records its calls (and may then raise or block)."""

    calls: list[Call] = field(default_factory=list)
    raises: BaseException | None = None
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event | None = None

    def __call__(self, error: Exception, batch: list[dict[str, Any]]) -> None:
        self.calls.append(Call(error, batch, threading.current_thread().name))
        self.entered.set()
        if self.release is not None:
            self.release.wait()
        if self.raises is not None:
            raise self.raises


def ev(i: int) -> Event:
    return Event("test_event", f"user-{i}", {"i": i})


@pytest.fixture
def on_error() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    if recorder.release is not None:
        recorder.release.set()  # never leave a worker blocked in the callback


# -- when it is called, and with what ----------------------------------------


def test_a_refused_batch_is_handed_over_once_from_the_worker(
    sink: Sink, make_client: MakeClient, on_error: Recorder
) -> None:
    sink.set("400")
    client = make_client(on_error=on_error, batch_size=10)
    for i in range(3):
        client.capture(ev(i))
    assert client.flush(5.0)  # returns only after the callback did
    (call,) = on_error.calls
    assert call.thread == THREAD_NAME
    assert isinstance(call.error, APIError)
    assert (call.error.status, call.error.message) == (400, '{"error":"nope"}')
    assert str(call.error) == '[PostHog] {"error":"nope"} (400)'
    (request,) = sink.requests
    assert request.body is not None
    assert call.batch == request.body["batch"]  # the events as they were sent
    assert [e["properties"]["i"] for e in call.batch] == [0, 1, 2]
    stats = client.stats
    assert (stats.failed, stats.callback_errors) == (3, 0)


def test_the_server_s_detail_is_the_message(
    sink: Sink, make_client: MakeClient, on_error: Recorder
) -> None:
    sink.set("401")
    sink.state.error_body = b'{"type":"authentication_error","detail":"Project API key invalid"}'
    client = make_client(on_error=on_error, retry=ONCE)
    client.capture(ev(0))
    assert client.flush(5.0)
    (call,) = on_error.calls
    assert isinstance(call.error, APIError)
    assert (call.error.status, call.error.message) == (401, "Project API key invalid")


def test_called_only_once_the_retries_are_used_up(
    sink: Sink, make_client: MakeClient, on_error: Recorder
) -> None:
    sink.set("503")
    clock = ManualClock()
    policy = RetryPolicy(max_tries=3, base=1.0, cap=1.0)
    client = make_client(on_error=on_error, retry=policy, clock=clock)
    client.capture(ev(0))
    client.flush(0.0)
    worker = client._thread
    assert worker is not None
    for attempt in (1, 2):
        assert sink.wait_for_requests(attempt)
        clock.parked(thread=worker)  # backing off before the next attempt
        assert on_error.calls == []
        clock.advance(1.01)
    assert wait_until(lambda: len(on_error.calls) == 1)
    assert len(sink.requests) == 3
    (call,) = on_error.calls
    assert isinstance(call.error, APIError) and call.error.status == 503
    assert client.stats.failed == 1


def test_a_batch_that_gets_through_on_a_retry_is_not_reported(
    sink: Sink, make_client: MakeClient, on_error: Recorder
) -> None:
    sink.set("ok", "500", "reset")
    client = make_client(on_error=on_error, retry=RetryPolicy(max_tries=3, base=0, cap=0))
    client.capture(ev(0))
    assert client.flush(5.0)
    assert client.stats.sent == 1
    assert on_error.calls == []


def test_a_network_error_is_handed_over_as_it_was_raised(
    make_client: MakeClient, on_error: Recorder
) -> None:
    client = make_client(host=refused_url(), on_error=on_error, retry=ONCE)
    client.capture(ev(0))
    assert client.flush(5.0)
    (call,) = on_error.calls
    assert isinstance(call.error, ConnectionRefusedError)  # an OSError, as requests' are
    assert [e["distinct_id"] for e in call.batch] == ["user-0"]


def test_a_retry_denied_by_the_close_deadline_is_reported_with_the_last_error(
    sink: Sink, make_client: MakeClient, on_error: Recorder
) -> None:
    sink.set("429")
    sink.state.retry_after = "30"
    clock = ManualClock()
    policy = RetryPolicy(max_tries=5, max_retry_after=60.0)
    client = make_client(on_error=on_error, retry=policy, clock=clock)
    client.capture(ev(0))
    client.flush(0.0)
    assert sink.wait_for_requests(1)
    worker = client._thread
    assert worker is not None
    clock.parked(thread=worker)  # waiting out the Retry-After
    # The retry would outlive the deadline: close does not wait for it.
    assert Background(lambda: client.close(1.0)).result() is False
    (call,) = on_error.calls
    assert isinstance(call.error, APIError)
    assert (call.error.status, call.error.retry_after) == (429, 30.0)
    assert client.stats.dropped_by_reason == {"deadline": 1}


def test_not_called_for_events_dropped_before_an_upload(
    sink: Sink, make_client: MakeClient, on_error: Recorder
) -> None:
    client = make_client(on_error=on_error, max_event_bytes=1_000)
    client.capture(Event("bad", "u", {"o": object()}))  # unserialisable
    client.capture(Event("big", "u", {"blob": "x" * 2_000}))  # too large
    client.capture(ev(0))
    client.close(5.0)
    client.capture(ev(1))  # closed
    assert [e["event"] for e in sink.delivered] == ["test_event"]
    assert client.stats.dropped == 3
    assert on_error.calls == []


# -- a callback cannot hurt the shipper ---------------------------------------


@pytest.mark.parametrize("raised", [RuntimeError("boom"), SystemExit(3), KeyboardInterrupt()])
def test_whatever_the_callback_raises_is_counted_and_shipping_goes_on(
    sink: Sink, make_client: MakeClient, on_error: Recorder, raised: BaseException
) -> None:
    on_error.raises = raised
    sink.set("400")
    client = make_client(on_error=on_error, retry=ONCE)
    client.capture(ev(0))
    assert client.flush(5.0)
    sink.set("ok")
    client.capture(ev(1))
    assert client.flush(5.0)
    sink.set("400")
    client.capture(ev(2))
    assert client.flush(5.0)
    assert [e["properties"]["i"] for e in sink.delivered] == [1]
    assert [c.batch[0]["properties"]["i"] for c in on_error.calls] == [0, 2]
    stats = client.stats
    assert (stats.sent, stats.failed, stats.callback_errors, stats.worker_errors) == (1, 2, 2, 0)


def test_a_blocked_callback_never_blocks_capture_or_close(
    sink: Sink, make_client: MakeClient, on_error: Recorder
) -> None:
    on_error.release = threading.Event()
    sink.set("400")
    clock = ManualClock()
    client = make_client(on_error=on_error, retry=ONCE, queue_size=10, clock=clock)
    client.capture(ev(0))
    client.flush(0.0)
    assert on_error.entered.wait(30)  # the worker is now stuck in the callback
    results = [client.capture(ev(i)) for i in range(1, 101)]
    assert results == [True] * 10 + [False] * 90  # queued, then dropped: never waiting
    close = Background(lambda: client.close(0.5))
    clock.parked(thread=close.thread)
    clock.advance(0.51)
    assert close.result() is False  # at its deadline, callback still blocked
    stats = client.stats
    assert stats.dropped_by_reason == {"queue_full": 90, "deadline": 10}
    assert (stats.failed, stats.pending) == (1, 0)


def test_flush_and_shutdown_from_the_callback_do_not_wait_for_the_worker(sink: Sink) -> None:
    sink.set("ok", "400")
    clock = ManualClock()  # never advanced: a wait for the worker would hang
    returned: list[object] = []

    def on_error(error: Exception, batch: list[dict[str, Any]]) -> None:
        returned.append(posthog.capture("queued_in_callback", distinct_id="u"))
        returned.append(posthog.flush())
        returned.append(posthog.shutdown())
        returned.append(posthog.capture("after_shutdown", distinct_id="u"))

    posthog = Posthog("phc", host=sink.url, on_error=on_error, max_retries=0, clock=clock)
    posthog.capture("refused", distinct_id="u")
    posthog.flush()
    assert len(returned) == 4 and returned[1:] == [None, None, None]
    # Intake closed inside the callback; what was queued before still ships.
    assert sink.wait_for(1)
    assert [e["event"] for e in sink.delivered] == ["queued_in_callback"]
    client = posthog.client
    assert client is not None and client._thread is not None
    client._thread.join(30)
    stats = posthog.stats
    assert (stats.sent, stats.failed, stats.dropped_by_reason) == (1, 1, {"closed": 1})


# -- the same as posthog-python ------------------------------------------------


def calls_through(
    client_class: Any, url: str, **options: Any
) -> tuple[list[tuple[Exception, list[dict[str, Any]]]], str]:
    """Send the same calls through a client class; its ``on_error`` calls and thread."""
    calls: list[tuple[Exception, list[dict[str, Any]]]] = []
    threads: set[str] = set()

    def record(error: Exception, batch: list[dict[str, Any]]) -> None:
        calls.append((error, json.loads(json.dumps(batch))))
        threads.add(threading.current_thread().name)

    client = client_class(
        "phc_compare", host=url, on_error=record, max_retries=0, flush_interval=0.05, **options
    )
    client.capture("signed_up", distinct_id="u1", properties={"plan": "free"})
    client.set(distinct_id="u1", properties={"name": "Ann"})
    client.alias(previous_id="anon", distinct_id="u1")
    client.capture("anonymous")
    client.flush()
    client.shutdown()
    assert threading.current_thread().name not in threads
    return calls, ",".join(sorted(threads))


@pytest.mark.parametrize(
    ("mode", "body"),
    [
        ("400", b'{"error":"nope"}'),
        ("401", b'{"type":"authentication_error","detail":"Project API key invalid"}'),
        ("500", b"upstream went away"),
        ("429", b'{"detail":"slow down"}'),
    ],
)
def test_posthog_python_reports_the_same_failures(sink: Sink, mode: str, body: bytes) -> None:
    posthog_module = pytest.importorskip("posthog")
    sink.set(mode)  # type: ignore[arg-type]
    sink.state.error_body = body
    theirs, _ = calls_through(posthog_module.Posthog, sink.url)
    ours, thread = calls_through(Posthog, sink.url)
    assert thread == THREAD_NAME

    def errors(calls: list[tuple[Exception, list[dict[str, Any]]]]) -> set[tuple[Any, ...]]:
        return {
            (type(e).__name__, e.status, e.message, str(e), e.retry_after)  # type: ignore[attr-defined]
            for e, _ in calls
        }

    def events(calls: list[tuple[Exception, list[dict[str, Any]]]]) -> list[str]:
        return sorted(canonical(normalised(event)) for _, batch in calls for event in batch)

    assert errors(ours) == errors(theirs)
    assert len(errors(ours)) == 1
    assert events(ours) == events(theirs)
    assert len(events(ours)) == 4


def test_posthog_python_reports_a_refused_connection_alike() -> None:
    posthog_module = pytest.importorskip("posthog")
    url = refused_url()
    theirs, _ = calls_through(posthog_module.Posthog, url)
    ours, _ = calls_through(Posthog, url)
    for calls in (theirs, ours):
        assert calls and all(isinstance(error, OSError) for error, _ in calls)
        assert sorted(e["event"] for _, batch in calls for e in batch) == [
            "$create_alias",
            "$set",
            "anonymous",
            "signed_up",
        ]
