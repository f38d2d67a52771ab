"""An in-memory analytics client for a service's own tests.

:class:`RecordingClient` is an :class:`~multica_db.analytics.AnalyticsClient`
that sends nothing and remembers what it would have sent. Every captured event
goes through the production wire encoder at once, so what a test sees is the
JSON PostHog would receive (client-wide properties, ISO timestamps, converted
values), and an event production would drop (``unserialisable``,
``too_large``) is recorded as a drop. The pytest fixture
``analytics_recorder`` (registered through the package's ``pytest11`` entry
point) fails the test at teardown if such a drop was not expected, so a
``datetime.timezone`` object slipped into a property fails in CI instead of
vanishing in production.

Typical use::

    def test_signup_emits_its_event(analytics_recorder):
        app = make_app(analytics=analytics_recorder)          # inject it
        app.sign_up("ann@example.com")
        event = analytics_recorder.assert_captured(
            "signup", properties={"email_domain": "example.com"}
        )
        assert event.distinct_id == ...

Services written against the posthog-python API use
``analytics_recorder.posthog()``, a :class:`~multica_db.analytics.Posthog`
whose events land in the same recorder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Any

from multica_db.analytics.client import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_REQUEST_BYTES,
    base_properties,
)
from multica_db.analytics.compat import Posthog
from multica_db.analytics.config import normalise_environment
from multica_db.analytics.encoding import BatchEncoder
from multica_db.analytics.events import Event
from multica_db.analytics.stats import Stats

__all__ = ["Dropped", "RecordedEvent", "RecordingClient"]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One event exactly as it would have gone over the wire (decoded JSON)."""

    event: str
    distinct_id: str
    properties: Mapping[str, Any]
    timestamp: str
    uuid: str

    def matches(self, properties: Mapping[str, Any]) -> bool:
        """Whether every given property is present with this (JSON) value."""
        return all(
            key in self.properties and self.properties[key] == value
            for key, value in properties.items()
        )


@dataclass(frozen=True, slots=True)
class Dropped:
    """An event production would have dropped, and why (a :class:`Stats` reason)."""

    event: Event
    reason: str


@dataclass
class _Ledger:
    events: list[RecordedEvent] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    captured: int = 0
    closed: bool = False


