"""Use from asyncio: capture inside a running loop, aflush/aclose never block it."""

from __future__ import annotations

import asyncio
import time

from multica_db.analytics import Event, NoopClient
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
    client = make_client(request_timeout=5.0)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    start = time.monotonic()
    for i in range(2_000):
        client.capture(ev(i))  # queue fills, then drops; never blocks the loop
    capture_time = time.monotonic() - start
    flushed = await client.aflush(0.3)
    closed = await client.aclose(0.3)
    elapsed = time.monotonic() - start
    stop.set()
    await task
    assert capture_time < 0.2
    assert flushed is False and closed is False
    assert elapsed < 0.6 + 0.3
    assert ticks >= 20  # ~60 ticks possible; a blocked loop would manage ~1
    assert client.stats.pending == 0


async def test_noop_async_helpers() -> None:
    client = NoopClient()
    assert client.capture(ev(0))
    assert await client.aflush(0.1)
    assert await client.aclose(0.1)
