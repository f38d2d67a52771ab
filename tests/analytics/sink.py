"""A local stand-in for PostHog's ``/batch/`` endpoint with scriptable failures.

Runs a real HTTP/1.1 server on 127.0.0.1 (ephemeral port) in a thread so the
client's actual sockets, timeouts and keep-alive handling are exercised. Each
request is answered according to the next step of ``script`` (or ``mode``
once the script is exhausted).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "500", "503", "429", "408", "400", "401", "slow", "hang", "reset", "gate"]


@dataclass
class Received:
    """One request as the sink saw it (body already parsed)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float
    answered: str
    peer: tuple[str, int]


@dataclass
class SinkState:
    mode: Mode = "ok"
    script: list[Mode] = field(default_factory=list)
    retry_after: str | None = "1"
    slow_seconds: float = 0.3
    #: The body of every error response.
    error_body: bytes = b'{"error":"nope"}'
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    #: "gate" requests are answered 200 once this is set (or the sink stops).
    gate: threading.Event = field(default_factory=threading.Event)

    def next_mode(self) -> Mode:
        with self.lock:
            return self.script.pop(0) if self.script else self.mode


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle plus the
        # client's delayed ACK adds ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        mode = state.next_mode()
        with state.lock:
            state.requests.append(
                Received(
                    self.path,
                    dict(self.headers.items()),
                    body,
                    time.monotonic(),
                    mode,
                    self.client_address,
                )
            )
        if mode == "hang":
            state.stop.wait()
            self.close_connection = True
            return
        if mode == "reset":
            # SO_LINGER 0 turns close() into a TCP RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if mode == "slow":
            state.stop.wait(state.slow_seconds)
        if mode == "gate":
            while not (state.gate.wait(0.05) or state.stop.is_set()):
                pass
        status = {"ok": 200, "slow": 200, "gate": 200}.get(mode) or int(mode)
        payload = b'{"status":"Ok"}' if status == 200 else state.error_body
        self.send_response(status)
        if status == 429 and state.retry_after is not None:
            self.send_header("Retry-After", state.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    state: SinkState


class Sink:
    """Start with :meth:`start`, point a client at :attr:`url`, read :attr:`events`.

    With ``tls`` (a server-side context) it speaks HTTPS and its URL names
    ``hostname`` (which must match the certificate for a verified connection).
    """

    def __init__(self, tls: ssl.SSLContext | None = None, hostname: str = "127.0.0.1") -> None:
        self.state = SinkState()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._scheme = "http"
        self._hostname = hostname
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self._hostname}:{self.port}"

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def start(self) -> Sink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.stop.set()
        self._server.shutdown()
        self._server.server_close()

    def set(self, mode: Mode, *script: Mode) -> None:
        with self.state.lock:
            self.state.mode = mode
            self.state.script = list(script)

    @property
    def requests(self) -> list[Received]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """Events from requests that were answered 2xx, in arrival order."""
        return [
            event
            for r in self.requests
            if r.answered in ("ok", "slow", "gate") and r.body is not None
            for event in r.body["batch"]
        ]

    def wait_for(self, n_events: int, timeout: float = 20.0) -> bool:
        """Wait until ``n_events`` were delivered; the timeout only bounds a hang."""
        return wait_until(lambda: len(self.delivered) >= n_events, timeout)

    def wait_for_requests(self, n_requests: int, timeout: float = 20.0) -> bool:
        """Wait until ``n_requests`` arrived (answered or not); the timeout bounds a hang."""
        return wait_until(lambda: len(self.requests) >= n_requests, timeout)


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` until it holds; the timeout only bounds a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class Background:
    """Run a call on its own thread, so a test can move a clock while it waits."""

    def __init__(self, call: Callable[[], object]) -> None:
        self._call = call
        self._result: object = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._result = self._call()
        except BaseException as exc:
            self._error = exc

    def result(self, timeout: float = 30.0) -> object:
        """The call's result; ``AssertionError`` if it has not returned (a hang guard)."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError("the call did not return")
        if self._error is not None:
            raise self._error
        return self._result


def refused_url() -> str:
    """A loopback URL on a port nothing listens on: connections are refused."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
