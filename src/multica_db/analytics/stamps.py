"""Wire timestamps and event uuids, made cheaply on the worker thread.

Both are produced per event for every batch, so they are the hot path of the
worker: formatting is cached per second (timestamps) and per millisecond
(uuids), and uuids come from a counter instead of a syscall per event.
"""

from __future__ import annotations

import math
import os
import time
from typing import Final

_MASK48: Final = (1 << 48) - 1


class Stamper:
    """ISO-8601 UTC timestamps and RFC 9562 version-7 uuids.

    The uuid layout is ``unix-ms (48 bits) | 7 | 12 bits | variant | 62 bits``.
    The 12 bits and the top 14 of the 62 are random per stamper; the low 48
    are a counter started at a random offset (RFC 9562 section 6.2 allows a
    counter in the random field). Ids are therefore time-ordered, unique
    within a stamper, and random across stampers; a forked child gets a new
    worker and so a new stamper and new random bits.

    Uuids are stamped when a batch is first serialised, so every retry of that
    batch carries the same ids and PostHog can de-duplicate a batch whose
    acknowledgement was lost.
    """

    __slots__ = ("_counter", "_mid", "_ms", "_prefix", "_second", "_uuid_head")

    def __init__(self) -> None:
        seed = int.from_bytes(os.urandom(10), "big")
        rand_a = seed & 0xFFF
        rand_b_high = (seed >> 12) & 0x3FFF
        self._mid = f"7{rand_a:03x}-{0x8000 | rand_b_high:04x}"
        self._counter = (seed >> 26) & _MASK48
        self._second = -1
        self._prefix = ""
        self._ms = -1
        self._uuid_head = ""

    def timestamp(self, ts: float) -> str:
        """``YYYY-MM-DDTHH:MM:SS.ffffffZ``; raises on NaN/inf like ``math.floor``."""
        second = math.floor(ts)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int((ts - second) * 1_000_000):06d}Z"

    def stamp(self, ts: float) -> tuple[str, str]:
        """The wire timestamp and a fresh uuid for an event that happened at ``ts``."""
        second = math.floor(ts)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        text = f"{self._prefix}.{int((ts - second) * 1_000_000):06d}Z"
        ms = int(ts * 1000) & _MASK48
        if ms != self._ms:
            head = f"{ms:012x}"
            self._uuid_head = f"{head[:8]}-{head[8:]}"
            self._ms = ms
        self._counter = counter = (self._counter + 1) & _MASK48
        return text, f"{self._uuid_head}-{self._mid}-{counter:012x}"
