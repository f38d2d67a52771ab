"""One HTTP POST to PostHog's ``/batch/`` endpoint, classified.

The worker only needs to know *what to do next* with a batch: it was
delivered, it is worth trying again (and maybe when), or it never will be.
This module turns ``http.client`` responses and errors into exactly that,
keeps one keep-alive connection so a steady stream of batches does not pay a
TCP (and TLS) handshake each time, goes through a proxy when configured, and
follows a 307/308 redirect within the same origin. Standard library only, by
design: the package's runtime dependencies are psycopg and pydantic.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import ipaddress
import os
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final, Protocol
from urllib.parse import SplitResult, urljoin, urlsplit

from multica_db.analytics.clock import SYSTEM_CLOCK, Clock
from multica_db.analytics.connection import DeadlineConnection, DeadlineTLSConnection
from multica_db.analytics.errors import APIError, response_message
from multica_db.analytics.proxy import Proxy, ProxySetting, proxy_for

#: Load balancers commonly drop idle keep-alive connections after ~60 s;
#: reconnecting before that avoids sending into a half-closed socket.
_MAX_IDLE_SECONDS: Final = 30.0
#: The peer closed a kept-alive connection before answering: on a reused
#: connection that is an idle timeout on its side, not a failure of the batch.
_STALE_ERRORS: Final = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)
#: Acknowledgements are tiny; a bigger body is not worth reading, the
#: connection is dropped instead.
_MAX_BODY_BYTES: Final = 64 * 1024
#: 307/308 redirects followed for one batch (same origin only): at most
#: ``1 + _MAX_REDIRECTS`` requests per attempt.
_MAX_REDIRECTS: Final = 5


class ProtocolError(http.client.HTTPException):
    """The response's framing cannot be trusted (e.g. conflicting Content-Length)."""


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    FATAL = "fatal"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to one POST; ``retry_after`` only ever set for RETRY.

    ``error`` is what an ``on_error`` callback is handed if this was the
    batch's last attempt: an :class:`APIError` for an error status, the
    exception itself for a network or protocol failure.
    """

    outcome: Outcome
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""
    error: Exception | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A request that was written and whose response has not been read yet."""

    body: bytes
    deadline: float
    reused: bool
    path: str


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


def classify(status: int, retry_after_header: str | None = None, body: bytes = b"") -> SendResult:
    """Map a status to an outcome: 2xx ok; 408, 429, 5xx retry; the rest fatal.

    Other 4xx (bad key, malformed body, too large) will fail identically on
    every attempt, so retrying would only delay the batches queued behind it.
    An error carries an :class:`APIError` with the response's message.
    """
    if 200 <= status < 300:
        return SendResult(Outcome.OK, status)
    retry_after = parse_retry_after(retry_after_header)
    error = APIError(status, response_message(body), retry_after)
    if status in (408, 429) or 500 <= status < 600:
        return SendResult(Outcome.RETRY, status, retry_after, f"HTTP {status}", error)
    return SendResult(Outcome.FATAL, status, None, f"HTTP {status}", error)


