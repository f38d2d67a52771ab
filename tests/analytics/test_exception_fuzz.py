"""Whatever exception ``capture_exception`` is handed, it returns and the event ships.

Hypothesis builds exception graphs: causes and contexts in any shape (cycles
included), exception groups, suppressed contexts, raised and never-raised
exceptions, huge and non-Unicode messages, attributes of any type where
posthog-python looks for ``message``, ``detail`` and ``errno``, ``__str__`` that
raises. Each is captured through a live client into the local sink: the call
never raises, the event it queued is delivered (never dropped as too large or
unserialisable), within the bounds, and an ordinary event after it still ships.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from multica_db.analytics import ManualClock, Posthog
from multica_db.analytics.exception_list import (
    MAX_EXCEPTIONS,
    MAX_FRAMES,
    MAX_MESSAGE_BYTES,
    MAX_TOTAL_BYTES,
)
from tests.analytics.sink import Sink
from tests.analytics.test_fuzz import PROFILE


class Exploding(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str")


class Lying(Exception):
    def __str__(self) -> Any:
        return b"bytes, not text"


def _raise_deep(exc: BaseException, depth: int) -> None:
    if depth:
        _raise_deep(exc, depth - 1)
    raise exc


KINDS = [ValueError, KeyError, OSError, Exploding, Lying, RuntimeError, KeyboardInterrupt]

odd_values = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=20),
    st.booleans(),
    st.just(object()),
    st.just(float("nan")),
    st.lists(st.integers(), max_size=3),
    st.binary(max_size=8),
)

messages = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=5),
    st.builds(lambda n, c: c * n, st.integers(1, 200_000), st.sampled_from("xé\x00😀")),
)


@dataclass
class Node:
    kind: int
    message: str
    raised_depth: int | None
    attributes: dict[str, object]
    cause: int | None
    context: int | None
    suppress: bool
    members: list[int]


nodes = st.builds(
    Node,
    kind=st.integers(0, len(KINDS) - 1),
    message=messages,
    raised_depth=st.one_of(st.none(), st.integers(0, 30)),
    attributes=st.dictionaries(st.sampled_from(["message", "detail", "errno"]), odd_values),
    cause=st.one_of(st.none(), st.integers(0, 11)),
    context=st.one_of(st.none(), st.integers(0, 11)),
    suppress=st.booleans(),
    members=st.lists(st.integers(0, 11), max_size=4),
)


def build(graph: list[Node]) -> BaseException:
    made: list[BaseException] = []
    for node in graph:
        earlier = [made[i] for i in node.members if i < len(made)]
        exc: BaseException
        if earlier:
            exc = BaseExceptionGroup(node.message, earlier)
        else:
            exc = KINDS[node.kind](node.message)
        if node.raised_depth is not None:
            with contextlib.suppress(BaseException):  # only its traceback is wanted
                _raise_deep(exc, node.raised_depth)
        for name, value in node.attributes.items():
            with contextlib.suppress(AttributeError):  # a group's message is read-only
                setattr(exc, name, value)
        made.append(exc)
    for node, exc in zip(graph, made, strict=True):
        if node.cause is not None:
            exc.__cause__ = made[node.cause % len(made)]
        if node.context is not None:
            exc.__context__ = made[node.context % len(made)]
        exc.__suppress_context__ = node.suppress
    return made[-1]


@pytest.fixture
def client(sink: Sink) -> Iterator[Posthog]:
    posthog = Posthog("phc", host=sink.url, clock=ManualClock())
    yield posthog
    posthog.shutdown()


@PROFILE
@given(graph=st.lists(nodes, min_size=1, max_size=12))
def test_any_exception_graph_is_captured_bounded_and_shipped(
    sink: Sink, client: Posthog, graph: list[Node]
) -> None:
    errors_before = client.stats.capture_errors
    returned = client.capture_exception(build(graph), distinct_id="u", properties={"n": len(graph)})
    marker = client.capture("after", distinct_id="u")
    assert marker is not None
    client.flush()
    by_uuid = {e["uuid"]: e for e in sink.delivered}
    assert marker in by_uuid
    assert client.stats.capture_errors == errors_before
    assert returned is not None
    event = by_uuid[returned]  # shipped: nothing in it made the encoder drop it
    entries = event["properties"]["$exception_list"]
    assert 1 <= len(entries) <= MAX_EXCEPTIONS
    for entry in entries:
        assert isinstance(entry["value"], str)
        assert len(entry["value"].encode()) <= MAX_MESSAGE_BYTES
        assert len(entry.get("stacktrace", {}).get("frames", [])) <= MAX_FRAMES
        json.dumps(entry, allow_nan=False)
    assert len(json.dumps(entries, ensure_ascii=False).encode()) <= MAX_TOTAL_BYTES
    ids = [e["mechanism"]["exception_id"] for e in entries]
    assert ids == list(range(len(entries)))
    assert all(e["mechanism"]["parent_id"] < e["mechanism"]["exception_id"] for e in entries[1:])
    stats = client.stats
    assert stats.dropped == 0 and stats.failed == 0