class RecordingClient:
    """Records what :class:`~multica_db.analytics.PostHogClient` would send.

    Thread-safe; ``capture`` never raises (as in production), it returns
    ``False`` for an event that would be dropped and records the drop.
    ``environment``, ``disable_geoip``, ``super_properties`` and the byte
    limits mean what they mean for the real client.
    """

    def __init__(
        self,
        *,
        environment: str | None = "dev",
        disable_geoip: bool = True,
        super_properties: Mapping[str, object] | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        _shares_with: RecordingClient | None = None,
    ) -> None:
        env = None if environment is None else normalise_environment(environment)
        self._limits = (max_event_bytes, max_request_bytes)
        self._encoder = BatchEncoder(
            "phc_test",
            base_properties(env, disable_geoip, super_properties),
            max_event_bytes=max_event_bytes,
            max_request_bytes=max_request_bytes,
        )
        if _shares_with is None:
            self._lock = threading.Lock()
            self._ledger = _Ledger()
            self._expected_drops: set[str] = set()
        else:  # another view on the same record (see posthog())
            self._lock = _shares_with._lock
            self._ledger = _shares_with._ledger
            self._expected_drops = _shares_with._expected_drops

    # -- AnalyticsClient -----------------------------------------------------

    def capture(self, event: Event) -> bool:
        """Encode ``event`` as production would; record it or its drop."""
        with self._lock:
            ledger = self._ledger
            ledger.captured += 1
            if ledger.closed:
                ledger.dropped.append(Dropped(event, "closed"))
                return False
            try:
                encoded = self._encoder.encode([event])
            except Exception:  # pragma: no cover - the encoder books, never raises
                ledger.dropped.append(Dropped(event, "unserialisable"))
                return False
            for reason in encoded.dropped:
                ledger.dropped.append(Dropped(event, reason))
                return False
            ((payload, _),) = encoded.requests
            record = json.loads(payload)
            ledger.events.append(
                RecordedEvent(
                    record["event"],
                    record["distinct_id"],
                    MappingProxyType(record["properties"]),
                    record["timestamp"],
                    record["uuid"],
                )
            )
            return True

    def flush(self, timeout: float = 5.0) -> bool:
        return True

    def close(self, timeout: float = 5.0) -> bool:
        with self._lock:
            self._ledger.closed = True
        return True

    async def aflush(self, timeout: float = 5.0) -> bool:
        return True

    async def aclose(self, timeout: float = 5.0) -> bool:
        return self.close(timeout)

    @property
    def stats(self) -> Stats:
        with self._lock:
            reasons: dict[str, int] = {}
            for drop in self._ledger.dropped:
                reasons[drop.reason] = reasons.get(drop.reason, 0) + 1
            return Stats(
                captured=self._ledger.captured,
                sent=len(self._ledger.events),
                dropped=len(self._ledger.dropped),
                dropped_by_reason=MappingProxyType(reasons),
            )

    def __enter__(self) -> RecordingClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the posthog-python API ----------------------------------------------

    def posthog(self, **options: Any) -> Posthog:
        """A :class:`~multica_db.analytics.Posthog` that records here instead of sending.

        ``options`` are its constructor's (``super_properties``,
        ``disable_geoip``, ``before_send``...); no key or host is needed. Its
        events carry what the compatibility client's do (no ``environment``).
        """
        view = RecordingClient(
            environment=None,
            disable_geoip=False,
            max_event_bytes=self._limits[0],
            max_request_bytes=self._limits[1],
            _shares_with=self,
        )
        return Posthog("phc_test", _recorder=view, **options)

    # -- reading and asserting -----------------------------------------------

    @property
    def events(self) -> list[RecordedEvent]:
        """Everything recorded so far, in capture order."""
        with self._lock:
            return list(self._ledger.events)

    @property
    def dropped(self) -> list[Dropped]:
        """Events production would have dropped, in capture order."""
        with self._lock:
            return list(self._ledger.dropped)

    @property
    def names(self) -> list[str]:
        return [e.event for e in self.events]

    def find(
        self,
        name: str | None = None,
        *,
        distinct_id: object = None,
        properties: Mapping[str, Any] | None = None,
    ) -> list[RecordedEvent]:
        """Recorded events with this name, distinct id and (subset of) properties."""
        wanted_id = None if distinct_id is None else str(distinct_id)
        return [
            e
            for e in self.events
            if (name is None or e.event == name)
            and (wanted_id is None or e.distinct_id == wanted_id)
            and (properties is None or e.matches(properties))
        ]

    def assert_captured(
        self,
        name: str,
        *,
        distinct_id: object = None,
        properties: Mapping[str, Any] | None = None,
        count: int | None = 1,
    ) -> RecordedEvent:
        """Exactly ``count`` matching events (any number >= 1 if ``None``); returns the last.

        Property values are compared with their JSON form: a UUID property
        is its string, a datetime its ISO 8601 text.
        """
        found = self.find(name, distinct_id=distinct_id, properties=properties)
        if not found or (count is not None and len(found) != count):
            expected = "at least one" if count is None else str(count)
            raise AssertionError(
                f"expected {expected} {name!r} event(s)"
                + (f" for {distinct_id!r}" if distinct_id is not None else "")
                + (f" with {dict(properties)!r}" if properties else "")
                + f", found {len(found)}; recorded: {self._summary()}"
            )
        return found[-1]

    def assert_not_captured(
        self,
        name: str,
        *,
        distinct_id: object = None,
        properties: Mapping[str, Any] | None = None,
    ) -> None:
        found = self.find(name, distinct_id=distinct_id, properties=properties)
        if found:
            raise AssertionError(f"expected no {name!r} event, found {len(found)}: {found!r}")

    def expect_dropped(self, *reasons: str) -> None:
        """Declare that this test means to produce drops (of these reasons, or any)."""
        self._expected_drops.update(reasons or {"*"})

    def assert_nothing_dropped(self) -> None:
        """Fail if an event would have been dropped in production (unless expected)."""
        unexpected = [
            d
            for d in self.dropped
            if "*" not in self._expected_drops and d.reason not in self._expected_drops
        ]
        if unexpected:
            lines = "\n".join(f"  {d.reason}: {d.event!r}" for d in unexpected)
            raise AssertionError(
                "analytics events that production would drop (fix the values, or call "
                f"expect_dropped()):\n{lines}"
            )

    def clear(self) -> None:
        """Forget everything recorded (the client stays open)."""
        with self._lock:
            ledger = self._ledger
            ledger.events.clear()
            ledger.dropped.clear()
            ledger.captured = 0

    def _summary(self) -> str:
        events = self.events
        if not events:
            return "nothing"
        return ", ".join(f"{e.event}({e.distinct_id})" for e in events[:20]) + (
            "..." if len(events) > 20 else ""
        )
