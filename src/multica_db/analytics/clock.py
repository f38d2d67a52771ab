"""Time as the shipper sees it: read it, and wait on a condition until a deadline.

Every interval, deadline and backoff of the buffer, the worker and the
transport goes through one :class:`Clock`, so tests can replace wall-clock
time with a :class:`ManualClock` and assert on what happened ("the retry went
out once the clock passed the ``Retry-After``") instead of on how long it
took. Production code uses :data:`SYSTEM_CLOCK`.

Socket timeouts are still real seconds (the operating system does not know
about a manual clock): a connection is given ``deadline - clock.monotonic()``
as its timeout, so with a manual clock a request is cut short when the clock
is advanced past its deadline and the next read or write starts.
"""

from __future__ import annotations

import threading
import time
from typing import Final, Protocol


class Clock(Protocol):
    """The three things the shipper needs from time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; deadlines are on this scale."""
        ...

    def time(self) -> float:
        """Seconds since the epoch, for wire timestamps (``sent_at``)."""
        ...

    def wait(self, condition: threading.Condition, timeout: float) -> None:
        """Wait on ``condition`` (held by the caller) for a notify or ``timeout``.

        May return early (a notify or a spurious wake-up): callers re-check
        their predicate and the time left, as with :meth:`threading.Condition.wait`.
        """
        ...


class SystemClock:
    """Real time: :func:`time.monotonic`, :func:`time.time`, timed condition waits."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def wait(self, condition: threading.Condition, timeout: float) -> None:
        condition.wait(timeout)


SYSTEM_CLOCK: Final = SystemClock()


class ManualClock:
    """A clock that moves only when told to, for tests.

    Threads that wait on it (:meth:`wait`) sleep until a notify of their
    condition or until :meth:`advance` moves time, whichever comes first;
    they never time out on their own. :meth:`parked` lets a test wait until
    the shipper's threads have settled at the current time, so a test reads
    "advance 10 s, wait until the worker is idle again, look at what was
    sent" without a single sleep.
    """

    def __init__(self, start: float = 1_000.0, epoch: float = 1_700_000_000.0) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._now = start
        self._epoch_offset = epoch - start
        # Each waiter: its condition, the time it saw going to sleep, its thread.
        self._waiters: list[tuple[threading.Condition, float, int]] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._epoch_offset

    def wait(self, condition: threading.Condition, timeout: float) -> None:
        entry = (condition, self._now, threading.get_ident())
        with self._lock:
            self._waiters.append(entry)
            self._changed.notify_all()
        try:
            # No timeout: only a notify (the shipper's own, or advance()) wakes it.
            # advance() takes ``condition``'s lock to notify, which it can only
            # get once this thread is inside wait(), so no wake-up is lost.
            condition.wait()
        finally:
            with self._lock:
                self._waiters.remove(entry)
                self._changed.notify_all()

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter so it re-checks its deadline."""
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        with self._lock:
            self._now += seconds
            conditions = {id(c): c for c, _, _ in self._waiters}.values()
        for condition in conditions:
            with condition:
                condition.notify_all()

    def parked(
        self, count: int = 1, *, thread: threading.Thread | None = None, timeout: float = 30.0
    ) -> None:
        """Block until ``count`` threads (or ``thread``) wait on this clock at the current time.

        A thread counts once it went to sleep after the last :meth:`advance`;
        one that a notify has just woken counts until it runs again, so use
        this to wait for "everything is idle", and wait for effects (a request
        at the sink) to see that something happened. With ``thread``, also
        returns once that thread has ended (it will not park any more).
        ``timeout`` (real seconds) only guards against a hang: reaching it
        raises ``AssertionError``, it is not part of what a test asserts.
        """
        ident = None if thread is None else thread.ident

        def settled() -> bool:
            if thread is not None and not thread.is_alive():
                return True
            now = self._now
            waiting = sum(
                1 for _, seen, who in self._waiters if seen == now and ident in (None, who)
            )
            return waiting >= count

        give_up = time.monotonic() + timeout
        with self._lock:
            # Re-checked on every park and wake-up, and every few ms for a thread's end.
            while not settled():
                if time.monotonic() > give_up:
                    raise AssertionError(
                        f"expected {count} thread(s) waiting on the clock at t={self._now}, "
                        f"found {len(self._waiters)} waiter(s)"
                    )
                self._changed.wait(0.005)
