"""The wire format without a network: records, drops, packing, stamps."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

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


def invalid_event() -> Event:
    """Only reachable by changing an event after construction, which refuses it."""
    event = Event("x", "d2")
    object.__setattr__(event, "name", "")
    return event


def test_drops_are_counted_by_reason_and_the_rest_survive() -> None:
    enc = encoder(max_event_bytes=500)
    batch = [
        Event("ok", "d1"),
        invalid_event(),
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


class Plan(enum.Enum):
    PRO = "pro"


class Tier(enum.IntEnum):
    GOLD = 3


def test_values_posthog_python_ships_are_converted_like_it_does() -> None:
    enc = encoder()
    props = {
        "at": datetime(2024, 1, 2, 3, 4, 5, 123, tzinfo=UTC),
        "naive": datetime(2024, 1, 2, 3, 4, 5),
        "day": date(2024, 1, 2),
        "id": uuid.UUID(int=5),
        "price": Decimal("1.10"),
        "plan": Plan.PRO,
        "tier": Tier.GOLD,
        "tags": {"a"},
        "frozen": frozenset({1}),
        "pair": (1, "x"),
        "nested": {"when": [date(2024, 1, 3)], "ids": (uuid.UUID(int=6),)},
    }
    ((payload, _),) = enc.encode([Event("e", "d", props)]).requests
    (item,) = decode(enc, payload)["batch"]  # type: ignore[misc]
    shipped = item["properties"]
    assert shipped["at"] == "2024-01-02T03:04:05.000123+00:00"
    assert shipped["naive"] == "2024-01-02T03:04:05"
    assert shipped["day"] == "2024-01-02"
    assert shipped["id"] == "00000000-0000-0000-0000-000000000005"
    assert shipped["price"] == 1.1
    assert shipped["plan"] == "pro"
    assert shipped["tier"] == 3
    assert shipped["tags"] == ["a"]
    assert shipped["frozen"] == [1]
    assert shipped["pair"] == [1, "x"]
    assert shipped["nested"] == {
        "when": ["2024-01-03"],
        "ids": ["00000000-0000-0000-0000-000000000006"],
    }


@pytest.mark.parametrize(
    "value",
    [
        object(),
        b"bytes",
        1j,
        Decimal("NaN"),
        Decimal("1e400"),
        float("inf"),
        "\ud800",
        {1: "\udcff"},
    ],
)
def test_other_values_drop_only_their_event(value: object) -> None:
    out = encoder().encode([Event("ok", "a"), Event("bad", "b", {"v": value}), Event("ok", "c")])
    assert out.dropped == {"unserialisable": 1}
    assert sum(n for _, n in out.requests) == 2


def test_lone_surrogate_in_a_property_drops_the_event() -> None:
    enc = encoder()
    batch = [Event("e", "d", {"k\ud83d": 1}), Event("e", "d", {"k": ["\udfff"]})]
    out = enc.encode([*batch, Event("ok", "d")])
    assert out.dropped == {"unserialisable": 2}
    assert sum(n for _, n in out.requests) == 1


@pytest.mark.parametrize(("name", "distinct_id"), [("x\ud800", "d"), ("e", "d\udfff")])
def test_lone_surrogate_in_name_or_id_is_refused_at_construction(
    name: str, distinct_id: str
) -> None:
    with pytest.raises(UnicodeEncodeError):
        Event(name, distinct_id)


def test_event_limit_counts_utf8_bytes_not_characters() -> None:
    enc = encoder(max_event_bytes=3_000)
    euro = Event("e", "d", {"blob": "€" * 1_500})  # 1,500 characters, 4,500 bytes
    out = enc.encode([Event("ok", "a"), euro, Event("ok", "b")])
    assert out.dropped == {"too_large": 1}
    assert sum(n for _, n in out.requests) == 2


def test_request_limit_is_the_whole_body_in_bytes() -> None:
    limit = 4_000
    enc = encoder(max_request_bytes=limit)
    out = enc.encode([Event("e", f"d{i}", {"pad": "é" * 150}) for i in range(40)])
    assert len(out.requests) > 1
    assert sum(n for _, n in out.requests) == 40
    for payload, _ in out.requests:
        assert len(enc.body(payload, 1_700_000_000.0)) <= limit
