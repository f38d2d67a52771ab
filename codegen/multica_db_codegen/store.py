"""One store of computed values: in memory, then in the project's cache directory, else computed.

It knows nothing of what the values are: each is JSON-able data under a key
(:func:`multica_db_codegen.cache.key` of everything it depends on) and a kind
(which only groups them in memory). Small facts that every run needs (which
keys exist and a few words about each) live in one index file read once; the
values themselves are one file each, read when asked for. A value that cannot
be read back is a miss, recorded in the cache's log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from multica_db_codegen import cache

T = TypeVar("T")

_INDEX = "index.json"


def _same(value: Any) -> Any:
    return value


class Store:
    """``root``: the project root whose cache directory backs the store (None: memory only)."""

    def __init__(self, root: str | None) -> None:
        self.root = root
        self._memory: dict[tuple[str, str], Any] = {}
        self._facts: dict[str, Any] = {}
        self._saved_facts: dict[str, Any] = {}
        self._on_disk: set[str] = set()
        if root is not None:
            raw = cache.read_json(root, _INDEX)
            self._facts = dict(raw) if isinstance(raw, dict) else {}
            self._saved_facts = dict(self._facts)
            self._on_disk = cache.entry_keys(root)

    def cached(
        self,
        kind: str,
        key: str,
        compute: Callable[[], T],
        *,
        encode: Callable[[T], Any] = _same,
        decode: Callable[[Any], T] = _same,
    ) -> T:
        """The value stored under ``key``, or ``compute()``'s, stored."""
        found = self.get(kind, key, decode)
        if found is None:
            found = compute()
            self.put(kind, key, found, encode)
        return found

    def has(self, kind: str, key: str) -> bool:
        return (kind, key) in self._memory or key in self._on_disk

    def get(self, kind: str, key: str, decode: Callable[[Any], T] = _same) -> T | None:
        if (kind, key) in self._memory:
            value: T = self._memory[(kind, key)]
            return value
        if self.root is None or key not in self._on_disk:
            return None
        try:
            value = decode(cache.read_entry(self.root, key))
        except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
            cache.log(self.root, f"entries/{key[:16]}…: unreadable {kind}: {exc!r}")
            self._on_disk.discard(key)
            self._facts.pop(key, None)  # what it noted is of a value no longer there
            return None
        self._memory[(kind, key)] = value
        return value

    def put(self, kind: str, key: str, value: T, encode: Callable[[T], Any] = _same) -> None:
        self._memory[(kind, key)] = value
        if self.root is None or key in self._on_disk:
            return
        try:
            data = encode(value)
        except (TypeError, ValueError) as exc:
            cache.log(self.root, f"cannot store a {kind}: {exc}")
            return
        if cache.write_entry(self.root, key, data):
            self._on_disk.add(key)

    def fact(self, key: str) -> Any:
        """A small JSON-able fact about ``key`` (None when none was noted)."""
        return self._facts.get(key)

    def note(self, key: str, fact: Any) -> None:
        self._facts[key] = fact

    def read(self, name: str) -> Any:
        """A named file of the cache directory (JSON), None when absent or memory-only."""
        return None if self.root is None else cache.read_json(self.root, name)

    def write(self, name: str, data: Any) -> None:
        if self.root is not None:
            cache.write_json(self.root, name, data)

    def keep_only(self, keep: set[str]) -> None:
        """Forget every value and fact not under one of ``keep`` (memory and disk), so the
        store never grows without bound; the index is written when it changed."""
        self._memory = {k: v for k, v in self._memory.items() if k[1] in keep}
        self._facts = {k: v for k, v in self._facts.items() if k in keep}
        self.save()
        if self.root is not None and self._on_disk - keep:
            cache.prune_entries(self.root, keep)
            self._on_disk &= keep

    def save(self) -> None:
        """Write the index when it changed."""
        if self.root is not None and self._facts != self._saved_facts:
            cache.write_json(self.root, _INDEX, self._facts)
            self._saved_facts = dict(self._facts)
