"""The accounting invariant, sampled while many threads capture against faults."""

from __future__ import annotations

import random
import threading
import time

import pytest

from multica_db.analytics import Event, NoopClient, PostHogClient, RetryPolicy, Stats
from multica_db.analytics.protocol import AnalyticsClient
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink

THREADS = 8
PER_THREAD = 3_000


def check(stats: Stats) -> None:
    assert stats.captured == stats.sent + stats.dropped + stats.failed + stats.pending
    assert stats.pending >= 0
    assert sum(stats.dropped_by_reason.values()) == stats.dropped


def fields(stats: Stats) -> tuple[int, ...]:
    return (stats.captured, stats.sent, stats.dropped, stats.failed, stats.retried)


@pytest.mark.timeout(60)
def test_invariant_holds_under_load_and_faults(sink: Sink, make_client: MakeClient) -> None:
    # Every other response is a failure of some kind.
    modes = ["ok", "500", "ok", "reset", "ok", "429", "ok", "400", "slow"]
    rng = random.Random(7)
    sink.set("ok", *[rng.choice(modes) for _ in range(400)])
    sink.state.retry_after = "0"
    sink.state.slow_seconds = 0.05
    client = make_client(
        queue_size=256,
        batch_size=32,
        flush_interval=0.02,
        retry=RetryPolicy(max_tries=3, base=0.001, cap=0.01),
    )
    returned: list[int] = []
    start = threading.Barrier(THREADS + 1)

    def producer(seed: int) -> None:
        start.wait()
        accepted = 0
        for i in range(PER_THREAD):
            accepted += client.capture(Event("load", f"t{seed}-{i}", {"i": i}))
            if i % 10 == 0:  # paced, so the run spans hundreds of batches
                time.sleep(0.002)
        returned.append(accepted)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    start.wait()
    samples = 0
    previous = fields(client.stats)
    while any(t.is_alive() for t in threads) or samples < 50:
        stats = client.stats
        check(stats)
        current = fields(stats)
        assert all(c >= p for c, p in zip(current, previous, strict=True))  # monotonic
        previous = current
        samples += 1
        time.sleep(0.001)
    for t in threads:
        t.join()

    assert client.flush(10.0)
    final = client.stats
    check(final)
    assert final.captured == THREADS * PER_THREAD
    assert final.pending == 0
    accepted = sum(returned)
    assert final.dropped_by_reason.get("queue_full", 0) == THREADS * PER_THREAD - accepted
    assert final.sent == len(sink.delivered)  # only 2xx-acknowledged events count as sent
    assert final.sent > 0 and final.failed > 0 and final.retried > 0
    assert samples >= 50
    client.close(1.0)
    check(client.stats)


def test_pending_is_derived() -> None:
    stats = Stats(captured=10, sent=3, dropped=2, failed=1)
    assert stats.pending == 4


def test_both_clients_satisfy_the_protocol() -> None:
    client = PostHogClient("k", host="http://127.0.0.1:9")
    try:
        assert isinstance(client, AnalyticsClient)
        assert isinstance(NoopClient(), AnalyticsClient)
    finally:
        client.close(0)


def test_noop_client_has_no_thread_and_zero_stats() -> None:
    before = threading.active_count()
    client = NoopClient()
    for i in range(100):
        assert client.capture(Event("e", f"d{i}")) is True
    assert threading.active_count() == before
    assert client.stats == Stats()
    assert client.flush(0) and client.close(0)