class HttpTransport:
    """POSTs JSON bodies to ``{host}/batch/`` over one reusable connection.

    ``proxy``: ``None`` reads ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` from
    the environment, ``False`` connects directly, a URL always uses that
    proxy. ``ssl_context`` replaces the default (system CAs, verification on);
    ``ca_bundle`` is a PEM file of CAs to trust instead of the system's.

    Not thread-safe: exactly one worker thread owns an instance.
    """

    def __init__(
        self,
        host: str,
        *,
        user_agent: str = "multica-db",
        proxy: ProxySetting = None,
        ssl_context: ssl.SSLContext | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        gzip: bool = False,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._clock = clock
        parts = _split_host(host)
        port = parts.port
        if ssl_context is not None and ca_bundle is not None:
            raise ValueError("pass either ssl_context or ca_bundle, not both")
        if ca_bundle is not None and not os.path.isfile(ca_bundle):
            raise ValueError(f"ca_bundle is not a file: {os.fspath(ca_bundle)!r}")
        self._https = parts.scheme == "https"
        self._hostname: str = parts.hostname or ""  # never empty: _split_host checked
        self._port = port or (443 if self._https else 80)
        self._path = parts.path.rstrip("/") + "/batch/"
        default_port = self._port == (443 if self._https else 80)
        host_text = f"[{self._hostname}]" if ":" in self._hostname else self._hostname
        self._origin = f"{parts.scheme}://{host_text}" + ("" if default_port else f":{self._port}")
        self._proxy: Proxy | None = proxy_for(parts.scheme, self._hostname, self._port, proxy)
        self._headers = {
            "User-Agent": user_agent,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if gzip:
            self._headers["Content-Encoding"] = "gzip"
        if self._proxy is not None and not self._https:
            self._headers.update(self._proxy.headers)
        self._ssl_context = ssl_context
        self._ca_bundle = ca_bundle
        self._conn: DeadlineConnection | None = None
        self._last_used = 0.0

    @property
    def url(self) -> str:
        return self._origin + self._path

    @property
    def proxy(self) -> Proxy | None:
        return self._proxy

    def post(self, body: bytes, timeout: float) -> SendResult:
        """Send once and wait for the answer."""
        started = self.begin(body, timeout)
        return started if isinstance(started, SendResult) else self.finish(started)

    def begin(self, body: bytes, timeout: float) -> Pending | SendResult:
        """Write the request; a :class:`SendResult` means it already failed."""
        now = self._clock.monotonic()
        deadline = now + max(timeout, 0.001)
        if self._conn is not None and now - self._last_used > _MAX_IDLE_SECONDS:
            self.close()
        path = self._path
        reused = self._conn is not None and self._conn.sock is not None
        try:
            self._send(body, deadline, path)
        except _STALE_ERRORS as exc:
            self.close()
            return self._fresh_post(body, deadline, path) if reused else _failure(exc)
        except Exception as exc:
            self.close()
            return _failure(exc)
        return Pending(body, deadline, reused, path)

    def finish(self, pending: Pending) -> SendResult:
        """Read the response to ``pending`` (following same-origin 307/308)."""
        try:
            return self._receive(pending.body, pending.deadline, pending.path)
        except _STALE_ERRORS as exc:
            self.close()
            if pending.reused:
                return self._fresh_post(pending.body, pending.deadline, pending.path)
            return _failure(exc)
        except Exception as exc:
            self.close()
            return _failure(exc)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    # -- internals ---------------------------------------------------------

    def _fresh_post(self, body: bytes, deadline: float, path: str) -> SendResult:
        try:
            self._send(body, deadline, path)
            return self._receive(body, deadline, path)
        except Exception as exc:
            self.close()
            return _failure(exc)

    def _connection(self) -> DeadlineConnection:
        conn = self._conn
        if conn is not None:
            return conn
        proxy = self._proxy
        host, port = (proxy.host, proxy.port) if proxy is not None else (self._hostname, self._port)
        if self._https:
            if self._ssl_context is None:
                # Loading CAs is slow: once per transport, not per connection.
                self._ssl_context = ssl.create_default_context(
                    cafile=os.fspath(self._ca_bundle) if self._ca_bundle is not None else None
                )
            conn = DeadlineTLSConnection(host, port, self._clock, context=self._ssl_context)
            if proxy is not None:
                conn.set_tunnel(self._hostname, self._port, headers=proxy.headers)
        else:
            conn = DeadlineConnection(host, port, self._clock)
        self._conn = conn
        return conn

    def _target(self, path: str) -> str:
        # A plain-HTTP proxy takes the absolute URL; a tunnel or a direct
        # connection, the path.
        return self._origin + path if self._proxy is not None and not self._https else path

    def _send(self, body: bytes, deadline: float, path: str) -> None:
        conn = self._connection()
        conn.deadline = deadline
        conn.request("POST", self._target(path), body, self._headers)

    def _receive(self, body: bytes, deadline: float, path: str) -> SendResult:
        """Read the answer to the request in flight, following up to ``_MAX_REDIRECTS`` hops.

        Every response is read to its end (or its connection closed) before
        this returns or sends again, on every path: a request left unanswered
        on a kept-alive connection would make the next batch fail with
        ``CannotSendRequest``.
        """
        hops = 0
        while True:
            conn = self._conn
            if conn is None:
                raise http.client.NotConnected("no request in flight")
            conn.deadline = deadline
            response = conn.getresponse()
            while 100 <= response.status < 200:
                if response.status == 101:
                    raise ProtocolError("unexpected 101 Switching Protocols")
                response.read()  # an interim response (e.g. 103): the real one follows
                response = conn.next_response("POST")
            status = response.status
            retry_after = _header(response, "retry-after")
            location = _header(response, "location") if status in (307, 308) else None
            reusable, answer = self._consume(response)
            if reusable:
                self._last_used = self._clock.monotonic()
            else:
                self.close()
            if location is None:
                return classify(status, retry_after, answer)
            target = self._same_origin_path(urljoin(self._origin + path, location))
            if target is None:
                return _refused(status, f"HTTP {status} to another origin: not followed")
            if hops == _MAX_REDIRECTS:
                return _refused(status, "too many redirects")
            hops += 1
            path = target
            if status == 308:
                self._path = target  # permanent: later batches go there directly
            self._send(body, deadline, path)

    def _consume(self, response: http.client.HTTPResponse) -> tuple[bool, bytes]:
        """Read the (small) body: whether the connection can carry another request, and the body.

        The body is what an error's message is made of; one over
        ``_MAX_BODY_BYTES`` is not read (the connection is dropped instead).

        Conflicting Content-Length values make the framing untrustworthy
        (RFC 9112 section 6.3): the response is refused. Identical repeats,
        and a list of identical values, are one length.
        """
        lengths = {
            value.strip()
            for field in response.msg.get_all("content-length") or ()
            for value in _unfold(field).split(",")
        }
        if len(lengths) > 1 or any(not value.isdigit() for value in lengths):
            raise ProtocolError(f"bad Content-Length: {sorted(lengths)!r}"[:120])
        if response.will_close:
            # The connection is dropped anyway. An error's body is read for its
            # message when its length is known; failing to read it costs only that.
            body = b""
            if lengths and not response.chunked and response.status >= 300:
                expected = int(next(iter(lengths)))
                if expected <= _MAX_BODY_BYTES:
                    with contextlib.suppress(Exception):
                        body = response.read(expected)
            return False, body
        if lengths and not response.chunked:
            expected = response.length = int(lengths.pop())
            if expected > _MAX_BODY_BYTES:
                return False, b""
            body = response.read(expected)
            if len(body) < expected:  # the peer closed inside the body
                raise http.client.IncompleteRead(b"", expected - len(body))
        else:
            body = response.read(_MAX_BODY_BYTES + 1)
        return response.isclosed(), body[:_MAX_BODY_BYTES]

    def _same_origin_path(self, url: str) -> str | None:
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        if (
            parts.scheme != ("https" if self._https else "http")
            or (parts.hostname or "").lower() != self._hostname.lower()
            or port != self._port
        ):
            return None
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _split_host(host: str) -> SplitResult:
    """Parse a PostHog host URL, refusing anything that does not name a server.

    ``https://`` alone, a port that is not a number, credentials, a query or
    a fragment would otherwise be read as something else (``https://`` as the
    host ``https``), and every batch would then go nowhere.
    """
    if (
        not isinstance(host, str)
        or not host
        or host != host.strip()
        or any(c.isspace() or ord(c) < 0x20 for c in host)
    ):
        raise ValueError(f"analytics host must be an http(s) URL, got {host!r}")
    if "://" not in host:
        if host.startswith(("/", ":")) or host.partition("/")[0].endswith(":"):
            raise ValueError(f"analytics host must be an http(s) URL, got {host!r}")
        host = f"https://{host}"
    parts = urlsplit(host)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or port == -1
        or port == 0
        or parts.username is not None
        or parts.query
        or parts.fragment
        or "?" in host
        or "#" in host
        or parts.netloc.endswith(":")
        or not _names_a_host(parts.hostname, bracketed="[" in parts.netloc)
    ):
        raise ValueError(f"analytics host must be an http(s) URL with a host name, got {host!r}")
    return parts


def _names_a_host(hostname: str, *, bracketed: bool) -> bool:
    """A DNS name (IDN letters allowed), an IPv4 address, or a bracketed IPv6 address."""
    if bracketed:
        try:
            return ipaddress.ip_address(hostname.split("%", 1)[0]).version == 6
        except ValueError:
            return False
    return all(c.isalnum() or c in "-._" for c in hostname) and hostname.strip(".") != ""


def validate_host(host: str) -> str:
    """``host`` without trailing slashes, once known to name a server (else ``ValueError``)."""
    _split_host(host)
    return host.rstrip("/")


def _unfold(value: str) -> str:
    """Collapse obs-fold (a header continued on the next line) into single spaces."""
    return " ".join(value.split())


def _header(response: http.client.HTTPResponse, name: str) -> str | None:
    value = response.msg.get(name)
    return None if value is None else _unfold(value)


def _failure(exc: Exception) -> SendResult:
    """Network and protocol errors retry; a certificate that does not verify will not heal."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendResult(Outcome.FATAL, None, None, _describe(exc), exc)
    return SendResult(Outcome.RETRY, None, None, _describe(exc), exc)


def _refused(status: int, reason: str) -> SendResult:
    """A redirect that is not followed fails the batch, as an error status would."""
    return SendResult(Outcome.FATAL, status, None, reason, APIError(status, reason))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
