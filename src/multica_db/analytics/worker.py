"""The single background thread: drain, encode, send, retry, book every fate.

Keeping all of this on one thread is what lets ``capture`` be a bare append on
the caller's thread, and it means there is exactly one writer for every fate
counter after capture. The worker never holds the buffer lock while it
serialises or talks to the network.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass

from multica_db.analytics.buffer import DEADLINE, EventBuffer
from multica_db.analytics.clock import SYSTEM_CLOCK, Clock
from multica_db.analytics.encoding import BatchEncoder
from multica_db.analytics.errors import APIError, OnError
from multica_db.analytics.events import Event, Record
from multica_db.analytics.retry import RetryPolicy
from multica_db.analytics.transport import Outcome, Pending, SendResult, Transport

log = logging.getLogger("multica_db.analytics")


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    api_key: str
    base_properties: Mapping[str, object]
    batch_size: int
    max_batch_size: int
    flush_interval: float
    request_timeout: float
    retry: RetryPolicy
    max_event_bytes: int
    max_request_bytes: int
    log_interval: float
    gzip: bool = False
    on_error: OnError | None = None


class Worker:
    """Runs until the buffer says stop; everything it learns goes to the buffer."""

    def __init__(
        self,
        buffer: EventBuffer[Event | Record],
        transport: Transport,
        config: WorkerConfig,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._buffer = buffer
        self._clock = clock
        self._transport = transport
        self._config = config
        self._encoder = BatchEncoder(
            config.api_key,
            config.base_properties,
            max_event_bytes=config.max_event_bytes,
            max_request_bytes=config.max_request_bytes,
            gzip=config.gzip,
        )
        self._rng = random.Random(os.urandom(8))
        self._last_report = clock.monotonic()
        self._reported_dropped = 0
        self._reported_failed = 0
        self._last_error = ""
        self._last_error_log = 0.0
        self._last_callback_log = 0.0

    def run(self) -> None:
        """Thread entry point, supervised: it returns only when the buffer says stop.

        An unexpected exception in the loop (a bug here, or in code an event
        or the transport brought along) must not end the thread: a dead worker
        would silently turn every later capture into a ``queue_full`` drop.
        The events in hand are booked as dropped (``worker_error``), the error
        is counted in :class:`Stats` and logged (the first with its traceback,
        later ones once per ``log_interval``), and the loop starts over on a
        fresh connection after a short pause, so a fault that repeats cannot
        spin a core.
        """
        try:
            while True:
                try:
                    self._loop()
                    return
                except BaseException as exc:
                    if not self._recover(exc):
                        return
        finally:
            with contextlib.suppress(BaseException):
                self._transport.close()
            with contextlib.suppress(BaseException):
                self._report(force=True)
            self._buffer.stopped()

    def _recover(self, exc: BaseException) -> bool:
        """Book and log an unexpected exception; ``False`` if the worker should stop."""
        try:
            errors = self._buffer.recover()
            self._last_error = f"worker error: {type(exc).__name__}: {exc}"
            now = self._clock.monotonic()
            if errors == 1:
                log.error(
                    "analytics worker hit an unexpected error; events in hand were dropped "
                    "and it carries on",
                    exc_info=exc,
                )
                self._last_error_log = now
            elif now - self._last_error_log >= self._config.log_interval:
                log.error("analytics worker: %d unexpected errors so far (last: %r)", errors, exc)
                self._last_error_log = now
            with contextlib.suppress(BaseException):
                self._transport.close()
            backoff = min(1.0, 0.01 * 2.0 ** min(errors, 10))
            return self._buffer.pause(self._clock.monotonic() + backoff) or not self._buffer.closing
        except BaseException:  # logging itself failed: keep going
            return True

    def _loop(self) -> None:
        """Drain, encode, send until the buffer says stop.

        Pipelined: the last request of a batch is written but its response is
        read only after the next batch has been taken and serialised, so the
        server's processing time overlaps with ours. At most one request is
        outstanding, and batches still finish strictly in order.
        """
        config = self._config
        buffer = self._buffer
        deadline = self._clock.monotonic() + config.flush_interval
        outstanding: _Outstanding | None = None
        try:
            while True:
                taken = buffer.take(
                    config.batch_size, config.max_batch_size, deadline, wait=outstanding is None
                )
                if taken is None:
                    break
                batch, end = taken
                requests = self._encode(batch) if batch else []
                if outstanding is not None:
                    pending, outstanding = outstanding, None
                    self._complete(pending)
                if batch:
                    for payload, count in requests[:-1]:
                        self._deliver(payload, count)
                    outstanding = self._begin(requests[-1], end) if requests else None
                    if outstanding is None:
                        buffer.done(end)
                elif self._clock.monotonic() >= deadline:
                    deadline = self._clock.monotonic() + config.flush_interval
                self._report(force=False)
        finally:
            if outstanding is not None:
                self._complete(outstanding)

    def _encode(self, batch: list[Event | Record]) -> list[tuple[bytes, int]]:
        encoded = self._encoder.encode(batch)
        for reason, count in encoded.dropped.items():
            self._buffer.settle(dropped=count, reason=reason)
        return encoded.requests

    # -- send --------------------------------------------------------------

    def _body(self, payload: bytes) -> bytes:
        return self._encoder.body(payload, self._clock.time())

    def _timeout(self) -> float | None:
        """This attempt's timeout, shortened to a close deadline; ``None`` if it passed."""
        timeout = self._config.request_timeout
        left = self._buffer.time_left()
        if left is None:
            return timeout
        return min(timeout, left) if left > 0 else None

    def _deliver(self, payload: bytes, count: int) -> None:
        """Send one request synchronously, retrying as the policy allows."""
        timeout = self._timeout()
        if timeout is None:
            self._buffer.settle(dropped=count, reason=DEADLINE)
            return
        try:
            result = self._transport.post(self._body(payload), timeout)
        except Exception as exc:  # a transport bug must not kill the worker
            result = _crashed(exc)
        self._resolve(payload, count, result)

    def _begin(self, request: tuple[bytes, int], end: int) -> _Outstanding | None:
        """Write a request without waiting; ``None`` if it already has a fate."""
        payload, count = request
        timeout = self._timeout()
        if timeout is None:
            self._buffer.settle(dropped=count, reason=DEADLINE)
            return None
        try:
            started = self._transport.begin(self._body(payload), timeout)
        except Exception as exc:
            started = _crashed(exc)
        if isinstance(started, SendResult):
            self._resolve(payload, count, started)
            return None
        return _Outstanding(started, payload, count, end)

    def _complete(self, outstanding: _Outstanding) -> None:
        """Read the outstanding response, retry if needed, release flushers."""
        try:
            result = self._transport.finish(outstanding.pending)
        except Exception as exc:
            result = _crashed(exc)
        self._resolve(outstanding.payload, outstanding.count, result)
        self._buffer.done(outstanding.end)

    def _resolve(self, payload: bytes, count: int, result: SendResult) -> None:
        """Book the outcome of attempt one, retrying synchronously until final."""
        config = self._config
        buffer = self._buffer
        attempt = 1
        while True:
            if result.outcome is Outcome.OK:
                buffer.settle(sent=count)
                return
            self._last_error = result.detail
            self._report(force=False)  # a long retry loop must not silence drop logs
            if result.outcome is Outcome.FATAL or attempt >= config.retry.max_tries:
                buffer.settle(failed=count)
                self._notify(result, payload)
                return
            delay = config.retry.delay(attempt, result.retry_after, self._rng)
            timeout = self._timeout() if buffer.pause(self._clock.monotonic() + delay) else None
            if timeout is None:
                # A close deadline denied the retry this batch was still owed:
                # that is "not sent in time", not "given up on". It was still
                # lost to this error, so the callback hears of it.
                buffer.settle(dropped=count, reason=DEADLINE)
                self._notify(result, payload)
                return
            buffer.note_retry()
            attempt += 1
            try:
                result = self._transport.post(self._body(payload), timeout)
            except Exception as exc:
                result = _crashed(exc)

    # -- on_error ------------------------------------------------------------

    def _notify(self, result: SendResult, payload: bytes) -> None:
        """Hand a batch that was given up on to the ``on_error`` callback, if any.

        As posthog-python's consumer does: on this thread, with the last
        attempt's exception and the batch's events, once per request given up
        on, before flushers waiting for the batch are released. The events are
        decoded from the bytes that were sent, so the callback sees exactly
        what PostHog refused and holds no object a caller may still change.
        Whatever the callback raises is caught and counted: it must not
        change any event's fate or stop the worker. One that blocks holds up
        delivery (never ``capture``, nor ``close`` beyond its deadline).
        """
        on_error = self._config.on_error
        if on_error is None:
            return
        try:
            error = result.error or APIError(result.status or "N/A", result.detail)
            batch = json.loads(b"[" + payload + b"]")
            on_error(error, batch)
        except BaseException as exc:  # SystemExit too: it would end this thread
            self._callback_failed(exc)

    def _callback_failed(self, exc: BaseException) -> None:
        """Count and log (the first with its traceback, then once per ``log_interval``)."""
        try:
            errors = self._buffer.note_callback_error()
            now = self._clock.monotonic()
            if errors == 1:
                log.error("analytics: the on_error callback raised; ignored", exc_info=exc)
                self._last_callback_log = now
            elif now - self._last_callback_log >= self._config.log_interval:
                log.error(
                    "analytics: the on_error callback raised %d times so far (last: %r)",
                    errors,
                    exc,
                )
                self._last_callback_log = now
        except BaseException:  # logging itself failed: keep going
            pass

    # -- report ------------------------------------------------------------

    def _report(self, *, force: bool) -> None:
        """One summary line per ``log_interval`` at most, never one per event."""
        now = self._clock.monotonic()
        if not force and now - self._last_report < self._config.log_interval:
            return
        stats = self._buffer.snapshot()
        dropped = stats.dropped - self._reported_dropped
        failed = stats.failed - self._reported_failed
        if dropped <= 0 and failed <= 0:
            return
        self._last_report = now
        self._reported_dropped = stats.dropped
        self._reported_failed = stats.failed
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(stats.dropped_by_reason.items()))
        log.warning(
            "analytics: %d events dropped and %d failed since last report "
            "(dropped so far by reason: %s; last error: %s)",
            max(dropped, 0),
            max(failed, 0),
            reasons or "none",
            self._last_error or "none",
        )


@dataclass(frozen=True, slots=True)
class _Outstanding:
    """The written-but-unanswered last request of a batch."""

    pending: Pending
    payload: bytes
    count: int
    end: int


def _crashed(exc: Exception) -> SendResult:
    return SendResult(Outcome.RETRY, detail=f"{type(exc).__name__}: {exc}", error=exc)
