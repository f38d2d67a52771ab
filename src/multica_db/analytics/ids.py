"""Event uuids made on the caller's thread, for APIs that return the id at capture time.

posthog-python's ``capture`` returns the event's uuid, so the compatibility
client must know it before the worker sees the event. ``uuid.uuid4()`` costs
a system call per event; these are RFC 9562 version-7 uuids from a shared
counter instead (``next()`` on :func:`itertools.count` is atomic, so any
thread, or a signal handler, may call :func:`new_event_uuid` without a lock).
The random part is drawn again in a forked child, so parent and child never
hand out the same ids.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Final

_MASK48: Final = (1 << 48) - 1


class _Source:
    __slots__ = ("counter", "head", "mid", "ms")

    def __init__(self) -> None:
        seed = int.from_bytes(os.urandom(10), "big")
        self.mid = f"7{seed & 0xFFF:03x}-{0x8000 | ((seed >> 12) & 0x3FFF):04x}"
        self.counter = itertools.count((seed >> 26) & _MASK48)
        self.ms = -1
        self.head = ""


_source = _Source()


def new_event_uuid(timestamp: float | None = None) -> str:
    """A fresh version-7 uuid whose time part is ``timestamp`` (default: now).

    The text before the counter is cached per millisecond. Two threads may
    race on that cache; the worst outcome is an id whose time part is off by
    a millisecond, never a duplicate: the counter alone makes ids unique.
    """
    source = _source
    ms = int((time.time() if timestamp is None else timestamp) * 1000) & _MASK48
    if ms != source.ms:
        source.head = f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-{source.mid}-"
        source.ms = ms
    return f"{source.head}{next(source.counter) & _MASK48:012x}"


def _reseed() -> None:
    global _source
    _source = _Source()


os.register_at_fork(after_in_child=_reseed)
