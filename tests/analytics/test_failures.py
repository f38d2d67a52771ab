"""Broken backends: retries, give-ups, drops, and that capture never blocks."""

from __future__ import annotations

import logging
import time

import pytest

from multica_db.analytics import Event, RetryPolicy
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


def test_429_honours_retry_after(sink: Sink, make_client: MakeClient) -> None:
    sink.set("ok", "429")
    sink.state.retry_after = "1"
    client = make_client()
    capture_n(client, 3)
    assert client.flush(4.0)
    first, second = sink.requests
    assert second.at - first.at >= 0.95  # jittered backoff alone would be <= 0.05 s
    assert client.stats.sent == 3
    assert client.stats.retried == 1


def test_retry_after_is_capped(sink: Sink, make_client: MakeClient) -> None:
    sink.set("ok", "429")
    sink.state.retry_after = "3600"
    policy = RetryPolicy(max_tries=3, base=0.01, cap=0.05, max_retry_after=0.2)
    client = make_client(retry=policy)
    capture_n(client, 1)
    assert client.flush(2.0)
    first, second = sink.requests
    assert 0.15 <= second.at - first.at < 1.0


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
    sink.set("hang")
    policy = RetryPolicy(max_tries=2, base=0.01, cap=0.01)
    client = make_client(request_timeout=0.3, retry=policy)
    capture_n(client, 3)
    start = time.monotonic()
    assert client.flush(3.0)
    elapsed = time.monotonic() - start
    assert 0.55 <= elapsed < 1.5
    stats = client.stats
    assert (stats.failed, stats.retried) == (3, 1)


def test_full_queue_drops_and_capture_stays_fast(sink: Sink, make_client: MakeClient) -> None:
    sink.set("hang")
    client = make_client(queue_size=20, batch_size=5, request_timeout=5.0)
    client.capture(ev(0))
    assert client.flush(0.2) is False  # worker is now stuck on the hanging request
    start = time.perf_counter()
    results = [client.capture(ev(i)) for i in range(1, 1001)]
    elapsed = time.perf_counter() - start
    assert results.count(True) == 20
    assert results[:20] == [True] * 20
    stats = client.stats
    assert stats.dropped_by_reason == {"queue_full": 980}
    assert stats.pending == 21  # 20 queued + 1 in flight
    assert elapsed < 0.5  # 1000 captures against a dead backend


def test_drops_are_logged_rate_limited(
    sink: Sink, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    sink.set("hang")
    caplog.set_level(logging.WARNING, logger="multica_db.analytics")
    client = make_client(queue_size=5, batch_size=5, log_interval=0.2, request_timeout=0.3)
    start = time.monotonic()
    for round_ in range(8):
        for i in range(500):
            client.capture(ev(round_ * 500 + i))
        time.sleep(0.1)  # spreads the drops over time; not a synchronisation
    elapsed = time.monotonic() - start
    records = [r for r in caplog.records if r.name == "multica_db.analytics"]
    # Thousands of drops, one summary per 0.2 s at most (however long the
    # rounds took on a busy machine), never one line per event.
    assert 1 <= len(records) <= elapsed / 0.2 + 2
    assert "queue_full" in records[0].getMessage()
    before = len(caplog.records)
    client.close(0.1)
    closing = [r.getMessage() for r in caplog.records[before:]]
    # The deadline drops are summed up in a line or two (by close, or by the
    # worker if it booked them first), however many events they were.
    assert 1 <= len(closing) <= 2
    assert any("deadline" in line for line in closing)
