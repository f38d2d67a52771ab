"""Exception autocapture: the interpreter's hooks for uncaught exceptions.

posthog-python's ``enable_exception_autocapture=True`` replaces
``sys.excepthook`` (an exception that ends the program) and
``threading.excepthook`` (one that ends a thread) with hooks that capture the
exception and then call the hooks they replaced, so the traceback is still
printed and any hook installed before still runs. :class:`ExceptionHooks` does
the same for the compatible client. The capture is the client's usual
non-blocking append; the program's exit then ships it through the client's
bounded ``atexit`` close.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Final

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
#: ``capture(exc_info, level, source)``; must not raise (it is guarded anyway).
Capture = Callable[[ExcInfo, str, str], object]

SYS_SOURCE: Final = "python.sys_excepthook"
THREAD_SOURCE: Final = "python.threading_excepthook"


class ExceptionHooks:
    """Installed on construction; :meth:`close` puts the previous hooks back.

    If another hook was installed on top of ours meanwhile, ours stays in the
    chain (removing it would drop the later one) but only passes through.
    """

    def __init__(self, capture: Capture) -> None:
        self._capture = capture
        self._closed = False
        self._previous_sys = sys.excepthook
        self._previous_thread = threading.excepthook
        # The bound methods, kept, so close() can tell whether they are still on top.
        self._sys_hook = self._on_uncaught
        self._thread_hook = self._on_thread_uncaught
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook

    def close(self) -> None:
        self._closed = True
        if sys.excepthook is self._sys_hook:
            sys.excepthook = self._previous_sys
        if threading.excepthook is self._thread_hook:
            threading.excepthook = self._previous_thread

    def _on_uncaught(
        self,
        exc_type: type[BaseException],
        exc_value: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if not self._closed:
            self._guarded((exc_type, exc_value, tb), "fatal", SYS_SOURCE)
        self._previous_sys(exc_type, exc_value, tb)

    def _on_thread_uncaught(self, args: threading.ExceptHookArgs) -> None:
        if not self._closed and args.exc_value is not None:
            self._guarded(
                (args.exc_type, args.exc_value, args.exc_traceback), "error", THREAD_SOURCE
            )
        self._previous_thread(args)

    def _guarded(self, exc_info: ExcInfo, level: str, source: str) -> None:
        # The previous hook must run whatever happens here.
        with contextlib.suppress(Exception):
            self._capture(exc_info, level, source)
