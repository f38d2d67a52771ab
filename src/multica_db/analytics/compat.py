"""posthog-python 7's client API on the non-blocking shipper.

A service that uses posthog-python switches by changing its import::

    from multica_db.analytics import Posthog      # was: from posthog import Posthog

    posthog = Posthog("phc_...", host="https://eu.i.posthog.com")
    posthog.capture("user_signed_up", distinct_id="u1", properties={"plan": "free"})
    posthog.shutdown()

The call shapes (``capture`` with its keyword arguments, ``set``,
``set_once``, ``alias``, ``group_identify``, ``flush``, ``shutdown``) and the
events they produce follow posthog-python 7; underneath, every call is one
bounded, non-blocking append to :class:`~multica_db.analytics.PostHogClient`,
so ``capture`` keeps that client's promises (it never blocks and never
raises, from any thread or signal handler). ``capture_exception`` and
exception autocapture build posthog-python's ``$exception`` events on the same
path. Feature flags and contexts are not offered: see ``docs/analytics.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import ssl
import sys
import threading
import time
import uuid as uuid_module
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any, Final

from multica_db.analytics.autocapture import ExceptionHooks, ExcInfo
from multica_db.analytics.client import PostHogClient
from multica_db.analytics.clock import SYSTEM_CLOCK, Clock
from multica_db.analytics.config import DEFAULT_HOST
from multica_db.analytics.errors import OnError
from multica_db.analytics.events import Event
from multica_db.analytics.exception_list import Settings as ExceptionSettings
from multica_db.analytics.exception_list import exception_list
from multica_db.analytics.ids import new_event_uuid
from multica_db.analytics.protocol import AnalyticsClient
from multica_db.analytics.proxy import ProxySetting
from multica_db.analytics.retry import RetryPolicy
from multica_db.analytics.stats import Stats
from multica_db.analytics.system_properties import release_id, system_context

log = logging.getLogger("multica_db.analytics")
_time = time.time
_DATE_ONLY: Final = re.compile(r"\d{4}-?\d{2}-?\d{2}")

#: posthog-python's own defaults, so an unchanged constructor call behaves alike.
DEFAULT_FLUSH_AT: Final = 100
DEFAULT_FLUSH_INTERVAL: Final = 5.0
DEFAULT_MAX_QUEUE_SIZE: Final = 10_000
DEFAULT_TIMEOUT: Final = 15.0
DEFAULT_MAX_RETRIES: Final = 3

BeforeSend = Callable[[dict[str, Any]], dict[str, Any] | None]

#: Set on an exception once it was captured, so it is captured only once (by
#: hand and by autocapture, say), as posthog-python does with its own mark.
CAPTURED_MARK: Final = "__multica_analytics_captured"

#: What ``capture_exception`` accepts: an exception, an ``exc_info`` tuple, or
#: nothing (the exception being handled).
ExceptionArg = BaseException | tuple[object, object, object] | None


class Posthog:
    """posthog-python 7's ``Posthog`` client, backed by :class:`PostHogClient`.

    Constructor arguments keep posthog-python's names and defaults. Those that
    only concern features this client does not have (feature flags,
    AI privacy mode, extra consumer threads, exception code variables) are
    accepted and ignored, so the constructor call need not change.
    ``enable_exception_autocapture`` installs ``sys.excepthook`` and
    ``threading.excepthook`` hooks (chained to the previous ones, removed by
    :meth:`shutdown`); ``project_root`` and ``in_app_modules`` decide the
    frames' ``in_app``, as there.
    ``on_error(error, batch)`` is called as posthog-python calls it: from the
    shipping thread, for a batch given up on (see :class:`PostHogClient`).
    ``sync_mode`` is accepted but ``capture`` still never blocks: call
    :meth:`flush` where you need delivery. The extra keyword arguments after
    posthog-python's are this package's (proxy, TLS, shutdown deadline).
    """

    def __init__(
        self,
        project_api_key: str | None = None,
        host: str | None = None,
        debug: bool = False,
        max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE,
        send: bool = True,
        on_error: OnError | None = None,
        flush_at: int = DEFAULT_FLUSH_AT,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        gzip: bool = False,
        max_retries: int = DEFAULT_MAX_RETRIES,
        sync_mode: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        thread: int = 1,
        poll_interval: int = 30,
        personal_api_key: str | None = None,
        disabled: bool = False,
        disable_geoip: bool = True,
        is_server: bool = True,
        historical_migration: bool = False,
        feature_flags_request_timeout_seconds: float = 3,
        feature_flags_request_max_retries: int = 1,
        super_properties: Mapping[str, Any] | None = None,
        enable_exception_autocapture: bool = False,
        log_captured_exceptions: bool = False,
        project_root: str | None = None,
        privacy_mode: bool = False,
        before_send: BeforeSend | None = None,
        *,
        in_app_modules: list[str] | None = None,
        shutdown_timeout: float = 10.0,
        proxy: ProxySetting = None,
        ssl_context: ssl.SSLContext | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        _recorder: AnalyticsClient | None = None,
        **ignored: Any,
    ) -> None:
        # As in posthog-python: a blank key (unset in local dev, say) makes a
        # client that captures nothing, not a constructor that raises.
        key = (project_api_key or "").strip()
        self.api_key = key
        self.host = _server_host(host)
        self.debug = debug
        self.on_error = on_error
        self.send = send
        # Read at every call, so ``posthog.disabled = True`` after construction
        # (posthog-python's documented way to silence tests) works.
        self.disabled = disabled or not key
        self.disable_geoip = disable_geoip
        self.gzip = gzip
        self.sync_mode = sync_mode
        self.super_properties = dict(super_properties or {})
        self.before_send = before_send
        self.shutdown_timeout = shutdown_timeout
        self.is_server = is_server
        # Read once per client, as posthog-python does; a capture reads no
        # environment and no file.
        self._release_id = release_id()
        self._system = system_context()
        if project_root is None:
            try:
                project_root = os.getcwd()
            except OSError:
                project_root = None
        self._exceptions = ExceptionSettings(project_root, tuple(in_app_modules or ()))
        self._errors = 0
        self._errors_lock = threading.RLock()
        self._hooks: ExceptionHooks | None = None
        if not key and _recorder is None:
            log.warning("analytics: Posthog() without a project_api_key captures nothing")
        if historical_migration:
            raise ValueError("historical_migration is not supported by this client")
        del thread, poll_interval, personal_api_key, feature_flags_request_timeout_seconds
        del feature_flags_request_max_retries, log_captured_exceptions, privacy_mode, ignored
        # Feature-flag, exception and AI options of later 7.x releases land in
        # ``ignored`` too: accepted so that an existing constructor call works.
        self._client: AnalyticsClient | None = _recorder
        self._fast_client: PostHogClient | None = None
        if _recorder is None and send and key:
            # Built even when disabled (it starts no thread until the first
            # event), so that ``posthog.disabled = False`` later ships.
            self._client = PostHogClient(
                key,
                host=self.host,
                environment=None,
                queue_size=max_queue_size,
                batch_size=flush_at,
                flush_interval=flush_interval,
                request_timeout=timeout,
                retry=RetryPolicy(max_tries=max(0, max_retries) + 1),
                proxy=proxy,
                ssl_context=ssl_context,
                ca_bundle=ca_bundle,
                gzip=gzip,
                # Both per event instead: a call's ``disable_geoip`` overrides the
                # default, and the recording client (testing) sees the same events.
                disable_geoip=False,
                clock=clock,
                on_error=on_error,
            )
        if isinstance(self._client, PostHogClient):
            self._fast_client = self._client
        if enable_exception_autocapture:
            self._hooks = ExceptionHooks(self._capture_uncaught)

    # -- events --------------------------------------------------------------

    def capture(
        self,
        event: str | Event,
        *,
        distinct_id: object = None,
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | str | None = None,
        uuid: str | uuid_module.UUID | None = None,
        groups: Mapping[str, str] | None = None,
        send_feature_flags: object = False,
        disable_geoip: bool | None = None,
        flags: object = None,
    ) -> str | None:
        """Queue an event; its uuid, or ``None`` if it was not queued. Never blocks.

        Without a ``distinct_id`` the event is personless, as in
        posthog-python: a random id and ``$process_person_profile: false``.
        ``event`` may also be one of this package's typed funnel events
        (:func:`multica_db.analytics.signup` and friends). Feature flags are
        not evaluated: ``send_feature_flags`` and ``flags`` are ignored.
        """
        try:
            client = self._fast_client
            if (
                client is not None
                and not self.disabled
                and self.before_send is None
                and type(event) is str
                and type(distinct_id) is str
                and timestamp is None
                and uuid is None
                and disable_geoip is None
                and not groups
                and event
                and distinct_id
                and event.isascii()
                and distinct_id.isascii()
            ):
                # The common call, with everything Event would check known to
                # hold: queued as a Record (see there).
                props = dict(properties) if properties else {}
                props.update(self._system)
                if self.disable_geoip:
                    props["$geoip_disable"] = True
                if self.super_properties:
                    props.update(self.super_properties)
                if self._release_id is not None:
                    props.setdefault("$release_id", self._release_id)
                if self.is_server:
                    props["$is_server"] = True
                now = _time()
                wire_uuid = new_event_uuid(now)
                record = (event, distinct_id, props, now, wire_uuid)
                return wire_uuid if client.capture_record(record) else None
            if isinstance(event, Event):
                return self._typed(event)
            props = dict(properties) if properties else {}
            props.update(self._system)  # they win over the caller's, as there
            if distinct_id is None or distinct_id == "":
                distinct_id = str(uuid_module.uuid4())
                props.setdefault("$process_person_profile", False)
            if groups:
                props["$groups"] = dict(groups)
            return self._enqueue(event, distinct_id, props, timestamp, uuid, disable_geoip)
        except Exception:  # capture never raises into the caller
            self._count_error()
            log.debug("analytics: capture(%r) refused", event, exc_info=True)
            return None

    def capture_exception(
        self,
        exception: ExceptionArg = None,
        *,
        distinct_id: object = None,
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | str | None = None,
        uuid: str | uuid_module.UUID | None = None,
        groups: Mapping[str, str] | None = None,
        send_feature_flags: object = False,
        disable_geoip: bool | None = None,
        flags: object = None,
        **ignored: Any,
    ) -> str | None:
        """Capture an exception as posthog-python's ``$exception`` event; its uuid, or ``None``.

        ``exception`` is an exception or an ``exc_info`` tuple; without it,
        the exception being handled (``sys.exc_info()``), so a bare call in an
        ``except`` block works. The frames are read on this thread, bounded
        (see :mod:`.exception_list`) and without reading any file; the rest
        is :meth:`capture`'s append. Never blocks and never raises: a failure
        returns ``None`` and is counted in ``stats.capture_errors``. An
        exception already captured (here or by autocapture) is not sent again.
        """
        try:
            return self._capture_exception(
                exception,
                distinct_id,
                properties,
                timestamp,
                uuid,
                groups,
                disable_geoip,
                level="error",
                source=None,
                mechanism=None,
            )
        except Exception:
            self._count_error()
            log.debug("analytics: capture_exception() failed", exc_info=True)
            return None

    def set(
        self,
        *,
        distinct_id: object = None,
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | str | None = None,
        uuid: str | uuid_module.UUID | None = None,
        disable_geoip: bool | None = None,
    ) -> str | None:
        """Set person properties (a ``$set`` event); nothing without a person or properties."""
        return self._person("$set", distinct_id, properties, timestamp, uuid, disable_geoip)

    def set_once(
        self,
        *,
        distinct_id: object = None,
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | str | None = None,
        uuid: str | uuid_module.UUID | None = None,
        disable_geoip: bool | None = None,
    ) -> str | None:
        """Set person properties that are not set yet (a ``$set_once`` event)."""
        return self._person("$set_once", distinct_id, properties, timestamp, uuid, disable_geoip)

    def alias(
        self,
        previous_id: object,
        distinct_id: object = None,
        timestamp: datetime | str | None = None,
        uuid: str | uuid_module.UUID | None = None,
        disable_geoip: bool | None = None,
    ) -> str | None:
        """Merge ``previous_id`` into ``distinct_id`` (a ``$create_alias`` event)."""
        try:
            if not _text(previous_id) or not _text(distinct_id):
                log.warning("analytics: alias() needs previous_id and distinct_id; dropped")
                return None
            props = {"distinct_id": str(previous_id), "alias": str(distinct_id)}
            return self._enqueue(
                "$create_alias", previous_id, props, timestamp, uuid, disable_geoip
            )
        except Exception:
            return None

    def group_identify(
        self,
        group_type: str,
        group_key: str,
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | str | None = None,
        uuid: str | uuid_module.UUID | None = None,
        disable_geoip: bool | None = None,
        distinct_id: object = None,
    ) -> str | None:
        """Set a group's properties (a ``$groupidentify`` event)."""
        try:
            if not _text(group_type) or not _text(group_key):
                log.warning("analytics: group_identify() needs group_type and group_key; dropped")
                return None
            props = {
                "$group_type": group_type,
                "$group_key": group_key,
                "$group_set": dict(properties or {}),
            }
            if distinct_id is None or distinct_id == "":
                distinct_id = str(uuid_module.uuid4())
            return self._enqueue(
                "$groupidentify", distinct_id, props, timestamp, uuid, disable_geoip
            )
        except Exception:
            return None

    # -- lifecycle -----------------------------------------------------------

    def flush(self, timeout_seconds: float | None = 10) -> None:
        """Ship what is queued, waiting at most ``timeout_seconds`` (``None``: 10 s)."""
        if self._client is not None:
            self._client.flush(10.0 if timeout_seconds is None else timeout_seconds)

    def shutdown(self) -> None:
        """Flush and stop, within ``shutdown_timeout``; later captures are dropped.

        Exception autocapture hooks are taken out (or, if another hook was
        installed on top of them since, left to pass through).
        """
        if self._hooks is not None:
            self._hooks.close()
        if self._client is not None:
            self._client.close(self.shutdown_timeout)

    def join(self) -> None:
        """posthog-python's "wait for the consumer threads": here, :meth:`shutdown`."""
        self.shutdown()

    @property
    def debug(self) -> bool:
        """posthog-python's ``debug``: set (here or in the constructor), it logs at DEBUG."""
        return self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        self._debug = bool(value)
        if value:
            log.setLevel(logging.DEBUG)

    @property
    def stats(self) -> Stats:
        """The shipper's ledger (see :class:`Stats`); all zeros when not sending.

        ``capture_errors`` counts this client's calls that failed before
        queueing (see :class:`Stats`).
        """
        stats = self._client.stats if self._client is not None else Stats()
        return dataclasses.replace(stats, capture_errors=self._errors)

    @property
    def client(self) -> AnalyticsClient | None:
        """The underlying shipper (``None`` when ``disabled`` or ``send=False``)."""
        return self._client

    def __enter__(self) -> Posthog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    # -- internals -----------------------------------------------------------

    def _count_error(self) -> None:
        # Reentrant: a signal handler interrupting this thread inside the
        # block may count too.
        with self._errors_lock:
            self._errors += 1

    def _capture_exception(
        self,
        exception: ExceptionArg,
        distinct_id: object,
        properties: Mapping[str, Any] | None,
        timestamp: datetime | str | None,
        event_uuid: str | uuid_module.UUID | None,
        groups: Mapping[str, str] | None,
        disable_geoip: bool | None,
        *,
        level: str,
        source: str | None,
        mechanism: dict[str, Any] | None,
    ) -> str | None:
        if self.disabled:
            return None
        synthetic = False
        exc_type: object
        exc_value: object
        tb: object
        if exception is None:
            exc_type, exc_value, tb = sys.exc_info()
        elif isinstance(exception, BaseException):
            exc_type, exc_value, tb = type(exception), exception, exception.__traceback__
            synthetic = tb is None  # never raised: the caller's stack stands in
        elif isinstance(exception, tuple) and len(exception) == 3:
            exc_type, exc_value, tb = exception
        else:
            raise TypeError(f"capture_exception() takes an exception, not {type(exception)}")
        if not isinstance(exc_value, BaseException | None) or not isinstance(
            tb, TracebackType | None
        ):
            raise TypeError("capture_exception() takes an exc_info tuple")
        if exc_value is None:
            log.warning("analytics: capture_exception() without an exception being handled")
            return None
        if _captured_before(exc_value):
            log.debug("analytics: exception already captured; not sent again")
            return None
        props: dict[str, Any] = {
            "$exception_list": exception_list(
                exc_type,
                exc_value,
                tb,
                self._exceptions,
                synthetic=synthetic,
                mechanism=mechanism,
            ),
            "$exception_level": level,
        }
        if source:
            props["$exception_source"] = source
        if properties:
            props.update(properties)  # the caller's win, as there
        wire_uuid = self.capture(
            "$exception",
            distinct_id=distinct_id,
            properties=props,
            timestamp=timestamp,
            uuid=event_uuid,
            groups=groups,
            disable_geoip=disable_geoip,
        )
        if wire_uuid is not None and exception is not None:
            # An exception class may refuse attributes: then it is not marked.
            with contextlib.suppress(Exception):
                setattr(exc_value, CAPTURED_MARK, wire_uuid)
        return wire_uuid

    def _capture_uncaught(self, exc_info: ExcInfo, level: str, source: str) -> None:
        """Autocapture's entry: an exception nobody caught, on its way out."""
        try:
            self._capture_exception(
                exc_info,
                None,
                None,
                None,
                None,
                None,
                None,
                level=level,
                source=source,
                mechanism={"type": "onuncaughtexception", "handled": False},
            )
        except Exception:
            self._count_error()

    def _person(
        self,
        kind: str,
        distinct_id: object,
        properties: Mapping[str, Any] | None,
        timestamp: datetime | str | None,
        event_uuid: str | uuid_module.UUID | None,
        disable_geoip: bool | None,
    ) -> str | None:
        try:
            if distinct_id is None or distinct_id == "" or not properties:
                return None  # personless or empty: posthog-python sends nothing either
            props = {kind: dict(properties)}
            return self._enqueue(kind, distinct_id, props, timestamp, event_uuid, disable_geoip)
        except Exception:
            return None

    def _enqueue(
        self,
        name: str,
        distinct_id: object,
        props: dict[str, Any],
        timestamp: datetime | str | None,
        event_uuid: str | uuid_module.UUID | None,
        disable_geoip: bool | None,
    ) -> str | None:
        if self.disabled:
            return None
        if disable_geoip if disable_geoip is not None else self.disable_geoip:
            props["$geoip_disable"] = True
        if self.super_properties:
            props.update(self.super_properties)  # they win, as in posthog-python
        if self._release_id is not None:
            props.setdefault("$release_id", self._release_id)  # an explicit one wins
        if self.is_server:
            props["$is_server"] = True
        ts = _epoch(timestamp)
        wire_uuid = _uuid(event_uuid, ts)
        if self.before_send is not None:
            return self._through_before_send(name, distinct_id, props, ts, wire_uuid)
        client = self._client
        if client is None:  # send=False: accepted, deliberately not shipped
            return wire_uuid
        # A read-only view of a dict nobody else holds: Event skips its copy.
        event = Event(name, distinct_id, MappingProxyType(props), ts, wire_uuid)  # type: ignore[arg-type]
        return wire_uuid if client.capture(event) else None

    def _typed(self, event: Event) -> str | None:
        if self.disabled:
            return None
        if event.uuid is None:
            wire_uuid = new_event_uuid(event.timestamp)
            event = Event(
                event.name, event.distinct_id, event.properties, event.timestamp, wire_uuid
            )
        client = self._client
        if client is None:
            return event.uuid
        return event.uuid if client.capture(event) else None

    def _through_before_send(
        self, name: str, distinct_id: object, props: dict[str, Any], ts: float, wire_uuid: str
    ) -> str | None:
        """posthog-python's ``before_send`` hook, on the caller's thread as there."""
        assert self.before_send is not None
        message: dict[str, Any] = {
            "event": name,
            "distinct_id": str(distinct_id),
            "properties": props,
            "timestamp": datetime.fromtimestamp(ts, UTC).isoformat(),
            "uuid": wire_uuid,
        }
        try:
            changed = self.before_send(message)
        except Exception:
            log.exception("analytics: before_send raised; the event is dropped")
            return None
        if changed is None:
            return None
        if not isinstance(changed, dict):
            log.error("analytics: before_send must return a dict or None; the event is dropped")
            return None
        new_ts = _epoch(changed.get("timestamp"))
        new_uuid = _uuid(changed.get("uuid"), new_ts)
        event = Event(
            changed["event"],
            changed["distinct_id"],
            changed.get("properties") or {},
            new_ts,
            new_uuid,
        )
        client = self._client
        if client is None:
            return new_uuid
        return new_uuid if client.capture(event) else None


