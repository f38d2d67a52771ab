"""``http.client`` connections bound by one absolute deadline per request.

``http.client`` does the HTTP/1.1 work (status line, header parsing, bare-LF
line endings, obs-fold, chunked bodies, keep-alive, ``CONNECT`` tunnels). What
it lacks is a deadline: its timeout applies to each socket operation, so a
server that trickles one byte per second keeps a request alive forever. Here
every connect, send and receive gets the time left until :attr:`deadline`
instead, so the whole request (tunnel and TLS handshake included) ends by it.

Responses read from one buffered reader per socket rather than a fresh
``makefile()`` each, so bytes that arrive after an interim (1xx) response are
never lost between response objects.
"""

from __future__ import annotations

import http.client
import io
import socket
from typing import Any, Final

from multica_db.analytics.clock import Clock

#: Sends are cut into pieces so each gets only the time still left.
_SEND_PIECE: Final = 256 * 1024


def remaining(deadline: float, clock: Clock) -> float:
    """Seconds until ``deadline``; ``TimeoutError`` once it has passed."""
    left = deadline - clock.monotonic()
    if left <= 0:
        raise TimeoutError("request deadline passed")
    return left


class _DeadlineSocketIO(io.RawIOBase):
    """Raw reads from a socket, each limited to the connection's time left."""

    def __init__(self, sock: socket.socket, conn: DeadlineConnection) -> None:
        super().__init__()
        self._sock = sock
        self._conn = conn

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        conn = self._conn
        self._sock.settimeout(remaining(conn.deadline, conn.clock))
        count = self._sock.recv_into(buffer)
        # Bytes that arrive after the deadline are too late as well: without
        # this, a reader that got the whole answer in one piece would never
        # look at the clock again.
        remaining(conn.deadline, conn.clock)
        return count


class _SharedReader(io.BufferedReader):
    """A per-socket reader that outlives the responses read through it."""

    def close(self) -> None:  # HTTPResponse closes its fp when done with it
        pass


class _ReaderHandle:
    """What ``HTTPResponse`` expects as a socket: something with ``makefile``."""

    def __init__(self, reader: _SharedReader) -> None:
        self._reader = reader

    def makefile(self, mode: str) -> _SharedReader:
        return self._reader


class DeadlineConnection(http.client.HTTPConnection):
    """An HTTP connection whose every I/O step ends by :attr:`deadline`.

    Set :attr:`deadline` (a ``clock.monotonic()`` value) before each request.
    """

    def __init__(self, host: str, port: int, clock: Clock, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self.clock = clock
        self.deadline = 0.0
        self._reader: _SharedReader | None = None
        self._reader_sock: object = None
        self.response_class = self._response  # type: ignore[assignment]

    def _response(self, sock: socket.socket, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
        if self._reader is None or self._reader_sock is not sock:
            self._reader = _SharedReader(_DeadlineSocketIO(sock, self))
            self._reader_sock = sock
        return http.client.HTTPResponse(_ReaderHandle(self._reader), *args, **kwargs)  # type: ignore[arg-type]

    def next_response(self, method: str) -> http.client.HTTPResponse:
        """Read another response on this socket (the one after an interim 1xx)."""
        if self.sock is None:
            raise http.client.NotConnected("no connection to read from")
        response = self._response(self.sock, method=method)
        response.begin()
        return response

    def connect(self) -> None:
        # create_connection and the TLS handshake both take this as their limit.
        self.timeout = remaining(self.deadline, self.clock)
        super().connect()

    def send(self, data: Any) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            super().send(data)
            return
        if self.sock is None:
            self.connect()
        sock = self.sock
        assert sock is not None
        view = memoryview(data)
        for start in range(0, len(view), _SEND_PIECE):
            sock.settimeout(remaining(self.deadline, self.clock))
            sock.sendall(view[start : start + _SEND_PIECE])

    def close(self) -> None:
        super().close()
        self._reader = None
        self._reader_sock = None


class DeadlineTLSConnection(DeadlineConnection, http.client.HTTPSConnection):
    """:class:`DeadlineConnection` over TLS (directly or through a ``CONNECT`` tunnel)."""
