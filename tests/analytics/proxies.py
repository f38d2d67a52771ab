"""A small HTTP forward proxy for the tests: absolute-form requests and CONNECT.

Plain-HTTP requests (``POST http://host:port/path HTTP/1.1``) are rewritten to
origin form and relayed one at a time over an upstream keep-alive connection;
``CONNECT host:port`` opens a tunnel and then copies bytes both ways without
looking at them (TLS stays end to end). Every request head the proxy sees is
recorded, so tests can tell that traffic really went through it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]


@dataclass
class ProxyState:
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    require_auth: str | None = None


def _read_head(sock: socket.socket, buf: bytearray) -> bytes | None:
    while (end := buf.find(b"\r\n\r\n")) < 0:
        data = sock.recv(65536)
        if not data:
            return None
        buf += data
    head = bytes(buf[: end + 4])
    del buf[: end + 4]
    return head


def _read_exact(sock: socket.socket, buf: bytearray, n: int) -> bytes:
    while len(buf) < n:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed inside a body")
        buf += data
    out = bytes(buf[:n])
    del buf[:n]
    return out


def _parse(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


class ForwardProxy:
    """Listens on 127.0.0.1; :attr:`url` is what a client's ``proxy=`` takes."""

    def __init__(self) -> None:
        self.state = ProxyState()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def seen(self) -> list[Seen]:
        with self.state.lock:
            return list(self.state.seen)

    def start(self) -> ForwardProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _record(self, method: str, target: str, headers: dict[str, str]) -> bool:
        with self.state.lock:
            self.state.seen.append(Seen(method, target, headers))
        required = self.state.require_auth
        return required is None or headers.get("proxy-authorization") == required

    def _handle(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        buf = bytearray()
        with contextlib.suppress(OSError), client:
            while (head := _read_head(client, buf)) is not None:
                method, target, version, headers = _parse(head)
                allowed = self._record(method, target, headers)
                if not allowed:
                    client.sendall(
                        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        b"Proxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n"
                    )
                    continue
                if method == "CONNECT":
                    host, _, port = target.rpartition(":")
                    upstream = socket.create_connection((host.strip("[]"), int(port)))
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    if buf:
                        upstream.sendall(bytes(buf))
                    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                    back.start()
                    _pipe(client, upstream)
                    back.join(10)
                    return
                parts = urlsplit(target)
                if upstream is None:
                    upstream = socket.create_connection((parts.hostname, parts.port or 80))
                body = _read_exact(client, buf, int(headers.get("content-length", "0")))
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                rest = head.split(b"\r\n", 1)[1]
                rest = b"".join(
                    line + b"\r\n"
                    for line in rest.split(b"\r\n")
                    if line and not line.lower().startswith(b"proxy-authorization:")
                )
                upstream.sendall(f"{method} {path} {version}\r\n".encode() + rest + b"\r\n" + body)
                up_buf = bytearray()
                response_head = _read_head(upstream, up_buf)
                if response_head is None:
                    return
                _, _, _, response_headers = _parse(response_head)
                length = int(response_headers.get("content-length", "0"))
                client.sendall(response_head + _read_exact(upstream, up_buf, length))
        if upstream is not None:
            upstream.close()


@contextlib.contextmanager
def forward_proxy() -> Iterator[ForwardProxy]:
    proxy = ForwardProxy().start()
    try:
        yield proxy
    finally:
        proxy.stop()
