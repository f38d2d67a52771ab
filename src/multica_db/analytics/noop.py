"""The client used when analytics is off: same interface, no thread, no I/O."""

from __future__ import annotations

from types import TracebackType

from multica_db.analytics.events import Event
from multica_db.analytics.stats import Stats

_ZERO = Stats()


class NoopClient:
    """Accepts and discards every event.

    This is what local development, test runs and self-hosted instances get,
    so that call sites never need an ``if analytics_enabled`` branch and can
    never ship anything upstream by accident. ``capture`` reports ``True``
    (the event was accepted, deliberately not shipped) so callers that log
    refusals stay quiet; the counters stay at zero because nothing was ever
    meant to leave the process.
    """

    def capture(self, event: Event) -> bool:
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        return True

    def close(self, timeout: float = 5.0) -> bool:
        return True

    async def aflush(self, timeout: float = 5.0) -> bool:
        return True

    async def aclose(self, timeout: float = 5.0) -> bool:
        return True

    @property
    def stats(self) -> Stats:
        return _ZERO

    def __enter__(self) -> NoopClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
