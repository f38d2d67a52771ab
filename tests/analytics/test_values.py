"""Property values posthog-python ships must ship here too, with the same JSON.

dataclass instances, pydantic models, deques and other mappings used to be
dropped as ``unserialisable``. They now ship as posthog-python ships them; when
posthog-python is installed (the ``bench`` extra) the two are compared on
generated value trees.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db.analytics import Event
from multica_db.analytics.encoding import BatchEncoder
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink


@dataclasses.dataclass
class Plan:
    name: str
    seats: int
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    plan: Plan
    until: date


class Account(pydantic.BaseModel):
    id: uuid.UUID
    plan: str
    created: datetime
    owners: list[str]


class Wrapper(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    account: Account
    extra: Any = None


ACCOUNT = Account(
    id=uuid.UUID(int=7),
    plan="team",
    created=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    owners=["a", "b"],
)


def encoder() -> BatchEncoder:
    return BatchEncoder("phc", {}, max_event_bytes=900_000, max_request_bytes=5_000_000)


def shipped(value: object) -> object:
    """What the property ``v`` looks like on the wire, or raise if it is dropped."""
    enc = encoder()
    out = enc.encode([Event("e", "d", {"v": value})])
    assert out.dropped == {}, out.dropped
    ((payload, _),) = out.requests
    body = json.loads(enc.body(payload, 0.0))
    return body["batch"][0]["properties"]["v"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Plan("pro", 3, ["x"]), {"name": "pro", "seats": 3, "tags": ["x"]}),
        (
            Limits(Plan("free", 1), date(2025, 1, 2)),
            {"plan": {"name": "free", "seats": 1, "tags": []}, "until": "2025-01-02"},
        ),
        (
            ACCOUNT,
            {
                "id": "00000000-0000-0000-0000-000000000007",
                "plan": "team",
                "created": "2024-05-01T12:00:00+00:00",
                "owners": ["a", "b"],
            },
        ),
        (Wrapper(account=ACCOUNT, extra=collections.deque([1])), None),
        (collections.deque([1, 2]), [1, 2]),
        (collections.deque([Decimal("1.5"), {3}]), [1.5, [3]]),
        (MappingProxyType({"k": 1}), {"k": 1}),
        (collections.OrderedDict(a=1), {"a": 1}),
        ([Plan("p", 1)], [{"name": "p", "seats": 1, "tags": []}]),
    ],
)
def test_values_posthog_python_ships_are_shipped(value: object, expected: object) -> None:
    result = shipped(value)
    if expected is None:  # nested model: spot-check the parts
        assert isinstance(result, dict)
        assert result["account"]["id"] == "00000000-0000-0000-0000-000000000007"
        assert result["extra"] == [1]
    else:
        assert result == expected


def test_a_dataclass_class_is_not_a_value() -> None:
    out = encoder().encode([Event("e", "d", {"v": Plan})])
    assert out.dropped == {"unserialisable": 1}


def test_a_model_whose_dump_fails_drops_only_its_event() -> None:
    class Broken(pydantic.BaseModel):
        def model_dump(self, **kwargs: Any) -> dict[str, Any]:
            raise RuntimeError("no")

    out = encoder().encode([Event("a", "d"), Event("b", "d", {"v": Broken()}), Event("c", "d")])
    assert out.dropped == {"unserialisable": 1}
    assert sum(n for _, n in out.requests) == 2


def test_values_arrive_at_the_sink(sink: Sink, make_client: MakeClient) -> None:
    client = make_client()
    client.capture(
        Event("e", "d", {"plan": Plan("pro", 3), "acct": ACCOUNT, "q": collections.deque("ab")})
    )
    assert client.flush(10.0)
    (event,) = sink.delivered
    assert event["properties"]["plan"] == {"name": "pro", "seats": 3, "tags": []}
    assert event["properties"]["acct"]["owners"] == ["a", "b"]
    assert event["properties"]["q"] == ["a", "b"]
    assert client.stats.dropped == 0


# -- compared with posthog-python itself -------------------------------------

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.dates(),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(collections.deque),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
        st.builds(Plan, st.text(max_size=5), st.integers(0, 9), st.lists(st.text(max_size=3))),
        st.builds(lambda v: Wrapper(account=ACCOUNT, extra=v), inner),
    ),
    max_leaves=10,
)


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(value=TREES)
def test_same_json_as_posthog_python(value: object) -> None:
    utils = pytest.importorskip("posthog.utils")
    request = pytest.importorskip("posthog.request")
    theirs = json.loads(json.dumps(utils.clean({"v": value}), cls=request.DatetimeSerializer))["v"]
    assert shipped(value) == theirs
