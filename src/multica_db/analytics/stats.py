"""The public counters of a client, as one consistent snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

_NO_REASONS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Stats:
    """Every captured event ends up in exactly one bucket.

    ``captured == sent + dropped + failed + pending`` holds for every snapshot
    because all counters are read under the lock they are written under, and
    ``pending`` is derived rather than counted separately.

    * ``sent`` - acknowledged by the backend with a 2xx.
    * ``dropped`` - never (fully) attempted, by reason (``dropped_by_reason``):
      ``queue_full``, ``closed`` (captured after close), ``invalid``,
      ``unserialisable``, ``too_large``, or ``deadline`` (a close deadline hit
      while it was queued, in flight, or still owed a retry).
    * ``failed`` - attempted and given up on: a non-retryable status, or every
      allowed try failed.
    * ``retried`` - extra requests made (not events); a health signal only.
    * ``worker_errors`` - unexpected exceptions the worker survived (each is
      logged, the first with its traceback); the events it was handling at
      that moment are dropped with reason ``worker_error``. Should stay 0.
    * ``callback_errors`` - exceptions an ``on_error`` callback raised; each is
      caught on the worker (the first logged with its traceback) and changes
      no event's fate.
    * ``capture_errors`` - calls of the posthog-python compatible client
      (:class:`~multica_db.analytics.Posthog`) that failed before anything was
      queued (arguments it could not use, an exception whose frames could not
      be walked) and returned ``None`` instead of raising. Not events: these
      were never captured, so they are outside the sum above.
    """

    captured: int = 0
    sent: int = 0
    dropped: int = 0
    failed: int = 0
    retried: int = 0
    worker_errors: int = 0
    callback_errors: int = 0
    capture_errors: int = 0
    dropped_by_reason: Mapping[str, int] = field(default_factory=lambda: _NO_REASONS)

    @property
    def pending(self) -> int:
        """Queued or in flight: captured but without a final fate yet."""
        return self.captured - self.sent - self.dropped - self.failed
