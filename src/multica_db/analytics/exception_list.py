"""An exception -> the ``$exception_list`` of a PostHog ``$exception`` event.

This runs on the thread that calls ``capture_exception`` (often a request
handler inside an ``except`` block), so it is built to be cheap and bounded
whatever it is handed: at most :data:`MAX_EXCEPTIONS` entries per chain, at
most :data:`MAX_TRACEBACK_STEPS` traceback entries examined per call, at most
:data:`MAX_FRAMES` frames kept per exception (the outermost and the innermost
halves), every string clipped to a byte size, and a byte budget for the whole
list so the event stays far below the size at which the shipper would drop
it. It never reads a file: source context comes only from lines the
interpreter already holds in memory (:mod:`linecache`), e.g. because the
traceback was logged or printed. Any attribute an exception or a frame
refuses to give is replaced (``None``, ``"<broken repr>"``), and a failure of
the whole walk is the caller's to count.

The shape (entry and frame keys, mechanism, ``in_app``) is posthog-python 7's,
so PostHog's error tracking groups and shows these events as it does theirs.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, Final

#: posthog-python's bound on entries in one ``$exception_list``.
MAX_EXCEPTIONS: Final = 50
#: posthog-python's bound on exception-group members looked at in one call.
MAX_GROUP_INSPECTIONS: Final = 1_000
#: Traceback entries examined in one call, over all exceptions. A traceback
#: grows by one entry per re-raise of the same exception, so it is unbounded.
MAX_TRACEBACK_STEPS: Final = 5_000
#: Frames kept per exception: the first and the last half of those walked.
MAX_FRAMES: Final = 100
#: Bytes of UTF-8 per frame string and source line (posthog-python's limit for
#: source lines), and per exception message.
MAX_STRING_BYTES: Final = 1024
MAX_MESSAGE_BYTES: Final = 8192
#: Bytes of the whole list as JSON (strings charged as encoded, keys and
#: numbers by a fixed allowance); past it, context lines, then frames, then
#: further exceptions are left out.
MAX_TOTAL_BYTES: Final = 128 * 1024
#: Source lines before and after the line of a frame.
CONTEXT_LINES: Final = 5

_OWN_PACKAGE: Final = "multica_db.analytics"
_EXTERNAL: Final = re.compile(r"[\\/](?:dist|site)-packages[\\/]")
_BROKEN: Final = "<broken repr>"
#: JSON an entry and a frame carry besides their strings (keys, numbers, booleans).
_ENTRY_OVERHEAD: Final = 256
_FRAME_OVERHEAD: Final = 192


@dataclass(slots=True)
class Settings:
    """Client-wide choices that decide a frame's ``in_app``."""

    project_root: str | None = None
    in_app_modules: Sequence[str] | None = None


@dataclass(slots=True)
class _Budget:
    bytes_left: int = MAX_TOTAL_BYTES
    steps_left: int = MAX_TRACEBACK_STEPS
    group_inspections: int = 0
    seen: set[int] = field(default_factory=set)
    count: int = 0

    def take(self, size: int) -> bool:
        if size > self.bytes_left:
            return False
        self.bytes_left -= size
        return True


