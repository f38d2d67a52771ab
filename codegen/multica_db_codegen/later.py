"""Work only the next run needs — cache writes, the next spare database — done after the answer.

A cold ``generate`` ends with writing its caches (the per-file analyses, the run's
output, the warm stamp) and creating the spare database the next build will take:
~0.1–0.2 s that the person waiting for the command does not need. The console
command (``cli.main``) asks for that work to be detached: once every generated
file is written and the outcome printed, the process forks, the parent exits with
the command's status, and the child does the work with its standard streams on
``/dev/null``. Every cache write is atomic (temporary file, then rename), so a run
started meanwhile sees the old state or the new one, never half of one — at worst
a miss.

In-process callers (tests, the typer command, a library user) never set the flag:
their tasks run immediately, in order, as plain function calls. Where ``os.fork``
does not exist the tasks run before the process exits.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

_tasks: list[Callable[[], None]] = []
_detach = False


def detach_when_done() -> None:
    """From now on, defer tasks until :func:`finish` (the console command's choice)."""
    global _detach
    _detach = True


def detached() -> bool:
    return _detach


def later(task: Callable[[], None]) -> None:
    """Run ``task`` now, or after the answer when detaching was asked for."""
    if _detach:
        _tasks.append(task)
    else:
        task()


def finish() -> None:
    """Run the deferred tasks: in a forked child where possible, so this process can exit.

    Returns in the parent at once (the child never returns: it exits when done).
    A failing task only costs what it would have cached.
    """
    global _detach
    _detach = False  # whatever runs next in this process runs its tasks itself
    tasks = _tasks[:]
    _tasks.clear()
    if not tasks:
        return
    fork = getattr(os, "fork", None)
    if fork is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        try:
            pid = fork()
        except OSError:
            pid = -1
        if pid > 0:
            return
        if pid == 0:
            try:
                os.setsid()  # a terminal's Ctrl-C after the command returned must not reach it
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                _run(tasks)
            finally:
                os._exit(0)
    _run(tasks)


def _run(tasks: list[Callable[[], None]]) -> None:
    for task in tasks:
        with contextlib.suppress(Exception):
            task()
