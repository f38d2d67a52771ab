"""The bounded queue between capturing threads and the worker, and its ledger.

The queue and the counters share one lock on purpose. An event's arrival
(``captured``) and every later fate (sent, dropped, failed) are booked under
the same lock that moves it, so a :class:`Stats` snapshot can never observe an
event in two buckets or in none: ``pending`` is derived and the invariant
``captured == sent + dropped + failed + pending`` holds by construction.

Callers only ever hold the lock for an append; serialisation and I/O happen
outside it, on the worker.

The lock is re-entrant on purpose, and :meth:`EventBuffer.offer` never waits
for it on a thread that already holds it: a signal handler that calls
``capture`` while the code it interrupted was inside the buffer (on the same
thread) would otherwise wait for itself forever. Such an event goes to a side
queue with a single atomic append and is booked, like any other, the next
time anyone takes the lock.
"""

from __future__ import annotations

import threading
from collections import deque
from types import MappingProxyType
from typing import Final, Generic, TypeVar

from multica_db.analytics.clock import SYSTEM_CLOCK, Clock
from multica_db.analytics.stats import Stats

T = TypeVar("T")

QUEUE_FULL: Final = "queue_full"
#: Captured after close() began.
CLOSED: Final = "closed"
#: Cut short by a close deadline: still queued, in flight, or denied a retry.
DEADLINE: Final = "deadline"
#: In the worker's hands when it hit an unexpected exception.
WORKER_ERROR: Final = "worker_error"


