"""Scenario fixtures: committed data on the real PostgreSQL, a local PostHog stand-in.

Every scenario runs the example service functions (``examples.multica_service``)
on separate connections from real threads, released together by a barrier, and
checks both the database and what actually reached the HTTP ``/batch/`` sink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from multica_db.analytics import PostHogClient
from tests.analytics.sink import Sink
from tests.scenarios.helpers import WAYS, Conn


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink().start()
    try:
        yield server
    finally:
        server.stop()


class Recorder:
    """The real PostHog client aimed at the sink, plus "what arrived" helpers."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.client = PostHogClient(
            "phc_scenarios", host=sink.url, flush_interval=0.02, log_interval=3600.0
        )

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every event delivered so far (after flushing the client), optionally by name."""
        assert self.client.flush(timeout=5.0), "analytics flush timed out"
        delivered = self.sink.delivered
        return [e for e in delivered if name is None or e["event"] == name]


@pytest.fixture
def recorder(sink: Sink) -> Iterator[Recorder]:
    rec = Recorder(sink)
    try:
        yield rec
    finally:
        rec.client.close(timeout=1.0)


@pytest.fixture
def connect(committed_db: str) -> Iterator[Callable[[], Conn]]:
    """Open connections to the committed database; all closed after the test."""
    opened: list[Conn] = []

    def make() -> Conn:
        c = psycopg.connect(committed_db)
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


@pytest.fixture
def pool(connect: Callable[[], Conn]) -> list[Conn]:
    """``WAYS`` idle connections, one per racing thread."""
    return [connect() for _ in range(WAYS)]


@pytest.fixture
def db(connect: Callable[[], Conn]) -> Conn:
    """An autocommit connection for setting up and inspecting committed state."""
    c = connect()
    c.autocommit = True
    return c
