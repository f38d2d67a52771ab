"""The worker loop survives its own bugs: logged once, counted, and it carries on."""

from __future__ import annotations

import logging
import threading

import pytest

from multica_db.analytics import Event
from multica_db.analytics.client import THREAD_NAME
from multica_db.analytics.transport import HttpTransport, Pending, SendResult
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink


class Boom(BaseException):
    """Not an Exception: gets past every ``except Exception`` in the worker."""


class FaultyTransport(HttpTransport):
    """A real transport whose first ``faults`` requests blow up before any I/O."""

    def __init__(self, host: str, faults: int) -> None:
        super().__init__(host)
        self.faults = faults

    def begin(self, body: bytes, timeout: float) -> Pending | SendResult:
        if self.faults > 0:
            self.faults -= 1
            raise Boom("injected")
        return super().begin(body, timeout)


def test_unexpected_error_is_logged_counted_and_survived(
    sink: Sink, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="multica_db.analytics")
    transport = FaultyTransport(sink.url, faults=3)
    client = make_client(flush_interval=30.0, transport_factory=lambda: transport)
    for round_ in range(3):
        client.capture(Event("doomed", f"u{round_}"))
        assert client.flush(10.0)  # the flusher is released, not left hanging
    client.capture(Event("after", "u"))
    assert client.flush(10.0)
    assert [e["event"] for e in sink.delivered] == ["after"]
    stats = client.stats
    assert stats.worker_errors == 3
    assert stats.dropped_by_reason == {"worker_error": 3}
    assert stats.captured == stats.sent + stats.dropped + stats.failed + stats.pending
    assert [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    # The first with its traceback; the next two inside the log interval stay quiet.
    assert len(errors) == 1
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is Boom


def test_huge_event_does_not_fail_its_neighbours(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(flush_interval=30.0)
    for i in range(9):
        client.capture(Event("small", f"u{i}"))
    client.capture(Event("huge", "u", {"blob": "€" * 400_000}))  # 1.2 MB of UTF-8
    assert client.flush(10.0)
    assert len(sink.delivered) == 9
    assert client.stats.dropped_by_reason == {"too_large": 1}
    assert client.stats.failed == 0


class Treacherous(dict[str, object]):
    """A mapping whose items() raises what no ``except Exception`` catches."""

    def items(self):  # type: ignore[no-untyped-def,override]
        raise SystemExit("from inside a property value")


def test_property_raising_baseexception_drops_only_its_event(
    sink: Sink, make_client: MakeClient
) -> None:
    client = make_client(flush_interval=30.0)
    client.capture(Event("bad", "u", {"nested": Treacherous(a=1)}))
    client.capture(Event("good", "u"))
    assert client.flush(10.0)
    assert [e["event"] for e in sink.delivered] == ["good"]
    assert client.stats.dropped_by_reason == {"unserialisable": 1}
    assert client.stats.worker_errors == 0
