"""PostHogClient: the non-blocking front door to the batch shipper.

The client owns lifecycle only: it starts the worker lazily, rebuilds it in a
forked child, and bounds flush/close by a deadline. Queueing and accounting
live in :mod:`.buffer`, shipping in :mod:`.worker`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from importlib import metadata
from types import TracebackType
from typing import Final

from multica_db.analytics.buffer import DEADLINE, EventBuffer
from multica_db.analytics.clock import SYSTEM_CLOCK, Clock
from multica_db.analytics.config import DEFAULT_HOST, Environment, normalise_environment
from multica_db.analytics.errors import OnError
from multica_db.analytics.events import Event, Record
from multica_db.analytics.proxy import ProxySetting
from multica_db.analytics.retry import RetryPolicy
from multica_db.analytics.stats import Stats
from multica_db.analytics.transport import HttpTransport, Transport, validate_host
from multica_db.analytics.worker import Worker, WorkerConfig

log = logging.getLogger("multica_db.analytics")

LIB_NAME: Final = "multica-db"
THREAD_NAME: Final = "multica-analytics"

#: With a backlog, a request may carry this many times ``batch_size`` events:
#: fewer round trips drain it faster (crucial over a WAN, where each round trip
#: costs tens of milliseconds) and cost less CPU per event.
DEFAULT_BACKLOG_FACTOR: Final = 4

#: PostHog discards an event over 1 MB and refuses a /batch/ body over 20 MB
#: (its documented limits, in bytes of UTF-8 JSON); these stay well clear of
#: both, as posthog-python's own limits do.
DEFAULT_MAX_EVENT_BYTES: Final = 900 * 1024
DEFAULT_MAX_REQUEST_BYTES: Final = 5 * 1024 * 1024


def _lib_version() -> str:
    try:
        return metadata.version(LIB_NAME)
    except metadata.PackageNotFoundError:
        return "0"


def base_properties(
    environment: Environment | None,
    disable_geoip: bool,
    super_properties: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The properties every event of a client carries; they win over an event's own.

    ``$geoip_disable`` is on by default, as in posthog-python for server-side
    events: PostHog would otherwise geolocate the server's address and file
    every user under the data centre's city.
    """
    base: dict[str, object] = dict(super_properties or {})
    if environment is not None:
        base["environment"] = environment
    if disable_geoip:
        base["$geoip_disable"] = True
    base["$lib"] = LIB_NAME
    base["$lib_version"] = _lib_version()
    return base


