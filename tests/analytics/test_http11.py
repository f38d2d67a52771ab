"""The hand-rolled HTTP/1.1 client against raw, scripted server behaviour."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from multica_db.analytics.transport import HttpTransport, Outcome

Handler = Callable[[socket.socket, int], None]


def read_request(conn: socket.socket) -> bytes:
    """Read one request (head + Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


@contextlib.contextmanager
def raw_server(handler: Handler) -> Iterator[tuple[str, list[int]]]:
    """Serve each accepted connection with ``handler(conn, index)`` in a thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(len(accepted))

            def run(c: socket.socket = conn, n: int = len(accepted) - 1) -> None:
                with contextlib.suppress(OSError), c:
                    handler(c, n)

            threading.Thread(target=run, daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(1)
        listener.close()


def respond(*responses: bytes) -> Handler:
    """Answer consecutive requests on a connection with ``responses`` then close."""

    def handler(conn: socket.socket, _: int) -> None:
        for response in responses:
            read_request(conn)
            conn.sendall(response)

    return handler


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


def test_content_length_keep_alive_reuses_the_connection() -> None:
    with raw_server(respond(OK, OK, OK)) as (url, accepted):
        transport = HttpTransport(url)
        for _ in range(3):
            assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        transport.close()
    assert len(accepted) == 1


def test_chunked_response_is_consumed() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;ext=1\r\n{"a"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n'
    )
    with raw_server(respond(chunked, OK)) as (url, accepted):
        transport = HttpTransport(url)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        transport.close()
    assert len(accepted) == 1


def test_interim_100_continue_is_skipped() -> None:
    response = b"HTTP/1.1 100 Continue\r\n\r\n" + OK
    with raw_server(respond(response)) as (url, _):
        assert HttpTransport(url).post(b"{}", 2.0).outcome is Outcome.OK


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\n\r\nbody until the server closes",
    ],
)
def test_connection_not_reused_when_server_closes(response: bytes) -> None:
    def handler(conn: socket.socket, _: int) -> None:
        read_request(conn)
        conn.sendall(response)

    with raw_server(handler) as (url, accepted):
        transport = HttpTransport(url)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
    assert len(accepted) == 2


def test_stale_keep_alive_connection_is_replaced_silently() -> None:
    # Advertises keep-alive, then closes the idle connection (server idle timeout).
    with raw_server(respond(OK)) as (url, accepted):
        transport = HttpTransport(url)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        time.sleep(0.1)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
    assert len(accepted) == 2


def test_retry_after_header_is_read() -> None:
    response = b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n"
    with raw_server(respond(response)) as (url, _):
        result = HttpTransport(url).post(b"{}", 2.0)
    assert result.outcome is Outcome.RETRY
    assert result.status == 429
    assert result.retry_after == 7.0


@pytest.mark.parametrize(
    "garbage",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2OO OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    ],
)
def test_malformed_responses_are_retryable_failures(garbage: bytes) -> None:
    def handler(conn: socket.socket, _: int) -> None:
        read_request(conn)
        conn.sendall(garbage)

    with raw_server(handler) as (url, _):
        result = HttpTransport(url).post(b"{}", 1.0)
    assert result.outcome is Outcome.RETRY


def test_trickling_server_cannot_stretch_the_deadline() -> None:
    def handler(conn: socket.socket, _: int) -> None:
        read_request(conn)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
            conn.sendall(bytes([byte]))
            time.sleep(0.05)

    with raw_server(handler) as (url, _):
        start = time.monotonic()
        result = HttpTransport(url).post(b"{}", 0.4)
        elapsed = time.monotonic() - start
    assert result.outcome is Outcome.RETRY
    assert elapsed < 0.4 + 0.2


def test_request_is_one_well_formed_post() -> None:
    seen: list[bytes] = []

    def handler(conn: socket.socket, _: int) -> None:
        seen.append(read_request(conn))
        conn.sendall(OK)

    with raw_server(handler) as (url, _):
        HttpTransport(url + "/prefix/").post(b'{"x":1}', 2.0)
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /prefix/batch/ HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Host"] == url.removeprefix("http://")
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == "7"
    assert body == b'{"x":1}'


def test_oversized_response_body_closes_the_connection() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + b"x" * 200_000
    with raw_server(respond(big, OK)) as (url, accepted):
        transport = HttpTransport(url)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
    assert len(accepted) == 2
