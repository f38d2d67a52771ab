"""flush/close deadlines, shutdown at exit, fork safety, garbage collection."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest

from multica_db.analytics import Event, PostHogClient, RetryPolicy
from multica_db.analytics.client import THREAD_NAME
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Sink, refused_url

SLACK = 0.25  # scheduling slack on a loaded 2-core CI box


def ev(i: int) -> Event:
    return Event("test_event", f"user-{i}", {"i": i})


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` until it holds; the timeout only bounds a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# -- deadlines ----------------------------------------------------------------

SLOW_RETRIES = RetryPolicy(max_tries=50, base=5.0, cap=5.0, max_retry_after=60.0)


@pytest.mark.parametrize("backend", ["hang", "refused", "500", "429"])
def test_flush_and_close_return_within_their_deadline(
    sink: Sink, make_client: MakeClient, backend: str
) -> None:
    host = refused_url() if backend == "refused" else sink.url
    if backend != "refused":
        sink.set(backend)  # type: ignore[arg-type]
    sink.state.retry_after = "30"
    client = make_client(host=host, request_timeout=10.0, retry=SLOW_RETRIES)
    for i in range(100):
        client.capture(ev(i))

    flushed, flush_time = timed(lambda: client.flush(0.4))
    assert flushed is False
    assert 0.35 <= flush_time < 0.4 + SLACK

    closed, close_time = timed(lambda: client.close(0.5))
    assert close_time < 0.5 + SLACK
    assert closed is False
    stats = client.stats
    assert stats.pending == 0
    assert stats.captured == 100
    # Stuck in a request, or owed a retry the deadline does not leave time for:
    # either way "not sent in time", which is a drop, not a failure.
    assert stats.dropped_by_reason == {"deadline": 100}
    assert stats.failed == 0


def test_close_sends_what_it_can_in_time(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(flush_interval=30.0)
    for i in range(500):
        client.capture(ev(i))
    closed, elapsed = timed(lambda: client.close(3.0))
    assert closed is True
    assert elapsed < 3.0
    assert len(sink.delivered) == 500
    assert client.stats.sent == 500


def test_close_with_a_slow_backend_counts_the_rest_as_dropped(
    sink: Sink, make_client: MakeClient
) -> None:
    sink.set("slow")
    sink.state.slow_seconds = 0.2
    client = make_client(batch_size=10, max_batch_size=10, flush_interval=30.0, queue_size=1000)
    for i in range(100):
        client.capture(ev(i))
    closed, elapsed = timed(lambda: client.close(0.8))
    assert closed is False
    assert elapsed < 0.8 + SLACK
    stats = client.stats
    # A few 0.2 s requests fit in the deadline; the rest is booked, not lost.
    assert 0 < stats.sent < 100
    assert stats.sent + stats.dropped == 100
    assert stats.dropped_by_reason == {"deadline": stats.dropped}
    assert stats.pending == 0


def test_late_worker_report_does_not_double_count(sink: Sink, make_client: MakeClient) -> None:
    sink.set("slow")
    sink.state.slow_seconds = 0.4
    client = make_client(flush_interval=0.01)
    for i in range(5):
        client.capture(ev(i))
    assert wait_until(lambda: len(sink.requests) == 1)  # the batch is now in flight
    (thread,) = [t for t in worker_threads() if t.is_alive()][-1:]
    client.close(0.1)
    after_close = client.stats
    thread.join(30)  # the worker finishes the slow request after the deadline, then exits
    assert not thread.is_alive()
    assert client.stats == after_close
    assert after_close.dropped_by_reason == {"deadline": 5}
    assert after_close.pending == 0


def test_capture_after_close_is_refused_and_counted(make_client: MakeClient) -> None:
    client = make_client()
    client.capture(ev(0))
    assert client.close(1.0)
    assert client.capture(ev(1)) is False
    assert client.stats.dropped_by_reason == {"closed": 1}
    assert client.stats.captured == 2
    _, elapsed = timed(lambda: client.close(5.0))
    assert elapsed < 0.1  # idempotent
    assert client.flush(5.0) is True


def test_closing_an_unused_client_is_instant(make_client: MakeClient) -> None:
    before = {t.ident for t in worker_threads()}
    client = make_client()
    closed, elapsed = timed(lambda: client.close(5.0))
    assert closed is True and elapsed < 0.1
    assert {t.ident for t in worker_threads()} <= before  # never started one


def test_worker_thread_exits_after_close(make_client: MakeClient) -> None:
    client = make_client()
    client.capture(ev(0))
    (thread,) = [t for t in worker_threads() if t.is_alive()][-1:]
    client.close(1.0)
    thread.join(1.0)
    assert not thread.is_alive()


def test_abandoned_client_worker_exits_when_collected(sink: Sink) -> None:
    # The grace is an upper bound: the orphaned worker exits as soon as its
    # queue is drained, so a generous one costs nothing on a fast machine and
    # keeps a loaded one from cutting the drain short.
    client = PostHogClient("k", host=sink.url, flush_interval=30.0, exit_timeout=30.0)
    client.capture(ev(0))
    (thread,) = [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()][-1:]
    del client
    gc.collect()
    thread.join(30)
    assert not thread.is_alive()
    assert len(sink.delivered) == 1  # the orphan still drained before exiting


# -- interpreter exit -----------------------------------------------------------

EXIT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from multica_db.analytics import Event, PostHogClient, RetryPolicy
    client = PostHogClient(
        "k", host=sys.argv[1], flush_interval=30.0, request_timeout=30.0,
        retry=RetryPolicy(max_tries=10, base=5.0), exit_timeout=float(sys.argv[3]),
    )
    for i in range(int(sys.argv[2])):
        client.capture(Event("at_exit", f"u{i}"))
    print("captured", flush=True)
    """
)


