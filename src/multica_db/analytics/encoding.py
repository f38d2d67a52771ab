"""Events -> PostHog ``/batch/`` request bodies, dropping only what must be dropped.

Pure CPU work with no locks and no I/O, so the worker can run it while a
previous request is still in flight, and tests can check the wire format
without a network.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import zlib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final
from uuid import UUID

import pydantic

from multica_db.analytics.events import Event, Record
from multica_db.analytics.stamps import Stamper

INVALID: Final = "invalid"
UNSERIALISABLE: Final = "unserialisable"
TOO_LARGE: Final = "too_large"

#: zlib level of gzip request bodies. Event JSON repeats its keys in every
#: event, so the fastest level already shrinks it several times over; higher
#: levels cost the worker far more CPU for a few percent.
GZIP_LEVEL: Final = 1

#: ``{"api_key":...,"sent_at":"<27 characters>","batch":[`` ... ``]}`` around
#: the events: counted against ``max_request_bytes`` with the api key's length.
_BODY_OVERHEAD: Final = len('{"api_key":,"sent_at":"2000-01-01T00:00:00.000000Z","batch":[]}')


def _to_json(value: object) -> object:
    """The non-JSON values posthog-python also ships, converted the same way.

    datetime and date become ISO 8601 strings (``isoformat()``, so a naive
    datetime stays naive), UUID its string, Decimal a float, set, frozenset and
    deque a list (tuples are lists already), any other mapping a dict, a
    dataclass instance a dict of its fields, a pydantic model what its
    ``model_dump()`` returns; nested values are converted by the same rules.
    An Enum ships its value; posthog-python ships a plain Enum as ``null``,
    which loses the information. Anything else raises, and the event is
    dropped as ``unserialisable``: guessing a string form for an arbitrary
    object would ship whatever its ``repr`` leaks.
    """
    if isinstance(value, date):  # datetime is a date
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | deque):
        return list(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Fields one level at a time (not dataclasses.asdict, which deep-copies
        # every value): nested values come back through this function.
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump()
    raise TypeError(f"{type(value).__name__} is not a supported property value")


# Shared, because json.dumps with options builds a new encoder per call. No
# circular-reference bookkeeping: a cyclic property value still fails (with
# RecursionError) and is dropped like any other unserialisable event. UTF-8
# instead of \u escapes: smaller, and the encoder skips a pass per string. It
# also means a lone surrogate (a str that is not valid Unicode text, e.g. from
# a ``\ud800`` JSON escape or a ``surrogateescape``-decoded filename) fails
# the UTF-8 encoding step: such an event is dropped as ``unserialisable``
# rather than escaped, because a strict JSON parser rejects an escaped lone
# surrogate and with it the whole request, i.e. every neighbour of the event.
_ENCODER: Final = json.JSONEncoder(
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
    ensure_ascii=False,
    default=_to_json,
)


@dataclass(slots=True)
class Encoded:
    """A batch ready to send: payloads of comma-joined events, and what was dropped."""

    requests: list[tuple[bytes, int]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)


class BatchEncoder:
    """Owns the wire format: one per worker (its stamper is not thread-safe)."""

    def __init__(
        self,
        api_key: str,
        base_properties: Mapping[str, object],
        *,
        max_event_bytes: int,
        max_request_bytes: int,
        gzip: bool = False,
    ) -> None:
        self._gzip = gzip
        self._api_key_json = json.dumps(api_key)
        self._base = dict(base_properties)
        self._max_event = max_event_bytes
        # Limits are in UTF-8 bytes of the whole body, as PostHog measures them.
        self._max_request = max(1, max_request_bytes - _BODY_OVERHEAD - len(self._api_key_json))
        self._stamper = Stamper()

    def encode(self, batch: Sequence[Event | Record]) -> Encoded:
        """Serialise ``batch`` into request payloads under the byte limits.

        The common case (every event valid, the whole batch small) costs one
        encoder call and yields one payload. Only if that fails or is too big is
        each event encoded alone, so one poisoned event never takes its
        neighbours down with it.
        """
        out = Encoded()
        records, invalid = self._records(batch)
        if invalid:
            out.dropped[INVALID] = invalid
        if not records:
            return out
        try:
            whole: bytes | None = _ENCODER.encode(records).encode()
        except BaseException:  # whatever an event holds costs that event, not the worker
            whole = None
        if whole is not None and len(whole) <= min(self._max_event, self._max_request):
            # Every event is smaller than the whole, so all are within limits.
            out.requests.append((whole[1:-1], len(records)))
            return out
        self._pack(self._one_by_one(records, out.dropped), out.requests)
        return out

    def body(self, payload: bytes, now: float) -> bytes:
        """The request body around ``payload``, stamped ``sent_at`` = ``now``.

        Re-stamped per attempt: PostHog corrects client clock skew with it, which
        a stale value would distort. Event uuids, by contrast, stay the same.
        """
        sent_at = self._stamper.timestamp(now)
        head = f'{{"api_key":{self._api_key_json},"sent_at":"{sent_at}","batch":['
        body = head.encode() + payload + b"]}"
        if self._gzip:
            # wbits 31: a gzip member, what ``Content-Encoding: gzip`` means.
            return zlib.compress(body, GZIP_LEVEL, wbits=31)
        return body

    def _records(self, batch: Sequence[Event | Record]) -> tuple[list[dict[str, object]], int]:
        # Runs once per event shipped, so it is written flat, with locals
        # instead of attribute lookups and helper calls.
        base = self._base
        stamp = self._stamper.stamp
        records: list[dict[str, object]] = []
        append = records.append
        invalid = 0
        for event in batch:
            try:
                if type(event) is tuple:  # a Record: checked when it was made
                    name, distinct_id, properties, ts, uuid = event
                    properties.update(base)
                    append(
                        {
                            "event": name,
                            "distinct_id": distinct_id,
                            "properties": properties,
                            "timestamp": stamp(ts)[0],
                            "uuid": uuid,
                        }
                    )
                    continue
                if type(event) is not Event:
                    raise TypeError(f"not an analytics Event: {type(event).__name__}")
                name = event.name
                distinct_id = event.distinct_id
                if not (type(name) is str and name and type(distinct_id) is str and distinct_id):
                    raise TypeError("event name and distinct_id must be non-empty strings")
                # Event.properties is a mappingproxy over a private dict, whose
                # copy() is a C-level dict copy. Client-wide properties win so
                # ``environment`` cannot be overridden per event.
                properties = event.properties.copy()  # type: ignore[attr-defined]
                properties.update(base)
                timestamp, uuid = stamp(event.timestamp)  # raises on NaN/inf
                if event.uuid is not None:
                    uuid = event.uuid
                append(
                    {
                        "event": name,
                        "distinct_id": distinct_id,
                        "properties": properties,
                        "timestamp": timestamp,
                        "uuid": uuid,
                    }
                )
            except BaseException:  # user code (a mapping's copy) may raise anything
                invalid += 1
        return records, invalid

    def _one_by_one(self, records: list[dict[str, object]], dropped: dict[str, int]) -> list[bytes]:
        encoded: list[bytes] = []
        for record in records:
            try:
                data = _ENCODER.encode(record).encode()
            except BaseException:
                dropped[UNSERIALISABLE] = dropped.get(UNSERIALISABLE, 0) + 1
                continue
            if len(data) > self._max_event or len(data) > self._max_request:
                dropped[TOO_LARGE] = dropped.get(TOO_LARGE, 0) + 1
                continue
            encoded.append(data)
        return encoded

    def _pack(self, events: list[bytes], requests: list[tuple[bytes, int]]) -> None:
        """Group single encoded events into payloads under the request byte limit."""
        group: list[bytes] = []
        size = 0
        for data in events:
            if group and size + len(data) + 1 > self._max_request:
                requests.append((b",".join(group), len(group)))
                group, size = [], 0
            group.append(data)
            size += len(data) + 1
        if group:
            requests.append((b",".join(group), len(group)))
