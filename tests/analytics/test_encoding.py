"""The wire format without a network: records, drops, packing, stamps."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from multica_db.analytics import Event
from multica_db.analytics.encoding import BatchEncoder
from multica_db.analytics.stamps import Stamper


def encoder(**limits: int) -> BatchEncoder:
    return BatchEncoder(
        "phc_key",
        {"environment": "staging", "$lib": "multica-db"},
        max_event_bytes=limits.get("max_event_bytes", 900_000),
        max_request_bytes=limits.get("max_request_bytes", 5_000_000),
    )


def decode(enc: BatchEncoder, payload: bytes) -> dict[str, object]:
    body: dict[str, object] = json.loads(enc.body(payload, 1_700_000_000.25))
    return body


def test_body_is_the_batch_api_shape() -> None:
    enc = encoder()
    out = enc.encode([Event("e", "d", {"k": "v", "environment": "spoofed"}, timestamp=1.5)])
    ((payload, count),) = out.requests
    assert count == 1
    body = decode(enc, payload)
    assert body["api_key"] == "phc_key"
    assert body["sent_at"] == "2023-11-14T22:13:20.250000Z"
    (item,) = body["batch"]  # type: ignore[misc]
    assert item["timestamp"] == "1970-01-01T00:00:01.500000Z"
    assert item["properties"] == {"k": "v", "environment": "staging", "$lib": "multica-db"}


def test_drops_are_counted_by_reason_and_the_rest_survive() -> None:
    enc = encoder(max_event_bytes=500)
    batch = [
        Event("ok", "d1"),
        Event("", "d2"),  # invalid
        Event("x", "d3", {"o": object()}),  # unserialisable
        Event("x", "d4", {"big": "b" * 1000}),  # too large
        Event("ok", "d5"),
    ]
    out = enc.encode(batch)
    assert out.dropped == {"invalid": 1, "unserialisable": 1, "too_large": 1}
    assert sum(n for _, n in out.requests) == 2
    names = [
        item["distinct_id"]
        for payload, _ in out.requests
        for item in decode(enc, payload)["batch"]  # type: ignore[attr-defined]
    ]
    assert names == ["d1", "d5"]


def test_payloads_respect_the_request_limit() -> None:
    enc = encoder(max_request_bytes=2_000)
    out = enc.encode([Event("e", f"d{i}", {"pad": "p" * 300}) for i in range(20)])
    assert len(out.requests) > 1
    assert sum(n for _, n in out.requests) == 20
    for payload, n in out.requests:
        assert len(payload) <= 2_000
        assert len(decode(enc, payload)["batch"]) == n  # type: ignore[arg-type]


def test_uuids_are_v7_unique_and_time_ordered() -> None:
    stamper = Stamper()
    ids = [stamper.stamp(1_700_000_000.0 + i / 10)[1] for i in range(1000)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert len(set(ids)) == 1000
    assert ids == sorted(ids)
    millis = int.from_bytes(parsed[0].bytes[:6], "big")
    assert millis == 1_700_000_000_000


def test_two_stampers_do_not_collide() -> None:
    a, b = Stamper(), Stamper()
    ts = 1_700_000_000.0
    assert {a.stamp(ts)[1] for _ in range(100)}.isdisjoint({b.stamp(ts)[1] for _ in range(100)})


def test_timestamps_round_trip() -> None:
    stamper = Stamper()
    for ts in (0.0, 1_700_000_000.123456, 1_700_000_000.999999, 1_700_000_001.0):
        text = stamper.timestamp(ts)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        assert parsed.tzinfo == UTC
        assert abs(parsed.timestamp() - ts) < 2e-6
