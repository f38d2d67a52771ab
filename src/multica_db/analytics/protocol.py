"""The interface services depend on, so tests and self-hosted runs can swap clients."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from multica_db.analytics.events import Event
from multica_db.analytics.stats import Stats


@runtime_checkable
class AnalyticsClient(Protocol):
    """What a request handler may rely on from any analytics client.

    Implementations must make ``capture`` non-blocking and non-raising, and
    bound ``flush``/``close`` by their timeout, so that analytics can never
    become the reason a request or a shutdown is slow.
    """

    def capture(self, event: Event) -> bool: ...

    def flush(self, timeout: float = ...) -> bool: ...

    def close(self, timeout: float = ...) -> bool: ...

    async def aflush(self, timeout: float = ...) -> bool: ...

    async def aclose(self, timeout: float = ...) -> bool: ...

    @property
    def stats(self) -> Stats: ...
