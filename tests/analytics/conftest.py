"""Fixtures for the analytics tests: a local sink and fast-ticking clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from multica_db.analytics import PostHogClient, RetryPolicy
from tests.analytics.sink import Sink

#: Short intervals so failure paths resolve in tens of milliseconds.
FAST: dict[str, Any] = {
    "flush_interval": 0.05,
    "request_timeout": 1.0,
    "retry": RetryPolicy(max_tries=3, base=0.01, cap=0.05, max_retry_after=5.0),
    "log_interval": 3600.0,
}

MakeClient = Callable[..., PostHogClient]


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_client(sink: Sink) -> Iterator[MakeClient]:
    """Build clients aimed at ``sink`` by default; all are closed afterwards."""
    clients: list[PostHogClient] = []

    def make(**overrides: Any) -> PostHogClient:
        options = {**FAST, "host": sink.url, **overrides}
        client = PostHogClient(options.pop("api_key", "phc_test"), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=0.2)
