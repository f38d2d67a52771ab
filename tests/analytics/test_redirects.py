"""Redirect handling: exactly the documented number of hops, and a clean connection after.

A server that answers every request with a redirect must cost one batch at most
``1 + 5`` requests, and the next batch on the same transport must go out at
once: a response left unread on a kept-alive connection would make it fail with
``CannotSendRequest``.
"""

from __future__ import annotations

import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multica_db.analytics import Event
from multica_db.analytics.transport import HttpTransport, Outcome, SendResult
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink
from tests.analytics.test_http import OK, raw_server, read_request

#: The documented limit: redirects followed for one attempt of one batch.
HOPS = 5


class Redirector:
    """Answers the first ``redirects`` requests with a 307/308 to ``/batch/``, then 200."""

    def __init__(self, redirects: int, status: int = 307, close: bool = False) -> None:
        self.redirects = redirects
        self.status = status
        self.close = close
        self.lines: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, conn: socket.socket, _: int) -> None:
        while True:
            request = read_request(conn)
            if not request:
                return
            with self.lock:
                self.lines.append(request.split(b"\r\n", 1)[0])
                redirect = len(self.lines) <= self.redirects
            if not redirect:
                conn.sendall(OK)
                continue
            closing = b"Connection: close\r\n" if self.close else b""
            conn.sendall(
                b"HTTP/1.1 %d Loop\r\nLocation: /batch/\r\n%sContent-Length: 4\r\n\r\nloop"
                % (self.status, closing)
            )
            if self.close:
                return


@pytest.mark.parametrize("close", [False, True])
@pytest.mark.parametrize("status", [307, 308])
def test_a_redirect_loop_stops_after_the_documented_hops(status: int, close: bool) -> None:
    server = Redirector(redirects=1_000, status=status, close=close)
    with raw_server(server) as (url, _):
        transport = HttpTransport(url)
        result = transport.post(b"{}", 5.0)
        assert (result.outcome, result.detail) == (Outcome.FATAL, "too many redirects")
        assert len(server.lines) == 1 + HOPS
        server.redirects = 0  # the loop is fixed: the next batch goes through at once
        assert transport.post(b"{}", 5.0).outcome is Outcome.OK
        transport.close()
    assert len(server.lines) == 1 + HOPS + 1


@settings(max_examples=20, deadline=None, derandomize=True)
@given(redirects=st.integers(0, HOPS + 3), close=st.booleans(), pipelined=st.booleans())
def test_any_number_of_redirects_leaves_the_connection_usable(
    redirects: int, close: bool, pipelined: bool
) -> None:
    server = Redirector(redirects=redirects, close=close)
    with raw_server(server) as (url, _):
        transport = HttpTransport(url)
        if pipelined:  # the worker's path: write now, read the answer later
            started = transport.begin(b"{}", 5.0)
            first = started if isinstance(started, SendResult) else transport.finish(started)
        else:
            first = transport.post(b"{}", 5.0)
        sent_first = len(server.lines)
        if redirects <= HOPS:
            assert first.outcome is Outcome.OK
            assert sent_first == redirects + 1
        else:
            assert first.outcome is Outcome.FATAL
            assert sent_first == 1 + HOPS
        server.redirects = 0
        assert transport.post(b"{}", 5.0).outcome is Outcome.OK
        assert len(server.lines) == sent_first + 1
        transport.close()


def test_after_a_redirect_loop_the_next_batch_needs_no_retry(
    sink: Sink, make_client: MakeClient
) -> None:
    server = Redirector(redirects=1 + HOPS)
    with raw_server(server) as (url, _):
        client = make_client(host=url)
        client.capture(Event("looped", "u"))
        assert client.flush(10.0)
        assert client.stats.failed == 1
        client.capture(Event("after", "u"))
        assert client.flush(10.0)
        stats = client.stats
    assert (stats.sent, stats.failed, stats.retried) == (1, 1, 0)
    assert len(server.lines) == 1 + HOPS + 1
