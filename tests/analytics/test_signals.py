"""``capture`` from a signal handler returns, even when it interrupted a capture.

Signal handlers run on the main thread between two bytecodes of whatever it
was doing. If that was a ``capture`` holding the buffer's lock, a handler that
captures too must not wait for the lock its own thread holds.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db.analytics import Event, Posthog, PostHogClient
from multica_db.analytics.buffer import EventBuffer
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need the main thread"
)


@pytest.fixture
def on_signal() -> Iterator[Callable[[Callable[[], None]], None]]:
    """Install a SIGUSR1 handler for the test; the old one comes back afterwards."""
    old = signal.getsignal(signal.SIGUSR1)

    def install(action: Callable[[], None]) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            action()

        signal.signal(signal.SIGUSR1, handler)

    yield install
    signal.signal(signal.SIGUSR1, old)


def raise_inside(function: Any, line_text: str) -> Callable[[], None]:
    """Trace ``function`` and raise SIGUSR1 once, when it reaches ``line_text``.

    The handler then runs on this thread inside that function, at exactly the
    point where it holds the buffer's lock: no timing involved.
    """
    code = function.__code__
    import inspect

    lines, first = inspect.getsourcelines(function)
    # The last occurrence: the one inside the ``with self._lock`` block.
    target = max(first + i for i, text in enumerate(lines) if line_text in text)
    fired = False

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal fired
        if frame.f_code is not code:
            return None
        if event == "line" and frame.f_lineno == target and not fired:
            fired = True
            signal.raise_signal(signal.SIGUSR1)
        return tracer

    def start() -> None:
        sys.settrace(tracer)

    return start


@pytest.mark.timeout(20)
@pytest.mark.parametrize("line", ["self._captured += 1", "items.append(item)", "return True"])
def test_capture_in_a_handler_that_interrupted_capture_returns(
    sink: Sink,
    make_client: MakeClient,
    on_signal: Callable[[Callable[[], None]], None],
    line: str,
) -> None:
    client = make_client(batch_size=1)
    answers: list[bool] = []
    on_signal(lambda: answers.append(client.capture(Event("from_handler", "u"))))
    client.capture(Event("warm_up", "u"))  # the worker is running
    start = raise_inside(EventBuffer.offer, line)
    start()
    try:
        outer = client.capture(Event("interrupted", "u"))
    finally:
        sys.settrace(None)
    assert outer is True
    assert answers == [True]
    assert client.flush(10.0)
    assert sorted(e["event"] for e in sink.delivered) == ["from_handler", "interrupted", "warm_up"]
    stats = client.stats
    assert (stats.captured, stats.sent, stats.pending) == (3, 3, 0)


@pytest.mark.timeout(20)
def test_capture_in_a_handler_that_interrupted_the_first_capture_returns(
    sink: Sink, make_client: MakeClient, on_signal: Callable[[Callable[[], None]], None]
) -> None:
    """The very first capture starts the worker under its own lock: same rule."""
    client = make_client()
    answers: list[bool] = []
    on_signal(lambda: answers.append(client.capture(Event("from_handler", "u"))))
    start = raise_inside(PostHogClient._start, "self._started = True")
    start()
    try:
        client.capture(Event("first", "u"))
    finally:
        sys.settrace(None)
    assert answers == [True]
    assert client.flush(10.0)
    assert sorted(e["event"] for e in sink.delivered) == ["first", "from_handler"]
    assert sum(t.name == "multica-analytics" for t in threading.enumerate()) >= 1


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("function", "line"),
    [
        (EventBuffer.begin_close, "self._closing = True"),
        (EventBuffer.abandon, "self._abandoned = True"),
        (EventBuffer.abandon, "return left"),
    ],
)
def test_handler_events_are_booked_when_the_queue_is_closed(
    sink: Sink,
    make_client: MakeClient,
    on_signal: Callable[[Callable[[], None]], None],
    function: Any,
    line: str,
) -> None:
    client = make_client()
    on_signal(lambda: client.capture(Event("from_handler", "u")))
    client.capture(Event("kept", "u"))
    start = raise_inside(function, line)
    start()
    try:
        client.close(5.0)
    finally:
        sys.settrace(None)
    stats = client.stats
    assert stats.captured == 2
    assert stats.sent + stats.dropped == 2
    assert stats.pending == 0


@pytest.mark.timeout(60)
def test_a_storm_of_signals_while_capturing_loses_nothing(
    sink: Sink, make_client: MakeClient
) -> None:
    """Profiling-timer signals land anywhere in a capture loop; every event is booked."""
    client = make_client(queue_size=100_000, batch_size=500)
    from_handler = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal from_handler
        from_handler += 1
        client.capture(Event("from_handler", "u", {"n": from_handler}))

    old = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_PROF, 0.0002, 0.0002)
    try:
        for i in range(20_000):
            client.capture(Event("loop", "u", {"i": i}))
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, old)
    assert from_handler > 0
    assert client.flush(30.0)
    stats = client.stats
    assert stats.captured == 20_000 + from_handler
    assert stats.sent == stats.captured
    assert len(sink.delivered) == stats.captured


@pytest.mark.timeout(20)
@pytest.mark.parametrize("call", ["flush", "close", "stats"])
def test_flush_close_and_stats_from_a_handler_inside_capture_return(
    sink: Sink,
    make_client: MakeClient,
    on_signal: Callable[[Callable[[], None]], None],
    call: str,
) -> None:
    """A SIGTERM handler that closes the client may interrupt a capture: it must return."""
    client = make_client()
    answers: list[object] = []
    actions = {
        "flush": lambda: client.flush(5.0),
        "close": lambda: client.close(5.0),
        "stats": lambda: client.stats,
    }
    on_signal(lambda: answers.append(actions[call]()))
    client.capture(Event("warm_up", "u"))
    start = raise_inside(EventBuffer.offer, "self._captured += 1")
    start()
    try:
        client.capture(Event("interrupted", "u"))
    finally:
        sys.settrace(None)
    assert len(answers) == 1
    client.close(10.0)
    stats = client.stats
    assert stats.captured == 2
    assert stats.pending == 0
    assert stats.captured == stats.sent + stats.dropped + stats.failed


def code_lines(function: Any) -> list[int]:
    """Every line of ``function`` that runs code (what a trace 'line' event can stop on)."""
    code = function.__code__
    return sorted(
        {line for _, _, line in code.co_lines() if line is not None} - {code.co_firstlineno}
    )


INTERRUPTIBLE = [
    (function, line)
    for function in (EventBuffer.offer, EventBuffer._merge_side_locked, PostHogClient._start)
    for line in code_lines(function)
]


@pytest.mark.timeout(60)
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    where=st.sampled_from(INTERRUPTIBLE),
    action=st.sampled_from(["capture", "posthog", "stats", "flush"]),
)
def test_a_handler_anywhere_inside_capture_returns_and_the_ledger_adds_up(
    sink: Sink, where: tuple[Any, int], action: str
) -> None:
    """Interrupt capture at any line of the buffer's or the client's code, with any call."""
    function, line = where
    posthog = Posthog("phc", host=sink.url, flush_interval=0.05)
    client = posthog.client
    assert isinstance(client, PostHogClient)
    actions: dict[str, Callable[[], object]] = {
        "capture": lambda: client.capture(Event("from_handler", "u")),
        "posthog": lambda: posthog.capture("from_handler", distinct_id="u"),
        "stats": lambda: client.stats,
        "flush": lambda: client.flush(5.0),
    }
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: actions[action]())
    code = function.__code__
    fired = False

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal fired
        if frame.f_code is not code:
            return None
        if event == "line" and frame.f_lineno == line and not fired:
            fired = True
            signal.raise_signal(signal.SIGUSR1)
        return tracer

    try:
        for i in range(3):  # the first capture starts the worker, later ones do not
            sys.settrace(tracer)
            try:
                posthog.capture("interrupted", distinct_id=f"u{i}")
            finally:
                sys.settrace(None)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert client.flush(10.0)
    posthog.shutdown()
    stats = client.stats
    expected = 3 + (1 if fired and action in ("capture", "posthog") else 0)
    assert stats.captured == expected
    assert stats.sent == expected
    assert stats.pending == 0
