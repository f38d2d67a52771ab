"""``enable_exception_autocapture``: the interpreter's hooks, chained, as posthog-python's.

A thread that dies and a program that dies (in a subprocess) are captured as
posthog-python captures them, to the same local sink, and the hooks that were
installed before still run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from multica_db.analytics import ManualClock, Posthog
from tests.analytics.sink import Sink
from tests.analytics.test_compat import canonical, normalised
from tests.analytics.test_exceptions import warm_linecache


def die_in_a_thread(target: Callable[[], None]) -> None:
    thread = threading.Thread(target=target, name="worker")
    thread.start()
    thread.join()


def explode() -> None:
    raise ValueError("uncaught in a thread")


def recording_hook(seen: list[BaseException | None]) -> Callable[[Any], None]:
    def hook(args: Any) -> None:
        seen.append(args.exc_value)

    return hook


def test_a_thread_that_dies_is_captured_and_the_previous_hook_still_runs(
    sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[BaseException | None] = []
    previous = recording_hook(seen)
    monkeypatch.setattr(threading, "excepthook", previous)
    client = Posthog("phc", host=sink.url, clock=ManualClock(), enable_exception_autocapture=True)
    assert threading.excepthook is not previous
    die_in_a_thread(explode)
    client.flush()
    client.shutdown()
    assert threading.excepthook is previous  # put back
    assert [str(e) for e in seen] == ["uncaught in a thread"]
    (event,) = sink.delivered
    props = event["properties"]
    assert event["event"] == "$exception"
    assert props["$exception_level"] == "error"
    assert props["$exception_source"] == "python.threading_excepthook"
    assert props["$process_person_profile"] is False
    (entry,) = props["$exception_list"]
    assert entry["mechanism"]["type"] == "onuncaughtexception"
    assert entry["mechanism"]["handled"] is False
    assert entry["stacktrace"]["frames"][-1]["function"] == "explode"


def test_a_thread_that_dies_sends_what_posthog_python_sends(
    sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    posthog_module = pytest.importorskip("posthog")
    monkeypatch.setattr(threading, "excepthook", recording_hook([]))
    warm_linecache()
    events = []
    for make in (
        lambda: posthog_module.Posthog(
            "phc", host=sink.url, max_retries=0, enable_exception_autocapture=True
        ),
        lambda: Posthog(
            "phc", host=sink.url, clock=ManualClock(), enable_exception_autocapture=True
        ),
    ):
        client = make()
        die_in_a_thread(explode)
        client.flush()
        client.shutdown()
        events.append([canonical(normalised(e)) for e in sink.delivered])
        sink.state.requests.clear()
    theirs, ours = events
    assert len(ours) == 1
    assert ours == theirs


def test_an_exception_captured_by_hand_is_not_captured_again_when_it_escapes(
    sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", recording_hook(seen))
    client = Posthog("phc", host=sink.url, clock=ManualClock(), enable_exception_autocapture=True)

    def report_then_raise() -> None:
        try:
            explode()
        except ValueError as exc:
            client.capture_exception(exc, distinct_id="u")
            raise

    die_in_a_thread(report_then_raise)
    client.flush()
    client.shutdown()
    assert len(seen) == 1
    (event,) = sink.delivered
    assert event["distinct_id"] == "u"
    assert event["properties"]["$exception_level"] == "error"
    assert "$exception_source" not in event["properties"]


def test_a_hook_installed_on_top_stays_and_ours_only_passes_through(
    sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", recording_hook(seen))
    client = Posthog("phc", host=sink.url, clock=ManualClock(), enable_exception_autocapture=True)
    ours = threading.excepthook
    on_top: list[BaseException | None] = []

    def later_hook(args: Any) -> None:
        on_top.append(args.exc_value)
        ours(args)

    threading.excepthook = later_hook
    client.shutdown()
    assert threading.excepthook is later_hook  # not removed from under it
    die_in_a_thread(explode)
    assert len(on_top) == len(seen) == 1  # the chain still reaches the first hook
    assert client.stats.captured == 0  # a closed hook captures nothing
    assert sink.requests == []


def test_without_autocapture_no_hook_is_installed(sink: Sink) -> None:
    before = (sys.excepthook, threading.excepthook)
    client = Posthog("phc", host=sink.url, clock=ManualClock())
    assert (sys.excepthook, threading.excepthook) == before
    client.shutdown()


PROGRAM = """
import linecache
import sys

from {module} import Posthog


def previous(exc_type, exc, tb):
    posthog.flush()  # so the test need not depend on the exit deadline
    print("previous hook:", exc, file=sys.stderr)


def main():
    raise ValueError("uncaught in main")


sys.excepthook = previous
posthog = Posthog("phc", host=sys.argv[1], enable_exception_autocapture=True)
linecache.getlines(__file__)  # source lines for both libraries
main()
"""


def run_program(tmp_path: Path, sink: Sink, module: str) -> list[dict[str, Any]]:
    script = tmp_path / "program.py"
    script.write_text(PROGRAM.format(module=module))
    done = subprocess.run(
        [sys.executable, str(script), sink.url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    assert "previous hook: uncaught in main" in done.stderr
    events = [e for e in sink.delivered if e["event"] == "$exception"]
    sink.state.requests.clear()
    return events


def test_a_program_that_dies_is_captured_as_posthog_python_captures_it(
    sink: Sink, tmp_path: Path
) -> None:
    (ours,) = run_program(tmp_path, sink, "multica_db.analytics")
    props = ours["properties"]
    assert props["$exception_level"] == "fatal"
    assert props["$exception_source"] == "python.sys_excepthook"
    (entry,) = props["$exception_list"]
    assert entry["value"] == "uncaught in main"
    assert entry["mechanism"]["handled"] is False
    main_frame = entry["stacktrace"]["frames"][-1]
    assert main_frame["function"] == "main"
    assert main_frame["in_app"] is True  # under the program's working directory
    assert main_frame["context_line"] == '    raise ValueError("uncaught in main")'
    pytest.importorskip("posthog")
    (theirs,) = run_program(tmp_path, sink, "posthog")
    assert json.loads(canonical(normalised(ours))) == json.loads(canonical(normalised(theirs)))
