"""Use from asyncio: capture inside a running loop, aflush/aclose never block it."""

from __future__ import annotations

import asyncio

from multica_db.analytics import Event, ManualClock, NoopClient
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink


def ev(i: int) -> Event:
    return Event("async_event", f"user-{i}", {"i": i})


async def test_capture_inside_running_loop_and_aflush(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(flush_interval=30.0)
    asyncio.get_running_loop()  # really inside a loop
    assert all(client.capture(ev(i)) for i in range(50))
    assert await client.aflush(3.0)
    assert len(sink.delivered) == 50
    assert await client.aclose(1.0)


async def test_loop_keeps_running_while_backend_hangs(sink: Sink, make_client: MakeClient) -> None:
    sink.set("hang")
    clock = ManualClock()
    # The worker sits in its request (60 s of real socket timeout), never on the
    # clock: the one thread parked on the clock is the one inside aflush/aclose.
    client = make_client(request_timeout=60.0, queue_size=1024, clock=clock)
    ticks = 0

    async def ticks_pass(n: int) -> None:
        """The loop runs ``n`` more rounds: it was not blocked."""
        nonlocal ticks
        target = ticks + n
        while ticks < target:
            ticks += 1
            await asyncio.sleep(0)

    results = [client.capture(ev(i)) for i in range(2_000)]  # fills, then drops; never waits
    accepted = results.count(True)
    assert accepted >= 1024  # the queue's size, plus what the worker took meanwhile
    try:
        flush = asyncio.create_task(client.aflush(0.3))
        await ticks_pass(20)  # while aflush waits for a backend that never answers
        assert not flush.done()
        await asyncio.to_thread(clock.parked)
        clock.advance(0.31)
        assert await flush is False
        close = asyncio.create_task(client.aclose(0.3))
        await ticks_pass(20)
        assert not close.done()
        await asyncio.to_thread(clock.parked)
        clock.advance(0.31)
        assert await close is False
    finally:
        clock.advance(3_600)  # never leave a helper thread waiting on the clock
    stats = client.stats
    assert stats.pending == 0
    assert stats.dropped_by_reason == {"deadline": accepted, "queue_full": 2_000 - accepted}


async def test_noop_async_helpers() -> None:
    client = NoopClient()
    assert client.capture(ev(0))
    assert await client.aflush(0.1)
    assert await client.aclose(0.1)
