"""flush/close deadlines, shutdown at exit, fork safety, garbage collection."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable

import pytest

from multica_db.analytics import Event, ManualClock, PostHogClient, RetryPolicy
from multica_db.analytics.client import THREAD_NAME
from tests.analytics.conftest import MakeClient
from tests.analytics.sink import Background, Sink, refused_url


def ev(i: int) -> Event:
    return Event("test_event", f"user-{i}", {"i": i})


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


# -- deadlines ----------------------------------------------------------------

SLOW_RETRIES = RetryPolicy(max_tries=50, base=5.0, cap=5.0, max_retry_after=60.0)


@pytest.mark.parametrize("backend", ["hang", "refused", "500", "429"])
def test_flush_and_close_return_at_their_deadline(
    sink: Sink, make_client: MakeClient, backend: str
) -> None:
    host = refused_url() if backend == "refused" else sink.url
    if backend != "refused":
        sink.set(backend)  # type: ignore[arg-type]
    sink.state.retry_after = "30"
    clock = ManualClock()
    client = make_client(host=host, request_timeout=10.0, retry=SLOW_RETRIES, clock=clock)
    for i in range(100):
        client.capture(ev(i))

    flush = Background(lambda: client.flush(0.4))
    clock.parked(thread=flush.thread)
    clock.advance(0.39)
    clock.parked(thread=flush.thread)  # not yet: the deadline has not passed
    clock.advance(0.02)
    assert flush.result() is False

    close = Background(lambda: client.close(0.5))
    clock.parked(thread=close.thread)
    clock.advance(0.51)
    assert close.result() is False
    stats = client.stats
    assert stats.pending == 0
    assert stats.captured == 100
    # Stuck in a request, or owed a retry the deadline does not leave time for:
    # either way "not sent in time", which is a drop, not a failure.
    assert stats.dropped_by_reason == {"deadline": 100}
    assert stats.failed == 0


def test_close_sends_everything_without_waiting_for_its_deadline(
    sink: Sink, make_client: MakeClient
) -> None:
    clock = ManualClock()  # never advanced: close may not wait for the deadline
    client = make_client(flush_interval=30.0, clock=clock)
    for i in range(500):
        client.capture(ev(i))
    assert Background(lambda: client.close(3.0)).result() is True
    assert len(sink.delivered) == 500
    assert client.stats.sent == 500


def test_close_with_a_stuck_backend_counts_the_rest_as_dropped(
    sink: Sink, make_client: MakeClient
) -> None:
    sink.set("hang", "ok", "ok", "ok")  # three batches go through, the fourth hangs
    clock = ManualClock()
    client = make_client(
        batch_size=10, max_batch_size=10, flush_interval=30.0, queue_size=1000, clock=clock
    )
    for i in range(100):
        client.capture(ev(i))
    assert sink.wait_for_requests(4)
    close = Background(lambda: client.close(0.8))
    clock.parked(thread=close.thread)
    clock.advance(0.81)
    assert close.result() is False
    stats = client.stats
    assert stats.sent == 30
    assert stats.dropped_by_reason == {"deadline": 70}
    assert stats.pending == 0


def test_late_worker_report_does_not_double_count(sink: Sink, make_client: MakeClient) -> None:
    sink.set("gate")  # answered 200, but only once the test opens the gate
    clock = ManualClock()
    client = make_client(batch_size=5, request_timeout=60.0, clock=clock)
    for i in range(5):
        client.capture(ev(i))
    assert sink.wait_for_requests(1)  # the batch is now in flight
    thread = client._thread
    assert thread is not None
    close = Background(lambda: client.close(0.1))
    clock.parked(thread=close.thread)
    clock.advance(0.2)
    assert close.result() is False
    after_close = client.stats
    sink.state.gate.set()  # the worker's request now succeeds, after the deadline
    thread.join(30)
    assert not thread.is_alive()
    assert client.stats == after_close
    assert after_close.dropped_by_reason == {"deadline": 5}
    assert after_close.pending == 0


def test_capture_after_close_is_refused_and_counted(make_client: MakeClient) -> None:
    clock = ManualClock()  # never advanced: nothing here may wait for a deadline
    client = make_client(clock=clock)
    client.capture(ev(0))
    assert Background(lambda: client.close(1.0)).result() is True
    assert client.capture(ev(1)) is False
    assert client.stats.dropped_by_reason == {"closed": 1}
    assert client.stats.captured == 2
    assert Background(lambda: client.close(5.0)).result() is True  # idempotent, at once
    assert Background(lambda: client.flush(5.0)).result() is True


def test_closing_an_unused_client_starts_nothing_and_waits_for_nothing(
    make_client: MakeClient,
) -> None:
    before = {t.ident for t in worker_threads()}
    client = make_client(clock=ManualClock())
    assert Background(lambda: client.close(5.0)).result() is True
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
    import atexit, json, sys

    # Registered before the client's own exit hook, so it runs after it.
    atexit.register(lambda: print("stats", json.dumps(dict(client.stats.dropped_by_reason),
                                                      sort_keys=True), client.stats.sent))
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


def run_exit_script(host: str, n: int, exit_timeout: float = 0.5) -> str:
    """Run the script; its last line: the ledger after the exit hook closed the client.

    The subprocess timeout only bounds a hang (the script's requests would
    take 30 s each and its retries minutes): the exit hook must cut them short.
    """
    proc = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, host, str(n), str(exit_timeout)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 0, proc.stderr
    assert "captured" in proc.stdout
    return proc.stdout.strip().splitlines()[-1]


def test_atexit_flushes_pending_events(sink: Sink) -> None:
    # Generous deadline: it is only used up if the backend misbehaves.
    assert run_exit_script(sink.url, 10, exit_timeout=5.0) == "stats {} 10"
    assert len(sink.delivered) == 10


@pytest.mark.parametrize("backend", ["hang", "refused"])
def test_exit_never_hangs_on_a_dead_backend(sink: Sink, backend: str) -> None:
    if backend == "hang":
        sink.set("hang")
    host = refused_url() if backend == "refused" else sink.url
    # Everything still queued or owed a retry at the exit deadline is booked.
    assert run_exit_script(host, 50) == 'stats {"deadline": 50} 0'


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
