"""The HTTP transport against raw, scripted server behaviour: framing, reuse, redirects."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from multica_db.analytics import APIError, ManualClock
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


DETAIL = b'{"type":"validation_error","detail":"Invalid input"}'


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(DETAIL), DETAIL),
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
        % (len(DETAIL), DETAIL),
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
        % (len(DETAIL), DETAIL),
    ],
)
def test_an_error_carries_the_server_s_message(response: bytes) -> None:
    def handler(conn: socket.socket, index: int) -> None:
        respond(response, OK)(conn, index) if index == 0 else respond(OK)(conn, index)

    with raw_server(handler) as (url, _):
        transport = HttpTransport(url)
        result = transport.post(b"{}", 2.0)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK  # framing kept intact
        transport.close()
    assert (result.outcome, result.status) == (Outcome.FATAL, 400)
    assert isinstance(result.error, APIError)
    assert (result.error.status, result.error.message) == (400, "Invalid input")


def test_an_error_body_that_is_not_json_is_the_message_as_text() -> None:
    response = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n\r\nbad gateway"
    with raw_server(respond(response)) as (url, _):
        result = HttpTransport(url).post(b"{}", 2.0)
    assert result.outcome is Outcome.RETRY
    assert isinstance(result.error, APIError)
    assert str(result.error) == "[PostHog] bad gateway (502)"


def test_stale_keep_alive_connection_is_replaced_silently() -> None:
    # Advertises keep-alive, then closes the idle connection (server idle timeout).
    closed = threading.Event()

    def handler(conn: socket.socket, _: int) -> None:
        read_request(conn)
        conn.sendall(OK)
        conn.shutdown(socket.SHUT_RDWR)
        closed.set()

    with raw_server(handler) as (url, accepted):
        transport = HttpTransport(url)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        assert closed.wait(10)
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
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/2 200\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
    ],
)
def test_malformed_responses_are_retryable_failures(garbage: bytes) -> None:
    def handler(conn: socket.socket, _: int) -> None:
        read_request(conn)
        conn.sendall(garbage)

    with raw_server(handler) as (url, _):
        result = HttpTransport(url).post(b"{}", 1.0)
    assert result.outcome is Outcome.RETRY


@pytest.mark.parametrize(
    "response",
    [
        # RFC 9112 section 2.2: a client may accept a bare LF as a line terminator.
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",
        # Section 6.3: repeated identical Content-Length values are one length.
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        # Section 5.2: obs-fold is replaced by a space before the value is read.
        b"HTTP/1.1 200 OK\r\nX-Long: first\r\n  second\r\nContent-Length: 2\r\n\r\n{}",
        # Interim responses before the final one.
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK,
    ],
)
def test_framing_a_mature_client_accepts(response: bytes) -> None:
    with raw_server(respond(response, OK)) as (url, accepted):
        transport = HttpTransport(url)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        transport.close()
    assert len(accepted) == 1  # framing understood: the connection stays usable


def test_header_line_without_colon_keeps_the_status_but_not_the_connection() -> None:
    # As with requests/urllib3: the head ends there, the rest is body to EOF.
    response = b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}"
    with raw_server(respond(response, OK)) as (url, accepted):
        transport = HttpTransport(url)
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
        assert transport.post(b"{}", 2.0).outcome is Outcome.OK
    assert len(accepted) == 2


def test_identical_content_length_list_is_accepted() -> None:
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}"
    with raw_server(respond(response)) as (url, _):
        assert HttpTransport(url).post(b"{}", 2.0).outcome is Outcome.OK


def test_folded_retry_after_is_read() -> None:
    response = b"HTTP/1.1 429 Slow Down\r\nRetry-After:\r\n 7\r\nContent-Length: 0\r\n\r\n"
    with raw_server(respond(response)) as (url, _):
        result = HttpTransport(url).post(b"{}", 2.0)
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 7.0)


def redirecting(status: int, location: bytes, seen: list[bytes]) -> Handler:
    def handler(conn: socket.socket, _: int) -> None:
        while True:
            request = read_request(conn)
            if not request:
                return
            seen.append(request.split(b"\r\n", 1)[0])
            if len(seen) == 1:
                conn.sendall(
                    b"HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                    % (status, location)
                )
            else:
                conn.sendall(OK)

    return handler


@pytest.mark.parametrize("status", [307, 308])
def test_same_origin_redirect_is_followed_with_the_body(status: int) -> None:
    seen: list[bytes] = []
    with raw_server(redirecting(status, b"/ingest/batch/", seen)) as (url, _):
        transport = HttpTransport(url)
        assert transport.post(b'{"x":1}', 2.0).outcome is Outcome.OK
        assert transport.post(b'{"x":1}', 2.0).outcome is Outcome.OK
        transport.close()
    assert seen[:2] == [b"POST /batch/ HTTP/1.1", b"POST /ingest/batch/ HTTP/1.1"]
    # 308 is permanent: the next batch goes straight to the new path.
    expected_third = b"POST /ingest/batch/ HTTP/1.1" if status == 308 else b"POST /batch/ HTTP/1.1"
    assert seen[2] == expected_third


@pytest.mark.parametrize(
    ("status", "location"),
    [(307, b"http://elsewhere.invalid/batch/"), (308, b"https://127.0.0.1/batch/"), (302, b"/x")],
)
def test_other_redirects_are_not_followed(status: int, location: bytes) -> None:
    seen: list[bytes] = []
    with raw_server(redirecting(status, location, seen)) as (url, _):
        result = HttpTransport(url).post(b"{}", 2.0)
    assert result.outcome is Outcome.FATAL
    assert result.status == status
    assert len(seen) == 1


def trickle(data: bytes, clock: ManualClock, step: float) -> Callable[[socket.socket], None]:
    """Send ``data`` one byte at a time, moving ``clock`` by ``step`` before each byte."""

    def send(conn: socket.socket) -> None:
        for byte in data:
            clock.advance(step)
            conn.sendall(bytes([byte]))

    return send


def test_trickling_server_cannot_stretch_the_deadline() -> None:
    clock = ManualClock()
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    send = trickle(response, clock, 0.1)  # the whole answer would take 3.8 s

    def handler(conn: socket.socket, _: int) -> None:
        read_request(conn)
        send(conn)

    with raw_server(handler) as (url, _):
        result = HttpTransport(url, clock=clock).post(b"{}", 0.4)
    assert (result.outcome, result.detail) == (
        Outcome.RETRY,
        "TimeoutError: request deadline passed",
    )


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


def silent(conn: socket.socket, _: int) -> None:
    """Accept, read whatever comes, never answer (a stuck proxy or TLS peer)."""
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass


def test_the_deadline_covers_the_proxy_tunnel() -> None:
    """A proxy that trickles its CONNECT answer is cut off at the request's deadline."""
    clock = ManualClock()
    send = trickle(b"HTTP/1.1 200 Connection established\r\n\r\n", clock, 0.1)

    def proxy(conn: socket.socket, _: int) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        send(conn)

    with raw_server(proxy) as (url, _):
        transport = HttpTransport("https://localhost:1", proxy=url, clock=clock)
        result = transport.post(b"{}", 0.4)
    assert (result.outcome, result.detail) == (
        Outcome.RETRY,
        "TimeoutError: request deadline passed",
    )


def test_the_deadline_covers_the_tls_handshake() -> None:
    """TCP connects, the TLS handshake never completes: the attempt still ends."""
    with raw_server(silent) as (url, _):
        result = HttpTransport(url.replace("http://", "https://")).post(b"{}", 0.4)
    assert result.outcome is Outcome.RETRY
    assert "timed out" in result.detail
