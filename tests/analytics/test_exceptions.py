"""``Posthog.capture_exception``: posthog-python's ``$exception`` events, bounded.

The same calls go through posthog-python and through ours to one local sink and
the events are compared, frames and source lines included. The rest checks
what posthog-python does not promise: the walk is bounded whatever the
exception, reads no file, and never raises.
"""

from __future__ import annotations

import json
import linecache
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from multica_db.analytics import ManualClock, Posthog
from multica_db.analytics.exception_list import (
    MAX_EXCEPTIONS,
    MAX_FRAMES,
    MAX_MESSAGE_BYTES,
    MAX_STRING_BYTES,
    MAX_TOTAL_BYTES,
)
from tests.analytics.sink import Sink
from tests.analytics.test_compat import canonical, normalised


@pytest.fixture
def ours(sink: Sink) -> Iterator[Posthog]:
    client = Posthog("phc", host=sink.url, clock=ManualClock())
    yield client
    client.shutdown()


def delivered(sink: Sink, client: Posthog) -> list[dict[str, Any]]:
    client.flush()
    return [e for e in sink.delivered if e["event"] == "$exception"]


def exception_list(event: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = event["properties"]["$exception_list"]
    return result


def frames(entry: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = entry.get("stacktrace", {}).get("frames", [])
    return result


# -- the same events as posthog-python -------------------------------------------


def report(client: Any, exception: object = None, **options: Any) -> Any:
    """Both libraries capture from this line, so synthetic stacks end on the same frame."""
    return client.capture_exception(exception, **options)


def fail(message: str) -> None:
    raise ValueError(message)


def hidden_then_fail() -> None:
    __tracebackhide__ = True  # posthog-python leaves such frames out
    fail("from a hidden frame")


class WithMessage(Exception):
    message = "the message attribute wins over str()"


def scenarios(client: Any) -> list[object]:
    """Calls a service makes in its ``except`` blocks, in posthog-python's shapes."""
    returned: list[object] = []
    try:
        try:
            fail("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as exc:
        returned.append(report(client, exc, distinct_id="u1", properties={"route": "/x"}))
    try:
        try:
            fail("first")
        except ValueError:
            raise KeyError("during handling") from None
    except KeyError as exc:
        returned.append(report(client, exc, distinct_id="u1"))
    try:
        try:
            fail("context")
        except ValueError:
            empty: dict[str, int] = {}
            empty["missing"]  # an implicit __context__
    except KeyError:
        returned.append(report(client))  # the exception being handled
        returned.append(report(client, sys.exc_info(), distinct_id="u2", groups={"org": "o"}))
    returned.append(report(client, LookupError("never raised"), distinct_id="u1"))
    try:
        open("/nonexistent/multica-db-test")  # noqa: SIM115
    except OSError as exc:
        returned.append(report(client, exc, distinct_id="u1"))
    try:
        hidden_then_fail()
    except ValueError as exc:
        returned.append(report(client, exc, distinct_id="u1"))
    try:
        raise WithMessage("str form")
    except WithMessage as exc:
        returned.append(report(client, exc, distinct_id="u1"))
        returned.append(report(client, exc, distinct_id="u1"))  # already captured: None
    try:
        try:
            fail("member cause")
        except ValueError as cause:
            raise ExceptionGroup("group", [TypeError("a"), KeyError("b")]) from cause
    except ExceptionGroup as exc:
        returned.append(
            report(client, exc, distinct_id="u1", properties={"$exception_level": "warning"})
        )
    returned.append(report(client))  # nothing is being handled: None
    returned.append(report(client, 5))  # not an exception: None
    client.flush()
    return returned


def warm_linecache() -> None:
    """posthog-python reads source files; ours only uses lines already in memory."""
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            linecache.getlines(path)


@pytest.mark.filterwarnings("ignore:Reserved exception properties:DeprecationWarning")
def test_capture_exception_sends_what_posthog_python_sends(sink: Sink) -> None:
    posthog_module = pytest.importorskip("posthog")
    warm_linecache()
    theirs_client = posthog_module.Posthog("phc", host=sink.url, max_retries=0)
    ours_client = Posthog("phc", host=sink.url, clock=ManualClock())
    returned: dict[str, list[object]] = {}
    events: dict[str, list[dict[str, Any]]] = {}
    for name, client in (("theirs", theirs_client), ("ours", ours_client)):
        returned[name] = scenarios(client)
        events[name] = sink.delivered
        sink.state.requests.clear()
        client.shutdown()
    assert [r is None for r in returned["ours"]] == [r is None for r in returned["theirs"]]
    # The second capture of one exception, no exception, not an exception: None.
    assert [r is None for r in returned["ours"]][-5:] == [False, True, False, True, True]
    theirs = [canonical(normalised(e)) for e in events["theirs"]]
    ours = [canonical(normalised(e)) for e in events["ours"]]
    assert len(ours) == 9
    assert ours == theirs
    by_uuid = {e["uuid"]: e for e in events["ours"]}
    first = exception_list(by_uuid[returned["ours"][0]])
    assert [(e["type"], e["value"]) for e in first] == [
        ("RuntimeError", "outer"),
        ("ValueError", "inner"),
    ]
    assert frames(first[1])[-1]["context_line"] == "    raise ValueError(message)"
    assert first[1]["mechanism"]["source"] == "cause"


def test_the_exception_event_has_posthog_pythons_shape(sink: Sink, ours: Posthog) -> None:
    try:
        fail("shape")
    except ValueError as exc:
        returned = ours.capture_exception(exc, distinct_id="u1", properties={"route": "/x"})
    (event,) = delivered(sink, ours)
    assert event["uuid"] == returned
    assert event["distinct_id"] == "u1"
    props = event["properties"]
    assert props["$exception_level"] == "error"
    assert props["route"] == "/x"
    assert props["$is_server"] is True and props["$geoip_disable"] is True
    (entry,) = props["$exception_list"]
    assert entry["type"] == "ValueError" and entry["value"] == "shape"
    assert entry["module"] is None  # builtins
    assert entry["mechanism"] == {
        "exception_id": 0,
        "type": "generic",
        "handled": True,
        "synthetic": False,
    }
    assert entry["stacktrace"]["type"] == "raw"
    inner, outer = frames(entry)[-1], frames(entry)[-2]
    assert (inner["function"], outer["function"]) == (
        "fail",
        "test_the_exception_event_has_posthog_pythons_shape",
    )
    assert inner["module"] == __name__
    assert inner["abs_path"] == str(Path(__file__).resolve())
    assert inner["filename"] == "tests/analytics/test_exceptions.py"
    assert inner["in_app"] is True  # under the working directory, the project root
    assert inner["platform"] == "python"
    assert isinstance(inner["lineno"], int)


def test_personless_without_a_distinct_id(sink: Sink, ours: Posthog) -> None:
    try:
        fail("anonymous")
    except ValueError:
        assert ours.capture_exception() is not None
    (event,) = delivered(sink, ours)
    assert event["properties"]["$process_person_profile"] is False


def test_in_app_follows_project_root_and_in_app_modules(sink: Sink) -> None:
    client = Posthog(
        "phc",
        host=sink.url,
        clock=ManualClock(),
        project_root="/nowhere",
        in_app_modules=["_pytest.python"],
    )
    client.capture_exception(LookupError("never raised"), distinct_id="u")
    (event,) = delivered(sink, client)
    client.shutdown()
    by_module = {f["module"]: f for f in frames(exception_list(event)[0])}
    assert by_module["_pytest.python"]["in_app"] is True  # named, though in site-packages
    assert by_module["_pytest.runner"]["in_app"] is False  # site-packages
    assert "in_app" not in by_module[__name__]  # outside the project root: undecided
    assert not any(m.startswith("multica_db.analytics") for m in by_module)


# -- bounded, and no file read on the caller's thread ---------------------------


def recurse(depth: int) -> None:
    recurse(depth + 1)


def test_a_recursion_error_keeps_the_outermost_and_innermost_frames(
    sink: Sink, ours: Posthog
) -> None:
    try:
        recurse(0)
    except RecursionError as exc:
        assert ours.capture_exception(exc, distinct_id="u") is not None
    (event,) = delivered(sink, ours)
    kept = frames(exception_list(event)[0])
    assert len(kept) == MAX_FRAMES
    assert kept[0]["function"] == "test_a_recursion_error_keeps_the_outermost_and_innermost_frames"
    assert kept[-1]["function"] == "recurse"


def test_a_traceback_grown_by_re_raising_is_walked_only_so_far(sink: Sink, ours: Posthog) -> None:
    error = ValueError("re-raised")
    for _ in range(50_000):  # every raise of the same exception adds a traceback entry
        try:
            raise error
        except ValueError:
            pass
    assert ours.capture_exception(error, distinct_id="u") is not None
    (event,) = delivered(sink, ours)
    assert len(frames(exception_list(event)[0])) == MAX_FRAMES


def test_huge_messages_and_long_chains_stay_within_the_budget(sink: Sink, ours: Posthog) -> None:
    error: BaseException = ValueError("x" * 10_000_000)
    for n in range(500):
        wrapper = RuntimeError(f"{n} " + "é" * 20_000)
        wrapper.__cause__ = error
        wrapper.__suppress_context__ = True
        error = wrapper
    assert ours.capture_exception(error, distinct_id="u") is not None
    (event,) = delivered(sink, ours)
    entries = exception_list(event)
    assert 1 < len(entries) <= MAX_EXCEPTIONS
    assert all(len(e["value"].encode()) <= MAX_MESSAGE_BYTES for e in entries)
    assert entries[0]["value"].endswith("...")
    assert len(json.dumps(entries, ensure_ascii=False).encode()) <= MAX_TOTAL_BYTES
    assert [e["mechanism"]["exception_id"] for e in entries] == list(range(len(entries)))
    assert all(e["mechanism"]["parent_id"] == i for i, e in enumerate(entries[1:]))


def test_control_characters_are_charged_as_json_carries_them(sink: Sink, ours: Posthog) -> None:
    error: BaseException = OSError("\x00" * 8_000)
    for _ in range(100):
        wrapper = OSError("\x01" * 8_000)
        wrapper.errno = "\x02" * 2_000  # type: ignore[assignment]
        wrapper.__context__ = error
        error = wrapper
    assert ours.capture_exception(error, distinct_id="u") is not None
    (event,) = delivered(sink, ours)
    assert len(json.dumps(exception_list(event), ensure_ascii=False)) <= MAX_TOTAL_BYTES


def test_a_cycle_of_contexts_is_walked_once(sink: Sink, ours: Posthog) -> None:
    first, second = ValueError("a"), KeyError("b")
    first.__context__ = second
    second.__context__ = first
    assert ours.capture_exception(first, distinct_id="u") is not None
    (event,) = delivered(sink, ours)
    assert [e["type"] for e in exception_list(event)] == ["ValueError", "KeyError"]


def test_a_huge_exception_group_is_cut_at_the_entry_bound(sink: Sink, ours: Posthog) -> None:
    group = ExceptionGroup("many", [ValueError(str(n)) for n in range(5_000)])
    assert ours.capture_exception(group, distinct_id="u") is not None
    (event,) = delivered(sink, ours)
    entries = exception_list(event)
    assert len(entries) == MAX_EXCEPTIONS
    assert entries[0]["mechanism"]["is_exception_group"] is True
    assert {e["mechanism"]["source"] for e in entries[1:]} == {"member"}


def test_lone_surrogates_are_escaped_not_fatal_to_the_event(sink: Sink, ours: Posthog) -> None:
    name = b"/tmp/caf\xe9".decode("utf-8", "surrogateescape")
    assert ours.capture_exception(FileNotFoundError(2, "gone", name), distinct_id="u")
    (event,) = delivered(sink, ours)
    (entry,) = exception_list(event)
    assert "caf\\udce9" in entry["value"]
    assert entry["mechanism"]["meta"] == {"errno": {"number": 2}}


def test_source_lines_come_only_from_memory(sink: Sink, ours: Posthog, tmp_path: Path) -> None:
    source = tmp_path / "never_read.py"
    source.write_text("def explode():\n    raise ValueError('from a file')\n")
    path = str(source)
    namespace: dict[str, Any] = {"__name__": "never_read"}
    exec(compile(source.read_text(), path, "exec"), namespace)
    linecache.checkcache(path)
    linecache.cache.pop(path, None)
    captured = []
    for warm in (False, True):
        if warm:
            linecache.getlines(path)
        try:
            namespace["explode"]()
        except ValueError as exc:
            captured.append(ours.capture_exception(exc, distinct_id="u"))
        if not warm:
            assert path not in linecache.cache  # the capture did not read the file
    cold, warm_event = delivered(sink, ours)
    assert frames(exception_list(cold)[0])[-1]["context_line"] is None
    assert frames(exception_list(cold)[0])[-1]["pre_context"] == []
    last = frames(exception_list(warm_event)[0])[-1]
    assert last["context_line"] == "    raise ValueError('from a file')"
    assert last["pre_context"] == ["def explode():"]


def test_long_source_lines_are_clipped(sink: Sink, ours: Posthog, tmp_path: Path) -> None:
    source = tmp_path / "long_line.py"
    source.write_text("def explode():\n    raise ValueError('" + "y" * 5_000 + "')\n")
    namespace: dict[str, Any] = {"__name__": "long_line"}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    linecache.getlines(str(source))
    try:
        namespace["explode"]()
    except ValueError as exc:
        ours.capture_exception(exc, distinct_id="u")
    (event,) = delivered(sink, ours)
    line = frames(exception_list(event)[0])[-1]["context_line"]
    assert len(line.encode()) == MAX_STRING_BYTES and line.endswith("...")


# -- never raises ---------------------------------------------------------------


class BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class NotAStr(Exception):
    def __str__(self) -> Any:
        return 42


class Meta(type):
    def __getattribute__(cls, name: str) -> Any:
        if name in ("__qualname__", "__name__", "__module__"):
            raise RuntimeError("no name")
        return super().__getattribute__(name)


class Nameless(Exception, metaclass=Meta):
    pass


class Touchy(Exception):
    def __getattribute__(self, name: str) -> Any:
        if name.startswith("__") and not name.startswith("__multica"):
            return super().__getattribute__(name)
        raise RuntimeError(f"no {name}")


class Slotted(Exception):
    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise TypeError("read-only")


class OddErrno(Exception):
    errno = object()


@pytest.mark.parametrize(
    "exception",
    [BrokenStr(), NotAStr(), Nameless("x"), Touchy("t"), Slotted("s"), OddErrno("e")],
    ids=["broken-str", "not-a-str", "nameless", "touchy", "slotted", "odd-errno"],
)
def test_weird_exceptions_are_captured_anyway(
    sink: Sink, ours: Posthog, exception: BaseException
) -> None:
    try:
        raise exception
    except BaseException as exc:
        assert ours.capture_exception(exc, distinct_id="u") is not None
    (event,) = delivered(sink, ours)
    (entry,) = exception_list(event)
    assert isinstance(entry["value"], str)
    assert frames(entry)
    assert ours.stats.capture_errors == 0


def test_broken_str_reads_as_posthog_python_reads_it(sink: Sink, ours: Posthog) -> None:
    ours.capture_exception(BrokenStr(), distinct_id="u")
    (event,) = delivered(sink, ours)
    assert exception_list(event)[0]["value"] == "<broken repr>"


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.capture_exception(ValueError("x"), properties=5),
        lambda p: p.capture_exception((ValueError, "not an exception", None)),
        lambda p: p.capture_exception(("too", "short")),
        lambda p: p.capture_exception("a string"),
    ],
)
def test_unusable_arguments_are_counted_and_return_none(
    sink: Sink, ours: Posthog, call: Callable[[Posthog], object]
) -> None:
    assert call(ours) is None
    assert ours.stats.capture_errors == 1
    assert ours.capture("after", distinct_id="u") is not None
    ours.flush()
    assert [e["event"] for e in sink.delivered] == ["after"]


def test_debug_mode_still_never_raises(sink: Sink) -> None:
    """posthog-python re-raises in debug mode; here the refusal is logged and counted."""
    client = Posthog("phc", host=sink.url, clock=ManualClock(), debug=True)
    try:
        assert client.capture("e", distinct_id="u", properties=[1, 2]) is None  # type: ignore[arg-type]
        assert client.capture_exception(ValueError("x"), properties=5) is None  # type: ignore[arg-type]
        assert client.stats.capture_errors == 2
    finally:
        client.shutdown()
    posthog_module = pytest.importorskip("posthog")
    theirs = posthog_module.Posthog("phc", host=sink.url, debug=True, send=False)
    try:
        with pytest.raises(TypeError):
            theirs.capture("e", distinct_id="u", properties=[1, 2])
    finally:
        theirs.shutdown()


def test_disabled_captures_no_exception(sink: Sink) -> None:
    client = Posthog("phc", host=sink.url, clock=ManualClock(), disabled=True)
    error = ValueError("x")
    assert client.capture_exception(error) is None
    client.disabled = False
    assert client.capture_exception(error, distinct_id="u") is not None  # not marked before
    assert len(delivered(sink, client)) == 1
    client.shutdown()