class EventBuffer(Generic[T]):
    """Bounded FIFO with fate accounting, a flush barrier and a close deadline."""

    def __init__(self, maxsize: int, wake_at: int, clock: Clock = SYSTEM_CLOCK) -> None:
        if maxsize < 1 or wake_at < 1:
            raise ValueError("maxsize and wake_at must be positive")
        self._maxsize = maxsize
        self._wake_at = wake_at
        self._clock = clock
        self._lock = threading.RLock()
        # C-level "does this thread hold the lock": set inside acquire itself,
        # so no signal can arrive between taking the lock and being its owner.
        self._held_here = self._lock._is_owned  # type: ignore[attr-defined]
        # Events offered while this thread was already inside the buffer (a
        # signal handler); deque.append is atomic, no lock needed.
        self._side: deque[T] = deque()
        # The worker waits here for work; flushers wait on ``_settled`` so a
        # worker wake-up never has to go through flushers and vice versa.
        self._work = threading.Condition(self._lock)
        self._settled_cond = threading.Condition(self._lock)
        self._items: deque[T] = deque()

        self._captured = 0
        self._sent = 0
        self._dropped = 0
        self._failed = 0
        self._retried = 0
        self._worker_errors = 0
        self._callback_errors = 0
        self._reasons: dict[str, int] = {}

        # Sequence numbers of accepted events: ``_taken`` have left the deque,
        # everything below ``_settled_through`` has a final fate. Flush waits
        # on these rather than on counters so later drops cannot satisfy it,
        # and per batch (not "nothing in flight") so a steady stream of new
        # batches cannot starve it.
        self._accepted = 0
        self._taken = 0
        self._in_flight = 0
        self._settled_through = 0

        self._urgent = False
        self._stopped = False
        self._closing = False
        self._close_deadline: float | None = None
        self._abandoned = False

    # -- caller side -------------------------------------------------------

    def offer(self, item: T) -> bool:
        """Append without blocking; ``False`` (and a booked drop) when full or closed.

        Never waits for a lock this thread already holds (see the module
        docstring): from inside a signal handler the event goes to the side
        queue and the answer is a best guess (``False`` if closing or full).
        """
        if self._held_here():
            self._side.append(item)
            return not self._closing and len(self._items) + len(self._side) <= self._maxsize
        with self._lock:
            if self._side:
                self._merge_side_locked()
            self._captured += 1
            if self._closing:
                self._drop_locked(1, CLOSED)
                return False
            items = self._items
            if len(items) >= self._maxsize:
                self._drop_locked(1, QUEUE_FULL)
                return False
            items.append(item)
            self._accepted += 1
            if len(items) == self._wake_at:
                self._work.notify()
            return True

    def _merge_side_locked(self) -> None:
        """Book the events a signal handler left in the side queue, in order."""
        side = self._side
        items = self._items
        while side:
            try:
                item = side.popleft()
            except IndexError:  # emptied by a nested merge (a handler inside this one)
                return
            self._captured += 1
            if self._closing:
                self._drop_locked(1, CLOSED)
            elif len(items) >= self._maxsize:
                self._drop_locked(1, QUEUE_FULL)
            else:
                items.append(item)
                self._accepted += 1
        if len(items) >= self._wake_at:
            self._work.notify()

    def request_flush(self) -> int:
        """Ask the worker to ship now; returns the barrier to wait for."""
        if self._held_here():  # a signal handler inside buffer code: no changes but a flag
            self._urgent = True
            return self._accepted
        with self._lock:
            self._merge_side_locked()
            self._urgent = True
            self._work.notify()
            return self._accepted

    def wait_settled(self, barrier: int, deadline: float) -> bool:
        """Block until every event accepted before ``barrier`` has a fate.

        ``False`` at once from a signal handler that interrupted buffer code on
        this thread: waiting would release the lock in the middle of that code.
        """
        if self._held_here():
            return self._settled_through >= barrier
        with self._lock:
            while self._settled_through < barrier:
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    return False
                self._clock.wait(self._settled_cond, remaining)
            return True

    def begin_close(self, deadline: float) -> None:
        """Refuse new events and tell the worker to drain before ``deadline``."""
        if self._held_here():  # from a signal handler inside buffer code: flags only
            self._closing = True
            self._urgent = True
            if self._close_deadline is None or deadline < self._close_deadline:
                self._close_deadline = deadline
            return
        with self._lock:
            self._merge_side_locked()
            self._closing = True
            self._urgent = True
            if self._close_deadline is None or deadline < self._close_deadline:
                self._close_deadline = deadline
            self._work.notify_all()

    def abandon(self) -> int:
        """Book everything still queued or in flight as dropped; returns how many.

        Called when a close deadline expires. The worker may still be inside a
        request for its in-flight batch; whatever it reports afterwards is
        ignored, so no event is ever counted twice. From a signal handler that
        interrupted buffer code on this thread it changes nothing (the counters
        may be mid-update) and returns 0: the worker, told to close, books what
        the deadline cuts short itself.
        """
        if self._held_here():
            return 0
        with self._lock:
            self._closing = True
            self._merge_side_locked()  # booked as "closed" once abandoned
            if self._abandoned:
                return 0
            self._abandoned = True
            left = len(self._items) + self._in_flight
            self._items.clear()
            self._taken = self._accepted
            self._in_flight = 0
            self._settled_through = self._accepted
            if left:
                self._drop_locked(left, DEADLINE)
            self._work.notify_all()
            self._settled_cond.notify_all()
            return left

    # -- worker side -------------------------------------------------------

    def take(
        self, trigger: int, limit: int, deadline: float, *, wait: bool = True
    ) -> tuple[list[T], int] | None:
        """Next batch for the worker and its end mark, or ``None`` once it should exit.

        Returns as soon as ``trigger`` events are waiting, or earlier with
        whatever is there once ``deadline`` passed or a flush/close asked for
        it; the batch holds at most ``limit`` events. An empty batch means
        nothing is due (at once when ``wait`` is false). The end mark is what
        the worker hands to :meth:`done` once every event of the batch has a
        fate.
        """
        with self._lock:
            items = self._items
            while True:
                if self._abandoned:
                    return None
                if self._side:
                    self._merge_side_locked()
                count = len(items)
                if count >= trigger:
                    break
                if count == 0:
                    self._urgent = False
                    if self._closing:
                        return None
                elif self._urgent or self._closing:
                    break
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    if count:
                        break
                    return [], self._taken
                if not wait:
                    return [], self._taken
                self._clock.wait(self._work, remaining)
            batch = [items.popleft() for _ in range(min(limit, len(items)))]
            self._taken += len(batch)
            self._in_flight += len(batch)
            return batch, self._taken

    def settle(
        self,
        *,
        sent: int = 0,
        failed: int = 0,
        dropped: int = 0,
        reason: str = "",
    ) -> None:
        """Book the fate of some in-flight events."""
        with self._lock:
            if self._abandoned:
                return
            self._sent += sent
            self._failed += failed
            if dropped:
                self._drop_locked(dropped, reason or "dropped")
            self._in_flight = max(0, self._in_flight - (sent + failed + dropped))

    def done(self, end: int) -> None:
        """Every event up to the end mark of a batch has a fate: release flushers.

        Batches finish in the order they were taken, so the mark only grows.
        """
        with self._lock:
            if end > self._settled_through:
                self._settled_through = end
                self._settled_cond.notify_all()

    def note_retry(self) -> None:
        with self._lock:
            self._retried += 1

    def note_callback_error(self) -> int:
        """An ``on_error`` callback raised; returns how many times so far."""
        with self._lock:
            self._callback_errors += 1
            return self._callback_errors

    def recover(self) -> int:
        """After an unexpected worker exception: book what it held, count the error.

        Every event taken but not yet settled is dropped as ``worker_error`` and
        flushers waiting on it are released, so the ledger stays exact and the
        (restarted) loop begins from a clean slate. Returns the error count.
        """
        with self._lock:
            self._worker_errors += 1
            if not self._abandoned:
                if self._in_flight:
                    self._drop_locked(self._in_flight, WORKER_ERROR)
                    self._in_flight = 0
                if self._taken > self._settled_through:
                    self._settled_through = self._taken
                    self._settled_cond.notify_all()
            return self._worker_errors

    def pause(self, until: float) -> bool:
        """Sleep until ``until`` for a backoff; ``False`` means give up instead.

        Giving up happens when the wait would outlive a close deadline (or the
        buffer was abandoned), so a ``Retry-After: 30`` cannot hold a shutdown
        hostage.
        """
        with self._lock:
            while True:
                if self._abandoned:
                    return False
                if self._close_deadline is not None and until > self._close_deadline:
                    return False
                remaining = until - self._clock.monotonic()
                if remaining <= 0:
                    return True
                self._clock.wait(self._work, remaining)

    def stopped(self) -> None:
        """The worker has exited (for good): release whoever waits in :meth:`wait_stopped`."""
        with self._lock:
            self._stopped = True
            self._settled_cond.notify_all()

    def wait_stopped(self, deadline: float) -> bool:
        """Block until the worker exited or ``deadline`` passed; ``True`` if it exited.

        Returns at once after :meth:`abandon`: whatever the worker still does
        is ignored from then on, so a later ``close`` has nothing to wait for.
        """
        if self._held_here():
            return self._stopped
        with self._lock:
            while not self._stopped and not self._abandoned:
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    return False
                self._clock.wait(self._settled_cond, remaining)
            return True

    def time_left(self) -> float | None:
        """Seconds until the close deadline, or ``None`` when not closing."""
        with self._lock:
            if self._close_deadline is None:
                return None
            return self._close_deadline - self._clock.monotonic()

    # -- both --------------------------------------------------------------

    @property
    def closing(self) -> bool:
        return self._closing

    def snapshot(self) -> Stats:
        if self._side and not self._held_here():
            # Book what signal handlers left (e.g. after close, when no later
            # capture would); not from inside a handler, see below.
            with self._lock:
                self._merge_side_locked()
        with self._lock:
            # Side-queue events count as captured and pending until booked;
            # merging here could run inside an interrupted update (a signal
            # handler asking for stats), so this only reads.
            return Stats(
                captured=self._captured + len(self._side),
                sent=self._sent,
                dropped=self._dropped,
                failed=self._failed,
                retried=self._retried,
                worker_errors=self._worker_errors,
                callback_errors=self._callback_errors,
                dropped_by_reason=MappingProxyType(dict(self._reasons)),
            )

    def _drop_locked(self, count: int, reason: str) -> None:
        self._dropped += count
        self._reasons[reason] = self._reasons.get(reason, 0) + count
