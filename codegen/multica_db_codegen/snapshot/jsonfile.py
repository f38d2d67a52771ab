"""The snapshot files' JSON: one deterministic, line-oriented layout, read back with clear errors.

Standard library only: the offline check reads the index before anything else loads.
Keys are sorted, the indent is two spaces, and any object or array whose one-line form
is short (a type, a parameter's flags) stays on one line, so one changed column is one
changed line in a review. A version field says which layout a file has.
"""

from __future__ import annotations

import json
import json.encoder
from typing import Any

#: The snapshot layout's version: bump it when a file's shape changes.
VERSION = 1
_INLINE = 120  # characters: a value whose one-line form is this short stays on one line
_encode_string = json.encoder.encode_basestring  # the C encoder json.dumps uses
_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


class DocumentError(ValueError):
    """A snapshot file this generator cannot read; the message names it and says why."""


def dumps(doc: Any) -> str:
    """The file's text: deterministic (sorted keys) and line-oriented."""
    return "\n".join(_layout(doc)[1]) + "\n"


def _layout(value: Any) -> tuple[str, list[str]]:
    """(the one-line form, the lines) of ``value``; each node is encoded once."""
    if isinstance(value, dict):
        keys = sorted(value)
        heads = [_encode_string(k) + ": " for k in keys]
        parts = [_layout(value[k]) for k in keys]
        flat = "{" + ", ".join(h + f for h, (f, _) in zip(heads, parts, strict=True)) + "}"
        if len(flat) <= _INLINE or not value:
            return flat, [flat]
        lines = ["{"]
        for i, (h, (_, sub)) in enumerate(zip(heads, parts, strict=True)):
            lines += _indented(h, sub, last=i == len(parts) - 1)
        return flat, [*lines, "}"]
    if isinstance(value, list):
        items = [_layout(v) for v in value]
        flat = "[" + ", ".join(f for f, _ in items) + "]"
        if len(flat) <= _INLINE or not value:
            return flat, [flat]
        lines = ["["]
        for i, (_, sub) in enumerate(items):
            lines += _indented("", sub, last=i == len(items) - 1)
        return flat, [*lines, "]"]
    flat = _scalar(value)
    return flat, [flat]


def _scalar(value: Any) -> str:
    """``json.dumps`` of a scalar, without its per-call set-up (snapshots hold many)."""
    if isinstance(value, str):
        return str(_encode_string(value))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value)


def _indented(head: str, sub: list[str], *, last: bool) -> list[str]:
    out = ["  " + head + sub[0], *("  " + line for line in sub[1:])]
    if not last:
        out[-1] += ","
    return out


def loads(text: str, where: str) -> dict[str, Any]:
    """A snapshot file's JSON object, or :class:`DocumentError` naming what is wrong.

    Merge-conflict markers are named as such: the layout never starts a line with
    them (strings are escaped), so a line that does is git's.
    """
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(_MARKERS):
            raise DocumentError(
                f"{where}:{number}: merge-conflict markers: the snapshot is generated, never "
                "merged by hand — take either side, then regenerate"
            )
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise DocumentError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise DocumentError(f"{where}: expected a JSON object")
    version = doc.get("version")
    if version != VERSION:
        raise DocumentError(
            f"{where}: snapshot layout {version!r}, this generator reads layout {VERSION}"
        )
    return doc
