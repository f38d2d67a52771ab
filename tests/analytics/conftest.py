"""Fixtures for the analytics tests: a local sink and fast-ticking clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
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

_HERE = Path(__file__).resolve().parent
#: Every analytics test finishes in well under a second or two; anything near
#: this bound is a hang, and a hang must fail the test rather than the run.
_TIMEOUT_SECONDS = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.resolve().parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(_TIMEOUT_SECONDS))


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


_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests talk to 127.0.0.1: a developer's own proxy settings must not apply."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
