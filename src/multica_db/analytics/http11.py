"""A deliberately small HTTP/1.1 client connection: one request, one response.

Why not ``http.client``: per request it builds a buffered file object, runs
the ``email`` header parser and writes headers and body in separate sends,
which costs a few hundred microseconds of the worker's GIL time per batch and
interacts badly with Nagle. PostHog's batch endpoint needs none of that
generality: we POST a JSON body and only want the status, ``Retry-After``
and whether the connection can be reused. Every read and write here is bound
by one absolute deadline, so a server that trickles bytes cannot stretch a
request past its timeout either.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Final

_MAX_HEAD_BYTES: Final = 64 * 1024
#: Acknowledgements are tiny; a bigger body is not worth reading, the
#: connection is dropped instead.
_MAX_BODY_BYTES: Final = 64 * 1024
_RECV_BYTES: Final = 64 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not an HTTP/1.x response."""


class StaleConnection(ConnectionError):
    """The peer closed the socket before sending any byte of a response.

    On a kept-alive connection this usually means an idle timeout on the
    server side, not a failure of the request being sent.
    """


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    keep_alive: bool


class Connection:
    """One TCP (or TLS) connection; not thread-safe, owned by the worker."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        deadline: float,
        tls: ssl.SSLContext | None = None,
    ) -> Connection:
        sock = socket.create_connection((host, port), timeout=_remaining(deadline))
        try:
            # Request head and body go out in one write, and nothing else is
            # ever queued behind it, so Nagle can only add latency.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls is not None:
                sock.settimeout(_remaining(deadline))
                sock = tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def request(self, head: bytes, body: bytes, deadline: float) -> Response:
        """Write a complete request and read the whole response by ``deadline``."""
        self.send(head, body, deadline)
        return self.read_response(deadline)

    def send(self, head: bytes, body: bytes, deadline: float) -> None:
        """Write one request. The response can be read later with :meth:`read_response`.

        Splitting the two lets the worker serialise its next batch while the
        server is busy with this one.
        """
        self._buf.clear()
        self._sock.settimeout(_remaining(deadline))
        self._sock.sendall(head + body)

    def read_response(self, deadline: float) -> Response:
        """Read the response to the request last sent, by ``deadline``."""
        while True:
            version, status, headers = self._read_head(deadline)
            if 100 <= status < 200 and status != 101:
                continue  # interim response (e.g. 100 Continue): the real one follows
            break
        complete = self._skip_body(status, headers, deadline)
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            keep_alive = "keep-alive" in connection
        else:
            keep_alive = "close" not in connection
        return Response(status, headers, keep_alive and complete and not self._buf)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    # -- reading ----------------------------------------------------------

    def _fill(self, deadline: float) -> bool:
        """Read more into the buffer; ``False`` at end of stream."""
        self._sock.settimeout(_remaining(deadline))
        data = self._sock.recv(_RECV_BYTES)
        if not data:
            return False
        self._buf += data
        return True

    def _read_head(self, deadline: float) -> tuple[str, int, dict[str, str]]:
        first = True
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            if len(self._buf) > _MAX_HEAD_BYTES:
                raise ProtocolError("response head too large")
            if not self._fill(deadline):
                if first and not self._buf:
                    raise StaleConnection("connection closed before a response")
                raise ConnectionError("connection closed inside the response head")
            first = False
        lines = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
        del self._buf[: end + 4]
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError(f"malformed header line: {line[:80]!r}")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return version, int(code), headers

    def _skip_body(self, status: int, headers: dict[str, str], deadline: float) -> bool:
        """Consume the body; ``True`` if the connection is positioned after it."""
        if status in (204, 304) or 100 <= status < 200:
            return True
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._skip_chunked(deadline)
        length_text = headers.get("content-length")
        if length_text is not None:
            try:
                length = int(length_text)
            except ValueError:
                raise ProtocolError(f"bad Content-Length: {length_text[:40]!r}") from None
            if length < 0:
                raise ProtocolError("negative Content-Length")
            if length > _MAX_BODY_BYTES:
                return False
            while len(self._buf) < length:
                if not self._fill(deadline):
                    raise ConnectionError("connection closed inside the response body")
            del self._buf[:length]
            return True
        # No framing: the body runs to end of stream, so the socket is spent.
        while len(self._buf) <= _MAX_BODY_BYTES and self._fill(deadline):
            pass
        self._buf.clear()
        return False

    def _skip_chunked(self, deadline: float) -> bool:
        total = 0
        while True:
            line = self._read_line(deadline)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError("bad chunk size") from None
            if size == 0:
                while self._read_line(deadline):  # trailers up to the blank line
                    pass
                return True
            total += size
            if size < 0 or total > _MAX_BODY_BYTES:
                return False
            while len(self._buf) < size + 2:
                if not self._fill(deadline):
                    raise ConnectionError("connection closed inside a chunk")
            del self._buf[: size + 2]

    def _read_line(self, deadline: float) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > _MAX_HEAD_BYTES:
                raise ProtocolError("line too long")
            if not self._fill(deadline):
                raise ConnectionError("connection closed inside chunked framing")
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("request deadline passed")
    return left