def exception_list(
    exc_type: object,
    exc_value: BaseException | None,
    tb: TracebackType | None,
    settings: Settings,
    *,
    synthetic: bool = False,
    mechanism: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The ``$exception_list`` for one exception and what it chains to.

    The caught exception comes first, each cause or context after the
    exception it explains (depth first, exception-group members after their
    group), as posthog-python orders them. ``synthetic=True`` (an exception
    that was never raised, so it has no traceback) takes the caller's stack
    instead, leaving out this package's own frames. ``mechanism`` overrides
    the root entry's (an uncaught exception is not ``handled``).
    """
    budget = _Budget()
    entries: list[dict[str, Any]] = []
    _walk(exc_type, exc_value, tb, None, None, settings, budget, entries, synthetic)
    if entries and mechanism:
        entries[0]["mechanism"].update(mechanism)
    return entries


def _walk(
    exc_type: object,
    exc_value: BaseException | None,
    tb: TracebackType | None,
    parent_id: int | None,
    source: str | None,
    settings: Settings,
    budget: _Budget,
    entries: list[dict[str, Any]],
    synthetic: bool = False,
) -> None:
    """Depth first: this exception, its cause or context, then its group's members.

    Recursive, as deep as the chain is long, which :data:`MAX_EXCEPTIONS`
    bounds; an exception seen before (a cycle) ends its branch.
    """
    if budget.count >= MAX_EXCEPTIONS:
        return
    if exc_value is not None:
        if id(exc_value) in budget.seen:
            return
        budget.seen.add(id(exc_value))
    exception_id = budget.count
    entry = _entry(
        exc_type, exc_value, tb, parent_id, exception_id, source, settings, budget, synthetic
    )
    if entry is _NO_ROOM:
        return
    entries.append(entry)
    budget.count += 1
    cause, relationship = _cause(exc_value)
    if cause is not None:
        _walk(
            type(cause),
            cause,
            _traceback(cause),
            exception_id,
            relationship,
            settings,
            budget,
            entries,
        )
    for member in _group_members(exc_value):
        if budget.count >= MAX_EXCEPTIONS or budget.group_inspections >= MAX_GROUP_INSPECTIONS:
            break
        budget.group_inspections += 1
        if isinstance(member, BaseException):
            _walk(
                type(member),
                member,
                _traceback(member),
                exception_id,
                "member",
                settings,
                budget,
                entries,
            )


_NO_ROOM: Final[dict[str, Any]] = {}


def _entry(
    exc_type: object,
    exc_value: BaseException | None,
    tb: TracebackType | None,
    parent_id: int | None,
    exception_id: int,
    source: str | None,
    settings: Settings,
    budget: _Budget,
    synthetic: bool,
) -> dict[str, Any]:
    value = _clip(_message(exc_value), MAX_MESSAGE_BYTES)
    type_name = _clip(_type_name(exc_type), MAX_STRING_BYTES)
    module = _clip(_type_module(exc_type), MAX_STRING_BYTES)
    errno = _errno(exc_value)
    size = _size(value) + _size(type_name) + _size(module) + _ENTRY_OVERHEAD
    if not budget.take(size + (_size(errno) if isinstance(errno, str) else 0)):
        return _NO_ROOM
    mechanism: dict[str, Any] = {"exception_id": exception_id}
    if errno is not None:
        mechanism["meta"] = {"errno": {"number": errno}}
    if parent_id is None:
        mechanism["type"] = "generic"
        mechanism["handled"] = True
    else:
        mechanism["parent_id"] = parent_id
        mechanism["type"] = "chained"
        mechanism["source"] = source
    mechanism["synthetic"] = synthetic
    if isinstance(exc_value, BaseExceptionGroup):
        mechanism["is_exception_group"] = True
    entry: dict[str, Any] = {"mechanism": mechanism, "module": module, "type": type_name}
    entry["value"] = value
    stack = _stack_of_caller(budget) if synthetic else _stack(tb, budget)
    frames = [f for f in (_frame(fr, line, settings, budget) for fr, line in stack) if f]
    if frames:
        entry["stacktrace"] = {"frames": frames, "type": "raw"}
    return entry


# -- exceptions ---------------------------------------------------------------


def _traceback(exc: BaseException) -> TracebackType | None:
    try:
        tb = exc.__traceback__
    except Exception:
        return None
    return tb if isinstance(tb, TracebackType) else None


def _cause(exc: BaseException | None) -> tuple[BaseException | None, str]:
    """What posthog-python follows: ``__cause__`` if context is suppressed, else ``__context__``."""
    try:
        if exc is not None and exc.__suppress_context__:
            cause, relationship = exc.__cause__, "cause"
        else:
            cause, relationship = getattr(exc, "__context__", None), "context"
    except Exception:
        return None, "context"
    return (cause if isinstance(cause, BaseException) else None), relationship


def _group_members(exc: BaseException | None) -> Sequence[object]:
    if not isinstance(exc, BaseExceptionGroup):
        return ()
    try:
        members = exc.exceptions
        return members if isinstance(members, tuple) else ()
    except Exception:
        return ()


def _message(exc: BaseException | None) -> str:
    """posthog-python's message: ``.message``, else ``.detail``, else ``str(exc)``."""
    try:
        message: object = getattr(exc, "message", "") or getattr(exc, "detail", "") or exc
    except Exception:
        message = exc
    try:
        text = str(message)
        if isinstance(text, str):
            return text
    except Exception:
        pass
    try:
        text = repr(message)
        return text if isinstance(text, str) else _BROKEN
    except Exception:
        return _BROKEN


def _type_name(exc_type: object) -> str | None:
    for attribute in ("__qualname__", "__name__"):
        try:
            name = getattr(exc_type, attribute, None)
        except Exception:
            continue
        if isinstance(name, str) and name:
            return name
    return None


def _type_module(exc_type: object) -> str | None:
    try:
        module = getattr(exc_type, "__module__", None)
    except Exception:
        return None
    if not isinstance(module, str) or module in ("builtins", "__builtins__"):
        return None
    return module


def _errno(exc: BaseException | None) -> int | str | None:
    try:
        errno = getattr(exc, "errno", None)
    except Exception:
        return None
    if isinstance(errno, bool) or not isinstance(errno, int | str):
        return None  # only what JSON carries as is; posthog-python ships any value
    return errno if isinstance(errno, int) else _clip(errno, MAX_STRING_BYTES)


# -- frames -------------------------------------------------------------------


def _stack(tb: TracebackType | None, budget: _Budget) -> list[tuple[FrameType, int | None]]:
    """The visible frames of a traceback, outermost first, bounded by :data:`MAX_FRAMES`."""

    def walk() -> Iterator[tuple[FrameType, int | None]]:
        entry = tb
        while entry is not None and budget.steps_left > 0:
            budget.steps_left -= 1
            yield entry.tb_frame, entry.tb_lineno
            entry = entry.tb_next

    return _keep_ends(walk())


def _stack_of_caller(budget: _Budget) -> list[tuple[FrameType, int | None]]:
    """The calling thread's stack, outermost first, without this package's frames on top."""
    innermost_first: list[tuple[FrameType, int | None]] = []
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and budget.steps_left > 0:
        budget.steps_left -= 1
        if innermost_first or not _own(frame):
            innermost_first.append((frame, frame.f_lineno))
        frame = frame.f_back
    return _keep_ends(reversed(innermost_first))


def _keep_ends(
    frames: Iterator[tuple[FrameType, int | None]],
) -> list[tuple[FrameType, int | None]]:
    half = MAX_FRAMES // 2
    head: list[tuple[FrameType, int | None]] = []
    tail: deque[tuple[FrameType, int | None]] = deque(maxlen=MAX_FRAMES - half)
    for frame, lineno in frames:
        if _hidden(frame):
            continue
        if len(head) < half:
            head.append((frame, lineno))
        else:
            tail.append((frame, lineno))
    return head + list(tail)


def _own(frame: FrameType) -> bool:
    module = _frame_module(frame)
    return module is not None and (module == _OWN_PACKAGE or module.startswith(_OWN_PACKAGE + "."))


def _hidden(frame: FrameType) -> bool:
    """posthog-python hides sentry_sdk's frames and those that ask to be hidden."""
    module = _frame_module(frame)
    if module is not None and module.startswith("sentry_sdk."):
        return True
    try:
        local_names = frame.f_locals
        return bool(local_names.get("__traceback_hide__") or local_names.get("__tracebackhide__"))
    except Exception:
        return False


def _frame_module(frame: FrameType) -> str | None:
    try:
        module = frame.f_globals.get("__name__")
    except Exception:
        return None
    return module if isinstance(module, str) else None


def _frame(
    frame: FrameType, lineno: int | None, settings: Settings, budget: _Budget
) -> dict[str, Any] | None:
    code = frame.f_code
    path = code.co_filename if isinstance(code.co_filename, str) else None
    module = _frame_module(frame)
    function = _clip(code.co_name or "<unknown>", MAX_STRING_BYTES)
    filename = _clip(_filename_for_module(module, path), MAX_STRING_BYTES)
    abs_path = _clip(_abs_path(path), MAX_STRING_BYTES)
    module = _clip(module, MAX_STRING_BYTES)
    size = _size(function) + _size(filename) + _size(abs_path) + _size(module)
    if not budget.take(size + _FRAME_OVERHEAD):
        return None
    out: dict[str, Any] = {
        "platform": "python",
        "filename": filename or None,
        "abs_path": abs_path,
        "function": function,
        "module": module,
        "lineno": lineno,
    }
    pre, line, post = _context(path, lineno, budget)
    out["pre_context"], out["context_line"], out["post_context"] = pre, line, post
    in_app = _in_app(module, abs_path, settings)
    if in_app is not None:
        out["in_app"] = in_app
    return out


def _abs_path(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return os.path.abspath(path)  # no I/O for an absolute path; getcwd otherwise
    except Exception:
        return path


def _filename_for_module(module: str | None, path: str | None) -> str | None:
    """posthog-python's ``filename``: the path from the top package's parent directory."""
    if not path or not module:
        return path
    try:
        if path.endswith(".pyc"):
            path = path[:-1]
        top = module.split(".", 1)[0]
        if top == module:
            return os.path.basename(path)
        top_file = getattr(sys.modules[top], "__file__", None)
        if not top_file:
            return path
        packages_dir = top_file.rsplit(os.sep, 2)[0]
        return path.split(packages_dir, 1)[-1].lstrip(os.sep)
    except Exception:
        return path


def _context(
    path: str | None, lineno: int | None, budget: _Budget
) -> tuple[list[str], str | None, list[str]]:
    """Source lines around ``lineno``, only if :mod:`linecache` already holds them.

    Reading the file here would be I/O on the caller's thread; a traceback
    that was logged or printed has its files in the cache already.
    """
    nothing: tuple[list[str], str | None, list[str]] = ([], None, [])
    if not path or not isinstance(lineno, int) or lineno < 1:
        return nothing
    try:
        cached = linecache.cache.get(path)
        if cached is None or len(cached) != 4:  # absent, or lazy (not read yet)
            return nothing
        lines = cached[2]
        index = lineno - 1
        if index >= len(lines):
            return nothing
        start = max(0, index - CONTEXT_LINES)
        end = min(index + 1 + CONTEXT_LINES, len(lines))
        clipped = [_clip(line.strip("\r\n"), MAX_STRING_BYTES) or "" for line in lines[start:end]]
    except Exception:
        return nothing
    if not budget.take(sum(_size(line) + 1 for line in clipped)):
        return nothing
    middle = index - start
    return clipped[:middle], clipped[middle], clipped[middle + 1 :]


def _in_app(module: str | None, abs_path: str | None, settings: Settings) -> bool | None:
    """posthog-python's rule; ``None`` (no ``in_app`` key) when it decides nothing."""
    if module is not None and settings.in_app_modules:
        for prefix in settings.in_app_modules:
            if module == prefix or module.startswith(f"{prefix}."):
                return True
    if abs_path is None:
        return None
    if _EXTERNAL.search(abs_path):
        return False
    root = settings.project_root
    if root is not None and abs_path.startswith(root):
        return True
    return None


# -- strings ------------------------------------------------------------------


def _clip(text: str | None, limit: int) -> str | None:
    """Text that is valid Unicode and at most ``limit`` UTF-8 bytes.

    A lone surrogate (a file name decoded with ``surrogateescape``) becomes
    its ``\\udcXX`` escape, since the shipper drops any event that carries
    one; a longer text is cut at a character boundary and ends in ``...``,
    as posthog-python cuts source lines.
    """
    if text is None:
        return None
    if text.isascii() and len(text) <= limit:  # isascii is O(1)
        return text
    cut = len(text) > limit  # every character is at least one byte
    data = text[: limit + 1].encode("utf-8", "backslashreplace")
    if len(data) <= limit and not cut:
        return data.decode("utf-8")
    return data[: limit - 3].decode("utf-8", "ignore") + "..."


def _size(text: str | None) -> int:
    """Bytes charged to the budget: the string as JSON will carry it, quotes and escapes included.

    Exact rather than estimated (a message of control characters is six
    times its length in JSON), and cheap: every string here is clipped already.
    """
    if text is None:
        return 4
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text) + 2
    encoded = json.dumps(text, ensure_ascii=False)
    return len(encoded) if encoded.isascii() else len(encoded.encode("utf-8"))
