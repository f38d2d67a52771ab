"""Pure pieces: status classification, Retry-After parsing, backoff bounds."""

from __future__ import annotations

import random
import time
from email.utils import formatdate

import pytest

from multica_db.analytics.retry import RetryPolicy
from multica_db.analytics.transport import HttpTransport, Outcome, classify, parse_retry_after


@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_is_ok(status: int) -> None:
    assert classify(status).outcome is Outcome.OK


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 599])
def test_transient_statuses_retry(status: int) -> None:
    assert classify(status).outcome is Outcome.RETRY


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 413, 422])
def test_other_statuses_are_fatal(status: int) -> None:
    assert classify(status).outcome is Outcome.FATAL


def test_retry_after_is_parsed_for_retryable_statuses() -> None:
    assert classify(429, "7").retry_after == 7.0
    assert classify(503, "1.5").retry_after == 1.5
    assert classify(400, "7").retry_after is None


def test_parse_retry_after_forms() -> None:
    now = time.time()
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after("-5") == 0.0
    in_ten = parse_retry_after(formatdate(now + 10, usegmt=True), now=now)
    assert in_ten is not None and 9.0 <= in_ten <= 10.0
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now=now) == 0.0


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy(max_tries=10, base=0.1, cap=1.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        delays = [policy.delay(attempt, rng=rng) for _ in range(500)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads over the whole range, not just near the ceiling.
        assert min(delays) < ceiling * 0.1
        assert max(delays) > ceiling * 0.9


def test_retry_after_is_a_floor_but_capped() -> None:
    policy = RetryPolicy(base=0.01, cap=0.01, max_retry_after=2.0)
    assert policy.delay(1, retry_after=1.5) >= 1.5
    assert policy.delay(1, retry_after=3600) == 2.0


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_tries=0)
    with pytest.raises(ValueError):
        RetryPolicy(base=-1)


def test_transport_builds_batch_url() -> None:
    assert HttpTransport("https://us.i.posthog.com").url == "https://us.i.posthog.com/batch/"
    assert (
        HttpTransport("http://127.0.0.1:8000/ingest/").url == "http://127.0.0.1:8000/ingest/batch/"
    )
    assert HttpTransport("eu.i.posthog.com").url == "https://eu.i.posthog.com/batch/"