class PostHogClient:
    """Ships events to PostHog's ``/batch/`` API from one background thread.

    ``capture`` is safe from any thread and from inside a running event loop:
    it appends to a bounded queue and returns. Nothing a backend does can make
    it block or raise; the worst case is a counted drop.

    A request is sent as soon as ``batch_size`` events are waiting, or when
    ``flush_interval`` has passed. If more are waiting by the time the worker
    gets to them (a burst, a slow backend), one request takes up to
    ``max_batch_size`` (default ``4 * batch_size``) so the backlog drains in
    fewer round trips; pass ``max_batch_size=batch_size`` for fixed batches.

    Byte limits are UTF-8 bytes of JSON, as PostHog counts them. ``proxy``:
    ``None`` (default) follows ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``,
    ``False`` never uses a proxy, an ``http://`` URL always uses that one.
    ``ssl_context`` or ``ca_bundle`` (a PEM file) replace the system CAs;
    certificates are always verified unless the context you pass says not to.

    ``on_error(error, batch)`` is called on the worker thread for every batch
    given up on after it was attempted (an error status, or retries used up,
    or a retry a close deadline left no time for), with the last attempt's
    exception and the batch's events as sent; see :mod:`.errors`. Keep it
    short: it runs where the next batch would be sent.
    """

    def __init__(
        self,
        api_key: str,
        *,
        host: str = DEFAULT_HOST,
        environment: str | None = "dev",
        queue_size: int = 1024,
        batch_size: int = 64,
        max_batch_size: int | None = None,
        flush_interval: float = 10.0,
        request_timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        exit_timeout: float = 1.0,
        log_interval: float = 30.0,
        proxy: ProxySetting = None,
        ssl_context: ssl.SSLContext | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        transport_factory: Callable[[], Transport] | None = None,
        gzip: bool = False,
        disable_geoip: bool = True,
        super_properties: Mapping[str, object] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        on_error: OnError | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required; use NoopClient when analytics is off")
        if batch_size < 1 or queue_size < 1:
            raise ValueError("queue_size and batch_size must be positive")
        if max_batch_size is None:
            max_batch_size = DEFAULT_BACKLOG_FACTOR * batch_size
        if max_batch_size < batch_size:
            raise ValueError("max_batch_size must be at least batch_size")
        if flush_interval <= 0 or request_timeout <= 0:
            raise ValueError("flush_interval and request_timeout must be positive")
        self.environment: Environment | None = (
            None if environment is None else normalise_environment(environment)
        )
        self.host = validate_host(host)
        self.exit_timeout = exit_timeout
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._clock = clock
        base = base_properties(self.environment, disable_geoip, super_properties)
        self._config = WorkerConfig(
            api_key=api_key,
            base_properties=base,
            gzip=gzip,
            batch_size=batch_size,
            max_batch_size=max_batch_size,
            flush_interval=flush_interval,
            request_timeout=request_timeout,
            retry=retry or RetryPolicy(),
            max_event_bytes=max_event_bytes,
            max_request_bytes=max_request_bytes,
            log_interval=log_interval,
            on_error=on_error,
        )
        host_for_transport = self.host
        self._transport_factory: Callable[[], Transport] = transport_factory or (
            lambda: HttpTransport(
                host_for_transport,
                user_agent=f"{LIB_NAME}/{_lib_version()}",
                proxy=proxy,
                ssl_context=ssl_context,
                ca_bundle=ca_bundle,
                gzip=gzip,
                clock=clock,
            )
        )
        self._transport_factory()  # validate the host now, not on the worker
        self._closed = False
        self._reset()
        _live_clients.add(self)

    def _reset(self) -> None:
        """Fresh queue, ledger and (unstarted) worker: at init and in a fork child."""
        self._buffer: EventBuffer[Event | Record] = EventBuffer(
            self._queue_size, self._batch_size, self._clock
        )
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started = False
        if self._closed:
            self._buffer.begin_close(self._clock.monotonic())
            self._buffer.abandon()
        # If the client is garbage-collected unclosed, let its worker drain and
        # exit instead of idling forever; the callback holds no client reference.
        old = getattr(self, "_finalizer", None)
        if old is not None:
            old.detach()
        self._finalizer = weakref.finalize(
            self, _orphaned, self._buffer, self._clock, self.exit_timeout
        )
        self._finalizer.atexit = False

    # -- capture -----------------------------------------------------------

    def capture(self, event: Event) -> bool:
        """Queue ``event``; ``True`` if queued, ``False`` if dropped. Never blocks."""
        try:
            if not self._started:
                self._start()
            return self._buffer.offer(event)
        except Exception:  # capture must never take the caller down
            return False

    def capture_record(self, record: Record) -> bool:
        """:meth:`capture` for the compatibility client's pre-checked records."""
        try:
            if not self._started:
                self._start()
            return self._buffer.offer(record)
        except Exception:
            return False

    def _start(self) -> None:
        # Lazy so that a pre-forking server which builds the client at import
        # time starts no thread in the parent. Never waits for the lock: whoever
        # holds it is starting the worker already (another thread, or the code
        # a signal handler interrupted on this one), and the event only needs
        # to be queued.
        if not self._start_lock.acquire(blocking=False):
            return
        try:
            if self._started:
                return
            self._started = True
            if self._closed:
                return
            buffer = self._buffer
            worker = Worker(buffer, self._transport_factory(), self._config, self._clock)
            thread = threading.Thread(target=worker.run, name=THREAD_NAME, daemon=True)
            try:
                thread.start()
            except RuntimeError:
                # Interpreter shutting down or out of threads: events queue until
                # full and are then dropped, and close() books the rest.
                buffer.stopped()
                return
            self._thread = thread
        finally:
            self._start_lock.release()

    # -- flush / close -----------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Ship everything queued so far; ``True`` once all of it has a fate.

        A fate is sent, failed or dropped: ``True`` does not mean delivered,
        it means nothing captured before this call is still waiting. Returns
        ``False`` at the deadline otherwise. Never waits longer than ``timeout``.
        """
        deadline = self._clock.monotonic() + max(timeout, 0.0)
        buffer = self._buffer
        barrier = buffer.request_flush()
        if self._on_worker():
            # Called from an on_error callback: the worker cannot wait for
            # itself. The flush is asked for and happens once it returns.
            return False
        return buffer.wait_settled(barrier, deadline)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop accepting events, send what fits in ``timeout``, drop the rest.

        Returns ``True`` if the deadline cut nothing short, i.e. no event was
        dropped with reason ``deadline``. Safe to call more than once; later
        calls return at once.
        """
        deadline = self._clock.monotonic() + max(timeout, 0.0)
        self._closed = True
        buffer = self._buffer
        buffer.begin_close(deadline)
        if self._on_worker():
            # Called from an on_error callback: intake is closed, and the
            # worker drains until the deadline once the callback returns (it
            # books whatever the deadline cuts short itself).
            self._finalizer.detach()
            return False
        if self._thread is not None:
            buffer.wait_stopped(deadline)
        left = buffer.abandon()
        self._finalizer.detach()
        if left:
            log.warning("analytics: close deadline reached, dropped %d unsent events", left)
        return buffer.snapshot().dropped_by_reason.get(DEADLINE, 0) == 0

    def _on_worker(self) -> bool:
        thread = self._thread
        return thread is not None and thread is threading.current_thread()

    async def aflush(self, timeout: float = 5.0) -> bool:
        """:meth:`flush` without blocking the event loop."""
        return await asyncio.to_thread(self.flush, timeout)

    async def aclose(self, timeout: float = 5.0) -> bool:
        """:meth:`close` without blocking the event loop."""
        return await asyncio.to_thread(self.close, timeout)

    @property
    def stats(self) -> Stats:
        """A consistent snapshot of the counters (see :class:`Stats`)."""
        return self._buffer.snapshot()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> PostHogClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _orphaned(buffer: EventBuffer[Event | Record], clock: Clock, grace: float) -> None:
    buffer.begin_close(clock.monotonic() + grace)


# -- process-wide hooks ----------------------------------------------------

_live_clients: weakref.WeakSet[PostHogClient] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """Threads do not survive fork: give every client a fresh, unstarted worker.

    Events queued in the parent stay the parent's to send; the child starts with
    an empty queue and zeroed counters so nothing is shipped twice.
    """
    for client in list(_live_clients):
        client._reset()


def _close_all_at_exit() -> None:
    """Best effort at exit, bounded: the process must never hang on shutdown."""
    clients = [c for c in list(_live_clients) if not c.closed]
    if not clients:
        return
    deadline = time.monotonic() + max(c.exit_timeout for c in clients)
    for client in clients:
        with contextlib.suppress(Exception):
            client.close(max(0.0, deadline - time.monotonic()))


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
