"""One HTTP POST to PostHog's ``/batch/`` endpoint, classified.

The worker only needs to know *what to do next* with a batch: it was
delivered, it is worth trying again (and maybe when), or it never will be.
This module turns sockets, status codes and headers into exactly that, and
keeps one keep-alive connection so a steady stream of batches does not pay a
TCP (and TLS) handshake each time. Standard library only, by design: the
package's runtime dependencies are psycopg and pydantic, nothing else.
"""

from __future__ import annotations

import enum
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final, Protocol
from urllib.parse import urlsplit

from multica_db.analytics.http11 import Connection, ProtocolError, StaleConnection

#: Load balancers commonly drop idle keep-alive connections after ~60 s;
#: reconnecting before that avoids sending into a half-closed socket.
_MAX_IDLE_SECONDS: Final = 30.0
_STALE_ERRORS: Final = (
    StaleConnection,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    FATAL = "fatal"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to one POST; ``retry_after`` only ever set for RETRY."""

    outcome: Outcome
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


class Transport(Protocol):
    """The worker's view of the network, so tests can substitute it."""

    def post(self, body: bytes, timeout: float) -> SendResult: ...

    def close(self) -> None: ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def classify(status: int, retry_after_header: str | None = None) -> SendResult:
    """Map a status to an outcome: 2xx ok; 408, 429, 5xx retry; the rest fatal.

    Other 4xx (bad key, malformed body, too large) will fail identically on
    every attempt, so retrying would only delay the batches queued behind it.
    """
    if 200 <= status < 300:
        return SendResult(Outcome.OK, status)
    if status in (408, 429) or 500 <= status < 600:
        return SendResult(
            Outcome.RETRY, status, parse_retry_after(retry_after_header), f"HTTP {status}"
        )
    return SendResult(Outcome.FATAL, status, None, f"HTTP {status}")


class HttpTransport:
    """POSTs JSON bodies to ``{host}/batch/`` over one reusable connection.

    Not thread-safe: exactly one worker thread owns an instance.
    """

    def __init__(self, host: str, *, user_agent: str = "multica-db") -> None:
        parts = urlsplit(host if "://" in host else f"https://{host}")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise ValueError(f"analytics host must be an http(s) URL, got {host!r}")
        self._https = parts.scheme == "https"
        self._hostname = parts.hostname
        self._port = port or (443 if self._https else 80)
        self._path = parts.path.rstrip("/") + "/batch/"
        default_port = self._port == (443 if self._https else 80)
        host_header = f"[{self._hostname}]" if ":" in self._hostname else self._hostname
        if not default_port:
            host_header = f"{host_header}:{self._port}"
        self._head_prefix = (
            f"POST {self._path} HTTP/1.1\r\n"
            f"Host: {host_header}\r\n"
            f"User-Agent: {user_agent}\r\n"
            "Content-Type: application/json\r\n"
            "Accept: application/json\r\n"
        ).encode("latin-1")
        self._conn: Connection | None = None
        self._last_used = 0.0
        self._tls: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self._https else "http"
        default_port = self._port == (443 if self._https else 80)
        port = "" if default_port else f":{self._port}"
        return f"{scheme}://{self._hostname}{port}{self._path}"

    def post(self, body: bytes, timeout: float) -> SendResult:
        """Send once (plus one silent reconnect if a kept-alive socket went stale)."""
        deadline = time.monotonic() + max(timeout, 0.001)
        if self._conn is not None and time.monotonic() - self._last_used > _MAX_IDLE_SECONDS:
            self.close()
        reused = self._conn is not None
        try:
            return self._post_once(body, deadline)
        except _STALE_ERRORS as exc:
            self.close()
            if not reused:
                return SendResult(Outcome.RETRY, None, None, _describe(exc))
        except (OSError, ProtocolError, ValueError) as exc:
            self.close()
            return SendResult(Outcome.RETRY, None, None, _describe(exc))
        # The server closed a connection we kept alive between batches: that is
        # not a failure of this batch, so try once on a fresh socket.
        try:
            return self._post_once(body, deadline)
        except (OSError, ProtocolError, ValueError) as exc:
            self.close()
            return SendResult(Outcome.RETRY, None, None, _describe(exc))

    def _post_once(self, body: bytes, deadline: float) -> SendResult:
        conn = self._conn
        if conn is None:
            if self._https and self._tls is None:
                self._tls = ssl.create_default_context()  # loading CAs is slow: once
            conn = self._conn = Connection.open(self._hostname, self._port, deadline, self._tls)
        head = self._head_prefix + b"Content-Length: %d\r\n\r\n" % len(body)
        response = conn.request(head, body, deadline)
        if response.keep_alive:
            self._last_used = time.monotonic()
        else:
            self.close()
        return classify(response.status, response.headers.get("retry-after"))

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
