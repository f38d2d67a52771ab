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


@dataclass(frozen=True, slots=True)
class Pending:
    """A request that was written and whose response has not been read yet."""

    body: bytes
    deadline: float
    reused: bool


class Transport(Protocol):
    """The worker's view of the network, so tests can substitute it.

    ``begin`` writes a request and returns at once (or returns the failure);
    ``finish`` reads its response. ``post`` is the two back to back.
    """

    def begin(self, body: bytes, timeout: float) -> Pending | SendResult: ...

    def finish(self, pending: Pending) -> SendResult: ...

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
        """Send once and wait for the answer."""
        started = self.begin(body, timeout)
        return started if isinstance(started, SendResult) else self.finish(started)

    def begin(self, body: bytes, timeout: float) -> Pending | SendResult:
        """Write the request; a :class:`SendResult` means it already failed."""
        deadline = time.monotonic() + max(timeout, 0.001)
        if self._conn is not None and time.monotonic() - self._last_used > _MAX_IDLE_SECONDS:
            self.close()
        reused = self._conn is not None
        try:
            self._send(body, deadline)
        except _STALE_ERRORS as exc:
            self.close()
            return self._fresh_post(body, deadline) if reused else _retry(exc)
        except (OSError, ProtocolError, ValueError) as exc:
            self.close()
            return _retry(exc)
        return Pending(body, deadline, reused)

    def finish(self, pending: Pending) -> SendResult:
        """Read the response to ``pending``."""
        try:
            return self._receive(pending.deadline)
        except _STALE_ERRORS as exc:
            self.close()
            # The server closed a connection we kept alive between batches:
            # not a failure of this batch, so try once on a fresh socket.
            return (
                self._fresh_post(pending.body, pending.deadline)
                if pending.reused
                else (_retry(exc))
            )
        except (OSError, ProtocolError, ValueError) as exc:
            self.close()
            return _retry(exc)

    def _fresh_post(self, body: bytes, deadline: float) -> SendResult:
        try:
            self._send(body, deadline)
            return self._receive(deadline)
        except (OSError, ProtocolError, ValueError) as exc:
            self.close()
            return _retry(exc)

    def _send(self, body: bytes, deadline: float) -> None:
        conn = self._conn
        if conn is None:
            if self._https and self._tls is None:
                self._tls = ssl.create_default_context()  # loading CAs is slow: once
            conn = self._conn = Connection.open(self._hostname, self._port, deadline, self._tls)
        conn.send(self._head_prefix + b"Content-Length: %d\r\n\r\n" % len(body), body, deadline)

    def _receive(self, deadline: float) -> SendResult:
        conn = self._conn
        if conn is None:
            raise ConnectionError("no request in flight")
        response = conn.read_response(deadline)
        if response.keep_alive:
            self._last_used = time.monotonic()
        else:
            self.close()
        return classify(response.status, response.headers.get("retry-after"))

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _retry(exc: BaseException) -> SendResult:
    return SendResult(Outcome.RETRY, None, None, _describe(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