#: posthog-python sends to the ingestion host when it is given an app host.
_INGESTION_HOSTS: Final = MappingProxyType(
    {
        "https://app.posthog.com": DEFAULT_HOST,
        "https://us.posthog.com": DEFAULT_HOST,
        "https://eu.posthog.com": "https://eu.i.posthog.com",
    }
)


def _server_host(host: str | None) -> str:
    """The host events go to: blank means the default, an app host its ingestion host."""
    text = (host or "").strip() or DEFAULT_HOST
    return _INGESTION_HOSTS.get(text.rstrip("/"), text)


def _captured_before(exc: BaseException) -> bool:
    try:
        return getattr(exc, CAPTURED_MARK, None) is not None
    except Exception:  # an exception whose attribute lookup itself raises
        return False


def _text(value: object) -> bool:
    return value is not None and str(value) != ""


def _epoch(timestamp: object) -> float:
    """posthog-python's accepted timestamps -> seconds since the epoch.

    An aware datetime is converted. A naive one is read as posthog-python
    reads it: local time if it is at most 5 s old (``datetime.now()``), UTC
    otherwise. A string must be an ISO 8601 date and time (``Z`` allowed; a
    date alone is refused, as there). Anything else, or nothing, is "now".
    """
    if timestamp is None:
        return SYSTEM_CLOCK.time()
    try:
        if isinstance(timestamp, str):
            if _DATE_ONLY.fullmatch(timestamp):
                raise ValueError("a date without a time")
            timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        if isinstance(timestamp, datetime):
            if timestamp.tzinfo is None:
                age = (datetime.now() - timestamp).total_seconds()
                if 0 <= age < 5:
                    timestamp = timestamp.astimezone()  # datetime.now(): local time
                else:
                    timestamp = timestamp.replace(tzinfo=UTC)
            return timestamp.timestamp()
    except (ValueError, OverflowError, OSError):
        pass
    log.warning("analytics: invalid timestamp %r; using the current time", timestamp)
    return SYSTEM_CLOCK.time()


def _uuid(value: object, timestamp: float) -> str:
    """A caller's uuid in canonical form, or a fresh one (an invalid one is replaced)."""
    if value is not None:
        try:
            return str(
                value if isinstance(value, uuid_module.UUID) else uuid_module.UUID(str(value))
            )
        except ValueError:
            log.warning("analytics: invalid event uuid %r; a new one is used", value)
    return new_event_uuid(timestamp)