def run_exit_script(host: str, n: int, exit_timeout: float = 0.5) -> float:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, host, str(n), str(exit_timeout)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert "captured" in proc.stdout
    return elapsed


def test_atexit_flushes_pending_events(sink: Sink) -> None:
    # Generous deadline: it is only used up if the backend misbehaves.
    run_exit_script(sink.url, 10, exit_timeout=5.0)
    assert len(sink.delivered) == 10


@pytest.mark.parametrize("backend", ["hang", "refused"])
def test_exit_never_hangs_on_a_dead_backend(sink: Sink, backend: str) -> None:
    if backend == "hang":
        sink.set("hang")
    host = refused_url() if backend == "refused" else sink.url
    baseline = run_exit_script(sink.url, 0)  # interpreter start-up cost
    elapsed = run_exit_script(host, 50)
    assert elapsed < baseline + 0.5 + 1.0


# -- fork -------------------------------------------------------------------------


def _in_child(body: Callable[[], bool]) -> int:
    """Run ``body`` in a forked child and return its exit status (0 = True)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            code = 0 if body() else 1
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.timeout(30)
def test_parent_that_never_captured_starts_no_thread_and_child_delivers(
    sink: Sink, make_client: MakeClient
) -> None:
    started_before = {t.ident for t in worker_threads()}
    client = make_client(flush_interval=30.0)

    def child() -> bool:
        for i in range(20):
            client.capture(Event("from_child", f"c{i}"))
        return client.flush(5.0) and client.stats.sent == 20

    assert _in_child(child) == 0
    assert {t.ident for t in worker_threads()} == started_before  # parent still idle
    assert client.stats.captured == 0
    assert [e["event"] for e in sink.delivered] == ["from_child"] * 20


@pytest.mark.timeout(30)
def test_child_of_a_busy_parent_gets_its_own_worker(sink: Sink, make_client: MakeClient) -> None:
    client = make_client(flush_interval=30.0)
    for i in range(5):
        client.capture(Event("from_parent", f"p{i}"))  # queued, not yet sent

    def child() -> bool:
        # Inherited queue is the parent's business: child starts empty.
        if client.stats.captured != 0:
            return False
        for i in range(7):
            client.capture(Event("from_child", f"c{i}"))
        ok = client.flush(5.0) and client.stats.sent == 7
        return ok and client.close(2.0)

    assert _in_child(child) == 0
    assert client.flush(5.0)
    names = sorted(e["event"] for e in sink.delivered)
    assert names == ["from_child"] * 7 + ["from_parent"] * 5  # nothing twice
    assert client.stats.sent == 5
