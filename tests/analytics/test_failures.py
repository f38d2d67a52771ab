"""Broken backends: retries, give-ups, drops, and that capture never blocks."""

from __future__ import annotations

import logging

import pytest

from multica_db.analytics import Event, ManualClock, PostHogClient, RetryPolicy
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink, refused_url


def ev(i: int) -> Event:
    return Event("test_event", f"user-{i}", {"i": i})


def capture_n(client: object, n: int) -> None:
    for i in range(n):
        client.capture(ev(i))  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["500", "503", "408"])
def test_retryable_status_is_retried_then_the_batch_fails(
    sink: Sink, make_client: MakeClient, mode: str
) -> None:
    sink.set(mode)  # type: ignore[arg-type]
    client = make_client()  # max_tries=3
    capture_n(client, 5)
    assert client.flush(3.0)
    assert len(sink.requests) == 3
    stats = client.stats
    assert (stats.sent, stats.failed, stats.retried, stats.pending) == (0, 5, 2, 0)


def test_retry_then_success_delivers_with_the_same_uuids(
    sink: Sink, make_client: MakeClient
) -> None:
    sink.set("ok", "500", "503")
    client = make_client()
    capture_n(client, 5)
    assert client.flush(3.0)
    first, _second, third = sink.requests
    assert first.body is not None and third.body is not None
    assert [e["uuid"] for e in first.body["batch"]] == [e["uuid"] for e in third.body["batch"]]
    stats = client.stats
    assert (stats.sent, stats.failed, stats.retried) == (5, 0, 2)
    assert len(sink.delivered) == 5


def retry_waits_until(sink: Sink, client: PostHogClient, clock: ManualClock, wait: float) -> None:
    """The second attempt goes out once the clock passed ``wait``, not before."""
    assert sink.wait_for_requests(1)
    worker = client._thread
    assert worker is not None
    clock.parked(thread=worker)  # backing off
    clock.advance(wait - 0.01)
    clock.parked(thread=worker)  # still backing off
    assert len(sink.requests) == 1
    clock.advance(0.02)
    assert sink.wait_for_requests(2)


def test_429_honours_retry_after(sink: Sink, make_client: MakeClient) -> None:
    sink.set("ok", "429")
    sink.state.retry_after = "1"
    clock = ManualClock()
    client = make_client(batch_size=3, clock=clock)  # jittered backoff alone: <= 0.05 s
    capture_n(client, 3)
    retry_waits_until(sink, client, clock, 1.0)
    assert sink.wait_for(3)
    assert client.flush(1.0)
    assert client.stats.sent == 3
    assert client.stats.retried == 1


def test_retry_after_is_capped(sink: Sink, make_client: MakeClient) -> None:
    sink.set("ok", "429")
    sink.state.retry_after = "3600"
    policy = RetryPolicy(max_tries=3, base=0.01, cap=0.05, max_retry_after=0.2)
    clock = ManualClock()
    client = make_client(retry=policy, batch_size=1, clock=clock)
    capture_n(client, 1)
    retry_waits_until(sink, client, clock, 0.2)
    assert sink.wait_for(1)


@pytest.mark.parametrize("mode", ["400"])
def test_other_4xx_fails_at_once(sink: Sink, make_client: MakeClient, mode: str) -> None:
    sink.set(mode)  # type: ignore[arg-type]
    client = make_client()
    capture_n(client, 4)
    assert client.flush(2.0)
    assert len(sink.requests) == 1
    stats = client.stats
    assert (stats.failed, stats.retried, stats.sent) == (4, 0, 0)


def test_a_failed_batch_does_not_block_the_next(sink: Sink, make_client: MakeClient) -> None:
    sink.set("ok", "400")
    client = make_client(batch_size=2, max_batch_size=2, flush_interval=30.0)
    capture_n(client, 4)
    assert client.flush(2.0)
    assert client.stats.failed == 2
    assert client.stats.sent == 2


def test_connection_refused_is_retried_and_counted(make_client: MakeClient) -> None:
    client = make_client(host=refused_url())
    capture_n(client, 7)
    assert client.flush(3.0)
    stats = client.stats
    assert (stats.failed, stats.retried, stats.sent, stats.pending) == (7, 2, 0, 0)


def test_connection_reset_is_retried(sink: Sink, make_client: MakeClient) -> None:
    sink.set("reset")
    client = make_client()
    capture_n(client, 3)
    assert client.flush(3.0)
    assert len(sink.requests) == 3
    stats = client.stats
    assert (stats.failed, stats.retried) == (3, 2)


def test_reset_then_recovery_delivers(sink: Sink, make_client: MakeClient) -> None:
    sink.set("ok", "reset")
    client = make_client()
    capture_n(client, 3)
    assert client.flush(3.0)
    assert client.stats.sent == 3
    assert len(sink.delivered) == 3


def test_slow_backend_within_timeout_delivers(sink: Sink, make_client: MakeClient) -> None:
    sink.set("slow")
    sink.state.slow_seconds = 0.3
    client = make_client(request_timeout=2.0)
    capture_n(client, 3)
    assert client.flush(3.0)
    assert client.stats.sent == 3
    assert client.stats.retried == 0


def test_hanging_backend_times_out_per_request(sink: Sink, make_client: MakeClient) -> None:
    """Each attempt ends at its own deadline although the server never answers."""
    sink.set("hang")
    policy = RetryPolicy(max_tries=2, base=0.01, cap=0.01)
    client = make_client(request_timeout=0.3, retry=policy)
    capture_n(client, 3)
    assert client.flush(20.0)
    assert len(sink.requests) == 2
    stats = client.stats
    assert (stats.failed, stats.retried) == (3, 1)


def test_full_queue_drops_and_capture_never_waits(sink: Sink, make_client: MakeClient) -> None:
    sink.set("hang")
    client = make_client(queue_size=20, batch_size=5, request_timeout=30.0)
    client.capture(ev(0))
    assert sink.wait_for_requests(1)  # the worker is now stuck on the hanging request
    results = [client.capture(ev(i)) for i in range(1, 1001)]
    assert results.count(True) == 20
    assert results[:20] == [True] * 20
    stats = client.stats
    assert stats.dropped_by_reason == {"queue_full": 980}
    assert stats.pending == 21  # 20 queued + 1 in flight


def test_drops_are_logged_once_per_interval(
    sink: Sink, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    sink.set("500")
    caplog.set_level(logging.WARNING, logger="multica_db.analytics")
    clock = ManualClock()
    policy = RetryPolicy(max_tries=1_000, base=1.0, cap=1.0)
    client = make_client(queue_size=5, batch_size=5, log_interval=10.0, retry=policy, clock=clock)
    capture_n(client, 5)  # one batch, retried against the 500s
    worker = client._thread
    assert worker is not None
    for round_ in range(8):
        clock.parked(thread=worker)  # backing off
        for i in range(500):  # 5 fit in the queue, 495 are dropped
            client.capture(ev(round_ * 500 + i))
        clock.advance(10.0)  # the next retry is due and so is a summary
    clock.parked(thread=worker)
    records = [r for r in caplog.records if r.name == "multica_db.analytics"]
    # Thousands of drops and failed attempts: one summary per interval, none per event.
    assert len(records) == 8
    assert all("queue_full" in r.getMessage() for r in records)
    before = len(caplog.records)
    assert client.close(0.0) is False
    worker.join(30)
    closing = [r.getMessage() for r in caplog.records[before:]]
    # The deadline drops are summed up in a line or two (by close, and by the
    # worker's last report), however many events they were.
    assert 1 <= len(closing) <= 2
    assert any("deadline" in line for line in closing)
